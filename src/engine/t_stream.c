/* t_stream.c -- the stream type's commands: XADD, XRANGE, XREVRANGE,
 * XLEN, XDEL, XTRIM, XSETID, XREAD, XREADGROUP, XGROUP, XACK, XPENDING,
 * XCLAIM, XAUTOCLAIM and XINFO.  The structure is src/ds/stream.c.
 *
 * Semantics, reply shapes and error strings are Redis 7.0's.  What the
 * log records (DESIGN rule 4): XADD its ID (never `*`) and an approximate
 * trim as the exact one it came to; XREADGROUP the state changes it made,
 * as Redis propagates them: XCLAIM ... FORCE JUSTID of what it delivered,
 * XGROUP SETID ... ENTRIESREAD of where the group stands, and XGROUP
 * CREATECONSUMER of a consumer it created.  Delivery and idle times come
 * from the call's now_ms, so a replay ends in the same pending lists. */
#include <limits.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/stream.h"
#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"

#define ERR_BAD_ID "ERR Invalid stream ID specified as stream command argument"
#define ERR_XADD_SMALL                                                                             \
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
#define XREAD_BLOCK_DEFAULT 1000 /* COUNT of a blocked XREAD without one, as Redis */

/* ---------------------------------------------------------------------- */
/* The object                                                               */
/* ---------------------------------------------------------------------- */

cobj *stream_obj_wrap(stream *s)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = OBJ_STREAM;
    o->encoding = ENC_STREAM;
    o->lru = 0;
    o->meta = 0;
    o->v.ptr = s;
    return o;
}

static cobj *stream_obj_new(void) { return stream_obj_wrap(stream_new()); }

void stream_obj_free(cobj *o) { stream_free(o->v.ptr); }

cobj *stream_obj_dup(const cobj *o) { return stream_obj_wrap(stream_dup(o->v.ptr)); }

size_t stream_obj_mem(cobj *o, long long samples) { return stream_mem(o->v.ptr, samples); }

static stream_limits node_limits(const cmd_call *c)
{
    return (stream_limits){(size_t)c->e->cfg.stream_node_max_bytes,
                           c->e->cfg.stream_node_max_entries};
}

/* ---------------------------------------------------------------------- */
/* Replies                                                                  */
/* ---------------------------------------------------------------------- */

static void reply_sid(cmd_call *c, const sid *id)
{
    char buf[SID_STR_MAX];
    int n = sid_format(id, buf);
    reply_bulk(c->out, buf, (size_t)n);
}

static void reply_lp(cmd_call *c, const lp_value *v)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = lp_value_str(v, buf, &len);
    reply_bulk(c->out, p, len);
}

/* [id, [field, value, ...]] of the entry the iterator is on. */
static void reply_entry(cmd_call *c, stream_iter *it, const sid *id, long nf)
{
    reply_array_len(c->out, 2);
    reply_sid(c, id);
    reply_array_len(c->out, nf * 2);
    for (long i = 0; i < nf; i++) {
        lp_value f, v;
        stream_iter_field(it, &f, &v);
        reply_lp(c, &f);
        reply_lp(c, &v);
    }
}

/* Reply with the entry id (no array around it); 0 if there is none. */
static int reply_one(cmd_call *c, const stream *s, const sid *id)
{
    stream_iter it;
    stream_iter_start(&it, s, id, id, 0);
    sid found;
    long nf;
    if (!stream_iter_next(&it, &found, &nf)) return 0;
    reply_entry(c, &it, &found, nf);
    return 1;
}

static int entry_exists(const stream *s, const sid *id)
{
    stream_iter it;
    stream_iter_start(&it, s, id, id, 0);
    sid found;
    long nf;
    return stream_iter_next(&it, &found, &nf);
}

