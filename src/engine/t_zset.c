/* t_zset.c -- the sorted-set command family.
 *
 * ZADD and friends, the range commands (ZRANGE and its older spellings,
 * ZRANGESTORE, the ZREMRANGEBY* family), pops (blocking too), ZRANDMEMBER,
 * the set algebra (ZUNION/ZINTER/ZDIFF, their STORE forms, ZINTERCARD)
 * and ZSCAN, with Redis 7.0's semantics, reply shapes and error strings
 * (plus ZRANK/ZREVRANK WITHSCORE from 7.2).  The type itself -- both
 * encodings and the operations on them -- is in zset.c (t_zset.h).
 *
 * Replies with scores follow Redis 7: in RESP2 a flat array of member,
 * score (a bulk string); in RESP3 an array of [member, score] pairs, the
 * score a RESP3 double, because a map would lose the order. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "scan.h"
#include "t_set.h"
#include "t_zset.h"

#define ERR_MINMAX_FLOAT "ERR min or max is not a float"
#define ERR_MINMAX_LEX   "ERR min or max not valid string range item"

enum { ZSET_MIN = 0, ZSET_MAX = 1 };

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Argument i as a float (ZADD scores, increments, weights); replies err
 * and returns 0 if it is not one. */
static int arg_double(cmd_call *c, int i, double *d, const char *err)
{
    const cslice *a = &c->argv[i];
    if (str_to_double(a->ptr, a->len, d)) return 1;
    reply_error(c->out, err);
    return 0;
}

/* A non-negative integer argument, as getPositiveLongFromObjectOrReply:
 * one message for a non-integer and a negative value alike. */
static int arg_positive_ll(cmd_call *c, int i, long long *v, const char *msg)
{
    return arg_range_ll(c, i, 0, LLONG_MAX, v,
                        msg ? msg : "ERR value is out of range, must be positive");
}

/* Look key up for reading.  Returns 1 with *o set, 0 if it is missing, -1
 * (after replying WRONGTYPE) if it holds another type. */
static int zset_lookup(cmd_call *c, const cslice *key, cobj **o, int write)
{
    *o = write ? lookup_write(c, key) : lookup_read(c, key);
    if (!*o) return 0;
    return check_type(c, *o, OBJ_ZSET) ? -1 : 1;
}

/* One element of a reply with scores: RESP3 nests each pair. */
static void reply_with_score(cmd_call *c, const char *ele, size_t len, double score)
{
    if (c->out->resp >= 3) reply_array_len(c->out, 2);
    reply_bulk(c->out, ele, len);
    reply_double(c->out, score);
}

/* The array length for n elements with scores. */
static long scored_len(const cmd_call *c, long n, int withscores)
{
    return withscores && c->out->resp == 2 ? n * 2 : n;
}

/* ------------------------------------------------------------------ */
/* ZADD, ZINCRBY, ZREM                                                  */
/* ------------------------------------------------------------------ */

/* Parse the options of ZADD from argument 2 on; returns the index of the
 * first score, or -1 after replying. */
static int zadd_parse_flags(cmd_call *c, int *flags, int *ch)
{
    static const struct {
        const char *name;
        int flag;
    } opts[] = {
        {"nx", ZADD_IN_NX}, {"xx", ZADD_IN_XX}, {"incr", ZADD_IN_INCR},
        {"gt", ZADD_IN_GT}, {"lt", ZADD_IN_LT},
    };
    int j = 2;
    for (; j < c->argc; j++) {
        size_t k;
        /* Every option is 2 or 4 bytes long: anything else is the first
         * score, found without comparing it with each option. */
        if (c->argv[j].len != 2 && c->argv[j].len != 4) break;
        if (arg_is(c, j, "ch")) {
            *ch = 1;
            continue;
        }
        for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if (arg_is(c, j, opts[k].name)) break;
        if (k == sizeof(opts) / sizeof(opts[0])) break;
        *flags |= opts[k].flag;
    }
    int elements = c->argc - j;
    if (elements == 0 || elements % 2) return reply_syntax_error(c);
    int f = *flags;
    if ((f & ZADD_IN_NX) && (f & ZADD_IN_XX)) {
        reply_error(c->out, "ERR XX and NX options at the same time are not compatible");
        return -1;
    }
    if (((f & ZADD_IN_GT) && (f & ZADD_IN_NX)) || ((f & ZADD_IN_LT) && (f & ZADD_IN_NX)) ||
        ((f & ZADD_IN_GT) && (f & ZADD_IN_LT))) {
        reply_error(c->out, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return -1;
    }
    if ((f & ZADD_IN_INCR) && elements > 2) {
        reply_error(c->out, "ERR INCR option supports a single increment-element pair");
        return -1;
    }
    return j;
}

/* ZADD and ZINCRBY.  All scores are parsed before anything changes, so
 * the command applies fully or not at all. */
static void zadd_generic(cmd_call *c, int flags)
{
    const cslice *key = &c->argv[1];
    int ch = 0;
    int first = zadd_parse_flags(c, &flags, &ch);
    if (first < 0) return;
    int elements = (c->argc - first) / 2;
    int incr = (flags & ZADD_IN_INCR) != 0;
    long added = 0, updated = 0, processed = 0;

    double small[16]; /* most calls: no allocation */
    double *scores = (size_t)elements <= sizeof(small) / sizeof(small[0])
                         ? small
                         : cm_malloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++)
        if (!arg_double(c, first + 2 * j, &scores[j], ERR_NOT_FLOAT)) goto cleanup;

    cobj *zobj;
    int found = zset_lookup(c, key, &zobj, 1);
    if (found < 0) goto cleanup;
    double score = 0;
    if (!found) {
        if (flags & ZADD_IN_XX) goto reply;
        zobj = zset_create(c, 0, c->argv[first + 1].len);
        zobj = db_add(c, c->db, key, zobj);
    }
    for (int j = 0; j < elements; j++) {
        const cslice *ele = &c->argv[first + 2 * j + 1];
        int out;
        double newscore = scores[j];
        score = scores[j];
        if (!zset_add(c, zobj, score, ele->ptr, ele->len, flags, &out, &newscore)) {
            reply_error(c->out, "ERR resulting score is not a number (NaN)");
            c->dirty += added + updated;
            goto cleanup;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = newscore;
    }
    c->dirty += added + updated;

reply:
    if (incr) {
        if (processed)
            reply_double(c->out, score);
        else
            reply_null(c->out);
    } else {
        reply_int(c->out, ch ? added + updated : added);
    }
cleanup:
    if (added || updated) notify_key(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", key);
    if (scores != small) cm_free(scores);
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] */
static void zadd_command(cmd_call *c) { zadd_generic(c, 0); }

/* ZINCRBY key increment member */
static void zincrby_command(cmd_call *c) { zadd_generic(c, ZADD_IN_INCR); }

/* ZREM key member [member ...] */
static void zrem_command(cmd_call *c)
{
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 1);
    if (found <= 0) {
        if (found == 0) reply_int(c->out, 0);
        return;
    }
    long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        deleted += zset_del(zobj, c->argv[j].ptr, c->argv[j].len);
        if (zset_length(zobj) == 0) {
            db_delete(c, c->db, &c->argv[1]);
            emptied = 1;
            break;
        }
    }
    if (deleted) notify_key(c, NOTIFY_ZSET, "zrem", &c->argv[1]);
    if (emptied) notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    c->dirty += deleted;
    reply_int(c->out, deleted);
}

