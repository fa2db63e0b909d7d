/* reply_tree.c -- turn the RESP bytes the engine produced into a
 * cairn_reply tree, and free such trees.
 *
 * The engine's reply builder only ever writes protocol (DESIGN rule 5), so
 * the embedding API runs commands exactly as the server does and decodes
 * the result here.  The input comes from our own engine, not the network,
 * but the decoder still checks every length against the buffer so that a
 * bug upstream becomes CAIRN_INTERNAL instead of a crash.
 *
 * Each node is one allocation: the cairn_reply followed by its string
 * bytes.  Aggregates have a separate array of element pointers. */
#include "reply_tree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"

/* Deeper nesting than this is not produced by any command; treat it as
 * corruption rather than recursing without bound. */
#define RTREE_MAX_DEPTH 256

typedef struct rtree_reader {
    const char *buf;
    size_t len;
    size_t pos;
    locale_t loc;
} rtree_reader;

cairn_reply *rtree_node(int type, const char *str, size_t len, size_t n)
{
    cairn_reply *r = cm_calloc(1, sizeof(*r) + (str ? len + 1 : 0));
    r->type = type;
    if (str) {
        r->str = (char *)(r + 1);
        memcpy(r->str, str, len);
        r->str[len] = '\0';
        r->len = len;
    }
    if (n) {
        r->element = cm_calloc(n, sizeof(cairn_reply *));
        r->elements = n;
    }
    return r;
}

void cairn_reply_free(cairn_reply *r)
{
    if (!r) return;
    if (r->element) {
        for (size_t i = 0; i < r->elements; i++)
            cairn_reply_free(r->element[i]);
        cm_free(r->element);
    }
    cm_free(r);
}

/* The line at the read position, without its CRLF; advances past it.
 * Returns 0 if there is no complete line. */
static int read_line(rtree_reader *rd, const char **line, size_t *len)
{
    const char *start = rd->buf + rd->pos;
    size_t left = rd->len - rd->pos;
    const char *cr = memchr(start, '\r', left);
    if (!cr || (size_t)(cr - start) + 1 >= left || cr[1] != '\n') return 0;
    *line = start;
    *len = (size_t)(cr - start);
    rd->pos += *len + 2;
    return 1;
}

static int read_number(rtree_reader *rd, long long *v)
{
    const char *line;
    size_t len;
    return read_line(rd, &line, &len) && str_to_ll(line, len, v);
}

/* Bulk payload of n bytes followed by CRLF. */
static int read_payload(rtree_reader *rd, long long n, const char **p)
{
    size_t left = rd->len - rd->pos;
    if (n < 0 || (unsigned long long)n > left || left - (size_t)n < 2) return 0;
    *p = rd->buf + rd->pos;
    if ((*p)[n] != '\r' || (*p)[n + 1] != '\n') return 0;
    rd->pos += (size_t)n + 2;
    return 1;
}

static int decode(rtree_reader *rd, int depth, cairn_reply **out);

/* An aggregate of n children (n already doubled for maps). */
static int decode_aggregate(rtree_reader *rd, int type, long long n, int depth, cairn_reply **out)
{
    /* Every element takes at least 3 bytes ("_\r\n"): a count larger than
     * what is left cannot be honest, so never allocate for it. */
    if (n < 0 || (unsigned long long)n > (rd->len - rd->pos) / 3) return 0;
    cairn_reply *r = rtree_node(type, NULL, 0, (size_t)n);
    for (size_t i = 0; i < (size_t)n; i++) {
        if (!decode(rd, depth + 1, &r->element[i])) {
            cairn_reply_free(r);
            return 0;
        }
    }
    *out = r;
    return 1;
}

