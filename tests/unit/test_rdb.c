/* test_rdb.c -- the RDB codec (src/log/rdb.c): CRC64, strings in every
 * encoding, payloads byte-identical to redis-server 7.0's, round trips of
 * every type and encoding through DUMP/RESTORE, the older encodings
 * (ziplist, zipmap, intset, text scores) decoded from hand-built bytes,
 * and damaged payloads refused without a crash. */
#include "test.h"

#include "engine_harness.h"

#include "ds/listpack.h"
#include "ds/rand.h"
#include "ds/stream.h"
#include "engine/db.h"
#include "log/rdb.h"

/* ---- helpers ------------------------------------------------------------ */

static cairn_engine *E;
static cairn_session S;

static char *run(const char **words) { return run_words_at(E, &S, 1000000, words); }

static void ok(const char **words, const char *want) { check_reply(run(words), want); }

static cobj *find(const char *key)
{
    cslice k = {key, strlen(key)};
    return db_find(&E->dbs[0], &k);
}

/* RESTORE key 0 payload [REPLACE]: the reply. */
static char *restore(const char *key, const char *p, size_t len)
{
    cslice argv[5] = {{"RESTORE", 7}, {key, strlen(key)}, {"0", 1}, {p, len}, {"REPLACE", 7}};
    return run_argv_at(E, &S, 1000000, 5, argv);
}

/* A payload of raw value bytes (type first), with version and CRC. */
static dstr seal(const unsigned char *v, size_t len, unsigned version)
{
    dstr d = dstr_new(v, len);
    unsigned char ver[2] = {(unsigned char)version, (unsigned char)(version >> 8)};
    d = dstr_cat(d, ver, 2);
    uint64_t crc = rdb_crc64(0, d, dstr_len(d));
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(crc >> (8 * i));
    return dstr_cat(d, c, 8);
}

/* DUMP key, RESTORE it as key2, and check that `cmd key2 ...` replies
 * as `cmd key ...` does, and that the encoding is kept. */
static void round_trip(const char *key, const char **read_cmd)
{
    cobj *o = find(key);
    REQUIRE(o != NULL);
    int enc = o->encoding;
    dstr p = rdb_dump_payload(o, 1);
    CHECK(rdb_payload_ok(p, dstr_len(p)));
    check_reply(restore("copy", p, dstr_len(p)), "+OK\r\n");
    dstr_free(p);
    cobj *c = find("copy");
    REQUIRE(c != NULL);
    CHECK_EQ_LL(c->encoding, enc);
    const char *w[8];
    int n = 0, at = 1;
    for (; read_cmd[n]; n++) {
        w[n] = read_cmd[n];
        if (strcmp(w[n], "k") == 0) at = n;
    }
    w[n] = NULL;
    w[at] = key;
    char *a = run(w);
    w[at] = "copy";
    char *b = run(w);
    CHECK_STR(a, b);
    cm_free(a);
    cm_free(b);
}

/* ---- tests ------------------------------------------------------------- */

