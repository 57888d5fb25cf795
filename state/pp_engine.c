/*
 * pp_engine: score, rules and alert lifecycle (see pp_engine.h and
 * docs/scoring.md, docs/alerts.md).
 */
#include "pp_engine.h"

#include <assert.h>
#include <errno.h>
#include <fenv.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pp_facts.h"
#include "pp_rules.h"

#define PP_INLINE static inline __attribute__((always_inline))

static const pp_policy_t *policy_of(const pp_policyset_t *ps, const pp_partner_t *st)
{
    return pp_policyset_for(ps, st->partner_type, st->tier);
}

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
           pol->reply_overdue_ms == days_ms(pol->reply_overdue_days) &&
           pol->going_dark_ms == days_ms(pol->going_dark_days) &&
           pol->going_dark_inactive_ms == days_ms(pol->going_dark_inactive_days) &&
           pol->no_pipeline_ms == days_ms(pol->no_pipeline_days) &&
           pol->commitment_grace_ms == (int64_t)(pol->commitment_grace_hours * PP_HOUR_MS_D) &&
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

/* ---- text without formatted output (flags, factors of the public hash) ---- */

/* "00" "01" ... "99": two decimal digits per division (a start time has 13). */
#define PP_DEC10(d) d "0" d "1" d "2" d "3" d "4" d "5" d "6" d "7" d "8" d "9"
static const char dec_pairs[201] = PP_DEC10("0") PP_DEC10("1") PP_DEC10("2") PP_DEC10("3") PP_DEC10("4")
    PP_DEC10("5") PP_DEC10("6") PP_DEC10("7") PP_DEC10("8") PP_DEC10("9");
#undef PP_DEC10


/* Decimal digits of u (no sign), written backwards so that they end just
 * before `end`; returns where they start. */
