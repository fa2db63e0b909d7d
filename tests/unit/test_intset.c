/* test_intset.c -- unit tests for src/ds/intset.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ds/intset.h"
#include "ds/rand.h"
#include "test.h"

static uint32_t enc(const intset *is)
{
    const uint8_t *b = (const uint8_t *)&is->encoding;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int sorted_distinct(const intset *is)
{
    for (uint32_t i = 1; i < intset_len(is); i++)
        if (intset_get(is, i - 1) >= intset_get(is, i)) return 0;
    return intset_validate(is, intset_bytes(is));
}

static void test_empty(void)
{
    intset *is = intset_new();
    CHECK_EQ_LL(intset_len(is), 0);
    CHECK_EQ_LL(enc(is), 2);
    CHECK(!intset_find(is, 0));
    CHECK(!intset_find(is, LLONG_MAX));
    int removed = 7;
    is = intset_remove(is, 5, &removed);
    CHECK_EQ_LL(removed, 0);
    is = intset_remove(is, INT64_MIN, &removed);
    CHECK_EQ_LL(removed, 0);
    CHECK(intset_validate(is, intset_bytes(is)));
    CHECK_EQ_LL(intset_bytes(is), 8);
    intset_free(is);
}

static void test_add_find(void)
{
    intset *is = intset_new();
    int added;
    static const int64_t vals[] = {5, -3, 100, 0, 32767, -32768, 7, 5, 0};
    static const int want_added[] = {1, 1, 1, 1, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        is = intset_add(is, vals[i], &added);
        CHECK_EQ_LL(added, want_added[i]);
    }
    CHECK_EQ_LL(intset_len(is), 7);
    CHECK_EQ_LL(enc(is), 2);
    static const int64_t order[] = {-32768, -3, 0, 5, 7, 100, 32767};
    for (uint32_t i = 0; i < 7; i++) {
        CHECK_EQ_LL(intset_get(is, i), order[i]);
        CHECK(intset_find(is, order[i]));
    }
    CHECK(!intset_find(is, 1));
    CHECK(!intset_find(is, 32768));
    CHECK(!intset_find(is, -32769));
    CHECK(!intset_find(is, INT64_MAX));
    CHECK(sorted_distinct(is));
    CHECK_EQ_LL(intset_bytes(is), 8 + 7 * 2);
    is = intset_add(is, 1, NULL); /* added may be NULL */
    CHECK(intset_find(is, 1));
    intset_free(is);
}

static void test_upgrades(void)
{
    int added;
    /* 16 -> 32 with a positive value (appended). */
    intset *is = intset_new();
    is = intset_add(is, 1, &added);
    is = intset_add(is, -2, &added);
    is = intset_add(is, 32768, &added);
    CHECK_EQ_LL(added, 1);
    CHECK_EQ_LL(enc(is), 4);
    CHECK_EQ_LL(intset_get(is, 0), -2);
    CHECK_EQ_LL(intset_get(is, 1), 1);
    CHECK_EQ_LL(intset_get(is, 2), 32768);
    /* 32 -> 64 with a negative value (prepended). */
    is = intset_add(is, -2147483649LL, &added);
    CHECK_EQ_LL(enc(is), 8);
    CHECK_EQ_LL(intset_get(is, 0), -2147483649LL);
    CHECK_EQ_LL(intset_get(is, 1), -2);
    CHECK_EQ_LL(intset_get(is, 3), 32768);
    CHECK(sorted_distinct(is));
    /* Widths never shrink. */
    is = intset_remove(is, -2147483649LL, &added);
    is = intset_remove(is, 32768, &added);
    CHECK_EQ_LL(enc(is), 8);
    CHECK_EQ_LL(intset_len(is), 2);
    CHECK(sorted_distinct(is));
    intset_free(is);

    /* 16 -> 64 directly, with the extremes. */
    is = intset_new();
    is = intset_add(is, 10, &added);
    is = intset_add(is, INT64_MIN, &added);
    CHECK_EQ_LL(enc(is), 8);
    is = intset_add(is, INT64_MAX, &added);
    is = intset_add(is, INT64_MIN, &added);
    CHECK_EQ_LL(added, 0);
    CHECK_EQ_LL(intset_len(is), 3);
    CHECK(intset_get(is, 0) == INT64_MIN);
    CHECK(intset_get(is, 2) == INT64_MAX);
    CHECK(intset_find(is, INT64_MIN) && intset_find(is, INT64_MAX));
    intset_free(is);

    /* 16 -> 32 negative, each boundary. */
    static const struct {
        int64_t v;
        uint32_t e;
    } b[] = {{32767, 2},           {-32768, 2},          {32768, 4},
             {-32769, 4},          {INT32_MAX, 4},       {INT32_MIN, 4},
             {INT32_MAX + 1LL, 8}, {INT32_MIN - 1LL, 8}, {INT64_MAX, 8}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        is = intset_add(intset_new(), 0, NULL);
        is = intset_add(is, b[i].v, &added);
        CHECK_EQ_LL(enc(is), b[i].e);
        CHECK(intset_find(is, b[i].v) && intset_find(is, 0));
        CHECK(sorted_distinct(is));
        CHECK_EQ_LL(intset_bytes(is), 8 + 2 * b[i].e);
        intset_free(is);
    }
}

