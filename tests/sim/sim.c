/* sim.c -- cairn-sim: a deterministic simulator that tries to break Raft.
 *
 * One process runs N Raft nodes (src/repl/raft.c), a network, disks and
 * clients, all driven by one PRNG seeded from one number, so a failing
 * seed replays exactly.  Every step may crash or restart nodes (a crash
 * in the middle of persisting loses the unsynced part and may tear the
 * last entry; in some seeds fsyncs run in the background, as the node's
 * do, and a crash loses any part of what they have not covered yet),
 * change partitions (isolations, splits, one-way links,
 * flapping), and the network delays, drops, duplicates and reorders
 * messages; leaders are asked to hand over leadership.  Clients register a
 * session with an entry, then do GETSET writes under it (with retries under
 * the same (session, seq)), and reads through ReadIndex on leaders and
 * followers.  Sessions expire by log time and the table is small in some
 * seeds, so retries find their session forgotten.
 *
 * After every step it checks: at most one leader per term, log matching,
 * leader completeness, committed entries never change, state-machine
 * safety (every applied history is a prefix of one history), no retried
 * write takes effect twice; at the end of each seed the cluster is healed
 * and left to converge, then it checks that no acknowledged write was lost
 * and that every key's client history is linearizable.
 *
 * Usage: cairn-sim --nodes 3|5 --seeds N --steps M [--seed S] [--bug NAME]
 *        cairn-sim --bench [--nodes N] [--steps M]   (throughput, no faults) */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/ds/rand.h"
#include "../../src/repl/raft.h"
#include "../../src/repl/session.h"
#include "lincheck.h"

#define MAX_NODES       7   /* slots: the initial voters and two more */
#define ID_STRIDE       8   /* a slot's ids: slot + 1 + ID_STRIDE * generation */
#define JOIN_WAIT       600 /* steps a new node may wait to be added */
#define N_CLIENTS       4
#define N_KEYS          3
#define CLIENT_WAIT     40 /* steps before a client retries */
#define QUIET_STEPS     3000
#define LIN_BUDGET      20000000ull
#define BUG_DUP_APPLY   (1u << 8) /* in the simulated state machine, not raft.c */
#define BUG_LEASE_DRIFT (1u << 9) /* leases in stalled ticks (no raft_clock), a tick too long */
/* a write under a session the table does not hold runs (implicit sessions) */
#define BUG_SESSION_IMPLICIT (1u << 10)
/* with asynchronous fsyncs, a Ready's messages leave before the entries
 * they acknowledge are durable */
#define BUG_ACK_UNSYNCED (1u << 11)

/* ---- small growable arrays ---- */

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }
#define VEC_PUSH(vec, x)                                                                           \
    do {                                                                                           \
        if ((vec).n == (vec).cap) {                                                                \
            (vec).cap = (vec).cap ? (vec).cap * 2 : 16;                                            \
            (vec).v = realloc((vec).v, (vec).cap * sizeof(*(vec).v));                              \
            if (!(vec).v) oom();                                                                   \
        }                                                                                          \
        (vec).v[(vec).n++] = (x);                                                                  \
    } while (0)

static void oom(void)
{
    fprintf(stderr, "cairn-sim: out of memory\n");
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) oom();
    return p;
}

/* ---- the world ---- */

typedef VEC(uint64_t) u64vec;

enum { OP_WRITE, OP_REGISTER };

typedef struct op_data { /* the payload of a client entry */
    uint64_t client, seq, key, value, time;
    uint64_t sid;  /* the session it runs under (OP_REGISTER: registers) */
    uint64_t kind; /* OP_* */
} op_data;

typedef struct write_wait {
    uint64_t client, seq;
} write_wait;

typedef struct read_wait {
    uint64_t ctx;
    int client;
    uint64_t index;
    int ready;
} read_wait;

typedef struct held_msg { /* sent once write number need is durable */
    uint64_t need;
    raft_msg m;
} held_msg;

typedef struct node {
    uint64_t id;
    raft *r; /* NULL while crashed */
    /* Asynchronous fsyncs (weather.async): writes are numbered; one fsync
     * at a time covers every write made before it began and completes at
     * step sync_at; log entries up to durable_to survive any crash. */
    uint64_t durable_to, wseq, sseq;
    int sync_on;
    uint64_t sync_at, sync_seq, sync_index, sync_term;
    VEC(held_msg) held;
    /* the disk: only what survives a crash */
    raft_hard_state hs;
    VEC(raft_entry) log; /* consecutive entries from log.v[0].index */
    raft_snapshot_meta snap;
    uint8_t *snap_data;
    /* a snapshot being received: its temporary file, lost on a crash */
    VEC(uint8_t) recv;
    /* volatile state machine */
    uint64_t kv[N_KEYS];
    session_table *sess;
    uint64_t applied, commit_seen;
    VEC(write_wait) writes;
    VEC(read_wait) reads;
    unsigned tick_permille; /* clock drift: chance of ticking each step */
    uint64_t stalled_until; /* clock stall: no ticks before this step */
    raft_role role_seen;
    uint64_t term_seen;
    /* membership: a free slot runs nothing; a node joins with a boot
     * configuration (the leader's, itself a learner) and is wiped once
     * its removal is committed */
    int free, was_member;
    raft_conf boot;
    uint64_t joined_at, gen;
    uint64_t born; /* the step its core was made: its monotonic clock starts */
} node;

typedef struct netmsg {
    uint64_t at;
    raft_msg m;
} netmsg;

/* A client's session: none, its registration asked, registered. */
enum { REG_NONE, REG_ASKED, REG_DONE };

typedef struct client {
    int busy, is_write, reg;
    uint64_t key, value, seq, call, next_try, read_ctx, hint;
    uint64_t sid, gen; /* its session, and how many it registered */
    size_t hist;       /* index of the op in its key's history */
} client;

typedef struct chosen { /* what index i holds, once known committed */
    uint64_t term, hash, commit_term;
} chosen;

typedef struct emap_slot { /* (index, term) -> (hash, term at index-1) */
    uint64_t index, term, hash, prev_term;
} emap_slot;

typedef struct weather {
    unsigned drop, dup, resp_drop; /* per mille */
    unsigned delay_max;
    size_t msg_bytes, inflight;                           /* flow control, varied per seed */
    uint64_t snap_every;                                  /* entries between snapshots (0: none) */
    size_t chunk_bytes;                                   /* per InstallSnapshot message */
    size_t snap_inflight;                                 /* chunks in flight per follower */
    unsigned part, crash, restart, torn, stall, transfer; /* per 100k */
    unsigned member;                                      /* conf changes, per 100k */
    int async;           /* fsyncs complete later, in the background (persist_async) */
    unsigned sync_steps; /* an fsync takes up to this many steps */
    int lease_ticks;     /* lease reads, within their drift bound */
    int hold;            /* HOLD_*: how commit-only appends are paced */
    int drift;
    size_t sess_max;   /* sessions the table holds */
    uint64_t sess_ttl; /* idle steps of log time before a session expires */
} weather;

enum {
    F_DROP,
    F_DUP,
    F_PART,
    F_CRASH,
    F_TORN,
    F_RESTART,
    F_RESP_DROP,
    F_STALL,
    F_TRANSFER,
    F_SNAP_SENT,
    F_SNAP_CRASH,
    F_CONF,
    F_RETIRE,
    F_SESS_LOST, /* counted only: a retry refused, its session forgotten */
    F_N
};

typedef struct fault_ev { /* one fault that fired (or is to be skipped) */
    uint64_t step;
    int kind, slot;
} fault_ev;

typedef struct world {
    crand rng;
    /* Faults that shape the run (partitions, crashes, restarts, stalls,
     * transfers, membership changes) draw from their own stream, one draw
     * per kind per step whatever happens, and each one's details from a
     * generator seeded by (seed, step, kind, node): leaving one out when
     * shrinking changes nothing else in the schedule. */
    crand frng, erng;
    uint64_t seed, now;
    int n, n_init; /* slots, initial voters */
    unsigned bugs;
    weather w;
    int quiet, bench;
    node nodes[MAX_NODES];
    int blocked[MAX_NODES][MAX_NODES]; /* from -> to */
    VEC(netmsg) net;
    client clients[N_CLIENTS];
    VEC(lin_op) hist[N_KEYS];
    uint64_t value_counter, ctx_counter;
    raft_conf cconf; /* the latest committed configuration seen */
    uint64_t cconf_commit;
    /* checkers */
    u64vec leader_of;   /* by term: node id, 0 none */
    VEC(chosen) chosen; /* by index - 1 */
    u64vec digest;      /* by index - 1: the state machine after applying it */
    emap_slot *emap;
    size_t emap_cap, emap_n;
    u64vec effect[N_CLIENTS]; /* by seq - 1: index it took effect at */
    VEC(write_wait) acked;
    VEC(write_wait) writer; /* by value - 1: the write that set it */
    char violation[512];
    uint64_t faults[F_N];
    /* trace shrinking: fault kinds turned off, single faults skipped, and
     * the faults that fired */
    unsigned off_kinds;
    const struct fault_ev *skip;
    size_t n_skip;
    VEC(struct fault_ev) events;
} world;

static const char *const fault_names[F_N] = {"drops",
                                             "duplicates",
                                             "partition changes",
                                             "crashes",
                                             "torn writes",
                                             "restarts",
                                             "lost replies",
                                             "clock stalls",
                                             "leadership transfers",
                                             "snapshots installed",
                                             "crashes while snapshotting",
                                             "membership changes",
                                             "nodes removed and wiped",
                                             "retries refused (session forgotten)"};

static const char *const fault_keys[F_N] = {
    "drop",  "dup",      "part",     "crash",     "torn", "restart", "respdrop",
    "stall", "transfer", "snapsent", "snapcrash", "conf", "retire",  "sesslost"};

/* A fault about to happen: allowed unless its kind is off or this one is
 * skipped (by step, kind and node).  Faults on single messages are many:
 * they are only turned off by kind. */
static int fire(world *w, int kind, int slot)
{
    if (w->off_kinds & (1u << kind)) return 0;
    if (kind == F_DROP || kind == F_DUP || kind == F_RESP_DROP) return 1;
    for (size_t i = 0; i < w->n_skip; i++)
        if (w->skip[i].step == w->now && w->skip[i].kind == kind && w->skip[i].slot == slot)
            return 0;
    VEC_PUSH(w->events, ((fault_ev){w->now, kind, slot}));
    return 1;
}

