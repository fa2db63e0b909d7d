/* zset.c -- the sorted-set type; see t_zset.h.
 *
 * Two encodings behind one set of operations.  The listpack ("zzl")
 * functions keep member,score pairs in (score, member) order, so ranges
 * are linear scans over at most zset-max-listpack-entries pairs; the
 * skiplist encoding pairs a skiplist (order, ranks, ranges) with an htab
 * of its nodes (member -> node, O(1) score lookups). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/listpack.h"
#include "../ds/util.h"
#include "t_zset.h"

/* Redis refuses to grow a listpack past 1 GB (lpSafeToAdd). */
#define ZZL_SAFETY_SIZE (1u << 30)

/* ---------------------------------------------------------------------------
 * Listpack encoding
 * ------------------------------------------------------------------------ */

/* Score entries hold text written by double_to_str(), or an integer. */
static double zzl_score(const unsigned char *sptr)
{
    lp_value v;
    lp_get(sptr, &v);
    if (!v.str) return (double)v.ll;
    char buf[NUM_STR_MAX];
    size_t n = v.len < sizeof(buf) - 1 ? v.len : sizeof(buf) - 1;
    memcpy(buf, v.str, n);
    buf[n] = '\0';
    return c_strtod(buf, NULL);
}

/* The text a score is stored as.  Integral scores within +-2^62 are
 * written as integers (the listpack then packs them as such), as Redis's
 * double2ll does -- which also turns -0 into 0 in this encoding. */
static int zzl_score_text(char *buf, size_t size, double score)
{
    if (score >= (double)(-LLONG_MAX / 2) && score <= (double)(LLONG_MAX / 2)) {
        long long ll = (long long)score;
        if ((double)ll == score) return ll_to_str(buf, size, ll);
    }
    return double_to_str(buf, size, score);
}

static void zzl_member(const unsigned char *eptr, zset_entry *e)
{
    lp_value v;
    lp_get(eptr, &v);
    e->ele = lp_value_str(&v, e->buf, &e->len);
}

/* Compare the member at eptr with (ele, len). */
static int zzl_cmp_member(const unsigned char *eptr, const char *ele, size_t len)
{
    zset_entry e;
    zzl_member(eptr, &e);
    return zsl_cmp_members(e.ele, e.len, ele, len);
}

static unsigned long zzl_length(unsigned char *lp) { return lp_length(lp) / 2; }

/* Step a (member, score) pair forward or backward; eptr becomes NULL at
 * either end. */
static void zzl_next(unsigned char *lp, unsigned char **eptr, unsigned char **sptr)
{
    unsigned char *e = lp_next(lp, *sptr);
    *eptr = e;
    *sptr = e ? lp_next(lp, e) : NULL;
}

static void zzl_prev(unsigned char *lp, unsigned char **eptr, unsigned char **sptr)
{
    unsigned char *s = lp_prev(lp, *eptr);
    *sptr = s;
    *eptr = s ? lp_prev(lp, s) : NULL;
}

/* The member entry of ele and its score, or NULL. */
static unsigned char *zzl_find(unsigned char *lp, const char *ele, size_t len, double *score)
{
    unsigned char *eptr = lp_find(lp, lp_first(lp), ele, len, 1);
    if (eptr && score) *score = zzl_score(lp_next(lp, eptr));
    return eptr;
}

static unsigned char *zzl_delete(unsigned char *lp, unsigned char *eptr)
{
    unsigned char *next;
    lp = lp_delete(lp, eptr, &next);
    return lp_delete(lp, next, NULL);
}

/* Insert (ele, score) at its place; ele must not be in the listpack. */
static unsigned char *zzl_insert(unsigned char *lp, const char *ele, size_t len, double score)
{
    char sbuf[NUM_STR_MAX];
    int slen = zzl_score_text(sbuf, sizeof(sbuf), score);
    unsigned char *eptr = lp_first(lp), *sptr;

    while (eptr) {
        sptr = lp_next(lp, eptr);
        double s = zzl_score(sptr);
        if (s > score || (s == score && zzl_cmp_member(eptr, ele, len) > 0)) {
            unsigned char *newp;
            lp = lp_insert(lp, eptr, LP_BEFORE, ele, len, &newp);
            return lp_insert(lp, newp, LP_AFTER, sbuf, (size_t)slen, NULL);
        }
        eptr = lp_next(lp, sptr);
    }
    lp = lp_append(lp, ele, len);
    return lp_append(lp, sbuf, (size_t)slen);
}

