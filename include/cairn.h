/* cairn.h -- the public API of libcairn, an embeddable Redis-compatible
 * in-memory data store.
 *
 * This is the only header an application includes.  It depends on nothing
 * but the C standard library and is stable: functions and types are only
 * ever added, and the structures an application allocates itself
 * (cairn_options) carry reserved space so they can grow without breaking
 * the ABI.
 *
 * A minimal program:
 *
 *     cairn *db;
 *     if (cairn_open(NULL, &db) != CAIRN_OK) { ... cairn_errmsg(db) ...; }
 *     cairn_reply *r;
 *     const char *argv[] = {"SET", "greeting", "hello"};
 *     if (cairn_command(db, 3, argv, NULL, &r) == CAIRN_OK) {
 *         ... r->type == CAIRN_REPLY_STATUS, r->str is "OK" ...
 *         cairn_reply_free(r);
 *     }
 *     cairn_close(db);
 *
 * Conventions used throughout:
 *
 *  - Functions that can fail return an int result code (CAIRN_OK on
 *    success); cairn_errstr() names a code and cairn_errmsg() gives the
 *    message of the last failure on a handle.
 *  - A command that Redis answers with an error ("-WRONGTYPE ...", "-ERR
 *    syntax error") is NOT a failure of the API: cairn_command() returns
 *    CAIRN_OK and a reply of type CAIRN_REPLY_ERROR, exactly as hiredis
 *    does.  A non-OK result code means the call itself could not be made
 *    (a NULL argument, a closed handle, ...).
 *  - Memory handed to the caller (replies) is released with the matching
 *    free function; memory passed in (arguments, options) is never kept
 *    after the call returns.
 *
 * See docs/embedding.md for the full guide. */
#ifndef CAIRN_H
#define CAIRN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CAIRN_SENTINEL __attribute__((sentinel))
#else
#define CAIRN_SENTINEL
#endif

/* ---------------------------------------------------------------------- */
/* Version                                                                 */
/* ---------------------------------------------------------------------- */

#define CAIRN_VERSION "0.1.0"
/* major * 1000000 + minor * 1000 + patch */
#define CAIRN_VERSION_NUMBER 1000

/* The version of the library actually linked (which may differ from the
 * header the application was compiled with when linked dynamically). */
const char *cairn_libversion(void);
int cairn_libversion_number(void);

/* ---------------------------------------------------------------------- */
/* Result codes                                                            */
/* ---------------------------------------------------------------------- */

#define CAIRN_OK       0 /* success */
#define CAIRN_ERROR    1 /* generic failure (e.g. an invalid configuration value) */
#define CAIRN_NOMEM    2 /* out of memory */
#define CAIRN_MISUSE   3 /* the API was used incorrectly (NULL argument, bad option) */
#define CAIRN_IOERR    4 /* an operating-system I/O call failed (persistence) */
#define CAIRN_BUSY     5 /* a resource is in use (e.g. the directory is locked) */
#define CAIRN_CORRUPT  6 /* persisted data is damaged (persistence) */
#define CAIRN_NOTSUP   7 /* the operation is not supported by this build */
#define CAIRN_INTERNAL 8 /* an internal invariant failed: a bug, please report */
#define CAIRN_TIMEOUT  9 /* a replicated node did not get the group's answer in time */

/* A static English description of rc ("not an error", "out of memory",
 * ...).  Never NULL; unknown codes give "unknown error". */
const char *cairn_errstr(int rc);

/* ---------------------------------------------------------------------- */
/* Opening and closing a store                                             */
/* ---------------------------------------------------------------------- */

/* A handle on one store: one engine (all its databases) and one session
 * (the selected database, the client name, ...).  Opaque. */
typedef struct cairn cairn;

/* Options for cairn_open().  Always initialise with cairn_options_init()
 * before setting fields, so fields added in later versions (carved out of
 * the reserved space) get their defaults. */
