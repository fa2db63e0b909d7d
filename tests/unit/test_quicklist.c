/* Unit tests of the quicklist (src/ds/quicklist.c) and of the list type's
 * encodings as the engine drives them: pushes and pops at both ends across
 * node boundaries, inserts and deletes in the middle (node splits and
 * merges), index lookups, iteration both ways, replacing, range deletes,
 * a randomized comparison with an array model, and the listpack <->
 * quicklist conversions at the exact size boundaries. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "ds/quicklist.h"
#include "ds/rand.h"
#include "engine/cmd.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* The value of an entry as a NUL-terminated string in buf. */
static const char *entry_str(const ql_entry *e, char *buf, size_t size)
{
    char tmp[32];
    size_t len;
    const char *s = lp_value_str(&e->v, tmp, &len);
    if (len >= size) len = size - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

static void push_int(quicklist *ql, int where, long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "v%ld", v);
    ql_push(ql, where, buf, (size_t)n);
}

/* Does ql hold exactly the strings "v<model[i]>" in order, both ways? */
static int matches_model(quicklist *ql, const long *model, long n)
{
    if (!ql_check(ql) || (long)ql_count(ql) != n) return 0;
    for (int dir = QL_FORWARD; dir <= QL_BACKWARD; dir++) {
        ql_iter it;
        ql_entry e;
        ql_iter_init(&it, ql, dir == QL_FORWARD ? 0 : -1, dir);
        long i = 0;
        while (ql_next(&it, &e)) {
            long want = model[dir == QL_FORWARD ? i : n - 1 - i];
            char buf[64], exp[32];
            snprintf(exp, sizeof(exp), "v%ld", want);
            if (strcmp(entry_str(&e, buf, sizeof(buf)), exp) != 0) return 0;
            i++;
        }
        if (i != n) return 0;
    }
    return 1;
}

