# tests/e2e/lib.sh - helpers shared by the end-to-end test scripts.
#
# Expects (set by tests/CMakeLists.txt through ctest):
#   PP_BIN_DIR            directory with partnerpulsed and partnerpulse
#   PP_TEST_KAFKA         bootstrap of the test broker (from the stack fixture)
#   PP_TEST_REDIS_PORT    port of the test redis-server
# Each test gets its own topics (prefix), consumer group, Redis key prefix and
# work dir, so tests never see each other's data. Every wait is bounded.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${PP_BIN_DIR:?PP_BIN_DIR not set}"
: "${PP_TEST_KAFKA:?PP_TEST_KAFKA not set}"
: "${PP_TEST_REDIS_PORT:?PP_TEST_REDIS_PORT not set}"
PP=$PP_BIN_DIR/partnerpulse
PPD=$PP_BIN_DIR/partnerpulsed
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
RUN_ID="${TEST_NAME}-$$-$(date +%s%N | tail -c 7)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pp-e2e-${TEST_NAME}.XXXXXX")
TOPIC_PREFIX="$RUN_ID."
REDIS_PREFIX="t:$RUN_ID:"
DAEMON_PIDS=()

log() { printf '[%s %s] %s\n' "$TEST_NAME" "$(date +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
    local rc=$?
    for pid in "${DAEMON_PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done
    # sanitizer reports in any daemon log fail the test
    if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK"/daemon*.log 2>/dev/null; then
        log "sanitizer report found:"
        grep -hE -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK"/daemon*.log | head -80
        rc=1
    fi
    if [[ $rc -ne 0 ]]; then
        for f in "$WORK"/daemon*.log; do
            [[ -f "$f" ]] || continue
            log "--- tail of $f"
            tail -25 "$f"
        done
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT

# create_topics: this test's own topics
create_topics() {
    "$PP" topics -b "$PP_TEST_KAFKA" -p "$TOPIC_PREFIX" -n "${PARTITIONS:-6}" >/dev/null
}

# CURRENCY_INI: the [currency] section gen streams need (reporting USD; EUR, JPY
# and KWD amounts), as `partnerpulse gen --print-currency-config` prints it: the
# one copy of the rates (docs/gen.md). write_config puts it into every daemon
# config and expected_totals hands it to the oracle, so both convert alike.
CURRENCY_INI=$WORK/currency.ini
"$PP" gen --print-currency-config >"$CURRENCY_INI" || fail "partnerpulse gen --print-currency-config failed"

# expected_totals EVENTS OUT: the oracle's per-partner totals for EVENTS (a gen
# stream), amounts converted at the rates of CURRENCY_INI
expected_totals() {
    python3 "$E2E_DIR/expected_totals.py" "$1" --config "$CURRENCY_INI" >"$2" || fail "expected_totals.py failed on $1"
}

# write_config FILE [extra INI lines...]
# The extra lines are appended after the last section, [daemon] (so bare keys
# land there); lines that open a section of their own ("[alerts]", ...) may
# follow. [currency] (CURRENCY_INI) comes before [daemon].
write_config() {
    local f=$1
    shift
    cat >"$f" <<INI
[kafka]
bootstrap.servers = $PP_TEST_KAFKA
group.id = $RUN_ID
auto.offset.reset = earliest
session.timeout.ms = 10000

[topics]
deals = ${TOPIC_PREFIX}partner.deals
referrals = ${TOPIC_PREFIX}partner.referrals
engagements = ${TOPIC_PREFIX}partner.engagements
lifecycle = ${TOPIC_PREFIX}partner.lifecycle
alerts = ${TOPIC_PREFIX}partner.alerts
dlq = ${TOPIC_PREFIX}partner.dlq

[redis]
host = 127.0.0.1
port = $PP_TEST_REDIS_PORT
prefix = $REDIS_PREFIX

$(cat "$CURRENCY_INI")

[daemon]
log_level = info
INI
    local line
    for line in "$@"; do printf '%s\n' "$line" >>"$f"; done
}

# HISTORY_ALERTS: config lines (write them last) that publish transitions of
# any age, [alerts] publish_max_age = 0 (DESIGN §7: history pages no one).
# Replays of gen streams, whose event time starts on 2026-01-01, read every
# alert they raise from the topic (test_history.sh checks the holding back).
HISTORY_ALERTS=("[alerts]" "publish_max_age = 0")

# produce FILE: produce JSON lines to this test's topics
produce() {
    "$PP" produce -q -b "$PP_TEST_KAFKA" \
        -t "deal=${TOPIC_PREFIX}partner.deals" -t "referral=${TOPIC_PREFIX}partner.referrals" \
        -t "engagement=${TOPIC_PREFIX}partner.engagements" -t "partner=${TOPIC_PREFIX}partner.lifecycle" "$@"
}

# python_venv VENV REQUIREMENTS MODULE: a venv with the pinned packages of
# REQUIREMENTS, made once and reused while that file is unchanged and MODULE
# imports (as deploy/bench/run does for its peer); concurrent tests wait on
# VENV.lock. Fails the test when PyPI cannot be reached.
python_venv() {
    local venv=$1 req=$2 module=$3 want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    mkdir -p "$(dirname "$venv")"
    exec 8>"$venv.lock"
    flock -w 600 8 || fail "timed out waiting for the lock on $venv.lock"
    if [[ "$(cat "$venv/.pp-requirements" 2>/dev/null)" != "$want" ]] ||
        ! "$venv/bin/python" -W ignore -c "import $module" 2>/dev/null; then
        log "installing $(grep -v '^#' "$req" | xargs) into $venv"
        "$venv/bin/python" -c '' 2>/dev/null || { rm -rf "$venv"; python3 -m venv "$venv" ||
            fail "python3 -m venv failed: deploy/local/install-deps installs python3-venv"; }
        timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" ||
            fail "pip install -r $req into $venv failed (PyPI reachable?)"
        echo "$want" >"$venv/.pp-requirements"
    fi
    exec 8>&-
}

# start_daemon CONFIG LOGNAME: start partnerpulsed in the background; sets DAEMON_PID
start_daemon() {
    "$PPD" --config "$1" >>"$WORK/$2.log" 2>&1 &
    DAEMON_PID=$!
    DAEMON_PIDS+=("$DAEMON_PID")
}

# stop_daemon PID [SIGNAL]: signal and wait (bounded, 30 s) for exit; returns its status
stop_daemon() {
    local pid=$1 sig=${2:-TERM} i
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            local st=0
            wait "$pid" || st=$?
            return $st
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    fail "daemon $pid did not exit within 30 s of SIG$sig"
}

# wait_readyz PORT PATTERN SECS: wait (bounded) until the daemon's /readyz on
# 127.0.0.1:PORT answers something matching the glob PATTERN ('ready*',
# '*redis unavailable*'); READY holds the last answer; status 1 if it never did
wait_readyz() {
    local port=$1 pat=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        READY=$(curl -s --max-time 5 "http://127.0.0.1:$port/readyz" || true)
        # shellcheck disable=SC2053 # PATTERN is a glob on purpose
        [[ "$READY" == $pat ]] && return 0
        sleep 0.2
    done
    return 1
}

# redis_sum FIELD: sum of FIELD over this test's partner hashes
redis_sum() {
    python3 "$E2E_DIR/redis_sum.py" "$PP_TEST_REDIS_PORT" "$REDIS_PREFIX" "$1"
}

# wait_applied N SECONDS: wait until the sum of events_applied >= N
wait_applied() {
    local want=$1 secs=$2 got=0 i
    for ((i = 0; i < secs * 5; i++)); do
        got=$(redis_sum events_applied)
        ((got >= want)) && return 0
        sleep 0.2
    done
    fail "only $got of $want events applied after ${secs}s"
}

# reference_replay N OUT: replay this test's topics once, undisturbed, into
# their own consumer group, Redis keys and alert topic, and write the alerts
# it published to OUT (the yardstick for tests that disturb a replay).
reference_replay() {
    local n=$1 out=$2 saved=$REDIS_PREFIX
    "$PP" topics -b "$PP_TEST_KAFKA" -p "${TOPIC_PREFIX}ref." >/dev/null
    write_config "$WORK/ref.ini" "clock = replay" "timer_interval_ms = 200" "${HISTORY_ALERTS[@]}"
    sed -i "s/^group.id = .*/group.id = $RUN_ID-ref/; s/^prefix = .*/prefix = ${REDIS_PREFIX}ref:/; s/^alerts = .*/alerts = ${TOPIC_PREFIX}ref.partner.alerts/" "$WORK/ref.ini"
    start_daemon "$WORK/ref.ini" daemon-ref
    REDIS_PREFIX="${REDIS_PREFIX}ref:"
    wait_applied "$n" 180
    REDIS_PREFIX=$saved
    sleep 3 # end of stream: caught-up timers fire the last deadlines
    stop_daemon "$DAEMON_PID" TERM || fail "reference daemon exited non-zero"
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}ref.partner.alerts" --from-beginning --json --idle-exit 8 >"$out"
}
