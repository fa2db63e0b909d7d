/* reply.h -- the reply builder (DESIGN rule 5).
 *
 * Handlers never print protocol: they call these functions, which encode
 * RESP2 or RESP3 according to the buffer's protocol version.  The bytes go
 * into a chain of blocks so a large reply is never copied as it grows; the
 * network layer sends the chain as it is (send() for one block, sendmsg()
 * with up to WRITE_IOVS blocks at a time for more, as often as the socket
 * takes them), and the embedding API decodes it into a reply tree. */
#ifndef CAIRN_REPLY_H
#define CAIRN_REPLY_H

#include <stddef.h>
#include <stdint.h>

typedef struct rbuf_block {
    struct rbuf_block *next;
    size_t used, cap;
    char data[];
} rbuf_block;

typedef struct rbuf {
    rbuf_block *head, *tail;
    /* A standard block written out, kept for the next one needed: a
     * pipeline whose replies fill more than a block would otherwise
     * allocate and free one per batch, each on fresh pages. */
    rbuf_block *spare;
    size_t head_off; /* bytes of head already consumed (written out) */
    size_t bytes;    /* bytes in the chain not yet consumed */
    /* Bytes allocated for its blocks (the spare too), headers included:
     * kept as blocks come and go, so a client's memory is read in O(1). */
    size_t alloc;
    int resp; /* 2 or 3 */
    /* Errors emitted into this buffer. */
    uint64_t errors;
    /* Where errors are counted by code (INFO errorstats); set by the
     * engine when it writes into the buffer, NULL until then. */
    struct err_stats *err_stats;
} rbuf;

/* A position in the buffer, to cut back to (CLIENT REPLY OFF/SKIP). */
typedef struct rbuf_mark {
    rbuf_block *block;
    size_t used, bytes;
} rbuf_mark;

/* Where an array/map length will go once known (deferred length): room
 * reserved in the reply, filled in (and the rest closed up) when the
 * length is set.  Deferred lengths are set in the reverse order of their
 * creation (nested replies), each before the command returns. */
typedef struct rbuf_deferred_room *rbuf_deferred;

void rbuf_init(rbuf *b, int resp);
/* Free all blocks but keep one empty block for reuse. */
void rbuf_reset(rbuf *b);
void rbuf_free(rbuf *b);
/* Drop the first n bytes (after they were written to a socket). */
void rbuf_consume(rbuf *b, size_t n);
/* Redis 7.0's reply buffer resizing (clientsCronResizeOutputBuffer), for
 * an empty buffer of one block, given the most of that block a reply used
 * (peak): it shrinks to peak + 1 bytes (RBUF_MIN_BLOCK at least, and its
 * spare goes) while peak stays under half of it, and doubles (up to the
 * standard block) once a reply filled it.  Returns -1 if it shrank, 1 if
 * it grew, else 0 (a buffer holding output waits for the next call). */
int rbuf_resize_for(rbuf *b, size_t peak);
/* The bytes allocated for the first block (Redis's rbs), 0 if none. */
size_t rbuf_first_size(const rbuf *b);
/* Inline: the network layer takes a mark before every command. */
static inline rbuf_mark rbuf_get_mark(const rbuf *b)
{
    rbuf_mark m = {b->tail, b->tail ? b->tail->used : 0, b->bytes};
    return m;
}
void rbuf_truncate(rbuf *b, rbuf_mark m);
void rbuf_append(rbuf *b, const void *p, size_t len);
/* Bytes allocated for the blocks of the chain (a client's output memory). */
static inline size_t rbuf_mem(const rbuf *b) { return b->alloc; }
/* The text of the first error reply in the chain (without its '-' and
 * CRLF), cut to fit buf, for a log message; "" if there is none. */
void rbuf_first_error(const rbuf *b, char *buf, size_t size);
/* Copy the whole chain into one contiguous buffer (caller frees). */
char *rbuf_flatten(const rbuf *b, size_t *len);

void reply_ok(rbuf *b);
void reply_simple(rbuf *b, const char *s);
/* msg starts with its error code: "ERR syntax error", "WRONGTYPE ...".
 * Newlines in msg are replaced by spaces so the protocol stays intact. */
void reply_error(rbuf *b, const char *msg);
void reply_errorf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(rbuf *b, long long v);
void reply_bulk(rbuf *b, const void *p, size_t len);
void reply_bulk_cstr(rbuf *b, const char *s);
void reply_bulk_ll(rbuf *b, long long v);
/* A null bulk ($-1 / _). */
void reply_null(rbuf *b);
/* A null array (*-1 / _), e.g. for a timed-out BLPOP or a failed EXEC. */
void reply_null_array(rbuf *b);
void reply_array_len(rbuf *b, long n);
void reply_map_len(rbuf *b, long n);  /* RESP2: an array of 2n */
void reply_set_len(rbuf *b, long n);  /* RESP2: an array */
void reply_push_len(rbuf *b, long n); /* RESP2: an array */
/* RESP3 only (RESP2 has no attributes: the caller leaves them out). */
void reply_attribute_len(rbuf *b, long n);
void reply_empty_array(rbuf *b);
void reply_double(rbuf *b, double d); /* RESP2: a bulk string */
void reply_bool(rbuf *b, int v);      /* RESP2: :1 / :0 */
void reply_bignum(rbuf *b, const char *digits, size_t len);
/* A verbatim string of format "txt" or "mkd"; RESP2: a bulk string. */
void reply_verbatim(rbuf *b, const char *p, size_t len, const char *fmt);

rbuf_deferred reply_deferred_len(rbuf *b);
void reply_set_deferred_array(rbuf *b, rbuf_deferred d, long n);
void reply_set_deferred_map(rbuf *b, rbuf_deferred d, long n);
void reply_set_deferred_set(rbuf *b, rbuf_deferred d, long n);

#endif
