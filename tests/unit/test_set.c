/* Unit tests of the set type through the engine: the iteration API that
 * SORT uses (set_iter, set_size, set_is_member) over every encoding, and
 * replay of SPOP: a log recorded on one engine and replayed on another
 * (different hash and PRNG seeds) must leave the same sets (rule 2). */
#include <stdio.h>
#include <stdlib.h>

#include "ds/alloc.h"
#include "ds/util.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/t_set.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

/* Commands here run at t=1s; their replies are not looked at. */
#define RUN(e, s, ...) cm_free(run_words_at(e, s, 1000, WORDS(__VA_ARGS__)))

/* SADD key prefix0 .. prefix(n-1) (just the numbers when prefix is ""). */
static void sadd_range(cairn_engine *e, cairn_session *s, const char *key, const char *prefix,
                       int from, int n)
{
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)(n + 2));
    char **bufs = cm_malloc(sizeof(char *) * (size_t)n);
    argv[0] = (cslice){"SADD", 4};
    argv[1] = (cslice){key, strlen(key)};
    for (int i = 0; i < n; i++) {
        bufs[i] = cm_malloc(32);
        snprintf(bufs[i], 32, "%s%d", prefix, from + i);
        argv[i + 2] = (cslice){bufs[i], strlen(bufs[i])};
    }
    cm_free(run_argv_at(e, s, 1000, n + 2, argv));
    for (int i = 0; i < n; i++)
        cm_free(bufs[i]);
    cm_free(bufs);
    cm_free(argv);
}

static cobj *lookup(cairn_engine *e, const char *key)
{
    return db_find(&e->dbs[0], &(cslice){key, strlen(key)});
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of the set at key, sorted and joined with commas, through
 * set_iter (caller frees); "" when the key is missing. */
static dstr members_of(cairn_engine *e, const char *key)
{
    dstr out = dstr_with_cap(0);
    cobj *o = lookup(e, key);
    if (!o) return out;
    unsigned long n = set_size(o), i = 0;
    char **items = cm_malloc(sizeof(char *) * (n ? n : 1));
    set_iter it;
    const char *p;
    size_t len;
    char buf[NUM_STR_MAX];
    set_iter_start(&it, o);
    while (i < n && set_iter_next(&it, &p, &len, buf)) {
        items[i] = cm_malloc(len + 1);
        memcpy(items[i], p, len);
        items[i][len] = '\0';
        i++;
    }
    CHECK(!set_iter_next(&it, &p, &len, buf));
    set_iter_end(&it);
    CHECK_EQ_LL(i, n);
    qsort(items, i, sizeof(char *), cmp_str);
    for (unsigned long k = 0; k < i; k++) {
        if (k) out = dstr_cat(out, ",", 1);
        out = dstr_cat_cstr(out, items[k]);
        cm_free(items[k]);
    }
    cm_free(items);
    return out;
}

static void check_members(cairn_engine *e, const char *key, const char *want)
{
    dstr got = members_of(e, key);
    CHECK_STR(got, want);
    dstr_free(got);
}

static void test_iter_every_encoding(void)
{
    cairn_engine *e = new_engine(1);
    cairn_session s;
    session_init(e, &s);

    RUN(e, &s, "SADD", "ints", "3", "-1", "1000000", "2");
    RUN(e, &s, "SADD", "small", "b", "a", "7", "");
    sadd_range(e, &s, "big", "m", 0, 300);
    CHECK_EQ_LL(lookup(e, "ints")->encoding, ENC_INTSET);
    CHECK_EQ_LL(lookup(e, "small")->encoding, ENC_LISTPACK);
    CHECK_EQ_LL(lookup(e, "big")->encoding, ENC_HASHTABLE);

    check_members(e, "ints", "-1,1000000,2,3");
    check_members(e, "small", ",7,a,b");
    CHECK_EQ_LL(set_size(lookup(e, "big")), 300);
    dstr big = members_of(e, "big");
    /* m0..m9, m10..m99, m100..m299 and the commas between them. */
    CHECK_EQ_LL(dstr_len(big), 10 * 2 + 90 * 3 + 200 * 4 + 299);
    dstr_free(big);

    CHECK(set_is_member(lookup(e, "ints"), "1000000", 7));
    CHECK(!set_is_member(lookup(e, "ints"), "01", 2));
    CHECK(set_is_member(lookup(e, "small"), "7", 1));
    CHECK(set_is_member(lookup(e, "small"), "", 0));
    CHECK(!set_is_member(lookup(e, "small"), "c", 1));
    CHECK(set_is_member(lookup(e, "big"), "m299", 4));
    CHECK(!set_is_member(lookup(e, "big"), "m300", 4));

    session_reset(&s);
    engine_free(e);
}

static void test_spop_replays_to_the_same_state(void)
{
    cairn_engine *a = new_engine(5);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);

    sadd_range(a, &s, "ints", "", 0, 100);
    sadd_range(a, &s, "small", "x", 0, 50);
    sadd_range(a, &s, "big", "m", 0, 2000);
    /* A listpack built by walking a hashtable: its order is the table's. */
    sadd_range(a, &s, "big2", "m", 1990, 200);
    RUN(a, &s, "SINTERSTORE", "derived", "big", "big2");
    for (int round = 0; round < 20; round++) {
        /* Reads move a table's incremental rehash on this engine only. */
        RUN(a, &s, "SISMEMBER", "big", "m5");
        RUN(a, &s, "SRANDMEMBER", "big", "-3");
        RUN(a, &s, "SPOP", "ints");
        RUN(a, &s, "SPOP", "small", "2");
        RUN(a, &s, "SPOP", "big");
        RUN(a, &s, "SPOP", "big", "7");
        RUN(a, &s, "SPOP", "derived");
        sadd_range(a, &s, "big", "n", round * 100, 100);
    }
    RUN(a, &s, "SPOP", "big", "2500");  /* one-pass pop of most members */
    RUN(a, &s, "SPOP", "small", "100"); /* all of them: the key goes */

    cairn_engine *b = new_engine(6);
    apply_log(b, rec.log, dstr_len(rec.log));
    const char *keys[] = {"ints", "small", "big", "derived"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        dstr x = members_of(a, keys[i]), y = members_of(b, keys[i]);
        if (strcmp(x, y) != 0) fprintf(stderr, "key %s differs after replay\n", keys[i]);
        CHECK(strcmp(x, y) == 0);
        dstr_free(x);
        dstr_free(y);
    }
    CHECK(lookup(a, "small") == NULL && lookup(b, "small") == NULL);

    session_reset(&s);
    dstr_free(rec.log);
    engine_free(a);
    engine_free(b);
}

int main(void)
{
    TEST(test_iter_every_encoding);
    TEST(test_spop_replays_to_the_same_state);
    return TEST_REPORT();
}
