/* t_set.c -- the set command family.
 *
 * SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD, SPOP, SRANDMEMBER,
 * SMOVE, SINTER, SINTERCARD, SUNION, SDIFF, the STORE forms and SSCAN, with
 * Redis 7.0's semantics, reply shapes and error strings.
 *
 * A set has three encodings (see t_set.h): an intset while every member is
 * an integer, a listpack while it is small, an htab of member dstrs past
 * that.  Members are added through set_add(), the one place that
 * decides conversions, so every command -- SADD, SMOVE, the STORE forms --
 * ends with the encoding Redis 7.2 would give it.  Conversions are one
 * way.
 *
 * Random choices (SPOP, SRANDMEMBER) come only from c->rng (DESIGN rule
 * 2).  Even so, the member a draw lands on in a hashtable depends on the
 * table's layout, which differs between processes, so SPOP is logged as
 * the SREM (or DEL) that happened -- as Redis replicates it. */
#include "t_set.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/intset.h"
#include "../ds/listpack.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "scan.h"

/* An intset holds at most 2^30 members whatever the configuration says,
 * as Redis's intsetMaxEntries(). */
#define INTSET_MAX_ENTRIES (1LL << 30)
/* A listpack is kept below 1 GB, as Redis's lpSafeToAdd(). */
#define LISTPACK_SAFE_BYTES ((size_t)1 << 30)

/* SPOP with a count pops members one at a time while the members left
 * outnumber the popped ones this many times; otherwise it picks the
 * victims in one pass (Redis's SPOP_MOVE_STRATEGY_MUL). */
#define SPOP_ONE_BY_ONE_MUL 5
/* SRANDMEMBER with a positive count draws random members until it has
 * enough distinct ones while count * this < size; otherwise it picks
 * from the whole set (Redis's SRANDMEMBER_SUB_STRATEGY_MUL). */
#define SRANDMEMBER_SUB_MUL 3

/* A member as the encodings hand it out: a string (str, len) or, when str
 * is NULL, the integer ll.  Pointers stay valid until the set changes. */
typedef lp_value set_elem;

/* ---------------------------------------------------------------------- */
/* Encodings                                                               */
/* ---------------------------------------------------------------------- */

static long long intset_max_entries(const cairn_config *cfg)
{
    long long max = cfg->set_max_intset_entries;
    return max > INTSET_MAX_ENTRIES ? INTSET_MAX_ENTRIES : max;
}

/* May a listpack of `count` members and `bytes` bytes take one more
 * member of len bytes? */
static int listpack_fits(const cairn_config *cfg, unsigned long count, size_t bytes, size_t len)
{
    return (long long)count < cfg->set_max_listpack_entries &&
           (long long)len <= cfg->set_max_listpack_value && bytes + len < LISTPACK_SAFE_BYTES;
}

/* Digits (and sign) of v printed in decimal. */
static size_t ll_digits(long long v)
{
    char buf[NUM_STR_MAX];
    return (size_t)ll_to_str(buf, sizeof(buf), v);
}

/* Could the intset is, plus a string member of len bytes, be a listpack?
 * Every member must be short enough: the longest integers are the
 * smallest and the largest. */
static int intset_fits_listpack(const cairn_config *cfg, const intset *is, size_t len)
{
    uint32_t n = intset_len(is);
    size_t longest = 0;
    if (n) {
        size_t lo = ll_digits(intset_get(is, 0)), hi = ll_digits(intset_get(is, n - 1));
        longest = lo > hi ? lo : hi;
    }
    return listpack_fits(cfg, n, (size_t)n * (longest + 2), len) &&
           (long long)longest <= cfg->set_max_listpack_value;
}

/* A hashtable set's elements are its members: each dstr is its own key,
 * one allocation per member. */
static cslice member_key(const void *elem)
{
    dstr m = (dstr)elem;
    return (cslice){m, dstr_len(m)};
}

static void member_free(void *elem) { dstr_free(elem); }

static const htab_type set_members_type = {member_key, member_free};
/* SRANDMEMBER's seen-set: it borrows the members of the set it draws
 * from. */
static const htab_type borrowed_members_type = {member_key, NULL};

htab *set_htab_new(const uint8_t seed[16], uint64_t hint)
{
    htab *h = htab_create(&set_members_type, seed);
    if (hint) htab_expand(h, hint);
    return h;
}

int set_htab_add(htab *h, const char *s, size_t len)
{
    /* Look before allocating: adding a member already there costs no
     * malloc, and the hash is computed once for both steps. */
    uint64_t hash = htab_hash(h, s, len);
    if (htab_find_hashed(h, s, len, hash)) return 0;
    htab_add_new_hashed(h, dstr_new(s, len), hash);
    return 1;
}

static cobj *set_new(cmd_call *c, int encoding, size_t hint)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_SET;
    o->encoding = encoding;
    o->lru = 0;
    o->meta = 0;
    switch (encoding) {
    case ENC_INTSET: o->v.ptr = intset_new(); break;
    case ENC_LISTPACK: o->v.ptr = lp_new(0); break;
    default: o->v.ptr = set_htab_new(c->e->hash_seed, hint); break;
    }
    return o;
}

/* A new empty set for a key about to receive `hint` members, the first of
 * which is first: an intset if it is an integer (as Redis 7.0's
 * setTypeCreate; adding the rest converts it if needed), a listpack if the
 * hint fits one, else a table sized for the hint. */
static cobj *set_create(cmd_call *c, const cslice *first, size_t hint)
{
    long long v;
    if (str_to_ll(first->ptr, first->len, &v)) return set_new(c, ENC_INTSET, 0);
    if ((long long)hint <= c->e->cfg.set_max_listpack_entries) return set_new(c, ENC_LISTPACK, 0);
    return set_new(c, ENC_HASHTABLE, hint);
}

