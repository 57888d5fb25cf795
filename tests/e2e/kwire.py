#!/usr/bin/env python3
"""Minimal Kafka wire-protocol client for the end-to-end tests (stdlib only,
one broker, uncompressed or gzip record batches). `partnerpulse produce` cannot
send a message of ~1 MB as raw bytes and `partnerpulse dlq` does not print a
DLQ record's value or its extra headers; this does both.

  kwire.py produce BOOTSTRAP TOPIC PARTITION KEY FILE     one record, value = FILE's bytes
  kwire.py dump BOOTSTRAP TOPIC [--min N] [--wait S]       every record of every partition as
      JSON lines {"partition","offset","key","size","value_hex","sha256","headers":{..}};
      with --min, polls (bounded by --wait, default 30 s) until at least N records are there

  kwire.py event SIZE PARTNER OCCURRED_MS OUT   write a PartnerEvent (OWNER_CHANGED) protobuf of
      exactly SIZE bytes (display_name padded with 'y'), print its hex sha256
"""
import gzip
import hashlib
import json
import socket
import struct
import sys
import time

API_PRODUCE, API_FETCH, API_METADATA = 0, 1, 3

# ---- CRC-32C (Castagnoli), table driven
_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    t = _T
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def zz(n):  # zigzag varint
    return zz_u((n << 1) ^ (n >> 63))


class R:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def raw(self, n):
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def varint(self):
        shift = n = 0
        while True:
            b = self.buf[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (n >> 1) ^ -(n & 1)


class Conn:
    def __init__(self, bootstrap, timeout=30):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0

    def call(self, api, version, body):
        self.corr += 1
        msg = struct.pack(">hhi", api, version, self.corr) + kstr("pp-kwire") + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._exact(4))[0]
        data = self._exact(n)
        if struct.unpack_from(">i", data)[0] != self.corr:
            raise RuntimeError("correlation id mismatch")
        return R(data, 4)

    def _exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(min(n - len(out), 1 << 20))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            out += chunk
        return bytes(out)

    def partitions(self, topic):
        r = self.call(API_METADATA, 1, struct.pack(">i", 1) + kstr(topic))
        for _ in range(r.take(">i")):  # brokers
            r.take(">i"); r.string(); r.take(">i"); r.string()
        r.take(">i")  # controller
        parts = []
        for _ in range(r.take(">i")):
            err = r.take(">h"); name = r.string(); r.take(">b")
            for _ in range(r.take(">i")):
                perr, p, _leader = r.take(">hii")
                for _ in range(r.take(">i")): r.take(">i")
                for _ in range(r.take(">i")): r.take(">i")
                parts.append(p)
            if err:
                raise RuntimeError("metadata of %s: error %d" % (name, err))
        return sorted(parts)

    def produce(self, topic, partition, key, value, headers=()):
        ts = int(time.time() * 1000)
        rec = bytes([0]) + zz(0) + zz(0)
        rec += zz(len(key)) + key if key is not None else zz(-1)
        rec += zz(len(value)) + value
        rec += zz(len(headers)) + b"".join(zz(len(k)) + k + zz(len(v)) + v for k, v in headers)
        rec = zz(len(rec)) + rec
        after_crc = struct.pack(">hiqqqhii", 0, 0, ts, ts, -1, -1, -1, 1) + rec
        batch_tail = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
        batch = struct.pack(">qi", 0, len(batch_tail)) + batch_tail
        body = struct.pack(">hhi", -1, -1, 30000) + struct.pack(">i", 1) + kstr(topic)
        body += struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(batch)) + batch
        r = self.call(API_PRODUCE, 3, body)
        r.take(">i")
        r.string()
        r.take(">i")
        p, err, off, _ = r.take(">ihqq")
        if err:
            raise RuntimeError("produce to %s[%d]: error %d" % (topic, p, err))
        return off

    def fetch(self, topic, partition, offset, max_bytes=8 << 20):
        body = struct.pack(">iiiib", -1, 500, 1, max_bytes, 0) + struct.pack(">i", 1) + kstr(topic)
        body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, max_bytes)
        r = self.call(API_FETCH, 4, body)
        r.take(">i")  # throttle
        r.take(">i"); r.string(); r.take(">i")
        p, err, hw, _lso = r.take(">ihqq")
        na = r.take(">i")
        for _ in range(max(na, 0)):
            r.take(">qq")
        recs = r.raw(r.take(">i"))
        if err:
            raise RuntimeError("fetch %s[%d]@%d: error %d" % (topic, p, offset, err))
        return hw, list(parse_batches(recs))


