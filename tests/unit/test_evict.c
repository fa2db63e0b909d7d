/* Unit tests of eviction (evict.c): the LRU and LFU arithmetic and the
 * candidate pool as pure functions, then eviction through the engine with
 * an injected clock -- which keys go, that each is logged as a DEL, that a
 * replay of that log never evicts, and the OOM refusals. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cairn.h"

#include "ds/alloc.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/evict.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

#define RUN(e, s, now, ...) run_words_at(e, s, now, WORDS(__VA_ARGS__))

static long long reply_int_of(char *got)
{
    long long v = got[0] == ':' ? atoll(got + 1) : -999999;
    cm_free(got);
    return v;
}

#define OOM "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

/* A 1 KB value, so that a few hundred keys make a difference. */
static char value_1k[1025];

static void set_key(cairn_engine *e, cairn_session *s, int64_t now, const char *prefix, int i)
{
    char key[32];
    snprintf(key, sizeof(key), "%s%d", prefix, i);
    check_reply(RUN(e, s, now, "SET", key, value_1k), "+OK\r\n");
}

static int key_exists(cairn_engine *e, int db, const char *prefix, int i)
{
    char key[32];
    snprintf(key, sizeof(key), "%s%d", prefix, i);
    cslice k = {key, strlen(key)};
    return db_find(&e->dbs[db], &k) != NULL;
}

/* Set maxmemory to what is in use now plus `room` bytes. */
static void limit_to(cairn_engine *e, cairn_session *s, int64_t now, size_t room)
{
    char n[32];
    snprintf(n, sizeof(n), "%zu", evict_used_memory(e, now) + room);
    check_reply(RUN(e, s, now, "CONFIG", "SET", "maxmemory", n), "+OK\r\n");
}

/* ---------------------------------------------------------------------- */
/* Pure functions                                                          */
/* ---------------------------------------------------------------------- */

static void test_lfu_log_incr(void)
{
    CHECK_EQ_LL(lfu_log_incr(255, 0.0, 10), 255); /* saturates */
    /* At or below the initial value every access counts. */
    CHECK_EQ_LL(lfu_log_incr(0, 0.999, 10), 1);
    CHECK_EQ_LL(lfu_log_incr(LFU_INIT_VAL, 0.999, 10), LFU_INIT_VAL + 1);
    /* Above it, with probability 1 / ((counter - 5) * factor + 1). */
    CHECK_EQ_LL(lfu_log_incr(15, 1.0 / 101 - 1e-9, 10), 16);
    CHECK_EQ_LL(lfu_log_incr(15, 1.0 / 101 + 1e-9, 10), 15);
    CHECK_EQ_LL(lfu_log_incr(15, 0.5, 0), 16); /* factor 0: a plain counter */
}

static void test_lfu_decay(void)
{
    int64_t t0 = 1000LL * 60000; /* minute 1000 */
    unsigned lru = (lfu_minutes(t0) << 8) | 20;
    CHECK_EQ_LL(lfu_decayed_counter(lru, t0 + 59999, 1), 20);
    CHECK_EQ_LL(lfu_decayed_counter(lru, t0 + 3 * 60000, 1), 17);
    CHECK_EQ_LL(lfu_decayed_counter(lru, t0 + 3 * 60000, 2), 19);
    CHECK_EQ_LL(lfu_decayed_counter(lru, t0 + 3 * 60000, 0), 20); /* never decays */
    CHECK_EQ_LL(lfu_decayed_counter(lru, t0 + 30 * 60000, 1), 0);
    /* The 16-bit minute clock wraps: 65530 -> 4 is 9 minutes. */
    lru = (65530u << 8) | 20;
    CHECK_EQ_LL(lfu_decayed_counter(lru, 65540LL * 60000, 1), 11);
}

