/* snapshot_types.c -- each value type in a snapshot; see snapshot_types.h.
 *
 *   type    encoding   value
 *   string  int        zigzag varint
 *           raw/embstr str
 *   list    listpack   str: the listpack
 *           quicklist  varint nodes, then each node's listpack as a str
 *   set     intset     str: the intset
 *           listpack   str: the listpack
 *           hashtable  varint members, then each member as a str
 *   hash    listpack   str: the listpack (field, value, field, value ...)
 *           hashtable  varint fields, then field and value strs
 *   zset    listpack   str: the listpack (member, score, ... in order)
 *           skiplist   varint members, then member str and 8-byte score,
 *                      in ascending order
 *   stream  stream     varints last-id (ms, seq), first-id, max-deleted-id,
 *                      entries-added, then varint records, each a u8 tag:
 *                      node      master ms, seq varints, the listpack str
 *                      group     name str, last-id varints, zigzag
 *                                entries-read
 *                      consumer  name str, zigzag seen-time (of the last
 *                                group)
 *                      pending   id varints, zigzag delivery time, varint
 *                                count (of the last consumer)
 *                      nodes in ID order, then each group (in name order)
 *                      with its consumers (in name order), each followed
 *                      by its pending entries in ID order
 *
 * A blob read back is checked (lp_validate, intset_validate, plus what
 * its type requires: pairs, distinct members, ordered valid scores)
 * before anything else reads it, so a crafted or damaged file that got
 * past the checksums still cannot make the server read out of bounds.
 * Each encoding is rebuilt as it was written: OBJECT ENCODING is the same
 * after a restart. */
#include "snapshot_types.h"

#include <math.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/intset.h"
#include "../ds/listpack.h"
#include "../ds/quicklist.h"
#include "../ds/stream.h"
#include "../ds/util.h"
#include "../engine/t_hash.h"
#include "../engine/t_set.h"
#include "../engine/t_zset.h"

static uint64_t zigzag(long long v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static long long unzigzag(uint64_t u) { return (long long)(u >> 1) ^ -(long long)(u & 1); }

static cobj *new_obj(int type, int enc, void *ptr)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = (unsigned)type;
    o->encoding = (unsigned)enc;
    o->lru = 0;
    o->meta = 0;
    o->v.ptr = ptr;
    return o;
}

static int bad(snap_reader *r, const char *why)
{
    r->bad = why;
    return 0;
}

/* Sizing hints from a file are capped: they are only hints. */
static uint64_t hint(uint64_t n) { return n < (1u << 20) ? n : (1u << 20); }

/* ---------------------------------------------------------------------- */
/* Strings                                                                 */
/* ---------------------------------------------------------------------- */

static void write_string(snap_writer *w, const cobj *o)
{
    if (o->encoding == ENC_INT) {
        sw_varint(w, zigzag(o->v.ll));
    } else {
        char buf[NUM_STR_MAX];
        size_t len;
        const char *p = obj_str(o, buf, &len);
        sw_str(w, p, len);
    }
}

