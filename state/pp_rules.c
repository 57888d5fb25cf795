/*
 * pp_rules: the red-flag rules as a table (see pp_rules.h). One section per
 * rule, in pp_rule_t order; the table at the end names each rule's parts.
 * Thresholds are the policy's (pp_policy.h); the rule table of DESIGN §6
 * gives their defaults.
 */
#include "pp_rules.h"

#include <assert.h>

#include "pp_alert.h"
#include "pp_score.h"
#include "pp_text.h"

/* A rule: what pp_rules.h says an entry holds. */
typedef struct pp_rule_def {
    /* whether it holds now (pp_rules_judge); firing: whether it is, which
     * makes a threshold with hysteresis the one it clears at */
    bool (*holds)(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing);
    /* what differs from pp_rules_verdict()'s defaults */
    void (*detail)(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v);
    /* the FIRING (firing) or RESOLVED sentence, as pp_rules_sentence();
     * who: how the partner is named */
    void (*sentence)(char *buf, size_t cap, const char *who, const pp_policy_t *pol, const pp_partner_t *st,
                     bool firing, const pp_verdict_t *v);
    /* rules that change with no event: when it trips if no event comes
     * first (not firing), or when its open WARNING episode turns CRITICAL
     * (firing, rules with `critical` only); 0 = not while the state stays as
     * it is (reads of f only what pp_facts_waits() sets); NULL: it trips on
     * events only */
    int64_t (*due_at)(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing);
    /* whether its condition is past its CRITICAL line at f->now: an open
     * WARNING episode then turns CRITICAL (one more FIRING, same alert_id,
     * at due_at's time); NULL: an episode keeps the severity it tripped with */
    bool (*critical)(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);
    int measure;   /* the measure it is about (costs points on), NO_MEASURE for the health rules:
                      every entry names it (a forgotten one would read 0, revenue) */
    bool windowed; /* judges sliding windows: re-judged at each day boundary while firing */
    bool daily;    /* an absence rule: while firing, re-judged at each UTC midnight (see pp_rules_daily) */
} pp_rule_def_t;

#define NO_MEASURE (-1) /* .measure of the rules about the whole score */

/* ---- slow_response: the partner's median reply time over the short window ---- */

static bool slow_response_enough(const pp_policy_t *pol, const pp_facts_t *f)
{
    return f->partner.n >= pol->slow_response_min_samples;
}

/* The median in business days of the partner's calendar (open questions at their age). */
static double slow_response_p50(const pp_facts_t *f)
{
    return pp_facts_bdays(f, PP_SIDE_PARTNER, f->partner.p50_s * 1000.0);
}

/* The next instant an open question's age (partner's business time, whole
 * seconds as the percentiles count it) passes slow_response_days: the
 * censored median can only cross the threshold with no event then. 0 when
 * no question is open, or every open one has passed it already. The
 * crossing instant grows with the question's start, so the candidate is
 * the oldest question not past it yet. */
static int64_t slow_response_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)firing;
    if (!f->waits.oldest_wait_partner)
        return 0;
    int64_t span = pp_facts_partner_days_ms(f, pol->slow_response_days) + 1000; /* strictly above */
    int64_t best = 0;
    uint32_t done = 0; /* seconds: questions started at or before it have passed */
    for (int i = 0; i < PP_THREADS_MAX; i++) {
        const pp_thread_t *t = &st->threads[i];
        if (t->awaiting != PP_WAIT_PARTNER || t->id == 0 || t->since <= done)
            continue;
        int64_t at = pp_biz_add_ms(&f->clk[PP_SIDE_PARTNER], pp_ms(t->since), span);
        if (at <= f->now)
            done = t->since; /* passed: so has every older one */
        else if (best == 0 || at < best)
            best = at;
    }
    return best;
}

static inline bool slow_response_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st;
    if (!slow_response_enough(pol, f))
        return false;
    if (firing)
        return !(slow_response_p50(f) <= pol->slow_response_days * pol->clear_ratio);
    return slow_response_p50(f) > pol->slow_response_days;
}

static void slow_response_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                 pp_verdict_t *v)
{
    (void)st;
    bool enough = slow_response_enough(pol, f);
    v->value = enough ? slow_response_p50(f) : 0;
    v->threshold = pol->slow_response_days;
    if (enough && v->value > pol->slow_response_critical_days)
        v->severity = PP_SEV_CRITICAL;
}

