#!/usr/bin/env python3
"""Expected per-partner Redis hash totals for a JSON-lines event file.

An independent oracle for end-to-end tests: it reads the events that are fed to
partnerpulsed (the `partnerpulse produce` / `partnerpulse gen` JSON-lines format,
docs/gen.md) and computes, per partner, the values the daemon must write into the
`pp:partner:{<id>}` hash once every event has been applied exactly once. It shares
no code with the C implementation on purpose.

Usage:
    expected_totals.py FILE [--config INI] [--partner ID]   # FILE may be '-' for stdin
    expected_totals.py --self-test

Output: one JSON object {partner_id: {field: value}} with sorted keys, on one line.
With --partner only that partner is printed; exit status 1 if it has no events.

Semantics (events in file order; per-partner Kafka order equals file order):
  events_applied            every event of the partner, all types
  deals_sourced/_influenced distinct deal_ids, by the attribution of the deal's first event
  pipeline_*_minor          deals whose latest event has stage REGISTERED, QUALIFIED or
                            PROPOSAL: latest amount, by latest attribution
  revenue_won_*_minor       amount of a deal's first WON event, by that event's attribution
                            (amounts: each event's amount_minor converted into the reporting
                            currency's minor units, see Money below)
  deals_won / deals_lost    deals closed WON / LOST
                            (once a deal is WON or LOST, later events of it are ignored for
                            the latest event, pipeline and revenue; they still count in
                            events_applied)
  referrals_to_us/_to_partner  ReferralEvents with status SENT, per direction
  engagements_inbound/_outbound  EngagementEvents per direction (all kinds, automated too)
  last_inbound_ms           max occurred_at_ms of the partner's inbound activity (DESIGN §4):
                            non-automated INBOUND EngagementEvents, ReferralEvents TO_US with
                            status SENT, and the first event of each deal_id whose attribution
                            is SOURCED; 0 if none
  last_outbound_ms          max occurred_at_ms of non-automated OUTBOUND EngagementEvents, 0 if none
  New optional keys (expects_reply, timezone, calendar, PROFILE_CHANGED) change none of these:
  a lifecycle event of any kind counts in events_applied only.

Money (DESIGN section 3): a deal's amount_minor is in the minor units of its `currency`
(ISO 4217 exponent); it is converted into the reporting currency's minor units as
    amount_minor * rate * 10^exponent(reporting) / 10^exponent(currency)
exactly (fractions), rounded half away from zero, at the rates of the [currency] section
of --config INI (`reporting = USD`, `rate.EUR = 1.08`: reporting units per unit; any
partnerpulsed config, or the output of `partnerpulse gen --print-currency-config`).
An empty currency is the reporting currency. Without --config the reporting currency is
USD with no rates. A deal in a currency without a rate is an error here (exit 1): the
daemon would send it to the DLQ (reason `currency`), and gen streams must be applied whole.
"""

import json
import sys
from fractions import Fraction

FIELDS = (
    "events_applied",
    "deals_sourced",
    "deals_influenced",
    "pipeline_sourced_minor",
    "pipeline_influenced_minor",
    "revenue_won_sourced_minor",
    "revenue_won_influenced_minor",
    "deals_won",
    "deals_lost",
    "referrals_to_us",
    "referrals_to_partner",
    "engagements_inbound",
    "engagements_outbound",
    "last_inbound_ms",
    "last_outbound_ms",
)

OPEN_STAGES = ("REGISTERED", "QUALIFIED", "PROPOSAL")
CLOSED_STAGES = ("WON", "LOST")

# proto3 JSON also allows enum numbers; map them to the value names.
ENUMS = {
    ("deal", "stage"): ["STAGE_UNSPECIFIED", "REGISTERED", "QUALIFIED", "PROPOSAL", "WON", "LOST"],
    ("deal", "attribution"): ["ATTRIBUTION_UNSPECIFIED", "SOURCED", "INFLUENCED"],
    ("referral", "direction"): ["DIRECTION_UNSPECIFIED", "TO_US", "TO_PARTNER"],
    ("referral", "status"): ["STATUS_UNSPECIFIED", "SENT", "ACCEPTED", "CONVERTED", "REJECTED"],
    ("engagement", "direction"): ["DIRECTION_UNSPECIFIED", "INBOUND", "OUTBOUND"],
}


class InputError(Exception):
    pass


