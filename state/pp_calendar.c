/*
 * pp_calendar: business time over calendars and zone tables (see pp_calendar.h).
 *
 * The arithmetic, in one picture. Let L(t) be the local wall-clock time of
 * instant t (milliseconds, "local epoch" = 1970-01-01 00:00 local), made
 * non-decreasing: during the hour a backward DST change repeats, L stands
 * still at the moment of the change. Let B(l) be the business time from the
 * local epoch up to local time l:
 *
 *   B(l) = (workdays before day(l) - workday holidays before day(l)) * day_ms
 *          + the part of day(l)'s opening hours before l (if it is open)
 *
 * Workdays before a day are whole weeks times the workdays per week plus a
 * prefix of at most 6 days, both from a derived table of the week;
 * workday holidays before a day are one binary search plus the derived
 * prefix count. Then
 *
 *   elapsed(from, to) = B(L(to)) - B(L(from))
 *   add(from, d)      = the least t with L(t) >= the least l with B(l) >= B(L(from)) + d
 *
 * B is continuous, so the second inverts the first exactly wherever L does
 * not jump (a forward DST change inside business hours; see the header).
 * The least l is whole weeks by one division and the day of the week by a
 * derived table, so neither direction walks days; the zone is searched once
 * per call (the other instant walks on from there).
 */
#include "pp_calendar.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pp_text.h"

