/* t_bitops.c -- bitmaps and bit fields over string values.
 *
 * SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO with
 * Redis 7.0's semantics, reply shapes and error strings.  Bit 0 is the most
 * significant bit of the first byte.  An integer-encoded string is read as
 * its decimal text, and turned into a RAW string of that text before a
 * command edits it.  Counting and combining work a 64-bit word at a time.
 *
 * Every command here is deterministic, so its arguments are its log
 * entry. */
#include <stdint.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "t_string.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Parse a bit offset argument.  With `bits` > 0 a "#N" offset is
 * accepted and means N * bits (BITFIELD).  The byte it falls in must lie
 * within proto-max-bulk-len, the same limit as any string growth.
 * Returns 0, or -1 after replying. */
static int parse_bit_offset(cmd_call *c, int i, int bits, uint64_t *out)
{
    const cslice *a = &c->argv[i];
    int hash = bits > 0 && a->len > 0 && a->ptr[0] == '#';
    long long v;
    if (!str_to_ll(a->ptr + hash, a->len - (size_t)hash, &v)) goto bad;
    if (hash) {
        if (v > INT64_MAX / bits || v < INT64_MIN / bits) goto bad;
        v *= bits;
    }
    if (v < 0 || string_exceeds_limit(c, (uint64_t)v >> 3, 1)) goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    reply_error(c->out, ERR_BIT_OFFSET);
    return -1;
}

/* The string at key for a command that writes bits up to bit `maxbit`:
 * created zero-filled if missing, else made RAW and zero-padded to hold
 * that bit.  *grown: it was created or lengthened, a change even when no
 * bit then differs.  Returns NULL after replying WRONGTYPE. */
static cobj *string_for_bit_write(cmd_call *c, const cslice *key, uint64_t maxbit, int *grown)
{
    size_t need = (size_t)(maxbit >> 3) + 1;
    cobj *o = lookup_write(c, key);
    *grown = 1;
    if (!o) {
        dstr s = dstr_grow_zero(dstr_with_cap(need), need);
        return db_add(c, c->db, key, obj_new_raw(s));
    }
    if (check_type(c, o, OBJ_STRING)) return NULL;
    o = string_make_raw(c, key, o);
    if (dstr_len(o->v.ptr) < need)
        obj_str_set_raw(o, dstr_grow_zero(o->v.ptr, need));
    else
        *grown = 0;
    return o;
}

/* Bits set in p[0..n), eight bytes at a time.  Built twice, for CPUs with
 * the POPCNT instruction and without; the loader picks one (ifunc). */
__attribute__((target_clones("popcnt", "default"))) static uint64_t
popcount_bytes(const unsigned char *p, size_t n)
{
    uint64_t count = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof(w));
        count += (uint64_t)(__builtin_popcountll(w[0]) + __builtin_popcountll(w[1]) +
                            __builtin_popcountll(w[2]) + __builtin_popcountll(w[3]));
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        count += (uint64_t)__builtin_popcountll(w);
    }
    for (; i < n; i++)
        count += (uint64_t)__builtin_popcount(p[i]);
    return count;
}

/* The position of the first bit equal to `bit` in bits [from, to] of p
 * (inclusive, MSB first), or -1.  Whole words are skipped while they hold
 * only the other value. */
static long long find_bit(const unsigned char *p, uint64_t from, uint64_t to, int bit)
{
    uint64_t i = from;
    uint64_t skip = bit ? 0 : UINT64_MAX; /* a word to step over */
    while (i <= to) {
        if ((i & 63) == 0 && to - i >= 63) {
            uint64_t w;
            memcpy(&w, p + (i >> 3), sizeof(w));
            if (w == skip) {
                i += 64;
                continue;
            }
        }
        if ((i & 7) == 0 && to - i >= 7 && p[i >> 3] == (unsigned char)skip) {
            i += 8;
            continue;
        }
        if (((p[i >> 3] >> (7 - (i & 7))) & 1) == bit) return (long long)i;
        i++;
    }
    return -1;
}

/* Clamp a [start, end] range given with negative indexes counting from
 * the end of a length-`len` sequence, as BITCOUNT and BITPOS do.
 * Returns 0 when the range is empty. */
