/*
 * pp_facts: the inputs of the health score (pp_score) and of the red-flag
 * rules (pp_rules) at one instant, gathered once per evaluation from the
 * partner's state, so that the score, the rules, the deadlines and the
 * public hash (pp_view) all read the same numbers.
 *
 * Internal to state/: callers outside the core never see it.
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_FACTS_H
#define PP_FACTS_H

#include <math.h>
#include <stdint.h>

#include "pp_bizclock.h"
#include "pp_partner.h"
#include "pp_policy.h"

#define PP_HOUR_MS_D 3600000.0  /* an hour in ms, as a double (facts in hours) */
#define PP_DAY_MS_D 86400000.0  /* a day in ms, as a double (facts in days) */

/* pp_day_of, inline: the engine asks a few times per evaluation. */
static inline int32_t pp_facts_day_of(int64_t ms)
{
    return (int32_t)(ms / PP_DAY_MS);
}

/* Response-time percentiles over a window, in business seconds of the side
 * that owes, the waits still open counted at their age so far (censored). */
typedef struct pp_pct {
    int n;                       /* responses in the window + waits still open */
    double p50_s;                /* median wait, NAN if n == 0 */
    double p90_s;                /* 90th percentile, NAN if n == 0 or not gathered */
} pp_pct_t;

/* The threads awaiting the partner. Only events change them: the timers of
 * one advance may carry them from one to the next (pp_engine). */
typedef struct pp_waits {
    int max_followups;           /* most unanswered follow-ups on one such thread */
    int awaiting_partner;        /* how many threads await the partner */
    int64_t oldest_wait_partner; /* ms of the oldest message awaiting the partner, 0 = none */
} pp_waits_t;

/* The facts at one instant. "all only": set by pp_facts_gather_all() only. */
typedef struct pp_facts {
    int64_t now;                 /* event time of the evaluation */
    int32_t day;                 /* pp_facts_day_of(now) */
    pp_bizclock_t clk[2];        /* the partner's business clocks, by enum pp_side (DESIGN §4) */
    int64_t bday[2];             /* one business day of each clock, ms */
    pp_window_sum_t lw;          /* sums over the long window */
    pp_window_sum_t sw;          /* sums over the short window (all only) */
    pp_pct_t partner;            /* the partner's response times, short window (p90: all only) */
    pp_pct_t us;                 /* our response times, short window (all only) */
    pp_waits_t waits;            /* the threads awaiting the partner */
    int awaiting_us;             /* threads awaiting our answer (all only, 0 otherwise) */
    int64_t oldest_wait_us;      /* ms of the oldest message awaiting us, 0 = none (all only) */
    int64_t recency_base;        /* last inbound activity, else signed, else first event (ms, 0 = none) */
    int64_t quiet_ms;            /* business time (the partner's) since recency_base, 0 if none */
} pp_facts_t;

/* The partner's policy (for its type and tier), and OUT clk its business
 * clocks under that policy (DESIGN §4): [PP_SIDE_PARTNER] for what the
 * partner owes, [PP_SIDE_US] for what we owe. Only a lifecycle event (the
 * profile) changes either. */
const pp_policy_t *pp_facts_policy(const pp_policyset_t *ps, const pp_partner_t *st, pp_bizclock_t clk[2]);

/*
 * What the score and the rules read, at `now`: everything but the fields
 * marked "all only". clk: pp_facts_policy()'s. waits: the threads' facts from
 * an earlier gather when no event came in between (a timer after a timer),
 * NULL to look at the threads. Updates the state's window and median
 * caches, nothing else.
 */
void pp_facts_gather(const pp_policy_t *pol, const pp_bizclock_t clk[2], pp_partner_t *st, int64_t now,
                     const pp_waits_t *waits, pp_facts_t *f);

/* Every fact at the partner's clock, for the public hash. Reads only. */
void pp_facts_gather_all(const pp_policy_t *pol, const pp_bizclock_t clk[2], const pp_partner_t *st,
                         pp_facts_t *f);

/* Only f->clk, f->bday, f->waits and f->recency_base, which is all a
 * deadline reads (pp_rules' due_at); the other fields are left as they are. */
void pp_facts_waits(const pp_bizclock_t clk[2], const pp_partner_t *st, pp_facts_t *f);

/* Nearest-rank percentiles of side's responses (enum pp_side: the side that
 * owed) answered within `days` before now_ms, with the waits still open on
 * that side counted at their age so far (censored: ignoring a message never
 * improves the figure); ages in the business time of clk, that side's clock. */
pp_pct_t pp_facts_percentiles(const pp_partner_t *st, int side, const pp_bizclock_t *clk, int64_t now_ms, int days);

/* ms, a figure in business days of clock `side`. */
static inline double pp_facts_bdays(const pp_facts_t *f, int side, double ms)
{
    return f->bday[side] > 0 ? ms / (double)f->bday[side] : 0;
}

/* llround(x), inline: x - trunc(x) is exact below 2^52, so ties are seen as
 * llround sees them. The business-day thresholds below are rounded several
 * times per evaluation: libm's llround there costs apply 1.7 % more
 * instructions (callgrind, core_bench 4 000 x 200 000: 5 779 -> 5 877 per
 * event). */
static inline int64_t pp_facts_round(double x)
{
    if (!(fabs(x) < 4e15))
        return (int64_t)llround(x);
    int64_t t = (int64_t)x;
    double frac = x - (double)t;
    if (frac >= 0.5)
        t++;
    else if (frac <= -0.5)
        t--;
    return t;
}

/* `days` business days of the partner's clock, in ms. */
static inline int64_t pp_facts_partner_days_ms(const pp_facts_t *f, double days)
{
    return pp_facts_round(days * (double)f->bday[PP_SIDE_PARTNER]);
}

#endif
