/*
 * Rolling windows up to PP_WINDOW_DAYS_MAX (540) days in the fixed ring of
 * PP_DAYS_MAX buckets (DESIGN §4/§5): windows over 90 days are kept in
 * buckets of ceil(long window / 90) days; a bucket is in a window while its
 * first day is, so the far edge moves a bucket at a time. Windows up to 90
 * days keep one bucket per day and exactly the sums of before.
 *
 * Driven through the engine with hand-set time, the policy set up as a
 * config file would (type overrides, then pp_policyset_resolve).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"

static pp_policyset_t ps;
static pp_partner_t st;
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static int64_t offset;
static int seq;

/* TECHNOLOGY partners: a 540-day long window; REFERRAL: 180 days. */
static void setup(void)
{
    char err[256];
    pp_policyset_default(&ps);
    cr_assert_eq(pp_policyset_override_type(&ps, "TECHNOLOGY", "long_window_days", "540", err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(pp_policyset_override_type(&ps, "REFERRAL", "long_window_days", "180", err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    pp_partner_init(&st, "acme");
    offset = 0;
    seq = 0;
}

TestSuite(windows, .init = setup);

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++seq);
    return buf;
}

static void apply(pp_event_t ev)
{
    cr_assert_geq(pp_engine_apply(&ps, &st, &ev, 0, offset++, T0, out), 0);
}

static void tick(int64_t now)
{
    cr_assert_geq(pp_engine_tick(&ps, &st, now, T0, out), 0);
}

static void signed_at(int64_t t, int ptype)
{
    apply(ev_lifecycle("acme", eid(), t, PP_LC_SIGNED, ptype, NULL));
}

static void type_changed(int64_t t, int ptype)
{
    apply(ev_lifecycle("acme", eid(), t, PP_LC_TYPE_CHANGED, ptype, NULL));
}

/* A contribution of the partner's (theirs + 1, in + 1 in its bucket). */
static void contribution(int64_t t)
{
    apply(ev_eng("acme", eid(), t, NULL, PP_DIR_INBOUND, PP_KIND_CO_MARKETING, false));
}

static void won(int64_t t, const char *deal, int64_t amount_minor)
{
    apply(ev_deal("acme", eid(), t, deal, PP_STAGE_WON, PP_ATTR_SOURCED, amount_minor));
}

static pp_window_sum_t window(int64_t now, int days)
{
    pp_window_sum_t w;
    pp_partner_window(&st, now, days, &w);
    return w;
}

#define D0 ((int32_t)(T0 / DAY_MS)) /* 20454, a multiple of 6 (and of 2): the first day of its bucket */

Test(windows, the_bucket_width_follows_the_long_window)
{
    cr_assert_eq(pp_window_bucket_days(30), 1);
    cr_assert_eq(pp_window_bucket_days(90), 1);
    cr_assert_eq(pp_window_bucket_days(91), 2);
    cr_assert_eq(pp_window_bucket_days(180), 2);
    cr_assert_eq(pp_window_bucket_days(181), 3);
    cr_assert_eq(pp_window_bucket_days(540), 6);
    cr_assert_eq(pp_window_bucket_days(PP_WINDOW_DAYS_MAX), PP_BUCKET_DAYS_MAX);
    cr_assert_eq(pp_policy_bucket_days(pp_policyset_for(&ps, PP_PTYPE_TECHNOLOGY, "")), 6);
    cr_assert_eq(pp_policy_bucket_days(pp_policyset_for(&ps, PP_PTYPE_REFERRAL, "")), 2);
    cr_assert_eq(pp_policy_bucket_days(pp_policyset_for(&ps, PP_PTYPE_RESELLER, "")), 1);
    cr_assert_eq(D0 % 6, 0);
}

Test(windows, a_540_day_window_counts_a_win_from_400_days_ago)
{
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    won(T0, "d1", 1500000);
    contribution(T0 + 400 * DAY_MS); /* the ring moves on 400 days */
    cr_assert_eq(st.bucket_days, 6);
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.won, 1);
    cr_assert_eq(w.won_major, 15000);
    cr_assert_float_eq(st.measure_value[PP_M_REVENUE], 15000.0, 1e-9, "the score reads the 540-day window");
    tick(T0 + 539 * DAY_MS); /* the last day of the window that holds day 0 */
    cr_assert_float_eq(st.measure_value[PP_M_REVENUE], 15000.0, 1e-9);
    tick(T0 + 540 * DAY_MS);
    cr_assert_float_eq(st.measure_value[PP_M_REVENUE], 0.0, 1e-9, "540 days later the win has left");
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.won, 0);
    cr_assert_eq(w.won_major, 0);
    cr_assert_eq(st.deals_won, 1, "lifetime totals keep it");
}

