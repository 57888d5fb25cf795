/*
 * pp_daemon: the consume -> apply -> flush -> commit loop (see pp_daemon.h).
 */
#include "pp_daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "pp_cache.h"
#include "pp_engine.h"
#include "pp_format.h"
#include "pp_kafka.h"
#include "pp_history.h"
#include "pp_http.h"
#include "pp_log.h"
#include "pp_metrics.h"
#include "pp_merge.h"
#include "pp_flush.h"
#include "pp_offsets.h"
#include "pp_partner.h"
#include "pp_redis.h"
#include "partnerpulse.pb-c.h"

#define MAX_PARTITIONS PP_PARTITIONS_MAX /* per input topic */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SHUTDOWN_FLUSH_MS 15000
#define DUE_BATCH 1000         /* partners ticked per deadline lookup */
#define OUTBOX_BATCH 1000      /* alerts published per outbox sweep step */
#define DRAIN_SLICE_MS 500     /* outbox publishing per call at most (the watchdog) */
#define BACKLOG_FLUSH_RATIO 4  /* catching up: wait >= 4x the last flush's duration before the next */
#define TIMER_SLICE_MS 100     /* deadline work per loop turn before consuming again */
#define RELEASE_PAGE 250       /* held-back alerts asked of Redis per HSCAN page */
#define RELEASE_MAX DUE_BATCH  /* ...and taken from one page at most (the rest: next scan) */

static volatile sig_atomic_t stop_requested;

void pp_daemon_request_stop(void)
{
    stop_requested = 1;
}

/* The next offset to store for one (topic, partition) once the batch is durable. */
/* One consumed message with its decoded event (or its rejection). */
typedef struct node {
    pp_kmsg_t m;               /* borrowed from librdkafka until applied */
    pp_event_t ev;
    pp_reject_t rej;
    char *why;                 /* rejected: the sentence (malloc'd), else NULL */
    struct node *next_free;
} node_t;


/* A held-back FIRING read from Redis for release. */
typedef struct held {
    pp_alert_t a;              /* the FIRING as held back (partition: the hash's) */
    char config_version[24];   /* the configuration that computed it */
    bool ok;                   /* decoded; false: dropped as unreadable */
    char raw_id[PP_ALERT_ID_LEN + 1]; /* its field in the hash (drop it even if unreadable) */
} held_t;

struct pp_daemon {
    const pp_config_t *cfg;
    pp_kafka_t *kafka;
    pp_redis_t *redis;
    pp_store_t store;          /* the redis store, through its port */
    pp_flush_t *flusher;       /* what the next flush writes: dirty partners, alerts, offsets */
    pp_cache_t *cache;

    /* Consumed messages wait in the event-time merge until their turn. */
    pp_merge_t *merge;
    node_t *free_nodes;        /* node pool (no allocation per event once warm) */
    bool *fc_paused;           /* [topic * MAX_PARTITIONS + partition]: paused by flow control */
    int64_t max_event_ms;      /* latest event time released (replay: "caught up" clock) */

    /* The batch in hand: released messages, in apply order. */
    node_t **ready;
    size_t n_batch;
    const char **batch_ids;    /* apply_batch: the batch's partner ids (NULL for a rejected message) */
    pp_partner_t **batch_st;   /* ... and their cached states, looked up together */
    const pp_event_t **batch_ev; /* ... and their events */
    bool batch_prepared;       /* partners of the batch looked up in the cache */
    bool batch_loaded;         /* missing partners loaded from Redis */
    pp_partner_t **to_load;    /* placeholders waiting for their stored state (max(batch, DUE_BATCH)) */
    enum pp_store_found *found; /* [i]: what the store had for to_load[i] */
    size_t n_load;

    bool dlq_outstanding;      /* DLQ messages produced since the last flush */
    bool dlq_refused;          /* ...and one the producer refused at once */

    /* Trust in the store (DESIGN §9). */
    char known_marker[PP_STORE_MARKER_MAX]; /* the store's marker we write under ("" = none yet) */
    bool need_resync;          /* re-read offsets of record and seek before going on */
    bool fenced;               /* another daemon owns our partitions now: wait for a rebalance */
    bool halted;               /* refusing to go on (state loss, unreadable state): write nothing */
    int exit_status;           /* pp_daemon_run's result when halted */
    pp_kafka_tp_t *tps;        /* scratch: every assigned (topic, partition) */
    int64_t *start_offsets;    /* scratch: pp_offsets_start's output */
    int32_t *claim_parts;      /* scratch: partitions claimed */
    int64_t *claim_epochs;

    pp_alert_t *scratch_alerts; /* PP_ENGINE_ALERTS_CAP, one engine call's output */
    uint8_t *scratch_verdict;  /* PP_ENGINE_ALERTS_CAP: pp_history_filter's verdicts on it */
    bool *outbox_dirty;        /* [partition]: has unpublished alerts */
    size_t *outbox_len;        /* [partition]: entries waiting in its outbox (as last seen) */
    size_t *drain_n;           /* [partition]: alerts of its outbox sent in this drain round */
    int64_t *applied_wm;       /* [partition]: latest event time applied (kept with the offsets of record) */
    int64_t *start_wm;         /* scratch: pp_offsets_start's watermarks */
    bool outbox_full;          /* an outbox is at [alerts] outbox_max: consumption paused */
    bool kafka_paused;         /* all fetching paused (outage, full outbox, fenced, resync) */
    int publish_backoff_ms;    /* alerts topic failing: next sweep after this */
    bool publish_failing;
    int64_t next_outbox_sweep_ms;

    /* Timers. */
    int64_t next_timer_ms;     /* monotonic time of the next deadline lookup */
    char (*due_ids)[PP_ID_MAX + 1];
    const char **id_ptrs;      /* DUE_BATCH: partner ids to cache (due, or with held-back alerts) */
    int64_t *swept_at;         /* [partition]: watermark of its last complete sweep (0 none) */
    uint64_t *end_flush;       /* [partition]: reached its end; its last sweep waits for this many
                                  flushes (0 not judged yet, UINT64_MAX none needed) */
    uint64_t *swept_applied;   /* [partition]: events applied at that moment */

    /* History pages no one (DESIGN §7). */
    pp_catchup_t *catchup;     /* which partitions are still catching up */
    int64_t *part_lag;         /* [partition]: consumer lag over its input topics, -1 unknown */
    bool *release_due;         /* [partition]: its held-back hash may hold episodes to release */
    uint64_t *release_cursor;  /* [partition]: HSCAN cursor of the release under way (0 = start) */
    bool *release_again;       /* [partition]: this scan overflowed a page: scan once more when it ends */
    held_t *held;              /* RELEASE_MAX: one page of held-back FIRINGs */
    size_t n_held;             /* entries of that page */
    int32_t held_partition;    /* the partition of that page */

    /* Redis outage (or DLQ topic refusing writes) handling. */
    bool paused;
    const char *pause_reason;
    int backoff_ms;
    int64_t retry_at_ms;

    bool backlog;              /* far behind the head of the stream: catching up */
    int64_t last_flush_mono;   /* monotonic time of the last flush attempt */
    int64_t last_flush_took_ms; /* how long that flush took */
    bool timers_pending;       /* the last timer slice ended with deadlines still due */
    bool timers_wait_flush;    /* a last sweep or a release waits for the next flush: timers right after it */
    int64_t next_lag_ms;       /* monotonic time of the next backlog (lag) check */
    pp_partner_t *tick_copy;   /* a partner's state before its timer tick */
    pp_http_t *http;           /* NULL when [http] port = 0 */
    uint64_t applied_at_flush; /* stats.applied at the last flush that carried events */
    pp_metrics_buf_t metrics;
    int64_t next_metrics_ms;
    pp_kafka_lag_t *lag;

    int64_t next_flush_ms;
    uint64_t watchdog_usec;    /* 0 = no systemd watchdog */
    int produce_timeout_ms;    /* longest wait for Kafka acks in one go (well inside the watchdog) */
    int64_t next_watchdog_ms;
    pp_daemon_stats_t stats;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void kafka_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    pp_log(level, "component=kafka %s", msg);
}

static node_t *node_get(pp_daemon_t *d)
{
    node_t *n = d->free_nodes;
    if (n != NULL) {
        d->free_nodes = n->next_free;
        return n;
    }
    n = malloc(sizeof *n);
    if (n == NULL) {
        pp_log(PP_LOG_ERR, "msg=\"out of memory holding a message\"");
        abort();
    }
    n->why = NULL;
    return n;
}

static void node_put(pp_daemon_t *d, node_t *n)
{
    pp_kafka_release(&n->m);
    free(n->why);
    n->why = NULL;
    n->next_free = d->free_nodes;
    d->free_nodes = n;
}

static void node_put_cb(void *opaque, void *payload)
{
    node_put(opaque, payload);
}

/* Give back the batch in hand without applying it (re-read later). */
static void release_batch(pp_daemon_t *d)
{
    for (size_t i = 0; i < d->n_batch; i++)
        node_put(d, d->ready[i]);
    d->n_batch = 0;
    d->n_load = 0;
    d->batch_prepared = false;
    d->batch_loaded = false;
}

/* Give back everything held, applied or not (revoke, shutdown). */
static void release_all(pp_daemon_t *d)
{
    release_batch(d);
    pp_merge_clear(d->merge, node_put_cb, d);
}

/* Keep the alert transitions a[0..n) of one engine call on st (which the
 * caller marks dirty) for the next flush, history held back (DESIGN §7).
 * held_before, published_before: pp_history_held_mask(st),
 * pp_history_published_mask(st) taken before that call. */
