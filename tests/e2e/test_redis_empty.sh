#!/usr/bin/env bash
# Redis comes back empty (issue 12, item 1): a private redis-server with no
# persistence at all (no AOF, no RDB) is SIGKILLed mid-stream and restarted
# empty on the same port, after the daemon has committed offsets. No marker in
# Redis while Kafka has commits = state lost: the daemon must stop with exit
# status 3 and a log line saying so ("state loss", naming "on_state_loss"),
# not go on writing partial state. Started again with
# `[daemon] on_state_loss = replay` it rebuilds from the earliest retained
# offsets to exact totals, with the alert episodes of an undisturbed replay
# (none lost, none under two ids).
TEST_NAME=redis_empty
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

free_port RPORT
redis_start r "$RPORT" # --save '' --appendonly no: nothing survives
PP_TEST_REDIS_PORT=$RPORT

"$PP" gen --partners 300 --seed 43 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
half=$((n / 2))
head -n "$half" "$WORK/events.jsonl" >"$WORK/first.jsonl"
tail -n +"$((half + 1))" "$WORK/events.jsonl" >"$WORK/second.jsonl"
produce "$WORK/first.jsonl"
log "$n events for 300 partners, $half produced"

CONF=("clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" "batch_max_messages = 500"
    "merge_idle_ms = 10000")
write_config "$WORK/pp.ini" "${CONF[@]}" "${HISTORY_ALERTS[@]}"
point_config "$WORK/pp.ini" "$RPORT"
start_daemon "$WORK/pp.ini" daemon-1
wait_applied "$half" 90
sleep 2 # offsets of the last flush committed to Kafka
redis_kill r KILL
log "redis SIGKILLed with $half events applied; restarting it empty"
redis_start r "$RPORT"
produce "$WORK/second.jsonl"
st=0
for ((i = 0; i < 600; i++)); do # 60 s
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
    fail "daemon still running 60 s after Redis came back empty ($(redis_sum events_applied) of $n events in the empty Redis)"
fi
wait "$DAEMON_PID" || st=$?
((st == 3)) || fail "daemon exited with status $st after the state loss, expected 3"
grep 'state loss' "$WORK/daemon-1.log" | grep -q 'on_state_loss' ||
    fail "no log line with \"state loss\" and \"on_state_loss\""
log "daemon stopped with status 3: $(grep 'state loss' "$WORK/daemon-1.log" | head -1)"

write_config "$WORK/pp2.ini" "${CONF[@]}" "on_state_loss = replay" "${HISTORY_ALERTS[@]}"
point_config "$WORK/pp2.ini" "$RPORT"
start_daemon "$WORK/pp2.ini" daemon-2
got=$(wait_settled "$n" 180)
log "rebuilt: $got of $n events applied"
sleep 3 # end of stream: caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "daemon with on_state_loss = replay exited non-zero"
check_end "$WORK/expected.json" "$WORK/rebuilt.alerts.jsonl"
reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/rebuilt.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts after the rebuild differ from the undisturbed replay"
log "PASS"
