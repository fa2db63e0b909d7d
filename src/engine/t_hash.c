/* t_hash.c -- the hash type and its commands.
 *
 * A hash starts as a listpack of field,value,field,value... entries: one
 * allocation, no pointers, a linear scan per lookup -- cheap for the small
 * hashes most applications keep.  When it grows past
 * hash-max-listpack-entries fields, or a field or value longer than
 * hash-max-listpack-value bytes arrives, it becomes an htab of hpairs
 * (OBJECT ENCODING "hashtable") and stays one, as in Redis.  An hpair
 * holds a field and its value in one allocation (see t_hash.h), so a
 * field costs that allocation plus about a pointer of table.
 *
 * Semantics, reply shapes and error strings are Redis 7.0's.  Random
 * choices (HRANDFIELD) come only from c->rng, so a replayed command picks
 * the same fields (DESIGN rule 2). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/listpack.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "scan.h"
#include "t_hash.h"

/* A listpack never grows beyond this, whatever the configuration allows
 * (Redis's LISTPACK_MAX_SAFETY_SIZE): past it the hash becomes an htab. */
#define HASH_LP_MAX_BYTES (1u << 30)
/* Room for the entry headers of one field,value pair, beyond their bytes. */
#define HASH_LP_PAIR_OVERHEAD 32

/* ------------------------------------------------------------------ */
/* The type                                                             */
/* ------------------------------------------------------------------ */

static size_t len_size(size_t len) { return len < HPAIR_LONG_LEN ? 1 : 1 + sizeof(uint32_t); }

/* Write a length as hpair_read_len() reads it; returns the bytes after. */
static char *write_len(char *p, size_t len)
{
    if (len < HPAIR_LONG_LEN) {
        *(unsigned char *)p = (unsigned char)len;
        return p + 1;
    }
    uint32_t l = (uint32_t)len;
    *(unsigned char *)p = HPAIR_LONG_LEN;
    memcpy(p + 1, &l, sizeof(l));
    return p + 1 + sizeof(l);
}

static void write_bytes(char *p, const char *s, size_t len)
{
    p = write_len(p, len);
    if (len) memcpy(p, s, len);
}

hpair *hpair_new(const char *field, size_t flen, const char *val, size_t vlen)
{
    char *p = cm_malloc(len_size(flen) + flen + len_size(vlen) + vlen);
    write_bytes(p, field, flen);
    write_bytes(p + len_size(flen) + flen, val, vlen);
    return (hpair *)p;
}

/* Bytes from the start of p to the start of its value's length. */
static size_t hpair_value_offset(const hpair *p)
{
    cslice f = hpair_field(p);
    return (size_t)(f.ptr + f.len - (const char *)p);
}

static hpair *hpair_dup(const hpair *p)
{
    cslice v = hpair_value(p);
    return cm_memdup(p, (size_t)(v.ptr + v.len - (const char *)p));
}

/* Give p the value val.  A value of the same length is overwritten in
 * place; otherwise the allocation is resized, which keeps the field in
 * front and stays in place when the size class does not change.  Returns
 * the pair, which may have moved: the caller puts it back in the table. */
static hpair *hpair_set_value(hpair *p, const char *val, size_t vlen)
{
    cslice old = hpair_value(p);
    if (old.len == vlen) {
        if (vlen) memcpy((char *)old.ptr, val, vlen);
        return p;
    }
    size_t off = hpair_value_offset(p);
    char *np = cm_realloc(p, off + len_size(vlen) + vlen);
    write_bytes(np + off, val, vlen);
    return (hpair *)np;
}

static cslice hpair_key(const void *elem) { return hpair_field(elem); }

const htab_type hash_htab_type = {hpair_key, cm_free};

static cobj *hash_create(void)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_HASH;
    o->encoding = ENC_LISTPACK;
    o->lru = 0;
    o->meta = 0;
    o->v.ptr = lp_new(0);
    return o;
}

void hash_obj_free(cobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        lp_free(o->v.ptr);
    else
        htab_release(o->v.ptr);
}

static size_t pair_mem(void *p) { return cm_usable_size(p); }

