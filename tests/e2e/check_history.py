#!/usr/bin/env python3
"""Check "history pages no one" (DESIGN §7) on a live and a replay run of the
same backlog.

usage: check_history.py --events FILE --partitions N --max-age-ms MS --port P
                        --run NAME REDIS_PREFIX BEFORE.jsonl AFTER.jsonl [--run ...]
                        [--killed NAME]

For each run, REDIS_PREFIX is the daemon's key prefix (its `alerts` stream
is read), BEFORE.jsonl the messages read back from its alert topic
(`partnerpulse alerts --json`) once it had caught up, AFTER.jsonl the same
after a restart. The last run is the reference (the replay). A run named
with --killed was killed with SIGKILL while catching up: its outbox may
have republished a message (at least once), byte for byte. Checks:

  (a) per partner, the transitions recorded on the stream (alert_id, status,
      event_time_ms), in order, are the same in every run up to the end of
      the backlog of the partner's partition (its last event time, the
      replay's final watermark). Beyond it only the live run may have
      transitions: its timers moved on with the wall clock once caught up.
  (b) what each run published follows the rules, replayed here from its
      stream: a FIRING is held back (published = 0) when its event time is
      more than max-age behind its emitted_at_ms, inhibited while the
      partner's health_red is open, else published; a held-back episode
      still open when its partition caught up is published once more
      (release) and nothing of it later than the backlog precedes that
      release; a RESOLVED is published exactly when its episode's FIRING
      was; no held-back episode is left unreleased. The alert topic holds
      exactly the (alert_id, status) the stream marks published.
  (c) nothing published before the restart is published again after it, and
      nothing twice (a --killed run: only identical copies before the restart).

The partition of a partner is the Kafka default partitioner's
(CRC-32 of the key modulo N); it is checked against the daemons' deadline
indexes (pp:deadlines:<p>), which hold each partner under its partition.
"""
import argparse
import collections
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ppredis import Redis  # noqa: E402


def partition_of(pid, n):
    return zlib.crc32(pid.encode()) % n


