/*
 * `partnerpulse notify`'s pure parts (tools/pp_notify_*): routing, the
 * payload of each destination, the webhook signature, the retry backoff, the
 * at-least-once offset bookkeeping and the duplicate filter.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pp_notify_backoff.h"
#include "pp_notify_payload.h"
#include "pp_notify_route.h"
#include "pp_notify_seen.h"
#include "pp_notify_track.h"

static pp_notify_alert_t alert(int status, int severity)
{
    return (pp_notify_alert_t){.alert_id = "0123456789abcdef0123456789abcdef", .partner_id = "acme-eu",
                               .rule = "going_dark", .severity = severity, .status = status, .value = 21,
                               .threshold = 15, .message = "Acme <Europe> & Co has gone dark.",
                               .started_at_ms = 1767225600000LL, .event_time_ms = 1767312000000LL,
                               .emitted_at_ms = 1767312000500LL, .health = 31.5, .evidence = "timer",
                               .config_version = "00ff", .partner_type = "RESELLER", .tier = "gold",
                               .display_name = "Acme Europe", .why = {"going_dark 21.0 d -25.0 pts", "", ""}};
}

static pp_notify_route_t route(const char *key, const char *value)
{
    pp_notify_route_t r;
    char err[256];
    memset(&r, 0, sizeof r);
    cr_assert_eq(pp_notify_route_set(&r, key, value, err, sizeof err), 1, "%s", err);
    return r;
}

/* ---- routing ---- */

Test(notify_route, empty_route_takes_everything)
{
    pp_notify_route_t r;
    memset(&r, 0, sizeof r);
    pp_notify_alert_t a = alert(PP_ST_RESOLVED, PP_SEV_INFO);
    cr_assert(pp_notify_route_match(&r, &a));
}

Test(notify_route, severities_list_is_ored_case_insensitive)
{
    pp_notify_route_t r = route("severities", "Warning, critical");
    pp_notify_alert_t w = alert(PP_ST_FIRING, PP_SEV_WARNING), i = alert(PP_ST_FIRING, PP_SEV_INFO);
    cr_assert(pp_notify_route_match(&r, &w));
    cr_assert_not(pp_notify_route_match(&r, &i));
}

Test(notify_route, rules_statuses_types_and_tiers_are_anded)
{
    pp_notify_route_t r = route("rules", "going_dark,health_red");
    char err[256];
    cr_assert_eq(pp_notify_route_set(&r, "statuses", "firing", err, sizeof err), 1);
    cr_assert_eq(pp_notify_route_set(&r, "partner_types", "reseller", err, sizeof err), 1);
    cr_assert_eq(pp_notify_route_set(&r, "tiers", "gold, platinum", err, sizeof err), 1);
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    cr_assert(pp_notify_route_match(&r, &a));
    a.tier = "silver";
    cr_assert_not(pp_notify_route_match(&r, &a));
    a = alert(PP_ST_RESOLVED, PP_SEV_WARNING);
    cr_assert_not(pp_notify_route_match(&r, &a));
    a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    a.rule = "one_sided";
    cr_assert_not(pp_notify_route_match(&r, &a));
    cr_assert(pp_notify_route_needs_partner(&r));
}

Test(notify_route, partner_without_a_type_never_matches_a_type_filter)
{
    pp_notify_route_t r = route("partner_types", "RESELLER");
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    a.partner_type = "";
    cr_assert_not(pp_notify_route_match(&r, &a));
}

Test(notify_route, unknown_rule_or_severity_is_refused_with_its_name)
{
    pp_notify_route_t r;
    char err[256];
    memset(&r, 0, sizeof r);
    cr_assert_eq(pp_notify_route_set(&r, "rules", "going_dark, gone_dark", err, sizeof err), -1);
    cr_assert(strstr(err, "gone_dark") != NULL, "%s", err);
    cr_assert_eq(pp_notify_route_set(&r, "severities", "urgent", err, sizeof err), -1);
    cr_assert(strstr(err, "urgent") != NULL, "%s", err);
    cr_assert_eq(pp_notify_route_set(&r, "url", "x", err, sizeof err), 0);
}

/* ---- payloads ---- */

static json_t *parse(char *s)
{
    cr_assert_not_null(s);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    cr_assert_not_null(j);
    return j;
}