static void keep_alerts(pp_daemon_t *d, pp_partner_t *st, unsigned held_before, unsigned published_before,
                        pp_alert_t *a, int n)
{
    if (n <= 0)
        return;
    pp_history_filter(st, held_before, published_before, d->cfg->publish_max_age_ms, a, d->scratch_verdict, n);
    pp_flush_alert_t *k = pp_flush_keep(d->flusher, (size_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t v = d->scratch_verdict[i];
        k[i].a = a[i];
        k[i].owner = st;
        k[i].ops = PP_STORE_RECORD | (v == PP_HIST_HOLD ? PP_STORE_HOLD : v == PP_HIST_UNHOLD ? PP_STORE_UNHOLD : 0);
        k[i].verdict = v;
        k[i].released = false;
        k[i].config_version[0] = '\0';
        d->stats.alerts[a[i].rule][a[i].status == PP_ALERT_FIRING ? 0 : 1]++;
    }
}

/* ---- consumption paused or not: one switch, several reasons ---- */

/* Pause every assigned partition while a reason holds (store unavailable,
 * full outbox, fenced, resynchronising); once none does, resume them all
 * (flow control holds partitions back apart from this: pp_kafka_hold_back). */
static void set_consuming(pp_daemon_t *d)
{
    bool want_paused = d->paused || d->outbox_full || d->fenced || d->need_resync || d->halted;
    if (want_paused && !d->kafka_paused)
        d->kafka_paused = pp_kafka_pause(d->kafka) == 0;
    else if (!want_paused && d->kafka_paused)
        d->kafka_paused = pp_kafka_resume(d->kafka) != 0;
}

static void set_ready(pp_daemon_t *d)
{
    if (d->http == NULL)
        return;
    static char why[256];
    if (d->halted)
        pp_http_set_ready(d->http, false, "refusing to go on: see the log");
    else if (d->fenced)
        pp_http_set_ready(d->http, false, "partitions owned by another daemon now: waiting for a rebalance");
    else if (d->paused)
        pp_http_set_ready(d->http, false, d->pause_reason ? d->pause_reason : "paused");
    else if (d->need_resync)
        pp_http_set_ready(d->http, false, "re-reading offsets of record from redis");
    else if (d->outbox_full) {
        snprintf(why, sizeof why, "an alert outbox holds [daemon] outbox_max = %ld alerts: consumption paused "
                                  "until the alerts topic %s takes them", d->cfg->outbox_max, d->cfg->alerts_topic);
        pp_http_set_ready(d->http, false, why);
    } else if (d->publish_failing) {
        snprintf(why, sizeof why, "alerts topic %s is not accepting writes: alerts wait in their outboxes",
                 d->cfg->alerts_topic);
        pp_http_set_ready(d->http, false, why);
    } else
        pp_http_set_ready(d->http, true, NULL);
}

static void enter_outage(pp_daemon_t *d, int64_t now, const char *reason)
{
    d->pause_reason = reason;
    if (!d->paused) {
        pp_log(PP_LOG_WARNING, "msg=\"pausing consumption\" reason=\"%s\"", reason);
        d->paused = true;
        d->backoff_ms = BACKOFF_MIN_MS;
    } else {
        d->backoff_ms = d->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d->backoff_ms * 2;
    }
    d->retry_at_ms = now + d->backoff_ms;
    set_consuming(d);
    set_ready(d);
}

static void leave_outage(pp_daemon_t *d)
{
    if (!d->paused)
        return;
    pp_log(PP_LOG_NOTICE, "msg=\"resuming consumption\" after=\"%s\"", d->pause_reason ? d->pause_reason : "");
    d->paused = false;
    d->pause_reason = NULL;
    set_consuming(d); /* flow control's pauses stand */
    set_ready(d);
}

/* Drop everything applied but not written: cached states, kept alerts,
 * pending offsets, held messages (they are read again). */
static void drop_unwritten(pp_daemon_t *d)
{
    release_all(d);
    pp_cache_drop_all(d->cache);
    pp_flush_drop(d->flusher);
    d->dlq_outstanding = false; /* their messages are read again: their copies are made again */
    d->dlq_refused = false;
}

/* Another daemon owns (some of) our partitions: never write for them again. */
static void become_fenced(pp_daemon_t *d)
{
    if (!d->fenced)
        pp_log(PP_LOG_ERR, "msg=\"fenced: another daemon owns our partitions now (their owner epoch in redis moved "
                           "on); dropping unwritten work, which the new owner re-reads, and waiting for Kafka to "
                           "reassign partitions\" error=\"%s\"", d->store.vt->error(d->store.s));
    d->fenced = true;
    drop_unwritten(d);
    set_consuming(d);
    set_ready(d);
}

/* Refuse to go on: write nothing more, stop with `status`. */
static void halt(pp_daemon_t *d, int status)
{
    d->halted = true;
    d->exit_status = status;
    stop_requested = 1;
    set_consuming(d);
    set_ready(d);
}

/* A store call failed with rc: act on it. */
static void store_failed(pp_daemon_t *d, int rc, int64_t now)
{
    if (rc == -ECANCELED) /* halted: refusing to go on */
        return;
    if (rc == -ESTALE) {
        if (!d->need_resync)
            pp_log(PP_LOG_WARNING, "msg=\"redis is not the one this daemon wrote to (restarted, restored or failed "
                                   "over): re-reading its offsets of record\" error=\"%s\"",
                   d->store.vt->error(d->store.s));
        d->need_resync = true;
        set_consuming(d);
        set_ready(d);
    } else if (rc == -EPERM) {
        become_fenced(d);
    } else {
        d->stats.redis_errors++;
        if (!d->paused)
            pp_log(PP_LOG_ERR, "msg=\"redis call failed\" error=\"%s\"", d->store.vt->error(d->store.s));
        enter_outage(d, now, "redis unavailable: consumption paused");
    }
}

static int topic_of(const pp_daemon_t *d, const char *name)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (strcmp(d->cfg->topics[t], name) == 0)
            return t;
    return 0;
}

static void judge_outboxes(pp_daemon_t *d);

/* Write dirty partners, their alerts, then the offsets of record. 0 = durable;
 * else the store's error (-EIO, -ESTALE, -EPERM), or -EAGAIN when a DLQ copy
 * was not acknowledged (nothing is written then). */
static int flush(pp_daemon_t *d)
{
    if (d->halted || d->fenced || d->need_resync)
        return d->halted ? -ECANCELED : d->fenced ? -EPERM : -ESTALE;
    if (!pp_flush_pending(d->flusher, d->cache))
        return 0;
    if (d->dlq_outstanding || d->dlq_refused) {
        bool waiting = pp_kafka_flush_producer(d->kafka, d->produce_timeout_ms) == -ETIMEDOUT;
        pp_kafka_failures_t f;
        pp_kafka_failures(d->kafka, &f);
        if (f.dlq > 0 || waiting || d->dlq_refused) {
            /* the rejected message's offset must not be committed: nothing of
             * this batch is; it is read again from the offsets of record */
            d->stats.dlq_errors++;
            pp_log(PP_LOG_ERR, "msg=\"DLQ copy not acknowledged by Kafka; nothing is written or committed, and the "
                               "messages since the last flush are read again\" dlq_topic=%s failed=%llu pending=%d",
                   d->cfg->dlq_topic, (unsigned long long)f.dlq, waiting);
            if (f.dlq > 0)
                pp_kafka_ack_failures(d->kafka);
            return -EAGAIN;
        }
        d->dlq_outstanding = false;
    }
    int64_t t0 = mono_us();
    pp_flush_result_t res;
    int rc = pp_flush_run(d->flusher, d->cache, &res);
    if (rc != 0) {
        pp_log(PP_LOG_ERR, "msg=\"redis write failed; state kept in memory, offsets not committed\" partners=%zu "
                           "error=\"%s\"", pp_cache_dirty_count(d->cache), d->store.vt->error(d->store.s));
        return rc;
    }
    uint64_t us = (uint64_t)(mono_us() - t0);
    d->last_flush_took_ms = (int64_t)(us / 1000); /* paces the next flush while catching up */
    if (d->stats.applied != d->applied_at_flush) { /* a flush that made new events durable */
        d->stats.last_flush_ms = wall_ms();
        d->applied_at_flush = d->stats.applied;
    }
    d->stats.flushes++;
    d->stats.flushed_partners += res.partners;
    d->stats.hash_fields_written += res.fields;
    d->stats.flush_us_total += us;
    if (us > d->stats.flush_batches_latency_us_max)
        d->stats.flush_batches_latency_us_max = us;
    for (size_t i = 0; i < res.n_alerts; i++) {
        const pp_flush_alert_t *k = &res.alerts[i];
        const pp_alert_t *a = &k->a;
        bool in_range = a->partition >= 0 && a->partition < MAX_PARTITIONS;
        if (a->publish && in_range) {
            d->outbox_dirty[a->partition] = true;
            d->outbox_len[a->partition]++; /* until a drain reads its length */
        }
        if (k->verdict == PP_HIST_HOLD && in_range)
            d->release_due[a->partition] = true;
        if (!(k->ops & PP_STORE_RECORD))
            continue; /* a held-back copy dropped (pp_history_release): logged there */
        if (k->released)
            d->stats.alerts_released++;
        else if (k->verdict != PP_HIST_AS_IS)
            d->stats.alerts_held_back++;
        else if (!a->publish)
            d->stats.alerts_suppressed++;
        pp_log(PP_LOG_NOTICE, "msg=\"alert\" partner=%s rule=%s status=%s severity=%s alert_id=%s published=%d "
                              "held_back=%d released=%d event_time_ms=%lld",
               a->partner_id, pp_rule_name(a->rule), a->status == PP_ALERT_FIRING ? "FIRING" : "RESOLVED",
               pp_severity_name(a->severity), a->alert_id, a->publish, k->verdict != PP_HIST_AS_IS, k->released,
               (long long)a->event_time_ms);
    }
    /* Kafka's committed offsets follow the offsets of record (lag monitoring, first start) */
    /* (res.offsets lists input topics only: the watermarks are not Kafka's) */
    for (size_t i = 0; i < res.n_offsets; i++)
        pp_kafka_store_offset(d->kafka, (pp_topic_t)topic_of(d, res.offsets[i].topic), res.offsets[i].partition,
                              res.offsets[i].next_offset);
    pp_cache_evict_clean(d->cache, d->cfg->cache_max_partners);
    if (res.n_alerts)
        judge_outboxes(d);
    return 0;
}

/* ---- where each partition starts: offsets of record (DESIGN §9) ---- */

static void new_marker(char out[PP_STORE_MARKER_MAX])
{
    uint8_t r[16] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) { /* never fails on Linux >= 3.17; be safe anyway */
        int64_t t = mono_us() ^ wall_ms();
        memcpy(r, &t, sizeof t);
    }
    int n = 0;
    for (size_t i = 0; i < sizeof r; i++)
        n += snprintf(out + n, 3, "%02x", r[i]);
    snprintf(out + n, (size_t)(PP_STORE_MARKER_MAX - n), " %lld", (long long)wall_ms());
}

/* Reset what the daemon keeps per assigned partition. */
static void init_partitions(pp_daemon_t *d)
{
    d->next_outbox_sweep_ms = 0; /* publish what a previous owner left in the outboxes */
    d->next_timer_ms = 0;
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    for (int i = 0; i < np; i++) {
        int32_t p = parts[i];
        pp_merge_assigned(d->merge, p, mono_ms());
        /* catching up until it reaches its end; then whatever a previous
         * owner (or this process before a restart) held back is released */
        pp_catchup_assigned(d->catchup, p);
        d->release_due[p] = true;
        d->release_cursor[p] = 0;
        d->release_again[p] = false;
        d->swept_at[p] = 0;
        d->end_flush[p] = 0;
        d->swept_applied[p] = 0;
        d->outbox_len[p] = 0;
    }
    d->outbox_full = false;
    memset(d->fc_paused, 0, (size_t)PP_TOPIC_COUNT * MAX_PARTITIONS * sizeof *d->fc_paused);
    pp_kafka_hold_reset(d->kafka);
}