static void test_lru_idle(void)
{
    int64_t t0 = 5000000;
    unsigned lru = engine_lru_clock(t0);
    CHECK_EQ_LL(lru_idle_ms(lru, t0), 0);
    CHECK_EQ_LL(lru_idle_ms(lru, t0 + 999), 0); /* one-second resolution */
    CHECK_EQ_LL(lru_idle_ms(lru, t0 + 7000), 7000);
    /* The 24-bit clock wraps. */
    CHECK_EQ_LL(lru_idle_ms(0xFFFFFE, (int64_t)(0x1000000 + 1) * 1000), 2000);
}

static void test_pool_keeps_the_best_in_order(void)
{
    evict_pool p;
    evict_pool_init(&p);
    /* 40 candidates in a scrambled order; idle i*10 for key "k<i>". */
    for (int j = 0; j < 40; j++) {
        int i = (j * 17) % 40;
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        evict_pool_insert(&p, (unsigned long long)i * 10, 0, key, strlen(key));
    }
    /* The 16 best are kept, ascending: the next victim is the rightmost. */
    for (int k = 0; k < EVPOOL_SIZE; k++) {
        REQUIRE(p.e[k].key != NULL);
        CHECK_EQ_LL(p.e[k].idle, (unsigned long long)(24 + k) * 10);
    }
    CHECK(p.e[EVPOOL_SIZE - 1].len == 3 && memcmp(p.e[EVPOOL_SIZE - 1].key, "k39", 3) == 0);
    /* Worse than everything in a full pool: not taken. */
    evict_pool_insert(&p, 5, 0, "cold", 4);
    CHECK_EQ_LL(p.e[0].idle, 240);
    /* A long key is held outside the slot's buffer, and freed with it. */
    char long_key[600];
    memset(long_key, 'x', sizeof(long_key));
    evict_pool_insert(&p, 1000, 3, long_key, sizeof(long_key));
    CHECK(p.e[EVPOOL_SIZE - 1].key != p.e[EVPOOL_SIZE - 1].cached);
    CHECK_EQ_LL(p.e[EVPOOL_SIZE - 1].len, sizeof(long_key));
    CHECK_EQ_LL(p.e[EVPOOL_SIZE - 1].db, 3);
    CHECK_EQ_LL(p.e[0].idle, 250); /* the worst one made room */
    evict_pool_remove(&p.e[EVPOOL_SIZE - 1]);
    CHECK(p.e[EVPOOL_SIZE - 1].key == NULL);
    /* With a free slot on the right, better candidates shift right. */
    evict_pool_insert(&p, 255, 0, "mid", 3);
    CHECK_EQ_LL(p.e[0].idle, 250);
    CHECK_EQ_LL(p.e[1].idle, 255);
    CHECK_EQ_LL(p.e[EVPOOL_SIZE - 1].idle, 390);
    evict_pool_release(&p);
}

/* ---------------------------------------------------------------------- */
/* Through the engine                                                      */
/* ---------------------------------------------------------------------- */