/* Is some element possibly in the range?  Checks both ends. */
static int zzl_range_overlaps(unsigned char *lp, const zrange_spec *r)
{
    if (!zsl_range_is_valid(r)) return 0;
    unsigned char *p = lp_last(lp);
    if (!p || !zsl_value_gte_min(zzl_score(p), r)) return 0;
    p = lp_seek(lp, 1);
    return p && zsl_value_lte_max(zzl_score(p), r);
}

static unsigned char *zzl_first_in_range(unsigned char *lp, const zrange_spec *r)
{
    if (!zzl_range_overlaps(lp, r)) return NULL;
    for (unsigned char *eptr = lp_first(lp); eptr;) {
        unsigned char *sptr = lp_next(lp, eptr);
        double s = zzl_score(sptr);
        if (zsl_value_gte_min(s, r)) return zsl_value_lte_max(s, r) ? eptr : NULL;
        eptr = lp_next(lp, sptr);
    }
    return NULL;
}

static unsigned char *zzl_last_in_range(unsigned char *lp, const zrange_spec *r)
{
    if (!zzl_range_overlaps(lp, r)) return NULL;
    for (unsigned char *sptr = lp_last(lp); sptr;) {
        unsigned char *eptr = lp_prev(lp, sptr);
        double s = zzl_score(sptr);
        if (zsl_value_lte_max(s, r)) return zsl_value_gte_min(s, r) ? eptr : NULL;
        sptr = lp_prev(lp, eptr);
    }
    return NULL;
}

static int zzl_lex_gte_min(const unsigned char *eptr, const zlex_spec *r)
{
    zset_entry e;
    zzl_member(eptr, &e);
    return zsl_lex_gte_min(e.ele, e.len, r);
}

static int zzl_lex_lte_max(const unsigned char *eptr, const zlex_spec *r)
{
    zset_entry e;
    zzl_member(eptr, &e);
    return zsl_lex_lte_max(e.ele, e.len, r);
}

static int zzl_lex_overlaps(unsigned char *lp, const zlex_spec *r)
{
    if (!zsl_lex_range_is_valid(r)) return 0;
    unsigned char *p = lp_seek(lp, -2);
    if (!p || !zzl_lex_gte_min(p, r)) return 0;
    p = lp_first(lp);
    return p && zzl_lex_lte_max(p, r);
}

static unsigned char *zzl_first_in_lex(unsigned char *lp, const zlex_spec *r)
{
    if (!zzl_lex_overlaps(lp, r)) return NULL;
    for (unsigned char *eptr = lp_first(lp); eptr; eptr = lp_next(lp, lp_next(lp, eptr)))
        if (zzl_lex_gte_min(eptr, r)) return zzl_lex_lte_max(eptr, r) ? eptr : NULL;
    return NULL;
}

static unsigned char *zzl_last_in_lex(unsigned char *lp, const zlex_spec *r)
{
    if (!zzl_lex_overlaps(lp, r)) return NULL;
    for (unsigned char *eptr = lp_seek(lp, -2); eptr;) {
        if (zzl_lex_lte_max(eptr, r)) return zzl_lex_gte_min(eptr, r) ? eptr : NULL;
        unsigned char *sptr = lp_prev(lp, eptr);
        eptr = sptr ? lp_prev(lp, sptr) : NULL;
    }
    return NULL;
}

/* Delete pairs from eptr on while they stay in range. */
typedef int (*zzl_in_range_fn)(unsigned char *eptr, unsigned char *sptr, const void *spec);

