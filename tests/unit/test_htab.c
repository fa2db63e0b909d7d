/* test_htab.c -- the open-addressing table against a model. */
#include <stdio.h>
#include <stdlib.h>

#include "../../src/ds/alloc.h"
#include "../../src/ds/htab.h"
#include "test.h"

static const uint8_t SEED[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

/* An element: an id and its key "<prefix>:<id>". */
typedef struct elem {
    long id;
    size_t len;
    char key[32];
} elem;

static cslice elem_key(const void *e)
{
    const elem *x = e;
    return (cslice){x->key, x->len};
}

static int frees;
static void elem_free(void *e)
{
    frees++;
    free(e);
}

static const htab_type TYPE = {elem_key, elem_free};
static const htab_type TYPE_NOFREE = {elem_key, NULL};

static elem *make(const char *prefix, long id)
{
    elem *e = malloc(sizeof(*e));
    e->id = id;
    e->len = (size_t)snprintf(e->key, sizeof(e->key), "%s:%ld", prefix, id);
    return e;
}

static elem *find(htab *h, const char *prefix, long id)
{
    char k[32];
    int n = snprintf(k, sizeof(k), "%s:%ld", prefix, id);
    return htab_find(h, k, (size_t)n);
}

static int delete (htab *h, const char *prefix, long id)
{
    char k[32];
    int n = snprintf(k, sizeof(k), "%s:%ld", prefix, id);
    return htab_delete(h, k, (size_t)n);
}

static void test_add_find_delete(void)
{
    htab *h = htab_create(&TYPE, SEED);
    enum { N = 100000 };
    for (long i = 0; i < N; i++)
        CHECK(htab_add(h, make("k", i), NULL) == 1);
    CHECK_EQ_LL(htab_size(h), N);
    elem *dup = make("k", 77), *existing = NULL;
    CHECK(htab_add(h, dup, (void **)&existing) == 0);
    CHECK(existing && existing->id == 77 && existing != dup);
    free(dup);
    for (long i = 0; i < N; i++) {
        elem *e = find(h, "k", i);
        if (!e || e->id != i) {
            CHECK(0);
            break;
        }
    }
    CHECK(find(h, "k", N) == NULL);
    CHECK(find(h, "x", 1) == NULL);
    frees = 0;
    for (long i = 0; i < N; i += 2)
        CHECK(delete (h, "k", i) == 1);
    CHECK(delete (h, "k", 0) == 0);
    CHECK_EQ_LL(frees, N / 2);
    CHECK_EQ_LL(htab_size(h), N / 2);
    for (long i = 0; i < N; i++)
        CHECK((find(h, "k", i) != NULL) == (i % 2 == 1));
    /* Emptying shrinks the table back to a bucket or two. */
    for (long i = 1; i < N; i += 2)
        CHECK(delete (h, "k", i) == 1);
    while (htab_rehash(h, 100))
        ;
    htab_shrink_if_needed(h);
    while (htab_rehash(h, 100))
        ;
    CHECK_EQ_LL(htab_size(h), 0);
    CHECK(htab_mem_usage(h) <= sizeof(htab) + 2 * 64);
    htab_release(h);
}

/* The table's own bytes per element for a million elements (the bench's
 * size): 2^18 buckets of 64 bytes plus a few chains, about 18 bytes. */
static void test_density(void)
{
    htab *h = htab_create(&TYPE_NOFREE, SEED);
    enum { N = 1000000 };
    elem *all = malloc(N * sizeof(*all));
    for (long i = 0; i < N; i++) {
        all[i].id = i;
        all[i].len = (size_t)snprintf(all[i].key, sizeof(all[i].key), "d:%ld", i);
        cslice k = elem_key(&all[i]);
        htab_add_new_hashed(h, &all[i], htab_hash(h, k.ptr, k.len));
    }
    while (htab_rehash(h, 1000))
        ;
    CHECK_EQ_LL(htab_size(h), N);
    double per = (double)htab_mem_usage(h) / N;
    printf("htab: %.1f bytes of table per element at %d elements\n", per, N);
    CHECK(per < 19.0);
    CHECK(find(h, "d", N - 1) == &all[N - 1]);
    htab_release(h);
    free(all);
}

/* Pointers from htab_pop() are the caller's; htab_find_ref() replaces. */
static void test_pop_and_ref(void)
{
    htab *h = htab_create(&TYPE, SEED);
    for (long i = 0; i < 1000; i++)
        htab_add(h, make("p", i), NULL);
    elem *e = htab_pop(h, "p:5", 3);
    CHECK(e && e->id == 5);
    CHECK(find(h, "p", 5) == NULL);
    CHECK(htab_pop(h, "p:5", 3) == NULL);
    free(e);

    elem *repl = make("p", 7);
    repl->id = 7007;
    void **ref = htab_find_ref(h, "p:7", 3, htab_hash(h, "p:7", 3));
    CHECK(ref != NULL);
    free(*ref);
    *ref = repl;
    CHECK(find(h, "p", 7)->id == 7007);
    CHECK(htab_find_ref(h, "p:5", 3, htab_hash(h, "p:5", 3)) == NULL);
    htab_release(h);
}

/* Many elements in a table that may not grow (an iterator pauses the
 * rehash once it has started) end up in long chains: everything must
 * still be found, deleted and iterated exactly once. */
static void test_chains(void)
{
    htab *h = htab_create(&TYPE, SEED);
    htab_add(h, make("c", 0), NULL);
    htab_iter it;
    htab_iter_start(&it, h);
    enum { N = 5000 };
    for (long i = 1; i < N; i++)
        htab_add(h, make("c", i), NULL);
    CHECK(h->t[0].chained + h->t[1].chained > 0);
    htab_iter_end(&it);
    for (long i = 0; i < N; i++)
        CHECK(find(h, "c", i) != NULL);
    int *seen = calloc(N, sizeof(int));
    htab_iter_start(&it, h);
    elem *e;
    while ((e = htab_iter_next(&it)) != NULL) {
        seen[e->id]++;
        if (e->id % 3 == 0) CHECK(delete (h, "c", e->id) == 1);
    }
    htab_iter_end(&it);
    for (long i = 0; i < N; i++)
        CHECK_EQ_LL(seen[i], 1);
    for (long i = 0; i < N; i++)
        CHECK((find(h, "c", i) != NULL) == (i % 3 != 0));
    free(seen);
    htab_release(h);
}

/* A safe iteration that adds while it runs returns every element that was
 * there at the start exactly once. */
static void test_iter_with_adds(void)
{
    htab *h = htab_create(&TYPE, SEED);
    enum { N = 2000 };
    for (long i = 0; i < N; i++)
        htab_add(h, make("a", i), NULL);
    int *seen = calloc(N, sizeof(int));
    htab_iter it;
    htab_iter_start(&it, h);
    elem *e;
    long added = 0;
    while ((e = htab_iter_next(&it)) != NULL) {
        if (e->id < N) seen[e->id]++;
        if (added < 3 * N) htab_add(h, make("a", N + added++), NULL);
    }
    htab_iter_end(&it);
    for (long i = 0; i < N; i++)
        CHECK_EQ_LL(seen[i], 1);
    CHECK_EQ_LL(htab_size(h), N + added);
    free(seen);
    htab_release(h);
}

typedef struct scan_state {
    int *seen;
    long n_stable;
} scan_state;

static void scan_cb(void *priv, void *p)
{
    scan_state *st = priv;
    elem *e = p;
    if (e->id < st->n_stable) st->seen[e->id]++;
}

/* A full scan while churn makes the table grow and shrink under it still
 * returns every element present for the whole scan. */
static void scan_with_churn(uint64_t seed, long n_stable, long churn_per_step, long max_churn)
{
    htab *h = htab_create(&TYPE, SEED);
    crand r;
    crand_seed(&r, seed);
    for (long i = 0; i < n_stable; i++)
        htab_add(h, make("s", i), NULL);
    scan_state st = {calloc((size_t)n_stable, sizeof(int)), n_stable};
    long lo = n_stable, hi = n_stable; /* churn ids are [lo, hi) */
    int growing = 1;
    uint64_t min_b = UINT64_MAX, max_b = 0;
    long steps = 0, steps_rehashing = 0;
    uint64_t cursor = 0;
    do {
        if (htab_is_rehashing(h)) steps_rehashing++;
        cursor = htab_scan(h, cursor, scan_cb, &st);
        steps++;
        long k = churn_per_step / 2 + (long)crand_below(&r, (uint64_t)churn_per_step);
        for (long j = 0; j < k; j++) {
            if (growing) {
                htab_add(h, make("s", hi++), NULL);
                if (hi - lo >= max_churn) growing = 0;
            } else if (lo < hi) {
                CHECK(delete (h, "s", lo++) == 1);
            } else {
                growing = 1;
            }
        }
        for (int j = 0; j < 3; j++)
            find(h, "s", (long)crand_below(&r, (uint64_t)n_stable));
        uint64_t b = h->t[0].nbuckets + h->t[1].nbuckets;
        if (b < min_b) min_b = b;
        if (b > max_b) max_b = b;
    } while (cursor != 0 && steps < 10000000);
    CHECK(cursor == 0);
    for (long i = 0; i < n_stable; i++)
        if (st.seen[i] < 1) {
            CHECK(st.seen[i] >= 1);
            break;
        }
    CHECK(max_b >= 4 * min_b);
    CHECK(steps_rehashing > 0);
    free(st.seen);
    htab_release(h);
}

static void test_scan_guarantee(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        scan_with_churn(seed, 300, 40, 6000);
        scan_with_churn(seed * 101, 1000, 100, 10000);
        scan_with_churn(seed * 7919, 50, 8, 2000);
    }
}

