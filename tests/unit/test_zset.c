/* test_zset.c -- the sorted-set type (zset.c) through its API and through
 * the engine: both encodings, conversions at the limits, iteration, copies,
 * determinism of the skiplist shape, and what the blocking pops log. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/t_zset.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

/* ---------------------------------------------------------------------------
 * Harness
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

/* A cmd_call good enough for the type's API outside a command. */
static void fake_call(cmd_call *c, cairn_engine *e, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    c->e = e;
    c->db = &e->dbs[0];
    crand_seed(&c->rng, seed);
}

static void check_log(const recorder *rec, const char *const want[][9], int n)
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
        for (int j = 0; j < argc && j < v.e.argc; j++) {
            if (v.e.argv[j].len != strlen(want[i][j]) ||
                memcmp(v.e.argv[j].ptr, want[i][j], v.e.argv[j].len) != 0) {
                fprintf(stderr, "entry %d arg %d: %.*s != %s\n", i, j, (int)v.e.argv[j].len,
                        v.e.argv[j].ptr, want[i][j]);
                test_current_failed = 1;
            }
        }
        off += v.size;
        entry_view_free(&v);
    }
}

/* ---------------------------------------------------------------------------
 * The type's API
 * ------------------------------------------------------------------------ */

/* Everything readable about a set, in order, as "member=score ...". */
static dstr dump(cobj *z)
{
    dstr s = dstr_new("", 0);
    zset_iter it;
    zset_entry e;
    zset_iter_init(&it, z, 0, 0);
    while (zset_iter_next(&it, &e))
        s = dstr_catfmt(s, "%.*s=%.17g ", (int)e.len, e.ele, e.score);
    return s;
}

static void add(cmd_call *c, cobj *z, double score, const char *m)
{
    int out;
    REQUIRE(zset_add(c, z, score, m, strlen(m), 0, &out, NULL) == 1);
}

static void test_add_flags(void)
{
    cairn_engine *e = new_engine(1);
    cmd_call c;
    fake_call(&c, e, 1);
    for (int enc = 0; enc < 2; enc++) {
        cobj *z = zset_create(&c, 0, 0);
        if (enc) zset_convert_to_skiplist(&c, z);
        int out;
        double ns = 0;
        CHECK(zset_add(&c, z, 1, "a", 1, 0, &out, &ns) == 1 && out == ZADD_OUT_ADDED && ns == 1);
        CHECK(zset_add(&c, z, 1, "a", 1, 0, &out, &ns) == 1 && out == 0);
        CHECK(zset_add(&c, z, 2, "a", 1, ZADD_IN_NX, &out, NULL) == 1 && out == ZADD_OUT_NOP);
        CHECK(zset_add(&c, z, 2, "b", 1, ZADD_IN_XX, &out, NULL) == 1 && out == ZADD_OUT_NOP);
        CHECK(zset_add(&c, z, 0, "a", 1, ZADD_IN_GT, &out, NULL) == 1 && out == ZADD_OUT_NOP);
        CHECK(zset_add(&c, z, 5, "a", 1, ZADD_IN_GT, &out, &ns) == 1 && out == ZADD_OUT_UPDATED &&
              ns == 5);
        CHECK(zset_add(&c, z, 2, "a", 1, ZADD_IN_INCR, &out, &ns) == 1 && ns == 7);
        CHECK(zset_add(&c, z, INFINITY, "a", 1, 0, &out, NULL) == 1);
        CHECK(zset_add(&c, z, -INFINITY, "a", 1, ZADD_IN_INCR, &out, NULL) == 0 &&
              out == ZADD_OUT_NAN);
        CHECK(zset_add(&c, z, NAN, "n", 1, 0, &out, NULL) == 0);
        double s;
        CHECK(zset_score(z, "a", 1, &s) && s == INFINITY);
        CHECK(!zset_score(z, "n", 1, &s));
        CHECK_EQ_LL(zset_length(z), 1);
        CHECK_EQ_LL(z->encoding, enc ? ENC_SKIPLIST : ENC_LISTPACK);
        obj_free(z);
    }
    engine_free(e);
}

