/*
 * pp_flush: chunks, their order, and the offsets of record (see pp_flush.h).
 */
#include "pp_flush.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_engine.h"
#include "pp_history.h"
#include "pp_view.h"

#define FLUSH_CHUNK 250        /* partners per atomic write */
#define FLUSH_INFLIGHT 8       /* writes sent before the oldest one's answer is read */
#define ALERT_PACK_MAX 2048    /* bytes of one packed Alert */
#define OPEN_JSON_MAX 1024     /* bytes of one open flag's JSON (message <= 255) */
#define TREND_PENDING_MAX 524288 /* trend days held between flushes (8 MiB) */
#define DAY_MS 86400000LL
#define NO_OPEN ((size_t)-1)

/* A day of a partner's health trend written since the last flush. */
typedef struct trend_point {
    const pp_partner_t *owner;
    int32_t day;
    float health;
} trend_point_t;

/* The public fields of a partner as the store holds them, hashed the moment
 * the partner turns dirty: its flush then writes only the fields that
 * changed, and its leaderboard / deadline entries only if they moved. Kept
 * only while it is dirty, and only at the head of the stream (catching up, a
 * partner takes many events per flush and most of its fields change anyway). */
typedef struct before {
    const pp_partner_t *st;         /* whose (NULL = none taken) */
    uint64_t h[PP_FIELDS_MAX];      /* per field: hash of name and value */
    uint64_t health_bits, deadline; /* leaderboard score, deadline index entry */
    uint32_t n;                     /* fields hashed */
    uint32_t last_point;            /* 1 + index of its latest trend point, 0 none */
} before_t;

/* Where a rendered partner's bytes are in the arena (offsets: it may move). */
typedef struct rendered {
    size_t blob, blob_len, values, n_fields;
} rendered_t;

struct pp_flush {
    pp_store_t store;
    const pp_policyset_t *policy;
    const char *const *topics;
    long stream_maxlen;
    char marker[PP_STORE_MARKER_MAX];
    int64_t *epoch;                 /* [partition] */
    uint32_t *touch_gen;            /* [partition]: chunk stamp, to list each once */
    uint32_t gen;

    before_t *before;               /* by dirty position */
    size_t n_before, before_cap;
    pp_field_t *scratch;            /* PP_FIELDS_MAX */

    pp_flush_alert_t *alerts;
    size_t n_alerts, alerts_cap, n_written;
    pp_store_alert_t *order;        /* alerts grouped by chunk */
    size_t order_cap;

    int64_t *next_offset[PP_TOPIC_COUNT]; /* [partition] = next offset, -1 none */
    pp_store_offset_t *touched;     /* pending offsets (topic, partition), in first-touched order */
    size_t n_touched;
    int64_t *watermark;             /* [partition]: latest event time applied, to write (0 none) */
    int32_t *wm_touched;            /* partitions whose watermark is to be written */
    size_t n_wm;
    pp_store_offset_t *written;     /* the offsets of the last successful run */
    size_t n_written_offsets;

    /* one chunk rendered */
    char *arena;
    size_t arena_len, arena_cap;
    rendered_t *rend;               /* FLUSH_CHUNK */
    pp_store_partner_t *parts;      /* FLUSH_CHUNK */
    const char **names;             /* FLUSH_CHUNK * PP_FIELDS_MAX */
    const char **values;
    pp_store_point_t *trend;        /* FLUSH_CHUNK * PP_TREND_DAYS */
    size_t *open_at;                /* arena offset of each alert's open-flag JSON, or NO_OPEN */
    pp_store_epoch_t *epochs;       /* partitions one write touches */
    size_t epochs_cap;
    uint64_t fields_written;

    trend_point_t *points;          /* closed days since the last flush */
    size_t n_points, points_cap;
};

