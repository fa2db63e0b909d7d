/* listpack.c -- a compact sequence of string/integer entries in one
 * allocation.  See listpack.h for the contract.
 *
 * Layout (all multi-byte numbers little-endian, independent of the host):
 *
 *   <total bytes: u32> <entry count: u32> <entry> ... <entry> <0xFF>
 *
 * An entry is <encoding + data> <backlen>.  The first byte of the
 * encoding says what follows:
 *
 *   0xxxxxxx                      integer 0..127
 *   10llllll <data>               string of 0..63 bytes
 *   110vvvvv vvvvvvvv             13-bit signed integer (-4096..4095)
 *   1110llll llllllll <data>      string of 0..4095 bytes
 *   11110000 <u32 len> <data>     string of any length
 *   11110001 <2 bytes>            16-bit signed integer
 *   11110010 <3 bytes>            24-bit signed integer
 *   11110011 <4 bytes>            32-bit signed integer
 *   11110100 <8 bytes>            64-bit signed integer
 *   11111111                      end of the listpack (never an entry)
 *
 * backlen holds the size of <encoding + data> in 1 to 5 bytes of 7 bits,
 * written so that it reads from right to left: the rightmost byte carries
 * the lowest 7 bits, and every byte but the leftmost has its high bit set
 * to say "more to the left".  So from the start of the next entry (or the
 * end marker) the previous entry is found without knowing anything else. */
#include "listpack.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "util.h"

#define LP_HDR 8
#define LP_EOF 0xFF

#define LP_ENC_STR32 0xF0
#define LP_ENC_INT16 0xF1
#define LP_ENC_INT24 0xF2
#define LP_ENC_INT32 0xF3
#define LP_ENC_INT64 0xF4

/* Longest <encoding> header of a string, and longest backlen. */
#define LP_MAX_ENC     9
#define LP_MAX_BACKLEN 5

