/* config_compat.c -- Redis 7.0's directives that Cairn accepts and does not
 * act on.
 *
 * An operator's redis.conf (Debian's stock file first of all) names
 * parameters for features Cairn does not have or does differently:
 * Redis cluster and replication, lazy freeing, defragmentation, process
 * titles.  Refusing them would make every existing configuration fail to
 * start, so each is accepted with Redis's type, bounds and default, stored
 * for CONFIG GET and CONFIG REWRITE, and the host logs one warning line
 * naming it (config_compat_note says why it has no effect).
 *
 * A parameter that Cairn implements lives in the engine's or the host's
 * table; those are looked up first, so an entry here is shadowed (and
 * should be deleted, which a unit test points out) once its feature
 * exists. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static const cfg_enum syslog_facility_enum[] = {
    {"user", 8},     {"local0", 128}, {"local1", 136}, {"local2", 144}, {"local3", 152},
    {"local4", 160}, {"local5", 168}, {"local6", 176}, {"local7", 184}, {NULL, 0},
};
static const cfg_enum repl_diskless_load_enum[] = {
    {"disabled", 0}, {"on-empty-db", 1}, {"swapdb", 2}, {NULL, 0}};
static const cfg_enum oom_score_adj_enum[] = {
    {"no", 0}, {"yes", 1}, {"relative", 1}, {"absolute", 2}, {NULL, 0}};
static const cfg_enum acl_pubsub_default_enum[] = {
    {"allchannels", 1}, {"resetchannels", 0}, {NULL, 0}};
static const cfg_enum sanitize_dump_payload_enum[] = {
    {"no", 0}, {"yes", 1}, {"clients", 2}, {NULL, 0}};
static const cfg_enum protected_action_enum[] = {{"no", 0}, {"yes", 1}, {"local", 2}, {NULL, 0}};
static const cfg_enum endpoint_type_enum[] = {
    {"ip", 0}, {"hostname", 1}, {"unknown-endpoint", 2}, {NULL, 0}};
static const cfg_enum propagation_error_enum[] = {
    {"ignore", 0}, {"panic", 1}, {"panic-on-replicas", 2}, {NULL, 0}};

/* Multi-word values are held as their words joined by spaces (CT_BIND);
 * these check them as Redis does. */

static int is_int_in(const char *s, size_t len, long lo, long hi)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    return *end == '\0' && v >= lo && v <= hi;
}

static const char *check_oom_values(const cslice *v)
{
    const char *p = v->ptr, *stop = v->ptr + v->len;
    int n = 0;
    while (p < stop) {
        const char *sp = memchr(p, ' ', (size_t)(stop - p));
        size_t len = sp ? (size_t)(sp - p) : (size_t)(stop - p);
        if (!is_int_in(p, len, -2000, 2000)) return "Invalid oom-score-adj-values value";
        n++;
        p += len + (sp ? 1 : 0);
    }
    return n == 3 ? NULL : "wrong number of arguments";
}

/* shutdown-on-sigint/sigterm: "default", or flags among save, nosave,
 * now, force (save and nosave exclusive). */
static const char *check_shutdown_flags(const cslice *v)
{
    static const char *const words[] = {"default", "save", "nosave", "now", "force"};
    const char *p = v->ptr, *stop = v->ptr + v->len;
    int seen = 0;
    while (p < stop) {
        const char *sp = memchr(p, ' ', (size_t)(stop - p));
        size_t len = sp ? (size_t)(sp - p) : (size_t)(stop - p);
        int k = -1;
        for (int i = 0; i < 5 && k < 0; i++)
            if (strlen(words[i]) == len && strncasecmp(p, words[i], len) == 0) k = i;
        if (k < 0)
            return "argument(s) must be one of the following: default, save, nosave, now, force";
        seen |= 1 << k;
        p += len + (sp ? 1 : 0);
    }
    if ((seen & 6) == 6)
        return "argument(s) must be one of the following: default, save, nosave, now, force";
    return NULL;
}

#define B(n, a, f, d)                                                                              \
    {                                                                                              \
        .name = n, .alias = a, .type = CT_BOOL, .flags = f, .dflt = d                              \
    }
#define S(n, a, f, d)                                                                              \
    {                                                                                              \
        .name = n, .alias = a, .type = CT_STRING, .flags = f, .dflt = d                            \
    }
