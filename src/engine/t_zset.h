/* t_zset.h -- the sorted-set type: its two encodings and the operations
 * the ZSET commands (t_zset.c) and other families (SORT) build on.
 *
 * A sorted set is a listpack of member,score pairs ordered by (score,
 * member) while it has at most zset-max-listpack-entries members of at
 * most zset-max-listpack-value bytes ("listpack"), and a skiplist plus a
 * hash table member -> node once it outgrows that ("skiplist"), as in
 * Redis 7.0.
 * Growth converts to a skiplist; only commands that build a new set
 * (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZRANGESTORE) choose the compact
 * encoding for a small result -- shrinking never converts back.
 *
 * Scores in a listpack are stored as Redis 7.0 stores them: integral
 * scores as integers, others as d2string text.  Everything here is
 * implemented in zset.c. */
#ifndef CAIRN_T_ZSET_H
#define CAIRN_T_ZSET_H

#include <stddef.h>

#include "../ds/htab.h"
#include "../ds/skiplist.h"
#include "engine.h"
#include "object.h"

/* The skiplist encoding: the skiplist keeps the order and owns the nodes,
 * and the htab indexes those same nodes by member (its elements are the
 * zsl_node pointers, keyed by the member bytes stored in each node). */
typedef struct zset {
    htab *members;
    zskiplist *zsl;
} zset;

/* One element as read from either encoding.  ele points into the set
 * (valid until it changes) or into buf, for members that a listpack keeps
 * as integers. */
typedef struct zset_entry {
    const char *ele;
    size_t len;
    double score;
    char buf[24];
} zset_entry;

/* A position in a sorted set, moving forward or backward.  Any change to
 * the set invalidates it. */
typedef struct zset_pos {
    cobj *zobj;
    unsigned char *eptr, *sptr; /* listpack: member and score entries */
    zsl_node *node;             /* skiplist */
} zset_pos;

/* ---- Reading ---------------------------------------------------------- */

unsigned long zset_length(const cobj *zobj);
/* The score of member ele; returns 0 if absent. */
int zset_score(cobj *zobj, const char *ele, size_t len, double *score);
/* 0-based rank of ele counted from the lowest score (or from the highest
 * when reverse), or -1 if absent; *score (if not NULL) gets its score. */
long zset_rank(cobj *zobj, const char *ele, size_t len, int reverse, double *score);

/* Positions: at a 0-based rank counted from the low end, or at the
 * first/last element of a range.  zset_pos_valid() is false when there
 * is no such element. */
zset_pos zset_pos_at_rank(cobj *zobj, unsigned long rank);
zset_pos zset_pos_first_in_range(cobj *zobj, const zrange_spec *r);
zset_pos zset_pos_last_in_range(cobj *zobj, const zrange_spec *r);
zset_pos zset_pos_first_in_lex(cobj *zobj, const zlex_spec *r);
zset_pos zset_pos_last_in_lex(cobj *zobj, const zlex_spec *r);
static inline int zset_pos_valid(const zset_pos *p) { return p->eptr || p->node; }
void zset_pos_next(zset_pos *p);
void zset_pos_prev(zset_pos *p);
/* The member at p (and its score). */
void zset_pos_get(const zset_pos *p, zset_entry *e);
/* Only the member, or only the score, where one is all that is needed. */
void zset_pos_member(const zset_pos *p, zset_entry *e);
double zset_pos_score(const zset_pos *p);

/* In-order iteration, for SORT and anyone else who wants the members:
 *
 *     zset_iter it;
 *     zset_entry e;
 *     zset_iter_init(&it, zobj, 0, 0);
 *     while (zset_iter_next(&it, &e)) use(e.ele, e.len, e.score);
 *
 * start is a 0-based rank counted in the direction of travel (reverse:
 * from the highest score).  The set must not change meanwhile. */
typedef struct zset_iter {
    zset_pos pos;
    int reverse;
} zset_iter;
void zset_iter_init(zset_iter *it, cobj *zobj, unsigned long start, int reverse);
int zset_iter_next(zset_iter *it, zset_entry *e);

