/* skiplist.h -- an ordered list of (score, member) pairs with O(log n)
 * insert, delete, rank and range lookups (the large sorted-set encoding).
 *
 * Elements are ordered by score, then by member bytes (memcmp, shorter
 * first on a common prefix), as Redis orders sorted sets.  Each node keeps
 * a forward pointer and a span per level: the span is the number of
 * level-0 steps the pointer jumps, so summing spans along a search path
 * gives an element's rank.  Level-0 nodes also link backward so ranges can
 * be walked in both directions.
 *
 * A node's member lives in the node's own allocation, just before the
 * node: the member bytes, a NUL, then the length as a uint32_t that ends
 * where the node begins (up to 7 bytes of padding come first, so the node
 * is 8-aligned).  A member costs one allocation, reached from the node
 * without knowing its height, and the node's address is the member's
 * handle for its whole life, score updates included: a hash table can
 * index the nodes themselves.
 *
 * Node levels are drawn from a crand supplied by the caller, so the shape
 * of the list is deterministic given the seed (DESIGN rule 2). */
#ifndef CAIRN_SKIPLIST_H
#define CAIRN_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

#include "dstr.h"
#include "rand.h"

#define ZSL_MAX_LEVEL 32 /* enough for 2^64 elements at p = 1/4 */

typedef struct zsl_node {
    double score;
    struct zsl_node *backward;
    struct zsl_level {
        struct zsl_node *forward;
        unsigned long span;
    } level[];
} zsl_node;

/* The member of n (the header node's is empty). */
static inline size_t zsl_node_len(const zsl_node *n)
{
    return ((const uint32_t *)(const void *)n)[-1];
}
static inline const char *zsl_node_ele(const zsl_node *n)
{
    return (const char *)n - sizeof(uint32_t) - 1 - zsl_node_len(n);
}
static inline cslice zsl_node_member(const zsl_node *n)
{
    return (cslice){zsl_node_ele(n), zsl_node_len(n)};
}

typedef struct zskiplist {
    zsl_node *header, *tail;
    unsigned long length;
    int level;
} zskiplist;

/* A score interval; minex/maxex make a bound exclusive. */
typedef struct zrange_spec {
    double min, max;
    int minex, maxex;
} zrange_spec;

/* A member interval.  A bound is a string, or -inf / +inf ("-" / "+"). */
enum { ZLEX_VALUE = 0, ZLEX_NEG_INF, ZLEX_POS_INF };

typedef struct zlex_spec {
    const char *min, *max;
    size_t minlen, maxlen;
    int minkind, maxkind; /* ZLEX_* */
    int minex, maxex;
} zlex_spec;

zskiplist *zsl_create(void);
/* Bytes of n's allocation (its member included). */
size_t zsl_node_mem(const zsl_node *n);
void zsl_free(zskiplist *zsl);
/* A level in 1..ZSL_MAX_LEVEL, each level above 1 with probability 1/4. */
int zsl_random_level(crand *r);

/* Insert a member that is not in the list yet; the bytes are copied into
 * the new node, which is returned. */
zsl_node *zsl_insert(zskiplist *zsl, double score, const char *ele, size_t len, crand *r);
/* Unlink node (which must be in the list) and free it. */
void zsl_delete_node(zskiplist *zsl, zsl_node *node);
/* Move node (which must be in the list) to newscore.  The node is kept,
 * so pointers to it and to its member stay valid. */
void zsl_update_score(zskiplist *zsl, zsl_node *node, double newscore);

/* 1-based rank of (score, ele), or 0 if absent. */
unsigned long zsl_get_rank(zskiplist *zsl, double score, const char *ele, size_t len);
/* The element at 1-based rank, or NULL. */
zsl_node *zsl_get_by_rank(zskiplist *zsl, unsigned long rank);

static inline zsl_node *zsl_first(const zskiplist *zsl) { return zsl->header->level[0].forward; }
static inline zsl_node *zsl_last(const zskiplist *zsl) { return zsl->tail; }
static inline zsl_node *zsl_next(const zsl_node *n) { return n->level[0].forward; }
static inline zsl_node *zsl_prev(const zsl_node *n) { return n->backward; }

/* Order of members: memcmp, then length. */
int zsl_cmp_members(const char *a, size_t alen, const char *b, size_t blen);

static inline int zsl_value_gte_min(double v, const zrange_spec *r)
{
    return r->minex ? v > r->min : v >= r->min;
}
static inline int zsl_value_lte_max(double v, const zrange_spec *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}
/* False when no score can satisfy r (min > max, or an empty point). */
int zsl_range_is_valid(const zrange_spec *r);

int zsl_lex_gte_min(const char *s, size_t len, const zlex_spec *r);
int zsl_lex_lte_max(const char *s, size_t len, const zlex_spec *r);
int zsl_lex_range_is_valid(const zlex_spec *r);

/* The first/last element inside the range, or NULL. */
zsl_node *zsl_first_in_range(zskiplist *zsl, const zrange_spec *r);
zsl_node *zsl_last_in_range(zskiplist *zsl, const zrange_spec *r);
zsl_node *zsl_first_in_lex_range(zskiplist *zsl, const zlex_spec *r);
zsl_node *zsl_last_in_lex_range(zskiplist *zsl, const zlex_spec *r);

/* Range deletions.  on_delete (may be NULL) sees each node just before it
 * is freed -- the owner drops its index entries there.  They return the
 * number of elements removed.  Ranks are 1-based and inclusive. */
typedef void (*zsl_delete_fn)(void *priv, zsl_node *node);
unsigned long zsl_delete_range_by_score(zskiplist *zsl, const zrange_spec *r, zsl_delete_fn fn,
                                        void *priv);
unsigned long zsl_delete_range_by_lex(zskiplist *zsl, const zlex_spec *r, zsl_delete_fn fn,
                                      void *priv);
unsigned long zsl_delete_range_by_rank(zskiplist *zsl, unsigned long start, unsigned long end,
                                       zsl_delete_fn fn, void *priv);

/* A structurally identical copy (same levels, same spans), so copying
 * needs no random numbers and gives the same shape on every replica.
 * If fn is not NULL it is called with each new node, in order. */
zskiplist *zsl_dup(const zskiplist *zsl, void (*fn)(void *priv, zsl_node *node), void *priv);

#endif
