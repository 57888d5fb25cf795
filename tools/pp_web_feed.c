/*
 * pp_web_feed: the index and alert threads (see pp_web_feed.h).
 */
#include "pp_web_feed.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_log.h"

struct pp_web_feed {
    const pp_web_app_t *app;  /* borrowed */
    pthread_t index_thread, alert_thread;
    bool index_started, alert_started;
    pthread_mutex_t mu;       /* guards stopping */
    pthread_cond_t cond;      /* signalled on stop: ends sleeps early */
    bool stopping;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms, or less if stopping. Returns whether to go on. */
static bool nap(pp_web_feed_t *f, long long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&f->mu);
    while (!f->stopping && pthread_cond_timedwait(&f->cond, &f->mu, &until) != ETIMEDOUT)
        ;
    bool go_on = !f->stopping;
    pthread_mutex_unlock(&f->mu);
    return go_on;
}

static bool running(pp_web_feed_t *f)
{
    pthread_mutex_lock(&f->mu);
    bool go_on = !f->stopping;
    pthread_mutex_unlock(&f->mu);
    return go_on;
}

/* A thread's own connection: *c kept, or opened. Logs the loss of Redis
 * and its return once each (*down tracks which). */
static bool ensure(const pp_web_app_t *app, redisContext **c, bool *down, const char *who)
{
    char err[512];
    if (*c != NULL && (*c)->err == 0)
        return true;
    if (*c != NULL) {
        if (!*down)
            pp_log(PP_LOG_ERR, "msg=\"Redis connection lost\" thread=%s error=\"%s\"", who, (*c)->errstr);
        *down = true;
        redisFree(*c);
        *c = NULL;
    }
    *c = pp_web_redis_open(app->cfg, err, sizeof err);
    if (*c == NULL) {
        if (!*down)
            pp_log(PP_LOG_ERR, "msg=\"Redis unavailable: answering 503 where Redis is needed, retrying every %d ms\" "
                               "thread=%s error=\"%s\"",
                   PP_WEB_RETRY_MS, who, err);
        *down = true;
        return false;
    }
    if (*down)
        pp_log(PP_LOG_NOTICE, "msg=\"Redis available again\" thread=%s", who);
    *down = false;
    return true;
}

static void *index_main(void *arg)
{
    pp_web_feed_t *f = arg;
    const pp_web_app_t *app = f->app;
    redisContext *c = NULL;
    bool down = false, built_once = false;
    long long next_rebuild = 0;
    char err[512];

    while (running(f)) {
        if (!ensure(app, &c, &down, "index")) {
            nap(f, PP_WEB_RETRY_MS);
            continue;
        }
        long long t0 = now_ms();
        if (t0 >= next_rebuild || !pp_web_index_ready(app->index)) {
            if (pp_web_index_rebuild(app->index, c, err, sizeof err) != 0) {
                pp_log(PP_LOG_ERR, "msg=\"leaderboard index rebuild failed\" error=\"%s\"", err);
                nap(f, PP_WEB_RETRY_MS);
                continue;
            }
            size_t n, bytes;
            pp_web_index_stats(app->index, &n, &bytes);
            pp_log(built_once ? PP_LOG_DEBUG : PP_LOG_INFO,
                   "msg=\"leaderboard index built\" partners=%zu ms=%lld bytes=%zu bytes_per_partner=%zu", n,
                   now_ms() - t0, bytes, n ? bytes / n : 0);
            built_once = true;
            next_rebuild = now_ms() + app->cfg->index_refresh_ms;
        } else if (pp_web_index_poll(app->index, c, NULL, err, sizeof err) != 0) {
            pp_log(PP_LOG_ERR, "msg=\"leaderboard poll failed\" error=\"%s\"", err);
        }
        long long spent = now_ms() - t0;
        nap(f, spent < app->cfg->poll_ms ? app->cfg->poll_ms - spent : 0);
    }
    if (c)
        redisFree(c);
    return NULL;
}