pp_flush_t *pp_flush_new(pp_store_t store, const pp_policyset_t *policy, const char *const *topics, long maxlen)
{
    pp_flush_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->store = store;
    f->policy = policy;
    f->topics = topics;
    f->stream_maxlen = maxlen;
    f->epoch = calloc(PP_PARTITIONS_MAX, sizeof *f->epoch);
    f->touch_gen = calloc(PP_PARTITIONS_MAX, sizeof *f->touch_gen);
    f->scratch = calloc(PP_FIELDS_MAX, sizeof *f->scratch);
    f->touched = calloc((size_t)PP_TOPIC_COUNT * PP_PARTITIONS_MAX, sizeof *f->touched);
    f->written = calloc((size_t)(PP_TOPIC_COUNT + 1) * PP_PARTITIONS_MAX, sizeof *f->written);
    f->watermark = calloc(PP_PARTITIONS_MAX, sizeof *f->watermark);
    f->wm_touched = calloc(PP_PARTITIONS_MAX, sizeof *f->wm_touched);
    f->rend = calloc(FLUSH_CHUNK, sizeof *f->rend);
    f->parts = calloc(FLUSH_CHUNK, sizeof *f->parts);
    f->names = calloc((size_t)FLUSH_CHUNK * PP_FIELDS_MAX, sizeof *f->names);
    f->values = calloc((size_t)FLUSH_CHUNK * PP_FIELDS_MAX, sizeof *f->values);
    f->trend = calloc((size_t)FLUSH_CHUNK * PP_TREND_DAYS, sizeof *f->trend);
    bool ok = f->epoch && f->touch_gen && f->scratch && f->touched && f->written && f->watermark &&
              f->wm_touched && f->rend && f->parts &&
              f->names && f->values && f->trend;
    for (int t = 0; t < PP_TOPIC_COUNT && ok; t++) {
        ok = (f->next_offset[t] = malloc(PP_PARTITIONS_MAX * sizeof(int64_t))) != NULL;
        for (int p = 0; ok && p < PP_PARTITIONS_MAX; p++)
            f->next_offset[t][p] = -1;
    }
    if (!ok) {
        pp_flush_free(f);
        return NULL;
    }
    return f;
}

void pp_flush_free(pp_flush_t *f)
{
    if (f == NULL)
        return;
    free(f->epoch);
    free(f->touch_gen);
    free(f->scratch);
    free(f->before);
    free(f->alerts);
    free(f->order);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(f->next_offset[t]);
    free(f->touched);
    free(f->written);
    free(f->watermark);
    free(f->wm_touched);
    free(f->arena);
    free(f->rend);
    free(f->parts);
    free(f->names);
    free(f->values);
    free(f->trend);
    free(f->open_at);
    free(f->points);
    free(f->epochs);
    free(f);
}

void pp_flush_set_marker(pp_flush_t *f, const char *marker)
{
    size_t n = strlen(marker);
    if (n >= sizeof f->marker)
        n = sizeof f->marker - 1;
    memcpy(f->marker, marker, n);
    f->marker[n] = '\0';
}

void pp_flush_set_epoch(pp_flush_t *f, int32_t partition, int64_t epoch)
{
    if (partition >= 0 && partition < PP_PARTITIONS_MAX)
        f->epoch[partition] = epoch;
}

int64_t pp_flush_epoch(const pp_flush_t *f, int32_t partition)
{
    return partition >= 0 && partition < PP_PARTITIONS_MAX ? f->epoch[partition] : 0;
}

/* ---- which fields to write ---- */

static uint64_t field_hash(const pp_field_t *fl)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a 64 over name, NUL, value */
    for (const char *c = fl->name;; c++) {
        h = (h ^ (uint8_t)*c) * 1099511628211u;
        if (*c == '\0')
            break;
    }
    for (const char *c = fl->value; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211u;
    return h;
}

/* A group's content: its fields' hashes folded; never 0, which means "unknown". */
static uint32_t group_hash(const uint64_t *fh, size_t lo, size_t hi)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = lo; i < hi; i++)
        h = (h ^ fh[i]) * 1099511628211u;
    return (uint32_t)(h ^ (h >> 32)) | 1;
}

