/* node.h -- a replicated node: the Raft core (raft.h) joined to an engine
 * and its log storage (storage.h).
 *
 * The node owns no socket and no timer: its host (cairn-server's loop)
 * ticks it, hands it the messages peers sent, and sends what it asks to
 * send.  What it does:
 *
 * - The leader executes a write as it runs (the engine's log sink hands
 *   the node each entry, carrying effects: DESIGN rule 4).  Every entry
 *   logged in one loop iteration (an "epoch") becomes one Raft entry:
 *   group commit, one append and one fsync per batch.
 * - A reply leaves only once everything it may have observed is
 *   committed: positions are epochs, and an epoch is durable once its
 *   batch is committed, or, for an epoch of reads only, once a ReadIndex
 *   round confirmed this node still led when they ran.
 * - Followers apply committed batches through engine_apply_entry(), the
 *   path of log replay, and never originate (no expiry, no eviction).
 * - A follower serves a client's commands only after a ReadIndex round
 *   asked after they arrived (repl_node_admit()): reads are linearizable
 *   on every node.
 * - A leader that loses leadership while holding executed entries not yet
 *   committed rebuilds its dataset from the committed log; the host
 *   closes the clients waiting for them (never a success).
 *
 * Persistence order is Raft's: entries and hard state are fsynced before
 * any message that depends on them is handed to the host.  With
 * host.sync_start the log's fsync runs on another thread while the node
 * goes on (executing, batching and writing the next entries): messages
 * that depend on an append wait for the fsync that covers it, and a
 * leader counts its own copy toward commit only once it is durable. */
#ifndef CAIRN_REPL_NODE_H
#define CAIRN_REPL_NODE_H

#include <stdint.h>

#include "../engine/engine.h"
#include "raft.h"

typedef struct repl_peer {
    uint64_t id;
    char host[64];
    int port;
} repl_peer;

enum {
    REPL_READS_LINEARIZABLE, /* a heartbeat round confirms the leader (ReadIndex) */
    REPL_READS_LEASE,        /* a leader's lease saves the round (needs a drift bound) */
    REPL_READS_LOCAL,        /* the node's own state, possibly stale, as a Redis replica */
};

typedef struct repl_node_config {
    uint64_t id;
    size_t n_peers;
    /* every voter, this node included -- unless it joins: a node not in
     * the list starts as a learner waiting for RAFT ADD-NODE.  Then the
     * address book (members.h), kept up to date as the group changes. */
    repl_peer peers[RAFT_MAX_PEERS];
    int joining;
    int tick_ms;
    int election_ticks;
    int heartbeat_ticks;
    /* How reads are served (raft-reads): REPL_READS_*.  With leases, a
     * leader whose heartbeat a quorum acknowledged answers reads without
     * another round for lease_ticks (raft.h). */
    int reads;
    int lease_ticks;
    /* What a peer's RAFT command must carry (raft-secret); "" for none. */
    char secret[128];
    /* The master name Sentinel clients ask for (raft-group-name). */
    char group_name[64];
    /* Snapshot the dataset and compact the log after this many Raft
     * entries, or entry bytes, applied since the last snapshot (0: never). */
    uint64_t snapshot_entries, snapshot_bytes;
    /* Write snapshots in a forked child while the node goes on (a server)?
     * A library must not fork its host application: then they are written
     * on the node's own loop, which stops meanwhile. */
    int can_fork;
} repl_node_config;

/* Parse "1@host:port,2@host:port,..." into cfg->peers.  Returns 0, or -1
 * with a message. */
int repl_parse_peers(const char *spec, repl_node_config *cfg, char *err, size_t errlen);

