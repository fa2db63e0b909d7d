/* t_list.c -- the list command family.
 *
 * LPUSH/RPUSH and friends, LPOP/RPOP (with count), LRANGE, LINDEX, LSET,
 * LINSERT, LREM, LTRIM, LPOS, LMOVE/RPOPLPUSH, LMPOP and the blocking
 * pops BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP, with Redis 7.0's reply
 * shapes and error strings.
 *
 * Encodings, as in Redis 7.2: a small list is one listpack (OBJECT
 * ENCODING "listpack"); once it would outgrow one quicklist node of
 * list-max-listpack-size it becomes a quicklist, a chain of listpack
 * nodes, and it goes back to a single listpack when it shrinks to one node
 * of at most half that size (the gap keeps a list that hovers around the
 * limit from converting back and forth).  Redis 7.0 itself always reports
 * "quicklist"; 7.2 made the small case a plain listpack, which is what is
 * done here because it saves a node and a list header per small list.
 *
 * Blocking pops first try to serve themselves like their non-blocking
 * twins.  Whenever one is served, it is logged as the non-blocking pop
 * that happened (BLPOP a b 0 served from b is logged as LPOP b), so replay
 * never blocks and ends in the same state (DESIGN rule 4). */
#include <limits.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/listpack.h"
#include "../ds/quicklist.h"
#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "t_list.h"

/* ---------------------------------------------------------------------------
 * The list type over both encodings
 * ------------------------------------------------------------------------ */

static cobj *list_obj_new(void *ptr, int encoding)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_LIST;
    o->encoding = encoding;
    o->lru = 0;
    o->meta = 0;
    o->v.ptr = ptr;
    return o;
}

static cobj *list_create(void) { return list_obj_new(lp_new(0), ENC_LISTPACK); }

void list_obj_free(cobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        lp_free(o->v.ptr);
    else
        ql_free(o->v.ptr);
}

size_t list_obj_mem(cobj *o, long long samples)
{
    if (o->encoding == ENC_LISTPACK) return cm_usable_size(o->v.ptr);
    quicklist *ql = o->v.ptr;
    size_t sum = 0;
    long long seen = 0;
    for (ql_node *n = ql->head; n && (samples == 0 || seen < samples); n = n->next) {
        sum += cm_usable_size(n) + cm_usable_size(n->lp);
        seen++;
    }
    size_t nodes = seen ? (size_t)((double)sum / (double)seen * (double)ql->len) : 0;
    return cm_usable_size(ql) + nodes;
}

cobj *list_obj_dup(const cobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        return list_obj_new(cm_memdup(o->v.ptr, lp_bytes(o->v.ptr)), ENC_LISTPACK);
    return list_obj_new(ql_dup(o->v.ptr), ENC_QUICKLIST);
}

static unsigned long list_len(const cobj *o)
{
    if (o->encoding == ENC_LISTPACK) return lp_length(o->v.ptr);
    return ql_count(o->v.ptr);
}

/* Before adding n values: turn a listpack that would outgrow one quicklist
 * node into a quicklist (Redis's listTypeTryConvertListpack).  The
 * estimate counts the payload bytes only, as Redis does. */
static void list_try_grow(cmd_call *c, cobj *o, const cslice *vals, int n)
{
    if (o->encoding != ENC_LISTPACK) return;
    unsigned char *lp = o->v.ptr;
    size_t add = 0;
    for (int i = 0; i < n; i++)
        add += vals[i].len;
    int fill = c->e->cfg.list_max_listpack_size;
    unsigned long count = lp_length(lp) + (unsigned long)n;
    if (count > UINT_MAX) count = UINT_MAX;
    if (!ql_node_exceeds_limit(fill, lp_bytes(lp) + add, (unsigned int)count)) return;

    quicklist *ql = ql_create(fill, c->e->cfg.list_compress_depth);
    if (lp_length(lp))
        ql_append_listpack(ql, lp);
    else
        lp_free(lp);
    o->v.ptr = ql;
    o->encoding = ENC_QUICKLIST;
}

/* After removing values: a quicklist down to one node of at most half the
 * node limit becomes a listpack again. */
static void list_try_shrink(cmd_call *c, cobj *o)
{
    if (o->encoding != ENC_QUICKLIST) return;
    quicklist *ql = o->v.ptr;
    if (ql->len != 1) return;
    size_t sz_limit;
    unsigned int count_limit;
    ql_node_limit(c->e->cfg.list_max_listpack_size, &sz_limit, &count_limit);
    if (lp_bytes(ql->head->lp) > sz_limit / 2 || ql->count > count_limit / 2) return;
    o->v.ptr = ql_release_to_listpack(ql);
    o->encoding = ENC_LISTPACK;
}

