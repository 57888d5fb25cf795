/*
 * pp_redis: Redis store on hiredis (see pp_redis.h).
 */
#include "pp_redis.h"

#include <errno.h>
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
    uint8_t *blob;             /* scratch for one encoded state */
    pp_field_t *fields;        /* scratch for one partner's hash fields */
    char *out;                 /* scratch for one RESP-formatted command */
    size_t out_cap;
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
    r->blob = malloc(pp_partner_blob_size());
    r->fields = calloc(PP_FIELDS_MAX, sizeof *r->fields);
    if (!r->host || !r->user || !r->password || !r->prefix || !r->blob || !r->fields) {
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
    free(r->blob);
    free(r->fields);
    free(r->out);
    free(r);
}

const char *pp_redis_error(const pp_redis_t *r)
{
    return r->err;
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
    return 0;
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

static void state_key(const pp_redis_t *r, const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%sstate:{%s}", r->prefix, id);
}

int pp_redis_load(pp_redis_t *r, pp_partner_t *const *sts, size_t n, bool *found)
{
    if (n == 0)
        return 0;
    if (ensure(r) != 0)
        return -EIO;
    char key[KEY_MAX];
    for (size_t i = 0; i < n; i++) {
        state_key(r, sts[i]->id, key, sizeof key);
        if (redisAppendCommand(r->c, "GET %s", key) != REDIS_OK)
            return fail(r, "GET (append)");
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->c, &v) != REDIS_OK)
            return fail(r, "GET");
        redisReply *rep = v;
        if (found)
            found[i] = false;
        if (rep->type == REDIS_REPLY_STRING) {
            if (pp_partner_decode((const uint8_t *)rep->str, rep->len, sts[i]) == 0) {
                if (found)
                    found[i] = true;
            } else if (rc == 0) {
                snprintf(r->err, sizeof r->err,
                         "stored state of partner %s is corrupt or of another version", sts[i]->id);
                rc = -EBADMSG;
            }
        } else if (rep->type != REDIS_REPLY_NIL && rc == 0) {
            snprintf(r->err, sizeof r->err, "GET state of %s: %s", sts[i]->id,
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
            rc = -EIO;
        }
        freeReplyObject(rep);
    }
    return rc;
}

/* Append one command in RESP form, built here with memcpy: hiredis's own
 * argv formatting (sdscatfmt per argument) dominated the flush profile. */
static int append_argv(pp_redis_t *r, int argc, const char *const *argv, const size_t *argl)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++)
        need += 16 + argl[i];
    if (need > r->out_cap) {
        size_t cap = need * 2;
        char *nb = realloc(r->out, cap);
        if (nb == NULL)
            return -1;
        r->out = nb;
        r->out_cap = cap;
    }
    char *o = r->out;
    o += snprintf(o, 16, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        o += snprintf(o, 16, "$%zu\r\n", argl[i]);
        memcpy(o, argv[i], argl[i]);
        o += argl[i];
        *o++ = '\r';
        *o++ = '\n';
    }
    return redisAppendFormattedCommand(r->c, r->out, (size_t)(o - r->out)) == REDIS_OK ? 0 : -1;
}

