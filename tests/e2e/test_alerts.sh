#!/usr/bin/env bash
# End to end, replay mode: the `gen` archetypes raise exactly their expected
# red flags on the alert topic (healthy partners: none), every episode has one
# FIRING and at most one RESOLVED, and a second replay of the same history
# with different batching publishes the same alert ids (deterministic) and
# leaves the same partner hashes: run one flushes every 5 ms without ever
# being "behind" (each flush writes only the changed fields of each partner),
# run two in tiny batches that count as catching up (backlog_lag_messages = 1:
# whole field groups).
TEST_NAME=alerts
source "$(dirname "$0")/lib.sh"

"$PP" gen --partners 60 --seed 7 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
create_topics
produce "$WORK/events.jsonl"
log "produced $n events for 60 partners"

run_replay() { # NAME ALERTS_TOPIC extra-config...
    local name=$1 topic=$2
    shift 2
    # the gen history is months old: publish it all (publish_max_age = 0), the
    # archetypes' flags are what is checked here (test_history.sh: holding back)
    write_config "$WORK/$name.ini" "clock = replay" "timer_interval_ms = 200" "$@" "${HISTORY_ALERTS[@]}"
    sed -i "s/^group.id = .*/group.id = $RUN_ID-$name/; s/^prefix = .*/prefix = $REDIS_PREFIX$name:/; s/^alerts = .*/alerts = $topic/" "$WORK/$name.ini"
    start_daemon "$WORK/$name.ini" "daemon-$name"
    local pid=$DAEMON_PID
    local saved=$REDIS_PREFIX
    REDIS_PREFIX="$REDIS_PREFIX$name:"
    wait_applied "$n" 120
    REDIS_PREFIX=$saved
    sleep 3 # end of stream: the caught-up timers fire the last deadlines
    stop_daemon "$pid" TERM || fail "$name: daemon exited non-zero"
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "$topic" --from-beginning --json --idle-exit 6 >"$WORK/$name.alerts.jsonl"
}

run_replay one "${TOPIC_PREFIX}partner.alerts" "batch_max_messages = 50" "flush_interval_ms = 5"
"$PP" topics -b "$PP_TEST_KAFKA" -p "${TOPIC_PREFIX}two." >/dev/null
run_replay two "${TOPIC_PREFIX}two.partner.alerts" "batch_max_messages = 37" "flush_interval_ms = 5" "backlog_lag_messages = 1"

python3 "$E2E_DIR/compare_hashes.py" "$PP_TEST_REDIS_PORT" "${REDIS_PREFIX}one:" "${REDIS_PREFIX}two:" ||
    fail "partner hashes differ between the two replays"
# run one must have written changed fields only, not whole partners (76 fields each)
grep -h 'msg="progress"' "$WORK/daemon-one.log" | tail -1 | python3 -c '
import re, sys
l = sys.stdin.read(); p = int(re.search(r"flushed_partners=(\d+)", l)[1]); f = int(re.search(r"fields_written=(\d+)", l)[1])
print("run one: %d partner writes, %.1f hash fields each" % (p, f / max(p, 1)))
sys.exit(0 if p > 0 and f < 57 * p else 1)' || fail "run one did not write changed fields only"
# the CLI shows the daily trend and the health as of a past day (a point of the trend)
pid=$(redis-cli -p "$PP_TEST_REDIS_PORT" --raw ZRANGE "${REDIS_PREFIX}one:health" 0 0)
point=$(redis-cli -p "$PP_TEST_REDIS_PORT" --raw ZRANGE "${REDIS_PREFIX}one:trend:{$pid}" -2 -2)
day=$(python3 -c "import datetime,sys; print(datetime.date(1970,1,1)+datetime.timedelta(days=int(sys.argv[1])))" "${point%%:*}")
"$PP" show -p "$PP_TEST_REDIS_PORT" -P "${REDIS_PREFIX}one:" --as-of "$day" "$pid" >"$WORK/show.txt" || fail "show $pid failed"
grep -q "trend (health" "$WORK/show.txt" || fail "show prints no trend: $(cat "$WORK/show.txt")"
grep -qF "health as of $day: ${point#*:}" "$WORK/show.txt" ||
    fail "show --as-of $day: want ${point#*:}, got: $(grep 'as of' "$WORK/show.txt")"
log "show $pid: $(grep -A1 'trend (health' "$WORK/show.txt" | tr -s ' ' | tr '\n' ' ')"
python3 "$E2E_DIR/check_alerts.py" "$WORK/one.alerts.jsonl" || fail "run one: wrong alerts"
python3 "$E2E_DIR/check_alerts.py" "$WORK/two.alerts.jsonl" --same-as "$WORK/one.alerts.jsonl" ||
    fail "run two differs from run one"
log "PASS"
