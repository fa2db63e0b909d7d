/* Unit tests of the coordination commands (t_coord.c) and of SET IFEQ,
 * driven through engine_execute with an injected clock: exact decisions
 * at the boundaries (the last request allowed, the first refused, the
 * instant the limiter refills), zero and huge quantities, parameters whose
 * products overflow, the lock state machine, and replay from the log. */
#include <stdarg.h>

#include "ds/alloc.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

/* A realistic clock (Nov 2023), a multiple of every window used below. */
#define T0 1700000000000LL

#define RUN(now, ...)              run_words_at(e, &s, now, WORDS(__VA_ARGS__))
#define RUN_ON(eng, ses, now, ...) run_words_at(eng, ses, now, WORDS(__VA_ARGS__))

static int check_reply_at(const char *file, int line, char *got, const char *want)
{
    int ok = strcmp(got, want) == 0;
    if (!ok) {
        fprintf(stderr, "%s:%d: reply \"%s\" != \"%s\"\n", file, line, got, want);
        test_current_failed = 1;
    }
    cm_free(got);
    return ok;
}
#define EXPECT(got, want) check_reply_at(__FILE__, __LINE__, got, want)

/* The RESP2 encoding of a limiter's five-integer reply. */
static const char *five(long long a, long long b, long long c, long long d, long long e)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "*5\r\n:%lld\r\n:%lld\r\n:%lld\r\n:%lld\r\n:%lld\r\n", a, b, c, d,
             e);
    return buf;
}

#define SETUP()                                                                                    \
    cairn_engine *e = new_engine(7);                                                               \
    cairn_session s;                                                                               \
    session_init(e, &s)
#define TEARDOWN()                                                                                 \
    session_reset(&s);                                                                             \
    engine_free(e)

/* ------------------------------------------------------------------ */
/* CL.THROTTLE                                                          */
/* ------------------------------------------------------------------ */

/* redis-cell's own test table: limit 5 (max_burst 4), one per second. */
static void test_throttle_matches_redis_cell(void)
{
    SETUP();
    static const struct {
        long long t, q;
        long long limited, remaining, retry, reset, pretry, preset;
    } cases[] = {
        {0, 6, 1, 5, -1, 0, -1, 0}, /* larger than the limit: never */
        {0, 1, 0, 4, -1, 1, -1, 1000},    {0, 1, 0, 3, -1, 2, -1, 2000},
        {0, 1, 0, 2, -1, 3, -1, 3000},    {0, 1, 0, 1, -1, 4, -1, 4000},
        {0, 1, 0, 0, -1, 5, -1, 5000},  /* the last allowed */
        {0, 1, 1, 0, 1, 5, 1000, 5000}, /* the first refused */
        {3000, 1, 0, 2, -1, 3, -1, 3000}, {3100, 1, 0, 1, -1, 4, -1, 3900},
        {4000, 1, 0, 1, -1, 4, -1, 4000}, {8000, 1, 0, 4, -1, 1, -1, 1000},
        {9500, 1, 0, 4, -1, 1, -1, 1000}, {9500, 0, 0, 4, -1, 1, -1, 1000}, /* a peek */
        {9500, 2, 0, 2, -1, 3, -1, 3000}, {9500, 5, 1, 2, 3, 3, 3000, 3000},
    };
    char q[24];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(q, sizeof(q), "%lld", cases[i].q);
        long long now = T0 + cases[i].t;
        /* The seconds and the milliseconds variant on twin keys. */
        if (!EXPECT(RUN(now, "CL.THROTTLE", "k", "4", "1", "1", q),
                    five(cases[i].limited, 5, cases[i].remaining, cases[i].retry, cases[i].reset)))
            fprintf(stderr, "  case %zu\n", i);
        if (!EXPECT(
                RUN(now, "CL.PTHROTTLE", "pk", "4", "1", "1000", q),
                five(cases[i].limited, 5, cases[i].remaining, cases[i].pretry, cases[i].preset)))
            fprintf(stderr, "  case %zu (ms)\n", i);
    }
    TEARDOWN();
}

/* 3 per second is an emission interval of 333333333ns: redis-cell rounds
 * a retry of 0.333ms down to 0s (only whole milliseconds round up), the
 * ms variant rounds it up to 1ms. */
