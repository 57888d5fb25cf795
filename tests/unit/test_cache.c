/*
 * pp_cache: lookup, dirty tracking, eviction of clean partners only.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "pp_cache.h"

static pp_partner_t *put(pp_cache_t *c, const char *id)
{
    pp_partner_t st;
    pp_partner_init(&st, id);
    return pp_cache_insert(c, &st);
}

Test(cache, insert_then_find_returns_same_state)
{
    pp_cache_t *c = pp_cache_new();
    pp_partner_t *a = put(c, "a");
    cr_assert_eq(pp_cache_find(c, "a"), a);
    cr_assert_null(pp_cache_find(c, "b"));
    pp_cache_free(c);
}

Test(cache, grows_past_initial_capacity_and_keeps_everything)
{
    pp_cache_t *c = pp_cache_new();
    char id[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof id, "p%d", i);
        cr_assert_not_null(put(c, id));
    }
    cr_assert_eq(pp_cache_count(c), 50000);
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof id, "p%d", i);
        pp_partner_t *st = pp_cache_find(c, id);
        cr_assert_not_null(st);
        cr_assert_str_eq(st->id, id);
    }
    pp_cache_free(c);
}

Test(cache, dirty_list_has_each_partner_once_in_order)
{
    pp_cache_t *c = pp_cache_new();
    pp_partner_t *a = put(c, "a"), *b = put(c, "b");
    pp_cache_mark_dirty(c, b);
    pp_cache_mark_dirty(c, a);
    pp_cache_mark_dirty(c, b);
    size_t n;
    pp_partner_t *const *d = pp_cache_dirty(c, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(d[0], b);
    cr_assert_eq(d[1], a);
    pp_cache_clear_dirty(c);
    cr_assert_eq(pp_cache_dirty_count(c), 0);
    pp_cache_free(c);
}

Test(cache, eviction_spares_dirty_partners_and_keeps_lookups_working)
{
    pp_cache_t *c = pp_cache_new();
    char id[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "p%d", i);
        pp_partner_t *st = put(c, id);
        if (i % 10 == 0)
            pp_cache_mark_dirty(c, st);
    }
    size_t ev = pp_cache_evict_clean(c, 500);
    cr_assert_eq(pp_cache_count(c), 500);
    cr_assert_eq(ev, 2500);
    for (int i = 0; i < 3000; i += 10) { /* all 300 dirty ones survive and are findable */
        snprintf(id, sizeof id, "p%d", i);
        cr_assert_not_null(pp_cache_find(c, id), "dirty %s evicted", id);
    }
    size_t found = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "p%d", i);
        found += pp_cache_find(c, id) != NULL;
    }
    cr_assert_eq(found, 500);
    pp_cache_free(c);
}

Test(cache, drop_all_empties)
{
    pp_cache_t *c = pp_cache_new();
    pp_cache_mark_dirty(c, put(c, "a"));
    pp_cache_drop_all(c);
    cr_assert_eq(pp_cache_count(c), 0);
    cr_assert_eq(pp_cache_dirty_count(c), 0);
    cr_assert_null(pp_cache_find(c, "a"));
    pp_cache_free(c);
}

Test(cache, find_many_agrees_with_find_for_every_batch_size)
{
    pp_cache_t *c = pp_cache_new();
    char ids[300][16];
    const char *idp[300];
    pp_partner_t *out[300];
    for (int i = 0; i < 300; i++) {
        snprintf(ids[i], sizeof ids[i], "q%d", i % 7 == 3 ? 1 : i); /* repeats */
        idp[i] = ids[i];
        if (i % 5 != 0) /* every fifth id is not cached */
            put(c, ids[i]);
    }
    /* shorter than, equal to and longer than the prefetch distances */
    static const size_t sizes[] = {0, 1, 7, 8, 9, 16, 17, 40, 300};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < 300; i++)
            out[i] = (pp_partner_t *)(void *)&out; /* not NULL, not a state */
        pp_cache_find_many(c, idp, n, out);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[i], pp_cache_find(c, idp[i]), "batch %zu: %s", n, idp[i]);
        if (n < 300)
            cr_assert_eq(out[n], (pp_partner_t *)(void *)&out, "batch %zu wrote past its end", n);
    }
    pp_cache_free(c);
}

Test(cache, evicted_entries_are_reused_and_states_start_from_the_copy)
{
    pp_cache_t *c = pp_cache_new();
    char id[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            snprintf(id, sizeof id, "r%d-%d", round, i);
            pp_partner_t *st = put(c, id);
            cr_assert_not_null(st);
            cr_assert_str_eq(st->id, id);
            cr_assert_eq(st->events_applied, 0);
            st->events_applied = 7; /* a later reuse of this memory must not see it */
        }
        pp_cache_evict_clean(c, 100);
        cr_assert_eq(pp_cache_count(c), 100);
    }
    size_t found = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2000; i++) {
            snprintf(id, sizeof id, "r%d-%d", round, i);
            pp_partner_t *st = pp_cache_find(c, id);
            if (st != NULL) {
                cr_assert_str_eq(st->id, id);
                found++;
            }
        }
    cr_assert_eq(found, 100);
    pp_cache_drop_all(c);
    cr_assert_not_null(put(c, "after-drop")); /* slabs given back, new ones taken */
    cr_assert_not_null(pp_cache_find(c, "after-drop"));
    pp_cache_free(c);
}
