/*
 * pp_upgrade: reading state blobs of older layouts (see pp_upgrade.h).
 */
#include "pp_upgrade.h"

#include <string.h>

size_t pp_upgrade_v8_size(uint32_t version)
{
    if (version == 7 || version == 8)
        return sizeof(pp_partner_v8_t);
    if (version == 6) /* version 7 added zone_hash and calendar_hash at the end */
        return offsetof(pp_partner_v8_t, zone_hash);
    return 0;
}

/* An id kept in `cap` bytes: whole when shorter, else (mark) '~' and its
 * tail, or just its tail, as pp_partner_apply keeps them. */
static void keep_id(char *dst, size_t cap, const char *src, size_t src_cap, bool mark)
{
    size_t n = strnlen(src, src_cap);
    if (n < cap) {
        memcpy(dst, src, n);
        memset(dst + n, 0, cap - n);
    } else if (mark) {
        dst[0] = '~';
        memcpy(dst + 1, src + n - (cap - 2), cap - 2);
        dst[cap - 1] = '\0';
    } else {
        memcpy(dst, src + n - (cap - 1), cap - 1);
        dst[cap - 1] = '\0';
    }
}

static bool stage_open(int stage)
{
    return stage == PP_STAGE_REGISTERED || stage == PP_STAGE_QUALIFIED || stage == PP_STAGE_PROPOSAL;
}

void pp_upgrade_v8(const pp_partner_v8_t *old, uint32_t version, pp_partner_t *st)
{
    memset(st, 0, sizeof *st);
#define SAME(f) memcpy(&st->f, &old->f, sizeof st->f)
    _Static_assert(sizeof st->id == sizeof old->id, "same id field");
    SAME(id);
    st->rp_days = old->rp_days;
    st->rp_n = old->rp_n;
    st->bucket_days = old->bucket_days;
    st->rp_p50 = old->rp_p50;
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        st->applied[t].partition = old->applied[t].partition;
        st->applied[t].offset = old->applied[t].offset;
    }
    st->home_partition = old->home_partition;
    st->rp_until = old->rp_until;
    st->events_applied = old->events_applied;
    st->updated_at_ms = old->updated_at_ms;
    st->first_event_ms = old->first_event_ms;
    st->last_event_ms = old->last_event_ms;
    st->clock_ms = old->clock_ms;
    keep_id(st->last_event_id, sizeof st->last_event_id, old->last_event_id, sizeof old->last_event_id, false);
    st->partner_type = old->partner_type;
    st->exited = old->exited;
    st->open_qualified = old->open_qualified;
    st->milestone = old->milestone;
    st->signed_at_ms = old->signed_at_ms;
    SAME(tier);
    SAME(owner);
    SAME(display_name);
    st->deals_sourced = old->deals_sourced;
    st->deals_influenced = old->deals_influenced;
    st->deals_won = old->deals_won;
    st->deals_lost = old->deals_lost;
    st->deals_qualified = old->deals_qualified;
    st->deals_evicted = old->deals_evicted;
    st->first_qualified_ms = old->first_qualified_ms;
    st->pipeline_sourced_minor = old->pipeline_sourced_minor;
    st->pipeline_influenced_minor = old->pipeline_influenced_minor;
    st->revenue_won_sourced_minor = old->revenue_won_sourced_minor;
    st->revenue_won_influenced_minor = old->revenue_won_influenced_minor;
    SAME(deals);
    st->referrals_to_us = old->referrals_to_us;
    st->referrals_to_partner = old->referrals_to_partner;
    st->engagements_inbound = old->engagements_inbound;
    st->engagements_outbound = old->engagements_outbound;
    st->followups_total = old->followups_total;
    st->automated_ignored = old->automated_ignored;
    st->threads_evicted = old->threads_evicted;
    st->health_drop_since = old->health_drop_since;
    st->last_inbound_ms = old->last_inbound_ms;
    st->last_outbound_ms = old->last_outbound_ms;
    SAME(commits_made);
    SAME(commits_delivered);
    SAME(commits_missed);
    st->commits_evicted = old->commits_evicted;
    st->referrals_converted_to_us = old->referrals_converted_to_us;
    st->last_missed_ms = old->last_missed_ms;
    for (int i = 0; i < PP_COMMITS_MAX; i++) {
        const pp_commit_v8_t *c = &old->commits[i];
        st->commits[i].id = c->id ? pp_id_fold(c->id) : 0;
        st->commits[i].due = c->due;
        st->commits[i].owner = c->owner;
        st->commits[i].state = c->state;
    }
    for (int i = 0; i < PP_THREADS_MAX; i++) {
        const pp_thread_v8_t *t = &old->threads[i];
        st->threads[i].id = t->id ? pp_id_fold(t->id) : 0;
        st->threads[i].since = t->since;
        st->threads[i].awaiting = t->awaiting;
        st->threads[i].followups = t->followups;
    }
    SAME(resp_partner);
    SAME(resp_us);
    st->resp_partner_next = old->resp_partner_next;
    st->resp_us_next = old->resp_us_next;
    st->referrals_converted_to_partner = old->referrals_converted_to_partner;
    st->head_day = old->head_day;
    SAME(days);
    SAME(lsum);
    st->lsum_day = old->lsum_day;
    st->lsum_days = old->lsum_days;
    st->health = old->health;
    st->confidence = old->confidence;
    SAME(component);
    SAME(measure_value);
    SAME(measure_score);
    st->rag = old->rag;
    SAME(health_max_day_hist);
    st->health_hist_day = old->health_hist_day;
    st->measures_available = old->measures_available;
    for (int m = 0; m < PP_M_COUNT; m++)
        keep_id(st->evidence[m], sizeof st->evidence[m], old->evidence[m], sizeof old->evidence[m], true);
    SAME(rules);
    SAME(episodes);
    st->rp_from = old->rp_from;
    st->next_deadline_ms = old->next_deadline_ms;
    SAME(snooze_until_ms);
    st->zone_hash = old->zone_hash; /* 0 in a version-6 blob (not in it) */
    st->calendar_hash = old->calendar_hash;
#undef SAME
    if (version < 8) { /* the qualified opportunities still open, from the deal table */
        st->referrals_converted_to_us = 0;
        /* a milestone already past was met then by version 7's rule (a
         * qualified opportunity ever): not judged again on upgrade */
        st->milestone = st->first_qualified_ms ? PP_MILESTONE_MET : PP_MILESTONE_PENDING;
        st->referrals_converted_to_partner = 0;
        st->open_qualified = 0;
        for (int i = 0; i < PP_DEALS_MAX; i++)
            if (st->deals[i].id && st->deals[i].qualified && stage_open(st->deals[i].stage) &&
                st->open_qualified < UINT8_MAX)
                st->open_qualified++;
    }
}
