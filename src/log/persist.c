/* persist.c -- durability for one engine; see persist.h.
 *
 * The append-only log goes through three states.  OFF: no sink, no files.
 * ON: every entry the engine logs is buffered, and the host commits the
 * buffer (write + fsync per policy) before it sends the replies of that
 * loop iteration.  WAIT_REWRITE: AOF was just switched on at runtime;
 * entries go to a temporary incremental file while a child writes the
 * first base, and both join the manifest when the child is done (as in
 * Redis 7, the log only counts as durable from then on).
 *
 * A rewrite (BGREWRITEAOF, or automatic when the log has grown by
 * auto-aof-rewrite-percentage) never stops the writes: the parent first
 * makes the current incremental file durable, opens the next one and
 * records it in the manifest, then forks.  The child writes a snapshot of
 * the data as of the fork -- exactly what the files before the new one
 * hold -- as the new base.  When it succeeds the parent renames it into
 * place and saves a manifest of [new base, new incremental file]; the old
 * files are deleted only after that manifest is durable.  At every instant
 * the manifest on disk names complete, fsynced files. */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/cmd.h"
#include "../engine/config.h"
#include "../engine/db.h"
#include "../engine/latency.h"
#include "../engine/multi.h"
#include "aof.h"
#include "child.h"
#include "clock.h"
#include "fileio.h"
#include "rdb_file.h"
#include "snapshot.h"

#define LOCK_FILE "cairn.lock"
/* Redis's CONFIG_BGSAVE_RETRY_DELAY: wait this long after a failed
 * BGSAVE before a save point may trigger another. */
#define BGSAVE_RETRY_DELAY_S 5
/* Incremental fsync while writing a snapshot (rdb-save-incremental-fsync,
 * aof-rewrite-incremental-fsync), as Redis's REDIS_AUTOSYNC_BYTES. */
#define AUTOSYNC_BYTES (4u << 20)
/* Bytes of a snapshot loaded per slice between clock checks. */
#define LOAD_SLICE (1u << 20)
/* Records of a Redis RDB loaded per slice: about as much work. */
#define RDB_LOAD_SLICE 20000

enum { AOF_OFF = 0, AOF_ON = 1, AOF_WAIT_REWRITE = 2 };
enum { CHILD_NONE = 0, CHILD_RDB = 1, CHILD_AOF = 2 };

typedef struct load_item {
    dstr path;
    int last_incr; /* the last incremental file: a torn tail may be cut */
} load_item;

struct persist {
    cairn_engine *e;
    persist_host host;
    dstr dir; /* absolute */
    int lock_fd;
    dstr lock_dir;

    /* The append-only log. */
    int aof_state;
    aof_writer w;
    int writer_ready;
    aof_manifest man;
    dstr temp_incr;          /* WAIT_REWRITE: the temporary incremental file */
    uint64_t aof_prev_bytes; /* base + incremental files before the current one */
    uint64_t aof_base_size;  /* the whole log's size after the last rewrite */
    int aof_write_ok;
    int aof_fsync_lost; /* an fsync failed since the last good commit */
    int64_t aof_last_retry_ms;
    int64_t aof_last_err_log_ms;
    char aof_err[256];

    /* Children. */
    pid_t child_pid;
    int child_type;
    int64_t child_start_ms;
    dstr child_tmp;             /* the file the child writes */
    long long rewrite_incr_seq; /* AOF child: the incremental file since the fork */

    /* Snapshots. */
    int64_t lastsave_s;        /* unix time */
    int64_t lastsave_mono_s;   /* the same instant, monotonic */
    int64_t last_bgsave_try_s; /* monotonic */
    int last_bgsave_ok;
    long long dirty_before_bgsave;
    long long rdb_saves;
    long long rdb_last_bgsave_time_s;
    int bgsave_scheduled;
    char rdb_err[512];

    /* Rewrites. */
    int rewrite_scheduled;
    int last_rewrite_ok;
    long long aof_rewrites, rewrite_failures;
    long long aof_last_rewrite_time_s;

    /* Loading. */
    load_item *plan;
    int nplan, plan_idx;
    int create_aof_after_load; /* appendonly yes without a manifest */
    int resync_stopped_aof;    /* persist_resync_begin() switched the log off */
    snap_loader *snap;
    rdb_loader *rdbl; /* a Redis RDB being loaded (rdb_file.h) */
    aof_reader reader;
    int reader_open;
    cairn_session loader;
    rbuf loader_out;
    uint64_t multi_off; /* where the transaction being replayed began */
    uint64_t load_total, load_done_files;
    int load_merge; /* DEBUG RELOAD NOFLUSH MERGE: the files replace what is loaded */
    int64_t load_start_us, load_last_log_us; /* monotonic */
    int64_t load_start_time_s;               /* unix time, for INFO */
    long long load_keys_expired, load_keys_loaded;
};

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

/* Intervals are timed on the monotonic clock; wall time (clock.h) only
 * stamps what is reported (LASTSAVE) or saved (a snapshot's time). */
static int64_t wall_ms(void) { return clock_real_us() / 1000; }

/* The time of a save: reported by LASTSAVE, and the start of the
 * interval save points count (on the monotonic clock). */
static void note_saved(persist *p)
{
    p->lastsave_s = wall_ms() / 1000;
    p->lastsave_mono_s = clock_mono_ms() / 1000;
}

#define plog(p, level, ...)                                                                        \
    do {                                                                                           \
        if ((p)->host.log) (p)->host.log((p)->host.priv, level, __VA_ARGS__);                      \
    } while (0)

static const cairn_config *cfg(const persist *p) { return &p->e->cfg; }

static dstr aof_dir(const persist *p) { return path_join(p->dir, cfg(p)->appenddirname); }

static dstr aof_path(const persist *p, const char *name)
{
    dstr d = aof_dir(p);
    dstr path = path_join(d, name);
    dstr_free(d);
    return path;
}