static void list_push(cobj *o, int where, const char *s, size_t len)
{
    if (o->encoding == ENC_QUICKLIST) {
        ql_push(o->v.ptr, where, s, len);
    } else if (where == QL_HEAD) {
        o->v.ptr = lp_prepend(o->v.ptr, s, len);
    } else {
        o->v.ptr = lp_append(o->v.ptr, s, len);
    }
}

static void list_del_range(cobj *o, long index, unsigned long count)
{
    if (count == 0) return;
    if (o->encoding == ENC_QUICKLIST)
        ql_del_range(o->v.ptr, index, count);
    else
        o->v.ptr = lp_delete_range(o->v.ptr, index, count);
}

/* An iterator over either encoding.  Listpack positions are invalidated by
 * changes, so list_delete() recomputes the next one. */
typedef struct list_iter {
    cobj *o;
    int dir;             /* QL_FORWARD or QL_BACKWARD */
    unsigned char *next; /* listpack: the entry to return next */
    ql_iter qi;          /* quicklist */
} list_iter;

typedef struct list_entry {
    unsigned char *p; /* the entry inside its listpack */
    ql_entry qe;      /* quicklist: where it is */
    lp_value v;
} list_entry;

/* Start at index (negative: from the tail); yields nothing if out of
 * range. */
static void list_iter_init(list_iter *it, cobj *o, long index, int dir)
{
    it->o = o;
    it->dir = dir;
    it->next = NULL;
    if (o->encoding == ENC_LISTPACK)
        it->next = lp_seek(o->v.ptr, index);
    else
        ql_iter_init(&it->qi, o->v.ptr, index, dir);
}

static int list_next(list_iter *it, list_entry *e)
{
    if (it->o->encoding == ENC_QUICKLIST) {
        if (!ql_next(&it->qi, &e->qe)) return 0;
        e->p = e->qe.p;
        e->v = e->qe.v;
        return 1;
    }
    if (!it->next) return 0;
    unsigned char *lp = it->o->v.ptr;
    e->p = it->next;
    lp_get(e->p, &e->v);
    it->next = it->dir == QL_FORWARD ? lp_next(lp, e->p) : lp_prev(lp, e->p);
    return 1;
}

static int entry_equals(const list_entry *e, const cslice *s)
{
    return lp_equals(e->p, s->ptr, s->len);
}

/* Delete e, the entry returned last; iteration goes on after it. */
static void list_delete(list_iter *it, list_entry *e)
{
    if (it->o->encoding == ENC_QUICKLIST) {
        ql_del_entry(&it->qi, &e->qe);
        return;
    }
    unsigned char *next;
    unsigned char *lp = lp_delete(it->o->v.ptr, e->p, &next);
    it->o->v.ptr = lp;
    if (it->dir == QL_FORWARD)
        it->next = next;
    else
        it->next = next ? lp_prev(lp, next) : lp_last(lp);
}

/* Insert s before or after e (LP_BEFORE / LP_AFTER); ends the iteration. */
static void list_insert(list_iter *it, list_entry *e, int where, const cslice *s)
{
    if (it->o->encoding == ENC_QUICKLIST)
        ql_insert(&it->qi, &e->qe, where, s->ptr, s->len);
    else
        it->o->v.ptr = lp_insert(it->o->v.ptr, e->p, where, s->ptr, s->len, NULL);
}

/* Replace the value of e; ends the iteration. */
static void list_replace(list_iter *it, list_entry *e, const cslice *s)
{
    if (it->o->encoding == ENC_QUICKLIST)
        ql_replace_entry(&it->qi, &e->qe, s->ptr, s->len);
    else
        it->o->v.ptr = lp_replace(it->o->v.ptr, &e->p, s->ptr, s->len);
}

static void reply_value(cmd_call *c, const lp_value *v)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *s = lp_value_str(v, buf, &len);
    reply_bulk(c->out, s, len);
}

/* Reply with count entries from index on, walking in direction dir. */
static void reply_range(cmd_call *c, cobj *o, long index, long count, int dir)
{
    list_iter it;
    list_entry e;
    reply_array_len(c->out, count);
    list_iter_init(&it, o, index, dir);
    while (count-- > 0 && list_next(&it, &e))
        reply_value(c, &e.v);
}

