/*
 * fuzz_decode: fuzz target for pp_event_decode() on one input topic.
 *
 * Built once per topic with -DPP_FUZZ_TOPIC=PP_TOPIC_DEALS (REFERRALS,
 * ENGAGEMENTS, LIFECYCLE): one target per decoder, each with its own corpus
 * (corpus/<topic>/). Input layout: see PP_FUZZ_KEY_MODE in fuzz.h.
 *
 * Invariants (the decoder's contract in state/pp_event.h and DESIGN §3):
 *   - PP_OK: ev->topic is the topic; partner_id passes pp_partner_id_valid;
 *     every string is NUL-terminated inside its field; every enum is in
 *     range; amounts are within 0..max_amount_minor; occurred_at_ms is within
 *     2000-01-01..now+skew; a Kafka key equal to partner_id is accepted with
 *     the same result and any other key is a key_mismatch. The event is then
 *     applied to a fresh partner, which must accept it.
 *   - rejection: the code is a named reason (pp_reject_name is not
 *     "unknown"), `why` is a non-empty NUL-terminated sentence and *ev was
 *     not touched.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pp_event.h"
#include "pp_partner.h"

#ifndef PP_FUZZ_TOPIC
#error "build with -DPP_FUZZ_TOPIC=PP_TOPIC_DEALS (or _REFERRALS, _ENGAGEMENTS, _LIFECYCLE)"
#endif

#define DUE_MAX_MS 4102444800000LL /* 2100-01-01, the decoder's bound for due_at_ms */
#define WHY_LEN 256

