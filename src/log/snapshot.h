/* snapshot.h -- a point-in-time image of the whole keyspace.
 *
 * The same format is the base of the append-only log and the stand-alone
 * snapshot of SAVE/BGSAVE (dbfilename).  Layout (all integers little
 * endian):
 *
 *   header   16 bytes  "CAIRNSNP", u32 format version, u32 CRC-32C of
 *                      the 12 bytes before it
 *   frames   ...       u32 length (1..SNAP_FRAME_MAX), u32 CRC-32C of the
 *                      payload, payload
 *
 * The payloads, concatenated, form a stream of records:
 *
 *   0xFA AUX  str name, str value              (creator version, ctime)
 *   0xF5 FUNC str code                          (a function library, as loaded)
 *   0xFE DB   varint db, varint keys, varint keys with a TTL
 *   0xFD KEY  u8 flags (1: has a TTL, 2: idle time, 4: LFU counter),
 *             [8 bytes absolute expiry in unix ms], [varint idle seconds
 *             or LFU counter: written under an LRU or LFU maxmemory-policy,
 *             as Redis's RDB does], u8 type, u8 encoding, str key, the
 *             value
 *   0xFF EOF  varint number of keys in the file
 *
 * where str is a varint length and the bytes.  A value is written in its
 * encoding: compact encodings (listpack, intset) as their raw blob, which
 * the loader validates (lp_validate / intset_validate) before using it;
 * the others element by element (see snapshot.c for each type).
 *
 * Frames are checksummed transport: the loader checks a frame before it
 * parses a byte of it, so a flipped bit is caught where it is, and a
 * record may span frames (a large value needs no large frame).  The file
 * must end right after the frame holding EOF: a missing EOF (a torn file)
 * or trailing bytes are errors. */
#ifndef CAIRN_SNAPSHOT_H
#define CAIRN_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/engine.h"

#define SNAP_MAGIC      "CAIRNSNP"
#define SNAP_VERSION    1
#define SNAP_HEADER_LEN 16
#define SNAP_FRAME_MAX  (64 * 1024)

typedef struct snap_stats {
    long long keys;    /* keys written or loaded */
    long long expires; /* of which with a TTL */
    uint64_t bytes;    /* file bytes written or consumed */
} snap_stats;

/* Write the keyspace of e to fd (at its current offset).  fsync_every > 0
 * calls fdatasync every that many bytes, so a large dump does not leave
 * gigabytes of dirty pages for one final fsync.  The final fsync is the
 * caller's.  Returns 0, or -1 with a message in err. */
int snapshot_write(cairn_engine *e, int fd, int64_t now_ms, size_t fsync_every, snap_stats *st,
                   char *err, size_t errlen);

/* Write the keyspace to dir/name atomically (temp file, fsync, rename,
 * directory fsync).  Returns 0, or -1 with a message in err. */
int snapshot_save(cairn_engine *e, const char *dir, const char *name, int64_t now_ms,
                  size_t fsync_every, snap_stats *st, char *err, size_t errlen);

/* An incremental loader, so a host can load a large file in slices and
 * keep serving (-LOADING) in between. */
typedef struct snap_loader snap_loader;

enum { SNAP_MORE = 1, SNAP_DONE = 0, SNAP_ERROR = -1 };

/* Start loading from fd (owned by the loader from now on) into e, whose
 * databases must be empty.  now_ms stamps the keys' access time. */
snap_loader *snap_loader_new(int fd, cairn_engine *e, int64_t now_ms);
/* DEBUG RELOAD NOFLUSH MERGE: a key or function library of the file
 * replaces the one e holds already (Redis's RDBFLAGS_ALLOW_DUP) instead
 * of failing the load. */
void snap_loader_merge(snap_loader *l);
/* Load about `budget` more bytes of the file.  Returns SNAP_MORE,
 * SNAP_DONE, or SNAP_ERROR with a message in err naming the offset. */
int snap_loader_step(snap_loader *l, size_t budget, char *err, size_t errlen);
/* Bytes of the file consumed so far (the offset of the first byte not
 * yet verified), and the file's size. */
uint64_t snap_loader_offset(const snap_loader *l);
uint64_t snap_loader_size(const snap_loader *l);
const snap_stats *snap_loader_stats(const snap_loader *l);
void snap_loader_free(snap_loader *l);

/* Verify a snapshot file without loading it into anything that lasts
 * (cairn-check).  Returns 0 if it is whole; else -1 with the offset of the
 * first bad byte in *bad_off and a message in err. */
int snapshot_verify(int fd, uint64_t *bad_off, snap_stats *st, char *err, size_t errlen);

/* Does buf (of len bytes) start like a snapshot? */
int snapshot_sniff(const void *buf, size_t len);

#endif
