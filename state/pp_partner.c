/*
 * pp_partner: per-partner state transitions (see pp_partner.h).
 */
#include "pp_partner.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pp_upgrade.h"

void pp_partner_init(pp_partner_t *st, const char *id)
{
    memset(st, 0, sizeof *st);
    snprintf(st->id, sizeof st->id, "%s", id);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        st->applied[t].partition = -1;
        st->applied[t].offset = -1;
    }
    st->home_partition = -1;
    st->health = 50.0; /* neutral until the scorecard has data */
    st->rag = 0;
    for (int c = 0; c < PP_C_COUNT; c++)
        st->component[c] = -1;
    for (int m = 0; m < PP_M_COUNT; m++)
        st->measure_score[m] = -1;
}

bool pp_partner_already_applied(const pp_partner_t *st, pp_topic_t topic, int32_t partition,
                                int64_t offset)
{
    const pp_applied_t *a = &st->applied[topic];
    return a->partition == partition && offset <= a->offset;
}

/* ---- exactly once by event_id ---- */

/* The seed of the event_id fingerprints. Fixed: the fingerprints are stored
 * (seen[]), so the same id must give the same fingerprint in every process
 * and version; changing it makes every stored ring forget its ids. */
#define SEEN_SEED 0x5bd1e9955bd1e995ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

/* MurmurHash3's 64-bit block mixing over 8-byte words (the id's bytes in
 * host order: a blob is read back on the machine type that wrote it, as the
 * rest of the struct), seeded, the length mixed in, then its finaliser:
 * every input bit moves every output bit, so 32 of them are a uniform
 * fingerprint (collision odds 2^-32 per pair). */
uint32_t pp_partner_fingerprint(const char *event_id, size_t n)
{
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h = SEEN_SEED ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t k;
        memcpy(&k, event_id + i, 8);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
        h = rotl64(h, 27) * 5 + 0x52dce729;
    }
    if (i < n) {
        uint64_t k = 0;
        memcpy(&k, event_id + i, n - i);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
    }
    h = pp_fmix64(h ^ (uint64_t)n);
    uint32_t v = (uint32_t)(h >> 32) ^ (uint32_t)h;
    return v ? v : 1;
}

static bool seen_has(const uint32_t *ring, int n, uint32_t fp)
{
    bool found = false;
    for (int i = 0; i < n; i++) /* no early exit: vectorised */
        found |= ring[i] == fp;
    return found;
}

pp_dup_t pp_partner_duplicate(const pp_partner_t *st, pp_topic_t topic, int32_t partition, int64_t offset,
                              const pp_event_t *ev)
{
    if ((unsigned)topic < PP_TOPIC_COUNT && pp_partner_already_applied(st, topic, partition, offset))
        return PP_DUP_OFFSET;
    if (ev != NULL && seen_has(st->seen, PP_SEEN_MAX, pp_partner_fingerprint(ev->event_id, strlen(ev->event_id))))
        return PP_DUP_ID;
    return PP_DUP_NONE;
}

/* ---- rolling windows ----
 *
 * The ring holds PP_DAYS_MAX buckets of w = bucket_w(st) days: bucket number
 * b = day / w, ring slot b % PP_DAYS_MAX, the newest bucket that of head_day
 * (day numbers are positive: events are after 2000). A window of D days
 * ending at day t is buckets window_lo(t, D, w) .. t / w: whole buckets, the
 * oldest being the first whose first day is within (t - D, t]. That is at
 * most ceil(D / w) <= PP_DAYS_MAX buckets. (Counting every bucket with a day
 * in the window instead would need PP_DAYS_MAX + 1 of them for D = 90 w.)
 * With w = 1, every window up to PP_DAYS_MAX days, a bucket is a day and the
 * code below takes its w == 1 branches: no division, the results of before. */

int32_t pp_day_of(int64_t ms)
{
    return (int32_t)(ms / PP_DAY_MS);
}

/* bucket_days fills the alignment hole after rp_n: no other field moved. */
_Static_assert(offsetof(pp_partner_t, bucket_days) == offsetof(pp_partner_t, rp_n) + 1 &&
                   offsetof(pp_partner_t, rp_p50) == offsetof(pp_partner_t, bucket_days) + 1,
               "bucket_days sits in the hole before rp_p50");

static inline int bucket_w(const pp_partner_t *st)
{
    return st->bucket_days > 1 ? st->bucket_days : 1; /* 0 (older blobs) = 1 */
}

/* The bucket number of day `day`. */
static inline int32_t bucket_no(int32_t day, int w)
{
    return w == 1 ? day : day / w;
}

/* The oldest bucket of the window of `days` days ending at day t: the first
 * whose first day b * w is after t - days, i.e. ceil((t - days + 1) / w). */
static inline int32_t window_lo(int32_t t, int days, int w)
{
    return w == 1 ? t - days + 1 : (t - days + w) / w;
}

/* A bucket with nothing in it (a shortcut only: a bucket that fails this
 * test is summed, which adds zeros if it is empty after all). */
static inline bool day_empty(const pp_day_t *b)
{
    _Static_assert(sizeof(pp_day_t) == 16, "pp_day_t is two words");
    uint64_t w[2];
    memcpy(w, b, sizeof w);
    return (w[0] | w[1]) == 0;
}

/* o += b and o -= b (the counters wrap around, as unsigned arithmetic does). */
static inline void add_day(pp_window_sum_t *o, const pp_day_t *b)
{
    o->in += b->in;
    o->out += b->out;
    o->theirs += b->theirs;
    o->ours += b->ours;
    o->registered += b->registered;
    o->qualified += b->qualified;
    o->won += b->won;
    o->lost += b->lost;
    o->missed += b->missed;
    o->delivered += b->delivered;
    o->won_major += b->won_major;
}

static inline void sub_day(pp_window_sum_t *o, const pp_day_t *b)
{
    o->in -= b->in;
    o->out -= b->out;
    o->theirs -= b->theirs;
    o->ours -= b->ours;
    o->registered -= b->registered;
    o->qualified -= b->qualified;
    o->won -= b->won;
    o->lost -= b->lost;
    o->missed -= b->missed;
    o->delivered -= b->delivered;
    o->won_major -= b->won_major;
}

/* lsum_slide's work, when the end does move: the buckets that leave are
 * window_lo(lsum_day) .. window_lo(t) - 1, of which only those the ring
 * holds, (hb - PP_DAYS_MAX, hb] with hb head_day's bucket, were ever added;
 * when that reaches past lsum_day's bucket, every bucket of the sum leaves
 * (the buckets after it are empty: see lsum_before). */