/* Remove the entry at one end and return a copy of it. */
static dstr list_pop(cobj *o, int where)
{
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, where == QL_HEAD ? 0 : -1, QL_FORWARD);
    if (!list_next(&it, &e)) return NULL;
    char buf[NUM_STR_MAX];
    size_t len;
    const char *s = lp_value_str(&e.v, buf, &len);
    dstr val = dstr_new(s, len);
    list_delete(&it, &e);
    return val;
}

/* The keyspace event of a pop from one end. */
static const char *pop_event(int where) { return where == QL_HEAD ? "lpop" : "rpop"; }
static const char *push_event(int where) { return where == QL_HEAD ? "lpush" : "rpush"; }

/* After values were taken out of the list at key by `event`: delete the
 * key if it is empty, else maybe go back to a listpack (Redis's
 * listElementsRemoved). */
static void list_removed(cmd_call *c, const cslice *key, cobj *o, long count, const char *event)
{
    notify_key(c, NOTIFY_LIST, event, key);
    if (list_len(o) == 0) {
        db_delete(c, c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    } else {
        list_try_shrink(c, o);
    }
    c->dirty += count;
}

/* Pop up to count entries from one end of the list at key and reply with
 * them, in popping order.  Returns how many were popped. */
static long pop_range_reply(cmd_call *c, const cslice *key, cobj *o, int where, long count)
{
    long len = (long)list_len(o);
    long n = count > len ? len : count;
    if (where == QL_HEAD) {
        reply_range(c, o, 0, n, QL_FORWARD);
        list_del_range(o, 0, (unsigned long)n);
    } else {
        reply_range(c, o, -1, n, QL_BACKWARD);
        list_del_range(o, -n, (unsigned long)n);
    }
    list_removed(c, key, o, n, pop_event(where));
    return n;
}

void list_foreach(cobj *o, int (*cb)(void *priv, const char *p, size_t len), void *priv)
{
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, 0, QL_FORWARD);
    while (list_next(&it, &e)) {
        char buf[NUM_STR_MAX];
        size_t len;
        const char *s = lp_value_str(&e.v, buf, &len);
        if (!cb(priv, s, len)) return;
    }
}

cobj *list_obj_from(cmd_call *c, const cslice *items, long n)
{
    cobj *o = list_create();
    list_try_grow(c, o, items, (int)(n > INT_MAX ? INT_MAX : n));
    for (long i = 0; i < n; i++)
        list_push(o, QL_TAIL, items[i].ptr, items[i].len);
    return o;
}

/* ---------------------------------------------------------------------------
 * Argument helpers
 * ------------------------------------------------------------------------ */

/* LEFT or RIGHT into QL_HEAD / QL_TAIL; a syntax error otherwise. */
static int arg_where(cmd_call *c, int i, int *where)
{
    if (arg_is(c, i, "left")) {
        *where = QL_HEAD;
    } else if (arg_is(c, i, "right")) {
        *where = QL_TAIL;
    } else {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

/* A long argument that must be >= min, with msg as the error for anything
 * else, as Redis's getRangeLongFromObjectOrReply with a message. */
static int arg_long_min(cmd_call *c, int i, long long min, const char *msg, long long *out)
{
    if (str_to_ll(c->argv[i].ptr, c->argv[i].len, out) && *out >= min) return 1;
    reply_error(c->out, msg);
    return 0;
}

static int lookup_list_write(cmd_call *c, const cslice *key, cobj **o)
{
    *o = lookup_write(c, key);
    return !(*o && check_type(c, *o, OBJ_LIST));
}

/* ---------------------------------------------------------------------------
 * Pushes
 * ------------------------------------------------------------------------ */

static void push_generic(cmd_call *c, int where, int only_if_exists)
{
    const cslice *key = &c->argv[1];
    cobj *o;
    if (!lookup_list_write(c, key, &o)) return;
    int created = 0;
    if (!o) {
        if (only_if_exists) {
            reply_int(c->out, 0);
            return;
        }
        o = list_create();
        created = 1;
    }
    list_try_grow(c, o, &c->argv[2], c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        list_push(o, where, c->argv[j].ptr, c->argv[j].len);
    long long len = (long long)list_len(o);
    /* Added once full, so that blocked clients woken by the key see it. */
    if (created) o = db_add(c, c->db, key, o);
    c->dirty += c->argc - 2;
    notify_key(c, NOTIFY_LIST, push_event(where), key);
    reply_int(c->out, len);
}

static void lpush_command(cmd_call *c) { push_generic(c, QL_HEAD, 0); }
static void rpush_command(cmd_call *c) { push_generic(c, QL_TAIL, 0); }
static void lpushx_command(cmd_call *c) { push_generic(c, QL_HEAD, 1); }
static void rpushx_command(cmd_call *c) { push_generic(c, QL_TAIL, 1); }

static void linsert_command(cmd_call *c)
{
    int where;
    if (arg_is(c, 2, "after")) {
        where = LP_AFTER;
    } else if (arg_is(c, 2, "before")) {
        where = LP_BEFORE;
    } else {
        reply_syntax_error(c);
        return;
    }
    cobj *o;
    if (!lookup_list_write(c, &c->argv[1], &o)) return;
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    list_try_grow(c, o, &c->argv[4], 1);
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, 0, QL_FORWARD);
    while (list_next(&it, &e)) {
        if (entry_equals(&e, &c->argv[3])) {
            list_insert(&it, &e, where, &c->argv[4]);
            c->dirty++;
            notify_key(c, NOTIFY_LIST, "linsert", &c->argv[1]);
            reply_int(c->out, (long long)list_len(o));
            return;
        }
    }
    reply_int(c->out, -1);
}

/* ---------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------ */

static void llen_command(cmd_call *c)
{
    cobj *o = lookup_read(c, &c->argv[1]);
    if (o && check_type(c, o, OBJ_LIST)) return;
    reply_int(c->out, o ? (long long)list_len(o) : 0);
}

static void lindex_command(cmd_call *c)
{
    /* As in Redis, a missing key answers nil before the index is read. */
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_null(c->out);
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;
    long long index;
    if (!arg_ll(c, 2, &index)) return;
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, (long)index, QL_FORWARD);
    if (list_next(&it, &e))
        reply_value(c, &e.v);
    else
        reply_null(c->out);
}

static void lrange_command(cmd_call *c)
{
    long long start, end;
    if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)) return;
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_empty_array(c->out);
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;
    long long len = (long long)list_len(o);
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        reply_empty_array(c->out);
        return;
    }
    if (end >= len) end = len - 1;
    reply_range(c, o, (long)start, (long)(end - start + 1), QL_FORWARD);
}

