/*
 * pp_notify_partner: see pp_notify_partner.h.
 */
#include "pp_notify_partner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pp_cli.h"

struct pp_notify_partners {
    const pp_notify_config_t *cfg; /* [redis] */
    redisContext *c;               /* NULL until connected, or after an error */
};

pp_notify_partners_t *pp_notify_partners_new(const pp_notify_config_t *cfg)
{
    pp_notify_partners_t *ps = calloc(1, sizeof *ps);
    if (ps)
        ps->cfg = cfg;
    return ps;
}

void pp_notify_partners_free(pp_notify_partners_t *ps)
{
    if (ps == NULL)
        return;
    if (ps->c)
        redisFree(ps->c);
    free(ps);
}

int pp_notify_partners_read(pp_notify_partners_t *ps, const char *partner_id, pp_notify_partner_t *out, char *err,
                            size_t err_len)
{
    const pp_notify_config_t *cfg = ps->cfg;
    memset(out, 0, sizeof *out);
    if (ps->c == NULL) {
        pp_cli_redis_opts_t o = {.host = cfg->redis_host, .port = cfg->redis_port, .user = cfg->redis_user,
                                 .password = cfg->redis_password, .db = cfg->redis_db,
                                 .timeout_ms = cfg->redis_timeout_ms};
        int rc = pp_cli_redis_open(&o, &ps->c, err, err_len);
        if (rc != 0)
            return rc;
    }
    redisReply *r = redisCommand(ps->c, "HMGET %spartner:{%s} partner_type tier display_name why_1 why_2 why_3",
                                 cfg->redis_prefix, partner_id);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
        snprintf(err, err_len, "Redis HMGET of the partner failed: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : ps->c->errstr[0] ? ps->c->errstr : "unexpected reply");
        if (r)
            freeReplyObject(r);
        redisFree(ps->c);
        ps->c = NULL;
        return -EIO;
    }
    char *dst[6] = {out->type, out->tier, out->display_name, out->why[0], out->why[1], out->why[2]};
    size_t cap[6] = {sizeof out->type, sizeof out->tier, sizeof out->display_name, sizeof out->why[0],
                     sizeof out->why[1], sizeof out->why[2]};
    for (size_t i = 0; i < 6; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            snprintf(dst[i], cap[i], "%.*s", (int)r->element[i]->len, r->element[i]->str);
    freeReplyObject(r);
    return 0;
}
