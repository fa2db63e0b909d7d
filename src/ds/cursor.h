/* cursor.h -- the reverse-binary scan cursor shared by dict and htab.
 *
 * The cursor is a bucket index whose bits are incremented from the most
 * significant end ("reverse binary").  With table size 2^n, the buckets
 * visited after bucket b are exactly those that in a table of 2^m buckets
 * (m > n) would be expansions of buckets not yet visited, and vice versa
 * when shrinking, so a resize between calls never makes the scan skip a
 * bucket it has not yet covered (it may return some elements twice). */
#ifndef CAIRN_CURSOR_H
#define CAIRN_CURSOR_H

#include <stdint.h>

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & UINT64_C(0x5555555555555555)) | ((v & UINT64_C(0x5555555555555555)) << 1);
    v = ((v >> 2) & UINT64_C(0x3333333333333333)) | ((v & UINT64_C(0x3333333333333333)) << 2);
    v = ((v >> 4) & UINT64_C(0x0F0F0F0F0F0F0F0F)) | ((v & UINT64_C(0x0F0F0F0F0F0F0F0F)) << 4);
    v = ((v >> 8) & UINT64_C(0x00FF00FF00FF00FF)) | ((v & UINT64_C(0x00FF00FF00FF00FF)) << 8);
    v = ((v >> 16) & UINT64_C(0x0000FFFF0000FFFF)) | ((v & UINT64_C(0x0000FFFF0000FFFF)) << 16);
    return (v >> 32) | (v << 32);
}

/* Increment the cursor's bits covered by mask, starting from the top. */
static inline uint64_t cursor_next(uint64_t v, uint64_t mask)
{
    v |= ~mask; /* so the carry runs straight through the unmasked bits */
    v = rev64(v);
    v++;
    return rev64(v);
}

#endif
