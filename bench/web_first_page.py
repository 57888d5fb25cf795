#!/usr/bin/env python3
"""bench/web_first_page.py - `partnerpulse web` with 100 000 partners.

Starts a scratch redis-server (no persistence, its own port and temp dir),
fills it with N partner hashes shaped like the daemon's (the 76 fields of
docs/redis.md, realistic values), pp:health and 1 000 pp:alerts entries,
then starts `partnerpulse web` on it and measures:
  - first page: process start -> the first 200 of GET /api/leaderboard
    (default view; served straight from Redis until the index is built);
  - the index build (its log line: ms, bytes, bytes per partner) and the
    process's RSS before/after;
  - leaderboard queries on the built index (default, sort + filter, search),
    median of 20.
Everything is stopped at the end. Scratch data only: never point it at a
real Redis.

usage: bench/web_first_page.py [--bin BUILD_DIR] [--partners N] [--redis-port P]
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/release")
ap.add_argument("--partners", type=int, default=100000)
ap.add_argument("--redis-port", type=int, default=46390)
args = ap.parse_args()

OWNERS = ["Ana Müller", "Bo \"Quick\" Li", "Chen Wei", "Dana O'Neil", "Emeka Obi", "Farah Haddad", "Greta Lind", "Hiro Sato"]
TYPES = ["REFERRAL", "RESELLER", "TECHNOLOGY", "CO_SELL", ""]
TIERS = ["platinum", "gold", "silver", "registered"]
RULES = ["going_dark", "slow_response", "one_sided", "unanswered_followups", "missed_commitments", "no_pipeline_90d", "health_red"]
NUMERIC = ["score_financial", "score_strategic", "score_operational", "score_relationship", "events_applied", "clock_ms",
           "signed_at_ms", "deals_sourced", "deals_influenced", "deals_qualified", "deals_won", "deals_lost",
           "pipeline_sourced_minor", "pipeline_influenced_minor", "revenue_won_sourced_minor", "revenue_won_influenced_minor",
           "win_rate", "avg_won_deal_minor", "days_to_first_qualified", "revenue_won_long_major", "win_rate_long",
           "qualified_long", "qualified_open", "registrations_long", "active", "referrals_to_us", "referrals_to_partner",
           "referrals_converted_to_us", "referrals_converted_to_partner", "partner_response_p50_bh_short",
           "partner_response_p90_bh_short", "partner_response_p50_bh_long", "partner_response_p90_bh_long",
           "partner_responses_short", "our_response_p50_bh_short", "our_response_p90_bh_short", "our_response_p50_bh_long",
           "our_response_p90_bh_long", "threads_awaiting_partner", "threads_awaiting_us", "oldest_wait_partner_bh",
           "oldest_wait_us_bh", "max_unanswered_followups", "followups_total", "automated_ignored",
           "partner_commitments_made", "partner_commitments_delivered", "partner_commitments_missed",
           "our_commitments_made", "our_commitments_delivered", "our_commitments_missed", "partner_missed_long",
           "partner_delivered_long", "contributions_theirs_long", "contributions_ours_long", "reciprocity_index",
           "engagements_inbound", "engagements_outbound", "engagements_inbound_short", "engagements_outbound_short",
           "last_inbound_ms", "last_outbound_ms", "days_since_inbound", "business_days_since_inbound", "exited"]


def resp(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def fill(port, n):
    rnd = random.Random(14)
    now = 1796000000000
    buf = []
    for i in range(n):
        pid = "p%06d-%s" % (i, rnd.choice(["acme", "globex", "initech", "umbrella", "hooli"]))
        health = round(rnd.uniform(0, 100), 1)
        rag = "red" if health < 40 else "amber" if health < 70 else "green"
        flags = ",".join(sorted(rnd.sample(RULES, rnd.choice([0, 0, 0, 1, 1, 2, 3]))))
        fields = {"health": "%.1f" % health, "rag": rag, "confidence": "%.2f" % rnd.random(), "flags": flags,
                  "why_1": "going_dark 34.0 d -25.0 pts [e-80]", "why_2": "response 4.5 d -7.3 pts [e-reply-4]",
                  "why_3": "", "config_version": "0123456789abcdef", "updated_at_ms": now - rnd.randrange(10**9),
                  "last_event_ms": now - rnd.randrange(10**10), "last_event_id": "e-%d" % rnd.randrange(10**9),
                  "partner_type": rnd.choice(TYPES), "tier": rnd.choice(TIERS), "owner": rnd.choice(OWNERS),
                  "display_name": "Partner %d <%s> GmbH" % (i, rnd.choice(["Ü", "é", "&", "\""])), "currency": "USD",
                  "calendar": "business", "timezone": "Europe/Berlin", "our_calendar": "business"}
        for f in NUMERIC:
            fields[f] = str(rnd.randrange(100000)) if rnd.random() < 0.8 else ""
        flat = []
        for k, v in fields.items():
            flat += [k, v]
        buf.append(resp("HSET", "pp:partner:{%s}" % pid, *flat))
        buf.append(resp("ZADD", "pp:health", "%.2f" % health, pid))
        if i < 1000:
            buf.append(resp("XADD", "pp:alerts", "*", "alert_id", "%032x" % i, "partner_id", pid, "rule", "going_dark",
                            "severity", "WARNING", "status", "FIRING", "value", "31.000", "threshold", "20.000",
                            "message", "silent", "started_at_ms", now, "event_time_ms", now, "emitted_at_ms", now,
                            "health", "%.1f" % health, "evidence", "timer", "published", "1", "config_version", "0"))
    p = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=b"".join(buf), capture_output=True)
    if p.returncode != 0:
        sys.exit("redis-cli --pipe failed: %s" % p.stderr.decode())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
    return time.perf_counter() - t, json.loads(body)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read())[1])


tmp = tempfile.mkdtemp(prefix="pp-web-bench.")
redis = subprocess.Popen(["redis-server", "--port", str(args.redis_port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
web = None
try:
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(args.redis_port), "ping"], capture_output=True).stdout.strip() == b"PONG":
            break
        time.sleep(0.1)
    t = time.time()
    fill(args.redis_port, args.partners)
    print("filled %d partners in %.1f s (%s)" % (args.partners, time.time() - t,
          subprocess.run(["redis-cli", "-p", str(args.redis_port), "info", "memory"], capture_output=True, text=True)
          .stdout.split("used_memory_human:")[1].split()[0]))
    port = free_port()
    ini = os.path.join(tmp, "web.ini")
    with open(ini, "w") as f:
        f.write("[redis]\nport = %d\n[web]\nport = %d\n" % (args.redis_port, port))
    base = "http://127.0.0.1:%d" % port
    log = open(os.path.join(tmp, "web.log"), "w+")
    t0 = time.perf_counter()
    web = subprocess.Popen([os.path.join(args.bin, "partnerpulse"), "web", "--config", ini], stderr=log)
    first = None
    attempts = []
    while first is None and time.perf_counter() - t0 < 30:
        try:
            took, body = get(base + "/api/leaderboard")
            first = time.perf_counter() - t0
            attempts.append("200 in %.0f ms" % (took * 1000))
        except OSError as e:
            attempts.append("%s at %.0f ms%s" % (type(e).__name__, (time.perf_counter() - t0) * 1000,
                                                 ": " + e.read().decode() if hasattr(e, "read") else ""))
            time.sleep(0.005)
    direct = body
    print("first page: %.0f ms after start (indexed: %s, %d rows of %d)" % (first * 1000, body["indexed"], len(body["rows"]), body["total"]))
    rss0 = rss_kib(web.pid)
    while "leaderboard index built" not in open(log.name).read():
        time.sleep(0.05)
    line = [l for l in open(log.name) if "index built" in l][0].strip()
    time.sleep(0.5)
    print("index: %s" % line.split("msg=")[1])
    print("RSS: %d KiB at the first page, %d KiB with the index" % (rss0, rss_kib(web.pid)))
    for name, path in [("default view", "/api/leaderboard"),
                       ("sort=display_name&dir=desc&owner=Chen Wei&tier=gold", "/api/leaderboard?sort=display_name&dir=desc&owner=Chen%20Wei&tier=gold"),
                       ("q=globex&flag=going_dark", "/api/leaderboard?q=globex&flag=going_dark"),
                       ("offset=99950 sort=last_event_ms", "/api/leaderboard?offset=99950&sort=last_event_ms"),
                       ("/api/alerts?limit=50", "/api/alerts?limit=50")]:
        times = [get(base + path)[0] for _ in range(20)]
        if name == "default view":
            indexed = get(base + path)[1]
            if not direct["indexed"] and [r["id"] for r in direct["rows"]] != [r["id"] for r in indexed["rows"]]:
                sys.exit("the direct first page differs from the indexed one")
        print("%-55s median %.1f ms, max %.1f ms" % (name, statistics.median(times) * 1000, max(times) * 1000))
finally:
    if web:
        web.terminate()
        web.wait(10)
    redis.terminate()
    redis.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)
