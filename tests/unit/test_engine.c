/*
 * pp_engine: each rule trips exactly at its threshold, not just below,
 * clears with hysteresis, never duplicates while open, and timers fire at
 * their deadline with hand-set time. Windows, score and overrides too.
 *
 * Response times, reply_overdue and going_dark run in business time (the
 * default calendar "business": Mon-Fri 09:00-17:00 UTC, a business day is
 * 8 h): their instants are written bt(business ms since Monday MON0 09:00),
 * see helpers.h. Windows, commitments and no_pipeline_90d stay in calendar days.
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

/* the first transition of rule r with status s seen, NULL if none */
static const pp_alert_t *first(pp_rule_t r, int status)
{
    for (int i = 0; i < n_seen; i++)
        if (seen[i].rule == r && seen[i].status == status)
            return &seen[i];
    return NULL;
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

/* ---- reply_overdue: timer at the question + 5 business days ---- */

Test(engine, reply_overdue_fires_from_timer_exactly_at_deadline)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND); /* Monday 10:00: opens the exchange, asks */
    int64_t deadline = bt(HOUR_MS + 5 * BDAY_MS); /* the next Monday 10:00 */
    cr_assert_eq(deadline, MON0 + 7 * DAY_MS + HOUR_MS);
    cr_assert_leq(st.next_deadline_ms, deadline); /* or the midnight re-judge of slow_response, which comes first */
    tick(deadline - 1000);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0, "tripped a second early");
    tick(deadline + 3 * HOUR_MS); /* the timer runs late: the episode still starts at the deadline */
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_REPLY_OVERDUE)->started_at_ms, deadline);
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
}

Test(engine, reply_overdue_no_duplicate_while_open_and_resolves_on_reply)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    tick(bt(HOUR_MS + 7 * BDAY_MS));
    msg(bt(HOUR_MS + 7 * BDAY_MS), "t1", PP_DIR_OUTBOUND); /* a follow-up, still open */
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    msg(bt(HOUR_MS + 8 * BDAY_MS), "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    const pp_alert_t *r = last(PP_R_REPLY_OVERDUE);
    char id[PP_ALERT_ID_LEN + 1];
    pp_alert_id("acme", PP_R_REPLY_OVERDUE, bt(HOUR_MS + 5 * BDAY_MS), 1, id);
    cr_assert_str_eq(r->alert_id, id, "RESOLVED carries the episode's id");
}

Test(engine, a_reply_before_the_deadline_prevents_the_alert)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    msg(bt(HOUR_MS + 5 * BDAY_MS) - 1000, "t1", PP_DIR_INBOUND);
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0);
}

Test(engine, replay_catches_a_deadline_between_two_events)
{
    /* no timer ran: the next event (the late reply) first evaluates the
     * deadline that passed before it, so history gives what live gave */
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    msg(bt(HOUR_MS + 9 * BDAY_MS), "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    cr_assert_eq(first(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING)->started_at_ms, bt(HOUR_MS + 5 * BDAY_MS),
                 "the episode starts at the deadline, not at the reply");
    cr_assert_eq(first(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING)->event_time_ms, bt(HOUR_MS + 5 * BDAY_MS));
}

Test(engine, automated_reply_does_not_close_the_wait)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    apply(ev_eng("acme", eid(), bt(2 * HOUR_MS), "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, true));
    tick(bt(HOUR_MS + 5 * BDAY_MS));
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

/* ---- slow_response: p50 over 30 d > 3 business days with >= 3 samples ---- */

/* We ask on `thread` at business position `at` (bt), the partner answers
 * `wait` business ms later; returns the position of the answer. Questions
 * still open count in the percentiles at their age so far, so the figures
 * below are worked out at each ask and each answer. */
static int64_t exchange(int64_t at, const char *thread, int64_t wait)
{
    msg(bt(at), thread, PP_DIR_OUTBOUND);
    msg(bt(at + wait), thread, PP_DIR_INBOUND);
    return at + wait;
}

Test(engine, slow_response_needs_three_samples)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 4 * BDAY_MS);
    at = exchange(at, "b", 4 * BDAY_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0, "two responses of 4 business days: not enough");
    exchange(at, "c", 4 * BDAY_MS); /* the third question open counts as the third sample */
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    cr_assert_float_eq(last(PP_R_SLOW_RESPONSE)->value, 4.0, 0.001, "business days");
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->severity, PP_SEV_WARNING);
}

