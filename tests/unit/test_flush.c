/*
 * pp_flush and pp_offsets through the store port (pp_store.h), without a
 * Redis: an in-memory store that logs every write it receives, applies them
 * in order when confirmed (refusing a write as a whole on a stale owner
 * epoch or marker, as the Redis write script does), and fails the k-th send
 * or confirm on request. The ordering rules of DESIGN §9 are checked on what
 * it logged and on what it applied:
 *   - the offsets of record are the last write, sent only once every chunk
 *     is confirmed, and never cover an event whose partner state the store
 *     does not hold (checked after every applied write);
 *   - a failed write commits nothing: no offsets, the partners stay dirty,
 *     alerts and offsets stay pending, and the retry rewrites every field;
 *   - fencing (-EPERM) and a replaced store (-ESTALE) apply nothing;
 *   - start offsets come from the store (pp_offsets_start), and the trust
 *     verdicts (pp_offsets_judge) follow their truth table;
 *   - an alert rides in the write that carries its partner.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "pp_cache.h"
#include "pp_engine.h"
#include "pp_flush.h"
#include "pp_offsets.h"
#include "pp_store.h"

/* ======================================================================
 * The fault-injecting store
 * ====================================================================== */

#define FS_PARTS 16        /* partitions this store knows owners and offsets of */
#define FS_STATES 4200     /* partner states it can hold */
#define FS_ALERTS 4096     /* alerts it can record */

static const char *const TOPICS[PP_TOPIC_COUNT] = {"t.deals", "t.referrals", "t.engagements", "t.lifecycle"};

static int topic_index(const char *name)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (strcmp(TOPICS[t], name) == 0)
            return t;
    return -1;
}

typedef struct fs_partner {
    char id[PP_ID_MAX + 1];
    int32_t partition;
    uint8_t *blob;
    size_t blob_len;
    size_t n_fields;
    bool set_health, set_deadline;
    int64_t deadline_ms;
    pp_store_point_t trend[PP_TREND_DAYS];
    size_t n_trend;
} fs_partner_t;

typedef struct fs_alert {
    char alert_id[PP_ALERT_ID_LEN + 1];
    char partner_id[PP_ID_MAX + 1];
    int32_t partition;
    unsigned ops;
    bool publish;          /* a->publish as sent */
    size_t packed_len;
} fs_alert_t;

typedef struct fs_offset {
    int topic;             /* index in TOPICS, -1 = a name not ours */
    int32_t partition;
    int64_t next_offset;
} fs_offset_t;

enum fs_outcome { FS_PENDING = 1, FS_APPLIED = 0, FS_ABANDONED = 2 }; /* else the negative error */

/* One write as received (deep copy: the caller reuses its buffers). */
typedef struct fs_write {
    size_t seq;                 /* 1-based, in order sent */
    fs_partner_t *partners;
    size_t n_partners;
    fs_alert_t *alerts;
    size_t n_alerts;
    fs_offset_t *offsets;
    size_t n_offsets;
    pp_store_epoch_t *epochs;
    size_t n_epochs;
    char marker[PP_STORE_MARKER_MAX];
    int outcome;                /* enum fs_outcome or -errno */
    size_t send_step, confirm_step; /* when (in sends + confirms) */
    bool epochs_incomplete;     /* touched a partition it is not conditioned on */
} fs_write_t;

typedef struct fs_state {
    char id[PP_ID_MAX + 1];
    uint8_t *blob;
    size_t blob_len;
    size_t seq;                 /* the write that put it */
} fs_state_t;

typedef struct fake_store fake_store_t;
struct fake_store {
    /* what it received */
    fs_write_t *log;
    size_t n_log, log_cap;
    size_t oldest;              /* index in log of the oldest unconfirmed write */
    size_t step, sends, confirms, abandons, read_offsets_calls;
    size_t ticket_mismatch;     /* confirm() with a ticket other than the oldest write's */

    /* faults (1-based counts; 0 = none) */
    size_t fail_send_at, fail_confirm_at;
    int fail_rc;                /* what the failing call answers (-EIO by default) */
    bool fail_read_offsets;

    /* what it holds (applied) */
    char run_id[PP_STORE_RUNID_MAX];
    char marker[PP_STORE_MARKER_MAX];
    int64_t epoch[FS_PARTS];    /* 0 = no owner key (every check fails, as GET returns nil) */
    int64_t offsets[PP_TOPIC_COUNT][FS_PARTS]; /* -1 = none */
    fs_state_t *states;
    size_t n_states;
    fs_alert_t *alerts;
    size_t n_alerts;
    size_t applied_writes;

    /* checked after every applied write */
    void (*on_apply)(fake_store_t *fs, const fs_write_t *w);
    void *opaque;
    char err[160];
};

static void fs_init(fake_store_t *fs)
{
    memset(fs, 0, sizeof *fs);
    fs->fail_rc = -EIO;
    strcpy(fs->run_id, "run-1");
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int p = 0; p < FS_PARTS; p++)
            fs->offsets[t][p] = -1;
    fs->states = calloc(FS_STATES, sizeof *fs->states);
    fs->alerts = calloc(FS_ALERTS, sizeof *fs->alerts);
    cr_assert(fs->states && fs->alerts);
}

static void fs_free(fake_store_t *fs)
{
    for (size_t i = 0; i < fs->n_log; i++) {
        fs_write_t *w = &fs->log[i];
        for (size_t k = 0; k < w->n_partners; k++)
            free(w->partners[k].blob);
        free(w->partners);
        free(w->alerts);
        free(w->offsets);
        free(w->epochs);
    }
    free(fs->log);
    for (size_t i = 0; i < fs->n_states; i++)
        free(fs->states[i].blob);
    free(fs->states);
    free(fs->alerts);
}

static fs_state_t *fs_state(fake_store_t *fs, const char *id)
{
    for (size_t i = 0; i < fs->n_states; i++)
        if (strcmp(fs->states[i].id, id) == 0)
            return &fs->states[i];
    return NULL;
}

static bool epochs_have(const fs_write_t *w, int32_t p)
{
    for (size_t i = 0; i < w->n_epochs; i++)
        if (w->epochs[i].partition == p)
            return true;
    return false;
}

static const char *fs_error(void *s)
{
    fake_store_t *fs = s;
    return fs->err;
}

static int fs_identify(void *s, pp_store_identity_t *out)
{
    fake_store_t *fs = s;
    memset(out, 0, sizeof *out);
    snprintf(out->run_id, sizeof out->run_id, "%s", fs->run_id);
    snprintf(out->marker, sizeof out->marker, "%s", fs->marker);
    out->has_data = fs->n_states > 0;
    return 0;
}

static int fs_create_marker(void *s, const char *marker, char out[PP_STORE_MARKER_MAX])
{
    fake_store_t *fs = s;
    if (fs->marker[0] == '\0')
        snprintf(fs->marker, sizeof fs->marker, "%s", marker);
    snprintf(out, PP_STORE_MARKER_MAX, "%s", fs->marker);
    return 0;
}

