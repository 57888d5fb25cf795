/*
 * pp_notify_config: INI parsing with libinih (see pp_notify_config.h).
 */
#include "pp_notify_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "pp_ini_key.h"
#include "pp_log.h"

#define DEST_PREFIX "destination:"

const char *pp_notify_kind_name(int kind)
{
    static const char *const names[] = {"slack", "webhook", "pagerduty", "alertmanager"};
    return kind >= 0 && kind < 4 ? names[kind] : "unknown";
}

static void defaults(pp_notify_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->kafka_keys[0], PP_NOTIFY_STR_MAX, "bootstrap.servers");
    snprintf(cfg->kafka_values[0], PP_NOTIFY_STR_MAX, "127.0.0.1:19092");
    cfg->n_kafka = 1;
    snprintf(cfg->alerts_topic, sizeof cfg->alerts_topic, "partner.alerts");
    snprintf(cfg->redis_host, sizeof cfg->redis_host, "127.0.0.1");
    cfg->redis_port = 16379;
    snprintf(cfg->redis_prefix, sizeof cfg->redis_prefix, "pp:");
    cfg->redis_timeout_ms = 2000;
    snprintf(cfg->group_id, sizeof cfg->group_id, "partnerpulse-notify");
    snprintf(cfg->start, sizeof cfg->start, "latest");
    cfg->enrich = true;
    cfg->queue_max = 1000;
    cfg->inflight_max = 10000;
    cfg->retry_initial_ms = 1000;
    cfg->retry_max_ms = 60000;
    cfg->http_timeout_ms = 10000;
    cfg->drain_timeout_ms = 10000;
    cfg->dedup_max = 65536;
    cfg->log_level = PP_LOG_INFO;
}

typedef struct parse_ctx {
    pp_notify_config_t *cfg;
    char *err;
    size_t err_len;
    bool failed; /* err holds the reason */
} parse_ctx_t;

/* One table entry per key. Section NULL: a key of [destination:*], its
 * offset into pp_notify_dest_config_t. */
#define C_STR(sec, key, f) PP_INI_STR_KEY(pp_notify_config_t, sec, key, f)
#define C_INT(sec, key, f, lo, hi) PP_INI_INT_KEY(pp_notify_config_t, sec, key, f, lo, hi)
#define C_BOOL(sec, key, f) PP_INI_BOOL_KEY(pp_notify_config_t, sec, key, f)
#define D_STR(key, f) PP_INI_STR_KEY(pp_notify_dest_config_t, NULL, key, f)
#define D_INT(key, f, lo, hi) PP_INI_INT_KEY(pp_notify_dest_config_t, NULL, key, f, lo, hi)

static const pp_ini_key_t keys[] = {
    C_STR("topics", "alerts", alerts_topic),
    PP_INI_REDIS_KEYS(pp_notify_config_t),
    C_STR("notify", "group_id", group_id),
    C_STR("notify", "start", start),
    C_STR("notify", "dashboard_url", dashboard_url),
    C_BOOL("notify", "enrich", enrich),
    C_INT("notify", "queue_max", queue_max, 1, 1000000),
    C_INT("notify", "inflight_max", inflight_max, 1, 10000000),
    C_INT("notify", "retry_initial_ms", retry_initial_ms, 10, 3600000),
    C_INT("notify", "retry_max_ms", retry_max_ms, 10, 86400000),
    C_INT("notify", "http_timeout_ms", http_timeout_ms, 100, 600000),
    C_INT("notify", "drain_timeout_ms", drain_timeout_ms, 0, 600000),
    C_INT("notify", "dedup_max", dedup_max, 0, 10000000),
    D_STR("url", url),
    D_STR("secret", secret),
    D_STR("routing_key", routing_key),
    D_INT("repost_interval_ms", repost_interval_ms, 1000, 3600000),
};