static void test_object_freq_and_idletime(void)
{
    cairn_engine *e = new_engine(11);
    cairn_session s;
    session_init(e, &s);
    int64_t t = 3600000;
    check_reply(RUN(e, &s, t, "SET", "k", "v"), "+OK\r\n");
    char *r = RUN(e, &s, t, "OBJECT", "FREQ", "k");
    CHECK(strncmp(r, "-ERR An LFU maxmemory policy is not selected", 44) == 0);
    cm_free(r);
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t + 10000, "OBJECT", "IDLETIME", "k")), 10);
    check_reply(RUN(e, &s, t + 10000, "GET", "k"), "$1\r\nv\r\n");
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t + 12000, "OBJECT", "IDLETIME", "k")), 2);
    /* CLIENT NO-TOUCH: reads leave the clock alone, TOUCH does not. */
    check_reply(RUN(e, &s, t, "CLIENT", "NO-TOUCH", "ON"), "+OK\r\n");
    check_reply(RUN(e, &s, t + 20000, "GET", "k"), "$1\r\nv\r\n");
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t + 20000, "OBJECT", "IDLETIME", "k")), 10);
    check_reply(RUN(e, &s, t + 20000, "TOUCH", "k"), ":1\r\n");
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t + 20000, "OBJECT", "IDLETIME", "k")), 0);
    check_reply(RUN(e, &s, t, "CLIENT", "NO-TOUCH", "OFF"), "+OK\r\n");

    /* Under LFU: a new key starts at 5, the first access always counts,
     * then ever less often; a minute idle costs one (lfu-decay-time). */
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), "+OK\r\n");
    r = RUN(e, &s, t, "OBJECT", "IDLETIME", "k");
    CHECK(strncmp(r, "-ERR An LFU maxmemory policy is selected", 40) == 0);
    cm_free(r);
    check_reply(RUN(e, &s, t, "SET", "f", "v"), "+OK\r\n");
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t, "OBJECT", "FREQ", "f")), LFU_INIT_VAL);
    check_reply(RUN(e, &s, t, "GET", "f"), "$1\r\nv\r\n");
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t, "OBJECT", "FREQ", "f")), LFU_INIT_VAL + 1);
    for (int i = 0; i < 1000; i++)
        cm_free(RUN(e, &s, t, "GET", "f"));
    /* About 920 accesses take the counter from 6 to 19 at factor 10. */
    long long freq = reply_int_of(RUN(e, &s, t, "OBJECT", "FREQ", "f"));
    CHECK(freq >= 15 && freq <= 23);
    CHECK_EQ_LL(reply_int_of(RUN(e, &s, t + 10 * 60000, "OBJECT", "FREQ", "f")), freq - 10);
    /* Overwriting keeps the counter (and bumps it, as SET reads first). */
    check_reply(RUN(e, &s, t, "SET", "f", "w"), "+OK\r\n");
    CHECK(reply_int_of(RUN(e, &s, t, "OBJECT", "FREQ", "f")) >= freq);

    session_reset(&s);
    engine_free(e);
}

/* The keys of a recorded log that were DELeted, counted, and each checked
 * to be gone from the engine. */
static int logged_deletes(cairn_engine *e, const recorder *rec)
{
    int dels = 0;
    size_t off = 0;
    while (off < dstr_len(rec->log)) {
        entry_view v;
        const char *why;
        if (entry_decode(rec->log + off, dstr_len(rec->log) - off, &v, &why) != ENTRY_OK) break;
        if (v.e.argc == 2 && v.e.argv[0].len == 3 && memcmp(v.e.argv[0].ptr, "DEL", 3) == 0) {
            dels++;
            CHECK(db_find(&e->dbs[v.e.db], &v.e.argv[1]) == NULL);
        }
        off += v.size;
        entry_view_free(&v);
    }
    CHECK_EQ_LL(off, dstr_len(rec->log));
    return dels;
}

/* Replay a log as recovery does, through engine_apply_entry(), or (via
 * set) through engine_execute() as a SESS_LOADER session: either way it
 * must reproduce the log, never evict, however tight the limit. */
static void replay_as_loader(cairn_engine *e, const recorder *rec, int via_execute)
{
    cairn_session s;
    session_init(e, &s);
    s.flags |= SESS_LOADER;
    size_t off = 0;
    while (off < dstr_len(rec->log)) {
        entry_view v;
        const char *why;
        if (entry_decode(rec->log + off, dstr_len(rec->log) - off, &v, &why) != ENTRY_OK) break;
        rbuf out;
        rbuf_init(&out, 2);
        if (via_execute) {
            s.db = (int)v.e.db;
            engine_execute(e, &s, v.e.argc, v.e.argv, v.e.now_ms * 1000, &out);
        } else {
            CHECK_EQ_LL(engine_apply_entry(e, &s, &v.e, &out), 0);
        }
        rbuf_free(&out);
        off += v.size;
        entry_view_free(&v);
    }
    engine_session_gone(e, &s);
    session_reset(&s);
}

