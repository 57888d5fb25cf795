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
#include <time.h>

#include <systemd/sd-daemon.h>

#include "pp_cache.h"
#include "pp_engine.h"
#include "pp_kafka.h"
#include "pp_history.h"
#include "pp_http.h"
#include "pp_log.h"
#include "pp_metrics.h"
#include "pp_merge.h"
#include "pp_partner.h"
#include "pp_redis.h"
#include "partnerpulse.pb-c.h"

#define MAX_PARTITIONS 4096    /* per input topic */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SHUTDOWN_FLUSH_MS 15000
#define DUE_BATCH 1000         /* partners ticked per deadline lookup */
#define OUTBOX_BATCH 1000      /* alerts published per outbox sweep step */
#define FLUSH_CHUNK 250        /* partners per MULTI/EXEC */
#define FLUSH_INFLIGHT 8       /* transactions sent before the oldest one's answer is read */
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
    char why[200];
    struct node *next_free;
} node_t;

#define HOLD_MAX 4000          /* messages held per topic partition before pausing it */

typedef struct pending_offset {
    pp_topic_t topic;
    int32_t partition;
} pending_offset_t;

/* One alert transition (or release) waiting for the next flush. */
typedef struct kept {
    pp_alert_t a;              /* the transition; publish as finally decided */
    pp_partner_t *owner;       /* whose flush chunk carries it; NULL = the first chunk */
    unsigned ops;              /* PP_REDIS_*: record it, keep or drop its held-back copy */
    uint8_t verdict;           /* enum pp_hist_verdict (AS_IS for a release) */
    bool released;             /* a held-back FIRING published now that its partition caught up */
    char config_version[24];   /* released: the configuration that computed it; "" = the current one */
} kept_t;

/* A held-back FIRING read from Redis for release. */
typedef struct held {
    pp_alert_t a;              /* the FIRING as held back (partition: the hash's) */
    char config_version[24];   /* the configuration that computed it */
    bool ok;                   /* decoded; false: dropped as unreadable */
    char raw_id[PP_ALERT_ID_LEN + 1]; /* its field in the hash (drop it even if unreadable) */
} held_t;

/* The public fields of a partner as Redis holds them, hashed the moment the
 * partner turns dirty: its flush then writes only the fields that changed,
 * and its pp:health / deadline entries only if they moved. Kept only while
 * it is dirty, and only at the head of the stream (catching up, a partner
 * takes many events per flush and most of its fields change anyway). */
typedef struct before {
    const pp_partner_t *st;         /* whose (NULL = none taken) */
    uint64_t h[PP_FIELDS_MAX];      /* per field: hash of name and value */
    uint64_t health_bits, deadline; /* pp:health score, deadline index entry */
    uint32_t n;                     /* fields hashed */
} before_t;

struct pp_daemon {
    const pp_config_t *cfg;
    pp_kafka_t *kafka;
    pp_redis_t *redis;
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
    bool *found;               /* [i]: to_load[i] had stored state */
    size_t n_load;

    /* Offsets made durable by the next successful flush. */
    int64_t *next_offset[PP_TOPIC_COUNT]; /* [partition] = next offset, -1 none */
    pending_offset_t *touched;
    size_t n_touched;
    bool dlq_outstanding;      /* DLQ messages produced since the last flush */
    bool dlq_failed;           /* a DLQ message could not be produced: offsets are held back */

    /* Alert transitions since the last flush (written with it, then published). */
    kept_t *alerts;
    size_t n_alerts, alerts_cap;
    pp_alert_t *scratch_alerts; /* PP_ENGINE_ALERTS_CAP, one engine call's output */
    uint8_t *scratch_verdict;  /* PP_ENGINE_ALERTS_CAP: pp_history_filter's verdicts on it */
    before_t *before;          /* by dirty position: what Redis held when it became dirty */
    size_t n_before, before_cap;
    pp_field_t *before_fields; /* PP_FIELDS_MAX, scratch for the snapshot */
    pp_redis_alert_t *alert_order; /* alerts grouped by flush chunk */
    size_t alert_order_cap;
    bool *outbox_dirty;        /* [partition]: has unpublished alerts */
    int64_t next_outbox_sweep_ms;

    /* Timers. */
    int64_t next_timer_ms;     /* monotonic time of the next deadline lookup */
    char (*due_ids)[PP_ID_MAX + 1];
    const char **id_ptrs;      /* DUE_BATCH: partner ids to cache (due, or with held-back alerts) */
    int64_t *swept_at;         /* [partition]: watermark of its last complete sweep (0 none) */
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

    /* Redis outage handling. */
    bool paused;
    int backoff_ms;
    int64_t retry_at_ms;

