/* test_script.c -- the Lua host in-process: SHA-1 vectors, EVAL through
 * the embedding API (cairn_command), cmsgpack and struct against fixed
 * byte vectors, and scripts logged as their effects (a MULTI ... EXEC
 * unit that replays to the same state; nothing for a read-only script). */
#include <stdlib.h>
#include <string.h>

#include "cairn.h"
#include "test.h"
/* test.h first: the harness uses its macros. */
#include "ds/sha1.h"
#include "engine_harness.h"

static void test_sha1_vectors(void)
{
    char hex[41];
    sha1_hex("", 0, hex);
    CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("abc", 3, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex(two, strlen(two), hex);
    CHECK_STR(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *mil = malloc(1000000);
    memset(mil, 'a', 1000000);
    sha1_hex(mil, 1000000, hex);
    CHECK_STR(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(mil);
    sha1_hex("return 1", 8, hex);
    CHECK_STR(hex, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

/* Fed in pieces of every size from 0 to 130 bytes, SHA-1 is the same as
 * over the whole buffer (block boundaries crossed inside a piece, at its
 * end, and a padding that needs a second block). */
static void test_sha1_pieces(void)
{
    unsigned char buf[300], whole[20], parts[20];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof(buf); len += 37) {
        sha1(buf, len, whole);
        for (size_t piece = 0; piece <= 130; piece++) {
            sha1_ctx c;
            sha1_init(&c);
            size_t off = 0;
            while (off < len) {
                size_t n = piece ? piece : 1;
                if (n > len - off) n = len - off;
                sha1_update(&c, buf + off, n);
                sha1_update(&c, NULL, 0);
                off += n;
            }
            sha1_final(&c, parts);
            CHECK(memcmp(whole, parts, sizeof(whole)) == 0);
        }
    }
}

/* EVAL through cairn_command; the reply tree's first string, or NULL. */
static cairn_reply *eval(cairn *db, const char *body, int nargs, const char **args)
{
    const char *argv[16] = {"EVAL", body, "0"};
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    cairn_reply *r = NULL;
    if (cairn_command(db, 3 + nargs, argv, NULL, &r) != CAIRN_OK) return NULL;
    return r;
}

static void test_eval_embedded(void)
{
    cairn *db = NULL;
    REQUIRE(cairn_open(NULL, &db) == CAIRN_OK);
    cairn_reply *r =
        eval(db, "redis.call('set', 'k', 'v'); return {redis.call('get', 'k'), 7}", 0, NULL);
    REQUIRE(r && r->type == CAIRN_REPLY_ARRAY && r->elements == 2);
    CHECK(r->element[0]->type == CAIRN_REPLY_STRING && strcmp(r->element[0]->str, "v") == 0);
    CHECK(r->element[1]->type == CAIRN_REPLY_INTEGER && r->element[1]->integer == 7);
    cairn_reply_free(r);
    r = eval(db, "return a", 0, NULL);
    REQUIRE(r && r->type == CAIRN_REPLY_ERROR);
    CHECK(strstr(r->str, "Script attempted to access nonexistent global variable 'a'") != NULL);
    cairn_reply_free(r);
    cairn_close(db);
}

/* Run body as a script returning a string; compare it with want. */
static void check_bytes(cairn *db, const char *body, const char *want, size_t len)
{
    cairn_reply *r = eval(db, body, 0, NULL);
    REQUIRE(r);
    if (r->type != CAIRN_REPLY_STRING || r->len != len || memcmp(r->str, want, len) != 0) {
        fprintf(stderr, "%s: got type %d \"%.*s\"\n", body, r->type, (int)r->len,
                r->str ? r->str : "");
        CHECK(!"bytes differ");
    }
    cairn_reply_free(r);
}

#define BYTES(db, body, lit) check_bytes(db, body, lit, sizeof(lit) - 1)

static void test_cmsgpack_vectors(void)
{
    cairn *db = NULL;
    REQUIRE(cairn_open(NULL, &db) == CAIRN_OK);
    BYTES(db, "return cmsgpack.pack(0, 127, 128, 256, 65536, 4294967296)",
          "\x00\x7f\xcc\x80\xcd\x01\x00\xce\x00\x01\x00\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00");
    BYTES(db, "return cmsgpack.pack(-1, -32, -33, -129, -32769, -2147483649)",
          "\xff\xe0\xd0\xdf\xd1\xff\x7f\xd2\xff\xff\x7f\xff"
          "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff");
    BYTES(db, "return cmsgpack.pack(nil, true, false, 0.5, 0.1)",
          "\xc0\xc3\xc2\xca\x3f\x00\x00\x00\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a");
    BYTES(db, "return cmsgpack.pack({1, {2}}, {x='y'})", "\x92\x01\x91\x02\x81\xa1x\xa1y");
    BYTES(db, "local s = cmsgpack.pack(string.rep('a', 300)); return s:sub(1, 4) .. #s",
          "\xda\x01\x2c"
          "a303");
    /* Decoding every format, re-encoded in Lua-side canonical form. */
    BYTES(db,
          "local a, b, c, d, e, f = cmsgpack.unpack('\\204\\128\\209\\255\\127\\196\\2hi"
          "\\220\\0\\1\\7\\222\\0\\1\\161k\\192\\203\\64\\9\\33\\251\\84\\68\\45\\24');"
          "return table.concat({a, b, c, #d, d[1], tostring(next(e)), string.format('%.5f', f)}, "
          "',')",
          "128,-129,hi,1,7,nil,3.14159");
    cairn_close(db);
}

static void test_struct_vectors(void)
{
    cairn *db = NULL;
    REQUIRE(cairn_open(NULL, &db) == CAIRN_OK);
    BYTES(db, "return struct.pack('>h <h', 1, 1)", "\x00\x01\x01\x00");
    BYTES(db, "return struct.pack('>i3 I5', -2, 1)", "\xff\xff\xfe\x00\x00\x00\x00\x01");
    BYTES(db, "return struct.pack('<f', 1.5)", "\x00\x00\xc0\x3f");
    BYTES(db, "return struct.pack('c3 s x', 'abcd', 'z')", "abcz\x00\x00");
    BYTES(db, "return struct.pack('!8 b d', 1, 0)",
          "\x01\x00\x00\x00\x00\x00\x00\x00"
          "\x00\x00\x00\x00\x00\x00\x00\x00");
    BYTES(db,
          "local a, b, c, n = struct.unpack('>i2 I1 s', '\\255\\254\\9hey\\0');"
          "return table.concat({a, b, c, n}, ',')",
          "-2,9,hey,8");
    BYTES(db, "return tostring(struct.size('!4 b i4 h'))", "10");
    cairn_close(db);
}

/* The log of a writing script is MULTI, its writes (with the seed each
 * drew), EXEC; replayed into a fresh engine it gives the same state. */
static void test_effects_are_logged_as_a_unit(void)
{
    cairn_engine *e = new_engine(1);
    recorder rec = {dstr_with_cap(256), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);
    cm_free(run_words_at(e, &s, 1000, WORDS("SADD", "s", "a", "b", "c", "d", "e", "f")));
    int before = rec.n;
    check_reply(run_words_at(e, &s, 1000, WORDS("EVAL", "return redis.call('get', 'nokey')", "0")),
                "$-1\r\n");
    CHECK_EQ_LL(rec.n, before); /* a read-only script logs nothing */
    char *got =
        run_words_at(e, &s, 2000,
                     WORDS("EVAL",
                           "local p = redis.call('spop', 's'); redis.call('set', 'picked', p);"
                           "redis.call('set', 't', redis.call('time')[1]); return p",
                           "0"));
    cm_free(got);
    CHECK_EQ_LL(rec.n, before + 5); /* MULTI, SREM (the pop), SET, SET, EXEC */

    cairn_engine *e2 = new_engine(9); /* another seed: a re-run would pick another */
    apply_log(e2, rec.log, dstr_len(rec.log));
    cairn_session s2;
    session_init(e2, &s2);
    const char *keys[] = {"picked", "t"};
    for (int i = 0; i < 2; i++) {
        char *a = run_words_at(e, &s, 3000, WORDS("GET", keys[i]));
        char *b = run_words_at(e2, &s2, 3000, WORDS("GET", keys[i]));
        CHECK_STR(a, b);
        cm_free(a);
        cm_free(b);
    }
    check_reply(run_words_at(e2, &s2, 3000, WORDS("SCARD", "s")), ":5\r\n");
    session_reset(&s);
    session_reset(&s2);
    dstr_free(rec.log);
    engine_free(e);
    engine_free(e2);
}

int main(void)
{
    TEST(test_sha1_vectors);
    TEST(test_sha1_pieces);
    TEST(test_eval_embedded);
    TEST(test_cmsgpack_vectors);
    TEST(test_struct_vectors);
    TEST(test_effects_are_logged_as_a_unit);
    return TEST_REPORT();
}