static void test_remove(void)
{
    intset *is = intset_new();
    for (int64_t v = 0; v < 10; v++)
        is = intset_add(is, v * 3, NULL);
    int removed;
    is = intset_remove(is, 0, &removed); /* head */
    CHECK_EQ_LL(removed, 1);
    is = intset_remove(is, 27, &removed); /* tail */
    CHECK_EQ_LL(removed, 1);
    is = intset_remove(is, 12, &removed); /* middle */
    CHECK_EQ_LL(removed, 1);
    is = intset_remove(is, 13, &removed);
    CHECK_EQ_LL(removed, 0);
    is = intset_remove(is, 1LL << 40, &removed); /* wider than the set */
    CHECK_EQ_LL(removed, 0);
    CHECK_EQ_LL(intset_len(is), 7);
    static const int64_t want[] = {3, 6, 9, 15, 18, 21, 24};
    for (uint32_t i = 0; i < 7; i++)
        CHECK_EQ_LL(intset_get(is, i), want[i]);
    CHECK(sorted_distinct(is));
    for (uint32_t i = 0; i < 7; i++)
        is = intset_remove(is, want[i], NULL);
    CHECK_EQ_LL(intset_len(is), 0);
    intset_free(is);
}

/* The storage is little-endian whatever the host. */
static void test_layout(void)
{
    intset *is = intset_new();
    is = intset_add(is, 0x0102, NULL);
    const uint8_t *raw = (const uint8_t *)is;
    CHECK(raw[0] == 2 && raw[1] == 0 && raw[4] == 1 && raw[5] == 0);
    CHECK(raw[8] == 0x02 && raw[9] == 0x01);
    is = intset_add(is, 0x01020304, NULL);
    raw = (const uint8_t *)is;
    CHECK(raw[0] == 4 && raw[4] == 2);
    CHECK(raw[8] == 0x02 && raw[9] == 0x01 && raw[10] == 0 && raw[11] == 0);
    CHECK(raw[12] == 0x04 && raw[13] == 0x03 && raw[14] == 0x02 && raw[15] == 0x01);
    is = intset_add(is, -1, NULL);
    raw = (const uint8_t *)is;
    CHECK(raw[8] == 0xFF && raw[11] == 0xFF);
    intset_free(is);
}