size_t hash_obj_mem(cobj *o, long long samples)
{
    if (o->encoding == ENC_LISTPACK) return cm_usable_size(o->v.ptr);
    return obj_htab_mem(o->v.ptr, samples, pair_mem);
}

cobj *hash_obj_dup(const cobj *o)
{
    cobj *copy = hash_create();
    if (o->encoding == ENC_LISTPACK) {
        lp_free(copy->v.ptr);
        copy->v.ptr = cm_memdup(o->v.ptr, lp_bytes(o->v.ptr));
        return copy;
    }
    htab *src = o->v.ptr;
    htab *h = htab_create(&hash_htab_type, src->seed);
    htab_expand(h, htab_size(src));
    htab_iter it;
    hpair *p;
    htab_iter_start(&it, src);
    while ((p = htab_iter_next(&it)) != NULL) {
        cslice f = hpair_field(p);
        htab_add_new_hashed(h, hpair_dup(p), htab_hash(h, f.ptr, f.len));
    }
    htab_iter_end(&it);
    lp_free(copy->v.ptr);
    copy->v.ptr = h;
    copy->encoding = ENC_HASHTABLE;
    return copy;
}

unsigned long hash_length(const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) return lp_length(o->v.ptr) / 2;
    return (unsigned long)htab_size(o->v.ptr);
}

/* The bytes of the listpack entry at p; integers are formatted into buf
 * (NUM_STR_MAX bytes). */
static cslice lp_entry(unsigned char *p, char *buf)
{
    lp_value v;
    cslice s;
    lp_get(p, &v);
    s.ptr = lp_value_str(&v, buf, &s.len);
    return s;
}

/* The listpack entry of field (not its value), or NULL. */
static unsigned char *lp_find_field(unsigned char *lp, const char *field, size_t flen)
{
    return lp_find(lp, lp_first(lp), field, flen, 1);
}

int hash_get_field(const cobj *o, const char *field, size_t flen, char *buf, const char **val,
                   size_t *vlen)
{
    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        unsigned char *p = lp_find_field(lp, field, flen);
        if (!p) return 0;
        cslice v = lp_entry(lp_next(lp, p), buf);
        *val = v.ptr;
        *vlen = v.len;
        return 1;
    }
    hpair *p = htab_find(o->v.ptr, field, flen);
    if (!p) return 0;
    cslice v = hpair_value(p);
    *val = v.ptr;
    *vlen = v.len;
    return 1;
}

static int hash_exists(const cobj *o, const cslice *field)
{
    char buf[NUM_STR_MAX];
    const char *v;
    size_t vlen;
    return hash_get_field(o, field->ptr, field->len, buf, &v, &vlen);
}

/* Turn a listpack hash into an htab.  The table is sized for every field
 * at once so the conversion does not rehash along the way. */
static void hash_convert(cmd_call *c, cobj *o)
{
    unsigned char *lp = o->v.ptr;
    htab *h = htab_create(&hash_htab_type, c->e->hash_seed);
    htab_expand(h, lp_length(lp) / 2);
    char fbuf[NUM_STR_MAX], vbuf[NUM_STR_MAX];
    unsigned char *p = lp_first(lp);
    while (p) {
        unsigned char *vp = lp_next(lp, p);
        cslice f = lp_entry(p, fbuf), v = lp_entry(vp, vbuf);
        /* Fields of a listpack are distinct: no lookup needed. */
        htab_add_new_hashed(h, hpair_new(f.ptr, f.len, v.ptr, v.len), htab_hash(h, f.ptr, f.len));
        p = lp_next(lp, vp);
    }
    lp_free(lp);
    o->v.ptr = h;
    o->encoding = ENC_HASHTABLE;
}

/* Must the listpack hash o become an htab before a pair of these sizes is
 * stored?  Too long a field or value, or a listpack already too big. */
static int hash_pair_too_big(const cmd_call *c, const cobj *o, size_t flen, size_t vlen)
{
    unsigned long long max = (unsigned long long)c->e->cfg.hash_max_listpack_value;
    if (flen > max || vlen > max) return 1;
    return lp_bytes(o->v.ptr) + flen + vlen + HASH_LP_PAIR_OVERHEAD > HASH_LP_MAX_BYTES;
}