typedef struct cairn_options {
    /* Number of logical databases (SELECT 0 .. databases-1).  Default 16;
     * 0 also means the default. */
    int databases;
    /* Persistence directory, or NULL for a purely in-memory store (the
     * default).  With a directory (created if missing, and locked so no
     * other process or handle opens it meanwhile: CAIRN_BUSY), the store
     * loads what the directory holds, then logs every write to its
     * append-only log before cairn_command() returns (see `sync`).  Set
     * {"appendonly", "no"} in `config` for snapshots only (SAVE, and
     * `save` points), as with an RDB-only Redis. */
    const char *dir;
    /* Seed for the store's hash keys and random choices (RANDOMKEY, SPOP,
     * eviction sampling).  0, the default, draws 32 bytes from the OS with
     * getrandom(); any other value makes the store reproducible, which is
     * meant for tests. */
    uint64_t seed;
    /* Extra configuration as name/value pairs, as they would appear in a
     * redis.conf file: {"maxmemory", "100mb", "hz", "20", NULL}.  The list
     * ends with a NULL name.  NULL (the default) for none.  Applied at
     * startup, after the fields of this structure, so parameters that
     * CONFIG SET refuses may be set here.  The names are cairn-server's,
     * its own settings included (raft-*, masterauth, tls-*, bind, ...:
     * docs/embedding.md); those of the server's process only (port,
     * daemonize, logfile, ...) fail the open with CAIRN_ERROR. */
    const char *const *config;
    /* With a dir: when a write's log entry must reach the disk, as Redis's
     * appendfsync.  CAIRN_SYNC_DEFAULT keeps the configuration's
     * `appendfsync` (everysec unless `config` says otherwise). */
    int sync;
    /* Replication (docs/embedding.md, "A member of a Raft group"): with
     * raft_id and raft_peers set (and a dir, which holds the Raft log),
     * the handle is a member of a Raft group, as cairn-server is with
     * raft-id and raft-peers, and the groups may mix both.  raft_peers
     * uses raft-peers's syntax, "1@10.0.0.1:7001,2@10.0.0.2:7002,...",
     * this node included: the handle listens on its own entry's port (on
     * the addresses of `bind` in `config`, else that entry's host) for the
     * other nodes (and for Redis clients), on a thread of its own.
     * raft_id 0, the default, is a standalone store.  raft_id, raft_peers
     * and raft_secret are shorthands for `config`'s raft-id, raft-peers
     * and raft-secret. */
    int raft_id;
    /* The longest cairn_command() waits for the group (a write to commit,
     * a follower's read round, the leader's reply to a forwarded write)
     * before it returns CAIRN_TIMEOUT; 0 means 5000 ms. */
    int raft_timeout_ms;
    /* Reserved for future options; cairn_options_init() zeroes them and
     * they must stay zero.  (New fields are carved out of these arrays so
     * that the structure keeps its size and every field its offset.) */
    int reserved_int[5];
    const char *raft_peers;
    /* What every node's RAFT MSG must carry (raft-secret), or NULL. */
    const char *raft_secret;
    void *reserved_ptr[6];
} cairn_options;

/* Values of cairn_options.sync. */
#define CAIRN_SYNC_DEFAULT 0
/* cairn_command() returns only once the write's entry is fsynced: an
 * acknowledged write survives a crash of the machine.  Costs an fsync per
 * write. */
#define CAIRN_SYNC_ALWAYS 1
/* The entry is written before cairn_command() returns (it survives the
 * process crashing); a background thread fsyncs at most once a second, so
 * a machine crash loses at most about the last second of writes. */
#define CAIRN_SYNC_EVERYSEC 2
/* Written before returning; the OS decides when it reaches the disk. */
#define CAIRN_SYNC_NO 3

/* Fill *opts with the defaults. */
void cairn_options_init(cairn_options *opts);

/* Open a new, empty store.  opts may be NULL for the defaults; it is read
 * during the call only.
 *
 * On success returns CAIRN_OK and sets *out to the handle.  On failure
 * returns the error code and, like sqlite3_open(), still sets *out to a
 * handle that reports the failure through cairn_errmsg() and must be
 * released with cairn_close(); every other call on it returns
 * CAIRN_MISUSE.  *out is NULL only when not even the handle could be
 * allocated (CAIRN_NOMEM), or out itself is NULL (CAIRN_MISUSE).
 *
 * Each handle is fully independent: several stores may be open in one
 * process and share no state. */
int cairn_open(const cairn_options *opts, cairn **out);

/* Close a handle and free the store and everything in it.  With a
 * directory, the log is first written and fsynced, a snapshot is saved if
 * `save` points are configured, and the directory is unlocked.  NULL is a
 * no-op.  The caller must ensure no other thread is using or will use the
 * handle.  Replies obtained from the handle stay valid: they are owned by
 * the caller, not the handle. */
void cairn_close(cairn *db);

/* ---------------------------------------------------------------------- */
/* Replies                                                                 */
/* ---------------------------------------------------------------------- */

