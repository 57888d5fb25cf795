/*
 * pp_flush: what the daemon writes to its store, and in which order.
 *
 * Between two flushes it collects the work to make durable: dirty partners
 * (in the cache), their alert transitions (pp_flush_keep), and the next
 * offset of every input (topic, partition) consumed (pp_flush_note_offset).
 * pp_flush_run then writes it through the store port (pp_store.h):
 *
 *   1. the dirty partners in chunks, each chunk one atomic write carrying the
 *      alerts of its partners and conditioned on the owner epochs of every
 *      partition it touches; up to FLUSH_INFLIGHT chunks are in flight;
 *   2. only once every chunk is acknowledged: the offsets of record, one
 *      more atomic write, so they never run ahead of the state they cover.
 *
 * A failed write commits nothing: the dirty partners stay dirty, the alerts
 * and the offsets stay pending, and what the snapshots said Redis holds is
 * forgotten (the next attempt rewrites every field group).
 *
 * Each partner's public hash is written by field group, and at the head of
 * the stream by field: a snapshot of what Redis holds is taken when a clean
 * partner turns dirty (pp_flush_before_change), and only what changed is sent.
 */
#ifndef PP_FLUSH_H
#define PP_FLUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_cache.h"
#include "pp_event.h"
#include "pp_policy.h"
#include "pp_store.h"

typedef struct pp_flush pp_flush_t;

/* One alert transition (or a release, or a held-back copy's removal) waiting
 * for the next flush. */
typedef struct pp_flush_alert {
    pp_alert_t a;              /* the transition; publish as finally decided */
    pp_partner_t *owner;       /* whose chunk carries it; NULL = the first chunk */
    unsigned ops;              /* PP_STORE_RECORD / HOLD / UNHOLD (PUBLISH follows a.publish) */
    uint8_t verdict;           /* enum pp_hist_verdict (AS_IS for a release) */
    bool released;             /* a held-back FIRING published now that its partition caught up */
    char config_version[24];   /* the configuration that computed it; "" = the current one */
} pp_flush_alert_t;

/* What the last successful pp_flush_run wrote. */
typedef struct pp_flush_result {
    const pp_flush_alert_t *alerts;   /* valid until the next pp_flush_keep */
    size_t n_alerts;
    const pp_store_offset_t *offsets; /* the offsets of record written */
    size_t n_offsets;
    size_t partners;                  /* partner states written */
    uint64_t fields;                  /* public hash fields written */
} pp_flush_result_t;

/* topics: the input topic names (PP_TOPIC_COUNT, borrowed). NULL on OOM. */
pp_flush_t *pp_flush_new(pp_store_t store, const pp_policyset_t *policy, const char *const *topics,
                         long stream_maxlen);
void pp_flush_free(pp_flush_t *f);

/* The store's marker, and the owner epoch of each partition of ours
 * (writes are conditioned on them). epoch 0 = not ours. */
void pp_flush_set_marker(pp_flush_t *f, const char *marker);
void pp_flush_set_epoch(pp_flush_t *f, int32_t partition, int64_t epoch);
int64_t pp_flush_epoch(const pp_flush_t *f, int32_t partition);

/* Call before changing st (then mark it dirty): if it is clean, note what the
 * store holds for it (only at the head of the stream: by_field). */
void pp_flush_before_change(pp_flush_t *f, pp_cache_t *cache, pp_partner_t *st, bool by_field);

/* A partner ticked by a timer whose deadline entry must be rewritten even if
 * its value did not move (the index was out of date). */
void pp_flush_rewrite_deadline(pp_flush_t *f, const pp_partner_t *st);

/* After an event changed st (and st is marked dirty): its health trend's
 * point for the day of its evaluation clock is now its health (the last
 * value of that day wins). Timer ticks add no point: where they land
 * depends on batching, and the trend must not (the next event's day shows
 * their effect; the hash shows today's). */
void pp_flush_trend_note(pp_flush_t *f, const pp_partner_t *st);

/* Trend points are held in a bounded buffer: when it is full, flush. */
bool pp_flush_trend_full(const pp_flush_t *f);

/* n more alert entries for the caller to fill. */
pp_flush_alert_t *pp_flush_keep(pp_flush_t *f, size_t n);
size_t pp_flush_kept(const pp_flush_t *f);

/* Everything before offset + 1 of (topic, partition) is applied. */
void pp_flush_note_offset(pp_flush_t *f, pp_topic_t topic, int32_t partition, int64_t offset);
bool pp_flush_pending(const pp_flush_t *f, const pp_cache_t *cache);

/* The latest event time applied on `partition`: kept with its offsets of
 * record (PP_WATERMARK_FIELD) by the next flush. */
void pp_flush_note_watermark(pp_flush_t *f, int32_t partition, int64_t ms);

/* Write it all (see above). 0, or the store's error (-EIO, -ESTALE, -EPERM). */
int pp_flush_run(pp_flush_t *f, pp_cache_t *cache, pp_flush_result_t *res);

/* Forget everything pending (rebalance, resync): the kept alerts, the
 * offsets, the snapshots. The caller drops the cached partners. */
void pp_flush_drop(pp_flush_t *f);

#endif
