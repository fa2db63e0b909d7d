/* digest.c -- see digest.h.
 *
 * Each key costs one SHA-1 over a canonical form of the key and its value
 * (usually one block), not several SHA-1s per element as in Redis: the
 * ordered parts (a string, a list, a stream) are fed to the key's SHA-1
 * with their lengths, and the order-free parts (set members, hash fields
 * and values, sorted set members and scores) are first folded into a
 * 128-bit XOR of SipHash values, one per element, which is then fed. */
#include "digest.h"

#include <string.h>

#include "../ds/listpack.h"
#include "../ds/sha1.h"
#include "../ds/siphash.h"
#include "../ds/stream.h"
#include "../ds/util.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"

/* Fixed keys of the element hashes: every node must compute the same. */
#define KEY_A0 0x6964206e72696163ULL /* "cairn digest A-1" */
#define KEY_A1 0x312d41207473656eULL
#define KEY_B0 0x6964206e72696163ULL /* "cairn digest B-2" */
#define KEY_B1 0x322d42207473656eULL

typedef struct fold {
    uint64_t a, b;
} fold;

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Feed a string after its length (7 bits a byte, low first), so that
 * ("ab","c") and ("a","bc") differ. */
static void feed_str(sha1_ctx *c, const void *p, size_t len)
{
    unsigned char n[10];
    size_t k = 0;
    uint64_t v = len;
    do {
        n[k++] = (unsigned char)((v & 127) | (v > 127 ? 128 : 0));
        v >>= 7;
    } while (v);
    sha1_update(c, n, k);
    sha1_update(c, p, len);
}

static void feed_u64(sha1_ctx *c, uint64_t v)
{
    unsigned char b[8];
    put_le64(b, v);
    sha1_update(c, b, sizeof(b));
}

static void feed_fold(sha1_ctx *c, const fold *f)
{
    feed_u64(c, f->a);
    feed_u64(c, f->b);
}

static void fold_member(fold *f, const void *p, size_t len)
{
    f->a ^= siphash_words(p, len, KEY_A0, KEY_A1);
    f->b ^= siphash_words(p, len, KEY_B0, KEY_B1);
}

/* A pair (field and value, member and score) hashes as the second part
 * under a key that is the first part's hash, so that swapping values
 * between two fields changes the fold (an XOR of independent hashes of
 * the two parts would not notice). */
static void fold_pair(fold *f, const void *x, size_t xlen, const void *y, size_t ylen)
{
    uint64_t ha = siphash_words(x, xlen, KEY_A0, KEY_A1);
    uint64_t hb = siphash_words(x, xlen, KEY_B0, KEY_B1);
    f->a ^= siphash_words(y, ylen, ha, hb);
    f->b ^= siphash_words(y, ylen, hb, ~ha);
}

static int feed_list_element(void *priv, const char *p, size_t len)
{
    feed_str(priv, p, len);
    return 1;
}

static void feed_set(sha1_ctx *c, cobj *o)
{
    fold f = {0, 0};
    set_iter it;
    const char *p;
    size_t len;
    char buf[NUM_STR_MAX];
    set_iter_start(&it, o);
    while (set_iter_next(&it, &p, &len, buf))
        fold_member(&f, p, len);
    set_iter_end(&it);
    feed_fold(c, &f);
}

static void feed_zset(sha1_ctx *c, cobj *o)
{
    fold f = {0, 0};
    zset_iter it;
    zset_entry en;
    zset_iter_init(&it, o, 0, 0);
    while (zset_iter_next(&it, &en)) {
        uint64_t bits;
        unsigned char score[8];
        memcpy(&bits, &en.score, sizeof(bits));
        put_le64(score, bits);
        fold_pair(&f, en.ele, en.len, score, sizeof(score));
    }
    feed_fold(c, &f);
}

static void feed_hash(sha1_ctx *c, cobj *o)
{
    fold f = {0, 0};
    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            lp_value fv, vv;
            char fbuf[NUM_STR_MAX], vbuf[NUM_STR_MAX];
            size_t flen, vlen;
            lp_get(p, &fv);
            lp_get(lp_next(lp, p), &vv);
            const char *fs = lp_value_str(&fv, fbuf, &flen);
            const char *vs = lp_value_str(&vv, vbuf, &vlen);
            fold_pair(&f, fs, flen, vs, vlen);
        }
    } else {
        htab_iter it;
        hpair *p;
        htab_iter_start(&it, o->v.ptr);
        while ((p = htab_iter_next(&it)) != NULL) {
            cslice fs = hpair_field(p), vs = hpair_value(p);
            fold_pair(&f, fs.ptr, fs.len, vs.ptr, vs.len);
        }
        htab_iter_end(&it);
    }
    feed_fold(c, &f);
}

