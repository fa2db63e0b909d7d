/* engine.h -- the engine: databases, the execution context of a command,
 * dispatch through the command table, and the log sink.
 *
 * Everything lives in a cairn_engine passed explicitly (DESIGN rule 1).  A
 * command runs as a cmd_call: the engine, the calling session, the
 * arguments, and the execution context (now_ms, a seeded PRNG, the db and
 * the protocol version) that makes handlers deterministic (rule 2). */
#ifndef CAIRN_ENGINE_H
#define CAIRN_ENGINE_H

#include <stdint.h>

#include "../ds/dict.h"
#include "../ds/dstr.h"
#include "../ds/htab.h"
#include "../ds/rand.h"
#include "cmdstats.h"
#include "config.h"
#include "object.h"
#include "reply.h"

/* The Redis version whose commands and replies Cairn implements: HELLO
 * and INFO report it, so clients that gate features on the version enable
 * the 7.0 ones. */
#define REDIS_COMPAT_VERSION "7.0.15"

/* How often a client's reply peak starts over, as Redis's
 * REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME (DEBUG REPLYBUFFER). */
#define REPLY_PEAK_RESET_MS 5000

typedef struct cairn_engine cairn_engine;
typedef struct cmd_def cmd_def;
typedef struct cmd_call cmd_call;
typedef struct evict_state evict_state;

typedef struct cdb {
    htab *keys; /* keyed objects (object.h), found by their embedded key */
    /* The objects of keys that have an expiry time, in no order; each
     * knows its index (obj_volatile_index), so removal swaps the last one
     * into its place.  Active expiry walks it, volatile-* eviction samples
     * it. */
    cobj **vol;
    uint32_t nvol, vol_cap;
    int id;
    uint64_t expire_cursor; /* the index in vol where active expiry resumes */
    long long avg_ttl;      /* ms, a running estimate for INFO keyspace */
    dict *blocking;         /* key -> sessions parked on it (blocking.c) */
    dict *watched;          /* key -> sessions watching it (multi.c) */
} cdb;

/* A client of the engine: a network connection or an embedding handle. */
enum {
    SESS_CLOSE_AFTER_REPLY = 1 << 0, /* QUIT */
    SESS_REPLY_OFF = 1 << 1,         /* CLIENT REPLY OFF */
    SESS_REPLY_SKIP_NEXT = 1 << 2,   /* CLIENT REPLY SKIP: skip the next one */
    SESS_REPLY_SKIP = 1 << 3,        /* skip the reply of the current command */
    SESS_NO_EVICT = 1 << 4,
    SESS_NO_TOUCH = 1 << 5,
    SESS_CAN_BLOCK = 1 << 6,  /* a connection: blocking commands may wait */
    SESS_MULTI = 1 << 7,      /* between MULTI and EXEC/DISCARD */
    SESS_DIRTY_EXEC = 1 << 8, /* a queued command was refused: EXEC aborts */
    SESS_DIRTY_CAS = 1 << 9,  /* a watched key was modified: EXEC fails */
    SESS_IN_EXEC = 1 << 10,   /* EXEC is running the queued commands */
    SESS_LOADER = 1 << 11,    /* replays the log at startup: never refused */
    /* The host is cutting this session off (its output passed a limit):
     * nothing more is written to it. */
    SESS_CLOSE_ASAP = 1 << 12,
    SESS_MONITOR = 1 << 13, /* in MONITOR mode (monitor.c) */
    SESS_SCRIPT = 1 << 14,  /* the session scripts run their commands as */
    SESS_UNIX = 1 << 15,    /* a client of the unix socket */
    SESS_AUTHED = 1 << 16,  /* authenticated as `user` (acl.h) */
    /* A connection from this machine (loopback or unix socket), set by the
     * host: what enable-debug-command local allows. */
    SESS_LOCAL = 1 << 17,
    /* A Raft peer's connection (src/repl/node.c): its messages wait for
     * no read confirmation. */
    SESS_REPL_PEER = 1 << 18,
    /* Its write was forwarded to the leader (cairn_host_ops.repl_forward):
     * the connection waits for the reply, as a parked session does. */
    SESS_FORWARDED = 1 << 19,
    /* CLIENT SESSION named the session and sequence number of its next
     * write (seq_sid, seq_no): exactly once through a Raft group */
    SESS_SEQ = 1 << 20,
    /* From WATCH on a follower until EXEC, DISCARD or UNWATCH end it, the
     * session's commands run on the leader, on a connection of its own
     * (cairn_host_ops.repl_pin): the leader's WATCH decides its EXEC.
     * PIN_MULTI: the leader's side is in MULTI; PIN_DIRTY: a command was
     * refused while it was (its EXEC aborts). */
    SESS_PINNED = 1 << 21,
    SESS_PIN_MULTI = 1 << 22,
    SESS_PIN_DIRTY = 1 << 23,
};