static off_t file_size_at(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static int save_points_configured(const persist *p)
{
    const char *s = cfg(p)->save;
    return s && s[0];
}

static int persistence_configured(const persist *p)
{
    return cfg(p)->appendonly || save_points_configured(p);
}

static uint64_t aof_current_size(const persist *p)
{
    return p->aof_prev_bytes + (uint64_t)(p->writer_ready ? p->w.file_size : 0);
}

/* ---------------------------------------------------------------------- */
/* The directory lock                                                      */
/* ---------------------------------------------------------------------- */

/* flock() the lock file in dir so that two processes never write the same
 * files.  The lock goes with the process (and its children, which only
 * write temporary files), so a crash never leaves it stale. */
static int lock_dir(persist *p, const char *dir, char *err, size_t errlen)
{
    if (p->lock_fd >= 0 && p->lock_dir && strcmp(p->lock_dir, dir) == 0) return 0;
    dstr path = path_join(dir, LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, FILE_MODE);
    if (fd < 0) {
        snprintf(err, errlen, "can't open the lock file %s: %s", path, strerror(errno));
        dstr_free(path);
        return PERSIST_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        char pid[32] = "?";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (busy)
            snprintf(err, errlen,
                     "the data directory %s is in use by another process (pid %s holds %s); two "
                     "servers must never share a data directory",
                     dir, pid[0] ? pid : "?", path);
        else
            snprintf(err, errlen, "can't lock %s: %s", path, strerror(errno));
        close(fd);
        dstr_free(path);
        return busy ? PERSIST_EBUSY : PERSIST_EIO;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        plog(p, LL_WARNING, "Could not write the pid into %s: %s", path, strerror(errno));
    dstr_free(path);
    if (p->lock_fd >= 0) close(p->lock_fd);
    dstr_free(p->lock_dir);
    p->lock_fd = fd;
    p->lock_dir = dstr_from_cstr(dir);
    return 0;
}

static void unlock_dir(persist *p)
{
    if (p->lock_fd >= 0) close(p->lock_fd);
    p->lock_fd = -1;
    dstr_free(p->lock_dir);
    p->lock_dir = NULL;
}

/* ---------------------------------------------------------------------- */
/* Write errors: MISCONF                                                   */
/* ---------------------------------------------------------------------- */

/* Tell the engine whether writes must be refused, and with what. */
static void update_write_error(persist *p)
{
    const char *msg = NULL;
    if (p->aof_state != AOF_OFF && !p->aof_write_ok)
        msg = p->aof_err;
    else if (cfg(p)->stop_writes_on_bgsave_error && save_points_configured(p) && !p->last_bgsave_ok)
        msg = p->rdb_err;
    p->e->write_error = msg;
}

/* The outcome of a commit: log the first failure and the recovery (and a
 * failure again at most every 30 s, as Redis). */
static void note_commit(persist *p, int rc)
{
    int64_t now = clock_mono_ms();
    if (rc != 0) {
        snprintf(p->aof_err, sizeof(p->aof_err), "MISCONF Errors writing to the AOF file: %s",
                 strerror(p->w.write_errno));
        if (p->aof_write_ok || now - p->aof_last_err_log_ms > 30000) {
            plog(p, LL_WARNING, "Error %s the AOF file: %s",
                 p->w.fsync_failed ? "fsyncing" : "writing to", strerror(p->w.write_errno));
            p->aof_last_err_log_ms = now;
        }
        p->aof_write_ok = 0;
        if (p->w.fsync_failed) p->aof_fsync_lost = 1;
    } else if (!p->aof_write_ok) {
        plog(p, LL_WARNING, "AOF write error looks solved, Redis can write again.");
        p->aof_write_ok = 1;
        /* After a failed fsync the kernel may have dropped pages that a
         * later fsync then reports as clean: write everything again from
         * memory rather than trust the file. */
        if (p->aof_fsync_lost) {
            plog(p, LL_WARNING,
                 "An fsync of the AOF failed earlier: rewriting the AOF from "
                 "memory so that nothing depends on the pages it lost");
            p->rewrite_scheduled = 1;
            p->aof_fsync_lost = 0;
        }
    }
    update_write_error(p);
}

/* ---------------------------------------------------------------------- */
/* Children                                                                */
/* ---------------------------------------------------------------------- */

/* The body of a child writing a snapshot to path (not renamed). */
static int write_snapshot_file(persist *p, const char *path, char *err, size_t errlen)
{
    int fd = open_create_trunc(path);
    if (fd < 0) {
        snprintf(err, errlen, "can't create %s: %s", path, strerror(errno));
        return -1;
    }
    size_t every = cfg(p)->aof_rewrite_incremental_fsync ? AUTOSYNC_BYTES : 0;
    snap_stats st;
    if (snapshot_write(p->e, fd, wall_ms(), every, &st, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    if (sync_fd(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "fsync of %s failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Fork a child (child.h); the caller's child runs on and exits 0 on
 * success. */
static pid_t fork_child(persist *p, int type, const char *what)
{
    pid_t pid = child_fork(p->e);
    if (pid < 0) {
        plog(p, LL_WARNING, "Can't %s: fork: %s", what, strerror(errno));
        return -1;
    }
    if (pid == 0) return 0;
    p->child_pid = pid;
    p->child_type = type;
    p->child_start_ms = clock_mono_ms();
    return pid;
}

/* Stop a running child and remove what it was writing. */
static void kill_child(persist *p)
{
    if (!p->child_pid) return;
    child_stop(p->child_pid);
    if (p->child_tmp) unlink(p->child_tmp);
    plog(p, LL_NOTICE, "Killed the %s child %d",
         p->child_type == CHILD_RDB ? "background saving" : "AOF rewrite", (int)p->child_pid);
    p->child_pid = 0;
    p->child_type = CHILD_NONE;
    dstr_free(p->child_tmp);
    p->child_tmp = NULL;
}

/* ---------------------------------------------------------------------- */
/* Snapshots: SAVE and BGSAVE                                              */
/* ---------------------------------------------------------------------- */

static void set_rdb_error(persist *p)
{
    snprintf(p->rdb_err, sizeof(p->rdb_err),
             "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
             "persist to disk. Commands that may modify the data set are disabled, because this "
             "instance is configured to report errors during writes if RDB snapshotting fails "
             "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
             "the RDB error.");
}

static void saved_ok(persist *p, long long dirty_at_start)
{
    p->e->stats.dirty -= dirty_at_start;
    if (p->e->stats.dirty < 0) p->e->stats.dirty = 0;
    note_saved(p);
    p->last_bgsave_ok = 1;
    p->rdb_saves++;
    update_write_error(p);
}

/* Write dbfilename in the format rdb-format asks for. */
static int save_dbfile(persist *p, size_t every, snap_stats *st, char *err, size_t errlen)
{
    if (cfg(p)->rdb_format == RDB_FORMAT_REDIS)
        return rdb_save(p->e, p->dir, cfg(p)->dbfilename, wall_ms(), err, errlen);
    return snapshot_save(p->e, p->dir, cfg(p)->dbfilename, wall_ms(), every, st, err, errlen);
}

/* SAVE: in the caller, blocking. */
static int save_now(persist *p)
{
    char err[512];
    snap_stats st;
    long long dirty = p->e->stats.dirty;
    size_t every = cfg(p)->rdb_save_incremental_fsync ? AUTOSYNC_BYTES : 0;
    if (save_dbfile(p, every, &st, err, sizeof(err)) != 0) {
        /* As Redis: a failed SAVE is reported to its caller; only a failed
         * background save stops writes. */
        plog(p, LL_WARNING, "Error saving the DB on disk: %s", err);
        return -1;
    }
    plog(p, LL_NOTICE, "DB saved on disk");
    saved_ok(p, dirty);
    return 0;
}

static int bgsave_start(persist *p)
{
    p->last_bgsave_try_s = clock_mono_ms() / 1000;
    if (!p->host.can_fork) {
        if (save_now(p) == 0) return 0;
        p->last_bgsave_ok = 0;
        update_write_error(p);
        return -1;
    }
    long long dirty = p->e->stats.dirty;
    pid_t pid = fork_child(p, CHILD_RDB, "save in background");
    if (pid < 0) {
        p->last_bgsave_ok = 0;
        update_write_error(p);
        return -1;
    }
    if (pid == 0) {
        char err[512];
        snap_stats st;
        size_t every = cfg(p)->rdb_save_incremental_fsync ? AUTOSYNC_BYTES : 0;
        int rc = save_dbfile(p, every, &st, err, sizeof(err));
        if (rc != 0)
            plog(p, LL_WARNING, "Error saving the DB on disk: %s", err);
        else
            plog(p, LL_NOTICE, "DB saved on disk");
        _exit(rc == 0 ? 0 : 1);
    }
    p->dirty_before_bgsave = dirty;
    char tmpname[64];
    snprintf(tmpname, sizeof(tmpname), "temp-%d.rdb", (int)pid);
    p->child_tmp = path_join(p->dir, tmpname);
    plog(p, LL_NOTICE, "Background saving started by pid %d", (int)pid);
    return 0;
}

static void bgsave_done(persist *p, int ok)
{
    p->rdb_last_bgsave_time_s = (clock_mono_ms() - p->child_start_ms) / 1000;
    if (ok) {
        plog(p, LL_NOTICE, "Background saving terminated with success");
        saved_ok(p, p->dirty_before_bgsave);
    } else {
        plog(p, LL_WARNING, "Background saving error");
        if (p->child_tmp) unlink(p->child_tmp);
        p->last_bgsave_ok = 0;
        update_write_error(p);
    }
}

/* ---------------------------------------------------------------------- */
/* The append-only log: files                                              */
/* ---------------------------------------------------------------------- */

static void sink(void *priv, const cairn_entry *entry)
{
    persist *p = priv;
    aof_writer_append(&p->w, entry);
}

static int writer_start(persist *p)
{
    if (p->writer_ready) return 0;
    if (aof_writer_init(&p->w, cfg(p)->appendfsync) != 0) {
        plog(p, LL_WARNING, "Can't start the AOF fsync thread: %s", strerror(errno));
        return -1;
    }
    p->writer_ready = 1;
    p->aof_write_ok = 1;
    engine_set_log_sink(p->e, sink, p);
    return 0;
}

static void writer_stop(persist *p)
{
    if (!p->writer_ready) return;
    engine_set_log_sink(p->e, NULL, NULL);
    if (aof_writer_sync_now(&p->w) != 0)
        plog(p, LL_WARNING, "Writing the AOF before closing it failed: %s",
             strerror(p->w.write_errno));
    aof_writer_destroy(&p->w);
    p->writer_ready = 0;
    p->aof_write_ok = 1;
}

/* Sizes of the base and of every incremental file but the last. */
static void measure_log(persist *p)
{
    uint64_t total = 0;
    if (p->man.base.name) {
        dstr path = aof_path(p, p->man.base.name);
        total += (uint64_t)file_size_at(path);
        dstr_free(path);
    }
    for (int i = 0; i + 1 < p->man.nincr; i++) {
        dstr path = aof_path(p, p->man.incr[i].name);
        total += (uint64_t)file_size_at(path);
        dstr_free(path);
    }
    p->aof_prev_bytes = total;
}

/* Open incremental file `name` for appending: an existing one as it is
 * (resume), or a new one empty -- a file left with that name by an old log
 * must not end up in front of the new entries. */
static int open_incr_mode(persist *p, const char *name, int fresh, int *fd, off_t *size)
{
    dstr path = aof_path(p, name);
    *fd = open_append(path);
    if (*fd >= 0 && fresh && ftruncate(*fd, 0) != 0) {
        close(*fd);
        *fd = -1;
    }
    if (*fd < 0) {
        plog(p, LL_WARNING, "Can't open the append-only file %s: %s", path, strerror(errno));
        dstr_free(path);
        return -1;
    }
    *size = fd_size(*fd);
    dstr_free(path);
    return 0;
}

static int open_incr(persist *p, const char *name, int *fd, off_t *size)
{
    return open_incr_mode(p, name, 0, fd, size);
}

static int create_incr(persist *p, const char *name, int *fd, off_t *size)
{
    return open_incr_mode(p, name, 1, fd, size);
}

static void delete_history(persist *p)
{
    for (int i = 0; i < p->man.nhist; i++) {
        dstr path = aof_path(p, p->man.hist[i].name);
        if (unlink(path) != 0 && errno != ENOENT)
            plog(p, LL_WARNING, "Can't remove the old AOF file %s: %s", path, strerror(errno));
        dstr_free(path);
    }
}

/* Create a log from scratch (appendonly yes and no manifest yet): the
 * current data as base 1, an empty incremental file, the manifest.  Used
 * at start-up, where blocking is fine. */
static int create_log(persist *p)
{
    dstr dir = aof_dir(p);
    char err[512];
    int rc = -1;
    aof_manifest m;
    manifest_init(&m);
    m.base_seq = p->man.base_seq + 1;
    m.incr_seq = p->man.incr_seq;
    dstr base = aof_base_name(cfg(p)->appendfilename, m.base_seq);
    dstr incr = aof_incr_name(cfg(p)->appendfilename, m.incr_seq + 1);
    dstr mname = aof_manifest_name(cfg(p)->appendfilename);
    snap_stats st;
    int fd = -1;
    off_t size = 0;
    if (make_dir(dir) != 0) {
        plog(p, LL_WARNING, "Can't create the AOF directory %s: %s", dir, strerror(errno));
        goto out;
    }
    if (snapshot_save(p->e, dir, base, wall_ms(), AUTOSYNC_BYTES, &st, err, sizeof(err)) != 0) {
        plog(p, LL_WARNING, "Can't write the AOF base: %s", err);
        goto out;
    }
    if (create_incr(p, incr, &fd, &size) != 0) goto out;
    m.base = (aof_file){dstr_dup(base), m.base_seq, AOF_BASE};
    manifest_add_incr(&m, incr, m.incr_seq + 1);
    if (manifest_save(dir, mname, &m) != 0) {
        plog(p, LL_WARNING, "Can't save the AOF manifest in %s: %s", dir, strerror(errno));
        close(fd);
        goto out;
    }
    manifest_free(&p->man);
    p->man = m;
    manifest_init(&m);
    aof_writer_switch(&p->w, fd, size);
    p->aof_state = AOF_ON;
    measure_log(p);
    p->aof_base_size = aof_current_size(p);
    plog(p, LL_NOTICE, "Creating AOF base file %s on server start", base);
    rc = 0;
out:
    manifest_free(&m);
    dstr_free(dir);
    dstr_free(base);
    dstr_free(incr);
    dstr_free(mname);
    return rc;
}

/* After loading an existing log: append to its last incremental file, or
 * start one if the manifest has none. */
static int resume_log(persist *p)
{
    int fd;
    off_t size;
    if (p->man.nincr > 0) {
        if (open_incr(p, p->man.incr[p->man.nincr - 1].name, &fd, &size) != 0) return -1;
    } else {
        long long seq = p->man.incr_seq + 1;
        dstr name = aof_incr_name(cfg(p)->appendfilename, seq);
        dstr dir = aof_dir(p);
        dstr mname = aof_manifest_name(cfg(p)->appendfilename);
        int rc = create_incr(p, name, &fd, &size);
        if (rc == 0) {
            manifest_add_incr(&p->man, name, seq);
            if (manifest_save(dir, mname, &p->man) != 0) {
                plog(p, LL_WARNING, "Can't save the AOF manifest: %s", strerror(errno));
                close(fd);
                rc = -1;
            }
        }
        dstr_free(name);
        dstr_free(dir);
        dstr_free(mname);
        if (rc != 0) return -1;
    }
    aof_writer_switch(&p->w, fd, size);
    p->aof_state = AOF_ON;
    measure_log(p);
    p->aof_base_size = aof_current_size(p);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Rewrites                                                                */
/* ---------------------------------------------------------------------- */

/* Before the fork, with AOF on: make the current incremental file
 * durable and move the writes to a new one that the manifest names, so
 * the files before it hold exactly what the child will snapshot. */
static int rewrite_switch_incr(persist *p)
{
    if (aof_writer_sync_now(&p->w) != 0) {
        note_commit(p, -1);
        plog(p, LL_WARNING, "Can't rewrite the AOF: flushing it failed: %s",
             strerror(p->w.write_errno));
        return -1;
    }
    long long seq = p->man.incr_seq + 1;
    dstr name = aof_incr_name(cfg(p)->appendfilename, seq);
    dstr dir = aof_dir(p);
    dstr mname = aof_manifest_name(cfg(p)->appendfilename);
    int fd, rc = -1;
    off_t size;
    aof_manifest m;
    manifest_copy(&m, &p->man);
    if (create_incr(p, name, &fd, &size) == 0) {
        manifest_add_incr(&m, name, seq);
        if (manifest_save(dir, mname, &m) == 0) {
            rc = 0;
        } else {
            plog(p, LL_WARNING, "Can't save the AOF manifest: %s", strerror(errno));
            close(fd);
            dstr path = aof_path(p, name);
            unlink(path);
            dstr_free(path);
        }
    }
    if (rc == 0) {
        manifest_free(&p->man);
        p->man = m;
        aof_writer_switch(&p->w, fd, size);
        measure_log(p);
    } else {
        manifest_free(&m);
    }
    dstr_free(name);
    dstr_free(dir);
    dstr_free(mname);
    return rc;
}

static void rewrite_failed(persist *p)
{
    p->last_rewrite_ok = 0;
    p->rewrite_failures++;
    if (p->child_tmp) unlink(p->child_tmp);
}

/* The child wrote a new base into p->child_tmp: install it. */
static int rewrite_install(persist *p)
{
    dstr dir = aof_dir(p);
    dstr mname = aof_manifest_name(cfg(p)->appendfilename);
    aof_manifest m;
    manifest_copy(&m, &p->man);
    long long base_seq = m.base_seq + 1;
    dstr base = aof_base_name(cfg(p)->appendfilename, base_seq);
    dstr base_path = path_join(dir, base);
    dstr incr = NULL, incr_path = NULL;
    int rc = -1;

    /* Everything before the incremental file that receives the writes
     * since the fork is replaced by the new base. */
    aof_file keep = {NULL, 0, AOF_INCR};
    for (int i = 0; i < m.nincr; i++) {
        if (m.incr[i].seq == p->rewrite_incr_seq) {
            keep = m.incr[i];
            m.incr[i].name = NULL;
        }
    }
    manifest_retire_all(&m);
    for (int i = 0; i < m.nhist; i++)
        if (!m.hist[i].name) m.hist[i] = m.hist[--m.nhist]; /* the kept one's hole */
    if (!keep.name) {
        /* WAIT_REWRITE: the temporary file becomes incremental file 1 of
         * the new log.  Off: an empty one starts it. */
        long long seq = m.incr_seq + 1;
        incr = aof_incr_name(cfg(p)->appendfilename, seq);
        incr_path = path_join(dir, incr);
        if (p->aof_state == AOF_WAIT_REWRITE) {
            if (rename(p->temp_incr, incr_path) != 0) {
                plog(p, LL_WARNING, "Can't rename %s: %s", p->temp_incr, strerror(errno));
                goto out;
            }
        } else {
            int fd = open_create_trunc(incr_path);
            if (fd < 0 || close(fd) != 0) {
                plog(p, LL_WARNING, "Can't create %s: %s", incr_path, strerror(errno));
                goto out;
            }
        }
        keep = (aof_file){dstr_dup(incr), seq, AOF_INCR};
    }
    m.incr = cm_realloc(m.incr, sizeof(aof_file));
    m.incr[0] = keep;
    m.nincr = 1;
    if (keep.seq > m.incr_seq) m.incr_seq = keep.seq;
    if (rename(p->child_tmp, base_path) != 0) {
        plog(p, LL_WARNING, "Can't rename the rewritten base into place: %s", strerror(errno));
        goto undo;
    }
    m.base = (aof_file){dstr_dup(base), base_seq, AOF_BASE};
    m.base_seq = base_seq;
    if (manifest_save(dir, mname, &m) != 0) {
        plog(p, LL_WARNING, "Can't save the AOF manifest: %s", strerror(errno));
        unlink(base_path);
        goto undo;
    }
    manifest_free(&p->man);
    p->man = m;
    manifest_init(&m);
    delete_history(p);
    for (int i = 0; i < p->man.nhist; i++)
        dstr_free(p->man.hist[i].name);
    p->man.nhist = 0;
    /* Forget the deleted files on disk too; if this fails, the manifest
     * only names history that loading ignores. */
    if (manifest_save(dir, mname, &p->man) != 0)
        plog(p, LL_WARNING, "Can't save the AOF manifest: %s", strerror(errno));
    rc = 0;
    goto out;
undo:
    /* The old manifest still stands; put the temporary file back. */
    if (p->aof_state == AOF_WAIT_REWRITE && incr_path) rename(incr_path, p->temp_incr);
out:
    manifest_free(&m);
    dstr_free(dir);
    dstr_free(mname);
    dstr_free(base);
    dstr_free(base_path);
    dstr_free(incr);
    dstr_free(incr_path);
    return rc;
}

static void rewrite_done(persist *p, int ok)
{
    p->aof_last_rewrite_time_s = (clock_mono_ms() - p->child_start_ms) / 1000;
    if (!ok || rewrite_install(p) != 0) {
        plog(p, LL_WARNING, "Background AOF rewrite failed");
        rewrite_failed(p);
        return;
    }
    int was_waiting = p->aof_state == AOF_WAIT_REWRITE;
    if (was_waiting) {
        p->aof_state = AOF_ON;
        dstr_free(p->temp_incr);
        p->temp_incr = NULL;
    }
    measure_log(p);
    p->aof_base_size = aof_current_size(p);
    p->last_rewrite_ok = 1;
    p->rewrite_failures = 0;
    p->aof_rewrites++;
    plog(p, LL_NOTICE, "Background AOF rewrite finished successfully");
    if (was_waiting) plog(p, LL_NOTICE, "AOF is now durable: the first base was written");
}

/* Start a rewrite.  Returns 0, or -1 (logged). */
static int rewrite_start(persist *p)
{
    p->rewrite_scheduled = 0;
    dstr dir = aof_dir(p);
    int made = make_dir(dir);
    dstr_free(dir);
    if (made != 0) {
        plog(p, LL_WARNING, "Can't create the AOF directory: %s", strerror(errno));
        rewrite_failed(p);
        return -1;
    }
    p->rewrite_incr_seq = 0;
    if (p->aof_state == AOF_WAIT_REWRITE && aof_writer_restart(&p->w) != 0) {
        /* Entries logged while the rewrite waited for its turn are in the
         * data the child will write: the temporary file starts over. */
        plog(p, LL_WARNING, "Can't reset the temporary AOF file: %s", strerror(errno));
        rewrite_failed(p);
        return -1;
    }
    if (p->aof_state == AOF_ON) {
        if (rewrite_switch_incr(p) != 0) {
            rewrite_failed(p);
            return -1;
        }
        p->rewrite_incr_seq = p->man.incr_seq;
    }
    pid_t pid = 0;
    if (p->host.can_fork) {
        pid = fork_child(p, CHILD_AOF, "rewrite the AOF");
        if (pid < 0) {
            rewrite_failed(p);
            return -1;
        }
    } else {
        p->child_start_ms = clock_mono_ms();
    }
    char tmpname[80];
    snprintf(tmpname, sizeof(tmpname), "temp-rewriteaof-bg-%d.aof",
             pid == 0 ? (int)getpid() : (int)pid);
    dstr tmp = aof_path(p, tmpname);
    if (pid == 0 && p->host.can_fork) {
        char err[512];
        int rc = write_snapshot_file(p, tmp, err, sizeof(err));
        if (rc != 0)
            plog(p, LL_WARNING, "AOF rewrite: %s", err);
        else
            plog(p, LL_NOTICE, "Successfully created the temporary AOF base file %s", tmpname);
        _exit(rc == 0 ? 0 : 1);
    }
    dstr_free(p->child_tmp);
    p->child_tmp = tmp;
    if (pid > 0) {
        plog(p, LL_NOTICE, "Background append only file rewriting started by pid %d", (int)pid);
        return 0;
    }
    /* No fork: do the child's work here. */
    char err[512];
    int ok = write_snapshot_file(p, tmp, err, sizeof(err)) == 0;
    if (!ok) plog(p, LL_WARNING, "AOF rewrite: %s", err);
    rewrite_done(p, ok);
    dstr_free(p->child_tmp);
    p->child_tmp = NULL;
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Switching the log on and off at runtime                                 */
/* ---------------------------------------------------------------------- */

static const char *aof_turn_on(persist *p)
{
    char err[512];
    if (lock_dir(p, p->dir, err, sizeof(err)) != 0) {
        plog(p, LL_WARNING, "%s", err);
        return "Unable to turn on AOF. Check server logs.";
    }
    dstr dir = aof_dir(p);
    int made = make_dir(dir);
    if (made == 0 && !p->man.base.name && p->man.nincr == 0) {
        /* A log left from an earlier run: continue its numbering, and
         * retire its files once the new base replaces them. */
        dstr mname = aof_manifest_name(cfg(p)->appendfilename);
        if (manifest_load(dir, mname, &p->man, err, sizeof(err)) < 0)
            plog(p, LL_WARNING, "Ignoring the old AOF manifest: %s", err);
        dstr_free(mname);
    }
    dstr_free(dir);
    if (made != 0) {
        plog(p, LL_WARNING, "Can't create the AOF directory: %s", strerror(errno));
        return "Unable to turn on AOF. Check server logs.";
    }
    /* Entries go to a temporary file until the first base exists. */
    char name[300];
    snprintf(name, sizeof(name), "temp-%s.incr", cfg(p)->appendfilename);
    dstr temp = aof_path(p, name);
    /* O_APPEND: the file may be emptied again (aof_writer_restart). */
    int fd = open_append(temp);
    if (fd >= 0 && ftruncate(fd, 0) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0 || writer_start(p) != 0) {
        plog(p, LL_WARNING, "Can't open %s: %s", temp, strerror(errno));
        if (fd >= 0) close(fd);
        dstr_free(temp);
        return "Unable to turn on AOF. Check server logs.";
    }
    aof_writer_switch(&p->w, fd, 0);
    dstr_free(p->temp_incr);
    p->temp_incr = temp;
    p->aof_state = AOF_WAIT_REWRITE;
    if (p->child_pid) {
        p->rewrite_scheduled = 1;
        plog(p, LL_NOTICE,
             "AOF was enabled but there is already another background operation. "
             "An AOF background was scheduled to start when possible.");
        return NULL;
    }
    if (rewrite_start(p) != 0) {
        writer_stop(p);
        unlink(p->temp_incr);
        p->aof_state = AOF_OFF;
        return "Unable to turn on AOF. Check server logs.";
    }
    return NULL;
}

static void aof_turn_off(persist *p)
{
    if (p->child_type == CHILD_AOF) kill_child(p);
    p->rewrite_scheduled = 0;
    writer_stop(p);
    if (p->aof_state == AOF_WAIT_REWRITE && p->temp_incr) unlink(p->temp_incr);
    dstr_free(p->temp_incr);
    p->temp_incr = NULL;
    p->aof_state = AOF_OFF;
    update_write_error(p);
}

void persist_resync_begin(persist *p)
{
    p->resync_stopped_aof = p->aof_state != AOF_OFF;
    if (p->resync_stopped_aof) aof_turn_off(p);
}

const char *persist_resync_end(persist *p)
{
    if (!p->resync_stopped_aof) return NULL;
    p->resync_stopped_aof = 0;
    return cfg(p)->appendonly && p->aof_state == AOF_OFF ? aof_turn_on(p) : NULL;
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                              */
/* ---------------------------------------------------------------------- */

persist *persist_new(cairn_engine *e, const persist_host *host)
{
    persist *p = cm_calloc(1, sizeof(*p));
    p->e = e;
    p->host = *host;
    p->lock_fd = -1;
    p->aof_write_ok = 1;
    p->last_bgsave_ok = 1;
    p->last_rewrite_ok = 1;
    p->rdb_last_bgsave_time_s = -1;
    p->aof_last_rewrite_time_s = -1;
    note_saved(p);
    manifest_init(&p->man);
    set_rdb_error(p);
    return p;
}

static void free_plan(persist *p)
{
    for (int i = 0; i < p->nplan; i++)
        dstr_free(p->plan[i].path);
    cm_free(p->plan);
    p->plan = NULL;
    p->nplan = p->plan_idx = 0;
}

static void close_current(persist *p)
{
    if (p->snap) snap_loader_free(p->snap);
    p->snap = NULL;
    rdb_loader_free(p->rdbl);
    p->rdbl = NULL;
    if (p->reader_open) aof_reader_free(&p->reader);
    p->reader_open = 0;
}

void persist_free(persist *p)
{
    if (!p) return;
    if (p->child_pid) kill_child(p);
    close_current(p);
    free_plan(p);
    if (p->loader_out.head) rbuf_free(&p->loader_out);
    session_reset(&p->loader);
    writer_stop(p);
    if (p->aof_state == AOF_WAIT_REWRITE && p->temp_incr) unlink(p->temp_incr);
    dstr_free(p->temp_incr);
    manifest_free(&p->man);
    unlock_dir(p);
    dstr_free(p->dir);
    dstr_free(p->child_tmp);
    if (p->e->log_sink == sink) engine_set_log_sink(p->e, NULL, NULL);
    p->e->write_error = NULL;
    cm_free(p);
}

static void plan_add(persist *p, dstr path, int last_incr)
{
    p->plan = cm_realloc(p->plan, sizeof(load_item) * ((size_t)p->nplan + 1));
    p->plan[p->nplan++] = (load_item){path, last_incr};
    p->load_total += (uint64_t)file_size_at(path);
}

/* Leftovers of a run that died mid-rewrite or mid-save. */
static void remove_temp_files(persist *p)
{
    dstr dir = aof_dir(p);
    char name[300];
    snprintf(name, sizeof(name), "temp-%s.incr", cfg(p)->appendfilename);
    dstr temp = path_join(dir, name);
    unlink(temp);
    dstr_free(temp);
    dstr_free(dir);
}

static int plan_log(persist *p, char *err, size_t errlen)
{
    dstr dir = aof_dir(p);
    dstr mname = aof_manifest_name(cfg(p)->appendfilename);
    int rc = manifest_load(dir, mname, &p->man, err, errlen);
    dstr_free(mname);
    if (rc < 0) {
        dstr_free(dir);
        return PERSIST_ECORRUPT;
    }
    if (rc == 0) {
        if (p->man.base.name) plan_add(p, path_join(dir, p->man.base.name), 0);
        for (int i = 0; i < p->man.nincr; i++)
            plan_add(p, path_join(dir, p->man.incr[i].name), i == p->man.nincr - 1);
        for (int i = 0; i < p->nplan; i++) {
            if (!path_exists(p->plan[i].path)) {
                snprintf(err, errlen, "the manifest names %s, which does not exist",
                         p->plan[i].path);
                dstr_free(dir);
                return PERSIST_ECORRUPT;
            }
        }
    } else {
        /* No log yet.  Rather than start empty next to a snapshot (Redis
         * would), load the snapshot and make it the first base. */
        dstr rdb = path_join(p->dir, cfg(p)->dbfilename);
        if (path_exists(rdb)) {
            plog(p, LL_NOTICE, "No AOF found; loading %s and using it as the first AOF base", rdb);
            plan_add(p, rdb, 0);
        } else {
            dstr_free(rdb);
        }
        p->create_aof_after_load = 1;
    }
    dstr_free(dir);
    remove_temp_files(p);
    return 0;
}

int persist_open(persist *p, const char *dir, char *err, size_t errlen)
{
    dstr_free(p->dir);
    p->dir = dstr_from_cstr(dir);
    if (persistence_configured(p)) {
        int rc = lock_dir(p, dir, err, errlen);
        if (rc != 0) return rc;
    }
    if (cfg(p)->appendonly) {
        int rc = plan_log(p, err, errlen);
        if (rc != 0) return rc;
    } else {
        dstr rdb = path_join(p->dir, cfg(p)->dbfilename);
        if (path_exists(rdb))
            plan_add(p, rdb, 0);
        else
            dstr_free(rdb);
    }
    session_init(p->e, &p->loader);
    rbuf_init(&p->loader_out, 2);
    p->load_start_us = p->load_last_log_us = clock_mono_us();
    p->load_start_time_s = wall_ms() / 1000;
    p->e->loading = 1;
    if (p->nplan)
        plog(p, LL_NOTICE, "Loading %.2f MB from %d file%s; progress is logged every second",
             (double)p->load_total / 1048576, p->nplan, p->nplan > 1 ? "s" : "");
    return 0;
}

void persist_skip_load(persist *p)
{
    free_plan(p);
    p->load_total = 0;
}

int persist_is_loading(const persist *p) { return p->e->loading; }

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */
/* ---------------------------------------------------------------------- */

static long long total_keys(const cairn_engine *e)
{
    long long n = 0;
    for (int i = 0; i < e->ndbs; i++)
        n += db_size(&e->dbs[i]);
    return n;
}

static uint64_t load_position(const persist *p)
{
    uint64_t pos = p->load_done_files;
    if (p->snap) pos += snap_loader_offset(p->snap);
    if (p->rdbl) pos += rdb_loader_offset(p->rdbl);
    if (p->reader_open) pos += p->reader.off;
    return pos;
}

int persist_fsync_stats(persist *p, hist *out, uint64_t *sum_ns)
{
    if (!p->writer_ready) return -1;
    aof_writer_fsync_stats(&p->w, out, sum_ns);
    return 0;
}

double persist_load_percent(const persist *p)
{
    return p->load_total ? 100.0 * (double)load_position(p) / (double)p->load_total : 0;
}

static void log_progress(persist *p, int64_t now)
{
    if (now - p->load_last_log_us < 1000000) return;
    p->load_last_log_us = now;
    uint64_t pos = load_position(p);
    double secs = (double)(now - p->load_start_us) / 1e6;
    double perc = p->load_total ? 100.0 * (double)pos / (double)p->load_total : 100.0;
    plog(p, LL_NOTICE, "Loading: %.1f%% (%.2f MB of %.2f MB, %.1f MB/s), %lld keys", perc,
         (double)pos / 1048576, (double)p->load_total / 1048576,
         secs > 0 ? (double)pos / 1048576 / secs : 0.0, total_keys(p->e));
}

static void rdb_warn(void *priv, const char *msg) { plog((persist *)priv, LL_WARNING, "%s", msg); }

/* Open the next file of the plan; which loader reads it depends on what
 * it holds (a base may be a snapshot or, written by another tool, a log
 * of entries). */
static int open_next(persist *p, char *err, size_t errlen)
{
    const char *path = p->plan[p->plan_idx].path;
    int fd = open_read(path);
    if (fd < 0) {
        snprintf(err, errlen, "can't open %s: %s", path, strerror(errno));
        return -1;
    }
    char head[8];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n < 0) {
        snprintf(err, errlen, "can't read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (snapshot_sniff(head, (size_t)n)) {
        p->snap = snap_loader_new(fd, p->e, wall_ms());
        if (p->load_merge) snap_loader_merge(p->snap);
    } else if (rdb_sniff(head, (size_t)n)) {
        char why[256];
        p->rdbl = rdb_loader_new(fd, p->e, wall_ms(), rdb_warn, p, why, sizeof(why));
        if (!p->rdbl) {
            snprintf(err, errlen, "Failed loading the Redis RDB %s: %s", path, why);
            return -1;
        }
        if (p->load_merge) rdb_loader_merge(p->rdbl);
        plog(p, LL_NOTICE, "%s is a Redis RDB (version %d): loading it", path,
             rdb_loader_stats(p->rdbl)->version);
    } else {
        aof_reader_init(&p->reader, fd);
        p->reader_open = 1;
    }
    return 0;
}

static void finish_file(persist *p)
{
    p->load_done_files += (uint64_t)file_size_at(p->plan[p->plan_idx].path);
    close_current(p);
    p->plan_idx++;
}

static int step_snapshot(persist *p, char *err, size_t errlen)
{
    char why[512];
    int rc = snap_loader_step(p->snap, LOAD_SLICE, why, sizeof(why));
    if (rc == SNAP_ERROR) {
        const char *path = p->plan[p->plan_idx].path;
        snprintf(err, errlen,
                 "Failed loading %s: %s. Start-up stopped and nothing was changed; inspect the "
                 "file with `cairn-check %s`",
                 path, why, path);
        return PERSIST_ERROR;
    }
    if (rc == SNAP_DONE) {
        p->load_keys_loaded += snap_loader_stats(p->snap)->keys;
        finish_file(p);
    }
    return PERSIST_MORE;
}

static int step_rdb(persist *p, char *err, size_t errlen)
{
    char why[512];
    int rc = rdb_loader_step(p->rdbl, RDB_LOAD_SLICE, why, sizeof(why));
    if (rc == RDB_LOAD_ERROR) {
        const char *path = p->plan[p->plan_idx].path;
        snprintf(err, errlen,
                 "Failed loading the Redis RDB %s: %s. Start-up stopped and nothing was changed; "
                 "inspect the file with `cairn-check --rdb %s`",
                 path, why, path);
        return PERSIST_ERROR;
    }
    if (rc == RDB_LOAD_DONE) {
        const rdb_load_stats *st = rdb_loader_stats(p->rdbl);
        p->load_keys_loaded += st->keys;
        plog(p, LL_NOTICE, "Done loading the Redis RDB: %lld keys (%lld with an expiry)", st->keys,
             st->expires);
        finish_file(p);
    }
    return PERSIST_MORE;
}

/* The end of a log file whose tail must be cut: it ends inside an entry
 * (a crash while appending), or inside a transaction (MULTI and some of
 * its writes made it, the EXEC did not: none of it may count, and entries
 * appended later must not land inside it).  Cut it back, if allowed, as
 * Redis does.  Only the last incremental file can legitimately end so. */
static int cut_tail(persist *p, int torn, char *err, size_t errlen)
{
    const load_item *it = &p->plan[p->plan_idx];
    int open_tx = (p->loader.flags & SESS_MULTI) != 0;
    uint64_t cut = open_tx ? p->multi_off : p->reader.off;
    if (!it->last_incr || !cfg(p)->aof_load_truncated) {
        snprintf(err, errlen,
                 "Unexpected end of file reading the append only file %s at offset %llu%s. You "
                 "can: 1) make a backup of it, then run `cairn-check --fix %s` to cut it at the "
                 "last whole entry; 2) set aof-load-truncated yes and restart the server",
                 it->path, (unsigned long long)p->reader.off,
                 open_tx ? " (inside a MULTI/EXEC transaction)" : "", it->path);
        return PERSIST_ERROR;
    }
    if (torn)
        plog(p, LL_WARNING, "!!! Warning: short read while loading the AOF file %s!!!", it->path);
    if (open_tx)
        plog(p, LL_WARNING, "Revert incomplete MULTI/EXEC transaction in AOF file %s", it->path);
    plog(p, LL_WARNING, "!!! Truncating the AOF %s at offset %llu !!!", it->path,
         (unsigned long long)cut);
    if (truncate(it->path, (off_t)cut) != 0) {
        snprintf(err, errlen, "Error truncating the AOF file %s: %s", it->path, strerror(errno));
        return PERSIST_ERROR;
    }
    multi_discard(&p->loader);
    plog(p, LL_WARNING, "AOF %s loaded anyway because aof-load-truncated is enabled", it->path);
    finish_file(p);
    return PERSIST_MORE;
}

static int is_multi(const entry_view *v)
{
    return v->e.argc == 1 && v->e.argv[0].len == 5 &&
           strncasecmp(v->e.argv[0].ptr, "multi", 5) == 0;
}

/* Replay one entry through the engine's apply path.  An entry that does
 * not apply (an unknown command, a db out of range, an error reply) did
 * apply on the node that logged it: the log is corrupt, and skipping the
 * entry would silently lose or change data. */
static int apply(persist *p, const entry_view *v, char *err, size_t errlen)
{
    if (engine_apply_entry(p->e, &p->loader, &v->e, &p->loader_out) != 0) {
        char why[200];
        rbuf_first_error(&p->loader_out, why, sizeof(why));
        const char *path = p->plan[p->plan_idx].path;
        snprintf(err, errlen,
                 "Bad entry in the append only file %s at offset %llu: its %.*s command (db %u) "
                 "failed to apply: %s. Start-up stopped and nothing was changed; inspect the file "
                 "with `cairn-check %s`",
                 path, (unsigned long long)(p->reader.off - v->size),
                 (int)(v->e.argv[0].len > 64 ? 64 : v->e.argv[0].len), v->e.argv[0].ptr, v->e.db,
                 why, path);
        return -1;
    }
    rbuf_reset(&p->loader_out);
    return 0;
}

static int step_log(persist *p, int64_t deadline, char *err, size_t errlen)
{
    for (int n = 0;; n++) {
        if ((n & 255) == 255 && clock_mono_us() >= deadline) return PERSIST_MORE;
        entry_view v;
        const char *why = "";
        int rc = aof_reader_next(&p->reader, &v, &why);
        if (rc == AOF_READ_OK) {
            if (is_multi(&v) && !(p->loader.flags & SESS_MULTI))
                p->multi_off = p->reader.off - v.size;
            int bad = apply(p, &v, err, errlen);
            entry_view_free(&v);
            if (bad) return PERSIST_ERROR;
            continue;
        }
        const char *path = p->plan[p->plan_idx].path;
        switch (rc) {
        case AOF_READ_END:
            if (p->loader.flags & SESS_MULTI) return cut_tail(p, 0, err, errlen);
            finish_file(p);
            return PERSIST_MORE;
        case AOF_READ_TRUNCATED: return cut_tail(p, 1, err, errlen);
        case AOF_READ_CORRUPT:
            snprintf(err, errlen,
                     "Bad file format reading the append only file %s at offset %llu (%s). "
                     "Start-up stopped and nothing was changed. Make a backup of the file, then "
                     "run `cairn-check --fix %s` to cut the log at the last good entry (what "
                     "follows it is lost)",
                     path, (unsigned long long)p->reader.off, why, path);
            return PERSIST_ERROR;
        default:
            snprintf(err, errlen, "Error reading %s: %s", path, strerror(errno));
            return PERSIST_ERROR;
        }
    }
}

static int finish_loading(persist *p, char *err, size_t errlen)
{
    double secs = (double)(clock_mono_us() - p->load_start_us) / 1e6;
    if (p->nplan)
        plog(p, LL_NOTICE, "DB loaded from %s: %.3f seconds (%.1f MB/s), %lld keys",
             cfg(p)->appendonly ? "append only file" : "disk", secs,
             secs > 0 ? (double)p->load_total / 1048576 / secs : 0.0, total_keys(p->e));
    free_plan(p);
    rbuf_free(&p->loader_out);
    memset(&p->loader_out, 0, sizeof(p->loader_out));
    session_reset(&p->loader);
    p->e->loading = 0;
    p->e->stats.dirty = 0;
    note_saved(p);
    if (!cfg(p)->appendonly) return PERSIST_DONE;
    if (writer_start(p) != 0) {
        snprintf(err, errlen, "Can't start the AOF writer: %s", strerror(errno));
        return PERSIST_ERROR;
    }
    /* No log to resume (none at start-up, or CONFIG SET appendonly yes
     * while loading): the loaded data becomes its first base. */
    int fresh = p->create_aof_after_load || (!p->man.base.name && p->man.nincr == 0);
    int rc = fresh ? create_log(p) : resume_log(p);
    p->create_aof_after_load = 0;
    if (rc != 0) {
        snprintf(err, errlen, "Can't open the append only file for writing (see the log above)");
        return PERSIST_ERROR;
    }
    return PERSIST_DONE;
}

int persist_load_step(persist *p, int64_t budget_us, char *err, size_t errlen)
{
    if (!p->e->loading) return PERSIST_DONE;
    int64_t deadline = clock_mono_us() + budget_us;
    while (p->plan_idx < p->nplan) {
        if (!p->snap && !p->rdbl && !p->reader_open && open_next(p, err, errlen) != 0)
            return PERSIST_ERROR;
        int rc = p->rdbl   ? step_rdb(p, err, errlen)
                 : p->snap ? step_snapshot(p, err, errlen)
                           : step_log(p, deadline, err, errlen);
        if (rc == PERSIST_ERROR) return rc;
        int64_t now = clock_mono_us();
        log_progress(p, now);
        if (now >= deadline) return PERSIST_MORE;
    }
    return finish_loading(p, err, errlen);
}

/* ---------------------------------------------------------------------- */
/* Commit                                                                  */
/* ---------------------------------------------------------------------- */

/* As Redis: a slow write is also filed under what it competed with, an
 * fsync of the thread or a child writing a snapshot or a rewrite. */
static void sample_aof_write(persist *p, int64_t now_s, long long ms)
{
    const char *with = "aof-write-alone";
    if (aof_writer_fsync_busy(&p->w))
        with = "aof-write-pending-fsync";
    else if (p->child_pid)
        with = "aof-write-active-child";
    latency_sample(p->e, with, now_s, ms);
    latency_sample(p->e, "aof-write", now_s, ms);
}

int persist_commit(persist *p)
{
    if (!p->writer_ready) return 0;
    p->w.timed = latency_monitor_on(cfg(p)->latency_monitor_threshold);
    int rc = aof_writer_commit(&p->w);
    if (p->w.timed) {
        int64_t now_s = wall_ms() / 1000;
        if (p->w.write_us >= 0) sample_aof_write(p, now_s, p->w.write_us / 1000);
        if (p->w.fsync_us >= 0)
            latency_sample(p->e, "aof-fsync-always", now_s, p->w.fsync_us / 1000);
    }
    if (rc != 0 || !p->aof_write_ok) note_commit(p, rc);
    return rc;
}

uint64_t persist_appended(const persist *p) { return p->writer_ready ? p->w.appended : 0; }

uint64_t persist_durable(persist *p) { return p->writer_ready ? aof_writer_durable(&p->w) : 0; }

/* ---------------------------------------------------------------------- */
/* Cron                                                                    */
/* ---------------------------------------------------------------------- */

static void reap_child(persist *p)
{
    int ok, sig;
    if (!p->child_pid || !child_poll(p->child_pid, &ok, &sig)) return;
    if (sig) plog(p, LL_WARNING, "Child %d terminated by signal %d", (int)p->child_pid, sig);
    int type = p->child_type;
    p->child_pid = 0;
    p->child_type = CHILD_NONE;
    if (type == CHILD_RDB)
        bgsave_done(p, ok);
    else
        rewrite_done(p, ok);
    dstr_free(p->child_tmp);
    p->child_tmp = NULL;
}

/* A save point ("save <seconds> <changes>") whose time and changes have
 * both come; after a failure, retry only every few seconds. */
static int save_point_due(persist *p, int64_t now_s)
{
    const char *s = cfg(p)->save;
    long long dirty = p->e->stats.dirty;
    while (s && *s) {
        char *end;
        long long secs = strtoll(s, &end, 10);
        if (end == s) break;
        long long changes = strtoll(end, &end, 10);
        s = end;
        if (dirty >= changes && now_s - p->lastsave_mono_s > secs &&
            (now_s - p->last_bgsave_try_s > BGSAVE_RETRY_DELAY_S || p->last_bgsave_ok)) {
            plog(p, LL_NOTICE, "%lld changes in %lld seconds. Saving...", changes, secs);
            return 1;
        }
    }
    return 0;
}

static int auto_rewrite_due(persist *p)
{
    const cairn_config *c = cfg(p);
    if (p->aof_state != AOF_ON || !c->auto_aof_rewrite_percentage) return 0;
    uint64_t size = aof_current_size(p);
    if (size < (uint64_t)c->auto_aof_rewrite_min_size) return 0;
    uint64_t base = p->aof_base_size ? p->aof_base_size : 1;
    uint64_t growth = size > base ? (size - base) * 100 / base : 0;
    if (growth < (uint64_t)c->auto_aof_rewrite_percentage) return 0;
    /* After failures, back off as Redis does (one try a minute). */
    if (p->rewrite_failures > 3 && clock_mono_ms() - p->child_start_ms < 60000) return 0;
    plog(p, LL_NOTICE, "Starting automatic rewriting of AOF on %llu%% growth",
         (unsigned long long)growth);
    return 1;
}

void persist_cron(persist *p)
{
    if (p->e->loading) return;
    reap_child(p);
    int64_t now = clock_mono_ms();
    if (p->writer_ready && !p->aof_write_ok && now - p->aof_last_retry_ms >= 1000) {
        p->aof_last_retry_ms = now;
        persist_commit(p);
    }
    if (p->writer_ready && p->aof_write_ok) {
        /* Surface an fsync failure of the background thread even when no
         * write comes to commit. */
        persist_commit(p);
    }
    if (!p->child_pid) {
        if (p->bgsave_scheduled) {
            p->bgsave_scheduled = 0;
            bgsave_start(p);
        } else if (p->rewrite_scheduled) {
            rewrite_start(p);
        } else if (save_point_due(p, now / 1000)) {
            bgsave_start(p);
        } else if (auto_rewrite_due(p)) {
            rewrite_start(p);
        }
    }
    update_write_error(p);
}

/* ---------------------------------------------------------------------- */
/* Commands                                                                */
/* ---------------------------------------------------------------------- */

static void save_command(persist *p, cmd_call *c)
{
    if (p->child_type == CHILD_RDB) {
        reply_error(c->out, "ERR Background save already in progress");
        return;
    }
    if (save_now(p) == 0)
        reply_ok(c->out);
    else
        reply_error(c->out, "ERR");
}

static void bgsave_command(persist *p, cmd_call *c)
{
    int schedule = 0;
    if (c->argc > 1) {
        if (c->argc == 2 && arg_is(c, 1, "schedule")) {
            schedule = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (p->child_type == CHILD_RDB) {
        reply_error(c->out, "ERR Background save already in progress");
    } else if (p->child_pid) {
        if (schedule) {
            p->bgsave_scheduled = 1;
            reply_simple(c->out, "Background saving scheduled");
        } else {
            reply_error(c->out, "ERR Another child process is active (AOF?): can't BGSAVE right "
                                "now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE "
                                "whenever possible.");
        }
    } else if (bgsave_start(p) == 0) {
        reply_simple(c->out, "Background saving started");
    } else {
        reply_error(c->out, "ERR");
    }
}

static void bgrewriteaof_command(persist *p, cmd_call *c)
{
    if (p->child_type == CHILD_AOF) {
        reply_error(c->out, "ERR Background append only file rewriting already in progress");
    } else if (p->child_pid) {
        p->rewrite_scheduled = 1;
        reply_simple(c->out, "Background append only file rewriting scheduled");
    } else if (rewrite_start(p) == 0) {
        reply_simple(c->out, "Background append only file rewriting started");
    } else {
        reply_error(c->out, "ERR Can't execute an AOF background rewriting. Please check the "
                            "server logs for more information.");
    }
}

/* Load the files of the plan at once, in the caller (DEBUG RELOAD and
 * LOADAOF), through the start-up loaders.  The log sink is detached so
 * that nothing replayed is appended again. */
static int load_plan_now(persist *p, char *err, size_t errlen)
{
    cairn_engine *e = p->e;
    cairn_log_sink saved_sink = e->log_sink;
    void *saved_priv = e->log_priv;
    engine_set_log_sink(e, NULL, NULL);
    rbuf_init(&p->loader_out, 2);
    e->loading = 1;
    int rc = PERSIST_MORE;
    while (rc != PERSIST_ERROR && p->plan_idx < p->nplan) {
        if (!p->snap && !p->rdbl && !p->reader_open && open_next(p, err, errlen) != 0) {
            rc = PERSIST_ERROR;
            break;
        }
        rc = p->rdbl   ? step_rdb(p, err, errlen)
             : p->snap ? step_snapshot(p, err, errlen)
                       : step_log(p, INT64_MAX, err, errlen);
    }
    e->loading = 0;
    close_current(p);
    free_plan(p);
    p->load_total = p->load_done_files = 0;
    rbuf_free(&p->loader_out);
    memset(&p->loader_out, 0, sizeof(p->loader_out));
    session_reset(&p->loader);
    engine_set_log_sink(e, saved_sink, saved_priv);
    e->stats.dirty = 0;
    return rc == PERSIST_ERROR ? -1 : 0;
}

/* Empty every db (and the functions, which the files hold too) without
 * logging it: what is loaded next is what the log already describes. */
static void empty_dataset(persist *p)
{
    cslice argv[1] = {{"FLUSHALL", 8}};
    cairn_entry flush = {0, 0, 0, 1, argv};
    rbuf out;
    rbuf_init(&out, 2);
    engine_apply_entry(p->e, &p->loader, &flush, &out);
    rbuf_free(&out);
    session_reset(&p->loader);
    cslice fargv[2] = {{"FUNCTION", 8}, {"FLUSH", 5}};
    cairn_entry fflush = {0, 0, 0, 2, fargv};
    rbuf_init(&out, 2);
    engine_apply_entry(p->e, &p->loader, &fflush, &out);
    rbuf_free(&out);
    session_reset(&p->loader);
}

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save dbfilename, empty the
 * dataset and load the file back, as Redis does to check that a save
 * loses nothing.  NOFLUSH loads over the dataset: a key or function the
 * file holds too fails the load, unless MERGE lets the file's replace it. */
static void debug_reload(persist *p, cmd_call *c)
{
    int save = 1, flush = 1, merge = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "nosave")) {
            save = 0;
        } else if (arg_is(c, i, "noflush")) {
            flush = 0;
        } else if (arg_is(c, i, "merge")) {
            merge = 1;
        } else {
            reply_error(c->out, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                                "options.");
            return;
        }
    }
    if (save && (p->child_type == CHILD_RDB || save_now(p) != 0)) {
        reply_error(c->out, "ERR Error trying to save the RDB");
        return;
    }
    dstr path = path_join(p->dir, cfg(p)->dbfilename);
    if (!path_exists(path)) {
        dstr_free(path);
        reply_error(c->out, "ERR Error trying to load the RDB dump, check server logs.");
        return;
    }
    if (flush) empty_dataset(p);
    plan_add(p, path, 0);
    char err[1024];
    p->load_merge = merge;
    int rc = load_plan_now(p, err, sizeof(err));
    p->load_merge = 0;
    if (rc != 0) {
        plog(p, LL_WARNING, "DEBUG RELOAD: %s", err);
        reply_error(c->out, "ERR Error trying to load the RDB dump, check server logs.");
        return;
    }
    plog(p, LL_NOTICE, "DB reloaded by DEBUG RELOAD");
    reply_ok(c->out);
}

/* DEBUG LOADAOF: write out what the log holds, empty the dataset and
 * replay the log's files, to check that the log describes the data. */
static void debug_loadaof(persist *p, cmd_call *c)
{
    if (p->aof_state != AOF_ON) {
        reply_error(c->out, "ERR DEBUG LOADAOF needs the append only file on (appendonly yes) "
                            "and its first rewrite done");
        return;
    }
    if (persist_commit(p) != 0) {
        reply_error(c->out, "ERR Error writing the append only file, check server logs.");
        return;
    }
    empty_dataset(p);
    dstr dir = aof_dir(p);
    if (p->man.base.name) plan_add(p, path_join(dir, p->man.base.name), 0);
    for (int i = 0; i < p->man.nincr; i++)
        plan_add(p, path_join(dir, p->man.incr[i].name), i == p->man.nincr - 1);
    dstr_free(dir);
    char err[1024];
    if (load_plan_now(p, err, sizeof(err)) != 0) {
        plog(p, LL_WARNING, "DEBUG LOADAOF: %s", err);
        reply_error(c->out, "ERR Error loading the append only file, check server logs.");
        return;
    }
    plog(p, LL_NOTICE, "Append Only File loaded by DEBUG LOADAOF");
    reply_ok(c->out);
}

void persist_command(persist *p, cmd_call *c)
{
    const char *name = c->cmd->name;
    if (!strcmp(name, "debug") && p->e->loading)
        /* DEBUG runs while loading, but the start-up load owns the plan. */
        reply_error(c->out, "LOADING Redis is loading the dataset in memory");
    else if (!strcmp(name, "debug"))
        arg_is(c, 1, "reload") ? debug_reload(p, c) : debug_loadaof(p, c);
    else if (!strcmp(name, "save"))
        save_command(p, c);
    else if (!strcmp(name, "bgsave"))
        bgsave_command(p, c);
    else if (!strcmp(name, "bgrewriteaof"))
        bgrewriteaof_command(p, c);
    else
        reply_int(c->out, p->lastsave_s);
}

/* ---------------------------------------------------------------------- */
/* INFO persistence                                                        */
/* ---------------------------------------------------------------------- */

static void info_loading(persist *p, dstr *out)
{
    int64_t now = clock_mono_us();
    uint64_t pos = load_position(p);
    double secs = (double)(now - p->load_start_us) / 1e6;
    double perc = p->load_total ? 100.0 * (double)pos / (double)p->load_total : 0;
    double rate = secs > 0 ? (double)pos / secs : 0;
    long long eta = rate > 0 ? (long long)((double)(p->load_total - pos) / rate) : 1;
    *out = dstr_catfmt(*out,
                       "loading_start_time:%lld\r\n"
                       "loading_total_bytes:%llu\r\n"
                       "loading_rdb_used_mem:0\r\n"
                       "loading_loaded_bytes:%llu\r\n"
                       "loading_loaded_perc:%.2f\r\n"
                       "loading_eta_seconds:%lld\r\n",
                       (long long)p->load_start_time_s, (unsigned long long)p->load_total,
                       (unsigned long long)pos, perc, eta);
}

size_t persist_aof_buffer_mem(const persist *p)
{
    return p->aof_state != AOF_OFF && p->writer_ready ? dstr_cap(p->w.buf) : 0;
}

void persist_info(persist *p, dstr *out)
{
    int64_t now_s = clock_mono_ms() / 1000; /* for the running child's age */
    int rdb_child = p->child_type == CHILD_RDB, aof_child = p->child_type == CHILD_AOF;
    *out = dstr_catfmt(*out,
                       "loading:%d\r\n"
                       "async_loading:0\r\n"
                       "current_cow_peak:0\r\n"
                       "current_cow_size:0\r\n"
                       "current_cow_size_age:0\r\n"
                       "current_fork_perc:0.00\r\n"
                       "current_save_keys_processed:0\r\n"
                       "current_save_keys_total:0\r\n"
                       "rdb_changes_since_last_save:%lld\r\n"
                       "rdb_bgsave_in_progress:%d\r\n"
                       "rdb_last_save_time:%lld\r\n"
                       "rdb_last_bgsave_status:%s\r\n"
                       "rdb_last_bgsave_time_sec:%lld\r\n"
                       "rdb_current_bgsave_time_sec:%lld\r\n"
                       "rdb_saves:%lld\r\n"
                       "rdb_last_cow_size:0\r\n"
                       "rdb_last_load_keys_expired:%lld\r\n"
                       "rdb_last_load_keys_loaded:%lld\r\n"
                       "aof_enabled:%d\r\n"
                       "aof_rewrite_in_progress:%d\r\n"
                       "aof_rewrite_scheduled:%d\r\n"
                       "aof_last_rewrite_time_sec:%lld\r\n"
                       "aof_current_rewrite_time_sec:%lld\r\n"
                       "aof_last_bgrewrite_status:%s\r\n"
                       "aof_rewrites:%lld\r\n"
                       "aof_rewrites_consecutive_failures:%lld\r\n"
                       "aof_last_write_status:%s\r\n"
                       "aof_last_cow_size:0\r\n"
                       "module_fork_in_progress:0\r\n"
                       "module_fork_last_cow_size:0\r\n",
                       p->e->loading, p->e->stats.dirty, rdb_child, (long long)p->lastsave_s,
                       p->last_bgsave_ok ? "ok" : "err", p->rdb_last_bgsave_time_s,
                       rdb_child ? now_s - p->child_start_ms / 1000 : -1LL, p->rdb_saves,
                       p->load_keys_expired, p->load_keys_loaded, p->aof_state != AOF_OFF,
                       aof_child, p->rewrite_scheduled, p->aof_last_rewrite_time_s,
                       aof_child ? now_s - p->child_start_ms / 1000 : -1LL,
                       p->last_rewrite_ok ? "ok" : "err", p->aof_rewrites, p->rewrite_failures,
                       p->aof_write_ok ? "ok" : "err");
    if (p->aof_state != AOF_OFF && p->writer_ready) {
        *out = dstr_catfmt(*out,
                           "aof_current_size:%llu\r\n"
                           "aof_base_size:%llu\r\n"
                           "aof_pending_rewrite:%d\r\n"
                           "aof_buffer_length:%zu\r\n"
                           "aof_pending_bio_fsync:%d\r\n"
                           "aof_delayed_fsync:%lld\r\n",
                           (unsigned long long)aof_current_size(p),
                           (unsigned long long)p->aof_base_size, p->rewrite_scheduled,
                           dstr_len(p->w.buf), aof_writer_fsync_busy(&p->w), p->w.delayed_fsync);
    }
    if (p->e->loading) info_loading(p, out);
}

/* ---------------------------------------------------------------------- */
/* Configuration                                                           */
/* ---------------------------------------------------------------------- */

const char *persist_config_changed(persist *p, const char *name)
{
    if (p->e->loading) return NULL; /* acted on once loading ends */
    if (!strcmp(name, "appendonly")) {
        if (cfg(p)->appendonly && p->aof_state == AOF_OFF) return aof_turn_on(p);
        if (!cfg(p)->appendonly && p->aof_state != AOF_OFF) aof_turn_off(p);
        return NULL;
    }
    if (!strcmp(name, "appendfsync")) {
        if (p->writer_ready) aof_writer_set_policy(&p->w, cfg(p)->appendfsync);
        return NULL;
    }
    if (!strcmp(name, "save") && save_points_configured(p)) {
        char err[512];
        if (lock_dir(p, p->dir, err, sizeof(err)) != 0) {
            plog(p, LL_WARNING, "%s", err);
            return "the data directory is locked by another process";
        }
    }
    if (!strcmp(name, "save") || !strcmp(name, "stop-writes-on-bgsave-error"))
        update_write_error(p);
    return NULL;
}

const char *persist_set_dir(persist *p, const char *dir)
{
    if (p->dir && !strcmp(p->dir, dir)) return NULL;
    if (p->aof_state != AOF_OFF)
        return "can't change dir while the append-only log is on (set appendonly no first)";
    if (p->child_pid) return "can't change dir while a background save is running";
    if (persistence_configured(p)) {
        char err[512];
        if (lock_dir(p, dir, err, sizeof(err)) != 0) {
            plog(p, LL_WARNING, "%s", err);
            return "the data directory is locked by another process";
        }
    } else {
        unlock_dir(p);
    }
    dstr_free(p->dir);
    p->dir = dstr_from_cstr(dir);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Shutdown                                                                */
/* ---------------------------------------------------------------------- */

int persist_shutdown(persist *p, int flags)
{
    if (p->e->loading) return 0; /* nothing to save from a half load */
    if (p->child_pid) kill_child(p);
    int failed = 0;
    if (p->writer_ready) {
        plog(p, LL_NOTICE, "Calling fsync() on the AOF file.");
        if (aof_writer_sync_now(&p->w) != 0) {
            plog(p, LL_WARNING, "Error writing the AOF before exiting: %s",
                 strerror(p->w.write_errno));
            failed = 1;
        }
    }
    int want_save =
        (save_points_configured(p) || (flags & SHUTDOWN_SAVE)) && !(flags & SHUTDOWN_NOSAVE);
    if (want_save) {
        plog(p, LL_NOTICE, "Saving the final RDB snapshot before exiting.");
        if (save_now(p) != 0) {
            plog(p, LL_WARNING, "Error trying to save the DB, can't exit.");
            failed = 1;
        }
    }
    if (failed && !(flags & SHUTDOWN_FORCE)) return -1;
    return 0;
}
