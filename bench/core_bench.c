/*
 * core_bench: micro-benchmark of the pure core (state/) alone, no I/O.
 *
 * Prints events applied per second on one core and bytes of state per
 * partner, each speed figure next to an in-run baseline (the harness doing
 * only the cache lookup and the dedup check), and checks them against the
 * targets: >= 1 000 000 events/s applied, <= 4 KiB of state per partner in
 * memory and as a blob. See bench/README.md.
 *
 * The workload is synthetic and deterministic (own PRNG, no clock in the
 * data): N partners, M events whose mix follows `partnerpulse gen` (about 75 %
 * engagements, 11 % deals moving through their stages, 13 % referrals, 1 %
 * lifecycle), event time rising over 120 days with a few late events.
 * Events are generated in chunks of BENCH_CHUNK straight into pp_event_t
 * records before each timed loop, so generation is timed apart (reported as
 * the `generate` row) and never counted in a phase.
 *
 * Exit status: 0 ran (whatever the targets say, unless --check), 1 the core
 * misbehaved (apply error, blob round trip mismatch, lost events) or --check
 * and a target failed, 2 usage error, 3 out of memory or cannot write --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pp_cache.h"
#include "pp_engine.h"
#include "pp_event.h"
#include "pp_partner.h"
#include "pp_policy.h"
#include "pp_rand.h"

#ifndef BENCH_FIND_BLOCK
#define BENCH_FIND_BLOCK 64 /* partners looked up together, one block ahead of the apply (> BENCH_AHEAD) */
#endif
#ifndef BENCH_AHEAD
#define BENCH_AHEAD 4      /* the apply loop prefetches the state this many events ahead */
#endif
#define BENCH_CHUNK 4096                  /* events pre-built per timed loop (~2.8 MB) */
#define BENCH_PARTITIONS 12               /* input partitions the partners spread over */
#define BENCH_T0_MS 1767225600000LL       /* 2026-01-01T00:00:00Z, as `partnerpulse gen` */
#define BENCH_SPAN_DAYS 120               /* event time span */
#define BENCH_DAY_MS 86400000LL
#define BENCH_HOUR_MS 3600000LL
#define BENCH_ID_CAP 32                   /* bytes of a generated partner id, NUL included */
#define BENCH_RECENT 8192                 /* recent events a continuation may pick its partner from */
#define BENCH_CONTINUE_PERMILLE 500       /* share of events continuing a recent partner's activity */

#define TARGET_EVENTS_PER_S 1000000.0
#define TARGET_BYTES_PER_PARTNER 4096.0

/* ---- deterministic PRNG: xoshiro256** seeded by splitmix64 (as pp_gen) ---- */

typedef pp_rand_t rng_t;

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = pp_splitmix64(&seed);
}

static uint64_t rng_next(rng_t *r)
{
    return pp_rand_next(r);
}

/* Uniform in [0, n), n > 0 (modulo bias is below 1e-9 for the n used here). */
static uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability permille/1000. */
static bool rng_chance(rng_t *r, unsigned permille)
{
    return rng_below(r, 1000) < permille;
}

/* ---- the synthetic stream ---- */

/* What the generator remembers of one partner so that its events tell a
 * consistent story (threads answered, deals advancing, commitments settled). */
typedef struct gen_partner {
    uint32_t events;       /* events generated: the k of the next "<id>-e<k>" */
    uint32_t threads;      /* conversation threads opened */
    uint32_t requests;     /* request threads opened */
    uint32_t deals;        /* deal ids issued */
    uint32_t commits;      /* commitment ids issued */
    uint32_t referrals;    /* referral ids issued */
    uint64_t thread;       /* hash of the open thread, 0 = none */
    uint64_t deal[2];      /* hashes of the two deals in flight, 0 = none */
    uint64_t commit;       /* hash of the open commitment, 0 = none */
    int64_t commit_due_ms; /* its due date */
    uint8_t thread_left;   /* messages still to come on the open thread */
    uint8_t thread_dir;    /* direction of its last non-automated message */
    uint8_t deal_stage[2]; /* stage of each deal in flight */
    uint8_t commit_owner;  /* enum pp_dir of the open commitment */
    uint8_t signed_;       /* a SIGNED event was generated */
} gen_partner_t;

typedef struct gen {
    rng_t rng;
    uint64_t n_partners;
    uint64_t n_events;
    uint64_t i;                                   /* events generated so far */
    char (*ids)[BENCH_ID_CAP];                    /* partner ids, borrowed */
    gen_partner_t *p;                             /* per partner, owned */
    int64_t offsets[PP_TOPIC_COUNT][BENCH_PARTITIONS]; /* next offset per (topic, partition) */
    uint32_t recent[BENCH_RECENT];                /* partners of the latest events (ring) */
} gen_t;

/* Where a generated event arrived in Kafka. */
typedef struct arrival {
    int32_t partition;
    int64_t offset;
} arrival_t;

static const char *const archetypes[6] = {"healthy", "slow", "dark", "onesided", "overpromise", "nopipeline"};
static const char *const tiers[3] = {"authorized", "gold", "platinum"};
static const char *const owners[4] = {"Ana Lima", "Bruno Costa", "Chloé Martin", "Dev Patel"};