# ISO 4217 minor-unit exponents of the codes this oracle knows (the daemon has the
# whole table; a code missing here is an error, never a guess).
ISO4217_EXPONENT = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "CNY": 2, "HKD": 2, "SGD": 2, "INR": 2, "BRL": 2,
    "MXN": 2, "ZAR": 2, "AED": 2, "SAR": 2, "ILS": 2, "TRY": 2, "THB": 2, "MYR": 2,
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "PYG": 0, "UGX": 0, "XOF": 0, "XAF": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
}


class Money:
    """The reporting currency and the rates of a [currency] section."""

    def __init__(self, reporting="USD", rates=None):
        self.reporting = reporting
        self.rates = {reporting: Fraction(1)}
        for code, rate in (rates or {}).items():
            self.rates[code] = Fraction(rate)  # Fraction("1.08") is exact
        for code in self.rates:
            if code not in ISO4217_EXPONENT:
                raise InputError("currency %r: no ISO 4217 exponent known to this oracle" % code)

    @classmethod
    def from_ini(cls, path):
        """The [currency] section of an INI file (later keys win, as in inih)."""
        section, reporting, rates = None, "USD", {}
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line or line[0] in ";#":
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                    continue
                if section != "currency" or "=" not in line:
                    continue
                key, value = (x.strip() for x in line.split("=", 1))
                if key == "reporting":
                    reporting = value
                elif key.startswith("rate."):
                    rates[key[5:]] = value
        return cls(reporting, rates)

    def convert(self, amount, currency):
        """amount minor units of currency -> reporting minor units, half away from zero."""
        code = currency or self.reporting
        if code not in self.rates:
            raise InputError("currency %r has no rate (the daemon sends the event to the DLQ, reason "
                             "currency): give --config with a [currency] section that has rate.%s" % (code, code))
        x = (amount * self.rates[code] * 10 ** ISO4217_EXPONENT[self.reporting] /
             10 ** ISO4217_EXPONENT[code])
        n = abs(x)
        whole = n.numerator // n.denominator
        if n - whole >= Fraction(1, 2):
            whole += 1
        return whole if x >= 0 else -whole


def _enum(ev, etype, field):
    v = ev.get(field)
    names = ENUMS[(etype, field)]
    if isinstance(v, bool):
        raise InputError("field %r: bad enum value %r" % (field, v))
    if isinstance(v, int):
        return names[v] if 0 <= v < len(names) else "UNKNOWN"
    return v if v is not None else names[0]


def _int(ev, field):
    """int64 field: JSON number or (proto3 JSON style) decimal string; absent = 0."""
    v = ev.get(field, 0)
    if isinstance(v, bool):
        raise InputError("field %r: expected an integer, got %r" % (field, v))
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v, 10)
        except ValueError:
            pass
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise InputError("field %r: expected an integer, got %r" % (field, v))


def _new_partner():
    return {"totals": dict.fromkeys(FIELDS, 0), "deals": {}}


def compute(lines, money=None):
    """lines: iterable of JSON-lines text; money: a Money (default: USD, no rates).
    Returns {partner_id: {field: value}}."""
    money = money or Money()
    partners = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError as e:
            raise InputError("line %d: invalid JSON: %s" % (lineno, e))
        if not isinstance(ev, dict):
            raise InputError("line %d: not a JSON object" % lineno)
        etype = ev.get("type")
        pid = ev.get("partner_id")
        if not isinstance(pid, str) or not pid:
            raise InputError("line %d: missing partner_id" % lineno)
        if etype not in ("deal", "referral", "engagement", "partner"):
            raise InputError("line %d: unknown type %r" % (lineno, etype))
        try:
            _apply(partners.setdefault(pid, _new_partner()), etype, ev, money)
        except InputError as e:
            raise InputError("line %d: %s" % (lineno, e))

    out = {}
    for pid, p in partners.items():
        tot = p["totals"]
        for deal in p["deals"].values():
            latest = deal["latest"]
            if latest["stage"] in OPEN_STAGES:
                if latest["attribution"] == "SOURCED":
                    tot["pipeline_sourced_minor"] += latest["amount"]
                elif latest["attribution"] == "INFLUENCED":
                    tot["pipeline_influenced_minor"] += latest["amount"]
        out[pid] = tot
    return out


def _inbound(tot, ev):
    t = _int(ev, "occurred_at_ms")
    if t > tot["last_inbound_ms"]:
        tot["last_inbound_ms"] = t


