/*
 * pp_policy: defaults, setting by name, overrides (see pp_policy.h).
 */
#include "pp_policy.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_event.h"

static const char *const rule_names[PP_R_COUNT] = {
    "slow_response", "unanswered_followups", "reply_overdue", "going_dark", "overpromise",
    "one_sided",     "no_pipeline_90d",      "health_red",    "health_drop", "low_acv_channel"};
static const char *const measure_names[PP_M_COUNT] = {"revenue",  "win_rate", "pipeline",    "activity",
                                                      "response", "delivery", "reciprocity", "recency"};
static const char *const component_names[PP_C_COUNT] = {"financial", "strategic", "operational", "relationship"};
/* two measures per component: pp_engine shares a component's weight in halves */
static const pp_component_t measure_component[PP_M_COUNT] = {
    PP_C_FINANCIAL,   PP_C_FINANCIAL,   PP_C_STRATEGIC,    PP_C_STRATEGIC,
    PP_C_OPERATIONAL, PP_C_OPERATIONAL, PP_C_RELATIONSHIP, PP_C_RELATIONSHIP};

const char *pp_rule_name(pp_rule_t r)
{
    return r >= 0 && r < PP_R_COUNT ? rule_names[r] : "unknown";
}

const char *pp_measure_name(pp_measure_t m)
{
    return m >= 0 && m < PP_M_COUNT ? measure_names[m] : "unknown";
}

const char *pp_component_name(pp_component_t c)
{
    return c >= 0 && c < PP_C_COUNT ? component_names[c] : "unknown";
}

pp_component_t pp_measure_component(pp_measure_t m)
{
    return measure_component[m];
}

const char *pp_ptype_name(int t)
{
    static const char *const names[] = {"", "REFERRAL", "RESELLER", "TECHNOLOGY", "CO_SELL"};
    return t >= 0 && t <= PP_PTYPE_CO_SELL ? names[t] : "";
}

int pp_ptype_from_name(const char *name)
{
    for (int t = 1; t <= PP_PTYPE_CO_SELL; t++)
        if (strcmp(name, pp_ptype_name(t)) == 0)
            return t;
    return 0;
}

/* ---- keys ---- */

typedef enum { K_DOUBLE, K_INT, K_BOOL, K_BAND, K_NAME } kind_t;

typedef struct key {
    const char *name;
    kind_t kind;
    size_t off;
    double lo, hi;   /* allowed range for numbers */
} key_t_;

#define D(n, f, lo, hi) {n, K_DOUBLE, offsetof(pp_policy_t, f), lo, hi}
#define I(n, f, lo, hi) {n, K_INT, offsetof(pp_policy_t, f), lo, hi}
#define B(n, f) {n, K_BOOL, offsetof(pp_policy_t, f), 0, 1}
#define BAND(n, m) {n, K_BAND, offsetof(pp_policy_t, band) + (m) * sizeof(pp_band_t), 0, 0}
#define NAME(n, f) {n, K_NAME, offsetof(pp_policy_t, f), 0, 0}