    bool backlog;              /* far behind the head of the stream: catching up */
    int64_t last_flush_mono;   /* monotonic time of the last flush attempt */
    int64_t last_flush_took_ms; /* how long that flush took */
    bool timers_pending;       /* the last timer slice ended with deadlines still due */
    int64_t next_lag_ms;       /* monotonic time of the next backlog (lag) check */
    pp_partner_t *tick_copy;   /* a partner's state before its timer tick */
    pp_http_t *http;           /* NULL when [http] port = 0 */
    uint64_t applied_at_flush; /* stats.applied at the last flush that carried events */
    pp_metrics_buf_t metrics;
    int64_t next_metrics_ms;
    pp_kafka_lag_t *lag;

    int64_t next_flush_ms;
    uint64_t watchdog_usec;    /* 0 = no systemd watchdog */
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
    return n;
}

static void node_put(pp_daemon_t *d, node_t *n)
{
    pp_kafka_release(&n->m);
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

static void clear_pending(pp_daemon_t *d)
{
    for (size_t i = 0; i < d->n_touched; i++)
        d->next_offset[d->touched[i].topic][d->touched[i].partition] = -1;
    d->n_touched = 0;
}

static void note_offset(pp_daemon_t *d, pp_topic_t topic, int32_t partition, int64_t offset)
{
    if (partition < 0 || partition >= MAX_PARTITIONS)
        return; /* refused at decode time; see process_batch */
    int64_t *slot = &d->next_offset[topic][partition];
    if (*slot < 0) {
        d->touched[d->n_touched].topic = topic;
        d->touched[d->n_touched].partition = partition;
        d->n_touched++;
    }
    if (offset + 1 > *slot)
        *slot = offset + 1;
}

/*
 * The public hash of a partner, minus the groups of fields whose values are
 * what Redis already has: a listpack HSET costs O(fields written x fields in
 * the hash) in Redis, and most events change a few groups only. The hashes
 * are only a shortcut: a failed flush forgets them (forget_written), so
 * what Redis missed is written again.
 */
static uint64_t field_hash(const pp_field_t *f)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a 64 over name, NUL, value */
    for (const char *c = f->name;; c++) {
        h = (h ^ (uint8_t)*c) * 1099511628211u;
        if (*c == '\0')
            break;
    }
    for (const char *c = f->value; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211u;
    return h;
}

/* A group's content: its fields' hashes folded; never 0, which means "unknown". */
static uint32_t group_hash(const uint64_t *fh, size_t lo, size_t hi)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = lo; i < hi; i++)
        h = (h ^ fh[i]) * 1099511628211u;
    return (uint32_t)(h ^ (h >> 32)) | 1;
}