/* Append the decimal digits of v at dst; returns the number written (<= 10). */
static size_t put_u32(char *dst, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

/* Write "<pid>-<tag><k>" (NUL-terminated) into dst, which holds at least
 * BENCH_ID_CAP + 13 bytes. */
static void make_id(char *dst, const char *pid, char tag, uint32_t k)
{
    size_t n = strlen(pid);
    memcpy(dst, pid, n);
    dst[n++] = '-';
    dst[n++] = tag;
    n += put_u32(dst + n, k);
    dst[n] = '\0';
}

/* Hash of "<pid>-<tag><k>", as the decoder would store the id. */
static uint64_t id_hash(const char *pid, char tag, uint32_t k)
{
    char buf[BENCH_ID_CAP + 16];
    make_id(buf, pid, tag, k);
    return pp_hash_str(buf);
}

static void gen_init(gen_t *g, uint64_t seed, uint64_t n_partners, uint64_t n_events, char (*ids)[BENCH_ID_CAP],
                     gen_partner_t *p)
{
    memset(g, 0, sizeof *g);
    rng_seed(&g->rng, seed);
    g->n_partners = n_partners;
    g->n_events = n_events;
    g->ids = ids;
    g->p = p;
    memset(p, 0, (size_t)n_partners * sizeof *p);
}

/* Event time of the i-th event: rising evenly over the span with jitter;
 * 2 % arrive late (1 h to 7 days behind), 0.1 % very late (beyond the
 * 90-day window: lifetime totals only). */
static int64_t gen_time(gen_t *g)
{
    int64_t span = BENCH_SPAN_DAYS * BENCH_DAY_MS;
    int64_t step = span / (int64_t)g->n_events;
    int64_t t = BENCH_T0_MS + (int64_t)((double)g->i / (double)g->n_events * (double)span);
    if (step > 1)
        t += rng_range(&g->rng, 0, step - 1);
    uint64_t late = rng_below(&g->rng, 1000);
    if (late < 1)
        t -= rng_range(&g->rng, 91 * BENCH_DAY_MS, 100 * BENCH_DAY_MS);
    else if (late < 21)
        t -= rng_range(&g->rng, BENCH_HOUR_MS, 7 * BENCH_DAY_MS);
    return t;
}

static void gen_lifecycle(gen_t *g, gen_partner_t *gp, pp_event_t *ev)
{
    rng_t *r = &g->rng;
    ev->topic = PP_TOPIC_LIFECYCLE;
    if (!gp->signed_) {
        ev->u.lc.kind = PP_LC_SIGNED;
        gp->signed_ = 1;
    } else {
        uint64_t x = rng_below(r, 10);
        ev->u.lc.kind = x < 6 ? PP_LC_OWNER_CHANGED : x < 9 ? PP_LC_TIER_CHANGED : PP_LC_TYPE_CHANGED;
    }
    /* every lifecycle event carries the full profile, as `gen` writes it */
    ev->u.lc.partner_type = (int)rng_range(r, PP_PTYPE_REFERRAL, PP_PTYPE_CO_SELL);
    strcpy(ev->u.lc.tier, tiers[rng_below(r, 3)]);
    strcpy(ev->u.lc.owner, owners[rng_below(r, 4)]);
    snprintf(ev->u.lc.display_name, sizeof ev->u.lc.display_name, "%.64s & Co", ev->partner_id);
}

/* A deal moves REGISTERED -> QUALIFIED -> PROPOSAL -> WON/LOST, with losses on the way. */
static void gen_deal(gen_t *g, gen_partner_t *gp, pp_event_t *ev)
{
    rng_t *r = &g->rng;
    int k = (int)rng_below(r, 2);
    int stage = gp->deal_stage[k];
    ev->topic = PP_TOPIC_DEALS;
    if (gp->deal[k] == 0 || stage == PP_STAGE_WON || stage == PP_STAGE_LOST) {
        gp->deal[k] = id_hash(ev->partner_id, 'd', ++gp->deals);
        stage = PP_STAGE_REGISTERED;
    } else if (stage == PP_STAGE_REGISTERED) {
        stage = rng_chance(r, 800) ? PP_STAGE_QUALIFIED : PP_STAGE_LOST;
    } else if (stage == PP_STAGE_QUALIFIED) {
        stage = rng_chance(r, 750) ? PP_STAGE_PROPOSAL : PP_STAGE_LOST;
    } else {
        stage = rng_chance(r, 450) ? PP_STAGE_WON : PP_STAGE_LOST;
    }
    gp->deal_stage[k] = (uint8_t)stage;
    ev->u.deal.deal = gp->deal[k];
    ev->u.deal.stage = stage;
    ev->u.deal.attribution = (gp->deal[k] & 1) ? PP_ATTR_SOURCED : PP_ATTR_INFLUENCED;
    ev->u.deal.amount_minor = (int64_t)(gp->deal[k] % 250000 + 5000) * 100; /* 5k..255k USD */
    memcpy(ev->u.deal.currency, "USD", 4);
}

static void gen_referral(gen_t *g, gen_partner_t *gp, pp_event_t *ev)
{
    rng_t *r = &g->rng;
    uint64_t x = rng_below(r, 1000);
    ev->topic = PP_TOPIC_REFERRALS;
    ev->u.referral.direction = rng_chance(r, 450) ? PP_REF_TO_US : PP_REF_TO_PARTNER;
    if (x < 465 || gp->referrals == 0) {
        ev->u.referral.status = PP_REF_SENT;
        gp->referrals++;
    } else {
        ev->u.referral.status = x < 797 ? PP_REF_ACCEPTED : x < 910 ? PP_REF_REJECTED : PP_REF_CONVERTED;
    }
    ev->u.referral.referral = id_hash(ev->partner_id, 'r', gp->referrals);
    ev->u.referral.value_minor = (int64_t)rng_range(r, 1000, 50000) * 100;
}

/* A MESSAGE on the partner's open thread: mostly answers (direction flips),
 * some follow-ups (same side again), 7 % automated replies. Most threads
 * end with the partner's answer; 15 % are left awaiting it. */
static void gen_message(gen_t *g, gen_partner_t *gp, pp_event_t *ev)
{
    rng_t *r = &g->rng;
    ev->u.eng.kind = PP_KIND_MESSAGE;
    if (gp->thread != 0 && gp->thread_left == 0 && gp->thread_dir == PP_DIR_OUTBOUND && rng_chance(r, 850)) {
        gp->thread_dir = PP_DIR_INBOUND; /* the closing answer */
        ev->u.eng.direction = PP_DIR_INBOUND;
        ev->u.eng.thread = gp->thread;
        return;
    }
    if (gp->thread == 0 || gp->thread_left == 0) {
        gp->thread = id_hash(ev->partner_id, 't', ++gp->threads);
        gp->thread_left = (uint8_t)rng_range(r, 2, 6);
        gp->thread_dir = rng_chance(r, 550) ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
        ev->u.eng.direction = gp->thread_dir;
    } else if (rng_chance(r, 70)) {
        ev->u.eng.automated = true; /* an auto-reply: no answer, no activity */
        ev->u.eng.direction = gp->thread_dir == PP_DIR_INBOUND ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
    } else {
        bool followup = rng_chance(r, 200);
        if (!followup)
            gp->thread_dir = gp->thread_dir == PP_DIR_INBOUND ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
        ev->u.eng.direction = gp->thread_dir;
    }
    ev->u.eng.thread = gp->thread;
    gp->thread_left--;
}

/* Commitments: made with a due date 3-21 days out, later delivered or
 * (partner's only) missed; some are never settled and expire by due date. */
static void gen_commitment(gen_t *g, gen_partner_t *gp, pp_event_t *ev, int kind, int64_t t)
{
    rng_t *r = &g->rng;
    if (kind == PP_KIND_COMMITMENT_MADE || gp->commit == 0) {
        gp->commit = id_hash(ev->partner_id, 'c', ++gp->commits);
        gp->commit_owner = rng_chance(r, 530) ? PP_DIR_INBOUND : PP_DIR_OUTBOUND;
        gp->commit_due_ms = t + rng_range(r, 3 * BENCH_DAY_MS, 21 * BENCH_DAY_MS);
        kind = PP_KIND_COMMITMENT_MADE;
    } else if (kind == PP_KIND_COMMITMENT_MISSED && gp->commit_owner != PP_DIR_INBOUND) {
        kind = PP_KIND_COMMITMENT_DELIVERED; /* we never report our own misses */
    }
    ev->u.eng.kind = kind;
    ev->u.eng.direction = gp->commit_owner;
    ev->u.eng.commitment = gp->commit;
    ev->u.eng.due_at_ms = gp->commit_due_ms;
    if (kind != PP_KIND_COMMITMENT_MADE)
        gp->commit = 0;
}

/* Engagement kinds per mille of all events, from `partnerpulse gen` output. */
static void gen_engagement(gen_t *g, gen_partner_t *gp, pp_event_t *ev, uint64_t x, int64_t t)
{
    rng_t *r = &g->rng;
    ev->topic = PP_TOPIC_ENGAGEMENTS;
    if (x < 450) {
        gen_message(g, gp, ev);
    } else if (x < 540) {
        ev->u.eng.kind = PP_KIND_MEETING;
        ev->u.eng.direction = rng_chance(r, 550) ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
    } else if (x < 610) {
        gen_commitment(g, gp, ev, PP_KIND_COMMITMENT_MADE, t);
    } else if (x < 662) {
        gen_commitment(g, gp, ev, PP_KIND_COMMITMENT_DELIVERED, t);
    } else if (x < 672) {
        gen_commitment(g, gp, ev, PP_KIND_COMMITMENT_MISSED, t);
    } else if (x < 703) {
        /* the partner asks work of us on a new thread; answers follow on it */
        ev->u.eng.kind = PP_KIND_REQUEST;
        ev->u.eng.direction = PP_DIR_INBOUND;
        gp->thread = id_hash(ev->partner_id, 'q', ++gp->requests);
        gp->thread_left = (uint8_t)rng_range(r, 1, 4);
        gp->thread_dir = PP_DIR_INBOUND;
        ev->u.eng.thread = gp->thread;
    } else if (x < 735) {
        ev->u.eng.kind = PP_KIND_CO_MARKETING;
        ev->u.eng.direction = rng_chance(r, 600) ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
    } else {
        ev->u.eng.kind = PP_KIND_TRAINING;
        ev->u.eng.direction = rng_chance(r, 850) ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
    }
}

/* Activity is bursty: half the events continue the story of a partner seen
 * in the last BENCH_RECENT events (a reply within hours, the next deal
 * stage), the other half pick any partner. */
static uint32_t gen_partner(gen_t *g)
{
    rng_t *r = &g->rng;
    uint32_t pi;
    if (g->i > 0 && rng_chance(r, BENCH_CONTINUE_PERMILLE))
        pi = g->recent[rng_below(r, g->i < BENCH_RECENT ? g->i : BENCH_RECENT)];
    else
        pi = (uint32_t)rng_below(r, g->n_partners);
    g->recent[g->i % BENCH_RECENT] = pi;
    return pi;
}

/* Fill *ev with the next event of the stream and say where it arrived. */
static void gen_next(gen_t *g, pp_event_t *ev, arrival_t *at)
{
    rng_t *r = &g->rng;
    uint32_t pi = gen_partner(g);
    gen_partner_t *gp = &g->p[pi];
    int64_t t = gen_time(g);
    uint64_t x = rng_below(r, 1000);

    memset(ev, 0, sizeof *ev);
    strcpy(ev->partner_id, g->ids[pi]);
    make_id(ev->event_id, g->ids[pi], 'e', ++gp->events);
    ev->occurred_at_ms = t;
    if (x < 8)
        gen_lifecycle(g, gp, ev);
    else if (x < 116)
        gen_deal(g, gp, ev);
    else if (x < 246)
        gen_referral(g, gp, ev);
    else
        gen_engagement(g, gp, ev, x - 246, t); /* 0..753 */

    at->partition = (int32_t)(pi % BENCH_PARTITIONS);
    at->offset = g->offsets[ev->topic][at->partition]++;
    g->i++;
}

/* ---- measurement helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size now, in bytes (Linux /proc/self/statm), 0 if unknown. */
static uint64_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)resident * (uint64_t)page : 0;
}

