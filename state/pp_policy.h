/*
 * pp_policy: every number the health score and the red-flag rules use —
 * weights, bands, thresholds, windows — with the defaults of DESIGN §5/§6
 * and the seed doctrine (docs/scoring.md), settable by name, and overridable
 * per partner type and per tier.
 *
 * A policy set holds the global policy and override lists; pp_policyset_for()
 * returns the resolved policy for a (type, tier): global, then the type's
 * overrides, then the tier's (the most specific wins).
 *
 * Pure: no I/O. Names are the config keys of docs/configuration.md.
 */
#ifndef PP_POLICY_H
#define PP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_bizclock.h"
#include "pp_event.h"
#include "pp_money.h"

#define PP_DAYS_MAX 90      /* buckets of the rolling windows' ring (one day each up to 90-day windows) */
#define PP_WINDOW_DAYS_MAX 540 /* longest window a policy may set (DESIGN §5: 18 months) */
#define PP_BAND_POINTS 8
#define PP_TIERS_MAX 8
#define PP_OVERRIDES_MAX 128
#define PP_TIER_MAX 31      /* bytes of a tier name kept in state */
#define PP_CALENDARS_MAX 16 /* configured calendars, the built-ins included */

/* Score components (DESIGN §5, seed 002 scorecard). */
typedef enum pp_component {
    PP_C_FINANCIAL = 0,
    PP_C_STRATEGIC,
    PP_C_OPERATIONAL,
    PP_C_RELATIONSHIP,
    PP_C_COUNT
} pp_component_t;

/* Measures: each maps one metric to 0-100 through a band. */
typedef enum pp_measure {
    PP_M_REVENUE = 0,   /* financial: won revenue in the long window (major units) */
    PP_M_WIN_RATE,      /* financial: won / closed in the long window */
    PP_M_PIPELINE,      /* strategic: open pipeline, sourced + influenced (major units) */
    PP_M_ACTIVITY,      /* strategic: deal registrations + referrals to us in the long window */
    PP_M_RESPONSE,      /* operational: partner p50 response, business days, short window (open waits censored) */
    PP_M_DELIVERY,      /* operational: partner commitments delivered / due, long window */
    PP_M_RECIPROCITY,   /* relationship: their share of contributions, long window */
    PP_M_RECENCY,       /* relationship: business days since the last inbound activity */
    PP_M_COUNT
} pp_measure_t;

/* Red-flag rules (DESIGN §6). Names (pp_rule_name) are a public contract. */
typedef enum pp_rule {
    PP_R_SLOW_RESPONSE = 0,
    PP_R_UNANSWERED_FOLLOWUPS,
    PP_R_REPLY_OVERDUE,
    PP_R_GOING_DARK,
    PP_R_OVERPROMISE,
    PP_R_ONE_SIDED,
    PP_R_NO_PIPELINE_90D,
    PP_R_HEALTH_RED,
    PP_R_HEALTH_DROP,
    PP_R_LOW_ACV_CHANNEL,
    PP_R_COUNT
} pp_rule_t;

/* Piecewise-linear map: x ascending; below x[0] -> y[0], above x[n-1] -> y[n-1]. */
typedef struct pp_band {
    int n;
    double x[PP_BAND_POINTS];
    double y[PP_BAND_POINTS];
} pp_band_t;

