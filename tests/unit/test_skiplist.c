/* test_skiplist.c -- the skiplist against a sorted-array model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/skiplist.h"
#include "test.h"

/* ---------------------------------------------------------------------------
 * A sorted-array model
 * ------------------------------------------------------------------------ */

typedef struct melem {
    double score;
    char ele[16];
    size_t len;
} melem;

typedef struct model {
    melem *v;
    size_t n, cap;
} model;

static int melem_cmp(const melem *a, double score, const char *ele, size_t len)
{
    if (a->score < score) return -1;
    if (a->score > score) return 1;
    return zsl_cmp_members(a->ele, a->len, ele, len);
}

/* Index where (score, ele) is or would go. */
static size_t model_pos(const model *m, double score, const char *ele, size_t len)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (melem_cmp(&m->v[mid], score, ele, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void model_insert(model *m, double score, const char *ele, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof(*m->v));
    }
    size_t i = model_pos(m, score, ele, len);
    memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
    m->v[i].score = score;
    memcpy(m->v[i].ele, ele, len);
    m->v[i].len = len;
    m->n++;
}

static void model_remove_at(model *m, size_t i)
{
    memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
    m->n--;
}

/* Index of member ele (any score), or -1. */
static long model_find_member(const model *m, const char *ele, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].len == len && memcmp(m->v[i].ele, ele, len) == 0) return (long)i;
    return -1;
}

/* ---------------------------------------------------------------------------
 * Structure checks
 * ------------------------------------------------------------------------ */

/* Rank of node n by walking level 0 (header = 0). */
static unsigned long walk_rank(const zskiplist *zsl, const zsl_node *n)
{
    unsigned long r = 0;
    for (const zsl_node *x = zsl->header; x; x = x->level[0].forward, r++)
        if (x == n) return r;
    return (unsigned long)-1;
}

/* Every invariant of the list, and its contents equal to the model. */
static int check_list(const zskiplist *zsl, const model *m)
{
    if (zsl->length != m->n) return 0;
    if (zsl->level < 1 || zsl->level > ZSL_MAX_LEVEL) return 0;
    /* Level 0: order, contents, backward links, tail. */
    const zsl_node *prev = NULL;
    size_t i = 0;
    for (const zsl_node *x = zsl->header->level[0].forward; x; x = x->level[0].forward, i++) {
        if (i >= m->n) return 0;
        if (x->score != m->v[i].score) return 0;
        if (zsl_node_len(x) != m->v[i].len || memcmp(zsl_node_ele(x), m->v[i].ele, m->v[i].len))
            return 0;
        if (zsl_node_ele(x)[zsl_node_len(x)] != '\0') return 0;
        if ((uintptr_t)x % 8) return 0;
        if (x->backward != prev) return 0;
        prev = x;
    }
    if (i != m->n || zsl->tail != prev) return 0;
    /* Higher levels: each pointer's span is the rank distance it jumps. */
    for (int l = 0; l < zsl->level; l++) {
        const zsl_node *x = zsl->header;
        unsigned long rx = 0;
        while (x) {
            const zsl_node *f = x->level[l].forward;
            unsigned long rf = f ? walk_rank(zsl, f) : zsl->length;
            if (f && rf <= rx) return 0;
            if (x->level[l].span != rf - rx) return 0;
            x = f;
            rx = rf;
        }
    }
    /* The top level is in use (unless the list is empty). */
    if (zsl->length && zsl->level > 1 && !zsl->header->level[zsl->level - 1].forward) return 0;
    return 1;
}

static void make_member(crand *r, char *buf, size_t *len, int alphabet)
{
    *len = 1 + crand_below(r, 6);
    for (size_t i = 0; i < *len; i++)
        buf[i] = (char)('a' + crand_below(r, (uint64_t)alphabet));
}