static int read_string(snap_reader *r, int enc, cobj **out)
{
    if (enc == ENC_INT) {
        uint64_t u;
        if (!sr_varint(r, &u)) return 0;
        *out = obj_new_int(unzigzag(u));
        return 1;
    }
    if (enc != ENC_RAW && enc != ENC_EMBSTR) return bad(r, "bad string encoding");
    const char *s;
    size_t len;
    if (!sr_str(r, &s, &len)) return 0;
    *out = obj_new_string(s, len);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Blobs                                                                   */
/* ---------------------------------------------------------------------- */

static void write_lp(snap_writer *w, const unsigned char *lp) { sw_str(w, lp, lp_bytes(lp)); }

/* Read a listpack blob and check its structure; NULL when the bytes are
 * not all there yet or it is malformed (r->bad says so). */
static unsigned char *read_lp(snap_reader *r)
{
    const char *s;
    size_t len;
    if (!sr_str(r, &s, &len)) return NULL;
    if (!lp_validate((const unsigned char *)s, len)) {
        r->bad = "malformed listpack";
        return NULL;
    }
    return cm_memdup(s, len);
}

/* The bytes of a listpack entry, integers formatted into buf. */
static cslice lp_slice(unsigned char *p, char *buf)
{
    lp_value v;
    lp_get(p, &v);
    size_t len;
    const char *s = lp_value_str(&v, buf, &len);
    return (cslice){s, len};
}

/* Are the entries at positions 0, stride, 2*stride ... all distinct?
 * (Hash fields: stride 2; set members: stride 1.) */
static int lp_distinct(unsigned char *lp, unsigned stride, const uint8_t seed[16])
{
    dict *seen = dict_create(seed, NULL, 0);
    int ok = 1;
    unsigned i = 0;
    for (unsigned char *p = lp_first(lp); p && ok; p = lp_next(lp, p), i++) {
        if (i % stride) continue;
        char buf[NUM_STR_MAX];
        cslice s = lp_slice(p, buf);
        dstr copy = dstr_new(s.ptr, s.len);
        ok = dict_add(seen, copy, NULL) != NULL;
        if (!ok) dstr_free(copy); /* not taken by the dict */
    }
    dict_release(seen);
    return ok;
}

/* ---------------------------------------------------------------------- */
/* Lists                                                                   */
/* ---------------------------------------------------------------------- */

static void write_list(snap_writer *w, const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        write_lp(w, o->v.ptr);
        return;
    }
    const quicklist *ql = o->v.ptr;
    sw_varint(w, ql->len);
    for (const ql_node *n = ql->head; n; n = n->next)
        write_lp(w, n->lp);
}

static int read_list(snap_reader *r, cairn_engine *e, int enc, cobj **out, snap_partial *part)
{
    if (enc == ENC_LISTPACK) {
        unsigned char *lp = read_lp(r);
        if (!lp) return 0;
        if (lp_length(lp) == 0) {
            lp_free(lp);
            return bad(r, "empty list");
        }
        *out = new_obj(OBJ_LIST, ENC_LISTPACK, lp);
        return 1;
    }
    if (enc != ENC_QUICKLIST) return bad(r, "bad list encoding");
    uint64_t nodes;
    if (!sr_varint(r, &nodes)) return 0;
    if (nodes == 0) return bad(r, "empty list");
    quicklist *ql = ql_create(e->cfg.list_max_listpack_size, e->cfg.list_compress_depth);
    part->obj = new_obj(OBJ_LIST, ENC_QUICKLIST, ql);
    part->remaining = nodes;
    return 1;
}

