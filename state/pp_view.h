/*
 * pp_view: what people see of a partner's state. The public Redis hash
 * pp:partner:<id> (docs/redis.md), the explanation of the score ("why is
 * this partner red?", DESIGN §5) and the list of firing rules.
 *
 * Read-only over the state: nothing here changes a partner. The functions
 * keep the pp_engine_ names the daemon, the tools, the tests and the bench
 * have always called.
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_VIEW_H
#define PP_VIEW_H

#include <stddef.h>

#include "pp_partner.h"
#include "pp_policy.h"

#define PP_FIELD_VALUE_MAX 512 /* bytes of a field's value, with its NUL */
#define PP_FIELDS_MAX 96       /* fields in the public hash, at most */

/* One field of the public hash. */
typedef struct pp_field {
    const char *name;                 /* static string, the documented field name */
    char value[PP_FIELD_VALUE_MAX];   /* formatted value ("" = not available) */
} pp_field_t;

/* Fill out[] with the dashboard-visible fields of the partner hash, in a
 * fixed order. Returns how many were written (at most cap). */
size_t pp_engine_fields(const pp_policyset_t *ps, const pp_partner_t *st, pp_field_t *out, size_t cap);

/* Comma-separated names of the firing rules ("" if none), truncated to cap. */
void pp_engine_flags(const pp_partner_t *st, char *buf, size_t cap);

/* "why": the top factors pulling the score down, each with its value, the
 * points it costs and the event that last moved it ("; "-separated). */
void pp_engine_explain(const pp_policyset_t *ps, const pp_partner_t *st, char *buf, size_t cap);

/* The i-th (0-based) factor alone, at most 64 bytes; 0 and "" if none. */
size_t pp_engine_factor(const pp_policyset_t *ps, const pp_partner_t *st, int i, char *buf, size_t cap);

#endif
