/*
 * pp_score: measures, health, RAG and the daily-maximum history (see pp_score.h).
 */
#include "pp_score.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "pp_facts.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* pp_score_recent_max_health */
#endif

#define WEEK_MS (7 * PP_DAY_MS)

const char *pp_rag_name(int rag)
{
    static const char *const n[] = {"", "green", "amber", "red"};
    return rag >= 0 && rag <= PP_RAG_RED ? n[rag] : "";
}

/* Value of measure m, or NAN when there is not enough data. */
static inline __attribute__((always_inline)) double measure_value(const pp_policy_t *pol, const pp_partner_t *st,
                                                                  const pp_facts_t *f, pp_measure_t m)
{
    int64_t since_signed = st->signed_at_ms ? f->now - st->signed_at_ms : 0;
    int64_t since_first = f->now - (st->signed_at_ms ? st->signed_at_ms : st->first_event_ms);
    /* seed 004: a partner type with a long time to first attributable
     * impact (TECHNOLOGY: 6-18 months) is not judged on revenue or pipeline
     * before its horizon */
    if (m <= PP_M_ACTIVITY && since_first < pol->impact_horizon_ms)
        return NAN;
    switch (m) {
    case PP_M_REVENUE:
        /* judged on revenue once the long window has passed since signing;
         * before that only a win counts (a partner three weeks in whose
         * first qualified deal was lost is not "zero revenue": win_rate
         * judges losses once enough deals closed) */
        if (f->lw.won == 0 && since_signed < pol->long_window_ms)
            return NAN;
        return (double)f->lw.won_major;
    case PP_M_WIN_RATE: {
        uint32_t closed = f->lw.won + f->lw.lost;
        return closed >= (uint32_t)pol->win_rate_min_closed ? (double)f->lw.won / closed : NAN;
    }
    case PP_M_PIPELINE:
        if (st->deals_sourced + st->deals_influenced == 0 && since_signed < pol->short_window_ms)
            return NAN;
        return (double)pp_partner_pipeline_minor(st) / (double)pol->minor_per_major;
    case PP_M_ACTIVITY:
        if (f->lw.registered == 0 && since_first < pol->short_window_ms)
            return NAN;
        return f->lw.registered;
    case PP_M_RESPONSE: /* business days of the partner's calendar */
        return f->partner.n >= pol->response_min_samples
                   ? pp_facts_bdays(f, PP_SIDE_PARTNER, f->partner.p50_s * 1000.0)
                   : NAN;
    case PP_M_DELIVERY: {
        uint32_t due = f->lw.delivered + f->lw.missed;
        return due >= (uint32_t)pol->delivery_min_due ? (double)f->lw.delivered / due : NAN;
    }
    case PP_M_RECIPROCITY: {
        uint32_t total = f->lw.theirs + f->lw.ours;
        return total >= (uint32_t)pol->reciprocity_min_total ? (double)f->lw.theirs / total : NAN;
    }
    case PP_M_RECENCY: /* business days of the partner's calendar */
        if (st->last_inbound_ms == 0 && f->now - f->recency_base < WEEK_MS)
            return NAN;
        return pp_facts_bdays(f, PP_SIDE_PARTNER, (double)f->quiet_ms);
    default:
        return NAN;
    }
}

static int rag_of(const pp_policy_t *pol, double health, double confidence, int prev)
{
    if (confidence <= 0)
        return PP_RAG_NONE;
    if (prev == PP_RAG_GREEN && health >= pol->green_min - pol->rag_hysteresis)
        return PP_RAG_GREEN;
    if (prev == PP_RAG_RED && health < pol->red_below + pol->rag_hysteresis)
        return PP_RAG_RED;
    if (health >= pol->green_min)
        return PP_RAG_GREEN;
    if (health < pol->red_below)
        return PP_RAG_RED;
    return PP_RAG_AMBER;
}

/* Measure m's value and score into the state; false when it has no data.
 * Otherwise *s is its score, and it counts into the availability bits and
 * the weighted sums (in measure order, as the health needs them). */
static inline __attribute__((always_inline)) bool score_measure(const pp_policy_t *pol, pp_partner_t *st,
                                                                const pp_facts_t *f, pp_measure_t m, double *s,
                                                                uint8_t *avail, double *wavail, double *acc)
{
    double v = measure_value(pol, st, f, m);
    st->measure_value[m] = (float)v;
    if (isnan(v)) {
        st->measure_score[m] = -1;
        *s = 0;
        return false;
    }
    double w = pol->measure_weight[m];
    *s = pp_band_eval(&pol->band[m], v);
    st->measure_score[m] = (float)*s;
    *avail |= (uint8_t)(1u << m);
    *wavail += w;
    *acc += w * *s;
    return true;
}

