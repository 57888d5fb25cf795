/* pp_gen.c — `partnerpulse gen`: deterministic synthetic partner event streams.
 *
 * Generates N partners, each with one behavioural archetype (healthy, slow, dark,
 * onesided, overpromise, nopipeline, lastword, tokyo, silent, ignorer, portal,
 * multicur, tech4; partner i, 0-based, gets archetype i % 13),
 * simulates their deals, referrals, conversations, meetings, contributions,
 * commitments and lifecycle over --days of event time, and prints every event as
 * one compact JSON line, the whole stream sorted by occurred_at_ms (ties: partner
 * order, then the partner's own order). See docs/gen.md.
 *
 * Determinism: own PRNG (xoshiro256** seeded by splitmix64 from (seed, partner
 * index)), integer arithmetic only, no clock, no locale. A partner's events depend
 * only on (--seed, its index, --start-ms, --days), not on --partners.
 */
#include "pp_gen.h"
#include "pp_rand.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS ((int64_t)60 * 1000)
#define HOUR_MS ((int64_t)60 * MIN_MS)
#define DAY_MS ((int64_t)24 * HOUR_MS)

#define DEFAULT_PARTNERS 20
#define DEFAULT_SEED 1
#define DEFAULT_START_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define DEFAULT_DAYS 120
#define MAX_PARTNERS 100000
#define MAX_DAYS 3650
#define MAX_START_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
#define MAX_EVENTS ((size_t)50000000)
#define MAX_OPEN_DEALS 20

/* ---- enum values are the proto numbers, names the proto value names ---- */

enum { T_DEAL, T_REFERRAL, T_ENGAGEMENT, T_PARTNER };
static const char *const TYPE_NAMES[] = {"deal", "referral", "engagement", "partner"};

enum { ST_REGISTERED = 1, ST_QUALIFIED, ST_PROPOSAL, ST_WON, ST_LOST };
static const char *const STAGE_NAMES[] = {"STAGE_UNSPECIFIED", "REGISTERED", "QUALIFIED",
                                          "PROPOSAL", "WON", "LOST"};

enum { AT_SOURCED = 1, AT_INFLUENCED };
static const char *const ATTR_NAMES[] = {"ATTRIBUTION_UNSPECIFIED", "SOURCED", "INFLUENCED"};

enum { RD_TO_US = 1, RD_TO_PARTNER };
static const char *const RDIR_NAMES[] = {"DIRECTION_UNSPECIFIED", "TO_US", "TO_PARTNER"};

enum { RS_SENT = 1, RS_ACCEPTED, RS_CONVERTED, RS_REJECTED };
static const char *const RSTATUS_NAMES[] = {"STATUS_UNSPECIFIED", "SENT", "ACCEPTED",
                                            "CONVERTED", "REJECTED"};

enum { D_IN = 1, D_OUT };
static const char *const EDIR_NAMES[] = {"DIRECTION_UNSPECIFIED", "INBOUND", "OUTBOUND"};

enum {
    K_MESSAGE = 1,
    K_MEETING,
    K_COMMIT_MADE,
    K_COMMIT_DELIVERED,
    K_COMMIT_MISSED,
    K_CO_MARKETING,
    K_TRAINING,
    K_REQUEST
};
static const char *const EKIND_NAMES[] = {
    "KIND_UNSPECIFIED",     "MESSAGE",           "MEETING",      "COMMITMENT_MADE",
    "COMMITMENT_DELIVERED", "COMMITMENT_MISSED", "CO_MARKETING", "TRAINING",
    "REQUEST"};

/* expects_reply: written only when set (true = YES, false = NO); unset = the default rule */
enum { RE_DEFAULT, RE_YES, RE_NO };

enum {
    PK_SIGNED = 1,
    PK_TIER_CHANGED,
    PK_TYPE_CHANGED,
    PK_OWNER_CHANGED,
    PK_EXITED,
    PK_SNOOZE, /* never generated */
    PK_PROFILE_CHANGED
};
static const char *const PKIND_NAMES[] = {"KIND_UNSPECIFIED", "SIGNED",        "TIER_CHANGED",
                                          "TYPE_CHANGED",     "OWNER_CHANGED", "EXITED",
                                          "SNOOZE",           "PROFILE_CHANGED"};

/* Profile time zones and calendars (index 0: not set, the key is not written). */
static const char *const ZONES[] = {"", "Asia/Tokyo"};
enum { ZONE_NONE, ZONE_TOKYO };
static const char *const CALENDARS[] = {"", "business"};
enum { CAL_NONE, CAL_BUSINESS };

enum { PT_REFERRAL = 1, PT_RESELLER, PT_TECHNOLOGY, PT_CO_SELL };
static const char *const PTYPE_NAMES[] = {"PARTNER_TYPE_UNSPECIFIED", "REFERRAL", "RESELLER",
                                          "TECHNOLOGY", "CO_SELL"};

/* Currencies of generated amounts (ISO 4217 code and exponent) and the rate a daemon
 * consuming gen streams must be configured with, in reporting (USD) units per unit,
 * times 10^4. This table is the one place these rates are written down:
 * `gen --print-currency-config` prints them as the [currency] section that the e2e
 * tests, deploy/demo and deploy/bench put into their configs, and the oracles read
 * them back from those configs. The multicur archetype sizes its deals with them. */
enum { CUR_USD, CUR_EUR, CUR_JPY, CUR_KWD, N_CUR };
#define RATE_SCALE 10000
typedef struct {
    const char *code;
    int64_t minor;  /* minor units per unit: 10^exponent */
    int64_t rate4;  /* USD per unit x RATE_SCALE (USD: the reporting currency itself) */
} Currency;
static const Currency CURRENCIES[N_CUR] = {
    [CUR_USD] = {"USD", 100, RATE_SCALE},
    [CUR_EUR] = {"EUR", 100, 10800},  /* 1.08 */
    [CUR_JPY] = {"JPY", 1, 67},       /* 0.0067 */
    [CUR_KWD] = {"KWD", 1000, 32500}, /* 3.25 */
};

#define N_TIERS 4
static const char *const TIERS[N_TIERS] = {"authorized", "silver", "gold", "platinum"};

/* Display names and owners deliberately include non-ASCII and a double quote so that
 * consumers' JSON parsers and our escaper are exercised. */
#define N_NAME_A 24
static const char *const NAME_A[N_NAME_A] = {
    "Northwind", "Bluepeak",  "Ironbridge", "Lumen",    "Cobalt",   "Meridian",
    "Brightpath", "Quarry",   "Helix",      "Sable",    "Tidewater", "Orchard",
    "Kestrel",   "Granite",   "Vantage",    "Nimbus",   "Fjordline", "Solvik",
    "Zürich",    "Ålesund",   "São Paulo",  "Kraków",   "O'Hara",   "Café Crème"};
#define N_NAME_B 16
static const char *const NAME_B[N_NAME_B] = {
    "Analytics", "Systems",      "Consulting",   "Partners",  "Cloud",    "Data",
    "Solutions", "Labs",         "Group",        "Integrations", "& Co.", "GmbH",
    "Ltd",       "Technologies", "\"Next\" Labs", "Software AS"};
#define N_OWNERS 12
static const char *const OWNERS[N_OWNERS] = {
    "Alice Martin",  "Bruno Costa",     "Chloé Dubois", "Deepa Iyer",
    "Erik Lindqvist", "Fatima Al-Sayed", "Grace Okafor", "Hiro Tanaka",
    "Inés Álvarez",  "Jonas Weiß",      "Kai O'Neill",  "Lena Nowak"};

/* ---- PRNG: splitmix64 seeding, xoshiro256** ---- */

typedef pp_rand_t Rng;

static void rng_init(Rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed;
    uint64_t k = pp_splitmix64(&x);
    x = k ^ ((stream + 1) * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++) r->s[i] = pp_splitmix64(&x);
}

static uint64_t rng_next(Rng *r) { return pp_rand_next(r); }

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(Rng *r, uint64_t n) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_next(r);
    while (x >= lim);
    return x % n;
}

/* ---- events ---- */

typedef struct {
    int64_t t;        /* occurred_at_ms */
    int64_t num;      /* deal amount_minor | referral value_minor | commitment due_at_ms */
    uint32_t partner; /* partner index */
    uint32_t seq;     /* per-partner order (insertion order until sorted) */
    uint32_t obj;     /* deal / referral / thread / commitment number */
    uint8_t type;     /* T_* */
    uint8_t kind;     /* deal stage | referral status | engagement kind | partner kind */
    uint8_t dir;      /* attribution | referral direction | engagement direction | partner type */
    uint8_t aux;      /* engagement: thread prefix ('t' conversation, 'q' request); partner: tier */
    uint8_t automated;
    uint8_t owner; /* partner events: owner index */
    uint8_t reply; /* engagement: expects_reply RE_*; partner: time zone ZONE_* */
    uint8_t cal;   /* partner events: calendar CAL_* */
    uint8_t cur;   /* deal events: currency CUR_* of num */
} Ev;

