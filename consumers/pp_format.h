/*
 * pp_format: the framings an input topic accepts around its event
 * (docs/events.md "Formats"), decoded into the same pp_event_t:
 *
 *   - plain protobuf (the bytes of the topic's message);
 *   - protobuf in the Confluent Schema Registry wire format: byte 0, a 4-byte
 *     big-endian schema id, the message-index array (a zigzag varint count,
 *     then that many zigzag varint indexes; the single byte 0 stands for
 *     [0]), then the protobuf bytes;
 *   - a JSON object with the mapping of `partnerpulse produce` (pp_json.h).
 *
 * Per topic, `format = protobuf | json | auto`: protobuf takes both protobuf
 * framings, json takes JSON only, auto tells them apart per message by its
 * first byte (pp_format_sniff). Every framing ends in pp_event_decode, so the
 * validation rules and reason codes of the event are the same whatever the
 * framing; a framing problem has reason codes of its own (PP_REJ_FORMAT,
 * PP_REJ_SR_*, PP_REJ_JSON_*).
 *
 * No I/O, no clock, no logging, no globals. Plain protobuf costs one byte
 * test more than pp_event_decode alone.
 */
#ifndef PP_FORMAT_H
#define PP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"

/* What a topic accepts (its config value). */
typedef enum pp_format {
    PP_FORMAT_AUTO = 0,  /* any of the three, decided per message (the default) */
    PP_FORMAT_PROTOBUF,  /* plain protobuf or Schema Registry framed protobuf */
    PP_FORMAT_JSON       /* JSON objects only */
} pp_format_t;

/* What one message is framed as (pp_format_sniff). */
typedef enum pp_framing {
    PP_FRAMING_PROTOBUF = 0, /* plain protobuf */
    PP_FRAMING_SR,           /* magic byte 0: Schema Registry framed protobuf */
    PP_FRAMING_JSON,         /* '{', possibly after blanks: a JSON object */
    PP_FRAMING_COUNT
} pp_framing_t;

#define PP_FORMAT_SCHEMA_IDS_MAX 32 /* schema ids in one topic's allow-list */
#define PP_SR_INDEXES_MAX 8         /* message-index array entries (nesting depth) accepted */
#define PP_SR_HEADER_MAX (5 + 5 * (1 + PP_SR_INDEXES_MAX)) /* longest header accepted, bytes */

/* The input format of one topic. All zero = auto, any schema id. */
typedef struct pp_format_conf {
    pp_format_t format;
    size_t n_schema_ids;                          /* 0 = every schema id is accepted */
    uint32_t schema_ids[PP_FORMAT_SCHEMA_IDS_MAX]; /* the allow-list of SR-framed messages */
} pp_format_conf_t;

/* The header of a Schema Registry framed message. */
typedef struct pp_sr_frame {
    uint32_t schema_id;
    size_t n_indexes;                    /* >= 1 ([0] for the one-byte short form) */
    int32_t indexes[PP_SR_INDEXES_MAX];  /* path of the message type in the schema */
    size_t header_len;                   /* the protobuf starts at buf + header_len */
} pp_sr_frame_t;

/* "protobuf", "json", "auto" -> *ret (OUT, written on success only). 0 or -1. */
int pp_format_parse(const char *s, pp_format_t *ret);

/* Name of a format, as in the config. */
const char *pp_format_name(pp_format_t f);

/* Name of a framing: "protobuf", "sr", "json". */
const char *pp_framing_name(pp_framing_t f);

/*
 * A schema-id allow-list, "1, 2,17" (decimal ids separated by commas and
 * blanks; empty = any id), into fc->schema_ids / fc->n_schema_ids. Returns 0,
 * or -1 with a sentence in err (fc unchanged).
 */
int pp_format_parse_ids(const char *s, pp_format_conf_t *fc, char *err, size_t err_len);

