/*
 * Trust in the signals (issue 10 item 6): conversations that conclude stay
 * quiet, expects_reply says who owes what, waits are counted in the business
 * time of the side that owes (its zone, its holidays, across DST), ignoring
 * questions never improves a partner's figures, silence keeps being judged
 * with no event, a referral partner is not dark, and a dark partner's
 * explanation says so first.
 *
 * Everything goes through the public API with hand-set time. Instants in
 * the default calendar ("business": Mon-Fri 09:00-17:00 UTC, 8 h a business
 * day) are written bt(business ms since Monday MON0 09:00), see helpers.h.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"

static pp_policyset_t ps;
static pp_partner_t st;    /* "acme", the partner under test */
static pp_partner_t other; /* "brisk", a second partner to compare with */
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static int64_t offset;
static int seq;
/* every transition seen in this test, in order */
static pp_alert_t seen[1024];
static int n_seen;
/* zones handed to the policy set (they must outlive it) */
static pp_zone_t zones[2];
static uint32_t zone_hashes[2];

static void setup(void)
{
    pp_policyset_default(&ps);
    pp_partner_init(&st, "acme");
    pp_partner_init(&other, "brisk");
    offset = 0;
    seq = 0;
    n_seen = 0;
}

TestSuite(trust, .init = setup);

/* ---- driving the engine ---- */

static void record(int n)
{
    cr_assert_geq(n, 0);
    for (int i = 0; i < n; i++) {
        cr_assert_lt(n_seen, 1024, "more transitions than this test expects");
        seen[n_seen++] = out[i];
    }
}

static void apply_to(pp_partner_t *p, pp_event_t ev)
{
    record(pp_engine_apply(&ps, p, &ev, 0, offset++, T0, out));
}

static void apply(pp_event_t ev)
{
    apply_to(&st, ev);
}

static void tick_to(pp_partner_t *p, int64_t now)
{
    record(pp_engine_tick(&ps, p, now, T0, out));
}

static void tick(int64_t now)
{
    tick_to(&st, now);
}

/* Run the partner's own timers up to `until`, one tick at each deadline it
 * asks for (what the daemon's timer wheel does): no event in between. */
static int run_timers(pp_partner_t *p, int64_t until)
{
    int ticks = 0;
    while (p->next_deadline_ms != 0 && p->next_deadline_ms <= until) {
        int64_t at = p->next_deadline_ms;
        tick_to(p, at);
        ticks++;
        cr_assert(p->next_deadline_ms == 0 || p->next_deadline_ms > at, "a timer that does not move");
    }
    return ticks;
}

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++seq);
    return buf;
}

/* transitions of rule r with status s seen so far, for partner p */
static int count_of(const pp_partner_t *p, pp_rule_t r, int status)
{
    int n = 0;
    for (int i = 0; i < n_seen; i++)
        n += seen[i].rule == r && seen[i].status == status && strcmp(seen[i].partner_id, p->id) == 0;
    return n;
}

static int count(pp_rule_t r, int status)
{
    return count_of(&st, r, status);
}

/* the k-th (0-based) transition of rule r with status s, NULL if none */
static const pp_alert_t *nth(pp_rule_t r, int status, int k)
{
    for (int i = 0; i < n_seen; i++)
        if (seen[i].rule == r && seen[i].status == status && k-- == 0)
            return &seen[i];
    return NULL;
}

/* a message from/to partner p with expects_reply `expects` */
static void say(pp_partner_t *p, int64_t t, const char *thread, int dir, int expects)
{
    apply_to(p, ev_eng_reply(p->id, eid(), t, thread, dir, PP_KIND_MESSAGE, expects));
}

static void msg(int64_t t, const char *thread, int dir, int expects)
{
    say(&st, t, thread, dir, expects);
}

static void signed_as(pp_partner_t *p, int64_t t, int ptype)
{
    apply_to(p, ev_lifecycle(p->id, eid(), t, PP_LC_SIGNED, ptype, NULL));
}