/* Every node within the limits of fill (a single entry may exceed). */
static int nodes_within_limits(const quicklist *ql)
{
    size_t sz;
    unsigned int count;
    ql_node_limit(ql->fill, &sz, &count);
    for (const ql_node *n = ql->head; n; n = n->next) {
        if (n->count > 1 && (lp_bytes(n->lp) > sz || n->count > count)) return 0;
        if (n->count > 1 && ql->fill >= 0 && lp_bytes(n->lp) > 8192) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

static void test_node_limits(void)
{
    size_t sz;
    unsigned int count;
    ql_node_limit(-1, &sz, &count);
    CHECK_EQ_LL(sz, 4096);
    CHECK(count == UINT_MAX);
    ql_node_limit(-2, &sz, &count);
    CHECK_EQ_LL(sz, 8192);
    ql_node_limit(-5, &sz, &count);
    CHECK_EQ_LL(sz, 65536);
    /* Past -5 the largest level applies. */
    ql_node_limit(-100, &sz, &count);
    CHECK_EQ_LL(sz, 65536);
    ql_node_limit(INT_MIN, &sz, &count);
    CHECK_EQ_LL(sz, 65536);
    ql_node_limit(0, &sz, &count);
    CHECK(sz == SIZE_MAX);
    CHECK_EQ_LL(count, 1);
    ql_node_limit(128, &sz, &count);
    CHECK_EQ_LL(count, 128);

    CHECK(!ql_node_exceeds_limit(-2, 8192, 100000));
    CHECK(ql_node_exceeds_limit(-2, 8193, 1));
    CHECK(!ql_node_exceeds_limit(5, 100, 5));
    CHECK(ql_node_exceeds_limit(5, 100, 6));
    /* A count limit still stops at the 8 KB safety limit. */
    CHECK(!ql_node_exceeds_limit(1000, 8192, 2));
    CHECK(ql_node_exceeds_limit(1000, 8193, 2));
}

/* ---------------------------------------------------------------------------
 * Pushes, pops, iteration, lookup
 * ------------------------------------------------------------------------ */

static void test_push_both_ends(void)
{
    quicklist *ql = ql_create(4, 0);
    long model[200];
    long n = 0;
    /* Tail pushes 100..199, then head pushes 99..0: 0..199 in order. */
    for (long v = 100; v < 200; v++) {
        push_int(ql, QL_TAIL, v);
        model[n++] = v;
    }
    for (long v = 99; v >= 0; v--)
        push_int(ql, QL_HEAD, v);
    for (long i = 0; i < 200; i++)
        model[i] = i;
    n = 200;
    CHECK(matches_model(ql, model, n));
    CHECK(nodes_within_limits(ql));
    /* Pushes at the ends fill nodes completely: 200 / 4. */
    CHECK_EQ_LL(ql->len, 50);
    ql_free(ql);
}

static void test_pop_both_ends_across_nodes(void)
{
    quicklist *ql = ql_create(3, 0);
    for (long v = 0; v < 10; v++)
        push_int(ql, QL_TAIL, v);
    CHECK_EQ_LL(ql->len, 4); /* 3+3+3+1 */
    char buf[32];
    ql_entry e;
    /* Pop the head four times: the first node empties and goes away. */
    for (long v = 0; v < 4; v++) {
        REQUIRE(ql_index(ql, 0, &e));
        char exp[32];
        snprintf(exp, sizeof(exp), "v%ld", v);
        CHECK_STR(entry_str(&e, buf, sizeof(buf)), exp);
        CHECK_EQ_LL(ql_del_range(ql, 0, 1), 1);
    }
    CHECK_EQ_LL(ql->len, 3);
    /* And the tail three times. */
    for (long v = 9; v > 6; v--) {
        REQUIRE(ql_index(ql, -1, &e));
        char exp[32];
        snprintf(exp, sizeof(exp), "v%ld", v);
        CHECK_STR(entry_str(&e, buf, sizeof(buf)), exp);
        CHECK_EQ_LL(ql_del_range(ql, -1, 1), 1);
    }
    long model[] = {4, 5, 6};
    CHECK(matches_model(ql, model, 3));
    CHECK_EQ_LL(ql->len, 2); /* [4 5] [6]: pops never merge nodes */
    ql_del_range(ql, 0, 3);
    CHECK_EQ_LL(ql->len, 0);
    CHECK(ql->head == NULL && ql->tail == NULL);
    CHECK(ql_check(ql));
    ql_free(ql);
}

static void test_index_lookup(void)
{
    quicklist *ql = ql_create(5, 0);
    for (long v = 0; v < 23; v++)
        push_int(ql, QL_TAIL, v);
    char buf[32], exp[32];
    ql_entry e;
    for (long i = -23; i < 23; i++) {
        REQUIRE(ql_index(ql, i, &e));
        snprintf(exp, sizeof(exp), "v%ld", i < 0 ? 23 + i : i);
        CHECK_STR(entry_str(&e, buf, sizeof(buf)), exp);
    }
    CHECK(!ql_index(ql, 23, &e));
    CHECK(!ql_index(ql, -24, &e));
    CHECK(!ql_index(ql, LONG_MIN, &e));
    CHECK(!ql_index(ql, LONG_MAX, &e));
    ql_free(ql);
}

static void test_iterate_from_middle(void)
{
    quicklist *ql = ql_create(4, 0);
    for (long v = 0; v < 17; v++)
        push_int(ql, QL_TAIL, v);
    ql_iter it;
    ql_entry e;
    char buf[32], exp[32];
    long want = 6;
    ql_iter_init(&it, ql, 6, QL_FORWARD);
    while (ql_next(&it, &e)) {
        snprintf(exp, sizeof(exp), "v%ld", want++);
        CHECK_STR(entry_str(&e, buf, sizeof(buf)), exp);
    }
    CHECK_EQ_LL(want, 17);
    want = 9;
    ql_iter_init(&it, ql, -8, QL_BACKWARD);
    while (ql_next(&it, &e)) {
        snprintf(exp, sizeof(exp), "v%ld", want--);
        CHECK_STR(entry_str(&e, buf, sizeof(buf)), exp);
    }
    CHECK_EQ_LL(want, -1);
    /* Out of range: nothing. */
    CHECK(!ql_iter_init(&it, ql, 17, QL_FORWARD));
    CHECK(!ql_next(&it, &e));
    ql_free(ql);
}

/* ---------------------------------------------------------------------------
 * Editing in the middle
 * ------------------------------------------------------------------------ */

/* Delete every entry whose value is divisible by k while iterating in
 * direction dir, and check against the model. */
static void delete_while_iterating(int dir, int fill, long k)
{
    quicklist *ql = ql_create(fill, 0);
    long model[100], n = 0;
    for (long v = 0; v < 100; v++)
        push_int(ql, QL_TAIL, v);
    for (long v = 0; v < 100; v++)
        if (v % k) model[n++] = v;
    ql_iter it;
    ql_entry e;
    ql_iter_init(&it, ql, dir == QL_FORWARD ? 0 : -1, dir);
    long seen = 0;
    while (ql_next(&it, &e)) {
        char buf[32];
        long v = strtol(entry_str(&e, buf, sizeof(buf)) + 1, NULL, 10);
        seen++;
        if (v % k == 0) ql_del_entry(&it, &e);
    }
    CHECK_EQ_LL(seen, 100);
    CHECK(matches_model(ql, model, n));
    ql_free(ql);
}

static void test_delete_while_iterating(void)
{
    int fills[] = {1, 2, 3, 4, 7, -1};
    long ks[] = {1, 2, 3, 5};
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++)
        for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++)
            for (int dir = QL_FORWARD; dir <= QL_BACKWARD; dir++)
                delete_while_iterating(dir, fills[f], ks[k]);
}