static int chance(world *w, unsigned per, unsigned scale)
{
    return per && crand_below(&w->rng, scale) < per;
}

static int chance_f(world *w, unsigned per) { return crand_below(&w->frng, 100000) < per; }

static crand *event_rng(world *w, int kind, int slot)
{
    uint64_t h = w->seed * 0x9E3779B97F4A7C15ull ^ w->now * 0xC2B2AE3D27D4EB4Full ^
                 (uint64_t)kind * 0x165667B19E3779F9ull ^ (uint64_t)(slot + 1);
    crand_seed(&w->erng, h);
    return &w->erng;
}

static void violate(world *w, const char *fmt, ...)
{
    if (w->violation[0]) return; /* report the first */
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(w->violation, sizeof(w->violation), "step %" PRIu64 ": ", w->now);
    vsnprintf(w->violation + k, sizeof(w->violation) - (size_t)k, fmt, ap);
    va_end(ap);
}

/* The slot running node id, or -1 (a removed node's id is never reused). */
static int slot_of(const world *w, uint64_t id)
{
    if (!id) return -1;
    int s = (int)((id - 1) % ID_STRIDE);
    return s < w->n && !w->nodes[s].free && w->nodes[s].id == id ? s : -1;
}

static uint64_t entry_hash(const raft_entry *e)
{
    uint64_t h = 0xcbf29ce484222325ull ^ e->type;
    for (uint32_t i = 0; i < e->len; i++) {
        h ^= e->data[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- invariant: log matching via (index, term) -> content ---- */

static emap_slot *emap_find(world *w, uint64_t index, uint64_t term)
{
    if (w->emap_n * 2 >= w->emap_cap) {
        size_t cap = w->emap_cap ? w->emap_cap * 2 : 4096;
        emap_slot *n = xcalloc(cap, sizeof(*n));
        for (size_t i = 0; i < w->emap_cap; i++) {
            emap_slot *s = &w->emap[i];
            if (!s->index) continue;
            size_t j = (s->index * 31 + s->term) & (cap - 1);
            while (n[j].index)
                j = (j + 1) & (cap - 1);
            n[j] = *s;
        }
        free(w->emap);
        w->emap = n;
        w->emap_cap = cap;
    }
    size_t j = (index * 31 + term) & (w->emap_cap - 1);
    while (w->emap[j].index && (w->emap[j].index != index || w->emap[j].term != term))
        j = (j + 1) & (w->emap_cap - 1);
    return &w->emap[j];
}

/* Log matching holds iff every (index, term) pair names one entry whose
 * predecessor has one term: by induction the logs agree up to there. */
static void check_log_matching(world *w, node *nd, const raft_entry *e, size_t n)
{
    if (w->bench) return;
    for (size_t i = 0; i < n; i++) {
        uint64_t prev = raft_term_at(nd->r, e[i].index - 1);
        emap_slot *s = emap_find(w, e[i].index, e[i].term);
        uint64_t h = entry_hash(&e[i]);
        if (!s->index) {
            *s = (emap_slot){e[i].index, e[i].term, h, prev};
            w->emap_n++;
        } else if (s->hash != h || s->prev_term != prev) {
            violate(w,
                    "log matching: node %" PRIu64 " has a different entry at index %" PRIu64
                    " term %" PRIu64,
                    nd->id, e[i].index, e[i].term);
        }
    }
}

/* Committed entries never change; the first sighting defines them. */
static void check_chosen(world *w, node *nd, const raft_entry *e, const char *what)
{
    if (w->bench) return;
    while (w->chosen.n < e->index)
        VEC_PUSH(w->chosen, ((chosen){0, 0, 0}));
    chosen *c = &w->chosen.v[e->index - 1];
    uint64_t h = entry_hash(e), t = raft_get_term(nd->r);
    if (!c->term) {
        *c = (chosen){e->term, h, t};
        return;
    }
    if (c->term != e->term || c->hash != h)
        violate(w,
                "%s: node %" PRIu64 " %s index %" PRIu64 " term %" PRIu64 ", but term %" PRIu64
                " was committed there",
                what, nd->id, strcmp(what, "state machine safety") ? "committed" : "applied",
                e->index, e->term, c->term);
    if (t < c->commit_term) c->commit_term = t;
}

/* Leader completeness: a leader of term T holds every entry committed in
 * an earlier term. */
static void check_new_leader(world *w, node *nd)
{
    uint64_t term = raft_get_term(nd->r);
    while (w->leader_of.n <= term)
        VEC_PUSH(w->leader_of, 0);
    if (w->leader_of.v[term] && w->leader_of.v[term] != nd->id)
        violate(w, "election safety: nodes %" PRIu64 " and %" PRIu64 " both lead term %" PRIu64,
                w->leader_of.v[term], nd->id, term);
    w->leader_of.v[term] = nd->id;
    uint64_t snap = raft_get_snapshot(nd->r)->index; /* committed, in its snapshot */
    for (size_t i = snap; i < w->chosen.n; i++) {
        chosen *c = &w->chosen.v[i];
        if (!c->term || c->commit_term >= term) continue;
        const raft_entry *e = raft_entry_at(nd->r, i + 1);
        if (!e || e->term != c->term || entry_hash(e) != c->hash) {
            violate(w,
                    "leader completeness: leader %" PRIu64 " of term %" PRIu64
                    " lacks committed index %zu (term %" PRIu64 ")",
                    nd->id, term, i + 1, c->term);
            return;
        }
    }
}

/* ---- clients ---- */

static void client_done(world *w, int ci, uint64_t result)
{
    client *c = &w->clients[ci];
    lin_op *op = &w->hist[c->key].v[c->hist];
    op->ret = w->now;
    if (c->is_write) {
        op->known = 1;
        op->old = result;
        VEC_PUSH(w->acked, ((write_wait){(uint64_t)ci + 1, c->seq}));
    } else {
        op->value = result;
        op->call = c->call; /* this attempt's start */
    }
    c->busy = 0;
}

/* The answer to a write (seq) or a registration (seq 0) of client cid,
 * from the node that proposed it; gone is set when the write's session
 * was not held: it was not executed, but an earlier attempt may have
 * been, so its outcome stays unknown (never answered) and the client
 * registers a new session. */
static void reply_write(world *w, uint64_t cid, uint64_t seq, uint64_t result, int gone)
{
    client *c = &w->clients[cid - 1];
    if (!c->busy || !c->is_write) return;
    if (chance(w, w->w.resp_drop, 1000) && fire(w, F_RESP_DROP, -1)) {
        w->faults[F_RESP_DROP]++;
        return;
    }
    if (seq == 0) {
        if (c->reg == REG_ASKED && result == c->sid) {
            c->reg = REG_DONE;
            c->next_try = w->now;
        }
    } else if (c->seq == seq && c->reg == REG_DONE) {
        if (!gone) {
            client_done(w, (int)cid - 1, result);
            return;
        }
        w->faults[F_SESS_LOST]++;
        c->busy = 0;
        c->reg = REG_NONE;
    }
}

/* A node confirms lease reads against its monotonic clock (the steps
 * since its core was made), not against the ticks its timer delivered. */
static void lease_clock(world *w, node *nd)
{
    if (w->w.lease_ticks && !(w->bugs & BUG_LEASE_DRIFT)) raft_clock(nd->r, w->now - nd->born);
}

static void client_attempt(world *w, int ci)
{
    client *c = &w->clients[ci];
    int target = (int)crand_below(&w->rng, (uint64_t)w->n);
    if (slot_of(w, c->hint) >= 0 && crand_below(&w->rng, 10) < 8) target = slot_of(w, c->hint);
    node *nd = &w->nodes[target];
    c->next_try = w->now + CLIENT_WAIT;
    if (!nd->r) {
        c->next_try = w->now + 3;
        c->hint = 0;
        return;
    }
    if (c->is_write) {
        if (raft_get_role(nd->r) != RAFT_LEADER) {
            c->hint = raft_get_leader(nd->r);
            c->next_try = w->now + 2;
            return;
        }
        /* A write goes out only under a session known registered: a
         * registration sent along with it could recreate a session that
         * expired after the write took effect. */
        if (c->reg == REG_NONE) {
            c->reg = REG_ASKED;
            c->sid = (++c->gen << 8) | ((uint64_t)ci + 1);
        }
        op_data d = {(uint64_t)ci + 1, c->seq, c->key, c->value, w->now, c->sid, OP_WRITE};
        if (c->reg == REG_ASKED) {
            d.kind = OP_REGISTER;
            d.seq = 0;
        }
        uint64_t idx, term;
        if (raft_propose(nd->r, &d, sizeof(d), &idx, &term) != RAFT_OK) {
            c->next_try = w->now + 2;
            return;
        }
        VEC_PUSH(nd->writes, ((write_wait){(uint64_t)ci + 1, d.seq}));
    } else {
        c->read_ctx = ++w->ctx_counter;
        c->call = w->now;
        if (raft_get_role(nd->r) == RAFT_LEADER) lease_clock(w, nd);
        if (raft_read_index(nd->r, c->read_ctx) != RAFT_OK) {
            c->hint = raft_get_leader(nd->r);
            c->next_try = w->now + 2;
            return;
        }
        VEC_PUSH(nd->reads, ((read_wait){c->read_ctx, ci, 0, 0}));
    }
}

static void clients_step(world *w)
{
    for (int ci = 0; ci < N_CLIENTS; ci++) {
        client *c = &w->clients[ci];
        if (!c->busy) {
            if (w->quiet || !chance(w, 300, 1000)) continue;
            c->busy = 1;
            c->is_write = crand_below(&w->rng, 2) == 0;
            c->key = crand_below(&w->rng, N_KEYS);
            c->call = w->now;
            c->hist = w->hist[c->key].n;
            lin_op op = {
                .kind = c->is_write ? LIN_WRITE : LIN_READ, .call = w->now, .ret = LIN_INF};
            if (c->is_write) {
                c->seq++;
                c->value = op.value = ++w->value_counter;
                VEC_PUSH(w->writer, ((write_wait){(uint64_t)ci + 1, c->seq}));
            }
            VEC_PUSH(w->hist[c->key], op);
            c->next_try = w->now;
        }
        if (w->now >= c->next_try) client_attempt(w, ci);
    }
}

/* ---- nodes ---- */

static raft_config node_config(world *w, int i)
{
    node *nd = &w->nodes[i];
    raft_config cfg = {.id = nd->id,
                       .n_peers = nd->boot.n_voters,
                       .n_learners = nd->boot.n_learners,
                       .election_ticks = 10,
                       .heartbeat_ticks = 2,
                       .pre_vote = 1,
                       .check_quorum = 1,
                       .max_inflight_msgs = w->w.inflight,
                       .max_inflight_bytes = 4096,
                       .max_msg_bytes = w->w.msg_bytes,
                       .max_uncommitted_bytes = 1 << 20,
                       .lease_ticks = w->w.lease_ticks,
                       .snapshot_entries = w->w.snap_every,
                       .snapshot_chunk_bytes = w->w.chunk_bytes,
                       .snapshot_inflight = w->w.snap_inflight,
                       .seed = crand_next(&w->rng),
                       .bugs = w->bugs,
                       .persist_async = w->w.async};
    memcpy(cfg.peers, nd->boot.voters, sizeof(cfg.peers));
    memcpy(cfg.learners, nd->boot.learners, sizeof(cfg.learners));
    if (w->bench) {
        cfg.max_inflight_msgs = 64;
        cfg.max_inflight_bytes = 1 << 20;
        cfg.max_msg_bytes = 64 << 10;
        cfg.max_uncommitted_bytes = 4 << 20;
    }
    return cfg;
}

/* ---- the replicated state machine: kv plus the session table ---- */

#define STATE_MAX 8192

static size_t state_encode(const node *nd, uint8_t *buf)
{
    memcpy(buf, nd->kv, sizeof(nd->kv));
    size_t n = session_encoded_size(nd->sess);
    if (sizeof(nd->kv) + n > STATE_MAX) oom();
    session_encode(nd->sess, buf + sizeof(nd->kv));
    return sizeof(nd->kv) + n;
}

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static session_table *new_sessions(const world *w)
{
    session_table *t = session_table_new(w->w.sess_max, w->w.sess_ttl);
    if (!t) oom();
    return t;
}

static int state_restore(const world *w, node *nd, const uint8_t *data, size_t len)
{
    session_table_free(nd->sess);
    nd->sess = new_sessions(w);
    if (len < sizeof(nd->kv)) return -1;
    memcpy(nd->kv, data, sizeof(nd->kv));
    return session_decode(nd->sess, data + sizeof(nd->kv), len - sizeof(nd->kv));
}

/* State-machine safety over snapshots too: every node's state after index
 * i is the same. */
static void check_digest(world *w, node *nd, uint64_t index, const char *how)
{
    if (w->bench) return;
    uint8_t buf[STATE_MAX];
    uint64_t h = bytes_hash(buf, state_encode(nd, buf)) | 1;
    while (w->digest.n < index)
        VEC_PUSH(w->digest, 0);
    uint64_t *d = &w->digest.v[index - 1];
    if (!*d)
        *d = h;
    else if (*d != h)
        violate(w, "state machine safety: node %" PRIu64 " %s index %" PRIu64 " to another state",
                nd->id, how, index);
}

/* ---- the disk ---- */

static uint64_t disk_first(const node *nd)
{
    return nd->log.n ? nd->log.v[0].index : nd->snap.index + 1;
}

static uint64_t disk_last(const node *nd)
{
    return nd->log.n ? nd->log.v[nd->log.n - 1].index : nd->snap.index;
}

/* Returns 1 if it dropped anything. */
static int disk_truncate(node *nd, uint64_t from)
{
    int cut = 0;
    while (nd->log.n > 0 && nd->log.v[nd->log.n - 1].index >= from) {
        free(nd->log.v[--nd->log.n].data);
        cut = 1;
    }
    if (nd->durable_to > disk_last(nd)) nd->durable_to = disk_last(nd);
    return cut;
}

/* The term of the entry at index on disk (0 if none). */
static uint64_t disk_term(const node *nd, uint64_t index)
{
    if (index == nd->snap.index) return nd->snap.term;
    if (!nd->log.n || index < nd->log.v[0].index || index > disk_last(nd)) return 0;
    return nd->log.v[index - nd->log.v[0].index].term;
}

/* Drop entries up to index (they are in the snapshot). */
static void disk_compact(node *nd, uint64_t index)
{
    size_t k = 0;
    while (k < nd->log.n && nd->log.v[k].index <= index)
        free(nd->log.v[k++].data);
    if (k) memmove(nd->log.v, nd->log.v + k, (nd->log.n - k) * sizeof(raft_entry));
    nd->log.n -= k;
}

static void disk_append(world *w, node *nd, const raft_entry *e)
{
    uint64_t next = nd->log.n ? nd->log.v[nd->log.n - 1].index + 1 : nd->snap.index + 1;
    if (e->index != next && !nd->log.n && e->index > nd->snap.index) {
        violate(w,
                "node %" PRIu64 " persists index %" PRIu64 " after a gap (log starts at %" PRIu64
                ")",
                nd->id, e->index, next);
        return;
    }
    raft_entry c = *e;
    c.data = NULL;
    nd->wseq++;
    if (e->len) {
        c.data = malloc(e->len);
        if (!c.data) oom();
        memcpy(c.data, e->data, e->len);
    }
    VEC_PUSH(nd->log, c);
}

/* The rename that makes a snapshot the node's (data is copied). */
static void disk_set_snapshot(node *nd, const raft_snapshot_meta *m, const uint8_t *data)
{
    uint8_t *copy = malloc(m->size ? m->size : 1);
    if (!copy) oom();
    memcpy(copy, data, m->size);
    free(nd->snap_data);
    nd->snap_data = copy;
    nd->snap = *m;
    if (nd->durable_to < m->index) nd->durable_to = m->index;
}

/* What storage does after a snapshot, and again on recovery (a crash may
 * come between the rename and this): entries it covers go, and all of
 * them if the entry at its index is of another term. */
static void disk_after_snapshot(node *nd)
{
    uint64_t x = nd->snap.index;
    if (!nd->log.n || nd->log.v[0].index > x) return;
    uint64_t first = nd->log.v[0].index, last = nd->log.v[nd->log.n - 1].index;
    if (last >= x && nd->log.v[x - first].term == nd->snap.term)
        disk_compact(nd, x);
    else
        disk_truncate(nd, 0);
}

static void node_start(world *w, int i)
{
    node *nd = &w->nodes[i];
    raft_config cfg = node_config(w, i);
    disk_after_snapshot(nd);
    if (nd->log.n && disk_first(nd) != nd->snap.index + 1) {
        violate(w, "node %d: its log starts at %" PRIu64 ", after its snapshot at %" PRIu64, i + 1,
                disk_first(nd), nd->snap.index);
        return;
    }
    nd->durable_to = disk_last(nd);
    nd->wseq = nd->sseq = 0;
    nd->r = raft_new_from(&cfg, &nd->snap, &nd->hs, nd->log.v, nd->log.n);
    nd->born = w->now;
    if (!nd->r) {
        violate(w, "node %d: recovery refused its own disk", i + 1);
        return;
    }
    memset(nd->kv, 0, sizeof(nd->kv));
    nd->sess = new_sessions(w);
    if (nd->snap.index && state_restore(w, nd, nd->snap_data, nd->snap.size) != 0)
        violate(w, "node %d: its snapshot does not decode", i + 1);
    nd->applied = nd->commit_seen = nd->snap.index;
    nd->recv.n = 0;
    nd->role_seen = RAFT_FOLLOWER;
    nd->term_seen = 0;
}

static void drop_held(node *nd)
{
    for (size_t k = 0; k < nd->held.n; k++)
        raft_msg_free(&nd->held.v[k].m);
    nd->held.n = 0;
}

static void node_crash(world *w, int i)
{
    node *nd = &w->nodes[i];
    /* what no fsync covered yet: any prefix of it may be on disk */
    if (nd->r && disk_last(nd) > nd->durable_to)
        disk_truncate(nd, nd->durable_to + 1 +
                              crand_below(&w->rng, disk_last(nd) - nd->durable_to + 1));
    drop_held(nd);
    nd->sync_on = 0;
    raft_free(nd->r);
    nd->r = NULL;
    session_table_free(nd->sess);
    nd->sess = NULL;
    nd->writes.n = 0;
    nd->reads.n = 0;
    nd->recv.n = 0;
    (void)w;
}

static void apply_op(world *w, node *nd, const raft_entry *e);
static void answer_write(world *w, node *nd, uint64_t client, uint64_t seq, uint64_t result,
                         int gone);

static void apply_entry(world *w, node *nd, const raft_entry *e)
{
    check_chosen(w, nd, e, "state machine safety");
    nd->applied = e->index;
    if (e->type == RAFT_ENTRY_NORMAL) apply_op(w, nd, e);
    check_digest(w, nd, e->index, "applied");
}

static void apply_op(world *w, node *nd, const raft_entry *e)
{
    op_data d;
    memcpy(&d, e->data, sizeof(d));
    session_clock(nd->sess, d.time);
    if (d.kind == OP_REGISTER) {
        if (session_open(nd->sess, d.sid) != 0) oom();
        answer_write(w, nd, d.client, 0, d.sid, 0);
        return;
    }
    const void *res;
    size_t len;
    uint64_t result;
    int st =
        (w->bugs & BUG_DUP_APPLY) ? SESSION_NEW : session_check(nd->sess, d.sid, d.seq, &res, &len);
    if (st == SESSION_UNKNOWN && (w->bugs & BUG_SESSION_IMPLICIT)) st = SESSION_NEW;
    if (st == SESSION_STALE) return;
    if (st == SESSION_UNKNOWN) {
        answer_write(w, nd, d.client, d.seq, 0, 1);
        return;
    }
    if (st == SESSION_DUP) {
        memcpy(&result, res, sizeof(result));
    } else {
        result = nd->kv[d.key];
        nd->kv[d.key] = d.value;
        if (session_record(nd->sess, d.sid, d.seq, &result, sizeof(result)) != 0) oom();
        u64vec *eff = &w->effect[d.client - 1];
        while (eff->n < d.seq)
            VEC_PUSH(*eff, 0);
        uint64_t *at = &eff->v[d.seq - 1];
        if (!*at)
            *at = e->index;
        else if (*at != e->index)
            violate(w,
                    "exactly-once: write (client %" PRIu64 ", seq %" PRIu64
                    ") took effect at index %" PRIu64 " and again at %" PRIu64,
                    d.client, d.seq, *at, e->index);
    }
    answer_write(w, nd, d.client, d.seq, result, 0);
}

/* The client waiting on this node for (client, seq) gets its answer. */
static void answer_write(world *w, node *nd, uint64_t client, uint64_t seq, uint64_t result,
                         int gone)
{
    for (size_t i = 0; i < nd->writes.n; i++) {
        if (nd->writes.v[i].client != client || nd->writes.v[i].seq != seq) continue;
        nd->writes.v[i] = nd->writes.v[--nd->writes.n];
        reply_write(w, client, seq, result, gone);
        break;
    }
}

static void serve_reads(world *w, node *nd)
{
    for (size_t i = 0; i < nd->reads.n;) {
        read_wait *rw = &nd->reads.v[i];
        if (!rw->ready || rw->index > nd->applied) {
            i++;
            continue;
        }
        client *c = &w->clients[rw->client];
        if (c->busy && !c->is_write && c->read_ctx == rw->ctx &&
            !(chance(w, w->w.resp_drop, 1000) && fire(w, F_RESP_DROP, -1)))
            client_done(w, rw->client, nd->kv[c->key]);
        *rw = nd->reads.v[--nd->reads.n];
    }
}

static void net_send(world *w, node *from, const raft_msg *m)
{
    int f = slot_of(w, m->from), t = slot_of(w, m->to);
    if (f < 0 || t < 0 || w->blocked[f][t]) return;
    /* a chunk the core asked for is read from the sender's snapshot */
    const uint8_t *chunk = NULL;
    if (m->type == RAFT_MSG_SNAP && !m->data) {
        if (from->snap.index != m->index || m->offset + m->data_len > from->snap.size) {
            violate(w, "node %" PRIu64 " sends a chunk of snapshot %" PRIu64 " but holds %" PRIu64,
                    from->id, m->index, from->snap.index);
            return;
        }
        chunk = from->snap_data + m->offset;
    }
    if (chance(w, w->w.drop, 1000) && fire(w, F_DROP, -1)) {
        w->faults[F_DROP]++;
        return;
    }
    int copies = 1;
    if (chance(w, w->w.dup, 1000) && fire(w, F_DUP, -1)) {
        copies = 2;
        w->faults[F_DUP]++;
    }
    for (int k = 0; k < copies; k++) {
        netmsg nm = {.at = w->now + 1 + crand_below(&w->rng, w->w.delay_max)};
        if (raft_msg_copy(&nm.m, m) != 0) oom();
        if (chunk && raft_msg_set_data(&nm.m, chunk, m->data_len) != 0) oom();
        VEC_PUSH(w->net, nm);
    }
}

/* Step 1 for snapshot chunks: write them to the temporary file. */
static void write_chunks(world *w, node *nd, const raft_ready *rd)
{
    for (size_t k = 0; k < rd->n_snap_chunks; k++) {
        const raft_msg *c = &rd->snap_chunks[k];
        if (c->offset == 0) nd->recv.n = 0;
        if (c->offset != nd->recv.n) {
            violate(w, "node %" PRIu64 " was handed a chunk at %" PRIu64 " with %zu bytes written",
                    nd->id, c->offset, nd->recv.n);
            return;
        }
        for (uint32_t b = 0; b < c->data_len; b++)
            VEC_PUSH(nd->recv, c->data[b]);
    }
}

/* A crash while the Ready is being written: what reached the disk is a
 * prefix of, in order, the completed snapshot's rename, the log cut
 * behind it, the new entries (the last of which may be torn: a torn entry
 * fails its checksum on recovery, so it is simply not there), and the hard
 * state, replaced atomically once the entries are synced.  Nothing of the
 * Ready that promised anything was sent (a leader's appends may have gone
 * out: rd.send_early), so losing it is allowed. */
/* The hard state, whose commit index never passes what is durable
 * (recovery refuses a commit index past the log). */
static void save_hs(node *nd, const raft_hard_state *hs)
{
    nd->hs = *hs;
    uint64_t durable = raft_get_durable(nd->r);
    if (nd->hs.commit > durable) nd->hs.commit = durable;
}

static void torn_persist(world *w, node *nd, const raft_ready *rd)
{
    size_t keep = 0;
    write_chunks(w, nd, rd);
    if (rd->snapshot) {
        unsigned stage = (unsigned)crand_below(&w->rng, 3);
        if (stage == 0 || nd->recv.n != rd->snapshot->size) return;
        disk_set_snapshot(nd, rd->snapshot, nd->recv.v);
        if (stage == 1) return;
        disk_after_snapshot(nd);
    }
    if (rd->n_entries) {
        keep = (size_t)crand_below(&w->rng, rd->n_entries + 1);
        if (keep) disk_truncate(nd, rd->entries[0].index);
        for (size_t i = 0; i < keep; i++)
            disk_append(w, nd, &rd->entries[i]);
    }
    /* the hard state is written after the entries are synced */
    if (rd->hs_changed && keep == rd->n_entries && crand_below(&w->rng, 2)) save_hs(nd, &rd->hs);
}

/* The core asked for a snapshot at the applied index: write it (a crash
 * may come before or after the rename), cut the log, tell the core. */
static int take_snapshot(world *w, int i, uint64_t index)
{
    node *nd = &w->nodes[i];
    if (nd->applied != index) {
        violate(w, "node %" PRIu64 " asked for a snapshot at %" PRIu64 " having applied %" PRIu64,
                nd->id, index, nd->applied);
        return -1;
    }
    uint8_t buf[STATE_MAX];
    raft_snapshot_meta m;
    if (raft_snapshot_meta_at(nd->r, index, &m) != RAFT_OK) {
        violate(w, "node %" PRIu64 ": no snapshot meta at %" PRIu64, nd->id, index);
        return -1;
    }
    m.size = state_encode(nd, buf);
    int crash = chance(w, w->w.torn, 100000) && fire(w, F_SNAP_CRASH, i);
    if (crash && crand_below(&w->rng, 2)) {
        w->faults[F_SNAP_CRASH]++;
        node_crash(w, i); /* before the rename: the old snapshot stands */
        return -1;
    }
    disk_set_snapshot(nd, &m, buf);
    if (crash) {
        w->faults[F_SNAP_CRASH]++;
        node_crash(w, i); /* after it: recovery cuts the log */
        return -1;
    }
    disk_compact(nd, index);
    if (raft_compact(nd->r, index, m.size) != RAFT_OK)
        violate(w, "node %" PRIu64 ": raft_compact(%" PRIu64 ") refused", nd->id, index);
    return 0;
}

static void node_ready(world *w, int i)
{
    node *nd = &w->nodes[i];
    for (int round = 0; round < 16 && nd->r; round++) {
        raft_ready rd;
        if (!raft_ready_get(nd->r, &rd)) {
            raft_advance(nd->r);
            return;
        }
        check_log_matching(w, nd, rd.entries, rd.n_entries);
        /* a leader's appends may leave before its own write (as the node
         * does): a crash below then loses entries its followers have */
        if (rd.send_early)
            for (size_t k = 0; k < rd.n_msgs; k++)
                net_send(w, nd, &rd.msgs[k]);
        if (chance(w, w->w.torn, 100000) && fire(w, F_TORN, i)) {
            w->faults[F_TORN]++;
            torn_persist(w, nd, &rd);
            node_crash(w, i);
            return;
        }
        /* 1. persist (and sync): snapshot chunks, a completed snapshot and
         * the log cut behind it, entries, hard state */
        write_chunks(w, nd, &rd);
        if (rd.snapshot) {
            if (nd->recv.n != rd.snapshot->size)
                violate(w, "node %" PRIu64 ": snapshot of %" PRIu64 " bytes completed with %zu",
                        nd->id, rd.snapshot->size, nd->recv.n);
            else
                disk_set_snapshot(nd, rd.snapshot, nd->recv.v);
            disk_after_snapshot(nd);
            nd->recv.n = 0;
            if (!(w->bugs & BUG_ACK_UNSYNCED)) drop_held(nd);
        }
        /* a cut log: what held messages acknowledge may never be synced */
        if (rd.n_entries && disk_truncate(nd, rd.entries[0].index) && !(w->bugs & BUG_ACK_UNSYNCED))
            drop_held(nd);
        for (size_t k = 0; k < rd.n_entries; k++)
            disk_append(w, nd, &rd.entries[k]);
        if (!w->w.async) nd->durable_to = disk_last(nd);
        if (rd.hs_changed) save_hs(nd, &rd.hs);
        /* 2. send; an acknowledgement of appends once every write so far
         * is durable (as the node does) */
        for (size_t k = 0; !rd.send_early && k < rd.n_msgs; k++) {
            const raft_msg *m = &rd.msgs[k];
            if (!w->w.async || nd->sseq >= nd->wseq || m->type != RAFT_MSG_APP_RESP || m->reject ||
                (w->bugs & BUG_ACK_UNSYNCED)) {
                net_send(w, nd, &rd.msgs[k]);
                continue;
            }
            held_msg h = {.need = nd->wseq};
            if (raft_msg_copy(&h.m, &rd.msgs[k]) != 0) oom();
            VEC_PUSH(nd->held, h);
        }
        /* committed entries never change */
        uint64_t commit = raft_get_commit(nd->r);
        for (uint64_t k = nd->commit_seen + 1; k <= commit; k++) {
            const raft_entry *e = raft_entry_at(nd->r, k);
            if (e) check_chosen(w, nd, e, "commit safety");
        }
        if (commit > nd->commit_seen) nd->commit_seen = commit;
        /* 3. install a snapshot, apply, 4. reads */
        if (rd.snapshot && !w->violation[0]) {
            w->faults[F_SNAP_SENT]++;
            if (state_restore(w, nd, nd->snap_data, nd->snap.size) != 0)
                violate(w, "node %" PRIu64 ": a received snapshot does not decode", nd->id);
            nd->applied = rd.snapshot->index;
            check_digest(w, nd, nd->applied, "installed a snapshot at");
        }
        for (size_t k = 0; k < rd.n_committed; k++)
            apply_entry(w, nd, &rd.committed[k]);
        for (size_t k = 0; k < rd.n_reads; k++)
            for (size_t j = 0; j < nd->reads.n; j++)
                if (nd->reads.v[j].ctx == rd.reads[k].ctx) {
                    nd->reads.v[j].index = rd.reads[k].index;
                    nd->reads.v[j].ready = 1;
                }
        uint64_t compact = rd.compact_index;
        raft_advance(nd->r);
        serve_reads(w, nd);
        if (compact && take_snapshot(w, i, compact) != 0) return;
    }
}

/* One fsync at a time: it begins once the previous one completed and
 * covers every write made before it began, within weather.sync_steps. */
static void sync_step(world *w, int i)
{
    node *nd = &w->nodes[i];
    if (!w->w.async || !nd->r) return;
    if (nd->sync_on && w->now >= nd->sync_at) {
        nd->sync_on = 0;
        nd->sseq = nd->sync_seq;
        /* the entry synced is still the one on disk: so is every one
         * before it (log matching) */
        if (disk_term(nd, nd->sync_index) == nd->sync_term && nd->sync_index > nd->durable_to)
            nd->durable_to = nd->sync_index;
        raft_persisted(nd->r, nd->sync_index, nd->sync_term);
        size_t k = 0;
        for (; k < nd->held.n && nd->held.v[k].need <= nd->sseq; k++) {
            net_send(w, nd, &nd->held.v[k].m);
            raft_msg_free(&nd->held.v[k].m);
        }
        if (k) memmove(nd->held.v, nd->held.v + k, (nd->held.n - k) * sizeof(held_msg));
        nd->held.n -= k;
    }
    if (!nd->sync_on && nd->wseq > nd->sseq) {
        nd->sync_on = 1;
        nd->sync_seq = nd->wseq;
        nd->sync_index = disk_last(nd);
        nd->sync_term = disk_term(nd, nd->sync_index);
        nd->sync_at = w->now + crand_below(&w->rng, w->w.sync_steps);
    }
}

/* How a leader's commit index alone reaches followers (raft_hold_commit),
 * by seed: at once; held while the node's fsync runs; once per tick, as
 * the node does. */
enum { HOLD_NONE, HOLD_SYNC, HOLD_TICK };

static void hold_step(world *w, int i)
{
    node *nd = &w->nodes[i];
    if (!nd->r || w->w.hold == HOLD_NONE) return;
    raft_hold_commit(nd->r, w->w.hold == HOLD_SYNC ? nd->sync_on : 1);
}

static void check_leaders(world *w)
{
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        if (!nd->r) continue;
        raft_role role = raft_get_role(nd->r);
        uint64_t term = raft_get_term(nd->r);
        if (role == RAFT_LEADER && (nd->role_seen != RAFT_LEADER || nd->term_seen != term))
            check_new_leader(w, nd);
        /* a leader whose removal committed has stepped down (a node may
         * lead under a configuration that is not committed yet) */
        raft_snapshot_meta m;
        raft_conf cur;
        raft_get_conf(nd->r, &cur);
        if (role == RAFT_LEADER && !raft_conf_has_voter(&cur, nd->id) &&
            raft_snapshot_meta_at(nd->r, raft_get_commit(nd->r), &m) == RAFT_OK &&
            !raft_conf_has_voter(&m.conf, nd->id))
            violate(w, "node %" PRIu64 " leads term %" PRIu64 " after its removal committed",
                    nd->id, term);
        nd->role_seen = role;
        nd->term_seen = term;
    }
}

/* ---- faults ---- */

static void change_partition(world *w, crand *er)
{
    w->faults[F_PART]++;
    memset(w->blocked, 0, sizeof(w->blocked));
    int kind = (int)crand_below(er, 5);
    int n = w->n;
    if (kind == 0) return; /* heal */
    if (kind == 1 || kind == 4) {
        int x = (int)crand_below(er, (uint64_t)n);
        if (kind == 4) { /* isolate the leader, if any, maybe freezing its clock too */
            for (int i = 0; i < n; i++)
                if (w->nodes[i].r && raft_get_role(w->nodes[i].r) == RAFT_LEADER) x = i;
            if (w->w.stall && crand_below(er, 2)) {
                w->faults[F_STALL]++;
                w->nodes[x].stalled_until = w->now + 20 + crand_below(er, 100);
            }
        }
        for (int i = 0; i < n; i++)
            w->blocked[x][i] = w->blocked[i][x] = i != x;
        return;
    }
    if (kind == 2) { /* split into two sides */
        int side[MAX_NODES];
        for (int i = 0; i < n; i++)
            side[i] = (int)crand_below(er, 2);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                w->blocked[i][j] = side[i] != side[j];
        return;
    }
    /* one-way links: a node may hear others it cannot reach */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            w->blocked[i][j] = i != j && crand_below(er, 3) == 0;
}

static void faults_step(world *w)
{
    if (w->quiet) return;
    if (chance_f(w, w->w.part) && fire(w, F_PART, -1))
        change_partition(w, event_rng(w, F_PART, -1));
    if (chance_f(w, w->w.transfer) && fire(w, F_TRANSFER, -1)) {
        int to = (int)crand_below(event_rng(w, F_TRANSFER, -1), (uint64_t)w->n);
        for (int i = 0; i < w->n; i++)
            if (i != to && w->nodes[i].r && raft_get_role(w->nodes[i].r) == RAFT_LEADER &&
                !w->nodes[to].free &&
                raft_transfer_leader(w->nodes[i].r, w->nodes[to].id) == RAFT_OK)
                w->faults[F_TRANSFER]++;
    }
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        if (chance_f(w, w->w.stall) && fire(w, F_STALL, i)) {
            /* a timer that stops (a frozen VM): a leader keeps believing
             * it leads while the others elect a new one */
            w->faults[F_STALL]++;
            nd->stalled_until = w->now + 20 + crand_below(event_rng(w, F_STALL, i), 100);
        }
        int crash = chance_f(w, w->w.crash), restart = chance_f(w, w->w.restart);
        if (nd->free) continue;
        if (nd->r && crash && fire(w, F_CRASH, i)) {
            w->faults[F_CRASH]++;
            node_crash(w, i);
        } else if (!nd->r && restart && fire(w, F_RESTART, i)) {
            w->faults[F_RESTART]++;
            node_start(w, i);
        }
    }
}

static void deliver(world *w)
{
    /* due messages in random order: reordering beyond the delays */
    size_t due = 0;
    for (size_t i = 0; i < w->net.n; i++)
        if (w->net.v[i].at <= w->now) {
            netmsg t = w->net.v[due];
            w->net.v[due] = w->net.v[i];
            w->net.v[i] = t;
            due++;
        }
    for (size_t i = due; i > 1; i--) {
        size_t j = (size_t)crand_below(&w->rng, i);
        netmsg t = w->net.v[i - 1];
        w->net.v[i - 1] = w->net.v[j];
        w->net.v[j] = t;
    }
    for (size_t i = 0; i < due; i++) {
        raft_msg *m = &w->net.v[i].m;
        int f = slot_of(w, m->from), t = slot_of(w, m->to);
        node *nd = t >= 0 ? &w->nodes[t] : NULL;
        if (nd && nd->r && (f < 0 || !w->blocked[f][t]) && !w->violation[0]) {
            if (m->type == RAFT_MSG_READ_INDEX) lease_clock(w, nd);
            if (raft_step(nd->r, m) == RAFT_ERR_CORRUPT)
                violate(w, "node %" PRIu64 " was asked to overwrite a committed entry", nd->id);
        }
        raft_msg_free(m);
    }
    if (!due) return;
    memmove(w->net.v, w->net.v + due, (w->net.n - due) * sizeof(netmsg));
    w->net.n -= due;
}

/* ---- membership ---- */

static int conf_has(const raft_conf *c, uint64_t id)
{
    return raft_conf_has_voter(c, id) || raft_conf_has_learner(c, id);
}

/* The latest committed configuration: the one at the highest commit index
 * any node ever had (the running ones may all be behind it). */
static int committed_conf(world *w, raft_conf *out)
{
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        uint64_t c = nd->r ? raft_get_commit(nd->r) : 0;
        if (c <= w->cconf_commit) continue;
        raft_snapshot_meta m;
        if (raft_snapshot_meta_at(nd->r, c, &m) == RAFT_OK)
            w->cconf = m.conf;
        else
            w->cconf = raft_get_snapshot(nd->r)->conf; /* the commit index is the snapshot's */
        w->cconf_commit = c;
    }
    *out = w->cconf;
    return w->cconf_commit ? 0 : -1;
}

