#!/usr/bin/env python3
"""Helpers of deploy/bench/run: drive partnerpulsed and read its /metrics
(stdlib only). Subcommands: run, restart, latency, summary."""
import argparse
import json
import subprocess
import sys
import time
import urllib.request


def metrics(port, series=None):
    """Sum of each metric over its labels; with a list `series`, also append
    (labels, value) of every labelled sample there."""
    out = {}
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                name, _, value = line.rpartition(" ")
                base = name.split("{")[0]
                out[base] = out.get(base, 0.0) + float(value)
                if series is not None and "{" in name:
                    series.append((name, float(value)))
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


def cmd_latency(a):
    """Start the daemon, wait until it owns every input partition and is at
    their ends, run `partnerpulse latency` (the command after --) with
    --json, stop the daemon, print the tool's JSON."""
    p = start(a.ppd, a.config, a.log)
    t0 = time.time()
    ready = None
    while time.time() < t0 + 60 and p.poll() is None:
        lags = []
        metrics(a.http, lags)
        lags = [v for k, v in lags if k.startswith("pp_consumer_lag{")]
        if len(lags) >= a.partitions and all(v >= 0 for v in lags):
            ready = round(time.time() - t0, 3)
            break
        time.sleep(0.2)
    time.sleep(1)  # a few idle loop turns: the merge and the timers settle
    rc = None
    if p.poll() is None:
        try:
            # the tool's own table goes to stderr: stdout is this command's JSON
            rc = subprocess.run(a.tool + ["--json", a.out], stdout=sys.stderr, timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = None
    alive = p.poll() is None
    stop(p)
    try:
        res = json.load(open(a.out))
    except (OSError, ValueError):
        res = {}
    res.update({"daemon_ready_s": ready, "tool_exit": rc,
                "daemon_alive": alive})
    print(json.dumps(res))
    # 3 = some samples never seen: a figure (reported), not a harness failure
    return 0 if rc in (0, 3) and alive else 1


def latency_rows(lat, key="latency", with_targets=True):
    """Summary rows, JSON fields (KEY_*) and targets of one latency run."""
    if not lat:
        return [], {}, []
    label = "latency %d/s" % int(lat.get("rate_asked") or 0)
    rv, al = lat.get("redis_visible", {}), lat.get("alert", {})
    res = {"rate_asked": lat.get("rate_asked"), "rate_achieved": lat.get("rate_achieved"),
           "seconds": lat.get("seconds"),
           "redis_visible_p50_ms": rv.get("p50_ms"), "redis_visible_p99_ms": rv.get("p99_ms"),
           "redis_visible_max_ms": rv.get("max_ms"), "redis_visible_samples": rv.get("measured"),
           "redis_visible_missing": rv.get("missing"),
           "alert_p50_ms": al.get("p50_ms"), "alert_p99_ms": al.get("p99_ms"),
           "alert_max_ms": al.get("max_ms"), "alert_probes": al.get("measured"),
           "alert_missing": al.get("missing")}
    res = {key + "_" + k: v for k, v in res.items()}
    rows = [(label + ": rate asked / achieved (/s)",
             "%s / %s" % (int(lat.get("rate_asked") or 0), lat.get("rate_achieved"))),
            (label + ": produce->Redis visible p50 (ms)", rv.get("p50_ms")),
            (label + ": produce->Redis visible p99 (ms)", rv.get("p99_ms")),
            (label + ": Redis samples (missing)", "%s (%s)" % (rv.get("measured"), rv.get("missing"))),
            (label + ": produce->alert p50 (ms)", al.get("p50_ms")),
            (label + ": produce->alert p99 (ms)", al.get("p99_ms")),
            (label + ": alert probes (missing)", "%s (%s)" % (al.get("measured"), al.get("missing")))]
    if not with_targets:
        return rows, res, []
    # a latency target holds only at the asked rate (within 5 %) with nothing missing
    rate_ok = (lat.get("rate_achieved") or 0) >= 0.95 * (lat.get("rate_asked") or 1)
    def ok(st, limit):
        return rate_ok and st.get("missing") == 0 and st.get("p99_ms") is not None and st["p99_ms"] <= limit
    targets = [("latency: p99 produce->Redis visible <= 100 ms at %d/s" % int(lat.get("rate_asked") or 0),
                ok(rv, 100)),
               ("latency: p99 produce->alert <= 250 ms at %d/s" % int(lat.get("rate_asked") or 0), ok(al, 250))]
    return rows, res, targets


def load(path):
    try:
        return json.load(open(path)) if path else {}
    except (OSError, ValueError):
        return {}


def ratio(a, b):
    return round(a / b, 3) if a and b else 0


# the rows of the per-shape table: label, key suffix of SHAPE_<suffix>
SHAPE_ROWS = [("events", "events"), ("partners", "partners"), ("produce (s)", "produce_seconds"),
              ("ceiling: bare consumer (events/s)", "ceiling_eps"),
              ("peer: Python consumer (events/s)", "peer_eps"),
              ("partnerpulsed end to end (events/s)", "daemon_eps"),
              ("partnerpulsed / peer", "daemon_over_peer"),
              ("partnerpulsed / ceiling", "daemon_over_ceiling"),
              ("peer / ceiling", "peer_over_ceiling"),
              ("partnerpulsed (s, first apply to last flush)", "daemon_seconds"),
              ("peer (s, first message to last commit)", "peer_seconds"),
              ("peer (s, its start to last commit)", "peer_seconds_from_start"),
              ("alert transitions", "alert_transitions")]


def shape_result(work, shape):
    """SHAPE_* fields of one stream shape from the files deploy/bench/run
    wrote in WORK: SHAPE-stream.json, -drain.json, -peer.json, -daemon.json."""
    stream, drain = load("%s/%s-stream.json" % (work, shape)), load("%s/%s-drain.json" % (work, shape))
    peer, daemon = load("%s/%s-peer.json" % (work, shape)), load("%s/%s-daemon.json" % (work, shape))
    ceiling, peer_eps, daemon_eps = drain.get("messages_per_s", 0), peer.get("events_per_s", 0), \
        daemon.get("events_per_s", 0)
    res = {"events": stream.get("events"), "partners": stream.get("partners"),
           "produce_seconds": stream.get("produce_seconds"),
           "ceiling_eps": ceiling, "peer_eps": peer_eps, "daemon_eps": daemon_eps,
           "daemon_over_peer": ratio(daemon_eps, peer_eps), "daemon_over_ceiling": ratio(daemon_eps, ceiling),
           "peer_over_ceiling": ratio(peer_eps, ceiling),
           "daemon_seconds": daemon.get("seconds_from_first_event"),
           "peer_seconds": peer.get("seconds_from_first_event"),
           "peer_seconds_from_start": peer.get("seconds"),
           "peer_decode_errors": peer.get("decode_errors"),
           "daemon_peak_rss_bytes": daemon.get("peak_rss_bytes"),
           "alert_transitions": int(daemon.get("alerts") or 0)}
    return {shape + "_" + k: v for k, v in res.items()}


def cmd_summary(a):
    shapes = [x for x in a.shapes.split(",") if x]
    res = {"shapes": shapes}
    targets = []
    for sh in shapes:
        res.update(shape_result(a.work, sh))
        targets += [("%s: partnerpulsed >= 3 x peer" % sh, res[sh + "_daemon_over_peer"] >= 3),
                    ("%s: partnerpulsed >= 0.3 x ceiling" % sh, res[sh + "_daemon_over_ceiling"] >= 0.3)]
    rows = []
    if "default" in shapes:
        # the keys of result.json before the shapes (default shape), and memory
        partners = res["default_partners"] or 1
        restart = load(a.restart)
        res.update({
            "events": res["default_events"], "partners": res["default_partners"],
            "produce_seconds": res["default_produce_seconds"],
            "ceiling_events_per_s": res["default_ceiling_eps"], "daemon_events_per_s": res["default_daemon_eps"],
            "ratio_to_ceiling": res["default_daemon_over_ceiling"],
            "daemon_seconds": res["default_daemon_seconds"],
            "daemon_peak_rss_bytes": res["default_daemon_peak_rss_bytes"],
            "daemon_rss_per_partner": round((res["default_daemon_peak_rss_bytes"] or 0) / partners),
            "redis_used_memory_delta": a.redis_used,
            "redis_bytes_per_partner": round(a.redis_used / partners),
            "restart_first_event_s": restart.get("first_event_applied_s"),
            "alert_transitions": res["default_alert_transitions"]})
        targets += [
            ("redis <= 4 KiB per partner", res["redis_bytes_per_partner"] <= 4096),
            ("daemon <= 4 KiB per partner (peak RSS)", res["daemon_rss_per_partner"] <= 4096),
            ("restart: first event within 5 s", (res["restart_first_event_s"] or 99) <= 5)]
        rows += [("default: daemon peak RSS (MiB)", round((res["daemon_peak_rss_bytes"] or 0) / 2**20, 1)),
                 ("default: daemon peak RSS per partner (B)", res["daemon_rss_per_partner"]),
                 ("default: redis used_memory per partner (B)", res["redis_bytes_per_partner"]),
                 ("default: restart, first event applied (s)", res["restart_first_event_s"])]
    lat_rows, lat_res, lat_targets = latency_rows(load(a.latency))
    hi_rows, hi_res, _ = latency_rows(load(a.latency_high), "latency_high", False)
    res.update(lat_res)
    res.update(hi_res)
    targets += lat_targets
    rows += lat_rows + hi_rows

    width = 50
    print(("%-*s" % (width, "measure")) + "".join("%14s" % sh for sh in shapes))
    for label, k in SHAPE_ROWS:
        print(("%-*s" % (width, label)) + "".join("%14s" % res.get(sh + "_" + k) for sh in shapes))
    for k, v in rows:
        print("%-*s %s" % (width, k, v))
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
    lt = sub.add_parser("latency")
    lt.add_argument("--ppd", required=True)
    lt.add_argument("--config", required=True)
    lt.add_argument("--http", type=int, required=True)
    lt.add_argument("--log", required=True)
    lt.add_argument("--out", required=True, help="the tool's --json file")
    lt.add_argument("--partitions", type=int, default=24, help="input partitions the daemon must own")
    lt.add_argument("--timeout", type=float, default=600)
    lt.add_argument("tool", nargs=argparse.REMAINDER, help="-- partnerpulse latency ...")
    s = sub.add_parser("summary")
    s.add_argument("--work", required=True, help="the run's directory: SHAPE-{stream,drain,peer,daemon}.json")
    s.add_argument("--shapes", required=True, help="comma-separated: default, spread")
    s.add_argument("--restart", default="", help="JSON of the restart phase (default shape)")
    s.add_argument("--redis-used", type=int, default=0, help="Redis used_memory delta of the default shape")
    s.add_argument("--latency", default="", help="JSON of the latency run with targets (optional)")
    s.add_argument("--latency-high", default="", help="JSON of the latency run without target (optional)")
    s.add_argument("--json", required=True)
    s.add_argument("--quick", required=True)
    a = ap.parse_args()
    if a.cmd == "latency":
        a.tool = a.tool[1:] if a.tool[:1] == ["--"] else a.tool
        if not a.tool:
            ap.error("latency: give the command after --")
    return {"run": cmd_run, "restart": cmd_restart, "latency": cmd_latency, "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
