/*
 * pp_text: a cheap snprintf for the core's sentences (see pp_text.h).
 */
#include "pp_text.h"

#include <fenv.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A text being written, with snprintf's truncation. */
typedef struct text {
    char *buf;       /* the caller's buffer */
    size_t cap;      /* its size */
    size_t n;        /* length the text has so far (may exceed cap - 1) */
} text_t;

static void put(text_t *t, const char *s, size_t len)
{
    if (t->n + 1 < t->cap) {
        size_t room = t->cap - 1 - t->n;
        memcpy(t->buf + t->n, s, len < room ? len : room);
    }
    t->n += len;
}

char *pp_text_digits(char *end, uint64_t u)
{
    do
        *--end = (char)('0' + u % 10);
    while (u /= 10);
    return end;
}

/* v with `decimals` decimals, as "%.*f" writes it. For 0 or 1 decimals of a
 * finite value below 1e14 in the default rounding mode, computed here: the
 * exact binary value rounded half to even, as glibc rounds it. */
static void put_fixed(text_t *t, double v, int decimals)
{
    char tmp[320]; /* "%.1f" of -DBL_MAX: 312 bytes */
    if (decimals < 0 || decimals > 1 || !isfinite(v) || fabs(v) >= (decimals ? 1e14 : 1e15) ||
        fegetround() != FE_TONEAREST) {
        int k = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
        put(t, tmp, k > 0 ? (size_t)k : 0);
        return;
    }
    double r;
    if (decimals == 0) {
        r = nearbyint(v);
    } else {
        double p = v * 10.0;
        r = nearbyint(p);
        if (fabs(p - trunc(p)) == 0.5) {
            /* p may be a tie only because v * 10 was rounded: the exact product decides */
            double e = fma(v, 10.0, -p);
            if (e > 0)
                r = p + 0.5;
            else if (e < 0)
                r = p - 0.5;
        }
    }
    /* the digits of |r| (below 1e15), then the sign, from the end */
    char *end = tmp + sizeof tmp, *s = end;
    uint64_t u = (uint64_t)fabs(r);
    if (decimals == 1) {
        *--s = (char)('0' + u % 10);
        *--s = '.';
        u /= 10;
    }
    s = pp_text_digits(s, u);
    if (signbit(v))
        *--s = '-';
    put(t, s, (size_t)(end - s));
}

/* The text of fmt with ap, or -1 at the first conversion not handled here
 * (%s, %.0f, %.1f, %.*f, %%). */
static int format(char *buf, size_t cap, const char *fmt, va_list ap)
{
    text_t t = {buf, cap, 0};
    const char *p = fmt;
    for (;;) {
        const char *q = p + strcspn(p, "%");
        put(&t, p, (size_t)(q - p));
        if (!*q)
            break;
        if (q[1] == '%') {
            put(&t, "%", 1);
            p = q + 2;
        } else if (q[1] == 's') {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)"; /* as glibc */
            put(&t, s, strlen(s));
            p = q + 2;
        } else if (q[1] == '.' && (q[2] == '0' || q[2] == '1' || q[2] == '*') && q[3] == 'f') {
            int decimals = q[2] == '*' ? va_arg(ap, int) : q[2] - '0';
            put_fixed(&t, va_arg(ap, double), decimals);
            p = q + 4;
        } else {
            return -1;
        }
    }
    if (cap > 0)
        buf[t.n < cap ? t.n : cap - 1] = '\0';
    return (int)t.n;
}

void pp_text_error(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

int pp_text_format(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = format(buf, cap, fmt, ap);
    if (n < 0)
        n = vsnprintf(buf, cap, fmt, again);
    va_end(again);
    va_end(ap);
    return n;
}
