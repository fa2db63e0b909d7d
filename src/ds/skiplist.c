/* skiplist.c -- an ordered list of (score, member) pairs; see skiplist.h.
 *
 * The algorithms are William Pugh's, with the additions Redis made: spans
 * for ranks, a backward link at level 0, and ties in score broken by the
 * member bytes so that every element has one place. */
#include "skiplist.h"

#include <string.h>

#include "alloc.h"

/* ---------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

/* Bytes in front of a node: its member, the NUL and the length, rounded
 * up so that the node that follows is 8-aligned. */
static size_t member_room(size_t len) { return (len + 1 + sizeof(uint32_t) + 7) & ~(size_t)7; }

/* One allocation: padding, the member bytes, NUL, length, then the node
 * and its levels. */
static zsl_node *node_create(int level, double score, const char *ele, size_t len)
{
    size_t room = member_room(len);
    char *p = cm_malloc(room + sizeof(zsl_node) + (size_t)level * sizeof(struct zsl_level));
    zsl_node *n = (zsl_node *)(void *)(p + room);
    char *s = (char *)n - sizeof(uint32_t) - 1 - len;
    if (len) memcpy(s, ele, len);
    s[len] = '\0';
    ((uint32_t *)(void *)n)[-1] = (uint32_t)len;
    n->score = score;
    n->backward = NULL;
    for (int i = 0; i < level; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    return n;
}

static void node_free(zsl_node *n) { cm_free((char *)n - member_room(zsl_node_len(n))); }

size_t zsl_node_mem(const zsl_node *n)
{
    return cm_usable_size((char *)n - member_room(zsl_node_len(n)));
}

zskiplist *zsl_create(void)
{
    zskiplist *zsl = cm_malloc(sizeof(*zsl));
    zsl->header = node_create(ZSL_MAX_LEVEL, 0, "", 0);
    zsl->tail = NULL;
    zsl->length = 0;
    zsl->level = 1;
    return zsl;
}

void zsl_free(zskiplist *zsl)
{
    zsl_node *n = zsl->header->level[0].forward;
    while (n) {
        zsl_node *next = n->level[0].forward;
        node_free(n);
        n = next;
    }
    node_free(zsl->header);
    cm_free(zsl);
}

int zsl_random_level(crand *r)
{
    /* Two random bits per level: a level is added with probability 1/4,
     * and one 64-bit draw covers all 32 levels. */
    uint64_t bits = crand_next(r);
    int level = 1;
    while (level < ZSL_MAX_LEVEL && (bits & 3) == 0) {
        level++;
        bits >>= 2;
    }
    return level;
}

/* ---------------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------------ */

int zsl_cmp_members(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t min = alen < blen ? alen : blen;
    int c = min ? memcmp(a, b, min) : 0;
    if (c) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static int node_cmp_member(const zsl_node *n, const char *ele, size_t len)
{
    return zsl_cmp_members(zsl_node_ele(n), zsl_node_len(n), ele, len);
}

/* Does n come strictly before (score, ele)? */
static int node_before(const zsl_node *n, double score, const char *ele, size_t len)
{
    return n->score < score || (n->score == score && node_cmp_member(n, ele, len) < 0);
}

/* ---------------------------------------------------------------------------
 * Insert, delete, update
 * ------------------------------------------------------------------------ */

/* Link node x (its score and member set, `level` levels) into place. */
static void link_node(zskiplist *zsl, zsl_node *x, int level)
{
    zsl_node *update[ZSL_MAX_LEVEL], *n = zsl->header;
    unsigned long rank[ZSL_MAX_LEVEL];
    cslice m = zsl_node_member(x);

    for (int i = zsl->level - 1; i >= 0; i--) {
        /* rank[i] is the rank of update[i]: what was crossed to reach it. */
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (n->level[i].forward && node_before(n->level[i].forward, x->score, m.ptr, m.len)) {
            rank[i] += n->level[i].span;
            n = n->level[i].forward;
        }
        update[i] = n;
    }
    if (level > zsl->level) {
        for (int i = zsl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            update[i]->level[i].span = zsl->length;
        }
        zsl->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        /* x takes over the part of update[i]'s span that lies after it. */
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    /* Pointers above x's top now jump over one more element. */
    for (int i = level; i < zsl->level; i++)
        update[i]->level[i].span++;

    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
}

zsl_node *zsl_insert(zskiplist *zsl, double score, const char *ele, size_t len, crand *r)
{
    int level = zsl_random_level(r);
    zsl_node *x = node_create(level, score, ele, len);
    link_node(zsl, x, level);
    return x;
}

/* Fill update[i] with the last node before (score, ele) at each level;
 * returns the node that follows at level 0 (the match, if present). */
static zsl_node *find_update(zskiplist *zsl, double score, const char *ele, size_t len,
                             zsl_node **update)
{
    zsl_node *n = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (n->level[i].forward && node_before(n->level[i].forward, score, ele, len))
            n = n->level[i].forward;
        update[i] = n;
    }
    return n->level[0].forward;
}

static void unlink_node(zskiplist *zsl, zsl_node *x, zsl_node **update)
{
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL)
        zsl->level--;
    zsl->length--;
}

static int same_element(const zsl_node *x, double score, const char *ele, size_t len)
{
    return x && x->score == score && node_cmp_member(x, ele, len) == 0;
}

/* find_update() for a node of the list; returns 0 if it is not there. */
static int find_node(zskiplist *zsl, const zsl_node *node, zsl_node **update)
{
    cslice m = zsl_node_member(node);
    return find_update(zsl, node->score, m.ptr, m.len, update) == node;
}

void zsl_delete_node(zskiplist *zsl, zsl_node *node)
{
    zsl_node *update[ZSL_MAX_LEVEL];
    if (!find_node(zsl, node, update)) return; /* not in this list: a caller bug, do no harm */
    unlink_node(zsl, node, update);
    node_free(node);
}

void zsl_update_score(zskiplist *zsl, zsl_node *node, double newscore)
{
    /* Still between its neighbours: only the score changes, no search. */
    if ((node->backward == NULL || node->backward->score < newscore) &&
        (node->level[0].forward == NULL || node->level[0].forward->score > newscore)) {
        node->score = newscore;
        return;
    }
    zsl_node *update[ZSL_MAX_LEVEL];
    if (!find_node(zsl, node, update)) return; /* not in this list: a caller bug, do no harm */
    /* Move it, keeping its height: the levels it occupies are exactly
     * those where its predecessor points at it. */
    int height = 0;
    while (height < zsl->level && update[height]->level[height].forward == node)
        height++;
    unlink_node(zsl, node, update);
    node->score = newscore;
    link_node(zsl, node, height);
}

/* ---------------------------------------------------------------------------
 * Ranks
 * ------------------------------------------------------------------------ */

unsigned long zsl_get_rank(zskiplist *zsl, double score, const char *ele, size_t len)
{
    zsl_node *x = zsl->header;
    unsigned long rank = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && (node_before(x->level[i].forward, score, ele, len) ||
                                       same_element(x->level[i].forward, score, ele, len))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != zsl->header && same_element(x, score, ele, len)) return rank;
    }
    return 0;
}