static void set(const char *key, const char *value)
{
    char err[256];
    cr_assert_eq(pp_policyset_set(&ps, key, value, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
}

/* the public hash field `name` of partner p */
static const char *field_of(const pp_partner_t *p, const char *name)
{
    static pp_field_t f[PP_FIELDS_MAX + 1];
    size_t n = pp_engine_fields(&ps, p, f, PP_FIELDS_MAX + 1);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return f[i].value;
    cr_assert_fail("no field %s", name);
    return NULL;
}

static const char *field(const char *name)
{
    return field_of(&st, name);
}

/* the partner's response times recorded so far (business seconds), oldest first */
static int partner_waits(const pp_partner_t *p, uint32_t *w)
{
    int n = 0;
    for (int i = 0; i < PP_SAMPLES_MAX; i++) {
        const pp_sample_t *s = &p->resp_partner[(p->resp_partner_next + i) % PP_SAMPLES_MAX];
        if (s->at)
            w[n++] = s->wait;
    }
    return n;
}

static int our_waits(const pp_partner_t *p, uint32_t *w)
{
    int n = 0;
    for (int i = 0; i < PP_SAMPLES_MAX; i++) {
        const pp_sample_t *s = &p->resp_us[(p->resp_us_next + i) % PP_SAMPLES_MAX];
        if (s->at)
            w[n++] = s->wait;
    }
    return n;
}

/* The zones partners may name here: New York (2026 rules) and Tokyo. */
static void install_zones(void)
{
    char err[256];
    zone_new_york_2026(&zones[0]);
    zone_tokyo(&zones[1]);
    cr_assert_eq(zones_install(&ps, zones, zone_hashes, 2, err, sizeof err), 0, "%s", err);
}

/* ---- conversations conclude ---- */

Test(trust, a_concluded_conversation_stays_quiet_for_30_days)
{
    /* silence itself is going_dark's business (tested below): here only
     * the conversation could raise anything */
    set("going_dark_enabled", "false");
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_DEFAULT);      /* the partner asks */
    cr_assert_str_eq(field("threads_awaiting_us"), "1");
    msg(bt(2 * HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT); /* we answer: concluded */
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(our_waits(&st, w), 1, "our answer is one response of ours");
    cr_assert_eq(w[0], 3600, "one business hour");
    for (int d = 1; d <= 30; d++) {
        run_timers(&st, bt(2 * HOUR_MS) + d * DAY_MS);
        tick(bt(2 * HOUR_MS) + d * DAY_MS); /* and a look every day, timers or not */
    }
    cr_assert_eq(n_seen, 0, "no alert at all (first: %s)", n_seen ? pp_rule_name(seen[0].rule) : "");
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    cr_assert_str_eq(field("oldest_wait_partner_bh"), "", "nothing awaits the partner");
    cr_assert_str_eq(field("oldest_wait_us_bh"), "", "nothing awaits us");
}

Test(trust, thanks_marked_expects_reply_no_closes_our_exchange_quietly)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);     /* we ask */
    msg(bt(2 * HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_DEFAULT);  /* they answer: concluded */
    msg(bt(3 * HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_NO);      /* "thanks!" */
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    /* ten business days: twice the reply_overdue limit, short of going_dark's 15 */
    for (int d = 1; d <= 14; d++)
        run_timers(&st, bt(3 * HOUR_MS) + d * DAY_MS);
    tick(bt(3 * HOUR_MS + 10 * BDAY_MS));
    cr_assert_eq(n_seen, 0, "no alert at all (first: %s)", n_seen ? pp_rule_name(seen[0].rule) : "");
}

Test(trust, thanks_with_default_expects_reply_opens_a_new_wait)
{
    /* documented behaviour (DESIGN §4): the first message after an exchange
     * concluded opens the next one; say expects_reply NO to close politely */
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    msg(bt(2 * HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_DEFAULT);
    msg(bt(3 * HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT); /* "thanks!" */
    cr_assert_str_eq(field("threads_awaiting_partner"), "1");
    int64_t deadline = bt(3 * HOUR_MS + 5 * BDAY_MS);
    cr_assert_leq(st.next_deadline_ms, deadline, "reply_overdue counts from the thanks");
    run_timers(&st, deadline);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(nth(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING, 0)->started_at_ms, deadline);
}

/* ---- expects_reply ---- */

Test(trust, our_answer_marked_expects_reply_yes_asks_the_partner_in_turn)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_DEFAULT);   /* they ask */
    msg(bt(3 * HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_YES);  /* we answer, and ask back */
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(our_waits(&st, w), 1, "it still answers their question");
    cr_assert_eq(w[0], 2 * 3600);
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    cr_assert_str_eq(field("threads_awaiting_partner"), "1");
    int64_t deadline = bt(3 * HOUR_MS + 5 * BDAY_MS);
    run_timers(&st, deadline);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(nth(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING, 0)->started_at_ms, deadline, "counted from our answer");
}

Test(trust, their_answer_marked_expects_reply_yes_asks_us_in_turn)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT); /* we ask */
    msg(bt(4 * HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_YES);  /* they answer, and ask back */
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(partner_waits(&st, w), 1, "it still answers our question");
    cr_assert_eq(w[0], 3 * 3600);
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    cr_assert_str_eq(field("threads_awaiting_us"), "1");
    msg(bt(6 * HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT); /* our answer concludes it */
    cr_assert_eq(our_waits(&st, w), 1);
    cr_assert_eq(w[0], 2 * 3600);
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
}

Test(trust, our_opening_message_marked_expects_reply_no_opens_nothing)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_NO); /* an announcement */
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    tick(bt(HOUR_MS + 6 * BDAY_MS));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0);
    msg(bt(HOUR_MS + 6 * BDAY_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO); /* their "noted" answers nothing */
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(partner_waits(&st, w), 0, "no question, no response time");
}

Test(trust, their_opening_message_marked_expects_reply_no_opens_nothing)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO); /* their announcement */
    cr_assert_str_eq(field("threads_awaiting_us"), "0");
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    msg(bt(HOUR_MS + 3 * BDAY_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_NO); /* our "noted" */
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(our_waits(&st, w), 0, "no question, no response time of ours");
}