static void test_throttle_sub_millisecond_rounding(void)
{
    SETUP();
    for (int i = 0; i < 3; i++)
        cm_free(RUN(T0, "CL.THROTTLE", "k", "2", "3", "1"));
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "2", "3", "1"), five(1, 3, 0, 1, 1));
    EXPECT(RUN(T0 + 333, "CL.THROTTLE", "k", "2", "3", "1"), five(1, 3, 0, 0, 1));
    EXPECT(RUN(T0 + 334, "CL.THROTTLE", "k", "2", "3", "1"), five(0, 3, 0, -1, 1));

    EXPECT(RUN(T0, "CL.PTHROTTLE", "p", "2", "3", "1000"), five(0, 3, 2, -1, 334));
    EXPECT(RUN(T0, "CL.PTHROTTLE", "p", "2", "3", "1000"), five(0, 3, 1, -1, 667));
    EXPECT(RUN(T0, "CL.PTHROTTLE", "p", "2", "3", "1000"), five(0, 3, 0, -1, 1000));
    EXPECT(RUN(T0 + 333, "CL.PTHROTTLE", "p", "2", "3", "1000"), five(1, 3, 0, 1, 667));
    EXPECT(RUN(T0 + 334, "CL.PTHROTTLE", "p", "2", "3", "1000"), five(0, 3, 0, -1, 1000));
    TEARDOWN();
}

/* The state is the TAT in ns, in a key that expires at the TAT. */
static void test_throttle_state_and_expiry(void)
{
    SETUP();
    /* A peek creates nothing. */
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "10", "0"), five(0, 2, 2, -1, 0));
    EXPECT(RUN(T0, "EXISTS", "k"), ":0\r\n");

    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "10"), five(0, 2, 1, -1, 10));
    EXPECT(RUN(T0, "GET", "k"), "$19\r\n1700000010000000000\r\n");
    EXPECT(RUN(T0, "TYPE", "k"), "+string\r\n");
    EXPECT(RUN(T0, "PTTL", "k"), ":10000\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "10"), five(0, 2, 0, -1, 20));
    EXPECT(RUN(T0, "PTTL", "k"), ":20000\r\n");
    /* A refused request changes nothing. */
    EXPECT(RUN(T0 + 5000, "CL.THROTTLE", "k", "1", "1", "10"), five(1, 2, 0, 5, 15));
    EXPECT(RUN(T0 + 5000, "PTTL", "k"), ":15000\r\n");
    /* Refill: one slot back after one interval, all of them at the TAT. */
    EXPECT(RUN(T0 + 9999, "CL.THROTTLE", "k", "1", "1", "10", "0"), five(0, 2, 0, -1, 11));
    EXPECT(RUN(T0 + 10000, "CL.THROTTLE", "k", "1", "1", "10", "0"), five(0, 2, 1, -1, 10));
    EXPECT(RUN(T0 + 20000, "EXISTS", "k"), ":0\r\n");
    EXPECT(RUN(T0 + 20000, "CL.THROTTLE", "k", "1", "1", "10", "2"), five(0, 2, 0, -1, 20));
    TEARDOWN();
}

static void test_throttle_huge_and_zero_quantities(void)
{
    SETUP();
    /* The whole burst at once passes, one more unit never does. */
    EXPECT(RUN(T0, "CL.THROTTLE", "a", "4", "1", "1", "5"), five(0, 5, 0, -1, 5));
    EXPECT(RUN(T0, "CL.THROTTLE", "b", "4", "1", "1", "6"), five(1, 5, 5, -1, 0));
    /* ei * quantity overflows: refused, no retry, no state. */
    EXPECT(RUN(T0, "CL.THROTTLE", "b", "4", "1", "1", "9223372036854775807"), five(1, 5, 5, -1, 0));
    EXPECT(RUN(T0, "CL.THROTTLE", "a", "4", "1", "1", "9223372036854775807"), five(1, 5, 0, -1, 5));
    EXPECT(RUN(T0, "EXISTS", "b"), ":0\r\n");
    /* A huge burst with a tiny interval. */
    EXPECT(RUN(T0, "CL.PTHROTTLE", "c", "1000000000", "1000", "1", "1000000000"),
           five(0, 1000000001, 1, -1, 1000000));
    TEARDOWN();
}