/* Set field to value.  Returns 1 if the field is new, 0 if it was
 * updated.  Converts to an htab when the hash outgrows its listpack. */
static int hash_set(cmd_call *c, cobj *o, const cslice *f, const cslice *v)
{
    if (o->encoding == ENC_LISTPACK && hash_pair_too_big(c, o, f->len, v->len)) hash_convert(c, o);

    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        unsigned char *p = lp_find_field(lp, f->ptr, f->len);
        if (p) {
            unsigned char *vp = lp_next(lp, p);
            o->v.ptr = lp_replace(lp, &vp, v->ptr, v->len);
            return 0;
        }
        lp = lp_append(lp, f->ptr, f->len);
        o->v.ptr = lp_append(lp, v->ptr, v->len);
        if (hash_length(o) > (unsigned long long)c->e->cfg.hash_max_listpack_entries)
            hash_convert(c, o);
        return 1;
    }

    htab *h = o->v.ptr;
    uint64_t hash = htab_hash(h, f->ptr, f->len);
    void **ref = htab_find_ref(h, f->ptr, f->len, hash);
    if (ref) {
        *ref = hpair_set_value(*ref, v->ptr, v->len);
        return 0;
    }
    htab_add_new_hashed(h, hpair_new(f->ptr, f->len, v->ptr, v->len), hash);
    return 1;
}

cobj *hash_obj_from(cmd_call *c, const cslice *pairs, long npairs)
{
    cobj *o = hash_create();
    for (long i = 0; i < npairs; i++) {
        if (!hash_set(c, o, &pairs[2 * i], &pairs[2 * i + 1])) {
            obj_free(o);
            return NULL;
        }
    }
    return o;
}

/* Delete field; returns 1 if it was there. */
static int hash_delete(cobj *o, const cslice *f)
{
    if (o->encoding == ENC_LISTPACK) {
        unsigned char *lp = o->v.ptr;
        unsigned char *p = lp_find_field(lp, f->ptr, f->len);
        if (!p) return 0;
        unsigned char *vp;
        lp = lp_delete(lp, p, &vp);
        o->v.ptr = lp_delete(lp, vp, NULL);
        return 1;
    }
    /* The table shrinks by itself as it empties. */
    return htab_delete(o->v.ptr, f->ptr, f->len);
}

/* Walking every pair, whatever the encoding. */
typedef struct hash_iter {
    const cobj *o;
    unsigned char *p; /* listpack: the next field, NULL at the end */
    htab_iter hi;
    char fbuf[NUM_STR_MAX], vbuf[NUM_STR_MAX];
} hash_iter;

static void hash_iter_start(hash_iter *it, const cobj *o)
{
    it->o = o;
    if (o->encoding == ENC_LISTPACK)
        it->p = lp_first(o->v.ptr);
    else
        htab_iter_start(&it->hi, o->v.ptr);
}

/* The next pair; returns 0 at the end.  The bytes are valid until the
 * next call. */
static int hash_iter_next(hash_iter *it, cslice *field, cslice *val)
{
    if (it->o->encoding == ENC_LISTPACK) {
        if (!it->p) return 0;
        unsigned char *lp = it->o->v.ptr;
        unsigned char *vp = lp_next(lp, it->p);
        *field = lp_entry(it->p, it->fbuf);
        *val = lp_entry(vp, it->vbuf);
        it->p = lp_next(lp, vp);
        return 1;
    }
    hpair *p = htab_iter_next(&it->hi);
    if (!p) return 0;
    *field = hpair_field(p);
    *val = hpair_value(p);
    return 1;
}

static void hash_iter_end(hash_iter *it)
{
    if (it->o->encoding != ENC_LISTPACK) htab_iter_end(&it->hi);
}

/* ------------------------------------------------------------------ */
/* Lookups shared by the commands                                       */
/* ------------------------------------------------------------------ */

/* The hash at key for a write, created empty (and added to the db) if
 * absent.  NULL after a WRONGTYPE reply.  Only call it once the command
 * is sure to store something: an empty hash must never stay in the db. */
