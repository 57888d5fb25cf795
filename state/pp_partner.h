/*
 * pp_partner: the per-partner state and how one event changes it.
 *
 * A partner's state is one fixed-size, pointer-free struct (bounded memory:
 * every table has a cap, overflow evicts the oldest entry and counts it).
 * It is serialised as a versioned blob for Redis and carries, per input
 * topic, the (partition, offset) it has applied: the daemon skips a
 * re-delivered message at or below that offset, and (pp_partner_duplicate)
 * an event whose event_id is among the last PP_SEEN_MAX the partner applied
 * (a producer's retry is a new message with the same id), which makes the
 * effect of each event exactly once (DESIGN §9).
 *
 * Pure: time comes in as arguments, nothing here does I/O or logs.
 */
#ifndef PP_PARTNER_H
#define PP_PARTNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_bizclock.h"
#include "pp_event.h"
#include "pp_policy.h"

#define PP_DEALS_MAX 24          /* deals tracked per partner (open + recently closed) */
#define PP_THREADS_MAX 12        /* open conversation threads tracked */
#define PP_COMMITS_MAX 12        /* open commitments tracked */
#define PP_SAMPLES_MAX 16        /* response-time samples kept per direction */
#define PP_EVIDENCE_MAX 36       /* bytes of an event_id an alert carries as evidence (a UUID fits) */
#define PP_STATE_ID_MAX 24       /* bytes of an event_id the state keeps (evidence, last_event_id):
                                    ids up to 23 bytes whole, longer ones by their tail */
#define PP_SEEN_MAX 40           /* fingerprints of applied event_ids kept (duplicates by id) */
#define PP_CLOSED_MAX 12         /* fingerprints of closed deals evicted from the deal table */
#define PP_STATE_VERSION 9       /* bump when pp_partner_t's layout or meaning changes; keep a
                                    fixture of the new version (tests/fixtures, test_upgrade.c) */

/* Compact time: seconds since 2000-01-01 (u32 lasts until 2136). */
static inline uint32_t pp_secs(int64_t ms)
{
    return ms <= PP_MIN_TIME_MS ? 0 : (uint32_t)((ms - PP_MIN_TIME_MS) / 1000);
}
static inline int64_t pp_ms(uint32_t secs)
{
    return PP_MIN_TIME_MS + (int64_t)secs * 1000;
}

/* Where the partner's state stands in one input topic. offset -1 = nothing
 * applied. Packed to 12 bytes (version 9): no field of it is ever addressed. */
typedef struct __attribute__((packed, aligned(4))) pp_applied {
    int32_t partition;
    int64_t offset;
} pp_applied_t;

/* One deal the partner is involved in. */
typedef struct pp_deal_slot {
    uint64_t id;             /* hash of deal_id; 0 = free slot */
    int64_t amount_minor;    /* amount of the latest event, reporting currency (DESIGN §3) */
    uint32_t last_seen;      /* pp_secs of the latest event (eviction order) */
    uint8_t stage;           /* latest stage (enum pp_stage) */
    uint8_t attribution;     /* attribution of the latest event (enum pp_attr) */
    uint8_t qualified;       /* has reached QUALIFIED or beyond */
} pp_deal_slot_t;

/* One bucket of the rolling windows: one day of event time, or bucket_days
 * days for windows over PP_DAYS_MAX days (saturating counters, per bucket). */
typedef struct pp_day {
    uint16_t in, out;        /* non-automated engagements from / to the partner */
    uint8_t theirs, ours;    /* contributions each way (reciprocity) */
    uint8_t registered;      /* new deal registrations + referrals to us (activity) */
    uint8_t qualified;       /* deals reaching QUALIFIED */
    uint8_t won, lost;       /* deals closed */
    uint8_t missed;          /* partner commitments missed (explicitly or by due date) */
    uint8_t delivered;       /* partner commitments delivered */
    uint32_t won_major;      /* won amount, major units */
} pp_day_t;

/* Sums of the buckets over the `days` days ending at now_ms (inclusive; see
 * pp_partner_windows for buckets wider than a day). */
typedef struct pp_window_sum {
    uint32_t in, out, theirs, ours, registered, qualified, won, lost, missed, delivered;
    uint64_t won_major;
} pp_window_sum_t;

