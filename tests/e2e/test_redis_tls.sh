#!/usr/bin/env bash
# Redis over TLS, the supported path (issue 15, docs/deployment.md#redis-over-tls):
# partnerpulsed (hiredis 0.14, plain text only) -> local stunnel in client mode
# (the shipped deploy/stunnel/redis-client.conf, only its endpoint, CA, host
# name and pid lines replaced) -> a redis-server that speaks TLS only.
#   * the test makes its own CA and a server certificate for redis.pp.test
#     (openssl, in its work dir);
#   * redis-server: --port 0 (no plain-text port), --tls-port, --requirepass
#     for the admin, and the daemon's ACL user exactly as docs/configuration.md
#     gives it (prefix pp:, so its ~pp:* applies);
#   * plain text to the TLS port gets no answer; stunnel services that expect
#     another host name, or trust another CA, are refused by the certificate
#     check (so verification is on, not just encryption);
#   * the daemon applies a gen stream through the tunnel with AUTH as the ACL
#     user; totals are exact, read through the tunnel and with redis-cli --tls;
#   * stunnel stopped for 5 s mid-stream, then started again: the daemon says
#     "redis unavailable" on /readyz, resumes through the new tunnel, and the
#     totals of that stream are exact;
#   * the same stream applied by a daemon straight to a plain-text redis-server:
#     throughput and mean flush time of both are logged (not asserted: shared
#     machines), the figures docs/deployment.md quotes.
# Ports: from 29500 + ($$ % 50), skipping ports in use. redis-server, stunnel
# and the daemons are in DAEMON_PIDS: lib.sh's cleanup kills them on any exit.
# Every wait is bounded. PP_TLS_PARTNERS (default 100) sizes the stream;
# PP_TLS_LATENCY_SECONDS > 0 adds a latency run per path (`partnerpulse
# latency` at PP_TLS_LATENCY_RATE events/s, default 5000) with the CPU stunnel
# and the redis-servers use (the figures of docs/deployment.md).
TEST_NAME=redis_tls
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
[[ -n "$STUNNEL" ]] || fail "stunnel not found: run deploy/local/install-deps (it installs Debian's stunnel4)"
command -v openssl >/dev/null || fail "openssl not found: run deploy/local/install-deps"

NEXT_FREE_PORT=$((29500 + $$ % 50))
free_port TLS_PORT    # redis-server, TLS only
free_port TUN_PORT    # stunnel: the tunnel the daemon uses
free_port BADNAME_PORT # stunnel: expects another host name
free_port BADCA_PORT  # stunnel: trusts another CA
free_port PLAIN_PORT  # plain-text redis-server for the direct comparison
free_port HTTP_PORT
ADMIN_PW="admin-$RUN_ID"
DAEMON_PW="daemon-$RUN_ID"

# ---- PKI: a CA, a server certificate for redis.pp.test (and 127.0.0.1), another CA
PKI=$WORK/pki
mkdir -p "$PKI"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=partnerpulse test CA" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$PKI/log" ||
    { cat "$PKI/log"; fail "openssl: CA"; }
openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=some other CA" -keyout "$PKI/other-ca.key" -out "$PKI/other-ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$PKI/log" ||
    { cat "$PKI/log"; fail "openssl: other CA"; }
openssl req "${ec[@]}" -subj "/CN=redis.pp.test" -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>"$PKI/log" ||
    { cat "$PKI/log"; fail "openssl: server key"; }
printf 'subjectAltName=DNS:redis.pp.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$PKI/ext"
openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -extfile "$PKI/ext" -out "$PKI/server.crt" 2>"$PKI/log" || { cat "$PKI/log"; fail "openssl: server certificate"; }

# ---- redis-server with TLS only
rdir=$(redis_dir tls)
mkdir -p "$rdir"
port_in_use "$TLS_PORT" && fail "port $TLS_PORT is in use"
redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 --dir "$rdir" --daemonize no --save '' --appendonly no \
    --logfile '' --tls-cert-file "$PKI/server.crt" --tls-key-file "$PKI/server.key" --tls-ca-cert-file "$PKI/ca.crt" \
    --tls-auth-clients no --requirepass "$ADMIN_PW" >>"$WORK/redis-tls.log" 2>&1 &