static const key_t_ keys[] = {
    D("weight_financial", weight[PP_C_FINANCIAL], 0, 1000),
    D("weight_strategic", weight[PP_C_STRATEGIC], 0, 1000),
    D("weight_operational", weight[PP_C_OPERATIONAL], 0, 1000),
    D("weight_relationship", weight[PP_C_RELATIONSHIP], 0, 1000),
    BAND("band_revenue", PP_M_REVENUE),
    BAND("band_win_rate", PP_M_WIN_RATE),
    BAND("band_pipeline", PP_M_PIPELINE),
    BAND("band_activity", PP_M_ACTIVITY),
    BAND("band_response", PP_M_RESPONSE),
    BAND("band_delivery", PP_M_DELIVERY),
    BAND("band_reciprocity", PP_M_RECIPROCITY),
    BAND("band_recency", PP_M_RECENCY),
    D("green_min", green_min, 0, 100),
    D("red_below", red_below, 0, 100),
    D("rag_hysteresis", rag_hysteresis, 0, 50),
    I("short_window_days", short_window_days, 1, PP_WINDOW_DAYS_MAX),
    I("long_window_days", long_window_days, 1, PP_WINDOW_DAYS_MAX),
    I("win_rate_min_closed", win_rate_min_closed, 1, 10000),
    I("response_min_samples", response_min_samples, 1, 1000),
    I("delivery_min_due", delivery_min_due, 1, 1000),
    I("reciprocity_min_total", reciprocity_min_total, 1, 1000),
    D("min_confidence", min_confidence, 0, 1),
    D("impact_horizon_days", impact_horizon_days, 0, 3650),
    I("referral_sent_weight", referral_sent_weight, 0, 100),
    I("referral_converted_weight", referral_converted_weight, 0, 100),
    B("slow_response_enabled", enabled[PP_R_SLOW_RESPONSE]),
    B("unanswered_followups_enabled", enabled[PP_R_UNANSWERED_FOLLOWUPS]),
    B("reply_overdue_enabled", enabled[PP_R_REPLY_OVERDUE]),
    B("going_dark_enabled", enabled[PP_R_GOING_DARK]),
    B("overpromise_enabled", enabled[PP_R_OVERPROMISE]),
    B("one_sided_enabled", enabled[PP_R_ONE_SIDED]),
    B("no_pipeline_90d_enabled", enabled[PP_R_NO_PIPELINE_90D]),
    B("health_red_enabled", enabled[PP_R_HEALTH_RED]),
    B("health_drop_enabled", enabled[PP_R_HEALTH_DROP]),
    B("low_acv_channel_enabled", enabled[PP_R_LOW_ACV_CHANNEL]),
    D("clear_ratio", clear_ratio, 0.01, 1),
    D("slow_response_days", slow_response_days, 0, 3650),
    D("slow_response_critical_days", slow_response_critical_days, 0, 3650),
    I("slow_response_min_samples", slow_response_min_samples, 1, 1000),
    I("followups_threshold", followups_threshold, 1, 250),
    D("reply_overdue_days", reply_overdue_days, 1e-5, 3650),
    D("going_dark_days", going_dark_days, 1e-5, 3650),
    D("going_dark_inactive_days", going_dark_inactive_days, 1e-5, 3650),
    I("overpromise_missed", overpromise_missed, 1, 1000),
    D("overpromise_ratio", overpromise_ratio, 0, 1),
    I("overpromise_min_due", overpromise_min_due, 1, 1000),
    D("commitment_grace_hours", commitment_grace_hours, 0, 8760),
    D("one_sided_ratio", one_sided_ratio, 1, 1000),
    I("one_sided_min_total", one_sided_min_total, 1, 1000),
    D("no_pipeline_days", no_pipeline_days, 1e-5, 3650),
    D("health_drop_points", health_drop_points, 1, 100),
    I("health_drop_days", health_drop_days, 1, 30),
    D("health_drop_min_hours", health_drop_min_hours, 0, 720),
    D("low_acv_major", low_acv_major, 0, 1e12),
    I("low_acv_min_won", low_acv_min_won, 1, 10000),
    NAME("calendar", calendar),
    NAME("our_calendar", our_calendar),
};

/* Keys of earlier releases whose meaning changed: a sentence, not "unknown key". */
static const struct {
    const char *old, *now;
} renamed[] = {
    {"slow_response_hours", "slow_response_days (business days of the partner's calendar)"},
    {"slow_response_critical_hours", "slow_response_critical_days (business days of the partner's calendar)"},
};

/* What the engine's days_ms() gave: rounded half away from zero (llround). */
static int64_t days_to_ms(double days)
{
    return (int64_t)llround(days * 86400000.0);
}

void pp_policy_derive(pp_policy_t *p)
{
    p->short_window_ms = days_to_ms(p->short_window_days);
    p->long_window_ms = days_to_ms(p->long_window_days);
    p->no_pipeline_ms = days_to_ms(p->no_pipeline_days);
    p->health_drop_min_ms = (int64_t)llround(p->health_drop_min_hours * 3600000.0);
    p->commitment_grace_ms = (int64_t)(p->commitment_grace_hours * 3600000.0); /* truncated, as before */
    p->impact_horizon_ms = days_to_ms(p->impact_horizon_days);
    if (p->minor_per_major <= 0)
        p->minor_per_major = 100; /* USD until pp_policyset_resolve says otherwise */
    p->weight_sum = 0;
    for (int m = 0; m < PP_M_COUNT; m++) {
        p->measure_weight[m] = p->weight[m / 2] * 0.5; /* measure_component: measures pair up in order */
        p->weight_sum += p->measure_weight[m];
    }
}

