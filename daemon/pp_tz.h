/*
 * pp_tz: load a time zone's UTC offset table for the pure core (pp_zone_t,
 * state/pp_calendar.h) from ICU, once at configuration time.
 *
 * The table covers 1970-01-01 to 2100-01-01: the offset in effect at
 * 1970-01-01T00:00Z stands for everything earlier, the last offset before
 * 2100 for everything later.
 */
#ifndef PP_TZ_H
#define PP_TZ_H

#include <stddef.h>

#include "pp_calendar.h"

/*
 * Fill *out with the offset changes of the IANA zone iana_name (e.g.
 * "Europe/Berlin"; links such as "US/Eastern" are accepted, out->name keeps
 * the name as given). NULL, "" and "UTC" give UTC.
 *
 * Returns 0 and writes *out (only then), or a negative errno with a sentence
 * in err (err_len bytes, may be 0):
 *   -ENOENT        the name is not a zone ICU knows (ICU itself would
 *                  silently use GMT for it)
 *   -ENAMETOOLONG  longer than PP_ZONE_NAME_MAX - 1 bytes
 *   -E2BIG         more than PP_ZONE_TRANSITIONS_MAX offset changes in 1970-2100
 *   -EIO           ICU failed (its error name is in the sentence)
 * Does not log. Thread-safe (ICU's calendar objects are per call).
 */
int pp_tz_load(const char *iana_name, pp_zone_t *out, char *err, size_t err_len);

/* The IANA database version ICU answers from (e.g. "2022e"), for the
 * startup log: it is ICU's own copy, not the system's tzdata (pp_tz.c). */
const char *pp_tz_data_version(void);

#endif
