/*
 * pp_redis: Redis store on hiredis (see pp_redis.h).
 */
#include "pp_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#define KEY_MAX (PP_ID_MAX + 64)

struct pp_redis {
    redisContext *c;           /* NULL = disconnected */
    char *host, *user, *password, *prefix;
    int port, db, timeout_ms;
    char err[256];
    char *out;                 /* the command being built (RESP) */
    size_t out_len, out_cap;
    long argc;                 /* its arguments so far */
    char known_run_id[PP_STORE_RUNID_MAX]; /* the server last identified ("" = none yet) */
    bool stale;                /* connected to another server than known_run_id */
};

static char *dupstr(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}

pp_redis_t *pp_redis_new(const pp_redis_opts_t *o)
{
    pp_redis_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->host = dupstr(o->host);
    r->user = dupstr(o->user);
    r->password = dupstr(o->password);
    r->prefix = dupstr(o->prefix);
    if (!r->host || !r->user || !r->password || !r->prefix) {
        pp_redis_free(r);
        return NULL;
    }
    r->port = o->port;
    r->db = o->db;
    r->timeout_ms = o->timeout_ms;
    return r;
}

static void disconnect(pp_redis_t *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

void pp_redis_free(pp_redis_t *r)
{
    if (r == NULL)
        return;
    disconnect(r);
    if (r->password) /* do not leave the secret in freed memory */
        memset(r->password, 0, strlen(r->password));
    free(r->host);
    free(r->user);
    free(r->password);
    free(r->prefix);
    free(r->out);
    free(r);
}

static const char *r_error(void *s)
{
    return ((pp_redis_t *)s)->err;
}

/* Drop the connection and remember why. Returns -EIO. */
static int fail(pp_redis_t *r, const char *what)
{
    snprintf(r->err, sizeof r->err, "redis %s:%d: %s: %s", r->host, r->port, what,
             r->c && r->c->err ? r->c->errstr : "error");
    disconnect(r);
    return -EIO;
}

static int fail_reply(pp_redis_t *r, const char *what, const redisReply *rep)
{
    snprintf(r->err, sizeof r->err, "redis %s:%d: %s: %s", r->host, r->port, what,
             rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    disconnect(r);
    return -EIO;
}

static int server_run_id(pp_redis_t *r, char id[PP_STORE_RUNID_MAX])
{
    redisReply *rep = redisCommand(r->c, "INFO server");
    if (rep == NULL)
        return fail(r, "INFO server");
    if (rep->type != REDIS_REPLY_STRING) {
        int rc = fail_reply(r, "INFO server", rep);
        freeReplyObject(rep);
        return rc;
    }
    const char *p = strstr(rep->str, "run_id:");
    size_t n = 0;
    if (p != NULL)
        for (p += 7; n + 1 < PP_STORE_RUNID_MAX && p[n] && p[n] != '\r' && p[n] != '\n'; n++)
            id[n] = p[n];
    id[n] = '\0';
    freeReplyObject(rep);
    return 0;
}

static int ensure(pp_redis_t *r)
{
    if (r->c)
        return 0;
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000, .tv_usec = (r->timeout_ms % 1000) * 1000};
    r->c = r->host[0] == '/' ? redisConnectUnixWithTimeout(r->host, tv)
                             : redisConnectWithTimeout(r->host, r->port, tv);
    if (r->c == NULL) {
        snprintf(r->err, sizeof r->err, "redis: out of memory");
        return -EIO;
    }
    if (r->c->err)
        return fail(r, "connect");
    redisSetTimeout(r->c, tv);
    redisReply *rep = NULL;
    if (r->password[0]) {
        rep = r->user[0] ? redisCommand(r->c, "AUTH %s %s", r->user, r->password)
                         : redisCommand(r->c, "AUTH %s", r->password);
        if (rep == NULL)
            return fail(r, "AUTH");
        if (rep->type == REDIS_REPLY_ERROR) {
            /* the reply text never contains the password */
            int rc = fail_reply(r, "AUTH rejected (check [redis] user/password)", rep);
            freeReplyObject(rep);
            return rc;
        }
        freeReplyObject(rep);
    }
    if (r->db != 0) {
        rep = redisCommand(r->c, "SELECT %d", r->db);
        if (rep == NULL)
            return fail(r, "SELECT");
        if (rep->type == REDIS_REPLY_ERROR) {
            int rc = fail_reply(r, "SELECT", rep);
            freeReplyObject(rep);
            return rc;
        }
        freeReplyObject(rep);
    }
    if (r->known_run_id[0]) { /* the same server as before? (a restart, restore or failover is not) */
        char id[PP_STORE_RUNID_MAX];
        if (server_run_id(r, id) != 0)
            return -EIO;
        r->stale = strcmp(id, r->known_run_id) != 0;
        if (r->stale)
            snprintf(r->err, sizeof r->err, "redis %s:%d is another server instance than before (run_id %s, was %s)",
                     r->host, r->port, id, r->known_run_id);
    }
    return 0;
}

/* ensure(), and -ESTALE while the server is not the one identified. */
static int ready(pp_redis_t *r)
{
    if (ensure(r) != 0)
        return -EIO;
    return r->stale ? -ESTALE : 0;
}

int pp_redis_ping(pp_redis_t *r)
{
    if (ensure(r) != 0)
        return -EIO;
    redisReply *rep = redisCommand(r->c, "PING");
    if (rep == NULL)
        return fail(r, "PING");
    int rc = rep->type == REDIS_REPLY_STATUS ? 0 : fail_reply(r, "PING", rep);
    freeReplyObject(rep);
    return rc;
}


/* ---- building one command (RESP) without hiredis's per-argument formatting ---- */

#define HDR_ROOM 24 /* bytes kept in front of the arguments for "*<argc>\r\n" */

static int grow(pp_redis_t *r, size_t more)
{
    if (r->out_len + more <= r->out_cap)
        return 0;
    size_t cap = r->out_cap ? r->out_cap : 65536;
    while (cap < r->out_len + more)
        cap *= 2;
    char *nb = realloc(r->out, cap);
    if (nb == NULL)
        return -1;
    r->out = nb;
    r->out_cap = cap;
    return 0;
}

static void cmd_begin(pp_redis_t *r)
{
    r->out_len = HDR_ROOM;
    r->argc = 0;
}

static int arg(pp_redis_t *r, const void *p, size_t n)
{
    if (grow(r, n + 32) != 0)
        return -1;
    r->out_len += (size_t)snprintf(r->out + r->out_len, 32, "$%zu\r\n", n);
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    r->out[r->out_len++] = '\r';
    r->out[r->out_len++] = '\n';
    r->argc++;
    return 0;
}

static int args(pp_redis_t *r, const char *s)
{
    return arg(r, s, strlen(s));
}

static int argi(pp_redis_t *r, long long v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", v);
    return arg(r, b, (size_t)n);
}

__attribute__((format(printf, 2, 3))) static int argf(pp_redis_t *r, const char *fmt, ...)
{
    char b[KEY_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return arg(r, b, n < (int)sizeof b ? (size_t)n : sizeof b - 1);
}

/* Hand the command built to hiredis's output buffer. */
static int cmd_end(pp_redis_t *r)
{
    char h[HDR_ROOM];
    int n = snprintf(h, sizeof h, "*%ld\r\n", r->argc);
    char *start = r->out + HDR_ROOM - n;
    memcpy(start, h, (size_t)n);
    return redisAppendFormattedCommand(r->c, start, r->out_len - (HDR_ROOM - (size_t)n)) == REDIS_OK ? 0 : -1;
}

/*
 * The write script. ARGV: marker key, expected marker ("" = not checked),
 * number of epochs, (owner key, epoch) pairs, then commands, each as its
 * argument count followed by its arguments. Nothing is written unless the
 * marker and every epoch match. Returns the number of commands run.
 */
static const char WRITE_SCRIPT[] =
    "local a = ARGV\n"
    "if a[2] ~= '' and redis.call('GET', a[1]) ~= a[2] then\n"
    "  return redis.error_reply('PPSTALE the marker ' .. a[1] .. ' is not the one this daemon knows')\n"
    "end\n"
    "local i = 4\n"
    "for k = 1, tonumber(a[3]) do\n"
    "  if redis.call('GET', a[i]) ~= a[i + 1] then\n"
    "    return redis.error_reply('PPFENCED ' .. a[i] .. ' has moved on from epoch ' .. a[i + 1])\n"
    "  end\n"
    "  i = i + 2\n"
    "end\n"
    "local n, c = #a, 0\n"
    "while i <= n do\n"
    "  local argc = tonumber(a[i])\n"
    "  redis.call(unpack(a, i + 1, i + argc))\n"
    "  i = i + argc + 1\n"
    "  c = c + 1\n"
    "end\n"
    "return c\n";

/* Start an EVAL of the write script: marker and epoch checks. */
static int script_begin(pp_redis_t *r, const char *marker, const pp_store_epoch_t *ep, size_t n)
{
    cmd_begin(r);
    int rc = args(r, "EVAL") || args(r, WRITE_SCRIPT) || args(r, "0") || argf(r, "%smarker", r->prefix) || args(r, marker ? marker : "") || argi(r, (long long)n);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = argf(r, "%sowner:%d", r->prefix, (int)ep[i].partition) || argi(r, (long long)ep[i].epoch);
    return rc;
}

static int script_partner(pp_redis_t *r, const pp_store_partner_t *p)
{
    int rc = argi(r, 3) || args(r, "SET") || argf(r, "%sstate:{%s}", r->prefix, p->id) || arg(r, p->blob, p->blob_len);
    if (p->n_fields > 0) {
        rc = rc || argi(r, (long long)(2 + 2 * p->n_fields)) || args(r, "HSET") || argf(r, "%spartner:{%s}", r->prefix, p->id);
        for (size_t i = 0; i < p->n_fields && rc == 0; i++)
            rc = args(r, p->names[i]) || args(r, p->values[i]);
    }
    if (p->set_health)
        rc = rc || argi(r, 4) || args(r, "ZADD") || argf(r, "%shealth", r->prefix) || argf(r, "%.2f", p->health) || args(r, p->id);
    int part = p->partition < 0 ? 0 : (int)p->partition;
    if (p->set_deadline && p->deadline_ms)
        rc = rc || argi(r, 4) || args(r, "ZADD") || argf(r, "%sdeadlines:%d", r->prefix, part) || argi(r, (long long)p->deadline_ms) || args(r, p->id);
    else if (p->set_deadline)
        rc = rc || argi(r, 3) || args(r, "ZREM") || argf(r, "%sdeadlines:%d", r->prefix, part) || args(r, p->id);
    if (p->n_trend > 0) { /* replace the trend from its first day on, keep PP_TREND_DAYS */
        const pp_store_point_t *t = p->trend;
        int32_t last = t[p->n_trend - 1].day;
        rc = rc || argi(r, 4) || args(r, "ZREMRANGEBYSCORE") || argf(r, "%strend:{%s}", r->prefix, p->id) || argi(r, t[0].day) || args(r, "+inf");
        rc = rc || argi(r, (long long)(2 + 2 * p->n_trend)) || args(r, "ZADD") || argf(r, "%strend:{%s}", r->prefix, p->id);
        for (size_t i = 0; i < p->n_trend && rc == 0; i++)
            rc = argi(r, t[i].day) || argf(r, "%d:%.1f", (int)t[i].day, (double)t[i].health);
        rc = rc || argi(r, 4) || args(r, "ZREMRANGEBYSCORE") || argf(r, "%strend:{%s}", r->prefix, p->id) || args(r, "-inf") || argi(r, (long long)last - PP_TREND_DAYS);
    }
    return rc;
}

static int script_alert(pp_redis_t *r, const pp_store_alert_t *x, long maxlen)
{
    const pp_alert_t *a = x->a;
    int part = a->partition < 0 ? 0 : (int)a->partition, rc = 0;
    if (x->ops & PP_STORE_RECORD) {
        rc = rc || argi(r, 36) || args(r, "XADD") || argf(r, "%salerts", r->prefix) || args(r, "MAXLEN") || args(r, "~") || argi(r, maxlen) || args(r, "*") || args(r, "alert_id") || args(r, a->alert_id) || args(r, "partner_id") || args(r, a->partner_id) || args(r, "rule") || args(r, pp_rule_name(a->rule)) || args(r, "severity") || args(r, pp_severity_name(a->severity)) || args(r, "status") || args(r, a->status == PP_ALERT_FIRING ? "FIRING" : "RESOLVED") || args(r, "value") || argf(r, "%.3f", a->value) || args(r, "threshold") || argf(r, "%.3f", a->threshold) || args(r, "message") || args(r, a->message) || args(r, "started_at_ms") || argi(r, (long long)a->started_at_ms) || args(r, "event_time_ms") || argi(r, (long long)a->event_time_ms) || args(r, "emitted_at_ms") || argi(r, (long long)a->emitted_at_ms) || args(r, "health") || argf(r, "%.1f", a->health) || args(r, "evidence") || args(r, a->evidence) || args(r, "published") || args(r, (x->ops & PP_STORE_PUBLISH) ? "1" : "0") || args(r, "config_version") || args(r, x->config_version ? x->config_version : "");
    }
    if ((x->ops & PP_STORE_RECORD) && x->open_json != NULL) /* the partner's open flags */
        rc = rc || argi(r, 4) || args(r, "HSET") || argf(r, "%sopen:{%s}", r->prefix, a->partner_id) || args(r, pp_rule_name(a->rule)) || args(r, x->open_json);
    else if ((x->ops & PP_STORE_RECORD) && a->status == PP_ALERT_RESOLVED)
        rc = rc || argi(r, 3) || args(r, "HDEL") || argf(r, "%sopen:{%s}", r->prefix, a->partner_id) || args(r, pp_rule_name(a->rule));
    if (x->ops & PP_STORE_HOLD)
        rc = rc || argi(r, 4) || args(r, "HSET") || argf(r, "%sheldback:%d", r->prefix, part) || args(r, a->alert_id) || arg(r, x->packed, x->packed_len);
    else if (x->ops & PP_STORE_UNHOLD)
        rc = rc || argi(r, 3) || args(r, "HDEL") || argf(r, "%sheldback:%d", r->prefix, part) || args(r, a->alert_id);
    if (x->ops & PP_STORE_PUBLISH)
        rc = rc || argi(r, 3) || args(r, "RPUSH") || argf(r, "%soutbox:%d", r->prefix, part) || arg(r, x->packed, x->packed_len);
    return rc;
}

static int r_send(void *s, const pp_store_write_t *w, size_t *ticket)
{
    pp_redis_t *r = s;
    *ticket = 0;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    if (script_begin(r, w->marker, w->epochs, w->n_epochs) != 0)
        return fail(r, "out of memory building a write");
    for (size_t i = 0; i < w->n_partners; i++)
        if (script_partner(r, &w->partners[i]) != 0)
            return fail(r, "out of memory building a write");
    for (size_t i = 0; i < w->n_alerts; i++)
        if (script_alert(r, &w->alerts[i], w->stream_maxlen) != 0)
            return fail(r, "out of memory building a write");
    for (size_t i = 0; i < w->n_offsets; i++) {
        const pp_store_offset_t *o = &w->offsets[i];
        if ((argi(r, 4) || args(r, "HSET") || argf(r, "%soffsets:%d", r->prefix, (int)o->partition) || args(r, o->topic) || argi(r, (long long)o->next_offset)) != 0)
            return fail(r, "out of memory building a write");
    }
    if (cmd_end(r) != 0)
        return fail(r, "write (append)");
    /* hand it to the socket now: Redis runs this write while the caller
     * prepares the next one */
    for (int done = 0; !done;)
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return fail(r, "write (send)");
    *ticket = 1;
    return 0;
}

/* A script's error reply as a return code. */
static int script_error(pp_redis_t *r, const redisReply *rep)
{
    const char *e = rep->str;
    if (strncmp(e, "PPSTALE", 7) == 0) {
        snprintf(r->err, sizeof r->err, "redis %s:%d: %s", r->host, r->port, e + 8);
        r->stale = true;
        return -ESTALE;
    }
    if (strncmp(e, "PPFENCED", 8) == 0) {
        snprintf(r->err, sizeof r->err, "redis %s:%d: fenced: %s", r->host, r->port, e + 9);
        return -EPERM;
    }
    snprintf(r->err, sizeof r->err, "redis %s:%d: write failed: %s", r->host, r->port, e);
    return -EIO;
}

static int r_confirm(void *s, size_t ticket)
{
    pp_redis_t *r = s;
    if (ticket == 0)
        return 0;
    if (r->c == NULL)
        return -EIO;
    void *v = NULL;
    if (redisGetReply(r->c, &v) != REDIS_OK)
        return fail(r, "write (reply)");
    redisReply *rep = v;
    int rc = rep->type == REDIS_REPLY_INTEGER ? 0
             : rep->type == REDIS_REPLY_ERROR ? script_error(r, rep)
                                              : fail_reply(r, "write", rep);
    freeReplyObject(rep);
    return rc;
}

static void r_abandon(void *s)
{
    disconnect(s); /* replies still owed would be read as answers to later commands */
}

/* ---- identity, marker, ownership, offsets of record ---- */

static int r_identify(void *s, pp_store_identity_t *out)
{
    pp_redis_t *r = s;
    memset(out, 0, sizeof *out);
    if (ensure(r) != 0)
        return -EIO;
    if (server_run_id(r, out->run_id) != 0)
        return -EIO;
    redisReply *rep = redisCommand(r->c, "GET %smarker", r->prefix);
    if (rep == NULL)
        return fail(r, "GET marker");
    if (rep->type == REDIS_REPLY_STRING)
        snprintf(out->marker, sizeof out->marker, "%.*s", (int)rep->len, rep->str);
    else if (rep->type != REDIS_REPLY_NIL) {
        int rc = fail_reply(r, "GET marker", rep);
        freeReplyObject(rep);
        return rc;
    }
    freeReplyObject(rep);
    rep = redisCommand(r->c, "EXISTS %shealth", r->prefix);
    if (rep == NULL)
        return fail(r, "EXISTS health");
    out->has_data = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    freeReplyObject(rep);
    snprintf(r->known_run_id, sizeof r->known_run_id, "%s", out->run_id);
    r->stale = false;
    return 0;
}

static int r_create_marker(void *s, const char *marker, char out[PP_STORE_MARKER_MAX])
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    redisReply *rep = redisCommand(r->c, "SET %smarker %s NX", r->prefix, marker);
    if (rep == NULL)
        return fail(r, "SET marker");
    freeReplyObject(rep);
    rep = redisCommand(r->c, "GET %smarker", r->prefix);
    if (rep == NULL)
        return fail(r, "GET marker");
    rc = rep->type == REDIS_REPLY_STRING ? 0 : fail_reply(r, "GET marker", rep);
    if (rc == 0)
        snprintf(out, PP_STORE_MARKER_MAX, "%.*s", (int)rep->len, rep->str);
    freeReplyObject(rep);
    return rc;
}

static int r_claim(void *s, const int32_t *parts, size_t n, int64_t *epochs)
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0 || n == 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommand(r->c, "INCR %sowner:%d", r->prefix, (int)parts[i]) != REDIS_OK)
            return fail(r, "INCR owner (append)");
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->c, &v) != REDIS_OK)
            return fail(r, "INCR owner");
        redisReply *rep = v;
        if (rep->type != REDIS_REPLY_INTEGER && rc == 0)
            rc = -EIO;
        else
            epochs[i] = rep->integer;
        freeReplyObject(rep);
    }
    if (rc != 0)
        return fail(r, "INCR owner: unexpected reply");
    return 0;
}

