/*
 * `partnerpulse alerts`: tail the alert topic readably.
 * `partnerpulse snooze`: snooze a partner's rule (a SNOOZE lifecycle event,
 * so it goes through the same ordered, exactly-once path as everything else
 * and a replay reproduces it).
 */
#define _DEFAULT_SOURCE /* timegm */
#define _XOPEN_SOURCE 700 /* strptime */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "partnerpulse.pb-c.h"
#include "pp_cli.h"
#include "pp_policy.h"

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_time(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

static void print_alert(const Partnerpulse__V1__Alert *a, bool as_json)
{
    if (as_json) {
        json_t *o = pp_message_to_json(&a->base);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    char t[32];
    fmt_time(a->event_time_ms, t, sizeof t);
    const ProtobufCEnumValue *sev =
        protobuf_c_enum_descriptor_get_value(&partnerpulse__v1__alert__severity__descriptor, (int)a->severity);
    const ProtobufCEnumValue *st =
        protobuf_c_enum_descriptor_get_value(&partnerpulse__v1__alert__status__descriptor, (int)a->status);
    printf("%s  %-8s %-8s %-22s %-20s health %5.1f  %s  [%.12s]\n", t, st ? st->name : "?", sev ? sev->name : "?",
           a->partner_id, a->rule, a->health, a->message, a->alert_id);
}

/* Consume `topic` from its end (or beginning) and hand each message to fn,
 * until count messages, idle_s seconds without one, or Ctrl-C. */
typedef void (*tail_fn)(void *ctx, const rd_kafka_message_t *m);

static int tail_topic(const char *cmd, const char *bootstrap, const char *topic, bool from_beginning, long count,
                      double idle_s, tail_fn fn, void *ctx)
{
    char errstr[512], group[96];
    snprintf(group, sizeof group, "partnerpulse-%s-%ld-%d", cmd, (long)time(NULL), (int)getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest", errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "partnerpulse %s: %s\n", cmd, errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "partnerpulse %s: %s\n", cmd, errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        fprintf(stderr, "partnerpulse %s: subscribe %s: %s\n", cmd, topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return 1;
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    long seen = 0;
    int64_t last = now_ms();
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (!stop && (count < 0 || seen < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m == NULL) {
            if (idle_s >= 0 && now_ms() - last > (int64_t)(idle_s * 1000))
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "partnerpulse %s: %s\n", cmd, rd_kafka_message_errstr(m));
        } else {
            fn(ctx, m);
            seen++;
            last = now_ms();
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

typedef struct tail_opts {
    const char *bootstrap, *topic;
    bool from_beginning, as_json;
    long count;
    double idle_s;
} tail_opts_t;

/* Options shared by alerts and dlq. Returns -1 to go on, else an exit code. */
static int parse_tail_opts(const char *cmd, const char *what, int argc, char **argv, tail_opts_t *o)
{
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"from-beginning", no_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"idle-exit", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:t:fjn:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bootstrap = optarg; break;
        case 't': o->topic = optarg; break;
        case 'f': o->from_beginning = true; break;
        case 'j': o->as_json = true; break;
        case 'n': o->count = atol(optarg); break;
        case 'i': o->idle_s = atof(optarg); break;
        case 'h':
            printf("Usage: partnerpulse %s [options]\n"
                   "Prints %s as they arrive (Ctrl-C stops).\n"
                   "  -b, --bootstrap HOST:PORT  Kafka (default $PP_KAFKA_BOOTSTRAP or 127.0.0.1:19092)\n"
                   "  -t, --topic NAME           topic (default %s)\n"
                   "  -f, --from-beginning       start with the oldest message kept, not new ones\n"
                   "  -j, --json                 one JSON object per message\n"
                   "  -n, --count N              exit after N messages\n"
                   "  -i, --idle-exit SECONDS    exit when nothing came for this long\n",
                   cmd, what, o->topic);
            return 0;
        default: fprintf(stderr, "Usage: partnerpulse %s [options] (see --help)\n", cmd); return 2;
        }
    }
    return -1;
}

static void on_alert(void *ctx, const rd_kafka_message_t *m)
{
    const tail_opts_t *o = ctx;
    Partnerpulse__V1__Alert *a = partnerpulse__v1__alert__unpack(NULL, m->len, m->payload);
    if (a == NULL) {
        fprintf(stderr, "partnerpulse alerts: offset %" PRId64 " is not an Alert\n", m->offset);
        return;
    }
    print_alert(a, o->as_json);
    partnerpulse__v1__alert__free_unpacked(a, NULL);
}

int pp_cmd_alerts(int argc, char **argv)
{
    tail_opts_t o = {pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092"), "partner.alerts", false, false, -1, -1};
    int rc = parse_tail_opts("alerts", "alerts from the alert topic", argc, argv, &o);
    if (rc >= 0)
        return rc;
    return tail_topic("alerts", o.bootstrap, o.topic, o.from_beginning, o.count, o.idle_s, on_alert, &o);
}

static void on_dlq(void *ctx, const rd_kafka_message_t *m)
{
    const tail_opts_t *o = ctx;
    static const char *const names[] = {"pp-reason", "pp-error", "pp-source-topic", "pp-source-partition",
                                        "pp-source-offset"};
    char vals[5][512];
    rd_kafka_headers_t *h = NULL;
    for (int i = 0; i < 5; i++) {
        vals[i][0] = '\0';
        const void *v;
        size_t sz;
        if (h == NULL && rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
            h = NULL;
        if (h && rd_kafka_header_get_last(h, names[i], &v, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR)
            snprintf(vals[i], sizeof vals[i], "%.*s", (int)(sz < 511 ? sz : 511), (const char *)v);
    }
    char key[160];
    snprintf(key, sizeof key, "%.*s", (int)(m->key_len < 128 ? m->key_len : 128), m->key ? (const char *)m->key : "");
    if (o->as_json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "reason", vals[0], "error", vals[1],
                              "source_topic", vals[2], "source_partition", vals[3], "source_offset", vals[4],
                              "key", key, "bytes", (json_int_t)m->len);
        char *out = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (out)
            printf("%s\n", out);
        free(out);
        json_decref(j);
    } else {
        printf("%-14s %s[%s]@%s key=%s %zu bytes: %s\n", vals[0], vals[2], vals[3], vals[4], key, m->len, vals[1]);
    }
}

int pp_cmd_dlq(int argc, char **argv)
{
    tail_opts_t o = {pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092"), "partner.dlq", false, false, -1, -1};
    int rc = parse_tail_opts("dlq", "rejected messages from the dead-letter topic with their reasons", argc, argv, &o);
    if (rc >= 0)
        return rc;
    return tail_topic("dlq", o.bootstrap, o.topic, o.from_beginning, o.count, o.idle_s, on_dlq, &o);
}

/* "30m", "12h", "3d" -> ms; -1 if malformed. */
static int64_t parse_duration(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    double unit = strcmp(end, "s") == 0 ? 1e3 : strcmp(end, "m") == 0 ? 6e4 : strcmp(end, "h") == 0 ? 3.6e6
                  : strcmp(end, "d") == 0 ? 8.64e7 : -1;
    return unit < 0 ? -1 : (int64_t)(v * unit);
}

/* "2026-12-01T09:00:00Z" (UTC) or Unix ms -> ms; -1 if malformed. */
static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end != NULL && (*end == '\0' || strcmp(end, "Z") == 0)) {
        time_t t = timegm(&tm);
        return (int64_t)t * 1000;
    }
    char *e2;
    long long ms = strtoll(s, &e2, 10);
    return *e2 == '\0' && ms > 0 ? ms : -1;
}

int pp_cmd_snooze(int argc, char **argv)
{
    const char *bootstrap = pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    const char *topic = "partner.lifecycle";
    int64_t until = 0;
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"for", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:t:u:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 't': topic = optarg; break;
        case 'u':
            if ((until = parse_time(optarg)) < 0) {
                fprintf(stderr, "partnerpulse snooze: --until takes YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix ms\n");
                return 2;
            }
            break;
        case 'f': {
            int64_t d = parse_duration(optarg);
            if (d < 0) {
                fprintf(stderr, "partnerpulse snooze: --for takes a duration like 30m, 12h or 3d\n");
                return 2;
            }
            until = now_ms() + d;
            break;
        }
        case 'h':
            printf("Usage: partnerpulse snooze [options] PARTNER_ID RULE\n"
                   "Stops publishing RULE's alerts for the partner until a time, or (default)\n"
                   "until the current/next episode clears. Alerts are still recorded on the\n"
                   "pp:alerts stream. Rules: see docs/alerts.md.\n"
                   "  -u, --until TIME    YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix ms (event time)\n"
                   "  -f, --for DURATION  e.g. 30m, 12h, 3d from now\n"
                   "  -b, --bootstrap HOST:PORT, -t, --topic NAME (default partner.lifecycle)\n");
            return 0;
        default: fprintf(stderr, "Usage: partnerpulse snooze [options] PARTNER_ID RULE (see --help)\n"); return 2;
        }
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "Usage: partnerpulse snooze [options] PARTNER_ID RULE (see --help)\n");
        return 2;
    }
    const char *partner = argv[optind], *rule = argv[optind + 1];
    bool known = false;
    for (int r = 0; r < PP_R_COUNT; r++)
        known = known || strcmp(rule, pp_rule_name((pp_rule_t)r)) == 0;
    if (!known) {
        fprintf(stderr, "partnerpulse snooze: unknown rule '%s' (one of:", rule);
        for (int r = 0; r < PP_R_COUNT; r++)
            fprintf(stderr, " %s", pp_rule_name((pp_rule_t)r));
        fprintf(stderr, ")\n");
        return 2;
    }
    if (!pp_partner_id_valid(partner, strlen(partner))) {
        fprintf(stderr, "partnerpulse snooze: '%s' is not a valid partner id\n", partner);
        return 2;
    }
    char event_id[96];
    int64_t now = now_ms();
    snprintf(event_id, sizeof event_id, "snooze-%" PRId64 "-%d", now, (int)getpid());
    Partnerpulse__V1__PartnerEvent m = PARTNERPULSE__V1__PARTNER_EVENT__INIT;
    m.event_id = event_id;
    m.partner_id = (char *)partner;
    m.occurred_at_ms = now;
    m.kind = PARTNERPULSE__V1__PARTNER_EVENT__KIND__SNOOZE;
    m.snooze_rule = (char *)rule;
    m.snooze_until_ms = until;
    uint8_t buf[1024];
    size_t n = partnerpulse__v1__partner_event__pack(&m, buf);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "partnerpulse snooze: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_KEY((void *)partner, strlen(partner)),
                                              RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END);
    int rc = 0;
    if (e || rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "partnerpulse snooze: could not deliver to %s at %s\n", topic, bootstrap);
        rc = 1;
    } else if (until) {
        char t[32];
        fmt_time(until, t, sizeof t);
        printf("snoozed %s %s until %s UTC\n", partner, rule, t);
    } else {
        printf("snoozed %s %s until it clears\n", partner, rule);
    }
    rd_kafka_destroy(rk);
    return rc;
}
