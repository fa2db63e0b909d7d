/* Unit tests of the hash type through the engine: the lookup SORT uses
 * (hash_get_field) in both encodings, the conversion boundaries, what
 * HINCRBYFLOAT writes to the log, and that HRANDFIELD draws only from the
 * call's seeded PRNG (the same seed gives the same fields), and pairs of
 * the hashtable encoding whose lengths take one byte or five. */
#include "ds/alloc.h"
#include "ds/util.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/t_hash.h"
#include "test.h"

#include "engine_harness.h"

/* The last entry the engine logged, copied. */
typedef struct last_entry {
    int n;
    int argc;
    dstr argv[8];
} last_entry;

static void record_last(void *priv, const cairn_entry *e)
{
    last_entry *l = priv;
    for (int i = 0; i < l->argc; i++)
        dstr_free(l->argv[i]);
    l->argc = e->argc < 8 ? e->argc : 8;
    for (int i = 0; i < l->argc; i++)
        l->argv[i] = dstr_new(e->argv[i].ptr, e->argv[i].len);
    l->n++;
}

static void last_entry_free(last_entry *l)
{
    for (int i = 0; i < l->argc; i++)
        dstr_free(l->argv[i]);
}

#define RUN(e, s, ...) run_words_at(e, s, 1000, WORDS(__VA_ARGS__))

static cobj *value_of(cairn_engine *e, const char *key)
{
    return db_find(&e->dbs[0], &(cslice){key, strlen(key)});
}

