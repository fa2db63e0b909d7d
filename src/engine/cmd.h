/* cmd.h -- the command table (DESIGN rule 3).
 *
 * One table describes every command: name, arity, flags, key positions,
 * ACL categories, documentation and handler.  Dispatch, COMMAND, COMMAND
 * DOCS, ACL checks and cluster routing all read it. */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

#include <stdint.h>

#include "engine.h"

typedef void cmd_proc(cmd_call *c);
/* Where the keys are in a call whose keys move with its arguments (a
 * numkeys count, SORT's STORE): fills idx (capacity max) with their
 * positions and returns how many, or -1 if the arguments are invalid. */
typedef int cmd_getkeys_fn(int argc, const cslice *argv, int *idx, int max);
/* The flags of a call whose flags depend on its arguments (a script's
 * declared flags), from the command's own: Redis's getCommandFlags. */
typedef uint32_t cmd_flags_fn(cairn_engine *e, int argc, const cslice *argv, uint32_t flags);
/* The arguments a follower sends the leader for a call whose arguments
 * name what only this node holds (EVALSHA's digest, a script of this
 * node's cache): rewrites argv (a copy of the call's, as many slices; they
 * may point into the engine until its next command) and returns 1, or
 * returns 0 if it cannot (the call is not forwarded, or inside a
 * transaction goes as it is). */
typedef int cmd_forward_fn(cairn_engine *e, cslice *argv);
/* The key-spec flags of key i of a call whose flags depend on its
 * arguments (KF_VARIABLE: SET with GET, BITFIELD with GETs only), from its
 * spec's flags: what Redis's getkeys procs set. */
typedef uint32_t cmd_key_flags_fn(int i, int argc, const cslice *argv, uint32_t flags);

/* Command flags, named as COMMAND INFO reports them. */
enum {
    CMD_WRITE = 1 << 0,
    CMD_READONLY = 1 << 1,
    CMD_DENYOOM = 1 << 2,
    CMD_ADMIN = 1 << 3,
    CMD_PUBSUB = 1 << 4,
    CMD_NOSCRIPT = 1 << 5,
    CMD_BLOCKING = 1 << 6,
    CMD_LOADING = 1 << 7,
    CMD_STALE = 1 << 8,
    CMD_SKIP_MONITOR = 1 << 9,
    CMD_SKIP_SLOWLOG = 1 << 10,
    CMD_FAST = 1 << 11,
    CMD_NO_AUTH = 1 << 12,
    CMD_MAY_REPLICATE = 1 << 13,
    CMD_NO_MULTI = 1 << 14,
    CMD_ALLOW_BUSY = 1 << 15,
    CMD_NO_MANDATORY_KEYS = 1 << 16,
    /* Reported by COMMAND INFO for entries with a getkeys function; never
     * set in the tables (it is derived). */
    CMD_MOVABLE_KEYS = 1 << 17,
    /* Allowed to a RESP2 connection with subscriptions, as Redis allows
     * only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET there.
     * Internal: COMMAND INFO does not report it. */
    CMD_SUBSCRIBED_OK = 1 << 18,
    /* Where a pub/sub command's channels are, for the ACL check (also
     * internal): argv[1] only (PUBLISH), or every argument from argv[1]
     * on, as channels or, for PSUBSCRIBE, as patterns. */
    CMD_CHANNEL_PUB = 1 << 19,
    CMD_CHANNEL_SUB = 1 << 20,
    CMD_CHANNEL_PATTERNS = 1 << 21,
    CMD_CHANNELS = CMD_CHANNEL_PUB | CMD_CHANNEL_SUB | CMD_CHANNEL_PATTERNS,
    /* Refused unless enable-debug-command allows it (DEBUG); internal, as
     * Redis 7.0's COMMAND INFO does not show it. */
    CMD_PROTECTED = 1 << 22,
};

