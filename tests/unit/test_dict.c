/* test_dict.c -- unit tests for src/ds/dict.c and src/ds/siphash.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/dstr.h"
#include "ds/rand.h"
#include "ds/siphash.h"
#include "test.h"

static const uint8_t SEED[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Build "<prefix><n>" into buf and return its length. */
static size_t key_of(char *buf, size_t size, const char *prefix, long n)
{
    return (size_t)snprintf(buf, size, "%s%ld", prefix, n);
}

/* Add "<prefix><n>" with v.s64 = val; returns the entry (NULL if present). */
static dict_entry *add_key(dict *d, const char *prefix, long n, int64_t val)
{
    char buf[64];
    size_t len = key_of(buf, sizeof(buf), prefix, n);
    dict_entry *de = dict_add(d, dstr_new(buf, len), NULL);
    if (de) de->v.s64 = val;
    return de;
}

static dict_entry *find_key(dict *d, const char *prefix, long n)
{
    char buf[64];
    size_t len = key_of(buf, sizeof(buf), prefix, n);
    return dict_find(d, buf, len);
}

static int delete_key(dict *d, const char *prefix, long n)
{
    char buf[64];
    size_t len = key_of(buf, sizeof(buf), prefix, n);
    return dict_delete(d, buf, len);
}

/* Which table holds de: 0, 1, or -1 if it is in neither. */
static int table_of(const dict *d, const dict_entry *de)
{
    for (int t = 0; t <= 1; t++) {
        const dict_table *tab = &d->t[t];
        if (tab->size == 0) continue;
        uint64_t idx = dict_hash(d, de->key, dstr_len(de->key)) & (tab->size - 1);
        for (const dict_entry *e = tab->buckets[idx]; e; e = e->next)
            if (e == de) return t;
    }
    return -1;
}

/* Add keys "k0".. until an insert starts a rehash with at least min_keys
 * keys in the dict; returns how many keys were added. */
