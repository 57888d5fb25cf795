/*
 * pp_config: INI parsing with libinih (see pp_config.h).
 */
#include "pp_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d == NULL)
        abort();
    memcpy(d, s, n);
    return d;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = dupstr(v);
}

/* Set or replace a [kafka] key. */
static void kafka_set(pp_config_t *cfg, const char *key, const char *value)
{
    for (size_t i = 0; i < cfg->n_kafka; i++)
        if (strcmp(cfg->kafka_keys[i], key) == 0) {
            set_str(&cfg->kafka_values[i], value);
            return;
        }
    char **k = realloc(cfg->kafka_keys, (cfg->n_kafka + 1) * sizeof *k);
    if (k == NULL)
        abort();
    cfg->kafka_keys = k;
    char **v = realloc(cfg->kafka_values, (cfg->n_kafka + 1) * sizeof *v);
    if (v == NULL)
        abort();
    cfg->kafka_values = v;
    cfg->kafka_keys[cfg->n_kafka] = dupstr(key);
    cfg->kafka_values[cfg->n_kafka] = dupstr(value);
    cfg->n_kafka++;
}

int pp_config_defaults(pp_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    kafka_set(cfg, "bootstrap.servers", "127.0.0.1:19092");
    kafka_set(cfg, "group.id", "partnerpulsed");
    kafka_set(cfg, "auto.offset.reset", "earliest");
    kafka_set(cfg, "partition.assignment.strategy", "range");
    /* librdkafka prefetches up to 64 MiB by default: bound it (daemon memory per
     * partner); a partition the merge holds back keeps up to this much of its own */
    kafka_set(cfg, "queued.max.messages.kbytes", "4096");
    /* messages held by the merge pin their whole fetch response: keep those small */
    kafka_set(cfg, "fetch.max.bytes", "4194304");
    kafka_set(cfg, "max.partition.fetch.bytes", "262144");
    static const char *const names[PP_TOPIC_COUNT] = {"partner.deals", "partner.referrals",
                                                      "partner.engagements", "partner.lifecycle"};
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        cfg->topics[t] = dupstr(names[t]);
    cfg->alerts_topic = dupstr("partner.alerts");
    cfg->dlq_topic = dupstr("partner.dlq");
    cfg->redis_host = dupstr("127.0.0.1");
    cfg->redis_port = 16379;
    cfg->redis_user = dupstr("");
    cfg->redis_password = dupstr("");
    cfg->redis_prefix = dupstr("pp:");
    cfg->redis_timeout_ms = 2000;
    cfg->flush_interval_ms = 20;
    cfg->backlog_flush_interval_ms = 30000;
    cfg->backlog_lag_messages = 100000;
    cfg->head_lag_messages = 5000;
    cfg->flush_max_partners = 5000;
    cfg->batch_max_messages = 10000;
    cfg->cache_max_partners = 200000;
    cfg->log_level = 6;
    cfg->replay = false;
    cfg->timer_interval_ms = 1000;
    cfg->merge_idle_ms = 2000;
    cfg->merge_hold_messages = 4000;
    cfg->outbox_interval_ms = 5000;
    cfg->alerts_stream_maxlen = 100000;
    cfg->outbox_max = 100000;
    cfg->dlq_copy_max = 900 * 1024;
    cfg->on_state_loss_replay = false;
    cfg->publish_max_age_ms = 72LL * 3600 * 1000;
    cfg->http_bind = dupstr("127.0.0.1");
    cfg->http_port = 0;
    cfg->policy = malloc(sizeof *cfg->policy);
    if (cfg->policy == NULL)
        abort();
    pp_policyset_default(cfg->policy);
    pp_limits_default(&cfg->limits);
    return 0;
}

void pp_config_free(pp_config_t *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_kafka; i++) {
        free(cfg->kafka_keys[i]);
        free(cfg->kafka_values[i]);
    }
    free(cfg->kafka_keys);
    free(cfg->kafka_values);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(cfg->topics[t]);
    free(cfg->alerts_topic);
    free(cfg->dlq_topic);
    free(cfg->redis_host);
    free(cfg->redis_user);
    free(cfg->redis_password);
    free(cfg->redis_prefix);
    free(cfg->http_bind);
    free(cfg->policy);
    pp_zonetab_free(&cfg->zones);
    memset(cfg, 0, sizeof *cfg);
}

