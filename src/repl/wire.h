/* wire.h -- raft_msg on the wire between nodes.
 *
 * A message is a fixed header of little-endian fields followed by its
 * entries; the node carries it as one bulk string of an internal command
 * over the client port (node.h):
 *
 *   offset  size  field
 *   0       1     format version (1)
 *   1       1     type, reject, transfer (one byte each)
 *   4       8*11  from, to, term, log_term, index, commit, hint_index,
 *                 hint_term, ctx, tick
 *   ...     4     number of entries, then each: term (8), index (8),
 *                 type (1), length (4), data
 *   ...     8+8   offset, size (SNAP, SNAP_RESP)
 *   ...     1+1   done, has a configuration
 *   ...     4     chunk length, then the chunk
 *   ...           with a configuration: 4 + 8 each for voters, then
 *                 the same for learners
 *
 * Decoding checks every length against the buffer: a peer's bytes never
 * make it read past them. */
#ifndef CAIRN_RAFT_WIRE_H
#define CAIRN_RAFT_WIRE_H

#include "../ds/dstr.h"
#include "raft.h"

/* Append m's encoding to out (which may move). */
dstr wire_encode(dstr out, const raft_msg *m);
/* Decode buf[0..len) into m (free it with raft_msg_free).  Returns 0, or
 * -1 if the bytes are not a well-formed message (or memory ran out). */
int wire_decode(const char *buf, size_t len, raft_msg *m);

#endif