typedef struct {
    Ev *v;
    size_t n, cap;
    int oom;
} EvBuf;

static int evbuf_push(EvBuf *b, const Ev *e) {
    if (b->oom) return -1;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        if (ncap > MAX_EVENTS) ncap = MAX_EVENTS;
        if (b->n >= ncap) {
            b->oom = 1;
            return -1;
        }
        Ev *nv = realloc(b->v, ncap * sizeof *nv);
        if (!nv) {
            b->oom = 1;
            return -1;
        }
        b->v = nv;
        b->cap = ncap;
    }
    b->v[b->n++] = *e;
    return 0;
}

/* ---- archetypes ---- */

/* The order is the rotation (partner i gets archetype i % N_ARCH): new archetypes are
 * appended, so that the first partners of a stream keep their archetype. */
enum {
    A_HEALTHY,
    A_SLOW,
    A_DARK,
    A_ONESIDED,
    A_OVERPROMISE,
    A_NOPIPELINE,
    A_LASTWORD,
    A_TOKYO,
    A_SILENT,
    A_IGNORER,
    A_PORTAL,
    A_MULTICUR,
    A_TECH4,
    N_ARCH
};

typedef struct {
    int32_t lo, hi; /* hours between occurrences; hi == 0: never */
} Gap;

#define DG(lo, hi) {(lo) * 24, (hi) * 24}
#define NEVER {0, 0}

typedef struct {
    const char *name;
    uint8_t types[2];           /* partner type: one of these, 50/50 */
    uint8_t tiers[2];           /* tier index: one of these, 50/50 */
    Gap thread;                 /* a new conversation every ... */
    unsigned partner_starts;    /* % of conversations the partner opens */
    int32_t reply_lo, reply_hi; /* partner reply latency to our message, minutes */
    unsigned ooo;               /* % automated out-of-office reply to our message */
    Gap deal;                   /* a new deal registration every ... */
    unsigned sourced;           /* % of deals SOURCED (rest INFLUENCED) */
    unsigned lost[3];           /* % lost at REGISTERED, QUALIFIED, PROPOSAL */
    Gap ref_to_us, ref_to_partner;
    Gap meet_in, meet_out, comk_in, comk_out, train_in, train_out, req_in;
    Gap commit_in, commit_out;
    unsigned misses_allowed; /* explicit partner misses allowed (not overpromise) */
} Arch;

static const Arch ARCHES[N_ARCH] = {
    [A_HEALTHY] = {"healthy", {PT_CO_SELL, PT_RESELLER}, {2, 3}, DG(5, 9), 45, 20, 360, 2,
                   DG(8, 14), 55, {12, 10, 30}, DG(18, 28), DG(18, 28),
                   DG(12, 20), DG(12, 20), DG(30, 45), DG(30, 45), DG(45, 70), DG(40, 60),
                   DG(25, 40), DG(18, 28), DG(18, 30), 0},
    [A_SLOW] = {"slow", {PT_RESELLER, PT_CO_SELL}, {1, 2}, DG(7, 11), 30, 4 * 24 * 60,
                10 * 24 * 60, 25, DG(12, 18), 50, {20, 15, 35}, DG(20, 30), DG(20, 30),
                DG(16, 24), DG(12, 18), DG(40, 60), DG(40, 60), NEVER, DG(40, 60),
                DG(25, 40), DG(20, 30), DG(20, 30), 1},
    [A_DARK] = {"dark", {PT_CO_SELL, PT_REFERRAL}, {1, 2}, DG(4, 6), 40, 60, 720, 3,
                DG(8, 12), 50, {20, 15, 35}, DG(14, 20), DG(14, 20),
                DG(8, 14), DG(8, 14), DG(30, 50), DG(30, 50), NEVER, DG(35, 50),
                DG(25, 40), DG(10, 15), DG(12, 18), 0},
    [A_ONESIDED] = {"onesided", {PT_RESELLER, PT_REFERRAL}, {0, 1}, DG(6, 9), 50, 30, 480, 3,
                    DG(20, 35), 30, {20, 15, 45}, DG(40, 60), DG(7, 10),
                    DG(35, 50), DG(8, 12), NEVER, DG(12, 18), NEVER, DG(15, 25),
                    DG(7, 11), DG(25, 40), DG(12, 18), 1},
    [A_OVERPROMISE] = {"overpromise", {PT_TECHNOLOGY, PT_CO_SELL}, {1, 2}, DG(5, 8), 50, 30,
                       480, 2, DG(14, 22), 40, {20, 20, 45}, DG(25, 40), DG(18, 28),
                       DG(8, 12), DG(12, 16), DG(40, 60), DG(35, 50), NEVER, DG(40, 60),
                       DG(20, 30), DG(7, 11), DG(18, 28), 0},
    [A_NOPIPELINE] = {"nopipeline", {PT_REFERRAL, PT_RESELLER}, {0, 1}, DG(5, 8), 40, 30, 480,
                      3, NEVER, 50, {100, 0, 0}, DG(22, 35), DG(22, 35),
                      DG(12, 18), DG(12, 18), DG(40, 60), DG(40, 60), NEVER, DG(25, 40),
                      DG(25, 40), DG(16, 24), DG(16, 24), 1},
    /* Healthy, and its conversations end on our reply (thread2). */
    [A_LASTWORD] = {"lastword", {PT_CO_SELL, PT_RESELLER}, {2, 3}, DG(4, 7), 55, 20, 360, 0,
                    DG(8, 14), 55, {12, 10, 30}, DG(18, 28), DG(18, 28),
                    DG(12, 20), DG(12, 20), DG(30, 45), DG(30, 45), DG(45, 70), DG(40, 60),
                    DG(14, 21), DG(18, 28), DG(18, 30), 0},
    /* Healthy, in Tokyo business hours (thread2: reply times come from tokyo_hours). */
    [A_TOKYO] = {"tokyo", {PT_TECHNOLOGY, PT_CO_SELL}, {2, 3}, DG(5, 8), 45, 0, 0, 0,
                 DG(8, 14), 55, {12, 10, 30}, DG(18, 28), DG(18, 28),
                 DG(12, 20), DG(12, 20), DG(30, 45), DG(30, 45), DG(45, 70), DG(40, 60),
                 DG(25, 40), DG(18, 28), DG(18, 30), 0},
    /* Healthy until the last ~10 weeks, then no inbound at all while we keep writing. */
    [A_SILENT] = {"silent", {PT_CO_SELL, PT_RESELLER}, {1, 2}, DG(5, 8), 45, 20, 360, 0,
                  DG(8, 14), 55, {12, 10, 30}, DG(18, 28), DG(18, 28),
                  DG(12, 20), DG(12, 20), DG(30, 45), DG(30, 45), NEVER, DG(40, 60),
                  DG(25, 40), DG(18, 28), DG(18, 30), 0},
    /* Active, but answers only 3 of every 10 of our questions (fast), never the rest. */
    [A_IGNORER] = {"ignorer", {PT_RESELLER, PT_CO_SELL}, {1, 2}, DG(2, 3), 30, 20, 240, 0,
                   DG(10, 16), 50, {15, 10, 30}, DG(18, 28), DG(18, 28),
                   DG(10, 16), DG(10, 16), DG(30, 45), DG(30, 45), NEVER, DG(40, 60),
                   DG(20, 30), DG(18, 28), DG(18, 30), 0},
    /* Referral partner working only through a portal: referrals to us every week and
     * the deals it registers (all SOURCED); no engagement of any kind. */
    [A_PORTAL] = {"portal", {PT_REFERRAL, PT_REFERRAL}, {0, 1}, NEVER, 0, 0, 0, 0,
                  DG(14, 21), 100, {10, 10, 30}, DG(6, 8), NEVER,
                  NEVER, NEVER, NEVER, NEVER, NEVER, NEVER,
                  NEVER, NEVER, NEVER, 0},
    /* Healthy reseller whose deals are in JPY, KWD, EUR and USD (multicur_deals): its
     * average won deal is under 20 000 USD once converted, over it read as USD. */
    [A_MULTICUR] = {"multicur", {PT_RESELLER, PT_RESELLER}, {2, 3}, DG(5, 8), 45, 20, 360, 0,
                    DG(8, 12), 55, {0, 0, 0}, DG(18, 28), DG(18, 28),
                    DG(12, 20), DG(12, 20), DG(30, 45), DG(30, 45), DG(45, 70), DG(40, 60),
                    DG(25, 40), DG(18, 28), DG(18, 30), 0},
    /* Technology partner signed ~120 days before the end (gen_partner), engaged both
     * ways, no deals at all: not judged on revenue or pipeline before day 180. */
    [A_TECH4] = {"tech4", {PT_TECHNOLOGY, PT_TECHNOLOGY}, {1, 2}, DG(4, 7), 50, 20, 240, 0,
                 NEVER, 0, {0, 0, 0}, DG(16, 24), DG(16, 24),
                 DG(8, 12), DG(8, 12), DG(20, 30), DG(20, 30), DG(25, 40), DG(25, 40),
                 DG(20, 30), DG(12, 18), DG(14, 21), 0},
};

