/* t_coord.c -- coordination primitives: rate limiters (CL.*), the
 * compare-and-delete DELIFEQ, locks and leases with fencing tokens
 * (LOCK.*) and fenced writes (FENCE.*).  docs/coordination.md describes
 * every command, its exact replies and the encoding of its state.
 *
 * These are what teams keep building on top of Redis with Lua scripts.  As
 * single commands they are atomic, and since every decision depends only
 * on the keyspace, the arguments and c->now_ms (DESIGN rule 2), a logged
 * call replays to the same state and the same reply on every replica.
 *
 * State lives in ordinary string keys, so it persists, replicates, shows
 * in SCAN and TYPE, and is counted in memory like any other value.  A
 * limiter's key expires by itself when the limiter would be full again,
 * so idle users cost nothing.  A lock's key never expires: it keeps the
 * last fencing token, and a lost counter would hand out old tokens again.
 *
 * Times: the GCRA and leaky-bucket limiters compute in nanoseconds, as
 * redis-cell does, so an emission interval like 1s/3 is exact enough to
 * give redis-cell's replies; the sliding window and the locks compute in
 * milliseconds.  All arithmetic on times and counts is overflow-checked:
 * parameters whose products do not fit are refused with an error, and a
 * quantity too large to ever fit is simply refused by the limiter. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"

#define NS_PER_MS  1000000LL
#define NS_PER_SEC 1000000000LL
#define MS_PER_SEC 1000LL

#define ERR_TOO_LARGE  "ERR limiter parameters are too large"
#define ERR_RATE_HIGH  "ERR rate is too high: the emission interval would be under 1ns"
#define ERR_NOT_GCRA   "ERR key does not hold a CL.THROTTLE state"
#define ERR_NOT_WINDOW "ERR key does not hold a CL.WINDOW state"
#define ERR_NOT_LEAKY  "ERR key does not hold a CL.LEAKY state"
#define ERR_NOT_LOCK   "ERR key does not hold a lock"
#define ERR_NOT_FENCE  "ERR key does not hold a fencing token"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* How a limiter reports durations: CL.THROTTLE rounds to seconds the way
 * redis-cell does, the other second variants round up, and the P variants
 * give milliseconds rounded up.  Rounding up keeps a caller that sleeps
 * for the reported time from retrying too early. */
typedef enum { TIME_CELL_SEC, TIME_SEC, TIME_MS } time_style;

static int too_many_args(cmd_call *c, int max)
{
    if (c->argc <= max) return 0;
    reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
    return 1;
}

/* Parse argument i as an integer of at least min (0 or 1), naming the
 * argument in the error so a caller can tell which one was wrong. */
static int arg_at_least(cmd_call *c, int i, long long min, const char *what, long long *out)
{
    if (!arg_ll(c, i, out)) return 0;
    if (*out >= min) return 1;
    reply_errorf(c->out, "ERR invalid %s: must be %s", what,
                 min > 0 ? "positive" : "zero or positive");
    return 0;
}

/* a / b rounded up, for a >= 0 and b > 0. */
static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/* A duration in ns as a reply reports it; negative means "not
 * applicable" and is reported as -1. */
static long long ns_reply(int64_t ns, time_style st)
{
    if (ns < 0) return -1;
    switch (st) {
    case TIME_CELL_SEC:
        /* redis-cell: whole seconds, plus one if any whole millisecond is
         * left over (a sub-millisecond remainder is dropped). */
        return ns / NS_PER_SEC + ((ns % NS_PER_SEC) / NS_PER_MS > 0);
    case TIME_SEC: return ceil_div(ns, NS_PER_SEC);
    default: return ceil_div(ns, NS_PER_MS);
    }
}

static long long ms_reply(int64_t ms, time_style st)
{
    if (ms < 0) return -1;
    return st == TIME_MS ? ms : ceil_div(ms, MS_PER_SEC);
}

/* The reply shared by every limiter: five integers. */
static void reply_limiter(cmd_call *c, int limited, long long limit, long long remaining,
                          long long wait, long long reset)
{
    if (!(c->s->flags & SESS_LOADER)) {
        if (limited)
            c->e->stats.limiter_limited++;
        else
            c->e->stats.limiter_allowed++;
    }
    reply_array_len(c->out, 5);
    reply_int(c->out, limited);
    reply_int(c->out, limit);
    reply_int(c->out, remaining);
    reply_int(c->out, wait);
    reply_int(c->out, reset);
}