static cobj *hash_lookup_or_create(cmd_call *c, const cslice *key)
{
    cobj *o = lookup_write(c, key);
    if (o) return check_type(c, o, OBJ_HASH) ? NULL : o;
    o = hash_create();
    return db_add(c, c->db, key, o);
}

/* The hash at key for reading: NULL if absent (*wrongtype 0) or after a
 * WRONGTYPE reply (*wrongtype 1). */
static cobj *hash_lookup_read(cmd_call *c, const cslice *key, int *wrongtype)
{
    cobj *o = lookup_read(c, key);
    *wrongtype = o && check_type(c, o, OBJ_HASH);
    return *wrongtype ? NULL : o;
}

static void reply_field_value(cmd_call *c, const cobj *o, const cslice *field)
{
    char buf[NUM_STR_MAX];
    const char *v;
    size_t vlen;
    if (o && hash_get_field(o, field->ptr, field->len, buf, &v, &vlen))
        reply_bulk(c->out, v, vlen);
    else
        reply_null(c->out);
}

/* ------------------------------------------------------------------ */
/* Setting, getting, deleting                                           */
/* ------------------------------------------------------------------ */

static void hset_generic(cmd_call *c, int is_hmset)
{
    if (c->argc % 2 == 1) {
        reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    cobj *o = hash_lookup_or_create(c, &c->argv[1]);
    if (!o) return;
    long long created = 0;
    for (int j = 2; j < c->argc; j += 2)
        created += hash_set(c, o, &c->argv[j], &c->argv[j + 1]);
    c->dirty += (c->argc - 2) / 2;
    notify_key(c, NOTIFY_HASH, "hset", &c->argv[1]);
    if (is_hmset)
        reply_ok(c->out);
    else
        reply_int(c->out, created);
}

/* HSET key field value [field value ...]: the number of new fields. */
static void hset_command(cmd_call *c) { hset_generic(c, 0); }

/* HMSET key field value [field value ...]: +OK (deprecated form). */
static void hmset_command(cmd_call *c) { hset_generic(c, 1); }

/* HSETNX key field value */
static void hsetnx_command(cmd_call *c)
{
    cobj *o = lookup_write(c, &c->argv[1]);
    if (o && check_type(c, o, OBJ_HASH)) return;
    if (o && hash_exists(o, &c->argv[2])) {
        reply_int(c->out, 0);
        return;
    }
    if (!o) o = hash_lookup_or_create(c, &c->argv[1]);
    hash_set(c, o, &c->argv[2], &c->argv[3]);
    c->dirty++;
    notify_key(c, NOTIFY_HASH, "hset", &c->argv[1]);
    reply_int(c->out, 1);
}

/* HGET key field */
static void hget_command(cmd_call *c)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    reply_field_value(c, o, &c->argv[2]);
}

/* HMGET key field [field ...]: a null for every missing field, or for
 * every field of a missing key. */
static void hmget_command(cmd_call *c)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    reply_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_field_value(c, o, &c->argv[j]);
}

/* HDEL key field [field ...]: the number of fields removed.  The key goes
 * with its last field. */
static void hdel_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    if (check_type(c, o, OBJ_HASH)) return;
    long long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        deleted += hash_delete(o, &c->argv[j]);
        if (hash_length(o) == 0) {
            db_delete(c, c->db, key);
            emptied = 1;
            break;
        }
    }
    if (deleted) notify_key(c, NOTIFY_HASH, "hdel", key);
    if (emptied) notify_key(c, NOTIFY_GENERIC, "del", key);
    c->dirty += deleted;
    reply_int(c->out, deleted);
}

/* HLEN key */
static void hlen_command(cmd_call *c)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    reply_int(c->out, o ? (long long)hash_length(o) : 0);
}

/* HSTRLEN key field: the length of the value, 0 when missing. */
static void hstrlen_command(cmd_call *c)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    char buf[NUM_STR_MAX];
    const char *v;
    size_t vlen = 0;
    if (o && !hash_get_field(o, c->argv[2].ptr, c->argv[2].len, buf, &v, &vlen)) vlen = 0;
    reply_int(c->out, (long long)vlen);
}

/* HEXISTS key field */
static void hexists_command(cmd_call *c)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    reply_int(c->out, o && hash_exists(o, &c->argv[2]));
}

