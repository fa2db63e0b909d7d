/* embed_node.h -- a libcairn handle as a member of a Raft group.
 *
 * The member (src/net/member.h, the same code cairn-server runs) lives on a
 * libuv loop that a thread of the node's own runs: it listens on the port
 * of this node's address in the peer list (on the addresses of `bind` if
 * set, else on that address's host; TLS with tls-replication), so the
 * other nodes (servers or embedded ones) reach it with the same
 * node-to-node protocol, and clients may too.
 *
 * Threads.  One mutex, the handle's, guards the engine and everything the
 * node touches.  The node's thread holds it while it runs the loop and
 * lets go only while it waits for I/O (it runs the loop without blocking
 * in it, then polls the loop's descriptor unlocked).  The application's
 * threads take it to run a command directly on the engine; when the
 * command must wait -- for a read round (ReadIndex), for its writes to
 * commit, for the leader's reply to a forwarded write -- they wait on a
 * condition variable with that mutex, which the node's thread broadcasts
 * after each turn of its loop.  Waits end at the handle's timeout. */
#ifndef CAIRN_EMBED_NODE_H
#define CAIRN_EMBED_NODE_H

#include <pthread.h>
#include <stdint.h>

#include "../engine/engine.h"
#include "../net/host_config.h"

typedef struct embed_node embed_node;

typedef struct embed_node_config {
    /* The handle's settings (raft-*, bind, tls-*, masterauth, ...; read
     * as long as the node runs, under the handle's mutex). */
    const host_config *cfg;
    const char *dir; /* the Raft log's directory (absolute) */
    int timeout_ms;  /* the longest a command waits */
} embed_node_config;

/* What the node needs from the handle that hosts it. */
typedef struct embed_node_handle {
    pthread_mutex_t *lock;  /* the handle's mutex */
    cairn_session *session; /* the handle's session */
    rbuf *out;              /* where the reply of the handle's command goes */
    /* The handle's own host callbacks (log, pushed, ... for its session),
     * which the node's extend. */
    const cairn_host_ops *ops;
    void *priv;
    /* Background work (expiry), called from the node's thread, locked. */
    void (*cron)(void *priv);
} embed_node_handle;

/* Start the node on e (its host becomes the node's) and its thread.
 * Called before any other thread uses the handle.  Returns 0, or -1 with
 * the reason in err and nothing left behind. */
int embed_node_open(cairn_engine *e, const embed_node_config *cfg, const embed_node_handle *h,
                    embed_node **out, char *err, size_t errlen);
/* Stop the thread (joined) and free the node, before the engine goes.
 * Called with the handle unlocked. */
void embed_node_close(embed_node *n);

/* Called with the handle locked, around the handle's command: wait until
 * it may run (a follower's reads wait for a read round), and after it ran,
 * until its reply may be handed back (forwarded write answered, writes
 * committed, reads confirmed).  Return CAIRN_OK or an error code with the
 * message in err. */
int embed_node_admit(embed_node *n, char *err, size_t errlen);
int embed_node_settle(embed_node *n, char *err, size_t errlen);
/* Serialises the handle's commands: one waits at a time. */
void embed_node_begin(embed_node *n);
void embed_node_end(embed_node *n);

#endif
