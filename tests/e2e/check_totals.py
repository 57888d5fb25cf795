#!/usr/bin/env python3
"""Compare the partner totals in Redis with totals computed independently
from the JSON-lines input (expected_totals.py).

usage: check_totals.py EXPECTED.json --port P [--prefix pp:] [--wait SECONDS]
With --wait, polls (bounded) until the sum of events_applied reaches the
expected sum before comparing. Exit 0 when every partner and field match."""
import argparse
import json
import sys
import time

from ppredis import Redis


def read_all(r, prefix, expected):
    got = {}
    for pid in expected:
        got[pid] = r.hgetall("%spartner:{%s}" % (prefix, pid))
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("expected")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="pp:")
    ap.add_argument("--wait", type=float, default=0)
    a = ap.parse_args()
    expected = json.load(open(a.expected))
    want_total = sum(v["events_applied"] for v in expected.values())
    r = Redis(port=a.port)
    deadline = time.time() + a.wait
    while True:
        got = read_all(r, a.prefix, expected)
        total = sum(int(h.get("events_applied", 0)) for h in got.values())
        if total >= want_total or time.time() >= deadline:
            break
        time.sleep(0.2)
    bad = 0
    for pid, fields in sorted(expected.items()):
        h = got[pid]
        for f, v in sorted(fields.items()):
            if str(h.get(f)) != str(v):
                bad += 1
                if bad <= 20:
                    print("MISMATCH %s %s: redis=%s expected=%s" % (pid, f, h.get(f), v))
    nfields = sum(len(f) for f in expected.values())
    print("checked %d partners, %d fields, events_applied total redis=%d expected=%d: %s"
          % (len(expected), nfields, total, want_total, "OK" if bad == 0 else "%d mismatches" % bad))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