/* ACL categories. */
enum {
    ACL_KEYSPACE = 1 << 0,
    ACL_READ = 1 << 1,
    ACL_WRITE = 1 << 2,
    ACL_SET = 1 << 3,
    ACL_SORTEDSET = 1 << 4,
    ACL_LIST = 1 << 5,
    ACL_HASH = 1 << 6,
    ACL_STRING = 1 << 7,
    ACL_BITMAP = 1 << 8,
    ACL_HYPERLOGLOG = 1 << 9,
    ACL_GEO = 1 << 10,
    ACL_STREAM = 1 << 11,
    ACL_PUBSUB = 1 << 12,
    ACL_ADMIN = 1 << 13,
    ACL_FAST = 1 << 14,
    ACL_SLOW = 1 << 15,
    ACL_BLOCKING = 1 << 16,
    ACL_DANGEROUS = 1 << 17,
    ACL_CONNECTION = 1 << 18,
    ACL_TRANSACTION = 1 << 19,
    ACL_SCRIPTING = 1 << 20,
};

struct cmd_def {
    const char *name; /* lower case; "config|get" style for subcommands */
    cmd_proc *proc;
    int arity; /* > 0: exact argc; < 0: at least -arity */
    uint32_t flags;
    uint32_t acl;
    int first_key, last_key, key_step; /* last_key -1: the last argument */
    const char *group;                 /* "string", "generic", "connection", "server", ... */
    const char *since;                 /* Redis version that introduced it */
    const char *summary;
    const char *complexity;
    const cmd_def *subcommands; /* NULL-name terminated, or NULL */
    /* For keys that (first_key, last_key, key_step) cannot describe;
     * those three then give what Redis's legacy COMMAND INFO shows. */
    cmd_getkeys_fn *getkeys;
    /* NULL: the flags are the command's whatever its arguments.  Read
     * only off the hot path (when memory is over maxmemory, on a
     * follower). */
    cmd_flags_fn *flags_of;
    /* Redis's key-spec flags (KF_*) of the first key and of the other
     * keys: KEY_SPEC(first, rest), or KEY_FLAGS(all) when they agree.
     * COMMAND INFO and GETKEYSANDFLAGS show them, and the ACL check asks
     * of a selector's key patterns (%R~, %W~) what they imply: read for a
     * key the command accesses, write for one it inserts into, updates or
     * deletes from.  0 derives them from the flags (a write command
     * updates its keys, a read-only one accesses them). */
    uint32_t key_spec;
    /* NULL: a follower forwards a call's arguments as they are. */
    cmd_forward_fn *forward_args;
    /* NULL: a call's key-spec flags are key_spec's whatever its arguments. */
    cmd_key_flags_fn *key_flags_of;
};

/* Key-spec flags, as Redis 7.0's CMD_KEY_*: how a key is used (RO, RW,
 * OW: overwritten, RM: removed) and what is done to its data. */
enum {
    KF_RO = 1 << 0,
    KF_RW = 1 << 1,
    KF_OW = 1 << 2,
    KF_RM = 1 << 3,
    KF_ACCESS = 1 << 4,
    KF_UPDATE = 1 << 5,
    KF_INSERT = 1 << 6,
    KF_DELETE = 1 << 7,
    KF_NOT_KEY = 1 << 8,
    KF_INCOMPLETE = 1 << 9,
    KF_VARIABLE = 1 << 10, /* a call's flags depend on its arguments */
    KF_BITS = 11,
    KF_ALL = (1 << KF_BITS) - 1,
    KF_SET = 1 << 22, /* key_spec is set */
};
#define KEY_SPEC(first, rest) (KF_SET | (uint32_t)(first) | ((uint32_t)(rest) << KF_BITS))
#define KEY_FLAGS(all)        KEY_SPEC(all, all)
/* The flags of the i-th key (0: the first) of a call of cmd with these
 * arguments, as Redis's getKeysFromCommandWithSpecs gives them. */
uint32_t cmd_key_flags(const cmd_def *cmd, int i, int argc, const cslice *argv);
/* The flags of cmd's first key spec, or of its other keys (rest), as
 * COMMAND INFO shows them. */
