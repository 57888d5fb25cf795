/*
 * pp_history (daemon/): history pages no one (DESIGN §7). A FIRING older
 * than publish_max_age is held back and its RESOLVED never published; the
 * core does not re-emit a held-back episode; once caught up, a held-back
 * episode still open is released once; a partition is caught up only once
 * every topic reached its end. Driven through the real core with hand-set
 * time: event time around T0, the wall clock (proc) a hundred days later.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"
#include "pp_history.h"

#define MAX_AGE (72 * HOUR_MS)
#define LATER (T0 + 100 * DAY_MS) /* the wall clock of a replay, long after */

static pp_policyset_t ps;
static pp_partner_t st;
static pp_alert_t out[PP_ENGINE_ALERTS_CAP];
static uint8_t verdict[PP_ENGINE_ALERTS_CAP];
static int64_t offset;
static int seq;

static void setup(void)
{
    pp_policyset_default(&ps);
    pp_partner_init(&st, "acme");
    st.home_partition = 3;
    offset = 0;
    seq = 0;
}

TestSuite(history, .init = setup);

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++seq);
    return buf;
}

/* One engine call as the daemon makes it: held mask before, filter after.
 * Returns the number of transitions in out[]. */
static int apply_at(pp_event_t ev, int64_t proc)
{
    unsigned held = pp_history_held_mask(&st), known = pp_history_published_mask(&st);
    int n = pp_engine_apply(&ps, &st, &ev, 3, offset++, proc, out);
    cr_assert_geq(n, 0);
    pp_history_filter(&st, held, known, MAX_AGE, out, verdict, n);
    return n;
}

static int advance_at(int64_t until, int64_t proc)
{
    unsigned held = pp_history_held_mask(&st), known = pp_history_published_mask(&st);
    int n = pp_engine_advance(&ps, &st, until, proc, out);
    pp_history_filter(&st, held, known, MAX_AGE, out, verdict, n);
    return n;
}

static void msg(int64_t t, const char *thread, int dir, int64_t proc)
{
    apply_at(ev_eng("acme", eid(), t, thread, dir, PP_KIND_MESSAGE, false), proc);
}

/* index in out[0..n) of rule r's transition with status s, -1 if none */
static int find(int n, pp_rule_t r, int status)
{
    for (int i = 0; i < n; i++)
        if (out[i].rule == r && out[i].status == status)
            return i;
    return -1;
}

/* reply_overdue trips from its timer (5 business days after our message) */
static pp_alert_t overdue_fires(int64_t proc)
{
    apply_at(ev_lifecycle("acme", eid(), T0, PP_LC_SIGNED, PP_PTYPE_RESELLER, NULL), proc);
    msg(T0, "t1", PP_DIR_OUTBOUND, proc);
    int n = advance_at(T0 + 10 * DAY_MS, proc);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_FIRING);
    cr_assert_geq(i, 0, "reply_overdue fired");
    return out[i];
}

Test(history, old_firing_is_held_back)
{
    pp_alert_t f = overdue_fires(LATER);
    cr_assert_not(f.publish, "held back: 100 days old");
    int n = advance_at(T0 + 10 * DAY_MS, LATER); /* nothing more due */
    cr_assert_eq(n, 0);
    cr_assert(st.rules[PP_R_REPLY_OVERDUE].held_back);
    cr_assert(st.rules[PP_R_REPLY_OVERDUE].published, "the core still counts it as published");
    cr_assert_eq(pp_history_held_mask(&st), 1u << PP_R_REPLY_OVERDUE);
}

Test(history, a_held_episode_turning_critical_stays_held_with_its_newer_copy)
{
    /* going_dark trips 15 business days after the last activity, long ago
     * (held back); the catching-up daemon reaches its 40th business day
     * close to now: the CRITICAL update is not published ahead of the
     * episode's release, it replaces the stored copy */
    apply_at(ev_lifecycle("acme", eid(), T0, PP_LC_SIGNED, PP_PTYPE_RESELLER, NULL), LATER);
    msg(T0, "t1", PP_DIR_INBOUND, LATER);
    int n = advance_at(T0 + 30 * DAY_MS, LATER);
    int i = find(n, PP_R_GOING_DARK, PP_ALERT_FIRING);
    cr_assert_geq(i, 0, "going_dark fired");
    cr_assert_eq(verdict[i], PP_HIST_HOLD);
    int64_t later = T0 + 60 * DAY_MS; /* past 40 business days */
    n = advance_at(later, later + DAY_MS); /* computed a day after: recent */
    i = find(n, PP_R_GOING_DARK, PP_ALERT_FIRING);
    cr_assert_geq(i, 0, "the CRITICAL update");
    cr_assert_eq(out[i].severity, PP_SEV_CRITICAL);
    cr_assert_not(out[i].publish, "its episode is still held back");
    cr_assert_eq(verdict[i], PP_HIST_HOLD, "the newer copy replaces the stored one");
    cr_assert(st.rules[PP_R_GOING_DARK].held_back);
}