/*
 * Decide where tps[0..n) start: who the store is, whether to trust it,
 * claim the partitions (owner epochs), read the offsets of record. 0, or
 * -ECANCELED (state loss: the daemon stops), or the store's / Kafka's error.
 */
static int plan_start(pp_daemon_t *d, pp_kafka_tp_t *tps, int n)
{
    pp_store_identity_t id;
    int rc = d->store.vt->identify(d->store.s, &id);
    if (rc != 0)
        return rc;
    bool commits = false;
    if (!id.marker[0] && !d->known_marker[0]) {
        for (int i = 0; i < n; i++)
            d->tps[i] = tps[i];
        if (pp_kafka_committed(d->kafka, d->tps, n, 10000, &commits) != 0)
            return -EIO;
    }
    const char *why = "";
    pp_start_facts_t facts = {.now = &id, .known_marker = d->known_marker, .kafka_has_commits = commits,
                              .replay_on_loss = d->cfg->on_state_loss_replay};
    enum pp_start v = pp_offsets_judge(&facts, &why);
    if (v == PP_START_LOST) {
        pp_log(PP_LOG_ERR, "msg=\"state loss: %s. partnerpulsed stops rather than resume from Kafka's committed "
                           "offsets, which would leave the lost events out for good. To rebuild every partner from "
                           "the earliest offsets Kafka retains, set [daemon] on_state_loss = replay and start it "
                           "again; or restore redis from a backup (with its marker key %smarker) and start it again\"",
               why, d->cfg->redis_prefix);
        halt(d, 3);
        return -ECANCELED;
    }
    if (v != PP_START_RESUME) {
        char m[PP_STORE_MARKER_MAX];
        new_marker(m);
        if ((rc = d->store.vt->create_marker(d->store.s, m, d->known_marker)) != 0)
            return rc;
    } else {
        memcpy(d->known_marker, id.marker, sizeof d->known_marker);
    }
    pp_log(v == PP_START_RESUME || v == PP_START_FIRST ? PP_LOG_INFO : PP_LOG_WARNING,
           "msg=\"start offsets: %s\" verdict=%s redis_run_id=%s", why,
           v == PP_START_RESUME ? "resume" : v == PP_START_FIRST ? "first_start" : v == PP_START_ADOPT ? "adopt" : "rebuild",
           id.run_id);
    if (v == PP_START_REBUILD)
        d->stats.rebuilds++;
    pp_flush_set_marker(d->flusher, d->known_marker);

    /* the partitions: claimed (older owners are fenced), then their offsets */
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    for (int p = 0; p < MAX_PARTITIONS; p++)
        pp_flush_set_epoch(d->flusher, p, 0);
    if ((rc = d->store.vt->claim(d->store.s, parts, (size_t)np, d->claim_epochs)) != 0)
        return rc;
    for (int i = 0; i < np; i++)
        pp_flush_set_epoch(d->flusher, parts[i], d->claim_epochs[i]);
    if ((rc = pp_offsets_start(d->store, v, parts, (size_t)np, (const char *const *)d->cfg->topics, PP_TOPIC_COUNT,
                               d->start_offsets, d->start_wm)) != 0)
        return rc;
    /* each partition's timers resume at the event time its applied events reached
     * (a replay restarted at its end still fires its last deadlines) */
    for (int i = 0; i < np; i++) {
        pp_merge_set_watermark(d->merge, parts[i], d->start_wm[i]);
        d->applied_wm[parts[i]] = d->start_wm[i];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < np; j++)
            if (parts[j] == tps[i].partition)
                tps[i].offset = d->start_offsets[j * PP_TOPIC_COUNT + tps[i].topic];
    return 0;
}

/* Rebalance: partitions are going away. Unapplied messages are dropped (the
 * next owner reads them), applied work is flushed, cached state dropped. */
static void on_revoke(void *opaque)
{
    pp_daemon_t *d = opaque;
    release_all(d);
    int rc = flush(d);
    for (int attempt = 1; attempt < 3 && rc != 0 && rc != -EPERM && rc != -ECANCELED && rc != -ESTALE; attempt++) {
        sleep_ms(200);
        rc = flush(d);
    }
    if (rc != 0)
        pp_log(PP_LOG_ERR, "msg=\"flush on revoke failed; the next owner re-applies from the offsets of record\" "
                           "dirty=%zu rc=%d", pp_cache_dirty_count(d->cache), rc);
    drop_unwritten(d); /* not written: the next owner re-derives the alerts (same ids) */
}

/* Rebalance: partitions are being assigned; tps[i].offset = where each starts. */
static int on_assign(void *opaque, pp_kafka_tp_t *tps, int n)
{
    pp_daemon_t *d = opaque;
    for (int i = 0; i < n; i++)
        if (tps[i].partition < 0 || tps[i].partition >= MAX_PARTITIONS) {
            pp_log(PP_LOG_ERR, "msg=\"input topic %s has partition %d: partnerpulsed supports partition numbers 0 to "
                               "%d; use topics with at most %d partitions\"", d->cfg->topics[tps[i].topic],
                   (int)tps[i].partition, MAX_PARTITIONS - 1, MAX_PARTITIONS);
            halt(d, 2);
            return PP_KAFKA_PAUSE;
        }
    d->fenced = false;
    drop_unwritten(d);
    init_partitions(d);
    int rc = d->halted ? -ECANCELED : plan_start(d, tps, n);
    if (rc == 0) {
        d->need_resync = false;
        d->kafka_paused = d->paused;
        set_ready(d);
        return d->paused ? PP_KAFKA_PAUSE : 0;
    }
    if (rc != -ECANCELED) { /* the store or Kafka did not answer: start once they do */
        pp_log(PP_LOG_WARNING, "msg=\"start offsets unknown yet (redis or kafka unavailable); partitions wait\" "
                               "error=\"%s\"", d->store.vt->error(d->store.s));
        d->need_resync = true;
        enter_outage(d, mono_ms(), "redis unavailable: start offsets unknown");
    }
    d->kafka_paused = true;
    set_ready(d);
    return PP_KAFKA_PAUSE;
}

/* The store changed under us, or the DLQ refused a copy: drop what is not
 * written, re-read the offsets of record and seek there. 0 or -1 (retry). */
static int resync(pp_daemon_t *d)
{
    drop_unwritten(d);
    init_partitions(d);
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS), n = 0;
    for (int i = 0; i < np; i++)
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            d->tps[n++] = (pp_kafka_tp_t){.topic = (pp_topic_t)t, .partition = parts[i], .offset = PP_KAFKA_COMMITTED};
    int rc = plan_start(d, d->tps, n);
    for (int i = 0; rc == 0 && i < n; i++)
        if (d->tps[i].offset == PP_KAFKA_COMMITTED)
            d->tps[i].offset = PP_KAFKA_BEGINNING; /* cannot seek to "committed": nothing is known durable */
    if (rc == 0 && pp_kafka_seek(d->kafka, d->tps, n) != 0)
        rc = -EIO;
    if (rc != 0)
        return -1;
    d->stats.resyncs++;
    pp_log(PP_LOG_NOTICE, "msg=\"resumed from redis's offsets of record\" partitions=%d", np);
    d->need_resync = false;
    set_consuming(d);
    set_ready(d);
    return 0;
}

/* Messages not yet consumed on our partitions (from the watermarks of the
 * last fetches); per partition, a caught-up one that fell far behind again
 * is catching up again (its timers go back to its watermark). A topic with
 * nothing consumed since assignment has no position: its lag is then the
 * whole partition, which says nothing about a partition that has reached
 * its end (restarted at its end, or idle since), so it counts for none. */
static int64_t kafka_lag(pp_daemon_t *d)
{
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    for (int i = 0; i < np; i++)
        d->part_lag[parts[i]] = 0;
    int n = pp_kafka_lag(d->kafka, d->lag, PP_TOPIC_COUNT * MAX_PARTITIONS);
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        if (d->lag[i].lag > 0) {
            sum += d->lag[i].lag;
            if (d->lag[i].partition >= 0 && d->lag[i].partition < MAX_PARTITIONS && d->lag[i].position >= 0)
                d->part_lag[d->lag[i].partition] += d->lag[i].lag;
        }
    for (int i = 0; i < np; i++)
        if (pp_catchup_lag(d->catchup, parts[i], d->part_lag[parts[i]]))
            pp_log(PP_LOG_NOTICE, "msg=\"partition fell behind: its timers run on its event-time watermark until it "
                                  "catches up\" partition=%d lag=%lld", (int)parts[i], (long long)d->part_lag[parts[i]]);
    return sum;
}

/* Take up to batch_max_messages from Kafka (waiting at most timeout_ms for the
 * first), decode each and hold it in the merge. */