/* Peak resident set size of the process, in bytes. */
static uint64_t rss_peak(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

typedef struct phase {
    const char *name;      /* row label, and "phase" in the JSON */
    const char *unit;      /* what one op is: "events" or "partners" */
    uint64_t ops;
    double secs;
} phase_t;

static double per_s(const phase_t *p)
{
    return p->secs > 0 ? (double)p->ops / p->secs : 0;
}

static double ns_per_op(const phase_t *p)
{
    return p->ops ? p->secs * 1e9 / (double)p->ops : 0;
}

/* ---- the run ---- */

typedef struct opts {
    uint64_t partners;
    uint64_t events;
    uint64_t seed;
    const char *json;      /* --json FILE, NULL = none */
    bool quick;
    bool check;            /* exit 1 when a target fails */
    bool digest;           /* hash every alert and every partner's fields (outputs check) */
    uint64_t repeat;       /* timed passes of baseline + apply; the median one is reported */
} opts_t;

#define REPEAT_MAX 20

typedef struct results {
    phase_t generate, baseline, apply, encode, fields, decode;
    double apply_runs[REPEAT_MAX]; /* events/s of each pass, in run order */
    double baseline_runs[REPEAT_MAX];
    uint64_t alerts;            /* alert transitions the apply phase produced */
    uint64_t by_rule[PP_R_COUNT][2]; /* ...per rule: [0] FIRING, [1] RESOLVED */
    uint64_t timer_events;      /* events that found deadlines due first (ticks ran) */
    uint64_t skipped;           /* events the dedup check skipped (expected 0) */
    uint64_t fields_written;
    size_t sizeof_partner;
    size_t blob_bytes;
    double blob_avg;            /* mean encoded blob (zero runs squeezed) */
    uint64_t rss_before, rss_after;
    double mem_per_partner;     /* (rss_after - rss_before) / partners */
    double cache_overhead;      /* mem_per_partner - sizeof(pp_partner_t) */
    double peak_rss_per_partner;
    uint64_t peak_rss;
    bool pass_rate, pass_blob, pass_mem;
    uint64_t dig_alerts, dig_fields, dig_blobs; /* --digest */
} results_t;

/* ---- --digest: FNV-1a over the outputs, field by field (no padding) ---- */

static void dig_bytes(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ULL;
}

static void dig_str(uint64_t *h, const char *s)
{
    dig_bytes(h, s, strlen(s) + 1);
}

static void dig_i64(uint64_t *h, int64_t v)
{
    dig_bytes(h, &v, sizeof v);
}

static void dig_f64(uint64_t *h, double v)
{
    dig_bytes(h, &v, sizeof v);
}

static void dig_alert(uint64_t *h, const pp_alert_t *a)
{
    dig_str(h, a->alert_id);
    dig_str(h, a->partner_id);
    dig_i64(h, a->rule);
    dig_i64(h, a->severity);
    dig_i64(h, a->status);
    dig_f64(h, a->value);
    dig_f64(h, a->threshold);
    dig_str(h, a->message);
    dig_i64(h, a->started_at_ms);
    dig_i64(h, a->event_time_ms);
    dig_i64(h, a->emitted_at_ms);
    dig_f64(h, a->health);
    dig_str(h, a->evidence);
    dig_i64(h, a->publish);
    dig_i64(h, a->partition);
}

static void usage(FILE *to)
{
    fputs("usage: core_bench [--partners N] [--events M] [--seed S] [--json FILE] [--quick] [--check] [--digest]\n"
          "                  [--repeat R]\n"
          "  --partners N  partners in the cache (default 100000)\n"
          "  --events M    events applied (default 5000000)\n"
          "  --seed S      PRNG seed of the synthetic stream (default 1)\n"
          "  --json FILE   also write the figures as JSON to FILE\n"
          "  --quick       2000 partners, 100000 events (smoke test; targets not meaningful)\n"
          "  --check       exit 1 when a target is missed (default: report only)\n"
          "  --repeat R    timed passes over the same stream, partners reset in between\n"
          "                (default 3, 1 with --quick); the median pass is reported\n"
          "  --digest      also print a hash of every alert transition and of every partner's\n"
          "                public fields and blob (same outputs => same digests; slows apply)\n"
          "Measures the pure core alone (no I/O). See bench/README.md.\n",
          to);
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (s == NULL || *s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < min || v > max) {
        fprintf(stderr, "core_bench: %s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'.\n", opt, min,
                max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 when the run should stop with status 0 (--help), -1 on a usage error. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    bool have_partners = false, have_events = false;
    o->partners = 100000;
    o->events = 5000000;
    o->seed = 1;
    o->json = NULL;
    o->quick = false;
    o->check = false;
    o->digest = false;
    o->repeat = 0; /* 0 = not given */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--check") == 0) {
            o->check = true;
        } else if (strcmp(a, "--digest") == 0) {
            o->digest = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--partners") == 0) {
            if (parse_u64(a, val, 1, 5000000, &o->partners) != 0)
                return -1;
            have_partners = true;
            i++;
        } else if (strcmp(a, "--events") == 0) {
            if (parse_u64(a, val, 1, 2000000000, &o->events) != 0)
                return -1;
            have_events = true;
            i++;
        } else if (strcmp(a, "--repeat") == 0) {
            if (parse_u64(a, val, 1, REPEAT_MAX, &o->repeat) != 0)
                return -1;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(a, val, 0, UINT64_MAX, &o->seed) != 0)
                return -1;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            if (val == NULL || val[0] == '\0') {
                fputs("core_bench: --json wants a file name.\n", stderr);
                return -1;
            }
            o->json = val;
            i++;
        } else {
            fprintf(stderr, "core_bench: unknown argument '%s'; see --help.\n", a);
            return -1;
        }
    }
    if (o->repeat == 0)
        o->repeat = o->quick ? 1 : 3;
    if (o->quick) { /* explicit sizes still win, in any order */
        if (!have_partners)
            o->partners = 2000;
        if (!have_events)
            o->events = 100000;
    }
    return 0;
}

