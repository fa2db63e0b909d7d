/* t_hll.c -- HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
 *
 * The value is a string in exactly Redis's format, so that a HyperLogLog
 * copied with GET/SET counts the same in Cairn and in Redis, and the same
 * additions give the same bytes:
 *
 *   "HYLL"  encoding (0 dense, 1 sparse)  3 zero bytes  cached cardinality
 *   (8 bytes little endian; the top bit of the last one set = stale)
 *   then the 16384 6-bit registers: packed LSB first (dense, 12288 bytes),
 *   or run-length coded (sparse):
 *     00xxxxxx            ZERO   x+1 registers at 0 (1..64)
 *     01xxxxxx yyyyyyyy   XZERO  (x << 8 | y) + 1 registers at 0 (1..16384)
 *     1vvvvvxx            VAL    xx+1 registers (1..4) at vvvvv+1 (1..32)
 *
 * A value needing a register above 32, or a sparse form longer than
 * hll-sparse-max-bytes, turns dense.  Elements are hashed with
 * MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the register, the
 * run of zeros above them (plus one) is the candidate value.  The estimate
 * is Ertl's improved estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017) over the histogram of register values, as
 * Redis 7.0 computes it, so counts equal Redis's for the same inputs.
 *
 * Every command is deterministic; PFCOUNT of one key stores the estimate
 * it computed in the cache (as Redis does) and is then logged as itself. */
#include <endian.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "t_string.h"

#define HLL_P          14
#define HLL_Q          (64 - HLL_P)
#define HLL_REGISTERS  (1 << HLL_P)
#define HLL_P_MASK     (HLL_REGISTERS - 1)
#define HLL_BITS       6
#define HLL_REG_MAX    ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE   16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_ENC_OFF    4
#define HLL_CARD_OFF   8
#define HLL_DENSE      0
#define HLL_SPARSE     1
#define HLL_HASH_SEED  0xadc83b19ULL
#define HLL_ALPHA_INF  0.721347520444481703680 /* 1 / (2 ln 2) */

#define SPARSE_VAL_MAX_VALUE 32
#define SPARSE_VAL_MAX_LEN   4
#define SPARSE_ZERO_MAX_LEN  64
#define SPARSE_XZERO_MAX_LEN 16384

#define ERR_INVALID_HLL  "INVALIDOBJ Corrupted HLL object detected"
#define ERR_NOT_HLL      "WRONGTYPE Key is not a valid HyperLogLog string value."
#define HLL_SPARSE_EMPTY 18 /* header and one XZERO of every register */

/* ------------------------------------------------------------------ */
/* Hashing                                                              */
/* ------------------------------------------------------------------ */

/* MurmurHash64A, reading the input as little-endian words whatever the
 * host's byte order. */
static uint64_t murmur64a(const unsigned char *p, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    size_t nwords = len / 8;
    for (size_t i = 0; i < nwords; i++, p += 8) {
        uint64_t k;
        memcpy(&k, p, sizeof(k));
        k = le64toh(k);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t rest = len & 7;
    if (rest) {
        for (size_t b = rest; b > 0; b--)
            h ^= (uint64_t)p[b - 1] << (8 * (b - 1));
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register an element goes to, and the value it offers: the length
 * of the run of zero bits above the index bits, plus one (1..Q+1). */
static unsigned hll_pattern(const char *ele, size_t len, unsigned *index)
{
    uint64_t h = murmur64a((const unsigned char *)ele, len, HLL_HASH_SEED);
    *index = (unsigned)(h & HLL_P_MASK);
    h >>= HLL_P;
    h |= (uint64_t)1 << HLL_Q; /* the run ends at bit Q at the latest */
    return (unsigned)__builtin_ctzll(h) + 1;
}

/* ------------------------------------------------------------------ */
/* The dense encoding                                                   */
/* ------------------------------------------------------------------ */

static unsigned dense_get(const uint8_t *regs, unsigned i)
{
    unsigned bit = i * HLL_BITS, byte = bit >> 3, fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & HLL_REG_MAX;
}

static void dense_set(uint8_t *regs, unsigned i, unsigned val)
{
    unsigned bit = i * HLL_BITS, byte = bit >> 3, fb = bit & 7;
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REG_MAX << fb)) | (val << fb));
    if (fb > 8 - HLL_BITS) {
        unsigned hi = 8 - fb;
        regs[byte + 1] = (uint8_t)((regs[byte + 1] & ~((unsigned)HLL_REG_MAX >> hi)) | (val >> hi));
    }
}

