/*
 * pp_notify_route: which alerts one destination of `partnerpulse notify`
 * receives (docs/notify.md#routing). Pure: no I/O, no clock.
 *
 * A destination's filters are ANDed; within one filter the listed values are
 * ORed; an absent (empty) filter lets everything through. Names compare
 * case-insensitively. partner_types and tiers compare with what Redis holds
 * for the partner (pp:partner:{<id>} fields partner_type and tier): a partner
 * without one never matches a non-empty filter on it.
 */
#ifndef PP_NOTIFY_ROUTE_H
#define PP_NOTIFY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_notify_alert.h"

#define PP_NOTIFY_LIST_MAX 512 /* bytes of one comma-separated filter */

typedef struct pp_notify_route {
    unsigned severities;                    /* bits 1u << PP_SEV_*; 0 = every severity */
    unsigned statuses;                      /* bits 1u << PP_ST_*; 0 = firing and resolved */
    char rules[PP_NOTIFY_LIST_MAX];         /* comma-separated rule names; "" = every rule */
    char partner_types[PP_NOTIFY_LIST_MAX]; /* comma-separated; "" = every type */
    char tiers[PP_NOTIFY_LIST_MAX];         /* comma-separated; "" = every tier */
} pp_notify_route_t;

/*
 * Apply one configuration key to r: rules, severities, statuses,
 * partner_types or tiers. Returns 1 if key was one of them and value is
 * valid, 0 if key is not a routing key (r untouched), -1 with a sentence in
 * err (OUT) if value is invalid (an unknown rule, severity or status, or a
 * list longer than PP_NOTIFY_LIST_MAX).
 */
int pp_notify_route_set(pp_notify_route_t *r, const char *key, const char *value, char *err, size_t err_len);

/* Whether a goes to a destination with route r. */
bool pp_notify_route_match(const pp_notify_route_t *r, const pp_notify_alert_t *a);

/* Whether r filters on partner type or tier (so it needs the Redis lookup). */
bool pp_notify_route_needs_partner(const pp_notify_route_t *r);

#endif
