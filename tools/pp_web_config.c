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

#include "pp_ini_key.h"

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

#define STR(sec, key, field) PP_INI_STR_KEY(pp_web_config_t, sec, key, field)
#define INT(sec, key, field, lo, hi) PP_INI_INT_KEY(pp_web_config_t, sec, key, field, lo, hi)

static const pp_ini_key_t keys[] = {
    PP_INI_REDIS_KEYS(pp_web_config_t),
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
    const pp_ini_key_t *k = pp_ini_key_find(keys, sizeof keys / sizeof keys[0], section, name);
    if (k != NULL) {
        if (pp_ini_key_set(k, p->cfg, section, value, p->err, p->err_len) != 0) {
            p->failed = true;
            return 0;
        }
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

    pp_web_config_defaults(cfg);
    if (pp_ini_parse(path, on_entry, &p, &p.failed, err, err_len) != 0)
        return -1;
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
