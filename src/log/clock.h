/* clock.h -- the clocks of the hosts (the server, libcairn, the log).
 *
 * The engine reads no clock (DESIGN): its hosts hand it the time.  Two
 * clocks, for two different uses:
 *
 * - The wall clock (CLOCK_REALTIME) is data: a command's now_ms sets
 *   expiry times, leases and limiter windows, and travels in log entries.
 *   A host reads it through its own wall_clock, which never goes
 *   backwards: a step back of the system clock is held at the last time
 *   handed out (and reported once) until the clock catches up, so TTLs
 *   and leases never move back in time within a process.
 * - The monotonic clock (CLOCK_MONOTONIC) measures every interval the
 *   process times for itself: idle and output-buffer timeouts, cron and
 *   loading budgets, durations reported by INFO, the log's fsync waits.
 *
 * The clamp state lives in the host (the server's network layer, a
 * libcairn handle): no global state. */
#ifndef CAIRN_CLOCK_H
#define CAIRN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in microseconds, and in nanoseconds (timing commands). */
int64_t clock_mono_us(void);
int64_t clock_mono_ns(void);
static inline int64_t clock_mono_ms(void) { return clock_mono_us() / 1000; }
/* CLOCK_REALTIME in microseconds since the epoch, unclamped: for reported
 * timestamps (LASTSAVE, log lines), never for command time. */
int64_t clock_real_us(void);

/* The CLOCK_MONOTONIC time ms from now, as pthread_cond_timedwait() takes
 * it on a condition variable set to that clock (pthread_condattr_setclock). */
void clock_mono_deadline(struct timespec *ts, long ms);

typedef struct wall_clock {
    int64_t last_us; /* the latest time handed out */
    int behind;      /* the system clock is behind last_us */
} wall_clock;

/* Take a wall clock reading (unix us) through the clamp: returns
 * max(reading, every time handed out before).  *stepped_back is set to
 * how far the clock went back when a step back begins, else to 0, so a
 * host warns once per step rather than on every command. */
int64_t wall_clock_take(wall_clock *w, int64_t reading_us, int64_t *stepped_back);
/* wall_clock_take() of CLOCK_REALTIME now. */
static inline int64_t wall_clock_now_us(wall_clock *w, int64_t *stepped_back)
{
    return wall_clock_take(w, clock_real_us(), stepped_back);
}

#endif
