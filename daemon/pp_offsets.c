/*
 * pp_offsets: trust in the store, and start offsets (see pp_offsets.h).
 */
#include "pp_offsets.h"

#include <errno.h>
#include <string.h>

enum pp_start pp_offsets_judge(const pp_start_facts_t *f, const char **why)
{
    bool has_marker = f->now->marker[0] != '\0', knew = f->known_marker && f->known_marker[0];
    if (has_marker && (!knew || strcmp(f->now->marker, f->known_marker) == 0)) {
        *why = "redis holds the offsets of record";
        return PP_START_RESUME;
    }
    if (has_marker) { /* another daemon rebuilt it after a loss, under a new marker */
        *why = "redis state was replaced since this daemon last wrote (its marker changed)";
        return f->replay_on_loss ? PP_START_RESUME : PP_START_LOST;
    }
    if (knew) {
        *why = "redis lost partnerpulse's state while this daemon was running (its marker key is gone)";
        return f->replay_on_loss ? PP_START_REBUILD : PP_START_LOST;
    }
    if (!f->kafka_has_commits) {
        *why = "first start: no state in redis and no committed offsets";
        return PP_START_FIRST;
    }
    if (f->now->has_data) {
        *why = "redis holds state written by a version before offsets of record: adopting Kafka's committed "
               "offsets once";
        return PP_START_ADOPT;
    }
    *why = "redis has no partnerpulse state (no marker key) but the consumer group has committed offsets: "
           "the state was lost (redis restarted empty, flushed, or pointed at another server)";
    return f->replay_on_loss ? PP_START_REBUILD : PP_START_LOST;
}

int pp_offsets_start(pp_store_t store, enum pp_start verdict, const int32_t *parts, size_t n,
                     const char *const *topics, size_t n_topics, int64_t *out, int64_t *watermarks)
{
    const char *names[9];
    int64_t got[9];
    if (n_topics > 8)
        return -EINVAL;
    for (size_t t = 0; t < n_topics; t++)
        names[t] = topics[t];
    names[n_topics] = PP_WATERMARK_FIELD;
    for (size_t i = 0; i < n; i++) {
        int64_t *o = out + i * n_topics;
        if (watermarks)
            watermarks[i] = 0;
        if (verdict != PP_START_RESUME) {
            for (size_t t = 0; t < n_topics; t++)
                o[t] = verdict == PP_START_REBUILD ? PP_OFFSET_BEGINNING : PP_OFFSET_COMMITTED;
            continue;
        }
        int rc = store.vt->read_offsets(store.s, parts[i], names, n_topics + 1, got);
        if (rc != 0)
            return rc;
        memcpy(o, got, n_topics * sizeof *o);
        if (watermarks && got[n_topics] > 0)
            watermarks[i] = got[n_topics];
        for (size_t t = 0; t < n_topics; t++)
            if (o[t] < 0)
                o[t] = PP_OFFSET_BEGINNING;
    }
    return 0;
}
