/*
 * pp_config (daemon/): the [currency] section reaches the policy's money
 * settings, and every mistake in it stops the load with the file, the line
 * where there is one, and the section named.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_config.h"

static pp_config_t cfg;
static char path[64];
static char err[1024];

static void setup(void)
{
    pp_config_defaults(&cfg);
    path[0] = '\0';
    err[0] = '\0';
}

static void teardown(void)
{
    pp_config_free(&cfg);
    if (path[0] != '\0')
        unlink(path);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Write text to a fresh file and load it: pp_config_load's result. */
static int load(const char *text)
{
    snprintf(path, sizeof path, "/tmp/pp-test-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return pp_config_load(&cfg, path, err, sizeof err);
}

Test(config, currency_section_sets_reporting_and_rates)
{
    cr_assert_eq(load("[currency]\nreporting = USD\nrate.EUR = 1.08\nrate.JPY = 0.0067\nrate.KWD = 3.25\n"), 0,
                 "%s", err);
    const pp_money_t *m = &cfg.policy->money;
    cr_assert_str_eq(m->reporting, "USD");
    cr_assert_eq(m->n_rates, 3);
    int64_t out;
    char why[256];
    cr_assert_eq(pp_money_convert(m, "EUR", 10000, cfg.limits.max_amount_minor, &out, why, sizeof why), PP_OK);
    cr_assert_eq(out, 10800);
}

Test(config, no_currency_section_means_usd_and_no_rates)
{
    cr_assert_eq(load("[daemon]\nlog_level = info\n"), 0, "%s", err);
    cr_assert_str_eq(cfg.policy->money.reporting, "USD");
    cr_assert_eq(cfg.policy->money.n_rates, 0);
}

Test(config, bad_currency_key_names_file_line_and_section)
{
    cr_assert_eq(load("[currency]\nreporting = USD\nrate.EUR = 1e3\n"), -1);
    cr_assert(strstr(err, path) != NULL && strstr(err, "line 3") != NULL, "%s", err);
    cr_assert(strstr(err, "[currency] rate.EUR = '1e3'") != NULL, "%s", err);
}

Test(config, unknown_currency_key_is_an_error)
{
    cr_assert_eq(load("[currency]\nrates.EUR = 1.08\n"), -1);
    cr_assert(strstr(err, "unknown [currency] key 'rates.EUR'") != NULL, "%s", err);
}

Test(config, rate_for_the_reporting_currency_must_be_1_even_when_set_first)
{
    cr_assert_eq(load("[currency]\nrate.EUR = 1.08\nreporting = EUR\n"), -1);
    cr_assert(strstr(err, path) != NULL && strstr(err, "[currency] rate.EUR = 1.08") != NULL, "%s", err);
}

Test(config, reporting_set_after_its_rate_of_1_is_fine)
{
    cr_assert_eq(load("[currency]\nrate.EUR = 1\nrate.USD = 0.92\nreporting = EUR\n"), 0, "%s", err);
    cr_assert_str_eq(cfg.policy->money.reporting, "EUR");
    cr_assert_eq(cfg.policy->money.n_rates, 1);
    cr_assert_str_eq(cfg.policy->money.rates[0].code, "USD");
}

Test(config, notify_sections_are_left_to_partnerpulse_notify)
{
    cr_assert_eq(load("[notify]\ngroup_id = pp-notify\ndashboard_url = http://x\n"
                      "[destination:oncall]\ntype = pagerduty\nrouting_key = abc\nseverities = critical\n"
                      "[destination:am]\ntype = alertmanager\nurl = http://127.0.0.1:9093\n"),
                 0, "%s", err);
}