/* ------------------------------------------------------------------ */
/* The whole hash                                                       */
/* ------------------------------------------------------------------ */

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

/* HKEYS, HVALS and HGETALL.  HGETALL is a map in RESP3 (an empty one for
 * a missing key); the others are arrays. */
static void hgetall_generic(cmd_call *c, int want)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    long n = o ? (long)hash_length(o) : 0;
    if (want == (WANT_FIELDS | WANT_VALUES))
        reply_map_len(c->out, n);
    else
        reply_array_len(c->out, n);
    if (!o) return;

    hash_iter it;
    cslice f, v;
    hash_iter_start(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        if (want & WANT_FIELDS) reply_bulk(c->out, f.ptr, f.len);
        if (want & WANT_VALUES) reply_bulk(c->out, v.ptr, v.len);
    }
    hash_iter_end(&it);
}

/* HKEYS key */
static void hkeys_command(cmd_call *c) { hgetall_generic(c, WANT_FIELDS); }

/* HVALS key */
static void hvals_command(cmd_call *c) { hgetall_generic(c, WANT_VALUES); }

/* HGETALL key */
static void hgetall_command(cmd_call *c) { hgetall_generic(c, WANT_FIELDS | WANT_VALUES); }

/* ------------------------------------------------------------------ */
/* Counters                                                             */
/* ------------------------------------------------------------------ */

/* HINCRBY key field increment */
static void hincrby_command(cmd_call *c)
{
    const cslice *key = &c->argv[1], *field = &c->argv[2];
    long long incr, value = 0;
    if (!arg_ll(c, 3, &incr)) return;

    cobj *o = lookup_write(c, key);
    if (o && check_type(c, o, OBJ_HASH)) return;
    char buf[NUM_STR_MAX];
    const char *cur;
    size_t curlen;
    if (o && hash_get_field(o, field->ptr, field->len, buf, &cur, &curlen) &&
        !str_to_ll(cur, curlen, &value)) {
        reply_error(c->out, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(c->out, ERR_OVERFLOW);
        return;
    }
    value += incr;

    if (!o) o = hash_lookup_or_create(c, key);
    cslice nv = {buf, (size_t)ll_to_str(buf, sizeof(buf), value)};
    hash_set(c, o, field, &nv);
    c->dirty++;
    notify_key(c, NOTIFY_HASH, "hincrby", key);
    reply_int(c->out, value);
}

/* HINCRBYFLOAT key field increment.  The result is stored as the text
 * that is replied, and logged as the HSET that stores it (as Redis
 * replicates it), so replay never depends on long double arithmetic. */
static void hincrbyfloat_command(cmd_call *c)
{
    const cslice *key = &c->argv[1], *field = &c->argv[2];
    long double incr, value = 0;
    if (!str_to_ldouble(c->argv[3].ptr, c->argv[3].len, &incr)) {
        reply_error(c->out, ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c->out, "ERR value is NaN or Infinity");
        return;
    }

    cobj *o = lookup_write(c, key);
    if (o && check_type(c, o, OBJ_HASH)) return;
    char cbuf[NUM_STR_MAX];
    const char *cur;
    size_t curlen;
    if (o && hash_get_field(o, field->ptr, field->len, cbuf, &cur, &curlen) &&
        !str_to_ldouble(cur, curlen, &value)) {
        reply_error(c->out, "ERR hash value is not a float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c->out, "ERR increment would produce NaN or Infinity");
        return;
    }

    char buf[LDOUBLE_STR_MAX];
    cslice nv = {buf, (size_t)ldouble_to_str(buf, sizeof(buf), value)};
    if (!o) o = hash_lookup_or_create(c, key);
    hash_set(c, o, field, &nv);
    c->dirty++;
    notify_key(c, NOTIFY_HASH, "hincrbyfloat", key);
    reply_bulk(c->out, nv.ptr, nv.len);
    const cslice hset[4] = {{"HSET", 4}, *key, *field, nv};
    log_as(c, 4, hset);
}

/* ------------------------------------------------------------------ */
/* HRANDFIELD                                                           */
/* ------------------------------------------------------------------ */

/* Random access to the pairs of a hash.  A listpack has no index, so its
 * fields are located once into an array; an htab draws pairs itself. */
typedef struct hash_sampler {
    cobj *o;
    unsigned char **fields; /* listpack: every field entry, in order */
    unsigned long n;
    char fbuf[NUM_STR_MAX], vbuf[NUM_STR_MAX];
} hash_sampler;

static void sampler_init(hash_sampler *s, cobj *o)
{
    s->o = o;
    s->n = hash_length(o);
    s->fields = NULL;
    if (o->encoding != ENC_LISTPACK) return;
    unsigned char *lp = o->v.ptr;
    s->fields = cm_malloc(sizeof(*s->fields) * s->n);
    unsigned long i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p)))
        s->fields[i++] = p;
}

