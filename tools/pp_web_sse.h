/*
 * pp_web_sse: the live feed of `partnerpulse web` (GET /api/stream,
 * Server-Sent Events; docs/dashboard.md).
 *
 * A hub keeps the last PP_WEB_SSE_RING frames in a ring, each numbered;
 * publishers (the alert reader, the index's change callback) append, and
 * every client holds the number of the next frame it sends. A client that
 * falls a whole ring behind is disconnected (the browser reconnects with
 * Last-Event-ID and catches up on the alerts from Redis). Frames:
 *   event: alert / id: <stream id> / data: <alert JSON>
 *   event: health / data: <leaderboard row JSON>
 *   ": ping" every PP_WEB_SSE_PING_S seconds without a frame.
 *
 * Threads: publishers and clients on any threads (one mutex, one condition
 * variable). A client's read blocks its (libmicrohttpd per-connection)
 * thread until there is something to send, waking every second to see
 * whether its peer hung up (then the read fails and MHD frees the
 * connection) or the hub is stopping (then the stream ends).
 */
#ifndef PP_WEB_SSE_H
#define PP_WEB_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define PP_WEB_SSE_RING 4096
#define PP_WEB_SSE_PING_S 15
#define PP_WEB_SSE_RETRY_MS 3000 /* the browser's reconnection delay */

typedef struct pp_web_sse pp_web_sse_t;
typedef struct pp_web_sse_client pp_web_sse_client_t;

pp_web_sse_t *pp_web_sse_new(void);
/* All clients must be freed first. NULL-safe. */
void pp_web_sse_free(pp_web_sse_t *hub);

/* Ends every client's stream (within a second) and refuses new frames. */
void pp_web_sse_stop(pp_web_sse_t *hub);

/* Append an alert (stream entry id, its JSON) / a changed row. */
void pp_web_sse_publish_alert(pp_web_sse_t *hub, const char *stream_id, const json_t *alert);
void pp_web_sse_publish_health(pp_web_sse_t *hub, const json_t *row);

/* Clients connected now. */
size_t pp_web_sse_clients(pp_web_sse_t *hub);

/*
 * A client that sends every frame published from now on; fd is its socket
 * (only polled, to notice a hang-up). NULL when out of memory.
 */
pp_web_sse_client_t *pp_web_sse_client_new(pp_web_sse_t *hub, int fd);

/*
 * Frames to send first (a catch-up from Last-Event-ID: alert frames as
 * pp_web_sse_alert_frame() makes them, may be NULL) and the last stream id
 * they cover: alert frames of the ring at or before it are skipped. Call
 * before the first read. text is copied.
 */
void pp_web_sse_client_catch_up(pp_web_sse_client_t *cl, const char *text, const char *last_id);

/* The alert frame for one entry, malloc'ed (NULL when out of memory). */
char *pp_web_sse_alert_frame(const char *stream_id, const json_t *alert);

/*
 * libmicrohttpd's content reader: up to max bytes into buf; blocks until
 * there is something. Returns the byte count, or
 * MHD_CONTENT_READER_END_OF_STREAM (hub stopping) /
 * MHD_CONTENT_READER_END_WITH_ERROR (peer gone, fell behind).
 */
ssize_t pp_web_sse_client_read(void *cls, uint64_t pos, char *buf, size_t max);

/* libmicrohttpd's free callback: leaves the hub and frees. NULL-safe. */
void pp_web_sse_client_free(void *cls);

#endif