/* Append the commands storing one partner. Returns how many commands. */
static int append_partner(pp_redis_t *r, const pp_redis_batch_t *b, const pp_partner_t *st,
                          pp_field_t *fields)
{
    char key[KEY_MAX];
    size_t blen = pp_partner_encode(st, r->blob, pp_partner_blob_size());
    state_key(r, st->id, key, sizeof key);
    const char *sargv[3] = {"SET", key, (const char *)r->blob};
    size_t slen[3] = {3, strlen(key), blen};
    if (append_argv(r, 3, sargv, slen) != 0)
        return -1;

    unsigned skip = 0;
    size_t nf = b->fields(b->opaque, st, fields, PP_FIELDS_MAX, &skip);
    int cmds = 1; /* SET */
    const char *argv[2 + 2 * PP_FIELDS_MAX];
    size_t argl[2 + 2 * PP_FIELDS_MAX];
    snprintf(key, sizeof key, "%spartner:{%s}", r->prefix, st->id);
    argv[0] = "HSET";
    argl[0] = 4;
    argv[1] = key;
    argl[1] = strlen(key);
    for (size_t i = 0; i < nf; i++) {
        argv[2 + 2 * i] = fields[i].name;
        argl[2 + 2 * i] = strlen(fields[i].name);
        argv[3 + 2 * i] = fields[i].value;
        argl[3 + 2 * i] = strlen(fields[i].value);
    }
    if (nf > 0) { /* only the field groups that changed */
        if (append_argv(r, (int)(2 + 2 * nf), argv, argl) != 0)
            return -1;
        cmds++;
    }

    char score[32], when[24];
    if (!(skip & PP_SKIP_HEALTH)) {
        snprintf(key, sizeof key, "%shealth", r->prefix);
        snprintf(score, sizeof score, "%.2f", pp_partner_health(st));
        const char *zargv[4] = {"ZADD", key, score, st->id};
        size_t zlen[4] = {4, strlen(key), strlen(score), strlen(st->id)};
        if (append_argv(r, 4, zargv, zlen) != 0)
            return -1;
        cmds++;
    }
    if (skip & PP_SKIP_DEADLINE)
        return cmds;

    snprintf(key, sizeof key, "%sdeadlines:%d", r->prefix, st->home_partition < 0 ? 0 : (int)st->home_partition);
    snprintf(when, sizeof when, "%lld", (long long)st->next_deadline_ms);
    const char *dargv[4] = {"ZADD", key, when, st->id};
    size_t dlen[4] = {4, strlen(key), strlen(when), strlen(st->id)};
    const char *rargv[3] = {"ZREM", key, st->id};
    size_t rlen[3] = {4, strlen(key), strlen(st->id)};
    int rc = st->next_deadline_ms ? append_argv(r, 4, dargv, dlen) : append_argv(r, 3, rargv, rlen);
    return rc == 0 ? cmds + 1 : -1;
}

/* Append the XADD recording one alert on the stream. 0 or -1. */
static int append_record(pp_redis_t *r, const pp_redis_batch_t *b, const pp_alert_t *a, const char *cv)
{
    char key[KEY_MAX], maxlen[24], value[32], threshold[32], started[24], at[24], emitted[24], health[16];
    snprintf(key, sizeof key, "%salerts", r->prefix);
    snprintf(maxlen, sizeof maxlen, "%ld", b->stream_maxlen);
    snprintf(value, sizeof value, "%.3f", a->value);
    snprintf(threshold, sizeof threshold, "%.3f", a->threshold);
    snprintf(started, sizeof started, "%lld", (long long)a->started_at_ms);
    snprintf(at, sizeof at, "%lld", (long long)a->event_time_ms);
    snprintf(emitted, sizeof emitted, "%lld", (long long)a->emitted_at_ms);
    snprintf(health, sizeof health, "%.1f", a->health);
    const char *argv[] = {"XADD", key, "MAXLEN", "~", maxlen, "*",
                          "alert_id", a->alert_id, "partner_id", a->partner_id,
                          "rule", pp_rule_name(a->rule), "severity", pp_severity_name(a->severity),
                          "status", a->status == PP_ALERT_FIRING ? "FIRING" : "RESOLVED",
                          "value", value, "threshold", threshold, "message", a->message,
                          "started_at_ms", started, "event_time_ms", at, "emitted_at_ms", emitted,
                          "health", health, "evidence", a->evidence,
                          "published", a->publish ? "1" : "0",
                          "config_version", cv};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    return redisAppendCommandArgv(r->c, argc, argv, NULL) == REDIS_OK ? 0 : -1;
}