/* True when s holds a NUL inside its cap bytes (string bounded by its field). */
static bool bounded(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_deal(const pp_event_t *ev, const pp_limits_t *lim)
{
    PP_FUZZ_CHECK(ev->u.deal.stage >= PP_STAGE_REGISTERED && ev->u.deal.stage <= PP_STAGE_LOST);
    PP_FUZZ_CHECK(ev->u.deal.attribution == PP_ATTR_SOURCED ||
                  ev->u.deal.attribution == PP_ATTR_INFLUENCED);
    PP_FUZZ_CHECK(ev->u.deal.amount_minor >= 0 && ev->u.deal.amount_minor <= lim->max_amount_minor);
    PP_FUZZ_CHECK(ev->u.deal.deal != 0); /* deal_id is required */
    PP_FUZZ_CHECK(bounded(ev->u.deal.currency, sizeof ev->u.deal.currency));
    size_t clen = strlen(ev->u.deal.currency);
    PP_FUZZ_CHECK(clen == 0 || clen == 3);
}

static void check_referral(const pp_event_t *ev, const pp_limits_t *lim)
{
    PP_FUZZ_CHECK(ev->u.referral.direction == PP_REF_TO_US ||
                  ev->u.referral.direction == PP_REF_TO_PARTNER);
    PP_FUZZ_CHECK(ev->u.referral.status >= PP_REF_SENT && ev->u.referral.status <= PP_REF_REJECTED);
    PP_FUZZ_CHECK(ev->u.referral.value_minor >= 0 &&
                  ev->u.referral.value_minor <= lim->max_amount_minor);
    PP_FUZZ_CHECK(bounded(ev->u.referral.currency, sizeof ev->u.referral.currency));
    size_t clen = strlen(ev->u.referral.currency);
    PP_FUZZ_CHECK(clen == 0 || clen == 3);
}

static void check_engagement(const pp_event_t *ev)
{
    int kind = ev->u.eng.kind;
    PP_FUZZ_CHECK(ev->u.eng.direction == PP_DIR_INBOUND || ev->u.eng.direction == PP_DIR_OUTBOUND);
    PP_FUZZ_CHECK(kind >= PP_KIND_MESSAGE && kind <= PP_KIND_REQUEST);
    if (kind == PP_KIND_COMMITMENT_MADE || kind == PP_KIND_COMMITMENT_DELIVERED ||
        kind == PP_KIND_COMMITMENT_MISSED)
        PP_FUZZ_CHECK(ev->u.eng.commitment != 0);
    PP_FUZZ_CHECK(ev->u.eng.due_at_ms == 0 ||
                  (ev->u.eng.due_at_ms >= PP_MIN_TIME_MS && ev->u.eng.due_at_ms <= DUE_MAX_MS));
}

static void check_lifecycle(const pp_event_t *ev)
{
    PP_FUZZ_CHECK(ev->u.lc.kind >= PP_LC_SIGNED && ev->u.lc.kind <= PP_LC_PROFILE_CHANGED);
    PP_FUZZ_CHECK(ev->u.lc.partner_type >= PP_PTYPE_NONE && ev->u.lc.partner_type <= PP_PTYPE_CO_SELL);
    PP_FUZZ_CHECK(bounded(ev->u.lc.tier, sizeof ev->u.lc.tier));
    PP_FUZZ_CHECK(strlen(ev->u.lc.tier) <= PP_TIER_MAX); /* what the state keeps */
    if (ev->u.lc.kind == PP_LC_SNOOZE) {
        PP_FUZZ_CHECK(ev->u.lc.snooze_rule >= 0 && ev->u.lc.snooze_rule < PP_R_COUNT);
        PP_FUZZ_CHECK(ev->u.lc.snooze_until_ms >= 0);
    }
    PP_FUZZ_CHECK(bounded(ev->u.lc.owner, sizeof ev->u.lc.owner));
    PP_FUZZ_CHECK(bounded(ev->u.lc.display_name, sizeof ev->u.lc.display_name));
}

/* Everything PP_OK promises about *ev. */
static void check_event(const pp_event_t *ev, const pp_limits_t *lim)
{
    PP_FUZZ_CHECK(ev->topic == PP_FUZZ_TOPIC);
    PP_FUZZ_CHECK(bounded(ev->partner_id, sizeof ev->partner_id));
    PP_FUZZ_CHECK(pp_partner_id_valid(ev->partner_id, strlen(ev->partner_id)));
    PP_FUZZ_CHECK(bounded(ev->event_id, sizeof ev->event_id));
    PP_FUZZ_CHECK(ev->event_id[0] != '\0');
    PP_FUZZ_CHECK(ev->occurred_at_ms >= PP_MIN_TIME_MS);
    PP_FUZZ_CHECK(ev->occurred_at_ms <= PP_FUZZ_NOW_MS + lim->max_future_skew_ms);
    switch (PP_FUZZ_TOPIC) {
    case PP_TOPIC_DEALS:
        check_deal(ev, lim);
        break;
    case PP_TOPIC_REFERRALS:
        check_referral(ev, lim);
        break;
    case PP_TOPIC_ENGAGEMENTS:
        check_engagement(ev);
        break;
    case PP_TOPIC_LIFECYCLE:
        check_lifecycle(ev);
        break;
    default:
        PP_FUZZ_CHECK(PP_FUZZ_TOPIC >= 0 && PP_FUZZ_TOPIC < PP_TOPIC_COUNT);
    }
}

/* Field-wise equality of two events of PP_FUZZ_TOPIC (padding is not compared). */
static bool event_equal(const pp_event_t *a, const pp_event_t *b)
{
    if (a->topic != b->topic || strcmp(a->event_id, b->event_id) != 0 ||
        strcmp(a->partner_id, b->partner_id) != 0 || a->occurred_at_ms != b->occurred_at_ms)
        return false;
    switch (PP_FUZZ_TOPIC) {
    case PP_TOPIC_DEALS:
        return a->u.deal.deal == b->u.deal.deal && a->u.deal.stage == b->u.deal.stage &&
               a->u.deal.attribution == b->u.deal.attribution &&
               a->u.deal.amount_minor == b->u.deal.amount_minor &&
               strcmp(a->u.deal.currency, b->u.deal.currency) == 0;
    case PP_TOPIC_REFERRALS:
        return a->u.referral.referral == b->u.referral.referral &&
               a->u.referral.direction == b->u.referral.direction &&
               a->u.referral.status == b->u.referral.status &&
               a->u.referral.value_minor == b->u.referral.value_minor &&
               strcmp(a->u.referral.currency, b->u.referral.currency) == 0;
    case PP_TOPIC_ENGAGEMENTS:
        return a->u.eng.thread == b->u.eng.thread && a->u.eng.commitment == b->u.eng.commitment &&
               a->u.eng.direction == b->u.eng.direction && a->u.eng.kind == b->u.eng.kind &&
               a->u.eng.due_at_ms == b->u.eng.due_at_ms && a->u.eng.automated == b->u.eng.automated;
    case PP_TOPIC_LIFECYCLE:
        return a->u.lc.kind == b->u.lc.kind && a->u.lc.partner_type == b->u.lc.partner_type &&
               strcmp(a->u.lc.tier, b->u.lc.tier) == 0 && strcmp(a->u.lc.owner, b->u.lc.owner) == 0 &&
               strcmp(a->u.lc.display_name, b->u.lc.display_name) == 0 &&
               (a->u.lc.kind != PP_LC_SNOOZE || (a->u.lc.snooze_rule == b->u.lc.snooze_rule &&
                                                 a->u.lc.snooze_until_ms == b->u.lc.snooze_until_ms));
    default:
        return false;
    }
}

/* Decode with a sentinel-filled *ev; check the rejection contract. Returns the code. */
static pp_reject_t decode(const uint8_t *buf, size_t len, const char *key, size_t key_len,
                          const pp_limits_t *lim, pp_event_t *ev)
{
    static pp_event_t sentinel; /* static: 0xA5 bytes, built once */
    static bool sentinel_ready;
    if (!sentinel_ready) {
        memset(&sentinel, 0xA5, sizeof sentinel);
        sentinel_ready = true;
    }
    char why[WHY_LEN];
    memset(why, 0x5A, sizeof why);
    memcpy(ev, &sentinel, sizeof *ev);
    pp_reject_t r = pp_event_decode(PP_FUZZ_TOPIC, buf, len, key, key_len, lim, PP_FUZZ_NOW_MS, ev,
                                    why, sizeof why);
    PP_FUZZ_CHECK(r >= PP_OK && r < PP_REJ_COUNT);
    PP_FUZZ_CHECK(strcmp(pp_reject_name(r), "unknown") != 0);
    PP_FUZZ_CHECK(bounded(why, sizeof why));
    if (r != PP_OK) {
        PP_FUZZ_CHECK(why[0] != '\0');
        PP_FUZZ_CHECK(memcmp(ev, &sentinel, sizeof *ev) == 0); /* *ev untouched */
    }
    return r;
}

/* What the daemon does next with a valid event: apply it to its partner's state. */
static void apply_to_fresh_partner(const pp_event_t *ev)
{
    static pp_partner_t st; /* ~2 KiB: keep it off the stack */
    pp_partner_init(&st, ev->partner_id);
    PP_FUZZ_CHECK(pp_partner_apply(&st, ev, 0, 42, PP_FUZZ_NOW_MS, NULL) == 0);
    PP_FUZZ_CHECK(st.events_applied == 1);
    PP_FUZZ_CHECK(pp_partner_already_applied(&st, PP_FUZZ_TOPIC, 0, 42));
    PP_FUZZ_CHECK(pp_partner_pipeline_minor(&st) >= 0 && pp_partner_revenue_minor(&st) >= 0);

    pp_partner_init(&st, ev->partner_id[0] == 'x' ? "y" : "x"); /* another partner */
    PP_FUZZ_CHECK(pp_partner_apply(&st, ev, 0, 43, PP_FUZZ_NOW_MS, NULL) == -EINVAL);
    PP_FUZZ_CHECK(st.events_applied == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_limits_t lim;
    pp_limits_default(&lim);
    lim.max_message_bytes = PP_FUZZ_MAX_MESSAGE_BYTES;
    pp_event_t ev, again;

    if (size == 0) { /* a message without payload (Kafka allows a NULL value) */
        decode(NULL, 0, NULL, 0, &lim, &ev);
        return 0;
    }
    const uint8_t *payload = data + 1;
    size_t len = size - 1;
    if (data[0] >= PP_FUZZ_KEY_MODE) {
        size_t key_len = data[0] - PP_FUZZ_KEY_MODE;
        if (key_len > len)
            key_len = len;
        const char *key = (const char *)payload;
        if (decode(payload + key_len, len - key_len, key, key_len, &lim, &ev) == PP_OK) {
            check_event(&ev, &lim);
            PP_FUZZ_CHECK(key_len == strlen(ev.partner_id) && memcmp(key, ev.partner_id, key_len) == 0);
            apply_to_fresh_partner(&ev);
        }
        return 0;
    }

    if (decode(payload, len, NULL, 0, &lim, &ev) != PP_OK)
        return 0;
    check_event(&ev, &lim);
    apply_to_fresh_partner(&ev);

    /* The same message keyed by its partner_id decodes to the same event ... */
    size_t plen = strlen(ev.partner_id);
    PP_FUZZ_CHECK(decode(payload, len, ev.partner_id, plen, &lim, &again) == PP_OK);
    PP_FUZZ_CHECK(event_equal(&ev, &again));
    /* ... and under any other key it is refused as a key mismatch. */
    char key[PP_ID_MAX + 2];
    memcpy(key, ev.partner_id, plen);
    key[plen] = '_';
    PP_FUZZ_CHECK(decode(payload, len, key, plen + 1, &lim, &again) == PP_REJ_KEY_MISMATCH);
    key[0] = key[0] == 'a' ? 'b' : 'a';
    PP_FUZZ_CHECK(decode(payload, len, key, plen, &lim, &again) == PP_REJ_KEY_MISMATCH);
    return 0;
}
