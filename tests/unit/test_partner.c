/*
 * pp_partner: the per-partner totals and exactly-once bookkeeping.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "pp_partner.h"

static pp_partner_t st;

static void setup(void)
{
    pp_partner_init(&st, "acme");
}

TestSuite(partner, .init = setup);

static int64_t next_offset;

static void apply(pp_event_t ev)
{
    cr_assert_eq(pp_partner_apply(&st, &ev, 0, next_offset++, T0, NULL), 0);
}

Test(partner, open_deal_counts_in_pipeline_by_attribution)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1000));
    apply(ev_deal("acme", "e2", T0, "d2", PP_STAGE_QUALIFIED, PP_ATTR_INFLUENCED, 500));
    cr_assert_eq(st.pipeline_sourced_minor, 1000);
    cr_assert_eq(st.pipeline_influenced_minor, 500);
    cr_assert_eq(st.deals_sourced, 1);
    cr_assert_eq(st.deals_influenced, 1);
}

Test(partner, stage_change_replaces_amount_not_adds)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1000));
    apply(ev_deal("acme", "e2", T0 + DAY_MS, "d1", PP_STAGE_PROPOSAL, PP_ATTR_SOURCED, 1500));
    cr_assert_eq(st.pipeline_sourced_minor, 1500);
    cr_assert_eq(st.deals_sourced, 1);
}

Test(partner, won_deal_moves_from_pipeline_to_revenue)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 1000));
    apply(ev_deal("acme", "e2", T0 + DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_SOURCED, 1200));
    cr_assert_eq(st.pipeline_sourced_minor, 0);
    cr_assert_eq(st.revenue_won_sourced_minor, 1200);
    cr_assert_eq(st.deals_won, 1);
}

Test(partner, closed_deal_ignores_later_events)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_WON, PP_ATTR_INFLUENCED, 700));
    apply(ev_deal("acme", "e2", T0 + DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_INFLUENCED, 700));
    apply(ev_deal("acme", "e3", T0 + DAY_MS, "d1", PP_STAGE_PROPOSAL, PP_ATTR_INFLUENCED, 700));
    cr_assert_eq(st.revenue_won_influenced_minor, 700);
    cr_assert_eq(st.pipeline_influenced_minor, 0);
    cr_assert_eq(st.deals_won, 1);
    cr_assert_eq(st.events_applied, 3);
}

Test(partner, lost_deal_leaves_pipeline)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_PROPOSAL, PP_ATTR_SOURCED, 900));
    apply(ev_deal("acme", "e2", T0 + DAY_MS, "d1", PP_STAGE_LOST, PP_ATTR_SOURCED, 900));
    cr_assert_eq(st.pipeline_sourced_minor, 0);
    cr_assert_eq(st.deals_lost, 1);
    cr_assert_eq(st.revenue_won_sourced_minor, 0);
}

Test(partner, deal_table_full_of_open_deals_evicts_stalest_and_its_pipeline)
{
    char id[16], eid[16];
    for (int i = 0; i < PP_DEALS_MAX + 1; i++) {
        snprintf(id, sizeof id, "d%d", i);
        snprintf(eid, sizeof eid, "e%d", i);
        apply(ev_deal("acme", eid, T0 + i * HOUR_MS, id, PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 10));
    }
    cr_assert_eq(st.deals_evicted, 1);
    cr_assert_eq(st.pipeline_sourced_minor, 10 * PP_DEALS_MAX);
    cr_assert_eq(st.deals_sourced, PP_DEALS_MAX + 1);
}

Test(partner, closed_deals_are_evicted_before_open_ones)
{
    char id[16], eid[16];
    apply(ev_deal("acme", "w", T0, "won", PP_STAGE_WON, PP_ATTR_SOURCED, 5));
    for (int i = 0; i < PP_DEALS_MAX; i++) {
        snprintf(id, sizeof id, "d%d", i);
        snprintf(eid, sizeof eid, "e%d", i);
        apply(ev_deal("acme", eid, T0 + (i + 1) * HOUR_MS, id, PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 10));
    }
    cr_assert_eq(st.deals_evicted, 0);
    cr_assert_eq(st.pipeline_sourced_minor, 10 * PP_DEALS_MAX);
}

Test(partner, referrals_count_sent_per_direction)
{
    apply(ev_referral("acme", "r1", T0, PP_REF_TO_US, PP_REF_SENT));
    apply(ev_referral("acme", "r2", T0, PP_REF_TO_US, PP_REF_CONVERTED));
    apply(ev_referral("acme", "r3", T0, PP_REF_TO_PARTNER, PP_REF_SENT));
    cr_assert_eq(st.referrals_to_us, 1);
    cr_assert_eq(st.referrals_to_partner, 1);
}

Test(partner, automated_messages_count_but_do_not_move_last_contact)
{
    apply(ev_eng("acme", "m1", T0, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false));
    apply(ev_eng("acme", "m2", T0 + DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, true));
    apply(ev_eng("acme", "m3", T0 + HOUR_MS, "t1", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, false));
    cr_assert_eq(st.engagements_inbound, 2);
    cr_assert_eq(st.engagements_outbound, 1);
    cr_assert_eq(st.last_inbound_ms, T0);
    cr_assert_eq(st.last_outbound_ms, T0 + HOUR_MS);
}

Test(partner, late_event_does_not_move_last_contact_back)
{
    apply(ev_eng("acme", "m1", T0 + DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false));
    apply(ev_eng("acme", "m2", T0, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false));
    cr_assert_eq(st.last_inbound_ms, T0 + DAY_MS);
}

Test(partner, lifecycle_sets_profile)
{
    pp_event_t ev = ev_lifecycle("acme", "s1", T0, PP_LC_SIGNED, PP_PTYPE_RESELLER, "gold");
    strcpy(ev.u.lc.owner, "Dana");
    apply(ev);
    cr_assert_eq(st.partner_type, PP_PTYPE_RESELLER);
    cr_assert_str_eq(st.tier, "gold");
    cr_assert_str_eq(st.owner, "Dana");
    cr_assert_eq(st.signed_at_ms, T0);
    apply(ev_lifecycle("acme", "s2", T0 + DAY_MS, PP_LC_TIER_CHANGED, PP_PTYPE_NONE, "platinum"));
    cr_assert_eq(st.partner_type, PP_PTYPE_RESELLER);
    cr_assert_str_eq(st.tier, "platinum");
}

Test(partner, redelivered_offset_is_recognised_per_topic_and_partition)
{
    pp_event_t ev = ev_deal("acme", "e1", T0, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1);
    cr_assert_not(pp_partner_already_applied(&st, PP_TOPIC_DEALS, 3, 10));
    cr_assert_eq(pp_partner_apply(&st, &ev, 3, 10, T0, NULL), 0);
    cr_assert(pp_partner_already_applied(&st, PP_TOPIC_DEALS, 3, 10));
    cr_assert(pp_partner_already_applied(&st, PP_TOPIC_DEALS, 3, 9));
    cr_assert_not(pp_partner_already_applied(&st, PP_TOPIC_DEALS, 3, 11));
    cr_assert_not(pp_partner_already_applied(&st, PP_TOPIC_REFERRALS, 3, 10));
}

Test(partner, event_of_another_partner_is_refused)
{
    pp_event_t ev = ev_deal("other", "e1", T0, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1);
    cr_assert_lt(pp_partner_apply(&st, &ev, 0, 0, T0, NULL), 0);
    cr_assert_eq(st.events_applied, 0);
}

Test(partner, blob_round_trip_is_exact)
{
    apply(ev_deal("acme", "e1", T0, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 1000));
    apply(ev_referral("acme", "r1", T0, PP_REF_TO_US, PP_REF_SENT));
    uint8_t *buf = malloc(pp_partner_blob_size());
    size_t n = pp_partner_encode(&st, buf, pp_partner_blob_size());
    cr_assert_gt(n, 0);
    cr_assert_lt(n, sizeof st / 2, "zero runs are squeezed: %zu bytes", n);
    pp_partner_t back;
    cr_assert_eq(pp_partner_decode(buf, n, &back), 0);
    cr_assert_eq(memcmp(&back, &st, sizeof st), 0);
    free(buf);
}

Test(partner, corrupt_or_foreign_blob_is_refused)
{
    uint8_t *buf = malloc(pp_partner_blob_size());
    size_t n = pp_partner_encode(&st, buf, pp_partner_blob_size());
    pp_partner_t back;
    cr_assert_lt(pp_partner_decode(buf, n - 1, &back), 0);
    buf[0] = 'X';
    cr_assert_lt(pp_partner_decode(buf, n, &back), 0);
    buf[0] = 'P';
    buf[4] = 99; /* version */
    cr_assert_lt(pp_partner_decode(buf, n, &back), 0);
    free(buf);
}

