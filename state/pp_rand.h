/*
 * pp_rand: a small deterministic PRNG (splitmix64 seeding, xoshiro256**)
 * shared by the synthetic stream generator and the benchmarks, so a seed
 * means the same stream everywhere. Not for anything secret.
 */
#ifndef PP_RAND_H
#define PP_RAND_H

#include <stdint.h>

typedef struct pp_rand {
    uint64_t s[4];
} pp_rand_t;

/* Advance *x and return the next splitmix64 output (seeding helper). */
static inline uint64_t pp_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t pp_rotl64(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

/* Next xoshiro256** output. */
static inline uint64_t pp_rand_next(pp_rand_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = pp_rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = pp_rotl64(s[3], 45);
    return out;
}

#endif
