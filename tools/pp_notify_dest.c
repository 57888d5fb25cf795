/*
 * pp_notify_dest: see pp_notify_dest.h.
 */
#include "pp_notify_dest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pp_cli.h"
#include "pp_log.h"
#include "pp_notify_backoff.h"
#include "pp_notify_http.h"
#include "pp_notify_payload.h"

typedef struct job {
    pp_notify_record_t *rec; /* acknowledged on 2xx; NULL = none */
    int status;              /* PP_ST_* */
    char alert_id[40];       /* for the log and the Alertmanager table */
    char partner_id[72];     /* for the log */
    char rule[40];           /* for the log */
    char *body;              /* slack, webhook, pagerduty: the request body; owned */
    json_t *am;              /* alertmanager: the alert without endsAt; owned */
    json_t *am_old;          /* alertmanager: a label set of this episode to resolve with it; owned */
    bool am_applied;         /* the open-alert table has seen this job */
    int64_t starts_ms;       /* alertmanager: startsAt, as rendered */
    int64_t event_time_ms;   /* alertmanager: the RESOLVED's endsAt (capped by now) */
    int failures;            /* attempts that failed */
    int64_t next_at;         /* monotonic ms of the next attempt */
    struct job *next;        /* FIFO */
} job_t;

typedef struct am_open {
    char id[40];  /* alert_id */
    json_t *obj;  /* the alert as last posted, without endsAt */
} am_open_t;

struct pp_notify_dest {
    const pp_notify_config_t *cfg;    /* [notify] */
    const pp_notify_dest_config_t *dc; /* this destination */
    pthread_t thread;                 /* the worker */
    pthread_mutex_t mu;               /* guards the fields up to `stopping` */
    pthread_cond_t cv;                /* a push or the stop */
    job_t *head, *tail;               /* the queue; the worker pops, the consumer appends */
    size_t queued;                    /* jobs in the queue */
    bool stopping;                    /* stop asked */
    int64_t stop_at;                  /* monotonic ms: give up draining then */
    /* worker thread only */
    pp_notify_http_t *http;           /* its curl handle */
    char endpoint[PP_NOTIFY_URL_MAX + 32]; /* url (+ /api/v2/alerts) */
    am_open_t *open;                  /* alertmanager: the firing alerts */
    size_t n_open;
    bool adopted;                     /* alertmanager: the start-up GET is done */
    int64_t next_repost;              /* monotonic ms */
    int repost_failures;              /* consecutive */
    bool warned_full;                 /* the open table filled (logged once) */
};

static void job_free(job_t *j)
{
    if (j == NULL)
        return;
    free(j->body);
    json_decref(j->am);
    json_decref(j->am_old);
    free(j);
}

/* ---- Alertmanager: the table of firing alerts ---- */

static am_open_t *am_find(pp_notify_dest_t *d, const char *id)
{
    for (size_t i = 0; i < d->n_open; i++)
        if (strcmp(d->open[i].id, id) == 0)
            return &d->open[i];
    return NULL;
}

/* Adds (id, obj) taking a reference; false when the table is full. */
static bool am_add(pp_notify_dest_t *d, const char *id, json_t *obj)
{
    if (d->n_open == PP_NOTIFY_AM_OPEN_MAX) {
        if (!d->warned_full)
            pp_log(PP_LOG_WARNING, "msg=\"alertmanager destination holds %d firing alerts: the others are posted "
                                   "once and not re-posted (they lapse at their endsAt)\" destination=%s",
                   PP_NOTIFY_AM_OPEN_MAX, d->dc->name);
        d->warned_full = true;
        return false;
    }
    if (d->open == NULL && (d->open = calloc(PP_NOTIFY_AM_OPEN_MAX, sizeof *d->open)) == NULL)
        return false;
    snprintf(d->open[d->n_open].id, sizeof d->open[d->n_open].id, "%s", id);
    d->open[d->n_open++].obj = json_incref(obj);
    return true;
}

static void am_remove(pp_notify_dest_t *d, am_open_t *o)
{
    json_decref(o->obj);
    *o = d->open[--d->n_open];
}

/* A copy of alert with endsAt = ends_ms appended to arr. */
static void am_append(json_t *arr, const json_t *alert, int64_t ends_ms)
{
    char t[40];
    json_t *c = json_deep_copy(alert);
    if (c == NULL)
        return;
    pp_notify_iso8601(ends_ms, t, sizeof t);
    json_object_set_new(c, "endsAt", json_string(t));
    json_array_append_new(arr, c);
}

