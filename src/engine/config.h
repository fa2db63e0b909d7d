/* config.h -- every configuration parameter, in one table.
 *
 * The same table serves the configuration file (redis.conf syntax), the
 * `--name value` command-line flags, CONFIG GET (with glob patterns) and
 * CONFIG SET.  Parameters the engine does not act on itself (port, bind,
 * ...) are stored here too; the host reads them and is told of changes. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

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

/* Client classes of client-output-buffer-limit, in Redis's order. */
enum { OBUF_NORMAL = 0, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };

/* A class's output buffer limit: a client is disconnected when its
 * pending output exceeds hard bytes, or stays above soft bytes for
 * soft_seconds; 0 disables either. */
typedef struct obuf_limit {
    unsigned long long hard, soft;
    long long soft_seconds;
} obuf_limit;

typedef struct cairn_config {
    int databases;
    int port;
    dstr bind; /* space-separated addresses */
    dstr unixsocket;
    int unixsocketperm;
    int tcp_backlog;
    int maxclients;
    int timeout; /* seconds of idleness before a client is closed; 0 = never */
    int tcp_keepalive;
    int daemonize;
    dstr pidfile;
    int loglevel;
    dstr logfile; /* "" = stdout */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    obuf_limit obuf_limits[OBUF_CLASSES]; /* client-output-buffer-limit, acted on by the host */
    int notify_keyspace_events;           /* NOTIFY_* flags (notify.h) */
    int hz;
    int active_expire_effort; /* 1..10 */
    dstr dir;
    /* Accepted and stored so that clients and config files which set
     * them work; persistence and eviction act on them in later work. */
    dstr save; /* "seconds changes ..." pairs, "" = never */
    int appendonly;
    /* Persistence, acted on by the host (src/log/persist.c). */
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
    /* Lists: list_max_listpack_size is Redis's list-max-listpack-size
     * (> 0: entries per node, -1..-5: 4..64 KB per node); a list is one
     * listpack while it fits one node.  list-compress-depth is stored
     * only: nodes are not compressed. */
    int list_max_listpack_size;
    int list_compress_depth;
} cairn_config;

typedef struct cairn_engine cairn_engine;

void config_init(cairn_config *cfg);
void config_free(cairn_config *cfg);

/* Set parameter `name` to `value` as a config file or CONFIG SET would.
 * `startup` is true while reading the file and flags (immutable parameters
 * may only be set then).  Returns NULL on success, or an error message
 * (without the "ERR " prefix) in *err_buf. */
const char *config_set(cairn_engine *e, const char *name, const char *value, int startup,
                       char *err_buf, size_t err_len);

/* Apply redis.conf-style text (a config file's contents, read by the
 * host).  Returns 0, or -1 with a message in err (which the caller
 * frees).  `include` is not supported. */
int config_load_string(cairn_engine *e, const char *text, size_t len, dstr *err);

/* The current value of parameter `name` as CONFIG GET shows it, or NULL if
 * there is no such parameter.  The caller frees it. */
dstr config_get_value(const cairn_config *cfg, const char *name);

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