/* ------------------------------------------------------------------ */
/* Point reads                                                          */
/* ------------------------------------------------------------------ */

/* ZCARD key */
static void zcard_command(cmd_call *c)
{
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found >= 0) reply_int(c->out, found ? (long long)zset_length(zobj) : 0);
}

/* ZSCORE key member */
static void zscore_command(cmd_call *c)
{
    cobj *zobj;
    double score;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found < 0) return;
    if (found && zset_score(zobj, c->argv[2].ptr, c->argv[2].len, &score))
        reply_double(c->out, score);
    else
        reply_null(c->out);
}

/* ZMSCORE key member [member ...] */
static void zmscore_command(cmd_call *c)
{
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found < 0) return;
    reply_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (found && zset_score(zobj, c->argv[j].ptr, c->argv[j].len, &score))
            reply_double(c->out, score);
        else
            reply_null(c->out);
    }
}

/* ZRANK/ZREVRANK key member [WITHSCORE] -- WITHSCORE is Redis 7.2's. */
static void zrank_generic(cmd_call *c, int reverse)
{
    int withscore = 0;
    if (c->argc > 4) {
        reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    if (c->argc == 4) {
        if (!arg_is(c, 3, "withscore")) {
            reply_syntax_error(c);
            return;
        }
        withscore = 1;
    }
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found < 0) return;
    double score;
    long rank = found ? zset_rank(zobj, c->argv[2].ptr, c->argv[2].len, reverse, &score) : -1;
    if (rank < 0) {
        if (withscore)
            reply_null_array(c->out);
        else
            reply_null(c->out);
        return;
    }
    if (withscore) reply_array_len(c->out, 2);
    reply_int(c->out, rank);
    if (withscore) reply_double(c->out, score);
}

static void zrank_command(cmd_call *c) { zrank_generic(c, 0); }
static void zrevrank_command(cmd_call *c) { zrank_generic(c, 1); }

/* ZCOUNT key min max */
static void zcount_command(cmd_call *c)
{
    zrange_spec r;
    if (!zset_parse_range(&c->argv[2], &c->argv[3], &r)) {
        reply_error(c->out, ERR_MINMAX_FLOAT);
        return;
    }
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found >= 0) reply_int(c->out, found ? (long long)zset_count_in_range(zobj, &r) : 0);
}

/* ZLEXCOUNT key min max */
static void zlexcount_command(cmd_call *c)
{
    zlex_spec r;
    if (!zset_parse_lex_range(&c->argv[2], &c->argv[3], &r)) {
        reply_error(c->out, ERR_MINMAX_LEX);
        return;
    }
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found >= 0) reply_int(c->out, found ? (long long)zset_count_in_lex(zobj, &r) : 0);
}

/* ------------------------------------------------------------------ */
/* Ranges: ZRANGE, ZRANGESTORE and the older range commands             */
/* ------------------------------------------------------------------ */

typedef enum { ZRANGE_AUTO = 0, ZRANGE_RANK, ZRANGE_SCORE, ZRANGE_LEX } zrange_type;
typedef enum { ZDIR_AUTO = 0, ZDIR_FORWARD, ZDIR_REVERSE } zrange_dir;

/* Where a range goes: the client, or (ZRANGESTORE) a new sorted set. */
typedef struct range_sink {
    cmd_call *c;
    const cslice *dstkey; /* NULL: reply to the client */
    int withscores;
    cobj *dst;
    rbuf_deferred deferred;
    int has_deferred;
    unsigned long count;
} range_sink;

/* length < 0: not known yet. */
static void sink_begin(range_sink *s, long length)
{
    s->count = 0;
    if (s->dstkey) {
        s->dst = zset_create(s->c, 0, 0);
        return;
    }
    if (length >= 0) {
        reply_array_len(s->c->out, scored_len(s->c, length, s->withscores));
        s->has_deferred = 0;
    } else {
        s->deferred = reply_deferred_len(s->c->out);
        s->has_deferred = 1;
    }
}

static void sink_emit(range_sink *s, const char *ele, size_t len, double score)
{
    s->count++;
    if (s->dstkey) {
        int out;
        zset_add(s->c, s->dst, score, ele, len, 0, &out, NULL);
        return;
    }
    if (s->withscores)
        reply_with_score(s->c, ele, len, score);
    else
        reply_bulk(s->c->out, ele, len);
}

static void sink_end(range_sink *s)
{
    cmd_call *c = s->c;
    if (!s->dstkey) {
        if (s->has_deferred)
            reply_set_deferred_array(c->out, s->deferred,
                                     scored_len(c, (long)s->count, s->withscores));
        return;
    }
    if (s->count) {
        db_store(c, c->db, s->dstkey, s->dst);
        reply_int(c->out, (long long)s->count);
        c->dirty++;
        notify_key(c, NOTIFY_ZSET, "zrangestore", s->dstkey);
    } else {
        obj_free(s->dst);
        reply_int(c->out, 0);
        if (db_delete(c, c->db, s->dstkey)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "del", s->dstkey);
        }
    }
}

static void emit_pos(range_sink *s, const zset_pos *p)
{
    zset_entry e;
    if (s->withscores || s->dstkey) {
        zset_pos_get(p, &e);
    } else {
        zset_pos_member(p, &e);
        e.score = 0;
    }
    sink_emit(s, e.ele, e.len, e.score);
}

static void step(zset_pos *p, int reverse)
{
    if (reverse)
        zset_pos_prev(p);
    else
        zset_pos_next(p);
}

static void range_by_rank(range_sink *s, cobj *zobj, long long start, long long end, int reverse)
{
    long long llen = (long long)zset_length(zobj);
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) {
        sink_begin(s, 0);
        sink_end(s);
        return;
    }
    if (end >= llen) end = llen - 1;
    long long n = end - start + 1;
    sink_begin(s, (long)n);
    zset_pos p = zset_pos_at_rank(zobj, (unsigned long)(reverse ? llen - 1 - start : start));
    for (; n > 0 && zset_pos_valid(&p); n--) {
        emit_pos(s, &p);
        step(&p, reverse);
    }
    sink_end(s);
}

/* Skip offset elements, then emit up to limit (negative: no limit) while
 * in_range holds.  A negative offset skips everything, as in Redis. */
static void range_walk(range_sink *s, zset_pos p, long long offset, long long limit, int reverse,
                       int (*in_range)(const zset_pos *p, const void *spec, int reverse),
                       const void *spec)
{
    if (offset < 0) return;
    while (zset_pos_valid(&p) && offset-- > 0)
        step(&p, reverse);
    while (zset_pos_valid(&p) && limit != 0 && in_range(&p, spec, reverse)) {
        emit_pos(s, &p);
        step(&p, reverse);
        if (limit > 0) limit--;
    }
}

static int score_in_range(const zset_pos *p, const void *spec, int reverse)
{
    double score = zset_pos_score(p);
    return reverse ? zsl_value_gte_min(score, spec) : zsl_value_lte_max(score, spec);
}

static int member_in_range(const zset_pos *p, const void *spec, int reverse)
{
    zset_entry e;
    zset_pos_member(p, &e);
    return reverse ? zsl_lex_gte_min(e.ele, e.len, spec) : zsl_lex_lte_max(e.ele, e.len, spec);
}

