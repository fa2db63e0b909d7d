/* test_listpack.c -- unit tests for src/ds/listpack.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "ds/rand.h"
#include "ds/util.h"
#include "test.h"

/* The entry at p as a freshly allocated NUL-terminated string. */
static char *entry_str(unsigned char *p, size_t *lenp)
{
    lp_value v;
    char buf[32];
    size_t len;
    lp_get(p, &v);
    const char *s = lp_value_str(&v, buf, &len);
    char *out = malloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    if (lenp) *lenp = len;
    return out;
}

static int entry_is(unsigned char *p, const char *s, size_t len)
{
    size_t l;
    char *e = entry_str(p, &l);
    int ok = l == len && memcmp(e, s, len) == 0;
    free(e);
    return ok;
}

/* Walk forwards and backwards and check both against the expected strings. */
static int walks_agree(unsigned char *lp, char **want, size_t *wlen, size_t n)
{
    if (lp_length(lp) != n) return 0;
    size_t i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), i++) {
        if (i >= n || !entry_is(p, want[i], wlen[i])) return 0;
    }
    if (i != n) return 0;
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) {
        if (i == 0 || !entry_is(p, want[i - 1], wlen[i - 1])) return 0;
        i--;
    }
    if (i != 0) return 0;
    return lp_validate(lp, lp_bytes(lp));
}

static void test_empty(void)
{
    unsigned char *lp = lp_new(0);
    CHECK_EQ_LL(lp_length(lp), 0);
    CHECK(lp_first(lp) == NULL);
    CHECK(lp_last(lp) == NULL);
    CHECK(lp_seek(lp, 0) == NULL);
    CHECK(lp_seek(lp, -1) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "x", 1, 0) == NULL);
    CHECK(lp_validate(lp, lp_bytes(lp)));
    lp = lp_delete_range(lp, 0, 5);
    CHECK_EQ_LL(lp_length(lp), 0);
    lp_free(lp);

    lp = lp_new(1000); /* capacity is only a hint */
    CHECK_EQ_LL(lp_length(lp), 0);
    lp = lp_append(lp, "a", 1);
    CHECK_EQ_LL(lp_length(lp), 1);
    lp_free(lp);
}

/* Every integer width boundary round-trips as an integer, and the string
 * form of it reads back the same. */
static void test_integers(void)
{
    static const long long vals[] = {0,
                                     1,
                                     -1,
                                     127,
                                     128,
                                     -128,
                                     -4096,
                                     -4097,
                                     4095,
                                     4096,
                                     32767,
                                     32768,
                                     -32768,
                                     -32769,
                                     (1LL << 23) - 1,
                                     1LL << 23,
                                     -(1LL << 23),
                                     -(1LL << 23) - 1,
                                     2147483647LL,
                                     2147483648LL,
                                     -2147483648LL,
                                     -2147483649LL,
                                     LLONG_MAX,
                                     LLONG_MAX - 1,
                                     LLONG_MIN,
                                     LLONG_MIN + 1};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    unsigned char *a = lp_new(0), *b = lp_new(0);
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        int len = ll_to_str(buf, sizeof buf, vals[i]);
        a = lp_append(a, buf, (size_t)len);
        b = lp_append_int(b, vals[i]);
    }
    for (long i = -4096; i <= 4096; i++) {
        char buf[32];
        int len = ll_to_str(buf, sizeof buf, i);
        a = lp_append(a, buf, (size_t)len);
        b = lp_append_int(b, i);
    }
    CHECK(lp_validate(a, lp_bytes(a)));
    CHECK(lp_bytes(a) == lp_bytes(b));
    CHECK(memcmp(a, b, lp_bytes(a)) == 0);
    for (size_t i = 0; i < n; i++) {
        lp_value v;
        unsigned char *p = lp_seek(a, (long)i);
        REQUIRE(p);
        lp_get(p, &v);
        CHECK(v.str == NULL);
        CHECK_EQ_LL(v.ll, vals[i]);
        char buf[32];
        int len = ll_to_str(buf, sizeof buf, vals[i]);
        CHECK(lp_equals(p, buf, (size_t)len));
        CHECK(lp_find(a, lp_first(a), buf, (size_t)len, 0) != NULL);
    }
    for (long i = -4096; i <= 4096; i++) {
        lp_value v;
        lp_get(lp_seek(a, (long)n + i + 4096), &v);
        REQUIRE(v.str == NULL && v.ll == i);
    }
    /* Backward walk reads the same values. */
    long idx = (long)lp_length(a) - 1;
    for (unsigned char *p = lp_last(a); p; p = lp_prev(a, p), idx--) {
        lp_value v, w;
        lp_get(p, &v);
        lp_get(lp_seek(a, idx), &w);
        REQUIRE(v.ll == w.ll && v.str == NULL);
    }
    CHECK_EQ_LL(idx, -1);
    lp_free(a);
    lp_free(b);
}

