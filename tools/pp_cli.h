/*
 * pp_cli: shared pieces of the `partnerpulse` command-line tool.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "pp_event.h"

/* Subcommands: argv[0] is the subcommand name. Return the process exit code. */
int pp_cmd_produce(int argc, char **argv);
int pp_cmd_show(int argc, char **argv);
int pp_cmd_top(int argc, char **argv);
int pp_cmd_topics(int argc, char **argv);
int pp_cmd_alerts(int argc, char **argv);
int pp_cmd_dlq(int argc, char **argv);
int pp_cmd_drain(int argc, char **argv);
int pp_cmd_snooze(int argc, char **argv);
int pp_cmd_latency(int argc, char **argv);

/* Environment variable value or a default. */
const char *pp_cli_env(const char *name, const char *dflt);

/* Connect to Redis (3 s timeouts), AUTH with $PP_REDIS_PASSWORD (and
 * $PP_REDIS_USER) if set, SELECT db if not 0. NULL after printing why. */
struct redisContext;
struct redisContext *pp_cli_redis_connect(const char *host, int port, int db);

/* JSON "type" name -> input topic kind and message descriptor; -1 if unknown. */
int pp_json_type(const char *type, pp_topic_t *topic, const ProtobufCMessageDescriptor **desc);

/*
 * Fill a protobuf message (already initialised with protobuf_c_message_init)
 * from the JSON object's fields, by field name, enums by value name. The
 * "type" key is skipped. String fields point into obj (keep obj alive until
 * the message is packed). Returns 0, or -1 with a sentence in err.
 */
int pp_json_to_message(json_t *obj, ProtobufCMessage *msg, char *err, size_t err_len);

/* The reverse, for display: a new JSON object with the message's fields
 * (enums as names, only non-default values). */
json_t *pp_message_to_json(const ProtobufCMessage *msg);

#endif