typedef struct {
    char id[32];
    uint8_t arch;
    uint8_t name_a, name_b;
} Partner;

/* Per-partner generator state. */
typedef struct {
    EvBuf *buf;
    Rng rng;
    const Arch *a;
    int arch;
    uint32_t partner;
    int64_t signed_at;
    int64_t end;      /* exclusive end of the event-time span */
    int64_t dark_at;  /* dark, silent: when the partner goes silent; others: INT64_MAX */
    int64_t quiet_at; /* min(end, dark_at): end of partner-side activity */
    uint8_t ptype, ptype0, tier, owner;
    uint8_t zone, cal;  /* profile time zone ZONE_*, calendar CAL_* */
    uint16_t ign_mask;  /* ignorer: which of the current 10 questions it answers */
    unsigned ign_pos;   /* ignorer: position in the current block of 10 */
    uint32_t n_thread, n_req, n_deal, n_ref, n_commit, n_partner_commits;
    unsigned misses_left;
    int dark_hanging;
    int64_t open_close[MAX_OPEN_DEALS]; /* close times of deals open at the last registration */
    unsigned n_open;
    uint32_t n_licence, n_opportunity; /* multicur: deals of each track so far */
    int64_t last_won;                  /* multicur: time of its latest WON */
} Gen;

static int64_t rnd(Gen *g, int64_t lo, int64_t hi) { /* inclusive */
    return lo + (int64_t)rng_below(&g->rng, (uint64_t)(hi - lo) + 1);
}

static int chance(Gen *g, unsigned pct) { return rng_below(&g->rng, 100) < pct; }

/* Move t forward into the UTC hours [open, close) of a Monday to Friday (UTC
 * weekdays); a time moved to an opening lands up to `jitter` after it. */
static int64_t in_hours(Gen *g, int64_t t, int64_t open, int64_t close, int64_t jitter) {
    int64_t day = t / DAY_MS, ms = t % DAY_MS;
    for (;;) {
        int64_t dow = (day + 4) % 7; /* 0 = Sunday; 1970-01-01 was a Thursday */
        if (dow == 0 || dow == 6) {
            day++;
            ms = -1;
            continue;
        }
        if (ms < open) {
            ms = open + rnd(g, 0, jitter);
        } else if (ms >= close) {
            day++;
            ms = -1;
            continue;
        }
        break;
    }
    return day * DAY_MS + ms;
}

/* Move t forward into UTC working hours (Mon–Fri 08:00–18:00). Humans act then;
 * automated messages do not go through this. */
static int64_t biz(Gen *g, int64_t t) { return in_hours(g, t, 8 * HOUR_MS, 18 * HOUR_MS, 90 * MIN_MS); }

/* Tokyo working hours, Mon–Fri 09:00–17:30 JST = 00:00–08:30 UTC of the same weekday
 * (Japan has no DST); a time moved to a morning lands up to `jitter` after 09:00. */
static int64_t tokyo_hours(Gen *g, int64_t t, int64_t jitter) {
    return in_hours(g, t, 0, 8 * HOUR_MS + 30 * MIN_MS, jitter);
}

static void push(Gen *g, Ev *e) {
    if (e->t >= g->end) return; /* past the span: dropped (chains are monotonic) */
    e->partner = g->partner;
    e->seq = (uint32_t)g->buf->n;
    (void)evbuf_push(g->buf, e);
}

/* A deal event; amount in minor units of currency cur (CUR_*). */
static void emit_deal_cur(Gen *g, int64_t t, uint32_t deal, int stage, int attr, int64_t amount,
                          int cur) {
    if (g->arch == A_SILENT && t >= g->dark_at) return; /* a silent partner's deals stall */
    Ev e = {0};
    e.t = t;
    e.type = T_DEAL;
    e.obj = deal;
    e.kind = (uint8_t)stage;
    e.dir = (uint8_t)attr;
    e.num = amount;
    e.cur = (uint8_t)cur;
    push(g, &e);
}

static void emit_deal(Gen *g, int64_t t, uint32_t deal, int stage, int attr, int64_t amount) {
    emit_deal_cur(g, t, deal, stage, attr, amount, CUR_USD);
}

static void emit_ref(Gen *g, int64_t t, uint32_t ref, int dir, int status, int64_t value) {
    Ev e = {0};
    e.t = t;
    e.type = T_REFERRAL;
    e.obj = ref;
    e.dir = (uint8_t)dir;
    e.kind = (uint8_t)status;
    e.num = value;
    push(g, &e);
}

static void emit_eng_r(Gen *g, int64_t t, int dir, int kind, char prefix, uint32_t obj, int64_t due,
                       int automated, int reply) {
    Ev e = {0};
    e.reply = (uint8_t)reply;
    e.t = t;
    e.type = T_ENGAGEMENT;
    e.dir = (uint8_t)dir;
    e.kind = (uint8_t)kind;
    e.aux = (uint8_t)prefix;
    e.obj = obj;
    e.num = due;
    e.automated = (uint8_t)(automated != 0);
    push(g, &e);
}

static void emit_eng(Gen *g, int64_t t, int dir, int kind, char prefix, uint32_t obj, int64_t due,
                     int automated) {
    emit_eng_r(g, t, dir, kind, prefix, obj, due, automated, RE_DEFAULT);
}

/* A non-automated MESSAGE (or REQUEST) on thread prefix+th with expects_reply `reply`. */
static void emit_msg(Gen *g, int64_t t, int dir, int kind, char prefix, uint32_t th, int reply) {
    emit_eng_r(g, t, dir, kind, prefix, th, 0, 0, reply);
}

static void emit_partner(Gen *g, int64_t t, int kind) {
    Ev e = {0};
    e.t = t;
    e.type = T_PARTNER;
    e.kind = (uint8_t)kind;
    e.dir = g->ptype;
    e.aux = g->tier;
    e.owner = g->owner;
    e.reply = g->zone;
    e.cal = g->cal;
    push(g, &e);
}

/* Amount in minor units, skewed towards the low end, rounded to 500 USD. */
static int64_t skewed_usd_minor(Gen *g, int64_t lo_usd, int64_t hi_usd) {
    int64_t u = rnd(g, 0, 1000);
    int64_t usd = lo_usd + (hi_usd - lo_usd) * (u * u) / 1000000;
    usd = (usd + 250) / 500 * 500;
    if (usd < lo_usd) usd = lo_usd;
    return usd * 100;
}

static int64_t deal_amount(Gen *g) {
    switch (g->ptype0) {
    case PT_REFERRAL: return skewed_usd_minor(g, 5000, 60000);
    case PT_RESELLER: return skewed_usd_minor(g, 25000, 150000);
    case PT_TECHNOLOGY: return skewed_usd_minor(g, 10000, 100000);
    default: return skewed_usd_minor(g, 15000, 120000);
    }
}

/* amount * pct / 100, rounded to 100 USD. */
static int64_t revise(Gen *g, int64_t amount, int64_t lo_pct, int64_t hi_pct) {
    int64_t v = amount * rnd(g, lo_pct, hi_pct) / 100;
    v = (v + 5000) / 10000 * 10000;
    return v < 10000 ? 10000 : v;
}

/* ---- conversations ---- */

/* Our message got no answer: chase 2–3 times, 3–6 days apart, then give up. */
static void chase_unanswered(Gen *g, char prefix, uint32_t th, int64_t t) {
    int64_t n = rnd(g, 2, 3);
    for (int64_t i = 0; i < n; i++) {
        t = biz(g, t + rnd(g, 3 * DAY_MS, 6 * DAY_MS));
        emit_eng(g, t, D_OUT, K_MESSAGE, prefix, th, 0, 0);
    }
}

/* One thread of the first six archetypes. A responsive partner always has the last
 * word, so no thread is left awaiting the partner except by design (slow in flight,
 * dark). */
