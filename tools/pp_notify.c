/*
 * `partnerpulse notify --config FILE`: delivers the alert topic to Slack,
 * webhooks, PagerDuty and Alertmanager (docs/notify.md). This file is its
 * lifecycle and its consume loop:
 *
 *   consume (own group) -> decode Alert -> skip duplicates (pp_notify_seen)
 *   -> read the partner from Redis (pp_notify_partner) -> route
 *   (pp_notify_route) -> queue on each destination (pp_notify_dest, a thread
 *   each) -> once every destination acknowledged, store the offset
 *   (pp_notify_track) -> librdkafka commits stored offsets every second.
 *
 * Back-pressure: when a destination's queue is full, Redis is unreachable,
 * or [notify] inflight_max alerts are not yet committable, the message in
 * hand is kept and every assigned partition is paused (the consumer keeps
 * polling, so the group membership and rebalances go on); nothing is dropped.
 *
 * Signals: SIGINT/SIGTERM only set a flag (blocked in every other thread).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>

#include "partnerpulse.pb-c.h"
#include "pp_cli.h"
#include "pp_log.h"
#include "pp_notify_backoff.h"
#include "pp_notify_config.h"
#include "pp_notify_dest.h"
#include "pp_notify_partner.h"
#include "pp_notify_route.h"
#include "pp_notify_seen.h"
#include "pp_notify_track.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

typedef struct notify {
    const pp_notify_config_t *cfg;
    rd_kafka_t *rk;                          /* the consumer */
    pp_notify_dest_t *dest[PP_NOTIFY_DEST_MAX]; /* one per [destination:*] */
    pp_notify_track_t *track;                /* records of consumed alerts */
    pp_notify_seen_t *seen;                  /* routed transitions (NULL: dedup_max = 0) */
    pp_notify_partners_t *partners;          /* Redis lookups (NULL: enrich off) */
    int32_t assigned[1024];                  /* partitions of the current assignment */
    int n_assigned;
    rd_kafka_message_t *pending;             /* consumed, not yet routed (owned) */
    int pending_failures;                    /* Redis failures on it */
    int64_t pending_retry_at;                /* monotonic ms */
    bool paused;                             /* every assigned partition is paused */
    const char *paused_why;                  /* for the log */
    /* counters, for the log */
    uint64_t consumed, routed, deliveries, duplicates, undecodable;
} notify_t;

static void usage(FILE *out)
{
    fprintf(out, "Usage: partnerpulse notify --config FILE [--check-config]\n"
                 "Consumes the alert topic in its own consumer group and delivers each FIRING and\n"
                 "RESOLVED to the destinations of FILE ([notify], [destination:NAME]; docs/notify.md):\n"
                 "Slack, signed JSON webhooks, PagerDuty Events v2, Alertmanager. Offsets are committed\n"
                 "once every destination acknowledged. Stops on SIGTERM or SIGINT.\n"
                 "  --check-config   load FILE, report the first mistake, exit (0 = fine)\n");
}

/* ---- offsets ---- */

/* Store the committable offset of every assigned partition (librdkafka's
 * auto-commit sends stored offsets every auto.commit.interval.ms). */
