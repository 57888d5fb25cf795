#!/usr/bin/env bash
# End to end, alert delivery (docs/notify.md): the daemon replays a gen
# stream and publishes real alerts; `partnerpulse notify` delivers them to a
# real Alertmanager (Debian's prometheus-alertmanager) on loopback and to a
# local receiver standing in for Slack, a signed webhook (two: all alerts,
# and RESELLER partners only) and PagerDuty (CRITICAL only).
#   1. every transition on the topic reaches each receiver it is routed to,
#      signatures verify, payloads match; Alertmanager holds exactly the open
#      episodes with the right labels, the resolved ones are not active;
#   2. the receiver goes down for 10 s while a second stream raises more
#      alerts, and notify is killed (-9) meanwhile: once the receiver is back
#      every transition has arrived (counted as distinct (alert_id, status);
#      duplicates are allowed, at least once; the receiver's queues, of 5,
#      fill and pause consumption meanwhile), Alertmanager still holds the
#      episodes open from before the restart (adopted) and the new ones;
#   3. a restart of notify with everything delivered delivers nothing again
#      (the offsets were committed); no secret appears in notify's log.
TEST_NAME=notify
source "$(dirname "$0")/lib.sh"

AM=${PP_ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
[[ -x "$AM" ]] || fail "$AM not found (deploy/local/install-deps installs prometheus-alertmanager)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AM_PORT=$(free_port)
RX_PORT=$(free_port)
SECRET="whsec-$RUN_ID"
PD_KEY="pdkey-$RUN_ID"
SLACK_TOKEN="slacktoken-$RUN_ID"
DASH="http://dash.example:8088"
RECORD=$WORK/received.jsonl

# ---- Alertmanager, on loopback, no cluster ----
mkdir -p "$WORK/am"
cat >"$WORK/am/am.yml" <<YML
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
YML
"$AM" --config.file="$WORK/am/am.yml" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    --storage.path="$WORK/am" >"$WORK/alertmanager.log" 2>&1 &
DAEMON_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
    curl -fsS "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null || fail "Alertmanager did not start: $(tail -5 "$WORK/alertmanager.log")"

RX_PID=
start_receiver() {
    python3 "$E2E_DIR/notify_receiver.py" "$RX_PORT" "$RECORD" --secret "$SECRET" >>"$WORK/receiver.log" 2>&1 &
    RX_PID=$!
    DAEMON_PIDS+=("$RX_PID")
    for ((i = 0; i < 50; i++)); do
        grep -q "listening" "$WORK/receiver.log" 2>/dev/null && python3 -c "import socket; socket.create_connection(('127.0.0.1', $RX_PORT), 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the receiver did not start"
}
start_receiver

# ---- the daemon: replay, publishes everything (publish_max_age = 0) ----
create_topics
write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "${HISTORY_ALERTS[@]}"
cat >>"$WORK/pp.ini" <<INI

[notify]
group_id = $RUN_ID-notify
start = earliest
dashboard_url = $DASH/
retry_initial_ms = 200
retry_max_ms = 2000
http_timeout_ms = 3000
drain_timeout_ms = 3000
# small, so that the receiver's outage fills its queues and pauses consumption
queue_max = 5
log_level = info

[destination:team-slack]
type = slack
url = http://127.0.0.1:$RX_PORT/slack/T000/B000/$SLACK_TOKEN

[destination:all-hook]
type = webhook
url = http://127.0.0.1:$RX_PORT/hook/all
secret = $SECRET

[destination:reseller-hook]
type = webhook
url = http://127.0.0.1:$RX_PORT/hook/resellers
secret = $SECRET
partner_types = RESELLER

[destination:oncall]
type = pagerduty
url = http://127.0.0.1:$RX_PORT/pd/v2/enqueue
routing_key = $PD_KEY
severities = critical

[destination:am]
type = alertmanager
url = http://127.0.0.1:$AM_PORT
repost_interval_ms = 5000
INI
"$PPD" --config "$WORK/pp.ini" --check-config >/dev/null || fail "the daemon refuses the [notify] sections"
"$PP" notify --config "$WORK/pp.ini" --check-config >/dev/null || fail "notify refuses its configuration"
start_daemon "$WORK/pp.ini" daemon
NOTIFY_PID=
start_notify() {
    "$PP" notify --config "$WORK/pp.ini" >>"$WORK/daemon-notify.log" 2>&1 &
    NOTIFY_PID=$!
    DAEMON_PIDS+=("$NOTIFY_PID")
}
start_notify

# topic_alerts: the transitions on the topic, once it holds every one the
# daemon logged as published (bounded, 60 s)
topic_alerts() {
    local want got t0=$SECONDS
    while :; do
        want=$(grep -c 'msg="alert" .*published=1' "$WORK/daemon.log" || true)
        "$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 3 \
            >"$WORK/alerts.jsonl"
        got=$(wc -l <"$WORK/alerts.jsonl")
        ((got >= want)) && return 0
        ((SECONDS - t0 < 60)) || fail "the topic holds $got transitions, the daemon published $want"
    done
}
check_receivers() {
    python3 "$E2E_DIR/check_notify.py" receivers "$WORK/alerts.jsonl" "$RECORD" --redis-port "$PP_TEST_REDIS_PORT" \
        --redis-prefix "$REDIS_PREFIX" --dashboard "$DASH" --routing-key "$PD_KEY" "$@"
}
check_am() {
    python3 "$E2E_DIR/check_notify.py" alertmanager "$WORK/alerts.jsonl" "http://127.0.0.1:$AM_PORT" \
        --redis-port "$PP_TEST_REDIS_PORT" --redis-prefix "$REDIS_PREFIX" "$@"
}
# wait_delivered SECONDS: until the receivers and Alertmanager hold every transition on the topic
wait_delivered() {
    local secs=$1 t0=$SECONDS
    while ((SECONDS - t0 < secs)); do
        if check_receivers --quiet >/dev/null && check_am --quiet >/dev/null; then
            log "$(check_receivers)"
            log "$(check_am)"
            return 0
        fi
        sleep 2
    done
    check_receivers || true
    check_am || true
    fail "not everything delivered within ${secs}s"
}

# ---- 1. a first stream ----
"$PP" gen --partners 26 --seed 7 --out "$WORK/a.jsonl"
na=$(wc -l <"$WORK/a.jsonl")
produce "$WORK/a.jsonl"
wait_applied "$na" 120
sleep 3 # end of stream: the caught-up timers fire the last deadlines
topic_alerts
log "stream A: $na events, $(wc -l <"$WORK/alerts.jsonl") transitions on the topic"
wait_delivered 90

# ---- 2. the receiver down for 10 s, more alerts, notify killed meanwhile ----
kill -TERM "$RX_PID"
wait "$RX_PID" 2>/dev/null || true
down_at=$SECONDS
log "receiver down"
"$PP" gen --partners 26 --seed 8 | sed 's/"p0/"q0/g' >"$WORK/b.jsonl"
nb=$(wc -l <"$WORK/b.jsonl")
produce "$WORK/b.jsonl"
wait_applied $((na + nb)) 120
sleep 3
grep -q 'delivery failed, will retry' "$WORK/daemon-notify.log" || sleep 2
kill -KILL "$NOTIFY_PID"
wait "$NOTIFY_PID" 2>/dev/null || true
log "notify killed (-9) while the receiver is down"
start_notify
while ((SECONDS - down_at < 10)); do sleep 0.5; done
start_receiver
log "receiver back after $((SECONDS - down_at)) s"
topic_alerts
log "streams A+B: $(wc -l <"$WORK/alerts.jsonl") transitions on the topic"
wait_delivered 120
grep -q 'delivery failed, will retry' "$WORK/daemon-notify.log" || fail "no delivery failed while the receiver was down"
grep -q 'adopted the firing alerts' "$WORK/daemon-notify.log" || fail "the restarted notify adopted nothing"
grep -q 'msg="consumption paused"' "$WORK/daemon-notify.log" || fail "full queues (queue_max = 5) never paused consumption"
grep -q 'msg="consumption resumed"' "$WORK/daemon-notify.log" || fail "consumption never resumed"

# ---- 3. restart with everything delivered: nothing again ----
sleep 2 # a commit interval
stop_daemon "$NOTIFY_PID" TERM || fail "notify exited non-zero on SIGTERM"
before=$(wc -l <"$RECORD")
start_notify
sleep 8
after=$(wc -l <"$RECORD")
stop_daemon "$NOTIFY_PID" TERM || fail "notify exited non-zero on SIGTERM"
((after == before)) || fail "a restart delivered $((after - before)) alerts again: offsets were not committed"
log "restart with everything committed: nothing delivered again"
for s in "$SECRET" "$PD_KEY" "$SLACK_TOKEN"; do
    if grep -qF "$s" "$WORK/daemon-notify.log"; then fail "a secret appears in notify's log"; fi
done
stop_daemon "$DAEMON_PID" TERM || fail "the daemon exited non-zero"
log "PASS"
