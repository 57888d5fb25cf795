/*
 * pp_notify_track: at-least-once bookkeeping of `partnerpulse notify`.
 * Each consumed alert becomes a record counting the destinations that have
 * not acknowledged it yet; per partition the records form a FIFO in offset
 * order, and the offset to commit is one past the longest prefix whose
 * records all reached zero. So an offset is committed only once every
 * destination the alert was routed to (and every alert before it on the
 * partition) answered 2xx.
 *
 * Threads: everything but pp_notify_track_done() is for the consumer thread
 * only; pp_notify_track_done() may run in any thread (an atomic decrement).
 * No I/O, no clock.
 */
#ifndef PP_NOTIFY_TRACK_H
#define PP_NOTIFY_TRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp_notify_record pp_notify_record_t;
typedef struct pp_notify_track pp_notify_track_t;

/* NULL when out of memory. */
pp_notify_track_t *pp_notify_track_new(void);

/* Frees every record: only once no thread can call pp_notify_track_done()
 * any more. NULL-safe. */
void pp_notify_track_free(pp_notify_track_t *t);

/*
 * Track message (partition, offset), routed to n destinations (0 = done at
 * once). Offsets of one partition must come in increasing order. The record
 * stays owned by t; hand it to each of the n destinations, each calls
 * pp_notify_track_done() once. NULL when out of memory.
 */
pp_notify_record_t *pp_notify_track_add(pp_notify_track_t *t, int32_t partition, int64_t offset, int n);

/* One destination acknowledged r. Any thread; r must not be used after. */
void pp_notify_track_done(pp_notify_record_t *r);

/* The offset to commit for partition (one past its last fully delivered
 * message of the prefix), or -1 if it has not moved since the last call. */
int64_t pp_notify_track_committable(pp_notify_track_t *t, int32_t partition);

/* The partition was revoked: forget its records (those still referenced by
 * destination queues are freed once done; their messages will be delivered
 * by the partition's next owner too: at least once). */
void pp_notify_track_drop(pp_notify_track_t *t, int32_t partition);

/* Records held (delivered or not, not yet committable), including dropped
 * ones still referenced. Frees dropped records that are done. */
size_t pp_notify_track_inflight(pp_notify_track_t *t);

#endif