static void range_by_score(range_sink *s, cobj *zobj, const zrange_spec *r, long long offset,
                           long long limit, int reverse)
{
    sink_begin(s, -1);
    if (!(offset > 0 && offset >= (long long)zset_length(zobj))) {
        zset_pos p = reverse ? zset_pos_last_in_range(zobj, r) : zset_pos_first_in_range(zobj, r);
        range_walk(s, p, offset, limit, reverse, score_in_range, r);
    }
    sink_end(s);
}

static void range_by_lex(range_sink *s, cobj *zobj, const zlex_spec *r, long long offset,
                         long long limit, int reverse)
{
    sink_begin(s, -1);
    zset_pos p = reverse ? zset_pos_last_in_lex(zobj, r) : zset_pos_first_in_lex(zobj, r);
    range_walk(s, p, offset, limit, reverse, member_in_range, r);
    sink_end(s);
}

/* The options after <src> <min> <max>.  Returns 0, or -1 after replying. */
typedef struct range_opts {
    int withscores;
    long long offset, limit;
    zrange_type type;
    zrange_dir dir;
} range_opts;

static int parse_range_opts(cmd_call *c, int first, int store, range_opts *o)
{
    for (int j = first; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!store && arg_is(c, j, "withscores")) {
            o->withscores = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!arg_ll(c, j + 1, &o->offset) || !arg_ll(c, j + 2, &o->limit)) return -1;
            j += 2;
        } else if (o->dir == ZDIR_AUTO && arg_is(c, j, "rev")) {
            o->dir = ZDIR_REVERSE;
        } else if (o->type == ZRANGE_AUTO && arg_is(c, j, "bylex")) {
            o->type = ZRANGE_LEX;
        } else if (o->type == ZRANGE_AUTO && arg_is(c, j, "byscore")) {
            o->type = ZRANGE_SCORE;
        } else {
            return reply_syntax_error(c);
        }
    }
    if (o->dir == ZDIR_AUTO) o->dir = ZDIR_FORWARD;
    if (o->type == ZRANGE_AUTO) o->type = ZRANGE_RANK;
    if (o->limit != -1 && o->type == ZRANGE_RANK) {
        reply_error(c->out, "ERR syntax error, LIMIT is only supported in combination with either "
                            "BYSCORE or BYLEX");
        return -1;
    }
    if (o->withscores && o->type == ZRANGE_LEX) {
        reply_error(c->out, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return -1;
    }
    return 0;
}

/* ZRANGE, ZRANGESTORE and the older Z[REV]RANGE[BYSCORE|BYLEX]: argument
 * `src` is the source key, followed by <min> <max> and the options; the
 * older commands fix the type and direction. */
static void zrange_generic(cmd_call *c, int src, int store, zrange_type type, zrange_dir dir)
{
    range_opts o = {0, 0, -1, type, dir};
    if (parse_range_opts(c, src + 3, store, &o) < 0) return;
    int reverse = o.dir == ZDIR_REVERSE;
    const cslice *min = &c->argv[src + 1], *max = &c->argv[src + 2];
    /* By score or lex, a reversed range is given as <max> <min>. */
    if (reverse && o.type != ZRANGE_RANK) {
        const cslice *t = min;
        min = max;
        max = t;
    }

    long long start = 0, end = 0;
    zrange_spec r;
    zlex_spec lr;
    if (o.type == ZRANGE_RANK) {
        if (!arg_ll(c, src + 1, &start) || !arg_ll(c, src + 2, &end)) return;
    } else if (o.type == ZRANGE_SCORE) {
        if (!zset_parse_range(min, max, &r)) {
            reply_error(c->out, ERR_MINMAX_FLOAT);
            return;
        }
    } else if (!zset_parse_lex_range(min, max, &lr)) {
        reply_error(c->out, ERR_MINMAX_LEX);
        return;
    }

    range_sink s = {c, store ? &c->argv[1] : NULL, o.withscores, NULL, NULL, 0, 0};
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[src], &zobj, 0);
    if (found < 0) return;
    if (!found) {
        if (store) {
            sink_begin(&s, -1);
            sink_end(&s);
        } else {
            reply_empty_array(c->out);
        }
        return;
    }
    switch (o.type) {
    case ZRANGE_SCORE: range_by_score(&s, zobj, &r, o.offset, o.limit, reverse); break;
    case ZRANGE_LEX: range_by_lex(&s, zobj, &lr, o.offset, o.limit, reverse); break;
    default: range_by_rank(&s, zobj, start, end, reverse); break;
    }
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES] */
static void zrange_command(cmd_call *c) { zrange_generic(c, 1, 0, ZRANGE_AUTO, ZDIR_AUTO); }

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] */
static void zrangestore_command(cmd_call *c) { zrange_generic(c, 2, 1, ZRANGE_AUTO, ZDIR_AUTO); }

static void zrevrange_command(cmd_call *c) { zrange_generic(c, 1, 0, ZRANGE_RANK, ZDIR_REVERSE); }

static void zrangebyscore_command(cmd_call *c)
{
    zrange_generic(c, 1, 0, ZRANGE_SCORE, ZDIR_FORWARD);
}

static void zrevrangebyscore_command(cmd_call *c)
{
    zrange_generic(c, 1, 0, ZRANGE_SCORE, ZDIR_REVERSE);
}

static void zrangebylex_command(cmd_call *c) { zrange_generic(c, 1, 0, ZRANGE_LEX, ZDIR_FORWARD); }

static void zrevrangebylex_command(cmd_call *c)
{
    zrange_generic(c, 1, 0, ZRANGE_LEX, ZDIR_REVERSE);
}

/* ------------------------------------------------------------------ */
/* ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX                    */
/* ------------------------------------------------------------------ */

static void zremrange_generic(cmd_call *c, zrange_type type)
{
    long long start = 0, end = 0;
    zrange_spec r;
    zlex_spec lr;
    if (type == ZRANGE_RANK) {
        if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)) return;
    } else if (type == ZRANGE_SCORE) {
        if (!zset_parse_range(&c->argv[2], &c->argv[3], &r)) {
            reply_error(c->out, ERR_MINMAX_FLOAT);
            return;
        }
    } else if (!zset_parse_lex_range(&c->argv[2], &c->argv[3], &lr)) {
        reply_error(c->out, ERR_MINMAX_LEX);
        return;
    }

    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 1);
    if (found <= 0) {
        if (found == 0) reply_int(c->out, 0);
        return;
    }
    unsigned long deleted;
    if (type == ZRANGE_RANK) {
        long long llen = (long long)zset_length(zobj);
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen) {
            reply_int(c->out, 0);
            return;
        }
        if (end >= llen) end = llen - 1;
        deleted = zset_delete_range_by_rank(zobj, (unsigned long)start, (unsigned long)end);
    } else if (type == ZRANGE_SCORE) {
        deleted = zset_delete_range_by_score(zobj, &r);
    } else {
        deleted = zset_delete_range_by_lex(zobj, &lr);
    }
    int emptied = zset_length(zobj) == 0;
    if (emptied) db_delete(c, c->db, &c->argv[1]);
    if (deleted) {
        /* The event is the command's name: zremrangebyrank, ... */
        notify_key(c, NOTIFY_ZSET, c->cmd->name, &c->argv[1]);
        if (emptied) notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
    c->dirty += (long long)deleted;
    reply_int(c->out, (long long)deleted);
}