static void set_free_contents(cobj *o)
{
    switch (o->encoding) {
    case ENC_INTSET: intset_free(o->v.ptr); break;
    case ENC_LISTPACK: lp_free(o->v.ptr); break;
    default: htab_release(o->v.ptr); break;
    }
}

void set_obj_free(cobj *o) { set_free_contents(o); }

static size_t member_mem(void *m) { return dstr_alloc_size(m); }

size_t set_obj_mem(cobj *o, long long samples)
{
    if (o->encoding == ENC_HASHTABLE) return obj_htab_mem(o->v.ptr, samples, member_mem);
    return cm_usable_size(o->v.ptr); /* an intset or a listpack */
}

static htab *htab_dup_members(const htab *src)
{
    htab *h = set_htab_new(src->seed, htab_size(src));
    htab_iter it;
    dstr m;
    htab_iter_start(&it, (htab *)src); /* it only pauses the rehashing */
    while ((m = htab_iter_next(&it)) != NULL)
        htab_add_new_hashed(h, dstr_dup(m), htab_hash(h, m, dstr_len(m)));
    htab_iter_end(&it);
    return h;
}

cobj *set_obj_dup(const cobj *o)
{
    cobj *copy = cm_malloc(sizeof(*copy));
    *copy = *o;
    copy->meta = 0;
    switch (o->encoding) {
    case ENC_INTSET: copy->v.ptr = cm_memdup(o->v.ptr, intset_bytes(o->v.ptr)); break;
    case ENC_LISTPACK: copy->v.ptr = cm_memdup(o->v.ptr, lp_bytes(o->v.ptr)); break;
    default: copy->v.ptr = htab_dup_members(o->v.ptr); break;
    }
    return copy;
}

unsigned long set_size(const cobj *o)
{
    switch (o->encoding) {
    case ENC_INTSET: return intset_len(o->v.ptr);
    case ENC_LISTPACK: return lp_length(o->v.ptr);
    default: return (unsigned long)htab_size(o->v.ptr);
    }
}

/* ---------------------------------------------------------------------- */
/* Iteration                                                               */
/* ---------------------------------------------------------------------- */

void set_iter_start(set_iter *it, cobj *set)
{
    it->set = set;
    it->pos = 0;
    it->p = NULL;
    if (set->encoding == ENC_LISTPACK)
        it->p = lp_first(set->v.ptr);
    else if (set->encoding == ENC_HASHTABLE)
        htab_iter_start(&it->hi, set->v.ptr);
}

static int set_iter_elem(set_iter *it, set_elem *e)
{
    switch (it->set->encoding) {
    case ENC_INTSET: {
        const intset *is = it->set->v.ptr;
        if (it->pos >= intset_len(is)) return 0;
        e->str = NULL;
        e->len = 0;
        e->ll = intset_get(is, it->pos++);
        return 1;
    }
    case ENC_LISTPACK:
        if (!it->p) return 0;
        lp_get(it->p, e);
        it->p = lp_next(it->set->v.ptr, it->p);
        return 1;
    default: {
        dstr m = htab_iter_next(&it->hi);
        if (!m) return 0;
        e->str = (const unsigned char *)m;
        e->len = dstr_len(m);
        return 1;
    }
    }
}

int set_iter_next(set_iter *it, const char **p, size_t *len, char *buf)
{
    set_elem e;
    if (!set_iter_elem(it, &e)) return 0;
    *p = lp_value_str(&e, buf, len);
    return 1;
}

void set_iter_end(set_iter *it)
{
    if (it->set->encoding == ENC_HASHTABLE) htab_iter_end(&it->hi);
}

/* Every member in an array (the caller frees it), for the commands that
 * pick members by position. */
static set_elem *set_elems(cobj *set, unsigned long *n)
{
    unsigned long size = set_size(set), i = 0;
    set_elem *elems = cm_malloc((size ? size : 1) * sizeof(*elems));
    set_iter it;
    set_iter_start(&it, set);
    while (i < size && set_iter_elem(&it, &elems[i]))
        i++;
    set_iter_end(&it);
    *n = i;
    return elems;
}

static void reply_elem(rbuf *out, const set_elem *e)
{
    if (e->str)
        reply_bulk(out, e->str, e->len);
    else
        reply_bulk_ll(out, e->ll);
}

/* Reply every member of set, as a RESP3 set. */
static void reply_members(cmd_call *c, cobj *set)
{
    set_iter it;
    set_elem e;
    reply_set_len(c->out, (long)set_size(set));
    if (set->encoding == ENC_HASHTABLE) {
        /* The SMEMBERS of a big set: the members are already bytes, so
         * walk the table directly rather than through set_elem. */
        htab_iter hi;
        dstr m;
        htab_iter_start(&hi, set->v.ptr);
        while ((m = htab_iter_next(&hi)) != NULL)
            reply_bulk(c->out, m, dstr_len(m));
        htab_iter_end(&hi);
        return;
    }
    set_iter_start(&it, set);
    while (set_iter_elem(&it, &e))
        reply_elem(c->out, &e);
    set_iter_end(&it);
}

/* ---------------------------------------------------------------------- */
/* Membership, adding and removing                                         */
/* ---------------------------------------------------------------------- */

static unsigned char *listpack_find(unsigned char *lp, const char *s, size_t len)
{
    unsigned char *p = lp_first(lp);
    return p ? lp_find(lp, p, s, len, 0) : NULL;
}

int set_is_member(cobj *set, const char *s, size_t len)
{
    long long v;
    switch (set->encoding) {
    case ENC_INTSET: return str_to_ll(s, len, &v) && intset_find(set->v.ptr, v);
    case ENC_LISTPACK: return listpack_find(set->v.ptr, s, len) != NULL;
    default: return htab_find(set->v.ptr, s, len) != NULL;
    }
}

