/* raft.h -- Cairn's Raft core: a pure, deterministic state machine.
 *
 * In the style of etcd's raft: no I/O, no clock, no threads, no rand().
 * The caller (a node in cairn-server, libcairn or the simulator) owns the
 * disk, the network and time, and drives the core with four inputs:
 *
 *   raft_tick()      one unit of logical time passed (election and
 *                    heartbeat timeouts are counted in ticks; with lease
 *                    reads, raft_clock() also says how much real time
 *                    passed);
 *   raft_step()      a message arrived from a peer;
 *   raft_propose()   a client wants an entry appended (leader only);
 *   raft_read_index() a client wants a linearizable read.
 *
 * Randomness (the election timeout) comes from a crand seeded by the
 * caller, so a run is a function of its inputs.
 *
 * After any input the caller asks raft_ready() what to do, does it, and
 * calls raft_advance().  THE CONTRACT, in this order:
 *
 *   1. Write rd.snap_chunks (and, with rd.snapshot, make that snapshot
 *      the node's and cut the log behind it), then persist rd.entries
 *      (replacing any stored entries from rd.entries[0].index on) and, if
 *      rd.hs_changed, rd.hs, and make all of it durable (fsync).  If that fails, stop: send
 * nothing, acknowledge nothing (the node must crash and recover from disk).
 *   2. Only then send rd.msgs (unless rd.send_early: then before step 1).
 *      A vote or an append acknowledgement promises something about the
 *      disk; sending it before step 1 is durable breaks Raft (a crash
 *      forgets the promise).
 *   3. With rd.snapshot, replace the state machine with it; then apply
 *      rd.committed in order.  With rd.compact_index, take a snapshot
 *      there and call raft_compact() once it is durable.
 *   4. Serve rd.reads: each read with ctx may be answered once the
 *      local state machine has applied rd.reads[i].index.
 *   5. raft_advance(r).  Pointers in rd are valid until then.
 *
 * With cfg.persist_async, step 1 only writes: the entries may become
 * durable later (an fsync on another thread, while the node goes on), and
 * the caller reports it with raft_persisted().  Then rule 2 reads: rd.msgs
 * (unless rd.send_early) go out only once every entry written so far,
 * this Ready's included, is durable -- and not at all if the log was cut
 * meanwhile (a truncation or a snapshot: what they acknowledged may never
 * have reached the disk).  The hard state must never be saved with a
 * commit index past raft_get_durable().  A leader counts its own copy
 * toward commit only up to what was reported durable.
 *
 * Votes and log comparisons are made against the log and hard state as
 * they will be once the pending Ready is persisted; since nothing leaves
 * the node before that (rule 2), every promise a peer sees rests only on
 * durable state.
 *
 * Safety rules the core keeps (see the simulator in tests/sim/ which
 * checks them): a leader commits by counting replicas only entries of its
 * own term (Raft paper, Figure 8); a new leader appends a no-op entry and
 * serves no read until an entry of its term is committed; a read is
 * served only after a heartbeat round confirms leadership (ReadIndex). */
#ifndef CAIRN_RAFT_H
#define CAIRN_RAFT_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/rand.h"

#define RAFT_NONE      0
#define RAFT_MAX_PEERS 16

typedef enum {
    RAFT_FOLLOWER,
    RAFT_PRECANDIDATE,
    RAFT_CANDIDATE,
    RAFT_LEADER,
} raft_role;

typedef enum {
    RAFT_ENTRY_NORMAL, /* caller data */
    RAFT_ENTRY_NOOP,   /* appended by a new leader; carries no data */
    RAFT_ENTRY_CONF,   /* a membership change: data is the new configuration
                          (raft_conf_encode); it takes effect when appended */
} raft_entry_type;

/* A configuration: who votes and who only receives the log.  Voters and
 * learners together are at most RAFT_MAX_PEERS. */
typedef struct raft_conf {
    size_t n_voters, n_learners;
    uint64_t voters[RAFT_MAX_PEERS];
    uint64_t learners[RAFT_MAX_PEERS];
} raft_conf;