/* ---------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

static void test_empty(void)
{
    zskiplist *zsl = zsl_create();
    model m = {0};
    CHECK(check_list(zsl, &m));
    CHECK(zsl_get_by_rank(zsl, 1) == NULL);
    CHECK(zsl_get_by_rank(zsl, 0) == NULL);
    CHECK_EQ_LL(zsl_get_rank(zsl, 1, "a", 1), 0);
    zrange_spec all = {-INFINITY, INFINITY, 0, 0};
    CHECK(zsl_first_in_range(zsl, &all) == NULL);
    CHECK(zsl_last_in_range(zsl, &all) == NULL);
    zsl_free(zsl);
}

static void test_insert_delete_against_model(void)
{
    crand r;
    crand_seed(&r, 12345);
    zskiplist *zsl = zsl_create();
    model m = {0};
    for (int step = 0; step < 4000; step++) {
        char ele[16];
        size_t len;
        make_member(&r, ele, &len, 4);
        double score = (double)crand_below(&r, 20) - 10;
        long at = model_find_member(&m, ele, len);
        uint64_t op = crand_below(&r, 3);
        if (at < 0) {
            zsl_node *n = zsl_insert(zsl, score, ele, len, &r);
            REQUIRE(n && n->score == score && zsl_node_len(n) == len);
            model_insert(&m, score, ele, len);
        } else if (op == 0) {
            melem e = m.v[at];
            zsl_node *n = zsl_get_by_rank(zsl, (unsigned long)at + 1);
            REQUIRE(n && zsl_node_len(n) == e.len && memcmp(zsl_node_ele(n), e.ele, e.len) == 0);
            zsl_delete_node(zsl, n);
            REQUIRE(zsl_get_rank(zsl, e.score, e.ele, e.len) == 0);
            model_remove_at(&m, (size_t)at);
        } else {
            /* Update the score of the member, in place or moved. */
            melem e = m.v[at];
            zsl_node *n = zsl_get_by_rank(zsl, (unsigned long)at + 1);
            REQUIRE(n && zsl_node_len(n) == e.len && memcmp(zsl_node_ele(n), e.ele, e.len) == 0);
            zsl_update_score(zsl, n, score);
            REQUIRE(n->score == score); /* the same node, moved */
            model_remove_at(&m, (size_t)at);
            model_insert(&m, score, e.ele, e.len);
        }
        if (step % 50 == 0) REQUIRE(check_list(zsl, &m));
    }
    REQUIRE(check_list(zsl, &m));
    /* Ranks both ways. */
    for (size_t i = 0; i < m.n; i++) {
        REQUIRE(zsl_get_rank(zsl, m.v[i].score, m.v[i].ele, m.v[i].len) == i + 1);
        zsl_node *n = zsl_get_by_rank(zsl, i + 1);
        REQUIRE(n && n->score == m.v[i].score);
    }
    CHECK(zsl_get_by_rank(zsl, m.n + 1) == NULL);
    CHECK_EQ_LL(zsl_get_rank(zsl, 1000, "zzz", 3), 0);
    free(m.v);
    zsl_free(zsl);
}

static void test_update_in_place_and_ties(void)
{
    crand r;
    crand_seed(&r, 7);
    zskiplist *zsl = zsl_create();
    model m = {0};
    zsl_node *b = NULL;
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        zsl_node *n = zsl_insert(zsl, 1.0, names[i], 1, &r);
        model_insert(&m, 1.0, names[i], 1);
        if (i == 1) b = n;
    }
    CHECK(check_list(zsl, &m));
    /* Same score, members decide: b is rank 2. */
    CHECK_EQ_LL(zsl_get_rank(zsl, 1.0, "b", 1), 2);
    /* Moving b to the end and back keeps the node and the string. */
    const char *ele = zsl_node_ele(b);
    zsl_update_score(zsl, b, 5.0);
    CHECK(zsl_node_ele(b) == ele && zsl->tail == b);
    CHECK_EQ_LL(zsl_get_rank(zsl, 5.0, "b", 1), 4);
    zsl_update_score(zsl, b, -5.0);
    CHECK(zsl_first(zsl) == b);
    zsl_update_score(zsl, b, -4.0); /* still first: updated in place */
    CHECK(zsl_first(zsl) == b && b->score == -4.0);
    model_remove_at(&m, 1);
    model_insert(&m, -4.0, "b", 1);
    CHECK(check_list(zsl, &m));
    free(m.v);
    zsl_free(zsl);
}

/* First/last index in the model whose score is in range, or -1. */
static long model_first_in_range(const model *m, const zrange_spec *s)
{
    for (size_t i = 0; i < m->n; i++)
        if (zsl_value_gte_min(m->v[i].score, s) && zsl_value_lte_max(m->v[i].score, s))
            return (long)i;
    return -1;
}

