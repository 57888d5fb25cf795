/*
 * `partnerpulse topics`: create the partnerpulse topics with librdkafka's
 * admin API (fast, no JVM), idempotently. Used by tests to give each run its
 * own topics, and by operators on a new cluster.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "pp_cli.h"

int pp_cmd_topics(int argc, char **argv)
{
    const char *bootstrap = pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    const char *prefix = "";
    int partitions = 6, replication = 1;
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {"partitions", required_argument, NULL, 'n'},
                                         {"replication", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:p:n:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 'p': prefix = optarg; break;
        case 'n': partitions = atoi(optarg); break;
        case 'r': replication = atoi(optarg); break;
        case 'h':
            printf("Usage: partnerpulse topics [options]\n"
                   "Creates PREFIXpartner.{deals,referrals,engagements,lifecycle,alerts,dlq}\n"
                   "(existing topics are left alone).\n"
                   "  -b, --bootstrap HOST:PORT  Kafka (default $PP_KAFKA_BOOTSTRAP or 127.0.0.1:19092)\n"
                   "  -p, --prefix PREFIX        prepended to each topic name (default none)\n"
                   "  -n, --partitions N         partitions per topic (default 6)\n"
                   "  -r, --replication N        replication factor (default 1)\n");
            return 0;
        default:
            fprintf(stderr, "Usage: partnerpulse topics [options] (see --help)\n");
            return 2;
        }
    }
    if (partitions < 1 || replication < 1) {
        fprintf(stderr, "partnerpulse topics: --partitions and --replication must be >= 1\n");
        return 2;
    }
    static const char *const names[] = {"partner.deals", "partner.referrals", "partner.engagements",
                                        "partner.lifecycle", "partner.alerts", "partner.dlq"};
    enum { N = sizeof names / sizeof names[0] };
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "partnerpulse topics: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_NewTopic_t *nt[N];
    char full[N][256];
    for (int i = 0; i < N; i++) {
        snprintf(full[i], sizeof full[i], "%s%s", prefix, names[i]);
        nt[i] = rd_kafka_NewTopic_new(full[i], partitions, replication, errstr, sizeof errstr);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 30000, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(ao, 30000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, nt, N, ao, q);
    int rc = 0;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 35000);
    if (ev == NULL) {
        fprintf(stderr, "partnerpulse topics: no answer from Kafka at %s within 35 s\n", bootstrap);
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "partnerpulse topics: %s\n", rd_kafka_event_error_string(ev));
        rc = 1;
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                printf("created %s (%d partitions)\n", rd_kafka_topic_result_name(res[i]), partitions);
            else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                printf("exists  %s\n", rd_kafka_topic_result_name(res[i]));
            else {
                fprintf(stderr, "partnerpulse topics: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy_array(nt, N);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}