static int fs_claim(void *s, const int32_t *partitions, size_t n, int64_t *epochs)
{
    fake_store_t *fs = s;
    for (size_t i = 0; i < n; i++) {
        if (partitions[i] < 0 || partitions[i] >= FS_PARTS)
            return -EIO;
        epochs[i] = ++fs->epoch[partitions[i]];
    }
    return 0;
}

static int fs_read_offsets(void *s, int32_t partition, const char *const *topics, size_t n_topics, int64_t *out)
{
    fake_store_t *fs = s;
    fs->read_offsets_calls++;
    if (fs->fail_read_offsets) {
        snprintf(fs->err, sizeof fs->err, "injected read_offsets failure");
        return -EIO;
    }
    for (size_t t = 0; t < n_topics; t++) {
        int ti = topic_index(topics[t]);
        out[t] = ti >= 0 && partition >= 0 && partition < FS_PARTS ? fs->offsets[ti][partition] : -1;
    }
    return 0;
}

static int fs_load(void *s, pp_partner_t *const *sts, size_t n, enum pp_store_found *found)
{
    fake_store_t *fs = s;
    for (size_t i = 0; i < n; i++) {
        fs_state_t *x = fs_state(fs, sts[i]->id);
        found[i] = x == NULL ? PP_FOUND_NONE
                   : pp_partner_decode(x->blob, x->blob_len, sts[i]) == 0 ? PP_FOUND_OK
                                                                          : PP_FOUND_CORRUPT;
    }
    return 0;
}

static int fs_quarantine(void *s, const char *id)
{
    (void)s;
    (void)id;
    return -EIO;
}

static int fs_send(void *s, const pp_store_write_t *w, size_t *ticket)
{
    fake_store_t *fs = s;
    *ticket = 0;
    fs->sends++;
    fs->step++;
    if (fs->fail_send_at && fs->sends == fs->fail_send_at) {
        snprintf(fs->err, sizeof fs->err, "injected send failure (send %zu)", fs->sends);
        return fs->fail_rc;
    }
    if (fs->n_log == fs->log_cap) {
        fs->log_cap = fs->log_cap ? fs->log_cap * 2 : 16;
        fs->log = realloc(fs->log, fs->log_cap * sizeof *fs->log);
        cr_assert_not_null(fs->log);
    }
    fs_write_t *c = &fs->log[fs->n_log];
    memset(c, 0, sizeof *c);
    c->seq = fs->n_log + 1;
    c->send_step = fs->step;
    c->outcome = FS_PENDING;
    snprintf(c->marker, sizeof c->marker, "%s", w->marker ? w->marker : "");
    c->n_epochs = w->n_epochs;
    c->epochs = calloc(w->n_epochs + 1, sizeof *c->epochs);
    memcpy(c->epochs, w->epochs, w->n_epochs * sizeof *c->epochs);
    c->n_partners = w->n_partners;
    c->partners = calloc(w->n_partners + 1, sizeof *c->partners);
    for (size_t i = 0; i < w->n_partners; i++) {
        const pp_store_partner_t *p = &w->partners[i];
        fs_partner_t *q = &c->partners[i];
        snprintf(q->id, sizeof q->id, "%s", p->id);
        q->partition = p->partition;
        q->blob = malloc(p->blob_len + 1);
        memcpy(q->blob, p->blob, p->blob_len);
        q->blob_len = p->blob_len;
        q->n_fields = p->n_fields;
        for (size_t k = 0; k < p->n_fields; k++) /* the strings must be readable */
            cr_assert(p->names[k] != NULL && p->values[k] != NULL && strlen(p->names[k]) > 0);
        q->set_health = p->set_health;
        q->set_deadline = p->set_deadline;
        q->deadline_ms = p->deadline_ms;
        cr_assert_leq(p->n_trend, PP_TREND_DAYS);
        memcpy(q->trend, p->trend, p->n_trend * sizeof *p->trend);
        q->n_trend = p->n_trend;
        c->epochs_incomplete |= !epochs_have(c, p->partition);
    }
    c->n_alerts = w->n_alerts;
    c->alerts = calloc(w->n_alerts + 1, sizeof *c->alerts);
    for (size_t i = 0; i < w->n_alerts; i++) {
        const pp_store_alert_t *x = &w->alerts[i];
        fs_alert_t *q = &c->alerts[i];
        snprintf(q->alert_id, sizeof q->alert_id, "%s", x->a->alert_id);
        snprintf(q->partner_id, sizeof q->partner_id, "%s", x->a->partner_id);
        q->partition = x->a->partition;
        q->ops = x->ops;
        q->publish = x->a->publish;
        q->packed_len = x->packed_len;
        c->epochs_incomplete |= !epochs_have(c, x->a->partition);
    }
    c->n_offsets = w->n_offsets;
    c->offsets = calloc(w->n_offsets + 1, sizeof *c->offsets);
    for (size_t i = 0; i < w->n_offsets; i++) {
        c->offsets[i].topic = topic_index(w->offsets[i].topic);
        c->offsets[i].partition = w->offsets[i].partition;
        c->offsets[i].next_offset = w->offsets[i].next_offset;
        c->epochs_incomplete |= !epochs_have(c, w->offsets[i].partition);
    }
    fs->n_log++;
    *ticket = c->seq;
    return 0;
}

/* Run write w as the Redis script does: checks first, then all or nothing. */
static int fs_apply(fake_store_t *fs, fs_write_t *w)
{
    if (w->marker[0] != '\0' && strcmp(w->marker, fs->marker) != 0) {
        snprintf(fs->err, sizeof fs->err, "marker is not %s", w->marker);
        return -ESTALE;
    }
    for (size_t i = 0; i < w->n_epochs; i++) {
        int32_t p = w->epochs[i].partition;
        if (p < 0 || p >= FS_PARTS || fs->epoch[p] == 0 || fs->epoch[p] != w->epochs[i].epoch) {
            snprintf(fs->err, sizeof fs->err, "fenced: partition %d moved on from epoch %lld", (int)p,
                     (long long)w->epochs[i].epoch);
            return -EPERM;
        }
    }
    for (size_t i = 0; i < w->n_partners; i++) {
        fs_state_t *x = fs_state(fs, w->partners[i].id);
        if (x == NULL) {
            cr_assert_lt(fs->n_states, FS_STATES);
            x = &fs->states[fs->n_states++];
            snprintf(x->id, sizeof x->id, "%s", w->partners[i].id);
        }
        free(x->blob);
        x->blob = malloc(w->partners[i].blob_len + 1);
        memcpy(x->blob, w->partners[i].blob, w->partners[i].blob_len);
        x->blob_len = w->partners[i].blob_len;
        x->seq = w->seq;
    }
    for (size_t i = 0; i < w->n_alerts; i++) {
        cr_assert_lt(fs->n_alerts, FS_ALERTS);
        fs->alerts[fs->n_alerts++] = w->alerts[i];
    }
    for (size_t i = 0; i < w->n_offsets; i++) {
        const fs_offset_t *o = &w->offsets[i];
        cr_assert(o->topic >= 0 && o->partition >= 0 && o->partition < FS_PARTS);
        fs->offsets[o->topic][o->partition] = o->next_offset;
    }
    fs->applied_writes++;
    return 0;
}

