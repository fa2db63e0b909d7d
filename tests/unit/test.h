/* test.h -- the whole unit-test "framework": a few assertion macros.
 *
 * A test program is a main() that calls TEST(fn) for each test function
 * and ends with `return TEST_REPORT();`.  A failed check prints
 * file:line and the failing expression, marks the current test failed
 * and carries on, so one run shows every failure.  The last line printed
 * is always "N passed, N failed" (counting tests, not checks). */
#ifndef CAIRN_TEST_H
#define CAIRN_TEST_H

#include <stdio.h>
#include <string.h>

static int test_run_count;
static int test_fail_count;
static int test_current_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            test_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_LL(a, b)                                                                          \
    do {                                                                                           \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                              \
        if (test_a_ != test_b_) {                                                                  \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    test_a_, test_b_);                                                             \
            test_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *test_a_ = (a), *test_b_ = (b);                                                 \
        if (strcmp(test_a_, test_b_) != 0) {                                                       \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, test_a_, test_b_);                                                         \
            test_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

/* Checks inside a loop of 100k iterations would print 100k lines; stop the
 * current test function at the first failure instead. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);             \
            test_current_failed = 1;                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TEST(fn)                                                                                   \
    do {                                                                                           \
        test_current_failed = 0;                                                                   \
        fn();                                                                                      \
        test_run_count++;                                                                          \
        if (test_current_failed) {                                                                 \
            test_fail_count++;                                                                     \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

#define TEST_REPORT()                                                                              \
    (printf("%d passed, %d failed\n", test_run_count - test_fail_count, test_fail_count),          \
     test_fail_count != 0)

#endif