TLS_PID=$!
DAEMON_PIDS+=("$TLS_PID")
# redis-cli straight over TLS, as the admin (REDISCLI_AUTH: no password on the command line)
rtls() { REDISCLI_AUTH=$ADMIN_PW timeout 10 redis-cli --tls --cacert "$PKI/ca.crt" --sni redis.pp.test -h 127.0.0.1 -p "$TLS_PORT" "$@"; }
for ((i = 0; i < 300; i++)); do
    kill -0 "$TLS_PID" 2>/dev/null || { tail -20 "$WORK/redis-tls.log"; fail "TLS redis-server exited at start"; }
    [[ "$(rtls ping 2>/dev/null)" == PONG ]] && break
    sleep 0.1
done
[[ "$(rtls ping 2>/dev/null)" == PONG ]] || { tail -20 "$WORK/redis-tls.log"; fail "TLS redis did not answer within 30 s"; }
[[ "$(rtls config get port | tail -1)" == 0 ]] || fail "the TLS redis has a plain-text port"

# the daemon's ACL user, exactly as docs/configuration.md documents it
acl=$(grep -m1 '^ACL SETUSER partnerpulsed ' "$E2E_DIR/../../docs/configuration.md") ||
    fail "no 'ACL SETUSER partnerpulsed' line in docs/configuration.md"
acl=${acl/>change-me/>$DAEMON_PW}
read -ra acl_args <<<"$acl"
[[ "$(rtls "${acl_args[@]}")" == OK ]] || fail "ACL SETUSER from docs/configuration.md refused"

# ---- plain text to the TLS port: no answer
out=$(timeout 10 redis-cli -h 127.0.0.1 -p "$TLS_PORT" ping 2>&1 || true)
[[ "$out" != *PONG* ]] || fail "plain text to the TLS port answered PONG"
out2=$(timeout 10 python3 -c "import sys; sys.path.insert(0, '$E2E_DIR'); from ppredis import Redis; print(Redis(port=$TLS_PORT, timeout=5).cmd('PING'))" 2>&1 || true)
[[ "$out2" != *PONG* ]] || fail "plain-text RESP to the TLS port answered PONG"
log "plain text to the TLS port $TLS_PORT refused: redis-cli: ${out//$'\n'/ }; python: ${out2##*$'\n'}"

# ---- stunnel: the shipped config, endpoint / CA / host name / pid replaced;
# two more services that must be refused by the certificate check
CONF=$WORK/stunnel.conf
sed -e "s|^accept = .*|accept = 127.0.0.1:$TUN_PORT|" \
    -e "s|^connect = .*|connect = 127.0.0.1:$TLS_PORT|" \
    -e "s|^CAfile = .*|CAfile = $PKI/ca.crt|" \
    -e "s|^checkHost = .*|checkHost = redis.pp.test|" \
    -e "s|^pid =.*|pid = $WORK/stunnel.pid|" \
    "$E2E_DIR/../../deploy/stunnel/redis-client.conf" >"$CONF"
for k in "accept = 127.0.0.1:$TUN_PORT" "connect = 127.0.0.1:$TLS_PORT" "CAfile = $PKI/ca.crt" \
    "checkHost = redis.pp.test" "verifyChain = yes" "sslVersionMin = TLSv1.2" "client = yes"; do
    grep -qxF "$k" "$CONF" || fail "deploy/stunnel/redis-client.conf: no '$k' after substitution"
done
cat >>"$CONF" <<EOF

[wrong-name]
client = yes
accept = 127.0.0.1:$BADNAME_PORT
connect = 127.0.0.1:$TLS_PORT
verifyChain = yes
CAfile = $PKI/ca.crt
checkHost = other.pp.test
sslVersionMin = TLSv1.2

