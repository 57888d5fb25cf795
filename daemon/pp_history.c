/*
 * pp_history: held-back history and catching up (see pp_history.h).
 */
#include "pp_history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "partnerpulse.pb-c.h"

/* held_back lives in what was the padding of the rule state: the state blob
 * keeps its size and layout (older blobs read as "nothing held back"). */
_Static_assert(sizeof(pp_rule_state_t) == 16, "pp_rule_state_t grew: the state blob layout changed");
_Static_assert(PP_R_COUNT <= 32, "held masks are 32-bit");

unsigned pp_history_held_mask(const pp_partner_t *st)
{
    unsigned mask = 0;
    for (int r = 0; r < PP_R_COUNT; r++)
        if (st->rules[r].held_back && st->rules[r].started_at_ms != 0)
            mask |= 1u << r;
    return mask;
}

unsigned pp_history_published_mask(const pp_partner_t *st)
{
    unsigned mask = 0;
    for (int r = 0; r < PP_R_COUNT; r++) {
        const pp_rule_state_t *rs = &st->rules[r];
        if (rs->started_at_ms != 0 && rs->published && !rs->held_back)
            mask |= 1u << r;
    }
    return mask;
}

int pp_history_filter(pp_partner_t *st, unsigned held_before, unsigned published_before, int64_t max_age_ms,
                      pp_alert_t *out, uint8_t *verdict, int n)
{
    unsigned held = held_before, known = published_before, seen = 0;
    int n_held = 0;
    for (int i = 0; i < n; i++) {
        pp_alert_t *a = &out[i];
        unsigned bit = 1u << a->rule;
        seen |= bit;
        verdict[i] = PP_HIST_AS_IS;
        if (a->status == PP_ALERT_FIRING) {
            /* Bit set: a FIRING of the open held-back episode itself (its
             * RESOLVED would have cleared the bit): going_dark turning
             * CRITICAL, or the core publishing it once inhibition ends. It
             * stays held, its newer copy replacing the stored one, so that
             * the release publishes the episode once, as it is then. */
            bool of_held = (held & bit) != 0, update = (known & bit) != 0;
            bool old = max_age_ms > 0 && a->emitted_at_ms - a->event_time_ms > max_age_ms;
            if (update) {
                if (old)
                    a->publish = false; /* history: recorded; the episode stays as consumers know it */
                continue;
            }
            held &= ~bit;
            if (a->publish && (of_held || old)) {
                a->publish = false;
                verdict[i] = PP_HIST_HOLD;
                held |= bit;
                n_held++;
            }
        } else {
            known &= ~bit;
            if (held & bit) {
                a->publish = false; /* the core thinks its FIRING went out: it did not */
                verdict[i] = PP_HIST_UNHOLD;
                n_held++;
            }
            held &= ~bit;
        }
    }
    for (int r = 0; r < PP_R_COUNT; r++)
        if (seen & (1u << r))
            st->rules[r].held_back = (held & (1u << r)) && st->rules[r].started_at_ms != 0;
    return n_held;
}

enum pp_hist_release pp_history_release(pp_partner_t *st, const pp_alert_t *held)
{
    if (held->rule < 0 || held->rule >= PP_R_COUNT)
        return PP_RELEASE_STALE;
    pp_rule_state_t *rs = &st->rules[held->rule];
    if (rs->started_at_ms == 0 || !rs->held_back)
        return PP_RELEASE_STALE;
    char id[PP_ALERT_ID_LEN + 1];
    pp_alert_id(st->id, held->rule, rs->started_at_ms, st->episodes[held->rule], id);
    if (strcmp(id, held->alert_id) != 0)
        return PP_RELEASE_STALE; /* another episode of the rule */
    rs->held_back = 0;
    /* snoozed since (as the core's own test): the core decides, as for any
     * snoozed episode whose FIRING is not out yet */
    int64_t until = st->snooze_until_ms[held->rule];
    if (rs->snoozed_episode || (until > 0 && st->clock_ms < until)) {
        rs->published = 0;
        return PP_RELEASE_HAND_BACK;
    }
    return PP_RELEASE_PUBLISH;
}

