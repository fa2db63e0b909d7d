/* digest.c -- see digest.h. */
#include "digest.h"

#include <string.h>

#include "../ds/listpack.h"
#include "../ds/sha1.h"
#include "../ds/stream.h"
#include "../ds/util.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"

/* d ^= SHA-1(p): order-free accumulation. */
static void xor_digest(unsigned char d[DIGEST_LEN], const void *p, size_t len)
{
    unsigned char h[DIGEST_LEN];
    sha1(p, len, h);
    for (int i = 0; i < DIGEST_LEN; i++)
        d[i] ^= h[i];
}

/* d = SHA-1(d ^ SHA-1(p)): accumulation that depends on the order. */
static void mix_digest(unsigned char d[DIGEST_LEN], const void *p, size_t len)
{
    unsigned char h[DIGEST_LEN];
    xor_digest(d, p, len);
    sha1(d, DIGEST_LEN, h);
    memcpy(d, h, DIGEST_LEN);
}

/* d ^= the signature of a pair (hash field and value, member and score). */
static void xor_pair(unsigned char d[DIGEST_LEN], const char *a, size_t alen, const char *b,
                     size_t blen)
{
    unsigned char e[DIGEST_LEN] = {0};
    mix_digest(e, a, alen);
    mix_digest(e, b, blen);
    for (int i = 0; i < DIGEST_LEN; i++)
        d[i] ^= e[i];
}

static int mix_list_element(void *priv, const char *p, size_t len)
{
    mix_digest(priv, p, len);
    return 1;
}

static void digest_set(unsigned char d[DIGEST_LEN], cobj *o)
{
    set_iter it;
    const char *p;
    size_t len;
    char buf[NUM_STR_MAX];
    set_iter_start(&it, o);
    while (set_iter_next(&it, &p, &len, buf))
        xor_digest(d, p, len);
    set_iter_end(&it);
}

static void digest_zset(unsigned char d[DIGEST_LEN], cobj *o)
{
    zset_iter it;
    zset_entry en;
    zset_iter_init(&it, o, 0, 0);
    while (zset_iter_next(&it, &en)) {
        char score[40];
        int n = c_snprintf(score, sizeof(score), "%.17g", en.score);
        xor_pair(d, en.ele, en.len, score, (size_t)n);
    }
}

static void digest_hash(unsigned char d[DIGEST_LEN], cobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            lp_value f, v;
            char fbuf[NUM_STR_MAX], vbuf[NUM_STR_MAX];
            size_t flen, vlen;
            lp_get(p, &f);
            lp_get(lp_next(lp, p), &v);
            const char *fs = lp_value_str(&f, fbuf, &flen);
            const char *vs = lp_value_str(&v, vbuf, &vlen);
            xor_pair(d, fs, flen, vs, vlen);
        }
        return;
    }
    htab_iter it;
    hpair *p;
    htab_iter_start(&it, o->v.ptr);
    while ((p = htab_iter_next(&it)) != NULL) {
        cslice f = hpair_field(p), v = hpair_value(p);
        xor_pair(d, f.ptr, f.len, v.ptr, v.len);
    }
    htab_iter_end(&it);
}

static void mix_lp_value(unsigned char d[DIGEST_LEN], const lp_value *v)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = lp_value_str(v, buf, &len);
    mix_digest(d, p, len);
}

static void mix_id(unsigned char d[DIGEST_LEN], const sid *id)
{
    char buf[48];
    int n = c_snprintf(buf, sizeof(buf), "%llu-%llu", (unsigned long long)id->ms,
                       (unsigned long long)id->seq);
    mix_digest(d, buf, (size_t)n);
}

/* The entries in order, as Redis; then what Redis leaves out but a
 * replica must agree on too: the last ID and each group's position. */
static void digest_stream(unsigned char d[DIGEST_LEN], const stream *s)
{
    stream_iter it;
    sid start = SID_MIN, end = {UINT64_MAX, UINT64_MAX}, id;
    long n;
    stream_iter_start(&it, s, &start, &end, 0);
    while (stream_iter_next(&it, &id, &n)) {
        mix_id(d, &id);
        for (long i = 0; i < n; i++) {
            lp_value f, v;
            stream_iter_field(&it, &f, &v);
            mix_lp_value(d, &f);
            mix_lp_value(d, &v);
        }
    }
    mix_id(d, &s->last_id);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        mix_digest(d, cg->name, dstr_len(cg->name));
        mix_id(d, &cg->last_id);
        char buf[32];
        int len = c_snprintf(buf, sizeof(buf), "%lld %zu", cg->entries_read, cg->pel.n);
        mix_digest(d, buf, (size_t)len);
    }
}

void digest_value(cobj *o, unsigned char out[DIGEST_LEN])
{
    memset(out, 0, DIGEST_LEN);
    if (!o) return;
    unsigned char type[4] = {0, 0, 0, (unsigned char)o->type}; /* big-endian, as Redis */
    mix_digest(out, type, sizeof(type));
    switch (o->type) {
    case OBJ_STRING: {
        char buf[NUM_STR_MAX];
        size_t len;
        const char *p = obj_str(o, buf, &len);
        mix_digest(out, p, len);
        break;
    }
    case OBJ_LIST: list_foreach(o, mix_list_element, out); break;
    case OBJ_SET: digest_set(out, o); break;
    case OBJ_ZSET: digest_zset(out, o); break;
    case OBJ_HASH: digest_hash(out, o); break;
    case OBJ_STREAM: digest_stream(out, o->v.ptr); break;
    default: break;
    }
    if (obj_has_expire(o)) xor_digest(out, "!!expire!!", 10);
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
            unsigned char kd[DIGEST_LEN] = {0};
            cslice key = obj_key(o);
            mix_digest(kd, key.ptr, key.len);
            /* Then the value's signature, mixed after the key's. */
            unsigned char vd[DIGEST_LEN];
            digest_value(o, vd);
            mix_digest(kd, vd, DIGEST_LEN);
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
