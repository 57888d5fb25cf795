/*
 * pp_redis: the store (pp_store.h) on Redis, with hiredis: synchronous,
 * pipelined. Layout: docs/redis.md. Knows nothing of Kafka or of the daemon.
 *
 * Every write is one EVAL of a fixed Lua script: it checks the marker and
 * the owner epochs it is given and, only if all match, runs the write's
 * commands (state blobs, public hashes, leaderboard, deadline index, alerts
 * stream, held-back copies, outboxes, offsets of record). A script runs
 * atomically and is replicated and persisted as one transaction, so a write
 * is wholly in Redis or not at all, and a fenced or stale writer changes
 * nothing.
 *
 * On a new connection the server's run_id is compared with the one last
 * identified: a restarted, restored or failed-over Redis answers -ESTALE
 * until the caller identifies it again (pp_store_vt.identify).
 *
 * On any connection or protocol error the connection is dropped and the next
 * call reconnects; errors are returned, never fatal.
 */
#ifndef PP_REDIS_H
#define PP_REDIS_H

#include "pp_store.h"

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

/* PING. 0 or -EIO. */
int pp_redis_ping(pp_redis_t *r);

/* The store's functions; their first argument is a pp_redis_t. */
extern const pp_store_vt pp_redis_vt;

#endif