static pp_notify_dest_config_t *dest_for(parse_ctx_t *p, const char *name)
{
    pp_notify_config_t *cfg = p->cfg;
    for (int i = 0; i < cfg->n_dest; i++)
        if (strcmp(cfg->dest[i].name, name) == 0)
            return &cfg->dest[i];
    if (cfg->n_dest == PP_NOTIFY_DEST_MAX) {
        snprintf(p->err, p->err_len, "more than %d [destination:*] sections", PP_NOTIFY_DEST_MAX);
        return NULL;
    }
    if (name[0] == '\0' || strlen(name) >= PP_NOTIFY_NAME_MAX || strpbrk(name, " \t\"=") != NULL) {
        snprintf(p->err, p->err_len, "[destination:%.80s]: the name must be 1..%d characters without spaces, quotes "
                 "or '='", name, PP_NOTIFY_NAME_MAX - 1);
        return NULL;
    }
    pp_notify_dest_config_t *d = &cfg->dest[cfg->n_dest++];
    memset(d, 0, sizeof *d);
    memcpy(d->name, name, strlen(name) + 1);
    d->kind = -1;
    d->repost_interval_ms = 60000;
    return d;
}

static int dest_entry(parse_ctx_t *p, const char *section, const char *name, const char *value)
{
    pp_notify_dest_config_t *d = dest_for(p, section + strlen(DEST_PREFIX));
    if (d == NULL)
        return 0;
    if (strcmp(name, "type") == 0) {
        for (int k = 0; k < 4; k++)
            if (strcmp(value, pp_notify_kind_name(k)) == 0) {
                d->kind = k;
                return 1;
            }
        snprintf(p->err, p->err_len, "[%s] type must be slack, webhook, pagerduty or alertmanager", section);
        return 0;
    }
    int r = pp_notify_route_set(&d->route, name, value, p->err, p->err_len);
    if (r != 0) {
        if (r < 0) {
            char why[400];
            snprintf(why, sizeof why, "%s", p->err);
            snprintf(p->err, p->err_len, "[%s] %s", section, why);
        }
        return r > 0;
    }
    const pp_ini_key_t *k = pp_ini_key_find(keys, sizeof keys / sizeof keys[0], NULL, name);
    if (k != NULL)
        return pp_ini_key_set(k, d, section, value, p->err, p->err_len) == 0;
    snprintf(p->err, p->err_len,
             "unknown key '%s' in [%s]: the keys are type, url, secret, routing_key, repost_interval_ms, rules, "
             "severities, statuses, partner_types, tiers (docs/notify.md)", name, section);
    return 0;
}

/* inih handler: 1 = ok, 0 = stop (p->err says why). */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx_t *p = user;
    pp_notify_config_t *cfg = p->cfg;
    int ok = 1;

    if (strncmp(section, DEST_PREFIX, strlen(DEST_PREFIX)) == 0) {
        ok = dest_entry(p, section, name, value);
    } else if (strcmp(section, "kafka") == 0) {
        if (strcmp(name, "group.id") == 0)
            return 1; /* the daemon's group; ours is [notify] group_id */
        int i = 0;
        while (i < cfg->n_kafka && strcmp(cfg->kafka_keys[i], name) != 0)
            i++;
        if (i == PP_NOTIFY_KAFKA_MAX || strlen(name) >= PP_NOTIFY_STR_MAX || strlen(value) >= PP_NOTIFY_STR_MAX) {
            snprintf(p->err, p->err_len, "[kafka] %s: too many keys or too long", name);
            ok = 0;
        } else {
            memcpy(cfg->kafka_keys[i], name, strlen(name) + 1);
            memcpy(cfg->kafka_values[i], value, strlen(value) + 1);
            cfg->n_kafka += i == cfg->n_kafka;
        }
    } else if (strcmp(section, "notify") == 0 && strcmp(name, "log_level") == 0) {
        static const struct { const char *name; int level; } levels[] = {
            {"error", PP_LOG_ERR}, {"warning", PP_LOG_WARNING}, {"notice", PP_LOG_NOTICE}, {"info", PP_LOG_INFO},
            {"debug", PP_LOG_DEBUG}};
        ok = 0;
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
            if (strcmp(value, levels[i].name) == 0) {
                cfg->log_level = levels[i].level;
                ok = 1;
            }
        if (!ok)
            snprintf(p->err, p->err_len, "[notify] log_level must be error, warning, notice, info or debug");
    } else {
        const pp_ini_key_t *k = pp_ini_key_find(keys, sizeof keys / sizeof keys[0], section, name);
        if (k != NULL) {
            ok = pp_ini_key_set(k, cfg, section, value, p->err, p->err_len) == 0;
            goto out;
        }
        if (strcmp(section, "notify") == 0) {
            snprintf(p->err, p->err_len,
                     "unknown key '%s' in [notify]: the keys are group_id, start, dashboard_url, enrich, queue_max, "
                     "inflight_max, retry_initial_ms, retry_max_ms, http_timeout_ms, drain_timeout_ms, dedup_max, "
                     "log_level (docs/notify.md)", name);
            ok = 0;
        }
        /* other keys of [topics], [redis] and every other section: the daemon's */
    }
