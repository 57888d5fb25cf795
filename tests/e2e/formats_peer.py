#!/usr/bin/env python3
"""The other side of tests/e2e/test_formats.sh: real producers of every input
framing partnerpulsed accepts (docs/events.md#formats), and the one Schema
Registry endpoint they need.

    formats_peer.py registry --port-file F --log F [--first-id N]
        A minimal Confluent Schema Registry on 127.0.0.1 (a free port, written
        to F once it listens): what the serializers call. Schemas get ids from
        N (41) on, one id per distinct schema, as the real registry does.
    formats_peer.py produce --bootstrap B --registry URL --prefix P --events F
                            --pb DIR --cli-out F
        Produces the gen stream F to the topics P.partner.*, declared
        deals=auto (with an allow-list), referrals=protobuf,
        engagements=auto, lifecycle=json: the events of every fourth
        partner (but their lifecycle events) are left to `partnerpulse
        produce` (written to --cli-out); every other event goes out in a
        framing its topic accepts, in turn: plain protobuf
        (SerializeToString), Confluent's ProtobufSerializer (SR framing,
        auto.register.schemas) or JSON (json.dumps, by an ordinary
        Producer). In the middle of the stream, one message per mismatch
        (each with the reason the daemon must give it). Prints a JSON
        summary: messages per framing, schema ids, the mismatches by reason.

Needs the venv of tests/e2e/formats-requirements.txt and the classes
protoc --python_out generates from proto/partnerpulse.proto and
partnerpulse_next.proto (the same messages in package partnerpulse.v2 with
one more field: a producer's newer schema, a new id the allow-list lacks).
"""
import argparse
import collections
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

# ---------------------------------------------------------------- registry

CT = "application/vnd.schemaregistry.v1+json"


class Registry:
    """Subjects -> versions -> schema ids; schemas deduplicated by content."""

    def __init__(self, first_id):
        self.lock = threading.Lock()
        self.next_id = first_id
        self.by_key = {}   # (type, schema, refs) -> id
        self.by_id = {}    # id -> {"schema", "schemaType", "references"}
        self.subjects = collections.defaultdict(list)  # subject -> [id per version]

    @staticmethod
    def key(body):
        refs = json.dumps(body.get("references") or [], sort_keys=True)
        return (body.get("schemaType", "AVRO"), body["schema"], refs)

    def register(self, subject, body):
        with self.lock:
            k = self.key(body)
            sid = self.by_key.get(k)
            if sid is None:
                sid = self.next_id
                self.next_id += 1
                self.by_key[k] = sid
                self.by_id[sid] = {"schema": body["schema"], "schemaType": k[0],
                                   "references": body.get("references") or []}
            if sid not in self.subjects[subject]:
                self.subjects[subject].append(sid)
            return sid

    def version(self, subject, sid):
        return self.subjects[subject].index(sid) + 1

    def registered(self, subject, sid):
        s = dict(self.by_id[sid])
        s.update({"subject": subject, "id": sid, "version": self.version(subject, sid)})
        return s


def serve_registry(a):
    reg = Registry(a.first_id)
    logf = open(a.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", CT)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def not_found(self, code, what):
            self.reply(404, {"error_code": code, "message": what + " not found"})

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}")

        def log_message(self, fmt, *args):
            logf.write("%s %s\n" % (self.command, self.path))

        def do_POST(self):
            parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
            if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                sid = reg.register(parts[1], self.body())
                return self.reply(200, {"id": sid})
            if len(parts) == 2 and parts[0] == "subjects":  # lookup under a subject
                body = self.body()
                sid = reg.by_key.get(Registry.key(body))
                if sid is None or sid not in reg.subjects.get(parts[1], []):
                    return self.not_found(40403, "Schema")
                return self.reply(200, reg.registered(parts[1], sid))
            self.not_found(404, "Endpoint")

        def do_GET(self):
            parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                s = reg.by_id.get(int(parts[2]))
                return self.reply(200, s) if s else self.not_found(40403, "Schema")
            if parts == ["subjects"]:
                return self.reply(200, sorted(reg.subjects))
            if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                ids = reg.subjects.get(parts[1])
                return self.reply(200, list(range(1, len(ids) + 1))) if ids else self.not_found(40401, "Subject")
            if len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
                ids = reg.subjects.get(parts[1])
                if not ids:
                    return self.not_found(40401, "Subject")
                v = len(ids) if parts[3] == "latest" else int(parts[3]) if parts[3].isdigit() else 0
                if not 1 <= v <= len(ids):
                    return self.not_found(40402, "Version")
                return self.reply(200, reg.registered(parts[1], ids[v - 1]))
            self.not_found(404, "Endpoint")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