uint32_t cmd_spec_flags(const cmd_def *cmd, int rest);

/* The table is kept as one array per command family, each next to its
 * handlers (t_string.c, t_keys.c, ...) and terminated by an entry with a
 * NULL name; cmd_families lists them all, NULL-terminated.  Together they
 * are the one table. */
extern const cmd_def conn_commands[];
extern const cmd_def config_commands[];
extern const cmd_def server_commands[];
extern const cmd_def persist_commands[];
extern const cmd_def string_commands[];
extern const cmd_def keys_commands[];
extern const cmd_def multi_commands[];
extern const cmd_def coord_commands[];
extern const cmd_def list_commands[];
extern const cmd_def hash_commands[];
extern const cmd_def set_commands[];
extern const cmd_def sort_commands[];
extern const cmd_def zset_commands[];
extern const cmd_def pubsub_commands[];
extern const cmd_def bitops_commands[];
extern const cmd_def hll_commands[];
extern const cmd_def script_commands[];   /* src/script/t_script.c */
extern const cmd_def function_commands[]; /* src/script/t_function.c */
extern const cmd_def geo_commands[];
extern const cmd_def memory_commands[];   /* t_memory.c */
extern const cmd_def stream_commands[];   /* t_stream.c */
extern const cmd_def slowlog_commands[];  /* slowlog.c */
extern const cmd_def latency_commands[];  /* latency.c */
extern const cmd_def monitor_commands[];  /* monitor.c */
extern const cmd_def acl_commands[];      /* t_acl.c */
extern const cmd_def module_commands[];   /* t_module.c */
extern const cmd_def cluster_commands[];  /* t_cluster.c */
extern const cmd_def repl_commands[];     /* t_repl.c */
void client_session_command(cmd_call *c); /* t_repl.c: CLIENT SESSION[-OPEN] */
extern const cmd_def dump_commands[];     /* src/log/t_dump.c */
/* FUNCTION DUMP and FUNCTION RESTORE (src/log/t_function_dump.c): the
 * libraries in RDB's serialization, for t_function.c's subcommands. */
void function_dump_command(cmd_call *c);
void function_restore_command(cmd_call *c);
extern const cmd_def *const cmd_families[];

/* Look a command up by name, case-insensitively (NULL if unknown). */
const cmd_def *cmd_lookup(cairn_engine *e, const char *name, size_t len);
/* The same, also setting *stats to the command's statistics (cmdstats.h):
 * the lookup each request makes finds both at once. */
const cmd_def *cmd_lookup_stats(cairn_engine *e, const char *name, size_t len, cmd_stats **stats);
/* Look a subcommand of parent up, case-insensitively. */
const cmd_def *cmd_lookup_sub(const cmd_def *parent, const char *name, size_t len);
/* Build e->commands from cmd_families (after e->cmdstats), and free it. */
void cmd_table_load(cairn_engine *e);
void cmd_table_free(cairn_engine *e);
/* rename-command: the command named `from` answers to `to` instead, or to
 * nothing if `to` is empty.  Returns NULL, or Redis's error. */
const char *cmd_rename(cairn_engine *e, const char *from, size_t flen, const char *to, size_t tlen);
/* The ACL categories of a command: those of its entry plus those its
 * flags imply, as Redis's setImplicitACLCategories. */
uint32_t cmd_categories(const cmd_def *cmd);
/* Number of top-level commands. */
long cmd_count(const cairn_engine *e);

/* getkeys functions shared by the tables: the keys follow a numkeys count
 * at argv[1] (SINTERCARD, ZUNION, LMPOP, ...) or argv[2] (BLMPOP, BZMPOP),
 * or a destination key at argv[1] precedes a count at argv[2]
 * (ZUNIONSTORE, ...). */
cmd_getkeys_fn getkeys_numkeys_at1;
cmd_getkeys_fn getkeys_numkeys_at2;
cmd_getkeys_fn getkeys_dest_numkeys;

