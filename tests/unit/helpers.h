/*
 * Test helpers: build events without Kafka, as the decoder would deliver them.
 */
#ifndef PP_TEST_HELPERS_H
#define PP_TEST_HELPERS_H

#include <string.h>

#include "pp_alert.h"
#include "pp_event.h"
#include "pp_partner.h"

#define DAY_MS (24LL * 3600 * 1000)
#define HOUR_MS (3600LL * 1000)
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z, a Thursday */

/* ---- business time of the default calendar ("business": Mon-Fri
 * 09:00-17:00, UTC unless the partner's profile names a zone) ---- */

#define BDAY_MS (8 * HOUR_MS)                     /* one business day of "business" */
#define MON0 (T0 + 4 * DAY_MS + 9 * HOUR_MS)      /* 2026-01-05T09:00Z, a Monday, opening time */

/* The UTC instant at which `business_ms` of business time (Mon-Fri
 * 09:00-17:00 UTC) have passed since MON0: bt(0) is Monday 09:00, bt(HOUR_MS)
 * Monday 10:00, bt(5 * BDAY_MS) the next Monday 09:00. Worked out by hand,
 * independently of pp_calendar, so that the business time between bt(a) and
 * bt(b) is b - a by construction. */
static inline int64_t bt(int64_t business_ms)
{
    int64_t week = business_ms / (5 * BDAY_MS), in_week = business_ms % (5 * BDAY_MS);
    return MON0 + week * 7 * DAY_MS + (in_week / BDAY_MS) * DAY_MS + in_week % BDAY_MS;
}

/* Unix ms of a UTC civil date and time (proleptic Gregorian, days_from_civil). */
static inline int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000LL;
}

/* Unix ms of a local civil time in a zone whose offset then is offset_h hours east of UTC. */
static inline int64_t local_ms(int y, int mo, int d, int h, int mi, int offset_h)
{
    return utc_ms(y, mo, d, h, mi) - (int64_t)offset_h * HOUR_MS;
}

/* ---- zones, built by hand (the daemon loads them from ICU) ---- */

static inline void zone_fixed(pp_zone_t *z, const char *name, int offset_h)
{
    memset(z, 0, sizeof *z);
    strcpy(z->name, name);
    z->initial_offset_s = offset_h * 3600;
}

static inline void zone_change(pp_zone_t *z, int64_t at_ms, int offset_h)
{
    z->at_s[z->n_transitions] = at_ms / 1000;
    z->offset_s[z->n_transitions] = offset_h * 3600;
    z->n_transitions++;
}

/* America/New_York around 2026: EST (-5), EDT (-4) from 2026-03-08T07:00Z,
 * EST again from 2026-11-01T06:00Z (its real transitions). */
static inline void zone_new_york_2026(pp_zone_t *z)
{
    zone_fixed(z, "America/New_York", -5);
    zone_change(z, utc_ms(2026, 3, 8, 7, 0), -4);
    zone_change(z, utc_ms(2026, 11, 1, 6, 0), -5);
}

/* Asia/Tokyo: JST, +9 all year. */
static inline void zone_tokyo(pp_zone_t *z)
{
    zone_fixed(z, "Asia/Tokyo", 9);
}

/* Hand zones[0..n) to the policy set, sorted by pp_name_hash32(name) as it
 * requires (zones and hashes are reordered in place and must outlive ps). */
static inline int zones_install(pp_policyset_t *ps, pp_zone_t *zones, uint32_t *hashes, size_t n, char *err,
                                size_t err_len)
{
    for (size_t i = 0; i < n; i++)
        hashes[i] = pp_name_hash32(zones[i].name);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && hashes[j - 1] > hashes[j]; j--) {
            pp_zone_t z = zones[j];
            zones[j] = zones[j - 1];
            zones[j - 1] = z;
            uint32_t h = hashes[j];
            hashes[j] = hashes[j - 1];
            hashes[j - 1] = h;
        }
    return pp_policyset_zones(ps, zones, hashes, n, err, err_len);
}

/* ---- the alert transitions an engine test saw, in order ---- */

#define SEEN_MAX 1024
typedef struct seen_log {
    pp_alert_t a[SEEN_MAX];
    int n;
} seen_log_t;

/* Keep out[0..n) (what an engine call returned), up to SEEN_MAX in all. */
static inline void seen_add(seen_log_t *l, const pp_alert_t *out, int n)
{
    for (int i = 0; i < n && l->n < SEEN_MAX; i++)
        l->a[l->n++] = out[i];
}

/* Transitions of rule r with status `status` (-1: any). */
static inline int seen_count(const seen_log_t *l, pp_rule_t r, int status)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += l->a[i].rule == r && (status < 0 || l->a[i].status == status);
    return n;
}

/* The first / last transition of rule r with status `status` (-1: any), NULL if none. */
static inline const pp_alert_t *seen_first(const seen_log_t *l, pp_rule_t r, int status)
{
    for (int i = 0; i < l->n; i++)
        if (l->a[i].rule == r && (status < 0 || l->a[i].status == status))
            return &l->a[i];
    return NULL;
}

static inline const pp_alert_t *seen_last(const seen_log_t *l, pp_rule_t r, int status)
{
    for (int i = l->n - 1; i >= 0; i--)
        if (l->a[i].rule == r && (status < 0 || l->a[i].status == status))
            return &l->a[i];
    return NULL;
}

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

/* A non-automated message (or request) with its expects_reply (enum pp_reply). */
static inline pp_event_t ev_eng_reply(const char *p, const char *eid, int64_t t, const char *thread, int dir,
                                      int kind, int expects_reply)
{
    pp_event_t ev = ev_eng(p, eid, t, thread, dir, kind, false);
    ev.u.eng.expects_reply = expects_reply;
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

/* A lifecycle event that also sets the profile's time zone and calendar ("" = not given). */
static inline pp_event_t ev_profile(const char *p, const char *eid, int64_t t, int kind, int ptype,
                                    const char *timezone, const char *calendar)
{
    pp_event_t ev = ev_lifecycle(p, eid, t, kind, ptype, NULL);
    strcpy(ev.u.lc.timezone, timezone);
    strcpy(ev.u.lc.calendar, calendar);
    return ev;
}

#endif
