/* tracking.h -- client-side caching: CLIENT TRACKING and the invalidation
 * messages it sends (Redis 7.0 semantics).
 *
 * In the default mode the engine remembers, in a table bounded by
 * tracking-table-max-keys, which sessions read which keys; the first
 * change of such a key (a write, an expiry, an eviction) sends each of
 * them an invalidation and forgets the key.  In BCAST mode a session
 * names key prefixes instead and hears of every change under them, in one
 * message per prefix for all the changes of an event-loop iteration.  An
 * invalidation is a RESP3 push ["invalidate", [key]] or, for a RESP2
 * session that redirects to another one subscribed to
 * __redis__:invalidate, a message on that channel; FLUSHDB and FLUSHALL
 * send a null instead of keys.  The table, like Redis's, ignores the db
 * number. */
#ifndef CAIRN_TRACKING_H
#define CAIRN_TRACKING_H

#include "engine.h"

/* CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (t_server.c's table). */
void client_tracking_command(cmd_call *c);
void client_caching_command(cmd_call *c);
void client_getredir_command(cmd_call *c);
void client_trackinginfo_command(cmd_call *c);

/* After a command of a tracking session: remember the keys it read, and
 * let CLIENT CACHING's effect lapse. */
void tracking_after_command(cmd_call *c);
/* A command a script ran (read) for caller, a call whose session has
 * tracking on: if it read, the keys of the caller's command (the script's
 * declared keys) are tracked for that session, as Redis 7.0 tracks
 * them. */
void tracking_script_read(const cmd_call *read, cmd_call *caller);
/* key changed (by modifier, NULL for expiry and eviction). */
void tracking_invalidate_key_slow(cairn_engine *e, const cslice *key,
                                  const cairn_session *modifier);
static inline void tracking_invalidate_key(cairn_engine *e, const cslice *key,
                                           const cairn_session *modifier)
{
    if (e->tracking) tracking_invalidate_key_slow(e, key, modifier);
}
/* BCAST invalidations wait until the end of the event-loop iteration, as
 * in Redis (its beforeSleep): then each session of a prefix gets one
 * message with every key changed under the prefix since, in byte order.
 * The host calls this before it writes replies out (an embedding after
 * each command). */
void tracking_broadcast_slow(cairn_engine *e);
static inline void tracking_broadcast(cairn_engine *e)
{
    if (e->tracking) tracking_broadcast_slow(e);
}
/* Every key named by a write c made. */
void tracking_invalidate_call(cmd_call *c);
/* FLUSHDB / FLUSHALL: every tracking session hears "everything". */
void tracking_flush(cairn_engine *e);

/* tracking-table-max-keys changed: forget (and invalidate) keys over it
 * now, as Redis's cron would, not at the next read. */
void tracking_table_limit(cairn_engine *e);

/* Flags of CLIENT LIST ('t', 'B', 'R') and its redir= field. */
int tracking_session_on(const cairn_session *s);
int tracking_session_bcast(const cairn_session *s);
int tracking_session_broken(const cairn_session *s);
long long tracking_session_redirect(const cairn_session *s);
/* A session's tracking state (its BCAST prefixes counted, not their
 * bytes), in O(1): part of the client's memory (CLIENT LIST tot-mem). */
size_t tracking_session_mem(const cairn_session *s);

/* INFO: sessions tracking, keys in the table, (key, session) items,
 * BCAST prefixes. */
long tracking_clients(const cairn_engine *e);
long long tracking_total_keys(const cairn_engine *e);
long long tracking_total_items(const cairn_engine *e);
long tracking_total_prefixes(const cairn_engine *e);

/* RESET and disconnects. */
void tracking_session_reset(cairn_engine *e, cairn_session *s);
void tracking_free(cairn_engine *e);

#endif