static void lsum_slide_to(pp_partner_t *st, int32_t t)
{
    int w = bucket_w(st);
    int32_t last = window_lo(t, st->lsum_days, w) - 1;
    if (last >= bucket_no(st->lsum_day, w)) {
        memset(&st->lsum, 0, sizeof st->lsum);
    } else if (st->head_day != 0) {
        int32_t x = window_lo(st->lsum_day, st->lsum_days, w); /* > 0: day numbers since 1970 */
        int32_t hb = bucket_no(st->head_day, w);
        if (x <= hb - PP_DAYS_MAX)
            x = hb - PP_DAYS_MAX + 1;
        if (last > hb)
            last = hb;
        if (x <= last) {
            int i = x % PP_DAYS_MAX; /* the ring slot of bucket x, kept in step */
            for (; x <= last; x++) {
                const pp_day_t *b = &st->days[i];
                if (!day_empty(b))
                    sub_day(&st->lsum, b);
                i = i + 1 == PP_DAYS_MAX ? 0 : i + 1;
            }
        }
    }
    st->lsum_day = t;
}

/* Move the running long-window sum's end to day t (> lsum_day): the buckets
 * that leave are subtracted while the ring still holds them. Inline: each
 * evaluation asks, and the end mostly stays where it is. */
static inline void lsum_slide(pp_partner_t *st, int32_t t)
{
    if (st->lsum_day == 0 || t <= st->lsum_day)
        return;
    lsum_slide_to(st, t);
}

/* pp_partner_long_window without a running sum to use: sum the buckets. */
static __attribute__((noinline)) void long_window_rebuild(pp_partner_t *st, int64_t now_ms, int32_t now_day,
                                                          int long_days, pp_window_sum_t *out)
{
    pp_window_sum_t unused;
    pp_partner_windows(st, now_ms, long_days, 1, out, &unused);
    if (now_day >= st->lsum_day || st->lsum_days != long_days) {
        st->lsum = *out;
        st->lsum_day = now_day;
        st->lsum_days = long_days;
    }
}

void pp_partner_long_window(pp_partner_t *st, int64_t now_ms, int long_days, pp_window_sum_t *out)
{
    pp_partner_long_window_at(st, now_ms, pp_day_of(now_ms), long_days, out);
}

void pp_partner_long_window_at(pp_partner_t *st, int64_t now_ms, int32_t now_day, int long_days, pp_window_sum_t *out)
{
    /* a window of another width (the partner's policy changed) re-buckets */
    pp_partner_set_bucket_days(st, pp_window_bucket_days(long_days));
    if (st->lsum_day == 0 || st->lsum_days != long_days || now_day < st->lsum_day) {
        long_window_rebuild(st, now_ms, now_day, long_days, out);
        return;
    }
    lsum_slide(st, now_day);
    *out = st->lsum;
}

/* Before bucket d changes: bring the running sum up to d if it lags (the
 * buckets after the sum's end bucket must stay empty: sliding adds none). */
static void lsum_before(pp_partner_t *st, int32_t d)
{
    if (st->lsum_day != 0 && d > st->lsum_day)
        lsum_slide(st, d);
}

/* The bucket of day `day` (pp_partner_day, with the day already computed;
 * w = bucket_w(st)). Inlined into bucket_at, which every counted event goes
 * through. */
static inline __attribute__((always_inline)) pp_day_t *day_bucket(pp_partner_t *st, int32_t day, int w)
{
    if (day > st->head_day && st->head_day != 0)
        lsum_slide(st, day); /* before the ring reuses the slots of leaving buckets */
    int32_t b = bucket_no(day, w);
    if (st->head_day == 0) {
        memset(st->days, 0, sizeof st->days);
        st->head_day = day;
    } else if (day > st->head_day) {
        int32_t hb = bucket_no(st->head_day, w);
        if (b - hb >= PP_DAYS_MAX) {
            memset(st->days, 0, sizeof st->days);
        } else {
            /* the new buckets hb + 1 .. b (fewer than PP_DAYS_MAX, none when
             * day is in head_day's bucket): one or two runs of consecutive
             * slots; mostly one or a few, which are cleared in place (a
             * memset of a run is a library call) */
            int n = b - hb;
            int i = (hb + 1) % PP_DAYS_MAX;
            if (n <= 4) {
                static const pp_day_t empty;
                for (; n > 0; n--, i = i + 1 == PP_DAYS_MAX ? 0 : i + 1)
                    st->days[i] = empty;
            }
            while (n > 0) {
                int run = n < PP_DAYS_MAX - i ? n : PP_DAYS_MAX - i;
                memset(&st->days[i], 0, (size_t)run * sizeof(pp_day_t));
                n -= run;
                i = 0;
            }
        }
        st->head_day = day;
    } else if (b <= bucket_no(st->head_day, w) - PP_DAYS_MAX) {
        return NULL; /* older than the ring holds (the longest window): lifetime totals only */
    }
    return &st->days[b % PP_DAYS_MAX];
}

pp_day_t *pp_partner_day(pp_partner_t *st, int64_t ms)
{
    return day_bucket(st, pp_day_of(ms), bucket_w(st));
}

/* *a += b, saturating at max. */
#define SAT_ADD(a, b, max) ((a) = (uint64_t)(a) + (b) > (max) ? (max) : (a) + (b))

/* Counters of `from` added into `into`, saturating as counting does. */
static void merge_day(pp_day_t *into, const pp_day_t *from)
{
    SAT_ADD(into->in, from->in, UINT16_MAX);
    SAT_ADD(into->out, from->out, UINT16_MAX);
    SAT_ADD(into->theirs, from->theirs, UINT8_MAX);
    SAT_ADD(into->ours, from->ours, UINT8_MAX);
    SAT_ADD(into->registered, from->registered, UINT8_MAX);
    SAT_ADD(into->qualified, from->qualified, UINT8_MAX);
    SAT_ADD(into->won, from->won, UINT8_MAX);
    SAT_ADD(into->lost, from->lost, UINT8_MAX);
    SAT_ADD(into->missed, from->missed, UINT8_MAX);
    SAT_ADD(into->delivered, from->delivered, UINT8_MAX);
    SAT_ADD(into->won_major, from->won_major, UINT32_MAX);
}

/* Out of line and cold: a width changes when a partner's policy does, and
 * inlined into pp_partner_long_window_at its 1.4 KiB copy of the ring made
 * every call set up a large stack frame (callgrind: +15 instructions a call). */
