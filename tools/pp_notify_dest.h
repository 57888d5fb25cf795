/*
 * pp_notify_dest: one destination of `partnerpulse notify` — a bounded FIFO
 * of deliveries and the thread that works it (docs/notify.md#delivery).
 *
 * The consumer thread renders each routed alert and pushes it; the
 * destination's thread POSTs the head of its queue until the receiver
 * answers 2xx (retries with exponential backoff, pp_notify_backoff.h, or the
 * receiver's Retry-After, capped), then acknowledges the alert's record
 * (pp_notify_track_done) and takes the next. One queue per destination: a
 * destination that is down holds only its own queue; order per destination
 * is the topic's order (a RESOLVED never overtakes its FIRING).
 *
 * Alertmanager destinations also keep the alerts they have seen firing and
 * re-post them every repost_interval_ms with endsAt = now + 4 intervals, as
 * Prometheus does; at start they adopt the firing alerts Alertmanager already
 * holds from us (annotation alert_id), so a restart does not let them lapse.
 *
 * Logs with the destination's name, never its URL, secret or key.
 */
#ifndef PP_NOTIFY_DEST_H
#define PP_NOTIFY_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_notify_alert.h"
#include "pp_notify_config.h"
#include "pp_notify_track.h"

#define PP_NOTIFY_AM_OPEN_MAX 50000 /* firing alerts an Alertmanager destination re-posts */
#define PP_NOTIFY_AM_CHUNK 500      /* alerts per re-post request */

typedef struct pp_notify_dest pp_notify_dest_t;

/*
 * Start the thread of destination dc. cfg and dc must outlive the
 * destination. curl_global_init() must have run. NULL (with a sentence in
 * err) when out of memory or threads.
 */
pp_notify_dest_t *pp_notify_dest_start(const pp_notify_config_t *cfg, const pp_notify_dest_config_t *dc, char *err,
                                       size_t err_len);

/* Whether the queue holds [notify] queue_max deliveries (push would fail). */
bool pp_notify_dest_full(pp_notify_dest_t *d);

/* Deliveries queued (the one being attempted included). */
size_t pp_notify_dest_queued(pp_notify_dest_t *d);

/*
 * Render a for this destination and queue it; rec (may be NULL) gets one
 * pp_notify_track_done() once the receiver acknowledged it. now_ms is the
 * wall clock. Returns 0, -ENOSPC if the queue is full (nothing queued), or
 * -ENOMEM.
 */
int pp_notify_dest_push(pp_notify_dest_t *d, const pp_notify_alert_t *a, pp_notify_record_t *rec, int64_t now_ms);

/*
 * Stop: keep delivering what is queued for at most drain_ms, then end the
 * thread, join it and free d. Deliveries left are not acknowledged (their
 * alerts are consumed again at the next start). NULL-safe. Returns the
 * number of deliveries left undelivered.
 */
size_t pp_notify_dest_stop(pp_notify_dest_t *d, int drain_ms);

#endif
