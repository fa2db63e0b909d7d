/* test_util.c -- unit tests for src/ds/util.c. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds/util.h"
#include "test.h"

/* ---------------------------------------------------------------------------
 * Glob matching
 * ------------------------------------------------------------------------ */

static int gm(const char *pattern, const char *str)
{
    return glob_match(pattern, strlen(pattern), str, strlen(str), 0);
}

static int gm_nocase(const char *pattern, const char *str)
{
    return glob_match(pattern, strlen(pattern), str, strlen(str), 1);
}

static void test_glob_basic(void)
{
    CHECK(gm("", ""));
    CHECK(!gm("", "a"));
    CHECK(!gm("a", ""));
    CHECK(gm("hello", "hello"));
    CHECK(!gm("hello", "hellO"));
    CHECK(!gm("hello", "hell"));
    CHECK(!gm("hell", "hello"));

    CHECK(gm("*", "anything"));
    CHECK(gm("**", "x"));
    /* Redis quirk: the loop never runs on an empty string, so a bare star
     * does not match "" (KEYS and SCAN special-case the pattern "*"). */
    CHECK(!gm("*", ""));
    CHECK(gm("a*", "a"));
    CHECK(gm("a**", "a"));
    CHECK(gm("h*llo", "hllo"));
    CHECK(gm("h*llo", "heeeello"));
    CHECK(!gm("h*llo", "heeeell"));
    CHECK(gm("*llo", "hello"));
    CHECK(gm("he*", "hello"));
    CHECK(gm("*e*l*o*", "hello"));
    CHECK(!gm("*x*", "hello"));
    CHECK(gm("user:*:name", "user:1000:name"));
    CHECK(!gm("user:*:name", "user:1000:age"));

    CHECK(gm("h?llo", "hello"));
    CHECK(gm("h?llo", "hallo"));
    CHECK(!gm("h?llo", "hllo"));
    CHECK(!gm("?", ""));
    CHECK(gm("???", "abc"));
    CHECK(gm("?*", "a"));
    CHECK(!gm("?*?", "a"));
}

static void test_glob_brackets(void)
{
    CHECK(gm("h[ae]llo", "hello"));
    CHECK(gm("h[ae]llo", "hallo"));
    CHECK(!gm("h[ae]llo", "hillo"));
    CHECK(!gm("h[ae]llo", "hllo"));

    CHECK(gm("h[^e]llo", "hallo"));
    CHECK(gm("h[^e]llo", "hbllo"));
    CHECK(!gm("h[^e]llo", "hello"));
    CHECK(gm("[^a]", "b"));
    CHECK(!gm("[^a]", "a"));
    CHECK(!gm("[^ab]", "b"));

    CHECK(gm("h[a-b]llo", "hallo"));
    CHECK(gm("h[a-b]llo", "hbllo"));
    CHECK(!gm("h[a-b]llo", "hcllo"));
    CHECK(gm("[a-z]", "m"));
    CHECK(!gm("[a-z]", "M"));
    CHECK(gm("[0-9][0-9]", "42"));
    CHECK(!gm("[^0-9]", "5"));
    CHECK(gm("[a-cx-z]", "y"));
    CHECK(!gm("[a-cx-z]", "m"));

    /* Reversed ranges are accepted. */
    CHECK(gm("h[b-a]llo", "hallo"));
    CHECK(gm("[z-a]", "m"));
    CHECK(gm("[9-0]", "0"));
    CHECK(!gm("[z-a]", "A"));

    /* "[a-]" is the range 'a'..']' (']' sorts before 'a'). */
    CHECK(gm("[a-]", "]"));
    CHECK(gm("[a-]", "^"));
    CHECK(!gm("[a-]", "-"));
    CHECK(gm("[-a]", "-"));

    /* An unterminated bracket runs to the end of the pattern. */
    CHECK(gm("[abc", "a"));
    CHECK(gm("[abc", "c"));
    CHECK(!gm("[abc", "d"));
    CHECK(!gm("[", "a"));
    CHECK(gm("[^", "a"));
    CHECK(gm("x[^", "xa"));
}