/* Decimals to print a threshold with: none for a whole number, one
 * otherwise (slow_response_days = 0.5 reads "0.5", not "0"). */
static int decimals(double x)
{
    return x == (double)(int64_t)x ? 0 : 1;
}

static void slow_response_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                   const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)st;
    if (firing)
        pp_text_format(buf, cap,
                       "%s answers slowly: median reply time %.1f business days over the last %.0f days, "
                       "unanswered questions counted at their age (threshold %.*f).",
                       who, v->value, (double)pol->short_window_days, decimals(v->threshold), v->threshold);
    else
        pp_text_format(buf, cap, "%s answers faster again: median reply time %.1f business days.", who, v->value);
}

/* ---- unanswered_followups: our follow-ups piling up on one thread ---- */

static inline bool unanswered_followups_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                       bool firing)
{
    (void)st, (void)firing;
    return f->waits.max_followups >= pol->followups_threshold;
}

static void unanswered_followups_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                        pp_verdict_t *v)
{
    (void)st;
    v->value = f->waits.max_followups;
    v->threshold = pol->followups_threshold;
}

static void unanswered_followups_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                          const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)pol, (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s has left %.0f of our follow-ups on one thread unanswered.", who, v->value);
    else
        pp_text_format(buf, cap, "%s answered the thread we followed up on.", who);
}

/* ---- reply_overdue: our oldest question awaiting the partner (timer, business time) ---- */

/* When the oldest question becomes overdue (the partner's business time). */
static int64_t reply_overdue_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st, (void)firing;
    int64_t oldest = f->waits.oldest_wait_partner;
    if (!oldest)
        return 0;
    return pp_biz_add_ms(&f->clk[PP_SIDE_PARTNER], oldest, pp_facts_partner_days_ms(f, pol->reply_overdue_days));
}

/* Business time (the partner's) the oldest question has waited, 0 if none. */
static int64_t reply_overdue_age(const pp_facts_t *f)
{
    int64_t oldest = f->waits.oldest_wait_partner;
    return oldest ? pp_biz_elapsed_ms(&f->clk[PP_SIDE_PARTNER], oldest, f->now) : 0;
}

static inline bool reply_overdue_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st, (void)firing;
    return f->waits.oldest_wait_partner &&
           reply_overdue_age(f) >= pp_facts_partner_days_ms(f, pol->reply_overdue_days);
}

static void reply_overdue_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                 pp_verdict_t *v)
{
    v->value = pp_facts_bdays(f, PP_SIDE_PARTNER, (double)reply_overdue_age(f));
    v->threshold = pol->reply_overdue_days;
    v->trip_at = reply_overdue_due(pol, st, f, false);
}

static void reply_overdue_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                   const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)pol, (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s has not answered our question for %.1f business days (limit %.*f).", who,
                       v->value, decimals(v->threshold), v->threshold);
    else
        pp_text_format(buf, cap, "%s replied; no message of ours is overdue now.", who);
}

/* ---- going_dark: no inbound activity (timer, business time; CRITICAL when inactive) ---- */

/* When a partner silent since the recency base has been silent `days`
 * business days (its own calendar). */
static int64_t going_dark_at(const pp_facts_t *f, double days)
{
    return pp_biz_add_ms(&f->clk[PP_SIDE_PARTNER], f->recency_base, pp_facts_partner_days_ms(f, days));
}

/* Not firing: when it trips; firing (a WARNING): when it turns CRITICAL. */
static int64_t going_dark_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    if (!f->recency_base || st->exited)
        return 0;
    return going_dark_at(f, firing ? pol->going_dark_inactive_days : pol->going_dark_days);
}

static inline bool going_dark_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)firing;
    return f->recency_base && !st->exited && f->quiet_ms >= pp_facts_partner_days_ms(f, pol->going_dark_days);
}

/* Silent going_dark_inactive_days: an inactive partner (seed 003). */
static inline bool going_dark_critical(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    (void)st;
    return f->quiet_ms >= pp_facts_partner_days_ms(f, pol->going_dark_inactive_days);
}

static void going_dark_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    v->value = pp_facts_bdays(f, PP_SIDE_PARTNER, (double)f->quiet_ms);
    v->threshold = pol->going_dark_days;
    v->trip_at = going_dark_at(f, pol->going_dark_days);
    if (going_dark_critical(pol, st, f))
        v->severity = PP_SEV_CRITICAL;
}

