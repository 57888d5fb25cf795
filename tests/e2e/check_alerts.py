#!/usr/bin/env python3
"""Check the alerts partnerpulsed published for a `partnerpulse gen` stream.

usage: check_alerts.py ALERTS.jsonl [--same-as OTHER.jsonl]
                       [--events EVENTS.jsonl [--recent-days 30]
                        [--redis-port P --redis-prefix PFX]]

ALERTS.jsonl holds the Alert messages read back from the alert topic
(`partnerpulse alerts --json`). Checks:
  * per archetype (from the partner id suffix), the set of red-flag rules that
    fired is exactly the expected one (PRIMARY); the health rules (health_red,
    health_drop) are consequences the score may or may not reach and are
    allowed for every archetype but the healthy types, which must raise
    nothing but their PRIMARY rules (none, but multicur's low_acv_channel,
    which it must raise); a few archetypes may also raise a consequence the
    doctrine counts too (ALSO_ALLOWED). A partner that went red may lack
    expected rules: no child alert is published while health_red is open
    (inhibition, DESIGN §7), and a child that trips and clears inside a red
    episode is never published;
  * lifecycle: per alert_id one FIRING content and at most one RESOLVED
    content (re-publications are identical), never RESOLVED without FIRING,
    one rule and one partner per alert_id. The one exception is going_dark
    turning CRITICAL while it is open (DESIGN §6): one more FIRING of the
    same alert_id and start, CRITICAL, after the first;
  * with --same-as: both runs published the same (alert_id, status) set
    (replay is deterministic).
With --events (the gen stream that was replayed), also:
  * every partner of the stream is judged, including those that raised
    nothing (an archetype that stayed silent where it should not is caught);
  * archetypes in CRITICAL_BY_END end with that rule FIRING as CRITICAL and
    not resolved (silent: going_dark), unless health_red is open at the end
    (the escalation is inhibited); with --redis-port the rule must be in the
    partner's `flags` either way;
  * the healthy types raise nothing but their PRIMARY rules whose
    event_time_ms falls within the last --recent-days of the stream's event
    time (its latest occurred_at_ms);
  * with --redis-port: the healthy types hold exactly their PRIMARY flags
    open at the end (the `flags` field of pp:partner:{<id>}: empty, or
    low_acv_channel for multicur), every partner of the stream has a hash,
    and the hash shows the PROFILE fields (tokyo: its zone and calendar;
    multicur and tech4: their partner type).
Every alert on a healthy type is printed with its message (a false alarm as a
partner manager would read it).
"""
import argparse
import collections
import json
import os
import sys

PRIMARY = {
    "healthy": set(),
    "slow": {"slow_response", "unanswered_followups", "reply_overdue"},
    "dark": {"going_dark", "unanswered_followups", "reply_overdue"},
    "onesided": {"one_sided"},
    "overpromise": {"overpromise"},
    "nopipeline": {"no_pipeline_90d"},
    # conversations end on our reply (expects_reply false on our "thanks, done")
    "lastword": set(),
    # answers the next Tokyo business morning: short in its own business time
    "tokyo": set(),
    # no inbound at all for the last ~10 weeks while we keep asking and chasing
    "silent": {"going_dark", "unanswered_followups", "reply_overdue"},
    # answers 3 of 10 of our questions fast, never the rest, one nudge each:
    # the censored open waits push the median over 3 business days
    "ignorer": {"slow_response", "reply_overdue"},
    # referrals to us every week and sourced deals, no engagement at all
    "portal": set(),
    # a healthy reseller whose won deals are in KWD, JPY and EUR, each under
    # 20 000 USD once converted (about 29 000 read as USD minor units): the
    # conversion at ingest is what makes its average small (info)
    "multicur": {"low_acv_channel"},
    # a technology partner four months in, engaged both ways, no deals: not
    # judged on revenue or pipeline before day 180, no no_pipeline_90d
    "tech4": set(),
}
# archetypes that raise their PRIMARY rules and nothing else (health rules
# included); all but multicur raise nothing at all
HEALTHY_TYPES = {"healthy", "lastword", "tokyo", "portal", "multicur", "tech4"}
SECONDARY = {"health_red", "health_drop"}
# A healthy-type partner may show a passing health_drop: gen's deals are lost
# as well as won, and a partner whose open pipeline empties for days (both
# deals lost, the next registered a week later) has dropped for real; the
# rule waits health_drop_min_hours (72) before it trips. Never anything else,
# never in the last 30 days (--events), never open at the end (--redis-port).
HEALTHY_MAY = {"health_drop"}
# consequences of the archetype the doctrine counts too: a partner who goes
# dark while we keep contributing becomes one-sided (seed 000 section 6.4);
# so does a silent one, when the 90-day window keeps only the tail of its
# active weeks (its last requests of us count as our contributions). Their
# open questions, counted at their age in the response median, usually make
# them slow too (DESIGN section 4: ignoring messages never improves the score).
# An ignorer keeps more questions open than the engine tracks (PP_THREADS_MAX,
# 12): evicting a thread that awaits us turns our answer on it into a new
# question and our next question into a follow-up, so unanswered_followups
# can trip although no thread has more than one nudge (reported with the
# 11-archetype rotation, an ignorer of test_trust's stream).
# An overpromiser loses most of its deals: if its first deal qualifies only
# after day 90 (gen never loses a first deal once qualified), it misses the
# 90-day milestone, which only a qualified opportunity open or won at the
# deadline meets (seed 004 l.88, "in active sales pipeline"; seen with the
# 11-archetype rotation in test_alerts' stream, d1..d4 lost by day 78).
ALSO_ALLOWED = {
    "overpromise": {"no_pipeline_90d"},
    "dark": {"one_sided", "slow_response"},
    "silent": {"one_sided", "slow_response"},
    "ignorer": {"unanswered_followups"},
}
CRITICAL_BY_END = {"silent": {"going_dark"}}
# profile fields the partner hash must show at the end (the zone and calendar
# its business time is counted in)
PROFILE = {
    "tokyo": {"timezone": "Asia/Tokyo", "calendar": "business"},
    "multicur": {"partner_type": "RESELLER"},
    "tech4": {"partner_type": "TECHNOLOGY"},
}
DAY_MS = 86400000


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def arch_of(pid):
    return pid.split("-", 1)[1] if "-" in pid else ""


