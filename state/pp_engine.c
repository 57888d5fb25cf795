/*
 * pp_engine: the partner's lifecycle in event time (see pp_engine.h).
 *
 * What happens when: an event or a timer leads to one evaluation (facts,
 * score, every rule's lifecycle, the next deadline); timers due before an
 * event are evaluated first, each at its own time; a timer after a timer
 * carries what no timer changes. The pieces an evaluation is made of live
 * in their own modules: pp_facts (the inputs, in the business time of the
 * partner's clocks), pp_score (the health score), pp_rules (what each rule
 * is), pp_alert (the alert), pp_view (what people see of the state). The
 * policy and the business clocks are looked up once per entry point: only
 * a lifecycle event changes the profile they depend on.
 */
#include "pp_engine.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pp_facts.h"
#include "pp_rules.h"

/* The policy's day and hour settings in ms are computed once, when it is
 * resolved (pp_policy_derive), not per evaluation: debug builds check that
 * they are what the settings give now (a caller that wrote a setting
 * directly without pp_policy_derive would see stale deadlines). */
static inline int64_t days_ms(double days)
{
    return (int64_t)llround(days * PP_DAY_MS_D);
}

static inline bool derived_ok(const pp_policy_t *pol)
{
    return pol->short_window_ms == days_ms(pol->short_window_days) &&
           pol->long_window_ms == days_ms(pol->long_window_days) &&
           pol->no_pipeline_ms == days_ms(pol->no_pipeline_days) &&
           pol->health_drop_min_ms == (int64_t)llround(pol->health_drop_min_hours * PP_HOUR_MS_D) &&
           pol->commitment_grace_ms == (int64_t)(pol->commitment_grace_hours * PP_HOUR_MS_D) &&
           pol->impact_horizon_ms == days_ms(pol->impact_horizon_days) && pol->minor_per_major > 0 &&
           pol->measure_weight[PP_M_COUNT - 1] == pol->weight[(PP_M_COUNT - 1) / 2] * 0.5;
}

/* ---- what one timer leaves to the next ---- */

/* pp_engine_advance evaluates the partner at each deadline due, in order,
 * with no event in between: what a timer's evaluation found that no timer
 * changes is carried to the next one in this struct, a local variable of
 * the advance (the partner's state and blob stay as they are).
 * - The threads: only events change them. Their facts (pp_waits_t) hold.
 * - The commitments: only events and the pass that marks those past due
 *   missed change them. After a pass, every open commitment with a due date
 *   is due at first_due or later (0: there is none), so a timer before
 *   first_due (plus the grace) marks none: its pass can be skipped, and
 *   first_due holds.
 * - other: the evaluation's next deadline without the window tick
 *   (next_deadline_pol, which reads nothing that changes between the end of
 *   an evaluation and the next timer). */
typedef struct carry {
    bool valid;                  /* a timer of this advance has been evaluated */
    uint32_t first_due;          /* first_open_due() after it */
    int64_t other;               /* next_deadline_pol() after it */
    pp_waits_t waits;            /* the threads' facts after it */
} carry_t;

/* ---- deadlines ---- */

/* *best becomes t if t is a time (> 0, not INT64_MAX: never, as
 * pp_biz_add_ms says) earlier than *best (0 = none yet). */
static void consider(int64_t *best, int64_t t)
{
    if (t > 0 && t != INT64_MAX && (*best == 0 || t < *best))
        *best = t;
}

/* The rules firing now (an open episode), bit r for rule r. */
static uint32_t firing_rules(const pp_partner_t *st)
{
    uint32_t firing = 0;
#pragma GCC unroll 16
    for (int r = 0; r < PP_R_COUNT; r++)
        firing |= (uint32_t)(st->rules[r].started_at_ms != 0) << r;
    return firing;
}

/* The day boundary at which firing window-based rules are re-judged as their
 * windows slide, 0 if none of them is firing. */
static int64_t window_tick_of(const pp_partner_t *st, uint32_t firing)
{
    return pp_rules_any_windowed(firing) ? ((int64_t)pp_facts_day_of(st->clock_ms) + 1) * PP_DAY_MS : 0;
}