static int fs_confirm(void *s, size_t ticket)
{
    fake_store_t *fs = s;
    fs->confirms++;
    fs->step++;
    if (fs->oldest >= fs->n_log) {
        fs->ticket_mismatch++;
        snprintf(fs->err, sizeof fs->err, "confirm with nothing unconfirmed");
        return -EIO;
    }
    fs_write_t *w = &fs->log[fs->oldest++];
    if (ticket != w->seq)
        fs->ticket_mismatch++;
    w->confirm_step = fs->step;
    if (fs->fail_confirm_at && fs->confirms == fs->fail_confirm_at) {
        snprintf(fs->err, sizeof fs->err, "injected confirm failure (confirm %zu)", fs->confirms);
        w->outcome = fs->fail_rc; /* not applied (the connection died before it ran) */
        return fs->fail_rc;
    }
    w->outcome = fs_apply(fs, w);
    if (w->outcome == 0 && fs->on_apply)
        fs->on_apply(fs, w);
    return w->outcome;
}

static void fs_abandon(void *s)
{
    fake_store_t *fs = s;
    fs->abandons++;
    for (; fs->oldest < fs->n_log; fs->oldest++)
        fs->log[fs->oldest].outcome = FS_ABANDONED;
}

static int fs_due(void *s, int32_t partition, int64_t now_ms, size_t offset, size_t max, char (*ids)[PP_ID_MAX + 1],
                  size_t *n, size_t *scanned)
{
    (void)s, (void)partition, (void)now_ms, (void)offset, (void)max, (void)ids;
    *n = *scanned = 0;
    return 0;
}

static int fs_outbox_read(void *s, int32_t partition, size_t max,
                          int (*each)(void *opaque, const uint8_t *buf, size_t len), void *opaque, size_t *n,
                          size_t *remaining)
{
    (void)s, (void)partition, (void)max, (void)each, (void)opaque;
    *n = *remaining = 0;
    return 0;
}

static int fs_outbox_trim(void *s, int32_t partition, int64_t epoch, size_t n)
{
    (void)s, (void)partition, (void)epoch, (void)n;
    return 0;
}

static int fs_heldback_scan(void *s, int32_t partition, uint64_t *cursor, size_t count,
                            void (*each)(void *opaque, const char *alert_id, size_t id_len, const uint8_t *buf,
                                         size_t len),
                            void *opaque)
{
    (void)s, (void)partition, (void)count, (void)each, (void)opaque;
    *cursor = 0;
    return 0;
}

static const pp_store_vt FS_VT = {
    .error = fs_error,
    .identify = fs_identify,
    .create_marker = fs_create_marker,
    .claim = fs_claim,
    .read_offsets = fs_read_offsets,
    .load = fs_load,
    .quarantine = fs_quarantine,
    .send = fs_send,
    .confirm = fs_confirm,
    .abandon = fs_abandon,
    .due = fs_due,
    .outbox_read = fs_outbox_read,
    .outbox_trim = fs_outbox_trim,
    .heldback_scan = fs_heldback_scan,
};

/* ======================================================================
 * The fixture: a cache of partners, a flusher on the fake store, and the
 * events applied (to check what the offsets of record cover)
 * ====================================================================== */

#define N_MAX 4100
#define EV_MAX 8192
#define EPOCH 7
#define MARKER "m1 1767225600000"

typedef struct applied_ev {
    pp_topic_t topic;
    int32_t partition;
    int64_t offset;
    int partner;        /* index in fx.st */
} applied_ev_t;

static struct {
    pp_policyset_t ps;
    fake_store_t fs;
    pp_cache_t *cache;
    pp_flush_t *f;
    pp_partner_t *st[N_MAX];
    int n;
    int64_t next_off[PP_TOPIC_COUNT][FS_PARTS];
    applied_ev_t ev[EV_MAX];
    int n_ev, seq;
    pp_alert_t out[PP_ENGINE_ALERTS_CAP];
    size_t kept_engine;         /* alerts the engine raised and we kept */
    /* the invariant check */
    size_t checks, covered, violations;
    char first_violation[256];
} fx;

static void setup(void)
{
    memset(&fx, 0, sizeof fx);
    pp_policyset_default(&fx.ps);
    fs_init(&fx.fs);
    strcpy(fx.fs.marker, MARKER);
    for (int p = 0; p < FS_PARTS; p++)
        fx.fs.epoch[p] = EPOCH;
    fx.cache = pp_cache_new();
    cr_assert_not_null(fx.cache);
    pp_store_t store = {.vt = &FS_VT, .s = &fx.fs};
    fx.f = pp_flush_new(store, &fx.ps, TOPICS, 1000);
    cr_assert_not_null(fx.f);
    pp_flush_set_marker(fx.f, MARKER);
    for (int p = 0; p < FS_PARTS; p++)
        pp_flush_set_epoch(fx.f, p, EPOCH);
}

static void teardown(void)
{
    pp_flush_free(fx.f);
    pp_cache_free(fx.cache);
    fs_free(&fx.fs);
}

TestSuite(flush, .init = setup, .fini = teardown);

static const char *eid(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "e%d", ++fx.seq);
    return buf;
}

/* Partner i "p0000".., cached (clean), living in input partition `partition`. */
static pp_partner_t *add_partner(int32_t partition)
{
    cr_assert_lt(fx.n, N_MAX);
    pp_partner_t tmp;
    char id[16];
    snprintf(id, sizeof id, "p%04d", fx.n);
    pp_partner_init(&tmp, id);
    tmp.home_partition = partition;
    pp_partner_t *st = pp_cache_insert(fx.cache, &tmp);
    cr_assert_not_null(st);
    fx.st[fx.n++] = st;
    return st;
}

/* What the daemon does with one message (see pp_daemon.c apply_batch):
 * snapshot, apply, mark dirty, keep the alerts, note the offset. */
static void apply_ev(int i, pp_event_t ev, bool by_field)
{
    pp_partner_t *st = fx.st[i];
    int32_t p = st->home_partition;
    int64_t off = fx.next_off[ev.topic][p]++;
    pp_flush_before_change(fx.f, fx.cache, st, by_field);
    int na = pp_engine_apply(&fx.ps, st, &ev, p, off, T0 + off, fx.out);
    cr_assert_geq(na, 0);
    pp_cache_mark_dirty(fx.cache, st);
    pp_flush_trend_note(fx.f, st);
    if (na > 0) {
        pp_flush_alert_t *k = pp_flush_keep(fx.f, (size_t)na);
        for (int a = 0; a < na; a++) {
            memset(&k[a], 0, sizeof k[a]);
            k[a].a = fx.out[a];
            k[a].owner = st;
            k[a].ops = PP_STORE_RECORD;
        }
        fx.kept_engine += (size_t)na;
    }
    pp_flush_note_offset(fx.f, ev.topic, p, off);
    cr_assert_lt(fx.n_ev, EV_MAX);
    fx.ev[fx.n_ev++] = (applied_ev_t){.topic = ev.topic, .partition = p, .offset = off, .partner = i};
}

