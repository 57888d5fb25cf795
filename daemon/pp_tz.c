/*
 * pp_tz: time zone tables from ICU (see pp_tz.h).
 *
 * Why ICU and not the system's TZif files (/usr/share/zoneinfo): ICU is a
 * library we keep anyway, and it answers for any year from the zone's
 * current rule. TZif files do not: "fat" ones list transitions only up to
 * 2037 and leave later years to a POSIX TZ footer ("EST5EDT,M3.2.0,M11.1.0")
 * that we would have to parse and evaluate ourselves; "slim" ones (zic's
 * default since 2020b) leave everything after the last rule change to it.
 * Deadlines months ahead and alert history replayed years later need those
 * future rules, so we ask ICU for every transition up to 2100 and hand the
 * core a plain table (the core stays pure: DESIGN §4).
 *
 * The price: ICU carries its own copy of the IANA database, as fresh as the
 * libicu package, not as the tzdata package. Debian 12's libicu72 has 2022e
 * (while its tzdata has 2025b): Mexico without DST since 2022, Kazakhstan on
 * one zone since 2024, Egypt's, Paraguay's and Greenland's changes are not
 * in it. ICU reads newer data files (zoneinfo64.res etc. from
 * unicode-org/icu-data) from the directory in ICU_TIMEZONE_FILES_DIR;
 * pp_tz_data_version() says which version is in use.
 */
#include "pp_tz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pp_text.h"

#include <unicode/ucal.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#define TZ_FROM_MS 0.0                 /* 1970-01-01T00:00:00Z */
#define TZ_UNTIL_MS 4102444800000.0    /* 2100-01-01T00:00:00Z */
#define CANONICAL_MAX 64               /* UChars of a canonical zone ID, with room to spare */

/* IANA names are ASCII letters, digits and "/_+-" (ICU's invariant
 * characters, so u_charsToUChars() converts them exactly). */
static bool name_chars_ok(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

/* UTC offset in effect at the calendar's current instant, seconds east. */
static int32_t current_offset_s(const UCalendar *cal, UErrorCode *status)
{
    int32_t ms = ucal_get(cal, UCAL_ZONE_OFFSET, status) + ucal_get(cal, UCAL_DST_OFFSET, status);
    return ms / 1000;
}

int pp_tz_load(const char *iana_name, pp_zone_t *out, char *err, size_t err_len)
{
    static const char hint[] = "use an IANA name such as Europe/Berlin";
    pp_zone_t zone; /* written to *out only on success */
    UChar id[PP_ZONE_NAME_MAX], canonical[CANONICAL_MAX];
    char canonical_name[CANONICAL_MAX] = "";
    UBool is_system = 0;
    UCalendar *cal = NULL;
    UErrorCode status = U_ZERO_ERROR;
    int32_t last;
    int rc = 0;

    if (iana_name == NULL || iana_name[0] == '\0' || strcmp(iana_name, "UTC") == 0) {
        pp_zone_utc(out);
        return 0;
    }
    size_t len = strlen(iana_name);
    if (len >= sizeof zone.name) {
        pp_text_error(err, err_len, "time zone name \"%.60s...\" is too long (at most %d bytes; %s)", iana_name,
               PP_ZONE_NAME_MAX - 1, hint);
        return -ENAMETOOLONG;
    }
    if (!name_chars_ok(iana_name)) {
        pp_text_error(err, err_len, "unknown time zone: the name has characters no IANA name has (%s)", hint);
        return -ENOENT;
    }

    u_charsToUChars(iana_name, id, (int32_t)len + 1);
    /* ICU opens any unknown name as GMT ("Etc/Unknown") without an error:
     * only a system zone ID, known to its database, is a real zone. */
    int32_t canonical_len =
        ucal_getCanonicalTimeZoneID(id, (int32_t)len, canonical, CANONICAL_MAX, &is_system, &status);
    if (U_SUCCESS(status) && canonical_len > 0 && canonical_len < (int32_t)sizeof canonical_name)
        u_UCharsToChars(canonical, canonical_name, canonical_len + 1);
    if (U_FAILURE(status) || !is_system || strcmp(canonical_name, "Etc/Unknown") == 0) {
        pp_text_error(err, err_len, "unknown time zone \"%s\" (%s)", iana_name, hint);
        return -ENOENT;
    }

    memset(&zone, 0, sizeof zone);
    memcpy(zone.name, iana_name, len + 1);
    cal = ucal_open(id, (int32_t)len, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE(status))
        goto icu_failed;
    ucal_setMillis(cal, TZ_FROM_MS, &status);
    zone.initial_offset_s = current_offset_s(cal, &status);
    last = zone.initial_offset_s;
    for (;;) {
        UDate when;
        if (U_FAILURE(status))
            goto icu_failed;
        if (!ucal_getTimeZoneTransitionDate(cal, UCAL_TZ_TRANSITION_NEXT, &when, &status) ||
            U_FAILURE(status) || when >= TZ_UNTIL_MS)
            break;
        ucal_setMillis(cal, when, &status);
        int32_t offset = current_offset_s(cal, &status);
        if (offset == last) /* ICU also reports changes of name or of the raw/DST split */
            continue;
        if (zone.n_transitions == PP_ZONE_TRANSITIONS_MAX) {
            pp_text_error(err, err_len,
                   "time zone \"%s\" changes its UTC offset more than %d times between 1970 and 2100",
                   iana_name, PP_ZONE_TRANSITIONS_MAX);
            rc = -E2BIG;
            goto out;
        }
        /* transitions are on whole seconds since 1970 (floor for safety) */
        int64_t at_ms = (int64_t)when;
        zone.at_s[zone.n_transitions] = at_ms / 1000 - (at_ms % 1000 < 0);
        zone.offset_s[zone.n_transitions] = offset;
        zone.n_transitions++;
        last = offset;
    }
    if (U_FAILURE(status))
        goto icu_failed;
    *out = zone;
    goto out;

icu_failed:
    pp_text_error(err, err_len, "time zone \"%s\": ICU failed (%s)", iana_name, u_errorName(status));
    rc = -EIO;
out:
    if (cal != NULL)
        ucal_close(cal);
    return rc;
}

const char *pp_tz_data_version(void)
{
    UErrorCode status = U_ZERO_ERROR;
    const char *v = ucal_getTZDataVersion(&status);
    return U_SUCCESS(status) && v != NULL ? v : "unknown";
}