static int set_has_elem(cobj *set, const set_elem *e)
{
    if (!e->str && set->encoding == ENC_INTSET) return intset_find(set->v.ptr, e->ll);
    char buf[NUM_STR_MAX];
    size_t len;
    const char *s = lp_value_str(e, buf, &len);
    return set_is_member(set, s, len);
}

/* Convert a compact set to encoding enc (a listpack or a table sized for
 * hint members). */
static void set_convert(cmd_call *c, cobj *set, int enc, size_t hint)
{
    void *to =
        enc == ENC_LISTPACK ? (void *)lp_new(0) : (void *)set_htab_new(c->e->hash_seed, hint);
    set_iter it;
    set_elem e;
    set_iter_start(&it, set);
    while (set_iter_elem(&it, &e)) {
        if (enc == ENC_LISTPACK) {
            to = e.str ? lp_append(to, (const char *)e.str, e.len) : lp_append_int(to, e.ll);
        } else {
            char buf[NUM_STR_MAX];
            size_t len;
            const char *s = lp_value_str(&e, buf, &len);
            set_htab_add(to, s, len);
        }
    }
    set_iter_end(&it);
    set_free_contents(set);
    set->v.ptr = to;
    set->encoding = enc;
}

static int set_add(cmd_call *c, cobj *set, const char *s, size_t len);

static int intset_add_checked(cmd_call *c, cobj *set, long long v)
{
    int added;
    set->v.ptr = intset_add(set->v.ptr, v, &added);
    /* Past the limit an intset becomes a table, never a listpack (as in
     * Redis 7.2: a listpack of that many members would be slow). */
    if (added && intset_len(set->v.ptr) > intset_max_entries(&c->e->cfg))
        set_convert(c, set, ENC_HASHTABLE, intset_len(set->v.ptr));
    return added;
}

static int set_add_intset(cmd_call *c, cobj *set, const char *s, size_t len)
{
    long long v;
    if (str_to_ll(s, len, &v)) return intset_add_checked(c, set, v);
    /* A string member: the set becomes a listpack if it is small enough,
     * else a table; either way the member is new. */
    const intset *is = set->v.ptr;
    int to_listpack = intset_fits_listpack(&c->e->cfg, is, len);
    set_convert(c, set, to_listpack ? ENC_LISTPACK : ENC_HASHTABLE, intset_len(is) + 1);
    return set_add(c, set, s, len);
}

static int set_add_listpack(cmd_call *c, cobj *set, const char *s, size_t len)
{
    unsigned char *lp = set->v.ptr;
    if (listpack_find(lp, s, len)) return 0;
    if (listpack_fits(&c->e->cfg, lp_length(lp), lp_bytes(lp), len)) {
        set->v.ptr = lp_append(lp, s, len);
        return 1;
    }
    set_convert(c, set, ENC_HASHTABLE, lp_length(lp) + 1);
    return set_add(c, set, s, len);
}

/* Add s to set, converting the encoding when a threshold is crossed.
 * Returns 1 if s was not a member. */
static int set_add(cmd_call *c, cobj *set, const char *s, size_t len)
{
    switch (set->encoding) {
    case ENC_INTSET: return set_add_intset(c, set, s, len);
    case ENC_LISTPACK: return set_add_listpack(c, set, s, len);
    default: return set_htab_add(set->v.ptr, s, len);
    }
}

static int set_add_elem(cmd_call *c, cobj *set, const set_elem *e)
{
    if (!e->str && set->encoding == ENC_INTSET) return intset_add_checked(c, set, e->ll);
    char buf[NUM_STR_MAX];
    size_t len;
    const char *s = lp_value_str(e, buf, &len);
    return set_add(c, set, s, len);
}

cobj *set_obj_from(cmd_call *c, const cslice *items, long n)
{
    cobj *set = set_create(c, &items[0], (size_t)n);
    for (long i = 0; i < n; i++) {
        if (!set_add(c, set, items[i].ptr, items[i].len)) {
            obj_free(set);
            return NULL;
        }
    }
    return set;
}

/* Remove s from set; returns 1 if it was a member. */
static int set_remove(cobj *set, const char *s, size_t len)
{
    switch (set->encoding) {
    case ENC_INTSET: {
        long long v;
        int removed = 0;
        if (str_to_ll(s, len, &v)) set->v.ptr = intset_remove(set->v.ptr, v, &removed);
        return removed;
    }
    case ENC_LISTPACK: {
        unsigned char *p = listpack_find(set->v.ptr, s, len);
        if (!p) return 0;
        set->v.ptr = lp_delete(set->v.ptr, p, NULL);
        return 1;
    }
    default: return htab_delete(set->v.ptr, s, len); /* shrinks the table if needed */
    }
}

/* A random member, chosen with c->rng. */
static void set_random_elem(cmd_call *c, cobj *set, set_elem *e)
{
    switch (set->encoding) {
    case ENC_INTSET:
        e->str = NULL;
        e->len = 0;
        e->ll = intset_random(set->v.ptr, &c->rng);
        break;
    case ENC_LISTPACK: {
        unsigned char *lp = set->v.ptr;
        lp_get(lp_seek(lp, (long)crand_below(&c->rng, lp_length(lp))), e);
        break;
    }
    default: {
        dstr m = htab_random(set->v.ptr, &c->rng);
        e->str = (const unsigned char *)m;
        e->len = dstr_len(m);
        break;
    }
    }
}

/* Pick k distinct positions out of n, uniformly (a partial Fisher-Yates
 * shuffle).  Returns a flag per position, 1 if picked; the caller frees. */
static unsigned char *pick_positions(crand *r, unsigned long n, unsigned long k)
{
    unsigned long *idx = cm_malloc((n ? n : 1) * sizeof(*idx));
    unsigned char *picked = cm_calloc(n ? n : 1, 1);
    for (unsigned long i = 0; i < n; i++)
        idx[i] = i;
    for (unsigned long i = 0; i < k && i < n; i++) {
        unsigned long j = i + (unsigned long)crand_below(r, n - i);
        unsigned long t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        picked[idx[i]] = 1;
    }
    cm_free(idx);
    return picked;
}