static void test_crc64(void)
{
    /* Redis's crc64 test vector. */
    CHECK(rdb_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
    CHECK(rdb_crc64(0, "", 0) == 0);
}

/* Bytes redis-server 7.0.15 answers DUMP with. */
static void test_payloads_match_redis(void)
{
    static const unsigned char v_str[] = {0x00, 0x01, 'v',  0x0a, 0x00, 0x91, 0x08,
                                          0xce, 0xb2, 0x19, 0x38, 0x8a, 0xce};
    static const unsigned char v_int[] = {0x00, 0xc1, 0x39, 0x30, 0x0a, 0x00, 0x9d,
                                          0x94, 0xea, 0x27, 0x93, 0xfc, 0x08, 0xb9};
    ok(WORDS("SET", "s", "v"), "+OK\r\n");
    ok(WORDS("SET", "n", "12345"), "+OK\r\n");
    dstr p = rdb_dump_payload(find("s"), 1);
    CHECK(dstr_len(p) == sizeof(v_str) && memcmp(p, v_str, sizeof(v_str)) == 0);
    dstr_free(p);
    p = rdb_dump_payload(find("n"), 1);
    CHECK(dstr_len(p) == sizeof(v_int) && memcmp(p, v_int, sizeof(v_int)) == 0);
    dstr_free(p);
    check_reply(restore("r", (const char *)v_int, sizeof(v_int)), "+OK\r\n");
    ok(WORDS("GET", "r"), "$5\r\n12345\r\n");
}

static void test_strings(void)
{
    static const char *vals[] = {"0",          "-1",
                                 "127",        "-128",
                                 "300",        "-40000",
                                 "2147483647", "-2147483648",
                                 "2147483648", "9223372036854775807",
                                 "007",        "",
                                 "abc",        "12345678901234567890123"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        dstr d = rdb_write_string(dstr_new("", 0), vals[i], strlen(vals[i]), 1);
        rdb_reader r = {(const unsigned char *)d, (const unsigned char *)d + dstr_len(d), NULL};
        cslice s;
        dstr scratch = NULL;
        CHECK(rdb_read_string(&r, &s, &scratch));
        CHECK(s.len == strlen(vals[i]) && memcmp(s.ptr, vals[i], s.len) == 0);
        CHECK(r.p == r.end);
        dstr_free(scratch);
        dstr_free(d);
    }
    /* A long repetitive string is compressed, and comes back. */
    char big[5000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 7);
    dstr d = rdb_write_string(dstr_new("", 0), big, sizeof(big), 1);
    CHECK(dstr_len(d) < 200);
    CHECK((unsigned char)d[0] == 0xC3);
    rdb_reader r = {(const unsigned char *)d, (const unsigned char *)d + dstr_len(d), NULL};
    cslice s;
    dstr scratch = NULL;
    CHECK(rdb_read_string(&r, &s, &scratch));
    CHECK(s.len == sizeof(big) && memcmp(s.ptr, big, s.len) == 0);
    dstr_free(scratch);
    dstr_free(d);
    /* Lengths in every size class. */
    uint64_t lens[] = {0, 63, 64, 16383, 16384, 0xFFFFFFFFull, 0x100000000ull};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        d = rdb_write_len(dstr_new("", 0), lens[i]);
        rdb_reader lr = {(const unsigned char *)d, (const unsigned char *)d + dstr_len(d), NULL};
        uint64_t got;
        CHECK(rdb_read_len(&lr, &got, NULL) && got == lens[i] && lr.p == lr.end);
        dstr_free(d);
    }
}

static void fill(const char *cmd, const char *key, int n, int pairs, const char *prefix)
{
    for (int i = 0; i < n; i++) {
        char a[64], b[64];
        snprintf(a, sizeof(a), "%s%d", prefix, i);
        snprintf(b, sizeof(b), "%d", i * 3);
        if (pairs == 2)
            cm_free(run(WORDS(cmd, key, b, a))); /* ZADD key score member */
        else if (pairs == 1)
            cm_free(run(WORDS(cmd, key, a, b))); /* HSET key field value */
        else
            cm_free(run(WORDS(cmd, key, a)));
    }
}