static int r_read_offsets(void *s, int32_t partition, const char *const *topics, size_t n_topics, int64_t *out)
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    cmd_begin(r);
    rc = args(r, "HMGET") || argf(r, "%soffsets:%d", r->prefix, (int)partition);
    for (size_t i = 0; i < n_topics && rc == 0; i++)
        rc = args(r, topics[i]);
    if (rc != 0 || cmd_end(r) != 0)
        return fail(r, "HMGET offsets (append)");
    void *v = NULL;
    if (redisGetReply(r->c, &v) != REDIS_OK)
        return fail(r, "HMGET offsets");
    redisReply *rep = v;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n_topics) {
        rc = fail_reply(r, "HMGET offsets", rep);
        freeReplyObject(rep);
        return rc;
    }
    for (size_t i = 0; i < n_topics; i++)
        out[i] = rep->element[i]->type == REDIS_REPLY_STRING ? strtoll(rep->element[i]->str, NULL, 10) : -1;
    freeReplyObject(rep);
    return 0;
}

/* ---- partner states ---- */

static int r_load(void *s, pp_partner_t *const *sts, size_t n, enum pp_store_found *found)
{
    pp_redis_t *r = s;
    if (n == 0)
        return 0;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommand(r->c, "GET %sstate:{%s}", r->prefix, sts[i]->id) != REDIS_OK)
            return fail(r, "GET (append)");
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->c, &v) != REDIS_OK)
            return fail(r, "GET");
        redisReply *rep = v;
        found[i] = PP_FOUND_NONE;
        if (rep->type == REDIS_REPLY_STRING) {
            int d = pp_partner_decode((const uint8_t *)rep->str, rep->len, sts[i]);
            /* on an error the state is left as it was (initial) */
            found[i] = d == 0 ? PP_FOUND_OK : d == -EPROTO ? PP_FOUND_NEWER : PP_FOUND_CORRUPT;
        } else if (rep->type != REDIS_REPLY_NIL && rc == 0) {
            snprintf(r->err, sizeof r->err, "GET state of %s: %s", sts[i]->id,
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
            rc = -EIO;
        }
        freeReplyObject(rep);
    }
    return rc;
}

