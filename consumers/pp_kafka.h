/*
 * pp_kafka: the Kafka adapter. A consumer-group member on the four input
 * topics plus a producer for the DLQ and alerts.
 *
 * Offsets are never committed by themselves: the daemon stores the next
 * offset of a partition (pp_kafka_store_offset) only after Redis has
 * acknowledged the write containing its effect; librdkafka's auto-commit
 * then commits stored offsets only. On revoke, the daemon's hook flushes
 * first and the adapter commits synchronously before letting go.
 *
 * This adapter knows nothing of Redis; daemon/ wires the two.
 */
#ifndef PP_KAFKA_H
#define PP_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"

typedef struct pp_kafka pp_kafka_t;

#define PP_KAFKA_BEGINNING (-2)    /* librdkafka's RD_KAFKA_OFFSET_BEGINNING */
#define PP_KAFKA_COMMITTED (-1001) /* librdkafka's RD_KAFKA_OFFSET_INVALID: the committed offset */
#define PP_KAFKA_PAUSE 1

/* One input topic partition and an offset. */
typedef struct pp_kafka_tp {
    pp_topic_t topic;
    int32_t partition;
    int64_t offset;
} pp_kafka_tp_t;

/* What the daemon plugs into the adapter. */
typedef struct pp_kafka_hooks {
    void *opaque;
    /* Partitions are being revoked: flush all applied work now (offsets
     * stored by the flush are committed right after). */
    void (*on_revoke)(void *opaque);
    /* Partitions are being assigned: tps[0..n) with offset PP_KAFKA_COMMITTED;
     * the hook may set where each starts. Returns 0, or PP_KAFKA_PAUSE to
     * have them all paused once assigned (the daemon resumes them). */
    int (*on_assign)(void *opaque, pp_kafka_tp_t *tps, int n);
    /* A log line from the adapter or librdkafka: level is syslog-like (3 err, 4 warn, 6 info). */
    void (*log)(void *opaque, int level, const char *msg);
} pp_kafka_hooks_t;

/* Adapter configuration. conf_keys/conf_values are passed to librdkafka as is
 * (both consumer and producer), so TLS/SASL and tuning work as documented by
 * librdkafka. Strings are borrowed for the duration of pp_kafka_new only. */
typedef struct pp_kafka_conf {
    const char *const *conf_keys;
    const char *const *conf_values;
    size_t n_conf;
    const char *topics[PP_TOPIC_COUNT]; /* input topic names */
    const char *alerts_topic;
    const char *dlq_topic;
    size_t dlq_copy_max;       /* larger rejected messages go to the DLQ as metadata records */
} pp_kafka_conf_t;

/* One consumed message, borrowed from librdkafka until pp_kafka_release. */
typedef struct pp_kmsg {
    pp_topic_t topic;          /* which input topic */
    const char *topic_name;
    int32_t partition;
    int64_t offset;
    const uint8_t *payload;
    size_t len;
    const char *key;           /* not NUL-terminated; NULL if none */
    size_t key_len;
    void *handle;              /* the rd_kafka_message_t */
} pp_kmsg_t;

/* Create the consumer (subscribed to the input topics) and the producer.
 * Returns NULL with a sentence in err on failure (bad config key or value,
 * missing group.id...). */
pp_kafka_t *pp_kafka_new(const pp_kafka_conf_t *conf, const pp_kafka_hooks_t *hooks, char *err,
                         size_t err_len);

/* Wait up to timeout_ms for a message. Returns 1 and fills *m; 2 when the
 * consumer reached the end of (m->topic, m->partition) (no payload, nothing
 * to release); 0 when none (or only an error/event that was handled and
 * logged). */
int pp_kafka_poll(pp_kafka_t *k, int timeout_ms, pp_kmsg_t *m);

/* Give a message back to librdkafka: its payload and key are gone, its
 * topic, partition and offset stay. NULL-safe on m->handle. */
void pp_kafka_release(pp_kmsg_t *m);

/* Record that everything before next_offset of (topic, partition) is durable. */
int pp_kafka_store_offset(pp_kafka_t *k, pp_topic_t topic, int32_t partition, int64_t next_offset);

/* Send a rejected message to the DLQ with its original bytes, key and headers
 * pp-reason, pp-error, pp-source-topic, pp-source-partition, pp-source-offset.
 * A message too large to copy (over dlq_copy_max bytes, or refused by the
 * producer or the broker for its size before) goes as a metadata record
 * instead: its first KiB, with headers pp-original-size, pp-sha256 and
 * pp-truncated. Returns 0 or a negative error (queue full...). */
