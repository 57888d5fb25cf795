/*
 * pp_log: see pp_log.h.
 */
#include "pp_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int log_level = PP_LOG_INFO;

void pp_log_set_level(int level)
{
    log_level = level;
}

void pp_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     names[level < 0 ? 0 : level > 7 ? 7 : level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
