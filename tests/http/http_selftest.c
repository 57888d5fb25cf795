/*
 * http_selftest: the HTTP endpoint (pp_http) and the metrics renderer
 * (pp_metrics) driven through their public API. The server listens on
 * 127.0.0.1 with a kernel-chosen port, so runs never collide; the client is
 * plain sockets (no curl). Prints one line per failed check and exits 1 if
 * any failed.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pp_http.h"
#include "pp_metrics.h"

static int failures;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, __func__, #cond); \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

#define RESP_MAX (2u * 1024u * 1024u)

typedef struct resp {
    int status;      /* from the status line, -1 if none */
    char *raw;       /* whole response, NUL-terminated; owned */
    const char *body;
    size_t body_len;
} resp_t;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void resp_free(resp_t *r)
{
    free(r->raw);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {10, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (const struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send `request` verbatim, read until the server closes. 0 or -1. */
static int http_raw(int port, const char *request, resp_t *r)
{
    size_t len = 0, n = strlen(request);
    const char *sep;
    ssize_t k;
    int fd;

    memset(r, 0, sizeof *r);
    r->status = -1;
    fd = connect_to(port);
    if (fd < 0)
        return -1;
    if (send(fd, request, n, MSG_NOSIGNAL) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    r->raw = malloc(RESP_MAX + 1);
    if (r->raw == NULL) {
        close(fd);
        return -1;
    }
    while (len < RESP_MAX && (k = recv(fd, r->raw + len, RESP_MAX - len, 0)) > 0)
        len += (size_t)k;
    close(fd);
    r->raw[len] = '\0';
    if (sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = -1;
    sep = strstr(r->raw, "\r\n\r\n");
    r->body = sep ? sep + 4 : r->raw + len;
    r->body_len = (size_t)(r->raw + len - r->body);
    return 0;
}

static int http(int port, const char *method, const char *path, resp_t *r)
{
    char req[512];

    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             method, path);
    return http_raw(port, req, r);
}

static bool body_is(const resp_t *r, const char *want)
{
    return r->body_len == strlen(want) && memcmp(r->body, want, r->body_len) == 0;
}

/* Case-sensitive search of the header block for a full header line. */
static bool has_header(const resp_t *r, const char *line)
{
    const char *end = r->body ? r->body : r->raw;
    const char *p = strstr(r->raw, line);

    return p != NULL && p < end;
}

/* ---- pp_metrics ---- */

static void test_metrics_family_header_written_once_per_name(void)
{
    pp_metrics_buf_t b = {0};

    pp_metrics_begin(&b);
    CHECK(pp_metrics_counter(&b, "pp_events_total", "Events applied.", NULL, 42) == 0);
    CHECK(pp_metrics_gauge(&b, "pp_health", "Health score.",
                           (const char *const[]){"partner", "acme", NULL}, 71.5) == 0);
    CHECK(pp_metrics_gauge(&b, "pp_health", "Health score.",
                           (const char *const[]){"partner", "globex", NULL}, 30) == 0);
    CHECK(b.err == 0);
    CHECK(b.data != NULL && strcmp(b.data,
                                   "# HELP pp_events_total Events applied.\n"
                                   "# TYPE pp_events_total counter\n"
                                   "pp_events_total 42\n"
                                   "# HELP pp_health Health score.\n"
                                   "# TYPE pp_health gauge\n"
                                   "pp_health{partner=\"acme\"} 71.5\n"
                                   "pp_health{partner=\"globex\"} 30\n") == 0);
    CHECK(b.len == strlen(b.data));
    pp_metrics_free(&b);
}

static void test_metrics_escapes_label_values_and_help(void)
{
    pp_metrics_buf_t b = {0};

    pp_metrics_begin(&b);
    CHECK(pp_metrics_counter(&b, "pp_x_total", "a \\ b\nc \"q\"",
                             (const char *const[]){"a", "q\"b\\s\nn", "b", "", NULL}, 1) == 0);
    CHECK(strcmp(b.data, "# HELP pp_x_total a \\\\ b\\nc \"q\"\n"
                         "# TYPE pp_x_total counter\n"
                         "pp_x_total{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 1\n") == 0);
    pp_metrics_free(&b);
}

static void test_metrics_rejects_bad_names_and_appends_nothing(void)
{
    pp_metrics_buf_t b = {0};
    char long_name[PP_METRICS_NAME_MAX + 2];

    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    pp_metrics_begin(&b);
    CHECK(pp_metrics_counter(&b, "ok_total", NULL, NULL, 1) == 0);
    CHECK(pp_metrics_counter(&b, "1bad", "h", NULL, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, "bad-name", "h", NULL, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, "", "h", NULL, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, long_name, "h", NULL, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, "x", "h", (const char *const[]){"bad:label", "v", NULL}, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, "x", "h", (const char *const[]){"__reserved", "v", NULL}, 1) == -EINVAL);
    CHECK(pp_metrics_counter(&b, "x", "h", (const char *const[]){"odd", NULL}, 1) == -EINVAL);
    /* same name as the previous family with another type */
    CHECK(pp_metrics_gauge(&b, "ok_total", NULL, NULL, 1) == -EINVAL);
    CHECK(b.err == -EINVAL);
    CHECK(strcmp(b.data, "# TYPE ok_total counter\nok_total 1\n") == 0);
    /* a later good call still works; begin() clears the error */
    CHECK(pp_metrics_gauge(&b, "ns:ok", NULL, NULL, -2) == 0);
    pp_metrics_begin(&b);
    CHECK(b.err == 0 && b.len == 0);
    pp_metrics_free(&b);
    pp_metrics_free(NULL);
}

static void test_metrics_gauge_special_values(void)
{
    pp_metrics_buf_t b = {0};

    pp_metrics_begin(&b);
    CHECK(pp_metrics_gauge(&b, "g", NULL, (const char *const[]){"v", "nan", NULL}, NAN) == 0);
    CHECK(pp_metrics_gauge(&b, "g", NULL, (const char *const[]){"v", "pinf", NULL}, INFINITY) == 0);
    CHECK(pp_metrics_gauge(&b, "g", NULL, (const char *const[]){"v", "ninf", NULL}, -INFINITY) == 0);
    CHECK(pp_metrics_gauge(&b, "g", NULL, (const char *const[]){"v", "tenth", NULL}, 0.1) == 0);
    CHECK(pp_metrics_gauge(&b, "g", NULL, (const char *const[]){"v", "third", NULL}, 1.0 / 3.0) == 0);
    CHECK(strcmp(b.data, "# TYPE g gauge\n"
                         "g{v=\"nan\"} NaN\n"
                         "g{v=\"pinf\"} +Inf\n"
                         "g{v=\"ninf\"} -Inf\n"
                         "g{v=\"tenth\"} 0.1\n"
                         "g{v=\"third\"} 0.33333333333333331\n") == 0);
    pp_metrics_free(&b);
}

/* A cumulative time is a counter (promtool: a gauge must not end in _total). */
static void test_metrics_fractional_counter(void)
{
    pp_metrics_buf_t b = {0};

    pp_metrics_begin(&b);
    CHECK(pp_metrics_counter_f(&b, "pp_flush_seconds_total", "Time.", NULL, 1.25) == 0);
    CHECK(pp_metrics_counter_f(&b, "pp_x_seconds_total", NULL, NULL, -1) == -EINVAL);
    CHECK(pp_metrics_counter_f(&b, "pp_x_seconds_total", NULL, NULL, NAN) == -EINVAL);
    CHECK(pp_metrics_counter_f(&b, "pp_x_seconds_total", NULL, NULL, INFINITY) == -EINVAL);
    CHECK(b.err == -EINVAL);
    CHECK(strcmp(b.data, "# HELP pp_flush_seconds_total Time.\n"
                         "# TYPE pp_flush_seconds_total counter\n"
                         "pp_flush_seconds_total 1.25\n") == 0);
    pp_metrics_free(&b);
}

static void test_metrics_capped_and_rolled_back_whole_entries(void)
{
    pp_metrics_buf_t b = {0};
    char *big = malloc(64 * 1024);
    size_t before;
    int rc = 0, calls = 0;

    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'v', 64 * 1024 - 1);
    big[64 * 1024 - 1] = '\0';
    pp_metrics_begin(&b);
    while (rc == 0 && calls < 100) {
        before = b.len;
        rc = pp_metrics_gauge(&b, "big", "h", (const char *const[]){"v", big, NULL}, calls++);
    }
    CHECK(rc == -EMSGSIZE);
    CHECK(b.err == -EMSGSIZE);
    CHECK(b.len == before);              /* the failed entry left nothing */
    CHECK(b.len <= PP_METRICS_MAX_BYTES);
    CHECK(b.data[b.len] == '\0' && b.data[b.len - 1] == '\n');
    CHECK(calls > 10);
    free(big);
    pp_metrics_free(&b);
}

/* ---- pp_http ---- */

static void test_http_rejects_bad_arguments_with_a_sentence(void)
{
    char err[256];

    CHECK(pp_http_start("localhost", 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "not an IP address") != NULL);
    CHECK(pp_http_start("127.0.0.1", 70000, err, sizeof err) == NULL);
    CHECK(strstr(err, "out of range") != NULL);
    CHECK(pp_http_start("127.0.0.1", -1, err, sizeof err) == NULL);
    pp_http_stop(NULL);
}

static void test_http_routes(pp_http_t *h)
{
    int port = pp_http_port(h);
    pp_metrics_buf_t b = {0};
    resp_t r;

    CHECK(http(port, "GET", "/healthz", &r) == 0);
    CHECK(r.status == 200 && body_is(&r, "ok\n"));
    resp_free(&r);

    CHECK(http(port, "GET", "/readyz", &r) == 0);
    CHECK(r.status == 503 && body_is(&r, "not ready: starting\n"));
    resp_free(&r);

    pp_http_set_ready(h, false, "redis\nunreachable");
    CHECK(http(port, "GET", "/readyz", &r) == 0);
    CHECK(r.status == 503 && body_is(&r, "not ready: redis unreachable\n"));
    resp_free(&r);

    pp_http_set_ready(h, true, NULL);
    CHECK(http(port, "GET", "/readyz", &r) == 0);
    CHECK(r.status == 200 && body_is(&r, "ready\n"));
    resp_free(&r);

    CHECK(http(port, "GET", "/metrics", &r) == 0); /* nothing published yet */
    CHECK(r.status == 200 && r.body_len == 0);
    CHECK(has_header(&r, "\r\nContent-Type: text/plain; version=0.0.4"));
    resp_free(&r);

    pp_metrics_begin(&b);
    CHECK(pp_metrics_counter(&b, "pp_events_total", "Events applied.", NULL, 7) == 0);
    CHECK(pp_http_publish_metrics(h, b.data, b.len) == 0);
    CHECK(http(port, "GET", "/metrics?name=x", &r) == 0);
    CHECK(r.status == 200 && body_is(&r, b.data));
    CHECK(has_header(&r, "\r\nContent-Type: text/plain; version=0.0.4"));
    resp_free(&r);

    /* a text at the cap is served whole */
    {
        char *big = malloc(PP_HTTP_MAX_METRICS);

        CHECK(big != NULL);
        if (big != NULL) {
            memset(big, '#', PP_HTTP_MAX_METRICS);
            CHECK(pp_http_publish_metrics(h, big, PP_HTTP_MAX_METRICS) == 0);
            CHECK(http(port, "GET", "/metrics", &r) == 0);
            CHECK(r.status == 200 && r.body_len == PP_HTTP_MAX_METRICS &&
                  memcmp(r.body, big, PP_HTTP_MAX_METRICS) == 0);
            resp_free(&r);
            free(big);
        }
        CHECK(pp_http_publish_metrics(h, b.data, b.len) == 0);
    }

    /* over the cap: refused, the previous text stays */
    CHECK(pp_http_publish_metrics(h, b.data, PP_HTTP_MAX_METRICS + 1) == -EMSGSIZE);
    CHECK(http(port, "GET", "/metrics", &r) == 0);
    CHECK(r.status == 200 && body_is(&r, b.data));
    resp_free(&r);
    pp_metrics_free(&b);

    CHECK(http(port, "HEAD", "/healthz", &r) == 0);
    CHECK(r.status == 200 && r.body_len == 0);
    resp_free(&r);

    CHECK(http(port, "GET", "/nope", &r) == 0);
    CHECK(r.status == 404);
    resp_free(&r);
    CHECK(http(port, "GET", "/healthz/", &r) == 0);
    CHECK(r.status == 404);
    resp_free(&r);

    CHECK(http(port, "DELETE", "/metrics", &r) == 0);
    CHECK(r.status == 405 && has_header(&r, "\r\nAllow: GET, HEAD"));
    resp_free(&r);
    CHECK(http_raw(port,
                   "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Length: 5\r\n\r\nhello",
                   &r) == 0);
    CHECK(r.status == 405);
    resp_free(&r);
}

static void test_http_second_start_on_same_port_fails_clearly(pp_http_t *h)
{
    char err[512];
    char want[32];
    pp_http_t *h2 = pp_http_start("127.0.0.1", pp_http_port(h), err, sizeof err);

    CHECK(h2 == NULL);
    pp_http_stop(h2);
    snprintf(want, sizeof want, "127.0.0.1:%d", pp_http_port(h));
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "in use") != NULL); /* strerror(EADDRINUSE) via MHD */
    printf("second start refused: %s\n", err);
}

/* Publishing every iteration while a client reads: each body is one whole
 * published text, never a mix. */
typedef struct reader {
    int port;
    int bad;
    int n;
} reader_t;

static const char TEXT_A[] = "# TYPE a gauge\na 1\n";
static const char TEXT_B[] = "# TYPE bbbbbbbbbbbbbbbb gauge\nbbbbbbbbbbbbbbbb 2222222222\n";

static void *read_metrics(void *arg)
{
    reader_t *rd = arg;
    resp_t r;
    int i;

    for (i = 0; i < 200; i++) {
        if (http(rd->port, "GET", "/metrics", &r) != 0 || r.status != 200 ||
            !(body_is(&r, TEXT_A) || body_is(&r, TEXT_B)))
            rd->bad++;
        rd->n++;
        resp_free(&r);
    }
    return NULL;
}

static void test_http_publish_races_no_reader(pp_http_t *h)
{
    reader_t rd = {pp_http_port(h), 0, 0};
    pthread_t t;
    int i;

    CHECK(pp_http_publish_metrics(h, TEXT_A, strlen(TEXT_A)) == 0);
    CHECK(pthread_create(&t, NULL, read_metrics, &rd) == 0);
    for (i = 0; i < 20000; i++) {
        const char *s = (i & 1) ? TEXT_A : TEXT_B;
        pp_http_publish_metrics(h, s, strlen(s));
    }
    pthread_join(t, NULL);
    CHECK(rd.n == 200 && rd.bad == 0);
}

/* Connection limit: while PP_HTTP_MAX_CONNECTIONS clients hold connections,
 * one more is not served; once they go, it is (or is closed) and the
 * endpoint answers again. */
static void test_http_connection_limit(pp_http_t *h)
{
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct timeval short_wait = {1, 0};
    int fds[PP_HTTP_MAX_CONNECTIONS];
    int i, extra, opened = 0;
    char buf[256];
    ssize_t k;
    resp_t r;

    for (i = 0; i < PP_HTTP_MAX_CONNECTIONS; i++) {
        fds[i] = connect_to(pp_http_port(h));
        if (fds[i] >= 0)
            opened++;
    }
    CHECK(opened == PP_HTTP_MAX_CONNECTIONS);
    sleep_ms(200); /* let MHD accept them */
    extra = connect_to(pp_http_port(h)); /* the kernel's backlog completes it */
    CHECK(extra >= 0);
    if (extra >= 0) {
        CHECK(send(extra, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1));
        setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof short_wait);
        k = recv(extra, buf, sizeof buf, 0);
        CHECK(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)); /* not served */
    }
    for (i = 0; i < PP_HTTP_MAX_CONNECTIONS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (extra >= 0) {
        k = recv(extra, buf, sizeof buf - 1, 0);
        CHECK(k >= 0); /* answered or closed, promptly */
        close(extra);
    }
    CHECK(http(pp_http_port(h), "GET", "/healthz", &r) == 0);
    CHECK(r.status == 200);
    resp_free(&r);
}

