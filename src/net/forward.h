/* forward.h -- a follower's connection to the leader, over which it
 * forwards its clients' writes and relays the replies
 * (raft-follower-proxy yes).
 *
 * One connection, to whichever node leads, carries every forwarded
 * command in order; replies come back in the same order and go to the
 * clients that sent them (those still connected).  The connection follows
 * the client's db (SELECT) and protocol (HELLO) as it goes, their own
 * replies skipped.  If the connection breaks or the leader changes with
 * commands in flight, their clients get an error saying the outcome is
 * unknown: never a success that did not happen. */
#ifndef CAIRN_FORWARD_H
#define CAIRN_FORWARD_H

#include <stdint.h>
#include <uv.h>

#include "client.h"

typedef struct forwarder forwarder;

/* A reply for id: returns 1 if it took it (an id that is not one of the
 * net's clients: an embedded handle's waiting command), 0 to hand it to
 * the net's client id. */
typedef int (*fwd_deliver_fn)(void *priv, uint64_t id, const char *reply, size_t len);

/* auth: the RESP of the AUTH command a connection starts with (copied),
 * or NULL.  other (may be NULL) sees every reply first. */
forwarder *fwd_new(uv_loop_t *loop, net *n, const char *auth, fwd_deliver_fn other, void *priv);
/* Close the connection; the loop frees what remains. */
void fwd_close(forwarder *f);
/* Forward the command of session s to the leader `id` at host:port.  The
 * session is flagged SESS_FORWARDED (its client waits) until the reply is
 * in its output.  Returns 0, or -1 if it cannot be forwarded now. */
int fwd_send(forwarder *f, uint64_t id, const char *host, int port, cairn_session *s, int argc,
             const cslice *argv);
/* The same with the reply going to reply_to (through the deliver hook),
 * and s (its db, protocol, CLIENT SESSION) left unflagged. */
int fwd_send_as(forwarder *f, uint64_t id, const char *host, int port, uint64_t reply_to,
                cairn_session *s, int argc, const cslice *argv);

/* The size of the RESP2/RESP3 reply at buf[0..len): > 0 once complete, 0
 * while more bytes are needed, -1 if it is not RESP. */
long resp_reply_size(const char *buf, size_t len);

#endif
