/*
 * pp_tz: zone tables loaded from ICU, checked at hand-picked instants (2026
 * and 2099, past the 2037 end of fat TZif files) and, for every zone ICU
 * knows, against ICU itself.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/uenum.h>
#include <unicode/ustring.h>

#include "pp_calendar.h"
#include "pp_tz.h"

#define HOUR_S 3600
#define HOUR_MS 3600000LL

static pp_zone_t zone;
static char err[256];

static void load_ok(const char *name)
{
    err[0] = '\0';
    cr_assert_eq(pp_tz_load(name, &zone, err, sizeof err), 0, "%s: %s", name, err);
}

Test(tz, new_york_2026_changes_on_the_second_sunday_of_march_and_first_of_november)
{
    load_ok("America/New_York");
    cr_assert_str_eq(zone.name, "America/New_York");
    cr_assert_eq(pp_zone_offset(&zone, 1768478400000LL), -5 * HOUR_S); /* 2026-01-15T12:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 1772953200000LL - 1), -5 * HOUR_S); /* 2026-03-08T07:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 1772953200000LL), -4 * HOUR_S);
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), -4 * HOUR_S); /* 2026-07-01T12:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 1793512800000LL - 1), -4 * HOUR_S); /* 2026-11-01T06:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 1793512800000LL), -5 * HOUR_S);
}

Test(tz, new_york_2099_still_has_dst)
{
    load_ok("America/New_York");
    cr_assert_eq(pp_zone_offset(&zone, 4076636400000LL - 1), -5 * HOUR_S); /* 2099-03-08T07:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 4076636400000LL), -4 * HOUR_S);
    cr_assert_eq(pp_zone_offset(&zone, 4097196000000LL - 1), -4 * HOUR_S); /* 2099-11-01T06:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 4097196000000LL), -5 * HOUR_S);
    /* two changes a year, 1970-2099, plus the 1974-75 energy-crisis years */
    cr_assert_geq(zone.n_transitions, 2 * 130);
    cr_assert_leq(zone.n_transitions, PP_ZONE_TRANSITIONS_MAX);
}

Test(tz, berlin_2026_changes_at_one_utc)
{
    load_ok("Europe/Berlin");
    cr_assert_eq(pp_zone_offset(&zone, 1774746000000LL - 1), 1 * HOUR_S); /* 2026-03-29T01:00Z */
    cr_assert_eq(pp_zone_offset(&zone, 1774746000000LL), 2 * HOUR_S);
}

Test(tz, tokyo_is_nine_hours_east_throughout)
{
    load_ok("Asia/Tokyo");
    cr_assert_eq(zone.initial_offset_s, 9 * HOUR_S);
    cr_assert_eq(zone.n_transitions, 0);
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), 9 * HOUR_S);
}

Test(tz, utc_and_empty_are_utc)
{
    load_ok("UTC");
    cr_assert_str_eq(zone.name, "UTC");
    cr_assert_eq(zone.n_transitions, 0);
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), 0);
    memset(&zone, 0x5a, sizeof zone);
    load_ok("");
    cr_assert_str_eq(zone.name, "UTC");
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), 0);
    load_ok("Etc/UTC");
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), 0);
}

Test(tz, links_are_accepted_under_the_name_given)
{
    load_ok("US/Eastern");
    cr_assert_str_eq(zone.name, "US/Eastern");
    cr_assert_eq(pp_zone_offset(&zone, 1782907200000LL), -4 * HOUR_S);
}

Test(tz, unknown_zone_is_rejected_with_a_sentence)
{
    load_ok("Asia/Tokyo");
    pp_zone_t before = zone;
    cr_assert_eq(pp_tz_load("Mars/Olympus", &zone, err, sizeof err), -ENOENT);
    cr_assert_str_eq(err, "unknown time zone \"Mars/Olympus\" (use an IANA name such as Europe/Berlin)");
    cr_assert_eq(memcmp(&before, &zone, sizeof zone), 0, "OUT parameter untouched on error");
    cr_assert_eq(pp_tz_load("Etc/Unknown", &zone, err, sizeof err), -ENOENT);
    cr_assert_eq(pp_tz_load("GMT+05:00", &zone, err, sizeof err), -ENOENT, "custom IDs are not IANA names");
    cr_assert_eq(pp_tz_load("Europe/Berlin ", &zone, err, sizeof err), -ENOENT);
    cr_assert(strstr(err, "use an IANA name"), "%s", err);
    cr_assert_eq(pp_tz_load("Europe/Berlin/And/A/Name/Far/Too/Long/For/The/Table", &zone, err, sizeof err),
                 -ENAMETOOLONG);
    cr_assert(strstr(err, "is too long"), "%s", err);
}

Test(tz, business_time_over_a_loaded_zone)
{
    /* Fri 2026-03-06 12:00 EST .. Tue 2026-03-10 12:00 EDT: 16 business hours */
    load_ok("America/New_York");
    pp_calendar_t cal;
    pp_calendar_business(&cal);
    cr_assert_eq(pp_calendar_elapsed_ms(&cal, &zone, 1772816400000LL, 1773158400000LL), 16 * HOUR_MS);
}

/* Every canonical zone ICU knows fits the table, and the table gives ICU's
 * own offset at instants every 97 days from 1970 to 2100. */
Test(tz, every_icu_zone_loads_and_agrees_with_icu, .timeout = 110)
{
    UErrorCode status = U_ZERO_ERROR;
    UEnumeration *ids = ucal_openTimeZoneIDEnumeration(UCAL_ZONE_TYPE_CANONICAL, NULL, NULL, &status);
    cr_assert(U_SUCCESS(status));
    int zones = 0, most = 0;
    char most_name[PP_ZONE_NAME_MAX] = "";
    const char *id;
    int32_t len;
    while ((id = uenum_next(ids, &len, &status)) != NULL) {
        cr_assert(U_SUCCESS(status));
        load_ok(id);
        zones++;
        if (zone.n_transitions > most) {
            most = zone.n_transitions;
            snprintf(most_name, sizeof most_name, "%s", id);
        }
        for (int i = 1; i < zone.n_transitions; i++)
            cr_assert_lt(zone.at_s[i - 1], zone.at_s[i], "%s", id);
        UChar uid[PP_ZONE_NAME_MAX];
        u_charsToUChars(id, uid, len + 1);
        UCalendar *cal = ucal_open(uid, len, "en_US_POSIX", UCAL_GREGORIAN, &status);
        cr_assert(U_SUCCESS(status));
        for (int64_t t = 0; t < 4102444800000LL; t += 97 * 86400000LL + 12345) {
            ucal_setMillis(cal, (UDate)t, &status);
            int32_t icu = (ucal_get(cal, UCAL_ZONE_OFFSET, &status) + ucal_get(cal, UCAL_DST_OFFSET, &status)) / 1000;
            cr_assert_eq(pp_zone_offset(&zone, t), icu, "%s at %lld", id, (long long)t);
        }
        ucal_close(cal);
    }
    uenum_close(ids);
    cr_assert_gt(zones, 300);
    cr_log_info("%d zones (ICU tz data %s); most offset changes 1970-2100: %d (%s)", zones,
                ucal_getTZDataVersion(&status), most, most_name);
}
