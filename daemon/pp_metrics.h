/*
 * pp_metrics: render a Prometheus text exposition (format 0.0.4) safely.
 *
 * The daemon's loop renders its counters and gauges into a pp_metrics_buf_t
 * once a second and hands b.data/b.len to pp_http_publish_metrics(). This
 * module only builds text: no I/O, no clock, no globals.
 *
 * Safety: metric and label names are validated, label values and help
 * texts escaped, the buffer never grows beyond PP_METRICS_MAX_BYTES, and
 * each call appends its whole entry or nothing, so b.data is a valid
 * exposition of every call that returned 0, even after errors.
 *
 * Families: "# HELP" and "# TYPE" are written when a call names a different
 * metric than the previous call. All samples of one metric (same name,
 * different labels) must therefore be emitted by consecutive calls; a name
 * that comes back later would be described twice, which Prometheus rejects.
 *
 *     pp_metrics_buf_t b = {0};
 *     pp_metrics_begin(&b);
 *     pp_metrics_counter(&b, "pp_events_applied_total", "Events applied.", NULL, n);
 *     pp_metrics_gauge(&b, "pp_partner_health", "Health score 0-100.",
 *                      (const char *const[]){"partner", id, NULL}, health);
 *     if (b.err != 0) ... log once; b.data still holds the good entries
 *     pp_http_publish_metrics(http, b.data, b.len);
 *     ...
 *     pp_metrics_free(&b);
 */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define PP_METRICS_MAX_BYTES (1024u * 1024u) /* text cap, excluding the terminating NUL */
#define PP_METRICS_NAME_MAX 128              /* metric and label names, bytes */

typedef struct pp_metrics_buf {
    char *data;      /* the text, data[len] == '\0' once anything was written; owned */
    size_t len;      /* bytes of text */
    size_t cap;      /* bytes allocated at data */
    char last_name[PP_METRICS_NAME_MAX + 1]; /* metric last described by HELP/TYPE, "" = none */
    int last_type;   /* its type (internal) */
    int err;         /* first error since pp_metrics_begin(): 0, -EINVAL, -EMSGSIZE, -ENOMEM */
} pp_metrics_buf_t;

/* Start a new exposition in b (zero-initialised or used before), keeping
 * its allocation for reuse. */
void pp_metrics_begin(pp_metrics_buf_t *b);

/*
 * Append one sample of counter `name` (with HELP/TYPE first if name differs
 * from the previous call's).
 *
 * name: [a-zA-Z_:][a-zA-Z0-9_:]*, at most PP_METRICS_NAME_MAX bytes.
 * help: one line of text (escaped here) or NULL for no HELP line; only used
 *       when the family starts.
 * labels: NULL, or a NULL-terminated list of name/value pairs:
 *       (const char *const[]){"partner", id, "rule", "slow_response", NULL}.
 *       Names [a-zA-Z_][a-zA-Z0-9_]* (not starting "__"); values any UTF-8
 *       (escaped here).
 *
 * Returns 0, or (and records the first one in b->err, appending nothing):
 * -EINVAL  bad name, bad label list, or the same name as the previous call
 *          with a different type;
 * -EMSGSIZE the entry would take the text beyond PP_METRICS_MAX_BYTES;
 * -ENOMEM.
 */
int pp_metrics_counter(pp_metrics_buf_t *b, const char *name, const char *help,
                       const char *const *labels, uint64_t value);

/* As pp_metrics_counter() for a counter whose value is not a whole number
 * (seconds spent, ...): finite and >= 0, else -EINVAL (nothing appended).
 * Written as pp_metrics_gauge() writes its values. */
int pp_metrics_counter_f(pp_metrics_buf_t *b, const char *name, const char *help,
                         const char *const *labels, double value);

/* As pp_metrics_counter() for a gauge. NaN and infinities are written as
 * Prometheus spells them (NaN, +Inf, -Inf); other values round-trip. */
int pp_metrics_gauge(pp_metrics_buf_t *b, const char *name, const char *help,
                     const char *const *labels, double value);

/* Free b's allocation and leave it zeroed (reusable). NULL-safe. */
void pp_metrics_free(pp_metrics_buf_t *b);

#endif