static uint64_t health_bits(const pp_partner_t *st)
{
    double v = pp_partner_health(st);
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Call before changing a partner: if it is clean, note what Redis holds for it. */
static void before_change(pp_daemon_t *d, pp_partner_t *st)
{
    size_t n_dirty;
    pp_partner_t *const *dirty = pp_cache_dirty(d->cache, &n_dirty);
    size_t pos = pp_cache_dirty_pos(st);
    if (pos < n_dirty && dirty[pos] == st)
        return; /* dirty already: its snapshot (if any) stands */
    if (n_dirty >= d->before_cap) {
        size_t cap = d->before_cap ? d->before_cap * 2 : 1024;
        before_t *nb = realloc(d->before, cap * sizeof *nb);
        if (nb == NULL)
            abort();
        d->before = nb;
        d->before_cap = cap;
    }
    for (; d->n_before < n_dirty; d->n_before++) /* dirtied by a path without a snapshot */
        d->before[d->n_before].st = NULL;
    before_t *b = &d->before[n_dirty];
    d->n_before = n_dirty + 1;
    b->st = NULL;
    /* unknown content (loaded, or after a failed write: the group hashes are
     * reset then), or catching up: write by groups */
    if (d->backlog || pp_cache_field_hashes(st)[0] == 0)
        return;
    size_t nf = pp_engine_fields(d->cfg->policy, st, d->before_fields, PP_FIELDS_MAX);
    if (nf > PP_FIELDS_MAX)
        nf = PP_FIELDS_MAX; /* it counts what did not fit */
    for (size_t i = 0; i < nf; i++)
        b->h[i] = field_hash(&d->before_fields[i]);
    b->n = (uint32_t)nf;
    b->health_bits = health_bits(st);
    b->deadline = (uint64_t)st->next_deadline_ms;
    b->st = st;
}

static size_t select_fields(const pp_daemon_t *d, const pp_partner_t *st, pp_field_t *out, size_t cap,
                            unsigned *skip)
{
    size_t n = pp_engine_fields(d->cfg->policy, st, out, cap);
    if (n > cap || n > PP_FIELDS_MAX)
        n = cap < PP_FIELDS_MAX ? cap : PP_FIELDS_MAX; /* it counts what did not fit */
    size_t pos = pp_cache_dirty_pos(st);
    const before_t *b = pos < d->n_before && d->before[pos].st == st ? &d->before[pos] : NULL;
    bool by_field = b != NULL && b->n == n; /* else by the groups whose content changed */
    uint64_t fh[PP_FIELDS_MAX];
    for (size_t i = 0; i < n; i++)
        fh[i] = field_hash(&out[i]);
    uint32_t *seen = pp_cache_field_hashes((pp_partner_t *)st);
    size_t per = (n + PP_FIELD_GROUPS - 1) / PP_FIELD_GROUPS, kept = 0;
    for (size_t g = 0; g < PP_FIELD_GROUPS; g++) {
        size_t lo = g * per, hi = lo + per < n ? lo + per : n;
        uint32_t h = group_hash(fh, lo, hi);
        bool changed = h != seen[g];
        seen[g] = h; /* kept current on both paths */
        for (size_t i = lo; i < hi; i++)
            if (by_field ? fh[i] != b->h[i] : changed) {
                if (kept != i)
                    out[kept] = out[i];
                kept++;
            }
    }
    *skip = 0;
    if (by_field && health_bits(st) == b->health_bits)
        *skip |= PP_SKIP_HEALTH;
    if (by_field && (uint64_t)st->next_deadline_ms == b->deadline)
        *skip |= PP_SKIP_DEADLINE;
    return kept;
}

static size_t render_fields(void *opaque, const pp_partner_t *st, pp_field_t *out, size_t cap, unsigned *skip)
{
    size_t kept = select_fields(opaque, st, out, cap, skip);
    ((pp_daemon_t *)opaque)->stats.hash_fields_written += kept;
    return kept;
}

/* After a failed flush: Redis may lack what the hashes claim it has. */
static void forget_written(pp_daemon_t *d)
{
    size_t n;
    pp_partner_t *const *dirty = pp_cache_dirty(d->cache, &n);
    for (size_t i = 0; i < n; i++)
        memset(pp_cache_field_hashes(dirty[i]), 0, PP_FIELD_GROUPS * sizeof(uint32_t));
    for (size_t i = 0; i < d->n_before; i++)
        d->before[i].st = NULL; /* Redis may hold part of the failed write */
}

/* The flush chunk carrying alerts[i]: its partner's (the first without one). */
static size_t alert_chunk(const pp_daemon_t *d, size_t i)
{
    const pp_partner_t *owner = d->alerts[i].owner;
    return owner ? pp_cache_dirty_pos(owner) / FLUSH_CHUNK : 0;
}

/* n more entries at the end of the kept alerts, for the caller to fill. */
static kept_t *keep_room(pp_daemon_t *d, size_t n)
{
    if (d->n_alerts + n > d->alerts_cap) {
        size_t cap = d->alerts_cap ? d->alerts_cap * 2 : 256;
        while (cap < d->n_alerts + n)
            cap *= 2;
        kept_t *na = realloc(d->alerts, cap * sizeof *na);
        if (na == NULL) {
            pp_log(PP_LOG_ERR, "msg=\"out of memory keeping alerts\"");
            abort(); /* state already changed: cannot drop its alerts */
        }
        d->alerts = na;
        d->alerts_cap = cap;
    }
    kept_t *k = d->alerts + d->n_alerts;
    d->n_alerts += n;
    return k;
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
    kept_t *k = keep_room(d, (size_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t v = d->scratch_verdict[i];
        k[i].a = a[i];
        k[i].owner = st;
        k[i].ops = PP_REDIS_RECORD | (v == PP_HIST_HOLD ? PP_REDIS_HOLD : v == PP_HIST_UNHOLD ? PP_REDIS_UNHOLD : 0);
        k[i].verdict = v;
        k[i].released = false;
        k[i].config_version[0] = '\0';
        d->stats.alerts[a[i].rule][a[i].status == PP_ALERT_FIRING ? 0 : 1]++;
    }
}

/* Write dirty partners, then store offsets. 0 = durable, -1 = retry later. */
static int flush(pp_daemon_t *d)
{
    size_t n;
    pp_partner_t *const *dirty = pp_cache_dirty(d->cache, &n);
    if (n == 0 && d->n_touched == 0 && d->n_alerts == 0)
        return 0;
    if (d->dlq_outstanding || d->dlq_failed) {
        int rc = d->dlq_failed ? -EIO : pp_kafka_flush_producer(d->kafka, 10000);
        if (rc != 0) {
            /* state is not written either: the rejected message's offset must not
             * be committed, so nothing of this batch is; a restart re-reads it */
            pp_log(PP_LOG_ERR, "msg=\"DLQ message not acknowledged by Kafka; nothing is committed until it is "
                               "(restart partnerpulsed once Kafka accepts writes to the DLQ topic)\" rc=%d", rc);
            return -1;
        }
        d->dlq_outstanding = false;
    }
    int64_t t0 = mono_us();
    /* One MULTI/EXEC per chunk of partners, each with the alerts those
     * partners produced: a transaction stays short (well inside the Redis
     * timeout) and every alert is still atomic with the state behind it.
     * Offsets are stored only once every chunk is acknowledged; a failed
     * chunk is retried with all the rest (rewriting is idempotent; an alert
     * may then be recorded twice, with its same id). */
    size_t chunks = (n + FLUSH_CHUNK - 1) / FLUSH_CHUNK;
    if (chunks == 0)
        chunks = 1;
    if (d->n_alerts > d->alert_order_cap) {
        free(d->alert_order);
        d->alert_order_cap = d->n_alerts * 2;
        d->alert_order = malloc(d->alert_order_cap * sizeof *d->alert_order);
        if (d->alert_order == NULL)
            abort();
    }
    size_t *starts = calloc(chunks + 1, sizeof *starts);
    if (starts == NULL)
        abort();
    for (size_t i = 0; i < d->n_alerts; i++) /* counting sort of the alerts by chunk */
        starts[alert_chunk(d, i) + 1]++;
    for (size_t k = 0; k < chunks; k++)
        starts[k + 1] += starts[k];
    {
        size_t *fill = calloc(chunks, sizeof *fill);
        if (fill == NULL)
            abort();
        for (size_t i = 0; i < d->n_alerts; i++) {
            size_t k = alert_chunk(d, i);
            const kept_t *x = &d->alerts[i];
            d->alert_order[starts[k] + fill[k]++] = (pp_redis_alert_t){
                .a = &x->a, .ops = x->ops, .config_version = x->config_version[0] ? x->config_version : NULL};
        }
        free(fill);
    }
    /* Up to FLUSH_INFLIGHT transactions are sent before the oldest one's
     * answer is read: Redis executes one while the next is formatted. */
    size_t expect[FLUSH_INFLIGHT] = {0};
    size_t sent = 0, confirmed = 0;
    int rc = 0;
    while (rc == 0 && confirmed < chunks) {
        if (sent < chunks && sent - confirmed < FLUSH_INFLIGHT) {
            size_t k = sent++, lo = k * FLUSH_CHUNK, hi = lo + FLUSH_CHUNK < n ? lo + FLUSH_CHUNK : n;
            pp_redis_batch_t b = {.sts = (const pp_partner_t *const *)dirty + lo, .n = hi > lo ? hi - lo : 0,
                                  .fields = render_fields, .opaque = d, .alerts = d->alert_order + starts[k],
                                  .n_alerts = starts[k + 1] - starts[k], .config_version = d->cfg->policy->version,
                                  .stream_maxlen = d->cfg->alerts_stream_maxlen};
            rc = pp_redis_send(d->redis, &b, &expect[k % FLUSH_INFLIGHT]);
        } else {
            rc = pp_redis_confirm(d->redis, expect[confirmed % FLUSH_INFLIGHT]);
            confirmed += rc == 0;
        }
    }
    if (rc != 0) {
        pp_redis_abandon(d->redis);
        forget_written(d);
        d->stats.redis_errors++;
        pp_log(PP_LOG_ERR, "msg=\"redis write failed; state kept in memory, offsets not committed\" "
                           "partners=%zu chunk=%zu/%zu error=\"%s\"", n, confirmed + 1, chunks, pp_redis_error(d->redis));
        free(starts);
        return -1;
    }
    free(starts);
    uint64_t us = (uint64_t)(mono_us() - t0);
    d->last_flush_took_ms = (int64_t)(us / 1000); /* paces the next flush while catching up */
    if (d->stats.applied != d->applied_at_flush) { /* a flush that made new events durable */
        d->stats.last_flush_ms = wall_ms();
        d->applied_at_flush = d->stats.applied;
    }
    d->stats.flushes++;
    d->stats.flushed_partners += n;
    d->stats.flush_us_total += us;
    if (us > d->stats.flush_batches_latency_us_max)
        d->stats.flush_batches_latency_us_max = us;
    for (size_t i = 0; i < d->n_alerts; i++) {
        const kept_t *k = &d->alerts[i];
        const pp_alert_t *a = &k->a;
        bool in_range = a->partition >= 0 && a->partition < MAX_PARTITIONS;
        if (a->publish && in_range)
            d->outbox_dirty[a->partition] = true;
        if (k->verdict == PP_HIST_HOLD && in_range)
            d->release_due[a->partition] = true;
        if (!(k->ops & PP_REDIS_RECORD))
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
    d->n_alerts = 0;
    pp_cache_clear_dirty(d->cache);
    d->n_before = 0;
    for (size_t i = 0; i < d->n_touched; i++) {
        pending_offset_t *p = &d->touched[i];
        pp_kafka_store_offset(d->kafka, p->topic, p->partition, d->next_offset[p->topic][p->partition]);
    }
    clear_pending(d);
    pp_cache_evict_clean(d->cache, d->cfg->cache_max_partners);
    return 0;
}

static void enter_outage(pp_daemon_t *d, int64_t now)
{
    if (d->http)
        pp_http_set_ready(d->http, false, "redis unavailable: consumption paused");
    if (!d->paused) {
        pp_log(PP_LOG_WARNING, "msg=\"pausing consumption until redis answers\"");
        pp_kafka_pause(d->kafka);
        d->paused = true;
        d->backoff_ms = BACKOFF_MIN_MS;
    } else {
        d->backoff_ms = d->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d->backoff_ms * 2;
    }
    d->retry_at_ms = now + d->backoff_ms;
}

static void leave_outage(pp_daemon_t *d)
{
    if (d->paused) {
        if (d->http)
            pp_http_set_ready(d->http, true, NULL);
        pp_log(PP_LOG_NOTICE, "msg=\"redis answers again; resuming consumption\"");
        pp_kafka_resume(d->kafka);
        d->paused = false;
    }
}

/* Rebalance: partitions are going away. Unapplied messages are dropped (the
 * next owner reads them), applied work is flushed, cached state dropped. */
static void on_revoke(void *opaque)
{
    pp_daemon_t *d = opaque;
    release_all(d);
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        rc = flush(d);
        if (rc != 0)
            sleep_ms(200);
    }
    if (rc != 0)
        pp_log(PP_LOG_ERR, "msg=\"flush on revoke failed; the next owner re-applies from the last "
                           "committed offset\" dirty=%zu", pp_cache_dirty_count(d->cache));
    pp_cache_drop_all(d->cache);
    d->n_before = 0;
    clear_pending(d);
    d->n_alerts = 0; /* not written: the next owner re-derives them (same ids) */
}

static void on_assign(void *opaque, int n)
{
    pp_daemon_t *d = opaque;
    (void)n;
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
        d->swept_applied[p] = 0;
    }
    memset(d->fc_paused, 0, (size_t)PP_TOPIC_COUNT * MAX_PARTITIONS * sizeof *d->fc_paused);
    if (d->paused) /* still in a Redis outage: the new partitions wait too */
        pp_kafka_pause(d->kafka);
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
        n->rej = pp_event_decode(m.topic, m.payload, m.len, m.key, m.key_len, &d->cfg->limits, wall, &n->ev,
                                 n->why, sizeof n->why);
        if (n->rej == PP_OK) /* zones and calendars we know; amounts into the reporting currency */
            n->rej = pp_policyset_admit_event(d->cfg->policy, &n->ev, &d->cfg->limits, n->why, sizeof n->why);
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
            if (!*fc && held > HOLD_MAX) {
                *fc = pp_kafka_pause_one(d->kafka, (pp_topic_t)t, parts[i]) == 0;
            } else if (*fc && held < HOLD_MAX / 2) {
                *fc = pp_kafka_resume_one(d->kafka, (pp_topic_t)t, parts[i]) != 0;
            }
        }
    /* judged from the lag, not from how much one poll returned: a stall of
     * a second at the head of the stream must not switch to backlog
     * flushing (seconds apart), and a short poll while far behind (the merge
     * often drains librdkafka's queue between two fetches) is still behind */
    if (now >= d->next_lag_ms) { /* a librdkafka round trip to its main thread: not every poll */
        d->backlog = kafka_lag(d) > d->cfg->backlog_lag_messages;
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

static int load_batch(pp_daemon_t *d)
{
    int rc = pp_redis_load(d->redis, d->to_load, d->n_load, d->found);
    if (rc == -EBADMSG) {
        /* a corrupt blob is not fixed by retrying: start that partner afresh */
        pp_log(PP_LOG_ERR, "msg=\"stored state unreadable; partner restarts from empty state\" error=\"%s\"",
               pp_redis_error(d->redis));
        rc = 0;
    }
    if (rc != 0) {
        d->stats.redis_errors++;
        pp_log(PP_LOG_ERR, "msg=\"redis load failed; will retry\" partners=%zu error=\"%s\"", d->n_load,
               pp_redis_error(d->redis));
        return -1;
    }
    d->stats.loads += d->n_load;
    d->batch_loaded = true;
    return 0;
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
                d->dlq_failed = true; /* never commit past it: re-read after a restart */
            note_offset(d, m->topic, m->partition, m->offset);
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
        if (pp_partner_already_applied(st, m->topic, m->partition, m->offset)) {
            d->stats.duplicates++;
        } else {
            before_change(d, st);
            unsigned held = pp_history_held_mask(st), known = pp_history_published_mask(st);
            int na = pp_engine_apply(d->cfg->policy, st, ev, m->partition, m->offset, now, d->scratch_alerts);
            pp_cache_mark_dirty(d->cache, st);
            keep_alerts(d, st, held, known, d->scratch_alerts, na);
            if (d->stats.applied++ == 0)
                d->stats.first_apply_ms = now;
            if (ev->occurred_at_ms > d->max_event_ms)
                d->max_event_ms = ev->occurred_at_ms;
        }
        note_offset(d, m->topic, m->partition, m->offset);
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
    int lrc = d->n_load ? pp_redis_load(d->redis, d->to_load, d->n_load, d->found) : 0;
    if (lrc == -EBADMSG) {
        pp_log(PP_LOG_ERR, "msg=\"stored state unreadable; partner restarts from empty state\" error=\"%s\"",
               pp_redis_error(d->redis));
        lrc = 0;
    }
    for (size_t k = 0; k < d->n_load; k++)
        if (lrc != 0 || (drop_unknown && !d->found[k])) /* placeholders are never used unloaded */
            pp_cache_remove(d->cache, d->to_load[k]->id);
    d->n_load = 0;
    if (lrc != 0) {
        d->stats.redis_errors++;
        pp_log(PP_LOG_ERR, "msg=\"redis load failed; will retry\" partners=%zu error=\"%s\"", n,
               pp_redis_error(d->redis));
        return -1;
    }
    return 0;
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
        if (pp_redis_due(d->redis, p, now, offset, DUE_BATCH, d->due_ids, &n, &scanned) != 0) {
            d->stats.redis_errors++;
            pp_log(PP_LOG_ERR, "msg=\"deadline lookup failed\" partition=%d error=\"%s\"", (int)p,
                   pp_redis_error(d->redis));
            return -1;
        }
        offset += scanned;
        for (size_t k = 0; k < n; k++)
            d->id_ptrs[k] = d->due_ids[k];
        if (cache_partners(d, d->id_ptrs, n, false) != 0)
            return -1;
        for (size_t k = 0; k < n; k++) {
            pp_partner_t *st = pp_cache_find(d->cache, d->due_ids[k]);
            before_change(d, st);
            if (st->next_deadline_ms == 0 || st->next_deadline_ms > now) {
                /* ticked already, or the index is out of date: the flush fixes the index */
                pp_cache_mark_dirty(d->cache, st);
                size_t pos = pp_cache_dirty_pos(st);
                if (pos < d->n_before && d->before[pos].st == st)
                    d->before[pos].deadline = UINT64_MAX; /* rewrite the entry even if unmoved */
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

/* Keep the removal of one held-back copy (HDEL) for the next flush. */
static void keep_unhold(pp_daemon_t *d, const held_t *h, pp_partner_t *owner)
{
    kept_t *k = keep_room(d, 1);
    k->a = h->a; /* only alert_id and partition are used */
    memcpy(k->a.alert_id, h->raw_id, sizeof h->raw_id);
    k->a.publish = false;
    k->owner = owner;
    k->ops = PP_REDIS_UNHOLD;
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
        if (pp_redis_heldback_scan(d->redis, p, &cursor, RELEASE_PAGE, take_held, d) != 0) {
            d->stats.redis_errors++;
            pp_log(PP_LOG_ERR, "msg=\"held-back alert lookup failed; will retry\" partition=%d error=\"%s\"", (int)p,
                   pp_redis_error(d->redis));
            return -1;
        }
        size_t n_ids = 0;
        for (size_t i = 0; i < d->n_held; i++)
            if (d->held[i].ok)
                d->id_ptrs[n_ids++] = d->held[i].a.partner_id;
        if (cache_partners(d, d->id_ptrs, n_ids, true) != 0)
            return -1; /* the cursor stays: the page is read again */
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
            before_change(d, st); /* (a stale entry leaves st clean: its snapshot is then unused) */
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
            kept_t *k = keep_room(d, 1);
            k->a = h->a; /* publish = true, the original emitted_at_ms */
            k->owner = st;
            k->ops = PP_REDIS_RECORD | PP_REDIS_UNHOLD;
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
        int64_t now = watermark ? pp_merge_low_watermark(d->merge, &p, 1) : proc;
        /* on the watermark, time moves only with it: a finished sweep at this
         * watermark with no event applied since has nothing left to find */
        bool swept = watermark && now == d->swept_at[p] && d->stats.applied == d->swept_applied[p];
        if (now > 0 && !swept) {
            int rc = sweep(d, p, now, watermark, proc, slice_end);
            if (rc != 0) {
                d->timers_pending = rc > 0;
                return rc > 0 ? 0 : -1;
            }
            d->swept_at[p] = now;
            d->swept_applied[p] = d->stats.applied;
        }
        if (reached_end) {
            pp_catchup_set(d->catchup, p);
            pp_log(PP_LOG_INFO, "msg=\"partition caught up%s\" partition=%d watermark_ms=%lld", d->cfg->replay ?
                   "" : ": its timers run on the wall clock from now", (int)p, (long long)now);
        }
        if (pp_catchup_done(d->catchup, p) && d->release_due[p]) {
            if (release_held(d, p, slice_end) != 0)
                return -1;
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

static int confirm_published(void *opaque)
{
    pp_daemon_t *d = opaque;
    int rc = pp_kafka_flush_producer(d->kafka, 10000);
    if (rc == -EIO && !d->dlq_outstanding)
        pp_kafka_ack_failures(d->kafka); /* alerts stay in the outbox and go again */
    return rc;
}

/* Publish the outboxes of partitions with new alerts (all assigned ones if all). */
static void drain_outboxes(pp_daemon_t *d, bool all)
{
    int32_t parts[MAX_PARTITIONS];
    int np = pp_kafka_partitions(d->kafka, parts, MAX_PARTITIONS);
    for (int i = 0; i < np; i++) {
        int32_t p = parts[i];
        if (!all && !d->outbox_dirty[p])
            continue;
        for (int round = 0; round < 100; round++) {
            int n = pp_redis_outbox_drain(d->redis, p, OUTBOX_BATCH, publish_one, confirm_published, d);
            if (n < 0) {
                pp_log(PP_LOG_WARNING, "msg=\"alert outbox not drained; will retry\" partition=%d rc=%d", (int)p, n);
                return;
            }
            d->stats.alerts_published += (uint64_t)n;
            if (n < OUTBOX_BATCH)
                break;
        }
        d->outbox_dirty[p] = false;
    }
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
    pp_metrics_counter(b, "pp_events_duplicate_total", "Re-delivered events skipped by their state offset.", NULL,
                       s->duplicates);
    for (int r = 1; r < PP_REJ_COUNT; r++)
        pp_metrics_counter(b, "pp_dlq_total", "Messages sent to the DLQ, by reason.",
                           (const char *const[]){"reason", pp_reject_name((pp_reject_t)r), NULL}, s->dlq[r]);
    pp_metrics_counter(b, "pp_flushes_total", "Successful atomic Redis writes.", NULL, s->flushes);
    pp_metrics_counter(b, "pp_flushed_partners_total", "Partner states written to Redis.", NULL, s->flushed_partners);
    pp_metrics_counter(b, "pp_hash_fields_written_total", "Public hash fields written (only the changed ones where known).",
                       NULL, s->hash_fields_written);
    pp_metrics_gauge(b, "pp_flush_seconds_total", "Time spent in successful flushes.", NULL, (double)s->flush_us_total / 1e6);
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
    d->before_fields = calloc(PP_FIELDS_MAX, sizeof *d->before_fields);
    d->tick_copy = malloc(sizeof *d->tick_copy);
    d->lag = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->lag);
    /* placeholders of one batch, or of one page of due deadlines (run_timers) */
    size_t load_max = max > DUE_BATCH ? max : DUE_BATCH;
    d->to_load = calloc(load_max, sizeof *d->to_load);
    d->found = calloc(load_max, sizeof *d->found);
    d->touched = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->touched);
    d->cache = pp_cache_new();
    d->outbox_dirty = calloc(MAX_PARTITIONS, sizeof *d->outbox_dirty);
    d->due_ids = calloc(DUE_BATCH, sizeof *d->due_ids);
    d->id_ptrs = calloc(DUE_BATCH, sizeof *d->id_ptrs);
    d->swept_at = calloc(MAX_PARTITIONS, sizeof *d->swept_at);
    d->swept_applied = calloc(MAX_PARTITIONS, sizeof *d->swept_applied);
    d->scratch_verdict = calloc(PP_ENGINE_ALERTS_CAP, sizeof *d->scratch_verdict);
    d->catchup = pp_catchup_new(MAX_PARTITIONS, cfg->backlog_lag_messages);
    d->part_lag = calloc(MAX_PARTITIONS, sizeof *d->part_lag);
    d->release_due = calloc(MAX_PARTITIONS, sizeof *d->release_due);
    d->release_cursor = calloc(MAX_PARTITIONS, sizeof *d->release_cursor);
    d->release_again = calloc(MAX_PARTITIONS, sizeof *d->release_again);
    d->held = calloc(RELEASE_MAX, sizeof *d->held);
    bool ok = d->id_ptrs && d->swept_at && d->swept_applied && d->scratch_verdict && d->catchup && d->part_lag &&
              d->release_due && d->release_cursor && d->release_again && d->held && d->batch_ids && d->batch_st && d->batch_ev && d->lag && d->before_fields && d->tick_copy && d->ready && d->merge && d->fc_paused && d->scratch_alerts && d->to_load && d->found && d->touched && d->cache &&
              d->outbox_dirty && d->due_ids;
    for (int t = 0; t < PP_TOPIC_COUNT && ok; t++) {
        d->next_offset[t] = malloc(MAX_PARTITIONS * sizeof(int64_t));
        ok = d->next_offset[t] != NULL;
        for (int p = 0; ok && p < MAX_PARTITIONS; p++)
            d->next_offset[t][p] = -1;
    }
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
    if (pp_redis_ping(d->redis) != 0) {
        snprintf(err, err_len, "%s (is redis-server running? see [redis] in the config)",
                 pp_redis_error(d->redis));
        goto fail;
    }

    pp_kafka_conf_t kc = {.conf_keys = (const char *const *)cfg->kafka_keys,
                          .conf_values = (const char *const *)cfg->kafka_values,
                          .n_conf = cfg->n_kafka,
                          .alerts_topic = cfg->alerts_topic,
                          .dlq_topic = cfg->dlq_topic};
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
                        " timer_ticks=%" PRIu64 " cached=%zu redis_errors=%" PRIu64,
           consumed, s->applied, s->duplicates, dlq, s->flushes, s->flushed_partners, s->hash_fields_written, (double)s->flush_us_total / 1e6,
           s->timer_ticks, pp_cache_count(d->cache), s->redis_errors);
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

int pp_daemon_run(pp_daemon_t *d)
{
    sd_notify(0, "READY=1\nSTATUS=consuming");
    pp_log(PP_LOG_INFO, "msg=\"partnerpulsed ready\" version=%s", PP_VERSION);
    int64_t next_progress = mono_ms() + 10000;
    d->next_flush_ms = mono_ms() + d->cfg->flush_interval_ms;
    while (!stop_requested) {
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
        if (d->n_batch == 0) {
            /* block in the poll until the next flush is due (a message ends the
             * wait at once): spinning with a zero timeout while the merge waits
             * for a fetch took a core from Redis and the broker */
            int64_t wait = pp_cache_dirty_count(d->cache) || d->n_alerts ? flush_due(d) - now : 100;
            collect(d, d->paused ? 0 : (int)(wait < 0 ? 0 : wait > 100 ? 100 : wait));
            release(d);
        }
        if (d->n_batch > 0) {
            if (!d->batch_prepared)
                prepare_batch(d);
            if (!d->batch_loaded && load_batch(d) != 0) {
                enter_outage(d, mono_ms());
                continue;
            }
            apply_batch(d);
        }
        now = mono_ms();
        /* Catching up on a backlog, a partner is rewritten once per flush however
         * many of its events the flush carries: flush less often then (latency
         * does not matter while behind). At the head of the stream, every tick. */
        int64_t due = flush_due(d);
        size_t max_dirty = d->backlog ? (size_t)d->cfg->cache_max_partners : (size_t)d->cfg->flush_max_partners;
        if (now >= due || pp_cache_dirty_count(d->cache) >= max_dirty ||
            d->paused) {
            if (flush(d) == 0) {
                leave_outage(d);
                drain_outboxes(d, false);
            } else {
                enter_outage(d, now);
            }
            d->last_flush_mono = mono_ms();
            d->next_flush_ms = d->last_flush_mono + d->cfg->flush_interval_ms;
        }
        if (!d->paused && d->n_batch == 0 && now >= d->next_timer_ms) {
            if (run_timers(d) != 0)
                enter_outage(d, now);
            else
                drain_outboxes(d, false);
            d->next_timer_ms = d->timers_pending ? mono_ms() : mono_ms() + d->cfg->timer_interval_ms;
        }
        if (!d->paused && now >= d->next_outbox_sweep_ms) {
            drain_outboxes(d, true);
            d->next_outbox_sweep_ms = mono_ms() + d->cfg->outbox_interval_ms;
        }
    }
    sd_notify(0, "STOPPING=1\nSTATUS=final flush");
    pp_log(PP_LOG_INFO, "msg=\"stopping: final flush and commit\"");
    release_all(d); /* not applied: re-read after restart */
    int rc = -1;
    int64_t deadline = mono_ms() + SHUTDOWN_FLUSH_MS;
    for (int backoff = BACKOFF_MIN_MS;; backoff = backoff * 2 > 2000 ? 2000 : backoff * 2) {
        if ((rc = flush(d)) == 0 || mono_ms() + backoff > deadline)
            break;
        sleep_ms(backoff);
    }
    if (rc == 0)
        drain_outboxes(d, false);
    log_progress(d);
    if (rc != 0)
        pp_log(PP_LOG_ERR, "msg=\"final flush failed; uncommitted events will be re-applied on restart\"");
    return rc == 0 ? 0 : -1;
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
    pp_redis_free(d->redis);
    pp_cache_free(d->cache);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(d->next_offset[t]);
    free(d->touched);
    free(d->alerts);
    free(d->alert_order);
    free(d->id_ptrs);
    free(d->swept_at);
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
    free(d->before_fields);
    free(d->tick_copy);
    free(d->before);
    while (d->free_nodes) {
        node_t *n = d->free_nodes;
        d->free_nodes = n->next_free;
        free(n);
    }
    free(d->to_load);
    free(d->found);
    free(d);
}