static int r_quarantine(void *s, const char *id)
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    redisReply *rep = redisCommand(r->c, "RENAME %sstate:{%s} %scorrupt:{%s}:%lld", r->prefix, id, r->prefix, id,
                                   (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    if (rep == NULL)
        return fail(r, "RENAME corrupt state");
    rc = rep->type == REDIS_REPLY_STATUS ? 0 : fail_reply(r, "RENAME corrupt state", rep);
    freeReplyObject(rep);
    return rc;
}

/* ---- outbox ---- */

static int r_outbox_read(void *s, int32_t partition, size_t max,
                         int (*each)(void *opaque, const uint8_t *buf, size_t len), void *opaque, size_t *n,
                         size_t *remaining)
{
    pp_redis_t *r = s;
    *n = *remaining = 0;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    if (redisAppendCommand(r->c, "LRANGE %soutbox:%d 0 %lld", r->prefix, (int)partition, (long long)max - 1) !=
            REDIS_OK ||
        redisAppendCommand(r->c, "LLEN %soutbox:%d", r->prefix, (int)partition) != REDIS_OK)
        return fail(r, "LRANGE outbox (append)");
    void *v = NULL, *w = NULL;
    if (redisGetReply(r->c, &v) != REDIS_OK)
        return fail(r, "LRANGE outbox");
    if (redisGetReply(r->c, &w) != REDIS_OK) {
        freeReplyObject(v);
        return fail(r, "LLEN outbox");
    }
    redisReply *rep = v, *len = w;
    if (rep->type != REDIS_REPLY_ARRAY || len->type != REDIS_REPLY_INTEGER) {
        rc = fail_reply(r, "LRANGE outbox", rep->type != REDIS_REPLY_ARRAY ? rep : len);
    } else {
        *remaining = (size_t)len->integer;
        for (size_t i = 0; i < rep->elements && rc == 0; i++, (*n)++)
            if (each(opaque, (const uint8_t *)rep->element[i]->str, rep->element[i]->len) != 0)
                rc = -EAGAIN;
    }
    freeReplyObject(rep);
    freeReplyObject(len);
    return rc;
}

static int r_outbox_trim(void *s, int32_t partition, int64_t epoch, size_t n)
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    pp_store_epoch_t ep = {.partition = partition, .epoch = epoch};
    if (script_begin(r, "", &ep, 1) != 0 ||
        (argi(r, 4) || args(r, "LTRIM") || argf(r, "%soutbox:%d", r->prefix, (int)partition) || argi(r, (long long)n) || args(r, "-1")) != 0 ||
        cmd_end(r) != 0)
        return fail(r, "LTRIM outbox (append)");
    return r_confirm(r, 1);
}