/* ---------------------------------------------------------------------- */
/* SADD, SREM, SMOVE                                                       */
/* ---------------------------------------------------------------------- */

static void sadd_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    cobj *set = lookup_write(c, key);
    if (set && check_type(c, set, OBJ_SET)) return;

    long long added = 0;
    int created = set == NULL;
    if (created) set = set_create(c, &c->argv[2], (size_t)(c->argc - 2));
    for (int j = 2; j < c->argc; j++)
        added += set_add(c, set, c->argv[j].ptr, c->argv[j].len);
    if (created) set = db_add(c, c->db, key, set);
    c->dirty += added;
    if (added) notify_key(c, NOTIFY_SET, "sadd", key);
    reply_int(c->out, added);
}

static void srem_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    cobj *set = lookup_write(c, key);
    if (!set) {
        reply_int(c->out, 0);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;

    long long removed = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        if (!set_remove(set, c->argv[j].ptr, c->argv[j].len)) continue;
        removed++;
        if (set_size(set) == 0) {
            db_delete(c, c->db, key);
            emptied = 1;
            break;
        }
    }
    if (removed) notify_key(c, NOTIFY_SET, "srem", key);
    if (emptied) notify_key(c, NOTIFY_GENERIC, "del", key);
    c->dirty += removed;
    reply_int(c->out, removed);
}

static void smove_command(cmd_call *c)
{
    const cslice *src_key = &c->argv[1], *dst_key = &c->argv[2], *m = &c->argv[3];
    cobj *src = lookup_write(c, src_key);
    cobj *dst = lookup_write(c, dst_key);

    /* A missing source moves nothing, whatever the destination holds. */
    if (!src) {
        reply_int(c->out, 0);
        return;
    }
    if (check_type(c, src, OBJ_SET) || (dst && check_type(c, dst, OBJ_SET))) return;
    if (src == dst) {
        reply_int(c->out, set_is_member(src, m->ptr, m->len));
        return;
    }
    if (!set_remove(src, m->ptr, m->len)) {
        reply_int(c->out, 0);
        return;
    }
    c->dirty++;
    notify_key(c, NOTIFY_SET, "srem", src_key);
    if (set_size(src) == 0) {
        db_delete(c, c->db, src_key);
        notify_key(c, NOTIFY_GENERIC, "del", src_key);
    }
    if (!dst) {
        dst = set_create(c, m, 1);
        set_add(c, dst, m->ptr, m->len);
        dst = db_add(c, c->db, dst_key, dst);
        notify_key(c, NOTIFY_SET, "sadd", dst_key);
    } else if (set_add(c, dst, m->ptr, m->len)) {
        notify_key(c, NOTIFY_SET, "sadd", dst_key);
    } else {
        call_mark_unchanged(c, 2);
    }
    reply_int(c->out, 1);
}

/* ---------------------------------------------------------------------- */
/* SISMEMBER, SMISMEMBER, SCARD, SMEMBERS                                  */
/* ---------------------------------------------------------------------- */

static void sismember_command(cmd_call *c)
{
    cobj *set = lookup_read(c, &c->argv[1]);
    if (set && check_type(c, set, OBJ_SET)) return;
    reply_int(c->out, set && set_is_member(set, c->argv[2].ptr, c->argv[2].len));
}

static void smismember_command(cmd_call *c)
{
    cobj *set = lookup_read(c, &c->argv[1]);
    if (set && check_type(c, set, OBJ_SET)) return;
    reply_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_int(c->out, set && set_is_member(set, c->argv[j].ptr, c->argv[j].len));
}

static void scard_command(cmd_call *c)
{
    cobj *set = lookup_read(c, &c->argv[1]);
    if (set && check_type(c, set, OBJ_SET)) return;
    reply_int(c->out, set ? (long long)set_size(set) : 0);
}

static void smembers_command(cmd_call *c)
{
    cobj *set = lookup_read(c, &c->argv[1]);
    if (!set) {
        reply_set_len(c->out, 0);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    reply_members(c, set);
}

/* ---------------------------------------------------------------------- */
/* SPOP, SRANDMEMBER                                                       */
/* ---------------------------------------------------------------------- */

/* The members an SPOP removed.  SPOP reaches the log as the SREM that
 * happened (rule 4), not as itself: which member a hashtable's random
 * draw lands on depends on the table's layout -- its hash seed, drawn per
 * process, and how far reads have moved its incremental rehash -- so a
 * replica or a replay given the same PRNG seed would pop other members. */
typedef struct pop_log {
    cslice *argv; /* SREM key member... */
    dstr *copies; /* the members' bytes, owned */
    int argc;
} pop_log;

static void pop_log_init(pop_log *pl, const cslice *key, unsigned long count)
{
    pl->argv = cm_malloc(sizeof(*pl->argv) * (count + 2));
    pl->copies = cm_malloc(sizeof(*pl->copies) * (count ? count : 1));
    pl->argv[0] = (cslice){"SREM", 4};
    pl->argv[1] = *key;
    pl->argc = 2;
}

/* Reply a popped member and note it for the log. */
static void pop_log_add(cmd_call *c, pop_log *pl, const set_elem *e)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *s = lp_value_str(e, buf, &len);
    reply_bulk(c->out, s, len);
    dstr copy = dstr_new(s, len);
    pl->copies[pl->argc - 2] = copy;
    pl->argv[pl->argc++] = (cslice){copy, len};
}

/* Members per logged SREM: an SPOP of a million members is logged as
 * SREMs of this many in one atomic unit, as Redis propagates it, rather
 * than as one entry that grows with what a client asked. */
#define SPOP_LOG_BATCH 1024

