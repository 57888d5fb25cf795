/*
 * pp_store: the port through which the daemon keeps its state (SQLite's VFS
 * habit, STYLE.md). daemon/pp_redis.c implements it on Redis; the unit tests
 * implement it in memory with faults injected. A store renders nothing and
 * calls nothing of the daemon: everything it writes comes to it as bytes.
 *
 * What a store promises (DESIGN §9):
 *   - a write (pp_store_write_t) is atomic, and refused as a whole when one
 *     of its partitions' owner epochs is not the one given (fencing) or the
 *     store's marker is not the one given (it lost or replaced its data);
 *   - writes sent on one store are applied in the order sent;
 *   - offsets of record are whatever the last acknowledged offsets write
 *     said; the caller writes them only after the state they cover.
 *
 * Return codes of every call: 0, -EIO (connection or server error: retry
 * later, nothing of an unconfirmed write may be assumed), -ESTALE (the store
 * is not the one this process knew: a restart, a restore, a failover, or its
 * marker changed; resynchronise, see pp_offsets.h), -EPERM (fenced: a
 * partition is owned by someone else now).
 */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_alert.h"
#include "pp_partner.h"

#define PP_PARTITIONS_MAX 4096  /* input partition numbers supported: 0 .. 4095 per topic */
#define PP_STORE_MARKER_MAX 64  /* bytes of a marker value, with its NUL */
#define PP_STORE_RUNID_MAX 48   /* bytes of a server instance id, with its NUL */

/* One point of a partner's daily health trend: the last health of an
 * event-time day (days since 1970-01-01 UTC). */
typedef struct pp_store_point {
    int32_t day;
    float health;
} pp_store_point_t;

#define PP_TREND_DAYS 180 /* days of health trend kept per partner */

/* One partner of a write, rendered by the caller. */
typedef struct pp_store_partner {
    const char *id;
    int32_t partition;          /* its home partition (deadline index) */
    const uint8_t *blob;        /* the encoded state (pp_partner_encode) */
    size_t blob_len;
    const char *const *names;   /* public hash fields to set (only those that changed) */
    const char *const *values;
    size_t n_fields;
    bool set_health;            /* write its leaderboard score */
    double health;
    bool set_deadline;          /* write its deadline index entry (0 = remove it) */
    int64_t deadline_ms;
    /* its health trend: points replace what the store holds from trend[0].day
     * on (days ascending, the last one the current day); days older than
     * PP_TREND_DAYS before the last are dropped. n_trend 0 = leave it. */
    const pp_store_point_t *trend;
    size_t n_trend;
} pp_store_partner_t;

/* What one write does with one alert transition (bits). */
#define PP_STORE_RECORD 1u  /* add it to the alerts stream */
#define PP_STORE_HOLD 2u    /* keep a copy in the partition's held-back hash */
#define PP_STORE_UNHOLD 4u  /* drop that copy */
#define PP_STORE_PUBLISH 8u /* append it to the partition's outbox */

typedef struct pp_store_alert {
    const pp_alert_t *a;        /* a->partition says whose hash / outbox */
    unsigned ops;               /* PP_STORE_* */
    const char *config_version; /* the configuration that computed it */
    const uint8_t *packed;      /* the Alert protobuf (for HOLD and PUBLISH) */
    size_t packed_len;
    const char *open_json;      /* RECORD of a FIRING: the partner's open flag
                                 * (a JSON object) to keep until its RESOLVED */
} pp_store_alert_t;

/* The pseudo-topic under which a partition's event-time watermark is kept
 * with its offsets of record (the latest event time applied on it): a
 * replay restarted at its end resumes its timers there. */
#define PP_WATERMARK_FIELD "watermark_ms"

/* Offsets of record of one input (topic, partition); topic may be
 * PP_WATERMARK_FIELD, next_offset then the partition's watermark. */
typedef struct pp_store_offset {
    const char *topic;
    int32_t partition;
    int64_t next_offset;        /* everything before it is in the store */
} pp_store_offset_t;