int pp_kafka_dlq(pp_kafka_t *k, const pp_kmsg_t *m, const char *reason, const char *why);

/* Produce an already-serialised alert with key partner_id. */
int pp_kafka_produce_alert(pp_kafka_t *k, const char *partner_id, const uint8_t *buf, size_t len);

/* Wait until every produced message is acknowledged by the broker (bounded).
 * Returns 0, or -ETIMEDOUT, or -EIO when a delivery failed since the last
 * pp_kafka_ack_failures() (sticky: a lost message is never silently passed). */
int pp_kafka_flush_producer(pp_kafka_t *k, int timeout_ms);

/* Failed deliveries since the last pp_kafka_ack_failures, by kind. */
typedef struct pp_kafka_failures {
    uint64_t dlq, alerts;       /* since the last acknowledgement */
    uint64_t dlq_total, alerts_total; /* since start */
} pp_kafka_failures_t;
void pp_kafka_failures(const pp_kafka_t *k, pp_kafka_failures_t *out);

/* The caller has dealt with the failed deliveries (alerts stay in their
 * outbox and are published again; DLQ copies are re-made from a re-read). */
void pp_kafka_ack_failures(pp_kafka_t *k);

/* Start (topic, partition) over at the given offsets (PP_KAFKA_BEGINNING or
 * an offset): what was fetched before is discarded. 0 or -EIO. */
int pp_kafka_seek(pp_kafka_t *k, const pp_kafka_tp_t *tps, int n);

/* The group's committed offsets of tps (PP_KAFKA_COMMITTED where none);
 * *any = some partition has one. 0 or -EIO (broker unreachable). */
int pp_kafka_committed(pp_kafka_t *k, pp_kafka_tp_t *tps, int n, int timeout_ms, bool *any);

/* Flow control of one input topic partition, with nothing dropped: its
 * messages stop coming out of pp_kafka_poll and wait in librdkafka's own
 * queue for that partition, which stops fetching once it holds
 * queued.min.messages or queued.max.messages.kbytes, until
 * pp_kafka_read_again hands them over in order. (Pausing it instead makes
 * librdkafka drop what it prefetched and fetch it again on resume.) */
int pp_kafka_hold_back(pp_kafka_t *k, pp_topic_t topic, int32_t partition);
int pp_kafka_read_again(pp_kafka_t *k, pp_topic_t topic, int32_t partition);

/* Forget the held-back partitions (an assignment: librdkafka hands every
 * assigned partition to the consumer again when it starts fetching it). */
void pp_kafka_hold_reset(pp_kafka_t *k);

/* Hand every assigned partition that was once held back, and is not now,
 * to the consumer queue again: librdkafka does not after a rebalance once
 * the application has set a partition's forwarding. Call it regularly (it
 * is cheap) and after each assignment. */
void pp_kafka_hold_refresh(pp_kafka_t *k);

/* Pause / resume fetching on every assigned partition (Redis outage). */
int pp_kafka_pause(pp_kafka_t *k);
int pp_kafka_resume(pp_kafka_t *k);

/* Number of currently assigned partitions (all topics). */
int pp_kafka_assigned(const pp_kafka_t *k);

/* Distinct partition numbers currently assigned (over all input topics,
 * ascending) into out[cap]; returns how many. A partner lives in the same
 * partition number of every input topic (same key, same partition count). */
int pp_kafka_partitions(const pp_kafka_t *k, int32_t *out, int cap);

/* Consumer lag of one assigned input partition. */
typedef struct pp_kafka_lag {
    pp_topic_t topic;
    int32_t partition;
    int64_t lag;       /* high watermark - position; -1 when not known yet; the whole
                          partition (high - low) while nothing was consumed since assignment */
    int64_t position;  /* next offset to consume; -1 while nothing was consumed since assignment */
} pp_kafka_lag_t;

/* Lag of every assigned input partition (from librdkafka's cached
 * watermarks: no broker round trip). Returns how many were written. */
int pp_kafka_lag(pp_kafka_t *k, pp_kafka_lag_t *out, int cap);

/* Leave the group (committing stored offsets) and free everything. NULL-safe. */
void pp_kafka_close(pp_kafka_t *k);

#endif