static void pop_log_finish(cmd_call *c, pop_log *pl)
{
    long n = pl->argc - 2;
    if (n <= SPOP_LOG_BATCH) {
        log_as(c, pl->argc, pl->argv);
    } else {
        cslice *argv = cm_malloc(sizeof(cslice) * (2 + SPOP_LOG_BATCH));
        argv[0] = pl->argv[0];
        argv[1] = pl->argv[1];
        for (long at = 0; at < n; at += SPOP_LOG_BATCH) {
            long k = n - at < SPOP_LOG_BATCH ? n - at : SPOP_LOG_BATCH;
            memcpy(argv + 2, pl->argv + 2 + at, sizeof(cslice) * (size_t)k);
            log_add(c, 2 + (int)k, argv);
        }
        cm_free(argv);
    }
    for (int i = 0; i < pl->argc - 2; i++)
        dstr_free(pl->copies[i]);
    cm_free(pl->copies);
    cm_free(pl->argv);
}

/* Remove a random member, reply it and note it in pl. */
static void set_pop_one(cmd_call *c, cobj *set, pop_log *pl)
{
    set_elem e;
    switch (set->encoding) {
    case ENC_INTSET: {
        int removed;
        e.str = NULL;
        e.len = 0;
        e.ll = intset_random(set->v.ptr, &c->rng);
        pop_log_add(c, pl, &e);
        set->v.ptr = intset_remove(set->v.ptr, e.ll, &removed);
        break;
    }
    case ENC_LISTPACK: {
        unsigned char *lp = set->v.ptr;
        unsigned char *p = lp_seek(lp, (long)crand_below(&c->rng, lp_length(lp)));
        lp_get(p, &e);
        pop_log_add(c, pl, &e); /* before the delete moves the bytes */
        set->v.ptr = lp_delete(lp, p, NULL);
        break;
    }
    default: {
        dstr m = htab_random(set->v.ptr, &c->rng);
        e.str = (const unsigned char *)m;
        e.len = dstr_len(m);
        pop_log_add(c, pl, &e); /* copies m before the delete frees it */
        htab_delete(set->v.ptr, m, e.len);
        break;
    }
    }
}

/* Rebuild a compact set in one pass with only the members whose `picked`
 * flag is 0, in their order and in the same encoding. */
static void compact_keep_unpicked(cobj *set, const set_elem *elems, unsigned long n,
                                  const unsigned char *picked)
{
    void *to = set->encoding == ENC_INTSET ? (void *)intset_new() : (void *)lp_new(0);
    for (unsigned long i = 0; i < n; i++) {
        if (picked[i]) continue;
        if (set->encoding == ENC_INTSET) {
            int added;
            to = intset_add(to, elems[i].ll, &added); /* ascending: appends */
        } else if (elems[i].str) {
            to = lp_append(to, (const char *)elems[i].str, elems[i].len);
        } else {
            to = lp_append_int(to, elems[i].ll);
        }
    }
    set_free_contents(set);
    set->v.ptr = to;
}

/* Pop count members (less than the size) chosen in one pass: for a large
 * count this beats drawing them one at a time.  A hashtable stays one even
 * if few members are left (Redis 7.0 would rebuild the survivors, maybe as
 * an intset; here the encoding must come out the same when the SREM in the
 * log is replayed). */
static void set_pop_many(cmd_call *c, cobj *set, unsigned long count, pop_log *pl)
{
    unsigned long n;
    set_elem *elems = set_elems(set, &n);
    unsigned char *picked = pick_positions(&c->rng, n, count);
    for (unsigned long i = 0; i < n; i++)
        if (picked[i]) pop_log_add(c, pl, &elems[i]);
    if (set->encoding == ENC_HASHTABLE) {
        for (unsigned long i = 0; i < n; i++)
            if (picked[i]) htab_delete(set->v.ptr, (const char *)elems[i].str, elems[i].len);
    } else {
        compact_keep_unpicked(set, elems, n, picked);
    }
    cm_free(picked);
    cm_free(elems);
}