static void zremrangebyrank_command(cmd_call *c) { zremrange_generic(c, ZRANGE_RANK); }
static void zremrangebyscore_command(cmd_call *c) { zremrange_generic(c, ZRANGE_SCORE); }
static void zremrangebylex_command(cmd_call *c) { zremrange_generic(c, ZRANGE_LEX); }

/* ------------------------------------------------------------------ */
/* Pops                                                                 */
/* ------------------------------------------------------------------ */

/* How a pop replies (Redis's genericZpopCommand):
 *   ZPOPMIN/ZPOPMAX          flat member,score...; RESP3 with COUNT: pairs
 *   BZPOPMIN/BZPOPMAX        flat key,member,score
 *   ZMPOP/BZMPOP             [key, [[member, score], ...]] */
typedef struct pop_req {
    int where;       /* ZSET_MIN or ZSET_MAX */
    int emitkey;     /* the reply names the key */
    long long count; /* -1: a single plain pop */
    int nested;      /* pairs as two-element arrays */
    int nil_when_empty;
} pop_req;

/* Pop from zobj at key, replying as req says.  Returns how many. */
static long long zpop_from(cmd_call *c, const cslice *key, cobj *zobj, const pop_req *req)
{
    long long count = req->count == -1 ? 1 : req->count;
    long long llen = (long long)zset_length(zobj);
    long long n = count > llen ? llen : count;

    if (!req->nested && !req->emitkey) {
        reply_array_len(c->out, (long)(n * 2));
    } else if (req->nested && !req->emitkey) {
        reply_array_len(c->out, (long)n);
    } else if (!req->nested) {
        reply_array_len(c->out, (long)(n * 2 + 1));
        reply_bulk(c->out, key->ptr, key->len);
    } else {
        reply_array_len(c->out, 2);
        reply_bulk(c->out, key->ptr, key->len);
        reply_array_len(c->out, (long)n);
    }
    for (long long i = 0; i < n; i++) {
        unsigned long len = zset_length(zobj);
        zset_pos p = zset_pos_at_rank(zobj, req->where == ZSET_MAX ? len - 1 : 0);
        zset_entry e;
        zset_pos_get(&p, &e);
        if (req->nested) reply_array_len(c->out, 2);
        reply_bulk(c->out, e.ele, e.len);
        reply_double(c->out, e.score);
        /* e.ele may point into the set: delete only after replying. */
        zset_del(zobj, e.ele, e.len);
        c->dirty++;
    }
    if (n) notify_key(c, NOTIFY_ZSET, req->where == ZSET_MAX ? "zpopmax" : "zpopmin", key);
    if (zset_length(zobj) == 0) {
        db_delete(c, c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    }
    return n;
}

/* Pop from the first of keys that exists.  Returns the key popped from
 * (NULL if none, or on WRONGTYPE) and sets *popped. */
static const cslice *zpop_generic(cmd_call *c, const cslice *keys, int nkeys, const pop_req *req,
                                  long long *popped)
{
    *popped = 0;
    for (int i = 0; i < nkeys; i++) {
        cobj *zobj;
        int found = zset_lookup(c, &keys[i], &zobj, 1);
        if (found < 0) return NULL;
        if (!found) continue;
        if (req->count == 0) {
            reply_empty_array(c->out);
            return NULL;
        }
        *popped = zpop_from(c, &keys[i], zobj, req);
        return &keys[i];
    }
    if (req->nil_when_empty)
        reply_null_array(c->out);
    else
        reply_empty_array(c->out);
    return NULL;
}

/* ZPOPMIN/ZPOPMAX key [count] */
static void zpop_minmax(cmd_call *c, int where)
{
    long long count = -1;
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 3 && !arg_positive_ll(c, 2, &count, NULL)) return;
    pop_req req = {where, 0, count, c->out->resp >= 3 && count != -1, 0};
    long long popped;
    zpop_generic(c, &c->argv[1], 1, &req, &popped);
}

static void zpopmin_command(cmd_call *c) { zpop_minmax(c, ZSET_MIN); }
static void zpopmax_command(cmd_call *c) { zpop_minmax(c, ZSET_MAX); }

/* Log a pop that a blocking command made as its non-blocking twin, so a
 * replay does exactly that pop (rule 4): ZPOPMIN/ZPOPMAX key, or ZMPOP 1
 * key MIN|MAX COUNT n for BZMPOP. */
static void log_pop(cmd_call *c, const cslice *key, int where, int mpop, long long n)
{
    if (!mpop) {
        cslice argv[2] = {{where == ZSET_MAX ? "ZPOPMAX" : "ZPOPMIN", 7}, *key};
        log_as(c, 2, argv);
        return;
    }
    char nbuf[NUM_STR_MAX];
    int nlen = ll_to_str(nbuf, sizeof(nbuf), n);
    cslice argv[6] = {{"ZMPOP", 5}, {"1", 1},
                      *key,         {where == ZSET_MAX ? "MAX" : "MIN", 3},
                      {"COUNT", 5}, {nbuf, (size_t)nlen}};
    log_as(c, 6, argv);
}

/* The blocking pops: serve from the first non-empty key (run again once
 * parked: from the key that became ready), else park. */
static void bzpop_generic(cmd_call *c, const cslice *keys, int nkeys, int timeout_idx,
                          const pop_req *req, int mpop)
{
    int64_t timeout;
    if (!arg_timeout(c, timeout_idx, &timeout)) return;
    for (int i = 0; i < nkeys; i++) {
        if (!block_may_serve(c, &keys[i])) continue;
        cobj *zobj = lookup_write(c, &keys[i]);
        if (!zobj) continue;
        if (zobj->type != OBJ_ZSET) {
            /* Run again after parking, a key that became another type
             * is passed over, as Redis serves only from sorted sets. */
            if (c->retry) continue;
            reply_error(c->out, ERR_WRONGTYPE);
            return;
        }
        long long n = zpop_from(c, &keys[i], zobj, req);
        log_pop(c, &keys[i], req->where, mpop, n);
        return;
    }
    if (!block_for_keys(c, keys, nkeys, timeout)) reply_null_array(c->out);
}

/* BZPOPMIN/BZPOPMAX key [key ...] timeout */
static void bzpopmin_command(cmd_call *c)
{
    pop_req req = {ZSET_MIN, 1, -1, 0, 0};
    bzpop_generic(c, &c->argv[1], c->argc - 2, c->argc - 1, &req, 0);
}

static void bzpopmax_command(cmd_call *c)
{
    pop_req req = {ZSET_MAX, 1, -1, 0, 0};
    bzpop_generic(c, &c->argv[1], c->argc - 2, c->argc - 1, &req, 0);
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP with a
 * timeout first.  nk is the index of numkeys. */
static void zmpop_generic(cmd_call *c, int nk, int blocking)
{
    long long numkeys, count = -1;
    if (!arg_range_ll(c, nk, 1, LLONG_MAX, &numkeys, "ERR numkeys should be greater than 0"))
        return;
    /* The keys and MIN|MAX must all be there. */
    if (numkeys > c->argc - nk - 2) {
        reply_syntax_error(c);
        return;
    }
    int where_idx = nk + (int)numkeys + 1;
    int where;
    if (arg_is(c, where_idx, "min"))
        where = ZSET_MIN;
    else if (arg_is(c, where_idx, "max"))
        where = ZSET_MAX;
    else {
        reply_syntax_error(c);
        return;
    }
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_range_ll(c, ++j, 1, LLONG_MAX, &count, "ERR count should be greater than 0"))
                return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    pop_req req = {where, 1, count == -1 ? 1 : count, 1, 1};
    if (blocking) {
        bzpop_generic(c, &c->argv[nk + 1], (int)numkeys, 1, &req, 1);
    } else {
        long long popped;
        zpop_generic(c, &c->argv[nk + 1], (int)numkeys, &req, &popped);
    }
}