static unsigned char *zzl_delete_run(unsigned char *lp, unsigned char *eptr, zzl_in_range_fn fn,
                                     const void *spec, unsigned long *deleted)
{
    size_t off = eptr ? (size_t)(eptr - lp) : 0;
    while (eptr && fn(eptr, lp_next(lp, eptr), spec)) {
        lp = zzl_delete(lp, eptr);
        (*deleted)++;
        eptr = lp[off] == 0xFF ? NULL : lp + off; /* the next pair slid into place */
    }
    return lp;
}

static int zzl_score_lte_max(unsigned char *eptr, unsigned char *sptr, const void *spec)
{
    (void)eptr;
    return zsl_value_lte_max(zzl_score(sptr), spec);
}

static int zzl_member_lte_max(unsigned char *eptr, unsigned char *sptr, const void *spec)
{
    (void)sptr;
    return zzl_lex_lte_max(eptr, spec);
}

/* ---------------------------------------------------------------------------
 * Skiplist encoding
 * ------------------------------------------------------------------------ */

static cslice zs_node_key(const void *node) { return zsl_node_member(node); }

/* The table indexes the skiplist's nodes, which the skiplist owns. */
static const htab_type zs_members_type = {zs_node_key, NULL};

static zset *zs_new(const uint8_t seed[16])
{
    zset *zs = cm_malloc(sizeof(*zs));
    zs->members = htab_create(&zs_members_type, seed);
    zs->zsl = zsl_create();
    return zs;
}

static void zs_free(zset *zs)
{
    htab_release(zs->members);
    zsl_free(zs->zsl);
    cm_free(zs);
}

/* Insert a member known to be absent whose hash is already computed. */
static zsl_node *zs_insert_hashed(cmd_call *c, zset *zs, double score, const char *ele, size_t len,
                                  uint64_t hash)
{
    zsl_node *n = zsl_insert(zs->zsl, score, ele, len, &c->rng);
    htab_add_new_hashed(zs->members, n, hash);
    return n;
}

zsl_node *zset_skiplist_insert(cmd_call *c, zset *zs, double score, const char *ele, size_t len)
{
    return zs_insert_hashed(c, zs, score, ele, len, htab_hash(zs->members, ele, len));
}

static zsl_node *zs_find(zset *zs, const char *ele, size_t len)
{
    return htab_find(zs->members, ele, len);
}

static int zs_remove(zset *zs, const char *ele, size_t len)
{
    zsl_node *n = htab_pop(zs->members, ele, len);
    if (!n) return 0;
    zsl_delete_node(zs->zsl, n);
    return 1;
}

/* Range deletions drop each node from the table just before it is freed. */
static void zs_unindex(void *priv, zsl_node *n)
{
    cslice m = zsl_node_member(n);
    htab_pop(priv, m.ptr, m.len);
}

/* 1-based rank of a node of the list. */
static unsigned long zs_rank(zset *zs, const zsl_node *n)
{
    cslice m = zsl_node_member(n);
    return zsl_get_rank(zs->zsl, n->score, m.ptr, m.len);
}

/* ---------------------------------------------------------------------------
 * Object life cycle and conversions
 * ------------------------------------------------------------------------ */

static cobj *zobj_new(int encoding, void *ptr)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_ZSET;
    o->encoding = (unsigned)encoding;
    o->lru = 0;
    o->meta = 0;
    o->v.ptr = ptr;
    return o;
}

cobj *zset_create(cmd_call *c, size_t size_hint, size_t maxelelen)
{
    const cairn_config *cfg = &c->e->cfg;
    if (cfg->zset_max_listpack_entries == 0 || size_hint > (size_t)cfg->zset_max_listpack_entries ||
        maxelelen > (size_t)cfg->zset_max_listpack_value)
        return zobj_new(ENC_SKIPLIST, zs_new(c->e->hash_seed));
    return zobj_new(ENC_LISTPACK, lp_new(0));
}

cobj *zset_new_skiplist(cmd_call *c) { return zobj_new(ENC_SKIPLIST, zs_new(c->e->hash_seed)); }

void zset_obj_free(cobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        lp_free(o->v.ptr);
    else
        zs_free(o->v.ptr);
}