static uint64_t health_bits(const pp_partner_t *st)
{
    double v = pp_partner_health(st);
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

void pp_flush_before_change(pp_flush_t *f, pp_cache_t *cache, pp_partner_t *st, bool by_field)
{
    size_t n_dirty;
    pp_partner_t *const *dirty = pp_cache_dirty(cache, &n_dirty);
    size_t pos = pp_cache_dirty_pos(st);
    if (pos < n_dirty && dirty[pos] == st)
        return; /* dirty already: its snapshot (if any) stands */
    if (n_dirty >= f->before_cap) {
        size_t cap = f->before_cap ? f->before_cap * 2 : 1024;
        while (cap <= n_dirty)
            cap *= 2;
        before_t *nb = realloc(f->before, cap * sizeof *nb);
        if (nb == NULL)
            abort();
        f->before = nb;
        f->before_cap = cap;
    }
    for (; f->n_before < n_dirty; f->n_before++) { /* dirtied by a path without a snapshot */
        f->before[f->n_before].st = NULL;
        f->before[f->n_before].last_point = 0;
    }
    before_t *b = &f->before[n_dirty];
    f->n_before = n_dirty + 1;
    b->st = NULL;
    b->last_point = 0;
    /* unknown content (loaded, or after a failed write: the group hashes are
     * reset then), or catching up: write by groups */
    if (!by_field || pp_cache_field_hashes(st)[0] == 0)
        return;
    size_t nf = pp_engine_fields(f->policy, st, f->scratch, PP_FIELDS_MAX);
    if (nf > PP_FIELDS_MAX)
        nf = PP_FIELDS_MAX; /* it counts what did not fit */
    for (size_t i = 0; i < nf; i++)
        b->h[i] = field_hash(&f->scratch[i]);
    b->n = (uint32_t)nf;
    b->health_bits = health_bits(st);
    b->deadline = (uint64_t)st->next_deadline_ms;
    b->st = st;
}

/* ---- the daily health trend ---- */

void pp_flush_trend_note(pp_flush_t *f, const pp_partner_t *st)
{
    if (st->clock_ms <= 0)
        return;
    int32_t day = (int32_t)(st->clock_ms / DAY_MS);
    float health = (float)pp_partner_health(st);
    size_t pos = pp_cache_dirty_pos(st);
    before_t *b = pos < f->n_before ? &f->before[pos] : NULL;
    if (b != NULL && b->last_point > 0 && f->points[b->last_point - 1].owner == st &&
        f->points[b->last_point - 1].day == day) {
        f->points[b->last_point - 1].health = health; /* a later event of the same day */
        return;
    }
    if (f->n_points == f->points_cap) {
        if (f->points_cap >= TREND_PENDING_MAX)
            return; /* full: the daemon flushes before the next event (pp_flush_trend_full) */
        size_t cap = f->points_cap ? f->points_cap * 2 : 4096;
        trend_point_t *np = realloc(f->points, cap * sizeof *np);
        if (np == NULL)
            abort(); /* the state has changed: its trend cannot be dropped silently */
        f->points = np;
        f->points_cap = cap;
    }
    f->points[f->n_points++] = (trend_point_t){st, day, health};
    if (b != NULL)
        b->last_point = (uint32_t)f->n_points;
}

bool pp_flush_trend_full(const pp_flush_t *f)
{
    return f->n_points >= TREND_PENDING_MAX;
}

static int point_cmp(const void *a, const void *b)
{
    const trend_point_t *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

/* st's trend points since the last flush into out (cap PP_TREND_DAYS):
 * the days of its evaluation clock at its events, each with the health
 * after the last event of that day, the last PP_TREND_DAYS days only. */
static size_t trend_points(const pp_flush_t *f, const pp_partner_t *st, pp_store_point_t *out)
{
    size_t lo = 0, hi = f->n_points; /* first point of st */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->points[mid].owner < st)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < f->n_points && f->points[end].owner == st)
        end++;
    if (end - lo > PP_TREND_DAYS)
        lo = end - PP_TREND_DAYS;
    size_t n = 0;
    for (size_t i = lo; i < end; i++)
        if (f->points[i].day > f->points[end - 1].day - PP_TREND_DAYS)
            out[n++] = (pp_store_point_t){f->points[i].day, f->points[i].health};
    return n;
}

void pp_flush_rewrite_deadline(pp_flush_t *f, const pp_partner_t *st)
{
    size_t pos = pp_cache_dirty_pos(st);
    if (pos < f->n_before && f->before[pos].st == st)
        f->before[pos].deadline = UINT64_MAX;
}