#define ERR_RANK_ZERO                                                                              \
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "   \
    "negative to start from the end of the list"

/* The options of LPOS; count -1 when COUNT was not given.  Returns 0
 * after replying to a bad option. */
static int lpos_options(cmd_call *c, long long *rank, long long *count, long long *maxlen)
{
    *rank = 1;
    *count = -1;
    *maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (arg_is(c, j, "rank") && more) {
            if (!arg_ll(c, ++j, rank)) return 0;
            if (*rank == 0) {
                reply_error(c->out, ERR_RANK_ZERO);
                return 0;
            }
        } else if (arg_is(c, j, "count") && more) {
            if (!arg_long_min(c, ++j, 0, "ERR COUNT can't be negative", count)) return 0;
        } else if (arg_is(c, j, "maxlen") && more) {
            if (!arg_long_min(c, ++j, 0, "ERR MAXLEN can't be negative", maxlen)) return 0;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

static void lpos_command(cmd_call *c)
{
    long long rank, count, maxlen;
    if (!lpos_options(c, &rank, &count, &maxlen)) return;
    int dir = QL_FORWARD;
    if (rank < 0) {
        /* Redis negates LLONG_MIN into itself, which then matches the
         * first hit from the tail: the same as -1. */
        rank = rank == LLONG_MIN ? 1 : -rank;
        dir = QL_BACKWARD;
    }
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        if (count != -1)
            reply_empty_array(c->out);
        else
            reply_null(c->out);
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;

    rbuf_deferred d = count != -1 ? reply_deferred_len(c->out) : NULL;
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, dir == QL_FORWARD ? 0 : -1, dir);
    long long len = (long long)list_len(o), index = 0, matches = 0, found = -1, replied = 0;
    while ((maxlen == 0 || index < maxlen) && list_next(&it, &e)) {
        if (entry_equals(&e, &c->argv[2]) && ++matches >= rank) {
            found = dir == QL_FORWARD ? index : len - index - 1;
            if (!d) break;
            reply_int(c->out, found);
            replied++;
            if (count && matches - rank + 1 >= count) break;
        }
        index++;
    }
    if (d)
        reply_set_deferred_array(c->out, d, (long)replied);
    else if (found != -1)
        reply_int(c->out, found);
    else
        reply_null(c->out);
}

/* ---------------------------------------------------------------------------
 * Edits
 * ------------------------------------------------------------------------ */

static void lset_command(cmd_call *c)
{
    cobj *o = lookup_write(c, &c->argv[1]);
    if (!o) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;
    long long index;
    if (!arg_ll(c, 2, &index)) return;
    list_try_grow(c, o, &c->argv[3], 1);
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, (long)index, QL_FORWARD);
    if (!list_next(&it, &e)) {
        reply_error(c->out, "ERR index out of range");
        return;
    }
    list_replace(&it, &e, &c->argv[3]);
    /* A smaller value may leave room to go back to a listpack. */
    list_try_shrink(c, o);
    c->dirty++;
    notify_key(c, NOTIFY_LIST, "lset", &c->argv[1]);
    reply_ok(c->out);
}

