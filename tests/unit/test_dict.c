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

static void test_unlink_and_clear(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    for (long i = 0; i < 100; i++)
        add_key(d, "k", i, i);
    dict_entry *de = dict_unlink(d, "k7", 2);
    CHECK(de != NULL && de->v.s64 == 7);
    CHECK(dict_unlink(d, "k7", 2) == NULL);
    CHECK(dict_find(d, "k7", 2) == NULL);
    CHECK_EQ_LL(dict_size(d), 99);
    CHECK(dstr_len(de->key) == 2 && memcmp(de->key, "k7", 2) == 0);
    dict_free_unlinked(d, de);
    dict_free_unlinked(d, NULL);

    dict_clear(d);
    CHECK_EQ_LL(dict_size(d), 0);
    CHECK(!dict_is_rehashing(d));
    CHECK(find_key(d, "k", 1) == NULL);
    /* Still usable after a clear. */
    for (long i = 0; i < 100; i++)
        add_key(d, "k", i, i);
    CHECK_EQ_LL(dict_size(d), 100);
    CHECK(find_key(d, "k", 99) != NULL);
    dict_release(d);
    dict_release(NULL);
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
 * SCAN
 * ------------------------------------------------------------------------ */

typedef struct scan_state {
    int *seen;     /* per stable key id */
    long n_stable; /* ids < n_stable are stable keys; churn keys have -1 */
    long visits;
} scan_state;

static void scan_cb(void *priv, const dict_entry *de)
{
    scan_state *st = priv;
    st->visits++;
    if (de->v.s64 >= 0 && de->v.s64 < st->n_stable) st->seen[de->v.s64]++;
}

/* One full scan of a dict holding n_stable stable keys while churn keys
 * are added and removed between cursor steps, making the table grow and
 * shrink under the scan.  Every stable key must be reported. */
static void scan_with_churn(uint64_t seed, long n_stable, long churn_per_step, long max_churn)
{
    dict *d = dict_create(SEED, NULL, 0);
    crand r;
    crand_seed(&r, seed);
    for (long i = 0; i < n_stable; i++)
        add_key(d, "stable", i, i);

    scan_state st = {calloc((size_t)n_stable, sizeof(int)), n_stable, 0};
    long churn_lo = 0, churn_hi = 0; /* live churn keys are [lo, hi) */
    int growing = 1;
    uint64_t min_buckets = UINT64_MAX, max_buckets = 0;
    long steps = 0, steps_rehashing = 0;

    uint64_t cursor = 0;
    do {
        if (dict_is_rehashing(d)) steps_rehashing++;
        cursor = dict_scan(d, cursor, scan_cb, &st);
        steps++;

        /* Churn: grow to max_churn extra keys, then drain and shrink. */
        long k = churn_per_step / 2 + (long)crand_below(&r, (uint64_t)churn_per_step);
        for (long j = 0; j < k; j++) {
            if (growing) {
                add_key(d, "churn", churn_hi++, -1);
                if (churn_hi - churn_lo >= max_churn) growing = 0;
            } else if (churn_lo < churn_hi) {
                REQUIRE(delete_key(d, "churn", churn_lo++) == 1);
            } else {
                growing = 1;
            }
        }
        dict_shrink_if_needed(d);
        /* Random lookups drive the incremental rehash. */
        for (int j = 0; j < 3; j++)
            find_key(d, "stable", (long)crand_below(&r, (uint64_t)n_stable));
        if (dict_buckets(d) < min_buckets) min_buckets = dict_buckets(d);
        if (dict_buckets(d) > max_buckets) max_buckets = dict_buckets(d);
    } while (cursor != 0 && steps < 10000000);

    CHECK(cursor == 0);
    for (long i = 0; i < n_stable; i++)
        REQUIRE(st.seen[i] >= 1);
    /* The scenario really exercised resizing in both directions. */
    CHECK(max_buckets >= 4 * min_buckets);
    CHECK(steps_rehashing > 0);
    free(st.seen);
    dict_release(d);
}

static void test_scan_guarantee(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        scan_with_churn(seed, 300, 40, 6000);
        scan_with_churn(seed * 101, 1000, 100, 10000);
        scan_with_churn(seed * 7919, 50, 8, 2000);
    }
}

static void test_scan_plain(void)
{
    dict *d = dict_create(SEED, NULL, 0);
    scan_state st = {NULL, 0, 0};
    CHECK(dict_scan(d, 0, scan_cb, &st) == 0);
    CHECK_EQ_LL(st.visits, 0);

    /* Without resizes each key is returned exactly once. */
    const long n = 5000;
    for (long i = 0; i < n; i++)
        add_key(d, "k", i, i);
    while (dict_rehash(d, 100)) {
    }
    st.seen = calloc((size_t)n, sizeof(int));
    st.n_stable = n;
    uint64_t cursor = 0;
    long calls = 0;
    do {
        cursor = dict_scan(d, cursor, scan_cb, &st);
        calls++;
    } while (cursor != 0);
    CHECK_EQ_LL(calls, d->t[0].size);
    CHECK_EQ_LL(st.visits, n);
    for (long i = 0; i < n; i++)
        REQUIRE(st.seen[i] == 1);
    free(st.seen);
    dict_release(d);
}

/* ---------------------------------------------------------------------------
 * Random entries
 * ------------------------------------------------------------------------ */

/* de must be an entry currently linked in d. */
static int is_live_entry(dict *d, const dict_entry *de)
{
    return de && dict_find(d, de->key, dstr_len(de->key)) == de;
}

