/*
 * pp_text: snprintf for the core's own sentences, several times cheaper.
 *
 * Alert sentences (pp_rules) and the "why" factors of the public hash
 * (pp_view) are formatted for every alert transition and every flushed
 * partner. glibc's snprintf formats a double through multi-precision
 * arithmetic: with it, apply costs 13 % more instructions per event in
 * core_bench (a sentence ~1 960 instructions against ~450) and rendering a
 * partner's public hash 70 % more (why_1..3). This formatter handles the few
 * conversions those texts use and gives snprintf's bytes, truncation and
 * return value; any other format goes to vsnprintf. Also the one decimal
 * digit loop of the core's hand-written numbers (alert ids, the hash).
 *
 * Pure: no I/O, no clock, no logging, no globals.
 */
#ifndef PP_TEXT_H
#define PP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * snprintf(buf, cap, fmt, ...) for formats made of text and the conversions
 * %s, %.0f, %.1f, %.*f and %%: writes at most cap bytes with a NUL (none if
 * cap is 0) and returns the length the whole text has.
 */
int pp_text_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write one error sentence (any printf format) into err, if there is room:
 * nothing when err is NULL or err_len 0. Cold path (rejections, config
 * errors): plain vsnprintf. */
void pp_text_error(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The decimal digits of u written backwards so that they end just before
 * `end` (20 bytes at most); returns where they start. No sign, no NUL. */
char *pp_text_digits(char *end, uint64_t u);

#endif
