#!/usr/bin/env bash
# Redis goes back in time (issue 12, item 1): Kafka's committed offsets are
# past writes that Redis no longer has. Three runs, each on fresh topics, a
# fresh consumer group and private redis-servers:
#   a1. RDB restore, daemon running: a snapshot (SAVE; dump.rdb copied aside)
#       is taken mid-stream; once the daemon has applied and committed the
#       end, Redis is stopped, the old dump copied back and Redis started on
#       the same port (RDB only, no AOF). The daemon, running all along, must
#       notice (run id / marker / offsets behind what it wrote), drop its
#       cache and re-read from Redis's offsets of record;
#   a2. the same with the daemon stopped (SIGTERM) before the restore and
#       started again after it;
#   b.  replica promotion: a replica (`replicaof` the primary) is cut off
#       mid-stream with `REPLICAOF NO ONE` (promoted, missing the last
#       writes); the daemon finishes on the primary, is stopped, pointed at
#       the promoted replica (its [redis] port) and restarted.
# Each ends with exact totals (expected_totals.py vs the Redis the daemon
# ends on) and the alert episodes of an undisturbed replay (none lost, none
# published under two ids). Measured with the pre-issue-12 daemon: a restore
# from a mid-stream snapshot leaves events missing for good.
TEST_NAME=redis_restore
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

"$PP" gen --partners 300 --seed 71 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
CONF=("clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" "backlog_flush_interval_ms = 100"
    "batch_max_messages = 200" "merge_idle_ms = 10000" "${HISTORY_ALERTS[@]}")
BASE_RUN_ID=$RUN_ID
log "$n events for 300 partners per run"

# new_run NAME: fresh topics (the whole stream on them), group and key prefix
new_run() {
    RUN_ID="$BASE_RUN_ID-$1"
    TOPIC_PREFIX="$RUN_ID."
    REDIS_PREFIX="t:$RUN_ID:"
    create_topics
    produce "$WORK/events.jsonl"
}

# finish NAME: exact totals on $PP_TEST_REDIS_PORT, alerts as an undisturbed
# replay; a run that fails is recorded in FAILED and the next run goes on (the
# test fails at the end, naming every run that failed)
FAILED=()
finish() {
    if ! python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX"; then
        log "$1: FAIL: totals differ from the oracle (expected_totals.py)"
        FAILED+=("$1: totals")
        return 0
    fi
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 8 \
        >"$WORK/$1.alerts.jsonl"
    reference_replay "$n" "$WORK/$1.ref.alerts.jsonl"
    if ! python3 "$E2E_DIR/check_alerts.py" "$WORK/$1.alerts.jsonl" --same-as "$WORK/$1.ref.alerts.jsonl"; then
        log "$1: FAIL: alerts differ from the undisturbed replay"
        FAILED+=("$1: alerts")
        return 0
    fi
    log "$1: PASS"
}

# rdb_run NAME RESTART(0|1)
rdb_run() {
    local name=$1 restart=$2 port snap got
    free_port port
    redis_start "$name" "$port" # RDB only: SAVE writes dump.rdb
    PP_TEST_REDIS_PORT=$port
    new_run "$name"
    write_config "$WORK/$name.ini" "${CONF[@]}"
    point_config "$WORK/$name.ini" "$port"
    start_daemon "$WORK/$name.ini" "daemon-$name"
    wait_applied $((n * 4 / 10)) 90
    redis_cli "$name" save >/dev/null
    snap=$(redis_sum events_applied)
    cp "$(redis_dir "$name")/dump.rdb" "$WORK/$name.snapshot.rdb"
    log "$name: snapshot with $snap of $n events"
    wait_applied "$n" 120
    sleep 3 # the end flushed and its offsets committed
    if ((restart)); then
        stop_daemon "$DAEMON_PID" TERM || fail "$name: daemon exited non-zero before the restore"
    fi
    redis_stop "$name"
    cp "$WORK/$name.snapshot.rdb" "$(redis_dir "$name")/dump.rdb"
    redis_start "$name" "$port"
    log "$name: redis restored from the snapshot: $(redis_sum events_applied) of $n events"
    ((restart)) && start_daemon "$WORK/$name.ini" "daemon-$name-2"
    got=$(wait_settled "$n" 120)
    log "$name: settled at $got of $n events"
    kill -0 "$DAEMON_PID" || fail "$name: daemon exited after the restore"
    sleep 3
    stop_daemon "$DAEMON_PID" TERM || fail "$name: daemon exited non-zero"
    finish "$name"
}

rdb_run a1-rdb-running 0
rdb_run a2-rdb-restarted 1

# ---- b. replica promoted after missing the last writes
free_port pport
redis_start b-primary "$pport"
free_port rport
redis_start b-replica "$rport" --replicaof 127.0.0.1 "$pport"
PP_TEST_REDIS_PORT=$pport
new_run b-replica
write_config "$WORK/b.ini" "${CONF[@]}"
point_config "$WORK/b.ini" "$pport"
start_daemon "$WORK/b.ini" daemon-b
for ((i = 0; i < 100; i++)); do # the replica is in sync (bounded, 10 s)
    redis_cli b-replica info replication | grep -q 'master_link_status:up' && break
    sleep 0.1
done
redis_cli b-replica info replication | grep -q 'master_link_status:up' || fail "b: replica not linked within 10 s"
wait_applied $((n * 6 / 10)) 90
redis_cli b-replica replicaof no one >/dev/null
PP_TEST_REDIS_PORT=$rport
cut=$(redis_sum events_applied)
PP_TEST_REDIS_PORT=$pport
log "b: replica cut off and promoted with $cut of $n events"
wait_applied "$n" 120
sleep 3 # the end flushed and its offsets committed
stop_daemon "$DAEMON_PID" TERM || fail "b: daemon exited non-zero on the primary"
redis_stop b-primary
point_config "$WORK/b.ini" "$rport"
PP_TEST_REDIS_PORT=$rport
start_daemon "$WORK/b.ini" daemon-b-2
got=$(wait_settled "$n" 120)
log "b: on the promoted replica, settled at $got of $n events"
kill -0 "$DAEMON_PID" || fail "b: daemon exited on the promoted replica"
sleep 3
stop_daemon "$DAEMON_PID" TERM || fail "b: daemon exited non-zero on the promoted replica"
finish b-replica
((${#FAILED[@]} == 0)) || fail "$(IFS=,; echo "${FAILED[*]}")"
log "PASS"