/* A node whose removal is committed (or that was never added) is shut
 * down and its disk wiped; its slot may take a new node, with a new id. */
static void retire(world *w, int i)
{
    node *nd = &w->nodes[i];
    w->faults[F_RETIRE]++;
    node_crash(w, i);
    disk_truncate(nd, 0);
    free(nd->snap_data);
    nd->snap_data = NULL;
    memset(&nd->snap, 0, sizeof(nd->snap));
    memset(&nd->hs, 0, sizeof(nd->hs));
    nd->free = 1;
    nd->id = 0;
}

static node *current_leader(world *w)
{
    node *l = NULL;
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        if (nd->r && raft_get_role(nd->r) == RAFT_LEADER &&
            (!l || raft_get_term(nd->r) > raft_get_term(l->r)))
            l = nd;
    }
    return l;
}

static int propose_conf(world *w, node *l, int op, uint64_t id)
{
    uint64_t idx, term;
    if (raft_change_conf(l->r, op, id, &idx, &term) != RAFT_OK) return -1;
    w->faults[F_CONF]++;
    return 0;
}

/* Start a node in a free slot, to be added as a learner (or at once as
 * a voter, which Raft allows: it is only slow to catch up). */
static void add_node(world *w, crand *er, node *l, int slot)
{
    node *nd = &w->nodes[slot];
    nd->free = 0;
    nd->gen++;
    nd->id = (uint64_t)slot + 1 + ID_STRIDE * nd->gen;
    raft_get_conf(l->r, &nd->boot);
    if (nd->boot.n_voters + nd->boot.n_learners == RAFT_MAX_PEERS) {
        nd->free = 1;
        return;
    }
    nd->boot.learners[nd->boot.n_learners++] = nd->id;
    nd->joined_at = w->now;
    nd->was_member = 0;
    node_start(w, slot);
    propose_conf(w, l, crand_below(er, 4) ? RAFT_CONF_ADD_LEARNER : RAFT_CONF_ADD_VOTER, nd->id);
}