static int parse_band(const char *v, pp_band_t *b, char *err, size_t err_len)
{
    pp_band_t out = {0};
    const char *p = v;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || *end != ':')
            goto bad;
        p = end + 1;
        double y = strtod(p, &end);
        if (end == p || y < 0 || y > 100 || out.n == PP_BAND_POINTS)
            goto bad;
        if (out.n > 0 && !(x > out.x[out.n - 1]))
            goto bad;
        out.x[out.n] = x;
        out.y[out.n] = y;
        out.n++;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
        while (*p == ' ')
            p++;
    }
    if (out.n < 1)
        goto bad;
    *b = out;
    return 0;
bad:
    snprintf(err, err_len, "a band is 1-%d points 'x:score' separated by commas, x ascending, "
                           "score 0-100 (e.g. 24:100,72:50,168:0); got '%s'", PP_BAND_POINTS, v);
    return -1;
}

static int set_key(pp_policy_t *p, const char *name, const char *value, char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const key_t_ *k = &keys[i];
        if (strcmp(k->name, name) != 0)
            continue;
        char *field = (char *)p + k->off;
        char *end;
        switch (k->kind) {
        case K_NAME:
            if (value[0] == '\0' || strlen(value) > (PP_CALENDAR_NAME_MAX - 1)) {
                snprintf(err, err_len, "%s must name a calendar (1-%d bytes)", name, (PP_CALENDAR_NAME_MAX - 1));
                return -1;
            }
            snprintf(field, PP_CALENDAR_NAME_MAX, "%s", value); /* checked against the calendars at resolve */
            return 0;
        case K_BAND:
            return parse_band(value, (pp_band_t *)(void *)field, err, err_len);
        case K_BOOL:
            if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
                *(bool *)field = true;
            else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
                *(bool *)field = false;
            else {
                snprintf(err, err_len, "%s must be true or false", name);
                return -1;
            }
            return 0;
        case K_DOUBLE:
        case K_INT: {
            errno = 0;
            double d = strtod(value, &end);
            if (errno || end == value || *end != '\0' || !isfinite(d) || d < k->lo || d > k->hi ||
                (k->kind == K_INT && d != floor(d))) {
                snprintf(err, err_len, "%s must be %s in %g..%g (got '%s')", name,
                         k->kind == K_INT ? "an integer" : "a number", k->lo, k->hi, value);
                return -1;
            }
            if (k->kind == K_INT)
                *(int *)(void *)field = (int)d;
            else
                *(double *)(void *)field = d;
            pp_policy_derive(p); /* a setting a derived field depends on may have changed */
            return 0;
        }
        }
    }
    for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
        if (strcmp(renamed[i].old, name) == 0) {
            snprintf(err, err_len, "%s was replaced by %s (see docs/configuration.md)", name, renamed[i].now);
            return -1;
        }
    snprintf(err, err_len, "unknown score/rule key '%s' (see docs/configuration.md)", name);
    return -1;
}

static void must_set(pp_policy_t *p, const char *k, const char *v)
{
    char err[256];
    if (set_key(p, k, v, err, sizeof err) != 0)
        abort(); /* our own defaults are wrong: a bug */
}

