# tests/e2e/redis_lib.sh - private redis-server processes for end-to-end tests
# that kill, restore, replicate or empty Redis (source it after lib.sh).
#
# Each server runs on its own loopback port (free_port: from a base of
# 47000 + ($$ % 1000), skipping ports in use) with its own directory under
# $WORK, and is always stopped by the test: its pid is in DAEMON_PIDS, which
# lib.sh's cleanup SIGKILLs on every exit, failure included. Every wait is
# bounded.
#
#   free_port VAR                                     VAR = a free loopback port
#   redis_start NAME PORT [redis-server options...]   (re)start server NAME
#   redis_kill NAME [SIGNAL]                          signal it (KILL) and reap it
#   redis_stop NAME                                   SHUTDOWN NOSAVE, bounded wait
#   redis_cli NAME args...                            redis-cli against it
#   redis_dir NAME                                    its --dir
#   point_config INI PORT                             [redis] port = PORT (+ timeout_ms = 500)
#   wait_settled N SECS                               wait for >= N applied, or no progress for 20 s
#   metric URL NAME                                   sum of a Prometheus metric's samples

declare -A RPORT_OF=() RPID_OF=()
NEXT_FREE_PORT=$((47000 + $$ % 1000))

# port_in_use PORT: something listens on 127.0.0.1:PORT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: set VAR to a loopback port nothing listens on (and not
# handed out before by this test), starting at 47000 + ($$ % 1000). Not in a
# $(...) subshell: the next call must know which ports were handed out.
free_port() {
    local -n out=$1
    local p=$NEXT_FREE_PORT i
    for ((i = 0; i < 200; i++, p++)); do
        ((p > 48999)) && p=47000
        if ! port_in_use "$p"; then
            NEXT_FREE_PORT=$((p + 1))
            out=$p
            return 0
        fi
    done
    fail "no free port from $NEXT_FREE_PORT"
}

redis_dir() { echo "$WORK/redis-$1"; }

# redis_start NAME PORT [options...]: start (or restart, same dir) a private
# redis-server; returns once it answers PING and has finished loading its
# AOF/RDB (bounded, 120 s). Without --save / --appendonly options it keeps
# nothing on disk.
redis_start() {
    local name=$1 port=$2 dir i
    shift 2
    dir=$(redis_dir "$name")
    mkdir -p "$dir"
    port_in_use "$port" && fail "redis $name: port $port is in use"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize no --save '' \
        --appendonly no --logfile '' "$@" >>"$WORK/redis-$name.log" 2>&1 &
    RPID_OF[$name]=$!
    RPORT_OF[$name]=$port
    DAEMON_PIDS+=("$!")
    for ((i = 0; i < 1200; i++)); do
        kill -0 "${RPID_OF[$name]}" 2>/dev/null || { tail -20 "$WORK/redis-$name.log"; fail "redis $name exited at start"; }
        if [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]] &&
            redis-cli -p "$port" info persistence 2>/dev/null | grep -q '^loading:0'; then
            return 0 # answering, its AOF / RDB loaded
        fi
        sleep 0.1
    done
    fail "redis $name did not answer PING on $port within 120 s"
}

# redis_kill NAME [SIGNAL]: signal (default KILL) and reap it (bounded, 30 s)
redis_kill() {
    local name=$1 sig=${2:-KILL} pid i
    pid=${RPID_OF[$name]}
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    fail "redis $name (pid $pid) did not exit within 30 s of SIG$sig"
}

# redis_stop NAME: SHUTDOWN NOSAVE (nothing more is written to disk), reaped
redis_stop() {
    redis-cli -p "${RPORT_OF[$1]}" shutdown nosave >/dev/null 2>&1 || true
    redis_kill "$1" TERM
}

redis_cli() {
    local name=$1
    shift
    redis-cli -p "${RPORT_OF[$name]}" "$@"
}

# point_config INI PORT: the daemon of INI uses the redis on PORT, 500 ms timeout
point_config() {
    sed -i "/^\[redis\]/,/^\[/ s/^port = .*/port = $2/" "$1"
    grep -q '^timeout_ms' "$1" || sed -i "s/^\[redis\]/[redis]\ntimeout_ms = 500/" "$1"
}

# wait_settled N SECS: wait until the sum of events_applied (on
# $PP_TEST_REDIS_PORT) is >= N, or has not moved for 20 s (state lost for
# good: the totals check that follows names what is missing); bounded by SECS.
# Prints the last sum.
wait_settled() {
    local want=$1 secs=$2 got=-1 last=-2 still=0 i
    for ((i = 0; i < secs * 2; i++)); do
        got=$(redis_sum events_applied 2>/dev/null || echo -1)
        ((got >= want)) && { echo "$got"; return 0; }
        if ((got == last)); then
            ((++still >= 40)) && { echo "$got"; return 0; }
        else
            still=0
        fi
        last=$got
        sleep 0.5
    done
    echo "$got"
}

# metric URL NAME[{labels}]: sum of the samples of a metric whose line starts
# with NAME (a label filter may be part of it), 0 if none or no answer
metric() {
    { curl -sf --max-time 5 "$1" || true; } | awk -v m="$2" 'index($0, m) == 1 { s += $NF } END { printf "%d\n", s }'
}

# reference_replay_of EVENTS N OUT: like lib.sh's reference_replay, but of
# EVENTS produced once to topics of their own (the yardstick for a stream
# that this test publishes disturbed, e.g. with duplicates), on
# $PP_TEST_REDIS_PORT; the alerts published go to OUT
reference_replay_of() {
    local events=$1 n=$2 out=$3 saved_t=$TOPIC_PREFIX saved_r=$REDIS_PREFIX
    TOPIC_PREFIX="${saved_t}ref."
    create_topics
    produce "$events"
    write_config "$WORK/ref.ini" "clock = replay" "timer_interval_ms = 200" "${HISTORY_ALERTS[@]}"
    sed -i "s/^group.id = .*/group.id = $RUN_ID-ref/; s/^prefix = .*/prefix = ${saved_r}ref:/" "$WORK/ref.ini"
    start_daemon "$WORK/ref.ini" daemon-ref
    REDIS_PREFIX="${saved_r}ref:"
    wait_applied "$n" 180
    sleep 3 # end of stream: caught-up timers fire the last deadlines
    stop_daemon "$DAEMON_PID" TERM || fail "reference daemon exited non-zero"
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 8 >"$out"
    TOPIC_PREFIX=$saved_t
    REDIS_PREFIX=$saved_r
}

# check_end EXPECTED ALERTS_OUT: exact totals on $PP_TEST_REDIS_PORT, then the
# alert topic read back to ALERTS_OUT with one FIRING / RESOLVED content per
# alert_id (check_alerts.py's lifecycle check)
check_end() {
    python3 "$E2E_DIR/check_totals.py" "$1" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
        fail "totals differ from the oracle (expected_totals.py)"
    "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 8 >"$2"
}
