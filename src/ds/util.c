/* util.c -- number parsing/formatting and glob matching (see util.h).
 *
 * Everything here reproduces what Redis accepts and prints byte for byte,
 * because clients compare replies as strings ("3000" and "3e3" are
 * different answers to INCRBYFLOAT) and scripts rely on what is rejected. */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* ---------------------------------------------------------------------------
 * Integers
 * ------------------------------------------------------------------------ */

/* Accumulate the decimal digits s[0..len) into *out, which must already
 * hold the value of any digits before them.  Fails on a non-digit or on
 * overflow of 64 unsigned bits. */
static int add_digits(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = *out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10) return 0;
        v *= 10;
        if (v > ULLONG_MAX - d) return 0;
        v += d;
    }
    *out = v;
    return 1;
}

/* The magnitude of an unsigned decimal without leading zeros: "0" or
 * [1-9][0-9]*.  This is the strictness of Redis's string2ll, which keeps
 * "01" and "1" from being the same key in e.g. integer-encoded sets. */
static int parse_magnitude(const char *s, size_t len, unsigned long long *out)
{
    if (len == 0) return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] < '1' || s[0] > '9') return 0;
    *out = (unsigned long long)(s[0] - '0');
    return add_digits(s + 1, len - 1, out);
}

int str_to_ll(const char *s, size_t len, long long *out)
{
    /* One pass with no overflow check per digit: at most 19 digits are
     * taken, which cannot overflow 64 unsigned bits, and the range is
     * checked once at the end.  20 characters hold "-9223372036854775808";
     * anything longer is out of range or malformed. */
    if (len == 0 || len > 20) return 0;
    const char *p = s, *end = s + len;
    int negative = *p == '-';
    p += negative;
    /* "0" is the only number starting with 0 (Redis rejects "-0"). */
    if (p == end || end - p > 19 || *p < '1' || *p > '9') {
        if (len == 1 && *s == '0') {
            *out = 0;
            return 1;
        }
        return 0;
    }
    unsigned long long v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        /* Negate in unsigned arithmetic so LLONG_MIN does not overflow. */
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
        return 1;
    }
    if (v > (unsigned long long)LLONG_MAX) return 0;
    *out = (long long)v;
    return 1;
}

int str_to_ull(const char *s, size_t len, unsigned long long *out)
{
    if (len > 20) return 0; /* "18446744073709551615" is 20 characters */
    return parse_magnitude(s, len, out);
}

/* The number of decimal digits of v, four orders of magnitude a step. */
static int count_digits(unsigned long long v)
{
    for (int n = 1;; n += 4) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000;
    }
}

/* Write the n digits of u ending at end (exclusive), two per division as
 * Redis's ll2string. */
static void write_digits(char *end, unsigned long long u)
{
    /* "00" "01" ... "99". */
    static const char pairs[] = "0001020304050607080910111213141516171819"
                                "2021222324252627282930313233343536373839"
                                "4041424344454647484950515253545556575859"
                                "6061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char *p = end;
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = pairs[i + 1];
        *--p = pairs[i];
    }
    if (u < 10) {
        *--p = (char)('0' + u);
    } else {
        unsigned i = (unsigned)u * 2;
        *--p = pairs[i + 1];
        *--p = pairs[i];
    }
}

int ll_to_str(char *buf, size_t size, long long v)
{
    /* Work on the magnitude as unsigned so LLONG_MIN needs no special case. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    /* Count the digits, then write them from the end: no temporary buffer
     * to reverse (every integer and bulk reply header comes here). */
    int n = count_digits(u) + (v < 0);
    if ((size_t)n + 1 > size) return 0;
    buf[n] = '\0';
    write_digits(buf + n, u);
    if (v < 0) buf[0] = '-';
    return n;
}

int ull_to_str_raw(char *buf, unsigned long long v)
{
    int n = count_digits(v);
    write_digits(buf + n, v);
    return n;
}

/* ---------------------------------------------------------------------------
 * Floating point
 * ------------------------------------------------------------------------ */

static locale_t c_locale_obj;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_create(void)
{
    /* glibc hands out its built-in C locale object for "C": nothing is
     * allocated, so there is nothing to free at exit. */
    c_locale_obj = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_create);
    /* newlocale() fails only without memory; the global locale is then
     * the best there is. */
    return c_locale_obj ? c_locale_obj : LC_GLOBAL_LOCALE;
}

double c_strtod(const char *s, char **end) { return strtod_l(s, end, c_locale()); }

