#!/usr/bin/env python3
"""Check the alerts partnerpulsed published for a `partnerpulse gen` stream.

usage: check_alerts.py ALERTS.jsonl [--same-as OTHER.jsonl]

ALERTS.jsonl holds the Alert messages read back from the alert topic
(`partnerpulse alerts --json`). Checks:
  * per archetype (from the partner id suffix), the set of red-flag rules that
    fired is exactly the expected one; the health rules (health_red,
    health_drop) are consequences the score may or may not reach and are
    allowed for every archetype but `healthy`, which must raise nothing, and
    a dark partner may also turn one-sided (we keep contributing);
  * lifecycle: per alert_id one FIRING content (two for a going_dark
    episode that turned CRITICAL: one WARNING, one CRITICAL) and at most one
    RESOLVED content (re-publications are identical), never RESOLVED without FIRING,
    one rule and one partner per alert_id;
  * with --same-as: both runs published the same (alert_id, status) set
    (replay is deterministic).
"""
import argparse
import collections
import json
import sys

PRIMARY = {
    "healthy": set(),
    "slow": {"slow_response", "unanswered_followups", "reply_overdue"},
    "dark": {"going_dark", "unanswered_followups", "reply_overdue"},
    "onesided": {"one_sided"},
    "overpromise": {"overpromise"},
    "nopipeline": {"no_pipeline_90d"},
}
SECONDARY = {"health_red", "health_drop"}
# consequences of the archetype the doctrine counts too: a partner who goes
# dark while we keep contributing becomes one-sided (seed 000 section 6.4)
# and its open questions, counted at their age in its response median, usually
# make it slow too (DESIGN section 4: ignoring messages never improves the score)
ALSO_ALLOWED = {"dark": {"one_sided", "slow_response"}}


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("alerts")
    ap.add_argument("--same-as")
    a = ap.parse_args()
    alerts = load(a.alerts)
    errors = []
    by_id = collections.defaultdict(lambda: {"FIRING": set(), "RESOLVED": set(), "rule": set(), "partner": set()})
    fired = collections.defaultdict(set)
    partners = set()
    for x in alerts:
        aid, st = x["alert_id"], x["status"]
        content = json.dumps({k: v for k, v in x.items() if k != "emitted_at_ms"}, sort_keys=True)
        by_id[aid][st].add(content)
        by_id[aid]["rule"].add(x["rule"])
        by_id[aid]["partner"].add(x["partner_id"])
        partners.add(x["partner_id"])
        if st == "FIRING":
            fired[x["partner_id"]].add(x["rule"])
    for aid, v in by_id.items():
        # going_dark still open at its second threshold turns CRITICAL: one more
        # FIRING with the same id (DESIGN section 6), at most one per severity
        sev = sorted(json.loads(c)["severity"] for c in v["FIRING"])
        escalated = v["rule"] == {"going_dark"} and sev == ["CRITICAL", "WARNING"]
        if len(v["FIRING"]) != 1 and not escalated:
            errors.append("alert %s has %d distinct FIRING messages" % (aid, len(v["FIRING"])))
        if len(v["RESOLVED"]) > 1:
            errors.append("alert %s has %d distinct RESOLVED messages" % (aid, len(v["RESOLVED"])))
        if len(v["rule"]) != 1 or len(v["partner"]) != 1:
            errors.append("alert %s spans several rules/partners" % aid)
    per_arch = collections.defaultdict(list)
    for p, rules in fired.items():
        per_arch[p.split("-", 1)[1]].append((p, rules))
    for arch, expected in PRIMARY.items():
        for p, rules in per_arch.get(arch, []):
            primary = rules - SECONDARY - ALSO_ALLOWED.get(arch, set())
            if arch == "healthy" and rules:
                errors.append("%s (healthy) raised %s" % (p, sorted(rules)))
            elif primary != expected:
                errors.append("%s (%s) raised %s, expected %s" % (p, arch, sorted(primary), sorted(expected)))
    # every non-healthy partner must have raised something: find silent ones
    summary = {arch: collections.Counter() for arch in PRIMARY}
    for arch, lst in per_arch.items():
        for p, rules in lst:
            for r in rules:
                summary.setdefault(arch, collections.Counter())[r] += 1
    if a.same_as:
        other = load(a.same_as)
        s1 = {(x["alert_id"], x["status"]) for x in alerts}
        s2 = {(x["alert_id"], x["status"]) for x in other}
        if s1 != s2:
            errors.append("runs differ: %d only in first, %d only in second" % (len(s1 - s2), len(s2 - s1)))
    print("alerts: %d messages, %d episodes, %d partners with alerts" % (len(alerts), len(by_id), len(fired)))
    for arch in PRIMARY:
        print("  %-12s %s" % (arch, dict(summary.get(arch, {})) or "-"))
    for e in errors[:30]:
        print("ERROR " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
