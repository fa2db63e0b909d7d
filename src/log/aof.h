/* aof.h -- the append-only command log, laid out as Redis 7's multi-part
 * AOF:
 *
 *   dir/appenddirname/
 *       appendonly.aof.manifest        which files make up the log
 *       appendonly.aof.3.base.rdb      a snapshot (snapshot.h): the base
 *       appendonly.aof.7.incr.aof      entries (entry.h) written after it
 *       appendonly.aof.8.incr.aof      ... (several during a rewrite)
 *
 * The manifest uses Redis's line format, "file NAME seq N type b|h|i", and
 * is only ever replaced atomically (write a temp file, fsync, rename,
 * fsync the directory), so a crash at any moment leaves a manifest that
 * names complete files.  Loading is: the base, then each incremental file
 * in order, replayed through engine_apply_entry().
 *
 * The writer keeps entries in memory until the host commits them (once
 * per event-loop iteration, before any reply leaves: group commit), then
 * writes them with one write() and, with appendfsync always, one
 * fdatasync().  With everysec a background thread fsyncs at most once a
 * second. */
#ifndef CAIRN_AOF_H
#define CAIRN_AOF_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "../ds/dstr.h"
#include "../ds/histogram.h"
#include "entry.h"

/* ---- Manifest ---------------------------------------------------------- */

enum { AOF_BASE = 'b', AOF_HIST = 'h', AOF_INCR = 'i' };

typedef struct aof_file {
    dstr name; /* a file name inside the log directory (never a path) */
    long long seq;
    int type; /* AOF_BASE, AOF_HIST, AOF_INCR */
} aof_file;

typedef struct aof_manifest {
    aof_file base;  /* base.name NULL: no base */
    aof_file *incr; /* in replay order */
    int nincr;
    aof_file *hist; /* replaced files, deleted once the new manifest is durable */
    int nhist;
    long long base_seq; /* the highest sequence numbers used so far */
    long long incr_seq;
} aof_manifest;

void manifest_init(aof_manifest *m);
void manifest_free(aof_manifest *m);
void manifest_copy(aof_manifest *dst, const aof_manifest *src);
/* Parse manifest text.  Returns 0, or -1 with a message in err. */
int manifest_parse(const char *text, size_t len, aof_manifest *m, char *err, size_t errlen);
dstr manifest_format(const aof_manifest *m);
/* Read dir/name.  Returns 0, 1 if there is no such file, -1 on error. */
int manifest_load(const char *dir, const char *name, aof_manifest *m, char *err, size_t errlen);
/* Replace dir/name atomically.  Returns 0, or -1 with errno set. */
int manifest_save(const char *dir, const char *name, const aof_manifest *m);
void manifest_add_incr(aof_manifest *m, const char *name, long long seq);
/* Move the base and every incremental file to the history. */
void manifest_retire_all(aof_manifest *m);

/* File names for prefix (appendfilename). */
dstr aof_manifest_name(const char *prefix);
dstr aof_base_name(const char *prefix, long long seq);
dstr aof_incr_name(const char *prefix, long long seq);

/* ---- Writer ------------------------------------------------------------- */

typedef struct aof_writer {
    int fd;            /* the incremental file being appended, or -1 */
    off_t file_size;   /* its size */
    dstr buf;          /* encoded entries not yet written */
    uint64_t appended; /* bytes ever appended to buf (a logical offset) */
    uint64_t written;  /* bytes of that stream written to files */
    uint64_t synced;   /* bytes known to be on disk (fsynced) */
    int policy;        /* AOF_FSYNC_* */
    int write_errno;   /* the last write/fsync failure, 0 when healthy */
    int fsync_failed;  /* the failure was an fsync */
    long long delayed_fsync;
    /* Set by the owner while the latency monitor is on: each commit then
     * times its write and its fsync (us; -1 when it made none). */
    int timed;
    int64_t write_us, fsync_us;
    /* The everysec thread. */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int bg_fd;          /* what the thread fsyncs (set under mu) */
    uint64_t bg_target; /* written, as the thread knows it */
    uint64_t bg_synced; /* what it has synced */
    int bg_busy, bg_stop, bg_errno;
    /* How long each fsync of the log took (the thread's and the loop's),
     * under mu: the metrics endpoint reads them from the loop. */
    hist fsync_ns;
    uint64_t fsync_sum_ns;
} aof_writer;

/* A copy of the fsync durations and their sum, in nanoseconds. */
void aof_writer_fsync_stats(aof_writer *w, hist *out, uint64_t *sum_ns);

/* Set up a writer with no file; starts the fsync thread.  Returns 0 or -1
 * (errno) if the thread cannot be started. */
int aof_writer_init(aof_writer *w, int policy);
/* Stop the thread, close the file (after committing), free the buffer. */
void aof_writer_destroy(aof_writer *w);
/* Append one entry to the buffer. */
void aof_writer_append(aof_writer *w, const cairn_entry *e);
/* Write (and, with `always`, fsync) the buffer.  Returns 0, or -1 with
 * w->write_errno set; the unwritten bytes stay buffered for a retry. */
int aof_writer_commit(aof_writer *w);
/* fsync what was written, now, in the caller (rewrite start, shutdown). */
int aof_writer_sync_now(aof_writer *w);
/* Start appending to fd (of current size size) instead of the current
 * file, which is closed; waits for an fsync of it in progress. */
void aof_writer_switch(aof_writer *w, int fd, off_t size);
void aof_writer_set_policy(aof_writer *w, int policy);
/* Empty the current file and the buffer: what they held is already in the
 * data a base is about to be written from.  Returns 0 or -1 (errno). */
int aof_writer_restart(aof_writer *w);
/* The offset up to which a reply may be sent: entries durable under the
 * policy (synced with always, written otherwise). */
uint64_t aof_writer_durable(aof_writer *w);
/* Is the background thread fsyncing right now? */
int aof_writer_fsync_busy(aof_writer *w);

/* ---- Reader ------------------------------------------------------------- */

enum {
    AOF_READ_OK = 0,
    AOF_READ_END = 1,       /* a clean end of file */
    AOF_READ_TRUNCATED = 2, /* the file ends inside an entry, or in zeros */
    AOF_READ_CORRUPT = -1,
    AOF_READ_IOERR = -2,
};

typedef struct aof_reader {
    int fd;
    uint64_t size;
    uint64_t off; /* file offset of buf[pos]: the next entry */
    dstr buf;
    size_t pos;
    int eof; /* read() returned 0 */
} aof_reader;

/* fd is owned by the reader. */
void aof_reader_init(aof_reader *r, int fd);
void aof_reader_free(aof_reader *r);
/* The next entry in *v (free it with entry_view_free; its bytes live in
 * the reader until the next call).  On AOF_READ_CORRUPT *why says why;
 * r->off is then the offset of the bad entry, and on AOF_READ_TRUNCATED
 * the length of the good prefix. */
int aof_reader_next(aof_reader *r, entry_view *v, const char **why);

#endif