/* Room for `more` bytes at the end of the arena. */
static void arena_room(pp_flush_t *f, size_t more)
{
    if (f->arena_len + more <= f->arena_cap)
        return;
    size_t cap = f->arena_cap ? f->arena_cap : (size_t)1 << 20;
    while (cap < f->arena_len + more)
        cap *= 2;
    char *na = realloc(f->arena, cap);
    if (na == NULL)
        abort();
    f->arena = na;
    f->arena_cap = cap;
}

/* Render partner st as slot k of the chunk: blob, and the fields to write. */
static void render(pp_flush_t *f, const pp_partner_t *st, size_t k)
{
    rendered_t *rd = &f->rend[k];
    pp_store_partner_t *p = &f->parts[k];
    arena_room(f, pp_partner_blob_size());
    rd->blob = f->arena_len;
    rd->blob_len = pp_partner_encode(st, (uint8_t *)f->arena + f->arena_len, pp_partner_blob_size());
    f->arena_len += rd->blob_len;

    pp_field_t *out = f->scratch;
    size_t n = pp_engine_fields(f->policy, st, out, PP_FIELDS_MAX);
    if (n > PP_FIELDS_MAX)
        n = PP_FIELDS_MAX; /* it counts what did not fit */
    size_t pos = pp_cache_dirty_pos(st);
    const before_t *b = pos < f->n_before && f->before[pos].st == st ? &f->before[pos] : NULL;
    bool by_field = b != NULL && b->n == n; /* else by the groups whose content changed */
    uint64_t fh[PP_FIELDS_MAX];
    for (size_t i = 0; i < n; i++)
        fh[i] = field_hash(&out[i]);
    uint32_t *seen = pp_cache_field_hashes((pp_partner_t *)st);
    size_t per = (n + PP_FIELD_GROUPS - 1) / PP_FIELD_GROUPS, kept = 0;
    const char **names = f->names + k * PP_FIELDS_MAX;
    rd->values = f->arena_len;
    for (size_t g = 0; g < PP_FIELD_GROUPS; g++) {
        size_t lo = g * per, hi = lo + per < n ? lo + per : n;
        uint32_t h = group_hash(fh, lo, hi);
        bool changed = h != seen[g];
        seen[g] = h; /* kept current on both paths */
        for (size_t i = lo; i < hi; i++)
            if (by_field ? fh[i] != b->h[i] : changed) {
                size_t len = strlen(out[i].value) + 1;
                arena_room(f, len);
                memcpy(f->arena + f->arena_len, out[i].value, len);
                f->arena_len += len;
                names[kept++] = out[i].name;
            }
    }
    rd->n_fields = kept;
    f->fields_written += kept;
    p->id = st->id;
    p->partition = st->home_partition;
    p->names = names;
    p->n_fields = kept;
    p->health = pp_partner_health(st);
    p->set_health = !(by_field && health_bits(st) == b->health_bits);
    p->deadline_ms = st->next_deadline_ms;
    p->set_deadline = !(by_field && (uint64_t)st->next_deadline_ms == b->deadline);
    p->trend = f->trend + k * PP_TREND_DAYS;
    p->n_trend = trend_points(f, st, f->trend + k * PP_TREND_DAYS);
}

/* The arena is settled: turn the chunk's offsets into pointers. */
static void resolve(pp_flush_t *f, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        rendered_t *rd = &f->rend[k];
        pp_store_partner_t *p = &f->parts[k];
        p->blob = (const uint8_t *)f->arena + rd->blob;
        p->blob_len = rd->blob_len;
        const char **values = f->values + k * PP_FIELDS_MAX;
        const char *v = f->arena + rd->values;
        for (size_t i = 0; i < rd->n_fields; i++) {
            values[i] = v;
            v += strlen(v) + 1;
        }
        p->values = values;
    }
}