/* A lifecycle SIGNED for every partner, and a deal for every other one. */
static void first_events(int from, int to)
{
    for (int i = from; i < to; i++) {
        apply_ev(i, ev_lifecycle(fx.st[i]->id, eid(), T0 + i, PP_LC_SIGNED, PP_PTYPE_RESELLER, "gold"), false);
        if (i % 2 == 0)
            apply_ev(i, ev_deal(fx.st[i]->id, eid(), T0 + i + 1, "d1", 1, 1, 100000), false);
    }
}

/* A message from us on a new thread: changes a few of its fields only. */
static void second_events(int from, int to, bool by_field)
{
    for (int i = from; i < to; i++)
        apply_ev(i, ev_eng(fx.st[i]->id, eid(), T0 + DAY_MS + i, "t1", PP_DIR_OUTBOUND, PP_KIND_MESSAGE, false),
                 by_field);
}

/* n partners on partitions 0..2 (i % 3), each with its first events. */
static void partners_3(int n)
{
    int from = fx.n;
    for (int i = 0; i < n; i++)
        add_partner((from + i) % 3);
    first_events(from, fx.n);
}

/* The next offset noted for (topic, partition): -1 if none. */
static int64_t expected_next(int t, int p)
{
    return fx.next_off[t][p] > 0 ? fx.next_off[t][p] : -1;
}

/* After every applied write: each event the store's offsets of record cover
 * (offset < next) must be in the state the store holds for its partner. */
static void check_covered(fake_store_t *fs, const fs_write_t *w)
{
    fx.checks++;
    static pp_partner_t st;
    for (int e = 0; e < fx.n_ev; e++) {
        const applied_ev_t *ev = &fx.ev[e];
        int64_t next = fs->offsets[ev->topic][ev->partition];
        if (next < 0 || ev->offset >= next)
            continue;
        fx.covered++;
        const fs_state_t *x = fs_state(fs, fx.st[ev->partner]->id);
        bool ok = x != NULL && pp_partner_decode(x->blob, x->blob_len, &st) == 0 &&
                  pp_partner_already_applied(&st, ev->topic, ev->partition, ev->offset);
        if (!ok && fx.violations++ == 0)
            snprintf(fx.first_violation, sizeof fx.first_violation,
                     "after write %zu: offsets of record (%s, %d) = %lld cover offset %lld of %s, whose state "
                     "the store %s",
                     w->seq, TOPICS[ev->topic], (int)ev->partition, (long long)next, (long long)ev->offset,
                     fx.st[ev->partner]->id, x ? "holds without it" : "does not hold");
    }
}

static size_t full_fields(const pp_partner_t *st)
{
    static pp_field_t scratch[PP_FIELDS_MAX];
    size_t n = pp_engine_fields(&fx.ps, st, scratch, PP_FIELDS_MAX);
    return n > PP_FIELDS_MAX ? PP_FIELDS_MAX : n;
}

static const fs_partner_t *find_in_write(const fs_write_t *w, const char *id)
{
    for (size_t i = 0; i < w->n_partners; i++)
        if (strcmp(w->partners[i].id, id) == 0)
            return &w->partners[i];
    return NULL;
}

static void assert_epochs_complete(size_t from)
{
    for (size_t i = from; i < fx.fs.n_log; i++) {
        cr_assert_not(fx.fs.log[i].epochs_incomplete, "write %zu touches a partition it is not conditioned on",
                      fx.fs.log[i].seq);
        cr_assert_str_eq(fx.fs.log[i].marker, MARKER, "write %zu is not conditioned on the marker",
                         fx.fs.log[i].seq);
    }
    cr_assert_eq(fx.fs.ticket_mismatch, 0, "confirm() was given a ticket that is not the oldest write's");
}

/* ======================================================================
 * 1. the offsets of record never run ahead of the state
 * ====================================================================== */

Test(flush, offsets_last_and_never_ahead_of_state)
{
    partners_3(600);
    fx.fs.on_apply = check_covered;
    size_t dirty = pp_cache_dirty_count(fx.cache);
    cr_assert_eq(dirty, 600);

    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    cr_assert_eq(rc, 0, "flush: %d (%s)", rc, fx.fs.err);

    /* 3 chunks of partners, then one write with the offsets only */
    cr_assert_eq(fx.fs.n_log, 4);
    cr_assert_eq(fx.fs.log[0].n_partners, 250);
    cr_assert_eq(fx.fs.log[1].n_partners, 250);
    cr_assert_eq(fx.fs.log[2].n_partners, 100);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(fx.fs.log[k].n_offsets, 0, "chunk %d carries offsets", k + 1);
    const fs_write_t *ow = &fx.fs.log[3];
    cr_assert_eq(ow->n_partners, 0);
    cr_assert_eq(ow->n_alerts, 0);
    cr_assert_eq(ow->n_offsets, 6, "(deals, lifecycle) x partitions 0..2");

    /* sent only after every chunk was confirmed; the chunks were pipelined */
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(fx.fs.log[k].outcome, FS_APPLIED);
        cr_assert_gt(ow->send_step, fx.fs.log[k].confirm_step, "offsets sent before chunk %d was confirmed", k + 1);
    }
    cr_assert_lt(fx.fs.log[2].send_step, fx.fs.log[0].confirm_step, "chunks not in flight together");
    cr_assert_eq(ow->outcome, FS_APPLIED);

    /* their values: the next offset of everything applied */
    for (size_t i = 0; i < ow->n_offsets; i++) {
        const fs_offset_t *o = &ow->offsets[i];
        cr_assert_eq(o->next_offset, expected_next(o->topic, o->partition));
    }
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int p = 0; p < FS_PARTS; p++)
            cr_assert_eq(fx.fs.offsets[t][p], expected_next(t, p), "(%s, %d)", TOPICS[t], p);

    /* at every applied write, the offsets covered only stored states */
    cr_assert_eq(fx.fs.applied_writes, 4);
    cr_assert_eq(fx.checks, 4);
    cr_assert_eq(fx.violations, 0, "%s", fx.first_violation);
    cr_assert_eq(fx.covered, (size_t)fx.n_ev, "the last check covers every event");

    /* every state is in the store and reads back */
    cr_assert_eq(fx.fs.n_states, 600);
    static pp_partner_t back;
    for (int i = 0; i < 600; i++) {
        const fs_state_t *x = fs_state(&fx.fs, fx.st[i]->id);
        cr_assert_not_null(x);
        cr_assert_eq(pp_partner_decode(x->blob, x->blob_len, &back), 0);
        cr_assert_eq(back.home_partition, fx.st[i]->home_partition);
    }
    assert_epochs_complete(0);

    cr_assert_eq(res.partners, 600);
    cr_assert_eq(res.n_offsets, 6);
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 0);
    cr_assert_not(pp_flush_pending(fx.f, fx.cache));
    cr_assert_eq(fx.fs.abandons, 0);
}