static void collect(pp_daemon_t *d, int timeout_ms)
{
    int64_t wall = wall_ms(), now = mono_ms();
    for (int i = 0; i < d->cfg->batch_max_messages; i++) {
        pp_kmsg_t m;
        int rc = pp_kafka_poll(d->kafka, i == 0 ? timeout_ms : 0, &m);
        if (rc == 0)
            break;
        if (rc == 2) {
            pp_merge_at_end(d->merge, m.topic, m.partition, now);
            pp_catchup_at_end(d->catchup, m.topic, m.partition, pp_merge_held(d->merge, m.topic, m.partition));
            continue;
        }
        d->stats.consumed[m.topic]++;
        node_t *n = node_get(d);
        n->m = m;
        if (m.partition >= MAX_PARTITIONS) {
            pp_log(PP_LOG_ERR, "msg=\"partition number above the supported %d; message skipped\" topic=%s "
                               "partition=%" PRId32, MAX_PARTITIONS, m.topic_name, m.partition);
            node_put(d, n);
            continue;
        }
        char why[200] = "";
        /* plain protobuf, Schema Registry framed protobuf or JSON, as the topic's format allows */
        pp_framing_t framing;
        n->rej = pp_format_decode(&d->cfg->formats[m.topic], m.topic, m.payload, m.len, m.key, m.key_len,
                                  &d->cfg->limits, wall, &n->ev, &framing, why, sizeof why);
        d->stats.framings[framing]++;
        if (n->rej == PP_OK) /* zones and calendars we know; amounts into the reporting currency */
            n->rej = pp_policyset_admit_event(d->cfg->policy, &n->ev, &d->cfg->limits, why, sizeof why);
        if (n->rej != PP_OK && (n->why = strdup(why)) == NULL) /* (a held node stays small) */
            abort();
        if (n->rej == PP_OK) /* decoded: only a rejected message's bytes are needed (its DLQ copy); giving
                                the others back now lets librdkafka free its fetch buffers while the merge holds them */
            pp_kafka_release(&n->m);
        int64_t t = n->rej == PP_OK ? n->ev.occurred_at_ms : INT64_MIN;
        if (pp_merge_push(d->merge, m.topic, m.partition, t, n, now) != 0)
            abort(); /* out of memory */
    }
    /* flow control: a topic far ahead of its siblings stops fetching for a while */
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    for (int i = 0; i < np; i++)
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            size_t held = pp_merge_held(d->merge, (pp_topic_t)t, parts[i]);
            bool *fc = &d->fc_paused[t * MAX_PARTITIONS + parts[i]];
            /* past [daemon] merge_hold_messages, a topic partition that ran
             * ahead of its siblings is held back (pp_kafka_hold_back: its
             * messages wait in librdkafka's queue for it, which stops
             * fetching when full). Pausing it instead made librdkafka drop
             * what it had prefetched and fetch it again on resume: a third of
             * a catch-up went to waiting for those refetches. */
            size_t hold_max = (size_t)d->cfg->merge_hold_messages;
            if (!*fc && held > hold_max) {
                *fc = pp_kafka_hold_back(d->kafka, (pp_topic_t)t, parts[i]) == 0;
                d->stats.merge_holds += *fc;
            } else if (*fc && held < hold_max / 2) {
                *fc = pp_kafka_read_again(d->kafka, (pp_topic_t)t, parts[i]) != 0;
            }
        }
    /* judged from the lag, not from how much one poll returned: a stall of
     * a second at the head of the stream must not switch to backlog
     * flushing (seconds apart), and a short poll while far behind (the merge
     * often drains librdkafka's queue between two fetches) is still behind */
    if (now >= d->next_lag_ms) { /* a librdkafka round trip to its main thread: not every poll */
        /* with hysteresis: the last backlog_lag_messages of a backlog are
         * still a backlog (flushed every 50 ms they would cost one partner
         * write per event, seconds of Redis), until one head-of-stream flush
         * can take what is left */
        pp_kafka_hold_refresh(d->kafka); /* (after a rebalance: see pp_kafka.h) */
        int64_t lag = kafka_lag(d);
        d->backlog = lag > (d->backlog ? d->cfg->head_lag_messages : d->cfg->backlog_lag_messages);
        d->next_lag_ms = now + 200;
    }
}

/* Whether p's timers run on its event-time watermark: always in replay; in
 * live mode while it catches up (DESIGN §7, Flink's idle-source rule). */
static bool on_watermark(const pp_daemon_t *d, int32_t p)
{
    return d->cfg->replay || !pp_catchup_done(d->catchup, p);
}

/* Move released messages (event-time order per partition) into the batch. */
static void release(pp_daemon_t *d)
{
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    int64_t now = mono_ms();
    size_t max = (size_t)d->cfg->batch_max_messages;
    for (int i = 0; i < np && d->n_batch < max; i++) {
        /* replay, and a live partition catching up, wait for every topic's
         * end-of-partition (deterministic: a backlog is applied as a replay
         * of it); live at the head of the stream lets a silent topic go
         * after merge_idle_ms (bounded latency) */
        int64_t idle = on_watermark(d, parts[i]) ? INT64_MAX / 2 : d->cfg->merge_idle_ms;
        pp_topic_t t;
        node_t *n;
        while (d->n_batch < max && (n = pp_merge_pop(d->merge, parts[i], now, idle, &t)) != NULL) {
            d->ready[d->n_batch++] = n;
            pp_catchup_released(d->catchup, t, parts[i]);
        }
    }
}

/* Look up the batch's partners in the cache; placeholders for the missing. */
static void prepare_batch(pp_daemon_t *d)
{
    /* Make room first: clean partners beyond cache_max_partners go now, not
     * only after the next flush (catching up, flushes are far apart and the
     * cache held clean plus dirty partners up to twice the bound). No pointer
     * to a clean partner is held at this point. */
    size_t max = (size_t)d->cfg->cache_max_partners, count = pp_cache_count(d->cache);
    if (count + d->n_batch > max && count > pp_cache_dirty_count(d->cache))
        pp_cache_evict_clean(d->cache, max > d->n_batch ? max - d->n_batch : 0);
    for (size_t i = 0; i < d->n_batch; i++) {
        node_t *n = d->ready[i];
        if (n->rej != PP_OK || pp_cache_find(d->cache, n->ev.partner_id) != NULL)
            continue;
        pp_partner_t fresh;
        pp_partner_init(&fresh, n->ev.partner_id);
        pp_partner_t *st = pp_cache_insert(d->cache, &fresh);
        if (st == NULL) {
            pp_log(PP_LOG_ERR, "msg=\"out of memory caching partner\" partner=%s", fresh.id);
            abort();
        }
        d->to_load[d->n_load++] = st;
    }
    d->batch_prepared = true;
}

/* Load d->to_load[0..n_load) from the store. A corrupt stored state is moved
 * aside (kept under pp:corrupt:*) and counted, and the partner starts from
 * empty; one written by a newer partnerpulsed stops the daemon, overwriting
 * nothing. 0, or the store's error. */
static int load_states(pp_daemon_t *d)
{
    if (d->n_load == 0)
        return 0;
    enum pp_store_found *found = d->found;
    int rc = d->store.vt->load(d->store.s, d->to_load, d->n_load, found);
    for (size_t i = 0; rc == 0 && i < d->n_load; i++) {
        if (found[i] == PP_FOUND_NEWER) {
            pp_log(PP_LOG_ERR, "msg=\"the stored state of partner %s was written by a newer partnerpulsed (its "
                               "layout version is above %d, the newest this one reads). Nothing was overwritten; "
                               "run the newer version, or restore redis from before the upgrade\"",
                   d->to_load[i]->id, PP_STATE_VERSION);
            halt(d, 4);
            return -ECANCELED;
        }
        if (found[i] == PP_FOUND_CORRUPT) {
            int q = d->store.vt->quarantine(d->store.s, d->to_load[i]->id);
            if (q != 0)
                return q;
            d->stats.corrupt_states++;
            pp_log(PP_LOG_ERR, "msg=\"stored state unreadable: moved aside to %scorrupt:{%s}:<ms>; the partner "
                               "starts from empty state\" partner=%s", d->cfg->redis_prefix, d->to_load[i]->id,
                   d->to_load[i]->id);
        }
    }
    if (rc != 0)
        pp_log(PP_LOG_ERR, "msg=\"redis load failed; will retry\" partners=%zu error=\"%s\"", d->n_load,
               d->store.vt->error(d->store.s));
    else
        d->stats.loads += d->n_load;
    return rc;
}

static int load_batch(pp_daemon_t *d)
{
    int rc = load_states(d);
    if (rc == 0)
        d->batch_loaded = true;
    return rc;
}

/* How many events ahead apply_batch asks the CPU for a partner's state. */
#define APPLY_AHEAD 4
/* Partners looked up together, one block ahead of the event applied: the
 * lookup brings a state's first lines in, still in the CPU caches when it is
 * applied (looking the whole batch up first evicted them again). */
#define FIND_BLOCK 64

/* The cached states of accepted messages [from, from + FIND_BLOCK) of the batch. */
static void find_block(pp_daemon_t *d, size_t from, size_t nb)
{
    if (from < nb)
        pp_cache_find_many(d->cache, d->batch_ids + from, nb - from < FIND_BLOCK ? nb - from : FIND_BLOCK,
                           d->batch_st + from);
}

static void apply_batch(pp_daemon_t *d)
{
    int64_t now = wall_ms();
    /* The batch's partners are looked up a block at a time (pipelined), and
     * the state of event i + APPLY_AHEAD is prefetched while event i is
     * applied (a cache of 100 000 partners is 400 MB: each state is a cold
     * miss). */
    size_t nb = 0;
    for (size_t i = 0; i < d->n_batch; i++)
        if (d->ready[i]->rej == PP_OK) {
            d->batch_ev[nb] = &d->ready[i]->ev;
            d->batch_ids[nb++] = d->ready[i]->ev.partner_id;
        }
    find_block(d, 0, nb);
    size_t k = 0; /* index in batch_st of the next accepted message */
    for (size_t i = 0; i < d->n_batch; i++) {
        node_t *n = d->ready[i];
        pp_kmsg_t *m = &n->m;
        if (n->rej != PP_OK) {
            d->stats.dlq[n->rej]++;
            pp_log(PP_LOG_WARNING, "msg=\"rejected input sent to DLQ\" reason=%s error=\"%s\" "
                                   "topic=%s partition=%" PRId32 " offset=%" PRId64,
                   pp_reject_name(n->rej), n->why, m->topic_name, m->partition, m->offset);
            d->dlq_outstanding = true;
            if (pp_kafka_dlq(d->kafka, m, pp_reject_name(n->rej), n->why) != 0)
                d->dlq_refused = true; /* never commit past it: read again (flush) */
            pp_flush_note_offset(d->flusher, m->topic, m->partition, m->offset);
            continue;
        }
        pp_event_t *ev = &n->ev;
        if (k % FIND_BLOCK == 0)
            find_block(d, k + FIND_BLOCK, nb);
        pp_partner_t *st = d->batch_st[k];
        if (k + APPLY_AHEAD < nb && d->batch_st[k + APPLY_AHEAD] != NULL) {
            pp_engine_prefetch(d->batch_st[k + APPLY_AHEAD], d->batch_ev[k + APPLY_AHEAD]);
            pp_cache_prefetch(d->batch_st[k + APPLY_AHEAD]);
        }
        k++;
        pp_dup_t dup = pp_partner_duplicate(st, m->topic, m->partition, m->offset, ev);
        if (dup != PP_DUP_NONE) {
            d->stats.duplicates++;
            d->stats.duplicates_by[dup == PP_DUP_ID]++;
        } else {
            pp_flush_before_change(d->flusher, d->cache, st, !d->backlog);
            unsigned held = pp_history_held_mask(st), known = pp_history_published_mask(st);
            int na = pp_engine_apply(d->cfg->policy, st, ev, m->partition, m->offset, now, d->scratch_alerts);
            pp_cache_mark_dirty(d->cache, st);
            pp_flush_trend_note(d->flusher, st);
            keep_alerts(d, st, held, known, d->scratch_alerts, na);
            if (d->stats.applied++ == 0)
                d->stats.first_apply_ms = now;
            if (ev->occurred_at_ms > d->max_event_ms)
                d->max_event_ms = ev->occurred_at_ms;
            if (ev->occurred_at_ms > d->applied_wm[m->partition]) {
                d->applied_wm[m->partition] = ev->occurred_at_ms;
                pp_flush_note_watermark(d->flusher, m->partition, ev->occurred_at_ms);
            }
        }
        pp_flush_note_offset(d->flusher, m->topic, m->partition, m->offset);
    }
    release_batch(d);
}