/* What a snapshot stands for: the state machine after applying every
 * entry up to index (whose term is term), under configuration conf.  size
 * is the length of the caller's serialized state, which the core sends in
 * chunks but never holds. */
typedef struct raft_snapshot_meta {
    uint64_t index, term;
    uint64_t size;
    raft_conf conf;
} raft_snapshot_meta;

typedef struct raft_entry {
    uint64_t term;
    uint64_t index;
    uint8_t type;
    uint32_t len;
    uint8_t *data; /* owned by whoever owns the entry */
} raft_entry;

typedef enum {
    RAFT_MSG_PREVOTE,
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_VOTE,
    RAFT_MSG_VOTE_RESP,
    RAFT_MSG_APP,
    RAFT_MSG_APP_RESP,
    RAFT_MSG_HEARTBEAT,
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_READ_INDEX,      /* follower -> leader: a batch of reads */
    RAFT_MSG_READ_INDEX_RESP, /* leader -> follower: safe index for ctx */
    RAFT_MSG_TIMEOUT_NOW,     /* leader -> transferee: campaign now */
    RAFT_MSG_SNAP,            /* leader -> follower: a chunk of a snapshot */
    RAFT_MSG_SNAP_RESP,       /* follower -> leader: bytes received so far */
    RAFT_MSG_TYPES
} raft_msg_type;

typedef struct raft_msg {
    uint8_t type;
    uint8_t reject;
    /* VOTE: a campaign started by a leadership transfer, which a node
     * grants even while it still hears from the (old) leader */
    uint8_t transfer;
    /* APP: carries only the commit index, to a follower whose acks of the
     * appends before it already tell the leader how far it matches: it
     * answers only a rejection */
    uint8_t commit_only;
    uint64_t from, to;
    uint64_t term;
    /* APP: prev log term/index; VOTE: last log term/index;
     * APP_RESP: highest index now matching (or the rejected index);
     * READ_INDEX_RESP: the index to apply, committed, and its term. */
    uint64_t log_term, index;
    uint64_t commit;
    /* APP_RESP with reject: where the follower's log could match (its
     * last index, or the first index of its term at the conflict) and
     * that term, so the leader skips a whole term per round trip. */
    uint64_t hint_index, hint_term;
    /* HEARTBEAT(_RESP), READ_INDEX(_RESP): the read round being confirmed.
     * SNAP(_RESP): how many times the leader went back in this follower's
     * snapshot when it sent the chunk (echoed back). */
    uint64_t ctx;
    /* HEARTBEAT(_RESP): the leader's tick count when it sent the heartbeat
     * (echoed back), from which a lease is counted. */
    uint64_t tick;
    size_t n_entries;
    raft_entry *entries; /* owned by the message */
    /* SNAP: bytes [offset, offset + data_len) of the snapshot at (index,
     * log_term), size bytes long, whose configuration is *conf; done marks
     * the last chunk.  SNAP_RESP: offset is how many bytes the follower
     * holds of the snapshot at index (with reject: where it wants the
     * leader to resume, after a chunk out of order).  A SNAP made by the core has data == NULL: the
     * caller fills it from its snapshot file when it sends the message
     * (raft_msg_set_data), and drops the message if its snapshot is no
     * longer the one at index. */
    uint64_t offset, size;
    uint8_t done;
    raft_conf *conf; /* SNAP only; owned by the message */
    uint32_t data_len;
    uint8_t *data; /* owned by the message */
} raft_msg;

/* What must be durable: the hard state of the Raft paper. */
typedef struct raft_hard_state {
    uint64_t term;
    uint64_t vote;
    uint64_t commit;
} raft_hard_state;

typedef struct raft_read_state {
    uint64_t ctx;   /* as given to raft_read_index() */
    uint64_t index; /* answer once applied >= index */
} raft_read_state;

