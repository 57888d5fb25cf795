/*
 * pp_web_api: the JSON routes (see pp_web_api.h and docs/dashboard.md).
 */
#include "pp_web_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

static unsigned error(json_t **ret_body, unsigned status, const char *sentence)
{
    *ret_body = json_pack("{s:s}", "error", sentence);
    return status;
}

/* 503 with why Redis is unavailable. */
static unsigned unavailable(json_t **ret_body, const char *why)
{
    char msg[600];
    snprintf(msg, sizeof msg, "Redis is unavailable: %s", why);
    return error(ret_body, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
}

/* A non-negative integer argument in lo..hi; dflt when absent. -1 if bad. */
static long long num_arg(pp_web_arg_fn arg, void *ctx, const char *name, long long dflt, long long lo, long long hi)
{
    const char *v = arg(ctx, name);
    char *end;
    if (v == NULL || v[0] == '\0')
        return dflt;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end != '\0' || x < lo)
        return -1;
    return x > hi ? hi : x; /* above the bound: the bound */
}

unsigned pp_web_api_leaderboard(const pp_web_app_t *app, pp_web_arg_fn arg, void *ctx, json_t **ret_body)
{
    pp_web_query_t q = {.sort = PP_SORT_HEALTH};
    char msg[256];
    long long offset = num_arg(arg, ctx, "offset", 0, 0, 1000000000);
    long long limit = num_arg(arg, ctx, "limit", 50, 0, app->cfg->page_size_max);
    const char *sort = arg(ctx, "sort"), *dir = arg(ctx, "dir");

    if (offset < 0 || limit < 0)
        return error(ret_body, MHD_HTTP_BAD_REQUEST, "offset and limit must be non-negative integers");
    q.offset = (size_t)offset;
    q.limit = (size_t)limit;
    if (sort != NULL && sort[0] != '\0') {
        int s = pp_web_sort_of(sort);
        if (s < 0)
            return error(ret_body, MHD_HTTP_BAD_REQUEST,
                         "sort must be one of health, rag, confidence, flags, owner, partner_type, tier, "
                         "last_event_ms, display_name, id");
        q.sort = (pp_web_sort_t)s;
    }
    if (dir != NULL && dir[0] != '\0') {
        if (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
            return error(ret_body, MHD_HTTP_BAD_REQUEST, "dir must be asc or desc");
        q.desc = strcmp(dir, "desc") == 0;
    }
    static const char *const text_args[] = {"q", "owner", "type", "tier", "rag", "flag"};
    const char **dst[] = {&q.q, &q.owner, &q.type, &q.tier, &q.rag, &q.flag};
    bool filtered = false;
    for (size_t i = 0; i < sizeof text_args / sizeof text_args[0]; i++) {
        const char *v = arg(ctx, text_args[i]);
        if (v != NULL && strlen(v) > PP_WEB_QUERY_TEXT_MAX) {
            snprintf(msg, sizeof msg, "%s is longer than %d bytes", text_args[i], PP_WEB_QUERY_TEXT_MAX);
            return error(ret_body, MHD_HTTP_BAD_REQUEST, msg);
        }
        *dst[i] = v;
        filtered = filtered || (v != NULL && v[0] != '\0');
    }

    if ((*ret_body = pp_web_index_query(app->index, &q)) != NULL)
        return MHD_HTTP_OK;
    if (pp_web_index_ready(app->index))
        return error(ret_body, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (filtered || q.sort != PP_SORT_HEALTH)
        return error(ret_body, MHD_HTTP_SERVICE_UNAVAILABLE,
                     "the leaderboard index is being built: until it is, only the default view (sort=health, "
                     "no filter or search) is served; try again in a few seconds");
    /* not indexed yet: the default view straight from Redis */
    char err[512];
    redisContext *c = pp_web_redis_get(app->pool, err, sizeof err);
    if (c == NULL)
        return unavailable(ret_body, err);
    *ret_body = pp_web_leaderboard_direct(c, app->cfg->redis_prefix, q.offset, q.limit, q.desc, err, sizeof err);
    pp_web_redis_put(app->pool, c);
    return *ret_body ? MHD_HTTP_OK : unavailable(ret_body, err);
}

/* "20790:63.5" (day number : health) -> {"day": "2026-12-03", "health": 63.5}. */
static json_t *trend_point(const char *member)
{
    long long day;
    double health;
    char date[32];
    if (sscanf(member, "%lld:%lf", &day, &health) != 2 || day < 0 || day > 2932896 /* year 9999 */)
        return NULL;
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    return json_pack("{s:s, s:f}", "day", date, "health", health);
}

static int cmp_open(const void *a, const void *b)
{
    const char *ra = json_string_value(json_object_get(*(json_t *const *)a, "rule"));
    const char *rb = json_string_value(json_object_get(*(json_t *const *)b, "rule"));
    return strcmp(ra ? ra : "", rb ? rb : "");
}

/* pp:open:{id} HGETALL reply -> array of the parsed episodes, by rule. */
static json_t *open_flags(const redisReply *h)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        json_t *o = json_loads(h->element[i + 1]->str, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o)) { /* not what the daemon writes: show it as it is */
            json_decref(o);
            o = json_pack("{s:o, s:o}", "rule", pp_web_json_str(h->element[i]->str), "raw",
                          pp_web_json_str(h->element[i + 1]->str));
        }
        json_array_append_new(arr, o);
    }
    size_t n = json_array_size(arr);
    if (n > 1) {
        json_t **v = malloc(n * sizeof *v);
        if (v != NULL) {
            for (size_t i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(arr, i));
            qsort(v, n, sizeof *v, cmp_open);
            json_array_clear(arr);
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, v[i]);
            free(v);
        }
    }
    return arr;
}