/* Sizes: small integers take fewer bytes than their text. */
static void test_integer_sizes(void)
{
    struct {
        long long v;
        size_t entry;
    } cases[] = {{0, 2},          {127, 2},           {128, 3},        {-1, 3},
                 {-4096, 3},      {4095, 3},          {4096, 4},       {-4097, 4},
                 {32767, 4},      {32768, 5},         {8388607, 5},    {8388608, 6},
                 {2147483647, 6}, {2147483648LL, 10}, {LLONG_MIN, 10}, {LLONG_MAX, 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *lp = lp_new(0);
        lp = lp_append_int(lp, cases[i].v);
        CHECK_EQ_LL(lp_bytes(lp) - 9, cases[i].entry);
        lp_free(lp);
    }
}

/* Strings that look like numbers but are not canonical stay strings. */
static void test_not_integers(void)
{
    static const char *strs[] = {"",
                                 "-",
                                 "+1",
                                 "01",
                                 "-0",
                                 " 1",
                                 "1 ",
                                 "1.0",
                                 "0x10",
                                 "1e3",
                                 "abc",
                                 "9223372036854775808",
                                 "-9223372036854775809"};
    unsigned char *lp = lp_new(0);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        lp = lp_append(lp, strs[i], strlen(strs[i]));
    size_t i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), i++) {
        lp_value v;
        lp_get(p, &v);
        CHECK(v.str != NULL);
        CHECK(v.len == strlen(strs[i]));
        CHECK(entry_is(p, strs[i], strlen(strs[i])));
        CHECK(lp_equals(p, strs[i], strlen(strs[i])));
    }
    /* "1" is an integer and is not equal to "01" or "+1". */
    lp = lp_append(lp, "1", 1);
    unsigned char *one = lp_last(lp);
    CHECK(lp_equals(one, "1", 1));
    CHECK(!lp_equals(one, "01", 2));
    CHECK(!lp_equals(one, "+1", 2));
    CHECK(!lp_equals(one, "2", 1));
    CHECK(lp_find(lp, lp_first(lp), "1", 1, 0) == one);
    CHECK(lp_find(lp, lp_first(lp), "01", 2, 0) == lp_seek(lp, 3));
    CHECK(lp_validate(lp, lp_bytes(lp)));
    lp_free(lp);
}

static char *make_str(size_t len, char c)
{
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(c + (i % 23));
    s[len] = '\0';
    if (len > 0) s[0] = 'x'; /* never reads as an integer */
    return s;
}

static void test_string_lengths(void)
{
    static const size_t lens[] = {0, 1, 63, 64, 127, 128, 4095, 4096, 16383, 16384, 70000};
    size_t n = sizeof lens / sizeof lens[0];
    char *want[16];
    size_t wlen[16];
    unsigned char *lp = lp_new(0);
    for (size_t i = 0; i < n; i++) {
        want[i] = make_str(lens[i], 'a');
        wlen[i] = lens[i];
        lp = lp_append(lp, want[i], wlen[i]);
    }
    CHECK(walks_agree(lp, want, wlen, n));
    for (size_t i = 0; i < n; i++) {
        lp_value v;
        unsigned char *p = lp_seek(lp, (long)i);
        REQUIRE(p);
        lp_get(p, &v);
        CHECK(v.str != NULL && v.len == lens[i]);
        CHECK(lp_find(lp, lp_first(lp), want[i], wlen[i], 0) == p);
        CHECK(lp_seek(lp, (long)i - (long)n) == p);
    }
    /* The overhead of each size class: 1 byte of header up to 63, 2 up to
     * 4095, 5 beyond; backlen 1 byte below 128, 2 below 16384, 3 below 2^21. */
    struct {
        size_t len, overhead;
    } sz[] = {{0, 2},   {63, 2},   {64, 3},   {125, 3},  {126, 4},
              {127, 4}, {4095, 4}, {4096, 7}, {70000, 8}};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        char *s = make_str(sz[i].len, 'b');
        unsigned char *one = lp_append(lp_new(0), s, sz[i].len);
        CHECK_EQ_LL(lp_bytes(one) - 9 - sz[i].len, sz[i].overhead);
        lp_free(one);
        free(s);
    }
    for (size_t i = 0; i < n; i++)
        free(want[i]);
    lp_free(lp);
}

