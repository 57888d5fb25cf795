/*
 * pp_engine: each rule trips exactly at its threshold, not just below,
 * clears with hysteresis, never duplicates while open, and timers fire at
 * their deadline with hand-set time. Windows, score and overrides too.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"

static pp_policyset_t ps;
static pp_partner_t st;
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static int64_t offset;
static int seq;
/* every transition seen in this test, in order */
static pp_alert_t seen[512];
static int n_seen;

static void setup(void)
{
    pp_policyset_default(&ps);
    pp_partner_init(&st, "acme");
    offset = 0;
    seq = 0;
    n_seen = 0;
}

TestSuite(engine, .init = setup);

static void record(int n)
{
    cr_assert_geq(n, 0);
    for (int i = 0; i < n && n_seen < 512; i++)
        seen[n_seen++] = out[i];
}

static void apply(pp_event_t ev)
{
    record(pp_engine_apply(&ps, &st, &ev, 0, offset++, T0, out));
}

static void tick(int64_t now)
{
    record(pp_engine_tick(&ps, &st, now, T0, out));
}

static void advance(int64_t until)
{
    record(pp_engine_advance(&ps, &st, until, T0, out));
}

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++seq);
    return buf;
}

/* transitions of rule r with status s seen so far */
static int count(pp_rule_t r, int status)
{
    int n = 0;
    for (int i = 0; i < n_seen; i++)
        n += seen[i].rule == r && seen[i].status == status;
    return n;
}

static const pp_alert_t *last(pp_rule_t r)
{
    for (int i = n_seen - 1; i >= 0; i--)
        if (seen[i].rule == r)
            return &seen[i];
    return NULL;
}

static void signed_at(int64_t t, int ptype)
{
    apply(ev_lifecycle("acme", eid(), t, PP_LC_SIGNED, ptype, "gold"));
}

static void msg(int64_t t, const char *thread, int dir)
{
    apply(ev_eng("acme", eid(), t, thread, dir, PP_KIND_MESSAGE, false));
}

/* ---- reply_overdue: timer at since + 5 d ---- */

Test(engine, reply_overdue_fires_from_timer_exactly_at_deadline)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    int64_t deadline = T0 + 5 * DAY_MS;
    cr_assert_eq(st.next_deadline_ms, deadline);
    tick(deadline - 1000);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0, "tripped a second early");
    tick(deadline + 3 * HOUR_MS); /* the timer runs late: the episode still starts at the deadline */
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_REPLY_OVERDUE)->started_at_ms, deadline);
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
}

Test(engine, reply_overdue_no_duplicate_while_open_and_resolves_on_reply)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    tick(T0 + 6 * DAY_MS);
    tick(T0 + 7 * DAY_MS);
    msg(T0 + 7 * DAY_MS, "t1", PP_DIR_OUTBOUND); /* a follow-up, still open */
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    msg(T0 + 8 * DAY_MS, "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    const pp_alert_t *r = last(PP_R_REPLY_OVERDUE);
    char id[PP_ALERT_ID_LEN + 1];
    pp_alert_id("acme", PP_R_REPLY_OVERDUE, T0 + 5 * DAY_MS, 1, id);
    cr_assert_str_eq(r->alert_id, id, "RESOLVED carries the episode's id");
}

Test(engine, a_reply_before_the_deadline_prevents_the_alert)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    msg(T0 + 5 * DAY_MS - 1000, "t1", PP_DIR_INBOUND);
    tick(T0 + 6 * DAY_MS);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0);
}

Test(engine, replay_catches_a_deadline_between_two_events)
{
    /* no timer ran: the next event (the late reply) first evaluates the
     * deadline that passed before it, so history gives what live gave */
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    msg(T0 + 9 * DAY_MS, "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    cr_assert_eq(seen[0].rule == PP_R_REPLY_OVERDUE ? seen[0].started_at_ms : last(PP_R_REPLY_OVERDUE)->started_at_ms,
                 T0 + 5 * DAY_MS);
}