static int clamp_range(long long *start, long long *end, long long len)
{
    if (*start < 0) *start += len;
    if (*end < 0) *end += len;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= len) *end = len - 1;
    return *start <= *end;
}

/* Parse BYTE|BIT at argument i: 1 for BIT, 0 for BYTE, -1 after
 * replying a syntax error. */
static int parse_unit(cmd_call *c, int i)
{
    if (arg_is(c, i, "bit")) return 1;
    if (arg_is(c, i, "byte")) return 0;
    return reply_syntax_error(c);
}

/* ------------------------------------------------------------------ */
/* SETBIT, GETBIT                                                       */
/* ------------------------------------------------------------------ */

/* SETBIT key offset value: replies the bit's old value. */
static void setbit_command(cmd_call *c)
{
    uint64_t off;
    long long on;
    if (parse_bit_offset(c, 2, 0, &off) < 0) return;
    if (!str_to_ll(c->argv[3].ptr, c->argv[3].len, &on) || (on & ~1LL)) {
        reply_error(c->out, "ERR bit is not an integer or out of range");
        return;
    }
    int grown;
    cobj *o = string_for_bit_write(c, &c->argv[1], off, &grown);
    if (!o) return;
    unsigned char *byte = (unsigned char *)o->v.ptr + (off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (*byte >> shift) & 1;
    *byte = (unsigned char)((*byte & ~(1u << shift)) | ((unsigned)on << shift));
    /* Rewriting a bit with its own value changes nothing: no entry, no
     * event, WATCH untouched (Redis 7.0). */
    if (grown || old != on) {
        c->dirty++;
        notify_key(c, NOTIFY_STRING, "setbit", &c->argv[1]);
    }
    reply_int(c->out, old);
}

/* The bytes of the string at argv[1] for a command that reads bits.
 * Replies missing_reply when the key does not exist, or WRONGTYPE, and
 * returns NULL then; buf holds an integer-encoded value's text. */
static const unsigned char *read_bits(cmd_call *c, long long missing_reply, char buf[NUM_STR_MAX],
                                      size_t *len)
{
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_int(c->out, missing_reply);
        return NULL;
    }
    if (check_type(c, o, OBJ_STRING)) return NULL;
    return (const unsigned char *)obj_str(o, buf, len);
}

/* GETBIT key offset */
static void getbit_command(cmd_call *c)
{
    uint64_t off;
    if (parse_bit_offset(c, 2, 0, &off) < 0) return;
    char buf[NUM_STR_MAX];
    size_t len;
    const unsigned char *p = read_bits(c, 0, buf, &len);
    if (!p) return;
    int bit = 0;
    if ((off >> 3) < len) bit = (p[off >> 3] >> (7 - (off & 7))) & 1;
    reply_int(c->out, bit);
}

/* ------------------------------------------------------------------ */
/* BITCOUNT, BITPOS                                                     */
/* ------------------------------------------------------------------ */

/* Bits set in bits [from, to] of p (inclusive). */
static uint64_t count_bit_range(const unsigned char *p, uint64_t from, uint64_t to)
{
    uint64_t fb = from >> 3, tb = to >> 3;
    uint64_t n = popcount_bytes(p + fb, (size_t)(tb - fb + 1));
    /* Take out the bits of the edge bytes that lie outside the range. */
    unsigned head = (unsigned)(p[fb] >> (8 - (from & 7))) & 0xFFu;
    unsigned tail = (unsigned)p[tb] & ((1u << (7 - (to & 7))) - 1);
    if (from & 7) n -= (uint64_t)__builtin_popcount(head);
    n -= (uint64_t)__builtin_popcount(tail);
    return n;
}

/* BITCOUNT key [start end [BYTE|BIT]] */
static void bitcount_command(cmd_call *c)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const unsigned char *p = read_bits(c, 0, buf, &len);
    if (!p) return;

    if (c->argc == 2) {
        reply_int(c->out, (long long)popcount_bytes(p, len));
        return;
    }
    if (c->argc > 5 || c->argc == 3) {
        reply_syntax_error(c);
        return;
    }
    long long start, end;
    if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)) return;
    /* Both negative and reversed: empty, whatever the unit says. */
    if (start < 0 && end < 0 && start > end) {
        reply_int(c->out, 0);
        return;
    }
    int isbit = 0;
    if (c->argc == 5 && (isbit = parse_unit(c, 4)) < 0) return;
    long long total = (long long)len * (isbit ? 8 : 1);
    if (!clamp_range(&start, &end, total)) {
        reply_int(c->out, 0);
        return;
    }
    uint64_t n = isbit ? count_bit_range(p, (uint64_t)start, (uint64_t)end)
                       : popcount_bytes(p + start, (size_t)(end - start + 1));
    reply_int(c->out, (long long)n);
}