static void policy_default(pp_policy_t *p)
{
    memset(p, 0, sizeof *p);
    /* seed 002: financial 30, strategic 25, operational 25, relationship 20 */
    p->weight[PP_C_FINANCIAL] = 30;
    p->weight[PP_C_STRATEGIC] = 25;
    p->weight[PP_C_OPERATIONAL] = 25;
    p->weight[PP_C_RELATIONSHIP] = 20;
    must_set(p, "band_revenue", "0:0,10000:40,50000:75,150000:100");
    must_set(p, "band_win_rate", "0:0,0.15:30,0.25:60,0.4:90,0.5:100");
    must_set(p, "band_pipeline", "0:0,25000:50,100000:80,250000:100");
    must_set(p, "band_activity", "0:0,1:40,3:70,6:100");
    /* response and recency in business days of the partner's calendar (DESIGN §4) */
    must_set(p, "band_response", "0.5:100,1:85,3:50,7:15,14:0");
    must_set(p, "band_delivery", "0.25:0,0.5:40,0.75:70,0.9:90,1:100");
    must_set(p, "band_reciprocity", "0.1:0,0.25:40,0.4:80,0.5:100");
    must_set(p, "band_recency", "2:100,5:90,10:65,15:40,30:15,40:0");
    p->green_min = 70;
    p->red_below = 40;
    p->rag_hysteresis = 3;
    p->short_window_days = 30;
    p->long_window_days = 90;
    p->win_rate_min_closed = 3;
    p->response_min_samples = 3;
    p->delivery_min_due = 2;
    p->reciprocity_min_total = 4;
    p->min_confidence = 0.4;
    p->impact_horizon_days = 0;
    /* seed 000 §6.4: referrals are the contribution that counts; one that
     * brought a customer counts three times one that was only sent */
    p->referral_sent_weight = 1;
    p->referral_converted_weight = 2;
    for (int r = 0; r < PP_R_COUNT; r++)
        p->enabled[r] = true;
    p->clear_ratio = 0.8;
    /* DESIGN §6 (seed 000 §6.2), in business days of the side that owes */
    p->slow_response_days = 3;
    p->slow_response_critical_days = 7;
    p->slow_response_min_samples = 3;
    p->followups_threshold = 2;
    p->reply_overdue_days = 5;
    p->going_dark_days = 15;
    p->going_dark_inactive_days = 40;
    snprintf(p->calendar, sizeof p->calendar, "business");
    snprintf(p->our_calendar, sizeof p->our_calendar, "business");
    p->overpromise_missed = 2;
    p->overpromise_ratio = 0.5;
    p->overpromise_min_due = 4;
    p->commitment_grace_hours = 24; /* a due date means the end of that day */
    p->one_sided_ratio = 3;
    p->one_sided_min_total = 6;
    p->no_pipeline_days = 90;
    p->health_drop_points = 15;
    p->health_drop_days = 7;
    /* a drop must last three days: health_drop is a trend (seed 002); a
     * deal lost the day before the next is registered, or a weekend with an
     * empty pipeline, is no drop a partner manager needs to hear of */
    p->health_drop_min_hours = 72;
    p->low_acv_major = 20000;
    p->low_acv_min_won = 3;
    pp_policy_derive(p);
}

void pp_policyset_default(pp_policyset_t *ps)
{
    char err[256];
    memset(ps, 0, sizeof *ps);
    policy_default(&ps->global);
    pp_money_default(&ps->money);
    pp_calendar_business(&ps->calendars[0]);
    pp_calendar_always(&ps->calendars[1]);
    ps->n_calendars = 2;
    for (int i = 0; i < ps->n_calendars; i++)
        ps->cal_hash[i] = pp_name_hash32(ps->calendars[i].name);
    pp_money_default(&ps->money);
    /* seed 004: integration partners pay off over 6-18 months ("time to
     * first attributable impact"), not in 90 days of pipeline; the 90-day
     * milestone is for co-sell and channel alike (seed 004 l.88) */
    pp_policyset_override_type(ps, "TECHNOLOGY", "no_pipeline_90d_enabled", "false", err, sizeof err);
    pp_policyset_override_type(ps, "TECHNOLOGY", "impact_horizon_days", "180", err, sizeof err);
    pp_policyset_override_type(ps, "TECHNOLOGY", "weight_financial", "15", err, sizeof err);
    pp_policyset_override_type(ps, "TECHNOLOGY", "weight_relationship", "35", err, sizeof err);
    if (pp_policyset_resolve(ps, err, sizeof err) != 0)
        abort();
}

int pp_policyset_set(pp_policyset_t *ps, const char *key, const char *value, char *err, size_t err_len)
{
    return set_key(&ps->global, key, value, err, err_len);
}

static int add_override(pp_policyset_t *ps, int ptype, const char *tier, const char *key, const char *value,
                        char *err, size_t err_len)
{
    pp_policy_t scratch = ps->global;
    if (set_key(&scratch, key, value, err, err_len) != 0)
        return -1;
    if (strlen(key) >= sizeof ps->overrides[0].key || strlen(value) >= sizeof ps->overrides[0].value) {
        snprintf(err, err_len, "override %s: key or value too long", key);
        return -1;
    }
    if (ps->n_overrides == PP_OVERRIDES_MAX) {
        snprintf(err, err_len, "too many overrides (at most %d)", PP_OVERRIDES_MAX);
        return -1;
    }
    pp_override_t *o = &ps->overrides[ps->n_overrides++];
    o->ptype = ptype;
    snprintf(o->tier, sizeof o->tier, "%s", tier);
    snprintf(o->key, sizeof o->key, "%s", key);
    snprintf(o->value, sizeof o->value, "%s", value);
    return 0;
}

