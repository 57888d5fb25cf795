/*
 * pp_web_index: the in-memory leaderboard index (see pp_web_index.h).
 *
 * A table is an array of rows, an open-addressing map id -> row, and one
 * pool per facet (owner, type, tier, rag, flag) of the distinct values with
 * their reference counts: a row points at its pooled owner/type/tier/rag,
 * so they cost one pointer each, and the facets are the pooled values still
 * referenced. Rows are never removed (partners never leave pp:health).
 */
#define _GNU_SOURCE /* qsort_r, strcasestr */
#include "pp_web_index.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_web_redis.h"

/* The hash fields a row is made of, in HMGET order. */
enum { F_NAME, F_HEALTH, F_RAG, F_CONF, F_FLAGS, F_OWNER, F_TYPE, F_TIER, F_LAST, F_UPDATED, F_COUNT };

typedef struct pool {
    char **v;     /* owned distinct values; never freed before the table */
    size_t *refs; /* rows referencing v[i] */
    size_t n, cap;
    size_t bytes; /* strings held */
} pool_t;

typedef struct row {
    char *id;           /* owned */
    char *display_name; /* owned */
    char *flags;        /* owned, as stored: "a,b" */
    const char *rag, *owner, *type, *tier; /* pooled */
    double score;       /* pp:health score (sort key of "health") */
    double health;      /* the hash's health (shown); score when absent */
    double confidence;  /* valid if has_conf */
    long long last_event_ms, updated_at_ms; /* 0 = null */
    unsigned nflags;
    bool has_conf;
} row_t;

typedef struct tab {
    row_t *rows;
    size_t n, cap;
    uint32_t *slots;    /* 0 = empty, else row index + 1 */
    size_t nslots;      /* power of two, >= 2 n */
    pool_t owner, type, tier, rag, flag;
    size_t str_bytes;   /* id, display_name, flags strings */
} tab_t;

struct pp_web_index {
    pthread_rwlock_t lock;  /* guards t and everything in it */
    tab_t *t;               /* NULL until the first rebuild */
    char prefix[PP_WEB_STR_MAX];
    pp_web_change_fn on_change;
    void *ctx;
};

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- pools ---- */

/* The pooled copy of s with one more reference; NULL when out of memory. */
static const char *pool_ref(pool_t *p, const char *s)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i], s) == 0) {
            p->refs[i]++;
            return p->v[i];
        }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **v = realloc(p->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        p->v = v;
        size_t *r = realloc(p->refs, cap * sizeof *r);
        if (r == NULL)
            return NULL;
        p->refs = r;
        p->cap = cap;
    }
    char *d = dupstr(s);
    if (d == NULL)
        return NULL;
    p->v[p->n] = d;
    p->refs[p->n++] = 1;
    p->bytes += strlen(s) + 1;
    return d;
}

static void pool_unref(pool_t *p, const char *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == s) {
            p->refs[i]--;
            return;
        }
}

static void pool_free(pool_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    free(p->refs);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The values still referenced, sorted, as a new JSON array. */
static json_t *pool_facet(const pool_t *p)
{
    json_t *a = json_array();
    const char **vals = malloc((p->n ? p->n : 1) * sizeof *vals);
    size_t n = 0;
    if (a == NULL || vals == NULL) {
        free(vals);
        json_decref(a);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->refs[i] > 0 && p->v[i][0] != '\0')
            vals[n++] = p->v[i];
    qsort(vals, n, sizeof *vals, cmp_str);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, pp_web_json_str(vals[i]));
    free(vals);
    return a;
}

/* Reference (ref = true) or release each comma-separated rule of flags. */
static unsigned flags_each(pool_t *p, const char *flags, bool ref)
{
    unsigned n = 0;
    char one[PP_WEB_STR_MAX];
    for (const char *s = flags; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0 && len < sizeof one) {
            memcpy(one, s, len);
            one[len] = '\0';
            if (ref) {
                pool_ref(p, one);
            } else {
                for (size_t i = 0; i < p->n; i++)
                    if (strcmp(p->v[i], one) == 0 && p->refs[i] > 0) {
                        p->refs[i]--;
                        break;
                    }
            }
            n++;
        }
        s += len + (e ? 1 : 0);
    }
    return n;
}

