/*
 * Exactly once against producers that retry: an event whose event_id the
 * partner applied among its last PP_SEEN_MAX is a duplicate
 * (pp_partner_duplicate), and independently of ids a late earlier stage
 * never rewinds a deal and a repeated WON never adds revenue twice, not even
 * for a deal evicted from the deal table.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"

static pp_policyset_t ps;
static pp_partner_t st;
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static int64_t offset;

static void setup(void)
{
    pp_policyset_default(&ps);
    pp_partner_init(&st, "acme");
    offset = 0;
}

TestSuite(dedup, .init = setup);

/* What the daemon does with a message: skip it when it is a duplicate, else apply it. */
static pp_dup_t deliver(pp_event_t ev)
{
    int64_t off = offset++;
    pp_dup_t dup = pp_partner_duplicate(&st, ev.topic, 0, off, &ev);
    if (dup == PP_DUP_NONE)
        cr_assert_geq(pp_engine_apply(&ps, &st, &ev, 0, off, T0, out), 0);
    return dup;
}

static const pp_deal_slot_t *deal_of(const char *deal)
{
    for (int i = 0; i < PP_DEALS_MAX; i++)
        if (st.deals[i].id == pp_hash_str(deal))
            return &st.deals[i];
    return NULL;
}

Test(dedup, the_same_event_id_twice_is_a_duplicate_by_id)
{
    pp_event_t ev = ev_referral("acme", "ref-1-sent", T0, PP_REF_TO_US, PP_REF_SENT);
    cr_assert_eq(deliver(ev), PP_DUP_NONE);
    cr_assert_eq(deliver(ev), PP_DUP_ID, "a producer's retry: new offset, same id");
    cr_assert_eq(st.referrals_to_us, 1);
    cr_assert_eq(st.events_applied, 1);
}

Test(dedup, a_redelivered_offset_is_a_duplicate_by_offset)
{
    pp_event_t ev = ev_referral("acme", "ref-1-sent", T0, PP_REF_TO_US, PP_REF_SENT);
    cr_assert_eq(deliver(ev), PP_DUP_NONE);
    cr_assert_eq(pp_partner_duplicate(&st, PP_TOPIC_REFERRALS, 0, offset - 1, &ev), PP_DUP_OFFSET);
    cr_assert_eq(pp_partner_duplicate(&st, PP_TOPIC_REFERRALS, 0, offset - 1, NULL), PP_DUP_OFFSET);
    cr_assert_eq(pp_partner_duplicate(&st, PP_TOPIC_REFERRALS, 0, offset, NULL), PP_DUP_NONE);
}

Test(dedup, a_duplicated_message_is_no_follow_up)
{
    pp_event_t ask = ev_eng("acme", "mail-1", T0, "t1", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, false);
    cr_assert_eq(deliver(ask), PP_DUP_NONE);
    cr_assert_eq(deliver(ask), PP_DUP_ID);
    cr_assert_eq(st.followups_total, 0);
    cr_assert_eq(st.engagements_outbound, 1);
}

Test(dedup, a_duplicate_after_other_events_within_the_bound_is_recognised)
{
    pp_event_t first = ev_eng("acme", "mail-first", T0, "t0", PP_DIR_INBOUND, PP_KIND_MEETING, false);
    cr_assert_eq(deliver(first), PP_DUP_NONE);
    char eid[32];
    for (int i = 1; i < PP_SEEN_MAX; i++) { /* PP_SEEN_MAX - 1 other events of the partner */
        snprintf(eid, sizeof eid, "mail-%d", i);
        cr_assert_eq(deliver(ev_eng("acme", eid, T0 + i * HOUR_MS, "t1", PP_DIR_INBOUND, PP_KIND_MEETING, false)),
                     PP_DUP_NONE);
    }
    first.occurred_at_ms = T0; /* a late retry */
    cr_assert_eq(pp_partner_duplicate(&st, first.topic, 0, offset, &first), PP_DUP_ID);
    /* the bound: one event more and the oldest id is forgotten */
    cr_assert_eq(deliver(ev_eng("acme", "mail-last", T0 + DAY_MS * 3, "t1", PP_DIR_INBOUND, PP_KIND_MEETING, false)),
                 PP_DUP_NONE);
    cr_assert_eq(pp_partner_duplicate(&st, first.topic, 0, offset, &first), PP_DUP_NONE);
}

Test(dedup, the_seen_ids_survive_the_blob)
{
    cr_assert_eq(deliver(ev_referral("acme", "ref-1-sent", T0, PP_REF_TO_US, PP_REF_SENT)), PP_DUP_NONE);
    static uint8_t buf[2 * sizeof(pp_partner_t) + 64];
    size_t n = pp_partner_encode(&st, buf, sizeof buf);
    cr_assert_eq(pp_partner_decode(buf, n, &st), 0);
    cr_assert_eq(deliver(ev_referral("acme", "ref-1-sent", T0, PP_REF_TO_US, PP_REF_SENT)), PP_DUP_ID);
}

/* Distinct ids are never taken for duplicates: at PP_SEEN_MAX / 2^32 per
 * event (about 1e-8), 100 000 events expect 0.001 false positives. */