Test(windows, the_default_90_day_window_has_forgotten_the_same_win)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    won(T0, "d1", 1500000);
    contribution(T0 + 400 * DAY_MS);
    cr_assert_eq(st.bucket_days, 0, "one bucket per day: the field of older blobs is left as it was");
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 90, &w);
    cr_assert_eq(w.won, 0);
}

Test(windows, the_far_edge_moves_a_bucket_at_a_time)
{
    /* 540 days in buckets of 6: the bucket of days D0..D0+5 is in the
     * window until its first day leaves it, on day D0 + 540; an event on
     * its last day so counts for 535 days */
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    contribution(T0 + 5 * DAY_MS + 23 * HOUR_MS);
    contribution(T0 + 6 * DAY_MS); /* the next bucket */
    cr_assert_eq(window(T0 + 539 * DAY_MS, 540).theirs, 2);
    cr_assert_eq(window(T0 + 540 * DAY_MS, 540).theirs, 1);
    cr_assert_eq(window(T0 + 545 * DAY_MS, 540).theirs, 1);
    cr_assert_eq(window(T0 + 546 * DAY_MS, 540).theirs, 0);
}

Test(windows, a_180_day_window_in_buckets_of_two_days)
{
    signed_at(T0, PP_PTYPE_REFERRAL);
    contribution(T0);                /* first day of bucket D0 / 2 */
    contribution(T0 + DAY_MS);       /* its second day */
    contribution(T0 + 100 * DAY_MS); /* past what 90 one-day buckets could hold */
    contribution(T0 + 170 * DAY_MS);
    cr_assert_eq(st.bucket_days, 2);
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 180, &w);
    cr_assert_eq(w.theirs, 4);
    tick(T0 + 179 * DAY_MS);
    pp_partner_long_window(&st, st.clock_ms, 180, &w);
    cr_assert_eq(w.theirs, 4);
    tick(T0 + 180 * DAY_MS);
    pp_partner_long_window(&st, st.clock_ms, 180, &w);
    cr_assert_eq(w.theirs, 2, "both days of the first bucket leave together");
    /* the 30-day short window, in the same buckets: day 170 is a bucket's
     * first day, in the window ending day 199, not in the one ending day 200 */
    cr_assert_eq(window(T0 + 199 * DAY_MS, 30).theirs, 1);
    cr_assert_eq(window(T0 + 200 * DAY_MS, 30).theirs, 0);
}

/* Events on days spread over two years, in order; each window is checked
 * against a count of the events themselves by the rule of buckets: an event
 * on day e is in the window of `days` days ending at day t when its bucket
 * e / w is at most t / w and its bucket's first day (e / w) * w > t - days. */
Test(windows, windows_over_wide_buckets_follow_the_bucket_rule)
{
    static const int lengths[][2] = {{540, 30}, {540, 540}, {180, 45}, {91, 90}, {360, 7}};
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        int long_days = lengths[l][0], short_days = lengths[l][1], w = pp_window_bucket_days(long_days);
        pp_partner_init(&st, "acme");
        pp_partner_set_bucket_days(&st, w);
        int32_t days[400];
        int n = 0;
        uint64_t x = 0x9E3779B97F4A7C15ULL;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
        int32_t e = D0;
        for (int i = 0; i < 400; i++) {
            e += (int32_t)(RND() % 4);
            int64_t at = (int64_t)e * DAY_MS + (int64_t)(RND() % DAY_MS);
            pp_event_t ev = ev_eng("acme", eid(), at, NULL, PP_DIR_INBOUND, PP_KIND_CO_MARKETING, false);
            cr_assert_eq(pp_partner_apply(&st, &ev, 0, offset++, T0, NULL), 0);
            days[n++] = e;
            int32_t t = e + (int32_t)(RND() % 3);
            uint32_t want_l = 0, want_s = 0;
            for (int k = 0; k < n; k++) {
                int32_t b = days[k] / w;
                if (b <= t / w && b * w > t - long_days)
                    want_l++;
                if (b <= t / w && b * w > t - short_days)
                    want_s++;
            }
            pp_window_sum_t lw, sw;
            pp_partner_windows(&st, (int64_t)t * DAY_MS + 5, long_days, short_days, &lw, &sw);
            cr_assert_eq(lw.theirs, want_l, "%d days, step %d: %u, counted %u", long_days, i, lw.theirs, want_l);
            cr_assert_eq(sw.theirs, want_s, "%d days, step %d: %u, counted %u", short_days, i, sw.theirs, want_s);
        }
#undef RND
    }
}

