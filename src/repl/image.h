/* image.h -- the engine's dataset as the data of a Raft snapshot.
 *
 * A node's snapshot (storage.h) holds, after the storage header, a short
 * prefix of the node's own (its address book, members.h) and then the
 * engine's keyspace in the snapshot format of the append-only log
 * (src/log/snapshot.h), written by the same writer and read by the same
 * loader.  The writer and the loader work on files of their own, so the
 * image passes through a temporary file in the node's directory: the
 * engine is written there, then copied into the snapshot; to load, the
 * image is copied out of the snapshot and read back.  That costs a second
 * pass over the bytes, on disk only, and keeps both formats untouched.
 *
 * Both run to the end in one call: the node's loop stops meanwhile. */
#ifndef CAIRN_REPL_IMAGE_H
#define CAIRN_REPL_IMAGE_H

#include <stddef.h>

#include "../engine/engine.h"
#include "storage.h"

/* Make a snapshot of e, as it is, for meta (whose size is filled in):
 * prefix then the keyspace.  tmp is the temporary file's path.  Returns
 * 0 (the snapshot is durable and the storage's), or -1 with a message. */
int image_save(cairn_engine *e, raft_storage *st, raft_snapshot_meta *meta, const void *prefix,
               size_t prefix_len, const char *tmp, char *err, size_t errlen);

/* Empty e (every database and the function libraries). */
void image_reset(cairn_engine *e, cairn_session *s, rbuf *out);

/* Replace e's dataset with the keyspace stored in st's snapshot from byte
 * skip of its data on.  Returns 0, or -1 with a message. */
int image_load(cairn_engine *e, cairn_session *s, rbuf *out, raft_storage *st, uint64_t skip,
               const char *tmp, char *err, size_t errlen);

#endif