size_t zset_obj_mem(cobj *o, long long samples)
{
    if (o->encoding == ENC_LISTPACK) return cm_usable_size(o->v.ptr);
    zset *zs = o->v.ptr;
    zskiplist *zsl = zs->zsl;
    size_t n = cm_usable_size(zs) + cm_usable_size(zsl) + htab_mem_usage(zs->members) +
               zsl_node_mem(zsl->header);
    /* The nodes (each holding its member) from the lowest score, as
     * Redis samples them. */
    size_t sum = 0;
    long long seen = 0;
    for (zsl_node *x = zsl_first(zsl); x && (samples == 0 || seen < samples); x = zsl_next(x)) {
        sum += zsl_node_mem(x);
        seen++;
    }
    if (seen) n += (size_t)((double)sum / (double)seen * (double)zsl->length);
    return n;
}

static void dup_index(void *priv, zsl_node *n)
{
    cslice m = zsl_node_member(n);
    htab_add_new_hashed(priv, n, htab_hash(priv, m.ptr, m.len));
}

cobj *zset_obj_dup(const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        return zobj_new(ENC_LISTPACK, cm_memdup(lp, lp_bytes(lp)));
    }
    /* A node-for-node copy: no random levels needed, same shape. */
    const zset *src = o->v.ptr;
    zset *zs = cm_malloc(sizeof(*zs));
    zs->members = htab_create(&zs_members_type, src->members->seed);
    htab_expand(zs->members, htab_size(src->members));
    zs->zsl = zsl_dup(src->zsl, dup_index, zs->members);
    return zobj_new(ENC_SKIPLIST, zs);
}

void zset_convert_to_skiplist(cmd_call *c, cobj *zobj)
{
    if (zobj->encoding == ENC_SKIPLIST) return;
    unsigned char *lp = zobj->v.ptr;
    zset *zs = zs_new(c->e->hash_seed);
    htab_expand(zs->members, zzl_length(lp));
    unsigned char *eptr = lp_first(lp), *sptr = eptr ? lp_next(lp, eptr) : NULL;
    while (eptr) {
        zset_entry e;
        zzl_member(eptr, &e);
        zset_skiplist_insert(c, zs, zzl_score(sptr), e.ele, e.len);
        zzl_next(lp, &eptr, &sptr);
    }
    lp_free(lp);
    zobj->v.ptr = zs;
    zobj->encoding = ENC_SKIPLIST;
}

void zset_convert_to_listpack_if_needed(cmd_call *c, cobj *zobj, size_t maxelelen, size_t totlen)
{
    const cairn_config *cfg = &c->e->cfg;
    if (zobj->encoding == ENC_LISTPACK) return;
    zset *zs = zobj->v.ptr;
    if (zs->zsl->length > (unsigned long)cfg->zset_max_listpack_entries ||
        maxelelen > (size_t)cfg->zset_max_listpack_value || totlen >= ZZL_SAFETY_SIZE)
        return;
    unsigned char *lp = lp_new(0);
    for (zsl_node *n = zsl_first(zs->zsl); n; n = zsl_next(n)) {
        char sbuf[NUM_STR_MAX];
        int slen = zzl_score_text(sbuf, sizeof(sbuf), n->score);
        lp = lp_append(lp, zsl_node_ele(n), zsl_node_len(n));
        lp = lp_append(lp, sbuf, (size_t)slen);
    }
    zs_free(zs);
    zobj->v.ptr = lp;
    zobj->encoding = ENC_LISTPACK;
}