long double c_strtold(const char *s, char **end) { return strtold_l(s, end, c_locale()); }

int c_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    locale_t old = uselocale(c_locale());
    int n = vsnprintf(buf, size, fmt, ap);
    uselocale(old);
    return n;
}

int c_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = c_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* isspace() of the C locale, whatever the process's. */
static int c_isspace(unsigned char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

/* strtod/strtold need a NUL-terminated buffer; ours is length-delimited
 * and may contain NULs.  Short input is copied to the stack. */
typedef struct cstr_copy {
    char small[128];
    char *p;
} cstr_copy;

static const char *cstr_copy_make(cstr_copy *c, const char *s, size_t len)
{
    c->p = len < sizeof(c->small) ? c->small : cm_malloc(len + 1);
    memcpy(c->p, s, len);
    c->p[len] = '\0';
    return c->p;
}

static void cstr_copy_free(cstr_copy *c)
{
    if (c->p != c->small) cm_free(c->p);
}

/* Floats given as arguments (scores, increments) are mostly integers, and
 * strtod is slow.  An optional '-' and at most 15 digits make a value
 * below 2^53, which converts exactly, so this gives what strtod gives
 * ("-0" included).  Returns 0 for anything else, which strtod decides. */
static int small_int_to_double(const char *s, size_t len, double *d)
{
    int neg = len > 0 && s[0] == '-';
    if (len <= (size_t)neg || len - (size_t)neg > 15) return 0;
    uint64_t v = 0;
    for (size_t i = (size_t)neg; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *d = neg ? -(double)v : (double)v;
    return 1;
}

int str_to_double(const char *s, size_t len, double *out)
{
    if (small_int_to_double(s, len, out)) return 1;
    /* strtod skips leading space, Redis does not want it to. */
    if (len == 0 || c_isspace((unsigned char)s[0])) return 0;

    cstr_copy c;
    const char *buf = cstr_copy_make(&c, s, len);
    char *end;
    errno = 0;
    double v = c_strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v);
    /* Overflow and underflow to zero are errors; a denormal result (also
     * ERANGE) is kept, as Redis does. */
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) ok = 0;
    cstr_copy_free(&c);

    if (ok) *out = v;
    return ok;
}

int str_to_ldouble(const char *s, size_t len, long double *out)
{
    /* Redis's string2ld bound: longer input is refused outright. */
    if (len == 0 || len >= LDOUBLE_STR_MAX || c_isspace((unsigned char)s[0])) return 0;

    cstr_copy c;
    const char *buf = cstr_copy_make(&c, s, len);
    char *end;
    errno = 0;
    long double v = c_strtold(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v);
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) ok = 0;
    cstr_copy_free(&c);

    if (ok) *out = v;
    return ok;
}

int ldouble_to_str(char *buf, size_t size, long double v)
{
    if (!isfinite(v)) return 0;
    /* 17 digits after the point: with 80/128-bit long doubles this prints
     * most short decimals exactly as typed ("10.5", not "10.4999..."). */
    int n = c_snprintf(buf, size, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > size) return 0;

    /* "%.17Lf" always has a point; drop trailing zeros, then the point. */
    if (memchr(buf, '.', (size_t)n)) {
        while (buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.') n--;
    }
    /* A tiny negative value rounds to "-0"; Redis prints "0". */
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }
    buf[n] = '\0';
    return n;
}

int double_to_str(char *buf, size_t size, double v)
{
    int n;
    if (isnan(v)) {
        n = snprintf(buf, size, "nan"); /* never "-nan" */
    } else if (isinf(v)) {
        n = snprintf(buf, size, "%s", v > 0 ? "inf" : "-inf");
    } else {
        /* Integers below 2^52 come out without exponent here too, so this
         * equals Redis's d2string fast path for them; integral scores,
         * the common case, skip printf and its locale switch. */
        if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v &&
            (v != 0 || !signbit(v)))
            n = ll_to_str(buf, size, (long long)v);
        else
            n = c_snprintf(buf, size, "%.17g", v);
    }
    if (n < 0 || (size_t)n + 1 > size) return 0;
    return n;
}

