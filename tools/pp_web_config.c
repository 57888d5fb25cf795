/*
 * pp_web_config: INI parsing with libinih (see pp_web_config.h).
 */
#include "pp_web_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#ifndef PP_WEB_ASSETS_DIR
#define PP_WEB_ASSETS_DIR "web"
#endif

void pp_web_config_defaults(pp_web_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->redis_host, sizeof cfg->redis_host, "127.0.0.1");
    cfg->redis_port = 16379;
    snprintf(cfg->redis_prefix, sizeof cfg->redis_prefix, "pp:");
    cfg->redis_timeout_ms = 2000;
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1");
    cfg->port = 8088;
    snprintf(cfg->assets_dir, sizeof cfg->assets_dir, "%s", PP_WEB_ASSETS_DIR);
    cfg->page_size_max = 200;
    cfg->index_refresh_ms = 60000;
    cfg->poll_ms = 1000;
    cfg->alerts_max = 50;
}

typedef struct parse_ctx {
    pp_web_config_t *cfg;
    char *err;
    size_t err_len;
    bool failed; /* err holds the reason */
} parse_ctx_t;

/* One table entry per key: adding a key is one line. */
typedef struct key_def {
    const char *section;
    const char *name;
    size_t off;      /* offsetof the field in pp_web_config_t */
    size_t cap;      /* string buffer size; 0 = an int field */
    long lo, hi;     /* int range */
} key_def_t;

#define STR(sec, key, field) {sec, key, offsetof(pp_web_config_t, field), sizeof(((pp_web_config_t *)0)->field), 0, 0}
#define INT(sec, key, field, lo, hi) {sec, key, offsetof(pp_web_config_t, field), 0, lo, hi}

static const key_def_t keys[] = {
    STR("redis", "host", redis_host),
    INT("redis", "port", redis_port, 1, 65535),
    STR("redis", "user", redis_user),
    STR("redis", "password", redis_password),
    INT("redis", "db", redis_db, 0, 1000000),
    STR("redis", "prefix", redis_prefix),
    INT("redis", "timeout_ms", redis_timeout_ms, 10, 600000),
    STR("web", "listen", listen),
    INT("web", "port", port, 0, 65535),
    STR("web", "token", token),
    STR("web", "basic_user", basic_user),
    STR("web", "basic_password", basic_password),
    STR("web", "assets_dir", assets_dir),
    INT("web", "page_size_max", page_size_max, 1, 10000),
    INT("web", "index_refresh_ms", index_refresh_ms, 1000, 86400000),
    INT("web", "poll_ms", poll_ms, 50, 600000),
    INT("web", "alerts_max", alerts_max, 1, 10000),
};

/* inih handler: 1 = ok, 0 = stop (p->failed says why). */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx_t *p = user;
    bool in_web = strcmp(section, "web") == 0;

    if (!in_web && strcmp(section, "redis") != 0)
        return 1; /* the daemon's sections */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const key_def_t *k = &keys[i];
        char *field = (char *)p->cfg + k->off;
        if (strcmp(section, k->section) != 0 || strcmp(name, k->name) != 0)
            continue;
        if (k->cap > 0) {
            if (strlen(value) >= k->cap) {
                snprintf(p->err, p->err_len, "[%s] %s is longer than %zu bytes", section, name, k->cap - 1);
                p->failed = true;
                return 0;
            }
            memcpy(field, value, strlen(value) + 1);
            return 1;
        }
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0' || v < k->lo || v > k->hi) {
            snprintf(p->err, p->err_len, "[%s] %s must be an integer in %ld..%ld", section, name, k->lo, k->hi);
            p->failed = true;
            return 0;
        }
        *(int *)(void *)field = (int)v;
        return 1;
    }
    if (in_web) {
        snprintf(p->err, p->err_len,
                 "unknown key '%s' in [web]: the keys are listen, port, token, basic_user, basic_password, "
                 "assets_dir, page_size_max, index_refresh_ms, poll_ms, alerts_max (docs/dashboard.md)",
                 name);
        p->failed = true;
        return 0;
    }
    return 1; /* other [redis] keys: the daemon checks them */
}

int pp_web_config_load(const char *path, pp_web_config_t *cfg, char *err, size_t err_len)
{
    parse_ctx_t p = {.cfg = cfg, .err = err, .err_len = err_len};
    char why[600];

    pp_web_config_defaults(cfg);
    int rc = ini_parse(path, on_entry, &p);
    if (rc == -1) {
        snprintf(err, err_len, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return -1;
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "%s", p.failed ? err : "syntax error");
        snprintf(err, err_len, "%s:%d: %s", path, rc, why);
        return -1;
    }
    if (cfg->redis_prefix[0] == '\0' || strchr(cfg->redis_prefix, '{') != NULL) {
        snprintf(err, err_len, "%s: [redis] prefix must be non-empty and must not contain '{'", path);
        return -1;
    }
    if ((cfg->basic_user[0] == '\0') != (cfg->basic_password[0] == '\0')) {
        snprintf(err, err_len, "%s: [web] basic_user and basic_password go together: set both or neither "
                               "(docs/dashboard.md)", path);
        return -1;
    }
    for (const char *t = cfg->token; *t; t++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
              strchr("._~+/=-", *t) != NULL)) {
            snprintf(err, err_len, "%s: [web] token may hold only A-Z a-z 0-9 and . _ ~ + / = - (it travels in a "
                                   "cookie and a URL): e.g. openssl rand -hex 32", path);
            return -1;
        }
    if (strchr(cfg->basic_user, ':') != NULL) {
        snprintf(err, err_len, "%s: [web] basic_user must not contain ':' (HTTP Basic)", path);
        return -1;
    }
    return 0;
}