static void test_evictions_are_logged_and_replayed(void)
{
    cairn_engine *a = new_engine(12);
    /* The log lives in this process too: reserve its room before the
     * limit is set, or its growth would be what gets evicted for. */
    recorder rec = {dstr_with_cap(4 << 20), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);
    int64_t t = 7200000;
    check_reply(RUN(a, &s, t, "CONFIG", "SET", "maxmemory-policy", "allkeys-random"), "+OK\r\n");
    limit_to(a, &s, t, 200 * 1024);
    for (int i = 0; i < 1000; i++)
        set_key(a, &s, t, "k", i);
    long long evicted = a->stats.evicted_keys;
    CHECK(evicted > 500);
    CHECK_EQ_LL(db_size(&a->dbs[0]) + evicted, 1000);
    /* Within one 1 KB value (and its key) of the limit. */
    CHECK(evict_used_memory(a, t) <= a->cfg.maxmemory + 2048);
    CHECK_EQ_LL(logged_deletes(a, &rec), evicted);

    /* The replay ends with the same keys, however tight its own limit. */
    for (int via_execute = 0; via_execute <= 1; via_execute++) {
        cairn_engine *b = new_engine(13);
        b->cfg.maxmemory = 1;
        b->cfg.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
        replay_as_loader(b, &rec, via_execute);
        CHECK_EQ_LL(b->stats.evicted_keys, 0);
        CHECK_EQ_LL(db_size(&b->dbs[0]), db_size(&a->dbs[0]));
        for (int i = 0; i < 1000; i++)
            CHECK(key_exists(a, 0, "k", i) == key_exists(b, 0, "k", i));
        engine_free(b);
    }

    session_reset(&s);
    dstr_free(rec.log);
    engine_free(a);
}

/* With an injected clock every key gets its own second: LRU must evict
 * the oldest, and with the pool it comes close to exact. */
static void test_lru_evicts_the_oldest(void)
{
    cairn_engine *e = new_engine(14);
    cairn_session s;
    session_init(e, &s);
    int64_t t = 100000000;
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), "+OK\r\n");
    size_t before = evict_used_memory(e, t);
    for (int i = 0; i < 400; i++)
        set_key(e, &s, t + i * 1000, "k", i);
    /* Lower the limit by 40% of what they take (tables included, so
     * somewhat fewer keys than that must go). */
    size_t after = evict_used_memory(e, t + 400000);
    char n[32];
    snprintf(n, sizeof(n), "%zu", after - (after - before) * 2 / 5);
    check_reply(RUN(e, &s, t + 400000, "CONFIG", "SET", "maxmemory", n), "+OK\r\n");
    int old_left = 0, new_left = 0;
    for (int i = 0; i < 200; i++)
        old_left += key_exists(e, 0, "k", i);
    for (int i = 200; i < 400; i++)
        new_left += key_exists(e, 0, "k", i);
    long long evicted = e->stats.evicted_keys;
    CHECK(evicted >= 120 && evicted <= 200);
    /* Sampled, so not exact: here about 95% of evictions hit the older half. */
    CHECK(old_left <= 200 - evicted + 15);
    CHECK(new_left >= 185);
    session_reset(&s);
    engine_free(e);
}

static void test_lfu_keeps_the_frequent(void)
{
    cairn_engine *e = new_engine(15);
    cairn_session s;
    session_init(e, &s);
    int64_t t = 100000000;
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), "+OK\r\n");
    for (int i = 0; i < 50; i++) {
        set_key(e, &s, t, "hot", i);
        char key[32];
        snprintf(key, sizeof(key), "hot%d", i);
        for (int j = 0; j < 20; j++)
            cm_free(RUN(e, &s, t, "GET", key));
    }
    limit_to(e, &s, t, 100 * 1024);
    for (int i = 0; i < 500; i++)
        set_key(e, &s, t, "cold", i);
    int hot_left = 0;
    for (int i = 0; i < 50; i++)
        hot_left += key_exists(e, 0, "hot", i);
    CHECK(e->stats.evicted_keys > 300);
    CHECK_EQ_LL(hot_left, 50);
    session_reset(&s);
    engine_free(e);
}