/* ---------------------------------------------------------------------------
 * Little-endian helpers
 * ------------------------------------------------------------------------ */

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint64_t rdn(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void wrn(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* Sign-extend the low `bits` bits of v. */
static long long sext(uint64_t v, int bits)
{
    uint64_t m = 1ULL << (bits - 1);
    v &= bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    return (long long)((v ^ m) - m);
}

static void set_bytes(unsigned char *lp, size_t n) { wr32(lp, (uint32_t)n); }
static void set_count(unsigned char *lp, unsigned long n) { wr32(lp + 4, (uint32_t)n); }

size_t lp_bytes(const unsigned char *lp) { return rd32(lp); }
unsigned long lp_length(const unsigned char *lp) { return rd32(lp + 4); }

/* ---------------------------------------------------------------------------
 * Entry sizes
 * ------------------------------------------------------------------------ */

static size_t backlen_size(size_t l)
{
    if (l < 128) return 1;
    if (l < 16384) return 2;
    if (l < (1UL << 21)) return 3;
    if (l < (1UL << 28)) return 4;
    return 5;
}

/* Write the backlen of an element of l bytes at p; returns its size. */
static size_t backlen_write(unsigned char *p, size_t l)
{
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) {
        /* Group i (lowest bits first) goes i bytes left of the rightmost;
         * every byte but the leftmost says "more to the left". */
        unsigned char b = (unsigned char)(l & 127);
        l >>= 7;
        if (i + 1 < n) b |= 128;
        p[n - 1 - i] = b;
    }
    return n;
}

/* Read a backlen that ends just before p (p points past its last byte).
 * Returns the element size; *blen is set to the backlen's own size. */
static size_t backlen_read(const unsigned char *p, size_t *blen)
{
    size_t v = 0, n = 0;
    int shift = 0;
    for (;;) {
        unsigned char b = *--p;
        v |= (size_t)(b & 127) << shift;
        shift += 7;
        n++;
        if (!(b & 128) || n == LP_MAX_BACKLEN) break;
    }
    if (blen) *blen = n;
    return v;
}

/* Size of the <encoding + data> part of the entry at p. */
static size_t elem_size(const unsigned char *p)
{
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    if (b < 0xC0) return 1 + (size_t)(b & 0x3F);
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 2 + (((size_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case LP_ENC_STR32: return 5 + (size_t)rd32(p + 1);
    case LP_ENC_INT16: return 3;
    case LP_ENC_INT24: return 4;
    case LP_ENC_INT32: return 5;
    case LP_ENC_INT64: return 9;
    default: return 0; /* end marker or invalid */
    }
}

static size_t entry_size(const unsigned char *p)
{
    size_t l = elem_size(p);
    return l + backlen_size(l);
}

/* ---------------------------------------------------------------------------
 * Encoding a new entry
 * ------------------------------------------------------------------------ */

/* An entry to be written: an encoding header (enc, enclen) followed by
 * datalen bytes from data (strings only), then the backlen. */
typedef struct lp_enc {
    unsigned char enc[LP_MAX_ENC];
    size_t enclen;
    const unsigned char *data;
    size_t datalen;
    unsigned char back[LP_MAX_BACKLEN];
    size_t backlen;
} lp_enc;

static size_t enc_total(const lp_enc *e) { return e->enclen + e->datalen + e->backlen; }

static void enc_finish(lp_enc *e) { e->backlen = backlen_write(e->back, e->enclen + e->datalen); }

static void enc_int(lp_enc *e, long long v)
{
    e->data = NULL;
    e->datalen = 0;
    if (v >= 0 && v <= 127) {
        e->enc[0] = (unsigned char)v;
        e->enclen = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t u = (uint64_t)v & 0x1FFF;
        e->enc[0] = (unsigned char)(0xC0 | (u >> 8));
        e->enc[1] = (unsigned char)(u & 0xFF);
        e->enclen = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        e->enc[0] = LP_ENC_INT16;
        wrn(e->enc + 1, (uint64_t)v, 2);
        e->enclen = 3;
    } else if (v >= -(1LL << 23) && v < (1LL << 23)) {
        e->enc[0] = LP_ENC_INT24;
        wrn(e->enc + 1, (uint64_t)v, 3);
        e->enclen = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        e->enc[0] = LP_ENC_INT32;
        wrn(e->enc + 1, (uint64_t)v, 4);
        e->enclen = 5;
    } else {
        e->enc[0] = LP_ENC_INT64;
        wrn(e->enc + 1, (uint64_t)v, 8);
        e->enclen = 9;
    }
    enc_finish(e);
}

static void enc_str(lp_enc *e, const char *s, size_t len)
{
    long long v;
    if (str_to_ll(s, len, &v)) {
        enc_int(e, v);
        return;
    }
    e->data = (const unsigned char *)s;
    e->datalen = len;
    if (len < 64) {
        e->enc[0] = (unsigned char)(0x80 | len);
        e->enclen = 1;
    } else if (len < 4096) {
        e->enc[0] = (unsigned char)(0xE0 | (len >> 8));
        e->enc[1] = (unsigned char)(len & 0xFF);
        e->enclen = 2;
    } else {
        e->enc[0] = LP_ENC_STR32;
        wr32(e->enc + 1, (uint32_t)len);
        e->enclen = 5;
    }
    enc_finish(e);
}

static void enc_write(unsigned char *p, const lp_enc *e)
{
    memcpy(p, e->enc, e->enclen);
    p += e->enclen;
    if (e->datalen) memcpy(p, e->data, e->datalen);
    p += e->datalen;
    memcpy(p, e->back, e->backlen);
}

/* ---------------------------------------------------------------------------
 * Creation and walking
 * ------------------------------------------------------------------------ */

unsigned char *lp_new(size_t capacity)
{
    size_t n = capacity > LP_HDR + 1 ? capacity : LP_HDR + 1;
    unsigned char *lp = cm_malloc(n);
    set_bytes(lp, LP_HDR + 1);
    set_count(lp, 0);
    lp[LP_HDR] = LP_EOF;
    return lp;
}

void lp_free(unsigned char *lp) { cm_free(lp); }

unsigned char *lp_first(unsigned char *lp)
{
    unsigned char *p = lp + LP_HDR;
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_last(unsigned char *lp)
{
    unsigned char *end = lp + lp_bytes(lp) - 1;
    if (end == lp + LP_HDR) return NULL;
    return lp_prev(lp, end);
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += entry_size(p);
    return *p == LP_EOF ? NULL : p;
}

/* p may also be the end marker: then the last entry is returned. */
unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
    if (p <= lp + LP_HDR) return NULL;
    size_t blen;
    size_t l = backlen_read(p, &blen);
    return p - blen - l;
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
    unsigned long n = lp_length(lp);
    if (index < 0) {
        if ((unsigned long)(-(index + 1)) >= n) return NULL;
        index = (long)n + index;
    }
    if ((unsigned long)index >= n) return NULL;
    if ((unsigned long)index < n / 2) {
        unsigned char *p = lp + LP_HDR;
        for (long i = 0; i < index; i++)
            p += entry_size(p);
        return p;
    }
    unsigned char *p = lp + lp_bytes(lp) - 1;
    for (unsigned long i = n; i > (unsigned long)index; i--)
        p = lp_prev(lp, p);
    return p;
}

void lp_get(const unsigned char *p, lp_value *v)
{
    unsigned char b = p[0];
    v->str = NULL;
    v->len = 0;
    v->ll = 0;
    if (b < 0x80) {
        v->ll = b;
    } else if (b < 0xC0) {
        v->str = p + 1;
        v->len = b & 0x3F;
    } else if (b < 0xE0) {
        v->ll = sext(((uint64_t)(b & 0x1F) << 8) | p[1], 13);
    } else if (b < 0xF0) {
        v->str = p + 2;
        v->len = ((size_t)(b & 0x0F) << 8) | p[1];
    } else {
        switch (b) {
        case LP_ENC_STR32:
            v->str = p + 5;
            v->len = rd32(p + 1);
            break;
        case LP_ENC_INT16: v->ll = sext(rdn(p + 1, 2), 16); break;
        case LP_ENC_INT24: v->ll = sext(rdn(p + 1, 3), 24); break;
        case LP_ENC_INT32: v->ll = sext(rdn(p + 1, 4), 32); break;
        case LP_ENC_INT64: v->ll = (long long)rdn(p + 1, 8); break;
        default: break;
        }
    }
}

const char *lp_value_str(const lp_value *v, char *buf, size_t *len)
{
    if (v->str) {
        *len = v->len;
        return (const char *)v->str;
    }
    *len = (size_t)ll_to_str(buf, 21, v->ll);
    return buf;
}

/* Compare the entry at p with s, where (s_is_int, s_ll) says whether s
 * reads as an integer and which. */
static int entry_eq(const unsigned char *p, const char *s, size_t len, int s_is_int, long long s_ll)
{
    lp_value v;
    lp_get(p, &v);
    if (v.str) return v.len == len && (len == 0 || memcmp(v.str, s, len) == 0);
    /* An integer entry formats to a canonical integer string, so it can
     * only equal a string that itself reads as that integer. */
    return s_is_int && v.ll == s_ll;
}

int lp_equals(const unsigned char *p, const char *s, size_t len)
{
    lp_value v;
    lp_get(p, &v);
    if (v.str) return v.len == len && (len == 0 || memcmp(v.str, s, len) == 0);
    /* Only an integer entry needs s parsed (see entry_eq()). */
    long long ll;
    return str_to_ll(s, len, &ll) && v.ll == ll;
}

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
                       unsigned skip)
{
    (void)lp;
    long long ll = 0;
    int is_int = str_to_ll(s, len, &ll);
    unsigned skipped = 0;
    while (p && *p != LP_EOF) {
        if (skipped == 0) {
            if (entry_eq(p, s, len, is_int, ll)) return p;
            skipped = skip;
        } else {
            skipped--;
        }
        p += entry_size(p);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Changing
 * ------------------------------------------------------------------------ */

/* Replace the `oldlen` bytes at offset `off` by the entry e (or nothing if
 * e is NULL), adjusting the count by `dcount`.  Returns the new listpack. */
static unsigned char *splice(unsigned char *lp, size_t off, size_t oldlen, const lp_enc *e,
                             long dcount)
{
    size_t total = lp_bytes(lp);
    size_t newlen = e ? enc_total(e) : 0;
    size_t ntotal = total - oldlen + newlen;
    size_t tail = total - off - oldlen;
    if (newlen > oldlen) {
        lp = cm_realloc(lp, ntotal);
        memmove(lp + off + newlen, lp + off + oldlen, tail);
    } else if (newlen < oldlen) {
        memmove(lp + off + newlen, lp + off + oldlen, tail);
        lp = cm_realloc(lp, ntotal);
    }
    if (e) enc_write(lp + off, e);
    set_bytes(lp, ntotal);
    set_count(lp, (unsigned long)((long)lp_length(lp) + dcount));
    return lp;
}

/* If s points into lp, it would move with a realloc: take a copy.
 * Returns the copy (to be freed) or NULL. */
static char *detach(const unsigned char *lp, const char **s, size_t len)
{
    uintptr_t a = (uintptr_t)lp, b = (uintptr_t)*s;
    if (len == 0 || b < a || b >= a + lp_bytes(lp)) return NULL;
    char *copy = cm_memdup(*s, len);
    *s = copy;
    return copy;
}

unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where, const char *s, size_t len,
                         unsigned char **newp)
{
    char *copy = detach(lp, &s, len);
    lp_enc e;
    enc_str(&e, s, len);
    size_t off;
    if (!p)
        off = lp_bytes(lp) - 1;
    else
        off = (size_t)(p - lp) + (where == LP_AFTER ? entry_size(p) : 0);
    lp = splice(lp, off, 0, &e, 1);
    if (newp) *newp = lp + off;
    cm_free(copy);
    return lp;
}

unsigned char *lp_append(unsigned char *lp, const char *s, size_t len)
{
    return lp_insert(lp, NULL, LP_AFTER, s, len, NULL);
}

unsigned char *lp_prepend(unsigned char *lp, const char *s, size_t len)
{
    char *copy = detach(lp, &s, len);
    lp_enc e;
    enc_str(&e, s, len);
    lp = splice(lp, LP_HDR, 0, &e, 1);
    cm_free(copy);
    return lp;
}

unsigned char *lp_append_int(unsigned char *lp, long long v)
{
    lp_enc e;
    enc_int(&e, v);
    return splice(lp, lp_bytes(lp) - 1, 0, &e, 1);
}

/* Elements encoded per pass of lp_append_many(): a stream entry fits in one. */
#define LP_MANY_CHUNK 32

unsigned char *lp_append_many(unsigned char *lp, const lp_item *items, size_t n)
{
    lp_enc enc[LP_MANY_CHUNK];
    while (n) {
        size_t k = n < LP_MANY_CHUNK ? n : LP_MANY_CHUNK, add = 0;
        for (size_t i = 0; i < k; i++) {
            if (items[i].str)
                enc_str(&enc[i], items[i].str, items[i].len);
            else
                enc_int(&enc[i], items[i].ll);
            add += enc_total(&enc[i]);
        }
        size_t total = lp_bytes(lp), ntotal = total + add;
        /* The allocator's size class often has room already: appending
         * then costs no reallocation and no copy. */
        if (ntotal > cm_usable_size(lp)) lp = cm_realloc(lp, ntotal);
        unsigned char *w = lp + total - 1; /* over the end marker */
        for (size_t i = 0; i < k; i++) {
            enc_write(w, &enc[i]);
            w += enc_total(&enc[i]);
        }
        *w = LP_EOF;
        set_bytes(lp, ntotal);
        set_count(lp, lp_length(lp) + k);
        items += k;
        n -= k;
    }
    return lp;
}

unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v)
{
    lp_enc e;
    enc_int(&e, v);
    if (enc_total(&e) == entry_size(*p)) {
        enc_write(*p, &e);
        return lp;
    }
    size_t off = (size_t)(*p - lp);
    lp = splice(lp, off, entry_size(*p), &e, 0);
    *p = lp + off;
    return lp;
}

unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const char *s, size_t len)
{
    char *copy = detach(lp, &s, len);
    lp_enc e;
    enc_str(&e, s, len);
    size_t off = (size_t)(*p - lp);
    lp = splice(lp, off, entry_size(*p), &e, 0);
    *p = lp + off;
    cm_free(copy);
    return lp;
}

unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **next)
{
    size_t off = (size_t)(p - lp);
    lp = splice(lp, off, entry_size(p), NULL, -1);
    if (next) *next = lp[off] == LP_EOF ? NULL : lp + off;
    return lp;
}

unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long count)
{
    unsigned char *p = lp_seek(lp, index);
    if (!p || count == 0) return lp;
    size_t off = (size_t)(p - lp);
    unsigned char *q = p;
    unsigned long n = 0;
    while (n < count && *q != LP_EOF) {
        q += entry_size(q);
        n++;
    }
    return splice(lp, off, (size_t)(q - p), NULL, -(long)n);
}

/* ---------------------------------------------------------------------------
 * Validation of untrusted blobs
 * ------------------------------------------------------------------------ */

long lp_validate_entries(const unsigned char *lp, size_t bytes)
{
    if (!lp || bytes < LP_HDR + 1) return -1;
    if (rd32(lp) != bytes) return -1;
    if (lp[bytes - 1] != LP_EOF) return -1;
    long n = 0;
    const unsigned char *p = lp + LP_HDR, *end = lp + bytes - 1;
    while (p < end) {
        size_t avail = (size_t)(end - p);
        unsigned char b = p[0];
        size_t hdr;
        if (b < 0xC0)
            hdr = 1;
        else if (b < 0xF0)
            hdr = 2;
        else if (b == LP_ENC_STR32 || b == LP_ENC_INT32)
            hdr = 5;
        else if (b == LP_ENC_INT16)
            hdr = 3;
        else if (b == LP_ENC_INT24)
            hdr = 4;
        else if (b == LP_ENC_INT64)
            hdr = 9;
        else
            return -1; /* end marker before the end, or an unknown encoding */
        if (hdr > avail) return -1;
        size_t l = elem_size(p);
        if (l < hdr || l > avail) return -1;
        size_t bl = backlen_size(l);
        if (bl > avail - l) return -1;
        unsigned char want[LP_MAX_BACKLEN];
        backlen_write(want, l);
        if (memcmp(p + l, want, bl) != 0) return -1;
        p += l + bl;
        n++;
    }
    return p == end ? n : -1;
}

int lp_validate(const unsigned char *lp, size_t bytes)
{
    long n = lp_validate_entries(lp, bytes);
    return n >= 0 && (unsigned long)n == rd32(lp + 4);
}
