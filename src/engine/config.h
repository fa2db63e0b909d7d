/* config.h -- configuration parameters, each described once in a table.
 *
 * A table of config_def drives the defaults, the configuration file
 * (redis.conf syntax), the `--name value` command-line flags, CONFIG GET
 * (with glob patterns) and CONFIG SET.  The engine's table covers
 * cairn_config: the keyspace, memory, encodings and persistence, which
 * embedded stores and servers share.  A host adds its own settings (the
 * server: port, bind, logfile, ...) as a second table over its own struct
 * (cairn_host_ops.config_defs); the engine treats both alike and tells the
 * host of every change it makes to a setting the host acts on. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/dstr.h"

enum { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING };

/* appendfsync values, with Redis's numbering. */
enum { AOF_FSYNC_NO = 0, AOF_FSYNC_ALWAYS = 1, AOF_FSYNC_EVERYSEC = 2 };

/* maxmemory-policy values, in Redis's order. */
enum {
    MAXMEMORY_VOLATILE_LRU = 0,
    MAXMEMORY_VOLATILE_LFU,
    MAXMEMORY_VOLATILE_RANDOM,
    MAXMEMORY_VOLATILE_TTL,
    MAXMEMORY_ALLKEYS_LRU,
    MAXMEMORY_ALLKEYS_LFU,
    MAXMEMORY_ALLKEYS_RANDOM,
    MAXMEMORY_NO_EVICTION,
};

/* The most percentiles latency-tracking-info-percentiles may list. */
#define LATENCY_PCTS_MAX 16

/* The value of a Redis directive Cairn accepts but does not act on
 * (config_compat.c): one slot each, read through its config_def like any
 * other field. */
typedef union compat_value {
    int i;
    long long ll;
    unsigned long long ull;
    dstr s;
} compat_value;

/* The number of such directives (config_compat.c checks it). */
#define COMPAT_CONFIG_COUNT 79

/* Client classes of client-output-buffer-limit, in Redis's order. */
enum { OBUF_NORMAL = 0, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };

/* A class's output buffer limit: a client is disconnected when its
 * pending output exceeds hard bytes, or stays above soft bytes for
 * soft_seconds; 0 disables either. */
typedef struct obuf_limit {
    unsigned long long hard, soft;
    long long soft_seconds;
} obuf_limit;

enum { RDB_FORMAT_CAIRN = 0, RDB_FORMAT_REDIS = 1 };

