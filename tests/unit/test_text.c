/*
 * pp_text: pp_text_format writes the bytes snprintf writes, truncates as it
 * truncates and returns what it returns, for every format it handles and
 * for the ones it hands to vsnprintf.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_rand.h"
#include "pp_text.h"

/* truncating is what some of these calls are for */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* Both formatters on the same arguments, into buffers of size cap. */
#define SAME(cap, ...)                                                                  \
    do {                                                                                \
        char want[512], got[512];                                                       \
        memset(want, 'x', sizeof want);                                                 \
        memset(got, 'x', sizeof got);                                                   \
        int wn = snprintf(want, (cap), __VA_ARGS__);                                    \
        int gn = pp_text_format(got, (cap), __VA_ARGS__);                               \
        cr_assert_eq(gn, wn, "length %d, snprintf %d", gn, wn);                         \
        cr_assert(memcmp(got, want, sizeof want) == 0, "\"%.*s\" != \"%.*s\"",          \
                  (int)((cap) ? (cap) - 1 : 0), got, (int)((cap) ? (cap) - 1 : 0), want); \
    } while (0)

Test(text, decimals_of_ties_and_signs_round_as_snprintf)
{
    static const double v[] = {0.0,   -0.0,  0.5,    1.5,   2.5,     -0.5,   -2.5,    0.05,   0.15,  0.25,
                               0.35,  0.45,  1.05,   2.675, -0.04,   -0.05,  9.95,    99.95,  1e13,  99999999999999.5,
                               1e14,  1e15,  -1e15,  1e300, NAN,     INFINITY, -INFINITY, 185.45, 3.25, 0.0499999};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        SAME(64, "%.0f", v[i]);
        SAME(64, "%.1f", v[i]);
        SAME(64, "%.*f", 0, v[i]);
        SAME(64, "%.*f", 1, v[i]);
        SAME(64, "%.*f", 2, v[i]);
    }
}

Test(text, random_values_round_as_snprintf)
{
    pp_rand_t r = {{1, 2, 3, 4}};
    for (int i = 0; i < 200000; i++) {
        uint64_t x = pp_rand_next(&r);
        double v;
        switch (i % 4) {
        case 0: /* halves and twentieths: ties of %.0f and near-ties of %.1f */
            v = (double)(int64_t)(x % 4000001 - 2000000) / 20.0;
            break;
        case 1: /* hours and days as the alerts have them */
            v = (double)(x % 100000000) / 3600.0;
            break;
        case 2: /* any magnitude */
            v = ldexp((double)(x >> 11), (int)(x % 80) - 70) * ((x & 1) ? -1 : 1);
            break;
        default: /* any bit pattern */
            memcpy(&v, &x, sizeof v);
        }
        SAME(64, "%.0f", v);
        SAME(64, "%.1f", v);
    }
}

Test(text, strings_percent_and_truncation_as_snprintf)
{
    const char *who = "Acme Channel Partners GmbH";
    for (size_t cap = 0; cap < 90; cap++) {
        SAME(cap, "%s has gone dark: no inbound engagement for %.0f days%s.", who, 41.6, " (inactive partner)");
        SAME(cap, "%s %.*f%s%s -%.1f pts [%s]", "delivery", 0, 0.4 * 100, "%", "", 12.25, "e-17");
        SAME(cap, "100%% of %s", who);
    }
    SAME(64, "%s", "");
    SAME(64, "plain text");
    SAME(64, "%s%s", "a", "b");
}

Test(text, other_conversions_go_to_vsnprintf)
{
    SAME(64, "%d %s %.1f", 42, "x", 1.25);
    SAME(64, "%.1f then %5.2f", 1.25, 3.14159);
    SAME(8, "%s = %u", "value", 4000000000u);
}
