#!/usr/bin/env bash
# Upgrades keep state (DESIGN §9, issue 12): stored state blobs as the daemon
# finds them in Redis after an upgrade, a disk fault or a downgrade.
#   1. a blob of the previous layout (tests/fixtures/state_v8.bin, written by
#      the version-8 code) loads, migrates and goes on: after one more event
#      the partner's hash equals the one the same history gives from the
#      current layout's fixture (state_v9.bin);
#   2. a corrupt blob is moved aside (pp:corrupt:{id}:<ms>, kept byte for
#      byte), counted, and the partner starts from empty state;
#   3. a blob of an unknown, newer layout stops the daemon (exit status 4)
#      with a sentence, and is never overwritten.
TEST_NAME=state_blobs
source "$(dirname "$0")/lib.sh"

FIX="$E2E_DIR/../fixtures"
[[ -f "$FIX/state_v8.bin" && -f "$FIX/state_v9.bin" ]] || fail "blob fixtures missing in $FIX"
RCLI=(redis-cli -p "$PP_TEST_REDIS_PORT" --no-raw)
create_topics
now=$(date +%s%3N)
event() { # event PARTNER ID
    printf '{"type":"engagement","event_id":"%s","partner_id":"%s","occurred_at_ms":%s,"thread_id":"t-%s","direction":"INBOUND","kind":"MESSAGE","automated":false}\n' \
        "$2" "$1" "$now" "$2"
}
hget() { redis-cli -p "$PP_TEST_REDIS_PORT" --raw HGET "$1partner:{$2}" "$3"; }

# run_with PREFIX BLOB: the fixture partner's blob under PREFIX, one event, a daemon run
run_with() {
    local prefix=$1 blob=$2 name=$3
    redis-cli -p "$PP_TEST_REDIS_PORT" -x SET "${prefix}state:{fixture-partner-1}" <"$blob" >/dev/null
    write_config "$WORK/$name.ini" "[http]" "port = 0"
    sed -i "s/^prefix = .*/prefix = $prefix/; s/^group.id = .*/group.id = $RUN_ID-$name/" "$WORK/$name.ini"
    start_daemon "$WORK/$name.ini" "daemon-$name"
}

# ---- 1 and 2: previous layout, and a corrupt blob
event fixture-partner-1 after-upgrade-1 >"$WORK/events.jsonl"
event p-corrupt after-fault-1 >>"$WORK/events.jsonl"
event p-ok fine-1 >>"$WORK/events.jsonl"
produce "$WORK/events.jsonl"
printf 'PPST\x09\x00\x00\x00this is not a state' | redis-cli -p "$PP_TEST_REDIS_PORT" -x SET "${REDIS_PREFIX}v8:state:{p-corrupt}" >/dev/null
run_with "${REDIS_PREFIX}v8:" "$FIX/state_v8.bin" v8
pid_v8=$DAEMON_PID
run_with "${REDIS_PREFIX}v9:" "$FIX/state_v9.bin" v9
pid_v9=$DAEMON_PID
for ((i = 0; i < 300; i++)); do
    [[ "$(hget "${REDIS_PREFIX}v8:" p-ok events_applied)" == 1 && "$(hget "${REDIS_PREFIX}v9:" p-ok events_applied)" == 1 &&
       -n "$(hget "${REDIS_PREFIX}v8:" fixture-partner-1 events_applied)" &&
       -n "$(hget "${REDIS_PREFIX}v9:" fixture-partner-1 events_applied)" ]] && break
    sleep 0.2
done
stop_daemon "$pid_v8" TERM || fail "daemon (v8 fixture) exited non-zero"
stop_daemon "$pid_v9" TERM || fail "daemon (v9 fixture) exited non-zero"
n8=$(hget "${REDIS_PREFIX}v8:" fixture-partner-1 events_applied)
n9=$(hget "${REDIS_PREFIX}v9:" fixture-partner-1 events_applied)
log "fixture partner after one more event: events_applied v8-migrated=$n8 v9=$n9"
[[ -n "$n8" && "$n8" -gt 1 ]] || fail "the version-8 blob was not loaded (events_applied=$n8): history lost"
for f in events_applied health rag flags deals_open engagements_inbound threads_awaiting_us why_1 last_event_id; do
    a=$(hget "${REDIS_PREFIX}v8:" fixture-partner-1 "$f")
    b=$(hget "${REDIS_PREFIX}v9:" fixture-partner-1 "$f")
    [[ "$a" == "$b" ]] || fail "field $f differs after migration: from v8 '$a', from v9 '$b'"
done
log "version-8 blob migrated: the hash equals the current layout's"

moved=$(redis-cli -p "$PP_TEST_REDIS_PORT" --raw KEYS "${REDIS_PREFIX}v8:corrupt:{p-corrupt}:*")
[[ -n "$moved" ]] || fail "the corrupt blob was not moved aside"
redis-cli -p "$PP_TEST_REDIS_PORT" --raw GET "$moved" | grep -aq 'this is not a state' ||
    fail "the corrupt blob moved aside is not the original bytes"
[[ "$(hget "${REDIS_PREFIX}v8:" p-corrupt events_applied)" == 1 ]] || fail "the partner with a corrupt blob did not start afresh"
grep -q 'stored state unreadable: moved aside' "$WORK/daemon-v8.log" || fail "no log line for the corrupt blob"
log "corrupt blob moved aside to $moved, partner restarted from empty state"

# ---- 3: a blob of a newer layout stops the daemon, untouched
python3 - "$FIX/state_v9.bin" "$WORK/newer.bin" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[4] = 99 # layout version 99
open(sys.argv[2], "wb").write(b)
PY
event fixture-partner-1 after-downgrade-1 | produce -
run_with "${REDIS_PREFIX}new:" "$WORK/newer.bin" new
st=0
for ((i = 0; i < 300; i++)); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.2
done
kill -0 "$DAEMON_PID" 2>/dev/null && fail "daemon still running 60 s after meeting a newer blob"
wait "$DAEMON_PID" || st=$?
[[ $st -eq 4 ]] || fail "daemon exited with status $st, expected 4"
grep -q 'written by a newer partnerpulsed' "$WORK/daemon-new.log" || fail "no sentence naming the newer layout"
redis-cli -p "$PP_TEST_REDIS_PORT" --raw GET "${REDIS_PREFIX}new:state:{fixture-partner-1}" | head -c -1 >"$WORK/after.bin"
cmp -s "$WORK/after.bin" "$WORK/newer.bin" || fail "the newer blob was overwritten"
log "newer blob: daemon stopped with status 4, blob untouched"
log "PASS"