static void conversation(Gen *g, int64_t t, int first_dir, int first_kind, char prefix) {
    uint32_t th = prefix == 'q' ? ++g->n_req : ++g->n_thread;
    unsigned r = (unsigned)rng_below(&g->rng, 100);
    int nmsg;
    if (first_kind == K_REQUEST)
        nmsg = r < 70 ? 3 : 5;
    else if (first_dir == D_IN)
        nmsg = r < 10 ? 1 : r < 75 ? 3 : 5;
    else
        nmsg = r < 70 ? 2 : r < 97 ? 4 : 6;

    emit_eng(g, t, first_dir, first_kind, prefix, th, 0, 0);
    int dir = first_dir;
    for (int i = 1; i < nmsg; i++) {
        if (dir == D_IN) { /* we answer, sometimes after an automated acknowledgement */
            if (chance(g, first_kind == K_REQUEST ? 40u : 10u))
                emit_eng(g, t + rnd(g, 20000, 180000), D_OUT, K_MESSAGE, prefix, th, 0, 1);
            t = biz(g, t + rnd(g, 30 * MIN_MS, 20 * HOUR_MS));
            emit_eng(g, t, D_OUT, K_MESSAGE, prefix, th, 0, 0);
            dir = D_OUT;
        } else { /* the partner answers (or not) */
            int64_t reply = t + rnd(g, g->a->reply_lo * MIN_MS, g->a->reply_hi * MIN_MS);
            int64_t eod = t - t % DAY_MS + 18 * HOUR_MS;
            if (g->arch != A_SLOW && reply >= eod && t + 10 * MIN_MS < eod && chance(g, 70))
                reply = t + rnd(g, 5 * MIN_MS, eod - t - 5 * MIN_MS); /* answered before leaving */
            reply = biz(g, reply);
            /* automated out-of-office auto-reply: never counts as the partner's response */
            if ((reply >= g->dark_at || reply - t > 12 * HOUR_MS) &&
                chance(g, reply >= g->dark_at ? 50u : g->a->ooo))
                emit_eng(g, t + rnd(g, MIN_MS, 5 * MIN_MS), D_IN, K_MESSAGE, prefix, th, 0, 1);
            if (reply >= g->dark_at) {
                chase_unanswered(g, prefix, th, t);
                return;
            }
            if (reply - t > 3 * DAY_MS + 12 * HOUR_MS) { /* we follow up every 2–3 days meanwhile */
                int64_t f = biz(g, t + rnd(g, 48 * HOUR_MS, 72 * HOUR_MS));
                while (f + HOUR_MS < reply) {
                    emit_eng(g, f, D_OUT, K_MESSAGE, prefix, th, 0, 0);
                    f = biz(g, f + rnd(g, 48 * HOUR_MS, 72 * HOUR_MS));
                }
            }
            t = reply;
            /* The partner's last word after our answer to its request or question is its
             * "thanks, that works": a connector marks it as asking nothing on requests and
             * on every other conversation (no random draw: the stream stays as it was). */
            int closing = first_dir == D_IN && i == nmsg - 1 && (prefix == 'q' || th % 2 == 0);
            emit_msg(g, t, D_IN, K_MESSAGE, prefix, th, closing ? RE_NO : RE_DEFAULT);
            dir = D_IN;
        }
    }
}

/* ---- conversations of the newer archetypes: exchanges (DESIGN §4) ----
 *
 * A thread is a run of exchanges: one side asks, the other answers, and the answer
 * concludes the exchange. A question can ride on an answer (expects_reply YES); a
 * closing "thanks, done" after the last answer asks nothing (expects_reply NO), as a
 * mail connector marks it. Everything else keeps the default rule. */

/* When the partner does at t something it chose to do (opens a thread, asks again). */
static int64_t partner_time(Gen *g, int64_t t) {
    return g->arch == A_TOKYO ? tokyo_hours(g, t, 7 * HOUR_MS) : biz(g, t);
}

/* When we write to the partner at t: to a Tokyo partner in our (UTC) afternoon. */
static int64_t our_time(Gen *g, int64_t t) {
    if (g->arch == A_TOKYO) return in_hours(g, t, 12 * HOUR_MS, 17 * HOUR_MS, 4 * HOUR_MS);
    return biz(g, t);
}

/* Ignorer: whether it answers our next question. Exactly 3 of every 10, the three
 * drawn afresh for each block of 10. */
static int ignorer_answers(Gen *g) {
    if (g->ign_pos == 0) {
        g->ign_mask = 0;
        for (int k = 0; k < 3;) {
            unsigned b = (unsigned)rng_below(&g->rng, 10);
            if (!(g->ign_mask >> b & 1u)) {
                g->ign_mask = (uint16_t)(g->ign_mask | 1u << b);
                k++;
            }
        }
    }
    int yes = (int)(g->ign_mask >> g->ign_pos & 1u);
    g->ign_pos = (g->ign_pos + 1) % 10;
    return yes;
}

/* When the partner answers our question asked at t; INT64_MAX: never. */
static int64_t partner_answer(Gen *g, int64_t t) {
    switch (g->arch) {
    case A_TOKYO: /* the next Tokyo business morning (Friday's on Monday) */
        return tokyo_hours(g, t + rnd(g, 10 * MIN_MS, 60 * MIN_MS), 150 * MIN_MS);
    case A_IGNORER:
        if (!ignorer_answers(g)) return INT64_MAX;
        return biz(g, t + rnd(g, 20 * MIN_MS, 4 * HOUR_MS));
    default: { /* within a business day; a silent partner not at all once silent */
        int64_t r = biz(g, t + rnd(g, g->a->reply_lo * MIN_MS, g->a->reply_hi * MIN_MS));
        return r >= g->quiet_at ? INT64_MAX : r;
    }
    }
}

/* When we answer the partner's question (or request) asked at t; a ticket system
 * acknowledges some first, automatically. */
static int64_t our_answer(Gen *g, int64_t t, int kind, char prefix, uint32_t th) {
    if (chance(g, kind == K_REQUEST ? 40u : 10u))
        emit_eng(g, t + rnd(g, 20000, 180000), D_OUT, K_MESSAGE, prefix, th, 0, 1);
    return our_time(g, t + rnd(g, 30 * MIN_MS, 20 * HOUR_MS));
}

/* Our question asked at t is never answered: the ignorer gets one nudge, a silent
 * partner is chased 2–3 times. */
static void unanswered(Gen *g, char prefix, uint32_t th, int64_t t) {
    if (g->arch == A_IGNORER) {
        emit_msg(g, our_time(g, t + rnd(g, 3 * DAY_MS, 5 * DAY_MS)), D_OUT, K_MESSAGE, prefix, th,
                 RE_DEFAULT);
        return;
    }
    chase_unanswered(g, prefix, th, t);
}

/* After the last answer (at t) of a thread whose last question was asker's: the asker
 * may say "thanks, done" (asks nothing). lastword: we nearly always have the last
 * word, the partner never. */
static void closing(Gen *g, int64_t t, int asker, char prefix, uint32_t th) {
    if (asker == D_OUT) {
        if (chance(g, g->arch == A_LASTWORD ? 75u : 35u))
            emit_msg(g, our_time(g, t + rnd(g, 10 * MIN_MS, 3 * HOUR_MS)), D_OUT, K_MESSAGE, prefix,
                     th, RE_NO);
        return;
    }
    if (g->arch == A_LASTWORD || !chance(g, 30)) return;
    t = partner_time(g, t + rnd(g, 10 * MIN_MS, 4 * HOUR_MS));
    if (t < g->quiet_at) emit_msg(g, t, D_IN, K_MESSAGE, prefix, th, RE_NO);
}

/* One thread of the newer archetypes: 1–3 exchanges, first_dir asks first. */
static void thread2(Gen *g, int64_t t, int first_dir, int first_kind, char prefix) {
    uint32_t th = prefix == 'q' ? ++g->n_req : ++g->n_thread;
    unsigned r = (unsigned)rng_below(&g->rng, 100);
    int n = r < 65 ? 1 : r < 92 ? 2 : 3;
    int asker = first_dir, kind = first_kind;
    t = asker == D_OUT ? our_time(g, t) : partner_time(g, t);
    if (asker == D_IN && t >= g->quiet_at) return;
    emit_msg(g, t, asker, kind, prefix, th, RE_DEFAULT);
    for (int x = 1;; x++) {
        int answerer = asker == D_IN ? D_OUT : D_IN;
        if (answerer == D_OUT) {
            t = our_answer(g, t, kind, prefix, th);
        } else {
            int64_t a = partner_answer(g, t);
            if (a == INT64_MAX) {
                unanswered(g, prefix, th, t);
                return;
            }
            t = a;
        }
        kind = K_MESSAGE;
        if (x < n && chance(g, 40)) { /* the answer asks back */
            emit_msg(g, t, answerer, K_MESSAGE, prefix, th, RE_YES);
            asker = answerer;
            continue;
        }
        emit_msg(g, t, answerer, K_MESSAGE, prefix, th, RE_DEFAULT);
        if (x >= n) {
            closing(g, t, asker, prefix, th);
            return;
        }
        asker = chance(g, 50) ? D_IN : D_OUT; /* a new question on the same thread */
        if (asker == D_IN) {
            t = partner_time(g, t + rnd(g, HOUR_MS, 2 * DAY_MS));
            if (t >= g->quiet_at) return;
        } else {
            t = our_time(g, t + rnd(g, HOUR_MS, 2 * DAY_MS));
        }
        emit_msg(g, t, asker, K_MESSAGE, prefix, th, RE_DEFAULT);
    }
}