/* ---- held-back alerts, deadlines ---- */

static int r_heldback_scan(void *s, int32_t partition, uint64_t *cursor, size_t count,
                           void (*each)(void *opaque, const char *alert_id, size_t id_len, const uint8_t *buf,
                                        size_t len),
                           void *opaque)
{
    pp_redis_t *r = s;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    char cur[24];
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)*cursor); /* hiredis formats no unsigned */
    redisReply *rep = redisCommand(r->c, "HSCAN %sheldback:%d %s COUNT %lld", r->prefix, (int)partition, cur,
                                   (long long)count);
    if (rep == NULL)
        return fail(r, "HSCAN heldback");
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        rc = fail_reply(r, "HSCAN heldback", rep);
        goto out;
    }
    *cursor = strtoull(rep->element[0]->str, NULL, 10);
    const redisReply *kv = rep->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && kv->element[i + 1]->type == REDIS_REPLY_STRING)
            each(opaque, kv->element[i]->str, kv->element[i]->len, (const uint8_t *)kv->element[i + 1]->str,
                 kv->element[i + 1]->len);
out:
    freeReplyObject(rep);
    return rc;
}

static int r_due(void *s, int32_t partition, int64_t now_ms, size_t offset, size_t max, char (*ids)[PP_ID_MAX + 1],
                 size_t *n, size_t *scanned)
{
    pp_redis_t *r = s;
    *n = *scanned = 0;
    int rc = ready(r);
    if (rc != 0)
        return rc;
    redisReply *rep = redisCommand(r->c, "ZRANGEBYSCORE %sdeadlines:%d -inf %lld LIMIT %lld %lld", r->prefix,
                                   (int)partition, (long long)now_ms, (long long)offset, (long long)max);
    if (rep == NULL)
        return fail(r, "ZRANGEBYSCORE deadlines");
    if (rep->type != REDIS_REPLY_ARRAY) {
        rc = fail_reply(r, "ZRANGEBYSCORE deadlines", rep);
        freeReplyObject(rep);
        return rc;
    }
    *scanned = rep->elements;
    for (size_t i = 0; i < rep->elements && *n < max; i++) {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_STRING && pp_partner_id_valid(e->str, e->len)) {
            memcpy(ids[*n], e->str, e->len);
            ids[*n][e->len] = '\0';
            (*n)++;
        }
    }
    freeReplyObject(rep);
    return 0;
}

const pp_store_vt pp_redis_vt = {
    .error = r_error,
    .identify = r_identify,
    .create_marker = r_create_marker,
    .claim = r_claim,
    .read_offsets = r_read_offsets,
    .load = r_load,
    .quarantine = r_quarantine,
    .send = r_send,
    .confirm = r_confirm,
    .abandon = r_abandon,
    .due = r_due,
    .outbox_read = r_outbox_read,
    .outbox_trim = r_outbox_trim,
    .heldback_scan = r_heldback_scan,
};
