#!/usr/bin/env bash
# One message too large to copy never wedges the daemon (issue 12, "nothing
# wedges"). A 1 040 000-byte PartnerEvent (under the broker's default
# max.message.bytes of 1 048 588, over librdkafka's producer limit of
# 1 000 000, so the daemon cannot copy it to the DLQ as it is) sits among the
# good events of a gen stream. Expected:
#   * on the DLQ one metadata record for it: value = its first 1024 bytes,
#     headers pp-original-size=1040000, pp-sha256=<sha256 of the whole
#     payload>, pp-truncated=1, pp-reason=oversize and the usual
#     pp-error / pp-source-topic / pp-source-partition / pp-source-offset;
#   * the good events before and after it applied exactly (totals), the daemon
#     stops on SIGTERM, and a restarted daemon goes on with the next events
#     (it is not stopped again by the same message, nor copies it twice);
#   * /readyz answers 200 at the end.
# The message is produced and the DLQ read with tests/e2e/kwire.py (Kafka wire
# protocol, stdlib): `partnerpulse produce --raw` stops at 4 KiB and
# `partnerpulse dlq` prints neither the value nor the extra headers.
TEST_NAME=dlq_large
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

SIZE=1040000
free_port RPORT # a private redis-server, no persistence
redis_start r "$RPORT"
PP_TEST_REDIS_PORT=$RPORT
"$PP" gen --partners 30 --seed 17 --out "$WORK/good.jsonl"
good=$(wc -l <"$WORK/good.jsonl")
expected_totals "$WORK/good.jsonl" "$WORK/expected.json"
create_topics
third=$((good / 3))
head -n "$third" "$WORK/good.jsonl" >"$WORK/g1.jsonl"
sed -n "$((third + 1)),$((2 * third))p" "$WORK/good.jsonl" >"$WORK/g2.jsonl"
tail -n +"$((2 * third + 1))" "$WORK/good.jsonl" >"$WORK/g3.jsonl"

now=$(date +%s%3N)
sha=$(python3 "$E2E_DIR/kwire.py" event "$SIZE" p0001-healthy "$now" "$WORK/big.bin")
[[ $(stat -c %s "$WORK/big.bin") -eq $SIZE ]] || fail "big message is not $SIZE bytes"
produce "$WORK/g1.jsonl"
big_off=$(python3 "$E2E_DIR/kwire.py" produce "$PP_TEST_KAFKA" "${TOPIC_PREFIX}partner.lifecycle" 0 p0001-healthy \
    "$WORK/big.bin") || fail "the broker refused the $SIZE-byte message"
produce "$WORK/g2.jsonl"
log "$good good events, a $SIZE-byte message at ${TOPIC_PREFIX}partner.lifecycle[0]@$big_off (sha256 $sha)"

free_port HTTP_PORT
write_config "$WORK/pp.ini" "flush_interval_ms = 20" "[http]" "port = $HTTP_PORT"
start_daemon "$WORK/pp.ini" daemon-1
wait_applied "$((2 * third))" 60 # wedged behind the large message if this times out
kill -0 "$DAEMON_PID" || fail "the daemon died on the large message"
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero after the large message"

# a restart goes on: the large message is behind it
produce "$WORK/g3.jsonl"
start_daemon "$WORK/pp.ini" daemon-2
wait_applied "$good" 90
ready=$(curl -s --max-time 5 "http://127.0.0.1:$HTTP_PORT/readyz" || true)
[[ "$ready" == ready* ]] || fail "/readyz says: $ready"
stop_daemon "$DAEMON_PID" TERM || fail "restarted daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "good events around the large message were not applied exactly"

python3 "$E2E_DIR/kwire.py" dump "$PP_TEST_KAFKA" "${TOPIC_PREFIX}partner.dlq" --min 1 --wait 20 >"$WORK/dlq.jsonl" ||
    fail "no record on the DLQ"
python3 - "$WORK/dlq.jsonl" "$WORK/big.bin" "$sha" "${TOPIC_PREFIX}partner.lifecycle" "$big_off" <<'PY' ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
big, sha, topic, off = open(sys.argv[2], "rb").read(), sys.argv[3], sys.argv[4], sys.argv[5]
mine = [r for r in rows if r["headers"].get("pp-source-offset") == off and r["headers"].get("pp-source-topic") == topic]
assert len(mine) == 1, "%d DLQ records for the large message (of %d on the DLQ)" % (len(mine), len(rows))
r = mine[0]
h = r["headers"]
want = {"pp-original-size": "1040000", "pp-sha256": sha, "pp-truncated": "1", "pp-reason": "oversize",
        "pp-source-partition": "0"}
for k, v in want.items():
    assert h.get(k) == v, "header %s = %r, expected %r (headers %s)" % (k, h.get(k), v, sorted(h))
assert h.get("pp-error"), "no pp-error header"
assert r["size"] == 1024 and bytes.fromhex(r["value_hex"]) == big[:1024], \
    "value is %d bytes, expected the first 1024 of the message" % r["size"]
print("DLQ metadata record OK: %s" % {k: h[k] for k in sorted(h) if k != "pp-error"})
PY
    fail "DLQ metadata record is wrong"
log "PASS"