static long fill_until_rehashing(dict *d, long min_keys)
{
    long n = 0;
    while (n < min_keys || !dict_is_rehashing(d)) {
        add_key(d, "k", n, n);
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * SipHash
 * ------------------------------------------------------------------------ */

static void test_siphash_vectors(void)
{
    /* SipHash-1-2 of bytes 0,1,2,... keyed with 0..15, from an independent
     * implementation that also reproduces the published SipHash-2-4
     * vectors. */
    uint8_t key[16], in[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)i;
    CHECK(siphash(in, 0, key) == UINT64_C(0xcea28b51565c12e2));
    CHECK(siphash(NULL, 0, key) == UINT64_C(0xcea28b51565c12e2));
    CHECK(siphash(in, 1, key) == UINT64_C(0x94aaf38c34ce7ba6));
    CHECK(siphash(in, 7, key) == UINT64_C(0xf03c4cbcf492b05a));
    CHECK(siphash(in, 8, key) == UINT64_C(0x606845b4d093af74));
    CHECK(siphash(in, 9, key) == UINT64_C(0xe304e78271c74a56));
    CHECK(siphash(in, 15, key) == UINT64_C(0xec8f61bc1c8966a6));
    CHECK(siphash(in, 16, key) == UINT64_C(0x1311f4dfe747a751));
    CHECK(siphash(in, 63, key) == UINT64_C(0xff6d07afacbad6d9));
    uint8_t zero[16] = {0};
    CHECK(siphash("hello", 5, zero) == UINT64_C(0x6183a7732184fb53));
    /* The key matters. */
    CHECK(siphash("hello", 5, zero) != siphash("hello", 5, key));
}

/* ---------------------------------------------------------------------------
 * Basic operations
 * ------------------------------------------------------------------------ */

static void test_add_find_delete_100k(void)
{
    const long n = 100000;
    dict *d = dict_create(SEED, NULL, 0);
    CHECK(dict_find(d, "k0", 2) == NULL);
    CHECK(dict_delete(d, "k0", 2) == 0);

    for (long i = 0; i < n; i++)
        REQUIRE(add_key(d, "k", i, i * 3) != NULL);
    CHECK_EQ_LL(dict_size(d), n);

    for (long i = 0; i < n; i++) {
        dict_entry *de = find_key(d, "k", i);
        REQUIRE(de != NULL);
        REQUIRE(de->v.s64 == i * 3);
    }
    CHECK(find_key(d, "k", n) == NULL);
    CHECK(find_key(d, "x", 1) == NULL);

    /* Adding again: refused, existing entry reported, key not taken. */
    dstr dup = dstr_from_cstr("k42");
    dict_entry *existing = NULL;
    CHECK(dict_add(d, dup, &existing) == NULL);
    CHECK(existing != NULL && existing->v.s64 == 42 * 3);
    CHECK(dict_add(d, dup, NULL) == NULL);
    dstr_free(dup);
    CHECK_EQ_LL(dict_size(d), n);

    for (long i = 0; i < n; i += 2)
        REQUIRE(delete_key(d, "k", i) == 1);
    CHECK_EQ_LL(dict_size(d), n / 2);
    for (long i = 0; i < n; i++) {
        dict_entry *de = find_key(d, "k", i);
        if (i % 2 == 0) {
            REQUIRE(de == NULL);
            REQUIRE(delete_key(d, "k", i) == 0);
        } else {
            REQUIRE(de != NULL && de->v.s64 == i * 3);
        }
    }
    for (long i = 1; i < n; i += 2)
        REQUIRE(delete_key(d, "k", i) == 1);
    CHECK_EQ_LL(dict_size(d), 0);
    dict_release(d);
}

static void test_binary_keys(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    CHECK(dict_add(d, dstr_new("a\0b", 3), NULL) != NULL);
    CHECK(dict_add(d, dstr_new("a\0c", 3), NULL) != NULL);
    CHECK(dict_add(d, dstr_new("", 0), NULL) != NULL);
    CHECK(dict_add(d, dstr_new("a", 1), NULL) != NULL);
    CHECK_EQ_LL(dict_size(d), 4);
    CHECK(dict_find(d, "a\0b", 3) != NULL);
    CHECK(dict_find(d, "a\0c", 3) != NULL);
    CHECK(dict_find(d, "a\0d", 3) == NULL);
    CHECK(dict_find(d, "", 0) != NULL);
    CHECK(dict_find(d, "a", 1) != NULL);
    CHECK(dict_find(d, "a\0", 2) == NULL);
    CHECK(dict_delete(d, "", 0) == 1);
    CHECK(dict_find(d, "", 0) == NULL);
    dict_release(d);
}

static void test_expand_and_shrink(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    CHECK_EQ_LL(dict_buckets(d), 0);
    dict_expand(d, 1000);
    CHECK_EQ_LL(d->t[0].size, 1024);
    CHECK(!dict_is_rehashing(d));
    for (long i = 0; i < 1000; i++)
        add_key(d, "k", i, i);
    /* Pre-sized: no resize was needed. */
    CHECK_EQ_LL(d->t[0].size, 1024);
    CHECK(!dict_is_rehashing(d));

    /* Load factor 1: the insert that finds used == size grows the table. */
    for (long i = 1000; i < 1025; i++)
        add_key(d, "k", i, i);
    CHECK(dict_is_rehashing(d));
    CHECK_EQ_LL(d->t[1].size, 2048);
    while (dict_rehash(d, 100)) {
    }
    CHECK(!dict_is_rehashing(d));
    CHECK_EQ_LL(d->t[0].size, 2048);
    CHECK_EQ_LL(dict_size(d), 1025);

    /* Not shrunk while at least 1/8 full. */
    for (long i = 0; i < 1025 - 256; i++)
        delete_key(d, "k", i);
    dict_shrink_if_needed(d);
    CHECK(!dict_is_rehashing(d));
    delete_key(d, "k", 1025 - 256);
    dict_shrink_if_needed(d);
    CHECK(dict_is_rehashing(d));
    CHECK_EQ_LL(d->t[1].size, 256);
    while (dict_rehash(d, 1)) {
    }
    CHECK_EQ_LL(d->t[0].size, 256);
    for (long i = 1025 - 255; i < 1025; i++)
        REQUIRE(find_key(d, "k", i) != NULL);

    /* Emptied: back to the smallest table. */
    for (long i = 1025 - 255; i < 1025; i++)
        delete_key(d, "k", i);
    dict_shrink_if_needed(d);
    while (dict_rehash(d, 1)) {
    }
    CHECK_EQ_LL(d->t[0].size, 4);
    dict_shrink_if_needed(d);
    CHECK(!dict_is_rehashing(d));
    dict_release(d);
}

/* ---------------------------------------------------------------------------
 * Incremental rehash
 * ------------------------------------------------------------------------ */

/* Finds, deletes and inserts work while entries are split across tables. */
/* Deleting most keys gives the buckets back on its own. */
static void test_delete_shrinks(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    for (long i = 0; i < 4096; i++)
        add_key(d, "s", i, i);
    while (dict_rehash(d, 100))
        ;
    uint64_t big = dict_buckets(d);
    for (long i = 0; i < 4090; i++)
        REQUIRE(delete_key(d, "s", i) == 1);
    while (dict_rehash(d, 100))
        ;
    CHECK(dict_buckets(d) * 64 <= big);
    for (long i = 4090; i < 4096; i++)
        CHECK(find_key(d, "s", i) != NULL);
    dict_release(d);
}

static void test_rehash_both_tables(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    long n = fill_until_rehashing(d, 4000);
    /* Move part of the table, then freeze so entries stay split. */
    dict_rehash(d, (int)(d->t[0].size / 2));
    REQUIRE(dict_is_rehashing(d));
    d->pause_rehash++;
    CHECK(d->t[0].used > 0 && d->t[1].used > 0);

    long in_t0 = 0, in_t1 = 0;
    for (long i = 0; i < n; i++) {
        dict_entry *de = find_key(d, "k", i);
        REQUIRE(de != NULL && de->v.s64 == i);
        int t = table_of(d, de);
        REQUIRE(t == 0 || t == 1);
        if (t == 0)
            in_t0++;
        else
            in_t1++;
    }
    CHECK(in_t0 > 0 && in_t1 > 0);
    CHECK_EQ_LL(in_t0, d->t[0].used);
    CHECK_EQ_LL(in_t1, d->t[1].used);

    /* Delete every third key, from whichever table it is in. */
    long del_t0 = 0, del_t1 = 0;
    for (long i = 0; i < n; i += 3) {
        int t = table_of(d, find_key(d, "k", i));
        REQUIRE(delete_key(d, "k", i) == 1);
        if (t == 0)
            del_t0++;
        else
            del_t1++;
    }
    CHECK(del_t0 > 0 && del_t1 > 0);
    /* New keys go to the new table. */
    for (long i = 0; i < 100; i++) {
        dict_entry *de = add_key(d, "new", i, -1);
        REQUIRE(de != NULL);
        REQUIRE(table_of(d, de) == 1);
    }
    /* Re-adding a key that lives in the old table is refused. */
    dict_entry *existing = NULL;
    dstr again = dstr_from_cstr("k1");
    CHECK(dict_add(d, again, &existing) == NULL && existing == find_key(d, "k", 1));
    dstr_free(again);

    /* Unfreeze and let ordinary lookups finish the rehash. */
    d->pause_rehash--;
    long lookups = 0;
    while (dict_is_rehashing(d)) {
        for (long i = 0; i < n; i++) {
            dict_entry *de = find_key(d, "k", i);
            REQUIRE((de != NULL) == (i % 3 != 0));
            lookups++;
        }
    }
    CHECK(lookups > 0);
    CHECK_EQ_LL(dict_size(d), n - (n + 2) / 3 + 100);
    CHECK_EQ_LL(d->t[1].size, 0);
    for (long i = 0; i < 100; i++)
        CHECK(find_key(d, "new", i) != NULL);
    dict_release(d);
}

/* dict_rehash() skips long runs of empty buckets in bounded steps. */
static void test_rehash_sparse(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    dict_expand(d, 1 << 16);
    add_key(d, "k", 1, 1);
    add_key(d, "k", 2, 2);
    dict_shrink_if_needed(d);
    REQUIRE(dict_is_rehashing(d));
    int calls = 0;
    while (dict_rehash(d, 1))
        calls++;
    /* At most 10 empty visits per call: many calls, none doing it all. */
    CHECK(calls > 100);
    CHECK_EQ_LL(d->t[0].size, 4);
    CHECK(find_key(d, "k", 1) != NULL && find_key(d, "k", 2) != NULL);
    dict_release(d);
}

/* ---------------------------------------------------------------------------
 * Safe iterator
 * ------------------------------------------------------------------------ */

/* Iterate while inserting and deleting, starting mid-rehash: every key
 * present at the start is visited exactly once, the current entry can be
 * deleted, and inserted keys are seen at most once. */
static void test_iter_during_rehash(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    long n = fill_until_rehashing(d, 2000);
    dict_rehash(d, (int)(d->t[0].size / 3));
    REQUIRE(dict_is_rehashing(d));
    REQUIRE(d->t[0].used > 0 && d->t[1].used > 0);

    const long extra = 5000;
    int *seen = calloc((size_t)(n + extra), sizeof(int));
    long added = 0;
    dict_iter it;
    dict_iter_start(&it, d);
    CHECK(d->pause_rehash == 1);
    uint64_t rehash_idx = (uint64_t)d->rehash_idx;
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        int64_t id = de->v.s64;
        REQUIRE(id >= 0 && id < n + extra);
        seen[id]++;
        if (id < n && id % 2 == 0) REQUIRE(dict_delete(d, de->key, dstr_len(de->key)) == 1);
        if (added < extra) {
            REQUIRE(add_key(d, "new", added, n + added) != NULL);
            added++;
        }
        /* Lookups do not move buckets while the iterator exists. */
        REQUIRE(find_key(d, "k", 1) != NULL);
        REQUIRE((uint64_t)d->rehash_idx == rehash_idx);
    }
    CHECK(dict_iter_next(&it) == NULL);
    dict_iter_end(&it);
    CHECK(d->pause_rehash == 0);

    for (long i = 0; i < n; i++)
        REQUIRE(seen[i] == 1);
    for (long i = n; i < n + added; i++)
        REQUIRE(seen[i] <= 1);
    CHECK_EQ_LL(dict_size(d), n - (n + 1) / 2 + added);
    for (long i = 0; i < n; i++)
        REQUIRE((find_key(d, "k", i) != NULL) == (i % 2 != 0));
    while (dict_rehash(d, 100)) {
    }
    CHECK(!dict_is_rehashing(d));
    free(seen);
    dict_release(d);
}

/* Start with no rehash; inserting heavily forces a resize while paused. */
static void test_iter_forced_growth(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    const long n = 64;
    for (long i = 0; i < n; i++)
        add_key(d, "k", i, i);
    REQUIRE(!dict_is_rehashing(d) && d->t[0].size == 64);

    int seen[64] = {0};
    long added = 0;
    int grew_while_paused = 0;
    dict_iter it;
    dict_iter_start(&it, d);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        if (de->v.s64 >= n) continue; /* an inserted key */
        seen[de->v.s64]++;
        REQUIRE(dict_delete(d, de->key, dstr_len(de->key)) == 1);
        for (int j = 0; j < 10; j++)
            add_key(d, "new", added++, n);
        if (dict_is_rehashing(d)) grew_while_paused = 1;
    }
    dict_iter_end(&it);
    for (long i = 0; i < n; i++)
        CHECK(seen[i] == 1);
    CHECK(grew_while_paused);
    CHECK_EQ_LL(dict_size(d), added);
    for (long i = 0; i < added; i++)
        REQUIRE(find_key(d, "new", i) != NULL);
    dict_release(d);
}

