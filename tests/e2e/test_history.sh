#!/usr/bin/env bash
# History pages no one (DESIGN §7). A backlog of 200 days of event time
# ending now is consumed twice: by a live daemon (clock = live: it must run
# its timers on each partition's watermark while catching up; killed with
# SIGKILL once on the way) and by a replay daemon (a partner cache far too
# small: held-back state goes through eviction and reloads), into their own
# consumer groups, Redis prefixes and alert topics. Both must record the
# same transitions on their pp:alerts stream up to the end of the backlog,
# publish only what publish_max_age lets through plus, once caught up, one
# FIRING per held-back episode still open (none of an episode that closed
# while held back), and after a restart (kill -9 for the live one, SIGTERM
# for the replay) publish nothing again. check_history.py holds the rules.
TEST_NAME=history
source "$(dirname "$0")/lib.sh"

PARTITIONS=6
MAX_AGE=7d
MAX_AGE_MS=$((7 * 86400 * 1000))
now=$(date +%s%3N)
start=$((now - 200 * 86400000))
"$PP" gen --partners 60 --seed 11 --start-ms "$start" --days 200 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
create_topics
"$PP" topics -b "$PP_TEST_KAFKA" -p "${TOPIC_PREFIX}replay." -n "$PARTITIONS" >/dev/null
produce "$WORK/events.jsonl"
log "produced $n events of 60 partners over 200 days ending now"

# config NAME CLOCK ALERTS_TOPIC extra-daemon-lines...
config() {
    local name=$1 clock=$2 topic=$3
    shift 3
    write_config "$WORK/$name.ini" "clock = $clock" "timer_interval_ms = 200" "$@" \
        "[alerts]" "publish_max_age = $MAX_AGE"
    sed -i "s/^group.id = .*/group.id = $RUN_ID-$name/; s/^prefix = .*/prefix = $REDIS_PREFIX$name:/; s/^alerts = .*/alerts = $topic/" "$WORK/$name.ini"
    # static membership: the restarted daemon takes its partitions back at once
    sed -i "s/^\[kafka\]/[kafka]\ngroup.instance.id = $RUN_ID-$name/" "$WORK/$name.ini"
}
# the live daemon starts far behind (lag over backlog_lag_messages); the
# replay daemon keeps 16 of the 60 partners in memory
config live live "${TOPIC_PREFIX}partner.alerts" "backlog_lag_messages = 500" "backlog_flush_interval_ms = 200" \
    "batch_max_messages = 500"
config replay replay "${TOPIC_PREFIX}replay.partner.alerts" "cache_max_partners = 16"

# settled NAME LOG SECONDS: every partition caught up, nothing held back or waiting in an outbox
settled() {
    local name=$1 logf=$2 secs=$3 i caught=0 left=
    for ((i = 0; i < secs * 5; i++)); do
        caught=$(grep -c 'msg="partition caught up' "$WORK/$logf.log" || true)
        if ((caught >= PARTITIONS)); then
            left=$(python3 -c "
import sys; sys.path.insert(0, '$E2E_DIR')
from ppredis import Redis
r = Redis(port=$PP_TEST_REDIS_PORT)
print(sum(r.cmd('HLEN', '$REDIS_PREFIX$name:heldback:%d' % p) + r.cmd('LLEN', '$REDIS_PREFIX$name:outbox:%d' % p)
          for p in range($PARTITIONS)))")
            ((left == 0)) && return 0
        fi
        sleep 0.2
    done
    fail "$name: $caught of $PARTITIONS partitions caught up, ${left:-?} alerts held back or unpublished after ${secs}s"
}

# read_topics SUFFIX: both alert topics, as they are now
read_topics() {
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 6 \
        >"$WORK/live.$1.jsonl" &
    local reader=$!
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}replay.partner.alerts" --from-beginning --json \
        --idle-exit 6 >"$WORK/replay.$1.jsonl"
    wait "$reader"
}

t0=$(date +%s)
start_daemon "$WORK/replay.ini" daemon-replay
replay=$DAEMON_PID
start_daemon "$WORK/live.ini" daemon-live0
live=$DAEMON_PID
# kill -9 the live daemon while it catches up, once its first events are in Redis
for ((i = 0; i < 100; i++)); do
    ((i == 99)) && fail "live: nothing applied within 20 s"
    applied=$(REDIS_PREFIX="${REDIS_PREFIX}live:" redis_sum events_applied)
    ((applied > 0)) && break
    sleep 0.2
done
sleep 0.3
applied=$(REDIS_PREFIX="${REDIS_PREFIX}live:" redis_sum events_applied)
kill -KILL "$live" 2>/dev/null || true
wait "$live" 2>/dev/null || true
log "live: kill -9 with $applied of $n events in Redis"
((applied < n)) || log "note: the kill came after the last event was written"
start_daemon "$WORK/live.ini" daemon-live
live=$DAEMON_PID
REDIS_PREFIX="${REDIS_PREFIX}live:" wait_applied "$n" 120
REDIS_PREFIX="${REDIS_PREFIX}replay:" wait_applied "$n" 120
settled live daemon-live 60
settled replay daemon-replay 60
log "both runs caught up and released in $(($(date +%s) - t0)) s"
read_topics before

# restart: nothing may be published twice
kill -KILL "$live" 2>/dev/null || true
wait "$live" 2>/dev/null || true
stop_daemon "$replay" TERM || fail "replay daemon exited non-zero"
start_daemon "$WORK/live.ini" daemon-live2
live=$DAEMON_PID
start_daemon "$WORK/replay.ini" daemon-replay2
replay=$DAEMON_PID
settled live daemon-live2 60
settled replay daemon-replay2 60
sleep 2 # the outbox sweep after assignment
stop_daemon "$live" TERM || fail "live daemon exited non-zero"
stop_daemon "$replay" TERM || fail "replay daemon exited non-zero"
read_topics after
for name in live replay; do
    grep -q 'partition caught up' "$WORK/daemon-$name.log" || fail "$name: no partition caught up"
done
grep -q 'partition caught up: its timers run on the wall clock' "$WORK/daemon-live.log" ||
    fail "live: no switch to the wall clock logged"
python3 "$E2E_DIR/check_history.py" --events "$WORK/events.jsonl" --partitions "$PARTITIONS" \
    --max-age-ms "$MAX_AGE_MS" --port "$PP_TEST_REDIS_PORT" \
    --run live "${REDIS_PREFIX}live:" "$WORK/live.before.jsonl" "$WORK/live.after.jsonl" --killed live \
    --run replay "${REDIS_PREFIX}replay:" "$WORK/replay.before.jsonl" "$WORK/replay.after.jsonl" ||
    fail "history was not held back as it should"
log "PASS"
