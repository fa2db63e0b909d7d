/* scan.h -- what SCAN, HSCAN, SSCAN and ZSCAN share: the cursor, the
 * MATCH/COUNT/TYPE options and the reply's first element. */
#ifndef CAIRN_SCAN_H
#define CAIRN_SCAN_H

#include <stdint.h>

#include "../ds/htab.h"
#include "cmd.h"

typedef struct scan_opts {
    long long count;
    const cslice *pattern; /* NULL: match everything */
    const cslice *type;    /* NULL: any type (SCAN only) */
} scan_opts;

/* Parse a cursor as Redis does.  Returns 0, or -1 after replying. */
int scan_parse_cursor(cmd_call *c, const cslice *arg, uint64_t *cursor);
/* Parse MATCH, COUNT and (when allow_type, as for SCAN) TYPE from argument
 * `first` on.  Returns 0, or -1 after replying. */
int scan_parse_opts(cmd_call *c, int first, scan_opts *o, int allow_type);
/* True if the element passes the MATCH pattern. */
int scan_matches(const scan_opts *o, const char *p, size_t len);
/* The elements one scan step visited.  They point into the table, which must not change
 * before they are used (deleting the entry just used is fine: the others
 * stay where they are). */
typedef struct scan_batch {
    void **e;
    size_t n, cap;
} scan_batch;

/* Visit buckets of h from cursor until count elements were collected (an
 * element counts `weight`: 2 for field/value pairs, as Redis counts them)
 * or 10*count buckets were visited, so a sparse table cannot make one call
 * slow.  Returns the next cursor (0 when the scan is complete). */
uint64_t scan_htab(htab *h, uint64_t cursor, long long count, int weight, scan_batch *b);
void scan_batch_free(scan_batch *b);

/* Start the reply: a two-element array whose first element is the next
 * cursor; the caller adds the array of elements. */
void scan_reply_cursor(cmd_call *c, uint64_t cursor);

#endif
