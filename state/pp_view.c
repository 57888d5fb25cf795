/*
 * pp_view: the public hash, the explanation and the flags (see pp_view.h).
 */
#include "pp_view.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pp_facts.h"
#include "pp_rules.h"
#include "pp_score.h"
#include "pp_text.h"

void pp_engine_flags(const pp_partner_t *st, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (int r = 0; r < PP_R_COUNT && n < cap; r++)
        if (st->rules[r].started_at_ms)
            n += (size_t)pp_text_format(buf + n, cap - n, "%s%s", n ? "," : "", pp_rule_name((pp_rule_t)r));
}

/* ---- the explanation ---- */

/* The explanation's order (DESIGN §6): the measures of open rules first
 * (named by the rule: "going_dark 34 d -25 pts"), then the other measures by
 * the points they cost. OUT order[i] is a measure, rule_of[i] the open rule
 * it is shown as (-1: shown as the measure), cost[m] its points; returns
 * how many. */
static int explain_order(const pp_policyset_t *ps, const pp_partner_t *st, int order[PP_M_COUNT],
                         double cost[PP_M_COUNT], int rule_of[PP_M_COUNT])
{
    int by_cost[PP_M_COUNT];
    int nc = pp_score_costs(pp_policyset_for(ps, st->partner_type, st->tier), st, by_cost, cost);
    bool used[PP_M_COUNT] = {false};
    int k = 0;
    for (int r = 0; r < PP_R_COUNT; r++) {
        int m = pp_rules_measure((pp_rule_t)r);
        if (m < 0 || used[m] || !st->rules[r].started_at_ms || st->measure_score[m] < 0)
            continue;
        bool costs = false;
        for (int i = 0; i < nc; i++)
            costs |= by_cost[i] == m;
        if (!costs)
            cost[m] = 0; /* open, but the measure costs less than half a point */
        used[m] = true;
        order[k] = m;
        rule_of[k++] = r;
    }
    for (int i = 0; i < nc; i++)
        if (!used[by_cost[i]]) {
            order[k] = by_cost[i];
            rule_of[k++] = -1;
        }
    return k;
}

/* One factor, compact (fits a Redis listpack value: at most 64 bytes):
 * "response 4.5 d -10.8 pts [p0002-slow-e171]", or for an open rule
 * "going_dark 34.0 d -25.0 pts [p0003-dark-e80]". Response and recency are
 * in business days (docs/scoring.md). */
static void factor_text(const pp_partner_t *st, const char *currency, int m, int rule, double cost, char *buf,
                        size_t cap)
{
    static const char *const units[PP_M_COUNT] = {"", "", "", " regs", " d", "", "", " d"};
    double v = st->measure_value[m];
    bool pct = m == PP_M_WIN_RATE || m == PP_M_DELIVERY || m == PP_M_RECIPROCITY;
    bool money = m == PP_M_REVENUE || m == PP_M_PIPELINE; /* major units of the reporting currency */
    const char *name = rule >= 0 ? pp_rule_name((pp_rule_t)rule) : pp_measure_name((pp_measure_t)m);
    int n = pp_text_format(buf, cap, "%s %.*f%s%s%s -%.1f pts [%s]", name, pct || money ? 0 : 1,
                           pct ? v * 100 : v, pct ? "%" : "", money ? " " : units[m], money ? currency : "", cost,
                           st->evidence[m][0] ? st->evidence[m] : "-");
    if (n > 64 && cap > 64) { /* keep it a listpack value: cut the evidence */
        buf[62] = ']';
        buf[63] = '\0';
    }
}

size_t pp_engine_factor(const pp_policyset_t *ps, const pp_partner_t *st, int i, char *buf, size_t cap)
{
    int order[PP_M_COUNT], rule_of[PP_M_COUNT];
    double cost[PP_M_COUNT];
    int k = explain_order(ps, st, order, cost, rule_of);
    buf[0] = '\0';
    if (i < 0 || i >= k)
        return 0;
    factor_text(st, ps->money.reporting, order[i], rule_of[i], cost[order[i]], buf, cap);
    return strlen(buf);
}