static void zmpop_command(cmd_call *c) { zmpop_generic(c, 1, 0); }
static void bzmpop_command(cmd_call *c) { zmpop_generic(c, 2, 1); }

/* ------------------------------------------------------------------ */
/* ZRANDMEMBER                                                          */
/* ------------------------------------------------------------------ */

static void reply_entry(cmd_call *c, const zset_entry *e, int withscores)
{
    if (withscores)
        reply_with_score(c, e->ele, e->len, e->score);
    else
        reply_bulk(c->out, e->ele, e->len);
}

/* Negative count: count draws with repetition, in random order. */
static void zrandmember_repeat(cmd_call *c, cobj *zobj, unsigned long count, int withscores)
{
    reply_array_len(c->out, scored_len(c, (long)count, withscores));
    for (unsigned long i = 0; i < count; i++) {
        if (i % 1024 == 0 && reply_over_limit(c)) return;
        zset_entry e;
        zset_random(zobj, &c->rng, &e);
        reply_entry(c, &e, withscores);
    }
}

/* count distinct members out of size, when count is close to size: drop
 * size - count random ranks and reply the rest in order. */
static void zrandmember_drop(cmd_call *c, cobj *zobj, unsigned long count, unsigned long size,
                             int withscores)
{
    unsigned long *left = cm_malloc(sizeof(*left) * size), nleft = size;
    char *keep = cm_malloc(size);
    for (unsigned long i = 0; i < size; i++) {
        left[i] = i;
        keep[i] = 1;
    }
    while (nleft > count) {
        unsigned long k = crand_below(&c->rng, nleft);
        keep[left[k]] = 0;
        left[k] = left[--nleft];
    }
    zset_iter it;
    zset_entry e;
    zset_iter_init(&it, zobj, 0, 0);
    for (unsigned long i = 0; zset_iter_next(&it, &e); i++)
        if (keep[i]) reply_entry(c, &e, withscores);
    cm_free(left);
    cm_free(keep);
}

/* count distinct members out of a much larger set: draw until count
 * different ones came up. */
static void zrandmember_pick(cmd_call *c, cobj *zobj, unsigned long count, int withscores)
{
    dict *seen = dict_create(c->e->hash_seed, NULL, 0);
    while (dict_size(seen) < count) {
        zset_entry e;
        zset_random(zobj, &c->rng, &e);
        dstr key = dstr_new(e.ele, e.len);
        if (!dict_add(seen, key, NULL)) {
            dstr_free(key); /* drawn before: not taken by the dict */
            continue;
        }
        reply_entry(c, &e, withscores);
    }
    dict_release(seen);
}

/* ZRANDMEMBER key [count [WITHSCORES]] */
static void zrandmember_command(cmd_call *c)
{
    cobj *zobj;
    if (c->argc == 2) {
        int found = zset_lookup(c, &c->argv[1], &zobj, 0);
        if (found < 0) return;
        if (!found) {
            reply_null(c->out);
            return;
        }
        zset_entry e;
        zset_random(zobj, &c->rng, &e);
        reply_bulk(c->out, e.ele, e.len);
        return;
    }
    long long l;
    if (!arg_range_ll(c, 2, -LLONG_MAX, LLONG_MAX, &l, NULL)) return;
    if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withscores"))) {
        reply_syntax_error(c);
        return;
    }
    int withscores = c->argc == 4;
    /* Twice the count must fit the reply's length. */
    if (withscores && l < -LLONG_MAX / 2) {
        reply_error(c->out, "ERR value is out of range");
        return;
    }
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found < 0) return;
    if (!found || l == 0) {
        reply_empty_array(c->out);
        return;
    }
    unsigned long size = zset_length(zobj);
    unsigned long count = l < 0 ? (unsigned long)-l : (unsigned long)l;
    if (l < 0 || count == 1) {
        zrandmember_repeat(c, zobj, count, withscores);
        return;
    }
    if (count >= size) {
        /* The whole set, highest score first, as Redis walks it. */
        zset_iter it;
        zset_entry e;
        reply_array_len(c->out, scored_len(c, (long)size, withscores));
        zset_iter_init(&it, zobj, 0, 1);
        while (zset_iter_next(&it, &e))
            reply_entry(c, &e, withscores);
        return;
    }
    reply_array_len(c->out, scored_len(c, (long)count, withscores));
    if (count * 3 > size)
        zrandmember_drop(c, zobj, count, size, withscores);
    else
        zrandmember_pick(c, zobj, count, withscores);
}

/* ------------------------------------------------------------------ */
/* ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD                 */
/* ------------------------------------------------------------------ */

