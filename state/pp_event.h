/*
 * pp_event: decode and validate one input message into a flat, bounded
 * event record the core can apply.
 *
 * Pure: no I/O, no clock (the caller passes "now" for the future-time check),
 * no allocation that outlives a call. The protobuf is unpacked with
 * protobuf-c and copied into fixed-size fields; identifiers the state only
 * needs to match (deal, thread, commitment, referral ids) are kept as 64-bit
 * hashes. Every rejection carries a stable reason code (used as the DLQ
 * header and metric label) and a human sentence.
 */
#ifndef PP_EVENT_H
#define PP_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_ID_MAX 128      /* partner_id, event_id and other ids: max bytes */
#define PP_TEXT_MAX 128    /* tier, owner, display_name: max bytes */
#define PP_MIN_TIME_MS 946684800000LL /* 2000-01-01T00:00:00Z */

/* The input topics, in a fixed order used for per-topic offsets. */
typedef enum pp_topic {
    PP_TOPIC_DEALS = 0,
    PP_TOPIC_REFERRALS = 1,
    PP_TOPIC_ENGAGEMENTS = 2,
    PP_TOPIC_LIFECYCLE = 3,
    PP_TOPIC_COUNT = 4
} pp_topic_t;

/* Enum values equal the protobuf values of partnerpulse.v1. */
enum pp_stage { PP_STAGE_REGISTERED = 1, PP_STAGE_QUALIFIED, PP_STAGE_PROPOSAL, PP_STAGE_WON, PP_STAGE_LOST };
enum pp_attr { PP_ATTR_SOURCED = 1, PP_ATTR_INFLUENCED = 2 };
enum pp_ref_dir { PP_REF_TO_US = 1, PP_REF_TO_PARTNER = 2 };
enum pp_ref_status { PP_REF_SENT = 1, PP_REF_ACCEPTED, PP_REF_CONVERTED, PP_REF_REJECTED };
enum pp_dir { PP_DIR_INBOUND = 1, PP_DIR_OUTBOUND = 2 };
enum pp_kind {
    PP_KIND_MESSAGE = 1, PP_KIND_MEETING, PP_KIND_COMMITMENT_MADE, PP_KIND_COMMITMENT_DELIVERED,
    PP_KIND_COMMITMENT_MISSED, PP_KIND_CO_MARKETING, PP_KIND_TRAINING, PP_KIND_REQUEST
};
enum pp_lifecycle { PP_LC_SIGNED = 1, PP_LC_TIER_CHANGED, PP_LC_TYPE_CHANGED, PP_LC_OWNER_CHANGED, PP_LC_EXITED, PP_LC_SNOOZE,
                   PP_LC_PROFILE_CHANGED };
/* EngagementEvent.expects_reply (DESIGN §4). */
enum pp_reply { PP_REPLY_DEFAULT = 0, PP_REPLY_YES = 1, PP_REPLY_NO = 2 };
#define PP_EVENT_ZONE_MAX 47 /* bytes of an IANA zone name (the longest is 32) */
#define PP_EVENT_CAL_MAX 23  /* bytes of a calendar name */
enum pp_ptype { PP_PTYPE_NONE = 0, PP_PTYPE_REFERRAL = 1, PP_PTYPE_RESELLER, PP_PTYPE_TECHNOLOGY, PP_PTYPE_CO_SELL };

/* Why a message was rejected. Names (pp_reject_name) are a public contract:
 * they appear in the DLQ header "pp-reason" and in metrics. */
typedef enum pp_reject {
    PP_OK = 0,
    PP_REJ_UNDECODABLE,      /* bytes are not a valid protobuf of the topic's type */
    PP_REJ_OVERSIZE,         /* message larger than the configured limit */
    PP_REJ_PARTNER_ID,       /* missing, too long or bad charset */
    PP_REJ_EVENT_ID,         /* missing or too long */
    PP_REJ_TIME,             /* occurred_at_ms before 2000 or too far in the future */
    PP_REJ_ENUM,             /* unspecified or unknown enum value */
    PP_REJ_AMOUNT,           /* negative or above the configured maximum */
    PP_REJ_STRING,           /* another string field empty where required, or too long */
    PP_REJ_KEY_MISMATCH,     /* Kafka key differs from partner_id */
    PP_REJ_WRONG_TOPIC,      /* carries another event type's fields */
    PP_REJ_TIMEZONE,         /* timezone is not an IANA zone name the daemon knows */
    PP_REJ_CALENDAR,         /* calendar names no configured [calendar:NAME] */
    PP_REJ_CURRENCY,         /* currency is no ISO 4217 code, or has no configured rate */
    /* input formats (consumers/pp_format.h): the framing around the protobuf */
    PP_REJ_FORMAT,           /* not the topic's declared format (JSON on a protobuf topic...) */
    PP_REJ_SR_FRAMING,       /* Schema Registry header truncated or malformed */
    PP_REJ_SR_SCHEMA_ID,     /* Schema Registry schema id not in the topic's allow-list */
    PP_REJ_JSON_SYNTAX,      /* not valid JSON */
    PP_REJ_JSON_MAPPING,     /* JSON that does not map onto the topic's message (field, type, enum name) */
    PP_REJ_COUNT
} pp_reject_t;