/* The same operations on both encodings leave the same contents. */
static void test_encodings_agree(void)
{
    cairn_engine *e = new_engine(2);
    cmd_call c;
    fake_call(&c, e, 2);
    cobj *lp = zset_create(&c, 0, 0), *sl = zset_new_skiplist(&c);
    crand r;
    crand_seed(&r, 99);
    for (int i = 0; i < 3000; i++) {
        char m[8];
        snprintf(m, sizeof(m), "%c%d", 'a' + (int)crand_below(&r, 3), (int)crand_below(&r, 30));
        double score = (double)crand_below(&r, 10) / 2 - 2;
        int op = (int)crand_below(&r, 4);
        if (op == 0) {
            CHECK_EQ_LL(zset_del(lp, m, strlen(m)), zset_del(sl, m, strlen(m)));
        } else {
            int o1, o2;
            double n1 = 0, n2 = 0;
            int f = op == 3 ? ZADD_IN_INCR : 0;
            int r1 = zset_add(&c, lp, score, m, strlen(m), f, &o1, &n1);
            int r2 = zset_add(&c, sl, score, m, strlen(m), f, &o2, &n2);
            CHECK(r1 == r2 && o1 == o2 && n1 == n2);
        }
        /* Keep the listpack a listpack: the test is about both encodings. */
        REQUIRE(lp->encoding == ENC_LISTPACK || zset_length(lp) > 128);
    }
    dstr a = dump(lp), b = dump(sl);
    CHECK_STR(a, b);
    dstr_free(a);
    dstr_free(b);
    /* Ranks, both ways, and positions by rank. */
    unsigned long n = zset_length(lp);
    for (unsigned long i = 0; i < n; i++) {
        zset_pos p = zset_pos_at_rank(lp, i), q = zset_pos_at_rank(sl, i);
        zset_entry x, y;
        zset_pos_get(&p, &x);
        zset_pos_get(&q, &y);
        REQUIRE(x.len == y.len && memcmp(x.ele, y.ele, x.len) == 0 && x.score == y.score);
        CHECK_EQ_LL(zset_rank(lp, x.ele, x.len, 0, NULL), (long)i);
        CHECK_EQ_LL(zset_rank(sl, y.ele, y.len, 1, NULL), (long)(n - 1 - i));
    }
    obj_free(lp);
    obj_free(sl);
    engine_free(e);
}

static void test_conversion_limits(void)
{
    cairn_engine *e = new_engine(3);
    cmd_call c;
    fake_call(&c, e, 3);
    cobj *z = zset_create(&c, 0, 0);
    char m[16];
    for (int i = 0; i < 128; i++) {
        snprintf(m, sizeof(m), "m%d", i);
        add(&c, z, i, m);
    }
    CHECK_EQ_LL(z->encoding, ENC_LISTPACK);
    add(&c, z, 1000, "m128");
    CHECK_EQ_LL(z->encoding, ENC_SKIPLIST);
    CHECK_EQ_LL(zset_length(z), 129);
    /* Back to a listpack only when asked and small enough. */
    zset_convert_to_listpack_if_needed(&c, z, 4, 500);
    CHECK_EQ_LL(z->encoding, ENC_SKIPLIST);
    CHECK_EQ_LL(zset_delete_range_by_rank(z, 0, 0), 1);
    zset_convert_to_listpack_if_needed(&c, z, 65, 500);
    CHECK_EQ_LL(z->encoding, ENC_SKIPLIST);
    zset_convert_to_listpack_if_needed(&c, z, 64, 500);
    CHECK_EQ_LL(z->encoding, ENC_LISTPACK);
    CHECK_EQ_LL(zset_length(z), 128);
    zset_entry first;
    zset_iter it;
    zset_iter_init(&it, z, 0, 0);
    CHECK(zset_iter_next(&it, &first) && first.score == 1);
    obj_free(z);

    /* A member longer than the value limit. */
    z = zset_create(&c, 0, 0);
    char longm[70];
    memset(longm, 'x', sizeof(longm));
    add(&c, z, 1, "short");
    CHECK(zset_add(&c, z, 1, longm, 64, 0, &(int){0}, NULL) == 1);
    CHECK_EQ_LL(z->encoding, ENC_LISTPACK);
    CHECK(zset_add(&c, z, 1, longm, 65, 0, &(int){0}, NULL) == 1);
    CHECK_EQ_LL(z->encoding, ENC_SKIPLIST);
    obj_free(z);
    cobj *big = zset_create(&c, 0, 65);
    CHECK_EQ_LL(big->encoding, ENC_SKIPLIST);
    obj_free(big);
    engine_free(e);
}