/* The first due second of the commitments still open (0 = none). Each open
 * commitment with a due date is missed strictly after its due second plus
 * the grace: pp_ms(due) + grace + 1000, increasing in due, so the one due
 * first is the only candidate for a deadline. Free and settled slots are not
 * OPEN: the state is tested first. */
static uint32_t first_open_due(const pp_partner_t *st)
{
    uint32_t first_due = 0;
#pragma GCC unroll 12
    for (int i = 0; i < PP_COMMITS_MAX; i++) {
        const pp_commit_t *c = &st->commits[i];
        if (c->state == PP_COMMIT_OPEN && c->due && c->id && (first_due == 0 || c->due < first_due))
            first_due = c->due;
    }
    return first_due;
}

/* The next event time at which a timer changes something: a rule trips or
 * turns CRITICAL with no event, the daily re-judge (pp_rules_daily), an
 * open commitment is missed, a snooze ends (0 = none); and apart
 * (*window_tick) the day boundary at which firing windowed rules are
 * re-judged (0 = none). f: at least what pp_facts_waits() sets; firing:
 * firing_rules(st); first_due: first_open_due(st). */
static int64_t next_deadline_from(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                  uint32_t firing, uint32_t first_due, int64_t *window_tick)
{
    int64_t best = pp_rules_next_trip(pol, st, f, firing);
    if (pp_rules_daily(firing)) /* the next UTC midnight */
        consider(&best, ((int64_t)pp_facts_day_of(st->clock_ms) + 1) * PP_DAY_MS);
    if (first_due)
        consider(&best, pp_ms(first_due) + pol->commitment_grace_ms + 1000);
    int64_t any = 0; /* snoozes are rare: one branch-free pass to see if there is one */
    for (int r = 0; r < PP_R_COUNT; r++)
        any |= st->snooze_until_ms[r];
    if (any != 0)
        for (int r = 0; r < PP_R_COUNT; r++)
            if (st->snooze_until_ms[r] > 0 && st->snooze_until_ms[r] > st->clock_ms)
                consider(&best, st->snooze_until_ms[r]);
    *window_tick = window_tick_of(st, firing);
    return best;
}

/* next_deadline_from() for a partner as it stands, with no evaluation's
 * facts at hand. clk: the clocks under pol (pp_facts_policy). */
static int64_t next_deadline_pol(const pp_policy_t *pol, const pp_bizclock_t clk[2], const pp_partner_t *st,
                                 int64_t *window_tick)
{
    pp_facts_t f;
    pp_facts_waits(clk, st, &f);
    return next_deadline_from(pol, st, &f, firing_rules(st), first_open_due(st), window_tick);
}

/* ---- the alerts of an evaluation ---- */

/* Where an evaluation writes its alerts. */
typedef struct emit_ctx {
    const pp_policy_t *pol; /* the partner's policy (the sentences' windows) */
    pp_alert_t *out;      /* the caller's array (PP_ENGINE_MAX_ALERTS free) */
    int n;                /* alerts written */
    int64_t proc_ms;      /* processing time, stamped on each */
    const char *evidence; /* event_id behind the evaluation, or "timer" */
    uint32_t holding;     /* pp_rules_judge's verdict: with pol->enabled, the rules open once
                             the evaluation is done (health_red's sentence names them) */
} emit_ctx_t;

static bool suppressed(const pp_partner_t *st, pp_rule_t r, int64_t now)
{
    /* inhibited while health_red is open, as Alertmanager's usual rule
     * inhibits lower severities only: a CRITICAL child (going_dark turned
     * inactive, slow_response past its critical line) still pages */
    if (r != PP_R_HEALTH_RED && st->rules[PP_R_HEALTH_RED].started_at_ms != 0 &&
        st->rules[r].severity < PP_SEV_CRITICAL)
        return true;
    if (st->rules[r].snoozed_episode)
        return true;
    int64_t until = st->snooze_until_ms[r];
    return until > 0 && now < until;
}