static bool flags_has(const char *flags, const char *rule)
{
    size_t rl = strlen(rule);
    for (const char *s = flags; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == rl && memcmp(s, rule, rl) == 0)
            return true;
        s += len + (e ? 1 : 0);
    }
    return false;
}

/* ---- tables ---- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Index of the row with this id, or -1. */
static long tab_find(const tab_t *t, const char *id)
{
    if (t->nslots == 0)
        return -1;
    for (size_t i = hash_id(id) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        uint32_t s = t->slots[i];
        if (s == 0)
            return -1;
        if (strcmp(t->rows[s - 1].id, id) == 0)
            return (long)(s - 1);
    }
}

static int tab_rehash(tab_t *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return -ENOMEM;
    for (size_t r = 0; r < t->n; r++) {
        size_t i = hash_id(t->rows[r].id) & (nslots - 1);
        while (slots[i] != 0)
            i = (i + 1) & (nslots - 1);
        slots[i] = (uint32_t)(r + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static void tab_free(tab_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].id);
        free(t->rows[i].display_name);
        free(t->rows[i].flags);
    }
    free(t->rows);
    free(t->slots);
    pool_free(&t->owner);
    pool_free(&t->type);
    pool_free(&t->tier);
    pool_free(&t->rag);
    pool_free(&t->flag);
    free(t);
}

/* A new empty row for id (score as given), or NULL when out of memory. */
static row_t *tab_add(tab_t *t, const char *id, double score)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        row_t *rows = realloc(t->rows, cap * sizeof *rows);
        if (rows == NULL)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->nslots && tab_rehash(t, t->nslots ? t->nslots * 2 : 2048) != 0)
        return NULL;
    row_t *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->id = dupstr(id);
    if (r->id == NULL)
        return NULL;
    r->score = r->health = score;
    t->str_bytes += strlen(id) + 1;
    size_t i = hash_id(id) & (t->nslots - 1);
    while (t->slots[i] != 0)
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = (uint32_t)(t->n + 1);
    t->n++;
    return r;
}

static const char *reply_str(const redisReply *h, int f)
{
    if (h == NULL || h->type != REDIS_REPLY_ARRAY || (size_t)f >= h->elements)
        return "";
    const redisReply *e = h->element[f];
    return e->type == REDIS_REPLY_STRING ? e->str : "";
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    if (s[0] == '\0')
        return false;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0')
        return false;
    *out = v;
    return true;
}

static long long parse_ms(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || end == s || *end != '\0' || v < 0 ? 0 : v;
}

/* Replace r's fields by the HMGET reply h (F_* order). Returns
 * whether health, rag or flags changed. -ENOMEM leaves r consistent. */
static int row_set(tab_t *t, row_t *r, const redisReply *h, bool *ret_changed)
{
    const char *name = reply_str(h, F_NAME), *flags = reply_str(h, F_FLAGS);
    double health = r->score;
    parse_double(reply_str(h, F_HEALTH), &health);
    bool changed = health != r->health || r->rag == NULL || strcmp(r->rag, reply_str(h, F_RAG)) != 0 ||
                   r->flags == NULL || strcmp(r->flags, flags) != 0;

    char *dn = dupstr(name), *fl = dupstr(flags);
    const char *rag = pool_ref(&t->rag, reply_str(h, F_RAG)), *owner = pool_ref(&t->owner, reply_str(h, F_OWNER)),
               *type = pool_ref(&t->type, reply_str(h, F_TYPE)), *tier = pool_ref(&t->tier, reply_str(h, F_TIER));
    if (dn == NULL || fl == NULL || rag == NULL || owner == NULL || type == NULL || tier == NULL) {
        free(dn);
        free(fl);
        pool_unref(&t->rag, rag);
        pool_unref(&t->owner, owner);
        pool_unref(&t->type, type);
        pool_unref(&t->tier, tier);
        return -ENOMEM;
    }
    pool_unref(&t->rag, r->rag);
    pool_unref(&t->owner, r->owner);
    pool_unref(&t->type, r->type);
    pool_unref(&t->tier, r->tier);
    if (r->flags != NULL) {
        flags_each(&t->flag, r->flags, false);
        t->str_bytes -= strlen(r->flags) + 1;
    }
    if (r->display_name != NULL)
        t->str_bytes -= strlen(r->display_name) + 1;
    free(r->display_name);
    free(r->flags);
    r->display_name = dn;
    r->flags = fl;
    t->str_bytes += strlen(dn) + 1 + strlen(fl) + 1;
    r->nflags = flags_each(&t->flag, fl, true);
    r->rag = rag;
    r->owner = owner;
    r->type = type;
    r->tier = tier;
    r->health = health;
    r->has_conf = parse_double(reply_str(h, F_CONF), &r->confidence);
    r->last_event_ms = parse_ms(reply_str(h, F_LAST));
    r->updated_at_ms = parse_ms(reply_str(h, F_UPDATED));
    *ret_changed = changed;
    return 0;
}