typedef struct cairn_config {
    int databases;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    obuf_limit obuf_limits[OBUF_CLASSES]; /* client-output-buffer-limit, acted on by the host */
    int notify_keyspace_events;           /* NOTIFY_* flags (notify.h) */
    long long tracking_table_max_keys;    /* keys CLIENT TRACKING remembers; 0 = no limit */
    int hz;
    long long busy_reply_threshold; /* ms a script runs before others get -BUSY */
    int active_expire_effort;       /* 1..10 */
    dstr dir;
    /* Persistence, acted on by src/log/persist.c for the host. */
    dstr save; /* "seconds changes ..." pairs, "" = never */
    int appendonly;
    int appendfsync;     /* AOF_FSYNC_* */
    dstr appendfilename; /* the prefix of the append-only files */
    dstr appenddirname;  /* the directory of the log, under dir */
    dstr dbfilename;     /* the snapshot of SAVE/BGSAVE, under dir */
    int aof_load_truncated;
    int auto_aof_rewrite_percentage;
    long long auto_aof_rewrite_min_size;
    int no_appendfsync_on_rewrite;
    int aof_rewrite_incremental_fsync;
    int rdb_save_incremental_fsync;
    int stop_writes_on_bgsave_error;
    /* Accepted and stored for compatibility: a base is always a snapshot,
     * snapshots are always checksummed and never compressed. */
    int aof_use_rdb_preamble;
    int aof_timestamp_enabled;
    int rdbcompression;
    int rdbchecksum;
    int rdb_format; /* RDB_FORMAT_*: what SAVE/BGSAVE write */
    int rdb_del_sync_files;
    unsigned long long maxmemory;
    int maxmemory_policy;
    int maxmemory_samples;           /* keys sampled per db for each eviction */
    int maxmemory_eviction_tenacity; /* 0..100: how much one command evicts */
    int lfu_log_factor;              /* how slowly LFU counters grow */
    int lfu_decay_time;              /* minutes per counter decrement; 0 = never */
    int save_loaded;                 /* the first `save` line of a file replaces the default */
    /* Compact encodings: a hash stays a listpack while it has at most
     * this many fields, each field and value at most this many bytes. */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    /* A set is an intset while all of its members are integers and at
     * most set_max_intset_entries; else a listpack while it has at most
     * set_max_listpack_entries members of at most set_max_listpack_value
     * bytes. */
    long long set_max_intset_entries;
    long long set_max_listpack_entries;
    long long set_max_listpack_value;
    /* A sorted set stays a listpack while it has at most this many
     * members, each at most zset_max_listpack_value bytes. */
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    /* A stream node (listpack) holds at most this many bytes and entries
     * (0: no limit). */
    long long stream_node_max_bytes;
    long long stream_node_max_entries;
    /* A HyperLogLog stays sparse while that takes at most this many bytes. */
    long long hll_sparse_max_bytes;
    /* Lists: list_max_listpack_size is Redis's list-max-listpack-size
     * (> 0: entries per node, -1..-5: 4..64 KB per node); a list is one
     * listpack while it fits one node.  list-compress-depth is stored
     * only: nodes are not compressed. */
    int list_max_listpack_size;
    int list_compress_depth;
    /* INFO latencystats: per-command latency histograms, and the
     * percentiles shown, as CONFIG GET shows them ("50 99 99.9"). */
    int latency_tracking;
    dstr latency_pcts;
    /* ACL (acl.c): the default user's password, the ACL file (read and
     * written by the host), and how many refusals ACL LOG keeps. */
    dstr requirepass;
    dstr aclfile;
    long long acllog_max_len;
    /* PROTECTED_* (no, yes, local): may DEBUG run, may CONFIG SET change
     * the protected parameters (dir, dbfilename)? */
    int enable_debug_command;
    int enable_protected_configs;
    int protected_mode; /* the host serves only local clients while the default user is open */
    /* The slow log (slowlog.h) and the latency monitor (latency.h). */
    long long slowlog_log_slower_than; /* us; < 0: off */
    long long slowlog_max_len;
    long long latency_monitor_threshold; /* ms; 0: off */
    /* Not settings: sessions in MONITOR mode (monitor.c), and derived by
     * config_watch_fixup() from them and the three above, the shortest
     * command duration (ns) that anything observes: every timed command
     * is compared with it, and only those that reach it go further. */
    int monitoring;
    int64_t watch_ns;
    /* Directives of Redis 7.0 stored for CONFIG GET and REWRITE only. */
    compat_value compat[COMPAT_CONFIG_COUNT];
} cairn_config;

enum { PROTECTED_NO = 0, PROTECTED_YES = 1, PROTECTED_LOCAL = 2 };

typedef struct cairn_engine cairn_engine;

/* How a parameter's value is held and parsed. */
enum cfg_type {
    CT_BOOL,   /* int: yes/no */
    CT_INT,    /* int */
    CT_LL,     /* long long */
    CT_ULL,    /* unsigned long long */
    CT_STRING, /* dstr */
    CT_ENUM,   /* int, one of enums[] */
    CT_BIND,   /* dstr: space-separated addresses */
    CT_SAVE,   /* dstr: "seconds changes" pairs (cairn_config only) */
    CT_OBUF,   /* obuf_limit[OBUF_CLASSES]: client-output-buffer-limit */
    CT_PCTS,   /* dstr: latency percentiles, normalized (cairn_config only) */
    CT_NOTIFY, /* int: keyspace event class letters (notify.h) */
};

enum {
    CF_IMMUTABLE = 1 << 0,      /* only from the file or the command line */
    CF_MEMORY = 1 << 1,         /* accepts units: 1gb, 512mb, 100k */
    CF_OCTAL = 1 << 2,          /* parsed and shown in octal (unixsocketperm) */
    CF_UNSIGNED = 1 << 3,       /* bounds compare as unsigned, as for Redis's uint/size_t */
    CF_MULTI_ARG = 1 << 4,      /* takes several arguments (bind, save) */
    CF_REWRITE_ALWAYS = 1 << 5, /* CONFIG REWRITE writes it even at its default (dir) */
    CF_PROTECTED = 1 << 6,      /* CONFIG SET only if enable-protected-configs allows */
    CF_SENSITIVE = 1 << 7,      /* a secret: the warning about it never shows the value */
    CF_VOLATILE = 1 << 8,       /* CONFIG SET tells the host even of the same value (files) */
    CF_SERVER_ONLY = 1 << 9,    /* acts on the cairn-server process only (its port, its log) */
};