__attribute__((noinline, cold)) void pp_partner_rebucket(pp_partner_t *st, int w)
{
    if (w < 1)
        w = 1;
    if (w > PP_BUCKET_DAYS_MAX)
        w = PP_BUCKET_DAYS_MAX;
    int old = bucket_w(st);
    if (w == old)
        return;
    st->bucket_days = (uint8_t)w;
    memset(&st->lsum, 0, sizeof st->lsum); /* rebuilt from the new buckets at the next read */
    st->lsum_day = 0;
    st->lsum_days = 0;
    if (st->head_day == 0)
        return;
    pp_day_t was[PP_DAYS_MAX];
    memcpy(was, st->days, sizeof was);
    memset(st->days, 0, sizeof st->days);
    int32_t ohb = st->head_day / old, nhb = st->head_day / w;
    for (int32_t k = ohb - PP_DAYS_MAX + 1; k <= ohb; k++) {
        const pp_day_t *b = &was[k % PP_DAYS_MAX];
        if (day_empty(b))
            continue;
        int32_t nb = k * old / w; /* the new bucket of the old one's first day */
        if (nb > nhb - PP_DAYS_MAX) /* else older than the new ring holds (finer only) */
            merge_day(&st->days[nb % PP_DAYS_MAX], b);
    }
}

/* A day bucket an event counts into, and the running long-window sum when
 * that day is in it (else NULL). Every counter that moves in the bucket
 * moves by the same amount in the sum (COUNT8/COUNT16), so the sum stays
 * the sum of its buckets without comparing the bucket before and after. */
typedef struct bucket {
    pp_day_t *day;        /* NULL: older than the ring holds */
    pp_window_sum_t *sum; /* &st->lsum, or NULL */
} bucket_t;

static bucket_t bucket_at(pp_partner_t *st, int32_t d)
{
    bucket_t k;
    int w = bucket_w(st);
    lsum_before(st, d);
    k.day = day_bucket(st, d, w); /* non-NULL: d is in the ring now */
    int32_t b = bucket_no(d, w);
    k.sum = k.day != NULL && st->lsum_day != 0 && b <= bucket_no(st->lsum_day, w) &&
                    b >= window_lo(st->lsum_day, st->lsum_days, w)
                ? &st->lsum
                : NULL;
    return k;
}

/* Count one into counter f of bucket k (saturating), and into the sum with it. */
#define COUNT_SAT(k, f, max)                 \
    do {                                     \
        if ((k).day && (k).day->f < (max)) { \
            (k).day->f++;                    \
            if ((k).sum)                     \
                (k).sum->f++;                \
        }                                    \
    } while (0)
#define COUNT8(k, f) COUNT_SAT(k, f, UINT8_MAX)
#define COUNT16(k, f) COUNT_SAT(k, f, UINT16_MAX)

/* Count n (0..255) into the 8-bit counter f of bucket k, saturating, and
 * into the sum by as much as the bucket moved. */
#define COUNT8_N(k, f, n)                                          \
    do {                                                           \
        if ((k).day) {                                             \
            unsigned was_ = (k).day->f, add_ = (unsigned)(n);      \
            unsigned now_ = was_ + add_ > UINT8_MAX ? UINT8_MAX : was_ + add_; \
            (k).day->f = (uint8_t)now_;                            \
            if ((k).sum)                                           \
                (k).sum->f += now_ - was_;                         \
        }                                                          \
    } while (0)

void pp_partner_windows(const pp_partner_t *st, int64_t now_ms, int long_days, int short_days,
                        pp_window_sum_t *lw, pp_window_sum_t *sw)
{
    memset(lw, 0, sizeof *lw);
    memset(sw, 0, sizeof *sw);
    if (st->head_day == 0)
        return;
    int w = bucket_w(st);
    int32_t now_day = pp_day_of(now_ms);
    int32_t hb = bucket_no(st->head_day, w), nb = bucket_no(now_day, w);
    int32_t lo = window_lo(now_day, long_days, w);
    if (lo <= hb - PP_DAYS_MAX)
        lo = hb - PP_DAYS_MAX + 1;
    int32_t short_lo = window_lo(now_day, short_days, w);
    int32_t hi = nb < hb ? nb : hb;
    int i = lo % PP_DAYS_MAX; /* d's ring slot, kept in step (lo > 0: a bucket of the ring) */
    for (int32_t d = lo; d <= hi; d++, i = i + 1 == PP_DAYS_MAX ? 0 : i + 1) {
        const pp_day_t *b = &st->days[i];
        /* most days of a quiet partner are empty: skip them cheaply (won_major
         * is not looked at: it is 0 whenever won is) */
        if (day_empty(b) ||
            (b->in == 0 && b->out == 0 && b->theirs == 0 && b->ours == 0 && b->registered == 0 &&
             b->qualified == 0 && b->won == 0 && b->lost == 0 && b->missed == 0 && b->delivered == 0))
            continue;
        add_day(lw, b);
        if (d >= short_lo)
            add_day(sw, b);
    }
}

void pp_partner_window(const pp_partner_t *st, int64_t now_ms, int days, pp_window_sum_t *out)
{
    pp_window_sum_t unused;
    pp_partner_windows(st, now_ms, days, days, out, &unused);
}

/* ---- deals ---- */

/* a += b without overflow (amounts are validated >= 0; sums saturate) */
static void sat_add(int64_t *a, int64_t b)
{
    *a = pp_sat_add64(*a, b);
}

static bool stage_open(int stage)
{
    return stage == PP_STAGE_REGISTERED || stage == PP_STAGE_QUALIFIED || stage == PP_STAGE_PROPOSAL;
}

static int64_t *pipeline_of(pp_partner_t *st, int attribution)
{
    return attribution == PP_ATTR_SOURCED ? &st->pipeline_sourced_minor : &st->pipeline_influenced_minor;
}

/* The order of the open stages: a later event moves a deal forward, back only
 * with a later event time (deal_stale). */
static int stage_rank(int stage)
{
    return stage == PP_STAGE_REGISTERED ? 1 : stage == PP_STAGE_QUALIFIED ? 2 : stage == PP_STAGE_PROPOSAL ? 3 : 4;
}

/* Whether an event of an open deal in the table is older than what the deal
 * holds and must not rewind it (a late retry of an earlier stage): an open
 * stage with an event time before the deal's latest, or in the same second
 * and an earlier stage. A closing stage (WON, LOST) is never stale: closing
 * is final whenever it was. */
static bool deal_stale(const pp_deal_slot_t *d, const pp_event_t *ev)
{
    if (!stage_open(ev->u.deal.stage))
        return false;
    uint32_t at = pp_secs(ev->occurred_at_ms);
    return at < d->last_seen || (at == d->last_seen && stage_rank(ev->u.deal.stage) < stage_rank(d->stage));
}