/* A response: when it happened and how long the other side waited. */
typedef struct pp_sample {
    uint32_t at;             /* pp_secs of the reply */
    uint32_t wait;           /* business seconds waited, in the calendar of the side that owed */
} pp_sample_t;

enum pp_waiting { PP_WAIT_NONE = 0, PP_WAIT_PARTNER = 1, PP_WAIT_US = 2 };

/* A conversation thread with a question open on it (DESIGN §4): a slot is
 * taken when a message asks and freed when the exchange concludes. */
typedef struct pp_thread {
    uint32_t id;             /* pp_id_fold(hash of thread_id); 0 = free (64 bits up to version 8) */
    uint32_t since;          /* pp_secs of the question (follow-ups keep it) */
    uint8_t awaiting;        /* enum pp_waiting: the side that owes the answer */
    uint8_t followups;       /* further messages from the waiting side's counterpart */
} pp_thread_t;

enum pp_commit_state { PP_COMMIT_OPEN = 1, PP_COMMIT_DELIVERED, PP_COMMIT_MISSED };

/* The 90-day milestone (seed 004 l.88), judged once at SIGNED + no_pipeline_days. */
enum pp_milestone { PP_MILESTONE_PENDING = 0, PP_MILESTONE_MET = 1, PP_MILESTONE_MISSED = 2 };

typedef struct pp_commit {
    uint32_t id;             /* pp_id_fold(hash of commitment_id); 0 = free (64 bits up to version 8) */
    uint32_t due;            /* pp_secs of the due date, 0 = none */
    uint8_t owner;           /* PP_DIR_INBOUND = the partner's, PP_DIR_OUTBOUND = ours */
    uint8_t state;           /* enum pp_commit_state */
} pp_commit_t;

/* Lifecycle of one rule's alert for this partner (DESIGN §7). */
typedef struct pp_rule_state {
    int64_t started_at_ms;   /* episode start (event time); 0 = not firing */
    float value;             /* value when it tripped */
    uint8_t severity;        /* enum pp_severity at trip */
    uint8_t published;       /* FIRING was published (not inhibited/snoozed) */
    uint8_t snoozed_episode; /* snoozed "until it clears" for this episode */
    uint8_t held_back;       /* the daemon held its FIRING back as history (DESIGN §7): not on
                                Kafka yet though `published`; set and cleared by the daemon only,
                                zeroed with the rest when the episode resolves (was padding) */
} pp_rule_state_t;

