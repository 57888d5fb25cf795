#!/usr/bin/env python3
"""Compare the public partner hashes (and pp:health scores, the daily health
trends pp:trend and the open flags pp:open, which must also agree with each
hash's `flags`) written under two
Redis key prefixes: two daemons that applied the same history with different
batching must leave identical hashes, whatever fields each flush chose to
write (changed fields only, changed groups, or everything). updated_at_ms is
processing time and is skipped.

usage: compare_hashes.py PORT PREFIX_A PREFIX_B"""
import sys

from ppredis import Redis

SKIP = {"updated_at_ms"}


def main():
    port, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    r = Redis(port=port)
    ids = r.cmd("ZRANGE", a + "health", "0", "-1")
    ids_b = r.cmd("ZRANGE", b + "health", "0", "-1")
    if sorted(ids) != sorted(ids_b) or not ids:
        print("partner sets differ: %d vs %d" % (len(ids), len(ids_b)))
        return 1
    bad = 0
    for pid in ids:
        pid = pid.decode()
        ha = r.hgetall("%spartner:{%s}" % (a, pid))
        hb = r.hgetall("%spartner:{%s}" % (b, pid))
        for k in sorted(set(ha) | set(hb)):
            if k in SKIP:
                continue
            if ha.get(k) != hb.get(k):
                bad += 1
                if bad <= 10:
                    print("%s %s: %r vs %r" % (pid, k, ha.get(k), hb.get(k)))
        ta = r.cmd("ZRANGE", "%strend:{%s}" % (a, pid), "0", "-1")
        tb = r.cmd("ZRANGE", "%strend:{%s}" % (b, pid), "0", "-1")
        if ta != tb or not ta:
            bad += 1
            if bad <= 10:
                print("%s trend: %r vs %r" % (pid, ta, tb))
        oa = r.hgetall("%sopen:{%s}" % (a, pid))
        ob = r.hgetall("%sopen:{%s}" % (b, pid))
        if oa != ob or sorted(oa) != sorted(filter(None, ha.get("flags", "").split(","))):
            bad += 1
            if bad <= 10:
                print("%s open flags: %r vs %r (flags %r)" % (pid, oa, ob, ha.get("flags")))
        sa = r.cmd("ZSCORE", a + "health", pid)
        sb = r.cmd("ZSCORE", b + "health", pid)
        if sa != sb:
            bad += 1
            print("%s pp:health: %r vs %r" % (pid, sa, sb))
    print("compared %d partners: %d differences" % (len(ids), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
