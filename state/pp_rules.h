/*
 * pp_rules: the red-flag rules of DESIGN §6 (docs/alerts.md), kept in
 * pp_rules.c as a table, one entry per rule in pp_rule_t order. An entry
 * says everything that is particular to its rule:
 *   - holds:    whether its condition holds now: for a rule that is not
 *               firing, whether it trips; for one that is, whether it has
 *               not cleared yet (a threshold with hysteresis clears lower);
 *   - detail:   what its alert reports (value, threshold, severity, when it
 *               became true);
 *   - sentence: the alert's human sentence, firing and resolved (windows
 *               and thresholds from the policy);
 *   - due_at:   rules that change with no event only: the event time at
 *               which it trips if no event comes first, and for one whose
 *               episode turns CRITICAL while open, when it does (the engine
 *               sets a timer there);
 *   - critical: going_dark: whether its open WARNING episode has turned
 *               CRITICAL (one more FIRING with the same alert_id);
 *   - measure:  the measure it costs points on (the explanation names the
 *               open rule there; health_red's sentence names it as a
 *               reason), none for the health rules; every entry names it;
 *   - windowed: it judges sliding windows, so while it fires the engine
 *               re-judges it at every day boundary;
 *   - daily:    an absence rule: while it fires the engine re-judges it at
 *               every UTC midnight, an evaluation of its own.
 *   (slow_response counts open questions at their age: its due_at is the
 *   next instant one of them passes its threshold, when the median may.)
 * Everything rules have in common (FIRING/RESOLVED, episodes, suppression,
 * inhibition by health_red, snoozes, timers) is pp_engine's lifecycle.
 *
 * Adding a rule: its pp_rule_t value, its name and its policy keys
 * (pp_policy.[ch]), and its section and table entry in pp_rules.c (a
 * function the entry forgets is an unused-function error; a missing entry
 * fails an assert in debug builds).
 *
 * Internal to state/. Pure: no I/O, no clock, no logging, no globals (the
 * table is constant).
 */
#ifndef PP_RULES_H
#define PP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_facts.h"
#include "pp_partner.h"
#include "pp_policy.h"

/* What an alert of the rule reports. Only transitions compute it. */
typedef struct pp_verdict {
    double value;                /* the measured value */
    double threshold;            /* the threshold it was compared with */
    int severity;                /* enum pp_severity */
    int64_t trip_at;             /* when the condition became true (event time) */
    uint32_t open;               /* set by the engine before the sentence: the rules open
                                    once this evaluation is done (health_red names them) */
} pp_verdict_t;

/* Sets of rules are bit sets: bit r for rule r. */

/* The rules whose condition holds at f->now. firing: the rules firing now
 * (hysteresis: a firing rule holds until it clears). Conditions read the
 * policy, the facts and the state as the score left it (and
 * health_drop_since as the engine left it, pp_rules_drop_pending), never
 * the rules' lifecycle state: judging them all before any lifecycle runs
 * gives what judging each just before its own lifecycle gives. Hot: once
 * per evaluation. */
uint32_t pp_rules_judge(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing);

/* The earliest event time at which an enabled rule changes if no event
 * comes first: one not in `firing` trips (reply_overdue, going_dark,
 * no_pipeline_90d, health_drop when its minimum duration is over), an open
 * WARNING episode turns CRITICAL (going_dark); 0 if none would. Reads of f
 * only what pp_facts_waits() sets. Hot: once per evaluation. */
int64_t pp_rules_next_trip(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing);

/* The rules of `firing` whose open WARNING episode has turned CRITICAL at
 * f->now (going_dark inactive, DESIGN §6): the same episode is CRITICAL from
 * now on, one more FIRING with the same alert_id. Reads of the rules' state
 * their severity only. */
uint32_t pp_rules_turned_critical(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f,
                                  uint32_t firing);

/* When rule r's open WARNING episode turned (turns) CRITICAL, event time;
 * r one of pp_rules_turned_critical's. */
int64_t pp_rules_critical_at(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);

/* Whether the partner must be re-judged at the next UTC midnight with no
 * event, in an evaluation of its own (DESIGN §6): an absence rule's episode
 * is open (the health keeps moving while the partner stays silent). Unlike
 * the window tick, never folded into a later evaluation of the same day:
 * business time moves within a day. */
bool pp_rules_daily(uint32_t firing);

/* Whether one of these rules is windowed (judges sliding windows): while it
 * fires, it must be re-judged at each day boundary. */
bool pp_rules_any_windowed(uint32_t which);

/* health_drop's condition but its minimum duration (DESIGN §7), for a
 * health_drop not firing: the engine keeps since when it holds in
 * st->health_drop_since, which the condition then reads. */
bool pp_rules_drop_pending(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);

/* The 90-day milestone's judgement at f->now (enum pp_milestone), for the
 * engine to keep in st->milestone before the rules are judged: judged once,
 * at SIGNED + no_pipeline_days, as met (a qualified opportunity open, or a
 * won deal) or missed; a missed one becomes met when one appears. */
int pp_rules_milestone(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);

/* Rule r's verdict at f->now: the defaults (value and threshold 0, WARNING,
 * trip_at f->now), then what its detail says. Transitions only. */
pp_verdict_t pp_rules_verdict(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);

/* Rule r's alert sentence into buf (snprintf's truncation), the partner
 * named as pp_alert_who names it; firing: the FIRING sentence, else the
 * RESOLVED one. Transitions only. */
void pp_rules_sentence(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, bool firing,
                       const pp_verdict_t *v, char *buf, size_t cap);

/* The measure rule r is about (it costs points there), -1 for the rules
 * about the whole score (health_red, health_drop). */
int pp_rules_measure(pp_rule_t r);

#endif
