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
#include "pp_money.h"

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

/* Minor units of the hash's reporting currency (its "currency" field,
 * DESIGN §3) as major units with the currency's ISO 4217 exponent. */
static void fmt_money(const char *minor, const char *currency, char *out, size_t cap)
{
    long long v = minor ? atoll(minor) : 0;
    int e = currency && currency[0] ? pp_iso4217_exponent(currency) : 2;
    if (e < 0)
        e = 2; /* a hash of an older layout: amounts as published (cents) */
    long long unit = 1;
    for (int i = 0; i < e; i++)
        unit *= 10;
    const char *code = currency && currency[0] ? currency : "";
    if (e == 0)
        snprintf(out, cap, "%lld%s%s", v, code[0] ? " " : "", code);
    else /* e is 1..4 (ISO 4217) */
        snprintf(out, cap, "%lld.%0*lld%s%s", v / unit, e & 7, (v < 0 ? -v : v) % unit, code[0] ? " " : "", code);
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


/* How show lays out the hash (docs/redis.md): sections of known fields. */
typedef enum { F_PLAIN, F_MONEY, F_TIME, F_HOURS, F_DAYS, F_RATIO } fmt_t;
typedef struct shown {
    const char *section; /* non-NULL starts a section */
    const char *field;
    const char *label;
    fmt_t fmt;
} shown_t;

static const shown_t layout[] = {
    {"Health", "score_financial", "financial (30)", F_PLAIN},
    {NULL, "score_strategic", "strategic / pipeline (25)", F_PLAIN},
    {NULL, "score_operational", "operational (25)", F_PLAIN},
    {NULL, "score_relationship", "relationship (20)", F_PLAIN},
    {NULL, "confidence", "confidence", F_RATIO},
    {"Pipeline & revenue", "pipeline_sourced_minor", "open pipeline, sourced", F_MONEY},
    {NULL, "pipeline_influenced_minor", "open pipeline, influenced", F_MONEY},
    {NULL, "revenue_won_sourced_minor", "won revenue, sourced", F_MONEY},
    {NULL, "revenue_won_influenced_minor", "won revenue, influenced", F_MONEY},
    {NULL, "deals_sourced", "deals sourced", F_PLAIN},
    {NULL, "deals_influenced", "deals influenced", F_PLAIN},
    {NULL, "deals_qualified", "qualified opportunities", F_PLAIN},
    {NULL, "deals_won", "deals won", F_PLAIN},
    {NULL, "deals_lost", "deals lost", F_PLAIN},
    {NULL, "win_rate", "win rate", F_RATIO},
    {NULL, "avg_won_deal_minor", "average won deal", F_MONEY},
    {NULL, "days_to_first_qualified", "days SIGNED -> first qualified", F_PLAIN},
    {NULL, "registrations_long", "registrations + referrals (90 d)", F_PLAIN},
    {"Responsiveness", "calendar", "partner's calendar", F_PLAIN},
    {NULL, "timezone", "partner's time zone", F_PLAIN},
    {NULL, "partner_response_p50_bh_short", "partner reply p50 (short window, business h)", F_HOURS},
    {NULL, "partner_response_p90_bh_short", "partner reply p90 (short window, business h)", F_HOURS},
    {NULL, "partner_response_p50_bh_long", "partner reply p50 (long window, business h)", F_HOURS},
    {NULL, "our_response_p50_bh_short", "our reply p50 (short window, business h)", F_HOURS},
    {NULL, "our_response_p90_bh_short", "our reply p90 (short window, business h)", F_HOURS},
    {NULL, "threads_awaiting_partner", "questions awaiting the partner", F_PLAIN},
    {NULL, "oldest_wait_partner_bh", "oldest wait on the partner (business h)", F_HOURS},
    {NULL, "threads_awaiting_us", "threads awaiting us", F_PLAIN},
    {NULL, "max_unanswered_followups", "unanswered follow-ups (max/thread)", F_PLAIN},
    {NULL, "automated_ignored", "automated replies ignored", F_PLAIN},
    {"Commitments", "partner_commitments_made", "partner's made", F_PLAIN},
    {NULL, "partner_commitments_delivered", "partner's delivered", F_PLAIN},
    {NULL, "partner_commitments_missed", "partner's missed", F_PLAIN},
    {NULL, "our_commitments_made", "ours made", F_PLAIN},
    {NULL, "our_commitments_delivered", "ours delivered", F_PLAIN},
    {NULL, "our_commitments_missed", "ours missed", F_PLAIN},
    {"Reciprocity", "contributions_theirs_long", "their contributions (90 d)", F_PLAIN},
    {NULL, "contributions_ours_long", "our contributions (90 d)", F_PLAIN},
    {NULL, "reciprocity_index", "their share", F_RATIO},
    {NULL, "referrals_to_us", "referrals to us", F_PLAIN},
    {NULL, "referrals_to_partner", "referrals to them", F_PLAIN},
    {"Activity", "engagements_inbound", "engagements from them", F_PLAIN},
    {NULL, "engagements_outbound", "engagements from us", F_PLAIN},
    {NULL, "last_inbound_ms", "last inbound", F_TIME},
    {NULL, "last_outbound_ms", "last outbound", F_TIME},
    {NULL, "days_since_inbound", "days since inbound activity", F_PLAIN},
    {NULL, "business_days_since_inbound", "business days since inbound activity", F_PLAIN},
    {NULL, "active", "active partner (90 d)", F_PLAIN},
    {"Bookkeeping", "events_applied", "events applied", F_PLAIN},
    {NULL, "last_event_id", "last event", F_PLAIN},
    {NULL, "clock_ms", "evaluated at (event time)", F_TIME},
    {NULL, "updated_at_ms", "updated at", F_TIME},
    {NULL, "config_version", "config version", F_PLAIN},
};

static void print_partner(const char *id, const redisReply *h)
{
    const char *name = hget(h, "display_name"), *type = hget(h, "partner_type"), *tier = hget(h, "tier"),
               *owner = hget(h, "owner"), *health = hget(h, "health"), *rag = hget(h, "rag"),
               *flags = hget(h, "flags"), *signed_at = hget(h, "signed_at_ms");
    char t[64];
    printf("partner %s%s%s%s\n", id, name && name[0] ? " (" : "", name && name[0] ? name : "",
           name && name[0] ? ")" : "");
    fmt_time(signed_at, t, sizeof t);
    printf("  %s%s%s, owner %s, signed %s\n", type && type[0] ? type : "type unknown", tier && tier[0] ? ", tier " : "",
           tier ? tier : "", owner && owner[0] ? owner : "-", t);
    printf("  HEALTH %s (%s)   red flags: %s\n", health ? health : "-", rag && rag[0] ? rag : "no data",
           flags && flags[0] ? flags : "none");
    static const char *const why[3] = {"why_1", "why_2", "why_3"};
    for (int i = 0; i < 3; i++) {
        const char *w = hget(h, why[i]);
        if (w && w[0])
            printf("  %s %s\n", i == 0 ? "why:" : "    ", w);
        else if (i == 0)
            printf("  why: -\n");
    }
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        const shown_t *f = &layout[i];
        if (f->section)
            printf("\n  %s\n", f->section);
        const char *v = hget(h, f->field);
        char pretty[96];
        if (v == NULL || v[0] == '\0') {
            snprintf(pretty, sizeof pretty, "n/a");
        } else if (f->fmt == F_MONEY) {
            fmt_money(v, hget(h, "currency"), pretty, sizeof pretty);
        } else if (f->fmt == F_TIME) {
            fmt_time(v, pretty, sizeof pretty);
        } else if (f->fmt == F_HOURS) {
            double x = atof(v);
            if (x >= 48)
                snprintf(pretty, sizeof pretty, "%.1f d", x / 24);
            else
                snprintf(pretty, sizeof pretty, "%.1f h", x);
        } else if (f->fmt == F_RATIO) {
            snprintf(pretty, sizeof pretty, "%.0f %%", atof(v) * 100);
        } else {
            snprintf(pretty, sizeof pretty, "%s", v);
        }
        printf("    %-36s %s\n", f->label, pretty);
    }
}