static void test_listpack_scores(void)
{
    cairn_engine *e = new_engine(4);
    cmd_call c;
    fake_call(&c, e, 4);
    cobj *z = zset_create(&c, 0, 0);
    /* Integral scores become integers in the listpack: -0 reads back 0. */
    add(&c, z, -0.0, "negzero");
    add(&c, z, 1.5, "frac");
    add(&c, z, 4611686018427387904.0, "big"); /* 2^62: beyond the integer range */
    add(&c, z, -INFINITY, "ninf");
    add(&c, z, 1e-300, "tiny");
    double s;
    CHECK(zset_score(z, "negzero", 7, &s) && s == 0 && !signbit(s));
    CHECK(zset_score(z, "frac", 4, &s) && s == 1.5);
    CHECK(zset_score(z, "big", 3, &s) && s == 4611686018427387904.0);
    CHECK(zset_score(z, "ninf", 4, &s) && s == -INFINITY);
    CHECK(zset_score(z, "tiny", 4, &s) && s == 1e-300);
    dstr d = dump(z);
    CHECK_STR(d, "ninf=-inf negzero=0 tiny=1e-300 frac=1.5 "
                 "big=4.6116860184273879e+18 ");
    dstr_free(d);
    /* Members that read as integers are compared as strings. */
    add(&c, z, 7, "10");
    add(&c, z, 7, "9");
    add(&c, z, 7, "-1");
    zset_iter it;
    zset_entry en;
    zset_iter_init(&it, z, 4, 0);
    const char *want[] = {"-1", "10", "9"};
    for (int i = 0; i < 3; i++) {
        REQUIRE(zset_iter_next(&it, &en));
        CHECK(en.len == strlen(want[i]) && memcmp(en.ele, want[i], en.len) == 0);
    }
    obj_free(z);
    engine_free(e);
}

static int collect_members(void *priv, const char *ele, size_t len)
{
    dstr *s = priv;
    *s = dstr_cat(*s, ele, len);
    *s = dstr_cat(*s, ",", 1);
    return dstr_len(*s) < 12; /* stop early once long enough */
}

static void test_iteration(void)
{
    cairn_engine *e = new_engine(5);
    cmd_call c;
    fake_call(&c, e, 5);
    for (int enc = 0; enc < 2; enc++) {
        cobj *z = enc ? zset_new_skiplist(&c) : zset_create(&c, 0, 0);
        add(&c, z, 3, "c");
        add(&c, z, 1, "a");
        add(&c, z, 2, "b");
        add(&c, z, 4, "d");
        zset_iter it;
        zset_entry en;
        dstr s = dstr_new("", 0);
        zset_iter_init(&it, z, 1, 1); /* from the second highest, downwards */
        while (zset_iter_next(&it, &en))
            s = dstr_cat(s, en.ele, en.len);
        CHECK_STR(s, "cba");
        dstr_free(s);
        zset_iter_init(&it, z, 4, 0);
        CHECK(!zset_iter_next(&it, &en));
        s = dstr_new("", 0);
        zset_foreach(z, collect_members, &s);
        CHECK_STR(s, "a,b,c,d,");
        dstr_free(s);
        /* Ranges. */
        zrange_spec r = {1, 3, 1, 0};
        CHECK_EQ_LL(zset_count_in_range(z, &r), 2);
        zset_pos p = zset_pos_last_in_range(z, &r);
        zset_pos_member(&p, &en);
        CHECK(en.len == 1 && en.ele[0] == 'c');
        zlex_spec lr = {"b", "+", 1, 0, ZLEX_VALUE, ZLEX_POS_INF, 1, 1};
        CHECK_EQ_LL(zset_count_in_lex(z, &lr), 2);
        CHECK_EQ_LL(zset_delete_range_by_lex(z, &lr), 2);
        CHECK_EQ_LL(zset_delete_range_by_score(z, &r), 1);
        CHECK_EQ_LL(zset_length(z), 1);
        obj_free(z);
    }
    engine_free(e);
}

