/* config.c -- the engine's configuration table, the table machinery that
 * the host's table shares, and CONFIG.
 *
 * A table of config_def drives the defaults, the configuration file, the
 * command-line flags, CONFIG GET and CONFIG SET, so a parameter is added in
 * exactly one place.  Parsing, bounds and error strings follow Redis 7.0's
 * config.c, because operators and tools depend on them.
 *
 * The engine's table (config_table) holds what the engine and the
 * persistence layer act on; the host adds its own (the server's port,
 * bind, logfile, ... in src/server/config.c) through cairn_host_ops, and
 * both are looked up as one.  The engine may not do I/O, so after CONFIG
 * SET changes a value the host is told through e->host->config_changed and
 * may veto it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/splitargs.h"
#include "../ds/util.h"
#include "acl.h"
#include "cmd.h"
#include "db.h"
#include "engine.h"
#include "evict.h"
#include "notify.h"
#include "tracking.h"

/* ---------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

static const cfg_enum maxmemory_policy_enum[] = {
    {"volatile-lru", MAXMEMORY_VOLATILE_LRU},
    {"volatile-lfu", MAXMEMORY_VOLATILE_LFU},
    {"volatile-random", MAXMEMORY_VOLATILE_RANDOM},
    {"volatile-ttl", MAXMEMORY_VOLATILE_TTL},
    {"allkeys-lru", MAXMEMORY_ALLKEYS_LRU},
    {"allkeys-lfu", MAXMEMORY_ALLKEYS_LFU},
    {"allkeys-random", MAXMEMORY_ALLKEYS_RANDOM},
    {"noeviction", MAXMEMORY_NO_EVICTION},
    {NULL, 0},
};

/* What SAVE and BGSAVE write to dbfilename: Cairn's snapshot, or an RDB
 * that redis-server 7.0 loads (to go back to Redis). */
static const cfg_enum rdb_format_enum[] = {
    {"cairn", RDB_FORMAT_CAIRN},
    {"redis", RDB_FORMAT_REDIS},
    {NULL, 0},
};

/* Redis takes any hz >= 0 as a hint and caps it to 1..500 (updateHZ), so
 * CONFIG SET hz 1000 succeeds and CONFIG GET hz then shows 500. */
static void clamp_hz(void *config)
{
    cairn_config *cfg = config;
    if (cfg->hz < 1) cfg->hz = 1;
    if (cfg->hz > 500) cfg->hz = 500;
}

/* x * scale, or INT64_MAX if that does not fit. */
static int64_t scale_or_max(long long x, long long scale)
{
    return x > INT64_MAX / scale ? INT64_MAX : (int64_t)x * scale;
}

void config_watch_fixup(void *config)
{
    cairn_config *cfg = config;
    int64_t w = INT64_MAX;
    if (cfg->slowlog_log_slower_than >= 0) w = scale_or_max(cfg->slowlog_log_slower_than, 1000);
    if (cfg->latency_monitor_threshold > 0) {
        int64_t l = scale_or_max(cfg->latency_monitor_threshold, 1000000);
        if (l < w) w = l;
    }
    /* A monitor sees every command, timed or not (-1 ns). */
    cfg->watch_ns = cfg->monitoring ? INT64_MIN : w;
}

static const cfg_enum appendfsync_enum[] = {
    {"always", AOF_FSYNC_ALWAYS},
    {"everysec", AOF_FSYNC_EVERYSEC},
    {"no", AOF_FSYNC_NO},
    {NULL, 0},
};

/* File names of the persistence files are names inside `dir`, never paths
 * (Redis's isValidDBfilename and friends). */
static const cfg_enum protected_enums[] = {
    {"no", PROTECTED_NO},
    {"yes", PROTECTED_YES},
    {"local", PROTECTED_LOCAL},
    {NULL, 0},
};

static void apply_requirepass(cairn_engine *e)
{
    dstr p = e->cfg.requirepass;
    acl_update_default_password(e, p ? p : "", p ? dstr_len(p) : 0);
}

static const char *check_appendfilename(const cslice *v)
{
    return memchr(v->ptr, '/', v->len) ? "appendfilename can't be a path, just a filename" : NULL;
}

static const char *check_appenddirname(const cslice *v)
{
    return memchr(v->ptr, '/', v->len) ? "appenddirname can't be a path, just a dirname" : NULL;
}

static const char *check_dbfilename(const cslice *v)
{
    return memchr(v->ptr, '/', v->len) ? "dbfilename can't be a path, just a filename" : NULL;
}

#define OFF(field) offsetof(cairn_config, field)

