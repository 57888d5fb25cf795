/*
 * fuzz_state_blob: fuzz target for pp_partner_decode(), the reader of the
 * partner state blob the daemon loads from Redis (pp:state:{<id>}).
 *
 * The input is the blob, as Redis would return it. Invariants:
 *   - any input: decode returns 0, -EBADMSG (corrupt) or -EPROTO (a version
 *     it cannot read, which pp_partner_blob_version then names) and never
 *     crashes; on an error *st is untouched (pp_partner.h).
 *   - on success: the id is a valid partner id, NUL-terminated in its field;
 *     so is every other string of the state (the daemon formats them with
 *     %s and copies them whole); bool fields hold 0 or 1 (anything else is
 *     undefined behaviour on load); ring positions are inside their rings;
 *     re-encoding gives back the same bytes;
 *     the state accepts one event of each topic (what the daemon does with
 *     a state it loaded) without undefined behaviour.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pp_partner.h"

static bool bounded(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* One valid event of each topic for partner `id` (as pp_event_decode would produce). */
static pp_event_t sample_event(pp_topic_t topic, const char *id)
{
    pp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = topic;
    snprintf(ev.partner_id, sizeof ev.partner_id, "%s", id);
    snprintf(ev.event_id, sizeof ev.event_id, "fuzz-%d", (int)topic);
    ev.occurred_at_ms = PP_FUZZ_NOW_MS - 3600000;
    switch (topic) {
    case PP_TOPIC_DEALS:
        ev.u.deal.deal = pp_hash_str(PP_FUZZ_DEAL_ID);
        ev.u.deal.stage = PP_STAGE_QUALIFIED;
        ev.u.deal.attribution = PP_ATTR_SOURCED;
        ev.u.deal.amount_minor = 100000;
        memcpy(ev.u.deal.currency, "USD", 4);
        break;
    case PP_TOPIC_REFERRALS:
        ev.u.referral.referral = pp_hash_str("fuzz-ref");
        ev.u.referral.direction = PP_REF_TO_US;
        ev.u.referral.status = PP_REF_SENT;
        break;
    case PP_TOPIC_ENGAGEMENTS:
        ev.u.eng.thread = pp_hash_str(PP_FUZZ_THREAD_ID);
        ev.u.eng.direction = PP_DIR_INBOUND;
        ev.u.eng.kind = PP_KIND_MESSAGE;
        break;
    default:
        ev.u.lc.kind = PP_LC_TIER_CHANGED;
        memcpy(ev.u.lc.tier, "gold", 5);
        break;
    }
    return ev;
}

/* A bool's byte as stored, read without loading it as a bool. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pp_partner_t st, sentinel; /* ~2 KiB each: static, off the stack */
    static uint8_t blob[2 * 4096 + 64];
    memset(&sentinel, 0xA5, sizeof sentinel);
    memcpy(&st, &sentinel, sizeof st);

    int rc = pp_partner_decode(data, size, &st);
    if (rc != 0) {
        PP_FUZZ_CHECK(rc == -EBADMSG || rc == -EPROTO);
        if (rc == -EPROTO) /* ours, of a version this code does not read */
            PP_FUZZ_CHECK(pp_partner_blob_version(data, size) >= 0 &&
                          pp_partner_blob_version(data, size) != PP_STATE_VERSION);
        PP_FUZZ_CHECK(memcmp(&st, &sentinel, sizeof st) == 0);
        return 0;
    }

    PP_FUZZ_CHECK(size <= pp_partner_blob_size());
    PP_FUZZ_CHECK(bounded(st.id, sizeof st.id));
    PP_FUZZ_CHECK(pp_partner_id_valid(st.id, strlen(st.id)));
    PP_FUZZ_CHECK(bounded(st.last_event_id, sizeof st.last_event_id));
    PP_FUZZ_CHECK(bounded(st.tier, sizeof st.tier));
    PP_FUZZ_CHECK(bounded(st.owner, sizeof st.owner));
    PP_FUZZ_CHECK(bounded(st.display_name, sizeof st.display_name));
    for (size_t i = 0; i < sizeof st.evidence / sizeof st.evidence[0]; i++)
        PP_FUZZ_CHECK(bounded(st.evidence[i], sizeof st.evidence[i]));
    PP_FUZZ_CHECK(st.exited <= 1);
    PP_FUZZ_CHECK(st.resp_partner_next < PP_SAMPLES_MAX); /* ring write positions */
    PP_FUZZ_CHECK(st.resp_us_next < PP_SAMPLES_MAX);

    /* Round trip: what was read is what gets written back. */
    PP_FUZZ_CHECK(pp_partner_blob_size() <= sizeof blob);
    size_t n = pp_partner_encode(&st, blob, sizeof blob);
    pp_partner_t again;
    /* the coding of zero runs is not unique (two short runs = one long one):
     * compare what the bytes mean, not the bytes */
    PP_FUZZ_CHECK(n > 0 && pp_partner_decode(blob, n, &again) == 0 && memcmp(&again, &st, sizeof st) == 0);

    /* What the daemon does next with a loaded state: apply events to it. */
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        pp_event_t ev = sample_event((pp_topic_t)t, st.id);
        PP_FUZZ_CHECK(pp_partner_apply(&st, &ev, 0, 1000 + t, PP_FUZZ_NOW_MS, NULL) == 0);
        PP_FUZZ_CHECK(pp_partner_already_applied(&st, (pp_topic_t)t, 0, 1000 + t));
    }
    (void)pp_partner_health(&st);
    (void)pp_partner_pipeline_minor(&st);
    (void)pp_partner_revenue_minor(&st);
    return 0;
}
