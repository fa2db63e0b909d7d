/* util.h -- number parsing/formatting, glob matching and ASCII case
 * folding, Redis-compatible. */
#ifndef CAIRN_UTIL_H
#define CAIRN_UTIL_H

#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text any of the formatters below produce, with the NUL --
 * except ldouble_to_str(), see LDOUBLE_STR_MAX. */
#define NUM_STR_MAX 128
/* Buffer size ldouble_to_str() may need: "%.17Lf" of the largest long
 * double has about 4950 digits (Redis's MAX_LONG_DOUBLE_CHARS).  It is
 * also the input length limit of str_to_ldouble(). */
#define LDOUBLE_STR_MAX (5 * 1024)

/* Parse a whole buffer as a signed 64-bit integer with the strictness of
 * Redis's string2ll: optional '-', no '+', no leading zeros (except "0"),
 * no spaces, no overflow, not empty.  Returns 1 on success, 0 otherwise. */
int str_to_ll(const char *s, size_t len, long long *out);
/* Like str_to_ll for unsigned 64-bit values (no sign accepted). */
int str_to_ull(const char *s, size_t len, unsigned long long *out);
/* Format v in decimal into buf (at least 21 bytes); returns the length. */
int ll_to_str(char *buf, size_t size, long long v);
/* Format v in decimal at buf (at least 20 bytes), no NUL; returns the
 * length. */
int ull_to_str_raw(char *buf, unsigned long long v);

/* Parse a double as Redis's getDoubleFromObject does: strtod over the whole
 * buffer, no leading/trailing space, NaN rejected; "inf", "-inf", "+inf"
 * accepted.  Returns 1 on success, 0 otherwise. */
int str_to_double(const char *s, size_t len, double *out);
/* Parse a long double as getLongDoubleFromObject does (INCRBYFLOAT): no
 * spaces, whole buffer, not NaN; infinity rejected by the caller. */
int str_to_ldouble(const char *s, size_t len, long double *out);

/* Format a long double the way INCRBYFLOAT replies and stores it
 * (Redis ld2string in LD_STR_HUMAN mode: "%.17Lf" with trailing zeros and
 * a trailing dot removed, "-0" never produced).  Returns the length, or 0
 * if the value is not finite. */
int ldouble_to_str(char *buf, size_t size, long double v);
/* Format a double as Redis 7.0 replies it (addReplyDouble / d2string:
 * "inf", "-inf", integers in range printed without exponent, else "%.17g").
 * Returns the length. */
int double_to_str(char *buf, size_t size, double v);

/* Numbers are parsed and printed without the process locale's help
 * (DESIGN rule 2): an embedding application may set any LC_NUMERIC, and
 * "1.5" must stay "1.5".  c_locale() is the "C" locale, created on first
 * use and never changed (so it can be shared by every engine and thread);
 * the helpers below parse and format in it. */
locale_t c_locale(void);
/* strtod() and strtold() in the C locale. */
double c_strtod(const char *s, char **end);
long double c_strtold(const char *s, char **end);
/* vsnprintf() in the C locale: uselocale() around it, which only swaps
 * this thread's locale pointer. */
int c_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int c_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Glob-style match with Redis's semantics: '*', '?', '[abc]', '[^a]',
 * '[a-z]' (reversed ranges allowed), '\\' escapes.  Returns 1 on match. */
int glob_match(const char *pattern, size_t plen, const char *str, size_t slen, int nocase);

/* Copy len bytes of src into dst folded to ASCII upper case (upper != 0) or
 * lower case, whatever the locale, truncated to size - 1 bytes and
 * NUL-terminated (size > 0); dst may be src.  Returns the bytes copied. */
size_t ascii_case_copy(char *dst, size_t size, const char *src, size_t len, int upper);

/* Format a byte count as Redis's INFO does ("1023B", "1.50K", "2.00M"). */
void bytes_to_human(char *buf, size_t size, unsigned long long n);

#endif