/* ---------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

unsigned long zset_length(const cobj *zobj)
{
    if (zobj->encoding == ENC_LISTPACK) return zzl_length(zobj->v.ptr);
    return ((const zset *)zobj->v.ptr)->zsl->length;
}

int zset_score(cobj *zobj, const char *ele, size_t len, double *score)
{
    if (zobj->encoding == ENC_LISTPACK) return zzl_find(zobj->v.ptr, ele, len, score) != NULL;
    zsl_node *n = zs_find(zobj->v.ptr, ele, len);
    if (n) *score = n->score;
    return n != NULL;
}

long zset_rank(cobj *zobj, const char *ele, size_t len, int reverse, double *score)
{
    unsigned long n = zset_length(zobj), rank = 0;
    if (zobj->encoding == ENC_LISTPACK) {
        unsigned char *lp = zobj->v.ptr;
        unsigned char *eptr = lp_first(lp), *sptr = eptr ? lp_next(lp, eptr) : NULL;
        while (eptr && !lp_equals(eptr, ele, len)) {
            rank++;
            zzl_next(lp, &eptr, &sptr);
        }
        if (!eptr) return -1;
        if (score) *score = zzl_score(sptr);
    } else {
        zset *zs = zobj->v.ptr;
        zsl_node *node = zs_find(zs, ele, len);
        if (!node) return -1;
        rank = zs_rank(zs, node) - 1;
        if (score) *score = node->score;
    }
    return (long)(reverse ? n - 1 - rank : rank);
}

static zset_pos pos_listpack(cobj *zobj, unsigned char *eptr)
{
    zset_pos p = {zobj, eptr, NULL, NULL};
    if (eptr) p.sptr = lp_next(zobj->v.ptr, eptr);
    return p;
}

static zset_pos pos_skiplist(cobj *zobj, zsl_node *n)
{
    zset_pos p = {zobj, NULL, NULL, n};
    return p;
}

zset_pos zset_pos_at_rank(cobj *zobj, unsigned long rank)
{
    if (zobj->encoding == ENC_LISTPACK)
        return pos_listpack(zobj, lp_seek(zobj->v.ptr, (long)(2 * rank)));
    zset *zs = zobj->v.ptr;
    /* The ends are one step away; anything else is a log(n) search. */
    zsl_node *n = rank == 0                     ? zsl_first(zs->zsl)
                  : rank + 1 == zs->zsl->length ? zsl_last(zs->zsl)
                                                : zsl_get_by_rank(zs->zsl, rank + 1);
    return pos_skiplist(zobj, n);
}

zset_pos zset_pos_first_in_range(cobj *zobj, const zrange_spec *r)
{
    if (zobj->encoding == ENC_LISTPACK)
        return pos_listpack(zobj, zzl_first_in_range(zobj->v.ptr, r));
    return pos_skiplist(zobj, zsl_first_in_range(((zset *)zobj->v.ptr)->zsl, r));
}

zset_pos zset_pos_last_in_range(cobj *zobj, const zrange_spec *r)
{
    if (zobj->encoding == ENC_LISTPACK)
        return pos_listpack(zobj, zzl_last_in_range(zobj->v.ptr, r));
    return pos_skiplist(zobj, zsl_last_in_range(((zset *)zobj->v.ptr)->zsl, r));
}

zset_pos zset_pos_first_in_lex(cobj *zobj, const zlex_spec *r)
{
    if (zobj->encoding == ENC_LISTPACK) return pos_listpack(zobj, zzl_first_in_lex(zobj->v.ptr, r));
    return pos_skiplist(zobj, zsl_first_in_lex_range(((zset *)zobj->v.ptr)->zsl, r));
}

zset_pos zset_pos_last_in_lex(cobj *zobj, const zlex_spec *r)
{
    if (zobj->encoding == ENC_LISTPACK) return pos_listpack(zobj, zzl_last_in_lex(zobj->v.ptr, r));
    return pos_skiplist(zobj, zsl_last_in_lex_range(((zset *)zobj->v.ptr)->zsl, r));
}

void zset_pos_next(zset_pos *p)
{
    if (p->eptr)
        zzl_next(p->zobj->v.ptr, &p->eptr, &p->sptr);
    else if (p->node)
        p->node = zsl_next(p->node);
}

void zset_pos_prev(zset_pos *p)
{
    if (p->eptr)
        zzl_prev(p->zobj->v.ptr, &p->eptr, &p->sptr);
    else if (p->node)
        p->node = zsl_prev(p->node);
}