/* What a command sent on a pinned session's connection is
 * (cairn_host_ops.repl_pin): any other, a WATCH (which starts the pin), a
 * MULTI, one that ends the pin (DISCARD, UNWATCH), an EXEC that does (an
 * EXEC the node reached refused because it does not lead ran nothing: the
 * client gets a null, aborted EXEC), a DISCARD sent for an EXEC that must
 * abort (SESS_PIN_DIRTY: the client gets -EXECABORT) or fail (a watch
 * lost before this pin, SESS_DIRTY_CAS: a null), or no command: the
 * session leaves its pin (RESET, disconnect). */
enum { PIN_CMD, PIN_WATCH, PIN_MULTI, PIN_END, PIN_EXEC, PIN_ABORT, PIN_CAS, PIN_DROP };

typedef struct blocked_state blocked_state;
typedef struct multi_state multi_state;
typedef struct pubsub_sess pubsub_sess;
typedef struct pubsub_state pubsub_state;
typedef struct tracking_sess tracking_sess;
typedef struct tracking_state tracking_state;

typedef struct cairn_session {
    uint64_t id;
    int db;
    int resp; /* 2 or 3 */
    int flags;
    dstr name;              /* NULL until CLIENT SETNAME */
    const char *addr;       /* "ip:port" of a connection (the host's), else NULL */
    dstr lib_name, lib_ver; /* CLIENT SETINFO, NULL until set */
    void *host_client;      /* the network client, opaque to the engine */
    /* Where a parked command's reply goes once it is served or times out
     * (the connection's output); NULL for sessions that cannot block. */
    rbuf *out;
    blocked_state *blocked;  /* non-NULL while parked (blocking.c) */
    multi_state *multi;      /* queued commands and watched keys (multi.c) */
    pubsub_sess *sub;        /* its subscriptions, NULL when none (pubsub.c) */
    tracking_sess *tracking; /* CLIENT TRACKING state, NULL when off (tracking.c) */
    /* The command of the last request, NULL if it named none (CLIENT
     * LIST's cmd=, as Redis's lastcmd).  A pointer, not a copy of the
     * name: it is set on every request. */
    const cmd_def *last_cmd;
    /* Its user (acl.h): a reference, never NULL once initialized. */
    struct acl_user *user;
    /* Failed authentications (AUTH, HELLO AUTH) since the last success:
     * the host slows the connection down by it. */
    uint32_t auth_failures;
    /* CLIENT SESSION: what its next write is (with SESS_SEQ). */
    uint64_t seq_sid, seq_no;
    /* What a command parked by block_for_signal() keeps between its runs
     * (WAIT: the log index its replicas must reach). */
    uint64_t block_arg;
} cairn_session;

/* One entry of the command log (DESIGN rule 4): a write that changed the
 * dataset, or a delete caused by expiry/eviction. */
typedef struct cairn_entry {
    uint32_t db;
    int64_t now_ms;
    uint64_t seed;
    int argc;
    const cslice *argv;
} cairn_entry;

typedef void (*cairn_log_sink)(void *priv, const cairn_entry *e);

/* One command's arguments (a queued command forwarded by EXEC). */
typedef struct cairn_cmdv {
    int argc;
    const cslice *argv;
} cairn_cmdv;

/* What the engine needs from whoever hosts it (the server, or nothing when
 * embedded).  Every member may be NULL. */
/* SHUTDOWN's modifiers, as passed to cairn_host_ops.shutdown. */
enum {
    SHUTDOWN_NOSAVE = 1 << 0,
    SHUTDOWN_SAVE = 1 << 1,
    SHUTDOWN_NOW = 1 << 2,
    SHUTDOWN_FORCE = 1 << 3,
};

enum { MIGRATE_IO_CONNECT = 1, MIGRATE_IO_WRITE = 2, MIGRATE_IO_READ = 3 };