static void test_random(void)
{
    crand r;
    crand_seed(&r, 42);
    dict *d = dict_create(SEED, NULL, 0);
    CHECK(dict_random(d, &r) == NULL);

    const long n = 1000;
    for (long i = 0; i < n; i++)
        add_key(d, "k", i, i);
    for (long i = 0; i < n; i += 2)
        delete_key(d, "k", i);

    int seen[1000] = {0};
    for (int j = 0; j < 20000; j++) {
        dict_entry *de = dict_random(d, &r);
        REQUIRE(is_live_entry(d, de));
        REQUIRE(de->v.s64 % 2 == 1);
        seen[de->v.s64]++;
    }
    /* 20000 draws over 500 keys: each expected ~40 times. */
    for (long i = 1; i < n; i += 2)
        REQUIRE(seen[i] > 0);

    /* Mid-rehash, frozen, entries in both tables are drawn. */
    dict_clear(d);
    long m = fill_until_rehashing(d, 1000);
    dict_rehash(d, (int)(d->t[0].size / 2));
    REQUIRE(dict_is_rehashing(d));
    d->pause_rehash++;
    int from[2] = {0, 0};
    for (int j = 0; j < 5000; j++) {
        dict_entry *de = dict_random(d, &r);
        REQUIRE(is_live_entry(d, de));
        REQUIRE(de->v.s64 >= 0 && de->v.s64 < m);
        from[table_of(d, de)]++;
    }
    CHECK(from[0] > 0 && from[1] > 0);
    d->pause_rehash--;

    /* A single key in a big sparse table. */
    dict_clear(d);
    dict_expand(d, 4096);
    add_key(d, "only", 1, 7);
    for (int j = 0; j < 10; j++)
        CHECK(dict_random(d, &r) == find_key(d, "only", 1));
    dict_release(d);
}

static void test_sample(void)
{
    crand r;
    crand_seed(&r, 7);
    dict *d = dict_create(SEED, NULL, 0);
    dict_entry *out[64];
    CHECK(dict_sample(d, out, 16, &r) == 0);

    add_key(d, "k", 1, 1);
    add_key(d, "k", 2, 2);
    unsigned got = dict_sample(d, out, 16, &r);
    CHECK(got >= 1 && got <= 2);
    for (unsigned i = 0; i < got; i++)
        CHECK(is_live_entry(d, out[i]));

    dict_clear(d);
    long n = fill_until_rehashing(d, 3000);
    dict_rehash(d, (int)(d->t[0].size / 2));
    for (int round = 0; round < 2000; round++) {
        /* Alternate frozen and progressing rehash. */
        if (round == 1000) {
            while (dict_rehash(d, 100)) {
            }
        }
        got = dict_sample(d, out, 20, &r);
        REQUIRE(got <= 20);
        REQUIRE(got > 0);
        for (unsigned i = 0; i < got; i++) {
            REQUIRE(is_live_entry(d, out[i]));
            REQUIRE(out[i]->v.s64 >= 0 && out[i]->v.s64 < n);
        }
    }
    CHECK(dict_sample(d, out, 0, &r) == 0);
    dict_release(d);
}

/* ---------------------------------------------------------------------------
 * Ownership: shared keys and val_free
 * ------------------------------------------------------------------------ */

static void test_shared_keys(void)
{
    /* Like the keyspace: the expires dict borrows the main dict's keys.
     * Under ASan a wrong free here is a hard failure. */
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
    dict_entry *un = dict_unlink(expires, "k999", 4);
    CHECK(un != NULL && un->key == find_key(main_d, "k", 999)->key);
    dict_free_unlinked(expires, un);
    CHECK(find_key(main_d, "k", 999) != NULL);
    dict_clear(expires);
    CHECK_EQ_LL(dict_size(main_d), 1000);
    /* Re-share and release the sharing dict first, then the owner. */
    for (long i = 0; i < 10; i++)
        dict_add(expires, find_key(main_d, "k", i)->key, NULL);
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

    dict_entry *de = dict_unlink(d, "k6", 2);
    CHECK(de != NULL && *(long *)de->v.ptr == 6);
    CHECK_EQ_LL(val_free_calls, 1);
    dict_free_unlinked(d, de);
    CHECK_EQ_LL(val_free_calls, 2);

    /* A refused add does not touch the existing value. */
    dict_entry *existing = NULL;
    dstr k = dstr_from_cstr("k7");
    CHECK(dict_add(d, k, &existing) == NULL && *(long *)existing->v.ptr == 7);
    dstr_free(k);
    CHECK_EQ_LL(val_free_calls, 2);

    dict_clear(d);
    CHECK_EQ_LL(val_free_calls, 100);
    for (long i = 0; i < 10; i++)
        add_key(d, "k", i, 0)->v.ptr = make_val(i);
    dict_release(d);
    CHECK_EQ_LL(val_free_calls, 110);
}

int main(void)
{
    TEST(test_siphash_vectors);
    TEST(test_add_find_delete_100k);
    TEST(test_binary_keys);
    TEST(test_unlink_and_clear);
    TEST(test_expand_and_shrink);
    TEST(test_rehash_both_tables);
    TEST(test_rehash_sparse);
    TEST(test_iter_during_rehash);
    TEST(test_iter_forced_growth);
    TEST(test_iter_empty);
    TEST(test_scan_plain);
    TEST(test_scan_guarantee);
    TEST(test_random);
    TEST(test_sample);
    TEST(test_shared_keys);
    TEST(test_val_free);
    return TEST_REPORT();
}
