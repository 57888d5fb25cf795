/*
 * pp_score: the health score of DESIGN §5 (docs/scoring.md).
 *
 * Eight measures are read from the facts (pp_facts.h), each mapped to
 * 0..100 through its band; a measure without enough data is not available
 * and drops out. A component is the mean of its two measures; the health is
 * the weighted mean of the measures that have data, and the confidence the
 * share of the weight they carry. RAG bands with hysteresis. The daily
 * maximum health of the last eight days is kept for health_drop.
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_SCORE_H
#define PP_SCORE_H

#include <stdint.h>

#include "pp_partner.h"
#include "pp_policy.h"

enum pp_rag { PP_RAG_NONE = 0, PP_RAG_GREEN, PP_RAG_AMBER, PP_RAG_RED };

struct pp_facts; /* pp_facts.h, internal to state/ */

/* Score the partner from the facts f (at f->now): writes measure_value,
 * measure_score, component, confidence, health, rag (with hysteresis from
 * the rag it had), measures_available and the daily-maximum history. */
void pp_score_update(const pp_policy_t *pol, pp_partner_t *st, const struct pp_facts *f);

/* The highest daily-maximum health over the last `days` days up to and
 * including `day` (at most the eight the history holds), or -1 if none. */
double pp_score_recent_max_health(const pp_partner_t *st, int32_t day, int days);

/* The measures with data in order of the points they cost the health (the
 * costliest first), those costing at least half a point: OUT order[0..k-1]
 * (measures) and cost[m] for each measure with data; returns k. Cold: the
 * explanation and health_red's sentence. */
int pp_score_costs(const pp_policy_t *pol, const pp_partner_t *st, int order[PP_M_COUNT], double cost[PP_M_COUNT]);

/* "green", "amber", "red" ("" for none or anything else). */
const char *pp_rag_name(int rag);

#endif