static void store_offsets(notify_t *n)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int i = 0; i < n->n_assigned; i++) {
        int64_t off = pp_notify_track_committable(n->track, n->assigned[i]);
        if (off < 0)
            continue;
        if (l == NULL && (l = rd_kafka_topic_partition_list_new(n->n_assigned)) == NULL)
            return;
        rd_kafka_topic_partition_list_add(l, n->cfg->alerts_topic, n->assigned[i])->offset = off;
    }
    if (l == NULL)
        return;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(n->rk, l);
    if (e)
        pp_log(PP_LOG_WARNING, "msg=\"cannot store offsets\" error=\"%s\"", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- pause / resume ---- */

static void set_paused(notify_t *n, bool pause, const char *why)
{
    if (n->paused == pause)
        return;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(n->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        if (pause)
            rd_kafka_pause_partitions(n->rk, l);
        else
            rd_kafka_resume_partitions(n->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    n->paused = pause;
    if (pause) {
        n->paused_why = why;
        pp_log(PP_LOG_NOTICE, "msg=\"consumption paused\" reason=\"%s\"", why);
    } else {
        pp_log(PP_LOG_NOTICE, "msg=\"consumption resumed\" reason=\"%s\"", n->paused_why);
    }
}

/* A message that arrived while paused: put the partition back to it, so it
 * is fetched again after the resume; m is destroyed. */
static void seek_back(notify_t *n, rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (l) {
        rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(n->rk, l, 0);
        if (e)
            rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(l);
    }
    rd_kafka_message_destroy(m);
}

/* ---- rebalance (eager assignor: everything is revoked, then assigned) ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    notify_t *n = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        n->n_assigned = 0;
        for (int i = 0; i < parts->cnt && n->n_assigned < (int)(sizeof n->assigned / sizeof n->assigned[0]); i++)
            n->assigned[n->n_assigned++] = parts->elems[i].partition;
        rd_kafka_assign(rk, parts);
        n->paused = false; /* new assignments start resumed */
        pp_log(PP_LOG_INFO, "msg=\"partitions assigned\" topic=%s partitions=%d", n->cfg->alerts_topic, parts->cnt);
        return;
    }
    /* revoked: commit what is delivered; what is still queued will be
     * delivered by us anyway and again by the next owner (at least once) */
    store_offsets(n);
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pp_log(PP_LOG_WARNING, "msg=\"commit on revoke failed\" error=\"%s\"", rd_kafka_err2str(e));
    for (int i = 0; i < n->n_assigned; i++)
        pp_notify_track_drop(n->track, n->assigned[i]);
    n->n_assigned = 0;
    if (n->pending) {
        rd_kafka_message_destroy(n->pending);
        n->pending = NULL;
    }
    n->paused = false;
    rd_kafka_assign(rk, NULL);
    pp_log(PP_LOG_INFO, "msg=\"partitions revoked\" topic=%s partitions=%d", n->cfg->alerts_topic, parts->cnt);
}

/* ---- one message ---- */

/* Fills a from the protobuf and the partner's Redis fields. */
static void alert_from(pp_notify_alert_t *a, const Partnerpulse__V1__Alert *m, const pp_notify_partner_t *p)
{
    *a = (pp_notify_alert_t){
        .alert_id = m->alert_id, .partner_id = m->partner_id, .rule = m->rule, .severity = (int)m->severity,
        .status = (int)m->status, .value = m->value, .threshold = m->threshold, .message = m->message,
        .started_at_ms = m->started_at_ms, .event_time_ms = m->event_time_ms, .emitted_at_ms = m->emitted_at_ms,
        .health = m->health, .evidence = m->n_evidence > 0 ? m->evidence[0] : "",
        .config_version = m->config_version, .partner_type = p->type, .tier = p->tier,
        .display_name = p->display_name, .why = {p->why[0], p->why[1], p->why[2]}};
}

/*
 * Route m: 0 when it is tracked (queued on its destinations, or done at once:
 * undecodable, duplicate, routed nowhere); -EAGAIN when it must wait (a
 * queue is full, Redis failed, or too much is in flight) and is to be tried
 * again; -ENOMEM.
 */
static int route(notify_t *n, const rd_kafka_message_t *m)
{
    const pp_notify_config_t *cfg = n->cfg;
    pp_notify_partner_t partner;
    pp_notify_alert_t a;
    int to[PP_NOTIFY_DEST_MAX], n_to = 0, rc = 0;
    char err[512], names[PP_NOTIFY_DEST_MAX * PP_NOTIFY_NAME_MAX + 1];
    size_t nl = 0;

    if (pp_notify_track_inflight(n->track) >= (size_t)cfg->inflight_max) {
        n->paused_why = "inflight_max alerts consumed and not yet delivered everywhere";
        return -EAGAIN;
    }
    Partnerpulse__V1__Alert *msg = partnerpulse__v1__alert__unpack(NULL, m->len, m->payload);
    memset(&partner, 0, sizeof partner);
    if (msg == NULL || msg->alert_id[0] == '\0' || msg->partner_id[0] == '\0') {
        pp_log(PP_LOG_WARNING, "msg=\"not an Alert, skipped\" topic=%s partition=%" PRId32 " offset=%" PRId64
               " bytes=%zu", cfg->alerts_topic, m->partition, m->offset, m->len);
        n->undecodable++;
        goto done;
    }
    alert_from(&a, msg, &partner);
    if (pp_notify_seen_dup(n->seen, &a)) {
        pp_log(PP_LOG_DEBUG, "msg=\"duplicate skipped\" alert_id=%s status=%s partition=%" PRId32 " offset=%" PRId64,
               a.alert_id, pp_notify_status_name(a.status), m->partition, m->offset);
        n->duplicates++;
        goto done;
    }
    if (n->partners && pp_notify_partners_read(n->partners, msg->partner_id, &partner, err, sizeof err) != 0) {
        int64_t delay = pp_notify_backoff_ms(++n->pending_failures, cfg->retry_initial_ms, cfg->retry_max_ms);
        n->pending_retry_at = pp_cli_mono_ms() + delay;
        pp_log(PP_LOG_WARNING, "msg=\"cannot read the partner from Redis; the alert waits\" partner=%s "
               "redis=%s:%d error=\"%s\" retry_in_ms=%" PRId64, msg->partner_id, cfg->redis_host, cfg->redis_port,
               err, delay);
        n->paused_why = "Redis unreachable";
        rc = -EAGAIN;
        goto out;
    }
    n->pending_failures = 0;
    alert_from(&a, msg, &partner);
    for (int i = 0; i < cfg->n_dest; i++)
        if (pp_notify_route_match(&cfg->dest[i].route, &a)) {
            if (pp_notify_dest_full(n->dest[i])) {
                n->paused_why = "a destination's queue is full (queue_max)";
                rc = -EAGAIN;
                goto out;
            }
            to[n_to++] = i;
        }
    pp_notify_record_t *rec = pp_notify_track_add(n->track, m->partition, m->offset, n_to);
    if (rec == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    names[0] = '\0';
    for (int i = 0; i < n_to; i++) {
        /* only this thread pushes: the room checked above is still there */
        if (pp_notify_dest_push(n->dest[to[i]], &a, rec, pp_cli_wall_ms()) != 0) {
            pp_notify_track_done(rec); /* left unacknowledged would block the partition for ever */
            pp_log(PP_LOG_ERR, "msg=\"out of memory rendering an alert; not delivered\" destination=%s alert_id=%s",
                   cfg->dest[to[i]].name, a.alert_id);
            continue;
        }
        nl += (size_t)snprintf(names + nl, sizeof names - nl, "%s%s", i ? "," : "", cfg->dest[to[i]].name);
        n->deliveries++;
    }
    pp_notify_seen_add(n->seen, &a);
    n->routed++;
    pp_log(PP_LOG_INFO, "msg=\"alert routed\" alert_id=%s partner=%s rule=%s severity=%s status=%s destinations=%s "
           "partition=%" PRId32 " offset=%" PRId64, a.alert_id, a.partner_id, a.rule,
           pp_notify_severity_name(a.severity), pp_notify_status_name(a.status), n_to ? names : "-", m->partition,
           m->offset);
    goto out;
done:
    if (pp_notify_track_add(n->track, m->partition, m->offset, 0) == NULL)
        rc = -ENOMEM;
out:
    if (msg)
        partnerpulse__v1__alert__free_unpacked(msg, NULL);
    return rc;
}

/* ---- start and stop ---- */

static rd_kafka_t *consumer_new(notify_t *n, char *err, size_t err_len)
{
    const pp_notify_config_t *cfg = n->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct { const char *k, *v; } ours[] = {
        {"group.id", cfg->group_id},
        {"auto.offset.reset", cfg->start},
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"}, /* stored by us, once delivered */
        {"auto.commit.interval.ms", "1000"},
        {"partition.assignment.strategy", "range"}, /* eager (DESIGN §12) */
    };
    for (int i = 0; i < cfg->n_kafka; i++)
        if (rd_kafka_conf_set(conf, cfg->kafka_keys[i], cfg->kafka_values[i], err, err_len) != RD_KAFKA_CONF_OK)
            goto fail;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (rd_kafka_conf_set(conf, ours[i].k, ours[i].v, err, err_len) != RD_KAFKA_CONF_OK)
            goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, n);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, err_len);
    if (rk == NULL)
        goto fail;
    conf = NULL; /* now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, cfg->alerts_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        snprintf(err, err_len, "cannot subscribe to %s: %s", cfg->alerts_topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return NULL;
}

/* One turn of the loop: the message in hand first, then one poll. */
static int step(notify_t *n)
{
    if (n->pending && pp_cli_mono_ms() >= n->pending_retry_at) {
        int rc = route(n, n->pending);
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0) {
            rd_kafka_message_destroy(n->pending);
            n->pending = NULL;
            set_paused(n, false, NULL);
        }
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(n->rk, 100);
    if (m != NULL) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                pp_log(PP_LOG_WARNING, "msg=\"consumer error\" error=\"%s\"", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else if (n->pending) {
            seek_back(n, m);
        } else {
            n->consumed++;
            int rc = route(n, m);
            if (rc == -ENOMEM) {
                rd_kafka_message_destroy(m);
                return rc;
            }
            if (rc == 0) {
                rd_kafka_message_destroy(m);
            } else {
                n->pending = m; /* kept until it can be routed */
                set_paused(n, true, n->paused_why);
            }
        }
    }
    store_offsets(n);
    return 0;
}

int pp_cmd_notify(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bool check_only = false;
    char err[1024];
    int c, status = 1;
    notify_t n = {0};
    sigset_t stop_set, old_set;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:kh", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == 'k') {
            check_only = true;
            continue;
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
    pp_notify_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL || pp_notify_config_load(path, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "partnerpulse notify: %s\n", cfg ? err : "out of memory");
        free(cfg);
        return 2;
    }
    if (check_only) {
        printf("%s: fine (%d destinations)\n", path, cfg->n_dest);
        free(cfg);
        return 0;
    }
    n.cfg = cfg;
    pp_log_set_level(cfg->log_level);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "partnerpulse notify: libcurl does not initialise\n");
        free(cfg);
        return 1;
    }

    /* every thread started from here on inherits the blocked signals */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);
    signal(SIGPIPE, SIG_IGN);

    n.track = pp_notify_track_new();
    n.seen = cfg->dedup_max > 0 ? pp_notify_seen_new(cfg->dedup_max) : NULL;
    n.partners = cfg->enrich ? pp_notify_partners_new(cfg) : NULL;
    if (n.track == NULL || (cfg->dedup_max > 0 && n.seen == NULL) || (cfg->enrich && n.partners == NULL)) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (int i = 0; i < cfg->n_dest; i++)
        if ((n.dest[i] = pp_notify_dest_start(cfg, &cfg->dest[i], err, sizeof err)) == NULL)
            goto fail;
    if ((n.rk = consumer_new(&n, err, sizeof err)) == NULL)
        goto fail;
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_sigmask(SIG_SETMASK, &old_set, NULL); /* this thread takes them */

    char dests[PP_NOTIFY_DEST_MAX * (PP_NOTIFY_NAME_MAX + 16)];
    size_t dl = 0;
    for (int i = 0; i < cfg->n_dest; i++)
        dl += (size_t)snprintf(dests + dl, sizeof dests - dl, "%s%s:%s", i ? "," : "", cfg->dest[i].name,
                               pp_notify_kind_name(cfg->dest[i].kind));
    pp_log(PP_LOG_INFO, "msg=\"partnerpulse notify started\" topic=%s group=%s start=%s enrich=%s redis=%s:%d "
           "destinations=%s", cfg->alerts_topic, cfg->group_id, cfg->start, cfg->enrich ? "on" : "off",
           cfg->redis_host, cfg->redis_port, dests);

    while (!stop_signal)
        if (step(&n) != 0) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
    pp_log(PP_LOG_INFO, "msg=\"stopping: delivering what is queued\" signal=%s drain_timeout_ms=%d",
           stop_signal == SIGINT ? "SIGINT" : "SIGTERM", cfg->drain_timeout_ms);
    status = 0;
    goto stop;
