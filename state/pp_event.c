/*
 * pp_event: protobuf decode + validation of input events (see pp_event.h).
 */
#include "pp_event.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partnerpulse.pb-c.h"
#include "pp_policy.h"

void pp_limits_default(pp_limits_t *lim)
{
    lim->max_message_bytes = 64 * 1024;
    lim->max_amount_minor = 100000000000000LL; /* 1e12 major units */
    lim->max_future_skew_ms = 24LL * 3600 * 1000;
}

static const char *const reject_names[PP_REJ_COUNT] = {
    [PP_OK] = "ok",
    [PP_REJ_UNDECODABLE] = "undecodable",
    [PP_REJ_OVERSIZE] = "oversize",
    [PP_REJ_PARTNER_ID] = "partner_id",
    [PP_REJ_EVENT_ID] = "event_id",
    [PP_REJ_TIME] = "occurred_at",
    [PP_REJ_ENUM] = "enum",
    [PP_REJ_AMOUNT] = "amount",
    [PP_REJ_STRING] = "string",
    [PP_REJ_KEY_MISMATCH] = "key_mismatch",
    [PP_REJ_WRONG_TOPIC] = "wrong_topic",
    [PP_REJ_TIMEZONE] = "timezone",
    [PP_REJ_CALENDAR] = "calendar",
    [PP_REJ_CURRENCY] = "currency",
    [PP_REJ_FORMAT] = "format",
    [PP_REJ_SR_FRAMING] = "sr_framing",
    [PP_REJ_SR_SCHEMA_ID] = "sr_schema_id",
    [PP_REJ_JSON_SYNTAX] = "json_syntax",
    [PP_REJ_JSON_MAPPING] = "json_mapping",
};

const char *pp_reject_name(pp_reject_t r)
{
    return (r >= 0 && r < PP_REJ_COUNT) ? reject_names[r] : "unknown";
}

const char *pp_topic_name(pp_topic_t t)
{
    static const char *const names[PP_TOPIC_COUNT] = {"deals", "referrals", "engagements", "lifecycle"};
    return (t >= 0 && t < PP_TOPIC_COUNT) ? names[t] : "unknown";
}

bool pp_partner_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > PP_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

uint64_t pp_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

pp_reject_t pp_event_reject(char *why, size_t why_len, pp_reject_t r, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* True when s is NULL, empty, or at most max bytes of ASCII letters, digits
 * and the characters of `extra`. */
static bool name_ok(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (n >= max || (!alnum && strchr(extra, c) == NULL))
            return false;
    }
    return true;
}

/* Copy a bounded string; false if it does not fit in cap-1 bytes. */
static bool copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return false;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* Hash an optional id string: 0 when empty; false when too long. */
static bool hash_id(const char *s, uint64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n > PP_ID_MAX)
        return false;
    *out = n ? pp_hash_str(s) : 0;
    return true;
}

/*
 * Each input type numbers its own fields in a range of its own (proto file
 * header). A field from another type's range means the message was published
 * on the wrong topic.
 */
static pp_reject_t check_foreign_fields(const ProtobufCMessage *m, unsigned own_lo, char *why,
                                        size_t why_len)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        uint32_t tag = m->unknown_fields[i].tag;
        if (tag >= 10 && tag < 50 && (tag < own_lo || tag >= own_lo + 10)) {
            static const char *const types[] = {"DealEvent", "ReferralEvent", "EngagementEvent", "PartnerEvent"};
            return pp_event_reject(why, why_len, PP_REJ_WRONG_TOPIC,
                        "message carries %s field %u: it was published on the wrong topic",
                        types[tag / 10 - 1], (unsigned)tag);
        }
    }
    return PP_OK;
}

