/*
 * pp_alert: what the engine tells the world when a red-flag rule trips or
 * clears (DESIGN §7). One pp_alert_t per transition, FIRING or RESOLVED; its
 * deterministic id; its wire form (partnerpulse.v1.Alert).
 *
 * When to emit one is pp_engine's business (the per-rule lifecycle); what an
 * alert of each rule says is pp_rules'. This module only holds the shape.
 *
 * Cold path: an alert is built once per transition (about one per five
 * applied events in core_bench, far fewer in production): plain code.
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_ALERT_H
#define PP_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_partner.h"
#include "pp_policy.h"

enum pp_severity { PP_SEV_INFO = 1, PP_SEV_WARNING = 2, PP_SEV_CRITICAL = 3 };
enum pp_alert_status { PP_ALERT_FIRING = 1, PP_ALERT_RESOLVED = 2 };

#define PP_ALERT_ID_LEN 32 /* hex digits of an alert id */

/* One alert transition. Plain data. */
typedef struct pp_alert {
    char alert_id[PP_ALERT_ID_LEN + 1];   /* same for FIRING and RESOLVED of an episode */
    char partner_id[PP_ID_MAX + 1];       /* the partner it is about */
    pp_rule_t rule;                       /* the rule that tripped or cleared */
    int severity;                         /* enum pp_severity */
    int status;                           /* enum pp_alert_status */
    double value;                         /* the measured value */
    double threshold;                     /* the threshold it was compared with */
    char message[256];                    /* one human sentence */
    int64_t started_at_ms;                /* episode start (event time) */
    int64_t event_time_ms;                /* when this transition happened (event time) */
    int64_t emitted_at_ms;                /* processing time */
    double health;                        /* partner health at the transition */
    char evidence[PP_EVIDENCE_MAX];       /* event_id (or timer) behind the transition */
    bool publish;                         /* false: recorded only (inhibited or snoozed) */
    int32_t partition;                    /* partner's home partition (outbox key) */
} pp_alert_t;

/* Deterministic episode id: hex of a 128-bit hash of (partner, rule, episode
 * start, episode number). A replay or a restart derives the same id; two
 * episodes never share one, even when both start at the same instant. */
void pp_alert_id(const char *partner_id, pp_rule_t rule, int64_t started_at_ms, unsigned episode,
                 char out[PP_ALERT_ID_LEN + 1]);

/* How an alert names a partner: its display name, else its id. */
const char *pp_alert_who(const pp_partner_t *st);

/* Serialise an alert as partnerpulse.v1.Alert. Returns bytes, or 0 if cap is too small. */
size_t pp_alert_pack(const pp_alert_t *a, const char *config_version, uint8_t *buf, size_t cap);

/* "INFO", "WARNING", "CRITICAL" ("" for anything else). */
const char *pp_severity_name(int sev);

#endif