/* Resources of one run; bench_free releases whatever was allocated. */
typedef struct bench {
    pp_policyset_t *ps;
    char (*ids)[BENCH_ID_CAP];
    gen_partner_t *gp;
    pp_event_t *ring;
    const char **idp;        /* the chunk's partner ids */
    pp_partner_t **found;    /* their cached states */
    arrival_t *arrivals;
    pp_alert_t *alerts;
    pp_field_t *fields;
    pp_partner_t **states;      /* borrowed from the cache, in partner order */
    pp_cache_t *cache;
    uint8_t *blobs;
    pp_partner_t *scratch;
} bench_t;

static void bench_free(bench_t *b)
{
    free(b->scratch);
    free(b->blobs);
    pp_cache_free(b->cache);
    free(b->states);
    free(b->fields);
    free(b->alerts);
    free(b->arrivals);
    free(b->ring);
    free(b->idp);
    free(b->found);
    free(b->gp);
    free(b->ids);
    free(b->ps);
}

/* Generate the next chunk (untimed except into r->generate). Returns its length. */
static size_t fill_chunk(gen_t *g, bench_t *b, phase_t *generate)
{
    size_t n = g->n_events - g->i < BENCH_CHUNK ? (size_t)(g->n_events - g->i) : BENCH_CHUNK;
    double t0 = now_s();
    for (size_t k = 0; k < n; k++)
        gen_next(g, &b->ring[k], &b->arrivals[k]);
    generate->secs += now_s() - t0;
    generate->ops += n;
    return n;
}