static long model_last_in_range(const model *m, const zrange_spec *s)
{
    for (size_t i = m->n; i-- > 0;)
        if (zsl_value_gte_min(m->v[i].score, s) && zsl_value_lte_max(m->v[i].score, s))
            return (long)i;
    return -1;
}

static zskiplist *build_random(crand *r, model *m, int n, int alphabet, int scores)
{
    zskiplist *zsl = zsl_create();
    while ((int)m->n < n) {
        char ele[16];
        size_t len;
        make_member(r, ele, &len, alphabet);
        if (model_find_member(m, ele, len) >= 0) continue;
        double score = scores ? (double)crand_below(r, (uint64_t)scores) : 0;
        zsl_insert(zsl, score, ele, len, r);
        model_insert(m, score, ele, len);
    }
    return zsl;
}

static void test_score_ranges(void)
{
    crand r;
    crand_seed(&r, 99);
    model m = {0};
    zskiplist *zsl = build_random(&r, &m, 300, 6, 40);
    REQUIRE(check_list(zsl, &m));
    for (int t = 0; t < 2000; t++) {
        zrange_spec s = {(double)crand_below(&r, 44) - 2, (double)crand_below(&r, 44) - 2,
                         (int)crand_below(&r, 2), (int)crand_below(&r, 2)};
        if (t % 17 == 0) s.min = -INFINITY;
        if (t % 19 == 0) s.max = INFINITY;
        long fi = model_first_in_range(&m, &s), li = model_last_in_range(&m, &s);
        zsl_node *f = zsl_first_in_range(zsl, &s), *l = zsl_last_in_range(zsl, &s);
        REQUIRE((fi < 0) == (f == NULL));
        REQUIRE((li < 0) == (l == NULL));
        if (f) REQUIRE(walk_rank(zsl, f) == (unsigned long)fi + 1);
        if (l) REQUIRE(walk_rank(zsl, l) == (unsigned long)li + 1);
    }
    free(m.v);
    zsl_free(zsl);
}

static int model_in_lex(const melem *e, const zlex_spec *s)
{
    return zsl_lex_gte_min(e->ele, e->len, s) && zsl_lex_lte_max(e->ele, e->len, s);
}

static void random_lex_spec(crand *r, zlex_spec *s, char *minbuf, char *maxbuf)
{
    size_t a, b;
    make_member(r, minbuf, &a, 4);
    make_member(r, maxbuf, &b, 4);
    s->min = minbuf;
    s->minlen = a;
    s->max = maxbuf;
    s->maxlen = b;
    s->minex = (int)crand_below(r, 2);
    s->maxex = (int)crand_below(r, 2);
    s->minkind = s->maxkind = ZLEX_VALUE;
    uint64_t k = crand_below(r, 10);
    if (k == 0) s->minkind = ZLEX_NEG_INF;
    if (k == 1) s->maxkind = ZLEX_POS_INF;
    if (k == 2) s->minkind = ZLEX_POS_INF; /* always empty */
    if (k == 3) s->maxkind = ZLEX_NEG_INF; /* always empty */
}

static void test_lex_ranges(void)
{
    crand r;
    crand_seed(&r, 4242);
    model m = {0};
    zskiplist *zsl = build_random(&r, &m, 400, 4, 0); /* one score: pure lex order */
    REQUIRE(check_list(zsl, &m));
    for (int t = 0; t < 2000; t++) {
        char a[16], b[16];
        zlex_spec s;
        random_lex_spec(&r, &s, a, b);
        long fi = -1, li = -1;
        for (size_t i = 0; i < m.n; i++) {
            if (!model_in_lex(&m.v[i], &s)) continue;
            if (fi < 0) fi = (long)i;
            li = (long)i;
        }
        if (!zsl_lex_range_is_valid(&s)) REQUIRE(fi < 0);
        zsl_node *f = zsl_first_in_lex_range(zsl, &s), *l = zsl_last_in_lex_range(zsl, &s);
        REQUIRE((fi < 0) == (f == NULL));
        REQUIRE((li < 0) == (l == NULL));
        if (f) REQUIRE(walk_rank(zsl, f) == (unsigned long)fi + 1);
        if (l) REQUIRE(walk_rank(zsl, l) == (unsigned long)li + 1);
    }
    free(m.v);
    zsl_free(zsl);
}

static void count_deleted(void *priv, zsl_node *n)
{
    (void)n;
    (*(unsigned long *)priv)++;
}

