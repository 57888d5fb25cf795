/*
 * pp_cache: partner_id -> state map with a dirty list (see pp_cache.h).
 */
#define _DEFAULT_SOURCE /* madvise */
#include "pp_cache.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct entry {
    pp_partner_t st;   /* first member: an entry pointer is a state pointer; the rest
                        * starts right after it (pp_cache_prefetch relies on it) */
    uint32_t dirty_pos; /* index in the dirty list while dirty */
    uint32_t field_hash[PP_FIELD_GROUPS]; /* public hash groups as last written */
    bool dirty;
} entry_t;

/* The hash lives in the table, not in the 4 KiB entry: probing a chain
 * touches one cache line per slot instead of one state per slot. */
typedef struct slot {
    uint64_t hash;
    entry_t *e;        /* NULL = empty */
} slot_t;

/* Entries come from 2 MiB slabs that the kernel is asked to back with huge
 * pages (madvise): a cache of 100 000 partners spans 400 MB, and with 4 KiB
 * pages nearly every state touched costs a TLB miss and a page-table walk on
 * top of its cache misses. A slab starts with this header; freed entries go
 * to a free list and are reused before a new slab is taken. */
#define SLAB_BYTES ((size_t)2 << 20)
#define SLAB_HEAD 64 /* header, padded to a cache line */

typedef struct slab {
    struct slab *next;
} slab_t;

typedef union free_entry {
    entry_t e;
    union free_entry *next;
} free_entry_t;

struct pp_cache {
    slab_t *slabs;     /* every slab taken, newest first */
    char *slab_next;   /* unused room of the newest slab */
    size_t slab_left;  /* entries that still fit there */
    free_entry_t *free_list;
    slot_t *slots;     /* open-addressing table */
    size_t cap;        /* power of two */
    size_t count;
    entry_t **dirty;   /* dirty entries in order */
    size_t n_dirty;
    size_t dirty_cap;
    size_t evict_cursor; /* where the clock-style eviction scan resumes */
};