typedef struct pp_partner {
    char id[PP_ID_MAX + 1];               /* partner_id */
    /* Cache of the partner's response count and median over the short window
     * (pp_partner_resp_median), valid for event times in [rp_from, rp_until)
     * seconds. Its fields fill alignment holes: the layout of every other
     * field is that of version 6, whose blobs (zeros there) read as "no cache". */
    uint8_t rp_days;                      /* window length it was computed for */
    uint8_t rp_n;                         /* responses in the window */
    /* Width in days of the rolling windows' buckets (days[], lsum): 1 for
     * windows up to PP_DAYS_MAX days, ceil(long window / PP_DAYS_MAX) beyond
     * (pp_partner_set_bucket_days). In an alignment hole: 0 in older blobs,
     * which means 1. */
    uint8_t bucket_days;
    uint32_t rp_p50;                      /* their median wait, seconds */
    pp_applied_t applied[PP_TOPIC_COUNT]; /* last applied offset per input topic */
    int32_t home_partition;               /* input partition the partner lives in (-1 unknown) */
    uint32_t rp_until;                    /* pp_secs; 0 = no cache */
    uint64_t events_applied;              /* lifetime count of distinct events applied */
    int64_t updated_at_ms;                /* processing time of the last change */
    int64_t first_event_ms;               /* min event time seen */
    int64_t last_event_ms;                /* max event time seen */
    int64_t clock_ms;                     /* evaluation clock: max(event time, timer time) */
    char last_event_id[PP_STATE_ID_MAX];  /* event_id of the last applied event (tail if longer;
                                             36 bytes up to version 8) */

    /* Profile (PartnerEvent). */
    uint8_t partner_type;                 /* enum pp_ptype */
    uint8_t exited;                       /* 1 after EXITED (0/1: no bool in a blob read back from Redis) */
    uint8_t open_qualified;               /* deals of the table qualified and still open (saturating;
                                             version 8, in an alignment hole: the 90-day milestone) */
    uint8_t milestone;                    /* enum pp_milestone: the 90-day milestone as judged at its
                                             deadline (version 8, in an alignment hole) */
    int64_t signed_at_ms;                 /* 0 = not signed */
    char tier[PP_TIER_MAX + 1];
    char owner[48];                       /* truncated on a character boundary */
    char display_name[48];

    /* Deals (seed 003 scorecard), lifetime. */
    uint32_t deals_sourced;               /* distinct deals first seen as SOURCED */
    uint32_t deals_influenced;            /* distinct deals first seen as INFLUENCED */
    uint32_t deals_won;
    uint32_t deals_lost;
    uint32_t deals_qualified;             /* distinct deals that reached QUALIFIED */
    uint32_t deals_evicted;               /* slots reused while the deal was still open */
    int64_t first_qualified_ms;           /* event time of the first qualified opportunity, 0 = none */
    int64_t pipeline_sourced_minor;       /* open deals' amounts, by attribution */
    int64_t pipeline_influenced_minor;
    int64_t revenue_won_sourced_minor;    /* closed-won amounts, by attribution */
    int64_t revenue_won_influenced_minor;
    pp_deal_slot_t deals[PP_DEALS_MAX];

    /* Referrals (seed 000 §6.4), lifetime. */
    uint32_t referrals_to_us;             /* SENT events, partner → us */
    uint32_t referrals_to_partner;        /* SENT events, us → partner */

    /* Engagement, lifetime. */
    uint32_t engagements_inbound;         /* all engagement events from the partner */
    uint32_t engagements_outbound;        /* all engagement events from us */
    uint32_t followups_total;             /* our follow-ups while awaiting the partner */
    uint32_t automated_ignored;           /* automated messages not counted as responses */
    uint32_t threads_evicted;             /* waiting threads forgotten (table full) */
    /* pp_secs since health_drop's condition holds, not yet tripped (its
     * minimum duration); 0 = not pending. Added in version 7 in what was an
     * alignment hole (zero in version-6 blobs), so the state stays within 4 KiB. */
    uint32_t health_drop_since;
    int64_t last_inbound_ms;              /* latest non-automated inbound, 0 = none */
    int64_t last_outbound_ms;             /* latest non-automated outbound, 0 = none */

    /* Commitments (seed 000 §6.3), lifetime per owner: [0] partner's, [1] ours. */
    uint32_t commits_made[2], commits_delivered[2], commits_missed[2];
    uint32_t commits_evicted;
    uint32_t referrals_converted_to_us;   /* CONVERTED events, partner → us (seed 000 §6.4; version 8,
                                             in an alignment hole) */
    int64_t last_missed_ms;               /* event time of the latest partner miss */
    pp_commit_t commits[PP_COMMITS_MAX];

    /* Responsiveness (seed 000 §6.2): waits and responses both ways. */
    pp_thread_t threads[PP_THREADS_MAX];
    pp_sample_t resp_partner[PP_SAMPLES_MAX]; /* the partner answering us (ring) */
    pp_sample_t resp_us[PP_SAMPLES_MAX];      /* us answering the partner (ring) */
    uint8_t resp_partner_next, resp_us_next;  /* ring write positions */
    uint16_t referrals_converted_to_partner;  /* CONVERTED events, us → partner (saturating;
                                                 version 8, in an alignment hole) */

    /* Rolling windows: a ring of buckets of bucket_days days of event time,
     * indexed by bucket number (day / bucket_days), the newest at head_day's. */
    int32_t head_day;                     /* newest day held (days since 1970), 0 = none */
    pp_day_t days[PP_DAYS_MAX];
    /* Running sum of the long window ending at lsum_day, kept up to date as
     * buckets change and the window slides (evaluation is O(1), not O(days)). */
    pp_window_sum_t lsum;
    int32_t lsum_day;                     /* 0 = not valid */
    int32_t lsum_days;                    /* window length lsum was built for, days */

    /* Health score (pp_score), as of clock_ms. */
    double health;                        /* 0..100 */
    float confidence;                     /* share of weight that had data, 0..1 */
    float component[PP_C_COUNT];                 /* per component 0..100, <0 = not available */
    float measure_value[PP_M_COUNT];             /* raw metric per measure (NAN = not available) */
    float measure_score[PP_M_COUNT];             /* 0..100 per measure, <0 = not available */
    uint8_t rag;                          /* enum pp_rag */
    uint8_t health_max_day_hist[8];       /* daily max health, ring by day (health_drop) */
    uint8_t measures_available;           /* bit per measure with data (history resets on change) */
    uint8_t seen_next;                    /* seen[] write position (version 9) */
    uint8_t closed_next;                  /* closed_deals[] write position (version 9) */
    int32_t health_hist_day;              /* day of the newest health_max_day_hist entry */
    /* event_id that last moved each measure (whole up to PP_STATE_ID_MAX - 1
     * bytes, else '~' and its tail; 36 bytes up to version 8) */
    char evidence[PP_M_COUNT][PP_STATE_ID_MAX];

    /* Exactly once by event_id (version 9): pp_partner_fingerprint of the
     * last PP_SEEN_MAX event_ids applied (ring, 0 = free), which
     * pp_partner_duplicate looks up. */
    uint32_t seen[PP_SEEN_MAX];
    /* pp_id_fold of the ids of the last PP_CLOSED_MAX closed deals evicted
     * from deals[] (ring, 0 = free): a deal found here is closed, and its
     * events (a repeated WON) change nothing, as for a closed deal in the table. */
    uint32_t closed_deals[PP_CLOSED_MAX];

    /* Alerts (pp_rules). */
    pp_rule_state_t rules[PP_R_COUNT];
    uint16_t episodes[PP_R_COUNT];        /* episodes started per rule (part of the alert_id) */
    uint32_t rp_from;                     /* pp_secs (see rp_days) */
    int64_t next_deadline_ms;             /* next timer (pp_engine_next_deadline), 0 = none */
    int64_t snooze_until_ms[PP_R_COUNT];        /* snoozed until (event time); -1 = until clear; 0 = no */

    /* Fields added in version 7 (a version-6 blob reads with them zero). */
    uint32_t zone_hash;                   /* pp_name_hash32 of the profile's timezone, 0 = not set */
    uint32_t calendar_hash;               /* pp_name_hash32 of the profile's calendar, 0 = not set */
} pp_partner_t;