static int read_list_node(snap_reader *r, snap_partial *part)
{
    unsigned char *lp = read_lp(r);
    if (!lp) return 0;
    if (lp_length(lp) == 0) {
        lp_free(lp);
        return bad(r, "empty list node");
    }
    ql_append_listpack(part->obj->v.ptr, lp);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Sets                                                                    */
/* ---------------------------------------------------------------------- */

static void write_members(snap_writer *w, htab *h)
{
    sw_varint(w, htab_size(h));
    htab_iter it;
    dstr m;
    htab_iter_start(&it, h);
    while ((m = htab_iter_next(&it)) != NULL)
        sw_str(w, m, dstr_len(m));
    htab_iter_end(&it);
}

static void write_set(snap_writer *w, const cobj *o)
{
    switch (o->encoding) {
    case ENC_INTSET: sw_str(w, o->v.ptr, intset_bytes(o->v.ptr)); break;
    case ENC_LISTPACK: write_lp(w, o->v.ptr); break;
    default: write_members(w, o->v.ptr); break;
    }
}

static int read_intset(snap_reader *r, cobj **out)
{
    const char *s;
    size_t len;
    if (!sr_str(r, &s, &len)) return 0;
    /* Copy first: the blob in the stream may not be aligned. */
    intset *is = cm_memdup(s, len);
    if (!intset_validate(is, len) || intset_len(is) == 0) {
        cm_free(is);
        return bad(r, "malformed intset");
    }
    *out = new_obj(OBJ_SET, ENC_INTSET, is);
    return 1;
}

static int read_set(snap_reader *r, cairn_engine *e, int enc, cobj **out, snap_partial *part)
{
    if (enc == ENC_INTSET) return read_intset(r, out);
    if (enc == ENC_LISTPACK) {
        unsigned char *lp = read_lp(r);
        if (!lp) return 0;
        if (lp_length(lp) == 0 || !lp_distinct(lp, 1, e->hash_seed)) {
            lp_free(lp);
            return bad(r, "empty set or repeated members");
        }
        *out = new_obj(OBJ_SET, ENC_LISTPACK, lp);
        return 1;
    }
    if (enc != ENC_HASHTABLE) return bad(r, "bad set encoding");
    uint64_t n;
    if (!sr_varint(r, &n)) return 0;
    if (n == 0) return bad(r, "empty set");
    part->obj = new_obj(OBJ_SET, ENC_HASHTABLE, set_htab_new(e->hash_seed, hint(n)));
    part->remaining = n;
    return 1;
}

static int read_set_member(snap_reader *r, snap_partial *part)
{
    const char *s;
    size_t len;
    if (!sr_str(r, &s, &len)) return 0;
    if (!set_htab_add(part->obj->v.ptr, s, len)) return bad(r, "repeated set member");
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Hashes                                                                  */
/* ---------------------------------------------------------------------- */

static void write_hash(snap_writer *w, const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        write_lp(w, o->v.ptr);
        return;
    }
    htab *h = o->v.ptr;
    sw_varint(w, htab_size(h));
    htab_iter it;
    hpair *p;
    htab_iter_start(&it, h);
    while ((p = htab_iter_next(&it)) != NULL) {
        cslice f = hpair_field(p), v = hpair_value(p);
        sw_str(w, f.ptr, f.len);
        sw_str(w, v.ptr, v.len);
    }
    htab_iter_end(&it);
}

static int read_hash(snap_reader *r, cairn_engine *e, int enc, cobj **out, snap_partial *part)
{
    if (enc == ENC_LISTPACK) {
        unsigned char *lp = read_lp(r);
        if (!lp) return 0;
        unsigned long n = lp_length(lp);
        if (n == 0 || n % 2 || !lp_distinct(lp, 2, e->hash_seed)) {
            lp_free(lp);
            return bad(r, "empty hash, odd listpack or repeated fields");
        }
        *out = new_obj(OBJ_HASH, ENC_LISTPACK, lp);
        return 1;
    }
    if (enc != ENC_HASHTABLE) return bad(r, "bad hash encoding");
    uint64_t n;
    if (!sr_varint(r, &n)) return 0;
    if (n == 0) return bad(r, "empty hash");
    htab *h = htab_create(&hash_htab_type, e->hash_seed);
    htab_expand(h, hint(n));
    part->obj = new_obj(OBJ_HASH, ENC_HASHTABLE, h);
    part->remaining = n;
    return 1;
}

static int read_hash_pair(snap_reader *r, snap_partial *part)
{
    const char *f, *v;
    size_t flen, vlen;
    if (!sr_str(r, &f, &flen) || !sr_str(r, &v, &vlen)) return 0;
    hpair *p = hpair_new(f, flen, v, vlen);
    if (!htab_add(part->obj->v.ptr, p, NULL)) {
        cm_free(p);
        return bad(r, "repeated hash field");
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Sorted sets                                                             */
/* ---------------------------------------------------------------------- */

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static void write_zset(snap_writer *w, const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        write_lp(w, o->v.ptr);
        return;
    }
    const zset *zs = o->v.ptr;
    sw_varint(w, zs->zsl->length);
    for (zsl_node *n = zsl_first(zs->zsl); n; n = zsl_next(n)) {
        sw_str(w, zsl_node_ele(n), zsl_node_len(n));
        sw_u64(w, double_bits(n->score));
    }
}

/* A score entry of a zset listpack, as zset.c writes them: an integer or
 * the text of a double. */
static int lp_score(unsigned char *p, double *out)
{
    lp_value v;
    lp_get(p, &v);
    if (!v.str) {
        *out = (double)v.ll;
        return 1;
    }
    return str_to_double((const char *)v.str, v.len, out) && !isnan(*out);
}

/* Pairs of (member, score), members distinct, in (score, member) order. */
static int zset_lp_sound(unsigned char *lp, const uint8_t seed[16])
{
    unsigned long n = lp_length(lp);
    if (n == 0 || n % 2 || !lp_distinct(lp, 2, seed)) return 0;
    double prev = 0;
    char pbuf[NUM_STR_MAX], buf[NUM_STR_MAX];
    cslice pm = {NULL, 0};
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
        double score;
        if (!lp_score(lp_next(lp, p), &score)) return 0;
        cslice m = lp_slice(p, buf);
        if (pm.ptr &&
            (score < prev || (score == prev && zsl_cmp_members(pm.ptr, pm.len, m.ptr, m.len) >= 0)))
            return 0;
        /* Keep the previous member's bytes: buf is reused. */
        memcpy(pbuf, m.ptr, m.len < sizeof(pbuf) ? m.len : sizeof(pbuf));
        pm = m.ptr == buf ? (cslice){pbuf, m.len} : m;
        prev = score;
    }
    return 1;
}

static int read_zset(snap_reader *r, cairn_engine *e, int enc, cobj **out, snap_partial *part)
{
    if (enc == ENC_LISTPACK) {
        unsigned char *lp = read_lp(r);
        if (!lp) return 0;
        if (!zset_lp_sound(lp, e->hash_seed)) {
            lp_free(lp);
            return bad(r, "malformed sorted set listpack");
        }
        *out = new_obj(OBJ_ZSET, ENC_LISTPACK, lp);
        return 1;
    }
    if (enc != ENC_SKIPLIST) return bad(r, "bad sorted set encoding");
    uint64_t n;
    if (!sr_varint(r, &n)) return 0;
    if (n == 0) return bad(r, "empty sorted set");
    cmd_call c;
    memset(&c, 0, sizeof(c));
    c.e = e;
    part->obj = zset_new_skiplist(&c);
    part->remaining = n;
    return 1;
}

static int read_zset_member(snap_reader *r, snap_partial *part)
{
    const char *m;
    size_t len;
    uint64_t bits;
    if (!sr_str(r, &m, &len) || !sr_u64(r, &bits)) return 0;
    double score;
    memcpy(&score, &bits, sizeof(score));
    if (isnan(score)) return bad(r, "NaN score");
    zset *zs = part->obj->v.ptr;
    if (htab_find(zs->members, m, len)) return bad(r, "repeated sorted set member");
    /* Node levels are random; any draw gives the same set. */
    cmd_call c;
    memset(&c, 0, sizeof(c));
    c.e = part->e;
    crand_seed(&c.rng, (uint64_t)zs->zsl->length * 0x9E3779B97F4A7C15ull + bits);
    zset_skiplist_insert(&c, zs, score, m, len);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Streams                                                                 */
/* ---------------------------------------------------------------------- */

enum { SREC_NODE = 0, SREC_GROUP = 1, SREC_CONSUMER = 2, SREC_PENDING = 3 };

static void sw_sid(snap_writer *w, const sid *id)
{
    sw_varint(w, id->ms);
    sw_varint(w, id->seq);
}

static int sr_sid(snap_reader *r, sid *id)
{
    return sr_varint(r, &id->ms) && sr_varint(r, &id->seq);
}

static uint64_t stream_records(const stream *s)
{
    uint64_t n = stream_node_count(s);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        n += 1 + cg->nconsumers + sidmap_len(&cg->pel);
    }
    return n;
}

static void write_consumer(snap_writer *w, const stream_cg *cg, const stream_consumer *who)
{
    sw_u8(w, SREC_CONSUMER);
    sw_str(w, who->name, dstr_len(who->name));
    sw_varint(w, zigzag(who->seen_time));
    for (size_t i = 0; i < sidmap_len(&who->pel); i++) {
        const sid *id = &sidmap_at(&who->pel, i)->id;
        const stream_nack *nack = sidmap_find(&cg->pel, id)->val;
        sw_u8(w, SREC_PENDING);
        sw_sid(w, id);
        sw_varint(w, zigzag(nack->delivery_time));
        sw_varint(w, nack->delivery_count);
    }
}

static void write_stream(snap_writer *w, const cobj *o)
{
    const stream *s = o->v.ptr;
    sw_sid(w, &s->last_id);
    sw_sid(w, &s->first_id);
    sw_sid(w, &s->max_deleted_id);
    sw_varint(w, s->entries_added);
    sw_varint(w, stream_records(s));
    for (size_t i = 0; i < stream_node_count(s); i++) {
        sid master;
        unsigned char *lp = stream_node_lp(s, i, &master);
        sw_u8(w, SREC_NODE);
        sw_sid(w, &master);
        write_lp(w, lp);
    }
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        sw_u8(w, SREC_GROUP);
        sw_str(w, cg->name, dstr_len(cg->name));
        sw_sid(w, &cg->last_id);
        sw_varint(w, zigzag(cg->entries_read));
        for (size_t i = 0; i < cg->nconsumers; i++)
            write_consumer(w, cg, cg->consumers[i]);
    }
}