Test(engine, automated_reply_does_not_close_the_wait)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    apply(ev_eng("acme", eid(), T0 + HOUR_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, true));
    tick(T0 + 5 * DAY_MS);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(st.automated_ignored, 1);
}

/* ---- unanswered_followups: >= 2 ---- */

Test(engine, followups_trip_at_two_not_one)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    msg(T0 + HOUR_MS, "t1", PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_UNANSWERED_FOLLOWUPS, PP_ALERT_FIRING), 0, "one follow-up is not a flag");
    msg(T0 + 2 * HOUR_MS, "t1", PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_UNANSWERED_FOLLOWUPS, PP_ALERT_FIRING), 1);
    msg(T0 + 3 * HOUR_MS, "t1", PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_UNANSWERED_FOLLOWUPS, PP_ALERT_FIRING), 1, "no duplicate while open");
    msg(T0 + 4 * HOUR_MS, "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_UNANSWERED_FOLLOWUPS, PP_ALERT_RESOLVED), 1);
}

/* ---- slow_response: p50 over 30 d > 72 h with >= 3 samples ---- */

static void exchange(int64_t t, const char *thread, int64_t wait_ms)
{
    msg(t, thread, PP_DIR_OUTBOUND);
    msg(t + wait_ms, thread, PP_DIR_INBOUND);
}

Test(engine, slow_response_needs_three_samples)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    exchange(T0, "a", 100 * HOUR_MS);
    exchange(T0 + 5 * DAY_MS, "b", 100 * HOUR_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0);
    exchange(T0 + 10 * DAY_MS, "c", 100 * HOUR_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    cr_assert_float_eq(last(PP_R_SLOW_RESPONSE)->value, 100.0, 0.01);
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->severity, PP_SEV_WARNING);
}

Test(engine, slow_response_trips_just_above_72h_not_at_it)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    for (int i = 0; i < 3; i++)
        exchange(T0 + i * 4 * DAY_MS, i == 0 ? "a" : i == 1 ? "b" : "c", 72 * HOUR_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0, "exactly 72 h is not over 72 h");
    /* four replies just over 72 h: the median of seven moves just above the threshold */
    exchange(T0 + 13 * DAY_MS, "d", 72 * HOUR_MS + 2000);
    exchange(T0 + 17 * DAY_MS, "e", 72 * HOUR_MS + 2000);
    exchange(T0 + 21 * DAY_MS, "f", 72 * HOUR_MS + 2000);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0, "p50 of 6 is still 72 h");
    exchange(T0 + 25 * DAY_MS, "g", 72 * HOUR_MS + 2000);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
}

Test(engine, slow_response_clears_only_below_hysteresis)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    exchange(T0, "a", 100 * HOUR_MS);
    exchange(T0 + 5 * DAY_MS, "b", 100 * HOUR_MS);
    exchange(T0 + 10 * DAY_MS, "c", 100 * HOUR_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    /* p50 falls to 70 h: under 72 but above 72*0.8 = 57.6 -> still firing */
    exchange(T0 + 15 * DAY_MS, "d", 70 * HOUR_MS);
    exchange(T0 + 19 * DAY_MS, "e", 70 * HOUR_MS);
    exchange(T0 + 23 * DAY_MS, "f", 70 * HOUR_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_RESOLVED), 0, "flapped inside the hysteresis band");
    for (int i = 0; i < 6; i++) {
        char th[8];
        snprintf(th, sizeof th, "g%d", i);
        exchange(T0 + (27 + i) * DAY_MS, th, 10 * HOUR_MS);
    }
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_RESOLVED), 1);
}

Test(engine, slow_response_critical_above_seven_days)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    exchange(T0, "a", 8 * DAY_MS);
    exchange(T0 + 9 * DAY_MS, "b", 8 * DAY_MS);
    exchange(T0 + 18 * DAY_MS, "c", 8 * DAY_MS);
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->severity, PP_SEV_CRITICAL);
}

/* ---- going_dark: 21 d without inbound ---- */