static const config_def config_table[] = {
    {.name = "databases",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = OFF(databases),
     .lo = 1,
     .hi = INT_MAX,
     .dflt = "16"},
    {.name = "proto-max-bulk-len",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(proto_max_bulk_len),
     .lo = 1024 * 1024,
     .hi = LLONG_MAX,
     .held = CONFIG_MAX_QUERY_LEN,
     .dflt = "512mb"},
    {.name = "client-query-buffer-limit",
     .type = CT_LL,
     .flags = CF_MEMORY | CF_UNSIGNED,
     .offset = OFF(client_query_buffer_limit),
     .lo = 1024 * 1024,
     .hi = LLONG_MAX,
     .held = CONFIG_MAX_QUERY_LEN,
     .dflt = "1gb"},
    {.name = "hz",
     .type = CT_INT,
     .offset = OFF(hz),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "10",
     .fixup = clamp_hz},
    {.name = "active-expire-effort",
     .type = CT_INT,
     .flags = CF_UNSIGNED,
     .offset = OFF(active_expire_effort),
     .lo = 1,
     .hi = 10,
     .dflt = "1"},
    {.name = "dir",
     .type = CT_STRING,
     .flags = CF_REWRITE_ALWAYS | CF_PROTECTED,
     .offset = OFF(dir),
     .dflt = "./"},
    {.name = "requirepass",
     .type = CT_STRING,
     .flags = CF_SENSITIVE,
     .offset = OFF(requirepass),
     .dflt = "",
     .apply = apply_requirepass},
    {.name = "aclfile",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = OFF(aclfile),
     .dflt = ""},
    {.name = "acllog-max-len",
     .type = CT_LL,
     .offset = OFF(acllog_max_len),
     .hi = LONG_MAX,
     .dflt = "128"},
    {.name = "protected-mode", .type = CT_BOOL, .offset = OFF(protected_mode), .dflt = "yes"},
    {.name = "enable-debug-command",
     .type = CT_ENUM,
     .flags = CF_IMMUTABLE,
     .offset = OFF(enable_debug_command),
     .dflt = "no",
     .enums = protected_enums},
    {.name = "enable-protected-configs",
     .type = CT_ENUM,
     .flags = CF_IMMUTABLE,
     .offset = OFF(enable_protected_configs),
     .dflt = "no",
     .enums = protected_enums},
    {.name = "tracking-table-max-keys",
     .type = CT_LL,
     .offset = OFF(tracking_table_max_keys),
     .lo = 0,
     .hi = LLONG_MAX,
     .dflt = "1000000",
     .apply = tracking_table_limit},
    {.name = "notify-keyspace-events",
     .type = CT_NOTIFY,
     .offset = OFF(notify_keyspace_events),
     .dflt = ""},
    {.name = "client-output-buffer-limit",
     .type = CT_OBUF,
     .flags = CF_MULTI_ARG,
     .offset = OFF(obuf_limits),
     .dflt = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
    {.name = "save",
     .type = CT_SAVE,
     .flags = CF_MULTI_ARG,
     .offset = OFF(save),
     .dflt = "3600 1 300 100 60 10000"},
    {.name = "appendonly", .type = CT_BOOL, .offset = OFF(appendonly), .dflt = "no"},
    {.name = "appendfsync",
     .type = CT_ENUM,
     .offset = OFF(appendfsync),
     .dflt = "everysec",
     .enums = appendfsync_enum},
    {.name = "appendfilename",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = OFF(appendfilename),
     .dflt = "appendonly.aof",
     .check = check_appendfilename},
    {.name = "appenddirname",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = OFF(appenddirname),
     .dflt = "appendonlydir",
     .check = check_appenddirname},
    {.name = "dbfilename",
     .type = CT_STRING,
     .flags = CF_PROTECTED,
     .offset = OFF(dbfilename),
     .dflt = "dump.rdb",
     .check = check_dbfilename},
    {.name = "aof-load-truncated",
     .type = CT_BOOL,
     .offset = OFF(aof_load_truncated),
     .dflt = "yes"},
    {.name = "auto-aof-rewrite-percentage",
     .type = CT_INT,
     .offset = OFF(auto_aof_rewrite_percentage),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "100"},
    {.name = "auto-aof-rewrite-min-size",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(auto_aof_rewrite_min_size),
     .lo = 0,
     .hi = LLONG_MAX,
     .dflt = "64mb"},
    {.name = "no-appendfsync-on-rewrite",
     .type = CT_BOOL,
     .offset = OFF(no_appendfsync_on_rewrite),
     .dflt = "no"},
    {.name = "aof-rewrite-incremental-fsync",
     .type = CT_BOOL,
     .offset = OFF(aof_rewrite_incremental_fsync),
     .dflt = "yes"},
    {.name = "rdb-save-incremental-fsync",
     .type = CT_BOOL,
     .offset = OFF(rdb_save_incremental_fsync),
     .dflt = "yes"},
    {.name = "stop-writes-on-bgsave-error",
     .type = CT_BOOL,
     .offset = OFF(stop_writes_on_bgsave_error),
     .dflt = "yes"},
    {.name = "aof-use-rdb-preamble",
     .type = CT_BOOL,
     .offset = OFF(aof_use_rdb_preamble),
     .dflt = "yes"},
    {.name = "aof-timestamp-enabled",
     .type = CT_BOOL,
     .offset = OFF(aof_timestamp_enabled),
     .dflt = "no"},
    {.name = "rdbcompression", .type = CT_BOOL, .offset = OFF(rdbcompression), .dflt = "yes"},
    {.name = "rdbchecksum",
     .type = CT_BOOL,
     .flags = CF_IMMUTABLE,
     .offset = OFF(rdbchecksum),
     .dflt = "yes"},
    {.name = "rdb-format",
     .type = CT_ENUM,
     .offset = OFF(rdb_format),
     .dflt = "cairn",
     .enums = rdb_format_enum},
    {.name = "rdb-del-sync-files",
     .type = CT_BOOL,
     .offset = OFF(rdb_del_sync_files),
     .dflt = "no"},
    {.name = "maxmemory",
     .type = CT_ULL,
     .flags = CF_MEMORY | CF_UNSIGNED,
     .offset = OFF(maxmemory),
     .lo = 0,
     .hi = ULLONG_MAX,
     .dflt = "0"},
    {.name = "maxmemory-policy",
     .type = CT_ENUM,
     .offset = OFF(maxmemory_policy),
     .dflt = "noeviction",
     .enums = maxmemory_policy_enum},
    {.name = "maxmemory-samples",
     .type = CT_INT,
     .offset = OFF(maxmemory_samples),
     .lo = 1,
     .hi = INT_MAX,
     .dflt = "5"},
    {.name = "maxmemory-eviction-tenacity",
     .type = CT_INT,
     .offset = OFF(maxmemory_eviction_tenacity),
     .lo = 0,
     .hi = 100,
     .dflt = "10"},
    {.name = "lfu-log-factor",
     .type = CT_INT,
     .offset = OFF(lfu_log_factor),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "10"},
    {.name = "lfu-decay-time",
     .type = CT_INT,
     .offset = OFF(lfu_decay_time),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "1"},
    {.name = "list-max-listpack-size",
     .alias = "list-max-ziplist-size",
     .type = CT_INT,
     .offset = OFF(list_max_listpack_size),
     .lo = (unsigned long long)(long long)INT_MIN,
     .hi = INT_MAX,
     .dflt = "-2"},
    {.name = "busy-reply-threshold",
     .alias = "lua-time-limit",
     .type = CT_LL,
     .offset = OFF(busy_reply_threshold),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "5000"},
    {.name = "latency-tracking", .type = CT_BOOL, .offset = OFF(latency_tracking), .dflt = "yes"},
    {.name = "latency-tracking-info-percentiles",
     .type = CT_PCTS,
     .flags = CF_MULTI_ARG,
     .offset = OFF(latency_pcts),
     .dflt = "50 99 99.9"},
    {.name = "slowlog-log-slower-than",
     .type = CT_LL,
     .offset = OFF(slowlog_log_slower_than),
     .lo = (unsigned long long)-1LL,
     .hi = LLONG_MAX,
     .dflt = "10000",
     .fixup = config_watch_fixup},
    {.name = "slowlog-max-len",
     .type = CT_LL,
     .offset = OFF(slowlog_max_len),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "128",
     .fixup = config_watch_fixup},
    {.name = "latency-monitor-threshold",
     .type = CT_LL,
     .offset = OFF(latency_monitor_threshold),
     .lo = 0,
     .hi = LLONG_MAX,
     .dflt = "0",
     .fixup = config_watch_fixup},
    {.name = "list-compress-depth",
     .type = CT_INT,
     .offset = OFF(list_compress_depth),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "0"},
    {.name = "stream-node-max-bytes",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(stream_node_max_bytes),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "4096"},
    {.name = "stream-node-max-entries",
     .type = CT_LL,
     .offset = OFF(stream_node_max_entries),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "100"},
    /* Redis's default is 512 whatever its sample redis.conf says. */
    {.name = "hash-max-listpack-entries",
     .alias = "hash-max-ziplist-entries",
     .type = CT_LL,
     .offset = OFF(hash_max_listpack_entries),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "512"},
    {.name = "hash-max-listpack-value",
     .alias = "hash-max-ziplist-value",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(hash_max_listpack_value),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "64"},
    /* Sets: an intset while all members are integers and at most this
     * many; else a listpack while small (Redis 7.2's thresholds). */
    {.name = "set-max-intset-entries",
     .type = CT_LL,
     .offset = OFF(set_max_intset_entries),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "512"},
    {.name = "set-max-listpack-entries",
     .type = CT_LL,
     .offset = OFF(set_max_listpack_entries),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "128"},
    {.name = "set-max-listpack-value",
     .type = CT_LL,
     .offset = OFF(set_max_listpack_value),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "64"},
    {.name = "zset-max-listpack-entries",
     .alias = "zset-max-ziplist-entries",
     .type = CT_LL,
     .offset = OFF(zset_max_listpack_entries),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "128"},
    {.name = "zset-max-listpack-value",
     .alias = "zset-max-ziplist-value",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(zset_max_listpack_value),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "64"},
    {.name = "hll-sparse-max-bytes",
     .type = CT_LL,
     .flags = CF_MEMORY,
     .offset = OFF(hll_sparse_max_bytes),
     .lo = 0,
     .hi = LONG_MAX,
     .dflt = "3000"},
};

#define CONFIG_COUNT (sizeof(config_table) / sizeof(config_table[0]))
#define BIND_MAX     16 /* Redis's CONFIG_BINDADDR_MAX */

/* A parameter and the struct that holds its value: the engine's
 * cairn_config, or the host's own for the host's table.  Parameters are
 * numbered from 0, the engine's first. */
typedef struct param {
    const config_def *d;
    void *cfg;
} param;

static size_t host_count(const cairn_engine *e) { return e->host ? e->host->config_count : 0; }

static size_t param_count(const cairn_engine *e)
{
    return CONFIG_COUNT + host_count(e) + COMPAT_CONFIG_COUNT;
}

/* The engine's parameters, then the host's, then Redis's directives that
 * are only accepted (config_compat.c), each in a slot of its own. */
static param param_at(cairn_engine *e, size_t i)
{
    if (i < CONFIG_COUNT) return (param){&config_table[i], &e->cfg};
    i -= CONFIG_COUNT;
    if (i < host_count(e))
        return (param){&e->host->config_defs[i], e->host->config_base(e->host_priv)};
    i -= host_count(e);
    return (param){&compat_config_defs[i], &e->cfg.compat[i]};
}

static int is_compat(const cairn_engine *e, size_t i) { return i >= CONFIG_COUNT + host_count(e); }

static int name_is(const char *name, const char *s, size_t len)
{
    return name && strlen(name) == len && strncasecmp(name, s, len) == 0;
}

/* The number of parameter `name` (or one of its aliases), or -1. */
static long param_find(cairn_engine *e, const char *name, size_t len)
{
    for (size_t i = 0; i < param_count(e); i++) {
        const config_def *d = param_at(e, i).d;
        if (name_is(d->name, name, len) || name_is(d->alias, name, len)) return (long)i;
    }
    return -1;
}

/* Why the host refuses parameter d (config_refused), in err; NULL if it
 * takes it. */
static const char *host_refuses(cairn_engine *e, const config_def *d, char *err, size_t errlen)
{
    if (!e->host || !e->host->config_refused) return NULL;
    return e->host->config_refused(e->host_priv, d, err, errlen) ? err : NULL;
}

/* A compat parameter whose name a real one has taken: never seen. */
static int param_shadowed(cairn_engine *e, size_t i)
{
    if (!is_compat(e, i)) return 0;
    const char *name = param_at(e, i).d->name;
    return param_find(e, name, strlen(name)) != (long)i;
}

const char *config_compat_shadowed(cairn_engine *e)
{
    for (size_t i = CONFIG_COUNT + host_count(e); i < param_count(e); i++)
        if (param_shadowed(e, i)) return param_at(e, i).d->name;
    return NULL;
}

/* A parameter was set: if it is a compat one, the host logs that it has
 * no effect. */
static void warn_compat(cairn_engine *e, const config_def *d)
{
    if (!e->host || !e->host->config_warning) return;
    size_t k = 0;
    while (k < COMPAT_CONFIG_COUNT && &compat_config_defs[k] != d)
        k++;
    if (k == COMPAT_CONFIG_COUNT) return;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "Config '%s' is accepted for compatibility with Redis but not used: %s", d->name,
             config_compat_note(d));
    e->host->config_warning(e->host_priv, msg);
}

