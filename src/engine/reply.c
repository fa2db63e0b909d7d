/* reply.c -- RESP2/RESP3 encoding into a chain of blocks; see reply.h. */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmdstats.h"

/* Most replies fit in one block; a bulk reply larger than this gets a block
 * of its own size so it is copied once.  With its header a block is an
 * allocator size class exactly (16 KiB), not the next one up. */
#define RBUF_BLOCK_SIZE (16 * 1024 - sizeof(rbuf_block))

static rbuf_block *block_new(rbuf *b, size_t cap)
{
    rbuf_block *blk = cm_malloc(sizeof(*blk) + cap);
    blk->next = NULL;
    blk->used = 0;
    blk->cap = cap;
    b->alloc += sizeof(*blk) + cap;
    return blk;
}

static void block_free(rbuf *b, rbuf_block *blk)
{
    b->alloc -= sizeof(*blk) + blk->cap;
    cm_free(blk);
}

void rbuf_init(rbuf *b, int resp)
{
    b->head = b->tail = b->spare = NULL;
    b->head_off = 0;
    b->bytes = 0;
    b->alloc = 0;
    b->resp = resp;
    b->errors = 0;
    b->err_stats = NULL;
}

void rbuf_free(rbuf *b)
{
    rbuf_block *blk = b->head;
    while (blk) {
        rbuf_block *next = blk->next;
        block_free(b, blk);
        blk = next;
    }
    if (b->spare) block_free(b, b->spare);
    b->head = b->tail = b->spare = NULL;
    b->head_off = 0;
    b->bytes = 0;
}

void rbuf_reset(rbuf *b)
{
    rbuf_block *keep = b->head;
    if (keep && keep->cap != RBUF_BLOCK_SIZE) keep = NULL;
    rbuf_block *blk = b->head;
    while (blk) {
        rbuf_block *next = blk->next;
        if (blk != keep) block_free(b, blk);
        blk = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    b->head = b->tail = keep;
    b->head_off = 0;
    b->bytes = 0;
}

void rbuf_consume(rbuf *b, size_t n)
{
    /* Advance an offset instead of moving bytes: a huge reply written out
     * in many partial writes must not be copied again each time. */
    b->bytes -= n;
    while (n && b->head) {
        rbuf_block *blk = b->head;
        size_t left = blk->used - b->head_off;
        if (n < left) {
            b->head_off += n;
            return;
        }
        n -= left;
        b->head_off = 0;
        if (blk->next == NULL) {
            blk->used = 0; /* keep the last block for the next reply */
            return;
        }
        b->head = blk->next;
        if (!b->spare && blk->cap == RBUF_BLOCK_SIZE) {
            b->spare = blk;
            continue;
        }
        block_free(b, blk);
    }
}

#define RBUF_MIN_BLOCK 1024 /* Redis's PROTO_REPLY_MIN_BYTES */

int rbuf_resize_for(rbuf *b, size_t peak)
{
    if (b->bytes || !b->head || b->head != b->tail) return 0;
    size_t cap = b->head->cap, to;
    int how;
    if (cap / 2 >= RBUF_MIN_BLOCK && peak < cap / 2) {
        to = peak + 1 > RBUF_MIN_BLOCK ? peak + 1 : RBUF_MIN_BLOCK;
        how = -1;
    } else if (cap < RBUF_BLOCK_SIZE && peak >= cap) {
        to = 2 * cap < RBUF_BLOCK_SIZE ? 2 * cap : RBUF_BLOCK_SIZE;
        how = 1;
    } else {
        return 0;
    }
    block_free(b, b->head);
    b->head = b->tail = block_new(b, to);
    b->head_off = 0;
    if (how < 0 && b->spare) {
        block_free(b, b->spare);
        b->spare = NULL;
    }
    return how;
}

size_t rbuf_first_size(const rbuf *b) { return b->head ? sizeof(*b->head) + b->head->cap : 0; }

/* A block of at least len bytes: the spare one if it fits. */
static rbuf_block *block_for(rbuf *b, size_t len)
{
    rbuf_block *blk = b->spare;
    if (blk && len <= blk->cap) {
        b->spare = NULL;
        blk->next = NULL;
        blk->used = 0;
        return blk;
    }
    return block_new(b, len > RBUF_BLOCK_SIZE ? len : RBUF_BLOCK_SIZE);
}

void rbuf_truncate(rbuf *b, rbuf_mark m)
{
    if (m.block == NULL) {
        rbuf_reset(b);
        return;
    }
    rbuf_block *blk = m.block->next;
    while (blk) {
        rbuf_block *next = blk->next;
        block_free(b, blk);
        blk = next;
    }
    m.block->next = NULL;
    m.block->used = m.used;
    b->tail = m.block;
    b->bytes = m.bytes;
}

/* Space for len more bytes at the tail, contiguous. */
static char *rbuf_space(rbuf *b, size_t len)
{
    rbuf_block *t = b->tail;
    if (!t || t->cap - t->used < len) {
        rbuf_block *blk = block_for(b, len);
        if (t)
            t->next = blk;
        else
            b->head = blk;
        b->tail = t = blk;
    }
    char *p = t->data + t->used;
    t->used += len;
    b->bytes += len;
    return p;
}

void rbuf_append(rbuf *b, const void *p, size_t len)
{
    /* Fill the current block first, so small writes never waste space and
     * a big one is split at most once. */
    rbuf_block *t = b->tail;
    if (t && t->cap > t->used) {
        size_t n = t->cap - t->used < len ? t->cap - t->used : len;
        memcpy(t->data + t->used, p, n);
        t->used += n;
        b->bytes += n;
        p = (const char *)p + n;
        len -= n;
    }
    if (len) memcpy(rbuf_space(b, len), p, len);
}

void rbuf_first_error(const rbuf *b, char *buf, size_t size)
{
    size_t len;
    char *flat = rbuf_flatten(b, &len);
    const char *at = memchr(flat, '-', len);
    size_t n = 0;
    if (at) {
        const char *end = memchr(at, '\r', len - (size_t)(at - flat));
        n = (size_t)((end ? end : flat + len) - at - 1);
    }
    snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), at ? at + 1 : "");
    cm_free(flat);
}

