/*
 * pp_calendar: business time over hand-built zone tables (the real 2026
 * changes of America/New_York, and Asia/Tokyo), checked against instants
 * worked out by hand and against a minute-stepping reference.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_calendar.h"
#include "pp_rand.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define EST (-5)
#define EDT (-4)
#define JST 9

/* Unix ms of a wall-clock time at a UTC offset of off_h hours, by counting
 * days (independent of the module's date arithmetic). */
static int64_t at(int y, int mo, int d, int h, int mi, int off_h)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
    for (int m = 1; m < mo; m++)
        days += mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    days += d - 1;
    return ((days * 24 + h - off_h) * 60 + mi) * MIN_MS;
}

static pp_zone_t new_york, tokyo, utc;
static pp_calendar_t business, always;

/* America/New_York in 2026: EST, EDT from 2026-03-08T07:00Z, EST from 2026-11-01T06:00Z. */
static const int64_t NY_SPRING_MS = 1772953200000LL;
static const int64_t NY_FALL_MS = 1793512800000LL;

static void setup(void)
{
    memset(&new_york, 0, sizeof new_york);
    strcpy(new_york.name, "America/New_York");
    new_york.initial_offset_s = -5 * 3600;
    new_york.n_transitions = 2;
    new_york.at_s[0] = NY_SPRING_MS / 1000;
    new_york.offset_s[0] = -4 * 3600;
    new_york.at_s[1] = NY_FALL_MS / 1000;
    new_york.offset_s[1] = -5 * 3600;

    memset(&tokyo, 0, sizeof tokyo);
    strcpy(tokyo.name, "Asia/Tokyo");
    tokyo.initial_offset_s = 9 * 3600;

    pp_zone_utc(&utc);
    pp_calendar_business(&business);
    pp_calendar_always(&always);
}

TestSuite(calendar, .init = setup);

static void rng_seed(pp_rand_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = pp_splitmix64(&seed);
}

static void set(pp_calendar_t *cal, const char *key, const char *value)
{
    char err[256] = "";
    cr_assert_eq(pp_calendar_set(cal, key, value, err, sizeof err), 0, "%s = %s: %s", key, value, err);
}

/* ---- zones ---- */

Test(calendar, zone_offset_changes_exactly_at_the_transition)
{
    cr_assert_eq(pp_zone_offset(&new_york, at(2026, 1, 1, 0, 0, 0)), -5 * 3600);
    cr_assert_eq(pp_zone_offset(&new_york, NY_SPRING_MS - 1), -5 * 3600);
    cr_assert_eq(pp_zone_offset(&new_york, NY_SPRING_MS), -4 * 3600);
    cr_assert_eq(pp_zone_offset(&new_york, NY_FALL_MS - 1), -4 * 3600);
    cr_assert_eq(pp_zone_offset(&new_york, NY_FALL_MS), -5 * 3600);
    cr_assert_eq(pp_zone_offset(&tokyo, NY_FALL_MS), 9 * 3600);
    cr_assert_eq(pp_zone_offset(&utc, NY_FALL_MS), 0);
    cr_assert_str_eq(utc.name, "UTC");
}

Test(calendar, transition_instants_are_the_hand_computed_ones)
{
    cr_assert_eq(NY_SPRING_MS, at(2026, 3, 8, 2, 0, EST));
    cr_assert_eq(NY_FALL_MS, at(2026, 11, 1, 2, 0, EDT));
}

/* ---- replies around the weekend ---- */

Test(calendar, new_york_reply_before_monday_opening_is_zero_business_hours)
{
    int64_t fri = at(2026, 1, 16, 17, 0, EST), mon = at(2026, 1, 19, 8, 30, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, fri, mon), 0);
}

Test(calendar, new_york_friday_16_to_monday_10_is_two_business_hours)
{
    int64_t fri = at(2026, 1, 16, 16, 0, EST), mon = at(2026, 1, 19, 10, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, fri, mon), 2 * HOUR_MS);
}

Test(calendar, tokyo_reply_before_monday_opening_is_zero_business_hours)
{
    int64_t fri = at(2026, 1, 16, 17, 0, JST), mon = at(2026, 1, 19, 8, 30, JST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &tokyo, fri, mon), 0);
}

Test(calendar, tokyo_friday_16_to_monday_10_is_two_business_hours)
{
    int64_t fri = at(2026, 1, 16, 16, 0, JST), mon = at(2026, 1, 19, 10, 0, JST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &tokyo, fri, mon), 2 * HOUR_MS);
}