static void test_dup_and_random(void)
{
    cairn_engine *e = new_engine(6);
    cmd_call c;
    fake_call(&c, e, 6);
    for (int enc = 0; enc < 2; enc++) {
        cobj *z = enc ? zset_new_skiplist(&c) : zset_create(&c, 0, 0);
        char m[16];
        for (int i = 0; i < (enc ? 500 : 50); i++) {
            snprintf(m, sizeof(m), "m%d", i);
            add(&c, z, i % 7, m);
        }
        cobj *d = zset_obj_dup(z);
        CHECK_EQ_LL(d->encoding, z->encoding);
        dstr a = dump(z), b = dump(d);
        CHECK_STR(a, b);
        dstr_free(a);
        dstr_free(b);
        /* Independent: changing the copy leaves the original. */
        CHECK(zset_del(d, "m1", 2));
        double s;
        CHECK(zset_score(z, "m1", 2, &s) && s == 1);
        CHECK(!zset_score(d, "m1", 2, &s));
        /* The same seed draws the same elements. */
        crand r1, r2;
        crand_seed(&r1, 42);
        crand_seed(&r2, 42);
        for (int i = 0; i < 100; i++) {
            zset_entry x, y;
            zset_random(z, &r1, &x);
            zset_random(z, &r2, &y);
            CHECK(x.len == y.len && memcmp(x.ele, y.ele, x.len) == 0);
        }
        obj_free(z);
        obj_free(d);
    }
    engine_free(e);
}

/* The skiplist encoding's two halves agree: every node of the list is the
 * element the table finds under its member, and nothing else is there. */
static int index_agrees(cobj *z)
{
    zset *zs = z->v.ptr;
    if (htab_size(zs->members) != zs->zsl->length) return 0;
    for (zsl_node *n = zsl_first(zs->zsl); n; n = zsl_next(n)) {
        cslice m = zsl_node_member(n);
        if (htab_find(zs->members, m.ptr, m.len) != n) return 0;
    }
    return 1;
}

/* Adds, moves, removals and range removals while the table grows, shrinks
 * and rehashes: the index keeps pointing at the live nodes. */
static void test_skiplist_index(void)
{
    cairn_engine *e = new_engine(10);
    cmd_call c;
    fake_call(&c, e, 10);
    cobj *z = zset_new_skiplist(&c);
    crand r;
    crand_seed(&r, 10);
    char m[32];
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 3000; i++) {
            int len = snprintf(m, sizeof(m), "member:%d", (int)crand_below(&r, 4000));
            double score = (double)crand_below(&r, 100);
            if (crand_below(&r, 5) == 0)
                zset_del(z, m, (size_t)len);
            else
                CHECK(zset_add(&c, z, score, m, (size_t)len, 0, &(int){0}, NULL) == 1);
        }
        REQUIRE(index_agrees(z));
        zrange_spec sr = {(double)round * 10, (double)round * 10 + 15, 0, 1};
        zset_delete_range_by_score(z, &sr);
        zlex_spec lr = {"member:1", "member:2", 8, 8, ZLEX_VALUE, ZLEX_VALUE, 0, 0};
        zset_delete_range_by_lex(z, &lr);
        unsigned long len = zset_length(z);
        if (len > 10) zset_delete_range_by_rank(z, len / 3, len / 3 + len / 4);
        REQUIRE(index_agrees(z));
        cobj *d = zset_obj_dup(z);
        REQUIRE(index_agrees(d));
        obj_free(d);
    }
    /* Down to a few members: the table shrinks under the remaining nodes. */
    unsigned long len = zset_length(z);
    zset_delete_range_by_rank(z, 0, len - 3);
    CHECK_EQ_LL(zset_length(z), 2);
    CHECK(index_agrees(z));
    obj_free(z);
    engine_free(e);
}

