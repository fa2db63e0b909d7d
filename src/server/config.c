/* config.c -- the server's own settings: those that only the process, its
 * listeners, its connections and its log act on (port, bind, unixsocket,
 * maxclients, timeout, daemonize, pidfile, loglevel, logfile, ...).
 *
 * They are a table like the engine's (engine/config.h) over cairn_server
 * (server_config and the network's net_config), handed to the engine in
 * cairn_host_ops: the configuration file, the command-line flags, CONFIG
 * GET and CONFIG SET see the engine's parameters and these as one set, and
 * the engine tells main.c of each change (host_config_changed).  The file
 * itself is read and rewritten by config_file.c. */
#include <limits.h>
#include <stddef.h>

#include "server.h"

static const cfg_enum loglevel_enum[] = {
    {"debug", LL_DEBUG}, {"verbose", LL_VERBOSE}, {"notice", LL_NOTICE}, {"warning", LL_WARNING},
    {NULL, 0},
};

/* Declared with SERVER_CONFIG_COUNT entries in server.h: a count that does
 * not match this list is a compile error. */
static const cfg_enum supervised_enum[] = {
    {"upstart", SUPERVISED_UPSTART},
    {"systemd", SUPERVISED_SYSTEMD},
    {"auto", SUPERVISED_AUTO},
    {"no", SUPERVISED_NONE},
    {NULL, 0},
};

const config_def server_config_defs[] = {
    {.name = "port",
     .type = CT_INT,
     .offset = offsetof(cairn_server, cfg.port),
     .lo = 0,
     .hi = 65535,
     .dflt = "6379"},
    {.name = "bind",
     .type = CT_BIND,
     .flags = CF_MULTI_ARG,
     .offset = offsetof(cairn_server, cfg.bind),
     .dflt = "127.0.0.1"},
    {.name = "unixsocket",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.unixsocket),
     .dflt = ""},
    {.name = "unixsocketperm",
     .type = CT_INT,
     .flags = CF_IMMUTABLE | CF_OCTAL | CF_UNSIGNED,
     .offset = offsetof(cairn_server, cfg.unixsocketperm),
     .lo = 0,
     .hi = 0777,
     .dflt = "0"},
    {.name = "tcp-backlog",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, net.cfg.tcp_backlog),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "511"},
    {.name = "maxclients",
     .type = CT_INT,
     .flags = CF_UNSIGNED,
     .offset = offsetof(cairn_server, net.cfg.maxclients),
     .lo = 1,
     .hi = UINT_MAX,
     .dflt = "10000"},
    {.name = "timeout",
     .type = CT_INT,
     .offset = offsetof(cairn_server, cfg.timeout),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "0"},
    {.name = "tcp-keepalive",
     .type = CT_INT,
     .offset = offsetof(cairn_server, net.cfg.tcp_keepalive),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "300"},
    {.name = "daemonize",
     .type = CT_BOOL,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.daemonize),
     .dflt = "no"},
    {.name = "pidfile",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.pidfile),
     .dflt = ""},
    {.name = "loglevel",
     .type = CT_ENUM,
     .offset = offsetof(cairn_server, cfg.loglevel),
     .dflt = "notice",
     .enums = loglevel_enum},
    {.name = "logfile",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.logfile),
     .dflt = ""},
    {.name = "supervised",
     .type = CT_ENUM,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.supervised),
     .dflt = "no",
     .enums = supervised_enum},
    {.name = "raft-id",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.raft_id),
     .lo = 0,
     .hi = INT_MAX,
     .dflt = "0"},
    {.name = "raft-peers",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.raft_peers),
     .dflt = ""},
    {.name = "raft-secret",
     .type = CT_STRING,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.raft_secret),
     .dflt = ""},
    {.name = "raft-tick-ms",
     .type = CT_INT,
     .flags = CF_IMMUTABLE,
     .offset = offsetof(cairn_server, cfg.raft_tick_ms),
     .lo = 1,
     .hi = 1000,
     .dflt = "20"},
};

void *server_config_base(void *priv) { return priv; }
