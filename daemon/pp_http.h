/*
 * pp_http: the daemon's embedded observability endpoint (libmicrohttpd).
 *
 *   GET /healthz  200 "ok\n" while the process runs (liveness)
 *   GET /readyz   200 "ready\n" once pp_http_set_ready(h, true, ...) was
 *                 called, else 503 "not ready: <reason>\n" (readiness)
 *   GET /metrics  200, Content-Type "text/plain; version=0.0.4", the text
 *                 last given to pp_http_publish_metrics() (empty before)
 *   HEAD on those routes is answered like GET without a body; any other
 *   path is 404 (whatever the method), any other method on these three
 *   paths 405 (with "Allow: GET, HEAD"). Request bodies are never read.
 *
 * Threads: MHD answers requests on its own internal polling thread. The
 * daemon's loop only hands values over (readiness, the rendered metrics
 * text); they are copied under a mutex, so nothing is shared unprotected
 * and a request never waits for the loop. The loop renders the text (see
 * pp_metrics.h) and never waits for a request either.
 *
 * Bounds: at most PP_HTTP_MAX_CONNECTIONS connections at once, a client
 * idle for PP_HTTP_TIMEOUT_S seconds is dropped, request headers are
 * limited by MHD's per-connection memory pool, and the published text is
 * capped at PP_HTTP_MAX_METRICS bytes.
 *
 * Library code: nothing is logged; libmicrohttpd's own messages are
 * captured, not printed, and the one that explains a failed start is
 * returned in the error sentence.
 */
#ifndef PP_HTTP_H
#define PP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define PP_HTTP_MAX_CONNECTIONS 32
#define PP_HTTP_TIMEOUT_S 5
#define PP_HTTP_MAX_METRICS (1024u * 1024u)
#define PP_HTTP_REASON_MAX 200 /* longer readiness reasons are truncated */

typedef struct pp_http pp_http_t;

/*
 * Listen on bind_addr:port and start answering on MHD's thread.
 *
 * bind_addr is an IP literal: IPv4 ("127.0.0.1", "0.0.0.0") or IPv6
 * ("::1", "::"); NULL or "" means 127.0.0.1. Host names are rejected, not resolved: a daemon should not
 * depend on DNS to expose its health. port is 0..65535; 0 asks the kernel
 * for a free port (tests; read it back with pp_http_port()). A configured
 * "http port 0 = endpoint disabled" is the caller's business: it does not
 * call pp_http_start() at all.
 *
 * The endpoint starts not ready (reason "starting").
 *
 * Returns the endpoint, or NULL with a sentence in err (OUT, err_len bytes,
 * always terminated when err_len > 0) saying what was wrong and what to do,
 * e.g. when the port is already in use.
 */
pp_http_t *pp_http_start(const char *bind_addr, int port, char *err, size_t err_len);

/* Stop answering, close the socket and free. Waits for a request in
 * progress to finish (bounded by the timeout). NULL-safe. */
void pp_http_stop(pp_http_t *h);

/* The TCP port actually listened on (the kernel's choice when started with
 * port 0). */
int pp_http_port(const pp_http_t *h);

/*
 * Set what /readyz answers. reason is copied (may be NULL; truncated to
 * PP_HTTP_REASON_MAX bytes, control characters replaced by spaces); it is
 * shown only while not ready.
 */
void pp_http_set_ready(pp_http_t *h, bool ready, const char *reason);

/*
 * Replace the text /metrics serves with a copy of text[0..len). The text is
 * expected to be a complete Prometheus text exposition (version 0.0.4).
 * Returns 0; -EMSGSIZE if len > PP_HTTP_MAX_METRICS or -ENOMEM, and then the
 * previously published text keeps being served.
 */
int pp_http_publish_metrics(pp_http_t *h, const char *text, size_t len);

#endif
