/*
 * pp_format: input framings of a topic (see pp_format.h).
 */
#include "pp_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_json.h"

static const char *const format_names[] = {
    [PP_FORMAT_AUTO] = "auto",
    [PP_FORMAT_PROTOBUF] = "protobuf",
    [PP_FORMAT_JSON] = "json",
};

int pp_format_parse(const char *s, pp_format_t *ret)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(s, format_names[i]) == 0) {
            *ret = (pp_format_t)i;
            return 0;
        }
    return -1;
}

const char *pp_format_name(pp_format_t f)
{
    return (f >= PP_FORMAT_AUTO && f <= PP_FORMAT_JSON) ? format_names[f] : "unknown";
}

const char *pp_framing_name(pp_framing_t f)
{
    static const char *const names[PP_FRAMING_COUNT] = {
        [PP_FRAMING_PROTOBUF] = "protobuf", [PP_FRAMING_SR] = "sr", [PP_FRAMING_JSON] = "json"};
    return (f >= PP_FRAMING_PROTOBUF && f <= PP_FRAMING_JSON) ? names[f] : "unknown";
}

int pp_format_parse_ids(const char *s, pp_format_conf_t *fc, char *err, size_t err_len)
{
    uint32_t ids[PP_FORMAT_SCHEMA_IDS_MAX];
    size_t n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p < '0' || *p > '9') {
            snprintf(err, err_len, "schema ids must be decimal numbers separated by commas, e.g. 1,2 "
                     "(got \"%s\")", s);
            return -1;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno != 0 || v > UINT32_MAX || (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')) {
            snprintf(err, err_len, "schema ids must be decimal numbers from 0 to %" PRIu32 " separated by "
                     "commas (got \"%s\")", UINT32_MAX, s);
            return -1;
        }
        if (n == PP_FORMAT_SCHEMA_IDS_MAX) {
            snprintf(err, err_len, "at most %d schema ids per topic", PP_FORMAT_SCHEMA_IDS_MAX);
            return -1;
        }
        ids[n++] = (uint32_t)v;
        p = end;
    }
    memcpy(fc->schema_ids, ids, n * sizeof ids[0]);
    fc->n_schema_ids = n;
    return 0;
}

static bool blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* First byte after blanks is '{'. */
static bool json_object_ahead(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && blank(buf[i]))
        i++;
    return i < len && buf[i] == '{';
}

pp_framing_t pp_format_sniff(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return PP_FRAMING_PROTOBUF;
    switch (buf[0]) {
    case 0x00: /* tag 0 is no protobuf field: the Schema Registry's magic byte */
        return PP_FRAMING_SR;
    case '{': /* 0x7b: field 15 with wire type 3 (a group): no serializer of our messages writes it */
        return PP_FRAMING_JSON;
    case ' ':  /* 0x20: field 4, varint: no message of ours has a field 4 */
    case '\t': /* 0x09: field 1, fixed64: event_id is a string (wire type 2) */
    case '\r': /* 0x0d: field 1, fixed32: idem */
        return json_object_ahead(buf, len) ? PP_FRAMING_JSON : PP_FRAMING_PROTOBUF;
    default: /* 0x0a, field 1 (event_id), is where our messages start: protobuf */
        return PP_FRAMING_PROTOBUF;
    }
}


/* A zigzag varint of at most 5 bytes (32 bits) at buf[*pos..len) into *out;
 * false if truncated, longer than 5 bytes or beyond 32 bits. */
static bool zigzag32(const uint8_t *buf, size_t len, size_t *pos, int32_t *out)
{
    uint64_t u = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = buf[(*pos)++];
        u |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            if (u > UINT32_MAX)
                return false;
            uint32_t z = (uint32_t)u;
            *out = (int32_t)((z >> 1) ^ (0u - (z & 1u)));
            return true;
        }
    }
    return false;
}