/* Find the deal's slot, or claim one for it (evicting closed deals first,
 * then the oldest); NULL when the deal is not in the table but was closed
 * and evicted from it (closed_deals[]): closed deals stay closed. A closed
 * deal evicted is remembered there. */
static pp_deal_slot_t *deal_slot(pp_partner_t *st, uint64_t id, bool *is_new)
{
    pp_deal_slot_t *free_slot = NULL, *oldest_closed = NULL, *oldest_open = NULL;
    for (int i = 0; i < PP_DEALS_MAX; i++) {
        pp_deal_slot_t *d = &st->deals[i];
        if (d->id == id) {
            *is_new = false;
            return d;
        }
        if (d->id == 0) {
            if (free_slot == NULL)
                free_slot = d;
        } else if (stage_open(d->stage)) {
            if (oldest_open == NULL || d->last_seen < oldest_open->last_seen)
                oldest_open = d;
        } else if (oldest_closed == NULL || d->last_seen < oldest_closed->last_seen) {
            oldest_closed = d;
        }
    }
    *is_new = true;
    if (seen_has(st->closed_deals, PP_CLOSED_MAX, pp_id_fold(id)))
        return NULL; /* closed and evicted: a late or repeated event changes nothing */
    pp_deal_slot_t *d = free_slot ? free_slot : oldest_closed;
    if (d != NULL && d == oldest_closed) { /* remember it: its repeated WON must not count again */
        st->closed_deals[st->closed_next] = pp_id_fold(d->id);
        st->closed_next = (uint8_t)((st->closed_next + 1) % PP_CLOSED_MAX);
    }
    if (d == NULL) {
        /* All slots hold open deals: forget the stalest one and its pipeline. */
        d = oldest_open;
        sat_add(pipeline_of(st, d->attribution), -d->amount_minor);
        if (d->qualified && st->open_qualified > 0)
            st->open_qualified--;
        st->deals_evicted++;
    }
    memset(d, 0, sizeof *d);
    return d;
}

/* memcpy(dst, src, n) for n <= 64, as two overlapping fixed-size copies
 * (what a variable-length memcpy of an id becomes is a byte-or-word loop, or
 * a call). Reads and writes exactly the n bytes, as memcpy does: the bytes
 * after an id's NUL in the state are left as they are. */
