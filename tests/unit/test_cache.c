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
