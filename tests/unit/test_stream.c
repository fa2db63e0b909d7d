/* test_stream.c -- unit tests for src/ds/stream.c: IDs, the sidmap, and
 * the stream checked against a plain array model under random appends,
 * deletions, trims and range walks in both directions. */
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/rand.h"
#include "ds/stream.h"
#include "ds/util.h"
#include "test.h"

static void test_ids(void)
{
    sid id;
    char buf[SID_STR_MAX];
    CHECK(sid_parse("12-34", 5, 0, &id, NULL) && id.ms == 12 && id.seq == 34);
    CHECK(sid_parse("12", 2, 7, &id, NULL) && id.ms == 12 && id.seq == 7);
    int seq_auto;
    CHECK(sid_parse("5-*", 3, 0, &id, &seq_auto) && seq_auto && id.ms == 5);
    CHECK(!sid_parse("5-*", 3, 0, &id, NULL));
    CHECK(!sid_parse("a-1", 3, 0, &id, NULL));
    CHECK(!sid_parse("1-", 2, 0, &id, NULL));
    CHECK(!sid_parse("-1", 2, 0, &id, NULL));
    CHECK(sid_parse("18446744073709551615-18446744073709551615", 41, 0, &id, NULL));
    CHECK(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
    CHECK(!sid_incr(&id));
    sid_format(&id, buf);
    CHECK_STR(buf, "18446744073709551615-18446744073709551615");
    id = (sid){3, UINT64_MAX};
    CHECK(sid_incr(&id) && id.ms == 4 && id.seq == 0);
    CHECK(sid_decr(&id) && id.ms == 3 && id.seq == UINT64_MAX);
    id = SID_MIN;
    CHECK(!sid_decr(&id));
}

static void test_sidmap(void)
{
    sidmap m = {0};
    crand r;
    crand_seed(&r, 7);
    int present[512] = {0};
    for (int i = 0; i < 20000; i++) {
        uint64_t k = crand_next(&r) % 512;
        sid id = {k / 4, k % 4};
        if (present[k]) {
            CHECK(sidmap_remove(&m, &id) == (void *)(uintptr_t)(k + 1));
            present[k] = 0;
        } else {
            sidmap_insert(&m, &id, (void *)(uintptr_t)(k + 1));
            present[k] = 1;
        }
    }
    size_t n = 0;
    for (int k = 0; k < 512; k++) {
        if (!present[k]) continue;
        REQUIRE(n < sidmap_len(&m));
        sidmap_ent *e = sidmap_at(&m, n++);
        CHECK(e->id.ms == (uint64_t)k / 4 && e->id.seq == (uint64_t)k % 4);
    }
    CHECK(n == sidmap_len(&m));
    sidmap_free(&m);
}

/* The model: live entries in order, each with its fields and values. */
typedef struct m_ent {
    sid id;
    int nf;
    char fv[6][16];
} m_ent;

static int lp_is(const lp_value *v, const char *s)
{
    char buf[32];
    size_t len;
    const char *p = lp_value_str(v, buf, &len);
    return len == strlen(s) && memcmp(p, s, len) == 0;
}

/* Walk [a, b] both ways and compare with the model. */
static int range_agrees(const stream *s, const m_ent *m, int n, const sid *a, const sid *b)
{
    for (int rev = 0; rev < 2; rev++) {
        stream_iter it;
        stream_iter_start(&it, s, a, b, rev);
        int i = rev ? n - 1 : 0;
        sid id;
        long nf;
        while (stream_iter_next(&it, &id, &nf)) {
            while (i >= 0 && i < n && (sid_cmp(&m[i].id, a) < 0 || sid_cmp(&m[i].id, b) > 0))
                i += rev ? -1 : 1;
            if (i < 0 || i >= n || sid_cmp(&id, &m[i].id) != 0 || nf != m[i].nf) return 0;
            /* Read only some fields: the iterator must cope. */
            for (long f = 0; f < nf && f < 1 + (long)(id.seq % 3); f++) {
                lp_value fv, vv;
                stream_iter_field(&it, &fv, &vv);
                if (!lp_is(&fv, m[i].fv[2 * f]) || !lp_is(&vv, m[i].fv[2 * f + 1])) return 0;
            }
            i += rev ? -1 : 1;
        }
        while (i >= 0 && i < n && (sid_cmp(&m[i].id, a) < 0 || sid_cmp(&m[i].id, b) > 0))
            i += rev ? -1 : 1;
        if (i >= 0 && i < n) return 0;
    }
    return 1;
}

static void test_random_model(void)
{
    enum { MAXN = 4000 };
    m_ent *m = calloc(MAXN, sizeof(*m));
    int n = 0;
    stream *s = stream_new();
    stream_limits lim = {200, 10};
    crand r;
    crand_seed(&r, 42);
    uint64_t ms = 1;
    for (int step = 0; step < 6000; step++) {
        unsigned op = (unsigned)(crand_next(&r) % 10);
        if (op < 6 && n < MAXN) {
            m_ent *e = &m[n];
            ms += crand_next(&r) % 3;
            if (!stream_next_id(s, ms, &e->id)) break;
            e->nf = 1 + (int)(crand_next(&r) % 3);
            cslice fv[6];
            int samefields = crand_next(&r) % 2;
            for (int f = 0; f < e->nf; f++) {
                snprintf(e->fv[2 * f], 16, "%c%u", samefields ? 'f' : 'g',
                         samefields ? (unsigned)f : (unsigned)(crand_next(&r) % 5));
                snprintf(e->fv[2 * f + 1], 16, "%u", (unsigned)(crand_next(&r) % 100000));
                fv[2 * f] = (cslice){e->fv[2 * f], strlen(e->fv[2 * f])};
                fv[2 * f + 1] = (cslice){e->fv[2 * f + 1], strlen(e->fv[2 * f + 1])};
            }
            stream_append(s, &e->id, fv, e->nf, &lim);
            n++;
        } else if (op < 8 && n) {
            int i = (int)(crand_next(&r) % (uint64_t)n);
            sid id = m[i].id;
            CHECK(stream_delete(s, &id) == 1);
            CHECK(stream_delete(s, &id) == 0);
            memmove(m + i, m + i + 1, (size_t)(n - i - 1) * sizeof(*m));
            n--;
        } else if (op == 8 && n) {
            stream_trim t = {0};
            t.approx = crand_next(&r) % 2;
            long long before = n;
            if (crand_next(&r) % 2) {
                t.strategy = TRIM_MAXLEN;
                t.maxlen = (long long)(crand_next(&r) % (uint64_t)(n + 1));
            } else {
                t.strategy = TRIM_MINID;
                t.minid = m[crand_next(&r) % (uint64_t)n].id;
            }
            long long removed = stream_trim_run(s, &t);
            /* Trimming removes from the head: drop what the stream dropped. */
            REQUIRE(removed <= before);
            memmove(m, m + removed, (size_t)(n - removed) * sizeof(*m));
            n -= (int)removed;
            if (!t.approx && t.strategy == TRIM_MAXLEN) CHECK(n <= t.maxlen);
            if (!t.approx && t.strategy == TRIM_MINID && n) CHECK(sid_cmp(&m[0].id, &t.minid) >= 0);
        } else if (n) {
            sid a = m[crand_next(&r) % (uint64_t)n].id, b = m[crand_next(&r) % (uint64_t)n].id;
            if (sid_cmp(&a, &b) > 0) {
                sid t = a;
                a = b;
                b = t;
            }
            REQUIRE(range_agrees(s, m, n, &a, &b));
        }
        REQUIRE(s->length == (uint64_t)n);
        sid first;
        if (n) {
            CHECK(stream_edge_id(s, 0, &first) && sid_cmp(&first, &m[0].id) == 0);
            CHECK(sid_cmp(&s->first_id, &m[0].id) == 0);
        }
    }
    sid lo = SID_MIN, hi = SID_MAX;
    CHECK(range_agrees(s, m, n, &lo, &hi));
    /* A copy walks the same, and the nodes reload as they were. */
    stream *d = stream_dup(s);
    CHECK(range_agrees(d, m, n, &lo, &hi));
    stream *l = stream_new();
    for (size_t i = 0; i < stream_node_count(d); i++) {
        sid master;
        unsigned char *lp = stream_node_lp(d, i, &master);
        CHECK(stream_load_node(l, &master, cm_memdup(lp, lp_bytes(lp))));
    }
    l->last_id = d->last_id;
    CHECK(l->length == (uint64_t)n);
    CHECK(range_agrees(l, m, n, &lo, &hi));
    stream_free(l);
    stream_free(d);
    stream_free(s);
    free(m);
}

/* Nodes split after stream-node-max-entries entries, counting deleted ones. */
static void test_node_limits(void)
{
    stream *s = stream_new();
    stream_limits lim = {4096, 100};
    cslice fv[2] = {{"f", 1}, {"v", 1}};
    for (uint64_t i = 1; i <= 250; i++) {
        sid id = {i, 0};
        stream_append(s, &id, fv, 1, &lim);
    }
    CHECK(stream_node_count(s) == 3);
    stream_trim t = {.strategy = TRIM_MAXLEN, .approx = 1, .maxlen = 120};
    CHECK(stream_trim_run(s, &t) == 100);
    CHECK(s->length == 150);
    t.approx = 0;
    CHECK(stream_trim_run(s, &t) == 30);
    CHECK(s->length == 120 && s->first_id.ms == 131);
    /* A refused node load: entries out of order. */
    unsigned char *lp = lp_new(0);
    lp = lp_append_int(lp, 1);
    lp = lp_append_int(lp, 0);
    lp = lp_append_int(lp, 0);
    lp = lp_append_int(lp, 0);
    sid master = {1000, 0};
    CHECK(!stream_load_node(s, &master, lp));
    lp_free(lp);
    stream_free(s);
}

static void test_groups(void)
{
    stream *s = stream_new();
    sid zero = SID_MIN;
    stream_cg *g = stream_cg_create(s, "g", 1, &zero, 0);
    CHECK(g && !stream_cg_create(s, "g", 1, &zero, 0));
    CHECK(stream_cg_create(s, "a", 1, &zero, 0) && s->groups[0] != g);
    stream_consumer *c1 = stream_consumer_create(g, "c1", 2, 5);
    stream_consumer *c2 = stream_consumer_create(g, "c0", 2, 5);
    CHECK(g->consumers[0] == c2 && stream_consumer_find(g, "c1", 2) == c1);
    for (uint64_t i = 1; i <= 10; i++) {
        sid id = {i, 0};
        stream_nack_add(g, c1, &id, 100);
    }
    sid five = {5, 0};
    stream_nack_move(g, &five, sidmap_find(&g->pel, &five)->val, c2);
    CHECK(sidmap_len(&c1->pel) == 9 && sidmap_len(&c2->pel) == 1);
    CHECK(stream_nack_ack(g, &five) && !stream_nack_ack(g, &five));
    CHECK(stream_consumer_delete(g, c1) == 9 && sidmap_len(&g->pel) == 0);
    stream_free(s);
}

int main(void)
{
    TEST(test_ids);
    TEST(test_sidmap);
    TEST(test_random_model);
    TEST(test_node_limits);
    TEST(test_groups);
    return TEST_REPORT();
}
