/*
 * Partner types, reciprocity and currencies (issue 11; DESIGN §3 "Money",
 * §4-§6): a TECHNOLOGY partner is not judged on revenue or pipeline before
 * its horizon, the 90-day milestone of co-sell and channel partners is met
 * only by a qualified opportunity open or won, overrides layer key by key,
 * our REQUEST is our ask, a converted referral weighs more than a sent one,
 * and amounts in any currency are converted into the reporting one.
 *
 * Everything goes through the public API with hand-set time (T0 =
 * 2026-01-01, see helpers.h).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"
#include "pp_upgrade.h"

static pp_policyset_t ps;
static pp_partner_t st;
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static int64_t offset;
static int seq;
static seen_log_t seen; /* every transition seen in this test, in order */

static void setup(void)
{
    pp_policyset_default(&ps);
    pp_partner_init(&st, "acme");
    offset = 0;
    seq = 0;
    seen.n = 0;
}

TestSuite(types, .init = setup);

static void record(int n)
{
    cr_assert_geq(n, 0);
    cr_assert_leq(seen.n + n, SEEN_MAX, "more transitions than this test expects");
    seen_add(&seen, out, n);
}

/* Admit (as the daemon does) and apply. */
static void apply(pp_event_t ev)
{
    char why[256];
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_OK, "%s", why);
    record(pp_engine_apply(&ps, &st, &ev, 0, offset++, T0, out));
}

/* The partner's own timers up to `until`, as the daemon's timer wheel runs them. */
static void run_timers(int64_t until)
{
    while (st.next_deadline_ms != 0 && st.next_deadline_ms <= until) {
        int64_t at = st.next_deadline_ms;
        record(pp_engine_tick(&ps, &st, at, T0, out));
        cr_assert(st.next_deadline_ms == 0 || st.next_deadline_ms > at, "a timer that does not move");
    }
}

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++seq);
    return buf;
}

static int count(pp_rule_t r, int status)
{
    return seen_count(&seen, r, status);
}

static const pp_alert_t *last(pp_rule_t r, int status)
{
    return seen_last(&seen, r, status);
}

static void set(const char *key, const char *value)
{
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, key, value, err, sizeof err), 0, "%s", err);
}