static void *field(void *cfg, const config_def *d) { return (char *)cfg + d->offset; }
static const void *cfield(const void *cfg, const config_def *d)
{
    return (const char *)cfg + d->offset;
}

static int holds_dstr(const config_def *d)
{
    return d->type == CT_STRING || d->type == CT_BIND || d->type == CT_SAVE || d->type == CT_PCTS;
}

/* ---------------------------------------------------------------------------
 * Parsing values
 * ------------------------------------------------------------------------ */

int config_parse_memory(const char *p, unsigned long long *out)
{
    const char *u = p;
    unsigned long long mul;

    if (*u == '-') return 0;
    while (*u >= '0' && *u <= '9')
        u++;
    if (*u == '\0' || !strcasecmp(u, "b"))
        mul = 1;
    else if (!strcasecmp(u, "k"))
        mul = 1000;
    else if (!strcasecmp(u, "kb"))
        mul = 1024;
    else if (!strcasecmp(u, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(u, "g"))
        mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb"))
        mul = 1024ULL * 1024 * 1024;
    else
        return 0;

    char buf[128];
    size_t digits = (size_t)(u - p);
    if (digits >= sizeof(buf)) return 0;
    memcpy(buf, p, digits);
    buf[digits] = '\0';
    /* Like Redis: no digits reads as 0 ("" and "kb" are 0), and a number
     * too large saturates through strtoull rather than failing. */
    char *end;
    errno = 0;
    unsigned long long val = strtoull(buf, &end, 10);
    if ((val == 0 && errno == EINVAL) || *end != '\0') return 0;
    if (val > ULLONG_MAX / mul) return 0;
    *out = val * mul;
    return 1;
}

static int set_err(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return 0;
}

/* Parse a numeric argument the way Redis's numericParseString does: a
 * memory amount, an octal number, or a strict decimal integer. */
static int parse_number(const config_def *d, const cslice *arg, long long *res, char *err,
                        size_t errlen)
{
    char buf[128];
    if (arg->len < sizeof(buf) && !memchr(arg->ptr, '\0', arg->len)) {
        memcpy(buf, arg->ptr, arg->len);
        buf[arg->len] = '\0';
        if (d->flags & CF_MEMORY) {
            unsigned long long v;
            if (config_parse_memory(buf, &v)) {
                *res = (long long)v; /* bounds are checked as the type demands */
                return 1;
            }
        } else if (d->flags & CF_OCTAL) {
            char *end;
            errno = 0;
            long long v = strtoll(buf, &end, 8);
            if (errno != EINVAL && *end == '\0') {
                *res = v;
                return 1;
            }
        } else if (str_to_ll(buf, arg->len, res)) {
            return 1;
        }
    }
    if (d->flags & CF_MEMORY) return set_err(err, errlen, "argument must be a memory value");
    if (d->flags & CF_OCTAL)
        return set_err(err, errlen, "argument couldn't be parsed as an octal number");
    return set_err(err, errlen, "argument couldn't be parsed into an integer");
}

static int check_bounds(const config_def *d, long long v, char *err, size_t errlen)
{
    if (d->flags & CF_UNSIGNED) {
        unsigned long long u = (unsigned long long)v;
        if (u < d->lo || u > d->hi) {
            snprintf(err, errlen,
                     (d->flags & CF_OCTAL) ? "argument must be between %llo and %llo inclusive"
                                           : "argument must be between %llu and %llu inclusive",
                     d->lo, d->hi);
            return 0;
        }
    } else if (v < (long long)d->lo || v > (long long)d->hi) {
        snprintf(err, errlen, "argument must be between %lld and %lld inclusive", (long long)d->lo,
                 (long long)d->hi);
        return 0;
    }
    if (d->held && (unsigned long long)v > d->held) {
        snprintf(err, errlen, "argument must be at most %llu (the most Cairn can hold)", d->held);
        return 0;
    }
    return 1;
}

static int set_numeric(void *cfg, const config_def *d, const cslice *arg, char *err, size_t errlen)
{
    long long v;
    if (!parse_number(d, arg, &v, err, errlen) || !check_bounds(d, v, err, errlen)) return 0;
    switch (d->type) {
    case CT_INT:
        /* maxclients is unsigned in Redis (up to UINT_MAX) but an int here:
         * a larger value means "no limit" and is stored as INT_MAX, just as
         * Redis itself lowers maxclients to what the system allows. */
        *(int *)field(cfg, d) = v > INT_MAX ? INT_MAX : (int)v;
        break;
    case CT_LL: *(long long *)field(cfg, d) = v; break;
    default: *(unsigned long long *)field(cfg, d) = (unsigned long long)v; break;
    }
    return 1;
}

static int set_bool(void *cfg, const config_def *d, const cslice *arg, char *err, size_t errlen)
{
    if (slice_is(arg, "yes"))
        *(int *)field(cfg, d) = 1;
    else if (slice_is(arg, "no"))
        *(int *)field(cfg, d) = 0;
    else
        return set_err(err, errlen, "argument must be 'yes' or 'no'");
    return 1;
}

static int set_enum(void *cfg, const config_def *d, const cslice *arg, char *err, size_t errlen)
{
    for (const cfg_enum *en = d->enums; en->name; en++) {
        if (slice_is(arg, en->name)) {
            *(int *)field(cfg, d) = en->value;
            return 1;
        }
    }
    size_t used = (size_t)snprintf(err, errlen, "argument(s) must be one of the following: ");
    for (const cfg_enum *en = d->enums; en->name && used < errlen; en++)
        used +=
            (size_t)snprintf(err + used, errlen - used, "%s%s", en->name, en[1].name ? ", " : "");
    return 0;
}

static void replace_dstr(void *cfg, const config_def *d, dstr s)
{
    dstr *slot = field(cfg, d);
    dstr_free(*slot);
    *slot = s;
}

static int set_bind(void *cfg, const config_def *d, const cslice *argv, int argc, char *err,
                    size_t errlen)
{
    if (argc > BIND_MAX) return set_err(err, errlen, "Too many bind addresses specified.");
    /* A single empty argument means no address at all. */
    if (argc == 1 && argv[0].len == 0) argc = 0;
    dstr s = dstr_new("", 0);
    for (int i = 0; i < argc; i++) {
        if (i) s = dstr_cat(s, " ", 1);
        s = dstr_cat(s, argv[i].ptr, argv[i].len);
    }
    const char *why = d->check ? d->check(&(cslice){s, dstr_len(s)}) : NULL;
    if (why) {
        dstr_free(s);
        return set_err(err, errlen, why);
    }
    replace_dstr(cfg, d, s);
    return 1;
}

/* strtoll over a slice, as Redis applies it to save parameters: leading
 * spaces and a sign are accepted, trailing garbage is not. */
static int save_number(const cslice *arg, long long *out)
{
    char buf[64];
    if (arg->len >= sizeof(buf) || memchr(arg->ptr, '\0', arg->len)) return 0;
    memcpy(buf, arg->ptr, arg->len);
    buf[arg->len] = '\0';
    char *end;
    *out = strtoll(buf, &end, 10);
    return *end == '\0';
}

/* `save` is the engine's: save_loaded lives in cairn_config. */
static int set_save(void *config, const config_def *d, const cslice *argv, int argc, int startup,
                    char *err, size_t errlen)
{
    cairn_config *cfg = config;
    /* A single "" clears the rules, even in the middle of a file. */
    int clear = argc == 1 && argv[0].len == 0;
    if (clear) argc = 0;
    if (argc & 1) return set_err(err, errlen, "Invalid save parameters");
    for (int j = 0; j < argc; j++) {
        long long v;
        if (!save_number(&argv[j], &v) || ((j & 1) == 0 && v < 1) || ((j & 1) == 1 && v < 0))
            return set_err(err, errlen, "Invalid save parameters");
    }
    /* CONFIG SET replaces the rules.  In a file, the first `save` line
     * replaces the default and later lines add to it. */
    dstr s;
    if (!startup || !cfg->save_loaded || clear) {
        s = dstr_new("", 0);
        if (startup) cfg->save_loaded = 1;
    } else {
        s = dstr_dup(*(dstr *)field(cfg, d));
    }
    for (int j = 0; j < argc; j += 2) {
        long long seconds = 0, changes = 0; /* validated above */
        save_number(&argv[j], &seconds);
        save_number(&argv[j + 1], &changes);
        s = dstr_catfmt(s, "%s%lld %d", dstr_len(s) ? " " : "", seconds, (int)changes);
    }
    replace_dstr(cfg, d, s);
    return 1;
}

/* Percentiles as CONFIG GET shows them: "%f" without trailing zeros, as
 * Redis prints them, formatted without the C locale's help. */
static dstr cat_percentile(dstr s, double p)
{
    long long micro = (long long)(p * 1e6 + 0.5);
    s = dstr_catfmt(s, "%s%lld", dstr_len(s) ? " " : "", micro / 1000000);
    long long frac = micro % 1000000;
    if (!frac) return s;
    int digits = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    return dstr_catfmt(s, ".%0*lld", digits, frac);
}

static int set_percentiles(cairn_config *cfg, const config_def *d, const cslice *argv, int argc,
                           char *err, size_t errlen)
{
    /* A single "" means no percentiles. */
    if (argc == 1 && argv[0].len == 0) argc = 0;
    if (argc > LATENCY_PCTS_MAX)
        return set_err(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
    double v[LATENCY_PCTS_MAX];
    for (int i = 0; i < argc; i++) {
        if (!str_to_double(argv[i].ptr, argv[i].len, &v[i]))
            return set_err(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
        if (v[i] < 0.0 || v[i] > 100.0)
            return set_err(err, errlen,
                           "latency-tracking-info-percentiles parameters should sit between "
                           "[0.0,100.0]");
    }
    dstr s = dstr_new("", 0);
    for (int i = 0; i < argc; i++)
        s = cat_percentile(s, v[i]);
    replace_dstr(cfg, d, s);
    return 1;
}

static int obuf_class_by_name(const cslice *s)
{
    static const char *const names[] = {"normal", "slave", "replica", "pubsub"};
    static const int classes[] = {OBUF_NORMAL, OBUF_REPLICA, OBUF_REPLICA, OBUF_PUBSUB};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (slice_is(s, names[i])) return classes[i];
    return -1;
}

/* client-output-buffer-limit <class> <hard> <soft> <seconds> [...]: the
 * classes named are changed, the others kept; nothing changes unless
 * every quadruple is valid. */
static int set_obuf(void *cfg, const config_def *d, const cslice *argv, int argc, char *err,
                    size_t errlen)
{
    if (argc % 4)
        return set_err(err, errlen, "Wrong number of arguments in buffer limit configuration.");
    obuf_limit next[OBUF_CLASSES];
    memcpy(next, field(cfg, d), sizeof(next));
    for (int j = 0; j < argc; j += 4) {
        int cls = obuf_class_by_name(&argv[j]);
        if (cls < 0)
            return set_err(err, errlen,
                           "Invalid client class specified in buffer limit configuration.");
        char buf[3][64];
        for (int k = 0; k < 3; k++) {
            size_t n = argv[j + 1 + k].len < 63 ? argv[j + 1 + k].len : 63;
            memcpy(buf[k], argv[j + 1 + k].ptr, n);
            buf[k][n] = '\0';
        }
        unsigned long long hard, soft;
        long long secs;
        if (!config_parse_memory(buf[0], &hard) || !config_parse_memory(buf[1], &soft) ||
            !str_to_ll(argv[j + 3].ptr, argv[j + 3].len, &secs) || secs < 0)
            return set_err(err, errlen,
                           "Error in hard, soft or soft_seconds setting in buffer limit "
                           "configuration.");
        next[cls] = (obuf_limit){hard, soft, secs};
    }
    memcpy(field(cfg, d), next, sizeof(next));
    return 1;
}

static dstr format_obuf(const obuf_limit *l)
{
    static const char *const names[OBUF_CLASSES] = {"normal", "slave", "pubsub"};
    dstr s = dstr_new("", 0);
    for (int i = 0; i < OBUF_CLASSES; i++)
        s = dstr_catfmt(s, "%s%s %llu %llu %lld", i ? " " : "", names[i], l[i].hard, l[i].soft,
                        l[i].soft_seconds);
    return s;
}

/* Set d from already split arguments.  Single-argument types get argc 1. */
static int set_value(void *cfg, const config_def *d, const cslice *argv, int argc, int startup,
                     char *err, size_t errlen)
{
    int ok;
    switch (d->type) {
    case CT_BOOL: ok = set_bool(cfg, d, &argv[0], err, errlen); break;
    case CT_ENUM: ok = set_enum(cfg, d, &argv[0], err, errlen); break;
    case CT_STRING: {
        const char *why = d->check ? d->check(&argv[0]) : NULL;
        if (why) return set_err(err, errlen, why);
        replace_dstr(cfg, d, dstr_new(argv[0].ptr, argv[0].len));
        ok = 1;
        break;
    }
    case CT_BIND: ok = set_bind(cfg, d, argv, argc, err, errlen); break;
    case CT_SAVE: ok = set_save(cfg, d, argv, argc, startup, err, errlen); break;
    case CT_PCTS: ok = set_percentiles(cfg, d, argv, argc, err, errlen); break;
    case CT_OBUF: ok = set_obuf(cfg, d, argv, argc, err, errlen); break;
    case CT_NOTIFY: {
        int flags = notify_flags_parse(argv[0].ptr, argv[0].len);
        if (flags < 0)
            return set_err(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        *(int *)field(cfg, d) = flags;
        ok = 1;
        break;
    }
    default: ok = set_numeric(cfg, d, &argv[0], err, errlen); break;
    }
    if (ok && d->fixup) d->fixup(cfg);
    return ok;
}

/* CONFIG SET splits a multi-argument value on single spaces (Redis's
 * sdssplitlen): "a  b" is three arguments, the middle one empty. */
static cslice *split_on_spaces(const char *s, size_t len, int *argc)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ' ';
    cslice *v = cm_malloc(sizeof(*v) * (n + 1));
    *argc = 0;
    if (len == 0) return v;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ' ') {
            v[(*argc)++] = (cslice){s + start, i - start};
            start = i + 1;
        }
    }
    return v;
}

/* Set d from one textual value.  At startup (file, flags) a multi-argument
 * value is split with the file's quoting rules, as Redis does for
 * `--save "900 1"`; for CONFIG SET it is split on spaces. */
static int set_from_text(void *cfg, const config_def *d, const char *value, size_t len, int startup,
                         char *err, size_t errlen)
{
    if (!(d->flags & CF_MULTI_ARG) || (startup && len == 0)) {
        /* At startup `save ""` is one empty argument, which clears. */
        cslice arg = {value, len};
        return set_value(cfg, d, &arg, 1, startup, err, errlen);
    }
    int argc, ok;
    if (startup) {
        dstr *parts = config_split_args(value, len, &argc);
        if (!parts) return set_err(err, errlen, "Unbalanced quotes in configuration line");
        cslice *args = cm_malloc(sizeof(*args) * ((size_t)argc + 1));
        for (int i = 0; i < argc; i++)
            args[i] = (cslice){parts[i], dstr_len(parts[i])};
        ok = set_value(cfg, d, args, argc, startup, err, errlen);
        cm_free(args);
        config_free_args(parts, argc);
    } else {
        cslice *args = split_on_spaces(value, len, &argc);
        ok = set_value(cfg, d, args, argc, startup, err, errlen);
        cm_free(args);
    }
    return ok;
}

/* ---------------------------------------------------------------------------
 * Showing values
 * ------------------------------------------------------------------------ */

static dstr format_value(const void *cfg, const config_def *d)
{
    const void *p = cfield(cfg, d);
    switch (d->type) {
    case CT_BOOL: return dstr_from_cstr(*(const int *)p ? "yes" : "no");
    case CT_INT:
        return dstr_catfmt(dstr_new("", 0), (d->flags & CF_OCTAL) ? "%o" : "%d", *(const int *)p);
    case CT_LL: return dstr_catfmt(dstr_new("", 0), "%lld", *(const long long *)p);
    case CT_ULL: return dstr_catfmt(dstr_new("", 0), "%llu", *(const unsigned long long *)p);
    case CT_OBUF: return format_obuf(p);
    case CT_NOTIFY: {
        char buf[32];
        notify_flags_format(*(const int *)p, buf);
        return dstr_from_cstr(buf);
    }
    case CT_ENUM:
        for (const cfg_enum *en = d->enums; en->name; en++)
            if (en->value == *(const int *)p) return dstr_from_cstr(en->name);
        return dstr_new("", 0);
    default: {
        dstr s = *(const dstr *)p;
        return s ? dstr_dup(s) : dstr_new("", 0);
    }
    }
}

dstr config_get_value(cairn_engine *e, const char *name)
{
    long i = param_find(e, name, strlen(name));
    if (i < 0) return NULL;
    param p = param_at(e, (size_t)i);
    return format_value(p.cfg, p.d);
}

/* ---------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------ */

void config_table_init(const config_def *defs, size_t n, void *config)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        const config_def *d = &defs[i];
        /* The defaults are valid by construction; a failure is a bug in
         * the table. */
        if (!set_from_text(config, d, d->dflt, strlen(d->dflt), 0, err, sizeof(err))) {
            fprintf(stderr, "config: bad default for '%s': %s\n", d->name, err);
            abort();
        }
    }
}

