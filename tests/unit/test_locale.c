/* test_locale.c -- numbers through the embedding API do not depend on the
 * process locale (DESIGN rule 2): an application that sets a
 * comma-decimal LC_NUMERIC (de_DE.UTF-8) gets exactly the replies of the C
 * locale from INCRBYFLOAT, HINCRBYFLOAT, ZADD/ZINCRBY scores, ZSCORE,
 * score ranges and weights, and from Lua scripts (numbers to and from
 * strings, cjson, cmsgpack, redis.call arguments).  The locale must exist (scripts/bootstrap.sh
 * generates it): without it this test fails rather than prove nothing. */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"
#include "ds/dstr.h"
#include "test.h"

#define COMMA_LOCALE "de_DE.UTF-8"

/* The commands whose replies are compared, one per line, words separated
 * by spaces. */
static const char *const script[] = {
    "SET f 10.5",
    "INCRBYFLOAT f 0.1",
    "INCRBYFLOAT f 1e3",
    "INCRBYFLOAT f -0.35",
    "GET f",
    "INCRBYFLOAT f 1,5",
    "HINCRBYFLOAT h x 2.5",
    "HINCRBYFLOAT h x 0.25",
    "HINCRBYFLOAT h x 1,5",
    "HGET h x",
    "ZADD z 1.5 a 2.25 b -0.125 c 3.14159 pi 1e300 big",
    "ZADD z 1,5 bad",
    "ZSCORE z a",
    "ZSCORE z pi",
    "ZSCORE z big",
    "ZINCRBY z 0.5 a",
    "ZMSCORE z a b c",
    "ZRANGE z 0 -1 WITHSCORES",
    "ZRANGEBYSCORE z (1.5 2.5 WITHSCORES",
    "ZCOUNT z -0.5 2.2",
    "ZUNIONSTORE u 1 z WEIGHTS 1.5",
    "ZRANGE u 0 -1 WITHSCORES",
    /* Lua formats and parses numbers itself (tostring, tonumber, string
     * arithmetic, string.format), and so do cjson and cmsgpack. */
    "EVAL return{tostring(1.5),tostring(0.1+0.2),string.format('%.3f',2.5),"
    "tostring(tonumber('2.25')),tostring(tonumber('1,5')),tostring(3/4)} 0",
    "EVAL return{cjson.encode({1.5,2.25}),tostring(cjson.decode('[3.75]')[1]),"
    "tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))} 0",
    "EVAL return{redis.call('set','g',0.1),redis.call('get','g'),"
    "redis.call('incrbyfloat','g',1.5),tostring(redis.call('zscore','z','a')+0.5)} 0",
    "HELLO 3",
    "ZSCORE z b",
    "ZRANGE z 0 1 WITHSCORES",
    "EVAL redis.setresp(3);return{redis.call('zscore','z','a'),{double=2.5}} 0",
};

/* Append a reply to *out as text that no locale formats: type, integer,
 * the double's bits in hex, the string bytes, then the elements. */
static void flatten(dstr *out, const cairn_reply *r)
{
    uint64_t bits;
    memcpy(&bits, &r->dval, sizeof(bits));
    *out = dstr_catfmt(*out, "[%d %lld %llx ", r->type, r->integer, (unsigned long long)bits);
    if (r->str) *out = dstr_cat(*out, r->str, r->len);
    for (size_t i = 0; i < r->elements; i++)
        flatten(out, r->element[i]);
    *out = dstr_cat(*out, "]", 1);
}

static cairn_reply *run_line(cairn *db, const char *line)
{
    char buf[256];
    const char *argv[16];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *save, *w = strtok_r(buf, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    cairn_reply *r = NULL;
    if (cairn_command(db, argc, argv, NULL, &r) != CAIRN_OK) return NULL;
    return r;
}

/* Every reply of the script, on a fresh store, as one string. */
static dstr transcript(void)
{
    cairn_options opts;
    cairn_options_init(&opts);
    opts.seed = 12345;
    cairn *db = NULL;
    if (cairn_open(&opts, &db) != CAIRN_OK) return NULL;
    dstr out = dstr_new("", 0);
    for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
        cairn_reply *r = run_line(db, script[i]);
        out = dstr_catfmt(out, "%s -> ", script[i]);
        if (r) flatten(&out, r);
        out = dstr_cat(out, "\n", 1);
        cairn_reply_free(r);
    }
    cairn_close(db);
    return out;
}

/* The reply to one command on a fresh store with f = 10.5, as text. */
static void check_reply_str(const char *setup, const char *line, const char *want)
{
    cairn *db = NULL;
    REQUIRE(cairn_open(NULL, &db) == CAIRN_OK);
    cairn_reply_free(run_line(db, setup));
    cairn_reply *r = run_line(db, line);
    REQUIRE(r != NULL);
    CHECK(r->str != NULL && r->len == strlen(want) && memcmp(r->str, want, r->len) == 0);
    if (r->str && (r->len != strlen(want) || memcmp(r->str, want, r->len) != 0))
        fprintf(stderr, "%s: got \"%.*s\", want \"%s\"\n", line, (int)r->len, r->str, want);
    cairn_reply_free(r);
    cairn_close(db);
}

static void test_comma_locale_changes_nothing(void)
{
    REQUIRE(setlocale(LC_ALL, "C") != NULL);
    dstr c_words = transcript();
    REQUIRE(c_words != NULL);

    if (!setlocale(LC_ALL, COMMA_LOCALE)) {
        fprintf(stderr, "the %s locale is missing: run scripts/bootstrap.sh\n", COMMA_LOCALE);
        CHECK(!"a comma-decimal locale exists");
        dstr_free(c_words);
        return;
    }
    /* The locale really writes numbers with a comma (else this test
     * would prove nothing). */
    char probe[16];
    snprintf(probe, sizeof(probe), "%.1f", 1.5);
    CHECK_STR(probe, "1,5");
    CHECK_STR(localeconv()->decimal_point, ",");

    dstr comma_words = transcript();
    REQUIRE(comma_words != NULL);
    CHECK_STR(comma_words, c_words);
    if (strcmp(comma_words, c_words) != 0)
        fprintf(stderr, "C locale:\n%s\n%s:\n%s\n", c_words, COMMA_LOCALE, comma_words);

    /* And the replies are the ones Redis gives, not merely equal. */
    check_reply_str("SET f 10.5", "INCRBYFLOAT f 0.1", "10.6");
    check_reply_str("HSET h x 1.5", "HINCRBYFLOAT h x 0.25", "1.75");
    check_reply_str("ZADD z 3.14159 pi", "ZSCORE z pi", "3.1415899999999999");
    check_reply_str("ZADD z 2.5 a", "ZINCRBY z 0.25 a", "2.75");
    check_reply_str("ZADD z 2.5 a", "ZADD z 1,5 b", "ERR value is not a valid float");
    check_reply_str("SET f 10.5", "EVAL return(tostring(1.5)..'|'..(redis.call('get','f')+1)) 0",
                    "1.5|11.5");
    check_reply_str("SET f 10.5", "EVAL return(cjson.encode({0.25})) 0", "[0.25]");
    check_reply_str("SET f 10.5", "EVAL return(redis.call('incrbyfloat','f',0.25)) 0", "10.75");

    setlocale(LC_ALL, "C");
    dstr_free(c_words);
    dstr_free(comma_words);
}

int main(void)
{
    TEST(test_comma_locale_changes_nothing);
    return TEST_REPORT();
}