int pp_policyset_override_type(pp_policyset_t *ps, const char *type_name, const char *key, const char *value,
                               char *err, size_t err_len)
{
    int t = pp_ptype_from_name(type_name);
    if (t == 0) {
        snprintf(err, err_len, "unknown partner type '%s' (REFERRAL, RESELLER, TECHNOLOGY or CO_SELL)", type_name);
        return -1;
    }
    return add_override(ps, t, "", key, value, err, err_len);
}

/* Register tier (1-31 bytes) among those with overrides. */
static int tier_register(pp_policyset_t *ps, const char *tier, char *err, size_t err_len)
{
    if (tier[0] == '\0' || strlen(tier) > PP_TIER_MAX) {
        snprintf(err, err_len, "tier name must be 1-%d bytes", PP_TIER_MAX);
        return -1;
    }
    int i;
    for (i = 0; i < ps->n_tiers; i++)
        if (strcmp(ps->tiers[i], tier) == 0)
            break;
    if (i == ps->n_tiers) {
        if (ps->n_tiers == PP_TIERS_MAX) {
            snprintf(err, err_len, "at most %d tiers can have overrides", PP_TIERS_MAX);
            return -1;
        }
        snprintf(ps->tiers[ps->n_tiers++], PP_TIER_MAX + 1, "%s", tier);
    }
    return 0;
}

int pp_policyset_override_tier(pp_policyset_t *ps, const char *tier, const char *key, const char *value,
                               char *err, size_t err_len)
{
    if (tier_register(ps, tier, err, err_len) != 0)
        return -1;
    return add_override(ps, 0, tier, key, value, err, err_len);
}

int pp_policyset_override_type_tier(pp_policyset_t *ps, const char *type_name, const char *tier, const char *key,
                                    const char *value, char *err, size_t err_len)
{
    int t = pp_ptype_from_name(type_name);
    if (t == 0) {
        snprintf(err, err_len, "unknown partner type '%s' (REFERRAL, RESELLER, TECHNOLOGY or CO_SELL)", type_name);
        return -1;
    }
    if (tier_register(ps, tier, err, err_len) != 0)
        return -1;
    return add_override(ps, t, tier, key, value, err, err_len);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int check(const pp_policy_t *p, char *err, size_t err_len)
{
    double w = 0;
    for (int c = 0; c < PP_C_COUNT; c++)
        w += p->weight[c];
    if (w <= 0) {
        snprintf(err, err_len, "at least one component weight must be positive");
        return -1;
    }
    if (p->short_window_days > p->long_window_days) {
        snprintf(err, err_len, "short_window_days must not exceed long_window_days");
        return -1;
    }
    if (p->red_below > p->green_min) {
        snprintf(err, err_len, "red_below must not exceed green_min");
        return -1;
    }
    if (p->going_dark_inactive_days < p->going_dark_days) {
        snprintf(err, err_len, "going_dark_inactive_days must not be below going_dark_days");
        return -1;
    }
    return 0;
}

/* Index of the calendar called name, -1 if none. */
static int calendar_index(const pp_policyset_t *ps, const char *name)
{
    for (int i = 0; i < ps->n_calendars; i++)
        if (strcmp(ps->calendars[i].name, name) == 0)
            return i;
    return -1;
}

static int calendar_of(const pp_policyset_t *ps, const char *name);

static int check_calendars(const pp_policyset_t *ps, const pp_policy_t *p, char *err, size_t err_len)
{
    const char *names[2] = {p->calendar, p->our_calendar};
    for (int k = 0; k < 2; k++)
        if (calendar_index(ps, names[k]) < 0) {
            snprintf(err, err_len, "%s = %s names no calendar (add a [calendar:%s] section, or use business or always)",
                     k ? "our_calendar" : "calendar", names[k], names[k]);
            return -1;
        }
    return 0;
}

static bool band_same(const pp_band_t *a, const pp_band_t *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->x[i] != b->x[i] || a->y[i] != b->y[i])
            return false;
    return true;
}