/* The current time in ns, provided that a limiter looking `horizon` ns
 * ahead (plus a millisecond of rounding) stays within int64.  Replies and
 * returns 0 otherwise. */
static int now_ns_with_horizon(cmd_call *c, int64_t horizon, int64_t *now)
{
    if (c->now_ms < 0 || __builtin_mul_overflow(c->now_ms, NS_PER_MS, now) ||
        horizon > INT64_MAX - NS_PER_MS - *now) {
        reply_error(c->out, ERR_TOO_LARGE);
        return 0;
    }
    return 1;
}

/* The string at argv[arg], looked up for writing (an expired key is
 * deleted first): *o is NULL when the key is absent.  Returns 0 after
 * replying WRONGTYPE for another type. */
static int lookup_string(cmd_call *c, int arg, cobj **o)
{
    *o = lookup_write(c, &c->argv[arg]);
    return !(*o && check_type(c, *o, OBJ_STRING));
}

static int obj_to_ll(const cobj *o, long long *v)
{
    if (o->encoding == ENC_INT) {
        *v = o->v.ll;
        return 1;
    }
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    return str_to_ll(p, len, v);
}

/* Parse a tagged state "<tag>:<n1>:...:<nk>" of k integers, followed by
 * ":<rest>" when rest is not NULL (the lock's owner, which may hold any
 * byte, so it comes last and needs no escaping).  Returns 1 if o reads
 * exactly so. */
static int parse_tagged(const cobj *o, char tag, long long *v, int k, cslice *rest)
{
    if (o->encoding == ENC_INT) return 0;
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len), *end = p + len;
    if (end - p < 2 || p[0] != tag || p[1] != ':') return 0;
    p += 2;
    for (int i = 0; i < k; i++) {
        int last = i == k - 1 && !rest;
        const char *sep = last ? end : memchr(p, ':', (size_t)(end - p));
        if (!sep || !str_to_ll(p, (size_t)(sep - p), &v[i])) return 0;
        p = sep + (sep < end);
    }
    if (rest) *rest = (cslice){p, (size_t)(end - p)};
    return 1;
}

/* Replace the value at argv[arg] and set its absolute expiry (none when
 * expire_ms < 0); the change is logged. */
static void store_value(cmd_call *c, int arg, cobj *val, int64_t expire_ms)
{
    const cslice *key = &c->argv[arg];
    val = db_set(c, c->db, key, obj_set_key(val, key, expire_ms), 0);
    c->dirty++;
    /* Redis has no event for these commands: the event is their name. */
    notify_key(c, NOTIFY_STRING, c->cmd->name, key);
}

/* Store an integer, in place when the old value is an integer:
 * the common case of a busy limiter costs no allocation. */
static void store_ll(cmd_call *c, int arg, cobj *old, long long v, int64_t expire_ms)
{
    if (old && old->encoding == ENC_INT) {
        old->v.ll = v;
        if (expire_ms >= 0)
            db_set_expire(c->db, &c->argv[arg], expire_ms);
        else
            db_remove_expire(c->db, &c->argv[arg]);
        c->dirty++;
        notify_key(c, NOTIFY_STRING, c->cmd->name, &c->argv[arg]);
        return;
    }
    store_value(c, arg, obj_new_int(v), expire_ms);
}

/* floor(a * b / d) and the remainder, for d > 0 and a quotient that fits
 * in 64 bits.  The product may not fit: then it is formed as 128 bits in
 * two halves and divided one bit at a time, which is slow but only taken
 * for huge windows or counts. */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t d, uint64_t *rem)
{
    uint64_t prod;
    if (!__builtin_mul_overflow(a, b, &prod)) {
        *rem = prod % d;
        return prod / d;
    }
    uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t lo = (mid << 32) | (ll & 0xffffffffu);

    uint64_t q = 0, r = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1 : (lo >> i) & 1;
        int carry = (int)(r >> 63);
        r = (r << 1) | bit;
        q <<= 1;
        if (carry || r >= d) {
            r -= d;
            q |= 1;
        }
    }
    *rem = r;
    return q;
}

static uint64_t mul_div_ceil(uint64_t a, uint64_t b, uint64_t d)
{
    uint64_t rem, q = mul_div(a, b, d, &rem);
    return q + (rem != 0);
}

