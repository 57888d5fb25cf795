/*
 * pp_notify_config: the configuration of `partnerpulse notify`
 * (docs/notify.md), read from the daemon's INI file:
 *   [kafka]   every key passed to librdkafka as the daemon does, except
 *             group.id (notify has its own group: [notify] group_id);
 *   [topics]  alerts (the topic to consume);
 *   [redis]   host, port, user, password, db, prefix, timeout_ms (the
 *             partner lookup; read-only);
 *   [notify]  the keys of pp_notify_config_t below;
 *   [destination:NAME]  one per destination (up to PP_NOTIFY_DEST_MAX).
 * Other sections are the daemon's and are ignored; an unknown key in
 * [notify] or a [destination:*] is an error. Strings live in fixed buffers:
 * a longer value is refused, never cut. Secrets (url of Slack, secret,
 * routing_key, passwords) are never copied into error sentences.
 */
#ifndef PP_NOTIFY_CONFIG_H
#define PP_NOTIFY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_notify_route.h"

#define PP_NOTIFY_DEST_MAX 32   /* destinations */
#define PP_NOTIFY_NAME_MAX 64   /* destination name */
#define PP_NOTIFY_STR_MAX 256   /* hosts, keys, secrets, topic */
#define PP_NOTIFY_URL_MAX 2048  /* urls */
#define PP_NOTIFY_KAFKA_MAX 64  /* [kafka] keys */

typedef enum pp_notify_kind {
    PP_NOTIFY_SLACK,        /* Slack incoming webhook */
    PP_NOTIFY_WEBHOOK,      /* generic JSON webhook, HMAC-signed */
    PP_NOTIFY_PAGERDUTY,    /* PagerDuty Events API v2 */
    PP_NOTIFY_ALERTMANAGER, /* Alertmanager API v2 */
} pp_notify_kind_t;

typedef struct pp_notify_dest_config {
    char name[PP_NOTIFY_NAME_MAX];       /* from the section name; what the log shows */
    int kind;                            /* pp_notify_kind_t; -1 until `type` is read */
    char url[PP_NOTIFY_URL_MAX];         /* required but for pagerduty (default its public endpoint); secret */
    char secret[PP_NOTIFY_STR_MAX];      /* webhook: HMAC key ("" = unsigned); secret */
    char routing_key[PP_NOTIFY_STR_MAX]; /* pagerduty: integration key (required); secret */
    pp_notify_route_t route;             /* rules, severities, statuses, partner_types, tiers */
    int repost_interval_ms;              /* alertmanager: re-post of open alerts, 60000 */
} pp_notify_dest_config_t;

typedef struct pp_notify_config {
    /* [kafka] minus group.id, in file order */
    char kafka_keys[PP_NOTIFY_KAFKA_MAX][PP_NOTIFY_STR_MAX];
    char kafka_values[PP_NOTIFY_KAFKA_MAX][PP_NOTIFY_STR_MAX];
    int n_kafka;
    char alerts_topic[PP_NOTIFY_STR_MAX]; /* [topics] alerts: partner.alerts */
    /* [redis] */
    char redis_host[PP_NOTIFY_STR_MAX];     /* 127.0.0.1 */
    int redis_port;                         /* 16379 */
    char redis_user[PP_NOTIFY_STR_MAX];     /* "" */
    char redis_password[PP_NOTIFY_STR_MAX]; /* "" ; secret */
    int redis_db;                           /* 0 */
    char redis_prefix[PP_NOTIFY_STR_MAX];   /* pp: */
    int redis_timeout_ms;                   /* 2000 */
    /* [notify] */
    char group_id[PP_NOTIFY_STR_MAX];      /* partnerpulse-notify */
    char start[16];                        /* latest | earliest: where a new group starts */
    char dashboard_url[PP_NOTIFY_URL_MAX]; /* "" = no links */
    bool enrich;                           /* true: read type, tier, name, why from Redis */
    int queue_max;                         /* 1000 deliveries waiting per destination */
    int inflight_max;                      /* 10000 alerts consumed, not yet committed */
    int retry_initial_ms;                  /* 1000: first retry delay, doubled each time */
    int retry_max_ms;                      /* 60000: cap of the delay */
    int http_timeout_ms;                   /* 10000: one HTTP request, connect included */
    int drain_timeout_ms;                  /* 10000: on stop, time left to deliver what is queued */
    int dedup_max;                         /* 65536 transitions remembered to skip duplicates; 0 = off */
    int log_level;                         /* PP_LOG_INFO */
    /* [destination:NAME] */
    pp_notify_dest_config_t dest[PP_NOTIFY_DEST_MAX];
    int n_dest;
} pp_notify_config_t;

/* The public PagerDuty endpoint, the default url of a pagerduty destination */
#define PP_NOTIFY_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

/* "slack", "webhook", "pagerduty", "alertmanager" */
const char *pp_notify_kind_name(int kind);

/*
 * Read path into *cfg (defaults first; cfg is large: allocate it). Returns
 * 0, or -1 with a sentence in err (OUT) naming the file, line or key and
 * what to do.
 */
int pp_notify_config_load(const char *path, pp_notify_config_t *cfg, char *err, size_t err_len);

#endif
