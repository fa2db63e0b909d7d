/* lincheck.h -- linearizability of one key's history against a register.
 *
 * Wing & Gong's search with Lowe's memoization (as in porcupine): walk the
 * history in real-time order, try to linearize each pending call, and
 * remember every (set of linearized operations, register value) already
 * explored so no configuration is searched twice.
 *
 * A write is a GETSET: it sets value and returns the old one, so a write
 * that answered says what it overwrote.  A write that never answered may
 * or may not have happened: its return is at infinity and its old value
 * unchecked. */
#ifndef CAIRN_LINCHECK_H
#define CAIRN_LINCHECK_H

#include <stddef.h>
#include <stdint.h>

#define LIN_INF UINT64_MAX

enum { LIN_WRITE, LIN_READ };

typedef struct lin_op {
    int kind;
    int known;      /* the write answered (old is meaningful) */
    uint64_t value; /* write: new value; read: value returned */
    uint64_t old;   /* write: value it returned */
    uint64_t call, ret;
} lin_op;

enum { LIN_OK = 1, LIN_VIOLATION = 0, LIN_GAVE_UP = -1, LIN_NOMEM = -2 };

/* Is ops[0..n) linearizable from initial value init?  Stops after
 * max_steps search steps (LIN_GAVE_UP). */
int lin_check(const lin_op *ops, size_t n, uint64_t init, uint64_t max_steps);

#endif
