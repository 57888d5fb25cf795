/*
 * pp_web_redis: the Redis context pool and the shared readers of the
 * public contract (see pp_web_redis.h).
 */
#include "pp_web_redis.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pp_cli.h"

struct pp_web_redis {
    const pp_web_config_t *cfg;              /* borrowed: [redis] */
    pthread_mutex_t mu;                      /* guards idle and n_idle */
    redisContext *idle[PP_WEB_POOL_IDLE_MAX]; /* owned, connected, not in use */
    size_t n_idle;
};

pp_web_redis_t *pp_web_redis_new(const pp_web_config_t *cfg)
{
    pp_web_redis_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->cfg = cfg;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void pp_web_redis_free(pp_web_redis_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        redisFree(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

redisContext *pp_web_redis_open(const pp_web_config_t *cfg, char *err, size_t err_len)
{
    pp_cli_redis_opts_t o = {.host = cfg->redis_host,
                             .port = cfg->redis_port,
                             .user = cfg->redis_user,
                             .password = cfg->redis_password,
                             .db = cfg->redis_db,
                             .timeout_ms = cfg->redis_timeout_ms};
    redisContext *c = NULL;
    if (pp_cli_redis_open(&o, &c, err, err_len) != 0)
        return NULL;
    return c;
}

redisContext *pp_web_redis_get(pp_web_redis_t *p, char *err, size_t err_len)
{
    redisContext *c = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->n_idle > 0)
        c = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->mu);
    if (c != NULL)
        return c;
    return pp_web_redis_open(p->cfg, err, err_len);
}

void pp_web_redis_put(pp_web_redis_t *p, redisContext *c)
{
    if (c == NULL)
        return;
    if (c->err == 0) {
        pthread_mutex_lock(&p->mu);
        if (p->n_idle < PP_WEB_POOL_IDLE_MAX) {
            p->idle[p->n_idle++] = c;
            c = NULL; /* now owned by the pool */
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (c != NULL)
        redisFree(c);
}

bool pp_web_valid_id(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char ch = id[n];
        if (n >= PP_WEB_ID_MAX)
            return false;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == ':' || ch == '-'))
            return false;
    }
    return n > 0;
}

/* The alert fields that are numbers (docs/redis.md "The alert stream"). */
static int numeric_kind(const char *field)
{
    size_t n = strlen(field);
    if (strcmp(field, "health") == 0 || strcmp(field, "value") == 0 || strcmp(field, "threshold") == 0)
        return 'r';
    if (strcmp(field, "published") == 0 || (n > 3 && strcmp(field + n - 3, "_ms") == 0))
        return 'i';
    return 0;
}

static json_t *field_value(const char *field, const char *v)
{
    char *end;
    int kind = numeric_kind(field);

    if (kind != 0 && v[0] != '\0') {
        errno = 0;
        if (kind == 'i') {
            long long x = strtoll(v, &end, 10);
            if (errno == 0 && *end == '\0')
                return json_integer(x);
        } else {
            double x = strtod(v, &end);
            if (errno == 0 && *end == '\0')
                return json_real(x);
        }
    }
    return pp_web_json_str(v);
}

json_t *pp_web_json_str(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    /* not UTF-8: keep ASCII, replace the rest */
    size_t n = strlen(s);
    char *a = malloc(n + 1);
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        a[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_string(a);
    free(a);
    return j;
}

json_t *pp_web_alert_json(const redisReply *entry)
{
    if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING || entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *kv = entry->element[1];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        json_object_set_new(o, k->str, field_value(k->str, v->str));
    }
    json_object_set_new(o, "id", pp_web_json_str(entry->element[0]->str));
    return o;
}

char *pp_web_json_text(const json_t *v)
{
    return json_dumps(v, PP_WEB_JSON_FLAGS);
}
