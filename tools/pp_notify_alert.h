/*
 * pp_notify_alert: one alert transition as `partnerpulse notify` routes and
 * renders it: the fields of the `Alert` protobuf (docs/alerts.md) plus what
 * notify reads about the partner from Redis (`pp:partner:{<id>}`, read-only;
 * docs/notify.md#routing). Every string is borrowed and never NULL ("" when
 * unknown).
 */
#ifndef PP_NOTIFY_ALERT_H
#define PP_NOTIFY_ALERT_H

#include <stdint.h>

/* Alert.Severity and Alert.Status values (proto/partnerpulse.proto) */
enum { PP_SEV_INFO = 1, PP_SEV_WARNING = 2, PP_SEV_CRITICAL = 3 };
enum { PP_ST_FIRING = 1, PP_ST_RESOLVED = 2 };

typedef struct pp_notify_alert {
    const char *alert_id;       /* 32 hex digits, the episode */
    const char *partner_id;     /* the partner (Kafka key) */
    const char *rule;           /* rule name, e.g. going_dark */
    int severity;               /* PP_SEV_* (0 if unset) */
    int status;                 /* PP_ST_* (0 if unset) */
    double value;               /* measured value, the rule's unit */
    double threshold;           /* configured threshold */
    const char *message;        /* one human sentence */
    int64_t started_at_ms;      /* episode start, event time */
    int64_t event_time_ms;      /* this transition, event time */
    int64_t emitted_at_ms;      /* wall clock when the daemon computed it */
    double health;              /* partner health at the transition */
    const char *evidence;       /* first evidence entry ("" if none) */
    const char *config_version; /* rules configuration hash */
    /* from Redis pp:partner:{id} when [notify] enrich is on; "" otherwise */
    const char *partner_type;   /* REFERRAL, RESELLER, TECHNOLOGY, CO_SELL or "" */
    const char *tier;           /* free text or "" */
    const char *display_name;   /* free text or "" */
    const char *why[3];         /* why_1..why_3, the leading factors */
} pp_notify_alert_t;

/* "info"/"warning"/"critical" ("unknown" otherwise): the lowercase names used in labels and config */
const char *pp_notify_severity_name(int severity);

/* "firing"/"resolved" ("unknown" otherwise) */
const char *pp_notify_status_name(int status);

#endif
