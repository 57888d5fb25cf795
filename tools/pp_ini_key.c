/*
 * pp_ini_key: see pp_ini_key.h.
 */
#include "pp_ini_key.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

const pp_ini_key_t *pp_ini_key_find(const pp_ini_key_t *keys, size_t n, const char *section, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0 &&
            (keys[i].section == NULL ? section == NULL : section != NULL && strcmp(keys[i].section, section) == 0))
            return &keys[i];
    return NULL;
}

int pp_ini_key_set(const pp_ini_key_t *k, void *base, const char *section, const char *value, char *err,
                   size_t err_len)
{
    char *field = (char *)base + k->off;
    if (k->type == PP_INI_STR) {
        size_t len = strlen(value);
        if (len >= k->cap) {
            snprintf(err, err_len, "[%s] %s is longer than %zu bytes", section, k->name, k->cap - 1);
            return -1;
        }
        memcpy(field, value, len + 1);
        return 0;
    }
    if (k->type == PP_INI_BOOL) {
        bool yes = strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
                   strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0;
        bool no = strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
                  strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0;
        if (!yes && !no) {
            snprintf(err, err_len, "[%s] %s must be true or false", section, k->name);
            return -1;
        }
        *(bool *)(void *)field = yes;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < k->lo || v > k->hi) {
        snprintf(err, err_len, "[%s] %s must be an integer in %ld..%ld", section, k->name, k->lo, k->hi);
        return -1;
    }
    *(int *)(void *)field = (int)v;
    return 0;
}

int pp_ini_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *), void *user,
                 const bool *failed, char *err, size_t err_len)
{
    char why[1024];
    int rc = ini_parse(path, handler, user);
    if (rc == -1) {
        snprintf(err, err_len, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return -1;
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "%s", *failed ? err : "syntax error");
        snprintf(err, err_len, "%s:%d: %s", path, rc, why);
        return -1;
    }
    return 0;
}
