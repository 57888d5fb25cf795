/*
 * make_corpus: the seed corpus of the fuzz targets, as code.
 *
 *   fuzz_make_corpus write DIR   (re)write every seed into DIR/corpus/<target>/
 *                                and DIR/findings/<target>/ (DIR = tests/fuzz)
 *   fuzz_make_corpus check DIR   exit 1 when one of them is missing or differs
 *   fuzz_make_corpus fixture FILE
 *                                write the blob of a partner with rich state
 *                                (fixture_partner below), in the current blob
 *                                version, to FILE: tests/fixtures/state_v<N>.bin
 *                                (tests/unit/test_upgrade.c reads every kept
 *                                version; write the new one after a layout change)
 *
 * The seeds are checked in so that ctest replays them without running this
 * program; `check` (ctest fuzz_corpus_up_to_date) notices when the proto or
 * the state blob layout changed and the seeds must be regenerated. Other
 * files in those directories (raw fuzzer finds kept as regression tests) are
 * left alone by both modes.
 *
 * findings/ holds reproducers of open fuzzer findings, rebuilt here from the
 * crash files by patching the named field of a valid blob (so they follow
 * layout changes, which raw crash files of the state blob do not). When the
 * fix lands, switch their folder to "corpus" below (FINDINGS) and regenerate.
 *
 * Event seeds use the input layout of fuzz.h (first byte: key mode). Each
 * target gets valid messages of every shape plus the edge cases: empty,
 * truncated, another topic's message, a huge length varint, unknown and
 * unspecified enums, bad partner ids, out-of-range times and amounts,
 * over-long strings, key mismatch, oversize.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "partnerpulse.pb-c.h"
#include "pp_engine.h"
#include "pp_event.h"
#include "pp_partner.h"

#define T_MS (PP_FUZZ_NOW_MS - 3600000LL) /* an hour before "now" */
#define DAY_MS 86400000LL
#define SEED_MAX 16384

#define CORPUS "corpus"
#define FINDINGS "findings"

/* Where seeds go, and what went wrong so far. */
struct sink {
    const char *dir; /* tests/fuzz */
    const char *sub; /* CORPUS or FINDINGS: where emit() writes now */
    bool check;      /* compare instead of write */
    int bad;         /* seeds missing, different or not written */
    int count;       /* seeds handled */
};

/* A seed being built. */
struct bytes {
    uint8_t b[SEED_MAX];
    size_t n;
};

/* protobuf-c wants char *; it never writes through it. */
static char *S(const char *s)
{
    return (char *)s;
}