/* ---- an inbound REQUEST always asks ---- */

Test(trust, an_inbound_request_asks_us_even_marked_expects_reply_no)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    apply(ev_eng_reply("acme", eid(), bt(HOUR_MS), "r1", PP_DIR_INBOUND, PP_KIND_REQUEST, PP_REPLY_NO));
    cr_assert_str_eq(field("threads_awaiting_us"), "1", "we owe it");
    msg(bt(HOUR_MS + 2 * BDAY_MS), "r1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(our_waits(&st, w), 1);
    cr_assert_eq(w[0], 2 * 8 * 3600, "two business days of ours");
}

Test(trust, an_inbound_request_that_answers_our_question_still_asks_us)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    apply(ev_eng_reply("acme", eid(), bt(2 * HOUR_MS), "t1", PP_DIR_INBOUND, PP_KIND_REQUEST, PP_REPLY_DEFAULT));
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(partner_waits(&st, w), 1, "it answers our question");
    cr_assert_str_eq(field("threads_awaiting_partner"), "0");
    cr_assert_str_eq(field("threads_awaiting_us"), "1", "and asks work of us");
}

/* ---- business time in the partner's zone ---- */

/* The partner's zone comes from a lifecycle event (`kind`: SIGNED, or
 * PROFILE_CHANGED after signing). We ask at Friday 16:00 local, the partner
 * answers at Monday 10:00 local: one business hour on Friday, one on Monday. */