void zset_pos_member(const zset_pos *p, zset_entry *e)
{
    if (p->eptr) {
        zzl_member(p->eptr, e);
    } else {
        e->ele = zsl_node_ele(p->node);
        e->len = zsl_node_len(p->node);
    }
}

double zset_pos_score(const zset_pos *p) { return p->eptr ? zzl_score(p->sptr) : p->node->score; }

void zset_pos_get(const zset_pos *p, zset_entry *e)
{
    zset_pos_member(p, e);
    e->score = zset_pos_score(p);
}

void zset_iter_init(zset_iter *it, cobj *zobj, unsigned long start, int reverse)
{
    unsigned long n = zset_length(zobj);
    it->reverse = reverse;
    if (start >= n)
        it->pos = (zset_pos){zobj, NULL, NULL, NULL};
    else
        it->pos = zset_pos_at_rank(zobj, reverse ? n - 1 - start : start);
}

int zset_iter_next(zset_iter *it, zset_entry *e)
{
    if (!zset_pos_valid(&it->pos)) return 0;
    zset_pos_get(&it->pos, e);
    if (it->reverse)
        zset_pos_prev(&it->pos);
    else
        zset_pos_next(&it->pos);
    return 1;
}

void zset_foreach(cobj *zobj, zset_foreach_fn fn, void *priv)
{
    zset_pos p = zset_pos_at_rank(zobj, 0);
    for (; zset_pos_valid(&p); zset_pos_next(&p)) {
        zset_entry e;
        zset_pos_member(&p, &e);
        if (!fn(priv, e.ele, e.len)) return;
    }
}

void zset_random(cobj *zobj, crand *r, zset_entry *e)
{
    /* By rank in both encodings: uniform, and independent of the table's
     * hash seed, so replicas draw the same element from the same seed. */
    zset_pos p = zset_pos_at_rank(zobj, crand_below(r, zset_length(zobj)));
    zset_pos_get(&p, e);
}

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

/* The decision zset_add() makes for an existing member with score cur:
 * 1 to update to *score, 0 for nothing (out_flags says why). */
static int update_decision(int in_flags, double cur, double *score, int *out_flags)
{
    if (in_flags & ZADD_IN_NX) {
        *out_flags |= ZADD_OUT_NOP;
        return 0;
    }
    if (in_flags & ZADD_IN_INCR) {
        *score += cur;
        if (isnan(*score)) {
            *out_flags |= ZADD_OUT_NAN;
            return 0;
        }
    }
    if (((in_flags & ZADD_IN_LT) && *score >= cur) || ((in_flags & ZADD_IN_GT) && *score <= cur)) {
        *out_flags |= ZADD_OUT_NOP;
        return 0;
    }
    return 1;
}

/* Would adding a member of len bytes push the listpack past a limit? */
static int zzl_must_grow_up(cmd_call *c, cobj *zobj, size_t len)
{
    const cairn_config *cfg = &c->e->cfg;
    unsigned char *lp = zobj->v.ptr;
    return zzl_length(lp) + 1 > (unsigned long)cfg->zset_max_listpack_entries ||
           len > (size_t)cfg->zset_max_listpack_value ||
           lp_bytes(lp) + len + NUM_STR_MAX >= ZZL_SAFETY_SIZE;
}

