/* scan.h -- what SCAN, HSCAN, SSCAN and ZSCAN share: the cursor, the
 * MATCH/COUNT/TYPE options and the reply's first element. */
#ifndef CAIRN_SCAN_H
#define CAIRN_SCAN_H

#include <stdint.h>

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
/* Start the reply: a two-element array whose first element is the next
 * cursor; the caller adds the array of elements. */
void scan_reply_cursor(cmd_call *c, uint64_t cursor);

#endif
