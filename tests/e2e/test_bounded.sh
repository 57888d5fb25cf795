#!/usr/bin/env bash
# Bounded resources: a stream over 1 000 000 distinct partners runs within a
# configured cache of 50 000 partners (clean partners are evicted and
# reloaded on demand), every event is applied, and the daemon's peak RSS
# stays under the documented bound (docs/performance.md: 4 KiB per cached
# partner plus librdkafka's prefetch and the merge's queues, here 1 GiB).
# Runs in the release build only (PP_BOUNDED_TEST=skip under sanitizers:
# ASan's shadow memory makes RSS meaningless and the run 5x slower).
TEST_NAME=bounded
source "$(dirname "$0")/lib.sh"
if [[ "${PP_BOUNDED_TEST:-run}" == skip ]]; then
    log "SKIP (sanitizer build: RSS is not meaningful there)"
    exit 0
fi

N=${PP_BOUNDED_PARTNERS:-1000000}
now=$(date +%s%3N)
python3 - "$N" "$now" >"$WORK/events.jsonl" <<'PY'
import sys
n, now = int(sys.argv[1]), int(sys.argv[2])
t0 = now - 10 * 86400000
out = sys.stdout
for i in range(n):
    out.write('{"type":"engagement","event_id":"b%d","partner_id":"bp%07d","occurred_at_ms":%d,'
              '"thread_id":"t","direction":"INBOUND","kind":"MEETING"}\n' % (i, i, t0 + i))
# a second event for every 10th partner, long after it was evicted: reloaded on demand
for i in range(0, n, 10):
    out.write('{"type":"engagement","event_id":"c%d","partner_id":"bp%07d","occurred_at_ms":%d,'
              '"thread_id":"t","direction":"OUTBOUND","kind":"MEETING"}\n' % (i, i, t0 + n + i))
PY
total=$(wc -l <"$WORK/events.jsonl")
create_topics
produce "$WORK/events.jsonl"
log "produced $total events for $N partners"

HTTP=$((18000 + $$ % 900))
write_config "$WORK/pp.ini" "cache_max_partners = 50000" "flush_max_partners = 2000" "log_level = warning"
printf '[http]\nport = %d\n' "$HTTP" >>"$WORK/pp.ini"
start_daemon "$WORK/pp.ini" daemon
peak_cached=0
for ((i = 0; i < 1800; i++)); do # at most 15 min
    m=$(curl -s "http://127.0.0.1:$HTTP/metrics" || true)
    applied=$(awk '/^pp_events_applied_total/ {print int($2)}' <<<"$m")
    dirty=$(awk '/^pp_dirty_partners/ {print int($2)}' <<<"$m")
    cached=$(awk '/^pp_cached_partners/ {print int($2)}' <<<"$m")
    ((${cached:-0} > peak_cached)) && peak_cached=$cached
    [[ "${applied:-0}" -ge "$total" && "${dirty:-1}" == 0 ]] && break
    kill -0 "$DAEMON_PID" || fail "daemon died"
    sleep 0.5
done
[[ "${applied:-0}" -ge "$total" ]] || fail "only ${applied:-0} of $total events applied"
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$DAEMON_PID/status")
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
log "applied $applied events; cached partners peaked at $peak_cached; daemon peak RSS $((hwm_kib / 1024)) MiB"
# after each flush at most cache_max_partners stay; between flushes the dirty
# ones (at most 10 x flush_max_partners while catching up) and one batch more
((peak_cached <= 50000 + 20000 + 10000)) || fail "cache grew to $peak_cached partners (bound 80 000)"
((hwm_kib <= 1024 * 1024)) || fail "peak RSS $((hwm_kib / 1024)) MiB over the 1 GiB bound"
# a sample of partners: every event applied exactly once (reloaded ones have 2)
python3 - "$PP_TEST_REDIS_PORT" "$REDIS_PREFIX" "$N" "$E2E_DIR" <<'PY' || fail "wrong counts in Redis"
import sys
sys.path.insert(0, sys.argv[4])
from ppredis import Redis
port, prefix, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
r = Redis(port=port)
bad = 0
for i in range(0, n, 997):
    want = 2 if i % 10 == 0 else 1
    got = r.cmd("HGET", "%spartner:{bp%07d}" % (prefix, i), "events_applied")
    if got is None or int(got) != want:
        bad += 1
        if bad < 5:
            print("bp%07d: events_applied %s, want %d" % (i, got, want))
print("sampled %d partners, %d wrong" % (len(range(0, n, 997)), bad))
sys.exit(1 if bad else 0)
PY
log "PASS"
