/*
 * `partnerpulse drain`: the ceiling. A bare librdkafka consumer that reads
 * the input topics from the earliest offset and discards every message,
 * until it has reached the end of every partition; it prints messages/s.
 * The benchmark (deploy/bench/run) compares partnerpulsed with it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "pp_cli.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pp_cmd_drain(int argc, char **argv)
{
    const char *bootstrap = pp_cli_env("PP_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    const char *prefix = "";
    double timeout_s = 600;
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:p:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 'p': prefix = optarg; break;
        case 'T': timeout_s = atof(optarg); break;
        case 'h':
            printf("Usage: partnerpulse drain [options]\n"
                   "Reads PREFIXpartner.{deals,referrals,engagements,lifecycle} from the earliest\n"
                   "offset, discards everything, stops at the end of every partition and prints\n"
                   "messages/s: the rate a bare consumer reaches (the benchmark's ceiling).\n"
                   "  -b, --bootstrap HOST:PORT  Kafka (default $PP_KAFKA_BOOTSTRAP or 127.0.0.1:19092)\n"
                   "  -p, --prefix PREFIX        topic name prefix (default none)\n"
                   "  -T, --timeout SECONDS      give up after this long (default 600)\n");
            return 0;
        default: fprintf(stderr, "Usage: partnerpulse drain [options] (see --help)\n"); return 2;
        }
    }
    char errstr[512], group[96];
    snprintf(group, sizeof group, "partnerpulse-drain-%ld-%d", (long)time(NULL), (int)getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bootstrap}, {"group.id", group}, {"enable.auto.commit", "false"},
                           {"auto.offset.reset", "earliest"}, {"enable.partition.eof", "true"},
                           {"partition.assignment.strategy", "range"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "partnerpulse drain: %s\n", errstr);
            rd_kafka_conf_destroy(conf);
            return 2;
        }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "partnerpulse drain: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    static const char *const names[] = {"partner.deals", "partner.referrals", "partner.engagements",
                                        "partner.lifecycle"};
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(4);
    char full[4][256];
    for (int i = 0; i < 4; i++) {
        snprintf(full[i], sizeof full[i], "%s%s", prefix, names[i]);
        rd_kafka_topic_partition_list_add(subs, full[i], RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);

    uint64_t msgs = 0, bytes = 0;
    int assigned = 0, at_end = 0;
    double t0 = 0, t_last = 0, start = now_s();
    char seen_end[4096];
    memset(seen_end, 0, sizeof seen_end);
    while (now_s() - start < timeout_s) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* one flag per (topic, partition); ends may be reported again */
            int ti = 0;
            for (int i = 0; i < 4; i++)
                if (strcmp(rd_kafka_topic_name(m->rkt), full[i]) == 0)
                    ti = i;
            int idx = ti * 1024 + (m->partition & 1023);
            if (!seen_end[idx]) {
                seen_end[idx] = 1;
                at_end++;
            }
        } else if (m->err == 0) {
            if (t0 == 0)
                t0 = now_s();
            msgs++;
            bytes += m->len;
            t_last = now_s();
        }
        rd_kafka_message_destroy(m);
        if (assigned == 0) {
            rd_kafka_topic_partition_list_t *l = NULL;
            if (rd_kafka_assignment(rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                assigned = l->cnt;
                rd_kafka_topic_partition_list_destroy(l);
            }
        }
        if (assigned > 0 && at_end >= assigned)
            break;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    double secs = t_last > t0 ? t_last - t0 : 0;
    printf("{\"messages\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"seconds\": %.3f, \"messages_per_s\": %.0f, "
           "\"partitions\": %d, \"complete\": %s}\n",
           msgs, bytes, secs, secs > 0 ? (double)msgs / secs : 0, assigned,
           assigned > 0 && at_end >= assigned ? "true" : "false");
    return assigned > 0 && at_end >= assigned ? 0 : 1;
}
