/*
 * pp_bizclock: the business time of one side of a partnership (DESIGN §4).
 *
 * Response times, reply_overdue, follow-up ages and going_dark run in the
 * business time of the side that owes: the partner's calendar in the
 * partner's zone, or ours. A clock pairs a calendar (pp_calendar) with the
 * zone its hours are read in; the engine resolves both per partner
 * (pp_policyset_clocks) and hands them down.
 *
 * Pure: the zone data comes in as data (the daemon loads it).
 */
#ifndef PP_BIZCLOCK_H
#define PP_BIZCLOCK_H

#include <stdint.h>

#include "pp_calendar.h"

/* Which side owes: index of a clock in the pair the engine passes around. */
enum pp_side { PP_SIDE_PARTNER = 0, PP_SIDE_US = 1 };

typedef struct pp_bizclock {
    const pp_calendar_t *cal;   /* business hours; NULL = every hour counts (real time) */
    const pp_zone_t *zone;      /* zone the hours are local to; NULL = UTC */
} pp_bizclock_t;

/* Business milliseconds between two instants (0 when to <= from). */
int64_t pp_biz_elapsed_ms(const pp_bizclock_t *clk, int64_t from_ms, int64_t to_ms);

/* The same in whole seconds between two pp_secs() times (saturating). */
uint32_t pp_biz_elapsed_s(const pp_bizclock_t *clk, uint32_t from_s, uint32_t to_s);

/* The earliest instant at which business_ms of business time have passed
 * since from_ms; INT64_MAX when that never happens (a calendar with no
 * working hours). */
int64_t pp_biz_add_ms(const pp_bizclock_t *clk, int64_t from_ms, int64_t business_ms);

/* The length of one business day in ms (a calendar's daily hours: 8 h for
 * `business`, 24 h for `always` or no calendar): thresholds given in
 * business days are multiplied by it. */
int64_t pp_biz_day_ms(const pp_bizclock_t *clk);

/* 32-bit FNV-1a of a name, never 0 for a non-empty name (0 = "not set"):
 * how the partner's state refers to its zone and calendar in 4 bytes each. */
uint32_t pp_name_hash32(const char *s);

#endif
