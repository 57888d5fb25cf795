#!/usr/bin/env bash
# Bad input never stops the stream (DESIGN §9): undecodable bytes, a message
# on the wrong topic, unknown enum values, missing or malformed partner ids,
# negative and absurd amounts, a currency without a configured rate (CHF),
# times in the far future or before 2000, over-long strings and an oversize
# message each land on the DLQ with the original bytes and headers naming the
# reason and the source topic/partition/offset; the good events around them
# (a gen stream: amounts in USD, EUR, JPY, KWD) are applied exactly.
TEST_NAME=dlq
source "$(dirname "$0")/lib.sh"

"$PP" gen --partners 20 --seed 5 --out "$WORK/good.jsonl"
good=$(wc -l <"$WORK/good.jsonl")
expected_totals "$WORK/good.jsonl" "$WORK/expected.json"
create_topics
now=$(date +%s%3N)
long=$(printf 'x%.0s' $(seq 1 300))
huge=$(head -c 70000 /dev/zero | tr '\0' 'y')
cat >"$WORK/bad.jsonl" <<JSON
{"type":"deal","event_id":"bad-enum","partner_id":"p0001-healthy","occurred_at_ms":$now,"deal_id":"d","stage":42,"attribution":"SOURCED","amount_minor":1}
{"type":"deal","event_id":"no-partner","occurred_at_ms":$now,"deal_id":"d","stage":"REGISTERED","attribution":"SOURCED","amount_minor":1}
{"type":"deal","event_id":"bad-partner","partner_id":"bad id!","occurred_at_ms":$now,"deal_id":"d","stage":"REGISTERED","attribution":"SOURCED","amount_minor":1}
{"type":"deal","event_id":"negative","partner_id":"p0001-healthy","occurred_at_ms":$now,"deal_id":"d","stage":"REGISTERED","attribution":"SOURCED","amount_minor":-5}
{"type":"deal","event_id":"no-rate","partner_id":"p0001-healthy","occurred_at_ms":$now,"deal_id":"d","stage":"REGISTERED","attribution":"SOURCED","amount_minor":100,"currency":"CHF"}
{"type":"referral","event_id":"absurd","partner_id":"p0001-healthy","occurred_at_ms":$now,"referral_id":"r","direction":"TO_US","status":"SENT","value_minor":999999999999999999}
{"type":"engagement","event_id":"future","partner_id":"p0001-healthy","occurred_at_ms":$((now + 30 * 86400000)),"thread_id":"t","direction":"INBOUND","kind":"MESSAGE"}
{"type":"engagement","event_id":"ancient","partner_id":"p0001-healthy","occurred_at_ms":915148800000,"thread_id":"t","direction":"INBOUND","kind":"MESSAGE"}
{"type":"partner","event_id":"$long","partner_id":"p0001-healthy","occurred_at_ms":$now,"kind":"TIER_CHANGED","tier":"gold"}
{"type":"partner","event_id":"long-tier","partner_id":"p0001-healthy","occurred_at_ms":$now,"kind":"TIER_CHANGED","tier":"platinum-plus-plus-enterprise-elite"}
{"type":"partner","event_id":"oversize","partner_id":"p0001-healthy","occurred_at_ms":$now,"kind":"OWNER_CHANGED","display_name":"$huge"}
JSON
# good events first half, bad ones, second half: the stream must go on past them
half=$((good / 2))
head -n "$half" "$WORK/good.jsonl" >"$WORK/g1.jsonl"
tail -n +"$((half + 1))" "$WORK/good.jsonl" >"$WORK/g2.jsonl"
produce "$WORK/g1.jsonl"
produce --no-validate "$WORK/bad.jsonl"
echo "deal p0001-healthy ffffffff0f0108" | produce --raw -
# a valid deal published on the referrals topic
echo '{"type":"deal","event_id":"misrouted","partner_id":"p0001-healthy","occurred_at_ms":'"$now"',"deal_id":"d9","stage":"REGISTERED","attribution":"SOURCED","amount_minor":100}' |
    "$PP" produce -q -b "$PP_TEST_KAFKA" -t "deal=${TOPIC_PREFIX}partner.referrals" -
produce "$WORK/g2.jsonl"

write_config "$WORK/pp.ini"
start_daemon "$WORK/pp.ini" daemon
wait_applied "$good" 90
"$PP" dlq -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.dlq" --from-beginning --json --count 13 --idle-exit 20 \
    >"$WORK/dlq.jsonl"
kill -0 "$DAEMON_PID" || fail "the daemon died on bad input"
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "good events around the bad ones were not applied exactly"
python3 - "$WORK/dlq.jsonl" "$TOPIC_PREFIX" <<'PY' || fail "DLQ content is wrong"
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = collections.Counter(r["reason"] for r in rows)
want = collections.Counter({"undecodable": 1, "wrong_topic": 1, "enum": 1, "partner_id": 2, "amount": 2,
                            "occurred_at": 2, "event_id": 1, "string": 1, "oversize": 1, "currency": 1})
assert got == want, "reasons %s != %s" % (dict(got), dict(want))
for r in rows:
    assert r["error"], r
    assert r["source_topic"].startswith(sys.argv[2]), r
    assert r["source_partition"].isdigit() and r["source_offset"].isdigit(), r
big = [r for r in rows if r["reason"] == "oversize"][0]
assert big["bytes"] > 65536, big  # the original bytes travel with the reason
print("DLQ: %d messages, reasons %s" % (len(rows), dict(got)))
PY
grep -q 'reason=wrong_topic' "$WORK/daemon.log" || fail "rejections are not logged"
log "PASS"
