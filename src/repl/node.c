/* node.c -- a replicated node: the Raft core joined to an engine and its
 * log storage; see node.h. */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/blocking.h"
#include "../engine/cmd.h"
#include "../engine/pubsub.h"
#include "../log/child.h"
#include "../log/clock.h"
#include "../log/entry.h"
#include "../log/fileio.h"
#include "csession.h"
#include "image.h"
#include "members.h"
#include "storage.h"
#include "wire.h"

#define SEGMENT_BYTES     (64u << 20)
#define ROUND_RETRY_TICKS 25 /* a follower read round unanswered this long is asked again */
#define HS_SAVE_TICKS     25 /* how often a commit-only hard state change is saved */
#define BATCH_HOLD_BYTES  (256u << 10) /* see batch_waits() */
/* After a failed snapshot, wait this many election timeouts (about 5 s,
 * as Redis waits after a failed BGSAVE) before the next try. */
#define SNAP_RETRY_ELECTIONS 10
/* A leadership transfer holds new commands for at most this many
 * election timeouts (the core gives up on a target after one). */
#define TRANSFER_ELECTIONS 2
/* With no leader known, commands wait this many election timeouts (an
 * election, and the new leader's first message on a loaded machine)
 * before they are refused with -CLUSTERDOWN. */
#define LEADERLESS_ELECTIONS 3
/* Follower read rounds have the top bit set, so an answer to one can
 * never be taken for the leader's confirmation of an epoch. */
#define ROUND_BIT (UINT64_C(1) << 63)

static const char *const msg_readonly = "READONLY You can't write against a read only replica.";
static const char *const msg_down = "CLUSTERDOWN The cluster is down";
static const char *const msg_transfer = "TRYAGAIN Leadership is being transferred";

/* An epoch whose replies wait: for its batch to commit, or for a read
 * round to confirm this node led when its reads ran. */
typedef struct pending {
    uint64_t epoch;
    uint64_t index, term; /* its batch, or 0 for an epoch of reads only */
    int committed;
    int read_wait;
} pending;

/* A follower's read round: the leader's commit index once answered. */
typedef struct round {
    uint64_t ctx;
    uint64_t index; /* 0 until answered */
    uint64_t asked; /* tick */
} round;

struct repl_node {
    cairn_engine *e;
    repl_node_config cfg;
    repl_host host;
    raft *r;
    raft_storage *st;
    raft_hard_state saved_hs;
    uint64_t ticks, hs_saved_tick;
    int64_t born_us; /* the monotonic clock when the core was made (leases) */
    /* RAFT TRANSFER-LEADER or FAILOVER: the node to hand over to once
     * every reply this leader holds is released (0: none, or handed to the
     * core), and the tick until which new commands wait for the transfer
     * to end; they then run as the role they find says. */
    uint64_t transfer_to, transfer_until;
    uint64_t leaderless_until; /* commands wait for an election until this tick */

    dstr batch; /* this epoch's entries, encoded back to back */
    uint64_t epoch;
    int observed; /* commands ran in this epoch */
    pending *pend;
    size_t npend, pend_cap;

    uint64_t handed;  /* the last index the core handed out as committed */
    uint64_t applied; /* the last index whose effects are in the engine */
    /* The last index of the log this node recovered at start: its
     * messages (PUBLISH entries) went out before the restart, or are too
     * old to go out now. */
    uint64_t recovered;
    uint64_t exec_last; /* as leader: the last index executed here */
    uint64_t lead_term; /* the term this node leads in, or 0 */
    uint64_t lead_index;
    uint64_t known_leader;
    uint64_t last_leader; /* the last leader known (for +switch-master) */

    uint64_t round_next, read_served;
    /* round_next when the rounds in flight were last dropped: a client
     * holding a ticket up to it waits for no round any more. */
    uint64_t round_floor;
    int round_wanted;
    round *rounds;
    size_t nrounds, rounds_cap;

    cairn_session loader;
    rbuf loader_out;
    int failed;

    /* snapshots: the core asked for one, started once the engine holds
     * nothing but applied entries (a leader holds new clients until then)
     * and written by a child process while the node goes on */
    dstr dir, state_tmp;
    int snap_wanted, snap_hold;
    uint64_t hold_until, hold_next;
    pid_t snap_child;             /* writing the snapshot snap_meta, or 0 */
    raft_snapshot_meta snap_meta; /* at the applied index of the fork */
    int64_t snap_start_us, snap_last_us;
    uint64_t snap_retry; /* no new snapshot before this tick (after a failure) */
    uint64_t snaps_taken, snaps_installed, snaps_failed;
    session_table *sessions; /* CLIENT SESSION: replicated state (csession.h) */

    /* Log fsyncs off the loop (host.sync_start): appends are numbered,
     * one fsync at a time covers every append made before it began, and
     * messages that may rest on an append wait, encoded in held, until
     * it is durable. */
    int async;
    uint64_t wseq, sseq;
    int sync_on;
    rstore_sync_job job;
    uint64_t sync_seq, sync_index, sync_term;
    int64_t sync_us; /* how long the last fsync took */
    dstr held;       /* records: a held_hdr, then the encoded message */
};

typedef struct held_hdr {
    uint64_t need; /* the append it may rest on */
    uint64_t to;
    size_t len;
} held_hdr;

/* ---- configuration ---- */

static int parse_peer(const char *s, size_t len, repl_peer *p)
{
    char buf[128];
    if (len >= sizeof(buf)) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *at = strchr(buf, '@'), *colon = strrchr(buf, ':');
    if (!at || !colon || colon < at) return -1;
    *at = *colon = 0;
    long long id, port;
    if (!str_to_ll(buf, strlen(buf), &id) || id <= 0 ||
        !str_to_ll(colon + 1, strlen(colon + 1), &port) || port <= 0 || port > 65535)
        return -1;
    size_t hl = strlen(at + 1);
    if (hl == 0 || hl >= sizeof(p->host)) return -1;
    memcpy(p->host, at + 1, hl + 1);
    p->id = (uint64_t)id;
    p->port = (int)port;
    return 0;
}

int repl_parse_peers(const char *spec, repl_node_config *cfg, char *err, size_t errlen)
{
    cfg->n_peers = 0;
    const char *s = spec;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (cfg->n_peers == RAFT_MAX_PEERS) {
            snprintf(err, errlen, "raft-peers lists more than %d nodes", RAFT_MAX_PEERS);
            return -1;
        }
        repl_peer *p = &cfg->peers[cfg->n_peers];
        if (parse_peer(s, len, p) != 0) {
            snprintf(err, errlen, "raft-peers: '%.*s' is not id@host:port", (int)len, s);
            return -1;
        }
        if (!members_host_ok(p->host)) {
            snprintf(err, errlen, "raft-peers: '%s' is not an IP address or a host name", p->host);
            return -1;
        }
        for (size_t i = 0; i < cfg->n_peers; i++)
            if (cfg->peers[i].id == p->id) {
                snprintf(err, errlen, "raft-peers names node %llu twice",
                         (unsigned long long)p->id);
                return -1;
            }
        cfg->n_peers++;
        s = end ? end + 1 : s + len;
    }
    cfg->joining = 1;
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].id == cfg->id) cfg->joining = 0;
    if (cfg->joining && cfg->n_peers == 0) {
        snprintf(err, errlen, "raft-peers lists no node");
        return -1;
    }
    return 0;
}

static const repl_peer *peer_of(const repl_node *n, uint64_t id)
{
    for (size_t i = 0; i < n->cfg.n_peers; i++)
        if (n->cfg.peers[i].id == id) return &n->cfg.peers[i];
    return NULL;
}

/* ---- failure ---- */

