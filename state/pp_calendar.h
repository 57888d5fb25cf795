/*
 * pp_calendar: business time (DESIGN §4 "Business time", §6).
 *
 * A calendar says which local hours count: the workdays of the week, the
 * opening hours of each workday and a list of holidays (local dates). A zone
 * says what "local" means: a table of UTC offset changes. Response times,
 * reply_overdue, follow-up ages and going_dark are measured with
 * pp_calendar_elapsed_ms(); their deadlines come from pp_calendar_add_ms().
 *
 * Both run on every event over spans of months, so neither walks days or
 * hours: whole weeks are counted by arithmetic, holidays and zone offsets
 * are found by binary search (O(log n) in the tables, O(1) in the span).
 *
 * How local time is accounted. An instant maps to its local wall-clock time
 * in the zone; business time is the length of business hours between the two
 * local times. So on the day of a DST change, 09:00-17:00 local is still 8
 * business hours. If a change falls *inside* business hours (rare: most zones
 * change at night, but a 00:00-24:00 calendar with holidays sees every one):
 *   - clocks going forward: the skipped local hour counts, at the instant of
 *     the change (business time jumps by it);
 *   - clocks going back: the repeated local hour counts once (business time
 *     stands still during the second pass).
 * A business day is therefore always close - open, whatever the zone does.
 * Exception, by design: a calendar open every day 00:00-24:00 with no
 * holidays measures real time exactly (its fast path), so a 24x7 clock has
 * 23- and 25-hour days.
 *
 * Zone data comes in as data (daemon/pp_tz.c loads it from ICU); nothing here
 * reads the system time zone database or the clock. Pure: no I/O, no
 * logging, no globals.
 *
 * Instants are Unix milliseconds. They are meant to lie within
 * +-PP_CAL_INSTANT_LIMIT_MS; outside that they are clamped to it.
 */
#ifndef PP_CALENDAR_H
#define PP_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define PP_ZONE_NAME_MAX 48           /* bytes of a zone name, NUL included */
#define PP_ZONE_TRANSITIONS_MAX 320   /* offset changes kept: 1970-2100 of any IANA zone fits */
#define PP_CALENDAR_NAME_MAX 24       /* bytes of a calendar name, NUL included */
#define PP_HOLIDAYS_MAX 64            /* holidays per calendar */
#define PP_CAL_INSTANT_LIMIT_MS 10000000000000000LL /* 1e16 ms, about 300 000 years */

/*
 * A time zone: the UTC offset in effect at every instant, as a sorted table
 * of changes. Pair i says: from at_s[i] on (until at_s[i + 1]), the offset is
 * offset_s[i]; before at_s[0] it is initial_offset_s. at_s is strictly
 * ascending and no two consecutive offsets are equal. Fixed size and
 * pointer-free (it can be copied and shared as plain data).
 */
typedef struct pp_zone {
    char name[PP_ZONE_NAME_MAX];              /* IANA name as configured ("UTC" for UTC) */
    int32_t initial_offset_s;                 /* seconds east of UTC before the first change */
    int32_t n_transitions;                    /* pairs used, 0..PP_ZONE_TRANSITIONS_MAX */
    int64_t at_s[PP_ZONE_TRANSITIONS_MAX];    /* instant of change i, Unix seconds (UTC) */
    int32_t offset_s[PP_ZONE_TRANSITIONS_MAX]; /* seconds east of UTC from at_s[i] on */
} pp_zone_t;

/*
 * A business calendar. Set it up with pp_calendar_business() or
 * pp_calendar_always(), then pp_calendar_set() per configured key; code that
 * writes the fields directly calls pp_calendar_derive() afterwards.
 */
typedef struct pp_calendar {
    char name[PP_CALENDAR_NAME_MAX];      /* "business", "always", or the config's [calendar:<name>] */
    char timezone[PP_ZONE_NAME_MAX];      /* the calendar's own IANA zone, "" = UTC (a partner's
                                             profile timezone takes precedence; DESIGN §4) */
    uint8_t workdays;                     /* bit 0 = Monday ... bit 6 = Sunday; bit 7 unused */
    uint8_t n_holidays;                   /* holidays used, 0..PP_HOLIDAYS_MAX */
    int32_t open_s;                       /* opening time, seconds after local midnight, 0 <= open_s */
    int32_t close_s;                      /* closing time, open_s < close_s <= 86400 */
    int32_t holidays[PP_HOLIDAYS_MAX];    /* local dates closed all day, as days since
                                             1970-01-01, ascending, unique */
    /* Derived by pp_calendar_derive() (pp_calendar_set() and the built-in
     * constructors keep them up to date), so that counting business days is
     * table lookups: */
    uint8_t workday_holidays_before[PP_HOLIDAYS_MAX + 1]; /* how many of holidays[0 .. i-1] fall on a
                                             workday, i = 0..n_holidays (a holiday on a day the
                                             calendar is closed anyway removes nothing) */
    uint8_t week_workdays_before[8];      /* workdays among the first i days of a week that starts
                                             on a Thursday (as day 0, 1970-01-01, does), i = 0..7;
                                             [7] is the workdays per week */
    uint8_t week_nth_workday_end[8];      /* for k = 1..week_workdays_before[7]: the least i with
                                             week_workdays_before[i] >= k (1 + the k-th workday's
                                             place in that week); 0 elsewhere */
    uint8_t derived_workdays;             /* workdays as of the last derive: when it differs, the
                                             week tables are stale and elapsed/add derive a copy */
} pp_calendar_t;

