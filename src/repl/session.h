/* session.h -- client sessions for exactly-once proposals.
 *
 * Part of the replicated state machine: every node applies the same
 * entries to its table, so every node agrees which (client id, sequence
 * number) pairs took effect and what they answered.  A client first
 * registers its session with an entry of its own (session_open), and
 * only once that entry applied does it send writes under it.  It numbers
 * its writes 1, 2, 3, ... and keeps one outstanding; a retry (after a
 * timeout or a leader change) reuses the number, and applying it again
 * answers the cached result instead of executing twice.
 *
 * Sessions are explicit so that forgetting one is safe: a write under a
 * session the table does not hold (expired, evicted, never registered)
 * is refused (SESSION_UNKNOWN), never executed, because it may be the
 * retry of a write that took effect before the session was forgotten.
 * The client learns that the outcome of that write is unknown and
 * registers a new session.
 *
 * Time is log time: the timestamp the leader put in each entry, made
 * monotonic by the table, never a local clock, so sessions expire at the
 * same entry on every node.  A session idle for longer than the TTL, or
 * the least recently used one when the table is full, is forgotten; a
 * client must not retry a write for longer than the TTL. */
#ifndef CAIRN_SESSION_H
#define CAIRN_SESSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct session_table session_table;

enum {
    SESSION_NEW = 0,     /* execute it, then session_record() */
    SESSION_DUP = 1,     /* already applied: answer *result */
    SESSION_STALE = 2,   /* older than the client's last write: ignore */
    SESSION_UNKNOWN = 3, /* no such session (expired, evicted): refuse it */
};

session_table *session_table_new(size_t max_sessions, uint64_t ttl_ms);
void session_table_free(session_table *t);

/* Advance log time to now (ignored if earlier) and expire idle sessions. */
void session_clock(session_table *t, uint64_t now_ms);
/* Register session `client` (an entry of its own, applied in log order
 * like the writes).  Registering a session the table holds changes
 * nothing, so the registration may be retried; the least recently used
 * session goes if the table is full.  Returns -1 on allocation failure. */
int session_open(session_table *t, uint64_t client);
/* Classify (client, seq).  For SESSION_DUP, *result and *len point at the
 * cached answer (valid until the table changes). */
int session_check(session_table *t, uint64_t client, uint64_t seq, const void **result,
                  size_t *len);
/* The same as if the table's log time were now_ms (the leader deciding
 * before its entry is logged), without expiring anything. */
int session_check_at(session_table *t, uint64_t client, uint64_t seq, uint64_t now_ms,
                     const void **result, size_t *len);
/* Remember that (client, seq) took effect and answered result (copied);
 * a session not held is created (snapshots restore through this).
 * Returns -1 on allocation failure. */
int session_record(session_table *t, uint64_t client, uint64_t seq, const void *result, size_t len);
size_t session_count(const session_table *t);
/* The session limits the table was made with. */
size_t session_max(const session_table *t);
uint64_t session_ttl(const session_table *t);

/* The table as bytes, for a snapshot of the replicated state: log time,
 * then every session from the least recently used.  session_encode writes
 * session_encoded_size() bytes; session_decode fills an empty table (with
 * its own limits) and returns -1 if the bytes are not a table or memory
 * runs out. */
size_t session_encoded_size(const session_table *t);
void session_encode(const session_table *t, uint8_t *buf);
int session_decode(session_table *t, const uint8_t *buf, size_t len);

#endif
