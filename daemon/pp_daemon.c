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
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_partner.h"
#include "pp_redis.h"

#define MAX_PARTITIONS 4096    /* per input topic */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SHUTDOWN_FLUSH_MS 15000

static volatile sig_atomic_t stop_requested;

void pp_daemon_request_stop(void)
{
    stop_requested = 1;
}

/* The next offset to store for one (topic, partition) once the batch is durable. */
typedef struct pending_offset {
    pp_topic_t topic;
    int32_t partition;
} pending_offset_t;

struct pp_daemon {
    const pp_config_t *cfg;
    pp_kafka_t *kafka;
    pp_redis_t *redis;
    pp_cache_t *cache;

    /* The batch in hand: messages borrowed from Kafka and their decoded events. */
    pp_kmsg_t *msgs;
    pp_event_t *evs;
    bool *valid;               /* evs[i] decoded fine */
    size_t n_batch;
    bool batch_decoded;        /* decode + DLQ done */
    bool batch_loaded;         /* missing partners loaded from Redis */
    pp_partner_t **to_load;    /* placeholders waiting for their stored state */
    bool *found;
    size_t n_load;

    /* Offsets made durable by the next successful flush. */
    int64_t *next_offset[PP_TOPIC_COUNT]; /* [partition] = next offset, -1 none */
    pending_offset_t *touched;
    size_t n_touched;
    bool dlq_outstanding;      /* DLQ messages produced since the last flush */