static void test_throttle_huge_periods(void)
{
    SETUP();
    /* A century fits in int64 nanoseconds from now... */
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "0", "1", "3153600000"), five(0, 1, 0, -1, 3153600000LL));
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "0", "1", "3153600000"),
           five(1, 1, 0, 3153600000LL, 3153600000LL));
    /* ...three centuries, or any product that overflows, do not. */
    const char *too_large = "-ERR limiter parameters are too large\r\n";
    EXPECT(RUN(T0, "CL.THROTTLE", "x", "0", "1", "9223372036"), too_large);
    EXPECT(RUN(T0, "CL.THROTTLE", "x", "0", "1", "9223372036854775807"), too_large);
    EXPECT(RUN(T0, "CL.THROTTLE", "x", "9223372036854775807", "1", "1"), too_large);
    EXPECT(RUN(T0, "CL.THROTTLE", "x", "4611686018427387904", "1", "1"), too_large);
    EXPECT(RUN(T0, "CL.PTHROTTLE", "x", "1", "1", "9223372036854775807"), too_large);
    EXPECT(RUN(T0, "CL.THROTTLE", "x", "1", "2000000000", "1"),
           "-ERR rate is too high: the emission interval would be under 1ns\r\n");
    EXPECT(RUN(T0, "EXISTS", "x"), ":0\r\n");
    TEARDOWN();
}

static void test_throttle_argument_errors(void)
{
    SETUP();
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "-1", "1", "1"),
           "-ERR invalid max_burst: must be zero or positive\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "0", "1"), "-ERR invalid count: must be positive\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "0"), "-ERR invalid period: must be positive\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "1", "-2"),
           "-ERR invalid quantity: must be zero or positive\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1.5", "1", "1"),
           "-ERR value is not an integer or out of range\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1"),
           "-ERR wrong number of arguments for 'cl.throttle' command\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "k", "1", "1", "1", "1", "1"),
           "-ERR wrong number of arguments for 'cl.throttle' command\r\n");
    EXPECT(RUN(T0, "SET", "s", "abc"), "+OK\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "s", "1", "1", "1"),
           "-ERR key does not hold a CL.THROTTLE state\r\n");
    TEARDOWN();
}

/* ------------------------------------------------------------------ */
/* CL.WINDOW                                                            */
/* ------------------------------------------------------------------ */

static void test_window_boundaries(void)
{
    SETUP();
    /* 3 per 1000ms window. */
    EXPECT(RUN(T0, "CL.PWINDOW", "w", "3", "1000"), five(0, 3, 2, -1, 2000));
    EXPECT(RUN(T0, "CL.PWINDOW", "w", "3", "1000"), five(0, 3, 1, -1, 2000));
    EXPECT(RUN(T0 + 500, "CL.PWINDOW", "w", "3", "1000"), five(0, 3, 0, -1, 1500));
    EXPECT(RUN(T0 + 500, "GET", "w"), "$19\r\nW:1700000000000:3:0\r\n");
    EXPECT(RUN(T0 + 500, "PTTL", "w"), ":1500\r\n");
    /* Refused until the previous window's weight has shrunk enough: at
     * 1333ms, 3 * 667/1000 rounds up to 3; at 1334ms, 3 * 666/1000 to 2. */
    EXPECT(RUN(T0 + 500, "CL.PWINDOW", "w", "3", "1000"), five(1, 3, 0, 834, 1500));
    EXPECT(RUN(T0 + 1333, "CL.PWINDOW", "w", "3", "1000"), five(1, 3, 0, 1, 667));
    EXPECT(RUN(T0 + 1334, "CL.PWINDOW", "w", "3", "1000"), five(0, 3, 0, -1, 1666));
    EXPECT(RUN(T0 + 1334, "GET", "w"), "$19\r\nW:1700000001000:1:3\r\n");
    /* The seconds variant rounds up. */
    EXPECT(RUN(T0 + 1334, "CL.WINDOW", "sw", "3", "1"), five(0, 3, 2, -1, 2));
    /* Two idle windows later the state is gone. */
    EXPECT(RUN(T0 + 3000, "EXISTS", "w"), ":0\r\n");
    EXPECT(RUN(T0 + 3000, "CL.PWINDOW", "w", "3", "1000", "3"), five(0, 3, 0, -1, 2000));
    /* More than the limit never passes; a peek never writes. */
    EXPECT(RUN(T0, "CL.PWINDOW", "x", "3", "1000", "4"), five(1, 3, 3, -1, 0));
    EXPECT(RUN(T0, "CL.PWINDOW", "x", "3", "1000", "0"), five(0, 3, 3, -1, 0));
    EXPECT(RUN(T0, "EXISTS", "x"), ":0\r\n");
    TEARDOWN();
}