/* Build a listpack from strings. */
static unsigned char *build(const char **s, size_t n)
{
    unsigned char *lp = lp_new(0);
    for (size_t i = 0; i < n; i++)
        lp = lp_append(lp, s[i], strlen(s[i]));
    return lp;
}

static int equals_list(unsigned char *lp, const char **s, size_t n)
{
    char *w[64];
    size_t wl[64];
    for (size_t i = 0; i < n; i++) {
        w[i] = (char *)s[i];
        wl[i] = strlen(s[i]);
    }
    return walks_agree(lp, w, wl, n);
}

static void test_insert_positions(void)
{
    const char *base[] = {"a", "1", "c"};
    unsigned char *lp = build(base, 3), *np;

    lp = lp_prepend(lp, "head", 4);
    CHECK(equals_list(lp, (const char *[]){"head", "a", "1", "c"}, 4));
    lp = lp_append(lp, "-5000", 5);
    CHECK(equals_list(lp, (const char *[]){"head", "a", "1", "c", "-5000"}, 5));

    lp = lp_insert(lp, lp_seek(lp, 2), LP_BEFORE, "mid", 3, &np);
    CHECK(entry_is(np, "mid", 3));
    CHECK(equals_list(lp, (const char *[]){"head", "a", "mid", "1", "c", "-5000"}, 6));
    lp = lp_insert(lp, lp_seek(lp, 2), LP_AFTER, "99999", 5, &np);
    CHECK(entry_is(np, "99999", 5));
    CHECK(equals_list(lp, (const char *[]){"head", "a", "mid", "99999", "1", "c", "-5000"}, 7));
    lp = lp_insert(lp, lp_first(lp), LP_BEFORE, "h0", 2, &np);
    CHECK(np == lp_first(lp));
    lp = lp_insert(lp, lp_last(lp), LP_AFTER, "t0", 2, &np);
    CHECK(np == lp_last(lp));
    CHECK(equals_list(
        lp, (const char *[]){"h0", "head", "a", "mid", "99999", "1", "c", "-5000", "t0"}, 9));
    /* NULL position appends. */
    lp = lp_insert(lp, NULL, LP_BEFORE, "end", 3, &np);
    CHECK(np == lp_last(lp));
    CHECK_EQ_LL(lp_length(lp), 10);
    lp_free(lp);
}

static void test_replace(void)
{
    const char *base[] = {"a", "b", "c"};
    unsigned char *lp = build(base, 3);
    unsigned char *p = lp_first(lp);
    char *big = make_str(5000, 'k');

    lp = lp_replace(lp, &p, big, 5000);
    CHECK(p == lp_first(lp));
    CHECK(entry_is(p, big, 5000));
    p = lp_seek(lp, 1);
    lp = lp_replace(lp, &p, "123456789012", 12);
    CHECK(p == lp_seek(lp, 1));
    lp_value v;
    lp_get(p, &v);
    CHECK(v.str == NULL && v.ll == 123456789012LL);
    p = lp_last(lp);
    lp = lp_replace(lp, &p, "", 0);
    CHECK(p == lp_last(lp));
    CHECK(equals_list(lp, (const char *[]){big, "123456789012", ""}, 3));
    /* Shrink back. */
    p = lp_first(lp);
    lp = lp_replace(lp, &p, "z", 1);
    CHECK(equals_list(lp, (const char *[]){"z", "123456789012", ""}, 3));
    CHECK_EQ_LL(lp_bytes(lp), 9 + 3 + 10 + 2);
    /* Replacing with a string taken from the listpack itself. */
    lp = lp_append(lp, big, 5000);
    lp_get(lp_last(lp), &v);
    p = lp_first(lp);
    lp = lp_replace(lp, &p, (const char *)v.str, v.len);
    CHECK(equals_list(lp, (const char *[]){big, "123456789012", "", big}, 4));
    lp_get(lp_first(lp), &v);
    lp = lp_append(lp, (const char *)v.str, v.len);
    lp_get(lp_first(lp), &v);
    lp = lp_insert(lp, lp_first(lp), LP_AFTER, (const char *)v.str, v.len, NULL);
    CHECK(equals_list(lp, (const char *[]){big, big, "123456789012", "", big, big}, 6));
    free(big);
    lp_free(lp);
}

