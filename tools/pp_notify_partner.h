/*
 * pp_notify_partner: what `partnerpulse notify` reads about a partner from
 * Redis, read-only: the fields partner_type, tier, display_name, why_1..3 of
 * `<prefix>partner:{<id>}` (docs/redis.md). They are the partner's current
 * values, not those at the alert's event time. One connection, reopened
 * after an error; consumer thread only.
 */
#ifndef PP_NOTIFY_PARTNER_H
#define PP_NOTIFY_PARTNER_H

#include <stddef.h>

#include "pp_notify_config.h"

typedef struct pp_notify_partner {
    char type[32];         /* partner_type, "" if unknown */
    char tier[32];         /* tier, "" if unknown */
    char display_name[64]; /* display_name, "" if unknown */
    char why[3][80];       /* why_1..why_3, "" if absent */
} pp_notify_partner_t;

typedef struct pp_notify_partners pp_notify_partners_t;

/* NULL when out of memory; connects at the first read. cfg must outlive it. */
pp_notify_partners_t *pp_notify_partners_new(const pp_notify_config_t *cfg);

/* NULL-safe. */
void pp_notify_partners_free(pp_notify_partners_t *ps);

/*
 * Read partner_id's fields into *out (OUT; all "" for a partner Redis does
 * not know). Returns 0, or a negative error (Redis unreachable, refused or
 * failing) with a sentence in err (OUT, never the password); the connection
 * is reopened at the next call.
 */
int pp_notify_partners_read(pp_notify_partners_t *ps, const char *partner_id, pp_notify_partner_t *out, char *err,
                            size_t err_len);

#endif