Test(calendar, the_same_instants_are_different_business_time_in_another_zone)
{
    /* Fri 16:00 .. Mon 10:00 New York is Sat 06:00 .. Tue 00:00 Tokyo (all
     * of Monday) and Fri 21:00Z .. Mon 15:00Z in UTC. */
    int64_t from = at(2026, 1, 16, 16, 0, EST), to = at(2026, 1, 19, 10, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &tokyo, from, to), 8 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &utc, from, to), 6 * HOUR_MS);
}

Test(calendar, end_before_start_is_zero)
{
    int64_t t = at(2026, 1, 14, 12, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, t, t), 0);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, t, t - HOUR_MS), 0);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, t, t - HOUR_MS), 0);
}

Test(calendar, within_one_business_day_counts_real_time)
{
    int64_t a = at(2026, 1, 14, 9, 17, EST) + 123, b = at(2026, 1, 14, 16, 59, EST) + 7;
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, a, b), b - a);
}

Test(calendar, months_of_business_days_are_whole_weeks)
{
    /* Mon 2026-01-05 09:00 to Mon 2026-06-29 09:00 EDT: 25 weeks, 125 days */
    int64_t a = at(2026, 1, 5, 9, 0, EST), b = at(2026, 6, 29, 9, 0, EDT);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, a, b), 125 * 8 * HOUR_MS);
}

/* ---- holidays ---- */

Test(calendar, holiday_in_between_removes_a_day)
{
    int64_t thu = at(2026, 12, 24, 10, 0, EST), mon = at(2026, 12, 28, 10, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, thu, mon), 16 * HOUR_MS);
    set(&business, "holidays", "2026-12-25");
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, thu, mon), 8 * HOUR_MS);
}

Test(calendar, time_on_a_holiday_does_not_count)
{
    set(&business, "holidays", "2026-12-25");
    int64_t a = at(2026, 12, 25, 10, 0, EST), b = at(2026, 12, 25, 16, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, a, b), 0);
    /* and a deadline set on it starts the next business morning */
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, a, HOUR_MS), at(2026, 12, 28, 10, 0, EST));
}

Test(calendar, holiday_on_a_weekend_removes_nothing)
{
    set(&business, "holidays", "2026-12-26, 2026-12-27");
    int64_t a = at(2026, 12, 24, 10, 0, EST), b = at(2026, 12, 28, 10, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, a, b), 16 * HOUR_MS);
    cr_assert_eq(business.workday_holidays_before[business.n_holidays], 0);
}

Test(calendar, holidays_are_local_dates)
{
    /* Tokyo open 07:00-17:00: Friday 2026-12-25 local runs from 22:00Z on
     * the 24th to 08:00Z on the 25th, and the holiday takes all of it. */
    set(&business, "hours", "07:00-17:00");
    int64_t a = at(2026, 12, 24, 22, 0, 0), b = at(2026, 12, 25, 8, 0, 0);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &tokyo, a, b), 10 * HOUR_MS);
    set(&business, "holidays", "2026-12-25");
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &tokyo, a, b), 0);
    /* while in UTC the 24th's hours 07:00-17:00Z are untouched */
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &utc, at(2026, 12, 24, 7, 0, 0), a), 10 * HOUR_MS);
}

Test(calendar, week_of_holidays_carries_a_deadline_past_it)
{
    set(&business, "holidays", "2026-12-28 2026-12-29 2026-12-30 2026-12-31 2027-01-01");
    int64_t fri = at(2026, 12, 25, 16, 0, EST);
    int64_t d = pp_calendar_add_ms(&business, &new_york, fri, 2 * HOUR_MS);
    cr_assert_eq(d, at(2027, 1, 4, 10, 0, EST));
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, fri, d), 2 * HOUR_MS);
}

/* ---- DST ---- */

Test(calendar, week_of_the_spring_change_counts_local_business_hours)
{
    /* Fri 12:00 EST .. Tue 12:00 EDT: Fri 5 h + Mon 8 h + Tue 3 h, 95 real hours */
    int64_t fri = at(2026, 3, 6, 12, 0, EST), tue = at(2026, 3, 10, 12, 0, EDT);
    cr_assert_eq(tue - fri, 95 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, fri, tue), 16 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, at(2026, 3, 9, 9, 0, EDT),
                                         at(2026, 3, 9, 17, 0, EDT)), 8 * HOUR_MS);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, fri, 16 * HOUR_MS), tue);
}

Test(calendar, week_of_the_fall_change_counts_local_business_hours)
{
    int64_t fri = at(2026, 10, 30, 12, 0, EDT), tue = at(2026, 11, 3, 12, 0, EST);
    cr_assert_eq(tue - fri, 97 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, fri, tue), 16 * HOUR_MS);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, fri, 16 * HOUR_MS), tue);
}

