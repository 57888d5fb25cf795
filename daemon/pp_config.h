/*
 * pp_config: the daemon's INI configuration (docs/configuration.md).
 *
 * Sections: [kafka] (every key passed to librdkafka verbatim), [topics],
 * [redis], [daemon], [alerts], [limits], and the policy's [score], [rules],
 * [type:NAME], [tier:NAME], [calendar:NAME], [currency]. Unknown keys outside [kafka] are errors, so a
 * typo is caught at start rather than silently ignored.
 */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"
#include "pp_format.h"
#include "pp_policy.h"
#include "pp_zonetab.h"

typedef struct pp_config {
    /* [kafka]: passed to librdkafka (consumer and producer). */
    char **kafka_keys;
    char **kafka_values;
    size_t n_kafka;

    /* [topics] */
    char *topics[PP_TOPIC_COUNT]; /* deals, referrals, engagements, lifecycle */
    pp_format_conf_t formats[PP_TOPIC_COUNT]; /* <topic>_format, <topic>_schema_ids: what each accepts */
    char *alerts_topic;
    char *dlq_topic;

    /* [redis] */
    char *redis_host;        /* host name/IP, or a unix socket path starting with '/' */
    int redis_port;
    char *redis_user;        /* ACL user (Redis 6+), empty = default user */
    char *redis_password;    /* empty = no AUTH */
    int redis_db;
    char *redis_prefix;      /* key prefix, default "pp:" */
    int redis_timeout_ms;    /* connect and command timeout */

    /* [daemon] */
    int flush_interval_ms;   /* flush dirty partners at least this often */
    int backlog_flush_interval_ms; /* ...and this often while catching up on a backlog */
    int backlog_lag_messages;      /* consumer lag above which the daemon counts as catching up */
    int head_lag_messages;         /* ...and at or below which it is back at the head of the stream */
    int flush_max_partners;  /* ...or when this many partners are dirty */
    int batch_max_messages;  /* messages taken from Kafka per loop turn */
    size_t cache_max_partners; /* clean partners beyond this are evicted */
    int log_level;           /* syslog level: 3 err, 4 warning, 6 info, 7 debug */
    bool replay;             /* clock: false = live (wall clock), true = replay (watermark) */
    int timer_interval_ms;   /* how often due deadlines are looked up */
    int merge_idle_ms;       /* a topic silent this long no longer holds back the merge */
    int merge_hold_messages; /* messages the merge holds per topic partition before holding it back */
    int outbox_interval_ms;  /* how often every assigned outbox is swept */
    long alerts_stream_maxlen; /* approximate cap of the pp:alerts stream */
    long outbox_max;         /* alerts waiting in one partition's outbox before consumption pauses */
    long dlq_copy_max;       /* rejected messages above this many bytes go to the DLQ as metadata records */
    bool on_state_loss_replay; /* [daemon] on_state_loss: false = stop (default), true = replay */
    char *http_bind;         /* observability endpoint address */
    int http_port;           /* 0 = disabled */

    /* [alerts] */
    int64_t publish_max_age_ms; /* transitions older than this (event time vs wall clock) are
                                   recorded, not published; 0 = no limit */

    /* [score], [rules], [type:NAME], [tier:NAME], [calendar:NAME], [currency]: the health policy */
    pp_policyset_t *policy;
    pp_zonetab_t zones;      /* every IANA zone, loaded by pp_config_load for the policy */

    /* [limits] */
    pp_limits_t limits;
} pp_config_t;

/* Set every default (the local stack of deploy/local). */
int pp_config_defaults(pp_config_t *cfg);

/*
 * Load path over the defaults. Returns 0, or -1 with a sentence in err
 * (file unreadable, line N: unknown key, bad number...).
 */
int pp_config_load(pp_config_t *cfg, const char *path, char *err, size_t err_len);

/* Free every string. NULL-safe. */
void pp_config_free(pp_config_t *cfg);

#endif
