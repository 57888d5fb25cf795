/*
 * pp_facts: gathering the inputs of scores and rules (see pp_facts.h).
 */
#include "pp_facts.h"

#include <math.h>
#include <stdbool.h>

pp_pct_t pp_facts_percentiles(const pp_partner_t *st, int side, const pp_bizclock_t *clk, int64_t now_ms, int days)
{
    const pp_sample_t *ring = side == PP_SIDE_PARTNER ? st->resp_partner : st->resp_us;
    uint8_t owes = side == PP_SIDE_PARTNER ? PP_WAIT_PARTNER : PP_WAIT_US;
    uint32_t v[PP_SAMPLES_MAX + PP_THREADS_MAX];
    int n = 0;
    uint32_t now = pp_secs(now_ms);
    uint32_t span = (uint32_t)days * 86400u;
    /* kept: at != 0 && at <= now && now - at < span, i.e. at in (lo, now] */
    uint32_t lo = now >= span ? now - span : 0;
    for (int i = 0; i < PP_SAMPLES_MAX; i++) { /* compact without branches */
        v[n] = ring[i].wait;
        n += (uint32_t)(ring[i].at - lo - 1) < (uint32_t)(now - lo);
    }
    for (int i = 0; i < PP_THREADS_MAX; i++) { /* the waits still open, at their age */
        const pp_thread_t *t = &st->threads[i];
        if (t->awaiting == owes && t->id != 0 && t->since <= now)
            v[n++] = pp_biz_elapsed_s(clk, t->since, now);
    }
    pp_sort_small_u32(v, (int)n);
    pp_pct_t r = {n, NAN, NAN};
    if (n > 0) {
        r.p50_s = v[(n + 1) / 2 - 1];         /* ceil(0.5 n) - 1 */
        r.p90_s = v[(9 * n + 9) / 10 - 1];    /* ceil(0.9 n) - 1 */
    }
    return r;
}

const pp_policy_t *pp_facts_policy(const pp_policyset_t *ps, const pp_partner_t *st, pp_bizclock_t clk[2])
{
    const pp_policy_t *pol = pp_policyset_for(ps, st->partner_type, st->tier);
    pp_policyset_clocks(ps, pol, st->calendar_hash, st->zone_hash, clk);
    return pol;
}

/* f->clk and f->bday from clk. */
static void set_clocks(const pp_bizclock_t clk[2], pp_facts_t *f)
{
    f->clk[PP_SIDE_PARTNER] = clk[PP_SIDE_PARTNER];
    f->clk[PP_SIDE_US] = clk[PP_SIDE_US];
    f->bday[PP_SIDE_PARTNER] = pp_biz_day_ms(&clk[PP_SIDE_PARTNER]);
    f->bday[PP_SIDE_US] = pp_biz_day_ms(&clk[PP_SIDE_US]);
}

static int64_t recency_base(const pp_partner_t *st)
{
    return st->last_inbound_ms ? st->last_inbound_ms : st->signed_at_ms ? st->signed_at_ms : st->first_event_ms;
}

/* f->recency_base and f->quiet_ms (after set_clocks). */
static void set_recency(const pp_partner_t *st, pp_facts_t *f)
{
    f->recency_base = recency_base(st);
    f->quiet_ms = f->recency_base ? pp_biz_elapsed_ms(&f->clk[PP_SIDE_PARTNER], f->recency_base, f->now) : 0;
}

/* f->waits from the threads; with_us: also awaiting_us and oldest_wait_us.
 * The oldest waits are found as pp_secs (pp_ms() is increasing: the oldest
 * second is the oldest ms) and converted once. A free slot has awaiting 0,
 * so the cheap test of `awaiting` comes first. Inlined: each caller gets
 * the code for its case. */
static inline __attribute__((always_inline)) void scan_threads(const pp_partner_t *st, bool with_us, pp_facts_t *f)
{
    uint32_t oldest_p = 0, oldest_u = 0;
    int awaiting_p = 0, awaiting_u = 0, max_followups = 0;
#pragma GCC unroll 12
    for (int i = 0; i < PP_THREADS_MAX; i++) {
        const pp_thread_t *t = &st->threads[i];
        if (t->awaiting == PP_WAIT_PARTNER && t->id != 0) {
            if (awaiting_p++ == 0 || t->since < oldest_p)
                oldest_p = t->since;
            if (t->followups > max_followups)
                max_followups = t->followups;
        } else if (with_us && t->awaiting == PP_WAIT_US && t->id != 0) {
            if (awaiting_u++ == 0 || t->since < oldest_u)
                oldest_u = t->since;
        }
    }
    f->waits.max_followups = max_followups;
    f->waits.awaiting_partner = awaiting_p;
    f->waits.oldest_wait_partner = awaiting_p ? pp_ms(oldest_p) : 0;
    if (with_us) {
        f->awaiting_us = awaiting_u;
        f->oldest_wait_us = awaiting_u ? pp_ms(oldest_u) : 0;
    }
}

void pp_facts_gather(const pp_policy_t *pol, const pp_bizclock_t clk[2], pp_partner_t *st, int64_t now,
                     const pp_waits_t *waits, pp_facts_t *f)
{
    /* every field set but sw and us: nothing reads them here */
    f->now = now;
    f->day = pp_facts_day_of(now);
    set_clocks(clk, f);
    pp_partner_long_window_at(st, now, f->day, pol->long_window_days, &f->lw);
    if (waits)
        f->waits = *waits;
    else
        scan_threads(st, false, f);
    f->awaiting_us = 0;
    f->oldest_wait_us = 0;
    if (f->waits.awaiting_partner) {
        /* open waits count at their age so far: no cache can hold that */
        f->partner = pp_facts_percentiles(st, PP_SIDE_PARTNER, &clk[PP_SIDE_PARTNER], now, pol->short_window_days);
    } else { /* answered responses only: the count and the median cached in the state */
        uint32_t p50;
        f->partner.n = pp_partner_resp_median(st, now, pol->short_window_days, &p50);
        f->partner.p50_s = f->partner.n > 0 ? (double)p50 : NAN;
        f->partner.p90_s = NAN;
    }
    set_recency(st, f);
}

void pp_facts_gather_all(const pp_policy_t *pol, const pp_bizclock_t clk[2], const pp_partner_t *st,
                         pp_facts_t *f)
{
    int64_t now = st->clock_ms;
    f->now = now;
    f->day = pp_facts_day_of(now);
    set_clocks(clk, f);
    pp_partner_windows(st, now, pol->long_window_days, pol->short_window_days, &f->lw, &f->sw);
    scan_threads(st, true, f);
    f->partner = pp_facts_percentiles(st, PP_SIDE_PARTNER, &clk[PP_SIDE_PARTNER], now, pol->short_window_days);
    f->us = pp_facts_percentiles(st, PP_SIDE_US, &clk[PP_SIDE_US], now, pol->short_window_days);
    set_recency(st, f);
}

void pp_facts_waits(const pp_bizclock_t clk[2], const pp_partner_t *st, pp_facts_t *f)
{
    set_clocks(clk, f);
    scan_threads(st, false, f);
    f->recency_base = recency_base(st);
}