static void fail(repl_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(repl_node *n, const char *fmt, ...)
{
    if (n->failed) return;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    n->failed = 1;
    n->e->originates = 0;
    n->e->repl_refuse_write = n->e->repl_refuse_read = msg_down;
    n->host.fatal(n->host.priv, why);
}

/* ---- the engine side ---- */

static void sink(void *priv, const cairn_entry *entry)
{
    repl_node *n = priv;
    n->batch = entry_encode(n->batch, entry);
}

static int leader_ready(const repl_node *n) { return n->lead_term && n->applied >= n->lead_index; }

/* The core no longer leads in the term this node leads in: a message said
 * so, and the flush has not yet made this node a follower (the rebuild
 * that may take is not done inside a command). */
static int deposed(const repl_node *n)
{
    return raft_get_role(n->r) != RAFT_LEADER || raft_get_term(n->r) != n->lead_term;
}

/* A leadership transfer is under way: from RAFT TRANSFER-LEADER (or
 * FAILOVER) until this node learns who leads now, or the transfer is
 * given up. */
static int transferring(const repl_node *n) { return n->ticks < n->transfer_until; }

/* Does this node hold new commands back (they wait, as for a read round,
 * rather than get an error)?  A leader while it takes a snapshot, hands
 * over, or has not applied its term's first entry yet; a node that knows
 * no leader, during a transfer or for a few election timeouts (raft-reads
 * local serves what it has at once). */
static int holding(const repl_node *n)
{
    if (n->failed) return 0;
    if (n->lead_term) return n->snap_hold || transferring(n) || !leader_ready(n) || deposed(n);
    if (raft_get_leader(n->r) != RAFT_NONE) return 0;
    return transferring(n) || (n->ticks < n->leaderless_until && n->cfg.reads != REPL_READS_LOCAL);
}

/* What the engine may do in this node's current role: only a leader that
 * has applied every entry before its own term originates; a follower
 * refuses writes; with no leader, data commands get -CLUSTERDOWN. */
static void update_engine(repl_node *n)
{
    cairn_engine *e = n->e;
    if (n->failed) return;
    if (leader_ready(n)) {
        /* Once the core hands over it takes no entry: nothing may expire
         * or run a write (new commands are held; this refusal is only a
         * guard). */
        int handed = transferring(n) && !n->transfer_to;
        e->originates = !handed;
        e->repl_refuse_read = NULL;
        e->repl_refuse_write = handed ? msg_transfer : NULL;
        return;
    }
    e->originates = 0;
    int follower = raft_get_role(n->r) == RAFT_FOLLOWER && raft_get_leader(n->r) != RAFT_NONE;
    e->repl_refuse_write = follower ? msg_readonly : msg_down;
    /* local reads serve what this node applied even with no leader, as a
     * Redis replica serves stale data */
    e->repl_refuse_read = follower || n->cfg.reads == REPL_READS_LOCAL ? NULL : msg_down;
}

static int apply_address(repl_node *n, const raft_entry *ent);

/* quiet: the entry's messages were delivered when it first ran or
 * applied here (a replay): it delivers none. */
static int apply_batch(repl_node *n, const raft_entry *ent, int quiet)
{
    if (members_is_entry(ent->data, ent->len)) return apply_address(n, ent);
    size_t off = 0;
    n->e->publish_quiet = quiet || ent->index <= n->recovered;
    while (off < ent->len) {
        entry_view v;
        const char *why = "";
        if (entry_decode((const char *)ent->data + off, ent->len - off, &v, &why) != ENTRY_OK) {
            fail(n, "Raft entry %llu does not decode at byte %zu (%s)",
                 (unsigned long long)ent->index, off, why);
            return -1;
        }
        int rc = engine_apply_entry(n->e, &n->loader, &v.e, &n->loader_out);
        off += v.size;
        entry_view_free(&v);
        if (rc != 0) {
            fail(n, "Raft entry %llu failed to apply: the log is corrupt",
                 (unsigned long long)ent->index);
            return -1;
        }
        rbuf_reset(&n->loader_out);
    }
    return 0;
}

/* ---- membership ---- */

static void learn_address(repl_node *n, const repl_peer *p)
{
    const repl_peer *old = peer_of(n, p->id);
    if (old && old->port == p->port && strcmp(old->host, p->host) == 0) return;
    raft_conf conf;
    raft_get_conf(n->r, &conf);
    if (members_set(&n->cfg, &conf, p) != 0) {
        n->host.log(n->host.priv, LL_WARNING, "Raft: no room for the address of node %llu",
                    (unsigned long long)p->id);
        return;
    }
    if (p->id != n->cfg.id && n->host.set_peer)
        n->host.set_peer(n->host.priv, p->id, p->host, p->port);
}

static int apply_address(repl_node *n, const raft_entry *ent)
{
    repl_peer p;
    if (members_decode_entry(ent->data, ent->len, &p) != 0) {
        fail(n, "Raft entry %llu: a malformed node address: the log is corrupt",
             (unsigned long long)ent->index);
        return -1;
    }
    learn_address(n, &p);
    return 0;
}

/* The members of the configuration in effect whose address is known,
 * voters first; returns how many. */
static size_t members_of(const repl_node *n, const repl_peer **out, int *voter)
{
    raft_conf c;
    raft_get_conf(n->r, &c);
    size_t k = 0;
    for (size_t i = 0; i < c.n_voters + c.n_learners; i++) {
        uint64_t id = i < c.n_voters ? c.voters[i] : c.learners[i - c.n_voters];
        const repl_peer *p = peer_of(n, id);
        if (!p) continue;
        if (voter) voter[k] = i < c.n_voters;
        out[k++] = p;
    }
    return k;
}

/* On the leader: has node id answered within an election timeout?  A
 * replica that has not is what Redis calls disconnected: not counted in
 * connected_slaves or ROLE, and s_down to Sentinel clients, which then
 * send it no reads. */
static int peer_up(const repl_node *n, uint64_t id)
{
    return raft_peer_silence(n->r, id) <= (uint64_t)n->cfg.election_ticks;
}

/* Milliseconds since the leader last heard from node id. */
static long long peer_silence_ms(const repl_node *n, uint64_t id)
{
    uint64_t t = raft_peer_silence(n->r, id);
    return t == UINT64_MAX ? -1 : (long long)(t * (uint64_t)n->cfg.tick_ms);
}

/* A leader makes a learner a voter once it holds what is committed, give
 * or take PROMOTE_SLACK entries (a node under write load is always a
 * little behind). */
#define PROMOTE_SLACK 64
static void promote_learners(repl_node *n)
{
    if (!leader_ready(n)) return;
    raft_conf c;
    raft_get_conf(n->r, &c);
    uint64_t commit = raft_get_commit(n->r);
    for (size_t i = 0; i < c.n_learners; i++) {
        uint64_t match = raft_peer_match(n->r, c.learners[i]);
        uint64_t index, term;
        if (match && match + PROMOTE_SLACK >= commit &&
            raft_change_conf(n->r, RAFT_CONF_ADD_VOTER, c.learners[i], &index, &term) == RAFT_OK) {
            n->host.log(n->host.priv, LL_NOTICE, "Raft: node %llu caught up: now a voter",
                        (unsigned long long)c.learners[i]);
            return; /* one change at a time */
        }
    }
}

static int load_snapshot(repl_node *n, int announce, char *err, size_t errlen);

/* Start over from the snapshot and the committed log after it: this node
 * executed entries as leader that may never commit. */
static int rebuild(repl_node *n)
{
    uint64_t from = rstore_snapshot(n->st)->index;
    /* A snapshot from the new leader is in the core (it compacted the log
     * a rebuild would replay) and reaches the storage with the next
     * Ready, whose install replaces the dataset: nothing to do here. */
    if (raft_get_snapshot(n->r)->index > from) return 0;
    n->host.log(n->host.priv, LL_WARNING,
                "Raft: leadership lost with uncommitted writes; rebuilding the dataset from the "
                "snapshot at %llu and the committed entries up to %llu",
                (unsigned long long)from, (unsigned long long)n->handed);
    char err[512];
    if (from) {
        if (load_snapshot(n, 0, err, sizeof(err)) != 0) {
            fail(n, "Raft: rebuilding: %s: the node stops", err);
            return -1;
        }
    } else {
        image_reset(n->e, &n->loader, &n->loader_out);
        if (csession_reset(&n->sessions) != 0) {
            fail(n, "Raft: rebuilding: out of memory for the client sessions: the node stops");
            return -1;
        }
    }
    for (uint64_t i = from + 1; i <= n->handed; i++) {
        const raft_entry *ent = raft_entry_at(n->r, i);
        if (!ent) {
            fail(n, "Raft: entry %llu is not in memory to rebuild from; restart the node",
                 (unsigned long long)i);
            return -1;
        }
        if (ent->type == RAFT_ENTRY_NORMAL && apply_batch(n, ent, 1) != 0) return -1;
    }
    n->applied = n->handed;
    return 0;
}

/* The leader is no longer (or the node never was): replies waiting for
 * its epochs will not come; what it executed beyond the committed log is
 * undone. */
static void lost_leadership(repl_node *n)
{
    int dirty = dstr_len(n->batch) > 0 || n->exec_last > n->handed;
    /* Reads that ran in this epoch too: no round will confirm them, and
     * the flush would release them as its epoch ends. */
    if (n->npend || dstr_len(n->batch) || n->observed) n->host.abort_waiting(n->host.priv);
    n->npend = 0;
    dstr_set_len(n->batch, 0);
    n->lead_term = 0;
    n->snap_hold = 0;
    n->e->originates = 0;
    /* A session parked in a write (BLPOP ...) would be served by the
     * entries this node now applies (the rebuild's too), popping here
     * alone: it gets Redis's error for a master turned replica first. */
    engine_unblock_writers(n->e);
    if (dirty) rebuild(n);
    n->exec_last = 0;
}

static void announce_switch(repl_node *n, uint64_t from, uint64_t to);

static const char *reads_name(int reads)
{
    return reads == REPL_READS_LEASE   ? "lease"
           : reads == REPL_READS_LOCAL ? "local"
                                       : "linearizable";
}

/* The core drops read rounds when the leader changes: ask a new leader
 * again, and let clients waiting with no leader (or on this node, now
 * leading) through to be answered by the role they find. */
static void leader_changed(repl_node *n)
{
    uint64_t lead = raft_get_leader(n->r);
    if (lead != RAFT_NONE && lead != n->cfg.id)
        for (size_t i = 0; i < n->nrounds; i++)
            if (!n->rounds[i].index) raft_read_index(n->r, n->rounds[i].ctx);
    if (lead == RAFT_NONE || lead == n->cfg.id) {
        n->nrounds = 0;
        n->round_wanted = 0;
        n->round_floor = n->round_next;
    }
    /* Another node leads: a transfer this node made is over.  No leader:
     * commands wait for an election before they are refused. */
    if (lead != RAFT_NONE && lead != n->cfg.id) n->transfer_to = n->transfer_until = 0;
    n->leaderless_until =
        lead == RAFT_NONE ? n->ticks + LEADERLESS_ELECTIONS * (uint64_t)n->cfg.election_ticks : 0;
    n->host.resume_readers(n->host.priv);
}

static void check_role(repl_node *n)
{
    raft *r = n->r;
    int leading = raft_get_role(r) == RAFT_LEADER;
    if (n->lead_term && deposed(n)) lost_leadership(n);
    if (leading && !n->lead_term) {
        /* a transfer this node started when it led before is over */
        n->transfer_to = n->transfer_until = 0;
        n->lead_term = raft_get_term(r);
        n->lead_index = raft_last_index(r); /* its no-op */
        n->exec_last = 0;
    }
    uint64_t lead = raft_get_leader(r);
    if (lead != n->known_leader) {
        if (lead != RAFT_NONE) {
            if (n->last_leader && n->last_leader != lead) announce_switch(n, n->last_leader, lead);
            n->last_leader = lead;
        }
        n->known_leader = lead;
        leader_changed(n);
        const repl_peer *p = peer_of(n, lead);
        if (p)
            n->host.log(n->host.priv, LL_NOTICE, "Raft: node %llu (%s:%d) leads term %llu",
                        (unsigned long long)lead, p->host, p->port,
                        (unsigned long long)raft_get_term(r));
    }
}

/* Is index one of this leader's own batches (already executed here)? */
static int own_entry(const repl_node *n, const raft_entry *ent)
{
    return n->lead_term && ent->term == n->lead_term && ent->index <= n->exec_last;
}

static int apply_committed(repl_node *n, const raft_entry *ents, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const raft_entry *ent = &ents[i];
        if (ent->index > n->handed) n->handed = ent->index;
        if (ent->index <= n->applied) continue;
        if (ent->type == RAFT_ENTRY_NORMAL && !own_entry(n, ent) && apply_batch(n, ent, 0) != 0)
            return -1;
        n->applied = ent->index;
    }
    return 0;
}