typedef struct cairn_host_ops {
    /* CLIENT subcommands that need the list of connections. */
    void (*client_cmd)(void *priv, cmd_call *c);
    /* Append INFO section `section` ("server", "clients") to *out. */
    void (*info)(void *priv, const char *section, dstr *out);
    /* SHUTDOWN: returns 0 when the host will stop, else replies itself. */
    void (*shutdown)(void *priv, cmd_call *c, int flags);
    /* DEBUG SLEEP: block the whole host for us microseconds. */
    void (*sleep_us)(void *priv, long long us);
    /* The host's own settings (the server's port, bind, logfile, ...): a
     * table like the engine's (config.h) over the struct config_base()
     * returns.  The configuration file, CONFIG GET and CONFIG SET treat
     * them as the engine's own. */
    const config_def *config_defs;
    size_t config_count;
    void *(*config_base)(void *priv);
    /* A CONFIG SET changed a parameter (the engine's or the host's).
     * Returns NULL on success or an error message. */
    const char *(*config_changed)(void *priv, const char *name);
    /* CONFIG REWRITE: rewrite the configuration file the host was started
     * with.  Returns NULL, or the error without "ERR " (Redis's "The server
     * is running without a config file" when there is none). */
    const char *(*config_rewrite)(void *priv);
    /* A directive was accepted but has no effect: log msg (one line). */
    void (*config_warning)(void *priv, const char *msg);
    /* `include path` in a configuration file: read the file(s) (a glob
     * pattern) and apply them with config_load_string().  Returns 0, or
     * -1 with the message in *err (the caller frees it). */
    int (*config_include)(void *priv, const char *path, dstr *err);
    /* A parameter of the host's table that this host does not have (an
     * embedded store has no port or log file of cairn-server's): 1 with
     * the reason in why, else 0.  Setting it -- from a file, the options
     * or CONFIG SET -- fails with that reason; CONFIG GET does not show
     * it.  NULL: every parameter is the host's. */
    int (*config_refused)(void *priv, const config_def *d, char *why, size_t len);
    /* A parked session was served, timed out or unblocked: its reply is in
     * s->out and it may run its next command.  Called from inside
     * engine_execute() of another session: the host must only note it. */
    void (*unblocked)(void *priv, cairn_session *s);
    /* s received output that is not the reply to its own command (a
     * pub/sub message) in s->out: the host writes it out and enforces its
     * output buffer limit, setting SESS_CLOSE_ASAP to cut s off.  Called
     * from inside engine_execute() of any session: only note it. */
    void (*pushed)(void *priv, cairn_session *s);
    /* The session with this id, or NULL (CLIENT TRACKING's REDIRECT). */
    cairn_session *(*find_session)(void *priv, uint64_t id);
    /* SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE (t_persist.c): the host owns
     * the files and the child processes, so it runs them and replies. */
    void (*persist_cmd)(void *priv, cmd_call *c);
    /* Append the fields of INFO persistence to *out. */
    void (*persist_info)(void *priv, dstr *out);
    /* Called every so many instructions of a running script: once it has
     * run past busy-reply-threshold, the host sets e->busy and serves the
     * other clients (who get -BUSY, or run commands flagged allow-busy:
     * SCRIPT KILL, SHUTDOWN NOSAVE).  Returns 1 if the script must stop
     * now (the server shuts down). */
    int (*script_tick)(void *priv);
    /* MIGRATE: connect to host:port, send the nbytes of req and read
     * nlines reply lines (without their CRLF) into lines (dstrs the caller
     * frees), each step within timeout_ms.  Returns 0, or the step that
     * failed: MIGRATE_IO_CONNECT, _WRITE or _READ.  NULL: the host cannot
     * open connections (MIGRATE is refused). */
    int (*migrate_io)(void *priv, const char *host, int port, long long timeout_ms, const char *req,
                      size_t nbytes, int nlines, dstr *lines);
    /* A user was deleted: close its connections (the caller's own after
     * its reply).  user is a struct acl_user. */
    void (*drop_user_sessions)(void *priv, const struct acl_user *user);
    /* The CLIENT LIST line of the session of c (ACL LOG's client-info). */
    dstr (*client_info)(void *priv, const cmd_call *c);
    /* ACL LOAD (save 0) and ACL SAVE (save 1): the host reads or writes
     * the aclfile (acl_load_text(), acl_users_text()) and replies. */
    void (*acl_file)(void *priv, cmd_call *c, int save);
    /* RAFT, ROLE and WAIT (t_repl.c).  Returns 0 if the host is not a
     * replicated node (the engine then answers as a standalone master). */
    int (*repl_cmd)(void *priv, cmd_call *c);
    /* A follower got a write: returns 1 if the host forwarded it to the
     * leader (s is flagged SESS_FORWARDED; the reply comes later), 0 to
     * refuse it with -READONLY.  The host decides which sessions can wait
     * for the reply (a connection, an embedded handle; not a script's).
     * local_reply >= 0: an integer reply is replaced by it (a PUBLISH
     * answers its receivers on this node). */
    int (*repl_forward)(void *priv, cairn_session *s, int argc, const cslice *argv,
                        long long local_reply);
    /* A follower's transaction that writes, at EXEC: forward MULTI, the n
     * queued commands and EXEC to the leader as one unit (s flagged as for
     * repl_forward; the reply is the leader's EXEC reply).  Returns 1 if it
     * went.  n == 0: sends nothing, says whether s's transactions would be
     * forwarded (then its writes queue instead of being refused).  NULL:
     * writes inside MULTI are refused on a follower. */
    int (*repl_forward_tx)(void *priv, cairn_session *s, int n, const cairn_cmdv *cmds);
    /* A follower got a blocking write (BLPOP, BLMOVE, XREADGROUP, ...):
     * returns 1 if the host took it -- forwarded to the leader, where it
     * parks (s flagged as for repl_forward), or refused with an error of
     * its own in out --, 0 to refuse it with -READONLY. */
    int (*repl_forward_block)(void *priv, cairn_session *s, int argc, const cslice *argv,
                              rbuf *out);
    /* A command of a session pinned to the leader, or a WATCH that pins
     * it (kind: PIN_*): returns 1 if the host took it -- sent on the
     * session's connection to the leader (s flagged as for repl_forward),
     * or refused with an error of its own in out --, 0 to run it here (a
     * WATCH when the host forwards nothing; a pinned session whose pin is
     * gone).  NULL: WATCH runs here, as on a Redis replica. */
    int (*repl_pin)(void *priv, cairn_session *s, int argc, const cslice *argv, int kind,
                    rbuf *out);
    /* Exactly-once writes (CLIENT SESSION): c is the write that s named a
     * session and sequence number for.  Returns 1 if the host answered it
     * (a duplicate gets the answer of its first run; an unknown session
     * an error), 0 to run it, after which seq_done(c, mark) is called with
     * where its reply starts in c->out.  Both clear SESS_SEQ. */
    int (*seq_begin)(void *priv, cmd_call *c);
    void (*seq_done)(void *priv, cmd_call *c, rbuf_mark mark);
    /* A script's redis.log(): msg (NUL-terminated) at level LL_DEBUG ..
     * LL_WARNING, for the host's log, which drops the levels below its
     * verbosity as Redis's does.  NULL: messages go nowhere. */
    void (*log)(void *priv, int level, const char *msg);
} cairn_host_ops;