Test(engine, going_dark_fires_at_21_days_without_inbound)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_INBOUND);
    cr_assert_eq(st.next_deadline_ms, T0 + 21 * DAY_MS);
    apply(ev_deal("acme", eid(), T0 + 20 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 100000));
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 0, "a deal is not inbound engagement, but 20 d < 21 d");
    tick(T0 + 21 * DAY_MS);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_GOING_DARK)->started_at_ms, T0 + 21 * DAY_MS);
    cr_assert_eq(last(PP_R_GOING_DARK)->severity, PP_SEV_WARNING);
    msg(T0 + 30 * DAY_MS, "t2", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_RESOLVED), 1);
}

Test(engine, going_dark_is_critical_when_inactive_60_days)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_INBOUND);
    tick(T0 + 61 * DAY_MS);
    cr_assert_eq(last(PP_R_GOING_DARK)->severity, PP_SEV_CRITICAL);
}

/* ---- overpromise ---- */

static void commitment(int64_t made, const char *id, int64_t due, int outcome, int64_t at)
{
    apply(ev_commit("acme", eid(), made, id, PP_DIR_INBOUND, PP_KIND_COMMITMENT_MADE, due));
    if (outcome)
        apply(ev_commit("acme", eid(), at, id, PP_DIR_INBOUND, outcome, due));
}

Test(engine, overpromise_trips_at_two_misses_not_one)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    commitment(T0, "c1", T0 + 5 * DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + 6 * DAY_MS);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 0);
    commitment(T0 + DAY_MS, "c2", T0 + 7 * DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + 8 * DAY_MS);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 1);
}

Test(engine, a_due_date_passing_counts_as_missed_after_grace)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    commitment(T0, "c1", T0 + 5 * DAY_MS, 0, 0);
    commitment(T0, "c2", T0 + 5 * DAY_MS, 0, 0);
    tick(T0 + 6 * DAY_MS - 2000); /* due + 24 h grace not yet over */
    cr_assert_eq(st.commits_missed[0], 0);
    tick(T0 + 6 * DAY_MS + 2000);
    cr_assert_eq(st.commits_missed[0], 2);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 1);
}

Test(engine, overpromise_by_ratio_needs_four_due)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].overpromise_missed = 100; /* isolate the ratio path */
    commitment(T0, "c1", T0 + DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + DAY_MS);
    commitment(T0, "c2", T0 + DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + DAY_MS);
    commitment(T0, "c3", T0 + DAY_MS, PP_KIND_COMMITMENT_DELIVERED, T0 + DAY_MS);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 0, "3 due is not enough");
    commitment(T0, "c4", T0 + DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + DAY_MS);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 1, "1/4 delivered < 50 %%");
}

Test(engine, overpromise_clears_when_misses_leave_the_90_day_window)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    commitment(T0, "c1", T0 + DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + DAY_MS);
    commitment(T0, "c2", T0 + DAY_MS, PP_KIND_COMMITMENT_MISSED, T0 + DAY_MS);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_FIRING), 1);
    msg(T0 + 50 * DAY_MS, "t", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_RESOLVED), 0);
    advance(T0 + 92 * DAY_MS); /* daily re-evaluation while it is open */
    cr_assert_eq(count(PP_R_OVERPROMISE, PP_ALERT_RESOLVED), 1);
}

/* ---- one_sided ---- */

static void contribution(int64_t t, int dir)
{
    apply(ev_eng("acme", eid(), t, NULL, dir, PP_KIND_CO_MARKETING, false));
}

Test(engine, one_sided_at_three_to_one_with_six_contributions)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    contribution(T0, PP_DIR_INBOUND);
    for (int i = 0; i < 4; i++)
        contribution(T0 + (i + 1) * HOUR_MS, PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 0, "5 contributions: not enough data");
    contribution(T0 + 6 * HOUR_MS, PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 1, "5 ours vs 1 theirs over 6");
}

Test(engine, one_sided_just_below_ratio_does_not_trip)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    contribution(T0, PP_DIR_INBOUND);
    contribution(T0, PP_DIR_INBOUND);
    for (int i = 0; i < 5; i++)
        contribution(T0 + HOUR_MS, PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 0, "5 < 3 x 2");
    contribution(T0 + 2 * HOUR_MS, PP_DIR_OUTBOUND);
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 1, "6 >= 3 x 2");
}

