/*
 * `partnerpulse show` and `partnerpulse top`: read what the daemon wrote to
 * Redis (docs/redis.md) and print it for a person.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "pp_cli.h"

typedef struct redis_opts {
    const char *host;
    int port;
    const char *prefix;
    int db;
} redis_opts_t;

static void redis_defaults(redis_opts_t *o)
{
    o->host = pp_cli_env("PP_REDIS_HOST", "127.0.0.1");
    o->port = atoi(pp_cli_env("PP_REDIS_PORT", "16379"));
    o->prefix = pp_cli_env("PP_REDIS_PREFIX", "pp:");
    o->db = atoi(pp_cli_env("PP_REDIS_DB", "0"));
}

/* Connect (and AUTH with $PP_REDIS_PASSWORD / $PP_REDIS_USER if set). */
static redisContext *connect_redis(const redis_opts_t *o)
{
    struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout(o->host, o->port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "partnerpulse: cannot connect to Redis at %s:%d: %s (is the stack up? "
                        "deploy/local/up; or set PP_REDIS_HOST/PP_REDIS_PORT)\n",
                o->host, o->port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    const char *pw = getenv("PP_REDIS_PASSWORD");
    if (pw && pw[0]) {
        const char *user = getenv("PP_REDIS_USER");
        redisReply *r = user && user[0] ? redisCommand(c, "AUTH %s %s", user, pw) : redisCommand(c, "AUTH %s", pw);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "partnerpulse: Redis AUTH failed: %s\n", r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    if (o->db != 0) {
        redisReply *r = redisCommand(c, "SELECT %d", o->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "partnerpulse: Redis SELECT %d failed: %s\n", o->db, r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

static const char *hget(const redisReply *h, const char *field)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static long long hget_ll(const redisReply *h, const char *field)
{
    const char *v = hget(h, field);
    return v ? atoll(v) : 0;
}

static void fmt_money(const char *minor, char *out, size_t cap)
{
    long long v = minor ? atoll(minor) : 0;
    snprintf(out, cap, "%lld.%02lld", v / 100, (v < 0 ? -v : v) % 100);
}

static void fmt_time(const char *ms, char *out, size_t cap)
{
    long long v = ms ? atoll(ms) : 0;
    if (v <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t s = (time_t)(v / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int parse_redis_opt(int c, const char *arg, redis_opts_t *o)
{
    switch (c) {
    case 'H': o->host = arg; return 0;
    case 'p': o->port = atoi(arg); return 0;
    case 'P': o->prefix = arg; return 0;
    case 'd': o->db = atoi(arg); return 0;
    default: return -1;
    }
}

#define REDIS_USAGE                                                                           \
    "  -H, --redis-host HOST   Redis host (default $PP_REDIS_HOST or 127.0.0.1)\n"             \
    "  -p, --redis-port PORT   Redis port (default $PP_REDIS_PORT or 16379)\n"                 \
    "  -P, --prefix PREFIX     key prefix (default $PP_REDIS_PREFIX or pp:)\n"                 \
    "  -d, --db N              Redis database number (default $PP_REDIS_DB or 0)\n"           \
    "  Password: $PP_REDIS_PASSWORD (and $PP_REDIS_USER for an ACL user).\n"

static const struct option redis_long_opts[] = {{"redis-host", required_argument, NULL, 'H'},
                                                {"redis-port", required_argument, NULL, 'p'},
                                                {"prefix", required_argument, NULL, 'P'},
                                                {"db", required_argument, NULL, 'd'},
                                                {"count", required_argument, NULL, 'n'},
                                                {"help", no_argument, NULL, 'h'},
                                                {NULL, 0, NULL, 0}};

int pp_cmd_show(int argc, char **argv)
{
    redis_opts_t o;
    redis_defaults(&o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "H:p:P:d:h", redis_long_opts, NULL)) != -1) {
        if (c == 'h') {
            printf("Usage: partnerpulse show [options] PARTNER_ID\n"
                   "Prints what Redis holds for the partner.\n" REDIS_USAGE);
            return 0;
        }
        if (parse_redis_opt(c, optarg, &o) != 0) {
            fprintf(stderr, "Usage: partnerpulse show [options] PARTNER_ID (see --help)\n");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "Usage: partnerpulse show [options] PARTNER_ID (see --help)\n");
        return 2;
    }
    const char *id = argv[optind];
    redisContext *rc = connect_redis(&o);
    if (rc == NULL)
        return 1;
    redisReply *h = redisCommand(rc, "HGETALL %spartner:{%s}", o.prefix, id);
    int status = 0;
    if (h == NULL || h->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "partnerpulse show: Redis error: %s\n", h && h->str ? h->str : rc->errstr);
        status = 1;
        goto out;
    }
    if (h->elements == 0) {
        fprintf(stderr, "partnerpulse show: no partner '%s' in Redis (key %spartner:{%s})\n", o.prefix
                ? id : id, o.prefix, id);
        status = 1;
        goto out;
    }
    const char *name = hget(h, "display_name");
    printf("partner %s%s%s%s\n", id, name && name[0] ? " (" : "", name ? name : "", name && name[0] ? ")" : "");
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *f = h->element[i]->str, *v = h->element[i + 1]->str;
        char pretty[96];
        if (ends_with(f, "_minor")) {
            fmt_money(v, pretty, sizeof pretty);
            printf("  %-30s %s\n", f, pretty);
        } else if (ends_with(f, "_at_ms") || strcmp(f, "last_inbound_ms") == 0 ||
                   strcmp(f, "last_outbound_ms") == 0 || strcmp(f, "last_event_ms") == 0) {
            fmt_time(v, pretty, sizeof pretty);
            printf("  %-30s %s\n", f, pretty);
        } else {
            printf("  %-30s %s\n", f, v);
        }
    }
    redisReply *rank = redisCommand(rc, "ZRANK %shealth %s", o.prefix, id);
    redisReply *total = redisCommand(rc, "ZCARD %shealth", o.prefix);
    if (rank && rank->type == REDIS_REPLY_INTEGER && total && total->type == REDIS_REPLY_INTEGER)
        printf("  %-30s %lld of %lld (1 = least healthy)\n", "health_rank", rank->integer + 1, total->integer);
    if (rank)
        freeReplyObject(rank);
    if (total)
        freeReplyObject(total);
out:
    if (h)
        freeReplyObject(h);
    redisFree(rc);
    return status;
}

int pp_cmd_top(int argc, char **argv)
{
    redis_opts_t o;
    redis_defaults(&o);
    long n = 20;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "H:p:P:d:n:h", redis_long_opts, NULL)) != -1) {
        if (c == 'h') {
            printf("Usage: partnerpulse top [options]\n"
                   "Lists partners from least to most healthy (the pp:health leaderboard).\n"
                   "  -n, --count N           how many (default 20, 0 = all)\n" REDIS_USAGE);
            return 0;
        }
        if (c == 'n') {
            n = atol(optarg);
            continue;
        }
        if (parse_redis_opt(c, optarg, &o) != 0) {
            fprintf(stderr, "Usage: partnerpulse top [options] (see --help)\n");
            return 2;
        }
    }
    redisContext *rc = connect_redis(&o);
    if (rc == NULL)
        return 1;
    redisReply *z = redisCommand(rc, "ZRANGE %shealth 0 %ld WITHSCORES", o.prefix, n > 0 ? n - 1 : -1L);
    int status = 0;
    if (z == NULL || z->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "partnerpulse top: Redis error: %s\n", z && z->str ? z->str : rc->errstr);
        status = 1;
        goto out;
    }
    printf("%-24s %6s %-6s %7s %14s %14s %6s %6s  %s\n", "partner", "health", "rag", "events",
           "pipeline", "won", "ref_in", "ref_out", "flags");
    for (size_t i = 0; i + 1 < z->elements; i += 2) {
        const char *id = z->element[i]->str;
        redisReply *h = redisCommand(rc, "HGETALL %spartner:{%s}", o.prefix, id);
        if (h == NULL || h->type != REDIS_REPLY_ARRAY) {
            if (h)
                freeReplyObject(h);
            continue;
        }
        char pipe[32], won[32], ps[32], ws[32];
        long long pipeline = hget_ll(h, "pipeline_sourced_minor") + hget_ll(h, "pipeline_influenced_minor");
        long long revenue = hget_ll(h, "revenue_won_sourced_minor") + hget_ll(h, "revenue_won_influenced_minor");
        snprintf(ps, sizeof ps, "%lld", pipeline);
        snprintf(ws, sizeof ws, "%lld", revenue);
        fmt_money(ps, pipe, sizeof pipe);
        fmt_money(ws, won, sizeof won);
        const char *rag = hget(h, "rag"), *flags = hget(h, "flags"), *ev = hget(h, "events_applied");
        const char *rin = hget(h, "referrals_to_us"), *rout = hget(h, "referrals_to_partner");
        printf("%-24s %6.1f %-6s %7s %14s %14s %6s %6s  %s\n", id, atof(z->element[i + 1]->str),
               rag ? rag : "-", ev ? ev : "0", pipe, won, rin ? rin : "0", rout ? rout : "0",
               flags && flags[0] ? flags : "-");
        freeReplyObject(h);
    }
out:
    if (z)
        freeReplyObject(z);
    redisFree(rc);
    return status;
}
