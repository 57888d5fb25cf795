/*
 * pp_event_decode: every input is either a clean event or a named rejection.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "partnerpulse.pb-c.h"
#include "pp_event.h"

#define NOW 1767225600000LL

static pp_limits_t lim;
static uint8_t buf[4096];

static void setup(void)
{
    pp_limits_default(&lim);
}

TestSuite(event, .init = setup);

static Partnerpulse__V1__DealEvent good_deal(void)
{
    Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
    m.event_id = "e1";
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.deal_id = "d1";
    m.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__QUALIFIED;
    m.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED;
    m.amount_minor = 1234500;
    m.currency = "USD";
    return m;
}

static pp_reject_t decode_deal(Partnerpulse__V1__DealEvent *m, pp_event_t *ev, char *why)
{
    size_t n = partnerpulse__v1__deal_event__pack(m, buf);
    return pp_event_decode(PP_TOPIC_DEALS, buf, n, m->partner_id, strlen(m->partner_id), &lim, NOW, ev, why, 256);
}

Test(event, valid_deal_decodes_all_fields)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    pp_event_t ev;
    char why[256];
    cr_assert_eq(decode_deal(&m, &ev, why), PP_OK, "%s", why);
    cr_assert_str_eq(ev.partner_id, "acme-1");
    cr_assert_str_eq(ev.event_id, "e1");
    cr_assert_eq(ev.topic, PP_TOPIC_DEALS);
    cr_assert_eq(ev.u.deal.stage, PP_STAGE_QUALIFIED);
    cr_assert_eq(ev.u.deal.attribution, PP_ATTR_SOURCED);
    cr_assert_eq(ev.u.deal.amount_minor, 1234500);
    cr_assert_eq(ev.u.deal.deal, pp_hash_str("d1"));
    cr_assert_str_eq(ev.u.deal.currency, "USD");
}

Test(event, garbage_bytes_are_undecodable)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_DEALS, junk, sizeof junk, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_UNDECODABLE);
    cr_assert(strlen(why) > 0);
}

Test(event, empty_payload_lacks_partner_id)
{
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_REFERRALS, NULL, 0, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_PARTNER_ID);
}

Test(event, partner_id_charset_and_length_enforced)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    pp_event_t ev;
    char why[256];
    m.partner_id = "acme 1";
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_PARTNER_ID);
    char longid[130];
    memset(longid, 'a', 129);
    longid[129] = '\0';
    m.partner_id = longid;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_PARTNER_ID);
    longid[128] = '\0'; /* exactly 128 is fine */
    cr_assert_eq(decode_deal(&m, &ev, why), PP_OK, "%s", why);
}

Test(event, key_must_equal_partner_id)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    size_t n = partnerpulse__v1__deal_event__pack(&m, buf);
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_DEALS, buf, n, "other", 5, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_KEY_MISMATCH);
}

Test(event, unspecified_and_unknown_enums_rejected)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    pp_event_t ev;
    char why[256];
    m.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__STAGE_UNSPECIFIED;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_ENUM);
    m.stage = (Partnerpulse__V1__DealEvent__Stage)42;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_ENUM);
}

Test(event, negative_and_absurd_amounts_rejected)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    pp_event_t ev;
    char why[256];
    m.amount_minor = -1;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_AMOUNT);
    m.amount_minor = lim.max_amount_minor + 1;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_AMOUNT);
    m.amount_minor = lim.max_amount_minor;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_OK);
}

Test(event, times_before_2000_or_far_future_rejected)
{
    Partnerpulse__V1__DealEvent m = good_deal();
    pp_event_t ev;
    char why[256];
    m.occurred_at_ms = PP_MIN_TIME_MS - 1;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_TIME);
    m.occurred_at_ms = NOW + lim.max_future_skew_ms + 1;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_TIME);
    m.occurred_at_ms = NOW + lim.max_future_skew_ms;
    cr_assert_eq(decode_deal(&m, &ev, why), PP_OK);
}

