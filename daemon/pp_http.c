/*
 * pp_http: health, readiness and metrics over HTTP on libmicrohttpd (see
 * pp_http.h).
 *
 * Everything a request reads (readiness, its reason, the metrics text) lives
 * in struct pp_http under one mutex; the request handler copies what it
 * needs into the MHD response while holding it and answers outside it.
 */
#include "pp_http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "pp_metrics.h"
#include "pp_mhd.h"

/* The metrics renderer's output must always be publishable. */
_Static_assert(PP_METRICS_MAX_BYTES <= PP_HTTP_MAX_METRICS, "metrics cap larger than HTTP cap");

#define MHD_MSG_MAX 256
#define CONN_MEMORY_LIMIT (32u * 1024u) /* per connection: request line + headers */

struct pp_http {
    struct MHD_Daemon *d;      /* owned; NULL until started */
    int port;                  /* port actually listened on */
    pthread_mutex_t mu;        /* guards every field below */
    bool ready;                /* what /readyz answers */
    char reason[PP_HTTP_REASON_MAX + 1]; /* why not ready (sanitised) */
    char *metrics;             /* last published exposition, metrics_len bytes; owned */
    size_t metrics_len;
    size_t metrics_cap;        /* bytes allocated at metrics */
    char mhd_msg[MHD_MSG_MAX]; /* first message MHD logged; explains a failed start */
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* Copy src into dst (dst_size bytes, always terminated), replacing control
 * characters by spaces and not cutting a UTF-8 sequence in half. */
static void copy_reason(char *dst, size_t dst_size, const char *src)
{
    size_t n = strlen(src);
    size_t i;

    if (n >= dst_size) {
        n = dst_size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0u) == 0x80u)
            n--; /* src[n] continues a sequence: cut before its lead byte */
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20u || c == 0x7Fu) ? ' ' : (char)c;
    }
    dst[n] = '\0';
}