/* A client that connects and says nothing is dropped after the timeout. */
static void test_http_idle_client_is_dropped(pp_http_t *h)
{
    struct timespec t0, t1;
    double waited;
    char c;
    int fd = connect_to(pp_http_port(h));
    ssize_t k;

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    k = recv(fd, &c, 1, 0); /* SO_RCVTIMEO is 10 s: fails if never closed */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(k == 0);
    CHECK(waited >= PP_HTTP_TIMEOUT_S - 1 && waited < PP_HTTP_TIMEOUT_S + 3);
    close(fd);
}

int main(void)
{
    char err[256];
    pp_http_t *h;

    test_metrics_family_header_written_once_per_name();
    test_metrics_escapes_label_values_and_help();
    test_metrics_rejects_bad_names_and_appends_nothing();
    test_metrics_gauge_special_values();
    test_metrics_fractional_counter();
    test_metrics_capped_and_rolled_back_whole_entries();
    test_http_rejects_bad_arguments_with_a_sentence();

    h = pp_http_start("127.0.0.1", 0, err, sizeof err);
    CHECK(h != NULL);
    if (h == NULL) {
        fprintf(stderr, "cannot start: %s\n", err);
        return 1;
    }
    CHECK(pp_http_port(h) > 0);
    test_http_routes(h);
    test_http_second_start_on_same_port_fails_clearly(h);
    test_http_publish_races_no_reader(h);
    test_http_connection_limit(h);
    test_http_idle_client_is_dropped(h);
    pp_http_stop(h);

    if (failures) {
        fprintf(stderr, "http_selftest: %d check(s) failed\n", failures);
        return 1;
    }
    printf("http_selftest: all checks passed\n");
    return 0;
}
