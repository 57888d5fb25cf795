/*
 * pp_offsets: where each assigned input partition starts (DESIGN §9).
 *
 * The store holds the offsets of record; Kafka's committed offsets serve a
 * first start only. pp_offsets_judge decides, from who the store is now and
 * what this process knew of it, whether the store can be trusted; pp_offsets
 * _start reads the start offsets of the partitions from it.
 */
#ifndef PP_OFFSETS_H
#define PP_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_store.h"

#define PP_OFFSET_BEGINNING (-2)   /* the earliest offset Kafka retains */
#define PP_OFFSET_COMMITTED (-1001) /* the group's committed offset (else auto.offset.reset) */

enum pp_start {
    PP_START_RESUME,   /* the store is the one we know (or a new one with a marker): its offsets */
    PP_START_FIRST,    /* first start: no marker, no commits; a marker is created, Kafka's offsets */
    PP_START_ADOPT,    /* state of a version before markers: a marker is created, Kafka's offsets */
    PP_START_REBUILD,  /* state was lost and on_state_loss = replay: a new marker, from the earliest offsets */
    PP_START_LOST,     /* state was lost: stop and say so */
};

/* What the store says and what this process knew. */
typedef struct pp_start_facts {
    const pp_store_identity_t *now;  /* pp_store_vt.identify */
    const char *known_marker;        /* the marker this process last wrote under ("" = none yet) */
    bool kafka_has_commits;          /* the group has committed offsets on these partitions */
    bool replay_on_loss;             /* [daemon] on_state_loss = replay */
} pp_start_facts_t;

/* Judge; *why = a sentence for the log (static). */
enum pp_start pp_offsets_judge(const pp_start_facts_t *f, const char **why);

/* Start offsets of (topics[t], parts[i]) into out[i * n_topics + t], per the
 * verdict: RESUME reads the store's (none: the earliest, since nothing of it
 * is known durable); FIRST and ADOPT take Kafka's committed; REBUILD the
 * earliest. watermarks (may be NULL): [i] = the event time up to which
 * parts[i]'s applied events reach (RESUME; else 0). n_topics <= 8.
 * 0 or the store's error. */
int pp_offsets_start(pp_store_t store, enum pp_start verdict, const int32_t *parts, size_t n,
                     const char *const *topics, size_t n_topics, int64_t *out, int64_t *watermarks);

#endif