/* The harness floor: lookup + dedup check + a counter, nothing applied. */
/* The partners of events [from, from + BENCH_FIND_BLOCK) of the chunk, looked
 * up together (pp_cache_find_many pipelines the lookups). The loops look up
 * one block ahead of the event they apply: a lookup brings the first lines
 * of the state in, and they are still in the CPU caches when it is applied. */
static void find_block(bench_t *b, size_t from, size_t n)
{
    if (from >= n)
        return;
    size_t to = from + BENCH_FIND_BLOCK < n ? from + BENCH_FIND_BLOCK : n;
    for (size_t k = from; k < to; k++)
        b->idp[k] = b->ring[k].partner_id;
    pp_cache_find_many(b->cache, b->idp + from, to - from, b->found + from);
}

static int run_baseline(const opts_t *o, bench_t *b, results_t *r, uint64_t *sink)
{
    gen_t g;
    gen_init(&g, o->seed, o->partners, o->events, b->ids, b->gp);
    uint64_t fresh = 0;
    while (g.i < g.n_events) {
        size_t n = fill_chunk(&g, b, &r->generate);
        double t0 = now_s();
        find_block(b, 0, n);
        for (size_t k = 0; k < n; k++) {
            if (k % BENCH_FIND_BLOCK == 0)
                find_block(b, k + BENCH_FIND_BLOCK, n);
            const pp_event_t *ev = &b->ring[k];
            pp_partner_t *st = b->found[k];
            if (st != NULL && !pp_partner_already_applied(st, ev->topic, b->arrivals[k].partition,
                                                          b->arrivals[k].offset))
                fresh++;
        }
        r->baseline.secs += now_s() - t0;
        r->baseline.ops += n;
    }
    *sink += fresh;
    if (fresh != o->events) {
        fprintf(stderr, "core_bench: baseline found %" PRIu64 " of %" PRIu64 " events new; the stream or cache is wrong.\n",
                fresh, o->events);
        return -1;
    }
    return 0;
}

/* The real per-event work of the daemon's apply loop (pp_daemon.c): lookup,
 * dedup check, engine (state + score + rules + alert lifecycle), mark dirty.
 * The dirty set is cleared between chunks, untimed, as a flush would. */
static int run_apply(const opts_t *o, bench_t *b, results_t *r)
{
    gen_t g;
    gen_init(&g, o->seed, o->partners, o->events, b->ids, b->gp);
    while (g.i < g.n_events) {
        size_t n = fill_chunk(&g, b, &r->generate);
        double t0 = now_s();
        find_block(b, 0, n);
        for (size_t k = 0; k < n; k++) {
            if (k % BENCH_FIND_BLOCK == 0)
                find_block(b, k + BENCH_FIND_BLOCK, n);
            const pp_event_t *ev = &b->ring[k];
            const arrival_t *at = &b->arrivals[k];
            pp_partner_t *st = b->found[k];
            if (k + BENCH_AHEAD < n && b->found[k + BENCH_AHEAD] != NULL) {
                pp_engine_prefetch(b->found[k + BENCH_AHEAD], &b->ring[k + BENCH_AHEAD]);
                pp_cache_prefetch(b->found[k + BENCH_AHEAD]);
            }
            if (st == NULL || pp_partner_already_applied(st, ev->topic, at->partition, at->offset)) {
                r->skipped++;
                continue;
            }
            if (st->next_deadline_ms != 0 && st->next_deadline_ms < ev->occurred_at_ms)
                r->timer_events++;
            int na = pp_engine_apply(b->ps, st, ev, at->partition, at->offset, ev->occurred_at_ms, b->alerts);
            if (na < 0) {
                fprintf(stderr, "core_bench: pp_engine_apply failed (%d) on event %s.\n", na, ev->event_id);
                return -1;
            }
            r->alerts += (uint64_t)na;
            if (o->digest) {
                dig_i64(&r->dig_alerts, na);
                for (int j = 0; j < na; j++)
                    dig_alert(&r->dig_alerts, &b->alerts[j]);
            }
            for (int j = 0; j < na; j++)
                r->by_rule[b->alerts[j].rule][b->alerts[j].status == PP_ALERT_FIRING ? 0 : 1]++;
            pp_cache_mark_dirty(b->cache, st);
        }
        r->apply.secs += now_s() - t0;
        r->apply.ops += n;
        pp_cache_clear_dirty(b->cache);
    }
    uint64_t applied = 0;
    for (uint64_t i = 0; i < o->partners; i++)
        applied += b->states[i]->events_applied;
    if (r->skipped != 0 || applied != o->events) {
        fprintf(stderr, "core_bench: %" PRIu64 " events applied, %" PRIu64 " skipped, of %" PRIu64 "; expected all applied.\n",
                applied, r->skipped, o->events);
        return -1;
    }
    return 0;
}