# ---------------------------------------------------------------- producers

TOPICS = {"deal": "partner.deals", "referral": "partner.referrals", "engagement": "partner.engagements",
          "partner": "partner.lifecycle"}
CLASSES = {"deal": "DealEvent", "referral": "ReferralEvent", "engagement": "EngagementEvent",
           "partner": "PartnerEvent"}
# what test_formats.sh declares for each topic, and the framings sent to it in turn
FRAMINGS = {"deal": ["protobuf", "sr", "json"], "referral": ["protobuf", "sr"],
            "engagement": ["sr", "json", "protobuf"], "partner": ["json"]}


def produce(a):
    sys.path.insert(0, a.pb)
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from google.protobuf import json_format
    import partnerpulse_pb2 as v1
    import partnerpulse_next_pb2 as v2

    events = [json.loads(l) for l in open(a.events) if l.strip()]
    partners = sorted({e["partner_id"] for e in events})
    cli_partners = set(partners[::4])
    registry = SchemaRegistryClient({"url": a.registry})
    serializers = {}

    schema_ids = collections.defaultdict(set)  # module -> the ids its serializers framed with

    def sr(module, typ, msg, topic):
        k = (module.__name__, typ)
        if k not in serializers:
            serializers[k] = ProtobufSerializer(getattr(module, CLASSES[typ]), registry,
                                                {"auto.register.schemas": True})
        value = serializers[k](msg, SerializationContext(topic, MessageField.VALUE))
        assert value[0] == 0, value[:8]
        schema_ids[module.__name__].add(int.from_bytes(value[1:5], "big"))
        return value

    def message(module, e):
        d = {k: v for k, v in e.items() if k != "type"}
        if isinstance(d.get("expects_reply"), bool):  # the JSON mapping's true/false (docs/events.md)
            d["expects_reply"] = "YES" if d["expects_reply"] else "NO"
        return json_format.ParseDict(d, getattr(module, CLASSES[e["type"]])())

    p = Producer({"bootstrap.servers": a.bootstrap, "enable.idempotence": True, "linger.ms": 20})
    failed = []

    def dr(err, msg):
        if err is not None:
            failed.append(str(err))

    sent = collections.Counter()  # by the framing the daemon will read the message as
    turn = collections.Counter()

    def send(typ, key, value, framing):
        topic = a.prefix + TOPICS[typ]
        while True:
            try:
                p.produce(topic, key=key.encode(), value=value, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        sent[framing] += 1

    def good(e):
        typ = e["type"]
        topic = a.prefix + TOPICS[typ]
        framing = FRAMINGS[typ][turn[typ] % len(FRAMINGS[typ])]
        turn[typ] += 1
        if framing == "protobuf":
            value = message(v1, e).SerializeToString()
        elif framing == "sr":
            value = sr(v1, typ, message(v1, e), topic)
        else:  # JSON as a connector writes it: with or without "type", now and then after a newline
            obj = dict(e) if turn[typ] % 2 else {k: v for k, v in e.items() if k != "type"}
            value = ("\n" if turn[typ] % 5 == 0 else "") + json.dumps(obj)
            value = value.encode()
        send(typ, e["partner_id"], value, framing)

    bad = collections.Counter()

    def mismatches(pid, now):
        """One message per mismatch, each with the reason partnerpulsed must give."""
        deal = {"type": "deal", "event_id": "bad-x", "partner_id": pid, "occurred_at_ms": now, "deal_id": "bd",
                "stage": "REGISTERED", "attribution": "SOURCED", "amount_minor": 100}
        ref = {"type": "referral", "event_id": "bad-r", "partner_id": pid, "occurred_at_ms": now,
               "direction": "TO_US", "status": "SENT"}
        lc = {"type": "partner", "event_id": "bad-l", "partner_id": pid, "occurred_at_ms": now,
              "kind": "TIER_CHANGED", "tier": "gold"}
        eng = {"type": "engagement", "event_id": "bad-e", "partner_id": pid, "occurred_at_ms": now,
               "direction": "INBOUND", "kind": "MESSAGE", "thread_id": "bt"}

        def out(reason, typ, value, framing):
            send(typ, pid, value, framing)
            bad[reason] += 1

        # the serializer of a newer schema (package partnerpulse.v2, one more field): a new id
        for i in range(2):
            nd = message(v2, dict(deal, event_id="bad-next-%d" % i))
            nd.source_system = "crm-2"
            out("sr_schema_id", "deal", sr(v2, "deal", nd, a.prefix + TOPICS["deal"]), "sr")
        out("sr_framing", "deal", b"\x00\x00\x00", "sr")  # truncated header
        # the pre-zigzag index array of Confluent's clients before 1.8 (use.deprecated.format):
        # count 1 written as 0x01, which reads as zigzag -1
        rb = message(v1, ref).SerializeToString()
        out("sr_framing", "referral", b"\x00" + min(schema_ids[v1.__name__]).to_bytes(4, "big") + b"\x01\x01" + rb, "sr")
        out("format", "referral", json.dumps(ref).encode(), "json")        # JSON on a protobuf topic
        out("format", "partner", message(v1, lc).SerializeToString(), "protobuf")  # protobuf on a json topic
        out("format", "partner", sr(v1, "partner", message(v1, lc), a.prefix + TOPICS["partner"]), "sr")
        out("json_syntax", "engagement", b'{"event_id": "bad-s", "partner_id": ', "json")
        out("json_mapping", "engagement", json.dumps(dict(eng, colour="red")).encode(), "json")
        out("json_mapping", "deal", json.dumps(dict(deal, stage="CLOSED")).encode(), "json")
        out("json_mapping", "deal", json.dumps(dict(deal, amount_minor="100")).encode(), "json")
        out("wrong_topic", "deal", json.dumps(dict(eng, type="engagement")).encode(), "json")
        out("partner_id", "engagement", json.dumps(dict(eng, partner_id="bad id!")).encode(), "json")

    cli = open(a.cli_out, "w")
    half = len(events) // 2
    for i, e in enumerate(events):
        if i == half:
            p.flush(60)
            mismatches(partners[1], e["occurred_at_ms"])
        if e["partner_id"] in cli_partners and e["type"] != "partner":
            cli.write(json.dumps(e) + "\n")  # plain protobuf by partnerpulse produce
            continue
        good(e)
    cli.close()
    left = p.flush(60)
    if left or failed:
        sys.exit("formats_peer: %d messages not acknowledged, %d failed (%s)" % (left, len(failed), failed[:3]))
    print(json.dumps({"sent": dict(sent), "schema_ids": {m: sorted(v) for m, v in schema_ids.items()},
                      "bad": dict(bad), "cli_events": sum(1 for _ in open(a.cli_out))}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("registry")
    r.add_argument("--port-file", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--first-id", type=int, default=41)
    r.set_defaults(fn=serve_registry)
    pr = sub.add_parser("produce")
    for k in ("--bootstrap", "--registry", "--prefix", "--events", "--pb", "--cli-out"):
        pr.add_argument(k, required=True)
    pr.set_defaults(fn=produce)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
