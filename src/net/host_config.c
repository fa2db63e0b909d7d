/* host_config.c -- the settings of a host of the network layer, those that
 * the process, its listeners, its connections, its log and its Raft node
 * act on (port, bind, maxclients, timeout, tls-*, raft-*, masterauth,
 * daemonize, logfile, ...); see host_config.h.
 *
 * They are a table like the engine's (engine/config.h) over host_config,
 * handed to the engine in cairn_host_ops by cairn-server (src/server/) and
 * by a libcairn handle (src/lib/): the configuration file, the
 * command-line flags or cairn_options, CONFIG GET and CONFIG SET see the
 * engine's parameters and these as one set, and the engine tells the host
 * of each change.  CF_SERVER_ONLY marks those only cairn-server has. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host_config.h"

#include "../repl/node.h"

static const cfg_enum tls_auth_clients_enum[] = {
    {"no", TLS_CLIENT_AUTH_NO},
    {"yes", TLS_CLIENT_AUTH_YES},
    {"optional", TLS_CLIENT_AUTH_OPTIONAL},
    {NULL, 0},
};

static const cfg_enum raft_reads_enum[] = {
    {"linearizable", REPL_READS_LINEARIZABLE},
    {"lease", REPL_READS_LEASE},
    {"local", REPL_READS_LOCAL},
    {NULL, 0},
};

static const cfg_enum loglevel_enum[] = {
    {"debug", LL_DEBUG}, {"verbose", LL_VERBOSE}, {"notice", LL_NOTICE}, {"warning", LL_WARNING},
    {NULL, 0},
};

static const cfg_enum supervised_enum[] = {
    {"upstart", SUPERVISED_UPSTART},
    {"systemd", SUPERVISED_SYSTEMD},
    {"auto", SUPERVISED_AUTO},
    {"no", SUPERVISED_NONE},
    {NULL, 0},
};

/* replicaof: empty, "no one", or "host port". */
static const char *check_replicaof(const cslice *v)
{
    if (v->len == 0 || (v->len == 6 && strncasecmp(v->ptr, "no one", 6) == 0)) return NULL;
    const char *sp = memchr(v->ptr, ' ', v->len);
    if (!sp || sp == v->ptr || memchr(sp + 1, ' ', v->len - (size_t)(sp + 1 - v->ptr)))
        return "wrong number of arguments";
    char port[8];
    size_t n = v->len - (size_t)(sp + 1 - v->ptr);
    if (n == 0 || n >= sizeof(port)) return "Invalid master port";
    memcpy(port, sp + 1, n);
    port[n] = '\0';
    char *end;
    long p = strtol(port, &end, 10);
    return *end || p < 0 || p > 65535 ? "Invalid master port" : NULL;
}

/* maxmemory-clients: "0" (or empty), a memory amount, or a percentage of
 * maxmemory from 0% to 100%, with Redis's errors.  Sets *out as Redis holds
 * it: bytes, or minus the percentage. */
static const char *parse_maxmemory_clients(const char *s, size_t len, long long *out)
{
    static const char bad[] = "argument must be a memory or percent value";
    char buf[64];
    *out = 0;
    if (len == 0) return NULL;
    if (len >= sizeof(buf)) return bad;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[len - 1] == '%') {
        buf[len - 1] = '\0';
        char *end;
        long pct = strtol(buf, &end, 10);
        if (len == 1 || *end || buf[0] == '-' || buf[0] == '+' || buf[0] == ' ') return bad;
        if (pct > 100) return "percentage argument must be less or equal to 100";
        *out = -pct;
        return NULL;
    }
    unsigned long long m;
    if (!config_parse_memory(buf, &m) || m > LLONG_MAX) return bad;
    *out = (long long)m;
    return NULL;
}

static const char *check_maxmemory_clients(const cslice *v)
{
    long long x;
    return parse_maxmemory_clients(v->ptr, v->len, &x);
}

/* Show it as Redis does: a percentage as "N%", an amount in bytes
 * (server_client_limit_changed reads this form). */
