/*
 * Test helpers: build events without Kafka, as the decoder would deliver them.
 */
#ifndef PP_TEST_HELPERS_H
#define PP_TEST_HELPERS_H

#include <string.h>

#include "pp_event.h"
#include "pp_partner.h"

#define DAY_MS (24LL * 3600 * 1000)
#define HOUR_MS (3600LL * 1000)
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static inline pp_event_t ev_base(pp_topic_t topic, const char *partner, const char *event_id, int64_t t)
{
    pp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = topic;
    strcpy(ev.partner_id, partner);
    strcpy(ev.event_id, event_id);
    ev.occurred_at_ms = t;
    return ev;
}

static inline pp_event_t ev_deal(const char *p, const char *eid, int64_t t, const char *deal, int stage,
                                 int attr, int64_t amount)
{
    pp_event_t ev = ev_base(PP_TOPIC_DEALS, p, eid, t);
    ev.u.deal.deal = pp_hash_str(deal);
    ev.u.deal.stage = stage;
    ev.u.deal.attribution = attr;
    ev.u.deal.amount_minor = amount;
    strcpy(ev.u.deal.currency, "USD");
    return ev;
}

static inline pp_event_t ev_referral(const char *p, const char *eid, int64_t t, int dir, int status)
{
    pp_event_t ev = ev_base(PP_TOPIC_REFERRALS, p, eid, t);
    ev.u.referral.referral = pp_hash_str(eid);
    ev.u.referral.direction = dir;
    ev.u.referral.status = status;
    return ev;
}

static inline pp_event_t ev_eng(const char *p, const char *eid, int64_t t, const char *thread, int dir,
                                int kind, bool automated)
{
    pp_event_t ev = ev_base(PP_TOPIC_ENGAGEMENTS, p, eid, t);
    ev.u.eng.thread = thread ? pp_hash_str(thread) : 0;
    ev.u.eng.direction = dir;
    ev.u.eng.kind = kind;
    ev.u.eng.automated = automated;
    return ev;
}

static inline pp_event_t ev_commit(const char *p, const char *eid, int64_t t, const char *cid, int dir,
                                   int kind, int64_t due)
{
    pp_event_t ev = ev_base(PP_TOPIC_ENGAGEMENTS, p, eid, t);
    ev.u.eng.commitment = pp_hash_str(cid);
    ev.u.eng.direction = dir;
    ev.u.eng.kind = kind;
    ev.u.eng.due_at_ms = due;
    return ev;
}

static inline pp_event_t ev_lifecycle(const char *p, const char *eid, int64_t t, int kind, int ptype,
                                      const char *tier)
{
    pp_event_t ev = ev_base(PP_TOPIC_LIFECYCLE, p, eid, t);
    ev.u.lc.kind = kind;
    ev.u.lc.partner_type = ptype;
    if (tier)
        strcpy(ev.u.lc.tier, tier);
    return ev;
}

#endif