static void test_scan_empty_and_plain(void)
{
    htab *h = htab_create(&TYPE, SEED);
    scan_state st = {calloc(500, sizeof(int)), 500};
    CHECK(htab_scan(h, 0, scan_cb, &st) == 0);
    for (long i = 0; i < 500; i++)
        htab_add(h, make("q", i), NULL);
    while (htab_rehash(h, 100))
        ;
    uint64_t cursor = 0;
    do
        cursor = htab_scan(h, cursor, scan_cb, &st);
    while (cursor);
    for (long i = 0; i < 500; i++)
        CHECK_EQ_LL(st.seen[i], 1); /* no resize: each exactly once */
    free(st.seen);
    htab_release(h);
}

static void test_random_and_sample(void)
{
    htab *h = htab_create(&TYPE, SEED);
    crand r;
    crand_seed(&r, 42);
    CHECK(htab_random(h, &r) == NULL);
    void *out[64];
    CHECK(htab_sample(h, out, 16, &r) == 0);
    enum { N = 200 };
    for (long i = 0; i < N; i++)
        htab_add(h, make("r", i), NULL);
    int hits[N] = {0};
    for (int i = 0; i < 20000; i++) {
        elem *e = htab_random(h, &r);
        REQUIRE(e && e->id >= 0 && e->id < N);
        hits[e->id]++;
    }
    for (long i = 0; i < N; i++)
        CHECK(hits[i] > 0); /* every element can be drawn */
    unsigned n = htab_sample(h, out, 16, &r);
    CHECK(n > 0 && n <= 16);
    for (unsigned i = 0; i < n; i++)
        CHECK(find(h, "r", ((elem *)out[i])->id) == out[i]);
    /* While rehashing, draws still come from both tables. */
    for (long i = N; i < 4 * N; i++)
        htab_add(h, make("r", i), NULL);
    if (htab_is_rehashing(h)) {
        for (int i = 0; i < 1000; i++)
            CHECK(htab_random(h, &r) != NULL);
    }
    htab_release(h);
}

static void test_clear_and_nofree(void)
{
    htab *h = htab_create(&TYPE, SEED);
    for (long i = 0; i < 1000; i++)
        htab_add(h, make("z", i), NULL);
    frees = 0;
    htab_clear(h);
    CHECK_EQ_LL(frees, 1000);
    CHECK_EQ_LL(htab_size(h), 0);
    CHECK(find(h, "z", 3) == NULL);
    htab_add(h, make("z", 3), NULL);
    CHECK(find(h, "z", 3) != NULL);
    htab_release(h);

    elem *keep = make("n", 1);
    h = htab_create(&TYPE_NOFREE, SEED);
    htab_add(h, keep, NULL);
    frees = 0;
    htab_release(h);
    CHECK_EQ_LL(frees, 0);
    free(keep);
}

int main(void)
{
    TEST(test_add_find_delete);
    TEST(test_density);
    TEST(test_pop_and_ref);
    TEST(test_chains);
    TEST(test_iter_with_adds);
    TEST(test_scan_guarantee);
    TEST(test_scan_empty_and_plain);
    TEST(test_random_and_sample);
    TEST(test_clear_and_nofree);
    return TEST_REPORT();
}