/* Raise register i to val if it is lower; returns 1 if it changed. */
static int dense_raise(uint8_t *regs, unsigned i, unsigned val)
{
    if (dense_get(regs, i) >= val) return 0;
    dense_set(regs, i, val);
    return 1;
}

/* Four registers from three bytes, the unit of the dense walks below. */
#define DENSE_UNPACK4(r, v)                                                                        \
    do {                                                                                           \
        (v)[0] = (r)[0] & 63u;                                                                     \
        (v)[1] = ((r)[0] >> 6 | (unsigned)(r)[1] << 2) & 63u;                                      \
        (v)[2] = ((r)[1] >> 4 | (unsigned)(r)[2] << 4) & 63u;                                      \
        (v)[3] = (r)[2] >> 2;                                                                      \
    } while (0)

static void dense_histo(const uint8_t *regs, int *histo)
{
    for (unsigned j = 0; j < HLL_REGISTERS / 4; j++, regs += 3) {
        unsigned v[4];
        DENSE_UNPACK4(regs, v);
        histo[v[0]]++;
        histo[v[1]]++;
        histo[v[2]]++;
        histo[v[3]]++;
    }
}

/* ------------------------------------------------------------------ */
/* The sparse encoding                                                  */
/* ------------------------------------------------------------------ */

static inline int sp_is_zero(const uint8_t *p) { return (*p & 0xc0) == 0; }
static inline int sp_is_xzero(const uint8_t *p) { return (*p & 0xc0) == 0x40; }
static inline int sp_is_val(const uint8_t *p) { return (*p & 0x80) != 0; }
static inline unsigned sp_zero_len(const uint8_t *p) { return (*p & 0x3fu) + 1; }
static inline unsigned sp_xzero_len(const uint8_t *p) { return ((*p & 0x3fu) << 8 | p[1]) + 1; }
static inline unsigned sp_val_value(const uint8_t *p) { return ((*p >> 2) & 0x1fu) + 1; }
static inline unsigned sp_val_len(const uint8_t *p) { return (*p & 0x3u) + 1; }
static inline void sp_set_val(uint8_t *p, unsigned val, unsigned len)
{
    *p = (uint8_t)(((val - 1) << 2 | (len - 1)) | 0x80);
}
/* A run of len zero registers as ZERO or XZERO; returns its size. */
static inline int sp_put_zeros(uint8_t *p, unsigned len)
{
    if (len <= SPARSE_ZERO_MAX_LEN) {
        *p = (uint8_t)(len - 1);
        return 1;
    }
    p[0] = (uint8_t)(((len - 1) >> 8) | 0x40);
    p[1] = (uint8_t)((len - 1) & 0xff);
    return 2;
}

/* Call visit(priv, first, runlen, value) for each run of the sparse
 * opcodes p[0..len).  Returns 0 if they cover exactly the 16384
 * registers, else -1 (a corrupted value). */
typedef void sparse_visit_fn(void *priv, unsigned first, unsigned runlen, unsigned value);