static void add(struct bytes *o, const void *p, size_t n)
{
    if (o->n + n > sizeof o->b)
        abort(); /* a seed larger than SEED_MAX is a bug of this file */
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void add_byte(struct bytes *o, uint8_t v)
{
    add(o, &v, 1);
}

static void add_varint(struct bytes *o, uint64_t v)
{
    while (v >= 0x80) {
        add_byte(o, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    add_byte(o, (uint8_t)v);
}

static void add_msg(struct bytes *o, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (o->n + n > sizeof o->b)
        abort();
    o->n += protobuf_c_message_pack(m, o->b + o->n);
}

/* Key-mode prefix of fuzz.h: no key (key == NULL) or the given key. */
static void add_key(struct bytes *o, const char *key)
{
    if (key == NULL) {
        add_byte(o, 0);
        return;
    }
    size_t n = strlen(key);
    if (n > 0xFFu - PP_FUZZ_KEY_MODE)
        abort();
    add_byte(o, (uint8_t)(PP_FUZZ_KEY_MODE + n));
    add(o, key, n);
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* Write or check one seed: DIR/sub/target/name. */
static void emit(struct sink *s, const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    s->count++;
    snprintf(path, sizeof path, "%s/%s", s->dir, s->sub);
    int rc = s->check ? 0 : mkdir_p(path);
    snprintf(path, sizeof path, "%s/%s/%s", s->dir, s->sub, target);
    if (rc == 0 && !s->check)
        rc = mkdir_p(path);
    if (rc != 0) {
        fprintf(stderr, "make_corpus: cannot create %s: %s\n", path, strerror(-rc));
        s->bad++;
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s/%s", s->dir, s->sub, target, name);
    if (s->check) {
        static uint8_t have[SEED_MAX + 1];
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(have, 1, sizeof have, f) : 0;
        if (f == NULL || got != n || (n > 0 && memcmp(have, p, n) != 0)) {
            fprintf(stderr, "make_corpus: %s is %s\n", path, f ? "out of date" : "missing");
            s->bad++;
        }
        if (f)
            fclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n)) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        s->bad++;
    }
    if (f != NULL && fclose(f) != 0)
        s->bad++;
}

static void emit_bytes(struct sink *s, const char *target, const char *name, const struct bytes *o)
{
    emit(s, target, name, o->b, o->n);
}

/* A message under the given key (NULL: no key). */
static void emit_msg(struct sink *s, const char *target, const char *name, const ProtobufCMessage *m,
                     const char *key)
{
    static struct bytes o;
    o.n = 0;
    add_key(&o, key);
    add_msg(&o, m);
    emit_bytes(s, target, name, &o);
}

/* A message without key, cut to `keep` bytes of payload. */
static void emit_truncated(struct sink *s, const char *target, const char *name,
                           const ProtobufCMessage *m, size_t keep)
{
    static struct bytes o;
    o.n = 0;
    add_key(&o, NULL);
    add_msg(&o, m);
    if (1 + keep < o.n)
        o.n = 1 + keep;
    emit_bytes(s, target, name, &o);
}

/* A message followed by extra raw fields (unknown or duplicate). */
static void emit_msg_plus(struct sink *s, const char *target, const char *name,
                          const ProtobufCMessage *m, const struct bytes *extra)
{
    static struct bytes o;
    o.n = 0;
    add_key(&o, NULL);
    add_msg(&o, m);
    add(&o, extra->b, extra->n);
    emit_bytes(s, target, name, &o);
}

/* Edge cases every event target gets. `valid` is a good message of the target's type. */
static void emit_common_edges(struct sink *s, const char *target, const ProtobufCMessage *valid)
{
    static struct bytes o;

    emit(s, target, "edge-empty", NULL, 0);
    o.n = 0;
    add_key(&o, NULL);
    emit_bytes(s, target, "edge-empty-payload", &o);

    emit_truncated(s, target, "edge-truncated-in-string", valid, 12);

    /* partner_id (field 2, length-delimited) claiming 2^32-1 bytes. */
    o.n = 0;
    add_key(&o, NULL);
    add_byte(&o, 0x12);
    add_varint(&o, 0xFFFFFFFFu);
    add(&o, "acme", 4);
    emit_bytes(s, target, "edge-huge-length-varint", &o);

    /* Wire type 7 does not exist. */
    o.n = 0;
    add_key(&o, NULL);
    add(&o, "\x0f\xff\xff\xff\xff\x0f\x01", 7);
    emit_bytes(s, target, "edge-garbage", &o);

    /* A valid message under another partner's key. */
    emit_msg(s, target, "edge-key-mismatch", valid, "other-partner");

    /* A valid message, padded past PP_FUZZ_MAX_MESSAGE_BYTES with an unknown field 60. */
    o.n = 0;
    add_key(&o, NULL);
    add_msg(&o, valid);
    add_varint(&o, (60 << 3) | 2);
    add_varint(&o, PP_FUZZ_MAX_MESSAGE_BYTES);
    for (int i = 0; i < PP_FUZZ_MAX_MESSAGE_BYTES; i++)
        add_byte(&o, 'x');
    emit_bytes(s, target, "edge-oversize", &o);

    /* An unknown field outside every type's range is ignored (forward compatibility). */
    o.n = 0;
    add_varint(&o, (60 << 3) | 0);
    add_varint(&o, 7);
    emit_msg_plus(s, target, "valid-unknown-field-60", valid, &o);

    /* A second partner_id: protobuf keeps the last one. */
    o.n = 0;
    add_byte(&o, 0x12);
    add_varint(&o, 6);
    add(&o, "zeta-9", 6);
    emit_msg_plus(s, target, "valid-duplicate-partner-id", valid, &o);

    /* A partner_id with an embedded NUL. */
    o.n = 0;
    add_byte(&o, 0x12);
    add_varint(&o, 9);
    add(&o, "acme\0evil", 9);
    emit_msg_plus(s, target, "edge-partner-id-embedded-nul", valid, &o);
}

/* The common three fields, and their edge cases, on a message given as its fields. */
struct common_view {
    char **event_id;
    char **partner_id;
    int64_t *occurred_at_ms;
};

static void emit_common_field_edges(struct sink *s, const char *target, ProtobufCMessage *m,
                                    struct common_view v)
{
    static char long129[PP_ID_MAX + 2], long128[PP_ID_MAX + 1];
    memset(long129, 'p', PP_ID_MAX + 1);
    memset(long128, 'p', PP_ID_MAX);
    char *eid = *v.event_id, *pid = *v.partner_id;
    int64_t t = *v.occurred_at_ms;

    *v.partner_id = S("acme 1");
    emit_msg(s, target, "edge-partner-id-space", m, NULL);
    *v.partner_id = long129;
    emit_msg(s, target, "edge-partner-id-129", m, NULL);
    *v.partner_id = long128;
    *v.event_id = long128;
    emit_msg(s, target, "valid-ids-128", m, NULL);
    *v.partner_id = pid;

    *v.event_id = S("");
    emit_msg(s, target, "edge-event-id-missing", m, NULL);
    *v.event_id = eid;

    *v.occurred_at_ms = PP_MIN_TIME_MS - 1;
    emit_msg(s, target, "edge-time-1999", m, NULL);
    *v.occurred_at_ms = PP_FUZZ_NOW_MS + 2 * DAY_MS;
    emit_msg(s, target, "edge-time-future", m, NULL);
    *v.occurred_at_ms = t;
}

static void deals(struct sink *s)
{
    const char *tg = "deals";
    Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
    m.event_id = S("ev-d-1");
    m.partner_id = S("acme-1");
    m.occurred_at_ms = T_MS;
    m.deal_id = S("deal-1");
    m.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__REGISTERED;
    m.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED;
    m.amount_minor = 2500000;
    m.currency = S("USD");
    emit_msg(s, tg, "valid-registered-sourced", &m.base, NULL);

    Partnerpulse__V1__DealEvent v = m;
    v.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__QUALIFIED;
    v.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__INFLUENCED;
    emit_msg(s, tg, "valid-qualified-influenced-keyed", &v.base, "acme-1");
    v = m;
    v.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__PROPOSAL;
    v.amount_minor = 100000000000000LL; /* the default maximum */
    v.currency = S("EUR");
    emit_msg(s, tg, "valid-proposal-max-amount", &v.base, NULL);
    v = m;
    v.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__WON;
    emit_msg(s, tg, "valid-won", &v.base, "acme-1");
    v = m;
    v.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__LOST;
    v.currency = S("");
    v.amount_minor = 0;
    emit_msg(s, tg, "valid-lost-no-currency-no-amount", &v.base, NULL);

    v = m;
    v.stage = (Partnerpulse__V1__DealEvent__Stage)99;
    emit_msg(s, tg, "edge-stage-unknown", &v.base, NULL);
    v.stage = (Partnerpulse__V1__DealEvent__Stage)-1;
    emit_msg(s, tg, "edge-stage-negative", &v.base, NULL);
    v = m;
    v.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__ATTRIBUTION_UNSPECIFIED;
    emit_msg(s, tg, "edge-attribution-unspecified", &v.base, NULL);
    v = m;
    v.amount_minor = -1;
    emit_msg(s, tg, "edge-amount-negative", &v.base, NULL);
    v.amount_minor = 100000000000000LL + 1;
    emit_msg(s, tg, "edge-amount-over-max", &v.base, NULL);
    v = m;
    v.currency = S("US");
    emit_msg(s, tg, "edge-currency-2-letters", &v.base, NULL);
    v = m;
    v.deal_id = S("");
    emit_msg(s, tg, "edge-deal-id-missing", &v.base, NULL);
    static char long129[PP_ID_MAX + 2];
    memset(long129, 'e', PP_ID_MAX + 1);
    v = m;
    v.event_id = long129;
    emit_msg(s, tg, "edge-event-id-129", &v.base, NULL);

    Partnerpulse__V1__ReferralEvent r = PARTNERPULSE__V1__REFERRAL_EVENT__INIT;
    r.event_id = S("ev-r-1");
    r.partner_id = S("acme-1");
    r.occurred_at_ms = T_MS;
    r.referral_id = S("ref-1");
    r.direction = PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_US;
    r.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__SENT;
    emit_msg(s, tg, "edge-wrong-topic-referral", &r.base, NULL);

    v = m;
    emit_common_field_edges(s, tg, &v.base,
                            (struct common_view){&v.event_id, &v.partner_id, &v.occurred_at_ms});
    emit_common_edges(s, tg, &m.base);
}

static void referrals(struct sink *s)
{
    const char *tg = "referrals";
    Partnerpulse__V1__ReferralEvent m = PARTNERPULSE__V1__REFERRAL_EVENT__INIT;
    m.event_id = S("ev-r-1");
    m.partner_id = S("acme-1");
    m.occurred_at_ms = T_MS;
    m.referral_id = S("ref-1");
    m.direction = PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_US;
    m.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__SENT;
    m.value_minor = 150000;
    emit_msg(s, tg, "valid-sent-to-us", &m.base, NULL);

    Partnerpulse__V1__ReferralEvent v = m;
    v.direction = PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_PARTNER;
    emit_msg(s, tg, "valid-sent-to-partner-keyed", &v.base, "acme-1");
    v = m;
    v.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__ACCEPTED;
    emit_msg(s, tg, "valid-accepted", &v.base, NULL);
    v.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__CONVERTED;
    v.value_minor = 100000000000000LL;
    emit_msg(s, tg, "valid-converted-max-value", &v.base, NULL);
    v = m;
    v.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__REJECTED;
    v.referral_id = S("");
    v.value_minor = 0;
    emit_msg(s, tg, "valid-rejected-no-referral-id", &v.base, NULL);
    v = m;
    v.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__CONVERTED;
    v.currency = S("JPY");
    emit_msg(s, tg, "valid-converted-in-yen", &v.base, NULL);
    v.currency = S("usd");
    emit_msg(s, tg, "valid-currency-lower-case", &v.base, NULL); /* 3 bytes: pp_money refuses it later */

    v = m;
    v.direction = (Partnerpulse__V1__ReferralEvent__Direction)3;
    emit_msg(s, tg, "edge-direction-unknown", &v.base, NULL);
    v = m;
    v.status = PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__STATUS_UNSPECIFIED;
    emit_msg(s, tg, "edge-status-unspecified", &v.base, NULL);
    v.status = (Partnerpulse__V1__ReferralEvent__Status)5;
    emit_msg(s, tg, "edge-status-unknown", &v.base, NULL);
    v = m;
    static char long129[PP_ID_MAX + 2];
    memset(long129, 'r', PP_ID_MAX + 1);
    v.referral_id = long129;
    emit_msg(s, tg, "edge-referral-id-129", &v.base, NULL);
    v = m;
    v.event_id = long129;
    emit_msg(s, tg, "edge-event-id-129", &v.base, NULL);
    v = m;
    v.value_minor = -5;
    emit_msg(s, tg, "edge-value-negative", &v.base, NULL);
    v.value_minor = INT64_MAX;
    emit_msg(s, tg, "edge-value-over-max", &v.base, NULL);
    v = m;
    v.currency = S("EU");
    emit_msg(s, tg, "edge-currency-2-letters", &v.base, NULL);
    v.currency = S("EURO");
    emit_msg(s, tg, "edge-currency-4-letters", &v.base, NULL);

    Partnerpulse__V1__EngagementEvent e = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
    e.event_id = S("ev-e-1");
    e.partner_id = S("acme-1");
    e.occurred_at_ms = T_MS;
    e.thread_id = S("th-1");
    e.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__INBOUND;
    e.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MESSAGE;
    emit_msg(s, tg, "edge-wrong-topic-engagement", &e.base, NULL);

    v = m;
    emit_common_field_edges(s, tg, &v.base,
                            (struct common_view){&v.event_id, &v.partner_id, &v.occurred_at_ms});
    emit_common_edges(s, tg, &m.base);
}

static void engagements(struct sink *s)
{
    const char *tg = "engagements";
    Partnerpulse__V1__EngagementEvent m = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
    m.event_id = S("ev-e-1");
    m.partner_id = S("acme-1");
    m.occurred_at_ms = T_MS;
    m.thread_id = S("th-1");
    m.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__INBOUND;
    m.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MESSAGE;
    emit_msg(s, tg, "valid-inbound-message", &m.base, NULL);

    Partnerpulse__V1__EngagementEvent v = m;
    v.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__OUTBOUND;
    emit_msg(s, tg, "valid-outbound-message-keyed", &v.base, "acme-1");
    v.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__INBOUND;
    v.automated = 1;
    emit_msg(s, tg, "valid-inbound-automated", &v.base, NULL);
    v = m;
    v.thread_id = S("");
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MEETING;
    emit_msg(s, tg, "valid-meeting-no-thread", &v.base, NULL);
    v = m;
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MADE;
    v.commitment_id = S("c-1");
    v.due_at_ms = PP_FUZZ_NOW_MS + 7 * DAY_MS;
    emit_msg(s, tg, "valid-commitment-made-due", &v.base, NULL);
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_DELIVERED;
    v.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__OUTBOUND;
    emit_msg(s, tg, "valid-commitment-delivered", &v.base, NULL);
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MISSED;
    v.due_at_ms = 4102444800000LL; /* 2100-01-01, the last allowed */
    emit_msg(s, tg, "valid-commitment-missed-due-2100", &v.base, NULL);
    v = m;
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__REQUEST;
    emit_msg(s, tg, "valid-inbound-request", &v.base, NULL);

    v = m;
    v.kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MADE;
    emit_msg(s, tg, "edge-commitment-without-id", &v.base, NULL);
    v.commitment_id = S("c-1");
    v.due_at_ms = 4102444800000LL + 1;
    emit_msg(s, tg, "edge-due-after-2100", &v.base, NULL);
    v = m;
    v.kind = (Partnerpulse__V1__EngagementEvent__Kind)9;
    emit_msg(s, tg, "edge-kind-unknown", &v.base, NULL);
    v = m;
    v.direction = PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__DIRECTION_UNSPECIFIED;
    emit_msg(s, tg, "edge-direction-unspecified", &v.base, NULL);
    v = m;
    static char long129[PP_ID_MAX + 2];
    memset(long129, 't', PP_ID_MAX + 1);
    v.thread_id = long129;
    emit_msg(s, tg, "edge-thread-id-129", &v.base, NULL);

    Partnerpulse__V1__PartnerEvent p = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    p.event_id = S("ev-p-1");
    p.partner_id = S("acme-1");
    p.occurred_at_ms = T_MS;
    p.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__SIGNED;
    emit_msg(s, tg, "edge-wrong-topic-partner-event", &p.base, NULL);

    v = m;
    emit_common_field_edges(s, tg, &v.base,
                            (struct common_view){&v.event_id, &v.partner_id, &v.occurred_at_ms});
    emit_common_edges(s, tg, &m.base);
}

static void lifecycle(struct sink *s)
{
    const char *tg = "lifecycle";
    Partnerpulse__V1__PartnerEvent m = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    m.event_id = S("ev-p-1");
    m.partner_id = S("acme-1");
    m.occurred_at_ms = T_MS;
    m.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__SIGNED;
    m.partner_type = PARTNERPULSE__V1__PARTNER_EVENT__PARTNER_TYPE__RESELLER;
    m.tier = S("gold");
    m.owner = S("Dana Smith");
    m.display_name = S("Acme Resellers GmbH");
    emit_msg(s, tg, "valid-signed-reseller", &m.base, NULL);

    Partnerpulse__V1__PartnerEvent v = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    v.event_id = S("ev-p-2");
    v.partner_id = S("acme-1");
    v.occurred_at_ms = T_MS;
    v.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__TIER_CHANGED;
    v.tier = S("platinum");
    emit_msg(s, tg, "valid-tier-changed-keyed", &v.base, "acme-1");
    v.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__TYPE_CHANGED;
    v.tier = S("");
    v.partner_type = PARTNERPULSE__V1__PARTNER_EVENT__PARTNER_TYPE__TECHNOLOGY;
    emit_msg(s, tg, "valid-type-changed", &v.base, NULL);
    v.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__OWNER_CHANGED;
    v.partner_type = PARTNERPULSE__V1__PARTNER_EVENT__PARTNER_TYPE__PARTNER_TYPE_UNSPECIFIED;
    v.owner = S("J\xc3\xb6rg M\xc3\xbcller");
    emit_msg(s, tg, "valid-owner-changed-utf8", &v.base, NULL);
    v.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__EXITED;
    v.owner = S("");
    emit_msg(s, tg, "valid-exited", &v.base, NULL);

    v.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__SNOOZE;
    v.snooze_rule = S(pp_rule_name(PP_R_GOING_DARK));
    v.snooze_until_ms = PP_FUZZ_NOW_MS + 7 * DAY_MS;
    emit_msg(s, tg, "valid-snooze-going-dark", &v.base, NULL);
    v.snooze_until_ms = -1;
    emit_msg(s, tg, "edge-snooze-until-negative", &v.base, NULL);
    v.snooze_rule = S("no_such_rule");
    emit_msg(s, tg, "edge-snooze-unknown-rule", &v.base, NULL);

    static char tier_max[PP_TIER_MAX + 2], text128[PP_TEXT_MAX + 1], text129[PP_TEXT_MAX + 2];
    memset(tier_max, 't', PP_TIER_MAX);
    memset(text128, 'n', PP_TEXT_MAX);
    memset(text129, 'n', PP_TEXT_MAX + 1);
    v = m;
    v.tier = tier_max;
    v.owner = text128;
    v.display_name = text128;
    v.partner_type = PARTNERPULSE__V1__PARTNER_EVENT__PARTNER_TYPE__CO_SELL;
    emit_msg(s, tg, "valid-texts-max", &v.base, NULL);
    tier_max[PP_TIER_MAX] = 't';
    v = m;
    v.tier = tier_max;
    emit_msg(s, tg, "edge-tier-over-max", &v.base, NULL);
    v = m;
    v.display_name = text129;
    emit_msg(s, tg, "edge-display-name-129", &v.base, NULL);
    v = m;
    v.kind = (Partnerpulse__V1__PartnerEvent__Kind)(PP_LC_PROFILE_CHANGED + 1);
    emit_msg(s, tg, "edge-kind-unknown", &v.base, NULL);
    v = m;
    v.partner_type = (Partnerpulse__V1__PartnerEvent__PartnerType)5;
    emit_msg(s, tg, "edge-partner-type-unknown", &v.base, NULL);

    Partnerpulse__V1__DealEvent d = PARTNERPULSE__V1__DEAL_EVENT__INIT;
    d.event_id = S("ev-d-1");
    d.partner_id = S("acme-1");
    d.occurred_at_ms = T_MS;
    d.deal_id = S("deal-1");
    d.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__WON;
    d.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED;
    emit_msg(s, tg, "edge-wrong-topic-deal", &d.base, NULL);

    v = m;
    emit_common_field_edges(s, tg, &v.base,
                            (struct common_view){&v.event_id, &v.partner_id, &v.occurred_at_ms});
    emit_common_edges(s, tg, &m.base);
}

/* ---- state blobs ---- */

static pp_event_t ev_common(pp_topic_t topic, const char *pid, const char *eid, int64_t t)
{
    pp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = topic;
    snprintf(ev.partner_id, sizeof ev.partner_id, "%s", pid);
    snprintf(ev.event_id, sizeof ev.event_id, "%s", eid);
    ev.occurred_at_ms = t;
    return ev;
}

static void apply_deal(pp_partner_t *st, const char *deal, int stage, int attr, int64_t amount,
                       int64_t t, int64_t offset)
{
    pp_event_t ev = ev_common(PP_TOPIC_DEALS, st->id, deal, t);
    ev.u.deal.deal = pp_hash_str(deal);
    ev.u.deal.stage = stage;
    ev.u.deal.attribution = attr;
    ev.u.deal.amount_minor = amount;
    memcpy(ev.u.deal.currency, "USD", 4);
    if (pp_partner_apply(st, &ev, 0, offset, t, NULL) != 0)
        abort();
}

static void apply_others(pp_partner_t *st, int64_t t)
{
    pp_event_t ev = ev_common(PP_TOPIC_REFERRALS, st->id, "ev-r", t);
    ev.u.referral.referral = pp_hash_str("ref-1");
    ev.u.referral.direction = PP_REF_TO_US;
    ev.u.referral.status = PP_REF_SENT;
    if (pp_partner_apply(st, &ev, 1, 7, t, NULL) != 0)
        abort();
    ev = ev_common(PP_TOPIC_ENGAGEMENTS, st->id, "ev-e", t);
    ev.u.eng.thread = pp_hash_str(PP_FUZZ_THREAD_ID);
    ev.u.eng.direction = PP_DIR_INBOUND;
    ev.u.eng.kind = PP_KIND_MESSAGE;
    if (pp_partner_apply(st, &ev, 2, 9, t, NULL) != 0)
        abort();
    ev.u.eng.direction = PP_DIR_OUTBOUND; /* our answer: now the thread awaits the partner */
    ev.occurred_at_ms = t + 60000;
    if (pp_partner_apply(st, &ev, 2, 10, t, NULL) != 0)
        abort();
    ev = ev_common(PP_TOPIC_LIFECYCLE, st->id, "ev-p", t);
    ev.u.lc.kind = PP_LC_SIGNED;
    ev.u.lc.partner_type = PP_PTYPE_RESELLER;
    snprintf(ev.u.lc.tier, sizeof ev.u.lc.tier, "gold");
    snprintf(ev.u.lc.owner, sizeof ev.u.lc.owner, "Dana Smith");
    snprintf(ev.u.lc.display_name, sizeof ev.u.lc.display_name, "Acme Resellers GmbH");
    if (pp_partner_apply(st, &ev, 3, 11, t, NULL) != 0)
        abort();
}

static void emit_state(struct sink *s, const char *name, const pp_partner_t *st)
{
    static uint8_t blob[SEED_MAX];
    size_t n = pp_partner_encode(st, blob, sizeof blob);
    if (n == 0)
        abort();
    emit(s, "state_blob", name, blob, n);
}

#define BLOB_HDR 12 /* magic, version, struct size */

/* A valid blob with one byte range overwritten: `at` below the header
 * patches the header bytes; at or above it patches the struct (offset
 * at - header) before it is encoded, since the payload is run-length coded. */
static void emit_state_patched(struct sink *s, const char *name, const pp_partner_t *st,
                               size_t at, const void *p, size_t n)
{
    static uint8_t blob[SEED_MAX];
    static pp_partner_t tmp;
    size_t len;
    if (at >= BLOB_HDR) {
        if (at - BLOB_HDR + n > sizeof tmp)
            abort();
        memcpy(&tmp, st, sizeof tmp);
        memcpy((uint8_t *)&tmp + (at - BLOB_HDR), p, n);
        len = pp_partner_encode(&tmp, blob, sizeof blob);
    } else {
        len = pp_partner_encode(st, blob, sizeof blob);
        if (len == 0 || at + n > BLOB_HDR)
            abort();
        memcpy(blob + at, p, n);
    }
    if (len == 0)
        abort();
    emit(s, "state_blob", name, blob, len);
}

static void state_blob(struct sink *s)
{
    static pp_partner_t st, busy;
    static uint8_t blob[SEED_MAX];
    const size_t hdr = BLOB_HDR;

    pp_partner_init(&st, "acme-1");
    emit_state(s, "valid-fresh", &st);

    busy = st;
    apply_deal(&busy, PP_FUZZ_DEAL_ID, PP_STAGE_QUALIFIED, PP_ATTR_SOURCED, 2500000, T_MS, 1);
    apply_deal(&busy, "deal-2", PP_STAGE_REGISTERED, PP_ATTR_INFLUENCED, 900000, T_MS, 2);
    apply_deal(&busy, "deal-3", PP_STAGE_WON, PP_ATTR_SOURCED, 4000000, T_MS, 3);
    apply_deal(&busy, "deal-4", PP_STAGE_LOST, PP_ATTR_INFLUENCED, 10000, T_MS, 4);
    emit_state(s, "valid-deals", &busy);
    apply_others(&busy, T_MS + 1000);
    emit_state(s, "valid-all-topics", &busy);

    pp_partner_t full = st;
    char deal[32];
    for (int i = 0; i < PP_DEALS_MAX + 3; i++) {
        snprintf(deal, sizeof deal, "deal-%d", i);
        apply_deal(&full, deal, PP_STAGE_REGISTERED, i % 2 ? PP_ATTR_SOURCED : PP_ATTR_INFLUENCED,
                   1000 * (i + 1), T_MS + i, i);
    }
    emit_state(s, "valid-deals-table-full", &full);

    char id128[PP_ID_MAX + 1];
    memset(id128, 'p', PP_ID_MAX);
    id128[PP_ID_MAX] = '\0';
    pp_partner_t longid;
    pp_partner_init(&longid, id128);
    apply_others(&longid, T_MS);
    emit_state(s, "valid-id-128", &longid);

    /* Truncated and extended blobs, wrong header fields. */
    size_t n = pp_partner_encode(&busy, blob, sizeof blob);
    emit(s, "state_blob", "edge-empty", NULL, 0);
    emit(s, "state_blob", "edge-magic-only", blob, 4);
    emit(s, "state_blob", "edge-header-only", blob, hdr);
    emit(s, "state_blob", "edge-truncated-by-1", blob, n - 1);
    blob[n] = 0;
    emit(s, "state_blob", "edge-one-byte-extra", blob, n + 1);
    emit_state_patched(s, "edge-wrong-magic", &busy, 0, "PPSX", 4);
    const uint8_t next_version[4] = {PP_STATE_VERSION + 1, 0, 0, 0};
    emit_state_patched(s, "edge-version-next", &busy, 4, next_version, 4);
    emit_state_patched(s, "edge-version-0", &busy, 4, "\x00\x00\x00\x00", 4);
    const uint8_t smaller[4] = {(uint8_t)(sizeof(pp_partner_t) - 8), (uint8_t)((sizeof(pp_partner_t) - 8) >> 8), 0, 0};
    emit_state_patched(s, "edge-size-field-wrong", &busy, 8, smaller, 4);

    /* Bad ids inside an otherwise valid blob. */
    emit_state_patched(s, "edge-id-empty", &busy, hdr, "", 1);
    emit_state_patched(s, "edge-id-bad-char", &busy, hdr, "acme 1", 7);
    static char unterminated[PP_ID_MAX + 1];
    memset(unterminated, 'a', sizeof unterminated);
    emit_state_patched(s, "edge-id-unterminated", &busy, hdr, unterminated, sizeof unterminated);

    /*
     * Open findings (tests/fuzz/README.md, "Findings"): blobs that decode
     * although the state they hold is unusable. One per signature seen by
     * libFuzzer; each patches one field of a valid blob.
     */
    const char *sub = s->sub;
    s->sub = CORPUS; /* fixed in pp_partner_decode: now regression tests */
#define PATCH(name, field, value)                                                                 \
    do {                                                                                          \
        __typeof__(busy.field) v_ = (value);                                                      \
        emit_state_patched(s, name, &busy, hdr + offsetof(pp_partner_t, field), &v_, sizeof v_); \
    } while (0)
    static char text[sizeof busy.display_name];
    memset(text, 'g', sizeof text); /* no NUL anywhere: strlen/%s run past the field */
    emit_state_patched(s, "tier-unterminated", &busy, hdr + offsetof(pp_partner_t, tier), text,
                       sizeof busy.tier);
    emit_state_patched(s, "owner-unterminated", &busy, hdr + offsetof(pp_partner_t, owner), text,
                       sizeof busy.owner);
    emit_state_patched(s, "display-name-unterminated", &busy,
                       hdr + offsetof(pp_partner_t, display_name), text, sizeof busy.display_name);
    emit_state_patched(s, "last-event-id-unterminated", &busy,
                       hdr + offsetof(pp_partner_t, last_event_id), unterminated,
                       sizeof busy.last_event_id);
    emit_state_patched(s, "evidence-unterminated", &busy,
                       hdr + offsetof(pp_partner_t, evidence[PP_M_COUNT - 1]), text,
                       sizeof busy.evidence[0]);
    const uint8_t two = 2;
    emit_state_patched(s, "exited-not-a-bool", &busy, hdr + offsetof(pp_partner_t, exited), &two, 1);
    PATCH("resp-partner-next-out-of-ring", resp_partner_next, 200);
    PATCH("resp-us-next-out-of-ring", resp_us_next, 255);
    PATCH("pipeline-overflows", pipeline_influenced_minor, INT64_MAX);
    PATCH("revenue-overflows", revenue_won_influenced_minor, INT64_MAX);
    PATCH("head-day-overflows", head_day, INT32_MIN + 1);
#undef PATCH
    s->sub = sub;
}


/* ---- the upgrade fixture (tests/fixtures/state_v<N>.bin) ---- */

#define FX_T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define FX_HOUR 3600000LL

/* The id of event i: every third one a 36-byte UUID (the longest evidence
 * kept whole in version 8), the others short. */
static const char *fx_eid(int i)
{
    static char buf[64];
    if (i % 3 == 0)
        snprintf(buf, sizeof buf, "%08x-58cc-4372-a567-0e02b2c3%04x", 0x1000u + (unsigned)i, (unsigned)i);
    else
        snprintf(buf, sizeof buf, "fx-e%d", i);
    return buf;
}

struct fx {
    pp_policyset_t ps;
    pp_partner_t *st;
    pp_alert_t out[PP_ENGINE_ALERTS_CAP];
    int seq;
    int alerts;
};

static void fx_apply(struct fx *f, pp_event_t ev)
{
    int n = pp_engine_apply(&f->ps, f->st, &ev, ev.topic, 100 + f->seq, ev.occurred_at_ms, f->out);
    if (n < 0)
        abort();
    f->alerts += n;
}

static pp_event_t fx_ev(struct fx *f, pp_topic_t topic, int64_t t)
{
    return ev_common(topic, f->st->id, fx_eid(f->seq++), t);
}

/*
 * A partner with something in every part of the state: profile, deals of
 * every stage (more than the table holds: evictions), referrals both ways,
 * answered and open threads with follow-ups, commitments delivered, missed
 * and open, contributions, a snooze, and alerts fired by the engine. Built
 * through the public API only, so the same code builds it under any layout.
 */
static void fixture_partner(pp_partner_t *st)
{
    static struct fx f;
    memset(&f, 0, sizeof f);
    pp_policyset_default(&f.ps);
    f.st = st;
    pp_partner_init(st, "fixture-partner-1");
    int64_t t = FX_T0;

    pp_event_t ev = fx_ev(&f, PP_TOPIC_LIFECYCLE, t);
    ev.u.lc.kind = PP_LC_SIGNED;
    ev.u.lc.partner_type = PP_PTYPE_RESELLER;
    snprintf(ev.u.lc.tier, sizeof ev.u.lc.tier, "gold");
    snprintf(ev.u.lc.owner, sizeof ev.u.lc.owner, "J\xc3\xb6rg M\xc3\xbcller");
    snprintf(ev.u.lc.display_name, sizeof ev.u.lc.display_name, "Fixture Resellers GmbH");
    fx_apply(&f, ev);

    /* 30 deals over 30 days: every fifth won, every seventh lost, the
     * others open at various stages (the table holds 24: evictions) */
    for (int i = 0; i < 30; i++) {
        char deal[32];
        snprintf(deal, sizeof deal, "deal-%d", i);
        t = FX_T0 + (int64_t)i * 24 * FX_HOUR + 10 * FX_HOUR;
        int stages[3] = {PP_STAGE_REGISTERED, PP_STAGE_QUALIFIED, PP_STAGE_PROPOSAL};
        int last = i % 5 == 0 ? PP_STAGE_WON : i % 7 == 0 ? PP_STAGE_LOST : stages[i % 3];
        for (int k = 0; k < 3; k++) {
            int stage = k == 2 ? last : stages[k];
            if (k > 0 && stage == PP_STAGE_REGISTERED)
                break;
            ev = fx_ev(&f, PP_TOPIC_DEALS, t + k * FX_HOUR);
            ev.u.deal.deal = pp_hash_str(deal);
            ev.u.deal.stage = stage;
            ev.u.deal.attribution = i % 2 ? PP_ATTR_INFLUENCED : PP_ATTR_SOURCED;
            ev.u.deal.amount_minor = 100000 * (i + 1) + k;
            memcpy(ev.u.deal.currency, "USD", 4);
            fx_apply(&f, ev);
            if (stage == last)
                break;
        }
    }

    /* referrals both ways */
    for (int i = 0; i < 6; i++) {
        ev = fx_ev(&f, PP_TOPIC_REFERRALS, FX_T0 + (int64_t)(31 + i) * 24 * FX_HOUR);
        char ref[32];
        snprintf(ref, sizeof ref, "ref-%d", i);
        ev.u.referral.referral = pp_hash_str(ref);
        ev.u.referral.direction = i % 3 == 2 ? PP_REF_TO_PARTNER : PP_REF_TO_US;
        ev.u.referral.status = i % 2 ? PP_REF_CONVERTED : PP_REF_SENT;
        fx_apply(&f, ev);
    }

    /* conversations: we ask, the partner answers after a while (response
     * samples), we ask again and follow up with no answer (open waits) */
    for (int i = 0; i < 14; i++) {
        char thread[32];
        snprintf(thread, sizeof thread, "thr-%d", i);
        t = FX_T0 + (int64_t)(38 + i) * 24 * FX_HOUR + 9 * FX_HOUR;
        ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t);
        ev.u.eng.thread = pp_hash_str(thread);
        ev.u.eng.direction = PP_DIR_OUTBOUND;
        ev.u.eng.kind = PP_KIND_MESSAGE;
        fx_apply(&f, ev);
        ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t + (1 + i % 4) * FX_HOUR);
        ev.u.eng.thread = pp_hash_str(thread);
        ev.u.eng.direction = i < 10 ? PP_DIR_INBOUND : PP_DIR_OUTBOUND; /* the last ones: follow-ups */
        ev.u.eng.kind = PP_KIND_MESSAGE;
        fx_apply(&f, ev);
        if (i % 4 == 1) { /* the partner asks us something back, answered or not */
            ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t + 6 * FX_HOUR);
            ev.u.eng.thread = pp_hash_str(thread);
            ev.u.eng.direction = PP_DIR_INBOUND;
            ev.u.eng.kind = PP_KIND_REQUEST;
            fx_apply(&f, ev);
        }
        if (i % 3 == 0) { /* contributions each way */
            ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t + 7 * FX_HOUR);
            ev.u.eng.direction = i % 2 ? PP_DIR_INBOUND : PP_DIR_OUTBOUND;
            ev.u.eng.kind = i % 2 ? PP_KIND_MEETING : PP_KIND_CO_MARKETING;
            fx_apply(&f, ev);
        }
    }

    /* commitments: made, delivered, missed, open past and future due dates */
    for (int i = 0; i < 8; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "cmt-%d", i);
        t = FX_T0 + (int64_t)(52 + i) * 24 * FX_HOUR;
        ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t);
        ev.u.eng.commitment = pp_hash_str(cid);
        ev.u.eng.direction = i % 3 == 2 ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
        ev.u.eng.kind = PP_KIND_COMMITMENT_MADE;
        ev.u.eng.due_at_ms = t + (int64_t)(2 + i) * 24 * FX_HOUR;
        fx_apply(&f, ev);
        if (i % 4 == 0 || i % 4 == 1) {
            ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, t + FX_HOUR);
            ev.u.eng.commitment = pp_hash_str(cid);
            ev.u.eng.direction = i % 3 == 2 ? PP_DIR_OUTBOUND : PP_DIR_INBOUND;
            ev.u.eng.kind = i % 4 == 0 ? PP_KIND_COMMITMENT_DELIVERED : PP_KIND_COMMITMENT_MISSED;
            fx_apply(&f, ev);
        }
    }

    /* a snooze, then silence long enough for rules to fire by timer */
    ev = fx_ev(&f, PP_TOPIC_LIFECYCLE, FX_T0 + 60 * 24 * FX_HOUR);
    ev.u.lc.kind = PP_LC_SNOOZE;
    ev.u.lc.snooze_rule = PP_R_ONE_SIDED;
    ev.u.lc.snooze_until_ms = FX_T0 + 200 * 24 * FX_HOUR;
    fx_apply(&f, ev);
    int n = pp_engine_advance(&f.ps, st, FX_T0 + 75 * 24 * FX_HOUR, FX_T0 + 75 * 24 * FX_HOUR, f.out);
    if (n < 0)
        abort();
    f.alerts += n;
    ev = fx_ev(&f, PP_TOPIC_ENGAGEMENTS, FX_T0 + 76 * 24 * FX_HOUR);
    ev.u.eng.thread = pp_hash_str("thr-last");
    ev.u.eng.direction = PP_DIR_OUTBOUND;
    ev.u.eng.kind = PP_KIND_MESSAGE;
    fx_apply(&f, ev);
}

