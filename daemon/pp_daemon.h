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
    uint64_t duplicates;               /* events skipped as already applied */
    uint64_t duplicates_by[2];         /* ...[0] re-delivered (offset), [1] published again (event_id) */
    uint64_t dlq_errors;               /* flushes refused: a DLQ copy not acknowledged */
    uint64_t alert_publish_errors;     /* alerts the alerts topic did not acknowledge */
    uint64_t resyncs;                  /* offsets of record re-read and sought */
    uint64_t rebuilds;                 /* state losses rebuilt (on_state_loss = replay) */
    uint64_t corrupt_states;           /* unreadable stored states moved aside */
    uint64_t dlq[PP_REJ_COUNT];        /* messages sent to the DLQ, by reason */
    uint64_t framings[PP_FRAMING_COUNT]; /* input messages read as plain protobuf, SR framed, JSON */
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
    uint64_t merge_holds;              /* topic partitions held back by the merge's flow control */
    uint64_t flush_batches_latency_us_max; /* slowest successful flush */
    int64_t first_apply_ms;            /* wall time of the first event applied, 0 = none */
    int64_t last_flush_ms;             /* wall time of the last successful flush */
} pp_daemon_stats_t;

/* Build the daemon from a loaded config (connects to Kafka and Redis).
 * NULL with a sentence in err on failure. cfg must outlive the daemon. */
pp_daemon_t *pp_daemon_new(const pp_config_t *cfg, char *err, size_t err_len);

/* Run until pp_daemon_request_stop; then final flush, commit, leave group.
 * Returns the process exit status: 0 on a clean stop; 1 if the final flush
 * failed (nothing lost: events not written are re-read on the next start);
 * 2 a partition number beyond the supported; 3 state loss (the store lost
 * partnerpulse's state, see [daemon] on_state_loss); 4 a stored state of a
 * newer layout. For 2 to 4 nothing more is written and the log says why. */
int pp_daemon_run(pp_daemon_t *d);

/* Async-signal-safe: ask the loop to stop. */
void pp_daemon_request_stop(void);

const pp_daemon_stats_t *pp_daemon_stats(const pp_daemon_t *d);

/* Close Kafka (final commit) and Redis, free everything. NULL-safe. */
void pp_daemon_free(pp_daemon_t *d);

#endif
