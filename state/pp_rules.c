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
    /* the FIRING (firing) or RESOLVED sentence, as pp_rules_sentence() */
    void (*sentence)(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v);
    /* absence rules: when it trips if no event comes first, 0 = not while
     * the state stays as it is (reads of f only the waits and the recency
     * base); NULL: it trips on events only */
    int64_t (*due_at)(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);
    bool windowed; /* judges sliding windows: re-judged at each day boundary while firing */
} pp_rule_def_t;

/* ---- slow_response: the partner's median reply time over the short window ---- */

static bool slow_response_enough(const pp_policy_t *pol, const pp_facts_t *f)
{
    return f->partner.n >= pol->slow_response_min_samples;
}

static inline bool slow_response_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st;
    if (!slow_response_enough(pol, f))
        return false;
    if (firing)
        return !(f->partner.p50_h <= pol->slow_response_hours * pol->clear_ratio);
    return f->partner.p50_h > pol->slow_response_hours;
}

static void slow_response_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                 pp_verdict_t *v)
{
    (void)st;
    bool enough = slow_response_enough(pol, f);
    v->value = enough ? f->partner.p50_h : 0;
    v->threshold = pol->slow_response_hours;
    if (enough && f->partner.p50_h > pol->slow_response_critical_hours)
        v->severity = PP_SEV_CRITICAL;
}

static void slow_response_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap,
                       "%s answers slowly: median reply time %.0f h over the last 30 days (threshold %.0f h).", who,
                       v->value, v->threshold);
    else
        pp_text_format(buf, cap, "%s answers faster again: median reply time %.0f h.", who, v->value);
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

static void unanswered_followups_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s has left %.0f of our follow-ups on one thread unanswered.", who, v->value);
    else
        pp_text_format(buf, cap, "%s answered the thread we followed up on.", who);
}

/* ---- reply_overdue: our oldest message awaiting the partner (timer) ---- */

static int64_t reply_overdue_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    (void)st;
    return f->waits.oldest_wait_partner ? f->waits.oldest_wait_partner + pol->reply_overdue_ms : 0;
}

static inline bool reply_overdue_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)st, (void)firing;
    int64_t oldest = f->waits.oldest_wait_partner;
    return oldest && f->now - oldest >= pol->reply_overdue_ms;
}

static void reply_overdue_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                 pp_verdict_t *v)
{
    int64_t oldest = f->waits.oldest_wait_partner;
    v->value = (double)(oldest ? f->now - oldest : 0) / PP_DAY_MS_D;
    v->threshold = pol->reply_overdue_days;
    v->trip_at = reply_overdue_due(pol, st, f);
}

static void reply_overdue_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s has not replied to our message for %.1f days (limit %.0f days).", who, v->value,
                       v->threshold);
    else
        pp_text_format(buf, cap, "%s replied; no message of ours is overdue now.", who);
}

/* ---- going_dark: no inbound activity (timer; CRITICAL when inactive) ---- */

static int64_t going_dark_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    return f->recency_base && !st->exited ? f->recency_base + pol->going_dark_ms : 0;
}

static inline bool going_dark_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)firing;
    int64_t base = f->recency_base;
    return base && !st->exited && f->now - base >= pol->going_dark_ms;
}

static void going_dark_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    int64_t quiet = f->recency_base ? f->now - f->recency_base : 0;
    v->value = (double)quiet / PP_DAY_MS_D;
    v->threshold = pol->going_dark_days;
    v->trip_at = going_dark_due(pol, st, f);
    if (quiet >= pol->going_dark_inactive_ms)
        v->severity = PP_SEV_CRITICAL;
}

static void going_dark_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s has gone dark: no inbound engagement for %.0f days%s.", who, v->value,
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

static void overpromise_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s over-promises: %.0f commitments missed in the last 90 days.", who, v->value);
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

static void one_sided_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "The relationship with %s is one-sided: we contribute %.1fx what they do (90 days).",
                       who, v->value);
    else
        pp_text_format(buf, cap, "Contributions with %s are balanced again (%.1fx).", who, v->value);
}

/* ---- no_pipeline_90d: signed long ago, no qualified opportunity yet (timer) ---- */

static int64_t no_pipeline_due(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f)
{
    (void)f;
    return st->signed_at_ms && !st->first_qualified_ms && !st->exited ? st->signed_at_ms + pol->no_pipeline_ms : 0;
}

static inline bool no_pipeline_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    if (st->first_qualified_ms != 0 || st->signed_at_ms == 0 || st->exited)
        return false;
    return firing || f->now >= st->signed_at_ms + pol->no_pipeline_ms;
}

static void no_pipeline_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    v->value = st->signed_at_ms ? (double)(f->now - st->signed_at_ms) / PP_DAY_MS_D : 0;
    v->threshold = pol->no_pipeline_days;
    v->trip_at = no_pipeline_due(pol, st, f);
}

static void no_pipeline_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s signed %.0f days ago and has no qualified opportunity yet.", who, v->value);
    else
        pp_text_format(buf, cap, "%s has its first qualified opportunity.", who);
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

static void health_red_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s is red: health %.0f (below %.0f).", who, v->value, v->threshold);
    else
        pp_text_format(buf, cap, "%s is out of the red: health %.0f.", who, v->value);
}

