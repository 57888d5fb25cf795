#!/usr/bin/env bash
# Bounded outboxes (issue 12, item 6): while the alerts topic refuses writes,
# alerts wait in their partition's Redis outbox; past [daemon] outbox_max
# consumption pauses (pp_outbox_full = 1, /readyz names it) instead of the
# outbox growing without bound, and nothing is dropped: once the alerts topic
# exists the daemon recovers by itself (no restart), every alert is published
# (the same ones as an undisturbed replay publishes) and the totals are exact.
TEST_NAME=outbox_cap
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

"$PP" gen --partners 300 --seed 29 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
produce "$WORK/events.jsonl"
free_port HPORT
# small flushes while catching up: the cap is judged at each flush
CONF=("clock = replay" "timer_interval_ms = 200" "outbox_max = 100" "outbox_interval_ms = 500"
    "backlog_flush_interval_ms = 100" "batch_max_messages = 500")
# 1. the alerts topic does not exist yet (the broker does not create topics):
#    every delivery fails (fast: message.timeout.ms = 3000)
LATE="${TOPIC_PREFIX}late."
write_config "$WORK/pp.ini" "${CONF[@]}" "${HISTORY_ALERTS[@]}" "[http]" "port = $HPORT"
sed -i "s/^alerts = .*/alerts = ${LATE}partner.alerts/; s/^\[kafka\]/[kafka]\nmessage.timeout.ms = 3000/" "$WORK/pp.ini"
start_daemon "$WORK/pp.ini" daemon
for ((i = 0; i < 600; i++)); do
    grep -q 'an alert outbox is full' "$WORK/daemon.log" && break
    sleep 0.2
done
grep -q 'an alert outbox is full' "$WORK/daemon.log" || fail "no outbox reached outbox_max within 120 s"
for ((i = 0; i < 100; i++)); do # metrics are refreshed every second (a drain may hold the loop 3 s)
    m=$(curl -s "http://127.0.0.1:$HPORT/metrics" | grep '^pp_outbox_full' || true)
    [[ "$m" == "pp_outbox_full 1" ]] && break
    sleep 0.2
done
[[ "$m" == "pp_outbox_full 1" ]] || fail "pp_outbox_full is not 1 within 20 s: '$m'"
ready=$(curl -s "http://127.0.0.1:$HPORT/readyz" || true)
[[ "$ready" == *"outbox"* ]] || fail "/readyz does not name the full outbox: $ready"
longest=0
for p in 0 1 2 3 4 5; do
    l=$(redis-cli -p "$PP_TEST_REDIS_PORT" --raw LLEN "${REDIS_PREFIX}outbox:$p")
    ((l > longest)) && longest=$l
done
sleep 2
applied=$(redis_sum events_applied)
log "outbox full: longest outbox $longest alerts, $applied of $n events applied, /readyz: $ready"
((longest >= 100)) || fail "longest outbox $longest is below outbox_max"
sleep 3
again=$(redis_sum events_applied)
[[ "$again" == "$applied" ]] || fail "consumption went on with a full outbox ($applied -> $again events)"
((applied < n)) || fail "the whole stream was applied before the outbox filled: the cap was not tested"

# 2. the alerts topic is created: the daemon recovers by itself
"$PP" topics -b "$PP_TEST_KAFKA" -p "$LATE" -n 6 >/dev/null
log "alerts topic created"
wait_applied "$n" 180
for ((i = 0; i < 300; i++)); do
    total=0
    for p in 0 1 2 3 4 5; do
        total=$((total + $(redis-cli -p "$PP_TEST_REDIS_PORT" --raw LLEN "${REDIS_PREFIX}outbox:$p")))
    done
    ((total == 0)) && break
    sleep 0.2
done
((total == 0)) || fail "$total alerts still waiting in the outboxes 60 s after the alerts topic came back"
m=$(curl -s "http://127.0.0.1:$HPORT/metrics" | grep '^pp_outbox_full' || true)
[[ "$m" == "pp_outbox_full 0" ]] || fail "pp_outbox_full is not 0 after the outboxes drained: '$m'"
sleep 3 # end of stream: caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ from the oracle (expected_totals.py)"
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${LATE}partner.alerts" --from-beginning --json --idle-exit 8 >"$WORK/cap.alerts.jsonl"
reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/cap.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts published after the outage differ from an undisturbed replay"
log "PASS"