Test(calendar, always_is_real_time_across_dst_changes)
{
    int64_t a = at(2026, 3, 7, 12, 0, EST), b = at(2026, 11, 2, 12, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, a, b), b - a);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, NY_SPRING_MS - 1, NY_SPRING_MS + 1), 2);
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, a, b - a), b);
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, NY_FALL_MS - HOUR_MS, 3 * HOUR_MS),
                 NY_FALL_MS + 2 * HOUR_MS);
}

Test(calendar, round_the_clock_with_a_holiday_counts_local_days)
{
    /* Not the 24x7 fast path: local accounting. The spring Sunday has 23
     * real hours and counts 24 (the skipped hour counts at the change); the
     * fall Sunday has 25 and counts 24 (the repeated hour counts once). */
    set(&always, "holidays", "2026-07-04");
    int64_t s0 = at(2026, 3, 8, 0, 0, EST), s1 = at(2026, 3, 9, 0, 0, EDT);
    cr_assert_eq(s1 - s0, 23 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, s0, s1), 24 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, NY_SPRING_MS - 1, NY_SPRING_MS),
                 1 + HOUR_MS);
    int64_t f0 = at(2026, 11, 1, 0, 0, EDT), f1 = at(2026, 11, 2, 0, 0, EST);
    cr_assert_eq(f1 - f0, 25 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, f0, f1), 24 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, NY_FALL_MS, NY_FALL_MS + HOUR_MS), 0);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &new_york, NY_FALL_MS, NY_FALL_MS + HOUR_MS + 5), 5);
    /* a deadline inside the skipped hour is the change itself */
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, s0, 2 * HOUR_MS + 30 * MIN_MS), NY_SPRING_MS);
    /* one at the moment the clocks go back is that moment, not an hour later */
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, f0, 2 * HOUR_MS), NY_FALL_MS);
    /* and one after the repeated hour comes an hour later than the clock says */
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, f0, 3 * HOUR_MS), NY_FALL_MS + HOUR_MS + HOUR_MS);
}

/* ---- deadlines ---- */

Test(calendar, five_business_days_after_a_wednesday_afternoon_is_next_wednesday)
{
    int64_t wed = at(2026, 1, 14, 15, 0, EST);
    int64_t d = pp_calendar_add_ms(&business, &new_york, wed, 5 * pp_calendar_day_ms(&business));
    cr_assert_eq(d, at(2026, 1, 21, 15, 0, EST));
}

Test(calendar, deadline_ending_at_closing_is_closing_not_next_opening)
{
    int64_t fri = at(2026, 1, 16, 16, 0, EST);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, fri, HOUR_MS), at(2026, 1, 16, 17, 0, EST));
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, fri, HOUR_MS + 1), at(2026, 1, 19, 9, 0, EST) + 1);
}

Test(calendar, deadline_of_nothing_is_now)
{
    int64_t sat = at(2026, 1, 17, 12, 0, EST);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, sat, 0), sat);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, sat, -5), sat);
}

Test(calendar, day_length_is_one_days_business_hours)
{
    cr_assert_eq(pp_calendar_day_ms(&business), 8 * HOUR_MS);
    cr_assert_eq(pp_calendar_day_ms(&always), 24 * HOUR_MS);
}

Test(calendar, calendar_without_workdays_never_accrues_and_never_reaches_a_deadline)
{
    business.workdays = 0;
    pp_calendar_derive(&business);
    int64_t a = at(2026, 1, 1, 0, 0, 0);
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, a, a + 400 * DAY_MS), 0);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, a, 1), INT64_MAX);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, a, 0), a);
}

Test(calendar, one_workday_a_week_with_holidays_on_it)
{
    set(&business, "workdays", "Wed");
    set(&business, "holidays", "2026-01-07, 2026-01-14");
    int64_t mon = at(2026, 1, 5, 0, 0, EST);
    int64_t d = pp_calendar_add_ms(&business, &new_york, mon, 8 * HOUR_MS + 1);
    cr_assert_eq(d, at(2026, 1, 28, 9, 0, EST) + 1); /* Wed 21 full, then Wed 28 */
    cr_assert_eq(pp_calendar_elapsed_ms(&business, &new_york, mon, d), 8 * HOUR_MS + 1);
}

Test(calendar, far_deadlines_saturate_to_never)
{
    int64_t a = at(2026, 1, 1, 0, 0, 0);
    cr_assert_eq(pp_calendar_add_ms(&business, &new_york, a, INT64_MAX), INT64_MAX);
    cr_assert_eq(pp_calendar_add_ms(&always, &new_york, a, INT64_MAX), INT64_MAX);
    cr_assert_eq(pp_calendar_elapsed_ms(&always, &utc, INT64_MIN, INT64_MAX), 2 * PP_CAL_INSTANT_LIMIT_MS);
}