static inline char *dec_digits(char *end, uint64_t u)
{
    char *p = end;
    /* Eight digits at a time while u is that large (a start time has 13):
     * one 64-bit division splits them off, and their pairs are divided out
     * in 32-bit arithmetic, which is cheaper than 64-bit. */
    while (u >= 100000000u) {
        uint32_t lo = (uint32_t)(u % 100000000u);
        u /= 100000000u;
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            uint32_t r = lo % 100;
            lo /= 100;
            p -= 2;
            memcpy(p, dec_pairs + 2 * r, 2);
        }
    }
    uint32_t v = (uint32_t)u; /* < 10^8 */
    while (v >= 100) {
        uint32_t r = v % 100;
        v /= 100;
        p -= 2;
        memcpy(p, dec_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, dec_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

/* Decimal digits of u (no sign) into out, most significant first; returns the count. */
static size_t put_u64(char *out, uint64_t u)
{
    char tmp[20]; /* 2^64 - 1 has 20 digits */
    char *p = dec_digits(tmp + sizeof tmp, u);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

/* A message being written: snprintf's semantics (truncates, always terminated). */
typedef struct msg {
    char *buf;
    size_t cap, n;   /* n: length it would have, as snprintf counts */
} msg_t;

static void m_put(msg_t *m, const char *s, size_t len)
{
    if (m->n + 1 < m->cap) {
        size_t room = m->cap - 1 - m->n;
        memcpy(m->buf + m->n, s, len < room ? len : room);
    }
    m->n += len;
}

static void m_str(msg_t *m, const char *s)
{
    m_put(m, s, strlen(s));
}

/* %.0f (prec 0) or %.1f (prec 1) exactly as snprintf rounds them: the exact
 * binary value, ties to even (the default rounding mode). */
static void m_num(msg_t *m, double v, int prec)
{
    char tmp[64];
    size_t n = 0;
    if (!isfinite(v) || fabs(v) >= (prec ? 1e14 : 1e15) || fegetround() != FE_TONEAREST) {
        int k = snprintf(tmp, sizeof tmp, prec ? "%.1f" : "%.0f", v);
        m_put(m, tmp, k > 0 ? (size_t)k : 0);
        return;
    }
    double r;
    if (prec == 0) {
        r = nearbyint(v);
    } else {
        double p = v * 10.0;
        r = nearbyint(p);
        if (fabs(p - trunc(p)) == 0.5) {
            /* p may be a tie only because v * 10 was rounded: the exact product decides */
            double e = fma(v, 10.0, -p);
            if (e > 0)
                r = p + 0.5;
            else if (e < 0)
                r = p - 0.5;
        }
    }
    if (signbit(v))
        tmp[n++] = '-';
    uint64_t u = (uint64_t)fabs(r);
    if (prec == 0) {
        n += put_u64(tmp + n, u);
    } else {
        n += put_u64(tmp + n, u / 10);
        tmp[n++] = '.';
        tmp[n++] = (char)('0' + u % 10);
    }
    m_put(m, tmp, n);
}

static void m_end(msg_t *m)
{
    if (m->cap > 0)
        m->buf[m->n < m->cap ? m->n : m->cap - 1] = '\0';
}

static bool suppressed(const pp_partner_t *st, pp_rule_t r, int64_t now)
{
    if (r != PP_R_HEALTH_RED && st->rules[PP_R_HEALTH_RED].started_at_ms != 0)
        return true; /* inhibited while health_red is open */
    if (st->rules[r].snoozed_episode)
        return true;
    int64_t until = st->snooze_until_ms[r];
    return until > 0 && now < until;
}

typedef struct emit_ctx {
    pp_alert_t *out;
    int n;
    int64_t proc_ms;
    const char *evidence;
} emit_ctx_t;

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
    pp_rules_sentence(r, a->message, sizeof a->message, pp_alert_who(st), status == PP_ALERT_FIRING, v);
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

/* Score, then every rule's lifecycle, at st->clock_ms. */
static void consider(int64_t *best, int64_t t)
{
    if (t > 0 && (*best == 0 || t < *best))
        *best = t;
}

static int64_t next_deadline_pol(const pp_policy_t *pol, const pp_partner_t *st, int64_t *window_tick);
static int64_t next_deadline_from(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                  uint32_t firing, uint32_t first_due, int64_t *window_tick);
static uint32_t first_open_due(const pp_partner_t *st);
static int64_t window_tick_of(const pp_partner_t *st, uint32_t firing);
static int advance_pol(const pp_policy_t *pol, pp_partner_t *st, int64_t until_ms, int64_t proc_ms, pp_alert_t *out);

/* The rules firing now (an open episode), bit r for rule r. */
static uint32_t firing_rules(const pp_partner_t *st)
{
    uint32_t firing = 0;
#pragma GCC unroll 16
    for (int r = 0; r < PP_R_COUNT; r++)
        firing |= (uint32_t)(st->rules[r].started_at_ms != 0) << r;
    return firing;
}

/* One rule's lifecycle at f->now (DESIGN §7). */
PP_INLINE void lifecycle(const pp_policy_t *pol, pp_partner_t *st, const pp_facts_t *f, emit_ctx_t *e, pp_rule_t r,
                         bool holds, uint32_t *firing_set)
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
    } else if (firing && !rs->published && !suppressed(st, r, f->now)) {
        /* snooze expired while still firing: publish the episode now */
        pp_verdict_t v = pp_rules_verdict(r, pol, st, f);
        rs->published = 1;
        emit(e, st, r, PP_ALERT_FIRING, &v, rs->started_at_ms, true);
    }
}

/* first_due: when the caller has just looked at every commitment (a timer,
 * pp_partner_expire_commitments_next), the first due second of those still
 * open (0 = none), which no rule changes; NULL: look here.
 * cy: a timer's carry (NULL for an event): read when valid, then set. */
static int evaluate(const pp_policy_t *pol, pp_partner_t *st, int64_t proc_ms, const char *evidence,
                    pp_alert_t *out, const uint32_t *first_due, carry_t *cy)
{
    pp_facts_t f;
    assert(derived_ok(pol));
    pp_facts_gather(pol, st, st->clock_ms, cy && cy->valid ? &cy->waits : NULL, &f);
    pp_score_update(pol, st, &f);
    emit_ctx_t e = {.out = out, .n = 0, .proc_ms = proc_ms, .evidence = evidence};
    uint32_t firing = firing_rules(st);
    uint32_t holding = pp_rules_judge(pol, st, &f, firing);
    /* a rule that neither holds nor fires has nothing to do; health_red
     * first: its state decides what the others inhibit */
    uint32_t busy = holding | firing;
    if (busy >> PP_R_HEALTH_RED & 1)
        lifecycle(pol, st, &f, &e, PP_R_HEALTH_RED, holding >> PP_R_HEALTH_RED & 1, &firing);
    for (uint32_t todo = busy & ~(1u << PP_R_HEALTH_RED); todo; todo &= todo - 1) {
        int r = __builtin_ctz(todo);
        lifecycle(pol, st, &f, &e, (pp_rule_t)r, holding >> r & 1, &firing);
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
        __builtin_prefetch(&st->days[day % PP_DAYS_MAX], 1, 3);
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
    /* the policy is looked up once: only a lifecycle event changes the
     * profile it depends on */
    const pp_policy_t *pol = policy_of(ps, st);
    /* timers due before this event fire first, at their own time */
    int n = advance_pol(pol, st, ev->occurred_at_ms - 1, proc_ms, out);
    int rc = pp_partner_apply_own(st, ev, partition, offset, proc_ms); /* ev's partner checked above */
    if (rc != 0)
        return rc;
    if (ev->topic == PP_TOPIC_LIFECYCLE)
        pol = policy_of(ps, st);
    return n + evaluate(pol, st, proc_ms, ev->event_id, out + n, NULL, NULL);
}

/* cy: the advance's carry (carry_t), valid when a timer ran before. */
static int tick_pol(const pp_policy_t *pol, pp_partner_t *st, int64_t now_ms, int64_t proc_ms, pp_alert_t *out,
                    carry_t *cy)
{
    if (now_ms > st->clock_ms)
        st->clock_ms = now_ms;
    uint32_t first_due; /* the pass over the commitments gives the next one due as well */
    if (cy->valid && (cy->first_due == 0 || cy->first_due > pp_secs(st->clock_ms - pol->commitment_grace_ms)))
        first_due = cy->first_due; /* none due yet: the pass would mark none */
    else
        pp_partner_expire_commitments_next(st, st->clock_ms, pol->commitment_grace_ms, &first_due);
    return evaluate(pol, st, proc_ms, "timer", out, &first_due, cy);
}

int pp_engine_tick(const pp_policyset_t *ps, pp_partner_t *st, int64_t now_ms, int64_t proc_ms, pp_alert_t *out)
{
    carry_t cy = {.valid = false};
    return tick_pol(policy_of(ps, st), st, now_ms, proc_ms, out, &cy);
}

static int64_t next_deadline(const pp_policyset_t *ps, const pp_partner_t *st, int64_t *window_tick);

int pp_engine_advance(const pp_policyset_t *ps, pp_partner_t *st, int64_t until_ms, int64_t proc_ms,
                      pp_alert_t *out)
{
    if (st->next_deadline_ms == 0 || st->next_deadline_ms > until_ms)
        return 0;
    /* no event in between: the profile, hence the policy, stays the same */
    return advance_pol(policy_of(ps, st), st, until_ms, proc_ms, out);
}

/* pp_engine_advance with the partner's policy (pol = policy_of(ps, st)). */
static int advance_pol(const pp_policy_t *pol, pp_partner_t *st, int64_t until_ms, int64_t proc_ms, pp_alert_t *out)
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
            int64_t window_tick, other = cy.valid ? cy.other : next_deadline_pol(pol, st, &window_tick);
            if (other == 0 || other > until_ms)
                break;
        }
        if (at < st->clock_ms)
            at = st->clock_ms; /* already past: evaluate now */
        int64_t before = st->next_deadline_ms;
        n += tick_pol(pol, st, at, proc_ms, out + n, &cy);
        if (st->next_deadline_ms == before && st->next_deadline_ms <= at)
            break; /* a deadline that does not move would loop forever: a bug, stop */
    }
    return n;
}