/* The money thresholds (band_revenue, band_pipeline, low_acv_major) are in
 * major units of the reporting currency (DESIGN §3). Their defaults are
 * written in USD: with another reporting currency, those left at their
 * default are converted at rate.USD into p (a copy of the global policy; the
 * settings themselves stay as written), and without a USD rate the config
 * must set them. */
static int money_defaults_in(const pp_policyset_t *ps, pp_policy_t *p, char *err, size_t err_len)
{
    if (strcmp(ps->money.reporting, "USD") == 0)
        return 0;
    pp_policy_t def;
    policy_default(&def);
    bool rev = band_same(&p->band[PP_M_REVENUE], &def.band[PP_M_REVENUE]);
    bool pipe = band_same(&p->band[PP_M_PIPELINE], &def.band[PP_M_PIPELINE]);
    bool acv = p->low_acv_major == def.low_acv_major;
    if (!rev && !pipe && !acv)
        return 0;
    /* reporting major units per USD, from a million dollars (precision) */
    int64_t out;
    char why[160];
    if (pp_money_convert(&ps->money, "USD", 100000000LL, INT64_MAX, &out, why, sizeof why) != PP_OK) {
        snprintf(err, err_len,
                 "reporting = %s: band_revenue, band_pipeline and low_acv_major are in %s; their defaults are "
                 "in USD: give rate.USD in [currency] to convert them, or set them (%s%s%s)",
                 ps->money.reporting, ps->money.reporting, rev ? "band_revenue " : "", pipe ? "band_pipeline " : "",
                 acv ? "low_acv_major" : "");
        return -1;
    }
    double per_usd = (double)out / pp_money_minor_per_major(&ps->money) / 1e6;
    for (int k = 0; k < 2; k++) {
        pp_band_t *b = &p->band[k == 0 ? PP_M_REVENUE : PP_M_PIPELINE];
        if (k == 0 ? rev : pipe)
            for (int i = 0; i < b->n; i++)
                b->x[i] *= per_usd;
    }
    if (acv)
        p->low_acv_major *= per_usd;
    return 0;
}

int pp_policyset_resolve(pp_policyset_t *ps, char *err, size_t err_len)
{
    /* partners name their calendar by its hash (4 bytes of state): two
     * names must not share one */
    for (int i = 0; i < ps->n_calendars; i++)
        for (int j = 0; j < i; j++)
            if (ps->cal_hash[i] == ps->cal_hash[j]) {
                snprintf(err, err_len, "calendars %s and %s share a name hash: rename one",
                         ps->calendars[j].name, ps->calendars[i].name);
                return -1;
            }
    if (check(&ps->global, err, err_len) != 0)
        return -1;
    int64_t minor_per_major = (int64_t)pp_money_minor_per_major(&ps->money);
    pp_policy_t base = ps->global;
    if (money_defaults_in(ps, &base, err, err_len) != 0)
        return -1;
    for (int t = 0; t <= PP_PTYPE_CO_SELL; t++) {
        for (int s = 0; s <= ps->n_tiers; s++) {
            pp_policy_t *p = &ps->resolved[t][s];
            *p = base;
            /* key by key, the most specific last: type, then tier, then
             * type+tier (DESIGN §5); within a layer the config's order */
            for (int pass = 0; pass < 3; pass++)
                for (int i = 0; i < ps->n_overrides; i++) {
                    const pp_override_t *o = &ps->overrides[i];
                    bool typed = o->ptype != 0 && o->ptype == t;
                    bool tiered = s > 0 && strcmp(o->tier, ps->tiers[s - 1]) == 0;
                    bool hit = pass == 0   ? typed && o->tier[0] == '\0'
                               : pass == 1 ? tiered && o->ptype == 0
                                           : typed && tiered;
                    if (hit && set_key(p, o->key, o->value, err, err_len) != 0)
                        return -1;
                }
            if (check(p, err, err_len) != 0 || check_calendars(ps, p, err, err_len) != 0) {
                size_t n = strlen(err);
                snprintf(err + n, err_len - n, " (for type %s, tier %s)", t ? pp_ptype_name(t) : "any",
                         s ? ps->tiers[s - 1] : "any");
                return -1;
            }
            pp_policy_derive(p);
            p->minor_per_major = minor_per_major;
            memcpy(p->currency, ps->money.reporting, sizeof p->currency);
            p->calendar_idx = calendar_of(ps, p->calendar);
            p->our_calendar_idx = calendar_of(ps, p->our_calendar);
        }
    }
    pp_policy_derive(&ps->global); /* not what the engine reads, but never stale either */
    ps->global.minor_per_major = minor_per_major;
    memcpy(ps->global.currency, ps->money.reporting, sizeof ps->global.currency);
    ps->global.calendar_idx = calendar_of(ps, ps->global.calendar);
    ps->global.our_calendar_idx = calendar_of(ps, ps->global.our_calendar);
    /* version: a hash of everything that shapes a decision */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *f = (const char *)&ps->global + keys[i].off;
        size_t n = keys[i].kind == K_BAND ? sizeof(pp_band_t) : keys[i].kind == K_INT ? sizeof(int)
                   : keys[i].kind == K_BOOL ? sizeof(bool) : keys[i].kind == K_NAME ? strlen(f) : sizeof(double);
        h = fnv(h, f, n);
    }
    for (int i = 0; i < ps->n_calendars; i++) { /* the calendars, field by field (no padding) */
        const pp_calendar_t *c = &ps->calendars[i];
        h = fnv(h, c->name, strlen(c->name));
        h = fnv(h, c->timezone, strlen(c->timezone));
        h = fnv(h, &c->workdays, sizeof c->workdays);
        h = fnv(h, &c->open_s, sizeof c->open_s);
        h = fnv(h, &c->close_s, sizeof c->close_s);
        h = fnv(h, c->holidays, (size_t)c->n_holidays * sizeof c->holidays[0]);
    }
    h = pp_money_hash(&ps->money, h);
    for (int i = 0; i < ps->n_overrides; i++) {
        const pp_override_t *o = &ps->overrides[i];
        h = fnv(h, &o->ptype, sizeof o->ptype);
        h = fnv(h, o->tier, strlen(o->tier));
        h = fnv(h, o->key, strlen(o->key));
        h = fnv(h, o->value, strlen(o->value));
    }
    snprintf(ps->version, sizeof ps->version, "%016llx", (unsigned long long)h);
    return 0;
}