/* Make *zone UTC: name "UTC", offset 0, no changes. */
void pp_zone_utc(pp_zone_t *zone);

/* The UTC offset (seconds east) in effect at unix_ms. O(log n_transitions). */
int32_t pp_zone_offset(const pp_zone_t *zone, int64_t unix_ms);

/* Built-in calendars (DESIGN §4), timezone "" and no holidays:
 * "business" is Mon-Fri 09:00-17:00, "always" every day 00:00-24:00. */
void pp_calendar_business(pp_calendar_t *cal);
void pp_calendar_always(pp_calendar_t *cal);

/* Normalise after direct writes to the fields: sort and deduplicate the
 * holidays (n_holidays is clamped to PP_HOLIDAYS_MAX) and recompute the
 * derived fields. Elapsed and add count with them; they notice workdays
 * written since (derived_workdays) and then derive a copy for the call, but
 * holidays written directly count only once derived. */
void pp_calendar_derive(pp_calendar_t *cal);

/*
 * Business milliseconds between two instants, in cal's hours and zone's local
 * time (see the file comment for DST). 0 when to_ms <= from_ms. Monotonic in
 * to_ms. A 24x7 calendar with no holidays returns to_ms - from_ms exactly,
 * whatever the zone. A calendar with no workdays (or no opening hours)
 * returns 0. O(log holidays + log transitions): one search of the zone
 * (to_ms walks on from from_ms's change when at most two lie between),
 * none in a zone without changes (UTC); no holiday search without holidays.
 */
int64_t pp_calendar_elapsed_ms(const pp_calendar_t *cal, const pp_zone_t *zone, int64_t from_ms,
                               int64_t to_ms);

/*
 * The earliest instant t >= from_ms with
 * pp_calendar_elapsed_ms(cal, zone, from_ms, t) >= business_ms: the deadline
 * "business_ms of business time after from_ms". from_ms when business_ms <= 0.
 * INT64_MAX ("never") when the calendar has no business time at all, or the
 * deadline lies beyond PP_CAL_INSTANT_LIMIT_MS.
 *
 * It inverts elapsed exactly: elapsed(from, add(from, d)) == d, and
 * elapsed(from, add(from, d) - 1) == d - 1, across holidays and DST changes,
 * except when the deadline falls in local hours a forward DST change skips
 * inside business hours: then it is the instant of the change, where elapsed
 * first exceeds d. O(log transitions + k log holidays), k at most 1 + the
 * workday holidays between from_ms and the deadline; one search of the zone
 * when the deadline is within three changes of from_ms, none in a zone
 * without changes (UTC).
 */
int64_t pp_calendar_add_ms(const pp_calendar_t *cal, const pp_zone_t *zone, int64_t from_ms,
                           int64_t business_ms);

/* The length of one business day, (close_s - open_s) in ms: thresholds in
 * business days are multiples of it (8 h for "business", 24 h for "always"). */
int64_t pp_calendar_day_ms(const pp_calendar_t *cal);

/*
 * Parsers for the [calendar:<name>] keys. Each returns 0 and writes its OUT
 * parameter, or returns -1 with a sentence in err (err_len bytes, may be 0)
 * and leaves the OUT parameter untouched.
 */

/* Workdays as case-insensitive 3-letter day names: a range "Mon-Fri" (ranges
 * wrap: "Sun-Thu" is Sunday to Thursday), a list "Mon,Tue,Thu", or both
 * ("Mon-Wed, Fri"). OUT *out: the bit mask (bit 0 = Monday). */
int pp_calendar_parse_workdays(const char *s, uint8_t *out, char *err, size_t err_len);

/* Opening hours "HH:MM-HH:MM" local time, "24:00" allowed as the closing
 * time only ("00:00-24:00" is the whole day). Opening must come before
 * closing (hours past midnight are not supported). OUT *open_s, *close_s. */
int pp_calendar_parse_hours(const char *s, int32_t *open_s, int32_t *close_s, char *err, size_t err_len);

/* Holidays as ISO dates "YYYY-MM-DD" (years 1970-9999) separated by commas
 * and/or spaces; "" means none. Sorted and deduplicated, at most
 * PP_HOLIDAYS_MAX distinct dates. OUT: cal's holiday fields (replaced, then
 * pp_calendar_derive()). */
int pp_calendar_parse_holidays(const char *s, pp_calendar_t *cal, char *err, size_t err_len);

/* Set one [calendar:<name>] key: "timezone" (stored as a name only: the
 * daemon's zone loader validates it), "workdays", "hours" or "holidays".
 * Returns 0, or -1 with a sentence in err and cal unchanged. */
int pp_calendar_set(pp_calendar_t *cal, const char *key, const char *value, char *err, size_t err_len);

#endif