static int run_blobs(const opts_t *o, bench_t *b, results_t *r, uint64_t *sink)
{
    size_t bs = pp_partner_blob_size();
    /* fault the blob pages in first: encode measures CPU, not the kernel */
    memset(b->blobs, 0, (size_t)o->partners * bs);
    size_t *lens = calloc((size_t)o->partners, sizeof *lens);
    if (lens == NULL)
        return -1;
    double t0 = now_s();
    for (uint64_t i = 0; i < o->partners; i++)
        if ((lens[i] = pp_partner_encode(b->states[i], b->blobs + i * bs, bs)) == 0) {
            fprintf(stderr, "core_bench: pp_partner_encode failed for %s.\n", b->states[i]->id);
            free(lens);
            return -1;
        }
    r->encode.secs = now_s() - t0;
    uint64_t total = 0;
    for (uint64_t i = 0; i < o->partners; i++)
        total += lens[i];
    r->blob_avg = o->partners ? (double)total / (double)o->partners : 0;
    r->encode.ops = o->partners;

    t0 = now_s();
    for (uint64_t i = 0; i < o->partners; i++)
        r->fields_written += pp_engine_fields(b->ps, b->states[i], b->fields, PP_FIELDS_MAX);
    r->fields.secs = now_s() - t0;
    r->fields.ops = o->partners;

    uint64_t ok = 0;
    t0 = now_s();
    for (uint64_t i = 0; i < o->partners; i++) {
        ok += pp_partner_decode(b->blobs + i * bs, lens[i], b->scratch) == 0;
        *sink += b->scratch->events_applied;
    }
    r->decode.secs = now_s() - t0;
    r->decode.ops = o->partners;

    /* round trip, untimed: every blob decodes to the state it came from */
    for (uint64_t i = 0; i < o->partners && ok == o->partners; i++)
        if (pp_partner_decode(b->blobs + i * bs, lens[i], b->scratch) != 0 ||
            memcmp(b->scratch, b->states[i], sizeof *b->scratch) != 0)
            ok = i;
    free(lens);
    if (ok != o->partners) {
        fprintf(stderr, "core_bench: blob round trip failed (%" PRIu64 " of %" PRIu64 " partners ok).\n", ok,
                o->partners);
        return -1;
    }
    return 0;
}

static void print_row(const phase_t *p, const phase_t *base)
{
    double ratio = base->ops && ns_per_op(base) > 0 ? ns_per_op(p) / ns_per_op(base) : 0;
    printf("%-10s %12" PRIu64 " %-8s %9.3f %14.0f %10.1f %10.2f\n", p->name, p->ops, p->unit, p->secs, per_s(p),
           ns_per_op(p), ratio);
}

/* --digest: every partner's public fields and blob, in partner order (untimed). */
static void digest_states(const opts_t *o, bench_t *b, results_t *r)
{
    uint8_t *blob = b->blobs; /* the first partner's blob room: scratch now */
    for (uint64_t i = 0; i < o->partners; i++) {
        size_t nf = pp_engine_fields(b->ps, b->states[i], b->fields, PP_FIELDS_MAX);
        for (size_t j = 0; j < nf; j++) {
            dig_str(&r->dig_fields, b->fields[j].name);
            dig_str(&r->dig_fields, b->fields[j].value);
        }
        size_t n = pp_partner_encode(b->states[i], blob, pp_partner_blob_size());
        dig_bytes(&r->dig_blobs, blob, n);
    }
}

static void print_report(const opts_t *o, const results_t *r)
{
    const phase_t *rows[] = {&r->baseline, &r->apply, &r->encode, &r->fields, &r->decode};
    printf("core_bench: %" PRIu64 " partners, %" PRIu64 " events, seed %" PRIu64 "%s, one thread\n", o->partners,
           o->events, o->seed, o->quick ? " (quick: figures indicative only)" : "");
    printf("%-10s %12s %-8s %9s %14s %10s %10s\n", "phase", "ops", "unit", "seconds", "rate/s", "ns/op",
           "x baseline");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        print_row(rows[i], &r->baseline);
    printf("(generate: %.3f s for %" PRIu64 " events over every pass, %.1f ns/event, untimed in every phase)\n",
           r->generate.secs, r->generate.ops, ns_per_op(&r->generate));
    printf("apply over %" PRIu64 " passes (events/s, in run order):", o->repeat);
    for (uint64_t p = 0; p < o->repeat; p++)
        printf(" %.0f", r->apply_runs[p]);
    printf("; the table shows the median pass\n");
    double net = ns_per_op(&r->apply) - ns_per_op(&r->baseline);
    printf("apply net of the harness floor: %.1f ns/event (%.0f events/s)\n", net, net > 0 ? 1e9 / net : 0);
    printf("apply workload: %.1f %% of events ran due timers first; %" PRIu64 " alert transitions (%.4f/event):",
           100.0 * (double)r->timer_events / (double)o->events, r->alerts, (double)r->alerts / (double)o->events);
    for (int i = 0; i < PP_R_COUNT; i++)
        if (r->by_rule[i][0] || r->by_rule[i][1])
            printf(" %s %" PRIu64 "/%" PRIu64, pp_rule_name((pp_rule_t)i), r->by_rule[i][0], r->by_rule[i][1]);
    puts(" (fired/resolved)");
    printf("state bytes per partner: sizeof(pp_partner_t)=%zu, blob mean %.0f (max %zu), cache entry overhead~%.0f "
           "(in memory %.0f = RSS delta %" PRIu64 " B / %" PRIu64 " partners)\n",
           r->sizeof_partner, r->blob_avg, r->blob_bytes, r->cache_overhead, r->mem_per_partner,
           r->rss_after - r->rss_before, o->partners);
    printf("peak RSS: %" PRIu64 " B = %.0f B per partner (includes the event chunk, blobs and buffers)\n",
           r->peak_rss, r->peak_rss_per_partner);
    printf("%s apply %.0f events/s %s %.0f (single thread)\n", r->pass_rate ? "PASS" : "FAIL", per_s(&r->apply),
           r->pass_rate ? ">=" : "<", TARGET_EVENTS_PER_S);
    printf("%s blob mean %.0f bytes %s %.0f\n", r->pass_blob ? "PASS" : "FAIL", r->blob_avg, r->pass_blob ? "<=" : ">",
           TARGET_BYTES_PER_PARTNER);
    printf("%s memory %.0f bytes per partner %s %.0f\n", r->pass_mem ? "PASS" : "FAIL", r->mem_per_partner,
           r->pass_mem ? "<=" : ">", TARGET_BYTES_PER_PARTNER);
}