/* Insert value v before or after index i, in ql and in the model. */
static void insert_at(quicklist *ql, long *model, long *n, long i, int where, long v)
{
    ql_iter it;
    ql_entry e;
    ql_iter_init(&it, ql, i, QL_FORWARD);
    if (!ql_next(&it, &e)) return;
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "v%ld", v);
    ql_insert(&it, &e, where, buf, (size_t)len);
    long at = where == LP_AFTER ? i + 1 : i;
    memmove(model + at + 1, model + at, sizeof(long) * (size_t)(*n - at));
    model[at] = v;
    (*n)++;
}

static void test_insert_split_merge(void)
{
    /* Full nodes of 4: inserting in the middle splits a node. */
    quicklist *ql = ql_create(4, 0);
    long model[64], n = 0;
    for (long v = 0; v < 8; v++) {
        push_int(ql, QL_TAIL, v);
        model[n++] = v;
    }
    CHECK_EQ_LL(ql->len, 2);
    insert_at(ql, model, &n, 1, LP_AFTER, 100); /* split of the first node */
    CHECK(matches_model(ql, model, n));
    CHECK(nodes_within_limits(ql));
    CHECK_EQ_LL(ql->len, 3);
    insert_at(ql, model, &n, 1, LP_BEFORE, 101);
    CHECK(matches_model(ql, model, n));
    CHECK(nodes_within_limits(ql));
    /* At the end of a full node with room in the next one. */
    ql_free(ql);

    ql = ql_create(4, 0);
    n = 0;
    for (long v = 0; v < 6; v++) {
        push_int(ql, QL_TAIL, v);
        model[n++] = v;
    }
    /* [0 1 2 3] [4 5]: after index 3 goes to the head of the next node. */
    insert_at(ql, model, &n, 3, LP_AFTER, 200);
    CHECK(matches_model(ql, model, n));
    CHECK_EQ_LL(ql->len, 2);
    CHECK_EQ_LL(ql->tail->count, 3);
    /* Before index 0 of a full node without a previous one: a new node. */
    insert_at(ql, model, &n, 0, LP_BEFORE, 201);
    CHECK(matches_model(ql, model, n));
    CHECK_EQ_LL(ql->len, 3);
    CHECK_EQ_LL(ql->head->count, 1);
    /* Before the head entry of the second (full) node: the previous node
     * has room, so it takes the entry. */
    insert_at(ql, model, &n, 1, LP_BEFORE, 202);
    CHECK(matches_model(ql, model, n));
    CHECK_EQ_LL(ql->len, 3);
    CHECK_EQ_LL(ql->head->count, 2);
    CHECK(nodes_within_limits(ql));
    ql_free(ql);

    /* Many inserts in the middle of small nodes: splits then merges keep
     * the list dense. */
    ql = ql_create(8, 0);
    n = 0;
    long big[400];
    for (long v = 0; v < 16; v++) {
        push_int(ql, QL_TAIL, v);
        big[n++] = v;
    }
    for (long v = 1000; v < 1300; v++)
        insert_at(ql, big, &n, (v * 7) % n, v % 2 ? LP_AFTER : LP_BEFORE, v);
    CHECK(matches_model(ql, big, n));
    CHECK(nodes_within_limits(ql));
    /* Merging keeps nodes from being mostly empty. */
    CHECK(ql->len <= (unsigned long)n / 2);
    ql_free(ql);
}