static void lrem_command(cmd_call *c)
{
    long long toremove;
    if (!arg_ll(c, 2, &toremove)) return;
    cobj *o;
    if (!lookup_list_write(c, &c->argv[1], &o)) return;
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    list_iter it;
    list_entry e;
    if (toremove < 0) {
        /* Redis negates LLONG_MIN into a count that is never reached. */
        toremove = toremove == LLONG_MIN ? 0 : -toremove;
        list_iter_init(&it, o, -1, QL_BACKWARD);
    } else {
        list_iter_init(&it, o, 0, QL_FORWARD);
    }
    long long removed = 0;
    while (list_next(&it, &e)) {
        if (!entry_equals(&e, &c->argv[3])) continue;
        list_delete(&it, &e);
        if (++removed == toremove) break;
    }
    if (removed) list_removed(c, &c->argv[1], o, (long)removed, "lrem");
    reply_int(c->out, removed);
}

static void ltrim_command(cmd_call *c)
{
    long long start, end;
    if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)) return;
    cobj *o = lookup_write(c, &c->argv[1]);
    if (!o) {
        reply_ok(c->out);
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;
    long long len = (long long)list_len(o), ltrim, rtrim;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        /* An empty range empties the list. */
        ltrim = len;
        rtrim = 0;
    } else {
        if (end >= len) end = len - 1;
        ltrim = start;
        rtrim = len - end - 1;
    }
    list_del_range(o, 0, (unsigned long)ltrim);
    list_del_range(o, (long)-rtrim, (unsigned long)rtrim);
    /* Redis notifies ltrim even when nothing was trimmed. */
    if (ltrim + rtrim)
        list_removed(c, &c->argv[1], o, (long)(ltrim + rtrim), "ltrim");
    else
        notify_key(c, NOTIFY_LIST, "ltrim", &c->argv[1]);
    reply_ok(c->out);
}

/* ---------------------------------------------------------------------------
 * Pops
 * ------------------------------------------------------------------------ */