/* ---- reads ---- */

static void note_read(repl_node *n, const raft_read_state *rs)
{
    if (rs->ctx & ROUND_BIT) {
        for (size_t i = 0; i < n->nrounds; i++)
            if (n->rounds[i].ctx == rs->ctx && !n->rounds[i].index)
                n->rounds[i].index = rs->index ? rs->index : 1;
        return;
    }
    for (size_t i = 0; i < n->npend; i++)
        if (n->pend[i].epoch == rs->ctx) n->pend[i].read_wait = 0;
}

/* Serve the follower read rounds whose index is applied. */
static void serve_rounds(repl_node *n)
{
    uint64_t served = n->read_served;
    size_t keep = 0;
    for (size_t i = 0; i < n->nrounds; i++) {
        round *rd = &n->rounds[i];
        if (rd->index && rd->index <= n->applied) {
            uint64_t t = rd->ctx & ~ROUND_BIT;
            if (t > served) served = t;
        } else {
            n->rounds[keep++] = *rd;
        }
    }
    n->nrounds = keep;
    if (served != n->read_served) {
        n->read_served = served;
        n->host.resume_readers(n->host.priv);
    }
}

static int64_t mono_us(const repl_node *n)
{
    return n->host.clock_us ? n->host.clock_us(n->host.priv) : clock_mono_us();
}

/* With leases, the core's lease clock catches up to real time before it
 * confirms reads: the host's timer skips the ticks a stalled process
 * missed, and a loop resumed from a stall reads its sockets before it
 * runs its timers.  One clock reading per batch of reads. */
static void lease_clock(repl_node *n)
{
    if (n->cfg.reads != REPL_READS_LEASE || n->cfg.tick_ms <= 0) return;
    int64_t us = mono_us(n) - n->born_us;
    if (us > 0) raft_clock(n->r, (uint64_t)us / ((uint64_t)n->cfg.tick_ms * 1000));
}

/* A read round; a leader with a lease may confirm it at once. */
static int read_index(repl_node *n, uint64_t ctx)
{
    if (n->cfg.reads == REPL_READS_LEASE && raft_get_role(n->r) == RAFT_LEADER) lease_clock(n);
    return raft_read_index(n->r, ctx);
}

static void ask_round(repl_node *n)
{
    uint64_t ctx = n->round_next | ROUND_BIT;
    if (read_index(n, ctx) != RAFT_OK) return; /* retried on a tick */
    if (n->nrounds == n->rounds_cap) {
        n->rounds_cap = n->rounds_cap ? n->rounds_cap * 2 : 8;
        n->rounds = cm_realloc(n->rounds, n->rounds_cap * sizeof(round));
    }
    n->rounds[n->nrounds++] = (round){ctx, 0, n->ticks};
    n->round_next++;
    n->round_wanted = 0;
}

/* ---- snapshots ---- */

/* The snapshot in storage becomes the engine's dataset: its address book
 * joins this node's (told to the host if announce), its keyspace replaces
 * the engine's.  Returns 0, or -1 with a message. */
static int load_snapshot(repl_node *n, int announce, char *err, size_t errlen)
{
    const raft_snapshot_meta *m = rstore_snapshot(n->st);
    uint8_t book[MEMBERS_BOOK_MAX];
    size_t len = m->size < sizeof(book) ? (size_t)m->size : sizeof(book), used;
    if (rstore_snapshot_read(n->st, 0, book, len) != 0 ||
        members_decode_book(book, len, &n->cfg, &m->conf, &used) != 0) {
        snprintf(err, errlen, "the snapshot at %llu has no address book",
                 (unsigned long long)m->index);
        return -1;
    }
    for (size_t i = 0; announce && i < n->cfg.n_peers; i++)
        if (n->cfg.peers[i].id != n->cfg.id && n->host.set_peer)
            n->host.set_peer(n->host.priv, n->cfg.peers[i].id, n->cfg.peers[i].host,
                             n->cfg.peers[i].port);
    uint64_t sessions;
    if (csession_load(&n->sessions, n->st, used, &sessions, err, errlen) != 0) return -1;
    return image_load(n->e, &n->loader, &n->loader_out, n->st, used + sessions, n->state_tmp, err,
                      errlen);
}

/* Step 1 for a snapshot arriving from the leader: its chunks go to the
 * storage's temporary file, and the last one makes it the node's. */
static int persist_snapshot(repl_node *n, const raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_snap_chunks; i++) {
        const raft_msg *c = &rd->snap_chunks[i];
        if (c->offset == 0) {
            if (!c->conf) return -1;
            raft_snapshot_meta m = {c->index, c->log_term, c->size, *c->conf};
            if (rstore_snapshot_begin(n->st, &m) != 0) return -1;
        }
        if (c->data_len && rstore_snapshot_write(n->st, c->data, c->data_len) != 0) return -1;
    }
    return rd->snapshot ? rstore_snapshot_finish(n->st) : 0;
}

/* Step 3: the received snapshot replaces the dataset. */
static int install_snapshot(repl_node *n, const raft_snapshot_meta *m)
{
    n->host.log(n->host.priv, LL_NOTICE,
                "Raft: installing the snapshot at %llu (%llu bytes) received from the leader",
                (unsigned long long)m->index, (unsigned long long)m->size);
    char err[512];
    if (load_snapshot(n, 1, err, sizeof(err)) != 0) {
        fail(n, "Raft: %s: the node stops", err);
        return -1;
    }
    n->applied = n->handed = m->index;
    n->snaps_installed++;
    return 0;
}

/* A chunk the core asked to send is read from this node's snapshot; if
 * that is no longer the one the core meant, the message is dropped (the
 * core starts over with the new one). */
static int fill_chunk(repl_node *n, const raft_msg *m, raft_msg *out, uint8_t **buf)
{
    *out = *m;
    if (m->type != RAFT_MSG_SNAP || m->data || !m->data_len) return 0;
    const raft_snapshot_meta *snap = rstore_snapshot(n->st);
    if (snap->index != m->index) return -1;
    *buf = cm_malloc(m->data_len);
    if (rstore_snapshot_read(n->st, m->offset, *buf, m->data_len) != 0) return -1;
    out->data = *buf;
    return 0;
}

/* In the child: the snapshot file, as the parent was at the fork. */
static int write_snapshot(repl_node *n, raft_snapshot_meta *m)
{
    char err[512] = "";
    int fd = rstore_bg_create(n->st);
    if (fd < 0) {
        n->host.log(n->host.priv, LL_WARNING, "Raft: creating the snapshot file: %s",
                    strerror(errno));
        return -1;
    }
    dstr prefix = members_encode_book(dstr_with_cap(256), &n->cfg);
    prefix = csession_encode(prefix, n->sessions);
    int rc = write_all(fd, prefix, dstr_len(prefix), NULL);
    if (rc != 0) snprintf(err, sizeof(err), "%s", strerror(errno));
    if (rc == 0) rc = image_write(n->e, fd, err, sizeof(err));
    if (rc == 0 && (rc = rstore_bg_seal(n->st, fd, m)) != 0)
        snprintf(err, sizeof(err), "sealing: %s", strerror(errno));
    close(fd);
    dstr_free(prefix);
    if (rc != 0) n->host.log(n->host.priv, LL_WARNING, "Raft: writing the snapshot: %s", err);
    return rc;
}

static void snapshot_failed(repl_node *n, const char *why)
{
    n->snaps_failed++;
    n->snap_wanted = 1;
    n->snap_retry = n->ticks + SNAP_RETRY_ELECTIONS * (uint64_t)n->cfg.election_ticks;
    n->host.log(n->host.priv, LL_WARNING,
                "Raft: the snapshot at %llu failed (%s); the previous one is kept, trying again "
                "later",
                (unsigned long long)n->snap_meta.index, why);
}

static void finish_snapshot(repl_node *n, int ok, int sig);

/* Fork a child that writes the snapshot at the applied index (or write it
 * here, if the node may not fork). */
static void start_snapshot(repl_node *n)
{
    raft_snapshot_meta m;
    if (n->applied <= rstore_snapshot(n->st)->index ||
        raft_snapshot_meta_at(n->r, n->applied, &m) != RAFT_OK)
        return;
    n->snap_meta = m;
    n->snap_start_us = clock_mono_us();
    rstore_roll(n->st);
    if (!n->cfg.can_fork) {
        finish_snapshot(n, write_snapshot(n, &m) == 0, 0);
        return;
    }
    pid_t pid = child_fork(n->e);
    if (pid == 0) _exit(write_snapshot(n, &m) == 0 ? 0 : 1);
    if (pid < 0) {
        char why[128];
        snprintf(why, sizeof(why), "fork: %s", strerror(errno));
        snapshot_failed(n, why);
        return;
    }
    n->snap_child = pid;
    n->host.log(n->host.priv, LL_NOTICE, "Raft: snapshot at %llu started by pid %d",
                (unsigned long long)m.index, (int)pid);
}

/* The child ended: its snapshot becomes the node's and the log behind it
 * goes -- unless a newer snapshot came from the leader meanwhile. */
static void finish_snapshot(repl_node *n, int ok, int sig)
{
    n->snap_child = 0;
    n->snap_last_us = clock_mono_us() - n->snap_start_us;
    if (!ok) {
        char why[64];
        snprintf(why, sizeof(why), sig ? "its process was killed by signal %d" : "see above", sig);
        rstore_bg_discard(n->st);
        snapshot_failed(n, why);
        return;
    }
    raft_snapshot_meta *m = &n->snap_meta;
    /* A snapshot from the leader may be in the core already and reach
     * the storage only with the next Ready (a tick comes between a
     * message and the flush): it covers this one, which goes. */
    int rc = RSTORE_BG_STALE;
    if (raft_get_snapshot(n->r)->index >= m->index)
        rstore_bg_discard(n->st);
    else
        rc = rstore_bg_adopt(n->st, m);
    if (rc == RSTORE_BG_STALE) {
        n->host.log(n->host.priv, LL_NOTICE,
                    "Raft: snapshot at %llu dropped: a newer one came from the leader meanwhile",
                    (unsigned long long)m->index);
        return;
    }
    if (rc == RSTORE_BG_BAD) {
        snapshot_failed(n, "its file is not the snapshot expected, or could not be renamed");
        return;
    }
    if (rc != RSTORE_BG_ADOPTED) {
        fail(n,
             "Raft log storage failed (%s; adopting the snapshot at %llu term %llu, stored up "
             "to %llu): the node stops (restart it from its directory)",
             strerror(errno), (unsigned long long)m->index, (unsigned long long)m->term,
             (unsigned long long)rstore_last_index(n->st));
        return;
    }
    if (raft_compact(n->r, m->index, m->size) != RAFT_OK) {
        fail(n, "Raft: the core refused to compact its log at %llu", (unsigned long long)m->index);
        return;
    }
    n->snaps_taken++;
    n->host.log(n->host.priv, LL_NOTICE,
                "Raft: snapshot at %llu (%llu bytes, %lld ms); log compacted",
                (unsigned long long)m->index, (unsigned long long)m->size,
                (long long)(n->snap_last_us / 1000));
}