enum { SETOP_UNION, SETOP_INTER, SETOP_DIFF };
enum { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* An input: a sorted set, a set (every score 1) or a missing key. */
typedef struct zsrc {
    cobj *o; /* NULL: missing, an empty set */
    double weight;
    int idx; /* argument order, for a stable sort */
} zsrc;

static unsigned long zsrc_len(const zsrc *s)
{
    if (!s->o) return 0;
    return s->o->type == OBJ_ZSET ? zset_length(s->o) : set_size(s->o);
}

static int zsrc_find(zsrc *s, const char *ele, size_t len, double *score)
{
    if (!s->o) return 0;
    if (s->o->type == OBJ_ZSET) return zset_score(s->o, ele, len, score);
    *score = 1.0;
    return set_is_member(s->o, ele, len);
}

typedef int (*zsrc_fn)(void *priv, const char *ele, size_t len, double score);

/* Call fn on every element of s until it returns 0. */
static void zsrc_foreach(zsrc *s, zsrc_fn fn, void *priv)
{
    if (!s->o) return;
    if (s->o->type == OBJ_ZSET) {
        zset_iter it;
        zset_entry e;
        zset_iter_init(&it, s->o, 0, 0);
        while (zset_iter_next(&it, &e))
            if (!fn(priv, e.ele, e.len, e.score)) return;
        return;
    }
    set_iter it;
    const char *p;
    size_t len;
    char buf[NUM_STR_MAX];
    set_iter_start(&it, s->o);
    while (set_iter_next(&it, &p, &len, buf))
        if (!fn(priv, p, len, 1.0)) break;
    set_iter_end(&it);
}

static int zsrc_cmp_card(const void *a, const void *b)
{
    const zsrc *x = a, *y = b;
    unsigned long lx = zsrc_len(x), ly = zsrc_len(y);
    if (lx != ly) return lx < ly ? -1 : 1;
    return x->idx - y->idx;
}

static void aggregate(double *target, double val, int aggr)
{
    if (aggr == AGGR_SUM) {
        *target += val;
        /* inf + -inf is NaN: Redis makes it 0. */
        if (isnan(*target)) *target = 0.0;
    } else if (aggr == AGGR_MIN) {
        if (val < *target) *target = val;
    } else if (val > *target) {
        *target = val;
    }
}

/* A member of the result, collected before the result set is built. */
typedef struct res_item {
    dstr ele;
    double score;
} res_item;

/* The state of one set operation. */
typedef struct setop {
    cmd_call *c;
    zsrc *src;
    long n;
    int aggr;
    cobj *dst; /* the result, a skiplist-encoded set */
    size_t maxelelen, totlen;
    unsigned long card, limit; /* ZINTERCARD */
    int card_only;
    double weight; /* ZUNION: the weight of the source being read */
    dict *accum;   /* ZUNION: member -> index in res (v.s64) */
    res_item *res;
    size_t nres, capres;
} setop;

static res_item *setop_push(setop *op, const char *ele, size_t len, double score)
{
    if (op->nres == op->capres) {
        op->capres = op->capres ? op->capres * 2 : 16;
        op->res = cm_realloc(op->res, op->capres * sizeof(*op->res));
    }
    res_item *it = &op->res[op->nres++];
    it->ele = dstr_new(ele, len);
    it->score = score;
    op->totlen += len;
    if (len > op->maxelelen) op->maxelelen = len;
    return it;
}

static int inter_fn(void *priv, const char *ele, size_t len, double score)
{
    setop *op = priv;
    double acc = op->src[0].weight * score;
    if (isnan(acc)) acc = 0;
    for (long j = 1; j < op->n; j++) {
        double value;
        if (op->src[j].o == op->src[0].o)
            value = score;
        else if (!zsrc_find(&op->src[j], ele, len, &value))
            return 1;
        aggregate(&acc, value * op->src[j].weight, op->aggr);
    }
    if (op->card_only) {
        op->card++;
        return !(op->limit && op->card >= op->limit);
    }
    setop_push(op, ele, len, acc);
    return 1;
}

static int union_fn(void *priv, const char *ele, size_t len, double score)
{
    setop *op = priv;
    double v = op->weight * score;
    if (isnan(v)) v = 0;
    dict_entry *de = dict_find(op->accum, ele, len);
    if (de) {
        aggregate(&op->res[de->v.s64].score, v, op->aggr);
        return 1;
    }
    res_item *it = setop_push(op, ele, len, v);
    /* The dict indexes the item's own string (DICT_SHARED_KEYS). */
    de = dict_add(op->accum, it->ele, NULL);
    de->v.s64 = (int64_t)(op->nres - 1);
    return 1;
}

static int diff_fn(void *priv, const char *ele, size_t len, double score)
{
    setop *op = priv;
    for (long j = 1; j < op->n; j++) {
        double v;
        if (op->src[j].o == op->src[0].o || zsrc_find(&op->src[j], ele, len, &v)) return 1;
    }
    setop_push(op, ele, len, score);
    return 1;
}

static int res_cmp(const void *a, const void *b)
{
    const res_item *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return zsl_cmp_members(x->ele, dstr_len(x->ele), y->ele, dstr_len(y->ele));
}

/* Build the result set from the collected members.  Inserting them in
 * order, not in the order some dict gave them, makes the skiplist's shape
 * depend only on the command's seed (the same on every replica). */
static void setop_build(setop *op)
{
    zset *zs = op->dst->v.ptr;
    if (op->nres > 1) qsort(op->res, op->nres, sizeof(*op->res), res_cmp);
    htab_expand(zs->members, op->nres);
    for (size_t i = 0; i < op->nres; i++) {
        res_item *it = &op->res[i];
        zset_skiplist_insert(op->c, zs, it->score, it->ele, dstr_len(it->ele));
        dstr_free(it->ele);
    }
    op->nres = 0;
}

static void setop_run(setop *op, int kind)
{
    if (kind == SETOP_INTER) {
        if (zsrc_len(&op->src[0]) > 0) zsrc_foreach(&op->src[0], inter_fn, op);
    } else if (kind == SETOP_DIFF) {
        if (zsrc_len(&op->src[0]) > 0) zsrc_foreach(&op->src[0], diff_fn, op);
    } else {
        op->accum = dict_create(op->c->e->hash_seed, NULL, DICT_SHARED_KEYS);
        if (op->n) dict_expand(op->accum, zsrc_len(&op->src[op->n - 1]));
        for (long i = 0; i < op->n; i++) {
            op->weight = op->src[i].weight;
            zsrc_foreach(&op->src[i], union_fn, op);
        }
        dict_release(op->accum);
        op->accum = NULL;
    }
    setop_build(op);
}

/* Parse WEIGHTS/AGGREGATE/WITHSCORES/LIMIT after the keys, from argument
 * j on.  Returns 0, or -1 after replying. */
static int setop_parse_opts(cmd_call *c, int j, setop *op, int kind, int store, int *withscores)
{
    while (j < c->argc) {
        int remaining = c->argc - j;
        if (kind != SETOP_DIFF && !op->card_only && remaining >= op->n + 1 &&
            arg_is(c, j, "weights")) {
            j++;
            for (long i = 0; i < op->n; i++, j++)
                if (!arg_double(c, j, &op->src[i].weight, "ERR weight value is not a float"))
                    return -1;
        } else if (kind != SETOP_DIFF && !op->card_only && remaining >= 2 &&
                   arg_is(c, j, "aggregate")) {
            j++;
            if (arg_is(c, j, "sum"))
                op->aggr = AGGR_SUM;
            else if (arg_is(c, j, "min"))
                op->aggr = AGGR_MIN;
            else if (arg_is(c, j, "max"))
                op->aggr = AGGR_MAX;
            else
                return reply_syntax_error(c);
            j++;
        } else if (!store && !op->card_only && arg_is(c, j, "withscores")) {
            j++;
            *withscores = 1;
        } else if (op->card_only && remaining >= 2 && arg_is(c, j, "limit")) {
            long long limit;
            if (!arg_positive_ll(c, j + 1, &limit, "ERR LIMIT can't be negative")) return -1;
            op->limit = (unsigned long)limit;
            j += 2;
        } else {
            return reply_syntax_error(c);
        }
    }
    return 0;
}

static void setop_reply(setop *op, int withscores)
{
    cmd_call *c = op->c;
    zset *zs = op->dst->v.ptr;
    reply_array_len(c->out, scored_len(c, (long)zs->zsl->length, withscores));
    for (zsl_node *n = zsl_first(zs->zsl); n; n = zsl_next(n)) {
        if (withscores)
            reply_with_score(c, zsl_node_ele(n), zsl_node_len(n), n->score);
        else
            reply_bulk(c->out, zsl_node_ele(n), zsl_node_len(n));
    }
}

static void setop_store(setop *op, const cslice *dstkey)
{
    cmd_call *c = op->c;
    unsigned long len = zset_length(op->dst);
    if (len) {
        zset_convert_to_listpack_if_needed(c, op->dst, op->maxelelen, op->totlen);
        db_store(c, c->db, dstkey, op->dst);
        op->dst = NULL; /* the db's now */
        reply_int(c->out, (long long)len);
        c->dirty++;
        /* The event is the command's name: zunionstore, ... */
        notify_key(c, NOTIFY_ZSET, c->cmd->name, dstkey);
    } else {
        reply_int(c->out, 0);
        if (db_delete(c, c->db, dstkey)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "del", dstkey);
        }
    }
}

