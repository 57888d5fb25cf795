/*
 * pp_money: the ISO 4217 table, the [currency] section and the conversion of
 * amounts into the reporting currency (see pp_money.h, DESIGN §3 "Money").
 *
 * Rates are parsed digit by digit into units of 1e-12 (never through a
 * double), and a conversion is one exact 128-bit product and quotient
 * rounded half away from zero: the same amount and rate give the same minor
 * unit on every machine and on every replay.
 */
#include "pp_money.h"

#include <stdbool.h>
#include <string.h>

#include "pp_text.h"

__extension__ typedef unsigned __int128 pp_u128_t; /* GCC and Clang; the build is -std=c11 without -pedantic */

/* ISO 4217 List One, the active codes that have a minor unit, sorted by code.
 * As published by the maintenance agency (SIX) in 2026: XCG (2025), ZWG
 * (2024) in; ANG, BGN, CUC, HRK, SLL and ZWL withdrawn and out. Left out on
 * purpose: the units with no minor unit (XAU XAG XPT XPD gold and other
 * metals, XDR XSU XUA XAD units of account, XBA..XBD bond units, XTS the
 * test code, XXX no currency), which an amount_minor cannot be in.
 * Fund codes with an exponent (BOV CHE CHW CLF COU MXV USN UYI UYW) are in.
 * When the agency amends the list: add or drop the line, keep the order
 * (test_money checks it). */