def read_stream(r, prefix):
    """The prefix's pp:alerts entries in order, as dicts."""
    out, start = [], "-"
    while True:
        page = r.cmd("XRANGE", prefix + "alerts", start, "+", "COUNT", 5000)
        for eid, kv in page:
            d = {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}
            out.append(d)
        if len(page) < 5000:
            return out
        last = page[-1][0].decode()
        ms, seq = last.split("-")
        start = "%s-%d" % (ms, int(seq) + 1)


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def judge(records, max_age, horizon, errors, name):
    """Replay the publication rules over one run's stream. Returns counters
    and the set of (alert_id, status) that must be on the topic."""
    count = collections.Counter()
    expected = set()
    by_partner = collections.defaultdict(list)
    for x in records:
        by_partner[x["partner_id"]].append(x)
    for pid, recs in by_partner.items():
        red_open = False
        state = {}
        released_at = None  # event time of this partner's latest release
        for x in recs:
            aid, status, rule = x["alert_id"], x["status"], x["rule"]
            pub = x["published"] == "1"
            at = int(x["event_time_ms"])
            age = int(x["emitted_at_ms"]) - at
            old = max_age > 0 and age > max_age
            prev = state.get(aid)
            if status == "FIRING":
                if prev is None and rule != "health_red" and red_open:
                    want, new = False, "inhibited"
                elif prev in (None, "inhibited"):  # new, or the core publishing an inhibited one
                    want, new = (False, "held") if old else (True, "published")
                elif prev == "held" and not pub and rule == "going_dark":
                    # an update of the held episode (turned CRITICAL): its
                    # copy replaces the stored one, released later as one
                    want, new = False, "held"
                    count["held update"] += 1
                elif prev == "held":
                    want, new = True, "released"
                    count["released"] += 1
                    released_at = at
                elif prev in ("published", "released") and rule == "going_dark":
                    # an update of an episode consumers know (turned CRITICAL):
                    # published when recent, recorded only when history
                    want, new = not old, prev
                    count["update"] += 1
                else:
                    errors.append("%s: %s FIRING %s again after %s" % (name, pid, aid, prev))
                    continue
            else:
                if prev is None or prev.startswith("closed"):
                    errors.append("%s: %s RESOLVED %s without an open FIRING" % (name, pid, aid))
                    continue
                want, new = prev in ("published", "released"), "closed:" + prev
                count["closed while " + prev] += 1
            if released_at is not None and new != "released" and at <= horizon[pid]:
                errors.append("%s: %s has a transition of the backlog (%s %s at %d) after a release"
                              % (name, pid, status, aid, at))
            if pub != want:
                errors.append("%s: %s %s %s (%s, age %.1f h) published=%d, expected %d"
                              % (name, pid, status, aid, rule, age / 3.6e6, pub, want))
            if pub:
                expected.add((aid, status))
                if status == "FIRING" and new == "published":
                    count["published FIRING"] += 1
            if new == "held":
                count["held FIRING"] += 1
            state[aid] = new
            if rule == "health_red":
                red_open = status == "FIRING"
        for aid, st in state.items():
            if st == "held":
                errors.append("%s: %s episode %s held back, still open, never released" % (name, pid, aid))
    return count, expected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True)
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--max-age-ms", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--run", action="append", nargs=4, required=True, metavar=("NAME", "PREFIX", "BEFORE", "AFTER"))
    ap.add_argument("--killed", action="append", default=[])
    a = ap.parse_args()
    errors = []

    # the end of the backlog of each partition, and each partner's partition
    last = collections.defaultdict(int)
    partners = set()
    with open(a.events) as f:
        for line in f:
            e = json.loads(line)
            p = partition_of(e["partner_id"], a.partitions)
            last[p] = max(last[p], int(e["occurred_at_ms"]))
            partners.add(e["partner_id"])
    horizon = {pid: last[partition_of(pid, a.partitions)] for pid in partners}

    r = Redis(port=a.port)
    runs = []
    for name, prefix, before_path, path in a.run:
        checked = 0
        for p in range(a.partitions):
            for m in r.cmd("ZRANGE", prefix + "deadlines:%d" % p, 0, -1):
                pid = m.decode()
                checked += 1
                if pid in partners and partition_of(pid, a.partitions) != p:
                    errors.append("%s: %s is in partition %d, not %d: the CRC-32 partitioner assumption is wrong"
                                  % (name, pid, p, partition_of(pid, a.partitions)))
        if checked == 0:
            errors.append("%s: no deadline index found under %s" % (name, prefix))
        runs.append((name, read_stream(r, prefix), load_jsonl(path), load_jsonl(before_path)))

    # (a) the same transitions, per partner, up to the end of its partition's backlog
    def seq(records, within):
        out = collections.defaultdict(list)
        for x in records:
            at = int(x["event_time_ms"])
            if (at <= horizon[x["partner_id"]]) == within:
                out[x["partner_id"]].append((x["alert_id"], x["status"], at))
        return out

    base_name, base_recs = runs[-1][0], runs[-1][1]
    base = seq(base_recs, True)
    for name, recs, _, _ in runs[:-1]:
        mine = seq(recs, True)
        for pid in sorted(set(base) | set(mine)):
            if base.get(pid, []) != mine.get(pid, []):
                b, m = base.get(pid, []), mine.get(pid, [])
                k = next((i for i in range(min(len(b), len(m))) if b[i] != m[i]), min(len(b), len(m)))
                errors.append("(a) %s and %s differ for %s at transition %d: %s vs %s"
                              % (base_name, name, pid, k, b[k:k + 1], m[k:k + 1]))
        later = sum(len(v) for v in seq(recs, False).values())
        print("%s: %d transitions after the end of the backlog (wall clock)" % (name, later))
    later = sum(len(v) for v in seq(base_recs, False).values())
    if later:
        errors.append("(a) %s has %d transitions after the end of the backlog" % (base_name, later))

    # (b) and (c)
    def key(x):
        return (x["alert_id"], x["status"])

    for name, recs, topic, before in runs:
        count, expected = judge(recs, a.max_age_ms, horizon, errors, name)
        on_topic = collections.Counter(key(x) for x in topic)
        got = set(on_topic)
        # (c): the messages after the restart are those beyond the ones before it
        ahead = collections.Counter(json.dumps(x, sort_keys=True) for x in before)
        after = collections.Counter(json.dumps(x, sort_keys=True) for x in topic)
        if ahead - after:
            errors.append("(c) %s: messages read before the restart are gone" % name)
        keys_before = collections.Counter(key(x) for x in before)
        for m, c in (after - ahead).items():
            k = key(json.loads(m))
            if keys_before[k]:
                errors.append("(c) %s: %s %s published again after the restart" % (name, k[0], k[1]))
            elif c > 1:
                errors.append("(c) %s: %s %s published %d times after the restart" % (name, k[0], k[1], c))
        print("%s: %d messages published after the restart" % (name, sum((after - ahead).values())))
        contents = collections.defaultdict(set)
        for x in before:
            contents[key(x)].add(json.dumps(x, sort_keys=True))
        for k in sorted(expected - got)[:10]:
            errors.append("(b) %s: %s %s marked published but not on the topic" % (name, k[0], k[1]))
        for k in sorted(got - expected)[:10]:
            errors.append("(b) %s: %s %s on the topic but not marked published" % (name, k[0], k[1]))
        for k, c in sorted(keys_before.items()):
            if c > 1 and (name not in a.killed or len(contents[k]) > 1):
                errors.append("(c) %s: %s %s published %d times (%d versions) before the restart"
                              % (name, k[0], k[1], c, len(contents[k])))
        print("%s: %d transitions recorded, %d messages on the topic; %s"
              % (name, len(recs), len(topic), ", ".join("%s %d" % kv for kv in sorted(count.items()))))
        for need in ("held FIRING", "released", "closed while held", "published FIRING"):
            if count[need] == 0:
                errors.append("%s: no '%s' at all: the backlog does not exercise the rule" % (name, need))
    for e in errors[:40]:
        print("ERROR " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