/* ---- add() inverts elapsed(): against a minute-stepping reference ---- */

/* The reference: walk 2026 minute by minute (offsets by a linear scan of the
 * zone, the weekday from a known Thursday, holidays by a linear scan) and
 * keep the running business total; a partial minute counts if its minute
 * does (business hours start on whole minutes). Real-time accounting: valid
 * while no DST change falls inside business hours. */
#define REF_START 1767225600000LL /* 2026-01-01T00:00Z, a Thursday */
#define REF_MINUTES (365 * 24 * 60)

typedef struct ref {
    int64_t before[REF_MINUTES + 1]; /* business ms before minute m */
    uint8_t open[REF_MINUTES];
} ref_t;

static int32_t ref_offset_s(const pp_zone_t *z, int64_t t)
{
    int32_t off = z->initial_offset_s;
    for (int i = 0; i < z->n_transitions; i++)
        if (z->at_s[i] * 1000 <= t)
            off = z->offset_s[i];
    return off;
}

static void ref_build(ref_t *r, const pp_calendar_t *cal, const pp_zone_t *z)
{
    r->before[0] = 0;
    for (int64_t m = 0; m < REF_MINUTES; m++) {
        int64_t t = REF_START + m * MIN_MS;
        int64_t local = t + ref_offset_s(z, t) * 1000LL - REF_START; /* from 2026-01-01 00:00 local */
        int64_t day = local >= 0 ? local / DAY_MS : -1;
        int64_t sec = (local - day * DAY_MS) / 1000;
        int weekday = (int)((day + 3 + 7) % 7); /* 2026-01-01: Thursday = 3 */
        bool open = ((cal->workdays >> weekday) & 1) && sec >= cal->open_s && sec < cal->close_s;
        for (int h = 0; h < cal->n_holidays; h++)
            if (cal->holidays[h] == 20454 + day) /* 2026-01-01 is day 20454 */
                open = false;
        r->open[m] = open;
        r->before[m + 1] = r->before[m] + (open ? MIN_MS : 0);
    }
}

static int64_t ref_total(const ref_t *r, int64_t t)
{
    int64_t m = (t - REF_START) / MIN_MS;
    return r->before[m] + (r->open[m] ? t - (REF_START + m * MIN_MS) : 0);
}

