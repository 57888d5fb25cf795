/*
 * `partnerpulse web --config FILE`: the read-only live dashboard server
 * (docs/dashboard.md). This file is its lifecycle: configuration, start
 * (Redis pool, SSE hub, leaderboard index, feed threads, HTTP server),
 * signals, and the stop in reverse order.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread and taken by the
 * main thread with sigwait(), so no handler runs anywhere; SIGPIPE is
 * ignored (a client that hangs up is an error return, not a death).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "pp_log.h"
#include "pp_cli.h"
#include "pp_web_api.h"
#include "pp_web_config.h"
#include "pp_web_feed.h"
#include "pp_web_http.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: partnerpulse web --config FILE\n"
                 "Serves the read-only live dashboard over HTTP from Redis ([redis] and [web] of FILE;\n"
                 "docs/dashboard.md). Stops on SIGTERM or SIGINT.\n");
}

/* 127.0.0.0/8 or ::1 */
static bool loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

static void change_to_sse(void *ctx, const json_t *row)
{
    pp_web_sse_publish_health(ctx, row);
}

int pp_cmd_web(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    pp_web_config_t cfg;
    pp_web_app_t app = {.cfg = &cfg};
    pp_web_feed_t *feed = NULL;
    pp_web_http_t *http = NULL;
    char err[1024];
    int c, status = 1, sig = 0;
    sigset_t stop_set;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c != 'c') {
            usage(stderr);
            return 2;
        }
        path = optarg;
    }
    if (path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (pp_web_config_load(path, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "partnerpulse web: %s\n", err);
        return 2;
    }

    /* before any thread exists: every thread inherits this mask */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    app.pool = pp_web_redis_new(&cfg);
    app.sse = pp_web_sse_new();
    app.index = app.sse ? pp_web_index_new(cfg.redis_prefix, change_to_sse, app.sse) : NULL;
    if (app.pool == NULL || app.index == NULL) {
        fprintf(stderr, "partnerpulse web: out of memory\n");
        goto out;
    }
    /* a first look at Redis, for a clear sentence at start; not fatal */
    redisContext *rc = pp_web_redis_get(app.pool, err, sizeof err);
    if (rc == NULL)
        pp_log(PP_LOG_ERR,
               "msg=\"Redis unavailable at start: answering 503 where Redis is needed until it answers, retrying "
               "every %d ms\" redis=%s:%d error=\"%s\"",
               PP_WEB_RETRY_MS, cfg.redis_host, cfg.redis_port, err);
    pp_web_redis_put(app.pool, rc);

    if ((http = pp_web_http_start(&app, err, sizeof err)) == NULL) {
        pp_log(PP_LOG_ERR, "msg=\"cannot start\" error=\"%s\"", err);
        fprintf(stderr, "partnerpulse web: %s\n", err);
        goto out;
    }
    if ((feed = pp_web_feed_start(&app)) == NULL) {
        fprintf(stderr, "partnerpulse web: cannot start its threads\n");
        goto out;
    }
    const char *auth = cfg.token[0] && cfg.basic_user[0] ? "token+basic"
                       : cfg.token[0]                    ? "token"
                       : cfg.basic_user[0]               ? "basic"
                                                         : "none";
    pp_log(PP_LOG_INFO,
           "msg=\"partnerpulse web started\" listen=%s%s%s:%d assets_dir=\"%s\" redis=%s:%d db=%d prefix=\"%s\" "
           "redis_user=\"%s\" auth=%s",
           strchr(cfg.listen, ':') ? "[" : "", cfg.listen, strchr(cfg.listen, ':') ? "]" : "", pp_web_http_port(http),
           cfg.assets_dir, cfg.redis_host, cfg.redis_port, cfg.redis_db, cfg.redis_prefix, cfg.redis_user, auth);
    if (strcmp(auth, "none") == 0 && !loopback(cfg.listen))
        pp_log(PP_LOG_WARNING, "msg=\"no authentication and listening beyond loopback: anyone who reaches %s:%d "
                               "reads every partner; set [web] token or basic_user/basic_password\"",
               cfg.listen, pp_web_http_port(http));

    if (sigwait(&stop_set, &sig) != 0)
        sig = 0;
    pp_log(PP_LOG_INFO, "msg=\"stopping\" signal=%s sse_clients=%zu", sig == SIGINT ? "SIGINT" : "SIGTERM",
           pp_web_sse_clients(app.sse));
    status = 0;
out:
    if (app.sse)
        pp_web_sse_stop(app.sse); /* streams end within a second... */
    pp_web_http_stop(http);       /* ...so this join is short */
    pp_web_feed_stop(feed);
    pp_web_index_free(app.index);
    pp_web_sse_free(app.sse);
    pp_web_redis_free(app.pool);
    if (status == 0)
        pp_log(PP_LOG_INFO, "msg=\"stopped\"");
    return status;
}