/* Counts near 2^63: the weighted share needs a 128-bit product. */
static void test_window_huge_counts(void)
{
    SETUP();
    const char *max = "9223372036854775807";
    EXPECT(RUN(T0, "CL.PWINDOW", "w", max, "1000", max),
           five(0, 9223372036854775807LL, 0, -1, 2000));
    EXPECT(RUN(T0 + 999, "CL.PWINDOW", "w", max, "1000"),
           five(1, 9223372036854775807LL, 0, 2, 1001));
    /* Next window: the share of (2^63-1) * 1000/1000 leaves no room, and
     * (2^63-1) * 999/1000 leaves some. */
    EXPECT(RUN(T0 + 1000, "CL.PWINDOW", "w", max, "1000"),
           five(1, 9223372036854775807LL, 0, 1, 1000));
    EXPECT(RUN(T0 + 1001, "CL.PWINDOW", "w", max, "1000"),
           five(0, 9223372036854775807LL, 9223372036854774LL, -1, 1999));
    /* Windows whose expiry would overflow are refused. */
    EXPECT(RUN(T0, "CL.PWINDOW", "x", "1", "4611686018427387903"),
           "-ERR limiter parameters are too large\r\n");
    EXPECT(RUN(T0, "CL.WINDOW", "x", "1", "9223372036854775807"),
           "-ERR limiter parameters are too large\r\n");
    EXPECT(RUN(T0, "CL.PWINDOW", "x", "0", "1000"), "-ERR invalid limit: must be positive\r\n");
    EXPECT(RUN(T0, "CL.PWINDOW", "x", "1", "0"), "-ERR invalid window: must be positive\r\n");
    EXPECT(RUN(T0, "SET", "s", "W:1:2"), "+OK\r\n");
    EXPECT(RUN(T0, "CL.PWINDOW", "s", "1", "10"), "-ERR key does not hold a CL.WINDOW state\r\n");
    TEARDOWN();
}

/* ------------------------------------------------------------------ */
/* CL.LEAKY                                                             */
/* ------------------------------------------------------------------ */

static void test_leaky_queue(void)
{
    SETUP();
    /* Capacity 3, draining one unit per second: each request is told to
     * wait for the units queued ahead of it. */
    EXPECT(RUN(T0, "CL.PLEAKY", "q", "3", "1", "1000"), five(0, 3, 2, 0, 1000));
    EXPECT(RUN(T0, "CL.PLEAKY", "q", "3", "1", "1000"), five(0, 3, 1, 1000, 2000));
    EXPECT(RUN(T0, "CL.PLEAKY", "q", "3", "1", "1000"), five(0, 3, 0, 2000, 3000));
    EXPECT(RUN(T0, "GET", "q"), "$21\r\nQ:1700000003000000000\r\n");
    EXPECT(RUN(T0, "PTTL", "q"), ":3000\r\n");
    /* Full: the first refused, told when one slot drains. */
    EXPECT(RUN(T0, "CL.PLEAKY", "q", "3", "1", "1000"), five(1, 3, 0, 1000, 3000));
    EXPECT(RUN(T0 + 999, "CL.PLEAKY", "q", "3", "1", "1000"), five(1, 3, 0, 1, 2001));
    EXPECT(RUN(T0 + 1000, "CL.PLEAKY", "q", "3", "1", "1000"), five(0, 3, 0, 2000, 3000));
    /* More than the capacity never fits. */
    EXPECT(RUN(T0 + 1000, "CL.PLEAKY", "q", "3", "1", "1000", "4"), five(1, 3, 0, -1, 3000));
    EXPECT(RUN(T0 + 1000, "CL.PLEAKY", "q", "3", "1", "1000", "9223372036854775807"),
           five(1, 3, 0, -1, 3000));
    /* Seconds round up. */
    EXPECT(RUN(T0, "CL.LEAKY", "s", "2", "3", "1"), five(0, 2, 1, 0, 1));
    EXPECT(RUN(T0, "CL.LEAKY", "s", "2", "3", "1"), five(0, 2, 0, 1, 1));
    EXPECT(RUN(T0, "CL.LEAKY", "s", "2", "3", "1"), five(1, 2, 0, 1, 1));
    EXPECT(RUN(T0, "CL.LEAKY", "x", "9223372036854775807", "1", "1"),
           "-ERR limiter parameters are too large\r\n");
    EXPECT(RUN(T0, "CL.LEAKY", "x", "1", "0", "1"), "-ERR invalid rate: must be positive\r\n");
    EXPECT(RUN(T0, "CL.LEAKY", "k", "1", "1", "1", "1", "1"),
           "-ERR wrong number of arguments for 'cl.leaky' command\r\n");
    TEARDOWN();
}