static void heldback_key(const pp_redis_t *r, int32_t partition, char *buf, size_t cap)
{
    snprintf(buf, cap, "%sheldback:%d", r->prefix, partition < 0 ? 0 : (int)partition);
}

/* Append the commands for one alert (what x->ops says). Returns how many commands. */
static int append_alert(pp_redis_t *r, const pp_redis_batch_t *b, const pp_redis_alert_t *x)
{
    const pp_alert_t *a = x->a;
    const char *cv = x->config_version ? x->config_version : b->config_version ? b->config_version : "";
    int cmds = 0;
    uint8_t buf[2048];
    size_t n = 0;
    if (a->publish || (x->ops & PP_REDIS_HOLD))
        n = pp_alert_pack(a, cv, buf, sizeof buf);
    if (x->ops & PP_REDIS_RECORD) {
        if (append_record(r, b, a, cv) != 0)
            return -1;
        cmds++;
    }
    char key[KEY_MAX];
    if (x->ops & (PP_REDIS_HOLD | PP_REDIS_UNHOLD)) {
        heldback_key(r, a->partition, key, sizeof key);
        const char *hargv[4] = {(x->ops & PP_REDIS_HOLD) ? "HSET" : "HDEL", key, a->alert_id, (const char *)buf};
        size_t hlen[4] = {4, strlen(key), strlen(a->alert_id), n};
        if (redisAppendCommandArgv(r->c, (x->ops & PP_REDIS_HOLD) ? 4 : 3, hargv, hlen) != REDIS_OK)
            return -1;
        cmds++;
    }
    if (!a->publish)
        return cmds;
    snprintf(key, sizeof key, "%soutbox:%d", r->prefix, a->partition < 0 ? 0 : (int)a->partition);
    const char *pargv[3] = {"RPUSH", key, (const char *)buf};
    size_t plen[3] = {5, strlen(key), n};
    if (redisAppendCommandArgv(r->c, 3, pargv, plen) != REDIS_OK)
        return -1;
    return cmds + 1;
}

int pp_redis_send(pp_redis_t *r, const pp_redis_batch_t *b, size_t *expect)
{
    *expect = 0;
    if (b->n == 0 && b->n_alerts == 0)
        return 0;
    if (ensure(r) != 0)
        return -EIO;
    if (redisAppendCommand(r->c, "MULTI") != REDIS_OK)
        return fail(r, "MULTI (append)");
    size_t queued = 0;
    pp_field_t *fields = r->fields;
    for (size_t i = 0; i < b->n; i++) {
        int k = append_partner(r, b, b->sts[i], fields);
        if (k < 0)
            return fail(r, "append");
        queued += (size_t)k;
    }
    for (size_t i = 0; i < b->n_alerts; i++) {
        int k = append_alert(r, b, &b->alerts[i]);
        if (k < 0)
            return fail(r, "append");
        queued += (size_t)k;
    }
    if (redisAppendCommand(r->c, "EXEC") != REDIS_OK)
        return fail(r, "EXEC (append)");
    /* hand it to the socket now: Redis executes this transaction while the
     * caller formats the next one */
    for (int done = 0; !done;)
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return fail(r, "MULTI/EXEC (send)");
    *expect = 1 + queued; /* MULTI +OK, one +QUEUED per command; then EXEC's array */
    return 0;
}