pp_reject_t pp_sr_frame_parse(const uint8_t *buf, size_t len, pp_sr_frame_t *ret, char *why, size_t why_len)
{
    pp_sr_frame_t f;
    if (len >= 1 && buf[0] != 0x00)
        return pp_event_reject(why, why_len, PP_REJ_SR_FRAMING, "no Schema Registry magic byte 0 at the start");
    if (len < 6)
        return pp_event_reject(why, why_len, PP_REJ_SR_FRAMING,
                    "Schema Registry header truncated: %zu bytes, at least 6 needed (magic byte, 4-byte schema "
                    "id, message indexes)", len);
    f.schema_id = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | (uint32_t)buf[4];
    size_t pos = 5;
    int32_t count;
    if (!zigzag32(buf, len, &pos, &count))
        return pp_event_reject(why, why_len, PP_REJ_SR_FRAMING,
                    "Schema Registry header of schema id %" PRIu32 ": the message-index count is not a "
                    "valid zigzag varint", f.schema_id);
    if (count < 0 || count > PP_SR_INDEXES_MAX)
        return pp_event_reject(why, why_len, PP_REJ_SR_FRAMING,
                    "Schema Registry header of schema id %" PRIu32 ": message-index count %" PRId32
                    " is outside 0..%d (a producer with the pre-zigzag format, Confluent's Python client "
                    "before 1.8 with use.deprecated.format, writes these)",
                    f.schema_id, count, PP_SR_INDEXES_MAX);
    if (count == 0) { /* the short form of [0]: the first message of the schema */
        f.n_indexes = 1;
        f.indexes[0] = 0;
    } else {
        f.n_indexes = (size_t)count;
        for (size_t i = 0; i < f.n_indexes; i++)
            if (!zigzag32(buf, len, &pos, &f.indexes[i]) || f.indexes[i] < 0)
                return pp_event_reject(why, why_len, PP_REJ_SR_FRAMING,
                            "Schema Registry header of schema id %" PRIu32 ": message index %zu of %zu is "
                            "truncated, not a valid zigzag varint, or negative",
                            f.schema_id, i + 1, f.n_indexes);
    }
    f.header_len = pos;
    *ret = f;
    return PP_OK;
}

static bool schema_id_allowed(const pp_format_conf_t *fc, uint32_t id)
{
    if (fc->n_schema_ids == 0)
        return true;
    for (size_t i = 0; i < fc->n_schema_ids; i++)
        if (fc->schema_ids[i] == id)
            return true;
    return false;
}

static pp_reject_t decode_sr(const pp_format_conf_t *fc, pp_topic_t topic, const uint8_t *buf, size_t len,
                             const char *key, size_t key_len, const pp_limits_t *lim, int64_t now_ms,
                             pp_event_t *ev, char *why, size_t why_len)
{
    pp_sr_frame_t f;
    pp_reject_t r = pp_sr_frame_parse(buf, len, &f, why, why_len);
    if (r != PP_OK)
        return r;
    if (!schema_id_allowed(fc, f.schema_id))
        return pp_event_reject(why, why_len, PP_REJ_SR_SCHEMA_ID,
                    "schema id %" PRIu32 " is not in this topic's allow-list (%s_schema_ids in [topics])",
                    f.schema_id, pp_topic_name(topic));
    /* the indexes name the message type inside the registered schema; the
     * topic already says which type it is (as for plain protobuf), and a
     * message of another type is caught by its field numbers (wrong_topic) */
    return pp_event_decode(topic, buf + f.header_len, len - f.header_len, key, key_len, lim, now_ms, ev, why,
                           why_len);
}

static pp_reject_t decode_json(pp_topic_t topic, const uint8_t *buf, size_t len, const char *key, size_t key_len,
                               const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev, char *why, size_t why_len)
{
    json_t *obj = NULL;
    pp_reject_t r = pp_json_parse((const char *)buf, len, &obj, why, why_len);
    if (r != PP_OK)
        return r;
    uint8_t *pb = NULL;
    size_t n = 0;
    pp_topic_t t;
    r = pp_json_pack_event(obj, topic, &t, &pb, &n, why, why_len);
    if (r == PP_OK)
        r = pp_event_decode(topic, pb, n, key, key_len, lim, now_ms, ev, why, why_len);
    free(pb);
    json_decref(obj);
    return r;
}