/* An owner epoch a write is conditioned on. */
typedef struct pp_store_epoch {
    int32_t partition;
    int64_t epoch;
} pp_store_epoch_t;

/* One atomic write. */
typedef struct pp_store_write {
    const pp_store_partner_t *partners;
    size_t n_partners;
    const pp_store_alert_t *alerts;
    size_t n_alerts;
    const pp_store_offset_t *offsets;
    size_t n_offsets;
    const pp_store_epoch_t *epochs;   /* every partition the write touches */
    size_t n_epochs;
    const char *marker;               /* the store's marker as this process knows it */
    long stream_maxlen;               /* cap of the alerts stream (approximate) */
} pp_store_write_t;

/* What pp_store_vt.load found for one partner. */
enum pp_store_found { PP_FOUND_NONE, PP_FOUND_OK, PP_FOUND_CORRUPT, PP_FOUND_NEWER };

/* Who the store is. */
typedef struct pp_store_identity {
    char run_id[PP_STORE_RUNID_MAX];    /* the server instance (changes on restart) */
    char marker[PP_STORE_MARKER_MAX];   /* "" = no marker */
    bool has_data;                      /* holds partner state (a store of a version before markers) */
} pp_store_identity_t;

typedef struct pp_store_vt {
    /* The last error as a sentence (never a secret). */
    const char *(*error)(void *s);
    /* Who the store is now; also makes it the one this process knows
     * (-ESTALE is no longer returned for it). */
    int (*identify)(void *s, pp_store_identity_t *out);
    /* Write `marker` if the store has none; out = the marker it now has. */
    int (*create_marker)(void *s, const char *marker, char out[PP_STORE_MARKER_MAX]);
    /* Claim partitions: a new owner epoch for each (older owners are fenced). */
    int (*claim)(void *s, const int32_t *partitions, size_t n, int64_t *epochs);
    /* Offsets of record of (topics[t], partition) into out[t] (-1 = none). */
    int (*read_offsets)(void *s, int32_t partition, const char *const *topics, size_t n_topics, int64_t *out);
    /* Load states (matched by sts[i]->id) in one round trip; found[i] says what. */
    int (*load)(void *s, pp_partner_t *const *sts, size_t n, enum pp_store_found *found);
    /* Move a partner's unreadable state aside (kept under another key). */
    int (*quarantine)(void *s, const char *id);
    /* Send one write without waiting; *ticket = what confirm needs. Writes
     * sent before their confirmation are applied in order. *w and what it
     * points to are borrowed for the call only (the store copies them). */
    int (*send)(void *s, const pp_store_write_t *w, size_t *ticket);
    /* Wait for the oldest unconfirmed write: 0 = applied. */
    int (*confirm)(void *s, size_t ticket);
    /* Forget unconfirmed writes (after a failure; the connection is dropped). */
    void (*abandon)(void *s);
    /* Partners of `partition` due at or before now_ms (see pp_redis_due). */
    int (*due)(void *s, int32_t partition, int64_t now_ms, size_t offset, size_t max, char (*ids)[PP_ID_MAX + 1],
               size_t *n, size_t *scanned);
    /* Up to max entries of the partition's outbox, oldest first: each(). */
    int (*outbox_read)(void *s, int32_t partition, size_t max,
                       int (*each)(void *opaque, const uint8_t *buf, size_t len), void *opaque, size_t *n,
                       size_t *remaining);
    /* Remove the first n entries of the outbox if `epoch` still owns it. */
    int (*outbox_trim)(void *s, int32_t partition, int64_t epoch, size_t n);
    /* One page of held-back FIRINGs (see pp_redis_heldback_scan). */
    int (*heldback_scan)(void *s, int32_t partition, uint64_t *cursor, size_t count,
                         void (*each)(void *opaque, const char *alert_id, size_t id_len, const uint8_t *buf,
                                      size_t len),
                         void *opaque);
} pp_store_vt;

/* A store: its functions and its instance. */
typedef struct pp_store {
    const pp_store_vt *vt;
    void *s;
} pp_store_t;

#endif