void pp_engine_explain(const pp_policyset_t *ps, const pp_partner_t *st, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3 && n < cap; i++) {
        char f[128];
        if (pp_engine_factor(ps, st, i, f, sizeof f) == 0)
            break;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", f);
    }
    if (n == 0)
        snprintf(buf, cap, "%s", st->confidence > 0 ? "no factor costs more than half a point" : "not enough data yet");
}

/* ---- the public hash ----
 *
 * Rendered for every dirty partner at every flush (the daemon's flush
 * path; core_bench's `fields` phase). Numbers are written by the digit loop
 * below and text by pp_text_format, not snprintf: with snprintf a render
 * takes 4.5 times the instructions (callgrind, 4 000 partners: 17 700 ->
 * 79 800 per partner). */

/* The fields being written: out[n] is the next one; n counts past cap. */
typedef struct fields {
    pp_field_t *out;  /* the caller's array */
    size_t cap;       /* its size */
    size_t n;         /* fields written (or that would have been) */
} fields_t;

/* The next field, or NULL when out[] is full. */
static pp_field_t *next_field(fields_t *f, const char *name)
{
    pp_field_t *fld = f->n < f->cap ? &f->out[f->n] : NULL;
    f->n++;
    if (fld)
        fld->name = name;
    return fld;
}

