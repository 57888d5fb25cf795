/*
 * pp_web_sse: the SSE hub and its clients (see pp_web_sse.h).
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "pp_web_sse.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "pp_web_redis.h"

typedef struct frame {
    char *text;        /* owned: the whole frame, ending in a blank line */
    char stream_id[48]; /* alert frames: the entry id; "" for others */
} frame_t;

struct pp_web_sse {
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t cond;  /* broadcast on every frame and on stop */
    frame_t ring[PP_WEB_SSE_RING]; /* frame number k is ring[k % PP_WEB_SSE_RING] */
    uint64_t seq;         /* number of the next frame published */
    size_t clients;
    bool stopping;
};

struct pp_web_sse_client {
    pp_web_sse_t *hub;    /* borrowed */
    int fd;               /* the client's socket, polled for a hang-up */
    uint64_t next;        /* next frame number to send */
    char *pending;        /* owned: the frame being sent */
    size_t pending_len, pending_off;
    char skip_upto[48];   /* alert frames at or before this id were caught up */
    struct timespec last_sent; /* CLOCK_MONOTONIC */
};

pp_web_sse_t *pp_web_sse_new(void)
{
    pp_web_sse_t *hub = calloc(1, sizeof *hub);
    pthread_condattr_t ca;
    if (hub == NULL)
        return NULL;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&hub->mu, NULL) != 0 || pthread_cond_init(&hub->cond, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(hub);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    return hub;
}

void pp_web_sse_free(pp_web_sse_t *hub)
{
    if (hub == NULL)
        return;
    for (size_t i = 0; i < PP_WEB_SSE_RING; i++)
        free(hub->ring[i].text);
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

void pp_web_sse_stop(pp_web_sse_t *hub)
{
    pthread_mutex_lock(&hub->mu);
    hub->stopping = true;
    pthread_cond_broadcast(&hub->cond);
    pthread_mutex_unlock(&hub->mu);
}

size_t pp_web_sse_clients(pp_web_sse_t *hub)
{
    pthread_mutex_lock(&hub->mu);
    size_t n = hub->clients;
    pthread_mutex_unlock(&hub->mu);
    return n;
}

/* Takes text (owned). */
static void publish(pp_web_sse_t *hub, char *text, const char *stream_id)
{
    if (text == NULL)
        return;
    pthread_mutex_lock(&hub->mu);
    if (hub->stopping) {
        pthread_mutex_unlock(&hub->mu);
        free(text);
        return;
    }
    frame_t *f = &hub->ring[hub->seq % PP_WEB_SSE_RING];
    free(f->text);
    f->text = text;
    snprintf(f->stream_id, sizeof f->stream_id, "%s", stream_id ? stream_id : "");
    hub->seq++;
    pthread_cond_broadcast(&hub->cond);
    pthread_mutex_unlock(&hub->mu);
}

/* "event: <event>\n[id: <id>\n]data: <json>\n\n", malloc'ed. JSON text is
 * one line (compact; jansson escapes newlines inside strings). */
static char *frame_text(const char *event, const char *id, const json_t *data)
{
    char *js = pp_web_json_text(data), *out = NULL;
    if (js == NULL)
        return NULL;
    size_t n = strlen(event) + strlen(js) + (id ? strlen(id) : 0) + 32;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "event: %s\n%s%s%sdata: %s\n\n", event, id ? "id: " : "", id ? id : "", id ? "\n" : "", js);
    free(js);
    return out;
}

char *pp_web_sse_alert_frame(const char *stream_id, const json_t *alert)
{
    return frame_text("alert", stream_id, alert);
}

void pp_web_sse_publish_alert(pp_web_sse_t *hub, const char *stream_id, const json_t *alert)
{
    publish(hub, pp_web_sse_alert_frame(stream_id, alert), stream_id);
}

void pp_web_sse_publish_health(pp_web_sse_t *hub, const json_t *row)
{
    publish(hub, frame_text("health", NULL, row), NULL);
}