pp_reject_t pp_format_decode_other(const pp_format_conf_t *fc, pp_topic_t topic, const uint8_t *buf, size_t len,
                                   const char *key, size_t key_len, const pp_limits_t *lim, int64_t now_ms,
                                   pp_event_t *ev, pp_framing_t *ret_framing, char *why, size_t why_len)
{
    pp_framing_t framing = buf == NULL ? PP_FRAMING_PROTOBUF : pp_format_sniff(buf, len);
    pp_reject_t r;
    if (ret_framing != NULL)
        *ret_framing = framing;
    if (framing == PP_FRAMING_PROTOBUF && fc->format != PP_FORMAT_JSON) { /* the hot path */
        r = pp_event_decode(topic, buf, len, key, key_len, lim, now_ms, ev, why, why_len);
        if (r == PP_OK || !json_object_ahead(buf, len))
            return r;
        /* LF then '{' (a protobuf whose event_id is 123 bytes long starts so
         * too) that is no valid event as protobuf: maybe JSON */
        if (fc->format == PP_FORMAT_PROTOBUF)
            return r != PP_REJ_UNDECODABLE ? r
                   : pp_event_reject(why, why_len, PP_REJ_FORMAT,
                          "payload is a JSON object, but the topic's format is protobuf (set %s_format = json "
                          "or auto in [topics])", pp_topic_name(topic));
        char jwhy[200] = "";
        pp_reject_t rj = decode_json(topic, buf, len, key, key_len, lim, now_ms, ev, jwhy, sizeof jwhy);
        if (rj != PP_OK && r != PP_REJ_UNDECODABLE)
            return r; /* it parsed as protobuf and got further so: its reason stands */
        if (ret_framing != NULL)
            *ret_framing = PP_FRAMING_JSON;
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "%s", jwhy);
        return rj;
    }
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (len > lim->max_message_bytes)
        return pp_event_reject(why, why_len, PP_REJ_OVERSIZE, "message of %zu bytes exceeds the limit of %zu", len,
                    lim->max_message_bytes);
    switch (framing) {
    case PP_FRAMING_SR:
        if (fc->format == PP_FORMAT_JSON)
            return pp_event_reject(why, why_len, PP_REJ_FORMAT,
                        "payload starts with byte 0 (Schema Registry framed protobuf), but the topic's format "
                        "is json (set %s_format = protobuf or auto in [topics])", pp_topic_name(topic));
        return decode_sr(fc, topic, buf, len, key, key_len, lim, now_ms, ev, why, why_len);
    case PP_FRAMING_JSON:
        if (fc->format == PP_FORMAT_PROTOBUF)
            return pp_event_reject(why, why_len, PP_REJ_FORMAT,
                        "payload is a JSON object, but the topic's format is protobuf (set %s_format = json "
                        "or auto in [topics])", pp_topic_name(topic));
        return decode_json(topic, buf, len, key, key_len, lim, now_ms, ev, why, why_len);
    case PP_FRAMING_PROTOBUF:
    default: /* on a json topic */
        if (buf != NULL && json_object_ahead(buf, len)) { /* LF then '{' */
            if (ret_framing != NULL)
                *ret_framing = PP_FRAMING_JSON;
            return decode_json(topic, buf, len, key, key_len, lim, now_ms, ev, why, why_len);
        }
        return pp_event_reject(why, why_len, PP_REJ_FORMAT,
                    "payload is not a JSON object (it does not start with '{'), but the topic's format is json "
                    "(set %s_format = protobuf or auto in [topics])", pp_topic_name(topic));
    }
}