static void going_dark_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)pol, (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s has gone dark: no activity from them for %.0f business days%s.", who, v->value,
                       v->severity == PP_SEV_CRITICAL ? " (inactive partner)" : "");
    else
        pp_text_format(buf, cap, "%s is engaging again.", who);
}

/* ---- overpromise: partner commitments missed in the long window ---- */

static inline bool overpromise_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st, (void)firing;
    uint32_t due = f->lw.delivered + f->lw.missed;
    bool by_count = f->lw.missed >= (uint32_t)pol->overpromise_missed;
    /* overpromise_min_due >= 1: due > 0 where the ratio is looked at */
    return by_count ||
           (due >= (uint32_t)pol->overpromise_min_due && (double)f->lw.delivered / due < pol->overpromise_ratio);
}

static void overpromise_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    v->value = f->lw.missed;
    v->threshold = pol->overpromise_missed;
    v->trip_at = st->last_missed_ms && st->last_missed_ms <= f->now ? st->last_missed_ms : f->now;
}

static void overpromise_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                 const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s over-promises: %.0f commitments missed in the last %.0f days.", who, v->value,
                       (double)pol->long_window_days);
    else
        pp_text_format(buf, cap, "%s is keeping its commitments again.", who);
}

/* ---- one_sided: we contribute far more than they do (long window) ---- */

static inline bool one_sided_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st;
    if (f->lw.theirs + f->lw.ours < (uint32_t)pol->one_sided_min_total)
        return false;
    if (firing)
        return !(f->lw.ours < pol->one_sided_ratio * pol->clear_ratio * f->lw.theirs);
    return f->lw.ours >= pol->one_sided_ratio * f->lw.theirs;
}

static void one_sided_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    (void)st;
    v->value = f->lw.theirs ? (double)f->lw.ours / f->lw.theirs : (double)f->lw.ours;
    v->threshold = pol->one_sided_ratio;
}

static void one_sided_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                               const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)st;
    if (firing)
        pp_text_format(buf, cap, "The relationship with %s is one-sided: we contribute %.1fx what they do (%.0f days).",
                       who, v->value, (double)pol->long_window_days);
    else
        pp_text_format(buf, cap, "Contributions with %s are balanced again (%.1fx).", who, v->value);
}

/* ---- no_pipeline_90d: the 90-day milestone (timer) ----
 * Seed 004 l.88: "by ninety days into a co-sell or channel partnership, the
 * program should have produced at least one qualified opportunity in active
 * sales pipeline. Not a closed deal — pipeline." It is met by a qualified
 * opportunity still open, or one won; a qualified deal that was then lost
 * does not meet it. Judged at the deadline and from then on. */

static inline bool milestone_met(const pp_partner_t *st)
{
    return st->open_qualified > 0 || st->deals_won > 0;
}

int pp_rules_milestone(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    if (st->milestone == PP_MILESTONE_PENDING) /* judged once, at the deadline */
        return st->signed_at_ms && f->now >= st->signed_at_ms + pol->no_pipeline_ms
                   ? (milestone_met(st) ? PP_MILESTONE_MET : PP_MILESTONE_MISSED)
                   : PP_MILESTONE_PENDING;
    if (st->milestone == PP_MILESTONE_MISSED && milestone_met(st))
        return PP_MILESTONE_MET; /* reached late: passed for good */
    return st->milestone;
}

/* The deadline is a timer whether the milestone is met now or not: it is
 * judged as the partner stands at that instant. */
static int64_t no_pipeline_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)f, (void)firing;
    return st->signed_at_ms && st->milestone == PP_MILESTONE_PENDING && !st->exited
               ? st->signed_at_ms + pol->no_pipeline_ms
               : 0;
}

static inline bool no_pipeline_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)pol, (void)f, (void)firing;
    return st->milestone == PP_MILESTONE_MISSED && st->signed_at_ms != 0 && !st->exited;
}

static void no_pipeline_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    v->value = st->signed_at_ms ? (double)(f->now - st->signed_at_ms) / PP_DAY_MS_D : 0;
    v->threshold = pol->no_pipeline_days;
    v->trip_at = st->signed_at_ms + pol->no_pipeline_ms;
}

