#!/usr/bin/env python3
"""The naive peer of deploy/bench/run: the consumer a team would write in an
afternoon instead of partnerpulsed, to compare throughput with.

It reads PREFIXpartner.{deals,referrals,engagements,lifecycle} from the
earliest offset in its own consumer group (confluent-kafka), decodes each
message with the classes protoc generated from proto/partnerpulse.proto, and
keeps per-partner counters in Redis (redis-py): one hash
REDIS_PREFIX peer:<partner_id> with the fields `events` and one per event type
(deal, referral, engagement, partner), HINCRBY in one pipeline per batch. Each
batch is `consume(num_messages=BATCH)`; offsets are committed synchronously
after the batch's pipeline has executed (enable.auto.commit=false): what is
committed is in Redis.

It stops once it has consumed --events messages (or after --timeout) and
prints one JSON line:
  events              messages consumed (decode failures included)
  decode_errors       messages that did not decode (counted, skipped)
  seconds             from its start to the last commit done
  seconds_from_first_event
                      from the first message received to the last commit
  events_per_s        events / seconds_from_first_event (the basis of the
                      ceiling and partnerpulsed figures: their first message
                      or first apply, so a consumer group join is not counted)
  batches, complete   number of batches; whether --events were consumed
  redis_events        with --verify: the sum of `events` over the peer's
                      hashes, read after the clock stopped
Exit status: 0 complete, 1 not (timeout), 2 usage.

Needs the venv deploy/bench/run makes (deploy/bench/peer-requirements.txt)
and --proto-dir holding partnerpulse_pb2.py (protoc --python_out).
"""
import argparse
import json
import sys
import time


def main():
    t_start = time.time()
    ap = argparse.ArgumentParser(description="naive peer consumer (deploy/bench)")
    ap.add_argument("--bootstrap", required=True, help="Kafka HOST:PORT")
    ap.add_argument("--topic-prefix", default="", help="topic name prefix")
    ap.add_argument("--group", required=True, help="consumer group id (its own, new)")
    ap.add_argument("--redis-port", type=int, default=6379)
    ap.add_argument("--redis-prefix", default="", help="keys are PREFIXpeer:<partner_id>")
    ap.add_argument("--events", type=int, required=True, help="stop after this many messages")
    ap.add_argument("--batch", type=int, default=500, help="messages per consume() and per pipeline")
    ap.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    ap.add_argument("--proto-dir", required=True, help="directory of partnerpulse_pb2.py")
    ap.add_argument("--verify", action="store_true", help="sum the counters in Redis at the end")
    a = ap.parse_args()

    sys.path.insert(0, a.proto_dir)
    import partnerpulse_pb2 as pb
    import redis
    from confluent_kafka import Consumer, KafkaException
    from google.protobuf.message import DecodeError

    # topic -> (message class, counter field)
    kinds = {a.topic_prefix + "partner.deals": (pb.DealEvent, "deal"),
             a.topic_prefix + "partner.referrals": (pb.ReferralEvent, "referral"),
             a.topic_prefix + "partner.engagements": (pb.EngagementEvent, "engagement"),
             a.topic_prefix + "partner.lifecycle": (pb.PartnerEvent, "partner")}
    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(list(kinds))
    r = redis.Redis(port=a.redis_port)
    key_prefix = a.redis_prefix + "peer:"

    events = decode_errors = batches = 0
    t_first = t_commit = None
    try:
        while events < a.events and time.time() - t_start < a.timeout:
            msgs = consumer.consume(num_messages=min(a.batch, a.events - events), timeout=1.0)
            if not msgs:
                continue
            if t_first is None:
                t_first = time.time()
            pipe = r.pipeline()
            for m in msgs:
                if m.error():  # a transient error (broker down...): librdkafka retries
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    print("peer: %s" % m.error(), file=sys.stderr)
                    continue
                events += 1
                cls, field = kinds[m.topic()]
                try:
                    ev = cls.FromString(m.value())
                except DecodeError:
                    decode_errors += 1
                    continue
                key = key_prefix + ev.partner_id
                pipe.hincrby(key, "events", 1)
                pipe.hincrby(key, field, 1)
            pipe.execute()
            consumer.commit(asynchronous=False)
            t_commit = time.time()
            batches += 1
    finally:
        consumer.close()

    out = {"events": events, "decode_errors": decode_errors, "batches": batches,
           "complete": events >= a.events,
           "seconds": round((t_commit or time.time()) - t_start, 3),
           "seconds_from_first_event": round(t_commit - t_first, 3) if t_first and t_commit else 0}
    out["events_per_s"] = round(events / out["seconds_from_first_event"]) if out["seconds_from_first_event"] else 0
    if a.verify:
        keys = list(r.scan_iter(match=key_prefix + "*", count=1000))
        total = 0
        for i in range(0, len(keys), 1000):
            pipe = r.pipeline(transaction=False)
            for k in keys[i:i + 1000]:
                pipe.hget(k, "events")
            total += sum(int(v or 0) for v in pipe.execute())
        out["redis_events"] = total
        out["redis_partners"] = len(keys)
    print(json.dumps(out))
    return 0 if out["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