def _apply(p, etype, ev, money):
    if etype == "deal":  # converted first: a deal without a rate is not applied at all
        currency = ev.get("currency", "")
        if not isinstance(currency, str):
            raise InputError("field 'currency': expected a string, got %r" % (currency,))
        amount = money.convert(_int(ev, "amount_minor"), currency)
    tot = p["totals"]
    tot["events_applied"] += 1
    if etype == "deal":
        deal_id = ev.get("deal_id", "")
        stage = _enum(ev, "deal", "stage")
        attribution = _enum(ev, "deal", "attribution")
        deal = p["deals"].get(deal_id)
        if deal is None:
            deal = p["deals"][deal_id] = {"latest": None}
            if attribution == "SOURCED":
                tot["deals_sourced"] += 1
                _inbound(tot, ev)  # the partner brought it: inbound activity
            elif attribution == "INFLUENCED":
                tot["deals_influenced"] += 1
        elif deal["latest"]["stage"] in CLOSED_STAGES:
            return  # already closed: ignored for pipeline and revenue
        deal["latest"] = {"stage": stage, "attribution": attribution, "amount": amount}
        if stage == "WON":
            tot["deals_won"] += 1
            if attribution == "SOURCED":
                tot["revenue_won_sourced_minor"] += amount
            elif attribution == "INFLUENCED":
                tot["revenue_won_influenced_minor"] += amount
        elif stage == "LOST":
            tot["deals_lost"] += 1
    elif etype == "referral":
        if _enum(ev, "referral", "status") == "SENT":
            direction = _enum(ev, "referral", "direction")
            if direction == "TO_US":
                tot["referrals_to_us"] += 1
                _inbound(tot, ev)  # a referral partner working through a portal is not dark
            elif direction == "TO_PARTNER":
                tot["referrals_to_partner"] += 1
    elif etype == "engagement":
        direction = _enum(ev, "engagement", "direction")
        t = _int(ev, "occurred_at_ms")
        automated = ev.get("automated", False) is True
        if direction == "INBOUND":
            tot["engagements_inbound"] += 1
            if not automated:
                _inbound(tot, ev)
        elif direction == "OUTBOUND":
            tot["engagements_outbound"] += 1
            if not automated and t > tot["last_outbound_ms"]:
                tot["last_outbound_ms"] = t
    # partner lifecycle events only count in events_applied