static void json_phase(FILE *f, const phase_t *p, const phase_t *base, bool last)
{
    double ratio = ns_per_op(base) > 0 ? ns_per_op(p) / ns_per_op(base) : 0;
    fprintf(f,
            "    {\"phase\": \"%s\", \"unit\": \"%s\", \"ops\": %" PRIu64 ", \"seconds\": %.6f, "
            "\"per_second\": %.1f, \"ns_per_op\": %.2f, \"ratio_to_baseline\": %.3f}%s\n",
            p->name, p->unit, p->ops, p->secs, per_s(p), ns_per_op(p), ratio, last ? "" : ",");
}

static int write_json(const opts_t *o, const results_t *r)
{
    FILE *f = fopen(o->json, "w");
    if (f == NULL) {
        fprintf(stderr, "core_bench: cannot write %s: %s; check the path.\n", o->json, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"partners\": %" PRIu64 ",\n  \"events\": %" PRIu64 ",\n  \"seed\": %" PRIu64 ",\n  \"quick\": %s,\n",
            o->partners, o->events, o->seed, o->quick ? "true" : "false");
    fputs("  \"phases\": [\n", f);
    json_phase(f, &r->baseline, &r->baseline, false);
    json_phase(f, &r->apply, &r->baseline, false);
    json_phase(f, &r->encode, &r->baseline, false);
    json_phase(f, &r->fields, &r->baseline, false);
    json_phase(f, &r->decode, &r->baseline, true);
    fputs("  ],\n", f);
    fputs("  \"apply_passes_per_second\": [", f);
    for (uint64_t p = 0; p < o->repeat; p++)
        fprintf(f, "%s%.1f", p ? ", " : "", r->apply_runs[p]);
    fputs("],\n", f);
    fprintf(f, "  \"generate_ns_per_event\": %.2f,\n  \"timer_events\": %" PRIu64 ",\n  \"alerts\": %" PRIu64 ",\n",
            ns_per_op(&r->generate), r->timer_events, r->alerts);
    fputs("  \"alerts_by_rule\": {", f);
    for (int i = 0; i < PP_R_COUNT; i++)
        fprintf(f, "%s\"%s\": [%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", pp_rule_name((pp_rule_t)i), r->by_rule[i][0],
                r->by_rule[i][1]);
    fputs("},\n", f);
    fprintf(f,
            "  \"sizeof_partner\": %zu,\n  \"blob_bytes\": %zu,\n  \"mem_per_partner\": %.1f,\n"
            "  \"cache_entry_overhead\": %.1f,\n  \"peak_rss_bytes\": %" PRIu64 ",\n  \"peak_rss_per_partner\": %.1f,\n",
            r->sizeof_partner, r->blob_bytes, r->mem_per_partner, r->cache_overhead, r->peak_rss,
            r->peak_rss_per_partner);
    fprintf(f,
            "  \"targets\": {\n"
            "    \"apply_events_per_second\": {\"min\": %.0f, \"value\": %.1f, \"pass\": %s},\n"
            "    \"blob_bytes\": {\"max\": %.0f, \"value\": %zu, \"pass\": %s},\n"
            "    \"mem_per_partner\": {\"max\": %.0f, \"value\": %.1f, \"pass\": %s}\n  }\n}\n",
            TARGET_EVENTS_PER_S, per_s(&r->apply), r->pass_rate ? "true" : "false", TARGET_BYTES_PER_PARTNER,
            r->blob_bytes, r->pass_blob ? "true" : "false", TARGET_BYTES_PER_PARTNER, r->mem_per_partner,
            r->pass_mem ? "true" : "false");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "core_bench: write error on %s; check free space.\n", o->json);
        return -1;
    }
    return 0;
}

/* Allocate everything the phases need except the cache and the blobs, so the
 * RSS delta around the cache build is the partner state alone. */
static int bench_alloc(const opts_t *o, bench_t *b)
{
    b->ps = malloc(sizeof *b->ps);
    b->ids = calloc((size_t)o->partners, sizeof *b->ids);
    b->gp = calloc((size_t)o->partners, sizeof *b->gp);
    b->ring = calloc(BENCH_CHUNK, sizeof *b->ring);
    b->idp = calloc(BENCH_CHUNK, sizeof *b->idp);
    b->found = calloc(BENCH_CHUNK, sizeof *b->found);
    b->arrivals = calloc(BENCH_CHUNK, sizeof *b->arrivals);
    b->alerts = calloc(PP_ENGINE_ALERTS_CAP, sizeof *b->alerts);
    b->fields = calloc(PP_FIELDS_MAX, sizeof *b->fields);
    b->states = calloc((size_t)o->partners, sizeof *b->states);
    b->scratch = calloc(1, sizeof *b->scratch);
    if (!b->ps || !b->ids || !b->gp || !b->ring || !b->idp || !b->found || !b->arrivals || !b->alerts || !b->fields || !b->states ||
        !b->scratch)
        return -1;
    pp_policyset_default(b->ps);
    for (uint64_t i = 0; i < o->partners; i++)
        snprintf(b->ids[i], BENCH_ID_CAP, "p%06" PRIu64 "-%s", i + 1, archetypes[i % 6]);
    return 0;
}

/* Fill the cache with every partner, fresh, as the daemon does on first sight. */
static int build_cache(const opts_t *o, bench_t *b)
{
    b->cache = pp_cache_new();
    if (b->cache == NULL)
        return -1;
    for (uint64_t i = 0; i < o->partners; i++) {
        pp_partner_init(b->scratch, b->ids[i]);
        b->states[i] = pp_cache_insert(b->cache, b->scratch);
        if (b->states[i] == NULL)
            return -1;
    }
    return 0;
}