static void emit(emit_ctx_t *e, const pp_partner_t *st, pp_rule_t r, int status, const pp_verdict_t *v,
                 int64_t at, bool publish)
{
    if (e->n >= PP_ENGINE_MAX_ALERTS)
        return; /* cannot happen: each rule emits at most twice per evaluation */
    pp_alert_t *a = &e->out[e->n++];
    /* Every field is set below, each text NUL-terminated; the bytes after a
     * terminator and the padding are not (no memset of the whole alert, half
     * a KiB): the readers (pp_alert_pack, the daemon's outbox and stream
     * records, the bench digest, the tests) read the texts up to their NUL
     * only, and copy the alert as a whole at most. */
    const pp_rule_state_t *rs = &st->rules[r];
    pp_alert_id(st->id, r, rs->started_at_ms, st->episodes[r], a->alert_id);
    memcpy(a->partner_id, st->id, sizeof a->partner_id);
    a->rule = r;
    a->severity = rs->severity;
    a->status = status;
    a->value = v->value;
    a->threshold = v->threshold;
    pp_verdict_t sv = *v;
    sv.open = 0;
    if (r == PP_R_HEALTH_RED) /* only its sentence names them: not worked out per evaluation */
        for (int o = 0; o < PP_R_COUNT; o++)
            if ((e->holding >> o & 1) && e->pol->enabled[o])
                sv.open |= 1u << o;
    pp_rules_sentence(r, e->pol, st, status == PP_ALERT_FIRING, &sv, a->message, sizeof a->message);
    a->started_at_ms = rs->started_at_ms;
    a->event_time_ms = at;
    a->emitted_at_ms = e->proc_ms;
    a->health = st->health;
    size_t en = strnlen(e->evidence, sizeof a->evidence - 1); /* snprintf("%s") semantics */
    memcpy(a->evidence, e->evidence, en);
    a->evidence[en] = '\0';
    a->publish = publish;
    a->partition = st->home_partition;
}

/* ---- evaluation ---- */

/* One rule's lifecycle at f->now (DESIGN §7): FIRING once when it trips
 * (published unless suppressed), RESOLVED once when it clears or is
 * disabled, one more FIRING (same alert_id) when the open episode turns
 * CRITICAL, and a late FIRING for an episode whose suppression ended.
 * holds: pp_rules_judge's verdict for r; critical: r is one of
 * pp_rules_turned_critical's; *firing_set is kept up to date. */
static inline __attribute__((always_inline)) void lifecycle(const pp_policy_t *pol, pp_partner_t *st,
                                                            const pp_facts_t *f, emit_ctx_t *e, pp_rule_t r,
                                                            bool holds, bool critical, uint32_t *firing_set)
{
    pp_rule_state_t *rs = &st->rules[r];
    bool firing = rs->started_at_ms != 0;
    /* holds first: it is in a register and mostly false */
    if (holds && !firing && pol->enabled[r]) {
        pp_verdict_t v = pp_rules_verdict(r, pol, st, f);
        rs->started_at_ms = v.trip_at > 0 ? v.trip_at : f->now;
        *firing_set |= 1u << r;
        st->episodes[r]++;
        rs->value = (float)v.value;
        rs->severity = (uint8_t)v.severity;
        rs->snoozed_episode = st->snooze_until_ms[r] == -1;
        bool pub = !suppressed(st, r, f->now);
        rs->published = pub;
        emit(e, st, r, PP_ALERT_FIRING, &v, rs->started_at_ms, pub);
    } else if (firing && (!holds || !pol->enabled[r])) {
        pp_verdict_t v = pp_rules_verdict(r, pol, st, f);
        emit(e, st, r, PP_ALERT_RESOLVED, &v, f->now, rs->published);
        if (rs->snoozed_episode || st->snooze_until_ms[r] == -1)
            st->snooze_until_ms[r] = 0; /* "until it clears" is over */
        memset(rs, 0, sizeof *rs);
        *firing_set &= ~(1u << r);
        if (r == PP_R_HEALTH_RED) {
            /* children that fired while inhibited are published now */
            for (int c = 0; c < PP_R_COUNT; c++) {
                pp_rule_state_t *cs = &st->rules[c];
                if (c != PP_R_HEALTH_RED && cs->started_at_ms && !cs->published &&
                    !suppressed(st, (pp_rule_t)c, f->now)) {
                    pp_verdict_t cv = pp_rules_verdict((pp_rule_t)c, pol, st, f);
                    cs->published = 1;
                    emit(e, st, (pp_rule_t)c, PP_ALERT_FIRING, &cv, cs->started_at_ms, true);
                }
            }
        }
    } else if (firing && critical) {
        /* still firing past its CRITICAL line: the same episode turns
         * CRITICAL, one more FIRING with the same alert_id (DESIGN §6) */
        pp_verdict_t v = pp_rules_verdict(r, pol, st, f);
        rs->severity = PP_SEV_CRITICAL;
        rs->value = (float)v.value;
        /* published unless snoozed: a CRITICAL child is not inhibited by
         * health_red; an episode whose WARNING was inhibited is published
         * for the first time now (same alert_id) */
        bool pub = !suppressed(st, r, f->now);
        rs->published = rs->published || pub;
        emit(e, st, r, PP_ALERT_FIRING, &v, pp_rules_critical_at(r, pol, st, f), pub);
    } else if (firing && !rs->published && !suppressed(st, r, f->now)) {
        /* snooze expired while still firing: publish the episode now */
        pp_verdict_t v = pp_rules_verdict(r, pol, st, f);
        rs->published = 1;
        emit(e, st, r, PP_ALERT_FIRING, &v, rs->started_at_ms, true);
    }
}