typedef struct pp_policy {
    /* score */
    double weight[PP_C_COUNT];       /* component weights (any scale; renormalised) */
    pp_band_t band[PP_M_COUNT];      /* metric -> 0..100 */
    double green_min;                /* health >= this is GREEN */
    double red_below;                /* health < this is RED */
    double rag_hysteresis;           /* points beyond a boundary needed to leave a band */
    int short_window_days;           /* 30 */
    int long_window_days;            /* 90, <= PP_WINDOW_DAYS_MAX */
    int win_rate_min_closed;         /* closed deals needed for win rate */
    int response_min_samples;        /* responses needed for the response measure */
    int delivery_min_due;            /* commitments due needed for delivery */
    int reciprocity_min_total;       /* contributions needed for reciprocity */
    double min_confidence;           /* health_red/health_drop need this much data */
    double impact_horizon_days;      /* days after signing before revenue, win rate, pipeline and deal
                                        activity are judged (TECHNOLOGY 180, seed 004); 0 = from the start */
    int referral_sent_weight;        /* contributions a SENT referral counts (reciprocity, seed 000 §6.4) */
    int referral_converted_weight;   /* ...and a CONVERTED one adds (it brought a customer) */

    /* rules */
    bool enabled[PP_R_COUNT];
    double clear_ratio;              /* numeric rules clear at threshold * ratio (hysteresis) */
    double slow_response_days;       /* partner p50 over the short window above this (business days) trips */
    double slow_response_critical_days; /* ...and above this it is CRITICAL */
    int slow_response_min_samples;
    int followups_threshold;         /* unanswered follow-ups on one thread */
    double reply_overdue_days;       /* oldest question awaiting the partner (business days) */
    double going_dark_days;          /* no inbound activity for (business days) */
    double going_dark_inactive_days; /* ...CRITICAL (inactive partner, seed 003) */
    char calendar[PP_CALENDAR_NAME_MAX];     /* the partner's calendar unless its profile names one */
    char our_calendar[PP_CALENDAR_NAME_MAX]; /* our side's calendar ([score] our_calendar) */
    int overpromise_missed;          /* partner commitments missed in the long window */
    double overpromise_ratio;        /* ...or delivered/due below this */
    int overpromise_min_due;         /* ...with at least this many due */
    double commitment_grace_hours;   /* an open commitment is missed this long after its due time */
    double one_sided_ratio;          /* ours >= ratio * theirs */
    int one_sided_min_total;         /* ...with at least this many contributions */
    double no_pipeline_days;         /* days after SIGNED without a qualified opportunity */
    double health_drop_points;       /* drop within health_drop_days that trips */
    int health_drop_days;
    double health_drop_min_hours;    /* ...and lasting at least this long (minimum duration, DESIGN §7) */
    double low_acv_major;            /* average won deal below this (major units) */
    int low_acv_min_won;             /* ...over at least this many won deals */

    /* Derived from the settings above, as every evaluation needs them,
     * computed once by pp_policy_derive() instead of per evaluation. Setting
     * a key and pp_policyset_resolve() keep them up to date (resolve fills
     * them in every resolved policy); code that writes a policy's fields
     * directly calls pp_policy_derive() on it afterwards. Not settings: not
     * in the version hash.
     * The day and hour settings in ms: llround(days * 86400000.0) (what the
     * engine's days_ms() gave), (int64_t)(hours * 3600000.0) for the grace. */
    int64_t short_window_ms;
    int64_t long_window_ms;
    int64_t no_pipeline_ms;
    int64_t health_drop_min_ms;
    int64_t commitment_grace_ms;
    int64_t impact_horizon_ms;
    /* Minor units per major unit of the reporting currency (100 for USD,
     * 1 for JPY): bands and the ACV line are in major units (DESIGN §3);
     * pp_policyset_resolve sets it from the set's money. */
    int64_t minor_per_major;
    char currency[4];                /* ...and its ISO 4217 code, for sentences */
    /* Each component's weight is shared equally by its two measures (2c and
     * 2c + 1): measure_weight[m] = weight[m / 2] * 0.5, and weight_sum their
     * sum, added in measure order. */
    double measure_weight[PP_M_COUNT];
    double weight_sum;
    /* calendar and our_calendar as indexes into the set's calendars[],
     * filled by pp_policyset_resolve (every event resolves its clocks) */
    int calendar_idx;
    int our_calendar_idx;
} pp_policy_t;

typedef struct pp_override {
    int ptype;                       /* enum pp_ptype of a type or type+tier override, else 0 */
    char tier[PP_TIER_MAX + 1];      /* tier name of a tier or type+tier override, else "" */
    char key[48];
    char value[128];
} pp_override_t;

typedef struct pp_policyset {
    pp_policy_t global;
    pp_money_t money;                /* [currency]: reporting currency and rates (DESIGN §3) */
    /* Business-hours calendars ([calendar:NAME]): "business" and "always"
     * first, then the configured ones; cal_hash[i] = pp_name_hash32(name),
     * cal_zone[i] the calendar's own zone (NULL = UTC, or not resolved yet:
     * pp_policyset_zones resolves them). */
    pp_calendar_t calendars[PP_CALENDARS_MAX];
    uint32_t cal_hash[PP_CALENDARS_MAX];
    const pp_zone_t *cal_zone[PP_CALENDARS_MAX];
    int n_calendars;
    /* The time zones partners may name, sorted by pp_name_hash32(name);
     * owned by the caller (the daemon loads them); NULL = UTC only. */
    const pp_zone_t *zones;
    const uint32_t *zone_hashes;     /* zone_hashes[i] = pp_name_hash32(zones[i].name), ascending */
    size_t n_zones;
    pp_override_t overrides[PP_OVERRIDES_MAX];
    int n_overrides;
    /* resolved: [ptype 0..4][tier slot 0 = none/unknown, 1..n_tiers] */
    char tiers[PP_TIERS_MAX][PP_TIER_MAX + 1];
    int n_tiers;
    pp_policy_t resolved[5][PP_TIERS_MAX + 1];
    char version[24];                /* config_version carried by alerts */
} pp_policyset_t;

/* Defaults of DESIGN §5/§6 (global) plus the default type overrides (seed 004):
 * TECHNOLOGY has no no_pipeline_90d, is not judged on revenue or pipeline
 * before day 180 and weighs relationship over revenue. Reporting currency
 * USD, no rates. Then pp_policyset_resolve(). */
void pp_policyset_default(pp_policyset_t *ps);

/* Set a key on the global policy. Returns 0, or -1 with a sentence in err. */
int pp_policyset_set(pp_policyset_t *ps, const char *key, const char *value, char *err, size_t err_len);

/* Add an override for a partner type name (REFERRAL, RESELLER, TECHNOLOGY,
 * CO_SELL) or a tier; the key and value are checked right away. */
