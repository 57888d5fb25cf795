/*
 * pp_rules: the red-flag rules of DESIGN §6 (docs/alerts.md), kept in
 * pp_rules.c as a table, one entry per rule in pp_rule_t order. An entry
 * says everything that is particular to its rule:
 *   - holds:    whether its condition holds now: for a rule that is not
 *               firing, whether it trips; for one that is, whether it has
 *               not cleared yet (a threshold with hysteresis clears lower);
 *   - detail:   what its alert reports (value, threshold, severity, when it
 *               became true);
 *   - sentence: the alert's human sentence, firing and resolved;
 *   - due_at:   absence rules only: the event time at which it trips if no
 *               event comes first (the engine sets a timer there);
 *   - windowed: it judges sliding windows, so while it fires the engine
 *               re-judges it at every day boundary.
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
} pp_verdict_t;

/* Sets of rules are bit sets: bit r for rule r. */

/* The rules whose condition holds at f->now. firing: the rules firing now
 * (hysteresis: a firing rule holds until it clears). Conditions read the
 * policy, the facts and the state as the score left it, never the rules'
 * lifecycle state: judging them all before any lifecycle runs gives what
 * judging each just before its own lifecycle gives. Hot: once per
 * evaluation. */
uint32_t pp_rules_judge(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing);

/* The earliest event time at which an enabled absence rule not in `firing`
 * trips if no event comes first; 0 if none would. Reads of f only what
 * pp_facts_waits() sets. Hot: once per evaluation. */
int64_t pp_rules_next_trip(const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f, uint32_t firing);

/* Whether one of these rules is windowed (judges sliding windows): while it
 * fires, it must be re-judged at each day boundary. */
bool pp_rules_any_windowed(uint32_t which);

/* Rule r's verdict at f->now: the defaults (value and threshold 0, WARNING,
 * trip_at f->now), then what its detail says. Transitions only. */
pp_verdict_t pp_rules_verdict(pp_rule_t r, const pp_policy_t *pol, const pp_partner_t *st, const pp_facts_t *f);

/* Rule r's alert sentence into buf (snprintf's truncation). who: how the
 * partner is named (pp_alert_who); firing: the FIRING sentence, else the
 * RESOLVED one. Transitions only. */
void pp_rules_sentence(pp_rule_t r, char *buf, size_t cap, const char *who, bool firing, const pp_verdict_t *v);

#endif