void config_table_free(const config_def *defs, size_t n, void *config)
{
    for (size_t i = 0; i < n; i++) {
        if (!holds_dstr(&defs[i])) continue;
        dstr *slot = field(config, &defs[i]);
        dstr_free(*slot);
        *slot = NULL;
    }
}

void config_init(cairn_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    config_table_init(config_table, CONFIG_COUNT, cfg);
    for (size_t i = 0; i < COMPAT_CONFIG_COUNT; i++)
        config_table_init(&compat_config_defs[i], 1, &cfg->compat[i]);
    cfg->save_loaded = 0;
}

void config_free(cairn_config *cfg)
{
    config_table_free(config_table, CONFIG_COUNT, cfg);
    for (size_t i = 0; i < COMPAT_CONFIG_COUNT; i++)
        config_table_free(&compat_config_defs[i], 1, &cfg->compat[i]);
}

/* A copy of one parameter's value, put back when a CONFIG SET fails. */
typedef struct saved_value {
    union {
        int i;
        long long ll;
        unsigned long long ull;
        dstr s;
        obuf_limit obuf[OBUF_CLASSES];
    } v;
} saved_value;

static size_t value_size(const config_def *d)
{
    switch (d->type) {
    case CT_LL: return sizeof(long long);
    case CT_ULL: return sizeof(unsigned long long);
    case CT_OBUF: return sizeof(obuf_limit) * OBUF_CLASSES;
    default: return holds_dstr(d) ? sizeof(dstr) : sizeof(int);
    }
}

