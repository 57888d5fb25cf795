/*
 * pp_notify_track: see pp_notify_track.h.
 */
#include "pp_notify_track.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct pp_notify_record {
    int64_t offset;            /* of the message */
    atomic_int pending;        /* destinations that have not acknowledged */
    pp_notify_record_t *next;  /* next of the partition's FIFO (or of the dropped list) */
};

typedef struct part {
    pp_notify_record_t *head, *tail; /* FIFO in offset order */
    int64_t committed;               /* last offset returned by committable, -1 none */
} part_t;

struct pp_notify_track {
    part_t *parts;               /* indexed by partition */
    int32_t n_parts;             /* allocated */
    pp_notify_record_t *dropped; /* records of revoked partitions not done yet */
    size_t held;                 /* records in FIFOs and dropped */
};

pp_notify_track_t *pp_notify_track_new(void)
{
    return calloc(1, sizeof(pp_notify_track_t));
}

static void free_list(pp_notify_record_t *r)
{
    while (r) {
        pp_notify_record_t *next = r->next;
        free(r);
        r = next;
    }
}

void pp_notify_track_free(pp_notify_track_t *t)
{
    if (t == NULL)
        return;
    for (int32_t p = 0; p < t->n_parts; p++)
        free_list(t->parts[p].head);
    free_list(t->dropped);
    free(t->parts);
    free(t);
}

static part_t *part_of(pp_notify_track_t *t, int32_t partition, bool grow)
{
    if (partition < 0)
        return NULL;
    if (partition >= t->n_parts) {
        if (!grow)
            return NULL;
        int32_t n = partition + 1;
        part_t *p = realloc(t->parts, (size_t)n * sizeof *p);
        if (p == NULL)
            return NULL;
        for (int32_t i = t->n_parts; i < n; i++)
            p[i] = (part_t){NULL, NULL, -1};
        t->parts = p;
        t->n_parts = n;
    }
    return &t->parts[partition];
}

pp_notify_record_t *pp_notify_track_add(pp_notify_track_t *t, int32_t partition, int64_t offset, int n)
{
    part_t *p = part_of(t, partition, true);
    pp_notify_record_t *r = p ? malloc(sizeof *r) : NULL;
    if (r == NULL)
        return NULL;
    r->offset = offset;
    atomic_init(&r->pending, n);
    r->next = NULL;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    t->held++;
    return r;
}

void pp_notify_track_done(pp_notify_record_t *r)
{
    atomic_fetch_sub_explicit(&r->pending, 1, memory_order_release);
}

static bool is_done(pp_notify_record_t *r)
{
    return atomic_load_explicit(&r->pending, memory_order_acquire) <= 0;
}

int64_t pp_notify_track_committable(pp_notify_track_t *t, int32_t partition)
{
    part_t *p = part_of(t, partition, false);
    int64_t next = -1;
    if (p == NULL)
        return -1;
    while (p->head && is_done(p->head)) {
        pp_notify_record_t *r = p->head;
        next = r->offset + 1;
        p->head = r->next;
        if (p->head == NULL)
            p->tail = NULL;
        free(r);
        t->held--;
    }
    if (next < 0 || next == p->committed)
        return -1;
    p->committed = next;
    return next;
}

void pp_notify_track_drop(pp_notify_track_t *t, int32_t partition)
{
    part_t *p = part_of(t, partition, false);
    if (p == NULL)
        return;
    if (p->tail) {
        p->tail->next = t->dropped;
        t->dropped = p->head;
    }
    *p = (part_t){NULL, NULL, -1};
}

size_t pp_notify_track_inflight(pp_notify_track_t *t)
{
    pp_notify_record_t **pr = &t->dropped;
    while (*pr) {
        pp_notify_record_t *r = *pr;
        if (is_done(r)) {
            *pr = r->next;
            free(r);
            t->held--;
        } else {
            pr = &r->next;
        }
    }
    return t->held;
}
