/*
 * pp_web_http: routes, auth and static files of `partnerpulse web` on
 * libmicrohttpd (see pp_web_http.h).
 */
#include "pp_web_http.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "pp_log.h"
#include "pp_mhd.h"

#define CONN_MEMORY_LIMIT (32u * 1024u) /* request line + headers */
#define ASSET_PATH_MAX 512              /* longest /assets/ path */
#define MHD_MSG_MAX 256

struct pp_web_http {
    const pp_web_app_t *app;   /* borrowed */
    struct MHD_Daemon *d;      /* owned */
    int port;                  /* listened on */
    char mhd_msg[MHD_MSG_MAX]; /* first MHD message: explains a failed start */
};

/* ---- answers ---- */

static bool add_common_headers(struct MHD_Response *resp, const char *content_type, const char *cache)
{
    return MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES &&
           MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache) == MHD_YES &&
           MHD_add_response_header(resp, "Content-Security-Policy", PP_WEB_CSP) == MHD_YES &&
           MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES &&
           MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") == MHD_YES &&
           MHD_add_response_header(resp, "X-Frame-Options", "DENY") == MHD_YES;
}

/* Queue resp (consumed) with status; MHD_NO closes the connection. */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp); /* the queued response holds its own reference */
    return rc;
}

/* body[0..len) copied. extra: one more header (name, value) or NULLs. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *content_type,
                             const char *body, size_t len, const char *hname, const char *hvalue)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)(len ? body : ""), len ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (!add_common_headers(resp, content_type, "no-store") ||
        (hname != NULL && MHD_add_response_header(resp, hname, hvalue) != MHD_YES) ||
        (status == MHD_HTTP_METHOD_NOT_ALLOWED && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(conn, status, resp);
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", text, strlen(text), NULL, NULL);
}

/* body (consumed) as the JSON answer; 5xx are logged. */
static enum MHD_Result reply_json(struct MHD_Connection *conn, const char *url, unsigned status, json_t *body)
{
    char *text = body ? pp_web_json_text(body) : NULL;
    enum MHD_Result rc;
    if (status >= 500)
        pp_log(PP_LOG_ERR, "msg=\"request failed\" path=\"%.128s\" status=%u error=\"%.300s\"", url, status,
               json_string_value(json_object_get(body, "error")) ? json_string_value(json_object_get(body, "error"))
                                                                   : "");
    json_decref(body);
    if (text == NULL)
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    rc = reply(conn, status, "application/json", text, strlen(text), NULL, NULL);
    free(text);
    return rc;
}

/* ---- auth ---- */

/* a == b, in time that depends only on b's length (b: the secret). */
static bool ct_equal(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned char diff = la != lb;
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)((i < la ? a[i] : 0) ^ b[i]);
    return diff == 0;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Standard base64 (padding optional) into out (cap bytes, terminated).
 * The decoded length, or -1 if malformed or too long. */
static long b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0, bits = 0;
    for (; *in && *in != '='; in++) {
        int v = b64_value(*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xFFu);
        }
    }
    out[n] = '\0';
    return (long)n;
}

static bool basic_ok(const pp_web_config_t *cfg, const char *authz)
{
    char dec[2 * PP_WEB_STR_MAX + 2];
    if (cfg->basic_user[0] == '\0' || authz == NULL || strncmp(authz, "Basic ", 6) != 0)
        return false;
    long n = b64_decode(authz + 6, dec, sizeof dec);
    char *colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
    if (colon == NULL)
        return false;
    size_t ul = (size_t)(colon - dec), pl = (size_t)n - ul - 1;
    bool u = ct_equal(dec, ul, cfg->basic_user, strlen(cfg->basic_user));
    bool p = ct_equal(colon + 1, pl, cfg->basic_password, strlen(cfg->basic_password));
    return u & p;
}

static bool token_ok(const pp_web_config_t *cfg, const char *given)
{
    return cfg->token[0] != '\0' && given != NULL && ct_equal(given, strlen(given), cfg->token, strlen(cfg->token));
}

/* Whether the request carries any accepted credential (or none is needed). */
static bool authorized(const pp_web_config_t *cfg, struct MHD_Connection *conn)
{
    if (cfg->token[0] == '\0' && cfg->basic_user[0] == '\0')
        return true;
    const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authz != NULL && strncmp(authz, "Bearer ", 7) == 0 && token_ok(cfg, authz + 7))
        return true;
    if (token_ok(cfg, MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "pp_token")))
        return true;
    return basic_ok(cfg, authz);
}