/* The id of the stream's last entry into last (or "0-0": empty stream). */
static int last_entry(redisContext *c, const char *key, char *last, size_t cap)
{
    const char *argv[] = {"XREVRANGE", key, "+", "-", "COUNT", "1"};
    redisReply *r = redisCommandArgv(c, 6, argv, NULL);
    int rc = r != NULL && r->type == REDIS_REPLY_ARRAY ? 0 : -EIO;
    snprintf(last, cap, "0-0");
    if (rc == 0 && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        snprintf(last, cap, "%s", r->element[0]->element[0]->str);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* One XREAD reply: publish every entry, re-read their partners. */
static void alerts_arrived(const pp_web_app_t *app, redisContext *c, const redisReply *r, char *last, size_t cap)
{
    /* [[key, [[id, [f, v, ...]], ...]]] */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2)
        return;
    const redisReply *entries = r->element[0]->element[1];
    const char *ids[PP_WEB_XREAD_COUNT];
    size_t n = 0;
    char err[512];
    for (size_t i = 0; i < entries->elements; i++) {
        json_t *a = pp_web_alert_json(entries->element[i]);
        const char *id = json_string_value(json_object_get(a, "id"));
        const char *pid = json_string_value(json_object_get(a, "partner_id"));
        if (id != NULL) {
            pp_web_sse_publish_alert(app->sse, id, a);
            snprintf(last, cap, "%s", id);
        }
        /* the partner id is valid (it was written by the daemon): a borrowed
         * pointer into the reply, which outlives the reread below */
        const redisReply *kv = entries->element[i]->element[1];
        for (size_t k = 0; pid && k + 1 < kv->elements && n < PP_WEB_XREAD_COUNT; k += 2)
            if (strcmp(kv->element[k]->str, "partner_id") == 0 && pp_web_valid_id(kv->element[k + 1]->str)) {
                ids[n++] = kv->element[k + 1]->str;
                break;
            }
        json_decref(a);
    }
    if (n > 0 && pp_web_index_reread(app->index, c, ids, n, err, sizeof err) != 0)
        pp_log(PP_LOG_ERR, "msg=\"re-reading alerted partners failed\" error=\"%s\"", err);
}

static void *alert_main(void *arg)
{
    pp_web_feed_t *f = arg;
    const pp_web_app_t *app = f->app;
    redisContext *c = NULL;
    bool down = false, have_last = false;
    char key[PP_WEB_STR_MAX + 16], last[64], count[16], block[16];
    int block_ms = app->cfg->redis_timeout_ms / 2 < 1000 ? app->cfg->redis_timeout_ms / 2 : 1000;

    snprintf(key, sizeof key, "%salerts", app->cfg->redis_prefix);
    snprintf(count, sizeof count, "%d", PP_WEB_XREAD_COUNT);
    snprintf(block, sizeof block, "%d", block_ms > 0 ? block_ms : 1);
    while (running(f)) {
        if (!ensure(app, &c, &down, "alerts")) {
            nap(f, PP_WEB_RETRY_MS);
            continue;
        }
        if (!have_last) { /* "$" once: then the last id seen, so nothing is missed between reads */
            if (last_entry(c, key, last, sizeof last) != 0) {
                nap(f, PP_WEB_RETRY_MS);
                continue;
            }
            have_last = true;
        }
        const char *argv[] = {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", key, last};
        redisReply *r = redisCommandArgv(c, 8, argv, NULL);
        if (r == NULL)
            continue; /* c->err set: ensure() reconnects */
        if (r->type == REDIS_REPLY_ERROR) {
            pp_log(PP_LOG_ERR, "msg=\"XREAD refused\" error=\"%s\"", r->str);
            freeReplyObject(r);
            nap(f, PP_WEB_RETRY_MS);
            continue;
        }
        alerts_arrived(app, c, r, last, sizeof last);
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return NULL;
}

pp_web_feed_t *pp_web_feed_start(const pp_web_app_t *app)
{
    pp_web_feed_t *f = calloc(1, sizeof *f);
    pthread_condattr_t ca;
    if (f == NULL)
        return NULL;
    f->app = app;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, &ca);
    pthread_condattr_destroy(&ca);
    f->index_started = pthread_create(&f->index_thread, NULL, index_main, f) == 0;
    f->alert_started = pthread_create(&f->alert_thread, NULL, alert_main, f) == 0;
    if (!f->index_started || !f->alert_started) {
        pp_web_feed_stop(f);
        return NULL;
    }
    return f;
}

void pp_web_feed_stop(pp_web_feed_t *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    if (f->index_started)
        pthread_join(f->index_thread, NULL);
    if (f->alert_started)
        pthread_join(f->alert_thread, NULL);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