/* The health trend rides with the partner's state: one point per event day,
 * the health after that day's last event; a failed write sends them again. */
Test(flush, trend_points_with_the_state)
{
    partners_3(3); /* day 0: SIGNED (+ a deal for p0000) */
    second_events(0, 1, true); /* day 1 */
    apply_ev(0, ev_deal(fx.st[0]->id, eid(), T0 + DAY_MS + 500, "d2", 1, 1, 900000), true); /* day 1 again */
    double day1_last = pp_partner_health(fx.st[0]);
    apply_ev(0, ev_eng(fx.st[0]->id, eid(), T0 + 3 * DAY_MS, "t2", PP_DIR_INBOUND, PP_KIND_MESSAGE, false), true);
    double day3 = pp_partner_health(fx.st[0]);

    fx.fs.fail_send_at = 1; /* the first attempt fails: nothing is lost */
    pp_flush_result_t res;
    cr_assert_neq(pp_flush_run(fx.f, fx.cache, &res), 0);
    fx.fs.fail_send_at = 0;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0, "%s", fx.fs.err);

    const fs_partner_t *p = find_in_write(&fx.fs.log[fx.fs.n_log - 2], fx.st[0]->id);
    cr_assert_not_null(p);
    int32_t d0 = (int32_t)(T0 / DAY_MS);
    cr_assert_eq(p->n_trend, 3, "days 0, 1, 3: %zu points", p->n_trend);
    cr_assert_eq(p->trend[0].day, d0);
    cr_assert_eq(p->trend[1].day, d0 + 1);
    cr_assert_eq(p->trend[2].day, d0 + 3);
    cr_assert_float_eq(p->trend[2].health, (float)day3, 1e-4);
    cr_assert_float_eq(p->trend[1].health, (float)day1_last, 1e-4, "day 1: the health after its last event");
    const fs_partner_t *q = find_in_write(&fx.fs.log[fx.fs.n_log - 2], fx.st[1]->id);
    cr_assert_not_null(q);
    cr_assert_eq(q->n_trend, 1);
    cr_assert_eq(q->trend[0].day, d0);

    /* the next flush carries only the days written since the last one */
    second_events(1, 2, true);
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    const fs_partner_t *r = find_in_write(&fx.fs.log[fx.fs.n_log - 2], fx.st[1]->id);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_trend, 1);
    cr_assert_eq(r->trend[0].day, d0 + 1);
}

/* Offsets the store already holds only move with the state: two flushes. */
Test(flush, second_flush_offsets_follow_state)
{
    partners_3(600);
    fx.fs.on_apply = check_covered;
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    second_events(0, 600, true);
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 8);
    cr_assert_eq(fx.fs.log[7].n_offsets, 3, "(engagements) x partitions 0..2");
    cr_assert_eq(fx.violations, 0, "%s", fx.first_violation);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int p = 0; p < 3; p++)
            cr_assert_eq(fx.fs.offsets[t][p], expected_next(t, p));
}

/* A flush of offsets alone (every message a duplicate): one write. */
Test(flush, offsets_alone)
{
    pp_flush_note_offset(fx.f, PP_TOPIC_DEALS, 5, 41);
    pp_flush_note_offset(fx.f, PP_TOPIC_DEALS, 5, 40); /* older: never moves it back */
    cr_assert(pp_flush_pending(fx.f, fx.cache));
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 1);
    cr_assert_eq(fx.fs.log[0].n_offsets, 1);
    cr_assert_eq(fx.fs.offsets[PP_TOPIC_DEALS][5], 42);
    cr_assert_eq(res.n_offsets, 1);
    cr_assert_str_eq(res.offsets[0].topic, TOPICS[PP_TOPIC_DEALS]);
    cr_assert_eq(res.offsets[0].next_offset, 42);
    assert_epochs_complete(0);
    cr_assert_not(pp_flush_pending(fx.f, fx.cache));
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 1, "nothing pending: nothing written");
}

/* ======================================================================
 * 2. a failed write commits nothing
 * ====================================================================== */

/* One alert kept by hand for partner i (owner = it, its home partition),
 * with id "%032d" of i. */
static void keep_alert_for(int i, unsigned ops, bool publish)
{
    pp_flush_alert_t *k = pp_flush_keep(fx.f, 1);
    memset(k, 0, sizeof *k);
    snprintf(k->a.alert_id, sizeof k->a.alert_id, "%032d", i);
    snprintf(k->a.partner_id, sizeof k->a.partner_id, "%s", fx.st[i]->id);
    k->a.rule = (pp_rule_t)0;
    k->a.severity = PP_SEV_WARNING;
    k->a.status = PP_ALERT_FIRING;
    k->a.started_at_ms = k->a.event_time_ms = k->a.emitted_at_ms = T0;
    snprintf(k->a.message, sizeof k->a.message, "alert of %s", fx.st[i]->id);
    k->a.publish = publish;
    k->a.partition = fx.st[i]->home_partition;
    k->owner = fx.st[i];
    k->ops = ops;
}

static size_t offsets_writes_from(size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < fx.fs.n_log; i++)
        n += fx.fs.log[i].n_offsets > 0;
    return n;
}

/* Phase A: 600 partners written cleanly. Phase B: one more event each, with
 * snapshots (only changed fields would be written), and 3 alerts. */
static void two_phases(void)
{
    partners_3(600);
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    second_events(0, 600, true);
    keep_alert_for(5, PP_STORE_RECORD, true);
    keep_alert_for(260, PP_STORE_RECORD | PP_STORE_HOLD, false);
    keep_alert_for(590, PP_STORE_RECORD, true);
}

/* Control for the retry check below: a clean by-field flush writes fewer
 * fields than the whole hash, so "every field rewritten" means something. */
Test(flush, by_field_flush_writes_only_changed_fields)
{
    two_phases();
    size_t from = fx.fs.n_log;
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, from + 4);
    size_t partial = 0;
    for (size_t k = from; k < from + 3; k++)
        for (size_t i = 0; i < fx.fs.log[k].n_partners; i++)
            partial += fx.fs.log[k].partners[i].n_fields <
                       full_fields(pp_cache_find(fx.cache, fx.fs.log[k].partners[i].id));
    cr_assert_gt(partial, 500, "by field: %zu of 600 partners written partially", partial);
}

static void assert_failed_commits_nothing(size_t from, int rc, int want, size_t kept_before)
{
    cr_assert_eq(rc, want, "flush returned %d, wanted %d", rc, want);
    cr_assert_eq(offsets_writes_from(from), 0, "an offsets write was sent after a failed chunk");
    for (int t = 0; t < PP_TOPIC_COUNT; t++) /* still phase A's */
        for (int p = 0; p < 3; p++)
            cr_assert_eq(fx.fs.offsets[t][p], t == PP_TOPIC_ENGAGEMENTS ? -1 : expected_next(t, p));
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 600, "the partners must stay dirty");
    cr_assert_eq(pp_flush_kept(fx.f), kept_before, "the kept alerts must stay");
    cr_assert(pp_flush_pending(fx.f, fx.cache));
    cr_assert_eq(fx.fs.abandons, 1, "the unconfirmed writes must be abandoned");
}