/* v in decimal into out, NUL-terminated; returns its length. */
static size_t put_i64(char *out, int64_t v)
{
    char tmp[20], *end = tmp + sizeof tmp;
    char *digits = pp_text_digits(end, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    size_t o = 0, n = (size_t)(end - digits);
    if (v < 0)
        out[o++] = '-';
    memcpy(out + o, digits, n);
    out[o + n] = '\0';
    return o + n;
}

static void fi(fields_t *f, const char *name, int64_t v)
{
    pp_field_t *fld = next_field(f, name);
    if (fld)
        put_i64(fld->value, v);
}

/* A number with `prec` (0-3) decimals, rounded half away from zero (not
 * as %f rounds); NAN gives "" (not available). */
static void fd(fields_t *f, const char *name, double v, int prec)
{
    static const double scale[4] = {1, 10, 100, 1000};
    pp_field_t *fld = next_field(f, name);
    if (!fld)
        return;
    char *out = fld->value;
    if (isnan(v) || v < -1e300) {
        out[0] = '\0';
    } else if (fabs(v) >= 1e15 || prec < 0 || prec > 3) {
        snprintf(out, sizeof fld->value, "%.*f", prec < 0 ? 0 : prec, v);
    } else {
        int64_t x = llround(fabs(v) * scale[prec]);
        size_t o = 0;
        if (v < 0 && x != 0)
            out[o++] = '-';
        int64_t whole = x / (int64_t)scale[prec], frac = x % (int64_t)scale[prec];
        o += put_i64(out + o, whole);
        if (prec > 0) {
            out[o++] = '.';
            for (int d = prec - 1; d >= 0; d--) {
                out[o + (size_t)d] = (char)('0' + frac % 10);
                frac /= 10;
            }
            out[o + (size_t)prec] = '\0';
        }
    }
}

static void fs(fields_t *f, const char *name, const char *v)
{
    pp_field_t *fld = next_field(f, name);
    if (fld) {
        size_t l = strnlen(v, sizeof fld->value - 1);
        memcpy(fld->value, v, l);
        fld->value[l] = '\0';
    }
}

static double or_nan(float x)
{
    return x < 0 ? NAN : (double)x;
}

size_t pp_engine_fields(const pp_policyset_t *ps, const pp_partner_t *st, pp_field_t *out, size_t cap)
{
    pp_bizclock_t clk[2];
    const pp_policy_t *pol = pp_facts_policy(ps, st, clk);
    fields_t f = {out, cap, 0};
    pp_facts_t x;
    pp_facts_gather_all(pol, clk, st, &x);
    char buf[PP_FIELD_VALUE_MAX];

    /* health and its explanation */
    fd(&f, "health", st->health, 1);
    fs(&f, "rag", pp_rag_name(st->rag));
    fd(&f, "confidence", st->confidence, 2);
    pp_engine_flags(st, buf, sizeof buf);
    fs(&f, "flags", buf);
    /* why: the top three factors, one field each (<= 64 bytes keeps the hash compact) */
    static const char *const why_names[3] = {"why_1", "why_2", "why_3"};
    int order[PP_M_COUNT], rule_of[PP_M_COUNT];
    double cost[PP_M_COUNT];
    int k = explain_order(ps, st, order, cost, rule_of); /* once, not once per factor */
    for (int i = 0; i < 3; i++) {
        buf[0] = '\0';
        if (i < k)
            factor_text(st, ps->money.reporting, order[i], rule_of[i], cost[order[i]], buf, sizeof buf);
        fs(&f, why_names[i], buf);
    }
    fd(&f, "score_financial", or_nan(st->component[PP_C_FINANCIAL]), 1);
    fd(&f, "score_strategic", or_nan(st->component[PP_C_STRATEGIC]), 1);
    fd(&f, "score_operational", or_nan(st->component[PP_C_OPERATIONAL]), 1);
    fd(&f, "score_relationship", or_nan(st->component[PP_C_RELATIONSHIP]), 1);
    fs(&f, "config_version", ps->version);

    /* bookkeeping */
    fi(&f, "events_applied", (int64_t)st->events_applied);
    fi(&f, "updated_at_ms", st->updated_at_ms);
    fi(&f, "last_event_ms", st->last_event_ms);
    fs(&f, "last_event_id", st->last_event_id);
    fi(&f, "clock_ms", st->clock_ms);

    /* profile */
    fs(&f, "partner_type", pp_ptype_name(st->partner_type));
    fs(&f, "tier", st->tier);
    fs(&f, "owner", st->owner);
    fs(&f, "display_name", st->display_name);
    fi(&f, "signed_at_ms", st->signed_at_ms);
    fi(&f, "exited", st->exited);
    /* business time (DESIGN §4): the calendars and zone the time figures below are counted in */
    fs(&f, "calendar", clk[PP_SIDE_PARTNER].cal ? clk[PP_SIDE_PARTNER].cal->name : "");
    fs(&f, "timezone", clk[PP_SIDE_PARTNER].zone ? clk[PP_SIDE_PARTNER].zone->name : "UTC");
    fs(&f, "our_calendar", clk[PP_SIDE_US].cal ? clk[PP_SIDE_US].cal->name : "");

    /* pipeline and revenue (seed 003 scorecard); every amount in the
     * reporting currency (DESIGN §3), which this field names */
    fs(&f, "currency", ps->money.reporting);
    fi(&f, "deals_sourced", st->deals_sourced);
    fi(&f, "deals_influenced", st->deals_influenced);
    fi(&f, "deals_qualified", st->deals_qualified);
    fi(&f, "deals_won", st->deals_won);
    fi(&f, "deals_lost", st->deals_lost);
    fi(&f, "pipeline_sourced_minor", st->pipeline_sourced_minor);
    fi(&f, "pipeline_influenced_minor", st->pipeline_influenced_minor);
    fi(&f, "revenue_won_sourced_minor", st->revenue_won_sourced_minor);
    fi(&f, "revenue_won_influenced_minor", st->revenue_won_influenced_minor);
    fd(&f, "win_rate", st->deals_won + st->deals_lost ? (double)st->deals_won / (st->deals_won + st->deals_lost) : NAN, 3);
    fd(&f, "avg_won_deal_minor", st->deals_won ? (double)pp_partner_revenue_minor(st) / st->deals_won : NAN, 0);
    fd(&f, "days_to_first_qualified",
       st->first_qualified_ms && st->signed_at_ms ? (double)(st->first_qualified_ms - st->signed_at_ms) / PP_DAY_MS_D : NAN, 1);
    fi(&f, "revenue_won_long_major", (int64_t)x.lw.won_major);
    fd(&f, "win_rate_long", x.lw.won + x.lw.lost ? (double)x.lw.won / (x.lw.won + x.lw.lost) : NAN, 3);
    fi(&f, "qualified_long", x.lw.qualified);
    fi(&f, "qualified_open", st->open_qualified);
    fi(&f, "registrations_long", x.lw.registered);
    fi(&f, "active", x.lw.registered > 0);

    /* referrals */
    fi(&f, "referrals_to_us", st->referrals_to_us);
    fi(&f, "referrals_to_partner", st->referrals_to_partner);
    fi(&f, "referrals_converted_to_us", st->referrals_converted_to_us);
    fi(&f, "referrals_converted_to_partner", st->referrals_converted_to_partner);

    /* responsiveness, both directions (seed 000 §6.2), in business hours
     * (_bh) of the side that owes, open waits counted at their age */
    pp_pct_t pl = pp_facts_percentiles(st, PP_SIDE_PARTNER, &clk[PP_SIDE_PARTNER], st->clock_ms, pol->long_window_days);
    pp_pct_t ul = pp_facts_percentiles(st, PP_SIDE_US, &clk[PP_SIDE_US], st->clock_ms, pol->long_window_days);
    fd(&f, "partner_response_p50_bh_short", x.partner.p50_s / 3600.0, 1);
    fd(&f, "partner_response_p90_bh_short", x.partner.p90_s / 3600.0, 1);
    fd(&f, "partner_response_p50_bh_long", pl.p50_s / 3600.0, 1);
    fd(&f, "partner_response_p90_bh_long", pl.p90_s / 3600.0, 1);
    fi(&f, "partner_responses_short", x.partner.n);
    fd(&f, "our_response_p50_bh_short", x.us.p50_s / 3600.0, 1);
    fd(&f, "our_response_p90_bh_short", x.us.p90_s / 3600.0, 1);
    fd(&f, "our_response_p50_bh_long", ul.p50_s / 3600.0, 1);
    fd(&f, "our_response_p90_bh_long", ul.p90_s / 3600.0, 1);
    fi(&f, "threads_awaiting_partner", x.waits.awaiting_partner);
    fi(&f, "threads_awaiting_us", x.awaiting_us);
    int64_t oldest_p = x.waits.oldest_wait_partner, oldest_u = x.oldest_wait_us;
    fd(&f, "oldest_wait_partner_bh",
       oldest_p ? (double)pp_biz_elapsed_ms(&clk[PP_SIDE_PARTNER], oldest_p, st->clock_ms) / PP_HOUR_MS_D : NAN, 1);
    fd(&f, "oldest_wait_us_bh",
       oldest_u ? (double)pp_biz_elapsed_ms(&clk[PP_SIDE_US], oldest_u, st->clock_ms) / PP_HOUR_MS_D : NAN, 1);
    fi(&f, "max_unanswered_followups", x.waits.max_followups);
    fi(&f, "followups_total", st->followups_total);
    fi(&f, "automated_ignored", st->automated_ignored);

    /* commitments (seed 000 §6.3) */
    fi(&f, "partner_commitments_made", st->commits_made[0]);
    fi(&f, "partner_commitments_delivered", st->commits_delivered[0]);
    fi(&f, "partner_commitments_missed", st->commits_missed[0]);
    fi(&f, "our_commitments_made", st->commits_made[1]);
    fi(&f, "our_commitments_delivered", st->commits_delivered[1]);
    fi(&f, "our_commitments_missed", st->commits_missed[1]);
    fi(&f, "partner_missed_long", x.lw.missed);
    fi(&f, "partner_delivered_long", x.lw.delivered);

    /* reciprocity (seed 000 §2, §6.4-6.5) */
    fi(&f, "contributions_theirs_long", x.lw.theirs);
    fi(&f, "contributions_ours_long", x.lw.ours);
    fd(&f, "reciprocity_index", x.lw.theirs + x.lw.ours ? (double)x.lw.theirs / (x.lw.theirs + x.lw.ours) : NAN, 3);

    /* activity */
    fi(&f, "engagements_inbound", st->engagements_inbound);
    fi(&f, "engagements_outbound", st->engagements_outbound);
    fi(&f, "engagements_inbound_short", x.sw.in);
    fi(&f, "engagements_outbound_short", x.sw.out);
    fi(&f, "last_inbound_ms", st->last_inbound_ms);
    fi(&f, "last_outbound_ms", st->last_outbound_ms);
    fd(&f, "days_since_inbound", x.recency_base ? (double)(st->clock_ms - x.recency_base) / PP_DAY_MS_D : NAN, 1);
    fd(&f, "business_days_since_inbound",
       x.recency_base ? pp_facts_bdays(&x, PP_SIDE_PARTNER, (double)x.quiet_ms) : NAN, 1);
    return f.n < cap ? f.n : cap;
}