/* The next deadline, and separately (*window_tick) the day boundary at which
 * firing windowed rules are re-judged (0 if none). */
static int64_t next_deadline(const pp_policyset_t *ps, const pp_partner_t *st, int64_t *window_tick)
{
    return next_deadline_pol(policy_of(ps, st), st, window_tick);
}

static int64_t next_deadline_pol(const pp_policy_t *pol, const pp_partner_t *st, int64_t *window_tick)
{
    pp_facts_t f;
    pp_facts_waits(st, &f);
    return next_deadline_from(pol, st, &f, firing_rules(st), first_open_due(st), window_tick);
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

/* f: at least what pp_facts_waits() sets; first_due: first_open_due(st). */
static int64_t next_deadline_from(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                  uint32_t firing, uint32_t first_due, int64_t *window_tick)
{
    int64_t best = pp_rules_next_trip(pol, st, f, firing); /* absence rules */
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

int64_t pp_engine_next_deadline(const pp_policyset_t *ps, const pp_partner_t *st)
{
    int64_t window_tick;
    int64_t best = next_deadline(ps, st, &window_tick);
    consider(&best, window_tick);
    return best;
}

void pp_engine_flags(const pp_partner_t *st, char *buf, size_t cap)
{
    msg_t m = {buf, cap, 0};
    for (int r = 0; r < PP_R_COUNT; r++)
        if (st->rules[r].started_at_ms) {
            if (m.n)
                m_put(&m, ",", 1);
            m_str(&m, pp_rule_name((pp_rule_t)r));
        }
    m_end(&m);
}

/* The measures in order of the points they cost, at least half a point each. */
static int top_factors(const pp_policyset_t *ps, const pp_partner_t *st, int order[PP_M_COUNT], double cost[PP_M_COUNT])
{
    const pp_policy_t *pol = policy_of(ps, st);
    double wsum = 0;
    for (int m = 0; m < PP_M_COUNT; m++)
        if (st->measure_score[m] >= 0)
            wsum += pol->measure_weight[m];
    int k = 0;
    for (int m = 0; m < PP_M_COUNT; m++) {
        if (st->measure_score[m] < 0 || wsum <= 0)
            continue;
        cost[m] = pol->measure_weight[m] * (100.0 - st->measure_score[m]) / wsum;
        if (cost[m] < 0.5)
            continue;
        int j = k++;
        while (j > 0 && cost[order[j - 1]] < cost[m]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = m;
    }
    return k;
}

/* One factor, compact (fits a Redis listpack value: at most 64 bytes):
 * "response 185.5 h -10.8 pts [p0002-slow-e171]". */
static void factor_text(const pp_partner_t *st, int m, double cost, char *buf, size_t cap)
{
    static const char *const units[PP_M_COUNT] = {"", "", "", " regs", " h", "", "", " d"};
    double v = st->measure_value[m];
    bool pct = m == PP_M_WIN_RATE || m == PP_M_DELIVERY || m == PP_M_RECIPROCITY;
    msg_t t = {buf, cap, 0};
    m_str(&t, pp_measure_name((pp_measure_t)m));
    m_put(&t, " ", 1);
    m_num(&t, pct ? v * 100 : v, pct ? 0 : 1);
    if (pct)
        m_put(&t, "%", 1);
    m_str(&t, units[m]);
    m_put(&t, " -", 2);
    m_num(&t, cost, 1);
    m_put(&t, " pts [", 6);
    m_str(&t, st->evidence[m][0] ? st->evidence[m] : "-");
    m_put(&t, "]", 1);
    m_end(&t);
    if (t.n > 64 && cap > 64) { /* keep it a listpack value: cut the evidence */
        buf[62] = ']';
        buf[63] = '\0';
    }
}

size_t pp_engine_factor(const pp_policyset_t *ps, const pp_partner_t *st, int i, char *buf, size_t cap)
{
    int order[PP_M_COUNT];
    double cost[PP_M_COUNT];
    int k = top_factors(ps, st, order, cost);
    buf[0] = '\0';
    if (i < 0 || i >= k)
        return 0;
    factor_text(st, order[i], cost[order[i]], buf, cap);
    return strlen(buf);
}

void pp_engine_explain(const pp_policyset_t *ps, const pp_partner_t *st, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3 && n < cap; i++) {
        char f[128];
        if (pp_engine_factor(ps, st, i, f, sizeof f) == 0)
            break;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", f);
    }
    if (n == 0)
        snprintf(buf, cap, "%s", st->confidence > 0 ? "no factor costs more than half a point" : "not enough data yet");
}

/* ---- public hash ---- */

typedef struct fields {
    pp_field_t *out;
    size_t cap, n;
} fields_t;

/* Integer to decimal text (no formatted output: the hash is rendered for every dirty
 * partner at every flush). Returns the length. */
static size_t put_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

static void fi(fields_t *f, const char *name, int64_t v)
{
    if (f->n < f->cap) {
        f->out[f->n].name = name;
        put_i64(f->out[f->n].value, v);
    }
    f->n++;
}

/* A number with `prec` (0-3) decimals, rounded half away from zero; NAN
 * gives "" (not available). */
static void fd(fields_t *f, const char *name, double v, int prec)
{
    if (f->n < f->cap) {
        char *out = f->out[f->n].value;
        f->out[f->n].name = name;
        static const double scale[4] = {1, 10, 100, 1000};
        if (isnan(v) || v < -1e300) {
            out[0] = '\0';
        } else if (fabs(v) >= 1e15 || prec < 0 || prec > 3) {
            snprintf(out, PP_FIELD_VALUE_MAX, "%.*f", prec < 0 ? 0 : prec, v);
        } else {
            int64_t x = llround(fabs(v) * scale[prec]);
            size_t o = 0;
            if (v < 0 && x != 0)
                out[o++] = '-';
            int64_t ip = x / (int64_t)scale[prec], fp = x % (int64_t)scale[prec];
            o += put_i64(out + o, ip);
            if (prec > 0) {
                out[o++] = '.';
                for (int d = prec - 1; d >= 0; d--) {
                    out[o + (size_t)d] = (char)('0' + fp % 10);
                    fp /= 10;
                }
                o += (size_t)prec;
                out[o] = '\0';
            }
        }
    }
    f->n++;
}

static void fs(fields_t *f, const char *name, const char *v)
{
    if (f->n < f->cap) {
        f->out[f->n].name = name;
        size_t l = strnlen(v, PP_FIELD_VALUE_MAX - 1);
        memcpy(f->out[f->n].value, v, l);
        f->out[f->n].value[l] = '\0';
    }
    f->n++;
}

static double or_nan(float x)
{
    return x < 0 ? NAN : (double)x;
}

size_t pp_engine_fields(const pp_policyset_t *ps, const pp_partner_t *st, pp_field_t *out, size_t cap)
{
    const pp_policy_t *pol = policy_of(ps, st);
    fields_t f = {out, cap, 0};
    pp_facts_t x;
    pp_facts_gather_all(pol, st, &x);
    char buf[PP_FIELD_VALUE_MAX];

    /* health and its explanation */
    fd(&f, "health", st->health, 1);
    fs(&f, "rag", pp_rag_name(st->rag));
    fd(&f, "confidence", st->confidence, 2);
    pp_engine_flags(st, buf, sizeof buf);
    fs(&f, "flags", buf);
    /* why: the top three factors, one field each (<= 64 bytes keeps the hash compact) */
    static const char *const why_names[3] = {"why_1", "why_2", "why_3"};
    int order[PP_M_COUNT];
    double cost[PP_M_COUNT];
    int k = top_factors(ps, st, order, cost); /* once, not once per factor */
    for (int i = 0; i < 3; i++) {
        buf[0] = '\0';
        if (i < k)
            factor_text(st, order[i], cost[order[i]], buf, sizeof buf);
        fs(&f, why_names[i], buf);
    }
    fd(&f, "score_financial", or_nan(st->component[PP_C_FINANCIAL]), 1);
    fd(&f, "score_strategic", or_nan(st->component[PP_C_STRATEGIC]), 1);
    fd(&f, "score_operational", or_nan(st->component[PP_C_OPERATIONAL]), 1);
    fd(&f, "score_relationship", or_nan(st->component[PP_C_RELATIONSHIP]), 1);
    fs(&f, "config_version", ps->version);

    /* bookkeeping */
    fi(&f, "events_applied", (int64_t)st->events_applied);
    fi(&f, "updated_at_ms", st->updated_at_ms);
    fi(&f, "last_event_ms", st->last_event_ms);
    fs(&f, "last_event_id", st->last_event_id);
    fi(&f, "clock_ms", st->clock_ms);

    /* profile */
    fs(&f, "partner_type", pp_ptype_name(st->partner_type));
    fs(&f, "tier", st->tier);
    fs(&f, "owner", st->owner);
    fs(&f, "display_name", st->display_name);
    fi(&f, "signed_at_ms", st->signed_at_ms);
    fi(&f, "exited", st->exited);

    /* pipeline and revenue (seed 003 scorecard) */
    fi(&f, "deals_sourced", st->deals_sourced);
    fi(&f, "deals_influenced", st->deals_influenced);
    fi(&f, "deals_qualified", st->deals_qualified);
    fi(&f, "deals_won", st->deals_won);
    fi(&f, "deals_lost", st->deals_lost);
    fi(&f, "pipeline_sourced_minor", st->pipeline_sourced_minor);
    fi(&f, "pipeline_influenced_minor", st->pipeline_influenced_minor);
    fi(&f, "revenue_won_sourced_minor", st->revenue_won_sourced_minor);
    fi(&f, "revenue_won_influenced_minor", st->revenue_won_influenced_minor);
    fd(&f, "win_rate", st->deals_won + st->deals_lost ? (double)st->deals_won / (st->deals_won + st->deals_lost) : NAN, 3);
    fd(&f, "avg_won_deal_minor", st->deals_won ? (double)pp_partner_revenue_minor(st) / st->deals_won : NAN, 0);
    fd(&f, "days_to_first_qualified",
       st->first_qualified_ms && st->signed_at_ms ? (double)(st->first_qualified_ms - st->signed_at_ms) / PP_DAY_MS_D : NAN, 1);
    fi(&f, "revenue_won_long_major", (int64_t)x.lw.won_major);
    fd(&f, "win_rate_long", x.lw.won + x.lw.lost ? (double)x.lw.won / (x.lw.won + x.lw.lost) : NAN, 3);
    fi(&f, "qualified_long", x.lw.qualified);
    fi(&f, "registrations_long", x.lw.registered);
    fi(&f, "active", x.lw.registered > 0);

    /* referrals */
    fi(&f, "referrals_to_us", st->referrals_to_us);
    fi(&f, "referrals_to_partner", st->referrals_to_partner);

    /* responsiveness, both directions (seed 000 §6.2) */
    pp_pct_t pl = pp_facts_percentiles(st->resp_partner, st->clock_ms, pol->long_window_days);
    pp_pct_t ul = pp_facts_percentiles(st->resp_us, st->clock_ms, pol->long_window_days);
    fd(&f, "partner_response_p50_h_short", x.partner.p50_h, 1);
    fd(&f, "partner_response_p90_h_short", x.partner.p90_h, 1);
    fd(&f, "partner_response_p50_h_long", pl.p50_h, 1);
    fd(&f, "partner_response_p90_h_long", pl.p90_h, 1);
    fi(&f, "partner_responses_short", x.partner.n);
    fd(&f, "our_response_p50_h_short", x.us.p50_h, 1);
    fd(&f, "our_response_p90_h_short", x.us.p90_h, 1);
    fd(&f, "our_response_p50_h_long", ul.p50_h, 1);
    fd(&f, "our_response_p90_h_long", ul.p90_h, 1);
    fi(&f, "threads_awaiting_partner", x.waits.awaiting_partner);
    fi(&f, "threads_awaiting_us", x.awaiting_us);
    fd(&f, "oldest_wait_partner_h", x.waits.oldest_wait_partner ? (double)(st->clock_ms - x.waits.oldest_wait_partner) / PP_HOUR_MS_D : NAN, 1);
    fd(&f, "oldest_wait_us_h", x.oldest_wait_us ? (double)(st->clock_ms - x.oldest_wait_us) / PP_HOUR_MS_D : NAN, 1);
    fi(&f, "max_unanswered_followups", x.waits.max_followups);
    fi(&f, "followups_total", st->followups_total);
    fi(&f, "automated_ignored", st->automated_ignored);

    /* commitments (seed 000 §6.3) */
    fi(&f, "partner_commitments_made", st->commits_made[0]);
    fi(&f, "partner_commitments_delivered", st->commits_delivered[0]);
    fi(&f, "partner_commitments_missed", st->commits_missed[0]);
    fi(&f, "our_commitments_made", st->commits_made[1]);
    fi(&f, "our_commitments_delivered", st->commits_delivered[1]);
    fi(&f, "our_commitments_missed", st->commits_missed[1]);
    fi(&f, "partner_missed_long", x.lw.missed);
    fi(&f, "partner_delivered_long", x.lw.delivered);

    /* reciprocity (seed 000 §2, §6.4-6.5) */
    fi(&f, "contributions_theirs_long", x.lw.theirs);
    fi(&f, "contributions_ours_long", x.lw.ours);
    fd(&f, "reciprocity_index", x.lw.theirs + x.lw.ours ? (double)x.lw.theirs / (x.lw.theirs + x.lw.ours) : NAN, 3);

    /* activity */
    fi(&f, "engagements_inbound", st->engagements_inbound);
    fi(&f, "engagements_outbound", st->engagements_outbound);
    fi(&f, "engagements_inbound_short", x.sw.in);
    fi(&f, "engagements_outbound_short", x.sw.out);
    fi(&f, "last_inbound_ms", st->last_inbound_ms);
    fi(&f, "last_outbound_ms", st->last_outbound_ms);
    fd(&f, "days_since_inbound", x.recency_base ? (double)(st->clock_ms - x.recency_base) / PP_DAY_MS_D : NAN, 1);
    return f.n < cap ? f.n : cap;
}