Test(partner, state_fits_the_4k_budget)
{
    cr_assert_leq(sizeof(pp_partner_t), 4096, "state is %zu bytes", sizeof(pp_partner_t));
}

Test(partner, blob_rejects_bad_zero_runs)
{
    uint8_t *buf = malloc(pp_partner_blob_size());
    size_t n = pp_partner_encode(&st, buf, pp_partner_blob_size());
    pp_partner_t back;
    cr_assert_lt(pp_partner_decode(buf, n - 1, &back), 0, "truncated");
    uint8_t *longer = malloc(n + 2);
    memcpy(longer, buf, n);
    longer[n] = 0;
    longer[n + 1] = 5;
    cr_assert_lt(pp_partner_decode(longer, n + 2, &back), 0, "runs past the struct");
    free(longer);
    free(buf);
}


/* The cached response median is what a fresh computation gives, at every
 * instant, as responses (some of them late) enter and leave the window. */
Test(partner, cached_response_median_matches_a_fresh_computation)
{
    uint64_t x = 42;
    int64_t t = T0;
    int checked = 0;
    for (int i = 0; i < 400; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        char thread[16], eid[16];
        snprintf(thread, sizeof thread, "t%d", (int)(x >> 60));
        snprintf(eid, sizeof eid, "e%d", i);
        t += (int64_t)((x >> 20) % (3 * DAY_MS));
        int64_t at = (x >> 40) % 10 == 0 ? t - (int64_t)((x >> 8) % (20 * DAY_MS)) : t; /* some late */
        int dir = (x >> 33) & 1 ? PP_DIR_INBOUND : PP_DIR_OUTBOUND;
        apply(ev_eng("acme", eid, at, thread, dir, PP_KIND_MESSAGE, false));
        for (int k = 0; k < 3; k++) { /* a few instants, not always rising */
            int64_t now = t + (int64_t)(k * 11 * DAY_MS) - (k == 2 ? 40 * DAY_MS : 0);
            int days = k == 1 ? 7 : 30;
            uint32_t p_cached, p_fresh;
            int n_cached = pp_partner_resp_median(&st, now, days, &p_cached);
            pp_partner_t copy = st;
            copy.rp_until = 0;
            int n_fresh = pp_partner_resp_median(&copy, now, days, &p_fresh);
            cr_assert_eq(n_cached, n_fresh, "event %d instant %d", i, k);
            if (n_fresh > 0)
                cr_assert_eq(p_cached, p_fresh, "event %d instant %d", i, k);
            checked += n_fresh > 0;
        }
    }
    cr_assert_gt(checked, 100);
}

Test(partner, blob_with_a_stale_response_cache_is_refused)
{
    apply(ev_eng("acme", "e1", T0, "t1", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, false));
    apply(ev_eng("acme", "e2", T0 + 5 * HOUR_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false));
    uint32_t p50;
    cr_assert_eq(pp_partner_resp_median(&st, T0 + DAY_MS, 30, &p50), 1);
    cr_assert_eq(p50, 5 * 3600);
    cr_assert_neq(st.rp_until, 0);
    uint8_t *buf = malloc(pp_partner_blob_size());
    size_t n = pp_partner_encode(&st, buf, pp_partner_blob_size());
    pp_partner_t back;
    cr_assert_eq(pp_partner_decode(buf, n, &back), 0);
    cr_assert_eq(memcmp(&back, &st, sizeof st), 0);
    st.rp_p50 += 1; /* a median the samples do not give */
    n = pp_partner_encode(&st, buf, pp_partner_blob_size());
    cr_assert_lt(pp_partner_decode(buf, n, &back), 0);
    free(buf);
}
