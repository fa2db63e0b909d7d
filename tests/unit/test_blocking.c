/* test_blocking.c -- parked sessions: the order in which they time out, and
 * that many of them cost other commands nothing. */
#include <time.h>

#include "test.h"

#include "engine_harness.h"

#define NSESS 8

/* The sessions the host was told about, in order. */
typedef struct released {
    uint64_t ids[64];
    int n;
} released;

static void note_unblocked(void *priv, cairn_session *s)
{
    released *r = priv;
    if (r->n < 64) r->ids[r->n++] = s->id;
}

static const cairn_host_ops host = {.unblocked = note_unblocked};

/* A connection-like session: it may block, its replies go to out. */
static void blocking_session(cairn_engine *e, cairn_session *s, rbuf *out)
{
    session_init(e, s);
    rbuf_init(out, 2);
    s->out = out;
    s->flags |= SESS_CAN_BLOCK;
}

static void park(cairn_engine *e, cairn_session *s, const char *key, const char *timeout)
{
    cslice argv[3] = {{"BLPOP", 5}, {key, strlen(key)}, {timeout, strlen(timeout)}};
    engine_execute(e, s, 3, argv, 0, s->out);
    CHECK(s->blocked != NULL);
}

static void test_timeouts_in_deadline_order(void)
{
    cairn_engine *e = new_engine(1);
    released rel = {0};
    engine_set_host(e, &host, &rel);
    cairn_session s[NSESS];
    rbuf out[NSESS];
    /* Deadlines in ms (time 0 + the timeout): two equal ones go in
     * arrival order; 0 never times out. */
    const char *timeouts[NSESS] = {"5", "1", "3", "1", "0", "2", "4", "6"};
    for (int i = 0; i < NSESS; i++) {
        blocking_session(e, &s[i], &out[i]);
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        park(e, &s[i], key, timeouts[i]);
    }
    CHECK_EQ_LL(e->blocked_count, NSESS);
    CHECK_EQ_LL(engine_blocked_with_timeout(e), NSESS - 1);
    CHECK_EQ_LL(engine_next_block_timeout(e), 1000);

    /* Taking one out of the middle (CLIENT UNBLOCK, a closed connection)
     * keeps the order of the rest. */
    CHECK_EQ_LL(engine_unblock(e, &s[2], 0), 1); /* the 3 s one */
    engine_session_gone(e, &s[6]);               /* the 4 s one */
    CHECK_EQ_LL(rel.n, 1);
    CHECK_EQ_LL(engine_blocked_with_timeout(e), NSESS - 3);

    engine_block_timeouts(e, 999);
    CHECK_EQ_LL(rel.n, 1);
    engine_block_timeouts(e, 1000);
    CHECK_EQ_LL(rel.n, 3);
    CHECK_EQ_LL(rel.ids[1], s[1].id);
    CHECK_EQ_LL(rel.ids[2], s[3].id);
    CHECK_EQ_LL(engine_next_block_timeout(e), 2000);
    engine_block_timeouts(e, 5500);
    CHECK_EQ_LL(rel.n, 5);
    CHECK_EQ_LL(rel.ids[3], s[5].id);
    CHECK_EQ_LL(rel.ids[4], s[0].id);
    CHECK_EQ_LL(engine_next_block_timeout(e), 6000);
    engine_block_timeouts(e, 1000000);
    CHECK_EQ_LL(rel.n, 6);
    CHECK_EQ_LL(rel.ids[5], s[7].id);
    CHECK_EQ_LL(engine_next_block_timeout(e), 0);
    /* The one without a timeout is still parked, and served by a push. */
    CHECK(s[4].blocked != NULL);
    CHECK_EQ_LL(e->blocked_count, 1);
    cairn_session writer;
    session_init(e, &writer);
    check_reply(run_words_at(e, &writer, 0, WORDS("RPUSH", "k4", "v")), ":1\r\n");
    CHECK(s[4].blocked == NULL);
    CHECK_EQ_LL(rel.n, 7);
    CHECK_EQ_LL(rel.ids[6], s[4].id);
    size_t len;
    char *flat = rbuf_flatten(&out[4], &len);
    CHECK_STR(flat, "*2\r\n$2\r\nk4\r\n$1\r\nv\r\n");
    cm_free(flat);

    for (int i = 0; i < NSESS; i++) {
        engine_session_gone(e, &s[i]);
        session_reset(&s[i]);
        rbuf_free(&out[i]);
    }
    session_reset(&writer);
    engine_free(e);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a server's loop does per request: run it, then look for the next
 * blocking timeout to arm its timer.  The best of a few runs. */
static double time_requests(cairn_engine *e, cairn_session *s, int n)
{
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = now_s();
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof(key), "plain:%d", i & 1023);
            cslice argv[3] = {{"SET", 3}, {key, strlen(key)}, {"v", 1}};
            rbuf out;
            rbuf_init(&out, 2);
            engine_execute(e, s, 3, argv, 0, &out);
            rbuf_free(&out);
            sum += engine_next_block_timeout(e);
        }
        double t = now_s() - t0;
        CHECK(sum >= 0);
        if (t < best) best = t;
    }
    return best;
}

#define NPARKED   10000
#define NREQUESTS 20000

static void test_parked_sessions_do_not_slow_other_requests(void)
{
    cairn_engine *e = new_engine(2);
    cairn_session writer;
    session_init(e, &writer);
    double alone = time_requests(e, &writer, NREQUESTS);

    cairn_session *s = cm_malloc(sizeof(*s) * NPARKED);
    rbuf *out = cm_malloc(sizeof(*out) * NPARKED);
    for (int i = 0; i < NPARKED; i++) {
        blocking_session(e, &s[i], &out[i]);
        char key[32], timeout[32];
        snprintf(key, sizeof(key), "wait:%d", i);
        snprintf(timeout, sizeof(timeout), "%d", 1000 + (i * 7919) % NPARKED);
        park(e, &s[i], key, timeout);
    }
    CHECK_EQ_LL(e->blocked_count, NPARKED);
    double crowded = time_requests(e, &writer, NREQUESTS);
    printf("%d requests: %.1f ms alone, %.1f ms with %d parked sessions\n", NREQUESTS, alone * 1e3,
           crowded * 1e3, NPARKED);
    /* A scan of every parked session per request made this 300 times
     * slower here; with the heap it stays within 2 or 3 times (the
     * parked sessions' keys and state are in the caches' way). */
    CHECK(crowded < alone * 10);

    /* Serving one key wakes only the session parked on it. */
    check_reply(run_words_at(e, &writer, 0, WORDS("RPUSH", "wait:77", "x")), ":1\r\n");
    CHECK(s[77].blocked == NULL);
    CHECK_EQ_LL(e->blocked_count, NPARKED - 1);
    /* The earliest deadline is 1000 s after time 0. */
    CHECK_EQ_LL(engine_next_block_timeout(e), 1000 * 1000);

    for (int i = 0; i < NPARKED; i++) {
        engine_session_gone(e, &s[i]);
        session_reset(&s[i]);
        rbuf_free(&out[i]);
    }
    CHECK_EQ_LL(e->blocked_count, 0);
    CHECK_EQ_LL(engine_next_block_timeout(e), 0);
    cm_free(s);
    cm_free(out);
    session_reset(&writer);
    engine_free(e);
}

int main(void)
{
    TEST(test_timeouts_in_deadline_order);
    TEST(test_parked_sessions_do_not_slow_other_requests);
    return TEST_REPORT();
}