typedef struct parse_ctx {
    pp_config_t *cfg;
    char *err;
    size_t err_len;
    bool failed;
} parse_ctx_t;

static bool parse_long(const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

#define DURATION_MAX_MS (3650LL * 86400 * 1000) /* ten years */

/* A duration: a whole number with a unit s, m, h or d ("72h", "3d"), or "0".
 * *out in ms. false if malformed or above ten years. */
static bool parse_duration(const char *v, int64_t *out)
{
    static const struct { char unit; int64_t ms; } units[] = {
        {'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0 || v[0] == '-' || v[0] == '+')
        return false;
    if (*end == '\0') { /* a bare number: only 0 is unambiguous */
        if (x != 0)
            return false;
        *out = 0;
        return true;
    }
    if (end[1] != '\0')
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (*end == units[i].unit) {
            if (x > DURATION_MAX_MS / units[i].ms)
                return false;
            *out = (int64_t)x * units[i].ms;
            return true;
        }
    return false;
}

static int level_of(const char *v)
{
    static const struct { const char *name; int level; } levels[] = {
        {"error", 3}, {"warning", 4}, {"warn", 4}, {"notice", 5}, {"info", 6}, {"debug", 7}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(v, levels[i].name) == 0)
            return levels[i].level;
    return -1;
}

/* inih handler: 1 = ok, 0 = error (inih then reports the line). */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx_t *p = user;
    pp_config_t *cfg = p->cfg;
    long long n;
#define INT_KEY(sec, key, lo, hi, dst)                                                        \
    if (strcmp(section, sec) == 0 && strcmp(name, key) == 0) {                                \
        if (!parse_long(value, lo, hi, &n)) {                                                 \
            snprintf(p->err, p->err_len, "[%s] %s must be an integer in %lld..%lld", \
                     section, name, (long long)(lo), (long long)(hi));                \
            p->failed = true;                                                                 \
            return 0;                                                                         \
        }                                                                                     \
        dst = (__typeof__(dst))n;                                                             \
        return 1;                                                                             \
    }
#define STR_KEY(sec, key, dst)                                                                \
    if (strcmp(section, sec) == 0 && strcmp(name, key) == 0) {                                \
        set_str(&(dst), value);                                                               \
        return 1;                                                                             \
    }
    if (strcmp(section, "kafka") == 0) {
        kafka_set(cfg, name, value);
        return 1;
    }
    /* read by `partnerpulse web` (tools/pp_web_config.c), not by the daemon:
     * one file can configure both (docs/dashboard.md) */
    if (strcmp(section, "web") == 0)
        return 1;
    /* read by `partnerpulse notify` (tools/pp_notify_config.c): docs/notify.md */
    if (strcmp(section, "notify") == 0 || strncmp(section, "destination:", 12) == 0)
        return 1;
    STR_KEY("topics", "deals", cfg->topics[PP_TOPIC_DEALS])
    STR_KEY("topics", "referrals", cfg->topics[PP_TOPIC_REFERRALS])
    STR_KEY("topics", "engagements", cfg->topics[PP_TOPIC_ENGAGEMENTS])
    STR_KEY("topics", "lifecycle", cfg->topics[PP_TOPIC_LIFECYCLE])
    if (strcmp(section, "topics") == 0) { /* <topic>_format, <topic>_schema_ids (docs/events.md "Formats") */
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            const char *tn = pp_topic_name((pp_topic_t)t);
            size_t tl = strlen(tn);
            if (strncmp(name, tn, tl) != 0)
                continue;
            if (strcmp(name + tl, "_format") == 0) {
                if (pp_format_parse(value, &cfg->formats[t].format) != 0) {
                    snprintf(p->err, p->err_len, "[topics] %s must be protobuf, json or auto", name);
                    p->failed = true;
                    return 0;
                }
                return 1;
            }
            if (strcmp(name + tl, "_schema_ids") == 0) {
                char why[160];
                if (pp_format_parse_ids(value, &cfg->formats[t], why, sizeof why) != 0) {
                    snprintf(p->err, p->err_len, "[topics] %s: %s", name, why);
                    p->failed = true;
                    return 0;
                }
                return 1;
            }
        }
    }
    STR_KEY("topics", "alerts", cfg->alerts_topic)
    STR_KEY("topics", "dlq", cfg->dlq_topic)
    STR_KEY("redis", "host", cfg->redis_host)
    INT_KEY("redis", "port", 1, 65535, cfg->redis_port)
    STR_KEY("redis", "user", cfg->redis_user)
    STR_KEY("redis", "password", cfg->redis_password)
    INT_KEY("redis", "db", 0, 1000000, cfg->redis_db)
    STR_KEY("redis", "prefix", cfg->redis_prefix)
    INT_KEY("redis", "timeout_ms", 10, 600000, cfg->redis_timeout_ms)
    INT_KEY("daemon", "flush_interval_ms", 1, 60000, cfg->flush_interval_ms)
    INT_KEY("daemon", "backlog_flush_interval_ms", 1, 600000, cfg->backlog_flush_interval_ms)
    INT_KEY("daemon", "backlog_lag_messages", 1, 1000000000, cfg->backlog_lag_messages)
    INT_KEY("daemon", "head_lag_messages", 0, 1000000000, cfg->head_lag_messages)
    INT_KEY("daemon", "flush_max_partners", 1, 1000000, cfg->flush_max_partners)
    INT_KEY("daemon", "batch_max_messages", 1, 1000000, cfg->batch_max_messages)
    INT_KEY("daemon", "cache_max_partners", 1, 100000000, cfg->cache_max_partners)
    if (strcmp(section, "daemon") == 0 && strcmp(name, "log_level") == 0) {
        if ((cfg->log_level = level_of(value)) < 0) {
            snprintf(p->err, p->err_len,
                     "[daemon] log_level must be error, warning, notice, info or debug");
            p->failed = true;
            return 0;
        }
        return 1;
    }
    INT_KEY("daemon", "timer_interval_ms", 10, 3600000, cfg->timer_interval_ms)
    INT_KEY("daemon", "merge_idle_ms", 0, 3600000, cfg->merge_idle_ms)
    INT_KEY("daemon", "merge_hold_messages", 2, 10000000, cfg->merge_hold_messages)
    INT_KEY("daemon", "outbox_interval_ms", 100, 3600000, cfg->outbox_interval_ms)
    INT_KEY("daemon", "alerts_stream_maxlen", 100, 100000000, cfg->alerts_stream_maxlen)
    INT_KEY("daemon", "outbox_max", 100, 100000000, cfg->outbox_max)
    INT_KEY("daemon", "dlq_copy_max_bytes", 1024, 1000000000, cfg->dlq_copy_max)
    if (strcmp(section, "daemon") == 0 && strcmp(name, "on_state_loss") == 0) {
        if (strcmp(value, "stop") == 0 || strcmp(value, "replay") == 0) {
            cfg->on_state_loss_replay = strcmp(value, "replay") == 0;
            return 1;
        }
        snprintf(p->err, p->err_len, "[daemon] on_state_loss must be stop or replay");
        p->failed = true;
        return 0;
    }
    if (strcmp(section, "daemon") == 0 && strcmp(name, "clock") == 0) {
        if (strcmp(value, "live") == 0 || strcmp(value, "replay") == 0) {
            cfg->replay = strcmp(value, "replay") == 0;
            return 1;
        }
        snprintf(p->err, p->err_len, "[daemon] clock must be live or replay");
        p->failed = true;
        return 0;
    }
    if (strcmp(section, "alerts") == 0 && strcmp(name, "publish_max_age") == 0) {
        if (!parse_duration(value, &cfg->publish_max_age_ms)) {
            snprintf(p->err, p->err_len,
                     "[alerts] publish_max_age must be 0 (no limit) or a whole number with a unit s, m, h or d, "
                     "e.g. 72h, at most 3650d");
            p->failed = true;
            return 0;
        }
        return 1;
    }
    STR_KEY("http", "bind", cfg->http_bind)
    INT_KEY("http", "port", 0, 65535, cfg->http_port)
    if (strcmp(section, "score") == 0 || strcmp(section, "rules") == 0) {
        if (pp_policyset_set(cfg->policy, name, value, p->err, p->err_len) != 0) {
            p->failed = true;
            return 0;
        }
        return 1;
    }
    if (strncmp(section, "type:", 5) == 0 || strncmp(section, "tier:", 5) == 0) {
        /* [type:T], [tier:N] or, most specific, [type:T tier:N] (DESIGN §5) */
        const char *both = section[1] == 'y' ? strstr(section, " tier:") : NULL;
        int rc;
        if (both) {
            char type[32];
            snprintf(type, sizeof type, "%.*s", (int)(both - (section + 5)), section + 5);
            rc = pp_policyset_override_type_tier(cfg->policy, type, both + 6, name, value, p->err, p->err_len);
        } else {
            rc = section[1] == 'y' ? pp_policyset_override_type(cfg->policy, section + 5, name, value, p->err, p->err_len)
                                   : pp_policyset_override_tier(cfg->policy, section + 5, name, value, p->err, p->err_len);
        }
        if (rc != 0) {
            p->failed = true;
            return 0;
        }
        return 1;
    }
    if (strncmp(section, "calendar:", 9) == 0) { /* business hours (DESIGN §4) */
        if (pp_policyset_calendar(cfg->policy, section + 9, name, value, p->err, p->err_len) != 0) {
            p->failed = true;
            return 0;
        }
        return 1;
    }
    if (strcmp(section, "currency") == 0) { /* reporting currency and rates (DESIGN §3 "Money") */
        if (pp_money_set(&cfg->policy->money, name, value, p->err, p->err_len) != 0) {
            p->failed = true;
            return 0;
        }
        return 1;
    }
    INT_KEY("limits", "max_message_bytes", 64, 16 * 1024 * 1024, cfg->limits.max_message_bytes)
    INT_KEY("limits", "max_amount_minor", 0, INT64_MAX, cfg->limits.max_amount_minor)
    INT_KEY("limits", "max_future_skew_ms", 0, INT64_MAX / 4, cfg->limits.max_future_skew_ms)
#undef INT_KEY
#undef STR_KEY
    snprintf(p->err, p->err_len, "unknown key '%s' in section [%s] (see docs/configuration.md)",
             name, section);
    p->failed = true;
    return 0;
}

int pp_config_load(pp_config_t *cfg, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    parse_ctx_t p = {.cfg = cfg, .err = err, .err_len = err_len, .failed = false};
    int rc = ini_parse_file(f, on_entry, &p);
    fclose(f);
    if (p.failed) {
        /* prefix with the file name */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, err_len, "%s: line %d: %s", path, rc, tmp);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, err_len, "%s: line %d: syntax error (expected 'key = value' or '[section]')",
                 path, rc);
        return -1;
    }
    /* the [currency] section as a whole (a rate for the reporting currency
     * must be 1), before resolve folds it into config_version */
    if (pp_money_finish(&cfg->policy->money, err, err_len) != 0 ||
        pp_policyset_resolve(cfg->policy, err, err_len) != 0) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, err_len, "%s: %s", path, tmp);
        return -1;
    }
    /* time zones for calendars and partner profiles (DESIGN §4) */
    if (cfg->zones.n == 0 && pp_zonetab_load(&cfg->zones, err, err_len) != 0)
        return -1;
    if (pp_policyset_zones(cfg->policy, cfg->zones.zones, cfg->zones.hashes, cfg->zones.n, err, err_len) != 0) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, err_len, "%s: %s", path, tmp);
        return -1;
    }
    if (cfg->redis_prefix[0] == '\0' || strchr(cfg->redis_prefix, '{') != NULL) {
        snprintf(err, err_len, "%s: [redis] prefix must be non-empty and must not contain '{'", path);
        return -1;
    }
    if (cfg->head_lag_messages > cfg->backlog_lag_messages)
        cfg->head_lag_messages = cfg->backlog_lag_messages; /* hysteresis never inverted */
    return 0;
}
