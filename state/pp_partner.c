/*
 * pp_partner: per-partner state transitions (see pp_partner.h).
 */
#include "pp_partner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void pp_partner_init(pp_partner_t *st, const char *id)
{
    memset(st, 0, sizeof *st);
    snprintf(st->id, sizeof st->id, "%s", id);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        st->applied[t].partition = -1;
        st->applied[t].offset = -1;
    }
    st->health = 50.0; /* neutral until the scorecard has data */
}

bool pp_partner_already_applied(const pp_partner_t *st, pp_topic_t topic, int32_t partition,
                                int64_t offset)
{
    const pp_applied_t *a = &st->applied[topic];
    return a->partition == partition && offset <= a->offset;
}

static bool stage_open(int stage)
{
    return stage == PP_STAGE_REGISTERED || stage == PP_STAGE_QUALIFIED || stage == PP_STAGE_PROPOSAL;
}

static int64_t *pipeline_of(pp_partner_t *st, int attribution)
{
    return attribution == PP_ATTR_SOURCED ? &st->pipeline_sourced_minor : &st->pipeline_influenced_minor;
}

/* Find the deal's slot, or claim one for it (evicting closed deals first, then the oldest). */
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
            if (oldest_open == NULL || d->last_seen_ms < oldest_open->last_seen_ms)
                oldest_open = d;
        } else if (oldest_closed == NULL || d->last_seen_ms < oldest_closed->last_seen_ms) {
            oldest_closed = d;
        }
    }
    *is_new = true;
    pp_deal_slot_t *d = free_slot ? free_slot : oldest_closed;
    if (d == NULL) {
        /* All slots hold open deals: forget the stalest one and its pipeline. */
        d = oldest_open;
        *pipeline_of(st, d->attribution) -= d->amount_minor;
        st->deals_evicted++;
    }
    memset(d, 0, sizeof *d);
    return d;
}

static void apply_deal(pp_partner_t *st, const pp_event_t *ev)
{
    bool is_new;
    pp_deal_slot_t *d = deal_slot(st, ev->u.deal.deal, &is_new);
    if (is_new) {
        d->id = ev->u.deal.deal;
        if (ev->u.deal.attribution == PP_ATTR_SOURCED)
            st->deals_sourced++;
        else
            st->deals_influenced++;
    } else if (!stage_open(d->stage)) {
        return; /* closed deals stay closed: a late or repeated event changes nothing */
    } else {
        *pipeline_of(st, d->attribution) -= d->amount_minor;
    }
    d->stage = (uint8_t)ev->u.deal.stage;
    d->attribution = (uint8_t)ev->u.deal.attribution;
    d->amount_minor = ev->u.deal.amount_minor;
    d->last_seen_ms = ev->occurred_at_ms;
    if (stage_open(d->stage)) {
        *pipeline_of(st, d->attribution) += d->amount_minor;
    } else if (d->stage == PP_STAGE_WON) {
        st->deals_won++;
        if (d->attribution == PP_ATTR_SOURCED)
            st->revenue_won_sourced_minor += d->amount_minor;
        else
            st->revenue_won_influenced_minor += d->amount_minor;
    } else {
        st->deals_lost++;
    }
}

static void apply_referral(pp_partner_t *st, const pp_event_t *ev)
{
    if (ev->u.referral.status != PP_REF_SENT)
        return;
    if (ev->u.referral.direction == PP_REF_TO_US)
        st->referrals_to_us++;
    else
        st->referrals_to_partner++;
}

static void apply_engagement(pp_partner_t *st, const pp_event_t *ev)
{
    bool inbound = ev->u.eng.direction == PP_DIR_INBOUND;
    if (inbound)
        st->engagements_inbound++;
    else
        st->engagements_outbound++;
    if (!ev->u.eng.automated) {
        int64_t *last = inbound ? &st->last_inbound_ms : &st->last_outbound_ms;
        if (ev->occurred_at_ms > *last)
            *last = ev->occurred_at_ms;
    }
}

static void apply_lifecycle(pp_partner_t *st, const pp_event_t *ev)
{
    if (ev->u.lc.partner_type != PP_PTYPE_NONE)
        st->partner_type = (uint8_t)ev->u.lc.partner_type;
    if (ev->u.lc.tier[0])
        memcpy(st->tier, ev->u.lc.tier, sizeof st->tier);
    if (ev->u.lc.owner[0])
        memcpy(st->owner, ev->u.lc.owner, sizeof st->owner);
    if (ev->u.lc.display_name[0])
        memcpy(st->display_name, ev->u.lc.display_name, sizeof st->display_name);
    if (ev->u.lc.kind == PP_LC_SIGNED) {
        st->signed_at_ms = ev->occurred_at_ms;
        st->exited = false;
    } else if (ev->u.lc.kind == PP_LC_EXITED) {
        st->exited = true;
    }
}