static void poll_snapshot(repl_node *n)
{
    int ok, sig;
    if (n->snap_child && child_poll(n->snap_child, &ok, &sig)) finish_snapshot(n, ok, sig);
}

static void end_hold(repl_node *n)
{
    if (!n->snap_hold) return;
    n->snap_hold = 0;
    n->host.resume_readers(n->host.priv);
}

/* The engine holds exactly the applied entries unless this node leads and
 * executed writes that are not committed yet: a snapshot waits for that,
 * and a leader stops letting clients in until it comes (a round trip),
 * for at most an election timeout at a time. */
static void maybe_snapshot(repl_node *n)
{
    /* one at a time; after a failure, not at once */
    if (!n->snap_wanted || n->failed || n->snap_child || n->ticks < n->snap_retry) return;
    int quiet = !dstr_len(n->batch) && n->exec_last <= n->applied;
    if (!quiet) {
        if (!n->lead_term) return;
        if (!n->snap_hold && n->ticks >= n->hold_next) {
            n->snap_hold = 1;
            n->hold_until = n->ticks + (uint64_t)n->cfg.election_ticks;
        } else if (n->snap_hold && n->ticks >= n->hold_until) {
            end_hold(n);
            n->hold_next = n->ticks + 4 * (uint64_t)n->cfg.election_ticks;
        }
        return;
    }
    n->snap_wanted = 0;
    start_snapshot(n);
    end_hold(n);
}

/* ---- leadership transfer ---- */

/* Clients held for the transfer run again, as the role they find says. */
static void end_transfer(repl_node *n)
{
    n->transfer_to = n->transfer_until = 0;
    update_engine(n);
    n->host.resume_readers(n->host.priv);
}

/* Hand over once every reply this leader holds is released: all it
 * executed is committed and all it read confirmed, so no client of its
 * waits on an entry the new leader might not have, and none gets an
 * error.  New commands are held meanwhile (a round trip). */
static void start_transfer(repl_node *n)
{
    if (!n->transfer_to || !leader_ready(n) || dstr_len(n->batch) || n->npend) return;
    uint64_t to = n->transfer_to;
    n->transfer_to = 0;
    if (raft_transfer_leader(n->r, to) != RAFT_OK) {
        n->host.log(n->host.priv, LL_WARNING, "Raft: leadership transfer to node %llu refused",
                    (unsigned long long)to);
        end_transfer(n);
    }
}

/* ---- the Ready loop ---- */

/* A cut log: what the held messages acknowledge may never reach the
 * disk (the next fsync covers the log as it is now). */
static void drop_held(repl_node *n) { dstr_set_len(n->held, 0); }

/* The hard state as it may be saved: recovery refuses a commit index past
 * the durable log. */
static raft_hard_state hs_to_save(const repl_node *n, raft_hard_state hs)
{
    uint64_t durable = raft_get_durable(n->r);
    if (hs.commit > durable) hs.commit = durable;
    return hs;
}

static int persist_ready(repl_node *n, const raft_ready *rd)
{
    if (rd->snapshot) drop_held(n);
    if ((rd->n_snap_chunks || rd->snapshot) && persist_snapshot(n, rd) != 0) return -1;
    if (rd->n_entries) {
        if (rd->entries[0].index <= rstore_last_index(n->st)) drop_held(n);
        if (rstore_append(n->st, rd->entries, rd->n_entries) != 0) return -1;
        n->wseq++;
        if (!n->async && rstore_sync(n->st) != 0) return -1;
    }
    /* Term and vote are promises: durable before any message goes out.
     * A commit index alone may lag on disk (it is learnt again). */
    if (rd->hs_changed && (rd->hs.term != n->saved_hs.term || rd->hs.vote != n->saved_hs.vote)) {
        raft_hard_state hs = hs_to_save(n, rd->hs);
        if (rstore_set_hard_state(n->st, &hs) != 0) return -1;
        n->saved_hs = hs;
        n->hs_saved_tick = n->ticks;
    }
    return 0;
}

static void resolve(repl_node *n)
{
    uint64_t commit = raft_get_commit(n->r);
    for (size_t i = 0; i < n->npend; i++) {
        pending *p = &n->pend[i];
        if (p->index && !p->committed && p->index <= commit && p->index <= n->handed &&
            raft_term_at(n->r, p->index) == p->term)
            p->committed = 1;
    }
    size_t done = 0;
    while (done < n->npend && (!n->pend[done].index || n->pend[done].committed) &&
           !n->pend[done].read_wait)
        done++;
    if (done) {
        memmove(n->pend, n->pend + done, (n->npend - done) * sizeof(pending));
        n->npend -= done;
    }
}

/* An acknowledgement of appends goes out once every append so far is
 * durable: until then it waits in held.  Nothing else rests on the log's
 * fsync (term and vote are synced as they change; a rejection or a vote
 * cast on entries not synced yet is only more careful than one cast on
 * the synced log), so heartbeats and read rounds do not wait for it. */
static int must_hold(const repl_node *n, const raft_ready *rd, const raft_msg *m)
{
    return n->async && !rd->send_early && n->sseq < n->wseq && m->type == RAFT_MSG_APP_RESP &&
           !m->reject;
}

static void send_msgs(repl_node *n, const raft_ready *rd)
{
    if (!rd->n_msgs) return;
    int sent = 0;
    dstr buf = dstr_with_cap(256);
    for (size_t i = 0; i < rd->n_msgs; i++) {
        raft_msg m;
        uint8_t *chunk = NULL;
        if (fill_chunk(n, &rd->msgs[i], &m, &chunk) == 0) {
            dstr_set_len(buf, 0);
            buf = wire_encode(buf, &m);
            if (must_hold(n, rd, &m)) {
                held_hdr h = {n->wseq, m.to, dstr_len(buf)};
                n->held = dstr_cat(n->held, &h, sizeof(h));
                n->held = dstr_cat(n->held, buf, dstr_len(buf));
            } else {
                n->host.send(n->host.priv, m.to, buf, dstr_len(buf));
                sent = 1;
            }
        }
        cm_free(chunk);
    }
    dstr_free(buf);
    if (sent) n->host.send_done(n->host.priv);
}

/* The held messages whose appends are now durable go out, in order. */
static void release_held(repl_node *n)
{
    size_t len = dstr_len(n->held), off = 0;
    held_hdr h;
    while (off < len && (memcpy(&h, n->held + off, sizeof(h)), h.need <= n->sseq)) {
        n->host.send(n->host.priv, h.to, n->held + off + sizeof(h), h.len);
        off += sizeof(h) + h.len;
    }
    if (!off) return;
    memmove(n->held, n->held + off, len - off);
    dstr_set_len(n->held, len - off);
    n->host.send_done(n->host.priv);
}

/* A completed fsync (rc, errno err): what it covers is durable.  Returns
 * 0, or -1 once the node stopped. */
static int sync_done(repl_node *n, int rc, int err)
{
    if (rc != 0) {
        fail(n, "Raft log fsync failed: %s: the node stops (restart it from its directory)",
             strerror(err));
        return -1;
    }
    n->sseq = n->sync_seq;
    release_held(n);
    raft_persisted(n->r, n->sync_index, n->sync_term);
    return 0;
}

/* One fsync at a time, on the host's thread: it covers every append made
 * so far (and the entry at sync_index, if the log still holds it, tells
 * the core how far).  Run here, now, if the host says so
 * (host.sync_inline: fsyncs are fast and its loop has nothing else
 * waiting): handing it to another thread and hearing back then costs more
 * than the loop loses.  Returns 1 if it ran here (the core may have more
 * to do). */
static int start_sync(repl_node *n)
{
    if (!n->async || n->sync_on || n->failed || n->sseq == n->wseq) return 0;
    n->sync_seq = n->wseq;
    n->sync_index = rstore_last_index(n->st);
    n->sync_term = raft_term_at(n->r, n->sync_index);
    if (n->host.sync_inline && n->host.sync_inline(n->host.priv, n->sync_us)) {
        int64_t t0 = clock_mono_us();
        int rc = rstore_sync(n->st), err = errno;
        n->sync_us = clock_mono_us() - t0;
        return sync_done(n, rc, err) == 0;
    }
    if (rstore_sync_begin(n->st, &n->job) != 0) {
        fail(n, "Raft log storage failed: the node stops (restart it from its directory)");
        return 0;
    }
    n->sync_on = 1;
    n->host.sync_start(n->host.priv);
    return 0;
}

static void run_ready(repl_node *n)
{
    raft_ready rd;
    while (!n->failed && raft_ready_get(n->r, &rd)) {
        /* A leader's appends go out before its own fsync: the followers
         * write while it does. */
        if (rd.send_early) send_msgs(n, &rd);
        if (persist_ready(n, &rd) != 0) {
            /* what the log stood at says which write was refused */
            int err = errno;
            fail(n,
                 "Raft log storage failed (%s; entries from %llu, stored up to %llu, snapshot "
                 "at %llu): the node stops (restart it from its directory)",
                 strerror(err), (unsigned long long)(rd.n_entries ? rd.entries[0].index : 0),
                 (unsigned long long)rstore_last_index(n->st),
                 (unsigned long long)rstore_snapshot(n->st)->index);
            return;
        }
        check_role(n);
        if (!rd.send_early) send_msgs(n, &rd);
        if (rd.snapshot && install_snapshot(n, rd.snapshot) != 0) return;
        if (apply_committed(n, rd.committed, rd.n_committed) != 0) return;
        if (rd.compact_index) n->snap_wanted = 1;
        for (size_t i = 0; i < rd.n_reads; i++)
            note_read(n, &rd.reads[i]);
        raft_advance(n->r);
        check_role(n);
    }
    resolve(n);
    serve_rounds(n);
    maybe_snapshot(n);
    start_transfer(n);
    update_engine(n);
}