Test(dedup, distinct_event_ids_are_never_skipped)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    char eid[48];
    int false_positives = 0;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t y = x * 0x2545f4914f6cdd1dULL;
        snprintf(eid, sizeof eid, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(y >> 32), (unsigned)(y >> 16) & 0xffff,
                 (unsigned)y & 0xfff, (unsigned)(x >> 52), (unsigned long long)(x & 0xffffffffffffULL));
        pp_event_t ev = ev_eng("acme", eid, T0 + i * 1000LL, NULL, i & 1 ? PP_DIR_INBOUND : PP_DIR_OUTBOUND,
                               PP_KIND_MEETING, false);
        if (pp_partner_duplicate(&st, ev.topic, 0, offset, &ev) != PP_DUP_NONE) {
            false_positives++;
            continue;
        }
        cr_assert_eq(pp_partner_apply(&st, &ev, 0, offset++, T0, NULL), 0);
    }
    cr_assert_eq(false_positives, 0);
    cr_assert_eq(st.events_applied, 100000);
}

Test(dedup, a_late_earlier_stage_does_not_rewind_the_deal)
{
    deliver(ev_deal("acme", "d1-reg", T0, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1000));
    deliver(ev_deal("acme", "d1-qual", T0 + DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 2000));
    deliver(ev_deal("acme", "d1-prop", T0 + 2 * DAY_MS, "d1", PP_STAGE_PROPOSAL, PP_ATTR_SOURCED, 3000));
    /* the QUALIFIED event again, re-published under another id (or past the ring) */
    cr_assert_eq(deliver(ev_deal("acme", "d1-qual-retry", T0 + DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 2000)),
                 PP_DUP_NONE);
    cr_assert_eq(deal_of("d1")->stage, PP_STAGE_PROPOSAL);
    cr_assert_eq(st.pipeline_sourced_minor, 3000);
    /* the same second, an earlier stage: no rewind either */
    deliver(ev_deal("acme", "d1-reg-again", T0 + 2 * DAY_MS, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1000));
    cr_assert_eq(deal_of("d1")->stage, PP_STAGE_PROPOSAL);
    cr_assert_eq(st.deals_sourced, 1);
    cr_assert_eq(st.deals_qualified, 1);
    /* a later event may move it back (the CRM reopened the qualification) */
    deliver(ev_deal("acme", "d1-requal", T0 + 3 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 2500));
    cr_assert_eq(deal_of("d1")->stage, PP_STAGE_QUALIFIED);
    cr_assert_eq(st.pipeline_sourced_minor, 2500);
}

Test(dedup, a_late_won_still_closes_the_deal)
{
    deliver(ev_deal("acme", "d1-prop", T0 + 2 * DAY_MS, "d1", PP_STAGE_PROPOSAL, PP_ATTR_SOURCED, 3000));
    deliver(ev_deal("acme", "d1-won", T0 + DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_SOURCED, 3000));
    cr_assert_eq(deal_of("d1")->stage, PP_STAGE_WON);
    cr_assert_eq(st.revenue_won_sourced_minor, 3000);
    cr_assert_eq(st.pipeline_sourced_minor, 0);
}

Test(dedup, won_twice_adds_revenue_once)
{
    deliver(ev_deal("acme", "d1-qual", T0, "d1", PP_STAGE_QUALIFIED, PP_ATTR_INFLUENCED, 5000));
    deliver(ev_deal("acme", "d1-won", T0 + DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_INFLUENCED, 5000));
    cr_assert_eq(deliver(ev_deal("acme", "d1-won-2", T0 + 2 * DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_INFLUENCED, 5000)),
                 PP_DUP_NONE, "another id: only the deal table can tell");
    cr_assert_eq(st.revenue_won_influenced_minor, 5000);
    cr_assert_eq(st.deals_won, 1);
    pp_window_sum_t w;
    pp_partner_window(&st, T0 + 2 * DAY_MS, 30, &w);
    cr_assert_eq(w.won, 1);
}

Test(dedup, won_again_for_a_deal_evicted_from_the_table_adds_nothing)
{
    deliver(ev_deal("acme", "d0-won", T0, "d0", PP_STAGE_WON, PP_ATTR_SOURCED, 7000));
    char deal[32], eid[32];
    /* enough newer deals, closed ones among them, to evict d0 */
    for (int i = 1; i <= PP_DEALS_MAX + 4; i++) {
        snprintf(deal, sizeof deal, "d%d", i);
        snprintf(eid, sizeof eid, "d%d-ev", i);
        deliver(ev_deal("acme", eid, T0 + i * HOUR_MS, deal, i % 4 ? PP_STAGE_REGISTERED : PP_STAGE_LOST,
                        PP_ATTR_SOURCED, 100));
    }
    cr_assert_null(deal_of("d0"), "d0 left the table");
    uint32_t sourced = st.deals_sourced, won = st.deals_won;
    int64_t revenue = st.revenue_won_sourced_minor;
    cr_assert_eq(revenue, 7000);
    /* the WON re-sent, under its own id long out of the ring, and under another id */
    deliver(ev_deal("acme", "d0-won", T0 + 2 * DAY_MS, "d0", PP_STAGE_WON, PP_ATTR_SOURCED, 7000));
    deliver(ev_deal("acme", "d0-won-resent", T0 + 2 * DAY_MS, "d0", PP_STAGE_WON, PP_ATTR_SOURCED, 7000));
    cr_assert_eq(st.revenue_won_sourced_minor, revenue);
    cr_assert_eq(st.deals_won, won);
    cr_assert_eq(st.deals_sourced, sourced, "not a new deal either");
    cr_assert_null(deal_of("d0"), "a closed deal does not come back into the table");
}