SELF_TEST_INPUT = """
{"type":"partner","event_id":"a-1","partner_id":"a","occurred_at_ms":1000,"kind":"SIGNED","partner_type":"CO_SELL","tier":"gold","owner":"Ann","display_name":"A \\"Co\\""}
{"type":"deal","event_id":"a-2","partner_id":"a","occurred_at_ms":1100,"deal_id":"d1","stage":"REGISTERED","attribution":"SOURCED","amount_minor":1000,"currency":"USD"}
{"type":"deal","event_id":"a-3","partner_id":"a","occurred_at_ms":1200,"deal_id":"d1","stage":"QUALIFIED","attribution":"SOURCED","amount_minor":1500,"currency":"USD"}
{"type":"deal","event_id":"a-4","partner_id":"a","occurred_at_ms":1300,"deal_id":"d2","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":700,"currency":"USD"}
{"type":"deal","event_id":"a-5","partner_id":"a","occurred_at_ms":1400,"deal_id":"d2","stage":"WON","attribution":"INFLUENCED","amount_minor":900,"currency":"USD"}
{"type":"deal","event_id":"a-6","partner_id":"a","occurred_at_ms":1500,"deal_id":"d2","stage":"WON","attribution":"INFLUENCED","amount_minor":99999,"currency":"USD"}

{"type":"deal","event_id":"a-7","partner_id":"a","occurred_at_ms":1600,"deal_id":"d2","stage":"PROPOSAL","attribution":"SOURCED","amount_minor":5,"currency":"USD"}
{"type":"deal","event_id":"a-8","partner_id":"a","occurred_at_ms":1700,"deal_id":"d3","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":300,"currency":"USD"}
{"type":"deal","event_id":"a-9","partner_id":"a","occurred_at_ms":1800,"deal_id":"d3","stage":"PROPOSAL","attribution":"SOURCED","amount_minor":400,"currency":"USD"}
{"type":"deal","event_id":"a-10","partner_id":"a","occurred_at_ms":1900,"deal_id":"d4","stage":"REGISTERED","attribution":"SOURCED","amount_minor":50,"currency":"USD"}
{"type":"deal","event_id":"a-11","partner_id":"a","occurred_at_ms":2000,"deal_id":"d4","stage":"LOST","attribution":"SOURCED","amount_minor":50,"currency":"USD"}
{"type":"deal","event_id":"a-12","partner_id":"a","occurred_at_ms":2100,"deal_id":"d4","stage":"WON","attribution":"SOURCED","amount_minor":50,"currency":"USD"}
{"type":"referral","event_id":"a-13","partner_id":"a","occurred_at_ms":2200,"referral_id":"r1","direction":"TO_US","status":"SENT","value_minor":10}
{"type":"referral","event_id":"a-14","partner_id":"a","occurred_at_ms":2300,"referral_id":"r1","direction":"TO_US","status":"ACCEPTED","value_minor":10}
{"type":"referral","event_id":"a-15","partner_id":"a","occurred_at_ms":2400,"referral_id":"r2","direction":"TO_PARTNER","status":"SENT","value_minor":10}
{"type":"engagement","event_id":"a-16","partner_id":"a","occurred_at_ms":2500,"thread_id":"t1","direction":"OUTBOUND","kind":"MESSAGE","automated":false}
{"type":"engagement","event_id":"a-17","partner_id":"a","occurred_at_ms":2600,"thread_id":"t1","direction":"INBOUND","kind":"MESSAGE","automated":false}
{"type":"engagement","event_id":"a-18","partner_id":"a","occurred_at_ms":2700,"thread_id":"t1","direction":"INBOUND","kind":"MESSAGE","automated":true}
{"type":"engagement","event_id":"a-19","partner_id":"a","occurred_at_ms":2650,"direction":"INBOUND","kind":"COMMITMENT_MADE","commitment_id":"c1","due_at_ms":9000,"automated":false}
{"type":"engagement","event_id":"a-20","partner_id":"a","occurred_at_ms":2800,"thread_id":"t1","direction":"OUTBOUND","kind":"MESSAGE","automated":true}
   
{"type":"engagement","event_id":"b-1","partner_id":"b","occurred_at_ms":"5000","direction":2,"kind":"MEETING"}
{"type":"deal","event_id":"b-2","partner_id":"b","occurred_at_ms":5100,"deal_id":"d1","stage":4,"attribution":1,"amount_minor":"123","currency":"USD"}
{"type":"deal","event_id":"b-3","partner_id":"b","occurred_at_ms":5200,"deal_id":"d1","stage":"WON","attribution":"SOURCED","amount_minor":456,"currency":"USD"}
{"type":"partner","event_id":"c-1","partner_id":"c","occurred_at_ms":100,"kind":"SIGNED","partner_type":"REFERRAL","tier":"silver","owner":"Ann","display_name":"C","timezone":"Asia/Tokyo"}
{"type":"engagement","event_id":"c-2","partner_id":"c","occurred_at_ms":200,"thread_id":"t1","direction":"INBOUND","kind":"MESSAGE","automated":false,"expects_reply":true}
{"type":"engagement","event_id":"c-3","partner_id":"c","occurred_at_ms":300,"thread_id":"t1","direction":"OUTBOUND","kind":"MESSAGE","automated":false,"expects_reply":false}
{"type":"referral","event_id":"c-4","partner_id":"c","occurred_at_ms":400,"referral_id":"r1","direction":"TO_US","status":"SENT","value_minor":10}
{"type":"referral","event_id":"c-5","partner_id":"c","occurred_at_ms":900,"referral_id":"r1","direction":"TO_US","status":"ACCEPTED","value_minor":10}
{"type":"referral","event_id":"c-6","partner_id":"c","occurred_at_ms":950,"referral_id":"r2","direction":"TO_PARTNER","status":"SENT","value_minor":10}
{"type":"deal","event_id":"c-7","partner_id":"c","occurred_at_ms":500,"deal_id":"d1","stage":"REGISTERED","attribution":"SOURCED","amount_minor":10,"currency":"USD"}
{"type":"deal","event_id":"c-8","partner_id":"c","occurred_at_ms":990,"deal_id":"d1","stage":"QUALIFIED","attribution":"SOURCED","amount_minor":10,"currency":"USD"}
{"type":"deal","event_id":"c-9","partner_id":"c","occurred_at_ms":995,"deal_id":"d2","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":10,"currency":"USD"}
{"type":"partner","event_id":"c-10","partner_id":"c","occurred_at_ms":999,"kind":"PROFILE_CHANGED","partner_type":"REFERRAL","tier":"silver","owner":"Ann","display_name":"C","timezone":"Asia/Tokyo","calendar":"business"}
"""

