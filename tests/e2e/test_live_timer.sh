#!/usr/bin/env bash
# Live mode: an absence rule fires from its timer at the deadline with no
# further event. One partner gets one outbound message; reply_overdue is set
# to ~4 s; the FIRING alert must reach the alert topic with started_at_ms at
# the deadline, though no event follows. Then the partner replies: RESOLVED.
TEST_NAME=live_timer
source "$(dirname "$0")/lib.sh"

create_topics
write_config "$WORK/pp.ini" "clock = live" "timer_interval_ms = 200"
cat >>"$WORK/pp.ini" <<'INI'
[rules]
reply_overdue_days = 0.00005
# timer mechanics, not business hours: a business day is 24 h of real time
calendar = always
INI
start_daemon "$WORK/pp.ini" daemon
now=$(($(date +%s%3N)))
pid="live-$RUN_ID"
pid=${pid:0:100}
cat >"$WORK/events.jsonl" <<JSON
{"type":"partner","event_id":"$pid-1","partner_id":"$pid","occurred_at_ms":$now,"kind":"SIGNED","partner_type":"RESELLER","tier":"gold","display_name":"Live Test GmbH"}
{"type":"engagement","event_id":"$pid-2","partner_id":"$pid","occurred_at_ms":$now,"thread_id":"t1","direction":"OUTBOUND","kind":"MESSAGE","automated":false}
JSON
produce "$WORK/events.jsonl"
deadline=$((now + 4320)) # 0.00005 days of the 24x7 calendar
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --count 1 --idle-exit 25 \
    >"$WORK/fired.jsonl"
grep -q '"rule": *"reply_overdue"' "$WORK/fired.jsonl" || fail "no reply_overdue alert within 25 s: $(cat "$WORK/fired.jsonl")"
python3 - "$WORK/fired.jsonl" "$deadline" <<'PY' || fail "alert does not start at the deadline"
import json, sys
a = json.loads(open(sys.argv[1]).readline())
dl = int(sys.argv[2])
assert a["status"] == "FIRING", a
# deadlines are kept at one-second resolution (pp_secs)
assert 0 <= dl - int(a["started_at_ms"]) < 1000, (a["started_at_ms"], dl)
print("reply_overdue FIRING, started_at_ms = deadline (%s)" % a["started_at_ms"])
PY
# the partner answers: the alert resolves
now2=$(($(date +%s%3N)))
echo "{\"type\":\"engagement\",\"event_id\":\"$pid-3\",\"partner_id\":\"$pid\",\"occurred_at_ms\":$now2,\"thread_id\":\"t1\",\"direction\":\"INBOUND\",\"kind\":\"MESSAGE\",\"automated\":false}" >"$WORK/reply.jsonl"
produce "$WORK/reply.jsonl"
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --count 2 --idle-exit 20 \
    >"$WORK/all.jsonl"
grep -q '"status": *"RESOLVED"' "$WORK/all.jsonl" || fail "no RESOLVED after the reply: $(cat "$WORK/all.jsonl")"
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
log "PASS"