out:
    if (!ok)
        p->failed = true;
    return ok;
}

/* Checks what a single key cannot: required keys per type. */
static int check_dest(const pp_notify_config_t *cfg, pp_notify_dest_config_t *d, char *err, size_t err_len)
{
    if (d->kind < 0) {
        snprintf(err, err_len, "[destination:%s] needs type = slack, webhook, pagerduty or alertmanager", d->name);
        return -1;
    }
    if (d->kind == PP_NOTIFY_PAGERDUTY && d->url[0] == '\0')
        snprintf(d->url, sizeof d->url, "%s", PP_NOTIFY_PAGERDUTY_URL);
    if (d->url[0] == '\0' || (strncmp(d->url, "http://", 7) != 0 && strncmp(d->url, "https://", 8) != 0)) {
        snprintf(err, err_len, "[destination:%s] needs url = http(s)://... (%s)", d->name,
                 d->kind == PP_NOTIFY_SLACK          ? "the Slack incoming-webhook URL"
                 : d->kind == PP_NOTIFY_ALERTMANAGER ? "Alertmanager's base URL, e.g. http://127.0.0.1:9093"
                                                     : "where to POST");
        return -1;
    }
    if (d->kind == PP_NOTIFY_PAGERDUTY && d->routing_key[0] == '\0') {
        snprintf(err, err_len, "[destination:%s] needs routing_key = the integration key of a PagerDuty service "
                 "(Events API v2)", d->name);
        return -1;
    }
    if (d->secret[0] && d->kind != PP_NOTIFY_WEBHOOK) {
        snprintf(err, err_len, "[destination:%s] secret signs webhook deliveries only (type = webhook)", d->name);
        return -1;
    }
    if (pp_notify_route_needs_partner(&d->route) && !cfg->enrich) {
        snprintf(err, err_len, "[destination:%s] routes by partner_types or tiers, which come from Redis: set "
                 "[notify] enrich = true", d->name);
        return -1;
    }
    return 0;
}

int pp_notify_config_load(const char *path, pp_notify_config_t *cfg, char *err, size_t err_len)
{
    parse_ctx_t p = {.cfg = cfg, .err = err, .err_len = err_len};
    char why[700];

    defaults(cfg);
    if (pp_ini_parse(path, on_entry, &p, &p.failed, err, err_len) != 0)
        return -1;
    if (cfg->n_dest == 0) {
        snprintf(err, err_len, "%s: no [destination:NAME] section: nothing to deliver to (docs/notify.md)", path);
        return -1;
    }
    for (int i = 0; i < cfg->n_dest; i++)
        if (check_dest(cfg, &cfg->dest[i], why, sizeof why) != 0) {
            snprintf(err, err_len, "%s: %s", path, why);
            return -1;
        }
    if (cfg->retry_max_ms < cfg->retry_initial_ms) {
        snprintf(err, err_len, "%s: [notify] retry_max_ms must be >= retry_initial_ms", path);
        return -1;
    }
    if (cfg->redis_prefix[0] == '\0' || strchr(cfg->redis_prefix, '{') != NULL) {
        snprintf(err, err_len, "%s: [redis] prefix must be non-empty and must not contain '{'", path);
        return -1;
    }
    if (strcmp(cfg->start, "latest") != 0 && strcmp(cfg->start, "earliest") != 0) {
        snprintf(err, err_len, "%s: [notify] start must be latest or earliest", path);
        return -1;
    }
    if (cfg->dashboard_url[0] && strncmp(cfg->dashboard_url, "http://", 7) != 0 &&
        strncmp(cfg->dashboard_url, "https://", 8) != 0) {
        snprintf(err, err_len, "%s: [notify] dashboard_url must start with http:// or https://", path);
        return -1;
    }
    return 0;
}