def parse_batches(buf):
    pos = 0
    while pos + 12 <= len(buf):
        base, blen = struct.unpack_from(">qi", buf, pos)
        if pos + 12 + blen > len(buf):
            return  # partial batch at the end of the response
        b = R(buf, pos + 12)
        b.take(">i")  # leader epoch
        magic = b.take(">b")
        if magic != 2:
            raise RuntimeError("record batch magic %d" % magic)
        b.take(">I")
        attrs = b.take(">h")
        b.take(">i"); b.take(">qq"); b.take(">qhi")
        n = b.take(">i")
        body = buf[b.pos:pos + 12 + blen]
        codec = attrs & 7
        if codec == 1:
            body = gzip.decompress(body)
        elif codec:
            raise RuntimeError("compression codec %d not supported here" % codec)
        rr = R(body)
        for _ in range(n):
            rr.varint()  # length
            rr.take(">b")
            rr.varint()  # ts delta
            od = rr.varint()
            kl = rr.varint()
            key = rr.raw(kl) if kl >= 0 else None
            vl = rr.varint()
            val = rr.raw(vl) if vl >= 0 else None
            hdrs = {}
            for _ in range(rr.varint()):
                hk = rr.raw(rr.varint()).decode()
                hl = rr.varint()
                hdrs[hk] = rr.raw(hl) if hl >= 0 else None
            if not attrs & 0x20:  # control batches carry no data
                yield base + od, key, val, hdrs
        pos += 12 + blen


def dump(bootstrap, topic, want, wait):
    c = Conn(bootstrap)
    deadline = time.time() + wait
    while True:
        rows = []
        for p in c.partitions(topic):
            off = 0
            while True:
                hw, recs = c.fetch(topic, p, off)
                for o, k, v, h in recs:
                    if o < off:
                        continue
                    rows.append({"partition": p, "offset": o, "key": k.decode(errors="replace") if k else None,
                                 "size": len(v or b""), "value_hex": (v or b"").hex(),
                                 "sha256": hashlib.sha256(v or b"").hexdigest(),
                                 "headers": {hk: (hv.decode(errors="replace") if hv is not None else None)
                                             for hk, hv in h.items()}})
                    off = o + 1
                if off >= hw or not recs:
                    break
        if len(rows) >= want or time.time() >= deadline:
            break
        time.sleep(1)
    for row in rows:
        print(json.dumps(row, sort_keys=True))
    return 0 if len(rows) >= want else 1


def pb_key(field, wt):
    return zz_u(field << 3 | wt)


def zz_u(n):  # plain (unsigned) protobuf varint
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, b):
    return pb_key(field, 2) + zz_u(len(b)) + b


def make_event(size, partner, occurred_ms):
    """PartnerEvent (proto/partnerpulse.proto): event_id=1, partner_id=2, occurred_at_ms=3,
    kind=40 (OWNER_CHANGED = 2), display_name=44 padded so the message is exactly SIZE bytes."""
    head = pb_bytes(1, b"oversize-1040000") + pb_bytes(2, partner.encode())
    head += pb_key(3, 0) + zz_u(occurred_ms) + pb_key(40, 0) + zz_u(2)
    for pad in range(size, 0, -1):
        msg = head + pb_bytes(44, b"y" * pad)
        if len(msg) == size:
            return msg
        if len(msg) < size:
            break
    raise RuntimeError("cannot make a %d-byte event" % size)


def main(argv):
    if argv[1] == "produce":
        value = open(argv[6], "rb").read()
        c = Conn(argv[2])
        print(c.produce(argv[3], int(argv[4]), argv[5].encode(), value))
        return 0
    if argv[1] == "dump":
        want, wait = 0, 30.0
        rest = argv[4:]
        while rest:
            if rest[0] == "--min":
                want = int(rest[1])
            elif rest[0] == "--wait":
                wait = float(rest[1])
            rest = rest[2:]
        return dump(argv[2], argv[3], want, wait)
    if argv[1] == "event":
        msg = make_event(int(argv[2]), argv[3], int(argv[4]))
        open(argv[5], "wb").write(msg)
        print(hashlib.sha256(msg).hexdigest())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
