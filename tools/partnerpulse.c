/*
 * partnerpulse: the command-line tool. Feeds events in (produce, gen) and
 * reads partner health out (show, top). See README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "pp_cli.h"
#include "pp_gen.h"

int64_t pp_cli_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pp_cli_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *pp_cli_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && v[0] ? v : dflt;
}

int pp_cli_redis_open(const pp_cli_redis_opts_t *o, redisContext **ret_c, char *err, size_t err_len)
{
    struct timeval tv = {.tv_sec = o->timeout_ms / 1000, .tv_usec = (o->timeout_ms % 1000) * 1000};
    redisReply *r = NULL;
    int rc = 0;
    redisContext *c = o->host[0] == '/' ? redisConnectUnixWithTimeout(o->host, tv)
                                        : redisConnectWithTimeout(o->host, o->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, err_len, "cannot connect to Redis at %s:%d: %s", o->host, o->port,
                 c ? c->errstr : "out of memory");
        rc = -EHOSTUNREACH;
        goto fail;
    }
    if (o->password != NULL && o->password[0]) {
        r = o->user && o->user[0] ? redisCommand(c, "AUTH %s %s", o->user, o->password)
                                  : redisCommand(c, "AUTH %s", o->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            /* the reply text never contains the password */
            snprintf(err, err_len, "Redis AUTH%s%s failed: %s (check the user and password)",
                     o->user && o->user[0] ? " as " : "", o->user ? o->user : "", r ? r->str : c->errstr);
            rc = r ? -EACCES : -EIO;
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (o->db != 0) {
        r = redisCommand(c, "SELECT %d", o->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_len, "Redis SELECT %d failed: %s", o->db, r ? r->str : c->errstr);
            rc = -EIO;
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    redisSetTimeout(c, tv);
    *ret_c = c;
    return 0;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return rc;
}

redisContext *pp_cli_redis_connect(const char *host, int port, int db)
{
    pp_cli_redis_opts_t o = {.host = host, .port = port, .db = db, .timeout_ms = 3000,
                             .user = pp_cli_env("PP_REDIS_USER", NULL),
                             .password = pp_cli_env("PP_REDIS_PASSWORD", NULL)};
    redisContext *c = NULL;
    char err[512];
    int rc = pp_cli_redis_open(&o, &c, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "partnerpulse: %s%s\n", err,
                rc == -EHOSTUNREACH ? " (is the stack up? deploy/local/up; or set PP_REDIS_HOST/PP_REDIS_PORT)" : "");
        return NULL;
    }
    return c;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: partnerpulse COMMAND [options]\n"
            "\n"
            "Commands:\n"
            "  produce [FILE]     JSON lines -> protobuf events on Kafka (key = partner_id)\n"
            "  gen                write a deterministic synthetic partner stream as JSON lines\n"
            "  show PARTNER_ID    print a partner's state and health from Redis\n"
            "  top                partners from least to most healthy\n"
            "  topics             create the partnerpulse topics (admin API)\n"
            "  alerts             tail the alert topic readably\n"
            "  dlq                tail the dead-letter topic with each rejection's reason\n"
            "  snooze P RULE      stop publishing a partner's rule alerts for a while\n"
            "  drain              read the input topics as fast as a bare consumer can (benchmark ceiling)\n"
            "  latency            produce at a steady rate; p50/p99 produce -> Redis visible and -> alert\n"
            "  web --config FILE  serve the read-only live dashboard over HTTP (docs/dashboard.md)\n"
            "  notify --config FILE  deliver alerts to Slack, webhooks, PagerDuty, Alertmanager (docs/notify.md)\n"
            "\n"
            "'partnerpulse COMMAND --help' explains each command's options.\n"
            "Defaults target the local stack (deploy/local/up): Kafka 127.0.0.1:19092,\n"
            "Redis 127.0.0.1:16379; override with PP_KAFKA_BOOTSTRAP, PP_REDIS_HOST, PP_REDIS_PORT.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"produce", pp_cmd_produce}, {"gen", pp_gen_main}, {"show", pp_cmd_show}, {"top", pp_cmd_top}, {"topics", pp_cmd_topics}, {"alerts", pp_cmd_alerts}, {"dlq", pp_cmd_dlq}, {"drain", pp_cmd_drain}, {"snooze", pp_cmd_snooze}, {"latency", pp_cmd_latency}, {"web", pp_cmd_web}, {"notify", pp_cmd_notify}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("partnerpulse %s\n", PP_VERSION);
        return 0;
    }
    fprintf(stderr, "partnerpulse: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