static void resolve(void)
{
    char err[256];
    cr_assert_eq(pp_money_finish(&ps.money, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
}

static void money(const char *key, const char *value)
{
    char err[256];
    cr_assert_eq(pp_money_set(&ps.money, key, value, err, sizeof err), 0, "%s", err);
}

static void sign(int ptype, int64_t at)
{
    apply(ev_lifecycle("acme", eid(), at, PP_LC_SIGNED, ptype, NULL));
}

/* An engaged partner: a meeting each way every `every` days in [from, to). */
static void engaged(int64_t from, int64_t to, int every)
{
    for (int64_t t = from; t < to; t += every * DAY_MS) {
        apply(ev_eng("acme", eid(), t + 10 * HOUR_MS, NULL, PP_DIR_INBOUND, PP_KIND_MEETING, false));
        apply(ev_eng("acme", eid(), t + 11 * HOUR_MS, NULL, PP_DIR_OUTBOUND, PP_KIND_MEETING, false));
    }
}

/* ---- partner types: the horizon (seed 004: 6-18 months) ---- */

Test(types, technology_not_judged_on_revenue_or_pipeline_before_day_180)
{
    sign(PP_PTYPE_TECHNOLOGY, T0);
    engaged(T0 + DAY_MS, T0 + 120 * DAY_MS, 3);
    run_timers(T0 + 120 * DAY_MS);
    /* day 120: revenue, win rate, pipeline and deal activity not available */
    cr_assert(isnan(st.measure_value[PP_M_REVENUE]));
    cr_assert(isnan(st.measure_value[PP_M_PIPELINE]));
    cr_assert(isnan(st.measure_value[PP_M_ACTIVITY]));
    cr_assert_gt(st.health, 70, "an engaged technology partner at month 4 is healthy, not %.1f", st.health);
    for (int r = 0; r < PP_R_COUNT; r++)
        cr_assert_eq(count((pp_rule_t)r, PP_ALERT_FIRING), 0, "%s fired at month 4", pp_rule_name((pp_rule_t)r));

    /* day 200, still no deal: now it is judged on them */
    engaged(T0 + 120 * DAY_MS, T0 + 200 * DAY_MS, 3);
    run_timers(T0 + 200 * DAY_MS);
    cr_assert(!isnan(st.measure_value[PP_M_REVENUE]));
    cr_assert_float_eq(st.measure_value[PP_M_PIPELINE], 0, 1e-9);
    cr_assert_float_eq(st.measure_value[PP_M_ACTIVITY], 0, 1e-9);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0, "no milestone for technology partners");
}

Test(types, a_reseller_is_judged_on_pipeline_at_day_120)
{
    sign(PP_PTYPE_RESELLER, T0);
    engaged(T0 + DAY_MS, T0 + 120 * DAY_MS, 3);
    run_timers(T0 + 120 * DAY_MS);
    cr_assert_float_eq(st.measure_value[PP_M_PIPELINE], 0, 1e-9);
}

Test(types, the_horizon_is_configurable_per_type)
{
    char err[256];
    cr_assert_eq(pp_policyset_override_type(&ps, "TECHNOLOGY", "impact_horizon_days", "365", err, sizeof err), 0);
    resolve();
    sign(PP_PTYPE_TECHNOLOGY, T0);
    engaged(T0 + DAY_MS, T0 + 200 * DAY_MS, 3);
    run_timers(T0 + 200 * DAY_MS);
    cr_assert(isnan(st.measure_value[PP_M_PIPELINE]));
}

/* ---- the 90-day milestone (seed 004 l.88) ---- */

static void milestone_at_89_and_91(int ptype)
{
    sign(ptype, T0);
    apply(ev_deal("acme", eid(), T0 + 10 * DAY_MS, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 500000));
    engaged(T0 + DAY_MS, T0 + 89 * DAY_MS, 4);
    run_timers(T0 + 89 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0, "day 89 is before the milestone");
    run_timers(T0 + 91 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1, "day 91: the milestone is missed");
    const pp_alert_t *a = last(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING);
    cr_assert_eq(a->started_at_ms, T0 + 90 * DAY_MS, "it trips at its deadline, not later");
}

Test(types, cosell_milestone_at_day_90)
{
    milestone_at_89_and_91(PP_PTYPE_CO_SELL);
}

Test(types, channel_milestone_at_day_90)
{
    milestone_at_89_and_91(PP_PTYPE_RESELLER);
}

Test(types, a_qualified_deal_that_was_lost_does_not_meet_the_milestone)
{
    sign(PP_PTYPE_RESELLER, T0);
    apply(ev_deal("acme", eid(), T0 + 20 * DAY_MS, "d1", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 500000));
    apply(ev_deal("acme", eid(), T0 + 30 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 500000));
    apply(ev_deal("acme", eid(), T0 + 60 * DAY_MS, "d1", PP_STAGE_LOST, PP_ATTR_SOURCED, 500000));
    cr_assert_eq(st.open_qualified, 0);
    run_timers(T0 + 91 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1);
    cr_assert(strstr(last(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING)->message, "lost") != NULL, "%s",
              last(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING)->message);
    /* a new qualified opportunity meets it */
    apply(ev_deal("acme", eid(), T0 + 95 * DAY_MS, "d2", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 800000));
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_RESOLVED), 1);
}

Test(types, a_qualified_deal_open_or_won_at_the_deadline_meets_it)
{
    sign(PP_PTYPE_CO_SELL, T0);
    apply(ev_deal("acme", eid(), T0 + 30 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 500000));
    run_timers(T0 + 91 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0, "open and qualified at day 90");
    apply(ev_deal("acme", eid(), T0 + 100 * DAY_MS, "d1", PP_STAGE_WON, PP_ATTR_SOURCED, 500000));
    run_timers(T0 + 130 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0, "won");
}

