/*
 * pp_format and pp_json: every framing of a valid event decodes to the same
 * event; every framing problem is its own named rejection.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "partnerpulse.pb-c.h"
#include "pp_format.h"
#include "pp_json.h"

#define NOW 1767225600000LL

static pp_limits_t lim;
static uint8_t pb[4096];
static size_t pb_len;
static const pp_format_conf_t AUTO = {.format = PP_FORMAT_AUTO};
static const pp_format_conf_t PROTOBUF = {.format = PP_FORMAT_PROTOBUF};
static const pp_format_conf_t JSON = {.format = PP_FORMAT_JSON};

#define DEAL_JSON                                                                                    \
    "{\"event_id\":\"e1\",\"partner_id\":\"acme-1\",\"occurred_at_ms\":1767225599000,\"deal_id\":\"d1\"," \
    "\"stage\":\"QUALIFIED\",\"attribution\":\"SOURCED\",\"amount_minor\":1234500,\"currency\":\"USD\"}"

static void setup(void)
{
    pp_limits_default(&lim);
    Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
    m.event_id = "e1";
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.deal_id = "d1";
    m.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__QUALIFIED;
    m.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED;
    m.amount_minor = 1234500;
    m.currency = "USD";
    pb_len = partnerpulse__v1__deal_event__pack(&m, pb);
}

TestSuite(format, .init = setup);

/* header + the deal's protobuf into out; returns the length */
static size_t sr_wrap(const uint8_t *hdr, size_t hlen, uint8_t *out)
{
    memcpy(out, hdr, hlen);
    memcpy(out + hlen, pb, pb_len);
    return hlen + pb_len;
}

static pp_reject_t dec(const pp_format_conf_t *fc, pp_topic_t topic, const void *buf, size_t len, pp_event_t *ev,
                       char *why)
{
    return pp_format_decode(fc, topic, buf, len, "acme-1", 6, &lim, NOW, ev, NULL, why, 256);
}

static pp_reject_t dec_text(const pp_format_conf_t *fc, const char *text, pp_event_t *ev, char *why)
{
    return dec(fc, PP_TOPIC_DEALS, text, strlen(text), ev, why);
}

static void assert_same_deal(const pp_event_t *a, const pp_event_t *b)
{
    cr_assert_eq(memcmp(a, b, sizeof *a), 0, "the framings decode to different events");
}

/* ---- sniffing ---- */

Test(format, sniff_tells_the_framing_by_its_first_byte)
{
    cr_assert_eq(pp_format_sniff(pb, pb_len), PP_FRAMING_PROTOBUF);
    cr_assert_eq(pb[0], 0x0a, "our messages start with field 1 (event_id)");
    cr_assert_eq(pp_format_sniff((const uint8_t *)"\0\0\0\0\1\0", 6), PP_FRAMING_SR);
    cr_assert_eq(pp_format_sniff((const uint8_t *)"{}", 2), PP_FRAMING_JSON);
    cr_assert_eq(pp_format_sniff((const uint8_t *)" \t\r {}", 6), PP_FRAMING_JSON);
    cr_assert_eq(pp_format_sniff((const uint8_t *)"\n{}", 3), PP_FRAMING_PROTOBUF, "LF is field 1's tag");
    cr_assert_eq(pp_format_sniff((const uint8_t *)" x", 2), PP_FRAMING_PROTOBUF);
    cr_assert_eq(pp_format_sniff(NULL, 0), PP_FRAMING_PROTOBUF);
}

/* ---- the Schema Registry header ---- */