static void friday_to_monday_in(const char *zone, int kind, int64_t fri_16, int64_t mon_10)
{
    install_zones();
    if (kind != PP_LC_SIGNED)
        signed_as(&st, fri_16 - 8 * DAY_MS, PP_PTYPE_RESELLER);
    apply(ev_profile("acme", eid(), fri_16 - 7 * DAY_MS, kind, PP_PTYPE_RESELLER, zone, ""));
    cr_assert_str_eq(field("timezone"), zone);
    msg(fri_16, "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    msg(mon_10, "t1", PP_DIR_INBOUND, PP_REPLY_DEFAULT);
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(partner_waits(&st, w), 1);
    cr_assert_eq(w[0], 2 * 3600, "%s: %u s recorded, 2 business hours expected", zone, w[0]);
    cr_assert_str_eq(field("partner_response_p50_bh_short"), "2.0");
}

Test(trust, a_friday_to_monday_reply_in_new_york_counts_two_business_hours)
{
    /* 2026-01-09 is a Friday; New York is on EST (-5) then */
    friday_to_monday_in("America/New_York", PP_LC_SIGNED, local_ms(2026, 1, 9, 16, 0, -5),
                        local_ms(2026, 1, 12, 10, 0, -5));
}

Test(trust, a_friday_to_monday_reply_in_tokyo_counts_two_business_hours)
{
    /* Friday 16:00 JST is 07:00Z the same Friday: in UTC hours the wait would be 8 h */
    friday_to_monday_in("Asia/Tokyo", PP_LC_PROFILE_CHANGED, local_ms(2026, 1, 9, 16, 0, 9),
                        local_ms(2026, 1, 12, 10, 0, 9));
}

Test(trust, each_side_waits_in_its_own_calendar)
{
    /* pp_partner_apply with the partner on "business" hours and us on
     * "always": a Friday 16:00 to Monday 10:00 wait (UTC) is 2 business
     * hours for the partner to owe, 66 hours for us */
    pp_calendar_t business, always;
    pp_calendar_business(&business);
    pp_calendar_always(&always);
    const pp_bizclock_t clk[2] = {[PP_SIDE_PARTNER] = {&business, NULL}, [PP_SIDE_US] = {&always, NULL}};
    int64_t fri_16 = utc_ms(2026, 1, 9, 16, 0), mon_10 = utc_ms(2026, 1, 12, 10, 0);
    pp_event_t ev[] = {
        ev_eng_reply("acme", "p1", fri_16, "ours", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, PP_REPLY_DEFAULT),
        ev_eng_reply("acme", "p2", mon_10, "ours", PP_DIR_INBOUND, PP_KIND_MESSAGE, PP_REPLY_DEFAULT),
        ev_eng_reply("acme", "p3", fri_16, "theirs", PP_DIR_INBOUND, PP_KIND_MESSAGE, PP_REPLY_DEFAULT),
        ev_eng_reply("acme", "p4", mon_10, "theirs", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, PP_REPLY_DEFAULT),
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        cr_assert_eq(pp_partner_apply(&st, &ev[i], 0, (int64_t)i, T0, clk), 0);
    uint32_t w[PP_SAMPLES_MAX];
    cr_assert_eq(partner_waits(&st, w), 1);
    cr_assert_eq(w[0], 2 * 3600, "the partner owed: its business hours");
    cr_assert_eq(our_waits(&st, w), 1);
    cr_assert_eq(w[0], 66 * 3600, "we owed: our calendar counts every hour");
}

Test(trust, a_holiday_does_not_count_toward_reply_overdue)
{
    char err[256];
    /* Monday 2026-01-19 (Martin Luther King Jr. Day) closed in the partner's calendar */
    cr_assert_eq(pp_policyset_calendar(&ps, "us", "holidays", "2026-01-19", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    apply(ev_profile("acme", eid(), MON0, PP_LC_SIGNED, PP_PTYPE_RESELLER, "", "us"));
    cr_assert_str_eq(field("calendar"), "us");
    int64_t asked = utc_ms(2026, 1, 12, 10, 0); /* Monday 10:00 */
    msg(asked, "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    int64_t deadline = utc_ms(2026, 1, 20, 10, 0); /* Tuesday: the holiday moves it a day */
    cr_assert_leq(st.next_deadline_ms, deadline);
    tick(utc_ms(2026, 1, 19, 10, 0));
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0, "five calendar workdays, one of them a holiday");
    tick(deadline - 1000);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0);
    tick(deadline);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(nth(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING, 0)->started_at_ms, deadline);
}

Test(trust, a_reply_overdue_deadline_across_the_new_york_dst_change_lands_on_local_time)
{
    /* asked Thursday 2026-03-05 10:00 EST (15:00Z); clocks go forward on
     * Sunday 03-08; five business days later is Thursday 03-12 10:00 EDT,
     * 14:00Z (a fixed -5 h would say 15:00Z) */
    install_zones();
    apply(ev_profile("acme", eid(), utc_ms(2026, 3, 2, 14, 0), PP_LC_SIGNED, PP_PTYPE_RESELLER, "America/New_York",
                     ""));
    int64_t asked = local_ms(2026, 3, 5, 10, 0, -5);
    cr_assert_eq(asked, utc_ms(2026, 3, 5, 15, 0));
    msg(asked, "t1", PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    int64_t deadline = local_ms(2026, 3, 12, 10, 0, -4);
    cr_assert_eq(deadline, utc_ms(2026, 3, 12, 14, 0));
    cr_assert_leq(st.next_deadline_ms, deadline);
    tick(deadline - 1000);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 0);
    tick(deadline);
    cr_assert_eq(count(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), 1);
    cr_assert_eq(nth(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING, 0)->started_at_ms, deadline);
    cr_assert_float_eq(nth(PP_R_REPLY_OVERDUE, PP_ALERT_FIRING, 0)->value, 5.0, 1e-9, "business days");
}

/* ---- censored waits ---- */

Test(trust, ignored_questions_make_the_response_measure_worse_than_answering_them)
{
    /* both are asked ten questions on Monday 10:00 and answer within a
     * business hour: acme answers 3 and ignores 7, brisk answers all 10 */
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    signed_as(&other, MON0, PP_PTYPE_RESELLER);
    for (int i = 0; i < 10; i++) {
        char th[8];
        snprintf(th, sizeof th, "q%d", i);
        say(&st, bt(HOUR_MS), th, PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
        say(&other, bt(HOUR_MS), th, PP_DIR_OUTBOUND, PP_REPLY_DEFAULT);
    }
    for (int i = 0; i < 10; i++) {
        char th[8];
        snprintf(th, sizeof th, "q%d", i);
        if (i < 3)
            say(&st, bt(2 * HOUR_MS), th, PP_DIR_INBOUND, PP_REPLY_DEFAULT);
        say(&other, bt(2 * HOUR_MS), th, PP_DIR_INBOUND, PP_REPLY_DEFAULT);
    }
    /* four business days on (before reply_overdue's five): both looked at */
    int64_t now = bt(HOUR_MS + 4 * BDAY_MS);
    tick_to(&st, now);
    tick_to(&other, now);
    cr_assert_float_eq(other.measure_value[PP_M_RESPONSE], 0.125, 1e-6, "brisk: p50 one business hour");
    cr_assert_float_eq(st.measure_value[PP_M_RESPONSE], 4.0, 1e-6,
                       "acme: p50 of 3 x 1 h and 7 waits of 4 business days so far");
    cr_assert_lt(st.measure_score[PP_M_RESPONSE], other.measure_score[PP_M_RESPONSE]);
    cr_assert_lt(st.health, other.health);
    cr_assert_eq(count_of(&st, PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 1, "ignoring is slow");
    cr_assert_eq(count_of(&other, PP_R_SLOW_RESPONSE, PP_ALERT_FIRING), 0);
    cr_assert_str_eq(field_of(&st, "partner_responses_short"), "10", "3 answers + 7 open waits");
}

/* ---- going_dark turns CRITICAL with no event ---- */

Test(trust, going_dark_turns_critical_at_40_business_days_from_timers_alone)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO); /* their last word */
    int64_t warn_at = bt(HOUR_MS + 15 * BDAY_MS), crit_at = bt(HOUR_MS + 40 * BDAY_MS);
    run_timers(&st, warn_at);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 1);
    const pp_alert_t warn = *nth(PP_R_GOING_DARK, PP_ALERT_FIRING, 0);
    cr_assert_eq(warn.severity, PP_SEV_WARNING);
    cr_assert_eq(warn.started_at_ms, warn_at);
    cr_assert_leq(st.next_deadline_ms, (warn_at / DAY_MS + 1) * DAY_MS, "re-judged at the next day boundary");
    int ticks = run_timers(&st, crit_at + 2 * DAY_MS);
    cr_assert_geq(ticks, 25, "re-judged at least daily: %d ticks over five weeks", ticks);
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 2, "one more FIRING, no event needed");
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_RESOLVED), 0);
    const pp_alert_t *crit = nth(PP_R_GOING_DARK, PP_ALERT_FIRING, 1);
    cr_assert_str_eq(crit->alert_id, warn.alert_id, "the same episode");
    cr_assert_eq(crit->started_at_ms, warn.started_at_ms);
    cr_assert_eq(crit->severity, PP_SEV_CRITICAL);
    cr_assert_eq(crit->event_time_ms, crit_at, "at 40 business days, not at the tick after");
    cr_assert_lt(crit->health, warn.health, "health kept moving while silent");
}