/* The tier's slot in resolved[][]: 1 + its index, 0 if it has no overrides. */
static __attribute__((noinline)) int tier_slot(const pp_policyset_t *ps, const char *tier)
{
    for (int i = 0; i < ps->n_tiers; i++)
        if (strcmp(ps->tiers[i], tier) == 0)
            return i + 1;
    return 0;
}

/* Every event asks: the search for the tier is out of line, and skipped
 * when no tier has overrides (no per-call frame for it). */
const pp_policy_t *pp_policyset_for(const pp_policyset_t *ps, int ptype, const char *tier)
{
    if (ptype < 0 || ptype > PP_PTYPE_CO_SELL)
        ptype = 0;
    int s = ps->n_tiers > 0 && tier && tier[0] ? tier_slot(ps, tier) : 0;
    return &ps->resolved[ptype][s];
}

/* ---- calendars and zones (DESIGN §4 "Business time") ---- */

int pp_policyset_calendar(pp_policyset_t *ps, const char *name, const char *key, const char *value, char *err,
                          size_t err_len)
{
    if (name[0] == '\0' || strlen(name) > (PP_CALENDAR_NAME_MAX - 1)) {
        snprintf(err, err_len, "calendar name must be 1-%d bytes", (PP_CALENDAR_NAME_MAX - 1));
        return -1;
    }
    int i = calendar_index(ps, name);
    if (i < 0) {
        if (ps->n_calendars == PP_CALENDARS_MAX) {
            snprintf(err, err_len, "at most %d calendars (the built-in business and always included)",
                     PP_CALENDARS_MAX);
            return -1;
        }
        i = ps->n_calendars++;
        pp_calendar_business(&ps->calendars[i]); /* a new calendar starts as Mon-Fri 09:00-17:00 */
        snprintf(ps->calendars[i].name, sizeof ps->calendars[i].name, "%s", name);
        ps->cal_hash[i] = pp_name_hash32(name);
        ps->cal_zone[i] = NULL;
    }
    return pp_calendar_set(&ps->calendars[i], key, value, err, err_len);
}

const pp_zone_t *pp_policyset_zone_by_hash(const pp_policyset_t *ps, uint32_t hash)
{
    size_t lo = 0, hi = ps->n_zones;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps->zone_hashes[mid] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ps->n_zones && ps->zone_hashes[lo] == hash ? &ps->zones[lo] : NULL;
}