/* ---- timers: absence rules fire at their deadline, with no event ---- */

/* Cache the partners ids[0..n) (loading the missing ones from Redis in one
 * round trip). drop_unknown: a partner Redis has no state for is not kept
 * (nothing of it to act on). 0, or -1 when Redis failed (placeholders are
 * dropped again; partners already cached stay). */
static int cache_partners(pp_daemon_t *d, const char *const *ids, size_t n, bool drop_unknown)
{
    d->n_load = 0;
    for (size_t k = 0; k < n; k++) {
        if (pp_cache_find(d->cache, ids[k]) != NULL)
            continue;
        pp_partner_t fresh;
        pp_partner_init(&fresh, ids[k]);
        pp_partner_t *st = pp_cache_insert(d->cache, &fresh);
        if (st == NULL)
            abort();
        d->to_load[d->n_load++] = st;
    }
    int lrc = load_states(d);
    for (size_t k = 0; k < d->n_load; k++)
        if (lrc != 0 || (drop_unknown && d->found[k] != PP_FOUND_OK)) /* placeholders are never used unloaded */
            pp_cache_remove(d->cache, d->to_load[k]->id);
    d->n_load = 0;
    (void)n;
    return lrc;
}

/* Tick every partner of partition p whose deadline is at or before now:
 * watermark: each deadline at its own time (pp_engine_advance, as a replay
 * does), else once at now (live, the wall clock). 0 done, 1 the time slice
 * ran out first (the caller resumes later), -1 Redis failed. */
static int sweep(pp_daemon_t *d, int32_t p, int64_t now, bool watermark, int64_t proc, int64_t slice_end)
{
    /* The index in Redis is only rewritten by the next flush: page through
     * it, and trust the in-memory deadline of a partner ticked already. */
    for (size_t offset = 0;;) {
        if (mono_ms() >= slice_end)
            return 1;
        size_t n = 0, scanned = 0;
        int rc = d->store.vt->due(d->store.s, p, now, offset, DUE_BATCH, d->due_ids, &n, &scanned);
        if (rc != 0) {
            pp_log(PP_LOG_ERR, "msg=\"deadline lookup failed\" partition=%d error=\"%s\"", (int)p,
                   d->store.vt->error(d->store.s));
            return rc;
        }
        offset += scanned;
        for (size_t k = 0; k < n; k++)
            d->id_ptrs[k] = d->due_ids[k];
        if ((rc = cache_partners(d, d->id_ptrs, n, false)) != 0)
            return rc;
        for (size_t k = 0; k < n; k++) {
            pp_partner_t *st = pp_cache_find(d->cache, d->due_ids[k]);
            pp_flush_before_change(d->flusher, d->cache, st, !d->backlog);
            if (st->next_deadline_ms == 0 || st->next_deadline_ms > now) {
                /* ticked already, or the index is out of date: the flush fixes the index */
                pp_cache_mark_dirty(d->cache, st);
                pp_flush_rewrite_deadline(d->flusher, st); /* rewrite the entry even if unmoved */
                continue;
            }
            memcpy(d->tick_copy, st, sizeof *st);
            unsigned held = pp_history_held_mask(st), known = pp_history_published_mask(st);
            int na = watermark ? pp_engine_advance(d->cfg->policy, st, now, proc, d->scratch_alerts)
                               : pp_engine_tick(d->cfg->policy, st, now, proc, d->scratch_alerts);
            d->stats.timer_ticks++;
            if (na == 0 && memcmp(d->tick_copy, st, sizeof *st) == 0)
                continue; /* deferred (a day-boundary re-check the next event covers): nothing to write */
            pp_cache_mark_dirty(d->cache, st); /* rewrites its deadline, which has moved */
            keep_alerts(d, st, held, known, d->scratch_alerts, na);
        }
        if (scanned < DUE_BATCH)
            return 0;
    }
}

/* pp_redis_heldback_scan's callback: one held-back FIRING of the page. */
static void take_held(void *opaque, const char *id, size_t id_len, const uint8_t *buf, size_t len)
{
    pp_daemon_t *d = opaque;
    if (d->n_held >= RELEASE_MAX) {
        d->release_again[d->held_partition] = true; /* the rest on another pass */
        return;
    }
    held_t *h = &d->held[d->n_held++];
    size_t n = id_len < PP_ALERT_ID_LEN ? id_len : PP_ALERT_ID_LEN;
    memcpy(h->raw_id, id, n);
    h->raw_id[n] = '\0';
    h->ok = pp_history_unpack(buf, len, &h->a, h->config_version, sizeof h->config_version) == 0 &&
            strcmp(h->a.alert_id, h->raw_id) == 0 && h->a.status == PP_ALERT_FIRING &&
            pp_partner_id_valid(h->a.partner_id, strlen(h->a.partner_id));
    h->a.partition = d->held_partition;
}

/* Release order within a page: by partner, then by event time, then id.
 * Redis's HSCAN order depends on the hash's table history (its resizes run
 * on the server's clock): this makes a partner's releases come out in the
 * same order on every run. */
static int held_cmp(const void *x, const void *y)
{
    const held_t *a = x, *b = y;
    int c = strcmp(a->ok ? a->a.partner_id : "", b->ok ? b->a.partner_id : "");
    if (c == 0 && a->ok && b->ok && a->a.event_time_ms != b->a.event_time_ms)
        c = a->a.event_time_ms < b->a.event_time_ms ? -1 : 1;
    return c != 0 ? c : strcmp(a->raw_id, b->raw_id);
}

/* Keep the removal of one held-back copy (HDEL) for the next flush. */
static void keep_unhold(pp_daemon_t *d, const held_t *h, pp_partner_t *owner)
{
    pp_flush_alert_t *k = pp_flush_keep(d->flusher, 1);
    k->a = h->a; /* only alert_id and partition are used */
    memcpy(k->a.alert_id, h->raw_id, sizeof h->raw_id);
    k->a.publish = false;
    k->owner = owner;
    k->ops = PP_STORE_UNHOLD;
    k->verdict = PP_HIST_AS_IS;
    k->released = false;
    k->config_version[0] = '\0';
}

/*
 * Partition p has caught up: publish each held-back episode of it that is
 * still open, once, with its original id and start (DESIGN §7). The FIRING
 * kept in pp:heldback:<p> goes to the outbox and the stream, its partner's
 * held_back mark is cleared and the copy removed, all in the partner's flush
 * transaction; an episode that closed meanwhile publishes nothing. Pages
 * through the hash within the time slice. 0 (done, or d->timers_pending set:
 * resume later), -1 Redis failed.
 */
static int release_held(pp_daemon_t *d, int32_t p, int64_t slice_end)
{
    for (;;) {
        if (mono_ms() >= slice_end) {
            d->timers_pending = true;
            return 0;
        }
        d->n_held = 0;
        d->held_partition = p;
        uint64_t cursor = d->release_cursor[p];
        int rc = d->store.vt->heldback_scan(d->store.s, p, &cursor, RELEASE_PAGE, take_held, d);
        if (rc != 0) {
            pp_log(PP_LOG_ERR, "msg=\"held-back alert lookup failed; will retry\" partition=%d error=\"%s\"", (int)p,
                   d->store.vt->error(d->store.s));
            return rc;
        }
        qsort(d->held, d->n_held, sizeof *d->held, held_cmp);
        size_t n_ids = 0;
        for (size_t i = 0; i < d->n_held; i++)
            if (d->held[i].ok)
                d->id_ptrs[n_ids++] = d->held[i].a.partner_id;
        if ((rc = cache_partners(d, d->id_ptrs, n_ids, true)) != 0)
            return rc; /* the cursor stays: the page is read again */
        size_t published = 0, dropped = 0;
        for (size_t i = 0; i < d->n_held; i++) {
            const held_t *h = &d->held[i];
            pp_partner_t *st = h->ok ? pp_cache_find(d->cache, h->a.partner_id) : NULL;
            if (!h->ok)
                pp_log(PP_LOG_WARNING, "msg=\"unreadable held-back alert dropped\" partition=%d alert_id=%s", (int)p,
                       h->raw_id);
            if (st == NULL) {
                keep_unhold(d, h, NULL);
                dropped++;
                continue;
            }
            pp_flush_before_change(d->flusher, d->cache, st, !d->backlog); /* (a stale entry leaves st clean) */
            enum pp_hist_release what = pp_history_release(st, &h->a);
            if (what == PP_RELEASE_STALE) {
                keep_unhold(d, h, NULL);
                dropped++;
                continue;
            }
            pp_cache_mark_dirty(d->cache, st);
            if (what == PP_RELEASE_HAND_BACK) {
                pp_log(PP_LOG_INFO, "msg=\"held-back alert now snoozed: left to the snooze\" partner=%s rule=%s "
                                    "alert_id=%s", st->id, pp_rule_name(h->a.rule), h->a.alert_id);
                keep_unhold(d, h, st);
                dropped++;
                continue;
            }
            pp_flush_alert_t *k = pp_flush_keep(d->flusher, 1);
            k->a = h->a; /* publish = true, the original emitted_at_ms */
            k->owner = st;
            k->ops = PP_STORE_RECORD | PP_STORE_UNHOLD;
            k->verdict = PP_HIST_AS_IS;
            k->released = true;
            snprintf(k->config_version, sizeof k->config_version, "%s", h->config_version);
            published++;
        }
        if (published || dropped)
            pp_log(PP_LOG_INFO, "msg=\"held-back alerts of a caught-up partition\" partition=%d released=%zu "
                                "dropped=%zu", (int)p, published, dropped);
        d->release_cursor[p] = cursor;
        if (cursor == 0) { /* scan complete */
            d->release_due[p] = d->release_again[p];
            d->release_again[p] = false;
            return 0;
        }
    }
}

/*
 * Per partition of ours: tick the partners whose deadline has passed, on the
 * partition's clock: its event-time watermark in replay and, in live mode,
 * while it catches up; the wall clock once it has (live). A partition that
 * has reached its end gets a last sweep on its watermark, is then declared
 * caught up, and its held-back episodes are released. Bounded per loop turn
 * (d->timers_pending: resume from the start soon). 0 or -1 (Redis).
 */
