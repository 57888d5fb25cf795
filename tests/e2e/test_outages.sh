#!/usr/bin/env bash
# Outages (DESIGN §9 backpressure). While a stream is flowing:
#   1. Redis stops answering for 10 s (SIGSTOP): the daemon pauses
#      consumption, does not crash, commits nothing it has not written and
#      resumes by itself;
#   2. Redis is killed and restarted (AOF, fsync always) after 10 s;
#   3. the Kafka broker is killed and restarted;
# and after each the totals in Redis are exact. The test runs its own
# redis-server and its own Kafka broker so the shared test stack is untouched.
TEST_NAME=outages
source "$(dirname "$0")/lib.sh"

# ---- private Redis (AOF, every write fsynced before it is acknowledged)
RPORT=$((27000 + $$ % 1000))
mkdir -p "$WORK/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes --appendfsync always \
    --save '' --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
DAEMON_PIDS+=("$REDIS_PID")
for _ in $(seq 50); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
PP_TEST_REDIS_PORT=$RPORT # lib helpers (redis_sum, check) read this one

"$PP" gen --partners 200 --seed 11 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"

paced_produce() { # FILE: 10 chunks, 0.5 s apart, in the background
    rm -f "$WORK"/chunk.*
    split -n l/10 -d "$1" "$WORK/chunk."
    (for c in "$WORK"/chunk.*; do produce "$c" || exit 1; sleep 0.5; done) &
    PRODUCER=$!
}

# ---- 1. Redis unresponsive for 10 s
create_topics
write_config "$WORK/pp1.ini" "flush_interval_ms = 20" "batch_max_messages = 500"
sed -i "s/^port = .*/port = $RPORT/; s/^\[redis\]/[redis]\ntimeout_ms = 500/" "$WORK/pp1.ini"
paced_produce "$WORK/events.jsonl"
start_daemon "$WORK/pp1.ini" daemon1
wait_applied 3000 60
kill -STOP "$REDIS_PID"
log "redis stopped (SIGSTOP) for 10 s"
sleep 10
kill -0 "$DAEMON_PID" || fail "daemon died while redis was unavailable"
kill -CONT "$REDIS_PID"
wait "$PRODUCER" || fail "producing failed"
wait_applied "$n" 120
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after the redis pause"
grep -q 'msg="pausing consumption" reason="redis unavailable' "$WORK/daemon1.log" || fail "daemon did not pause"
grep -q 'resuming consumption' "$WORK/daemon1.log" || fail "daemon did not resume"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$RPORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ after the redis pause"

# ---- 2. Redis killed and restarted from its AOF
RUN_ID="$RUN_ID-r2"; TOPIC_PREFIX="$RUN_ID."; REDIS_PREFIX="t:$RUN_ID:"
create_topics
write_config "$WORK/pp2.ini" "flush_interval_ms = 20" "batch_max_messages = 500"
sed -i "s/^port = .*/port = $RPORT/; s/^\[redis\]/[redis]\ntimeout_ms = 500/" "$WORK/pp2.ini"
paced_produce "$WORK/events.jsonl"
start_daemon "$WORK/pp2.ini" daemon2
wait_applied 3000 60
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
log "redis killed; restarting from its AOF in 10 s"
sleep 10
kill -0 "$DAEMON_PID" || fail "daemon died while redis was down"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes --appendfsync always \
    --save '' --daemonize no >>"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
DAEMON_PIDS+=("$REDIS_PID")
for _ in $(seq 100); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done # AOF loaded
wait "$PRODUCER" || fail "producing failed"
wait_applied "$n" 120
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after the redis restart"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$RPORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ after the redis restart"

# ---- 3. Kafka broker killed and restarted (a private broker)
KPORT=$((28000 + ($$ % 400) * 2))
export PP_KAFKA_PORT=$KPORT PP_KAFKA_CONTROLLER_PORT=$((KPORT + 1)) PP_REDIS_PORT=$((RPORT + 1)) \
    PP_RUN_DIR="$WORK/stack" PP_SKIP_DEPS=1
"$E2E_DIR/../../deploy/local/up" >"$WORK/stack-up.log" 2>&1 || { cat "$WORK/stack-up.log"; fail "private stack did not start"; }
trap_down() { PP_RUN_DIR="$WORK/stack" "$E2E_DIR/../../deploy/local/down" >/dev/null 2>&1 || true; }
trap 'trap_down; cleanup' EXIT
PP_TEST_KAFKA=127.0.0.1:$KPORT
RUN_ID="$RUN_ID-k"; TOPIC_PREFIX="$RUN_ID."; REDIS_PREFIX="t:$RUN_ID:"
create_topics
write_config "$WORK/pp3.ini" "flush_interval_ms = 20" "batch_max_messages = 500"
sed -i "s/^port = .*/port = $RPORT/" "$WORK/pp3.ini"
produce "$WORK/events.jsonl"
start_daemon "$WORK/pp3.ini" daemon3
wait_applied 2000 60
kpid=$(cat "$WORK/stack/kafka/kafka.pid")
kill -KILL "$kpid"
log "kafka broker killed (pid $kpid); restarting"
sleep 3
"$E2E_DIR/../../deploy/local/up" >>"$WORK/stack-up.log" 2>&1 || { tail -20 "$WORK/stack-up.log"; fail "broker did not restart"; }
wait_applied "$n" 180
kill -0 "$DAEMON_PID" || fail "daemon died with the broker"
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after the broker restart"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$RPORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ after the broker restart"
log "PASS"
