/*
 * pp_notify_payload: the bodies `partnerpulse notify` posts, one renderer
 * per destination type, and the webhook signature (docs/notify.md). Pure:
 * no I/O, no clock (times come in), no logging.
 *
 * Renderers return a new NUL-terminated JSON string the caller frees with
 * free(), or NULL when out of memory. dashboard_url is the [notify]
 * dashboard_url ("" = no link).
 */
#ifndef PP_NOTIFY_PAYLOAD_H
#define PP_NOTIFY_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pp_notify_alert.h"

#define PP_NOTIFY_SIG_LEN 72   /* "sha256=" + 64 hex + NUL */
#define PP_NOTIFY_PD_SUMMARY_MAX 1024 /* PagerDuty's limit on payload.summary */

/* Slack incoming webhook: {"text": "..."} in Slack's mrkdwn, escaped. */
char *pp_notify_render_slack(const pp_notify_alert_t *a, const char *dashboard_url);

/* Generic webhook: every Alert field by its docs/alerts.md name plus
 * "partner" (type, tier, display_name, why) and "dashboard_url". */
char *pp_notify_render_webhook(const pp_notify_alert_t *a, const char *dashboard_url);

/* PagerDuty Events API v2: trigger (FIRING) or resolve (RESOLVED),
 * dedup_key = alert_id. */
char *pp_notify_render_pagerduty(const pp_notify_alert_t *a, const char *routing_key, const char *dashboard_url);

/*
 * One Alertmanager v2 alert object without endsAt (the sender sets it when it
 * posts): labels alertname, partner, rule, severity, and type and tier when
 * known; annotations summary, description, alert_id (and dashboard);
 * startsAt; generatorURL when dashboard_url is set. now_ms caps startsAt (a
 * clock ahead of ours would make Alertmanager refuse it). New reference, or
 * NULL when out of memory.
 */
json_t *pp_notify_render_am_alert(const pp_notify_alert_t *a, const char *dashboard_url, int64_t now_ms);

/* Whether two Alertmanager alert objects carry the same label set (the
 * identity of an alert in Alertmanager). */
bool pp_notify_am_same_labels(const json_t *x, const json_t *y);

/*
 * The webhook signature: "sha256=" + lowercase hex of
 * HMAC-SHA256(secret, timestamp + "." + body), into out (OUT,
 * PP_NOTIFY_SIG_LEN bytes). Returns 0, or -EIO if libcrypto fails.
 */
int pp_notify_sign(const char *secret, const char *timestamp, const char *body, size_t body_len,
                   char out[PP_NOTIFY_SIG_LEN]);

/* Unix ms -> "2026-05-01T09:00:00.000Z" (out: at least 32 bytes). */
void pp_notify_iso8601(int64_t ms, char *out, size_t cap);

/* "<dashboard_url>/partner/<percent-encoded id>" into out; "" if
 * dashboard_url is "" (or out is too small). */
void pp_notify_dashboard_link(const char *dashboard_url, const char *partner_id, char *out, size_t cap);

#endif