char *rbuf_flatten(const rbuf *b, size_t *len)
{
    char *out = cm_malloc(b->bytes + 1);
    size_t off = 0;
    for (rbuf_block *blk = b->head; blk; blk = blk->next) {
        size_t skip = blk == b->head ? b->head_off : 0;
        memcpy(out + off, blk->data + skip, blk->used - skip);
        off += blk->used - skip;
    }
    out[off] = '\0';
    *len = off;
    return out;
}

/* The fast path of small replies: where len bytes fit at the end of the
 * tail block, or NULL (the caller then goes through rbuf_append(), which
 * splits and chains blocks).  Writing there and calling wrote() leaves
 * the same bytes in the same blocks as rbuf_append() would, without a
 * call or a copy through a stack buffer. */
static inline char *tail_room(rbuf *b, size_t len)
{
    rbuf_block *t = b->tail;
    return t && t->cap - t->used >= len ? t->data + t->used : NULL;
}

static inline void wrote(rbuf *b, size_t len)
{
    b->tail->used += len;
    b->bytes += len;
}

/* Append a short constant ("+OK\r\n"): inlined, the copy is a store or
 * two. */
static inline void append_const(rbuf *b, const char *s, size_t len)
{
    char *p = tail_room(b, len);
    if (!p) {
        rbuf_append(b, s, len);
        return;
    }
    memcpy(p, s, len);
    wrote(b, len);
}

/* The longest header: a type byte, 20 characters of a long long, the NUL
 * ll_to_str() adds (then overwritten), CRLF. */
#define HEADER_MAX 24

/* Write "<prefix><number>\r\n" at p (HEADER_MAX bytes); returns its length. */
static inline size_t format_header(char *p, char prefix, long long n)
{
    p[0] = prefix;
    /* Most lengths are short: one or two digits without a division loop. */
    if (n >= 0 && n < 100) {
        size_t len = 1;
        if (n >= 10) p[len++] = (char)('0' + n / 10);
        p[len++] = (char)('0' + n % 10);
        p[len++] = '\r';
        p[len++] = '\n';
        return len;
    }
    size_t len = 1 + (size_t)ll_to_str(p + 1, HEADER_MAX - 1, n);
    p[len++] = '\r';
    p[len++] = '\n';
    return len;
}

/* "<prefix><number>\r\n", the header of most RESP types. */
static void add_header(rbuf *b, char prefix, long long n)
{
    char *p = tail_room(b, HEADER_MAX);
    if (p) {
        wrote(b, format_header(p, prefix, n));
        return;
    }
    char buf[HEADER_MAX];
    rbuf_append(b, buf, format_header(buf, prefix, n));
}

void reply_simple(rbuf *b, const char *s)
{
    size_t len = strlen(s);
    char *p = rbuf_space(b, len + 3);
    p[0] = '+';
    memcpy(p + 1, s, len);
    memcpy(p + 1 + len, "\r\n", 2);
}

void reply_ok(rbuf *b) { append_const(b, "+OK\r\n", 5); }