static int64_t ref_add(const ref_t *r, int64_t from, int64_t d)
{
    int64_t target = ref_total(r, from) + d;
    int64_t lo = 0, hi = REF_MINUTES - 1; /* least m with before[m + 1] >= target */
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (r->before[mid + 1] >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return REF_START + lo * MIN_MS + (target - r->before[lo]);
}

static void check_against_reference(const pp_calendar_t *cal, const pp_zone_t *z, uint64_t seed)
{
    ref_t *r = malloc(sizeof *r);
    cr_assert_not_null(r);
    ref_build(r, cal, z);
    pp_rand_t rng;
    rng_seed(&rng, seed);
    int64_t day = pp_calendar_day_ms(cal);
    for (int i = 0; i < 20000; i++) {
        /* from anywhere in the first 8 months, to ms precision; durations up
         * to 40 business days, often whole hours or days */
        int64_t from = REF_START + (int64_t)(pp_rand_next(&rng) % (240 * DAY_MS));
        int64_t d;
        switch (pp_rand_next(&rng) % 3) {
        case 0: d = 1 + (int64_t)(pp_rand_next(&rng) % (40 * day)); break;
        case 1: d = (1 + (int64_t)(pp_rand_next(&rng) % (40 * 8))) * HOUR_MS; break;
        default: d = (1 + (int64_t)(pp_rand_next(&rng) % 40)) * day; break;
        }
        int64_t t = pp_calendar_add_ms(cal, z, from, d);
        cr_assert_eq(t, ref_add(r, from, d), "%s add(%lld, %lld)", cal->name, (long long)from, (long long)d);
        cr_assert_eq(pp_calendar_elapsed_ms(cal, z, from, t), d);
        cr_assert_eq(pp_calendar_elapsed_ms(cal, z, from, t - 1), d - 1);
        /* and elapsed alone, between arbitrary instants */
        int64_t to = from + (int64_t)(pp_rand_next(&rng) % (90 * DAY_MS));
        cr_assert_eq(pp_calendar_elapsed_ms(cal, z, from, to), ref_total(r, to) - ref_total(r, from),
                     "%s elapsed(%lld, %lld)", cal->name, (long long)from, (long long)to);
    }
    free(r);
}

Test(calendar, add_inverts_elapsed_business_new_york_with_holidays, .timeout = 60)
{
    set(&business, "holidays", "2026-01-01 2026-01-19 2026-05-25 2026-07-03 2026-09-07 2026-11-26");
    check_against_reference(&business, &new_york, 1);
}

Test(calendar, add_inverts_elapsed_sun_thu_tokyo, .timeout = 60)
{
    set(&business, "workdays", "Sun-Thu");
    set(&business, "hours", "08:30-18:15");
    set(&business, "holidays", "2026-01-01,2026-01-02,2026-05-03,2026-05-04,2026-05-05,2026-05-06");
    check_against_reference(&business, &tokyo, 2);
}

Test(calendar, add_inverts_elapsed_six_whole_days_new_york, .timeout = 60)
{
    set(&always, "workdays", "Mon-Sat");
    set(&always, "holidays", "2026-03-07 2026-07-04");
    check_against_reference(&always, &new_york, 3);
}

Test(calendar, add_is_least_instant_when_dst_falls_in_business_hours)
{
    /* Open round the clock with a holiday: both changes are in business
     * hours. add() is always the least instant reaching d, and reaches d
     * exactly except at the spring change (the skipped hour is a jump). */
    set(&always, "holidays", "2026-07-04");
    pp_rand_t rng;
    rng_seed(&rng, 4);
    int exact_misses = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t from = REF_START + (int64_t)(pp_rand_next(&rng) % (330 * DAY_MS));
        int64_t d = 1 + (int64_t)(pp_rand_next(&rng) % (5 * DAY_MS));
        if (i % 2)
            from = (i % 4 == 1 ? NY_SPRING_MS : NY_FALL_MS) - (int64_t)(pp_rand_next(&rng) % (3 * DAY_MS));
        int64_t t = pp_calendar_add_ms(&always, &new_york, from, d);
        int64_t e = pp_calendar_elapsed_ms(&always, &new_york, from, t);
        cr_assert_geq(e, d);
        cr_assert_lt(pp_calendar_elapsed_ms(&always, &new_york, from, t - 1), d);
        if (e != d) {
            cr_assert_eq(t, NY_SPRING_MS);
            exact_misses++;
        }
    }
    cr_assert_gt(exact_misses, 0); /* the case was exercised */
}

/* ---- zones with many changes, long spans ---- */

/* A zone of EST/EDT with n changes at 07:00Z on Sundays (02:00 EST, 03:00
 * EDT: never in business hours), the gaps irregular (1 to 60 weeks, a dense
 * stretch among them), so a lookup cannot rely on a steady pace. */
#define SUNDAY_1970_01_04_MS (3 * DAY_MS)
static void many_changes_zone(pp_zone_t *z, int n, uint64_t seed)
{
    pp_rand_t rng;
    rng_seed(&rng, seed);
    memset(z, 0, sizeof *z);
    strcpy(z->name, "Test/Irregular");
    z->initial_offset_s = EST * 3600;
    int64_t week = 0;
    for (int i = 0; i < n; i++) {
        week += (i > 40 && i < 90) ? 1 : 1 + (int64_t)(pp_rand_next(&rng) % 60);
        z->at_s[i] = (SUNDAY_1970_01_04_MS + week * 7 * DAY_MS + 7 * HOUR_MS) / 1000;
        z->offset_s[i] = (i % 2 ? EST : EDT) * 3600;
    }
    z->n_transitions = n;
}

static pp_zone_t fixed_zone(int32_t offset_s)
{
    pp_zone_t z;
    memset(&z, 0, sizeof z);
    strcpy(z.name, "Test/Fixed");
    z.initial_offset_s = offset_s;
    return z;
}

Test(calendar, zone_offsets_with_many_irregular_changes_match_a_linear_scan)
{
    static pp_zone_t z;
    many_changes_zone(&z, PP_ZONE_TRANSITIONS_MAX, 5);
    for (int i = 0; i < z.n_transitions; i++) {
        int64_t t = z.at_s[i] * 1000;
        cr_assert_eq(pp_zone_offset(&z, t), z.offset_s[i], "change %d", i);
        cr_assert_eq(pp_zone_offset(&z, t - 1), i ? z.offset_s[i - 1] : z.initial_offset_s, "before change %d", i);
    }
    pp_rand_t rng;
    rng_seed(&rng, 6);
    int64_t span = z.at_s[z.n_transitions - 1] * 1000 + 400 * DAY_MS;
    for (int k = 0; k < 20000; k++) {
        int64_t t = (int64_t)(pp_rand_next(&rng) % (uint64_t)span) - 200 * DAY_MS;
        cr_assert_eq(pp_zone_offset(&z, t), ref_offset_s(&z, t), "at %lld", (long long)t);
    }
}