/* The retry with faults cleared: everything, every field, offsets last. */
static void assert_retry_writes_all(size_t kept_before)
{
    fx.fs.fail_send_at = fx.fs.fail_confirm_at = 0;
    fx.fs.on_apply = check_covered;
    size_t from = fx.fs.n_log;
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    cr_assert_eq(rc, 0, "retry: %d (%s)", rc, fx.fs.err);
    cr_assert_eq(fx.fs.n_log, from + 4);
    size_t partners = 0, alerts = 0;
    for (size_t k = from; k < from + 3; k++) {
        const fs_write_t *w = &fx.fs.log[k];
        cr_assert_eq(w->n_offsets, 0);
        partners += w->n_partners;
        alerts += w->n_alerts;
        for (size_t i = 0; i < w->n_partners; i++) {
            const fs_partner_t *p = &w->partners[i];
            pp_partner_t *st = pp_cache_find(fx.cache, p->id);
            cr_assert_not_null(st);
            cr_assert_eq(p->n_fields, full_fields(st),
                         "%s: %zu of %zu fields rewritten after a failed write (snapshots not forgotten)", p->id,
                         p->n_fields, full_fields(st));
            cr_assert(p->set_health && p->set_deadline, "%s: leaderboard/deadline not rewritten", p->id);
        }
    }
    cr_assert_eq(partners, 600);
    cr_assert_eq(alerts, kept_before);
    const fs_write_t *ow = &fx.fs.log[from + 3];
    cr_assert_eq(ow->n_offsets, 3, "(engagements) x 0..2: what phase B noted");
    cr_assert_eq(ow->outcome, FS_APPLIED);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int p = 0; p < 3; p++)
            cr_assert_eq(fx.fs.offsets[t][p], expected_next(t, p));
    cr_assert_eq(fx.violations, 0, "%s", fx.first_violation);
    cr_assert_eq(res.n_alerts, kept_before);
    cr_assert_eq(res.partners, 600);
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 0);
    cr_assert_not(pp_flush_pending(fx.f, fx.cache));
    assert_epochs_complete(from);
}

Test(flush, failed_chunk_confirm_commits_nothing)
{
    two_phases();
    size_t kept = pp_flush_kept(fx.f), from = fx.fs.n_log;
    cr_assert_eq(kept, 3 + fx.kept_engine);
    fx.fs.fail_confirm_at = fx.fs.confirms + 2; /* chunk 2 of phase B */
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    assert_failed_commits_nothing(from, rc, -EIO, kept);
    cr_assert_eq(fx.fs.log[from].outcome, FS_APPLIED, "chunk 1 went through (state ahead of offsets is fine)");
    cr_assert_eq(fx.fs.log[from + 1].outcome, -EIO);
    cr_assert_eq(fx.fs.log[from + 2].outcome, FS_ABANDONED);
    assert_retry_writes_all(kept);
}

Test(flush, failed_chunk_send_commits_nothing)
{
    two_phases();
    size_t kept = pp_flush_kept(fx.f), from = fx.fs.n_log;
    fx.fs.fail_send_at = fx.fs.sends + 3; /* chunk 3 of phase B */
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    assert_failed_commits_nothing(from, rc, -EIO, kept);
    assert_retry_writes_all(kept);
}

Test(flush, failed_offsets_write_commits_nothing)
{
    two_phases();
    size_t kept = pp_flush_kept(fx.f), from = fx.fs.n_log;
    fx.fs.fail_confirm_at = fx.fs.confirms + 4; /* the offsets write of phase B */
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    cr_assert_eq(rc, -EIO);
    cr_assert_eq(fx.fs.n_log, from + 4);
    cr_assert_eq(fx.fs.log[from + 3].outcome, -EIO);
    for (int p = 0; p < 3; p++)
        cr_assert_eq(fx.fs.offsets[PP_TOPIC_ENGAGEMENTS][p], -1);
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 600);
    cr_assert_eq(pp_flush_kept(fx.f), kept);
    assert_retry_writes_all(kept);
}

/* ======================================================================
 * 3. fencing and a replaced store
 * ====================================================================== */

/* 600 partners: chunk 2 (250..499) lives in partition 3, the rest in 0..2. */
static void partners_p3_in_chunk2(void)
{
    for (int i = 0; i < 600; i++)
        add_partner(i >= 250 && i < 500 ? 3 : i % 3);
    first_events(0, 600);
    keep_alert_for(300, PP_STORE_RECORD, true);
}

Test(flush, fenced_partition_applies_nothing_of_its_write)
{
    partners_p3_in_chunk2();
    fx.fs.epoch[3] = EPOCH + 1; /* another daemon claimed partition 3 */
    size_t kept = pp_flush_kept(fx.f);
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    cr_assert_eq(rc, -EPERM, "flush: %d", rc);
    cr_assert_eq(fx.fs.log[0].outcome, FS_APPLIED);
    const fs_write_t *w = &fx.fs.log[1];
    cr_assert_eq(w->outcome, -EPERM);
    cr_assert(epochs_have(w, 3));
    for (size_t i = 0; i < w->n_partners; i++)
        cr_assert_null(fs_state(&fx.fs, w->partners[i].id), "%s applied from a fenced write", w->partners[i].id);
    for (size_t i = 0; i < fx.fs.n_alerts; i++)
        cr_assert_str_neq(fx.fs.alerts[i].partner_id, fx.st[300]->id, "an alert of a fenced write was recorded");
    cr_assert_eq(fx.fs.n_states, 250, "chunk 1 only");
    cr_assert_eq(offsets_writes_from(0), 0);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int p = 0; p < FS_PARTS; p++)
            cr_assert_eq(fx.fs.offsets[t][p], -1);
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 600);
    cr_assert_eq(pp_flush_kept(fx.f), kept);
    cr_assert_eq(fx.fs.abandons, 1);
    assert_epochs_complete(0);
}

Test(flush, fenced_offsets_write_applies_nothing)
{
    pp_flush_note_offset(fx.f, PP_TOPIC_DEALS, 2, 10);
    pp_flush_note_offset(fx.f, PP_TOPIC_DEALS, 3, 20);
    fx.fs.epoch[3] = EPOCH + 1;
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), -EPERM);
    cr_assert_eq(fx.fs.n_log, 1);
    cr_assert_eq(fx.fs.offsets[PP_TOPIC_DEALS][2], -1, "half of a refused write applied");
    cr_assert_eq(fx.fs.offsets[PP_TOPIC_DEALS][3], -1);
    cr_assert(pp_flush_pending(fx.f, fx.cache), "the offsets stay pending");
}