static void no_pipeline_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                 const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)pol;
    if (!firing)
        pp_text_format(buf, cap, "%s has a qualified opportunity in pipeline now.", who);
    else if (st->deals_qualified > 0)
        pp_text_format(buf, cap, "%s signed %.0f days ago and has no qualified opportunity open or won: "
                                 "every one it had was lost.", who, v->value);
    else
        pp_text_format(buf, cap, "%s signed %.0f days ago and has no qualified opportunity yet.", who, v->value);
}

/* ---- health_red: the health score is red (with enough data) ---- */

static inline bool health_red_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)f;
    /* it trips only with enough data, and clears when the RAG leaves red */
    return st->rag == PP_RAG_RED && (firing || st->confidence >= pol->min_confidence);
}

static void health_red_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    (void)f;
    v->value = st->health;
    v->threshold = pol->red_below;
    v->severity = PP_SEV_CRITICAL;
}

/* health_red's reasons into buf: the rules about a measure open once this
 * evaluation is done (open: pp_verdict_t.open, those tripping at this very
 * instant included) and the measures costing most ("; driven by going_dark,
 * reply_overdue; recency -25 pts, response -9 pts"). 256 bytes hold them all. */
static void red_reasons(char *buf, size_t cap, const pp_policy_t *pol, const pp_partner_t *st, uint32_t open)
{
    size_t n = 0;
    int k = 0;
    buf[0] = '\0';
    for (int r = 0; r < PP_R_COUNT && n < cap; r++)
        if (pp_rules_measure((pp_rule_t)r) != NO_MEASURE && (open >> r & 1))
            n += (size_t)pp_text_format(buf + n, cap - n, "%s%s", k++ ? ", " : "; driven by ",
                                        pp_rule_name((pp_rule_t)r));
    int order[PP_M_COUNT];
    double cost[PP_M_COUNT];
    int nf = pp_score_costs(pol, st, order, cost);
    for (int i = 0; i < nf && i < 3 && n < cap; i++)
        n += (size_t)pp_text_format(buf + n, cap - n, "%s%s -%.0f pts", i ? ", " : "; ",
                                    pp_measure_name((pp_measure_t)order[i]), cost[order[i]]);
}

static void health_red_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    if (firing) {
        char reasons[256];
        red_reasons(reasons, sizeof reasons, pol, st, v->open);
        pp_text_format(buf, cap, "%s is red: health %.0f (below %.0f)%s.", who, v->value, v->threshold, reasons);
    } else
        pp_text_format(buf, cap, "%s is out of the red: health %.0f.", who, v->value);
}

/* ---- health_drop: the health fell within a few days ---- */

/* Not firing, it trips only with enough confidence: below that, the
 * history's maximum is not needed. */
static bool health_drop_moot(const pp_policy_t *pol, const pp_partner_t *st, bool firing)
{
    return !firing && st->confidence < pol->min_confidence;
}

/* When its minimum duration is over (DESIGN §7): the condition has held
 * health_drop_min_hours since st->health_drop_since (pp_rules_drop_pending);
 * 0 while it does not hold. */
static int64_t health_drop_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)f, (void)firing;
    return st->health_drop_since ? pp_ms(st->health_drop_since) + pol->health_drop_min_ms : 0;
}

/* Its condition, its minimum duration aside: with enough confidence, the
 * health health_drop_points below the recent maximum (not firing). */
static inline bool health_drop_dropped(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    double best = pp_score_recent_max_health(st, f->day, pol->health_drop_days);
    return best >= 0 && best - st->health >= pol->health_drop_points;
}

static inline bool health_drop_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    if (health_drop_moot(pol, st, firing))
        return false;
    if (firing) {
        double best = pp_score_recent_max_health(st, f->day, pol->health_drop_days);
        double drop = best >= 0 ? best - st->health : 0;
        return !(drop < pol->health_drop_points * pol->clear_ratio);
    }
    /* with enough confidence (not moot), and for its minimum duration */
    return health_drop_dropped(pol, st, f) && st->health_drop_since &&
           f->now >= health_drop_due(pol, st, f, firing);
}

bool pp_rules_drop_pending(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    return !st->rules[PP_R_HEALTH_DROP].started_at_ms && !health_drop_moot(pol, st, false) &&
           health_drop_dropped(pol, st, f);
}

static void health_drop_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    if (health_drop_moot(pol, st, st->rules[PP_R_HEALTH_DROP].started_at_ms != 0))
        return;
    double best = pp_score_recent_max_health(st, f->day, pol->health_drop_days);
    v->value = best >= 0 ? best - st->health : 0;
    v->threshold = pol->health_drop_points;
    if (st->health_drop_since) /* it trips when its minimum duration is over */
        v->trip_at = health_drop_due(pol, st, f, false);
}

