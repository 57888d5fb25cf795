/*
 * pp_notify_payload: see pp_notify_payload.h.
 */
#include "pp_notify_payload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

void pp_notify_iso8601(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        s -= 1;
        frac += 1000;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", day, frac);
}

void pp_notify_dashboard_link(const char *dashboard_url, const char *partner_id, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(dashboard_url), o = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    if (n == 0)
        return;
    while (n > 0 && dashboard_url[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%.*s/partner/", (int)n, dashboard_url);
    if (w < 0 || (size_t)w >= cap) {
        out[0] = '\0';
        return;
    }
    o = (size_t)w;
    for (const unsigned char *p = (const unsigned char *)partner_id; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (o + (plain ? 1 : 3) >= cap) {
            out[0] = '\0';
            return;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

int pp_notify_sign(const char *secret, const char *timestamp, const char *body, size_t body_len,
                   char out[PP_NOTIFY_SIG_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int rc = -EIO;
    EVP_MD_CTX *md = NULL;
    /* HMAC through EVP_DigestSign: streams the three parts without a copy */
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, (const unsigned char *)secret, strlen(secret));
    if (key == NULL)
        goto out;
    md = EVP_MD_CTX_new();
    size_t len = sizeof mac;
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSignUpdate(md, timestamp, strlen(timestamp)) != 1 || EVP_DigestSignUpdate(md, ".", 1) != 1 ||
        EVP_DigestSignUpdate(md, body, body_len) != 1 || EVP_DigestSignFinal(md, mac, &len) != 1 || len != 32)
        goto out;
    mac_len = (unsigned int)len;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < mac_len; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * mac_len] = '\0';
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return rc;
}

/* json_dumps with our flags; takes the reference to o. */
static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

static json_t *why_array(const pp_notify_alert_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < 3; i++)
        if (a->why[i][0])
            json_array_append_new(arr, json_string(a->why[i]));
    return arr;
}

/* Appends s to the growing buffer b (cap bytes, *len used), Slack-escaped
 * when esc. Cuts silently at cap (the text is for people). */
static void put(char *b, size_t cap, size_t *len, const char *s, bool esc)
{
    for (; *s && *len + 6 < cap; s++) {
        const char *rep = !esc ? NULL : *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (rep) {
            size_t n = strlen(rep);
            memcpy(b + *len, rep, n);
            *len += n;
        } else {
            b[(*len)++] = *s;
        }
    }
    b[*len] = '\0';
}

char *pp_notify_render_slack(const pp_notify_alert_t *a, const char *dashboard_url)
{
    char text[3072], num[160], link[1200], since[32];
    size_t n = 0;
    bool firing = a->status == PP_ST_FIRING;

    text[0] = '\0';
    put(text, sizeof text, &n, firing ? (a->severity == PP_SEV_CRITICAL ? ":red_circle: *FIRING*" : ":large_orange_circle: *FIRING*")
                                      : ":white_check_mark: *RESOLVED*", false);
    snprintf(num, sizeof num, " [%s] `", pp_notify_severity_name(a->severity));
    put(text, sizeof text, &n, num, false);
    put(text, sizeof text, &n, a->rule, true);
    put(text, sizeof text, &n, "` for *", false);
    put(text, sizeof text, &n, a->display_name[0] ? a->display_name : a->partner_id, true);
    put(text, sizeof text, &n, "*", false);
    if (a->display_name[0]) {
        put(text, sizeof text, &n, " (", false);
        put(text, sizeof text, &n, a->partner_id, true);
        put(text, sizeof text, &n, ")", false);
    }
    put(text, sizeof text, &n, "\n", false);
    put(text, sizeof text, &n, a->message, true);
    pp_notify_iso8601(a->started_at_ms, since, sizeof since);
    snprintf(num, sizeof num, "\nHealth %.1f · value %g (threshold %g) · since %.16s UTC", a->health, a->value,
             a->threshold, since);
    put(text, sizeof text, &n, num, false);
    if (a->partner_type[0] || a->tier[0]) {
        put(text, sizeof text, &n, " · ", false);
        put(text, sizeof text, &n, a->partner_type[0] ? a->partner_type : "-", true);
        put(text, sizeof text, &n, "/", false);
        put(text, sizeof text, &n, a->tier[0] ? a->tier : "-", true);
    }
    for (int i = 0; i < 3; i++)
        if (a->why[i][0]) {
            put(text, sizeof text, &n, i == 0 ? "\nWhy: " : "; ", false);
            put(text, sizeof text, &n, a->why[i], true);
        }
    pp_notify_dashboard_link(dashboard_url, a->partner_id, link, sizeof link);
    if (link[0]) {
        put(text, sizeof text, &n, "\n<", false);
        put(text, sizeof text, &n, link, false); /* percent-encoded: no & < > | left */
        put(text, sizeof text, &n, "|Open ", false);
        put(text, sizeof text, &n, a->partner_id, true);
        put(text, sizeof text, &n, " in the dashboard>", false);
    }
    /* the episode's id: what the logs and the other destinations key on */
    put(text, sizeof text, &n, "\nalert ", false);
    put(text, sizeof text, &n, a->alert_id, true);
    return dump(json_pack("{s:s}", "text", text));
}

char *pp_notify_render_webhook(const pp_notify_alert_t *a, const char *dashboard_url)
{
    char link[1200], started[32];
    pp_notify_dashboard_link(dashboard_url, a->partner_id, link, sizeof link);
    pp_notify_iso8601(a->started_at_ms, started, sizeof started);
    json_t *partner = json_pack("{s:s, s:s, s:s, s:o}", "type", a->partner_type, "tier", a->tier, "display_name",
                                a->display_name, "why", why_array(a));
    return dump(json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:s, s:I, s:I, s:I, s:s, s:f, s:s, s:s, "
                          "s:o, s:s}",
                          "version", 1, "alert_id", a->alert_id, "status", pp_notify_status_name(a->status),
                          "partner_id", a->partner_id, "rule", a->rule, "severity",
                          pp_notify_severity_name(a->severity), "message", a->message, "value", a->value,
                          "threshold", a->threshold, "started_at", started, "started_at_ms",
                          (json_int_t)a->started_at_ms, "event_time_ms", (json_int_t)a->event_time_ms,
                          "emitted_at_ms", (json_int_t)a->emitted_at_ms, "evidence", a->evidence, "health",
                          a->health, "config_version", a->config_version, "dashboard_url", link, "partner", partner,
                          "source", "partnerpulse"));
}

/* Copies at most max bytes of s into out without splitting a UTF-8 sequence. */
static void utf8_cut(const char *s, size_t max, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n > max)
        n = max;
    if (n >= cap)
        n = cap - 1;
    while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, s, n);
    out[n] = '\0';
}