# Deals in other currencies, converted at SELF_TEST_RATES (the rates gen streams need).
SELF_TEST_RATES = "[kafka]\nrate.EUR = 9\n[currency]\n; USD per unit\nreporting = USD\nrate.EUR = 1.08\nrate.JPY = 0.0067\nrate.KWD = 3.25\n[daemon]\n"
SELF_TEST_MONEY_INPUT = """
{"type":"deal","event_id":"m-1","partner_id":"m","occurred_at_ms":1,"deal_id":"d1","stage":"WON","attribution":"SOURCED","amount_minor":2400000,"currency":"JPY"}
{"type":"deal","event_id":"m-2","partner_id":"m","occurred_at_ms":2,"deal_id":"d2","stage":"WON","attribution":"SOURCED","amount_minor":5000000,"currency":"KWD"}
{"type":"deal","event_id":"m-3","partner_id":"m","occurred_at_ms":3,"deal_id":"d3","stage":"WON","attribution":"INFLUENCED","amount_minor":1500000,"currency":"EUR"}
{"type":"deal","event_id":"m-4","partner_id":"m","occurred_at_ms":4,"deal_id":"d4","stage":"WON","attribution":"INFLUENCED","amount_minor":2387650,"currency":"JPY"}
{"type":"deal","event_id":"m-5","partner_id":"m","occurred_at_ms":5,"deal_id":"d5","stage":"QUALIFIED","attribution":"SOURCED","amount_minor":4923460,"currency":"KWD"}
{"type":"deal","event_id":"m-6","partner_id":"m","occurred_at_ms":6,"deal_id":"d6","stage":"PROPOSAL","attribution":"INFLUENCED","amount_minor":1481481,"currency":"EUR"}
{"type":"deal","event_id":"m-7","partner_id":"m","occurred_at_ms":7,"deal_id":"d7","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":1234,"currency":""}
{"type":"deal","event_id":"m-8","partner_id":"m","occurred_at_ms":8,"deal_id":"d8","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":1,"currency":"JPY"}
{"type":"deal","event_id":"m-9","partner_id":"m","occurred_at_ms":9,"deal_id":"d9","stage":"REGISTERED","attribution":"INFLUENCED","amount_minor":50,"currency":"JPY"}
"""
SELF_TEST_MONEY_EXPECTED = {
    "m": {
        "events_applied": 9,
        "deals_sourced": 3,
        "deals_influenced": 6,
        "pipeline_sourced_minor": 1600125,  # 4923460 fils * 3.25 = 1600124.5 cents: half rounds up
        # 1481481 * 1.08 = 1599999.48 -> 1599999; 1234 (empty = USD); 1 yen = 0.67 cent -> 1;
        # 50 yen = 33.5 cents -> 34
        "pipeline_influenced_minor": 1599999 + 1234 + 1 + 34,
        "revenue_won_sourced_minor": 1608000 + 1625000,  # JPY 2 400 000 = $16 080; KWD 5 000.000 = $16 250
        # EUR 15 000 = $16 200; JPY 2 387 650 = 1599725.5 cents -> 1599726
        "revenue_won_influenced_minor": 1620000 + 1599726,
        "deals_won": 4,
        "deals_lost": 0,
        "referrals_to_us": 0,
        "referrals_to_partner": 0,
        "engagements_inbound": 0,
        "engagements_outbound": 0,
        "last_inbound_ms": 5,
        "last_outbound_ms": 0,
    },
}