zsl_node *zsl_get_by_rank(zskiplist *zsl, unsigned long rank)
{
    zsl_node *x = zsl->header;
    unsigned long traversed = 0;
    if (rank == 0 || rank > zsl->length) return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return x;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Score ranges
 * ------------------------------------------------------------------------ */

int zsl_range_is_valid(const zrange_spec *r)
{
    return !(r->min > r->max || (r->min == r->max && (r->minex || r->maxex)));
}

/* Does some element fall inside r?  A cheap test on both ends. */
static int range_overlaps(const zskiplist *zsl, const zrange_spec *r)
{
    if (!zsl_range_is_valid(r)) return 0;
    if (!zsl->tail || !zsl_value_gte_min(zsl->tail->score, r)) return 0;
    zsl_node *first = zsl->header->level[0].forward;
    return first && zsl_value_lte_max(first->score, r);
}

zsl_node *zsl_first_in_range(zskiplist *zsl, const zrange_spec *r)
{
    if (!range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && !zsl_value_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
    x = x->level[0].forward; /* not NULL: the last element is >= min */
    return zsl_value_lte_max(x->score, r) ? x : NULL;
}

zsl_node *zsl_last_in_range(zskiplist *zsl, const zrange_spec *r)
{
    if (!range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && zsl_value_lte_max(x->level[i].forward->score, r))
            x = x->level[i].forward;
    /* Not the header: the first element is <= max. */
    return zsl_value_gte_min(x->score, r) ? x : NULL;
}

/* ---------------------------------------------------------------------------
 * Lexicographic ranges
 * ------------------------------------------------------------------------ */

int zsl_lex_gte_min(const char *s, size_t len, const zlex_spec *r)
{
    if (r->minkind == ZLEX_NEG_INF) return 1;
    if (r->minkind == ZLEX_POS_INF) return 0;
    int c = zsl_cmp_members(s, len, r->min, r->minlen);
    return r->minex ? c > 0 : c >= 0;
}

int zsl_lex_lte_max(const char *s, size_t len, const zlex_spec *r)
{
    if (r->maxkind == ZLEX_POS_INF) return 1;
    if (r->maxkind == ZLEX_NEG_INF) return 0;
    int c = zsl_cmp_members(s, len, r->max, r->maxlen);
    return r->maxex ? c < 0 : c <= 0;
}

/* Compare the bounds, -inf and +inf included. */
static int lex_bound_cmp(const zlex_spec *r)
{
    if (r->minkind == r->maxkind && r->minkind != ZLEX_VALUE) return 0;
    if (r->minkind == ZLEX_NEG_INF || r->maxkind == ZLEX_POS_INF) return -1;
    if (r->minkind == ZLEX_POS_INF || r->maxkind == ZLEX_NEG_INF) return 1;
    return zsl_cmp_members(r->min, r->minlen, r->max, r->maxlen);
}

int zsl_lex_range_is_valid(const zlex_spec *r)
{
    int c = lex_bound_cmp(r);
    return !(c > 0 || (c == 0 && (r->minex || r->maxex)));
}

static int node_lex_gte_min(const zsl_node *n, const zlex_spec *r)
{
    return zsl_lex_gte_min(zsl_node_ele(n), zsl_node_len(n), r);
}

static int node_lex_lte_max(const zsl_node *n, const zlex_spec *r)
{
    return zsl_lex_lte_max(zsl_node_ele(n), zsl_node_len(n), r);
}

static int lex_range_overlaps(const zskiplist *zsl, const zlex_spec *r)
{
    if (!zsl_lex_range_is_valid(r)) return 0;
    const zsl_node *x = zsl->tail;
    if (!x || !node_lex_gte_min(x, r)) return 0;
    x = zsl->header->level[0].forward;
    return x && node_lex_lte_max(x, r);
}

zsl_node *zsl_first_in_lex_range(zskiplist *zsl, const zlex_spec *r)
{
    if (!lex_range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        zsl_node *f;
        while ((f = x->level[i].forward) && !node_lex_gte_min(f, r))
            x = f;
    }
    x = x->level[0].forward;
    return node_lex_lte_max(x, r) ? x : NULL;
}

zsl_node *zsl_last_in_lex_range(zskiplist *zsl, const zlex_spec *r)
{
    if (!lex_range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        zsl_node *f;
        while ((f = x->level[i].forward) && node_lex_lte_max(f, r))
            x = f;
    }
    return node_lex_gte_min(x, r) ? x : NULL;
}

/* ---------------------------------------------------------------------------
 * Range deletions
 * ------------------------------------------------------------------------ */

/* Delete from x on while keep(x) holds.  update[] stays valid throughout:
 * its nodes all come before the deleted ones. */
typedef int (*keep_fn)(const zsl_node *x, const void *spec, unsigned long rank);

static unsigned long delete_run(zskiplist *zsl, zsl_node **update, zsl_node *x, unsigned long rank,
                                keep_fn in_range, const void *spec, zsl_delete_fn fn, void *priv)
{
    unsigned long removed = 0;
    while (x && in_range(x, spec, rank)) {
        zsl_node *next = x->level[0].forward;
        unlink_node(zsl, x, update);
        if (fn) fn(priv, x);
        node_free(x);
        removed++;
        rank++;
        x = next;
    }
    return removed;
}

static int score_lte_max(const zsl_node *x, const void *spec, unsigned long rank)
{
    (void)rank;
    return zsl_value_lte_max(x->score, spec);
}

static int lex_lte_max(const zsl_node *x, const void *spec, unsigned long rank)
{
    (void)rank;
    return node_lex_lte_max(x, spec);
}

static int rank_lte_end(const zsl_node *x, const void *spec, unsigned long rank)
{
    (void)x;
    return rank <= *(const unsigned long *)spec;
}

unsigned long zsl_delete_range_by_score(zskiplist *zsl, const zrange_spec *r, zsl_delete_fn fn,
                                        void *priv)
{
    zsl_node *update[ZSL_MAX_LEVEL], *x = zsl->header;
    if (!zsl_range_is_valid(r)) return 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !zsl_value_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_run(zsl, update, x->level[0].forward, 0, score_lte_max, r, fn, priv);
}

unsigned long zsl_delete_range_by_lex(zskiplist *zsl, const zlex_spec *r, zsl_delete_fn fn,
                                      void *priv)
{
    zsl_node *update[ZSL_MAX_LEVEL], *x = zsl->header;
    if (!zsl_lex_range_is_valid(r)) return 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        zsl_node *f;
        while ((f = x->level[i].forward) && !node_lex_gte_min(f, r))
            x = f;
        update[i] = x;
    }
    return delete_run(zsl, update, x->level[0].forward, 0, lex_lte_max, r, fn, priv);
}

unsigned long zsl_delete_range_by_rank(zskiplist *zsl, unsigned long start, unsigned long end,
                                       zsl_delete_fn fn, void *priv)
{
    zsl_node *update[ZSL_MAX_LEVEL], *x = zsl->header;
    unsigned long traversed = 0;
    if (start == 0 || start > end) return 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    return delete_run(zsl, update, x->level[0].forward, traversed + 1, rank_lte_end, &end, fn,
                      priv);
}

/* ---------------------------------------------------------------------------
 * Copy
 * ------------------------------------------------------------------------ */

zskiplist *zsl_dup(const zskiplist *src, void (*fn)(void *priv, zsl_node *node), void *priv)
{
    zskiplist *dst = zsl_create();
    zsl_node *last[ZSL_MAX_LEVEL];         /* newest copied node at each level */
    const zsl_node *expect[ZSL_MAX_LEVEL]; /* next source node at each level */
    for (int i = 0; i < ZSL_MAX_LEVEL; i++) {
        last[i] = dst->header;
        expect[i] = src->header->level[i].forward;
        dst->header->level[i].span = src->header->level[i].span;
    }
    dst->level = src->level;

    zsl_node *prev = NULL;
    for (const zsl_node *x = src->header->level[0].forward; x; x = x->level[0].forward) {
        /* x's height: the levels whose chain reaches it next. */
        int h = 0;
        while (h < ZSL_MAX_LEVEL && expect[h] == x)
            h++;
        zsl_node *n = node_create(h, x->score, zsl_node_ele(x), zsl_node_len(x));
        for (int i = 0; i < h; i++) {
            last[i]->level[i].forward = n;
            n->level[i].span = x->level[i].span;
            last[i] = n;
            expect[i] = x->level[i].forward;
        }
        n->backward = prev;
        prev = n;
        if (fn) fn(priv, n);
    }
    dst->tail = prev;
    dst->length = src->length;
    return dst;
}
