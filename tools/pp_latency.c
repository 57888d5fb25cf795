/*
 * `partnerpulse latency`: end-to-end latency of a running partnerpulsed under
 * a steady produce rate. Produces protobuf events straight to the input
 * topics (a realistic mix over fresh partners, event time = now, for a
 * daemon in live mode) and measures, in the same run:
 *
 *   produce -> Redis visible  a sample of events: from just before the produce
 *                             call until the partner hash's events_applied
 *                             reaches that event's count (pipelined HMGETs,
 *                             every --poll-ms);
 *   produce -> alert          probe partners that trip unanswered_followups
 *                             on a known event (a third message from us on
 *                             one unanswered thread): from just before that
 *                             event's produce call until its FIRING alert
 *                             (evidence[0] = its event_id) is read from the
 *                             alert topic, consumed from its end.
 *
 * The benchmark (deploy/bench/run) runs it as its latency phase.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "partnerpulse.pb-c.h"
#include "pp_cli.h"
#include "pp_rand.h"

#define CMD "partnerpulse latency"
#define POLL_BATCH 2048 /* samples asked per Redis round trip at most */
#define POLL_COST_US 100 /* spacing per sample asked: at most 10 000 HMGETs/s */
#define PROBE_DELAY_US 200000 /* first two probe messages -> the tripping third */

typedef struct partner {
    uint32_t events;                    /* produced to it so far */
    uint16_t thread, deal, ref, commit; /* sequence numbers of its objects */
    uint8_t stage;                      /* of its current deal: 0 = none open */
    uint8_t awaiting;                   /* current thread: 0 none, 1 partner, 2 us */
    uint8_t open_commit, is_signed;
} partner_t;

typedef struct sample {
    uint32_t partner, expect;    /* visible once events_applied >= expect */
    int64_t sent_us, seen_us;    /* monotonic; seen 0 = not yet */
    int64_t sent_wall_ms;        /* for produce -> applied (daemon clock) */
    int64_t applied_ms;          /* updated_at_ms when seen at exactly expect; 0 unknown */
} sample_t;

typedef struct probe {
    int64_t sent_us, seen_us, due_us; /* due: when the tripping message goes */
    bool measured;                    /* sent after the warm-up */
    int64_t sent_wall_ms, emitted_ms;
} probe_t;

typedef struct lat {
    rd_kafka_t *prod, *cons;
    redisContext *redis;
    const char *topics[PP_TOPIC_COUNT];
    const char *redis_prefix;
    char run[32];
    pp_rand_t rng;
    pp_limits_t lim;
    partner_t *partners;
    uint32_t npartners;
    sample_t *samples;
    size_t nsamples, cap_samples;
    uint32_t *pending; /* indices of samples not seen yet */
    size_t npending;
    probe_t *probes;
    size_t nprobes;
    uint64_t produced, per_topic[PP_TOPIC_COUNT], other_alerts, redis_polls;
    int fatal;
} lat_t;