pp_cache_t *pp_cache_new(void)
{
    pp_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

/* A slab: SLAB_BYTES mapped on a SLAB_BYTES boundary (what a huge page
 * needs), and nothing else. aligned_alloc() would also keep a header page
 * resident in front of every slab. */
static slab_t *slab_map(void)
{
    size_t span = 2 * SLAB_BYTES;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t head = (SLAB_BYTES - (uintptr_t)p % SLAB_BYTES) % SLAB_BYTES;
    if (head > 0)
        munmap(p, head);
    munmap(p + head + SLAB_BYTES, span - head - SLAB_BYTES);
    p += head;
    (void)madvise(p, SLAB_BYTES, MADV_HUGEPAGE); /* a hint: THP off or unsupported is fine */
    return (slab_t *)(void *)p;
}

static entry_t *entry_alloc(pp_cache_t *c)
{
    free_entry_t *f = c->free_list;
    if (f != NULL) {
        UNPOISON(f, sizeof *f);
        c->free_list = f->next;
        return &f->e;
    }
    if (c->slab_left == 0) {
        slab_t *s = slab_map();
        if (s == NULL)
            return NULL;
        s->next = c->slabs;
        c->slabs = s;
        c->slab_next = (char *)s + SLAB_HEAD;
        c->slab_left = (SLAB_BYTES - SLAB_HEAD) / sizeof(free_entry_t);
    }
    free_entry_t *e = (free_entry_t *)(void *)c->slab_next;
    c->slab_next += sizeof(free_entry_t);
    c->slab_left--;
    return &e->e;
}

static void entry_free(pp_cache_t *c, entry_t *e)
{
    free_entry_t *f = (free_entry_t *)e;
    f->next = c->free_list;
    c->free_list = f;
    POISON(f, sizeof *f); /* ASan builds: a use after eviction is reported */
}

/* Give every slab back (every entry is gone). */
static void slabs_free(pp_cache_t *c)
{
    while (c->slabs != NULL) {
        slab_t *s = c->slabs;
        c->slabs = s->next;
        UNPOISON(s, SLAB_BYTES);
        munmap(s, SLAB_BYTES);
    }
    c->slab_next = NULL;
    c->slab_left = 0;
    c->free_list = NULL;
}

void pp_cache_drop_all(pp_cache_t *c)
{
    for (size_t i = 0; i < c->cap; i++)
        c->slots[i].e = NULL;
    slabs_free(c);
    c->count = 0;
    c->n_dirty = 0;
}

void pp_cache_free(pp_cache_t *c)
{
    if (c == NULL)
        return;
    pp_cache_drop_all(c);
    free(c->slots);
    free(c->dirty);
    free(c);
}

/* The table's own hash of a partner id (never stored: any function will do).
 * Eight bytes at a time, where pp_hash_str's FNV-1a takes one: the lookup of
 * every event hashes an id. */
static uint64_t id_hash(const char *id)
{
    size_t n = strlen(id);
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
    for (; n >= 8; n -= 8, id += 8) {
        memcpy(&w, id, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, id, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

static size_t find_slot(const pp_cache_t *c, const char *id, uint64_t h)
{
    size_t mask = c->cap - 1;
    size_t i = (size_t)h & mask;
    while (c->slots[i].e != NULL) {
        if (c->slots[i].hash == h && strcmp(c->slots[i].e->st.id, id) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

pp_partner_t *pp_cache_find(pp_cache_t *c, const char *id)
{
    entry_t *e = c->slots[find_slot(c, id, id_hash(id))].e;
    return e ? &e->st : NULL;
}

/* Prefetch distances of pp_cache_find_many, in ids: the slot is asked for
 * FM_SLOT ids ahead, the state's first lines FM_ENTRY ids ahead (when its
 * slot has arrived), and the lookup proper happens FM_SLOT ids late. */
#define FM_SLOT 16
#define FM_ENTRY 8
#define FM_RING 32 /* > FM_SLOT, power of two */

void pp_cache_find_many(pp_cache_t *c, const char *const *ids, size_t n, pp_partner_t **out)
{
    uint64_t h[FM_RING];
    size_t mask = c->cap - 1;
    for (size_t k = 0; k < n + FM_SLOT; k++) {
        if (k < n) {
            h[k % FM_RING] = id_hash(ids[k]);
            __builtin_prefetch(&c->slots[h[k % FM_RING] & mask], 0, 3);
        }
        if (k >= FM_ENTRY && k - FM_ENTRY < n) {
            const entry_t *e = c->slots[h[(k - FM_ENTRY) % FM_RING] & mask].e;
            if (e != NULL) {
                __builtin_prefetch(e->st.id, 0, 3);
                __builtin_prefetch(&e->st.applied, 0, 3);
            }
        }
        if (k >= FM_SLOT) {
            size_t j = k - FM_SLOT;
            entry_t *e = c->slots[find_slot(c, ids[j], h[j % FM_RING])].e;
            out[j] = e ? &e->st : NULL;
        }
    }
}

static int grow(pp_cache_t *c)
{
    size_t ncap = c->cap * 2;
    slot_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i].e == NULL)
            continue;
        size_t j = (size_t)c->slots[i].hash & (ncap - 1);
        while (ns[j].e != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

pp_partner_t *pp_cache_insert(pp_cache_t *c, const pp_partner_t *st)
{
    if ((c->count + 1) * 4 > c->cap * 3 && grow(c) != 0)
        return NULL;
    uint64_t h = id_hash(st->id);
    size_t i = find_slot(c, st->id, h);
    entry_t *e = c->slots[i].e;
    if (e == NULL) {
        e = entry_alloc(c);
        if (e == NULL)
            return NULL;
        e->dirty = false;
        memset(e->field_hash, 0, sizeof e->field_hash);
        c->slots[i].hash = h;
        c->slots[i].e = e;
        c->count++;
    }
    e->st = *st;
    return &e->st;
}

void pp_cache_mark_dirty(pp_cache_t *c, pp_partner_t *st)
{
    entry_t *e = (entry_t *)st;
    if (e->dirty)
        return;
    if (c->n_dirty == c->dirty_cap) {
        size_t ncap = c->dirty_cap ? c->dirty_cap * 2 : 256;
        entry_t **nd = realloc(c->dirty, ncap * sizeof *nd);
        if (nd == NULL)
            abort(); /* cannot record a change we already made: fail loudly */
        c->dirty = nd;
        c->dirty_cap = ncap;
    }
    e->dirty = true;
    e->dirty_pos = (uint32_t)c->n_dirty;
    c->dirty[c->n_dirty++] = e;
}

pp_partner_t *const *pp_cache_dirty(const pp_cache_t *c, size_t *n)
{
    *n = c->n_dirty;
    return (pp_partner_t *const *)c->dirty;
}

void pp_cache_clear_dirty(pp_cache_t *c)
{
    for (size_t i = 0; i < c->n_dirty; i++)
        c->dirty[i]->dirty = false;
    c->n_dirty = 0;
}

uint32_t *pp_cache_field_hashes(pp_partner_t *st)
{
    return ((entry_t *)st)->field_hash;
}

size_t pp_cache_dirty_pos(const pp_partner_t *st)
{
    return ((const entry_t *)st)->dirty_pos;
}

size_t pp_cache_count(const pp_cache_t *c)
{
    return c->count;
}

size_t pp_cache_dirty_count(const pp_cache_t *c)
{
    return c->n_dirty;
}

/* Remove slot i with backward-shift deletion (keeps probe chains intact). */
static void remove_slot(pp_cache_t *c, size_t i)
{
    size_t mask = c->cap - 1;
    entry_free(c, c->slots[i].e);
    c->slots[i].e = NULL;
    c->count--;
    size_t j = (i + 1) & mask;
    while (c->slots[j].e != NULL) {
        size_t home = (size_t)c->slots[j].hash & mask;
        /* move j into the hole i if its home is not in (i, j] cyclically */
        bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            c->slots[i] = c->slots[j];
            c->slots[j].e = NULL;
            i = j;
        }
        j = (j + 1) & mask;
    }
}

void pp_cache_remove(pp_cache_t *c, const char *id)
{
    char key[PP_ID_MAX + 1];
    snprintf(key, sizeof key, "%s", id); /* id may point into the entry we free */
    size_t i = find_slot(c, key, id_hash(key));
    if (c->slots[i].e != NULL && !c->slots[i].e->dirty)
        remove_slot(c, i);
}

size_t pp_cache_evict_clean(pp_cache_t *c, size_t max)
{
    size_t evicted = 0;
    size_t scanned = 0;
    while (c->count > max && scanned < c->cap) {
        size_t i = c->evict_cursor & (c->cap - 1);
        entry_t *e = c->slots[i].e;
        if (e != NULL && !e->dirty) {
            remove_slot(c, i);
            evicted++;
            /* a shifted entry may now sit at i: look at i again */
        } else {
            c->evict_cursor++;
            scanned++;
        }
    }
    return evicted;
}