static void test_glob_escapes(void)
{
    CHECK(gm("h\\*llo", "h*llo"));
    CHECK(!gm("h\\*llo", "hello"));
    CHECK(gm("\\?", "?"));
    CHECK(!gm("\\?", "a"));
    CHECK(gm("\\[a]", "[a]"));
    CHECK(!gm("\\[a]", "a"));
    CHECK(gm("\\\\", "\\"));
    CHECK(gm("\\a", "a"));
    /* A trailing backslash is a literal backslash. */
    CHECK(gm("a\\", "a\\"));
    CHECK(!gm("a\\", "a"));

    /* Escapes inside brackets. */
    CHECK(gm("[\\]]", "]"));
    CHECK(gm("[\\^a]", "^"));
    CHECK(gm("[a\\-z]", "-"));
    CHECK(!gm("[a\\-z]", "b"));
    CHECK(gm("[\\\\]", "\\"));
    CHECK(gm("[\\*]", "*"));
    CHECK(!gm("[\\*]", "a"));
}

static void test_glob_nocase(void)
{
    CHECK(gm_nocase("HELLO", "hello"));
    CHECK(gm_nocase("hello", "HeLLo"));
    CHECK(!gm("HELLO", "hello"));
    CHECK(gm_nocase("H?LLO", "hello"));
    CHECK(gm_nocase("h*O", "HELLO"));
    CHECK(gm_nocase("[A-Z]", "q"));
    CHECK(gm_nocase("[a-z]", "Q"));
    CHECK(gm_nocase("[Z-A]", "q"));
    CHECK(gm_nocase("[abc]", "B"));
    CHECK(!gm_nocase("[^a]", "A"));
    CHECK(gm_nocase("\\H", "h"));
    /* Redis compares an escaped character inside brackets exactly. */
    CHECK(!gm_nocase("[\\A]", "a"));
    CHECK(gm_nocase("[\\A]", "A"));
}

static void test_glob_binary(void)
{
    CHECK(glob_match("a?c", 3, "a\0c", 3, 0));
    CHECK(glob_match("a*", 2, "a\0\0", 3, 0));
    CHECK(!glob_match("a\0", 2, "a", 1, 0));
    CHECK(glob_match("[\xe0-\xf0]", 5, "\xe8", 1, 0)); /* bytes compare unsigned */
    CHECK(!glob_match("[\xe0-\xf0]", 5, "a", 1, 0));
}

static double seconds_since(clock_t start) { return (double)(clock() - start) / CLOCKS_PER_SEC; }

static void test_glob_pathological(void)
{
    /* Naive backtracking is exponential in the number of stars here. */
    char pattern[128], str[128];
    size_t plen = 0;
    for (int i = 0; i < 30; i++) {
        pattern[plen++] = 'a';
        pattern[plen++] = '*';
    }
    pattern[plen++] = 'b';
    memset(str, 'a', 100);
    clock_t start = clock();
    CHECK(!glob_match(pattern, plen, str, 100, 0));
    const char *stars = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    CHECK(!glob_match(stars, strlen(stars), str, 100, 0));
    CHECK(glob_match(pattern, plen - 1, str, 100, 0));
    CHECK(seconds_since(start) < 1.0);

    /* Deeply nested stars: matches below Redis's nesting limit of 1000,
     * refuses (as Redis does) above it, and never overflows the stack. */
    size_t n = 2400;
    char *p = malloc(n), *s = malloc(n);
    for (size_t i = 0; i < n; i += 2) {
        p[i] = '*';
        p[i + 1] = 'a';
    }
    memset(s, 'a', n);
    start = clock();
    CHECK(glob_match(p, 1800, s, 900, 0));
    CHECK(!glob_match(p, 2400, s, 1200, 0));
    CHECK(seconds_since(start) < 1.0);
    free(p);
    free(s);
}

/* ---------------------------------------------------------------------------
 * Integers
 * ------------------------------------------------------------------------ */

/* Parse a C string with str_to_ll; returns 1 and sets *v on success. */
static int ll(const char *s, long long *v)
{
    *v = 12345;
    return str_to_ll(s, strlen(s), v);
}

