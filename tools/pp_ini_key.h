/*
 * pp_ini_key: one table entry per configuration key, for the INI loaders of
 * the CLI's servers (pp_web_config.c, pp_notify_config.c): adding a key is
 * one line. Strings go into fixed buffers: a longer value is refused, never
 * cut. Pure: no I/O.
 */
#ifndef PP_INI_KEY_H
#define PP_INI_KEY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum pp_ini_type { PP_INI_STR, PP_INI_INT, PP_INI_BOOL } pp_ini_type_t;

typedef struct pp_ini_key {
    const char *section; /* the [section]; NULL = a family of sections the loader picks (e.g. [destination:*]) */
    const char *name;    /* the key */
    pp_ini_type_t type;  /* char[cap], int, or bool */
    size_t off;          /* offsetof the field in the struct it fills */
    size_t cap;          /* PP_INI_STR: the buffer's size */
    long lo, hi;         /* PP_INI_INT: the allowed range */
} pp_ini_key_t;

#define PP_INI_STR_KEY(T, sec, key, f) {sec, key, PP_INI_STR, offsetof(T, f), sizeof(((T *)0)->f), 0, 0}
#define PP_INI_INT_KEY(T, sec, key, f, lo, hi) {sec, key, PP_INI_INT, offsetof(T, f), 0, lo, hi}
#define PP_INI_BOOL_KEY(T, sec, key, f) {sec, key, PP_INI_BOOL, offsetof(T, f), 0, 0, 0}

/* The [redis] keys, with the daemon's ranges (docs/configuration.md), for a
 * struct T with the fields redis_host, redis_port, redis_user,
 * redis_password, redis_db, redis_prefix, redis_timeout_ms. */
#define PP_INI_REDIS_KEYS(T)                                                                                  \
    PP_INI_STR_KEY(T, "redis", "host", redis_host), PP_INI_INT_KEY(T, "redis", "port", redis_port, 1, 65535), \
        PP_INI_STR_KEY(T, "redis", "user", redis_user), PP_INI_STR_KEY(T, "redis", "password", redis_password), \
        PP_INI_INT_KEY(T, "redis", "db", redis_db, 0, 1000000), PP_INI_STR_KEY(T, "redis", "prefix", redis_prefix), \
        PP_INI_INT_KEY(T, "redis", "timeout_ms", redis_timeout_ms, 10, 600000)

/* The entry of keys[0..n) for (section, name), NULL if none; section NULL
 * finds the entries whose section is NULL. */
const pp_ini_key_t *pp_ini_key_find(const pp_ini_key_t *keys, size_t n, const char *section, const char *name);

/*
 * Parse value into the field of base that k describes. bool takes
 * true/false, yes/no, on/off, 1/0. Returns 0, or -1 with a sentence in err
 * (OUT) naming [section] and the key, never the value (it may be a secret).
 */
int pp_ini_key_set(const pp_ini_key_t *k, void *base, const char *section, const char *value, char *err,
                   size_t err_len);

/*
 * ini_parse(path, handler, user) with the loaders' error sentences: returns
 * 0, or -1 with "PATH: cannot open …" or "PATH:LINE: why" in err (OUT);
 * why is what the handler left in err when *failed is set (read after the
 * parse), else "syntax error".
 */
int pp_ini_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *), void *user,
                 const bool *failed, char *err, size_t err_len);

#endif