[wrong-ca]
client = yes
accept = 127.0.0.1:$BADCA_PORT
connect = 127.0.0.1:$TLS_PORT
verifyChain = yes
CAfile = $PKI/other-ca.crt
checkHost = redis.pp.test
sslVersionMin = TLSv1.2
EOF
# redis-cli through a tunnel port, as the admin
rtun() {
    local p=$1
    shift
    REDISCLI_AUTH=$ADMIN_PW timeout 10 redis-cli -h 127.0.0.1 -p "$p" "$@"
}
# start_stunnel: run stunnel on $CONF, return once PING crosses the tunnel (bounded)
start_stunnel() {
    local i
    "$STUNNEL" "$CONF" >>"$WORK/stunnel.log" 2>&1 &
    STUNNEL_PID=$!
    DAEMON_PIDS+=("$STUNNEL_PID")
    for ((i = 0; i < 300; i++)); do
        kill -0 "$STUNNEL_PID" 2>/dev/null || { cat "$WORK/stunnel.log"; fail "stunnel exited at start"; }
        [[ "$(rtun "$TUN_PORT" ping 2>/dev/null)" == PONG ]] && return 0
        sleep 0.1
    done
    cat "$WORK/stunnel.log"
    fail "no PONG through stunnel within 30 s"
}
# term_pid PID: SIGTERM and reap, bounded (10 s)
term_pid() {
    local i
    kill -TERM "$1" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    fail "pid $1 did not exit within 10 s of SIGTERM"
}
start_stunnel
[[ -s "$WORK/stunnel.pid" ]] || fail "stunnel wrote no pid file"
for p in "$BADNAME_PORT" "$BADCA_PORT"; do
    out=$(rtun "$p" ping 2>&1 || true)
    [[ "$out" != *PONG* ]] || fail "stunnel on $p accepted a certificate it must refuse"
done
# each refused for its own reason: the host name (the leaf, depth 0) and the chain
# (the test CA is not the one [wrong-ca] trusts: depth 1)
grep -q 'CERT: Subject checks failed' "$WORK/stunnel.log" ||
    { cat "$WORK/stunnel.log"; fail "stunnel logged no host name mismatch for [wrong-name]"; }
grep -q 'Rejected by CERT at depth=1' "$WORK/stunnel.log" ||
    { cat "$WORK/stunnel.log"; fail "stunnel logged no chain rejection for [wrong-ca]"; }
# the daemon's user through the tunnel: AUTH user password
[[ "$(REDISCLI_AUTH=$DAEMON_PW timeout 10 redis-cli -h 127.0.0.1 -p "$TUN_PORT" --user partnerpulsed ping 2>/dev/null)" == PONG ]] ||
    fail "AUTH as the ACL user partnerpulsed through stunnel failed"
log "stunnel $TUN_PORT -> TLS redis $TLS_PORT; wrong host name and wrong CA refused"

# ---- the stream
"$PP" gen --partners "${PP_TLS_PARTNERS:-100}" --seed 43 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
partners=$(python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))))" "$WORK/expected.json")
create_topics
produce "$WORK/events.jsonl"
log "produced $n events for $partners partners"

# metric FILE NAME: value of an unlabelled sample in a saved /metrics text
mval() { awk -v m="$2" '$1 == m {print $2}' "$1"; }

# run_daemon NAME: start the daemon of $WORK/NAME.ini, wait (bounded) until every
# event is applied and no partner is dirty, save /metrics to $WORK/NAME.metrics,
# stop it (SIGTERM), log its throughput
run_daemon() {
    local name=$1 i t0 t1 flushes fsec
    start_daemon "$WORK/$name.ini" "daemon-$name"
    wait_applied "$n" 120
    for ((i = 0; i < 150; i++)); do
        curl -sf --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" >"$WORK/$name.metrics" || true
        [[ "$(mval "$WORK/$name.metrics" pp_events_applied_total)" == "$n" &&
            "$(mval "$WORK/$name.metrics" pp_dirty_partners)" == 0 ]] && break
        sleep 0.2
    done
    [[ "$(mval "$WORK/$name.metrics" pp_dirty_partners)" == 0 ]] || fail "$name: partners still dirty after 30 s"
    stop_daemon "$DAEMON_PID" TERM || fail "$name: daemon exited non-zero after SIGTERM"
    grep -q 'msg="exit" status=0' "$WORK/daemon-$name.log" || fail "$name: no clean exit logged"
    t0=$(mval "$WORK/$name.metrics" pp_first_apply_timestamp_seconds)
    t1=$(mval "$WORK/$name.metrics" pp_last_flush_timestamp_seconds)
    flushes=$(mval "$WORK/$name.metrics" pp_flushes_total)
    fsec=$(mval "$WORK/$name.metrics" pp_flush_seconds_total)
    python3 -c "
n, t0, t1, fl, fs = $n, $t0, $t1, $flushes, $fsec
el = max(t1 - t0, 1e-3)
print('$name: %d events in %.2f s (first apply -> last flush) = %.0f events/s; %d flushes, mean %.2f ms, %.2f s flushing' % (n, el, n / el, fl, 1000 * fs / max(fl, 1), fs))
" | tee -a "$WORK/throughput.txt"
}

