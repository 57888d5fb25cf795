/*
 * pp_partner: the per-partner state and how one event changes it.
 *
 * A partner's state is one fixed-size, pointer-free struct (bounded memory:
 * every table has a cap, overflow evicts the oldest entry and counts it).
 * It is serialised as a versioned blob for Redis and carries, per input
 * topic, the (partition, offset) it has applied: the daemon skips a
 * re-delivered message at or below that offset, which makes the effect of
 * each event exactly once (DESIGN §9).
 *
 * Pure: time comes in as arguments, nothing here does I/O or logs.
 */
#ifndef PP_PARTNER_H
#define PP_PARTNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"

#define PP_DEALS_MAX 32          /* deals tracked per partner (open + recently closed) */
#define PP_STATE_VERSION 1       /* bump when pp_partner_t's layout changes */

/* Where the partner's state stands in one input topic. offset -1 = nothing applied. */
typedef struct pp_applied {
    int32_t partition;
    int64_t offset;
} pp_applied_t;

/* One deal the partner is involved in. */
typedef struct pp_deal_slot {
    uint64_t id;             /* hash of deal_id; 0 = free slot */
    int64_t amount_minor;    /* amount of the latest event */
    int64_t last_seen_ms;    /* event time of the latest event (for eviction order) */
    uint8_t stage;           /* latest stage (enum pp_stage) */
    uint8_t attribution;     /* attribution of the latest event (enum pp_attr) */
} pp_deal_slot_t;

typedef struct pp_partner {
    char id[PP_ID_MAX + 1];               /* partner_id */
    pp_applied_t applied[PP_TOPIC_COUNT]; /* last applied offset per input topic */
    uint64_t events_applied;              /* lifetime count of distinct events applied */
    int64_t updated_at_ms;                /* processing time of the last change */
    int64_t last_event_ms;                /* max event time seen */
    char last_event_id[PP_ID_MAX + 1];    /* event_id of the last applied event */
    double health;                        /* 0-100 health score (pp_score) */

    /* Profile (PartnerEvent). */
    uint8_t partner_type;                 /* enum pp_ptype */
    bool exited;
    int64_t signed_at_ms;                 /* 0 = not signed */
    char tier[PP_TEXT_MAX + 1];
    char owner[PP_TEXT_MAX + 1];
    char display_name[PP_TEXT_MAX + 1];

    /* Deals (seed 003 scorecard). */
    uint32_t deals_sourced;               /* distinct deals first seen as SOURCED */
    uint32_t deals_influenced;            /* distinct deals first seen as INFLUENCED */
    uint32_t deals_won;
    uint32_t deals_lost;
    uint32_t deals_evicted;               /* slots reused while the deal was still open */
    int64_t pipeline_sourced_minor;       /* open deals' amounts, by attribution */
    int64_t pipeline_influenced_minor;
    int64_t revenue_won_sourced_minor;    /* closed-won amounts, by attribution */
    int64_t revenue_won_influenced_minor;
    pp_deal_slot_t deals[PP_DEALS_MAX];

    /* Referrals (seed 000 §6.4). */
    uint32_t referrals_to_us;             /* SENT events, partner → us */
    uint32_t referrals_to_partner;        /* SENT events, us → partner */

    /* Engagement. */
    uint32_t engagements_inbound;         /* all engagement events from the partner */
    uint32_t engagements_outbound;        /* all engagement events from us */
    int64_t last_inbound_ms;              /* latest non-automated inbound, 0 = none */
    int64_t last_outbound_ms;             /* latest non-automated outbound, 0 = none */
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

/*
 * Apply one validated event that arrived at (partition, offset) of its topic.
 * now_ms is processing time (stored as updated_at_ms).
 * Returns 0, or -EINVAL if ev belongs to another partner.
 */
int pp_partner_apply(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                     int64_t now_ms);

/* The partner's health score, 0-100 (the pp:health leaderboard value). */
double pp_partner_health(const pp_partner_t *st);

/* Open pipeline amount and won revenue, both attributions together. */
int64_t pp_partner_pipeline_minor(const pp_partner_t *st);
int64_t pp_partner_revenue_minor(const pp_partner_t *st);

/* ---- serialisation (the internal Redis blob) ---- */

/* Bytes needed by pp_partner_encode. */
size_t pp_partner_blob_size(void);

/* Write the blob into buf (cap >= pp_partner_blob_size()). Returns bytes written or 0. */
size_t pp_partner_encode(const pp_partner_t *st, uint8_t *buf, size_t cap);

/*
 * Read a blob written by pp_partner_encode. Returns 0, or -EINVAL when the
 * blob is not ours, of another version, or truncated (*st untouched then).
 */
int pp_partner_decode(const uint8_t *buf, size_t len, pp_partner_t *st);

/* ---- the public Redis hash (docs/redis.md) ---- */

#define PP_FIELD_VALUE_MAX (PP_TEXT_MAX + 1)

typedef struct pp_field {
    const char *name;                 /* static string, the documented field name */
    char value[PP_FIELD_VALUE_MAX];   /* formatted value */
} pp_field_t;

/*
 * Fill out[] with the dashboard-visible fields of the partner hash, in a
 * fixed order. Returns how many were written (at most cap).
 */
size_t pp_partner_fields(const pp_partner_t *st, pp_field_t *out, size_t cap);

#endif