static json_t *ms_json(long long ms)
{
    return ms > 0 ? json_integer(ms) : json_null();
}

/* The row as the API shows it (docs/dashboard.md). */
static json_t *row_json(const row_t *r)
{
    json_t *flags = json_array();
    char one[PP_WEB_STR_MAX];
    for (const char *s = r->flags ? r->flags : ""; *s && flags;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0 && len < sizeof one) {
            memcpy(one, s, len);
            one[len] = '\0';
            json_array_append_new(flags, pp_web_json_str(one));
        }
        s += len + (e ? 1 : 0);
    }
    return json_pack("{s:o, s:o, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", pp_web_json_str(r->id),
                     "display_name", pp_web_json_str(r->display_name ? r->display_name : ""), "health", r->health,
                     "rag", pp_web_json_str(r->rag ? r->rag : ""), "confidence",
                     r->has_conf ? json_real(r->confidence) : json_null(), "flags", flags ? flags : json_array(),
                     "owner", pp_web_json_str(r->owner), "partner_type", pp_web_json_str(r->type), "tier",
                     pp_web_json_str(r->tier), "last_event_ms", ms_json(r->last_event_ms), "updated_at_ms",
                     ms_json(r->updated_at_ms));
}

/*
 * Pipelined HMGETs of ids[0..n), PP_WEB_INDEX_BATCH per round trip; each
 * batch's replies (all of them read first) go to apply(arg, base, replies,
 * m) = ids[base..base+m). 0, -EIO or -ENOMEM with err.
 */
typedef int (*apply_fn)(void *arg, size_t base, redisReply **replies, size_t m);

static int hmget_all(redisContext *c, const char *prefix, const char *const *ids, size_t n, apply_fn apply,
                     void *arg, char *err, size_t err_len)
{
    int rc = 0;
    for (size_t b = 0; b < n && rc == 0; b += PP_WEB_INDEX_BATCH) {
        size_t m = n - b < PP_WEB_INDEX_BATCH ? n - b : PP_WEB_INDEX_BATCH, got = 0;
        redisReply *replies[PP_WEB_INDEX_BATCH];
        for (size_t i = 0; i < m; i++) {
            char key[2 * PP_WEB_STR_MAX];
            snprintf(key, sizeof key, "%spartner:{%s}", prefix, ids[b + i]);
            const char *argv[2 + F_COUNT] = {"HMGET", key, "display_name", "health", "rag", "confidence", "flags",
                                             "owner", "partner_type", "tier", "last_event_ms", "updated_at_ms"};
            if (redisAppendCommandArgv(c, 2 + F_COUNT, argv, NULL) != REDIS_OK) {
                snprintf(err, err_len, "Redis: %s", c->errstr);
                return -EIO;
            }
        }
        for (; got < m; got++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK || r == NULL)
                break;
            replies[got] = r;
            if (replies[got]->type == REDIS_REPLY_ERROR) {
                snprintf(err, err_len, "Redis HMGET refused: %s", replies[got]->str);
                rc = -EIO;
            }
        }
        if (got < m) {
            snprintf(err, err_len, "Redis HMGET: %s", c->errstr[0] ? c->errstr : "no reply");
            rc = -EIO;
        }
        if (rc == 0 && (rc = apply(arg, b, replies, m)) != 0)
            snprintf(err, err_len, "out of memory reading the leaderboard");
        for (size_t i = 0; i < got; i++)
            freeReplyObject(replies[i]);
    }
    return rc;
}