static void save_value(const param *p, saved_value *out)
{
    memcpy(&out->v, field(p->cfg, p->d), value_size(p->d));
    if (holds_dstr(p->d) && out->v.s) out->v.s = dstr_dup(out->v.s);
}

static void restore_value(const param *p, const saved_value *in)
{
    if (holds_dstr(p->d)) dstr_free(*(dstr *)field(p->cfg, p->d));
    memcpy(field(p->cfg, p->d), &in->v, value_size(p->d));
}

static void drop_value(const param *p, saved_value *in)
{
    if (holds_dstr(p->d)) dstr_free(in->v.s);
}

const char *config_set(cairn_engine *e, const char *name, const char *value, int startup,
                       char *err_buf, size_t err_len)
{
    long i = param_find(e, name, strlen(name));
    if (i < 0) {
        set_err(err_buf, err_len, "Bad directive or wrong number of arguments");
        return err_buf;
    }
    param p = param_at(e, (size_t)i);
    if (host_refuses(e, p.d, err_buf, err_len)) return err_buf;
    if ((p.d->flags & CF_IMMUTABLE) && !startup) {
        set_err(err_buf, err_len, "can't set immutable config");
        return err_buf;
    }
    if (!set_from_text(p.cfg, p.d, value, strlen(value), startup, err_buf, err_len)) return err_buf;
    if (p.d->apply) p.d->apply(e);
    warn_compat(e, p.d);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * The configuration file
 * ------------------------------------------------------------------------ */

dstr *config_split_args(const char *s, size_t len, int *argc)
{
    /* Unquoted in place, in a copy: the caller's text stays as it is. */
    char *buf = cm_malloc(len + 1);
    memcpy(buf, s, len);
    dstr *v = cm_malloc(sizeof(*v));
    size_t pos = 0, off = 0, alen = 0;
    int r;
    *argc = 0;
    while ((r = split_next_arg(buf, &pos, len, &off, &alen)) > 0) {
        v = cm_realloc(v, sizeof(*v) * ((size_t)*argc + 1));
        v[(*argc)++] = dstr_new(buf + off, alen);
    }
    cm_free(buf);
    if (r == 0) return v;
    config_free_args(v, *argc);
    *argc = 0;
    return NULL;
}

void config_free_args(dstr *argv, int argc)
{
    if (!argv) return;
    for (int i = 0; i < argc; i++)
        dstr_free(argv[i]);
    cm_free(argv);
}

/* Apply one directive of the file.  Returns NULL or an error message. */
static const char *set_directive(const param *p, dstr *argv, int argc, char *err, size_t errlen)
{
    const config_def *d = p->d;
    void *cfg = p->cfg;
    if (!(d->flags & CF_MULTI_ARG)) {
        if (argc != 2) return "wrong number of arguments";
        return set_from_text(cfg, d, argv[1], dstr_len(argv[1]), 1, err, errlen) ? NULL : err;
    }
    /* `bind "a b"` is split again, so that --bind "a b" works too. */
    if (argc == 2 && dstr_len(argv[1]) > 0)
        return set_from_text(cfg, d, argv[1], dstr_len(argv[1]), 1, err, errlen) ? NULL : err;
    cslice *args = cm_malloc(sizeof(*args) * (size_t)argc);
    for (int i = 1; i < argc; i++)
        args[i - 1] = (cslice){argv[i], dstr_len(argv[i])};
    int ok = set_value(cfg, d, args, argc - 1, 1, err, errlen);
    cm_free(args);
    return ok ? NULL : err;
}

/* Directives of a Redis file that are not parameters, accepted with a
 * warning: Redis's deprecated ones (which it ignores silently), and those
 * of features Cairn lacks. */
static const struct {
    const char *name;
    int argc_min, argc_max;
    const char *note;
} other_directives[] = {
    {"list-max-ziplist-entries", 2, 2, "deprecated in Redis, ignored"},
    {"list-max-ziplist-value", 2, 2, "deprecated in Redis, ignored"},
    {"lua-replicate-commands", 2, 2, "deprecated in Redis, ignored"},
    {"loadmodule", 2, INT_MAX, "modules are not supported"},
};

static void warn_directive(cairn_engine *e, const char *name, const char *note)
{
    if (!e->host || !e->host->config_warning) return;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "Directive '%s' is accepted for compatibility with Redis but not used: %s", name,
             note);
    e->host->config_warning(e->host_priv, msg);
}