Test(trust, a_replayed_silence_raises_what_live_timers_raised)
{
    /* acme lives through its timers; brisk's history is replayed: no timer
     * ran, the next event evaluates every deadline before it, in order */
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    signed_as(&other, MON0, PP_PTYPE_RESELLER);
    say(&st, bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO);
    say(&other, bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO);
    int64_t back = bt(HOUR_MS + 45 * BDAY_MS);
    run_timers(&st, back);
    say(&st, back, "t2", PP_DIR_INBOUND, PP_REPLY_NO);
    say(&other, back, "t2", PP_DIR_INBOUND, PP_REPLY_NO);
    const pp_alert_t *live[3], *replay[3];
    int nl = 0, nr = 0;
    for (int i = 0; i < n_seen; i++) {
        if (seen[i].rule != PP_R_GOING_DARK)
            continue;
        if (strcmp(seen[i].partner_id, "acme") == 0 && nl < 3)
            live[nl++] = &seen[i];
        else if (strcmp(seen[i].partner_id, "brisk") == 0 && nr < 3)
            replay[nr++] = &seen[i];
    }
    cr_assert_eq(nl, 3, "WARNING, CRITICAL, RESOLVED");
    cr_assert_eq(nr, 3);
    static const int status[3] = {PP_ALERT_FIRING, PP_ALERT_FIRING, PP_ALERT_RESOLVED};
    static const int severity[3] = {PP_SEV_WARNING, PP_SEV_CRITICAL, PP_SEV_CRITICAL};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(live[i]->status, status[i]);
        cr_assert_eq(live[i]->severity, severity[i]);
        cr_assert_eq(replay[i]->status, live[i]->status, "transition %d", i);
        cr_assert_eq(replay[i]->severity, live[i]->severity, "transition %d", i);
        cr_assert_eq(replay[i]->started_at_ms, live[i]->started_at_ms, "transition %d", i);
        cr_assert_eq(replay[i]->event_time_ms, live[i]->event_time_ms, "transition %d", i);
        cr_assert_float_eq(replay[i]->health, live[i]->health, 1e-9, "transition %d", i);
    }
    cr_assert_eq(live[1]->event_time_ms, bt(HOUR_MS + 40 * BDAY_MS));
}