/* ------------------------------------------------------------------ */
/* CL.THROTTLE: the generic cell rate algorithm, as redis-cell          */
/* ------------------------------------------------------------------ */

/* GCRA tracks one number per key, the theoretical arrival time (TAT):
 * when the limiter would be empty again if requests kept coming at
 * exactly the allowed rate.  A request of n units moves the TAT n
 * emission intervals ahead, and is allowed if the TAT then stays within
 * the delay variation tolerance (the burst) of now. */
typedef struct gcra {
    int64_t ei;  /* emission interval: period / count, in ns */
    int64_t dvt; /* delay variation tolerance: ei * (max_burst + 1) */
    int64_t now; /* ns */
} gcra;

typedef struct gcra_result {
    int limited;
    long long remaining;
    int64_t new_tat;     /* the TAT to store when allowed */
    int64_t retry_after; /* ns; -1 when allowed or when it never will be */
    int64_t reset_after; /* ns until the limiter is full again */
} gcra_result;

/* Set up g from the arguments, replying an error and returning 0 when the
 * rate or the burst does not fit in int64 nanoseconds. */
static int gcra_init(cmd_call *c, long long burst, long long count, long long period,
                     int64_t unit_ns, gcra *g)
{
    int64_t period_ns;
    if (__builtin_mul_overflow(period, unit_ns, &period_ns) || burst == LLONG_MAX) {
        reply_error(c->out, ERR_TOO_LARGE);
        return 0;
    }
    g->ei = period_ns / count;
    if (g->ei == 0) {
        reply_error(c->out, ERR_RATE_HIGH);
        return 0;
    }
    if (__builtin_mul_overflow(g->ei, burst + 1, &g->dvt)) {
        reply_error(c->out, ERR_TOO_LARGE);
        return 0;
    }
    return now_ns_with_horizon(c, g->dvt, &g->now);
}

/* The decision for a request of quantity units, given the stored TAT (if
 * any).  Pure: the caller stores r->new_tat when allowed. */
static void gcra_decide(const gcra *g, int has_tat, int64_t tat, long long quantity, gcra_result *r)
{
    /* How far ahead of now the TAT is; a TAT in the past counts as now. */
    int64_t ahead = 0;
    r->new_tat = 0;
    if (has_tat && tat > g->now) ahead = tat - g->now;

    int64_t increment, new_ahead;
    int inc_overflow = __builtin_mul_overflow(g->ei, quantity, &increment);
    int overflow = inc_overflow || __builtin_add_overflow(ahead, increment, &new_ahead);

    int64_t ttl;
    if (overflow || new_ahead > g->dvt) {
        r->limited = 1;
        /* A request larger than the whole burst can never pass: no retry. */
        if (!inc_overflow && increment <= g->dvt)
            r->retry_after = ahead - (g->dvt - increment);
        else
            r->retry_after = -1;
        ttl = ahead;
    } else {
        r->limited = 0;
        r->retry_after = -1;
        r->new_tat = g->now + new_ahead; /* fits: new_ahead <= dvt <= horizon */
        ttl = new_ahead;
    }

    /* What is left of the burst: redis-cell divides whole microseconds
     * (and would divide by zero for an interval under 1us: divide ns). */
    int64_t next = g->dvt - ttl;
    if (next <= 0)
        r->remaining = 0;
    else if (g->ei >= 1000)
        r->remaining = (next / 1000) / (g->ei / 1000);
    else
        r->remaining = next / g->ei;
    r->reset_after = ttl;
}

/* CL.THROTTLE key max_burst count period [quantity]: period in seconds.
 * CL.PTHROTTLE: the same with period, retry_after and reset_after in ms. */
static void throttle_generic(cmd_call *c, int64_t unit_ns, time_style st)
{
    long long burst, count, period, quantity = 1;
    if (too_many_args(c, 6)) return;
    if (!arg_at_least(c, 2, 0, "max_burst", &burst) || !arg_at_least(c, 3, 1, "count", &count) ||
        !arg_at_least(c, 4, 1, "period", &period) ||
        (c->argc == 6 && !arg_at_least(c, 5, 0, "quantity", &quantity)))
        return;

    gcra g;
    if (!gcra_init(c, burst, count, period, unit_ns, &g)) return;
    cobj *o;
    long long tat = 0;
    if (!lookup_string(c, 1, &o)) return;
    if (o && !obj_to_ll(o, &tat)) {
        reply_error(c->out, ERR_NOT_GCRA);
        return;
    }

    gcra_result r;
    gcra_decide(&g, o != NULL, tat, quantity, &r);
    /* Quantity 0 only reads.  The key lives until the TAT: then the
     * limiter is full again and a missing key means the same. */
    if (!r.limited && quantity > 0) store_ll(c, 1, o, r.new_tat, ceil_div(r.new_tat, NS_PER_MS));
    reply_limiter(c, r.limited, burst + 1, r.remaining, ns_reply(r.retry_after, st),
                  ns_reply(r.reset_after, st));
}

