/*
 * pp_notify_backoff: the retry delay of a destination of `partnerpulse
 * notify`: initial_ms after the first failure, doubled after each further
 * one, never above max_ms. No jitter: there is one sender per destination,
 * so there is no herd to spread. Pure.
 */
#ifndef PP_NOTIFY_BACKOFF_H
#define PP_NOTIFY_BACKOFF_H

#include <stdint.h>

/* Delay before attempt number failures + 1 (failures >= 1). */
static inline int64_t pp_notify_backoff_ms(int failures, int64_t initial_ms, int64_t max_ms)
{
    int64_t d = initial_ms;
    for (int i = 1; i < failures && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

#endif
