/*
 * pp_cli: shared pieces of the `partnerpulse` command-line tool.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "pp_event.h"
#include "pp_json.h" /* consumers/: the JSON form of the events, shared with the daemon */

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
int pp_cmd_web(int argc, char **argv); /* tools/pp_web.c: the dashboard server */
int pp_cmd_notify(int argc, char **argv); /* tools/pp_notify.c: alert delivery */

/* Milliseconds of CLOCK_MONOTONIC (intervals, deadlines) and of
 * CLOCK_REALTIME (Unix ms: timestamps others read). */
int64_t pp_cli_mono_ms(void);
int64_t pp_cli_wall_ms(void);

/* Environment variable value or a default. */
const char *pp_cli_env(const char *name, const char *dflt);

/* Where and as whom to reach Redis (the [redis] keys of docs/configuration.md). */
typedef struct pp_cli_redis_opts {
    const char *host;     /* host name, IP, or a path starting with '/' (Unix socket) */
    int port;             /* TCP port (ignored for a Unix socket) */
    const char *user;     /* ACL user; NULL or "" = none (AUTH with the password alone) */
    const char *password; /* NULL or "" = no AUTH; never copied into err */
    int db;               /* SELECTed when not 0 */
    int timeout_ms;       /* connect and command timeout */
} pp_cli_redis_opts_t;

/*
 * Connect to Redis, AUTH if a password is set, SELECT db if not 0, and set
 * the command timeout. On success *ret_c (OUT) is a new context the caller
 * owns (redisFree); hiredis contexts are not thread-safe: one thread at a
 * time. Returns 0; -EHOSTUNREACH (cannot connect), -EACCES (AUTH refused)
 * or -EIO (SELECT or another failure) with a sentence in err (never the
 * password). Prints nothing.
 */
struct redisContext;
int pp_cli_redis_open(const pp_cli_redis_opts_t *o, struct redisContext **ret_c, char *err, size_t err_len);

/* pp_cli_redis_open() with 3 s timeouts, AUTH with $PP_REDIS_PASSWORD (and
 * $PP_REDIS_USER) if set. NULL after printing why. */
struct redisContext *pp_cli_redis_connect(const char *host, int port, int db);

#endif
