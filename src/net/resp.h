/* resp.h -- the request parser: RESP multibulk and inline commands.
 *
 * The parser works on a caller-owned buffer and records arguments as
 * offsets into it, so the buffer may grow (and move) between calls while a
 * command is only partly received, and complete arguments are never
 * copied.  Inline arguments are unquoted in place (the result is never
 * longer than the source). */
#ifndef CAIRN_RESP_H
#define CAIRN_RESP_H

#include <stddef.h>

#include "../ds/dstr.h"

enum {
    RESP_AGAIN = 0,   /* need more bytes */
    RESP_COMMAND = 1, /* a command is complete: argc/off/len are set */
    RESP_ERROR = -1,  /* protocol error: err is set, close the client */
};

/* Like Redis: an inline request or a multibulk/bulk header longer than this
 * without a newline is an error. */
#define RESP_INLINE_MAX 65536
/* Like Redis 7.0, a client that must authenticate and has not may send
 * commands of at most this many arguments, each at most this long: a
 * stranger cannot make the server buffer much. */
#define RESP_UNAUTH_MAX_ARGC 10
#define RESP_UNAUTH_MAX_BULK 16384

typedef struct resp_parser {
    size_t pos;      /* next byte to parse */
    size_t consumed; /* end of the last complete command: bytes before
                      * it may be discarded, bytes after it may not */
    long multibulk;  /* arguments still expected; 0: between commands */
    long long bulk;  /* length of the bulk being read; -1: header next */
    int argc, cap;
    size_t *off, *len;  /* argument i is buf[off[i]] .. +len[i] */
    long long max_bulk; /* proto-max-bulk-len */
    /* Must the client still authenticate (NULL: never)?  Asked only when
     * a header passes an unauthenticated limit. */
    int (*unauthed)(void *priv);
    void *unauthed_priv;
    /* What the one-pass parser takes on its own (else the general parser
     * judges): max_bulk and INT_MAX, or the unauthenticated limits while
     * the client has not authenticated (resp_parser_set_limits). */
    long long fast_max_bulk;
    unsigned long long fast_max_argc;
    const char *err; /* set with RESP_ERROR */
    char err_buf[64];
} resp_parser;

void resp_parser_init(resp_parser *p, long long max_bulk);
void resp_parser_free(resp_parser *p);
/* Set proto-max-bulk-len and whether the client has yet to authenticate
 * (the one-pass parser then leaves larger commands to the checks). */
void resp_parser_set_limits(resp_parser *p, long long max_bulk, int unauthed);

/* Parse from buf[p->pos] up to buf[len].  On RESP_COMMAND the command's
 * arguments are in p and p->pos is past it; call again for the next one.
 * Empty commands (a blank line, "*0") are skipped. */
int resp_parse(resp_parser *p, char *buf, size_t len);

/* Forget the first n bytes of the buffer (n <= p->consumed: the caller
 * moved the rest to the front); offsets of a partial command are
 * adjusted. */
void resp_parser_shift(resp_parser *p, size_t n);

/* Bytes the parser knows it still needs to finish the current bulk
 * argument (0 if unknown): lets the caller size its next read. */
size_t resp_parser_bulk_need(const resp_parser *p, size_t len);

#endif
