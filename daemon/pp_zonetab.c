/* pp_zonetab: see pp_zonetab.h. */
#include "pp_zonetab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/uenum.h>

#include "pp_bizclock.h"
#include "pp_tz.h"

typedef struct keyed {
    uint32_t hash;
    size_t idx;
} keyed_t;

static int by_hash(const void *a, const void *b)
{
    const keyed_t *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

void pp_zonetab_free(pp_zonetab_t *tab)
{
    if (tab == NULL)
        return;
    free(tab->zones);
    free(tab->hashes);
    memset(tab, 0, sizeof *tab);
}

int pp_zonetab_load(pp_zonetab_t *tab, char *err, size_t err_len)
{
    int rc = -1;
    UErrorCode status = U_ZERO_ERROR;
    pp_zone_t *raw = NULL;
    keyed_t *keys = NULL;
    memset(tab, 0, sizeof *tab);
    UEnumeration *en = ucal_openTimeZones(&status);
    if (U_FAILURE(status) || en == NULL) {
        snprintf(err, err_len, "ICU cannot list its time zones: %s", u_errorName(status));
        goto out;
    }
    int32_t count = uenum_count(en, &status);
    if (U_FAILURE(status) || count <= 0) {
        snprintf(err, err_len, "ICU lists no time zones: %s", u_errorName(status));
        goto out;
    }
    size_t cap = (size_t)count + 1; /* + UTC */
    raw = calloc(cap, sizeof *raw);
    keys = calloc(cap, sizeof *keys);
    if (raw == NULL || keys == NULL) {
        snprintf(err, err_len, "out of memory loading %zu time zones", cap);
        goto out;
    }
    size_t n = 0;
    pp_zone_utc(&raw[n++]);
    const char *id;
    int32_t len;
    while ((id = uenum_next(en, &len, &status)) != NULL && U_SUCCESS(status) && n < cap) {
        char why[256];
        if (strcmp(id, "UTC") == 0 || (size_t)len >= PP_ZONE_NAME_MAX)
            continue; /* UTC is in already; longer names cannot be named by a profile */
        if (pp_tz_load(id, &raw[n], why, sizeof why) != 0)
            continue; /* ICU lists a few ids it cannot resolve to rules ("SystemV/..."): not offered */
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].hash = pp_name_hash32(raw[i].name);
        keys[i].idx = i;
    }
    qsort(keys, n, sizeof *keys, by_hash);
    tab->zones = malloc(n * sizeof *tab->zones);
    tab->hashes = malloc(n * sizeof *tab->hashes);
    if (tab->zones == NULL || tab->hashes == NULL) {
        snprintf(err, err_len, "out of memory loading %zu time zones", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && keys[i].hash == keys[i - 1].hash) {
            snprintf(err, err_len, "time zones %s and %s share a name hash: partner profiles could not tell them apart",
                     raw[keys[i].idx].name, raw[keys[i - 1].idx].name);
            goto out;
        }
        tab->zones[i] = raw[keys[i].idx];
        tab->hashes[i] = keys[i].hash;
    }
    tab->n = n;
    rc = 0;
out:
    if (rc != 0)
        pp_zonetab_free(tab);
    free(raw);
    free(keys);
    if (en != NULL)
        uenum_close(en);
    return rc;
}