/* "YYYY-MM-DD" of a day number (days since 1970-01-01 UTC). */
static void fmt_day(long day, char *out, size_t cap)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d", &tm);
}

/* Day number of "YYYY-MM-DD"; -1 if it is not one. */
static long parse_day(const char *s)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    /* days from civil (proleptic Gregorian), H. Hinnant's algorithm */
    long yy = m <= 2 ? y - 1 : y, era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400, doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

#define SPARK_COLS 60 /* 180 days, 3 a column */

/* The partner's daily health trend (pp:trend:{id}, docs/redis.md) as a
 * sparkline of its last 180 days (a day without a point carries the one
 * before), and its health as of `as_of` (a day number) if >= 0. */
static void print_trend(redisContext *rc, const char *prefix, const char *id, long as_of)
{
    redisReply *r = redisCommand(rc, "ZRANGE %strend:{%s} 0 -1 WITHSCORES", prefix, id);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        printf("\n  trend: no points yet\n");
        if (r)
            freeReplyObject(r);
        return;
    }
    size_t n = r->elements / 2;
    long last = atol(r->element[2 * (n - 1) + 1]->str), first = last - 179;
    double col[SPARK_COLS], lo = 100, hi = 0, carry = -1;
    size_t k = 0;
    for (int c = 0; c < SPARK_COLS; c++) {
        long end = first + (c + 1) * 3 - 1; /* the column's value: its last day's */
        for (; k < n && atol(r->element[2 * k + 1]->str) <= end; k++) {
            const char *colon = strchr(r->element[2 * k]->str, ':');
            carry = colon ? atof(colon + 1) : carry;
        }
        col[c] = carry;
        if (carry >= 0) {
            lo = carry < lo ? carry : lo;
            hi = carry > hi ? carry : hi;
        }
    }
    static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    char d0[16], d1[16];
    fmt_day(first, d0, sizeof d0);
    fmt_day(last, d1, sizeof d1);
    printf("\n  trend (health, %s .. %s, %zu days with events, min %.1f max %.1f)\n    ", d0, d1, n, lo, hi);
    for (int c = 0; c < SPARK_COLS; c++)
        fputs(col[c] < 0 ? " " : bars[(int)(col[c] / 100.0 * 7.999)], stdout);
    putchar('\n');
    if (as_of >= 0) {
        char d[16];
        fmt_day(as_of, d, sizeof d);
        double v = -1;
        for (size_t i = 0; i < n && atol(r->element[2 * i + 1]->str) <= as_of; i++) {
            const char *colon = strchr(r->element[2 * i]->str, ':');
            v = colon ? atof(colon + 1) : v;
        }
        if (v < 0)
            printf("  health as of %s: no point on or before that day in the last 180 days\n", d);
        else
            printf("  health as of %s: %.1f\n", d, v);
    }
    freeReplyObject(r);
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
                                                {"as-of", required_argument, NULL, 'a'},
                                                {"help", no_argument, NULL, 'h'},
                                                {NULL, 0, NULL, 0}};