/* Checks shared by all input events: ids, time, key. */
static pp_reject_t check_common(const char *event_id, const char *partner_id, int64_t occurred_at_ms,
                                const char *key, size_t key_len, const pp_limits_t *lim,
                                int64_t now_ms, pp_event_t *ev, char *why, size_t why_len)
{
    size_t plen = partner_id ? strlen(partner_id) : 0;
    if (!pp_partner_id_valid(partner_id, plen))
        return pp_event_reject(why, why_len, PP_REJ_PARTNER_ID,
                    "partner_id must be 1-%d characters of [A-Za-z0-9._:-] (got %zu bytes)",
                    PP_ID_MAX, plen);
    if (event_id == NULL || event_id[0] == '\0')
        return pp_event_reject(why, why_len, PP_REJ_EVENT_ID, "event_id is missing");
    if (!copy_str(ev->event_id, sizeof ev->event_id, event_id))
        return pp_event_reject(why, why_len, PP_REJ_EVENT_ID, "event_id is longer than %d bytes", PP_ID_MAX);
    memcpy(ev->partner_id, partner_id, plen + 1);
    if (occurred_at_ms < PP_MIN_TIME_MS)
        return pp_event_reject(why, why_len, PP_REJ_TIME,
                    "occurred_at_ms %lld is before 2000-01-01 (expected Unix milliseconds)",
                    (long long)occurred_at_ms);
    if (occurred_at_ms > now_ms + lim->max_future_skew_ms)
        return pp_event_reject(why, why_len, PP_REJ_TIME,
                    "occurred_at_ms %lld is more than %lld ms in the future",
                    (long long)occurred_at_ms, (long long)lim->max_future_skew_ms);
    ev->occurred_at_ms = occurred_at_ms;
    if (key != NULL && (key_len != plen || memcmp(key, partner_id, plen) != 0))
        return pp_event_reject(why, why_len, PP_REJ_KEY_MISMATCH,
                    "message key differs from partner_id (key must be the partner_id)");
    return PP_OK;
}

static pp_reject_t check_amount(int64_t v, const pp_limits_t *lim, const char *field, char *why,
                                size_t why_len)
{
    if (v < 0 || v > lim->max_amount_minor)
        return pp_event_reject(why, why_len, PP_REJ_AMOUNT, "%s %lld is out of range 0..%lld", field,
                    (long long)v, (long long)lim->max_amount_minor);
    return PP_OK;
}

/* currency: empty (= the reporting currency) or 3 bytes, copied into
 * out[4]. Whether it is an ISO 4217 code with a rate is pp_money_convert's
 * question (PP_REJ_CURRENCY), asked against the configuration in force. */
static pp_reject_t check_currency(const char *currency, char out[4], char *why, size_t why_len)
{
    size_t clen = currency ? strlen(currency) : 0;
    if (clen != 0 && clen != 3)
        return pp_event_reject(why, why_len, PP_REJ_STRING, "currency must be a 3-letter ISO 4217 code");
    memcpy(out, clen ? currency : "", clen + 1);
    return PP_OK;
}

/* ---- decoding without a malloc per message ----
 * protobuf-c allocates the unpacked message, its strings and unknown fields
 * through an allocator: this one hands out pieces of a buffer on the
 * caller's stack (enough for any ordinary event) and only falls back to
 * malloc for an outsized one; everything is released at once afterwards. */
#if defined(__has_feature)
#define PP_ASAN_ON __has_feature(address_sanitizer)
#else
#define PP_ASAN_ON 0
#endif
#if defined(__SANITIZE_ADDRESS__) || PP_ASAN_ON
#define ARENA_BYTES 16 /* sanitizer builds: every piece its own malloc, so ASan checks each */
#else
#define ARENA_BYTES 8192
#endif

typedef struct arena {
    _Alignas(max_align_t) unsigned char buf[ARENA_BYTES];
    size_t used;
    void *spill; /* malloc'd blocks, chained through their first word */
} arena_t;

static void *arena_alloc(void *data, size_t size)
{
    arena_t *a = data;
    size_t need = (size + 15) & ~(size_t)15;
    if (need >= size && need <= ARENA_BYTES - a->used) {
        void *p = a->buf + a->used;
        a->used += need;
        return p;
    }
    if (size > SIZE_MAX - 16)
        return NULL;
    void **blk = malloc(16 + size);
    if (blk == NULL)
        return NULL;
    blk[0] = a->spill;
    a->spill = blk;
    return (unsigned char *)blk + 16;
}

static void arena_free(void *data, void *ptr)
{
    (void)data; /* released with the whole arena */
    (void)ptr;
}