/* Apply one directive of the file.  Returns NULL or an error message;
 * an `include` whose file failed has set *inc_err instead. */
static const char *load_directive(cairn_engine *e, dstr *argv, int argc, char *err, size_t errlen,
                                  dstr *inc_err)
{
    long i = param_find(e, argv[0], dstr_len(argv[0]));
    if (i >= 0) {
        param p = param_at(e, (size_t)i);
        const char *msg = host_refuses(e, p.d, err, errlen);
        if (!msg) msg = set_directive(&p, argv, argc, err, errlen);
        if (msg) return msg;
        if (p.d->apply) p.d->apply(e);
        warn_compat(e, p.d);
        return NULL;
    }
    if (name_is("user", argv[0], dstr_len(argv[0])))
        return acl_config_user(e, argv, argc, err, errlen);
    if (name_is("rename-command", argv[0], dstr_len(argv[0]))) {
        if (argc != 3) return "Bad directive or wrong number of arguments";
        return cmd_rename(e, argv[1], dstr_len(argv[1]), argv[2], dstr_len(argv[2]));
    }
    if (name_is("include", argv[0], dstr_len(argv[0])) && argc == 2) {
        /* The host reads the file (the engine does no I/O) and applies it
         * with config_load_string; its errors name its own lines. */
        if (!e->host || !e->host->config_include) return "include is not supported here";
        if (e->host->config_include(e->host_priv, argv[1], inc_err) != 0)
            return *inc_err ? NULL : "include failed";
        return NULL;
    }
    for (size_t k = 0; k < sizeof(other_directives) / sizeof(other_directives[0]); k++) {
        if (name_is(other_directives[k].name, argv[0], dstr_len(argv[0])) &&
            argc >= other_directives[k].argc_min && argc <= other_directives[k].argc_max) {
            warn_directive(e, other_directives[k].name, other_directives[k].note);
            return NULL;
        }
    }
    /* A module's parameter ("module.name value"), as Redis queues it. */
    if (memchr(argv[0], '.', dstr_len(argv[0]))) {
        if (argc != 2) return "Module config specified without value";
        warn_directive(e, argv[0], "modules are not supported");
        return NULL;
    }
    return "Bad directive or wrong number of arguments";
}

static int trim_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The next line of text[*pos .. len), without its blanks at either end.
 * Returns 0 at the end of the text. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *llen)
{
    if (*pos >= len) return 0;
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    size_t stop = nl ? (size_t)(nl - text) : len;
    *line = text + *pos;
    *llen = stop - *pos;
    *pos = stop + 1;
    while (*llen && trim_char((*line)[0]))
        (*line)++, (*llen)--;
    while (*llen && trim_char((*line)[*llen - 1]))
        (*llen)--;
    return 1;
}