Test(notify_payload, slack_text_is_escaped_and_links_the_partner_page)
{
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_CRITICAL);
    json_t *j = parse(pp_notify_render_slack(&a, "https://pp.example.com/"));
    const char *t = json_string_value(json_object_get(j, "text"));
    cr_assert(strstr(t, "*FIRING* [critical] `going_dark` for *Acme Europe* (acme-eu)") != NULL, "%s", t);
    cr_assert(strstr(t, "Acme &lt;Europe&gt; &amp; Co has gone dark.") != NULL, "%s", t);
    cr_assert(strstr(t, "Health 31.5") != NULL, "%s", t);
    cr_assert(strstr(t, "Why: going_dark 21.0 d -25.0 pts") != NULL, "%s", t);
    cr_assert(strstr(t, "<https://pp.example.com/partner/acme-eu|Open acme-eu in the dashboard>") != NULL, "%s", t);
    json_decref(j);
}

Test(notify_payload, slack_without_dashboard_url_has_no_link)
{
    pp_notify_alert_t a = alert(PP_ST_RESOLVED, PP_SEV_WARNING);
    json_t *j = parse(pp_notify_render_slack(&a, ""));
    const char *t = json_string_value(json_object_get(j, "text"));
    cr_assert(strstr(t, "*RESOLVED*") != NULL);
    cr_assert(strstr(t, "dashboard") == NULL, "%s", t);
    json_decref(j);
}

Test(notify_payload, pagerduty_trigger_and_resolve_share_the_dedup_key)
{
    pp_notify_alert_t f = alert(PP_ST_FIRING, PP_SEV_CRITICAL), r = alert(PP_ST_RESOLVED, PP_SEV_CRITICAL);
    json_t *jf = parse(pp_notify_render_pagerduty(&f, "KEY", "")), *jr = parse(pp_notify_render_pagerduty(&r, "KEY", ""));
    cr_assert_str_eq(json_string_value(json_object_get(jf, "event_action")), "trigger");
    cr_assert_str_eq(json_string_value(json_object_get(jr, "event_action")), "resolve");
    cr_assert_str_eq(json_string_value(json_object_get(jf, "dedup_key")), "0123456789abcdef0123456789abcdef");
    cr_assert_str_eq(json_string_value(json_object_get(jr, "dedup_key")), "0123456789abcdef0123456789abcdef");
    cr_assert_str_eq(json_string_value(json_object_get(jf, "routing_key")), "KEY");
    json_t *p = json_object_get(jf, "payload");
    cr_assert_str_eq(json_string_value(json_object_get(p, "severity")), "critical");
    cr_assert_str_eq(json_string_value(json_object_get(p, "timestamp")), "2026-01-01T00:00:00.000Z");
    cr_assert_str_eq(json_string_value(json_object_get(p, "group")), "RESELLER");
    json_decref(jf);
    json_decref(jr);
}

Test(notify_payload, pagerduty_summary_is_cut_at_1024_bytes_on_a_character_boundary)
{
    char msg[1100];
    memset(msg, 'a', 1023);
    memcpy(msg + 1023, "\xc3\xa9tail", 7); /* an é across the limit */
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_CRITICAL);
    a.message = msg;
    json_t *j = parse(pp_notify_render_pagerduty(&a, "KEY", ""));
    const char *s = json_string_value(json_object_get(json_object_get(j, "payload"), "summary"));
    cr_assert_eq(strlen(s), 1023);
    json_decref(j);
}

Test(notify_payload, alertmanager_labels_and_annotations)
{
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    json_t *o = pp_notify_render_am_alert(&a, "http://d", 1767312000000LL);
    json_t *l = json_object_get(o, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, "alertname")), "going_dark");
    cr_assert_str_eq(json_string_value(json_object_get(l, "partner")), "acme-eu");
    cr_assert_str_eq(json_string_value(json_object_get(l, "severity")), "warning");
    cr_assert_str_eq(json_string_value(json_object_get(l, "type")), "RESELLER");
    cr_assert_str_eq(json_string_value(json_object_get(l, "tier")), "gold");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "annotations"), "alert_id")), "0123456789abcdef0123456789abcdef");
    cr_assert_str_eq(json_string_value(json_object_get(o, "generatorURL")), "http://d/partner/acme-eu");
    cr_assert_null(json_object_get(o, "endsAt"));
    a.partner_type = "";
    json_t *o2 = pp_notify_render_am_alert(&a, "", 1767312000000LL);
    cr_assert_null(json_object_get(json_object_get(o2, "labels"), "type"), "an unknown type is no label");
    cr_assert_not(pp_notify_am_same_labels(o, o2));
    json_decref(o);
    json_decref(o2);
}

Test(notify_payload, alertmanager_start_in_the_future_is_capped_by_now)
{
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    json_t *o = pp_notify_render_am_alert(&a, "", 1000);
    cr_assert_str_eq(json_string_value(json_object_get(o, "startsAt")), "1970-01-01T00:00:01.000Z");
    json_decref(o);
}