int pp_policyset_override_type(pp_policyset_t *ps, const char *type_name, const char *key,
                               const char *value, char *err, size_t err_len);
int pp_policyset_override_tier(pp_policyset_t *ps, const char *tier, const char *key,
                               const char *value, char *err, size_t err_len);
/* ...and for a type and a tier together (the most specific layer). */
int pp_policyset_override_type_tier(pp_policyset_t *ps, const char *type_name, const char *tier, const char *key,
                                    const char *value, char *err, size_t err_len);

/* Compute the resolved policies, layered key by key: global < type < tier
 * < type+tier (DESIGN §5), and the version string (hash of all settings,
 * the reporting currency and the rates included). Call after the last
 * set/override and pp_money_finish. Returns 0 or -1 with err (e.g. short
 * window longer than the long one). */
int pp_policyset_resolve(pp_policyset_t *ps, char *err, size_t err_len);

/* Recompute p's derived fields (the *_ms and the measure weights) from its settings. */
void pp_policy_derive(pp_policy_t *p);

/* Set a key (timezone, workdays, hours, holidays) of calendar `name`,
 * creating it (at most PP_CALENDARS_MAX, the built-ins included). */
int pp_policyset_calendar(pp_policyset_t *ps, const char *name, const char *key, const char *value, char *err,
                          size_t err_len);

/* Hand the policy set the zones partners may name (sorted by hash, the
 * caller keeps them alive) and resolve each calendar's own zone. Returns 0,
 * or -1 with err naming a calendar whose timezone is not among them. */
int pp_policyset_zones(pp_policyset_t *ps, const pp_zone_t *zones, const uint32_t *hashes, size_t n, char *err,
                       size_t err_len);

/* The zone named (pp_name_hash32) hash, NULL if the set does not hold it. */
const pp_zone_t *pp_policyset_zone_by_hash(const pp_policyset_t *ps, uint32_t hash);

/* The business clocks of a partner under policy pol: [PP_SIDE_PARTNER] is
 * its profile's calendar (calendar_hash, else pol->calendar) in its
 * profile's zone (zone_hash, else the calendar's own zone, else UTC);
 * [PP_SIDE_US] is pol->our_calendar in that calendar's zone. */
void pp_policyset_clocks(const pp_policyset_t *ps, const pp_policy_t *pol, uint32_t calendar_hash,
                         uint32_t zone_hash, pp_bizclock_t out[2]);

/* Admit a decoded event with what only the policy set knows (DESIGN §3):
 * a PartnerEvent's timezone must be a zone of the set and its calendar a
 * configured one; a deal's amount and a referral's value are converted into
 * the reporting currency in place (the currency field then names it).
 * lim: the amount limit (NULL = pp_limits_default's). Returns PP_OK, or
 * PP_REJ_TIMEZONE / PP_REJ_CALENDAR / PP_REJ_CURRENCY / PP_REJ_AMOUNT with a
 * sentence in why (ev then unchanged). Every event the engine applies has
 * been admitted. */
pp_reject_t pp_policyset_admit_event(const pp_policyset_t *ps, pp_event_t *ev, const pp_limits_t *lim, char *why,
                                     size_t why_len);

/* The policy for a partner of this type and tier. Never NULL. */
const pp_policy_t *pp_policyset_for(const pp_policyset_t *ps, int ptype, const char *tier);

/* Map x through a band (inline: the score evaluates eight per event). */
static inline double pp_band_eval(const pp_band_t *b, double x)
{
    if (b->n <= 0)
        return 0;
    if (x <= b->x[0])
        return b->y[0];
    for (int i = 1; i < b->n; i++)
        if (x <= b->x[i]) {
            double f = (x - b->x[i - 1]) / (b->x[i] - b->x[i - 1]);
            return b->y[i - 1] + f * (b->y[i] - b->y[i - 1]);
        }
    return b->y[b->n - 1];
}

/* Sort a few values in place (insertion sort: n is at most a ring's 16). */
static inline void pp_sort_small_u32(uint32_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t x = v[i];
        int j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

const char *pp_rule_name(pp_rule_t r);
const char *pp_measure_name(pp_measure_t m);
const char *pp_component_name(pp_component_t c);
pp_component_t pp_measure_component(pp_measure_t m);
const char *pp_ptype_name(int ptype);
int pp_ptype_from_name(const char *name); /* 0 if unknown */

/* Width in days of the rolling windows' buckets for a long window of
 * long_days: 1 up to PP_DAYS_MAX days (one bucket per day), else
 * ceil(long_days / PP_DAYS_MAX), so that the ring of PP_DAYS_MAX buckets
 * holds the whole window (540 days: buckets of 6 days). */
static inline int pp_window_bucket_days(int long_days)
{
    return long_days <= PP_DAYS_MAX ? 1 : (long_days + PP_DAYS_MAX - 1) / PP_DAYS_MAX;
}

/* The bucket width of a partner under policy pol. */
static inline int pp_policy_bucket_days(const pp_policy_t *pol)
{
    return pp_window_bucket_days(pol->long_window_days);
}

#endif