Test(calendar, elapsed_across_many_changes_is_the_sum_of_its_fixed_offset_pieces, .timeout = 60)
{
    /* Every change falls on a Sunday, outside business hours, so business
     * time across one is the sum of the two sides, each counted at its own
     * fixed offset; and add() inverts elapsed() exactly over years. */
    static pp_zone_t z;
    many_changes_zone(&z, 300, 7);
    set(&business, "holidays", "1990-12-25 2000-01-03 2000-01-04 2026-12-25");
    pp_rand_t rng;
    rng_seed(&rng, 8);
    int64_t first = z.at_s[0] * 1000, last = z.at_s[z.n_transitions - 1] * 1000;
    for (int k = 0; k < 5000; k++) {
        int64_t a = first - 100 * DAY_MS + (int64_t)(pp_rand_next(&rng) % (uint64_t)(last - first + 200 * DAY_MS));
        int64_t b = a + (int64_t)(pp_rand_next(&rng) % (uint64_t)((k % 2 ? 60 : 5 * 365) * DAY_MS));
        int64_t want = 0, piece = a;
        int32_t off = z.initial_offset_s;
        for (int i = 0; i < z.n_transitions && piece < b; i++) {
            int64_t change = z.at_s[i] * 1000;
            if (change > piece) {
                pp_zone_t fz = fixed_zone(off);
                int64_t end = change < b ? change : b;
                want += pp_calendar_elapsed_ms(&business, &fz, piece, end);
                piece = end;
            }
            off = z.offset_s[i];
        }
        pp_zone_t fz = fixed_zone(off);
        want += pp_calendar_elapsed_ms(&business, &fz, piece, b);
        cr_assert_eq(pp_calendar_elapsed_ms(&business, &z, a, b), want, "elapsed(%lld, %lld)", (long long)a,
                     (long long)b);
        int64_t d = 1 + (int64_t)(pp_rand_next(&rng) % (uint64_t)((k % 2 ? 20 : 3 * 250) * 8 * HOUR_MS));
        int64_t t = pp_calendar_add_ms(&business, &z, a, d);
        cr_assert_eq(pp_calendar_elapsed_ms(&business, &z, a, t), d, "add(%lld, %lld)", (long long)a, (long long)d);
        cr_assert_eq(pp_calendar_elapsed_ms(&business, &z, a, t - 1), d - 1);
    }
}

/* ---- derived fields ---- */