static void set_pending(pp_web_sse_client_t *cl, char *text)
{
    free(cl->pending);
    cl->pending = text;
    cl->pending_len = text ? strlen(text) : 0;
    cl->pending_off = 0;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

pp_web_sse_client_t *pp_web_sse_client_new(pp_web_sse_t *hub, int fd)
{
    pp_web_sse_client_t *cl = calloc(1, sizeof *cl);
    char hello[64];
    if (cl == NULL)
        return NULL;
    cl->hub = hub;
    cl->fd = fd;
    snprintf(hello, sizeof hello, "retry: %d\n\n", PP_WEB_SSE_RETRY_MS);
    set_pending(cl, dupstr(hello)); /* something to send at once: the headers go out */
    clock_gettime(CLOCK_MONOTONIC, &cl->last_sent);
    pthread_mutex_lock(&hub->mu);
    cl->next = hub->seq;
    hub->clients++;
    pthread_mutex_unlock(&hub->mu);
    return cl;
}

void pp_web_sse_client_catch_up(pp_web_sse_client_t *cl, const char *text, const char *last_id)
{
    if (last_id != NULL)
        snprintf(cl->skip_upto, sizeof cl->skip_upto, "%s", last_id);
    if (text == NULL || text[0] == '\0')
        return;
    size_t n = cl->pending_len - cl->pending_off, m = strlen(text);
    char *both = malloc(n + m + 1);
    if (both == NULL)
        return;
    memcpy(both, cl->pending + cl->pending_off, n);
    memcpy(both + n, text, m + 1);
    set_pending(cl, both);
}

/* Stream ids "<ms>-<seq>": a <= b? */
static bool id_le(const char *a, const char *b)
{
    uint64_t am = 0, as = 0, bm = 0, bs = 0;
    if (sscanf(a, "%" SCNu64 "-%" SCNu64, &am, &as) < 1 || sscanf(b, "%" SCNu64 "-%" SCNu64, &bm, &bs) < 1)
        return false;
    return am < bm || (am == bm && as <= bs);
}

static bool peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* The next frame for cl into cl->pending. 0, or the MHD end code. */
static ssize_t next_frame(pp_web_sse_client_t *cl)
{
    pp_web_sse_t *hub = cl->hub;
    ssize_t rc = 0;

    pthread_mutex_lock(&hub->mu);
    for (;;) {
        if (hub->stopping) {
            rc = MHD_CONTENT_READER_END_OF_STREAM;
            break;
        }
        if (hub->seq - cl->next > PP_WEB_SSE_RING) {
            rc = MHD_CONTENT_READER_END_WITH_ERROR; /* fell behind: reconnect, catch up */
            break;
        }
        if (cl->next < hub->seq) {
            const frame_t *f = &hub->ring[cl->next++ % PP_WEB_SSE_RING];
            if (cl->skip_upto[0] && f->stream_id[0] && id_le(f->stream_id, cl->skip_upto))
                continue; /* sent by the catch-up */
            set_pending(cl, dupstr(f->text));
            break;
        }
        if (since(&cl->last_sent) >= PP_WEB_SSE_PING_S) {
            set_pending(cl, dupstr(": ping\n\n"));
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&hub->cond, &hub->mu, &until);
        if (peer_gone(cl->fd)) {
            rc = MHD_CONTENT_READER_END_WITH_ERROR;
            break;
        }
    }
    pthread_mutex_unlock(&hub->mu);
    if (rc == 0 && cl->pending == NULL)
        rc = MHD_CONTENT_READER_END_WITH_ERROR; /* out of memory */
    return rc;
}

ssize_t pp_web_sse_client_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    pp_web_sse_client_t *cl = cls;
    (void)pos;
    if (cl->pending_off >= cl->pending_len) {
        ssize_t rc = next_frame(cl);
        if (rc != 0)
            return rc;
    }
    size_t n = cl->pending_len - cl->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, cl->pending + cl->pending_off, n);
    cl->pending_off += n;
    clock_gettime(CLOCK_MONOTONIC, &cl->last_sent);
    return (ssize_t)n;
}

void pp_web_sse_client_free(void *cls)
{
    pp_web_sse_client_t *cl = cls;
    if (cl == NULL)
        return;
    pthread_mutex_lock(&cl->hub->mu);
    cl->hub->clients--;
    pthread_mutex_unlock(&cl->hub->mu);
    free(cl->pending);
    free(cl);
}