typedef struct raft_config {
    uint64_t id;
    size_t n_peers;
    uint64_t peers[RAFT_MAX_PEERS]; /* every voter (this node too, unless it is a learner) */
    int election_ticks;             /* base timeout; the real one is in [e, 2e) */
    int heartbeat_ticks;
    int pre_vote;
    int check_quorum;
    size_t max_inflight_msgs;  /* appends in flight per follower */
    size_t max_inflight_bytes; /* entry bytes in flight per follower (0: no limit) */
    size_t max_msg_bytes;      /* entry bytes per append (at least one entry) */
    /* proposals are refused (RAFT_ERR_BUSY) while this many bytes wait
     * for commit (0: no limit) */
    size_t max_uncommitted_bytes;
    /* Lease reads: 0 disables them.  Otherwise a leader whose heartbeat
     * sent at tick t was acknowledged by a quorum answers reads without a
     * heartbeat round until tick t + lease_ticks of its lease clock
     * (raft_tick() calls, caught up to real time by raft_clock()).  Safe
     * only if, over an election timeout, no node's clock runs faster than
     * the leader's by more than election_ticks - lease_ticks - 2 ticks (the
     * drift bound; the 2 are what whole ticks lose, one at each end), since
     * a follower refuses to vote for election_ticks of its own ticks after
     * hearing from the leader (and after starting).  Needs check_quorum. */
    int lease_ticks;
    uint64_t seed; /* for the randomized election timeout */
    /* Ask the caller for a snapshot (raft_ready.compact_index) once this
     * many entries, or entry bytes, were applied since the last one (0: never). */
    uint64_t snapshot_entries;
    uint64_t snapshot_bytes;
    /* bytes of snapshot per InstallSnapshot message (0: max_msg_bytes) */
    size_t snapshot_chunk_bytes;
    /* chunks of a snapshot in flight to one follower (0 or 1: one per
     * round trip), within max_inflight_msgs and max_inflight_bytes */
    size_t snapshot_inflight;
    /* Known-bad variants for the simulator (RAFT_BUG_*); compiled in only
     * when raft.c is built with RAFT_SIM_BUGS, ignored otherwise. */
    unsigned bugs;
    /* learners of the initial configuration (a node joining as a learner
     * lists itself here) */
    size_t n_learners;
    uint64_t learners[RAFT_MAX_PEERS];
    /* entries become durable when raft_persisted() says so, not at
     * raft_advance() (see the contract above) */
    int persist_async;
} raft_config;

enum {
    RAFT_BUG_FIGURE8 = 1u << 0,       /* commit earlier-term entries by counting */
    RAFT_BUG_NO_NOOP = 1u << 1,       /* no entry on election, reads not held */
    RAFT_BUG_VOTE_UNSYNCED = 1u << 2, /* vote left out of the hard state to persist */
    RAFT_BUG_READ_STALE = 1u << 3,    /* ReadIndex without the heartbeat round */
    RAFT_BUG_CONF_MULTI = 1u << 4,    /* conf changes while one is uncommitted, or before
                                         the leader committed an entry of its term */
    RAFT_BUG_SNAP_STALE = 1u << 5,    /* a snapshot older than the commit index installed */
    RAFT_BUG_SELF_UNSYNCED = 1u << 6, /* persist_async: a leader counts its own copy
                                         toward commit once written, not synced */
    RAFT_BUG_SNAP_GAP = 1u << 7,      /* a snapshot chunk taken after a gap (one before
                                         it lost or late) */
};