static int run_timers(pp_daemon_t *d)
{
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    int64_t proc = wall_ms();
    d->timers_pending = false;
    /* bounded per loop turn: a restart behind thousands of overdue deadlines
     * goes back to consuming events between slices */
    int64_t slice_end = mono_ms() + TIMER_SLICE_MS;
    for (int i = 0; i < np; i++) {
        int32_t p = parts[i];
        bool watermark = on_watermark(d, p);
        /* judged before the sweep: every event of the backlog is applied, so
         * this sweep on the watermark is the one a replay ends with */
        bool reached_end = pp_catchup_ready(d->catchup, p);
        /* The sweep finds partners through the deadline index in Redis, which
         * the next flush brings up to date: a dirty partner whose deadline
         * moved earlier is not in it yet. Mid-stream a later sweep finds it
         * (each deadline is still evaluated at its own time), but nothing
         * comes after the last sweep of a partition: it waits for the flush
         * (a replay ended without firing those deadlines). */
        if (reached_end) { /* (once: its slices then go on without waiting) */
            if (d->end_flush[p] == 0)
                d->end_flush[p] = pp_flush_pending(d->flusher, d->cache) ? d->stats.flushes + 1 : UINT64_MAX;
            if (d->end_flush[p] != UINT64_MAX && d->stats.flushes < d->end_flush[p]) {
                d->timers_wait_flush = true;
                return 0;
            }
        }
        int64_t now = watermark ? pp_merge_low_watermark(d->merge, &p, 1) : proc;
        /* on the watermark, time moves only with it: a finished sweep at this
         * watermark with no event applied since has nothing left to find
         * (but the last one reads the index as the flush left it) */
        bool swept = !reached_end && watermark && now == d->swept_at[p] && d->stats.applied == d->swept_applied[p];
        if (now > 0 && !swept) {
            int rc = sweep(d, p, now, watermark, proc, slice_end);
            if (rc != 0) {
                d->timers_pending = rc > 0;
                return rc > 0 ? 0 : rc;
            }
            d->swept_at[p] = now;
            d->swept_applied[p] = d->stats.applied;
        }
        if (reached_end) {
            pp_catchup_set(d->catchup, p);
            d->end_flush[p] = 0; /* (for a next time it falls behind and catches up) */
            pp_log(PP_LOG_INFO, "msg=\"partition caught up%s\" partition=%d watermark_ms=%lld", d->cfg->replay ?
                   "" : ": its timers run on the wall clock from now", (int)p, (long long)now);
        }
        if (pp_catchup_done(d->catchup, p) && d->release_due[p]) {
            /* The copies in pp:heldback:<p> are what Redis holds: an update of
             * an episode (going_dark turning CRITICAL), a close, or this very
             * sweep's last transitions may still wait in the flusher. Release
             * after they are written (by the next flush as it comes: forcing
             * one per partition reaching its end rewrote every dirty partner
             * each time), so the stream and the topic get the episode as it
             * stands, after its history. */
            if (pp_flush_pending(d->flusher, d->cache)) {
                d->timers_wait_flush = true;
                return 0;
            }
            int rc = release_held(d, p, slice_end);
            if (rc != 0)
                return rc;
            if (d->timers_pending)
                return 0;
        }
    }
    return 0;
}

/* ---- outbox: publish alerts Redis has stored ---- */

static int publish_one(void *opaque, const uint8_t *buf, size_t len)
{
    pp_daemon_t *d = opaque;
    /* key = partner_id, read back from the serialised alert */
    char key[PP_ID_MAX + 1] = "";
    Partnerpulse__V1__Alert *a = partnerpulse__v1__alert__unpack(NULL, len, buf);
    if (a != NULL) {
        snprintf(key, sizeof key, "%s", a->partner_id);
        partnerpulse__v1__alert__free_unpacked(a, NULL);
    }
    return pp_kafka_produce_alert(d->kafka, key, buf, len);
}

/* Past [daemon] outbox_max alerts waiting in one outbox, consumption pauses
 * (nothing is dropped); it resumes once the longest is below half. */
static void judge_outboxes(pp_daemon_t *d)
{
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    size_t longest = 0;
    for (int i = 0; i < np; i++)
        if (d->outbox_len[parts[i]] > longest)
            longest = d->outbox_len[parts[i]];
    bool full = d->outbox_full ? longest > (size_t)d->cfg->outbox_max / 2 : longest >= (size_t)d->cfg->outbox_max;
    if (full != d->outbox_full)
        pp_log(full ? PP_LOG_WARNING : PP_LOG_NOTICE, "msg=\"%s\" longest_outbox=%zu outbox_max=%ld",
               full ? "an alert outbox is full: consumption paused until its alerts are published"
                    : "alert outboxes drained: consumption resumes", longest, d->cfg->outbox_max);
    d->outbox_full = full;
    set_consuming(d);
    set_ready(d);
}

/* Wait for Kafka's acks of the alerts just produced (bounded, inside the
 * watchdog). 0, or -EAGAIN: some were not acknowledged (they stay in the
 * outbox and go again, with the same ids). */
static int confirm_published(pp_daemon_t *d)
{
    int rc = pp_kafka_flush_producer(d->kafka, d->produce_timeout_ms);
    pp_kafka_failures_t f;
    pp_kafka_failures(d->kafka, &f);
    if (f.alerts > 0) {
        d->stats.alert_publish_errors += f.alerts;
        if (f.dlq == 0) /* a DLQ failure is the flush's to see */
            pp_kafka_ack_failures(d->kafka);
        return -EAGAIN;
    }
    return rc == -ETIMEDOUT ? -EAGAIN : 0;
}

/* Publish the outboxes of partitions with new alerts (all assigned ones if
 * all), one time slice at most; pause consumption while an outbox is full.
 * Each round sends a batch of every such outbox, waits once for Kafka to
 * acknowledge them all, then trims each (a wait per partition held the loop
 * ~10 ms per partition with alerts, at the head of the stream). An alert
 * sent but not trimmed (a failure in between) is sent again: at least once,
 * under its alert_id. */
static void drain_outboxes(pp_daemon_t *d, bool all)
{
    if (d->fenced || d->halted || d->need_resync || d->paused)
        return;
    int64_t now = mono_ms(), end = now + DRAIN_SLICE_MS;
    if (d->publish_failing && now < d->next_outbox_sweep_ms)
        return; /* backing off: the alerts topic refused the last attempt */
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    bool failing = false, more = true;
    while (more && !failing && mono_ms() < end) {
        more = false;
        size_t sent = 0;
        for (int i = 0; i < np && !failing; i++) {
            int32_t p = parts[i];
            d->drain_n[p] = 0;
            if (!all && !d->outbox_dirty[p])
                continue;
            size_t n = 0, remaining = 0;
            int rc = d->store.vt->outbox_read(d->store.s, p, OUTBOX_BATCH, publish_one, d, &n, &remaining);
            if (rc == 0 || rc == -EAGAIN)
                d->outbox_len[p] = remaining;
            if (rc == -EAGAIN) {
                failing = true;
                break;
            }
            if (rc != 0) {
                pp_log(PP_LOG_WARNING, "msg=\"alert outbox not drained; will retry\" partition=%d error=\"%s\"",
                       (int)p, d->store.vt->error(d->store.s));
                store_failed(d, rc, mono_ms());
                return;
            }
            d->drain_n[p] = n;
            sent += n;
            d->outbox_dirty[p] = n >= OUTBOX_BATCH; /* more behind this batch: next round */
            more = more || d->outbox_dirty[p];
        }
        all = false;
        if (!failing && sent > 0 && confirm_published(d) == -EAGAIN)
            failing = true;
        if (failing) { /* nothing trimmed: sent again after the backoff */
            for (int i = 0; i < np; i++)
                if (d->drain_n[parts[i]] > 0)
                    d->outbox_dirty[parts[i]] = true;
            break;
        }
        for (int i = 0; i < np; i++) {
            int32_t p = parts[i];
            size_t n = d->drain_n[p];
            if (n == 0)
                continue;
            int rc = d->store.vt->outbox_trim(d->store.s, p, pp_flush_epoch(d->flusher, p), n);
            if (rc != 0) {
                pp_log(PP_LOG_WARNING, "msg=\"alert outbox not drained; will retry\" partition=%d error=\"%s\"",
                       (int)p, d->store.vt->error(d->store.s));
                store_failed(d, rc, mono_ms());
                return;
            }
            d->stats.alerts_published += (uint64_t)n;
            d->outbox_len[p] = d->outbox_len[p] > n ? d->outbox_len[p] - n : 0;
        }
    }
    if (failing) {
        d->publish_backoff_ms = d->publish_failing ? d->publish_backoff_ms * 2 : BACKOFF_MIN_MS * 10;
        if (d->publish_backoff_ms > 30000)
            d->publish_backoff_ms = 30000;
        if (!d->publish_failing)
            pp_log(PP_LOG_ERR, "msg=\"alerts topic not accepting writes; alerts wait in their outboxes and go "
                               "again with backoff\" topic=%s", d->cfg->alerts_topic);
        d->publish_failing = true;
        d->next_outbox_sweep_ms = mono_ms() + d->publish_backoff_ms;
    } else if (d->publish_failing) {
        pp_log(PP_LOG_NOTICE, "msg=\"alerts topic accepts writes again\" topic=%s", d->cfg->alerts_topic);
        d->publish_failing = false;
    }
    judge_outboxes(d);
}

/* ---- observability: Prometheus text for /metrics ---- */