typedef struct engine_stats {
    long long dirty; /* changes since the last save */
    long long expired_keys;
    long long expired_stale_perc;
    long long expire_cycle_time_us;
    long long keyspace_hits, keyspace_misses;
    long long commands_processed;
    long long evicted_keys;
    long long evicted_clients; /* by maxmemory-clients (counted by the host) */
    /* Cairn's own (the metrics endpoint): rate limiter decisions, and
     * LOCK.ACQUIRE calls that got the lock or found it held. */
    long long limiter_allowed, limiter_limited;
    long long lock_acquired, lock_refused;
    /* Kept by the host, which forks for snapshots (INFO stats). */
    long long latest_fork_usec, total_forks;
} engine_stats;

struct cairn_engine {
    cdb *dbs;
    int ndbs;
    uint8_t hash_seed[16];
    crand rng; /* seeds each command's context */
    cairn_config cfg;
    engine_stats stats;
    struct cmd_index *commands; /* name -> cmd_def, case-insensitive (cmdtable.c) */
    cairn_log_sink log_sink;
    void *log_priv;
    const cairn_host_ops *host;
    void *host_priv;
    int active_expire_enabled; /* DEBUG SET-ACTIVE-EXPIRE */
    int cron_paused;           /* DEBUG PAUSE-CRON: the host's periodic work stops */
    int script_deny_disabled;  /* DEBUG SET-DISABLE-DENY-SCRIPTS: noscript commands run */
    /* DEBUG REPLYBUFFER: the host resizes clients' first reply blocks
     * (RESIZING), to the most they used between peak resets every
     * reply_peak_reset_ms (PEAK-RESET-TIME; -1: never). */
    int reply_resizing;
    long long reply_peak_reset_ms;
    /* CLIENT PAUSE is on: an expired key a read finds is hidden but not
     * deleted, as Redis deletes nothing while writes are paused. */
    int expire_paused;
    int64_t start_ms;
    uint64_t next_session_id;
    /* Blocking (blocking.c): how many sessions are parked, those with a
     * timeout in a min-heap by deadline, and the keys that a write made
     * ready since the last time they were served. */
    long blocked_count;
    blocked_state **tmo_heap;
    size_t tmo_n, tmo_cap;
    uint64_t block_seq;
    struct ready_key {
        int db;
        dstr key;
    } * ready;
    int nready, ready_cap;
    /* Sessions parked on no key (block_for_signal: WAIT), in arrival
     * order; a ready entry with db -1 runs them again. */
    blocked_state **sig_waiters;
    size_t nsig, sig_cap;
    /* The ready key whose parked sessions run again now (NULL otherwise):
     * Redis 7.0 serves them from that key only, whichever of their keys
     * comes first in their command (blocking_served_from()). */
    const cslice *serving_key;
    /* Set by the host.  While loading, commands without CMD_LOADING get
     * -LOADING; while write_error is set (the log or a snapshot could not
     * be written: a "MISCONF ..." reply), write commands are refused. */
    int loading;
    const char *write_error;
    /* Set by a replicated node (src/repl/node.c): the error that write
     * commands, resp. read commands, get in its current role (a follower's
     * -READONLY, a group without a leader's -CLUSTERDOWN), or NULL. */
    const char *repl_refuse_write, *repl_refuse_read;
    /* DESIGN rule 4: one node originates.  Set (the default) while this
     * engine is the one that accepts client writes (a standalone server,
     * an embedded store, a Raft leader): it expires and evicts, and its
     * changes, deletions included, become entries.  Cleared by the host
     * when the engine only applies entries made elsewhere (a follower). */
    int originates;
    /* Nonzero while engine_apply_entry() runs an entry from the log. */
    int applying;
    /* Set by a host that applies the command stream of a foreign master
     * (a Redis master, src/server/replica.c): those entries are this
     * engine's own log's, so their effects are logged while applying. */
    int relaying;
    /* Set by a Raft node: a PUBLISH (SPUBLISH) is an entry of the log, its
     * effect the delivery, applied on every node; publish_quiet is set
     * while the node applies entries whose messages were delivered before
     * (a replay after a restart or a rebuild): they deliver nothing, and
     * fire no keyspace notification. */
    int log_publish;
    int publish_quiet;
    evict_state *evict;       /* maxmemory: the memory meter and eviction pool (evict.c) */
    pubsub_state *pubsub;     /* channels and patterns with subscribers (pubsub.c) */
    tracking_state *tracking; /* client-side caching, NULL until used (tracking.c) */
    /* The Lua host (src/script/), created by its commands on first use
     * and freed through script_free: the engine knows nothing more of it. */
    struct script_engine *script;
    struct acl_state *acl; /* users and ACL LOG (acl.c) */
    void (*script_free)(void *script);
    /* A script has run past busy-reply-threshold: commands not flagged
     * allow-busy are refused with -BUSY until it ends.  busy_function:
     * the running script is a function (FCALL), which FUNCTION KILL stops. */
    int busy, busy_function;
    /* An atomic unit of the log being written (engine_atomic_begin):
     * nesting depth, and whether its MULTI marker went out. */
    int atomic_depth, atomic_logged;
    uint32_t atomic_db;
    int64_t atomic_now_ms;
    /* INFO commandstats, errorstats, latencystats (cmdstats.h).  err_seen
     * is errstats.total when the last call's errors were attributed, so
     * that an EXEC does not count as failed for its commands' errors. */
    cmdstats_table *cmdstats;
    long long startup_allocated; /* bytes allocated once started (MEMORY STATS) */
    err_stats errstats;
    long long err_seen;
    /* The host's monotonic clock in nanoseconds, to time commands; NULL:
     * commands are counted, not timed. */
    int64_t (*mono_ns)(void);
    /* Memory accounting (DESIGN rule 6, evict.h).  mem_process: the host
     * holds this engine alone in its process, so the allocator's figure
     * for the process is the engine's (cairn-server).  Otherwise the
     * engine's memory is what the threads running it allocated minus what
     * they freed while inside its brackets (engine_mem_enter/leave):
     * mem_net for the closed ones, and for the open one the calling
     * thread's net allocation since mem_base. */
    int mem_process;
    int mem_depth;
    int64_t mem_net;
    int64_t mem_base;
    /* Its reading at the end of the last command timed since
     * engine_execute_at() started, 0 if none: a host running commands back
     * to back starts the next one's timer from it. */
    int64_t mono_last_ns;
    /* The call a client asked for, while it runs (not the commands it runs
     * in turn, nor blocked clients it serves after): invalidations for its
     * own session wait until its reply is complete (tracking.c). */
    cmd_call *exec_call;
    /* What observes commands that ran past cfg.watch_ns: the slow log,
     * the latency monitor and the sessions in MONITOR mode; each NULL
     * until first used. */
    struct slowlog *slowlog;
    struct latency_monitor *latency;
    struct monitors *monitors;
};

