/*
 * pp_money: every amount is converted exactly into the reporting currency's
 * minor units, or refused with a named reason; the [currency] section takes
 * only what it can keep exactly.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "pp_money.h"

#define MAX_MINOR 100000000000000LL /* [limits] max_amount_minor default */

static pp_money_t m;
static char err[256];

static void setup(void)
{
    pp_money_default(&m);
    err[0] = '\0';
}

TestSuite(money, .init = setup);

/* Set a key that must be accepted. */
static void set(const char *key, const char *value)
{
    cr_assert_eq(pp_money_set(&m, key, value, err, sizeof err), 0, "%s = %s: %s", key, value, err);
}

/* Set rate.EUR = value, expecting a refusal whose sentence names key and value. */
static void refuse_rate(const char *value)
{
    err[0] = '\0';
    cr_assert_eq(pp_money_set(&m, "rate.EUR", value, err, sizeof err), -1, "rate.EUR = '%s' accepted", value);
    cr_assert(strstr(err, "[currency] rate.EUR") != NULL, "%s", err);
    cr_assert(strstr(err, value) != NULL, "value not named: %s", err);
}

static void finish(void)
{
    cr_assert_eq(pp_money_finish(&m, err, sizeof err), 0, "%s", err);
}

static int64_t convert_ok(const char *currency, int64_t amount)
{
    int64_t out = -42;
    char why[256] = "";
    cr_assert_eq(pp_money_convert(&m, currency, amount, MAX_MINOR, &out, why, sizeof why), PP_OK,
                 "%s %lld: %s", currency, (long long)amount, why);
    return out;
}

/* ---- the ISO 4217 table ---- */

Test(money, table_is_sorted_and_every_code_is_found)
{
    size_t n = 0;
    for (const char *prev = NULL, *c; (c = pp_iso4217_code(n)) != NULL; prev = c, n++) {
        cr_assert_eq(strlen(c), 3);
        if (prev != NULL)
            cr_assert_lt(strcmp(prev, c), 0, "%s before %s", prev, c);
        int e = pp_iso4217_exponent(c);
        cr_assert(e == 0 || e == 2 || e == 3 || e == 4, "%s has exponent %d", c, e);
    }
    cr_assert_geq(n, 160, "only %zu codes", n);
    cr_assert_leq(n, 200);
}