typedef struct repl_host {
    /* Send one encoded message (wire.h) to a peer; may drop it. */
    void (*send)(void *priv, uint64_t to, const char *data, size_t len);
    /* Everything asked to be sent so far may go out now. */
    void (*send_done)(void *priv);
    /* Close every client whose output waits for a position that will now
     * never be reached (leadership lost): they get no success. */
    void (*abort_waiting)(void *priv);
    /* Clients parked by repl_node_admit() whose ticket is now served may
     * run (repl_node_ticket_ready()). */
    void (*resume_readers)(void *priv);
    /* The node cannot go on (its disk failed, a committed entry does not
     * apply): the host stops. */
    void (*fatal)(void *priv, const char *why);
    void (*log)(void *priv, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    void *priv;
    /* The group told this node where node id listens (a member added, or
     * one that moved): send to it there from now on. */
    void (*set_peer)(void *priv, uint64_t id, const char *host, int port);
    /* Run repl_node_sync_run() on another thread, then repl_node_synced()
     * on the node's: the log's fsync, while the node goes on.  NULL: the
     * node fsyncs on its own thread, as it persists each Ready. */
    void (*sync_start)(void *priv);
    /* May the fsync run on the node's own thread this once, instead
     * (the last one took last_us)?  NULL: never. */
    int (*sync_inline)(void *priv, int64_t last_us);
    /* The monotonic clock in us, which leases are checked against (NULL:
     * CLOCK_MONOTONIC; a test's host makes time pass without ticks). */
    int64_t (*clock_us)(void *priv);
} repl_host;

typedef struct repl_node repl_node;

/* Open the node's storage in dir, recover, and attach to e (the log sink
 * and e->originates become the node's).  Returns NULL with a message. */
repl_node *repl_node_open(cairn_engine *e, const repl_node_config *cfg, const char *dir,
                          const repl_host *host, uint64_t seed, char *err, size_t errlen);
void repl_node_free(repl_node *n);

void repl_node_tick(repl_node *n);
/* A peer's message (wire.h bytes).  Returns -1 if it does not decode. */
int repl_node_receive(repl_node *n, const char *data, size_t len);
/* End of a loop iteration: propose the batch, ask for read rounds, and
 * run the core until it has nothing more to do. */
void repl_node_flush(repl_node *n);

/* The fsync asked by host.sync_start: run it (any thread, touching
 * nothing else of the node but the time it took), then report it on the
 * node's thread --
 * go_on 0 when the host is stopping: the node only closes what the sync
 * used.  A failed fsync stops the node (host.fatal). */
void repl_node_sync_run(repl_node *n);
void repl_node_synced(repl_node *n, int go_on);

/* Positions, for the network layer's reply holding (net_log_hooks). */
uint64_t repl_node_appended(repl_node *n);
/* Commands ran: their replies depend on the current position. */
uint64_t repl_node_observed(repl_node *n);
uint64_t repl_node_durable(repl_node *n);
/* May a client run commands now?  Returns 1, or 0 after setting *ticket:
 * the client waits until repl_node_ticket_ready(*ticket) (the host is
 * told through resume_readers). */
int repl_node_admit(repl_node *n, uint64_t *ticket);
int repl_node_ticket_ready(const repl_node *n, uint64_t ticket);

/* RAFT, ROLE, WAIT, SENTINEL and INFO replication. */
/* A leader about to stop hands over first (to the most up-to-date voter
 * it hears from, as FAILOVER), so that its clients wait a round trip, not
 * an election: 1 if a transfer began.  repl_node_handing_over(): 1 until
 * it is won or given up (two election timeouts at most). */
int repl_node_step_down(repl_node *n);
int repl_node_handing_over(const repl_node *n);
void repl_node_command(repl_node *n, cmd_call *c);
void repl_node_info(repl_node *n, dstr *out);
const repl_node_config *repl_node_config_of(const repl_node *n);
/* The leader as this follower knows it (NULL if none, or if this node
 * leads). */
const repl_peer *repl_node_leader(const repl_node *n);
/* The leader's address, this node's own when it leads (NULL if none). */
const repl_peer *repl_node_leader_addr(const repl_node *n);
raft *repl_node_raft(repl_node *n);
/* The client sessions of CLIENT SESSION (csession.h): replicated state,
 * rebuilt with the dataset. */
struct session_table *repl_node_sessions(repl_node *n);

#endif
