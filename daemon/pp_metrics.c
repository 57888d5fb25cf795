/*
 * pp_metrics: Prometheus text exposition builder (see pp_metrics.h).
 *
 * Every public call writes through put*(), which stops at the first failure
 * and leaves it in a local rc; the call then rolls the text back to where
 * it started, so entries are all-or-nothing.
 */
#include "pp_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 4096u

enum { TYPE_NONE, TYPE_COUNTER, TYPE_GAUGE };

/* Make room for `more` bytes of text plus the NUL. */
static int reserve(pp_metrics_buf_t *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (more > PP_METRICS_MAX_BYTES - b->len)
        return -EMSGSIZE;
    need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : INITIAL_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > PP_METRICS_MAX_BYTES + 1)
        cap = PP_METRICS_MAX_BYTES + 1;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

static void put(pp_metrics_buf_t *b, int *rc, const char *s, size_t n)
{
    if (*rc != 0)
        return;
    *rc = reserve(b, n);
    if (*rc != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_str(pp_metrics_buf_t *b, int *rc, const char *s)
{
    put(b, rc, s, strlen(s));
}

/* Escape as the text format wants: backslash and newline always, the
 * double quote inside label values. */
static void put_escaped(pp_metrics_buf_t *b, int *rc, const char *s, bool quote)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = NULL;

        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if (*s == '"' && quote)
            esc = "\\\"";
        if (esc != NULL) {
            put(b, rc, run, (size_t)(s - run));
            put_str(b, rc, esc);
            run = s + 1;
        }
    }
    put(b, rc, run, (size_t)(s - run));
}

static bool is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Metric names may contain ':', label names may not. */
static bool valid_name(const char *s, bool colon)
{
    size_t i;

    if (s == NULL || s[0] == '\0' || is_digit(s[0]))
        return false;
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= PP_METRICS_NAME_MAX)
            return false;
        if (!is_alpha_(s[i]) && !is_digit(s[i]) && !(colon && s[i] == ':'))
            return false;
    }
    return true;
}

static bool valid_labels(const char *const *labels)
{
    size_t i;

    if (labels == NULL)
        return true;
    for (i = 0; labels[i] != NULL; i += 2) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0)
            return false;
        if (labels[i + 1] == NULL)
            return false; /* a name without a value */
    }
    return true;
}

static const char *type_name(int type)
{
    return type == TYPE_COUNTER ? "counter" : "gauge";
}

/* Append one entry: HELP/TYPE if a new family, then `name{labels} value`. */
static int entry(pp_metrics_buf_t *b, const char *name, const char *help,
                 const char *const *labels, int type, const char *value)
{
    size_t mark = b->len;
    bool new_family;
    int rc = 0;
    size_t i;

    if (!valid_name(name, true) || !valid_labels(labels)) {
        rc = -EINVAL;
        goto out;
    }
    new_family = strcmp(name, b->last_name) != 0;
    if (!new_family && type != b->last_type) {
        rc = -EINVAL; /* one name, two types: not a valid exposition */
        goto out;
    }
    if (new_family) {
        if (help != NULL) {
            put_str(b, &rc, "# HELP ");
            put_str(b, &rc, name);
            put_str(b, &rc, " ");
            put_escaped(b, &rc, help, false);
            put_str(b, &rc, "\n");
        }
        put_str(b, &rc, "# TYPE ");
        put_str(b, &rc, name);
        put_str(b, &rc, " ");
        put_str(b, &rc, type_name(type));
        put_str(b, &rc, "\n");
    }
    put_str(b, &rc, name);
    if (labels != NULL && labels[0] != NULL) {
        put_str(b, &rc, "{");
        for (i = 0; labels[i] != NULL; i += 2) {
            if (i > 0)
                put_str(b, &rc, ",");
            put_str(b, &rc, labels[i]);
            put_str(b, &rc, "=\"");
            put_escaped(b, &rc, labels[i + 1], true);
            put_str(b, &rc, "\"");
        }
        put_str(b, &rc, "}");
    }
    put_str(b, &rc, " ");
    put_str(b, &rc, value);
    put_str(b, &rc, "\n");
    if (rc == 0 && new_family) {
        memcpy(b->last_name, name, strlen(name) + 1); /* fits: valid_name() */
        b->last_type = type;
    }
out:
    if (rc != 0) {
        b->len = mark;
        if (b->data != NULL)
            b->data[mark] = '\0';
        if (b->err == 0)
            b->err = rc;
    }
    return rc;
}

void pp_metrics_begin(pp_metrics_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
    b->last_name[0] = '\0';
    b->last_type = TYPE_NONE;
    b->err = 0;
}

int pp_metrics_counter(pp_metrics_buf_t *b, const char *name, const char *help,
                       const char *const *labels, uint64_t value)
{
    char v[24];

    snprintf(v, sizeof v, "%" PRIu64, value);
    return entry(b, name, help, labels, TYPE_COUNTER, v);
}

/* A double as the text format spells it: NaN, +Inf, -Inf, else the
 * shortest of %.15g / %.17g that round-trips. */
static void format_double(char *v, size_t n, double value)
{
    /* "%g" honours LC_NUMERIC; the daemon never calls setlocale(), so the
     * decimal point is '.' as the format requires. */
    if (isnan(value))
        snprintf(v, n, "NaN");
    else if (isinf(value))
        snprintf(v, n, "%s", value > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(v, n, "%.15g", value); /* short when it round-trips */
        if (strtod(v, NULL) != value)
            snprintf(v, n, "%.17g", value);
    }
}

int pp_metrics_counter_f(pp_metrics_buf_t *b, const char *name, const char *help,
                         const char *const *labels, double value)
{
    char v[32];

    if (!isfinite(value) || value < 0) {
        if (b->err == 0)
            b->err = -EINVAL; /* a counter only counts up from 0 */
        return -EINVAL;
    }
    format_double(v, sizeof v, value);
    return entry(b, name, help, labels, TYPE_COUNTER, v);
}

int pp_metrics_gauge(pp_metrics_buf_t *b, const char *name, const char *help,
                     const char *const *labels, double value)
{
    char v[32];

    format_double(v, sizeof v, value);
    return entry(b, name, help, labels, TYPE_GAUGE, v);
}

void pp_metrics_free(pp_metrics_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}