Test(engine, inbound_requests_count_as_our_contribution)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    for (int i = 0; i < 6; i++)
        apply(ev_eng("acme", eid(), T0 + i * HOUR_MS, NULL, PP_DIR_INBOUND, PP_KIND_REQUEST, false));
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 1, "free work asked of us (seed 000 6.5)");
}

/* ---- no_pipeline_90d ---- */

Test(engine, no_pipeline_fires_90_days_after_signing)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0 + 80 * DAY_MS, "t", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0);
    advance(T0 + 90 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_NO_PIPELINE_90D)->started_at_ms, T0 + 90 * DAY_MS);
    apply(ev_deal("acme", eid(), T0 + 95 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_INFLUENCED, 1000));
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_RESOLVED), 1);
}

Test(engine, a_registered_deal_is_not_pipeline_progress)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    apply(ev_deal("acme", eid(), T0 + DAY_MS, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 1000));
    advance(T0 + 91 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1);
}

Test(engine, technology_partners_are_exempt_by_default)
{
    signed_at(T0, PP_PTYPE_TECHNOLOGY);
    advance(T0 + 200 * DAY_MS);
    tick(T0 + 200 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0);
}

Test(engine, co_sell_partners_are_expected_in_60_days)
{
    signed_at(T0, PP_PTYPE_CO_SELL);
    tick(T0 + 60 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1);
}

/* ---- low_acv_channel ---- */

Test(engine, low_acv_for_resellers_only)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    for (int i = 0; i < 3; i++) {
        char d[8];
        snprintf(d, sizeof d, "d%d", i);
        apply(ev_deal("acme", eid(), T0 + i * DAY_MS, d, PP_STAGE_WON, PP_ATTR_SOURCED, 1500000)); /* 15k */
    }
    cr_assert_eq(count(PP_R_LOW_ACV_CHANNEL, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_LOW_ACV_CHANNEL)->severity, PP_SEV_INFO);
}

Test(engine, low_acv_not_for_co_sell)
{
    signed_at(T0, PP_PTYPE_CO_SELL);
    for (int i = 0; i < 3; i++) {
        char d[8];
        snprintf(d, sizeof d, "d%d", i);
        apply(ev_deal("acme", eid(), T0 + i * DAY_MS, d, PP_STAGE_WON, PP_ATTR_SOURCED, 1500000));
    }
    cr_assert_eq(count(PP_R_LOW_ACV_CHANNEL, PP_ALERT_FIRING), 0);
}

/* ---- windows ---- */

Test(engine, late_event_lands_in_its_own_day)
{
    msg(T0 + 40 * DAY_MS, "t", PP_DIR_INBOUND);
    contribution(T0 + 10 * DAY_MS, PP_DIR_OUTBOUND); /* 30 days late */
    pp_window_sum_t w;
    pp_partner_window(&st, T0 + 40 * DAY_MS, 30, &w);
    cr_assert_eq(w.ours, 0, "day 10 is outside the 30-day window ending day 40");
    pp_partner_window(&st, T0 + 40 * DAY_MS, 90, &w);
    cr_assert_eq(w.ours, 1, "...but inside the 90-day one");
}

Test(engine, events_older_than_the_longest_window_count_in_lifetime_only)
{
    msg(T0 + 200 * DAY_MS, "t", PP_DIR_INBOUND);
    contribution(T0, PP_DIR_OUTBOUND);
    pp_window_sum_t w;
    pp_partner_window(&st, T0 + 200 * DAY_MS, 90, &w);
    cr_assert_eq(w.ours, 0);
    cr_assert_eq(st.engagements_outbound, 1);
}

Test(engine, window_slides_with_time)
{
    contribution(T0, PP_DIR_OUTBOUND);
    pp_window_sum_t w;
    pp_partner_window(&st, T0 + 29 * DAY_MS, 30, &w);
    cr_assert_eq(w.ours, 1);
    pp_partner_window(&st, T0 + 30 * DAY_MS, 30, &w);
    cr_assert_eq(w.ours, 0);
}