int config_load_string(cairn_engine *e, const char *text, size_t len, dstr *err)
{
    size_t pos = 0, llen;
    const char *line;
    int linenum = 0;
    while (next_line(text, len, &pos, &line, &llen)) {
        linenum++;
        if (llen == 0 || line[0] == '#') continue;

        char buf[512];
        const char *msg = NULL;
        dstr inc_err = NULL;
        int argc;
        dstr *argv = config_split_args(line, llen, &argc);
        if (!argv)
            msg = "Unbalanced quotes in configuration line";
        else if (argc > 0)
            msg = load_directive(e, argv, argc, buf, sizeof(buf), &inc_err);
        config_free_args(argv, argc);
        if (inc_err) {
            *err = inc_err;
            return -1;
        }
        if (msg) {
            *err = dstr_catfmt(dstr_new("", 0),
                               "Reading the configuration file, at line %d\n>>> '%.*s'\n%s",
                               linenum, (int)llen, line, msg);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * CONFIG REWRITE
 * ------------------------------------------------------------------------ */

#define REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

typedef struct rewrite_state {
    dstr *lines;
    long *owner; /* the parameter whose value line i holds, or -1 */
    size_t n, cap;
    int needs_signature;
} rewrite_state;

static void rewrite_append(rewrite_state *st, dstr line, long owner)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->lines = cm_realloc(st->lines, st->cap * sizeof(*st->lines));
        st->owner = cm_realloc(st->owner, st->cap * sizeof(*st->owner));
    }
    st->lines[st->n] = line;
    st->owner[st->n++] = owner;
}

static void rewrite_read_old(cairn_engine *e, rewrite_state *st, const char *text, size_t len)
{
    size_t pos = 0, llen;
    const char *line;
    while (next_line(text, len, &pos, &line, &llen)) {
        if (llen == 0 || line[0] == '#') {
            if (llen == strlen(REWRITE_SIGNATURE) && !memcmp(line, REWRITE_SIGNATURE, llen))
                st->needs_signature = 0;
            rewrite_append(st, dstr_new(line, llen), -1);
            continue;
        }
        int argc;
        dstr *argv = config_split_args(line, llen, &argc);
        long owner = argv && argc > 0 ? param_find(e, argv[0], dstr_len(argv[0])) : -1;
        /* Directives that are not parameters but load (users, renamed
         * commands) stay as they are. */
        int directive = argv && argc > 0 &&
                        (name_is("user", argv[0], dstr_len(argv[0])) ||
                         name_is("rename-command", argv[0], dstr_len(argv[0])));
        config_free_args(argv, argc);
        /* A line the tables do not know (or cannot parse) is kept, as a
         * comment: the next start would refuse it. */
        dstr kept = owner < 0 && !directive ? dstr_new("# ??? ", 6) : dstr_new("", 0);
        rewrite_append(st, dstr_cat(kept, line, llen), owner);
    }
}

/* Put line, a line of parameter i, in place of the next old line of i, or
 * append it if there is none and force is set (else drop it). */
static void rewrite_line(rewrite_state *st, size_t *next, long i, dstr line, int force)
{
    for (; *next < st->n; (*next)++) {
        if (st->owner[*next] != i) continue;
        dstr_free(st->lines[*next]);
        st->lines[(*next)++] = line;
        return;
    }
    if (!force) {
        dstr_free(line);
        return;
    }
    if (st->needs_signature) {
        rewrite_append(st, dstr_from_cstr(REWRITE_SIGNATURE), -1);
        st->needs_signature = 0;
    }
    /* Past *next: a later line of i is never overwritten. */
    rewrite_append(st, line, -2);
    *next = st->n;
}

/* A memory amount as Redis's rewriteConfigFormatMemory writes it. */
static dstr format_memory(unsigned long long v)
{
    static const struct {
        unsigned long long mul;
        const char *unit;
    } units[] = {{1024ULL * 1024 * 1024, "gb"}, {1024 * 1024, "mb"}, {1024, "kb"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (v && v % units[i].mul == 0)
            return dstr_catfmt(dstr_new("", 0), "%llu%s", v / units[i].mul, units[i].unit);
    return dstr_catfmt(dstr_new("", 0), "%llu", v);
}

/* The default of p as CONFIG GET shows it: set, shown, and put back. */
static dstr default_text(const param *p)
{
    saved_value cur;
    char err[256];
    save_value(p, &cur);
    (void)set_from_text(p->cfg, p->d, p->d->dflt, strlen(p->d->dflt), 0, err, sizeof(err));
    dstr s = format_value(p->cfg, p->d);
    restore_value(p, &cur);
    return s;
}

static void rewrite_obuf(rewrite_state *st, size_t *next, long i, const param *p)
{
    static const char *const names[OBUF_CLASSES] = {"normal", "replica", "pubsub"};
    obuf_limit dflt[OBUF_CLASSES], *now = field(p->cfg, p->d);
    saved_value cur;
    char err[256];
    save_value(p, &cur);
    (void)set_from_text(p->cfg, p->d, p->d->dflt, strlen(p->d->dflt), 0, err, sizeof(err));
    memcpy(dflt, now, sizeof(dflt));
    restore_value(p, &cur);
    for (int k = 0; k < OBUF_CLASSES; k++) {
        dstr hard = format_memory(now[k].hard), soft = format_memory(now[k].soft);
        dstr line = dstr_catfmt(dstr_new("", 0), "%s %s %s %s %lld", p->d->name, names[k], hard,
                                soft, now[k].soft_seconds);
        dstr_free(hard);
        dstr_free(soft);
        rewrite_line(st, next, i, line, memcmp(&dflt[k], &now[k], sizeof(now[k])) != 0);
    }
}

static void rewrite_save(rewrite_state *st, size_t *next, long i, const param *p)
{
    /* Always written, as Redis does: an absent `save` means the default. */
    dstr v = format_value(p->cfg, p->d);
    if (dstr_len(v) == 0) rewrite_line(st, next, i, dstr_from_cstr("save \"\""), 1);
    int argc;
    dstr *pairs = config_split_args(v, dstr_len(v), &argc);
    for (int k = 0; pairs && k + 1 < argc; k += 2)
        rewrite_line(st, next, i,
                     dstr_catfmt(dstr_new("", 0), "save %s %s", pairs[k], pairs[k + 1]), 1);
    config_free_args(pairs, argc);
    dstr_free(v);
}

/* The line(s) of parameter i with its current value. */
static void rewrite_param(rewrite_state *st, cairn_engine *e, long i)
{
    param p = param_at(e, (size_t)i);
    size_t next = 0;
    if (p.d->type == CT_OBUF) {
        rewrite_obuf(st, &next, i, &p);
    } else if (p.d->type == CT_SAVE) {
        rewrite_save(st, &next, i, &p);
    } else {
        dstr v = format_value(p.cfg, p.d), dflt = default_text(&p);
        int force = (p.d->flags & CF_REWRITE_ALWAYS) || dstr_len(v) != dstr_len(dflt) ||
                    memcmp(v, dflt, dstr_len(v)) != 0;
        dstr line = dstr_catfmt(dstr_new("", 0), "%s ", p.d->name);
        if (p.d->type == CT_STRING || p.d->type == CT_NOTIFY ||
            (p.d->type == CT_BIND && dstr_len(v) == 0)) {
            line = dstr_cat_repr(line, v, dstr_len(v));
        } else if (p.d->flags & CF_MEMORY) {
            dstr m = format_memory(strtoull(v, NULL, 10));
            line = dstr_cat(line, m, dstr_len(m));
            dstr_free(m);
        } else {
            line = dstr_cat(line, v, dstr_len(v));
        }
        dstr_free(v);
        dstr_free(dflt);
        rewrite_line(st, &next, i, line, force);
    }
    /* Lines of i beyond those rewritten are dropped. */
    for (; next < st->n; next++) {
        if (st->owner[next] != i) continue;
        dstr_free(st->lines[next]);
        st->lines[next] = dstr_new("", 0);
        st->owner[next] = -1;
    }
}

dstr config_rewrite_text(cairn_engine *e, const char *old, size_t len)
{
    rewrite_state st = {.needs_signature = 1};
    rewrite_read_old(e, &st, old, len);
    for (size_t i = 0; i < param_count(e); i++)
        if (!param_shadowed(e, i)) rewrite_param(&st, e, (long)i);
    dstr out = dstr_new("", 0);
    int was_empty = 0;
    for (size_t i = 0; i < st.n; i++) {
        int empty = dstr_len(st.lines[i]) == 0;
        if (!(empty && was_empty))
            out = dstr_cat(dstr_cat(out, st.lines[i], dstr_len(st.lines[i])), "\n", 1);
        was_empty = empty;
        dstr_free(st.lines[i]);
    }
    cm_free(st.lines);
    cm_free(st.owner);
    return out;
}

/* ---------------------------------------------------------------------------
 * CONFIG
 * ------------------------------------------------------------------------ */

static int has_glob_chars(const cslice *s)
{
    return memchr(s->ptr, '*', s->len) || memchr(s->ptr, '?', s->len) ||
           memchr(s->ptr, '[', s->len);
}

/* The name of slot i of CONFIG GET's matches: slots below n (the number
 * of parameters) are the parameters' names, the rest their aliases (NULL
 * if none). */
static const char *config_slot_name(cairn_engine *e, size_t i, size_t n)
{
    return i < n ? param_at(e, i).d->name : param_at(e, i - n).d->alias;
}

/* CONFIG GET pattern [pattern ...]: a map of every matching parameter,
 * each once.  A name without glob characters is echoed as it was typed,
 * as Redis does.  An alias is a name of its own: a pattern matching both
 * shows both, as Redis 7.0 does. */
static void config_get_command(cmd_call *c)
{
    cairn_engine *e = c->e;
    size_t n = param_count(e), count = 0;
    cslice *shown = cm_calloc(2 * n, sizeof(*shown));
    size_t *order = cm_malloc(2 * n * sizeof(*order));
    char why[256];

    for (int i = 2; i < c->argc; i++) {
        const cslice *pat = &c->argv[i];
        if (!has_glob_chars(pat)) {
            long found = param_find(e, pat->ptr, pat->len);
            if (found < 0 || host_refuses(e, param_at(e, (size_t)found).d, why, sizeof(why)))
                continue;
            size_t idx = (size_t)found;
            if (!slice_is(pat, param_at(e, idx).d->name)) idx += n;
            if (!shown[idx].ptr) {
                shown[idx] = *pat;
                order[count++] = idx;
            }
            continue;
        }
        for (size_t j = 0; j < 2 * n; j++) {
            const char *name = config_slot_name(e, j, n);
            if (!name || shown[j].ptr || param_shadowed(e, j % n) ||
                !glob_match(pat->ptr, pat->len, name, strlen(name), 1) ||
                host_refuses(e, param_at(e, j % n).d, why, sizeof(why)))
                continue;
            shown[j] = (cslice){name, strlen(name)};
            order[count++] = j;
        }
    }

    reply_map_len(c->out, (long)count);
    for (size_t i = 0; i < count; i++) {
        size_t idx = order[i];
        param p = param_at(e, idx % n);
        dstr v = format_value(p.cfg, p.d);
        reply_bulk(c->out, shown[idx].ptr, shown[idx].len);
        reply_bulk(c->out, v, dstr_len(v));
        dstr_free(v);
    }
    cm_free(shown);
    cm_free(order);
}

/* Tell the host about a changed parameter; NULL when it accepts it. */
static const char *notify_host(cairn_engine *e, const config_def *d)
{
    if (!e->host || !e->host->config_changed) return NULL;
    return e->host->config_changed(e->host_priv, d->name);
}

/* Check the names of a CONFIG SET the way Redis does, before anything is
 * changed.  Returns 1 and fills params, or replies with the error. */
static int config_set_check(cmd_call *c, int n, param *params)
{
    int unknown = -1, bad = -1;
    const char *errstr = NULL;
    char why[256];
    for (int i = 0; i < n && bad < 0; i++) {
        const cslice *name = &c->argv[2 + 2 * i];
        long found = param_find(c->e, name->ptr, name->len);
        if (found < 0) {
            unknown = 2 + 2 * i;
            break;
        }
        params[i] = param_at(c->e, (size_t)found);
        if ((errstr = host_refuses(c->e, params[i].d, why, sizeof(why)))) {
            bad = 2 + 2 * i;
        } else if (params[i].d->flags & CF_IMMUTABLE) {
            errstr = "can't set immutable config";
            bad = 2 + 2 * i;
        } else if ((params[i].d->flags & CF_PROTECTED) &&
                   !protected_allowed(c->e->cfg.enable_protected_configs, c->s)) {
            errstr = "can't set protected config";
            bad = 2 + 2 * i;
        }
        for (int j = 0; j < i && bad < 0; j++) {
            if (params[j].d == params[i].d) {
                errstr = "duplicate parameter";
                bad = 2 + 2 * i;
            }
        }
    }
    if (unknown >= 0) {
        reply_errorf(c->out, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                     (int)c->argv[unknown].len, c->argv[unknown].ptr);
        return 0;
    }
    if (bad >= 0) {
        reply_errorf(c->out, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                     (int)c->argv[bad].len, c->argv[bad].ptr, errstr);
        return 0;
    }
    return 1;
}

/* Did CONFIG SET change p?  (Compared as CONFIG GET shows it.) */
static int value_changed(const param *p, const saved_value *old)
{
    if (holds_dstr(p->d)) {
        dstr a = old->v.s, b = *(const dstr *)cfield(p->cfg, p->d);
        size_t la = a ? dstr_len(a) : 0, lb = b ? dstr_len(b) : 0;
        return la != lb || (la && memcmp(a, b, la) != 0);
    }
    return memcmp(&old->v, cfield(p->cfg, p->d), value_size(p->d)) != 0;
}

/* CONFIG SET name value [name value ...]: all or nothing.  Every value is
 * parsed and stored first; then the host is told of each one that changed
 * and may refuse it, in which case everything is put back. */
static void config_set_command(cmd_call *c)
{
    cairn_engine *e = c->e;
    if (c->argc % 2 != 0) {
        reply_syntax_error(c);
        return;
    }
    int n = (c->argc - 2) / 2;
    param *params = cm_calloc((size_t)n, sizeof(*params));
    saved_value *before = cm_calloc((size_t)n, sizeof(*before));
    char *told = cm_calloc((size_t)n, 1); /* the host was notified of params[i] */
    char err[512];
    int failed_at = -1;

    if (!config_set_check(c, n, params)) {
        n = 0; /* nothing was saved */
        goto done;
    }
    for (int i = 0; i < n; i++)
        save_value(&params[i], &before[i]);

    for (int i = 0; i < n && failed_at < 0; i++) {
        const cslice *v = &c->argv[3 + 2 * i];
        if (!set_from_text(params[i].cfg, params[i].d, v->ptr, v->len, 0, err, sizeof(err)))
            failed_at = i;
    }
    for (int i = 0; i < n && failed_at < 0; i++) {
        if (!value_changed(&params[i], &before[i]) && !(params[i].d->flags & CF_VOLATILE)) continue;
        told[i] = 1;
        const char *msg = notify_host(e, params[i].d);
        if (msg) {
            /* Copy: the host's message need not outlive the next call. */
            snprintf(err, sizeof(err), "%s", msg);
            failed_at = i;
        }
    }

    if (failed_at < 0) {
        for (int i = 0; i < n; i++)
            if (params[i].d->apply && value_changed(&params[i], &before[i])) params[i].d->apply(e);
        for (int i = 0; i < n; i++)
            warn_compat(e, params[i].d);
        reply_ok(c->out);
        /* A maxmemory below the memory in use (or a policy that can now
         * evict) takes effect at once, as in Redis. */
        if (!(c->s->flags & SESS_LOADER)) evict_to_limit(e, c->now_ms);
    } else {
        for (int i = 0; i < n; i++)
            restore_value(&params[i], &before[i]);
        /* Let the host go back to the old values of what it already took,
         * and of the one it refused, which it may have half applied. */
        for (int i = 0; i < n; i++)
            if (told[i]) (void)notify_host(e, params[i].d);
        const cslice *name = &c->argv[2 + 2 * failed_at];
        reply_errorf(c->out, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                     (int)name->len, name->ptr, err);
        n = 0; /* restored: nothing left to drop */
    }

done:
    for (int i = 0; i < n; i++)
        drop_value(&params[i], &before[i]);
    cm_free(before);
    cm_free(told);
    cm_free(params);
}

static void config_resetstat_command(cmd_call *c)
{
    /* dirty counts changes since the last save, which is not a statistic. */
    long long dirty = c->e->stats.dirty;
    memset(&c->e->stats, 0, sizeof(c->e->stats));
    c->e->stats.dirty = dirty;
    cmdstats_reset(c->e->cmdstats, &c->e->errstats);
    reply_ok(c->out);
}

/* The engine has neither the file's path nor file I/O: the host rewrites
 * the file (with config_rewrite_text()) and says why it could not. */
static void config_rewrite_command(cmd_call *c)
{
    const cairn_host_ops *h = c->e->host;
    const char *why = h && h->config_rewrite ? h->config_rewrite(c->e->host_priv)
                                             : "The server is running without a config file";
    if (why)
        reply_errorf(c->out, "ERR %s", why);
    else
        reply_ok(c->out);
}

static void config_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define CONFIG_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CONFIG_ACL   (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static const cmd_def config_subcommands[] = {
    {"config|get", config_get_command, -3, CONFIG_FLAGS, CONFIG_ACL, 0, 0, 0, "server", "2.0.0",
     "Get the values of configuration parameters",
     "O(N) when N is the number of configuration parameters provided", NULL},
    {"config|set", config_set_command, -4, CONFIG_FLAGS, CONFIG_ACL, 0, 0, 0, "server", "2.0.0",
     "Set configuration parameters to the given values",
     "O(N) when N is the number of configuration parameters provided", NULL},
    {"config|resetstat", config_resetstat_command, 2, CONFIG_FLAGS, CONFIG_ACL, 0, 0, 0, "server",
     "2.0.0", "Reset the stats returned by INFO", "O(1)", NULL},
    {"config|rewrite", config_rewrite_command, 2, CONFIG_FLAGS, CONFIG_ACL, 0, 0, 0, "server",
     "2.8.0", "Rewrite the configuration file with the in memory configuration", "O(1)", NULL},
    {"config|help", config_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "server",
     "5.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

const cmd_def config_commands[] = {
    {"config", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "2.0.0",
     "A container for server configuration commands", "Depends on subcommand.", config_subcommands},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