/* Replay a recorded log into e, each entry with its own time and seed. */
static void replay(cairn_engine *e, const recorder *rec)
{
    cairn_session s;
    session_init(e, &s);
    size_t off = 0;
    while (off < dstr_len(rec->log)) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec->log + off, dstr_len(rec->log) - off, &v, &why) == ENTRY_OK);
        rbuf out;
        rbuf_init(&out, 2);
        CHECK(engine_apply_entry(e, &s, &v.e, &out) == 0);
        rbuf_free(&out);
        off += v.size;
        entry_view_free(&v);
    }
    session_reset(&s);
}

/* A replica replaying the log builds a skiplist of the same shape: levels
 * come from the entry's seed, not from anything local (here even the hash
 * seeds differ). */
static void test_skiplist_shape_is_deterministic(void)
{
    cairn_engine *a = new_engine(7), *b = new_engine(8);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session sa;
    session_init(a, &sa);
    for (int i = 0; i < 400; i++) {
        char score[16], member[16];
        snprintf(score, sizeof(score), "%d", (i * 37) % 101);
        snprintf(member, sizeof(member), "m%d", i);
        cslice argv[4] = {{"ZADD", 4}, {"z", 1}, {score, strlen(score)}, {member, strlen(member)}};
        cm_free(run_argv_at(a, &sa, 1000, 4, argv));
    }
    expect(RUN(a, &sa, "ZINCRBY", "z", "50", "m3"), "$2\r\n60\r\n");
    expect(RUN(a, &sa, "ZUNIONSTORE", "u", "1", "z"), ":400\r\n");
    replay(b, &rec);
    const char *keys[] = {"z", "u"};
    for (int k = 0; k < 2; k++) {
        cobj *za = value_of(a, keys[k]), *zb = value_of(b, keys[k]);
        REQUIRE(za && zb && za->encoding == ENC_SKIPLIST && zb->encoding == ENC_SKIPLIST);
        zskiplist *x = ((zset *)za->v.ptr)->zsl, *y = ((zset *)zb->v.ptr)->zsl;
        CHECK_EQ_LL(x->level, y->level);
        for (int l = 0; l < x->level; l++) {
            zsl_node *p = x->header, *q = y->header;
            while (p && q) {
                REQUIRE(p->level[l].span == q->level[l].span);
                p = p->level[l].forward;
                q = q->level[l].forward;
            }
            CHECK(p == NULL && q == NULL);
        }
    }
    session_reset(&sa);
    dstr_free(rec.log);
    engine_free(a);
    engine_free(b);
}

/* ---------------------------------------------------------------------------
 * Commands through the engine
 * ------------------------------------------------------------------------ */