/* Copy a protobuf string into a bounded buffer (truncating, NUL-terminated). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

int pp_history_unpack(const uint8_t *buf, size_t len, pp_alert_t *out, char *cv, size_t cv_cap)
{
    int rc = -EBADMSG;
    Partnerpulse__V1__Alert *m = partnerpulse__v1__alert__unpack(NULL, len, buf);
    if (m == NULL)
        goto out;
    int rule = -1;
    for (int r = 0; r < PP_R_COUNT && rule < 0; r++)
        if (m->rule && strcmp(m->rule, pp_rule_name((pp_rule_t)r)) == 0)
            rule = r;
    if (rule < 0 || strlen(m->alert_id) != PP_ALERT_ID_LEN)
        goto free_msg;
    memset(out, 0, sizeof *out);
    copy_str(out->alert_id, sizeof out->alert_id, m->alert_id);
    copy_str(out->partner_id, sizeof out->partner_id, m->partner_id);
    out->rule = (pp_rule_t)rule;
    out->severity = (int)m->severity;
    out->status = (int)m->status;
    out->value = m->value;
    out->threshold = m->threshold;
    copy_str(out->message, sizeof out->message, m->message);
    out->started_at_ms = m->started_at_ms;
    out->event_time_ms = m->event_time_ms;
    out->emitted_at_ms = m->emitted_at_ms;
    out->health = m->health;
    copy_str(out->evidence, sizeof out->evidence, m->n_evidence ? m->evidence[0] : "");
    out->publish = true;
    out->partition = -1;
    copy_str(cv, cv_cap, m->config_version);
    rc = 0;
free_msg:
    partnerpulse__v1__alert__free_unpacked(m, NULL);
out:
    return rc;
}

/* ---- catching up ---- */

#define ALL_TOPICS ((1u << PP_TOPIC_COUNT) - 1)

typedef struct part {
    unsigned at_end;     /* bit per input topic: reached its end since assigned / fell behind */
    size_t tail[PP_TOPIC_COUNT]; /* per topic: messages held by the merge when it first did, not
                                    released yet (the end of the backlog) */
    int64_t lag;         /* last known consumer lag, < 0 unknown */
    bool caught_up;      /* timers on the wall clock (live), held-back episodes released */
} part_t;

struct pp_catchup {
    int max_partitions;  /* p in [0, max_partitions) */
    int64_t max_lag;     /* [daemon] backlog_lag_messages */
    part_t *p;           /* [partition] */
};

pp_catchup_t *pp_catchup_new(int max_partitions, int64_t max_lag)
{
    pp_catchup_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->p = calloc((size_t)max_partitions, sizeof *c->p);
    if (c->p == NULL) {
        free(c);
        return NULL;
    }
    c->max_partitions = max_partitions;
    c->max_lag = max_lag;
    for (int i = 0; i < max_partitions; i++)
        c->p[i].lag = -1;
    return c;
}

void pp_catchup_free(pp_catchup_t *c)
{
    if (c == NULL)
        return;
    free(c->p);
    free(c);
}

static part_t *part(const pp_catchup_t *c, int32_t p)
{
    return p >= 0 && p < c->max_partitions ? &c->p[p] : NULL;
}

void pp_catchup_assigned(pp_catchup_t *c, int32_t p)
{
    part_t *s = part(c, p);
    if (s != NULL)
        *s = (part_t){.at_end = 0, .lag = -1, .caught_up = false};
}

void pp_catchup_at_end(pp_catchup_t *c, pp_topic_t topic, int32_t p, size_t held)
{
    part_t *s = part(c, p);
    if (s == NULL || topic < 0 || topic >= PP_TOPIC_COUNT || (s->at_end & (1u << topic)))
        return; /* a later end: what came since is the head of the stream */
    s->at_end |= 1u << topic;
    s->tail[topic] = held;
}

void pp_catchup_released(pp_catchup_t *c, pp_topic_t topic, int32_t p)
{
    part_t *s = part(c, p);
    if (s != NULL && topic >= 0 && topic < PP_TOPIC_COUNT && s->tail[topic] > 0)
        s->tail[topic]--;
}

bool pp_catchup_lag(pp_catchup_t *c, int32_t p, int64_t lag)
{
    part_t *s = part(c, p);
    if (s == NULL)
        return false;
    s->lag = lag;
    if (!s->caught_up || lag <= c->max_lag)
        return false;
    s->caught_up = false;
    s->at_end = 0; /* must reach its end anew */
    return true;
}

bool pp_catchup_ready(const pp_catchup_t *c, int32_t p)
{
    const part_t *s = part(c, p);
    if (s == NULL || s->caught_up || s->at_end != ALL_TOPICS || s->lag > c->max_lag)
        return false;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (s->tail[t] > 0)
            return false;
    return true;
}

void pp_catchup_set(pp_catchup_t *c, int32_t p)
{
    part_t *s = part(c, p);
    if (s != NULL)
        s->caught_up = true;
}

bool pp_catchup_done(const pp_catchup_t *c, int32_t p)
{
    const part_t *s = part(c, p);
    return s != NULL && s->caught_up;
}