/* With one bucket per day (every window up to 90 days) a window is exactly
 * its days: the events of days t - days + 1 .. t that the ring still holds. */
Test(windows, one_day_buckets_give_exactly_the_days_of_the_window)
{
    int32_t days[600];
    int n = 0;
    uint64_t x = 88172645463325252ULL;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    int32_t e = D0, head = 0;
    for (int i = 0; i < 600; i++) {
        e += (int32_t)(RND() % 3);
        int32_t at = e - ((RND() % 8) == 0 ? (int32_t)(RND() % 120) : 0); /* some late, some too old */
        pp_event_t ev = ev_eng("acme", eid(), (int64_t)at * DAY_MS + 7, NULL, PP_DIR_INBOUND, PP_KIND_CO_MARKETING,
                               false);
        cr_assert_eq(pp_partner_apply(&st, &ev, 0, offset++, T0, NULL), 0);
        head = at > head ? at : head;
        if (at > head - PP_DAYS_MAX) /* else too old for the ring: lifetime only */
            days[n++] = at;
        int32_t t = head + (int32_t)(RND() % 3);
        int len = 1 + (int)(RND() % PP_DAYS_MAX);
        uint32_t want = 0;
        for (int k = 0; k < n; k++)
            want += days[k] <= t && days[k] > t - len && days[k] > head - PP_DAYS_MAX;
        cr_assert_eq(window((int64_t)t * DAY_MS, len).theirs, want, "step %d, %d days", i, len);
    }
    cr_assert_eq(st.bucket_days, 0);
#undef RND
}

Test(windows, a_type_change_rebuckets_coarser_exactly)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    for (int d = 0; d < 120; d += 7)
        contribution(T0 + d * DAY_MS);  /* days 0, 7, ..., 119: 18 events */
    won(T0 + 100 * DAY_MS, "d1", 250000);
    cr_assert_eq(st.bucket_days, 0);
    pp_window_sum_t before = window(st.clock_ms, 90); /* what the 1-day ring holds: days 30..119 */
    cr_assert_eq(before.theirs, 13);
    type_changed(T0 + 120 * DAY_MS, PP_PTYPE_TECHNOLOGY);
    cr_assert_eq(st.bucket_days, 6);
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(memcmp(&w, &before, sizeof w), 0, "merging whole days loses nothing the ring held");
    cr_assert_eq(w.won_major, 2500);
    contribution(T0 + 130 * DAY_MS);
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.theirs, 14);
}

Test(windows, a_type_change_rebuckets_finer_at_each_buckets_first_day)
{
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    contribution(T0 + 3 * DAY_MS);   /* bucket of days 0..5 */
    contribution(T0 + 200 * DAY_MS); /* bucket of days 198..203 */
    contribution(T0 + 203 * DAY_MS);
    contribution(T0 + 250 * DAY_MS); /* bucket of days 246..251 */
    cr_assert_eq(st.bucket_days, 6);
    type_changed(T0 + 251 * DAY_MS, PP_PTYPE_RESELLER);
    cr_assert_eq(st.bucket_days, 1);
    /* one-day buckets again: each old bucket's counts are on its first day,
     * and what is older than 90 days now (day 3) is gone */
    cr_assert_eq(window(T0 + 251 * DAY_MS, 90).theirs, 3);
    cr_assert_eq(window(T0 + 198 * DAY_MS, 1).theirs, 2, "days 200 and 203 land on day 198");
    cr_assert_eq(window(T0 + 246 * DAY_MS, 1).theirs, 1, "day 250 lands on day 246");
    cr_assert_eq(window(T0 + 251 * DAY_MS, 5).theirs, 0);
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 90, &w);
    cr_assert_eq(w.theirs, 3, "the running sum was rebuilt from the new buckets");
}