/* BITPOS key bit [start [end [BYTE|BIT]]]
 *
 * A missing key is an endless run of zeros.  Looking for a clear bit
 * without an explicit end treats the string as zero-padded on the right,
 * so an all-ones string answers the first bit past its end; with an
 * explicit end the range is all there is and the answer is -1. */
static void bitpos_command(cmd_call *c)
{
    long long bit;
    if (!arg_ll(c, 2, &bit)) return;
    if (bit != 0 && bit != 1) {
        reply_error(c->out, "ERR The bit argument must be 1 or 0.");
        return;
    }
    char buf[NUM_STR_MAX];
    size_t len;
    const unsigned char *p = read_bits(c, bit ? -1 : 0, buf, &len);
    if (!p) return;

    if (c->argc > 6) {
        reply_syntax_error(c);
        return;
    }
    long long start = 0, end = -1;
    int isbit = 0, end_given = c->argc >= 5;
    if (c->argc >= 4 && !arg_ll(c, 3, &start)) return;
    if (c->argc == 6 && (isbit = parse_unit(c, 5)) < 0) return;
    if (end_given && !arg_ll(c, 4, &end)) return;

    long long total = (long long)len * (isbit ? 8 : 1);
    if (!clamp_range(&start, &end, total)) {
        reply_int(c->out, -1);
        return;
    }
    uint64_t from = isbit ? (uint64_t)start : (uint64_t)start * 8;
    uint64_t to = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    long long pos = find_bit(p, from, to, (int)bit);
    if (pos < 0 && bit == 0 && !end_given) pos = (long long)to + 1;
    reply_int(c->out, pos);
}

/* ------------------------------------------------------------------ */
/* BITOP                                                                */
/* ------------------------------------------------------------------ */

enum { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* res[0..n) = res op src[0..n), a word at a time. */
static void combine_words(unsigned char *res, const unsigned char *src, size_t n, int op)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, res + i, sizeof(a));
        memcpy(&b, src + i, sizeof(b));
        a = op == BITOP_AND ? a & b : op == BITOP_OR ? a | b : a ^ b;
        memcpy(res + i, &a, sizeof(a));
    }
    for (; i < n; i++)
        res[i] = (unsigned char)(op == BITOP_AND  ? res[i] & src[i]
                                 : op == BITOP_OR ? res[i] | src[i]
                                                  : res[i] ^ src[i]);
}

/* The inverse of p[0..n) into res, a word at a time. */
static void invert_words(unsigned char *res, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a;
        memcpy(&a, p + i, sizeof(a));
        a = ~a;
        memcpy(res + i, &a, sizeof(a));
    }
    for (; i < n; i++)
        res[i] = (unsigned char)~p[i];
}

/* BITOP AND|OR|XOR|NOT destkey key [key ...]: shorter operands read as
 * zero-padded; an empty result deletes destkey. */