/* Initialise a fresh partner (nothing applied). id must be valid. */
void pp_partner_init(pp_partner_t *st, const char *id);

/*
 * True when the message at (topic, partition, offset) has already been
 * applied to this partner (offset at or below the stored one on the same
 * partition) and must be skipped.
 */
bool pp_partner_already_applied(const pp_partner_t *st, pp_topic_t topic, int32_t partition,
                                int64_t offset);

/* Why a message must not be applied (pp_partner_duplicate). */
typedef enum pp_dup {
    PP_DUP_NONE = 0, /* new: apply it */
    PP_DUP_OFFSET,   /* re-delivered: at or below the offset applied on its partition */
    PP_DUP_ID,       /* its event_id is among the last PP_SEEN_MAX this partner applied */
} pp_dup_t;

/*
 * Whether the message at (topic, partition, offset) carrying ev (NULL: look
 * at the offset only) is a duplicate for this partner, and why. By offset
 * first (pp_partner_already_applied), then by event_id: every applied event
 * records a 32-bit fingerprint of its id (pp_partner_fingerprint) in a ring
 * of the last PP_SEEN_MAX, so a retry is recognised while fewer than
 * PP_SEEN_MAX other events of the partner came in between, whatever their
 * event times. A distinct event whose fingerprint collides with one of the
 * ring is taken for a duplicate: probability at most PP_SEEN_MAX / 2^32 per
 * event (about 1 in 107 million; docs/events.md).
 */
pp_dup_t pp_partner_duplicate(const pp_partner_t *st, pp_topic_t topic, int32_t partition, int64_t offset,
                              const pp_event_t *ev);