/* HSET key f<i> v<i> for i in [from, to). */
static void fill(cairn_engine *e, cairn_session *s, const char *key, int from, int to)
{
    for (int i = from; i < to; i++) {
        char f[32], v[32];
        snprintf(f, sizeof(f), "f%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        cm_free(RUN(e, s, "HSET", key, f, v));
    }
}

static int field_is(const cobj *o, const char *field, const char *want)
{
    char buf[NUM_STR_MAX];
    const char *v;
    size_t vlen;
    if (!hash_get_field(o, field, strlen(field), buf, &v, &vlen)) return want == NULL;
    return want && vlen == strlen(want) && memcmp(v, want, vlen) == 0;
}

static void check_get_field(cairn_engine *e, cairn_session *s, const char *key)
{
    cm_free(RUN(e, s, "HSET", key, "num", "-42", "empty", "", "big", "18446744073709551616"));
    cobj *o = value_of(e, key);
    REQUIRE(o && o->type == OBJ_HASH);
    CHECK(field_is(o, "f1", "v1"));
    CHECK(field_is(o, "num", "-42")); /* an integer inside a listpack */
    CHECK(field_is(o, "empty", ""));
    CHECK(field_is(o, "big", "18446744073709551616"));
    CHECK(field_is(o, "missing", NULL));
    CHECK(field_is(o, "f", NULL));
}

static void test_get_field_listpack(void)
{
    cairn_engine *e = new_engine(1);
    cairn_session s;
    session_init(e, &s);
    fill(e, &s, "h", 0, 10);
    check_get_field(e, &s, "h");
    CHECK(value_of(e, "h")->encoding == ENC_LISTPACK);
    CHECK_EQ_LL(hash_length(value_of(e, "h")), 13);
    session_reset(&s);
    engine_free(e);
}

static void test_get_field_hashtable(void)
{
    cairn_engine *e = new_engine(2);
    cairn_session s;
    session_init(e, &s);
    fill(e, &s, "h", 0, 1000);
    check_get_field(e, &s, "h");
    CHECK(value_of(e, "h")->encoding == ENC_HASHTABLE);
    CHECK_EQ_LL(hash_length(value_of(e, "h")), 1003);
    session_reset(&s);
    engine_free(e);
}

/* The default limits (512 fields, 64 bytes) and a lowered one. */
static void test_conversion_boundaries(void)
{
    cairn_engine *e = new_engine(3);
    cairn_session s;
    session_init(e, &s);
    fill(e, &s, "h", 0, 512);
    CHECK(value_of(e, "h")->encoding == ENC_LISTPACK);
    fill(e, &s, "h", 512, 513);
    CHECK(value_of(e, "h")->encoding == ENC_HASHTABLE);
    CHECK(field_is(value_of(e, "h"), "f0", "v0"));
    CHECK(field_is(value_of(e, "h"), "f512", "v512"));

    char v64[65], v65[66];
    memset(v64, 'x', 64);
    v64[64] = '\0';
    memset(v65, 'x', 65);
    v65[65] = '\0';
    check_reply(RUN(e, &s, "HSET", "v", v64, v64), ":1\r\n");
    CHECK(value_of(e, "v")->encoding == ENC_LISTPACK);
    check_reply(RUN(e, &s, "HSET", "v", "g", v65), ":1\r\n");
    CHECK(value_of(e, "v")->encoding == ENC_HASHTABLE);

    check_reply(RUN(e, &s, "CONFIG", "SET", "hash-max-ziplist-entries", "2"), "+OK\r\n");
    check_reply(RUN(e, &s, "HSET", "c", "a", "1", "b", "2"), ":2\r\n");
    CHECK(value_of(e, "c")->encoding == ENC_LISTPACK);
    check_reply(RUN(e, &s, "HSET", "c", "c", "3"), ":1\r\n");
    CHECK(value_of(e, "c")->encoding == ENC_HASHTABLE);
    check_reply(RUN(e, &s, "HDEL", "c", "a", "b"), ":2\r\n");
    CHECK(value_of(e, "c")->encoding == ENC_HASHTABLE);
    session_reset(&s);
    engine_free(e);
}

/* HINCRBYFLOAT reaches the log as the HSET of its result, as Redis
 * replicates it; HINCRBY is logged as it was called. */
static void test_hincrbyfloat_logged_as_hset(void)
{
    cairn_engine *e = new_engine(4);
    last_entry l = {0};
    engine_set_log_sink(e, record_last, &l);
    cairn_session s;
    session_init(e, &s);

    check_reply(RUN(e, &s, "HINCRBYFLOAT", "h", "f", "10.5"), "$4\r\n10.5\r\n");
    check_reply(RUN(e, &s, "HINCRBYFLOAT", "h", "f", "0.1"), "$4\r\n10.6\r\n");
    REQUIRE(l.n == 2 && l.argc == 4);
    CHECK_STR(l.argv[0], "HSET");
    CHECK_STR(l.argv[1], "h");
    CHECK_STR(l.argv[2], "f");
    CHECK_STR(l.argv[3], "10.6");

    check_reply(RUN(e, &s, "HINCRBYFLOAT", "h", "f", "x"), "-ERR value is not a valid float\r\n");
    CHECK_EQ_LL(l.n, 2);
    check_reply(RUN(e, &s, "HINCRBY", "h", "n", "5"), ":5\r\n");
    REQUIRE(l.n == 3 && l.argc == 4);
    CHECK_STR(l.argv[0], "HINCRBY");

    /* Reads and no-op writes are not logged. */
    check_reply(RUN(e, &s, "HGET", "h", "f"), "$4\r\n10.6\r\n");
    check_reply(RUN(e, &s, "HSETNX", "h", "f", "1"), ":0\r\n");
    check_reply(RUN(e, &s, "HDEL", "h", "nope"), ":0\r\n");
    CHECK_EQ_LL(l.n, 3);

    session_reset(&s);
    last_entry_free(&l);
    engine_free(e);
}

/* Two engines with the same seed, fed the same commands, draw the same
 * random fields: HRANDFIELD depends on nothing but the context. */
static void test_hrandfield_is_deterministic(void)
{
    cairn_engine *a = new_engine(5), *b = new_engine(5);
    cairn_session sa, sb;
    session_init(a, &sa);
    session_init(b, &sb);
    fill(a, &sa, "small", 0, 20);
    fill(b, &sb, "small", 0, 20);
    fill(a, &sa, "big", 0, 2000);
    fill(b, &sb, "big", 0, 2000);
    const char *counts[] = {"1", "5", "-5", "15", "700", "100", "-30"};
    const char *keys[] = {"small", "big"};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
            char *ra = RUN(a, &sa, "HRANDFIELD", keys[k], counts[i], "WITHVALUES");
            char *rb = RUN(b, &sb, "HRANDFIELD", keys[k], counts[i], "WITHVALUES");
            CHECK_STR(ra, rb);
            cm_free(ra);
            cm_free(rb);
        }
    }
    session_reset(&sa);
    session_reset(&sb);
    engine_free(a);
    engine_free(b);
}

