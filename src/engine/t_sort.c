/* t_sort.c -- SORT and SORT_RO over lists, sets and sorted sets, with
 * Redis 7.0's semantics, replies and errors.
 *
 *   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
 *            [ASC|DESC] [ALPHA] [STORE destination]
 *
 * The elements are copied out of the value first, so the lookups that BY
 * and GET make (which may expire and delete keys on the way) can never
 * pull the elements from under the sort.  Then each element gets its
 * weight: the element itself, or the string or hash field that the BY
 * pattern names after substituting the element for its first '*'.  A BY
 * pattern without '*' ("nosort") skips sorting: lists and sorted sets keep
 * their order (DESC walks it backwards), sets their iteration order.
 *
 * Ordering is Redis's sortCompare: numerically by weight (a missing weight
 * counts as 0, a weight that is not a double is an error), equal weights
 * ordered by the elements' bytes; or with ALPHA by the weights' bytes, a
 * missing one first, equal weights by the elements (Redis leaves those to
 * qsort; here the answer must be the same on every replica and replay,
 * whatever the order a set's hash table yields).  DESC reverses the whole
 * comparison.  The sort is a stable merge sort.
 * Strings compare as bytes (memcmp, shorter first): Redis's strcoll() in
 * the C locale that servers run in, without a dependency on the locale.
 *
 * STORE replaces the destination with a list of the result (or deletes it
 * when the result is empty) and replies with its length.  A set sorted
 * with BY nosort into STORE is sorted ALPHA anyway, as in Redis, so what
 * is stored never depends on a hash table's iteration order; so is one a
 * script sorts, whose reply must not depend on it either. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/listpack.h"
#include "../ds/quicklist.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "t_hash.h"
#include "t_set.h"
#include "t_zset.h"

/* One element being sorted. */
typedef struct sort_item {
    dstr ele;
    double score; /* numeric weight */
    dstr cmp;     /* ALPHA BY weight; NULL when the BY key is missing */
} sort_item;

typedef struct sort_vec {
    sort_item *v;
    size_t n, cap;
} sort_vec;

static void vec_push(sort_vec *vec, const char *p, size_t len)
{
    if (vec->n == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 16;
        vec->v = cm_realloc(vec->v, vec->cap * sizeof(sort_item));
    }
    sort_item *it = &vec->v[vec->n++];
    it->ele = dstr_new(p, len);
    it->score = 0;
    it->cmp = NULL;
}

static void vec_free(sort_vec *vec)
{
    for (size_t i = 0; i < vec->n; i++) {
        dstr_free(vec->v[i].ele);
        if (vec->v[i].cmp) dstr_free(vec->v[i].cmp);
    }
    cm_free(vec->v);
}

static void vec_push_value(sort_vec *vec, const lp_value *v)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = lp_value_str(v, buf, &len);
    vec_push(vec, p, len);
}

/* Copy every element of o (a list, set or sorted set) into vec: lists in
 * order, sorted sets by rank, sets in iteration order.  Lists are read
 * through their two public encodings (a listpack, or a quicklist of
 * listpacks), which is all SORT needs from t_list.c. */
static void collect(cobj *o, sort_vec *vec)
{
    switch (o->type) {
    case OBJ_LIST:
        if (o->encoding == ENC_LISTPACK) {
            unsigned char *lp = o->v.ptr;
            for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
                lp_value v;
                lp_get(p, &v);
                vec_push_value(vec, &v);
            }
        } else {
            ql_iter it;
            ql_entry e;
            ql_iter_init(&it, o->v.ptr, 0, QL_FORWARD);
            while (ql_next(&it, &e))
                vec_push_value(vec, &e.v);
        }
        break;
    case OBJ_ZSET: {
        zset_iter it;
        zset_entry e;
        zset_iter_init(&it, o, 0, 0);
        while (zset_iter_next(&it, &e))
            vec_push(vec, e.ele, e.len);
        break;
    }
    case OBJ_SET: {
        set_iter it;
        const char *p;
        size_t len;
        char buf[NUM_STR_MAX];
        set_iter_start(&it, o);
        while (set_iter_next(&it, &p, &len, buf))
            vec_push(vec, p, len);
        set_iter_end(&it);
        break;
    }
    default: break;
    }
}

/* A new list of items[0..n), n > 0, encoded as RPUSH of them all onto a
 * new key would leave it: one listpack if they fit one quicklist node of
 * list-max-listpack-size (counting payload bytes, as t_list.c's
 * list_try_grow does), else a quicklist. */
