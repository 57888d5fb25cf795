#!/usr/bin/env python3
"""usage: check_web_api.py BASE_URL TOKEN REDIS_PORT PREFIX PARTNERS PAGE_MAX

The JSON routes of `partnerpulse web` (docs/dashboard.md) against what Redis
holds (read here with the test's own admin connection): auth (bearer header,
cookie flow, 401s), the leaderboard (totals, default order = pp:health order,
another sort, filters, search, paging, bounds), a partner (fields = its
hash, 404, 400), the alerts (newest first, numbers, partner filter), the
security headers and the static files. Prints one line per failed check and
exits 1 if any failed."""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from ppredis import Redis

base, token, port, prefix, partners, page_max = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
r = Redis(port=port)
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


opener = urllib.request.build_opener(NoRedirect)


def get(path, headers=None, auth=True):
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, headers=h)
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(path, **kw):
    status, headers, body = get(path, **kw)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def q(**args):
    return "/api/leaderboard?" + urllib.parse.urlencode(args)


# ---- auth ----
check(get("/api/leaderboard", auth=False)[0] == 401, "no credentials: 401")
check(get("/api/leaderboard", auth=False, headers={"Authorization": "Bearer wrong"})[0] == 401, "wrong bearer: 401")
check(get("/api/stream", auth=False)[0] == 401, "SSE without credentials: 401")
check(get("/", auth=False)[0] == 401, "page without credentials: 401")
check(get("/api/leaderboard")[0] == 200, "bearer token: 200")
status, headers, _ = get("/partner/p-0001?token=" + urllib.parse.quote(token), auth=False)
cookie = headers.get("Set-Cookie", "")
check(status == 303 and headers.get("Location") == "/partner/p-0001", "?token= redirects to the path without the query (got %s %s)" % (status, headers.get("Location")))
check(cookie.startswith("pp_token=" + token + ";") and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie,
      "?token= sets the cookie HttpOnly, SameSite=Strict, Path=/ (got %r)" % cookie)
check(get("/?token=wrong", auth=False)[0] == 401, "?token= with a wrong token: 401")
check(get("/api/leaderboard", auth=False, headers={"Cookie": "pp_token=" + token})[0] == 200, "cookie: 200")
check(get("/api/leaderboard", auth=False, headers={"Cookie": "pp_token=nope"})[0] == 401, "wrong cookie: 401")

# ---- security headers on every answer ----
for path in ("/api/leaderboard", "/api/partner/nobody-here", "/nothing", "/"):
    _, h, _ = get(path)
    check(h.get("Content-Security-Policy") == "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
          "CSP on %s" % path)
    check(h.get("X-Content-Type-Options") == "nosniff" and h.get("Referrer-Policy") == "no-referrer", "nosniff, no-referrer on %s" % path)

# ---- leaderboard ----
zcard = r.cmd("ZCARD", prefix + "health")
zorder = [m.decode() for m in r.cmd("ZRANGE", prefix + "health", 0, -1)]
hashes = {pid: r.hgetall(prefix + "partner:{" + pid + "}") for pid in zorder}
status, lb = get_json(q())
check(status == 200 and lb is not None, "leaderboard: 200 JSON")
check(lb["total"] == partners and lb["partners_total"] == partners and zcard == partners,
      "leaderboard total %s / partners_total %s = %d partners (ZCARD %d)" % (lb["total"], lb["partners_total"], partners, zcard))
check(lb["offset"] == 0 and lb["limit"] == 50 and lb["sort"] == "health" and lb["dir"] == "asc", "leaderboard defaults echoed")
check(set(lb["facets"]) == {"owner", "type", "tier", "flag", "rag"} and lb["facets"]["rag"] == ["red", "amber", "green"], "facets")
row_keys = {"id", "display_name", "health", "rag", "confidence", "flags", "owner", "partner_type", "tier", "last_event_ms", "updated_at_ms"}
check(all(set(x) == row_keys for x in lb["rows"]), "row fields are exactly %s" % sorted(row_keys))
everyone = []
for off in range(0, partners, page_max):
    everyone += get_json(q(offset=off, limit=page_max))[1]["rows"]
check([x["id"] for x in everyone] == zorder, "default order = pp:health order (health ascending)")
hs = [x["health"] for x in everyone]
check(hs == sorted(hs), "default order: health ascending")
for x in everyone:
    hh = hashes[x["id"]]
    check(x["display_name"] == hh.get("display_name", "") and x["owner"] == hh.get("owner", "") and x["rag"] == hh.get("rag", "")
          and x["flags"] == [f for f in hh.get("flags", "").split(",") if f] and abs(x["health"] - float(hh["health"])) < 1e-9,
          "row of %s = its hash" % x["id"])
    check(isinstance(x["confidence"], (float, int)) or x["confidence"] is None, "confidence is a number or null")
check(get_json(q(offset=10, limit=5))[1]["rows"] == everyone[10:15], "paging: offset 10 limit 5 is a slice of the order")
check(len(get_json(q(limit=page_max + 100))[1]["rows"]) == min(page_max, partners), "limit above page_size_max is capped")
check(get_json(q(sort="bogus"))[0] == 400, "unknown sort: 400")
check(get_json(q(dir="up"))[0] == 400, "bad dir: 400")
check(get_json(q(offset=-1))[0] == 400, "negative offset: 400")

