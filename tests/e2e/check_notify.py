#!/usr/bin/env python3
"""Check what `partnerpulse notify` delivered (test_notify.sh).

usage:
  check_notify.py receivers ALERTS.jsonl RECORD.jsonl --redis-port P --redis-prefix PFX
                  --dashboard URL --routing-key KEY [--quiet]
  check_notify.py alertmanager ALERTS.jsonl AM_BASE_URL --redis-port P --redis-prefix PFX [--quiet]

ALERTS.jsonl: the transitions on the alert topic (`partnerpulse alerts --json`).

receivers: every transition arrived at each receiver path it is routed to,
counted as distinct (alert_id, status) (duplicates are what at-least-once
allows, and are reported), nothing arrived that is not routed there, every
webhook signature verified, and the payloads say what the alert says:
  /slack            every transition: text with the partner, rule, sentence,
                    health and the dashboard link
  /hook/all         every transition: the Alert's fields, lowercase enums
  /hook/resellers   only partners whose Redis partner_type is RESELLER
  /pd/v2/enqueue    only CRITICAL transitions: trigger/resolve, dedup_key =
                    alert_id, the routing key
alertmanager: the alerts Alertmanager holds active from us are exactly the
episodes still open on the topic (no RESOLVED), with labels alertname, partner,
rule, severity (of the latest FIRING), type and tier (from Redis); no resolved
episode is active.
Exit 0 when all holds; 1 otherwise (what is missing is printed unless --quiet).
"""
import argparse
import collections
import json
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ppredis import Redis  # noqa: E402


