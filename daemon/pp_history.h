/*
 * pp_history: "history pages no one" (DESIGN §7), the decisions the daemon
 * takes around the core. Pure: no I/O, no clock, no logging; time comes in
 * as arguments, so the unit tests drive it by hand.
 *
 *  - pp_history_filter: which alert transitions of one engine call are
 *    published as the core said, held back as history (a FIRING whose event
 *    time is more than [alerts] publish_max_age behind the wall clock), or
 *    belong to a held-back episode (its RESOLVED: never published).
 *  - pp_catchup_*: per input partition, whether it is still catching up (its
 *    timers run on its event-time watermark, its held-back episodes wait) or
 *    caught up (live timers on the wall clock; held-back episodes released).
 *  - pp_history_release: what becomes of a held-back episode when its
 *    partition has caught up.
 *
 * A held-back episode is marked in the partner's state (rules[r].held_back,
 * with `published` left set, so the core neither re-emits its FIRING nor
 * treats it as inhibited); the daemon keeps a copy of its FIRING in Redis
 * (pp:heldback:<p>, docs/redis.md) written in the same transaction.
 */
#ifndef PP_HISTORY_H
#define PP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_engine.h"
#include "pp_partner.h"

/* What the daemon does with one transition besides recording it. */
enum pp_hist_verdict {
    PP_HIST_AS_IS = 0,   /* published or not as the core decided */
    PP_HIST_HOLD = 1,    /* a FIRING held back as history: keep its copy until release */
    PP_HIST_UNHOLD = 2,  /* the RESOLVED of a held-back episode: not published, drop the copy */
};

/* Bit r set: rule r's open episode is held back. Take it before an engine
 * call on st: the call zeroes the rule state of an episode it resolves. */
unsigned pp_history_held_mask(const pp_partner_t *st);

/* Bit r set: rule r has an open episode whose FIRING went out to consumers
 * (published, not held back). Taken before an engine call too: a FIRING of
 * such a rule (not resolved earlier in the call) updates what consumers
 * already know (going_dark turning CRITICAL). */
unsigned pp_history_published_mask(const pp_partner_t *st);

/*
 * Decide, in order, for the n transitions out[] one engine call produced on
 * st (held_before = pp_history_held_mask(st), published_before =
 * pp_history_published_mask(st), both taken before that call):
 *   - a FIRING the core would publish whose event time is more than
 *     max_age_ms behind its emitted_at_ms (the wall clock when computed) is
 *     held back: publish cleared, verdict HOLD (max_age_ms 0 = no limit);
 *     so is a FIRING of an episode held back already (an update of it, e.g.
 *     going_dark turning CRITICAL): its copy replaces the stored one; an
 *     old update of an episode consumers know is recorded only (publish
 *     cleared, verdict AS_IS: its RESOLVED still goes out as its FIRING
 *     did);
 *   - the RESOLVED of a held-back episode: publish cleared, verdict UNHOLD;
 *   - everything else AS_IS. A RESOLVED whose FIRING was published is
 *     published whatever its age: it closes what consumers opened.
 * Then st->rules[r].held_back says, for every rule in out[], whether its
 * open episode (if any) is held back. verdict[] holds n entries.
 * Returns how many transitions were held back (HOLD + UNHOLD).
 */
int pp_history_filter(pp_partner_t *st, unsigned held_before, unsigned published_before, int64_t max_age_ms,
                      pp_alert_t *out, uint8_t *verdict, int n);

/* What pp_history_release did. */
enum pp_hist_release {
    PP_RELEASE_PUBLISH = 0,   /* still open and held back: publish the stored FIRING now */
    PP_RELEASE_HAND_BACK = 1, /* still open, but snoozed now: left to the core, which publishes it
                                 when a timed snooze ends and never under "until it clears" */
    PP_RELEASE_STALE = 2,     /* not an open held-back episode of st (any more): nothing to publish */
};

/*
 * Release the held-back episode whose stored FIRING is `held` (of partner
 * st, whose state must be current). PUBLISH clears held_back (published
 * stays set: its RESOLVED will be published); HAND_BACK clears held_back and
 * published; STALE changes nothing. In every case the stored copy goes.
 */
enum pp_hist_release pp_history_release(pp_partner_t *st, const pp_alert_t *held);

/*
 * Read a stored FIRING (a partnerpulse.v1.Alert as pp_alert_pack wrote it)
 * back into *out (publish = true, partition = -1: the caller knows it) and
 * its config_version into cv[cv_cap]. Returns 0, or -EBADMSG (not an Alert,
 * or an unknown rule).
 */
int pp_history_unpack(const uint8_t *buf, size_t len, pp_alert_t *out, char *cv, size_t cv_cap);

/* ---- catching up, per input partition ---- */

typedef struct pp_catchup pp_catchup_t;

/* Tracker for partitions 0..max_partitions-1; a partition further behind
 * than max_lag messages (summed over its input topics) is catching up.
 * NULL on OOM. */
pp_catchup_t *pp_catchup_new(int max_partitions, int64_t max_lag);
void pp_catchup_free(pp_catchup_t *c); /* NULL-safe */

/* p was (re)assigned: catching up until it has reached its end. */
void pp_catchup_assigned(pp_catchup_t *c, int32_t p);

/* The consumer reached the end of (topic, p), with `held` messages of it
 * still waiting in the event-time merge. The first time since p was
 * assigned (or fell behind), those are the tail of its backlog. */
void pp_catchup_at_end(pp_catchup_t *c, pp_topic_t topic, int32_t p, size_t held);

/* The merge released (topic, p)'s oldest held message (it releases each
 * topic partition's messages in order). */
void pp_catchup_released(pp_catchup_t *c, pp_topic_t topic, int32_t p);

/* p's consumer lag (< 0: unknown, ignored). A caught-up partition that is
 * more than max_lag behind again is catching up again, until it reaches its
 * end anew. Returns true when that happened. */
bool pp_catchup_lag(pp_catchup_t *c, int32_t p, int64_t lag);

/*
 * May p, still catching up, be declared caught up? Every input topic of p
 * has reached its end since p was assigned (or fell behind), the tail of
 * its backlog has been released by the merge (the caller has applied what
 * was released), and its lag is within max_lag. What arrived after a
 * topic's end is the head of the stream: it does not hold p back.
 */
bool pp_catchup_ready(const pp_catchup_t *c, int32_t p);

/* Declare p caught up (after its last sweep on the watermark). */
void pp_catchup_set(pp_catchup_t *c, int32_t p);

/* p is caught up (false for a partition out of range). */
bool pp_catchup_done(const pp_catchup_t *c, int32_t p);

#endif
