/* rand.h -- a small seeded PRNG (xoshiro256**).
 *
 * Command handlers must be deterministic (DESIGN rule 2), so every random
 * choice comes from a crand whose seed travels in the execution context. */
#ifndef CAIRN_RAND_H
#define CAIRN_RAND_H

#include <stdint.h>

typedef struct crand {
    uint64_t s[4];
} crand;

void crand_seed(crand *r, uint64_t seed);
uint64_t crand_next(crand *r);
/* Uniform in [0, n); n must be > 0. */
uint64_t crand_below(crand *r, uint64_t n);

#endif