void pp_score_update(const pp_policy_t *pol, pp_partner_t *st, const pp_facts_t *f)
{
    double wavail = 0, acc = 0;
    uint8_t avail = 0;
    /* Component c is the mean of its measures 2c and 2c + 1 (see
     * pp_measure_component) that have data. Its sum starts at 0.0, as a
     * running sum would: 0.0 + s is s, but for a -0.0 score. x / 2 == x * 0.5
     * exactly. Unrolled: each measure's switch case is resolved at compile
     * time, and which of the two had data is known from their branches. */
#pragma GCC unroll 4
    for (int c = 0; c < PP_C_COUNT; c++) {
        double s0, s1;
        bool h0 = score_measure(pol, st, f, (pp_measure_t)(2 * c), &s0, &avail, &wavail, &acc);
        bool h1 = score_measure(pol, st, f, (pp_measure_t)(2 * c + 1), &s1, &avail, &wavail, &acc);
        if (h0)
            st->component[c] = h1 ? (float)((0.0 + s0 + s1) * 0.5) : (float)(0.0 + s0);
        else
            st->component[c] = h1 ? (float)(0.0 + s1) : -1.0f;
    }
    /* the weights of all measures, summed in measure order (pp_policy_derive) */
    st->confidence = pol->weight_sum > 0 ? (float)(wavail / pol->weight_sum) : 0;
    st->health = wavail > 0 ? acc / wavail : 50.0;
    st->rag = (uint8_t)rag_of(pol, st->health, st->confidence, st->rag);

    /* daily maximum health, for health_drop. When the set of measures with
     * data changes, the score is not comparable with its past any more (we
     * know more, the partner did not change): the history starts again. */
    if (avail != st->measures_available) {
        memset(st->health_max_day_hist, 0, sizeof st->health_max_day_hist);
        st->measures_available = avail;
    }
    int32_t day = f->day;
    if (day > st->health_hist_day) {
        /* the slots of the days after the newest entry, up to today; eight
         * days or more are every slot */
        if (day - st->health_hist_day >= 8)
            memset(st->health_max_day_hist, 0, sizeof st->health_max_day_hist);
        else
            for (int32_t d = st->health_hist_day + 1; d <= day; d++)
                st->health_max_day_hist[(uint32_t)d % 8] = 0; /* d > 0: day numbers since 1970 */
        st->health_hist_day = day;
    }
    if (day > st->health_hist_day - 8 && st->confidence >= pol->min_confidence) {
        uint8_t h = (uint8_t)llround(st->health);
        uint8_t *slot = &st->health_max_day_hist[day % 8];
        if (h + 1 > *slot) /* stored +1 so 0 means "no data" */
            *slot = (uint8_t)(h + 1);
    }
}

int pp_score_costs(const pp_policy_t *pol, const pp_partner_t *st, int order[PP_M_COUNT], double cost[PP_M_COUNT])
{
    double wsum = 0;
    for (int m = 0; m < PP_M_COUNT; m++)
        if (st->measure_score[m] >= 0)
            wsum += pol->measure_weight[m];
    int k = 0;
    for (int m = 0; m < PP_M_COUNT; m++) {
        if (st->measure_score[m] < 0 || wsum <= 0)
            continue;
        cost[m] = pol->measure_weight[m] * (100.0 - st->measure_score[m]) / wsum;
        if (cost[m] < 0.5)
            continue;
        int j = k++;
        while (j > 0 && cost[order[j - 1]] < cost[m]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = m;
    }
    return k;
}

/* Hot: every evaluation with enough confidence asks (health_drop). The
 * 8-day history is read as one word, the slots outside the days asked for
 * are masked off, and the largest of the eight bytes left is taken without
 * a loop over days: the plain loop (the big-endian fallback at the end)
 * costs apply 2.7 % more instructions (callgrind, core_bench 4 000 x
 * 200 000: 2 450 -> 2 516 per event). */
double pp_score_recent_max_health(const pp_partner_t *st, int32_t day, int days)
{
    if (days > 8)
        days = 8;
    /* the days of the last `days` that the 8-day history still holds */
    int32_t lo = day - days + 1, hi = day;
    if (lo < st->health_hist_day - 7)
        lo = st->health_hist_day - 7;
    if (hi > st->health_hist_day)
        hi = st->health_hist_day;
    if (hi < lo)
        return -1;
    /* days lo..hi (at most 8) are the slots lo % 8 onwards, cyclically
     * ((uint32_t)d % 8 is d's slot for consecutive d of any sign) */
    unsigned n = (unsigned)(hi - lo) + 1;
    unsigned first = (uint32_t)lo % 8;
    unsigned top = 0; /* stored +1: 0 = no data */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w; /* slot k is byte k: bits 8k..8k+7 */
    memcpy(&w, st->health_max_day_hist, sizeof w);
    uint64_t keep = ~(uint64_t)0 >> (64 - 8 * n); /* slots 0..n-1 (n is 1..8) */
    unsigned r = 8 * first;
    keep = keep << r | keep >> ((64 - r) & 63); /* ... rotated to start at `first` */
    w &= keep; /* masked slots are 0: they never win */
#if defined(__SSE2__)
    /* the largest byte in three unsigned byte-wise maxima of the word with
     * itself shifted by 4, 2 and 1 bytes (a dozen instructions, not 8 steps) */
    __m128i x = _mm_cvtsi64_si128((long long)w);
    x = _mm_max_epu8(x, _mm_srli_epi64(x, 32));
    x = _mm_max_epu8(x, _mm_srli_epi64(x, 16));
    x = _mm_max_epu8(x, _mm_srli_epi64(x, 8));
    top = (unsigned)_mm_cvtsi128_si32(x) & 0xffu;
#else
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        unsigned v = (unsigned)(w >> (8 * k)) & 0xffu;
        top = v > top ? v : top;
    }
#endif
#else
    for (unsigned k = 0; k < n; k++) {
        unsigned v = st->health_max_day_hist[(first + k) % 8];
        top = v > top ? v : top;
    }
#endif
    return top > 0 ? (double)(top - 1) : -1;
}