/* ---- score ---- */

Test(engine, no_data_means_neutral_health_and_zero_confidence)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    cr_assert_float_eq(st.health, 50.0, 1e-9);
    cr_assert_float_eq(st.confidence, 0.0, 1e-9);
    cr_assert_eq(st.rag, PP_RAG_NONE);
}

Test(engine, missing_measures_drop_out_and_weights_renormalise)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    /* only response time has data: health = its band score, confidence = its weight share */
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    exchange(T0, "a", 24 * HOUR_MS);
    exchange(T0 + DAY_MS, "b", 24 * HOUR_MS);
    exchange(T0 + 2 * DAY_MS, "c", 24 * HOUR_MS);
    cr_assert_float_eq(st.measure_score[PP_M_RESPONSE], 85.0, 1e-6);
    /* recency has data too (inbound seen): 0 days -> 100 */
    cr_assert(st.measure_score[PP_M_RECENCY] >= 0);
    double w_resp = 25.0 / 2, w_rec = 20.0 / 2;
    double expect = (w_resp * 85.0 + w_rec * st.measure_score[PP_M_RECENCY]) / (w_resp + w_rec);
    cr_assert_float_eq(st.health, expect, 1e-6);
    cr_assert_float_eq(st.confidence, (w_resp + w_rec) / 100.0, 1e-6);
}

Test(engine, rag_has_hysteresis_at_the_red_boundary)
{
    /* only recency has data; its band makes health 41 -> 39 -> 41.5 -> 43.5 */
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, "band_recency", "0:41,1:39,2:41.5,3:43.5", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    msg(T0, "t0", PP_DIR_INBOUND);
    cr_assert_eq(st.rag, PP_RAG_AMBER, "41");
    tick(T0 + DAY_MS);
    cr_assert_eq(st.rag, PP_RAG_RED, "39 < 40");
    tick(T0 + 2 * DAY_MS);
    cr_assert_eq(st.rag, PP_RAG_RED, "41.5: back above 40 but inside the 3-point hysteresis");
    tick(T0 + 3 * DAY_MS);
    cr_assert_eq(st.rag, PP_RAG_AMBER, "43.5 >= 40 + 3");
}

Test(engine, explanation_names_the_event_behind_the_worst_factor)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    exchange(T0, "a", 200 * HOUR_MS);
    exchange(T0 + 10 * DAY_MS, "b", 200 * HOUR_MS);
    exchange(T0 + 20 * DAY_MS, "c", 200 * HOUR_MS);
    char why[512];
    pp_engine_explain(&ps, &st, why, sizeof why);
    cr_assert(strstr(why, "response") != NULL, "%s", why);
    cr_assert(strstr(why, st.evidence[PP_M_RESPONSE]) != NULL, "%s", why);
    cr_assert_str_eq(st.evidence[PP_M_RESPONSE], "e7", "the last partner reply moved it");
}

/* ---- inhibition and snooze ---- */