static void bitop_command(cmd_call *c)
{
    int op;
    if (arg_is(c, 1, "and"))
        op = BITOP_AND;
    else if (arg_is(c, 1, "or"))
        op = BITOP_OR;
    else if (arg_is(c, 1, "xor"))
        op = BITOP_XOR;
    else if (arg_is(c, 1, "not"))
        op = BITOP_NOT;
    else {
        reply_syntax_error(c);
        return;
    }
    int nsrc = c->argc - 3;
    if (op == BITOP_NOT && nsrc != 1) {
        reply_error(c->out, "ERR BITOP NOT must be called with a single source key.");
        return;
    }

    /* Operands are read before anything is written: destkey may be one. */
    size_t maxlen = 0;
    for (int j = 0; j < nsrc; j++) {
        cobj *o = lookup_read(c, &c->argv[3 + j]);
        if (!o) continue;
        if (check_type(c, o, OBJ_STRING)) return;
        size_t n = obj_strlen(o);
        if (n > maxlen) maxlen = n;
    }
    /* Redis counts BITOP as a change even when it only deletes (or
     * leaves absent) an empty result. */
    c->dirty++;
    if (maxlen == 0) {
        if (db_delete(c, c->db, &c->argv[2])) notify_key(c, NOTIFY_GENERIC, "del", &c->argv[2]);
        reply_int(c->out, 0);
        return;
    }

    dstr res = dstr_grow_zero(dstr_with_cap(maxlen), maxlen);
    unsigned char *r = (unsigned char *)res;
    for (int j = 0; j < nsrc; j++) {
        char buf[NUM_STR_MAX];
        size_t n = 0;
        const unsigned char *p = NULL;
        cobj *o = db_find(c->db, &c->argv[3 + j]);
        if (o) p = (const unsigned char *)obj_str(o, buf, &n);
        if (op == BITOP_NOT) {
            invert_words(r, p, n);
        } else if (j == 0) {
            if (n) memcpy(r, p, n);
        } else {
            combine_words(r, p, n, op);
            /* AND with the zero padding of a shorter operand. */
            if (op == BITOP_AND) memset(r + n, 0, maxlen - n);
        }
    }
    db_store(c, c->db, &c->argv[2], obj_new_raw(res));
    notify_key(c, NOTIFY_STRING, "set", &c->argv[2]);
    reply_int(c->out, (long long)maxlen);
}

/* ------------------------------------------------------------------ */
/* BITFIELD                                                             */
/* ------------------------------------------------------------------ */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset;
    long long value; /* SET's value, INCRBY's increment */
    int opcode, overflow, sign, bits;
} bf_op;

/* The unsigned integer of `bits` bits at bit `offset` of p. */
static uint64_t bf_get_unsigned(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++)
        v = (v << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1u);
    return v;
}

static int64_t bf_get(const unsigned char *p, uint64_t offset, int bits, int sign)
{
    uint64_t v = bf_get_unsigned(p, offset, bits);
    /* Sign-extend from the field's top bit. */
    if (sign && bits < 64 && (v >> (bits - 1)) & 1) v |= UINT64_MAX << bits;
    return (int64_t)v;
}

static void bf_set(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int j = bits - 1; j >= 0; j--, offset++) {
        unsigned shift = 7 - (unsigned)(offset & 7);
        unsigned bit = (unsigned)(v >> j) & 1u;
        p[offset >> 3] = (unsigned char)((p[offset >> 3] & ~(1u << shift)) | (bit << shift));
    }
}

/* Whether value + incr overflows (1), underflows (-1) or fits (0) a signed
 * field of bits bits, decided as Redis decides it: its limits on the
 * increment are computed with wrap-around, so SET of a value far below
 * the minimum of a wide field (an i63 below -2^62) counts as an overflow
 * and saturates to the maximum.  The same rule keeps results equal. */
static int bf_signed_overflow(int64_t value, int64_t incr, int bits)
{
    int64_t max = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
    int64_t min = -max - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr))
        return 1;
    if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr))
        return -1;
    return 0;
}

/* value + incr as a field of op's type: the result, possibly wrapped or
 * saturated, in *out; returns 1 if it overflowed the field. */
static int bf_add(const bf_op *op, int64_t value, long long incr, uint64_t *out)
{
    /* Wrapping keeps the low bits: the field's two's complement. */
    *out = (uint64_t)value + (uint64_t)incr;
    int dir;
    if (op->sign) {
        dir = bf_signed_overflow(value, incr, op->bits);
        if (dir && op->overflow == BF_SAT) {
            int64_t max = op->bits == 64 ? INT64_MAX : ((int64_t)1 << (op->bits - 1)) - 1;
            *out = (uint64_t)(dir > 0 ? max : -max - 1);
        }
    } else {
        uint64_t max = ((uint64_t)1 << op->bits) - 1; /* u63 at most */
        __int128 sum = (__int128)(uint64_t)value + incr;
        dir = sum > (__int128)max ? 1 : sum < 0 ? -1 : 0;
        if (dir && op->overflow == BF_SAT) *out = dir > 0 ? max : 0;
    }
    return dir != 0;
}