/* One membership change on the leader: add a node, promote a learner
 * that caught up, or remove a voter (the leader itself too) or a learner. */
static int change_membership(world *w, crand *er, node *l)
{
    raft_conf c;
    raft_get_conf(l->r, &c);
    int kind = (int)crand_below(er, 3);
    if (kind == 0) {
        for (int i = 0; i < w->n; i++) {
            node *nd = &w->nodes[i];
            if (nd->free) {
                add_node(w, er, l, i);
                return 0;
            }
            if (nd->r && !nd->was_member && !conf_has(&c, nd->id)) /* its add was lost */
                return propose_conf(w, l, RAFT_CONF_ADD_LEARNER, nd->id);
        }
        return -1;
    }
    if (kind == 1) {
        for (size_t k = 0; k < c.n_learners; k++)
            if (raft_peer_match(l->r, c.learners[k]) >= raft_get_commit(l->r))
                return propose_conf(w, l, RAFT_CONF_ADD_VOTER, c.learners[k]);
        return -1;
    }
    if (c.n_learners && crand_below(er, 4) == 0)
        return propose_conf(w, l, RAFT_CONF_REMOVE, c.learners[crand_below(er, c.n_learners)]);
    if (c.n_voters <= 2) return -1;
    uint64_t victim = c.voters[crand_below(er, c.n_voters)];
    if (crand_below(er, 3) == 0) victim = l->id;
    return propose_conf(w, l, RAFT_CONF_REMOVE, victim);
}

