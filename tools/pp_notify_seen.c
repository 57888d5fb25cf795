/*
 * pp_notify_seen: see pp_notify_seen.h. Each generation is an open-addressing
 * set of 64-bit hashes (0 = empty slot) at most half full.
 */
#include "pp_notify_seen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pp_event.h"

struct pp_notify_seen {
    uint64_t *gen[2]; /* [0] young, [1] old */
    size_t n[2];      /* keys in each */
    size_t cap;       /* slots per generation, a power of two */
    size_t limit;     /* keys per generation */
};

pp_notify_seen_t *pp_notify_seen_new(int max)
{
    pp_notify_seen_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->limit = (size_t)(max < 2 ? 2 : max) / 2;
    s->cap = 4;
    while (s->cap < 2 * s->limit)
        s->cap *= 2;
    s->gen[0] = calloc(s->cap, sizeof(uint64_t));
    s->gen[1] = calloc(s->cap, sizeof(uint64_t));
    if (s->gen[0] == NULL || s->gen[1] == NULL) {
        pp_notify_seen_free(s);
        return NULL;
    }
    return s;
}

void pp_notify_seen_free(pp_notify_seen_t *s)
{
    if (s == NULL)
        return;
    free(s->gen[0]);
    free(s->gen[1]);
    free(s);
}

/* The key of (alert_id, status, severity); severity 0 for RESOLVED, so a
 * RESOLVED is one key whatever its severity. */
static uint64_t key_of(const char *alert_id, int status, int severity)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%.40s/%d/%d", alert_id, status, status == PP_ST_RESOLVED ? 0 : severity);
    uint64_t h = pp_hash_str(buf);
    return h ? h : 1;
}

static bool in_gen(const pp_notify_seen_t *s, const uint64_t *g, uint64_t k)
{
    for (size_t i = k & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (g[i] == k)
            return true;
        if (g[i] == 0)
            return false;
    }
}

static bool has(const pp_notify_seen_t *s, uint64_t k)
{
    return in_gen(s, s->gen[0], k) || in_gen(s, s->gen[1], k);
}

bool pp_notify_seen_dup(const pp_notify_seen_t *s, const pp_notify_alert_t *a)
{
    if (s == NULL)
        return false;
    if (has(s, key_of(a->alert_id, a->status, a->severity)))
        return true;
    return a->status == PP_ST_FIRING && has(s, key_of(a->alert_id, PP_ST_RESOLVED, 0));
}

void pp_notify_seen_add(pp_notify_seen_t *s, const pp_notify_alert_t *a)
{
    if (s == NULL)
        return;
    uint64_t k = key_of(a->alert_id, a->status, a->severity);
    if (has(s, k))
        return;
    if (s->n[0] == s->limit) { /* the young generation is full: it becomes the old one */
        uint64_t *old = s->gen[1];
        for (size_t i = 0; i < s->cap; i++)
            old[i] = 0;
        s->gen[1] = s->gen[0];
        s->n[1] = s->n[0];
        s->gen[0] = old;
        s->n[0] = 0;
    }
    size_t i = k & (s->cap - 1);
    while (s->gen[0][i] != 0)
        i = (i + 1) & (s->cap - 1);
    s->gen[0][i] = k;
    s->n[0]++;
}
