/*
 * pp_redis: the Redis store (hiredis, synchronous, pipelined).
 *
 * The only things the daemon asks of Redis: load the states of a set of
 * partners in one pipelined round trip, and write a batch of dirty partners
 * in one pipelined MULTI/EXEC (state blob with its applied offsets + the
 * public hash + the health leaderboard + its alerts), so a batch is either
 * wholly in Redis or not at all; and to page through the held-back alerts
 * of a partition. Layout: docs/redis.md. Knows nothing of Kafka.
 *
 * On any connection or protocol error the connection is dropped and the
 * next call reconnects; errors are returned, never fatal.
 */
#ifndef PP_REDIS_H
#define PP_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_engine.h"
#include "pp_partner.h"

typedef struct pp_redis pp_redis_t;

typedef struct pp_redis_opts {
    const char *host;      /* IP/hostname, or unix socket path if it starts with '/' */
    int port;
    const char *user;      /* ACL user or "" */
    const char *password;  /* "" = no AUTH */
    int db;
    const char *prefix;    /* key prefix, e.g. "pp:" */
    int timeout_ms;
} pp_redis_opts_t;

/* Create a store (connects lazily). Strings are copied. NULL on OOM. */
pp_redis_t *pp_redis_new(const pp_redis_opts_t *o);
void pp_redis_free(pp_redis_t *r);

/* The last error as a sentence (never contains the password). */
const char *pp_redis_error(const pp_redis_t *r);

/* PING. 0 or -EIO. */
int pp_redis_ping(pp_redis_t *r);

/*
 * Load the stored state of each sts[i] (matched by sts[i]->id) in one
 * pipelined round trip. A partner with stored state gets it copied into
 * *sts[i]; one without keeps its initial state. found[i] (may be NULL) says
 * which. Returns 0, -EIO (connection) or -EBADMSG (a stored blob is corrupt:
 * the error names the partner).
 */
int pp_redis_load(pp_redis_t *r, pp_partner_t *const *sts, size_t n, bool *found);

#define PP_SKIP_HEALTH 1u   /* its pp:health score is as stored */
#define PP_SKIP_DEADLINE 2u /* its deadline index entry is as stored */

/* What one flush does with one alert transition (bits). */
#define PP_REDIS_RECORD 1u  /* XADD it to the pp:alerts stream */
#define PP_REDIS_HOLD 2u    /* keep a copy: HSET pp:heldback:<p> alert_id Alert */
#define PP_REDIS_UNHOLD 4u  /* drop that copy: HDEL pp:heldback:<p> alert_id */

/* One alert of a flush. a->publish: also RPUSH it to pp:outbox:<p>. */
typedef struct pp_redis_alert {
    const pp_alert_t *a;
    unsigned ops;                /* PP_REDIS_* */
    const char *config_version;  /* the configuration that computed it; NULL = the batch's */
} pp_redis_alert_t;

/* What one flush writes, atomically. */
typedef struct pp_redis_batch {
    const pp_partner_t *const *sts;   /* dirty partners */
    size_t n;
    /* renders the partner's public hash fields to write: all, or only those
     * that changed; *skip may say that pp:health or the deadline entry did not */
    size_t (*fields)(void *opaque, const pp_partner_t *st, pp_field_t *out, size_t cap, unsigned *skip);
    void *opaque;
    const pp_redis_alert_t *alerts;   /* transitions of these partners since the last flush */
    size_t n_alerts;
    const char *config_version;
    long stream_maxlen;               /* cap of the pp:alerts stream (approximate) */
} pp_redis_batch_t;

/*
 * Send a batch as one MULTI/EXEC without waiting for the answer: per partner
 * the state blob (with its applied offsets), the public hash, its pp:health
 * score and its entry in the deadline index; per alert what its ops say
 * (an entry on the pp:alerts stream, its copy in or out of the partition's
 * held-back hash) and, if it is to be published, the Alert protobuf on the
 * partition's outbox list. *expect = the replies pp_redis_confirm must read
 * (0 for an empty batch). Several batches may be sent before they are
 * confirmed, in the same order. Returns 0 or -EIO (connection dropped).
 */
int pp_redis_send(pp_redis_t *r, const pp_redis_batch_t *b, size_t *expect);

/* Read the answers of the oldest unconfirmed batch. 0 once Redis acknowledged
 * its EXEC, else -EIO (nothing of it may be assumed written). */
int pp_redis_confirm(pp_redis_t *r, size_t expect);

/* Drop the connection with answers still owed (after a failure). */
void pp_redis_abandon(pp_redis_t *r);

/*
 * Publish what waits in partition's outbox: read up to max entries, hand each
 * to publish(), then confirm() (e.g. wait for Kafka acks); only when both
 * return 0 are the entries removed. Returns how many were published, or
 * -EIO (Redis) / -EAGAIN (publish/confirm failed; they stay for next time).
 */
int pp_redis_outbox_drain(pp_redis_t *r, int32_t partition, size_t max,
                          int (*publish)(void *opaque, const uint8_t *buf, size_t len),
                          int (*confirm)(void *opaque), void *opaque);

/*
 * One page of the held-back FIRINGs of `partition` (HSCAN pp:heldback:<p>,
 * about `count` entries): each(opaque, alert_id, its Alert protobuf) for
 * every entry; *cursor goes in (0 = from the start) and comes back (0 = the
 * scan is complete). An entry may come twice in one scan. Returns 0 or -EIO.
 */
int pp_redis_heldback_scan(pp_redis_t *r, int32_t partition, uint64_t *cursor, size_t count,
                           void (*each)(void *opaque, const char *alert_id, size_t id_len, const uint8_t *buf,
                                        size_t len),
                           void *opaque);

/* Partners of `partition` whose next deadline is at or before now_ms, in
 * deadline order from the offset-th (at most max), into ids[]; *n = how many
 * valid ids, *scanned = how many index entries were read. Returns 0 or -EIO. */
int pp_redis_due(pp_redis_t *r, int32_t partition, int64_t now_ms, size_t offset, size_t max,
                 char (*ids)[PP_ID_MAX + 1], size_t *n, size_t *scanned);

#endif