/* ---- deals ---- */

/* Dark partner: the deal cannot advance; half of them we close LOST later, but
 * never the first (keep): it stays open. */
static int64_t stale_deal(Gen *g, int64_t t, uint32_t id, int attr, int64_t amt, int keep) {
    if (g->arch == A_SILENT) return INT64_MAX; /* nothing moves at all */
    if (!chance(g, 50) || keep) return INT64_MAX;
    t = biz(g, t + rnd(g, 14 * DAY_MS, 40 * DAY_MS));
    emit_deal(g, t, id, ST_LOST, attr, amt);
    return t;
}

/* Whether a deal can be registered at t: fewer than MAX_OPEN_DEALS still open then. */
static int deal_room(Gen *g, int64_t t) {
    unsigned k = 0;
    for (unsigned i = 0; i < g->n_open; i++)
        if (g->open_close[i] > t) g->open_close[k++] = g->open_close[i];
    g->n_open = k;
    return g->n_open < MAX_OPEN_DEALS;
}

/* A deal registered now closes at `close` (WON or LOST; past the span: still open). */
static void deal_opened(Gen *g, int64_t close) {
    if (close >= g->end) close = INT64_MAX; /* still open when the stream ends */
    g->open_close[g->n_open++] = close;
}

static void deal(Gen *g, int64_t t, int force_qualify) {
    if (!deal_room(g, t)) return;

    uint32_t id = ++g->n_deal;
    int attr = chance(g, g->a->sourced) ? AT_SOURCED : AT_INFLUENCED;
    int64_t amt = deal_amount(g);
    int64_t close;
    emit_deal(g, t, id, ST_REGISTERED, attr, amt);

    if (!force_qualify && chance(g, g->a->lost[0])) {
        t = biz(g, t + rnd(g, 5 * DAY_MS, 25 * DAY_MS));
        emit_deal(g, t, id, ST_LOST, attr, amt);
        close = t;
        goto done;
    }
    t = biz(g, t + rnd(g, 3 * DAY_MS, 14 * DAY_MS));
    if (t >= g->dark_at) {
        close = stale_deal(g, t, id, attr, amt, force_qualify);
        goto done;
    }
    emit_deal(g, t, id, ST_QUALIFIED, attr, amt);
    /* The first deal (force_qualify) is never lost once qualified: it is won, or
     * still open, at day 90, the milestone a qualified opportunity open or won
     * meets (DESIGN §6). The draw is made all the same, so that partners whose
     * first deal was won anyway keep their stream byte for byte. */
    if (chance(g, g->a->lost[1]) && !force_qualify) {
        t = biz(g, t + rnd(g, 5 * DAY_MS, 20 * DAY_MS));
        emit_deal(g, t, id, ST_LOST, attr, amt);
        close = t;
        goto done;
    }
    t = biz(g, t + rnd(g, 7 * DAY_MS, 21 * DAY_MS));
    if (t >= g->dark_at) {
        close = stale_deal(g, t, id, attr, amt, force_qualify);
        goto done;
    }
    amt = revise(g, amt, 85, 115);
    emit_deal(g, t, id, ST_PROPOSAL, attr, amt);
    t = biz(g, t + rnd(g, 7 * DAY_MS, 30 * DAY_MS));
    if (t >= g->dark_at) {
        close = stale_deal(g, t, id, attr, amt, force_qualify);
        goto done;
    }
    if (chance(g, g->a->lost[2]) && !force_qualify) {
        emit_deal(g, t, id, ST_LOST, attr, amt);
    } else {
        amt = revise(g, amt, 90, 105); /* the WON event carries the final amount */
        emit_deal(g, t, id, ST_WON, attr, amt);
    }
    close = t;
done:
    deal_opened(g, close);
}

/* ---- multicur: deals in several currencies ----
 *
 * Two tracks. Licences it resells, one registered every deal.lo–hi: qualified,
 * a proposal and always WON, 13–27 days after registration and in registration
 * order, in KWD, JPY and EUR in turn, each worth 15 000–19 000 USD at the rates
 * of CURRENCIES. Its average won deal, converted, is therefore under the 20 000
 * of low_acv_channel; read as USD minor units (KWD ~50 000, JPY ~24 000, EUR
 * ~16 000) the won deals of any prefix of three or more average over 27 000.
 * Enterprise opportunities, one every 20–30 days, in EUR and USD in turn, worth
 * 40 000–90 000 USD: qualified, a proposal, and then a long cycle: closed LOST
 * 30–180 days later (no decision), so most are open pipeline at the end of a
 * 120-day stream. Such deals are never won: they would lift the average. */

/* amount_minor of currency cur worth usd_cents at its rate, rounded down to a
 * multiple of `step` minor units. */
static int64_t in_currency(int64_t usd_cents, int cur, int64_t step) {
    const Currency *c = &CURRENCIES[cur];
    /* usd_cents / 100 / rate4 * RATE_SCALE * minor */
    int64_t v = usd_cents * c->minor * RATE_SCALE / (100 * c->rate4);
    return v / step * step;
}

static void multicur_licence(Gen *g, int64_t t) {
    static const int rotation[3] = {CUR_KWD, CUR_JPY, CUR_EUR};
    static const int64_t step[N_CUR] = {[CUR_USD] = 1, [CUR_EUR] = 1, [CUR_JPY] = 50, [CUR_KWD] = 20};
    if (!deal_room(g, t)) return;
    uint32_t id = ++g->n_deal;
    int cur = rotation[g->n_licence++ % 3];
    int attr = chance(g, g->a->sourced) ? AT_SOURCED : AT_INFLUENCED;
    /* JPY in 50 yen and KWD in 20 fils: some convert to exactly half a cent, which
     * the daemon rounds away from zero */
    int64_t amt = in_currency(rnd(g, 1500000, 1900000), cur, step[cur]);
    emit_deal_cur(g, t, id, ST_REGISTERED, attr, amt, cur);
    t = biz(g, t + rnd(g, 3 * DAY_MS, 7 * DAY_MS));
    emit_deal_cur(g, t, id, ST_QUALIFIED, attr, amt, cur);
    t = biz(g, t + rnd(g, 5 * DAY_MS, 10 * DAY_MS));
    emit_deal_cur(g, t, id, ST_PROPOSAL, attr, amt, cur);
    t = biz(g, t + rnd(g, 5 * DAY_MS, 10 * DAY_MS));
    if (t <= g->last_won) t = biz(g, g->last_won + rnd(g, 2 * HOUR_MS, 2 * DAY_MS));
    emit_deal_cur(g, t, id, ST_WON, attr, amt, cur);
    g->last_won = t; /* past the end too: later licences are then never won before it */
    deal_opened(g, t);
}

static void multicur_opportunity(Gen *g, int64_t t) {
    if (!deal_room(g, t)) return;
    uint32_t id = ++g->n_deal;
    int cur = g->n_opportunity++ % 2 ? CUR_USD : CUR_EUR;
    int attr = chance(g, g->a->sourced) ? AT_SOURCED : AT_INFLUENCED;
    int64_t amt = in_currency(skewed_usd_minor(g, 40000, 90000), cur, 1);
    emit_deal_cur(g, t, id, ST_REGISTERED, attr, amt, cur);
    t = biz(g, t + rnd(g, 5 * DAY_MS, 14 * DAY_MS));
    emit_deal_cur(g, t, id, ST_QUALIFIED, attr, amt, cur);
    t = biz(g, t + rnd(g, 10 * DAY_MS, 25 * DAY_MS));
    amt = amt * rnd(g, 90, 110) / 100;
    emit_deal_cur(g, t, id, ST_PROPOSAL, attr, amt, cur);
    t = biz(g, t + rnd(g, 30 * DAY_MS, 180 * DAY_MS));
    emit_deal_cur(g, t, id, ST_LOST, attr, amt, cur);
    deal_opened(g, t);
}

static void multicur_deals(Gen *g) {
    int64_t t = g->signed_at + rnd(g, 3 * DAY_MS, 14 * DAY_MS);
    int64_t o = g->signed_at + rnd(g, 3 * DAY_MS, 10 * DAY_MS);
    for (;;) { /* both tracks, registrations in time order */
        int64_t tb = biz(g, t), ob = biz(g, o);
        if (tb >= g->end && ob >= g->end) break;
        if (tb <= ob) {
            multicur_licence(g, tb);
            t += rnd(g, (int64_t)g->a->deal.lo * HOUR_MS, (int64_t)g->a->deal.hi * HOUR_MS);
        } else {
            multicur_opportunity(g, ob);
            o += rnd(g, 20 * DAY_MS, 30 * DAY_MS);
        }
    }
}

