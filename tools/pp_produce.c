/*
 * `partnerpulse produce`: JSON lines -> protobuf on the right topic, key =
 * partner_id. Each line is validated with the daemon's own decoder
 * (pp_event_decode) unless --no-validate is given (for DLQ tests); a bad line
 * is reported with its number and reason and skipped, the rest go on.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "partnerpulse.pb-c.h"
#include "pp_cli.h"

#define LINE_MAX_BYTES (1024 * 1024)

static unsigned long delivery_failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (delivery_failed++ < 5)
            fprintf(stderr, "partnerpulse produce: delivery to %s failed: %s\n",
                    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: partnerpulse produce [options] [FILE|-]\n"
            "Reads events as JSON lines (docs/events.md) and produces them as protobuf,\n"
            "key = partner_id, to the topic of their \"type\" (deal, referral, engagement, partner).\n"
            "  -b, --bootstrap HOST:PORT  Kafka (default $PP_KAFKA_BOOTSTRAP or 127.0.0.1:19092)\n"
            "  -X KEY=VALUE               any librdkafka producer property (repeatable)\n"
            "  -t, --topic TYPE=NAME      topic for an event type (default partner.deals,\n"
            "                             partner.referrals, partner.engagements, partner.lifecycle)\n"
            "      --no-validate          send lines that the daemon would reject (DLQ tests)\n"
            "      --raw                  lines are 'TYPE KEY HEXBYTES': send the bytes as they are\n"
            "  -q, --quiet                no summary\n"
            "Exit status: 0 all lines produced, 3 some lines rejected, 1 Kafka error, 2 usage.\n");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pp_cmd_produce(int argc, char **argv)
{
    const char *bootstrap = pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    const char *topics[PP_TOPIC_COUNT] = {"partner.deals", "partner.referrals", "partner.engagements",
                                          "partner.lifecycle"};
    bool validate = true, quiet = false, raw = false;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"no-validate", no_argument, NULL, 'n'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:X:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 'X': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL) {
                fprintf(stderr, "partnerpulse produce: -X expects KEY=VALUE\n");
                rd_kafka_conf_destroy(conf);
                return 2;
            }
            *eq = '\0';
            if (rd_kafka_conf_set(conf, optarg, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "partnerpulse produce: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
            }
            break;
        }
        case 't': {
            char *eq = strchr(optarg, '=');
            pp_topic_t t;
            const ProtobufCMessageDescriptor *d;
            if (eq == NULL || (*eq = '\0', pp_json_type(optarg, &t, &d)) != 0) {
                fprintf(stderr, "partnerpulse produce: --topic expects TYPE=NAME with TYPE one of "
                                "deal, referral, engagement, partner\n");
                rd_kafka_conf_destroy(conf);
                return 2;
            }
            topics[t] = eq + 1;
            break;
        }
        case 'n': validate = false; break;
        case 'r': raw = true; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); rd_kafka_conf_destroy(conf); return 0;
        default: usage(stderr); rd_kafka_conf_destroy(conf); return 2;
        }
    }
    const char *path = optind < argc ? argv[optind] : "-";
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "partnerpulse produce: cannot open %s: %s\n", path, strerror(errno));
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "linger.ms", "20", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr); /* transient broker-start warnings are noise here */
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "partnerpulse produce: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        if (in != stdin)
            fclose(in);
        return 1;
    }
    /* conf now owned by rk */

    pp_limits_t lim;
    pp_limits_default(&lim);
    char *line = malloc(LINE_MAX_BYTES);
    size_t cap = 4096;
    uint8_t *buf = malloc(cap);
    unsigned long lineno = 0, produced = 0, rejected = 0, per[PP_TOPIC_COUNT] = {0};
    int rc = 0;
    while (line && buf && fgets(line, LINE_MAX_BYTES, in) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == LINE_MAX_BYTES - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "line %lu: longer than %d bytes, skipped\n", lineno, LINE_MAX_BYTES);
            rejected++;
            int ch;
            while ((ch = fgetc(in)) != EOF && ch != '\n')
                ;
            continue;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (raw) {
            /* TYPE KEY HEX */
            char type[32], key[256];
            int used = 0;
            pp_topic_t t;
            const ProtobufCMessageDescriptor *dd;
            if (sscanf(p, "%31s %255s %n", type, key, &used) != 2 || pp_json_type(type, &t, &dd) != 0) {
                fprintf(stderr, "line %lu: --raw lines are 'TYPE KEY HEXBYTES'\n", lineno);
                rejected++;
                continue;
            }
            size_t nb = 0;
            const char *h = p + used;
            while (h[0] && h[1] && h[0] != '\n' && nb < cap) {
                unsigned v;
                if (sscanf(h, "%2x", &v) != 1)
                    break;
                buf[nb++] = (uint8_t)v;
                h += 2;
            }
            rd_kafka_resp_err_t e;
            do {
                e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topics[t]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, nb), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(rk, 50);
            } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
            if (e) {
                fprintf(stderr, "line %lu: produce failed: %s\n", lineno, rd_kafka_err2str(e));
                rejected++;
            } else {
                produced++;
                per[t]++;
            }
            continue;
        }
        char err[512] = "";
        json_t *obj = NULL;
        uint8_t *pb = NULL;
        size_t n = 0;
        pp_topic_t topic = PP_TOPIC_DEALS;
        /* the daemon's own JSON reading (consumers/pp_json.h): same parse rules, same mapping */
        if (pp_json_parse(line, strlen(line), &obj, err, sizeof err) == PP_OK &&
            pp_json_pack_event(obj, PP_TOPIC_COUNT, &topic, &pb, &n, err, sizeof err) == PP_OK) {
            const char *pid = json_string_value(json_object_get(obj, "partner_id"));
            pp_event_t ev;
            char why[256];
            pp_reject_t r = validate ? pp_event_decode(topic, pb, n, NULL, 0, &lim, now_ms(), &ev, why, sizeof why)
                                     : PP_OK;
            if (r != PP_OK) {
                snprintf(err, sizeof err, "%s", why);
            } else {
                rd_kafka_resp_err_t e;
                do {
                    e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topics[topic]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                          RD_KAFKA_V_KEY((void *)(pid ? pid : ""), pid ? strlen(pid) : 0),
                                          RD_KAFKA_V_VALUE(pb, n), RD_KAFKA_V_END);
                    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        rd_kafka_poll(rk, 50);
                } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (e) {
                    snprintf(err, sizeof err, "produce failed: %s", rd_kafka_err2str(e));
                } else {
                    produced++;
                    per[topic]++;
                }
            }
        }
        if (err[0]) {
            fprintf(stderr, "line %lu: %s\n", lineno, err);
            rejected++;
        }
        free(pb);
        json_decref(obj);
        rd_kafka_poll(rk, 0);
    }
    if (in != stdin)
        fclose(in);
    free(line);
    free(buf);
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "partnerpulse produce: timed out waiting for Kafka at %s to acknowledge "
                        "(is the broker up? deploy/local/up)\n", bootstrap);
        rc = 1;
    }
    if (delivery_failed) {
        fprintf(stderr, "partnerpulse produce: %lu messages were not delivered\n", delivery_failed);
        rc = 1;
    }
    rd_kafka_destroy(rk);
    if (!quiet)
        fprintf(stderr,
                "produced %lu events (deals=%lu referrals=%lu engagements=%lu lifecycle=%lu), "
                "%lu lines rejected\n",
                produced - delivery_failed, per[0], per[1], per[2], per[3], rejected);
    if (rc == 0 && rejected)
        rc = 3;
    return rc;
}
