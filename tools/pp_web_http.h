/*
 * pp_web_http: the HTTP server of `partnerpulse web` (libmicrohttpd, one
 * thread per connection: an SSE stream blocks its own thread only).
 *
 *   GET /, /partner/<id>     <assets_dir>/index.html (the single-page app)
 *   GET /assets/<path>       a file of assets_dir (.js .css .html .svg .png
 *                            .json .map .txt .woff2 .ico; no directory
 *                            listing, no path out of assets_dir, no
 *                            symbolic link followed)
 *   GET /api/leaderboard, /api/partner/<id>, /api/alerts   pp_web_api.h
 *   GET /api/stream          Server-Sent Events, pp_web_sse.h
 *   GET /healthz             200 "ok" when Redis answers PING, else 503
 * HEAD as GET without the body; other methods 405. docs/dashboard.md is the
 * contract. Every answer carries the Content-Security-Policy,
 * X-Content-Type-Options and Referrer-Policy headers of
 * PP_WEB_CSP and friends.
 *
 * Auth ([web] token, basic_user/basic_password): every route but /healthz
 * needs `Authorization: Bearer <token>` or the cookie pp_token=<token>, or
 * HTTP Basic credentials; a page URL with ?token=<token> sets the cookie
 * (HttpOnly, SameSite=Strict, Path=/) and redirects to the path without
 * the query. Secrets are compared in constant time and never logged.
 *
 * Bounds: PP_WEB_MAX_CONNECTIONS connections (SSE included), request
 * headers within MHD's per-connection memory pool, request bodies never
 * read. Logs (stderr) one line per failed request (5xx) and per failed
 * start, never a secret.
 */
#ifndef PP_WEB_HTTP_H
#define PP_WEB_HTTP_H

#include <stddef.h>

#include "pp_web_api.h"

#define PP_WEB_MAX_CONNECTIONS 256
#define PP_WEB_TIMEOUT_S 60 /* an idle keep-alive connection is closed */
#define PP_WEB_CSP "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'"

typedef struct pp_web_http pp_web_http_t;

/* Listen on app->cfg's listen:port and answer. NULL with a sentence in err. */
pp_web_http_t *pp_web_http_start(const pp_web_app_t *app, char *err, size_t err_len);

/* The TCP port listened on (the kernel's choice for port 0). */
int pp_web_http_port(const pp_web_http_t *h);

/* Stop listening, end every connection (SSE streams: stop the hub first)
 * and free. NULL-safe. */
void pp_web_http_stop(pp_web_http_t *h);

#endif
