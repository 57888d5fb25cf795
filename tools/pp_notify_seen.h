/*
 * pp_notify_seen: the transitions `partnerpulse notify` has already routed
 * in this run, to skip the republished duplicates at-least-once brings
 * (docs/alerts.md: deduplicate on (alert_id, status); ignore a FIRING whose
 * RESOLVED was handled). Bounded: two generations of at most max/2 keys
 * each; when the young one fills, the old one is forgotten. In memory only:
 * after a restart a duplicate can be delivered again (harmless: receivers
 * key on alert_id). Pure; one thread.
 */
#ifndef PP_NOTIFY_SEEN_H
#define PP_NOTIFY_SEEN_H

#include <stdbool.h>

#include "pp_notify_alert.h"

typedef struct pp_notify_seen pp_notify_seen_t;

/* Remembers about max transitions (max >= 2); NULL when out of memory. */
pp_notify_seen_t *pp_notify_seen_new(int max);

/* NULL-safe. */
void pp_notify_seen_free(pp_notify_seen_t *s);

/* Whether a is a duplicate: the same (alert_id, status, severity) was
 * routed, or a is a FIRING of an episode whose RESOLVED was. NULL s: never. */
bool pp_notify_seen_dup(const pp_notify_seen_t *s, const pp_notify_alert_t *a);

/* Remember that a was routed. NULL-safe. */
void pp_notify_seen_add(pp_notify_seen_t *s, const pp_notify_alert_t *a);

#endif
