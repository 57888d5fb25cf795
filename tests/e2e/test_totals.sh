#!/usr/bin/env bash
# End to end through the real broker and real Redis: a generated stream of
# >= 10 000 events is produced, partnerpulsed applies it, and every partner's
# totals in Redis must equal totals computed independently from the JSON
# (expected_totals.py). Two runs:
#   1. one daemon run over the whole stream, stopped with SIGTERM;
#   2. fresh topics: half the stream, SIGTERM while the second half is being
#      produced and consumed, restart, and the totals must still be exact.
TEST_NAME=totals
source "$(dirname "$0")/lib.sh"

"$PP" gen --partners 100 --seed 42 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
((n >= 10000)) || fail "gen produced only $n events"
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
log "generated $n events for 100 partners"

# ---- run 1: whole stream, one daemon
create_topics
produce "$WORK/events.jsonl"
write_config "$WORK/pp.ini"
start_daemon "$WORK/pp.ini" daemon1
wait_applied "$n" 90
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after SIGTERM"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "run 1: totals differ"
grep -q 'msg="exit" status=0' "$WORK/daemon1.log" || fail "run 1: no clean exit logged"

# ---- run 2: SIGTERM halfway, restart
RUN_ID="$RUN_ID-r2"
TOPIC_PREFIX="$RUN_ID."
REDIS_PREFIX="t:$RUN_ID:"
create_topics
half=$((n / 2))
head -n "$half" "$WORK/events.jsonl" >"$WORK/first.jsonl"
tail -n +"$((half + 1))" "$WORK/events.jsonl" >"$WORK/second.jsonl"
produce "$WORK/first.jsonl"
write_config "$WORK/pp2.ini" "flush_interval_ms = 20" "batch_max_messages = 200"
start_daemon "$WORK/pp2.ini" daemon2
wait_applied "$half" 90
# the second half arrives in 10 paced chunks, so the stop lands mid-stream
split -n l/10 -d "$WORK/second.jsonl" "$WORK/chunk."
(for c in "$WORK"/chunk.*; do produce "$c" && sleep 0.3 || exit 1; done) &
producer=$!
wait_applied "$((half + 1000))" 90 # the daemon is now inside the second half
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after SIGTERM mid-stream"
mid=$(redis_sum events_applied)
log "stopped mid-stream with $mid of $n events applied"
((mid > half && mid < n)) || log "note: stop landed at $mid (not strictly inside the second half)"
wait "$producer" || fail "producing the second half failed"
start_daemon "$WORK/pp2.ini" daemon3
wait_applied "$n" 90
stop_daemon "$DAEMON_PID" TERM || fail "restarted daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "run 2 (SIGTERM + restart): totals differ"
log "PASS"