/* What the caller has to do; see the contract above. */
typedef struct raft_ready {
    raft_hard_state hs;
    int hs_changed;
    const raft_entry *entries;
    size_t n_entries;
    const raft_entry *committed;
    size_t n_committed;
    raft_msg *msgs;
    size_t n_msgs;
    raft_read_state *reads;
    size_t n_reads;
    /* Step 1, before the entries: chunks of a snapshot received from the
     * leader, in order, to write to a temporary file (a chunk at offset 0
     * starts a new one).  If snapshot is set, the last chunk completed it:
     * make the file durable and the node's snapshot (write, fsync, rename,
     * fsync the directory), then drop the stored log up to snapshot->index
     * -- all of it if the stored entry at that index has another term.  In
     * step 3, before applying committed, replace the state machine with
     * the snapshot. */
    const raft_msg *snap_chunks;
    size_t n_snap_chunks;
    const raft_snapshot_meta *snapshot;
    /* After step 3 the state machine is at compact_index (0: nothing asked):
     * the core asks for a snapshot there (snapshot_entries/bytes).  Once it
     * is durable, call raft_compact(). */
    uint64_t compact_index;
    /* rd.msgs promise nothing about this node's disk (a leader's appends
     * and heartbeats, with no new term or vote): they may go out before
     * step 1, so followers write the entries while the leader does (Raft
     * thesis 10.2.1).  The leader counts its own copy only once the Ready
     * is advanced, so commit still needs a majority of durable copies. */
    int send_early;
} raft_ready;

enum {
    RAFT_OK = 0,
    RAFT_ERR_NOT_LEADER = -1,
    RAFT_ERR_NOMEM = -2,
    RAFT_ERR_CORRUPT = -3, /* restored state is inconsistent */
    RAFT_ERR_BUSY = -4,    /* retry later: too much uncommitted, a leadership
                              transfer in progress, or (reads) no entry of
                              this leader's term committed yet */
    RAFT_ERR_INVALID = -5, /* bad argument */
};

typedef struct raft raft;

/* A new node.  hs and the entries (consecutive, from index 1) are what
 * the node's storage recovered; pass NULL/0 for a fresh node.  The
 * entries are copied. */
raft *raft_new(const raft_config *cfg, const raft_hard_state *hs, const raft_entry *ents, size_t n);
void raft_free(raft *r);

void raft_tick(raft *r);
/* The caller's monotonic clock says elapsed ticks of real time passed
 * since raft_new().  Leases are counted on this clock: ticks the caller's
 * timer missed (a stalled process, a loop busy elsewhere) must not make a
 * lease look younger than it is, so a caller with lease reads calls this
 * before raft_read_index() and before stepping a READ_INDEX message.  It
 * moves only the lease clock, and only forward; timeouts still count
 * raft_tick() calls -- a late tick only makes a node wait longer before it
 * campaigns or votes, which no lease depends on. */
void raft_clock(raft *r, uint64_t elapsed);
int raft_step(raft *r, const raft_msg *m);
/* Append data as a new entry (copied).  *index gets its log index: the
 * proposal succeeded iff an entry with that index and the returned
 * *term is later applied. */
int raft_propose(raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term);
/* Ask for a linearizable read; ctx comes back in a raft_read_state (on
 * this node) when it is safe.  Reads are batched: one heartbeat round
 * confirms every read queued before it.  Reads are dropped (the caller
 * retries) if leadership is lost or no leader is known. */
int raft_read_index(raft *r, uint64_t ctx);
/* Start an election now (tests; a lone node). */
void raft_campaign(raft *r);
/* Leadership transfer (rolling restarts): the leader stops taking
 * proposals, brings `to` up to date, and tells it to campaign at once
 * (TimeoutNow).  Abandoned if `to` has not won within an election
 * timeout. */
int raft_transfer_leader(raft *r, uint64_t to);

/* Returns 1 and fills *rd if there is anything to do. */
int raft_ready_get(raft *r, raft_ready *rd);
void raft_advance(raft *r);
/* cfg.persist_async: the entries written up to index, whose term was
 * term when the write began, are durable.  Ignored if the log no longer
 * holds that entry (it was cut meanwhile: the entries may not be the ones
 * synced).  May be called at any time outside a Ready. */
void raft_persisted(raft *r, uint64_t index, uint64_t term);
/* The highest index known durable (the caller's reports, or everything
 * advanced without persist_async). */
uint64_t raft_get_durable(const raft *r);
/* While held, a leader sends no append only to tell followers a new
 * commit index: the next append with entries carries it, or a heartbeat,
 * or a read's answer (for a follower that holds the entry read at).
 * Released, raft_ready_get sends what is due.  For a caller that paces
 * these (a node releases it once per tick).  Commit propagation is never
 * needed for safety, only for followers to apply. */
