#!/usr/bin/env bash
# End to end: `partnerpulse web` serves what the daemon wrote, read-only.
# gen stream -> Kafka -> partnerpulsed (replay) -> Redis; then the dashboard
# server, configured from the daemon's own INI file plus [web], reads Redis
# as an ACL user that may only read (docs/dashboard.md). Checked:
# check_web_api.py (auth: bearer, cookie flow, 401s; leaderboard totals,
# order, sort, filter, search, paging; partner 200/404/400; alerts; security
# headers; static files without traversal), the SSE feed (a new pp:alerts
# entry arrives as `event: alert` within 5 s, a health change as
# `event: health`), that Redis logged no command the read-only user was
# denied, and a clean stop on SIGTERM with no SSE client left behind.
TEST_NAME=web_api
source "$(dirname "$0")/lib.sh"

R=(redis-cli -p "$PP_TEST_REDIS_PORT")
WEB_USER="webro-$$"
WEB_PW="pw-$RANDOM$RANDOM"
TOKEN="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
WEB_PID=""
# wait_sse PATTERN: up to 5 s for a line of sse.out matching PATTERN
wait_sse() {
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q -- "$1" "$WORK/sse.out" && return 0
        sleep 0.1
    done
    return 1
}
web_cleanup() {
    [[ -n "$WEB_PID" ]] && kill -KILL "$WEB_PID" 2>/dev/null
    "${R[@]}" ACL DELUSER "$WEB_USER" >/dev/null 2>&1 || true
}
trap 'rc=$?; web_cleanup; (exit $rc); cleanup' EXIT

"$PP" gen --partners 60 --seed 7 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
create_topics
produce "$WORK/events.jsonl"
log "produced $n events for 60 partners"
write_config "$WORK/daemon.ini" "clock = replay" "timer_interval_ms = 200" "${HISTORY_ALERTS[@]}"
start_daemon "$WORK/daemon.ini" daemon
wait_applied "$n" 120
sleep 3 # end of stream: the caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
log "daemon applied $n events; $("${R[@]}" XLEN "${REDIS_PREFIX}alerts") alert transitions in the stream"

# a user that may read this test's keys and nothing else
"${R[@]}" ACL SETUSER "$WEB_USER" on ">$WEB_PW" "~${REDIS_PREFIX}*" '&*' +@read +@connection -@write -@admin -@dangerous >/dev/null
"${R[@]}" --user "$WEB_USER" --pass "$WEB_PW" --no-auth-warning SET "${REDIS_PREFIX}probe" 1 2>&1 | grep -q NOPERM ||
    fail "the read-only user could write"
"${R[@]}" ACL LOG RESET >/dev/null

# the daemon's own file, with the web user in [redis] and a [web] section
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/assets/sub"
printf '<!doctype html><title>pp</title>\n' >"$WORK/assets/index.html"
printf 'console.log(1)\n' >"$WORK/assets/app.js"
printf 'x' >"$WORK/assets/data.bin"
printf 'x' >"$WORK/assets/.hidden.js"
ln -s "$WORK/web.ini" "$WORK/assets/link.js"
cp "$WORK/daemon.ini" "$WORK/web.ini"
sed -i "/^prefix = /a user = $WEB_USER\npassword = $WEB_PW" "$WORK/web.ini"
cat >>"$WORK/web.ini" <<INI
[web]
listen = 127.0.0.1
port = $port
token = $TOKEN
assets_dir = $WORK/assets
poll_ms = 200
index_refresh_ms = 5000
INI
"$PP" web --config "$WORK/web.ini" >>"$WORK/daemon-web.log" 2>&1 &
WEB_PID=$!
BASE="http://127.0.0.1:$port"
for ((i = 0; i < 100; i++)); do
    [[ "$(curl -s -m 2 "$BASE/healthz" || true)" == ok ]] && break
    kill -0 "$WEB_PID" 2>/dev/null || fail "partnerpulse web exited at start"
    sleep 0.2
