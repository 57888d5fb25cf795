#!/usr/bin/env bash
# End to end, in a real browser: the dashboard (`partnerpulse web`) over a
# replayed `gen` history, driven by Playwright in Debian's Chromium
# (tests/e2e/web_browser.py says what it checks). The stack: gen stream plus a
# partner whose display_name is markup -> Kafka -> partnerpulsed (replay) ->
# Redis -> partnerpulse web (with the assets of web/build) -> Chromium. While
# the page is open, one more event (an inbound meeting of a partner whose
# going_dark episode is open) is produced: its RESOLVED must reach the live feed
# within 5 s, without a reload. Screenshots go to $PP_BIN_DIR/screenshots/.
#
# Needs /usr/bin/chromium (deploy/local/install-deps installs it) and PyPI for
# the first run (tests/e2e/web-requirements.txt into .run/web-venv).
TEST_NAME=web_browser
source "$(dirname "$0")/lib.sh"
ROOT="$(cd "$E2E_DIR/../.." && pwd)"
CHROMIUM=${PP_CHROMIUM:-/usr/bin/chromium}
WEB_PID=""
HOSTILE_ID=p9000-hostile
HOSTILE_NAME='<img src=x onerror=alert(1)>'

[[ -x "$CHROMIUM" ]] ||
    fail "Chromium not found at $CHROMIUM: run deploy/local/install-deps (it installs Debian's chromium, which this test drives)"
[[ -f "$PP_BIN_DIR/web/.built" ]] ||
    fail "no dashboard assets in $PP_BIN_DIR/web: build the web_assets target (web/build needs npm)"

# the web server is ours to stop too (lib.sh's cleanup stops the daemons)
stop_web() {
    [[ -n "$WEB_PID" ]] || return 0
    kill -TERM "$WEB_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$WEB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WEB_PID" 2>/dev/null || true
    wait "$WEB_PID" 2>/dev/null || true
    WEB_PID=""
}
trap 'rc=$?; set +e; stop_web; (exit $rc); cleanup' EXIT

# ---- Playwright: a venv with the pinned packages, made once and reused while
# web-requirements.txt is unchanged (as deploy/bench/run does for its peer)
VENV=${PP_WEB_VENV:-$ROOT/.run/web-venv}
python_venv "$VENV" "$E2E_DIR/web-requirements.txt" playwright.sync_api

# ---- the history: 40 gen partners and one with a hostile display name
"$PP" gen --partners 40 --seed 11 --out "$WORK/events.jsonl"
printf '{"type":"partner","event_id":"%s-signed","partner_id":"%s","occurred_at_ms":1767312000000,"kind":"SIGNED","partner_type":"RESELLER","tier":"gold","owner":"<b>owner</b> & co","display_name":"%s"}\n' \
    "$HOSTILE_ID" "$HOSTILE_ID" "$HOSTILE_NAME" >>"$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
create_topics
produce "$WORK/events.jsonl"
log "produced $n events for 41 partners"

write_config "$WORK/daemon.ini" "clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" "${HISTORY_ALERTS[@]}"
start_daemon "$WORK/daemon.ini" daemon
wait_applied "$n" 120
sleep 3 # end of stream: the caught-up timers fire the last deadlines

# ---- the live event: an inbound meeting of a partner that went dark ends its silence
read -r LIVE_ID LIVE_CLOCK < <(E2E_DIR=$E2E_DIR python3 -c '
import os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from ppredis import Redis
r = Redis(port=int(sys.argv[1])); pfx = sys.argv[2]
for pid in sorted(m.decode() for m in r.cmd("ZRANGE", pfx + "health", 0, -1)):
    f = r.hgetall("%spartner:{%s}" % (pfx, pid))
    if "going_dark" in f.get("flags", "").split(","):
        print(pid, f["clock_ms"]); break
' "$PP_TEST_REDIS_PORT" "$REDIS_PREFIX") || fail "no partner with an open going_dark episode in Redis"
printf '{"type":"engagement","event_id":"%s-web-live","partner_id":"%s","occurred_at_ms":%d,"direction":"INBOUND","kind":"MEETING","automated":false}\n' \
    "$LIVE_ID" "$LIVE_ID" "$((LIVE_CLOCK + 60000))" >"$WORK/live.jsonl"
log "live event: an inbound meeting of $LIVE_ID (going_dark open)"

# ---- the dashboard
WEB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/web.ini" <<INI
[redis]
host = 127.0.0.1
port = $PP_TEST_REDIS_PORT
prefix = $REDIS_PREFIX

[web]
listen = 127.0.0.1
port = $WEB_PORT
assets_dir = $PP_BIN_DIR/web
INI
"$PP" web --config "$WORK/web.ini" >>"$WORK/daemon-web.log" 2>&1 &
WEB_PID=$!
for ((i = 0; i < 150; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$WEB_PORT/api/leaderboard?limit=1" && break
    kill -0 "$WEB_PID" 2>/dev/null || fail "partnerpulse web exited at start (log above)"
    sleep 0.2
done
((i < 150)) || fail "partnerpulse web did not answer on port $WEB_PORT within 30 s"
log "partnerpulse web on 127.0.0.1:$WEB_PORT"

# ---- the browser
SHOTS=$PP_BIN_DIR/screenshots
mkdir -p "$SHOTS"
# produce.sh: the live event, with this test's topics (run by web_browser.py)
declare -f produce >"$WORK/produce.sh"
printf 'PP=%q PP_TEST_KAFKA=%q TOPIC_PREFIX=%q\nproduce %q\n' "$PP" "$PP_TEST_KAFKA" "$TOPIC_PREFIX" "$WORK/live.jsonl" >>"$WORK/produce.sh"
timeout 300 "$VENV/bin/python" "$E2E_DIR/web_browser.py" --url "http://127.0.0.1:$WEB_PORT" \
    --redis-port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" --shots "$SHOTS" \
    --hostile-id "$HOSTILE_ID" --hostile-name "$HOSTILE_NAME" \
    --live-partner "$LIVE_ID" --live-rule going_dark --live-cmd "bash $WORK/produce.sh" ||
    fail "the dashboard failed in the browser (screenshots in $SHOTS)"

stop_web
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
log "PASS (screenshots in $SHOTS)"