/* ---- health_drop: the health fell within a few days ---- */

/* Not firing, it trips only with enough confidence: below that, the
 * history's maximum is not needed. */
static bool health_drop_moot(const pp_policy_t *pol, const pp_partner_t *st, bool firing)
{
    return !firing && st->confidence < pol->min_confidence;
}

static inline bool health_drop_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    if (health_drop_moot(pol, st, firing))
        return false;
    double best = pp_score_recent_max_health(st, f->day, pol->health_drop_days);
    double drop = best >= 0 ? best - st->health : 0;
    if (firing)
        return !(drop < pol->health_drop_points * pol->clear_ratio);
    return best >= 0 && drop >= pol->health_drop_points; /* with enough confidence: not moot */
}

static void health_drop_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    if (health_drop_moot(pol, st, st->rules[PP_R_HEALTH_DROP].started_at_ms != 0))
        return;
    double best = pp_score_recent_max_health(st, f->day, pol->health_drop_days);
    v->value = best >= 0 ? best - st->health : 0;
    v->threshold = pol->health_drop_points;
}

static void health_drop_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s's health dropped %.0f points within a week.", who, v->value);
    else
        pp_text_format(buf, cap, "%s's health has stabilised.", who);
}

/* ---- low_acv_channel: a reseller whose average won deal is small (info) ---- */

/* The average won deal in major units (0 without one). */
static double average_won_major(const pp_partner_t *st)
{
    return st->deals_won ? (double)(pp_partner_revenue_minor(st) / 100) / st->deals_won : 0;
}

static inline bool low_acv_holds(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, bool firing)
{
    (void)f;
    if (st->partner_type != PP_PTYPE_RESELLER)
        return false;
    double avg = average_won_major(st);
    if (firing)
        return !(avg >= pol->low_acv_major / pol->clear_ratio);
    return st->deals_won >= (uint32_t)pol->low_acv_min_won && avg < pol->low_acv_major;
}

static void low_acv_detail(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, pp_verdict_t *v)
{
    (void)f;
    v->value = average_won_major(st);
    v->threshold = pol->low_acv_major;
    v->severity = PP_SEV_INFO;
}

static void low_acv_sentence(char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    if (firing)
        pp_text_format(buf, cap, "%s resells deals averaging %.0f, below the %.0f where channel margins work.", who,
                       v->value, v->threshold);
    else
        pp_text_format(buf, cap, "%s's average deal is %.0f now.", who, v->value);
}

/* ---- the table ---- */

static const pp_rule_def_t rules[PP_R_COUNT] = {
    [PP_R_SLOW_RESPONSE] = {
        .holds = slow_response_holds,
        .detail = slow_response_detail,
        .sentence = slow_response_sentence,
        .windowed = true,
    },
    [PP_R_UNANSWERED_FOLLOWUPS] = {
        .holds = unanswered_followups_holds,
        .detail = unanswered_followups_detail,
        .sentence = unanswered_followups_sentence,
    },
    [PP_R_REPLY_OVERDUE] = {
        .holds = reply_overdue_holds,
        .detail = reply_overdue_detail,
        .sentence = reply_overdue_sentence,
        .due_at = reply_overdue_due,
    },
    [PP_R_GOING_DARK] = {
        .holds = going_dark_holds,
        .detail = going_dark_detail,
        .sentence = going_dark_sentence,
        .due_at = going_dark_due,
    },
    [PP_R_OVERPROMISE] = {
        .holds = overpromise_holds,
        .detail = overpromise_detail,
        .sentence = overpromise_sentence,
        .windowed = true,
    },
    [PP_R_ONE_SIDED] = {
        .holds = one_sided_holds,
        .detail = one_sided_detail,
        .sentence = one_sided_sentence,
        .windowed = true,
    },
    [PP_R_NO_PIPELINE_90D] = {
        .holds = no_pipeline_holds,
        .detail = no_pipeline_detail,
        .sentence = no_pipeline_sentence,
        .due_at = no_pipeline_due,
    },
    [PP_R_HEALTH_RED] = {
        .holds = health_red_holds,
        .detail = health_red_detail,
        .sentence = health_red_sentence,
    },
    [PP_R_HEALTH_DROP] = {
        .holds = health_drop_holds,
        .detail = health_drop_detail,
        .sentence = health_drop_sentence,
        .windowed = true,
    },
    [PP_R_LOW_ACV_CHANNEL] = {
        .holds = low_acv_holds,
        .detail = low_acv_detail,
        .sentence = low_acv_sentence,
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
    if (r < PP_R_COUNT && rules[r].due_at && pol->enabled[r] && !(firing >> r & 1)) {
        int64_t t = rules[r].due_at(pol, st, f);
        if (t > 0 && (*best == 0 || t < *best))
            *best = t;
    }
}

int64_t pp_rules_next_trip(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing)
{
    int64_t best = 0;
#define TRIP(r) trip_one(r, pol, st, f, firing, &best);
    EACH_RULE(TRIP)
#undef TRIP
    return best;
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

void pp_rules_sentence(pp_rule_t r, char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v)
{
    rules[r].sentence(buf, cap, who, firing, v);
}