/* The bucket of event time ms, which the ring must hold. */
static pp_day_t *bucket(int64_t ms)
{
    pp_day_t *b = pp_partner_day(&st, ms);
    cr_assert_not_null(b);
    return b;
}

Test(windows, rebucketing_between_widths_that_do_not_divide)
{
    /* 2-day buckets to 3-day ones: each old bucket goes whole to the new
     * bucket of its first day (days 0-1 to days 0..2, and days 2-3 as well,
     * as day 2 is in that bucket) */
    pp_partner_set_bucket_days(&st, 2);
    for (int d = 0; d < 4; d++)
        bucket(T0 + d * DAY_MS)->theirs++;
    cr_assert_eq(bucket(T0)->theirs, 2);
    pp_partner_set_bucket_days(&st, 3);
    cr_assert_eq(st.bucket_days, 3);
    cr_assert_eq(bucket(T0)->theirs, 4);
    cr_assert_eq(bucket(T0 + 3 * DAY_MS)->theirs, 0);
    pp_partner_set_bucket_days(&st, 0);
    cr_assert_eq(st.bucket_days, 1, "widths below 1 are 1");
    cr_assert_eq(bucket(T0)->theirs, 4);
    cr_assert_eq(bucket(T0 + DAY_MS)->theirs, 0);
    pp_partner_set_bucket_days(&st, 99);
    cr_assert_eq(st.bucket_days, PP_BUCKET_DAYS_MAX);
}

Test(windows, a_commitment_missed_by_its_due_date_counts_in_its_due_days_bucket)
{
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    apply(ev_commit("acme", eid(), T0, "c1", PP_DIR_INBOUND, PP_KIND_COMMITMENT_MADE, T0 + 10 * DAY_MS));
    tick(T0 + 300 * DAY_MS); /* long past due: missed, on day 10 (bucket of days 6..11) */
    cr_assert_eq(st.commits_missed[0], 1);
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.missed, 1);
    tick(T0 + 545 * DAY_MS);
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.missed, 1, "its bucket's first day, day 6, is in the window ending day 545");
    tick(T0 + 546 * DAY_MS);
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.missed, 0);
}

Test(windows, events_older_than_the_540_day_ring_count_in_lifetime_only)
{
    /* day 600 is in bucket (D0 + 600) / 6 = D0 / 6 + 100: the ring holds
     * buckets D0 / 6 + 11 .. + 100, days 66..605, which is also the 540-day
     * window ending day 600 (the first bucket whose first day is after day 60) */
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    contribution(T0 + 600 * DAY_MS);
    contribution(T0 + 65 * DAY_MS); /* older than the ring: lifetime only */
    contribution(T0 + 66 * DAY_MS); /* the ring's oldest bucket */
    cr_assert_eq(st.engagements_inbound, 3);
    cr_assert_null(pp_partner_day(&st, T0 + 65 * DAY_MS));
    cr_assert_not_null(pp_partner_day(&st, T0 + 66 * DAY_MS));
    pp_window_sum_t w;
    pp_partner_long_window(&st, st.clock_ms, 540, &w);
    cr_assert_eq(w.theirs, 2);
    cr_assert_eq(window(T0 + 605 * DAY_MS, 540).theirs, 2);
    cr_assert_eq(window(T0 + 606 * DAY_MS, 540).theirs, 1);
}

/* The running long-window sum equals a full recount (pp_partner_window)
 * after two years of random in-order, late and too-old events, expiring
 * commitments, ticks, and type changes between 90-, 180- and 540-day windows. */
