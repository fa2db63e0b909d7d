/* csession.h -- exactly-once writes for clients of a Raft group
 * (CLIENT SESSION), on top of the session table of session.h.
 *
 *   CLIENT SESSION-OPEN [id]   registers session id (a random one if
 *                              omitted) with an entry; answers the id once
 *                              the entry is committed.  A write: a
 *                              follower forwards it.
 *   CLIENT SESSION id seq      the next write of this connection is write
 *                              number seq (1, 2, 3, ...) of session id.
 *
 * The leader checks (id, seq) before it runs the write: a new number runs
 * and its reply is recorded, in the table and in the log beside the
 * write's own entries (`RAFT SESSION-RECORD id seq reply`, one Raft entry
 * with them); the number of the session's last write answers that write's
 * recorded reply without running anything; an older number and a session
 * the table does not hold (expired, evicted, never opened) get an error.
 * Registrations are logged as `RAFT SESSION-OPEN id`.  Followers apply
 * both entries to their own table, so a new leader answers retries as the
 * old one would have. */
#ifndef CAIRN_CSESSION_H
#define CAIRN_CSESSION_H

#include "../engine/engine.h"
#include "session.h"
#include "storage.h"

/* The table's bounds, the same on every node (they decide which session
 * goes first): sessions held, idle time before one expires (log time),
 * and the longest reply kept for a retry. */
#define CSESSION_MAX       65536
#define CSESSION_TTL_MS    (3600 * 1000)
#define CSESSION_MAX_REPLY (64 * 1024)

/* A blocking command named by CLIENT SESSION gets this error (it runs
 * once: a follower never sends it twice either). */
#define CSESSION_NO_BLOCKING "ERR CLIENT SESSION can't name a blocking command"

/* *t becomes a new empty table (the old one freed).  Returns -1 if
 * memory runs out. */
int csession_reset(session_table **t);
/* The table in a snapshot: its length (8 bytes) then session_encode(),
 * appended to out.  csession_load replaces *t with the table stored in
 * st's snapshot at byte off, and sets *used to the bytes it took; returns
 * 0, or -1 with a message. */
dstr csession_encode(dstr out, const session_table *t);
int csession_load(session_table **t, raft_storage *st, uint64_t off, uint64_t *used, char *err,
                  size_t errlen);

/* CLIENT SESSION, CLIENT SESSION-OPEN, RAFT SESSION-OPEN and RAFT
 * SESSION-RECORD (the last two only as log entries).  Returns 1 if c was
 * one of them (answered), 0 otherwise. */
int csession_command(session_table *t, cmd_call *c);
/* The engine's seq_begin/seq_done (engine.h) on the leader.  observed is
 * the node's current position: a duplicate's answer waits for it. */
int csession_begin(session_table *t, cmd_call *c);
void csession_done(session_table *t, cmd_call *c, rbuf_mark mark);

#endif