static void test_str_to_ll(void)
{
    long long v;
    CHECK(ll("0", &v) && v == 0);
    CHECK(ll("1", &v) && v == 1);
    CHECK(ll("-1", &v) && v == -1);
    CHECK(ll("123456", &v) && v == 123456);
    CHECK(ll("-99", &v) && v == -99);
    CHECK(ll("9223372036854775807", &v) && v == LLONG_MAX);
    CHECK(ll("-9223372036854775808", &v) && v == LLONG_MIN);
    CHECK(ll("-9223372036854775807", &v) && v == LLONG_MIN + 1);

    /* Overflow by one in both directions, and far beyond. */
    CHECK(!ll("9223372036854775808", &v));
    CHECK(!ll("-9223372036854775809", &v));
    CHECK(!ll("18446744073709551615", &v));
    CHECK(!ll("18446744073709551616", &v));
    CHECK(!ll("99999999999999999999", &v));
    CHECK(!ll("123456789012345678901", &v));
    CHECK(!ll("-18446744073709551616", &v));

    CHECK(!ll("", &v));
    CHECK(!ll("-", &v));
    CHECK(!ll("+1", &v));
    CHECK(!ll("+", &v));
    CHECK(!ll("01", &v));
    CHECK(!ll("00", &v));
    CHECK(!ll("-0", &v));
    CHECK(!ll("-01", &v));
    CHECK(!ll(" 1", &v));
    CHECK(!ll("1 ", &v));
    CHECK(!ll("1a", &v));
    CHECK(!ll("a1", &v));
    CHECK(!ll("1.0", &v));
    CHECK(!ll("1e3", &v));
    CHECK(!ll("--1", &v));
    CHECK(!ll("0x10", &v));
    CHECK(!str_to_ll("1\0", 2, &v));
    /* The length is authoritative: a prefix of a longer buffer parses. */
    CHECK(str_to_ll("12345", 3, &v) && v == 123);
}

/* What Redis's string2ll accepts: "0", or an optional '-' then [1-9][0-9]*
 * in range -- checked here with strtoll as the reference. */
static int reference_ll(const char *s, long long *v)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (strcmp(s, "0") == 0) {
        *v = 0;
        return 1;
    }
    if (d[0] < '1' || d[0] > '9') return 0;
    for (const char *q = d; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    errno = 0;
    *v = strtoll(s, NULL, 10);
    return errno == 0;
}

static void test_str_to_ll_random(void)
{
    static const char chars[] = "0123456789-+ x";
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 200000; i++) {
        char s[24];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t len = 1 + x % 22;
        for (size_t j = 0; j < len; j++) {
            unsigned long long r = x >> (j % 8 * 7);
            /* Mostly digits, so long in-range numbers come up. */
            s[j] = r % 4 ? (char)('0' + r / 4 % 10) : chars[r / 4 % (sizeof(chars) - 1)];
        }
        s[len] = '\0';
        long long got = 0, want = 0;
        int ok = str_to_ll(s, len, &got), want_ok = reference_ll(s, &want);
        if (ok != want_ok || (ok && got != want)) fprintf(stderr, "str_to_ll(\"%s\")\n", s);
        REQUIRE(ok == want_ok && (!ok || got == want));
    }
    char buf[24];
    long long v;
    for (long long n = -100000; n <= 100000; n += 7) {
        int len = ll_to_str(buf, sizeof(buf), n);
        REQUIRE(str_to_ll(buf, (size_t)len, &v) && v == n);
    }
    /* ll_to_str() against printf around every power of ten. */
    for (int k = 0; k <= 18; k++) {
        long long p10 = 1;
        for (int j = 0; j < k; j++)
            p10 *= 10;
        for (long long d = -1; d <= 1; d++) {
            for (int sign = -1; sign <= 1; sign += 2) {
                long long n = sign * (p10 + d);
                char want[24];
                int wlen = snprintf(want, sizeof(want), "%lld", n);
                CHECK_EQ_LL(ll_to_str(buf, sizeof(buf), n), wlen);
                CHECK_STR(buf, want);
            }
        }
    }
}

static void test_str_to_ull(void)
{
    unsigned long long v;
    CHECK(str_to_ull("0", 1, &v) && v == 0);
    CHECK(str_to_ull("42", 2, &v) && v == 42);
    CHECK(str_to_ull("18446744073709551615", 20, &v) && v == ULLONG_MAX);
    CHECK(str_to_ull("9223372036854775808", 19, &v) && v == 9223372036854775808ULL);
    CHECK(!str_to_ull("18446744073709551616", 20, &v));
    CHECK(!str_to_ull("99999999999999999999", 20, &v));
    CHECK(!str_to_ull("-1", 2, &v));
    CHECK(!str_to_ull("+1", 2, &v));
    CHECK(!str_to_ull("01", 2, &v));
    CHECK(!str_to_ull("", 0, &v));
    CHECK(!str_to_ull(" 1", 2, &v));
    CHECK(!str_to_ull("1 ", 2, &v));
}