/* health_drop must last health_drop_min_hours before it trips (DESIGN §7,
 * minimum duration): st->health_drop_since records since when its condition
 * holds, cleared when it stops holding or the rule trips. Before the rules
 * are judged: health_drop's condition reads it. */
static void drop_pending(const pp_policy_t *pol, pp_partner_t *st, const pp_facts_t *f)
{
    if (!pp_rules_drop_pending(pol, st, f))
        st->health_drop_since = 0;
    else if (st->health_drop_since == 0)
        st->health_drop_since = pp_secs(f->now) ? pp_secs(f->now) : 1;
}

/* first_due: when the caller has just looked at every commitment (a timer,
 * pp_partner_expire_commitments_next), the first due second of those still
 * open (0 = none), which no rule changes; NULL: look here.
 * cy: a timer's carry (NULL for an event): read when valid, then set. */
static int evaluate(const pp_policy_t *pol, const pp_bizclock_t clk[2], pp_partner_t *st, int64_t proc_ms,
                    const char *evidence, pp_alert_t *out, const uint32_t *first_due, carry_t *cy)
{
    pp_facts_t f;
    assert(derived_ok(pol));
    pp_facts_gather(pol, clk, st, st->clock_ms, cy && cy->valid ? &cy->waits : NULL, &f);
    pp_score_update(pol, st, &f);
    drop_pending(pol, st, &f);
    st->milestone = (uint8_t)pp_rules_milestone(pol, st, &f);
    emit_ctx_t e = {.pol = pol, .out = out, .n = 0, .proc_ms = proc_ms, .evidence = evidence};
    uint32_t firing = firing_rules(st);
    uint32_t holding = pp_rules_judge(pol, st, &f, firing);
    e.holding = holding;
    uint32_t critical = firing ? pp_rules_turned_critical(pol, st, &f, firing) : 0;
    /* a rule that neither holds nor fires has nothing to do; health_red
     * first: its state decides what the others inhibit */
    uint32_t busy = holding | firing;
    if (busy >> PP_R_HEALTH_RED & 1)
        lifecycle(pol, st, &f, &e, PP_R_HEALTH_RED, holding >> PP_R_HEALTH_RED & 1,
                  critical >> PP_R_HEALTH_RED & 1, &firing);
    for (uint32_t todo = busy & ~(1u << PP_R_HEALTH_RED); todo; todo &= todo - 1) {
        int r = __builtin_ctz(todo);
        lifecycle(pol, st, &f, &e, (pp_rule_t)r, holding >> r & 1, critical >> r & 1, &firing);
    }
    int64_t window_tick; /* the rules changed no thread: gather's oldest wait still holds */
    int64_t next = next_deadline_from(pol, st, &f, firing, first_due ? *first_due : first_open_due(st), &window_tick);
    if (cy) { /* for the next timer of this advance */
        cy->valid = true;
        cy->first_due = *first_due;
        cy->other = next;
        cy->waits = f.waits;
    }
    consider(&next, window_tick);
    st->next_deadline_ms = next; /* pp_engine_next_deadline(ps, st) */
    return e.n;
}