static void test_delete(void)
{
    const char *base[] = {"a", "b", "c", "d", "e"};
    unsigned char *lp = build(base, 5), *next;

    lp = lp_delete(lp, lp_first(lp), &next);
    CHECK(next == lp_first(lp));
    CHECK(equals_list(lp, (const char *[]){"b", "c", "d", "e"}, 4));
    lp = lp_delete(lp, lp_seek(lp, 1), &next);
    CHECK(entry_is(next, "d", 1));
    CHECK(equals_list(lp, (const char *[]){"b", "d", "e"}, 3));
    lp = lp_delete(lp, lp_last(lp), &next);
    CHECK(next == NULL);
    CHECK(equals_list(lp, (const char *[]){"b", "d"}, 2));
    lp = lp_delete(lp, lp_first(lp), NULL);
    lp = lp_delete(lp, lp_first(lp), &next);
    CHECK(next == NULL);
    CHECK_EQ_LL(lp_length(lp), 0);
    CHECK_EQ_LL(lp_bytes(lp), 9);
    lp_free(lp);

    /* Delete ranges. */
    const char *ten[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    lp = build(ten, 10);
    lp = lp_delete_range(lp, 0, 2);
    CHECK(equals_list(lp, (const char *[]){"2", "3", "4", "5", "6", "7", "8", "9"}, 8));
    lp = lp_delete_range(lp, 2, 3);
    CHECK(equals_list(lp, (const char *[]){"2", "3", "7", "8", "9"}, 5));
    lp = lp_delete_range(lp, -2, 10);
    CHECK(equals_list(lp, (const char *[]){"2", "3", "7"}, 3));
    lp = lp_delete_range(lp, 5, 1); /* out of range: nothing */
    lp = lp_delete_range(lp, -4, 1);
    CHECK(equals_list(lp, (const char *[]){"2", "3", "7"}, 3));
    lp = lp_delete_range(lp, -3, 0);
    CHECK_EQ_LL(lp_length(lp), 3);
    lp = lp_delete_range(lp, -3, 3);
    CHECK_EQ_LL(lp_length(lp), 0);
    CHECK(lp_validate(lp, lp_bytes(lp)));
    lp_free(lp);
}

static void test_seek(void)
{
    const char *ten[] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};
    unsigned char *lp = build(ten, 10);
    for (long i = 0; i < 10; i++) {
        CHECK(entry_is(lp_seek(lp, i), ten[i], 2));
        CHECK(entry_is(lp_seek(lp, i - 10), ten[i], 2));
    }
    CHECK(lp_seek(lp, 10) == NULL);
    CHECK(lp_seek(lp, -11) == NULL);
    CHECK(lp_seek(lp, LONG_MIN) == NULL);
    CHECK(lp_seek(lp, LONG_MAX) == NULL);
    lp_free(lp);
}

