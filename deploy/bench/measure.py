#!/usr/bin/env python3
"""Helpers of deploy/bench/run: drive partnerpulsed and read its /metrics
(stdlib only). Subcommands: run, restart, summary."""
import argparse
import json
import subprocess
import sys
import time
import urllib.request


def metrics(port):
    out = {}
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                name, _, value = line.rpartition(" ")
                base = name.split("{")[0]
                out[base] = out.get(base, 0.0) + float(value)
    except OSError:
        pass
    return out


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def start(ppd, config, log):
    return subprocess.Popen([ppd, "--config", config], stdout=open(log, "a"), stderr=subprocess.STDOUT)


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()


def cmd_run(a):
    p = start(a.ppd, a.config, a.log)
    t_start = time.time()
    t_first = None
    done = None
    deadline = t_start + a.timeout
    while time.time() < deadline:
        m = metrics(a.http)
        applied = m.get("pp_events_applied_total", 0)
        if applied > 0 and t_first is None:
            t_first = time.time()
        if applied >= a.events and m.get("pp_dirty_partners", 1) == 0:
            done = time.time()
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(1.2)  # one more metrics render: exact first-apply and last-flush times
    m = metrics(a.http)
    rss = peak_rss_kib(p.pid) if p.poll() is None else 0
    stop(p)
    ok = done is not None
    first, last = m.get("pp_first_apply_timestamp_seconds", 0), m.get("pp_last_flush_timestamp_seconds", 0)
    secs = (last - first) if ok and first and last > first else ((done - t_first) if ok and t_first else 0)
    print(json.dumps({"complete": ok, "events": a.events, "seconds_from_first_event": round(secs, 3),
                      "seconds_from_start": round((done or time.time()) - t_start, 3),
                      "events_per_s": round(a.events / secs) if secs else 0,
                      "peak_rss_bytes": rss * 1024, "cached_partners": m.get("pp_cached_partners", 0),
                      "flushes": m.get("pp_flushes_total", 0), "alerts": m.get("pp_alerts_total", 0)}))
    return 0 if ok else 1


def cmd_restart(a):
    p = start(a.ppd, a.config, a.log)
    t0 = time.time()
    first = None
    while time.time() < t0 + 60:
        if metrics(a.http).get("pp_events_applied_total", 0) >= 1:
            first = time.time()
            break
        if p.poll() is not None:
            break
        time.sleep(0.02)
    stop(p)
    print(json.dumps({"first_event_applied_s": round(first - t0, 3) if first else None}))
    return 0 if first else 1


def cmd_summary(a):
    drain = json.load(open(a.drain))
    daemon = json.load(open(a.daemon))
    restart = json.load(open(a.restart))
    ceiling = drain["messages_per_s"] or 1
    rate = daemon["events_per_s"]
    res = {
        "events": a.events, "partners": a.partners, "produce_seconds": a.produce_s,
        "ceiling_events_per_s": drain["messages_per_s"], "daemon_events_per_s": rate,
        "ratio_to_ceiling": round(rate / ceiling, 3),
        "daemon_seconds": daemon["seconds_from_first_event"],
        "daemon_peak_rss_bytes": daemon["peak_rss_bytes"],
        "daemon_rss_per_partner": round(daemon["peak_rss_bytes"] / a.partners),
        "redis_used_memory_delta": a.redis_used,
        "redis_bytes_per_partner": round(a.redis_used / a.partners),
        "restart_first_event_s": restart["first_event_applied_s"],
        "alert_transitions": daemon["alerts"],
    }
    targets = [
        ("end-to-end >= 0.5 x ceiling", res["ratio_to_ceiling"] >= 0.5),
        ("redis <= 4 KiB per partner", res["redis_bytes_per_partner"] <= 4096),
        ("daemon <= 4 KiB per partner (peak RSS)", res["daemon_rss_per_partner"] <= 4096),
        ("restart: first event within 5 s", (res["restart_first_event_s"] or 99) <= 5),
    ]
    rows = [("events", a.events), ("partners", a.partners), ("produce (s)", a.produce_s),
            ("ceiling: bare consumer (events/s)", res["ceiling_events_per_s"]),
            ("partnerpulsed end to end (events/s)", rate), ("ratio to ceiling", res["ratio_to_ceiling"]),
            ("daemon peak RSS (MiB)", round(res["daemon_peak_rss_bytes"] / 2**20, 1)),
            ("daemon peak RSS per partner (B)", res["daemon_rss_per_partner"]),
            ("redis used_memory per partner (B)", res["redis_bytes_per_partner"]),
            ("restart: first event applied (s)", res["restart_first_event_s"])]
    print("%-40s %s" % ("measure", "value"))
    for k, v in rows:
        print("%-40s %s" % (k, v))
    if not int(a.quick):
        for name, ok in targets:
            print("%-4s %s" % ("PASS" if ok else "FAIL", name))
    res["targets"] = {name: ok for name, ok in targets}
    json.dump(res, open(a.json, "w"), indent=2)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    for s in (r, sub.add_parser("restart")):
        s.add_argument("--ppd", required=True)
        s.add_argument("--config", required=True)
        s.add_argument("--http", type=int, required=True)
        s.add_argument("--log", required=True)
    r.add_argument("--events", type=int, required=True)
    r.add_argument("--timeout", type=float, default=1800)
    s = sub.add_parser("summary")
    for k in ("drain", "daemon", "restart", "json", "quick"):
        s.add_argument("--" + k, required=True)
    s.add_argument("--events", type=int, required=True)
    s.add_argument("--partners", type=int, required=True)
    s.add_argument("--produce-s", type=float, required=True)
    s.add_argument("--redis-used", type=int, required=True)
    a = ap.parse_args()
    return {"run": cmd_run, "restart": cmd_restart, "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