/* In some node's configuration: a running node's current one, or any in
 * a crashed node's disk (it may come back and commit it). */
static int in_any_conf(world *w, uint64_t id)
{
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        raft_conf c;
        if (nd->r) {
            raft_get_conf(nd->r, &c);
            if (conf_has(&c, id)) return 1;
            continue;
        }
        if (nd->free) continue;
        if (conf_has(&nd->snap.conf, id)) return 1;
        for (size_t k = 0; k < nd->log.n; k++)
            if (nd->log.v[k].type == RAFT_ENTRY_CONF &&
                raft_conf_decode(nd->log.v[k].data, nd->log.v[k].len, &c) == 0 && conf_has(&c, id))
                return 1;
    }
    return 0;
}

static void membership_step(world *w)
{
    raft_conf cc;
    if (committed_conf(w, &cc) == 0) {
        for (int i = 0; i < w->n; i++) {
            node *nd = &w->nodes[i];
            if (nd->free) continue;
            if (conf_has(&cc, nd->id))
                nd->was_member = 1;
            else if (nd->was_member ||
                     (w->now - nd->joined_at > JOIN_WAIT && !in_any_conf(w, nd->id)))
                retire(w, i);
        }
    }
    node *l = current_leader(w);
    if (l && w->w.member) {
        /* an operator removes a member whose node was given up on (its
         * add, not in any log when it was wiped, committed since) */
        raft_conf c;
        raft_get_conf(l->r, &c);
        for (size_t k = 0; k < c.n_voters + c.n_learners; k++) {
            uint64_t id = k < c.n_voters ? c.voters[k] : c.learners[k - c.n_voters];
            if (slot_of(w, id) < 0 && propose_conf(w, l, RAFT_CONF_REMOVE, id) == 0) break;
        }
    }
    if (w->quiet || !chance_f(w, w->w.member) || !fire(w, F_CONF, -1)) return;
    crand *er = event_rng(w, F_CONF, -1);
    /* sometimes two changes at once: the second must be refused while
     * the first is uncommitted (the conf-multi bug takes it) */
    if (l && change_membership(w, er, l) == 0 && l->r && raft_get_role(l->r) == RAFT_LEADER &&
        crand_below(er, 3) == 0)
        change_membership(w, er, l);
}