static void test_find_skip(void)
{
    /* A field/value listpack where values shadow field names. */
    const char *fv[] = {"f1", "v1", "f2", "f1", "f3", "100", "100", "x", "f4", "f3"};
    unsigned char *lp = build(fv, 10);
    CHECK(lp_find(lp, lp_first(lp), "f1", 2, 1) == lp_seek(lp, 0));
    CHECK(lp_find(lp, lp_first(lp), "f3", 2, 1) == lp_seek(lp, 4));
    CHECK(lp_find(lp, lp_first(lp), "100", 3, 1) == lp_seek(lp, 6));
    CHECK(lp_find(lp, lp_first(lp), "v1", 2, 1) == NULL); /* a value only */
    CHECK(lp_find(lp, lp_first(lp), "x", 1, 1) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "nope", 4, 1) == NULL);
    /* skip 0 sees values too. */
    CHECK(lp_find(lp, lp_first(lp), "v1", 2, 0) == lp_seek(lp, 1));
    CHECK(lp_find(lp, lp_first(lp), "100", 3, 0) == lp_seek(lp, 5));
    /* Starting at a value with skip 1 looks at the values. */
    CHECK(lp_find(lp, lp_seek(lp, 1), "f1", 2, 1) == lp_seek(lp, 3));
    CHECK(lp_find(lp, lp_seek(lp, 1), "x", 1, 1) == lp_seek(lp, 7));
    /* skip 2 over triples. */
    CHECK(lp_find(lp, lp_first(lp), "f2", 2, 2) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "x", 1, 2) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "f4", 2, 2) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "f3", 2, 2) == lp_seek(lp, 9));
    CHECK(lp_find(lp, lp_first(lp), "f1", 2, 2) == lp_seek(lp, 0));
    CHECK(lp_find(lp, lp_seek(lp, 1), "x", 1, 2) == lp_seek(lp, 7));
    CHECK(lp_find(lp, lp_seek(lp, 1), "f1", 2, 2) == NULL);
    CHECK(lp_find(lp, NULL, "f1", 2, 0) == NULL);
    lp_free(lp);
}

static void test_value_str(void)
{
    lp_value v = {NULL, 0, LLONG_MIN};
    char buf[21];
    size_t len;
    const char *s = lp_value_str(&v, buf, &len);
    CHECK(len == 20 && memcmp(s, "-9223372036854775808", 20) == 0);
    v.str = (const unsigned char *)"hello";
    v.len = 5;
    s = lp_value_str(&v, buf, &len);
    CHECK(len == 5 && s == (const char *)v.str);
}

/* Validation of untrusted input. */
static void test_validate(void)
{
    const char *items[] = {"a", "12345", "-7", "hello world", "99999999999"};
    unsigned char *lp = build(items, 5);
    char *big = make_str(300, 'q');
    lp = lp_append(lp, big, 300);
    free(big);
    size_t n = lp_bytes(lp);
    CHECK(lp_validate(lp, n));
    CHECK(!lp_validate(NULL, 0));
    CHECK(!lp_validate(lp, 0));
    CHECK(!lp_validate(lp, 8));

    /* Every truncation is rejected (the header size disagrees, and even
     * with the header fixed, the entries do not fit). */
    unsigned char *copy = malloc(n);
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(copy, lp, cut);
        REQUIRE(!lp_validate(copy, cut));
        if (cut >= 9) {
            copy[0] = (unsigned char)cut;
            copy[1] = (unsigned char)(cut >> 8);
            copy[2] = copy[3] = 0;
            copy[cut - 1] = 0xFF;
            REQUIRE(!lp_validate(copy, cut));
        }
    }
    /* Wrong count. */
    memcpy(copy, lp, n);
    copy[4]++;
    CHECK(!lp_validate(copy, n));
    /* Missing end marker. */
    memcpy(copy, lp, n);
    copy[n - 1] = 0;
    CHECK(!lp_validate(copy, n));
    /* Unknown encoding. */
    memcpy(copy, lp, n);
    copy[8] = 0xF7;
    CHECK(!lp_validate(copy, n));
    /* End marker in the middle. */
    memcpy(copy, lp, n);
    copy[8] = 0xFF;
    CHECK(!lp_validate(copy, n));
    /* Corrupt a backlen: entry "a" is 0x81 'a' <backlen 2>. */
    memcpy(copy, lp, n);
    CHECK(copy[10] == 2);
    copy[10] = 3;
    CHECK(!lp_validate(copy, n));
    /* Flipping any single byte either still validates to a well-formed
     * listpack or is rejected; a validated one must walk cleanly. */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, lp, n);
            copy[i] ^= (unsigned char)(1 << bit);
            if (lp_validate(copy, n)) {
                unsigned long cnt = 0;
                for (unsigned char *p = lp_first(copy); p; p = lp_next(copy, p)) {
                    lp_value v;
                    lp_get(p, &v);
                    cnt++;
                }
                REQUIRE(cnt == lp_length(copy));
            }
        }
    }
    free(copy);
    lp_free(lp);
}