Test(windows, the_running_sum_equals_a_fresh_recount_over_two_years)
{
    static const int types[] = {PP_PTYPE_TECHNOLOGY, PP_PTYPE_REFERRAL, PP_PTYPE_RESELLER};
    static const int long_days[] = {540, 180, 90};
    uint64_t x = 0x2545F4914F6CDD1DULL;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    int ty = 0;
    int64_t t = T0;
    signed_at(T0, types[ty]);
    for (int i = 0; i < 6000; i++) {
        t += (int64_t)(RND() % (DAY_MS / 4)); /* ~730 days over the loop */
        int64_t at = t - ((RND() % 10) == 0 ? (int64_t)(RND() % (700 * DAY_MS)) : 0); /* some late or too old */
        char cid[16], deal[16];
        snprintf(cid, sizeof cid, "c%d", i);
        snprintf(deal, sizeof deal, "d%d", i);
        switch (RND() % 8) {
        case 0: contribution(at); break;
        case 1: apply(ev_eng("acme", eid(), at, NULL, PP_DIR_OUTBOUND, PP_KIND_MEETING, false)); break;
        case 2: apply(ev_referral("acme", eid(), at, PP_REF_TO_US, PP_REF_SENT)); break;
        case 3:
            apply(ev_commit("acme", eid(), at, cid, PP_DIR_INBOUND, PP_KIND_COMMITMENT_MADE, at + 3 * DAY_MS));
            if (RND() & 1)
                apply(ev_commit("acme", eid(), at + DAY_MS, cid, PP_DIR_INBOUND, PP_KIND_COMMITMENT_DELIVERED, 0));
            break;
        case 4: won(at, deal, (int64_t)(RND() % 10000000)); break;
        case 5: apply(ev_deal("acme", eid(), at, deal, PP_STAGE_LOST, PP_ATTR_SOURCED, 1000)); break;
        case 6:
            if (RND() % 40 == 0) {
                ty = (ty + 1) % 3;
                type_changed(at, types[ty]);
            } else {
                tick(t);
            }
            break;
        default: tick(t); break;
        }
        if (i % 25 == 0) {
            pp_window_sum_t inc, full;
            pp_partner_long_window(&st, st.clock_ms, long_days[ty], &inc);
            pp_partner_window(&st, st.clock_ms, long_days[ty], &full);
            cr_assert_eq(st.bucket_days > 1 ? st.bucket_days : 1, pp_window_bucket_days(long_days[ty]));
            cr_assert_eq(memcmp(&inc, &full, sizeof inc), 0,
                         "step %d (%d days): theirs %u/%u ours %u/%u missed %u/%u won %u/%u major %llu/%llu", i,
                         long_days[ty], inc.theirs, full.theirs, inc.ours, full.ours, inc.missed, full.missed,
                         inc.won, full.won, (unsigned long long)inc.won_major, (unsigned long long)full.won_major);
        }
    }
    cr_assert_gt(st.clock_ms - T0, 700 * DAY_MS);
#undef RND
}

Test(windows, blob_keeps_the_bucket_width_and_refuses_an_impossible_one)
{
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    won(T0 + 3 * DAY_MS, "d1", 990000);
    contribution(T0 + 400 * DAY_MS);
    static uint8_t buf[2 * sizeof(pp_partner_t) + 64];
    size_t n = pp_partner_encode(&st, buf, sizeof buf);
    cr_assert_gt(n, 0);
    pp_partner_t back;
    cr_assert_eq(pp_partner_decode(buf, n, &back), 0);
    cr_assert_eq(memcmp(&back, &st, sizeof st), 0);
    cr_assert_eq(back.bucket_days, 6);
    pp_window_sum_t w;
    pp_partner_long_window(&back, back.clock_ms, 540, &w);
    cr_assert_eq(w.won_major, 9900);

    st.bucket_days = PP_BUCKET_DAYS_MAX + 1;
    n = pp_partner_encode(&st, buf, sizeof buf);
    cr_assert_eq(pp_partner_decode(buf, n, &back), -EBADMSG);
    st.bucket_days = 1;
    st.lsum_days = 540; /* a running sum longer than 90 one-day buckets */
    n = pp_partner_encode(&st, buf, sizeof buf);
    cr_assert_eq(pp_partner_decode(buf, n, &back), -EBADMSG);
}