static int zzl_add(cmd_call *c, cobj *zobj, double score, const char *ele, size_t len, int in_flags,
                   int *out_flags, double *newscore)
{
    double cur;
    unsigned char *eptr = zzl_find(zobj->v.ptr, ele, len, &cur);
    if (eptr) {
        if (!update_decision(in_flags, cur, &score, out_flags)) return !(*out_flags & ZADD_OUT_NAN);
        if (newscore) *newscore = score;
        if (score != cur) {
            /* Remove and re-insert: the pair may move anywhere. */
            zobj->v.ptr = zzl_delete(zobj->v.ptr, eptr);
            zobj->v.ptr = zzl_insert(zobj->v.ptr, ele, len, score);
            *out_flags |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (in_flags & ZADD_IN_XX) {
        *out_flags |= ZADD_OUT_NOP;
        return 1;
    }
    if (zzl_must_grow_up(c, zobj, len)) return -1; /* the caller converts */
    zobj->v.ptr = zzl_insert(zobj->v.ptr, ele, len, score);
    if (newscore) *newscore = score;
    *out_flags |= ZADD_OUT_ADDED;
    return 1;
}

static int zs_add(cmd_call *c, zset *zs, double score, const char *ele, size_t len, int in_flags,
                  int *out_flags, double *newscore)
{
    uint64_t hash = htab_hash(zs->members, ele, len);
    zsl_node *n = htab_find_hashed(zs->members, ele, len, hash);
    if (n) {
        if (!update_decision(in_flags, n->score, &score, out_flags))
            return !(*out_flags & ZADD_OUT_NAN);
        if (newscore) *newscore = score;
        if (score != n->score) {
            zsl_update_score(zs->zsl, n, score);
            *out_flags |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (in_flags & ZADD_IN_XX) {
        *out_flags |= ZADD_OUT_NOP;
        return 1;
    }
    zs_insert_hashed(c, zs, score, ele, len, hash);
    if (newscore) *newscore = score;
    *out_flags |= ZADD_OUT_ADDED;
    return 1;
}

int zset_add(cmd_call *c, cobj *zobj, double score, const char *ele, size_t len, int in_flags,
             int *out_flags, double *newscore)
{
    *out_flags = 0;
    if (isnan(score)) {
        *out_flags = ZADD_OUT_NAN;
        return 0;
    }
    if (zobj->encoding == ENC_LISTPACK) {
        int r = zzl_add(c, zobj, score, ele, len, in_flags, out_flags, newscore);
        if (r >= 0) return r;
        zset_convert_to_skiplist(c, zobj);
    }
    return zs_add(c, zobj->v.ptr, score, ele, len, in_flags, out_flags, newscore);
}

int zset_del(cobj *zobj, const char *ele, size_t len)
{
    if (zobj->encoding == ENC_LISTPACK) {
        unsigned char *eptr = zzl_find(zobj->v.ptr, ele, len, NULL);
        if (!eptr) return 0;
        zobj->v.ptr = zzl_delete(zobj->v.ptr, eptr);
        return 1;
    }
    zset *zs = zobj->v.ptr;
    if (!zs_remove(zs, ele, len)) return 0;
    htab_shrink_if_needed(zs->members);
    return 1;
}

/* Count from the first element in range while it stays below max: the
 * listpack walks, the skiplist subtracts ranks. */
static unsigned long count_between(cobj *zobj, zset_pos first, zset_pos last,
                                   int (*lte_max)(const zset_pos *p, const void *spec),
                                   const void *spec)
{
    if (!zset_pos_valid(&first)) return 0;
    if (zobj->encoding == ENC_SKIPLIST) {
        zset *zs = zobj->v.ptr;
        return zs_rank(zs, last.node) - zs_rank(zs, first.node) + 1;
    }
    unsigned long n = 0;
    for (zset_pos p = first; zset_pos_valid(&p) && lte_max(&p, spec); zset_pos_next(&p))
        n++;
    return n;
}

static int pos_score_lte_max(const zset_pos *p, const void *spec)
{
    return zsl_value_lte_max(zset_pos_score(p), spec);
}

static int pos_member_lte_max(const zset_pos *p, const void *spec)
{
    zset_entry e;
    zset_pos_member(p, &e);
    return zsl_lex_lte_max(e.ele, e.len, spec);
}

unsigned long zset_count_in_range(cobj *zobj, const zrange_spec *r)
{
    zset_pos first = zset_pos_first_in_range(zobj, r);
    zset_pos last = first;
    if (zobj->encoding == ENC_SKIPLIST && zset_pos_valid(&first))
        last = zset_pos_last_in_range(zobj, r);
    return count_between(zobj, first, last, pos_score_lte_max, r);
}

unsigned long zset_count_in_lex(cobj *zobj, const zlex_spec *r)
{
    zset_pos first = zset_pos_first_in_lex(zobj, r);
    zset_pos last = first;
    if (zobj->encoding == ENC_SKIPLIST && zset_pos_valid(&first))
        last = zset_pos_last_in_lex(zobj, r);
    return count_between(zobj, first, last, pos_member_lte_max, r);
}

unsigned long zset_delete_range_by_score(cobj *zobj, const zrange_spec *r)
{
    unsigned long deleted = 0;
    if (zobj->encoding == ENC_LISTPACK) {
        unsigned char *lp = zobj->v.ptr;
        zobj->v.ptr = zzl_delete_run(lp, zzl_first_in_range(lp, r), zzl_score_lte_max, r, &deleted);
        return deleted;
    }
    zset *zs = zobj->v.ptr;
    deleted = zsl_delete_range_by_score(zs->zsl, r, zs_unindex, zs->members);
    htab_shrink_if_needed(zs->members);
    return deleted;
}

unsigned long zset_delete_range_by_lex(cobj *zobj, const zlex_spec *r)
{
    unsigned long deleted = 0;
    if (zobj->encoding == ENC_LISTPACK) {
        unsigned char *lp = zobj->v.ptr;
        zobj->v.ptr = zzl_delete_run(lp, zzl_first_in_lex(lp, r), zzl_member_lte_max, r, &deleted);
        return deleted;
    }
    zset *zs = zobj->v.ptr;
    deleted = zsl_delete_range_by_lex(zs->zsl, r, zs_unindex, zs->members);
    htab_shrink_if_needed(zs->members);
    return deleted;
}

unsigned long zset_delete_range_by_rank(cobj *zobj, unsigned long start, unsigned long end)
{
    if (zobj->encoding == ENC_LISTPACK) {
        zobj->v.ptr = lp_delete_range(zobj->v.ptr, (long)(2 * start), 2 * (end - start + 1));
        return end - start + 1;
    }
    zset *zs = zobj->v.ptr;
    unsigned long deleted =
        zsl_delete_range_by_rank(zs->zsl, start + 1, end + 1, zs_unindex, zs->members);
    htab_shrink_if_needed(zs->members);
    return deleted;
}

/* ---------------------------------------------------------------------------
 * Parsing ranges
 * ------------------------------------------------------------------------ */

/* One score bound, as Redis's zslParseRange: strtod on the C string, so
 * leading spaces, hex and "" (zero) pass, trailing bytes or NaN do not. */
static int parse_score_bound(const cslice *arg, double *v, int *ex)
{
    const char *p = arg->ptr;
    size_t len = arg->len;
    *ex = 0;
    if (len > 0 && p[0] == '(') {
        *ex = 1;
        p++;
        len--;
    }
    char stackbuf[128];
    char *buf = len < sizeof(stackbuf) ? stackbuf : cm_malloc(len + 1);
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    *v = c_strtod(buf, &end);
    int ok = *end == '\0' && !isnan(*v);
    if (buf != stackbuf) cm_free(buf);
    return ok;
}

int zset_parse_range(const cslice *min, const cslice *max, zrange_spec *r)
{
    return parse_score_bound(min, &r->min, &r->minex) && parse_score_bound(max, &r->max, &r->maxex);
}

static int parse_lex_bound(const cslice *arg, const char **s, size_t *len, int *kind, int *ex)
{
    if (arg->len == 0) return 0;
    *kind = ZLEX_VALUE;
    *s = arg->ptr + 1;
    *len = arg->len - 1;
    switch (arg->ptr[0]) {
    case '+':
    case '-':
        if (arg->len != 1) return 0;
        *kind = arg->ptr[0] == '+' ? ZLEX_POS_INF : ZLEX_NEG_INF;
        *ex = 1;
        return 1;
    case '(': *ex = 1; return 1;
    case '[': *ex = 0; return 1;
    default: return 0;
    }
}

int zset_parse_lex_range(const cslice *min, const cslice *max, zlex_spec *r)
{
    return parse_lex_bound(min, &r->min, &r->minlen, &r->minkind, &r->minex) &&
           parse_lex_bound(max, &r->max, &r->maxlen, &r->maxkind, &r->maxex);
}
