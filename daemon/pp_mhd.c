/*
 * pp_mhd: see pp_mhd.h.
 */
#include "pp_mhd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct MHD_Daemon *pp_mhd_start(const char *bind_addr, int port, const pp_mhd_opts_t *o, int *not_ip, int *is_v6)
{
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    const struct sockaddr *sa;
    unsigned flags = o->flags;
    memset(&in4, 0, sizeof in4);
    memset(&in6, 0, sizeof in6);
    *not_ip = 0;
    *is_v6 = 0;
    if (inet_pton(AF_INET, bind_addr, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&in4;
    } else if (inet_pton(AF_INET6, bind_addr, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&in6;
        flags |= MHD_USE_IPv6;
        *is_v6 = 1;
    } else {
        *not_ip = 1;
        return NULL;
    }
    /* MHD's threads inherit our signal mask: block everything so process
     * signals (SIGTERM, SIGHUP, ...) reach the caller's threads and handlers */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port /* bound from SOCK_ADDR; here for MHD's messages */, NULL, NULL, o->handler,
        o->handler_cls, MHD_OPTION_EXTERNAL_LOGGER, o->logger, o->logger_cls, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->connection_memory, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return d;
}