#define DAY_S 86400
#define DAY_MS 86400000LL
#define LIMIT_MS PP_CAL_INSTANT_LIMIT_MS
#define LIMIT_S (PP_CAL_INSTANT_LIMIT_MS / 1000)
#define ALL_DAYS 0x7f

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- integer helpers ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp64(int64_t x, int64_t lo, int64_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* ---- zones ---- */

void pp_zone_utc(pp_zone_t *zone)
{
    memset(zone, 0, sizeof *zone);
    snprintf(zone->name, sizeof zone->name, "UTC");
}

static int32_t zone_count(const pp_zone_t *z)
{
    if (z->n_transitions < 0)
        return 0;
    return z->n_transitions > PP_ZONE_TRANSITIONS_MAX ? PP_ZONE_TRANSITIONS_MAX : z->n_transitions;
}

/* Change i's instant in ms (clamped so hostile tables cannot overflow). */
static int64_t zone_at_ms(const pp_zone_t *z, int32_t i)
{
    return clamp64(z->at_s[i], -LIMIT_S, LIMIT_S) * 1000;
}

/* Offset (ms) in effect before change i, i.e. after change i - 1. */
static int64_t zone_offset_before_ms(const pp_zone_t *z, int32_t i)
{
    return (int64_t)(i > 0 ? z->offset_s[i - 1] : z->initial_offset_s) * 1000;
}

/* Unix second of unix_ms, rounded down, for |unix_ms| <= LIMIT_MS: biased
 * to be non-negative, so the division is an unsigned one by a constant (a
 * multiply) with no sign fix-up. */
static int64_t second_of(int64_t unix_ms)
{
    return (int64_t)((uint64_t)(unix_ms + LIMIT_MS) / 1000u) - LIMIT_S;
}

/* One halving step of zone_search: the count moves up by h if it can. */
#define ZONE_STEP(h) (i += z->at_s[i + (h) - 1] <= s ? (h) : 0)

/* The number of changes at or before unix second s, 1 <= n <= 320, by
 * branch-free halving over a power of two, unrolled (n < 2^9): the same
 * answer as any binary search, at_s being sorted. */
static int32_t zone_search(const pp_zone_t *z, uint32_t n, int64_t s)
{
    int log2 = 31 - __builtin_clz(n);
    uint32_t step = 1u << log2; /* the largest power of two <= n */
    uint32_t i = z->at_s[step - 1] <= s ? n - step : 0; /* the count is in [i, i + step] */
    switch (log2) { /* halve step down to 1, keeping the count in [i, i + step] */
    case 8: ZONE_STEP(128); /* fall through */
    case 7: ZONE_STEP(64); /* fall through */
    case 6: ZONE_STEP(32); /* fall through */
    case 5: ZONE_STEP(16); /* fall through */
    case 4: ZONE_STEP(8); /* fall through */
    case 3: ZONE_STEP(4); /* fall through */
    case 2: ZONE_STEP(2); /* fall through */
    case 1: ZONE_STEP(1); /* fall through */
    default: break;
    }
    return (int32_t)(i + (z->at_s[i] <= s));
}
#undef ZONE_STEP

/* The last change at or before unix second s, -1 if none. Profiled: a
 * binary search was a third of elapsed on a 260-change zone. Most zones
 * change at a steady pace (twice a year) or have stopped changing, so: past
 * the last change or before the first, at once; between, a guess in
 * proportion to the time, checked, and stepped up to three times; a search
 * when the guess is farther off. The same answer as a binary search, at_s being
 * sorted. */
static int32_t zone_index(const pp_zone_t *z, int64_t s)
{
    int32_t n = zone_count(z), last = n - 1;
    if (n == 0 || s < z->at_s[0])
        return -1;
    if (s >= z->at_s[last])
        return last;
    /* at_s[0] <= s < at_s[last]: the answer is in [0, last - 1] */
    double x = ((double)s - (double)z->at_s[0]) / ((double)z->at_s[last] - (double)z->at_s[0]) * last;
    int32_t i = x >= 0 && x < last ? (int32_t)x : 0; /* (int32_t) of a NaN would be undefined */
    for (int step = 0; step < 3; step++) {
        if (z->at_s[i] > s) {
            if (i == 0)
                break;
            i--;
        } else if (z->at_s[i + 1] <= s) {
            if (i + 1 == last)
                break;
            i++;
        } else {
            return i;
        }
    }
    return zone_search(z, (uint32_t)n, s) - 1;
}

/* zone_index(s) when change k (< n) is known to be at or before s: walk on
 * from k, as a later instant of a span is most often before the next change
 * or the one after; farther, search. */
static int32_t zone_index_from(const pp_zone_t *z, int32_t k, int64_t s)
{
    int32_t n = zone_count(z);
    for (int step = 0; step < 2; step++, k++)
        if (k + 1 >= n || z->at_s[k + 1] > s)
            return k;
    return zone_index(z, s);
}

int32_t pp_zone_offset(const pp_zone_t *zone, int64_t unix_ms)
{
    int32_t i = zone_index(zone, floor_div(unix_ms, 1000));
    return i < 0 ? zone->initial_offset_s : zone->offset_s[i];
}

/* What L needs of segment i (-1 = before the first change): there
 * L(t) = max(t + off_ms, floor_ms). */
typedef struct segment {
    int64_t off_ms;   /* the offset in effect */
    int64_t floor_ms; /* after clocks went back at change i, the local time they stopped at; else INT64_MIN */
} segment_t;

static inline segment_t zone_segment(const pp_zone_t *z, int32_t i)
{
    segment_t g = {(int64_t)z->initial_offset_s * 1000, INT64_MIN};
    if (i >= 0) {
        int64_t before = zone_offset_before_ms(z, i);
        g.off_ms = (int64_t)z->offset_s[i] * 1000;
        if (before > g.off_ms) /* local time resumes where it stopped */
            g.floor_ms = zone_at_ms(z, i) + before;
    }
    return g;
}

/* L(t) for an instant t of segment g: local time, standing still during a
 * repeated hour. */
static int64_t segment_local(segment_t g, int64_t t)
{
    int64_t l = t + g.off_ms;
    return l < g.floor_ms ? g.floor_ms : l;
}

/* Local time at the start of segment i (the instant of change i). */
static int64_t zone_segment_local(const pp_zone_t *z, int32_t i)
{
    int64_t off = (int64_t)z->offset_s[i] * 1000;
    int64_t before = zone_offset_before_ms(z, i);
    return zone_at_ms(z, i) + (before > off ? before : off);
}

/* The least instant t with L(t) >= l, for l later than the local start of
 * segment `seg` (the segment of an instant before the answer, -1 = before
 * the first change). Segments start in ascending local time (in every ICU
 * zone: only changes closer together than their offset difference would
 * break it), so the one holding l is found by walking on from seg: a
 * deadline is most often in the same segment or within a year (two
 * changes); past three, halving the rest. */
static int64_t zone_unlocal(const pp_zone_t *z, int64_t l, int32_t seg)
{
    int32_t n = zone_count(z);
    int32_t k = seg + 1; /* segments before k start at or before l */
    if (k < n && zone_segment_local(z, k) <= l && ++k < n && zone_segment_local(z, k) <= l && ++k < n &&
        zone_segment_local(z, k) <= l) {
        int32_t len = n - ++k; /* the count is in [k, k + len] */
        while (len > 0) {
            int32_t half = (len + 1) / 2;
            if (zone_segment_local(z, k + half - 1) <= l) {
                k += half;
                len -= half;
            } else {
                len = half - 1;
            }
        }
    }
    int32_t i = k - 1; /* the segment holding l, -1 = before the first change */
    int64_t t;
    if (i < 0)
        t = l - (int64_t)z->initial_offset_s * 1000;
    else if (l <= zone_segment_local(z, i))
        t = zone_at_ms(z, i);
    else
        t = l - (int64_t)z->offset_s[i] * 1000;
    /* l in the local hour a forward change skipped: the change itself */
    if (i + 1 < n && t > zone_at_ms(z, i + 1))
        t = zone_at_ms(z, i + 1);
    return t;
}

/* ---- calendars ---- */

static void calendar_init(pp_calendar_t *cal, const char *name, uint8_t workdays, int32_t open_s,
                          int32_t close_s)
{
    memset(cal, 0, sizeof *cal);
    snprintf(cal->name, sizeof cal->name, "%s", name);
    cal->workdays = workdays;
    cal->open_s = open_s;
    cal->close_s = close_s;
    pp_calendar_derive(cal);
}

void pp_calendar_business(pp_calendar_t *cal)
{
    calendar_init(cal, "business", 0x1f, 9 * 3600, 17 * 3600);
}

void pp_calendar_always(pp_calendar_t *cal)
{
    calendar_init(cal, "always", ALL_DAYS, 0, DAY_S);
}

static int n_holidays(const pp_calendar_t *cal)
{
    return cal->n_holidays > PP_HOLIDAYS_MAX ? PP_HOLIDAYS_MAX : cal->n_holidays;
}

/* Day of the week of a local day number, 0 = Monday (1970-01-01 was a Thursday). */
static int weekday(int64_t day)
{
    return (int)(day - floor_div(day + 3, 7) * 7 + 3);
}

static bool is_workday(uint8_t workdays, int64_t day)
{
    return (workdays >> weekday(day)) & 1;
}

void pp_calendar_derive(pp_calendar_t *cal)
{
    int n = n_holidays(cal), kept = 0;
    for (int i = 1; i < n; i++) { /* insertion sort: at most 64 */
        int32_t x = cal->holidays[i];
        int j = i;
        while (j > 0 && cal->holidays[j - 1] > x) {
            cal->holidays[j] = cal->holidays[j - 1];
            j--;
        }
        cal->holidays[j] = x;
    }
    for (int i = 0; i < n; i++)
        if (kept == 0 || cal->holidays[i] != cal->holidays[kept - 1])
            cal->holidays[kept++] = cal->holidays[i];
    memset(cal->holidays + kept, 0, sizeof(int32_t) * (size_t)(PP_HOLIDAYS_MAX - kept));
    cal->n_holidays = (uint8_t)kept;
    cal->workday_holidays_before[0] = 0;
    for (int i = 0; i < kept; i++)
        cal->workday_holidays_before[i + 1] =
            (uint8_t)(cal->workday_holidays_before[i] + is_workday(cal->workdays, cal->holidays[i]));
    /* the week from Thursday: day i of it is weekday (i + 3) % 7 */
    cal->derived_workdays = cal->workdays;
    memset(cal->week_nth_workday_end, 0, sizeof cal->week_nth_workday_end);
    cal->week_workdays_before[0] = 0;
    for (int i = 0; i < 7; i++) {
        int open = (cal->workdays >> ((i + 3) % 7)) & 1;
        cal->week_workdays_before[i + 1] = (uint8_t)(cal->week_workdays_before[i] + open);
        if (open)
            cal->week_nth_workday_end[cal->week_workdays_before[i + 1]] = (uint8_t)(i + 1);
    }
}

int64_t pp_calendar_day_ms(const pp_calendar_t *cal)
{
    return ((int64_t)cal->close_s - cal->open_s) * 1000;
}

/* Business time exists at all: some workday, sane hours. */
static bool has_hours(const pp_calendar_t *cal)
{
    return (cal->workdays & ALL_DAYS) != 0 && cal->open_s >= 0 && cal->open_s < cal->close_s &&
           cal->close_s <= DAY_S;
}

/* Open every hour of every day: business time is real time. */
static bool is_24x7(const pp_calendar_t *cal)
{
    return (cal->workdays & ALL_DAYS) == ALL_DAYS && cal->open_s == 0 && cal->close_s == DAY_S &&
           cal->n_holidays == 0;
}

/* Workdays written without pp_calendar_derive() leave the week tables
 * stale: elapsed and add then work on a derived copy (out of line, so the
 * common path carries no copy), and count right whatever the caller forgot. */
static bool is_derived(const pp_calendar_t *cal)
{
    return cal->derived_workdays == cal->workdays;
}

static __attribute__((noinline, cold)) int64_t elapsed_underived(const pp_calendar_t *cal, const pp_zone_t *zone,
                                                                 int64_t from_ms, int64_t to_ms)
{
    pp_calendar_t fresh = *cal;
    pp_calendar_derive(&fresh);
    return pp_calendar_elapsed_ms(&fresh, zone, from_ms, to_ms);
}

static __attribute__((noinline, cold)) int64_t add_underived(const pp_calendar_t *cal, const pp_zone_t *zone,
                                                             int64_t from_ms, int64_t business_ms)
{
    pp_calendar_t fresh = *cal;
    pp_calendar_derive(&fresh);
    return pp_calendar_add_ms(&fresh, zone, from_ms, business_ms);
}

/* Index of the first holiday >= day. */
static int holiday_lower_bound(const pp_calendar_t *cal, int64_t day)
{
    int lo = 0, hi = n_holidays(cal);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cal->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Weeks here start on a Thursday, so week w is days 7w .. 7w + 6 and local
 * time l falls in week floor(l / WEEK_MS). Every local time met lies within
 * LIMIT_MS plus the largest offset (2^31 s) of the epoch, so l + WEEK_BIAS
 * weeks is positive: the divisions by a week and by a day are unsigned ones
 * by constants (multiplies), with no sign fix-up. Profiled: with the popcount
 * and the day walk they were this file's largest cost.
 */
#define WEEK_MS (7 * DAY_MS)
#define WEEK_BIAS (1LL << 25) /* weeks: 2.0e16 ms, over LIMIT_MS + 2^31 s */
/* Deadlines past week WEEK_CUTOFF are past any instant (4.0e16 ms, over
 * LIMIT_MS + 2^31 s): never. Keeps the arithmetic far from overflow. */
#define WEEK_CUTOFF (1LL << 26)

/* Workday holidays before day (OUT: the count) and whether day is one. Out
 * of line: most calendars have no holidays. */
static __attribute__((noinline)) int64_t holidays_before(const pp_calendar_t *cal, int64_t day, bool *ret_on)
{
    int i = holiday_lower_bound(cal, day);
    *ret_on = i < n_holidays(cal) && cal->holidays[i] == day;
    return cal->workday_holidays_before[i];
}

/* B(l): business ms from local 1970-01-01 00:00 to local time l:
 * (workdays before l's day - workday holidays before it) * day length, plus
 * the part of l's day's opening hours before l if that day is open.
 * OUT *ret_holidays (if not NULL): those workday holidays. */
static inline int64_t business_before(const pp_calendar_t *cal, int64_t l, int64_t *ret_holidays)
{
    uint64_t biased = (uint64_t)(l + WEEK_BIAS * WEEK_MS);
    int64_t week = (int64_t)(biased / (uint64_t)WEEK_MS) - WEEK_BIAS;
    uint32_t in_week = (uint32_t)(biased % (uint64_t)WEEK_MS);
    uint32_t d = in_week / (uint32_t)DAY_MS; /* day of the week, 0 = Thursday */
    int64_t in_day = (int64_t)(in_week - d * (uint32_t)DAY_MS);
    const uint8_t *before = cal->week_workdays_before;
    int64_t days = week * before[7] + before[d];
    bool open = before[d + 1] != before[d];
    int64_t holidays = 0;
    if (cal->n_holidays > 0) {
        bool holiday;
        holidays = holidays_before(cal, week * 7 + d, &holiday);
        days -= holidays;
        open = open && !holiday;
    }
    if (ret_holidays != NULL)
        *ret_holidays = holidays;
    int64_t len = pp_calendar_day_ms(cal);
    int64_t b = days * len;
    if (open)
        b += clamp64(in_day - (int64_t)cal->open_s * 1000, 0, len);
    return b;
}

/* The least local time l with B'(l) >= v, where B' is B without holidays;
 * OUT *ret_end: the day after l's (l is in the opening hours of day
 * *ret_end - 1, its closing time included). Returns false, writing nothing,
 * when l lies past week WEEK_CUTOFF. Whole weeks by one division; the day
 * in the week by the table of the k-th workday. */
static bool workdays_until(const pp_calendar_t *cal, int64_t v, int64_t len, int64_t *ret_l, int64_t *ret_end)
{
    int64_t week_ms = cal->week_workdays_before[7] * len;
    int64_t week = floor_div(v - 1, week_ms);
    if (week > WEEK_CUTOFF)
        return false;
    int64_t q = v - week * week_ms; /* 1..week_ms: at most 7 days, fits 32 bits */
    uint32_t k = (uint32_t)(q - 1) / (uint32_t)len + 1; /* its k-th business day begun */
    int64_t end = week * 7 + cal->week_nth_workday_end[k];
    *ret_l = (end - 1) * DAY_MS + (int64_t)cal->open_s * 1000 + (q - (int64_t)(k - 1) * len);
    *ret_end = end;
    return true;
}

/* The least local time l with B(l) >= v (OUT *ret_l), given h0 <= the
 * workday holidays before l's day (those before an earlier day will do).
 * Returns false when l lies past week WEEK_CUTOFF. With holidays, the n-th
 * business day is the (n + h)-th workday, h the workday holidays before it;
 * iterating h <- the holidays before the (n + h)-th workday from h0 settles
 * on that h (the iterates never pass it, and a fixed point is the answer):
 * one step per stretch of holidays in the way, most often one step. */
static bool business_until(const pp_calendar_t *cal, int64_t v, int64_t h0, int64_t *ret_l)
{
    int64_t len = pp_calendar_day_ms(cal), h = h0, l, end;
    if (!workdays_until(cal, v + h * len, len, &l, &end))
        return false;
    if (n_holidays(cal) > 0) {
        for (int step = 0; step <= PP_HOLIDAYS_MAX; step++) { /* bounded, even for a hand-broken calendar */
            int64_t next = cal->workday_holidays_before[holiday_lower_bound(cal, end)];
            if (next == h)
                break;
            h = next;
            if (!workdays_until(cal, v + h * len, len, &l, &end))
                return false;
        }
    }
    *ret_l = l;
    return true;
}

int64_t pp_calendar_elapsed_ms(const pp_calendar_t *cal, const pp_zone_t *zone, int64_t from_ms,
                               int64_t to_ms)
{
    from_ms = clamp64(from_ms, -LIMIT_MS, LIMIT_MS);
    to_ms = clamp64(to_ms, -LIMIT_MS, LIMIT_MS);
    if (to_ms <= from_ms || !has_hours(cal))
        return 0;
    if (is_24x7(cal))
        return to_ms - from_ms;
    if (!is_derived(cal))
        return elapsed_underived(cal, zone, from_ms, to_ms);
    int64_t l_from, l_to;
    int32_t n = zone_count(zone);
    if (n == 0) { /* UTC or a fixed offset */
        int64_t off = (int64_t)zone->initial_offset_s * 1000;
        l_from = from_ms + off;
        l_to = to_ms + off;
    } else { /* one search: to is most often before the next change */
        int32_t i = zone_index(zone, second_of(from_ms));
        int64_t s_to = second_of(to_ms);
        segment_t g = zone_segment(zone, i);
        l_from = segment_local(g, from_ms);
        if (i + 1 < n && zone->at_s[i + 1] <= s_to)
            g = zone_segment(zone, zone_index_from(zone, i + 1, s_to));
        l_to = segment_local(g, to_ms);
    }
    int64_t b = business_before(cal, l_to, NULL) - business_before(cal, l_from, NULL);
    return b > 0 ? b : 0;
}

int64_t pp_calendar_add_ms(const pp_calendar_t *cal, const pp_zone_t *zone, int64_t from_ms,
                           int64_t business_ms)
{
    from_ms = clamp64(from_ms, -LIMIT_MS, LIMIT_MS);
    if (business_ms <= 0)
        return from_ms;
    if (!has_hours(cal) || business_ms > 2 * LIMIT_MS)
        return INT64_MAX;
    int64_t t;
    if (is_24x7(cal)) {
        t = from_ms + business_ms;
    } else {
        if (!is_derived(cal))
            return add_underived(cal, zone, from_ms, business_ms);
        int32_t seg = zone_count(zone) == 0 ? -1 : zone_index(zone, second_of(from_ms));
        int64_t h, l;
        int64_t v = business_before(cal, segment_local(zone_segment(zone, seg), from_ms), &h) + business_ms;
        if (!business_until(cal, v, h, &l))
            return INT64_MAX;
        t = zone_unlocal(zone, l, seg);
        if (t < from_ms) /* only with an unsorted zone table */
            t = from_ms;
    }
    return t > LIMIT_MS ? INT64_MAX : t;
}

/* ---- parsers ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* A day name at *p (3 letters, not followed by a letter): its index 0..6,
 * *p moved past it; -1 if there is none. */
static int read_day(const char **p)
{
    const char *s = *p;
    if (!is_alpha(s[0]) || !is_alpha(s[1]) || !is_alpha(s[2]) || is_alpha(s[3]))
        return -1;
    for (int d = 0; d < 7; d++)
        if (lower(s[0]) == day_names[d][0] && lower(s[1]) == day_names[d][1] &&
            lower(s[2]) == day_names[d][2]) {
            *p = s + 3;
            return d;
        }
    return -1;
}

/* Length of the word at p (up to a separator), for error sentences. */
static int word_len(const char *p)
{
    int n = 0;
    while (p[n] != '\0' && p[n] != ',' && p[n] != '-' && !is_space(p[n]) && n < 32)
        n++;
    return n;
}

int pp_calendar_parse_workdays(const char *s, uint8_t *out, char *err, size_t err_len)
{
    static const char hint[] = "use Mon, Tue, Wed, Thu, Fri, Sat, Sun: e.g. Mon-Fri or Mon,Tue,Thu";
    const char *p = s;
    unsigned mask = 0;
    for (;;) {
        while (is_space(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        int first = read_day(&p);
        if (first < 0) {
            pp_text_error(err, err_len, "workdays \"%.64s\": \"%.*s\" is not a day (%s)", s,
                   word_len(p) ? word_len(p) : 1, p, hint);
            return -1;
        }
        int last = first;
        while (is_space(*p))
            p++;
        if (*p == '-') {
            p++;
            while (is_space(*p))
                p++;
            last = read_day(&p);
            if (last < 0) {
                pp_text_error(err, err_len, "workdays \"%.64s\": a range needs a day after \"-\" (%s)", s, hint);
                return -1;
            }
        }
        for (int d = first;; d = (d + 1) % 7) { /* ranges wrap: Sun-Thu */
            mask |= 1u << d;
            if (d == last)
                break;
        }
        if (*p != '\0' && *p != ',' && !is_space(*p)) {
            pp_text_error(err, err_len, "workdays \"%.64s\": unexpected \"%.*s\" (%s)", s, word_len(p) ? word_len(p) : 1,
                   p, hint);
            return -1;
        }
    }
    if (mask == 0) {
        pp_text_error(err, err_len, "workdays is empty: name the days the calendar is open (%s)", hint);
        return -1;
    }
    *out = (uint8_t)mask;
    return 0;
}

/* "H:MM" or "HH:MM" at *p, as seconds after midnight (may be 24:00 = 86400,
 * checked by the caller); -1 if malformed or not a time of day. */
static int32_t read_time(const char **p)
{
    const char *s = *p;
    int h = 0, i = 0;
    while (i < 2 && is_digit(s[i]))
        h = h * 10 + (s[i++] - '0');
    if (i == 0 || s[i] != ':' || !is_digit(s[i + 1]) || !is_digit(s[i + 2]) || is_digit(s[i + 3]))
        return -1;
    int m = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    *p = s + i + 3;
    return (int32_t)(h * 3600 + m * 60);
}

int pp_calendar_parse_hours(const char *s, int32_t *open_s, int32_t *close_s, char *err, size_t err_len)
{
    const char *p = s;
    while (is_space(*p))
        p++;
    int32_t open = read_time(&p);
    while (is_space(*p))
        p++;
    int32_t close = -1;
    if (open >= 0 && *p == '-') {
        p++;
        while (is_space(*p))
            p++;
        close = read_time(&p);
        while (is_space(*p))
            p++;
    }
    if (open < 0 || close < 0 || *p != '\0') {
        pp_text_error(err, err_len,
               "hours \"%.64s\" are not HH:MM-HH:MM local time from 00:00 to 24:00 "
               "(e.g. 09:00-17:00, or 00:00-24:00 for the whole day)", s);
        return -1;
    }
    if (open >= close) {
        pp_text_error(err, err_len,
               "hours \"%.64s\": opening must come before closing (hours past midnight are not supported)", s);
        return -1;
    }
    *open_s = open;
    *close_s = close;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (m == 2 && leap) ? 29 : days[m - 1];
}

static int64_t digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int pp_calendar_parse_holidays(const char *s, pp_calendar_t *cal, char *err, size_t err_len)
{
    int32_t days[PP_HOLIDAYS_MAX];
    int n = 0;
    const char *p = s;
    for (;;) {
        while (is_space(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        int len = 0;
        while (p[len] != '\0' && p[len] != ',' && !is_space(p[len]))
            len++;
        bool shape = len == 10 && p[4] == '-' && p[7] == '-';
        for (int i = 0; shape && i < 10; i++)
            shape = (i == 4 || i == 7) || is_digit(p[i]);
        if (!shape) {
            pp_text_error(err, err_len, "holidays: \"%.*s\" is not a date YYYY-MM-DD (e.g. 2026-12-24, 2026-12-25)",
                   len > 32 ? 32 : len, p);
            return -1;
        }
        int64_t y = digits(p, 4), m = digits(p + 5, 2), d = digits(p + 8, 2);
        if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
            pp_text_error(err, err_len, "holidays: %.10s is not a date of the calendar (years 1970-9999)", p);
            return -1;
        }
        int32_t day = (int32_t)days_from_civil(y, m, d);
        int at = 0; /* keep days[] sorted and unique as it fills */
        while (at < n && days[at] < day)
            at++;
        if (at == n || days[at] != day) {
            if (n == PP_HOLIDAYS_MAX) {
                pp_text_error(err, err_len, "holidays: more than %d dates (a calendar holds at most %d distinct holidays)",
                       PP_HOLIDAYS_MAX, PP_HOLIDAYS_MAX);
                return -1;
            }
            memmove(days + at + 1, days + at, sizeof(int32_t) * (size_t)(n - at));
            days[at] = day;
            n++;
        }
        p += len;
    }
    memset(cal->holidays, 0, sizeof cal->holidays);
    memcpy(cal->holidays, days, sizeof(int32_t) * (size_t)n);
    cal->n_holidays = (uint8_t)n;
    pp_calendar_derive(cal);
    return 0;
}

int pp_calendar_set(pp_calendar_t *cal, const char *key, const char *value, char *err, size_t err_len)
{
    if (strcmp(key, "timezone") == 0) {
        size_t len = strlen(value);
        if (len >= sizeof cal->timezone) {
            pp_text_error(err, err_len, "timezone \"%.64s\" is too long (IANA names here are at most %d bytes)", value,
                   PP_ZONE_NAME_MAX - 1);
            return -1;
        }
        memcpy(cal->timezone, value, len + 1);
        return 0;
    }
    if (strcmp(key, "workdays") == 0) {
        uint8_t workdays;
        if (pp_calendar_parse_workdays(value, &workdays, err, err_len) != 0)
            return -1;
        cal->workdays = workdays;
        pp_calendar_derive(cal); /* which holidays fall on workdays changed */
        return 0;
    }
    if (strcmp(key, "hours") == 0)
        return pp_calendar_parse_hours(value, &cal->open_s, &cal->close_s, err, err_len);
    if (strcmp(key, "holidays") == 0)
        return pp_calendar_parse_holidays(value, cal, err, err_len);
    pp_text_error(err, err_len, "unknown calendar key \"%.48s\" (timezone, workdays, hours or holidays)", key);
    return -1;
}