Test(history, an_old_update_of_a_published_episode_is_recorded_and_its_resolved_still_goes_out)
{
    /* going_dark published live (recent), then the daemon is down for weeks:
     * catching up, it reaches the 40th business day long ago: the CRITICAL
     * update is history (recorded only), the episode stays as consumers
     * know it, and its RESOLVED is published when the partner is back */
    apply_at(ev_lifecycle("acme", eid(), T0, PP_LC_SIGNED, PP_PTYPE_RESELLER, NULL), T0);
    msg(T0, "t1", PP_DIR_INBOUND, T0);
    int64_t tripped = T0 + 22 * DAY_MS;
    int n = advance_at(tripped, tripped + HOUR_MS);
    int i = find(n, PP_R_GOING_DARK, PP_ALERT_FIRING);
    cr_assert_geq(i, 0);
    cr_assert(out[i].publish, "recent: published");
    n = advance_at(T0 + 60 * DAY_MS, LATER);
    i = find(n, PP_R_GOING_DARK, PP_ALERT_FIRING);
    cr_assert_geq(i, 0, "the CRITICAL update");
    cr_assert_eq(out[i].severity, PP_SEV_CRITICAL);
    cr_assert_not(out[i].publish, "old: recorded only");
    cr_assert_eq(verdict[i], PP_HIST_AS_IS, "not held: nothing to release later");
    cr_assert_not(st.rules[PP_R_GOING_DARK].held_back);
    n = apply_at(ev_eng("acme", eid(), T0 + 61 * DAY_MS, "t2", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), LATER);
    i = find(n, PP_R_GOING_DARK, PP_ALERT_RESOLVED);
    cr_assert_geq(i, 0);
    cr_assert(out[i].publish, "closes what consumers opened");
}

Test(history, recent_firing_is_published_as_is)
{
    pp_alert_t f = overdue_fires(T0 + 8 * DAY_MS); /* fired at ~T0+7d, computed a day later */
    cr_assert(f.publish);
    cr_assert_not(st.rules[PP_R_REPLY_OVERDUE].held_back);
}

Test(history, resolved_of_held_episode_is_not_published)
{
    overdue_fires(LATER);
    int n = apply_at(ev_eng("acme", eid(), T0 + 11 * DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), LATER);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED);
    cr_assert_geq(i, 0);
    cr_assert_not(out[i].publish, "its FIRING was never published");
    cr_assert_eq(verdict[i], PP_HIST_UNHOLD, "its stored copy goes");
    cr_assert_eq(pp_history_held_mask(&st), 0u);
}

Test(history, resolved_of_published_firing_is_published_whatever_its_age)
{
    overdue_fires(T0 + 8 * DAY_MS); /* published */
    /* the daemon was down for a month: the RESOLVED is computed long after */
    int n = apply_at(ev_eng("acme", eid(), T0 + 11 * DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), LATER);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED);
    cr_assert_geq(i, 0);
    cr_assert(out[i].publish, "it closes what consumers opened");
    cr_assert_eq(verdict[i], PP_HIST_AS_IS);
}

Test(history, core_does_not_re_emit_a_held_back_episode)
{
    overdue_fires(LATER);
    /* more events and timers while the episode stays open */
    for (int d = 11; d < 14; d++) {
        int n = apply_at(ev_eng("acme", eid(), T0 + d * DAY_MS, "t2", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, false), LATER);
        cr_assert_eq(find(n, PP_R_REPLY_OVERDUE, PP_ALERT_FIRING), -1, "no second FIRING on day %d", d);
    }
    cr_assert(st.rules[PP_R_REPLY_OVERDUE].held_back);
}

Test(history, zero_max_age_holds_nothing)
{
    apply_at(ev_lifecycle("acme", eid(), T0, PP_LC_SIGNED, PP_PTYPE_RESELLER, NULL), LATER);
    msg(T0, "t1", PP_DIR_OUTBOUND, LATER);
    unsigned held = pp_history_held_mask(&st), known = pp_history_published_mask(&st);
    int n = pp_engine_advance(&ps, &st, T0 + 10 * DAY_MS, LATER, out);
    cr_assert_eq(pp_history_filter(&st, held, known, 0, out, verdict, n), 0);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_FIRING);
    cr_assert_geq(i, 0);
    cr_assert(out[i].publish);
}

