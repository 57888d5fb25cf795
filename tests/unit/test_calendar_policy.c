/*
 * Calendars in the policy set (DESIGN §4): configuring them, naming them
 * from a type/tier policy, resolving a partner's clocks, and the profile
 * checks that send unknown zones and calendars to the DLQ.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "pp_bizclock.h"
#include "pp_calendar.h"
#include "pp_policy.h"

static pp_policyset_t ps;
static char err[256];

static void setup(void)
{
    pp_policyset_default(&ps);
    err[0] = '\0';
}

TestSuite(calendar_policy, .init = setup);

/* one zone, Asia/Tokyo (+9, no changes), as the daemon would hand it over */
static pp_zone_t tokyo;
static uint32_t tokyo_hash;

static void install_tokyo(void)
{
    memset(&tokyo, 0, sizeof tokyo);
    strcpy(tokyo.name, "Asia/Tokyo");
    tokyo.initial_offset_s = 9 * 3600;
    tokyo_hash = pp_name_hash32(tokyo.name);
    cr_assert_eq(pp_policyset_zones(&ps, &tokyo, &tokyo_hash, 1, err, sizeof err), 0, "%s", err);
}

Test(calendar_policy, builtins_are_business_and_always)
{
    cr_assert_str_eq(ps.calendars[0].name, "business");
    cr_assert_str_eq(ps.calendars[1].name, "always");
    pp_bizclock_t clk[2];
    pp_policyset_clocks(&ps, pp_policyset_for(&ps, 0, ""), 0, 0, clk);
    cr_assert_str_eq(clk[PP_SIDE_PARTNER].cal->name, "business");
    cr_assert_str_eq(clk[PP_SIDE_US].cal->name, "business");
    cr_assert_null(clk[PP_SIDE_PARTNER].zone, "UTC");
    cr_assert_eq(pp_biz_day_ms(&clk[PP_SIDE_PARTNER]), 8 * HOUR_MS);
}

Test(calendar_policy, a_tier_names_its_partners_calendar_and_the_profile_wins)
{
    cr_assert_eq(pp_policyset_calendar(&ps, "jp", "timezone", "Asia/Tokyo", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_calendar(&ps, "jp", "hours", "09:00-18:00", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_override_tier(&ps, "japan", "calendar", "jp", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    install_tokyo();
    pp_bizclock_t clk[2];
    pp_policyset_clocks(&ps, pp_policyset_for(&ps, PP_PTYPE_RESELLER, "japan"), 0, 0, clk);
    cr_assert_str_eq(clk[PP_SIDE_PARTNER].cal->name, "jp");
    cr_assert_eq(clk[PP_SIDE_PARTNER].zone, &tokyo, "the calendar's own zone");
    cr_assert_eq(pp_biz_day_ms(&clk[PP_SIDE_PARTNER]), 9 * HOUR_MS);
    /* a profile naming "always" beats the tier's calendar */
    pp_policyset_clocks(&ps, pp_policyset_for(&ps, PP_PTYPE_RESELLER, "japan"), pp_name_hash32("always"), 0, clk);
    cr_assert_str_eq(clk[PP_SIDE_PARTNER].cal->name, "always");
    /* a profile zone beats the calendar's */
    pp_policyset_clocks(&ps, pp_policyset_for(&ps, 0, ""), 0, tokyo_hash, clk);
    cr_assert_str_eq(clk[PP_SIDE_PARTNER].cal->name, "business");
    cr_assert_eq(clk[PP_SIDE_PARTNER].zone, &tokyo);
    cr_assert_null(clk[PP_SIDE_US].zone, "ours stays UTC");
}

Test(calendar_policy, an_unknown_calendar_name_is_refused_with_a_sentence)
{
    cr_assert_eq(pp_policyset_override_type(&ps, "CO_SELL", "calendar", "nope", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), -1);
    cr_assert(strstr(err, "[calendar:nope]") != NULL, "%s", err);
}

Test(calendar_policy, a_calendar_zone_the_daemon_does_not_know_is_refused)
{
    cr_assert_eq(pp_policyset_calendar(&ps, "mars", "timezone", "Mars/Olympus", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_zones(&ps, NULL, NULL, 0, err, sizeof err), -1);
    cr_assert(strstr(err, "Mars/Olympus") != NULL, "%s", err);
}

Test(calendar_policy, the_old_hours_keys_name_their_replacement)
{
    cr_assert_eq(pp_policyset_set(&ps, "slow_response_hours", "72", err, sizeof err), -1);
    cr_assert(strstr(err, "slow_response_days") != NULL, "%s", err);
}

Test(calendar_policy, calendars_change_the_config_version)
{
    char before[sizeof ps.version];
    strcpy(before, ps.version);
    cr_assert_eq(pp_policyset_calendar(&ps, "business", "holidays", "2026-12-25", err, sizeof err), 0, "%s", err);
    cr_assert_eq(pp_policyset_resolve(&ps, err, sizeof err), 0, "%s", err);
    cr_assert_str_neq(ps.version, before);
}

Test(calendar_policy, a_profile_with_an_unknown_zone_or_calendar_goes_to_the_dlq)
{
    install_tokyo();
    pp_event_t ev = ev_lifecycle("acme", "e1", T0, PP_LC_PROFILE_CHANGED, 0, NULL);
    char why[256];
    strcpy(ev.u.lc.timezone, "Asia/Tokyo");
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_OK);
    strcpy(ev.u.lc.timezone, "Mars/Olympus");
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_REJ_TIMEZONE);
    cr_assert_str_eq(pp_reject_name(PP_REJ_TIMEZONE), "timezone");
    cr_assert(strstr(why, "Mars/Olympus") != NULL, "%s", why);
    ev.u.lc.timezone[0] = '\0';
    strcpy(ev.u.lc.calendar, "nope");
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_REJ_CALENDAR);
    cr_assert_str_eq(pp_reject_name(PP_REJ_CALENDAR), "calendar");
    strcpy(ev.u.lc.calendar, "always");
    cr_assert_eq(pp_policyset_admit_event(&ps, &ev, NULL, why, sizeof why), PP_OK);
}