/* After a failed write: the store may lack what the hashes claim it has. */
static void forget_written(pp_flush_t *f, pp_cache_t *cache)
{
    size_t n;
    pp_partner_t *const *dirty = pp_cache_dirty(cache, &n);
    for (size_t i = 0; i < n; i++)
        memset(pp_cache_field_hashes(dirty[i]), 0, PP_FIELD_GROUPS * sizeof(uint32_t));
    for (size_t i = 0; i < f->n_before; i++)
        f->before[i].st = NULL; /* the store may hold part of the failed write */
}

/* ---- alerts, offsets ---- */

pp_flush_alert_t *pp_flush_keep(pp_flush_t *f, size_t n)
{
    if (f->n_written) { /* the last result is read: start afresh */
        f->n_alerts = 0;
        f->n_written = 0;
    }
    if (f->n_alerts + n > f->alerts_cap) {
        size_t cap = f->alerts_cap ? f->alerts_cap * 2 : 256;
        while (cap < f->n_alerts + n)
            cap *= 2;
        pp_flush_alert_t *na = realloc(f->alerts, cap * sizeof *na);
        if (na == NULL)
            abort(); /* state already changed: cannot drop its alerts */
        f->alerts = na;
        f->alerts_cap = cap;
    }
    pp_flush_alert_t *k = f->alerts + f->n_alerts;
    f->n_alerts += n;
    return k;
}

size_t pp_flush_kept(const pp_flush_t *f)
{
    return f->n_written ? 0 : f->n_alerts;
}

void pp_flush_note_offset(pp_flush_t *f, pp_topic_t topic, int32_t partition, int64_t offset)
{
    if (partition < 0 || partition >= PP_PARTITIONS_MAX)
        return; /* refused at assignment */
    int64_t *slot = &f->next_offset[topic][partition];
    if (*slot < 0) {
        f->touched[f->n_touched].topic = f->topics[topic];
        f->touched[f->n_touched].partition = partition;
        f->touched[f->n_touched].next_offset = (int64_t)topic; /* the topic's index until written */
        f->n_touched++;
    }
    if (offset + 1 > *slot)
        *slot = offset + 1;
}

void pp_flush_note_watermark(pp_flush_t *f, int32_t partition, int64_t ms)
{
    if (partition < 0 || partition >= PP_PARTITIONS_MAX || ms <= f->watermark[partition])
        return;
    if (f->watermark[partition] == 0)
        f->wm_touched[f->n_wm++] = partition;
    f->watermark[partition] = ms;
}

bool pp_flush_pending(const pp_flush_t *f, const pp_cache_t *cache)
{
    return pp_cache_dirty_count(cache) > 0 || f->n_touched > 0 || pp_flush_kept(f) > 0;
}

static void clear_offsets(pp_flush_t *f)
{
    for (size_t i = 0; i < f->n_touched; i++) {
        int t = (int)f->touched[i].next_offset;
        f->next_offset[t][f->touched[i].partition] = -1;
    }
    f->n_touched = 0;
    for (size_t i = 0; i < f->n_wm; i++)
        f->watermark[f->wm_touched[i]] = 0;
    f->n_wm = 0;
}

void pp_flush_drop(pp_flush_t *f)
{
    clear_offsets(f);
    f->n_points = 0;
    f->n_alerts = f->n_written = 0;
    f->n_before = 0;
    f->n_written_offsets = 0;
}

/* Add partition p to the epochs of the write being built (once). */
static void touch(pp_flush_t *f, size_t *n, int32_t p)
{
    if (p < 0 || p >= PP_PARTITIONS_MAX || f->touch_gen[p] == f->gen)
        return;
    f->touch_gen[p] = f->gen;
    if (*n >= f->epochs_cap) {
        size_t cap = f->epochs_cap ? f->epochs_cap * 2 : 64;
        pp_store_epoch_t *ne = realloc(f->epochs, cap * sizeof *ne);
        if (ne == NULL)
            abort();
        f->epochs = ne;
        f->epochs_cap = cap;
    }
    f->epochs[(*n)++] = (pp_store_epoch_t){.partition = p, .epoch = f->epoch[p]};
}

static void new_write(pp_flush_t *f)
{
    if (++f->gen == 0) { /* wrapped: no stamp may look current */
        memset(f->touch_gen, 0, PP_PARTITIONS_MAX * sizeof *f->touch_gen);
        f->gen = 1;
    }
}