Test(event, oversize_message_rejected_before_parsing)
{
    pp_event_t ev;
    char why[256];
    lim.max_message_bytes = 16;
    Partnerpulse__V1__DealEvent m = good_deal();
    cr_assert_eq(decode_deal(&m, &ev, why), PP_REJ_OVERSIZE);
}

Test(event, overlong_strings_rejected)
{
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Partnerpulse__V1__PartnerEvent m = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    m.event_id = "e";
    m.partner_id = "p";
    m.occurred_at_ms = NOW;
    m.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__SIGNED;
    m.tier = big;
    size_t n = partnerpulse__v1__partner_event__pack(&m, buf);
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_LIFECYCLE, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_STRING);
    m.event_id = big;
    m.tier = "gold";
    n = partnerpulse__v1__partner_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_LIFECYCLE, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_EVENT_ID);
}

Test(event, commitment_needs_an_id)
{
    Partnerpulse__V1__EngagementEvent m = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
    m.event_id = "e";
    m.partner_id = "p";
    m.occurred_at_ms = NOW;
    m.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__INBOUND;
    m.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MADE;
    size_t n = partnerpulse__v1__engagement_event__pack(&m, buf);
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_ENGAGEMENTS, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_STRING);
    m.commitment_id = "c1";
    m.due_at_ms = NOW + 86400000;
    n = partnerpulse__v1__engagement_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_ENGAGEMENTS, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_OK,
                 "%s", why);
    cr_assert_eq(ev.u.eng.due_at_ms, NOW + 86400000);
}

Test(event, a_deal_on_the_referral_topic_is_rejected)
{
    /* field numbers of each type are disjoint, so a deal read as a referral
     * shows foreign fields instead of being misread */
    Partnerpulse__V1__DealEvent m = good_deal();
    size_t n = partnerpulse__v1__deal_event__pack(&m, buf);
    pp_event_t ev;
    char why[256];
    cr_assert_eq(pp_event_decode(PP_TOPIC_REFERRALS, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why),
                 PP_REJ_WRONG_TOPIC);
    cr_assert(strstr(why, "wrong topic") != NULL, "%s", why);
}

Test(event, reject_names_are_stable)
{
    cr_assert_str_eq(pp_reject_name(PP_REJ_UNDECODABLE), "undecodable");
    cr_assert_str_eq(pp_reject_name(PP_REJ_PARTNER_ID), "partner_id");
    cr_assert_str_eq(pp_reject_name(PP_REJ_KEY_MISMATCH), "key_mismatch");
    for (int r = 0; r < PP_REJ_COUNT; r++)
        cr_assert_not_null(pp_reject_name((pp_reject_t)r));
}

Test(event, expects_reply_decodes_and_unknown_values_are_rejected)
{
    Partnerpulse__V1__EngagementEvent m = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
    m.event_id = "e1";
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.thread_id = "t1";
    m.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__OUTBOUND;
    m.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MESSAGE;
    m.expects_reply = PARTNERPULSE__V1__ENGAGEMENT_EVENT__REPLY_EXPECTED__NO;
    pp_event_t ev;
    char why[256];
    size_t n = partnerpulse__v1__engagement_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_ENGAGEMENTS, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(ev.u.eng.expects_reply, PP_REPLY_NO);
    m.expects_reply = (Partnerpulse__V1__EngagementEvent__ReplyExpected)7;
    n = partnerpulse__v1__engagement_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_ENGAGEMENTS, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_REJ_ENUM);
    cr_assert(strstr(why, "expects_reply") != NULL, "%s", why);
}