static void test_iter_empty(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    dict_iter it;
    dict_iter_start(&it, d);
    CHECK(dict_iter_next(&it) == NULL);
    CHECK(dict_iter_next(&it) == NULL);
    dict_iter_end(&it);
    CHECK(d->pause_rehash == 0);
    dict_release(d);
}

/* ---------------------------------------------------------------------------
 * Ownership: shared keys and val_free
 * ------------------------------------------------------------------------ */

static void test_shared_keys(void)
{
    /* A dict that borrows another's keys (as ZUNION's accumulator borrows
     * its items' strings).  Under ASan a wrong free here is a hard failure. */
    dict *main_d = dict_create(SEED, NULL, 0);
    dict *expires = dict_create(SEED, NULL, DICT_SHARED_KEYS);
    for (long i = 0; i < 1000; i++) {
        dict_entry *de = add_key(main_d, "k", i, i);
        REQUIRE(de != NULL);
        dict_entry *ex = dict_add(expires, de->key, NULL);
        REQUIRE(ex != NULL && ex->key == de->key);
        ex->v.s64 = 1000 + i;
    }
    /* Deleting from the sharing dict leaves the key alive. */
    for (long i = 0; i < 500; i++)
        REQUIRE(delete_key(expires, "k", i) == 1);
    for (long i = 0; i < 500; i++) {
        dict_entry *de = find_key(main_d, "k", i);
        REQUIRE(de != NULL);
        char buf[32];
        size_t len = key_of(buf, sizeof(buf), "k", i);
        REQUIRE(dstr_len(de->key) == len && memcmp(de->key, buf, len) == 0);
    }
    CHECK_EQ_LL(dict_size(main_d), 1000);
    /* Release the sharing dict first, then the owner. */
    dict_release(expires);
    dict_release(main_d);
}