/* The open flag a recorded FIRING leaves on its partner (DESIGN §13: the
 * dashboard's "open since, and why"), as JSON into the arena: its offset
 * there, or NO_OPEN. */
static size_t render_open(pp_flush_t *f, const pp_store_alert_t *o)
{
    const pp_alert_t *a = o->a;
    if (!(o->ops & PP_STORE_RECORD) || a->status != PP_ALERT_FIRING)
        return NO_OPEN;
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:s, s:s, s:f, s:b}", "alert_id", a->alert_id, "rule",
                          pp_rule_name(a->rule), "severity", pp_severity_name(a->severity), "started_at_ms",
                          (json_int_t)a->started_at_ms, "value", a->value, "threshold", a->threshold, "message",
                          a->message, "evidence", a->evidence, "health", a->health, "published",
                          (o->ops & PP_STORE_PUBLISH) != 0);
    if (j == NULL)
        return NO_OPEN;
    arena_room(f, OPEN_JSON_MAX);
    size_t at = f->arena_len;
    size_t len = json_dumpb(j, f->arena + at, OPEN_JSON_MAX - 1, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(j);
    if (len == 0 || len >= OPEN_JSON_MAX)
        return NO_OPEN;
    f->arena[at + len] = '\0';
    f->arena_len += len + 1;
    return at;
}

/* The chunk carrying alerts[i]: its partner's (the first without one). */
static size_t alert_chunk(const pp_flush_t *f, size_t i)
{
    const pp_partner_t *owner = f->alerts[i].owner;
    return owner ? pp_cache_dirty_pos(owner) / FLUSH_CHUNK : 0;
}