Test(types, open_qualified_survives_a_blob_of_version_7)
{
    sign(PP_PTYPE_CO_SELL, T0);
    apply(ev_deal("acme", eid(), T0 + 30 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 500000));
    apply(ev_deal("acme", eid(), T0 + 31 * DAY_MS, "d2", PP_STAGE_PROPOSAL, PP_ATTR_SOURCED, 500000));
    apply(ev_deal("acme", eid(), T0 + 32 * DAY_MS, "d3", PP_STAGE_REGISTERED, PP_ATTR_SOURCED, 500000));
    cr_assert_eq(st.open_qualified, 2);
    /* a version-7 blob: this state's deal table in version 8's layout
     * (pp_upgrade.h), without the version-8 fields, open_qualified zero */
    static pp_partner_v8_t v7;
    memset(&v7, 0, sizeof v7);
    memcpy(v7.id, st.id, sizeof v7.id);
    memcpy(v7.deals, st.deals, sizeof v7.deals);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        v7.applied[t].partition = v7.applied[t].offset = -1;
    /* the blob format by hand: header, then the struct's first v7_size bytes,
     * zeros squeezed into (0, run) pairs */
    size_t v7_size = pp_upgrade_v8_size(7); /* version 8 filled holes of version 7 */
    static uint8_t buf[16384];
    memcpy(buf, "PPST", 4);
    buf[4] = 7, buf[5] = buf[6] = buf[7] = 0;
    for (int i = 0; i < 4; i++)
        buf[8 + i] = (uint8_t)(v7_size >> (8 * i));
    size_t len = 12;
    const uint8_t *raw = (const uint8_t *)&v7;
    for (size_t i = 0; i < v7_size;) {
        if (raw[i] != 0) {
            buf[len++] = raw[i++];
            continue;
        }
        size_t run = 0;
        while (i + run < v7_size && raw[i + run] == 0 && run < 255)
            run++;
        buf[len++] = 0;
        buf[len++] = (uint8_t)run;
        i += run;
    }
    pp_partner_t back;
    cr_assert_eq(pp_partner_decode(buf, len, &back), 0, "a version-7 blob reads");
    cr_assert_eq(back.open_qualified, 2, "counted from the deal table");
}

/* ---- overrides: global < type < tier < type+tier, key by key ---- */