fail:
    pp_log(PP_LOG_ERR, "msg=\"cannot run\" error=\"%s\"", err);
    fprintf(stderr, "partnerpulse notify: %s\n", err);
stop:;
    size_t left = 0;
    for (int i = 0; i < cfg->n_dest; i++) {
        size_t l = pp_notify_dest_stop(n.dest[i], cfg->drain_timeout_ms);
        if (l > 0)
            pp_log(PP_LOG_WARNING, "msg=\"stopped with deliveries left; their alerts are consumed again at the next "
                   "start\" destination=%s left=%zu", cfg->dest[i].name, l);
        left += l;
        n.dest[i] = NULL;
    }
    if (n.rk) {
        store_offsets(&n);
        if (n.pending)
            rd_kafka_message_destroy(n.pending);
        n.pending = NULL;
        rd_kafka_consumer_close(n.rk); /* commits the stored offsets */
        rd_kafka_destroy(n.rk);
    }
    pp_notify_track_free(n.track);
    pp_notify_seen_free(n.seen);
    pp_notify_partners_free(n.partners);
    curl_global_cleanup();
    pp_log(PP_LOG_INFO, "msg=\"stopped\" consumed=%" PRIu64 " routed=%" PRIu64 " deliveries=%" PRIu64
           " duplicates=%" PRIu64 " undecodable=%" PRIu64 " undelivered=%zu", n.consumed, n.routed, n.deliveries,
           n.duplicates, n.undecodable, left);
    free(cfg);
    return status;
}
