#!/usr/bin/env bash
# A zombie never overwrites the new owner (issue 12, item 5). Two daemons in
# one consumer group (as test_rebalance.sh) share a stream; daemon A, holding
# unflushed work (flushes once a second), is SIGSTOPped past
# session.timeout.ms (6 s) while B is given A's partitions and applies more
# events of them; then A is SIGCONTed: it may resume a flush of its stale
# cache, sweep an outbox, or commit - with owner epochs it must write nothing
# for partitions it lost. Both then run to the end of the stream. At the end:
# exact totals and the alert episodes of an undisturbed replay (none lost,
# none published under two ids). A private redis-server, no persistence.
TEST_NAME=zombie
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

free_port RPORT
redis_start r "$RPORT"
PP_TEST_REDIS_PORT=$RPORT

"$PP" gen --partners 900 --seed 61 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
produce "$WORK/events.jsonl" # the whole history first: replay is then deterministic
log "$n events for 900 partners"

CONF=("clock = replay" "timer_interval_ms = 200" "batch_max_messages = 200" "merge_idle_ms = 10000")
write_config "$WORK/a.ini" "${CONF[@]}" "flush_interval_ms = 1000" "backlog_flush_interval_ms = 1000" \
    "outbox_interval_ms = 500" "${HISTORY_ALERTS[@]}"
write_config "$WORK/b.ini" "${CONF[@]}" "flush_interval_ms = 20" "${HISTORY_ALERTS[@]}"
for f in a b; do
    point_config "$WORK/$f.ini" "$RPORT"
    sed -i 's/^session.timeout.ms = .*/session.timeout.ms = 6000/' "$WORK/$f.ini"
done
start_daemon "$WORK/a.ini" daemon-a
a=$DAEMON_PID
wait_applied $((n / 10)) 60
start_daemon "$WORK/b.ini" daemon-b
b=$DAEMON_PID
for ((i = 0; i < 300; i++)); do # B gets its share (bounded, 30 s)
    grep -q 'kafka assigned' "$WORK/daemon-b.log" 2>/dev/null && break
    sleep 0.1
done
grep -q 'kafka assigned' "$WORK/daemon-b.log" || fail "daemon B got no partitions within 30 s"
wait_applied $((n * 3 / 10)) 60
before=$(redis_sum events_applied)
kill -STOP "$a"
log "daemon A SIGSTOPped at $before of $n events in Redis"
assigned0=$(grep -c 'kafka assigned' "$WORK/daemon-b.log")
for ((i = 0; i < 300; i++)); do # B takes A's partitions (session timeout 6 s; bounded, 30 s)
    (($(grep -c 'kafka assigned' "$WORK/daemon-b.log") > assigned0)) && break
    sleep 0.1
done
(($(grep -c 'kafka assigned' "$WORK/daemon-b.log") > assigned0)) || fail "B was not given A's partitions within 30 s"
# B applies more, A's partners among them (A, flushing once a second, may
# have had most of the stream in Redis already when it was stopped)
more=$((before + n / 10))
((more > n)) && more=$n
wait_applied "$more" 60
sleep 2
log "B took over; $(redis_sum events_applied) of $n events in Redis; SIGCONT to A"
kill -CONT "$a"
got=$(wait_settled "$n" 180)
log "settled at $got of $n events applied"
sleep 3 # end of stream: caught-up timers fire the last deadlines
stop_daemon "$a" TERM || log "note: daemon A exited non-zero after it lost its partitions"
stop_daemon "$b" TERM || fail "daemon B exited non-zero"
check_end "$WORK/expected.json" "$WORK/zombie.alerts.jsonl"
reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/zombie.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts around the zombie differ from the undisturbed replay"
log "PASS"
