/*
 * pp_web_config: the configuration of `partnerpulse web` (docs/dashboard.md).
 *
 * Read from the daemon's INI file: [redis] (the same keys and defaults as
 * the daemon's, docs/configuration.md) and [web]. Every other section is
 * the daemon's business and is ignored; an unknown key in [web] is an error.
 * Strings are held in fixed buffers: a longer value is refused, never cut.
 */
#ifndef PP_WEB_CONFIG_H
#define PP_WEB_CONFIG_H

#include <stddef.h>

#define PP_WEB_STR_MAX 256   /* host, user, password, token, listen, ... */
#define PP_WEB_PATH_MAX 4096 /* assets_dir */

typedef struct pp_web_config {
    /* [redis] */
    char redis_host[PP_WEB_STR_MAX];     /* name, IP or Unix socket path; 127.0.0.1 */
    int redis_port;                      /* 16379, as the daemon's */
    char redis_user[PP_WEB_STR_MAX];     /* "" = none */
    char redis_password[PP_WEB_STR_MAX]; /* "" = no AUTH; never logged */
    int redis_db;                        /* 0 */
    char redis_prefix[PP_WEB_STR_MAX];   /* pp: */
    int redis_timeout_ms;                /* 2000 */
    /* [web] */
    char listen[PP_WEB_STR_MAX];         /* IP literal; 127.0.0.1 */
    int port;                            /* 8088; 0 = kernel's choice (tests) */
    char token[PP_WEB_STR_MAX];          /* "" = no bearer token; never logged */
    char basic_user[PP_WEB_STR_MAX];     /* "" = no basic auth */
    char basic_password[PP_WEB_STR_MAX]; /* never logged */
    char assets_dir[PP_WEB_PATH_MAX];    /* PP_WEB_ASSETS_DIR */
    int page_size_max;                   /* 200: largest leaderboard limit */
    int index_refresh_ms;                /* 60000: full rebuild of the leaderboard index */
    int poll_ms;                         /* 1000: health-change detection */
    int alerts_max;                      /* 50: largest /api/alerts limit (and its default) */
} pp_web_config_t;

/* Fill cfg with the defaults above. */
void pp_web_config_defaults(pp_web_config_t *cfg);

/*
 * Read path into cfg (defaults first). Returns 0, or -1 with a sentence in
 * err (OUT) naming the file, line or key and what to do.
 */
int pp_web_config_load(const char *path, pp_web_config_t *cfg, char *err, size_t err_len);

#endif