Test(engine, slow_response_trips_just_above_3_business_days_not_at_it)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    const char *th[] = {"a", "b", "c", "d", "e", "f", "g"};
    int64_t at = HOUR_MS;
    for (int i = 0; i < 3; i++)
        at = exchange(at, th[i], 3 * BDAY_MS); /* 24 business hours each, one after the other */
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0, "exactly 3 business days is not over 3");
    /* replies 2 s over 3 business days: the median moves just above the threshold once they are the majority */
    for (int i = 3; i < 6; i++)
        at = exchange(at, th[i], 3 * BDAY_MS + 2000);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0, "p50 of 6 is still 3 business days");
    exchange(at, th[6], 3 * BDAY_MS + 2000);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1, "p50 of 7 is above 3 business days");
    /* the 7th question, still open, counts at its age: the median passes the
     * threshold when that age does (its timer), a second before the answer */
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->event_time_ms, bt(at + 3 * BDAY_MS + 1000),
                 "when the open question passed 3 business days");
}

Test(engine, slow_response_clears_only_below_hysteresis)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 4 * BDAY_MS);
    at = exchange(at, "b", 4 * BDAY_MS);
    at = exchange(at, "c", 4 * BDAY_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    /* p50 falls to 2.5 business days: under 3 but above 3 * 0.8 = 2.4 -> still firing */
    at = exchange(at, "d", 5 * BDAY_MS / 2);
    at = exchange(at, "e", 5 * BDAY_MS / 2);
    at = exchange(at, "f", 5 * BDAY_MS / 2);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_RESOLVED), 0, "flapped inside the hysteresis band");
    for (int i = 0; i < 6; i++) {
        char th[8];
        snprintf(th, sizeof th, "g%d", i);
        at = exchange(at, th, BDAY_MS / 2);
    }
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_RESOLVED), 1);
}

Test(engine, slow_response_critical_above_seven_business_days)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 8 * BDAY_MS);
    at = exchange(at, "b", 8 * BDAY_MS);
    exchange(at, "c", 8 * BDAY_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    cr_assert_float_eq(last(PP_R_SLOW_RESPONSE)->value, 8.0, 0.001);
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->severity, PP_SEV_CRITICAL);
}

Test(engine, slow_response_at_seven_business_days_is_only_a_warning)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 7 * BDAY_MS);
    at = exchange(at, "b", 7 * BDAY_MS);
    exchange(at, "c", 7 * BDAY_MS);
    cr_assert_eq(count(PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_SLOW_RESPONSE)->severity, PP_SEV_WARNING, "7 is not above 7");
}

/* ---- going_dark: 15 business days without inbound activity ---- */

Test(engine, going_dark_fires_at_15_business_days_without_inbound_activity)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND); /* the partner's last activity */
    int64_t deadline = bt(HOUR_MS + 15 * BDAY_MS);
    cr_assert_eq(deadline, MON0 + 21 * DAY_MS + HOUR_MS, "15 business days are three weeks here");
    cr_assert_eq(st.next_deadline_ms, deadline);
    msg(bt(14 * BDAY_MS), "t1", PP_DIR_OUTBOUND); /* our answer is not their activity */
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 0, "14 business days < 15");
    tick(deadline - 1000);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 0, "tripped a second early");
    tick(deadline);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_GOING_DARK)->started_at_ms, deadline);
    cr_assert_eq(last(PP_R_GOING_DARK)->severity, PP_SEV_WARNING);
    msg(MON0 + 30 * DAY_MS, "t2", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_RESOLVED), 1);
}

Test(engine, a_deal_the_partner_sources_is_inbound_activity)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND);
    int64_t deal = HOUR_MS + 10 * BDAY_MS;
    apply(ev_deal("acme", eid(), bt(deal), "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 100000));
    tick(bt(HOUR_MS + 15 * BDAY_MS));
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 0, "silence counts from the deal");
    cr_assert_eq(st.next_deadline_ms, bt(deal + 15 * BDAY_MS));
}

Test(engine, going_dark_is_critical_when_inactive_40_business_days)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND);
    tick(bt(HOUR_MS + 41 * BDAY_MS)); /* the first look: already past 40 business days */
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 1);
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

/* seed 004 l.88: "by ninety days into a co-sell or channel partnership" */
Test(engine, co_sell_partners_are_expected_in_90_days_like_channel_ones)
{
    signed_at(T0, PP_PTYPE_CO_SELL);
    tick(T0 + 60 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0);
    tick(T0 + 90 * DAY_MS);
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
    signed_at(MON0, PP_PTYPE_RESELLER);
    /* only response time has data: health = its band score, confidence = its weight share */
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", BDAY_MS);
    at = exchange(at, "b", BDAY_MS);
    exchange(at, "c", BDAY_MS);
    cr_assert_float_eq(st.measure_value[PP_M_RESPONSE], 1.0, 1e-6, "one business day");
    cr_assert_float_eq(st.measure_score[PP_M_RESPONSE], 85.0, 1e-6);
    /* recency has data too (inbound seen): 0 business days -> 100 */
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
    msg(MON0, "t0", PP_DIR_INBOUND); /* Monday 09:00; then one business day a day */
    cr_assert_eq(st.rag, PP_RAG_AMBER, "41");
    tick(bt(BDAY_MS));
    cr_assert_eq(st.rag, PP_RAG_RED, "39 < 40");
    tick(bt(2 * BDAY_MS));
    cr_assert_eq(st.rag, PP_RAG_RED, "41.5: back above 40 but inside the 3-point hysteresis");
    tick(bt(3 * BDAY_MS));
    cr_assert_eq(st.rag, PP_RAG_AMBER, "43.5 >= 40 + 3");
}