/* ZRANGE pp:health 0 -1 WITHSCORES, or NULL with err. */
static redisReply *read_scores(redisContext *c, const char *prefix, char *err, size_t err_len)
{
    redisReply *z = redisCommand(c, "ZRANGE %shealth 0 -1 WITHSCORES", prefix);
    if (z == NULL || z->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_len, "Redis ZRANGE %shealth: %s", prefix,
                 z && z->type == REDIS_REPLY_ERROR ? z->str : c->errstr);
        if (z)
            freeReplyObject(z);
        return NULL;
    }
    return z;
}

/* ---- the index ---- */

pp_web_index_t *pp_web_index_new(const char *prefix, pp_web_change_fn on_change, void *ctx)
{
    pp_web_index_t *ix = calloc(1, sizeof *ix);
    if (ix == NULL)
        return NULL;
    if (pthread_rwlock_init(&ix->lock, NULL) != 0) {
        free(ix);
        return NULL;
    }
    snprintf(ix->prefix, sizeof ix->prefix, "%s", prefix);
    ix->on_change = on_change;
    ix->ctx = ctx;
    return ix;
}

void pp_web_index_free(pp_web_index_t *ix)
{
    if (ix == NULL)
        return;
    tab_free(ix->t);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

bool pp_web_index_ready(pp_web_index_t *ix)
{
    pthread_rwlock_rdlock(&ix->lock);
    bool ready = ix->t != NULL;
    pthread_rwlock_unlock(&ix->lock);
    return ready;
}

void pp_web_index_stats(pp_web_index_t *ix, size_t *ret_partners, size_t *ret_bytes)
{
    pthread_rwlock_rdlock(&ix->lock);
    const tab_t *t = ix->t;
    size_t n = 0, bytes = 0;
    if (t != NULL) {
        n = t->n;
        bytes = sizeof *t + t->cap * sizeof(row_t) + t->nslots * sizeof(uint32_t) + t->str_bytes +
                t->owner.bytes + t->type.bytes + t->tier.bytes + t->rag.bytes + t->flag.bytes;
    }
    pthread_rwlock_unlock(&ix->lock);
    if (ret_partners)
        *ret_partners = n;
    if (ret_bytes)
        *ret_bytes = bytes;
}

static void notify(pp_web_index_t *ix, const row_t *r)
{
    if (ix->on_change == NULL)
        return;
    json_t *j = row_json(r);
    if (j != NULL)
        ix->on_change(ix->ctx, j);
    json_decref(j);
}

typedef struct build_arg {
    tab_t *t;
    const redisReply *z; /* the scores: z->element[2 i], [2 i + 1] */
} build_arg_t;

static int build_apply(void *arg, size_t base, redisReply **replies, size_t m)
{
    build_arg_t *a = arg;
    for (size_t i = 0; i < m; i++) {
        const char *id = a->z->element[2 * (base + i)]->str;
        double score = atof(a->z->element[2 * (base + i) + 1]->str);
        bool changed;
        if (tab_find(a->t, id) >= 0)
            continue;
        row_t *r = tab_add(a->t, id, score);
        if (r == NULL || row_set(a->t, r, replies[i], &changed) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* The ids of a WITHSCORES reply, as an array of borrowed pointers. */
static const char **member_ids(const redisReply *z, size_t *ret_n)
{
    size_t n = z->elements / 2;
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    if (ids == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ids[i] = z->element[2 * i]->type == REDIS_REPLY_STRING ? z->element[2 * i]->str : "";
    *ret_n = n;
    return ids;
}

int pp_web_index_rebuild(pp_web_index_t *ix, redisContext *c, char *err, size_t err_len)
{
    int rc = -EIO;
    const char **ids = NULL;
    size_t n = 0;
    tab_t *t = calloc(1, sizeof *t);
    redisReply *z = read_scores(c, ix->prefix, err, err_len);
    if (z == NULL || t == NULL)
        goto out;
    if ((ids = member_ids(z, &n)) == NULL) {
        snprintf(err, err_len, "out of memory reading the leaderboard");
        goto out;
    }
    build_arg_t a = {.t = t, .z = z};
    if (hmget_all(c, ix->prefix, ids, n, build_apply, &a, err, err_len) != 0)
        goto out;
    pthread_rwlock_wrlock(&ix->lock);
    tab_t *old = ix->t;
    if (old != NULL) /* what moved since the last look: the SSE health events */
        for (size_t i = 0; i < t->n; i++) {
            long o = tab_find(old, t->rows[i].id);
            const row_t *r = &t->rows[i], *p = o >= 0 ? &old->rows[o] : NULL;
            if (p != NULL && (p->health != r->health || strcmp(p->rag, r->rag) != 0 || strcmp(p->flags, r->flags) != 0))
                notify(ix, r);
        }
    ix->t = t;
    t = old; /* freed below */
    pthread_rwlock_unlock(&ix->lock);
    rc = 0;
out:
    tab_free(t);
    free(ids);
    if (z)
        freeReplyObject(z);
    return rc;
}

typedef struct update_arg {
    pp_web_index_t *ix;
    const char *const *ids;
    const double *scores; /* NULL = keep the row's score */
} update_arg_t;

/* Apply one re-read row (index write-locked). */
static int update_one(update_arg_t *a, size_t i, const redisReply *h)
{
    tab_t *t = a->ix->t;
    long k = tab_find(t, a->ids[i]);
    bool changed = false, known = k >= 0;
    row_t *r;
    if (known) {
        r = &t->rows[k];
    } else if (a->scores != NULL) {
        r = tab_add(t, a->ids[i], a->scores[i]);
        if (r == NULL)
            return -ENOMEM;
    } else {
        return 0; /* not in pp:health yet: the next poll adds it */
    }
    if (a->scores != NULL)
        r->score = a->scores[i];
    int rc = row_set(t, r, h, &changed);
    if (rc == 0 && (changed || !known))
        notify(a->ix, r);
    return rc;
}

/* A batch of re-read rows, applied under one write lock. */
static int update_apply(void *arg, size_t base, redisReply **replies, size_t m)
{
    update_arg_t *a = arg;
    int rc = 0;
    pthread_rwlock_wrlock(&a->ix->lock);
    for (size_t i = 0; i < m && rc == 0 && a->ix->t != NULL; i++)
        if (replies[i]->type == REDIS_REPLY_ARRAY)
            rc = update_one(a, base + i, replies[i]);
    pthread_rwlock_unlock(&a->ix->lock);
    return rc;
}

/* Re-read ids (scores: their new pp:health scores, or NULL) and apply. */
static int update_rows(pp_web_index_t *ix, redisContext *c, const char *const *ids, const double *scores, size_t n,
                       char *err, size_t err_len)
{
    update_arg_t a = {.ix = ix, .ids = ids, .scores = scores};
    return hmget_all(c, ix->prefix, ids, n, update_apply, &a, err, err_len);
}

int pp_web_index_reread(pp_web_index_t *ix, redisContext *c, const char *const *ids, size_t n, char *err,
                        size_t err_len)
{
    return update_rows(ix, c, ids, NULL, n, err, err_len);
}

int pp_web_index_poll(pp_web_index_t *ix, redisContext *c, size_t *ret_changed, char *err, size_t err_len)
{
    int rc = -EIO;
    const char **ids = NULL;
    double *scores = NULL;
    size_t m = 0;
    redisReply *z = NULL;

    if (!pp_web_index_ready(ix)) {
        rc = 0;
        goto out;
    }
    if ((z = read_scores(c, ix->prefix, err, err_len)) == NULL)
        goto out;
    size_t n = z->elements / 2;
    ids = malloc((n ? n : 1) * sizeof *ids);
    scores = malloc((n ? n : 1) * sizeof *scores);
    if (ids == NULL || scores == NULL) {
        snprintf(err, err_len, "out of memory polling the leaderboard");
        goto out;
    }
    pthread_rwlock_rdlock(&ix->lock);
    for (size_t i = 0; i < n; i++) {
        const char *id = z->element[2 * i]->str;
        double s = atof(z->element[2 * i + 1]->str);
        long k = tab_find(ix->t, id);
        if (k < 0 || ix->t->rows[k].score != s) {
            ids[m] = id;
            scores[m++] = s;
        }
    }
    pthread_rwlock_unlock(&ix->lock);
    rc = update_rows(ix, c, ids, scores, m, err, err_len);
out:
    if (ret_changed)
        *ret_changed = rc == 0 ? m : 0;
    free(ids);
    free(scores);
    if (z)
        freeReplyObject(z);
    return rc;
}

/* ---- queries ---- */

static const char *const SORT_NAMES[PP_SORT_COUNT] = {
    "health", "rag", "confidence", "flags", "owner", "partner_type", "tier", "last_event_ms", "display_name", "id"};

const char *pp_web_sort_name(pp_web_sort_t s)
{
    return (unsigned)s < PP_SORT_COUNT ? SORT_NAMES[s] : "health";
}

int pp_web_sort_of(const char *name)
{
    for (int i = 0; i < PP_SORT_COUNT; i++)
        if (strcmp(name, SORT_NAMES[i]) == 0)
            return i;
    return -1;
}

/* red first: ascending = most at risk first, as for health */
static int rag_rank(const char *rag)
{
    return strcmp(rag, "red") == 0 ? 0 : strcmp(rag, "amber") == 0 ? 1 : strcmp(rag, "green") == 0 ? 2 : 3;
}

static int cmp_num(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

typedef struct sort_ctx {
    const row_t *rows;
    pp_web_sort_t sort;
    int dir; /* 1 ascending, -1 descending */
} sort_ctx_t;

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
    const sort_ctx_t *s = arg;
    const row_t *a = &s->rows[*(const uint32_t *)pa], *b = &s->rows[*(const uint32_t *)pb];
    int c = 0;
    switch (s->sort) {
    case PP_SORT_HEALTH: c = cmp_num(a->score, b->score); break;
    case PP_SORT_RAG: c = rag_rank(a->rag) - rag_rank(b->rag); break;
    /* nulls (no data) sort as the lowest value */
    case PP_SORT_CONFIDENCE: c = cmp_num(a->has_conf ? a->confidence : -1, b->has_conf ? b->confidence : -1); break;
    case PP_SORT_FLAGS: c = cmp_num(a->nflags, b->nflags); break;
    case PP_SORT_OWNER: c = strcmp(a->owner, b->owner); break;
    case PP_SORT_TYPE: c = strcmp(a->type, b->type); break;
    case PP_SORT_TIER: c = strcmp(a->tier, b->tier); break;
    case PP_SORT_LAST_EVENT: c = cmp_num((double)a->last_event_ms, (double)b->last_event_ms); break;
    case PP_SORT_DISPLAY_NAME:
        c = strcasecmp(a->display_name, b->display_name);
        if (c == 0)
            c = strcmp(a->display_name, b->display_name);
        break;
    case PP_SORT_ID:
    case PP_SORT_COUNT: break;
    }
    if (c == 0)
        c = strcmp(a->id, b->id); /* a total order: pages never overlap */
    return c * s->dir;
}

static bool set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static bool row_matches(const row_t *r, const pp_web_query_t *q)
{
    if (set(q->owner) && strcmp(r->owner, q->owner) != 0)
        return false;
    if (set(q->type) && strcmp(r->type, q->type) != 0)
        return false;
    if (set(q->tier) && strcmp(r->tier, q->tier) != 0)
        return false;
    if (set(q->rag) && strcmp(r->rag, q->rag) != 0)
        return false;
    if (set(q->flag) && !flags_has(r->flags, q->flag))
        return false;
    if (set(q->q) && strcasestr(r->id, q->q) == NULL && strcasestr(r->display_name, q->q) == NULL)
        return false;
    return true;
}

/* The fixed part of every answer: paging, sort and the rag facet. */
static json_t *answer(size_t total, size_t partners, const pp_web_query_t *q, json_t *rows, json_t *facets)
{
    json_object_set_new(facets, "rag", json_pack("[sss]", "red", "amber", "green"));
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "total", (json_int_t)total, "partners_total",
                     (json_int_t)partners, "offset", (json_int_t)q->offset, "limit", (json_int_t)q->limit, "sort",
                     pp_web_sort_name(q->sort), "dir", q->desc ? "desc" : "asc", "rows", rows, "facets", facets);
}

json_t *pp_web_index_query(pp_web_index_t *ix, const pp_web_query_t *q)
{
    json_t *out = NULL;
    pthread_rwlock_rdlock(&ix->lock);
    const tab_t *t = ix->t;
    uint32_t *sel = t ? malloc((t->n ? t->n : 1) * sizeof *sel) : NULL;
    if (sel == NULL)
        goto out;
    size_t m = 0;
    for (size_t i = 0; i < t->n; i++)
        if (row_matches(&t->rows[i], q))
            sel[m++] = (uint32_t)i;
    sort_ctx_t sc = {.rows = t->rows, .sort = q->sort, .dir = q->desc ? -1 : 1};
    qsort_r(sel, m, sizeof *sel, cmp_rows, &sc);
    json_t *rows = json_array();
    for (size_t i = q->offset; rows && i < m && i < q->offset + q->limit; i++)
        json_array_append_new(rows, row_json(&t->rows[sel[i]]));
    json_t *facets = json_pack("{s:o, s:o, s:o, s:o}", "owner", pool_facet(&t->owner), "type", pool_facet(&t->type),
                               "tier", pool_facet(&t->tier), "flag", pool_facet(&t->flag));
    if (rows != NULL && facets != NULL) {
        out = answer(m, t->n, q, rows, facets);
        rows = facets = NULL; /* now owned by out */
        json_object_set_new(out, "indexed", json_true());
    }
    json_decref(rows);
    json_decref(facets);
out:
    pthread_rwlock_unlock(&ix->lock);
    free(sel);
    return out;
}

json_t *pp_web_leaderboard_direct(redisContext *c, const char *prefix, size_t offset, size_t limit, bool desc,
                                  char *err, size_t err_len)
{
    json_t *out = NULL;
    const char **ids = NULL;
    size_t n = 0;
    tab_t *t = calloc(1, sizeof *t);
    redisReply *card = redisCommand(c, "ZCARD %shealth", prefix);
    redisReply *z = redisCommand(c, "%s %shealth %zu %zu WITHSCORES", desc ? "ZREVRANGE" : "ZRANGE", prefix,
                                 offset, offset + (limit ? limit : 1) - 1);
    if (card == NULL || card->type != REDIS_REPLY_INTEGER || z == NULL || z->type != REDIS_REPLY_ARRAY) {
        const redisReply *bad = card && card->type == REDIS_REPLY_ERROR ? card : z;
        snprintf(err, err_len, "Redis leaderboard read: %s",
                 bad && bad->type == REDIS_REPLY_ERROR ? bad->str : c->errstr);
        goto out;
    }
    if (t == NULL || (ids = member_ids(z, &n)) == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    build_arg_t a = {.t = t, .z = z};
    if (hmget_all(c, prefix, ids, limit ? n : 0, build_apply, &a, err, err_len) != 0)
        goto out;
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < t->n; i++)
        json_array_append_new(rows, row_json(&t->rows[i]));
    pp_web_query_t q = {.offset = offset, .limit = limit, .sort = PP_SORT_HEALTH, .desc = desc};
    json_t *facets = json_pack("{s:[], s:[], s:[], s:[]}", "owner", "type", "tier", "flag");
    out = answer((size_t)card->integer, (size_t)card->integer, &q, rows, facets);
    if (out != NULL)
        json_object_set_new(out, "indexed", json_false());
out:
    tab_free(t);
    free(ids);
    if (card)
        freeReplyObject(card);
    if (z)
        freeReplyObject(z);
    return out;
}
