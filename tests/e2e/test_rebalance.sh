#!/usr/bin/env bash
# Scale-out and rebalance: a second daemon joins the consumer group
# mid-stream, then the first is stopped. Partitions move (state flushed on
# revoke, loaded on assign), totals are exact, and the alert episodes are
# exactly those of an undisturbed replay: none lost, none under two ids.
TEST_NAME=rebalance
source "$(dirname "$0")/lib.sh"

"$PP" gen --partners 700 --seed 21 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
produce "$WORK/events.jsonl" # the whole history first: replay is then deterministic
# merge_hold_messages = 20: the merge's flow control holds topic partitions
# back (and hands them over again) across the rebalances
write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" \
    "batch_max_messages = 100" "merge_idle_ms = 10000" "merge_hold_messages = 20" \
    "[alerts]" "publish_max_age = 0" # months-old history: every episode is published and compared
start_daemon "$WORK/pp.ini" daemon-a
a=$DAEMON_PID
wait_applied $((n / 10)) 60
start_daemon "$WORK/pp.ini" daemon-b
b=$DAEMON_PID
log "second daemon joined at $(redis_sum events_applied) of $n"
wait_applied $((n * 4 / 10)) 90
stop_daemon "$a" TERM || fail "first daemon exited non-zero"
log "first daemon stopped at $(redis_sum events_applied) of $n"
wait_applied "$n" 120
sleep 3
stop_daemon "$b" TERM || fail "second daemon exited non-zero"
grep -q 'kafka revoking' "$WORK/daemon-a.log" || fail "no rebalance happened"
grep -q 'kafka assigned' "$WORK/daemon-b.log" || fail "second daemon got nothing"
for x in a b; do # each daemon's flow control held partitions back (last progress line, at exit)
    holds=$(grep -h 'msg="progress"' "$WORK/daemon-$x.log" | tail -1 | sed -n 's/.* merge_holds=\([0-9]*\).*/\1/p')
    ((${holds:-0} > 0)) || fail "daemon $x: the merge never held a partition back (merge_holds=${holds:-?})"
    log "daemon $x: merge held partitions back $holds times"
done
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ after the rebalance"
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 8 \
    >"$WORK/moved.alerts.jsonl"

reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/moved.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts across the rebalance differ from the undisturbed replay"
log "PASS"