static int decode(rtree_reader *rd, int depth, cairn_reply **out)
{
    if (depth > RTREE_MAX_DEPTH || rd->pos >= rd->len) return 0;
    char prefix = rd->buf[rd->pos++];
    const char *line, *p;
    size_t len;
    long long n;

    switch (prefix) {
    case '+':
    case '-':
        if (!read_line(rd, &line, &len)) return 0;
        *out = rtree_node(prefix == '+' ? CAIRN_REPLY_STATUS : CAIRN_REPLY_ERROR, line, len, 0);
        return 1;
    case ':':
        if (!read_number(rd, &n)) return 0;
        *out = rtree_node(CAIRN_REPLY_INTEGER, NULL, 0, 0);
        (*out)->integer = n;
        return 1;
    case '$':
    case '!':
        if (!read_number(rd, &n)) return 0;
        if (n == -1 && prefix == '$') {
            *out = rtree_node(CAIRN_REPLY_NIL, NULL, 0, 0);
            return 1;
        }
        if (!read_payload(rd, n, &p)) return 0;
        *out = rtree_node(prefix == '$' ? CAIRN_REPLY_STRING : CAIRN_REPLY_ERROR, p, (size_t)n, 0);
        return 1;
    case '=':
        /* "=<len>\r\ntxt:<payload>\r\n": the format is split off. */
        if (!read_number(rd, &n) || n < 4 || !read_payload(rd, n, &p) || p[3] != ':') return 0;
        *out = rtree_node(CAIRN_REPLY_VERB, p + 4, (size_t)n - 4, 0);
        memcpy((*out)->vtype, p, 3);
        (*out)->vtype[3] = '\0';
        return 1;
    case '_':
        if (!read_line(rd, &line, &len) || len != 0) return 0;
        *out = rtree_node(CAIRN_REPLY_NIL, NULL, 0, 0);
        return 1;
    case ',': {
        if (!read_line(rd, &line, &len) || len == 0 || len > 512) return 0;
        char num[513];
        memcpy(num, line, len);
        num[len] = '\0';
        char *end;
        double d = strtod_l(num, &end, rd->loc);
        if (end != num + len) return 0;
        *out = rtree_node(CAIRN_REPLY_DOUBLE, line, len, 0);
        (*out)->dval = d;
        return 1;
    }
    case '#':
        if (!read_line(rd, &line, &len) || len != 1 || (line[0] != 't' && line[0] != 'f')) return 0;
        *out = rtree_node(CAIRN_REPLY_BOOL, NULL, 0, 0);
        (*out)->integer = line[0] == 't';
        return 1;
    case '(':
        if (!read_line(rd, &line, &len) || len == 0) return 0;
        *out = rtree_node(CAIRN_REPLY_BIGNUM, line, len, 0);
        return 1;
    case '*':
        if (!read_number(rd, &n)) return 0;
        if (n == -1) {
            *out = rtree_node(CAIRN_REPLY_NIL, NULL, 0, 0);
            return 1;
        }
        return decode_aggregate(rd, CAIRN_REPLY_ARRAY, n, depth, out);
    case '~':
    case '>':
        if (!read_number(rd, &n)) return 0;
        return decode_aggregate(rd, prefix == '~' ? CAIRN_REPLY_SET : CAIRN_REPLY_PUSH, n, depth,
                                out);
    case '%':
        if (!read_number(rd, &n) || n < 0 || n > LLONG_MAX / 2) return 0;
        return decode_aggregate(rd, CAIRN_REPLY_MAP, 2 * n, depth, out);
    case '|': {
        /* Attributes annotate the reply that follows; the API does not
         * expose them (yet), so decode and drop them. */
        cairn_reply *attr;
        if (!read_number(rd, &n) || n < 0 || n > LLONG_MAX / 2 ||
            !decode_aggregate(rd, CAIRN_REPLY_ATTR, 2 * n, depth, &attr))
            return 0;
        cairn_reply_free(attr);
        return decode(rd, depth + 1, out);
    }
    default: return 0;
    }
}

int rtree_decode(const char *buf, size_t len, size_t *pos, locale_t loc, cairn_reply **out)
{
    rtree_reader rd = {buf, len, *pos, loc};
    *out = NULL;
    if (!decode(&rd, 0, out)) return CAIRN_INTERNAL;
    *pos = rd.pos;
    return CAIRN_OK;
}