static void sampler_free(hash_sampler *s) { cm_free(s->fields); }

/* Pair i of a listpack hash. */
static void sampler_pair(hash_sampler *s, unsigned long i, cslice *f, cslice *v)
{
    *f = lp_entry(s->fields[i], s->fbuf);
    *v = lp_entry(lp_next(s->o->v.ptr, s->fields[i]), s->vbuf);
}

static void hpair_slices(const hpair *p, cslice *f, cslice *v)
{
    *f = hpair_field(p);
    *v = hpair_value(p);
}

/* A uniformly chosen pair. */
static void sampler_random(cmd_call *c, hash_sampler *s, cslice *f, cslice *v)
{
    if (s->fields)
        sampler_pair(s, crand_below(&c->rng, s->n), f, v);
    else
        hpair_slices(htab_random(s->o->v.ptr, &c->rng), f, v);
}

/* One element of HRANDFIELD's reply: the field, or with WITHVALUES the
 * field and value -- flat in RESP2, a nested pair in RESP3. */
static void reply_random_pair(cmd_call *c, const cslice *f, const cslice *v, int withvalues)
{
    if (withvalues && c->out->resp >= 3) reply_array_len(c->out, 2);
    reply_bulk(c->out, f->ptr, f->len);
    if (withvalues) reply_bulk(c->out, v->ptr, v->len);
}

/* count distinct pairs of a listpack hash, count < n: selection sampling
 * (Knuth's algorithm S) keeps each pair with probability
 * needed/remaining, which picks every subset of size count with equal
 * probability, in listpack order. */
static void hrandfield_distinct_listpack(cmd_call *c, hash_sampler *s, unsigned long count,
                                         int withvalues)
{
    unsigned long needed = count;
    for (unsigned long i = 0; i < s->n && needed; i++) {
        if (crand_below(&c->rng, s->n - i) >= needed) continue;
        cslice f, v;
        sampler_pair(s, i, &f, &v);
        reply_random_pair(c, &f, &v, withvalues);
        needed--;
    }
}

/* The pairs HRANDFIELD already chose: the hash's own pairs, not owned. */
static const htab_type chosen_type = {hpair_key, NULL};

/* count distinct pairs of an htab hash, count < n.  When count is a good
 * part of the hash, shuffle the front of an array of every pair; else
 * draw random pairs and skip repeats, which takes few draws. */
static void hrandfield_distinct_htab(cmd_call *c, hash_sampler *s, unsigned long count,
                                     int withvalues)
{
    htab *h = s->o->v.ptr;
    cslice f, v;
    if (count * 3 > s->n) {
        hpair **all = cm_malloc(sizeof(*all) * s->n);
        htab_iter it;
        hpair *p;
        unsigned long n = 0;
        htab_iter_start(&it, h);
        while ((p = htab_iter_next(&it)) != NULL)
            all[n++] = p;
        htab_iter_end(&it);
        for (unsigned long i = 0; i < count; i++) {
            unsigned long j = i + (unsigned long)crand_below(&c->rng, n - i);
            hpair *tmp = all[i];
            all[i] = all[j];
            all[j] = tmp;
            hpair_slices(all[i], &f, &v);
            reply_random_pair(c, &f, &v, withvalues);
        }
        cm_free(all);
        return;
    }
    htab *chosen = htab_create(&chosen_type, h->seed);
    unsigned long added = 0;
    while (added < count) {
        hpair *p = htab_random(h, &c->rng);
        if (!htab_add(chosen, p, NULL)) continue;
        hpair_slices(p, &f, &v);
        reply_random_pair(c, &f, &v, withvalues);
        added++;
    }
    htab_release(chosen);
}