SELF_TEST_EXPECTED = {
    "a": {
        "events_applied": 20,
        "deals_sourced": 2,  # d1, d4
        "deals_influenced": 2,  # d2, d3 (first-event attribution)
        "pipeline_sourced_minor": 1500 + 400,  # d1 latest QUALIFIED 1500; d3 latest PROPOSAL SOURCED 400
        "pipeline_influenced_minor": 0,
        "revenue_won_sourced_minor": 0,
        "revenue_won_influenced_minor": 900,  # d2 first WON only
        "deals_won": 1,
        "deals_lost": 1,
        "referrals_to_us": 1,
        "referrals_to_partner": 1,
        "engagements_inbound": 3,
        "engagements_outbound": 2,
        "last_inbound_ms": 2650,  # automated 2700 ignored
        "last_outbound_ms": 2500,  # automated 2800 ignored
    },
    "b": {
        "events_applied": 3,
        "deals_sourced": 1,
        "deals_influenced": 0,
        "pipeline_sourced_minor": 0,
        "pipeline_influenced_minor": 0,
        "revenue_won_sourced_minor": 123,  # WON straight away, second WON ignored
        "revenue_won_influenced_minor": 0,
        "deals_won": 1,
        "deals_lost": 0,
        "referrals_to_us": 0,
        "referrals_to_partner": 0,
        "engagements_inbound": 0,
        "engagements_outbound": 1,
        "last_inbound_ms": 5100,  # the first event of a SOURCED deal is inbound activity
        "last_outbound_ms": 5000,
    },
    "c": {
        "events_applied": 10,
        "deals_sourced": 1,
        "deals_influenced": 1,
        "pipeline_sourced_minor": 10,
        "pipeline_influenced_minor": 10,
        "revenue_won_sourced_minor": 0,
        "revenue_won_influenced_minor": 0,
        "deals_won": 0,
        "deals_lost": 0,
        "referrals_to_us": 1,
        "referrals_to_partner": 1,
        "engagements_inbound": 1,
        "engagements_outbound": 1,
        # SOURCED deal d1's first event (500); not its QUALIFIED (990), not the ACCEPTED
        # referral (900), not the INFLUENCED deal (995), not our referral (950)
        "last_inbound_ms": 500,
        "last_outbound_ms": 300,
    },
}


def self_test():
    import os
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(SELF_TEST_RATES)
    try:
        money = Money.from_ini(f.name)
    finally:
        os.unlink(f.name)
    got = compute(SELF_TEST_INPUT.splitlines(True))
    got.update(compute(SELF_TEST_MONEY_INPUT.splitlines(True), money))
    want = dict(SELF_TEST_EXPECTED, **SELF_TEST_MONEY_EXPECTED)
    ok = True
    for pid in sorted(set(got) | set(want)):
        exp, g = want.get(pid), got.get(pid)
        if exp != g:
            ok = False
            for f in FIELDS:
                ev = exp.get(f) if exp else None
                gv = g.get(f) if g else None
                if ev != gv:
                    print("self-test: %s.%s: expected %r, got %r" % (pid, f, ev, gv), file=sys.stderr)
    for bad, m in (('{"type":"deal"}', None), ("not json", None), ('{"type":"x","partner_id":"p"}', None),
                   ('{"type":"deal","partner_id":"p","amount_minor":1,"currency":"JPY"}', None),
                   ('{"type":"deal","partner_id":"p","amount_minor":1,"currency":"CHF"}', money)):
        try:
            compute([bad], m)
            ok = False
            print("self-test: accepted bad input %r" % bad, file=sys.stderr)
        except InputError:
            pass
    print("self-test: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    args = argv[1:]
    if args == ["--self-test"]:
        return self_test()
    path, partner, config = None, None, None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--partner" and i + 1 < len(args):
            partner = args[i + 1]
            i += 2
        elif a.startswith("--partner="):
            partner = a[len("--partner="):]
            i += 1
        elif a == "--config" and i + 1 < len(args):
            config = args[i + 1]
            i += 2
        elif a.startswith("--config="):
            config = a[len("--config="):]
            i += 1
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif path is None and (a == "-" or not a.startswith("-")):
            path = a
            i += 1
        else:
            print("usage: expected_totals.py FILE [--config INI] [--partner ID] | --self-test", file=sys.stderr)
            return 2
    if path is None:
        print("usage: expected_totals.py FILE [--config INI] [--partner ID] | --self-test", file=sys.stderr)
        return 2
    try:
        money = Money.from_ini(config) if config else Money()
        if path == "-":
            result = compute(sys.stdin, money)
        else:
            with open(path, encoding="utf-8") as f:
                result = compute(f, money)
    except (OSError, InputError) as e:
        print("expected_totals.py: %s" % e, file=sys.stderr)
        return 1
    rc = 0
    if partner is not None:
        if partner in result:
            result = {partner: result[partner]}
        else:
            print("expected_totals.py: no events for partner %r" % partner, file=sys.stderr)
            result, rc = {}, 1
    print(json.dumps(result, sort_keys=True))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