static void render_metrics(pp_daemon_t *d)
{
    pp_metrics_buf_t *b = &d->metrics;
    const pp_daemon_stats_t *s = &d->stats;
    pp_metrics_begin(b);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_metrics_counter(b, "pp_events_consumed_total", "Messages taken from each input topic.",
                           (const char *const[]){"topic", d->cfg->topics[t], NULL}, s->consumed[t]);
    pp_metrics_counter(b, "pp_events_applied_total", "Events applied to partner state.", NULL, s->applied);
    pp_metrics_counter(b, "pp_events_duplicate_total",
                       "Events skipped as already applied: re-delivered (offset) or published again (event_id).",
                       (const char *const[]){"reason", "offset", NULL}, s->duplicates_by[0]);
    pp_metrics_counter(b, "pp_events_duplicate_total",
                       "Events skipped as already applied: re-delivered (offset) or published again (event_id).",
                       (const char *const[]){"reason", "event_id", NULL}, s->duplicates_by[1]);
    pp_metrics_counter(b, "pp_dlq_errors_total",
                       "Flushes refused because a DLQ copy was not acknowledged (the messages are read again).", NULL,
                       s->dlq_errors);
    pp_metrics_counter(b, "pp_alert_publish_errors_total",
                       "Alerts the alerts topic did not acknowledge (they stay in their outbox and go again).", NULL,
                       s->alert_publish_errors);
    pp_metrics_counter(b, "pp_resyncs_total",
                       "Times the daemon re-read the offsets of record and sought there (redis restarted, restored, "
                       "failed over; a DLQ copy refused).", NULL, s->resyncs);
    pp_metrics_counter(b, "pp_state_rebuilds_total", "State losses rebuilt from the earliest offsets (on_state_loss = replay).",
                       NULL, s->rebuilds);
    pp_metrics_counter(b, "pp_corrupt_states_total", "Unreadable stored partner states moved aside.", NULL,
                       s->corrupt_states);
    for (int f = 0; f < PP_FRAMING_COUNT; f++)
        pp_metrics_counter(b, "pp_input_messages_total",
                           "Input messages by framing (docs/events.md#formats), accepted or not.",
                           (const char *const[]){"framing", pp_framing_name((pp_framing_t)f), NULL}, s->framings[f]);
    for (int r = 1; r < PP_REJ_COUNT; r++)
        pp_metrics_counter(b, "pp_dlq_total", "Messages sent to the DLQ, by reason.",
                           (const char *const[]){"reason", pp_reject_name((pp_reject_t)r), NULL}, s->dlq[r]);
    pp_metrics_counter(b, "pp_flushes_total", "Successful atomic Redis writes.", NULL, s->flushes);
    pp_metrics_counter(b, "pp_flushed_partners_total", "Partner states written to Redis.", NULL, s->flushed_partners);
    pp_metrics_counter(b, "pp_hash_fields_written_total", "Public hash fields written (only the changed ones where known).",
                       NULL, s->hash_fields_written);
    pp_metrics_counter_f(b, "pp_flush_seconds_total", "Time spent in successful flushes.", NULL,
                         (double)s->flush_us_total / 1e6);
    pp_metrics_gauge(b, "pp_flush_seconds_max", "Slowest successful flush.", NULL,
                     (double)s->flush_batches_latency_us_max / 1e6);
    pp_metrics_counter(b, "pp_redis_errors_total", "Failed Redis loads or writes.", NULL, s->redis_errors);
    for (int r = 0; r < PP_R_COUNT; r++)
        for (int st = 0; st < 2; st++)
            pp_metrics_counter(b, "pp_alerts_total", "Alert transitions, by rule and status.",
                               (const char *const[]){"rule", pp_rule_name((pp_rule_t)r), "status",
                                                     st ? "RESOLVED" : "FIRING", NULL},
                               s->alerts[r][st]);
    pp_metrics_counter(b, "pp_alerts_published_total", "Alerts acknowledged by Kafka.", NULL, s->alerts_published);
    pp_metrics_counter(b, "pp_alerts_suppressed_total", "Alerts recorded but not published (inhibited/snoozed).", NULL,
                       s->alerts_suppressed);
    pp_metrics_counter(b, "pp_alerts_held_back_total",
                       "Alert transitions recorded but not published as history: older than [alerts] publish_max_age, "
                       "or the RESOLVED of such an episode.", NULL, s->alerts_held_back);
    pp_metrics_counter(b, "pp_alerts_released_total",
                       "Held-back FIRINGs of still-open episodes published once their partition caught up.", NULL,
                       s->alerts_released);
    pp_metrics_counter(b, "pp_timer_ticks_total", "Partners evaluated by deadline timers.", NULL, s->timer_ticks);
    pp_metrics_counter(b, "pp_merge_holds_total", "Input topic partitions held back by the event-time merge's flow control.",
                       NULL, s->merge_holds);
    pp_metrics_gauge(b, "pp_cached_partners", "Partner states in memory.", NULL, (double)pp_cache_count(d->cache));
    pp_metrics_gauge(b, "pp_dirty_partners", "Partner states changed since the last flush.", NULL,
                     (double)pp_cache_dirty_count(d->cache));
    {
        int32_t parts[MAX_PARTITIONS];
        int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS), behind = 0;
        for (int i = 0; i < np; i++)
            behind += !pp_catchup_done(d->catchup, parts[i]);
        pp_metrics_gauge(b, "pp_partitions_catching_up",
                         "Assigned input partitions that have not caught up yet (their timers run on their "
                         "event-time watermark; their held-back alerts wait).", NULL, (double)behind);
    }
    pp_metrics_gauge(b, "pp_paused", "1 while consumption is paused (Redis unavailable).", NULL, d->paused ? 1 : 0);
    pp_metrics_gauge(b, "pp_outbox_full", "1 while consumption is paused because an alert outbox is full.", NULL,
                     d->outbox_full ? 1 : 0);
    pp_metrics_gauge(b, "pp_fenced", "1 while another daemon owns our partitions (waiting for a rebalance).", NULL,
                     d->fenced ? 1 : 0);
    pp_metrics_gauge(b, "pp_first_apply_timestamp_seconds", "Wall time of the first event applied.", NULL,
                     (double)s->first_apply_ms / 1000.0);
    pp_metrics_gauge(b, "pp_last_flush_timestamp_seconds", "Wall time of the last flush that made applied events durable.", NULL,
                     (double)s->last_flush_ms / 1000.0);
    int n = pp_kafka_lag(d->kafka, d->lag, PP_TOPIC_COUNT * MAX_PARTITIONS);
    for (int i = 0; i < n; i++) {
        char part[16];
        snprintf(part, sizeof part, "%d", (int)d->lag[i].partition);
        pp_metrics_gauge(b, "pp_consumer_lag", "Messages behind the partition's end (-1 unknown).",
                         (const char *const[]){"topic", d->cfg->topics[d->lag[i].topic], "partition", part, NULL},
                         (double)d->lag[i].lag);
    }
    if (d->http)
        pp_http_publish_metrics(d->http, b->data ? b->data : "", b->len);
}

pp_daemon_t *pp_daemon_new(const pp_config_t *cfg, char *err, size_t err_len)
{
    pp_daemon_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    d->cfg = cfg;
    size_t max = (size_t)cfg->batch_max_messages;
    d->ready = calloc(max, sizeof *d->ready);
    d->batch_ids = calloc(max, sizeof *d->batch_ids);
    d->batch_st = calloc(max, sizeof *d->batch_st);
    d->batch_ev = calloc(max, sizeof *d->batch_ev);
    d->merge = pp_merge_new(MAX_PARTITIONS);
    d->fc_paused = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->fc_paused);
    d->scratch_alerts = calloc(PP_ENGINE_ALERTS_CAP, sizeof *d->scratch_alerts);
    d->tick_copy = malloc(sizeof *d->tick_copy);
    d->lag = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->lag);
    /* placeholders of one batch, or of one page of due deadlines (run_timers) */
    size_t load_max = max > DUE_BATCH ? max : DUE_BATCH;
    d->to_load = calloc(load_max, sizeof *d->to_load);
    d->found = calloc(load_max, sizeof *d->found);
    d->tps = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->tps);
    d->start_offsets = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->start_offsets);
    d->claim_epochs = calloc(MAX_PARTITIONS, sizeof *d->claim_epochs);
    d->outbox_len = calloc(MAX_PARTITIONS, sizeof *d->outbox_len);
    d->drain_n = calloc(MAX_PARTITIONS, sizeof *d->drain_n);
    d->applied_wm = calloc(MAX_PARTITIONS, sizeof *d->applied_wm);
    d->start_wm = calloc(MAX_PARTITIONS, sizeof *d->start_wm);
    d->cache = pp_cache_new();
    d->outbox_dirty = calloc(MAX_PARTITIONS, sizeof *d->outbox_dirty);
    d->due_ids = calloc(DUE_BATCH, sizeof *d->due_ids);
    d->id_ptrs = calloc(DUE_BATCH, sizeof *d->id_ptrs);
    d->swept_at = calloc(MAX_PARTITIONS, sizeof *d->swept_at);
    d->end_flush = calloc(MAX_PARTITIONS, sizeof *d->end_flush);
    d->swept_applied = calloc(MAX_PARTITIONS, sizeof *d->swept_applied);
    d->scratch_verdict = calloc(PP_ENGINE_ALERTS_CAP, sizeof *d->scratch_verdict);
    d->catchup = pp_catchup_new(MAX_PARTITIONS, cfg->backlog_lag_messages);
    d->part_lag = calloc(MAX_PARTITIONS, sizeof *d->part_lag);
    d->release_due = calloc(MAX_PARTITIONS, sizeof *d->release_due);
    d->release_cursor = calloc(MAX_PARTITIONS, sizeof *d->release_cursor);
    d->release_again = calloc(MAX_PARTITIONS, sizeof *d->release_again);
    d->held = calloc(RELEASE_MAX, sizeof *d->held);
    bool ok = d->id_ptrs && d->swept_at && d->end_flush && d->swept_applied && d->scratch_verdict && d->catchup && d->part_lag &&
              d->release_due && d->release_cursor && d->release_again && d->held && d->batch_ids && d->batch_st && d->batch_ev && d->lag && d->tick_copy && d->ready && d->merge && d->fc_paused && d->scratch_alerts && d->to_load && d->found && d->cache &&
              d->outbox_dirty && d->due_ids && d->tps && d->start_offsets && d->claim_epochs && d->outbox_len && d->applied_wm && d->start_wm;
    if (!ok) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }

    pp_redis_opts_t ro = {.host = cfg->redis_host, .port = cfg->redis_port, .user = cfg->redis_user,
                          .password = cfg->redis_password, .db = cfg->redis_db,
                          .prefix = cfg->redis_prefix, .timeout_ms = cfg->redis_timeout_ms};
    if ((d->redis = pp_redis_new(&ro)) == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    d->store = (pp_store_t){.vt = &pp_redis_vt, .s = d->redis};
    if (pp_redis_ping(d->redis) != 0) {
        snprintf(err, err_len, "%s (is redis-server running? see [redis] in the config)",
                 d->store.vt->error(d->store.s));
        goto fail;
    }
    d->flusher = pp_flush_new(d->store, cfg->policy, (const char *const *)cfg->topics, cfg->alerts_stream_maxlen);
    if (d->flusher == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }

    pp_kafka_conf_t kc = {.conf_keys = (const char *const *)cfg->kafka_keys,
                          .conf_values = (const char *const *)cfg->kafka_values,
                          .n_conf = cfg->n_kafka,
                          .alerts_topic = cfg->alerts_topic,
                          .dlq_topic = cfg->dlq_topic,
                          .dlq_copy_max = (size_t)cfg->dlq_copy_max};
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        kc.topics[t] = cfg->topics[t];
    pp_kafka_hooks_t hooks = {.opaque = d, .on_revoke = on_revoke, .on_assign = on_assign, .log = kafka_log};
    if ((d->kafka = pp_kafka_new(&kc, &hooks, err, err_len)) == NULL)
        goto fail;

    if (cfg->http_port > 0) {
        if ((d->http = pp_http_start(cfg->http_bind, cfg->http_port, err, err_len)) == NULL)
            goto fail;
        pp_http_set_ready(d->http, true, NULL);
    }
    if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
        d->watchdog_usec = 0;
    /* a wait for Kafka's acks stays well inside the watchdog */
    d->produce_timeout_ms = 10000;
    if (d->watchdog_usec && (int64_t)(d->watchdog_usec / 4000) < d->produce_timeout_ms)
        d->produce_timeout_ms = (int)(d->watchdog_usec / 4000) > 100 ? (int)(d->watchdog_usec / 4000) : 100;
    return d;
fail:
    pp_daemon_free(d);
    return NULL;
}

