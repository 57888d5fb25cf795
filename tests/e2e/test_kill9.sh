#!/usr/bin/env bash
# Exactly-once effect under kill -9 (DESIGN §9). >= 100 000 events are
# streamed through partnerpulsed while it is killed with SIGKILL at 5 random
# moments (each while work is in flight) and restarted each time. At the end every partner's totals in Redis equal
# those computed independently from the input, and the alerts on the topic
# are exactly the episodes of an undisturbed reference replay of the same
# input: each at least once, never under two different ids.
TEST_NAME=kill9
source "$(dirname "$0")/lib.sh"

"$PP" gen --partners 1500 --seed 99 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
((n >= 100000)) || fail "gen produced only $n events"
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
produce "$WORK/events.jsonl" # the whole history first: replay is then deterministic
log "$n events for 1500 partners"

write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" \
    "backlog_flush_interval_ms = 100" "batch_max_messages = 500" "merge_idle_ms = 10000" \
    "[alerts]" "publish_max_age = 0" # months-old history: every episode is published and compared
# static membership: a restarted daemon takes its partitions back at once
sed -i "s/^\[kafka\]/[kafka]\ngroup.instance.id = $RUN_ID-1/" "$WORK/pp.ini"
RANDOM=4242 # reproducible kill moments
start_daemon "$WORK/pp.ini" daemon-0
for i in 1 2 3 4 5; do
    # a random moment 0.4-1.2 s into each run: joining, applying or flushing
    d=$((400 + RANDOM % 800))
    sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
    applied=$(redis_sum events_applied)
    ((applied < n)) || log "note: kill #$i came after the last event was written"
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    log "kill -9 #$i with $applied of $n events in Redis"
    start_daemon "$WORK/pp.ini" "daemon-$i"
done
wait_applied "$n" 180
# and once more right at the end, before the end-of-stream timers ran: the
# restarted daemon consumes nothing and must still fire the last deadlines
# (its timers resume at the watermark kept with the offsets of record)
kill -KILL "$DAEMON_PID" 2>/dev/null || true
wait "$DAEMON_PID" 2>/dev/null || true
log "kill -9 #6 with every event in Redis"
start_daemon "$WORK/pp.ini" daemon-6
sleep 3 # end of stream: caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "final daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ after kill -9"
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 8 \
    >"$WORK/killed.alerts.jsonl"

# the yardstick: the same history replayed once, undisturbed
reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/killed.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts after kill -9 differ from the undisturbed replay"
log "PASS"