static void test_delete_ranges(void)
{
    crand r;
    crand_seed(&r, 31337);
    for (int round = 0; round < 60; round++) {
        model m = {0};
        zskiplist *zsl = build_random(&r, &m, 1 + (int)crand_below(&r, 200), 6, 30);
        unsigned long seen = 0, removed = 0, expect = 0;
        int kind = round % 3;
        if (kind == 0) {
            zrange_spec s = {(double)crand_below(&r, 34) - 2, (double)crand_below(&r, 34) - 2,
                             (int)crand_below(&r, 2), (int)crand_below(&r, 2)};
            for (size_t i = m.n; i-- > 0;)
                if (zsl_value_gte_min(m.v[i].score, &s) && zsl_value_lte_max(m.v[i].score, &s))
                    model_remove_at(&m, i), expect++;
            removed = zsl_delete_range_by_score(zsl, &s, count_deleted, &seen);
        } else if (kind == 1) {
            char a[16], b[16];
            zlex_spec s;
            random_lex_spec(&r, &s, a, b);
            /* Lex ranges assume one score; make it so. */
            zsl_free(zsl);
            free(m.v);
            m = (model){0};
            zsl = build_random(&r, &m, 1 + (int)crand_below(&r, 200), 4, 0);
            for (size_t i = m.n; i-- > 0;)
                if (model_in_lex(&m.v[i], &s)) model_remove_at(&m, i), expect++;
            removed = zsl_delete_range_by_lex(zsl, &s, count_deleted, &seen);
        } else {
            unsigned long start = 1 + crand_below(&r, m.n + 2);
            unsigned long end = start + crand_below(&r, 50);
            for (unsigned long k = end; k >= start; k--)
                if (k <= m.n) model_remove_at(&m, k - 1), expect++;
            removed = zsl_delete_range_by_rank(zsl, start, end, count_deleted, &seen);
        }
        REQUIRE(removed == expect);
        REQUIRE(seen == expect);
        REQUIRE(check_list(zsl, &m));
        free(m.v);
        zsl_free(zsl);
    }
}

static void test_random_levels(void)
{
    crand r;
    crand_seed(&r, 1);
    long counts[ZSL_MAX_LEVEL + 1] = {0};
    const long n = 200000;
    for (long i = 0; i < n; i++) {
        int l = zsl_random_level(&r);
        REQUIRE(l >= 1 && l <= ZSL_MAX_LEVEL);
        counts[l]++;
    }
    /* P(level >= 2) = 1/4, P(level >= 3) = 1/16. */
    long ge2 = n - counts[1], ge3 = ge2 - counts[2];
    CHECK(ge2 > n / 4 - n / 50 && ge2 < n / 4 + n / 50);
    CHECK(ge3 > n / 16 - n / 100 && ge3 < n / 16 + n / 100);

    /* The same seed gives the same shape. */
    crand a, b;
    crand_seed(&a, 77);
    crand_seed(&b, 77);
    for (int i = 0; i < 1000; i++)
        REQUIRE(zsl_random_level(&a) == zsl_random_level(&b));
}

static void collect(void *priv, zsl_node *n)
{
    zsl_node ***out = priv;
    *(*out)++ = n;
}

static void test_dup_is_identical(void)
{
    crand r;
    crand_seed(&r, 555);
    model m = {0};
    zskiplist *src = build_random(&r, &m, 500, 8, 50);
    /* Delete some so that the level may have shrunk. */
    for (int i = 0; i < 100; i++) {
        size_t at = crand_below(&r, m.n);
        zsl_delete_node(src, zsl_get_by_rank(src, at + 1));
        model_remove_at(&m, at);
    }
    zsl_node **nodes = malloc(sizeof(*nodes) * m.n), **p = nodes;
    zskiplist *dst = zsl_dup(src, collect, &p);
    REQUIRE(check_list(dst, &m));
    REQUIRE(dst->level == src->level);
    REQUIRE((size_t)(p - nodes) == m.n);
    /* Node for node: the same height and spans. */
    const zsl_node *a = zsl_first(src), *b = zsl_first(dst);
    for (size_t i = 0; i < m.n; i++, a = zsl_next(a), b = zsl_next(b)) {
        REQUIRE(nodes[i] == b);
        REQUIRE(zsl_node_ele(a) != zsl_node_ele(b) && a->score == b->score);
    }
    for (int l = 0; l < src->level; l++) {
        const zsl_node *x = src->header, *y = dst->header;
        while (x) {
            REQUIRE(x->level[l].span == y->level[l].span);
            REQUIRE((x->level[l].forward == NULL) == (y->level[l].forward == NULL));
            x = x->level[l].forward;
            y = y->level[l].forward;
        }
    }
    free(nodes);
    free(m.v);
    zsl_free(src);
    zsl_free(dst);

    zskiplist *empty = zsl_create(), *copy = zsl_dup(empty, NULL, NULL);
    CHECK(copy->length == 0 && copy->tail == NULL && zsl_first(copy) == NULL);
    zsl_free(empty);
    zsl_free(copy);
}

