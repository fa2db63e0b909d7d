/* persist.h -- durability for one engine: the append-only log, snapshots,
 * recovery, and the background children that write them.
 *
 * Both hosts use it: cairn-server drives it from its event loop (commit
 * before replies, load in slices from an idle handle, cron from a timer),
 * the embedding API from cairn_command() and cairn_close().  It owns the
 * data directory while it runs (a flock'ed lock file), the log writer and
 * its fsync thread, and at most one child process (BGSAVE or
 * BGREWRITEAOF), as Redis does.
 *
 * Error handling: nothing here exits.  Start-up problems come back as
 * messages for the host to print; a failing disk later turns into a
 * "MISCONF ..." error set on the engine (writes refused, reads served)
 * until writing works again. */
#ifndef CAIRN_PERSIST_H
#define CAIRN_PERSIST_H

#include <stdint.h>

#include "../ds/histogram.h"
#include "../engine/engine.h"

typedef struct persist persist;

typedef void (*persist_log_fn)(void *priv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct persist_host {
    persist_log_fn log; /* level is LL_* */
    void *priv;
    /* May BGSAVE and BGREWRITEAOF fork a child?  A library must not fork
     * its host application, so without this they run in the foreground. */
    int can_fork;
} persist_host;

enum { PERSIST_DONE = 0, PERSIST_MORE = 1, PERSIST_ERROR = -1 };

/* Error codes of persist_open(), for hosts that classify failures. */
enum { PERSIST_EIO = 1, PERSIST_EBUSY = 2, PERSIST_ECORRUPT = 3 };

persist *persist_new(cairn_engine *e, const persist_host *host);
/* Close everything (the log is committed and fsynced first; no snapshot
 * is taken: that is persist_shutdown's) and release the directory. */
void persist_free(persist *p);

/* Take the data directory (an absolute path), lock it when persistence is
 * configured, and find what there is to load.  Sets the engine's loading
 * flag when there is.  Returns 0, or a PERSIST_E* code with a message. */
int persist_open(persist *p, const char *dir, char *err, size_t errlen);
/* Load nothing from the directory: a replicated node's Raft log is its
 * command log (src/repl/node.h).  Call after persist_open(). */
void persist_skip_load(persist *p);
/* Load for about budget_us microseconds.  Returns PERSIST_MORE, then
 * PERSIST_DONE once the dataset is in memory and the log is open for
 * appending, or PERSIST_ERROR with a message naming the file, the offset
 * and the repair tool (nothing on disk was changed). */
int persist_load_step(persist *p, int64_t budget_us, char *err, size_t errlen);
int persist_is_loading(const persist *p);
/* The log's fsync durations (ns) and their sum since it was turned on;
 * -1 when the log is off. */
int persist_fsync_stats(persist *p, hist *out, uint64_t *sum_ns);
/* How much of the dataset is loaded, 0..100 (for supervisors). */
double persist_load_percent(const persist *p);

/* Group commit: write (and fsync, with appendfsync always) every entry
 * logged since the last call.  Returns 0, or -1 after a failure (the
 * entries stay buffered and writes are refused until a retry works). */
int persist_commit(persist *p);
/* The log offset after the last entry appended, and the offset up to
 * which entries are durable under the fsync policy: a reply that depends
 * on an entry may only be sent once durable >= the entry's end. */
uint64_t persist_appended(const persist *p);
uint64_t persist_durable(persist *p);

/* Periodic work, a few times a second: reap children, save schedules,
 * automatic rewrites, retrying a failed write. */
void persist_cron(persist *p);

/* SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE (cairn_host_ops.persist_cmd). */
void persist_command(persist *p, cmd_call *c);
/* The fields of INFO persistence (cairn_host_ops.persist_info). */
void persist_info(persist *p, dstr *out);
/* Bytes the log's write buffer holds (INFO mem_aof_buffer). */
size_t persist_aof_buffer_mem(const persist *p);
/* A configuration parameter changed: appendonly, appendfsync, save, ...
 * Returns NULL, or why the change cannot be made (it is then undone). */
const char *persist_config_changed(persist *p, const char *name);
/* The data directory moved (CONFIG SET dir). */
const char *persist_set_dir(persist *p, const char *dir);

/* Before exiting: stop a child, make the log durable and, with save
 * points configured (or SHUTDOWN_SAVE) and without SHUTDOWN_NOSAVE, save a
 * snapshot.  Returns 0, or -1 if that failed (the host should then stay
 * up unless SHUTDOWN_FORCE). */
int persist_shutdown(persist *p, int flags);

/* A replica's full resynchronization replaces the whole dataset: begin
 * stops the append-only log (if on) so that the flush and the load are
 * not logged, while the manifest on disk keeps naming the old data; end
 * starts it again from a new base written from the loaded dataset (as
 * CONFIG SET appendonly yes does).  end returns NULL, or why the log could
 * not restart. */
void persist_resync_begin(persist *p);
const char *persist_resync_end(persist *p);

#endif