static void test_round_trips(void)
{
    ok(WORDS("SET", "str", "hello world"), "+OK\r\n");
    round_trip("str", WORDS("GET", "k"));
    ok(WORDS("SET", "long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "+OK\r\n");
    round_trip("long", WORDS("GET", "k"));
    ok(WORDS("SET", "int", "-123456789012"), "+OK\r\n");
    round_trip("int", WORDS("GET", "k"));

    fill("RPUSH", "lsmall", 5, 0, "e");
    round_trip("lsmall", WORDS("LRANGE", "k", "0", "-1"));
    fill("RPUSH", "lbig", 2000, 0, "element-");
    round_trip("lbig", WORDS("LRANGE", "k", "0", "-1"));

    fill("SADD", "sint", 10, 0, "");
    round_trip("sint", WORDS("SORT", "k"));
    fill("SADD", "slp", 10, 0, "m");
    round_trip("slp", WORDS("SORT", "k", "ALPHA"));
    fill("SADD", "sht", 1000, 0, "m");
    round_trip("sht", WORDS("SORT", "k", "ALPHA"));

    fill("HSET", "hlp", 10, 1, "f");
    round_trip("hlp", WORDS("HGETALL", "k"));
    fill("HSET", "hht", 1000, 1, "f");
    round_trip("hht", WORDS("HLEN", "k"));
    ok(WORDS("HLEN", "copy"), ":1000\r\n");
    ok(WORDS("HGET", "copy", "f999"), "$4\r\n2997\r\n");

    fill("ZADD", "zlp", 10, 2, "m");
    round_trip("zlp", WORDS("ZRANGE", "k", "0", "-1", "WITHSCORES"));
    fill("ZADD", "zsl", 1000, 2, "m");
    ok(WORDS("ZADD", "zsl", "1.5", "frac", "-inf", "low", "inf", "high"), ":3\r\n");
    round_trip("zsl", WORDS("ZRANGE", "k", "0", "-1", "WITHSCORES"));
}

/* A stream "xs": several nodes, two field sets, deleted entries, groups
 * with pending entries, consumers with and without them. */
static void build_stream(void)
{
    for (int i = 0; i < 350; i++) {
        char id[32], v[32];
        snprintf(id, sizeof(id), "%d-%d", 100 + i / 4, i % 4);
        snprintf(v, sizeof(v), "%d", i);
        if (i % 5)
            cm_free(run(WORDS("XADD", "xs", id, "f", v, "g", "value")));
        else
            cm_free(run(WORDS("XADD", "xs", id, "other", v)));
    }
    ok(WORDS("XDEL", "xs", "100-1", "150-2"), ":2\r\n");
    ok(WORDS("XGROUP", "CREATE", "xs", "g1", "0"), "+OK\r\n");
    ok(WORDS("XGROUP", "CREATE", "xs", "g0", "$"), "+OK\r\n");
    cm_free(run(WORDS("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "4", "STREAMS", "xs", ">")));
    cm_free(run(WORDS("XREADGROUP", "GROUP", "g1", "7", "COUNT", "3", "STREAMS", "xs", ">")));
    ok(WORDS("XGROUP", "CREATECONSUMER", "xs", "g1", "idle"), ":1\r\n");
    ok(WORDS("XACK", "xs", "g1", "100-2"), ":1\r\n");
}

/* xs's payload in RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6): no first ID,
 * maximal deleted ID, entries added or entries read. */
static dstr stream_v1_payload(const stream *st)
{
    dstr d = dstr_new("\x0f", 1);
    d = rdb_write_len(d, stream_node_count(st));
    for (size_t i = 0; i < stream_node_count(st); i++) {
        sid m;
        unsigned char *lp = stream_node_lp(st, i, &m), key[16];
        for (int b = 0; b < 8; b++) {
            key[b] = (unsigned char)(m.ms >> (56 - 8 * b));
            key[8 + b] = (unsigned char)(m.seq >> (56 - 8 * b));
        }
        d = rdb_write_string(d, (const char *)key, 16, 0);
        d = rdb_write_listpack(d, lp, 0);
    }
    d = rdb_write_len(d, st->length);
    d = rdb_write_len(d, st->last_id.ms);
    d = rdb_write_len(d, st->last_id.seq);
    d = rdb_write_len(d, 1);
    d = rdb_write_string(d, "old", 3, 0);
    d = rdb_write_len(d, 0); /* last ID 0-0 */
    d = rdb_write_len(d, 0);
    d = rdb_write_len(d, 0); /* no pending entries, no consumers */
    d = rdb_write_len(d, 0);
    dstr p = seal((const unsigned char *)d, dstr_len(d), 9);
    dstr_free(d);
    return p;
}

static void test_streams(void)
{
    build_stream();
    round_trip("xs", WORDS("XINFO", "STREAM", "k", "FULL", "COUNT", "0"));
    ok(WORDS("XADD", "copy", "*", "a", "1"), "$9\r\n1000000-0\r\n");
    ok(WORDS("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "copy", "0"),
       "*1\r\n*2\r\n$4\r\ncopy\r\n*0\r\n");
    ok(WORDS("XPENDING", "copy", "g1", "-", "+", "1", "alice"),
       "*1\r\n*4\r\n$5\r\n100-0\r\n$5\r\nalice\r\n:0\r\n:1\r\n");
    ok(WORDS("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"), "+OK\r\n");
    round_trip("empty", WORDS("XINFO", "STREAM", "k", "FULL"));

    /* The older form: counters as Redis 7.0 derives them. */
    dstr p = stream_v1_payload(find("xs")->v.ptr);
    check_reply(restore("old", p, dstr_len(p)), "+OK\r\n");
    dstr_free(p);
    ok(WORDS("XLEN", "old"), ":348\r\n");
    char *want = run(WORDS("XRANGE", "xs", "-", "+"));
    check_reply(run(WORDS("XRANGE", "old", "-", "+")), want);
    cm_free(want);
    ok(WORDS("XINFO", "GROUPS", "old"),
       "*1\r\n*12\r\n$4\r\nname\r\n$3\r\nold\r\n$9\r\nconsumers\r\n:0\r\n"
       "$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n"
       "$12\r\nentries-read\r\n:0\r\n$3\r\nlag\r\n:348\r\n");
}

/* Older encodings, as RDB 6-9 and Redis < 7 wrote them. */
static void test_old_encodings(void)
{
    /* A ziplist list ["a", 5, 300, "bb"]. */
    static const unsigned char zl[] = {RDB_TYPE_LIST_ZIPLIST,
                                       24,
                                       24,
                                       0,
                                       0,
                                       0,
                                       19,
                                       0,
                                       0,
                                       0,
                                       4,
                                       0, /* bytes, tail, count */
                                       0,
                                       0x01,
                                       'a', /* "a" */
                                       3,
                                       0xF6, /* immediate 5 */
                                       2,
                                       0xC0,
                                       0x2C,
                                       0x01, /* int16 300 */
                                       4,
                                       0x02,
                                       'b',
                                       'b', /* "bb" */
                                       0xFF};
    dstr p = seal(zl, sizeof(zl), 9);
    check_reply(restore("zl", p, dstr_len(p)), "+OK\r\n");
    ok(WORDS("LRANGE", "zl", "0", "-1"), "*4\r\n$1\r\na\r\n$1\r\n5\r\n$3\r\n300\r\n$2\r\nbb\r\n");
    dstr_free(p);

    /* A zipmap hash {f: v, g: ww}. */
    static const unsigned char zm[] = {
        RDB_TYPE_HASH_ZIPMAP, 14, 2, 1, 'f', 1, 0, 'v', 1, 'g', 2, 1, 'w', 'w', 'x', 0xFF};
    p = seal(zm, sizeof(zm), 6);
    check_reply(restore("zm", p, dstr_len(p)), "+OK\r\n");
    ok(WORDS("HGET", "zm", "g"), "$2\r\nww\r\n");
    ok(WORDS("HLEN", "zm"), ":2\r\n");
    dstr_free(p);

    /* An intset {1, 70000} (32-bit). */
    static const unsigned char is[] = {
        RDB_TYPE_SET_INTSET, 16, 4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0x70, 0x11, 0x01, 0x00};
    p = seal(is, sizeof(is), 10);
    check_reply(restore("is", p, dstr_len(p)), "+OK\r\n");
    ok(WORDS("SMEMBERS", "is"), "*2\r\n$1\r\n1\r\n$5\r\n70000\r\n");
    dstr_free(p);

    /* A sorted set with text scores (RDB_TYPE_ZSET): a 1.5, b +inf. */
    static const unsigned char zs[] = {RDB_TYPE_ZSET, 2, 1, 'a', 3, '1', '.', '5', 1, 'b', 254};
    p = seal(zs, sizeof(zs), 6);
    check_reply(restore("zs", p, dstr_len(p)), "+OK\r\n");
    ok(WORDS("ZRANGE", "zs", "0", "-1", "WITHSCORES"),
       "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\ninf\r\n");
    dstr_free(p);

    /* A ziplist of a sorted set: member, score pairs. */
    static const unsigned char zz[] = {RDB_TYPE_ZSET_ZIPLIST,
                                       21,
                                       21,
                                       0,
                                       0,
                                       0,
                                       18,
                                       0,
                                       0,
                                       0,
                                       4,
                                       0,
                                       0,
                                       0x01,
                                       'x', /* x */
                                       3,
                                       0xF3, /* 2 */
                                       2,
                                       0x01,
                                       'y', /* y */
                                       3,
                                       0xF2, /* 1 */
                                       0xFF};
    p = seal(zz, sizeof(zz), 8);
    check_reply(restore("zz", p, dstr_len(p)), "+OK\r\n");
    ok(WORDS("ZRANGE", "zz", "0", "-1"), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    dstr_free(p);
}

/* Values that decode but are not sound are refused, not stored. */
static void test_unsound_values(void)
{
    static const unsigned char dup_set[] = {RDB_TYPE_SET, 2, 1, 'a', 1, 'a'};
    static const unsigned char empty_list[] = {RDB_TYPE_LIST_QUICKLIST_2, 0};
    static const unsigned char nan_score[] = {RDB_TYPE_ZSET, 1, 1, 'a', 253};
    static const unsigned char odd_hash[] = {RDB_TYPE_HASH, 1, 1, 'a'};
    static const unsigned char module[] = {RDB_TYPE_MODULE_2, 1, 2, 3};
    const unsigned char *v[] = {dup_set, empty_list, nan_score, odd_hash, module};
    size_t n[] = {sizeof(dup_set), sizeof(empty_list), sizeof(nan_score), sizeof(odd_hash),
                  sizeof(module)};
    for (size_t i = 0; i < 5; i++) {
        dstr p = seal(v[i], n[i], 10);
        check_reply(restore("bad", p, dstr_len(p)), "-ERR Bad data format\r\n");
        dstr_free(p);
    }
    ok(WORDS("EXISTS", "bad"), ":0\r\n");
    /* A newer RDB version, or a wrong checksum. */
    static const unsigned char s[] = {RDB_TYPE_STRING, 1, 'x'};
    dstr p = seal(s, sizeof(s), 11);
    check_reply(restore("bad", p, dstr_len(p)),
                "-ERR DUMP payload version or checksum are wrong\r\n");
    dstr_free(p);
    p = seal(s, sizeof(s), 10);
    p[dstr_len(p) - 1] ^= 1;
    check_reply(restore("bad", p, dstr_len(p)),
                "-ERR DUMP payload version or checksum are wrong\r\n");
    dstr_free(p);
}

/* Walk and change a stream read from a payload every way that reads its
 * nodes, groups and pending lists (ASan watches). */
static void use_stream(const char *key)
{
    cobj *o = find(key);
    if (!o || o->type != OBJ_STREAM) return;
    const char **cmds[] = {
        WORDS("XRANGE", key, "-", "+"),
        WORDS("XREVRANGE", key, "+", "-"),
        WORDS("XINFO", "STREAM", key, "FULL"),
        WORDS("XINFO", "GROUPS", key),
        WORDS("XINFO", "CONSUMERS", key, "g1"),
        WORDS("XPENDING", key, "g1", "-", "+", "100"),
        WORDS("XREADGROUP", "GROUP", "g1", "c", "STREAMS", key, ">"),
        WORDS("XAUTOCLAIM", key, "g1", "c", "0", "0"),
        WORDS("XACK", key, "g1", "100-0", "100-3"),
        WORDS("XGROUP", "DELCONSUMER", key, "g1", "alice"),
        WORDS("XADD", key, "*", "f", "1"),
        WORDS("XDEL", key, "101-1"),
        WORDS("XTRIM", key, "MAXLEN", "5"),
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        cm_free(run(cmds[i]));
}

/* Every payload, truncated at every length and with random bytes changed
 * (resealed so the checksum passes), decodes or is refused: never a crash
 * or a leak (ASan and LeakSanitizer watch this test). */
static void test_damaged_payloads(void)
{
    const char *keys[] = {"str", "long", "int", "lsmall", "lbig", "sint", "slp", "sht", "hlp",
                          "hht", "zlp",  "zsl", "zl",     "zm",   "is",   "zs",  "xs",  "empty"};
    crand rng;
    crand_seed(&rng, 42);
    long refused = 0, accepted = 0;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        cobj *o = find(keys[k]);
        REQUIRE(o != NULL);
        dstr p = rdb_dump_payload(o, 1);
        size_t vlen = dstr_len(p) - 10;
        size_t step = vlen > 400 ? vlen / 200 : 1;
        for (size_t cut = 0; cut < vlen; cut += step) {
            dstr q = seal((const unsigned char *)p, cut, 10);
            char *r = restore("fuzz", q, dstr_len(q));
            refused += r[0] == '-';
            cm_free(r);
            dstr_free(q);
        }
        for (int round = 0; round < 300; round++) {
            dstr m = dstr_new(p, vlen);
            int flips = 1 + (int)(crand_next(&rng) % 4);
            for (int f = 0; f < flips; f++)
                m[crand_next(&rng) % vlen] = (char)crand_next(&rng);
            dstr q = seal((const unsigned char *)m, vlen, 10);
            char *r = restore("fuzz", q, dstr_len(q));
            if (r[0] == '-') {
                refused++;
            } else {
                accepted++;
                use_stream("fuzz");
            }
            cm_free(r);
            dstr_free(q);
            dstr_free(m);
        }
        dstr_free(p);
    }
    /* Both outcomes happen: the mutations reach the decoders. */
    CHECK(refused > 1000);
    CHECK(accepted > 100);
}

int main(void)
{
    E = new_engine(7);
    session_init(E, &S);
    TEST(test_crc64);
    TEST(test_payloads_match_redis);
    TEST(test_strings);
    TEST(test_round_trips);
    TEST(test_streams);
    TEST(test_old_encodings);
    TEST(test_unsound_values);
    TEST(test_damaged_payloads);
    session_reset(&S);
    engine_free(E);
    return TEST_REPORT();
}