/* RETRY_FINAL: a command parked by block_for_signal() run once more at its
 * timeout (or CLIENT UNBLOCK), to reply. */
enum { RETRY_NONE = 0, RETRY_RUNNING = 1, RETRY_PARKED_AGAIN = 2, RETRY_FINAL = 3 };

struct cmd_call {
    cairn_engine *e;
    cairn_session *s;
    const cmd_def *cmd;
    int argc;
    const cslice *argv;
    /* The execution context: all a handler may depend on besides the
     * keyspace and its arguments. */
    cdb *db;
    int64_t now_ms;
    int64_t now_us; /* the same instant in microseconds (TIME) */
    uint64_t seed;
    crand rng;
    rbuf *out;
    long long dirty; /* changes this call made; > 0 means it is logged */
    int retry;       /* RETRY_*: a parked command run again (blocking.c) */
    /* Bit i set: the key argv[i] was left unchanged by a call that changed
     * others (SMOVE to a set that has the member), so WATCH and client
     * tracking do not see it touched. */
    unsigned unchanged_keys;
    /* log_as(), log_add(): the entries to log instead of argv. */
    struct log_pack *log;
    unsigned lfu_draws; /* LFU counter draws made from seed (evict.c) */
    cmd_stats *stats;   /* the command's statistics (cmdstats.h) */
    int64_t start_ns;   /* when it started, on e->mono_ns */
};