static void world_step(world *w)
{
    w->now++;
    faults_step(w);
    membership_step(w);
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].r && w->now >= w->nodes[i].stalled_until &&
            (!w->w.drift || chance(w, w->nodes[i].tick_permille, 1000))) {
            if (w->w.hold == HOLD_TICK) raft_hold_commit(w->nodes[i].r, 0);
            raft_tick(w->nodes[i].r);
        }
    deliver(w);
    clients_step(w);
    for (int i = 0; i < w->n; i++) {
        node_ready(w, i);
        sync_step(w, i);
        hold_step(w, i);
    }
    check_leaders(w);
}

/* ---- one seed ---- */

static void pick_weather(world *w)
{
    static const unsigned drops[] = {0, 10, 50, 200}, delays[] = {1, 3, 8};
    static const unsigned parts[] = {0, 300, 2000, 10000}, crashes[] = {0, 100, 500, 1500};
    w->w.drop = drops[crand_below(&w->rng, 4)];
    w->w.dup = crand_below(&w->rng, 2) ? 30 : 0;
    w->w.resp_drop = crand_below(&w->rng, 2) ? 50 : 0;
    w->w.delay_max = delays[crand_below(&w->rng, 3)];
    w->w.part = parts[crand_below(&w->rng, 4)];
    w->w.crash = crashes[crand_below(&w->rng, 4)];
    w->w.restart = 5000;
    w->w.torn = crand_below(&w->rng, 2) ? 500 : 0;
    w->w.stall = crand_below(&w->rng, 2) ? 200 : 0;
    w->w.transfer = crand_below(&w->rng, 2) ? 500 : 0;
    /* lease reads are only safe with bounded clock drift: every node's
     * clock is the step count, so a lease of election_ticks - 2 is within
     * the bound; stalled and slow timers only make a follower wait longer
     * before it votes, and a leader counts its lease on that clock */
    if (crand_below(&w->rng, 3) == 0) w->w.lease_ticks = 8;
    if (w->bugs & BUG_LEASE_DRIFT) {
        w->w.lease_ticks = 9;
        w->w.stall = 500;
    }
    w->w.drift = (int)crand_below(&w->rng, 2);
    for (int i = 0; i < MAX_NODES; i++)
        w->nodes[i].tick_permille = 500 + (unsigned)crand_below(&w->rng, 501);
    static const size_t msg_bytes[] = {1, 128, 1024}, inflight[] = {1, 4, 16};
    w->w.msg_bytes = msg_bytes[crand_below(&w->rng, 3)];
    w->w.inflight = inflight[crand_below(&w->rng, 3)];
    static const uint64_t snap_every[] = {0, 5, 20, 100};
    w->w.snap_every = snap_every[crand_below(&w->rng, 4)];
    static const size_t chunks[] = {16, 64, 4096};
    w->w.chunk_bytes = chunks[crand_below(&w->rng, 3)];
    static const unsigned member[] = {0, 0, 500, 2000};
    w->w.member = member[crand_below(&w->rng, 4)];
    if (w->bugs & RAFT_BUG_CONF_MULTI) w->w.member = 2000;
    w->w.async = (w->bugs & (BUG_ACK_UNSYNCED | RAFT_BUG_SELF_UNSYNCED)) || crand_below(&w->rng, 2);
    static const unsigned sync_steps[] = {1, 4, 12};
    w->w.sync_steps = sync_steps[crand_below(&w->rng, 3)];
    if (w->bugs & RAFT_BUG_SELF_UNSYNCED) { /* slow disks, crashes losing their tails */
        w->w.sync_steps = 12;
        w->w.crash = 1500;
    }
    /* Small tables and short lives in some seeds, so that retries find
     * their session evicted or expired. */
    static const size_t sess_max[] = {3, N_CLIENTS, 64, 64};
    static const uint64_t sess_ttl[] = {150, 600, 1000000, 1000000};
    w->w.sess_max = sess_max[crand_below(&w->rng, 4)];
    w->w.sess_ttl = sess_ttl[crand_below(&w->rng, 4)];
    if (w->bugs & BUG_SESSION_IMPLICIT) w->w.sess_max = 3;
    /* from a generator of its own: the other draws (and so the seeds that
     * find each planted bug) stay as they were */
    static const size_t snap_inflight[] = {1, 2, 4, 8};
    crand wr;
    crand_seed(&wr, w->seed ^ 0x5EA7C0DEull);
    w->w.snap_inflight = snap_inflight[crand_below(&wr, 4)];
    if (w->bugs & RAFT_BUG_SNAP_GAP) { /* windows of small chunks, some lost */
        w->w.snap_every = 5;
        w->w.chunk_bytes = 16;
        w->w.inflight = 16;
        w->w.snap_inflight = 8;
    }
    if (w->bugs & RAFT_BUG_SNAP_STALE) { /* stale snapshots: frequent ones, late copies */
        w->w.snap_every = 5;
        w->w.dup = 100;
        w->w.delay_max = 8;
    }
}

/* The slots that must agree at the end: every one, or with membership
 * changes the members of the leader's configuration.  Returns how many,
 * or -1 if one of them is not running. */
static int final_members(world *w, int *slots)
{
    int n = 0;
    if (!w->w.member) {
        for (int i = 0; i < w->n; i++) {
            if (!w->nodes[i].r) return -1;
            slots[n++] = i;
        }
        return n;
    }
    node *l = current_leader(w);
    if (!l) return -1;
    raft_conf c;
    raft_get_conf(l->r, &c);
    for (size_t k = 0; k < c.n_voters + c.n_learners; k++) {
        int i = slot_of(w, k < c.n_voters ? c.voters[k] : c.learners[k - c.n_voters]);
        if (i < 0 || !w->nodes[i].r) return -1;
        slots[n++] = i;
    }
    return n;
}

static int converged(world *w)
{
    for (int c = 0; c < N_CLIENTS; c++)
        if (w->clients[c].busy) return 0;
    int slots[RAFT_MAX_PEERS], n = final_members(w, slots);
    if (n <= 0) return 0;
    uint64_t applied = 0;
    for (int k = 0; k < n; k++)
        if (w->nodes[slots[k]].applied > applied) applied = w->nodes[slots[k]].applied;
    for (int k = 0; k < n; k++) {
        node *nd = &w->nodes[slots[k]];
        if (nd->applied != applied || raft_get_commit(nd->r) != applied) return 0;
    }
    return 1;
}

