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

#include "engine.h"

/* Park the calling session until one of keys is ready or the absolute
 * time timeout_ms (unix ms; 0 = forever) passes; the handler must not
 * reply.  Returns 0 when the session cannot block (an embedded session,
 * or a command inside MULTI): the handler then replies as on timeout. */
int block_for_keys(cmd_call *c, const cslice *keys, int nkeys, int64_t timeout_ms);

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

/* Parse argument i as a blocking timeout in seconds (a float, as Redis
 * 6+) into an absolute time in ms (0 = forever).  Replies Redis's errors
 * ("ERR timeout is not a float or out of range", "ERR timeout is
 * negative") and returns 0 on failure. */
int arg_timeout(cmd_call *c, int i, int64_t *timeout_ms);

#endif