/* Mark the key argv[i] as left unchanged by this call (see
 * unchanged_keys); a key past the mask's bits counts as changed. */
static inline void call_mark_unchanged(cmd_call *c, int i)
{
    if (i < 32) c->unchanged_keys |= 1u << i;
}

static inline int call_key_unchanged(const cmd_call *c, int i)
{
    return i < 32 && (c->unchanged_keys >> i & 1u);
}

/* May session s do what a PROTECTED_* setting (enable-debug-command,
 * enable-protected-configs) guards? */
static inline int protected_allowed(int setting, const cairn_session *s)
{
    return setting == PROTECTED_YES || (setting == PROTECTED_LOCAL && (s->flags & SESS_LOCAL));
}

/* May the engine decide changes of its own now (expire, evict, emit
 * entries)?  Never while it applies an entry or loads the dataset, nor
 * when its host made it a follower. */
static inline int engine_may_originate(const cairn_engine *e)
{
    return e->originates && !e->applying && !e->loading;
}

/* Create an engine.  seed keys the hashes and the PRNG: the host draws it
 * from the OS (the engine may not). */
cairn_engine *engine_create(const uint8_t seed[32]);
/* Allocate the databases once the configuration is read; now_ms is the
 * start time reported by INFO. */
void engine_start(cairn_engine *e, int64_t now_ms);
void engine_free(cairn_engine *e);
void engine_set_host(cairn_engine *e, const cairn_host_ops *ops, void *priv);
void engine_set_log_sink(cairn_engine *e, cairn_log_sink sink, void *priv);
/* The clock that times commands (INFO commandstats): CLOCK_MONOTONIC in
 * nanoseconds, read by the host on the engine's behalf. */
void engine_set_clock(cairn_engine *e, int64_t (*mono_ns)(void));

void session_init(cairn_engine *e, cairn_session *s);
void session_reset(cairn_session *s);