/* Reply types; the values match hiredis's REDIS_REPLY_* so code ported
 * from hiredis can keep its switch statements. */
#define CAIRN_REPLY_STRING  1  /* a bulk string: str/len (binary safe) */
#define CAIRN_REPLY_ARRAY   2  /* element[0 .. elements-1] */
#define CAIRN_REPLY_INTEGER 3  /* integer */
#define CAIRN_REPLY_NIL     4  /* a null bulk, null array, or RESP3 null */
#define CAIRN_REPLY_STATUS  5  /* a simple string such as "OK": str/len */
#define CAIRN_REPLY_ERROR   6  /* str/len, starting with its code: "ERR ..." */
#define CAIRN_REPLY_DOUBLE  7  /* dval; str/len hold the text as sent ("3.5", "inf") */
#define CAIRN_REPLY_BOOL    8  /* integer is 1 or 0 */
#define CAIRN_REPLY_MAP     9  /* elements = 2 * pairs: key, value, key, value, ... */
#define CAIRN_REPLY_SET     10 /* element[0 .. elements-1] */
#define CAIRN_REPLY_ATTR    11 /* reserved: attributes are currently dropped */
#define CAIRN_REPLY_PUSH    12 /* an out-of-band message (pub/sub); element[] */
#define CAIRN_REPLY_BIGNUM  13 /* str/len hold the decimal digits */
#define CAIRN_REPLY_VERB    14 /* verbatim text: str/len, its format in vtype ("txt") */

/* One node of a reply tree.  Every string (str) is NUL-terminated after len
 * bytes, for convenience; len is authoritative since values are binary.
 * Fields not used by a type are zero / NULL.  Replies are allocated by the
 * library only, so fields may be appended in later versions. */
typedef struct cairn_reply {
    int type;          /* CAIRN_REPLY_* */
    long long integer; /* INTEGER; BOOL (1/0) */
    double dval;       /* DOUBLE */
    size_t len;        /* length of str */
    char *str;         /* STRING, STATUS, ERROR, DOUBLE, BIGNUM, VERB */
    char vtype[4];     /* VERB: the format, NUL-terminated ("txt", "mkd") */
    size_t elements;   /* ARRAY, MAP, SET, PUSH */
    struct cairn_reply **element;
} cairn_reply;

/* Free a reply and everything below it.  NULL is a no-op.  Only call it on
 * the root of a tree returned by the library, never on an element. */
void cairn_reply_free(cairn_reply *r);

/* ---------------------------------------------------------------------- */
/* Running commands                                                        */
/* ---------------------------------------------------------------------- */

/* Run one command, e.g. {"SET", "key", "value"}, as a Redis client would.
 *
 * argv holds argc >= 1 arguments; argvlen gives their lengths (arguments
 * are binary safe), or is NULL to take each as a NUL-terminated string.
 * The arguments are only read during the call.
 *
 * On CAIRN_OK, *out receives the reply tree, which the caller owns and
 * frees with cairn_reply_free().  Errors from the command itself arrive as
 * CAIRN_OK with a CAIRN_REPLY_ERROR reply carrying Redis's exact message.
 * *out is set to NULL when the command produced no reply at all (CLIENT
 * REPLY OFF / SKIP); if it produced several top-level replies (SUBSCRIBE
 * with several channels), they are returned as the elements of one
 * CAIRN_REPLY_ARRAY.  out may be NULL to discard the reply.
 *
 * Replies always use the RESP3 type system (a map is a CAIRN_REPLY_MAP, a
 * double a CAIRN_REPLY_DOUBLE), whatever HELLO was given.
 *
 * The handle's session state persists across calls: SELECT changes the
 * database of every later command on this handle (from any thread), and
 * CLIENT SETNAME names the handle.
 *
 * Thread safety: a handle may be used from several threads at once; each
 * command runs alone, under a mutex held by the handle, so commands are
 * serialised (and atomic) in some order.  Two handles never contend.
 *
 * On a member of a Raft group (cairn_options.raft_id) the call also waits
 * for the group: a write returns once committed, a follower forwards
 * writes to the leader and returns its reply, and reads are linearizable
 * (a follower first learns the leader's commit index).  Past
 * raft_timeout_ms it returns CAIRN_TIMEOUT with no reply: the write may or
 * may not be applied; CAIRN_ERROR likewise if leadership is lost first.
 *
 * Returns CAIRN_MISUSE for a NULL handle or argv, argc < 1, a NULL
 * argument, or a handle whose open failed; the message is in
 * cairn_errmsg().  With a directory, CAIRN_IOERR means the command changed
 * the data in memory but its log entry could not be written (a full or
 * failing disk): no reply is returned, and later writes are refused with
 * a "MISCONF ..." error reply until a retry of the log write succeeds
 * (each later call retries it; reads keep working). */