static enum MHD_Result reply_unauthorized(const pp_web_config_t *cfg, struct MHD_Connection *conn)
{
    static const char body[] = "{\"error\":\"authentication required: see docs/dashboard.md (Auth)\"}";
    return reply(conn, MHD_HTTP_UNAUTHORIZED, "application/json", body, sizeof body - 1,
                 cfg->basic_user[0] ? MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL,
                 "Basic realm=\"partnerpulse\", charset=\"UTF-8\"");
}

/* Characters a redirect may carry back as is (page paths). */
static bool safe_path(const char *p)
{
    for (; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/._:-", *p) != NULL))
            return false;
    return true;
}

/* GET <page>?token=T: the cookie, and the same path without the query. */
static enum MHD_Result reply_token_cookie(const pp_web_config_t *cfg, struct MHD_Connection *conn, const char *url)
{
    char cookie[PP_WEB_STR_MAX + 64];
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    /* the token's characters are cookie-safe (pp_web_config_load) */
    snprintf(cookie, sizeof cookie, "pp_token=%s; HttpOnly; SameSite=Strict; Path=/", cfg->token);
    if (!add_common_headers(resp, "text/plain; charset=utf-8", "no-store") ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, safe_path(url) ? url : "/") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(conn, MHD_HTTP_SEE_OTHER, resp);
}

/* ---- static files ---- */

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
                 {".html", "text/html; charset=utf-8"},     {".svg", "image/svg+xml"},
                 {".png", "image/png"},                     {".json", "application/json"},
                 {".map", "application/json"},              {".txt", "text/plain; charset=utf-8"},
                 {".woff2", "font/woff2"},                  {".ico", "image/x-icon"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* A path below assets_dir: segments of [A-Za-z0-9._-] not starting with
 * '.' (so no "..", no hidden files), separated by single slashes. */
static bool safe_asset(const char *rel)
{
    size_t n = strlen(rel);
    if (n == 0 || n > ASSET_PATH_MAX)
        return false;
    for (const char *s = rel; *s;) {
        if (*s == '.' || *s == '/')
            return false; /* hidden, "..", or an empty segment */
        for (; *s && *s != '/'; s++)
            if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                  *s == '.' || *s == '_' || *s == '-'))
                return false;
        if (*s == '/' && *++s == '\0')
            return false; /* trailing slash: a directory */
    }
    return true;
}

static enum MHD_Result reply_file(const pp_web_config_t *cfg, struct MHD_Connection *conn, const char *rel)
{
    char path[PP_WEB_PATH_MAX + ASSET_PATH_MAX + 2];
    struct stat st;
    const char *type = content_type_of(rel);
    if (!safe_asset(rel) || type == NULL)
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    snprintf(path, sizeof path, "%s/%s", cfg->assets_dir, rel);
    /* O_NOFOLLOW: the last component is not a link; the segments are
     * checked above, so nothing outside assets_dir is reachable by name */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        if (strcmp(rel, "index.html") == 0)
            return reply_text(conn, MHD_HTTP_NOT_FOUND,
                              "the dashboard's pages are not installed: [web] assets_dir has no index.html "
                              "(build web/, see docs/dashboard.md); the JSON API under /api/ works without them\n");
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd); /* owns fd now */
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    if (!add_common_headers(resp, type, "no-cache")) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(conn, MHD_HTTP_OK, resp);
}

/* ---- SSE ---- */

static enum MHD_Result reply_stream(const pp_web_app_t *app, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    pp_web_sse_client_t *cl = pp_web_sse_client_new(app->sse, ci ? ci->connect_fd : -1);
    if (cl == NULL)
        return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (last != NULL) {
        char covered[48];
        char *text = pp_web_api_catch_up(app, last, covered);
        pp_web_sse_client_catch_up(cl, text, text ? covered : NULL);
        free(text);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, pp_web_sse_client_read, cl, pp_web_sse_client_free);
    if (resp == NULL) {
        pp_web_sse_client_free(cl);
        return MHD_NO;
    }
    if (!add_common_headers(resp, "text/event-stream", "no-cache") ||
        MHD_add_response_header(resp, "X-Accel-Buffering", "no") != MHD_YES) {
        MHD_destroy_response(resp); /* frees cl */
        return MHD_NO;
    }
    return queue(conn, MHD_HTTP_OK, resp);
}

/* ---- routing ---- */

static const char *get_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static bool is_page(const char *url)
{
    return strcmp(url, "/") == 0 || (strncmp(url, "/partner/", 9) == 0 && url[9] != '\0' && strchr(url + 9, '/') == NULL);
}