/* HRANDFIELD key count [WITHVALUES].  A negative count allows repeats and
 * returns exactly |count| elements; a positive one returns distinct
 * fields, at most the whole hash. */
static void hrandfield_with_count(cmd_call *c, long long l, int withvalues)
{
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    if (!o || count == 0) {
        reply_empty_array(c->out);
        return;
    }
    int flat_pairs = withvalues && c->out->resp < 3;
    unsigned long size = hash_length(o);
    hash_sampler s;
    cslice f, v;

    if (l < 0 || count == 1) {
        reply_array_len(c->out, (long)(flat_pairs ? count * 2 : count));
        sampler_init(&s, o);
        for (unsigned long long i = 0; i < count; i++) {
            if (i % 1024 == 0 && reply_over_limit(c)) break;
            sampler_random(c, &s, &f, &v);
            reply_random_pair(c, &f, &v, withvalues);
        }
        sampler_free(&s);
        return;
    }

    unsigned long n = count < size ? (unsigned long)count : size;
    reply_array_len(c->out, (long)(flat_pairs ? n * 2 : n));
    if (count >= size) {
        hash_iter it;
        hash_iter_start(&it, o);
        while (hash_iter_next(&it, &f, &v))
            reply_random_pair(c, &f, &v, withvalues);
        hash_iter_end(&it);
        return;
    }
    sampler_init(&s, o);
    if (o->encoding == ENC_LISTPACK)
        hrandfield_distinct_listpack(c, &s, n, withvalues);
    else
        hrandfield_distinct_htab(c, &s, n, withvalues);
    sampler_free(&s);
}

/* HRANDFIELD key [count [WITHVALUES]] */
static void hrandfield_command(cmd_call *c)
{
    if (c->argc >= 3) {
        long long l;
        if (!arg_ll(c, 2, &l)) return;
        if (l < -LONG_MAX) {
            reply_errorf(c->out, "ERR value is out of range, value must between %ld and %ld",
                         -LONG_MAX, LONG_MAX);
            return;
        }
        int withvalues = c->argc == 4;
        if (c->argc > 4 || (withvalues && !arg_is(c, 3, "withvalues"))) {
            reply_syntax_error(c);
            return;
        }
        /* The reply would have 2*|count| elements. */
        if (withvalues && (l < -LONG_MAX / 2 || l > LONG_MAX / 2)) {
            reply_error(c->out, "ERR value is out of range");
            return;
        }
        hrandfield_with_count(c, l, withvalues);
        return;
    }

    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    if (!o) {
        reply_null(c->out);
        return;
    }
    hash_sampler s;
    cslice f, v;
    sampler_init(&s, o);
    sampler_random(c, &s, &f, &v);
    reply_bulk(c->out, f.ptr, f.len);
    sampler_free(&s);
}

/* ------------------------------------------------------------------ */
/* HSCAN                                                                */
/* ------------------------------------------------------------------ */

/* A listpack hash is returned whole with cursor 0, as Redis does: its
 * size is bounded, and a cursor into a blob that may be rewritten
 * between calls would mean nothing. */
static void hscan_listpack(cmd_call *c, cobj *o, const scan_opts *so)
{
    scan_reply_cursor(c, 0);
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    hash_iter it;
    cslice f, v;
    hash_iter_start(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        if (!scan_matches(so, f.ptr, f.len)) continue;
        reply_bulk(c->out, f.ptr, f.len);
        reply_bulk(c->out, v.ptr, v.len);
        n += 2;
    }
    hash_iter_end(&it);
    reply_set_deferred_array(c->out, d, n);
}