static void dump(world *w)
{
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        if (!nd->r) {
            fprintf(stderr, "node %d down\n", i + 1);
            continue;
        }
        fprintf(stderr,
                "node %d role %d term %" PRIu64 " lead %" PRIu64 " commit %" PRIu64
                " applied %" PRIu64 " last %" PRIu64 " (term %" PRIu64 ") writes %zu reads %zu\n",
                i + 1, raft_get_role(nd->r), raft_get_term(nd->r), raft_get_leader(nd->r),
                raft_get_commit(nd->r), nd->applied, raft_last_index(nd->r),
                raft_term_at(nd->r, raft_last_index(nd->r)), nd->writes.n, nd->reads.n);
        raft_conf c;
        raft_get_conf(nd->r, &c);
        fprintf(stderr, "  id %" PRIu64 " snapshot %" PRIu64 " conf voters", nd->id,
                raft_get_snapshot(nd->r)->index);
        for (size_t k = 0; k < c.n_voters; k++)
            fprintf(stderr, " %" PRIu64 " (match %" PRIu64 ")", c.voters[k],
                    raft_peer_match(nd->r, c.voters[k]));
        fprintf(stderr, " learners");
        for (size_t k = 0; k < c.n_learners; k++)
            fprintf(stderr, " %" PRIu64 " (match %" PRIu64 ")", c.learners[k],
                    raft_peer_match(nd->r, c.learners[k]));
        fprintf(stderr, "\n");
    }
    for (int c = 0; c < N_CLIENTS; c++)
        fprintf(stderr, "client %d busy %d write %d seq %" PRIu64 " key %" PRIu64 "\n", c + 1,
                w->clients[c].busy, w->clients[c].is_write, w->clients[c].seq, w->clients[c].key);
}

static int took_effect(const world *w, uint64_t value)
{
    write_wait a = w->writer.v[value - 1];
    const u64vec *eff = &w->effect[a.client - 1];
    return a.seq <= eff->n && eff->v[a.seq - 1];
}

static void final_checks(world *w)
{
    int slots[RAFT_MAX_PEERS], n = final_members(w, slots);
    for (int k = 1; k < n; k++)
        if (memcmp(w->nodes[slots[k]].kv, w->nodes[slots[0]].kv, sizeof(w->nodes[0].kv)) != 0)
            violate(w, "nodes %" PRIu64 " and %" PRIu64 " applied the same log to different states",
                    w->nodes[slots[0]].id, w->nodes[slots[k]].id);
    for (size_t i = 0; i < w->acked.n; i++) {
        write_wait a = w->acked.v[i];
        if (a.seq > w->effect[a.client - 1].n || !w->effect[a.client - 1].v[a.seq - 1])
            violate(w, "acknowledged write (client %" PRIu64 ", seq %" PRIu64 ") was lost",
                    a.client, a.seq);
    }
    for (int k = 0; k < N_KEYS && !w->violation[0]; k++) {
        /* A read that never answered did nothing, and neither did a
         * write that never answered and took effect nowhere (its retry
         * refused, its session forgotten): the checker knows, and leaving
         * them out keeps the search small. */
        size_t keep = 0;
        for (size_t i = 0; i < w->hist[k].n; i++) {
            const lin_op *op = &w->hist[k].v[i];
            if (op->ret == LIN_INF && (op->kind == LIN_READ || !took_effect(w, op->value)))
                continue;
            w->hist[k].v[keep++] = *op;
        }
        w->hist[k].n = keep;
        int rc = lin_check(w->hist[k].v, w->hist[k].n, 0, LIN_BUDGET);
        if (rc == LIN_VIOLATION)
            violate(w,
                    "linearizability: the history of key %d (%zu operations) has no "
                    "linearization",
                    k, w->hist[k].n);
        else if (rc != LIN_OK)
            fprintf(stderr, "seed %" PRIu64 ": key %d: linearizability check %s\n", w->seed, k,
                    rc == LIN_GAVE_UP ? "gave up (budget)" : "ran out of memory");
    }
}

static void world_free(world *w)
{
    for (int i = 0; i < w->n; i++) {
        node_crash(w, i);
        disk_truncate(&w->nodes[i], 0);
        free(w->nodes[i].log.v);
        free(w->nodes[i].snap_data);
        free(w->nodes[i].recv.v);
        free(w->nodes[i].writes.v);
        free(w->nodes[i].reads.v);
        free(w->nodes[i].held.v);
    }
    for (size_t i = 0; i < w->net.n; i++)
        raft_msg_free(&w->net.v[i].m);
    free(w->net.v);
    for (int k = 0; k < N_KEYS; k++)
        free(w->hist[k].v);
    for (int c = 0; c < N_CLIENTS; c++)
        free(w->effect[c].v);
    free(w->writer.v);
    free(w->leader_of.v);
    free(w->chosen.v);
    free(w->digest.v);
    free(w->emap);
    free(w->acked.v);
    free(w->events.v);
}

/* n voters, ids 1..n, and spare free slots for nodes to add. */
static void init_slots(world *w, int n, int spare)
{
    w->n_init = n;
    w->n = n + spare < MAX_NODES ? n + spare : MAX_NODES;
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        nd->free = i >= n;
        nd->id = nd->free ? 0 : (uint64_t)i + 1;
        nd->was_member = !nd->free;
        nd->boot.n_voters = (size_t)n;
        for (int j = 0; j < n; j++)
            nd->boot.voters[j] = (uint64_t)j + 1;
    }
    for (int i = 0; i < n; i++)
        node_start(w, i);
}

/* Runs one seed; returns the steps simulated, fills why on a violation. */
/* What to leave out of a run, and the faults that fired in it. */
typedef struct trace {
    unsigned off_kinds;
    const fault_ev *skip;
    size_t n_skip;
    fault_ev *fired; /* malloc'd, the caller frees */
    size_t n_fired;
} trace;

static uint64_t run_seed(uint64_t seed, int n, uint64_t steps, unsigned bugs, char *why,
                         size_t whylen, uint64_t faults[F_N], trace *tr)
{
    world *w = xcalloc(1, sizeof(*w));
    if (tr) {
        w->off_kinds = tr->off_kinds;
        w->skip = tr->skip;
        w->n_skip = tr->n_skip;
    }
    w->seed = seed;
    w->bugs = bugs;
    crand_seed(&w->rng, seed);
    crand_seed(&w->frng, seed ^ 0x5DEECE66Dull);
    pick_weather(w);
    w->w.hold = (int)(seed % 3); /* not from the PRNG: other seeds' runs stay as they were */
    init_slots(w, n, w->w.member ? 2 : 0);
    while (w->now < steps && !w->violation[0])
        world_step(w);
    /* heal everything and let the cluster converge */
    w->quiet = 1;
    memset(w->blocked, 0, sizeof(w->blocked));
    w->w.drop = w->w.dup = w->w.resp_drop = 0;
    w->w.torn = 0;
    w->w.drift = 0;
    for (int i = 0; i < w->n; i++)
        w->nodes[i].stalled_until = 0;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].r && !w->nodes[i].free) node_start(w, i);
    uint64_t quiet_end = w->now + QUIET_STEPS;
    while (!w->violation[0] && !converged(w) && w->now < quiet_end)
        world_step(w);
    if (!w->violation[0] && !converged(w)) {
        violate(w, "liveness: no convergence %d steps after healing", QUIET_STEPS);
        if (getenv("CAIRN_SIM_DEBUG")) dump(w);
    }
    if (!w->violation[0]) final_checks(w);
    snprintf(why, whylen, "%s", w->violation);
    for (int f = 0; f < F_N; f++)
        faults[f] += w->faults[f];
    uint64_t ran = w->now;
    if (tr) {
        tr->fired = w->events.v;
        tr->n_fired = w->events.n;
        w->events.v = NULL;
    }
    world_free(w);
    free(w);
    return ran;
}

/* ---- throughput of the state machine alone ---- */