int pp_redis_confirm(pp_redis_t *r, size_t expect)
{
    if (expect == 0)
        return 0;
    if (r->c == NULL)
        return -EIO;
    int rc = 0;
    for (size_t i = 0; i < expect; i++) {
        void *v = NULL;
        if (redisGetReply(r->c, &v) != REDIS_OK)
            return fail(r, "MULTI/queued reply");
        redisReply *rep = v;
        if (rep->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(r->err, sizeof r->err, "redis rejected a queued command: %s", rep->str);
            rc = -EIO; /* EXEC will then fail with EXECABORT */
        }
        freeReplyObject(rep);
    }
    void *v = NULL;
    if (redisGetReply(r->c, &v) != REDIS_OK)
        return fail(r, "EXEC");
    redisReply *rep = v;
    if (rep->type != REDIS_REPLY_ARRAY) {
        if (rc == 0)
            rc = fail_reply(r, "EXEC", rep);
        else
            disconnect(r);
    } else {
        for (size_t i = 0; i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_ERROR && rc == 0) {
                snprintf(r->err, sizeof r->err, "redis command in EXEC failed: %s", rep->element[i]->str);
                rc = -EIO;
            }
    }
    freeReplyObject(rep);
    return rc;
}

void pp_redis_abandon(pp_redis_t *r)
{
    disconnect(r); /* replies still owed would be read as answers to later commands */
}

int pp_redis_outbox_drain(pp_redis_t *r, int32_t partition, size_t max,
                          int (*publish)(void *opaque, const uint8_t *buf, size_t len),
                          int (*confirm)(void *opaque), void *opaque)
{
    if (ensure(r) != 0)
        return -EIO;
    char key[KEY_MAX];
    snprintf(key, sizeof key, "%soutbox:%d", r->prefix, (int)partition);
    redisReply *rep = redisCommand(r->c, "LRANGE %s 0 %lld", key, (long long)max - 1);
    if (rep == NULL)
        return fail(r, "LRANGE outbox");
    if (rep->type != REDIS_REPLY_ARRAY) {
        int rc = fail_reply(r, "LRANGE outbox", rep);
        freeReplyObject(rep);
        return rc;
    }
    size_t n = rep->elements;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (publish(opaque, (const uint8_t *)rep->element[i]->str, rep->element[i]->len) != 0)
            rc = -EAGAIN;
    freeReplyObject(rep);
    if (n == 0)
        return 0;
    if (rc == 0 && confirm(opaque) != 0)
        rc = -EAGAIN;
    if (rc != 0)
        return rc; /* not removed: published again next time (same alert ids) */
    rep = redisCommand(r->c, "LTRIM %s %lld -1", key, (long long)n);
    if (rep == NULL)
        return fail(r, "LTRIM outbox");
    freeReplyObject(rep);
    return (int)n;
}

int pp_redis_heldback_scan(pp_redis_t *r, int32_t partition, uint64_t *cursor, size_t count,
                           void (*each)(void *opaque, const char *alert_id, size_t id_len, const uint8_t *buf,
                                        size_t len),
                           void *opaque)
{
    if (ensure(r) != 0)
        return -EIO;
    char key[KEY_MAX];
    heldback_key(r, partition, key, sizeof key);
    char cur[24];
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)*cursor); /* hiredis formats no unsigned */
    redisReply *rep = redisCommand(r->c, "HSCAN %s %s COUNT %lld", key, cur, (long long)count);
    if (rep == NULL)
        return fail(r, "HSCAN heldback");
    int rc = 0;
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

int pp_redis_due(pp_redis_t *r, int32_t partition, int64_t now_ms, size_t offset, size_t max,
                 char (*ids)[PP_ID_MAX + 1], size_t *n, size_t *scanned)
{
    *n = *scanned = 0;
    if (ensure(r) != 0)
        return -EIO;
    char key[KEY_MAX];
    snprintf(key, sizeof key, "%sdeadlines:%d", r->prefix, (int)partition);
    redisReply *rep = redisCommand(r->c, "ZRANGEBYSCORE %s -inf %lld LIMIT %lld %lld", key, (long long)now_ms,
                                   (long long)offset, (long long)max);
    if (rep == NULL)
        return fail(r, "ZRANGEBYSCORE deadlines");
    if (rep->type != REDIS_REPLY_ARRAY) {
        int rc = fail_reply(r, "ZRANGEBYSCORE deadlines", rep);
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