static void spop_with_count(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    long long count;
    /* Redis gives the same error for a negative count and a non-number. */
    if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0) {
        reply_error(c->out, "ERR value is out of range, must be positive");
        return;
    }
    cobj *set = lookup_write(c, key);
    if (!set) {
        reply_set_len(c->out, 0);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    if (count == 0) {
        reply_set_len(c->out, 0);
        return;
    }

    unsigned long size = set_size(set);
    if ((unsigned long long)count >= size) {
        /* Everything: logged as the DEL it amounts to. */
        const cslice del[2] = {{"DEL", 3}, *key};
        reply_members(c, set);
        notify_key(c, NOTIFY_SET, "spop", key);
        db_delete(c, c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
        c->dirty += (long long)size;
        log_as(c, 2, del);
        return;
    }
    pop_log pl;
    pop_log_init(&pl, key, (unsigned long)count);
    reply_set_len(c->out, count);
    unsigned long remaining = size - (unsigned long)count;
    if (remaining * SPOP_ONE_BY_ONE_MUL > (unsigned long)count) {
        for (long long i = 0; i < count; i++)
            set_pop_one(c, set, &pl);
    } else {
        set_pop_many(c, set, (unsigned long)count, &pl);
    }
    c->dirty += count;
    notify_key(c, NOTIFY_SET, "spop", key);
    pop_log_finish(c, &pl);
}

static void spop_command(cmd_call *c)
{
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    const cslice *key = &c->argv[1];
    cobj *set = lookup_write(c, key);
    if (!set) {
        reply_null(c->out);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    pop_log pl;
    pop_log_init(&pl, key, 1);
    set_pop_one(c, set, &pl);
    notify_key(c, NOTIFY_SET, "spop", key);
    if (set_size(set) == 0) {
        db_delete(c, c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    }
    c->dirty++;
    pop_log_finish(c, &pl);
}

/* SRANDMEMBER with a negative count: count draws with replacement. */
static void srandmember_repeat(cmd_call *c, cobj *set, unsigned long long count)
{
    reply_array_len(c->out, (long)count);
    if (set->encoding == ENC_HASHTABLE) {
        for (unsigned long long i = 0; i < count; i++) {
            if (i % 1024 == 0 && reply_over_limit(c)) return;
            dstr m = htab_random(set->v.ptr, &c->rng);
            reply_bulk(c->out, m, dstr_len(m));
        }
        return;
    }
    /* A listpack has no random access: index it once. */
    unsigned long n;
    set_elem *elems = set_elems(set, &n);
    for (unsigned long long i = 0; i < count; i++) {
        if (i % 1024 == 0 && reply_over_limit(c)) break;
        reply_elem(c->out, &elems[crand_below(&c->rng, n)]);
    }
    cm_free(elems);
}

/* SRANDMEMBER with a positive count smaller than the set: distinct
 * members. */
static void srandmember_distinct(cmd_call *c, cobj *set, unsigned long count)
{
    unsigned long size = set_size(set);
    reply_array_len(c->out, (long)count);
    if (set->encoding != ENC_HASHTABLE || count * SRANDMEMBER_SUB_MUL > size) {
        unsigned long n;
        set_elem *elems = set_elems(set, &n);
        unsigned char *picked = pick_positions(&c->rng, n, count);
        for (unsigned long i = 0; i < n; i++)
            if (picked[i]) reply_elem(c->out, &elems[i]);
        cm_free(picked);
        cm_free(elems);
        return;
    }
    /* Few members out of many: draw until count distinct ones were seen. */
    htab *seen = htab_create(&borrowed_members_type, c->e->hash_seed);
    while (htab_size(seen) < count) {
        dstr m = htab_random(set->v.ptr, &c->rng);
        if (htab_add(seen, m, NULL)) reply_bulk(c->out, m, dstr_len(m));
    }
    htab_release(seen);
}

static void srandmember_with_count(cmd_call *c)
{
    long long l;
    if (!arg_ll(c, 2, &l)) return;
    if (l < -LLONG_MAX) {
        reply_error(c->out, "ERR value is out of range, value must between -9223372036854775807 "
                            "and 9223372036854775807");
        return;
    }
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    int distinct = l >= 0;

    cobj *set = lookup_read(c, &c->argv[1]);
    if (!set) {
        reply_empty_array(c->out);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    if (count == 0) {
        reply_empty_array(c->out);
        return;
    }
    unsigned long size = set_size(set);
    if (!distinct || count == 1) {
        srandmember_repeat(c, set, count);
    } else if (count >= size) {
        /* The whole set, as an array (unlike SMEMBERS). */
        set_iter it;
        set_elem e;
        reply_array_len(c->out, (long)size);
        set_iter_start(&it, set);
        while (set_iter_elem(&it, &e))
            reply_elem(c->out, &e);
        set_iter_end(&it);
    } else {
        srandmember_distinct(c, set, (unsigned long)count);
    }
}

static void srandmember_command(cmd_call *c)
{
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    cobj *set = lookup_read(c, &c->argv[1]);
    if (!set) {
        reply_null(c->out);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    set_elem e;
    set_random_elem(c, set, &e);
    reply_elem(c->out, &e);
}

/* ---------------------------------------------------------------------- */
/* SINTER, SINTERCARD, SINTERSTORE, SUNION, SDIFF and their STORE forms     */
/* ---------------------------------------------------------------------- */

/* Look up the source keys of an algebra command; a missing key is NULL.
 * The STORE forms look up as writers, as Redis does.  Returns 0, or -1
 * after a WRONGTYPE reply. */
static int lookup_sets(cmd_call *c, const cslice *keys, int n, int write, cobj **sets)
{
    for (int j = 0; j < n; j++) {
        cobj *o = write ? lookup_write(c, &keys[j]) : lookup_read(c, &keys[j]);
        if (o && check_type(c, o, OBJ_SET)) return -1;
        sets[j] = o;
    }
    return 0;
}

/* Store result at dst (it becomes the key's value, without a TTL), or
 * delete dst when the result is empty; replies the size either way. */
static void store_result(cmd_call *c, const cslice *dst, cobj *result)
{
    unsigned long size = set_size(result);
    if (size) {
        db_store(c, c->db, dst, result);
        c->dirty++;
        /* The event is the command's name: sinterstore, sunionstore, ... */
        notify_key(c, NOTIFY_SET, c->cmd->name, dst);
    } else {
        obj_free(result);
        if (lookup_write(c, dst) && db_delete(c, c->db, dst)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "del", dst);
        }
    }
    reply_int(c->out, (long long)size);
}

static int cmp_set_size(const void *a, const void *b)
{
    unsigned long x = set_size(*(cobj *const *)a), y = set_size(*(cobj *const *)b);
    return x < y ? -1 : x > y;
}

/* Is e in every set but the first? */
static int in_all_others(cobj **sets, int n, const set_elem *e)
{
    for (int j = 1; j < n; j++)
        if (sets[j] != sets[0] && !set_has_elem(sets[j], e)) return 0;
    return 1;
}

enum { INTER_REPLY, INTER_STORE, INTER_CARD };

/* Walk the intersection of the n sets (none missing): reply each member,
 * add it to result, or count it up to limit (0 = no limit).  Returns the
 * number of members seen. */
static long long sinter_walk(cmd_call *c, cobj **sets, int n, int mode, cobj *result,
                             long long limit)
{
    long long card = 0;
    set_iter it;
    set_elem e;

    /* Walk the smallest set, probing the others. */
    qsort(sets, (size_t)n, sizeof(*sets), cmp_set_size);
    set_iter_start(&it, sets[0]);
    while (set_iter_elem(&it, &e)) {
        if (!in_all_others(sets, n, &e)) continue;
        card++;
        if (mode == INTER_REPLY)
            reply_elem(c->out, &e);
        else if (mode == INTER_STORE)
            set_add_elem(c, result, &e);
        else if (limit && card >= limit)
            break;
    }
    set_iter_end(&it);
    return card;
}

/* The intersection of the sets at keys: replied as a set, stored at dst,
 * or counted (up to limit, 0 = no limit). */
static void sinter_generic(cmd_call *c, const cslice *keys, int n, const cslice *dst, int mode,
                           long long limit)
{
    cobj **sets = cm_malloc((size_t)n * sizeof(*sets));
    if (lookup_sets(c, keys, n, mode == INTER_STORE, sets) < 0) {
        cm_free(sets);
        return;
    }
    /* A missing key is an empty set: so is the intersection. */
    int missing = 0;
    for (int j = 0; j < n; j++)
        if (!sets[j]) missing = 1;

    if (mode == INTER_STORE) {
        cobj *result = set_new(c, ENC_INTSET, 0);
        if (!missing) sinter_walk(c, sets, n, mode, result, 0);
        store_result(c, dst, result);
    } else if (mode == INTER_CARD) {
        reply_int(c->out, missing ? 0 : sinter_walk(c, sets, n, mode, NULL, limit));
    } else if (missing) {
        reply_set_len(c->out, 0);
    } else {
        rbuf_deferred len = reply_deferred_len(c->out);
        reply_set_deferred_set(c->out, len, (long)sinter_walk(c, sets, n, mode, NULL, 0));
    }
    cm_free(sets);
}

static void sinter_command(cmd_call *c)
{
    sinter_generic(c, &c->argv[1], c->argc - 1, NULL, INTER_REPLY, 0);
}

static void sinterstore_command(cmd_call *c)
{
    sinter_generic(c, &c->argv[2], c->argc - 2, &c->argv[1], INTER_STORE, 0);
}

static void sintercard_command(cmd_call *c)
{
    long long numkeys, limit = 0;
    if (!str_to_ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys < 1) {
        reply_error(c->out, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(c, j, "limit") && j + 1 < c->argc) {
            j++;
            if (!str_to_ll(c->argv[j].ptr, c->argv[j].len, &limit) || limit < 0) {
                reply_error(c->out, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    sinter_generic(c, &c->argv[2], (int)numkeys, NULL, INTER_CARD, limit);
}

/* Add every member of src to result. */
static void add_all(cmd_call *c, cobj *result, cobj *src)
{
    set_iter it;
    set_elem e;
    set_iter_start(&it, src);
    while (set_iter_elem(&it, &e))
        set_add_elem(c, result, &e);
    set_iter_end(&it);
}

/* Add to result the members of sets[0] that are in none of the others
 * (NULL: a missing key). */
static void add_difference(cmd_call *c, cobj *result, cobj **sets, int n)
{
    set_iter it;
    set_elem e;
    set_iter_start(&it, sets[0]);
    while (set_iter_elem(&it, &e)) {
        int j = 1;
        while (j < n && !(sets[j] && set_has_elem(sets[j], &e)))
            j++;
        if (j == n) set_add_elem(c, result, &e);
    }
    set_iter_end(&it);
}

enum { SET_OP_UNION, SET_OP_DIFF };

/* The union or difference of the sets at keys, replied as a set or
 * stored at dst. */
static void sunion_diff_generic(cmd_call *c, const cslice *keys, int n, const cslice *dst, int op)
{
    cobj **sets = cm_malloc((size_t)n * sizeof(*sets));
    if (lookup_sets(c, keys, n, dst != NULL, sets) < 0) {
        cm_free(sets);
        return;
    }

    /* The result is built as a set of its own, starting as an intset as
     * Redis's does, so a stored result gets the encoding Redis gives it. */
    cobj *result = set_new(c, ENC_INTSET, 0);
    if (op == SET_OP_UNION) {
        for (int j = 0; j < n; j++)
            if (sets[j]) add_all(c, result, sets[j]);
    } else if (sets[0]) {
        add_difference(c, result, sets, n);
    }

    if (dst) {
        store_result(c, dst, result);
    } else {
        reply_members(c, result);
        obj_free(result);
    }
    cm_free(sets);
}

static void sunion_command(cmd_call *c)
{
    sunion_diff_generic(c, &c->argv[1], c->argc - 1, NULL, SET_OP_UNION);
}

static void sunionstore_command(cmd_call *c)
{
    sunion_diff_generic(c, &c->argv[2], c->argc - 2, &c->argv[1], SET_OP_UNION);
}

static void sdiff_command(cmd_call *c)
{
    sunion_diff_generic(c, &c->argv[1], c->argc - 1, NULL, SET_OP_DIFF);
}

static void sdiffstore_command(cmd_call *c)
{
    sunion_diff_generic(c, &c->argv[2], c->argc - 2, &c->argv[1], SET_OP_DIFF);
}

/* ---------------------------------------------------------------------- */
/* SSCAN                                                                   */
/* ---------------------------------------------------------------------- */

static void sscan_hashtable(cmd_call *c, htab *h, uint64_t cursor, const scan_opts *o)
{
    scan_batch b = {0};
    cursor = scan_htab(h, cursor, o->count, 1, &b);

    scan_reply_cursor(c, cursor);
    rbuf_deferred len = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        dstr m = b.e[i];
        if (!scan_matches(o, m, dstr_len(m))) continue;
        reply_bulk(c->out, m, dstr_len(m));
        n++;
    }
    reply_set_deferred_array(c->out, len, n);
    scan_batch_free(&b);
}

static void sscan_command(cmd_call *c)
{
    uint64_t cursor;
    scan_opts o;
    if (scan_parse_cursor(c, &c->argv[2], &cursor) < 0) return;
    cobj *set = lookup_read(c, &c->argv[1]);
    /* As in Redis, the options of a missing key are not even parsed. */
    if (!set) {
        scan_reply_cursor(c, 0);
        reply_empty_array(c->out);
        return;
    }
    if (check_type(c, set, OBJ_SET)) return;
    if (scan_parse_opts(c, 3, &o, 0) < 0) return;

    if (set->encoding == ENC_HASHTABLE) {
        sscan_hashtable(c, set->v.ptr, cursor, &o);
        return;
    }
    /* A compact set is returned whole in one call, with cursor 0. */
    scan_reply_cursor(c, 0);
    rbuf_deferred len = reply_deferred_len(c->out);
    long n = 0;
    set_iter it;
    set_elem e;
    set_iter_start(&it, set);
    while (set_iter_elem(&it, &e)) {
        char buf[NUM_STR_MAX];
        size_t slen;
        const char *s = lp_value_str(&e, buf, &slen);
        if (!scan_matches(&o, s, slen)) continue;
        reply_bulk(c->out, s, slen);
        n++;
    }
    set_iter_end(&it);
    reply_set_deferred_array(c->out, len, n);
}

/* ---------------------------------------------------------------------- */
/* The table                                                               */
/* ---------------------------------------------------------------------- */

#define SET_READ_FAST  (ACL_READ | ACL_SET | ACL_FAST)
#define SET_READ_SLOW  (ACL_READ | ACL_SET | ACL_SLOW)
#define SET_WRITE_FAST (ACL_WRITE | ACL_SET | ACL_FAST)
#define SET_WRITE_SLOW (ACL_WRITE | ACL_SET | ACL_SLOW)

#define INTER_COMPLEXITY                                                                           \
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "     \
    "sets."
#define UNION_COMPLEXITY "O(N) where N is the total number of elements in all given sets."

const cmd_def set_commands[] = {
    {"sadd", sadd_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, SET_WRITE_FAST, 1, 1, 1, "set",
     "1.0.0", "Add one or more members to a set",
     "O(1) for each element added, so O(N) to add N elements when the command is called with "
     "multiple arguments.",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"srem", srem_command, -3, CMD_WRITE | CMD_FAST, SET_WRITE_FAST, 1, 1, 1, "set", "1.0.0",
     "Remove one or more members from a set",
     "O(N) where N is the number of members to be removed.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"sismember", sismember_command, 3, CMD_READONLY | CMD_FAST, SET_READ_FAST, 1, 1, 1, "set",
     "1.0.0", "Determine if a given value is a member of a set", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"smismember", smismember_command, -3, CMD_READONLY | CMD_FAST, SET_READ_FAST, 1, 1, 1, "set",
     "6.2.0", "Returns the membership associated with the given elements for a set",
     "O(N) where N is the number of elements being checked for membership", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"smembers", smembers_command, 2, CMD_READONLY, SET_READ_SLOW, 1, 1, 1, "set", "1.0.0",
     "Get all the members in a set", "O(N) where N is the set cardinality.", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"scard", scard_command, 2, CMD_READONLY | CMD_FAST, SET_READ_FAST, 1, 1, 1, "set", "1.0.0",
     "Get the number of members in a set", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"spop", spop_command, -2, CMD_WRITE | CMD_FAST, SET_WRITE_FAST, 1, 1, 1, "set", "1.0.0",
     "Remove and return one or multiple random members from a set",
     "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
     NULL, NULL, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"srandmember", srandmember_command, -2, CMD_READONLY, SET_READ_SLOW, 1, 1, 1, "set", "1.0.0",
     "Get one or multiple random members from a set",
     "Without the count argument O(1), otherwise O(N) where N is the absolute value of the "
     "passed count.",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"smove", smove_command, 4, CMD_WRITE | CMD_FAST, SET_WRITE_FAST, 1, 2, 1, "set", "1.0.0",
     "Move a member from one set to another", "O(1)", NULL, NULL, NULL,
     KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_INSERT)},
    {"sinter", sinter_command, -2, CMD_READONLY, SET_READ_SLOW, 1, -1, 1, "set", "1.0.0",
     "Intersect multiple sets", INTER_COMPLEXITY, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    /* The keys follow numkeys: Redis reports (0, 0, 0) with movablekeys. */
    {"sintercard", sintercard_command, -3, CMD_READONLY, SET_READ_SLOW, 0, 0, 0, "set", "7.0.0",
     "Intersect multiple sets and return the cardinality of the result", INTER_COMPLEXITY, NULL,
     getkeys_numkeys_at1, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"sinterstore", sinterstore_command, -3, CMD_WRITE | CMD_DENYOOM, SET_WRITE_SLOW, 1, -1, 1,
     "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key",
     INTER_COMPLEXITY, NULL, NULL, NULL, KEY_SPEC(KF_RW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"sunion", sunion_command, -2, CMD_READONLY, SET_READ_SLOW, 1, -1, 1, "set", "1.0.0",
     "Add multiple sets", UNION_COMPLEXITY, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"sunionstore", sunionstore_command, -3, CMD_WRITE | CMD_DENYOOM, SET_WRITE_SLOW, 1, -1, 1,
     "set", "1.0.0", "Add multiple sets and store the resulting set in a key", UNION_COMPLEXITY,
     NULL, NULL, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"sdiff", sdiff_command, -2, CMD_READONLY, SET_READ_SLOW, 1, -1, 1, "set", "1.0.0",
     "Subtract multiple sets", UNION_COMPLEXITY, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"sdiffstore", sdiffstore_command, -3, CMD_WRITE | CMD_DENYOOM, SET_WRITE_SLOW, 1, -1, 1, "set",
     "1.0.0", "Subtract multiple sets and store the resulting set in a key", UNION_COMPLEXITY, NULL,
     NULL, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"sscan", sscan_command, -3, CMD_READONLY, SET_READ_SLOW, 1, 1, 1, "set", "2.8.0",
     "Incrementally iterate Set elements",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
     "the cursor to return back to 0. N is the number of elements inside the collection..",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {0},
};