int cairn_command(cairn *db, int argc, const char *const *argv, const size_t *argvlen,
                  cairn_reply **out);

/* Convenience wrapper: the arguments are NUL-terminated strings ending
 * with a NULL pointer, like execl():
 *
 *     cairn_commandl(db, &r, "SET", "key", "value", (char *)NULL);
 *
 * At most 64 arguments. */
int cairn_commandl(cairn *db, cairn_reply **out, const char *arg0, ...) CAIRN_SENTINEL;

/* ---------------------------------------------------------------------- */
/* Pub/sub messages                                                        */
/* ---------------------------------------------------------------------- */

/* A handle's session subscribes as a connection does: SUBSCRIBE,
 * PSUBSCRIBE and SSUBSCRIBE through cairn_command() (their confirmations
 * are that command's reply, CAIRN_REPLY_PUSH nodes).  Messages for the
 * handle -- from its own PUBLISH, or keyspace notifications of its writes
 * -- are not part of any command's reply: each is a CAIRN_REPLY_PUSH of
 * {"message", channel, data}, {"pmessage", pattern, channel, data} or
 * {"smessage", channel, data}, handed over in publish order in one of two
 * ways.
 *
 * Polling: without a handler, messages queue on the handle and
 * cairn_next_message() takes the oldest.  The queue is bounded by the
 * pubsub class of `client-output-buffer-limit` (its hard limit, 32mb by
 * default): while it is full, new messages are dropped.
 *
 * Handler: with one set, the messages a command produced are passed to it
 * one at a time, in order, on the thread that called cairn_command(),
 * before that call returns and with the handle unlocked -- so the handler
 * may call cairn_command() on the same handle (its messages are handled
 * in a nested call).  msg is valid only during the call.  When several
 * threads run commands on one handle, their handlers may run at the same
 * time on those threads. */
typedef void (*cairn_message_handler)(void *priv, const cairn_reply *msg);

/* Set the handler (NULL to go back to polling; messages already queued
 * stay queued).  Returns CAIRN_MISUSE for a NULL or failed handle. */
int cairn_set_message_handler(cairn *db, cairn_message_handler handler, void *priv);

/* Take the oldest queued message: CAIRN_OK with *msg set (free it with
 * cairn_reply_free()), or CAIRN_OK with *msg NULL when none is queued.
 * Never waits. */
int cairn_next_message(cairn *db, cairn_reply **msg);

/* ---------------------------------------------------------------------- */
/* Log messages                                                            */
/* ---------------------------------------------------------------------- */

/* Levels of log messages, Redis's: debug, verbose, notice, warning. */
#define CAIRN_LOG_DEBUG   0
#define CAIRN_LOG_VERBOSE 1
#define CAIRN_LOG_NOTICE  2
#define CAIRN_LOG_WARNING 3

/* A store prints nothing.  What a server would write to its log -- what
 * scripts pass to redis.log(), and persistence messages -- goes to the
 * handler, one line (NUL-terminated, without a newline) per call, if its
 * level is at least the handler's.  The handler runs on the thread of
 * the command that logs, with the handle locked: it must not call back
 * into the same handle.  On a member of a Raft group, the node's messages
 * (elections, its links) come from the node's own thread, locked too. */
typedef void (*cairn_log_handler)(void *priv, int level, const char *msg);

/* Set the handler and the least level it gets (CAIRN_LOG_NOTICE is
 * Redis's default verbosity); NULL drops every message, as before any is
 * set.  Returns CAIRN_MISUSE for a NULL or failed handle or a level out of
 * range. */
int cairn_set_log_handler(cairn *db, int level, cairn_log_handler handler, void *priv);

/* The message describing the last failed call on db made by the calling
 * thread, or "not an error" if that call succeeded.  Messages are kept per
 * thread and per handle, so a thread never sees another thread's error.
 * The string stays valid until the next call on db from the same thread
 * or cairn_close().  db NULL gives the message for CAIRN_NOMEM (the only
 * way cairn_open() leaves no handle). */
const char *cairn_errmsg(cairn *db);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_H */