static void arena_release(arena_t *a)
{
    while (a->spill != NULL) {
        void **blk = a->spill;
        a->spill = blk[0];
        free(blk);
    }
    a->used = 0;
}

static pp_reject_t decode_deal(ProtobufCAllocator *al, const uint8_t *buf, size_t len, const char *key, size_t key_len,
                               const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev, char *why,
                               size_t why_len)
{
    Partnerpulse__V1__DealEvent *m = partnerpulse__v1__deal_event__unpack(al, len, buf);
    if (m == NULL)
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "payload is not a valid DealEvent protobuf");
    pp_reject_t r = check_foreign_fields(&m->base, 10, why, why_len);
    if (r != PP_OK)
        goto out;
    r = check_common(m->event_id, m->partner_id, m->occurred_at_ms, key, key_len, lim,
                                 now_ms, ev, why, why_len);
    if (r != PP_OK)
        goto out;
    if ((int)m->stage < PP_STAGE_REGISTERED || (int)m->stage > PP_STAGE_LOST) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "stage %d is unspecified or unknown", (int)m->stage);
        goto out;
    }
    if ((int)m->attribution != PP_ATTR_SOURCED && (int)m->attribution != PP_ATTR_INFLUENCED) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "attribution %d is unspecified or unknown",
                 (int)m->attribution);
        goto out;
    }
    if (m->deal_id == NULL || m->deal_id[0] == '\0' || !hash_id(m->deal_id, &ev->u.deal.deal)) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "deal_id must be 1-%d bytes", PP_ID_MAX);
        goto out;
    }
    if ((r = check_amount(m->amount_minor, lim, "amount_minor", why, why_len)) != PP_OK)
        goto out;
    if ((r = check_currency(m->currency, ev->u.deal.currency, why, why_len)) != PP_OK)
        goto out;
    ev->topic = PP_TOPIC_DEALS;
    ev->u.deal.stage = (int)m->stage;
    ev->u.deal.attribution = (int)m->attribution;
    ev->u.deal.amount_minor = m->amount_minor;
out:
    (void)m; /* the arena is released by pp_event_decode */
    return r;
}

static pp_reject_t decode_referral(ProtobufCAllocator *al, const uint8_t *buf, size_t len, const char *key, size_t key_len,
                                   const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev,
                                   char *why, size_t why_len)
{
    Partnerpulse__V1__ReferralEvent *m = partnerpulse__v1__referral_event__unpack(al, len, buf);
    if (m == NULL)
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "payload is not a valid ReferralEvent protobuf");
    pp_reject_t r = check_foreign_fields(&m->base, 20, why, why_len);
    if (r != PP_OK)
        goto out;
    r = check_common(m->event_id, m->partner_id, m->occurred_at_ms, key, key_len, lim,
                                 now_ms, ev, why, why_len);
    if (r != PP_OK)
        goto out;
    if ((int)m->direction != PP_REF_TO_US && (int)m->direction != PP_REF_TO_PARTNER) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "direction %d is unspecified or unknown", (int)m->direction);
        goto out;
    }
    if ((int)m->status < PP_REF_SENT || (int)m->status > PP_REF_REJECTED) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "status %d is unspecified or unknown", (int)m->status);
        goto out;
    }
    if (!hash_id(m->referral_id, &ev->u.referral.referral)) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "referral_id is longer than %d bytes", PP_ID_MAX);
        goto out;
    }
    if ((r = check_amount(m->value_minor, lim, "value_minor", why, why_len)) != PP_OK)
        goto out;
    if ((r = check_currency(m->currency, ev->u.referral.currency, why, why_len)) != PP_OK)
        goto out;
    ev->topic = PP_TOPIC_REFERRALS;
    ev->u.referral.direction = (int)m->direction;
    ev->u.referral.status = (int)m->status;
    ev->u.referral.value_minor = m->value_minor;
out:
    (void)m; /* the arena is released by pp_event_decode */
    return r;
}