void reply_error(rbuf *b, const char *msg)
{
    size_t len = strlen(msg);
    char *p = rbuf_space(b, len + 3);
    p[0] = '-';
    for (size_t i = 0; i < len; i++)
        p[1 + i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    memcpy(p + 1 + len, "\r\n", 2);
    b->errors++;
    if (b->err_stats) errstats_add(b->err_stats, msg, len);
}

void reply_errorf(rbuf *b, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(b, buf);
}

void reply_int(rbuf *b, long long v) { add_header(b, ':', v); }

void reply_bulk(rbuf *b, const void *p, size_t len)
{
    /* Header, bytes and CRLF written in one piece when they fit. */
    char *dst = len <= RBUF_BLOCK_SIZE ? tail_room(b, HEADER_MAX + len + 2) : NULL;
    if (dst) {
        size_t h = format_header(dst, '$', (long long)len);
        memcpy(dst + h, p, len);
        memcpy(dst + h + len, "\r\n", 2);
        wrote(b, h + len + 2);
        return;
    }
    add_header(b, '$', (long long)len);
    rbuf_append(b, p, len);
    rbuf_append(b, "\r\n", 2);
}

void reply_bulk_cstr(rbuf *b, const char *s)
{
    if (!s)
        reply_null(b);
    else
        reply_bulk(b, s, strlen(s));
}

void reply_bulk_ll(rbuf *b, long long v)
{
    char buf[NUM_STR_MAX];
    int len = ll_to_str(buf, sizeof(buf), v);
    reply_bulk(b, buf, (size_t)len);
}

void reply_null(rbuf *b)
{
    if (b->resp >= 3)
        append_const(b, "_\r\n", 3);
    else
        append_const(b, "$-1\r\n", 5);
}

void reply_null_array(rbuf *b)
{
    if (b->resp >= 3)
        rbuf_append(b, "_\r\n", 3);
    else
        rbuf_append(b, "*-1\r\n", 5);
}

void reply_array_len(rbuf *b, long n) { add_header(b, '*', n); }

void reply_map_len(rbuf *b, long n)
{
    if (b->resp >= 3)
        add_header(b, '%', n);
    else
        add_header(b, '*', 2 * n);
}

void reply_set_len(rbuf *b, long n) { add_header(b, b->resp >= 3 ? '~' : '*', n); }

void reply_push_len(rbuf *b, long n) { add_header(b, b->resp >= 3 ? '>' : '*', n); }

void reply_attribute_len(rbuf *b, long n) { add_header(b, '|', n); }

void reply_empty_array(rbuf *b) { rbuf_append(b, "*0\r\n", 4); }

void reply_double(rbuf *b, double d)
{
    char buf[NUM_STR_MAX];
    int len = double_to_str(buf, sizeof(buf), d);
    if (b->resp >= 3) {
        rbuf_append(b, ",", 1);
        rbuf_append(b, buf, (size_t)len);
        rbuf_append(b, "\r\n", 2);
    } else {
        reply_bulk(b, buf, (size_t)len);
    }
}

void reply_bool(rbuf *b, int v)
{
    if (b->resp >= 3)
        rbuf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        rbuf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void reply_bignum(rbuf *b, const char *digits, size_t len)
{
    if (b->resp < 3) {
        reply_bulk(b, digits, len);
        return;
    }
    rbuf_append(b, "(", 1);
    rbuf_append(b, digits, len);
    rbuf_append(b, "\r\n", 2);
}

void reply_verbatim(rbuf *b, const char *p, size_t len, const char *fmt)
{
    if (b->resp < 3) {
        reply_bulk(b, p, len);
        return;
    }
    add_header(b, '=', (long long)len + 4);
    rbuf_append(b, fmt, 3);
    rbuf_append(b, ":", 1);
    rbuf_append(b, p, len);
    rbuf_append(b, "\r\n", 2);
}

/* The room a deferred length reserves: the longest header ("*", a 64-bit
 * number, CRLF).  Until the length is set it holds the address of its
 * block. */
#define DEFERRED_ROOM 23

/* Reserving room in the current block, rather than giving the header a
 * block of its own, keeps the writes after it in that block too: a
 * pipeline of commands with deferred lengths then allocates no block per
 * command.  Setting the length moves what followed it in that block back
 * by the room it did not need (later blocks are untouched). */
rbuf_deferred reply_deferred_len(rbuf *b)
{
    char *room = rbuf_space(b, DEFERRED_ROOM);
    memcpy(room, &b->tail, sizeof(b->tail));
    return (rbuf_deferred)room;
}

static void set_deferred(rbuf *b, rbuf_deferred d, char prefix, long n)
{
    char *room = (char *)d;
    rbuf_block *blk;
    memcpy(&blk, room, sizeof(blk));
    char buf[DEFERRED_ROOM];
    buf[0] = prefix;
    size_t len = 1 + (size_t)ll_to_str(buf + 1, sizeof(buf) - 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    size_t after = blk->used - (size_t)(room - blk->data) - DEFERRED_ROOM;
    memcpy(room, buf, len);
    memmove(room + len, room + DEFERRED_ROOM, after);
    blk->used -= DEFERRED_ROOM - len;
    b->bytes -= DEFERRED_ROOM - len;
}

void reply_set_deferred_array(rbuf *b, rbuf_deferred d, long n) { set_deferred(b, d, '*', n); }

void reply_set_deferred_map(rbuf *b, rbuf_deferred d, long n)
{
    if (b->resp >= 3)
        set_deferred(b, d, '%', n);
    else
        set_deferred(b, d, '*', 2 * n);
}

void reply_set_deferred_set(rbuf *b, rbuf_deferred d, long n)
{
    set_deferred(b, d, b->resp >= 3 ? '~' : '*', n);
}