static int sparse_walk(const uint8_t *p, size_t len, sparse_visit_fn *visit, void *priv)
{
    const uint8_t *end = p + len;
    unsigned idx = 0;
    while (p < end) {
        unsigned runlen, value = 0;
        if (sp_is_zero(p)) {
            runlen = sp_zero_len(p++);
        } else if (sp_is_xzero(p)) {
            if (p + 1 >= end) return -1;
            runlen = sp_xzero_len(p);
            p += 2;
        } else {
            runlen = sp_val_len(p);
            value = sp_val_value(p++);
        }
        if (idx + runlen > HLL_REGISTERS) return -1;
        visit(priv, idx, runlen, value);
        idx += runlen;
    }
    return idx == HLL_REGISTERS ? 0 : -1;
}

static void visit_histo(void *priv, unsigned first, unsigned runlen, unsigned value)
{
    (void)first;
    ((int *)priv)[value] += (int)runlen;
}

static void visit_dense(void *priv, unsigned first, unsigned runlen, unsigned value)
{
    if (!value) return;
    for (unsigned i = first; i < first + runlen; i++)
        dense_set(priv, i, value);
}

static void visit_max(void *priv, unsigned first, unsigned runlen, unsigned value)
{
    uint8_t *max = priv;
    for (unsigned i = first; i < first + runlen; i++)
        if (value > max[i]) max[i] = (uint8_t)value;
}

/* The dense form of the sparse value s (header kept, cache included), or
 * NULL if s is corrupted. */
static dstr sparse_to_dense(const dstr s)
{
    dstr d = dstr_grow_zero(dstr_with_cap(HLL_DENSE_SIZE), HLL_DENSE_SIZE);
    memcpy(d, s, HLL_HDR_SIZE);
    d[HLL_ENC_OFF] = HLL_DENSE;
    if (sparse_walk((const uint8_t *)s + HLL_HDR_SIZE, dstr_len(s) - HLL_HDR_SIZE, visit_dense,
                    d + HLL_HDR_SIZE) < 0) {
        dstr_free(d);
        return NULL;
    }
    return d;
}

/* Merge adjacent VAL opcodes of equal value that fit one opcode, looking
 * at up to five opcodes from p on.  Returns the new length of the
 * opcodes. */