# cpu_s PID: user+system CPU seconds the process has used so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

# latency_run NAME PORT PIDS...: optional (PP_TLS_LATENCY_SECONDS > 0), the
# daemon of $WORK/NAME.ini live while `partnerpulse latency` produces
# PP_TLS_LATENCY_RATE (5000) events/s and polls Redis on PORT (through the
# tunnel for tls, so its polls cross it too); logs p50/p99 produce -> Redis
# visible and the CPU seconds PIDS (stunnel, redis-server) used meanwhile
latency_run() {
    local name=$1 port=$2 secs=${PP_TLS_LATENCY_SECONDS:-0} i pid before=() st=0
    shift 2
    ((secs > 0)) || return 0
    start_daemon "$WORK/$name.ini" "daemon-$name-lat"
    wait_readyz "$HTTP_PORT" 'ready*' 30 || fail "$name: /readyz says '$READY' after 30 s"
    for pid in "$@"; do before+=("$(cpu_s "$pid")"); done
    PP_REDIS_PASSWORD=$ADMIN_PW "$PP" latency -b "$PP_TEST_KAFKA" -t "$TOPIC_PREFIX" -p "$port" -P "$REDIS_PREFIX" \
        --rate "${PP_TLS_LATENCY_RATE:-5000}" --seconds "$secs" --partners 5000 --probes 0 -j "$WORK/$name-lat.json" \
        >>"$WORK/$name-lat.log" 2>&1 || st=$?
    local cpu=""
    for i in "${!before[@]}"; do
        cpu+=" $(python3 -c "print('%.2f' % ($(cpu_s "${@:$((i + 1)):1}") - ${before[$i]}))")"
    done
    stop_daemon "$DAEMON_PID" TERM || fail "$name: daemon exited non-zero after the latency run"
    ((st == 0)) || { cat "$WORK/$name-lat.log"; fail "$name: partnerpulse latency exit $st"; }
    python3 -c "
import json; j = json.load(open('$WORK/$name-lat.json')); rv = j.get('redis_visible', {})
print('$name latency: %s events/s achieved, produce -> Redis visible p50 %s ms, p99 %s ms (%s samples, %s missing); CPU s of pids $*:%s' % (j.get('rate_achieved'), rv.get('p50_ms'), rv.get('p99_ms'), rv.get('measured'), rv.get('missing'), '$cpu'))
" | tee -a "$WORK/throughput.txt"
}

# ---- through stunnel, AUTH as the ACL user
REDIS_PREFIX="pp:" # the documented ACL user may only touch ~pp:*
write_config "$WORK/tls.ini" "[http]" "port = $HTTP_PORT"
sed -i "/^\[redis\]/,/^\[/ { s/^port = .*/port = $TUN_PORT\nuser = partnerpulsed\npassword = $DAEMON_PW/ }" "$WORK/tls.ini"
grep -qx "port = $TUN_PORT" "$WORK/tls.ini" || fail "could not point the config at stunnel"
export PP_TEST_REDIS_PASSWORD=$ADMIN_PW # ppredis.py (redis_sum, check_totals): AUTH as the admin
PP_TEST_REDIS_PORT=$TUN_PORT           # ... through the tunnel
run_daemon tls
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$TUN_PORT" --prefix "$REDIS_PREFIX" ||
    fail "through stunnel: totals differ"
# the same state straight from the TLS server
keys=$(rtls --scan --pattern 'pp:partner:{*' | wc -l)
((keys == partners)) || fail "redis-cli --tls sees $keys partner hashes, want $partners"
sum=0
while read -r k; do
    sum=$((sum + $(rtls hget "$k" events_applied)))