/* Parse one of i1..i64, u1..u63. */
static int parse_bf_type(cmd_call *c, int i, int *sign, int *bits)
{
    const cslice *a = &c->argv[i];
    long long n;
    if (a->len < 2 || (a->ptr[0] != 'i' && a->ptr[0] != 'u') ||
        !str_to_ll(a->ptr + 1, a->len - 1, &n) || n < 1 || n > (a->ptr[0] == 'i' ? 64 : 63)) {
        reply_error(c->out, "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 "
                            "is not supported but i64 is.");
        return -1;
    }
    *sign = a->ptr[0] == 'i';
    *bits = (int)n;
    return 0;
}

/* Parse the subcommands into ops (capacity argc).  *maxbit gets the last
 * bit a write reaches, *writes how many ops write.  Returns the number of
 * ops, or -1 after replying. */
static int parse_bitfield(cmd_call *c, bf_op *ops, uint64_t *maxbit, int *writes)
{
    int n = 0, overflow = BF_WRAP;
    *maxbit = 0;
    *writes = 0;
    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1;
        bf_op *op = &ops[n];
        if (arg_is(c, j, "get") && rem >= 2) {
            op->opcode = BF_GET;
        } else if (arg_is(c, j, "set") && rem >= 3) {
            op->opcode = BF_SET;
        } else if (arg_is(c, j, "incrby") && rem >= 3) {
            op->opcode = BF_INCRBY;
        } else if (arg_is(c, j, "overflow") && rem >= 1) {
            j++;
            if (arg_is(c, j, "wrap")) {
                overflow = BF_WRAP;
            } else if (arg_is(c, j, "sat")) {
                overflow = BF_SAT;
            } else if (arg_is(c, j, "fail")) {
                overflow = BF_FAIL;
            } else {
                reply_error(c->out, "ERR Invalid OVERFLOW type specified");
                return -1;
            }
            continue;
        } else {
            return reply_syntax_error(c);
        }
        if (parse_bf_type(c, j + 1, &op->sign, &op->bits) < 0) return -1;
        if (parse_bit_offset(c, j + 2, op->bits, &op->offset) < 0) return -1;
        op->overflow = overflow;
        op->value = 0;
        if (op->opcode != BF_GET) {
            (*writes)++;
            uint64_t last = op->offset + (uint64_t)op->bits - 1;
            if (last > *maxbit) *maxbit = last;
            if (!arg_ll(c, j + 3, &op->value)) return -1;
        }
        n++;
        j += op->opcode == BF_GET ? 2 : 3;
    }
    return n;
}

/* A GET reads through a zero-padded copy of the up to 9 bytes the field
 * spans, so fields past the end of the string read as zeros. */
static int64_t bf_read(const unsigned char *src, size_t len, const bf_op *op)
{
    unsigned char win[9] = {0};
    uint64_t byte = op->offset >> 3;
    for (uint64_t i = 0; i < sizeof(win) && byte + i < len; i++)
        win[i] = src[byte + i];
    return bf_get(win, op->offset & 7, op->bits, op->sign);
}

/* Run one SET or INCRBY on the string p, replying its result.  Returns
 * whether the field's bits changed. */
static int bf_write(cmd_call *c, unsigned char *p, const bf_op *op)
{
    int64_t old = bf_get(p, op->offset, op->bits, op->sign);
    uint64_t nv;
    int ovf =
        op->opcode == BF_INCRBY ? bf_add(op, old, op->value, &nv) : bf_add(op, op->value, 0, &nv);
    if (ovf && op->overflow == BF_FAIL) {
        reply_null(c->out);
        return 0;
    }
    uint64_t before = bf_get_unsigned(p, op->offset, op->bits);
    bf_set(p, op->offset, op->bits, nv);
    int changed = bf_get_unsigned(p, op->offset, op->bits) != before;
    if (op->opcode == BF_SET) {
        reply_int(c->out, old);
    } else {
        /* The new value read back as the field's type. */
        reply_int(c->out, bf_get(p, op->offset, op->bits, op->sign));
    }
    return changed;
}

