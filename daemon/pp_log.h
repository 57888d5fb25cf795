/*
 * pp_log: structured logging for the daemon, one line per event worth
 * logging: `ts=... level=... msg="..." key=value ...` on stderr (journald
 * picks it up under systemd). Only daemon/ logs; the core never does.
 */
#ifndef PP_LOG_H
#define PP_LOG_H

enum { PP_LOG_ERR = 3, PP_LOG_WARNING = 4, PP_LOG_NOTICE = 5, PP_LOG_INFO = 6, PP_LOG_DEBUG = 7 };

/* Lines above this level are dropped. */
void pp_log_set_level(int level);

/* fmt continues the line after level=: write `msg="..." key=value`. */
void pp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
