/* clock.c -- the hosts' clocks; see clock.h. */
#include "clock.h"

#include <time.h>

static int64_t read_us(clockid_t id)
{
    struct timespec ts;
    /* Fails only for an unknown clock id; both used here always exist. */
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_us(void) { return read_us(CLOCK_MONOTONIC); }

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_real_us(void) { return read_us(CLOCK_REALTIME); }

void clock_mono_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int64_t wall_clock_take(wall_clock *w, int64_t reading_us, int64_t *stepped_back)
{
    *stepped_back = 0;
    if (reading_us >= w->last_us) {
        w->last_us = reading_us;
        w->behind = 0;
        return reading_us;
    }
    if (!w->behind) *stepped_back = w->last_us - reading_us;
    w->behind = 1;
    return w->last_us;
}