static int read_stream(snap_reader *r, int enc, cobj **out, snap_partial *part)
{
    if (enc != ENC_STREAM) return bad(r, "bad stream encoding");
    sid last, first, maxdel;
    uint64_t added, records;
    if (!sr_sid(r, &last) || !sr_sid(r, &first) || !sr_sid(r, &maxdel) || !sr_varint(r, &added) ||
        !sr_varint(r, &records))
        return 0;
    stream *s = stream_new();
    s->last_id = last;
    s->first_id = first;
    s->max_deleted_id = maxdel;
    s->entries_added = added;
    cobj *o = new_obj(OBJ_STREAM, ENC_STREAM, s);
    if (records == 0) {
        *out = o;
        return 1;
    }
    part->obj = o;
    part->remaining = records;
    return 1;
}

static stream_cg *last_group(const stream *s)
{
    return s->ngroups ? s->groups[s->ngroups - 1] : NULL;
}

static int read_stream_node(snap_reader *r, stream *s)
{
    sid master;
    if (!sr_sid(r, &master)) return 0;
    if (s->ngroups) return bad(r, "stream node after a group");
    unsigned char *lp = read_lp(r);
    if (!lp) return 0;
    if (!stream_load_node(s, &master, lp)) {
        lp_free(lp);
        return bad(r, "malformed stream node");
    }
    return 1;
}