def read_events(path):
    """partner ids of the stream and its latest event time."""
    partners, end = set(), 0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            ev = json.loads(line)
            partners.add(ev["partner_id"])
            end = max(end, int(ev["occurred_at_ms"]))
    return partners, end


def check_lifecycle(alerts, errors):
    """per alert_id: one FIRING (plus one CRITICAL escalation of going_dark), at most one RESOLVED."""
    by_id = collections.OrderedDict()
    for x in alerts:
        v = by_id.setdefault(x["alert_id"], {"FIRING": [], "RESOLVED": set(), "rule": set(), "partner": set()})
        content = json.dumps({k: w for k, w in x.items() if k != "emitted_at_ms"}, sort_keys=True)
        if x["status"] == "FIRING":
            if content not in [c for c, _ in v["FIRING"]]:
                v["FIRING"].append((content, x))
        else:
            v["RESOLVED"].add(content)
        v["rule"].add(x["rule"])
        v["partner"].add(x["partner_id"])
    for aid, v in by_id.items():
        firing = [x for _, x in v["FIRING"]]
        escalation = (len(firing) == 2 and firing[0]["rule"] == "going_dark" and
                      firing[0]["severity"] != "CRITICAL" and firing[1]["severity"] == "CRITICAL" and
                      firing[0]["started_at_ms"] == firing[1]["started_at_ms"])
        if not firing:
            errors.append("alert %s RESOLVED without FIRING" % aid)
        elif len(firing) != 1 and not escalation:
            errors.append("alert %s has %d distinct FIRING messages (%s)" %
                          (aid, len(firing), ", ".join(x["severity"] for x in firing)))
        if len(v["RESOLVED"]) > 1:
            errors.append("alert %s has %d distinct RESOLVED messages" % (aid, len(v["RESOLVED"])))
        if len(v["rule"]) != 1 or len(v["partner"]) != 1:
            errors.append("alert %s spans several rules/partners" % aid)
    return by_id


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("alerts")
    ap.add_argument("--same-as")
    ap.add_argument("--events", help="the gen stream: judge every partner, check the end of the stream")
    ap.add_argument("--recent-days", type=float, default=30)
    ap.add_argument("--redis-port", type=int)
    ap.add_argument("--redis-prefix", default="pp:")
    a = ap.parse_args()
    alerts = load(a.alerts)
    errors = []
    by_id = check_lifecycle(alerts, errors)

    fired = collections.defaultdict(set)
    for x in alerts:
        if x["status"] == "FIRING":
            fired[x["partner_id"]].add(x["rule"])
    partners = set(fired)
    end = 0
    if a.events:
        stream, end = read_events(a.events)
        partners |= stream

    # health_red episodes: which partners went red, which are red at the end
    red_open = {}
    for x in alerts:
        if x["rule"] == "health_red":
            red_open[x["partner_id"]] = x["status"] == "FIRING"

    per_arch = collections.defaultdict(list)
    for p in sorted(partners):
        per_arch[arch_of(p)].append((p, fired.get(p, set())))
    inhibited = collections.Counter()
    for arch, expected in PRIMARY.items():
        for p, rules in per_arch.get(arch, []):
            primary = rules - SECONDARY - ALSO_ALLOWED.get(arch, set())
            if arch in HEALTHY_TYPES and (rules - HEALTHY_MAY - expected or expected - rules):
                errors.append("%s (%s) raised %s%s" % (p, arch, sorted(rules),
                                                     ", expected %s" % sorted(expected) if expected else ""))
            elif primary - expected or (expected - primary and p not in red_open):
                errors.append("%s (%s) raised %s, expected %s" % (p, arch, sorted(primary), sorted(expected)))
            elif expected - primary:
                inhibited[arch] += 1  # went red first: the missing ones were inhibited

    # false alarms as a partner manager reads them
    def unexpected(x):  # an alert a healthy type should not have raised
        arch = arch_of(x["partner_id"])
        return arch in HEALTHY_TYPES and x["rule"] not in PRIMARY[arch]

    for x in alerts:
        if unexpected(x) and x["status"] == "FIRING":
            print("  healthy-type alert: %s %s %s %s: %s" % (x["partner_id"], x["rule"], x["severity"],
                                                              x["status"], x["message"]))
        elif arch_of(x["partner_id"]) in HEALTHY_TYPES and x["status"] == "FIRING":
            print("  expected: %s %s %s value %s: %s" % (x["partner_id"], x["rule"], x["severity"],
                                                         x.get("value"), x["message"]))

    if a.events:
        # the last state of each episode: open ones end FIRING
        last = {}
        for x in alerts:
            last[x["alert_id"]] = x
        for arch, rules in CRITICAL_BY_END.items():
            for p, _ in per_arch.get(arch, []):
                for r in rules:
                    ok = any(x["partner_id"] == p and x["rule"] == r and x["status"] == "FIRING" and
                             x["severity"] == "CRITICAL" for x in last.values())
                    if not ok and not red_open.get(p):
                        errors.append("%s (%s): %s is not open as CRITICAL at the end" % (p, arch, r))
        since = end - int(a.recent_days * DAY_MS)
        for x in alerts:
            if unexpected(x) and int(x["event_time_ms"]) >= since:
                errors.append("%s (%s) %s %s at %d, in the last %g days of the stream: %s" %
                              (x["partner_id"], arch_of(x["partner_id"]), x["rule"], x["status"],
                               int(x["event_time_ms"]), a.recent_days, x["message"]))
        if a.redis_port:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from ppredis import Redis
            r = Redis(port=a.redis_port)
            for p in sorted(partners):
                h = r.hgetall("%spartner:{%s}" % (a.redis_prefix, p))
                if not h:
                    errors.append("%s: no partner hash in Redis" % p)
                    continue
                flags = set(filter(None, h.get("flags", "").split(",")))
                for rule in CRITICAL_BY_END.get(arch_of(p), ()):
                    if rule not in flags:
                        errors.append("%s (%s): %s is not open at the end (flags %r)" % (p, arch_of(p), rule, h.get("flags")))
                if arch_of(p) in HEALTHY_TYPES and flags != PRIMARY[arch_of(p)]:
                    errors.append("%s (%s) holds flags open at the end: %r, expected %r" %
                                  (p, arch_of(p), h.get("flags"), ",".join(sorted(PRIMARY[arch_of(p)]))))
                for field, want in PROFILE.get(arch_of(p), {}).items():
                    if h.get(field) != want:
                        errors.append("%s (%s): %s is %r, expected %r" % (p, arch_of(p), field, h.get(field), want))
            r.close()

    summary = collections.defaultdict(collections.Counter)
    for arch, lst in per_arch.items():
        for p, rules in lst:
            summary[arch]["partners"] += 1
            for rule in rules:
                summary[arch][rule] += 1
    if a.same_as:
        other = load(a.same_as)
        s1 = {(x["alert_id"], x["status"]) for x in alerts}
        s2 = {(x["alert_id"], x["status"]) for x in other}
        if s1 != s2:
            errors.append("runs differ: %d only in first, %d only in second" % (len(s1 - s2), len(s2 - s1)))
    print("alerts: %d messages, %d episodes, %d partners with alerts" % (len(alerts), len(by_id), len(fired)))
    for arch in PRIMARY:
        print("  %-12s %s%s" % (arch, dict(summary.get(arch, {})) or "-",
                                " (%d red first: rules inhibited)" % inhibited[arch] if inhibited[arch] else ""))
    for e in errors[:40]:
        print("ERROR " + e)
    if len(errors) > 40:
        print("ERROR ... and %d more" % (len(errors) - 40))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