char *pp_notify_render_pagerduty(const pp_notify_alert_t *a, const char *routing_key, const char *dashboard_url)
{
    char summary[PP_NOTIFY_PD_SUMMARY_MAX + 1], link[1200], started[32];
    if (a->status != PP_ST_FIRING)
        return dump(json_pack("{s:s, s:s, s:s}", "routing_key", routing_key, "event_action", "resolve",
                              "dedup_key", a->alert_id));
    utf8_cut(a->message[0] ? a->message : a->rule, PP_NOTIFY_PD_SUMMARY_MAX, summary, sizeof summary);
    pp_notify_iso8601(a->started_at_ms, started, sizeof started);
    pp_notify_dashboard_link(dashboard_url, a->partner_id, link, sizeof link);
    json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:o, s:s, s:s}", "partner_id", a->partner_id,
                                "display_name", a->display_name, "partner_type", a->partner_type, "tier", a->tier,
                                "health", a->health, "value", a->value, "threshold", a->threshold, "why",
                                why_array(a), "alert_id", a->alert_id, "evidence", a->evidence);
    json_t *payload = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "summary", summary, "source",
                                a->partner_id, "severity", pp_notify_severity_name(a->severity), "timestamp", started,
                                "component", a->partner_id, "class", a->rule, "custom_details", details);
    if (payload && a->partner_type[0])
        json_object_set_new(payload, "group", json_string(a->partner_type));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s}", "routing_key", routing_key, "event_action", "trigger",
                          "dedup_key", a->alert_id, "payload", payload, "client", "partnerpulse");
    if (o && link[0]) {
        json_object_set_new(o, "client_url", json_string(link));
        json_object_set_new(o, "links", json_pack("[{s:s, s:s}]", "href", link, "text", "Partner in the dashboard"));
    }
    return dump(o);
}

json_t *pp_notify_render_am_alert(const pp_notify_alert_t *a, const char *dashboard_url, int64_t now_ms)
{
    char link[1200], started[32], desc[1024];
    size_t n = 0;
    pp_notify_dashboard_link(dashboard_url, a->partner_id, link, sizeof link);
    pp_notify_iso8601(a->started_at_ms < now_ms ? a->started_at_ms : now_ms, started, sizeof started);
    n = (size_t)snprintf(desc, sizeof desc, "health %.1f; value %g (threshold %g)", a->health, a->value,
                         a->threshold);
    for (int i = 0; i < 3 && n < sizeof desc; i++)
        if (a->why[i][0])
            n += (size_t)snprintf(desc + n, sizeof desc - n, "%s%s", i == 0 ? "; why: " : "; ", a->why[i]);
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "alertname", a->rule, "partner", a->partner_id, "rule",
                               a->rule, "severity", pp_notify_severity_name(a->severity));
    /* Alertmanager treats an empty label as absent: leave unknown ones out */
    if (labels && a->partner_type[0])
        json_object_set_new(labels, "type", json_string(a->partner_type));
    if (labels && a->tier[0])
        json_object_set_new(labels, "tier", json_string(a->tier));
    json_t *ann = json_pack("{s:s, s:s, s:s}", "summary", a->message, "description", desc, "alert_id", a->alert_id);
    if (ann && link[0])
        json_object_set_new(ann, "dashboard", json_string(link));
    json_t *o = json_pack("{s:o, s:o, s:s}", "labels", labels, "annotations", ann, "startsAt", started);
    if (o && link[0])
        json_object_set_new(o, "generatorURL", json_string(link));
    return o;
}

bool pp_notify_am_same_labels(const json_t *x, const json_t *y)
{
    return json_equal(json_object_get(x, "labels"), json_object_get(y, "labels"));
}