/* Execute one command for session s at time now_ms, writing the reply into
 * out.  This is the one entry point used by the server and the embedding
 * API alike. */
void engine_execute(cairn_engine *e, cairn_session *s, int argc, const cslice *argv, int64_t now_us,
                    rbuf *out);
/* The same, for a host that has just read the engine's monotonic clock
 * (engine_set_clock) itself: start_ns is that reading, which times the
 * command instead of a reading of the engine's own. */
void engine_execute_at(cairn_engine *e, cairn_session *s, int argc, const cslice *argv,
                       int64_t now_us, int64_t start_ns, rbuf *out);

/* The two halves of running a handler, shared by engine_execute() and
 * the retry of parked commands: set up the execution context, and after
 * the handler account for it and log it if it changed the dataset. */
void engine_call_init(cmd_call *c, cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                      const cslice *argv, int64_t now_us, rbuf *out);
void engine_call_finish(cmd_call *c);
/* Would a CLIENT PAUSE hold this request of s (all: a pause of every
 * command; else of writes: commands that write or may replicate, and an
 * EXEC that queued one)?  A held request's command becomes s->last_cmd. */
int engine_pause_holds(cairn_engine *e, cairn_session *s, int argc, const cslice *argv, int all);
/* Serve sessions parked on keys that became ready (blocking.c). */
void engine_serve_ready(cairn_engine *e, int64_t now_us);

/* Apply one logged entry (recovery, and later Raft): run its command at
 * the entry's time with the entry's seed and db, as the session `s`
 * (flagged SESS_LOADER), so the result is the one the original run
 * computed.  Applying originates nothing: it emits no entry, deletes no
 * key by expiry (the log holds the originating node's deletions, so every
 * key it names is live for it), evicts nothing, and is not refused by
 * limits that only guard client input.  The reply goes to out.  Returns
 * 0, or -1 when the entry names no command, its arity is wrong or it
 * replied with an error (the reply holds it): an entry that does not
 * apply means the log is corrupt. */
int engine_apply_entry(cairn_engine *e, cairn_session *s, const cairn_entry *entry, rbuf *out);

/* Emit an entry to the log sink (no-op without one, and while the engine
 * may not originate: see engine_may_originate()). */
void engine_log(cairn_engine *e, uint32_t db, int64_t now_ms, uint64_t seed, int argc,
                const cslice *argv);

/* Wrap the entries logged until the matching engine_atomic_end() in
 * MULTI ... EXEC markers, so a replay applies all of them or none (EXEC,
 * scripts).  Nothing is logged for a unit that wrote nothing, and nested
 * units join the outermost one.  The markers carry the db the unit
 * started and ended in. */
void engine_atomic_begin(cairn_engine *e, uint32_t db, int64_t now_ms);
void engine_atomic_end(cairn_engine *e, uint32_t db);

/* One pass of active expiry over every db, sampling keys with a TTL and
 * deleting those that passed (none while the engine may not originate).  Examines at most `effort`
 * keys; returns the number of keys expired.  The host calls it from a timer and decides how long to
 * keep calling (the engine reads no clock). */
long long engine_active_expire(cairn_engine *e, int64_t now_ms, long effort, int *keep_going);

/* Blocking commands, for the host (see blocking.h for handlers).  Time
 * out parked sessions whose deadline passed at now_ms. */
void engine_block_timeouts(cairn_engine *e, int64_t now_ms);
/* How many parked sessions have a deadline (INFO clients_in_timeout_table). */
long engine_blocked_with_timeout(const cairn_engine *e);
/* The earliest deadline of a parked session (unix ms), or 0 if none. */
int64_t engine_next_block_timeout(const cairn_engine *e);
/* CLIENT UNBLOCK: end a parked session's wait with the timeout reply, or
 * with an UNBLOCKED error.  Returns 0 if it was not parked. */
int engine_unblock(cairn_engine *e, cairn_session *s, int with_error);
/* The session is going away (its connection closed): forget it. */
void engine_session_gone(cairn_engine *e, cairn_session *s);

/* Move some rehashing forward in idle time. */
void engine_rehash_step(cairn_engine *e);

/* The 24-bit LRU clock used by OBJECT IDLETIME. */
static inline unsigned engine_lru_clock(int64_t now_ms)
{
    return (unsigned)((now_ms / 1000) & 0xFFFFFF);
}

#endif