static int val_free_calls;

static void count_val_free(void *p)
{
    val_free_calls++;
    cm_free(p);
}

static void *make_val(long i)
{
    long *p = cm_malloc(sizeof(*p));
    *p = i;
    return p;
}

static void test_val_free(void)
{
    val_free_calls = 0;
    dict *d = dict_create(SEED, count_val_free, 0);
    for (long i = 0; i < 100; i++)
        add_key(d, "k", i, 0)->v.ptr = make_val(i);
    add_key(d, "null", 0, 0)->v.ptr = NULL; /* never passed to val_free */

    CHECK(delete_key(d, "k", 5) == 1);
    CHECK_EQ_LL(val_free_calls, 1);
    CHECK(delete_key(d, "null", 0) == 1);
    CHECK_EQ_LL(val_free_calls, 1);

    CHECK(delete_key(d, "k", 6) == 1);
    CHECK_EQ_LL(val_free_calls, 2);

    /* A refused add does not touch the existing value. */
    dict_entry *existing = NULL;
    dstr k = dstr_from_cstr("k7");
    CHECK(dict_add(d, k, &existing) == NULL && *(long *)existing->v.ptr == 7);
    dstr_free(k);
    CHECK_EQ_LL(val_free_calls, 2);

    dict_release(d);
    CHECK_EQ_LL(val_free_calls, 100);
}

int main(void)
{
    TEST(test_siphash_vectors);
    TEST(test_add_find_delete_100k);
    TEST(test_binary_keys);
    TEST(test_expand_and_shrink);
    TEST(test_delete_shrinks);
    TEST(test_rehash_both_tables);
    TEST(test_rehash_sparse);
    TEST(test_iter_during_rehash);
    TEST(test_iter_forced_growth);
    TEST(test_iter_empty);
    TEST(test_shared_keys);
    TEST(test_val_free);
    return TEST_REPORT();
}