typedef struct cfg_enum {
    const char *name;
    int value;
} cfg_enum;

/* The largest proto-max-bulk-len and client-query-buffer-limit Cairn can
 * hold (Redis accepts up to LLONG_MAX): a query buffer (a dstr, 32-bit
 * lengths) is cut off once it holds more than the limit, and a command
 * that fits the limit makes a log entry whose 32-bit payload length fits
 * ENTRY_MAX_PAYLOAD. */
#define CONFIG_MAX_QUERY_LEN (2ull << 30)

typedef struct config_def {
    const char *name;
    const char *alias; /* an older name also accepted (hash-max-ziplist-...) */
    int type;
    int flags;
    size_t offset;             /* of the field in the table's struct */
    unsigned long long lo, hi; /* numeric bounds, inclusive */
    /* Numeric: if set, the largest value the code can hold, when that is
     * below hi (hi stays Redis's, for Redis's error message). */
    unsigned long long held;
    const char *dflt;            /* the default, as CONFIG SET would take it */
    const cfg_enum *enums;       /* CT_ENUM: NULL-name terminated */
    void (*fixup)(void *config); /* adjusts a value after it is set */
    /* CT_STRING: NULL if the value is acceptable, else why not. */
    const char *(*check)(const cslice *value);
    /* Makes a new value take effect in the engine (requirepass): called
     * once it is set, from the file, the command line or CONFIG SET. */
    void (*apply)(cairn_engine *e);
} config_def;

/* Set every parameter of a table to its default, and free what its fields
 * hold.  The engine does this for cairn_config; a host for its own. */
void config_table_init(const config_def *defs, size_t n, void *config);
void config_table_free(const config_def *defs, size_t n, void *config);

typedef struct cairn_engine cairn_engine;

/* Redis 7.0's directives that Cairn accepts, stores and shows, but does
 * not act on (config_compat.c), each at offset 0 of its own compat_value.
 * A name the engine's or the host's table also has is theirs: these are
 * consulted last. */
extern const config_def compat_config_defs[COMPAT_CONFIG_COUNT];
/* Why a compat directive has no effect, for the one-line warning. */
const char *config_compat_note(const config_def *d);
/* The first compat directive that a real parameter of e (or of its host)
 * has taken, or NULL: such an entry should be deleted. */
const char *config_compat_shadowed(cairn_engine *e);

void config_init(cairn_config *cfg);
/* Recompute cfg->watch_ns (a cairn_config *). */
void config_watch_fixup(void *cfg);
void config_free(cairn_config *cfg);

/* Set parameter `name` (the engine's or the host's) to `value` as a
 * config file or CONFIG SET would, without telling the host.
 * `startup` is true while reading the file and flags (immutable parameters
 * may only be set then).  Returns NULL on success, or an error message
 * (without the "ERR " prefix) in *err_buf. */
const char *config_set(cairn_engine *e, const char *name, const char *value, int startup,
                       char *err_buf, size_t err_len);

/* Apply redis.conf-style text (a config file's contents, read by the
 * host).  Returns 0, or -1 with a message in err (which the caller
 * frees).  `include` goes through the host (cairn_host_ops.config_include). */
int config_load_string(cairn_engine *e, const char *text, size_t len, dstr *err);

/* CONFIG REWRITE's new configuration file from the old one's text, as
 * Redis's rewriteConfig makes it: comments stay (trimmed), a line of a
 * parameter gets the parameter's current value in place, lines no
 * parameter knows are kept commented out as "# ??? line", and parameters
 * that differ from their default but had no line are appended after
 * "# Generated by CONFIG REWRITE".  Runs of empty lines become one.  The
 * host reads and writes the file. */
dstr config_rewrite_text(cairn_engine *e, const char *old, size_t len);

/* The current value of parameter `name` (the engine's or the host's) as
 * CONFIG GET shows it, or NULL if there is no such parameter.  The caller
 * frees it. */
dstr config_get_value(cairn_engine *e, const char *name);

/* Split a line into arguments with Redis's sdssplitargs rules
 * (ds/splitargs.h).  Returns NULL on unbalanced quotes; free the result
 * with config_free_args. */
dstr *config_split_args(const char *s, size_t len, int *argc);
void config_free_args(dstr *argv, int argc);

/* Parse a memory amount as Redis's memtoull: digits with an optional unit
 * b, k (1000), kb (1024), m, mb, g, gb, case-insensitive.  Returns 1 on
 * success. */
int config_parse_memory(const char *s, unsigned long long *out);

#endif