/* Random operations against an array model. */
#define MODEL_MAX 600

typedef struct model {
    char *s[MODEL_MAX];
    size_t len[MODEL_MAX];
    size_t n;
} model;

static void rand_value(crand *r, char *buf, size_t *len, char **heap)
{
    *heap = NULL;
    switch (crand_below(r, 6)) {
    case 0: *len = (size_t)ll_to_str(buf, 32, (long long)crand_below(r, 300) - 150); break;
    case 1: *len = (size_t)ll_to_str(buf, 32, (long long)crand_next(r)); break;
    case 2:
        *len = (size_t)ll_to_str(buf, 32, (long long)crand_below(r, 1 << 25) - (1 << 24));
        break;
    case 3: {
        size_t l = crand_below(r, 5);
        for (size_t i = 0; i < l; i++)
            buf[i] = (char)('a' + crand_below(r, 3));
        *len = l;
        break;
    }
    case 4: {
        size_t l = crand_below(r, 200);
        *heap = make_str(l, 'A');
        *len = l;
        break;
    }
    default: {
        size_t l = 4000 + crand_below(r, 200);
        *heap = make_str(l, 'a');
        *len = l;
        break;
    }
    }
}

static void test_random_model(void)
{
    crand r;
    crand_seed(&r, 20240601);
    model m = {{0}, {0}, 0};
    unsigned char *lp = lp_new(0);
    for (int op = 0; op < 20000; op++) {
        char buf[64], *heap;
        size_t len;
        rand_value(&r, buf, &len, &heap);
        const char *s = heap ? heap : buf;
        unsigned kind = (unsigned)crand_below(&r, 7);
        if (m.n == 0 || (m.n < MODEL_MAX - 1 && kind <= 2)) {
            size_t at = m.n ? crand_below(&r, m.n + 1) : 0;
            if (at == m.n) {
                lp = lp_append(lp, s, len);
            } else if (at == 0 && crand_below(&r, 2)) {
                lp = lp_prepend(lp, s, len);
            } else {
                unsigned char *np;
                int where = at > 0 && crand_below(&r, 2) ? LP_AFTER : LP_BEFORE;
                unsigned char *p =
                    where == LP_AFTER ? lp_seek(lp, (long)at - 1) : lp_seek(lp, (long)at);
                lp = lp_insert(lp, p, where, s, len, &np);
                REQUIRE(np == lp_seek(lp, (long)at));
            }
            memmove(&m.s[at + 1], &m.s[at], (m.n - at) * sizeof m.s[0]);
            memmove(&m.len[at + 1], &m.len[at], (m.n - at) * sizeof m.len[0]);
            m.s[at] = cm_memdup(s, len ? len : 1);
            m.len[at] = len;
            m.n++;
        } else if (kind == 3) {
            size_t at = crand_below(&r, m.n);
            unsigned char *p = lp_seek(lp, (long)at);
            lp = lp_replace(lp, &p, s, len);
            REQUIRE(p == lp_seek(lp, (long)at));
            cm_free(m.s[at]);
            m.s[at] = cm_memdup(s, len ? len : 1);
            m.len[at] = len;
        } else if (kind == 4 || kind == 5) {
            size_t at = crand_below(&r, m.n);
            unsigned char *next;
            lp = lp_delete(lp, lp_seek(lp, (long)at), &next);
            REQUIRE(next == lp_seek(lp, (long)at));
            cm_free(m.s[at]);
            memmove(&m.s[at], &m.s[at + 1], (m.n - at - 1) * sizeof m.s[0]);
            memmove(&m.len[at], &m.len[at + 1], (m.n - at - 1) * sizeof m.len[0]);
            m.n--;
        } else {
            size_t at = crand_below(&r, m.n);
            size_t cnt = crand_below(&r, 4);
            long idx = crand_below(&r, 2) ? (long)at : (long)at - (long)m.n;
            lp = lp_delete_range(lp, idx, cnt);
            if (at + cnt > m.n) cnt = m.n - at;
            for (size_t i = at; i < at + cnt; i++)
                cm_free(m.s[i]);
            memmove(&m.s[at], &m.s[at + cnt], (m.n - at - cnt) * sizeof m.s[0]);
            memmove(&m.len[at], &m.len[at + cnt], (m.n - at - cnt) * sizeof m.len[0]);
            m.n -= cnt;
        }
        free(heap);
        if (op % 97 == 0 || op > 19900) {
            REQUIRE(walks_agree(lp, m.s, m.len, m.n));
            if (m.n) {
                size_t at = crand_below(&r, m.n);
                unsigned char *f = lp_find(lp, lp_first(lp), m.s[at], m.len[at], 0);
                REQUIRE(f);
                size_t first = 0;
                while (m.len[first] != m.len[at] || memcmp(m.s[first], m.s[at], m.len[at]) != 0)
                    first++;
                REQUIRE(f == lp_seek(lp, (long)first));
            }
        } else {
            REQUIRE(lp_length(lp) == m.n);
        }
    }
    REQUIRE(walks_agree(lp, m.s, m.len, m.n));
    for (size_t i = 0; i < m.n; i++)
        cm_free(m.s[i]);
    lp_free(lp);
}

