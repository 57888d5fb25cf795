/*
 * pp_facts: gathering the inputs of scores and rules (see pp_facts.h).
 */
#include "pp_facts.h"

#include <math.h>
#include <stdbool.h>

pp_pct_t pp_facts_percentiles(const pp_sample_t *ring, int64_t now_ms, int days)
{
    uint32_t v[PP_SAMPLES_MAX];
    int n = 0;
    uint32_t now = pp_secs(now_ms);
    uint32_t span = (uint32_t)days * 86400u;
    /* kept: at != 0 && at <= now && now - at < span, i.e. at in (lo, now] */
    uint32_t lo = now >= span ? now - span : 0;
    for (int i = 0; i < PP_SAMPLES_MAX; i++) { /* compact without branches, then sort */
        v[n] = ring[i].wait;
        n += (uint32_t)(ring[i].at - lo - 1) < (uint32_t)(now - lo);
    }
    pp_sort_small_u32(v, (int)n);
    pp_pct_t r = {n, NAN, NAN};
    if (n > 0) {
        r.p50_h = v[(n + 1) / 2 - 1] / 3600.0;         /* ceil(0.5 n) - 1 */
        r.p90_h = v[(9 * n + 9) / 10 - 1] / 3600.0;    /* ceil(0.9 n) - 1 */
    }
    return r;
}

static int64_t recency_base(const pp_partner_t *st)
{
    return st->last_inbound_ms ? st->last_inbound_ms : st->signed_at_ms ? st->signed_at_ms : st->first_event_ms;
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

void pp_facts_gather(const pp_policy_t *pol, pp_partner_t *st, int64_t now, const pp_waits_t *waits,
                     pp_facts_t *f)
{
    /* every field set but sw and us: nothing reads them here */
    f->now = now;
    f->day = pp_facts_day_of(now);
    pp_partner_long_window_at(st, now, f->day, pol->long_window_days, &f->lw);
    /* scores and rules need the count and the median only: cached in the state */
    uint32_t p50;
    f->partner.n = pp_partner_resp_median(st, now, pol->short_window_days, &p50);
    f->partner.p50_h = f->partner.n > 0 ? p50 / 3600.0 : NAN;
    f->partner.p90_h = NAN;
    if (waits)
        f->waits = *waits;
    else
        scan_threads(st, false, f);
    f->awaiting_us = 0;
    f->oldest_wait_us = 0;
    f->recency_base = recency_base(st);
}

void pp_facts_gather_all(const pp_policy_t *pol, const pp_partner_t *st, pp_facts_t *f)
{
    int64_t now = st->clock_ms;
    f->now = now;
    f->day = pp_facts_day_of(now);
    pp_partner_windows(st, now, pol->long_window_days, pol->short_window_days, &f->lw, &f->sw);
    f->partner = pp_facts_percentiles(st->resp_partner, now, pol->short_window_days);
    f->us = pp_facts_percentiles(st->resp_us, now, pol->short_window_days);
    scan_threads(st, true, f);
    f->recency_base = recency_base(st);
}

void pp_facts_waits(const pp_partner_t *st, pp_facts_t *f)
{
    scan_threads(st, false, f);
    f->recency_base = recency_base(st);
}
