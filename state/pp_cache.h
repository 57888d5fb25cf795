/*
 * pp_cache: the daemon's in-memory partner states, keyed by partner_id, with
 * the set of partners changed since the last flush ("dirty").
 *
 * Open addressing with linear probing; one allocation per cached partner,
 * none per event. Pure data structure: no I/O.
 */
#ifndef PP_CACHE_H
#define PP_CACHE_H

#include <stddef.h>

#include "pp_partner.h"

typedef struct pp_cache pp_cache_t;

/* New empty cache, or NULL when out of memory. */
pp_cache_t *pp_cache_new(void);

/* Free the cache and every state in it. NULL-safe. */
void pp_cache_free(pp_cache_t *c);

/* The cached state of partner id, or NULL. The pointer stays valid until the
 * partner is evicted or dropped. */
pp_partner_t *pp_cache_find(pp_cache_t *c, const char *id);

/* pp_cache_find() of n ids at once: out[i] = the state of ids[i] or NULL.
 * The lookups are software-pipelined (each id's table slot and state are
 * asked for several ids ahead), so the memory latency of a cache of
 * hundreds of megabytes overlaps instead of stalling once per id. */
void pp_cache_find_many(pp_cache_t *c, const char *const *ids, size_t n, pp_partner_t **out);

/* Ask the CPU for the cache's own bookkeeping of a cached state (its dirty
 * mark), which pp_cache_mark_dirty() writes: a caller prefetching a batch
 * ahead calls it with pp_engine_prefetch(). */
static inline void pp_cache_prefetch(const pp_partner_t *st)
{
    __builtin_prefetch((const char *)(st + 1), 1, 3); /* the entry's fields follow the state */
}

/* Copy *st into the cache (replacing any state of the same id) and return the
 * cached copy, or NULL when out of memory. The copy starts clean. */
pp_partner_t *pp_cache_insert(pp_cache_t *c, const pp_partner_t *st);

/* Mark a cached state as changed since the last flush (idempotent). */
void pp_cache_mark_dirty(pp_cache_t *c, pp_partner_t *st);

/* The dirty states, in the order they became dirty. Borrowed; valid until the
 * next call that changes the cache. */
pp_partner_t *const *pp_cache_dirty(const pp_cache_t *c, size_t *n);

#define PP_FIELD_GROUPS 10 /* the public hash is rewritten in groups of fields */

/* Per cached state: a hash of each field group as last written to Redis
 * (0 = unknown: write it). Memory only, never in the blob. */
uint32_t *pp_cache_field_hashes(pp_partner_t *st);

/* Position of a dirty cached state in the pp_cache_dirty() list. */
size_t pp_cache_dirty_pos(const pp_partner_t *st);

/* Mark every state clean (after a flush Redis acknowledged). */
void pp_cache_clear_dirty(pp_cache_t *c);

/* Number of cached partners. */
size_t pp_cache_count(const pp_cache_t *c);

/* Number of dirty partners. */
size_t pp_cache_dirty_count(const pp_cache_t *c);

/* Forget one clean partner (a placeholder whose load failed). No-op if it
 * is unknown or dirty. */
void pp_cache_remove(pp_cache_t *c, const char *id);

/* Evict clean partners until at most max remain (dirty ones are never
 * evicted). Returns how many were evicted. */
size_t pp_cache_evict_clean(pp_cache_t *c, size_t max);

/* Drop every state (on partition revoke, after the final flush). */
void pp_cache_drop_all(pp_cache_t *c);

#endif