Test(engine, explanation_names_the_event_behind_the_worst_factor)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 8 * BDAY_MS);
    at = exchange(at, "b", 8 * BDAY_MS);
    exchange(at, "c", 8 * BDAY_MS);
    char why[512];
    pp_engine_explain(&ps, &st, why, sizeof why);
    cr_assert(strstr(why, "response") != NULL, "%s", why);
    cr_assert(strstr(why, st.evidence[PP_M_RESPONSE]) != NULL, "%s", why);
    cr_assert_str_eq(st.evidence[PP_M_RESPONSE], "e7", "the last partner reply moved it");
}

Test(engine, alert_sentences_take_their_windows_from_the_policy)
{
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, "short_window_days", "21", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    signed_at(MON0, PP_PTYPE_RESELLER);
    ps.resolved[PP_PTYPE_RESELLER][0].enabled[PP_R_REPLY_OVERDUE] = false;
    int64_t at = exchange(HOUR_MS, "a", 4 * BDAY_MS);
    at = exchange(at, "b", 4 * BDAY_MS);
    exchange(at, "c", 4 * BDAY_MS);
    const pp_alert_t *a = last(PP_R_SLOW_RESPONSE);
    cr_assert_not_null(a);
    cr_assert(strstr(a->message, "over the last 21 days") != NULL, "%s", a->message);
    cr_assert(strstr(a->message, "30 days") == NULL, "%s", a->message);
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
    signed_at(MON0, PP_PTYPE_RESELLER);
    pp_event_t sz = ev_lifecycle("acme", eid(), MON0, PP_LC_SNOOZE, 0, NULL);
    sz.u.lc.snooze_rule = PP_R_REPLY_OVERDUE;
    sz.u.lc.snooze_until_ms = bt(HOUR_MS + 7 * BDAY_MS);
    apply(sz);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    const pp_alert_t *held = first(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING);
    cr_assert_not(held->publish);
    advance(bt(HOUR_MS + 7 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 2, "published once the snooze ends");
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
    cr_assert_str_eq(last(PP_R_REPLY_OVERDUE)->alert_id, held->alert_id, "the same episode");
    cr_assert_eq(last(PP_R_REPLY_OVERDUE)->started_at_ms, held->started_at_ms);
}

Test(engine, snooze_until_clear_covers_one_episode)
{
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    pp_event_t sz = ev_lifecycle("acme", eid(), bt(HOUR_MS + 6 * BDAY_MS), PP_LC_SNOOZE, 0, NULL);
    sz.u.lc.snooze_rule = PP_R_REPLY_OVERDUE;
    sz.u.lc.snooze_until_ms = 0;
    apply(sz);
    msg(bt(HOUR_MS + 7 * BDAY_MS), "t1", PP_DIR_INBOUND);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED), 1);
    /* its FIRING went out before the snooze: channels get the RESOLVED that closes it */
    cr_assert(last(PP_R_REPLY_OVERDUE)->publish);
    msg(bt(HOUR_MS + 8 * BDAY_MS), "t2", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 14 * BDAY_MS));
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
    signed_at(MON0, PP_PTYPE_RESELLER); /* tier gold */
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 2 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(last(PP_R_REPLY_OVERDUE)->started_at_ms, bt(HOUR_MS + 2 * BDAY_MS), "2 business days");
}

Test(engine, bad_keys_and_values_are_refused_with_a_reason)
{
    char err[256];
    cr_assert_neq(pp_policyset_set(&ps, "no_such_key", "1", err, sizeof err), 0);
    cr_assert(strstr(err, "no_such_key") != NULL);
    cr_assert_neq(pp_policyset_set(&ps, "green_min", "150", err, sizeof err), 0);
    cr_assert_neq(pp_policyset_set(&ps, "band_response", "3:50,1:100", err, sizeof err), 0, "x must ascend");
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
    signed_at(MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND);
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    cr_assert_not_null(last(PP_R_REPLY_OVERDUE));
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
    /* one slot more than PP_FIELDS_MAX: a field list longer than the
     * documented maximum shows as n == PP_FIELDS_MAX + 1 (pp_engine_fields
     * returns at most cap) */
    static pp_field_t f[PP_FIELDS_MAX + 1];
    size_t n = pp_engine_fields(&ps, &st, f, PP_FIELDS_MAX + 1);
    cr_assert_leq(n, PP_FIELDS_MAX, "the field list fits PP_FIELDS_MAX");
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