/* fuzz_make_corpus fixture FILE: the blob of fixture_partner, and what it holds on stdout. */
static int write_fixture(const char *path)
{
    static pp_partner_t st;
    static uint8_t blob[SEED_MAX];
    fixture_partner(&st);
    size_t n = pp_partner_encode(&st, blob, sizeof blob);
    FILE *fp = n ? fopen(path, "wb") : NULL;
    if (fp == NULL || fwrite(blob, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        return 1;
    }
    printf("make_corpus: version %d blob of %s, %zu bytes, to %s\n", PP_STATE_VERSION, st.id, n, path);
    printf("events_applied=%llu deals_sourced=%u deals_influenced=%u deals_won=%u deals_lost=%u "
           "deals_qualified=%u deals_evicted=%u\n",
           (unsigned long long)st.events_applied, st.deals_sourced, st.deals_influenced, st.deals_won,
           st.deals_lost, st.deals_qualified, st.deals_evicted);
    printf("pipeline_sourced=%lld pipeline_influenced=%lld revenue_sourced=%lld revenue_influenced=%lld\n",
           (long long)st.pipeline_sourced_minor, (long long)st.pipeline_influenced_minor,
           (long long)st.revenue_won_sourced_minor, (long long)st.revenue_won_influenced_minor);
    printf("referrals_to_us=%u referrals_to_partner=%u converted_to_us=%u converted_to_partner=%u\n",
           st.referrals_to_us, st.referrals_to_partner, st.referrals_converted_to_us,
           (unsigned)st.referrals_converted_to_partner);
    printf("eng_in=%u eng_out=%u followups=%u commits_made=%u/%u delivered=%u/%u missed=%u/%u\n",
           st.engagements_inbound, st.engagements_outbound, st.followups_total, st.commits_made[0],
           st.commits_made[1], st.commits_delivered[0], st.commits_delivered[1], st.commits_missed[0],
           st.commits_missed[1]);
    printf("health=%.17g rag=%u clock_ms=%lld next_deadline_ms=%lld last_event_id=%s tier=%s owner=%s "
           "display_name=%s\n",
           st.health, st.rag, (long long)st.clock_ms, (long long)st.next_deadline_ms, st.last_event_id, st.tier,
           st.owner, st.display_name);
    for (int r = 0; r < PP_R_COUNT; r++)
        if (st.rules[r].started_at_ms || st.episodes[r] || st.snooze_until_ms[r])
            printf("rule %s started=%lld episodes=%u sev=%u published=%u snooze_until=%lld\n",
                   pp_rule_name((pp_rule_t)r), (long long)st.rules[r].started_at_ms, st.episodes[r],
                   st.rules[r].severity, st.rules[r].published, (long long)st.snooze_until_ms[r]);
    for (int m = 0; m < PP_M_COUNT; m++)
        printf("evidence %s=%s\n", pp_measure_name((pp_measure_t)m), st.evidence[m]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "fixture") == 0)
        return write_fixture(argv[2]);
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: %s write|check CORPUS_DIR | fixture FILE\n", argv[0]);
        return 2;
    }
    struct sink s = {.dir = argv[2], .sub = CORPUS, .check = strcmp(argv[1], "check") == 0};
    deals(&s);
    referrals(&s);
    engagements(&s);
    lifecycle(&s);
    state_blob(&s);
    if (s.bad) {
        fprintf(stderr, "make_corpus: %d of %d seeds %s%s\n", s.bad, s.count,
                s.check ? "missing or out of date in " : "not written to ", s.dir);
        if (s.check)
            fprintf(stderr, "make_corpus: regenerate with: %s write %s\n", argv[0], s.dir);
        return 1;
    }
    printf("make_corpus: %d seeds %s %s\n", s.count, s.check ? "up to date in" : "written to", s.dir);
    return 0;
}