done
[[ "$(curl -s -m 2 "$BASE/healthz")" == ok ]] || fail "/healthz not ok within 20 s"
for ((i = 0; i < 50; i++)); do # the index (the default view is served before it)
    grep -q 'msg="leaderboard index built"' "$WORK/daemon-web.log" && break
    sleep 0.2
done
grep -q 'msg="partnerpulse web started".*auth=token' "$WORK/daemon-web.log" || fail "no start line"
grep -qF -e "$TOKEN" -e "$WEB_PW" "$WORK/daemon-web.log" && fail "a secret is in the log"
log "partnerpulse web on $BASE as Redis user $WEB_USER"

python3 "$E2E_DIR/check_web_api.py" "$BASE" "$TOKEN" "$PP_TEST_REDIS_PORT" "$REDIS_PREFIX" 60 200 || fail "JSON routes"

# SSE: a new alert and a health change arrive on an open stream. The test
# stands in for the daemon here (XADD, HSET + ZADD as the admin user): the
# daemon's replay is over and the web server only reads.
curl -sN -m 12 -H "Authorization: Bearer $TOKEN" "$BASE/api/stream" >"$WORK/sse.out" 2>/dev/null &
SSE_PID=$!
sleep 1
victim=$("${R[@]}" ZRANGE "${REDIS_PREFIX}health" 0 0)
alert_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
t0=$(date +%s%N)
"${R[@]}" XADD "${REDIS_PREFIX}alerts" '*' alert_id "$alert_id" partner_id "$victim" rule going_dark severity WARNING \
    status FIRING value 31.000 threshold 20.000 message 'test alert <b>"quoted"</b>' started_at_ms 1 event_time_ms 1 \
    emitted_at_ms 1 health 12.5 evidence timer published 1 config_version 0 >/dev/null
wait_sse "\"alert_id\":\"$alert_id\"" || true
grep -B2 "\"alert_id\":\"$alert_id\"" "$WORK/sse.out" | grep -q '^event: alert' || fail "no 'event: alert' within 5 s"
log "SSE: event: alert after $((($(date +%s%N) - t0) / 1000000)) ms"
"${R[@]}" HSET "${REDIS_PREFIX}partner:{$victim}" health 1.5 >/dev/null
"${R[@]}" ZADD "${REDIS_PREFIX}health" 1.5 "$victim" >/dev/null
wait_sse "\"id\":\"$victim\",.*\"health\":1.5" || true
grep -B1 "\"id\":\"$victim\",.*\"health\":1.5" "$WORK/sse.out" | grep -q '^event: health' || fail "no 'event: health' within 5 s"
log "SSE: event: health for $victim"
# reconnecting with Last-Event-ID catches up on what came after it
before=$(grep -m1 '^id: ' "$WORK/sse.out" | cut -c5-)
curl -sN -m 2 -H "Authorization: Bearer $TOKEN" -H "Last-Event-ID: 0-1" "$BASE/api/stream" >"$WORK/sse2.out" 2>/dev/null || true
grep -q "^id: $before" "$WORK/sse2.out" || fail "Last-Event-ID: no catch-up"
kill "$SSE_PID" 2>/dev/null || true
wait "$SSE_PID" 2>/dev/null || true

# read-only: every route answered as a user that cannot write, and Redis
# denied it nothing
denials=$("${R[@]}" ACL LOG 100 | grep -c -- "$WEB_USER" || true)
((denials == 0)) || { "${R[@]}" ACL LOG 10; fail "Redis denied the web user $denials command(s)"; }

sleep 2 # closed SSE clients leave within a second
stop_daemon "$WEB_PID" TERM || fail "partnerpulse web exited non-zero on SIGTERM"
WEB_PID=""
grep -q 'msg="stopping" signal=SIGTERM sse_clients=0' "$WORK/daemon-web.log" ||
    fail "SSE clients still connected after their peers closed: $(grep 'msg="stopping"' "$WORK/daemon-web.log")"
log "PASS"
