/* image.h -- the engine's dataset as the data of a Raft snapshot.
 *
 * A node's snapshot (storage.h) holds, after the storage header, a short
 * prefix of the node's own (its address book, members.h) and then the
 * engine's keyspace in the snapshot format of the append-only log
 * (src/log/snapshot.h), written by the same writer and read by the same
 * loader.  The writer writes into the snapshot file directly (in a child
 * process: the node goes on meanwhile).  The loader works on a file of its
 * own, so to load, the image is copied out of the snapshot into a
 * temporary file in the node's directory and read back; that runs to the
 * end in one call (the node's loop stops meanwhile). */
#ifndef CAIRN_REPL_IMAGE_H
#define CAIRN_REPL_IMAGE_H

#include <stddef.h>

#include "../engine/engine.h"
#include "storage.h"

/* Write the keyspace of e, as it is, to fd at its offset.  Returns 0, or
 * -1 with a message. */
int image_write(cairn_engine *e, int fd, char *err, size_t errlen);

/* Empty e (every database and the function libraries). */
void image_reset(cairn_engine *e, cairn_session *s, rbuf *out);

/* Replace e's dataset with the keyspace stored in st's snapshot from byte
 * skip of its data on.  Returns 0, or -1 with a message. */
int image_load(cairn_engine *e, cairn_session *s, rbuf *out, raft_storage *st, uint64_t skip,
               const char *tmp, char *err, size_t errlen);

#endif