static void test_replace(void)
{
    quicklist *ql = ql_create(-1, 0); /* 4 KB nodes */
    char small[100];
    memset(small, 'a', sizeof(small));
    for (int i = 0; i < 38; i++)
        ql_push(ql, QL_TAIL, small, sizeof(small));
    REQUIRE(ql->len == 1);
    CHECK(lp_bytes(ql->head->lp) <= 4096);

    /* Same size: stays in place. */
    ql_iter it;
    ql_entry e;
    memset(small, 'b', sizeof(small));
    ql_iter_init(&it, ql, 5, QL_FORWARD);
    REQUIRE(ql_next(&it, &e));
    ql_replace_entry(&it, &e, small, sizeof(small));
    CHECK_EQ_LL(ql->len, 1);
    CHECK(ql_index(ql, 5, &e) && e.v.len == 100 && e.v.str[0] == 'b');

    /* A value that overfills the node moves to a node of its own. */
    char big[3000];
    memset(big, 'z', sizeof(big));
    ql_iter_init(&it, ql, 20, QL_FORWARD);
    REQUIRE(ql_next(&it, &e));
    ql_replace_entry(&it, &e, big, sizeof(big));
    CHECK(ql_check(ql));
    CHECK(nodes_within_limits(ql));
    CHECK(ql->len >= 2);
    CHECK_EQ_LL(ql_count(ql), 38);
    CHECK(ql_index(ql, 20, &e) && e.v.len == 3000 && e.v.str[0] == 'z');
    CHECK(ql_index(ql, 19, &e) && e.v.len == 100 && e.v.str[0] == 'a');
    CHECK(ql_index(ql, 21, &e) && e.v.len == 100 && e.v.str[0] == 'a');
    CHECK(ql_index(ql, 5, &e) && e.v.str[0] == 'b');
    ql_free(ql);
}

static void test_del_range(void)
{
    quicklist *ql = ql_create(4, 0);
    long model[40], n = 0;
    for (long v = 0; v < 40; v++) {
        push_int(ql, QL_TAIL, v);
        model[n++] = v;
    }
    /* Across three nodes, starting mid-node. */
    CHECK_EQ_LL(ql_del_range(ql, 6, 9), 9);
    memmove(model + 6, model + 15, sizeof(long) * 25);
    n -= 9;
    CHECK(matches_model(ql, model, n));
    /* Negative start, count past the end: clamped. */
    CHECK_EQ_LL(ql_del_range(ql, -3, 100), 3);
    n -= 3;
    CHECK(matches_model(ql, model, n));
    /* Out of range start deletes nothing. */
    CHECK_EQ_LL(ql_del_range(ql, 100, 1), 0);
    CHECK_EQ_LL(ql_del_range(ql, -100, 1), 0);
    CHECK_EQ_LL(ql_del_range(ql, 0, 0), 0);
    CHECK(matches_model(ql, model, n));
    CHECK_EQ_LL(ql_del_range(ql, 0, (unsigned long)n), n);
    CHECK_EQ_LL(ql_count(ql), 0);
    CHECK(ql_check(ql));
    ql_free(ql);
}

static void test_dup_and_listpack_handover(void)
{
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, "v0", 2);
    lp = lp_append(lp, "v1", 2);
    quicklist *ql = ql_create(3, 0);
    ql_append_listpack(ql, lp);
    push_int(ql, QL_TAIL, 2);
    push_int(ql, QL_TAIL, 3);
    long model[] = {0, 1, 2, 3};
    CHECK(matches_model(ql, model, 4));
    CHECK_EQ_LL(ql->len, 2);

    quicklist *copy = ql_dup(ql);
    ql_del_range(ql, 0, 4);
    CHECK(matches_model(copy, model, 4));
    ql_free(ql);

    ql_del_range(copy, 2, 2);
    REQUIRE(copy->len == 1);
    lp = ql_release_to_listpack(copy);
    CHECK_EQ_LL(lp_length(lp), 2);
    CHECK(lp_equals(lp_first(lp), "v0", 2));
    lp_free(lp);
}

/* Random pushes, pops, inserts, deletes, replaces and range deletes,
 * checked against an array after every step. */
