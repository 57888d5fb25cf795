#!/usr/bin/env python3
"""Check that a `partnerpulse gen` stream keeps the promises the alert oracle
relies on for the archetypes that prove a rule by their data (docs/gen.md).

usage: check_gen.py EVENTS.jsonl --config INI

INI is a config with the [currency] section the daemon converts with (as
expected_totals.py reads it). Checks, per partner:
  * multicur: a RESELLER; at least 3 deals WON in the last 90 days of the
    stream; every won deal, converted, under 20 000 (major units of the
    reporting currency), so its average is; read naively (amount_minor summed
    as given, / 100) the average of its won deals is over 20 000 at every
    moment it has 3 or more (the moments low_acv_channel is judged): only the
    conversion makes it low; its won revenue in the last 90 days and its open
    pipeline at the end put it in the upper bands (>= 50 000 and >= 100 000);
    its deals use at least JPY, KWD and EUR.
  * tech4: a TECHNOLOGY partner with no deal events at all, signed 180 days
    or less before the end of the stream (not judged on revenue or pipeline).
Exit 0 when every check holds; prints one line per partner checked.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expected_totals import Money  # noqa: E402

DAY_MS = 86400000
LOW_ACV = 20000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    money = Money.from_ini(a.config)
    per = 10 ** 2  # minor units per major unit of the reporting currency (USD)
    by = collections.defaultdict(list)
    end = 0
    with open(a.events) as f:
        for line in f:
            if line.strip():
                ev = json.loads(line)
                by[ev["partner_id"]].append(ev)
                end = max(end, int(ev["occurred_at_ms"]))
    errors, checked = [], collections.Counter()
    for pid, evs in sorted(by.items()):
        arch = pid.split("-", 1)[1] if "-" in pid else ""
        signed = [e for e in evs if e["type"] == "partner" and e["kind"] == "SIGNED"]
        ptype = signed[-1].get("partner_type") if signed else None
        if arch == "multicur":
            checked[arch] += 1
            latest, wins, naive_sum, currencies = {}, [], 0, set()
            for e in evs:
                if e["type"] != "deal":
                    continue
                currencies.add(e.get("currency", ""))
                d = latest.get(e["deal_id"])
                if d and d["stage"] in ("WON", "LOST"):
                    continue
                latest[e["deal_id"]] = e
                if e["stage"] == "WON":
                    usd = money.convert(int(e["amount_minor"]), e.get("currency", "")) / per
                    naive_sum += int(e["amount_minor"]) / 100
                    wins.append((int(e["occurred_at_ms"]), usd))
                    if len(wins) >= 3 and naive_sum / len(wins) <= LOW_ACV:
                        errors.append("%s: naive average of its %d won deals is %.0f, not over %d: "
                                      "it would be low without conversion" %
                                      (pid, len(wins), naive_sum / len(wins), LOW_ACV))
            recent = [u for t, u in wins if t > end - 90 * DAY_MS]
            pipeline = sum(money.convert(int(e["amount_minor"]), e.get("currency", "")) / per
                           for e in latest.values() if e["stage"] in ("REGISTERED", "QUALIFIED", "PROPOSAL"))
            big = [u for _, u in wins if u >= LOW_ACV]
            if ptype != "RESELLER":
                errors.append("%s: partner type %s, not RESELLER" % (pid, ptype))
            if len(recent) < 3:
                errors.append("%s: %d deals won in the last 90 days, fewer than 3" % (pid, len(recent)))
            if big:
                errors.append("%s: %d won deals of %d or more once converted" % (pid, len(big), LOW_ACV))
            if sum(recent) < 50000 or pipeline < 100000:
                errors.append("%s: won %.0f in 90 days, %.0f open pipeline: not a green reseller" %
                              (pid, sum(recent), pipeline))
            if not {"JPY", "KWD", "EUR"} <= currencies:
                errors.append("%s: deals only in %s" % (pid, sorted(currencies)))
            print("%s: %d won (%d in the last 90 days, %.0f), average %.0f converted, %.0f naive; "
                  "open pipeline %.0f; currencies %s" %
                  (pid, len(wins), len(recent), sum(recent), sum(u for _, u in wins) / max(len(wins), 1),
                   naive_sum / max(len(wins), 1), pipeline, ",".join(sorted(currencies))))
        elif arch == "tech4":
            checked[arch] += 1
            deals = sum(1 for e in evs if e["type"] == "deal")
            age = (end - int(signed[0]["occurred_at_ms"])) / DAY_MS if signed else -1
            if ptype != "TECHNOLOGY":
                errors.append("%s: partner type %s, not TECHNOLOGY" % (pid, ptype))
            if deals:
                errors.append("%s: %d deal events, expected none" % (pid, deals))
            if not 0 <= age < 180:
                errors.append("%s: signed %.1f days before the end, not under 180" % (pid, age))
            print("%s: signed %.1f days before the end, %d events, no deals" % (pid, age, len(evs)))
    for e in errors:
        print("ERROR " + e)
    print("checked %s" % dict(checked))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