/* ---- timers ---- */

/* cy: the advance's carry (carry_t), valid when a timer ran before. */
static int tick_pol(const pp_policy_t *pol, const pp_bizclock_t clk[2], pp_partner_t *st, int64_t now_ms,
                    int64_t proc_ms, pp_alert_t *out, carry_t *cy)
{
    pp_partner_set_bucket_days(st, pp_policy_bucket_days(pol)); /* the ring in the policy's bucket width */
    if (now_ms > st->clock_ms)
        st->clock_ms = now_ms;
    uint32_t first_due; /* the pass over the commitments gives the next one due as well */
    if (cy->valid && (cy->first_due == 0 || cy->first_due > pp_secs(st->clock_ms - pol->commitment_grace_ms)))
        first_due = cy->first_due; /* none due yet: the pass would mark none */
    else
        pp_partner_expire_commitments_next(st, st->clock_ms, pol->commitment_grace_ms, &first_due);
    return evaluate(pol, clk, st, proc_ms, "timer", out, &first_due, cy);
}

/* pp_engine_advance with the partner's policy and clocks (pp_facts_policy). */
static int advance_pol(const pp_policy_t *pol, const pp_bizclock_t clk[2], pp_partner_t *st, int64_t until_ms,
                       int64_t proc_ms, pp_alert_t *out)
{
    int n = 0;
    if (st->next_deadline_ms == 0 || st->next_deadline_ms > until_ms)
        return 0;
    carry_t cy = {.valid = false}; /* from one timer to the next */
    int32_t until_day = pp_facts_day_of(until_ms + 1);
    while (st->next_deadline_ms != 0 && st->next_deadline_ms <= until_ms &&
           n + PP_ENGINE_MAX_ALERTS <= PP_ENGINE_ALERTS_CAP) {
        int64_t at = st->next_deadline_ms;
        /* Windows are whole days: a re-judgement at a day boundary gives what
         * an evaluation later that same day gives. When nothing else is due
         * before until_ms and until_ms falls on that day, the caller's own
         * evaluation (the event's) covers it. */
        if (pp_facts_day_of(at) == until_day && at == window_tick_of(st, firing_rules(st))) {
            int64_t window_tick, other = cy.valid ? cy.other : next_deadline_pol(pol, clk, st, &window_tick);
            if (other == 0 || other > until_ms)
                break;
        }
        if (at < st->clock_ms)
            at = st->clock_ms; /* already past: evaluate now */
        int64_t before = st->next_deadline_ms;
        n += tick_pol(pol, clk, st, at, proc_ms, out + n, &cy);
        if (st->next_deadline_ms == before && st->next_deadline_ms <= at)
            break; /* a deadline that does not move would loop forever: a bug, stop */
    }
    return n;
}


/* ---- the public entry points ---- */

/* Ask for the cache lines of [from, to) of the state now, so that their
 * misses overlap instead of stalling one after another as the code reaches
 * them (a cached partner is 4 KiB, usually long out of the CPU caches). */
static inline __attribute__((always_inline)) void prefetch_span(const pp_partner_t *st, size_t from, size_t to)
{
    const char *p = (const char *)st;
    /* constant bounds: unrolled into one prefetch instruction per line */
#pragma GCC unroll 32
    for (size_t off = from; off < to; off += 64)
        __builtin_prefetch(p + off, 1, 3);
    __builtin_prefetch(p + to - 1, 1, 3); /* the state need not start on a line */
}