/*
 * How the message is framed, from its first bytes: 0x00 -> SR (no protobuf
 * starts with tag 0); '{', or blanks (space, tab, CR) then '{' -> JSON;
 * anything else, an empty payload included, -> protobuf. A payload starting
 * with LF then '{' counts as protobuf: 0x0a is the tag of field 1 (event_id),
 * the usual first byte of our messages, and "\n{" starts every one whose
 * event_id is 123 bytes long; pp_format_decode reads it as JSON only when it
 * is no valid event as protobuf.
 */
pp_framing_t pp_format_sniff(const uint8_t *buf, size_t len);

/*
 * Parse the Schema Registry header of buf[0..len) into *ret (OUT, written on
 * success only). Returns PP_OK, or PP_REJ_SR_FRAMING with a sentence in why:
 * no magic byte 0, shorter than the header, a varint over 5 bytes or out of
 * range, a negative count or index, more than PP_SR_INDEXES_MAX indexes.
 */
pp_reject_t pp_sr_frame_parse(const uint8_t *buf, size_t len, pp_sr_frame_t *ret, char *why, size_t why_len);

/* The part of pp_format_decode off its hot path (an SR or JSON framing, a
 * json topic, a rejected protobuf that may be JSON after all): call
 * pp_format_decode, not this. */
pp_reject_t pp_format_decode_other(const pp_format_conf_t *fc, pp_topic_t topic, const uint8_t *buf, size_t len,
                                   const char *key, size_t key_len, const pp_limits_t *lim, int64_t now_ms,
                                   pp_event_t *ev, pp_framing_t *ret_framing, char *why, size_t why_len);

/* True when a message starting with byte b can only be plain protobuf:
 * every byte but 0x00, '{' and the blanks that may lead JSON (LF, the tag
 * of field 1 and the usual first byte, is tested first). */
static inline bool pp_format_plain_lead(uint8_t b)
{
    return b == 0x0a || (b > ' ' ? b != '{' : (b != 0x00 && b != '\t' && b != '\r' && b != ' '));
}

/*
 * pp_event_decode for a message of a topic whose format is fc: sniff the
 * framing, check it against the declared format (PP_REJ_FORMAT), unwrap it
 * (SR header and allow-list: PP_REJ_SR_FRAMING, PP_REJ_SR_SCHEMA_ID; JSON:
 * PP_REJ_JSON_SYNTAX, PP_REJ_JSON_MAPPING), then decode and validate the
 * protobuf exactly as pp_event_decode does (same arguments, same codes).
 * ret_framing (OUT, may be NULL) is set to the framing the message was read
 * as, accepted or not. *ev is written on PP_OK only.
 *
 * Inline: plain protobuf, the daemon's hot path, costs the caller one byte
 * test before the pp_event_decode call it would make anyway. As a function
 * of its own, forwarding twelve arguments cost 54 instructions per message
 * more than pp_event_decode alone (2 % of a 2 556-instruction decode,
 * callgrind, bench/format_bench.c).
 */
static inline pp_reject_t pp_format_decode(const pp_format_conf_t *fc, pp_topic_t topic, const uint8_t *buf,
                                           size_t len, const char *key, size_t key_len, const pp_limits_t *lim,
                                           int64_t now_ms, pp_event_t *ev, pp_framing_t *ret_framing, char *why,
                                           size_t why_len)
{
    if (len > 0 && pp_format_plain_lead(buf[0]) && fc->format != PP_FORMAT_JSON) {
        pp_reject_t r = pp_event_decode(topic, buf, len, key, key_len, lim, now_ms, ev, why, why_len);
        if (r == PP_OK || buf[0] != 0x0a) { /* (LF then '{' may be JSON: pp_format_sniff) */
            if (ret_framing != NULL)
                *ret_framing = PP_FRAMING_PROTOBUF;
            return r;
        }
    }
    return pp_format_decode_other(fc, topic, buf, len, key, key_len, lim, now_ms, ev, ret_framing, why, why_len);
}

#endif