static void watchdog(pp_daemon_t *d, int64_t now)
{
    if (d->watchdog_usec == 0 || now < d->next_watchdog_ms)
        return;
    sd_notify(0, "WATCHDOG=1");
    d->next_watchdog_ms = now + (int64_t)(d->watchdog_usec / 2000);
}

static void log_progress(pp_daemon_t *d)
{
    const pp_daemon_stats_t *s = &d->stats;
    uint64_t dlq = 0;
    for (int r = 0; r < PP_REJ_COUNT; r++)
        dlq += s->dlq[r];
    uint64_t consumed = 0;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        consumed += s->consumed[t];
    pp_log(PP_LOG_INFO, "msg=\"progress\" consumed=%" PRIu64 " applied=%" PRIu64 " duplicates=%" PRIu64
                        " dlq=%" PRIu64 " flushes=%" PRIu64 " flushed_partners=%" PRIu64 " fields_written=%" PRIu64
                        " flush_s=%.1f"
                        " timer_ticks=%" PRIu64 " merge_holds=%" PRIu64 " cached=%zu redis_errors=%" PRIu64,
           consumed, s->applied, s->duplicates, dlq, s->flushes, s->flushed_partners, s->hash_fields_written, (double)s->flush_us_total / 1e6,
           s->timer_ticks, s->merge_holds, pp_cache_count(d->cache), s->redis_errors);
    sd_notifyf(0, "STATUS=applied %" PRIu64 " events, %zu partners cached%s", s->applied,
               pp_cache_count(d->cache), d->paused ? ", PAUSED: redis unavailable" : "");
}

/* Monotonic time at which the next flush is due. */
static int64_t flush_due(const pp_daemon_t *d)
{
    if (!d->backlog)
        return d->next_flush_ms;
    int64_t gap = d->cfg->backlog_flush_interval_ms;
    if (gap < BACKLOG_FLUSH_RATIO * d->last_flush_took_ms) /* Redis busy <= 1/(1+ratio) of the time */
        gap = BACKLOG_FLUSH_RATIO * d->last_flush_took_ms;
    return d->last_flush_mono + gap;
}

/* A flush failed with rc: act on it. */
static void flush_failed(pp_daemon_t *d, int rc, int64_t now)
{
    if (rc == -EAGAIN) { /* a DLQ copy not acknowledged: read the messages again, after a pause */
        static char why[300];
        snprintf(why, sizeof why, "DLQ topic %s is not accepting writes: nothing is committed past a rejected "
                                  "message until its copy is acknowledged", d->cfg->dlq_topic);
        d->need_resync = true;
        enter_outage(d, now, why);
    } else if (rc != -ECANCELED) {
        store_failed(d, rc, now);
    }
}

int pp_daemon_run(pp_daemon_t *d)
{
    sd_notify(0, "READY=1\nSTATUS=consuming");
    pp_log(PP_LOG_INFO, "msg=\"partnerpulsed ready\" version=%s", PP_VERSION);
    int64_t next_progress = mono_ms() + 10000;
    d->next_flush_ms = mono_ms() + d->cfg->flush_interval_ms;
    while (!stop_requested && !d->halted) {
        int64_t now = mono_ms();
        watchdog(d, now);
        if (now >= next_progress) {
            log_progress(d);
            next_progress = now + 10000;
        }
        if (d->http && now >= d->next_metrics_ms) {
            render_metrics(d);
            d->next_metrics_ms = now + 1000;
        }
        if (d->paused && now < d->retry_at_ms) {
            sleep_ms((int)(d->retry_at_ms - now < 100 ? d->retry_at_ms - now : 100));
            continue;
        }
        if (d->fenced) { /* only the group's rebalance callbacks are served until it reassigns */
            collect(d, 100);
            if (d->fenced) /* (an assignment in that poll ends it: what came after it is kept) */
                release_all(d);
            continue;
        }
        if (d->need_resync) {
            if (resync(d) != 0) {
                if (!d->halted)
                    enter_outage(d, mono_ms(), "redis unavailable: offsets of record unknown");
                continue;
            }
            leave_outage(d);
        }
        if (d->n_batch == 0) {
            /* block in the poll until the next flush is due (a message ends the
             * wait at once): spinning with a zero timeout while the merge waits
             * for a fetch took a core from Redis and the broker */
            int64_t wait = pp_flush_pending(d->flusher, d->cache) ? flush_due(d) - now : 100;
            collect(d, d->paused ? 0 : (int)(wait < 0 ? 0 : wait > 100 ? 100 : wait));
            if (!d->outbox_full) /* a full outbox takes no more alerts: messages wait in the merge */
                release(d);
        }
        if (d->n_batch > 0) {
            if (!d->batch_prepared)
                prepare_batch(d);
            if (!d->batch_loaded) {
                int rc = load_batch(d);
                if (rc != 0) {
                    if (rc != -ECANCELED)
                        store_failed(d, rc, mono_ms());
                    continue;
                }
            }
            apply_batch(d);
        }
        now = mono_ms();
        /* Catching up on a backlog, a partner is rewritten once per flush however
         * many of its events the flush carries: flush less often then (latency
         * does not matter while behind). At the head of the stream, every tick. */
        int64_t due = flush_due(d);
        size_t max_dirty = d->backlog ? (size_t)d->cfg->cache_max_partners : (size_t)d->cfg->flush_max_partners;
        if (now >= due || pp_cache_dirty_count(d->cache) >= max_dirty || pp_flush_trend_full(d->flusher) ||
            d->paused) {
            int rc = flush(d);
            if (rc == 0) {
                leave_outage(d);
                drain_outboxes(d, false);
                if (d->timers_wait_flush) { /* now: before more events are applied */
                    d->timers_wait_flush = false;
                    d->next_timer_ms = 0;
                }
            } else {
                flush_failed(d, rc, now);
            }
            d->last_flush_mono = mono_ms();
            d->next_flush_ms = d->last_flush_mono + d->cfg->flush_interval_ms;
        }
        if (!d->paused && !d->need_resync && !d->fenced && d->n_batch == 0 && now >= d->next_timer_ms) {
            int rc = run_timers(d);
            if (rc != 0)
                store_failed(d, rc, now);
            else
                drain_outboxes(d, false);
            d->next_timer_ms = d->timers_pending ? mono_ms() : mono_ms() + d->cfg->timer_interval_ms;
        }
        if (!d->paused && now >= d->next_outbox_sweep_ms) {
            drain_outboxes(d, true);
            if (!d->publish_failing)
                d->next_outbox_sweep_ms = mono_ms() + d->cfg->outbox_interval_ms;
        }
    }
    if (d->halted) { /* refusing to go on: nothing more is written */
        sd_notify(0, "STOPPING=1\nSTATUS=refusing to go on: see the log");
        log_progress(d);
        return d->exit_status;
    }
    sd_notify(0, "STOPPING=1\nSTATUS=final flush");
    pp_log(PP_LOG_INFO, "msg=\"stopping: final flush and commit\"");
    release_all(d); /* not applied: re-read after restart */
    int rc = -1;
    int64_t deadline = mono_ms() + SHUTDOWN_FLUSH_MS;
    for (int backoff = BACKOFF_MIN_MS;; backoff = backoff * 2 > 2000 ? 2000 : backoff * 2) {
        if ((rc = flush(d)) == 0 || rc == -EPERM || rc == -ECANCELED || mono_ms() + backoff > deadline)
            break;
        if (rc == -EAGAIN)
            break; /* the DLQ refused: the next start reads those messages again */
        sleep_ms(backoff);
    }
    if (rc == 0)
        drain_outboxes(d, false);
    log_progress(d);
    if (rc != 0)
        pp_log(PP_LOG_ERR, "msg=\"final flush failed; events not written are read again on restart\"");
    return d->halted ? d->exit_status : rc == 0 ? 0 : 1;
}

const pp_daemon_stats_t *pp_daemon_stats(const pp_daemon_t *d)
{
    return &d->stats;
}

void pp_daemon_free(pp_daemon_t *d)
{
    if (d == NULL)
        return;
    if (d->kafka) {
        if (d->merge)
            release_all(d);
        pp_kafka_close(d->kafka); /* revoke hook flushes nothing new; final commit */
        d->kafka = NULL;
    }
    pp_http_stop(d->http);
    pp_metrics_free(&d->metrics);
    free(d->lag);
    pp_flush_free(d->flusher);
    pp_redis_free(d->redis);
    pp_cache_free(d->cache);
    free(d->tps);
    free(d->start_offsets);
    free(d->claim_epochs);
    free(d->outbox_len);
    free(d->drain_n);
    free(d->applied_wm);
    free(d->start_wm);
    free(d->id_ptrs);
    free(d->swept_at);
    free(d->end_flush);
    free(d->swept_applied);
    free(d->scratch_verdict);
    pp_catchup_free(d->catchup);
    free(d->part_lag);
    free(d->release_due);
    free(d->release_cursor);
    free(d->release_again);
    free(d->held);
    free(d->outbox_dirty);
    free(d->due_ids);
    free(d->ready);
    free(d->batch_ids);
    free(d->batch_st);
    free(d->batch_ev);
    pp_merge_free(d->merge);
    free(d->fc_paused);
    free(d->scratch_alerts);
    free(d->tick_copy);
    while (d->free_nodes) {
        node_t *n = d->free_nodes;
        d->free_nodes = n->next_free;
        free(n);
    }
    free(d->to_load);
    free(d->found);
    free(d);
}