/* ---------------------------------------------------------------------------
 * Glob matching
 *
 * Same semantics as Redis's stringmatchlen, quirks included, since KEYS,
 * SCAN MATCH and PSUBSCRIBE patterns written for Redis must behave alike:
 *   - '[' with no closing ']' runs to the end of the pattern;
 *   - "[a-]" is the range 'a'..']' (a '-' with two characters after it);
 *   - an escaped character inside brackets is compared case-sensitively
 *     even in nocase mode;
 *   - a bare "*" does not match the empty string (callers special-case
 *     the pattern "*" as Redis does).
 * Bytes are compared as unsigned char (Redis uses plain char, which makes
 * ranges over bytes >= 0x80 depend on the platform).
 * ------------------------------------------------------------------------ */

/* Recursion depth beyond which a pattern is considered abusive. */
#define GLOB_MAX_NESTING 1000

typedef struct glob_state {
    int nocase;
    /* Set once the text after some '*' failed to match at every position:
     * a longer match for an earlier '*' cannot help, so all pending '*'
     * loops give up.  This keeps "a*a*a*...b" polynomial. */
    int skip_longer;
} glob_state;

static int fold(const glob_state *g, int c)
{
    return g->nocase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Match c against the bracket expression starting just after '['.  On
 * return *pp and *plen point at the closing ']' (or the last pattern byte when
 * the bracket is unterminated), ready for the caller's advance. */
static int match_bracket(const glob_state *g, const unsigned char **pp, size_t *plen, int c)
{
    const unsigned char *p = *pp;
    size_t len = *plen;
    int negate = len > 0 && p[0] == '^';
    int match = 0;
    if (negate) {
        p++;
        len--;
    }
    for (;;) {
        if (len == 0) {
            /* Unterminated: step back so the caller's advance ends the
             * pattern exactly. */
            p--;
            len++;
            break;
        }
        if (p[0] == '\\' && len >= 2) {
            p++;
            len--;
            if (p[0] == c) match = 1;
        } else if (p[0] == ']') {
            break;
        } else if (len >= 3 && p[1] == '-') {
            int lo = p[0], hi = p[2];
            if (lo > hi) { /* reversed ranges are allowed: "[z-a]" */
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (fold(g, c) >= fold(g, lo) && fold(g, c) <= fold(g, hi)) match = 1;
            p += 2;
            len -= 2;
        } else if (fold(g, p[0]) == fold(g, c)) {
            match = 1;
        }
        p++;
        len--;
    }
    *pp = p;
    *plen = len;
    return negate ? !match : match;
}

static int glob_impl(glob_state *g, const unsigned char *p, size_t plen, const unsigned char *s,
                     size_t slen, int nesting)
{
    if (nesting > GLOB_MAX_NESTING) return 0;

    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') { /* "**" is "*" */
                p++;
                plen--;
            }
            if (plen == 1) return 1; /* a trailing '*' eats the rest */
            for (; slen; s++, slen--) {
                if (glob_impl(g, p + 1, plen - 1, s, slen, nesting + 1)) return 1;
                if (g->skip_longer) return 0;
            }
            g->skip_longer = 1;
            return 0;
        case '?': break;
        case '[':
            p++;
            plen--;
            if (!match_bracket(g, &p, &plen, s[0])) return 0;
            break;
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (fold(g, p[0]) != fold(g, s[0])) return 0;
            break;
        }
        s++;
        slen--;
        p++;
        plen--;
        if (slen == 0) {
            /* Trailing stars match the empty rest of the string. */
            while (plen && p[0] == '*') {
                p++;
                plen--;
            }
        }
    }
    return plen == 0 && slen == 0;
}

int glob_match(const char *pattern, size_t plen, const char *str, size_t slen, int nocase)
{
    glob_state g = {.nocase = nocase, .skip_longer = 0};
    return glob_impl(&g, (const unsigned char *)pattern, plen, (const unsigned char *)str, slen, 0);
}

void bytes_to_human(char *buf, size_t size, unsigned long long n)
{
    static const char units[] = "KMGTP";
    if (n < 1024) {
        snprintf(buf, size, "%lluB", n);
        return;
    }
    double d = (double)n;
    for (int i = 0; units[i]; i++) {
        d /= 1024;
        if (d < 1024 || !units[i + 1]) {
            c_snprintf(buf, size, "%.2f%c", d, units[i]);
            return;
        }
    }
}

size_t ascii_case_copy(char *dst, size_t size, const char *src, size_t len, int upper)
{
    size_t n = len < size - 1 ? len : size - 1;
    char from = upper ? 'a' : 'A';
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        dst[i] = ch >= from && ch <= from + 25 ? (char)(ch ^ 0x20) : ch;
    }
    dst[n] = '\0';
    return n;
}
