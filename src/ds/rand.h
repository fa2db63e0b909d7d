/* rand.h -- a small seeded PRNG (xoshiro256**).
 *
 * Command handlers must be deterministic (DESIGN rule 2), so every random
 * choice comes from a crand whose seed travels in the execution context. */
#ifndef CAIRN_RAND_H
#define CAIRN_RAND_H

#include <stdint.h>

typedef struct crand {
    uint64_t s[4];
    /* Set by crand_seed_lazy(): s[0] holds the seed, not yet expanded into
     * the state. */
    int lazy;
} crand;

void crand_seed(crand *r, uint64_t seed);
/* The same generator as crand_seed(r, seed), but the seed is expanded
 * into the state only when the first number is drawn.  Every command gets
 * a seeded PRNG in its context and few use it: this keeps the cost of
 * seeding off the commands that never draw. */
static inline void crand_seed_lazy(crand *r, uint64_t seed)
{
    r->s[0] = seed;
    r->lazy = 1;
}
uint64_t crand_next(crand *r);
/* Uniform in [0, n); n must be > 0. */
uint64_t crand_below(crand *r, uint64_t n);

#endif