/* Fields and values count as two elements each, as Redis counts them. */
static void hscan_htab(cmd_call *c, cobj *o, uint64_t cursor, const scan_opts *so)
{
    scan_batch b = {0};
    cursor = scan_htab(o->v.ptr, cursor, so->count, 2, &b);

    scan_reply_cursor(c, cursor);
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        cslice f, v;
        hpair_slices(b.e[i], &f, &v);
        if (!scan_matches(so, f.ptr, f.len)) continue;
        reply_bulk(c->out, f.ptr, f.len);
        reply_bulk(c->out, v.ptr, v.len);
        n += 2;
    }
    reply_set_deferred_array(c->out, d, n);
    scan_batch_free(&b);
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
static void hscan_command(cmd_call *c)
{
    uint64_t cursor;
    scan_opts so;
    if (scan_parse_cursor(c, &c->argv[2], &cursor) < 0) return;
    int wrongtype;
    cobj *o = hash_lookup_read(c, &c->argv[1], &wrongtype);
    if (wrongtype) return;
    if (!o) {
        scan_reply_cursor(c, 0);
        reply_empty_array(c->out);
        return;
    }
    /* As in Redis, the options are checked only for an existing hash. */
    if (scan_parse_opts(c, 3, &so, 0) < 0) return;
    if (o->encoding == ENC_LISTPACK)
        hscan_listpack(c, o, &so);
    else
        hscan_htab(c, o, cursor, &so);
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

#define H_WRITE_FAST (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define H_READ_FAST  (CMD_READONLY | CMD_FAST)
#define A_WRITE_FAST (ACL_WRITE | ACL_HASH | ACL_FAST)
#define A_READ_FAST  (ACL_READ | ACL_HASH | ACL_FAST)
#define A_READ_SLOW  (ACL_READ | ACL_HASH | ACL_SLOW)
#define CX_WHOLE     "O(N) where N is the size of the hash."

const cmd_def hash_commands[] = {
    {"hset", hset_command, -4, H_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.0.0",
     "Set the string value of a hash field",
     "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command "
     "is called with multiple field/value pairs.",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"hsetnx", hsetnx_command, 4, H_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.0.0",
     "Set the value of a hash field, only if the field does not exist", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"hget", hget_command, 3, H_READ_FAST, A_READ_FAST, 1, 1, 1, "hash", "2.0.0",
     "Get the value of a hash field", "O(1)", NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hmget", hmget_command, -3, H_READ_FAST, A_READ_FAST, 1, 1, 1, "hash", "2.0.0",
     "Get the values of all the given hash fields",
     "O(N) where N is the number of fields being requested.", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hmset", hmset_command, -4, H_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.0.0",
     "Set multiple hash fields to multiple values",
     "O(N) where N is the number of fields being set.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"hdel", hdel_command, -3, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.0.0",
     "Delete one or more hash fields", "O(N) where N is the number of fields to be removed.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"hlen", hlen_command, 2, H_READ_FAST, A_READ_FAST, 1, 1, 1, "hash", "2.0.0",
     "Get the number of fields in a hash", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"hstrlen", hstrlen_command, 3, H_READ_FAST, A_READ_FAST, 1, 1, 1, "hash", "3.2.0",
     "Get the length of the value of a hash field", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"hexists", hexists_command, 3, H_READ_FAST, A_READ_FAST, 1, 1, 1, "hash", "2.0.0",
     "Determine if a hash field exists", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"hkeys", hkeys_command, 2, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "hash", "2.0.0",
     "Get all the fields in a hash", CX_WHOLE, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hvals", hvals_command, 2, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "hash", "2.0.0",
     "Get all the values in a hash", CX_WHOLE, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hgetall", hgetall_command, 2, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "hash", "2.0.0",
     "Get all the fields and values in a hash", CX_WHOLE, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hincrby", hincrby_command, 4, H_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.0.0",
     "Increment the integer value of a hash field by the given number", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"hincrbyfloat", hincrbyfloat_command, 4, H_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "hash", "2.6.0",
     "Increment the float value of a hash field by the given amount", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"hrandfield", hrandfield_command, -2, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "hash", "6.2.0",
     "Get one or multiple random fields from a hash",
     "O(N) where N is the number of fields returned", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"hscan", hscan_command, -3, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "hash", "2.8.0",
     "Incrementally iterate hash fields and associated values",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
     "the cursor to return back to 0. N is the number of elements inside the collection..",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
