#!/usr/bin/env bash
# Producers that retry (issue 12, item 2): 20 % of the events of a gen stream
# are published twice, the copy byte for byte (same event_id) as a second
# Kafka message: half of them in the next chunk, published a second or more
# later, half 2 000-6 000 events of the stream later (dup_stream.py). The
# totals in Redis must equal those of the stream without duplicates
# (expected_totals.py on the original), /metrics must count the copies as
# pp_events_duplicate_total{reason="event_id"}, and the alerts published must
# be the episodes of an undisturbed replay of the stream without duplicates
# (none lost, none under two ids, no extra follow-up from a repeated message).
# A private redis-server, no persistence.
TEST_NAME=duplicates
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/redis_lib.sh"

free_port RPORT
redis_start r "$RPORT"
PP_TEST_REDIS_PORT=$RPORT
free_port HTTP_PORT

"$PP" gen --partners 400 --seed 57 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
plan=$(python3 "$E2E_DIR/dup_stream.py" "$WORK/events.jsonl" "$WORK/dup" --share 0.2 --chunks 10 --seed 5)
log "$n events for 400 partners; published twice: $plan"
create_topics

write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "flush_interval_ms = 20" \
    "batch_max_messages = 500" "merge_idle_ms = 10000" "${HISTORY_ALERTS[@]}" "[http]" "port = $HTTP_PORT"
point_config "$WORK/pp.ini" "$RPORT"
# every chunk published before the daemon starts (1 s apart: near copies are
# published a second or more after their original): the replay is then
# deterministic and its alerts comparable with the reference replay's
for c in "$WORK"/dup/chunk.*; do produce "$c" || fail "producing $c failed"; sleep 1; done
start_daemon "$WORK/pp.ini" daemon
total=$(cat "$WORK"/dup/chunk.* | wc -l)
for ((i = 0; i < 900; i++)); do # every message consumed (bounded, 180 s)
    consumed=$(metric "http://127.0.0.1:$HTTP_PORT/metrics" pp_events_consumed_total)
    ((consumed >= total)) && break
    sleep 0.2
done
((consumed >= total)) || fail "only $consumed of $total messages consumed after 180 s"
got=$(wait_settled "$n" 60)
log "all $total messages consumed; $got events applied for $n distinct events"
sleep 3 # end of stream: caught-up timers fire the last deadlines
dup_id=$(metric "http://127.0.0.1:$HTTP_PORT/metrics" 'pp_events_duplicate_total{reason="event_id"}')
dup_all=$(metric "http://127.0.0.1:$HTTP_PORT/metrics" 'pp_events_duplicate_total')
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
log "pp_events_duplicate_total: reason=event_id $dup_id, all reasons $dup_all"
check_end "$WORK/expected.json" "$WORK/dup.alerts.jsonl"
((dup_id > 0)) || fail "pp_events_duplicate_total{reason=\"event_id\"} is $dup_id"
reference_replay_of "$WORK/events.jsonl" "$n" "$WORK/ref.alerts.jsonl"
python3 "$E2E_DIR/check_alerts.py" "$WORK/dup.alerts.jsonl" --same-as "$WORK/ref.alerts.jsonl" ||
    fail "alerts with duplicates differ from an undisturbed replay of the stream without them"
log "PASS"