static pp_reject_t decode_engagement(ProtobufCAllocator *al, const uint8_t *buf, size_t len, const char *key,
                                     size_t key_len, const pp_limits_t *lim, int64_t now_ms,
                                     pp_event_t *ev, char *why, size_t why_len)
{
    Partnerpulse__V1__EngagementEvent *m = partnerpulse__v1__engagement_event__unpack(al, len, buf);
    if (m == NULL)
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "payload is not a valid EngagementEvent protobuf");
    pp_reject_t r = check_foreign_fields(&m->base, 30, why, why_len);
    if (r != PP_OK)
        goto out;
    r = check_common(m->event_id, m->partner_id, m->occurred_at_ms, key, key_len, lim,
                                 now_ms, ev, why, why_len);
    if (r != PP_OK)
        goto out;
    if ((int)m->direction != PP_DIR_INBOUND && (int)m->direction != PP_DIR_OUTBOUND) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "direction %d is unspecified or unknown", (int)m->direction);
        goto out;
    }
    if ((int)m->kind < PP_KIND_MESSAGE || (int)m->kind > PP_KIND_REQUEST) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "kind %d is unspecified or unknown", (int)m->kind);
        goto out;
    }
    if (!hash_id(m->thread_id, &ev->u.eng.thread) || !hash_id(m->commitment_id, &ev->u.eng.commitment)) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "thread_id/commitment_id longer than %d bytes", PP_ID_MAX);
        goto out;
    }
    bool commitment = (int)m->kind == PP_KIND_COMMITMENT_MADE || (int)m->kind == PP_KIND_COMMITMENT_DELIVERED ||
                      (int)m->kind == PP_KIND_COMMITMENT_MISSED;
    if (commitment && ev->u.eng.commitment == 0) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "commitment events need a commitment_id");
        goto out;
    }
    if (m->due_at_ms != 0 && (m->due_at_ms < PP_MIN_TIME_MS || m->due_at_ms > 4102444800000LL)) {
        r = pp_event_reject(why, why_len, PP_REJ_TIME, "due_at_ms %lld is outside 2000..2100",
                 (long long)m->due_at_ms);
        goto out;
    }
    ev->topic = PP_TOPIC_ENGAGEMENTS;
    ev->u.eng.direction = (int)m->direction;
    ev->u.eng.kind = (int)m->kind;
    ev->u.eng.due_at_ms = m->due_at_ms;
    ev->u.eng.automated = m->automated != 0;
    if ((int)m->expects_reply < PP_REPLY_DEFAULT || (int)m->expects_reply > PP_REPLY_NO) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "expects_reply %d is unknown (UNSPECIFIED, YES or NO)",
                 (int)m->expects_reply);
        goto out;
    }
    ev->u.eng.expects_reply = (int)m->expects_reply;
out:
    (void)m; /* the arena is released by pp_event_decode */
    return r;
}