Test(types, overrides_layer_key_by_key)
{
    char err[256];
    set("weight_financial", "40");
    set("weight_strategic", "20");
    cr_assert_eq(pp_policyset_override_type(&ps, "TECHNOLOGY", "red_below", "30", err, sizeof err), 0);
    /* the most specific layer wins whatever the order it was written in */
    cr_assert_eq(pp_policyset_override_type_tier(&ps, "TECHNOLOGY", "gold", "green_min", "85", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_override_tier(&ps, "gold", "weight_relationship", "30", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_override_tier(&ps, "gold", "green_min", "80", err, sizeof err), 0);
    resolve();

    const pp_policy_t *tg = pp_policyset_for(&ps, PP_PTYPE_TECHNOLOGY, "gold");
    cr_assert_float_eq(tg->weight[PP_C_FINANCIAL], 15, 1e-9, "type beats global");
    cr_assert_float_eq(tg->weight[PP_C_STRATEGIC], 20, 1e-9, "global where no layer says");
    cr_assert_float_eq(tg->weight[PP_C_RELATIONSHIP], 30, 1e-9, "tier beats type");
    cr_assert_float_eq(tg->red_below, 30, 1e-9, "the tier keeps the type's other keys");
    cr_assert_float_eq(tg->green_min, 85, 1e-9, "type+tier beats tier");
    cr_assert_float_eq(tg->impact_horizon_days, 180, 1e-9, "built-in type override kept");

    const pp_policy_t *ts = pp_policyset_for(&ps, PP_PTYPE_TECHNOLOGY, "silver");
    cr_assert_float_eq(ts->weight[PP_C_RELATIONSHIP], 35, 1e-9);
    cr_assert_float_eq(ts->green_min, 70, 1e-9);
    cr_assert_float_eq(ts->red_below, 30, 1e-9);

    const pp_policy_t *rg = pp_policyset_for(&ps, PP_PTYPE_RESELLER, "gold");
    cr_assert_float_eq(rg->weight[PP_C_FINANCIAL], 40, 1e-9);
    cr_assert_float_eq(rg->weight[PP_C_RELATIONSHIP], 30, 1e-9);
    cr_assert_float_eq(rg->green_min, 80, 1e-9, "a type+tier override is for that type only");
    cr_assert_float_eq(rg->red_below, 40, 1e-9);

    const pp_policy_t *none = pp_policyset_for(&ps, PP_PTYPE_NONE, "");
    cr_assert_float_eq(none->weight[PP_C_FINANCIAL], 40, 1e-9);
    cr_assert_float_eq(none->green_min, 70, 1e-9);
}

Test(types, a_type_tier_override_is_checked_and_versioned)
{
    char err[256];
    char before[sizeof ps.version];
    strcpy(before, ps.version);
    cr_assert_neq(pp_policyset_override_type_tier(&ps, "PLATFORM", "gold", "green_min", "85", err, sizeof err), 0);
    cr_assert_neq(pp_policyset_override_type_tier(&ps, "RESELLER", "gold", "green_min", "185", err, sizeof err), 0);
    cr_assert_eq(pp_policyset_override_type_tier(&ps, "RESELLER", "gold", "green_min", "85", err, sizeof err), 0);
    resolve();
    cr_assert_str_neq(ps.version, before);
}

/* ---- reciprocity (seed 000 §6.4-6.5) ---- */

Test(types, our_request_is_our_ask_not_their_contribution)
{
    sign(PP_PTYPE_RESELLER, T0);
    int64_t t = T0 + DAY_MS;
    apply(ev_eng("acme", eid(), t, NULL, PP_DIR_INBOUND, PP_KIND_MEETING, false));
    for (int i = 0; i < 6; i++) {
        apply(ev_eng("acme", eid(), t + (i + 1) * DAY_MS, NULL, PP_DIR_OUTBOUND, PP_KIND_CO_MARKETING, false));
        apply(ev_eng("acme", eid(), t + (i + 1) * DAY_MS + HOUR_MS, NULL, PP_DIR_OUTBOUND, PP_KIND_REQUEST, false));
    }
    /* theirs: the one meeting; ours: six co-marketing pieces; our six asks count for no one */
    cr_assert_float_eq(st.measure_value[PP_M_RECIPROCITY], 1.0 / 7.0, 1e-6);
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 1, "chasing a partner does not balance the relationship");
}

Test(types, their_requests_are_our_contribution)
{
    sign(PP_PTYPE_RESELLER, T0);
    int64_t t = T0 + DAY_MS;
    apply(ev_eng("acme", eid(), t, NULL, PP_DIR_INBOUND, PP_KIND_MEETING, false));
    for (int i = 0; i < 6; i++)
        apply(ev_eng("acme", eid(), t + (i + 1) * DAY_MS, NULL, PP_DIR_INBOUND, PP_KIND_REQUEST, false));
    cr_assert_float_eq(st.measure_value[PP_M_RECIPROCITY], 1.0 / 7.0, 1e-6, "they ask, we give");
    cr_assert_eq(count(PP_R_ONE_SIDED, PP_ALERT_FIRING), 1);
}

Test(types, a_converted_referral_weighs_more_than_a_sent_one)
{
    sign(PP_PTYPE_REFERRAL, T0);
    int64_t t = T0 + DAY_MS;
    for (int i = 0; i < 4; i++)
        apply(ev_eng("acme", eid(), t + i * HOUR_MS, NULL, PP_DIR_OUTBOUND, PP_KIND_MEETING, false));
    apply(ev_referral("acme", "r1", t + DAY_MS, PP_REF_TO_US, PP_REF_SENT));
    cr_assert_float_eq(st.measure_value[PP_M_RECIPROCITY], 1.0 / 5.0, 1e-6);
    apply(ev_referral("acme", "r1c", t + 2 * DAY_MS, PP_REF_TO_US, PP_REF_CONVERTED));
    cr_assert_float_eq(st.measure_value[PP_M_RECIPROCITY], 3.0 / 7.0, 1e-6, "sent 1 + converted 2");
    cr_assert_eq(st.referrals_to_us, 1);
    cr_assert_eq(st.referrals_converted_to_us, 1);
}

Test(types, the_referral_weights_are_configurable)
{
    set("referral_converted_weight", "0");
    resolve();
    sign(PP_PTYPE_REFERRAL, T0);
    int64_t t = T0 + DAY_MS;
    for (int i = 0; i < 4; i++)
        apply(ev_eng("acme", eid(), t + i * HOUR_MS, NULL, PP_DIR_OUTBOUND, PP_KIND_MEETING, false));
    apply(ev_referral("acme", "r1", t + DAY_MS, PP_REF_TO_US, PP_REF_SENT));
    apply(ev_referral("acme", "r1c", t + 2 * DAY_MS, PP_REF_TO_US, PP_REF_CONVERTED));
    cr_assert_float_eq(st.measure_value[PP_M_RECIPROCITY], 1.0 / 5.0, 1e-6);
}

/* ---- currencies (DESIGN §3 "Money") ---- */

static void rates(void)
{
    money("reporting", "USD");
    money("rate.EUR", "1.08");
    money("rate.JPY", "0.0067");
    money("rate.KWD", "3.25");
    resolve();
}

static pp_event_t deal_in(const char *deal, int stage, int64_t amount, const char *cur, int64_t at)
{
    pp_event_t ev = ev_deal("acme", eid(), at, deal, stage, PP_ATTR_SOURCED, amount);
    strcpy(ev.u.deal.currency, cur);
    return ev;
}

static int64_t admitted(pp_event_t ev, pp_reject_t want)
{
    char why[256] = "";
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), want, "%s", why);
    if (want == PP_OK)
        cr_assert_str_eq(ev.u.deal.currency, ps.money.reporting, "the event now names the reporting currency");
    return ev.u.deal.amount_minor;
}

