/*
 * pp_mhd: start a libmicrohttpd server on an IP literal, with process
 * signals kept away from its threads. Shared by the daemon's endpoint
 * (pp_http) and the dashboard server (`partnerpulse web`, tools/pp_web_http).
 */
#ifndef PP_MHD_H
#define PP_MHD_H

#include <stdarg.h>
#include <stddef.h>

#include <microhttpd.h>

typedef struct pp_mhd_opts {
    unsigned flags;             /* threading model etc.; MHD_USE_IPv6 is added for a v6 address */
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    void (*logger)(void *cls, const char *fmt, va_list ap); /* MHD's messages (first, or it prints them) */
    void *logger_cls;
    unsigned max_connections, timeout_s;
    size_t connection_memory;
} pp_mhd_opts_t;

/* Serve on bind_addr (an IPv4 or IPv6 literal; host names are not resolved)
 * and port, with every signal blocked in MHD's threads (they go to the
 * caller's). NULL if MHD could not start (its logger says why), or if
 * bind_addr is not an IP literal: then *not_ip = 1. *is_v6 says which. */
struct MHD_Daemon *pp_mhd_start(const char *bind_addr, int port, const pp_mhd_opts_t *o, int *not_ip, int *is_v6);

#endif
