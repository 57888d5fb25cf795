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

#include <stdint.h>

#include "pp_partner.h"
#include "pp_policy.h"

#define PP_HOUR_MS_D 3600000.0  /* an hour in ms, as a double (facts in hours) */
#define PP_DAY_MS_D 86400000.0  /* a day in ms, as a double (facts in days) */

/* pp_day_of, inline: the engine asks a few times per evaluation. */
static inline int32_t pp_facts_day_of(int64_t ms)
{
    return (int32_t)(ms / PP_DAY_MS);
}

/* Response-time percentiles over a window. */
typedef struct pp_pct {
    int n;                       /* responses in the window */
    double p50_h;                /* median wait in hours, NAN if n == 0 */
    double p90_h;                /* 90th percentile in hours, NAN if n == 0 or not gathered */
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
    pp_window_sum_t lw;          /* sums over the long window */
    pp_window_sum_t sw;          /* sums over the short window (all only) */
    pp_pct_t partner;            /* the partner's response times, short window (p90: all only) */
    pp_pct_t us;                 /* our response times, short window (all only) */
    pp_waits_t waits;            /* the threads awaiting the partner */
    int awaiting_us;             /* threads awaiting our answer (all only, 0 otherwise) */
    int64_t oldest_wait_us;      /* ms of the oldest message awaiting us, 0 = none (all only) */
    int64_t recency_base;        /* last inbound, else signed, else first event (ms, 0 = none) */
} pp_facts_t;

/*
 * What the score and the rules read, at `now`: everything but the fields
 * marked "all only". waits: the threads' facts from an earlier gather when
 * no event came in between (a timer after a timer), NULL to look at the
 * threads. Updates the state's window and median caches, nothing else.
 */
void pp_facts_gather(const pp_policy_t *pol, pp_partner_t *st, int64_t now, const pp_waits_t *waits,
                     pp_facts_t *f);

/* Every fact at the partner's clock, for the public hash. Reads only. */
void pp_facts_gather_all(const pp_policy_t *pol, const pp_partner_t *st, pp_facts_t *f);

/* Only f->waits and f->recency_base, which is all a deadline reads
 * (pp_rules' due_at); the other fields are left as they are. */
void pp_facts_waits(const pp_partner_t *st, pp_facts_t *f);

/* Nearest-rank percentiles of the samples of ring answered within `days`
 * before now_ms. */
pp_pct_t pp_facts_percentiles(const pp_sample_t *ring, int64_t now_ms, int days);

#endif