static void test_ll_to_str(void)
{
    char buf[NUM_STR_MAX];
    CHECK_EQ_LL(ll_to_str(buf, sizeof(buf), 0), 1);
    CHECK_STR(buf, "0");
    CHECK_EQ_LL(ll_to_str(buf, sizeof(buf), -1), 2);
    CHECK_STR(buf, "-1");
    CHECK_EQ_LL(ll_to_str(buf, sizeof(buf), 1234567890), 10);
    CHECK_STR(buf, "1234567890");
    CHECK_EQ_LL(ll_to_str(buf, sizeof(buf), LLONG_MAX), 19);
    CHECK_STR(buf, "9223372036854775807");
    CHECK_EQ_LL(ll_to_str(buf, 21, LLONG_MIN), 20);
    CHECK_STR(buf, "-9223372036854775808");
    /* No room: nothing written. */
    CHECK_EQ_LL(ll_to_str(buf, 3, 123), 0);
    CHECK_EQ_LL(ll_to_str(buf, 4, 123), 3);
    CHECK_STR(buf, "123");

    /* Round trip. */
    long long samples[] = {0, 1, -1, 10, -10, 999, LLONG_MAX, LLONG_MIN, 1000000007};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        long long back;
        int n = ll_to_str(buf, sizeof(buf), samples[i]);
        CHECK(str_to_ll(buf, (size_t)n, &back) && back == samples[i]);
    }
}

/* ---------------------------------------------------------------------------
 * Floating point
 * ------------------------------------------------------------------------ */

static int dbl(const char *s, double *v)
{
    *v = 12345;
    return str_to_double(s, strlen(s), v);
}

static void test_str_to_double(void)
{
    double v;
    CHECK(dbl("1.5", &v) && v == 1.5);
    CHECK(dbl("-1.5", &v) && v == -1.5);
    CHECK(dbl("+1.5", &v) && v == 1.5);
    CHECK(dbl("0", &v) && v == 0);
    CHECK(dbl("-0", &v) && v == 0 && signbit(v));
    CHECK(dbl("10", &v) && v == 10);
    CHECK(dbl("1e3", &v) && v == 1000);
    CHECK(dbl("1E-3", &v) && v == 0.001);
    CHECK(dbl(".5", &v) && v == 0.5);
    CHECK(dbl("5.", &v) && v == 5);
    CHECK(dbl("0x10", &v) && v == 16); /* strtod accepts hex, so does Redis */
    CHECK(dbl("1e308", &v) && v == 1e308);
    CHECK(dbl("4.9e-324", &v) && v > 0); /* a denormal is kept */

    CHECK(dbl("inf", &v) && isinf(v) && v > 0);
    CHECK(dbl("+inf", &v) && isinf(v) && v > 0);
    CHECK(dbl("-inf", &v) && isinf(v) && v < 0);
    CHECK(dbl("Infinity", &v) && isinf(v));

    CHECK(!dbl("nan", &v));
    CHECK(!dbl("NaN", &v));
    CHECK(!dbl("-nan", &v));
    CHECK(!dbl("", &v));
    CHECK(!dbl(" 1", &v));
    CHECK(!dbl("\t1", &v));
    CHECK(!dbl("1 ", &v));
    CHECK(!dbl("1x", &v));
    CHECK(!dbl("1e", &v));
    CHECK(!dbl(".", &v));
    CHECK(!dbl("-", &v));
    CHECK(!dbl("e3", &v));
    CHECK(!dbl("1,5", &v));
    CHECK(!dbl("1e309", &v));  /* overflow */
    CHECK(!dbl("-1e309", &v)); /* overflow */
    CHECK(!dbl("1e-400", &v)); /* underflow to zero */
    CHECK(v == 12345);         /* failures leave *out alone */
    CHECK(!str_to_double("1\0", 2, &v));
    CHECK(str_to_double("2.5xyz", 3, &v) && v == 2.5);

    /* Long input goes through the heap copy. */
    char big[200]; /* "0.000...05" = 5e-198 */
    memset(big, '0', sizeof(big));
    big[1] = '.';
    big[sizeof(big) - 1] = '5';
    CHECK(str_to_double(big, sizeof(big), &v) && v > 4e-198 && v < 6e-198);
    big[sizeof(big) - 1] = 'x';
    CHECK(!str_to_double(big, sizeof(big), &v));
}

/* Integers take a fast path past strtod: it must give strtod's result bit
 * for bit, at every length around its 15-digit limit. */