/* MHD's error log (MHD_USE_ERROR_LOG + MHD_OPTION_EXTERNAL_LOGGER): library
 * code does not print, so keep the first message to explain a failed start.
 * Called on the starting thread and later on MHD's thread. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    pp_http_t *h = cls;
    size_t n;

    pthread_mutex_lock(&h->mu);
    if (h->mhd_msg[0] == '\0') {
        vsnprintf(h->mhd_msg, sizeof h->mhd_msg, fmt, ap);
        n = strlen(h->mhd_msg);
        while (n > 0 && (h->mhd_msg[n - 1] == '\n' || h->mhd_msg[n - 1] == '.' ||
                         h->mhd_msg[n - 1] == ' '))
            h->mhd_msg[--n] = '\0';
    }
    pthread_mutex_unlock(&h->mu);
}

/* Queue a response with body[0..len) (copied by MHD). MHD_NO closes the
 * connection, which is all we can do when out of memory. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             const char *content_type, const char *body, size_t len)
{
    struct MHD_Response *resp;
    enum MHD_Result rc;

    /* MHD takes a non-const pointer but only reads it (MUST_COPY). */
    resp = MHD_create_response_from_buffer(len, (void *)(len ? body : ""),
                                           len ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_NO ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO ||
        (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_NO)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp); /* the queued response holds its own reference */
    return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status, const char *body)
{
    return reply(conn, status, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result reply_readyz(pp_http_t *h, struct MHD_Connection *conn)
{
    char body[sizeof "not ready: \n" + PP_HTTP_REASON_MAX];
    bool ready;

    pthread_mutex_lock(&h->mu);
    ready = h->ready;
    if (!ready)
        snprintf(body, sizeof body, "not ready: %s\n", h->reason);
    pthread_mutex_unlock(&h->mu);
    if (ready)
        return reply_text(conn, MHD_HTTP_OK, "ready\n");
    return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result reply_metrics(pp_http_t *h, struct MHD_Connection *conn)
{
    enum MHD_Result rc;

    /* MUST_COPY: the copy is made before the lock is released, so the loop
     * may publish again while this response is being sent. */
    pthread_mutex_lock(&h->mu);
    rc = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", h->metrics,
               h->metrics_len);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

enum route { ROUTE_NONE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

static enum route route_of(const char *url)
{
    /* MHD passes the path without the query string. */
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READYZ;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    return ROUTE_NONE;
}

/* MHD_AccessHandlerCallback, on MHD's thread. Every request is answered on
 * the first call (headers received); a request body is never read. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    pp_http_t *h = cls;
    enum route r = route_of(url);

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;

    if (r == ROUTE_NONE)
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    /* HEAD: MHD sends the headers of the GET answer without its body. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    switch (r) {
    case ROUTE_HEALTHZ:
        return reply_text(conn, MHD_HTTP_OK, "ok\n");
    case ROUTE_READYZ:
        return reply_readyz(h, conn);
    case ROUTE_METRICS:
        return reply_metrics(h, conn);
    case ROUTE_NONE:
        break;
    }
    return MHD_NO;
}

pp_http_t *pp_http_start(const char *bind_addr, int port, char *err, size_t err_len)
{
    pp_http_t *h = NULL;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                         MHD_USE_AUTO; /* epoll on Linux: no FD_SETSIZE limit */
    const union MHD_DaemonInfo *info;
    int not_ip = 0, v6 = 0;

    set_err(err, err_len, "%s", "");
    if (bind_addr == NULL || bind_addr[0] == '\0')
        bind_addr = "127.0.0.1";
    if (port < 0 || port > 65535) {
        set_err(err, err_len,
                "HTTP port %d is out of range: use 1-65535 (or do not start the endpoint to disable it)",
                port);
        return NULL;
    }

    h = calloc(1, sizeof *h);
    if (h == NULL) {
        set_err(err, err_len, "out of memory starting the HTTP endpoint");
        return NULL;
    }
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        set_err(err, err_len, "cannot create a mutex for the HTTP endpoint");
        goto out_free;
    }
    copy_reason(h->reason, sizeof h->reason, "starting");

    pp_mhd_opts_t o = {.flags = flags, .handler = on_request, .handler_cls = h, .logger = on_mhd_log,
                       .logger_cls = h, .max_connections = PP_HTTP_MAX_CONNECTIONS,
                       .timeout_s = PP_HTTP_TIMEOUT_S, .connection_memory = CONN_MEMORY_LIMIT};
    h->d = pp_mhd_start(bind_addr, port, &o, &not_ip, &v6);
    if (not_ip) {
        set_err(err, err_len,
                "HTTP bind address \"%.64s\" is not an IP address (host names are not resolved): "
                "use e.g. 127.0.0.1, 0.0.0.0 or ::1",
                bind_addr);
        goto out_mutex;
    }
    if (h->d == NULL) {
        /* No MHD thread exists now: h->mhd_msg is ours to read. */
        set_err(err, err_len, "cannot serve HTTP on %s%s%s:%d: %s; %s", v6 ? "[" : "",
                bind_addr, v6 ? "]" : "", port,
                h->mhd_msg[0] ? h->mhd_msg : "libmicrohttpd could not start",
                strstr(h->mhd_msg, "in use") != NULL
                    ? "another process (another partnerpulsed?) listens there: choose a free "
                      "port, or disable the HTTP endpoint"
                    : "check that the bind address is one of this machine's addresses and the "
                      "port is allowed, or disable the HTTP endpoint");
        goto out_mutex;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = (info != NULL && info->port != 0) ? (int)info->port : port;
    return h;

out_mutex:
    pthread_mutex_destroy(&h->mu);
out_free:
    free(h);
    return NULL;
}

void pp_http_stop(pp_http_t *h)
{
    if (h == NULL)
        return;
    if (h->d != NULL)
        MHD_stop_daemon(h->d); /* joins MHD's thread: no request runs after this */
    pthread_mutex_destroy(&h->mu);
    free(h->metrics);
    free(h);
}

int pp_http_port(const pp_http_t *h)
{
    return h->port;
}

void pp_http_set_ready(pp_http_t *h, bool ready, const char *reason)
{
    pthread_mutex_lock(&h->mu);
    h->ready = ready;
    copy_reason(h->reason, sizeof h->reason, reason ? reason : "");
    pthread_mutex_unlock(&h->mu);
}

int pp_http_publish_metrics(pp_http_t *h, const char *text, size_t len)
{
    int rc = 0;

    if (len > PP_HTTP_MAX_METRICS)
        return -EMSGSIZE;
    pthread_mutex_lock(&h->mu);
    if (len > h->metrics_cap) {
        /* Grow with headroom so a slowly growing text does not realloc
         * every second; never beyond the cap. */
        size_t cap = len + len / 2;
        char *p;

        if (cap > PP_HTTP_MAX_METRICS)
            cap = PP_HTTP_MAX_METRICS;
        p = realloc(h->metrics, cap);
        if (p == NULL) {
            rc = -ENOMEM;
            goto out_unlock;
        }
        h->metrics = p;
        h->metrics_cap = cap;
    }
    if (len > 0)
        memcpy(h->metrics, text, len);
    h->metrics_len = len;
out_unlock:
    pthread_mutex_unlock(&h->mu);
    return rc;
}
