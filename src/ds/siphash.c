/* siphash.c -- SipHash-1-2 with a 64-bit result.
 *
 * SipHash (Aumasson and Bernstein) mixes a 128-bit secret key into four
 * 64-bit state words, then absorbs the input eight bytes at a time.  The
 * "1-2" variant does one SipRound per message word and two at the end:
 * weaker than SipHash-2-4 as a MAC but still a keyed PRF that resists
 * hash flooding, and about twice as fast, which is what a hash table needs
 * (Redis made the same trade).
 *
 * Words are read little-endian byte by byte, so the result is the same on
 * every host and no unaligned loads are made. */
#include "siphash.h"

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
} sip_state;

static inline void sip_round(sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = ROTL64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = ROTL64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = ROTL64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = ROTL64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = ROTL64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = ROTL64(s->v2, 32);
}

/* One compression round per message word (the "1" of 1-2). */
static inline void sip_absorb(sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
}

static inline uint64_t sip_hash(const void *in, size_t len, uint64_t k0, uint64_t k1)
{
    const uint8_t *p = in;
    /* The constants spell "somepseudorandomlygeneratedbytes". */
    sip_state s = {
        .v0 = 0x736f6d6570736575ULL ^ k0,
        .v1 = 0x646f72616e646f6dULL ^ k1,
        .v2 = 0x6c7967656e657261ULL ^ k0,
        .v3 = 0x7465646279746573ULL ^ k1,
    };

    /* Indexes rather than an end pointer: `in` may be NULL when len is 0. */
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8)
        sip_absorb(&s, load_le64(p + i));

    /* The last word holds the 0..7 leftover bytes and, in its top byte,
     * the input length mod 256, so inputs differing only by trailing
     * zero bytes hash differently. */
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = len % 8; i > 0; i--)
        b |= (uint64_t)p[whole + i - 1] << (8 * (i - 1));
    sip_absorb(&s, b);

    /* Finalization: two rounds (the "2" of 1-2). */
    s.v2 ^= 0xff;
    sip_round(&s);
    sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t siphash(const void *in, size_t len, const uint8_t key[16])
{
    return sip_hash(in, len, load_le64(key), load_le64(key + 8));
}

uint64_t siphash_words(const void *in, size_t len, uint64_t k0, uint64_t k1)
{
    return sip_hash(in, len, k0, k1);
}