/* lp_append_many() (chunked, growing in place when it can) and
 * lp_replace_int() (in place when the size holds) must produce the bytes of
 * one-by-one appends and string replacements. */
static void test_append_many(void)
{
    crand r;
    crand_seed(&r, 42);
    static const char *strs[] = {"f1", "v22", "", "123", "-7", "x12", "99999999999", "abc"};
    unsigned char *a = lp_new(0), *b = lp_new(0);
    char big[300];
    memset(big, 'z', sizeof big);
    for (int round = 0; round < 200; round++) {
        lp_item items[70];
        size_t n = (size_t)crand_below(&r, 70) + 1;
        for (size_t i = 0; i < n; i++) {
            long pick = (long)crand_below(&r, 10);
            if (pick < 8) {
                items[i] = (lp_item){strs[pick], strlen(strs[pick]), 0};
                a = lp_append(a, strs[pick], strlen(strs[pick]));
            } else if (pick == 8) {
                size_t len = (size_t)crand_below(&r, sizeof big);
                items[i] = (lp_item){big, len, 0};
                a = lp_append(a, big, len);
            } else {
                long long v = (long long)(crand_next(&r) >> crand_below(&r, 64));
                items[i] = (lp_item){NULL, 0, v};
                a = lp_append_int(a, v);
            }
        }
        b = lp_append_many(b, items, n);
        CHECK(lp_validate(b, lp_bytes(b)));
        CHECK(lp_bytes(a) == lp_bytes(b) && memcmp(a, b, lp_bytes(a)) == 0);
        long idx = (long)crand_below(&r, lp_length(a));
        long long v = (long long)(crand_next(&r) >> crand_below(&r, 64));
        char buf[32];
        int len = ll_to_str(buf, sizeof buf, v);
        unsigned char *pa = lp_seek(a, idx), *pb = lp_seek(b, idx);
        a = lp_replace(a, &pa, buf, (size_t)len);
        b = lp_replace_int(b, &pb, v);
        CHECK(pb == lp_seek(b, idx));
        CHECK(lp_validate(b, lp_bytes(b)));
        CHECK(lp_bytes(a) == lp_bytes(b) && memcmp(a, b, lp_bytes(a)) == 0);
    }
    lp_free(a);
    lp_free(b);
}

int main(void)
{
    TEST(test_empty);
    TEST(test_integers);
    TEST(test_integer_sizes);
    TEST(test_not_integers);
    TEST(test_string_lengths);
    TEST(test_insert_positions);
    TEST(test_replace);
    TEST(test_delete);
    TEST(test_seek);
    TEST(test_find_skip);
    TEST(test_value_str);
    TEST(test_validate);
    TEST(test_random_model);
    TEST(test_append_many);
    return TEST_REPORT();
}