/* Key positions of a call of cmd with argv (COMMAND GETKEYS, cluster
 * routing).  Fills idx (capacity max) and returns the count, or -1 if the
 * arguments are invalid for the command. */
int cmd_get_keys(const cmd_def *cmd, int argc, const cslice *argv, int *idx, int max);

/* Is a call of cmd with flags (flags_of's for its arguments) a script
 * that did not declare itself read-only (EVAL without a shebang, FCALL of
 * a function without no-writes, EVALSHA of a digest unknown here)?  It
 * may write, though it is not flagged a write: in a group only the leader
 * may run it. */
static inline int cmd_script_may_write(const cmd_def *cmd, uint32_t flags)
{
    return cmd->flags_of &&
           (flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE)) == CMD_MAY_REPLICATE;
}

/* Helpers for handlers. */

/* Case-insensitive comparison of s with a keyword. */
int slice_is(const cslice *s, const char *kw);
static inline int arg_is(const cmd_call *c, int i, const char *kw)
{
    return slice_is(&c->argv[i], kw);
}
/* Parse argument i as an integer, replying ERR_NOT_INT on failure. */
int arg_ll(cmd_call *c, int i, long long *out);
/* Argument i as an integer in [min, max], as Redis's
 * getRangeLongFromObjectOrReply.  msg, if given, replaces every error;
 * otherwise the errors are Redis's "not an integer" and "out of range"
 * ones.  Returns 1 on success. */
int arg_range_ll(cmd_call *c, int i, long long min, long long max, long long *v, const char *msg);
/* The same for an int, as getIntFromObjectOrReply. */
int arg_int(cmd_call *c, int i, const char *msg, int *out);
/* Copy argument i into buf as a C string, truncated to fit. */
void arg_cstr(const cmd_call *c, int i, char *buf, size_t size);
/* Reply with the Redis syntax error and return -1 (handy in parsers). */
int reply_syntax_error(cmd_call *c);
/* Reply WRONGTYPE unless o is of type t; returns 1 on mismatch. */
int check_type(cmd_call *c, const cobj *o, int type);
/* Has c's reply passed its session's client-output-buffer-limit (the
 * hard one)?  Then the session is cut off (SESS_CLOSE_ASAP: its host
 * closes it and drops the output) and a command building a reply whose
 * size the client chose (SRANDMEMBER with a huge negative count) stops,
 * as Redis 7.0 stops it.  Commands call it every so many elements. */
int reply_over_limit(cmd_call *c);
/* Where a push to c's own session goes (pub/sub confirmations, DEBUG
 * PROTOCOL push): c's reply, unless CLIENT REPLY OFF/SKIP silences that;
 * pushes still reach the session then, as Redis's CLIENT_PUSHING. */
rbuf *call_push_out(cmd_call *c);
/* The HELP reply of a container command, as Redis's addReplyHelp: a
 * header naming the command, the given lines, then HELP itself. */
void reply_help(cmd_call *c, const char *const *lines, size_t n);
/* Log this call as argv instead of its own arguments, so that the log
 * records the effect rather than the intention (rule 4): a served BLPOP
 * becomes LPOP key, an SPOP the SREM of what it picked, HINCRBYFLOAT an
 * HSET of the result.  The arguments are copied (into one allocation);
 * engine_call_finish() logs and frees them. */
void log_as(cmd_call *c, int argc, const cslice *argv);
/* Log this call's own arguments with argument i replaced by s (XADD's
 * generated ID): only s is copied, the other slices point into argv, which
 * outlives the call. */
void log_as_replacing(cmd_call *c, int i, const char *s, size_t len);
/* Log one more entry for this call: the first log_add() acts as log_as(),
 * the next ones follow it, and all of them are logged as one atomic unit
 * (a command whose effects are several commands: XREADGROUP's claims). */
void log_add(cmd_call *c, int argc, const cslice *argv);
/* Log the entries of log_as()/log_add() when write is set (in one atomic
 * unit if there are several), and free them (engine_call_finish()). */
void log_flush(cmd_call *c, int write);

#endif