static void throttle_command(cmd_call *c) { throttle_generic(c, NS_PER_SEC, TIME_CELL_SEC); }
static void pthrottle_command(cmd_call *c) { throttle_generic(c, NS_PER_MS, TIME_MS); }

/* ------------------------------------------------------------------ */
/* CL.WINDOW: a sliding-window counter                                  */
/* ------------------------------------------------------------------ */

/* Time is cut into fixed windows of w ms, aligned on multiples of w since
 * the epoch.  The state is the start of the current window and the counts
 * of the current and the previous one; the sliding window's count is the
 * current count plus the previous count weighted by how much of the
 * previous window the sliding window still covers.  Refused requests are
 * not counted.  Encoded "W:<start-ms>:<current>:<previous>". */
typedef struct window_state {
    int64_t start;
    long long curr, prev;
} window_state;

/* ceil(prev * (w - elapsed) / w): the share of the previous window's count
 * still inside the sliding window, rounded up so the limit is never
 * exceeded. */
static uint64_t window_prev_share(const window_state *s, int64_t w, int64_t elapsed)
{
    return mul_div_ceil((uint64_t)s->prev, (uint64_t)(w - elapsed), (uint64_t)w);
}

/* The time in ms from now until a request of q units would pass, with no
 * other requests meanwhile; -1 if it never will (q > limit). */
static int64_t window_retry(const window_state *s, long long limit, int64_t w, int64_t elapsed,
                            long long q)
{
    if (q > limit) return -1;
    uint64_t rem;
    /* Later in this window, as the previous window's share shrinks: it
     * passes once prev * (w - e) <= slack * w. */
    if (s->curr <= limit - q && s->prev > 0) {
        uint64_t slack = (uint64_t)(limit - q - s->curr);
        /* slack < prev here, so the quotient is below w. */
        uint64_t e = (uint64_t)w - mul_div(slack, (uint64_t)w, (uint64_t)s->prev, &rem);
        if (e < (uint64_t)w) return (int64_t)e - elapsed;
    }
    /* In the next window this one's count becomes the previous one. */
    int64_t e = 0;
    if (s->curr > limit - q) {
        uint64_t room = mul_div((uint64_t)(limit - q), (uint64_t)w, (uint64_t)s->curr, &rem);
        e = w - (int64_t)room;
    }
    return (w - elapsed) + e;
}

/* CL.WINDOW key limit window [quantity]: window in seconds.
 * CL.PWINDOW: the same with window, retry_after and reset_after in ms. */