static void bitfield_generic(cmd_call *c, int readonly)
{
    bf_op *ops = cm_malloc(sizeof(*ops) * (size_t)c->argc);
    uint64_t maxbit;
    int writes, grown = 0;
    int n = parse_bitfield(c, ops, &maxbit, &writes);
    if (n < 0) goto done;

    cobj *o;
    if (writes == 0) {
        o = lookup_read(c, &c->argv[1]);
        if (o && check_type(c, o, OBJ_STRING)) goto done;
    } else {
        if (readonly) {
            reply_error(c->out, "ERR BITFIELD_RO only supports the GET subcommand");
            goto done;
        }
        o = string_for_bit_write(c, &c->argv[1], maxbit, &grown);
        if (!o) goto done;
    }

    reply_array_len(c->out, n);
    long long changes = 0;
    for (int j = 0; j < n; j++) {
        if (ops[j].opcode != BF_GET) {
            /* As in Redis 7.0, each write counts when it changed its field
             * or the string grew for it; a failed (OVERFLOW FAIL) one never. */
            if (bf_write(c, (unsigned char *)o->v.ptr, &ops[j]) || grown) changes++;
            continue;
        }
        char buf[NUM_STR_MAX];
        size_t len = 0;
        const unsigned char *src = o ? (const unsigned char *)obj_str(o, buf, &len) : NULL;
        reply_int(c->out, bf_read(src, len, &ops[j]));
    }
    /* A string created or grown only by failed writes is still a change
     * to log (Redis counts none). */
    if (changes == 0 && grown) changes = 1;
    c->dirty += changes;
    if (changes) notify_key(c, NOTIFY_STRING, "setbit", &c->argv[1]);
done:
    cm_free(ops);
}

/* BITFIELD key [GET type offset] [SET type offset value]
 *              [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ... */
static void bitfield_command(cmd_call *c) { bitfield_generic(c, 0); }

/* BITFIELD_RO key [GET type offset ...] */
static void bitfield_ro_command(cmd_call *c) { bitfield_generic(c, 1); }

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

/* GETs (and OVERFLOW) only: the key is only read, as Redis's
 * bitfieldGetKeys says; anything else, a syntax error too, may write. */
static uint32_t bitfield_key_flags(int i, int argc, const cslice *argv, uint32_t flags)
{
    (void)i;
    for (int j = 2; j < argc; j++) {
        int rest = argc - j - 1;
        if (slice_is(&argv[j], "get") && rest >= 2)
            j += 2;
        else if (slice_is(&argv[j], "overflow") && rest >= 1)
            j += 1;
        else
            return flags & ~(uint32_t)KF_VARIABLE;
    }
    return KF_RO | KF_ACCESS;
}

const cmd_def bitops_commands[] = {
    {"setbit", setbit_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_BITMAP | ACL_SLOW, 1, 1,
     1, "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key",
     "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"getbit", getbit_command, 3, CMD_READONLY | CMD_FAST, ACL_READ | ACL_BITMAP | ACL_FAST, 1, 1,
     1, "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key",
     "O(1)", NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"bitcount", bitcount_command, -2, CMD_READONLY, ACL_READ | ACL_BITMAP | ACL_SLOW, 1, 1, 1,
     "bitmap", "2.6.0", "Count set bits in a string", "O(N)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"bitpos", bitpos_command, -3, CMD_READONLY, ACL_READ | ACL_BITMAP | ACL_SLOW, 1, 1, 1,
     "bitmap", "2.8.7", "Find first bit set or clear in a string", "O(N)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"bitop", bitop_command, -4, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_BITMAP | ACL_SLOW, 2, -1,
     1, "bitmap", "2.6.0", "Perform bitwise operations between strings", "O(N)", NULL, NULL, NULL,
     KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"bitfield", bitfield_command, -2, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_BITMAP | ACL_SLOW,
     1, 1, 1, "bitmap", "3.2.0", "Perform arbitrary bitfield integer operations on strings",
     "O(1) for each subcommand specified", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE | KF_VARIABLE), .key_flags_of = bitfield_key_flags},
    {"bitfield_ro", bitfield_ro_command, -2, CMD_READONLY | CMD_FAST,
     ACL_READ | ACL_BITMAP | ACL_FAST, 1, 1, 1, "bitmap", "6.0.0",
     "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
     "O(1) for each subcommand specified", NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
