/* test_clock.c -- the hosts' clocks (src/log/clock.h): command time never
 * goes backwards however the wall clock steps, a step back is reported
 * once, and the monotonic clock does not go back. */
#include "log/clock.h"
#include "test.h"

/* Readings fed through the clamp, and what it must hand out and report. */
static void test_wall_clock_never_goes_back(void)
{
    static const struct {
        int64_t reading, want, back;
    } steps[] = {
        {1000000, 1000000, 0},      {2000000, 2000000, 0},
        {1500000, 2000000, 500000}, /* stepped back: held, reported */
        {1800000, 2000000, 0},      /* still behind: held, not reported again */
        {2000000, 2000000, 0},      /* caught up */
        {2500000, 2500000, 0},      {2400000, 2500000, 100000}, /* a new step back is reported */
        {9000000, 9000000, 0},                                  /* forward steps pass through */
    };
    wall_clock w = {0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int64_t back = -1;
        CHECK_EQ_LL(wall_clock_take(&w, steps[i].reading, &back), steps[i].want);
        CHECK_EQ_LL(back, steps[i].back);
    }
}

static void test_real_clocks(void)
{
    wall_clock w = {0};
    int64_t back;
    int64_t prev_wall = wall_clock_now_us(&w, &back), prev_mono = clock_mono_us();
    CHECK(prev_wall > 1600000000LL * 1000000); /* a unix time in us */
    for (int i = 0; i < 100000; i++) {
        int64_t wall = wall_clock_now_us(&w, &back), mono = clock_mono_us();
        REQUIRE(wall >= prev_wall && mono >= prev_mono);
        prev_wall = wall;
        prev_mono = mono;
    }
}

int main(void)
{
    TEST(test_wall_clock_never_goes_back);
    TEST(test_real_clocks);
    return TEST_REPORT();
}
