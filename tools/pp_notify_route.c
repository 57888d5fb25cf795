/*
 * pp_notify_route: see pp_notify_route.h.
 */
#include "pp_notify_route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pp_policy.h"

const char *pp_notify_severity_name(int severity)
{
    return severity == PP_SEV_INFO ? "info" : severity == PP_SEV_WARNING ? "warning"
                                          : severity == PP_SEV_CRITICAL  ? "critical"
                                                                         : "unknown";
}

const char *pp_notify_status_name(int status)
{
    return status == PP_ST_FIRING ? "firing" : status == PP_ST_RESOLVED ? "resolved" : "unknown";
}

/* Calls fn on each trimmed, non-empty item of a comma-separated list; stops
 * and returns false as soon as fn does. */
typedef bool (*item_fn)(void *ctx, const char *item, size_t len);

static bool each_item(const char *list, item_fn fn, void *ctx)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > start && !fn(ctx, start, (size_t)(end - start)))
            return false;
    }
    return true;
}

typedef struct find_ctx {
    const char *want; /* the alert's value */
    bool found;
} find_ctx_t;

static bool find_item(void *ctx, const char *item, size_t len)
{
    find_ctx_t *f = ctx;
    if (strlen(f->want) == len && strncasecmp(item, f->want, len) == 0) {
        f->found = true;
        return false;
    }
    return true;
}

/* "" matches everything; otherwise value must be one of the list */
static bool in_list(const char *list, const char *value)
{
    if (list[0] == '\0')
        return true;
    find_ctx_t f = {.want = value, .found = false};
    each_item(list, find_item, &f);
    return f.found;
}

typedef struct check_ctx {
    const char *key;
    const char *const *names; /* allowed names, index = value; NULL entries skipped */
    int n_names;
    unsigned bits; /* OUT: 1u << index of each item */
    const char *bad;
    size_t bad_len;
} check_ctx_t;

static bool check_item(void *ctx, const char *item, size_t len)
{
    check_ctx_t *c = ctx;
    for (int i = 0; i < c->n_names; i++)
        if (c->names[i] && strlen(c->names[i]) == len && strncasecmp(item, c->names[i], len) == 0) {
            c->bits |= 1u << i;
            return true;
        }
    c->bad = item;
    c->bad_len = len;
    return false;
}

int pp_notify_route_set(pp_notify_route_t *r, const char *key, const char *value, char *err, size_t err_len)
{
    static const char *const sev_names[] = {NULL, "info", "warning", "critical"};
    static const char *const st_names[] = {NULL, "firing", "resolved"};
    const char *rule_names[PP_R_COUNT];
    char *list = NULL;

    if (strcmp(key, "rules") == 0)
        list = r->rules;
    else if (strcmp(key, "partner_types") == 0)
        list = r->partner_types;
    else if (strcmp(key, "tiers") == 0)
        list = r->tiers;
    else if (strcmp(key, "severities") != 0 && strcmp(key, "statuses") != 0)
        return 0;
    if (strlen(value) >= PP_NOTIFY_LIST_MAX) {
        snprintf(err, err_len, "%s is longer than %d bytes", key, PP_NOTIFY_LIST_MAX - 1);
        return -1;
    }
    check_ctx_t c = {.key = key};
    if (strcmp(key, "severities") == 0) {
        c.names = sev_names;
        c.n_names = 4;
    } else if (strcmp(key, "statuses") == 0) {
        c.names = st_names;
        c.n_names = 3;
    } else if (list == r->rules) {
        for (int i = 0; i < PP_R_COUNT; i++)
            rule_names[i] = pp_rule_name((pp_rule_t)i);
        c.names = rule_names;
        c.n_names = PP_R_COUNT;
    }
    if (c.names != NULL && !each_item(value, check_item, &c)) {
        snprintf(err, err_len, "%s: unknown %s '%.*s' (%s)", key,
                 c.names == sev_names ? "severity" : c.names == st_names ? "status" : "rule", (int)c.bad_len, c.bad,
                 c.names == sev_names ? "info, warning, critical"
                 : c.names == st_names ? "firing, resolved"
                                       : "the rule names of docs/alerts.md");
        return -1;
    }
    if (list != NULL)
        memcpy(list, value, strlen(value) + 1);
    else if (c.names == sev_names)
        r->severities = c.bits;
    else
        r->statuses = c.bits;
    return 1;
}

bool pp_notify_route_match(const pp_notify_route_t *r, const pp_notify_alert_t *a)
{
    if (r->severities != 0 && (a->severity < 0 || a->severity > 3 || !(r->severities & (1u << a->severity))))
        return false;
    if (r->statuses != 0 && (a->status < 0 || a->status > 2 || !(r->statuses & (1u << a->status))))
        return false;
    return in_list(r->rules, a->rule) && (r->partner_types[0] == '\0' || (a->partner_type[0] && in_list(r->partner_types, a->partner_type))) &&
           (r->tiers[0] == '\0' || (a->tier[0] && in_list(r->tiers, a->tier)));
}

bool pp_notify_route_needs_partner(const pp_notify_route_t *r)
{
    return r->partner_types[0] != '\0' || r->tiers[0] != '\0';
}
