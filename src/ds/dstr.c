/* dstr.c -- binary-safe dynamic strings; see dstr.h. */
#include "dstr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "util.h"

/* Lengths are kept in 32 bits: a longer string is a bug of the caller
 * (whatever a client controls is capped well below, see config.h), and
 * truncating it silently would corrupt data, so stop as an allocation
 * failure does. */
static void check_len(size_t len)
{
    if (len <= DSTR_MAX_LEN) return;
    fprintf(stderr, "cairn: a string of %zu bytes is longer than the %u a dstr can hold\n", len,
            DSTR_MAX_LEN);
    fflush(stderr);
    abort();
}

static dstr alloc_with_cap(size_t cap)
{
    check_len(cap);
    dstr_hdr *h = cm_malloc(sizeof(*h) + cap + 1);
    h->len = 0;
    h->cap = (uint32_t)cap;
    char *s = (char *)(h + 1);
    s[0] = '\0';
    return s;
}

dstr dstr_with_cap(size_t cap) { return alloc_with_cap(cap); }

dstr dstr_new(const void *p, size_t len)
{
    dstr s = alloc_with_cap(len);
    if (len) memcpy(s, p, len);
    s[len] = '\0';
    DSTR_HDR(s)->len = (uint32_t)len;
    return s;
}

dstr dstr_from_cstr(const char *c) { return dstr_new(c, strlen(c)); }

dstr dstr_dup(const dstr s) { return dstr_new(s, dstr_len(s)); }

void dstr_free(dstr s)
{
    if (s) cm_free(DSTR_HDR(s));
}

size_t dstr_alloc_size(const dstr s) { return s ? cm_usable_size(DSTR_HDR(s)) : 0; }

dstr dstr_reserve(dstr s, size_t extra)
{
    dstr_hdr *h = DSTR_HDR(s);
    size_t need = (size_t)h->len + extra;
    if (need <= h->cap) return s;
    check_len(need);
    /* Double small strings, grow big ones by 1 MB, as appends tend to
     * continue: amortised O(1) per byte without wasting much on huge
     * values. */
    size_t cap = need < (1u << 20) ? need * 2 : need + (1u << 20);
    if (cap > DSTR_MAX_LEN) cap = need;
    h = cm_realloc(h, sizeof(*h) + cap + 1);
    h->cap = (uint32_t)cap;
    return (char *)(h + 1);
}

dstr dstr_reserve_exact(dstr s, size_t extra)
{
    dstr_hdr *h = DSTR_HDR(s);
    size_t need = (size_t)h->len + extra;
    if (need <= h->cap) return s;
    check_len(need);
    h = cm_realloc(h, sizeof(*h) + need + 1);
    h->cap = (uint32_t)need;
    return (char *)(h + 1);
}

dstr dstr_cat(dstr s, const void *p, size_t len)
{
    s = dstr_reserve(s, len);
    size_t cur = dstr_len(s);
    memcpy(s + cur, p, len);
    dstr_set_len(s, cur + len);
    return s;
}

dstr dstr_cat_cstr(dstr s, const char *c) { return dstr_cat(s, c, strlen(c)); }

dstr dstr_catfmt(dstr s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = c_vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return s;
    s = dstr_reserve(s, (size_t)n);
    size_t cur = dstr_len(s);
    va_start(ap, fmt);
    c_vsnprintf(s + cur, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dstr_set_len(s, cur + (size_t)n);
    return s;
}

dstr dstr_grow_zero(dstr s, size_t len)
{
    size_t cur = dstr_len(s);
    if (len <= cur) return s;
    s = dstr_reserve(s, len - cur);
    memset(s + cur, 0, len - cur);
    dstr_set_len(s, len);
    return s;
}

void dstr_set_len(dstr s, size_t len)
{
    DSTR_HDR(s)->len = (uint32_t)len;
    s[len] = '\0';
}

dstr dstr_shrink(dstr s)
{
    dstr_hdr *h = DSTR_HDR(s);
    if (h->cap == h->len) return s;
    h = cm_realloc(h, sizeof(*h) + h->len + 1);
    h->cap = h->len;
    return (char *)(h + 1);
}

dstr dstr_cat_repr(dstr s, const char *p, size_t len)
{
    s = dstr_cat(s, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = c == '\\'   ? "\\\\"
                          : c == '"'  ? "\\\""
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c == '\a' ? "\\a"
                          : c == '\b' ? "\\b"
                                      : NULL;
        if (esc)
            s = dstr_cat_cstr(s, esc);
        else if (c >= ' ' && c <= '~')
            s = dstr_cat(s, &p[i], 1);
        else
            s = dstr_catfmt(s, "\\x%02x", c);
    }
    return dstr_cat(s, "\"", 1);
}
