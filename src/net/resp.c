/* resp.c -- the request parser; see resp.h. */
#include "resp.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/splitargs.h"
#include "../ds/util.h"

void resp_parser_init(resp_parser *p, long long max_bulk)
{
    memset(p, 0, sizeof(*p));
    p->bulk = -1;
    resp_parser_set_limits(p, max_bulk, 0);
}

void resp_parser_set_limits(resp_parser *p, long long max_bulk, int unauthed)
{
    p->max_bulk = max_bulk;
    p->fast_max_bulk =
        unauthed && max_bulk > RESP_UNAUTH_MAX_BULK ? RESP_UNAUTH_MAX_BULK : max_bulk;
    p->fast_max_argc = unauthed ? RESP_UNAUTH_MAX_ARGC : INT_MAX;
}

/* Is a header over an unauthenticated limit an error: has the client
 * still to authenticate? */
static int unauthed(const resp_parser *p) { return p->unauthed && p->unauthed(p->unauthed_priv); }

void resp_parser_free(resp_parser *p)
{
    cm_free(p->off);
    cm_free(p->len);
    p->off = p->len = NULL;
    p->cap = 0;
}

/* Room for n arguments. */
static void reserve_args(resp_parser *p, int n)
{
    if (n <= p->cap) return;
    int cap = p->cap ? p->cap : 8;
    while (cap < n)
        cap *= 2;
    p->cap = cap;
    p->off = cm_realloc(p->off, sizeof(size_t) * (size_t)p->cap);
    p->len = cm_realloc(p->len, sizeof(size_t) * (size_t)p->cap);
}

static void push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->cap) reserve_args(p, p->argc + 1);
    p->off[p->argc] = off;
    p->len[p->argc] = len;
    p->argc++;
}

static int fail(resp_parser *p, const char *err)
{
    p->err = err;
    return RESP_ERROR;
}

/* Split one inline line into arguments with redis-cli's quoting rules,
 * each unquoted over its own source bytes.  Returns 0 on unbalanced
 * quotes. */
static int split_inline(resp_parser *p, char *s, size_t start, size_t end)
{
    size_t pos = start, off = 0, len = 0;
    int r;
    while ((r = split_next_arg(s, &pos, end, &off, &len)) > 0)
        push_arg(p, off, len);
    return r == 0;
}

static int parse_inline(resp_parser *p, char *buf, size_t len)
{
    char *nl = memchr(buf + p->pos, '\n', len - p->pos);
    if (!nl) {
        if (len - p->pos > RESP_INLINE_MAX)
            return fail(p, "Protocol error: too big inline request");
        return RESP_AGAIN;
    }
    size_t end = (size_t)(nl - buf);
    size_t start = p->pos;
    p->pos = end + 1;
    p->argc = 0;
    if (!split_inline(p, buf, start, end))
        return fail(p, "Protocol error: unbalanced quotes in request");
    return RESP_COMMAND;
}

/* Read "<prefix><integer>\r\n" at p->pos.  Returns 1 and the value, 0 if
 * the line is incomplete, -1 if it is too long. */
static int read_header(resp_parser *p, const char *buf, size_t len, long long *v, int *ok)
{
    /* Like Redis, look for the '\r' from the type byte on, and take any
     * byte after it as the '\n'. */
    const char *start = buf + p->pos + 1;
    const char *cr = memchr(buf + p->pos, '\r', len - p->pos);
    if (!cr || cr + 1 >= buf + len) {
        if (len - p->pos > RESP_INLINE_MAX) return -1;
        return 0;
    }
    *ok = cr >= start && str_to_ll(start, (size_t)(cr - start), v);
    p->pos = (size_t)(cr - buf) + 2;
    return 1;
}

/* The common header, "<type><digits>\r\n" with 1 to 18 digits and no
 * leading zero, complete in the buffer, read in one pass: no memchr, no
 * str_to_ll.  Returns the offset just past it with the value in *v, or 0
 * when read_header() must judge the line (incomplete, malformed, signed,
 * or long) -- it accepts exactly the lines read_header() reads as a
 * non-negative number, with the same result. */
static inline size_t fast_header(const char *buf, size_t len, size_t pos, long long *v)
{
    /* One digit, as in most "*<argc>" and many "$<len>": one test. */
    if (pos + 3 < len && buf[pos + 2] == '\r') {
        unsigned d = (unsigned)((unsigned char)buf[pos + 1] - '0');
        if (d > 9) return 0;
        *v = d;
        return pos + 4;
    }
    /* The '\r' must have a byte after it, and be at most 19 bytes after
     * the type byte: 18 digits cannot overflow. */
    size_t stop = len - 1 < pos + 20 ? len - 1 : pos + 20;
    size_t i = pos + 1;
    if (i >= stop) return 0;
    unsigned d = (unsigned)((unsigned char)buf[i] - '0');
    if (d > 9) return 0;
    unsigned long long n = d;
    i++;
    if (n != 0) /* "0" is the only number starting with 0 */
        while (i < stop && (d = (unsigned)((unsigned char)buf[i] - '0')) <= 9) {
            n = n * 10 + d;
            i++;
        }
    /* Like read_header(), any byte after the '\r' is taken as the '\n'. */
    if (i >= stop || buf[i] != '\r') return 0;
    *v = (long long)n;
    return i + 2;
}