/* MHD_AccessHandlerCallback, on the connection's thread. Every request is
 * answered on the first call; a request body is never read. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    pp_web_http_t *h = cls;
    const pp_web_app_t *app = h->app;
    const pp_web_config_t *cfg = app->cfg;
    json_t *body = NULL;
    unsigned status;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/healthz") == 0) {
        const char *text;
        status = pp_web_api_healthz(app, &text);
        return reply_text(conn, status, text);
    }
    const char *tok = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    if (tok != NULL && cfg->token[0] && is_page(url)) {
        if (!token_ok(cfg, tok))
            return reply_unauthorized(cfg, conn);
        return reply_token_cookie(cfg, conn, url);
    }
    if (!authorized(cfg, conn) && is_page(url) && !cfg->basic_user[0]) {
        /* a person at a browser with no token yet: a sentence, not JSON */
        static const char page[] =
            "<!doctype html><meta charset=\"utf-8\"><title>partnerpulse: sign in</title>"
            "<p style=\"font-family:sans-serif;margin:3em\">This dashboard needs its access token. "
            "Open it once as <code>/?token=&lt;your token&gt;</code> (the token is then kept in a cookie "
            "and removed from the address); ask whoever runs it for the token. See docs/dashboard.md.</p>\n";
        return reply(conn, MHD_HTTP_UNAUTHORIZED, "text/html; charset=utf-8", page, sizeof page - 1, NULL, NULL);
    }
    if (!authorized(cfg, conn))
        return reply_unauthorized(cfg, conn);

    if (is_page(url))
        return reply_file(cfg, conn, "index.html");
    if (strncmp(url, "/assets/", 8) == 0)
        return reply_file(cfg, conn, url + 8);
    if (strcmp(url, "/api/leaderboard") == 0) {
        status = pp_web_api_leaderboard(app, get_arg, conn, &body);
        return reply_json(conn, url, status, body);
    }
    if (strncmp(url, "/api/partner/", 13) == 0) {
        status = pp_web_api_partner(app, url + 13, &body);
        return reply_json(conn, url, status, body);
    }
    if (strcmp(url, "/api/alerts") == 0) {
        status = pp_web_api_alerts(app, get_arg, conn, &body);
        return reply_json(conn, url, status, body);
    }
    if (strcmp(url, "/api/stream") == 0)
        return reply_stream(app, conn);
    if (strncmp(url, "/api/", 5) == 0)
        return reply_json(conn, url, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such route (docs/dashboard.md)"));
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ---- the server ---- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Kept to explain a failed start; later messages (a client that hung up
 * mid-answer, ...) are not errors of ours and are dropped. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    pp_web_http_t *h = cls;
    if (h->d == NULL && h->mhd_msg[0] == '\0') {
        vsnprintf(h->mhd_msg, sizeof h->mhd_msg, fmt, ap);
        size_t n = strlen(h->mhd_msg);
        while (n > 0 && strchr("\n. ", h->mhd_msg[n - 1]) != NULL)
            h->mhd_msg[--n] = '\0';
    }
}

pp_web_http_t *pp_web_http_start(const pp_web_app_t *app, char *err, size_t err_len)
{
    const pp_web_config_t *cfg = app->cfg;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    int not_ip = 0, v6 = 0;

    pp_web_http_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    h->app = app;
    pp_mhd_opts_t o = {.flags = flags, .handler = on_request, .handler_cls = h, .logger = on_mhd_log,
                       .logger_cls = h, .max_connections = PP_WEB_MAX_CONNECTIONS,
                       .timeout_s = PP_WEB_TIMEOUT_S, .connection_memory = CONN_MEMORY_LIMIT};
    h->d = pp_mhd_start(cfg->listen, cfg->port, &o, &not_ip, &v6);
    if (not_ip) {
        snprintf(err, err_len, "[web] listen \"%.64s\" is not an IP address (host names are not resolved): use "
                               "127.0.0.1 (the default), ::1, or 0.0.0.0 / :: for every interface",
                 cfg->listen);
        free(h);
        return NULL;
    }
    if (h->d == NULL) {
        snprintf(err, err_len, "cannot serve HTTP on %s:%d: %s; choose a free port ([web] port) or an address of "
                               "this machine ([web] listen)",
                 cfg->listen, cfg->port, h->mhd_msg[0] ? h->mhd_msg : "libmicrohttpd could not start");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL && info->port != 0 ? (int)info->port : cfg->port;
    return h;
}

int pp_web_http_port(const pp_web_http_t *h)
{
    return h->port;
}

void pp_web_http_stop(pp_web_http_t *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d); /* joins every connection thread */
    free(h);
}