int pp_flush_run(pp_flush_t *f, pp_cache_t *cache, pp_flush_result_t *res)
{
    memset(res, 0, sizeof *res);
    size_t n;
    pp_partner_t *const *dirty = pp_cache_dirty(cache, &n);
    size_t n_alerts = pp_flush_kept(f);
    if (n == 0 && f->n_touched == 0 && n_alerts == 0)
        return 0;
    f->fields_written = 0;
    const pp_store_vt *vt = f->store.vt;
    void *s = f->store.s;
    size_t chunks = (n + FLUSH_CHUNK - 1) / FLUSH_CHUNK;
    if (chunks == 0 && n_alerts > 0)
        chunks = 1;

    /* the trend days, by partner (each (partner, day) is there once) */
    if (f->n_points > 1)
        qsort(f->points, f->n_points, sizeof *f->points, point_cmp);

    /* the alerts, grouped by chunk (counting sort), each packed once */
    if (n_alerts > f->order_cap) {
        free(f->order);
        free(f->open_at);
        f->order_cap = n_alerts * 2;
        f->order = malloc(f->order_cap * sizeof *f->order);
        f->open_at = malloc(f->order_cap * sizeof *f->open_at);
        if (f->order == NULL || f->open_at == NULL)
            abort();
    }
    size_t *starts = calloc(chunks + 2, sizeof *starts), *fill = calloc(chunks + 1, sizeof *fill);
    if (starts == NULL || fill == NULL)
        abort();
    for (size_t i = 0; i < n_alerts; i++)
        starts[alert_chunk(f, i) + 1]++;
    for (size_t k = 0; k < chunks; k++)
        starts[k + 1] += starts[k];
    for (size_t i = 0; i < n_alerts; i++) {
        const pp_flush_alert_t *x = &f->alerts[i];
        size_t k = alert_chunk(f, i);
        const char *cv = x->config_version[0] ? x->config_version : f->policy->version;
        pp_store_alert_t *o = &f->order[starts[k] + fill[k]++];
        o->a = &x->a;
        o->ops = x->ops | (x->a.publish ? PP_STORE_PUBLISH : 0);
        o->config_version = cv;
        o->packed = NULL; /* packed with its chunk, into the arena */
        o->packed_len = 0;
        o->open_json = NULL;
    }
    free(fill);

    /* 1. the chunks, up to FLUSH_INFLIGHT in flight: the store runs one
     * while the next is rendered */
    size_t ticket[FLUSH_INFLIGHT] = {0};
    size_t sent = 0, confirmed = 0;
    int rc = 0;
    while (rc == 0 && confirmed < chunks) {
        if (sent < chunks && sent - confirmed < FLUSH_INFLIGHT) {
            size_t k = sent++, lo = k * FLUSH_CHUNK, hi = lo + FLUSH_CHUNK < n ? lo + FLUSH_CHUNK : n;
            size_t np = hi > lo ? hi - lo : 0, ne = 0;
            f->arena_len = 0;
            new_write(f);
            for (size_t i = 0; i < np; i++) {
                render(f, dirty[lo + i], i);
                touch(f, &ne, dirty[lo + i]->home_partition);
            }
            size_t first_alert = f->arena_len;
            for (size_t i = starts[k]; i < starts[k + 1]; i++) {
                pp_store_alert_t *o = &f->order[i];
                touch(f, &ne, o->a->partition);
                if (o->ops & (PP_STORE_PUBLISH | PP_STORE_HOLD)) {
                    arena_room(f, ALERT_PACK_MAX);
                    o->packed_len = pp_alert_pack(o->a, o->config_version, (uint8_t *)f->arena + f->arena_len,
                                                  ALERT_PACK_MAX);
                    f->arena_len += o->packed_len;
                }
            }
            for (size_t i = starts[k]; i < starts[k + 1]; i++)
                f->open_at[i] = render_open(f, &f->order[i]);
            resolve(f, np);
            for (size_t i = starts[k], at = first_alert; i < starts[k + 1]; i++) { /* the arena is settled */
                f->order[i].packed = (const uint8_t *)f->arena + at;
                at += f->order[i].packed_len;
                f->order[i].open_json = f->open_at[i] != NO_OPEN ? f->arena + f->open_at[i] : NULL;
            }
            pp_store_write_t w = {.partners = f->parts, .n_partners = np, .alerts = f->order + starts[k],
                                  .n_alerts = starts[k + 1] - starts[k], .epochs = f->epochs, .n_epochs = ne,
                                  .marker = f->marker, .stream_maxlen = f->stream_maxlen};
            rc = vt->send(s, &w, &ticket[k % FLUSH_INFLIGHT]);
        } else {
            rc = vt->confirm(s, ticket[confirmed % FLUSH_INFLIGHT]);
            confirmed += rc == 0;
        }
    }
    free(starts);

    /* 2. every chunk is in: the offsets of record */
    if (rc == 0 && f->n_touched > 0) {
        size_t ne = 0;
        new_write(f);
        for (size_t i = 0; i < f->n_touched; i++) {
            pp_store_offset_t *o = &f->written[i];
            int t = (int)f->touched[i].next_offset;
            *o = f->touched[i];
            o->next_offset = f->next_offset[t][o->partition];
            touch(f, &ne, o->partition);
        }
        size_t no = f->n_touched;
        for (size_t i = 0; i < f->n_wm; i++) { /* the watermarks ride with the offsets */
            int32_t p = f->wm_touched[i];
            f->written[no++] = (pp_store_offset_t){.topic = PP_WATERMARK_FIELD, .partition = p,
                                                   .next_offset = f->watermark[p]};
            touch(f, &ne, p);
        }
        pp_store_write_t w = {.offsets = f->written, .n_offsets = no, .epochs = f->epochs,
                              .n_epochs = ne, .marker = f->marker};
        size_t t = 0;
        rc = vt->send(s, &w, &t);
        if (rc == 0)
            rc = vt->confirm(s, t);
    }
    if (rc != 0) {
        vt->abandon(s);
        forget_written(f, cache);
        return rc;
    }
    res->n_offsets = f->n_written_offsets = f->n_touched; /* (the watermarks after them are not listed) */
    res->offsets = f->written;
    res->alerts = f->alerts;
    res->n_alerts = n_alerts;
    res->partners = n;
    res->fields = f->fields_written;
    f->n_written = n_alerts ? n_alerts : 0;
    if (n_alerts == 0)
        f->n_alerts = 0;
    clear_offsets(f);
    f->n_points = 0;
    pp_cache_clear_dirty(cache);
    f->n_before = 0;
    return 0;
}
