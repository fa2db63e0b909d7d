/* member.h -- a member of a Raft group on a libuv loop: the node
 * (src/repl/node.h) joined to a network layer (client.h), its links to
 * the other nodes (peer.h), its tick timer, a follower's connection to the
 * leader (forward.h), and the hooks through which the network layer holds
 * replies until the node says they may go.
 *
 * One implementation for both hosts: cairn-server runs it on its loop,
 * libcairn on the loop of the thread an embedded node owns
 * (src/lib/embed_node.c).  Everything here runs on that loop's thread. */
#ifndef CAIRN_MEMBER_H
#define CAIRN_MEMBER_H

#include <stdint.h>
#include <uv.h>

#include "../repl/node.h"
#include "client.h"
#include "forward.h"
#include "host_config.h"
#include "peer.h"
#include "resolve.h"

/* What the host adds to the node's callbacks.  Every member but log and
 * fatal may be NULL. */
typedef struct member_host {
    /* The node cannot go on: the host stops serving. */
    void (*fatal)(void *priv, const char *why);
    void (*log)(void *priv, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    /* After the net's clients waiting for a position that will never
     * come were closed (leadership lost): the host's own waiters too. */
    void (*abort_waiting)(void *priv);
    /* After the net's parked readers were let in: the host's own. */
    void (*resume_readers)(void *priv);
    void *priv;
    /* The host's own writers whose writes the forwarder carries
     * (forward.h), if any. */
    fwd_waiters waiters;
} member_host;

typedef struct member {
    uv_loop_t *loop;
    net *net;
    cairn_engine *engine;
    repl_node *node;
    peer_set peers;
    uv_timer_t timer;
    const host_config *cfg; /* the host's settings (raft-*, masterauth, ...) */
    forwarder *fwd;         /* created on the first forwarded write */
    dstr auth;              /* the AUTH that node links start with, or NULL */
    member_host host;
    int started;              /* peers and timer set up (member_stop undoes them) */
    resolve_names names;      /* what the book's host names resolved to last */
    resolve_req *self_lookup; /* of this node's own name, under way */
    int self_ticks;           /* until it is looked up again */
    uv_work_t sync_req;       /* the node's log fsync, on libuv's thread pool */
} member;

/* Open the node from the host's settings (raft-id, raft-peers, raft-secret,
 * raft-group-name, raft-tick-ms, raft-reads, raft-clock-drift-ms,
 * raft-snapshot-*, masteruser/masterauth;
 * cfg is read as long as the member runs), its log in dir, its peers and
 * tick timer on loop, and set n's hooks.  can_fork: may the node fork a
 * child to write its snapshots (repl_node_config)?  Returns 0, or -1 with
 * the reason in err. */
int member_start(member *m, uv_loop_t *loop, net *n, cairn_engine *e, const host_config *cfg,
                 const char *dir, int can_fork, const member_host *host, char *err, size_t errlen);
/* RAFT, ROLE, WAIT, SENTINEL and CLIENT SESSION (cairn_host_ops.repl_cmd). */
void member_command(member *m, cmd_call *c);
/* Forward the write of a net client's session to the leader
 * (cairn_host_ops.repl_forward).  Returns 1 if it went, 0 if it cannot
 * (raft-follower-proxy is off, no leader is known, or s cannot wait for
 * the reply).  local_reply: as fwd_send's. */
int member_forward(member *m, cairn_session *s, int argc, const cslice *argv,
                   long long local_reply);
/* The same for a blocking write (cairn_host_ops.repl_forward_block): on
 * a connection of its own to the leader, at most
 * raft-follower-proxy-blocking-links of them (past that, an error in
 * out).  Returns 1 if it went or was answered, 0 to refuse it. */
int member_forward_block(member *m, cairn_session *s, int argc, const cslice *argv, rbuf *out);
/* A command of a net client's session pinned to the leader from its
 * WATCH to its EXEC (cairn_host_ops.repl_pin): on a connection of its own
 * (the blocking commands' pool and cap).  Returns 1 if it went or was
 * answered (no leader, links busy), 0 to run it here (raft-follower-proxy
 * off, or its pin is lost). */
int member_pin(member *m, cairn_session *s, int argc, const cslice *argv, int kind, rbuf *out);
/* CLIENT UNBLOCK of a net client: 1 if it waits in a forwarded blocking
 * command (the leader is asked to unblock it), else 0. */
int member_unblock(member *m, uint64_t client, int with_error);
/* The same for a transaction (cairn_host_ops.repl_forward_tx; n == 0:
 * whether s's transactions can go). */
int member_forward_tx(member *m, cairn_session *s, int n, const cairn_cmdv *cmds);
/* The same for a reply that goes to the host's writer reply_to
 * (host.waiters): a write (req: fwd_request() of it, taken), or a
 * transaction (tx: fwd_tx_request() of its n commands, taken). */
int member_forward_as(member *m, uint64_t reply_to, cairn_session *s, dstr req,
                      long long local_reply);
int member_forward_tx_as(member *m, uint64_t reply_to, cairn_session *s, dstr tx, int n);
/* cairn_host_ops.seq_begin and seq_done. */
int member_seq_begin(member *m, cmd_call *c);
void member_seq_done(member *m, cmd_call *c, rbuf_mark mark);
/* Close the timer, the peers' links and the forwarder (the loop then frees
 * them); the node stays for member_free(), once the loop has run down. */
void member_stop(member *m);
void member_free(member *m);

#endif