static inline void copy_short(char *dst, const char *src, size_t n)
{
    if (n >= 16) {
        if (n <= 32) {
            memcpy(dst, src, 16);
            memcpy(dst + n - 16, src + n - 16, 16);
        } else if (n <= 64) {
            memcpy(dst, src, 32);
            memcpy(dst + n - 32, src + n - 32, 32);
        } else {
            memcpy(dst, src, n);
        }
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

/* The event id that last moved measure m; n = strlen(event_id) (computed
 * once per event by pp_partner_apply_own, not once per measure). */
static void set_evidence(pp_partner_t *st, pp_measure_t m, const char *event_id, size_t n)
{
    if (n < PP_STATE_ID_MAX) {
        copy_short(st->evidence[m], event_id, n + 1);
    } else { /* keep the tail, which is where ids usually differ */
        st->evidence[m][0] = '~';
        memcpy(st->evidence[m] + 1, event_id + n - (PP_STATE_ID_MAX - 2), PP_STATE_ID_MAX - 1);
    }
}

/* Inbound activity at the event's time (DESIGN §4): a non-automated
 * engagement from the partner, a referral it sends us, a deal it brings.
 * Silence (going_dark, the recency measure) is measured from the latest. */
static void note_inbound(pp_partner_t *st, const pp_event_t *ev, size_t idn)
{
    if (ev->occurred_at_ms > st->last_inbound_ms)
        st->last_inbound_ms = ev->occurred_at_ms;
    set_evidence(st, PP_M_RECENCY, ev->event_id, idn);
}

/* The apply_* functions get the event's day (pp_day_of(ev->occurred_at_ms))
 * and the length of its id from pp_partner_apply_own, which computes both once. */
static void apply_deal(pp_partner_t *st, const pp_event_t *ev, int32_t dn, size_t idn, int64_t minor_per_major)
{
    bool is_new;
    pp_deal_slot_t *d = deal_slot(st, ev->u.deal.deal, &is_new);
    if (d == NULL)
        return; /* a closed deal evicted from the table: closed deals stay closed */
    bucket_t day = bucket_at(st, dn);
    if (is_new) {
        d->id = ev->u.deal.deal;
        if (ev->u.deal.attribution == PP_ATTR_SOURCED)
            st->deals_sourced++;
        else
            st->deals_influenced++;
        COUNT8(day, registered);
        set_evidence(st, PP_M_ACTIVITY, ev->event_id, idn);
        if (ev->u.deal.attribution == PP_ATTR_SOURCED)
            note_inbound(st, ev, idn); /* the partner brought it: the partner is active */
    } else if (!stage_open(d->stage)) {
        return; /* closed deals stay closed: a late or repeated event changes nothing */
    } else if (deal_stale(d, ev)) {
        return; /* an earlier stage arriving late never rewinds the deal */
    } else {
        sat_add(pipeline_of(st, d->attribution), -d->amount_minor);
        if (d->qualified && st->open_qualified > 0) /* counted again below if it stays open */
            st->open_qualified--;
    }
    d->stage = (uint8_t)ev->u.deal.stage;
    d->attribution = (uint8_t)ev->u.deal.attribution;
    d->amount_minor = ev->u.deal.amount_minor;
    d->last_seen = pp_secs(ev->occurred_at_ms);
    if (!d->qualified && d->stage != PP_STAGE_REGISTERED && d->stage != PP_STAGE_LOST) {
        d->qualified = 1;
        st->deals_qualified++;
        COUNT8(day, qualified);
        if (st->first_qualified_ms == 0 || ev->occurred_at_ms < st->first_qualified_ms)
            st->first_qualified_ms = ev->occurred_at_ms;
    }
    set_evidence(st, PP_M_PIPELINE, ev->event_id, idn);
    if (stage_open(d->stage)) {
        sat_add(pipeline_of(st, d->attribution), d->amount_minor);
        if (d->qualified && st->open_qualified < UINT8_MAX)
            st->open_qualified++; /* a qualified opportunity in active pipeline (seed 004 l.88) */
    } else if (d->stage == PP_STAGE_WON) {
        st->deals_won++;
        sat_add(d->attribution == PP_ATTR_SOURCED ? &st->revenue_won_sourced_minor : &st->revenue_won_influenced_minor,
                d->amount_minor);
        if (day.day) {
            COUNT8(day, won);
            int64_t major = d->amount_minor / minor_per_major; /* reporting currency (DESIGN §3) */
            uint32_t was = day.day->won_major;
            day.day->won_major = (uint32_t)((int64_t)day.day->won_major + major > UINT32_MAX
                                                ? UINT32_MAX
                                                : day.day->won_major + major);
            if (day.sum) /* the sum's counters wrap around, as unsigned arithmetic does */
                day.sum->won_major += (uint64_t)day.day->won_major - was;
        }
        set_evidence(st, PP_M_REVENUE, ev->event_id, idn);
        set_evidence(st, PP_M_WIN_RATE, ev->event_id, idn);
    } else {
        st->deals_lost++;
        COUNT8(day, lost);
        set_evidence(st, PP_M_WIN_RATE, ev->event_id, idn);
    }
}

/* A referral is a contribution of the side that sends it (seed 000 §6.4):
 * SENT counts sent_w, CONVERTED (it brought a customer) adds converted_w. */
static void apply_referral(pp_partner_t *st, const pp_event_t *ev, int32_t dn, size_t idn, int sent_w,
                           int converted_w)
{
    int status = ev->u.referral.status;
    if (status != PP_REF_SENT && status != PP_REF_CONVERTED)
        return;
    bucket_t day = bucket_at(st, dn);
    bool to_us = ev->u.referral.direction == PP_REF_TO_US;
    int w = status == PP_REF_SENT ? sent_w : converted_w;
    if (status == PP_REF_SENT) {
        if (to_us) {
            st->referrals_to_us++;
            COUNT8(day, registered);
            set_evidence(st, PP_M_ACTIVITY, ev->event_id, idn);
            note_inbound(st, ev, idn); /* a referral partner working through a portal is not dark */
        } else {
            st->referrals_to_partner++;
        }
    } else if (to_us) {
        st->referrals_converted_to_us++;
    } else if (st->referrals_converted_to_partner < UINT16_MAX) {
        st->referrals_converted_to_partner++;
    }
    if (to_us)
        COUNT8_N(day, theirs, w);
    else
        COUNT8_N(day, ours, w);
    set_evidence(st, PP_M_RECIPROCITY, ev->event_id, idn);
}

/* ---- threads and response times ---- */

/* The 32-bit id a thread or commitment slot keeps of its 64-bit hash; 0 stays
 * 0 (no id: matches a free slot, as it did with 64-bit ids). */
static inline uint32_t slot_id(uint64_t h)
{
    return h ? pp_id_fold(h) : 0;
}

static pp_thread_t *thread_find(pp_partner_t *st, uint32_t id)
{
    for (int i = 0; i < PP_THREADS_MAX; i++)
        if (st->threads[i].id == id)
            return &st->threads[i];
    return NULL;
}

static pp_thread_t *thread_claim(pp_partner_t *st, uint32_t id)
{
    pp_thread_t *victim = NULL;
    for (int i = 0; i < PP_THREADS_MAX; i++) {
        pp_thread_t *t = &st->threads[i];
        if (t->id == 0) {
            victim = t;
            break;
        }
        /* forget the oldest question, whichever side owes it: a fresh one
         * forgotten would turn its answer into a new question (and the next
         * message into a follow-up that never was) */
        if (victim == NULL || t->since < victim->since)
            victim = t;
    }
    if (victim->id != 0)
        st->threads_evicted++;
    memset(victim, 0, sizeof *victim);
    victim->id = id;
    return victim;
}

/* The responses of ring within the `days` days ending at `now` (seconds):
 * count, nearest-rank median, and the first second after `now` at which a
 * response enters or leaves that window (the result holds until then). */
static int resp_median(const pp_sample_t *ring, uint32_t now, int days, uint32_t *p50, uint32_t *until)
{
    uint32_t v[PP_SAMPLES_MAX];
    int n = 0;
    uint32_t span = (uint32_t)days * 86400u;
    uint32_t lo = now >= span ? now - span : 0; /* kept: at in (lo, now] */
    uint64_t next = UINT32_MAX;
    for (int i = 0; i < PP_SAMPLES_MAX; i++) {
        uint32_t at = ring[i].at;
        if (at == 0)
            continue;
        if (at > lo && at <= now) {
            v[n++] = ring[i].wait;
            if ((uint64_t)at + span < next)
                next = (uint64_t)at + span; /* leaves when now - at reaches span */
        } else if (at > now && at < next) {
            next = at;                      /* enters */
        }
    }
    pp_sort_small_u32(v, (int)n);
    *p50 = n > 0 ? v[(n + 1) / 2 - 1] : 0; /* ceil(0.5 n) - 1 */
    *until = (uint32_t)next;
    return n;
}

/* pp_partner_resp_median when the cache does not hold: compute and cache
 * (out of line: the cache holds for most evaluations). */
static __attribute__((noinline)) int resp_median_fill(pp_partner_t *st, uint32_t now, int days, uint32_t *p50_s)
{
    uint32_t until;
    int n = resp_median(st->resp_partner, now, days, p50_s, &until);
    if (days > 0 && days <= UINT8_MAX && until > now) {
        st->rp_days = (uint8_t)days;
        st->rp_n = (uint8_t)n;
        st->rp_p50 = *p50_s;
        st->rp_from = now;
        st->rp_until = until;
    }
    return n;
}

int pp_partner_resp_median(pp_partner_t *st, int64_t now_ms, int days, uint32_t *p50_s)
{
    uint32_t now = pp_secs(now_ms);
    if (st->rp_until != 0 && st->rp_days == days && now >= st->rp_from && now < st->rp_until) {
        *p50_s = st->rp_p50;
        return st->rp_n;
    }
    return resp_median_fill(st, now, days, p50_s);
}

static void push_sample(pp_sample_t *ring, uint8_t *next, uint32_t at, uint32_t wait)
{
    ring[*next].at = at;
    ring[*next].wait = wait;
    *next = (uint8_t)((*next + 1) % PP_SAMPLES_MAX);
}

/* Whether a message asks the other side for an answer (DESIGN §4): its
 * expects_reply when given; an INBOUND REQUEST always asks; otherwise it
 * asks when it opens an exchange (answers is false: no open question of the
 * other side on the thread). */
static bool message_asks(const pp_event_t *ev, bool answers)
{
    if (ev->u.eng.expects_reply == PP_REPLY_YES)
        return true;
    if (ev->u.eng.kind == PP_KIND_REQUEST && ev->u.eng.direction == PP_DIR_INBOUND)
        return true;
    if (ev->u.eng.expects_reply == PP_REPLY_NO)
        return false;
    return !answers;
}

/* A non-automated MESSAGE or REQUEST on a thread (seed 000 §6.2, DESIGN §4).
 * A thread slot is held only while a question is open on it:
 *   - the other side's question open: this answers it (one response time
 *     for the sender, in the sender's business time) and concludes the
 *     exchange; the thread is free again unless the answer itself asks;
 *   - the sender's own question open: a follow-up (the wait keeps its start);
 *   - nothing open (a new thread, or the last exchange concluded): the
 *     message opens a wait on the other side if it asks. */
static void apply_thread_message(pp_partner_t *st, const pp_event_t *ev, size_t idn, const pp_bizclock_t *clk)
{
    bool inbound = ev->u.eng.direction == PP_DIR_INBOUND;
    uint8_t waiting_for_sender = inbound ? PP_WAIT_PARTNER : PP_WAIT_US;
    uint8_t waiting_for_other = inbound ? PP_WAIT_US : PP_WAIT_PARTNER;
    uint32_t now = pp_secs(ev->occurred_at_ms);
    uint32_t tid = slot_id(ev->u.eng.thread);
    pp_thread_t *t = thread_find(st, tid);
    if (t != NULL && t->awaiting == waiting_for_other) {
        /* the sender writes again while the other side owes an answer: a follow-up */
        if (t->followups < UINT8_MAX)
            t->followups++;
        if (!inbound)
            st->followups_total++;
        return;
    }
    bool answers = t != NULL && t->awaiting == waiting_for_sender;
    if (answers) {
        /* the sender answers: one response time for the sender's side, in
         * the business time of the side that owed it */
        const pp_bizclock_t *owed = inbound ? &clk[PP_SIDE_PARTNER] : &clk[PP_SIDE_US];
        uint32_t wait = pp_biz_elapsed_s(owed, t->since, now);
        if (inbound) {
            push_sample(st->resp_partner, &st->resp_partner_next, now, wait);
            st->rp_until = 0; /* the cached median is stale */
            set_evidence(st, PP_M_RESPONSE, ev->event_id, idn);
        } else {
            push_sample(st->resp_us, &st->resp_us_next, now, wait);
        }
    }
    if (!message_asks(ev, answers)) {
        if (t != NULL)
            memset(t, 0, sizeof *t); /* concluded: nothing open on this thread */
        return;
    }
    t = t ? t : thread_claim(st, tid);
    t->awaiting = waiting_for_other;
    t->since = now;
    t->followups = 0;
}

/* ---- commitments (seed 000 §6.3) ---- */

static pp_commit_t *commit_find(pp_partner_t *st, uint32_t id)
{
    for (int i = 0; i < PP_COMMITS_MAX; i++)
        if (st->commits[i].id == id)
            return &st->commits[i];
    return NULL;
}

static pp_commit_t *commit_claim(pp_partner_t *st, uint32_t id)
{
    /* a free slot, else the settled commitment due longest ago, else (table
     * full of open ones) the open one due first, counted as evicted */
    pp_commit_t *free_slot = NULL, *settled = NULL, *open = NULL;
    for (int i = 0; i < PP_COMMITS_MAX; i++) {
        pp_commit_t *c = &st->commits[i];
        if (c->id == 0) {
            free_slot = c;
            break;
        }
        if (c->state != PP_COMMIT_OPEN) {
            if (settled == NULL || c->due < settled->due)
                settled = c;
        } else if (open == NULL || c->due < open->due) {
            open = c;
        }
    }
    pp_commit_t *victim = free_slot ? free_slot : settled ? settled : open;
    if (victim == open)
        st->commits_evicted++;
    memset(victim, 0, sizeof *victim);
    victim->id = id;
    return victim;
}

/* A commitment settled at at_ms (day dn = pp_day_of(at_ms)); evidence is
 * the id behind it, evn its length. */
static void count_commit(pp_partner_t *st, int owner, bool delivered, int64_t at_ms, int32_t dn,
                         const char *evidence, size_t evn)
{
    int o = owner == PP_DIR_INBOUND ? 0 : 1;
    if (delivered)
        st->commits_delivered[o]++;
    else
        st->commits_missed[o]++;
    if (o == 0) {
        if (!delivered && at_ms > st->last_missed_ms)
            st->last_missed_ms = at_ms;
        bucket_t day = bucket_at(st, dn);
        if (delivered)
            COUNT8(day, delivered);
        else
            COUNT8(day, missed);
        set_evidence(st, PP_M_DELIVERY, evidence, evn);
    }
}

static void apply_commitment(pp_partner_t *st, const pp_event_t *ev, int32_t dn, size_t idn)
{
    uint32_t cid = slot_id(ev->u.eng.commitment);
    pp_commit_t *c = commit_find(st, cid);
    int owner = ev->u.eng.direction;
    switch (ev->u.eng.kind) {
    case PP_KIND_COMMITMENT_MADE:
        if (c != NULL)
            return; /* repeated announcement */
        c = commit_claim(st, cid);
        c->owner = (uint8_t)owner;
        c->due = ev->u.eng.due_at_ms ? pp_secs(ev->u.eng.due_at_ms) : 0;
        c->state = PP_COMMIT_OPEN;
        st->commits_made[owner == PP_DIR_INBOUND ? 0 : 1]++;
        break;
    case PP_KIND_COMMITMENT_DELIVERED:
    case PP_KIND_COMMITMENT_MISSED: {
        bool delivered = ev->u.eng.kind == PP_KIND_COMMITMENT_DELIVERED;
        if (c != NULL) {
            if (c->state != PP_COMMIT_OPEN)
                return; /* already settled (delivered, or missed by its due date) */
            owner = c->owner;
            c->state = delivered ? PP_COMMIT_DELIVERED : PP_COMMIT_MISSED;
        }
        count_commit(st, owner, delivered, ev->occurred_at_ms, dn, ev->event_id, idn);
        break;
    }
    default:
        break;
    }
}

int pp_partner_expire_commitments(pp_partner_t *st, int64_t now_ms, int64_t grace_ms)
{
    uint32_t first_due;
    return pp_partner_expire_commitments_next(st, now_ms, grace_ms, &first_due);
}

int pp_partner_expire_commitments_next(pp_partner_t *st, int64_t now_ms, int64_t grace_ms, uint32_t *first_due)
{
    int n = 0;
    uint32_t now = pp_secs(now_ms - grace_ms);
    uint32_t first = 0;
    /* every timer runs this over all slots: the state first (free and
     * settled slots are not OPEN), the loop unrolled */
#pragma GCC unroll 12
    for (int i = 0; i < PP_COMMITS_MAX; i++) {
        pp_commit_t *c = &st->commits[i];
        if (c->state == PP_COMMIT_OPEN && c->due != 0 && c->id != 0) {
            if (c->due <= now) {
                c->state = PP_COMMIT_MISSED;
                static const char why[] = "due-date-passed";
                count_commit(st, c->owner, false, pp_ms(c->due), pp_day_of(pp_ms(c->due)), why, sizeof why - 1);
                n++;
            } else if (first == 0 || c->due < first) {
                first = c->due; /* still open after this pass */
            }
        }
    }
    *first_due = first;
    return n;
}

static void apply_engagement(pp_partner_t *st, const pp_event_t *ev, int32_t dn, size_t idn,
                             const pp_bizclock_t *clk)
{
    bool inbound = ev->u.eng.direction == PP_DIR_INBOUND;
    int kind = ev->u.eng.kind;
    if (inbound)
        st->engagements_inbound++;
    else
        st->engagements_outbound++;
    if (ev->u.eng.automated) {
        /* auto-replies are no responses and no activity (seed 000 §6.2) */
        pp_thread_t *t = ev->u.eng.thread ? thread_find(st, slot_id(ev->u.eng.thread)) : NULL;
        if (t && t->awaiting == (inbound ? PP_WAIT_PARTNER : PP_WAIT_US))
            st->automated_ignored++;
        return;
    }
    if (inbound)
        note_inbound(st, ev, idn);
    else if (ev->occurred_at_ms > st->last_outbound_ms)
        st->last_outbound_ms = ev->occurred_at_ms;
    bucket_t day = bucket_at(st, dn);
    if (inbound)
        COUNT16(day, in);
    else
        COUNT16(day, out);
    switch (kind) {
    case PP_KIND_MESSAGE:
    case PP_KIND_REQUEST:
        if (ev->u.eng.thread)
            apply_thread_message(st, ev, idn, clk);
        if (kind == PP_KIND_REQUEST && inbound) {
            /* the partner asking work of us is our contribution (seed 000
             * §6.5); our REQUEST is our ask, no contribution of theirs: the
             * more we chase a partner, the more one-sided it is, not less */
            COUNT8(day, ours);
            set_evidence(st, PP_M_RECIPROCITY, ev->event_id, idn);
        }
        break;
    case PP_KIND_MEETING:
    case PP_KIND_CO_MARKETING:
    case PP_KIND_TRAINING:
        if (inbound)
            COUNT8(day, theirs);
        else
            COUNT8(day, ours);
        set_evidence(st, PP_M_RECIPROCITY, ev->event_id, idn);
        break;
    default:
        apply_commitment(st, ev, dn, idn);
        break;
    }
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) { /* truncate on a UTF-8 character boundary */
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void apply_lifecycle(pp_partner_t *st, const pp_event_t *ev)
{
    if (ev->u.lc.kind == PP_LC_SNOOZE) {
        int r = ev->u.lc.snooze_rule;
        st->snooze_until_ms[r] = ev->u.lc.snooze_until_ms ? ev->u.lc.snooze_until_ms : -1;
        if (st->snooze_until_ms[r] == -1 && st->rules[r].started_at_ms)
            st->rules[r].snoozed_episode = 1;
        return;
    }
    if (ev->u.lc.partner_type != PP_PTYPE_NONE)
        st->partner_type = (uint8_t)ev->u.lc.partner_type;
    if (ev->u.lc.tier[0])
        copy_text(st->tier, sizeof st->tier, ev->u.lc.tier);
    if (ev->u.lc.owner[0])
        copy_text(st->owner, sizeof st->owner, ev->u.lc.owner);
    if (ev->u.lc.display_name[0])
        copy_text(st->display_name, sizeof st->display_name, ev->u.lc.display_name);
    if (ev->u.lc.timezone[0]) /* the daemon has checked that it knows the zone */
        st->zone_hash = pp_name_hash32(ev->u.lc.timezone);
    if (ev->u.lc.calendar[0]) /* ...and the calendar */
        st->calendar_hash = pp_name_hash32(ev->u.lc.calendar);
    if (ev->u.lc.kind == PP_LC_SIGNED) {
        st->signed_at_ms = ev->occurred_at_ms;
        st->exited = 0;
        st->milestone = PP_MILESTONE_PENDING; /* a new signing restarts the clock */
    } else if (ev->u.lc.kind == PP_LC_EXITED) {
        st->exited = 1;
    }
}

int pp_partner_apply(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                     int64_t now_ms, const pp_bizclock_t clk[2])
{
    if (strcmp(st->id, ev->partner_id) != 0)
        return -EINVAL;
    return pp_partner_apply_own(st, ev, partition, offset, now_ms, clk, NULL);
}

int pp_partner_apply_own(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                         int64_t now_ms, const pp_bizclock_t clk[2], const pp_policy_t *pol)
{
    static const pp_bizclock_t real_time[2] = {{NULL, NULL}, {NULL, NULL}};
    if (clk == NULL)
        clk = real_time;
    int32_t d = pp_day_of(ev->occurred_at_ms);
    size_t idn = strlen(ev->event_id); /* once: the evidence and last_event_id take it */
    lsum_before(st, d);
    switch (ev->topic) {
    case PP_TOPIC_DEALS:
        apply_deal(st, ev, d, idn, pol ? pol->minor_per_major : 100);
        break;
    case PP_TOPIC_REFERRALS:
        apply_referral(st, ev, d, idn, pol ? pol->referral_sent_weight : 1, pol ? pol->referral_converted_weight : 2);
        break;
    case PP_TOPIC_ENGAGEMENTS:
        apply_engagement(st, ev, d, idn, clk);
        break;
    case PP_TOPIC_LIFECYCLE:
        apply_lifecycle(st, ev);
        break;
    default:
        return -EINVAL;
    }
    st->applied[ev->topic].partition = partition;
    st->applied[ev->topic].offset = offset;
    if (st->home_partition < 0)
        st->home_partition = partition;
    st->events_applied++;
    st->updated_at_ms = now_ms;
    if (ev->occurred_at_ms > st->last_event_ms)
        st->last_event_ms = ev->occurred_at_ms;
    if (st->first_event_ms == 0 || ev->occurred_at_ms < st->first_event_ms)
        st->first_event_ms = ev->occurred_at_ms;
    if (ev->occurred_at_ms > st->clock_ms)
        st->clock_ms = ev->occurred_at_ms;
    if (idn < sizeof st->last_event_id)
        copy_short(st->last_event_id, ev->event_id, idn + 1);
    else
        memcpy(st->last_event_id, ev->event_id + idn - (sizeof st->last_event_id - 1), sizeof st->last_event_id);
    st->seen[st->seen_next] = pp_partner_fingerprint(ev->event_id, idn); /* pp_partner_duplicate */
    st->seen_next = (uint8_t)(st->seen_next + 1 == PP_SEEN_MAX ? 0 : st->seen_next + 1);
    return 0;
}

double pp_partner_health(const pp_partner_t *st)
{
    return st->health;
}


/* ---- blob ---- */

#define BLOB_MAGIC "PPST"
#define BLOB_HEADER 12 /* magic(4) + version(4, LE) + payload size(4, LE) */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The payload is the struct with runs of zero bytes squeezed: a zero byte is
 * followed by the run length (1..255); any other byte stands for itself.
 * Most of a partner's 4 KiB are empty window days and free table slots, so a
 * typical blob is a fraction of the struct (Redis memory, DESIGN §4). */
size_t pp_partner_blob_size(void)
{
    return BLOB_HEADER + 2 * sizeof(pp_partner_t); /* worst case: isolated zeros */
}

size_t pp_partner_encode(const pp_partner_t *st, uint8_t *buf, size_t cap)
{
    if (cap < pp_partner_blob_size())
        return 0;
    memcpy(buf, BLOB_MAGIC, 4);
    put_u32(buf + 4, PP_STATE_VERSION);
    put_u32(buf + 8, (uint32_t)sizeof *st);
    const uint8_t *p = (const uint8_t *)st;
    size_t n = sizeof *st, o = BLOB_HEADER;
    for (size_t i = 0; i < n;) {
        if (p[i] != 0) {
            /* copy the whole literal stretch at once */
            size_t j = i + 1;
            while (j < n && p[j] != 0)
                j++;
            memcpy(buf + o, p + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        size_t run = 1;
        while (run + 8 <= 255 && i + run + 8 <= n) { /* whole zero words first */
            uint64_t w;
            memcpy(&w, p + i + run, 8);
            if (w != 0)
                break;
            run += 8;
        }
        while (i + run < n && p[i + run] == 0 && run < 255)
            run++;
        buf[o++] = 0;
        buf[o++] = (uint8_t)run;
        i += run;
    }
    return o;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* A blob from Redis is input like any other: every field that indexes,
 * terminates or bounds something is checked before the state is used. */
static bool blob_sane(const pp_partner_t *t)
{
    if (!terminated(t->id, sizeof t->id) || !pp_partner_id_valid(t->id, strlen(t->id)))
        return false;
    if (!terminated(t->last_event_id, sizeof t->last_event_id) || !terminated(t->tier, sizeof t->tier) ||
        !terminated(t->owner, sizeof t->owner) || !terminated(t->display_name, sizeof t->display_name))
        return false;
    for (int m = 0; m < PP_M_COUNT; m++)
        if (!terminated(t->evidence[m], sizeof t->evidence[m]))
            return false;
    if (t->exited > 1 || t->partner_type > PP_PTYPE_CO_SELL || t->rag > 3)
        return false;
    if (t->resp_partner_next >= PP_SAMPLES_MAX || t->resp_us_next >= PP_SAMPLES_MAX)
        return false;
    if (t->seen_next >= PP_SEEN_MAX || t->closed_next >= PP_CLOSED_MAX)
        return false;
    /* day numbers: 0 (none) or within 2000..2100 */
    const int32_t lo = 10957, hi = 47482;
    if ((t->head_day != 0 && (t->head_day < lo || t->head_day > hi)) ||
        (t->health_hist_day != 0 && (t->health_hist_day < lo || t->health_hist_day > hi)))
        return false;
    /* a running sum covers at most the ring's buckets */
    if (t->bucket_days > PP_BUCKET_DAYS_MAX || t->lsum_days < 0 || t->lsum_days > PP_DAYS_MAX * bucket_w(t) ||
        (t->lsum_day != 0 && (t->lsum_day < lo || t->lsum_day > hi)))
        return false;
    for (int i = 0; i < PP_TOPIC_COUNT; i++)
        if (t->applied[i].partition < -1 || t->applied[i].offset < -1)
            return false;
    if (t->rp_until != 0) { /* a cached median must be what the samples give */
        uint32_t p50, until;
        int n = resp_median(t->resp_partner, t->rp_from, t->rp_days, &p50, &until);
        if (t->rp_days == 0 || until != t->rp_until || n != t->rp_n || p50 != t->rp_p50)
            return false;
    }
    return true;
}

int pp_partner_blob_version(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len < BLOB_HEADER || memcmp(buf, BLOB_MAGIC, 4) != 0)
        return -1;
    uint32_t v = get_u32(buf + 4);
    return v > INT32_MAX ? INT32_MAX : (int)v;
}

/* Undo the zero-run squeeze of buf[BLOB_HEADER..len) into out[0..n). */
static bool unsqueeze(const uint8_t *buf, size_t len, uint8_t *out, size_t n)
{
    size_t o = 0;
    for (size_t i = BLOB_HEADER; i < len;) {
        if (buf[i] != 0) {
            if (o >= n)
                return false;
            out[o++] = buf[i++];
            continue;
        }
        if (i + 1 >= len || buf[i + 1] == 0 || o + buf[i + 1] > n)
            return false; /* truncated run, empty run, or past the struct */
        memset(out + o, 0, buf[i + 1]);
        o += buf[i + 1];
        i += 2;
    }
    return o == n;
}

int pp_partner_decode(const uint8_t *buf, size_t len, pp_partner_t *st)
{
    /* Versions 6 to 8 read into version 8's frozen layout and are migrated
     * (pp_upgrade.h). Amounts were stored as published: they read as
     * amounts in the reporting currency (DESIGN §3; docs/redis.md). */
    union {
        pp_partner_t cur;
        pp_partner_v8_t v8;
    } raw; /* the struct of the blob's version (two 4 KiB structs on the stack in all) */
    int version = pp_partner_blob_version(buf, len);
    if (version < 0 || len > pp_partner_blob_size())
        return -EBADMSG;
    size_t n = version == PP_STATE_VERSION ? sizeof raw.cur : pp_upgrade_v8_size((uint32_t)version);
    if (n == 0)
        return -EPROTO; /* newer than this code, or older than it reads: keep the blob as it is */
    if (get_u32(buf + 8) != n)
        return -EBADMSG;
    memset(&raw, 0, sizeof raw);
    if (!unsqueeze(buf, len, (uint8_t *)&raw, n))
        return -EBADMSG;
    pp_partner_t tmp;
    if (version == PP_STATE_VERSION)
        tmp = raw.cur;
    else
        pp_upgrade_v8(&raw.v8, (uint32_t)version, &tmp);
    if (!blob_sane(&tmp))
        return -EBADMSG;
    *st = tmp;
    return 0;
}