Test(notify_payload, webhook_signature_is_hmac_sha256_of_timestamp_dot_body)
{
    char sig[PP_NOTIFY_SIG_LEN];
    /* python3 -c 'import hmac,hashlib; print(hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest())' */
    cr_assert_eq(pp_notify_sign("key", "1700000000", "{}", 2, sig), 0);
    cr_assert_str_eq(sig, "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
}

Test(notify_payload, dashboard_link_percent_encodes_the_id)
{
    char out[128];
    pp_notify_dashboard_link("http://d//", "a b/c", out, sizeof out);
    cr_assert_str_eq(out, "http://d/partner/a%20b%2Fc");
    pp_notify_dashboard_link("http://d", "x", out, 12);
    cr_assert_str_eq(out, "", "too small: no link rather than a cut one");
}

/* ---- backoff ---- */

Test(notify_backoff, doubles_from_initial_up_to_the_cap)
{
    cr_assert_eq(pp_notify_backoff_ms(1, 500, 8000), 500);
    cr_assert_eq(pp_notify_backoff_ms(2, 500, 8000), 1000);
    cr_assert_eq(pp_notify_backoff_ms(4, 500, 8000), 4000);
    cr_assert_eq(pp_notify_backoff_ms(5, 500, 8000), 8000);
    cr_assert_eq(pp_notify_backoff_ms(1000000, 500, 8000), 8000);
}

/* ---- offsets ---- */

Test(notify_track, offset_moves_only_over_a_prefix_every_destination_acknowledged)
{
    pp_notify_track_t *t = pp_notify_track_new();
    pp_notify_record_t *r10 = pp_notify_track_add(t, 3, 10, 2);
    pp_notify_record_t *r11 = pp_notify_track_add(t, 3, 11, 1);
    pp_notify_track_add(t, 3, 12, 0); /* routed nowhere */
    cr_assert_eq(pp_notify_track_committable(t, 3), -1);
    pp_notify_track_done(r11); /* a later one first: nothing moves */
    pp_notify_track_done(r10);
    cr_assert_eq(pp_notify_track_committable(t, 3), -1, "one destination of offset 10 has not acknowledged");
    pp_notify_track_done(r10);
    cr_assert_eq(pp_notify_track_committable(t, 3), 13);
    cr_assert_eq(pp_notify_track_committable(t, 3), -1, "unchanged since the last call");
    cr_assert_eq(pp_notify_track_inflight(t), 0);
    pp_notify_track_free(t);
}

Test(notify_track, dropped_partition_keeps_records_until_their_destinations_are_done)
{
    pp_notify_track_t *t = pp_notify_track_new();
    pp_notify_record_t *r = pp_notify_track_add(t, 0, 5, 1);
    pp_notify_track_add(t, 1, 7, 0);
    pp_notify_track_drop(t, 0);
    cr_assert_eq(pp_notify_track_committable(t, 0), -1);
    cr_assert_eq(pp_notify_track_inflight(t), 2);
    pp_notify_track_done(r); /* a destination thread finishing after the revoke */
    cr_assert_eq(pp_notify_track_inflight(t), 1);
    cr_assert_eq(pp_notify_track_committable(t, 1), 8);
    pp_notify_track_free(t);
}

/* ---- duplicates ---- */

Test(notify_seen, republished_transition_and_late_firing_are_duplicates)
{
    pp_notify_seen_t *s = pp_notify_seen_new(100);
    pp_notify_alert_t f = alert(PP_ST_FIRING, PP_SEV_WARNING), c = alert(PP_ST_FIRING, PP_SEV_CRITICAL),
                      r = alert(PP_ST_RESOLVED, PP_SEV_CRITICAL);
    cr_assert_not(pp_notify_seen_dup(s, &f));
    pp_notify_seen_add(s, &f);
    cr_assert(pp_notify_seen_dup(s, &f));
    cr_assert_not(pp_notify_seen_dup(s, &c), "the turn to CRITICAL is an update, not a duplicate");
    pp_notify_seen_add(s, &r);
    cr_assert(pp_notify_seen_dup(s, &c), "a FIRING after its RESOLVED is a late duplicate");
    pp_notify_seen_free(s);
}

Test(notify_seen, memory_is_bounded_and_forgets_the_oldest)
{
    pp_notify_seen_t *s = pp_notify_seen_new(4);
    char ids[10][33];
    pp_notify_alert_t a = alert(PP_ST_FIRING, PP_SEV_WARNING);
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "%032d", i);
        a.alert_id = ids[i];
        pp_notify_seen_add(s, &a);
    }
    a.alert_id = ids[9];
    cr_assert(pp_notify_seen_dup(s, &a));
    a.alert_id = ids[0];
    cr_assert_not(pp_notify_seen_dup(s, &a));
    pp_notify_seen_free(s);
}