/* The set algebra.  nk is the index of numkeys; dstkey is NULL unless a
 * STORE form; card_only for ZINTERCARD. */
static void setop_generic(cmd_call *c, const cslice *dstkey, int nk, int kind, int card_only)
{
    long long numkeys;
    if (!arg_ll(c, nk, &numkeys)) return;
    if (numkeys < 1) {
        reply_errorf(c->out, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (numkeys > c->argc - (nk + 1)) {
        reply_syntax_error(c);
        return;
    }
    setop op = {0};
    op.c = c;
    op.n = (long)numkeys;
    op.card_only = card_only;
    op.src = cm_calloc((size_t)op.n, sizeof(zsrc));
    int j = nk + 1, withscores = 0;
    for (long i = 0; i < op.n; i++, j++) {
        cobj *o = lookup_read(c, &c->argv[j]);
        if (o && o->type != OBJ_ZSET && o->type != OBJ_SET) {
            reply_error(c->out, ERR_WRONGTYPE);
            goto done;
        }
        op.src[i] = (zsrc){o, 1.0, (int)i};
    }
    if (setop_parse_opts(c, j, &op, kind, dstkey != NULL, &withscores) < 0) goto done;
    /* Smallest first, which makes intersections cheap. */
    if (kind != SETOP_DIFF) qsort(op.src, (size_t)op.n, sizeof(zsrc), zsrc_cmp_card);

    op.dst = zset_new_skiplist(c);
    setop_run(&op, kind);
    if (dstkey)
        setop_store(&op, dstkey);
    else if (card_only)
        reply_int(c->out, (long long)op.card);
    else
        setop_reply(&op, withscores);
done:
    if (op.dst) obj_free(op.dst);
    for (size_t i = 0; i < op.nres; i++)
        dstr_free(op.res[i].ele);
    cm_free(op.res);
    cm_free(op.src);
}

static void zunionstore_command(cmd_call *c) { setop_generic(c, &c->argv[1], 2, SETOP_UNION, 0); }
static void zinterstore_command(cmd_call *c) { setop_generic(c, &c->argv[1], 2, SETOP_INTER, 0); }
static void zdiffstore_command(cmd_call *c) { setop_generic(c, &c->argv[1], 2, SETOP_DIFF, 0); }
static void zunion_command(cmd_call *c) { setop_generic(c, NULL, 1, SETOP_UNION, 0); }
static void zinter_command(cmd_call *c) { setop_generic(c, NULL, 1, SETOP_INTER, 0); }
static void zdiff_command(cmd_call *c) { setop_generic(c, NULL, 1, SETOP_DIFF, 0); }
static void zintercard_command(cmd_call *c) { setop_generic(c, NULL, 1, SETOP_INTER, 1); }

/* ------------------------------------------------------------------ */
/* ZSCAN                                                                */
/* ------------------------------------------------------------------ */

static void reply_scan_pair(cmd_call *c, const char *ele, size_t len, double score)
{
    char buf[NUM_STR_MAX];
    int n = double_to_str(buf, sizeof(buf), score);
    reply_bulk(c->out, ele, len);
    reply_bulk(c->out, buf, (size_t)n);
}

/* A listpack is small: all of it in one reply, cursor 0, as Redis. */
static void zscan_listpack(cmd_call *c, cobj *zobj, const scan_opts *so)
{
    scan_reply_cursor(c, 0);
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    zset_iter it;
    zset_entry e;
    zset_iter_init(&it, zobj, 0, 0);
    while (zset_iter_next(&it, &e)) {
        if (!scan_matches(so, e.ele, e.len)) continue;
        reply_scan_pair(c, e.ele, e.len, e.score);
        n += 2;
    }
    reply_set_deferred_array(c->out, d, n);
}

/* Buckets until COUNT elements (members and scores, as Redis counts
 * them), but at most 10*COUNT buckets. */
static void zscan_htab(cmd_call *c, cobj *zobj, uint64_t cursor, const scan_opts *so)
{
    zset *zs = zobj->v.ptr;
    scan_batch b = {0};
    cursor = scan_htab(zs->members, cursor, so->count, 2, &b);

    scan_reply_cursor(c, cursor);
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        const zsl_node *node = b.e[i];
        cslice m = zsl_node_member(node);
        if (!scan_matches(so, m.ptr, m.len)) continue;
        reply_scan_pair(c, m.ptr, m.len, node->score);
        n += 2;
    }
    reply_set_deferred_array(c->out, d, n);
    scan_batch_free(&b);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count] */
static void zscan_command(cmd_call *c)
{
    uint64_t cursor;
    scan_opts so;
    if (scan_parse_cursor(c, &c->argv[2], &cursor) < 0) return;
    cobj *zobj;
    int found = zset_lookup(c, &c->argv[1], &zobj, 0);
    if (found < 0) return;
    if (!found) {
        scan_reply_cursor(c, 0);
        reply_empty_array(c->out);
        return;
    }
    if (scan_parse_opts(c, 3, &so, 0) < 0) return;
    if (zobj->encoding == ENC_LISTPACK)
        zscan_listpack(c, zobj, &so);
    else
        zscan_htab(c, zobj, cursor, &so);
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

#define Z_WRITE_FAST (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define Z_READ_FAST  (CMD_READONLY | CMD_FAST)
#define A_WRITE_FAST (ACL_WRITE | ACL_SORTEDSET | ACL_FAST)
#define A_WRITE_SLOW (ACL_WRITE | ACL_SORTEDSET | ACL_SLOW)
#define A_READ_FAST  (ACL_READ | ACL_SORTEDSET | ACL_FAST)
#define A_READ_SLOW  (ACL_READ | ACL_SORTEDSET | ACL_SLOW)
#define Z_BLOCK      (CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST)
#define A_BLOCK_FAST (ACL_WRITE | ACL_SORTEDSET | ACL_FAST | ACL_BLOCKING)
#define A_BLOCK_SLOW (ACL_WRITE | ACL_SORTEDSET | ACL_SLOW | ACL_BLOCKING)
#define G            "sorted-set"

#define CX_LOGN "O(log(N)) with N being the number of elements in the sorted set."
#define CX_RANGE                                                                                   \
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "       \
    "elements returned."
#define CX_RANGE_LIMIT                                                                             \
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "       \
    "elements being returned. If M is constant (e.g. always asking for the first 10 elements "     \
    "with LIMIT), you can consider it O(log(N))."
#define CX_REMRANGE                                                                                \
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "       \
    "elements removed by the operation."
#define CX_POP                                                                                     \
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number "   \
    "of elements popped."
#define CX_MPOP                                                                                    \
    "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements "   \
    "in the sorted set, and M being the number of elements popped."
#define CX_UNION                                                                                   \
    "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being "    \
    "the number of elements in the resulting sorted set."
#define CX_UNIONSTORE                                                                              \
    "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being "    \
    "the number of elements in the resulting sorted set."
#define CX_INTER                                                                                   \
    "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the "       \
    "number of input sorted sets and M being the number of elements in the resulting sorted set."
#define CX_DIFF                                                                                    \
    "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N "    \
    "is the size of the first set, and K is the size of the result set."

const cmd_def zset_commands[] = {
    {"zadd", zadd_command, -4, Z_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, G, "1.2.0",
     "Add one or more members to a sorted set, or update its score if it already exists",
     "O(log(N)) for each item added, where N is the number of elements in the sorted set.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"zincrby", zincrby_command, 4, Z_WRITE_FAST, A_WRITE_FAST, 1, 1, 1, G, "1.2.0",
     "Increment the score of a member in a sorted set",
     "O(log(N)) where N is the number of elements in the sorted set.", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"zrem", zrem_command, -3, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, G, "1.2.0",
     "Remove one or more members from a sorted set",
     "O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
     "elements to be removed.",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"zcard", zcard_command, 2, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "1.2.0",
     "Get the number of members in a sorted set", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"zscore", zscore_command, 3, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "1.2.0",
     "Get the score associated with the given member in a sorted set", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zmscore", zmscore_command, -3, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "6.2.0",
     "Get the score associated with the given members in a sorted set",
     "O(N) where N is the number of members being requested.", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zcount", zcount_command, 4, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "2.0.0",
     "Count the members in a sorted set with scores within the given values", CX_LOGN, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zlexcount", zlexcount_command, 4, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "2.8.9",
     "Count the number of members in a sorted set between a given lexicographical range", CX_LOGN,
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrange", zrange_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "1.2.0",
     "Return a range of members in a sorted set", CX_RANGE, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrangestore", zrangestore_command, -5, CMD_WRITE | CMD_DENYOOM, A_WRITE_SLOW, 1, 2, 1, G,
     "6.2.0", "Store a range of members from sorted set into another key",
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
     "elements stored into the destination key.",
     NULL, NULL, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"zrangebyscore", zrangebyscore_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "1.0.5",
     "Return a range of members in a sorted set, by score", CX_RANGE_LIMIT, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrevrangebyscore", zrevrangebyscore_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G,
     "2.2.0",
     "Return a range of members in a sorted set, by score, with scores ordered from high to low",
     CX_RANGE_LIMIT, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrangebylex", zrangebylex_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "2.8.9",
     "Return a range of members in a sorted set, by lexicographical range", CX_RANGE_LIMIT, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrevrangebylex", zrevrangebylex_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "2.8.9",
     "Return a range of members in a sorted set, by lexicographical range, ordered from higher "
     "to lower strings.",
     CX_RANGE_LIMIT, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrevrange", zrevrange_command, -4, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "1.2.0",
     "Return a range of members in a sorted set, by index, with scores ordered from high to low",
     CX_RANGE, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    /* Arity -3, not 7.0's 3: WITHSCORE (7.2) is accepted. */
    {"zrank", zrank_command, -3, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "2.0.0",
     "Determine the index of a member in a sorted set", "O(log(N))", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zrevrank", zrevrank_command, -3, Z_READ_FAST, A_READ_FAST, 1, 1, 1, G, "2.0.0",
     "Determine the index of a member in a sorted set, with scores ordered from high to low",
     "O(log(N))", NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zremrangebyrank", zremrangebyrank_command, 4, CMD_WRITE, A_WRITE_SLOW, 1, 1, 1, G, "2.0.0",
     "Remove all members in a sorted set within the given indexes", CX_REMRANGE, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"zremrangebyscore", zremrangebyscore_command, 4, CMD_WRITE, A_WRITE_SLOW, 1, 1, 1, G, "1.2.0",
     "Remove all members in a sorted set within the given scores", CX_REMRANGE, NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"zremrangebylex", zremrangebylex_command, 4, CMD_WRITE, A_WRITE_SLOW, 1, 1, 1, G, "2.8.9",
     "Remove all members in a sorted set between the given lexicographical range", CX_REMRANGE,
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_DELETE)},
    {"zpopmin", zpopmin_command, -2, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, G, "5.0.0",
     "Remove and return members with the lowest scores in a sorted set", CX_POP, NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"zpopmax", zpopmax_command, -2, CMD_WRITE | CMD_FAST, A_WRITE_FAST, 1, 1, 1, G, "5.0.0",
     "Remove and return members with the highest scores in a sorted set", CX_POP, NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    /* The keys follow numkeys: Redis reports (0, 0, 0) with movablekeys,
     * and getkeys finds them. */
    {"zmpop", zmpop_command, -4, CMD_WRITE, A_WRITE_SLOW, 0, 0, 0, G, "7.0.0",
     "Remove and return members with scores in a sorted set", CX_MPOP, NULL, getkeys_numkeys_at1,
     NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"bzpopmin", bzpopmin_command, -3, Z_BLOCK, A_BLOCK_FAST, 1, -2, 1, G, "5.0.0",
     "Remove and return the member with the lowest score from one or more sorted sets, or block "
     "until one is available",
     CX_LOGN, NULL, NULL, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"bzpopmax", bzpopmax_command, -3, Z_BLOCK, A_BLOCK_FAST, 1, -2, 1, G, "5.0.0",
     "Remove and return the member with the highest score from one or more sorted sets, or "
     "block until one is available",
     CX_LOGN, NULL, NULL, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"bzmpop", bzmpop_command, -5, CMD_WRITE | CMD_BLOCKING, A_BLOCK_SLOW, 0, 0, 0, G, "7.0.0",
     "Remove and return members with scores in a sorted set or block until one is available",
     CX_MPOP, NULL, getkeys_numkeys_at2, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"zrandmember", zrandmember_command, -2, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "6.2.0",
     "Get one or multiple random elements from a sorted set",
     "O(N) where N is the number of elements returned", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zunion", zunion_command, -3, CMD_READONLY, A_READ_SLOW, 0, 0, 0, G, "6.2.0",
     "Add multiple sorted sets", CX_UNION, NULL, getkeys_numkeys_at1,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zinter", zinter_command, -3, CMD_READONLY, A_READ_SLOW, 0, 0, 0, G, "6.2.0",
     "Intersect multiple sorted sets", CX_INTER, NULL, getkeys_numkeys_at1,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zdiff", zdiff_command, -3, CMD_READONLY, A_READ_SLOW, 0, 0, 0, G, "6.2.0",
     "Subtract multiple sorted sets", CX_DIFF, NULL, getkeys_numkeys_at1,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zunionstore", zunionstore_command, -4, CMD_WRITE | CMD_DENYOOM, A_WRITE_SLOW, 1, 1, 1, G,
     "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key",
     CX_UNIONSTORE, NULL, getkeys_dest_numkeys, NULL,
     KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"zinterstore", zinterstore_command, -4, CMD_WRITE | CMD_DENYOOM, A_WRITE_SLOW, 1, 1, 1, G,
     "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key",
     CX_INTER, NULL, getkeys_dest_numkeys, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"zdiffstore", zdiffstore_command, -4, CMD_WRITE | CMD_DENYOOM, A_WRITE_SLOW, 1, 1, 1, G,
     "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key",
     CX_DIFF, NULL, getkeys_dest_numkeys, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {"zintercard", zintercard_command, -3, CMD_READONLY, A_READ_SLOW, 0, 0, 0, G, "7.0.0",
     "Intersect multiple sorted sets and return the cardinality of the result",
     "O(N*K) worst case with N being the smallest input sorted set, K being the number of input "
     "sorted sets.",
     NULL, getkeys_numkeys_at1, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"zscan", zscan_command, -3, CMD_READONLY, A_READ_SLOW, 1, 1, 1, G, "2.8.0",
     "Incrementally iterate sorted sets elements and associated scores",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
     "cursor to return back to 0. N is the number of elements inside the collection..",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {0},
};