int pp_partner_apply(pp_partner_t *st, const pp_event_t *ev, int32_t partition, int64_t offset,
                     int64_t now_ms)
{
    if (strcmp(st->id, ev->partner_id) != 0)
        return -EINVAL;
    switch (ev->topic) {
    case PP_TOPIC_DEALS:
        apply_deal(st, ev);
        break;
    case PP_TOPIC_REFERRALS:
        apply_referral(st, ev);
        break;
    case PP_TOPIC_ENGAGEMENTS:
        apply_engagement(st, ev);
        break;
    case PP_TOPIC_LIFECYCLE:
        apply_lifecycle(st, ev);
        break;
    default:
        return -EINVAL;
    }
    st->applied[ev->topic].partition = partition;
    st->applied[ev->topic].offset = offset;
    st->events_applied++;
    st->updated_at_ms = now_ms;
    if (ev->occurred_at_ms > st->last_event_ms)
        st->last_event_ms = ev->occurred_at_ms;
    memcpy(st->last_event_id, ev->event_id, sizeof st->last_event_id);
    return 0;
}

double pp_partner_health(const pp_partner_t *st)
{
    return st->health;
}

int64_t pp_partner_pipeline_minor(const pp_partner_t *st)
{
    return st->pipeline_sourced_minor + st->pipeline_influenced_minor;
}

int64_t pp_partner_revenue_minor(const pp_partner_t *st)
{
    return st->revenue_won_sourced_minor + st->revenue_won_influenced_minor;
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

size_t pp_partner_blob_size(void)
{
    return BLOB_HEADER + sizeof(pp_partner_t);
}

size_t pp_partner_encode(const pp_partner_t *st, uint8_t *buf, size_t cap)
{
    if (cap < pp_partner_blob_size())
        return 0;
    memcpy(buf, BLOB_MAGIC, 4);
    put_u32(buf + 4, PP_STATE_VERSION);
    put_u32(buf + 8, (uint32_t)sizeof *st);
    memcpy(buf + BLOB_HEADER, st, sizeof *st);
    return pp_partner_blob_size();
}

int pp_partner_decode(const uint8_t *buf, size_t len, pp_partner_t *st)
{
    if (len != pp_partner_blob_size() || memcmp(buf, BLOB_MAGIC, 4) != 0 ||
        get_u32(buf + 4) != PP_STATE_VERSION || get_u32(buf + 8) != sizeof *st)
        return -EINVAL;
    pp_partner_t tmp;
    memcpy(&tmp, buf + BLOB_HEADER, sizeof tmp);
    if (!pp_partner_id_valid(tmp.id, strnlen(tmp.id, sizeof tmp.id)) ||
        tmp.id[sizeof tmp.id - 1] != '\0')
        return -EINVAL;
    *st = tmp;
    return 0;
}

/* ---- public hash fields ---- */

static const char *ptype_name(int t)
{
    switch (t) {
    case PP_PTYPE_REFERRAL: return "REFERRAL";
    case PP_PTYPE_RESELLER: return "RESELLER";
    case PP_PTYPE_TECHNOLOGY: return "TECHNOLOGY";
    case PP_PTYPE_CO_SELL: return "CO_SELL";
    default: return "";
    }
}

#define FIELD_I64(n, v)                                                                       \
    do {                                                                                      \
        if (i < cap) {                                                                        \
            out[i].name = (n);                                                                \
            snprintf(out[i].value, sizeof out[i].value, "%" PRId64, (int64_t)(v));            \
        }                                                                                     \
        i++;                                                                                  \
    } while (0)
#define FIELD_STR(n, v)                                                                       \
    do {                                                                                      \
        if (i < cap) {                                                                        \
            out[i].name = (n);                                                                \
            snprintf(out[i].value, sizeof out[i].value, "%s", (v));                           \
        }                                                                                     \
        i++;                                                                                  \
    } while (0)

size_t pp_partner_fields(const pp_partner_t *st, pp_field_t *out, size_t cap)
{
    size_t i = 0;
    FIELD_I64("events_applied", st->events_applied);
    FIELD_I64("updated_at_ms", st->updated_at_ms);
    FIELD_I64("last_event_ms", st->last_event_ms);
    FIELD_STR("last_event_id", st->last_event_id);
    FIELD_STR("partner_type", ptype_name(st->partner_type));
    FIELD_STR("tier", st->tier);
    FIELD_STR("owner", st->owner);
    FIELD_STR("display_name", st->display_name);
    FIELD_I64("signed_at_ms", st->signed_at_ms);
    FIELD_I64("exited", st->exited);
    FIELD_I64("deals_sourced", st->deals_sourced);
    FIELD_I64("deals_influenced", st->deals_influenced);
    FIELD_I64("deals_won", st->deals_won);
    FIELD_I64("deals_lost", st->deals_lost);
    FIELD_I64("pipeline_sourced_minor", st->pipeline_sourced_minor);
    FIELD_I64("pipeline_influenced_minor", st->pipeline_influenced_minor);
    FIELD_I64("revenue_won_sourced_minor", st->revenue_won_sourced_minor);
    FIELD_I64("revenue_won_influenced_minor", st->revenue_won_influenced_minor);
    FIELD_I64("referrals_to_us", st->referrals_to_us);
    FIELD_I64("referrals_to_partner", st->referrals_to_partner);
    FIELD_I64("engagements_inbound", st->engagements_inbound);
    FIELD_I64("engagements_outbound", st->engagements_outbound);
    FIELD_I64("last_inbound_ms", st->last_inbound_ms);
    FIELD_I64("last_outbound_ms", st->last_outbound_ms);
    return i < cap ? i : cap;
}