/* Every partner back to its state before the first event (same memory, so
 * the next pass meets the same cache layout). */
static void reset_states(const opts_t *o, bench_t *b)
{
    for (uint64_t i = 0; i < o->partners; i++)
        pp_partner_init(b->states[i], b->ids[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* o->repeat timed passes of baseline + apply over the same stream: on a VM
 * one pass can be 20 % off the next. The reported baseline and apply are
 * those of the median pass (by apply rate); the workload counters (alerts,
 * timers) and --digest come from the first pass, every pass does the same
 * work. */
static int run_passes(const opts_t *o, bench_t *b, results_t *r, uint64_t *sink)
{
    opts_t later = *o;
    later.digest = false;
    phase_t base[REPEAT_MAX], app[REPEAT_MAX];
    double apply_runs[REPEAT_MAX] = {0}, baseline_runs[REPEAT_MAX] = {0};
    results_t first = *r;
    double gen_secs = 0;
    for (uint64_t p = 0; p < o->repeat; p++) {
        results_t pass = *r;
        pass.baseline.secs = pass.apply.secs = 0;
        pass.baseline.ops = pass.apply.ops = 0;
        pass.generate.secs = 0;
        pass.generate.ops = 0;
        if (p > 0) {
            reset_states(o, b);
            pass.alerts = pass.timer_events = pass.skipped = 0;
            memset(pass.by_rule, 0, sizeof pass.by_rule);
        }
        if (run_baseline(p ? &later : o, b, &pass, sink) != 0 || run_apply(p ? &later : o, b, &pass) != 0)
            return -1;
        if (p == 0)
            first = pass;
        else if (pass.alerts != first.alerts || pass.timer_events != first.timer_events) {
            fprintf(stderr, "core_bench: pass %" PRIu64 " did other work than the first (%" PRIu64 " alerts, not %" PRIu64 "); the reset is wrong.\n",
                    p + 1, pass.alerts, first.alerts);
            return -1;
        }
        base[p] = pass.baseline;
        app[p] = pass.apply;
        gen_secs += pass.generate.secs;
        apply_runs[p] = per_s(&pass.apply);
        baseline_runs[p] = per_s(&pass.baseline);
    }
    double sorted[REPEAT_MAX];
    memcpy(sorted, apply_runs, o->repeat * sizeof sorted[0]);
    qsort(sorted, o->repeat, sizeof sorted[0], cmp_double);
    double median = sorted[(o->repeat - 1) / 2]; /* the lower median for an even count */
    uint64_t mp = 0;
    while (apply_runs[mp] != median)
        mp++;
    *r = first;
    memcpy(r->apply_runs, apply_runs, sizeof r->apply_runs);
    memcpy(r->baseline_runs, baseline_runs, sizeof r->baseline_runs);
    r->baseline = base[mp];
    r->apply = app[mp];
    r->generate.secs = gen_secs;
    r->generate.ops = first.generate.ops * o->repeat;
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    bench_t b;
    memset(&b, 0, sizeof b);
    results_t r;
    memset(&r, 0, sizeof r);
    r.generate = (phase_t){"generate", "events", 0, 0};
    r.baseline = (phase_t){"baseline", "events", 0, 0};
    r.apply = (phase_t){"apply", "events", 0, 0};
    r.encode = (phase_t){"encode", "partners", 0, 0};
    r.fields = (phase_t){"fields", "partners", 0, 0};
    r.decode = (phase_t){"decode", "partners", 0, 0};
    r.dig_alerts = r.dig_fields = r.dig_blobs = 1469598103934665603ULL;
    uint64_t sink = 0;
    int status = 0;

    if (bench_alloc(&o, &b) != 0)
        goto oom;

    r.rss_before = rss_now();
    if (build_cache(&o, &b) != 0)
        goto oom;
    r.rss_after = rss_now();
    r.sizeof_partner = sizeof(pp_partner_t);
    r.blob_bytes = pp_partner_blob_size();
    if (r.rss_after < r.rss_before) /* RSS unknown (no /proc) or shrank: report 0 */
        r.rss_after = r.rss_before;
    r.mem_per_partner = (double)(r.rss_after - r.rss_before) / (double)o.partners;
    r.cache_overhead = r.mem_per_partner - (double)r.sizeof_partner;

    b.blobs = malloc((size_t)o.partners * r.blob_bytes);
    if (b.blobs == NULL)
        goto oom;

    if (run_passes(&o, &b, &r, &sink) != 0 || run_blobs(&o, &b, &r, &sink) != 0) {
        status = 1;
        goto out;
    }

    if (o.digest) {
        digest_states(&o, &b, &r);
        printf("digest: alerts %016" PRIx64 " fields %016" PRIx64 " blobs %016" PRIx64 "\n", r.dig_alerts,
               r.dig_fields, r.dig_blobs);
    }
    r.peak_rss = rss_peak();
    r.peak_rss_per_partner = (double)r.peak_rss / (double)o.partners;
    r.pass_rate = per_s(&r.apply) >= TARGET_EVENTS_PER_S;
    r.pass_blob = r.blob_avg <= TARGET_BYTES_PER_PARTNER; /* what Redis stores: the encoded blob */
    r.pass_mem = r.mem_per_partner <= TARGET_BYTES_PER_PARTNER;
    print_report(&o, &r);
    if (sink == 0) /* keeps the baseline and decode loops observable */
        puts("(no work observed)");
    if (o.json != NULL && write_json(&o, &r) != 0) {
        status = 3;
        goto out;
    }
    if (o.check && !(r.pass_rate && r.pass_blob && r.pass_mem))
        status = 1;
    goto out;

oom:
    fprintf(stderr, "core_bench: out of memory for %" PRIu64 " partners; try fewer (--partners).\n", o.partners);
    status = 3;
out:
    bench_free(&b);
    return status;
}