static void deals(Gen *g) {
    if (g->arch == A_TECH4) return; /* no deals at all */
    if (g->arch == A_MULTICUR) {
        multicur_deals(g);
        return;
    }
    if (g->arch == A_NOPIPELINE) { /* 0–2 registrations, all LOST before qualifying */
        int64_t n = rnd(g, 0, 2), t = g->signed_at;
        for (int64_t i = 0; i < n; i++) {
            t = biz(g, t + rnd(g, 10 * DAY_MS, 45 * DAY_MS));
            if (t >= g->end) break;
            deal(g, t, 0);
        }
        return;
    }
    /* The first deal always qualifies (within ~4 weeks of SIGNED): only nopipeline
     * should trip no_pipeline_90d. */
    int64_t t = g->signed_at + rnd(g, 3 * DAY_MS, 14 * DAY_MS);
    for (int first = 1;; first = 0) {
        int64_t tb = biz(g, t);
        if (tb >= g->quiet_at) break;
        deal(g, tb, first);
        t += rnd(g, (int64_t)g->a->deal.lo * HOUR_MS, (int64_t)g->a->deal.hi * HOUR_MS);
    }
}

/* ---- referrals, commitments, other activities ---- */

static void referral(Gen *g, int64_t t, int dir) {
    uint32_t id = ++g->n_ref;
    int64_t value = skewed_usd_minor(g, 5000, 80000);
    emit_ref(g, t, id, dir, RS_SENT, value);
    int partner_decides = dir == RD_TO_PARTNER;
    t = biz(g, t + rnd(g, 1 * DAY_MS, 7 * DAY_MS));
    if (partner_decides && t >= g->dark_at) return;
    unsigned reject = 25;
    if (g->arch == A_NOPIPELINE && dir == RD_TO_US) reject = 70;
    if (g->arch == A_ONESIDED && dir == RD_TO_PARTNER) reject = 10;
    if (chance(g, reject)) {
        emit_ref(g, t, id, dir, RS_REJECTED, value);
        return;
    }
    emit_ref(g, t, id, dir, RS_ACCEPTED, value);
    if (g->arch == A_NOPIPELINE && dir == RD_TO_US) return;
    if (!chance(g, 35)) return;
    t = biz(g, t + rnd(g, 10 * DAY_MS, 40 * DAY_MS));
    if (partner_decides && t >= g->dark_at) return;
    emit_ref(g, t, id, dir, RS_CONVERTED, value);
}

static void commitment(Gen *g, int64_t t, int dir) {
    if (dir == D_IN && g->dark_hanging) return;
    uint32_t id = ++g->n_commit;
    int64_t due = biz(g, t + rnd(g, 5 * DAY_MS, 21 * DAY_MS));
    int64_t deliver = biz(g, t + (due - t) * rnd(g, 30, 95) / 100);
    if (deliver >= due) deliver = due - 30 * MIN_MS;
    int64_t missed = due + rnd(g, 2 * HOUR_MS, 48 * HOUR_MS); /* recorded after the due date */

    if (dir == D_IN && (g->arch == A_DARK || g->arch == A_SILENT) && deliver >= g->dark_at) {
        /* the one commitment left hanging when the partner goes dark: never delivered */
        emit_eng(g, t, dir, K_COMMIT_MADE, 'c', id, due, 0);
        g->dark_hanging = 1;
        return;
    }
    emit_eng(g, t, dir, K_COMMIT_MADE, 'c', id, due, 0);
    if (dir == D_OUT) { /* we keep ours */
        emit_eng(g, deliver, dir, K_COMMIT_DELIVERED, 'c', id, due, 0);
        return;
    }
    if (g->arch == A_OVERPROMISE) {
        uint32_t k = g->n_partner_commits++;
        unsigned r = (unsigned)rng_below(&g->rng, 100);
        if (k < 2 || r < 65)
            emit_eng(g, missed, dir, K_COMMIT_MISSED, 'c', id, due, 0);
        else if (r < 80)
            ; /* silently never delivered: due date passes */
        else
            emit_eng(g, deliver, dir, K_COMMIT_DELIVERED, 'c', id, due, 0);
        return;
    }
    if (g->misses_left > 0 && chance(g, 15)) {
        g->misses_left--;
        emit_eng(g, missed, dir, K_COMMIT_MISSED, 'c', id, due, 0);
        return;
    }
    emit_eng(g, deliver, dir, K_COMMIT_DELIVERED, 'c', id, due, 0);
}

enum {
    ACT_THREAD,
    ACT_REQUEST,
    ACT_MEET_IN,
    ACT_MEET_OUT,
    ACT_COMK_IN,
    ACT_COMK_OUT,
    ACT_TRAIN_IN,
    ACT_TRAIN_OUT,
    ACT_REF_TO_US,
    ACT_REF_TO_PARTNER,
    ACT_COMMIT_IN,
    ACT_COMMIT_OUT
};

static void act(Gen *g, int what, int64_t t) {
    switch (what) {
    case ACT_THREAD: {
        int in = t < g->dark_at && chance(g, g->a->partner_starts);
        if (g->arch >= A_LASTWORD)
            thread2(g, t, in ? D_IN : D_OUT, K_MESSAGE, 't');
        else
            conversation(g, t, in ? D_IN : D_OUT, K_MESSAGE, 't');
        break;
    }
    case ACT_REQUEST:
        if (g->arch >= A_LASTWORD)
            thread2(g, t, D_IN, K_REQUEST, 'q');
        else
            conversation(g, t, D_IN, K_REQUEST, 'q');
        break;
    case ACT_MEET_IN: emit_eng(g, t, D_IN, K_MEETING, 0, 0, 0, 0); break;
    case ACT_MEET_OUT: emit_eng(g, t, D_OUT, K_MEETING, 0, 0, 0, 0); break;
    case ACT_COMK_IN: emit_eng(g, t, D_IN, K_CO_MARKETING, 0, 0, 0, 0); break;
    case ACT_COMK_OUT: emit_eng(g, t, D_OUT, K_CO_MARKETING, 0, 0, 0, 0); break;
    case ACT_TRAIN_IN: emit_eng(g, t, D_IN, K_TRAINING, 0, 0, 0, 0); break;
    case ACT_TRAIN_OUT: emit_eng(g, t, D_OUT, K_TRAINING, 0, 0, 0, 0); break;
    case ACT_REF_TO_US: referral(g, t, RD_TO_US); break;
    case ACT_REF_TO_PARTNER: referral(g, t, RD_TO_PARTNER); break;
    case ACT_COMMIT_IN: commitment(g, t, D_IN); break;
    case ACT_COMMIT_OUT: commitment(g, t, D_OUT); break;
    default: break;
    }
}

/* A renewal process: random phase, then one occurrence every gap.lo..gap.hi hours. */
static void process(Gen *g, Gap gap, int what, int64_t to) {
    if (gap.hi <= 0) return;
    int64_t t = g->signed_at + rnd(g, HOUR_MS, (int64_t)gap.hi * HOUR_MS);
    while (t < to) {
        int64_t tb = biz(g, t);
        if (tb >= to) break;
        act(g, what, tb);
        int64_t lo = (int64_t)gap.lo * HOUR_MS, hi = (int64_t)gap.hi * HOUR_MS;
        if (what == ACT_THREAD && g->arch == A_DARK && tb >= g->dark_at) { /* fewer new attempts */
            lo *= 2;
            hi = hi * 5 / 2;
        }
        t += rnd(g, lo, hi);
    }
}

/* Contributions in both directions. A balanced partner (every archetype but onesided)
 * alternates: theirs, ours, theirs, ... at the combined rate, so that in any window our
 * side is ahead by at most one per kind and one_sided cannot trip by chance. The onesided
 * partner runs both directions independently at very different rates. */
static void contributions(Gen *g, Gap in, Gap out, int act_in, int act_out) {
    if (g->arch == A_ONESIDED || in.hi <= 0 || out.hi <= 0) {
        process(g, in, act_in, g->quiet_at);
        process(g, out, act_out, g->quiet_at);
        return;
    }
    int64_t lo = ((int64_t)in.lo + out.lo) * HOUR_MS / 4, hi = ((int64_t)in.hi + out.hi) * HOUR_MS / 4;
    int64_t t = g->signed_at + rnd(g, HOUR_MS, hi);
    for (int theirs = 1; t < g->quiet_at; theirs = !theirs) {
        int64_t tb = biz(g, t);
        if (tb >= g->quiet_at) break;
        act(g, theirs ? act_in : act_out, tb);
        t += rnd(g, lo, hi);
    }
}

static uint8_t other_owner(Gen *g) {
    return (uint8_t)((g->owner + 1 + rng_below(&g->rng, N_OWNERS - 1)) % N_OWNERS);
}

