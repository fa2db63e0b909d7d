/* test_keyspace.c -- keyed objects (key and expiry embedded in the value's
 * allocation) and the db's volatile array. */
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "ds/alloc.h"
#include "engine/db.h"
#include "engine_harness.h"

#define RUN(e, s, t, ...) run_words_at(e, s, t, WORDS(__VA_ARGS__))

static int slice_is(cslice s, const char *p, size_t len)
{
    return s.len == len && memcmp(s.ptr, p, len) == 0;
}

static void test_keyed_string_layout(void)
{
    cslice key = {"key:000000000001", 16};
    const char *val = "0123456789abcdef";
    cobj *o = obj_new_keyed_string(&key, -1, val, 16);
    CHECK(o->encoding == ENC_EMBSTR);
    CHECK(slice_is(obj_key(o), key.ptr, key.len));
    CHECK(obj_str_equals(o, val, 16));
    CHECK_EQ_LL(obj_expire(o), -1);
    /* The sizes issue #5 asks for: jemalloc classes 48 and 64. */
    CHECK(cm_usable_size(o) <= 48);
    obj_free(o);

    o = obj_new_keyed_string(&key, 123456789, val, 16);
    CHECK(cm_usable_size(o) <= 64);
    CHECK_EQ_LL(obj_expire(o), 123456789);
    obj_set_expire_time(o, 42);
    CHECK_EQ_LL(obj_expire(o), 42);
    CHECK(slice_is(obj_key(o), key.ptr, key.len));
    CHECK(obj_str_equals(o, val, 16));

    /* In place: a shorter value fits, then one up to the capacity. */
    CHECK(obj_string_set_in_place(o, "short", 5));
    CHECK(obj_str_equals(o, "short", 5));
    CHECK(obj_string_set_in_place(o, "fedcba9876543210", 16));
    CHECK(obj_str_equals(o, "fedcba9876543210", 16));
    CHECK(!obj_string_set_in_place(o, "fedcba9876543210!", 17));
    CHECK(!obj_string_set_in_place(o, "12", 2)); /* an integer is INT */
    CHECK(slice_is(obj_key(o), key.ptr, key.len));
    CHECK_EQ_LL(obj_expire(o), 42);
    obj_free(o);

    o = obj_new_keyed_string(&key, -1, "-17", 3);
    CHECK(o->encoding == ENC_INT && o->v.ll == -17);
    CHECK(slice_is(obj_key(o), key.ptr, key.len));
    obj_free(o);
}

static void test_set_key_keeps_the_value(void)
{
    static char big[70000];
    memset(big, 'k', sizeof(big));
    cslice longkey = {big, sizeof(big)}, shortkey = {"s", 1};
    const char *encs[] = {"int", "embstr", "raw"};
    const char *vals[] = {"12345", "hello", "a value longer than forty-four bytes, so it is RAW"};
    for (int i = 0; i < 3; i++) {
        cobj *o = obj_new_string_try_int(vals[i], strlen(vals[i]));
        CHECK_STR(obj_encoding_name(o->encoding), encs[i]);
        o = obj_set_key(o, &longkey, 7);
        CHECK(slice_is(obj_key(o), big, sizeof(big)));
        CHECK_EQ_LL(obj_expire(o), 7);
        CHECK(obj_str_equals(o, vals[i], strlen(vals[i])));
        /* Re-keyed from its own key, the expiry dropped. */
        o = obj_set_key(o, &shortkey, -1);
        CHECK(slice_is(obj_key(o), "s", 1));
        CHECK_EQ_LL(obj_expire(o), -1);
        CHECK(obj_str_equals(o, vals[i], strlen(vals[i])));
        cobj *copy = obj_dup(o);
        CHECK(!(copy->meta & OBJ_M_KEY));
        CHECK(obj_str_equals(copy, vals[i], strlen(vals[i])));
        obj_free(copy);
        obj_free(o);
    }
}

/* Every object of the volatile array knows its index and has an expiry,
 * and it holds exactly the db's keys that have one. */
static void check_volatile(cdb *db)
{
    long long with_ttl = 0;
    htab_iter it;
    cobj *o;
    htab_iter_start(&it, db->keys);
    while ((o = htab_iter_next(&it)) != NULL)
        with_ttl += obj_has_expire(o);
    htab_iter_end(&it);
    CHECK_EQ_LL(db_volatile_count(db), with_ttl);
    for (uint32_t i = 0; i < db->nvol; i++) {
        REQUIRE(obj_has_expire(db->vol[i]));
        CHECK_EQ_LL(obj_volatile_index(db->vol[i]), i);
        cslice k = obj_key(db->vol[i]);
        CHECK(db_find(db, &k) == db->vol[i]);
    }
}

static void test_volatile_array_follows_the_keys(void)
{
    cairn_engine *e = new_engine(7);
    cairn_session s;
    session_init(e, &s);
    char key[32], other[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cm_free(RUN(e, &s, 1000, "SET", key, "value", "PX", "100000"));
    }
    check_volatile(&e->dbs[0]);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(other, sizeof(other), "r%d", i);
        switch (i % 7) {
        case 0: cm_free(RUN(e, &s, 1000, "PERSIST", key)); break;
        case 1: cm_free(RUN(e, &s, 1000, "DEL", key)); break;
        case 2: cm_free(RUN(e, &s, 1000, "RENAME", key, other)); break;
        case 3: cm_free(RUN(e, &s, 1000, "SET", key, "a longer value, no TTL")); break;
        case 4: cm_free(RUN(e, &s, 1000, "APPEND", key, "+")); break;
        case 5: cm_free(RUN(e, &s, 1000, "MOVE", key, "1")); break;
        default: cm_free(RUN(e, &s, 1000, "SET", key, "12", "KEEPTTL")); break;
        }
    }
    check_volatile(&e->dbs[0]);
    check_volatile(&e->dbs[1]);
    check_reply(RUN(e, &s, 1000, "PTTL", "r2"), ":100000\r\n");
    check_reply(RUN(e, &s, 1000, "PTTL", "k4"), ":100000\r\n");
    check_reply(RUN(e, &s, 1000, "GET", "k4"), "$6\r\nvalue+\r\n");
    check_reply(RUN(e, &s, 1000, "PTTL", "k6"), ":100000\r\n");
    check_reply(RUN(e, &s, 1000, "OBJECT", "ENCODING", "k6"), "$3\r\nint\r\n");
    check_reply(RUN(e, &s, 1000, "TTL", "k3"), ":-1\r\n");

    /* Active expiry walks the array and deletes every key whose time
     * passed, whatever was swapped where. */
    long long expected = db_volatile_count(&e->dbs[0]) + db_volatile_count(&e->dbs[1]);
    long long expired = 0;
    int more = 1;
    for (int round = 0; round < 1000 && (expired < expected || more); round++)
        expired += engine_active_expire(e, 200000, 1000, &more);
    CHECK_EQ_LL(expired, expected);
    check_volatile(&e->dbs[0]);
    check_volatile(&e->dbs[1]);
    CHECK_EQ_LL(db_volatile_count(&e->dbs[0]), 0);
    CHECK_EQ_LL(db_volatile_count(&e->dbs[1]), 0);
    check_reply(RUN(e, &s, 200000, "GET", "k3"), "$22\r\na longer value, no TTL\r\n");
    session_reset(&s);
    engine_free(e);
}

int main(void)
{
    TEST(test_keyed_string_layout);
    TEST(test_set_key_keeps_the_value);
    TEST(test_volatile_array_follows_the_keys);
    return TEST_REPORT();
}
