/*
 * pp_web_index: the dashboard's in-memory leaderboard index.
 *
 * Every partner's leaderboard row (id, display_name, health, rag,
 * confidence, flags, owner, partner_type, tier, last_event_ms,
 * updated_at_ms) in memory, so that /api/leaderboard can filter, search,
 * sort and page 100 000 partners without asking Redis. Built from
 * `ZRANGE pp:health 0 -1 WITHSCORES` and pipelined HMGETs of
 * `pp:partner:{<id>}`; kept fresh by
 *   - pp_web_index_poll(): the leaderboard's scores diffed against the last
 *     ones seen, the partners whose score changed (and new ones) re-read;
 *   - pp_web_index_reread(): given partners re-read (every new pp:alerts
 *     entry re-reads its partner: flags change with alerts);
 *   - pp_web_index_rebuild(): everything re-read into a new table that
 *     replaces the old one (profile changes without a score change).
 * Whenever a known partner's health, rag or flags change, on_change is
 * called with its row (the SSE "health" event).
 *
 * Threads: any number of readers (queries) and writers; one rwlock. A
 * writer reads Redis without the lock and takes it only to apply. Callers
 * pass their own redisContext (not shared between threads). on_change is
 * called with the index write-locked: it must not call back into the index.
 *
 * Library code: nothing is logged; errors are sentences in err.
 */
#ifndef PP_WEB_INDEX_H
#define PP_WEB_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#define PP_WEB_INDEX_BATCH 1000 /* HMGETs per pipelined round trip */
#define PP_WEB_QUERY_TEXT_MAX 128 /* longest q / filter value */

typedef struct pp_web_index pp_web_index_t;

/* Called with a new row object (borrowed: do not keep it, json_incref to). */
typedef void (*pp_web_change_fn)(void *ctx, const json_t *row);

/* Sort columns of /api/leaderboard (docs/dashboard.md). */
typedef enum {
    PP_SORT_HEALTH, PP_SORT_RAG, PP_SORT_CONFIDENCE, PP_SORT_FLAGS, PP_SORT_OWNER, PP_SORT_TYPE,
    PP_SORT_TIER, PP_SORT_LAST_EVENT, PP_SORT_DISPLAY_NAME, PP_SORT_ID, PP_SORT_COUNT
} pp_web_sort_t;

/* The column's name in the API ("health", "partner_type", ...). */
const char *pp_web_sort_name(pp_web_sort_t s);
/* The column named name; -1 if none. */
int pp_web_sort_of(const char *name);

typedef struct pp_web_query {
    size_t offset;
    size_t limit;
    pp_web_sort_t sort;
    bool desc;
    /* NULL or "" = no filter; at most PP_WEB_QUERY_TEXT_MAX bytes each */
    const char *q;     /* case-insensitive substring of id or display_name */
    const char *owner; /* exact matches */
    const char *type;
    const char *tier;
    const char *rag;
    const char *flag;  /* the rule is among the flags */
} pp_web_query_t;

/* prefix = the [redis] prefix (copied). NULL when out of memory. */
pp_web_index_t *pp_web_index_new(const char *prefix, pp_web_change_fn on_change, void *ctx);
void pp_web_index_free(pp_web_index_t *ix); /* NULL-safe */

/* Read every partner into a new table and swap it in; the first call makes
 * the index ready. 0, or -EIO with a sentence in err (the old table stays). */
int pp_web_index_rebuild(pp_web_index_t *ix, redisContext *c, char *err, size_t err_len);

/* Diff the leaderboard's scores and re-read what moved (ready index only;
 * else a no-op). *ret_changed (OUT, may be NULL): partners re-read.
 * 0 or -EIO with err. */
int pp_web_index_poll(pp_web_index_t *ix, redisContext *c, size_t *ret_changed, char *err, size_t err_len);

/* Re-read the given known partners (unknown ids are skipped: the next poll
 * adds them). 0 or -EIO with err. */
int pp_web_index_reread(pp_web_index_t *ix, redisContext *c, const char *const *ids, size_t n, char *err,
                        size_t err_len);

bool pp_web_index_ready(pp_web_index_t *ix);

/* Partners indexed, and the bytes the index holds (rows, strings, id map). */
void pp_web_index_stats(pp_web_index_t *ix, size_t *ret_partners, size_t *ret_bytes);

/*
 * The /api/leaderboard answer for q from the index (docs/dashboard.md):
 * a new object, or NULL when the index is not ready (or out of memory).
 */
json_t *pp_web_index_query(pp_web_index_t *ix, const pp_web_query_t *q);

/*
 * The default view (sort health, no filter) straight from Redis, for use
 * before the index is ready: ZCARD, ZRANGE, HMGET. A new object (with
 * "indexed": false and empty facets), or NULL with a sentence in err.
 */
json_t *pp_web_leaderboard_direct(redisContext *c, const char *prefix, size_t offset, size_t limit, bool desc,
                                  char *err, size_t err_len);

#endif