static unsigned long delivery_failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err && delivery_failed++ < 5)
        fprintf(stderr, CMD ": delivery to %s failed: %s\n", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
static int64_t wall_ms(void) { return clock_us(CLOCK_REALTIME) / 1000; }

static void sleep_until_us(int64_t t)
{
    int64_t d = t - mono_us();
    if (d <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(d / 1000000), .tv_nsec = (long)(d % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static uint32_t below(lat_t *L, uint32_t n) { return (uint32_t)(pp_rand_next(&L->rng) % n); }

/* ---- producing ---- */

/* Pack, check with the daemon's own validator (a generator bug must not
 * look like a lost event), produce with key = partner_id. 0 or -1. */
static int send_msg(lat_t *L, pp_topic_t topic, const ProtobufCMessage *msg, const char *pid)
{
    uint8_t buf[1024];
    if (protobuf_c_message_get_packed_size(msg) > sizeof buf)
        abort();
    size_t n = protobuf_c_message_pack(msg, buf);
    pp_event_t ev;
    char why[256];
    if (pp_event_decode(topic, buf, n, NULL, 0, &L->lim, wall_ms(), &ev, why, sizeof why) != PP_OK) {
        fprintf(stderr, CMD ": generated an invalid %s event (%s); this is a bug\n", pp_topic_name(topic), why);
        L->fatal = 1;
        return -1;
    }
    for (int64_t give_up = mono_us() + 10000000;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            L->prod, RD_KAFKA_V_TOPIC(L->topics[topic]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)pid, strlen(pid)), RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && mono_us() < give_up) {
            rd_kafka_poll(L->prod, 5); /* the broker is slower than --rate: wait (bounded) */
            continue;
        }
        if (e) {
            fprintf(stderr, CMD ": produce to %s failed: %s\n", L->topics[topic], rd_kafka_err2str(e));
            L->fatal = 1;
            return -1;
        }
        L->produced++;
        L->per_topic[topic]++;
        return 0;
    }
}

/* One engagement event; thread/commitment ids may be NULL. */
static int send_eng(lat_t *L, const char *pid, const char *eid, int dir, int kind, const char *thread,
                    const char *commit, bool automated)
{
    Partnerpulse__V1__EngagementEvent m = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
    m.event_id = (char *)eid;
    m.partner_id = (char *)pid;
    m.occurred_at_ms = wall_ms();
    m.thread_id = (char *)(thread ? thread : "");
    m.direction = (Partnerpulse__V1__EngagementEvent__Direction)dir;
    m.kind = (Partnerpulse__V1__EngagementEvent__Kind)kind;
    m.commitment_id = (char *)(commit ? commit : "");
    if (kind == PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MADE)
        m.due_at_ms = m.occurred_at_ms + 7 * 86400000LL;
    m.automated = automated;
    return send_msg(L, PP_TOPIC_ENGAGEMENTS, &m.base, pid);
}

/*
 * The next event of load partner i, with about the mix of `partnerpulse gen`
 * (bench/README.md): 3/4 engagements (messages on threads that mostly get
 * answered, meetings, requests, commitments made and delivered, co-marketing,
 * training), 11 % deal stages, 13 % referrals, 1 % lifecycle. roll < 0 picks
 * the kind at random, else roll (0-999) is the draw: 500 a meeting, 800 a
 * deal, 900 a referral, 995 a lifecycle event.
 */
static int send_load(lat_t *L, uint32_t i, int roll)
{
    partner_t *p = &L->partners[i];
    char pid[48], eid[64], obj[64];
    snprintf(pid, sizeof pid, "%s-p%" PRIu32, L->run, i);
    snprintf(eid, sizeof eid, "%s-e%" PRIu32, pid, p->events + 1);
    uint32_t r = roll < 0 ? below(L, 1000) : (uint32_t)roll;
    int rc;
    if (r < 450) { /* MESSAGE on the partner's current thread */
        int dir;
        if (p->awaiting == 0 || below(L, 100) < 15) { /* a new thread, either side opens it */
            p->thread++;
            dir = below(L, 2) ? 1 : 2;
        } else { /* mostly the awaited side answers; sometimes a follow-up */
            dir = below(L, 100) < 80 ? p->awaiting : 3 - p->awaiting;
        }
        bool automated = dir == 1 && below(L, 100) < 7;
        snprintf(obj, sizeof obj, "%s-t%u", pid, p->thread);
        rc = send_eng(L, pid, eid, dir, PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MESSAGE, obj, NULL, automated);
        if (!automated)
            p->awaiting = (uint8_t)(3 - dir); /* the other side owes the answer */
    } else if (r < 550) {
        rc = send_eng(L, pid, eid, 1 + (int)below(L, 2), PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MEETING, NULL,
                      NULL, false);
    } else if (r < 600) {
        snprintf(obj, sizeof obj, "%s-q%" PRIu32, pid, p->events);
        rc = send_eng(L, pid, eid, 1 + (int)below(L, 2), PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__REQUEST, obj,
                      NULL, false);
    } else if (r < 700) { /* commitments: made, then (mostly) delivered */
        int kind = PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MADE;
        if (p->open_commit)
            kind = below(L, 100) < 85 ? PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_DELIVERED
                                      : PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__COMMITMENT_MISSED;
        else
            p->commit++;
        snprintf(obj, sizeof obj, "%s-c%u", pid, p->commit);
        rc = send_eng(L, pid, eid, 1 + (int)below(L, 2), kind, NULL, obj, false);
        p->open_commit = !p->open_commit;
    } else if (r < 750) {
        rc = send_eng(L, pid, eid, 1 + (int)below(L, 2),
                      below(L, 2) ? PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__CO_MARKETING
                                  : PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__TRAINING,
                      NULL, NULL, false);
    } else if (r < 860) { /* deals: REGISTERED -> QUALIFIED -> PROPOSAL -> WON/LOST */
        if (p->stage == 0) {
            p->deal++;
            p->stage = PARTNERPULSE__V1__DEAL_EVENT__STAGE__REGISTERED;
        } else if (p->stage < PARTNERPULSE__V1__DEAL_EVENT__STAGE__PROPOSAL) {
            p->stage++;
        } else {
            p->stage = below(L, 100) < 40 ? PARTNERPULSE__V1__DEAL_EVENT__STAGE__WON
                                          : PARTNERPULSE__V1__DEAL_EVENT__STAGE__LOST;
        }
        snprintf(obj, sizeof obj, "%s-d%u", pid, p->deal);
        Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
        m.event_id = eid;
        m.partner_id = pid;
        m.occurred_at_ms = wall_ms();
        m.deal_id = obj;
        m.stage = (Partnerpulse__V1__DealEvent__Stage)p->stage;
        m.attribution = p->deal % 3 ? PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__SOURCED
                                    : PARTNERPULSE__V1__DEAL_EVENT__ATTRIBUTION__INFLUENCED;
        m.amount_minor = 100000 * (int64_t)(1 + p->deal % 97);
        m.currency = (char *)"USD";
        rc = send_msg(L, PP_TOPIC_DEALS, &m.base, pid);
        if (p->stage >= PARTNERPULSE__V1__DEAL_EVENT__STAGE__WON)
            p->stage = 0;
    } else if (r < 990) { /* referrals: SENT, then a status update */
        Partnerpulse__V1__ReferralEvent m = PARTNERPULSE__V1__REFERRAL_EVENT__INIT;
        bool update = p->ref > 0 && below(L, 2);
        if (!update)
            p->ref++;
        snprintf(obj, sizeof obj, "%s-r%u", pid, p->ref);
        m.event_id = eid;
        m.partner_id = pid;
        m.occurred_at_ms = wall_ms();
        m.referral_id = obj;
        m.direction = p->ref % 2 ? PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_US
                                 : PARTNERPULSE__V1__REFERRAL_EVENT__DIRECTION__TO_PARTNER;
        m.status = update ? (Partnerpulse__V1__ReferralEvent__Status)(2 + below(L, 3))
                          : PARTNERPULSE__V1__REFERRAL_EVENT__STATUS__SENT;
        m.value_minor = 500000;
        rc = send_msg(L, PP_TOPIC_REFERRALS, &m.base, pid);
    } else { /* lifecycle: SIGNED once, then profile changes */
        static const char *const tiers[] = {"authorized", "gold", "platinum"};
        Partnerpulse__V1__PartnerEvent m = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
        m.event_id = eid;
        m.partner_id = pid;
        m.occurred_at_ms = wall_ms();
        m.kind = p->is_signed ? PARTNERPULSE__V1__PARTNER_EVENT__KIND__TIER_CHANGED
                              : PARTNERPULSE__V1__PARTNER_EVENT__KIND__SIGNED;
        m.partner_type = (Partnerpulse__V1__PartnerEvent__PartnerType)(1 + i % 4);
        m.tier = (char *)tiers[below(L, 3)];
        p->is_signed = 1;
        rc = send_msg(L, PP_TOPIC_LIFECYCLE, &m.base, pid);
    }
    if (rc == 0)
        p->events++;
    return rc;
}

/* Probe partner j: message `n` (1..3) from us on one thread the partner never
 * answers. The first opens the wait, the next two are follow-ups: the third
 * reaches followups_threshold (2) and trips unanswered_followups, with its
 * event_id as the alert's evidence. Nothing else happens to a probe partner,
 * so no other rule (health_red needs confidence >= 0.4) can inhibit it. */
static int send_probe(lat_t *L, size_t j, int n)
{
    char pid[48], eid[64], thread[64];
    snprintf(pid, sizeof pid, "%s-q%zu", L->run, j);
    snprintf(eid, sizeof eid, "%s-%d", pid, n);
    snprintf(thread, sizeof thread, "%s-t", pid);
    return send_eng(L, pid, eid, PARTNERPULSE__V1__ENGAGEMENT_EVENT__DIRECTION__OUTBOUND,
                    PARTNERPULSE__V1__ENGAGEMENT_EVENT__KIND__MESSAGE, thread, NULL, false);
}

/* ---- observing ---- */

/* One pipelined round trip: HMGET events_applied updated_at_ms of every
 * pending sample's partner; the ones that reached their count are seen.
 * Returns how many were asked. */
static size_t redis_poll(lat_t *L)
{
    size_t n = L->npending < POLL_BATCH ? L->npending : POLL_BATCH;
    if (n == 0 || L->redis == NULL)
        return 0;
    for (size_t k = 0; k < n; k++)
        redisAppendCommand(L->redis, "HMGET %spartner:{%s-p%" PRIu32 "} events_applied updated_at_ms",
                           L->redis_prefix, L->run, L->samples[L->pending[k]].partner);
    int64_t now = 0;
    size_t keep = 0;
    for (size_t k = 0; k < n; k++) {
        redisReply *r = NULL;
        if (redisGetReply(L->redis, (void **)&r) != REDIS_OK || r == NULL) {
            fprintf(stderr, CMD ": Redis: %s\n", L->redis->errstr);
            L->fatal = 1;
            return n;
        }
        if (now == 0)
            now = mono_us(); /* the first reply: all of them are as of this instant */
        sample_t *s = &L->samples[L->pending[k]];
        bool seen = false;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING) {
            unsigned long long applied = strtoull(r->element[0]->str, NULL, 10);
            if (applied >= s->expect) {
                seen = true;
                s->seen_us = now;
                if (applied == s->expect && r->element[1]->type == REDIS_REPLY_STRING)
                    s->applied_ms = strtoll(r->element[1]->str, NULL, 10);
            }
        }
        freeReplyObject(r);
        if (!seen)
            L->pending[keep++] = L->pending[k];
    }
    memmove(L->pending + keep, L->pending + n, (L->npending - n) * sizeof *L->pending);
    L->npending -= n - keep;
    L->redis_polls++;
    return n;
}

/* Read what the alert topic has; match FIRING unanswered_followups alerts
 * whose evidence is a probe's tripping event. */
static void alerts_poll(lat_t *L)
{
    for (int i = 0; i < 10000; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(L->cons, 0);
        if (m == NULL)
            return;
        int64_t now = mono_us();
        if (m->err == 0) {
            Partnerpulse__V1__Alert *a = partnerpulse__v1__alert__unpack(NULL, m->len, m->payload);
            size_t rl = strlen(L->run);
            bool matched = false;
            if (a && a->status == PARTNERPULSE__V1__ALERT__STATUS__FIRING && a->n_evidence > 0 &&
                strcmp(a->rule, "unanswered_followups") == 0 && strncmp(a->evidence[0], L->run, rl) == 0 &&
                strncmp(a->evidence[0] + rl, "-q", 2) == 0) {
                char *end;
                unsigned long j = strtoul(a->evidence[0] + rl + 2, &end, 10);
                if (strcmp(end, "-3") == 0 && j < L->nprobes && L->probes[j].sent_us && !L->probes[j].seen_us) {
                    L->probes[j].seen_us = now;
                    L->probes[j].emitted_ms = a->emitted_at_ms;
                    matched = true;
                }
            }
            if (!matched)
                L->other_alerts++;
            if (a)
                partnerpulse__v1__alert__free_unpacked(a, NULL);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, CMD ": alert topic: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
}

/* ---- setup ---- */

static rd_kafka_t *kafka_open(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *const kv[][2], size_t n)
{
    char errstr[512];
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, CMD ": %s\n", errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, CMD ": %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Assign every partition of the alert topic at its current end (explicit
 * offsets: no group join, and nothing produced after this call is missed). */
static int alerts_open(lat_t *L, const char *bootstrap, const char *topic)
{
    char group[96];
    snprintf(group, sizeof group, "partnerpulse-latency-%s", L->run);
    const char *const kv[][2] = {{"bootstrap.servers", bootstrap}, {"group.id", group},
                                 {"enable.auto.commit", "false"},   {"fetch.wait.max.ms", "10"},
                                 {"fetch.error.backoff.ms", "10"},  {"log_level", "3"}};
    L->cons = kafka_open(RD_KAFKA_CONSUMER, rd_kafka_conf_new(), kv, sizeof kv / sizeof kv[0]);
    if (L->cons == NULL)
        return -1;
    rd_kafka_poll_set_consumer(L->cons);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(L->cons, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(L->cons, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        fprintf(stderr, CMD ": no alert topic %s at %s: %s (is Kafka up? partnerpulse topics?)\n", topic, bootstrap,
                rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        if (md)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np && e == 0; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(L->cons, topic, p, &lo, &hi, 10000);
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = hi;
    }
    rd_kafka_metadata_destroy(md);
    if (e == 0)
        e = rd_kafka_assign(L->cons, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        fprintf(stderr, CMD ": cannot read %s from its end: %s\n", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* ---- report ---- */

typedef struct stats {
    size_t n, seen;
    double p50, p90, p99, max;
} stats_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank value of quantile q of the n sorted values v. */
static double rank(const double *v, size_t n, double q)
{
    size_t r = (size_t)(q * (double)n + 0.999999);
    return v[r == 0 ? 0 : r > n ? n - 1 : r - 1];
}

/* Percentiles of the n values in v (sorted in place), out of total measured. */
static stats_t percentiles(double *v, size_t n, size_t total)
{
    stats_t s = {.n = total, .seen = n};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, cmp_double);
    s.p50 = rank(v, n, 0.50);
    s.p90 = rank(v, n, 0.90);
    s.p99 = rank(v, n, 0.99);
    s.max = v[n - 1];
    return s;
}

static void print_stats(const char *what, const stats_t *s)
{
    if (s->seen == 0) {
        printf("%-28s %6zu measured, none seen (%zu missing)\n", what, s->n, s->n);
        return;
    }
    printf("%-28s p50 %7.1f  p90 %7.1f  p99 %7.1f  max %7.1f ms   (%zu measured, %zu missing)\n", what, s->p50,
           s->p90, s->p99, s->max, s->seen, s->n - s->seen);
}

static json_t *stats_json(const stats_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "measured", json_integer((json_int_t)s->n));
    json_object_set_new(o, "seen", json_integer((json_int_t)s->seen));
    json_object_set_new(o, "missing", json_integer((json_int_t)(s->n - s->seen)));
    const char *k[] = {"p50_ms", "p90_ms", "p99_ms", "max_ms"};
    double v[] = {s->p50, s->p90, s->p99, s->max};
    for (int i = 0; i < 4; i++)
        json_object_set_new(o, k[i], s->seen ? json_real((double)(int64_t)(v[i] * 10 + 0.5) / 10) : json_null());
    return o;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: partnerpulse latency [options]\n"
            "Measures a running partnerpulsed (clock = live) end to end under a steady produce\n"
            "rate. Produces events as protobuf to the input topics, key = partner_id, with the\n"
            "mix of `partnerpulse gen` (3/4 engagements, deals, referrals, 1 %% lifecycle) over\n"
            "--partners fresh partners (ids RUN-pN, new to the daemon), event time = now, and\n"
            "reports p50/p90/p99/max of:\n"
            "  produce -> Redis visible  every Nth event (--samples per second): from just before\n"
            "                            the produce call until the partner hash's events_applied\n"
            "                            reaches that event's count; polled with pipelined HMGETs\n"
            "                            every --poll-ms, so the figure includes up to one poll\n"
            "  produce -> alert          probe partners (RUN-qN, --probes per second) send three\n"
            "                            messages from us on one thread the partner never answers:\n"
            "                            the third trips unanswered_followups; from just before its\n"
            "                            produce call until its FIRING alert (evidence[0] = its\n"
            "                            event_id) is read from the alert topic (read from its end)\n"
            "and, as diagnostics, produce -> applied (the hash's updated_at_ms, daemon clock, ms)\n"
            "and produce -> emitted (the alert's emitted_at_ms). After producing it waits at most\n"
            "--wait seconds for what is not seen yet; that is counted as missing. The achieved\n"
            "rate counts every event produced until the last load event, warm-up and probes\n"
            "included.\n"
            "  -b, --bootstrap HOST:PORT  Kafka (default $PP_KAFKA_BOOTSTRAP or 127.0.0.1:19092)\n"
            "  -X KEY=VALUE               any librdkafka producer property (repeatable)\n"
            "  -t, --prefix PREFIX        topic name prefix, as `partnerpulse topics -p` (default none)\n"
            "  -H, --redis-host HOST      Redis host (default $PP_REDIS_HOST or 127.0.0.1)\n"
            "  -p, --redis-port PORT      Redis port (default $PP_REDIS_PORT or 16379)\n"
            "  -P, --redis-prefix PREFIX  the daemon's key prefix (default $PP_REDIS_PREFIX or pp:)\n"
            "                             ($PP_REDIS_PASSWORD, $PP_REDIS_USER, $PP_REDIS_DB as for show)\n"
            "  -r, --rate N               events per second (default 20000)\n"
            "  -s, --seconds S            how long to produce (default 30)\n"
            "  -n, --partners N           load partners (default 20000)\n"
            "      --samples N            Redis-visible samples per second (default 200)\n"
            "      --probes N             alert probes per second (default 20; 3 events each)\n"
            "      --poll-ms MS           Redis poll interval (default 1; stretched to 0.1 ms per\n"
            "                             pending sample when many are pending)\n"
            "  -w, --wait S               after producing, wait at most this long (default 10)\n"
            "      --warmup S             produce this long at --rate first, unmeasured (default 2:\n"
            "                             a daemon's first second after start is slower)\n"
            "      --run-id ID            partner/event id prefix (default: unique per run)\n"
            "  -j, --json FILE            also write the figures as JSON to FILE\n"
            "Exit status: 0 every sample and probe seen, 3 some missing after --wait,\n"
            "1 Kafka or Redis error, 2 usage.\n");
}

/* Parse a number in [lo, hi]; -1 if it is not one. */
static int num_opt(const char *name, const char *arg, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, CMD ": --%s expects a number from %g to %g, not '%s'\n", name, lo, hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int pp_cmd_latency(int argc, char **argv)
{
    const char *bootstrap = pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    const char *redis_host = pp_cli_env("PP_REDIS_HOST", "127.0.0.1"), *json_path = NULL, *prefix = "";
    double redis_port = atoi(pp_cli_env("PP_REDIS_PORT", "16379")), rate = 20000, seconds = 30, npartners = 20000;
    double samples_s = 200, probes_s = 20, poll_ms = 1, wait_s = 10, warmup_s = 2;
    lat_t L0;
    lat_t *L = &L0;
    memset(L, 0, sizeof *L);
    L->redis_prefix = pp_cli_env("PP_REDIS_PREFIX", "pp:");
    snprintf(L->run, sizeof L->run, "lat%lx%x", (unsigned long)time(NULL) & 0xffffffUL, (unsigned)getpid() & 0xffffu);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    static const struct option opts[] = {
        {"bootstrap", required_argument, NULL, 'b'}, {"prefix", required_argument, NULL, 't'},
        {"redis-host", required_argument, NULL, 'H'}, {"redis-port", required_argument, NULL, 'p'},
        {"redis-prefix", required_argument, NULL, 'P'}, {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'}, {"partners", required_argument, NULL, 'n'},
        {"samples", required_argument, NULL, 'S'}, {"probes", required_argument, NULL, 'Q'},
        {"poll-ms", required_argument, NULL, 'i'}, {"wait", required_argument, NULL, 'w'},
        {"run-id", required_argument, NULL, 'R'}, {"json", required_argument, NULL, 'j'},
        {"warmup", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c, bad = 0;
    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "b:X:t:H:p:P:r:s:n:w:j:h", opts, NULL)) != -1) {
        char errstr[512], *eq;
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 'X':
            if ((eq = strchr(optarg, '=')) == NULL) {
                fprintf(stderr, CMD ": -X expects KEY=VALUE\n");
                bad = 1;
            } else if (*eq = '\0', rd_kafka_conf_set(conf, optarg, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, CMD ": %s\n", errstr);
                bad = 1;
            }
            break;
        case 't': prefix = optarg; break;
        case 'H': redis_host = optarg; break;
        case 'p': bad = num_opt("redis-port", optarg, 1, 65535, &redis_port); break;
        case 'P': L->redis_prefix = optarg; break;
        case 'r': bad = num_opt("rate", optarg, 1, 1000000, &rate); break;
        case 's': bad = num_opt("seconds", optarg, 0.1, 86400, &seconds); break;
        case 'n': bad = num_opt("partners", optarg, 1, 10000000, &npartners); break;
        case 'S': bad = num_opt("samples", optarg, 0, 100000, &samples_s); break;
        case 'Q': bad = num_opt("probes", optarg, 0, 10000, &probes_s); break;
        case 'i': bad = num_opt("poll-ms", optarg, 0.05, 1000, &poll_ms); break;
        case 'w': bad = num_opt("wait", optarg, 0, 3600, &wait_s); break;
        case 'W': bad = num_opt("warmup", optarg, 0, 3600, &warmup_s); break;
        case 'R':
            if (strlen(optarg) > 16 || !pp_partner_id_valid(optarg, strlen(optarg))) {
                fprintf(stderr, CMD ": --run-id takes 1-16 characters of [A-Za-z0-9._:-]\n");
                bad = 1;
            } else {
                snprintf(L->run, sizeof L->run, "%s", optarg);
            }
            break;
        case 'j': json_path = optarg; break;
        case 'h': usage(stdout); rd_kafka_conf_destroy(conf); return 0;
        default: bad = 1; break;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, CMD ": unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && samples_s > rate) {
        fprintf(stderr, CMD ": --samples (%g/s) cannot exceed --rate (%g/s)\n", samples_s, rate);
        bad = 1;
    }
    if (!bad && rate * (seconds + warmup_s) > 4e9) {
        fprintf(stderr, CMD ": --rate x --seconds is too many events (at most 4e9)\n");
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "Usage: partnerpulse latency [options] (see --help)\n");
        rd_kafka_conf_destroy(conf);
        return 2;
    }

    /* topic names */
    static const char *const base[PP_TOPIC_COUNT + 1] = {"partner.deals", "partner.referrals", "partner.engagements",
                                                         "partner.lifecycle", "partner.alerts"};
    char names[PP_TOPIC_COUNT + 1][256];
    for (int i = 0; i <= PP_TOPIC_COUNT; i++) {
        snprintf(names[i], sizeof names[i], "%s%s", prefix, base[i]);
        if (i < PP_TOPIC_COUNT)
            L->topics[i] = names[i];
    }
    pp_limits_default(&L->lim);
    uint64_t seed = (uint64_t)mono_us() ^ ((uint64_t)getpid() << 32);
    for (int i = 0; i < 4; i++)
        L->rng.s[i] = pp_splitmix64(&seed);
    L->npartners = (uint32_t)npartners;
    uint64_t total = (uint64_t)(rate * (seconds + warmup_s) + 0.5);
    /* probes run during the warm-up too: the daemon's first alert publish is slow */
    L->nprobes = (size_t)(probes_s * (seconds + warmup_s));
    uint64_t every = samples_s > 0 ? (uint64_t)(rate / samples_s) : 0;
    L->cap_samples = every ? (size_t)(total / every) + 1 : 0;
    L->partners = calloc(L->npartners + 1, sizeof *L->partners); /* + the warm-up partner */
    L->samples = calloc(L->cap_samples + 1, sizeof *L->samples);
    L->pending = calloc(L->cap_samples + 1, sizeof *L->pending);
    L->probes = calloc(L->nprobes + 1, sizeof *L->probes);
    int rc = 1;
    if (!L->partners || !L->samples || !L->pending || !L->probes) {
        fprintf(stderr, CMD ": out of memory\n");
        rd_kafka_conf_destroy(conf);
        goto out;
    }

    /* Redis, the alert topic from its end, then the producer */
    if ((L->redis = pp_cli_redis_connect(redis_host, (int)redis_port, atoi(pp_cli_env("PP_REDIS_DB", "0")))) == NULL) {
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    if (alerts_open(L, bootstrap, names[PP_TOPIC_COUNT]) != 0) {
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    const char *const pkv[][2] = {{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"},
                                  {"linger.ms", "2"}, {"log_level", "3"}};
    if ((L->prod = kafka_open(RD_KAFKA_PRODUCER, conf, pkv, sizeof pkv / sizeof pkv[0])) == NULL)
        goto out;
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Warm-up, before the clock starts: one event on each input topic (partner
     * RUN-pN), acknowledged. Else the first second's events would carry the
     * producer's start (connections, metadata, idempotence id). */
    static const int warm[] = {500, 800, 900, 995};
    for (int i = 0; i < 4 && !L->fatal; i++)
        send_load(L, L->npartners, warm[i]);
    if (L->fatal || rd_kafka_flush(L->prod, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || delivery_failed) {
        fprintf(stderr, CMD ": Kafka at %s did not acknowledge the warm-up events within 10 s\n", bootstrap);
        goto out;
    }
    L->produced = 0;
    memset(L->per_topic, 0, sizeof L->per_topic);
    fprintf(stderr,
            CMD ": run %s: %.0f events/s for %g s (+ %g s warm-up) over %" PRIu32
                " partners, %g samples/s, %g probes/s\n",
            L->run, rate, seconds, warmup_s, L->npartners, samples_s, probes_s);

    /* one loop: produce what is due, poll Redis every poll_ms, read alerts */
    int64_t t0 = mono_us(), poll_us = (int64_t)(poll_ms * 1000), next_poll = t0, end = 0, deadline = 0;
    int64_t load_end = 0; /* when the last load event went: the achieved rate is over [t0, load_end] */
    uint64_t load_produced = 0;
    int64_t probe_us = probes_s > 0 ? (int64_t)(1e6 / probes_s) : 0;
    int64_t t_measure = t0 + (int64_t)(warmup_s * 1e6); /* samples and probes from here on */
    uint64_t load = 0;
    size_t probes_started = 0, probes_tripped = 0;
    while (!L->fatal) {
        int64_t now = mono_us();
        if (end == 0) {
            uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e6);
            due = due < total ? due : total;
            for (int burst = 0; load < due && burst < 5000 && !L->fatal; burst++) {
                uint32_t pi = below(L, L->npartners);
                bool sample = every && load % every == 0 && L->nsamples < L->cap_samples && now >= t_measure;
                int64_t sent = mono_us(), sent_wall = wall_ms();
                if (send_load(L, pi, -1) == 0 && sample) {
                    sample_t *s = &L->samples[L->nsamples];
                    *s = (sample_t){.partner = pi, .expect = L->partners[pi].events, .sent_us = sent,
                                    .sent_wall_ms = sent_wall};
                    L->pending[L->npending++] = (uint32_t)L->nsamples++;
                }
                load++;
            }
            if (load >= total && load_end == 0) {
                load_end = mono_us();
                load_produced = L->produced;
            }
            while (probes_started < L->nprobes && now >= t0 + (int64_t)probes_started * probe_us) {
                probe_t *p = &L->probes[probes_started];
                send_probe(L, probes_started, 1);
                send_probe(L, probes_started, 2);
                p->due_us = mono_us() + PROBE_DELAY_US;
                probes_started++;
            }
            while (probes_tripped < probes_started && now >= L->probes[probes_tripped].due_us) {
                probe_t *p = &L->probes[probes_tripped];
                p->sent_us = mono_us();
                p->sent_wall_ms = wall_ms();
                p->measured = p->sent_us >= t_measure;
                send_probe(L, probes_tripped++, 3);
            }
            if (load >= total && probes_tripped == L->nprobes) {
                end = mono_us();
                deadline = end + (int64_t)(wait_s * 1e6);
            }
        }
        rd_kafka_poll(L->prod, 0);
        if (now >= next_poll) {
            /* every poll_ms, or less often when many samples are pending (the
             * daemon is far behind): polling must not load Redis by itself */
            int64_t spacing = (int64_t)redis_poll(L) * POLL_COST_US;
            next_poll = now + (spacing > poll_us ? spacing : poll_us);
        }
        alerts_poll(L);
        if (end) {
            size_t open = 0;
            for (size_t j = 0; j < L->nprobes; j++)
                open += L->probes[j].measured && L->probes[j].seen_us == 0;
            if ((L->npending == 0 && open == 0) || mono_us() >= deadline)
                break;
        }
        int64_t next = end ? next_poll : mono_us() + 1000;
        sleep_until_us(next < next_poll ? next : next_poll);
    }
    if (rd_kafka_flush(L->prod, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, CMD ": some events were still not acknowledged by Kafka\n");
    if (L->fatal)
        goto out;

    /* figures */
    double secs = (double)(load_end - t0) / 1e6;
    size_t nv = L->nsamples > L->nprobes ? L->nsamples : L->nprobes, na = 0, ne = 0;
    double *v = calloc(nv + 1, sizeof *v), *w = calloc(nv + 1, sizeof *w);
    if (v == NULL || w == NULL)
        abort();
    size_t n = 0;
    for (size_t k = 0; k < L->nsamples; k++) {
        const sample_t *s = &L->samples[k];
        if (s->seen_us)
            v[n++] = (double)(s->seen_us - s->sent_us) / 1000;
        if (s->applied_ms)
            w[na++] = (double)(s->applied_ms - s->sent_wall_ms);
    }
    stats_t redis_st = percentiles(v, n, L->nsamples), applied_st = percentiles(w, na, na);
    n = 0;
    size_t nprobes = 0;
    for (size_t j = 0; j < L->nprobes; j++) {
        const probe_t *p = &L->probes[j];
        nprobes += p->measured;
        if (p->measured && p->seen_us) {
            v[n++] = (double)(p->seen_us - p->sent_us) / 1000;
            w[ne++] = (double)(p->emitted_ms - p->sent_wall_ms);
        }
    }
    stats_t alert_st = percentiles(v, n, nprobes), emitted_st = percentiles(w, ne, ne);
    free(v);
    free(w);
    double achieved = secs > 0 ? (double)load_produced / secs : 0;
    printf("run %s: produced %" PRIu64 " events in %.2f s: %.0f events/s (asked %.0f/s)\n"
           "  deals=%" PRIu64 " referrals=%" PRIu64 " engagements=%" PRIu64 " lifecycle=%" PRIu64
           ", %" PRIu32 " partners + %zu probes, %lu delivery failures, %" PRIu64 " Redis polls, "
           "%" PRIu64 " other alerts read\n",
           L->run, load_produced, secs, achieved, rate, L->per_topic[0], L->per_topic[1], L->per_topic[2],
           L->per_topic[3], L->npartners, nprobes, delivery_failed, L->redis_polls, L->other_alerts);
    print_stats("produce -> Redis visible", &redis_st);
    print_stats("produce -> alert", &alert_st);
    print_stats("  (produce -> applied)", &applied_st);
    print_stats("  (produce -> emitted)", &emitted_st);
    rc = redis_st.seen < redis_st.n || alert_st.seen < alert_st.n || delivery_failed ? 3 : 0;
    if (json_path) {
        json_t *o = json_object();
        json_object_set_new(o, "run", json_string(L->run));
        json_object_set_new(o, "rate_asked", json_real(rate));
        json_object_set_new(o, "rate_achieved", json_integer((json_int_t)(achieved + 0.5)));
        json_object_set_new(o, "seconds", json_real((double)(int64_t)(secs * 1000) / 1000));
        json_object_set_new(o, "events", json_integer((json_int_t)L->produced));
        json_object_set_new(o, "samples_per_s", json_real(samples_s));
        json_object_set_new(o, "probes_per_s", json_real(probes_s));
        json_object_set_new(o, "partners", json_integer(L->npartners));
        json_object_set_new(o, "delivery_failures", json_integer((json_int_t)delivery_failed));
        json_object_set_new(o, "poll_ms", json_real(poll_ms));
        json_object_set_new(o, "warmup_s", json_real(warmup_s));
        json_object_set_new(o, "redis_visible", stats_json(&redis_st));
        json_object_set_new(o, "alert", stats_json(&alert_st));
        json_object_set_new(o, "applied", stats_json(&applied_st));
        json_object_set_new(o, "emitted", stats_json(&emitted_st));
        if (json_dump_file(o, json_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) != 0) {
            fprintf(stderr, CMD ": cannot write %s\n", json_path);
            rc = 1;
        }
        json_decref(o);
    }
out:
    if (L->prod)
        rd_kafka_destroy(L->prod);
    if (L->cons) {
        rd_kafka_consumer_close(L->cons);
        rd_kafka_destroy(L->cons);
    }
    if (L->redis)
        redisFree(L->redis);
    free(L->partners);
    free(L->samples);
    free(L->pending);
    free(L->probes);
    return rc;
}