static void lifecycle(Gen *g) {
    int64_t s = g->signed_at;
    emit_partner(g, s, PK_SIGNED);
    switch (g->arch) {
    case A_HEALTHY:
        if (chance(g, 40) && g->tier + 1 < N_TIERS) { /* promoted */
            g->tier++;
            emit_partner(g, biz(g, s + rnd(g, 50 * DAY_MS, 90 * DAY_MS)), PK_TIER_CHANGED);
        }
        if (g->ptype == PT_RESELLER && chance(g, 25)) { /* reseller moves to co-sell */
            g->ptype = PT_CO_SELL;
            emit_partner(g, biz(g, s + rnd(g, 95 * DAY_MS, 110 * DAY_MS)), PK_TYPE_CHANGED);
        }
        break;
    case A_SLOW:
    case A_ONESIDED:
    case A_NOPIPELINE:
    case A_LASTWORD:
    case A_IGNORER:
    case A_PORTAL:
    case A_MULTICUR:
    case A_TECH4:
        if (chance(g, 20)) {
            g->owner = other_owner(g);
            emit_partner(g, biz(g, s + rnd(g, 30 * DAY_MS, 100 * DAY_MS)), PK_OWNER_CHANGED);
        }
        break;
    case A_TOKYO: /* the partner manager records its hours: the same zone, calendar named */
        g->cal = CAL_BUSINESS;
        emit_partner(g, biz(g, s + rnd(g, 20 * DAY_MS, 60 * DAY_MS)), PK_PROFILE_CHANGED);
        if (chance(g, 20)) {
            g->owner = other_owner(g);
            emit_partner(g, biz(g, s + rnd(g, 70 * DAY_MS, 100 * DAY_MS)), PK_OWNER_CHANGED);
        }
        break;
    case A_DARK:
    case A_SILENT:
        if (chance(g, 35) && g->dark_at < g->end) { /* we reassign the silent partner */
            g->owner = other_owner(g);
            emit_partner(g, biz(g, g->dark_at + rnd(g, 10 * DAY_MS, 40 * DAY_MS)),
                         PK_OWNER_CHANGED);
        }
        break;
    case A_OVERPROMISE:
        if (chance(g, 25) && g->tier > 0) { /* demoted */
            g->tier--;
            emit_partner(g, biz(g, s + rnd(g, 60 * DAY_MS, 100 * DAY_MS)), PK_TIER_CHANGED);
        }
        break;
    default: break;
    }
}

static int cmp_local(const void *pa, const void *pb) {
    const Ev *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_global(const void *pa, const void *pb) {
    const Ev *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->partner != b->partner) return a->partner < b->partner ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Generates partner idx into buf (emptied first), sorted, seq = 1..n. */
static void gen_partner(EvBuf *buf, Partner *p, uint32_t idx, uint64_t seed, int64_t start,
                        int64_t days) {
    Gen g;
    memset(&g, 0, sizeof g);
    buf->n = 0;
    g.buf = buf;
    g.partner = idx;
    g.arch = (int)(idx % N_ARCH);
    g.a = &ARCHES[g.arch];
    rng_init(&g.rng, seed, idx);
    g.end = start + days * DAY_MS;

    p->arch = (uint8_t)g.arch;
    snprintf(p->id, sizeof p->id, "p%04" PRIu32 "-%s", idx + 1, g.a->name);
    p->name_a = (uint8_t)rng_below(&g.rng, N_NAME_A);
    p->name_b = (uint8_t)rng_below(&g.rng, N_NAME_B);
    g.ptype = g.ptype0 = g.a->types[rng_below(&g.rng, 2)];
    g.tier = g.a->tiers[rng_below(&g.rng, 2)];
    g.owner = (uint8_t)rng_below(&g.rng, N_OWNERS);
    g.misses_left = g.a->misses_allowed;

    int64_t span = days * DAY_MS;
    int64_t stagger = span / 20 < 7 * DAY_MS ? span / 20 : 7 * DAY_MS;
    g.signed_at = biz(&g, start + rnd(&g, 0, stagger));
    if (g.signed_at >= g.end) g.signed_at = start;
    if (g.arch == A_TECH4) { /* signed ~4 months before the end (but not before the start) */
        int64_t s4 = biz(&g, g.end - rnd(&g, 118 * DAY_MS, 124 * DAY_MS));
        if (s4 > g.signed_at && s4 < g.end) g.signed_at = s4;
    }
    g.dark_at = g.arch == A_DARK ? g.signed_at + (g.end - g.signed_at) / 3 : INT64_MAX;
    if (g.arch == A_SILENT) { /* the last 66–72 days silent, at least the last two thirds */
        int64_t q = g.end - rnd(&g, 66 * DAY_MS, 72 * DAY_MS), third = g.signed_at + (g.end - g.signed_at) / 3;
        g.dark_at = q > third ? q : third;
    }
    if (g.arch == A_TOKYO) g.zone = ZONE_TOKYO;
    g.quiet_at = g.dark_at < g.end ? g.dark_at : g.end;

    const Arch *a = g.a;
    lifecycle(&g);
    process(&g, a->thread, ACT_THREAD, g.end);
    process(&g, a->req_in, ACT_REQUEST, g.quiet_at);
    contributions(&g, a->meet_in, a->meet_out, ACT_MEET_IN, ACT_MEET_OUT);
    contributions(&g, a->comk_in, a->comk_out, ACT_COMK_IN, ACT_COMK_OUT);
    contributions(&g, a->train_in, a->train_out, ACT_TRAIN_IN, ACT_TRAIN_OUT);
    contributions(&g, a->ref_to_us, a->ref_to_partner, ACT_REF_TO_US, ACT_REF_TO_PARTNER);
    deals(&g);
    process(&g, a->commit_in, ACT_COMMIT_IN, g.quiet_at);
    process(&g, a->commit_out, ACT_COMMIT_OUT, g.quiet_at);

    if (buf->n > 1) qsort(buf->v, buf->n, sizeof *buf->v, cmp_local);
    for (size_t i = 0; i < buf->n; i++) buf->v[i].seq = (uint32_t)(i + 1);
}

/* ---- output ---- */

/* Buffered writer: lines are assembled in a large buffer and written with fwrite. */
typedef struct {
    FILE *f;
    char *buf;
    size_t n, cap;
    int err;
} Out;

static void out_flush(Out *o) {
    if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n) o->err = 1;
    o->n = 0;
}

