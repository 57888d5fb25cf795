/*
 * pp_kafka: consumer group + producer on librdkafka (see pp_kafka.h).
 *
 * Follows librdkafka's reference consumer: eager assignor (range; DESIGN §12
 * rules out cooperative-sticky on 2.0.2), explicit rebalance callback,
 * enable.auto.offset.store=false so only offsets the daemon declared
 * durable are ever committed.
 */
#include "pp_kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>

#define DLQ_HEAD_BYTES 1024   /* bytes of a too-large message kept in its DLQ metadata record */
#define TOO_LARGE_MAX 256     /* source messages remembered as refused for their size */

/* What a produced message was (its delivery report's opaque). */
#define KIND_DLQ ((void *)1)
#define KIND_ALERT ((void *)2)

/* A source message whose DLQ copy was refused for its size. */
typedef struct too_large {
    char topic[256];
    int32_t partition;
    int64_t offset;
} too_large_t;

struct pp_kafka {
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    pp_kafka_hooks_t hooks;
    char *topics[PP_TOPIC_COUNT];
    const void *rkt_seen[PP_TOPIC_COUNT]; /* each topic's handle, once a message of it came */
    rd_kafka_queue_t *consumer_q;  /* where assigned partitions' messages go (pp_kafka_poll) */
    struct held_q {                /* partitions held back by flow control */
        pp_topic_t topic;
        int32_t partition;
        rd_kafka_queue_t *q;
    } *held;
    size_t n_held, held_cap;
    struct ever_held {             /* every partition ever held back: librdkafka no longer */
        pp_topic_t topic;          /* hands it to the consumer by itself after a rebalance */
        int32_t partition;
    } *ever;
    size_t n_ever, ever_cap;
    char *alerts_topic;
    char *dlq_topic;
    int assigned;            /* partitions in the current assignment */
    int32_t *parts;          /* distinct assigned partition numbers, ascending */
    int n_parts;
    uint64_t produce_failed; /* delivery reports with an error */
    uint64_t produce_failed_seen; /* produce_failed already reported by a flush */
    uint64_t failed_dlq, failed_alerts, seen_dlq, seen_alerts; /* ...by kind */
    size_t dlq_copy_max;     /* larger rejected messages go as metadata records */
    time_t failed_logged_at; /* delivery failures: last logged (one line per second) */
    uint64_t failed_unlogged;
    too_large_t too_large[TOO_LARGE_MAX]; /* ring */
    size_t n_too_large;
};

