#!/usr/bin/env python3
"""Drives the dashboard (`partnerpulse web`) in Debian's Chromium through
Playwright and checks what a person sees, against Redis as the truth.

usage: web_browser.py --url http://127.0.0.1:PORT --redis-port P --prefix PFX
           --shots DIR --hostile-id ID --hostile-name NAME
           --live-partner ID --live-rule RULE --live-cmd 'COMMAND'

Checks, in order (each wait bounded; the first failure exits 1 with a sentence):
  1. the leaderboard shows the partners least healthy first: row i is a
     partner whose score in PFXhealth is the i-th lowest
  2. a click on a red partner opens /partner/<id> (pushState), showing the
     why_1..3 of its hash and one open-flag item per rule of its `flags`;
     the back button returns to the leaderboard
  3. --live-cmd (which produces an event to Kafka) makes a transition of
     --live-rule for --live-partner appear in the live feed within 5 s,
     without a reload, and that partner's leaderboard row drop the rule
     (the stream's `health` event) within 5 s more
  4. the partner --hostile-id, whose display_name is markup, shows it as
     literal text on its page and in the leaderboard's search results, and
     no dialog ever opens (page.on("dialog")) nor any <img> exists
Screenshots: DIR/leaderboard.png, partner.png, live-feed.png, hostile.png.
Prints one line of timings (first leaderboard paint, live alert delay).
"""
import argparse
import os
import shlex
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright, TimeoutError as PwTimeout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ppredis import Redis  # noqa: E402

CHROMIUM = os.environ.get("PP_CHROMIUM", "/usr/bin/chromium")
# the flags Chromium needs on these machines: no sandbox as root, and none of
# its background connections (the network is closed: they would fail by the dozen)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WAIT_MS = 10_000


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "prefix", "shots", "hostile-id", "hostile-name", "live-partner", "live-rule", "live-cmd"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    args = ap.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    r = Redis(port=args.redis_port)
    pfx = args.prefix

    dialogs, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        ctx = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1440, "height": 1000})
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        try:
            timings = run(page, r, pfx, args)
        except (Fail, PwTimeout) as e:
            try:
                page.screenshot(path=os.path.join(args.shots, "failure.png"), full_page=True)
            except Exception:
                pass
            print("web_browser: FAIL: %s (url %s)" % (e, page.url), file=sys.stderr)
            if errors:
                print("web_browser: page errors: %s" % errors[:10], file=sys.stderr)
            return 1
        finally:
            browser.close()
    if dialogs:
        print("web_browser: FAIL: a dialog opened (markup was executed): %r" % dialogs, file=sys.stderr)
        return 1
    if errors:
        print("web_browser: FAIL: the page logged errors: %s" % errors[:10], file=sys.stderr)
        return 1
    print("web_browser: PASS " + " ".join("%s=%s" % kv for kv in timings.items()))
    return 0


def health_order(r, pfx):
    """ids and scores of PFXhealth, least healthy first"""
    z = r.cmd("ZRANGE", pfx + "health", 0, -1, "WITHSCORES")
    return [(z[i].decode(), float(z[i + 1])) for i in range(0, len(z), 2)]