static void window_generic(cmd_call *c, int64_t unit_ms, time_style st)
{
    long long limit, window, quantity = 1;
    if (too_many_args(c, 5)) return;
    if (!arg_at_least(c, 2, 1, "limit", &limit) || !arg_at_least(c, 3, 1, "window", &window) ||
        (c->argc == 5 && !arg_at_least(c, 4, 0, "quantity", &quantity)))
        return;
    int64_t w;
    /* The key expires two windows after the current one started. */
    if (c->now_ms < 0 || __builtin_mul_overflow(window, unit_ms, &w) ||
        w > (INT64_MAX - c->now_ms) / 2) {
        reply_error(c->out, ERR_TOO_LARGE);
        return;
    }

    cobj *o;
    if (!lookup_string(c, 1, &o)) return;
    int64_t elapsed = c->now_ms % w, start = c->now_ms - elapsed;
    window_state s = {start, 0, 0};
    if (o) {
        long long v[3];
        if (!parse_tagged(o, 'W', v, 3, NULL) || v[1] < 0 || v[2] < 0) {
            reply_error(c->out, ERR_NOT_WINDOW);
            return;
        }
        s = (window_state){v[0], v[1], v[2]};
        if (s.start < start) {
            /* The stored current window is now the previous one, or older. */
            int adjacent = s.start >= start - w;
            s = (window_state){start, 0, adjacent ? s.curr : 0};
        } else {
            /* The current window, or a later one if the clock went back:
             * keep the counts, conservatively, in the current window. */
            s.start = start;
        }
    }

    uint64_t share = window_prev_share(&s, w, elapsed);
    /* Allowed iff curr + q + share <= limit, compared without overflow. */
    int limited = s.curr > limit || (uint64_t)(limit - s.curr) < share ||
                  (uint64_t)quantity > (uint64_t)(limit - s.curr) - share;
    int64_t retry = -1;
    if (limited) {
        retry = window_retry(&s, limit, w, elapsed, quantity);
    } else if (quantity > 0) {
        s.curr += quantity; /* <= limit: checked above */
        char buf[3 * 21 + 4];
        int len =
            snprintf(buf, sizeof(buf), "W:%lld:%lld:%lld", (long long)s.start, s.curr, s.prev);
        store_value(c, 1, obj_new_string(buf, (size_t)len), s.start + 2 * w);
    }

    long long remaining = 0;
    if (s.curr <= limit && (uint64_t)(limit - s.curr) >= share)
        remaining = (long long)((uint64_t)(limit - s.curr) - share);
    int64_t reset = s.curr > 0 ? 2 * w - elapsed : s.prev > 0 ? w - elapsed : 0;
    reply_limiter(c, limited, limit, remaining, ms_reply(retry, st), ms_reply(reset, st));
}

static void window_command(cmd_call *c) { window_generic(c, MS_PER_SEC, TIME_SEC); }
static void pwindow_command(cmd_call *c) { window_generic(c, 1, TIME_MS); }

/* ------------------------------------------------------------------ */
/* CL.LEAKY: a leaky bucket used as a queue                             */
/* ------------------------------------------------------------------ */

/* The bucket drains `rate` units per period and holds at most `capacity`
 * units.  A request is queued if its units fit, and told how long to wait
 * before acting (the time the units ahead of it take to drain), so the
 * work leaves at a steady rate instead of in bursts.  The state is the
 * time the bucket will be empty, in ns: "Q:<empty-at-ns>". */
static void leaky_generic(cmd_call *c, int64_t unit_ns, time_style st)
{
    long long capacity, rate, period, quantity = 1;
    if (too_many_args(c, 6)) return;
    if (!arg_at_least(c, 2, 1, "capacity", &capacity) || !arg_at_least(c, 3, 1, "rate", &rate) ||
        !arg_at_least(c, 4, 1, "period", &period) ||
        (c->argc == 6 && !arg_at_least(c, 5, 0, "quantity", &quantity)))
        return;

    int64_t period_ns, ei, full, now;
    if (__builtin_mul_overflow(period, unit_ns, &period_ns)) {
        reply_error(c->out, ERR_TOO_LARGE);
        return;
    }
    if ((ei = period_ns / rate) == 0) {
        reply_error(c->out, ERR_RATE_HIGH);
        return;
    }
    if (__builtin_mul_overflow(ei, capacity, &full)) {
        reply_error(c->out, ERR_TOO_LARGE);
        return;
    }
    if (!now_ns_with_horizon(c, full, &now)) return;

    cobj *o;
    long long empty_at = 0;
    if (!lookup_string(c, 1, &o)) return;
    if (o && !parse_tagged(o, 'Q', &empty_at, 1, NULL)) {
        reply_error(c->out, ERR_NOT_LEAKY);
        return;
    }

    /* Work already queued, in ns of draining. */
    int64_t queued = empty_at > now ? empty_at - now : 0, inc, new_queued;
    int inc_overflow = __builtin_mul_overflow(ei, quantity, &inc);
    int limited =
        inc_overflow || __builtin_add_overflow(queued, inc, &new_queued) || new_queued > full;
    int64_t wait, reset;
    if (limited) {
        /* Retry when enough has drained, unless it can never fit. */
        wait = !inc_overflow && inc <= full ? queued - (full - inc) : -1;
        reset = queued;
    } else {
        wait = queued;
        reset = new_queued;
        if (quantity > 0) {
            char buf[24];
            int len = snprintf(buf, sizeof(buf), "Q:%lld", (long long)(now + new_queued));
            store_value(c, 1, obj_new_string(buf, (size_t)len),
                        ceil_div(now + new_queued, NS_PER_MS));
        }
    }
    long long remaining = reset <= full ? (full - reset) / ei : 0;
    reply_limiter(c, limited, capacity, remaining, ns_reply(wait, st), ns_reply(reset, st));
}