static void random_ops(uint64_t seed, int fill)
{
    crand rng;
    crand_seed(&rng, seed);
    quicklist *ql = ql_create(fill, 0);
    long cap = 4096, n = 0, next = 0;
    long *model = cm_malloc(sizeof(long) * (size_t)cap);
    for (int step = 0; step < 3000; step++) {
        int op = (int)crand_below(&rng, 7);
        if (n + 2 >= cap) op = 3;
        if (op <= 1) {
            int where = op == 0 ? QL_HEAD : QL_TAIL;
            push_int(ql, where, next);
            if (where == QL_HEAD) {
                memmove(model + 1, model, sizeof(long) * (size_t)n);
                model[0] = next;
            } else {
                model[n] = next;
            }
            n++;
            next++;
        } else if (op == 2 && n > 0) {
            long i = (long)crand_below(&rng, (uint64_t)n);
            insert_at(ql, model, &n, i, crand_below(&rng, 2) ? LP_AFTER : LP_BEFORE, next++);
        } else if (op == 3 && n > 0) {
            long i = (long)crand_below(&rng, (uint64_t)n);
            long cnt = 1 + (long)crand_below(&rng, 5);
            if (cnt > n - i) cnt = n - i;
            ql_del_range(ql, i, (unsigned long)cnt);
            memmove(model + i, model + i + cnt, sizeof(long) * (size_t)(n - i - cnt));
            n -= cnt;
        } else if (op == 4 && n > 0) {
            long i = (long)crand_below(&rng, (uint64_t)n);
            ql_iter it;
            ql_entry e;
            ql_iter_init(&it, ql, i - n, QL_BACKWARD);
            if (ql_next(&it, &e)) ql_del_entry(&it, &e);
            memmove(model + i, model + i + 1, sizeof(long) * (size_t)(n - i - 1));
            n--;
        } else if (op == 5 && n > 0) {
            long i = (long)crand_below(&rng, (uint64_t)n);
            ql_iter it;
            ql_entry e;
            ql_iter_init(&it, ql, i, QL_FORWARD);
            if (ql_next(&it, &e)) {
                char buf[32];
                int len = snprintf(buf, sizeof(buf), "v%ld", next);
                ql_replace_entry(&it, &e, buf, (size_t)len);
                model[i] = next++;
            }
        }
        if (!ql_check(ql) || !nodes_within_limits(ql) ||
            (step % 50 == 0 && !matches_model(ql, model, n))) {
            fprintf(stderr, "random_ops seed %llu fill %d: mismatch at step %d\n",
                    (unsigned long long)seed, fill, step);
            test_current_failed = 1;
            break;
        }
    }
    CHECK(matches_model(ql, model, n));
    cm_free(model);
    ql_free(ql);
}

static void test_random_against_model(void)
{
    int fills[] = {1, 2, 5, 16, -1, -2};
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++)
        random_ops(0xC0FFEE + f, fills[f]);
}

/* ---------------------------------------------------------------------------
 * The list type's encodings, through the engine
 * ------------------------------------------------------------------------ */

#define RUN(e, s, ...) run_words_at(e, s, 1000, WORDS(__VA_ARGS__))

static void expect(char *got, const char *want)
{
    CHECK_STR(got, want);
    cm_free(got);
}

static cobj *value_of(cairn_engine *e, const char *key)
{
    cslice k = {key, strlen(key)};
    return db_find(&e->dbs[0], &k);
}

/* RPUSH key with one value of len bytes. */
static char *rpush_len(cairn_engine *e, cairn_session *s, const char *key, size_t len, char ch)
{
    char *val = cm_malloc(len);
    memset(val, ch, len);
    cslice argv[3] = {{"RPUSH", 5}, {key, strlen(key)}, {val, len}};
    char *r = run_argv_at(e, s, 1000, 3, argv);
    cm_free(val);
    return r;
}