static void health_drop_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                                 const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s's health dropped %.0f points within %.0f days.", who, v->value,
                       (double)pol->health_drop_days);
    else
        pp_text_format(buf, cap, "%s's health has stabilised.", who);
}

/* ---- low_acv_channel: a reseller whose average won deal is small (info) ---- */

/* The average won deal in major units of the reporting currency (0 without one). */
static double average_won_major(const pp_policy_t *pol, const pp_partner_t *st)
{
    return st->deals_won ? (double)(pp_partner_revenue_minor(st) / pol->minor_per_major) / st->deals_won : 0;
}

static inline bool low_acv_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)f;
    if (st->partner_type != PP_PTYPE_RESELLER)
        return false;
    double avg = average_won_major(pol, st);
    if (firing)
        return !(avg >= pol->low_acv_major / pol->clear_ratio);
    return st->deals_won >= (uint32_t)pol->low_acv_min_won && avg < pol->low_acv_major;
}

static void low_acv_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    (void)f;
    v->value = average_won_major(pol, st);
    v->threshold = pol->low_acv_major;
    v->severity = PP_SEV_INFO;
}

static void low_acv_sentence(char *buf, size_t cap, const char *who, const pp_policy_t *pol,
                             const pp_partner_t *st, bool firing, const pp_verdict_t *v)
{
    (void)st;
    if (firing)
        pp_text_format(buf, cap, "%s resells deals averaging %.0f %s, below the %.0f %s where channel margins work.",
                       who, v->value, pol->currency, v->threshold, pol->currency);
    else
        pp_text_format(buf, cap, "%s's average deal is %.0f %s now.", who, v->value, pol->currency);
}

/* ---- the table ---- */

static const pp_rule_def_t rules[PP_R_COUNT] = {
    [PP_R_SLOW_RESPONSE] = {
        .holds = slow_response_holds,
        .detail = slow_response_detail,
        .sentence = slow_response_sentence,
        .measure = PP_M_RESPONSE,
        .windowed = true,
        .due_at = slow_response_due,
    },
    [PP_R_UNANSWERED_FOLLOWUPS] = {
        .holds = unanswered_followups_holds,
        .detail = unanswered_followups_detail,
        .sentence = unanswered_followups_sentence,
        .measure = PP_M_RESPONSE,
    },
    [PP_R_REPLY_OVERDUE] = {
        .holds = reply_overdue_holds,
        .detail = reply_overdue_detail,
        .sentence = reply_overdue_sentence,
        .due_at = reply_overdue_due,
        .measure = PP_M_RESPONSE,
        .daily = true,
    },
    [PP_R_GOING_DARK] = {
        .holds = going_dark_holds,
        .detail = going_dark_detail,
        .sentence = going_dark_sentence,
        .due_at = going_dark_due,
        .critical = going_dark_critical,
        .measure = PP_M_RECENCY,
        .daily = true,
    },
    [PP_R_OVERPROMISE] = {
        .holds = overpromise_holds,
        .detail = overpromise_detail,
        .sentence = overpromise_sentence,
        .measure = PP_M_DELIVERY,
        .windowed = true,
    },
    [PP_R_ONE_SIDED] = {
        .holds = one_sided_holds,
        .detail = one_sided_detail,
        .sentence = one_sided_sentence,
        .measure = PP_M_RECIPROCITY,
        .windowed = true,
    },
    [PP_R_NO_PIPELINE_90D] = {
        .holds = no_pipeline_holds,
        .detail = no_pipeline_detail,
        .sentence = no_pipeline_sentence,
        .due_at = no_pipeline_due,
        .measure = PP_M_PIPELINE,
        .daily = true,
    },
    [PP_R_HEALTH_RED] = {
        .holds = health_red_holds,
        .detail = health_red_detail,
        .sentence = health_red_sentence,
        .measure = NO_MEASURE,
    },
    [PP_R_HEALTH_DROP] = {
        .holds = health_drop_holds,
        .detail = health_drop_detail,
        .sentence = health_drop_sentence,
        .due_at = health_drop_due,
        .measure = NO_MEASURE,
        .windowed = true,
    },
    [PP_R_LOW_ACV_CHANNEL] = {
        .holds = low_acv_holds,
        .detail = low_acv_detail,
        .sentence = low_acv_sentence,
        .measure = PP_M_REVENUE,
    },
};