Test(calendar, derive_tabulates_the_week_from_thursday)
{
    /* Mon-Fri: the week from Thursday is Thu Fri Sat Sun Mon Tue Wed */
    const uint8_t before[8] = {0, 1, 2, 2, 2, 3, 4, 5}, nth[8] = {0, 1, 2, 5, 6, 7, 0, 0};
    cr_assert_eq(memcmp(business.week_workdays_before, before, 8), 0);
    cr_assert_eq(memcmp(business.week_nth_workday_end, nth, 8), 0);
    set(&business, "workdays", "Sun");
    const uint8_t sun_before[8] = {0, 0, 0, 0, 1, 1, 1, 1}, sun_nth[8] = {0, 4, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(memcmp(business.week_workdays_before, sun_before, 8), 0);
    cr_assert_eq(memcmp(business.week_nth_workday_end, sun_nth, 8), 0);
    cr_assert_eq(always.week_workdays_before[7], 7);
}

Test(calendar, workdays_written_without_derive_still_count_as_written)
{
    /* the contract asks for pp_calendar_derive() after direct writes; a
     * caller that forgets it still gets the counts of what it wrote */
    pp_calendar_t direct = business, derived = business;
    direct.workdays = 0x4f; /* Sun-Thu, not derived */
    derived.workdays = 0x4f;
    pp_calendar_derive(&derived);
    int64_t thu = at(2026, 1, 15, 12, 0, EST), sun = at(2026, 1, 18, 12, 0, EST);
    cr_assert_eq(pp_calendar_elapsed_ms(&direct, &new_york, thu, sun), 8 * HOUR_MS);
    cr_assert_eq(pp_calendar_elapsed_ms(&direct, &new_york, thu, sun),
                 pp_calendar_elapsed_ms(&derived, &new_york, thu, sun));
    cr_assert_eq(pp_calendar_add_ms(&direct, &new_york, thu, 9 * HOUR_MS), at(2026, 1, 18, 13, 0, EST));
}

/* ---- parsers ---- */

Test(calendar, workdays_accept_ranges_lists_and_wrapping)
{
    char err[256];
    uint8_t w = 0;
    cr_assert_eq(pp_calendar_parse_workdays("Mon-Fri", &w, err, sizeof err), 0);
    cr_assert_eq(w, 0x1f);
    cr_assert_eq(pp_calendar_parse_workdays("mon,TUE, Thu", &w, err, sizeof err), 0);
    cr_assert_eq(w, 0x0b);
    cr_assert_eq(pp_calendar_parse_workdays("Sun-Thu", &w, err, sizeof err), 0);
    cr_assert_eq(w, 0x4f);
    cr_assert_eq(pp_calendar_parse_workdays("Mon - Wed, Fri", &w, err, sizeof err), 0);
    cr_assert_eq(w, 0x17);
    cr_assert_eq(pp_calendar_parse_workdays("Sat-Sat", &w, err, sizeof err), 0);
    cr_assert_eq(w, 0x20);
}

Test(calendar, workdays_reject_with_a_sentence)
{
    char err[256];
    uint8_t w = 0x55;
    cr_assert_eq(pp_calendar_parse_workdays("Monday-Fri", &w, err, sizeof err), -1);
    cr_assert_str_eq(err, "workdays \"Monday-Fri\": \"Monday\" is not a day (use Mon, Tue, Wed, Thu, Fri, "
                          "Sat, Sun: e.g. Mon-Fri or Mon,Tue,Thu)");
    cr_assert_eq(pp_calendar_parse_workdays("Mon-", &w, err, sizeof err), -1);
    cr_assert(strstr(err, "a range needs a day after \"-\""), "%s", err);
    cr_assert_eq(pp_calendar_parse_workdays("", &w, err, sizeof err), -1);
    cr_assert(strstr(err, "workdays is empty"), "%s", err);
    cr_assert_eq(pp_calendar_parse_workdays("Mon;Tue", &w, err, sizeof err), -1);
    cr_assert(strstr(err, "unexpected \";Tue\""), "%s", err);
    cr_assert_eq(w, 0x55, "OUT parameter untouched on error");
}

Test(calendar, hours_accept_times_of_day_up_to_midnight)
{
    char err[256];
    int32_t open = -1, close = -1;
    cr_assert_eq(pp_calendar_parse_hours("09:00-17:00", &open, &close, err, sizeof err), 0);
    cr_assert_eq(open, 9 * 3600);
    cr_assert_eq(close, 17 * 3600);
    cr_assert_eq(pp_calendar_parse_hours("00:00-24:00", &open, &close, err, sizeof err), 0);
    cr_assert_eq(open, 0);
    cr_assert_eq(close, 86400);
    cr_assert_eq(pp_calendar_parse_hours(" 8:30 - 12:45 ", &open, &close, err, sizeof err), 0);
    cr_assert_eq(open, 8 * 3600 + 30 * 60);
    cr_assert_eq(close, 12 * 3600 + 45 * 60);
}

Test(calendar, hours_reject_with_a_sentence)
{
    char err[256];
    int32_t open = 7, close = 8;
    cr_assert_eq(pp_calendar_parse_hours("17:00-09:00", &open, &close, err, sizeof err), -1);
    cr_assert_str_eq(err, "hours \"17:00-09:00\": opening must come before closing (hours past midnight are "
                          "not supported)");
    const char *bad[] = {"9-17", "09:00", "09:00-24:30", "25:00-26:00", "09:60-10:00", "09:00-17:00x", "", "09:000-10:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(pp_calendar_parse_hours(bad[i], &open, &close, err, sizeof err), -1, "%s", bad[i]);
        cr_assert(strstr(err, "are not HH:MM-HH:MM local time"), "%s: %s", bad[i], err);
    }
    cr_assert_eq(pp_calendar_parse_hours("24:00-24:00", &open, &close, err, sizeof err), -1);
    cr_assert_eq(open, 7);
    cr_assert_eq(close, 8);
}

Test(calendar, holidays_are_sorted_and_deduplicated)
{
    char err[256];
    cr_assert_eq(pp_calendar_parse_holidays("2026-12-25, 2026-12-24 2026-12-25,,2027-01-01", &business, err,
                                            sizeof err), 0, "%s", err);
    cr_assert_eq(business.n_holidays, 3);
    cr_assert_eq(business.holidays[0], 20811); /* 2026-12-24 */
    cr_assert_eq(business.holidays[1], 20812);
    cr_assert_eq(business.holidays[2], 20819); /* 2027-01-01 */
    cr_assert_eq(business.workday_holidays_before[3], 3);
    cr_assert_eq(pp_calendar_parse_holidays("", &business, err, sizeof err), 0);
    cr_assert_eq(business.n_holidays, 0);
    cr_assert_eq(pp_calendar_parse_holidays("2024-02-29", &business, err, sizeof err), 0);
}

Test(calendar, holidays_reject_with_a_sentence)
{
    char err[256];
    set(&business, "holidays", "2026-12-25");
    cr_assert_eq(pp_calendar_parse_holidays("2026-12-24, 24.12.2026", &business, err, sizeof err), -1);
    cr_assert_str_eq(err, "holidays: \"24.12.2026\" is not a date YYYY-MM-DD (e.g. 2026-12-24, 2026-12-25)");
    cr_assert_eq(pp_calendar_parse_holidays("2026-02-29", &business, err, sizeof err), -1);
    cr_assert_str_eq(err, "holidays: 2026-02-29 is not a date of the calendar (years 1970-9999)");
    cr_assert_eq(pp_calendar_parse_holidays("1969-12-31", &business, err, sizeof err), -1);
    cr_assert_eq(business.n_holidays, 1, "calendar untouched on error");
    cr_assert_eq(business.holidays[0], 20812);
}

Test(calendar, too_many_holidays_names_the_limit)
{
    char list[PP_HOLIDAYS_MAX * 12 + 32] = "", err[256];
    for (int i = 0; i <= PP_HOLIDAYS_MAX; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "2026-%02d-%02d ", 1 + i / 28, 1 + i % 28);
    cr_assert_eq(pp_calendar_parse_holidays(list, &business, err, sizeof err), -1);
    cr_assert_str_eq(err, "holidays: more than 64 dates (a calendar holds at most 64 distinct holidays)");
    /* duplicates do not count against it */
    char dup[PP_HOLIDAYS_MAX * 12 * 2 + 32] = "";
    for (int i = 0; i < PP_HOLIDAYS_MAX; i++)
        snprintf(dup + strlen(dup), sizeof dup - strlen(dup), "2026-%02d-%02d 2026-%02d-%02d ", 1 + i / 28,
                 1 + i % 28, 1 + i / 28, 1 + i % 28);
    cr_assert_eq(pp_calendar_parse_holidays(dup, &business, err, sizeof err), 0, "%s", err);
    cr_assert_eq(business.n_holidays, PP_HOLIDAYS_MAX);
}

Test(calendar, set_takes_the_four_keys_and_names_them_when_wrong)
{
    char err[256];
    pp_calendar_t cal;
    pp_calendar_business(&cal);
    set(&cal, "timezone", "Europe/Berlin");
    set(&cal, "workdays", "Sun-Thu");
    set(&cal, "hours", "08:00-16:00");
    set(&cal, "holidays", "2026-12-25");
    cr_assert_str_eq(cal.timezone, "Europe/Berlin");
    cr_assert_eq(cal.workdays, 0x4f);
    cr_assert_eq(cal.open_s, 8 * 3600);
    cr_assert_eq(cal.close_s, 16 * 3600);
    cr_assert_eq(cal.n_holidays, 1);
    cr_assert_eq(cal.workday_holidays_before[1], 0, "Friday 2026-12-25 is not a Sun-Thu workday");
    set(&cal, "workdays", "Mon-Fri"); /* set after the holidays: they count again */
    cr_assert_eq(cal.workday_holidays_before[1], 1);

    pp_calendar_t before = cal;
    cr_assert_eq(pp_calendar_set(&cal, "hours", "9 to 5", err, sizeof err), -1);
    cr_assert_eq(pp_calendar_set(&cal, "workdays", "weekdays", err, sizeof err), -1);
    cr_assert_eq(pp_calendar_set(&cal, "timezone", "America/Argentina/ComodRivadavia/And/Then/Some/More", err,
                                 sizeof err), -1);
    cr_assert(strstr(err, "is too long"), "%s", err);
    cr_assert_eq(pp_calendar_set(&cal, "opening", "09:00", err, sizeof err), -1);
    cr_assert_str_eq(err, "unknown calendar key \"opening\" (timezone, workdays, hours or holidays)");
    cr_assert_eq(memcmp(&before, &cal, sizeof cal), 0, "calendar unchanged by rejected settings");
    cr_assert_eq(pp_calendar_set(&cal, "timezone", "", err, sizeof err), 0);
    cr_assert_str_eq(cal.timezone, "");
}

Test(calendar, errors_fit_a_short_or_missing_buffer)
{
    char err[8];
    uint8_t w;
    cr_assert_eq(pp_calendar_parse_workdays("Xyz", &w, err, sizeof err), -1);
    cr_assert_eq(strlen(err), 7);
    cr_assert_eq(pp_calendar_parse_workdays("Xyz", &w, NULL, 0), -1);
}