/* Limits applied by pp_event_decode (configurable by the daemon). */
typedef struct pp_limits {
    size_t max_message_bytes;     /* whole protobuf payload */
    int64_t max_amount_minor;     /* amounts above are rejected as absurd */
    int64_t max_future_skew_ms;   /* occurred_at_ms may be at most now + this */
} pp_limits_t;

void pp_limits_default(pp_limits_t *lim);

/* One decoded, validated input event. Plain data, no pointers. */
typedef struct pp_event {
    pp_topic_t topic;                 /* which kind of event (= source topic) */
    char event_id[PP_ID_MAX + 1];
    char partner_id[PP_ID_MAX + 1];
    int64_t occurred_at_ms;           /* event time */
    union {
        struct {
            uint64_t deal;            /* hash of deal_id */
            int stage;                /* enum pp_stage */
            int attribution;          /* enum pp_attr */
            int64_t amount_minor;
            char currency[4];
        } deal;
        struct {
            uint64_t referral;        /* hash of referral_id */
            int direction;            /* enum pp_ref_dir */
            int status;               /* enum pp_ref_status */
            int64_t value_minor;
            char currency[4];         /* ISO 4217, "" = the reporting currency */
        } referral;
        struct {
            uint64_t thread;          /* hash of thread_id (0 if none) */
            uint64_t commitment;      /* hash of commitment_id (0 if none) */
            int direction;            /* enum pp_dir */
            int kind;                 /* enum pp_kind */
            int64_t due_at_ms;
            bool automated;
            int expects_reply;        /* enum pp_reply */
        } eng;
        struct {
            int kind;                 /* enum pp_lifecycle */
            int partner_type;         /* enum pp_ptype, 0 = not given */
            char tier[PP_TEXT_MAX + 1];
            char owner[PP_TEXT_MAX + 1];
            char display_name[PP_TEXT_MAX + 1];
            int snooze_rule;          /* SNOOZE: enum pp_rule */
            int64_t snooze_until_ms;  /* SNOOZE: 0 = until the alert clears */
            char timezone[PP_EVENT_ZONE_MAX + 1]; /* IANA zone, "" = not given */
            char calendar[PP_EVENT_CAL_MAX + 1];  /* calendar name, "" = not given */
        } lc;
    } u;
} pp_event_t;

/*
 * Decode the protobuf payload of a message from input topic `topic` into *ev.
 * `key`/`key_len` is the Kafka message key (may be NULL: not checked).
 * `now_ms` bounds the allowed future skew.
 * Returns PP_OK, or a rejection code with a sentence in `why` (NUL-terminated,
 * truncated to why_len). *ev is fully overwritten on PP_OK only.
 */
pp_reject_t pp_event_decode(pp_topic_t topic, const uint8_t *buf, size_t len, const char *key,
                            size_t key_len, const pp_limits_t *lim, int64_t now_ms, pp_event_t *ev,
                            char *why, size_t why_len);

/* Write the sentence fmt... into why (NUL-terminated, truncated to why_len;
 * nothing when why is NULL) and return r: how every decoder of input
 * (here, consumers/pp_format.c) reports a rejection. */
pp_reject_t pp_event_reject(char *why, size_t why_len, pp_reject_t r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Stable lower-case name of a rejection ("undecodable", "partner_id", ...). */
const char *pp_reject_name(pp_reject_t r);

/* Name of an input topic kind ("deals", "referrals", "engagements", "lifecycle"). */
const char *pp_topic_name(pp_topic_t t);

/* True when s[0..len) is a valid partner id: 1..128 bytes of [A-Za-z0-9._:-]. */
bool pp_partner_id_valid(const char *s, size_t len);

/* 64-bit FNV-1a hash of a string; never returns 0 for a non-empty string. */
uint64_t pp_hash_str(const char *s);

#endif