Test(engine, children_are_inhibited_while_health_red_is_open)
{
    /* a policy under which any partner with data is red */
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, "green_min", "100", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_set(&ps, "red_below", "100", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_set(&ps, "min_confidence", "0", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_set(&ps, "band_recency", "0:10,100:10", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t0", PP_DIR_INBOUND); /* recency: some data -> red */
    cr_assert_eq(count(PP_R_HEALTH_RED, PP_ALERT_FIRING), 1);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    msg(T0 + HOUR_MS, "t1", PP_DIR_OUTBOUND);
    msg(T0 + 2 * HOUR_MS, "t1", PP_DIR_OUTBOUND);
    const pp_alert_t *a = last(PP_R_UNANSWERED_FOLLOWUPS);
    cr_assert_not_null(a);
    cr_assert_not(a->publish, "recorded, not published");
}

Test(engine, snooze_until_time_suppresses_then_publishes_if_still_firing)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    pp_event_t sz = ev_lifecycle("acme", eid(), T0, PP_LC_SNOOZE, 0, NULL);
    sz.u.lc.snooze_rule = PP_R_REPLY_OVERDUE;
    sz.u.lc.snooze_until_ms = T0 + 10 * DAY_MS;
    apply(sz);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    tick(T0 + 6 * DAY_MS);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_not(last(PP_R_REPLY_OVERDUE)->publish);
    advance(T0 + 10 * DAY_MS);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 2, "published once the snooze ends");
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
    cr_assert_str_eq(seen[n_seen - 1].alert_id, seen[n_seen - 1].alert_id);
}

Test(engine, snooze_until_clear_covers_one_episode)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    tick(T0 + 6 * DAY_MS);
    pp_event_t sz = ev_lifecycle("acme", eid(), T0 + 6 * DAY_MS, PP_LC_SNOOZE, 0, NULL);
    sz.u.lc.snooze_rule = PP_R_REPLY_OVERDUE;
    sz.u.lc.snooze_until_ms = 0;
    apply(sz);
    msg(T0 + 7 * DAY_MS, "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    /* its FIRING went out before the snooze: channels get the RESOLVED that closes it */
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
    msg(T0 + 8 * DAY_MS, "t2", PP_DIR_OUTBOUND);
    tick(T0 + 14 * DAY_MS);
    const pp_alert_t *a = last(PP_R_REPLY_OVERDUE);
    cr_assert_eq(a->status, PP_ALERT_FIRING, "health_red=%d flags", st.rules[PP_R_HEALTH_RED].started_at_ms != 0);
    cr_assert(a->publish, "the next episode publishes again (health_red open: %d)",
              st.rules[PP_R_HEALTH_RED].started_at_ms != 0);
}

/* ---- overrides ---- */

Test(engine, tier_override_beats_type_override_beats_global)
{
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, "reply_overdue_days", "5", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_override_type(&ps, "RESELLER", "reply_overdue_days", "3", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_override_tier(&ps, "gold", "reply_overdue_days", "2", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(pp_policyset_for(&ps, PP_PTYPE_REFERRAL, "silver")->reply_overdue_days, 5, 1e-9);
    cr_assert_float_eq(pp_policyset_for(&ps, PP_PTYPE_RESELLER, "silver")->reply_overdue_days, 3, 1e-9);
    cr_assert_float_eq(pp_policyset_for(&ps, PP_PTYPE_RESELLER, "gold")->reply_overdue_days, 2, 1e-9);
    signed_at(T0, PP_PTYPE_RESELLER); /* tier gold */
    msg(T0, "t1", PP_DIR_OUTBOUND);
    tick(T0 + 2 * DAY_MS);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_REPLY_OVERDUE)->started_at_ms, T0 + 2 * DAY_MS);
}

Test(engine, bad_keys_and_values_are_refused_with_a_reason)
{
    char err[256];
    cr_assert_neq(pp_policyset_set(&ps, "no_such_key", "1", err, sizeof err), 0);
    cr_assert(strstr(err, "no_such_key") != NULL);
    cr_assert_neq(pp_policyset_set(&ps, "green_min", "150", err, sizeof err), 0);
    cr_assert_neq(pp_policyset_set(&ps, "band_response", "72:50,24:100", err, sizeof err), 0, "x must ascend");
    cr_assert_neq(pp_policyset_override_type(&ps, "PARTNERISH", "green_min", "50", err, sizeof err), 0);
}

Test(engine, alert_ids_are_deterministic_per_episode)
{
    char a[PP_ALERT_ID_LEN + 1], b[PP_ALERT_ID_LEN + 1], c[PP_ALERT_ID_LEN + 1];
    pp_alert_id("acme", PP_R_GOING_DARK, T0, 1, a);
    pp_alert_id("acme", PP_R_GOING_DARK, T0, 1, b);
    pp_alert_id("acme", PP_R_GOING_DARK, T0 + 1, 1, c);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
    pp_alert_id("acme", PP_R_GOING_DARK, T0, 2, c);
    cr_assert_str_neq(a, c, "a second episode starting at the same instant gets its own id");
    cr_assert_eq(strlen(a), PP_ALERT_ID_LEN);
}

Test(engine, alert_packs_as_protobuf)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    msg(T0, "t1", PP_DIR_OUTBOUND);
    tick(T0 + 6 * DAY_MS);
    uint8_t buf[2048];
    cr_assert_gt(pp_alert_pack(last(PP_R_REPLY_OVERDUE), ps.version, buf, sizeof buf), 0);
    cr_assert_eq(pp_alert_pack(last(PP_R_REPLY_OVERDUE), ps.version, buf, 10), 0, "too small: 0, no overflow");
}