static void klog(pp_kafka_t *k, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void klog(pp_kafka_t *k, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k->hooks.log)
        k->hooks.log(k->hooks.opaque, level, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    pp_kafka_t *k = opaque;
    klog(k, err == RD_KAFKA_RESP_ERR__FATAL ? 3 : 4, "kafka error=%s reason=\"%s\"",
         rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pp_kafka_t *k = opaque;
    if (!m->err)
        return;
    k->produce_failed++;
    if (m->_private == KIND_DLQ)
        k->failed_dlq++;
    else
        k->failed_alerts++;
    /* one line per second at most: an unavailable topic fails every message */
    time_t now = time(NULL);
    k->failed_unlogged++;
    if (now != k->failed_logged_at) {
        klog(k, 3, "kafka delivery failed topic=%s error=%s failed=%llu", rd_kafka_topic_name(m->rkt),
             rd_kafka_err2str(m->err), (unsigned long long)k->failed_unlogged);
        k->failed_logged_at = now;
        k->failed_unlogged = 0;
    }
    rd_kafka_headers_t *h = NULL;
    if (m->_private != KIND_DLQ ||
        (m->err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && m->err != RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) ||
        rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    /* the broker refused this copy for its size: when its source is read
     * again, it goes as a metadata record */
    const void *v;
    size_t sz;
    too_large_t *t = &k->too_large[k->n_too_large++ % TOO_LARGE_MAX];
    memset(t, 0, sizeof *t);
    char num[32];
    if (rd_kafka_header_get_last(h, "pp-source-topic", &v, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(t->topic, sizeof t->topic, "%.*s", (int)sz, (const char *)v);
    if (rd_kafka_header_get_last(h, "pp-source-partition", &v, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(num, sizeof num, "%.*s", (int)sz, (const char *)v);
        t->partition = (int32_t)strtol(num, NULL, 10);
    }
    if (rd_kafka_header_get_last(h, "pp-source-offset", &v, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(num, sizeof num, "%.*s", (int)sz, (const char *)v);
        t->offset = strtoll(num, NULL, 10);
    }
}

static int topic_index(const pp_kafka_t *k, const char *name)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (strcmp(k->topics[t], name) == 0)
            return t;
    return -1;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pp_kafka_t *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        free(k->parts);
        k->parts = calloc((size_t)parts->cnt + 1, sizeof *k->parts);
        k->n_parts = 0;
        for (int i = 0; k->parts && i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            int j = 0;
            while (j < k->n_parts && k->parts[j] < p)
                j++;
            if (j < k->n_parts && k->parts[j] == p)
                continue;
            memmove(k->parts + j + 1, k->parts + j, (size_t)(k->n_parts - j) * sizeof *k->parts);
            k->parts[j] = p;
            k->n_parts++;
        }
        /* where each partition starts: the daemon's say (its offsets of record) */
        int flags = 0;
        pp_kafka_tp_t *tps = calloc((size_t)parts->cnt + 1, sizeof *tps);
        int n = 0;
        for (int i = 0; tps && i < parts->cnt; i++) {
            int t = topic_index(k, parts->elems[i].topic);
            if (t < 0)
                continue;
            tps[n++] = (pp_kafka_tp_t){.topic = (pp_topic_t)t, .partition = parts->elems[i].partition,
                                       .offset = PP_KAFKA_COMMITTED};
        }
        if (k->hooks.on_assign)
            flags = k->hooks.on_assign(k->hooks.opaque, tps, n);
        for (int i = 0; tps && i < n; i++) {
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_find(parts, k->topics[tps[i].topic], tps[i].partition);
            if (tp)
                tp->offset = tps[i].offset;
        }
        free(tps);
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
        /* a partition paused before a rebalance (flow control, Redis outage)
         * stays paused in librdkafka when it comes back: start clean */
        if (!e)
            (flags & PP_KAFKA_PAUSE) ? rd_kafka_pause_partitions(rk, parts) : rd_kafka_resume_partitions(rk, parts);
        k->assigned = e ? 0 : parts->cnt;
        if (e)
            k->n_parts = 0;
        klog(k, 6, "kafka assigned partitions=%d%s", parts->cnt, e ? " (assign failed)" : "");
    } else {
        klog(k, 6, "kafka revoking partitions=%d", parts->cnt);
        if (k->hooks.on_revoke)
            k->hooks.on_revoke(k->hooks.opaque);
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0 /* sync */);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            klog(k, 4, "kafka commit on revoke failed error=%s", rd_kafka_err2str(e));
        rd_kafka_assign(rk, NULL);
        k->assigned = 0;
        k->n_parts = 0;
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pp_kafka_t *k = rd_kafka_opaque(rk);
    if (k && k->hooks.log) {
        char line[1200];
        snprintf(line, sizeof line, "librdkafka facility=%s msg=\"%s\"", fac, buf);
        k->hooks.log(k->hooks.opaque, level, line);
    }
}

/* Apply the user's keys, then our own required settings. */
static rd_kafka_conf_t *make_conf(pp_kafka_t *k, const pp_kafka_conf_t *c, bool consumer,
                                  char *err, size_t err_len)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[512];
    for (size_t i = 0; i < c->n_conf; i++) {
        const char *key = c->conf_keys[i];
        /* consumer-only keys would make the producer warn: skip them there */
        if (!consumer && (strcmp(key, "group.id") == 0 || strcmp(key, "auto.offset.reset") == 0 ||
                          strncmp(key, "session.timeout", 15) == 0 ||
                          strcmp(key, "partition.assignment.strategy") == 0 ||
                          strncmp(key, "max.poll", 8) == 0 || strncmp(key, "fetch.", 6) == 0 ||
                          strncmp(key, "queued.", 7) == 0 || strcmp(key, "max.partition.fetch.bytes") == 0 ||
                          strcmp(key, "group.instance.id") == 0 ||
                          strcmp(key, "heartbeat.interval.ms") == 0))
            continue;
        if (rd_kafka_conf_set(conf, key, c->conf_values[i], e, sizeof e) != RD_KAFKA_CONF_OK) {
            /* never echo the value: it may be a secret */
            snprintf(err, err_len, "kafka config key '%s' rejected: %s", key, e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    const char *const fixed_consumer[][2] = {
        {"enable.auto.offset.store", "false"}, /* only durable offsets are stored */
        {"enable.auto.commit", "true"},        /* ...and committed periodically */
        {"enable.partition.eof", "true"},       /* the event-time merge needs to know */
    };
    const char *const fixed_producer[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
    };
    size_t n = consumer ? sizeof fixed_consumer / sizeof fixed_consumer[0]
                        : sizeof fixed_producer / sizeof fixed_producer[0];
    for (size_t i = 0; i < n; i++) {
        const char *const *kv = consumer ? fixed_consumer[i] : fixed_producer[i];
        if (rd_kafka_conf_set(conf, kv[0], kv[1], e, sizeof e) != RD_KAFKA_CONF_OK) {
            snprintf(err, err_len, "kafka config %s: %s", kv[0], e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (consumer) {
        char v[64];
        size_t vlen = sizeof v;
        if (rd_kafka_conf_get(conf, "group.id", v, &vlen) != RD_KAFKA_CONF_OK || vlen <= 1) {
            snprintf(err, err_len, "kafka group.id is not set: add group.id to the [kafka] section");
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        vlen = sizeof v;
        if (rd_kafka_conf_get(conf, "partition.assignment.strategy", v, &vlen) == RD_KAFKA_CONF_OK &&
            strcmp(v, "range") != 0) {
            /* a partner lives in partition p of all four topics: only range keeps
             * those on one daemon (cooperative-sticky is also broken before 2.6) */
            snprintf(err, err_len, "partition.assignment.strategy must be range (got '%s'): a partner's "
                                   "four topics must be assigned together", v);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    } else {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, k);
    return conf;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

pp_kafka_t *pp_kafka_new(const pp_kafka_conf_t *c, const pp_kafka_hooks_t *hooks, char *err,
                         size_t err_len)
{
    pp_kafka_t *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subs = NULL;
    char e[512];
    if (k == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (hooks)
        k->hooks = *hooks;
    k->dlq_copy_max = c->dlq_copy_max ? c->dlq_copy_max : 900 * 1024;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if ((k->topics[t] = dupstr(c->topics[t])) == NULL)
            goto fail_oom;
    if ((k->alerts_topic = dupstr(c->alerts_topic)) == NULL || (k->dlq_topic = dupstr(c->dlq_topic)) == NULL)
        goto fail_oom;

    if ((conf = make_conf(k, c, false, err, err_len)) == NULL)
        goto fail;
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (k->producer == NULL) {
        snprintf(err, err_len, "kafka producer: %s", e);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    conf = NULL; /* now owned by the producer */

    if ((conf = make_conf(k, c, true, err, err_len)) == NULL)
        goto fail;
    k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (k->consumer == NULL) {
        snprintf(err, err_len, "kafka consumer: %s", e);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    conf = NULL; /* now owned by the consumer */
    rd_kafka_poll_set_consumer(k->consumer);
    k->consumer_q = rd_kafka_queue_get_consumer(k->consumer);

    subs = rd_kafka_topic_partition_list_new(PP_TOPIC_COUNT);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        rd_kafka_topic_partition_list_add(subs, k->topics[t], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t re = rd_kafka_subscribe(k->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (re) {
        snprintf(err, err_len, "kafka subscribe failed: %s", rd_kafka_err2str(re));
        goto fail;
    }
    return k;

fail_oom:
    snprintf(err, err_len, "out of memory");
fail:
    pp_kafka_close(k);
    return NULL;
}


int pp_kafka_poll(pp_kafka_t *k, int timeout_ms, pp_kmsg_t *m)
{
    rd_kafka_poll(k->producer, 0); /* serve delivery reports */
    rd_kafka_message_t *rm = rd_kafka_consumer_poll(k->consumer, timeout_ms);
    if (rm == NULL)
        return 0;
    if (rm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && rm->rkt) {
        int t = topic_index(k, rd_kafka_topic_name(rm->rkt));
        if (t >= 0) {
            memset(m, 0, sizeof *m);
            m->topic = (pp_topic_t)t;
            m->topic_name = rd_kafka_topic_name(rm->rkt);
            m->partition = rm->partition;
            m->offset = rm->offset;
            rd_kafka_message_destroy(rm);
            return 2;
        }
    }
    if (rm->err) {
        if (rm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            klog(k, rm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? 3 : 4,
                 "kafka consume error topic=%s partition=%" PRId32 " error=\"%s\"",
                 rm->rkt ? rd_kafka_topic_name(rm->rkt) : "-", rm->partition,
                 rd_kafka_message_errstr(rm));
        rd_kafka_message_destroy(rm);
        return 0;
    }
    int t = 0; /* the topic handle seen before for this topic, or by name */
    while (t < PP_TOPIC_COUNT && k->rkt_seen[t] != rm->rkt)
        t++;
    if (t == PP_TOPIC_COUNT) {
        const char *tname = rd_kafka_topic_name(rm->rkt);
        if ((t = topic_index(k, tname)) < 0) { /* cannot happen: we only subscribe to our topics */
            klog(k, 3, "kafka message from unexpected topic=%s", tname);
            rd_kafka_message_destroy(rm);
            return 0;
        }
        k->rkt_seen[t] = rm->rkt;
    }
    m->topic = (pp_topic_t)t;
    m->topic_name = k->topics[t]; /* ours: it outlives the message */
    m->partition = rm->partition;
    m->offset = rm->offset;
    m->payload = rm->payload;
    m->len = rm->len;
    m->key = rm->key;
    m->key_len = rm->key_len;
    m->handle = rm;
    return 1;
}

void pp_kafka_release(pp_kmsg_t *m)
{
    if (m && m->handle) {
        rd_kafka_message_destroy(m->handle);
        m->handle = NULL;
    }
    if (m) {
        m->payload = NULL;
        m->len = 0;
        m->key = NULL;
        m->key_len = 0;
    }
}

int pp_kafka_store_offset(pp_kafka_t *k, pp_topic_t topic, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topics[topic], partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(k->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        /* partition no longer assigned: the next owner re-reads and skips by state offset */
        klog(k, 4, "kafka offset store failed topic=%s partition=%" PRId32 " error=%s",
             k->topics[topic], partition, rd_kafka_err2str(e));
        return -EIO;
    }
    return 0;
}

static int produce(pp_kafka_t *k, const char *topic, const void *key, size_t key_len,
                   const void *buf, size_t len, rd_kafka_headers_t *hdrs, void *kind)
{
    rd_kafka_resp_err_t e;
    for (int attempt = 0; attempt < 50; attempt++) {
        e = rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY((void *)key, key_len),
                              RD_KAFKA_V_VALUE((void *)buf, len),
                              RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(kind), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(k->producer, 100); /* queue full: let deliveries drain */
    }
    if (e) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        klog(k, 3, "kafka produce failed topic=%s error=%s", topic, rd_kafka_err2str(e));
        return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? -EMSGSIZE : -EIO;
    }
    return 0; /* hdrs now owned by the message */
}

static bool refused_before(const pp_kafka_t *k, const pp_kmsg_t *m)
{
    size_t n = k->n_too_large < TOO_LARGE_MAX ? k->n_too_large : TOO_LARGE_MAX;
    for (size_t i = 0; i < n; i++)
        if (k->too_large[i].partition == m->partition && k->too_large[i].offset == m->offset &&
            strcmp(k->too_large[i].topic, m->topic_name) == 0)
            return true;
    return false;
}

static rd_kafka_headers_t *dlq_headers(const pp_kmsg_t *m, const char *reason, const char *why)
{
    char part[16], off[24];
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    rd_kafka_header_add(h, "pp-reason", -1, reason, -1);
    rd_kafka_header_add(h, "pp-error", -1, why, -1);
    rd_kafka_header_add(h, "pp-source-topic", -1, m->topic_name, -1);
    rd_kafka_header_add(h, "pp-source-partition", -1, part, -1);
    rd_kafka_header_add(h, "pp-source-offset", -1, off, -1);
    /* keep the original headers too */
    rd_kafka_headers_t *orig = NULL;
    if (m->handle && rd_kafka_message_headers(m->handle, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &sz) == 0; i++)
            rd_kafka_header_add(h, name, -1, val, (ssize_t)sz);
    }
    return h;
}

/* The metadata record of a message too large to copy: its first KiB, its
 * size and its SHA-256 (to find it again in the source topic). */
static int dlq_metadata(pp_kafka_t *k, const pp_kmsg_t *m, const char *reason, const char *why)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "", size[24];
    if (EVP_Digest(m->payload, m->len, md, &md_len, EVP_sha256(), NULL) == 1)
        for (unsigned int i = 0; i < md_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(size, sizeof size, "%zu", m->len);
    rd_kafka_headers_t *h = dlq_headers(m, reason, why);
    rd_kafka_header_add(h, "pp-original-size", -1, size, -1);
    rd_kafka_header_add(h, "pp-sha256", -1, hex, -1);
    rd_kafka_header_add(h, "pp-truncated", -1, "1", -1);
    klog(k, 4, "kafka DLQ copy too large: metadata record sent instead topic=%s partition=%" PRId32
               " offset=%" PRId64 " size=%zu sha256=%s", m->topic_name, m->partition, m->offset, m->len, hex);
    return produce(k, k->dlq_topic, m->key, m->key_len, m->payload, m->len < DLQ_HEAD_BYTES ? m->len : DLQ_HEAD_BYTES,
                   h, KIND_DLQ);
}

int pp_kafka_dlq(pp_kafka_t *k, const pp_kmsg_t *m, const char *reason, const char *why)
{
    if (m->len > k->dlq_copy_max || refused_before(k, m))
        return dlq_metadata(k, m, reason, why);
    int rc = produce(k, k->dlq_topic, m->key, m->key_len, m->payload, m->len, dlq_headers(m, reason, why), KIND_DLQ);
    return rc == -EMSGSIZE ? dlq_metadata(k, m, reason, why) : rc;
}

int pp_kafka_produce_alert(pp_kafka_t *k, const char *partner_id, const uint8_t *buf, size_t len)
{
    return produce(k, k->alerts_topic, partner_id, strlen(partner_id), buf, len, NULL, KIND_ALERT);
}

int pp_kafka_flush_producer(pp_kafka_t *k, int timeout_ms)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(k->producer, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return -ETIMEDOUT;
    /* a failed delivery stays reported until pp_kafka_ack_failures(): the
     * caller must not commit past a message that did not reach Kafka */
    return k->produce_failed != k->produce_failed_seen ? -EIO : 0;
}

void pp_kafka_ack_failures(pp_kafka_t *k)
{
    k->produce_failed_seen = k->produce_failed;
    k->seen_dlq = k->failed_dlq;
    k->seen_alerts = k->failed_alerts;
}

void pp_kafka_failures(const pp_kafka_t *k, pp_kafka_failures_t *out)
{
    out->dlq = k->failed_dlq - k->seen_dlq;
    out->alerts = k->failed_alerts - k->seen_alerts;
    out->dlq_total = k->failed_dlq;
    out->alerts_total = k->failed_alerts;
}

static rd_kafka_topic_partition_list_t *tp_list(const pp_kafka_t *k, const pp_kafka_tp_t *tps, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, k->topics[tps[i].topic], tps[i].partition)->offset = tps[i].offset;
    return l;
}

int pp_kafka_seek(pp_kafka_t *k, const pp_kafka_tp_t *tps, int n)
{
    if (n == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = tp_list(k, tps, n);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(k->consumer, l, 10000);
    int rc = 0;
    if (e) {
        klog(k, 3, "kafka seek failed error=\"%s\"", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rc = -EIO;
    }
    for (int i = 0; rc == 0 && i < l->cnt; i++)
        if (l->elems[i].err) {
            klog(k, 3, "kafka seek failed topic=%s partition=%" PRId32 " error=%s", l->elems[i].topic,
                 l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
            rc = -EIO;
        }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int pp_kafka_committed(pp_kafka_t *k, pp_kafka_tp_t *tps, int n, int timeout_ms, bool *any)
{
    *any = false;
    if (n == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = tp_list(k, tps, n);
    rd_kafka_resp_err_t e = rd_kafka_committed(k->consumer, l, timeout_ms);
    if (e) {
        klog(k, 3, "kafka committed offsets unavailable error=%s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(l);
        return -EIO;
    }
    for (int i = 0; i < n; i++) {
        tps[i].offset = l->elems[i].offset >= 0 ? l->elems[i].offset : PP_KAFKA_COMMITTED;
        *any = *any || l->elems[i].offset >= 0;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return 0;
}

static struct held_q *held_find(pp_kafka_t *k, pp_topic_t topic, int32_t partition)
{
    for (size_t i = 0; i < k->n_held; i++)
        if (k->held[i].topic == topic && k->held[i].partition == partition)
            return &k->held[i];
    return NULL;
}

/* arr (of *cap elements of size bytes) with room for one more after its n:
 * arr itself, or a larger copy (*cap updated), or NULL (arr untouched). */
static void *room_for_one(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 32;
    void *p = realloc(arr, c * size);
    if (p != NULL)
        *cap = c;
    return p;
}

int pp_kafka_hold_back(pp_kafka_t *k, pp_topic_t topic, int32_t partition)
{
    if (held_find(k, topic, partition) != NULL)
        return 0;
    struct held_q *nh = room_for_one(k->held, &k->held_cap, k->n_held, sizeof *nh);
    if (nh == NULL)
        return -ENOMEM;
    k->held = nh;
    bool known = false;
    for (size_t i = 0; i < k->n_ever && !known; i++)
        known = k->ever[i].topic == topic && k->ever[i].partition == partition;
    if (!known) {
        struct ever_held *ne = room_for_one(k->ever, &k->ever_cap, k->n_ever, sizeof *ne);
        if (ne == NULL)
            return -ENOMEM;
        k->ever = ne;
        k->ever[k->n_ever++] = (struct ever_held){.topic = topic, .partition = partition};
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_partition(k->consumer, k->topics[topic], partition);
    if (q == NULL)
        return -EIO;
    rd_kafka_queue_forward(q, NULL); /* from now on its messages stay in q */
    k->held[k->n_held++] = (struct held_q){.topic = topic, .partition = partition, .q = q};
    return 0;
}

int pp_kafka_read_again(pp_kafka_t *k, pp_topic_t topic, int32_t partition)
{
    struct held_q *h = held_find(k, topic, partition);
    if (h == NULL)
        return 0;
    rd_kafka_queue_forward(h->q, k->consumer_q); /* what q holds goes first, in order */
    rd_kafka_queue_destroy(h->q);
    *h = k->held[--k->n_held];
    return 0;
}

void pp_kafka_hold_reset(pp_kafka_t *k)
{
    for (size_t i = 0; i < k->n_held; i++)
        rd_kafka_queue_destroy(k->held[i].q);
    k->n_held = 0;
}

/* Once the application has set a partition's forwarding, librdkafka leaves
 * it alone: a rebalance stops the partition (clearing the forwarding) and
 * starts it again without handing it to the consumer queue. So every
 * assigned partition once held back and not held now is handed over again
 * here (a no-op when it still is). */
void pp_kafka_hold_refresh(pp_kafka_t *k)
{
    for (size_t i = 0; i < k->n_ever; i++) {
        const struct ever_held *e = &k->ever[i];
        if (held_find(k, e->topic, e->partition) != NULL)
            continue;
        bool assigned = false;
        for (int j = 0; j < k->n_parts && !assigned; j++)
            assigned = k->parts[j] == e->partition;
        if (!assigned)
            continue;
        rd_kafka_queue_t *q = rd_kafka_queue_get_partition(k->consumer, k->topics[e->topic], e->partition);
        if (q != NULL) {
            rd_kafka_queue_forward(q, k->consumer_q);
            rd_kafka_queue_destroy(q);
        }
    }
}

static int set_paused(pp_kafka_t *k, bool pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->consumer, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -EIO;
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(k->consumer, l)
                                  : rd_kafka_resume_partitions(k->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    return e ? -EIO : 0;
}

int pp_kafka_pause(pp_kafka_t *k)
{
    return set_paused(k, true);
}

int pp_kafka_resume(pp_kafka_t *k)
{
    return set_paused(k, false);
}

int pp_kafka_assigned(const pp_kafka_t *k)
{
    return k->assigned;
}

int pp_kafka_partitions(const pp_kafka_t *k, int32_t *out, int cap)
{
    int n = k->n_parts < cap ? k->n_parts : cap;
    if (n > 0)
        memcpy(out, k->parts, (size_t)n * sizeof *out);
    return n;
}

int pp_kafka_lag(pp_kafka_t *k, pp_kafka_lag_t *out, int cap)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->consumer, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_position(k->consumer, l);
    int n = 0;
    for (int i = 0; i < l->cnt && n < cap; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        int t = topic_index(k, tp->topic);
        if (t < 0)
            continue;
        int64_t lo = -1, hi = -1;
        out[n].topic = (pp_topic_t)t;
        out[n].partition = tp->partition;
        out[n].lag = -1;
        out[n].position = tp->offset >= 0 ? tp->offset : -1;
        if (rd_kafka_get_watermark_offsets(k->consumer, tp->topic, tp->partition, &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0)
            out[n].lag = tp->offset >= 0 ? (hi - tp->offset > 0 ? hi - tp->offset : 0) : hi - lo;
        n++;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

void pp_kafka_close(pp_kafka_t *k)
{
    if (k == NULL)
        return;
    if (k->consumer) {
        pp_kafka_hold_reset(k);
        if (k->consumer_q)
            rd_kafka_queue_destroy(k->consumer_q);
        rd_kafka_consumer_close(k->consumer); /* revoke (flush hook) + final commit */
        rd_kafka_destroy(k->consumer);
    }
    if (k->producer) {
        rd_kafka_flush(k->producer, 10000);
        rd_kafka_destroy(k->producer);
    }
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(k->topics[t]);
    free(k->alerts_topic);
    free(k->dlq_topic);
    free(k->parts);
    free(k->held);
    free(k->ever);
    free(k);
}
