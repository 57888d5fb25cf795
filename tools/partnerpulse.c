/*
 * partnerpulse: the command-line tool. Feeds events in (produce, gen) and
 * reads partner health out (show, top). See README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pp_cli.h"
#include "pp_gen.h"

const char *pp_cli_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && v[0] ? v : dflt;
}

redisContext *pp_cli_redis_connect(const char *host, int port, int db)
{
    struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "partnerpulse: cannot connect to Redis at %s:%d: %s (is the stack up? "
                        "deploy/local/up; or set PP_REDIS_HOST/PP_REDIS_PORT)\n",
                host, port, c ? c->errstr : "out of memory");
        goto fail;
    }
    const char *pw = pp_cli_env("PP_REDIS_PASSWORD", NULL), *user = pp_cli_env("PP_REDIS_USER", NULL);
    if (pw != NULL) {
        redisReply *r = user ? redisCommand(c, "AUTH %s %s", user, pw) : redisCommand(c, "AUTH %s", pw);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "partnerpulse: Redis AUTH failed: %s\n", r ? r->str : c->errstr);
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (db != 0) {
        redisReply *r = redisCommand(c, "SELECT %d", db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "partnerpulse: Redis SELECT %d failed: %s\n", db, r ? r->str : c->errstr);
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    redisSetTimeout(c, tv);
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
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
    } cmds[] = {{"produce", pp_cmd_produce}, {"gen", pp_gen_main}, {"show", pp_cmd_show}, {"top", pp_cmd_top}, {"topics", pp_cmd_topics}, {"alerts", pp_cmd_alerts}, {"dlq", pp_cmd_dlq}, {"drain", pp_cmd_drain}, {"snooze", pp_cmd_snooze}, {"latency", pp_cmd_latency}};
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
