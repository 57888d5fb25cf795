#!/usr/bin/env bash
# Nothing wedges when the DLQ topic refuses writes (issue 12, item 3): a bad
# message whose DLQ copy Kafka does not acknowledge is never committed past
# (the events after it wait), the failure is counted (pp_dlq_errors_total)
# and named in /readyz, and once the DLQ topic exists the daemon recovers by
# itself, without a restart: the copy lands on the DLQ and every good event
# is applied exactly once.
TEST_NAME=dlq_down
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

"$PP" gen --partners 60 --seed 31 --out "$WORK/good.jsonl"
good=$(wc -l <"$WORK/good.jsonl")
expected_totals "$WORK/good.jsonl" "$WORK/expected.json"
create_topics
half=$((good / 2))
head -n "$half" "$WORK/good.jsonl" >"$WORK/g1.jsonl"
tail -n +"$((half + 1))" "$WORK/good.jsonl" >"$WORK/g2.jsonl"
produce "$WORK/g1.jsonl"
now=$(date +%s%3N)
echo '{"type":"deal","event_id":"bad-enum","partner_id":"p0001-healthy","occurred_at_ms":'"$now"',"deal_id":"d","stage":42,"attribution":"SOURCED","amount_minor":1}' |
    produce --no-validate -
produce "$WORK/g2.jsonl"

# the DLQ topic does not exist yet (the broker does not create topics)
LATE="${TOPIC_PREFIX}late."
free_port HPORT
write_config "$WORK/pp.ini" "[http]" "port = $HPORT"
sed -i "s/^dlq = .*/dlq = ${LATE}partner.dlq/; s/^\\[kafka\\]/[kafka]\\nmessage.timeout.ms = 3000/" "$WORK/pp.ini"
start_daemon "$WORK/pp.ini" daemon
wait_readyz "$HPORT" "*${LATE}partner.dlq*" 60 || fail "/readyz does not name the DLQ topic within 60 s: $READY"
ready=$READY
sleep 5
errs=$(curl -s "http://127.0.0.1:$HPORT/metrics" | awk '$1 == "pp_dlq_errors_total" {print $2}')
applied=$(redis_sum events_applied)
log "DLQ refusing writes: /readyz: $ready; pp_dlq_errors_total=$errs; $applied of $good good events in Redis"
((errs > 0)) || fail "pp_dlq_errors_total is $errs"
((applied < good)) || fail "every event was applied although the bad message's DLQ copy was not acknowledged"
kill -0 "$DAEMON_PID" || fail "the daemon died while the DLQ refused writes"

"$PP" topics -b "$PP_TEST_KAFKA" -p "$LATE" -n 6 >/dev/null
log "DLQ topic created"
wait_applied "$good" 120
"$PP" dlq -b "$PP_TEST_KAFKA" -t "${LATE}partner.dlq" --from-beginning --json --count 1 --idle-exit 20 >"$WORK/dlq.jsonl"
wait_readyz "$HPORT" 'ready*' 20 || fail "/readyz not ready again after the DLQ topic came back: $READY"
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "good events around the bad one were not applied exactly once"
python3 - "$WORK/dlq.jsonl" <<'PY' || fail "DLQ content is wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert rows and all(r["reason"] == "enum" for r in rows), rows
print("DLQ: %d record(s) of the bad message (at least once)" % len(rows))
PY
log "PASS"
