/*
 * format_bench: what the per-topic input format costs plain protobuf, the
 * daemon's hot path (consumers/pp_format.h). Decodes the same plain protobuf
 * engagement and deal messages --calls times with pp_event_decode alone
 * (--via event) or through pp_format_decode on an `auto` topic (--via
 * format), and prints the time per message and a digest of the results (the
 * same for both: the framing changes nothing about the event).
 *
 * Seconds on a shared machine are noisy; instructions are not:
 *
 *   valgrind --tool=callgrind --toggle-collect=pp_event_decode \
 *       build/release/bench/format_bench --via event
 *   valgrind --tool=callgrind --toggle-collect=pp_format_decode \
 *       build/release/bench/format_bench --via format
 *   total Ir / --calls = instructions per message (inclusive)
 *
 * Exit status: 0 ran, 2 usage error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partnerpulse.pb-c.h"
#include "pp_format.h"

#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define N_MSG 64

int main(int argc, char **argv)
{
    long calls = 200000;
    int via_format = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
            calls = atol(argv[++i]);
        } else if (strcmp(argv[i], "--via") == 0 && i + 1 < argc) {
            i++;
            via_format = strcmp(argv[i], "format") == 0;
            if (!via_format && strcmp(argv[i], "event") != 0)
                goto usage;
        } else {
            goto usage;
        }
    }
    if (calls <= 0)
        goto usage;

    /* half engagements, half deals, ids of realistic lengths */
    static uint8_t bufs[N_MSG][256];
    static size_t lens[N_MSG];
    static pp_topic_t topics[N_MSG];
    char eid[64], pid[32], tid[32];
    for (int i = 0; i < N_MSG; i++) {
        snprintf(eid, sizeof eid, "mail-%08x-%d", (unsigned)(i * 2654435761u), i);
        snprintf(pid, sizeof pid, "p%04d-partner", i % 13);
        snprintf(tid, sizeof tid, "thr-%d", i % 7);
        if (i % 2) {
            Partnerpulse__V1__EngagementEvent m = PARTNERPULSE__V1__ENGAGEMENT_EVENT__INIT;
            m.event_id = eid, m.partner_id = pid, m.occurred_at_ms = NOW_MS - i * 1000;
            m.thread_id = tid, m.direction = 1 + i % 2, m.kind = 1;
            lens[i] = partnerpulse__v1__engagement_event__pack(&m, bufs[i]);
            topics[i] = PP_TOPIC_ENGAGEMENTS;
        } else {
            Partnerpulse__V1__DealEvent m = PARTNERPULSE__V1__DEAL_EVENT__INIT;
            m.event_id = eid, m.partner_id = pid, m.occurred_at_ms = NOW_MS - i * 1000;
            m.deal_id = tid, m.stage = 1 + i % 5, m.attribution = 1, m.amount_minor = 100000 + i;
            static char usd[] = "USD";
            m.currency = usd;
            lens[i] = partnerpulse__v1__deal_event__pack(&m, bufs[i]);
            topics[i] = PP_TOPIC_DEALS;
        }
    }
    pp_limits_t lim;
    pp_limits_default(&lim);
    const pp_format_conf_t fc = {.format = PP_FORMAT_AUTO};
    uint64_t digest = 1469598103934665603ULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long c = 0; c < calls; c++) {
        int i = (int)(c % N_MSG);
        pp_event_t ev;
        char why[200];
        pp_reject_t r = via_format ? pp_format_decode(&fc, topics[i], bufs[i], lens[i], NULL, 0, &lim, NOW_MS, &ev,
                                                      NULL, why, sizeof why)
                                   : pp_event_decode(topics[i], bufs[i], lens[i], NULL, 0, &lim, NOW_MS, &ev, why,
                                                     sizeof why);
        digest = (digest ^ (uint64_t)r ^ (uint64_t)ev.occurred_at_ms ^ pp_hash_str(ev.event_id)) * 1099511628211ULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)calls;
    printf("via=%s calls=%ld ns_per_message=%.1f digest=%016" PRIx64 "\n", via_format ? "format" : "event", calls,
           ns, digest);
    return 0;
usage:
    fprintf(stderr, "usage: format_bench [--via event|format] [--calls N]\n");
    return 2;
}