/* ------------------------------------------------------------------ */
/* Conditional writes                                                   */
/* ------------------------------------------------------------------ */

static void test_set_ifeq_and_delifeq(void)
{
    SETUP();
    EXPECT(RUN(T0, "SET", "k", "v1"), "+OK\r\n");
    EXPECT(RUN(T0, "SET", "k", "v2", "IFEQ", "v1"), "+OK\r\n");
    EXPECT(RUN(T0, "SET", "k", "v3", "IFEQ", "v1"), "$-1\r\n");
    EXPECT(RUN(T0, "GET", "k"), "$2\r\nv2\r\n");
    EXPECT(RUN(T0, "SET", "k", "v3", "IFEQ", "v2", "GET", "PX", "100"), "$2\r\nv2\r\n");
    EXPECT(RUN(T0, "PTTL", "k"), ":100\r\n");
    EXPECT(RUN(T0, "SET", "k", "v4", "IFEQ", "nope", "GET"), "$2\r\nv3\r\n");
    /* An integer-encoded value compares by its text. */
    EXPECT(RUN(T0, "SET", "n", "12"), "+OK\r\n");
    EXPECT(RUN(T0, "SET", "n", "13", "IFEQ", "12"), "+OK\r\n");
    /* A missing or expired key never matches. */
    EXPECT(RUN(T0, "SET", "none", "x", "IFEQ", "x"), "$-1\r\n");
    EXPECT(RUN(T0 + 100, "SET", "k", "x", "IFEQ", "v3"), "$-1\r\n");
    EXPECT(RUN(T0, "EXISTS", "none"), ":0\r\n");
    EXPECT(RUN(T0, "SET", "k", "x", "IFEQ", "a", "NX"), "-ERR syntax error\r\n");
    EXPECT(RUN(T0, "SET", "k", "x", "XX", "IFEQ", "a"), "-ERR syntax error\r\n");
    EXPECT(RUN(T0, "SET", "k", "x", "IFEQ"), "-ERR syntax error\r\n");

    EXPECT(RUN(T0, "DELIFEQ", "n", "12"), ":0\r\n");
    EXPECT(RUN(T0, "DELIFEQ", "n", "13"), ":1\r\n");
    EXPECT(RUN(T0, "DELIFEQ", "n", "13"), ":0\r\n");
    TEARDOWN();
}

/* ------------------------------------------------------------------ */
/* Locks and fences                                                     */
/* ------------------------------------------------------------------ */

