/*
 * pp_merge: event-time merge of the four input topics, per partition.
 *
 * A partner's events arrive on four topics (deals, referrals, engagements,
 * lifecycle) in the same partition number, and Kafka gives no order across
 * topics: one may be read days of event time ahead of another. The merge
 * holds consumed messages per (topic, partition) and releases, per
 * partition, the earliest head first, and only once every other topic of
 * that partition either has a message waiting, is at its end, or has been
 * idle for idle_ms. Each topic's own order is kept (offsets stay monotonic),
 * ties go to the lower topic index, so a partner's history is applied in the
 * same order however the topics were fetched: replay is deterministic.
 *
 * Pure data structure: payloads are opaque, time comes in as arguments.
 */
#ifndef PP_MERGE_H
#define PP_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"

typedef struct pp_merge pp_merge_t;

/* Merge for partitions 0..max_partitions-1. NULL on OOM. */
pp_merge_t *pp_merge_new(int max_partitions);
void pp_merge_free(pp_merge_t *m); /* NULL-safe; payloads are the caller's */

/* Queue a consumed message. time = event time; INT64_MIN for a message that
 * carries none (undecodable: released as soon as it is at the head).
 * now = the caller's monotonic ms. Returns 0 or -ENOMEM / -EINVAL. */
int pp_merge_push(pp_merge_t *m, pp_topic_t topic, int32_t partition, int64_t time, void *payload, int64_t now);

/* The consumer reached the end of (topic, partition). */
void pp_merge_at_end(pp_merge_t *m, pp_topic_t topic, int32_t partition, int64_t now);

/* (Re)start tracking a partition after assignment: not at end, idle from now. */
void pp_merge_assigned(pp_merge_t *m, int32_t partition, int64_t now);

/* Messages held for (topic, partition). */
size_t pp_merge_held(const pp_merge_t *m, pp_topic_t topic, int32_t partition);

/* Release the next message of `partition`, or NULL when it must wait. */
void *pp_merge_pop(pp_merge_t *m, int32_t partition, int64_t now, int64_t idle_ms, pp_topic_t *topic);

/*
 * Event time up to which `partition` has been released: the latest released
 * event time, or `caught_up_time` when every topic of the partition is empty
 * and at its end (nothing older can be pending). 0 = nothing yet.
 */
int64_t pp_merge_watermark(const pp_merge_t *m, int32_t partition, int64_t caught_up_time);

/*
 * The low watermark over `parts` (the replay clock for timers): the minimum
 * of each partition's latest released event time, skipping partitions that
 * are empty and at their end without ever releasing anything. Every event
 * at or before it has been released on every partition (per-topic order
 * aside), so a deadline at or before it can fire deterministically.
 * 0 when some partition has released nothing yet.
 */
int64_t pp_merge_low_watermark(const pp_merge_t *m, const int32_t *parts, int n);

/* Set the event time up to which `partition` counts as released (a restart
 * resuming where the last process's applied events ended; 0 = nothing). */
void pp_merge_set_watermark(pp_merge_t *m, int32_t partition, int64_t time);

/* Drop everything held (on revoke); free_fn(opaque, payload) for each. */
void pp_merge_clear(pp_merge_t *m, void (*free_fn)(void *opaque, void *payload), void *opaque);

#endif