int pp_cmd_show(int argc, char **argv)
{
    redis_opts_t o;
    redis_defaults(&o);
    int c;
    long as_of = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "H:p:P:d:a:h", redis_long_opts, NULL)) != -1) {
        if (c == 'h') {
            printf("Usage: partnerpulse show [options] PARTNER_ID\n"
                   "Prints what Redis holds for the partner, with its 180-day health trend.\n"
                   "  -a, --as-of YYYY-MM-DD  also print its health as of that day (event time, UTC)\n" REDIS_USAGE);
            return 0;
        }
        if (c == 'a') {
            if ((as_of = parse_day(optarg)) < 0) {
                fprintf(stderr, "partnerpulse show: --as-of wants a date YYYY-MM-DD, not '%s'\n", optarg);
                return 2;
            }
            continue;
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
    redisContext *rc = pp_cli_redis_connect(o.host, o.port, o.db);
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
    print_partner(id, h);
    redisReply *rank = redisCommand(rc, "ZRANK %shealth %s", o.prefix, id);
    redisReply *total = redisCommand(rc, "ZCARD %shealth", o.prefix);
    if (rank && rank->type == REDIS_REPLY_INTEGER && total && total->type == REDIS_REPLY_INTEGER)
        printf("  %-30s %lld of %lld (1 = least healthy)\n", "health_rank", rank->integer + 1, total->integer);
    if (rank)
        freeReplyObject(rank);
    if (total)
        freeReplyObject(total);
    print_trend(rc, o.prefix, id, as_of);
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
    redisContext *rc = pp_cli_redis_connect(o.host, o.port, o.db);
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
        char pipe[40], won[40], ps[32], ws[32];
        long long pipeline = hget_ll(h, "pipeline_sourced_minor") + hget_ll(h, "pipeline_influenced_minor");
        long long revenue = hget_ll(h, "revenue_won_sourced_minor") + hget_ll(h, "revenue_won_influenced_minor");
        snprintf(ps, sizeof ps, "%lld", pipeline);
        snprintf(ws, sizeof ws, "%lld", revenue);
        fmt_money(ps, hget(h, "currency"), pipe, sizeof pipe);
        fmt_money(ws, hget(h, "currency"), won, sizeof won);
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
