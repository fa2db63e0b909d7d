/* intset.h -- a sorted array of distinct integers in one allocation, using
 * the smallest element width (16, 32 or 64 bits) that fits every member
 * (the encoding of small sets of integers). */
#ifndef CAIRN_INTSET_H
#define CAIRN_INTSET_H

#include <stddef.h>
#include <stdint.h>

#include "rand.h"

typedef struct intset {
    uint32_t encoding; /* bytes per element: 2, 4 or 8 (little-endian) */
    uint32_t length;   /* little-endian: read it with intset_len() */
    int8_t contents[];
} intset;

intset *intset_new(void);
void intset_free(intset *is);
/* Add v; *added is 1 if it was not there.  May move the set. */
intset *intset_add(intset *is, int64_t v, int *added);
/* Remove v; *removed is 1 if it was there.  May move the set. */
intset *intset_remove(intset *is, int64_t v, int *removed);
int intset_find(const intset *is, int64_t v);
/* The element at position pos (0 <= pos < length), in ascending order. */
int64_t intset_get(const intset *is, uint32_t pos);
int64_t intset_random(const intset *is, crand *r);
/* The header fields are stored little-endian like the contents, so read
 * the length byte by byte (a plain load on little-endian hosts). */
static inline uint32_t intset_len(const intset *is)
{
    const uint8_t *b = (const uint8_t *)&is->length;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
size_t intset_bytes(const intset *is);
/* Check an intset of `bytes` bytes read from outside: 1 if sound. */
int intset_validate(const intset *is, size_t bytes);

#endif