/* Call fn with each member in order (lowest score first) until it returns
 * 0 -- the simplest way to read a whole set (SORT).  The bytes are valid
 * only during the call. */
typedef int (*zset_foreach_fn)(void *priv, const char *ele, size_t len);
void zset_foreach(cobj *zobj, zset_foreach_fn fn, void *priv);

/* A uniformly random element, drawn from r. */
void zset_random(cobj *zobj, crand *r, zset_entry *e);

/* ---- Writing ---------------------------------------------------------- */

/* An empty sorted set in the encoding that suits `size_hint` members of up
 * to `maxelelen` bytes under the configuration. */
cobj *zset_create(cmd_call *c, size_t size_hint, size_t maxelelen);

/* zset_add() flags, as Redis's zsetAdd. */
enum {
    ZADD_IN_INCR = 1 << 0, /* score is an increment */
    ZADD_IN_NX = 1 << 1,   /* only add new members */
    ZADD_IN_XX = 1 << 2,   /* only update existing members */
    ZADD_IN_GT = 1 << 3,   /* only update to a greater score */
    ZADD_IN_LT = 1 << 4,   /* only update to a lower score */
};
enum {
    ZADD_OUT_NOP = 1 << 0,     /* nothing done (NX/XX/GT/LT) */
    ZADD_OUT_NAN = 1 << 1,     /* the result would be NaN: nothing done */
    ZADD_OUT_ADDED = 1 << 2,   /* a new member */
    ZADD_OUT_UPDATED = 1 << 3, /* an existing member's score changed */
};

/* Add or update a member, converting to a skiplist when the set outgrows
 * the listpack thresholds.  *newscore (if not NULL) gets the resulting
 * score when the member was added or updated.  Returns 0 (and sets
 * ZADD_OUT_NAN) if the score would be NaN, else 1. */
int zset_add(cmd_call *c, cobj *zobj, double score, const char *ele, size_t len, int in_flags,
             int *out_flags, double *newscore);
/* Remove a member; returns 1 if it was there. */
int zset_del(cobj *zobj, const char *ele, size_t len);
/* How many members fall in a range. */
unsigned long zset_count_in_range(cobj *zobj, const zrange_spec *r);
unsigned long zset_count_in_lex(cobj *zobj, const zlex_spec *r);
/* Range removals; they return how many members went.  Ranks are 0-based
 * and inclusive, already clamped to the set. */
unsigned long zset_delete_range_by_score(cobj *zobj, const zrange_spec *r);
unsigned long zset_delete_range_by_lex(cobj *zobj, const zlex_spec *r);
unsigned long zset_delete_range_by_rank(cobj *zobj, unsigned long start, unsigned long end);

void zset_convert_to_skiplist(cmd_call *c, cobj *zobj);
/* A skiplist-encoded set back to a listpack if it is small enough now:
 * maxelelen is its longest member, totlen the sum of member lengths. */
void zset_convert_to_listpack_if_needed(cmd_call *c, cobj *zobj, size_t maxelelen, size_t totlen);

/* An empty sorted set in the skiplist encoding, for building results. */
cobj *zset_new_skiplist(cmd_call *c);
/* The skiplist encoding directly, for building results: add a member that
 * is known to be absent. */
zsl_node *zset_skiplist_insert(cmd_call *c, zset *zs, double score, const char *ele, size_t len);

/* ---- Parsing ranges (shared by the commands) -------------------------- */

/* Parse score bounds as Redis does ("(1.5", "-inf"...).  Returns 0 if
 * either is not a float. */
int zset_parse_range(const cslice *min, const cslice *max, zrange_spec *r);
/* Parse lex bounds ("[a", "(a", "-", "+"); the spec points into the
 * arguments.  Returns 0 if either is not a valid string range item. */
int zset_parse_lex_range(const cslice *min, const cslice *max, zlex_spec *r);

#endif