static void test_validate(void)
{
    intset *is = intset_new();
    for (int64_t v = -5; v < 5; v++)
        is = intset_add(is, v * 1000, NULL);
    size_t n = intset_bytes(is);
    CHECK(intset_validate(is, n));
    CHECK(!intset_validate(NULL, 0));
    CHECK(!intset_validate(is, 7));
    CHECK(!intset_validate(is, n - 1));
    CHECK(!intset_validate(is, n + 2));
    uint8_t *copy = malloc(n + 8);
    /* Every truncation is rejected. */
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(copy, is, cut);
        REQUIRE(!intset_validate((intset *)copy, cut));
    }
    /* Bad encoding. */
    memcpy(copy, is, n);
    copy[0] = 3;
    CHECK(!intset_validate((intset *)copy, n));
    copy[0] = 0;
    CHECK(!intset_validate((intset *)copy, n));
    /* Length too large. */
    memcpy(copy, is, n);
    copy[4] = 11;
    CHECK(!intset_validate((intset *)copy, n));
    copy[4] = 0xFF;
    copy[7] = 0xFF;
    CHECK(!intset_validate((intset *)copy, n));
    /* Out of order / duplicate. */
    memcpy(copy, is, n);
    memcpy(copy + 8, copy + 10, 2); /* duplicate of the second element */
    CHECK(!intset_validate((intset *)copy, n));
    memcpy(copy, is, n);
    copy[8 + 2 * 9 + 1] = 0x80; /* last element becomes negative */
    CHECK(!intset_validate((intset *)copy, n));
    free(copy);
    intset_free(is);
}

static void test_random_pick(void)
{
    crand r;
    crand_seed(&r, 42);
    intset *is = intset_new();
    for (int64_t v = 0; v < 8; v++)
        is = intset_add(is, v << 33, NULL);
    int seen[8] = {0};
    for (int i = 0; i < 2000; i++) {
        int64_t v = intset_random(is, &r);
        REQUIRE(intset_find(is, v));
        seen[v >> 33]++;
    }
    for (int i = 0; i < 8; i++)
        CHECK(seen[i] > 100);
    intset_free(is);
}

/* Random adds and removes against a sorted-array model. */
static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_random_model(void)
{
    crand r;
    crand_seed(&r, 7);
    enum { MAX = 3000 };
    static int64_t model[MAX];
    size_t n = 0;
    intset *is = intset_new();
    for (int op = 0; op < 30000; op++) {
        int64_t v;
        switch (crand_below(&r, 10)) {
        case 0: v = (int64_t)crand_next(&r); break;
        case 1: v = (int64_t)(int32_t)crand_next(&r); break;
        case 2: v = (int64_t)(int16_t)crand_next(&r); break;
        default: v = (int64_t)crand_below(&r, 2000) - 1000; break;
        }
        int64_t *found = n ? bsearch(&v, model, n, sizeof v, cmp64) : NULL;
        if (crand_below(&r, 3) && n < MAX) {
            int added;
            is = intset_add(is, v, &added);
            REQUIRE(added == (found == NULL));
            if (!found) {
                size_t at = 0;
                while (at < n && model[at] < v)
                    at++;
                memmove(model + at + 1, model + at, (n - at) * sizeof v);
                model[at] = v;
                n++;
            }
        } else {
            /* Remove either v or an existing member. */
            if (n && crand_below(&r, 2)) {
                v = model[crand_below(&r, n)];
                found = bsearch(&v, model, n, sizeof v, cmp64);
            }
            int removed;
            is = intset_remove(is, v, &removed);
            REQUIRE(removed == (found != NULL));
            if (found) {
                memmove(found, found + 1, (size_t)(model + n - found - 1) * sizeof v);
                n--;
            }
        }
        REQUIRE(intset_len(is) == n);
        REQUIRE(intset_find(is, v) == (n && bsearch(&v, model, n, sizeof v, cmp64) != NULL));
        if (op % 250 == 0) {
            for (uint32_t i = 0; i < n; i++)
                REQUIRE(intset_get(is, i) == model[i]);
            REQUIRE(intset_validate(is, intset_bytes(is)));
        }
    }
    for (uint32_t i = 0; i < n; i++)
        REQUIRE(intset_get(is, i) == model[i]);
    intset_free(is);
}

int main(void)
{
    TEST(test_empty);
    TEST(test_add_find);
    TEST(test_upgrades);
    TEST(test_remove);
    TEST(test_layout);
    TEST(test_validate);
    TEST(test_random_pick);
    TEST(test_random_model);
    return TEST_REPORT();
}
