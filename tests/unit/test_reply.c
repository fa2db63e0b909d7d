/* test_reply.c -- deferred lengths of the reply builder (reply.c): a reply
 * built with deferred lengths must be byte for byte the reply built with
 * the lengths known up front, however the values fall across blocks and
 * however deep the nesting, and the buffer's byte count must agree. */
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/rand.h"
#include "engine/reply.h"
#include "test.h"

static char big[40000];

/* A random nested reply written into a (deferred lengths) and b (known
 * lengths); depth bounds the nesting. */
static void emit(crand *r, rbuf *a, rbuf *b, int depth)
{
    long n = (long)crand_below(r, depth ? 6 : 12);
    rbuf_deferred d = reply_deferred_len(a);
    int map = crand_below(r, 2) == 0;
    if (map)
        reply_map_len(b, n);
    else
        reply_array_len(b, n);
    for (long i = 0; i < n * (map ? 2 : 1); i++) {
        unsigned kind = (unsigned)crand_below(r, 8);
        if (kind == 0 && depth < 4) {
            emit(r, a, b, depth + 1);
        } else if (kind == 1) {
            /* Large enough to fill a block and spill into the next. */
            size_t len = (size_t)crand_below(r, sizeof big);
            reply_bulk(a, big, len);
            reply_bulk(b, big, len);
        } else {
            size_t len = (size_t)crand_below(r, 40);
            reply_bulk(a, big, len);
            reply_bulk(b, big, len);
        }
    }
    if (map)
        reply_set_deferred_map(a, d, n);
    else
        reply_set_deferred_array(a, d, n);
}

static void test_deferred_lengths_match_known_lengths(void)
{
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    crand r;
    crand_seed(&r, 7);
    for (int resp = 2; resp <= 3; resp++) {
        for (int round = 0; round < 300; round++) {
            rbuf a, b;
            rbuf_init(&a, resp);
            rbuf_init(&b, resp);
            /* A pipeline: several replies back to back, some consumed. */
            int replies = 1 + (int)crand_below(&r, 20);
            for (int k = 0; k < replies; k++) {
                emit(&r, &a, &b, 0);
                reply_int(&a, k);
                reply_int(&b, k);
            }
            size_t la, lb;
            char *fa = rbuf_flatten(&a, &la), *fb = rbuf_flatten(&b, &lb);
            CHECK_EQ_LL(la, lb);
            CHECK_EQ_LL(a.bytes, la);
            CHECK(la == lb && memcmp(fa, fb, la) == 0);
            /* Written out in pieces, the buffer ends empty. */
            size_t left = la;
            while (left) {
                size_t n = 1 + (size_t)crand_below(&r, 20000);
                if (n > left) n = left;
                rbuf_consume(&a, n);
                left -= n;
            }
            CHECK_EQ_LL(a.bytes, 0);
            cm_free(fa);
            cm_free(fb);
            rbuf_free(&a);
            rbuf_free(&b);
        }
    }
}

int main(void)
{
    TEST(test_deferred_lengths_match_known_lengths);
    return TEST_REPORT();
}