static void test_volatile_policies(void)
{
    cairn_engine *e = new_engine(16);
    cairn_session s;
    session_init(e, &s);
    int64_t t = 100000000;
    /* Only keys with a TTL are candidates; the nearest expiry goes first. */
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory-policy", "volatile-ttl"), "+OK\r\n");
    for (int i = 0; i < 100; i++)
        set_key(e, &s, t, "keep", i);
    size_t before = evict_used_memory(e, t);
    for (int i = 0; i < 200; i++) {
        char key[32], ttl[16];
        snprintf(key, sizeof(key), "ttl%d", i);
        snprintf(ttl, sizeof(ttl), "%d", 1000 + i * 10);
        check_reply(RUN(e, &s, t, "SET", key, value_1k, "EX", ttl), "+OK\r\n");
    }
    char n[32];
    size_t after = evict_used_memory(e, t);
    snprintf(n, sizeof(n), "%zu", after - (after - before) * 2 / 5); /* ~80 TTL keys */
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory", n), "+OK\r\n");
    int keep_left = 0, short_left = 0, long_left = 0;
    for (int i = 0; i < 100; i++)
        keep_left += key_exists(e, 0, "keep", i);
    for (int i = 0; i < 100; i++)
        short_left += key_exists(e, 0, "ttl", i);
    for (int i = 100; i < 200; i++)
        long_left += key_exists(e, 0, "ttl", i);
    CHECK_EQ_LL(keep_left, 100);
    CHECK(e->stats.evicted_keys >= 50);
    CHECK(short_left <= 100 - e->stats.evicted_keys + 10);
    CHECK(long_left >= 90);

    /* Once no key has a TTL, nothing can be evicted: writes get OOM. */
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru"), "+OK\r\n");
    check_reply(RUN(e, &s, t, "CONFIG", "SET", "maxmemory", "1"), "+OK\r\n");
    CHECK_EQ_LL(db_volatile_count(&e->dbs[0]), 0);
    CHECK_EQ_LL(db_size(&e->dbs[0]), 100);
    check_reply(RUN(e, &s, t, "SET", "x", "y"), OOM);
    session_reset(&s);
    engine_free(e);
}

static void test_noeviction_refuses_writes(void)
{
    cairn_engine *e = new_engine(17);
    cairn_session s;
    session_init(e, &s);
    int64_t t = 100000000;
    check_reply(RUN(e, &s, t, "SET", "k", "v"), "+OK\r\n");
    /* A transaction queued before memory ran out. */
    check_reply(RUN(e, &s, t, "MULTI"), "+OK\r\n");
    check_reply(RUN(e, &s, t, "SET", "a", "b"), "+QUEUED\r\n");
    cairn_session other;
    session_init(e, &other);
    check_reply(RUN(e, &other, t, "CONFIG", "SET", "maxmemory", "1"), "+OK\r\n");
    check_reply(RUN(e, &s, t, "EXEC"),
                "-EXECABORT Transaction discarded because of: OOM command not allowed when used "
                "memory > 'maxmemory'.\r\n");
    CHECK(!(s.flags & SESS_MULTI));

    check_reply(RUN(e, &s, t, "SET", "k2", "v"), OOM);
    check_reply(RUN(e, &s, t, "GET", "k"), "$1\r\nv\r\n");
    /* Inside MULTI anything but EXEC/DISCARD is refused: queuing grows. */
    check_reply(RUN(e, &s, t, "MULTI"), "+OK\r\n");
    check_reply(RUN(e, &s, t, "GET", "k"), OOM);
    check_reply(RUN(e, &s, t, "EXEC"),
                "-EXECABORT Transaction discarded because of previous errors.\r\n");
    check_reply(RUN(e, &s, t, "DEL", "k"), ":1\r\n");
    CHECK_EQ_LL(e->stats.evicted_keys, 0);

    session_reset(&s);
    session_reset(&other);
    engine_free(e);
}