/* ---- what the engine asks ---- */

/* The hot questions below visit the table rule by rule with constant
 * indices, not in a loop: GCC then reads each entry at compile time, drops
 * what a rule does not have and inlines the functions it names (the holds
 * functions are `inline` so that it inlines them all). A loop calling
 * through the pointers costs apply 20 % more instructions (callgrind,
 * core_bench 4 000 x 200 000: 3 017 -> 3 621 per event). */
#define EACH_RULE(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15)
_Static_assert(PP_R_COUNT <= 16, "EACH_RULE visits rules 0 to 15: extend it");
_Static_assert(PP_R_COUNT <= 32, "rule sets are uint32_t bit sets");

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint32_t judge_one(int r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                 uint32_t firing)
{
    if (r >= PP_R_COUNT)
        return 0;
    assert(rules[r].holds && rules[r].detail && rules[r].sentence); /* an entry per rule */
    return (uint32_t)rules[r].holds(pol, st, f, firing >> r & 1) << r;
}

uint32_t pp_rules_judge(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing)
{
    uint32_t holding = 0;
#define JUDGE(r) holding |= judge_one(r, pol, st, f, firing);
    EACH_RULE(JUDGE)
#undef JUDGE
    return holding;
}

ALWAYS_INLINE void trip_one(int r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                            uint32_t firing, int64_t *best)
{
    if (r >= PP_R_COUNT || !rules[r].due_at || !pol->enabled[r])
        return;
    bool on = firing >> r & 1; /* firing: only a WARNING that turns CRITICAL has a deadline */
    if (on && !(rules[r].critical && st->rules[r].severity < PP_SEV_CRITICAL))
        return;
    int64_t t = rules[r].due_at(pol, st, f, on);
    if (t > 0 && t != INT64_MAX && (*best == 0 || t < *best)) /* INT64_MAX: never (pp_biz_add_ms) */
        *best = t;
}

int64_t pp_rules_next_trip(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing)
{
    int64_t best = 0;
#define TRIP(r) trip_one(r, pol, st, f, firing, &best);
    EACH_RULE(TRIP)
#undef TRIP
    return best;
}

ALWAYS_INLINE uint32_t critical_one(int r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                   uint32_t firing)
{
    if (r >= PP_R_COUNT || !rules[r].critical || !(firing >> r & 1) || st->rules[r].severity >= PP_SEV_CRITICAL)
        return 0;
    return (uint32_t)rules[r].critical(pol, st, f) << r;
}

uint32_t pp_rules_turned_critical(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                  uint32_t firing)
{
    uint32_t critical = 0;
#define CRITICAL(r) critical |= critical_one(r, pol, st, f, firing);
    EACH_RULE(CRITICAL)
#undef CRITICAL
    return critical;
}

int64_t pp_rules_critical_at(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    return rules[r].due_at(pol, st, f, true);
}

ALWAYS_INLINE uint32_t daily_one(int r)
{
    return r < PP_R_COUNT && rules[r].daily ? 1u << r : 0;
}

bool pp_rules_daily(uint32_t firing)
{
#define DAILY(r) daily_one(r) |
    const uint32_t daily = EACH_RULE(DAILY) 0; /* a constant */
#undef DAILY
    return (firing & daily) != 0;
}

ALWAYS_INLINE uint32_t windowed_one(int r)
{
    return r < PP_R_COUNT && rules[r].windowed ? 1u << r : 0;
}

bool pp_rules_any_windowed(uint32_t which)
{
#define WINDOWED(r) windowed_one(r) |
    return (which & (EACH_RULE(WINDOWED) 0)) != 0;
#undef WINDOWED
}

pp_verdict_t pp_rules_verdict(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    pp_verdict_t v = {.value = 0, .threshold = 0, .severity = PP_SEV_WARNING, .trip_at = f->now};
    rules[r].detail(pol, st, f, &v);
    return v;
}

void pp_rules_sentence(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, bool firing,
                       const pp_verdict_t *v, char *buf, size_t cap)
{
    rules[r].sentence(buf, cap, pp_alert_who(st), pol, st, firing, v);
}

int pp_rules_measure(pp_rule_t r)
{
    return rules[r].measure;
}
