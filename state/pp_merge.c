/*
 * pp_merge: per-partition event-time merge of the input topics (see pp_merge.h).
 */
#include "pp_merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
    int64_t time;
    void *payload;
} item_t;

typedef struct queue {
    item_t *items;   /* ring */
    size_t cap, head, len;
    bool at_end;
    int64_t last_active; /* monotonic ms of the last push/assign */
} queue_t;

struct pp_merge {
    int max_partitions;
    queue_t *q;          /* [partition * PP_TOPIC_COUNT + topic] */
    int64_t *released;   /* [partition]: latest released event time */
};

static queue_t *Q(const pp_merge_t *m, pp_topic_t t, int32_t p)
{
    return &m->q[(size_t)p * PP_TOPIC_COUNT + (size_t)t];
}

pp_merge_t *pp_merge_new(int max_partitions)
{
    pp_merge_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->max_partitions = max_partitions;
    m->q = calloc((size_t)max_partitions * PP_TOPIC_COUNT, sizeof *m->q);
    m->released = calloc((size_t)max_partitions, sizeof *m->released);
    if (m->q == NULL || m->released == NULL) {
        pp_merge_free(m);
        return NULL;
    }
    return m;
}

void pp_merge_free(pp_merge_t *m)
{
    if (m == NULL)
        return;
    if (m->q)
        for (size_t i = 0; i < (size_t)m->max_partitions * PP_TOPIC_COUNT; i++)
            free(m->q[i].items);
    free(m->q);
    free(m->released);
    free(m);
}

static bool valid(const pp_merge_t *m, pp_topic_t t, int32_t p)
{
    return p >= 0 && p < m->max_partitions && t >= 0 && t < PP_TOPIC_COUNT;
}

int pp_merge_push(pp_merge_t *m, pp_topic_t topic, int32_t partition, int64_t time, void *payload, int64_t now)
{
    if (!valid(m, topic, partition))
        return -EINVAL;
    queue_t *q = Q(m, topic, partition);
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        item_t *ni = malloc(ncap * sizeof *ni);
        if (ni == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < q->len; i++)
            ni[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = ni;
        q->cap = ncap;
        q->head = 0;
    }
    q->items[(q->head + q->len) % q->cap] = (item_t){time, payload};
    q->len++;
    q->at_end = false;
    q->last_active = now;
    return 0;
}

void pp_merge_at_end(pp_merge_t *m, pp_topic_t topic, int32_t partition, int64_t now)
{
    if (!valid(m, topic, partition))
        return;
    queue_t *q = Q(m, topic, partition);
    q->at_end = true;
    q->last_active = now;
}

void pp_merge_assigned(pp_merge_t *m, int32_t partition, int64_t now)
{
    if (partition < 0 || partition >= m->max_partitions)
        return;
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        queue_t *q = Q(m, (pp_topic_t)t, partition);
        q->at_end = false;
        q->last_active = now;
    }
}

void pp_merge_set_watermark(pp_merge_t *m, int32_t partition, int64_t time)
{
    if (partition >= 0 && partition < m->max_partitions)
        m->released[partition] = time > 0 ? time : 0;
}

size_t pp_merge_held(const pp_merge_t *m, pp_topic_t topic, int32_t partition)
{
    return valid(m, topic, partition) ? Q(m, topic, partition)->len : 0;
}

void *pp_merge_pop(pp_merge_t *m, int32_t partition, int64_t now, int64_t idle_ms, pp_topic_t *topic)
{
    if (partition < 0 || partition >= m->max_partitions)
        return NULL;
    int best = -1;
    int64_t best_time = 0;
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        queue_t *q = Q(m, (pp_topic_t)t, partition);
        if (q->len == 0)
            continue;
        int64_t ht = q->items[q->head].time;
        if (best < 0 || ht < best_time) {
            best = t;
            best_time = ht;
        }
    }
    if (best < 0)
        return NULL;
    if (best_time != INT64_MIN) {
        /* every other topic must be able to tell us nothing earlier is coming */
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            const queue_t *q = Q(m, (pp_topic_t)t, partition);
            if (t == best || q->len > 0 || q->at_end)
                continue;
            if (now - q->last_active < idle_ms)
                return NULL;
        }
    }
    queue_t *q = Q(m, (pp_topic_t)best, partition);
    void *payload = q->items[q->head].payload;
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (best_time != INT64_MIN && best_time > m->released[partition])
        m->released[partition] = best_time;
    *topic = (pp_topic_t)best;
    return payload;
}

int64_t pp_merge_watermark(const pp_merge_t *m, int32_t partition, int64_t caught_up_time)
{
    if (partition < 0 || partition >= m->max_partitions)
        return 0;
    bool caught_up = true;
    for (int t = 0; t < PP_TOPIC_COUNT && caught_up; t++) {
        const queue_t *q = Q(m, (pp_topic_t)t, partition);
        caught_up = q->len == 0 && q->at_end;
    }
    int64_t wm = m->released[partition];
    return caught_up && caught_up_time > wm ? caught_up_time : wm;
}

int64_t pp_merge_low_watermark(const pp_merge_t *m, const int32_t *parts, int n)
{
    int64_t low = 0;
    bool any = false;
    for (int i = 0; i < n; i++) {
        int32_t p = parts[i];
        if (p < 0 || p >= m->max_partitions)
            continue;
        if (m->released[p] == 0) {
            bool empty_at_end = true;
            for (int t = 0; t < PP_TOPIC_COUNT && empty_at_end; t++) {
                const queue_t *q = Q(m, (pp_topic_t)t, p);
                empty_at_end = q->len == 0 && q->at_end;
            }
            if (empty_at_end)
                continue; /* an empty partition holds nobody back */
            return 0;
        }
        if (!any || m->released[p] < low)
            low = m->released[p];
        any = true;
    }
    return any ? low : 0;
}

void pp_merge_clear(pp_merge_t *m, void (*free_fn)(void *opaque, void *payload), void *opaque)
{
    for (size_t i = 0; i < (size_t)m->max_partitions * PP_TOPIC_COUNT; i++) {
        queue_t *q = &m->q[i];
        for (size_t k = 0; k < q->len; k++)
            if (free_fn)
                free_fn(opaque, q->items[(q->head + k) % q->cap].payload);
        q->len = 0;
        q->head = 0;
        q->at_end = false;
    }
    memset(m->released, 0, (size_t)m->max_partitions * sizeof *m->released);
}