static cobj *list_from_items(cmd_call *c, const cslice *items, long n)
{
    int fill = c->e->cfg.list_max_listpack_size;
    unsigned char *lp = lp_new(0);
    size_t payload = 0;
    for (long i = 0; i < n; i++)
        payload += items[i].len;
    unsigned long count = (unsigned long)n > UINT_MAX ? UINT_MAX : (unsigned long)n;
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_LIST;
    o->lru = 0;
    o->meta = 0;
    if (ql_node_exceeds_limit(fill, lp_bytes(lp) + payload, (unsigned int)count)) {
        lp_free(lp);
        quicklist *ql = ql_create(fill, c->e->cfg.list_compress_depth);
        for (long i = 0; i < n; i++)
            ql_push(ql, QL_TAIL, items[i].ptr, items[i].len);
        o->encoding = ENC_QUICKLIST;
        o->v.ptr = ql;
    } else {
        for (long i = 0; i < n; i++)
            lp = lp_append(lp, items[i].ptr, items[i].len);
        o->encoding = ENC_LISTPACK;
        o->v.ptr = lp;
    }
    return o;
}

/* ---------------------------------------------------------------------------
 * Patterns
 * ------------------------------------------------------------------------ */

/* The value a BY or GET pattern names for element ele, as Redis's
 * lookupKeyByPattern: "#" is the element itself; otherwise the first '*'
 * is replaced by the element and the key looked up, a string key giving
 * its value and "key->field" (a non-empty field after the '*') the field
 * of a hash.  Returns 0 when there is no such value (no '*', a missing
 * key or field, a key of another type).  *p points into buf (NUM_STR_MAX
 * bytes), the element or the keyspace, valid until the keyspace changes. */
static int lookup_pattern(cmd_call *c, const cslice *pat, const char *ele, size_t elen, char *buf,
                          const char **p, size_t *len)
{
    if (pat->len == 1 && pat->ptr[0] == '#') {
        *p = ele;
        *len = elen;
        return 1;
    }
    const char *star = memchr(pat->ptr, '*', pat->len);
    if (!star) return 0;
    const char *end = pat->ptr + pat->len;
    const char *field = NULL;
    size_t flen = 0;
    for (const char *f = star + 1; f + 1 < end; f++) {
        if (f[0] == '-' && f[1] == '>') {
            /* Redis requires a non-empty field name after the arrow. */
            if (f + 2 < end) {
                field = f + 2;
                flen = (size_t)(end - field);
                end = f;
            }
            break;
        }
    }
    size_t prefix = (size_t)(star - pat->ptr), suffix = (size_t)(end - star - 1);
    size_t klen = prefix + elen + suffix;
    char small[256];
    char *key = klen <= sizeof small ? small : cm_malloc(klen);
    memcpy(key, pat->ptr, prefix);
    memcpy(key + prefix, ele, elen);
    memcpy(key + prefix + elen, star + 1, suffix);
    cslice k = {key, klen};
    cobj *o = lookup_read(c, &k);
    if (key != small) cm_free(key);
    if (!o) return 0;
    if (field) {
        if (o->type != OBJ_HASH) return 0;
        return hash_get_field(o, field, flen, buf, p, len);
    }
    if (o->type != OBJ_STRING) return 0;
    *p = obj_str(o, buf, len);
    return 1;
}

/* ---------------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------------ */

typedef struct sort_opts {
    int desc, alpha, by;
} sort_opts;

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_dstr(const dstr a, const dstr b)
{
    return cmp_bytes(a, dstr_len(a), b, dstr_len(b));
}

static int sort_cmp(const sort_opts *o, const sort_item *a, const sort_item *b)
{
    int r;
    if (!o->alpha) {
        if (a->score > b->score)
            r = 1;
        else if (a->score < b->score)
            r = -1;
        else
            r = cmp_dstr(a->ele, b->ele);
    } else if (o->by) {
        if (!a->cmp || !b->cmp)
            r = a->cmp == b->cmp ? 0 : a->cmp ? 1 : -1;
        else
            r = cmp_dstr(a->cmp, b->cmp);
        /* Redis leaves equal weights to qsort; order them by the elements
         * so the result never depends on a set's iteration order. */
        if (r == 0) r = cmp_dstr(a->ele, b->ele);
    } else {
        r = cmp_dstr(a->ele, b->ele);
    }
    return o->desc ? -r : r;
}

