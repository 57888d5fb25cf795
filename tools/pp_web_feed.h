/*
 * pp_web_feed: the two background threads of `partnerpulse web` that keep
 * it current from Redis, each on a Redis connection of its own:
 *
 *   - the index thread builds the leaderboard index, polls pp:health every
 *     [web] poll_ms for moved scores, and rebuilds it every
 *     index_refresh_ms (pp_web_index.h);
 *   - the alert thread waits on pp:alerts (XREAD BLOCK from the stream's
 *     last entry at start, then from the last one seen, so a reconnection
 *     misses nothing the stream still holds), publishes each new entry to
 *     the SSE hub and re-reads its partner's row.
 *
 * Redis unreachable: each thread logs once when it loses Redis and once
 * when it has it back, and retries every PP_WEB_RETRY_MS meanwhile.
 */
#ifndef PP_WEB_FEED_H
#define PP_WEB_FEED_H

#include "pp_web_api.h"

#define PP_WEB_RETRY_MS 1000
#define PP_WEB_XREAD_COUNT 100 /* alert entries per XREAD */

typedef struct pp_web_feed pp_web_feed_t;

/* Start both threads. NULL when a thread cannot be created. */
pp_web_feed_t *pp_web_feed_start(const pp_web_app_t *app);

/* Ask both threads to stop, join them (within about a second) and free.
 * NULL-safe. */
void pp_web_feed_stop(pp_web_feed_t *f);

#endif
