/*
 * pp_json: the JSON form of the input events (docs/events.md "JSON"), one
 * mapping for `partnerpulse produce` and for the daemon's JSON topics.
 *
 * JSON <-> protobuf by reflection over the protobuf-c descriptors, so the
 * JSON follows proto/partnerpulse.proto field for field with no hand-written
 * mapping to keep in sync: field names as in the proto, enums by value name
 * (numbers pass too), int64 as JSON integers, expects_reply also as
 * true/false, null = not set. An event in JSON is packed into the protobuf
 * bytes the producer would have sent, and validated by pp_event_decode like
 * any other: one set of rules whatever the framing.
 *
 * No I/O, no logging, no globals; links jansson and protobuf-c.
 */
#ifndef PP_JSON_H
#define PP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "pp_event.h"

/* JSON "type" name (deal, referral, engagement, partner) -> input topic kind
 * and message descriptor. Returns 0, or -1 if the name is unknown. */
int pp_json_type(const char *type, pp_topic_t *topic, const ProtobufCMessageDescriptor **desc);

/*
 * Fill a protobuf message (already initialised with protobuf_c_message_init)
 * from the JSON object's fields, by field name, enums by value name. The
 * "type" key is skipped. String fields point into obj (keep obj alive until
 * the message is packed). Returns 0, or -1 with a sentence in err (unknown
 * field, wrong JSON type, unknown enum name).
 */
int pp_json_to_message(json_t *obj, ProtobufCMessage *msg, char *err, size_t err_len);

/* The reverse, for display: a new JSON object with the message's fields
 * (enums as names, only non-default values). The caller owns it. */
json_t *pp_message_to_json(const ProtobufCMessage *msg);

/*
 * Parse one JSON text of len bytes (need not be NUL-terminated) with the
 * rules both readers share: duplicate keys and NUL characters are refused.
 * On success *ret_obj (OUT) is a new reference the caller owns. Returns
 * PP_OK, or PP_REJ_JSON_SYNTAX with a sentence (with the column) in why.
 */
pp_reject_t pp_json_parse(const char *text, size_t len, json_t **ret_obj, char *why, size_t why_len);

/*
 * One JSON event object -> the protobuf bytes of its message.
 * topic: the input topic it arrived on, whose message type it must be; its
 * "type" key is then optional and, when present, must name that type.
 * PP_TOPIC_COUNT: the type comes from "type", which is then required (the
 * CLI, which routes by it).
 * On PP_OK: *ret_topic the event's topic kind, *ret_buf (OUT) a malloc'd
 * buffer of *ret_len bytes the caller frees. Otherwise *ret_buf is NULL and
 * the result is PP_REJ_JSON_MAPPING (not an object, unknown field, wrong JSON
 * type, unknown enum name, missing or unknown "type") or PP_REJ_WRONG_TOPIC
 * ("type" names another topic's event), with a sentence in why.
 */
pp_reject_t pp_json_pack_event(json_t *obj, pp_topic_t topic, pp_topic_t *ret_topic, uint8_t **ret_buf,
                               size_t *ret_len, char *why, size_t why_len);

#endif