Test(types, amounts_are_converted_by_their_exponent)
{
    rates();
    /* JPY has no minor unit: 2 400 000 yen x 0.0067 = 16 080.00 USD */
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 2400000, "JPY", T0), PP_OK), 1608000);
    /* KWD has three: 5 000.000 dinars x 3.25 = 16 250.00 USD */
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 5000000, "KWD", T0), PP_OK), 1625000);
    /* EUR has two: 15 000.00 x 1.08 = 16 200.00 USD */
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 1500000, "EUR", T0), PP_OK), 1620000);
    /* empty = the reporting currency */
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 1234567, "", T0), PP_OK), 1234567);
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 1234567, "USD", T0), PP_OK), 1234567);
}

Test(types, a_currency_with_no_rate_goes_to_the_dlq)
{
    rates();
    char why[256] = "";
    pp_event_t ev = deal_in("d", PP_STAGE_WON, 100000, "GBP", T0);
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_REJ_CURRENCY);
    cr_assert(strstr(why, "GBP") != NULL, "%s", why);
    cr_assert_str_eq(pp_reject_name(PP_REJ_CURRENCY), "currency");
    cr_assert_eq(ev.u.deal.amount_minor, 100000, "a refused event is left as it was");
    ev = deal_in("d", PP_STAGE_WON, 100000, "ZZZ", T0);
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_REJ_CURRENCY);
}

Test(types, a_rate_change_changes_the_config_version_and_new_amounts)
{
    rates();
    char v1[sizeof ps.version];
    strcpy(v1, ps.version);
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 1500000, "EUR", T0), PP_OK), 1620000);
    money("rate.EUR", "1.10");
    resolve();
    cr_assert_str_neq(ps.version, v1);
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 1500000, "EUR", T0), PP_OK), 1650000);
}

Test(types, revenue_and_the_acv_line_are_in_the_reporting_currency)
{
    rates();
    sign(PP_PTYPE_RESELLER, T0);
    int64_t t = T0 + 10 * DAY_MS;
    apply(deal_in("j", PP_STAGE_WON, 2400000, "JPY", t));
    apply(deal_in("k", PP_STAGE_WON, 5000000, "KWD", t + DAY_MS));
    apply(deal_in("e", PP_STAGE_WON, 1500000, "EUR", t + 2 * DAY_MS));
    cr_assert_eq(pp_partner_revenue_minor(&st), 1608000 + 1625000 + 1620000);
    /* read as published and divided by 100 the average would be 29 667: above the line */
    cr_assert_eq(count(PP_R_LOW_ACV_CHANNEL, PP_ALERT_FIRING), 1, "average 16 177 USD is below 20 000");
    cr_assert_float_eq(last(PP_R_LOW_ACV_CHANNEL, PP_ALERT_FIRING)->value, 16177, 1.0);
    apply(deal_in("open", PP_STAGE_QUALIFIED, 10000000, "EUR", t + 3 * DAY_MS));
    cr_assert_float_eq(st.measure_value[PP_M_PIPELINE], 108000, 1e-6, "open pipeline in USD");
}

