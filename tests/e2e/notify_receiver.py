#!/usr/bin/env python3
"""A local HTTP receiver standing in for Slack, a webhook consumer and
PagerDuty in test_notify.sh. Records every POST as one JSON line.

usage: notify_receiver.py PORT RECORD.jsonl --secret SECRET

  POST /slack/...          Slack incoming webhook: 200 "ok"
  POST /hook/...           generic webhook: the signature is verified
                           (X-Partnerpulse-Signature = sha256=HMAC(SECRET,
                           X-Partnerpulse-Timestamp + "." + body), timestamp
                           within 5 minutes): 200, or 401 and a record with
                           "bad_signature": true
  POST /pd/v2/enqueue      PagerDuty Events v2: 202 {"status":"success",...}
Each record: {"path", "body" (parsed JSON), "signature_ok" (hooks)}.
Appends to RECORD (so a restarted receiver keeps the history)."""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("record")
    ap.add_argument("--secret", required=True)
    args = ap.parse_args()
    out = open(args.record, "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw)
            except ValueError:
                self.reply(400, '{"error":"not JSON"}')
                return
            rec = {"path": self.path, "body": body, "at": time.time()}
            code, answer = 200, "ok"
            if self.path.startswith("/hook"):
                ts = self.headers.get("X-Partnerpulse-Timestamp", "")
                sig = self.headers.get("X-Partnerpulse-Signature", "")
                want = "sha256=" + hmac.new(args.secret.encode(), ts.encode() + b"." + raw,
                                            hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(sig, want) and ts.isdigit() and abs(time.time() - int(ts)) < 300
                rec["signature_ok"] = ok
                rec["alert_id_header"] = self.headers.get("X-Partnerpulse-Alert-Id")
                if not ok:
                    rec["bad_signature"] = True
                    code, answer = 401, '{"error":"bad signature"}'
            elif self.path.startswith("/pd/"):
                code = 202
                answer = json.dumps({"status": "success", "message": "Event processed",
                                     "dedup_key": body.get("dedup_key")})
            with lock:
                out.write(json.dumps(rec) + "\n")
            self.reply(code, answer)

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
    srv.daemon_threads = True
    print("receiver listening on 127.0.0.1:%d" % args.port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
