/* intset.c -- a sorted array of distinct integers in one allocation.  See
 * intset.h.
 *
 * The header (encoding, length) and every element are stored little-endian
 * whatever the host, so an intset can be written to a snapshot as bytes and
 * read back on any machine.  The element width is the smallest of 2, 4 or
 * 8 bytes that holds every member; adding a value that does not fit
 * upgrades the whole set (widths never shrink, as in Redis). */
#include "intset.h"

#include <string.h>

#include "alloc.h"

static uint32_t rd32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint32_t enc_of(const intset *is) { return rd32(&is->encoding); }
static void set_len(intset *is, uint32_t n) { wr32(&is->length, n); }

/* The width an element v needs. */
static uint32_t width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t get_enc(const intset *is, uint32_t pos, uint32_t enc)
{
    const uint8_t *p = (const uint8_t *)is->contents + (size_t)pos * enc;
    uint64_t v = 0;
    for (int i = (int)enc - 1; i >= 0; i--)
        v = v << 8 | p[i];
    switch (enc) {
    case 2: return (int16_t)(uint16_t)v;
    case 4: return (int32_t)(uint32_t)v;
    default: return (int64_t)v;
    }
}

static void set_enc(intset *is, uint32_t pos, int64_t value, uint32_t enc)
{
    uint8_t *p = (uint8_t *)is->contents + (size_t)pos * enc;
    uint64_t v = (uint64_t)value;
    for (uint32_t i = 0; i < enc; i++) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

intset *intset_new(void)
{
    intset *is = cm_malloc(sizeof(intset));
    wr32(&is->encoding, 2);
    set_len(is, 0);
    return is;
}

void intset_free(intset *is) { cm_free(is); }

size_t intset_bytes(const intset *is)
{
    return sizeof(intset) + (size_t)intset_len(is) * enc_of(is);
}

static intset *resize(intset *is, uint32_t len, uint32_t enc)
{
    return cm_realloc(is, sizeof(intset) + (size_t)len * enc);
}

/* Binary search: 1 and *pos = index if found, else 0 and *pos = where v
 * would be inserted. */
static int search(const intset *is, int64_t v, uint32_t *pos)
{
    uint32_t enc = enc_of(is), lo = 0, hi = intset_len(is);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_enc(is, mid, enc);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

/* Widen every element to fit v, then add v, which is out of the old range
 * and so goes at one end. */
static intset *upgrade_and_add(intset *is, int64_t v)
{
    uint32_t old = enc_of(is), enc = width_for(v), len = intset_len(is);
    int prepend = v < 0;
    is = resize(is, len + 1, enc);
    /* Walk from the end so no element is overwritten before it is read. */
    for (uint32_t i = len; i-- > 0;)
        set_enc(is, i + (uint32_t)prepend, get_enc(is, i, old), enc);
    wr32(&is->encoding, enc);
    set_enc(is, prepend ? 0 : len, v, enc);
    set_len(is, len + 1);
    return is;
}

intset *intset_add(intset *is, int64_t v, int *added)
{
    if (added) *added = 0;
    uint32_t enc = enc_of(is);
    if (width_for(v) > enc) {
        if (added) *added = 1;
        return upgrade_and_add(is, v);
    }
    uint32_t pos, len = intset_len(is);
    if (search(is, v, &pos)) return is;
    is = resize(is, len + 1, enc);
    uint8_t *base = (uint8_t *)is->contents;
    if (pos < len)
        memmove(base + (size_t)(pos + 1) * enc, base + (size_t)pos * enc,
                (size_t)(len - pos) * enc);
    set_enc(is, pos, v, enc);
    set_len(is, len + 1);
    if (added) *added = 1;
    return is;
}

intset *intset_remove(intset *is, int64_t v, int *removed)
{
    if (removed) *removed = 0;
    uint32_t enc = enc_of(is), pos, len = intset_len(is);
    if (width_for(v) > enc || !search(is, v, &pos)) return is;
    uint8_t *base = (uint8_t *)is->contents;
    memmove(base + (size_t)pos * enc, base + (size_t)(pos + 1) * enc,
            (size_t)(len - pos - 1) * enc);
    set_len(is, len - 1);
    if (removed) *removed = 1;
    return resize(is, len - 1, enc);
}

int intset_find(const intset *is, int64_t v)
{
    uint32_t pos;
    return width_for(v) <= enc_of(is) && search(is, v, &pos);
}

int64_t intset_get(const intset *is, uint32_t pos) { return get_enc(is, pos, enc_of(is)); }

int64_t intset_random(const intset *is, crand *r)
{
    return get_enc(is, (uint32_t)crand_below(r, intset_len(is)), enc_of(is));
}

int intset_validate(const intset *is, size_t bytes)
{
    if (!is || bytes < sizeof(intset)) return 0;
    uint32_t enc = enc_of(is);
    if (enc != 2 && enc != 4 && enc != 8) return 0;
    uint32_t len = intset_len(is);
    if ((bytes - sizeof(intset)) / enc < len) return 0;
    if (sizeof(intset) + (size_t)len * enc != bytes) return 0;
    /* Strictly ascending, which also means distinct. */
    for (uint32_t i = 1; i < len; i++)
        if (get_enc(is, i - 1, enc) >= get_enc(is, i, enc)) return 0;
    return 1;
}
