/*
 * pp_zonetab: every IANA time zone the machine's ICU knows, loaded once at
 * start as plain data for the pure core (pp_policyset_zones).
 *
 * Partners name their zone in their profile (PartnerEvent.timezone); the
 * core looks it up by pp_name_hash32. Loading them all up front (about 600
 * names, aliases included, ~4 KiB each) keeps the core's lookups pure and
 * makes "unknown zone" a plain table miss, checked before an event is
 * applied (DLQ reason "timezone").
 */
#ifndef PP_ZONETAB_H
#define PP_ZONETAB_H

#include <stddef.h>
#include <stdint.h>

#include "pp_calendar.h"

typedef struct pp_zonetab {
    pp_zone_t *zones;        /* sorted by hashes[] (ascending) */
    uint32_t *hashes;        /* pp_name_hash32(zones[i].name) */
    size_t n;                /* zones loaded */
} pp_zonetab_t;

/* Load every zone ICU lists (plus "UTC"). Returns 0, or -1 with a sentence
 * in err (ICU failed, out of memory, two names with one hash). */
int pp_zonetab_load(pp_zonetab_t *tab, char *err, size_t err_len);

/* Free the tables. NULL-safe; the struct is left empty. */
void pp_zonetab_free(pp_zonetab_t *tab);

#endif