/* A stable merge sort of v[0..n) using tmp (n items) as scratch. */
static void merge_sort(const sort_opts *o, sort_item *v, sort_item *tmp, size_t n)
{
    if (n < 2) return;
    if (n <= 12) { /* insertion sort for small runs */
        for (size_t i = 1; i < n; i++) {
            sort_item x = v[i];
            size_t j = i;
            while (j > 0 && sort_cmp(o, &v[j - 1], &x) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    size_t mid = n / 2;
    merge_sort(o, v, tmp, mid);
    merge_sort(o, v + mid, tmp, n - mid);
    if (sort_cmp(o, &v[mid - 1], &v[mid]) <= 0) return; /* already in order */
    memcpy(tmp, v, mid * sizeof(sort_item));
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n)
        v[k++] = sort_cmp(o, &v[j], &tmp[i]) < 0 ? v[j++] : tmp[i++];
    while (i < mid)
        v[k++] = tmp[i++];
}

/* Parse a weight as Redis does: strtod over the whole string (stopping at
 * a NUL byte like the C string Redis hands it), no range error, not NaN. */
static int parse_score(const char *p, size_t len, double *out)
{
    char small[128];
    char *s = len < sizeof small ? small : cm_malloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    char *eptr;
    errno = 0;
    double d = c_strtod(s, &eptr);
    int ok = eptr[0] == '\0' && errno != ERANGE && !isnan(d);
    if (s != small) cm_free(s);
    *out = d;
    return ok;
}

/* ---------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------ */

static void sort_generic(cmd_call *c, int readonly)
{
    sort_opts o = {0, 0, 0};
    long long limit_start = 0, limit_count = -1;
    const cslice *by = NULL, *store = NULL;
    int dontsort = 0;
    /* GET patterns are the arguments marked here. */
    int *gets = cm_malloc(sizeof(int) * (size_t)c->argc);
    int ngets = 0;

    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "asc")) {
            o.desc = 0;
        } else if (arg_is(c, j, "desc")) {
            o.desc = 1;
        } else if (arg_is(c, j, "alpha")) {
            o.alpha = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!arg_ll(c, j + 1, &limit_start) || !arg_ll(c, j + 2, &limit_count)) {
                cm_free(gets);
                return;
            }
            j += 2;
        } else if (!readonly && arg_is(c, j, "store") && left >= 1) {
            store = &c->argv[++j];
        } else if (arg_is(c, j, "by") && left >= 1) {
            by = &c->argv[++j];
            /* A pattern without '*' names no per-element key: don't sort
             * (and, as in Redis, a later BY does not undo that). */
            if (!memchr(by->ptr, '*', by->len)) dontsort = 1;
        } else if (arg_is(c, j, "get") && left >= 1) {
            gets[ngets++] = ++j;
        } else {
            reply_syntax_error(c);
            cm_free(gets);
            return;
        }
    }

    cobj *val = lookup_read(c, &c->argv[1]);
    if (val && val->type != OBJ_LIST && val->type != OBJ_SET && val->type != OBJ_ZSET) {
        reply_error(c->out, ERR_WRONGTYPE);
        cm_free(gets);
        return;
    }

    /* A set has no order of its own: what is stored, or what a script
     * sees, must not depend on the hash table's iteration order, so sort
     * it alphabetically (as Redis does for both). */
    if (dontsort && val && val->type == OBJ_SET && (store || (c->s->flags & SESS_SCRIPT))) {
        dontsort = 0;
        o.alpha = 1;
        by = NULL;
    }
    o.by = by != NULL;

    /* Redis 7.0 converts a listpack sorted set to a skiplist to sort it,
     * which OBJECT ENCODING shows afterwards: do the same. */
    if (val && val->type == OBJ_ZSET && val->encoding == ENC_LISTPACK)
        zset_convert_to_skiplist(c, val);

    sort_vec vec = {NULL, 0, 0};
    if (val) collect(val, &vec);
    long vlen = (long)vec.n;

    /* LIMIT, clamped as Redis does (to the size first, so that offset +
     * count cannot overflow). */
    long start = limit_start < 0 ? 0 : limit_start > vlen ? vlen : (long)limit_start;
    long lcount = limit_count < -1 ? -1 : limit_count > vlen ? vlen : (long)limit_count;
    long end = lcount < 0 ? vlen - 1 : start + lcount - 1;
    if (start >= vlen) {
        start = vlen - 1;
        end = vlen - 2;
    }
    if (end >= vlen) end = vlen - 1;

    int conversion_error = 0;
    if (dontsort) {
        /* Lists and sorted sets keep their order, reversed by DESC. */
        if (o.desc && val && val->type != OBJ_SET) {
            for (size_t i = 0, k = vec.n; i < k / 2; i++) {
                sort_item t = vec.v[i];
                vec.v[i] = vec.v[k - 1 - i];
                vec.v[k - 1 - i] = t;
            }
        }
    } else {
        for (size_t i = 0; i < vec.n; i++) {
            sort_item *it = &vec.v[i];
            const char *p = it->ele;
            size_t len = dstr_len(it->ele);
            char buf[NUM_STR_MAX];
            if (by && !lookup_pattern(c, by, it->ele, dstr_len(it->ele), buf, &p, &len))
                continue; /* a missing weight: 0, or first with ALPHA */
            if (o.alpha) {
                if (by) it->cmp = dstr_new(p, len);
            } else if (!parse_score(p, len, &it->score)) {
                conversion_error = 1;
            }
        }
        if (!conversion_error && vec.n > 1) {
            sort_item *tmp = cm_malloc(vec.n * sizeof(sort_item));
            merge_sort(&o, vec.v, tmp, vec.n);
            cm_free(tmp);
        }
    }

    long count = end - start + 1; /* elements in the result, >= 0 */
    long outlen = ngets ? (long)ngets * count : count;
    if (conversion_error) {
        reply_error(c->out, "ERR One or more scores can't be converted into double");
    } else if (!store) {
        reply_array_len(c->out, outlen);
        for (long j = start; j <= end; j++) {
            sort_item *it = &vec.v[j];
            if (!ngets) reply_bulk(c->out, it->ele, dstr_len(it->ele));
            for (int g = 0; g < ngets; g++) {
                const char *p;
                size_t len;
                char buf[NUM_STR_MAX];
                if (lookup_pattern(c, &c->argv[gets[g]], it->ele, dstr_len(it->ele), buf, &p, &len))
                    reply_bulk(c->out, p, len);
                else
                    reply_null(c->out);
            }
        }
    } else {
        if (outlen > 0) {
            /* Copy every value out before building the list: a lookup may
             * delete an expired key, and integers are formatted in buf. */
            cslice *items = cm_malloc(sizeof(cslice) * (size_t)outlen);
            dstr *owned = ngets ? cm_malloc(sizeof(dstr) * (size_t)outlen) : NULL;
            long n = 0;
            for (long j = start; j <= end; j++) {
                sort_item *it = &vec.v[j];
                if (!ngets) {
                    items[n].ptr = it->ele;
                    items[n++].len = dstr_len(it->ele);
                    continue;
                }
                for (int g = 0; g < ngets; g++) {
                    const char *p;
                    size_t len;
                    char buf[NUM_STR_MAX];
                    if (!lookup_pattern(c, &c->argv[gets[g]], it->ele, dstr_len(it->ele), buf, &p,
                                        &len)) {
                        p = "";
                        len = 0;
                    }
                    owned[n] = dstr_new(p, len);
                    items[n].ptr = owned[n];
                    items[n].len = len;
                    n++;
                }
            }
            db_store(c, c->db, store, list_from_items(c, items, n));
            c->dirty += outlen;
            notify_key(c, NOTIFY_LIST, "sortstore", store);
            if (owned)
                for (long i = 0; i < n; i++)
                    dstr_free(owned[i]);
            cm_free(owned);
            cm_free(items);
        } else if (db_delete(c, c->db, store)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "del", store);
        }
        reply_int(c->out, outlen);
    }
    vec_free(&vec);
    cm_free(gets);
}