/* The 32-bit fingerprint of an event_id (n bytes) that seen[] holds: a
 * seeded, well-mixed 64-bit hash of its bytes, folded; never 0. */
uint32_t pp_partner_fingerprint(const char *event_id, size_t n);

/* A 64-bit id hash (pp_hash_str: deal, thread, commitment ids) folded to the
 * 32 bits the state keeps: mixed first (FNV's low bits are weak), never 0. */
/* MurmurHash3's 64-bit finaliser: every input bit moves every output bit. */
static inline uint64_t pp_fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t pp_id_fold(uint64_t h)
{
    uint32_t v = (uint32_t)(pp_fmix64(h) >> 32);
    return v ? v : 1;
}

/*
 * Apply one validated event that arrived at (partition, offset) of its topic
 * (the caller has checked pp_partner_duplicate: this applies it regardless,
 * and records its event_id among the seen),
 * its amounts already in the reporting currency (pp_policyset_admit_event).
 * now_ms is processing time (stored as updated_at_ms). clk: the business
 * clocks of both sides, indexed by enum pp_side (response times are counted
 * in the clock of the side that owed the answer); NULL = real time for both.
 * The policy's defaults weigh referrals and turn amounts into major units.
 * Returns 0, or -EINVAL if ev belongs to another partner.
 */
int pp_partner_apply(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                     int64_t now_ms, const pp_bizclock_t clk[2]);

/* pp_partner_apply for a caller that has already checked that ev belongs to
 * st (strcmp(st->id, ev->partner_id) == 0), under the partner's policy pol
 * (referral weights, the reporting currency's minor units; NULL = the
 * defaults): pp_engine_apply. */
int pp_partner_apply_own(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                         int64_t now_ms, const pp_bizclock_t clk[2], const pp_policy_t *pol);

#define PP_DAY_MS 86400000LL

/* Day number (days since 1970, UTC) of an event time. */
int32_t pp_day_of(int64_t ms);

/* Widest bucket a policy can ask for: ceil(PP_WINDOW_DAYS_MAX / PP_DAYS_MAX) days. */
#define PP_BUCKET_DAYS_MAX ((PP_WINDOW_DAYS_MAX + PP_DAYS_MAX - 1) / PP_DAYS_MAX)

/* The window bucket for event time ms, advancing the ring if ms is newer than
 * anything held; NULL when ms is older than the ring holds (PP_DAYS_MAX
 * buckets, at least the longest window): such an event counts in lifetime
 * totals only. */
pp_day_t *pp_partner_day(pp_partner_t *st, int64_t ms);

/*
 * Give the ring buckets of w days (pp_policy_bucket_days() of the partner's
 * policy; below 1 is 1, above PP_BUCKET_DAYS_MAX that), re-bucketing what it
 * holds when the width changes:
 *   - coarser: old buckets are merged into the new bucket of their first day;
 *     exact when w is a multiple of the old width (always from 1-day buckets);
 *   - finer: an old bucket's counts all go to the new bucket of its first day
 *     (an approximation: they were spread over the old bucket's days), and
 *     what is older than the new ring holds is dropped;
 * counters saturate as they do when counting. The running long-window sum is
 * invalidated (rebuilt at the next pp_partner_long_window). No-op when the
 * width stays. The engine calls it before an event is applied and before a
 * timer's evaluation.
 */
void pp_partner_rebucket(pp_partner_t *st, int w);

/* pp_partner_rebucket, inline: the engine asks on every event and timer, and
 * while one-day buckets stay (every window up to PP_DAYS_MAX days) the
 * answer is two compares. */
static inline void pp_partner_set_bucket_days(pp_partner_t *st, int w)
{
    if (st->bucket_days > 1 || w > 1)
        pp_partner_rebucket(st, w);
}

/* The sums over the `days` days ending at now_ms. With 1-day buckets that is
 * exactly days now_day - days + 1 .. now_day. With wider buckets (windows
 * over PP_DAYS_MAX days) the window is whole buckets: the bucket holding
 * now_day and the older ones whose first day is within the window, so the
 * far edge moves a bucket at a time and an event counts for between
 * days - bucket_days + 1 and days days. A window needing more than the ring's
 * PP_DAYS_MAX buckets at the state's width is cut to what the ring holds. */