#define E(n, f, en, d)                                                                             \
    {                                                                                              \
        .name = n, .type = CT_ENUM, .flags = f, .enums = en, .dflt = d                             \
    }
#define N(n, a, t, f, l, h, d)                                                                     \
    {                                                                                              \
        .name = n, .alias = a, .type = t, .flags = f, .lo = (unsigned long long)(l), .hi = h,      \
        .dflt = d                                                                                  \
    }
#define W(n, a, f, c, d)                                                                           \
    {                                                                                              \
        .name = n, .alias = a, .type = CT_BIND, .flags = CF_MULTI_ARG | (f), .check = c, .dflt = d \
    }
#define IM CF_IMMUTABLE

const config_def compat_config_defs[COMPAT_CONFIG_COUNT] = {
    /* Bool */
    B("io-threads-do-reads", NULL, IM, "no"),
    B("always-show-logo", NULL, IM, "no"),
    B("activerehashing", NULL, 0, "yes"),
    B("set-proc-title", NULL, IM, "yes"),
    B("dynamic-hz", NULL, 0, "yes"),
    B("lazyfree-lazy-eviction", NULL, 0, "no"),
    B("lazyfree-lazy-expire", NULL, 0, "no"),
    B("lazyfree-lazy-server-del", NULL, 0, "no"),
    B("lazyfree-lazy-user-del", NULL, 0, "no"),
    B("lazyfree-lazy-user-flush", NULL, 0, "no"),
    B("repl-disable-tcp-nodelay", NULL, 0, "no"),
    B("repl-diskless-sync", NULL, 0, "yes"),
    B("cluster-require-full-coverage", NULL, 0, "yes"),
    B("cluster-replica-no-failover", "cluster-slave-no-failover", 0, "no"),
    B("replica-lazy-flush", "slave-lazy-flush", 0, "no"),
    B("replica-serve-stale-data", "slave-serve-stale-data", 0, "yes"),
    B("replica-ignore-maxmemory", "slave-ignore-maxmemory", 0, "yes"),
    B("replica-ignore-disk-write-errors", NULL, 0, "no"),
    B("jemalloc-bg-thread", NULL, 0, "yes"),
    B("activedefrag", NULL, 0, "no"),
    B("syslog-enabled", NULL, IM, "no"),
    B("cluster-enabled", NULL, IM, "no"),
    B("cluster-allow-reads-when-down", NULL, 0, "no"),
    B("cluster-allow-pubsubshard-when-down", NULL, 0, "yes"),
    B("crash-log-enabled", NULL, 0, "yes"),
    B("crash-memcheck-enabled", NULL, 0, "yes"),
    B("disable-thp", NULL, IM, "yes"),
    B("cluster-allow-replica-migration", NULL, 0, "yes"),
    B("replica-announced", NULL, 0, "yes"),
    B("aof-disable-auto-gc", NULL, 0, "no"),
    /* String */
    S("replica-announce-ip", "slave-announce-ip", 0, ""),
    S("cluster-announce-ip", NULL, 0, ""),
    S("cluster-config-file", NULL, IM, "nodes.conf"),
    S("cluster-announce-hostname", NULL, 0, ""),
    S("syslog-ident", NULL, IM, "redis"),
    S("server_cpulist", NULL, IM, ""),
    S("bio_cpulist", NULL, IM, ""),
    S("aof_rewrite_cpulist", NULL, IM, ""),
    S("bgsave_cpulist", NULL, IM, ""),
    S("ignore-warnings", NULL, 0, ""),
    S("proc-title-template", NULL, 0, "{title} {listen-addr} {server-mode}"),
    S("bind-source-addr", NULL, 0, ""),
    /* Enum */
    E("syslog-facility", IM, syslog_facility_enum, "local0"),
    E("repl-diskless-load", 0, repl_diskless_load_enum, "disabled"),
    E("oom-score-adj", 0, oom_score_adj_enum, "no"),
    E("acl-pubsub-default", 0, acl_pubsub_default_enum, "resetchannels"),
    E("sanitize-dump-payload", 0, sanitize_dump_payload_enum, "no"),
    E("enable-module-command", IM, protected_action_enum, "no"),
    E("cluster-preferred-endpoint-type", 0, endpoint_type_enum, "ip"),
    E("propagation-error-behavior", 0, propagation_error_enum, "ignore"),
    /* Integer */
    N("io-threads", NULL, CT_INT, IM, 1, 128, "1"),
    N("cluster-replica-validity-factor", "cluster-slave-validity-factor", CT_INT, 0, 0, INT_MAX,
      "10"),
    N("cluster-migration-barrier", NULL, CT_INT, 0, 0, INT_MAX, "1"),
    N("active-defrag-cycle-min", NULL, CT_INT, 0, 1, 99, "1"),
    N("active-defrag-cycle-max", NULL, CT_INT, 0, 1, 99, "25"),
    N("active-defrag-threshold-lower", NULL, CT_INT, 0, 0, 1000, "10"),
    N("active-defrag-threshold-upper", NULL, CT_INT, 0, 0, 1000, "100"),
    N("replica-priority", "slave-priority", CT_INT, 0, 0, INT_MAX, "100"),
    N("repl-diskless-sync-delay", NULL, CT_INT, 0, 0, INT_MAX, "5"),
    N("replica-announce-port", "slave-announce-port", CT_INT, 0, 0, 65535, "0"),
    N("cluster-port", NULL, CT_INT, IM, 0, 65535, "0"),
    N("cluster-announce-bus-port", NULL, CT_INT, 0, 0, 65535, "0"),
    N("cluster-announce-port", NULL, CT_INT, 0, 0, 65535, "0"),
    N("cluster-announce-tls-port", NULL, CT_INT, 0, 0, 65535, "0"),
    N("repl-ping-replica-period", "repl-ping-slave-period", CT_INT, 0, 1, INT_MAX, "10"),
    N("min-replicas-to-write", "min-slaves-to-write", CT_INT, 0, 0, INT_MAX, "0"),
    N("min-replicas-max-lag", "min-slaves-max-lag", CT_INT, 0, 0, INT_MAX, "10"),
    N("shutdown-timeout", NULL, CT_INT, 0, 0, INT_MAX, "10"),
    N("repl-diskless-sync-max-replicas", NULL, CT_INT, 0, 0, INT_MAX, "0"),
    N("socket-mark-id", NULL, CT_LL, IM | CF_UNSIGNED, 0, UINT_MAX, "0"),
    N("active-defrag-max-scan-fields", NULL, CT_LL, CF_UNSIGNED, 1, LONG_MAX, "1000"),
    N("cluster-node-timeout", NULL, CT_LL, 0, 0, LLONG_MAX, "15000"),
    N("repl-backlog-size", NULL, CT_LL, CF_MEMORY, 1, LLONG_MAX, "1048576"),
    N("repl-backlog-ttl", NULL, CT_LL, 0, 0, LONG_MAX, "3600"),
    N("cluster-link-sendbuf-limit", NULL, CT_ULL, CF_MEMORY | CF_UNSIGNED, 0, ULLONG_MAX, "0"),
    N("active-defrag-ignore-bytes", NULL, CT_LL, CF_MEMORY, 1, LLONG_MAX, "104857600"),
    /* Several words */
    W("oom-score-adj-values", NULL, 0, check_oom_values, "0 200 800"),
    W("shutdown-on-sigint", NULL, 0, check_shutdown_flags, "default"),
    W("shutdown-on-sigterm", NULL, 0, check_shutdown_flags, "default"),
};

_Static_assert(sizeof(compat_config_defs) / sizeof(compat_config_defs[0]) == COMPAT_CONFIG_COUNT,
               "COMPAT_CONFIG_COUNT");

const char *config_compat_note(const config_def *d)
{
    static const struct {
        const char *prefix, *note;
    } notes[] = {
        {"cluster-", "Redis Cluster is not supported"},
        {"repl", "Redis replication is not supported (Cairn replicates with Raft)"},
        {"replica", "Redis replication is not supported (Cairn replicates with Raft)"},
        {"min-replicas", "Redis replication is not supported (Cairn replicates with Raft)"},
        {"master", "Redis replication is not supported (Cairn replicates with Raft)"},
        {"lazyfree-", "memory is always freed at once"},
        {"active-defrag", "there is no active defragmentation"},
        {"activedefrag", "there is no active defragmentation"},
        {"io-threads", "one thread serves every client"},
    };
    for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
        if (strncmp(d->name, notes[i].prefix, strlen(notes[i].prefix)) == 0) return notes[i].note;
    return "it has no effect";
}