void pp_engine_prefetch(const pp_partner_t *st, const pp_event_t *ev)
{
    /* what every evaluation reads or writes: header and profile, lifetime
     * counters, commitments, threads, the partner's response times, the
     * window sum and score, the rules */
    prefetch_span(st, offsetof(pp_partner_t, applied), offsetof(pp_partner_t, deals));
    prefetch_span(st, offsetof(pp_partner_t, referrals_to_us), offsetof(pp_partner_t, resp_us));
    prefetch_span(st, offsetof(pp_partner_t, resp_partner_next), offsetof(pp_partner_t, days));
    prefetch_span(st, offsetof(pp_partner_t, lsum), offsetof(pp_partner_t, evidence));
    prefetch_span(st, offsetof(pp_partner_t, rules), sizeof(pp_partner_t));
    /* the event's own day bucket, and the deal table for a deal */
    int32_t day = pp_facts_day_of(ev->occurred_at_ms);
    if (day >= 0)
        __builtin_prefetch(&st->days[(st->bucket_days > 1 ? day / st->bucket_days : day) % PP_DAYS_MAX], 1, 3);
    if (ev->topic == PP_TOPIC_DEALS)
        prefetch_span(st, offsetof(pp_partner_t, deals), offsetof(pp_partner_t, referrals_to_us));
}

int pp_engine_apply(const pp_policyset_t *ps, pp_partner_t *st, const pp_event_t *ev, int32_t partition,
                    int64_t offset, int64_t proc_ms, pp_alert_t *out)
{
    /* Callers with a batch asked for this state a few events ago, into L2 at
     * least; asking again here moves all its hot lines to L1 at once instead
     * of one miss at a time. Dropping this call saved 1.2 % of instructions
     * but paired core_bench runs were slower (medians ~1.1 against ~1.2 M
     * events/s), so it stays. */
    pp_engine_prefetch(st, ev);
    if (strcmp(st->id, ev->partner_id) != 0)
        return -EINVAL;
    /* the policy and the business clocks are looked up once: only a
     * lifecycle event changes the profile they depend on */
    pp_bizclock_t clk[2];
    const pp_policy_t *pol = pp_facts_policy(ps, st, clk);
    pp_partner_set_bucket_days(st, pp_policy_bucket_days(pol)); /* the ring in the policy's bucket width */
    /* timers due before this event fire first, at their own time */
    int n = advance_pol(pol, clk, st, ev->occurred_at_ms - 1, proc_ms, out);
    int rc = pp_partner_apply_own(st, ev, partition, offset, proc_ms, clk, pol); /* ev's partner checked above */
    if (rc != 0)
        return rc;
    if (ev->topic == PP_TOPIC_LIFECYCLE)
        pol = pp_facts_policy(ps, st, clk);
    return n + evaluate(pol, clk, st, proc_ms, ev->event_id, out + n, NULL, NULL);
}

int pp_engine_tick(const pp_policyset_t *ps, pp_partner_t *st, int64_t now_ms, int64_t proc_ms, pp_alert_t *out)
{
    carry_t cy = {.valid = false};
    pp_bizclock_t clk[2];
    const pp_policy_t *pol = pp_facts_policy(ps, st, clk);
    return tick_pol(pol, clk, st, now_ms, proc_ms, out, &cy);
}

int pp_engine_advance(const pp_policyset_t *ps, pp_partner_t *st, int64_t until_ms, int64_t proc_ms,
                      pp_alert_t *out)
{
    if (st->next_deadline_ms == 0 || st->next_deadline_ms > until_ms)
        return 0;
    /* no event in between: the profile, hence the policy and the clocks, stay the same */
    pp_bizclock_t clk[2];
    const pp_policy_t *pol = pp_facts_policy(ps, st, clk);
    return advance_pol(pol, clk, st, until_ms, proc_ms, out);
}

int64_t pp_engine_next_deadline(const pp_policyset_t *ps, const pp_partner_t *st)
{
    pp_bizclock_t clk[2];
    const pp_policy_t *pol = pp_facts_policy(ps, st, clk);
    int64_t window_tick;
    int64_t best = next_deadline_pol(pol, clk, st, &window_tick);
    consider(&best, window_tick);
    return best;
}