static void test_binary_members_and_order(void)
{
    crand r;
    crand_seed(&r, 3);
    zskiplist *zsl = zsl_create();
    /* "a" < "a\0" < "ab" < "b": memcmp then length, NUL bytes included. */
    zsl_insert(zsl, 0, "b", 1, &r);
    zsl_insert(zsl, 0, "a\0", 2, &r);
    zsl_insert(zsl, 0, "ab", 2, &r);
    zsl_insert(zsl, 0, "a", 1, &r);
    zsl_insert(zsl, 0, "", 0, &r);
    zsl_insert(zsl, -INFINITY, "z", 1, &r);
    zsl_insert(zsl, INFINITY, "", 0, &r);
    const char *want[] = {"z", "", "a", "a\0", "ab", "b", ""};
    size_t wlen[] = {1, 0, 1, 2, 2, 1, 0};
    zsl_node *n = zsl_first(zsl);
    for (int i = 0; i < 7; i++, n = zsl_next(n)) {
        REQUIRE(n);
        CHECK(zsl_node_len(n) == wlen[i] && memcmp(zsl_node_ele(n), want[i], wlen[i]) == 0);
    }
    CHECK(n == NULL);
    CHECK_EQ_LL(zsl_get_rank(zsl, 0, "a\0", 2), 4);
    CHECK_EQ_LL(zsl_get_rank(zsl, INFINITY, "", 0), 7);
    CHECK_EQ_LL(zsl_get_rank(zsl, 0, "a\0\0", 3), 0);
    zsl_free(zsl);
}

/* Members of every length around the 8-byte padding steps, and long ones:
 * the bytes, the NUL and the node's alignment survive inserts, moves and
 * copies. */
static void test_member_lengths(void)
{
    crand r;
    crand_seed(&r, 8);
    zskiplist *zsl = zsl_create();
    model m = {0};
    char ele[300];
    for (size_t len = 0; len < sizeof(ele); len += len < 40 ? 1 : 37) {
        for (size_t i = 0; i < len; i++)
            ele[i] = (char)(len + i * 7);
        if (len < sizeof(m.v[0].ele)) model_insert(&m, (double)len, ele, len);
        zsl_node *n = zsl_insert(zsl, (double)len, ele, len, &r);
        REQUIRE((uintptr_t)n % 8 == 0);
        REQUIRE(zsl_node_len(n) == len && memcmp(zsl_node_ele(n), ele, len) == 0);
        REQUIRE(zsl_node_ele(n)[len] == '\0');
        zsl_update_score(zsl, n, -(double)len);
        REQUIRE(zsl_node_len(n) == len && memcmp(zsl_node_ele(n), ele, len) == 0);
        if (len >= sizeof(m.v[0].ele))
            zsl_delete_node(zsl, n);
        else
            zsl_update_score(zsl, n, (double)len);
    }
    REQUIRE(check_list(zsl, &m));
    zskiplist *copy = zsl_dup(zsl, NULL, NULL);
    REQUIRE(check_list(copy, &m));
    free(m.v);
    zsl_free(copy);
    zsl_free(zsl);
}

int main(void)
{
    TEST(test_empty);
    TEST(test_insert_delete_against_model);
    TEST(test_update_in_place_and_ties);
    TEST(test_score_ranges);
    TEST(test_lex_ranges);
    TEST(test_delete_ranges);
    TEST(test_random_levels);
    TEST(test_dup_is_identical);
    TEST(test_binary_members_and_order);
    TEST(test_member_lengths);
    return TEST_REPORT();
}
