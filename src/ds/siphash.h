/* siphash.h -- SipHash-1-2, the keyed hash behind every dict.
 *
 * Keyed with a per-process random seed so that clients cannot choose keys
 * that all collide (hash flooding); this is why Redis uses SipHash too. */
#ifndef CAIRN_SIPHASH_H
#define CAIRN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash(const void *in, size_t len, const uint8_t key[16]);
/* The same with the key given as its two little-endian words (k0 from
 * bytes 0-7): for callers whose key is itself a hash. */
uint64_t siphash_words(const void *in, size_t len, uint64_t k0, uint64_t k1);

#endif
