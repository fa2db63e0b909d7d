/* forward.h -- a follower's connection to the leader, over which it
 * forwards its clients' writes and relays the replies
 * (raft-follower-proxy yes).
 *
 * One connection, to whichever node leads, carries every forwarded
 * command in order; replies come back in the same order and go to the
 * clients that sent them (those still connected).  The connection follows
 * the client's db (SELECT) and protocol (HELLO) as it goes, their own
 * replies skipped.
 *
 * Every write goes under an exactly-once session (CLIENT SESSION,
 * src/repl/csession.h): the client's own if it named one, else one of the
 * forwarder's, opened by the forwarder and used by one write at a time.
 * If the connection breaks or another node is elected while writes are in
 * flight, the forwarder sends them again, with the same session and
 * number, to whichever node leads (this one included) until they are
 * answered: each applies once and its client gets its real reply.  A
 * write that could not be sent again within FWD_RETRY_MS gets an error
 * saying its outcome is unknown: never a success that did not happen.
 *
 * With tls-replication the connection is a TLS client (tls_link.h) of the
 * leader's tls-port. */
#ifndef CAIRN_FORWARD_H
#define CAIRN_FORWARD_H

#include <stdint.h>
#include <uv.h>

#include "client.h"
#include "resolve.h"

typedef struct forwarder forwarder;

/* Where the leader is now: 1 with its id and address (this node's own
 * when it leads), or 0 while no node leads. */
typedef int (*fwd_leader_fn)(void *priv, uint64_t *id, char *host, size_t hostlen, int *port);

/* auth: the RESP of the AUTH command a connection starts with (copied),
 * or NULL.  names: where the leader's name's addresses are noted
 * (resolve.h; the leader's host may be a name, looked up on every
 * connection).  seed: for the ids of the forwarder's sessions.  Returns NULL
 * if the loop refuses a timer. */
forwarder *fwd_new(uv_loop_t *loop, net *n, resolve_names *names, const char *auth,
                   fwd_leader_fn leader, void *priv, uint64_t seed);
/* Close the connection; the loop frees what remains. */
void fwd_close(forwarder *f);
/* Forward the write of session s to the leader.  The session is flagged
 * SESS_FORWARDED (its client waits) until the reply is in its output.
 * local_reply >= 0: the client gets it instead of the leader's integer
 * reply.  Returns 0, or -1 if it cannot be forwarded now. */
int fwd_send(forwarder *f, cairn_session *s, int argc, const cslice *argv, long long local_reply);

/* Forward s's transaction: MULTI, the n commands and EXEC, written back
 * to back under one session number, so that a retry of it applies once
 * (the leader's EXEC answers from the session).  The client gets the
 * EXEC's reply; an EXECABORT because the node reached did not lead (at
 * EXEC or while queueing) sends it again.  As fwd_send otherwise. */
int fwd_send_tx(forwarder *f, cairn_session *s, int n, const cairn_cmdv *cmds);

/* Writers that are not the net's clients (an embedded handle's commands,
 * src/lib/embed_node.c): their ids are the host's.  waits(priv, id) says
 * whether such a writer still waits (1 or 0), or -1 for an id of the
 * net's; deliver(priv, id, reply, len) returns 1 if it took the reply (an
 * id of the host's), 0 to hand it to the net's client. */
typedef struct fwd_waiters {
    int (*waits)(void *priv, uint64_t id);
    int (*deliver)(void *priv, uint64_t id, const char *reply, size_t len);
    void *priv;
} fwd_waiters;
void fwd_set_waiters(forwarder *f, const fwd_waiters *w);
/* The RESP of a write, and of a transaction (MULTI, its n commands,
 * EXEC), which a host may build on another thread than the forwarder's
 * (an embedded handle's write, while its arguments live). */
dstr fwd_request(int argc, const cslice *argv);
dstr fwd_tx_request(int n, const cairn_cmdv *cmds);
/* Forward s's write req (fwd_request; its db, protocol, CLIENT SESSION)
 * or transaction tx of n commands (fwd_tx_request) with the reply going
 * to the host's writer reply_to; s is not flagged; req and tx are taken
 * (freed whatever it returns). */
int fwd_send_as(forwarder *f, uint64_t reply_to, cairn_session *s, dstr req, long long local_reply);
int fwd_send_tx_as(forwarder *f, uint64_t reply_to, cairn_session *s, dstr tx, int n);

/* Forward s's blocking command (BLPOP, BLMOVE, BZPOPMIN, XREADGROUP, ...)
 * on a connection of its own to the leader, where it parks; max: the most
 * such connections open (idle ones included).  The session is flagged as
 * by fwd_send.  Never sent twice once it may have reached the leader: a
 * broken connection or another node elected meanwhile answers an error
 * (the leader itself answers -UNBLOCKED when it loses leadership).
 * Returns 0, -1 while no node leads, -2 with max connections busy. */
int fwd_send_block(forwarder *f, cairn_session *s, int argc, const cslice *argv, int max);
/* CLIENT UNBLOCK of the net's client `client`: 1 if it waits in a
 * forwarded blocking command (the leader is asked to unblock it, with
 * its -UNBLOCKED error or, !with_error, as on timeout), else 0. */
int fwd_unblock(forwarder *f, uint64_t client, int with_error);
/* The net's client `client` is closing: a blocking command it forwarded
 * is dropped on the leader (its connection there closed). */
void fwd_client_gone(forwarder *f, uint64_t client);

/* A command of s pinned to the leader from its WATCH until its EXEC,
 * DISCARD or UNWATCH (kind: PIN_*, src/engine/engine.h), on a link of the
 * blocking commands' pool (max as for fwd_send_block); a WATCH of s not
 * pinned yet takes the link and flags s SESS_PINNED.  s is flagged
 * SESS_FORWARDED until the reply is in its output; once the pin ends or
 * its link is lost, s's flags say so (multi_pin_answered, multi_pin_lost).
 * Returns 0, -1 while no node leads, -2 with max links busy, -3 if s has
 * no pin (lost). */
int fwd_pin_send(forwarder *f, cairn_session *s, int argc, const cslice *argv, int kind, int max);
/* The net's client `client` leaves its pin (RESET, disconnect): its link
 * is closed, which drops what the leader held for it. */
void fwd_unpin(forwarder *f, uint64_t client);

/* The size of the RESP2/RESP3 reply at buf[0..len): > 0 once complete, 0
 * while more bytes are needed, -1 if it is not RESP. */
long resp_reply_size(const char *buf, size_t len);

#endif
