/* multi.h -- transactions (MULTI, EXEC, DISCARD) and optimistic locking
 * (WATCH, UNWATCH).
 *
 * Inside MULTI a session's commands are checked and queued, then run back
 * to back by EXEC with nothing in between.  A transaction that wrote
 * reaches the log as a MULTI entry, the entries of its writes, and an EXEC
 * entry: replaying them goes through MULTI and EXEC again, and a log cut
 * before the EXEC entry replays none of the transaction (all or nothing).
 *
 * WATCHed keys make EXEC fail (a null reply) if any of them was modified
 * after WATCH: every write touches the keys its command names (through the
 * command table's key positions), and flushes, SWAPDB, MOVE and COPY touch
 * what they change in other dbs. */
#ifndef CAIRN_MULTI_H
#define CAIRN_MULTI_H

#include "engine.h"

/* If the session is in MULTI and cmd must be queued rather than run,
 * queue it (or flag the transaction on error), reply, and return 1. */
int multi_queue_command(cmd_call *c);
/* Flag the session's open transaction as failed (an unknown command or a
 * wrong arity was sent inside MULTI). */
void multi_flag_error(cairn_session *s);
/* The flags of every command queued by s, or-ed together (EXEC of a
 * transaction holding a denyoom command is refused when out of memory). */
uint32_t multi_queued_flags(const cairn_session *s);
/* Does s queue a script that may write (cmd_script_may_write)? */
int multi_queued_may_write(const cairn_session *s);
/* CLIENT LIST's multi= (commands queued, -1 outside MULTI) and multi-mem=
 * (bytes allocated for them). */
int multi_queued_count(const cairn_session *s);
size_t multi_queued_mem(const cairn_session *s);

/* The keys of a write were modified: sessions watching them will fail
 * their EXEC. */
void touch_call_keys(cmd_call *c);
void touch_watched_key(cairn_engine *e, cdb *db, const cslice *key);
/* Every watched key of db (all dbs if db is NULL) that exists is touched
 * (FLUSHDB, FLUSHALL), before the flush. */
void touch_watched_db(cairn_engine *e, cdb *db, int64_t now_ms);
/* SWAPDB a b, before the swap: watched keys there before or after. */
void touch_watched_swap(cdb *a, cdb *b, int64_t now_ms);

/* EXEC of a transaction that writes, on a follower that forwards writes
 * (cairn_host_ops.repl_forward_tx): one with queueing errors aborts here,
 * one that WATCHed keys or holds a command acting on the connection is
 * refused, the others go to the leader (the session waits for its reply).
 * Returns 1 if it answered or forwarded (the transaction is gone), 0 if
 * it could not be forwarded now. */
int multi_exec_forward(cairn_engine *e, cairn_session *s, rbuf *out);

/* Optimistic transactions on a follower: a WATCH there pins the session
 * to a connection of its own to the leader (cairn_host_ops.repl_pin), and
 * its commands go there until EXEC, DISCARD or UNWATCH end the pin, so
 * the leader's WATCH decides EXEC.  Those that act on this connection
 * (SELECT, HELLO, AUTH, CLIENT, RESET, (P|S)SUBSCRIBE, MONITOR, ...) run
 * here; inside the leader's MULTI they are refused and its EXEC aborts.
 * Called for a WATCH on a follower and for every command of a pinned
 * session: returns 1 if it answered or forwarded, 0 to run cmd here. */
int multi_pin_command(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                      const cslice *argv, rbuf *out);
/* The leader answered a pinned session's command of kind (PIN_*). */
void multi_pin_answered(cairn_session *s, int kind, const char *reply, size_t len);
/* A pinned session's connection to the leader is gone (another node
 * leads, the link broke) with a command of kind in flight (-1: none):
 * what the leader held for it is lost, so the session goes on here as
 * one whose watched key was modified (its EXEC fails), inside MULTI if
 * the leader's side was. */
void multi_pin_lost(cairn_session *s, int kind);

/* Drop the session's transaction and watched keys (RESET, disconnect). */
void multi_session_reset(cairn_engine *e, cairn_session *s);
/* Drop an open transaction only (session_reset(): a replay session that
 * stopped inside a cut-off transaction).  Watched keys need the engine:
 * call engine_session_gone() for sessions that may have some. */
void multi_discard(cairn_session *s);

#endif
