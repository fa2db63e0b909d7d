/* test_histogram.c -- unit tests for src/ds/histogram.c. */
#include <stdlib.h>

#include "ds/histogram.h"
#include "test.h"

/* Within the bucket width: 1/HIST_SUB of the value, on the high side. */
static int close_above(uint64_t got, uint64_t want)
{
    return got >= want && got <= want + want / HIST_SUB;
}

static void test_buckets_are_ordered_and_fine(void)
{
    /* Every value maps into range, buckets never go backwards, and a
     * bucket never spans more than 1/HIST_SUB of its values. */
    unsigned prev = 0;
    for (uint64_t v = 0; v <= HIST_MAX; v += 1 + v / 97) {
        unsigned b = hist_bucket(v);
        CHECK(b < HIST_BUCKETS);
        CHECK(b >= prev);
        prev = b;
    }
    CHECK(hist_bucket(2047) != hist_bucket(2048));
    CHECK(hist_bucket(2048) == hist_bucket(2048 + 2048 / HIST_SUB - 1));
    CHECK(hist_bucket(2048) != hist_bucket(2048 + 2048 / HIST_SUB));
}

static void test_percentiles(void)
{
    hist *h = calloc(1, sizeof(*h));
    CHECK(hist_percentile(h, 50) == 0);
    /* 1..1000 us, once each. */
    for (uint64_t us = 1; us <= 1000; us++)
        hist_record(h, us * 1000);
    CHECK(h->total == 1000);
    CHECK(close_above(hist_percentile(h, 50), 500 * 1000));
    CHECK(close_above(hist_percentile(h, 99), 990 * 1000));
    CHECK(close_above(hist_percentile(h, 99.9), 999 * 1000));
    CHECK(hist_percentile(h, 100) == 1000 * 1000);
    CHECK(close_above(hist_percentile(h, 0), 1000));
    free(h);
}

static void test_clamped_like_redis(void)
{
    hist *h = calloc(1, sizeof(*h));
    hist_record(h, 0);             /* below 1 ns */
    hist_record(h, 5000000000ull); /* above 1 s */
    CHECK(hist_percentile(h, 0) == HIST_MIN);
    CHECK(hist_percentile(h, 100) == HIST_MAX);
    free(h);
}

int main(void)
{
    TEST(test_buckets_are_ordered_and_fine);
    TEST(test_percentiles);
    TEST(test_clamped_like_redis);
    return TEST_REPORT();
}