Test(history, release_publishes_an_open_held_episode_once)
{
    pp_alert_t f = overdue_fires(LATER);
    cr_assert_eq(pp_history_release(&st, &f), PP_RELEASE_PUBLISH);
    cr_assert_not(st.rules[PP_R_REPLY_OVERDUE].held_back);
    cr_assert(st.rules[PP_R_REPLY_OVERDUE].published);
    cr_assert_eq(pp_history_release(&st, &f), PP_RELEASE_STALE, "released already");
    /* now its RESOLVED is published, even though old */
    int n = apply_at(ev_eng("acme", eid(), T0 + 11 * DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), LATER);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED);
    cr_assert_geq(i, 0);
    cr_assert(out[i].publish);
}

Test(history, release_of_an_episode_that_closed_is_stale)
{
    pp_alert_t f = overdue_fires(LATER);
    msg(T0 + 11 * DAY_MS, "t1", PP_DIR_INBOUND, LATER);
    cr_assert_eq(pp_history_release(&st, &f), PP_RELEASE_STALE);
}

Test(history, release_of_another_episode_id_is_stale)
{
    pp_alert_t f = overdue_fires(LATER);
    f.alert_id[0] = f.alert_id[0] == 'a' ? 'b' : 'a';
    cr_assert_eq(pp_history_release(&st, &f), PP_RELEASE_STALE);
    cr_assert(st.rules[PP_R_REPLY_OVERDUE].held_back, "untouched");
}

Test(history, release_hands_a_snoozed_episode_back_to_the_core)
{
    pp_alert_t f = overdue_fires(LATER);
    pp_event_t sz = ev_lifecycle("acme", eid(), T0 + 10 * DAY_MS, PP_LC_SNOOZE, 0, NULL);
    sz.u.lc.snooze_rule = PP_R_REPLY_OVERDUE;
    sz.u.lc.snooze_until_ms = 0; /* until it clears */
    apply_at(sz, LATER);
    cr_assert_eq(pp_history_release(&st, &f), PP_RELEASE_HAND_BACK);
    cr_assert_not(st.rules[PP_R_REPLY_OVERDUE].published, "never published: snoozed until it clears");
    int n = apply_at(ev_eng("acme", eid(), T0 + 11 * DAY_MS, "t1", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), LATER);
    int i = find(n, PP_R_REPLY_OVERDUE, PP_ALERT_RESOLVED);
    cr_assert_geq(i, 0);
    cr_assert_not(out[i].publish);
}

Test(history, stored_firing_reads_back)
{
    pp_alert_t f = overdue_fires(LATER);
    f.partition = 3;
    uint8_t buf[2048];
    size_t len = pp_alert_pack(&f, "0123456789abcdef", buf, sizeof buf);
    cr_assert_gt(len, 0);
    pp_alert_t back;
    char cv[24];
    cr_assert_eq(pp_history_unpack(buf, len, &back, cv, sizeof cv), 0);
    cr_assert_str_eq(back.alert_id, f.alert_id);
    cr_assert_str_eq(back.partner_id, "acme");
    cr_assert_eq(back.rule, PP_R_REPLY_OVERDUE);
    cr_assert_eq(back.status, PP_ALERT_FIRING);
    cr_assert_eq(back.started_at_ms, f.started_at_ms);
    cr_assert_eq(back.event_time_ms, f.event_time_ms);
    cr_assert_eq(back.emitted_at_ms, f.emitted_at_ms, "the original processing time");
    cr_assert_str_eq(back.message, f.message);
    cr_assert_str_eq(back.evidence, f.evidence);
    cr_assert_str_eq(cv, "0123456789abcdef");
    cr_assert(back.publish);
    uint8_t again[2048];
    cr_assert_eq(pp_alert_pack(&back, cv, again, sizeof again), len);
    cr_assert_eq(memcmp(buf, again, len), 0, "republished byte for byte");
    cr_assert_eq(pp_history_unpack((const uint8_t *)"\xff\xff\xff", 3, &back, cv, sizeof cv), -EBADMSG);
}

/* ---- catching up ---- */

static pp_catchup_t *cu;

static void cu_setup(void)
{
    cu = pp_catchup_new(8, 1000);
    cr_assert_not_null(cu);
    pp_catchup_assigned(cu, 2);
}