static void test_str_to_double_integers(void)
{
    const char *fixed[] = {"0",
                           "-0",
                           "007",
                           "-007",
                           "999999999999999",
                           "-999999999999999",
                           "1000000000000000",
                           "9007199254740993",
                           "12345678901234567890"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        double v, ref = strtod(fixed[i], NULL);
        CHECK(dbl(fixed[i], &v) && memcmp(&v, &ref, sizeof(v)) == 0);
    }
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char buf[32];
        int digits = 1 + i % 18;
        snprintf(buf, sizeof(buf), "%s%llu", i % 3 ? "" : "-", x % 1000000000000000000ULL);
        buf[digits + (i % 3 ? 0 : 1)] = '\0';
        double v, ref = strtod(buf, NULL);
        if (!dbl(buf, &v) || memcmp(&v, &ref, sizeof(v)) != 0) {
            fprintf(stderr, "str_to_double(\"%s\") is not strtod's\n", buf);
            CHECK(0);
            break;
        }
    }
}

static void test_str_to_ldouble(void)
{
    long double v;
    CHECK(str_to_ldouble("10.5", 4, &v) && v == 10.5L);
    CHECK(str_to_ldouble("-3", 2, &v) && v == -3.0L);
    CHECK(str_to_ldouble("5.0e-1", 6, &v) && v == 0.5L);
    CHECK(str_to_ldouble("inf", 3, &v) && isinf(v)); /* INCRBYFLOAT rejects it later */
    CHECK(!str_to_ldouble("nan", 3, &v));
    CHECK(!str_to_ldouble("", 0, &v));
    CHECK(!str_to_ldouble(" 1", 2, &v));
    CHECK(!str_to_ldouble("1 ", 2, &v));
    CHECK(!str_to_ldouble("1x", 2, &v));
    CHECK(!str_to_ldouble("1\0", 2, &v));
    CHECK(!str_to_ldouble("1e99999", 7, &v));

    /* Redis's length limit: LDOUBLE_STR_MAX - 1 characters at most. */
    char *s = malloc(LDOUBLE_STR_MAX);
    s[0] = '1';
    s[1] = '.';
    memset(s + 2, '0', LDOUBLE_STR_MAX - 2);
    CHECK(str_to_ldouble(s, LDOUBLE_STR_MAX - 1, &v) && v == 1.0L);
    CHECK(!str_to_ldouble(s, LDOUBLE_STR_MAX, &v));
    free(s);
}

/* Format the value parsed from `in` the way INCRBYFLOAT would. */
static const char *ld_round_trip(const char *in, char *buf, size_t size)
{
    long double v;
    if (!str_to_ldouble(in, strlen(in), &v)) return "(parse error)";
    if (ldouble_to_str(buf, size, v) == 0) return "(format error)";
    return buf;
}

static void test_ldouble_to_str(void)
{
    char buf[NUM_STR_MAX];
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), 10.5L), 4);
    CHECK_STR(buf, "10.5");
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), 3.0e3L), 4);
    CHECK_STR(buf, "3000");
    ldouble_to_str(buf, sizeof(buf), 5.0e-1L);
    CHECK_STR(buf, "0.5");
    ldouble_to_str(buf, sizeof(buf), 100.0L);
    CHECK_STR(buf, "100");
    ldouble_to_str(buf, sizeof(buf), 0.0L);
    CHECK_STR(buf, "0");
    ldouble_to_str(buf, sizeof(buf), -10.5L);
    CHECK_STR(buf, "-10.5");
    ldouble_to_str(buf, sizeof(buf), 1.0L / 3);
    CHECK_STR(buf, "0.33333333333333333");
    /* Never "-0". */
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), -0.0L), 1);
    CHECK_STR(buf, "0");
    ldouble_to_str(buf, sizeof(buf), -1e-30L);
    CHECK_STR(buf, "0");
    /* Tiny positive values round to 0 at 17 decimals. */
    ldouble_to_str(buf, sizeof(buf), 1e-18L);
    CHECK_STR(buf, "0");
    ldouble_to_str(buf, sizeof(buf), 1e-17L);
    CHECK_STR(buf, "0.00000000000000001");

    /* What INCRBYFLOAT produces from user input. */
    CHECK_STR(ld_round_trip("10.5", buf, sizeof(buf)), "10.5");
    CHECK_STR(ld_round_trip("3.0e3", buf, sizeof(buf)), "3000");
    CHECK_STR(ld_round_trip("5.0e-1", buf, sizeof(buf)), "0.5");
    CHECK_STR(ld_round_trip("3.14", buf, sizeof(buf)), "3.14");
    CHECK_STR(ld_round_trip("-0.0", buf, sizeof(buf)), "0");
    CHECK_STR(ld_round_trip("12345678901234567890", buf, sizeof(buf)), "12345678901234567890");
    long double a, b;
    str_to_ldouble("10.5", 4, &a);
    str_to_ldouble("0.1", 3, &b);
    ldouble_to_str(buf, sizeof(buf), a + b);
    CHECK_STR(buf, "10.6");

    /* Not finite: nothing. */
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), (long double)INFINITY), 0);
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), -(long double)INFINITY), 0);
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), (long double)NAN), 0);

    /* Large values need the bigger buffer, as in Redis. */
    long double huge = ldexpl(1.0L, 700); /* 2^700, 211 digits, exact */
    CHECK_EQ_LL(ldouble_to_str(buf, sizeof(buf), huge), 0);
    char *big = malloc(LDOUBLE_STR_MAX);
    CHECK_EQ_LL(ldouble_to_str(big, LDOUBLE_STR_MAX, huge), 211);
    CHECK(strspn(big, "0123456789") == 211 && big[211] == '\0');
    CHECK(strncmp(big, "526", 3) == 0 && strcmp(big + 208, "376") == 0);
    CHECK(ldouble_to_str(big, LDOUBLE_STR_MAX, -LDBL_MAX) > 4900);
    free(big);
}