static int read_stream_group(snap_reader *r, stream *s)
{
    const char *name;
    size_t len;
    sid last;
    uint64_t er;
    if (!sr_str(r, &name, &len) || !sr_sid(r, &last) || !sr_varint(r, &er)) return 0;
    stream_cg *prev = last_group(s);
    stream_cg *cg = stream_cg_create(s, name, len, &last, unzigzag(er));
    if (!cg || (prev && last_group(s) != cg)) return bad(r, "stream groups repeated or unordered");
    return 1;
}

static int read_stream_consumer(snap_reader *r, stream *s)
{
    const char *name;
    size_t len;
    uint64_t seen;
    if (!sr_str(r, &name, &len) || !sr_varint(r, &seen)) return 0;
    stream_cg *cg = last_group(s);
    if (!cg) return bad(r, "stream consumer outside a group");
    if (cg->nconsumers) {
        dstr prev = cg->consumers[cg->nconsumers - 1]->name;
        size_t plen = dstr_len(prev);
        int c = memcmp(prev, name, plen < len ? plen : len);
        if (c > 0 || (c == 0 && plen >= len))
            return bad(r, "stream consumers repeated or unordered");
    }
    stream_consumer_create(cg, name, len, unzigzag(seen));
    return 1;
}

static int read_stream_pending(snap_reader *r, stream *s)
{
    sid id;
    uint64_t when, count;
    if (!sr_sid(r, &id) || !sr_varint(r, &when) || !sr_varint(r, &count)) return 0;
    stream_cg *cg = last_group(s);
    if (!cg || !cg->nconsumers) return bad(r, "pending entry outside a consumer");
    if (sidmap_find(&cg->pel, &id)) return bad(r, "repeated pending entry");
    stream_nack *nack = stream_nack_add(cg, cg->consumers[cg->nconsumers - 1], &id, unzigzag(when));
    nack->delivery_count = count;
    return 1;
}