Test(format, sr_short_form_is_the_first_message)
{
    static const uint8_t h[] = {0, 0, 0, 1, 7, 0};
    pp_sr_frame_t f;
    char why[256];
    cr_assert_eq(pp_sr_frame_parse(h, sizeof h, &f, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(f.schema_id, 263u);
    cr_assert_eq(f.n_indexes, 1u);
    cr_assert_eq(f.indexes[0], 0);
    cr_assert_eq(f.header_len, 6u);
}

Test(format, sr_index_array_is_zigzag)
{
    /* count 2 (zigzag 4), indexes 1 (2) and 300 (600 = 0xd8 0x04) */
    static const uint8_t h[] = {0, 0x80, 0, 0, 2, 4, 2, 0xd8, 0x04, 0x0a};
    pp_sr_frame_t f;
    char why[256];
    cr_assert_eq(pp_sr_frame_parse(h, sizeof h, &f, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(f.schema_id, 0x80000002u);
    cr_assert_eq(f.n_indexes, 2u);
    cr_assert_eq(f.indexes[0], 1);
    cr_assert_eq(f.indexes[1], 300);
    cr_assert_eq(f.header_len, 9u);
}

Test(format, sr_malformed_headers_are_sr_framing)
{
    static const struct {
        const char *what;
        uint8_t b[12];
        size_t n;
    } bad[] = {
        {"only the magic byte and the id", {0, 0, 0, 0, 1}, 5},
        {"no magic byte", {1, 0, 0, 0, 1, 0}, 6},
        {"negative count (zigzag 1 = -1: the pre-zigzag encoding of count 1)", {0, 0, 0, 0, 1, 1, 2}, 7},
        {"count above the bound", {0, 0, 0, 0, 1, 2 * (PP_SR_INDEXES_MAX + 1), 0}, 7},
        {"index missing", {0, 0, 0, 0, 1, 4, 2}, 7},
        {"varint of 6 bytes", {0, 0, 0, 0, 1, 0x82, 0x80, 0x80, 0x80, 0x80, 0}, 11},
        {"varint truncated", {0, 0, 0, 0, 1, 0x82}, 6},
        {"negative index", {0, 0, 0, 0, 1, 2, 3}, 7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pp_sr_frame_t f;
        char why[256] = "";
        cr_assert_eq(pp_sr_frame_parse(bad[i].b, bad[i].n, &f, why, sizeof why), PP_REJ_SR_FRAMING, "%s",
                     bad[i].what);
        cr_assert_neq(why[0], '\0', "%s: no sentence", bad[i].what);
    }
}

/* ---- every framing, one event ---- */

Test(format, all_framings_decode_to_the_same_event)
{
    pp_event_t plain, sr, sr_long, json, json_lf;
    char why[256];
    uint8_t buf[4200];
    cr_assert_eq(dec(&AUTO, PP_TOPIC_DEALS, pb, pb_len, &plain, why), PP_OK, "%s", why);
    static const uint8_t short_hdr[] = {0, 0, 0, 0, 3, 0};
    cr_assert_eq(dec(&AUTO, PP_TOPIC_DEALS, buf, sr_wrap(short_hdr, sizeof short_hdr, buf), &sr, why), PP_OK, "%s",
                 why);
    static const uint8_t long_hdr[] = {0, 0, 0, 0, 3, 2, 0};
    cr_assert_eq(dec(&PROTOBUF, PP_TOPIC_DEALS, buf, sr_wrap(long_hdr, sizeof long_hdr, buf), &sr_long, why),
                 PP_OK, "%s", why);
    cr_assert_eq(dec_text(&AUTO, DEAL_JSON, &json, why), PP_OK, "%s", why);
    cr_assert_eq(dec_text(&JSON, "\n" DEAL_JSON "\n", &json_lf, why), PP_OK, "%s", why);
    assert_same_deal(&plain, &sr);
    assert_same_deal(&plain, &sr_long);
    assert_same_deal(&plain, &json);
    assert_same_deal(&plain, &json_lf);
}

Test(format, auto_reads_lf_then_brace_as_json_only_when_it_is_no_protobuf)
{
    pp_event_t ev;
    char why[256];
    pp_framing_t fr;
    const char *t = "\n" DEAL_JSON;
    cr_assert_eq(pp_format_decode(&AUTO, PP_TOPIC_DEALS, (const uint8_t *)t, strlen(t), NULL, 0, &lim, NOW, &ev,
                                  &fr, why, sizeof why),
                 PP_OK, "%s", why);
    cr_assert_eq(fr, PP_FRAMING_JSON);
}

Test(format, schema_id_outside_the_allow_list_is_refused)
{
    pp_format_conf_t fc = {.format = PP_FORMAT_AUTO};
    char err[160], why[256];
    cr_assert_eq(pp_format_parse_ids("1, 2,17", &fc, err, sizeof err), 0, "%s", err);
    uint8_t buf[4200];
    pp_event_t ev;
    static const uint8_t id17[] = {0, 0, 0, 0, 17, 0}, id3[] = {0, 0, 0, 0, 3, 0};
    cr_assert_eq(dec(&fc, PP_TOPIC_DEALS, buf, sr_wrap(id17, sizeof id17, buf), &ev, why), PP_OK, "%s", why);
    cr_assert_eq(dec(&fc, PP_TOPIC_DEALS, buf, sr_wrap(id3, sizeof id3, buf), &ev, why), PP_REJ_SR_SCHEMA_ID);
    cr_assert(strstr(why, "schema id 3") != NULL, "%s", why);
    /* the allow-list is about SR framing: plain protobuf is still the topic's */
    cr_assert_eq(dec(&fc, PP_TOPIC_DEALS, pb, pb_len, &ev, why), PP_OK, "%s", why);
}

Test(format, a_framing_the_topic_does_not_take_is_format)
{
    pp_event_t ev;
    char why[256];
    uint8_t buf[4200];
    static const uint8_t hdr[] = {0, 0, 0, 0, 3, 0};
    size_t n = sr_wrap(hdr, sizeof hdr, buf);
    cr_assert_eq(dec_text(&PROTOBUF, DEAL_JSON, &ev, why), PP_REJ_FORMAT);
    cr_assert_eq(dec_text(&PROTOBUF, "\n" DEAL_JSON, &ev, why), PP_REJ_FORMAT);
    cr_assert_eq(dec(&JSON, PP_TOPIC_DEALS, pb, pb_len, &ev, why), PP_REJ_FORMAT);
    cr_assert_eq(dec(&JSON, PP_TOPIC_DEALS, buf, n, &ev, why), PP_REJ_FORMAT);
    cr_assert_eq(dec_text(&JSON, "[1,2]", &ev, why), PP_REJ_FORMAT);
    cr_assert(strstr(why, "deals_format") != NULL, "the sentence says what to set: %s", why);
}

Test(format, bad_json_has_its_own_reasons)
{
    static const struct {
        const char *text;
        pp_reject_t want;
    } cases[] = {
        {"{\"event_id\":", PP_REJ_JSON_SYNTAX},
        {"{\"event_id\":\"a\",\"event_id\":\"b\"}", PP_REJ_JSON_SYNTAX},
        {"{\"event_id\":\"e\\u0000\"}", PP_REJ_JSON_SYNTAX},
        {"{\"amount_minor\":99999999999999999999999}", PP_REJ_JSON_SYNTAX},
        {"{\"colour\":\"red\"}", PP_REJ_JSON_MAPPING},
        {"{\"stage\":\"WONN\"}", PP_REJ_JSON_MAPPING},
        {"{\"amount_minor\":\"12\"}", PP_REJ_JSON_MAPPING},
        {"{\"amount_minor\":1.5}", PP_REJ_JSON_MAPPING},
        {"{\"deal_id\":{\"x\":1}}", PP_REJ_JSON_MAPPING},
        {"{\"type\":\"thing\"}", PP_REJ_JSON_MAPPING},
        {"{\"type\":\"referral\",\"event_id\":\"e\"}", PP_REJ_WRONG_TOPIC},
        {"{\"partner_id\":\"bad id!\"}", PP_REJ_PARTNER_ID}, /* mapped: then the event's own rules */
        {"{}", PP_REJ_PARTNER_ID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pp_event_t ev;
        char why[256] = "";
        pp_reject_t r = pp_format_decode(&AUTO, PP_TOPIC_DEALS, (const uint8_t *)cases[i].text,
                                         strlen(cases[i].text), NULL, 0, &lim, NOW, &ev, NULL, why, sizeof why);
        cr_assert_eq(r, cases[i].want, "%s: got %s (%s)", cases[i].text, pp_reject_name(r), why);
        cr_assert_neq(why[0], '\0', "%s: no sentence", cases[i].text);
    }
}

Test(format, oversize_is_checked_before_any_framing)
{
    lim.max_message_bytes = pb_len + 2; /* the whole message counts, framing included */
    pp_event_t ev;
    char why[256];
    cr_assert_eq(dec(&AUTO, PP_TOPIC_DEALS, pb, pb_len, &ev, why), PP_OK, "%s", why);
    cr_assert_eq(dec_text(&AUTO, DEAL_JSON, &ev, why), PP_REJ_OVERSIZE);
    uint8_t buf[4200];
    static const uint8_t hdr[] = {0, 0, 0, 0, 3, 0};
    cr_assert_eq(dec(&AUTO, PP_TOPIC_DEALS, buf, sr_wrap(hdr, sizeof hdr, buf), &ev, why), PP_REJ_OVERSIZE);
}

Test(format, the_type_key_is_optional_on_a_topic_but_checked)
{
    pp_event_t ev;
    char why[256];
    char t[512];
    snprintf(t, sizeof t, "{\"type\":\"deal\",%s", DEAL_JSON + 1);
    cr_assert_eq(dec_text(&AUTO, t, &ev, why), PP_OK, "%s", why);
}

/* ---- the JSON mapping the CLI uses ---- */

Test(format, cli_routes_by_type_and_needs_it)
{
    json_t *obj;
    char why[256];
    uint8_t *out;
    size_t n;
    pp_topic_t t;
    const char *text = "{\"type\":\"engagement\",\"event_id\":\"e\",\"partner_id\":\"p\",\"occurred_at_ms\":1767225599000,"
                       "\"direction\":\"INBOUND\",\"kind\":\"MESSAGE\",\"expects_reply\":false,\"thread_id\":null}";
    cr_assert_eq(pp_json_parse(text, strlen(text), &obj, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(pp_json_pack_event(obj, PP_TOPIC_COUNT, &t, &out, &n, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(t, PP_TOPIC_ENGAGEMENTS);
    pp_event_t ev;
    cr_assert_eq(pp_event_decode(t, out, n, NULL, 0, &lim, NOW, &ev, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(ev.u.eng.expects_reply, PP_REPLY_NO, "false reads as NO");
    cr_assert_eq(ev.u.eng.kind, PP_KIND_MESSAGE);
    free(out);
    json_decref(obj);

    const char *untyped = "{\"event_id\":\"e\"}";
    cr_assert_eq(pp_json_parse(untyped, strlen(untyped), &obj, why, sizeof why), PP_OK);
    cr_assert_eq(pp_json_pack_event(obj, PP_TOPIC_COUNT, &t, &out, &n, why, sizeof why), PP_REJ_JSON_MAPPING);
    cr_assert_null(out);
    cr_assert(strstr(why, "\"type\"") != NULL, "%s", why);
    json_decref(obj);
}

/* ---- configuration values ---- */

Test(format, format_names_round_trip)
{
    pp_format_t f = PP_FORMAT_JSON;
    cr_assert_eq(pp_format_parse("auto", &f), 0);
    cr_assert_eq(f, PP_FORMAT_AUTO);
    cr_assert_eq(pp_format_parse("protobuf", &f), 0);
    cr_assert_str_eq(pp_format_name(f), "protobuf");
    cr_assert_eq(pp_format_parse("Protobuf", &f), -1);
    cr_assert_eq(f, PP_FORMAT_PROTOBUF, "unchanged on error");
    cr_assert_str_eq(pp_framing_name(PP_FRAMING_SR), "sr");
}

Test(format, schema_id_lists_are_bounded_decimal)
{
    pp_format_conf_t fc = {0};
    char err[160];
    cr_assert_eq(pp_format_parse_ids("", &fc, err, sizeof err), 0);
    cr_assert_eq(fc.n_schema_ids, 0u);
    cr_assert_eq(pp_format_parse_ids(" 4294967295 ,0", &fc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fc.n_schema_ids, 2u);
    cr_assert_eq(fc.schema_ids[0], 4294967295u);
    cr_assert_eq(pp_format_parse_ids("4294967296", &fc, err, sizeof err), -1);
    cr_assert_eq(pp_format_parse_ids("1;2", &fc, err, sizeof err), -1);
    cr_assert_eq(pp_format_parse_ids("-1", &fc, err, sizeof err), -1);
    cr_assert_eq(fc.n_schema_ids, 2u, "unchanged on error");
    char many[200] = "";
    for (int i = 0; i <= PP_FORMAT_SCHEMA_IDS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%d,", i);
    cr_assert_eq(pp_format_parse_ids(many, &fc, err, sizeof err), -1);
}

/* reason names are a public contract (DLQ header, metric label) */
Test(format, reason_names_are_stable)
{
    cr_assert_str_eq(pp_reject_name(PP_REJ_FORMAT), "format");
    cr_assert_str_eq(pp_reject_name(PP_REJ_SR_FRAMING), "sr_framing");
    cr_assert_str_eq(pp_reject_name(PP_REJ_SR_SCHEMA_ID), "sr_schema_id");
    cr_assert_str_eq(pp_reject_name(PP_REJ_JSON_SYNTAX), "json_syntax");
    cr_assert_str_eq(pp_reject_name(PP_REJ_JSON_MAPPING), "json_mapping");
}

/* "\n{" also starts every protobuf whose event_id is 123 bytes long: a valid
 * protobuf wins, in every format that takes protobuf */
Test(format, a_protobuf_starting_like_json_stays_protobuf)
{
    char id[124];
    memset(id, 'e', 123);
    id[123] = '\0';
    Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
    m.event_id = id;
    m.partner_id = "acme-1";
    m.occurred_at_ms = NOW - 1000;
    m.deal_id = "d1";
    m.stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__WON;
    m.attribution = PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED;
    uint8_t buf[512];
    size_t n = partnerpulse__v1__deal_event__pack(&m, buf);
    cr_assert_eq(buf[0], '\n');
    cr_assert_eq(buf[1], '{');
    pp_event_t ev;
    pp_framing_t fr = PP_FRAMING_JSON;
    char why[256];
    cr_assert_eq(pp_format_decode(&AUTO, PP_TOPIC_DEALS, buf, n, NULL, 0, &lim, NOW, &ev, &fr, why, sizeof why), PP_OK,
                 "%s", why);
    cr_assert_eq(fr, PP_FRAMING_PROTOBUF);
    cr_assert_eq(dec(&PROTOBUF, PP_TOPIC_DEALS, buf, n, &ev, why), PP_OK, "%s", why);
    /* rejected as protobuf, and no JSON either: the protobuf's reason stands */
    m.stage = 0;
    n = partnerpulse__v1__deal_event__pack(&m, buf);
    cr_assert_eq(dec(&AUTO, PP_TOPIC_DEALS, buf, n, &ev, why), PP_REJ_ENUM, "%s", why);
}