static void pop_generic(cmd_call *c, int where)
{
    if (c->argc > 3) {
        reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    long long count = 0;
    int has_count = c->argc == 3;
    if (has_count && !arg_long_min(c, 2, 0, "ERR value is out of range, must be positive", &count))
        return;
    cobj *o = lookup_write(c, &c->argv[1]);
    if (!o) {
        if (has_count)
            reply_null_array(c->out);
        else
            reply_null(c->out);
        return;
    }
    if (check_type(c, o, OBJ_LIST)) return;
    if (!has_count) {
        list_iter it;
        list_entry e;
        list_iter_init(&it, o, where == QL_HEAD ? 0 : -1, QL_FORWARD);
        list_next(&it, &e);
        reply_value(c, &e.v);
        list_delete(&it, &e);
        list_removed(c, &c->argv[1], o, 1, pop_event(where));
    } else if (count == 0) {
        reply_empty_array(c->out);
    } else {
        pop_range_reply(c, &c->argv[1], o, where, (long)count);
    }
}

static void lpop_command(cmd_call *c) { pop_generic(c, QL_HEAD); }
static void rpop_command(cmd_call *c) { pop_generic(c, QL_TAIL); }

/* Move one entry from the list src (which exists) to the end `to` of the
 * list at argument 2 and reply with it.  Returns 0 (after replying) if the
 * destination holds another type. */
static int lmove_do(cmd_call *c, cobj *src, int from, int to)
{
    const cslice *skey = &c->argv[1], *dkey = &c->argv[2];
    cobj *dst;
    if (!lookup_list_write(c, dkey, &dst)) return 0;
    /* Copied out: src and dst may be the same list (a rotation). */
    dstr val = list_pop(src, from);
    cslice v = {val, dstr_len(val)};
    int created = !dst;
    if (created) dst = list_create();
    list_try_grow(c, dst, &v, 1);
    list_push(dst, to, val, dstr_len(val));
    if (created) dst = db_add(c, c->db, dkey, dst);
    notify_key(c, NOTIFY_LIST, push_event(to), dkey);
    reply_bulk(c->out, val, dstr_len(val));
    dstr_free(val);
    list_removed(c, skey, src, 1, pop_event(from));
    return 1;
}

static void lmove_generic(cmd_call *c, int from, int to)
{
    cobj *src;
    if (!lookup_list_write(c, &c->argv[1], &src)) return;
    if (!src) {
        reply_null(c->out);
        return;
    }
    lmove_do(c, src, from, to);
}

static void lmove_command(cmd_call *c)
{
    int from, to;
    if (!arg_where(c, 3, &from) || !arg_where(c, 4, &to)) return;
    lmove_generic(c, from, to);
}

static void rpoplpush_command(cmd_call *c) { lmove_generic(c, QL_TAIL, QL_HEAD); }

/* The arguments of LMPOP and BLMPOP from numkeys on. */
typedef struct mpop_args {
    const cslice *keys;
    int nkeys;
    int where;
    long long count;
} mpop_args;

static int parse_mpop(cmd_call *c, int numkeys_idx, mpop_args *a)
{
    long long numkeys;
    if (!arg_long_min(c, numkeys_idx, 1, "ERR numkeys should be greater than 0", &numkeys))
        return 0;
    if (numkeys >= c->argc - numkeys_idx - 1) {
        /* No room left for LEFT|RIGHT. */
        reply_syntax_error(c);
        return 0;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1;
    if (!arg_where(c, where_idx, &a->where)) return 0;
    a->keys = &c->argv[numkeys_idx + 1];
    a->nkeys = (int)numkeys;
    a->count = -1;
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (a->count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_long_min(c, ++j, 1, "ERR count should be greater than 0", &a->count)) return 0;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (a->count == -1) a->count = 1;
    return 1;
}

/* The first list among the keys with entries, or NULL.  A key of another
 * type is an error (-1 after replying), except when a parked command is
 * retried: Redis serves a waiting client only from keys that are lists,
 * so the others are skipped as if empty, and only from the key that
 * became ready (block_may_serve()). */
static int first_nonempty(cmd_call *c, const cslice *keys, int nkeys, int *idx, cobj **o)
{
    for (int j = 0; j < nkeys; j++) {
        if (!block_may_serve(c, &keys[j])) continue;
        cobj *v = lookup_write(c, &keys[j]);
        if (!v) continue;
        if (v->type != OBJ_LIST) {
            if (c->retry) continue;
            reply_error(c->out, ERR_WRONGTYPE);
            return -1;
        }
        *idx = j;
        *o = v;
        return 1;
    }
    return 0;
}

/* Pop for LMPOP/BLMPOP from the first non-empty list and reply [key,
 * [values]].  Returns 1 if served, 0 if every list is empty, -1 after an
 * error. */
static int mpop_serve(cmd_call *c, const mpop_args *a)
{
    int idx;
    cobj *o;
    int r = first_nonempty(c, a->keys, a->nkeys, &idx, &o);
    if (r <= 0) return r;
    const cslice *key = &a->keys[idx];
    reply_array_len(c->out, 2);
    reply_bulk(c->out, key->ptr, key->len);
    long n = pop_range_reply(c, key, o, a->where, (long)a->count);
    if (c->cmd->flags & CMD_BLOCKING) {
        char num[NUM_STR_MAX];
        int nlen = ll_to_str(num, sizeof(num), n);
        cslice argv[6] = {
            {"LMPOP", 5}, {"1", 1},
            *key,         a->where == QL_HEAD ? (cslice){"LEFT", 4} : (cslice){"RIGHT", 5},
            {"COUNT", 5}, {num, (size_t)nlen},
        };
        log_as(c, 6, argv);
    }
    return 1;
}

static void lmpop_command(cmd_call *c)
{
    mpop_args a;
    if (!parse_mpop(c, 1, &a)) return;
    if (mpop_serve(c, &a) == 0) reply_null_array(c->out);
}

/* ---------------------------------------------------------------------------
 * Blocking pops
 * ------------------------------------------------------------------------ */

static void blocking_pop_generic(cmd_call *c, int where)
{
    int64_t timeout;
    if (!arg_timeout(c, c->argc - 1, &timeout)) return;
    const cslice *keys = &c->argv[1];
    int nkeys = c->argc - 2, idx;
    cobj *o;
    int r = first_nonempty(c, keys, nkeys, &idx, &o);
    if (r < 0) return;
    if (r == 0) {
        /* Inside MULTI (or embedded) a blocking pop cannot wait: it acts
         * as if it timed out at once. */
        if (!block_for_keys(c, keys, nkeys, timeout)) reply_null_array(c->out);
        return;
    }
    const cslice *key = &keys[idx];
    reply_array_len(c->out, 2);
    reply_bulk(c->out, key->ptr, key->len);
    list_iter it;
    list_entry e;
    list_iter_init(&it, o, where == QL_HEAD ? 0 : -1, QL_FORWARD);
    list_next(&it, &e);
    reply_value(c, &e.v);
    list_delete(&it, &e);
    list_removed(c, key, o, 1, pop_event(where));
    cslice argv[2] = {where == QL_HEAD ? (cslice){"LPOP", 4} : (cslice){"RPOP", 4}, *key};
    log_as(c, 2, argv);
}

static void blpop_command(cmd_call *c) { blocking_pop_generic(c, QL_HEAD); }
static void brpop_command(cmd_call *c) { blocking_pop_generic(c, QL_TAIL); }

static void blmove_generic(cmd_call *c, int from, int to, int64_t timeout)
{
    cobj *src = lookup_write(c, &c->argv[1]);
    if (src && src->type != OBJ_LIST) {
        if (!c->retry) {
            reply_error(c->out, ERR_WRONGTYPE);
            return;
        }
        src = NULL; /* a waiting client is served from lists only */
    }
    if (!src) {
        /* Unlike the other blocking pops, Redis answers a BLMOVE that
         * cannot wait (inside MULTI) with a null bulk. */
        if (!block_for_keys(c, &c->argv[1], 1, timeout)) reply_null(c->out);
        return;
    }
    if (!lmove_do(c, src, from, to)) return;
    cslice argv[5] = {
        {"LMOVE", 5},
        c->argv[1],
        c->argv[2],
        from == QL_HEAD ? (cslice){"LEFT", 4} : (cslice){"RIGHT", 5},
        to == QL_HEAD ? (cslice){"LEFT", 4} : (cslice){"RIGHT", 5},
    };
    log_as(c, 5, argv);
}

static void blmove_command(cmd_call *c)
{
    int from, to;
    int64_t timeout;
    if (!arg_where(c, 3, &from) || !arg_where(c, 4, &to) || !arg_timeout(c, 5, &timeout)) return;
    blmove_generic(c, from, to, timeout);
}

static void brpoplpush_command(cmd_call *c)
{
    int64_t timeout;
    if (!arg_timeout(c, 3, &timeout)) return;
    blmove_generic(c, QL_TAIL, QL_HEAD, timeout);
}

static void blmpop_command(cmd_call *c)
{
    mpop_args a;
    int64_t timeout;
    if (!parse_mpop(c, 2, &a) || !arg_timeout(c, 1, &timeout)) return;
    int r = mpop_serve(c, &a);
    if (r == 0 && !block_for_keys(c, a.keys, a.nkeys, timeout)) reply_null_array(c->out);
}

/* ---------------------------------------------------------------------------
 * The command table
 * ------------------------------------------------------------------------ */

#define LIST_WRITE_FAST (ACL_WRITE | ACL_LIST | ACL_FAST)
#define LIST_WRITE_SLOW (ACL_WRITE | ACL_LIST | ACL_SLOW)
#define LIST_READ_FAST  (ACL_READ | ACL_LIST | ACL_FAST)
#define LIST_READ_SLOW  (ACL_READ | ACL_LIST | ACL_SLOW)
#define LIST_BLOCKING   (ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING)
#define CX_PUSH                                                                                    \
    "O(1) for each element added, so O(N) to add N elements when the command is called with "      \
    "multiple arguments."
#define CX_MPOP                                                                                    \
    "O(N+M) where N is the number of provided keys and M is the number of elements returned."

const cmd_def list_commands[] = {
    {"lpush", lpush_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1,
     "list", "1.0.0", "Prepend one or multiple elements to a list", CX_PUSH, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"rpush", rpush_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1,
     "list", "1.0.0", "Append one or multiple elements to a list", CX_PUSH, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"lpushx", lpushx_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1,
     "list", "2.2.0", "Prepend an element to a list, only if the list exists", CX_PUSH, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"rpushx", rpushx_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1,
     "list", "2.2.0", "Append an element to a list, only if the list exists", CX_PUSH, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"lpop", lpop_command, -2, CMD_WRITE | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1, "list", "1.0.0",
     "Remove and get the first elements in a list",
     "O(N) where N is the number of elements returned", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"rpop", rpop_command, -2, CMD_WRITE | CMD_FAST, LIST_WRITE_FAST, 1, 1, 1, "list", "1.0.0",
     "Remove and get the last elements in a list",
     "O(N) where N is the number of elements returned", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"llen", llen_command, 2, CMD_READONLY | CMD_FAST, LIST_READ_FAST, 1, 1, 1, "list", "1.0.0",
     "Get the length of a list", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"lrange", lrange_command, 4, CMD_READONLY, LIST_READ_SLOW, 1, 1, 1, "list", "1.0.0",
     "Get a range of elements from a list",
     "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
     "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"lindex", lindex_command, 3, CMD_READONLY, LIST_READ_SLOW, 1, 1, 1, "list", "1.0.0",
     "Get an element from a list by its index",
     "O(N) where N is the number of elements to traverse to get to the element at index. This "
     "makes asking for the first or the last element of the list O(1).",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"lset", lset_command, 4, CMD_WRITE | CMD_DENYOOM, LIST_WRITE_SLOW, 1, 1, 1, "list", "1.0.0",
     "Set the value of an element in a list by its index",
     "O(N) where N is the length of the list. Setting either the first or the last element of "
     "the list is O(1).",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"linsert", linsert_command, 5, CMD_WRITE | CMD_DENYOOM, LIST_WRITE_SLOW, 1, 1, 1, "list",
     "2.2.0", "Insert an element before or after another element in a list",
     "O(N) where N is the number of elements to traverse before seeing the value pivot. This "
     "means that inserting somewhere on the left end on the list (head) can be considered O(1) "
     "and inserting somewhere on the right end (tail) is O(N).",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"lrem", lrem_command, 4, CMD_WRITE, LIST_WRITE_SLOW, 1, 1, 1, "list", "1.0.0",
     "Remove elements from a list",
     "O(N+M) where N is the length of the list and M is the number of elements removed.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"ltrim", ltrim_command, 4, CMD_WRITE, LIST_WRITE_SLOW, 1, 1, 1, "list", "1.0.0",
     "Trim a list to the specified range",
     "O(N) where N is the number of elements to be removed by the operation.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"lpos", lpos_command, -3, CMD_READONLY, LIST_READ_SLOW, 1, 1, 1, "list", "6.0.6",
     "Return the index of matching elements on a list",
     "O(N) where N is the number of elements in the list, for the average case. When searching "
     "for elements near the head or the tail of the list, or when the MAXLEN option is provided, "
     "the command may run in constant time.",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"lmove", lmove_command, 5, CMD_WRITE | CMD_DENYOOM, LIST_WRITE_SLOW, 1, 2, 1, "list", "6.2.0",
     "Pop an element from a list, push it to another list and return it", "O(1)", NULL, NULL, NULL,
     KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_INSERT)},
    {"rpoplpush", rpoplpush_command, 3, CMD_WRITE | CMD_DENYOOM, LIST_WRITE_SLOW, 1, 2, 1, "list",
     "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)",
     NULL, NULL, NULL, KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_INSERT)},
    /* LMPOP and BLMPOP find their keys through numkeys: like Redis's
     * COMMAND INFO (movablekeys), they report no fixed key range. */
    {"lmpop", lmpop_command, -4, CMD_WRITE, LIST_WRITE_SLOW, 0, 0, 0, "list", "7.0.0",
     "Pop elements from a list", CX_MPOP, NULL, getkeys_numkeys_at1, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"blpop", blpop_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, LIST_BLOCKING, 1, -2, 1,
     "list", "2.0.0", "Remove and get the first element in a list, or block until one is available",
     "O(N) where N is the number of provided keys.", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"brpop", brpop_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, LIST_BLOCKING, 1, -2, 1,
     "list", "2.0.0", "Remove and get the last element in a list, or block until one is available",
     "O(N) where N is the number of provided keys.", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"blmove", blmove_command, 6, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING,
     LIST_BLOCKING, 1, 2, 1, "list", "6.2.0",
     "Pop an element from a list, push it to another list and return it; or block until one is "
     "available",
     "O(1)", NULL, NULL, NULL, KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_INSERT)},
    {"brpoplpush", brpoplpush_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING,
     LIST_BLOCKING, 1, 2, 1, "list", "2.2.0",
     "Pop an element from a list, push it to another list and return it; or block until one is "
     "available",
     "O(1)", NULL, NULL, NULL, KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_INSERT)},
    {"blmpop", blmpop_command, -5, CMD_WRITE | CMD_BLOCKING, LIST_BLOCKING, 0, 0, 0, "list",
     "7.0.0", "Pop elements from a list, or block until one is available", CX_MPOP, NULL,
     getkeys_numkeys_at2, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {0},
};