static int read_stream_record(snap_reader *r, snap_partial *part)
{
    unsigned tag;
    if (!sr_u8(r, &tag)) return 0;
    stream *s = part->obj->v.ptr;
    int ok;
    switch (tag) {
    case SREC_NODE: ok = read_stream_node(r, s); break;
    case SREC_GROUP: ok = read_stream_group(r, s); break;
    case SREC_CONSUMER: ok = read_stream_consumer(r, s); break;
    case SREC_PENDING: ok = read_stream_pending(r, s); break;
    default: return bad(r, "unknown stream record");
    }
    return ok;
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                                */
/* ---------------------------------------------------------------------- */

void snap_write_value(snap_writer *w, const cobj *o)
{
    switch (o->type) {
    case OBJ_STRING: write_string(w, o); break;
    case OBJ_LIST: write_list(w, o); break;
    case OBJ_SET: write_set(w, o); break;
    case OBJ_HASH: write_hash(w, o); break;
    case OBJ_ZSET: write_zset(w, o); break;
    case OBJ_STREAM: write_stream(w, o); break;
    default: break; /* no other type is ever stored */
    }
}

int snap_read_value(snap_reader *r, cairn_engine *e, int type, int enc, cobj **out,
                    snap_partial *part)
{
    *out = NULL;
    part->type = type;
    part->enc = enc;
    part->e = e;
    switch (type) {
    case OBJ_STRING: return read_string(r, enc, out);
    case OBJ_LIST: return read_list(r, e, enc, out, part);
    case OBJ_SET: return read_set(r, e, enc, out, part);
    case OBJ_HASH: return read_hash(r, e, enc, out, part);
    case OBJ_ZSET: return read_zset(r, e, enc, out, part);
    case OBJ_STREAM: return read_stream(r, enc, out, part);
    default: return bad(r, "unknown value type");
    }
}

int snap_read_element(snap_reader *r, snap_partial *part)
{
    int ok;
    switch (part->type) {
    case OBJ_LIST: ok = read_list_node(r, part); break;
    case OBJ_SET: ok = read_set_member(r, part); break;
    case OBJ_HASH: ok = read_hash_pair(r, part); break;
    case OBJ_ZSET: ok = read_zset_member(r, part); break;
    case OBJ_STREAM: ok = read_stream_record(r, part); break;
    default: return bad(r, "no collection in progress");
    }
    if (ok) part->remaining--;
    return ok;
}

cobj *snap_partial_finish(snap_partial *part)
{
    cobj *o = part->obj;
    part->obj = NULL;
    part->remaining = 0;
    return o;
}

void snap_partial_discard(snap_partial *part)
{
    if (part->obj) obj_free(part->obj);
    part->obj = NULL;
    dstr_free(part->key);
    part->key = NULL;
}