static void feed_lp_value(sha1_ctx *c, const lp_value *v)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = lp_value_str(v, buf, &len);
    feed_str(c, p, len);
}

static void feed_id(sha1_ctx *c, const sid *id)
{
    feed_u64(c, id->ms);
    feed_u64(c, id->seq);
}

/* The entries in order, as Redis; then what Redis leaves out but a
 * replica must agree on too: the last ID and each group's position. */
static void feed_stream(sha1_ctx *c, const stream *s)
{
    stream_iter it;
    sid start = SID_MIN, end = {UINT64_MAX, UINT64_MAX}, id;
    long n;
    stream_iter_start(&it, s, &start, &end, 0);
    while (stream_iter_next(&it, &id, &n)) {
        feed_id(c, &id);
        feed_u64(c, (uint64_t)n);
        for (long i = 0; i < n; i++) {
            lp_value f, v;
            stream_iter_field(&it, &f, &v);
            feed_lp_value(c, &f);
            feed_lp_value(c, &v);
        }
    }
    feed_id(c, &s->last_id);
    feed_u64(c, s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        feed_str(c, cg->name, dstr_len(cg->name));
        feed_id(c, &cg->last_id);
        feed_u64(c, (uint64_t)cg->entries_read);
        feed_u64(c, (uint64_t)cg->pel.n);
    }
}

/* The value's type, contents and whether it has an expiry (not when: as
 * Redis, a TTL refreshed to another time leaves the digest alone). */
static void feed_value(sha1_ctx *c, cobj *o)
{
    unsigned char head[2] = {(unsigned char)o->type, (unsigned char)obj_has_expire(o)};
    sha1_update(c, head, sizeof(head));
    switch (o->type) {
    case OBJ_STRING: {
        char buf[NUM_STR_MAX];
        size_t len;
        const char *p = obj_str(o, buf, &len);
        feed_str(c, p, len);
        break;
    }
    case OBJ_LIST: list_foreach(o, feed_list_element, c); break;
    case OBJ_SET: feed_set(c, o); break;
    case OBJ_ZSET: feed_zset(c, o); break;
    case OBJ_HASH: feed_hash(c, o); break;
    case OBJ_STREAM: feed_stream(c, o->v.ptr); break;
    default: break;
    }
}

void digest_value(cobj *o, unsigned char out[DIGEST_LEN])
{
    memset(out, 0, DIGEST_LEN);
    if (!o) return;
    sha1_ctx c;
    sha1_init(&c);
    feed_value(&c, o);
    sha1_final(&c, out);
}

/* d = SHA-1(d || p): the dataset's digest moves on to the next db. */
static void mix_digest(unsigned char d[DIGEST_LEN], const void *p, size_t len)
{
    sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, d, DIGEST_LEN);
    sha1_update(&c, p, len);
    sha1_final(&c, d);
}

void digest_dataset(cairn_engine *e, unsigned char out[DIGEST_LEN])
{
    memset(out, 0, DIGEST_LEN);
    for (int i = 0; i < e->ndbs; i++) {
        cdb *db = &e->dbs[i];
        if (!htab_size(db->keys)) continue;
        unsigned char id[4] = {(unsigned char)(db->id >> 24), (unsigned char)(db->id >> 16),
                               (unsigned char)(db->id >> 8), (unsigned char)db->id};
        mix_digest(out, id, sizeof(id));
        htab_iter it;
        cobj *o;
        htab_iter_start(&it, db->keys);
        while ((o = htab_iter_next(&it)) != NULL) {
            unsigned char kd[DIGEST_LEN];
            cslice key = obj_key(o);
            sha1_ctx c;
            sha1_init(&c);
            feed_str(&c, key.ptr, key.len);
            feed_value(&c, o);
            sha1_final(&c, kd);
            for (int j = 0; j < DIGEST_LEN; j++)
                out[j] ^= kd[j];
        }
        htab_iter_end(&it);
    }
}

void digest_hex(const unsigned char d[DIGEST_LEN], char out[2 * DIGEST_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < DIGEST_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * DIGEST_LEN] = '\0';
}
