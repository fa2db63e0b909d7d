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

/* Parse argument i as a blocking timeout in seconds (a float, as Redis
 * 6+) into an absolute time in ms (0 = forever).  Replies Redis's errors
 * ("ERR timeout is not a float or out of range", "ERR timeout is
 * negative") and returns 0 on failure. */
int arg_timeout(cmd_call *c, int i, int64_t *timeout_ms);

#endif