static int64_t am_firing_ends(const pp_notify_dest_t *d, int64_t now)
{
    return now + 4 * (int64_t)d->dc->repost_interval_ms;
}

/* First attempt of a job: bring the table up to date and remember, in
 * am_old, a label set of the same episode that this post must resolve (the
 * severity changed while firing, or the partner's type or tier moved). */
static void am_apply(pp_notify_dest_t *d, job_t *j)
{
    am_open_t *o = am_find(d, j->alert_id);
    j->am_applied = true;
    if (o && !pp_notify_am_same_labels(o->obj, j->am))
        j->am_old = json_incref(o->obj);
    if (j->status == PP_ST_FIRING) {
        if (o) {
            json_decref(o->obj);
            o->obj = json_incref(j->am);
        } else {
            am_add(d, j->alert_id, j->am);
        }
    } else if (o) {
        am_remove(d, o);
    }
}

/* ---- one attempt ---- */

static int post(pp_notify_dest_t *d, const char *body, const char *const *headers, long *retry_after, char *err,
                size_t err_len)
{
    return pp_notify_http_post(d->http, d->endpoint, headers, body, strlen(body), retry_after, err, err_len);
}

static int attempt(pp_notify_dest_t *d, job_t *j, long *retry_after, char *err, size_t err_len)
{
    char ts[24], sig[PP_NOTIFY_SIG_LEN], h_ts[64], h_sig[128], h_id[96], h_ev[64];
    const char *headers[5] = {NULL};
    int rc;

    if (d->dc->kind == PP_NOTIFY_WEBHOOK) {
        snprintf(ts, sizeof ts, "%" PRId64, pp_cli_wall_ms() / 1000);
        snprintf(h_ts, sizeof h_ts, "X-Partnerpulse-Timestamp: %s", ts);
        snprintf(h_id, sizeof h_id, "X-Partnerpulse-Alert-Id: %s", j->alert_id);
        snprintf(h_ev, sizeof h_ev, "X-Partnerpulse-Status: %s", pp_notify_status_name(j->status));
        headers[0] = h_ts;
        headers[1] = h_id;
        headers[2] = h_ev;
        if (d->dc->secret[0]) {
            if (pp_notify_sign(d->dc->secret, ts, j->body, strlen(j->body), sig) != 0) {
                snprintf(err, err_len, "cannot compute the HMAC (libcrypto)");
                return -EIO;
            }
            snprintf(h_sig, sizeof h_sig, "X-Partnerpulse-Signature: %s", sig);
            headers[3] = h_sig;
        }
    }
    if (d->dc->kind != PP_NOTIFY_ALERTMANAGER)
        return post(d, j->body, headers, retry_after, err, err_len);

    int64_t now = pp_cli_wall_ms();
    if (!j->am_applied)
        am_apply(d, j);
    json_t *arr = json_array();
    if (arr == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    int64_t ends = now;
    if (j->status == PP_ST_FIRING) {
        ends = am_firing_ends(d, now);
    } else {
        ends = j->event_time_ms < now ? j->event_time_ms : now;
        ends = ends > j->starts_ms ? ends : j->starts_ms;
    }
    if (j->am_old)
        am_append(arr, j->am_old, now > ends ? ends : now);
    am_append(arr, j->am, ends);
    char *body = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (body == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    rc = post(d, body, NULL, retry_after, err, err_len);
    free(body);
    return rc;
}

/* ---- Alertmanager: adopt at start, re-post while firing ---- */

static void am_adopt(pp_notify_dest_t *d)
{
    char url[PP_NOTIFY_URL_MAX + 96], err[256];
    char *body = NULL;
    snprintf(url, sizeof url, "%s?active=true&silenced=true&inhibited=true&unprocessed=true", d->endpoint);
    int rc = pp_notify_http_get(d->http, url, &body, err, sizeof err);
    if (rc < 200 || rc > 299) {
        pp_log(PP_LOG_WARNING, "msg=\"cannot read the firing alerts from Alertmanager; trying again at the next "
                               "re-post\" destination=%s http_status=%d error=\"%s\"", d->dc->name, rc > 0 ? rc : 0, err);
        return;
    }
    json_t *all = json_loads(body, 0, NULL);
    free(body);
    size_t i, adopted = 0;
    json_t *a;
    json_array_foreach(all, i, a) {
        json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
        const char *id = json_string_value(json_object_get(ann, "alert_id"));
        if (id == NULL || strlen(id) != 32 || json_object_get(labels, "partner") == NULL ||
            json_object_get(labels, "rule") == NULL || am_find(d, id) != NULL)
            continue;
        json_t *o = json_pack("{s:O, s:O, s:O}", "labels", labels, "annotations", ann, "startsAt",
                              json_object_get(a, "startsAt"));
        if (o == NULL)
            continue;
        json_t *gen = json_object_get(a, "generatorURL");
        if (json_string_length(gen) > 0)
            json_object_set(o, "generatorURL", gen);
        adopted += am_add(d, id, o);
        json_decref(o);
    }
    json_decref(all);
    d->adopted = true;
    pp_log(PP_LOG_INFO, "msg=\"adopted the firing alerts Alertmanager holds from partnerpulse\" destination=%s "
                        "alerts=%zu", d->dc->name, adopted);
}

static void am_repost(pp_notify_dest_t *d)
{
    char err[256];
    int64_t now = pp_cli_wall_ms(), ends = am_firing_ends(d, now);
    int rc = 200;
    for (size_t start = 0; start < d->n_open && rc >= 200 && rc <= 299; start += PP_NOTIFY_AM_CHUNK) {
        json_t *arr = json_array();
        for (size_t i = start; arr && i < d->n_open && i < start + PP_NOTIFY_AM_CHUNK; i++)
            am_append(arr, d->open[i].obj, ends);
        char *body = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
        json_decref(arr);
        rc = body ? post(d, body, NULL, NULL, err, sizeof err) : -ENOMEM;
        free(body);
    }
    if (rc >= 200 && rc <= 299) {
        if (d->repost_failures > 0)
            pp_log(PP_LOG_INFO, "msg=\"re-post to Alertmanager works again\" destination=%s", d->dc->name);
        d->repost_failures = 0;
        pp_log(PP_LOG_DEBUG, "msg=\"re-posted firing alerts\" destination=%s alerts=%zu", d->dc->name, d->n_open);
    } else if (d->repost_failures++ == 0) {
        pp_log(PP_LOG_WARNING, "msg=\"re-post to Alertmanager failed; trying at each interval\" destination=%s "
                               "alerts=%zu http_status=%d error=\"%s\"", d->dc->name, d->n_open, rc > 0 ? rc : 0, err);
    }
}

/* ---- the thread ---- */

static void timed_wait(pp_notify_dest_t *d, int64_t until_mono)
{
    int64_t ms = until_mono - pp_cli_mono_ms();
    if (ms <= 0)
        return;
    if (ms > 1000)
        ms = 1000; /* re-check the stop now and then */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void *run(void *arg)
{
    pp_notify_dest_t *d = arg;
    char err[256];
    bool am = d->dc->kind == PP_NOTIFY_ALERTMANAGER;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        int64_t now = pp_cli_mono_ms(), wake = now + 1000;
        if (d->stopping && (d->head == NULL || now >= d->stop_at))
            break;
        if (am && !d->stopping && now >= d->next_repost) {
            pthread_mutex_unlock(&d->mu);
            if (!d->adopted)
                am_adopt(d);
            am_repost(d);
            pthread_mutex_lock(&d->mu);
            d->next_repost = pp_cli_mono_ms() + d->dc->repost_interval_ms;
            continue;
        }
        if (am && d->next_repost < wake)
            wake = d->next_repost;
        job_t *j = d->head;
        if (j && now >= j->next_at) {
            pthread_mutex_unlock(&d->mu);
            long retry_after = 0;
            int rc = attempt(d, j, &retry_after, err, sizeof err);
            bool ok = rc >= 200 && rc <= 299;
            if (ok) {
                if (j->failures > 0)
                    pp_log(PP_LOG_INFO, "msg=\"delivered after retries\" destination=%s alert_id=%s partner=%s "
                                        "rule=%s status=%s attempts=%d", d->dc->name, j->alert_id, j->partner_id,
                           j->rule, pp_notify_status_name(j->status), j->failures + 1);
                else
                    pp_log(PP_LOG_DEBUG, "msg=\"delivered\" destination=%s alert_id=%s partner=%s rule=%s status=%s "
                                         "http_status=%d", d->dc->name, j->alert_id, j->partner_id, j->rule,
                           pp_notify_status_name(j->status), rc);
                if (j->rec)
                    pp_notify_track_done(j->rec);
            } else {
                j->failures++;
                int64_t delay = pp_notify_backoff_ms(j->failures, d->cfg->retry_initial_ms, d->cfg->retry_max_ms);
                if (retry_after * 1000 > delay)
                    delay = retry_after * 1000 < d->cfg->retry_max_ms ? retry_after * 1000 : d->cfg->retry_max_ms;
                j->next_at = pp_cli_mono_ms() + delay;
                pp_log(PP_LOG_WARNING, "msg=\"delivery failed, will retry\" destination=%s type=%s alert_id=%s "
                                       "partner=%s rule=%s status=%s http_status=%d error=\"%s\" attempt=%d "
                                       "retry_in_ms=%" PRId64 " queued=%zu", d->dc->name,
                       pp_notify_kind_name(d->dc->kind), j->alert_id, j->partner_id, j->rule,
                       pp_notify_status_name(j->status), rc > 0 ? rc : 0, err, j->failures, delay, d->queued);
            }
            pthread_mutex_lock(&d->mu);
            if (ok) {
                d->head = j->next;
                if (d->head == NULL)
                    d->tail = NULL;
                d->queued--;
                job_free(j);
            }
            continue;
        }
        if (j && j->next_at < wake)
            wake = j->next_at;
        if (d->stopping && d->stop_at < wake)
            wake = d->stop_at;
        timed_wait(d, wake);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

pp_notify_dest_t *pp_notify_dest_start(const pp_notify_config_t *cfg, const pp_notify_dest_config_t *dc, char *err,
                                       size_t err_len)
{
    pp_notify_dest_t *d = calloc(1, sizeof *d);
    pthread_condattr_t ca;
    if (d == NULL || (d->http = pp_notify_http_new(cfg->http_timeout_ms)) == NULL) {
        snprintf(err, err_len, "out of memory");
        free(d);
        return NULL;
    }
    d->cfg = cfg;
    d->dc = dc;
    snprintf(d->endpoint, sizeof d->endpoint, "%s", dc->url);
    if (dc->kind == PP_NOTIFY_ALERTMANAGER) {
        size_t n = strlen(d->endpoint);
        while (n > 0 && d->endpoint[n - 1] == '/')
            d->endpoint[--n] = '\0';
        snprintf(d->endpoint + n, sizeof d->endpoint - n, "/api/v2/alerts");
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&d->thread, NULL, run, d);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start a thread: %s", strerror(rc));
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        pp_notify_http_free(d->http);
        free(d);
        return NULL;
    }
    return d;
}

bool pp_notify_dest_full(pp_notify_dest_t *d)
{
    pthread_mutex_lock(&d->mu);
    bool full = d->queued >= (size_t)d->cfg->queue_max;
    pthread_mutex_unlock(&d->mu);
    return full;
}

size_t pp_notify_dest_queued(pp_notify_dest_t *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->queued;
    pthread_mutex_unlock(&d->mu);
    return n;
}

int pp_notify_dest_push(pp_notify_dest_t *d, const pp_notify_alert_t *a, pp_notify_record_t *rec, int64_t now_ms)
{
    if (pp_notify_dest_full(d))
        return -ENOSPC;
    job_t *j = calloc(1, sizeof *j);
    if (j == NULL)
        return -ENOMEM;
    j->rec = rec;
    j->status = a->status;
    snprintf(j->alert_id, sizeof j->alert_id, "%s", a->alert_id);
    snprintf(j->partner_id, sizeof j->partner_id, "%s", a->partner_id);
    snprintf(j->rule, sizeof j->rule, "%s", a->rule);
    switch ((pp_notify_kind_t)d->dc->kind) {
    case PP_NOTIFY_SLACK: j->body = pp_notify_render_slack(a, d->cfg->dashboard_url); break;
    case PP_NOTIFY_WEBHOOK: j->body = pp_notify_render_webhook(a, d->cfg->dashboard_url); break;
    case PP_NOTIFY_PAGERDUTY:
        j->body = pp_notify_render_pagerduty(a, d->dc->routing_key, d->cfg->dashboard_url);
        break;
    case PP_NOTIFY_ALERTMANAGER:
        j->am = pp_notify_render_am_alert(a, d->cfg->dashboard_url, now_ms);
        j->starts_ms = a->started_at_ms < now_ms ? a->started_at_ms : now_ms;
        j->event_time_ms = a->event_time_ms;
        break;
    }
    if (j->body == NULL && j->am == NULL) {
        job_free(j);
        return -ENOMEM;
    }
    pthread_mutex_lock(&d->mu);
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    d->queued++;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

size_t pp_notify_dest_stop(pp_notify_dest_t *d, int drain_ms)
{
    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    d->stop_at = pp_cli_mono_ms() + drain_ms;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    size_t left = d->queued;
    while (d->head) {
        job_t *j = d->head;
        d->head = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < d->n_open; i++)
        json_decref(d->open[i].obj);
    free(d->open);
    pp_notify_http_free(d->http);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return left;
}
