/*
 * pp_web_redis: how `partnerpulse web` reaches Redis (read-only).
 *
 * A pool of hiredis contexts for the request threads: a thread takes one
 * (pp_web_redis_get), uses it alone (hiredis contexts are not thread-safe)
 * and gives it back (pp_web_redis_put). The background threads (index
 * poller, alert reader) each own one context of their own, also opened
 * here. Only read commands are ever sent (docs/dashboard.md: PING, AUTH,
 * SELECT, ZRANGE, ZCARD, HMGET, HGETALL, XRANGE, XREVRANGE, XREAD).
 *
 * Also the pieces of the public Redis contract (docs/redis.md) that more
 * than one route needs: partner id validation, alert stream entry -> JSON.
 */
#ifndef PP_WEB_REDIS_H
#define PP_WEB_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "pp_web_config.h"

#define PP_WEB_POOL_IDLE_MAX 16 /* idle contexts kept; more are closed when given back */
#define PP_WEB_ID_MAX 128       /* longest partner id (docs/redis.md) */
#define PP_WEB_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

typedef struct pp_web_redis pp_web_redis_t;

/* A pool for cfg's [redis] (cfg must outlive it). NULL when out of memory. */
pp_web_redis_t *pp_web_redis_new(const pp_web_config_t *cfg);

/* Close every idle context and free. Contexts still taken must have been
 * given back or freed. NULL-safe. */
void pp_web_redis_free(pp_web_redis_t *p);

/*
 * A connected context for the calling thread's exclusive use: an idle one,
 * or a new connection. NULL with a sentence in err (OUT) when Redis cannot
 * be reached or refuses AUTH/SELECT.
 */
redisContext *pp_web_redis_get(pp_web_redis_t *p, char *err, size_t err_len);

/* Give c back (NULL-safe). A context in error (c->err) is closed. */
void pp_web_redis_put(pp_web_redis_t *p, redisContext *c);

/* A new connection that is not pooled (a background thread's own). */
redisContext *pp_web_redis_open(const pp_web_config_t *cfg, char *err, size_t err_len);

/* 1-128 characters of [A-Za-z0-9._:-] (docs/redis.md). */
bool pp_web_valid_id(const char *id);

/*
 * One pp:alerts entry (a reply [id, [field, value, ...]] of XRANGE,
 * XREVRANGE or XREAD) as a new JSON object: every field, numbers where the
 * field is numeric (health, value, threshold, *_ms, published; a value that
 * does not parse stays a string), plus "id" = the entry id. NULL if the
 * reply does not have that shape.
 */
json_t *pp_web_alert_json(const redisReply *entry);

/* s as a new JSON string; bytes that are not UTF-8 become '?' (a JSON
 * text must be UTF-8; the daemon writes UTF-8, this is for the odd hash
 * edited by hand). */
json_t *pp_web_json_str(const char *s);

/* A JSON text (PP_WEB_JSON_FLAGS) of v, malloc'ed; NULL when out of memory. */
char *pp_web_json_text(const json_t *v);

#endif