/* The running long-window sum equals a full recount after any mix of
 * in-order, late and too-old events, commitments expiring and ticks. */
Test(engine, running_window_sum_equals_a_full_recount)
{
    uint64_t x = 88172645463325252ULL;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    int64_t t = T0;
    signed_at(T0, PP_PTYPE_RESELLER);
    for (int i = 0; i < 4000; i++) {
        t += (int64_t)(RND() % (3 * DAY_MS / 2));
        int64_t at = t - ((RND() % 10) == 0 ? (int64_t)(RND() % (120 * DAY_MS)) : 0); /* some late */
        char th[16], cid[16];
        snprintf(th, sizeof th, "t%d", (int)(RND() % 5));
        snprintf(cid, sizeof cid, "c%d", i);
        switch (RND() % 6) {
        case 0: msg(at, th, (RND() & 1) ? PP_DIR_INBOUND : PP_DIR_OUTBOUND); break;
        case 1: contribution(at, (RND() & 1) ? PP_DIR_INBOUND : PP_DIR_OUTBOUND); break;
        case 2: apply(ev_referral("acme", eid(), at, PP_REF_TO_US, PP_REF_SENT)); break;
        case 3: commitment(at, cid, at + 3 * DAY_MS, (RND() & 1) ? PP_KIND_COMMITMENT_DELIVERED : 0, at + DAY_MS); break;
        case 4: apply(ev_deal("acme", eid(), at, cid, (RND() & 1) ? PP_STAGE_WON : PP_STAGE_LOST, PP_ATTR_SOURCED, 500000)); break;
        default: tick(t); break;
        }
        if (i % 50 == 0) {
            pp_window_sum_t inc, full, unused;
            pp_partner_long_window(&st, st.clock_ms, 90, &inc);
            pp_partner_windows(&st, st.clock_ms, 90, 30, &full, &unused);
            cr_assert_eq(memcmp(&inc, &full, sizeof inc), 0, "step %d: in %u/%u ours %u/%u missed %u/%u won %u/%u", i,
                         inc.in, full.in, inc.ours, full.ours, inc.missed, full.missed, inc.won, full.won);
        }
    }
}

static const char *field(const pp_field_t *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return f[i].value;
    return NULL;
}

Test(engine, public_fields_are_formatted_like_printf)
{
    signed_at(T0, PP_PTYPE_RESELLER);
    apply(ev_deal("acme", eid(), T0, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 123456789));
    static pp_field_t f[PP_FIELDS_MAX];
    size_t n = pp_engine_fields(&ps, &st, f, PP_FIELDS_MAX);
    cr_assert_lt(n, PP_FIELDS_MAX, "the field list fits");
    cr_assert_str_eq(field(f, n, "events_applied"), "2");
    cr_assert_str_eq(field(f, n, "pipeline_sourced_minor"), "123456789");
    char want[64];
    snprintf(want, sizeof want, "%.1f", st.health);
    cr_assert_str_eq(field(f, n, "health"), want);
    snprintf(want, sizeof want, "%.2f", (double)st.confidence);
    cr_assert_str_eq(field(f, n, "confidence"), want);
    cr_assert_str_eq(field(f, n, "win_rate"), "", "no closed deal: not available");
    for (size_t i = 0; i < n; i++)
        cr_assert_leq(strlen(f[i].value), 64, "%s is %zu bytes: the hash would leave listpack encoding", f[i].name,
                      strlen(f[i].value));
}
