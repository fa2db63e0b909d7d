/* storage.h -- the durable half of a Raft node: its log and hard state.
 *
 * Layout of the directory:
 *   hardstate                 term, vote, commit; replaced atomically
 *                             (write, fsync, rename, fsync the directory)
 *   log-<first index>.seg     segments of log records, a new one once the
 *                             current one passes segment_bytes
 *   snapshot                  the last snapshot: what it stands for and the
 *                             caller's state machine bytes, with a CRC-32C;
 *                             made by writing snapshot.tmp (one received
 *                             from the leader) or snapshot.bg (the node's
 *                             own, written by a child process), fsync,
 *                             rename, fsync the directory
 *
 * A snapshot file:
 *   0    4    magic "CRSN"
 *   4    8    index          12   8    term          20   8    data size n
 *   28   272  configuration (raft_conf_encode, zero padded)
 *   300  n    data
 *   300+n 4   CRC-32C of bytes 4 .. 300+n, little endian
 *
 * A log record:
 *   offset  size  field
 *   0       1     magic 0xCB
 *   1       1     format version (1)
 *   2       4     CRC-32C of bytes 6..end, little endian
 *   6       1     entry type
 *   7       4     data length, little endian
 *   11      8     term
 *   19      8     index
 *   27      n     data (for a normal entry, an encoded command-log entry)
 *
 * Recovery reads every segment: a record cut short, or failing its
 * checksum, at the very end of the last segment is a torn write (it was
 * never acknowledged: acknowledgements follow the fsync) and is cut off;
 * anything else wrong (a bad record elsewhere, a gap in the indexes, a
 * hard state whose commit index is past the log) is corruption, refused
 * with a message naming the file and offset.
 *
 * With a snapshot at index X, entries up to X are not needed: a crash may
 * leave them (between the snapshot's rename and the log's cut), and
 * recovery drops them -- all entries, if the stored entry at X is of
 * another term than the snapshot's or missing (they conflict with it).
 * The log must then continue at X + 1.  A leftover snapshot.tmp or
 * snapshot.bg is an unfinished snapshot and is deleted; a bad snapshot
 * file is corruption.
 *
 * Failure is sticky: once a write or fsync fails, every later call fails,
 * because after a failed fsync nothing says what reached the disk.  The
 * node must stop and recover from what the directory holds; nothing it
 * persisted since the last successful sync may be acknowledged. */
#ifndef CAIRN_RAFT_STORAGE_H
#define CAIRN_RAFT_STORAGE_H

#include <stddef.h>

#include "raft.h"

#define RSTORE_RECORD_HEADER 27

typedef struct raft_storage raft_storage;

/* Open (creating dir if needed) and recover.  On failure returns -1 and
 * writes a message to err. */
int rstore_open(const char *dir, size_t segment_bytes, raft_storage **out, char *err,
                size_t errlen);
void rstore_close(raft_storage *s);

/* What recovery found, to pass to raft_new(); valid until
 * rstore_release_recovered() or the first rstore_append(). */
const raft_hard_state *rstore_hard_state(const raft_storage *s);
const raft_entry *rstore_entries(const raft_storage *s, size_t *n);
void rstore_release_recovered(raft_storage *s);

/* Store ents (consecutive), first dropping every stored entry from
 * ents[0].index on.  Not durable until rstore_sync(). */
int rstore_append(raft_storage *s, const raft_entry *ents, size_t n);
int rstore_sync(raft_storage *s);

/* The same fsync, run on another thread while the node goes on writing:
 * begin (on the node's thread) takes what the sync needs -- a duplicate
 * of the last segment's descriptor, so the node may close or replace the
 * segment meanwhile, and whether the directory needs a sync too (a new
 * segment); run (on any thread) touches nothing else; end (on the node's
 * thread) returns 0, or -1 and makes the failure sticky.  The sync covers
 * every append made before begin; appends made after it need the next
 * one.  The storage must outlive the job. */
typedef struct rstore_sync_job {
    int fd;          /* the last segment's duplicate, or -1 */
    const char *dir; /* to sync too, or NULL */
    int err;         /* errno of the failed call, or 0 */
} rstore_sync_job;
int rstore_sync_begin(raft_storage *s, rstore_sync_job *job);
void rstore_sync_run(rstore_sync_job *job);
int rstore_sync_end(raft_storage *s, rstore_sync_job *job);
/* The next entry appended starts a new segment.  A node calls it as it
 * starts a snapshot: the next snapshot then covers whole segments and
 * deletes them, so the log on disk is what came since about the previous
 * snapshot, not up to a whole segment_bytes more. */
void rstore_roll(raft_storage *s);
/* Durable when it returns 0. */
int rstore_set_hard_state(raft_storage *s, const raft_hard_state *hs);
/* Index of the last stored entry (or the snapshot's, if later). */
uint64_t rstore_last_index(const raft_storage *s);

/* The snapshot recovered or last written (index 0: none). */
const raft_snapshot_meta *rstore_snapshot(const raft_storage *s);
/* Write a new snapshot: begin (m->size is the data's length), write the
 * data in any number of pieces, finish.  finish makes it durable and the
 * node's (write, fsync, rename, fsync the directory), then cuts the log
 * behind it as recovery would.  A failure leaves the previous snapshot in
 * place; like every write failure it is sticky. */
int rstore_snapshot_begin(raft_storage *s, const raft_snapshot_meta *m);
int rstore_snapshot_write(raft_storage *s, const void *data, size_t len);
int rstore_snapshot_finish(raft_storage *s);
/* Read len bytes of the snapshot's data from offset (a chunk to send, or
 * the whole to restore the state machine). */
int rstore_snapshot_read(raft_storage *s, uint64_t offset, void *buf, size_t len);

/* A snapshot of the node's own, written by a child process (child.h) while
 * the node goes on, in a file of its own (snapshot.bg), so that it never
 * meets a snapshot being received (snapshot.tmp).
 *
 * In the child: create returns the file's descriptor, placed where the
 * data begins; the child writes the data, then seal fills in m->size, the
 * header and the checksum, and makes the file durable.  Neither touches
 * the storage's state (the parent's). */
int rstore_bg_create(const raft_storage *s);
int rstore_bg_seal(const raft_storage *s, int fd, raft_snapshot_meta *m);
/* In the parent, once the child exited 0: make the file the snapshot (as
 * rstore_snapshot_finish(), log cut included) if it is m and newer than
 * the current one; m->size is filled in.  STALE (a newer snapshot came
 * meanwhile) and BAD (not the snapshot m, or it could not be renamed)
 * delete the file and keep the previous snapshot; FAILED is a sticky
 * storage failure (errno set): the log does not hold m's last entry with
 * m's term, or it cannot be read -- then nothing is renamed or cut -- or
 * a failure after the rename. */
enum { RSTORE_BG_ADOPTED = 1, RSTORE_BG_STALE = 0, RSTORE_BG_BAD = -1, RSTORE_BG_FAILED = -2 };
int rstore_bg_adopt(raft_storage *s, raft_snapshot_meta *m);
/* The child failed: delete what it wrote. */
void rstore_bg_discard(const raft_storage *s);

#endif