unsigned pp_web_api_partner(const pp_web_app_t *app, const char *id, json_t **ret_body)
{
    char err[512], key[3][2 * PP_WEB_STR_MAX];
    redisReply *r[3] = {NULL, NULL, NULL};
    unsigned status;

    if (!pp_web_valid_id(id))
        return error(ret_body, MHD_HTTP_BAD_REQUEST, "a partner id is 1-128 characters of A-Z a-z 0-9 . _ : -");
    redisContext *c = pp_web_redis_get(app->pool, err, sizeof err);
    if (c == NULL)
        return unavailable(ret_body, err);
    const char *p = app->cfg->redis_prefix;
    snprintf(key[0], sizeof key[0], "%spartner:{%s}", p, id);
    snprintf(key[1], sizeof key[1], "%sopen:{%s}", p, id);
    snprintf(key[2], sizeof key[2], "%strend:{%s}", p, id);
    const char *argv0[] = {"HGETALL", key[0]}, *argv1[] = {"HGETALL", key[1]}, *argv2[] = {"ZRANGE", key[2], "0", "-1"};
    redisAppendCommandArgv(c, 2, argv0, NULL);
    redisAppendCommandArgv(c, 2, argv1, NULL);
    redisAppendCommandArgv(c, 4, argv2, NULL);
    for (int i = 0; i < 3; i++) {
        void *rep = NULL;
        if (redisGetReply(c, &rep) != REDIS_OK || rep == NULL) {
            status = unavailable(ret_body, c->errstr);
            goto out;
        }
        r[i] = rep;
    }
    for (int i = 0; i < 3; i++)
        if (r[i]->type == REDIS_REPLY_ERROR) {
            snprintf(err, sizeof err, "Redis refused a read: %s", r[i]->str);
            status = error(ret_body, MHD_HTTP_BAD_GATEWAY, err);
            goto out;
        }
    if (r[0]->type != REDIS_REPLY_ARRAY || r[0]->elements == 0) {
        snprintf(err, sizeof err, "no partner '%s'", id);
        status = error(ret_body, MHD_HTTP_NOT_FOUND, err);
        goto out;
    }
    json_t *fields = json_object(), *trend = json_array();
    for (size_t i = 0; i + 1 < r[0]->elements; i += 2)
        json_object_set_new(fields, r[0]->element[i]->str, pp_web_json_str(r[0]->element[i + 1]->str));
    for (size_t i = 0; r[2]->type == REDIS_REPLY_ARRAY && i < r[2]->elements; i++) {
        json_t *pt = trend_point(r[2]->element[i]->str);
        if (pt != NULL)
            json_array_append_new(trend, pt);
    }
    *ret_body = json_pack("{s:o, s:o, s:o, s:o}", "id", pp_web_json_str(id), "fields", fields, "open",
                          open_flags(r[1]), "trend", trend);
    status = *ret_body ? MHD_HTTP_OK : error(ret_body, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
out:
    for (int i = 0; i < 3; i++)
        if (r[i])
            freeReplyObject(r[i]);
    pp_web_redis_put(app->pool, c);
    return status;
}

/* The end of the next XREVRANGE page: "(" + the last id seen. */
static void exclusive(char *dst, size_t cap, const char *id)
{
    snprintf(dst, cap, "(%s", id);
}

unsigned pp_web_api_alerts(const pp_web_app_t *app, pp_web_arg_fn arg, void *ctx, json_t **ret_body)
{
    char err[512], key[PP_WEB_STR_MAX + 16], end[64] = "+", count[24];
    long long limit = num_arg(arg, ctx, "limit", app->cfg->alerts_max, 1, app->cfg->alerts_max);
    const char *partner = arg(ctx, "partner");
    unsigned status = MHD_HTTP_OK;

    if (limit < 0)
        return error(ret_body, MHD_HTTP_BAD_REQUEST, "limit must be a positive integer");
    if (partner != NULL && partner[0] == '\0')
        partner = NULL;
    if (partner != NULL && !pp_web_valid_id(partner))
        return error(ret_body, MHD_HTTP_BAD_REQUEST, "a partner id is 1-128 characters of A-Z a-z 0-9 . _ : -");
    redisContext *c = pp_web_redis_get(app->pool, err, sizeof err);
    if (c == NULL)
        return unavailable(ret_body, err);
    snprintf(key, sizeof key, "%salerts", app->cfg->redis_prefix);
    /* without a partner one page is the answer; with one, pages of the
     * latest entries are looked through, up to PP_WEB_ALERTS_SCAN_MAX */
    long long page = partner ? 500 : limit, scanned = 0;
    snprintf(count, sizeof count, "%lld", page);
    json_t *alerts = json_array();
    while ((long long)json_array_size(alerts) < limit && scanned < PP_WEB_ALERTS_SCAN_MAX) {
        const char *argv[] = {"XREVRANGE", key, end, "-", "COUNT", count};
        redisReply *r = redisCommandArgv(c, 6, argv, NULL);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            snprintf(err, sizeof err, "%s", r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            json_decref(alerts);
            status = unavailable(ret_body, err);
            goto out;
        }
        for (size_t i = 0; i < r->elements && (long long)json_array_size(alerts) < limit; i++) {
            json_t *a = pp_web_alert_json(r->element[i]);
            const char *pid = json_string_value(json_object_get(a, "partner_id"));
            if (a != NULL && (partner == NULL || (pid && strcmp(pid, partner) == 0)))
                json_array_append(alerts, a);
            json_decref(a);
        }
        size_t got = r->elements;
        if (got > 0 && r->element[got - 1]->type == REDIS_REPLY_ARRAY && r->element[got - 1]->elements > 0)
            exclusive(end, sizeof end, r->element[got - 1]->element[0]->str);
        freeReplyObject(r);
        scanned += (long long)got;
        if ((long long)got < page || partner == NULL)
            break;
    }
    *ret_body = json_pack("{s:o}", "alerts", alerts);
out:
    pp_web_redis_put(app->pool, c);
    return status;
}

unsigned pp_web_api_healthz(const pp_web_app_t *app, const char **ret_text)
{
    char err[512];
    redisContext *c = pp_web_redis_get(app->pool, err, sizeof err);
    redisReply *r = c ? redisCommand(c, "PING") : NULL;
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    pp_web_redis_put(app->pool, c);
    *ret_text = ok ? "ok\n" : "Redis unavailable\n";
    return ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static bool stream_id(const char *s)
{
    unsigned long long ms, seq;
    char extra;
    return s != NULL && strlen(s) < 48 && (sscanf(s, "%llu-%llu%c", &ms, &seq, &extra) == 2);
}

char *pp_web_api_catch_up(const pp_web_app_t *app, const char *last_id, char *ret_last)
{
    char err[512], key[PP_WEB_STR_MAX + 16], start[64], count[16];
    char *text = NULL;
    size_t len = 0;

    if (!stream_id(last_id))
        return NULL;
    snprintf(ret_last, 48, "%s", last_id);
    redisContext *c = pp_web_redis_get(app->pool, err, sizeof err);
    if (c == NULL)
        return NULL;
    snprintf(key, sizeof key, "%salerts", app->cfg->redis_prefix);
    exclusive(start, sizeof start, last_id);
    snprintf(count, sizeof count, "%d", PP_WEB_CATCH_UP_MAX);
    const char *argv[] = {"XRANGE", key, start, "+", "COUNT", count};
    redisReply *r = redisCommandArgv(c, 6, argv, NULL);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        json_t *a = pp_web_alert_json(r->element[i]);
        const char *id = json_string_value(json_object_get(a, "id"));
        char *f = a && id ? pp_web_sse_alert_frame(id, a) : NULL;
        char *grown = f ? realloc(text, len + strlen(f) + 1) : NULL;
        if (grown != NULL) {
            memcpy(grown + len, f, strlen(f) + 1);
            len += strlen(f);
            text = grown;
            snprintf(ret_last, 48, "%s", id);
        }
        free(f);
        json_decref(a);
    }
    if (r)
        freeReplyObject(r);
    pp_web_redis_put(app->pool, c);
    return text;
}