void raft_hold_commit(raft *r, int hold);

raft_role raft_get_role(const raft *r);
uint64_t raft_get_term(const raft *r);
uint64_t raft_get_leader(const raft *r);
uint64_t raft_get_id(const raft *r);
uint64_t raft_get_commit(const raft *r);
/* As leader: the highest index known to match on node id (0 otherwise). */
uint64_t raft_get_match(const raft *r, uint64_t id);
uint64_t raft_last_index(const raft *r);
/* Term of the entry at index (0 if none). */
uint64_t raft_term_at(const raft *r, uint64_t index);
const raft_entry *raft_entry_at(const raft *r, uint64_t index);

/* A node restarting from a snapshot plus the log after it: ents start at
 * snap->index + 1 (snap NULL: as raft_new).  The configuration is the
 * snapshot's, changed by any RAFT_ENTRY_CONF in ents; cfg->peers and
 * cfg->learners give the configuration of a node with no snapshot. */
raft *raft_new_from(const raft_config *cfg, const raft_snapshot_meta *snap,
                    const raft_hard_state *hs, const raft_entry *ents, size_t n);
/* The caller made a snapshot of its state machine at index (<= what it
 * applied), size bytes long, durable: entries up to index leave the log,
 * and followers that need them get the snapshot instead. */
int raft_compact(raft *r, uint64_t index, uint64_t size);
/* What to record in a snapshot taken at index (applied, not compacted
 * yet): its term and the configuration in effect there (size is left 0).
 * Returns RAFT_ERR_INVALID if index is not in the log. */
int raft_snapshot_meta_at(const raft *r, uint64_t index, raft_snapshot_meta *out);
/* The last snapshot (index 0: none). */
const raft_snapshot_meta *raft_get_snapshot(const raft *r);

/* Membership changes, one server at a time: add a learner (it receives
 * the log but neither votes nor counts for commit), make a learner (or a
 * new node) a voter, remove a voter or a learner -- the leader included,
 * which steps down once the change commits.  Leader only; RAFT_ERR_BUSY
 * until an entry of this leader's term has committed and while another
 * change is uncommitted.  *index and *term as raft_propose. */
enum { RAFT_CONF_ADD_LEARNER, RAFT_CONF_ADD_VOTER, RAFT_CONF_REMOVE };
int raft_change_conf(raft *r, int op, uint64_t id, uint64_t *index, uint64_t *term);
/* The configuration in effect (the latest in the log, committed or not). */
void raft_get_conf(const raft *r, raft_conf *out);
/* Leader: the highest index known to be on node id (0 if unknown). */
uint64_t raft_peer_match(const raft *r, uint64_t id);
/* Leader: ticks since node id last answered a message (since the leader
 * was elected if it has not yet); UINT64_MAX when not leading or id is not
 * a member.  0 for the leader itself. */
uint64_t raft_peer_silence(const raft *r, uint64_t id);
int raft_conf_has_voter(const raft_conf *c, uint64_t id);
int raft_conf_has_learner(const raft_conf *c, uint64_t id);
/* The data of a RAFT_ENTRY_CONF: encode returns the length written to
 * buf (at most RAFT_CONF_MAX_BYTES); decode returns -1 if data is not a
 * configuration. */
#define RAFT_CONF_MAX_BYTES (16 + 16 * RAFT_MAX_PEERS)
size_t raft_conf_encode(const raft_conf *c, uint8_t *buf);
int raft_conf_decode(const uint8_t *data, size_t len, raft_conf *out);

/* Replace a message's data with a copy of len bytes (a SNAP chunk); -1 on
 * allocation failure. */
int raft_msg_set_data(raft_msg *m, const void *data, uint32_t len);
void raft_msg_free(raft_msg *m);
/* Deep copy (entries and data); returns -1 on allocation failure. */
int raft_msg_copy(raft_msg *dst, const raft_msg *src);
const char *raft_msg_type_name(int type);

#endif