static const struct iso4217 {
    char code[4];
    int8_t exponent; /* digits after the decimal point of the minor unit */
} iso4217[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2},
    {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2},
    {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2},
    {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2},
    {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3},
    {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2},
    {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2},
    {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2},
    {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2},
    {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2},
    {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2},
    {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0},
    {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

#define ISO4217_N (sizeof iso4217 / sizeof iso4217[0])

const char *pp_iso4217_code(size_t i)
{
    return i < ISO4217_N ? iso4217[i].code : NULL;
}

static bool is_code_shape(const char *s)
{
    return s != NULL && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z' &&
           s[3] == '\0';
}

int pp_iso4217_exponent(const char *code)
{
    if (!is_code_shape(code))
        return -1;
    size_t lo = 0, hi = ISO4217_N;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(code, iso4217[mid].code, 3);
        if (c == 0)
            return iso4217[mid].exponent;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* The upper-case spelling of s into up[4] when s is three ASCII letters
 * some of them lower case and that spelling is a code ("usd" -> "USD"). */
static bool upper_is_code(const char *s, char up[4])
{
    if (s == NULL || strlen(s) != 3)
        return false;
    bool lower = false;
    for (int i = 0; i < 3; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z') {
            lower = true;
            c = (char)(c - 'a' + 'A');
        }
        up[i] = c;
    }
    up[3] = '\0';
    return lower && pp_iso4217_exponent(up) >= 0;
}

/* s as printable ASCII for a sentence: anything else becomes '?' (an
 * event's currency is up to 3 arbitrary bytes). */
static void printable(const char *s, char out[4])
{
    int i = 0;
    for (; i < 3 && s[i] != '\0'; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    out[i] = '\0';
}

void pp_money_default(pp_money_t *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->reporting, "USD", 4);
    m->reporting_exponent = 2;
}

/* The rate of code, NULL if none (rates are sorted by code). */
static const pp_rate_t *rate_find(const pp_money_t *m, const char *code)
{
    int lo = 0, hi = m->n_rates;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = memcmp(code, m->rates[mid].code, 3);
        if (c == 0)
            return &m->rates[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Parse a rate exactly: [0-9]+ or [0-9]+.[0-9]{1,12}, into units of 1e-12.
 * Returns 0, or -1 with a sentence naming the key and the value. */
static int parse_rate(const char *key, const char *value, int64_t *out, char *err, size_t err_len)
{
    const int64_t max_whole = 1000000; /* a rate is at most 1e6 */
    const char *p = value;
    int64_t whole = 0, frac = 0;
    int n_whole = 0, n_frac = 0;
    for (; *p >= '0' && *p <= '9'; p++, n_whole++)
        if (whole <= max_whole)
            whole = whole * 10 + (*p - '0');
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, n_frac++)
            if (n_frac < 12)
                frac = frac * 10 + (*p - '0');
        if (n_frac == 0)
            n_whole = 0; /* "1." is not a number either */
    }
    if (n_whole == 0 || *p != '\0') {
        pp_text_error(err, err_len,
                      "[currency] %s = '%.40s' is not a plain positive decimal (digits, at most one '.', "
                      "no sign or exponent; e.g. 1.08 reporting units per unit)",
                      key, value);
        return -1;
    }
    if (n_frac > 12) {
        pp_text_error(err, err_len, "[currency] %s = '%.40s' has %d decimals: at most 12 are kept exactly", key,
                      value, n_frac);
        return -1;
    }
    if (whole > max_whole) {
        pp_text_error(err, err_len, "[currency] %s = '%.40s' is above 1000000", key, value);
        return -1;
    }
    for (int i = n_frac; i < 12; i++)
        frac *= 10;
    int64_t scaled = whole * PP_RATE_SCALE + frac;
    if (scaled == 0) {
        pp_text_error(err, err_len, "[currency] %s = '%.40s' must be above 0", key, value);
        return -1;
    }
    if (scaled > max_whole * PP_RATE_SCALE) {
        pp_text_error(err, err_len, "[currency] %s = '%.40s' is above 1000000", key, value);
        return -1;
    }
    *out = scaled;
    return 0;
}

/* A code named in the config: its exponent, or -1 with a sentence that
 * names the key (key = "reporting" or "rate.XXX", value = the code). */
static int config_code(const char *key, const char *code, char *err, size_t err_len)
{
    int exp = pp_iso4217_exponent(code);
    if (exp >= 0)
        return exp;
    bool rate = strcmp(key, "reporting") != 0;
    char named[64], up[4];
    if (rate)
        pp_text_error(named, sizeof named, "%.40s", key);
    else
        pp_text_error(named, sizeof named, "reporting = '%.40s'", code);
    if (upper_is_code(code, up))
        pp_text_error(err, err_len, "[currency] %s: currency codes are upper case (%s%s)", named,
                      rate ? "rate." : "", up);
    else
        pp_text_error(err, err_len,
                      "[currency] %s: '%.40s' is not an active ISO 4217 currency code with a minor unit "
                      "(e.g. USD, EUR, JPY)",
                      named, code);
    return -1;
}

int pp_money_set(pp_money_t *m, const char *key, const char *value, char *err, size_t err_len)
{
    if (strcmp(key, "reporting") == 0) {
        int exp = config_code(key, value, err, err_len);
        if (exp < 0)
            return -1;
        memcpy(m->reporting, value, 4);
        m->reporting_exponent = (int8_t)exp;
        return 0; /* a rate given for it is checked by pp_money_finish */
    }
    if (strncmp(key, "rate.", 5) == 0) {
        const char *code = key + 5;
        int exp = config_code(key, code, err, err_len);
        if (exp < 0)
            return -1;
        int64_t scaled;
        if (parse_rate(key, value, &scaled, err, err_len) != 0)
            return -1;
        int i = 0;
        while (i < m->n_rates && memcmp(m->rates[i].code, code, 3) < 0)
            i++;
        if (i < m->n_rates && memcmp(m->rates[i].code, code, 3) == 0) { /* set again: the last one wins */
            m->rates[i].scaled = scaled;
            return 0;
        }
        if (m->n_rates >= PP_RATES_MAX) {
            pp_text_error(err, err_len, "[currency] %s: at most %d currencies can have a rate", key, PP_RATES_MAX);
            return -1;
        }
        memmove(&m->rates[i + 1], &m->rates[i], (size_t)(m->n_rates - i) * sizeof m->rates[0]);
        memcpy(m->rates[i].code, code, 4);
        m->rates[i].exponent = (int8_t)exp;
        m->rates[i].scaled = scaled;
        m->n_rates++;
        return 0;
    }
    pp_text_error(err, err_len, "unknown [currency] key '%.40s' (reporting or rate.XXX)", key);
    return -1;
}

int pp_money_finish(pp_money_t *m, char *err, size_t err_len)
{
    for (int i = 0; i < m->n_rates; i++) {
        if (memcmp(m->rates[i].code, m->reporting, 3) != 0)
            continue;
        if (m->rates[i].scaled != PP_RATE_SCALE) {
            int64_t s = m->rates[i].scaled;
            char frac[16];
            pp_text_error(frac, sizeof frac, "%012lld", (long long)(s % PP_RATE_SCALE));
            size_t n = strlen(frac);
            while (n > 0 && frac[n - 1] == '0')
                frac[--n] = '\0';
            pp_text_error(err, err_len,
                          "[currency] rate.%s = %lld%s%s but %s is the reporting currency: its rate must be 1 "
                          "(or leave it out)",
                          m->reporting, (long long)(s / PP_RATE_SCALE), n ? "." : "", frac, m->reporting);
            return -1;
        }
        memmove(&m->rates[i], &m->rates[i + 1], (size_t)(m->n_rates - i - 1) * sizeof m->rates[0]);
        m->n_rates--;
        break;
    }
    return 0;
}

double pp_money_minor_per_major(const pp_money_t *m)
{
    double d = 1;
    for (int i = 0; i < m->reporting_exponent; i++)
        d *= 10;
    return d;
}

static uint64_t pow10u(int n)
{
    uint64_t p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

pp_reject_t pp_money_convert(const pp_money_t *m, const char *currency, int64_t amount_minor, int64_t max_minor,
                             int64_t *out, char *why, size_t why_len)
{
    int64_t res;
    if (currency == NULL || currency[0] == '\0' || strcmp(currency, m->reporting) == 0) {
        res = amount_minor;
    } else {
        if (pp_iso4217_exponent(currency) < 0) {
            char up[4], shown[4];
            printable(currency, shown);
            if (upper_is_code(currency, up))
                pp_text_error(why, why_len, "currency \"%s\" is not an ISO 4217 code (codes are upper case: %s)",
                              shown, up);
            else
                pp_text_error(why, why_len, "currency \"%s\" is not an ISO 4217 code", shown);
            return PP_REJ_CURRENCY;
        }
        const pp_rate_t *r = rate_find(m, currency);
        if (r == NULL) {
            pp_text_error(why, why_len, "no rate for currency %s (add rate.%s to [currency])", currency, currency);
            return PP_REJ_CURRENCY;
        }
        /* out = amount * scaled * 10^rep_exp / (10^cur_exp * 1e12), on magnitudes:
         * |amount| <= 2^63 and scaled <= 1e18 < 2^60 make the product < 2^123;
         * the exponents (0..4) cancel first, leaving one factor <= 1e4 for
         * either the numerator or the denominator (den <= 1e16). Once
         * num * f exceeds 2^63 * den the quotient is beyond int64: refused
         * before the factor could wrap it. */
        bool neg = amount_minor < 0;
        pp_u128_t num = (pp_u128_t)(neg ? -(uint64_t)amount_minor : (uint64_t)amount_minor) * (uint64_t)r->scaled;
        pp_u128_t den = (pp_u128_t)PP_RATE_SCALE;
        int shift = m->reporting_exponent - r->exponent;
        uint64_t f = 1;
        if (shift >= 0)
            f = pow10u(shift);
        else
            den *= pow10u(-shift);
        if (num > ((pp_u128_t)1 << 63) * den / f)
            goto too_big;
        num *= f;
        pp_u128_t q = (num + den / 2) / den; /* den is even: half away from zero on the magnitude */
        if (q > (pp_u128_t)INT64_MAX)
            goto too_big;
        res = neg ? -(int64_t)q : (int64_t)q;
    }
    if (res > max_minor)
        goto too_big;
    *out = res;
    return PP_OK;
too_big:
    pp_text_error(why, why_len,
                  "amount %lld %s is above [limits] max_amount_minor (%lld %s minor units) once converted",
                  (long long)amount_minor, currency && currency[0] ? currency : m->reporting, (long long)max_minor,
                  m->reporting);
    return PP_REJ_AMOUNT;
}

uint64_t pp_money_hash(const pp_money_t *m, uint64_t h)
{
    const uint64_t prime = 1099511628211ULL;
    for (int i = 0; i < 3; i++) {
        h ^= (uint8_t)m->reporting[i];
        h *= prime;
    }
    for (int r = 0; r < m->n_rates; r++) {
        for (int i = 0; i < 3; i++) {
            h ^= (uint8_t)m->rates[r].code[i];
            h *= prime;
        }
        uint64_t s = (uint64_t)m->rates[r].scaled;
        for (int i = 0; i < 8; i++) { /* little-endian on every host */
            h ^= (uint8_t)(s >> (8 * i));
            h *= prime;
        }
    }
    return h;
}