static pp_reject_t decode_partner(ProtobufCAllocator *al, const uint8_t *buf, size_t len, const char *key, size_t key_len,
                                  const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev, char *why,
                                  size_t why_len)
{
    Partnerpulse__V1__PartnerEvent *m = partnerpulse__v1__partner_event__unpack(al, len, buf);
    if (m == NULL)
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "payload is not a valid PartnerEvent protobuf");
    pp_reject_t r = check_foreign_fields(&m->base, 40, why, why_len);
    if (r != PP_OK)
        goto out;
    r = check_common(m->event_id, m->partner_id, m->occurred_at_ms, key, key_len, lim,
                                 now_ms, ev, why, why_len);
    if (r != PP_OK)
        goto out;
    if ((int)m->kind < PP_LC_SIGNED || (int)m->kind > PP_LC_PROFILE_CHANGED) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "kind %d is unspecified or unknown", (int)m->kind);
        goto out;
    }
    if ((int)m->partner_type < 0 || (int)m->partner_type > PP_PTYPE_CO_SELL) {
        r = pp_event_reject(why, why_len, PP_REJ_ENUM, "partner_type %d is unknown", (int)m->partner_type);
        goto out;
    }
    if (m->tier && strlen(m->tier) > PP_TIER_MAX) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "tier must be at most %d bytes", PP_TIER_MAX);
        goto out;
    }
    if (!copy_str(ev->u.lc.tier, sizeof ev->u.lc.tier, m->tier) ||
        !copy_str(ev->u.lc.owner, sizeof ev->u.lc.owner, m->owner) ||
        !copy_str(ev->u.lc.display_name, sizeof ev->u.lc.display_name, m->display_name)) {
        r = pp_event_reject(why, why_len, PP_REJ_STRING, "tier, owner and display_name must be at most %d bytes",
                 PP_TEXT_MAX);
        goto out;
    }
    if (!name_ok(m->timezone, PP_EVENT_ZONE_MAX, "/_+-") ||
        !copy_str(ev->u.lc.timezone, sizeof ev->u.lc.timezone, m->timezone)) {
        r = pp_event_reject(why, why_len, PP_REJ_TIMEZONE, "timezone must be an IANA zone name such as Europe/Berlin "
                 "(at most %d bytes of letters, digits and /_+-)", PP_EVENT_ZONE_MAX);
        goto out;
    }
    if (!name_ok(m->calendar, PP_EVENT_CAL_MAX, "_.-") ||
        !copy_str(ev->u.lc.calendar, sizeof ev->u.lc.calendar, m->calendar)) {
        r = pp_event_reject(why, why_len, PP_REJ_CALENDAR, "calendar must name a [calendar:NAME] section "
                 "(at most %d bytes of letters, digits and _.-)", PP_EVENT_CAL_MAX);
        goto out;
    }
    if ((int)m->kind == PP_LC_SNOOZE) {
        int rule = -1;
        for (int i = 0; i < PP_R_COUNT; i++)
            if (m->snooze_rule && strcmp(m->snooze_rule, pp_rule_name((pp_rule_t)i)) == 0)
                rule = i;
        if (rule < 0) {
            r = pp_event_reject(why, why_len, PP_REJ_STRING, "SNOOZE needs snooze_rule set to a rule name (docs/alerts.md)");
            goto out;
        }
        if (m->snooze_until_ms < 0) {
            r = pp_event_reject(why, why_len, PP_REJ_TIME, "snooze_until_ms must be >= 0");
            goto out;
        }
        ev->u.lc.snooze_rule = rule;
        ev->u.lc.snooze_until_ms = m->snooze_until_ms;
    }
    ev->topic = PP_TOPIC_LIFECYCLE;
    ev->u.lc.kind = (int)m->kind;
    ev->u.lc.partner_type = (int)m->partner_type;
out:
    (void)m; /* the arena is released by pp_event_decode */
    return r;
}

pp_reject_t pp_event_decode(pp_topic_t topic, const uint8_t *buf, size_t len, const char *key,
                            size_t key_len, const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev,
                            char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (len > lim->max_message_bytes)
        return pp_event_reject(why, why_len, PP_REJ_OVERSIZE, "message of %zu bytes exceeds the limit of %zu",
                    len, lim->max_message_bytes);
    if (buf == NULL && len > 0)
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "no payload");
    static const uint8_t empty[1] = {0};
    if (buf == NULL)
        buf = empty;
    pp_event_t tmp;
    memset(&tmp, 0, sizeof tmp);
    arena_t arena;
    arena.used = 0;
    arena.spill = NULL;
    ProtobufCAllocator al = {arena_alloc, arena_free, &arena};
    pp_reject_t r;
    switch (topic) {
    case PP_TOPIC_DEALS:
        r = decode_deal(&al, buf, len, key, key_len, lim, now_ms, &tmp, why, why_len);
        break;
    case PP_TOPIC_REFERRALS:
        r = decode_referral(&al, buf, len, key, key_len, lim, now_ms, &tmp, why, why_len);
        break;
    case PP_TOPIC_ENGAGEMENTS:
        r = decode_engagement(&al, buf, len, key, key_len, lim, now_ms, &tmp, why, why_len);
        break;
    case PP_TOPIC_LIFECYCLE:
        r = decode_partner(&al, buf, len, key, key_len, lim, now_ms, &tmp, why, why_len);
        break;
    default:
        return pp_event_reject(why, why_len, PP_REJ_UNDECODABLE, "unknown input topic");
    }
    arena_release(&arena);
    if (r == PP_OK)
        *ev = tmp;
    return r;
}