done < <(rtls --scan --pattern 'pp:partner:{*')
((sum == n)) || fail "redis-cli --tls: events_applied sums to $sum, want $n"
[[ "$(rtls exists pp:marker)" == 1 ]] || fail "no pp:marker in the TLS redis"
log "through stunnel: totals exact ($n events, $partners partners), read through the tunnel and with redis-cli --tls"
latency_run tls "$TUN_PORT" "$STUNNEL_PID" "$TLS_PID"

# ---- the tunnel goes away for 5 s mid-stream (stunnel stopped, then started
# again): the daemon pauses (/readyz), reconnects through the new tunnel and
# resumes; nothing lost, nothing applied twice
"$PP" gen --partners 30 --seed 44 --out "$WORK/o.jsonl"
no=$(wc -l <"$WORK/o.jsonl")
expected_totals "$WORK/o.jsonl" "$WORK/o-expected.json"
head -n "$((no / 2))" "$WORK/o.jsonl" >"$WORK/o1.jsonl"
tail -n +"$((no / 2 + 1))" "$WORK/o.jsonl" >"$WORK/o2.jsonl"
saved_topics=$TOPIC_PREFIX
TOPIC_PREFIX="$RUN_ID.o."
REDIS_PREFIX="pp:o:"
create_topics
produce "$WORK/o1.jsonl"
write_config "$WORK/outage.ini" "[http]" "port = $HTTP_PORT"
sed -i "/^\[redis\]/,/^\[/ { s/^port = .*/port = $TUN_PORT\nuser = partnerpulsed\npassword = $DAEMON_PW\ntimeout_ms = 500/ }" \
    "$WORK/outage.ini"
sed -i "s/^group.id = .*/group.id = $RUN_ID-o/" "$WORK/outage.ini"
start_daemon "$WORK/outage.ini" daemon-outage
wait_applied "$((no / 2))" 90
term_pid "$STUNNEL_PID"
produce "$WORK/o2.jsonl"
wait_readyz "$HTTP_PORT" '*redis unavailable*' 30 || fail "tunnel down: /readyz says '$READY', not redis unavailable"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died when the tunnel went away"
sleep 5
start_stunnel
wait_applied "$no" 90
wait_readyz "$HTTP_PORT" 'ready*' 30 || fail "tunnel back: /readyz says '$READY' after 30 s"
stop_daemon "$DAEMON_PID" TERM || fail "outage: daemon exited non-zero after SIGTERM"
python3 "$E2E_DIR/check_totals.py" "$WORK/o-expected.json" --port "$TUN_PORT" --prefix "$REDIS_PREFIX" ||
    fail "tunnel outage: totals differ"
log "tunnel down 5 s mid-stream: /readyz said redis unavailable, then ready; totals exact ($no events)"
TOPIC_PREFIX=$saved_topics

# ---- the same stream straight to a plain-text redis-server (the comparison)
REDISCLI_AUTH=$ADMIN_PW redis_start plain "$PLAIN_PORT" --requirepass "$ADMIN_PW"
REDIS_PREFIX="direct:"
write_config "$WORK/direct.ini" "[http]" "port = $HTTP_PORT"
sed -i "/^\[redis\]/,/^\[/ { s/^port = .*/port = $PLAIN_PORT\npassword = $ADMIN_PW/ }" "$WORK/direct.ini"
sed -i "s/^group.id = .*/group.id = $RUN_ID-direct/" "$WORK/direct.ini"
PP_TEST_REDIS_PORT=$PLAIN_PORT
run_daemon direct
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PLAIN_PORT" --prefix "$REDIS_PREFIX" ||
    fail "direct: totals differ"
latency_run direct "$PLAIN_PORT" "${RPID_OF[plain]}"

# ---- stop redis and stunnel (cleanup would SIGKILL them on failure)
rtls shutdown nosave >/dev/null 2>&1 || true
REDISCLI_AUTH=$ADMIN_PW redis_stop plain
term_pid "$TLS_PID"
term_pid "$STUNNEL_PID"
log "PASS"
