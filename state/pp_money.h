/*
 * pp_money: amounts in many currencies, one reporting currency (DESIGN §3
 * "Money").
 *
 * Every amount on the input topics is in the minor units of its currency
 * (ISO 4217 exponent: USD 2, JPY 0, KWD 3). At ingest the daemon converts it
 * into the minor units of the configured reporting currency at the
 * configured rate ([currency] reporting = USD, rate.EUR = 1.08: reporting
 * units per unit of EUR). An empty currency is the reporting currency; a
 * currency with no rate is refused (DLQ reason "currency").
 *
 * The ISO 4217 table is built in (active codes and their exponents): a
 * well-kept library for it does not exist in Debian, and the table changes
 * a few times a decade.
 *
 * Rates are kept as integers (units of 1e-12) and conversion is exact
 * integer arithmetic rounded half away from zero, so a replay converts every
 * amount to the same minor unit.
 *
 * Pure: no I/O, no clock, no globals but the constant table.
 */
#ifndef PP_MONEY_H
#define PP_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "pp_event.h"

#define PP_RATES_MAX 64                 /* currencies with a configured rate */
#define PP_RATE_SCALE 1000000000000LL   /* rates are kept in units of 1e-12 */

typedef struct pp_rate {
    char code[4];                       /* ISO 4217 code, upper case */
    int8_t exponent;                    /* its minor-unit exponent */
    int64_t scaled;                     /* reporting units per unit, x PP_RATE_SCALE */
} pp_rate_t;

typedef struct pp_money {
    char reporting[4];                  /* ISO 4217 code of the reporting currency */
    int8_t reporting_exponent;          /* its exponent (USD 2) */
    int n_rates;
    pp_rate_t rates[PP_RATES_MAX];      /* sorted by code; never the reporting currency */
} pp_money_t;

/* Reporting currency USD, no rates. */
void pp_money_default(pp_money_t *m);

/* Set one key of the [currency] section: "reporting" (an ISO 4217 code) or
 * "rate.XXX" (a positive decimal, at most 12 decimals, at most 1e6).
 * Returns 0, or -1 with a sentence in err. */
int pp_money_set(pp_money_t *m, const char *key, const char *value, char *err, size_t err_len);

/* Check the section as a whole once every key is set (a rate given for the
 * reporting currency must be 1; it is then dropped). Returns 0 or -1 with err. */
int pp_money_finish(pp_money_t *m, char *err, size_t err_len);

/* The ISO 4217 exponent of an active code, -1 if the code is not one. */
int pp_iso4217_exponent(const char *code);

/* The i-th code of the built-in table, in ascending order; NULL past the
 * end (to list the table, and for its tests). */
const char *pp_iso4217_code(size_t i);

/* Minor units per major unit of the reporting currency (100 for USD, 1 for JPY). */
double pp_money_minor_per_major(const pp_money_t *m);

/* Convert amount_minor of `currency` ("" = the reporting currency) into
 * reporting minor units, into *out. Returns PP_OK; PP_REJ_CURRENCY when the
 * code is not ISO 4217 or has no rate; PP_REJ_AMOUNT when the converted
 * amount exceeds max_minor. A sentence in why on rejection. */
pp_reject_t pp_money_convert(const pp_money_t *m, const char *currency, int64_t amount_minor, int64_t max_minor,
                             int64_t *out, char *why, size_t why_len);

/* Fold the reporting currency and every rate into a 64-bit FNV-1a hash
 * (config_version: a rate change changes it). */
uint64_t pp_money_hash(const pp_money_t *m, uint64_t h);

#endif