static void process_ready(repl_node *n)
{
    int was_ready = leader_ready(n);
    do
        run_ready(n);
    while (start_sync(n));
    raft_hold_commit(n->r, 1); /* released by the next tick */
    /* clients held until this leader applied its term's first entry */
    if (!was_ready && leader_ready(n)) n->host.resume_readers(n->host.priv);
}

/* ---- the host's calls ---- */

repl_node *repl_node_open(cairn_engine *e, const repl_node_config *cfg, const char *dir,
                          const repl_host *host, uint64_t seed, char *err, size_t errlen)
{
    repl_node *n = cm_calloc(1, sizeof(*n));
    n->e = e;
    n->cfg = *cfg;
    n->host = *host;
    n->epoch = 1;
    n->round_next = 1;
    n->batch = dstr_with_cap(4096);
    n->held = dstr_with_cap(256);
    n->async = host->sync_start != NULL;
    n->dir = dstr_from_cstr(dir);
    n->state_tmp = path_join(dir, "state.tmp");
    session_init(e, &n->loader);
    rbuf_init(&n->loader_out, 2);
    if (csession_reset(&n->sessions) != 0) {
        snprintf(err, errlen, "Raft: out of memory for the client session table");
        repl_node_free(n);
        return NULL;
    }
    if (rstore_open(dir, SEGMENT_BYTES, &n->st, err, errlen) != 0) {
        repl_node_free(n);
        return NULL;
    }
    raft_config rc = {
        .id = cfg->id,
        .election_ticks = cfg->election_ticks,
        .heartbeat_ticks = cfg->heartbeat_ticks,
        .pre_vote = 1,
        .check_quorum = 1,
        .max_inflight_msgs = 256,
        .max_inflight_bytes = 64u << 20,
        .max_msg_bytes = 1u << 20,
        .snapshot_entries = cfg->snapshot_entries,
        .snapshot_bytes = cfg->snapshot_bytes,
        .snapshot_chunk_bytes = 1u << 20,
        .snapshot_inflight = 8,
        .lease_ticks = cfg->reads == REPL_READS_LEASE ? cfg->lease_ticks : 0,
        .seed = seed,
        .persist_async = n->async,
    };
    /* a joining node is a learner of the group it was told about, until
     * the leader's log or snapshot says what the group is */
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].id != cfg->id || !cfg->joining) rc.peers[rc.n_peers++] = cfg->peers[i].id;
    if (cfg->joining) rc.learners[rc.n_learners++] = cfg->id;
    size_t nents;
    const raft_entry *ents = rstore_entries(n->st, &nents);
    const raft_snapshot_meta *snap = rstore_snapshot(n->st);
    n->saved_hs = *rstore_hard_state(n->st);
    if (snap->index && load_snapshot(n, 0, err, errlen) != 0) {
        repl_node_free(n);
        return NULL;
    }
    n->born_us = mono_us(n);
    n->r = raft_new_from(&rc, snap->index ? snap : NULL, &n->saved_hs, ents, nents);
    rstore_release_recovered(n->st);
    if (!n->r) {
        snprintf(err, errlen, "Raft: the recovered log of %s is inconsistent", dir);
        repl_node_free(n);
        return NULL;
    }
    raft_hold_commit(n->r, 1); /* see repl_node_tick */
    n->applied = n->handed = snap->index;
    n->recovered = raft_last_index(n->r);
    if (n->recovered)
        host->log(host->priv, LL_NOTICE,
                  "Raft: recovered the snapshot at %llu and the log up to %llu",
                  (unsigned long long)snap->index, (unsigned long long)n->recovered);
    /* a (re)started node's clients wait for it to hear from a leader */
    n->leaderless_until = LEADERLESS_ELECTIONS * (uint64_t)cfg->election_ticks;
    e->log_publish = 1;
    engine_set_log_sink(e, sink, n);
    update_engine(n);
    return n;
}

void repl_node_free(repl_node *n)
{
    if (!n) return;
    if (n->snap_child) {
        child_stop(n->snap_child);
        rstore_bg_discard(n->st);
    }
    if (n->r) {
        engine_set_log_sink(n->e, NULL, NULL);
        n->e->log_publish = 0;
    }
    session_reset(&n->loader);
    rbuf_free(&n->loader_out);
    raft_free(n->r);
    if (n->st) rstore_close(n->st);
    dstr_free(n->batch);
    dstr_free(n->held);
    session_table_free(n->sessions);
    dstr_free(n->dir);
    dstr_free(n->state_tmp);
    cm_free(n->pend);
    cm_free(n->rounds);
    cm_free(n);
}

void repl_node_tick(repl_node *n)
{
    if (n->failed) return;
    n->ticks++;
    poll_snapshot(n);
    if (n->failed) return;
    raft_tick(n->r);
    /* Followers learn a new commit index from the next append (under
     * writes, one per fsync) or a read's answer; alone, once per tick at
     * most: an append of its own wakes every follower, which is most of
     * what a write costs it. */
    raft_hold_commit(n->r, 0);
    if (n->ticks % 10 == 0) promote_learners(n);
    for (size_t i = 0; i < n->nrounds; i++)
        if (!n->rounds[i].index && n->ticks - n->rounds[i].asked >= ROUND_RETRY_TICKS) {
            n->rounds[i].asked = n->ticks;
            read_index(n, n->rounds[i].ctx);
        }
    if (n->round_wanted) ask_round(n);
    if (n->transfer_until && !transferring(n)) {
        n->host.log(n->host.priv, LL_WARNING,
                    "Raft: leadership transfer given up (the target did not take over)");
        end_transfer(n); /* carry on as leader, or as the role found */
    }
    if (n->leaderless_until && n->ticks >= n->leaderless_until) {
        n->leaderless_until = 0; /* no leader still: -CLUSTERDOWN */
        n->host.resume_readers(n->host.priv);
    }
    raft_hard_state hs = hs_to_save(
        n, (raft_hard_state){raft_get_term(n->r), n->saved_hs.vote, raft_get_commit(n->r)});
    if (hs.term == n->saved_hs.term && hs.commit != n->saved_hs.commit &&
        n->ticks - n->hs_saved_tick >= HS_SAVE_TICKS) {
        n->hs_saved_tick = n->ticks;
        if (rstore_set_hard_state(n->st, &hs) != 0) {
            fail(n, "Raft hard state could not be saved: the node stops");
            return;
        }
        n->saved_hs = hs;
    }
}

/* What the followers' logs hold, summed: it grows as they acknowledge. */
static uint64_t match_sum(const repl_node *n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n->cfg.n_peers; i++)
        if (n->cfg.peers[i].id != n->cfg.id) sum += raft_get_match(n->r, n->cfg.peers[i].id);
    return sum;
}

int repl_node_receive(repl_node *n, const char *data, size_t len)
{
    raft_msg m;
    if (wire_decode(data, len, &m) != 0) return -1;
    if (!n->failed && m.to == n->cfg.id && peer_of(n, m.from)) {
        /* clients in WAIT run again once a replica acknowledged more */
        int waits = n->e->nsig && raft_get_role(n->r) == RAFT_LEADER;
        uint64_t before = waits ? match_sum(n) : 0;
        if (m.type == RAFT_MSG_READ_INDEX) lease_clock(n);
        raft_step(n->r, &m);
        if (waits && raft_get_role(n->r) == RAFT_LEADER && match_sum(n) != before)
            signal_waiters(n->e);
        /* A follower's commands that run before this loop iteration ends
         * see the leader the message made known, or none (then they wait
         * for one rather than find no leader to forward to).  A leader's
         * loss waits for the flush (it may rebuild the dataset, not to be
         * done inside a command). */
        if (!n->lead_term && raft_get_leader(n->r) != n->known_leader) {
            check_role(n);
            update_engine(n);
        }
    }
    raft_msg_free(&m);
    return 0;
}

static void push_pending(repl_node *n, pending p)
{
    if (n->npend == n->pend_cap) {
        n->pend_cap = n->pend_cap ? n->pend_cap * 2 : 16;
        n->pend = cm_realloc(n->pend, n->pend_cap * sizeof(pending));
    }
    n->pend[n->npend++] = p;
}

/* While the leader's own fsync runs, a new batch could not be durable here
 * before the next fsync anyway: the epoch stays open (later commands join
 * it) and is proposed as that fsync completes.  One entry per fsync, not
 * one per loop iteration: fewer appends, messages, writes and fsyncs on
 * every node for the same writes -- the nodes share the CPU, so that is
 * also what keeps latency down.  A batch past BATCH_HOLD_BYTES goes at
 * once (a stalled disk must not grow one entry without bound). */
static int batch_waits(const repl_node *n)
{
    return n->sync_on && dstr_len(n->batch) < BATCH_HOLD_BYTES;
}

void repl_node_flush(repl_node *n)
{
    if (n->failed) return;
    /* Messages that arrived may have changed the role: a deposed leader
     * must not propose what it executed. */
    check_role(n);
    if (dstr_len(n->batch) && n->lead_term && batch_waits(n)) {
        process_ready(n);
        return;
    }
    if (dstr_len(n->batch) && n->lead_term) {
        uint64_t index, term;
        int rc = raft_propose(n->r, n->batch, dstr_len(n->batch), &index, &term);
        if (rc == RAFT_OK) {
            push_pending(n, (pending){n->epoch, index, term, 0, 0});
            n->exec_last = index;
            dstr_set_len(n->batch, 0);
        } else if (rc == RAFT_ERR_BUSY) {
            /* A leadership transfer: the epoch stays open (its clients
             * wait, later ones join it) until the core takes the batch or
             * this leadership ends. */
            process_ready(n);
            return;
        } else {
            lost_leadership(n);
        }
    } else if (n->observed && leader_ready(n) && n->cfg.reads != REPL_READS_LOCAL) {
        if (read_index(n, n->epoch) == RAFT_OK)
            push_pending(n, (pending){n->epoch, 0, 0, 0, 1});
        else
            n->host.abort_waiting(n->host.priv);
    }
    if (n->round_wanted) ask_round(n);
    n->observed = 0;
    n->epoch++;
    process_ready(n);
}

