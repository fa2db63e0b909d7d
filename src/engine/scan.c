/* scan.c -- the parts of the SCAN family that all its commands share. */
#include "scan.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"

/* Parse a SCAN cursor the way Redis does (strtoul over the whole argument,
 * so "-1" wraps around and "" is 0).  Returns 0, or -1 after replying. */
int scan_parse_cursor(cmd_call *c, const cslice *arg, uint64_t *cursor)
{
    char *buf = cm_malloc(arg->len + 1);
    char *end;
    memcpy(buf, arg->ptr, arg->len);
    buf[arg->len] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    int bad =
        (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) || *end != '\0' || errno == ERANGE;
    cm_free(buf);
    if (bad) {
        reply_error(c->out, "ERR invalid cursor");
        return -1;
    }
    *cursor = v;
    return 0;
}

int scan_parse_opts(cmd_call *c, int first, scan_opts *o, int allow_type)
{
    o->count = 10;
    o->pattern = NULL;
    o->type = NULL;
    for (int i = first; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) return reply_syntax_error(c);
        if (arg_is(c, i, "count")) {
            if (!arg_ll(c, i + 1, &o->count)) return -1;
            if (o->count < 1) return reply_syntax_error(c);
        } else if (arg_is(c, i, "match")) {
            const cslice *p = &c->argv[i + 1];
            /* "*" matches everything: skip the matching altogether. */
            o->pattern = (p->len == 1 && p->ptr[0] == '*') ? NULL : p;
        } else if (allow_type && arg_is(c, i, "type")) {
            o->type = &c->argv[i + 1];
        } else {
            return reply_syntax_error(c);
        }
    }
    return 0;
}

int scan_matches(const scan_opts *o, const char *p, size_t len)
{
    return !o->pattern || glob_match(o->pattern->ptr, o->pattern->len, p, len, 0);
}

void scan_reply_cursor(cmd_call *c, uint64_t cursor)
{
    char buf[NUM_STR_MAX];
    int len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cursor);
    reply_array_len(c->out, 2);
    reply_bulk(c->out, buf, (size_t)len);
}

static void collect(void *priv, void *elem)
{
    scan_batch *b = priv;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->e = cm_realloc(b->e, b->cap * sizeof(*b->e));
    }
    b->e[b->n++] = elem;
}

/* The most buckets one call visits: see scan_htab(). */
static long long max_buckets(long long count)
{
    return count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
}

uint64_t scan_htab(htab *h, uint64_t cursor, long long count, int weight, scan_batch *b)
{
    long long left = max_buckets(count);
    do {
        cursor = htab_scan(h, cursor, collect, b);
    } while (cursor && left-- && (long long)b->n * weight < count);
    return cursor;
}

void scan_batch_free(scan_batch *b)
{
    cm_free(b->e);
    b->e = NULL;
    b->n = b->cap = 0;
}