/* ---- referral partners ---- */

Test(trust, a_referral_partner_sending_a_referral_every_week_never_goes_dark)
{
    signed_as(&st, MON0, PP_PTYPE_REFERRAL);
    for (int w = 0; w < 20; w++) {
        run_timers(&st, bt(HOUR_MS + w * 5 * BDAY_MS));
        apply(ev_referral("acme", eid(), bt(HOUR_MS + w * 5 * BDAY_MS), PP_REF_TO_US, PP_REF_SENT));
    }
    run_timers(&st, bt(HOUR_MS + 19 * 5 * BDAY_MS + 14 * BDAY_MS));
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 0, "twenty weeks of referrals, no engagement at all");
    cr_assert_str_eq(field("referrals_to_us"), "20");
    cr_assert_eq(st.last_inbound_ms, bt(HOUR_MS + 19 * 5 * BDAY_MS));
}

/* ---- explanation of a dark partner ---- */

Test(trust, the_explanation_of_a_dark_partner_starts_with_going_dark)
{
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO);
    const char *last_word = "e2";
    int64_t now = bt(HOUR_MS + 20 * BDAY_MS);
    run_timers(&st, now);
    tick(now);
    cr_assert_neq(st.rules[PP_R_GOING_DARK].started_at_ms, 0);
    char why[512], first[128];
    pp_engine_explain(&ps, &st, why, sizeof why);
    cr_assert_eq(strncmp(why, "going_dark 20.0 d -", 19), 0, "%s", why);
    pp_engine_factor(&ps, &st, 0, first, sizeof first);
    cr_assert_eq(strncmp(first, "going_dark ", 11), 0, "%s", first);
    char evidence[16];
    snprintf(evidence, sizeof evidence, "[%s]", last_word);
    cr_assert(strstr(first, evidence) != NULL, "the event behind it is their last word: %s", first);
    cr_assert_str_eq(field("why_1"), first);
}

Test(trust, a_dark_partner_gone_red_is_told_it_is_because_of_going_dark)
{
    /* recency is the only measure with data here: let health_red judge on it */
    set("min_confidence", "0");
    signed_as(&st, MON0, PP_PTYPE_RESELLER);
    msg(bt(HOUR_MS), "t1", PP_DIR_INBOUND, PP_REPLY_NO);
    run_timers(&st, bt(HOUR_MS + 20 * BDAY_MS));
    cr_assert_eq(count(PP_R_GOING_DARK, PP_ALERT_FIRING), 1);
    cr_assert_eq(count(PP_R_HEALTH_RED, PP_ALERT_FIRING), 1, "health %.1f", st.health);
    const pp_alert_t *red = nth(PP_R_HEALTH_RED, PP_ALERT_FIRING, 0);
    cr_assert_geq(red->event_time_ms, nth(PP_R_GOING_DARK, PP_ALERT_FIRING, 0)->event_time_ms);
    cr_assert(strstr(red->message, "going_dark") != NULL, "%s", red->message);
    cr_assert(strstr(red->message, "recency") != NULL, "names the costliest measure: %s", red->message);
}
