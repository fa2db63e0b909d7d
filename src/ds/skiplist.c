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

static size_t node_levels_size(int level)
{
    return sizeof(zsl_node) + (size_t)level * sizeof(struct zsl_level);
}

size_t zsl_node_size(int level, size_t len)
{
    return node_levels_size(level) + sizeof(dstr_hdr) + len + 1;
}

/* One allocation: the node, its levels, then a dstr header and the member
 * bytes.  The header node has no member. */
static zsl_node *node_create(int level, double score, const char *ele, size_t len)
{
    size_t base = node_levels_size(level);
    zsl_node *n;
    if (!ele) {
        n = cm_malloc(base);
        n->ele = NULL;
    } else {
        n = cm_malloc(zsl_node_size(level, len));
        dstr_hdr *h = (dstr_hdr *)((char *)n + base);
        h->len = (uint32_t)len;
        h->cap = (uint32_t)len;
        char *s = (char *)(h + 1);
        if (len) memcpy(s, ele, len);
        s[len] = '\0';
        n->ele = s;
    }
    n->score = score;
    n->backward = NULL;
    for (int i = 0; i < level; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    return n;
}

zskiplist *zsl_create(void)
{
    zskiplist *zsl = cm_malloc(sizeof(*zsl));
    zsl->header = node_create(ZSL_MAX_LEVEL, 0, NULL, 0);
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
        cm_free(n);
        n = next;
    }
    cm_free(zsl->header);
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

/* Does n come strictly before (score, ele)? */
static int node_before(const zsl_node *n, double score, const char *ele, size_t len)
{
    return n->score < score ||
           (n->score == score && zsl_cmp_members(n->ele, dstr_len(n->ele), ele, len) < 0);
}

/* ---------------------------------------------------------------------------
 * Insert, delete, update
 * ------------------------------------------------------------------------ */

/* Link node x (its score and member set, `level` levels) into place. */
static void link_node(zskiplist *zsl, zsl_node *x, int level)
{
    zsl_node *update[ZSL_MAX_LEVEL], *n = zsl->header;
    unsigned long rank[ZSL_MAX_LEVEL];
    size_t len = dstr_len(x->ele);

    for (int i = zsl->level - 1; i >= 0; i--) {
        /* rank[i] is the rank of update[i]: what was crossed to reach it. */
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (n->level[i].forward && node_before(n->level[i].forward, x->score, x->ele, len)) {
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
    return x && x->score == score && zsl_cmp_members(x->ele, dstr_len(x->ele), ele, len) == 0;
}

int zsl_delete(zskiplist *zsl, double score, const char *ele, size_t len)
{
    zsl_node *update[ZSL_MAX_LEVEL];
    zsl_node *x = find_update(zsl, score, ele, len, update);
    if (!same_element(x, score, ele, len)) return 0;
    unlink_node(zsl, x, update);
    cm_free(x);
    return 1;
}

void zsl_update_score(zskiplist *zsl, zsl_node *node, double newscore)
{
    zsl_node *update[ZSL_MAX_LEVEL];
    zsl_node *x = find_update(zsl, node->score, node->ele, dstr_len(node->ele), update);
    if (x != node) return; /* not in this list: a caller bug, do no harm */

    /* Still between its neighbours: only the score changes. */
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (x->level[0].forward == NULL || x->level[0].forward->score > newscore)) {
        x->score = newscore;
        return;
    }
    /* Otherwise move it, keeping its height: the levels it occupies are
     * exactly those where its predecessor points at it. */
    int height = 0;
    while (height < zsl->level && update[height]->level[height].forward == x)
        height++;
    unlink_node(zsl, x, update);
    x->score = newscore;
    link_node(zsl, x, height);
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
        if (x->ele && same_element(x, score, ele, len)) return rank;
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

static int lex_range_overlaps(const zskiplist *zsl, const zlex_spec *r)
{
    if (!zsl_lex_range_is_valid(r)) return 0;
    const zsl_node *x = zsl->tail;
    if (!x || !zsl_lex_gte_min(x->ele, dstr_len(x->ele), r)) return 0;
    x = zsl->header->level[0].forward;
    return x && zsl_lex_lte_max(x->ele, dstr_len(x->ele), r);
}

zsl_node *zsl_first_in_lex_range(zskiplist *zsl, const zlex_spec *r)
{
    if (!lex_range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        zsl_node *f;
        while ((f = x->level[i].forward) && !zsl_lex_gte_min(f->ele, dstr_len(f->ele), r))
            x = f;
    }
    x = x->level[0].forward;
    return zsl_lex_lte_max(x->ele, dstr_len(x->ele), r) ? x : NULL;
}

zsl_node *zsl_last_in_lex_range(zskiplist *zsl, const zlex_spec *r)
{
    if (!lex_range_overlaps(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        zsl_node *f;
        while ((f = x->level[i].forward) && zsl_lex_lte_max(f->ele, dstr_len(f->ele), r))
            x = f;
    }
    return zsl_lex_gte_min(x->ele, dstr_len(x->ele), r) ? x : NULL;
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
        cm_free(x);
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
    return zsl_lex_lte_max(x->ele, dstr_len(x->ele), spec);
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
        while ((f = x->level[i].forward) && !zsl_lex_gte_min(f->ele, dstr_len(f->ele), r))
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
        zsl_node *n = node_create(h, x->score, x->ele, dstr_len(x->ele));
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
