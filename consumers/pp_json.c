/*
 * pp_json: the JSON form of the input events (see pp_json.h).
 */
#include "pp_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partnerpulse.pb-c.h"

int pp_json_type(const char *type, pp_topic_t *topic, const ProtobufCMessageDescriptor **desc)
{
    static const struct {
        const char *name;
        pp_topic_t topic;
        const ProtobufCMessageDescriptor *desc;
    } types[] = {
        {"deal", PP_TOPIC_DEALS, &partnerpulse__v1__deal_event__descriptor},
        {"referral", PP_TOPIC_REFERRALS, &partnerpulse__v1__referral_event__descriptor},
        {"engagement", PP_TOPIC_ENGAGEMENTS, &partnerpulse__v1__engagement_event__descriptor},
        {"partner", PP_TOPIC_LIFECYCLE, &partnerpulse__v1__partner_event__descriptor},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i].name) == 0) {
            *topic = types[i].topic;
            *desc = types[i].desc;
            return 0;
        }
    return -1;
}

static int set_field(const ProtobufCFieldDescriptor *f, void *member, json_t *v, char *err,
                     size_t err_len)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            goto wrong;
        *(const char **)member = json_string_value(v);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!json_is_integer(v))
            goto wrong;
        *(int64_t *)member = (int64_t)json_integer_value(v);
        return 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
            goto wrong;
        *(int32_t *)member = (int32_t)json_integer_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            goto wrong;
        *(protobuf_c_boolean *)member = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v))
            goto wrong;
        *(double *)member = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (json_is_string(v)) {
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
            if (ev == NULL) {
                snprintf(err, err_len, "field '%s': unknown value \"%s\" (one of:", f->name,
                         json_string_value(v));
                for (unsigned i = 1; i < ed->n_values; i++) {
                    size_t n = strlen(err);
                    snprintf(err + n, err_len - n, " %s", ed->values[i].name);
                }
                size_t n = strlen(err);
                snprintf(err + n, err_len - n, ")");
                return -1;
            }
            *(int *)member = ev->value;
            return 0;
        }
        if (json_is_boolean(v) && ed == &partnerpulse__v1__engagement_event__reply_expected__descriptor) {
            /* expects_reply: true/false read as YES/NO (the JSON a producer would write) */
            *(int *)member = json_is_true(v) ? PARTNERPULSE__V1__ENGAGEMENT_EVENT__REPLY_EXPECTED__YES
                                             : PARTNERPULSE__V1__ENGAGEMENT_EVENT__REPLY_EXPECTED__NO;
            return 0;
        }
        if (json_is_integer(v)) { /* numeric enums pass through (tests of unknown values) */
            *(int *)member = (int)json_integer_value(v);
            return 0;
        }
        goto wrong;
    }
    default:
        snprintf(err, err_len, "field '%s': type not supported in JSON input", f->name);
        return -1;
    }
wrong:
    snprintf(err, err_len, "field '%s' has the wrong JSON type (expected %s)", f->name,
             f->type == PROTOBUF_C_TYPE_STRING ? "a string"
             : f->type == PROTOBUF_C_TYPE_BOOL ? "true or false"
             : f->type == PROTOBUF_C_TYPE_ENUM ? "an enum name string"
                                               : "a number");
    return -1;
}

int pp_json_to_message(json_t *obj, ProtobufCMessage *msg, char *err, size_t err_len)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "type") == 0)
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (f == NULL) {
            snprintf(err, err_len, "unknown field '%s' for %s", key, d->short_name);
            return -1;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            snprintf(err, err_len, "field '%s': repeated fields are not accepted as input", key);
            return -1;
        }
        if (json_is_null(v))
            continue;
        if (set_field(f, (char *)msg + f->offset, v, err, err_len) != 0)
            return -1;
    }
    return 0;
}

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s && s[0] ? json_string(s) : NULL;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t x = *(const int64_t *)member;
        return x ? json_integer((json_int_t)x) : NULL;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t x = *(const int32_t *)member;
        return x ? json_integer(x) : NULL;
    }
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)member ? json_true() : NULL;
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)member);
    case PROTOBUF_C_TYPE_ENUM: {
        int x = *(const int *)member;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, x);
        return ev ? json_string(ev->name) : json_integer(x);
    }
    default:
        return NULL;
    }
}

json_t *pp_message_to_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            if (n == 0 || f->type != PROTOBUF_C_TYPE_STRING)
                continue;
            json_t *a = json_array();
            char *const *items = *(char *const *const *)base;
            for (size_t j = 0; j < n; j++)
                json_array_append_new(a, json_string(items[j]));
            json_object_set_new(o, f->name, a);
            continue;
        }
        json_t *v = value_to_json(f, base);
        if (v)
            json_object_set_new(o, f->name, v);
    }
    return o;
}

pp_reject_t pp_json_parse(const char *text, size_t len, json_t **ret_obj, char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        snprintf(why, why_len, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
        return PP_REJ_JSON_SYNTAX;
    }
    *ret_obj = obj;
    return PP_OK;
}

pp_reject_t pp_json_pack_event(json_t *obj, pp_topic_t topic, pp_topic_t *ret_topic, uint8_t **ret_buf,
                               size_t *ret_len, char *why, size_t why_len)
{
    static const char *const type_names[PP_TOPIC_COUNT] = {"deal", "referral", "engagement", "partner"};
    *ret_buf = NULL;
    if (!json_is_object(obj)) {
        snprintf(why, why_len, "expected a JSON object");
        return PP_REJ_JSON_MAPPING;
    }
    json_t *type = json_object_get(obj, "type");
    pp_topic_t t = topic;
    const ProtobufCMessageDescriptor *desc = NULL;
    if (type != NULL || topic == PP_TOPIC_COUNT) {
        if (!json_is_string(type) || pp_json_type(json_string_value(type), &t, &desc) != 0) {
            snprintf(why, why_len, "\"type\" must be one of deal, referral, engagement, partner");
            return PP_REJ_JSON_MAPPING;
        }
        if (topic != PP_TOPIC_COUNT && t != topic) {
            snprintf(why, why_len, "\"type\" is \"%s\" but this topic carries %s events: it was published "
                     "on the wrong topic", json_string_value(type), type_names[topic]);
            return PP_REJ_WRONG_TOPIC;
        }
    } else if (pp_json_type(type_names[topic], &t, &desc) != 0) {
        snprintf(why, why_len, "unknown input topic");
        return PP_REJ_JSON_MAPPING;
    }
    ProtobufCMessage *msg = calloc(1, desc->sizeof_message);
    if (msg == NULL)
        abort();
    protobuf_c_message_init(desc, msg);
    pp_reject_t r = PP_REJ_JSON_MAPPING;
    if (pp_json_to_message(obj, msg, why, why_len) != 0)
        goto out_msg;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        abort();
    protobuf_c_message_pack(msg, buf);
    *ret_topic = t;
    *ret_buf = buf; /* now owned by the caller */
    *ret_len = n;
    r = PP_OK;
out_msg:
    free(msg); /* its strings point into obj: nothing else to free */
    return r;
}
