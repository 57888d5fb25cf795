#!/usr/bin/env bash
# The daemon's /metrics passes Prometheus' own exposition lint (issue 15):
# a daemon applies a small gen stream (so the flush, alert and lag series have
# values), then `promtool check metrics` reads /metrics and must report
# nothing: exit 0 and no output. promtool comes from Debian's `prometheus`
# package (deploy/local/install-deps installs it).
TEST_NAME=metrics_lint
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

command -v promtool >/dev/null ||
    fail "promtool not found: run deploy/local/install-deps (it installs Debian's prometheus package, which has promtool)"

"$PP" gen --partners 20 --seed 15 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
create_topics
produce "$WORK/events.jsonl"
NEXT_FREE_PORT=$((29560 + $$ % 40)) # test_redis_tls starts at 29500-29549
free_port HTTP_PORT
write_config "$WORK/pp.ini" "[http]" "port = $HTTP_PORT"
start_daemon "$WORK/pp.ini" daemon
wait_applied "$n" 90

# /metrics is rendered once a second: wait (bounded) until it shows the whole stream
for ((i = 0; i < 100; i++)); do
    curl -sf --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" >"$WORK/metrics.txt" || true
    [[ "$(awk '$1 == "pp_events_applied_total" {print $2}' "$WORK/metrics.txt")" == "$n" ]] && break
    sleep 0.2
done
[[ "$(awk '$1 == "pp_events_applied_total" {print $2}' "$WORK/metrics.txt")" == "$n" ]] ||
    fail "/metrics does not show $n events applied within 20 s"
grep -qx '# TYPE pp_flush_seconds_total counter' "$WORK/metrics.txt" || fail "pp_flush_seconds_total is not a counter"
log "/metrics: $(grep -c '^# TYPE' "$WORK/metrics.txt") families, $(grep -vc '^#' "$WORK/metrics.txt") samples"

st=0
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 || st=$?
if [[ $st -ne 0 || -s "$WORK/promtool.out" ]]; then
    cat "$WORK/promtool.out"
    fail "promtool check metrics: exit $st, the problems above"
fi
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after SIGTERM"
log "PASS"
