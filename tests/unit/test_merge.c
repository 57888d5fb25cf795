/*
 * pp_merge: a partition's topics are released in event-time order, each
 * topic's own order is kept, and a silent topic holds the merge back only
 * until it is at its end or idle.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "pp_merge.h"

static int vals[16];

static void *P(int i)
{
    return &vals[i];
}

static int popv(pp_merge_t *m, int32_t part, int64_t now, pp_topic_t *t)
{
    int *v = pp_merge_pop(m, part, now, 1000, t);
    return v ? (int)(v - vals) : -1;
}

Test(merge, earliest_head_goes_first_across_topics)
{
    pp_merge_t *m = pp_merge_new(4);
    pp_merge_push(m, PP_TOPIC_DEALS, 1, 300, P(1), 0);
    pp_merge_push(m, PP_TOPIC_ENGAGEMENTS, 1, 100, P(2), 0);
    pp_merge_push(m, PP_TOPIC_ENGAGEMENTS, 1, 400, P(3), 0);
    pp_merge_at_end(m, PP_TOPIC_REFERRALS, 1, 0);
    pp_merge_at_end(m, PP_TOPIC_LIFECYCLE, 1, 0);
    pp_topic_t t;
    cr_assert_eq(popv(m, 1, 0, &t), 2);
    cr_assert_eq(t, PP_TOPIC_ENGAGEMENTS);
    cr_assert_eq(popv(m, 1, 0, &t), 1);
    /* deals is now empty and not at its end: engagements at 400 must wait */
    cr_assert_eq(popv(m, 1, 0, &t), -1);
    pp_merge_at_end(m, PP_TOPIC_DEALS, 1, 0);
    cr_assert_eq(popv(m, 1, 0, &t), 3);
    pp_merge_free(m);
}

Test(merge, a_topic_keeps_its_own_order_even_with_late_events)
{
    pp_merge_t *m = pp_merge_new(1);
    for (int t = 1; t < PP_TOPIC_COUNT; t++)
        pp_merge_at_end(m, (pp_topic_t)t, 0, 0);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, 500, P(1), 0);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, 100, P(2), 0); /* late: stays behind 500 */
    pp_topic_t t;
    cr_assert_eq(popv(m, 0, 0, &t), 1);
    cr_assert_eq(popv(m, 0, 0, &t), 2);
    pp_merge_free(m);
}

Test(merge, idle_topic_stops_holding_back_after_idle_ms)
{
    pp_merge_t *m = pp_merge_new(1);
    pp_merge_assigned(m, 0, 0);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, 100, P(1), 0);
    pp_topic_t t;
    cr_assert_eq(popv(m, 0, 999, &t), -1);
    cr_assert_eq(popv(m, 0, 1000, &t), 1);
    pp_merge_free(m);
}

Test(merge, undecodable_messages_pass_at_once)
{
    pp_merge_t *m = pp_merge_new(1);
    pp_merge_assigned(m, 0, 0);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, INT64_MIN, P(1), 0);
    pp_topic_t t;
    cr_assert_eq(popv(m, 0, 0, &t), 1);
    pp_merge_free(m);
}

Test(merge, ties_go_to_the_lower_topic)
{
    pp_merge_t *m = pp_merge_new(1);
    pp_merge_push(m, PP_TOPIC_LIFECYCLE, 0, 100, P(1), 0);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, 100, P(2), 0);
    pp_merge_at_end(m, PP_TOPIC_REFERRALS, 0, 0);
    pp_merge_at_end(m, PP_TOPIC_ENGAGEMENTS, 0, 0);
    pp_topic_t t;
    cr_assert_eq(popv(m, 0, 0, &t), 2);
    pp_merge_at_end(m, PP_TOPIC_DEALS, 0, 0);
    cr_assert_eq(popv(m, 0, 0, &t), 1);
    pp_merge_free(m);
}

Test(merge, watermark_is_the_last_released_time_until_caught_up)
{
    pp_merge_t *m = pp_merge_new(1);
    pp_merge_push(m, PP_TOPIC_DEALS, 0, 100, P(1), 0);
    for (int t = 1; t < PP_TOPIC_COUNT; t++)
        pp_merge_at_end(m, (pp_topic_t)t, 0, 0);
    pp_topic_t t;
    popv(m, 0, 0, &t);
    cr_assert_eq(pp_merge_watermark(m, 0, 999), 100, "deals not known to be at its end");
    pp_merge_at_end(m, PP_TOPIC_DEALS, 0, 0);
    cr_assert_eq(pp_merge_watermark(m, 0, 999), 999, "caught up: the global clock applies");
    pp_merge_free(m);
}

Test(merge, a_restart_resumes_at_the_watermark_it_is_given)
{
    pp_merge_t *m = pp_merge_new(2);
    int32_t parts[2] = {0, 1};
    for (int t = 0; t < PP_TOPIC_COUNT; t++) { /* restarted at the end: nothing to consume */
        pp_merge_at_end(m, (pp_topic_t)t, 0, 0);
        pp_merge_at_end(m, (pp_topic_t)t, 1, 0);
    }
    cr_assert_eq(pp_merge_low_watermark(m, parts, 2), 0, "nothing released: no clock");
    pp_merge_set_watermark(m, 0, 5000);
    pp_merge_set_watermark(m, 1, 7000);
    cr_assert_eq(pp_merge_low_watermark(m, parts, 2), 5000, "the watermarks kept with the offsets of record");
    pp_merge_set_watermark(m, 1, 3000); /* a store restored to an older state: set, not raised */
    cr_assert_eq(pp_merge_low_watermark(m, parts, 2), 3000);
    pp_merge_free(m);
}

static int freed;
static void count_free(void *opaque, void *payload)
{
    (void)opaque;
    (void)payload;
    freed++;
}

Test(merge, clear_hands_back_every_payload)
{
    pp_merge_t *m = pp_merge_new(2);
    for (int i = 0; i < 100; i++)
        pp_merge_push(m, (pp_topic_t)(i % 4), i % 2, i, P(i % 16), 0);
    freed = 0;
    pp_merge_clear(m, count_free, NULL);
    cr_assert_eq(freed, 100);
    cr_assert_eq(pp_merge_held(m, PP_TOPIC_DEALS, 0), 0);
    pp_merge_free(m);
}
