/*
 * pp_web_api: the JSON routes of `partnerpulse web` (docs/dashboard.md is
 * their contract):
 *
 *   GET /api/leaderboard  pp_web_api_leaderboard()
 *   GET /api/partner/<id> pp_web_api_partner()
 *   GET /api/alerts       pp_web_api_alerts()
 *   GET /healthz          pp_web_api_healthz()
 *
 * Each returns the HTTP status and sets *ret_body (OUT, a new JSON value
 * the caller owns) to the answer or to {"error": "<sentence>"}. No HTTP in
 * here: query arguments come through a getter, so the HTTP layer owns
 * libmicrohttpd. Redis contexts are taken from the app's pool and given
 * back before returning.
 */
#ifndef PP_WEB_API_H
#define PP_WEB_API_H

#include <jansson.h>

#include "pp_web_config.h"
#include "pp_web_index.h"
#include "pp_web_redis.h"
#include "pp_web_sse.h"

#define PP_WEB_ALERTS_SCAN_MAX 10000 /* entries /api/alerts?partner= looks through */
#define PP_WEB_CATCH_UP_MAX 1000     /* alerts an SSE reconnection catches up on */

/* What the routes share (all borrowed; they outlive the HTTP server). */
typedef struct pp_web_app {
    const pp_web_config_t *cfg;
    pp_web_redis_t *pool;
    pp_web_index_t *index;
    pp_web_sse_t *sse;
} pp_web_app_t;

/* A query argument by name; NULL when absent. */
typedef const char *(*pp_web_arg_fn)(void *ctx, const char *name);

unsigned pp_web_api_leaderboard(const pp_web_app_t *app, pp_web_arg_fn arg, void *ctx, json_t **ret_body);
unsigned pp_web_api_partner(const pp_web_app_t *app, const char *id, json_t **ret_body);
unsigned pp_web_api_alerts(const pp_web_app_t *app, pp_web_arg_fn arg, void *ctx, json_t **ret_body);

/* 200 when Redis answers PING, else 503; *ret_text (OUT) is static text. */
unsigned pp_web_api_healthz(const pp_web_app_t *app, const char **ret_text);

/*
 * The SSE catch-up of a browser that reconnects with Last-Event-ID
 * last_id: the alert frames after it (at most PP_WEB_CATCH_UP_MAX), as one
 * malloc'ed text, and *ret_last (OUT, 48 bytes) the last id they cover
 * (last_id itself when none). NULL when last_id is not a stream id, Redis
 * is unavailable, or there is nothing.
 */
char *pp_web_api_catch_up(const pp_web_app_t *app, const char *last_id, char *ret_last);

#endif
