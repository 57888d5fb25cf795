#!/usr/bin/env bash
# Redis forgets its last second (issue 12, item 8). A private redis-server
# runs with the usual persistence, `appendonly yes` + `appendfsync everysec`.
# A >= 200 000-event gen stream (330 days, ending before today) is produced,
# then the daemon catches up on it; at 5 random moments of the catch-up Redis
# is SIGKILLed and restarted from its AOF on the same port, the daemon running
# all along.
#
# A SIGKILL alone loses nothing (the AOF was write()n, only its fsync is once
# a second; the page cache survives a killed process): what everysec loses is
# a machine crash's last second. So after each kill the AOF's incr file is cut
# back to the size it had 0.3-1 s before the kill: a prefix of what
# Redis acknowledged, exactly the state a power cut would leave (Redis loads a
# cut command or MULTI block by dropping it: aof-load-truncated). Acknowledged
# writes, offsets of record included, are lost while Kafka's committed offsets
# are already past them; the daemon must notice (run id changed / offsets
# behind what it wrote) and re-read from Redis's offsets.
# At the end: exact totals (expected_totals.py) and the alert episodes of an
# undisturbed replay, none lost, none under two ids.
# Release build only (PP_SLOW_E2E=skip in sanitizer builds, tests/CMakeLists.txt).
TEST_NAME=redis_aof
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"
if [[ "${PP_SLOW_E2E:-run}" == skip ]]; then # tests/CMakeLists.txt sets it in sanitizer builds
    log "SKIP (sanitizer build: the >= 200 000-event stream runs in the release build)"
    exit 0
fi

free_port RPORT
RARGS=(--appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0 --aof-load-truncated yes)
redis_start r "$RPORT" "${RARGS[@]}"
PP_TEST_REDIS_PORT=$RPORT
AOFDIR=$(redis_dir r)/appendonlydir

"$PP" gen --partners 520 --days 330 --seed 31 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
((n >= 200000)) || fail "gen produced only $n events"
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
create_topics
produce "$WORK/events.jsonl" # the whole history first: replay is then deterministic
log "$n events for 520 partners"

write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 50" \
    "backlog_flush_interval_ms = 200" "batch_max_messages = 1000" "merge_idle_ms = 10000" "${HISTORY_ALERTS[@]}"
point_config "$WORK/pp.ini" "$RPORT"
start_daemon "$WORK/pp.ini" daemon
# 5 random moments of the catch-up: when the events in Redis pass 5 random
# points between 10 % and 90 % of the stream
RANDOM=777
mapfile -t points < <(for i in 1 2 3 4 5; do echo $((n / 10 + RANDOM * (n * 8 / 10 / 5) / 32768 + (i - 1) * n * 8 / 10 / 5)); done)
incr_file() { ls -t "$AOFDIR"/*.incr.aof 2>/dev/null | head -1; }
for i in 1 2 3 4 5; do
    last=-1 still=0
    for ((t = 0; t < 600; t++)); do # bounded, 120 s
        got=$(redis_sum events_applied)
        ((got >= points[i - 1])) && break
        ((got == last)) && ((++still >= 75)) && break # no progress for 15 s: Redis lost it for good
        ((got == last)) || still=0
        last=$got
        sleep 0.2
    done
    ((got >= points[i - 1])) || log "note: kill #$i at $got events in Redis (the daemon stopped short of ${points[i - 1]})"
    f=$(incr_file)
    before=$(stat -c %s "$f")
    d=$((300 + RANDOM % 700)) # the last 0.3-1 s, which a machine crash would lose
    sleep "0.$(printf '%03d' "$d")"
    applied=$(redis_sum events_applied)
    redis_kill r KILL
    size=$(stat -c %s "$f")
    truncate -s "$before" "$f"
    log "redis SIGKILL #$i at $applied of $n events in Redis; AOF cut from $size to $before bytes"
    d=$((RANDOM % 1000)) # down for up to 1 s
    sleep "0.$(printf '%03d' "$d")"
    kill -0 "$DAEMON_PID" || fail "daemon died while redis was down"
    redis_start r "$RPORT" "${RARGS[@]}"
    log "redis restarted from its AOF with $(redis_sum events_applied) events applied"
done
got=$(wait_settled "$n" 240)
log "settled at $got of $n events applied"
kill -0 "$DAEMON_PID" || fail "daemon exited"
sleep 3 # end of stream: caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
check_end "$WORK/expected.json" "$WORK/aof.alerts.jsonl"
reference_replay "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/aof.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts across the Redis crashes differ from the undisturbed replay"
log "PASS"