Test(types, a_reporting_currency_without_minor_units)
{
    money("reporting", "JPY");
    money("rate.USD", "150");
    resolve();
    sign(PP_PTYPE_RESELLER, T0);
    /* 100.00 USD = 15 000 yen */
    cr_assert_eq(admitted(deal_in("d", PP_STAGE_WON, 10000, "USD", T0), PP_OK), 15000);
    apply(deal_in("open", PP_STAGE_QUALIFIED, 100000, "USD", T0 + DAY_MS));
    cr_assert_float_eq(st.measure_value[PP_M_PIPELINE], 150000, 1e-6, "pipeline in yen, one yen a major unit");
    /* the USD-sized default bands, converted: 150 000 yen = 1 000 USD of pipeline */
    cr_assert_float_eq(st.measure_score[PP_M_PIPELINE], 2, 1e-3);
}

Test(types, the_usd_default_thresholds_follow_the_reporting_currency)
{
    money("reporting", "EUR");
    money("rate.USD", "0.5"); /* a round rate: 1 USD = 0.5 EUR */
    resolve();
    const pp_policy_t *p = pp_policyset_for(&ps, PP_PTYPE_RESELLER, "");
    cr_assert_float_eq(p->low_acv_major, 10000, 1e-6, "20 000 USD in EUR");
    cr_assert_float_eq(p->band[PP_M_REVENUE].x[3], 75000, 1e-6);
    cr_assert_float_eq(p->band[PP_M_PIPELINE].x[1], 12500, 1e-6);
    cr_assert_float_eq(ps.global.low_acv_major, 20000, 1e-6, "the setting stays as written");
    /* a threshold set in the config is taken as written, in EUR */
    set("low_acv_major", "30000");
    resolve();
    cr_assert_float_eq(pp_policyset_for(&ps, PP_PTYPE_RESELLER, "")->low_acv_major, 30000, 1e-6);
}

Test(types, another_reporting_currency_without_a_usd_rate_must_set_its_thresholds)
{
    char err[256];
    money("reporting", "JPY");
    cr_assert_eq(pp_money_finish(&ps.money, err, sizeof err), 0, "%s", err);
    cr_assert_neq(pp_policyset_resolve(&ps, err, sizeof err), 0);
    cr_assert(strstr(err, "rate.USD") != NULL, "%s", err);
    set("band_revenue", "0:0,1000000:40,5000000:75,20000000:100");
    set("band_pipeline", "0:0,3000000:50,15000000:80,40000000:100");
    set("low_acv_major", "3000000");
    resolve();
}

Test(types, the_milestone_is_judged_at_its_deadline_once)
{
    sign(PP_PTYPE_RESELLER, T0);
    apply(ev_deal("acme", eid(), T0 + 30 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 500000));
    run_timers(T0 + 91 * DAY_MS);
    cr_assert_eq(st.milestone, PP_MILESTONE_MET, "open and qualified at day 90");
    /* lost after the deadline: the milestone was met, the partner is judged on pipeline by its score */
    apply(ev_deal("acme", eid(), T0 + 100 * DAY_MS, "d1", PP_STAGE_LOST, PP_ATTR_SOURCED, 500000));
    run_timers(T0 + 130 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 0);
}

Test(types, a_milestone_reached_late_stays_reached)
{
    sign(PP_PTYPE_CO_SELL, T0);
    run_timers(T0 + 91 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1);
    apply(ev_deal("acme", eid(), T0 + 95 * DAY_MS, "d1", PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 500000));
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_RESOLVED), 1);
    apply(ev_deal("acme", eid(), T0 + 110 * DAY_MS, "d1", PP_STAGE_LOST, PP_ATTR_SOURCED, 500000));
    run_timers(T0 + 140 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 1, "no second episode");
    /* a new signing restarts the clock */
    apply(ev_lifecycle("acme", eid(), T0 + 150 * DAY_MS, PP_LC_SIGNED, PP_PTYPE_CO_SELL, NULL));
    run_timers(T0 + 241 * DAY_MS);
    cr_assert_eq(count(PP_R_NO_PIPELINE_90D, PP_ALERT_FIRING), 2);
}