void repl_node_sync_run(repl_node *n)
{
    int64_t t0 = clock_mono_us();
    rstore_sync_run(&n->job);
    n->sync_us = clock_mono_us() - t0;
}

void repl_node_synced(repl_node *n, int go_on)
{
    n->sync_on = 0;
    int rc = rstore_sync_end(n->st, &n->job), err = errno;
    if (!go_on || n->failed || sync_done(n, rc, err) != 0) return;
    /* the batch held for this fsync (batch_waits) goes now */
    if (dstr_len(n->batch) && n->lead_term)
        repl_node_flush(n);
    else
        process_ready(n);
}

uint64_t repl_node_appended(repl_node *n) { return n->epoch; }

uint64_t repl_node_observed(repl_node *n)
{
    n->observed = 1;
    return n->epoch;
}

uint64_t repl_node_durable(repl_node *n) { return n->npend ? n->pend[0].epoch - 1 : n->epoch - 1; }

int repl_node_admit(repl_node *n, uint64_t *ticket)
{
    uint64_t lead = raft_get_leader(n->r);
    /* Held: a ticket as a follower's, so that once leadership is lost the
     * client waits for a read round like any other. */
    if (holding(n)) {
        if (!*ticket) {
            *ticket = n->round_next;
            n->round_wanted = 1;
        }
        return 0;
    }
    if (*ticket) {
        if (*ticket > n->read_served && lead != RAFT_NONE && lead != n->cfg.id && !n->failed) {
            /* Let through while there was no leader, it finds one again
             * before it runs: the round it waited for was dropped, ask
             * another. */
            if (*ticket <= n->round_floor) {
                *ticket = n->round_next;
                n->round_wanted = 1;
            }
            return 0;
        }
        *ticket = 0;
        return 1;
    }
    /* A leader confirms its reads after running them (epochs); with no
     * leader known the engine refuses data commands. */
    if (n->lead_term || n->failed || lead == RAFT_NONE || lead == n->cfg.id ||
        n->cfg.reads == REPL_READS_LOCAL)
        return 1;
    *ticket = n->round_next;
    n->round_wanted = 1;
    return 0;
}

int repl_node_ticket_ready(const repl_node *n, uint64_t ticket)
{
    return ticket && ticket <= n->read_served;
}

const repl_node_config *repl_node_config_of(const repl_node *n) { return &n->cfg; }

const repl_peer *repl_node_leader(const repl_node *n)
{
    uint64_t lead = raft_get_leader(n->r);
    return lead == n->cfg.id ? NULL : peer_of(n, lead);
}

const repl_peer *repl_node_leader_addr(const repl_node *n)
{
    uint64_t lead = raft_get_leader(n->r);
    return lead == RAFT_NONE ? NULL : peer_of(n, lead);
}

raft *repl_node_raft(repl_node *n) { return n->r; }

session_table *repl_node_sessions(repl_node *n) { return n->sessions; }

/* ---- commands ---- */

static void raft_msg_command(repl_node *n, cmd_call *c)
{
    if (c->argc != 4) {
        reply_error(c->out, "ERR wrong number of arguments for 'raft|msg' command");
        return;
    }
    size_t sl = strlen(n->cfg.secret);
    if (c->argv[2].len != sl || memcmp(c->argv[2].ptr, n->cfg.secret, sl) != 0) {
        reply_error(c->out, "NOAUTH raft-secret does not match");
        return;
    }
    c->s->flags |= SESS_REPL_PEER;
    if (repl_node_receive(n, c->argv[3].ptr, c->argv[3].len) != 0) {
        reply_error(c->out, "ERR malformed Raft message");
        return;
    }
    reply_ok(c->out);
}

/* Begin handing leadership to node to: new commands wait from now on;
 * what ran before is proposed at the end of this loop iteration, and the
 * core is asked once every reply is released (start_transfer()). */
static int begin_transfer(repl_node *n, uint64_t to)
{
    if (raft_get_role(n->r) != RAFT_LEADER) return RAFT_ERR_NOT_LEADER;
    raft_conf conf;
    raft_get_conf(n->r, &conf);
    if (to == n->cfg.id || !raft_conf_has_voter(&conf, to)) return RAFT_ERR_INVALID;
    n->transfer_to = to;
    n->transfer_until = n->ticks + TRANSFER_ELECTIONS * (uint64_t)n->cfg.election_ticks;
    return RAFT_OK;
}

/* FAILOVER's view: this leader is handing over. */
static int failing_over(const repl_node *n)
{
    return raft_get_role(n->r) == RAFT_LEADER && transferring(n);
}

static void raft_transfer_command(repl_node *n, cmd_call *c)
{
    long long to;
    if (c->argc != 3 || !arg_ll(c, 2, &to)) {
        if (c->argc != 3) reply_syntax_error(c);
        return;
    }
    if (!peer_of(n, (uint64_t)to)) {
        reply_error(c->out, "ERR no such node in raft-peers");
        return;
    }
    int rc = begin_transfer(n, (uint64_t)to);
    if (rc == RAFT_ERR_NOT_LEADER)
        reply_error(c->out, "ERR this node is not the leader");
    else if (rc != RAFT_OK)
        reply_error(c->out, "ERR leadership transfer refused");
    else
        reply_ok(c->out);
}

/* Who takes over from this leader: the voter at host:port, or (host "")
 * the most up-to-date voter it hears from; NULL if none. */
static const repl_peer *successor(repl_node *n, const char *host, int port)
{
    const repl_peer *mem[RAFT_MAX_PEERS];
    int voter[RAFT_MAX_PEERS];
    size_t k = members_of(n, mem, voter);
    const repl_peer *to = NULL;
    for (size_t i = 0; i < k; i++) {
        const repl_peer *p = mem[i];
        if (p->id == n->cfg.id || !voter[i]) continue;
        if (host[0] ? !strcmp(p->host, host) && p->port == port
                    : peer_up(n, p->id) &&
                          (!to || raft_get_match(n->r, p->id) > raft_get_match(n->r, to->id)))
            to = p;
    }
    return to;
}

int repl_node_step_down(repl_node *n)
{
    if (raft_get_role(n->r) != RAFT_LEADER || transferring(n)) return 0;
    const repl_peer *to = successor(n, "", 0);
    if (!to || begin_transfer(n, to->id) != RAFT_OK) return 0;
    n->host.log(n->host.priv, LL_NOTICE,
                "Raft: handing leadership to node %llu (%s:%d) before shutting down",
                (unsigned long long)to->id, to->host, to->port);
    return 1;
}

int repl_node_handing_over(const repl_node *n) { return failing_over(n); }

/* FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], Redis 6.2's
 * coordinated failover, as a leadership transfer: to the replica named,
 * else to the most up-to-date one the leader hears from.  Raft hands over
 * only to a node holding every entry, which is what FORCE and TIMEOUT
 * wait for in Redis; a transfer cannot be aborted once started (it ends
 * within two election timeouts, won or abandoned). */