static size_t sparse_merge_vals(uint8_t *p, uint8_t *end)
{
    uint8_t *start = p;
    for (int scan = 5; p < end && scan--;) {
        if (sp_is_xzero(p)) {
            p += 2;
            continue;
        }
        if (sp_is_zero(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && sp_is_val(p + 1) && sp_val_value(p) == sp_val_value(p + 1)) {
            unsigned len = sp_val_len(p) + sp_val_len(p + 1);
            if (len <= SPARSE_VAL_MAX_LEN) {
                sp_set_val(p + 1, sp_val_value(p), len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                continue; /* the merged one may merge with the next */
            }
        }
        p++;
    }
    return (size_t)(end - start);
}

/* Raise register index to count in the HLL value at *sp (sparse),
 * converting it to dense when the sparse form cannot hold the result.
 * Returns 1 if a register changed, 0 if not, -1 if the value is
 * corrupted.  *sp may move. */
static int sparse_raise(cmd_call *c, dstr *sp, unsigned index, unsigned count)
{
    dstr s = *sp;
    if (count > SPARSE_VAL_MAX_VALUE) goto promote;

    uint8_t *base = (uint8_t *)s + HLL_HDR_SIZE;
    uint8_t *end = (uint8_t *)s + dstr_len(s);
    uint8_t *p = base, *prev = NULL;
    unsigned first = 0, span = 0;
    /* Find the opcode that covers index. */
    while (p < end) {
        unsigned oplen = 1;
        if (sp_is_zero(p)) {
            span = sp_zero_len(p);
        } else if (sp_is_val(p)) {
            span = sp_val_len(p);
        } else {
            if (p + 1 >= end) return -1;
            span = sp_xzero_len(p);
            oplen = 2;
        }
        if (index <= first + span - 1) break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end) return -1;

    int is_val = sp_is_val(p), is_xzero = sp_is_xzero(p);
    if (is_val) {
        if (sp_val_value(p) >= count) return 0;
        if (span == 1) {
            sp_set_val(p, count, 1);
            goto updated;
        }
    } else if (!is_xzero && span == 1) {
        sp_set_val(p, count, 1);
        goto updated;
    }

    /* Split the opcode into up to three: what precedes index, index
     * itself, what follows (XZERO VAL XZERO at worst: 5 bytes). */
    uint8_t seq[5];
    int n = 0;
    unsigned last = first + span - 1;
    if (is_val) {
        unsigned cur = sp_val_value(p);
        if (index != first) sp_set_val(&seq[n++], cur, index - first);
        sp_set_val(&seq[n++], count, 1);
        if (index != last) sp_set_val(&seq[n++], cur, last - index);
    } else {
        if (index != first) n += sp_put_zeros(&seq[n], index - first);
        sp_set_val(&seq[n++], count, 1);
        if (index != last) n += sp_put_zeros(&seq[n], last - index);
    }
    int oldlen = is_xzero ? 2 : 1;
    int delta = n - oldlen;
    size_t len = dstr_len(s);
    if (delta > 0 && (long long)(len + (size_t)delta) > c->e->cfg.hll_sparse_max_bytes)
        goto promote;
    if (delta > 0 && dstr_cap(s) - len < (size_t)delta) {
        size_t off_p = (size_t)(p - (uint8_t *)s),
               off_prev = prev ? (size_t)(prev - (uint8_t *)s) : 0;
        s = dstr_reserve(s, (size_t)delta);
        *sp = s;
        p = (uint8_t *)s + off_p;
        prev = prev ? (uint8_t *)s + off_prev : NULL;
        base = (uint8_t *)s + HLL_HDR_SIZE;
        end = (uint8_t *)s + len;
    }
    uint8_t *next = p + oldlen;
    if (delta) memmove(next + delta, next, (size_t)(end - next));
    memcpy(p, seq, (size_t)n);
    end += delta;
    dstr_set_len(s, len + (size_t)delta);

updated:
    p = prev ? prev : base;
    dstr_set_len(s, (size_t)(p - (uint8_t *)s) + sparse_merge_vals(p, end));
    s[HLL_CARD_OFF + 7] |= (char)0x80;
    return 1;

promote:;
    dstr d = sparse_to_dense(s);
    if (!d) return -1;
    dstr_free(s);
    *sp = d;
    dense_raise((uint8_t *)d + HLL_HDR_SIZE, index, count);
    return 1;
}

/* Raise register index to count in the stored HLL value *sp, whatever its
 * encoding.  Returns 1 if it changed, 0 if not, -1 if corrupted. */
static int hll_raise(cmd_call *c, dstr *sp, unsigned index, unsigned count)
{
    if ((*sp)[HLL_ENC_OFF] == HLL_DENSE)
        return dense_raise((uint8_t *)*sp + HLL_HDR_SIZE, index, count);
    return sparse_raise(c, sp, index, count);
}

/* ------------------------------------------------------------------ */
/* The estimator                                                        */
/* ------------------------------------------------------------------ */

static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double z_prev, y = 1, z = x;
    do {
        x *= x;
        z_prev = z;
        z += x * y;
        y += y;
    } while (z_prev != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double z_prev, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        z_prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (z_prev != z);
    return z / 3;
}

/* The cardinality estimate from the histogram of register values. */
static uint64_t hll_estimate(const int *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

/* The histogram of registers given one byte each (a merge result). */
static void raw_histo(const uint8_t *regs, int *histo)
{
    for (unsigned i = 0; i < HLL_REGISTERS; i += 8) {
        uint64_t w;
        memcpy(&w, regs + i, sizeof(w));
        if (w == 0) {
            histo[0] += 8;
            continue;
        }
        for (unsigned k = 0; k < 8; k++)
            histo[regs[i + k]]++;
    }
}

/* The estimate of a valid HLL value (is_hll()); -1 if it is corrupted. */
static int64_t hll_count_value(const uint8_t *v, size_t len)
{
    int histo[64] = {0};
    if (v[HLL_ENC_OFF] == HLL_DENSE)
        dense_histo(v + HLL_HDR_SIZE, histo);
    else if (sparse_walk(v + HLL_HDR_SIZE, len - HLL_HDR_SIZE, visit_histo, histo) < 0)
        return -1;
    return (int64_t)hll_estimate(histo);
}

/* max[i] = MAX(max[i], register i of the HLL value v).  Returns -1 if v
 * is corrupted. */
static int hll_merge_into(uint8_t *max, const uint8_t *v, size_t len)
{
    if (v[HLL_ENC_OFF] != HLL_DENSE)
        return sparse_walk(v + HLL_HDR_SIZE, len - HLL_HDR_SIZE, visit_max, max);
    const uint8_t *r = v + HLL_HDR_SIZE;
    for (unsigned i = 0; i < HLL_REGISTERS; i += 4, r += 3) {
        unsigned x[4];
        DENSE_UNPACK4(r, x);
        for (unsigned k = 0; k < 4; k++)
            if (x[k] > max[i + k]) max[i + k] = (uint8_t)x[k];
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

/* A new, empty HLL: sparse, all registers in one XZERO, cache valid. */
static dstr hll_new(void)
{
    dstr s = dstr_grow_zero(dstr_with_cap(HLL_SPARSE_EMPTY), HLL_SPARSE_EMPTY);
    memcpy(s, "HYLL", 4);
    s[HLL_ENC_OFF] = HLL_SPARSE;
    sp_put_zeros((uint8_t *)s + HLL_HDR_SIZE, HLL_REGISTERS);
    return s;
}

/* Is o a HyperLogLog?  Replies WRONGTYPE (for another type, or for a
 * string that is not one) and returns 0 if not. */
static int is_hll(cmd_call *c, const cobj *o)
{
    if (check_type(c, o, OBJ_STRING)) return 0;
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    if (o->encoding != ENC_INT && len >= HLL_HDR_SIZE && memcmp(p, "HYLL", 4) == 0 &&
        (uint8_t)p[HLL_ENC_OFF] <= HLL_SPARSE &&
        (p[HLL_ENC_OFF] != HLL_DENSE || len == HLL_DENSE_SIZE))
        return 1;
    reply_error(c->out, ERR_NOT_HLL);
    return 0;
}

/* The HLL at key (valid per is_hll()) made RAW for editing in place. */
static cobj *hll_for_write(cmd_call *c, const cslice *key, cobj *o)
{
    return string_make_raw(c, key, o);
}

static uint64_t cache_get(const uint8_t *v)
{
    uint64_t card = 0;
    for (int i = 7; i >= 0; i--)
        card = (card << 8) | v[HLL_CARD_OFF + i];
    return card;
}

static void cache_set(uint8_t *v, uint64_t card)
{
    for (int i = 0; i < 8; i++, card >>= 8)
        v[HLL_CARD_OFF + i] = (uint8_t)(card & 0xff);
}

/* ------------------------------------------------------------------ */
/* Commands                                                             */
/* ------------------------------------------------------------------ */

/* PFADD key [element ...]: 1 if a register changed (or the key was
 * created), else 0. */
static void pfadd_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    int updated = 0;
    if (!o) {
        o = db_add(c, c->db, key, obj_new_raw(hll_new()));
        updated++;
    } else {
        if (!is_hll(c, o)) return;
        o = hll_for_write(c, key, o);
    }
    for (int j = 2; j < c->argc; j++) {
        unsigned index;
        unsigned count = hll_pattern(c->argv[j].ptr, c->argv[j].len, &index);
        dstr s = o->v.ptr;
        int r = hll_raise(c, &s, index, count);
        obj_str_set_raw(o, s);
        if (r < 0) {
            reply_error(c->out, ERR_INVALID_HLL);
            return;
        }
        updated += r;
    }
    if (updated) {
        ((char *)o->v.ptr)[HLL_CARD_OFF + 7] |= (char)0x80;
        c->dirty += updated;
        notify_key(c, NOTIFY_STRING, "pfadd", key);
    }
    reply_int(c->out, updated ? 1 : 0);
}

/* PFCOUNT of several keys: the estimate of their union, nothing stored. */
static void pfcount_union(cmd_call *c)
{
    uint8_t *max = cm_calloc(1, HLL_REGISTERS);
    for (int j = 1; j < c->argc; j++) {
        cobj *o = lookup_read(c, &c->argv[j]);
        if (!o) continue;
        if (!is_hll(c, o)) goto done;
        char buf[NUM_STR_MAX];
        size_t len;
        const uint8_t *v = (const uint8_t *)obj_str(o, buf, &len);
        if (hll_merge_into(max, v, len) < 0) {
            reply_error(c->out, ERR_INVALID_HLL);
            goto done;
        }
    }
    int histo[64] = {0};
    raw_histo(max, histo);
    reply_int(c->out, (long long)hll_estimate(histo));
done:
    cm_free(max);
}

/* PFCOUNT key [key ...].  For one key a stale cached estimate is
 * recomputed and stored back into the value, a change that is logged:
 * only where changes originate, or as its entry applies (a follower's or
 * replica's value stays its leader's). */
static void pfcount_command(cmd_call *c)
{
    if (c->argc > 2) {
        pfcount_union(c);
        return;
    }
    const cslice *key = &c->argv[1];
    cobj *o = lookup_read(c, key);
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    if (!is_hll(c, o)) return;
    o = hll_for_write(c, key, o);
    uint8_t *v = (uint8_t *)o->v.ptr;
    if (!(v[HLL_CARD_OFF + 7] & 0x80)) {
        reply_int(c->out, (long long)cache_get(v));
        return;
    }
    int64_t card = hll_count_value(v, dstr_len(o->v.ptr));
    if (card < 0) {
        reply_error(c->out, ERR_INVALID_HLL);
        return;
    }
    if (c->e->originates || c->e->applying) {
        cache_set(v, (uint64_t)card);
        c->dirty++;
    }
    reply_int(c->out, card);
}

/* PFMERGE destkey [sourcekey ...]: destkey takes the maximum of each
 * register over itself and the sources; dense if any input is. */
static void pfmerge_command(cmd_call *c)
{
    uint8_t *max = cm_calloc(1, HLL_REGISTERS);
    int use_dense = 0;
    for (int j = 1; j < c->argc; j++) {
        cobj *o = lookup_read(c, &c->argv[j]);
        if (!o) continue;
        if (!is_hll(c, o)) goto done;
        char buf[NUM_STR_MAX];
        size_t len;
        const uint8_t *v = (const uint8_t *)obj_str(o, buf, &len);
        if (v[HLL_ENC_OFF] == HLL_DENSE) use_dense = 1;
        if (hll_merge_into(max, v, len) < 0) {
            reply_error(c->out, ERR_INVALID_HLL);
            goto done;
        }
    }

    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    if (!o)
        o = db_add(c, c->db, key, obj_new_raw(hll_new()));
    else
        o = hll_for_write(c, key, o);
    dstr s = o->v.ptr;
    if (use_dense && s[HLL_ENC_OFF] == HLL_SPARSE) {
        dstr d = sparse_to_dense(s);
        if (!d) {
            reply_error(c->out, ERR_INVALID_HLL);
            goto done;
        }
        dstr_free(s);
        s = d;
    }
    for (unsigned i = 0; i < HLL_REGISTERS; i++) {
        /* The inputs were checked above, so the walk cannot fail. */
        if (max[i]) (void)hll_raise(c, &s, i, max[i]);
    }
    s[HLL_CARD_OFF + 7] |= (char)0x80;
    obj_str_set_raw(o, s);
    c->dirty++;
    /* Redis's PFMERGE sends pfadd too. */
    notify_key(c, NOTIFY_STRING, "pfadd", &c->argv[1]);
    reply_ok(c->out);
done:
    cm_free(max);
}

/* The text of PFDEBUG DECODE: "z:N", "Z:N" and "v:VALUE,N" runs. */
static dstr sparse_decode(const uint8_t *p, const uint8_t *end)
{
    dstr out = dstr_with_cap(64);
    while (p < end) {
        if (sp_is_zero(p)) {
            out = dstr_catfmt(out, "z:%u ", sp_zero_len(p));
            p++;
        } else if (sp_is_xzero(p) && p + 1 < end) {
            out = dstr_catfmt(out, "Z:%u ", sp_xzero_len(p));
            p += 2;
        } else if (sp_is_xzero(p)) {
            break;
        } else {
            out = dstr_catfmt(out, "v:%u,%u ", sp_val_value(p), sp_val_len(p));
            p++;
        }
    }
    if (dstr_len(out)) dstr_set_len(out, dstr_len(out) - 1);
    return out;
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key */
static void pfdebug_command(cmd_call *c)
{
    const cslice *key = &c->argv[2];
    cobj *o = lookup_write(c, key);
    if (!o) {
        reply_error(c->out, "ERR The specified key does not exist");
        return;
    }
    if (!is_hll(c, o)) return;
    o = hll_for_write(c, key, o);
    dstr s = o->v.ptr;

    if (arg_is(c, 1, "getreg") || arg_is(c, 1, "todense")) {
        int converted = 0;
        if (s[HLL_ENC_OFF] == HLL_SPARSE) {
            dstr d = sparse_to_dense(s);
            if (!d) {
                reply_error(c->out, ERR_INVALID_HLL);
                return;
            }
            dstr_free(s);
            obj_str_set_raw(o, d);
            s = d;
            converted = 1;
            c->dirty++; /* the encoding changed: log it */
        }
        if (arg_is(c, 1, "todense")) {
            reply_int(c->out, converted);
            return;
        }
        reply_array_len(c->out, HLL_REGISTERS);
        for (unsigned i = 0; i < HLL_REGISTERS; i++)
            reply_int(c->out, dense_get((const uint8_t *)s + HLL_HDR_SIZE, i));
    } else if (arg_is(c, 1, "decode")) {
        if (s[HLL_ENC_OFF] != HLL_SPARSE) {
            reply_error(c->out, "ERR HLL encoding is not sparse");
            return;
        }
        dstr text =
            sparse_decode((const uint8_t *)s + HLL_HDR_SIZE, (const uint8_t *)s + dstr_len(s));
        reply_bulk(c->out, text, dstr_len(text));
        dstr_free(text);
    } else if (arg_is(c, 1, "encoding")) {
        reply_simple(c->out, s[HLL_ENC_OFF] == HLL_DENSE ? "dense" : "sparse");
    } else {
        char sub[128];
        arg_cstr(c, 1, sub, sizeof(sub));
        reply_errorf(c->out, "ERR Unknown PFDEBUG subcommand '%s'", sub);
    }
}

/* PFSELFTEST, first half: registers read back what was written without
 * disturbing their neighbours.  Returns 0, or -1 after replying. */
static int selftest_registers(cmd_call *c)
{
    uint8_t *regs = cm_calloc(1, HLL_DENSE_SIZE - HLL_HDR_SIZE + 1);
    uint8_t *want = cm_malloc(HLL_REGISTERS);
    int rc = 0;
    for (int cycle = 0; cycle < 100 && rc == 0; cycle++) {
        for (unsigned i = 0; i < HLL_REGISTERS; i++) {
            want[i] = (uint8_t)(crand_next(&c->rng) & HLL_REG_MAX);
            dense_set(regs, i, want[i]);
        }
        for (unsigned i = 0; i < HLL_REGISTERS; i++) {
            unsigned got = dense_get(regs, i);
            if (got != want[i]) {
                reply_errorf(c->out, "TESTFAILED Register %u should be %u but is %u", i,
                             (unsigned)want[i], got);
                rc = -1;
                break;
            }
        }
    }
    cm_free(regs);
    cm_free(want);
    return rc;
}

/* PFSELFTEST, second half: the same random elements added to a sparse and
 * a dense HLL give the same estimate, within five standard errors
 * (1.04 / sqrt(m)) of the truth.  Returns 0, or -1 after replying. */
static int selftest_encodings(cmd_call *c)
{
    dstr sp = hll_new();
    dstr dn = sparse_to_dense(sp);
    int rc = 0;
    for (long i = 1; i <= 20000 && rc == 0; i++) {
        char ele[NUM_STR_MAX];
        int n = ll_to_str(ele, sizeof(ele), (long long)crand_next(&c->rng));
        unsigned index, count = hll_pattern(ele, (size_t)n, &index);
        (void)hll_raise(c, &sp, index, count);
        dense_raise((uint8_t *)dn + HLL_HDR_SIZE, index, count);
        if (i % 1000) continue;
        int64_t a = hll_count_value((const uint8_t *)sp, dstr_len(sp));
        int64_t b = hll_count_value((const uint8_t *)dn, dstr_len(dn));
        double err = fabs((double)b - (double)i) / (double)i;
        if (a != b || err > 5 * 1.04 / sqrt(HLL_REGISTERS)) {
            reply_errorf(c->out,
                         "TESTFAILED cardinality %ld: sparse estimate %lld, dense estimate %lld", i,
                         (long long)a, (long long)b);
            rc = -1;
        }
    }
    dstr_free(sp);
    dstr_free(dn);
    return rc;
}

/* PFSELFTEST */
static void pfselftest_command(cmd_call *c)
{
    if (selftest_registers(c) == 0 && selftest_encodings(c) == 0) reply_ok(c->out);
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

const cmd_def hll_commands[] = {
    {"pfadd", pfadd_command, -2, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_HYPERLOGLOG | ACL_FAST, 1, 1, 1, "hyperloglog", "2.8.9",
     "Adds the specified elements to the specified HyperLogLog.", "O(1) to add every element.",
     NULL},
    {"pfcount", pfcount_command, -2, CMD_READONLY | CMD_MAY_REPLICATE,
     ACL_READ | ACL_HYPERLOGLOG | ACL_SLOW, 1, -1, 1, "hyperloglog", "2.8.9",
     "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
     "O(1) with a very small average constant time when called with a single key. O(N) with N "
     "being the number of keys, and much bigger constant times, when called with multiple keys.",
     NULL},
    {"pfmerge", pfmerge_command, -2, CMD_WRITE | CMD_DENYOOM,
     ACL_WRITE | ACL_HYPERLOGLOG | ACL_SLOW, 1, -1, 1, "hyperloglog", "2.8.9",
     "Merge N different HyperLogLogs into a single one.",
     "O(N) to merge N HyperLogLogs, but with high constant times.", NULL, NULL, NULL,
     KEY_ACL(KA_RW, KA_R)},
    {"pfdebug", pfdebug_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN,
     ACL_WRITE | ACL_HYPERLOGLOG | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, 2, 2, 1, "hyperloglog",
     "2.8.9", "Internal commands for debugging HyperLogLog values", "N/A", NULL, NULL, NULL,
     KEY_ACL(KA_R, KA_R)},
    {"pfselftest", pfselftest_command, 1, CMD_ADMIN,
     ACL_HYPERLOGLOG | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "hyperloglog", "2.8.9",
     "An internal command for testing HyperLogLog values", "N/A", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