static void leaky_command(cmd_call *c) { leaky_generic(c, NS_PER_SEC, TIME_SEC); }
static void pleaky_command(cmd_call *c) { leaky_generic(c, NS_PER_MS, TIME_MS); }

/* ------------------------------------------------------------------ */
/* DELIFEQ                                                              */
/* ------------------------------------------------------------------ */

/* DELIFEQ key value (Valkey 9): delete key if it holds exactly value. */
static void delifeq_command(cmd_call *c)
{
    cobj *o;
    if (!lookup_string(c, 1, &o)) return;
    if (!o || !obj_str_equals(o, c->argv[2].ptr, c->argv[2].len)) {
        reply_int(c->out, 0);
        return;
    }
    db_delete(c, c->db, &c->argv[1]);
    c->dirty++;
    notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    reply_int(c->out, 1);
}

/* ------------------------------------------------------------------ */
/* LOCK.*: locks and leases with fencing tokens                         */
/* ------------------------------------------------------------------ */

/* A lock is a string key "L:<token>:<deadline-ms>:<owner>".  token is the
 * fencing token of the last acquisition; the lease is held by owner until
 * deadline (absolute ms, compared with c->now_ms), and a released lock has
 * deadline 0 and no owner.  The lease's expiry lives in the value, not in
 * the key's TTL, so the key -- and with it the token counter -- outlives
 * every lease: tokens keep increasing across acquisitions, releases and
 * expiries, and, since they derive from stored state only, across replays
 * of the log.  Writing a lock drops any TTL set on its key by hand. */
typedef struct lock_state {
    long long token;
    int64_t deadline;
    cslice owner; /* points into the stored value */
} lock_state;

static int lock_held(const lock_state *l, int64_t now) { return l->deadline > now; }

static int lock_held_by(const lock_state *l, int64_t now, const cslice *owner)
{
    return lock_held(l, now) && l->owner.len == owner->len &&
           memcmp(l->owner.ptr, owner->ptr, owner->len) == 0;
}

/* Look the lock at argv[1] up: returns 1 with *found set (and *l filled
 * when found), or 0 after replying an error. */
static int lock_lookup(cmd_call *c, lock_state *l, int *found)
{
    cobj *o;
    if (!lookup_string(c, 1, &o)) return 0;
    *found = o != NULL;
    if (!o) return 1;
    long long v[2];
    if (!parse_tagged(o, 'L', v, 2, &l->owner) || v[0] < 1 || v[1] < 0) {
        reply_error(c->out, ERR_NOT_LOCK);
        return 0;
    }
    l->token = v[0];
    l->deadline = v[1];
    return 1;
}

static void lock_store(cmd_call *c, long long token, int64_t deadline, const cslice *owner)
{
    dstr s =
        dstr_catfmt(dstr_with_cap(48 + owner->len), "L:%lld:%lld:", token, (long long)deadline);
    s = dstr_cat(s, owner->ptr, owner->len);
    store_value(c, 1, obj_new_string(s, dstr_len(s)), -1);
    dstr_free(s);
}