Test(flush, changed_marker_is_stale_and_applies_nothing)
{
    partners_3(600);
    keep_alert_for(1, PP_STORE_RECORD, true);
    strcpy(fx.fs.marker, "m2 1767225699999"); /* the store was replaced */
    pp_flush_result_t res;
    int rc = pp_flush_run(fx.f, fx.cache, &res);
    cr_assert_eq(rc, -ESTALE, "flush: %d", rc);
    cr_assert_eq(fx.fs.log[0].outcome, -ESTALE);
    cr_assert_eq(fx.fs.applied_writes, 0);
    cr_assert_eq(fx.fs.n_states, 0);
    cr_assert_eq(fx.fs.n_alerts, 0);
    cr_assert_eq(offsets_writes_from(0), 0);
    cr_assert_eq(pp_cache_dirty_count(fx.cache), 600);
    cr_assert_eq(fx.fs.abandons, 1);
}

/* ======================================================================
 * 4. where consumption starts: the store's offsets
 * ====================================================================== */

Test(flush, start_offsets_from_the_store)
{
    fx.fs.offsets[PP_TOPIC_DEALS][0] = 10;
    fx.fs.offsets[PP_TOPIC_LIFECYCLE][0] = 20;
    fx.fs.offsets[PP_TOPIC_DEALS][2] = 5;
    fx.fs.offsets[PP_TOPIC_ENGAGEMENTS][2] = 0;
    pp_store_t store = {.vt = &FS_VT, .s = &fx.fs};
    const int32_t parts[] = {0, 1, 2};
    int64_t out[3 * PP_TOPIC_COUNT];
    const int64_t B = PP_OFFSET_BEGINNING;
    const int64_t want[3][PP_TOPIC_COUNT] = {{10, B, B, 20}, {B, B, B, B}, {5, B, 0, B}};

    cr_assert_eq(pp_offsets_start(store, PP_START_RESUME, parts, 3, TOPICS, PP_TOPIC_COUNT, out, NULL), 0);
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            cr_assert_eq(out[i * PP_TOPIC_COUNT + t], want[i][t], "partition %d topic %s: %lld", parts[i],
                         TOPICS[t], (long long)out[i * PP_TOPIC_COUNT + t]);
    cr_assert_eq(fx.fs.read_offsets_calls, 3);

    /* topics in another order: matched by name */
    const char *const rev[] = {TOPICS[3], TOPICS[2], TOPICS[1], TOPICS[0]};
    cr_assert_eq(pp_offsets_start(store, PP_START_RESUME, parts, 1, rev, 4, out, NULL), 0);
    cr_assert_eq(out[0], 20);
    cr_assert_eq(out[3], 10);

    const enum pp_start others[] = {PP_START_REBUILD, PP_START_FIRST, PP_START_ADOPT};
    for (size_t v = 0; v < 3; v++) {
        fx.fs.read_offsets_calls = 0;
        cr_assert_eq(pp_offsets_start(store, others[v], parts, 3, TOPICS, PP_TOPIC_COUNT, out, NULL), 0);
        int64_t w = others[v] == PP_START_REBUILD ? PP_OFFSET_BEGINNING : PP_OFFSET_COMMITTED;
        for (int i = 0; i < 3 * PP_TOPIC_COUNT; i++)
            cr_assert_eq(out[i], w, "verdict %d slot %d: %lld", (int)others[v], i, (long long)out[i]);
        cr_assert_eq(fx.fs.read_offsets_calls, 0, "only RESUME reads the store");
    }

    fx.fs.fail_read_offsets = true;
    cr_assert_eq(pp_offsets_start(store, PP_START_RESUME, parts, 3, TOPICS, PP_TOPIC_COUNT, out, NULL), -EIO);
}

/* What a flush wrote is where the next start resumes. */
Test(flush, start_resumes_where_the_flush_left)
{
    partners_3(30);
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    pp_store_t store = {.vt = &FS_VT, .s = &fx.fs};
    const int32_t parts[] = {0, 1, 2, 3};
    int64_t out[4 * PP_TOPIC_COUNT];
    cr_assert_eq(pp_offsets_start(store, PP_START_RESUME, parts, 4, TOPICS, PP_TOPIC_COUNT, out, NULL), 0);
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            int64_t n = expected_next(t, parts[i]);
            cr_assert_eq(out[i * PP_TOPIC_COUNT + t], n >= 0 ? n : PP_OFFSET_BEGINNING);
        }
}

/* ======================================================================
 * 5. trusting the store: pp_offsets_judge
 * ====================================================================== */

static enum pp_start judge(const char *marker, bool has_data, const char *known, bool commits, bool replay)
{
    pp_store_identity_t now;
    memset(&now, 0, sizeof now);
    strcpy(now.run_id, "r");
    snprintf(now.marker, sizeof now.marker, "%s", marker);
    now.has_data = has_data;
    pp_start_facts_t facts = {.now = &now, .known_marker = known, .kafka_has_commits = commits,
                              .replay_on_loss = replay};
    const char *why = NULL;
    enum pp_start v = pp_offsets_judge(&facts, &why);
    cr_assert(why != NULL && why[0] != '\0', "a verdict without a reason");
    return v;
}

Test(flush, judge_truth_table)
{
    for (int replay = 0; replay < 2; replay++)
        for (int commits = 0; commits < 2; commits++)
            for (int data = 0; data < 2; data++) {
                /* marker present, unknown to us (NULL or ""): resume */
                cr_assert_eq(judge("mA", data, NULL, commits, replay), PP_START_RESUME);
                cr_assert_eq(judge("mA", data, "", commits, replay), PP_START_RESUME);
                /* the marker we know: resume */
                cr_assert_eq(judge("mA", data, "mA", commits, replay), PP_START_RESUME);
                /* another marker: replaced since we wrote */
                cr_assert_eq(judge("mB", data, "mA", commits, replay), replay ? PP_START_RESUME : PP_START_LOST);
                /* the marker gone while we knew one */
                cr_assert_eq(judge("", data, "mA", commits, replay), replay ? PP_START_REBUILD : PP_START_LOST);
            }
    for (int replay = 0; replay < 2; replay++) {
        /* no marker, no commits: first start (whatever the store holds) */
        cr_assert_eq(judge("", false, NULL, false, replay), PP_START_FIRST);
        cr_assert_eq(judge("", true, "", false, replay), PP_START_FIRST);
        /* no marker, commits, data of a version before markers: adopt */
        cr_assert_eq(judge("", true, NULL, true, replay), PP_START_ADOPT);
        cr_assert_eq(judge("", true, "", true, replay), PP_START_ADOPT);
        /* no marker, commits, no data: lost */
        cr_assert_eq(judge("", false, NULL, true, replay), replay ? PP_START_REBUILD : PP_START_LOST);
        cr_assert_eq(judge("", false, "", true, replay), replay ? PP_START_REBUILD : PP_START_LOST);
    }
}

/* ======================================================================
 * 6. alerts ride with their partner's chunk
 * ====================================================================== */

