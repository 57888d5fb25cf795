#!/usr/bin/env bash
# End to end, replay mode: can a partner manager trust the alerts? A `gen`
# stream with four partners of every archetype over 120 days goes through the
# real broker into a replay-mode daemon. Then:
#   - every partner holds exactly its archetype's flags, including the newer
#     ones (lastword ends conversations on our reply, tokyo answers in Tokyo
#     business hours, silent goes dark while we keep writing, ignorer leaves
#     7 of 10 questions open, portal works only through referrals and deals,
#     multicur wins deals in KWD, JPY and EUR, tech4 is a technology partner
#     four months in without deals);
#   - silent partners end going_dark as CRITICAL;
#   - the healthy types (healthy, lastword, tokyo, portal, tech4) raise
#     nothing at all, multicur exactly low_acv_channel (its average won deal
#     is under 20 000 USD only once its amounts are converted), none of them
#     anything else in the last 30 days of the stream, and in Redis at the
#     end they hold no flag open but multicur's low_acv_channel;
#   - the Redis totals equal the independent oracle (expected_totals.py) for
#     the events the newer archetypes add (expects_reply, timezone/calendar,
#     PROFILE_CHANGED, inbound activity without messages, amounts in EUR, JPY
#     and KWD converted to USD at the rates of the config's [currency]).
TEST_NAME=trust
source "$(dirname "$0")/lib.sh"

# partner i has archetype i % 13: four of each; PP_TRUST_PARTNERS and
# PP_TRUST_SEED widen the run by hand (more partners, other streams)
PARTNERS=${PP_TRUST_PARTNERS:-52}
SEED=${PP_TRUST_SEED:-2027}
"$PP" gen --partners "$PARTNERS" --seed "$SEED" --days 120 --out "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
expected_totals "$WORK/events.jsonl" "$WORK/expected.json"
# the stream proves what it should: multicur's average won deal is low only
# once converted, tech4 has no deals and is under 180 days old
python3 "$E2E_DIR/check_gen.py" "$WORK/events.jsonl" --config "$CURRENCY_INI" || fail "gen broke a promise of its archetypes"
create_topics
produce "$WORK/events.jsonl"
log "produced $n events for $PARTNERS partners"

write_config "$WORK/pp.ini" "clock = replay" "timer_interval_ms = 200" "${HISTORY_ALERTS[@]}"
start_daemon "$WORK/pp.ini" daemon
wait_applied "$n" $((90 + n / 2000))
sleep 3 # end of stream: the caught-up timers fire the last deadlines
stop_daemon "$DAEMON_PID" TERM || fail "daemon exited non-zero"
"$PP" alerts -b "$PP_TEST_KAFKA" -t "${TOPIC_PREFIX}partner.alerts" --from-beginning --json --idle-exit 6 \
    >"$WORK/alerts.jsonl"

python3 "$E2E_DIR/check_totals.py" "$WORK/expected.json" --port "$PP_TEST_REDIS_PORT" --prefix "$REDIS_PREFIX" ||
    fail "totals differ from the oracle"
python3 "$E2E_DIR/check_alerts.py" "$WORK/alerts.jsonl" --events "$WORK/events.jsonl" --recent-days 30 \
    --redis-port "$PP_TEST_REDIS_PORT" --redis-prefix "$REDIS_PREFIX" || fail "alerts a partner manager cannot trust"
log "PASS"