static int bench(int n, uint64_t steps)
{
    world *w = xcalloc(1, sizeof(*w));
    w->bench = 1;
    w->w.inflight = 1;
    crand_seed(&w->rng, 1);
    w->w.delay_max = 1;
    w->w.sess_max = 64;
    w->w.sess_ttl = UINT64_MAX / 2;
    init_slots(w, n, 0);
    w->quiet = 1; /* no clients, no faults */
    raft_campaign(w->nodes[0].r);
    while (raft_get_role(w->nodes[0].r) != RAFT_LEADER && w->now < 1000)
        world_step(w);
    op_data d = {1, 0, 0, 0, 0, 1, OP_REGISTER};
    uint64_t ri, rt;
    if (raft_propose(w->nodes[0].r, &d, sizeof(d), &ri, &rt) != RAFT_OK) return 1;
    d.kind = OP_WRITE;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t start = raft_get_commit(w->nodes[0].r);
    for (uint64_t s = 0; s < steps; s++) {
        for (int k = 0; k < 256; k++) {
            uint64_t idx, term;
            d.seq++;
            if (raft_propose(w->nodes[0].r, &d, sizeof(d), &idx, &term) != RAFT_OK) break;
        }
        world_step(w);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t committed = raft_get_commit(w->nodes[0].r) - start;
    printf("%d nodes: %" PRIu64 " entries (%zu bytes) committed in %.3f s: %.0f entries/s "
           "(everything in one process: raft, simulated network and disk, apply)\n",
           n, committed, sizeof(d), secs, (double)committed / secs);
    int bad = w->violation[0] != 0;
    if (bad) printf("violation: %s\n", w->violation);
    world_free(w);
    free(w);
    return bad;
}

/* ---- trace shrinking ---- */

#define SHRINK_RUNS 400

static int fails(uint64_t seed, int n, uint64_t steps, unsigned bugs, trace *tr, char *why)
{
    uint64_t faults[F_N] = {0};
    free(tr->fired);
    tr->fired = NULL;
    run_seed(seed, n, steps, bugs, why, 512, faults, tr);
    return why[0] != 0;
}

static void print_trace(const trace *tr, uint64_t seed, int n, uint64_t steps, const char *bugname)
{
    printf("  replay the shrunk trace: cairn-sim --nodes %d --steps %" PRIu64 " --seed %" PRIu64
           "%s%s",
           n, steps, seed, bugname ? " --bug " : "", bugname ? bugname : "");
    if (tr->off_kinds) {
        printf(" --no ");
        const char *sep = "";
        for (int k = 0; k < F_N; k++)
            if (tr->off_kinds & (1u << k)) {
                printf("%s%s", sep, fault_keys[k]);
                sep = ",";
            }
    }
    if (tr->n_skip) {
        printf(" --skip ");
        for (size_t i = 0; i < tr->n_skip; i++)
            printf("%s%" PRIu64 ":%s:%d", i ? "," : "", tr->skip[i].step,
                   fault_keys[tr->skip[i].kind], tr->skip[i].slot);
    }
    printf("\n  its faults (%zu):", tr->n_fired);
    for (size_t i = 0; i < tr->n_fired; i++)
        printf(" %" PRIu64 ":%s:%d", tr->fired[i].step, fault_keys[tr->fired[i].kind],
               tr->fired[i].slot);
    printf("\n");
}

/* A seed failed: find a smaller fault schedule that still fails.  First
 * whole kinds of faults are turned off, then single faults are skipped,
 * halves first (ddmin).  Every candidate is a full deterministic rerun, so
 * the result replays exactly. */
static void shrink(uint64_t seed, int n, uint64_t steps, unsigned bugs, const char *bugname,
                   trace *start)
{
    trace tr = {.off_kinds = start->off_kinds, .skip = start->skip, .n_skip = start->n_skip};
    char why[512];
    int runs = 0;
    if (!fails(seed, n, steps, bugs, &tr, why)) return;
    /* a candidate is kept if it still fails with no more faults */
    size_t before = tr.n_fired, best = tr.n_fired;
    for (int k = 0; k < F_N && runs < SHRINK_RUNS; k++) {
        if (k == F_SNAP_SENT || k == F_RETIRE || (tr.off_kinds & (1u << k))) continue;
        tr.off_kinds |= 1u << k;
        runs++;
        if (fails(seed, n, steps, bugs, &tr, why) && tr.n_fired <= best)
            best = tr.n_fired;
        else
            tr.off_kinds &= ~(1u << k);
    }
    fails(seed, n, steps, bugs, &tr, why);
    fault_ev *cand = NULL, *skip = NULL;
    size_t n_skip = 0, n_ev = tr.n_fired;
    fault_ev *ev = malloc((n_ev ? n_ev : 1) * sizeof(*ev));
    skip = malloc((n_ev + start->n_skip + 1) * sizeof(*skip));
    cand = malloc((n_ev + start->n_skip + 1) * sizeof(*cand));
    if (!ev || !skip || !cand) oom();
    if (n_ev) memcpy(ev, tr.fired, n_ev * sizeof(*ev));
    if (start->n_skip) memcpy(skip, start->skip, start->n_skip * sizeof(*skip));
    n_skip = start->n_skip;
    for (size_t chunk = n_ev / 2 ? n_ev / 2 : 1; chunk >= 1 && runs < SHRINK_RUNS; chunk /= 2) {
        for (size_t at = 0; at < n_ev && runs < SHRINK_RUNS;) {
            size_t len = at + chunk <= n_ev ? chunk : n_ev - at;
            if (n_skip) memcpy(cand, skip, n_skip * sizeof(*cand));
            memcpy(cand + n_skip, ev + at, len * sizeof(*cand));
            tr.skip = cand;
            tr.n_skip = n_skip + len;
            runs++;
            if (!fails(seed, n, steps, bugs, &tr, why) || tr.n_fired > best) {
                at += len;
                continue;
            }
            best = tr.n_fired;
            /* still fails without them: they go for good */
            memcpy(skip, cand, tr.n_skip * sizeof(*skip));
            n_skip = tr.n_skip;
            memmove(ev + at, ev + at + len, (n_ev - at - len) * sizeof(*ev));
            n_ev -= len;
        }
        if (chunk == 1) break;
    }
    tr.skip = skip;
    tr.n_skip = n_skip;
    fails(seed, n, steps, bugs, &tr, why);
    if (tr.n_fired < before)
        printf("  shrunk in %d runs: %zu faults where there were %zu; still: %s\n", runs,
               tr.n_fired, before, why);
    else
        printf("  could not shrink its %zu faults in %d runs\n", before, runs);
    print_trace(&tr, seed, n, steps, bugname);
    free(tr.fired);
    free(ev);
    free(skip);
    free(cand);
}

/* ---- command line ---- */

static const struct {
    const char *name;
    unsigned mask;
} bug_names[] = {
    {"figure8", RAFT_BUG_FIGURE8},
    {"no-noop", RAFT_BUG_NO_NOOP},
    {"vote-unsynced", RAFT_BUG_VOTE_UNSYNCED},
    {"read-stale", RAFT_BUG_READ_STALE},
    {"dup-apply", BUG_DUP_APPLY},
    {"lease-drift", BUG_LEASE_DRIFT},
    {"snap-stale", RAFT_BUG_SNAP_STALE},
    {"conf-multi", RAFT_BUG_CONF_MULTI},
    {"session-implicit", BUG_SESSION_IMPLICIT},
    {"ack-unsynced", BUG_ACK_UNSYNCED},
    {"self-unsynced", RAFT_BUG_SELF_UNSYNCED},
    {"snap-gap", RAFT_BUG_SNAP_GAP},
};

typedef VEC(fault_ev) fault_vec;

static int fault_kind(const char *name, size_t len)
{
    for (int k = 0; k < F_N; k++)
        if (strlen(fault_keys[k]) == len && !strncmp(fault_keys[k], name, len)) return k;
    return -1;
}

/* --no KIND,KIND... or --skip STEP:KIND:SLOT,... */
static int parse_faults(const char *v, int kinds, unsigned *off, fault_vec *skips)
{
    while (*v) {
        const char *end = strchr(v, ',');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        if (kinds) {
            int k = fault_kind(v, len);
            if (k < 0) return -1;
            *off |= 1u << k;
        } else {
            char name[32];
            unsigned long long step;
            int slot;
            if (sscanf(v, "%llu:%31[a-z]:%d", &step, name, &slot) != 3) return -1;
            int k = fault_kind(name, strlen(name));
            if (k < 0) return -1;
            VEC_PUSH(*skips, ((fault_ev){step, k, slot}));
        }
        v += len + (end != NULL);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: cairn-sim --nodes 3|5 --seeds N --steps M [--seed S] [--bug NAME]\n"
            "       options: --first-seed S (run S, S+1, ...), --stop (at the first "
            "violation), --quiet,\n"
            "       --shrink (reduce a failing seed's faults), --no KIND,... --skip "
            "STEP:KIND:SLOT,...\n"
            "       cairn-sim --bench [--nodes N] [--steps M]\n"
            "bugs: figure8 no-noop vote-unsynced read-stale dup-apply lease-drift snap-stale "
            "conf-multi session-implicit ack-unsynced self-unsynced snap-gap\n");
}

int main(int argc, char **argv)
{
    int n = 3, do_bench = 0, quiet_progress = 0, stop_at_first = 0, do_shrink = 0;
    uint64_t seeds = 100, steps = 2000, first = 1;
    unsigned bugs = 0;
    const char *bugname = NULL;
    trace base = {0};
    fault_vec skips = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--bench")) {
            do_bench = 1;
            continue;
        }
        if (!strcmp(a, "--stop")) { /* stop at the first violation */
            stop_at_first = 1;
            continue;
        }
        if (!strcmp(a, "--shrink")) { /* shrink the fault schedule of a failing seed */
            do_shrink = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet_progress = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--nodes")) {
            n = atoi(v);
        } else if (!strcmp(a, "--seeds")) {
            seeds = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--steps")) {
            steps = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--seed")) {
            first = strtoull(v, NULL, 10);
            seeds = 1;
        } else if (!strcmp(a, "--first-seed")) {
            first = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--no") || !strcmp(a, "--skip")) {
            if (parse_faults(v, !strcmp(a, "--no"), &base.off_kinds, &skips) != 0) {
                usage();
                return 2;
            }
        } else if (!strcmp(a, "--bug")) {
            size_t k;
            for (k = 0; k < sizeof(bug_names) / sizeof(bug_names[0]); k++)
                if (!strcmp(v, bug_names[k].name)) break;
            if (k == sizeof(bug_names) / sizeof(bug_names[0])) {
                usage();
                return 2;
            }
            bugs |= bug_names[k].mask;
            bugname = v;
        } else {
            usage();
            return 2;
        }
    }
    if (n < 1 || n > MAX_NODES) {
        usage();
        return 2;
    }
    if (do_bench) return bench(n, steps);
    base.skip = skips.v;
    base.n_skip = skips.n;
    uint64_t total_steps = 0, violations = 0, faults[F_N] = {0}, ran = 0;
    for (uint64_t s = first; s < first + seeds && !(stop_at_first && violations); s++) {
        ran++;
        char why[512];
        total_steps += run_seed(s, n, steps, bugs, why, sizeof(why), faults, &base);
        free(base.fired);
        base.fired = NULL;
        if (why[0]) {
            violations++;
            printf("seed %" PRIu64 ": VIOLATION %s\n  replay: cairn-sim --nodes %d --steps %" PRIu64
                   " --seed %" PRIu64 "%s%s\n",
                   s, why, n, steps, s, bugname ? " --bug " : "", bugname ? bugname : "");
            if (do_shrink) shrink(s, n, steps, bugs, bugname, &base);
            fflush(stdout);
        } else if (!quiet_progress && seeds >= 100 && (s - first + 1) % (seeds / 10) == 0) {
            fprintf(stderr, "  %" PRIu64 "/%" PRIu64 " seeds\n", s - first + 1, seeds);
        }
    }
    free(skips.v);
    printf("faults injected:");
    for (int f = 0; f < F_N; f++)
        printf(" %s %" PRIu64 "%s", fault_names[f], faults[f], f + 1 < F_N ? "," : "\n");
    printf("%" PRIu64 " seeds, %" PRIu64 " steps, %" PRIu64 " violations\n", ran, total_steps,
           violations);
    return violations ? 1 : 0;
}
