/* host_config.h -- the settings of a host of the network layer, as one
 * config table (host_config.c) beside the engine's: cairn-server's port,
 * bind, TLS, Raft membership, logging, ... and the same table for a
 * libcairn handle that is a member of a Raft group (src/lib/embed_node.c),
 * so both read every setting they share from one definition.
 *
 * Settings that act on the cairn-server process only (its port, its log
 * file, daemonize, its supervisor, ...) carry CF_SERVER_ONLY: an embedded
 * store refuses them (cairn_host_ops.config_refused). */
#ifndef CAIRN_HOST_CONFIG_H
#define CAIRN_HOST_CONFIG_H

#include "../engine/config.h"
#include "client.h"

/* `supervised` values, as Redis names them (src/server/supervise.c). */
enum { SUPERVISED_NONE = 0, SUPERVISED_AUTO, SUPERVISED_SYSTEMD, SUPERVISED_UPSTART };

typedef struct host_config {
    int port;
    dstr bind; /* space-separated addresses */
    dstr unixsocket;
    int unixsocketperm;
    int timeout;  /* seconds of idleness before a client is closed; 0 = never */
    int tls_port; /* 0 = no TLS listener */
    int daemonize;
    dstr pidfile;
    int loglevel;     /* LL_* */
    dstr logfile;     /* "" = stdout */
    int supervised;   /* SUPERVISED_* */
    int metrics_port; /* the Prometheus endpoint (metrics.c); 0 = off */
    dstr metrics_bind;
    /* Raft replication (src/net/member.h): on when raft_peers is set. */
    int raft_id;
    dstr raft_peers; /* "id@host:port,..." */
    dstr raft_secret;
    int raft_tick_ms;
    int raft_follower_proxy; /* forward writes to the leader, or -READONLY */
    /* Connections to the leader for blocking commands (forward.h): one
     * per client blocked through a follower; 0: they get -READONLY. */
    int raft_proxy_blocking_links;
    int raft_reads; /* REPL_READS_* */
    int raft_clock_drift_ms;
    dstr raft_group_name; /* the master name of the Sentinel commands */

    /* snapshot and compact the Raft log after this many entries or bytes */
    int raft_snapshot_entries, raft_snapshot_bytes;
    /* A replica of a Redis master (src/server/replica.c). */
    dstr replicaof; /* "host port", or "" */
    /* What a node's links to other nodes (and a replica's to its master)
     * authenticate with. */
    dstr masteruser, masterauth;
    int replica_read_only;
    int repl_timeout; /* seconds */
    /* Client eviction, as CONFIG GET shows it ("0", bytes, or "N%"); the
     * network layer acts on its parsed form (net.maxmemory_clients). */
    dstr maxmemory_clients;
    /* What the network layer acts on (its net.cfg points here). */
    net_config net;
} host_config;

/* Declared with HOST_CONFIG_COUNT entries: a count that does not match the
 * table is a compile error. */
#define HOST_CONFIG_COUNT 52
extern const config_def host_config_defs[HOST_CONFIG_COUNT];

#endif