static void test_lock_state_machine(void)
{
    SETUP();
    EXPECT(RUN(T0, "LOCK.INFO", "L"), "$-1\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "1000"), ":1\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "b", "1000"), "$-1\r\n");
    /* The holder retrying gets its token back and a renewed lease. */
    EXPECT(RUN(T0 + 100, "LOCK.ACQUIRE", "L", "a", "1000"), ":1\r\n");
    EXPECT(RUN(T0 + 100, "LOCK.INFO", "L"),
           "*6\r\n$5\r\nowner\r\n$1\r\na\r\n$5\r\ntoken\r\n:1\r\n$4\r\npttl\r\n:1000\r\n");
    EXPECT(RUN(T0 + 100, "GET", "L"), "$19\r\nL:1:1700000001100:a\r\n");
    EXPECT(RUN(T0 + 100, "PTTL", "L"), ":-1\r\n");
    /* Only the holder, with the right token if one is given, releases. */
    EXPECT(RUN(T0 + 200, "LOCK.RELEASE", "L", "b"), ":0\r\n");
    EXPECT(RUN(T0 + 200, "LOCK.RELEASE", "L", "a", "2"), ":0\r\n");
    EXPECT(RUN(T0 + 200, "LOCK.RELEASE", "L", "a", "1"), ":1\r\n");
    EXPECT(RUN(T0 + 200, "LOCK.RELEASE", "L", "a"), ":0\r\n");
    EXPECT(RUN(T0 + 200, "LOCK.INFO", "L"),
           "*6\r\n$5\r\nowner\r\n$-1\r\n$5\r\ntoken\r\n:1\r\n$4\r\npttl\r\n:-1\r\n");
    EXPECT(RUN(T0 + 200, "EXISTS", "L"), ":1\r\n");
    EXPECT(RUN(T0 + 300, "LOCK.ACQUIRE", "L", "b", "500"), ":2\r\n");
    /* The lease lapses at its deadline: the last instant held is 799. */
    EXPECT(RUN(T0 + 799, "LOCK.ACQUIRE", "L", "a", "500"), "$-1\r\n");
    EXPECT(RUN(T0 + 799, "LOCK.EXTEND", "L", "b", "500"), ":1\r\n");
    EXPECT(RUN(T0 + 1298, "LOCK.EXTEND", "L", "b", "500", "2"), ":1\r\n");
    EXPECT(RUN(T0 + 1797, "LOCK.EXTEND", "L", "b", "500", "1"), ":0\r\n");
    EXPECT(RUN(T0 + 1797, "LOCK.INFO", "L"),
           "*6\r\n$5\r\nowner\r\n$1\r\nb\r\n$5\r\ntoken\r\n:2\r\n$4\r\npttl\r\n:1\r\n");
    EXPECT(RUN(T0 + 1798, "LOCK.INFO", "L"),
           "*6\r\n$5\r\nowner\r\n$-1\r\n$5\r\ntoken\r\n:2\r\n$4\r\npttl\r\n:-1\r\n");
    /* Expired: the old holder can neither extend nor release; the next
     * acquisition gets the next token. */
    EXPECT(RUN(T0 + 1798, "LOCK.ACQUIRE", "L", "a", "500"), ":3\r\n");
    EXPECT(RUN(T0 + 2298, "LOCK.EXTEND", "L", "a", "500"), ":0\r\n");
    EXPECT(RUN(T0 + 2298, "LOCK.RELEASE", "L", "a"), ":0\r\n");
    EXPECT(RUN(T0 + 2298, "LOCK.ACQUIRE", "L", "b", "500"), ":4\r\n");
    EXPECT(RUN(T0 + 2298, "TYPE", "L"), "+string\r\n");
    TEARDOWN();
}

static void test_lock_errors(void)
{
    SETUP();
    const char *bad_ttl = "-ERR invalid expire time in 'lock.acquire' command\r\n";
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "0"), bad_ttl);
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "-5"), bad_ttl);
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "9223372036854775807"), bad_ttl);
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "x"),
           "-ERR value is not an integer or out of range\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "", "10"), "-ERR invalid owner: must not be empty\r\n");
    EXPECT(RUN(T0, "LOCK.RELEASE", "L", "a", "0"), "-ERR invalid token: must be positive\r\n");
    EXPECT(RUN(T0, "LOCK.RELEASE", "L", "a", "1", "2"),
           "-ERR wrong number of arguments for 'lock.release' command\r\n");
    EXPECT(RUN(T0, "EXISTS", "L"), ":0\r\n");
    EXPECT(RUN(T0, "SET", "s", "L:x:1:a"), "+OK\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "s", "a", "10"), "-ERR key does not hold a lock\r\n");
    EXPECT(RUN(T0, "LOCK.INFO", "s"), "-ERR key does not hold a lock\r\n");
    /* An owner may hold any bytes, ':' included. */
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "host:42", "10"), ":1\r\n");
    EXPECT(RUN(T0, "LOCK.RELEASE", "L", "host:42"), ":1\r\n");
    /* The token counter's ceiling. */
    EXPECT(RUN(T0, "SET", "m", "L:9223372036854775807:0:"), "+OK\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "m", "a", "10"), "-ERR fencing token overflow\r\n");
    TEARDOWN();
}