/* Parse a lease length in ms at argument i into an absolute deadline. */
static int arg_deadline(cmd_call *c, int i, int64_t *deadline)
{
    long long ttl;
    if (!arg_ll(c, i, &ttl)) return 0;
    if (ttl <= 0 || __builtin_add_overflow(c->now_ms, ttl, deadline)) {
        reply_errorf(c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
        return 0;
    }
    return 1;
}

static int arg_owner(cmd_call *c, int i)
{
    if (c->argv[i].len > 0) return 1;
    reply_error(c->out, "ERR invalid owner: must not be empty");
    return 0;
}

/* Parse the optional token at argument i (*token stays 0 without one). */
static int arg_opt_token(cmd_call *c, int i, long long *token)
{
    *token = 0;
    return i >= c->argc || arg_at_least(c, i, 1, "token", token);
}

/* Does owner hold the lease, under the given token if there is one?  A
 * holder with a token releases or extends only the acquisition it made,
 * not a later one by a process that reuses its owner name. */
static int lock_holds(const cmd_call *c, const lock_state *l, long long token)
{
    return lock_held_by(l, c->now_ms, &c->argv[2]) && (token == 0 || token == l->token);
}

/* LOCK.ACQUIRE name owner ttl-ms -> the fencing token, or nil if another
 * owner holds the lease.  The holder acquiring again renews its lease and
 * gets its token back, so a client may retry after a lost reply. */
static void lock_acquire_command(cmd_call *c)
{
    const cslice *owner = &c->argv[2];
    int64_t deadline;
    lock_state l = {0, 0, {NULL, 0}};
    int found;
    if (!arg_owner(c, 2) || !arg_deadline(c, 3, &deadline) || !lock_lookup(c, &l, &found)) return;

    long long token;
    if (found && lock_held_by(&l, c->now_ms, owner)) {
        token = l.token;
    } else if (found && lock_held(&l, c->now_ms)) {
        c->e->stats.lock_refused++;
        reply_null(c->out);
        return;
    } else if (found && l.token == LLONG_MAX) {
        reply_error(c->out, "ERR fencing token overflow");
        return;
    } else {
        token = found ? l.token + 1 : 1;
    }
    lock_store(c, token, deadline, owner);
    c->e->stats.lock_acquired++;
    reply_int(c->out, token);
}

/* LOCK.RELEASE name owner [token] -> 1 if the lease was released, else 0
 * (not held by owner, already expired, or another acquisition's token).
 * The key stays, free, with its token. */
static void lock_release_command(cmd_call *c)
{
    lock_state l = {0, 0, {NULL, 0}};
    long long token;
    int found;
    if (too_many_args(c, 4) || !arg_opt_token(c, 3, &token) || !lock_lookup(c, &l, &found)) return;
    if (!found || !lock_holds(c, &l, token)) {
        reply_int(c->out, 0);
        return;
    }
    cslice none = {"", 0};
    lock_store(c, l.token, 0, &none);
    reply_int(c->out, 1);
}

/* LOCK.EXTEND name owner ttl-ms [token] -> 1 if the lease now runs ttl-ms
 * from now, 0 if owner does not hold it.  A lapsed lease is not revived:
 * its holder must acquire again, and gets a new token. */
static void lock_extend_command(cmd_call *c)
{
    lock_state l = {0, 0, {NULL, 0}};
    int64_t deadline;
    long long token;
    int found;
    if (too_many_args(c, 5) || !arg_deadline(c, 3, &deadline) || !arg_opt_token(c, 4, &token) ||
        !lock_lookup(c, &l, &found))
        return;
    if (!found || !lock_holds(c, &l, token)) {
        reply_int(c->out, 0);
        return;
    }
    /* The owner comes from the arguments: l.owner points into the value
     * being replaced. */
    lock_store(c, l.token, deadline, &c->argv[2]);
    reply_int(c->out, 1);
}

/* LOCK.INFO name -> nil if there is no lock, else a map: owner (nil when
 * free), token (the last one issued) and pttl (ms left, -1 when free). */
static void lock_info_command(cmd_call *c)
{
    lock_state l;
    int found;
    if (!lock_lookup(c, &l, &found)) return;
    if (!found) {
        reply_null(c->out);
        return;
    }
    int held = lock_held(&l, c->now_ms);
    reply_map_len(c->out, 3);
    reply_bulk_cstr(c->out, "owner");
    if (held)
        reply_bulk(c->out, l.owner.ptr, l.owner.len);
    else
        reply_null(c->out);
    reply_bulk_cstr(c->out, "token");
    reply_int(c->out, l.token);
    reply_bulk_cstr(c->out, "pttl");
    reply_int(c->out, held ? l.deadline - c->now_ms : -1);
}

/* ------------------------------------------------------------------ */
/* FENCE.*: accept writes only from the newest token                    */
/* ------------------------------------------------------------------ */

/* A fence is a string key holding the highest token it accepted, as a
 * plain integer.  A token at least as high passes (the same holder may
 * write many times) and raises the fence; a lower one -- a client that
 * paused past its lease while another acquired the lock -- is refused. */
static int fence_pass(cmd_call *c, int fence_arg, long long token, int *passed)
{
    cobj *o;
    long long last = 0;
    if (!lookup_string(c, fence_arg, &o)) return 0;
    if (o && (!obj_to_ll(o, &last) || last < 0)) {
        reply_error(c->out, ERR_NOT_FENCE);
        return 0;
    }
    *passed = !o || token >= last;
    if (*passed && (!o || token > last)) store_ll(c, fence_arg, o, token, -1);
    return 1;
}

static int arg_token(cmd_call *c, int i, long long *token)
{
    return arg_at_least(c, i, 0, "token", token);
}

/* FENCE.CHECK fence token -> 1 if token >= the highest accepted (which
 * becomes token), else 0. */
static void fence_check_command(cmd_call *c)
{
    long long token;
    int passed;
    if (!arg_token(c, 2, &token) || !fence_pass(c, 1, token, &passed)) return;
    reply_int(c->out, passed);
}

/* FENCE.SET fence token key value -> OK, or nil if the token is stale.
 * The check and the write are one atomic step, which two commands are
 * not. */
static void fence_set_command(cmd_call *c)
{
    const cslice *fence = &c->argv[1], *key = &c->argv[3], *val = &c->argv[4];
    long long token;
    int passed;
    if (fence->len == key->len && memcmp(fence->ptr, key->ptr, key->len) == 0) {
        reply_error(c->out, "ERR the fence and the key must be different keys");
        return;
    }
    if (!arg_token(c, 2, &token)) return;
    /* Like SET, the write replaces a value of any type. */
    if (!fence_pass(c, 1, token, &passed)) return;
    if (!passed) {
        reply_null(c->out);
        return;
    }
    lookup_write(c, key); /* an expired key is deleted (and logged) first */
    store_value(c, 3, obj_new_string_try_int(val->ptr, val->len), -1);
    reply_ok(c->out);
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

#define CL_FLAGS (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define CL_ACL   (ACL_WRITE | ACL_FAST)

const cmd_def coord_commands[] = {
    {"cl.throttle", throttle_command, -5, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "Rate limit with the generic cell rate algorithm (redis-cell compatible)", "O(1)", NULL},
    {"cl.pthrottle", pthrottle_command, -5, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "CL.THROTTLE with the period and the reply's times in milliseconds", "O(1)", NULL},
    {"cl.window", window_command, -4, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "Rate limit with a sliding-window counter", "O(1)", NULL},
    {"cl.pwindow", pwindow_command, -4, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "CL.WINDOW with the window and the reply's times in milliseconds", "O(1)", NULL},
    {"cl.leaky", leaky_command, -5, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "Queue requests in a leaky bucket and say how long each should wait", "O(1)", NULL},
    {"cl.pleaky", pleaky_command, -5, CL_FLAGS, CL_ACL, 1, 1, 1, "coordination", "cairn 0.1",
     "CL.LEAKY with the period and the reply's times in milliseconds", "O(1)", NULL},
    {"delifeq", delifeq_command, 3, CMD_WRITE | CMD_FAST, ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1,
     1, "string", "9.0.0", "Delete key if its value matches the given string", "O(1)", NULL},
    {"lock.acquire", lock_acquire_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_FAST, 1, 1, 1, "coordination", "cairn 0.1",
     "Acquire a lock's lease for an owner and get a fencing token", "O(1)", NULL},
    {"lock.release", lock_release_command, -3, CMD_WRITE | CMD_FAST, ACL_WRITE | ACL_FAST, 1, 1, 1,
     "coordination", "cairn 0.1", "Release a lock's lease held by an owner", "O(1)", NULL},
    {"lock.extend", lock_extend_command, -4, CMD_WRITE | CMD_FAST, ACL_WRITE | ACL_FAST, 1, 1, 1,
     "coordination", "cairn 0.1", "Extend a lock's lease held by an owner", "O(1)", NULL},
    {"lock.info", lock_info_command, 2, CMD_READONLY | CMD_FAST, ACL_READ | ACL_FAST, 1, 1, 1,
     "coordination", "cairn 0.1", "Get a lock's holder, last fencing token and lease time left",
     "O(1)", NULL},
    {"fence.check", fence_check_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_FAST, 1, 1, 1, "coordination", "cairn 0.1",
     "Accept a fencing token if it is at least the highest accepted so far", "O(1)", NULL},
    {"fence.set", fence_set_command, 5, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW,
     1, 3, 2, "coordination", "cairn 0.1",
     "Set a string value only if a fencing token is at least the highest accepted", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