static void test_double_to_str(void)
{
    char buf[NUM_STR_MAX];
    CHECK_EQ_LL(double_to_str(buf, sizeof(buf), 1.5), 3);
    CHECK_STR(buf, "1.5");
    double_to_str(buf, sizeof(buf), 3.0);
    CHECK_STR(buf, "3");
    double_to_str(buf, sizeof(buf), -3.0);
    CHECK_STR(buf, "-3");
    double_to_str(buf, sizeof(buf), 0.1);
    CHECK_STR(buf, "0.10000000000000001");
    double_to_str(buf, sizeof(buf), 1.0 / 3);
    CHECK_STR(buf, "0.33333333333333331");
    double_to_str(buf, sizeof(buf), 123456789.0);
    CHECK_STR(buf, "123456789");
    double_to_str(buf, sizeof(buf), 1e16);
    CHECK_STR(buf, "10000000000000000");
    double_to_str(buf, sizeof(buf), 1e17);
    CHECK_STR(buf, "1e+17");
    double_to_str(buf, sizeof(buf), 1e300);
    CHECK_STR(buf, "1.0000000000000001e+300");
    double_to_str(buf, sizeof(buf), 2.5e-5);
    CHECK_STR(buf, "2.5000000000000001e-05");
    double_to_str(buf, sizeof(buf), 0.0);
    CHECK_STR(buf, "0");
    double_to_str(buf, sizeof(buf), -0.0);
    CHECK_STR(buf, "-0");
    CHECK_EQ_LL(double_to_str(buf, sizeof(buf), INFINITY), 3);
    CHECK_STR(buf, "inf");
    CHECK_EQ_LL(double_to_str(buf, sizeof(buf), -INFINITY), 4);
    CHECK_STR(buf, "-inf");
    double_to_str(buf, sizeof(buf), NAN);
    CHECK_STR(buf, "nan");
    double_to_str(buf, sizeof(buf), -NAN);
    CHECK_STR(buf, "nan");
    CHECK_EQ_LL(double_to_str(buf, 3, 1.5), 0);

    /* %.17g round-trips every double. */
    double samples[] = {0.1, 1e-300, 123.456, -9.87654321e123, 4503599627370497.0};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        double back;
        int n = double_to_str(buf, sizeof(buf), samples[i]);
        CHECK(str_to_double(buf, (size_t)n, &back) && back == samples[i]);
    }
}

int main(void)
{
    TEST(test_glob_basic);
    TEST(test_glob_brackets);
    TEST(test_glob_escapes);
    TEST(test_glob_nocase);
    TEST(test_glob_binary);
    TEST(test_glob_pathological);
    TEST(test_str_to_ll);
    TEST(test_str_to_ll_random);
    TEST(test_str_to_ull);
    TEST(test_ll_to_str);
    TEST(test_str_to_double);
    TEST(test_str_to_double_integers);
    TEST(test_str_to_ldouble);
    TEST(test_ldouble_to_str);
    TEST(test_double_to_str);
    return TEST_REPORT();
}