Test(event, profile_timezone_and_calendar_are_names_or_rejected)
{
    Partnerpulse__V1__PartnerEvent m = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    m.event_id = "e1";
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__PROFILE_CHANGED;
    m.timezone = "America/Argentina/Buenos_Aires";
    m.calendar = "jp";
    pp_event_t ev;
    char why[256];
    size_t n = partnerpulse__v1__partner_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_LIFECYCLE, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_OK, "%s", why);
    cr_assert_str_eq(ev.u.lc.timezone, "America/Argentina/Buenos_Aires");
    cr_assert_str_eq(ev.u.lc.calendar, "jp");
    cr_assert_eq(ev.u.lc.kind, PP_LC_PROFILE_CHANGED);
    m.timezone = "Europe/Berlin; DROP";
    n = partnerpulse__v1__partner_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_LIFECYCLE, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_REJ_TIMEZONE);
    m.timezone = "";
    m.calendar = "a calendar name far too long for it";
    n = partnerpulse__v1__partner_event__pack(&m, buf);
    cr_assert_eq(pp_event_decode(PP_TOPIC_LIFECYCLE, buf, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_REJ_CALENDAR);
}

static Partnerpulse__V1__ReferralEvent good_referral(void)
{
    Partnerpulse__V1__ReferralEvent m = PARTNERPULSE__V1__REFERRAL_EVENT__INIT;
    m.event_id = "e1";
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.referral_id = "r1";
    m.direction = PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_US;
    m.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__CONVERTED;
    m.value_minor = 150000;
    m.currency = "JPY";
    return m;
}

static pp_reject_t decode_referral(Partnerpulse__V1__ReferralEvent *m, pp_event_t *ev, char *why)
{
    size_t n = partnerpulse__v1__referral_event__pack(m, buf);
    return pp_event_decode(PP_TOPIC_REFERRALS, buf, n, m->partner_id, strlen(m->partner_id), &lim, NOW, ev, why,
                           256);
}

Test(event, valid_referral_decodes_all_fields)
{
    Partnerpulse__V1__ReferralEvent m = good_referral();
    pp_event_t ev;
    char why[256];
    cr_assert_eq(decode_referral(&m, &ev, why), PP_OK, "%s", why);
    cr_assert_eq(ev.topic, PP_TOPIC_REFERRALS);
    cr_assert_str_eq(ev.partner_id, "acme-1");
    cr_assert_eq(ev.u.referral.referral, pp_hash_str("r1"));
    cr_assert_eq(ev.u.referral.direction, PP_REF_TO_US);
    cr_assert_eq(ev.u.referral.status, PP_REF_CONVERTED);
    cr_assert_eq(ev.u.referral.value_minor, 150000);
    cr_assert_str_eq(ev.u.referral.currency, "JPY");
}

Test(event, currency_is_empty_or_three_bytes_on_deals_and_referrals)
{
    /* whether it is an ISO 4217 code with a rate is pp_money's question */
    Partnerpulse__V1__ReferralEvent r = good_referral();
    Partnerpulse__V1__DealEvent d = good_deal();
    pp_event_t ev;
    char why[256];
    r.currency = NULL;
    cr_assert_eq(decode_referral(&r, &ev, why), PP_OK, "%s", why);
    cr_assert_str_eq(ev.u.referral.currency, "");
    r.currency = "XYZ";
    cr_assert_eq(decode_referral(&r, &ev, why), PP_OK, "%s", why);
    cr_assert_str_eq(ev.u.referral.currency, "XYZ");
    d.currency = "";
    cr_assert_eq(decode_deal(&d, &ev, why), PP_OK, "%s", why);
    cr_assert_str_eq(ev.u.deal.currency, "");
    static const char *const bad[] = {"US", "EURO", "U"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.currency = (char *)bad[i];
        cr_assert_eq(decode_referral(&r, &ev, why), PP_REJ_STRING, "referral %s", bad[i]);
        cr_assert(strstr(why, "currency") != NULL, "%s", why);
        d.currency = (char *)bad[i];
        cr_assert_eq(decode_deal(&d, &ev, why), PP_REJ_STRING, "deal %s", bad[i]);
    }
}

Test(event, currency_reject_name_is_stable)
{
    cr_assert_str_eq(pp_reject_name(PP_REJ_CURRENCY), "currency");
}
