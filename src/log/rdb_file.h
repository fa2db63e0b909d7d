/* rdb_file.h -- whole Redis RDB files (rdb_file.c): loading one that
 * redis-server wrote (versions 1 to 10), in slices so a server stays
 * responsive (-LOADING) meanwhile, and writing one that redis-server 7.0
 * loads.
 *
 *   "REDIS" <4 digits: version>
 *   AUX key value, SELECTDB db, RESIZEDB keys expires,
 *   [EXPIRETIME_MS t | EXPIRETIME t] [IDLE s | FREQ f] <type> <key> <value>,
 *   MODULE_AUX ..., FUNCTION2 code, ...
 *   EOF <CRC64 of everything before it, 0: not computed>
 *
 * Values are rdb.c's.  Function libraries load as FUNCTION LOAD would
 * (one that does not load stops the load, as in Redis).  Module aux data
 * is skipped with a warning (Cairn has no modules); a module value stops
 * the load (its data cannot be kept).  Keys whose expiry time has passed are loaded as they are:
 * the node that originates expires them and logs it (DESIGN rule 4). */
#ifndef CAIRN_RDB_FILE_H
#define CAIRN_RDB_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/engine.h"

typedef struct rdb_load_stats {
    int version;
    long long keys, expires;
    long long module_aux_skipped, functions;
} rdb_load_stats;

typedef void rdb_warn_fn(void *priv, const char *msg);

typedef struct rdb_loader rdb_loader;

/* Does a file starting with these bytes hold a Redis RDB? */
int rdb_sniff(const char *head, size_t n);
/* Start loading the RDB open at fd (the loader closes it) into e; warn
 * (may be NULL) hears about what is skipped.  NULL with a message on
 * failure (fd is closed then too). */
rdb_loader *rdb_loader_new(int fd, cairn_engine *e, int64_t now_ms, rdb_warn_fn *warn,
                           void *warn_priv, char *err, size_t errlen);
/* DEBUG RELOAD NOFLUSH MERGE: a key or function library of the file
 * replaces the one e holds already (Redis's RDBFLAGS_ALLOW_DUP) instead
 * of failing the load. */
void rdb_loader_merge(rdb_loader *l);
enum { RDB_LOAD_DONE = 0, RDB_LOAD_MORE = 1, RDB_LOAD_ERROR = -1 };
/* Load up to `records` records.  On RDB_LOAD_ERROR, why says what and at
 * which offset. */
int rdb_loader_step(rdb_loader *l, long records, char *why, size_t whylen);
uint64_t rdb_loader_offset(const rdb_loader *l);
const rdb_load_stats *rdb_loader_stats(const rdb_loader *l);
void rdb_loader_free(rdb_loader *l);

/* Write the whole keyspace of e to fd as a Redis 7.0 RDB (version 10),
 * timestamped now_ms.  Returns 0, or -1 with errno set. */
int rdb_write_file(cairn_engine *e, int fd, int64_t now_ms);
/* The same into dir/name, atomically (a temp file, fsynced, renamed over
 * it).  Returns 0, or -1 with a message. */
int rdb_save(cairn_engine *e, const char *dir, const char *name, int64_t now_ms, char *err,
             size_t errlen);

#endif
