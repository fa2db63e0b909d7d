/* peer.h -- outgoing connections to the other nodes of a Raft group.
 *
 * Node-to-node traffic uses the client port: each node keeps one
 * connection to every peer, authenticates (AUTH, when the group requires
 * a password: masteruser/masterauth), turns its replies off (CLIENT REPLY
 * OFF) and sends every message as `RAFT MSG <secret> <bytes>`.  Answers come back
 * over the peer's own connection to this node, so the connection is
 * one-way.  A message that cannot go now (no connection yet, or too much
 * already queued) is dropped: Raft retries.
 *
 * With tls-replication the connections are TLS clients (tls_link.h) of the
 * peers' tls-port; a TLS failure is logged, naming the peer, once per
 * reason and minute, and the link is retried like any broken one.
 *
 * A peer's host may be a name: it is looked up on every connect attempt
 * (resolve.h), off the loop; one that does not resolve is logged (once per
 * reason and minute) and looked up again on the next attempt. */
#ifndef CAIRN_PEER_H
#define CAIRN_PEER_H

#include <stdint.h>
#include <uv.h>

#include "../ds/dstr.h"
#include "client.h"
#include "resolve.h"
#include "tls_link.h"

typedef struct peer_link peer_link;

typedef struct peer_set {
    uv_loop_t *loop;
    net *net;             /* the TLS context (net_node_tls) and the log */
    resolve_names *names; /* where the addresses of the peers' names are noted */
    peer_link **links;
    int n;
    dstr secret;
    dstr auth; /* the AUTH command sent first on a link, or NULL */
} peer_set;

/* auth: the RESP of the AUTH command each link starts with (copied), or
 * NULL.  names: where the links note what their peers' names resolved to
 * (it outlives the set's lookups). */
int peer_set_init(peer_set *ps, uv_loop_t *loop, net *n, resolve_names *names, const char *secret,
                  const char *auth);
/* Add the peer id at host:port (connected on the next peer_set_tick). */
int peer_set_add(peer_set *ps, uint64_t id, const char *host, int port);
/* Add id at host:port, or move it there if it is elsewhere. */
void peer_set_put(peer_set *ps, uint64_t id, const char *host, int port);
/* Queue one message for id (dropped if it cannot be sent). */
void peer_set_send(peer_set *ps, uint64_t id, const char *data, size_t len);
/* Write what was queued. */
void peer_set_flush(peer_set *ps);
/* Reconnect links that are down; called from the node's tick. */
void peer_set_tick(peer_set *ps);
/* Close every link (the loop then frees them). */
void peer_set_close(peer_set *ps);

#endif
