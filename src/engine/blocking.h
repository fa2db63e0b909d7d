/* blocking.h -- commands that wait for keys: BLPOP, BRPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * A blocking handler first tries to serve itself like its non-blocking
 * twin.  If none of its keys can serve it, it calls block_for_keys() and
 * returns without replying: the session is parked, FIFO per key.  When a
 * write makes a key ready (signal_key_ready(), called by db_add() for
 * lists and sorted sets), the engine runs the parked command again, in
 * arrival order, right after the command that made the key ready; the
 * handler then either serves the session (its reply goes to the session's
 * own output) or calls block_for_keys() again, which keeps its place.
 * On timeout the session gets a null array, as in Redis. */
#ifndef CAIRN_BLOCKING_H
#define CAIRN_BLOCKING_H

#include <string.h>

#include "engine.h"

/* Park the calling session until one of keys is ready or the absolute
 * time timeout_ms (unix ms; 0 = forever) passes; the handler must not
 * reply.  Returns 0 when the session cannot block (an embedded session,
 * or a command inside MULTI): the handler then replies as on timeout. */
int block_for_keys(cmd_call *c, const cslice *keys, int nkeys, int64_t timeout_ms);

/* Park the calling session on no key (WAIT): it is run again after each
 * signal_waiters() (the host's news: replicas acknowledged more of the
 * log), in arrival order, and once more when the absolute time timeout_ms
 * (0 = forever) passes or CLIENT UNBLOCK ends the wait -- then c->retry is
 * RETRY_FINAL, this returns 0 and the handler replies.  Returns 0 as
 * block_for_keys() does when the session cannot block. */
int block_for_signal(cmd_call *c, int64_t timeout_ms);

/* Run the sessions parked by block_for_signal() again once the command
 * that runs now is done.  Cheap when nobody waits. */
void signal_waiters(cairn_engine *e);

/* May a pop serve the calling command from key?  A parked command run
 * again because one of its keys became ready is served from that key
 * only, as Redis 7.0 serves each ready key's waiting clients from it: a
 * BLPOP on a and b, woken by pushes to b then a in one transaction, pops
 * from b, not from its first key. */
static inline int block_may_serve(const cmd_call *c, const cslice *key)
{
    const cslice *k = c->e->serving_key;
    return !c->retry || !k || (k->len == key->len && memcmp(k->ptr, key->ptr, k->len) == 0);
}

/* Note that key in db may now serve parked sessions.  Cheap when nobody
 * waits on it. */
void signal_key_ready(cairn_engine *e, cdb *db, const cslice *key);

/* Every key of db that sessions are parked on and that exists now may
 * serve them (SWAPDB brought new data into db). */
void signal_db_ready(cairn_engine *e, cdb *db);

/* Every key of db that sessions are parked on and that holds a stream now
 * is about to go (FLUSHDB, FLUSHALL, SWAPDB): sessions in XREADGROUP on it
 * are told (Redis 7.0). */
void signal_db_streams(cairn_engine *e, cdb *db);

/* The engine stops originating writes (a Raft leader lost leadership): a
 * session parked in a write (BLPOP, BLMOVE, BZPOPMIN, XREADGROUP...)
 * could only be served by a write of its own, so it gets Redis's error
 * for a master turned replica (-UNBLOCKED ...) and runs on.  Sessions
 * parked in a read (XREAD) go on waiting, served as the log applies;
 * sessions in WAIT get the error too, as Redis's master turned replica
 * gives them. */
void engine_unblock_writers(cairn_engine *e);
/* A standalone master turned replica (REPLICAOF host port): every parked
 * session, whatever it waits for (BLPOP, XREAD, WAIT...), gets that error
 * and its connection closes after it, as Redis's
 * disconnectAllBlockedClients.  Clients held by CLIENT PAUSE are not
 * parked: they run once the pause ends, as in Redis. */
void engine_disconnect_blocked(cairn_engine *e);
#define UNBLOCKED_ROLE_CHANGED                                                                     \
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> "          \
    "replica?)"

/* Parse argument i as a blocking timeout in seconds (a float, as Redis
 * 6+) into an absolute time in ms (0 = forever).  Replies Redis's errors
 * ("ERR timeout is not a float or out of range", "ERR timeout is
 * negative") and returns 0 on failure. */
int arg_timeout(cmd_call *c, int i, int64_t *timeout_ms);
/* The same for a timeout in whole milliseconds (WAIT, XREAD BLOCK), with Redis's
 * errors ("ERR timeout is not an integer or out of range", ...). */
int arg_timeout_ms(cmd_call *c, int i, int64_t *timeout_ms);

#endif