static void test_encoding_count_boundary(void)
{
    cairn_engine *e = new_engine(7);
    cairn_session s;
    session_init(e, &s);
    expect(RUN(e, &s, "CONFIG", "SET", "list-max-listpack-size", "4"), "+OK\r\n");
    expect(RUN(e, &s, "RPUSH", "l", "a", "b", "c", "d"), ":4\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$8\r\nlistpack\r\n");
    expect(RUN(e, &s, "RPUSH", "l", "e"), ":5\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$9\r\nquicklist\r\n");
    /* Back to a listpack at one node of at most half the limit (2). */
    expect(RUN(e, &s, "RPOP", "l"), "$1\r\ne\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$9\r\nquicklist\r\n");
    expect(RUN(e, &s, "RPOP", "l"), "$1\r\nd\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$9\r\nquicklist\r\n");
    expect(RUN(e, &s, "RPOP", "l"), "$1\r\nc\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$8\r\nlistpack\r\n");
    expect(RUN(e, &s, "LRANGE", "l", "0", "-1"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    /* A push of several values converts before adding any of them. */
    expect(RUN(e, &s, "RPUSH", "l", "c", "d", "e"), ":5\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$9\r\nquicklist\r\n");
    expect(RUN(e, &s, "LTRIM", "l", "0", "1"), "+OK\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "l"), "$8\r\nlistpack\r\n");
    session_reset(&s);
    engine_free(e);
}

static void test_encoding_size_boundary(void)
{
    cairn_engine *e = new_engine(7);
    cairn_session s;
    session_init(e, &s);
    /* Default -2: a listpack up to 8192 bytes, counting the pushed values
     * by their length. */
    expect(RUN(e, &s, "RPUSH", "l", "x"), ":1\r\n");
    cobj *o = value_of(e, "l");
    REQUIRE(o && o->encoding == ENC_LISTPACK);
    size_t room = 8192 - lp_bytes(o->v.ptr);
    expect(rpush_len(e, &s, "l", room, 'a'), ":2\r\n");
    o = value_of(e, "l");
    CHECK(o->encoding == ENC_LISTPACK);
    /* The listpack is now past 8192 bytes (entry overhead), so any push
     * converts. */
    expect(RUN(e, &s, "RPUSH", "l", "y"), ":3\r\n");
    o = value_of(e, "l");
    CHECK(o->encoding == ENC_QUICKLIST);

    /* Exactly at the limit vs one byte over, on a fresh list. */
    expect(RUN(e, &s, "RPUSH", "m", "x"), ":1\r\n");
    o = value_of(e, "m");
    room = 8192 - lp_bytes(o->v.ptr);
    expect(rpush_len(e, &s, "m", room + 1, 'b'), ":2\r\n");
    CHECK(value_of(e, "m")->encoding == ENC_QUICKLIST);

    /* Shrinking: back to a listpack only at one node of <= 4096 bytes. */
    expect(RUN(e, &s, "DEL", "m"), ":1\r\n");
    for (int i = 0; i < 3; i++)
        expect(rpush_len(e, &s, "m", 3000, 'c'), i == 0 ? ":1\r\n" : i == 1 ? ":2\r\n" : ":3\r\n");
    o = value_of(e, "m");
    REQUIRE(o->encoding == ENC_QUICKLIST);
    expect(RUN(e, &s, "LTRIM", "m", "0", "1"), "+OK\r\n");
    CHECK(value_of(e, "m")->encoding == ENC_QUICKLIST); /* two nodes, ~6 KB */
    expect(RUN(e, &s, "LTRIM", "m", "0", "0"), "+OK\r\n");
    CHECK(value_of(e, "m")->encoding == ENC_LISTPACK);
    session_reset(&s);
    engine_free(e);
}

/* A blocking pop that is served at once is logged as the pop that
 * happened, so replaying the log never blocks. */
static void test_blocking_pop_logged_as_pop(void)
{
    cairn_engine *e = new_engine(7);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);
    expect(RUN(e, &s, "RPUSH", "k2", "a", "b", "c"), ":3\r\n");
    expect(RUN(e, &s, "BLPOP", "k1", "k2", "0"), "*2\r\n$2\r\nk2\r\n$1\r\na\r\n");
    expect(RUN(e, &s, "BLMOVE", "k2", "d", "RIGHT", "LEFT", "0"), "$1\r\nc\r\n");
    expect(RUN(e, &s, "BLMPOP", "0", "2", "k1", "k2", "LEFT", "COUNT", "5"),
           "*2\r\n$2\r\nk2\r\n*1\r\n$1\r\nb\r\n");
    /* Nothing to pop and cannot block (embedded): a null array, no log. */
    expect(RUN(e, &s, "BLPOP", "k1", "0"), "*-1\r\n");
    CHECK_EQ_LL(rec.n, 4);

    const char *want[][6] = {
        {"RPUSH", "k2", "a", "b", "c", NULL},
        {"LPOP", "k2", NULL},
        {"LMOVE", "k2", "d", "RIGHT", "LEFT", NULL},
        {"LMPOP", "1", "k2", "LEFT", "COUNT", "1"},
    };
    size_t off = 0;
    for (int i = 0; i < 4 && off < dstr_len(rec.log); i++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec.log + off, dstr_len(rec.log) - off, &v, &why) == ENTRY_OK);
        int argc = 0;
        while (argc < 6 && want[i][argc])
            argc++;
        CHECK_EQ_LL(v.e.argc, argc);
        for (int j = 0; j < argc && j < v.e.argc; j++)
            CHECK(v.e.argv[j].len == strlen(want[i][j]) &&
                  memcmp(v.e.argv[j].ptr, want[i][j], v.e.argv[j].len) == 0);
        off += v.size;
        entry_view_free(&v);
    }
    session_reset(&s);
    dstr_free(rec.log);
    engine_free(e);
}

