/* snapshot_types.h -- how each value type is written into and read back
 * from a snapshot (snapshot_types.c); the framing and records are
 * snapshot.c's.  Internal to src/log. */
#ifndef CAIRN_SNAPSHOT_TYPES_H
#define CAIRN_SNAPSHOT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/engine.h"

#define CAIRN_SNAPSHOT_CREATOR "cairn-0.1.0"

typedef struct snap_writer snap_writer;

void sw_bytes(snap_writer *w, const void *p, size_t len);
void sw_u8(snap_writer *w, unsigned v);
void sw_varint(snap_writer *w, uint64_t v);
void sw_u64(snap_writer *w, uint64_t v);
void sw_str(snap_writer *w, const void *p, size_t len);

/* A cursor over verified stream bytes.  Every sr_* returns 1 when it read
 * a whole item, 0 when the bytes end first (more are needed) or the item
 * is malformed -- then `bad` says why. */
typedef struct snap_reader {
    const unsigned char *p, *end;
    const char *bad;
} snap_reader;

int sr_u8(snap_reader *r, unsigned *v);
int sr_varint(snap_reader *r, uint64_t *v);
int sr_u64(snap_reader *r, uint64_t *v);
int sr_str(snap_reader *r, const char **s, size_t *len);

/* A collection being loaded element by element, so that a huge value
 * never has to sit whole in the stream buffer. */
typedef struct snap_partial {
    cobj *obj; /* NULL when none is in progress */
    int type, enc;
    uint64_t remaining; /* elements still to read */
    dstr key;
    int64_t expire;
    cairn_engine *e; /* hash seed and PRNG for new structures; NULL verifying */
} snap_partial;

/* Write o's type-specific part (after type, encoding and key). */
void snap_write_value(snap_writer *w, const cobj *o);

/* Read a value of (type, enc).  Returns 1 with *out set to a finished
 * object, or 1 with *out NULL and part->obj set when elements follow;
 * 0 when more bytes are needed or r->bad is set.  Nothing is allocated
 * unless 1 is returned.  e may be NULL (verifying only). */
int snap_read_value(snap_reader *r, cairn_engine *e, int type, int enc, cobj **out,
                    snap_partial *part);
/* Read the next element of part.  Same returns as snap_read_value. */
int snap_read_element(snap_reader *r, snap_partial *part);
/* The collection, complete; part is reset (its key is left for the
 * caller). */
cobj *snap_partial_finish(snap_partial *part);
/* Free a collection left unfinished (an error, or the loader freed). */
void snap_partial_discard(snap_partial *part);

#endif