/* COPY duplicates the structure; the copy and the original are freed
 * independently (leaks and double frees show under the sanitizers). */
static void test_copy_duplicates(void)
{
    cairn_engine *e = new_engine(6);
    cairn_session s;
    session_init(e, &s);
    fill(e, &s, "small", 0, 5);
    fill(e, &s, "big", 0, 600);
    check_reply(RUN(e, &s, "COPY", "small", "small2"), ":1\r\n");
    check_reply(RUN(e, &s, "COPY", "big", "big2"), ":1\r\n");
    CHECK(value_of(e, "small2")->encoding == ENC_LISTPACK);
    CHECK(value_of(e, "big2")->encoding == ENC_HASHTABLE);
    check_reply(RUN(e, &s, "HSET", "big2", "f1", "changed"), ":0\r\n");
    CHECK(field_is(value_of(e, "big"), "f1", "v1"));
    CHECK(field_is(value_of(e, "big2"), "f1", "changed"));
    check_reply(RUN(e, &s, "DEL", "small"), ":1\r\n");
    CHECK(field_is(value_of(e, "small2"), "f4", "v4"));
    session_reset(&s);
    engine_free(e);
}

/* A string of len copies of ch, NUL-terminated, to free with cm_free. */
static char *repeat(char ch, size_t len)
{
    char *s = cm_malloc(len + 1);
    memset(s, ch, len);
    s[len] = '\0';
    return s;
}

/* A hashtable hash keeps each length of a pair in one byte below 255 and
 * in five from 255 on: fields and values on both sides of that boundary,
 * values that grow, shrink (the pair is resized) or keep their length (it
 * is rewritten in place), without disturbing the other fields. */
static void test_hashtable_pair_lengths(void)
{
    cairn_engine *e = new_engine(7);
    cairn_session s;
    session_init(e, &s);
    fill(e, &s, "h", 0, 600);
    const size_t lens[] = {0, 1, 254, 255, 256, 70000, 3};
    const size_t nlens = sizeof(lens) / sizeof(lens[0]);
    for (size_t i = 0; i < nlens; i++) {
        char *f = repeat('f', lens[i]);
        for (size_t j = 0; j < nlens; j++) {
            char *v = repeat((char)('a' + j), lens[j]);
            check_reply(RUN(e, &s, "HSET", "h", f, v), j == 0 ? ":1\r\n" : ":0\r\n");
            CHECK(field_is(value_of(e, "h"), f, v));
            cm_free(v);
        }
        char *v = repeat('z', 3);
        check_reply(RUN(e, &s, "HSET", "h", f, v), ":0\r\n");
        CHECK(field_is(value_of(e, "h"), f, v));
        cm_free(v);
        cm_free(f);
    }
    check_reply(RUN(e, &s, "HINCRBY", "h", "n", "9"), ":9\r\n");
    check_reply(RUN(e, &s, "HINCRBY", "h", "n", "1"), ":10\r\n");
    check_reply(RUN(e, &s, "HINCRBYFLOAT", "h", "n", "0.25"), "$5\r\n10.25\r\n");
    CHECK(field_is(value_of(e, "h"), "n", "10.25"));
    check_reply(RUN(e, &s, "HDEL", "h", "n"), ":1\r\n");
    CHECK_EQ_LL(hash_length(value_of(e, "h")), 600 + nlens);
    for (int i = 0; i < 600; i++) {
        char f[32], v[32];
        snprintf(f, sizeof(f), "f%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        CHECK(field_is(value_of(e, "h"), f, v));
    }
    for (size_t i = 0; i < nlens; i++) {
        char *f = repeat('f', lens[i]);
        check_reply(RUN(e, &s, "HDEL", "h", f), ":1\r\n");
        CHECK(field_is(value_of(e, "h"), f, NULL));
        cm_free(f);
    }
    CHECK_EQ_LL(hash_length(value_of(e, "h")), 600);
    session_reset(&s);
    engine_free(e);
}

int main(void)
{
    TEST(test_get_field_listpack);
    TEST(test_get_field_hashtable);
    TEST(test_conversion_boundaries);
    TEST(test_hincrbyfloat_logged_as_hset);
    TEST(test_hrandfield_is_deterministic);
    TEST(test_copy_duplicates);
    TEST(test_hashtable_pair_lengths);
    return TEST_REPORT();
}