/* A whole command at p->pos, "*<n>\r\n" then n "$<len>\r\n<bytes>\r\n",
 * complete in the buffer with headers fast_header() reads: the common
 * case, parsed in one pass with its state in locals.  Returns
 * RESP_COMMAND, or RESP_AGAIN (having changed nothing but the capacity of
 * the argument arrays) to let parse_multibulk(), which can stop and
 * resume anywhere and knows every error, parse the command from its start
 * instead. */
static int parse_command_fast(resp_parser *p, const char *buf, size_t len)
{
    long long n, blen;
    size_t pos = fast_header(buf, len, p->pos, &n);
    /* An argument takes 6 bytes at least ("$0\r\n\r\n"): a count that
     * cannot be complete in the buffer is left to parse_multibulk(), which
     * also bounds what is reserved here by the bytes received.  One
     * unsigned comparison leaves it both n <= 0 and a count over the
     * client's limit. */
    if (!pos || (unsigned long long)(n - 1) >= p->fast_max_argc ||
        (unsigned long long)n > (len - pos) / 6)
        return RESP_AGAIN;
    reserve_args(p, (int)n);
    size_t *off = p->off, *lens = p->len;
    for (int i = 0; i < (int)n; i++) {
        if (pos >= len || buf[pos] != '$') return RESP_AGAIN;
        size_t data = fast_header(buf, len, pos, &blen);
        if (!data || blen > p->fast_max_bulk || len - data < (size_t)blen + 2) return RESP_AGAIN;
        off[i] = data;
        lens[i] = (size_t)blen;
        pos = data + (size_t)blen + 2;
    }
    p->argc = (int)n;
    p->pos = pos;
    return RESP_COMMAND;
}

static int parse_multibulk(resp_parser *p, char *buf, size_t len)
{
    long long v;
    int ok;
    if (p->multibulk == 0) {
        int r = read_header(p, buf, len, &v, &ok);
        if (r < 0) return fail(p, "Protocol error: too big mbulk count string");
        if (r == 0) return RESP_AGAIN;
        if (!ok || v > INT_MAX) return fail(p, "Protocol error: invalid multibulk length");
        if (v > RESP_UNAUTH_MAX_ARGC && unauthed(p))
            return fail(p, "Protocol error: unauthenticated multibulk length");
        if (v <= 0) return RESP_AGAIN; /* an empty command: skip it */
        p->multibulk = (long)v;
        p->argc = 0;
    }
    while (p->multibulk > 0) {
        if (p->bulk == -1) {
            /* Like Redis, judge the line only once it is complete. */
            if (p->pos >= len) return RESP_AGAIN;
            char type = buf[p->pos];
            int r = read_header(p, buf, len, &v, &ok);
            if (r < 0) return fail(p, "Protocol error: too big bulk count string");
            if (r == 0) return RESP_AGAIN;
            if (type != '$') {
                snprintf(p->err_buf, sizeof(p->err_buf), "Protocol error: expected '$', got '%c'",
                         type);
                return fail(p, p->err_buf);
            }
            if (!ok || v < 0 || v > p->max_bulk)
                return fail(p, "Protocol error: invalid bulk length");
            if (v > RESP_UNAUTH_MAX_BULK && unauthed(p))
                return fail(p, "Protocol error: unauthenticated bulk length");
            p->bulk = v;
        }
        if (len - p->pos < (size_t)p->bulk + 2) return RESP_AGAIN;
        push_arg(p, p->pos, (size_t)p->bulk);
        p->pos += (size_t)p->bulk + 2;
        p->bulk = -1;
        p->multibulk--;
    }
    return RESP_COMMAND;
}

int resp_parse(resp_parser *p, char *buf, size_t len)
{
    for (;;) {
        if (p->multibulk == 0) p->consumed = p->pos;
        if (p->pos >= len) return RESP_AGAIN;
        int r;
        if (p->multibulk > 0 || buf[p->pos] == '*') {
            if (p->multibulk == 0 && parse_command_fast(p, buf, len) == RESP_COMMAND) {
                p->consumed = p->pos;
                return RESP_COMMAND;
            }
            size_t before = p->pos;
            r = parse_multibulk(p, buf, len);
            /* "*0\r\n" and "*-1\r\n" are skipped: go on to the next one. */
            if (r == RESP_AGAIN && p->multibulk == 0 && p->pos != before) continue;
        } else {
            r = parse_inline(p, buf, len);
            if (r == RESP_COMMAND && p->argc == 0) continue;
        }
        if (r == RESP_COMMAND) p->consumed = p->pos;
        return r;
    }
}

void resp_parser_shift(resp_parser *p, size_t n)
{
    p->pos -= n;
    p->consumed -= n;
    for (int i = 0; i < p->argc; i++)
        p->off[i] -= n;
}

size_t resp_parser_bulk_need(const resp_parser *p, size_t len)
{
    if (p->multibulk == 0 || p->bulk < 0) return 0;
    size_t need = p->pos + (size_t)p->bulk + 2;
    return need > len ? need - len : 0;
}