    /* Redis outage handling. */
    bool paused;
    int backoff_ms;
    int64_t retry_at_ms;

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

static void release_batch(pp_daemon_t *d)
{
    for (size_t i = 0; i < d->n_batch; i++)
        pp_kafka_release(&d->msgs[i]);
    d->n_batch = 0;
    d->n_load = 0;
    d->batch_decoded = false;
    d->batch_loaded = false;
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

/* Write dirty partners, then store offsets. 0 = durable, -1 = retry later. */
static int flush(pp_daemon_t *d)
{
    size_t n;
    pp_partner_t *const *dirty = pp_cache_dirty(d->cache, &n);
    if (n == 0 && d->n_touched == 0)
        return 0;
    if (d->dlq_outstanding) {
        int rc = pp_kafka_flush_producer(d->kafka, 10000);
        if (rc != 0) {
            pp_log(PP_LOG_ERR, "msg=\"DLQ messages not acknowledged by Kafka; offsets held back\" rc=%d", rc);
            return -1;
        }
        d->dlq_outstanding = false;
    }
    int64_t t0 = mono_ms();
    if (pp_redis_write(d->redis, (const pp_partner_t *const *)dirty, n) != 0) {
        d->stats.redis_errors++;
        pp_log(PP_LOG_ERR, "msg=\"redis write failed; state kept in memory, offsets not committed\" "
                           "partners=%zu error=\"%s\"", n, pp_redis_error(d->redis));
        return -1;
    }
    d->stats.flushes++;
    d->stats.flushed_partners += n;
    d->stats.flush_us_total += (uint64_t)(mono_ms() - t0) * 1000;
    pp_cache_clear_dirty(d->cache);
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
    release_batch(d);
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
    clear_pending(d);
}

static void on_assign(void *opaque, int n)
{
    (void)opaque;
    (void)n;
}

/* Take up to batch_max_messages from Kafka, waiting at most timeout_ms for the first. */
static void collect(pp_daemon_t *d, int timeout_ms)
{
    size_t max = (size_t)d->cfg->batch_max_messages;
    while (d->n_batch < max) {
        pp_kmsg_t m;
        if (pp_kafka_poll(d->kafka, d->n_batch == 0 ? timeout_ms : 0, &m) != 1)
            break;
        d->msgs[d->n_batch++] = m;
        d->stats.consumed[m.topic]++;
    }
}

/* Decode every message; rejected ones go to the DLQ. */
static void decode_batch(pp_daemon_t *d)
{
    int64_t now = wall_ms();
    char why[256];
    for (size_t i = 0; i < d->n_batch; i++) {
        pp_kmsg_t *m = &d->msgs[i];
        d->valid[i] = false;
        if (m->partition >= MAX_PARTITIONS) {
            pp_log(PP_LOG_ERR, "msg=\"partition number above the supported %d; message skipped\" "
                               "topic=%s partition=%" PRId32, MAX_PARTITIONS, m->topic_name, m->partition);
            continue;
        }
        pp_reject_t r = pp_event_decode(m->topic, m->payload, m->len, m->key, m->key_len,
                                        &d->cfg->limits, now, &d->evs[i], why, sizeof why);
        if (r != PP_OK) {
            d->stats.dlq[r]++;
            pp_log(PP_LOG_WARNING, "msg=\"rejected input sent to DLQ\" reason=%s error=\"%s\" "
                                   "topic=%s partition=%" PRId32 " offset=%" PRId64,
                   pp_reject_name(r), why, m->topic_name, m->partition, m->offset);
            if (pp_kafka_dlq(d->kafka, m, pp_reject_name(r), why) == 0)
                d->dlq_outstanding = true;
            note_offset(d, m->topic, m->partition, m->offset);
            continue;
        }
        d->valid[i] = true;
        if (pp_cache_find(d->cache, d->evs[i].partner_id) == NULL) {
            pp_partner_t fresh;
            pp_partner_init(&fresh, d->evs[i].partner_id);
            pp_partner_t *st = pp_cache_insert(d->cache, &fresh);
            if (st == NULL) {
                pp_log(PP_LOG_ERR, "msg=\"out of memory caching partner\" partner=%s", fresh.id);
                abort();
            }
            d->to_load[d->n_load++] = st;
        }
    }
    d->batch_decoded = true;
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

static void apply_batch(pp_daemon_t *d)
{
    int64_t now = wall_ms();
    for (size_t i = 0; i < d->n_batch; i++) {
        if (!d->valid[i])
            continue;
        pp_kmsg_t *m = &d->msgs[i];
        pp_event_t *ev = &d->evs[i];
        pp_partner_t *st = pp_cache_find(d->cache, ev->partner_id);
        if (pp_partner_already_applied(st, m->topic, m->partition, m->offset)) {
            d->stats.duplicates++;
        } else {
            pp_partner_apply(st, ev, m->partition, m->offset, now);
            pp_cache_mark_dirty(d->cache, st);
            d->stats.applied++;
        }
        note_offset(d, m->topic, m->partition, m->offset);
    }
    release_batch(d);
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
    d->msgs = calloc(max, sizeof *d->msgs);
    d->evs = calloc(max, sizeof *d->evs);
    d->valid = calloc(max, sizeof *d->valid);
    d->to_load = calloc(max, sizeof *d->to_load);
    d->found = calloc(max, sizeof *d->found);
    d->touched = calloc((size_t)PP_TOPIC_COUNT * MAX_PARTITIONS, sizeof *d->touched);
    d->cache = pp_cache_new();
    bool ok = d->msgs && d->evs && d->valid && d->to_load && d->found && d->touched && d->cache;
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
    pp_log(PP_LOG_INFO, "msg=\"progress\" applied=%" PRIu64 " duplicates=%" PRIu64 " dlq=%" PRIu64
                        " flushes=%" PRIu64 " cached=%zu redis_errors=%" PRIu64,
           s->applied, s->duplicates, dlq, s->flushes, pp_cache_count(d->cache), s->redis_errors);
    sd_notifyf(0, "STATUS=applied %" PRIu64 " events, %zu partners cached%s", s->applied,
               pp_cache_count(d->cache), d->paused ? ", PAUSED: redis unavailable" : "");
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
        if (d->paused && now < d->retry_at_ms) {
            sleep_ms((int)(d->retry_at_ms - now < 100 ? d->retry_at_ms - now : 100));
            continue;
        }
        if (d->n_batch == 0) {
            int64_t wait = d->next_flush_ms - now;
            collect(d, d->paused ? 0 : (int)(wait < 0 ? 0 : wait > 100 ? 100 : wait));
        }
        if (d->n_batch > 0) {
            if (!d->batch_decoded)
                decode_batch(d);
            if (!d->batch_loaded && load_batch(d) != 0) {
                enter_outage(d, mono_ms());
                continue;
            }
            apply_batch(d);
        }
        now = mono_ms();
        if (now >= d->next_flush_ms || (int)pp_cache_dirty_count(d->cache) >= d->cfg->flush_max_partners ||
            d->paused) {
            if (flush(d) == 0) {
                leave_outage(d);
            } else {
                enter_outage(d, now);
            }
            d->next_flush_ms = mono_ms() + d->cfg->flush_interval_ms;
        }
    }
    sd_notify(0, "STOPPING=1\nSTATUS=final flush");
    pp_log(PP_LOG_INFO, "msg=\"stopping: final flush and commit\"");
    release_batch(d); /* not applied: re-read after restart */
    int rc = -1;
    int64_t deadline = mono_ms() + SHUTDOWN_FLUSH_MS;
    for (int backoff = BACKOFF_MIN_MS;; backoff = backoff * 2 > 2000 ? 2000 : backoff * 2) {
        if ((rc = flush(d)) == 0 || mono_ms() + backoff > deadline)
            break;
        sleep_ms(backoff);
    }
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
        release_batch(d);
        pp_kafka_close(d->kafka); /* revoke hook flushes nothing new; final commit */
        d->kafka = NULL;
    }
    pp_redis_free(d->redis);
    pp_cache_free(d->cache);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(d->next_offset[t]);
    free(d->touched);
    free(d->msgs);
    free(d->evs);
    free(d->valid);
    free(d->to_load);
    free(d->found);
    free(d);
}