static void test_fence(void)
{
    SETUP();
    EXPECT(RUN(T0, "FENCE.CHECK", "f", "5"), ":1\r\n");
    EXPECT(RUN(T0, "GET", "f"), "$1\r\n5\r\n");
    EXPECT(RUN(T0, "FENCE.CHECK", "f", "4"), ":0\r\n");
    EXPECT(RUN(T0, "FENCE.CHECK", "f", "5"), ":1\r\n");
    EXPECT(RUN(T0, "FENCE.SET", "f", "6", "data", "new"), "+OK\r\n");
    EXPECT(RUN(T0, "FENCE.SET", "f", "5", "data", "stale"), "$-1\r\n");
    EXPECT(RUN(T0, "GET", "data"), "$3\r\nnew\r\n");
    EXPECT(RUN(T0, "GET", "f"), "$1\r\n6\r\n");
    EXPECT(RUN(T0, "FENCE.SET", "f", "6", "f", "x"),
           "-ERR the fence and the key must be different keys\r\n");
    EXPECT(RUN(T0, "FENCE.CHECK", "f", "-1"), "-ERR invalid token: must be zero or positive\r\n");
    EXPECT(RUN(T0, "SET", "g", "abc"), "+OK\r\n");
    EXPECT(RUN(T0, "FENCE.CHECK", "g", "1"), "-ERR key does not hold a fencing token\r\n");
    TEARDOWN();
}

/* ------------------------------------------------------------------ */
/* Replay                                                               */
/* ------------------------------------------------------------------ */

/* Only changes are logged (a refused request or a peek is not), and a
 * replay of the log -- a restart, or a replica -- rebuilds the same
 * limiter states and lock tokens, so the next token keeps increasing. */
static void test_replay_keeps_tokens_and_limits(void)
{
    SETUP();
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "a", "100"), ":1\r\n");
    EXPECT(RUN(T0, "LOCK.ACQUIRE", "L", "b", "100"), "$-1\r\n");
    EXPECT(RUN(T0 + 100, "LOCK.ACQUIRE", "L", "b", "100"), ":2\r\n");
    EXPECT(RUN(T0 + 150, "LOCK.RELEASE", "L", "b"), ":1\r\n");
    EXPECT(RUN(T0, "CL.THROTTLE", "t", "1", "1", "10"), five(0, 2, 1, -1, 10));
    EXPECT(RUN(T0, "CL.THROTTLE", "t", "1", "1", "10", "0"), five(0, 2, 1, -1, 10));
    EXPECT(RUN(T0, "CL.PWINDOW", "w", "5", "1000", "2"), five(0, 5, 3, -1, 2000));
    EXPECT(RUN(T0, "CL.PLEAKY", "q", "5", "1", "1000", "2"), five(0, 5, 3, 0, 2000));
    EXPECT(RUN(T0, "FENCE.SET", "f", "2", "d", "v"), "+OK\r\n");
    CHECK_EQ_LL(rec.n, 7);

    cairn_engine *e2 = new_engine(8);
    apply_log(e2, rec.log, dstr_len(rec.log));
    cairn_session s2;
    session_init(e2, &s2);
    EXPECT(RUN_ON(e2, &s2, T0 + 200, "LOCK.ACQUIRE", "L", "c", "100"), ":3\r\n");
    const char *keys[] = {"t", "w", "q", "d", "f"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *want = RUN(T0 + 1, "GET", keys[i]);
        EXPECT(RUN_ON(e2, &s2, T0 + 1, "GET", keys[i]), want);
        cm_free(want);
    }
    EXPECT(RUN_ON(e2, &s2, T0 + 1, "CL.THROTTLE", "t", "1", "1", "10"), five(0, 2, 0, -1, 20));
    session_reset(&s2);
    engine_free(e2);
    dstr_free(rec.log);
    TEARDOWN();
}

int main(void)
{
    TEST(test_throttle_matches_redis_cell);
    TEST(test_throttle_sub_millisecond_rounding);
    TEST(test_throttle_state_and_expiry);
    TEST(test_throttle_huge_and_zero_quantities);
    TEST(test_throttle_huge_periods);
    TEST(test_throttle_argument_errors);
    TEST(test_window_boundaries);
    TEST(test_window_huge_counts);
    TEST(test_leaky_queue);
    TEST(test_set_ifeq_and_delifeq);
    TEST(test_lock_state_machine);
    TEST(test_lock_errors);
    TEST(test_fence);
    TEST(test_replay_keeps_tokens_and_limits);
    return TEST_REPORT();
}