static void sort_command(cmd_call *c) { sort_generic(c, 0); }
static void sort_ro_command(cmd_call *c) { sort_generic(c, 1); }

#define SORT_COMPLEXITY                                                                            \
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "       \
    "number of returned elements. When the elements are not sorted, complexity is O(N)."

/* SORT's keys: the sorted key and, with STORE, the destination (the last
 * STORE wins), skipping the arguments of LIMIT, BY and GET as Redis's
 * sortGetKeys does. */
static int sort_getkeys(int argc, const cslice *argv, int *idx, int max)
{
    if (max < 2) return -1;
    int n = 0, store = 0;
    idx[n++] = 1;
    for (int i = 2; i < argc; i++) {
        if (slice_is(&argv[i], "limit"))
            i += 2;
        else if (slice_is(&argv[i], "get") || slice_is(&argv[i], "by"))
            i++;
        else if (slice_is(&argv[i], "store") && i + 1 < argc)
            store = ++i;
    }
    if (store) idx[n++] = store;
    return n;
}

const cmd_def sort_commands[] = {
    {"sort", sort_command, -2, CMD_WRITE | CMD_DENYOOM,
     ACL_WRITE | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS, 1, 1, 1, "generic",
     "1.0.0", "Sort the elements in a list, set or sorted set", SORT_COMPLEXITY, NULL, sort_getkeys,
     NULL, KEY_SPEC(KF_RO | KF_ACCESS, KF_OW | KF_UPDATE)},
    {"sort_ro", sort_ro_command, -2, CMD_READONLY,
     ACL_READ | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS, 1, 1, 1, "generic",
     "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
     SORT_COMPLEXITY, NULL, sort_getkeys, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