static void cu_teardown(void)
{
    pp_catchup_free(cu);
}

TestSuite(catchup, .init = cu_setup, .fini = cu_teardown);

static void all_at_end(int32_t p, size_t held)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_catchup_at_end(cu, (pp_topic_t)t, p, held);
}

Test(catchup, assigned_partition_is_catching_up)
{
    cr_assert_not(pp_catchup_done(cu, 2));
    cr_assert_not(pp_catchup_ready(cu, 2));
}

Test(catchup, ready_once_every_topic_reached_its_end)
{
    for (int t = 0; t < PP_TOPIC_COUNT - 1; t++) {
        pp_catchup_at_end(cu, (pp_topic_t)t, 2, 0);
        cr_assert_not(pp_catchup_ready(cu, 2), "topic %d of 4", t + 1);
    }
    pp_catchup_at_end(cu, (pp_topic_t)(PP_TOPIC_COUNT - 1), 2, 0);
    cr_assert(pp_catchup_ready(cu, 2));
    pp_catchup_set(cu, 2);
    cr_assert(pp_catchup_done(cu, 2));
    cr_assert_not(pp_catchup_ready(cu, 2), "caught up already");
}

Test(catchup, the_tail_of_the_backlog_must_be_released_first)
{
    all_at_end(2, 0);
    pp_catchup_assigned(cu, 2);
    pp_catchup_at_end(cu, PP_TOPIC_DEALS, 2, 2); /* two deals still in the merge at their end */
    pp_catchup_at_end(cu, PP_TOPIC_REFERRALS, 2, 0);
    pp_catchup_at_end(cu, PP_TOPIC_ENGAGEMENTS, 2, 1);
    pp_catchup_at_end(cu, PP_TOPIC_LIFECYCLE, 2, 0);
    cr_assert_not(pp_catchup_ready(cu, 2));
    pp_catchup_released(cu, PP_TOPIC_DEALS, 2);
    pp_catchup_released(cu, PP_TOPIC_ENGAGEMENTS, 2);
    cr_assert_not(pp_catchup_ready(cu, 2), "one deal left");
    pp_catchup_released(cu, PP_TOPIC_DEALS, 2);
    cr_assert(pp_catchup_ready(cu, 2));
}

Test(catchup, what_arrives_after_the_end_does_not_hold_it_back)
{
    all_at_end(2, 0);
    pp_catchup_at_end(cu, PP_TOPIC_DEALS, 2, 50); /* a later end, with the head of the stream held */
    cr_assert(pp_catchup_ready(cu, 2));
}

Test(catchup, lag_over_the_threshold_is_not_caught_up)
{
    all_at_end(2, 0);
    cr_assert_not(pp_catchup_lag(cu, 2, 5000), "not caught up: nothing to fall back from");
    cr_assert_not(pp_catchup_ready(cu, 2));
    pp_catchup_lag(cu, 2, 10);
    cr_assert(pp_catchup_ready(cu, 2));
}

Test(catchup, falling_far_behind_catches_up_again_from_the_end)
{
    all_at_end(2, 0);
    pp_catchup_set(cu, 2);
    cr_assert_not(pp_catchup_lag(cu, 2, 1000), "at the threshold: still caught up");
    cr_assert(pp_catchup_lag(cu, 2, 1001));
    cr_assert_not(pp_catchup_done(cu, 2));
    pp_catchup_lag(cu, 2, 0);
    cr_assert_not(pp_catchup_ready(cu, 2), "must reach its end anew");
    all_at_end(2, 1);
    cr_assert_not(pp_catchup_ready(cu, 2), "and release what it held then");
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_catchup_released(cu, (pp_topic_t)t, 2);
    cr_assert(pp_catchup_ready(cu, 2));
}

Test(catchup, reassignment_starts_over)
{
    all_at_end(2, 0);
    pp_catchup_set(cu, 2);
    pp_catchup_assigned(cu, 2);
    cr_assert_not(pp_catchup_done(cu, 2));
    cr_assert_not(pp_catchup_ready(cu, 2));
}

Test(catchup, partitions_out_of_range_are_never_caught_up)
{
    pp_catchup_at_end(cu, PP_TOPIC_DEALS, 8, 0);
    pp_catchup_released(cu, PP_TOPIC_DEALS, -1);
    pp_catchup_set(cu, -1);
    cr_assert_not(pp_catchup_done(cu, 8));
    cr_assert_not(pp_catchup_done(cu, -1));
}