int pp_policyset_zones(pp_policyset_t *ps, const pp_zone_t *zones, const uint32_t *hashes, size_t n, char *err,
                       size_t err_len)
{
    ps->zones = zones;
    ps->zone_hashes = hashes;
    ps->n_zones = n;
    for (int i = 0; i < ps->n_calendars; i++) {
        const char *tz = ps->calendars[i].timezone;
        ps->cal_zone[i] = NULL;
        if (tz[0] == '\0' || strcmp(tz, "UTC") == 0)
            continue;
        ps->cal_zone[i] = pp_policyset_zone_by_hash(ps, pp_name_hash32(tz));
        if (ps->cal_zone[i] == NULL) {
            snprintf(err, err_len, "calendar %s: unknown time zone \"%s\" (use an IANA name such as Europe/Berlin)",
                     ps->calendars[i].name, tz);
            return -1;
        }
    }
    return 0;
}

/* The calendar called name (checked to exist at resolve) and its index. */
static int calendar_of(const pp_policyset_t *ps, const char *name)
{
    int i = calendar_index(ps, name);
    return i < 0 ? 0 : i; /* resolve refused unknown names: "business" if it ever happens */
}

void pp_policyset_clocks(const pp_policyset_t *ps, const pp_policy_t *pol, uint32_t calendar_hash,
                         uint32_t zone_hash, pp_bizclock_t out[2])
{
    int pc = -1;
    if (calendar_hash != 0)
        for (int i = 0; i < ps->n_calendars; i++)
            if (ps->cal_hash[i] == calendar_hash)
                pc = i;
    if (pc < 0) /* not named, or no longer configured: the policy's */
        pc = pol->calendar_idx;
    const pp_zone_t *pz = zone_hash ? pp_policyset_zone_by_hash(ps, zone_hash) : NULL;
    out[PP_SIDE_PARTNER].cal = &ps->calendars[pc];
    out[PP_SIDE_PARTNER].zone = pz ? pz : ps->cal_zone[pc];
    int oc = pol->our_calendar_idx;
    out[PP_SIDE_US].cal = &ps->calendars[oc];
    out[PP_SIDE_US].zone = ps->cal_zone[oc];
}

/* Amount a of currency cur into the reporting currency, in place (cur then
 * names the reporting currency). */
static pp_reject_t admit_money(const pp_policyset_t *ps, int64_t *a, char cur[4], const pp_limits_t *lim, char *why,
                               size_t why_len)
{
    int64_t out;
    pp_reject_t r = pp_money_convert(&ps->money, cur, *a, lim->max_amount_minor, &out, why, why_len);
    if (r != PP_OK)
        return r;
    *a = out;
    memcpy(cur, ps->money.reporting, 4);
    return PP_OK;
}

pp_reject_t pp_policyset_admit_event(const pp_policyset_t *ps, pp_event_t *ev, const pp_limits_t *lim, char *why,
                                     size_t why_len)
{
    pp_limits_t def;
    if (lim == NULL) {
        pp_limits_default(&def);
        lim = &def;
    }
    if (ev->topic == PP_TOPIC_DEALS)
        return admit_money(ps, &ev->u.deal.amount_minor, ev->u.deal.currency, lim, why, why_len);
    if (ev->topic == PP_TOPIC_REFERRALS)
        return admit_money(ps, &ev->u.referral.value_minor, ev->u.referral.currency, lim, why, why_len);
    if (ev->topic != PP_TOPIC_LIFECYCLE)
        return PP_OK;
    const char *tz = ev->u.lc.timezone, *cal = ev->u.lc.calendar;
    if (tz[0]) {
        const pp_zone_t *z = pp_policyset_zone_by_hash(ps, pp_name_hash32(tz));
        if (z == NULL || strcmp(z->name, tz) != 0) {
            snprintf(why, why_len, "unknown time zone \"%s\" (use an IANA name such as Europe/Berlin)", tz);
            return PP_REJ_TIMEZONE;
        }
    }
    if (cal[0] && calendar_index(ps, cal) < 0) {
        snprintf(why, why_len, "calendar \"%s\" is not configured (add a [calendar:%s] section, or use business or always)",
                 cal, cal);
        return PP_REJ_CALENDAR;
    }
    return PP_OK;
}