static void maxmemory_clients_fixup(void *config)
{
    host_config *cfg = config;
    long long v;
    dstr *s = &cfg->maxmemory_clients;
    (void)parse_maxmemory_clients(*s, dstr_len(*s), &v);
    dstr_free(*s);
    *s = v < 0 ? dstr_catfmt(dstr_new("", 0), "%lld%%", -v)
               : dstr_catfmt(dstr_new("", 0), "%lld", v);
}

const config_def host_config_defs[] = {
    {.name = "port",
     .type = CT_INT,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, port),
     .lo = 0,
     .hi = 65535,
     .dflt = "6379"},
    {.name = "bind",
     .type = CT_BIND,
     .flags = CF_MULTI_ARG,
     .offset = offsetof(host_config, bind),
     .dflt = "127.0.0.1"},
    {.name = "unixsocket",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, unixsocket),
     .dflt = ""},
    {.name = "unixsocketperm",
     .type = CT_INT,
     .flags = CF_IMMUTABLE | CF_OCTAL | CF_UNSIGNED | CF_SERVER_ONLY,
     .offset = offsetof(host_config, unixsocketperm),
     .lo = 0,
     .hi = 0777,
     .dflt = "0"},
    {.name = "tcp-backlog",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, net.tcp_backlog),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "511"},
    {.name = "maxclients",
     .type = CT_INT,
     .flags = CF_UNSIGNED,
     .offset = offsetof(host_config, net.maxclients),
     .lo = 1,
     .hi = UINT_MAX,
     .dflt = "10000"},
    {.name = "timeout",
     .type = CT_INT,
     .offset = offsetof(host_config, timeout),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "0"},
    {.name = "tcp-keepalive",
     .type = CT_INT,
     .offset = offsetof(host_config, net.tcp_keepalive),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "300"},
    {.name = "daemonize",
     .type = CT_BOOL,
     .flags = CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, daemonize),
     .dflt = "no"},
    {.name = "pidfile",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, pidfile),
     .dflt = ""},
    {.name = "loglevel",
     .type = CT_ENUM,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, loglevel),
     .dflt = "notice",
     .enums = loglevel_enum},
    {.name = "logfile",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, logfile),
     .dflt = ""},
    {.name = "supervised",
     .type = CT_ENUM,
     .flags = CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, supervised),
     .dflt = "no",
     .enums = supervised_enum},
    {.name = "metrics-port",
     .type = CT_INT,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, metrics_port),
     .lo = 0,
     .hi = 65535,
     .dflt = "0"},
    {.name = "metrics-bind",
     .type = CT_STRING,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, metrics_bind),
     .dflt = "127.0.0.1"},
    /* TLS (src/net/tls.c): every change but tls-auth-clients (read at
     * each accept) rebuilds the context; the files are re-read even when
     * set to the same path, which is how certificates are reloaded. */
    {.name = "tls-port",
     .type = CT_INT,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, tls_port),
     .lo = 0,
     .hi = 65535,
     .dflt = "0"},
    {.name = "tls-cert-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.cert_file),
     .dflt = ""},
    {.name = "tls-key-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.key_file),
     .dflt = ""},
    {.name = "tls-key-file-pass",
     .type = CT_STRING,
     .flags = CF_SENSITIVE,
     .offset = offsetof(host_config, net.tls.key_file_pass),
     .dflt = ""},
    {.name = "tls-client-cert-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.client_cert_file),
     .dflt = ""},
    {.name = "tls-client-key-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.client_key_file),
     .dflt = ""},
    {.name = "tls-client-key-file-pass",
     .type = CT_STRING,
     .flags = CF_SENSITIVE,
     .offset = offsetof(host_config, net.tls.client_key_file_pass),
     .dflt = ""},
    {.name = "tls-dh-params-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.dh_params_file),
     .dflt = ""},
    {.name = "tls-ca-cert-file",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.ca_cert_file),
     .dflt = ""},
    {.name = "tls-ca-cert-dir",
     .type = CT_STRING,
     .flags = CF_VOLATILE,
     .offset = offsetof(host_config, net.tls.ca_cert_dir),
     .dflt = ""},
    {.name = "tls-protocols",
     .type = CT_STRING,
     .offset = offsetof(host_config, net.tls.protocols),
     .dflt = ""},
    {.name = "tls-ciphers",
     .type = CT_STRING,
     .offset = offsetof(host_config, net.tls.ciphers),
     .dflt = ""},
    {.name = "tls-ciphersuites",
     .type = CT_STRING,
     .offset = offsetof(host_config, net.tls.ciphersuites),
     .dflt = ""},
    {.name = "tls-auth-clients",
     .type = CT_ENUM,
     .offset = offsetof(host_config, net.tls.auth_clients),
     .dflt = "yes",
     .enums = tls_auth_clients_enum},
    {.name = "tls-prefer-server-ciphers",
     .type = CT_BOOL,
     .offset = offsetof(host_config, net.tls.prefer_server_ciphers),
     .dflt = "no"},
    {.name = "tls-session-caching",
     .type = CT_BOOL,
     .offset = offsetof(host_config, net.tls.session_caching),
     .dflt = "yes"},
    {.name = "tls-session-cache-size",
     .type = CT_INT,
     .offset = offsetof(host_config, net.tls.session_cache_size),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "20480"},
    {.name = "tls-session-cache-timeout",
     .type = CT_INT,
     .offset = offsetof(host_config, net.tls.session_cache_timeout),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "300"},
    {.name = "tls-replication",
     .type = CT_BOOL,
     .offset = offsetof(host_config, net.tls.replication),
     .dflt = "no"},
    {.name = "tls-cluster",
     .type = CT_BOOL,
     .offset = offsetof(host_config, net.tls.cluster),
     .dflt = "no"},
    {.name = "raft-id",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_id),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "0"},
    {.name = "raft-peers",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_peers),
     .dflt = ""},
    {.name = "raft-secret",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_secret),
     .dflt = ""},
    {.name = "raft-tick-ms",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_tick_ms),
     .lo = 1,
     .hi = 1000,
     .dflt = "20"},
    {.name = "raft-follower-proxy",
     .type = CT_BOOL,
     .offset = offsetof(host_config, raft_follower_proxy),
     .dflt = "yes"},
    {.name = "raft-follower-proxy-blocking-links",
     .type = CT_INT,
     .offset = offsetof(host_config, raft_proxy_blocking_links),
     .lo = 0,
     .hi = 1000000,
     .dflt = "1000"},
    {.name = "raft-reads",
     .type = CT_ENUM,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_reads),
     .dflt = "linearizable",
     .enums = raft_reads_enum},
    {.name = "raft-clock-drift-ms",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_clock_drift_ms),
     .lo = 0,
     .hi = 100000,
     .dflt = "0"},
    {.name = "raft-group-name",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_group_name),
     .dflt = "cairn"},
    {.name = "raft-snapshot-entries",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_snapshot_entries),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "100000"},
    {.name = "raft-snapshot-bytes",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(host_config, raft_snapshot_bytes),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "67108864"},
    /* A replica of a Redis master (replica.c). */
    {.name = "replicaof",
     .alias = "slaveof",
     .type = CT_BIND,
     .flags = CF_MULTI_ARG | CF_IMMUTABLE | CF_SERVER_ONLY,
     .offset = offsetof(host_config, replicaof),
     .check = check_replicaof,
     .dflt = ""},
    {.name = "masteruser",
     .type = CT_STRING,
     .flags = CF_SENSITIVE,
     .offset = offsetof(host_config, masteruser),
     .dflt = ""},
    {.name = "masterauth",
     .type = CT_STRING,
     .flags = CF_SENSITIVE,
     .offset = offsetof(host_config, masterauth),
     .dflt = ""},
    {.name = "replica-read-only",
     .alias = "slave-read-only",
     .type = CT_BOOL,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, replica_read_only),
     .dflt = "yes"},
    {.name = "repl-timeout",
     .type = CT_INT,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, repl_timeout),
     .lo = 1,
     .hi = INT_MAX,
     .dflt = "60"},
    {.name = "maxmemory-clients",
     .type = CT_STRING,
     .flags = CF_SERVER_ONLY,
     .offset = offsetof(host_config, maxmemory_clients),
     .check = check_maxmemory_clients,
     .fixup = maxmemory_clients_fixup,
     .dflt = "0"},
};