def run(page, r, pfx, args):
    timings = {}
    ranked = health_order(r, pfx)
    score = dict(ranked)
    check(len(ranked) > 0, "no partner in %shealth" % pfx)

    # 1. the leaderboard, least healthy first
    t0 = time.monotonic()
    page.goto(args.url + "/")
    page.wait_for_selector("#lb-body tr[data-id]")
    timings["first_paint_ms"] = round((time.monotonic() - t0) * 1000)
    ids = page.eval_on_selector_all("#lb-body tr[data-id]", "trs => trs.map(t => t.dataset.id)")
    check(len(ids) == min(50, len(ranked)), "leaderboard shows %d rows, want %d" % (len(ids), min(50, len(ranked))))
    for i, pid in enumerate(ids):
        check(pid in score, "leaderboard row %d is %r, not a partner of %shealth" % (i + 1, pid, pfx))
        check(abs(score[pid] - ranked[i][1]) < 1e-6,
              "leaderboard row %d is %s (health %.2f), but the %d-th lowest health is %.2f" %
              (i + 1, pid, score[pid], i + 1, ranked[i][1]))
    shown = page.eval_on_selector_all("#lb-body tr[data-id] td[data-col=health]", "tds => tds.map(t => t.textContent)")
    for i, txt in enumerate(shown):
        check(abs(float(txt.replace(",", "")) - score[ids[i]]) < 0.051,
              "row %d shows health %s, Redis has %.2f" % (i + 1, txt, score[ids[i]]))
    rng = page.text_content("#lb-range")
    check(("of %s" % format(len(ranked), ",")) in rng, "paging text %r does not count %d partners" % (rng, len(ranked)))
    page.screenshot(path=os.path.join(args.shots, "leaderboard.png"), full_page=True)

    # sorting: a click on Health reverses the order, a second click restores it
    page.click("th[data-sort=health]")
    page.wait_for_function("id => document.querySelector('#lb-body tr[data-id]')?.dataset.id !== id", arg=ids[0])
    top = page.get_attribute("#lb-body tr[data-id]", "data-id")
    check(abs(score[top] - ranked[-1][1]) < 1e-6, "sorted by health descending, the first row %s is not the healthiest" % top)
    page.click("th[data-sort=health]")
    page.wait_for_function("id => document.querySelector('#lb-body tr[data-id]')?.dataset.id === id", arg=ids[0])

    # 2. a red partner's page: why factors and open flags, as in its hash
    reds = page.eval_on_selector_all("#lb-body tr[data-rag=red]", "trs => trs.map(t => t.dataset.id)")
    reds = [x for x in reds if x != args.hostile_id]
    check(reds, "no red partner on the first page")
    red = reds[0]
    fields = r.hgetall("%spartner:{%s}" % (pfx, red))
    page.click("#lb-body tr[data-id='%s'] td[data-col=health]" % red)  # the row, not its link
    page.wait_for_url("**/partner/" + red)
    page.wait_for_selector("#partner-why")
    check(page.text_content("#partner-id") == red, "partner page shows id %r, want %r" % (page.text_content("#partner-id"), red))
    why = page.text_content("#partner-why")
    for k in ("why_1", "why_2", "why_3"):
        w = fields.get(k, "")
        if not w:
            continue
        evid = w[w.rfind("[") + 1:-1] if w.endswith("]") else ""
        check(w[: w.rfind("[")].strip() in why and evid in why, "partner page lacks %s %r (shows %r)" % (k, w, why))
    flags = [f for f in fields.get("flags", "").split(",") if f]
    check(flags, "red partner %s has no open flag in Redis" % red)
    rules = page.eval_on_selector_all("#partner-open li[data-rule]", "lis => lis.map(l => l.dataset.rule)")
    check(sorted(rules) == sorted(flags), "open flags shown %r, Redis flags %r" % (rules, flags))
    page.wait_for_selector("#trend canvas, #trend p")
    check(page.query_selector("#trend canvas") is not None, "red partner %s: no trend chart drawn" % red)
    page.screenshot(path=os.path.join(args.shots, "partner.png"), full_page=True)
    page.go_back()
    page.wait_for_url(args.url + "/")
    page.wait_for_selector("#lb-body tr[data-id]")

    # 3. a live transition reaches the feed without a reload
    page.wait_for_selector("#feed-list li[data-id], #feed-list li.empty-note")
    page.evaluate("window.__pp_no_reload = 1")
    count = ("([pid, rule]) => [...document.querySelectorAll('#feed-list li[data-id]')].filter(li =>"
             " li.querySelector('a.partner')?.textContent === pid && li.querySelector('.rule')?.textContent === rule).length")
    before = page.evaluate(count, [args.live_partner, args.live_rule])
    t0 = time.monotonic()
    subprocess.run(shlex.split(args.live_cmd), check=True, timeout=30)
    page.wait_for_function("([pid, rule, n]) => (%s)([pid, rule]) > n" % count,
                           arg=[args.live_partner, args.live_rule, before], timeout=7000)
    timings["live_alert_ms"] = round((time.monotonic() - t0) * 1000)
    check(timings["live_alert_ms"] <= 5000, "the live alert took %d ms (over 5 s)" % timings["live_alert_ms"])
    # the leaderboard row of that partner follows (the stream's `health` event)
    page.wait_for_function("([pid, rule]) => { const td = document.querySelector(`#lb-body tr[data-id='${pid}'] td[data-col=flags]`);"
                           " return td && !td.textContent.includes(rule); }", arg=[args.live_partner, args.live_rule], timeout=5000)
    timings["live_row_ms"] = round((time.monotonic() - t0) * 1000)
    check(page.evaluate("window.__pp_no_reload") == 1, "the page reloaded")
    page.locator("#feed").screenshot(path=os.path.join(args.shots, "live-feed.png"))

    # 4. a hostile display name is text, everywhere
    page.fill("input[type=search]", args.hostile_id)
    page.wait_for_function("id => { const t = document.querySelectorAll('#lb-body tr[data-id]');"
                           " return t.length === 1 && t[0].dataset.id === id; }", arg=args.hostile_id)
    name = page.text_content("#lb-body tr[data-id] td.name a")
    check(name == args.hostile_name, "leaderboard shows the hostile name as %r, want the literal %r" % (name, args.hostile_name))
    page.click("#lb-body tr[data-id] td.name a")
    page.wait_for_url("**/partner/" + args.hostile_id)
    page.wait_for_selector("#partner-name")
    h1 = page.text_content("#partner-name")
    check(h1 == args.hostile_name, "partner page shows the hostile name as %r, want the literal %r" % (h1, args.hostile_name))
    check(page.get_by_text(args.hostile_name, exact=True).first.is_visible(), "the hostile name is not visible as text")
    check(page.locator("img").count() == 0, "an <img> element exists: markup from data was parsed")
    page.wait_for_timeout(500)  # an onerror handler would have run by now
    page.screenshot(path=os.path.join(args.shots, "hostile.png"), full_page=True)
    return timings


if __name__ == "__main__":
    sys.exit(main())