/* Decode the log and check each entry's arguments against want (rows of
 * words, NULL-terminated). */
static void check_log(const recorder *rec, const char *const want[][7], int n)
{
    CHECK_EQ_LL(rec->n, n);
    size_t off = 0;
    for (int i = 0; i < n && off < dstr_len(rec->log); i++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec->log + off, dstr_len(rec->log) - off, &v, &why) == ENTRY_OK);
        int argc = 0;
        while (want[i][argc])
            argc++;
        CHECK_EQ_LL(v.e.argc, argc);
        for (int j = 0; j < argc && j < v.e.argc; j++)
            CHECK(v.e.argv[j].len == strlen(want[i][j]) &&
                  memcmp(v.e.argv[j].ptr, want[i][j], v.e.argv[j].len) == 0);
        off += v.size;
        entry_view_free(&v);
    }
}

/* A session parked on a key and served by another session's push: the
 * log holds the push, then the pop that served it, and replaying that log
 * gives the same dataset. */
static void test_served_after_parking_is_logged(void)
{
    cairn_engine *e = new_engine(7);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session waiter, pusher;
    session_init(e, &waiter);
    session_init(e, &pusher);
    rbuf parked;
    rbuf_init(&parked, 2);
    waiter.flags |= SESS_CAN_BLOCK;
    waiter.out = &parked;

    /* Parks: no reply yet. */
    expect(RUN(e, &waiter, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"), "");
    CHECK(waiter.blocked != NULL);
    expect(RUN(e, &pusher, "RPUSH", "src", "a", "b"), ":2\r\n");
    CHECK(waiter.blocked == NULL);
    size_t len;
    char *got = rbuf_flatten(&parked, &len);
    CHECK_STR(got, "$1\r\na\r\n");
    cm_free(got);
    rbuf_reset(&parked);

    expect(RUN(e, &waiter, "BLPOP", "x", "dst", "0"), "*2\r\n$3\r\ndst\r\n$1\r\na\r\n");
    expect(RUN(e, &waiter, "BLMPOP", "0", "1", "y", "RIGHT", "COUNT", "3"), "");
    expect(RUN(e, &pusher, "LPUSH", "y", "1", "2"), ":2\r\n");
    got = rbuf_flatten(&parked, &len);
    CHECK_STR(got, "*2\r\n$1\r\ny\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    cm_free(got);

    const char *const want[][7] = {
        {"RPUSH", "src", "a", "b", NULL},
        {"LMOVE", "src", "dst", "LEFT", "RIGHT", NULL},
        {"LPOP", "dst", NULL},
        {"LPUSH", "y", "1", "2", NULL},
        {"LMPOP", "1", "y", "RIGHT", "COUNT", "2", NULL},
    };
    check_log(&rec, want, 5);
    expect(RUN(e, &pusher, "LRANGE", "src", "0", "-1"), "*1\r\n$1\r\nb\r\n");
    expect(RUN(e, &pusher, "DBSIZE"), ":1\r\n");

    session_reset(&waiter);
    session_reset(&pusher);
    rbuf_free(&parked);
    dstr_free(rec.log);
    engine_free(e);
}

int main(void)
{
    TEST(test_node_limits);
    TEST(test_push_both_ends);
    TEST(test_pop_both_ends_across_nodes);
    TEST(test_index_lookup);
    TEST(test_iterate_from_middle);
    TEST(test_delete_while_iterating);
    TEST(test_insert_split_merge);
    TEST(test_replace);
    TEST(test_del_range);
    TEST(test_dup_and_listpack_handover);
    TEST(test_random_against_model);
    TEST(test_encoding_count_boundary);
    TEST(test_encoding_size_boundary);
    TEST(test_blocking_pop_logged_as_pop);
    TEST(test_served_after_parking_is_logged);
    return TEST_REPORT();
}