static void test_commands_and_encodings(void)
{
    cairn_engine *e = new_engine(9);
    cairn_session s;
    session_init(e, &s);
    expect(RUN(e, &s, "ZADD", "z", "1", "a", "2", "b"), ":2\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "z"), "$8\r\nlistpack\r\n");
    expect(RUN(e, &s, "CONFIG", "SET", "zset-max-ziplist-entries", "2"), "+OK\r\n");
    expect(RUN(e, &s, "ZADD", "z", "3", "c"), ":1\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "z"), "$8\r\nskiplist\r\n");
    expect(RUN(e, &s, "ZRANGE", "z", "0", "-1", "WITHSCORES"),
           "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    expect(RUN(e, &s, "ZUNIONSTORE", "d", "1", "z"), ":3\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "d"), "$8\r\nskiplist\r\n");
    expect(RUN(e, &s, "ZRANGESTORE", "d", "z", "0", "1"), ":2\r\n");
    expect(RUN(e, &s, "OBJECT", "ENCODING", "d"), "$8\r\nlistpack\r\n");
    expect(RUN(e, &s, "ZPOPMIN", "z", "3"),
           "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    expect(RUN(e, &s, "EXISTS", "z"), ":0\r\n");
    s.resp = 3;
    expect(RUN(e, &s, "ZSCORE", "d", "b"), ",2\r\n");
    session_reset(&s);
    engine_free(e);
}

/* A blocked pop served by another session's write is logged as the
 * non-blocking pop that happened; a replay of the log gives the same
 * dataset. */
static void test_blocking_pops_are_logged(void)
{
    cairn_engine *e = new_engine(10);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session waiter, writer;
    session_init(e, &waiter);
    session_init(e, &writer);
    rbuf parked;
    rbuf_init(&parked, 2);
    waiter.flags |= SESS_CAN_BLOCK;
    waiter.out = &parked;

    expect(RUN(e, &waiter, "BZPOPMIN", "k1", "k2", "0"), "");
    CHECK(waiter.blocked != NULL);
    expect(RUN(e, &writer, "ZADD", "k2", "1", "a", "2", "b"), ":2\r\n");
    CHECK(waiter.blocked == NULL);
    size_t len;
    char *got = rbuf_flatten(&parked, &len);
    CHECK_STR(got, "*3\r\n$2\r\nk2\r\n$1\r\na\r\n$1\r\n1\r\n");
    cm_free(got);
    rbuf_reset(&parked);

    /* Served at once: logged as the pop too. */
    expect(RUN(e, &waiter, "BZPOPMAX", "k2", "0"), "*3\r\n$2\r\nk2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    expect(RUN(e, &waiter, "BZMPOP", "0", "2", "x", "y", "MAX", "COUNT", "5"), "");
    expect(RUN(e, &writer, "ZADD", "y", "1", "p", "2", "q", "3", "r"), ":3\r\n");
    got = rbuf_flatten(&parked, &len);
    CHECK_STR(got, "*2\r\n$1\r\ny\r\n*3\r\n*2\r\n$1\r\nr\r\n$1\r\n3\r\n"
                   "*2\r\n$1\r\nq\r\n$1\r\n2\r\n*2\r\n$1\r\np\r\n$1\r\n1\r\n");
    cm_free(got);
    rbuf_reset(&parked);
    expect(RUN(e, &writer, "ZADD", "y", "1", "p", "2", "q"), ":2\r\n");
    expect(RUN(e, &waiter, "BZMPOP", "0", "1", "y", "MIN", "COUNT", "1"),
           "*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\np\r\n$1\r\n1\r\n");
    /* Timed out or not blocking: nothing is logged. */
    expect(RUN(e, &writer, "BZPOPMIN", "nokey", "0"), "*-1\r\n");

    const char *const want[][9] = {
        {"ZADD", "k2", "1", "a", "2", "b", NULL},
        {"ZPOPMIN", "k2", NULL},
        {"ZPOPMAX", "k2", NULL},
        {"ZADD", "y", "1", "p", "2", "q", "3", "r"},
        {"ZMPOP", "1", "y", "MAX", "COUNT", "3", NULL},
        {"ZADD", "y", "1", "p", "2", "q", NULL},
        {"ZMPOP", "1", "y", "MIN", "COUNT", "1", NULL},
    };
    check_log(&rec, want, 7);

    /* Replay into a fresh engine: the same data. */
    cairn_engine *r = new_engine(11);
    replay(r, &rec);
    cairn_session rs;
    session_init(r, &rs);
    expect(RUN(r, &rs, "ZRANGE", "y", "0", "-1"), "*1\r\n$1\r\nq\r\n");
    expect(RUN(r, &rs, "DBSIZE"), ":1\r\n");
    expect(RUN(e, &writer, "ZRANGE", "y", "0", "-1"), "*1\r\n$1\r\nq\r\n");

    session_reset(&rs);
    engine_free(r);
    session_reset(&waiter);
    session_reset(&writer);
    rbuf_free(&parked);
    dstr_free(rec.log);
    engine_free(e);
}

int main(void)
{
    TEST(test_add_flags);
    TEST(test_encodings_agree);
    TEST(test_conversion_limits);
    TEST(test_listpack_scores);
    TEST(test_iteration);
    TEST(test_dup_and_random);
    TEST(test_skiplist_index);
    TEST(test_skiplist_shape_is_deterministic);
    TEST(test_commands_and_encodings);
    TEST(test_blocking_pops_are_logged);
    return TEST_REPORT();
}