/* ---------------------------------------------------------------------- */
/* Embedded                                                                */
/* ---------------------------------------------------------------------- */

static long long info_field(cairn *db, const char *section, const char *field)
{
    cairn_reply *r = NULL;
    if (cairn_commandl(db, &r, "INFO", section, (char *)NULL) != CAIRN_OK || !r) return -1;
    const char *p = strstr(r->str, field);
    long long v = p ? atoll(p + strlen(field) + 1) : -1;
    cairn_reply_free(r);
    return v;
}

typedef struct filler {
    cairn *db;
    int from, to;
} filler;

static void *fill_thread(void *arg)
{
    filler *f = arg;
    for (int i = f->from; i < f->to; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        cairn_reply *r = NULL;
        if (cairn_commandl(f->db, &r, "SET", key, value_1k, (char *)NULL) != CAIRN_OK || !r ||
            r->type != CAIRN_REPLY_STATUS)
            CHECK(0);
        cairn_reply_free(r);
    }
    return NULL;
}

/* The library evicts through the same engine; calls from several threads
 * (each with its own allocator counters) keep the meter right. */
static void test_embedded_store_evicts(void)
{
    const char *config[] = {"maxmemory-policy", "allkeys-lru", NULL};
    cairn_options opts;
    cairn_options_init(&opts);
    opts.seed = 42;
    opts.config = config;
    cairn *db = NULL;
    REQUIRE(cairn_open(&opts, &db) == CAIRN_OK);
    long long limit = info_field(db, "memory", "used_memory") + 512 * 1024;
    char n[32];
    snprintf(n, sizeof(n), "%lld", limit);
    cairn_reply *r = NULL;
    REQUIRE(cairn_commandl(db, &r, "CONFIG", "SET", "maxmemory", n, (char *)NULL) == CAIRN_OK);
    cairn_reply_free(r);

    filler a = {db, 0, 1000}, b = {db, 1000, 2000};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, fill_thread, &a);
    pthread_create(&tb, NULL, fill_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(info_field(db, "stats", "evicted_keys") > 1000);
    long long used = info_field(db, "memory", "used_memory");
    CHECK(used <= limit + limit / 50);
    CHECK(used >= limit - limit / 5);

    REQUIRE(cairn_commandl(db, &r, "CONFIG", "SET", "maxmemory-policy", "noeviction", "maxmemory",
                           "1", (char *)NULL) == CAIRN_OK);
    cairn_reply_free(r);
    REQUIRE(cairn_commandl(db, &r, "SET", "x", "y", (char *)NULL) == CAIRN_OK);
    CHECK(r->type == CAIRN_REPLY_ERROR);
    CHECK_STR(r->str, "OOM command not allowed when used memory > 'maxmemory'.");
    cairn_reply_free(r);
    cairn_close(db);
}

int main(void)
{
    memset(value_1k, 'v', sizeof(value_1k) - 1);
    TEST(test_lfu_log_incr);
    TEST(test_lfu_decay);
    TEST(test_lru_idle);
    TEST(test_pool_keeps_the_best_in_order);
    TEST(test_object_freq_and_idletime);
    TEST(test_evictions_are_logged_and_replayed);
    TEST(test_lru_evicts_the_oldest);
    TEST(test_lfu_keeps_the_frequent);
    TEST(test_volatile_policies);
    TEST(test_noeviction_refuses_writes);
    TEST(test_embedded_store_evicts);
    return TEST_REPORT();
}