rows = get_json(q(sort="display_name", dir="desc", limit=page_max))[1]["rows"]
names = [x["display_name"].lower() for x in rows]
check(names == sorted(names, reverse=True) and len(rows) == min(page_max, partners), "sort=display_name desc")
rows = get_json(q(sort="flags", dir="desc", limit=page_max))[1]["rows"]
check([len(x["flags"]) for x in rows] == sorted([len(x["flags"]) for x in rows], reverse=True), "sort=flags desc: flag counts non-increasing")
check(get_json(q(sort="last_event_ms"))[0] == 200 and get_json(q(sort="rag", dir="desc"))[0] == 200, "other sorts answer")

owners = lb["facets"]["owner"]
check(len(owners) > 1, "several owners in the facets")
want = sorted(pid for pid, hh in hashes.items() if hh.get("owner") == owners[0])
_, f = get_json(q(owner=owners[0], limit=page_max))
check(f["total"] == len(want) and sorted(x["id"] for x in f["rows"]) == want[:page_max] if len(want) <= page_max else f["total"] == len(want),
      "owner filter: %d partners of %r" % (len(want), owners[0]))
flags = lb["facets"]["flag"]
check(len(flags) > 0, "some flags are open")
if flags:
    want = sorted(pid for pid, hh in hashes.items() if flags[0] in hh.get("flags", "").split(","))
    _, f = get_json(q(flag=flags[0], limit=page_max))
    check(f["total"] == len(want) and all(flags[0] in x["flags"] for x in f["rows"]), "flag filter %r: %d partners" % (flags[0], len(want)))
_, f = get_json(q(rag="red", owner=owners[0], limit=page_max))
check(all(x["rag"] == "red" and x["owner"] == owners[0] for x in f["rows"]), "filters combine")
needle = zorder[7][-4:].upper()
want = sorted(pid for pid, hh in hashes.items() if needle.lower() in pid.lower() or needle.lower() in hh.get("display_name", "").lower())
_, f = get_json(q(q=needle, limit=page_max))
check(f["total"] == len(want) and zorder[7] in [x["id"] for x in f["rows"]], "search q=%s (case-insensitive): %d partners" % (needle, len(want)))

# ---- partner ----
pid = zorder[0]
status, p = get_json("/api/partner/" + pid)
check(status == 200 and p["id"] == pid and p["fields"] == hashes[pid], "partner %s: 200, fields = its hash" % pid)
check(isinstance(p["open"], list) and isinstance(p["trend"], list), "partner: open and trend are lists")
for t in p["trend"]:
    check(len(t["day"]) == 10 and isinstance(t["health"], (int, float)), "trend point shape")
# the daemon keeps both: the least healthy gen partner has a trend and open flags
check(len(p["trend"]) > 1 and p["trend"] == sorted(p["trend"], key=lambda t: t["day"]), "partner %s: a trend, oldest first" % pid)
want_open = sorted(f for f in hashes[pid].get("flags", "").split(",") if f)
check(sorted(o["rule"] for o in p["open"]) == want_open and all(o.get("message") and o.get("started_at_ms") for o in p["open"]),
      "partner %s: open = its flags %r, each with sentence and start" % (pid, want_open))
check(get_json("/api/partner/nobody-here")[0] == 404, "unknown partner: 404")
check(get_json("/api/partner/" + urllib.parse.quote("bad id!"))[0] == 400, "invalid id: 400")
check(get_json("/api/partner/" + "x" * 129)[0] == 400, "id over 128 characters: 400")

# ---- alerts ----
status, a = get_json("/api/alerts?limit=20")
al = a["alerts"]
check(status == 200 and 0 < len(al) <= 20, "alerts: 200, 1..20 of them (got %d)" % len(al))
def sid(x):
    ms, seq = x["id"].split("-")
    return int(ms), int(seq)
check([sid(x) for x in al] == sorted((sid(x) for x in al), reverse=True), "alerts newest first")
check(all(isinstance(x["health"], float) and isinstance(x["started_at_ms"], int) and isinstance(x["published"], int) and isinstance(x["rule"], str)
          for x in al), "alert numbers are numbers")
latest = r.cmd("XREVRANGE", prefix + "alerts", "+", "-", "COUNT", 1)[0][0].decode()
check(al[0]["id"] == latest, "the first alert is the stream's latest")
one = al[0]["partner_id"]
_, a = get_json("/api/alerts?partner=" + one)
check(len(a["alerts"]) > 0 and all(x["partner_id"] == one for x in a["alerts"]), "alerts?partner= filters")

# ---- static files (the test's assets dir holds index.html and app.js) ----
status, h, body = get("/")
check(status == 200 and h.get("Content-Type", "").startswith("text/html") and b"<title>" in body, "/ serves index.html")
check(get("/partner/" + pid)[2] == body, "/partner/<id> serves index.html")
status, h, _ = get("/assets/app.js")
check(status == 200 and h.get("Content-Type", "").startswith("text/javascript"), "/assets/app.js: 200 text/javascript")
for bad in ("/assets/../web.ini", "/assets/%2e%2e/web.ini", "/assets/", "/assets/sub/", "/assets/.hidden.js", "/assets/link.js", "/assets/data.bin"):
    check(get(bad)[0] == 404, "%s: 404" % bad)

# ---- nothing else ----
check(get("/api/leaderboard", headers={"X": "y"})[0] == 200 and get_json("/api/nope")[0] == 404, "unknown API route: 404")
print("check_web_api: %d failed checks" % len(failures))
sys.exit(1 if failures else 0)