/* The write that carries the alert with this id, or NULL. */
static const fs_write_t *write_of_alert(const char *alert_id, const fs_alert_t **out)
{
    for (size_t k = 0; k < fx.fs.n_log; k++)
        for (size_t i = 0; i < fx.fs.log[k].n_alerts; i++)
            if (strcmp(fx.fs.log[k].alerts[i].alert_id, alert_id) == 0) {
                *out = &fx.fs.log[k].alerts[i];
                return &fx.fs.log[k];
            }
    return NULL;
}

Test(flush, alerts_ride_with_their_partner)
{
    partners_3(600);
    const int who[] = {10, 249, 250, 300, 499, 500, 550, 599};
    for (size_t j = 0; j < sizeof who / sizeof who[0]; j++)
        keep_alert_for(who[j], j % 3 == 2 ? PP_STORE_RECORD | PP_STORE_HOLD : PP_STORE_RECORD, j % 2 == 0);
    /* an alert on a partition none of its chunk's partners live in */
    keep_alert_for(555, PP_STORE_UNHOLD, false);
    pp_flush_alert_t *last = &pp_flush_keep(fx.f, 0)[-1];
    last->a.partition = 9;
    /* a held-back copy's removal with no partner: the first chunk */
    keep_alert_for(420, PP_STORE_UNHOLD, false);
    last = &pp_flush_keep(fx.f, 0)[-1];
    last->owner = NULL;
    snprintf(last->a.alert_id, sizeof last->a.alert_id, "%032d", 99999);
    size_t kept = pp_flush_kept(fx.f);

    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 4);
    cr_assert_eq(res.n_alerts, kept);
    cr_assert_eq(fx.fs.n_alerts, kept);
    cr_assert_eq(pp_flush_kept(fx.f), 0);

    size_t seen = 0;
    for (size_t r = 0; r < res.n_alerts; r++) {
        const pp_flush_alert_t *x = &res.alerts[r];
        const fs_alert_t *a = NULL;
        const fs_write_t *w = write_of_alert(x->a.alert_id, &a);
        cr_assert_not_null(w, "alert %s never written", x->a.alert_id);
        cr_assert_eq(w->n_offsets, 0, "an alert in the offsets write");
        if (x->owner != NULL) {
            cr_assert_not_null(find_in_write(w, x->owner->id), "alert of %s in write %zu, without its partner",
                               x->owner->id, w->seq);
        } else {
            cr_assert_eq(w->seq, 1, "an alert without a partner goes in the first chunk");
        }
        cr_assert(epochs_have(w, a->partition), "alert partition %d not in the write's epochs", (int)a->partition);
        cr_assert_eq((a->ops & PP_STORE_PUBLISH) != 0, x->a.publish, "%s: PUBLISH %s a.publish", x->a.alert_id,
                     x->a.publish ? "missing with" : "set without");
        cr_assert_eq(a->ops & ~PP_STORE_PUBLISH, x->ops, "the other ops as kept");
        cr_assert_eq(a->packed_len > 0, (a->ops & (PP_STORE_PUBLISH | PP_STORE_HOLD)) != 0,
                     "%s: packed Alert iff published or held", x->a.alert_id);
        seen++;
    }
    cr_assert_eq(seen, kept);
    /* the ones placed by hand: chunk = partner index / 250 */
    const fs_alert_t *a;
    char id[PP_ALERT_ID_LEN + 1];
    snprintf(id, sizeof id, "%032d", 550);
    cr_assert_eq(write_of_alert(id, &a)->seq, 3);
    snprintf(id, sizeof id, "%032d", 250);
    cr_assert_eq(write_of_alert(id, &a)->seq, 2);
    snprintf(id, sizeof id, "%032d", 249);
    cr_assert_eq(write_of_alert(id, &a)->seq, 1);
    snprintf(id, sizeof id, "%032d", 555);
    const fs_write_t *w9 = write_of_alert(id, &a);
    cr_assert_eq(w9->seq, 3);
    cr_assert(epochs_have(w9, 9));
    assert_epochs_complete(0);
}

/* Alerts with no dirty partner at all (a held-back copy dropped): one write. */
Test(flush, alerts_without_partners)
{
    add_partner(1);
    keep_alert_for(0, PP_STORE_UNHOLD, false);
    pp_flush_keep(fx.f, 0)[-1].owner = NULL;
    cr_assert(pp_flush_pending(fx.f, fx.cache));
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 1);
    cr_assert_eq(fx.fs.log[0].n_partners, 0);
    cr_assert_eq(fx.fs.log[0].n_alerts, 1);
    cr_assert(epochs_have(&fx.fs.log[0], 1));
    cr_assert_eq(res.n_alerts, 1);
}

/* ======================================================================
 * 7. more chunks than can be in flight
 * ====================================================================== */

Test(flush, more_chunks_than_in_flight)
{
    partners_3(2100); /* 9 chunks, 8 in flight */
    fx.fs.on_apply = check_covered;
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(fx.fs.n_log, 10);
    cr_assert_eq(fx.fs.log[8].n_partners, 2100 - 8 * 250);
    cr_assert_gt(fx.fs.log[8].send_step, fx.fs.log[0].confirm_step, "a 9th write in flight");
    for (int k = 0; k < 9; k++)
        cr_assert_gt(fx.fs.log[9].send_step, fx.fs.log[k].confirm_step);
    cr_assert_eq(fx.fs.n_states, 2100);
    cr_assert_eq(fx.violations, 0, "%s", fx.first_violation);
    assert_epochs_complete(0);
}

/*
 * pp_flush_before_change when more partners are dirty than twice the
 * snapshot array's capacity, marked dirty by a path that took no snapshot
 * (which the function says it tolerates: "dirtied by a path without a
 * snapshot"). BUG (daemon/pp_flush.c, pp_flush_before_change): the array
 * grows once, to before_cap * 2 (1024 the first time), however large n_dirty
 * is (pp_flush.c:186-193), then writes f->before[n_before .. n_dirty]
 * (lines 194-198): out of bounds when n_dirty >= the new capacity (here
 * 4000 dirty, capacity 1024: ASan heap-buffer-overflow at pp_flush.c:195; a
 * segfault in the release build). Fix: `while (cap <= n_dirty) cap *= 2;`
 * after computing cap. No daemon path reaches it today (every
 * pp_cache_mark_dirty in pp_daemon.c follows a pp_flush_before_change).
 */
Test(flush, before_change_after_many_dirty_without_snapshot)
{
    for (int i = 0; i < 4000; i++) {
        add_partner(i % 3);
        pp_cache_mark_dirty(fx.cache, fx.st[i]);
    }
    pp_partner_t *st = add_partner(0);
    pp_flush_before_change(fx.f, fx.cache, st, true);
    pp_cache_mark_dirty(fx.cache, st);
    pp_flush_result_t res;
    cr_assert_eq(pp_flush_run(fx.f, fx.cache, &res), 0);
    cr_assert_eq(res.partners, 4001);
}
