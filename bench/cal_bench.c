/*
 * cal_bench: micro-benchmark of pp_calendar_elapsed_ms() and
 * pp_calendar_add_ms() alone, on the inputs the engine gives them.
 *
 * One case per run: a calendar (`business`, or `business` with the 2026 US
 * federal holidays), a zone (UTC, or America/New_York built by hand from the
 * US rules 1970-2100: 262 changes, as many as ICU's table), one operation and
 * a span. It draws --calls random inputs (from uniform over 2026 to the ms;
 * elapsed: to = from + up to --span-days; add: up to --span-days worth of
 * business time), all before the timed loop, then calls the operation on
 * each once and prints the time per call and a digest of every result.
 *
 * The digest is the point: an optimisation of pp_calendar must leave it
 * unchanged for every case and seed. Instruction counts per call come from
 * callgrind, which are the same on any machine (seconds are not):
 *
 *   valgrind --tool=callgrind --toggle-collect=pp_calendar_elapsed_ms \
 *       build/rel/bench/cal_bench --op elapsed --zone new_york
 *   total Ir / --calls = instructions per call (inclusive)
 *
 * Exit status: 0 ran, 2 usage error, 3 out of memory.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_calendar.h"
#include "pp_rand.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define T0_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Day of the n-th Sunday of a month (n = -1: the last one). */
static int64_t sunday(int64_t y, int64_t m, int n)
{
    if (n < 0) {
        int64_t last = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
        return last - ((last + 3) % 7 + 1) % 7; /* day 0 was a Thursday: (day + 3) % 7 == 6 is Sunday */
    }
    int64_t first = days_from_civil(y, m, 1);
    return first + (6 - (first + 3) % 7) + 7 * (n - 1);
}

/* America/New_York by the US rules: EST -5, EDT -4, changes at 02:00 local. */
static void new_york(pp_zone_t *z)
{
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "America/New_York");
    z->initial_offset_s = -5 * 3600;
    int n = 0;
    for (int64_t y = 1970; y <= 2100 && n + 2 <= PP_ZONE_TRANSITIONS_MAX; y++) {
        int64_t on, off;
        if (y == 1974)
            on = days_from_civil(1974, 1, 6), off = sunday(y, 10, -1);
        else if (y == 1975)
            on = days_from_civil(1975, 2, 23), off = sunday(y, 10, -1);
        else if (y < 1987)
            on = sunday(y, 4, -1), off = sunday(y, 10, -1);
        else if (y < 2007)
            on = sunday(y, 4, 1), off = sunday(y, 10, -1);
        else
            on = sunday(y, 3, 2), off = sunday(y, 11, 1);
        z->at_s[n] = on * 86400 + 7 * 3600; /* 02:00 EST */
        z->offset_s[n++] = -4 * 3600;
        z->at_s[n] = off * 86400 + 6 * 3600; /* 02:00 EDT */
        z->offset_s[n++] = -5 * 3600;
    }
    z->n_transitions = n;
}

static void usage(void)
{
    fprintf(stderr, "usage: cal_bench [--op elapsed|add] [--zone utc|new_york] [--calendar business|holidays]\n"
                    "                 [--span-days D] [--calls N] [--seed S]\n");
}

int main(int argc, char **argv)
{
    const char *op = "elapsed", *zone_name = "utc", *cal_name = "business";
    int64_t span_days = 7, calls = 1000000;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--op") == 0)
            op = v;
        else if (strcmp(a, "--zone") == 0)
            zone_name = v;
        else if (strcmp(a, "--calendar") == 0)
            cal_name = v;
        else if (strcmp(a, "--span-days") == 0)
            span_days = strtoll(v, NULL, 10);
        else if (strcmp(a, "--calls") == 0)
            calls = strtoll(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else {
            usage();
            return 2;
        }
        i++;
    }
    int is_add = strcmp(op, "add") == 0;
    if ((!is_add && strcmp(op, "elapsed") != 0) || span_days < 1 || span_days > 3650 || calls < 1 ||
        calls > 100000000) {
        usage();
        return 2;
    }

    static pp_zone_t zone;
    if (strcmp(zone_name, "utc") == 0)
        pp_zone_utc(&zone);
    else if (strcmp(zone_name, "new_york") == 0)
        new_york(&zone);
    else {
        usage();
        return 2;
    }
    pp_calendar_t cal;
    pp_calendar_business(&cal);
    if (strcmp(cal_name, "holidays") == 0) {
        char err[256];
        if (pp_calendar_set(&cal, "holidays",
                            "2026-01-01 2026-01-19 2026-02-16 2026-05-25 2026-06-19 2026-07-03 "
                            "2026-09-07 2026-10-12 2026-11-11 2026-11-26 2026-12-25 2027-01-01",
                            err, sizeof err) != 0) {
            fprintf(stderr, "cal_bench: %s\n", err);
            return 2;
        }
    } else if (strcmp(cal_name, "business") != 0) {
        usage();
        return 2;
    }

    int64_t *from = malloc(sizeof(int64_t) * (size_t)calls);
    int64_t *arg = malloc(sizeof(int64_t) * (size_t)calls);
    if (from == NULL || arg == NULL) {
        fprintf(stderr, "cal_bench: out of memory\n");
        free(from);
        free(arg);
        return 3;
    }
    pp_rand_t rng;
    for (int i = 0; i < 4; i++)
        rng.s[i] = pp_splitmix64(&seed);
    /* add: up to span_days of real time in business time (5 of 7 days, 8 of 24 h) */
    int64_t max_arg = is_add ? span_days * pp_calendar_day_ms(&cal) * 5 / 7 : span_days * DAY_MS;
    for (int64_t i = 0; i < calls; i++) {
        from[i] = T0_MS + (int64_t)(pp_rand_next(&rng) % (uint64_t)(365 * DAY_MS));
        int64_t r = 1 + (int64_t)(pp_rand_next(&rng) % (uint64_t)max_arg);
        arg[i] = is_add ? r : from[i] + r;
    }

    struct timespec t0, t1;
    uint64_t digest = 1469598103934665603ULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t i = 0; i < calls; i++) {
        int64_t r = is_add ? pp_calendar_add_ms(&cal, &zone, from[i], arg[i])
                           : pp_calendar_elapsed_ms(&cal, &zone, from[i], arg[i]);
        digest = (digest ^ (uint64_t)r) * 1099511628211ULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)calls;
    printf("op=%s zone=%s transitions=%d calendar=%s span_days=%" PRId64 " calls=%" PRId64
           " ns_per_call=%.1f digest=%016" PRIx64 "\n",
           op, zone_name, zone.n_transitions, cal_name, span_days, calls, ns, digest);
    free(from);
    free(arg);
    return 0;
}
