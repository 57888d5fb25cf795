/*
 * pp_upgrade: reading state blobs of older layouts (internal to state/).
 *
 * pp_partner_decode reads a blob of an older version into that version's
 * struct, frozen here as it was, and pp_upgrade_v8 turns it into the current
 * pp_partner_t. Versions 6 and 7 are version 8 with zeros in what version 8
 * added (6: a prefix of it; 7: the same size, zeros in former alignment
 * holes): one frozen layout reads all three.
 *
 * When the layout changes again: freeze the current pp_partner_t here as
 * pp_partner_v9_t, migrate v9 -> v10 (and v8 -> v9 -> v10), keep
 * tests/fixtures/state_v9.bin and add state_v10.bin (tests/unit/test_upgrade.c).
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_UPGRADE_H
#define PP_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "pp_partner.h"

/* The parts of version 8 that version 9 changed (the other sub-structs are
 * the same; the size check below catches a change of theirs). */
typedef struct pp_applied_v8 {
    int32_t partition;
    int64_t offset;
} pp_applied_v8_t;

typedef struct pp_thread_v8 {
    uint64_t id;
    uint32_t since;
    uint8_t awaiting;
    uint8_t followups;
} pp_thread_v8_t;

typedef struct pp_commit_v8 {
    uint64_t id;
    uint32_t due;
    uint8_t owner;
    uint8_t state;
} pp_commit_v8_t;

/* pp_partner_t of version 8 (field meanings: pp_partner.h). */
typedef struct pp_partner_v8 {
    char id[PP_ID_MAX + 1];
    uint8_t rp_days;
    uint8_t rp_n;
    uint8_t bucket_days;
    uint32_t rp_p50;
    pp_applied_v8_t applied[PP_TOPIC_COUNT];
    int32_t home_partition;
    uint32_t rp_until;
    uint64_t events_applied;
    int64_t updated_at_ms;
    int64_t first_event_ms;
    int64_t last_event_ms;
    int64_t clock_ms;
    char last_event_id[36];
    uint8_t partner_type;
    uint8_t exited;
    uint8_t open_qualified;
    uint8_t milestone;
    int64_t signed_at_ms;
    char tier[PP_TIER_MAX + 1];
    char owner[48];
    char display_name[48];
    uint32_t deals_sourced;
    uint32_t deals_influenced;
    uint32_t deals_won;
    uint32_t deals_lost;
    uint32_t deals_qualified;
    uint32_t deals_evicted;
    int64_t first_qualified_ms;
    int64_t pipeline_sourced_minor;
    int64_t pipeline_influenced_minor;
    int64_t revenue_won_sourced_minor;
    int64_t revenue_won_influenced_minor;
    pp_deal_slot_t deals[PP_DEALS_MAX];
    uint32_t referrals_to_us;
    uint32_t referrals_to_partner;
    uint32_t engagements_inbound;
    uint32_t engagements_outbound;
    uint32_t followups_total;
    uint32_t automated_ignored;
    uint32_t threads_evicted;
    uint32_t health_drop_since;
    int64_t last_inbound_ms;
    int64_t last_outbound_ms;
    uint32_t commits_made[2], commits_delivered[2], commits_missed[2];
    uint32_t commits_evicted;
    uint32_t referrals_converted_to_us;
    int64_t last_missed_ms;
    pp_commit_v8_t commits[PP_COMMITS_MAX];
    pp_thread_v8_t threads[PP_THREADS_MAX];
    pp_sample_t resp_partner[PP_SAMPLES_MAX];
    pp_sample_t resp_us[PP_SAMPLES_MAX];
    uint8_t resp_partner_next, resp_us_next;
    uint16_t referrals_converted_to_partner;
    int32_t head_day;
    pp_day_t days[PP_DAYS_MAX];
    pp_window_sum_t lsum;
    int32_t lsum_day;
    int32_t lsum_days;
    double health;
    float confidence;
    float component[PP_C_COUNT];
    float measure_value[PP_M_COUNT];
    float measure_score[PP_M_COUNT];
    uint8_t rag;
    uint8_t health_max_day_hist[8];
    int32_t health_hist_day;
    uint8_t measures_available;
    char evidence[PP_M_COUNT][36];
    pp_rule_state_t rules[PP_R_COUNT];
    uint16_t episodes[PP_R_COUNT];
    uint32_t rp_from;
    int64_t next_deadline_ms;
    int64_t snooze_until_ms[PP_R_COUNT];
    uint32_t zone_hash;
    uint32_t calendar_hash;               } pp_partner_v8_t;

_Static_assert(sizeof(pp_partner_v8_t) == 3976, "the version-8 layout is frozen");

/* Bytes of a version-6..8 struct in its blob (0: not one of those versions). */
size_t pp_upgrade_v8_size(uint32_t version);

/*
 * The state of a version-6, 7 or 8 struct old, in the current layout, into
 * *st (every field set). Kept as they were: every count, sum, table, ring,
 * window bucket, score, rule and the profile. Folded: thread and commitment
 * ids to 32 bits (pp_id_fold); the evidence and last_event_id to
 * PP_STATE_ID_MAX bytes (their tail when longer). Starting empty: the rings
 * of seen event ids and of evicted closed deals (version 8 kept neither).
 * Versions 6 and 7 also get what version 8 derived (open_qualified from the
 * deal table, the milestone). The caller checks the result (blob_sane).
 */
void pp_upgrade_v8(const pp_partner_v8_t *old, uint32_t version, pp_partner_t *st);

#endif