def load_alerts(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def partners(alerts, port, prefix):
    r = Redis(port=port)
    info = {}
    for pid in {a["partner_id"] for a in alerts}:
        info[pid] = r.hgetall("%spartner:{%s}" % (prefix, pid))
    r.close()
    return info


def key(a):
    return (a["alert_id"], a["status"].lower())


def check_receivers(args, alerts, problems):
    info = partners(alerts, args.redis_port, args.redis_prefix)
    recs = collections.defaultdict(list)
    with open(args.record) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                path = r["path"].split("?")[0]
                recs["/slack" if path.startswith("/slack/") else path].append(r)
    bad = [r for rs in recs.values() for r in rs if r.get("bad_signature")]
    if bad:
        problems.append("%d webhook deliveries with a bad signature" % len(bad))
    by_key, versions = {}, collections.defaultdict(list)
    for a in alerts:
        by_key[key(a)] = a  # the latest version of a transition (going_dark's CRITICAL)
        versions[key(a)].append(a)
    want = {
        "/slack": set(by_key),
        "/hook/all": set(by_key),
        "/hook/resellers": {k for k, a in by_key.items() if info[a["partner_id"]].get("partner_type") == "RESELLER"},
        "/pd/v2/enqueue": {key(a) for a in alerts if a.get("severity") == "CRITICAL"},
    }
    if not want["/hook/resellers"] or not want["/pd/v2/enqueue"]:
        problems.append("the stream raised no RESELLER or no CRITICAL transition: the routing is not tested")
    summary = []
    for path, keys in want.items():
        got_list = []
        for r in recs.get(path, []):
            b = r["body"]
            if path.startswith("/slack"):
                t = b["text"]
                m = re.search(r"\nalert ([0-9a-f]{32})$", t)
                k = (m.group(1), "resolved" if t.startswith(":white_check_mark: *RESOLVED*") else "firing") if m else None
                a = by_key.get(k)
                if a is None:
                    problems.append("%s: a message matching no alert: %r" % (path, t[:300]))
                    continue
                esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                if not any(esc(v["message"]) in t for v in versions[k]) or "`%s`" % a["rule"] not in t or \
                        "Health " not in t or "<%s/partner/%s|" % (args.dashboard, a["partner_id"]) not in t:
                    problems.append("%s: message without the sentence, rule, health or link: %r" % (path, t[:400]))
            elif path.startswith("/hook"):
                k = (b["alert_id"], b["status"])
                a = by_key.get(k)
                if a and (b["partner_id"] != a["partner_id"] or b["rule"] != a["rule"] or
                          b["message"] not in [v["message"] for v in versions[k]] or r.get("alert_id_header") != b["alert_id"] or
                          b["dashboard_url"] != "%s/partner/%s" % (args.dashboard, a["partner_id"]) or
                          b["partner"]["type"] != info[a["partner_id"]].get("partner_type", "")):
                    problems.append("%s: body differs from the alert: %r" % (path, b))
            else:
                act = b["event_action"]
                k = (b["dedup_key"], "firing" if act == "trigger" else "resolved")
                if b["routing_key"] != args.routing_key:
                    problems.append("%s: wrong routing_key" % path)
                if act == "trigger" and (b["payload"]["severity"] != "critical" or
                                         b["payload"]["component"] not in info):
                    problems.append("%s: trigger payload wrong: %r" % (path, b))
            got_list.append(k)
        got = set(got_list)
        missing, extra = keys - got, got - keys
        if missing:
            problems.append("%s: %d of %d transitions missing, e.g. %s" % (path, len(missing), len(keys),
                                                                          sorted(missing)[:3]))
        if extra:
            problems.append("%s: %d deliveries not routed there, e.g. %s" % (path, len(extra), sorted(extra)[:3]))
        summary.append("%s %d/%d distinct, %d deliveries (%d duplicates)" % (
            path.split("/")[1] + ("" if not path.startswith("/hook") else "/" + path.split("/")[2]),
            len(got & keys), len(keys), len(got_list), len(got_list) - len(got)))
    return "; ".join(summary)


def check_alertmanager(args, alerts, problems):
    info = partners(alerts, args.redis_port, args.redis_prefix)
    resolved = {a["alert_id"] for a in alerts if a["status"] == "RESOLVED"}
    last_firing = {}
    for a in alerts:
        if a["status"] == "FIRING":
            last_firing[a["alert_id"]] = a
    open_ = {i: a for i, a in last_firing.items() if i not in resolved}
    with urllib.request.urlopen(args.am_url.rstrip("/") + "/api/v2/alerts", timeout=10) as resp:
        am = json.load(resp)
    ours = [x for x in am if x.get("annotations", {}).get("alert_id")]
    ids = collections.Counter(x["annotations"]["alert_id"] for x in ours)
    if set(ids) != set(open_):
        problems.append("alertmanager: active %d, open on the topic %d; missing %s, not open %s" % (
            len(ids), len(open_), sorted(set(open_) - set(ids))[:3], sorted(set(ids) - set(open_))[:3]))
    for i, n in ids.items():
        if n > 1:
            problems.append("alertmanager: %d active label sets for one episode %s" % (n, i))
    for x in ours:
        a = open_.get(x["annotations"]["alert_id"])
        if a is None:
            continue
        p = info[a["partner_id"]]
        want = {"alertname": a["rule"], "partner": a["partner_id"], "rule": a["rule"],
                "severity": a["severity"].lower()}
        if p.get("partner_type"):
            want["type"] = p["partner_type"]
        if p.get("tier"):
            want["tier"] = p["tier"]
        if x["labels"] != want:
            problems.append("alertmanager: labels %r, want %r" % (x["labels"], want))
        if x["annotations"].get("summary") != a["message"]:
            problems.append("alertmanager: summary %r, want %r" % (x["annotations"].get("summary"), a["message"]))
    return "alertmanager: %d active from us = %d open episodes; %d resolved episodes absent" % (
        len(ids), len(open_), len(resolved))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["receivers", "alertmanager"])
    ap.add_argument("alerts")
    ap.add_argument("target")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--redis-prefix", required=True)
    ap.add_argument("--dashboard", default="")
    ap.add_argument("--routing-key", default="")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    alerts = load_alerts(args.alerts)
    problems = []
    if args.mode == "receivers":
        args.record = args.target
        if not os.path.exists(args.record):
            open(args.record, "a").close()
        summary = check_receivers(args, alerts, problems)
    else:
        args.am_url = args.target
        summary = check_alertmanager(args, alerts, problems)
    if problems:
        if not args.quiet:
            print("\n".join(problems[:20]))
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
