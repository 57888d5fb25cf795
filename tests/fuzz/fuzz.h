/*
 * fuzz.h: what the fuzz targets and the replay driver share.
 *
 * Every target in this folder defines LLVMFuzzerTestOneInput. It is linked
 * either with libFuzzer (clang, -fsanitize=fuzzer) to search for new inputs,
 * or with replay.c (any compiler) to run the checked-in corpus under ctest.
 *
 * A target states its invariants with PP_FUZZ_CHECK, not assert(): release
 * builds define NDEBUG, and the corpus must be checked in every build.
 * A violated invariant prints where and why, then aborts, which libFuzzer
 * reports as a crash and ctest as a failed test.
 */
#ifndef PP_FUZZ_H
#define PP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run one input. Returns 0 (libFuzzer reserves other values); aborts on a bug. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PP_FUZZ_CHECK(cond)                                                                    \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* Fixed processing time of every fuzz run (2026-01-01T00:00:00Z): inputs replay identically. */
#define PP_FUZZ_NOW_MS 1767225600000LL

/*
 * Message size limit used by the event targets. Smaller than the daemon's
 * default (64 KiB) so that libFuzzer's default -max_len (4096) and a small
 * corpus file reach the oversize path.
 */
#define PP_FUZZ_MAX_MESSAGE_BYTES 4096

/*
 * Ids shared by the state blob seeds (make_corpus.c) and the events the
 * state_blob target applies to a decoded state: the seeds hold an open deal
 * and a thread awaiting the partner under these ids, so the applied events
 * take the update and reply paths, not only the "new" ones.
 */
#define PP_FUZZ_DEAL_ID "deal-1"
#define PP_FUZZ_THREAD_ID "th-1"

/*
 * Layout of an event target's input (also written by make_corpus.c):
 *   byte 0 < PP_FUZZ_KEY_MODE: no Kafka key; the rest is the payload. On
 *     success the target re-decodes with the right and a wrong key.
 *   byte 0 >= PP_FUZZ_KEY_MODE: the next (byte0 - PP_FUZZ_KEY_MODE) bytes
 *     (at most 63) are the key, the rest is the payload.
 *   empty input: NULL payload, no key.
 */
#define PP_FUZZ_KEY_MODE 0xC0u

#endif