Test(money, exponents_of_known_codes)
{
    static const struct {
        const char *code;
        int exp;
    } known[] = {
        {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CHF", 2}, {"INR", 2}, {"IDR", 2}, {"HUF", 2}, {"MGA", 2},
        {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"VND", 0}, {"XOF", 0}, {"XAF", 0}, {"XPF", 0}, {"CLP", 0},
        {"PYG", 0}, {"UGX", 0}, {"RWF", 0}, {"BIF", 0}, {"DJF", 0}, {"GNF", 0}, {"KMF", 0}, {"VUV", 0},
        {"UYI", 0}, {"KWD", 3}, {"BHD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3}, {"LYD", 3}, {"IQD", 3},
        {"CLF", 4}, {"UYW", 4}, {"AED", 2}, {"ZWG", 2}, {"XCG", 2}, {"ZMW", 2}, {"SLE", 2}, {"VES", 2},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        cr_assert_eq(pp_iso4217_exponent(known[i].code), known[i].exp, "%s", known[i].code);
}

Test(money, units_without_minor_unit_withdrawn_and_malformed_codes_are_not_codes)
{
    static const char *const no[] = {"XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX", "XSU", "XUA",
                                     "HRK", "ZWL", "usd", "Usd", "US",  "USDD", "",    "U1D"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_eq(pp_iso4217_exponent(no[i]), -1, "%s", no[i]);
    cr_assert_eq(pp_iso4217_exponent(NULL), -1);
}

/* ---- conversion ---- */

Test(money, jpy_with_no_minor_unit_converts_to_cents)
{
    set("rate.JPY", "0.0067");
    finish();
    cr_assert_eq(convert_ok("JPY", 150000), 100500); /* ¥150,000 = $1,005.00 */
}

Test(money, kwd_with_three_decimals_converts_to_cents)
{
    set("rate.KWD", "3.25");
    finish();
    cr_assert_eq(convert_ok("KWD", 2000), 650);     /* 2.000 KWD = $6.50 */
    cr_assert_eq(convert_ok("KWD", 1234), 401);     /* 1.234 KWD = $4.0105 */
}

Test(money, eur_converts_at_its_rate)
{
    set("rate.EUR", "1.08");
    finish();
    cr_assert_eq(convert_ok("EUR", 4500000), 4860000); /* €45,000.00 = $48,600.00 */
    cr_assert_eq(convert_ok("EUR", 0), 0);
}

Test(money, reporting_currency_and_empty_currency_are_unchanged)
{
    set("rate.EUR", "1.08");
    finish();
    cr_assert_eq(convert_ok("USD", 1234567), 1234567);
    cr_assert_eq(convert_ok("", 1234567), 1234567);
    cr_assert_eq(convert_ok(NULL, 99), 99);
}

Test(money, code_that_is_not_iso_4217_is_refused)
{
    int64_t out = 7;
    char why[256];
    cr_assert_eq(pp_money_convert(&m, "XYZ", 100, MAX_MINOR, &out, why, sizeof why), PP_REJ_CURRENCY);
    cr_assert_str_eq(why, "currency \"XYZ\" is not an ISO 4217 code");
    cr_assert_eq(out, 7, "out written on a refusal");
    cr_assert_eq(pp_money_convert(&m, "XAU", 100, MAX_MINOR, &out, why, sizeof why), PP_REJ_CURRENCY);
}

Test(money, lower_case_code_is_refused_with_the_upper_case_spelling)
{
    set("rate.EUR", "1.08");
    finish();
    int64_t out;
    char why[256];
    cr_assert_eq(pp_money_convert(&m, "eur", 100, MAX_MINOR, &out, why, sizeof why), PP_REJ_CURRENCY);
    cr_assert(strstr(why, "upper case") != NULL && strstr(why, "EUR") != NULL, "%s", why);
    cr_assert_eq(pp_money_convert(&m, "usd", 100, MAX_MINOR, &out, why, sizeof why), PP_REJ_CURRENCY,
                 "lower-case reporting currency passed as itself");
}

Test(money, code_with_no_rate_is_refused)
{
    set("rate.EUR", "1.08");
    finish();
    int64_t out;
    char why[256];
    cr_assert_eq(pp_money_convert(&m, "GBP", 100, MAX_MINOR, &out, why, sizeof why), PP_REJ_CURRENCY);
    cr_assert_str_eq(why, "no rate for currency GBP (add rate.GBP to [currency])");
}

Test(money, exact_tie_rounds_half_away_from_zero)
{
    set("rate.EUR", "1.5");
    set("rate.KWD", "3.25");
    set("rate.GBP", "1.499999999999");
    finish();
    cr_assert_eq(convert_ok("EUR", 1), 2);    /* 1.5 */
    cr_assert_eq(convert_ok("EUR", 3), 5);    /* 4.5 */
    cr_assert_eq(convert_ok("EUR", -3), -5);  /* -4.5: away from zero, not up */
    cr_assert_eq(convert_ok("KWD", 1500), 488); /* 1.500 KWD = $4.875 */
    cr_assert_eq(convert_ok("GBP", 1), 1);    /* 1.499999999999: just below the tie */
}

Test(money, converted_amount_above_the_limit_is_refused)
{
    set("rate.EUR", "1.08");
    set("rate.JPY", "1000000");
    finish();
    int64_t out;
    char why[256];
    cr_assert_eq(pp_money_convert(&m, "EUR", 926, 1000, &out, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(out, 1000);
    cr_assert_eq(pp_money_convert(&m, "EUR", 927, 1000, &out, why, sizeof why), PP_REJ_AMOUNT);
    cr_assert(strstr(why, "max_amount_minor") != NULL, "%s", why);
    /* far beyond int64: 1e14 yen at 1e6 dollars each */
    cr_assert_eq(pp_money_convert(&m, "JPY", MAX_MINOR, MAX_MINOR, &out, why, sizeof why), PP_REJ_AMOUNT);
    cr_assert_eq(pp_money_convert(&m, "JPY", INT64_MAX, INT64_MAX, &out, why, sizeof why), PP_REJ_AMOUNT);
}

Test(money, largest_product_does_not_wrap)
{
    /* CLF (exponent 4) reporting, amounts in yen (exponent 0) at the top
     * rate: INT64_MAX * 1e18 * 1e4 does not fit in 128 bits */
    set("reporting", "CLF");
    set("rate.JPY", "1000000");
    finish();
    int64_t out;
    char why[256];
    cr_assert_eq(pp_money_convert(&m, "JPY", INT64_MAX, INT64_MAX, &out, why, sizeof why), PP_REJ_AMOUNT);
    cr_assert_eq(pp_money_convert(&m, "JPY", 1, INT64_MAX, &out, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(out, 10000000000LL); /* ¥1 = 1e6 CLF = 1e10 ten-thousandths */
    /* and the largest amount that still fits: CHF at 1, x100 into ten-thousandths */
    set("rate.CHF", "1");
    cr_assert_eq(pp_money_convert(&m, "CHF", INT64_MAX / 100, INT64_MAX, &out, why, sizeof why), PP_OK, "%s", why);
    cr_assert_eq(out, INT64_MAX / 100 * 100);
    cr_assert_eq(pp_money_convert(&m, "CHF", INT64_MAX / 100 + 1, INT64_MAX, &out, why, sizeof why), PP_REJ_AMOUNT);
    cr_assert_eq(pp_money_convert(&m, "CHF", INT64_MIN, INT64_MAX, &out, why, sizeof why), PP_REJ_AMOUNT,
                 "below int64 once converted");
}

Test(money, reporting_in_yen_converts_dollars_into_whole_yen)
{
    set("reporting", "JPY");
    set("rate.USD", "150");
    finish();
    cr_assert_eq(pp_money_minor_per_major(&m), 1.0);
    cr_assert_eq(convert_ok("USD", 1999), 2999);   /* $19.99 = ¥2,998.5 */
    cr_assert_eq(convert_ok("USD", 100), 150);
    cr_assert_eq(convert_ok("JPY", 5000), 5000);
    cr_assert_eq(convert_ok("", 5000), 5000);
}

Test(money, minor_units_per_major_unit_follow_the_reporting_currency)
{
    cr_assert_eq(pp_money_minor_per_major(&m), 100.0);
    set("reporting", "KWD");
    cr_assert_eq(pp_money_minor_per_major(&m), 1000.0);
}

/* ---- the [currency] section ---- */

Test(money, default_is_usd_with_no_rates)
{
    cr_assert_str_eq(m.reporting, "USD");
    cr_assert_eq(m.reporting_exponent, 2);
    cr_assert_eq(m.n_rates, 0);
}

Test(money, rates_are_parsed_exactly_and_kept_sorted)
{
    set("rate.JPY", "0.0067");
    set("rate.EUR", "1.08");
    set("rate.KWD", "3.25");
    set("rate.CHF", "0.123456789012");
    set("rate.GBP", "1000000");
    set("rate.EUR", "1.09"); /* again: the last one wins */
    cr_assert_eq(m.n_rates, 5);
    static const char *const order[] = {"CHF", "EUR", "GBP", "JPY", "KWD"};
    static const int64_t scaled[] = {123456789012LL, 1090000000000LL, 1000000LL * PP_RATE_SCALE, 6700000000LL,
                                     3250000000000LL};
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(m.rates[i].code, order[i]);
        cr_assert_eq(m.rates[i].scaled, scaled[i], "%s", order[i]);
    }
    cr_assert_eq(m.rates[3].exponent, 0);
    cr_assert_eq(m.rates[4].exponent, 3);
}

Test(money, rate_that_is_not_a_positive_decimal_up_to_1e6_is_refused)
{
    static const char *const bad[] = {"0", "0.000000000000", "-1", "-0.5", "0.0000000000001", "1.0000000000000",
                                      "1e3", "abc", "", "1.", ".5", "1.08 ", "1,08", "+1", "1000000.000000000001",
                                      "1000001", "99999999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refuse_rate(bad[i]);
    cr_assert_eq(m.n_rates, 0);
    set("rate.EUR", "0.000000000001"); /* the smallest */
    cr_assert_eq(m.rates[0].scaled, 1);
}

Test(money, rate_errors_say_what_is_wrong)
{
    refuse_rate("0");
    cr_assert(strstr(err, "above 0") != NULL, "%s", err);
    refuse_rate("0.0000000000001");
    cr_assert(strstr(err, "13 decimals") != NULL, "%s", err);
    refuse_rate("1e3");
    cr_assert(strstr(err, "plain positive decimal") != NULL, "%s", err);
    refuse_rate("2000000");
    cr_assert(strstr(err, "above 1000000") != NULL, "%s", err);
}

Test(money, rate_for_a_code_that_is_not_iso_4217_is_refused)
{
    cr_assert_eq(pp_money_set(&m, "rate.XYZ", "1.5", err, sizeof err), -1);
    cr_assert(strstr(err, "rate.XYZ") != NULL && strstr(err, "ISO 4217") != NULL, "%s", err);
    cr_assert_eq(pp_money_set(&m, "rate.XAU", "2000", err, sizeof err), -1);
    cr_assert_eq(pp_money_set(&m, "rate.eur", "1.08", err, sizeof err), -1);
    cr_assert(strstr(err, "upper case (rate.EUR)") != NULL, "%s", err);
    cr_assert_eq(pp_money_set(&m, "rate.", "1", err, sizeof err), -1);
    cr_assert_eq(m.n_rates, 0);
}

Test(money, reporting_must_be_an_upper_case_code)
{
    cr_assert_eq(pp_money_set(&m, "reporting", "usd", err, sizeof err), -1);
    cr_assert(strstr(err, "[currency] reporting = 'usd'") != NULL && strstr(err, "upper case (USD)") != NULL,
              "%s", err);
    cr_assert_eq(pp_money_set(&m, "reporting", "Dollar", err, sizeof err), -1);
    cr_assert(strstr(err, "'Dollar'") != NULL, "%s", err);
    cr_assert_eq(pp_money_set(&m, "reporting", "XXX", err, sizeof err), -1);
    cr_assert_str_eq(m.reporting, "USD");
    set("reporting", "EUR");
    cr_assert_str_eq(m.reporting, "EUR");
}

Test(money, unknown_key_is_refused)
{
    cr_assert_eq(pp_money_set(&m, "rates.EUR", "1.08", err, sizeof err), -1);
    cr_assert_str_eq(err, "unknown [currency] key 'rates.EUR' (reporting or rate.XXX)");
}

Test(money, rate_for_the_reporting_currency_must_be_1)
{
    set("rate.USD", "1.08");
    cr_assert_eq(pp_money_finish(&m, err, sizeof err), -1);
    cr_assert(strstr(err, "rate.USD = 1.08") != NULL && strstr(err, "must be 1") != NULL, "%s", err);

    setup();
    set("rate.USD", "1.000");
    set("rate.EUR", "1.08");
    finish();
    cr_assert_eq(m.n_rates, 1, "the reporting currency's rate is dropped");
    cr_assert_str_eq(m.rates[0].code, "EUR");
    cr_assert_eq(convert_ok("USD", 123), 123);
}

Test(money, reporting_may_be_set_after_the_rates)
{
    set("rate.USD", "0.92");
    set("rate.EUR", "1");
    set("reporting", "EUR");
    finish();
    cr_assert_eq(m.n_rates, 1);
    cr_assert_eq(convert_ok("USD", 10000), 9200);
    cr_assert_eq(convert_ok("EUR", 10000), 10000);
}

Test(money, hash_changes_when_a_rate_or_the_reporting_currency_changes)
{
    const uint64_t basis = 1469598103934665603ULL;
    set("rate.EUR", "1.08");
    set("rate.JPY", "0.0067");
    finish();
    uint64_t h1 = pp_money_hash(&m, basis);
    cr_assert_eq(pp_money_hash(&m, basis), h1, "not deterministic");

    set("rate.EUR", "1.09");
    finish();
    uint64_t h2 = pp_money_hash(&m, basis);
    cr_assert_neq(h2, h1);

    set("rate.EUR", "1.08");
    finish();
    cr_assert_eq(pp_money_hash(&m, basis), h1, "same settings, same hash");

    set("reporting", "EUR"); /* rate.EUR = 1.08 would now be refused: compare before finish */
    cr_assert_neq(pp_money_hash(&m, basis), h1);
    cr_assert_neq(pp_money_hash(&m, basis + 1), pp_money_hash(&m, basis), "the seed is folded in");
}

Test(money, hash_of_the_default_is_fnv1a_of_usd)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = "USD"; *c; c++) {
        h ^= (uint8_t)*c;
        h *= 1099511628211ULL;
    }
    cr_assert_eq(pp_money_hash(&m, 1469598103934665603ULL), h);
}