static void out_bytes(Out *o, const char *s, size_t n) {
    if (o->cap - o->n < n) {
        out_flush(o);
        if (n > o->cap) {
            if (fwrite(s, 1, n, o->f) != n) o->err = 1;
            return;
        }
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static void out_cstr(Out *o, const char *s) { out_bytes(o, s, strlen(s)); }

static void out_i64(Out *o, int64_t v) {
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    out_bytes(o, tmp + i, sizeof tmp - i);
}

/* Length of the valid UTF-8 sequence at p (2–4), or 0 if invalid. p[0] >= 0x80. */
static size_t utf8_len(const unsigned char *p) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

/* JSON string: escapes quote, backslash, all control characters and DEL; passes valid
 * UTF-8 through; replaces each invalid byte by U+FFFD. The continuation checks fail on
 * the terminating NUL, so this never reads past the end of s. */
static void put_str(Out *o, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    out_bytes(o, "\"", 1);
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\') p++;
        if (p > run) out_bytes(o, (const char *)run, (size_t)(p - run));
        unsigned char c = *p;
        if (c == 0) break;
        if (c >= 0x80) {
            size_t n = utf8_len(p);
            if (n == 0) {
                out_cstr(o, "\\ufffd");
                p++;
            } else {
                out_bytes(o, (const char *)p, n);
                p += n;
            }
            continue;
        }
        p++;
        switch (c) {
        case '"': out_cstr(o, "\\\""); break;
        case '\\': out_cstr(o, "\\\\"); break;
        case '\b': out_cstr(o, "\\b"); break;
        case '\f': out_cstr(o, "\\f"); break;
        case '\n': out_cstr(o, "\\n"); break;
        case '\r': out_cstr(o, "\\r"); break;
        case '\t': out_cstr(o, "\\t"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out_bytes(o, u, sizeof u);
        }
        }
    }
    out_bytes(o, "\"", 1);
}

/* "<partner_id>-<sep><n>": event, deal, referral, thread, request and commitment ids. */
static void put_id(Out *o, const char *pid, char sep, uint32_t n) {
    char id[64];
    snprintf(id, sizeof id, "%s-%c%" PRIu32, pid, sep, n);
    put_str(o, id);
}

static void write_event(Out *o, const Ev *e, const Partner *p) {
    out_cstr(o, "{\"type\":");
    put_str(o, TYPE_NAMES[e->type]);
    out_cstr(o, ",\"event_id\":");
    put_id(o, p->id, 'e', e->seq);
    out_cstr(o, ",\"partner_id\":");
    put_str(o, p->id);
    out_cstr(o, ",\"occurred_at_ms\":");
    out_i64(o, e->t);
    switch (e->type) {
    case T_DEAL:
        out_cstr(o, ",\"deal_id\":");
        put_id(o, p->id, 'd', e->obj);
        out_cstr(o, ",\"stage\":");
        put_str(o, STAGE_NAMES[e->kind]);
        out_cstr(o, ",\"attribution\":");
        put_str(o, ATTR_NAMES[e->dir]);
        out_cstr(o, ",\"amount_minor\":");
        out_i64(o, e->num);
        out_cstr(o, ",\"currency\":");
        put_str(o, CURRENCIES[e->cur].code);
        break;
    case T_REFERRAL:
        out_cstr(o, ",\"referral_id\":");
        put_id(o, p->id, 'r', e->obj);
        out_cstr(o, ",\"direction\":");
        put_str(o, RDIR_NAMES[e->dir]);
        out_cstr(o, ",\"status\":");
        put_str(o, RSTATUS_NAMES[e->kind]);
        out_cstr(o, ",\"value_minor\":");
        out_i64(o, e->num);
        break;
    case T_ENGAGEMENT:
        if (e->kind == K_MESSAGE || e->kind == K_REQUEST) {
            out_cstr(o, ",\"thread_id\":");
            put_id(o, p->id, (char)e->aux, e->obj);
        }
        out_cstr(o, ",\"direction\":");
        put_str(o, EDIR_NAMES[e->dir]);
        out_cstr(o, ",\"kind\":");
        put_str(o, EKIND_NAMES[e->kind]);
        if (e->kind == K_COMMIT_MADE || e->kind == K_COMMIT_DELIVERED ||
            e->kind == K_COMMIT_MISSED) {
            out_cstr(o, ",\"commitment_id\":");
            put_id(o, p->id, 'c', e->obj);
            out_cstr(o, ",\"due_at_ms\":");
            out_i64(o, e->num);
        }
        out_cstr(o, e->automated ? ",\"automated\":true" : ",\"automated\":false");
        if (e->reply == RE_YES) out_cstr(o, ",\"expects_reply\":true");
        if (e->reply == RE_NO) out_cstr(o, ",\"expects_reply\":false");
        break;
    case T_PARTNER: {
        char name[128];
        snprintf(name, sizeof name, "%s %s", NAME_A[p->name_a], NAME_B[p->name_b]);
        out_cstr(o, ",\"kind\":");
        put_str(o, PKIND_NAMES[e->kind]);
        out_cstr(o, ",\"partner_type\":");
        put_str(o, PTYPE_NAMES[e->dir]);
        out_cstr(o, ",\"tier\":");
        put_str(o, TIERS[e->aux]);
        out_cstr(o, ",\"owner\":");
        put_str(o, OWNERS[e->owner]);
        out_cstr(o, ",\"display_name\":");
        put_str(o, name);
        if (e->reply != ZONE_NONE) {
            out_cstr(o, ",\"timezone\":");
            put_str(o, ZONES[e->reply]);
        }
        if (e->cal != CAL_NONE) {
            out_cstr(o, ",\"calendar\":");
            put_str(o, CALENDARS[e->cal]);
        }
        break;
    }
    default: break;
    }
    out_cstr(o, "}\n");
}

/* ---- the [currency] section gen streams need ---- */

/* Writes the [currency] section of a partnerpulsed config that converts every
 * currency gen writes into USD at the rates of CURRENCIES. */
static int print_currency_config(FILE *f) {
    fputs("[currency]\n"
          "; the rates `partnerpulse gen` streams need (docs/gen.md): USD per unit\n"
          "reporting = USD\n",
          f);
    for (int c = 0; c < N_CUR; c++) {
        if (c == CUR_USD) continue;
        int64_t r = CURRENCIES[c].rate4;
        char frac[8];
        int n = snprintf(frac, sizeof frac, "%04" PRId64, r % RATE_SCALE);
        while (n > 0 && frac[n - 1] == '0') frac[--n] = '\0';
        fprintf(f, "rate.%s = %" PRId64 "%s%s\n", CURRENCIES[c].code, r / RATE_SCALE, n ? "." : "",
                frac);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : 1;
}

/* ---- options ---- */

static void usage(FILE *f) {
    fputs("usage: partnerpulse gen [--partners N] [--seed S] [--start-ms T] [--days D]\n"
          "                        [--out FILE]\n"
          "       partnerpulse gen --print-currency-config\n"
          "\n"
          "Writes a deterministic synthetic stream of partner events as JSON lines\n"
          "(one event per line, sorted by occurred_at_ms). Same options => same bytes.\n"
          "\n"
          "  --partners N   number of partners, 0..100000 (default 20); partner i\n"
          "                 (0-based) gets archetype i % 13: healthy, slow, dark,\n"
          "                 onesided, overpromise, nopipeline, lastword, tokyo,\n"
          "                 silent, ignorer, portal, multicur, tech4 (encoded in its id)\n"
          "  --seed S       PRNG seed, unsigned 64-bit (default 1)\n"
          "  --start-ms T   start of event time, Unix ms (default 1767225600000 =\n"
          "                 2026-01-01T00:00:00Z)\n"
          "  --days D       span of event time in days, 1..3650 (default 120)\n"
          "  --out FILE     write to FILE instead of standard output\n"
          "  --print-currency-config\n"
          "                 print the [currency] section a partnerpulsed config needs\n"
          "                 to consume gen streams (USD, EUR, JPY, KWD amounts), and exit\n"
          "  --help         show this help\n"
          "\n"
          "See docs/gen.md for the archetypes and the JSON format.\n",
          f);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || v > max) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Matches "--name VALUE" or "--name=VALUE". Returns 1 if arg i is this option
 * (*val = value or NULL if missing), 0 otherwise. */
static int opt(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

int pp_gen_main(int argc, char **argv) {
    uint64_t partners = DEFAULT_PARTNERS, seed = DEFAULT_SEED, days = DEFAULT_DAYS;
    uint64_t start = (uint64_t)DEFAULT_START_MS;
    const char *out = NULL;

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char *a = argv[i];
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        } else if (strcmp(a, "--print-currency-config") == 0) {
            return print_currency_config(stdout);
        } else if (opt(argc, argv, &i, "--partners", &v)) {
            bad = parse_u64(v, MAX_PARTNERS, &partners);
        } else if (opt(argc, argv, &i, "--seed", &v)) {
            bad = parse_u64(v, UINT64_MAX, &seed);
        } else if (opt(argc, argv, &i, "--start-ms", &v)) {
            bad = parse_u64(v, (uint64_t)MAX_START_MS, &start);
        } else if (opt(argc, argv, &i, "--days", &v)) {
            bad = parse_u64(v, MAX_DAYS, &days) || days == 0;
        } else if (opt(argc, argv, &i, "--out", &v)) {
            out = v;
            bad = !v || !*v;
        } else {
            fprintf(stderr, "partnerpulse gen: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "partnerpulse gen: bad or missing value for %s\n", a);
            usage(stderr);
            return 2;
        }
    }

    uint32_t n = (uint32_t)partners;
    Partner *ps = n ? calloc(n, sizeof *ps) : NULL;
    EvBuf all = {0}, one = {0};
    int rc = 0;
    if (n && !ps) goto oom;
    for (uint32_t i = 0; i < n; i++) {
        gen_partner(&one, &ps[i], i, seed, (int64_t)start, (int64_t)days);
        if (one.oom) goto oom;
        for (size_t k = 0; k < one.n; k++)
            if (evbuf_push(&all, &one.v[k]) != 0) goto oom;
    }
    if (all.n > 1) qsort(all.v, all.n, sizeof *all.v, cmp_global);

    FILE *f = stdout;
    if (out) {
        f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "partnerpulse gen: cannot open %s: %s\n", out, strerror(errno));
            rc = 1;
            goto done;
        }
    }
    Out o = {f, malloc((size_t)1 << 20), 0, (size_t)1 << 20, 0};
    if (!o.buf) {
        if (out) fclose(f);
        goto oom;
    }
    for (size_t k = 0; k < all.n && !o.err; k++) write_event(&o, &all.v[k], &ps[all.v[k].partner]);
    out_flush(&o);
    free(o.buf);
    if (o.err || fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "partnerpulse gen: write error on %s: %s\n", out ? out : "stdout",
                strerror(errno));
        rc = 1;
    }
    if (out && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "partnerpulse gen: write error on %s: %s\n", out, strerror(errno));
        rc = 1;
    }
    goto done;
oom:
    fprintf(stderr, "partnerpulse gen: out of memory or more than %zu events; reduce "
                    "--partners or --days\n",
            MAX_EVENTS);
    rc = 1;
done:
    free(all.v);
    free(one.v);
    free(ps);
    return rc;
}