static void failover_command(repl_node *n, cmd_call *c)
{
    char host[64] = "";
    long long port = 0, timeout = 0;
    int force = 0, abort = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "to") && i + 2 < c->argc) {
            arg_cstr(c, i + 1, host, sizeof(host));
            if (!arg_ll(c, i + 2, &port)) return;
            i += 2;
        } else if (arg_is(c, i, "force")) {
            force = 1;
        } else if (arg_is(c, i, "abort") && c->argc == 2) {
            abort = 1;
        } else if (arg_is(c, i, "timeout") && i + 1 < c->argc) {
            if (!arg_ll(c, ++i, &timeout)) return;
            if (timeout <= 0) {
                reply_error(c->out, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (force && (!timeout || !host[0])) {
        reply_error(c->out, "ERR FAILOVER with force option requires both a timeout and target "
                            "HOST and IP.");
        return;
    }
    if (raft_get_role(n->r) != RAFT_LEADER) {
        reply_error(c->out, "ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    if (abort) {
        reply_error(c->out, failing_over(n) ? "ERR a leadership transfer cannot be aborted"
                                            : "ERR No failover in progress.");
        return;
    }
    if (failing_over(n)) {
        reply_error(c->out, "ERR FAILOVER already in progress.");
        return;
    }
    const repl_peer *to = successor(n, host, (int)port);
    if (!to) {
        reply_error(c->out, host[0] ? "ERR FAILOVER target HOST and PORT is not a replica."
                                    : "ERR FAILOVER requires connected replicas.");
        return;
    }
    if (begin_transfer(n, to->id) != RAFT_OK) {
        reply_error(c->out, "ERR leadership transfer refused");
        return;
    }
    n->host.log(n->host.priv, LL_NOTICE,
                "FAILOVER requested: handing leadership to node %llu (%s:%d)",
                (unsigned long long)to->id, to->host, to->port);
    reply_ok(c->out);
}

static int not_leader(repl_node *n, cmd_call *c)
{
    if (raft_get_role(n->r) == RAFT_LEADER) return 0;
    reply_error(c->out, "ERR this node is not the leader");
    return 1;
}

static void reply_conf_error(cmd_call *c, int rc)
{
    if (rc == RAFT_ERR_BUSY)
        reply_error(c->out, "TRYAGAIN another membership change is in progress");
    else if (rc == RAFT_ERR_NOT_LEADER)
        reply_error(c->out, "ERR this node is not the leader");
    else
        reply_error(c->out, "ERR membership change refused");
}

/* RAFT ADD-NODE id host:port: the address goes in the log, then the node
 * joins as a learner; the leader promotes it once it has caught up. */
static void raft_add_node_command(repl_node *n, cmd_call *c)
{
    long long id;
    repl_peer p;
    if (c->argc != 4) {
        reply_syntax_error(c);
        return;
    }
    if (!arg_ll(c, 2, &id)) return;
    if (id <= 0 || members_parse_addr(c->argv[3].ptr, c->argv[3].len, &p) != 0) {
        reply_error(c->out, "ERR invalid node id or address (id host:port)");
        return;
    }
    if (!members_host_ok(p.host)) {
        reply_errorf(c->out, "ERR '%s' is not an IP address or a host name", p.host);
        return;
    }
    if (not_leader(n, c)) return;
    p.id = (uint64_t)id;
    raft_conf conf;
    raft_get_conf(n->r, &conf);
    if (raft_conf_has_voter(&conf, p.id) || raft_conf_has_learner(&conf, p.id)) {
        reply_errorf(c->out, "ERR node %lld is already a member", id);
        return;
    }
    dstr ent = members_encode_entry(dstr_with_cap(96), &p);
    uint64_t index, term;
    int rc = raft_propose(n->r, ent, dstr_len(ent), &index, &term);
    dstr_free(ent);
    if (rc == RAFT_OK) {
        learn_address(n, &p);
        rc = raft_change_conf(n->r, RAFT_CONF_ADD_LEARNER, p.id, &index, &term);
    }
    if (rc != RAFT_OK) {
        reply_conf_error(c, rc);
        return;
    }
    n->host.log(n->host.priv, LL_NOTICE, "Raft: adding node %lld at %s:%d as a learner", id, p.host,
                p.port);
    reply_ok(c->out);
}

/* RAFT REMOVE-NODE id: a voter or a learner, this leader included (it
 * steps down once the change commits). */
static void raft_remove_node_command(repl_node *n, cmd_call *c)
{
    long long id;
    if (c->argc != 3) {
        reply_syntax_error(c);
        return;
    }
    if (!arg_ll(c, 2, &id)) return;
    if (not_leader(n, c)) return;
    raft_conf conf;
    raft_get_conf(n->r, &conf);
    if (id <= 0 || (!raft_conf_has_voter(&conf, (uint64_t)id) &&
                    !raft_conf_has_learner(&conf, (uint64_t)id))) {
        reply_errorf(c->out, "ERR node %lld is not a member", id);
        return;
    }
    if (raft_conf_has_voter(&conf, (uint64_t)id) && conf.n_voters == 1) {
        reply_error(c->out, "ERR cannot remove the last voter");
        return;
    }
    uint64_t index, term;
    int rc = raft_change_conf(n->r, RAFT_CONF_REMOVE, (uint64_t)id, &index, &term);
    if (rc != RAFT_OK) {
        reply_conf_error(c, rc);
        return;
    }
    n->host.log(n->host.priv, LL_NOTICE, "Raft: removing node %lld", id);
    reply_ok(c->out);
}

/* RAFT NODES: one map per member of the configuration in effect. */
static void raft_nodes_command(repl_node *n, cmd_call *c)
{
    const repl_peer *mem[RAFT_MAX_PEERS];
    int voter[RAFT_MAX_PEERS];
    size_t k = members_of(n, mem, voter);
    uint64_t lead = raft_get_leader(n->r);
    int leading = raft_get_role(n->r) == RAFT_LEADER;
    reply_array_len(c->out, (long)k);
    for (size_t i = 0; i < k; i++) {
        char addr[96];
        snprintf(addr, sizeof(addr), "%s:%d", mem[i]->host, mem[i]->port);
        uint64_t match = mem[i]->id == n->cfg.id ? raft_last_index(n->r)
                         : leading               ? raft_peer_match(n->r, mem[i]->id)
                                                 : 0;
        reply_map_len(c->out, 6);
        reply_bulk_cstr(c->out, "id");
        reply_int(c->out, (long long)mem[i]->id);
        reply_bulk_cstr(c->out, "addr");
        reply_bulk_cstr(c->out, addr);
        reply_bulk_cstr(c->out, "role");
        reply_bulk_cstr(c->out, voter[i] ? "voter" : "learner");
        reply_bulk_cstr(c->out, "leader");
        reply_int(c->out, mem[i]->id == lead);
        reply_bulk_cstr(c->out, "myself");
        reply_int(c->out, mem[i]->id == n->cfg.id);
        reply_bulk_cstr(c->out, "match");
        reply_int(c->out, (long long)match);
    }
}

static void role_command(repl_node *n, cmd_call *c)
{
    raft *r = n->r;
    if (raft_get_role(r) == RAFT_LEADER) {
        reply_array_len(c->out, 3);
        reply_bulk_cstr(c->out, "master");
        reply_int(c->out, (long long)raft_get_commit(r));
        const repl_peer *mem[RAFT_MAX_PEERS];
        size_t k = members_of(n, mem, NULL), others = 0;
        for (size_t i = 0; i < k; i++)
            others += mem[i]->id != n->cfg.id && peer_up(n, mem[i]->id);
        reply_array_len(c->out, (long)others);
        for (size_t i = 0; i < k; i++) {
            const repl_peer *p = mem[i];
            if (p->id == n->cfg.id || !peer_up(n, p->id)) continue;
            char port[16];
            snprintf(port, sizeof(port), "%d", p->port);
            reply_array_len(c->out, 3);
            reply_bulk_cstr(c->out, p->host);
            reply_bulk_cstr(c->out, port);
            char off[24];
            snprintf(off, sizeof(off), "%llu", (unsigned long long)raft_get_match(r, p->id));
            reply_bulk_cstr(c->out, off);
        }
        return;
    }
    const repl_peer *lead = peer_of(n, raft_get_leader(r));
    reply_array_len(c->out, 5);
    reply_bulk_cstr(c->out, "slave");
    reply_bulk_cstr(c->out, lead ? lead->host : "?");
    reply_int(c->out, lead ? lead->port : 0);
    reply_bulk_cstr(c->out, lead ? "connected" : "connect");
    reply_int(c->out, (long long)n->applied);
}

/* How many replicas hold the log up to index upto, counted so that it is
 * never more than the truth when the reply leaves: this reply, as every
 * reply, leaves only once everything the client did before is committed,
 * on a majority of the voters, so at least a quorum less the leader hold
 * it then. */
static long long wait_acked(repl_node *n, uint64_t upto)
{
    long long acked = 0;
    const repl_peer *mem[RAFT_MAX_PEERS];
    size_t k = members_of(n, mem, NULL);
    for (size_t i = 0; i < k; i++)
        if (mem[i]->id != n->cfg.id && raft_get_match(n->r, mem[i]->id) >= upto) acked++;
    raft_conf conf;
    raft_get_conf(n->r, &conf);
    if (acked < (long long)(conf.n_voters / 2)) acked = (long long)(conf.n_voters / 2);
    return acked;
}

/* WAIT numreplicas timeout: on the leader, until numreplicas replicas
 * hold the client's last write or the timeout passes (0: forever), then
 * how many do, as Redis's WAIT.  Which entry that write is in is not
 * tracked: every write the client made so far is at or below the leader's
 * last index when WAIT first runs, or in the batch not yet proposed (a
 * pipelined write), so a replica whose log reaches past that holds it.
 * The client is parked (block_for_signal) and run again as replicas
 * acknowledge (repl_node_receive); a leader that loses leadership
 * unblocks it with an error (lost_leadership).  In MULTI it answers at
 * once; a follower answers 0. */
static void wait_command(repl_node *n, cmd_call *c)
{
    long long num;
    int64_t deadline;
    if (!arg_ll(c, 1, &num) || !arg_timeout_ms(c, 2, &deadline)) return;
    if (raft_get_role(n->r) != RAFT_LEADER) {
        /* a waiter whose leader stepped down gets the error once the node
         * notices (lost_leadership) */
        if (c->retry && block_for_signal(c, deadline)) return;
        if (c->retry)
            reply_error(c->out, UNBLOCKED_ROLE_CHANGED);
        else
            reply_int(c->out, 0);
        return;
    }
    if (!c->retry) c->s->block_arg = raft_last_index(n->r) + (dstr_len(n->batch) ? 1 : 0);
    long long acked = wait_acked(n, c->s->block_arg);
    if (acked < num && block_for_signal(c, deadline)) return;
    reply_int(c->out, acked);
}

/* ---- Sentinel discovery ----
 *
 * Every node answers the Sentinel commands clients use to find the
 * master, for the group's name: the leader is the master, the other nodes
 * its replicas and the group's sentinels, with Sentinel's field names. */

static void field(rbuf *out, const char *name, const char *value)
{
    reply_bulk_cstr(out, name);
    reply_bulk_cstr(out, value);
}

static void field_int(rbuf *out, const char *name, long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    field(out, name, buf);
}

static void node_runid(const repl_node *n, uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%024llx%016llx", (unsigned long long)id,
             (unsigned long long)n->cfg.peers[0].port);
}

static void sentinel_master(repl_node *n, rbuf *out)
{
    const repl_peer *lead = peer_of(n, raft_get_leader(n->r));
    char runid[48], addr[16];
    node_runid(n, lead ? lead->id : 0, runid, sizeof(runid));
    snprintf(addr, sizeof(addr), "%d", lead ? lead->port : 0);
    reply_map_len(out, 20);
    field(out, "name", n->cfg.group_name);
    field(out, "ip", lead ? lead->host : "?");
    field(out, "port", addr);
    field(out, "runid", runid);
    field(out, "flags", lead ? "master" : "master,s_down");
    field_int(out, "link-pending-commands", 0);
    field_int(out, "link-refcount", 1);
    field_int(out, "last-ping-sent", 0);
    field_int(out, "last-ok-ping-reply", 0);
    field_int(out, "last-ping-reply", 0);
    field_int(out, "down-after-milliseconds", 1000);
    field_int(out, "info-refresh", 0);
    field(out, "role-reported", "master");
    field_int(out, "role-reported-time", 0);
    field_int(out, "config-epoch", (long long)raft_get_term(n->r));
    const repl_peer *mem[RAFT_MAX_PEERS];
    long k = (long)members_of(n, mem, NULL);
    field_int(out, "num-slaves", k - 1);
    field_int(out, "num-other-sentinels", k - 1);
    field_int(out, "quorum", k / 2 + 1);
    field_int(out, "failover-timeout", 2000);
    field_int(out, "parallel-syncs", 1);
}

static void sentinel_replicas(repl_node *n, rbuf *out)
{
    uint64_t lead = raft_get_leader(n->r);
    const repl_peer *lp = peer_of(n, lead);
    const repl_peer *mem[RAFT_MAX_PEERS];
    size_t k = members_of(n, mem, NULL), others = 0;
    for (size_t i = 0; i < k; i++)
        others += mem[i]->id != lead;
    reply_array_len(out, lp ? (long)others : 0);
    if (!lp) return;
    for (size_t i = 0; i < k; i++) {
        const repl_peer *p = mem[i];
        if (p->id == lead) continue;
        char name[96], runid[48], port[16];
        snprintf(name, sizeof(name), "%s:%d", p->host, p->port);
        snprintf(port, sizeof(port), "%d", p->port);
        node_runid(n, p->id, runid, sizeof(runid));
        /* only the leader hears from every node: elsewhere all look up */
        long long silent = peer_silence_ms(n, p->id);
        int down = silent >= 0 && !peer_up(n, p->id);
        reply_map_len(out, 21);
        field(out, "name", name);
        field(out, "ip", p->host);
        field(out, "port", port);
        field(out, "runid", runid);
        field(out, "flags", down ? "slave,s_down,disconnected" : "slave");
        field_int(out, "link-pending-commands", 0);
        field_int(out, "link-refcount", 1);
        field_int(out, "last-ping-sent", 0);
        field_int(out, "last-ok-ping-reply", silent > 0 ? silent : 0);
        field_int(out, "last-ping-reply", silent > 0 ? silent : 0);
        field_int(out, "down-after-milliseconds", 1000);
        field_int(out, "info-refresh", 0);
        field(out, "role-reported", "slave");
        field_int(out, "role-reported-time", 0);
        field_int(out, "master-link-down-time", down ? silent : 0);
        field(out, "master-link-status", down ? "err" : "ok");
        field(out, "master-host", lp->host);
        field_int(out, "master-port", lp->port);
        field_int(out, "slave-priority", 100);
        field_int(out, "slave-repl-offset", (long long)raft_get_match(n->r, p->id));
        field_int(out, "replica-announced", 1);
    }
}

static void sentinel_sentinels(repl_node *n, rbuf *out)
{
    const repl_peer *mem[RAFT_MAX_PEERS];
    size_t k = members_of(n, mem, NULL), others = 0;
    for (size_t i = 0; i < k; i++)
        others += mem[i]->id != n->cfg.id;
    reply_array_len(out, (long)others);
    for (size_t i = 0; i < k; i++) {
        const repl_peer *p = mem[i];
        if (p->id == n->cfg.id) continue;
        char runid[48], port[16];
        node_runid(n, p->id, runid, sizeof(runid));
        snprintf(port, sizeof(port), "%d", p->port);
        reply_map_len(out, 12);
        field(out, "name", runid);
        field(out, "ip", p->host);
        field(out, "port", port);
        field(out, "runid", runid);
        field(out, "flags", "sentinel");
        field_int(out, "link-pending-commands", 0);
        field_int(out, "link-refcount", 1);
        field_int(out, "last-ping-sent", 0);
        field_int(out, "last-ok-ping-reply", 0);
        field_int(out, "last-ping-reply", 0);
        field_int(out, "down-after-milliseconds", 1000);
        field_int(out, "last-hello-message", 0);
    }
}

static int is_group(const repl_node *n, const cmd_call *c, int i)
{
    return c->argc > i && c->argv[i].len == strlen(n->cfg.group_name) &&
           memcmp(c->argv[i].ptr, n->cfg.group_name, c->argv[i].len) == 0;
}

static void sentinel_command(repl_node *n, cmd_call *c)
{
    int named = c->argc == 3;
    if (c->argc == 2 && arg_is(c, 1, "masters")) {
        reply_array_len(c->out, 1);
        sentinel_master(n, c->out);
    } else if (c->argc == 2 && arg_is(c, 1, "myid")) {
        char runid[48];
        node_runid(n, n->cfg.id, runid, sizeof(runid));
        reply_bulk_cstr(c->out, runid);
    } else if (named &&
               (arg_is(c, 1, "master") || arg_is(c, 1, "replicas") || arg_is(c, 1, "slaves") ||
                arg_is(c, 1, "sentinels") || arg_is(c, 1, "get-master-addr-by-name"))) {
        if (!is_group(n, c, 2)) {
            if (arg_is(c, 1, "get-master-addr-by-name"))
                reply_null_array(c->out);
            else
                reply_error(c->out, "ERR No such master with that name");
            return;
        }
        const repl_peer *lead = peer_of(n, raft_get_leader(n->r));
        if (arg_is(c, 1, "master")) {
            sentinel_master(n, c->out);
        } else if (arg_is(c, 1, "sentinels")) {
            sentinel_sentinels(n, c->out);
        } else if (arg_is(c, 1, "get-master-addr-by-name")) {
            if (!lead) {
                reply_null_array(c->out);
                return;
            }
            char port[16];
            snprintf(port, sizeof(port), "%d", lead->port);
            reply_array_len(c->out, 2);
            reply_bulk_cstr(c->out, lead->host);
            reply_bulk_cstr(c->out, port);
        } else {
            sentinel_replicas(n, c->out);
        }
    } else {
        reply_errorf(c->out, "ERR Unknown sentinel subcommand '%.*s'", (int)c->argv[1].len,
                     c->argv[1].ptr);
    }
}

/* Sentinel's announcement of a failover, on every node, so clients
 * subscribed to any of them follow the leader. */
static void announce_switch(repl_node *n, uint64_t from, uint64_t to)
{
    const repl_peer *old = peer_of(n, from), *now = peer_of(n, to);
    if (!old || !now) return;
    char msg[256];
    int len = snprintf(msg, sizeof(msg), "%s %s %d %s %d", n->cfg.group_name, old->host, old->port,
                       now->host, now->port);
    cslice ch = {"+switch-master", 14}, m = {msg, (size_t)len};
    pubsub_publish(n->e, &ch, &m, 0);
}

void repl_node_command(repl_node *n, cmd_call *c)
{
    if (slice_is(&c->argv[0], "sentinel")) {
        sentinel_command(n, c);
    } else if (slice_is(&c->argv[0], "role")) {
        role_command(n, c);
    } else if (slice_is(&c->argv[0], "wait")) {
        wait_command(n, c);
    } else if (slice_is(&c->argv[0], "failover")) {
        failover_command(n, c);
    } else if (c->argc >= 2 && arg_is(c, 1, "msg")) {
        raft_msg_command(n, c);
    } else if (c->argc >= 2 && arg_is(c, 1, "transfer-leader")) {
        raft_transfer_command(n, c);
    } else if (c->argc >= 2 && arg_is(c, 1, "add-node")) {
        raft_add_node_command(n, c);
    } else if (c->argc >= 2 && arg_is(c, 1, "remove-node")) {
        raft_remove_node_command(n, c);
    } else if (c->argc == 2 && arg_is(c, 1, "nodes")) {
        raft_nodes_command(n, c);
    } else {
        reply_errorf(c->out, "ERR unknown subcommand '%.*s'. Try RAFT HELP.",
                     c->argc >= 2 ? (int)c->argv[1].len : 0, c->argc >= 2 ? c->argv[1].ptr : "");
    }
}

static const char *role_name(raft_role r)
{
    switch (r) {
    case RAFT_LEADER: return "leader";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_PRECANDIDATE: return "precandidate";
    default: return "follower";
    }
}

void repl_node_info(repl_node *n, dstr *out)
{
    raft *r = n->r;
    int leading = raft_get_role(r) == RAFT_LEADER;
    raft_conf conf;
    raft_get_conf(r, &conf);
    dstr s = *out;
    s = dstr_catfmt(s, "role:%s\r\n", leading ? "master" : "slave");
    const repl_peer *mem[RAFT_MAX_PEERS];
    size_t nmem = members_of(n, mem, NULL), others = 0;
    for (size_t i = 0; i < nmem; i++)
        others += mem[i]->id != n->cfg.id && peer_up(n, mem[i]->id);
    if (leading) {
        s = dstr_catfmt(s, "connected_slaves:%zu\r\n", others);
        int k = 0;
        for (size_t i = 0; i < nmem; i++) {
            const repl_peer *p = mem[i];
            if (p->id == n->cfg.id || !peer_up(n, p->id)) continue;
            uint64_t match = raft_get_match(r, p->id);
            s = dstr_catfmt(s, "slave%d:ip=%s,port=%d,state=online,offset=%llu,lag=%lld\r\n", k++,
                            p->host, p->port, (unsigned long long)match,
                            peer_silence_ms(n, p->id) / 1000);
        }
    } else {
        const repl_peer *lead = peer_of(n, raft_get_leader(r));
        s = dstr_catfmt(s,
                        "master_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
                        "slave_repl_offset:%llu\r\nslave_read_only:1\r\nconnected_slaves:0\r\n",
                        lead ? lead->host : "?", lead ? lead->port : 0, lead ? "up" : "down",
                        (unsigned long long)n->applied);
    }
    s = dstr_catfmt(s,
                    "master_failover_state:%s\r\nmaster_repl_offset:%llu\r\n"
                    "raft_id:%llu\r\nraft_state:%s\r\nraft_term:%llu\r\nraft_leader_id:%llu\r\n"
                    "raft_commit_index:%llu\r\nraft_applied_index:%llu\r\nraft_last_index:%llu\r\n"
                    "raft_voters:%zu\r\nraft_learners:%zu\r\nraft_reads:%s\r\n",
                    failing_over(n) ? "failover-in-progress" : "no-failover",
                    (unsigned long long)raft_get_commit(r), (unsigned long long)n->cfg.id,
                    role_name(raft_get_role(r)), (unsigned long long)raft_get_term(r),
                    (unsigned long long)raft_get_leader(r), (unsigned long long)raft_get_commit(r),
                    (unsigned long long)n->applied, (unsigned long long)raft_last_index(r),
                    conf.n_voters, conf.n_learners, reads_name(n->cfg.reads));
    const raft_snapshot_meta *snap = rstore_snapshot(n->st);
    s = dstr_catfmt(s,
                    "raft_snapshot_index:%llu\r\nraft_snapshot_bytes:%llu\r\n"
                    "raft_snapshots_taken:%llu\r\nraft_snapshots_installed:%llu\r\n"
                    "raft_snapshot_in_progress:%d\r\nraft_snapshots_failed:%llu\r\n"
                    "raft_snapshot_last_ms:%lld\r\n",
                    (unsigned long long)snap->index, (unsigned long long)snap->size,
                    (unsigned long long)n->snaps_taken, (unsigned long long)n->snaps_installed,
                    n->snap_child != 0, (unsigned long long)n->snaps_failed,
                    (long long)(n->snap_last_us / 1000));
    *out = s;
}
