/*
 * pp_daemon: the main loop that wires Kafka, the core and Redis.
 *
 *   poll a batch of messages -> decode/validate (bad ones to the DLQ)
 *   -> load missing partners from Redis (one pipelined round trip)
 *   -> apply each event to its partner in memory (skipping re-deliveries)
 *   -> every flush tick: write dirty partners to Redis in one MULTI/EXEC,
 *      then (and only then) store the Kafka offsets for commit.
 *
 * Single-threaded; signal handlers only set a flag (pp_daemon_request_stop).
 */
#ifndef PP_DAEMON_H
#define PP_DAEMON_H

#include <stdint.h>

#include "pp_config.h"
#include "pp_policy.h"

typedef struct pp_daemon pp_daemon_t;

/* Counters exposed for logs and metrics. */
typedef struct pp_daemon_stats {
    uint64_t consumed[PP_TOPIC_COUNT]; /* messages taken from each input topic */
    uint64_t applied;                  /* events applied to state */
    uint64_t duplicates;               /* re-deliveries skipped by state offset */
    uint64_t dlq[PP_REJ_COUNT];        /* messages sent to the DLQ, by reason */
    uint64_t flushes;                  /* successful Redis writes */
    uint64_t flushed_partners;         /* partner states written */
    uint64_t hash_fields_written;      /* public hash fields sent (only changed ones where known) */
    uint64_t flush_us_total;           /* time spent in successful flushes */
    uint64_t redis_errors;             /* failed loads or writes */
    uint64_t loads;                    /* partner states looked up in Redis */
    uint64_t alerts[PP_R_COUNT][2];    /* alert transitions by rule, [0] FIRING [1] RESOLVED */
    uint64_t alerts_published;         /* alerts acknowledged by Kafka */
    uint64_t alerts_suppressed;        /* recorded but not published (inhibited/snoozed) */
    uint64_t alerts_held_back;         /* recorded but not published: history (DESIGN §7) */
    uint64_t alerts_released;          /* held-back FIRINGs published once caught up */
    uint64_t timer_ticks;              /* partners ticked by deadlines */
    uint64_t flush_batches_latency_us_max; /* slowest successful flush */
    int64_t first_apply_ms;            /* wall time of the first event applied, 0 = none */
    int64_t last_flush_ms;             /* wall time of the last successful flush */
} pp_daemon_stats_t;

/* Build the daemon from a loaded config (connects to Kafka and Redis).
 * NULL with a sentence in err on failure. cfg must outlive the daemon. */
pp_daemon_t *pp_daemon_new(const pp_config_t *cfg, char *err, size_t err_len);

/* Run until pp_daemon_request_stop; then final flush, commit, leave group.
 * Returns 0 on a clean stop, -1 if the final flush failed (nothing lost:
 * uncommitted events are re-read on the next start). */
int pp_daemon_run(pp_daemon_t *d);

/* Async-signal-safe: ask the loop to stop. */
void pp_daemon_request_stop(void);

const pp_daemon_stats_t *pp_daemon_stats(const pp_daemon_t *d);

/* Close Kafka (final commit) and Redis, free everything. NULL-safe. */
void pp_daemon_free(pp_daemon_t *d);

#endif