void pp_partner_window(const pp_partner_t *st, int64_t now_ms, int days, pp_window_sum_t *out);

/* The long window ending at now_ms, from the running sum (rebuilt if the
 * window length changed). now_ms must not be before the last evaluation.
 * Re-buckets the ring first if long_days needs another bucket width
 * (pp_window_bucket_days), so the answer is always that of long_days. */
void pp_partner_long_window(pp_partner_t *st, int64_t now_ms, int long_days, pp_window_sum_t *out);

/* The same for a caller that has now_day = pp_day_of(now_ms) at hand. */
void pp_partner_long_window_at(pp_partner_t *st, int64_t now_ms, int32_t now_day, int long_days, pp_window_sum_t *out);

/* Both windows in one pass over the buckets (short_days <= long_days), as
 * pp_partner_window gives each, at the state's bucket width. */
void pp_partner_windows(const pp_partner_t *st, int64_t now_ms, int long_days, int short_days,
                        pp_window_sum_t *lw, pp_window_sum_t *sw);

/* The number of the partner's responses answered within the `days` days
 * ending at now_ms, and (*p50_s, when there is one) their nearest-rank median
 * wait in seconds: what the engine's percentiles give, cached in the state
 * until a response enters or leaves the window. */
int pp_partner_resp_median(pp_partner_t *st, int64_t now_ms, int days, uint32_t *p50_s);

/* Commitments still open whose due time plus grace_ms is at or before now_ms
 * become missed (counted on their due day). Returns how many. */
int pp_partner_expire_commitments(pp_partner_t *st, int64_t now_ms, int64_t grace_ms);

/* pp_partner_expire_commitments, and *first_due the earliest due time
 * (pp_secs) of the commitments with a due date still open after it, 0 if
 * none (what the next timer needs: one pass over the slots, not two). */
int pp_partner_expire_commitments_next(pp_partner_t *st, int64_t now_ms, int64_t grace_ms, uint32_t *first_due);

/* The partner's health score, 0-100 (the pp:health leaderboard value). */
double pp_partner_health(const pp_partner_t *st);

/* a + b, saturating at INT64_MAX / INT64_MIN (as the state's sums do). */
static inline int64_t pp_sat_add64(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        r = b > 0 ? INT64_MAX : INT64_MIN; /* only a b of that sign can overflow */
    return r;
}

/* Open pipeline amount and won revenue, both attributions together (inline:
 * the score reads the pipeline at every evaluation). */
static inline int64_t pp_partner_pipeline_minor(const pp_partner_t *st)
{
    return pp_sat_add64(st->pipeline_sourced_minor, st->pipeline_influenced_minor);
}

static inline int64_t pp_partner_revenue_minor(const pp_partner_t *st)
{
    return pp_sat_add64(st->revenue_won_sourced_minor, st->revenue_won_influenced_minor);
}

/* ---- serialisation (the internal Redis blob) ---- */

/* Bytes pp_partner_encode may need at most (the blob itself is usually far smaller). */
size_t pp_partner_blob_size(void);

/* Write the blob (header + zero-run-squeezed struct) into buf
 * (cap >= pp_partner_blob_size()). Returns bytes written or 0. */
size_t pp_partner_encode(const pp_partner_t *st, uint8_t *buf, size_t cap);

/*
 * Read a blob written by pp_partner_encode, of this version or of an older
 * one this code migrates (versions 6 to PP_STATE_VERSION; docs/redis.md).
 * Returns 0, or (*st untouched then):
 *   -EPROTO   a blob of ours (magic) of a version this code cannot read: newer
 *             than PP_STATE_VERSION (written by a newer daemon), or older
 *             than 6. The blob must be kept as it is (never overwritten).
 *   -EBADMSG  anything else: not ours, truncated, a size that is not its
 *             version's, a payload that does not decode, or a state that
 *             fails the sanity checks (corrupt).
 */
int pp_partner_decode(const uint8_t *buf, size_t len, pp_partner_t *st);

/* The version in a blob's header (whatever it holds after it), or -1 when
 * buf is not a state blob (shorter than its header, or another magic). */
int pp_partner_blob_version(const uint8_t *buf, size_t len);

#endif