/* The entries of [start, end], at most count (0: all), as an array. */
static long reply_range(cmd_call *c, const stream *s, const sid *start, const sid *end,
                        long long count, int rev)
{
    rbuf_deferred d = reply_deferred_len(c->out);
    stream_iter it;
    stream_iter_start(&it, s, start, end, rev);
    long n = 0;
    sid id;
    long nf;
    while ((count == 0 || n < count) && stream_iter_next(&it, &id, &nf)) {
        reply_entry(c, &it, &id, nf);
        n++;
    }
    reply_set_deferred_array(c->out, d, n);
    return n;
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                  */
/* ---------------------------------------------------------------------- */

/* An ID argument: "-" and "+" (unless strict), "<ms>" (seq missing_seq)
 * or "<ms>-<seq>".  Replies the Redis error when c is not NULL. */
static int parse_sid(cmd_call *c, const cslice *a, uint64_t missing_seq, int strict, sid *id)
{
    if (a->len == 1 && (a->ptr[0] == '-' || a->ptr[0] == '+') && !strict) {
        *id = a->ptr[0] == '-' ? SID_MIN : SID_MAX;
        return 1;
    }
    if (a->len < 128 && sid_parse(a->ptr, a->len, missing_seq, id, NULL)) return 1;
    if (c) reply_error(c->out, ERR_BAD_ID);
    return 0;
}

static int arg_sid(cmd_call *c, int i, uint64_t missing_seq, int strict, sid *id)
{
    return parse_sid(c, &c->argv[i], missing_seq, strict, id);
}

/* A range bound: an ID, or "(" and an ID for an exclusive one, made
 * inclusive here (start: the next ID, end: the previous). */
static int arg_interval(cmd_call *c, int i, int is_end, sid *id)
{
    const cslice *a = &c->argv[i];
    uint64_t missing = is_end ? UINT64_MAX : 0;
    if (a->len > 1 && a->ptr[0] == '(') {
        cslice rest = {a->ptr + 1, a->len - 1};
        if (!parse_sid(c, &rest, missing, 1, id)) return 0;
        if (is_end ? !sid_decr(id) : !sid_incr(id)) {
            reply_error(c->out, is_end ? "ERR invalid end ID for the interval"
                                       : "ERR invalid start ID for the interval");
            return 0;
        }
        return 1;
    }
    return parse_sid(c, a, missing, 0, id);
}

/* The stream at key, or NULL: absent (*wrong 0) or after WRONGTYPE. */
static stream *lookup_stream(cmd_call *c, const cslice *key, int write, int *wrong)
{
    cobj *o = write ? lookup_write(c, key) : lookup_read(c, key);
    *wrong = o && check_type(c, o, OBJ_STREAM);
    return o && !*wrong ? o->v.ptr : NULL;
}

static int arg_is_char(const cmd_call *c, int i, char ch)
{
    return c->argv[i].len == 1 && c->argv[i].ptr[0] == ch;
}

/* ---------------------------------------------------------------------- */
/* XADD and XTRIM                                                           */
/* ---------------------------------------------------------------------- */

typedef struct add_args {
    stream_trim trim;
    int strategy_arg; /* index of the MAXLEN count or MINID id */
    int nomkstream;
    int id_given, seq_auto;
    sid id;
} add_args;

static int parse_trim_strategy(cmd_call *c, int *i, add_args *a, int maxlen)
{
    if (a->trim.strategy != TRIM_NONE) {
        reply_error(c->out, "ERR syntax error, MAXLEN and MINID options at the same time are not "
                            "compatible");
        return 0;
    }
    int more = c->argc - 1 - *i;
    a->trim.approx = 0;
    if (more >= 2 && arg_is_char(c, *i + 1, '~')) {
        a->trim.approx = 1;
        (*i)++;
    } else if (more >= 2 && arg_is_char(c, *i + 1, '=')) {
        (*i)++;
    }
    if (maxlen) {
        if (!arg_ll(c, *i + 1, &a->trim.maxlen)) return 0;
        if (a->trim.maxlen < 0) {
            reply_error(c->out, "ERR The MAXLEN argument must be >= 0.");
            return 0;
        }
    } else if (!arg_sid(c, *i + 1, 0, 1, &a->trim.minid)) {
        return 0;
    }
    (*i)++;
    a->trim.strategy = maxlen ? TRIM_MAXLEN : TRIM_MINID;
    a->strategy_arg = *i;
    return 1;
}

/* The options of XADD (xadd) or XTRIM, from argv[2] on, as Redis's
 * streamParseAddOrTrimArgsOrReply.  Returns the position of XADD's ID, or
 * -1 after an error reply. */
static int parse_add_trim(cmd_call *c, int xadd, add_args *a)
{
    memset(a, 0, sizeof(*a));
    int limit_given = 0, i = 2;
    for (; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        if (xadd && arg_is_char(c, i, '*')) break;
        if (arg_is(c, i, "maxlen") && more) {
            if (!parse_trim_strategy(c, &i, a, 1)) return -1;
        } else if (arg_is(c, i, "minid") && more) {
            if (!parse_trim_strategy(c, &i, a, 0)) return -1;
        } else if (arg_is(c, i, "limit") && more) {
            if (!arg_ll(c, i + 1, &a->trim.limit)) return -1;
            if (a->trim.limit < 0) {
                reply_error(c->out, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && arg_is(c, i, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (c->argv[i].len >= 128 ||
                !sid_parse(c->argv[i].ptr, c->argv[i].len, 0, &a->id, &a->seq_auto)) {
                reply_error(c->out, ERR_BAD_ID);
                return -1;
            }
            a->id_given = 1;
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (a->trim.limit && a->trim.strategy == TRIM_NONE) {
        reply_error(
            c->out,
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->trim.strategy == TRIM_NONE) {
        reply_error(c->out, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (c->s->flags & SESS_LOADER) {
        a->trim.limit = 0; /* the log holds exact trims only */
    } else if (limit_given && !a->trim.approx) {
        reply_error(c->out, "ERR syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    } else if (!limit_given) {
        a->trim.limit = a->trim.approx ? 100 * c->e->cfg.stream_node_max_entries : 0;
    }
    return i;
}

/* The trim options as the log records them: an approximate trim as the
 * exact one it came to.  Fills argv from *n on. */
static void log_trim_args(const cmd_call *c, const add_args *a, const stream *s, cslice *argv,
                          int *n, char *buf)
{
    if (a->trim.strategy == TRIM_NONE) return;
    if (a->trim.approx) {
        int len = ll_to_str(buf, NUM_STR_MAX, (long long)s->length);
        argv[(*n)++] = (cslice){"MAXLEN", 6};
        argv[(*n)++] = (cslice){"=", 1};
        argv[(*n)++] = (cslice){buf, (size_t)len};
        return;
    }
    argv[(*n)++] = a->trim.strategy == TRIM_MAXLEN ? (cslice){"MAXLEN", 6} : (cslice){"MINID", 5};
    argv[(*n)++] = (cslice){"=", 1};
    argv[(*n)++] = c->argv[a->strategy_arg];
}

/* The ID XADD adds: 0 after an error reply. */
static int xadd_id(cmd_call *c, const add_args *a, const sid *last, sid *id)
{
    if (last->ms == UINT64_MAX && last->seq == UINT64_MAX) {
        reply_error(c->out,
                    "ERR The stream has exhausted the last possible ID, unable to add more items");
        return 0;
    }
    if (!a->id_given) {
        stream s = {0};
        s.last_id = *last;
        return stream_next_id(&s, (uint64_t)c->now_ms, id);
    }
    *id = a->id;
    if (a->seq_auto) {
        if (id->ms < last->ms) {
            reply_error(c->out, ERR_XADD_SMALL);
            return 0;
        }
        if (id->ms == last->ms && last->seq == UINT64_MAX) {
            reply_error(c->out, "ERR Elements are too large to be stored"); /* Redis's words */
            return 0;
        }
        id->seq = id->ms == last->ms ? last->seq + 1 : 0;
        return 1;
    }
    if (sid_cmp(id, last) <= 0) {
        reply_error(c->out, ERR_XADD_SMALL);
        return 0;
    }
    return 1;
}

/* XADD logs the ID it added (never "*" or "<ms>-*") and an approximate
 * trim as the exact one it came to. */
static void xadd_log(cmd_call *c, const add_args *a, const stream *s, int idpos, const sid *id)
{
    char lenbuf[NUM_STR_MAX], idbuf[SID_STR_MAX];
    int idlen = sid_format(id, idbuf);
    if (!a->trim.approx) {
        /* The arguments as they are, but for the ID. */
        if (!a->id_given || a->seq_auto) log_as_replacing(c, idpos, idbuf, (size_t)idlen);
        return;
    }
    int n = 0;
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)(c->argc + 8));
    argv[n++] = (cslice){"XADD", 4};
    argv[n++] = c->argv[1];
    if (a->nomkstream) argv[n++] = (cslice){"NOMKSTREAM", 10};
    log_trim_args(c, a, s, argv, &n, lenbuf);
    argv[n++] = (cslice){idbuf, (size_t)idlen};
    for (int i = idpos + 1; i < c->argc; i++)
        argv[n++] = c->argv[i];
    log_as(c, n, argv);
    cm_free(argv);
}

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]
 *      *|id field value [field value ...] */
static void xadd_command(cmd_call *c)
{
    add_args a;
    int idpos = parse_add_trim(c, 1, &a);
    if (idpos < 0) return;
    int fpos = idpos + 1, nfv = c->argc - fpos;
    if (nfv < 2 || nfv % 2) {
        reply_error(c->out, "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (a.id_given && !a.seq_auto && sid_is_zero(&a.id)) {
        reply_error(c->out, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    const cslice *key = &c->argv[1];
    int wrong;
    stream *s = lookup_stream(c, key, 1, &wrong);
    if (wrong) return;
    if (!s && a.nomkstream) {
        reply_null(c->out);
        return;
    }
    sid id, zero = SID_MIN;
    if (!xadd_id(c, &a, s ? &s->last_id : &zero, &id)) return;
    int existed = s != NULL;
    if (!s) s = db_add(c, c->db, key, stream_obj_new())->v.ptr;
    stream_limits lim = node_limits(c);
    stream_append(s, &id, &c->argv[fpos], nfv / 2, &lim);
    reply_sid(c, &id);
    notify_key(c, NOTIFY_STREAM, "xadd", key);
    c->dirty++;
    if (stream_trim_run(s, &a.trim)) notify_key(c, NOTIFY_STREAM, "xtrim", key);
    if (existed) signal_key_ready(c->e, c->db, key);
    xadd_log(c, &a, s, idpos, &id);
}

/* XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
static void xtrim_command(cmd_call *c)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[1], 1, &wrong);
    if (wrong) return;
    if (!s) {
        reply_int(c->out, 0);
        return;
    }
    add_args a;
    if (parse_add_trim(c, 0, &a) < 0) return;
    long long removed = stream_trim_run(s, &a.trim);
    if (removed) {
        notify_key(c, NOTIFY_STREAM, "xtrim", &c->argv[1]);
        c->dirty += removed;
        if (a.trim.approx) {
            cslice argv[5] = {{"XTRIM", 5}, c->argv[1]};
            int n = 2;
            char buf[NUM_STR_MAX];
            log_trim_args(c, &a, s, argv, &n, buf);
            log_as(c, n, argv);
        }
    }
    reply_int(c->out, removed);
}

/* ---------------------------------------------------------------------- */
/* XRANGE, XREVRANGE, XLEN, XDEL, XSETID                                    */
/* ---------------------------------------------------------------------- */

static void xrange_generic(cmd_call *c, int rev)
{
    sid start, end;
    if (!arg_interval(c, rev ? 3 : 2, 0, &start) || !arg_interval(c, rev ? 2 : 3, 1, &end)) return;
    long long count = -1;
    for (int j = 4; j < c->argc; j++) {
        if (arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_ll(c, ++j, &count)) return;
            if (count < 0) count = 0;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    int wrong;
    stream *s = lookup_stream(c, &c->argv[1], 0, &wrong);
    if (wrong) return;
    if (!s) {
        reply_empty_array(c->out);
        return;
    }
    if (count == 0) {
        reply_null_array(c->out);
        return;
    }
    reply_range(c, s, &start, &end, count < 0 ? 0 : count, rev);
}

/* XRANGE key start end [COUNT count] */
static void xrange_command(cmd_call *c) { xrange_generic(c, 0); }
/* XREVRANGE key end start [COUNT count] */
static void xrevrange_command(cmd_call *c) { xrange_generic(c, 1); }

/* XLEN key */
static void xlen_command(cmd_call *c)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[1], 0, &wrong);
    if (!wrong) reply_int(c->out, s ? (long long)s->length : 0);
}

/* XDEL key id [id ...] */
static void xdel_command(cmd_call *c)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[1], 1, &wrong);
    if (wrong) return;
    /* Every ID is checked before anything is deleted. */
    sid *ids = cm_malloc(sizeof(sid) * (size_t)(c->argc - 2));
    for (int j = 2; j < c->argc; j++) {
        if (!arg_sid(c, j, 0, 1, &ids[j - 2])) {
            cm_free(ids);
            return;
        }
    }
    long long deleted = 0;
    for (int j = 2; s && j < c->argc; j++)
        deleted += stream_delete(s, &ids[j - 2]);
    cm_free(ids);
    if (deleted) {
        notify_key(c, NOTIFY_STREAM, "xdel", &c->argv[1]);
        c->dirty += deleted;
    }
    reply_int(c->out, deleted);
}

/* XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] */
/* The arguments are checked before the key, as in Redis: a syntax error
 * wins over a missing key or a wrong type. */
static void xsetid_command(cmd_call *c)
{
    sid id, max_xdel = SID_MIN;
    if (!arg_sid(c, 2, 0, 1, &id)) return;
    long long added = -1;
    for (int i = 3; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        if (arg_is(c, i, "entriesadded") && more) {
            if (!arg_ll(c, ++i, &added)) return;
            if (added < 0) {
                reply_error(c->out, "ERR entries_added must be positive");
                return;
            }
        } else if (arg_is(c, i, "maxdeletedid") && more) {
            if (!arg_sid(c, ++i, 0, 1, &max_xdel)) return;
            if (sid_cmp(&id, &max_xdel) < 0) {
                reply_error(c->out, "ERR The ID specified in XSETID is smaller than the provided "
                                    "max_deleted_entry_id");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    int wrong;
    stream *s = lookup_stream(c, &c->argv[1], 1, &wrong);
    if (wrong) return;
    if (!s) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    if (sid_cmp(&id, &s->max_deleted_id) < 0) {
        reply_error(c->out,
                    "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
        return;
    }
    if (s->length > 0) {
        sid maxid;
        stream_edge_id(s, 1, &maxid);
        if (sid_cmp(&id, &maxid) < 0) {
            reply_error(
                c->out,
                "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (added != -1 && s->length > (uint64_t)added) {
            reply_error(c->out, "ERR The entries_added specified in XSETID is smaller than the "
                                "target stream length");
            return;
        }
    }
    s->last_id = id;
    if (added != -1) s->entries_added = (uint64_t)added;
    if (!sid_is_zero(&max_xdel)) s->max_deleted_id = max_xdel;
    reply_ok(c->out);
    c->dirty++;
    notify_key(c, NOTIFY_STREAM, "xsetid", &c->argv[1]);
}

/* ---------------------------------------------------------------------- */
/* Consumer group effects, logged (rule 4)                                  */
/* ---------------------------------------------------------------------- */

/* XCLAIM key group consumer 0 id... TIME t RETRYCOUNT n FORCE JUSTID: the
 * pending entries ids, owned by consumer since t, delivered n times. */
static void log_claims(cmd_call *c, const cslice *key, const stream_cg *cg,
                       const stream_consumer *who, const sid *ids, int n, int64_t t, uint64_t count)
{
    if (n == 0) return;
    int argc = 5 + n + 6;
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)argc);
    char *idbuf = cm_malloc((size_t)n * SID_STR_MAX);
    char tbuf[NUM_STR_MAX], nbuf[NUM_STR_MAX];
    int k = 0;
    argv[k++] = (cslice){"XCLAIM", 6};
    argv[k++] = *key;
    argv[k++] = (cslice){cg->name, dstr_len(cg->name)};
    argv[k++] = (cslice){who->name, dstr_len(who->name)};
    argv[k++] = (cslice){"0", 1};
    for (int i = 0; i < n; i++) {
        char *b = idbuf + (size_t)i * SID_STR_MAX;
        argv[k++] = (cslice){b, (size_t)sid_format(&ids[i], b)};
    }
    argv[k++] = (cslice){"TIME", 4};
    argv[k++] = (cslice){tbuf, (size_t)ll_to_str(tbuf, sizeof(tbuf), t)};
    argv[k++] = (cslice){"RETRYCOUNT", 10};
    argv[k++] = (cslice){nbuf, (size_t)ll_to_str(nbuf, sizeof(nbuf), (long long)count)};
    argv[k++] = (cslice){"FORCE", 5};
    argv[k++] = (cslice){"JUSTID", 6};
    log_add(c, k, argv);
    cm_free(idbuf);
    cm_free(argv);
    c->dirty++;
}

/* XGROUP SETID key group last-id ENTRIESREAD n */
static void log_group_position(cmd_call *c, const cslice *key, const stream_cg *cg)
{
    char idbuf[SID_STR_MAX], nbuf[NUM_STR_MAX];
    cslice argv[7] = {{"XGROUP", 6},
                      {"SETID", 5},
                      *key,
                      {cg->name, dstr_len(cg->name)},
                      {idbuf, (size_t)sid_format(&cg->last_id, idbuf)},
                      {"ENTRIESREAD", 11},
                      {nbuf, (size_t)ll_to_str(nbuf, sizeof(nbuf), cg->entries_read)}};
    log_add(c, 7, argv);
    c->dirty++;
}

static void log_consumer_created(cmd_call *c, const cslice *key, const stream_cg *cg,
                                 const stream_consumer *who)
{
    cslice argv[5] = {{"XGROUP", 6},
                      {"CREATECONSUMER", 14},
                      *key,
                      {cg->name, dstr_len(cg->name)},
                      {who->name, dstr_len(who->name)}};
    log_add(c, 5, argv);
    c->dirty++;
}

/* ---------------------------------------------------------------------- */
/* XREAD and XREADGROUP                                                     */
/* ---------------------------------------------------------------------- */

typedef struct read_args {
    int block;
    int64_t deadline; /* of BLOCK: absolute ms, 0 = forever */
    long long count;
    int streams_arg, nstreams;
    int noack;
    const cslice *group, *consumer;
} read_args;

static int parse_read(cmd_call *c, int xreadgroup, read_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (arg_is(c, i, "block") && more) {
            /* No script may wait, and Redis says so rather than treat it
             * as a timeout. */
            if (c->s && (c->s->flags & SESS_SCRIPT)) {
                reply_errorf(c->out,
                             "ERR %.*s command is not allowed with BLOCK option from scripts",
                             (int)c->argv[0].len, c->argv[0].ptr);
                return 0;
            }
            if (!arg_timeout_ms(c, ++i, &a->deadline)) return 0;
            a->block = 1;
        } else if (arg_is(c, i, "count") && more) {
            if (!arg_ll(c, ++i, &a->count)) return 0;
            if (a->count < 0) a->count = 0;
        } else if (arg_is(c, i, "streams") && more) {
            a->streams_arg = i + 1;
            a->nstreams = c->argc - a->streams_arg;
            if (a->nstreams % 2) {
                reply_error(c->out, "ERR Unbalanced XREAD list of streams: for each stream key an "
                                    "ID or '$' must be specified.");
                return 0;
            }
            a->nstreams /= 2;
            break;
        } else if (arg_is(c, i, "group") && more >= 2) {
            if (!xreadgroup) {
                reply_error(c->out, "ERR The GROUP option is only supported by XREADGROUP. You "
                                    "called XREAD instead.");
                return 0;
            }
            a->group = &c->argv[i + 1];
            a->consumer = &c->argv[i + 2];
            i += 2;
        } else if (arg_is(c, i, "noack")) {
            if (!xreadgroup) {
                reply_error(c->out, "ERR The NOACK option is only supported by XREADGROUP. You "
                                    "called XREAD instead.");
                return 0;
            }
            a->noack = 1;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (a->streams_arg == 0) {
        reply_syntax_error(c);
        return 0;
    }
    if (xreadgroup && !a->group) {
        reply_error(c->out, "ERR Missing GROUP option for XREADGROUP");
        return 0;
    }
    return 1;
}

/* What one key of an XREAD[GROUP] resolved to. */
typedef struct read_key {
    stream *s;
    stream_cg *cg;
    sid after; /* serve entries after this; SID_MAX for ">" */
} read_key;

/* Look up key i and its group, and parse its ID.  0 after an error. */
static int resolve_key(cmd_call *c, const read_args *a, int i, read_key *rk)
{
    const cslice *key = &c->argv[a->streams_arg + i];
    const cslice *idarg = &c->argv[a->streams_arg + a->nstreams + i];
    cobj *o = a->group ? lookup_write(c, key) : lookup_read(c, key);
    if (o && o->type != OBJ_STREAM) {
        /* A waiting reader is served by streams only (a key that became
         * something else is a stream gone, for a group reader). */
        if (!c->retry) {
            reply_error(c->out, ERR_WRONGTYPE);
            return 0;
        }
        o = NULL;
    }
    rk->s = o ? o->v.ptr : NULL;
    rk->cg = NULL;
    if (a->group) {
        rk->cg = rk->s ? stream_cg_find(rk->s, a->group->ptr, a->group->len) : NULL;
        if (!rk->cg) {
            if (c->retry && !rk->s)
                reply_error(c->out, "UNBLOCKED the stream key no longer exists");
            else if (c->retry)
                reply_error(
                    c->out,
                    "NOGROUP the consumer group this client was blocked on no longer exists");
            else
                reply_errorf(c->out,
                             "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP "
                             "with GROUP option",
                             (int)key->len, key->ptr, (int)a->group->len, a->group->ptr);
            return 0;
        }
    }
    if (idarg->len == 1 && idarg->ptr[0] == '$') {
        if (a->group) {
            reply_error(c->out, "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                                "want to read the history of this consumer by specifying a proper "
                                "ID, or use the > ID to get new messages. The $ ID would just "
                                "return an empty result set.");
            return 0;
        }
        rk->after = rk->s ? rk->s->last_id : SID_MIN;
        return 1;
    }
    if (idarg->len == 1 && idarg->ptr[0] == '>') {
        if (!a->group) {
            reply_error(c->out, "ERR The > ID can be specified only when calling XREADGROUP using "
                                "the GROUP <group> <consumer> option.");
            return 0;
        }
        rk->after = SID_MAX;
        return 1;
    }
    return parse_sid(c, idarg, 0, 1, &rk->after);
}

/* The consumer of a group read, created if needed (and logged). */
static stream_consumer *read_consumer(cmd_call *c, const read_args *a, const cslice *key,
                                      stream_cg *cg)
{
    stream_consumer *who = stream_consumer_find(cg, a->consumer->ptr, a->consumer->len);
    if (who) {
        who->seen_time = c->now_ms;
        return who;
    }
    who = stream_consumer_create(cg, a->consumer->ptr, a->consumer->len, c->now_ms);
    log_consumer_created(c, key, cg, who);
    notify_key(c, NOTIFY_STREAM, "xgroup-createconsumer", key);
    return who;
}

/* XREADGROUP with an ID: the consumer's own pending entries after it,
 * each delivered once more (a deleted one is shown with null fields). */
static void reply_history(cmd_call *c, const cslice *key, stream *s, stream_cg *cg,
                          stream_consumer *who, const sid *after, long long count)
{
    sid start = *after;
    if (!sid_incr(&start)) {
        reply_empty_array(c->out);
        return;
    }
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = sidmap_lower(&who->pel, &start);
         i < sidmap_len(&who->pel) && (count == 0 || n < count); i++, n++) {
        sidmap_ent *e = sidmap_at(&who->pel, i);
        if (!reply_one(c, s, &e->id)) {
            reply_array_len(c->out, 2);
            reply_sid(c, &e->id);
            reply_null_array(c->out);
            continue;
        }
        stream_nack *nack = sidmap_find(&cg->pel, &e->id)->val;
        nack->delivery_time = c->now_ms;
        nack->delivery_count++;
        log_claims(c, key, cg, who, &e->id, 1, c->now_ms, nack->delivery_count);
    }
    reply_set_deferred_array(c->out, d, n);
}

/* XREADGROUP with ">": entries never delivered to the group, added to the
 * consumer's pending entries unless NOACK. */
static void reply_new(cmd_call *c, const read_args *a, const cslice *key, stream *s, stream_cg *cg,
                      stream_consumer *who, long long count)
{
    sid start = cg->last_id;
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    sid *ids = NULL;
    if (sid_incr(&start)) {
        stream_iter it;
        stream_iter_resume(&it, s, &start, &cg->read_pos);
        sid id;
        long nf;
        while ((count == 0 || n < count) && stream_iter_next(&it, &id, &nf)) {
            stream_cg_delivered(s, cg, &id);
            reply_entry(c, &it, &id, nf);
            stream_iter_save(&it, &id, &cg->read_pos);
            ids = cm_realloc(ids, sizeof(sid) * (size_t)(n + 1));
            ids[n++] = id;
        }
    }
    reply_set_deferred_array(c->out, d, n);
    if (n == 0) return;
    if (!a->noack) {
        for (long i = 0; i < n; i++) {
            sidmap_ent *e = sidmap_find(&cg->pel, &ids[i]);
            if (!e) {
                stream_nack_add(cg, who, &ids[i], c->now_ms);
                continue;
            }
            /* XGROUP SETID moved the group back: the entry changes hands. */
            stream_nack *nack = e->val;
            stream_nack_move(cg, &ids[i], nack, who);
            nack->delivery_time = c->now_ms;
            nack->delivery_count = 1;
        }
        log_claims(c, key, cg, who, ids, (int)n, c->now_ms, 1);
    }
    log_group_position(c, key, cg);
    cm_free(ids);
}

/* Can key i serve the reader now?  *from is where to serve from. */
static int can_serve(const read_key *rk, int *history)
{
    *history = 0;
    if (!rk->s) return 0;
    if (rk->cg && sid_cmp(&rk->after, &SID_MAX) != 0) {
        *history = 1;
        return 1;
    }
    if (!rk->s->length) return 0;
    sid maxid;
    stream_edge_id(rk->s, 1, &maxid);
    return sid_cmp(&maxid, rk->cg ? &rk->cg->last_id : &rk->after) > 0;
}

static int serve_reads(cmd_call *c, const read_args *a, read_key *rks)
{
    long long count = a->count;
    if (c->retry && !count) count = XREAD_BLOCK_DEFAULT;
    long served = 0;
    rbuf_deferred d = NULL;
    for (int i = 0; i < a->nstreams; i++) {
        int history;
        if (!can_serve(&rks[i], &history)) continue;
        if (served++ == 0) d = reply_deferred_len(c->out);
        const cslice *key = &c->argv[a->streams_arg + i];
        if (c->out->resp == 2) reply_array_len(c->out, 2);
        reply_bulk(c->out, key->ptr, key->len);
        if (!rks[i].cg) {
            sid start = rks[i].after;
            sid_incr(&start);
            reply_range(c, rks[i].s, &start, NULL, count, 0);
            continue;
        }
        stream_consumer *who = read_consumer(c, a, key, rks[i].cg);
        if (history)
            reply_history(c, key, rks[i].s, rks[i].cg, who, &rks[i].after, count);
        else
            reply_new(c, a, key, rks[i].s, rks[i].cg, who, count);
    }
    if (!served) return 0;
    if (c->out->resp == 2)
        reply_set_deferred_array(c->out, d, served);
    else
        reply_set_deferred_map(c->out, d, served);
    return 1;
}

/* Park the reader; "$" IDs are parked as the IDs they stand for now. */
static int park_reader(cmd_call *c, const read_args *a, const read_key *rks)
{
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)c->argc);
    char *bufs = cm_malloc((size_t)a->nstreams * SID_STR_MAX);
    memcpy(argv, c->argv, sizeof(cslice) * (size_t)c->argc);
    for (int i = 0; i < a->nstreams; i++) {
        int at = a->streams_arg + a->nstreams + i;
        if (!arg_is_char(c, at, '$')) continue;
        char *b = bufs + (size_t)i * SID_STR_MAX;
        argv[at] = (cslice){b, (size_t)sid_format(&rks[i].after, b)};
    }
    const cslice *orig = c->argv;
    c->argv = argv;
    int parked = block_for_keys(c, &argv[a->streams_arg], a->nstreams, a->deadline);
    c->argv = orig;
    cm_free(bufs);
    cm_free(argv);
    return parked;
}

static void xread_generic(cmd_call *c, int xreadgroup)
{
    read_args a;
    if (!parse_read(c, xreadgroup, &a)) return;
    read_key *rks = cm_malloc(sizeof(read_key) * (size_t)a.nstreams);
    for (int i = 0; i < a.nstreams; i++)
        if (!resolve_key(c, &a, i, &rks[i])) goto done;
    if (serve_reads(c, &a, rks)) goto done;
    if (a.block && park_reader(c, &a, rks)) goto done;
    reply_null_array(c->out);
done:
    cm_free(rks);
}

/* XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...] */
static void xread_command(cmd_call *c) { xread_generic(c, 0); }
/* XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK]
 *            STREAMS key [key ...] id [id ...] */
static void xreadgroup_command(cmd_call *c) { xread_generic(c, 1); }

/* The keys of XREAD and XREADGROUP: the first half after STREAMS. */
static int xread_getkeys(int argc, const cslice *argv, int *idx, int max)
{
    for (int i = 1; i < argc; i++) {
        if (!slice_is(&argv[i], "streams")) continue;
        int n = argc - i - 1;
        if (n == 0 || n % 2 || n / 2 > max) return -1;
        for (int k = 0; k < n / 2; k++)
            idx[k] = i + 1 + k;
        return n / 2;
    }
    return -1;
}

/* ---------------------------------------------------------------------- */
/* XGROUP                                                                   */
/* ---------------------------------------------------------------------- */

static void reply_subcommand_error(cmd_call *c)
{
    reply_errorf(c->out,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XGROUP HELP.",
                 (int)c->argv[1].len, c->argv[1].ptr);
}

/* ENTRIESREAD's value: a count or -1. */
static int arg_entries_read(cmd_call *c, int i, long long *out)
{
    if (!arg_ll(c, i, out)) return 0;
    if (*out < 0 && *out != SCG_INVALID_ENTRIES_READ) {
        reply_error(c->out, "ERR value for ENTRIESREAD must be positive or -1");
        return 0;
    }
    return 1;
}

/* The stream of an XGROUP subcommand, which must exist; and its group
 * when need_group.  NULL after an error reply. */
static stream *xgroup_stream(cmd_call *c, int need_group, stream_cg **cg)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[2], 1, &wrong);
    if (wrong) return NULL;
    if (!s) {
        reply_error(c->out, "ERR The XGROUP subcommand requires the key to exist. Note that for "
                            "CREATE you may want to use the MKSTREAM option to create an empty "
                            "stream automatically.");
        return NULL;
    }
    *cg = stream_cg_find(s, c->argv[3].ptr, c->argv[3].len);
    if (need_group && !*cg) {
        reply_errorf(c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return NULL;
    }
    return s;
}

/* XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read] */
static void xgroup_create_command(cmd_call *c)
{
    int mkstream = 0;
    long long entries_read = SCG_INVALID_ENTRIES_READ;
    for (int i = 5; i < c->argc; i++) {
        if (arg_is(c, i, "mkstream")) {
            mkstream = 1;
        } else if (arg_is(c, i, "entriesread") && i + 1 < c->argc) {
            if (!arg_entries_read(c, ++i, &entries_read)) return;
        } else {
            reply_subcommand_error(c);
            return;
        }
    }
    int wrong;
    stream *s = lookup_stream(c, &c->argv[2], 1, &wrong);
    stream_cg *cg;
    if (wrong || (!mkstream && !xgroup_stream(c, 0, &cg))) return;
    sid id = SID_MIN;
    if (arg_is_char(c, 4, '$')) {
        if (s) id = s->last_id;
    } else if (!arg_sid(c, 4, 0, 1, &id)) {
        return;
    }
    if (!s) s = db_add(c, c->db, &c->argv[2], stream_obj_new())->v.ptr;
    if (!stream_cg_create(s, c->argv[3].ptr, c->argv[3].len, &id, entries_read)) {
        reply_error(c->out, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    reply_ok(c->out);
    c->dirty++;
    notify_key(c, NOTIFY_STREAM, "xgroup-create", &c->argv[2]);
}

/* XGROUP SETID key group id|$ [ENTRIESREAD entries-read] */
static void xgroup_setid_command(cmd_call *c)
{
    if (c->argc != 5 && c->argc != 7) {
        reply_subcommand_error(c);
        return;
    }
    stream_cg *cg;
    stream *s = xgroup_stream(c, 1, &cg);
    if (!s) return;
    sid id;
    if (arg_is_char(c, 4, '$'))
        id = s->last_id;
    else if (!arg_sid(c, 4, 0, 0, &id))
        return;
    long long entries_read = SCG_INVALID_ENTRIES_READ;
    if (c->argc == 7) {
        if (!arg_is(c, 5, "entriesread")) {
            reply_subcommand_error(c);
            return;
        }
        if (!arg_entries_read(c, 6, &entries_read)) return;
    }
    cg->last_id = id;
    cg->entries_read = entries_read;
    reply_ok(c->out);
    c->dirty++;
    notify_key(c, NOTIFY_STREAM, "xgroup-setid", &c->argv[2]);
}

/* XGROUP DESTROY key group */
static void xgroup_destroy_command(cmd_call *c)
{
    stream_cg *cg;
    stream *s = xgroup_stream(c, 0, &cg);
    if (!s) return;
    if (!cg) {
        reply_int(c->out, 0);
        return;
    }
    stream_cg_destroy(s, cg);
    reply_int(c->out, 1);
    c->dirty++;
    notify_key(c, NOTIFY_STREAM, "xgroup-destroy", &c->argv[2]);
    /* Readers blocked on the group are told it is gone. */
    signal_key_ready(c->e, c->db, &c->argv[2]);
}

/* XGROUP CREATECONSUMER key group consumer */
static void xgroup_createconsumer_command(cmd_call *c)
{
    stream_cg *cg;
    if (!xgroup_stream(c, 1, &cg)) return;
    if (stream_consumer_find(cg, c->argv[4].ptr, c->argv[4].len)) {
        reply_int(c->out, 0);
        return;
    }
    stream_consumer_create(cg, c->argv[4].ptr, c->argv[4].len, c->now_ms);
    reply_int(c->out, 1);
    c->dirty++;
    notify_key(c, NOTIFY_STREAM, "xgroup-createconsumer", &c->argv[2]);
}

/* XGROUP DELCONSUMER key group consumer: its pending entries are dropped. */
static void xgroup_delconsumer_command(cmd_call *c)
{
    stream_cg *cg;
    if (!xgroup_stream(c, 1, &cg)) return;
    stream_consumer *who = stream_consumer_find(cg, c->argv[4].ptr, c->argv[4].len);
    long long pending = 0;
    if (who) {
        pending = (long long)stream_consumer_delete(cg, who);
        c->dirty++;
        notify_key(c, NOTIFY_STREAM, "xgroup-delconsumer", &c->argv[2]);
    }
    reply_int(c->out, pending);
}

static void xgroup_help_command(cmd_call *c)
{
    static const char *const lines[] = {
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---------------------------------------------------------------------- */
/* XACK, XPENDING, XCLAIM, XAUTOCLAIM                                       */
/* ---------------------------------------------------------------------- */

/* The group named by argv[2] of the stream at argv[1], or NULL: absent
 * (*wrong 0) or after WRONGTYPE. */
static stream_cg *lookup_group(cmd_call *c, stream **sp, int *wrong)
{
    stream *s = lookup_stream(c, &c->argv[1], 0, wrong);
    *sp = s;
    return s ? stream_cg_find(s, c->argv[2].ptr, c->argv[2].len) : NULL;
}

static void reply_nogroup(cmd_call *c)
{
    reply_errorf(c->out, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)c->argv[1].len,
                 c->argv[1].ptr, (int)c->argv[2].len, c->argv[2].ptr);
}

/* XACK key group id [id ...] */
static void xack_command(cmd_call *c)
{
    stream *s;
    int wrong;
    stream_cg *cg = lookup_group(c, &s, &wrong);
    if (wrong) return;
    if (!cg) {
        reply_int(c->out, 0);
        return;
    }
    sid *ids = cm_malloc(sizeof(sid) * (size_t)(c->argc - 3));
    for (int j = 3; j < c->argc; j++) {
        if (!arg_sid(c, j, 0, 1, &ids[j - 3])) {
            cm_free(ids);
            return;
        }
    }
    long long acked = 0;
    for (int j = 3; j < c->argc; j++)
        acked += stream_nack_ack(cg, &ids[j - 3]);
    cm_free(ids);
    c->dirty += acked;
    reply_int(c->out, acked);
}

static void xpending_summary(cmd_call *c, const stream_cg *cg)
{
    size_t n = sidmap_len(&cg->pel);
    reply_array_len(c->out, 4);
    reply_int(c->out, (long long)n);
    if (n == 0) {
        reply_null(c->out);
        reply_null(c->out);
        reply_null_array(c->out);
        return;
    }
    reply_sid(c, &sidmap_at(&cg->pel, 0)->id);
    reply_sid(c, &sidmap_at(&cg->pel, n - 1)->id);
    long with = 0;
    for (size_t i = 0; i < cg->nconsumers; i++)
        with += sidmap_len(&cg->consumers[i]->pel) > 0;
    reply_array_len(c->out, with);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *who = cg->consumers[i];
        if (!sidmap_len(&who->pel)) continue;
        reply_array_len(c->out, 2);
        reply_bulk(c->out, who->name, dstr_len(who->name));
        reply_bulk_ll(c->out, (long long)sidmap_len(&who->pel));
    }
}

/* XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
static void xpending_command(cmd_call *c)
{
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_syntax_error(c);
        return;
    }
    sid start = SID_MIN, end = SID_MAX;
    long long count = 0, minidle = 0;
    const cslice *consumer = NULL;
    if (c->argc >= 6) {
        int at = 3;
        if (arg_is(c, 3, "idle")) {
            if (!arg_ll(c, 4, &minidle)) return;
            if (c->argc < 8) {
                reply_syntax_error(c);
                return;
            }
            at += 2;
        }
        if (!arg_ll(c, at + 2, &count)) return;
        if (count < 0) count = 0;
        if (!arg_interval(c, at, 0, &start) || !arg_interval(c, at + 1, 1, &end)) return;
        if (at + 3 < c->argc) consumer = &c->argv[at + 3];
    }
    stream *s;
    int wrong;
    stream_cg *cg = lookup_group(c, &s, &wrong);
    if (wrong) return;
    if (!cg) {
        reply_nogroup(c);
        return;
    }
    if (c->argc == 3) {
        xpending_summary(c, cg);
        return;
    }
    const sidmap *pel = &cg->pel;
    if (consumer) {
        stream_consumer *who = stream_consumer_find(cg, consumer->ptr, consumer->len);
        if (!who) {
            reply_empty_array(c->out);
            return;
        }
        pel = &who->pel;
    }
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = sidmap_lower(pel, &start); count && i < sidmap_len(pel); i++) {
        sidmap_ent *e = sidmap_at(pel, i);
        if (sid_cmp(&e->id, &end) > 0) break;
        const stream_nack *nack = sidmap_find(&cg->pel, &e->id)->val;
        int64_t idle = c->now_ms - nack->delivery_time;
        if (minidle && idle < minidle) continue;
        reply_array_len(c->out, 4);
        reply_sid(c, &e->id);
        reply_bulk(c->out, nack->consumer->name, dstr_len(nack->consumer->name));
        reply_int(c->out, idle < 0 ? 0 : idle);
        reply_int(c->out, (long long)nack->delivery_count);
        n++;
        count--;
    }
    reply_set_deferred_array(c->out, d, n);
}

/* The consumer named by argv[3], found or created, its seen time now. */
static stream_consumer *claiming_consumer(cmd_call *c, stream_cg *cg)
{
    stream_consumer *who = stream_consumer_find(cg, c->argv[3].ptr, c->argv[3].len);
    if (!who) return stream_consumer_create(cg, c->argv[3].ptr, c->argv[3].len, c->now_ms);
    who->seen_time = c->now_ms;
    return who;
}

/* Give the pending entry id to who, delivered at `when`. */
static void claim_one(stream_cg *cg, const sid *id, stream_nack *nack, stream_consumer *who,
                      int64_t when, long long retrycount, int justid)
{
    stream_nack_move(cg, id, nack, who);
    nack->delivery_time = when;
    if (retrycount >= 0)
        nack->delivery_count = (uint64_t)retrycount;
    else if (!justid)
        nack->delivery_count++;
}

typedef struct claim_opts {
    int64_t when; /* -1: now */
    long long retrycount;
    int force, justid;
    sid lastid;
} claim_opts;

/* XCLAIM's options after its IDs, from argv[j].  0 after an error. */
static int parse_claim_opts(cmd_call *c, int j, claim_opts *o)
{
    *o = (claim_opts){-1, -1, 0, 0, SID_MIN};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "force")) {
            o->force = 1;
        } else if (arg_is(c, j, "justid")) {
            o->justid = 1;
        } else if (arg_is(c, j, "idle") && more) {
            long long idle;
            if (!arg_range_ll(c, ++j, LLONG_MIN, LLONG_MAX, &idle,
                              "ERR Invalid IDLE option argument for XCLAIM"))
                return 0;
            o->when = c->now_ms - idle;
        } else if (arg_is(c, j, "time") && more) {
            long long t;
            if (!arg_range_ll(c, ++j, LLONG_MIN, LLONG_MAX, &t,
                              "ERR Invalid TIME option argument for XCLAIM"))
                return 0;
            o->when = t;
        } else if (arg_is(c, j, "retrycount") && more) {
            if (!arg_range_ll(c, ++j, LLONG_MIN, LLONG_MAX, &o->retrycount,
                              "ERR Invalid RETRYCOUNT option argument for XCLAIM"))
                return 0;
        } else if (arg_is(c, j, "lastid") && more) {
            if (!arg_sid(c, ++j, 0, 1, &o->lastid)) return 0;
        } else {
            reply_errorf(c->out, "ERR Unrecognized XCLAIM option '%.*s'", (int)c->argv[j].len,
                         c->argv[j].ptr);
            return 0;
        }
    }
    /* A time in the future (or before the epoch) means now, as in Redis. */
    if (o->when < 0 || o->when > c->now_ms) o->when = c->now_ms;
    return 1;
}

/* XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
 *        [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID]
 *        [LASTID lastid] */
static void xclaim_command(cmd_call *c)
{
    stream *s;
    int wrong;
    stream_cg *cg = lookup_group(c, &s, &wrong);
    if (wrong) return;
    if (!cg) {
        reply_nogroup(c);
        return;
    }
    long long minidle;
    if (!arg_range_ll(c, 4, LLONG_MIN, LLONG_MAX, &minidle,
                      "ERR Invalid min-idle-time argument for XCLAIM"))
        return;
    if (minidle < 0) minidle = 0;
    int nids = 0;
    sid *ids = cm_malloc(sizeof(sid) * (size_t)(c->argc - 5));
    while (5 + nids < c->argc && parse_sid(NULL, &c->argv[5 + nids], 0, 1, &ids[nids]))
        nids++;
    claim_opts o;
    if (!parse_claim_opts(c, 5 + nids, &o)) {
        cm_free(ids);
        return;
    }
    if (sid_cmp(&o.lastid, &cg->last_id) > 0) {
        cg->last_id = o.lastid;
        c->dirty++;
    }
    stream_consumer *who = NULL;
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (int i = 0; i < nids; i++) {
        sidmap_ent *e = sidmap_find(&cg->pel, &ids[i]);
        if (!entry_exists(s, &ids[i])) {
            /* Pending but deleted from the stream: forgotten (7.0). */
            if (e) c->dirty += stream_nack_ack(cg, &ids[i]);
            continue;
        }
        int created = 0;
        if (!e) {
            if (!o.force) continue;
            if (!who) who = claiming_consumer(c, cg);
            stream_nack_add(cg, who, &ids[i], o.when);
            e = sidmap_find(&cg->pel, &ids[i]);
            created = 1;
        }
        stream_nack *nack = e->val;
        if (!created && minidle && c->now_ms - nack->delivery_time < minidle) continue;
        if (!who) who = claiming_consumer(c, cg);
        claim_one(cg, &ids[i], nack, who, o.when, o.retrycount, o.justid);
        if (o.justid)
            reply_sid(c, &ids[i]);
        else
            reply_one(c, s, &ids[i]);
        n++;
        c->dirty++;
    }
    reply_set_deferred_array(c->out, d, n);
    cm_free(ids);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
static void xautoclaim_command(cmd_call *c)
{
    long long minidle, count = 100;
    if (!arg_range_ll(c, 4, LLONG_MIN, LLONG_MAX, &minidle,
                      "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
        return;
    if (minidle < 0) minidle = 0;
    sid start;
    if (!arg_interval(c, 5, 0, &start)) return;
    int justid = 0;
    for (int j = 6; j < c->argc; j++) {
        if (arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_range_ll(c, ++j, 1, LLONG_MAX / 16, &count, "ERR COUNT must be > 0")) return;
        } else if (arg_is(c, j, "justid")) {
            justid = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    stream *s;
    int wrong;
    stream_cg *cg = lookup_group(c, &s, &wrong);
    if (wrong) return;
    if (!cg) {
        reply_nogroup(c);
        return;
    }
    /* The cursor comes first in the reply: decide everything, then act. */
    long long attempts = count * 10;
    sid *claims = cm_malloc(sizeof(sid) * (size_t)count);
    sid *deleted = cm_malloc(sizeof(sid) * (size_t)count);
    long nclaims = 0, ndeleted = 0;
    size_t i = sidmap_lower(&cg->pel, &start);
    for (; attempts-- && count && i < sidmap_len(&cg->pel); i++) {
        sidmap_ent *e = sidmap_at(&cg->pel, i);
        const stream_nack *nack = e->val;
        if (!entry_exists(s, &e->id))
            deleted[ndeleted++] = e->id;
        else if (!minidle || c->now_ms - nack->delivery_time >= minidle)
            claims[nclaims++] = e->id;
        else
            continue;
        count--;
    }
    sid next = i < sidmap_len(&cg->pel) ? sidmap_at(&cg->pel, i)->id : SID_MIN;
    reply_array_len(c->out, 3);
    reply_sid(c, &next);
    reply_array_len(c->out, nclaims);
    stream_consumer *who = nclaims ? claiming_consumer(c, cg) : NULL;
    for (long k = 0; k < nclaims; k++) {
        claim_one(cg, &claims[k], sidmap_find(&cg->pel, &claims[k])->val, who, c->now_ms, -1,
                  justid);
        if (justid)
            reply_sid(c, &claims[k]);
        else
            reply_one(c, s, &claims[k]);
    }
    reply_array_len(c->out, ndeleted);
    for (long k = 0; k < ndeleted; k++) {
        stream_nack_ack(cg, &deleted[k]);
        reply_sid(c, &deleted[k]);
    }
    c->dirty += nclaims + ndeleted;
    cm_free(claims);
    cm_free(deleted);
}

/* ---------------------------------------------------------------------- */
/* XINFO                                                                    */
/* ---------------------------------------------------------------------- */

static void reply_field(cmd_call *c, const char *name) { reply_bulk_cstr(c->out, name); }

static void reply_edge_entry(cmd_call *c, const stream *s, int last)
{
    sid id;
    if (!stream_edge_id(s, last, &id) || !reply_one(c, s, &id)) reply_null(c->out);
}

/* The fields XINFO STREAM shows with or without FULL. */
static void xinfo_stream_head(cmd_call *c, const stream *s)
{
    reply_field(c, "length");
    reply_int(c->out, (long long)s->length);
    reply_field(c, "radix-tree-keys");
    reply_int(c->out, (long long)stream_node_count(s));
    /* Redis counts the radix tree's inner nodes; the sorted array has
     * none: its slots are what it has. */
    reply_field(c, "radix-tree-nodes");
    reply_int(c->out, (long long)s->nodes.cap);
    reply_field(c, "last-generated-id");
    reply_sid(c, &s->last_id);
    reply_field(c, "max-deleted-entry-id");
    reply_sid(c, &s->max_deleted_id);
    reply_field(c, "entries-added");
    reply_int(c->out, (long long)s->entries_added);
    reply_field(c, "recorded-first-entry-id");
    reply_sid(c, &s->first_id);
}

static void reply_entries_read(cmd_call *c, const stream *s, const stream_cg *cg)
{
    reply_field(c, "entries-read");
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ)
        reply_int(c->out, cg->entries_read);
    else
        reply_null(c->out);
    reply_field(c, "lag");
    long long lag = stream_cg_lag(s, cg);
    if (lag >= 0)
        reply_int(c->out, lag);
    else
        reply_null(c->out);
}

static void xinfo_full_consumer(cmd_call *c, const stream_cg *cg, const stream_consumer *who,
                                long long count)
{
    reply_map_len(c->out, 4);
    reply_field(c, "name");
    reply_bulk(c->out, who->name, dstr_len(who->name));
    reply_field(c, "seen-time");
    reply_int(c->out, who->seen_time);
    reply_field(c, "pel-count");
    reply_int(c->out, (long long)sidmap_len(&who->pel));
    reply_field(c, "pending");
    size_t n = sidmap_len(&who->pel);
    if (count && (size_t)count < n) n = (size_t)count;
    reply_array_len(c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        sidmap_ent *e = sidmap_at(&who->pel, i);
        const stream_nack *nack = sidmap_find(&cg->pel, &e->id)->val;
        reply_array_len(c->out, 3);
        reply_sid(c, &e->id);
        reply_int(c->out, nack->delivery_time);
        reply_int(c->out, (long long)nack->delivery_count);
    }
}

static void xinfo_full_group(cmd_call *c, const stream *s, const stream_cg *cg, long long count)
{
    reply_map_len(c->out, 7);
    reply_field(c, "name");
    reply_bulk(c->out, cg->name, dstr_len(cg->name));
    reply_field(c, "last-delivered-id");
    reply_sid(c, &cg->last_id);
    reply_entries_read(c, s, cg);
    reply_field(c, "pel-count");
    reply_int(c->out, (long long)sidmap_len(&cg->pel));
    reply_field(c, "pending");
    size_t n = sidmap_len(&cg->pel);
    if (count && (size_t)count < n) n = (size_t)count;
    reply_array_len(c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        sidmap_ent *e = sidmap_at(&cg->pel, i);
        const stream_nack *nack = e->val;
        reply_array_len(c->out, 4);
        reply_sid(c, &e->id);
        reply_bulk(c->out, nack->consumer->name, dstr_len(nack->consumer->name));
        reply_int(c->out, nack->delivery_time);
        reply_int(c->out, (long long)nack->delivery_count);
    }
    reply_field(c, "consumers");
    reply_array_len(c->out, (long)cg->nconsumers);
    for (size_t i = 0; i < cg->nconsumers; i++)
        xinfo_full_consumer(c, cg, cg->consumers[i], count);
}

/* XINFO STREAM key [FULL [COUNT count]] */
static void xinfo_stream_command(cmd_call *c)
{
    int full = 0;
    long long count = 10;
    if (c->argc > 3) {
        if (!arg_is(c, 3, "full") || (c->argc != 4 && (c->argc != 6 || !arg_is(c, 4, "count")))) {
            reply_syntax_error(c);
            return;
        }
        full = 1;
        if (c->argc == 6) {
            if (!arg_ll(c, 5, &count)) return;
            if (count < 0) count = 10;
        }
    }
    int wrong;
    stream *s = lookup_stream(c, &c->argv[2], 0, &wrong);
    if (wrong) return;
    if (!s) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    reply_map_len(c->out, full ? 9 : 10);
    xinfo_stream_head(c, s);
    if (!full) {
        reply_field(c, "groups");
        reply_int(c->out, (long long)s->ngroups);
        reply_field(c, "first-entry");
        reply_edge_entry(c, s, 0);
        reply_field(c, "last-entry");
        reply_edge_entry(c, s, 1);
        return;
    }
    reply_field(c, "entries");
    reply_range(c, s, NULL, NULL, count, 0);
    reply_field(c, "groups");
    reply_array_len(c->out, (long)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++)
        xinfo_full_group(c, s, s->groups[i], count);
}

/* XINFO GROUPS key */
static void xinfo_groups_command(cmd_call *c)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[2], 0, &wrong);
    if (wrong) return;
    if (!s) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    reply_array_len(c->out, (long)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *cg = s->groups[i];
        reply_map_len(c->out, 6);
        reply_field(c, "name");
        reply_bulk(c->out, cg->name, dstr_len(cg->name));
        reply_field(c, "consumers");
        reply_int(c->out, (long long)cg->nconsumers);
        reply_field(c, "pending");
        reply_int(c->out, (long long)sidmap_len(&cg->pel));
        reply_field(c, "last-delivered-id");
        reply_sid(c, &cg->last_id);
        reply_entries_read(c, s, cg);
    }
}

/* XINFO CONSUMERS key group */
static void xinfo_consumers_command(cmd_call *c)
{
    int wrong;
    stream *s = lookup_stream(c, &c->argv[2], 0, &wrong);
    if (wrong) return;
    if (!s) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    stream_cg *cg = stream_cg_find(s, c->argv[3].ptr, c->argv[3].len);
    if (!cg) {
        reply_errorf(c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    reply_array_len(c->out, (long)cg->nconsumers);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *who = cg->consumers[i];
        int64_t idle = c->now_ms - who->seen_time;
        reply_map_len(c->out, 3);
        reply_field(c, "name");
        reply_bulk(c->out, who->name, dstr_len(who->name));
        reply_field(c, "pending");
        reply_int(c->out, (long long)sidmap_len(&who->pel));
        reply_field(c, "idle");
        reply_int(c->out, idle < 0 ? 0 : idle);
    }
}

static void xinfo_help_command(cmd_call *c)
{
    static const char *const lines[] = {
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---------------------------------------------------------------------- */
/* The table                                                                */
/* ---------------------------------------------------------------------- */

#define S_WRITE      (CMD_WRITE | CMD_DENYOOM)
#define S_WRITE_FAST (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define S_READ_FAST  (CMD_READONLY | CMD_FAST)
#define A_WRITE_FAST (ACL_WRITE | ACL_STREAM | ACL_FAST)
#define A_WRITE_SLOW (ACL_WRITE | ACL_STREAM | ACL_SLOW)
#define A_READ_FAST  (ACL_READ | ACL_STREAM | ACL_FAST)
#define A_READ_SLOW  (ACL_READ | ACL_STREAM | ACL_SLOW)

static const cmd_def xgroup_subcommands[] = {
    {"xgroup|create", xgroup_create_command, -5, S_WRITE, A_WRITE_SLOW, 2, 2, 1, "stream", "5.0.0",
     "Create a consumer group.", "O(1)", NULL},
    {"xgroup|createconsumer", xgroup_createconsumer_command, 5, S_WRITE, A_WRITE_SLOW, 2, 2, 1,
     "stream", "6.2.0", "Create a consumer in a consumer group.", "O(1)", NULL},
    {"xgroup|delconsumer", xgroup_delconsumer_command, 5, CMD_WRITE, A_WRITE_SLOW, 2, 2, 1,
     "stream", "5.0.0", "Delete a consumer from a consumer group.", "O(1)", NULL},
    {"xgroup|destroy", xgroup_destroy_command, 4, CMD_WRITE, A_WRITE_SLOW, 2, 2, 1, "stream",
     "5.0.0", "Destroy a consumer group.",
     "O(N) where N is the number of entries in the group's pending entries list (PEL).", NULL},
    {"xgroup|setid", xgroup_setid_command, -5, CMD_WRITE, A_WRITE_SLOW, 2, 2, 1, "stream", "5.0.0",
     "Set a consumer group to an arbitrary last delivered ID value.", "O(1)", NULL},
    {"xgroup|help", xgroup_help_command, 2, CMD_LOADING | CMD_STALE, ACL_STREAM | ACL_SLOW, 0, 0, 0,
     "stream", "5.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {NULL},
};

static const cmd_def xinfo_subcommands[] = {
    {"xinfo|consumers", xinfo_consumers_command, 4, CMD_READONLY, A_READ_SLOW, 2, 2, 1, "stream",
     "5.0.0", "List the consumers in a consumer group", "O(1)", NULL},
    {"xinfo|groups", xinfo_groups_command, 3, CMD_READONLY, A_READ_SLOW, 2, 2, 1, "stream", "5.0.0",
     "List the consumer groups of a stream", "O(1)", NULL},
    {"xinfo|stream", xinfo_stream_command, -3, CMD_READONLY, A_READ_SLOW, 2, 2, 1, "stream",
     "5.0.0", "Get information about a stream", "O(1)", NULL},
    {"xinfo|help", xinfo_help_command, 2, CMD_LOADING | CMD_STALE, ACL_STREAM | ACL_SLOW, 0, 0, 0,
     "stream", "5.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {NULL},
};

const cmd_def stream_commands[] = {
    {"xadd", xadd_command, -5, S_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "stream", "5.0.0",
     "Appends a new entry to a stream",
     "O(1) when adding a new entry, O(N) when trimming where N being the number of entries "
     "evicted.",
     NULL},
    {"xrange", xrange_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "stream", "5.0.0",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval",
     "O(N) with N being the number of elements being returned.", NULL},
    {"xrevrange", xrevrange_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "stream", "5.0.0",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
     "reverse order (from greater to smaller IDs) compared to XRANGE",
     "O(N) with N being the number of elements returned.", NULL},
    {"xlen", xlen_command, 2, S_READ_FAST, A_READ_FAST, 1, 1, 1, "stream", "5.0.0",
     "Return the number of entries in a stream", "O(1)", NULL, NULL, NULL,
     KEY_ACL(KA_NONE, KA_NONE)},
    {"xdel", xdel_command, -3, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, "stream", "5.0.0",
     "Removes the specified entries from the stream. Returns the number of items actually "
     "deleted, that may be different from the number of IDs passed in case certain IDs do not "
     "exist.",
     "O(1) for each single item to delete in the stream.", NULL},
    {"xtrim", xtrim_command, -4, CMD_WRITE, A_WRITE_SLOW, 1, 1, 1, "stream", "5.0.0",
     "Trims the stream to (approximately if '~' is passed) a certain size",
     "O(N), with N being the number of evicted entries.", NULL},
    {"xsetid", xsetid_command, -3, S_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, "stream", "5.0.0",
     "An internal command for replicating stream values", "O(1)", NULL},
    {"xread", xread_command, -4, CMD_READONLY | CMD_BLOCKING,
     ACL_READ | ACL_STREAM | ACL_SLOW | ACL_BLOCKING, 0, 0, 0, "stream", "5.0.0",
     "Return never seen elements in multiple streams, with IDs greater than the ones reported by "
     "the caller for each stream. Can block.",
     "For each stream mentioned: O(N) with N being the number of elements being returned.", NULL,
     xread_getkeys},
    {"xreadgroup", xreadgroup_command, -7, CMD_WRITE | CMD_BLOCKING,
     ACL_WRITE | ACL_STREAM | ACL_SLOW | ACL_BLOCKING, 0, 0, 0, "stream", "5.0.0",
     "Return new entries from a stream using a consumer group, or access the history of the "
     "pending entries for a given consumer. Can block.",
     "For each stream mentioned: O(M) with M being the number of elements returned.", NULL,
     xread_getkeys, NULL, KEY_ACL(KA_R, KA_R)},
    {"xgroup", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "stream", "5.0.0",
     "A container for consumer groups commands", "Depends on subcommand.", xgroup_subcommands},
    {"xack", xack_command, -4, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, "stream", "5.0.0",
     "Marks a pending message as correctly processed, effectively removing it from the pending "
     "entries list of the consumer group.",
     "O(1) for each message ID processed.", NULL},
    {"xpending", xpending_command, -3, CMD_READONLY, A_READ_SLOW, 1, 1, 1, "stream", "5.0.0",
     "Return information and entries from a stream consumer group pending entries list, that are "
     "messages fetched but never acknowledged.",
     "O(N) with N being the number of elements returned.", NULL},
    {"xclaim", xclaim_command, -6, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, "stream", "5.0.0",
     "Changes (or acquires) ownership of a message in a consumer group, as if the message was "
     "delivered to the specified consumer.",
     "O(log N) with N being the number of messages in the PEL of the consumer group.", NULL},
    {"xautoclaim", xautoclaim_command, -6, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, "stream",
     "6.2.0",
     "Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
     "delivered to the specified consumer.",
     "O(1) if COUNT is small.", NULL},
    {"xinfo", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "stream", "5.0.0",
     "A container for stream introspection commands", "Depends on subcommand.", xinfo_subcommands},
    {NULL},
};
