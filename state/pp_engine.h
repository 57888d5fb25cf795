/*
 * pp_engine: the partner-health engine. Applies an event (or the passage of
 * time) to a partner's state, recomputes the health score with its
 * explanation, evaluates the red-flag rules and runs each rule's alert
 * lifecycle: one FIRING when it trips, one RESOLVED when it clears, nothing
 * in between, with a deterministic alert_id per episode.
 *
 * This header is the core's one include for callers: it also gives the
 * alert (pp_alert.h), the RAG (pp_score.h) and what people see of a partner
 * (pp_view.h: the public hash, the explanation, the flags). The engine
 * itself is the lifecycle; what each rule is lives in pp_rules (internal).
 *
 * Two clocks come in as arguments, never read here:
 *   - event time (`now_ms` of a tick, the event's occurred_at_ms on apply):
 *     windows, scores and rule deadlines use it; in live mode the daemon ticks
 *     with wall-clock time, in replay mode with the event-time watermark;
 *   - processing time (`proc_ms`): stamped as emitted_at_ms / updated_at_ms.
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_ENGINE_H
#define PP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "pp_alert.h"
#include "pp_event.h"
#include "pp_partner.h"
#include "pp_policy.h"
#include "pp_score.h"
#include "pp_view.h"

#define PP_ENGINE_MAX_ALERTS (2 * PP_R_COUNT) /* per evaluation, at most */
#define PP_ENGINE_ALERTS_CAP (8 * PP_ENGINE_MAX_ALERTS) /* out[] size for apply/advance */

/* Ask the CPU for the cache lines of st that pp_engine_apply(st, ev) will
 * touch, without waiting for them. A caller with a batch of events calls it
 * a few events ahead of the apply, so that the misses of one partner's
 * state overlap with the work on the previous ones. */
void pp_engine_prefetch(const pp_partner_t *st, const pp_event_t *ev);

/*
 * Apply one validated event that arrived at (partition, offset): deadlines
 * due before the event's time are evaluated first, each at its own time (so
 * a replay raises what live would have), then the event, then score and
 * rules at the partner's clock. out[] must hold PP_ENGINE_ALERTS_CAP.
 * Returns the number of transitions written, or -EINVAL if ev belongs to
 * another partner.
 */
int pp_engine_apply(const pp_policyset_t *ps, pp_partner_t *st, const pp_event_t *ev, int32_t partition,
                    int64_t offset, int64_t proc_ms, pp_alert_t *out);

/*
 * Evaluate every deadline of the partner up to until_ms, in order, each at
 * its own time (replay: deterministic whatever the consumption timing).
 * out[] must hold PP_ENGINE_ALERTS_CAP; stops early (returns with deadlines
 * left) rather than overflow it.
 */
int pp_engine_advance(const pp_policyset_t *ps, pp_partner_t *st, int64_t until_ms, int64_t proc_ms,
                      pp_alert_t *out);

/*
 * Let event time pass to now_ms with no event: commitments past due become
 * missed, absence rules fire at their deadline (started_at = the deadline,
 * not now), scores decay. Returns the number of transitions in out[].
 */
int pp_engine_tick(const pp_policyset_t *ps, pp_partner_t *st, int64_t now_ms, int64_t proc_ms,
                   pp_alert_t *out);

/* The next event time at which a tick would change this partner (0 = none);
 * also stored in st->next_deadline_ms by apply/tick. */
int64_t pp_engine_next_deadline(const pp_policyset_t *ps, const pp_partner_t *st);

#endif
