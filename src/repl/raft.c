/* raft.c -- the Raft state machine (see raft.h for the caller's contract).
 *
 * Structure follows etcd's raft: one step function dispatching on the
 * message type after the common term checks, per-follower progress with
 * a probe state (one append in flight until the follower's log matches)
 * and a replicate state (pipelined appends bounded by a window of
 * messages and bytes) and a snapshot state (chunks of a snapshot, a window
 * of them in flight, for a follower that needs entries compacted away).
 *
 * Membership changes are one server at a time (Ongaro's thesis, 4.1): a
 * configuration takes effect on every node as soon as it is in its log,
 * a leader proposes one only after an entry of its term committed and
 * while no other is uncommitted; any two majorities of consecutive
 * configurations then overlap. */
#include "raft.h"

#include <stdlib.h>
#include <string.h>

#ifdef RAFT_SIM_BUGS
#define BUG(r, b) (((r)->cfg.bugs & (b)) != 0)
#else
#define BUG(r, b) 0
#endif

enum { PR_PROBE, PR_REPLICATE, PR_SNAPSHOT };

/* Progress slots: one per member of the configuration, plus this node's
 * own when it is not (a removed leader still counts its log). */
#define N_SLOTS (RAFT_MAX_PEERS + 1)

enum { M_NONE, M_VOTER, M_LEARNER, M_SELF };

typedef struct inflight {
    uint64_t last;
    size_t bytes;
} inflight;

typedef struct progress {
    uint64_t id;
    int member; /* M_*: M_NONE marks a free slot */
    uint64_t match, next;
    int state;
    int probe_sent;       /* probe state: an append is out, wait for a reply */
    int recent_active;    /* heard from since the last check-quorum */
    uint64_t read_acked;  /* highest read round this peer confirmed */
    uint64_t sent_commit; /* highest commit index sent to this peer */
    uint64_t ack_tick;    /* send tick of the newest heartbeat it acked */
    uint64_t heard;       /* tick of its last reply (leader) */
    inflight *infl;       /* ring of max_inflight_msgs */
    size_t in_start, in_count, in_bytes;
    /* snapshot state: the snapshot being sent, the next byte to send, the
     * bytes the follower confirmed (the window is next - acked), whether
     * the last chunk went out; how many times the leader went back to
     * resend (each chunk carries it, each answer echoes it) and the acked
     * count at the last heartbeat reply (UINT64_MAX: none yet) to notice a
     * stall */
    uint64_t snap_index, snap_next, snap_acked;
    int snap_done_sent;
    uint64_t snap_round, snap_hb_acked;
} progress;

typedef struct conf_rec { /* a RAFT_ENTRY_CONF in the log */
    uint64_t index;
    raft_conf conf;
} conf_rec;

typedef struct pending_read {
    uint64_t ctx;
    uint64_t index; /* 0: a follower's, asked before this term's first commit */
    uint64_t from;  /* this node, or the follower that asked */
    uint64_t round;
} pending_read;

/* A follower's reads asked of a new leader before it commits an entry of
 * its term wait for that commit (as etcd's raft), not for the follower to
 * ask again; at most this many (more are dropped and asked again). */
#define EARLY_READS_MAX 1024

struct raft {
    raft_config cfg;
    crand rng;
    uint64_t id, term, vote, lead;
    raft_role role;

    /* log[i] has index offset + 1 + i; entries up to `stable` are durable */
    raft_entry *log;
    size_t log_len, log_cap;
    uint64_t offset, offset_term;
    uint64_t stable;
    uint64_t unstable_from; /* first index to hand out for persisting */
    uint64_t commit, applied;
    size_t uncommitted_bytes;

    int election_elapsed, heartbeat_elapsed, timeout;
    uint64_t ticks;         /* ticks since start: the clock of leases (raft_clock) */
    int lease_void;         /* this leader sent TimeoutNow: no lease in its term */
    int startup_quiet;      /* with leases: no votes for an election timeout */
    uint8_t votes[N_SLOTS]; /* 0 none, 1 granted, 2 rejected */
    progress prs[N_SLOTS];

    /* membership: the configuration in effect is the last CONF entry of
     * the log, or base (the snapshot's, or the initial one) */
    raft_conf conf, base_conf;
    conf_rec *confs;
    size_t n_confs, cap_confs;

    /* snapshots: the last one (index 0: none), one being received, and
     * what the caller was asked for */
    raft_snapshot_meta snap;
    int recv_active;
    uint64_t recv_from, recv_term; /* the leader sending it */
    raft_snapshot_meta recv;
    uint64_t recv_off;
    raft_msg *chunks;
    size_t n_chunks, cap_chunks;
    int installed; /* a received snapshot completed: hand it out */
    uint64_t compact_asked, bytes_since_snap;

    raft_msg *msgs;
    size_t n_msgs, cap_msgs;
    raft_read_state *reads;
    size_t n_reads, cap_reads;
    pending_read *pending;
    size_t n_pending, cap_pending, n_early;
    uint64_t read_round, read_round_sent;
    int commit_hold;     /* raft_hold_commit() */
    uint64_t transferee; /* leadership transfer target, or RAFT_NONE */
    int transfer_elapsed;

    raft_hard_state prev_hs;
    /* what the last raft_ready_get handed out, for raft_advance */
    raft_hard_state rd_hs;
    uint64_t rd_stable_to, rd_applied_to;
    raft_msg *rd_msgs;
    size_t rd_n_msgs;
    raft_read_state *rd_reads;
    size_t rd_n_reads;
    raft_msg *rd_chunks;
    size_t rd_n_chunks;
    raft_snapshot_meta rd_snap;
    int rd_out;
};

#define FOR_PRS(r, p)                                                                              \
    for (progress *p = (r)->prs; p < (r)->prs + N_SLOTS; p++)                                      \
        if (p->member != M_NONE)

/* ---- log ---- */

uint64_t raft_last_index(const raft *r) { return r->offset + r->log_len; }

uint64_t raft_term_at(const raft *r, uint64_t index)
{
    if (index == r->offset) return r->offset_term;
    if (index < r->offset || index > raft_last_index(r)) return 0;
    return r->log[index - r->offset - 1].term;
}

const raft_entry *raft_entry_at(const raft *r, uint64_t index)
{
    if (index <= r->offset || index > raft_last_index(r)) return NULL;
    return &r->log[index - r->offset - 1];
}

static uint64_t last_term(const raft *r) { return raft_term_at(r, raft_last_index(r)); }

static int entry_copy(raft_entry *dst, const raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len) {
        dst->data = malloc(src->len);
        if (!dst->data) return -1;
        memcpy(dst->data, src->data, src->len);
    }
    return 0;
}

/* ---- configurations ---- */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

size_t raft_conf_encode(const raft_conf *c, uint8_t *buf)
{
    put64(buf, c->n_voters);
    put64(buf + 8, c->n_learners);
    uint8_t *p = buf + 16;
    for (size_t i = 0; i < c->n_voters; i++, p += 8)
        put64(p, c->voters[i]);
    for (size_t i = 0; i < c->n_learners; i++, p += 8)
        put64(p, c->learners[i]);
    return (size_t)(p - buf);
}

int raft_conf_decode(const uint8_t *data, size_t len, raft_conf *out)
{
    if (len < 16) return -1;
    uint64_t nv = get64(data), nl = get64(data + 8);
    if (nv > RAFT_MAX_PEERS || nl > RAFT_MAX_PEERS || nv + nl > RAFT_MAX_PEERS ||
        len != 16 + 8 * (nv + nl))
        return -1;
    memset(out, 0, sizeof(*out));
    out->n_voters = (size_t)nv;
    out->n_learners = (size_t)nl;
    for (size_t i = 0; i < nv; i++)
        out->voters[i] = get64(data + 16 + 8 * i);
    for (size_t i = 0; i < nl; i++)
        out->learners[i] = get64(data + 16 + 8 * (nv + i));
    return 0;
}

static int ids_have(const uint64_t *v, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id) return 1;
    return 0;
}

int raft_conf_has_voter(const raft_conf *c, uint64_t id)
{
    return ids_have(c->voters, c->n_voters, id);
}

int raft_conf_has_learner(const raft_conf *c, uint64_t id)
{
    return ids_have(c->learners, c->n_learners, id);
}

static progress *pr_of(raft *r, uint64_t id)
{
    FOR_PRS(r, p)
    if (p->id == id) return p;
    return NULL;
}

static void pr_init(raft *r, progress *p, uint64_t id);

/* Make the progress slots match the configuration in effect: members
 * keep their progress, new ones start probing, this node keeps a slot
 * (M_SELF) even when it is not a member. */
static void conf_refresh(raft *r)
{
    r->conf = r->n_confs ? r->confs[r->n_confs - 1].conf : r->base_conf;
    const raft_conf *c = &r->conf;
    for (size_t i = 0; i < N_SLOTS; i++) {
        progress *p = &r->prs[i];
        if (p->member == M_NONE) continue;
        if (raft_conf_has_voter(c, p->id))
            p->member = M_VOTER;
        else if (raft_conf_has_learner(c, p->id))
            p->member = M_LEARNER;
        else if (p->id == r->id)
            p->member = M_SELF;
        else
            p->member = M_NONE;
        if (p->member == M_NONE) r->votes[i] = 0;
    }
    for (size_t k = 0; k < c->n_voters + c->n_learners; k++) {
        uint64_t id = k < c->n_voters ? c->voters[k] : c->learners[k - c->n_voters];
        if (pr_of(r, id)) continue;
        for (size_t i = 0; i < N_SLOTS; i++)
            if (r->prs[i].member == M_NONE) {
                pr_init(r, &r->prs[i], id);
                r->prs[i].member = k < c->n_voters ? M_VOTER : M_LEARNER;
                break;
            }
    }
}

static size_t n_voters(const raft *r) { return r->conf.n_voters; }

static int is_voter(raft *r)
{
    progress *p = pr_of(r, r->id);
    return p && p->member == M_VOTER;
}

/* The configuration in effect at index (for a snapshot there). */
static raft_conf conf_at(const raft *r, uint64_t index)
{
    raft_conf c = r->base_conf;
    for (size_t i = 0; i < r->n_confs && r->confs[i].index <= index; i++)
        c = r->confs[i].conf;
    return c;
}

static uint64_t last_conf_index(const raft *r)
{
    return r->n_confs ? r->confs[r->n_confs - 1].index : r->snap.index;
}

/* ---- the log ---- */

static int log_append(raft *r, const raft_entry *e)
{
    raft_conf c;
    if (e->type == RAFT_ENTRY_CONF) {
        if (raft_conf_decode(e->data, e->len, &c) != 0) return -1;
        if (r->n_confs == r->cap_confs) {
            size_t cap = r->cap_confs ? r->cap_confs * 2 : 4;
            conf_rec *n = realloc(r->confs, cap * sizeof(*n));
            if (!n) return -1;
            r->confs = n;
            r->cap_confs = cap;
        }
    }
    if (r->log_len == r->log_cap) {
        size_t cap = r->log_cap ? r->log_cap * 2 : 64;
        raft_entry *n = realloc(r->log, cap * sizeof(*n));
        if (!n) return -1;
        r->log = n;
        r->log_cap = cap;
    }
    if (entry_copy(&r->log[r->log_len], e) != 0) return -1;
    r->log_len++;
    if (e->type == RAFT_ENTRY_CONF) {
        /* a configuration takes effect as soon as it is in the log */
        r->confs[r->n_confs++] = (conf_rec){e->index, c};
        conf_refresh(r);
    }
    return 0;
}

/* Drop entries from index on (a conflict with the leader's log); a
 * configuration dropped with them stops being in effect. */
static void log_truncate(raft *r, uint64_t index)
{
    while (raft_last_index(r) >= index && r->log_len > 0) {
        free(r->log[r->log_len - 1].data);
        r->log_len--;
    }
    if (r->stable >= index) r->stable = index - 1;
    if (r->unstable_from > index) r->unstable_from = index;
    size_t n = r->n_confs;
    while (r->n_confs && r->confs[r->n_confs - 1].index >= index)
        r->n_confs--;
    if (n != r->n_confs) conf_refresh(r);
}

/* Forget entries up to index (they are in a snapshot). */
static void log_compact(raft *r, uint64_t index)
{
    uint64_t last = raft_last_index(r);
    uint64_t upto = index < last ? index : last;
    size_t drop = upto > r->offset ? (size_t)(upto - r->offset) : 0;
    for (size_t i = 0; i < drop; i++)
        free(r->log[i].data);
    if (drop) memmove(r->log, r->log + drop, (r->log_len - drop) * sizeof(*r->log));
    r->log_len -= drop;
    size_t k = 0;
    while (k < r->n_confs && r->confs[k].index <= index)
        k++;
    if (k) memmove(r->confs, r->confs + k, (r->n_confs - k) * sizeof(*r->confs));
    r->n_confs -= k;
}

/* ---- messages ---- */

void raft_msg_free(raft_msg *m)
{
    for (size_t i = 0; i < m->n_entries; i++)
        free(m->entries[i].data);
    free(m->entries);
    free(m->data);
    free(m->conf);
    m->entries = NULL;
    m->n_entries = 0;
    m->data = NULL;
    m->conf = NULL;
}

int raft_msg_set_data(raft_msg *m, const void *data, uint32_t len)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, data, len);
    }
    free(m->data);
    m->data = copy;
    m->data_len = len;
    return 0;
}

int raft_msg_copy(raft_msg *dst, const raft_msg *src)
{
    *dst = *src;
    dst->entries = NULL;
    dst->n_entries = 0;
    dst->data = NULL;
    dst->conf = NULL;
    if (src->data && raft_msg_set_data(dst, src->data, src->data_len) != 0) return -1;
    if (src->conf) {
        dst->conf = malloc(sizeof(*dst->conf));
        if (!dst->conf) {
            raft_msg_free(dst);
            return -1;
        }
        *dst->conf = *src->conf;
    }
    if (!src->n_entries) return 0;
    dst->entries = calloc(src->n_entries, sizeof(raft_entry));
    if (!dst->entries) {
        raft_msg_free(dst);
        return -1;
    }
    for (size_t i = 0; i < src->n_entries; i++) {
        if (entry_copy(&dst->entries[i], &src->entries[i]) != 0) {
            raft_msg_free(dst);
            return -1;
        }
        dst->n_entries++;
    }
    return 0;
}

const char *raft_msg_type_name(int type)
{
    static const char *const names[RAFT_MSG_TYPES] = {
        "PREVOTE",     "PREVOTE_RESP", "VOTE",           "VOTE_RESP",  "APP",
        "APP_RESP",    "HEARTBEAT",    "HEARTBEAT_RESP", "READ_INDEX", "READ_INDEX_RESP",
        "TIMEOUT_NOW", "SNAP",         "SNAP_RESP",
    };
    return type >= 0 && type < RAFT_MSG_TYPES ? names[type] : "?";
}

/* Queue a message; the caller fills it.  Returns NULL on allocation
 * failure, which drops the message (the protocol retries lost ones). */
static raft_msg *send_msg(raft *r, uint64_t to, int type)
{
    if (r->n_msgs == r->cap_msgs) {
        size_t cap = r->cap_msgs ? r->cap_msgs * 2 : 16;
        raft_msg *n = realloc(r->msgs, cap * sizeof(*n));
        if (!n) return NULL;
        r->msgs = n;
        r->cap_msgs = cap;
    }
    raft_msg *m = &r->msgs[r->n_msgs++];
    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    return m;
}

static void add_read_state(raft *r, uint64_t ctx, uint64_t index)
{
    if (r->n_reads == r->cap_reads) {
        size_t cap = r->cap_reads ? r->cap_reads * 2 : 16;
        raft_read_state *n = realloc(r->reads, cap * sizeof(*n));
        if (!n) return; /* the read is dropped; the client retries */
        r->reads = n;
        r->cap_reads = cap;
    }
    r->reads[r->n_reads++] = (raft_read_state){ctx, index};
}

/* ---- progress ---- */

static size_t quorum(const raft *r) { return n_voters(r) / 2 + 1; }

static int inflight_full(const raft *r, const progress *p)
{
    if (p->in_count >= r->cfg.max_inflight_msgs) return 1;
    return r->cfg.max_inflight_bytes && p->in_bytes >= r->cfg.max_inflight_bytes;
}

static void inflight_add(raft *r, progress *p, uint64_t last, size_t bytes)
{
    size_t cap = r->cfg.max_inflight_msgs;
    p->infl[(p->in_start + p->in_count) % cap] = (inflight){last, bytes};
    p->in_count++;
    p->in_bytes += bytes;
}

/* The follower has everything up to index: free the window below it. */
static void inflight_free_to(raft *r, progress *p, uint64_t index)
{
    size_t cap = r->cfg.max_inflight_msgs;
    while (p->in_count && p->infl[p->in_start].last <= index) {
        p->in_bytes -= p->infl[p->in_start].bytes;
        p->in_start = (p->in_start + 1) % cap;
        p->in_count--;
    }
}

static void pr_become_probe(raft *r, progress *p)
{
    p->state = PR_PROBE;
    p->probe_sent = 0;
    p->in_start = p->in_count = p->in_bytes = 0;
    if (p->next <= p->match) p->next = p->match + 1;
    (void)r;
}

static void pr_init(raft *r, progress *p, uint64_t id)
{
    inflight *infl = p->infl;
    memset(p, 0, sizeof(*p));
    p->infl = infl;
    p->id = id;
    p->next = raft_last_index(r) + 1;
    if (id == r->id) p->match = r->stable;
    pr_become_probe(r, p);
}

/* ---- roles ---- */

static void reset_timers(raft *r)
{
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->timeout = r->cfg.election_ticks + (int)crand_below(&r->rng, (uint64_t)r->cfg.election_ticks);
}

static void drop_pending_reads(raft *r) { r->n_pending = r->n_early = 0; }

static void reset(raft *r, uint64_t term)
{
    if (term != r->term) {
        r->term = term;
        r->vote = RAFT_NONE;
    }
    r->lead = RAFT_NONE;
    r->transferee = RAFT_NONE;
    r->lease_void = 0;
    reset_timers(r);
    memset(r->votes, 0, sizeof(r->votes));
    drop_pending_reads(r);
    FOR_PRS(r, p)
    {
        p->match = 0;
        p->next = raft_last_index(r) + 1;
        p->recent_active = 0;
        p->read_acked = 0;
        p->sent_commit = 0;
        p->ack_tick = 0;
        p->heard = r->ticks;
        pr_become_probe(r, p);
        if (p->id == r->id) p->match = r->stable;
    }
}

static void become_follower(raft *r, uint64_t term, uint64_t lead)
{
    reset(r, term);
    r->role = RAFT_FOLLOWER;
    r->lead = lead;
}

static int send_append(raft *r, progress *p, int send_empty);
static int maybe_commit(raft *r);

static void become_leader(raft *r)
{
    reset(r, r->term);
    r->role = RAFT_LEADER;
    r->lead = r->id;
    r->uncommitted_bytes = 0;
    progress *self = pr_of(r, r->id);
    self->recent_active = 1;
    self->state = PR_REPLICATE;
    if (!BUG(r, RAFT_BUG_NO_NOOP)) {
        raft_entry noop = {
            .term = r->term, .index = raft_last_index(r) + 1, .type = RAFT_ENTRY_NOOP};
        /* Without memory for the no-op this node cannot lead: stand down
         * and let the election timeout try again. */
        if (log_append(r, &noop) != 0) {
            become_follower(r, r->term, RAFT_NONE);
            return;
        }
    }
    self->next = raft_last_index(r) + 1;
    if (n_voters(r) == 1) maybe_commit(r);
}

/* Count a vote; only voters of the configuration in effect count. */
static int tally(raft *r, uint64_t from, int granted, size_t *rejected)
{
    for (size_t i = 0; i < N_SLOTS; i++)
        if (r->prs[i].member == M_VOTER && r->prs[i].id == from && !r->votes[i])
            r->votes[i] = granted ? 1 : 2;
    size_t yes = 0, no = 0;
    for (size_t i = 0; i < N_SLOTS; i++) {
        if (r->prs[i].member != M_VOTER) continue;
        if (r->votes[i] == 1) yes++;
        if (r->votes[i] == 2) no++;
    }
    *rejected = no;
    return yes >= quorum(r);
}

static void campaign(raft *r, int pre, int transfer)
{
    uint64_t term;
    if (!is_voter(r)) return; /* learners and removed nodes never lead */
    if (pre) {
        reset(r, r->term);
        r->role = RAFT_PRECANDIDATE;
        term = r->term + 1;
    } else {
        reset(r, r->term + 1);
        r->role = RAFT_CANDIDATE;
        r->vote = r->id;
        term = r->term;
    }
    size_t rejected;
    if (tally(r, r->id, 1, &rejected)) {
        /* a single voter wins its own election */
        if (pre)
            campaign(r, 0, 0);
        else
            become_leader(r);
        return;
    }
    FOR_PRS(r, p)
    {
        if (p->id == r->id || p->member != M_VOTER) continue;
        raft_msg *m = send_msg(r, p->id, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE);
        if (!m) continue;
        m->term = term;
        m->transfer = (uint8_t)transfer;
        m->index = raft_last_index(r);
        m->log_term = last_term(r);
    }
}

void raft_campaign(raft *r)
{
    if (r->role != RAFT_LEADER) campaign(r, r->cfg.pre_vote, 0);
}

/* The transferee may act on TimeoutNow however late (it may stall before
 * reading it), and voters grant its campaign whatever lease they promised:
 * from now on this term's reads take heartbeat rounds, even if the
 * transfer is given up. */
static void send_timeout_now(raft *r, uint64_t to)
{
    r->lease_void = 1;
    send_msg(r, to, RAFT_MSG_TIMEOUT_NOW);
}

int raft_transfer_leader(raft *r, uint64_t to)
{
    if (r->role != RAFT_LEADER) return RAFT_ERR_NOT_LEADER;
    progress *p = pr_of(r, to);
    if (!p || to == r->id || p->member != M_VOTER) return RAFT_ERR_INVALID;
    r->transferee = to;
    r->transfer_elapsed = 0;
    if (p->match == raft_last_index(r))
        send_timeout_now(r, to);
    else
        send_append(r, p, 1);
    return RAFT_OK;
}

/* ---- replication ---- */

/* Bytes of snapshot a follower may have unacknowledged: snapshot_inflight
 * chunks, within the append window (messages and bytes); at least one. */
static uint64_t snap_window(const raft *r, uint64_t chunk)
{
    uint64_t n = r->cfg.snapshot_inflight ? r->cfg.snapshot_inflight : 1;
    if (n > r->cfg.max_inflight_msgs) n = r->cfg.max_inflight_msgs;
    if (r->cfg.max_inflight_bytes && n * chunk > r->cfg.max_inflight_bytes)
        n = r->cfg.max_inflight_bytes / chunk;
    return (n ? n : 1) * chunk;
}

/* Resend from off: the follower holds that much (or the chunks after it
 * were lost).  Refusals of chunks sent before now are out of date. */
static void snap_rewind(progress *p, uint64_t off)
{
    p->snap_next = off;
    p->snap_done_sent = 0;
    p->snap_round++;
}

static uint64_t snap_chunk_bytes(const raft *r)
{
    uint64_t chunk =
        r->cfg.snapshot_chunk_bytes ? r->cfg.snapshot_chunk_bytes : r->cfg.max_msg_bytes;
    return chunk ? chunk : 1;
}

/* The chunk at off (<= the snapshot's size); NULL if no message could be
 * made. */
static raft_msg *send_chunk(raft *r, progress *p, uint64_t off)
{
    raft_conf *conf = malloc(sizeof(*conf));
    if (!conf) return NULL;
    raft_msg *m = send_msg(r, p->id, RAFT_MSG_SNAP);
    if (!m) {
        free(conf);
        return NULL;
    }
    *conf = r->snap.conf;
    m->conf = conf;
    uint64_t left = r->snap.size - off, chunk = snap_chunk_bytes(r);
    m->size = r->snap.size;
    m->index = r->snap.index;
    m->log_term = r->snap.term;
    m->offset = off;
    m->data_len = (uint32_t)(left < chunk ? left : chunk);
    m->done = off + m->data_len == r->snap.size;
    m->commit = r->commit;
    m->ctx = p->snap_round;
    return m;
}

/* The follower needs entries compacted away: send the next chunks of the
 * snapshot, as many as its window allows.  The follower takes them in
 * order and acknowledges each; a chunk out of order is refused with the
 * offset it holds, and the leader goes back there (once: the refusals of
 * the other chunks sent before it went back are ignored); with no ack over
 * a heartbeat interval, the first unacknowledged chunk is sent again.  The
 * caller fills the chunks' bytes when it sends them. */
static void send_snapshot(raft *r, progress *p)
{
    if (p->state != PR_SNAPSHOT || p->snap_index != r->snap.index) {
        p->state = PR_SNAPSHOT;
        p->snap_index = r->snap.index;
        p->snap_next = p->snap_acked = 0;
        p->snap_done_sent = 0;
        p->snap_hb_acked = UINT64_MAX;
        p->in_start = p->in_count = p->in_bytes = 0;
    }
    uint64_t window = snap_window(r, snap_chunk_bytes(r));
    while (!p->snap_done_sent && p->snap_next - p->snap_acked < window) {
        raft_msg *m = send_chunk(r, p, p->snap_next);
        if (!m) return;
        p->snap_next += m->data_len;
        p->snap_done_sent = m->done;
    }
}

/* Send the follower what it lacks, if its progress state allows.  Returns
 * 1 if a message with entries went out. */
static int send_append(raft *r, progress *p, int send_empty)
{
    if (p->next <= r->offset || p->state == PR_SNAPSHOT) {
        send_snapshot(r, p);
        return 0;
    }
    if (p->state == PR_PROBE && p->probe_sent) return 0;
    if (p->state == PR_REPLICATE && inflight_full(r, p)) return 0;
    uint64_t last = raft_last_index(r);
    if (p->next > last && !send_empty) return 0;
    uint64_t prev = p->next - 1;
    raft_msg *m = send_msg(r, p->id, RAFT_MSG_APP);
    if (!m) return 0;
    m->index = prev;
    m->log_term = raft_term_at(r, prev);
    m->commit = r->commit;
    p->sent_commit = r->commit;
    size_t n = 0, bytes = 0;
    for (uint64_t i = p->next; i <= last; i++) {
        size_t len = raft_entry_at(r, i)->len;
        if (n > 0 && bytes + len > r->cfg.max_msg_bytes) break;
        n++;
        bytes += len;
    }
    if (n) {
        m->entries = calloc(n, sizeof(raft_entry));
        if (!m->entries) {
            r->n_msgs--;
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (entry_copy(&m->entries[i], raft_entry_at(r, p->next + i)) != 0) {
                raft_msg_free(m);
                r->n_msgs--;
                return 0;
            }
            m->n_entries++;
        }
    }
    if (p->state == PR_REPLICATE) {
        if (n) {
            p->next += n;
            inflight_add(r, p, p->next - 1, bytes);
        }
    } else {
        p->probe_sent = 1;
    }
    return n > 0;
}

/* Tell the follower the commit index if it holds entries it does not
 * know committed.  To a follower in the replicate state such an append
 * promises nothing the appends in flight do not already (their acks say
 * how far it matches), so it asks for no ack; a probe does. */
static void send_commit(raft *r, progress *p)
{
    uint64_t c = p->match < r->commit ? p->match : r->commit;
    if (p->sent_commit >= c || p->state == PR_SNAPSHOT) return;
    size_t at = r->n_msgs;
    send_append(r, p, 1);
    if (p->state == PR_REPLICATE && r->n_msgs > at && !r->msgs[at].n_entries)
        r->msgs[at].commit_only = 1;
}

static void bcast_append(raft *r)
{
    FOR_PRS(r, p)
    if (p->id != r->id) send_append(r, p, 1);
}

static void bcast_heartbeat(raft *r)
{
    FOR_PRS(r, p)
    {
        if (p->id == r->id) continue;
        raft_msg *m = send_msg(r, p->id, RAFT_MSG_HEARTBEAT);
        if (!m) continue;
        /* never past what the follower is known to have */
        m->commit = p->match < r->commit ? p->match : r->commit;
        if (m->commit > p->sent_commit) p->sent_commit = m->commit;
        m->ctx = r->read_round_sent;
        m->tick = r->ticks;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The index a quorum of voters holds, from per-peer values. */
static uint64_t quorum_value(raft *r, uint64_t (*get)(const progress *))
{
    uint64_t v[N_SLOTS];
    size_t n = 0;
    FOR_PRS(r, p)
    if (p->member == M_VOTER) v[n++] = get(p);
    if (!n) return 0;
    qsort(v, n, sizeof(v[0]), cmp_desc);
    return v[quorum(r) - 1];
}

static uint64_t get_match(const progress *p) { return p->match; }
static uint64_t get_read_acked(const progress *p) { return p->read_acked; }
static uint64_t get_ack_tick(const progress *p) { return p->ack_tick; }

static int lease_valid(raft *r)
{
    if (!r->cfg.lease_ticks || r->transferee != RAFT_NONE || r->lease_void) return 0;
    pr_of(r, r->id)->ack_tick = r->ticks;
    uint64_t since = quorum_value(r, get_ack_tick); /* 0: no quorum acked yet */
    return since && r->ticks < since + (uint64_t)r->cfg.lease_ticks;
}

static int committed_in_term(const raft *r)
{
    return BUG(r, RAFT_BUG_NO_NOOP) || raft_term_at(r, r->commit) == r->term;
}

/* The term's first commit: the reads that waited for it read what is
 * committed now, confirmed by the next heartbeat round. */
static void start_early_reads(raft *r)
{
    if (!committed_in_term(r)) return;
    for (size_t i = 0; i < r->n_pending; i++) {
        pending_read *pr = &r->pending[i];
        if (!pr->index) {
            pr->index = r->commit;
            pr->round = 0;
        }
    }
    r->n_early = 0;
}

/* Figure 8: only an entry of the leader's own term is committed by
 * counting replicas; earlier ones are committed with it. */
static int maybe_commit(raft *r)
{
    uint64_t idx = quorum_value(r, get_match);
    if (idx <= r->commit) return 0;
    if (raft_term_at(r, idx) != r->term && !BUG(r, RAFT_BUG_FIGURE8)) return 0;
    for (uint64_t i = r->commit + 1; i <= idx; i++) {
        size_t len = raft_entry_at(r, i)->len;
        r->uncommitted_bytes -= len < r->uncommitted_bytes ? len : r->uncommitted_bytes;
    }
    r->commit = idx;
    if (r->n_early) start_early_reads(r);
    return 1;
}

/* A follower's read may be served once it applied index, which is
 * committed: with its term, the follower learns that its own entry there
 * is committed if it holds the same one (log matching), without waiting
 * for the commit index to come with an append. */
static void send_read_resp(raft *r, uint64_t to, uint64_t ctx, uint64_t index)
{
    raft_msg *m = send_msg(r, to, RAFT_MSG_READ_INDEX_RESP);
    if (!m) return;
    m->ctx = ctx;
    m->index = index;
    m->log_term = raft_term_at(r, index);
}

/* Reads confirmed by a quorum's heartbeat acks become safe. */
static void release_reads(raft *r)
{
    uint64_t round = quorum_value(r, get_read_acked);
    size_t keep = 0;
    for (size_t i = 0; i < r->n_pending; i++) {
        pending_read *pr = &r->pending[i];
        /* round 0: queued after the last round went out, so no ack so
         * far confirms it */
        if (!pr->round || pr->round > round) {
            r->pending[keep++] = *pr;
            continue;
        }
        if (pr->from == r->id)
            add_read_state(r, pr->ctx, pr->index);
        else
            send_read_resp(r, pr->from, pr->ctx, pr->index);
    }
    r->n_pending = keep;
}

static int push_pending_read(raft *r, pending_read pr)
{
    if (r->n_pending == r->cap_pending) {
        size_t cap = r->cap_pending ? r->cap_pending * 2 : 16;
        pending_read *n = realloc(r->pending, cap * sizeof(*n));
        if (!n) return RAFT_ERR_NOMEM;
        r->pending = n;
        r->cap_pending = cap;
    }
    r->pending[r->n_pending++] = pr;
    return RAFT_OK;
}

static int queue_read(raft *r, uint64_t ctx, uint64_t from)
{
    if (!committed_in_term(r)) {
        if (from == r->id || r->n_early == EARLY_READS_MAX) return RAFT_ERR_BUSY;
        /* round UINT64_MAX: in no heartbeat round until it starts */
        int rc = push_pending_read(r, (pending_read){ctx, 0, from, UINT64_MAX});
        if (rc == RAFT_OK) r->n_early++;
        return rc;
    }
    if ((n_voters(r) == 1 && is_voter(r)) || lease_valid(r) || BUG(r, RAFT_BUG_READ_STALE)) {
        if (from == r->id)
            add_read_state(r, ctx, r->commit);
        else
            send_read_resp(r, from, ctx, r->commit);
        return RAFT_OK;
    }
    /* round 0 = not yet in a heartbeat round; raft_ready_get starts one
     * round for every read queued since the last */
    return push_pending_read(r, (pending_read){ctx, r->commit, from, 0});
}

int raft_read_index(raft *r, uint64_t ctx)
{
    if (r->role == RAFT_LEADER) return queue_read(r, ctx, r->id);
    if (r->lead == RAFT_NONE) return RAFT_ERR_NOT_LEADER;
    raft_msg *m = send_msg(r, r->lead, RAFT_MSG_READ_INDEX);
    if (!m) return RAFT_ERR_NOMEM;
    m->ctx = ctx;
    return RAFT_OK;
}

int raft_propose(raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term)
{
    if (r->role != RAFT_LEADER) return RAFT_ERR_NOT_LEADER;
    if (len > UINT32_MAX) return RAFT_ERR_INVALID;
    if (r->transferee != RAFT_NONE) return RAFT_ERR_BUSY;
    if (r->cfg.max_uncommitted_bytes && r->uncommitted_bytes >= r->cfg.max_uncommitted_bytes)
        return RAFT_ERR_BUSY;
    raft_entry e = {.term = r->term,
                    .index = raft_last_index(r) + 1,
                    .type = RAFT_ENTRY_NORMAL,
                    .len = (uint32_t)len,
                    .data = (uint8_t *)data};
    if (log_append(r, &e) != 0) return RAFT_ERR_NOMEM;
    r->uncommitted_bytes += len;
    *index = e.index;
    *term = e.term;
    if (n_voters(r) == 1) maybe_commit(r);
    return RAFT_OK;
}

static int conf_apply_op(const raft_conf *cur, int op, uint64_t id, raft_conf *out)
{
    int voter = raft_conf_has_voter(cur, id), learner = raft_conf_has_learner(cur, id);
    *out = *cur;
    if (op == RAFT_CONF_ADD_LEARNER) {
        if (voter || learner) return RAFT_ERR_INVALID;
        if (cur->n_voters + cur->n_learners == RAFT_MAX_PEERS) return RAFT_ERR_INVALID;
        out->learners[out->n_learners++] = id;
        return RAFT_OK;
    }
    /* remove id from both lists; ADD_VOTER puts it back as a voter */
    out->n_voters = out->n_learners = 0;
    for (size_t i = 0; i < cur->n_voters; i++)
        if (cur->voters[i] != id) out->voters[out->n_voters++] = cur->voters[i];
    for (size_t i = 0; i < cur->n_learners; i++)
        if (cur->learners[i] != id) out->learners[out->n_learners++] = cur->learners[i];
    if (op == RAFT_CONF_ADD_VOTER) {
        if (voter) return RAFT_ERR_INVALID;
        if (!learner && cur->n_voters + cur->n_learners == RAFT_MAX_PEERS) return RAFT_ERR_INVALID;
        out->voters[out->n_voters++] = id;
        return RAFT_OK;
    }
    if (op != RAFT_CONF_REMOVE || (!voter && !learner)) return RAFT_ERR_INVALID;
    return out->n_voters ? RAFT_OK : RAFT_ERR_INVALID; /* never the last voter */
}

int raft_change_conf(raft *r, int op, uint64_t id, uint64_t *index, uint64_t *term)
{
    if (r->role != RAFT_LEADER) return RAFT_ERR_NOT_LEADER;
    if (id == RAFT_NONE) return RAFT_ERR_INVALID;
    /* One change at a time, and only once this leader committed an entry
     * of its term: a change proposed on top of an uncommitted one (its
     * own, or a deposed leader's) could yield two configurations whose
     * majorities do not overlap. */
    if (!BUG(r, RAFT_BUG_CONF_MULTI) && (last_conf_index(r) > r->commit || !committed_in_term(r)))
        return RAFT_ERR_BUSY;
    if (r->transferee != RAFT_NONE) return RAFT_ERR_BUSY;
    raft_conf next;
    int rc = conf_apply_op(&r->conf, op, id, &next);
    if (rc != RAFT_OK) return rc;
    uint8_t buf[RAFT_CONF_MAX_BYTES];
    raft_entry e = {.term = r->term,
                    .index = raft_last_index(r) + 1,
                    .type = RAFT_ENTRY_CONF,
                    .len = (uint32_t)raft_conf_encode(&next, buf),
                    .data = buf};
    if (log_append(r, &e) != 0) return RAFT_ERR_NOMEM;
    *index = e.index;
    *term = e.term;
    /* a new member starts probing at once */
    bcast_append(r);
    if (n_voters(r) == 1) maybe_commit(r);
    return RAFT_OK;
}

void raft_get_conf(const raft *r, raft_conf *out) { *out = r->conf; }

uint64_t raft_peer_silence(const raft *r, uint64_t id)
{
    if (r->role != RAFT_LEADER) return UINT64_MAX;
    if (id == r->id) return 0;
    for (size_t i = 0; i < N_SLOTS; i++)
        if (r->prs[i].member != M_NONE && r->prs[i].id == id) return r->ticks - r->prs[i].heard;
    return UINT64_MAX;
}

uint64_t raft_peer_match(const raft *r, uint64_t id)
{
    for (size_t i = 0; i < N_SLOTS; i++)
        if (r->prs[i].member != M_NONE && r->prs[i].id == id) return r->prs[i].match;
    return 0;
}

const raft_snapshot_meta *raft_get_snapshot(const raft *r) { return &r->snap; }

int raft_snapshot_meta_at(const raft *r, uint64_t index, raft_snapshot_meta *out)
{
    if (index <= r->offset || index > raft_last_index(r)) return RAFT_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->index = index;
    out->term = raft_term_at(r, index);
    out->conf = conf_at(r, index);
    return RAFT_OK;
}

int raft_compact(raft *r, uint64_t index, uint64_t size)
{
    if (index <= r->snap.index || index > r->applied || index > raft_last_index(r))
        return RAFT_ERR_INVALID;
    r->snap.index = index;
    r->snap.term = raft_term_at(r, index);
    r->snap.size = size;
    r->snap.conf = conf_at(r, index);
    r->base_conf = r->snap.conf;
    log_compact(r, index);
    r->offset = index;
    r->offset_term = r->snap.term;
    /* the snapshot is durable: so is everything it covers */
    if (r->stable < index) r->stable = index;
    /* followers fed the previous snapshot start again with this one */
    FOR_PRS(r, p)
    if (p->state == PR_SNAPSHOT) p->snap_index = 0;
    return RAFT_OK;
}

/* ---- receiving ---- */

static void handle_append(raft *r, const raft_msg *m, int *corrupt)
{
    raft_msg *resp;
    if (m->index < r->commit) {
        resp = send_msg(r, m->from, RAFT_MSG_APP_RESP);
        if (resp) resp->index = r->commit;
        return;
    }
    uint64_t last = raft_last_index(r);
    if (m->index > last || raft_term_at(r, m->index) != m->log_term) {
        /* Mismatch: hint the last index at which our log could match,
         * skipping every entry of a term newer than the leader's prev. */
        uint64_t hint = m->index < last ? m->index : last;
        while (hint > r->offset && raft_term_at(r, hint) > m->log_term)
            hint--;
        resp = send_msg(r, m->from, RAFT_MSG_APP_RESP);
        if (!resp) return;
        resp->reject = 1;
        resp->index = m->index;
        resp->hint_index = hint;
        resp->hint_term = raft_term_at(r, hint);
        return;
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        const raft_entry *e = &m->entries[i];
        if (e->index <= r->offset) continue; /* in our snapshot */
        if (e->index <= raft_last_index(r)) {
            if (raft_term_at(r, e->index) == e->term) continue;
            if (e->index <= r->commit) {
                *corrupt = 1; /* a committed entry would be overwritten */
                return;
            }
            log_truncate(r, e->index);
        }
        if (log_append(r, e) != 0) return; /* no ack: the leader resends */
    }
    uint64_t lastnew = m->index + m->n_entries;
    uint64_t c = m->commit < lastnew ? m->commit : lastnew;
    if (c > r->commit) r->commit = c;
    if (m->commit_only) return;
    resp = send_msg(r, m->from, RAFT_MSG_APP_RESP);
    if (resp) resp->index = lastnew;
}

static void snap_resp(raft *r, const raft_msg *m, int reject, uint64_t offset)
{
    raft_msg *resp = send_msg(r, m->from, RAFT_MSG_SNAP_RESP);
    if (!resp) return;
    resp->reject = (uint8_t)reject;
    resp->index = m->index;
    resp->offset = offset;
    resp->ctx = m->ctx;
}

static int queue_chunk(raft *r, const raft_msg *m)
{
    if (r->n_chunks == r->cap_chunks) {
        size_t cap = r->cap_chunks ? r->cap_chunks * 2 : 4;
        raft_msg *n = realloc(r->chunks, cap * sizeof(*n));
        if (!n) return -1;
        r->chunks = n;
        r->cap_chunks = cap;
    }
    if (raft_msg_copy(&r->chunks[r->n_chunks], m) != 0) return -1;
    r->n_chunks++;
    return 0;
}

/* The last chunk arrived: the snapshot replaces the log up to its index.
 * Entries after it are kept only if the log holds the snapshot's last
 * entry (then they follow it); otherwise they may conflict, and go. */
static void install_snapshot(raft *r, const raft_snapshot_meta *s)
{
    if (!(raft_term_at(r, s->index) == s->term && s->index <= raft_last_index(r)) ||
        s->index < r->offset)
        log_truncate(r, r->offset + 1);
    log_compact(r, s->index);
    r->offset = s->index;
    r->offset_term = s->term;
    if (r->stable < s->index) r->stable = s->index;
    if (r->unstable_from <= s->index) r->unstable_from = s->index + 1;
    if (r->commit < s->index) r->commit = s->index;
    if (r->applied < s->index) r->applied = s->index;
    r->snap = *s;
    r->base_conf = s->conf;
    r->compact_asked = s->index;
    r->bytes_since_snap = 0;
    conf_refresh(r);
    r->installed = 1;
}

static void handle_snap(raft *r, const raft_msg *m)
{
    /* a completed snapshot not yet handed out: its chunks are the last in
     * the Ready; the leader resends this one later */
    if (r->installed || !m->conf) return;
    int stale_ok = BUG(r, RAFT_BUG_SNAP_STALE) && m->index > r->offset;
    if (m->index <= r->commit && !stale_ok) {
        /* we have all of it: tell the leader where we are */
        r->recv_active = 0;
        raft_msg *resp = send_msg(r, m->from, RAFT_MSG_APP_RESP);
        if (resp) resp->index = r->commit;
        return;
    }
    /* a stream is one leader's (in one term) snapshot at one index; its
     * first chunk arriving again is a duplicate, not a new start */
    int same = r->recv_active && r->recv_from == m->from && r->recv_term == m->term &&
               r->recv.index == m->index;
    if (m->offset == 0 && !(same && r->recv_off > 0)) {
        r->recv_active = 1;
        r->recv_from = m->from;
        r->recv_term = m->term;
        r->recv = (raft_snapshot_meta){m->index, m->log_term, m->size, *m->conf};
        r->recv_off = 0;
    }
    same = r->recv_active && r->recv_from == m->from && r->recv_term == m->term &&
           r->recv.index == m->index && r->recv.term == m->log_term && r->recv.size == m->size;
    /* a chunk already written (a duplicate, or resent after a lost ack):
     * acknowledge what is held, so the leader moves on */
    if (same && m->offset < r->recv_off) {
        snap_resp(r, m, 0, r->recv_off);
        return;
    }
    int gap_ok = BUG(r, RAFT_BUG_SNAP_GAP) && same && m->offset > r->recv_off;
    if (!same || (m->offset != r->recv_off && !gap_ok) || m->data_len > m->size - m->offset ||
        (m->data_len && !m->data)) {
        /* a chunk after a gap (an earlier one lost or late) or of another
         * stream: say where to resume */
        snap_resp(r, m, 1, same ? r->recv_off : 0);
        return;
    }
    if (queue_chunk(r, m) != 0) return; /* no ack: the leader resends */
    r->recv_off = m->offset + m->data_len;
    if (!m->done) {
        snap_resp(r, m, 0, r->recv_off);
        return;
    }
    r->recv_active = 0;
    raft_snapshot_meta s = r->recv;
    install_snapshot(r, &s);
    raft_msg *resp = send_msg(r, m->from, RAFT_MSG_APP_RESP);
    if (resp) resp->index = s.index;
}

static void handle_snap_resp(raft *r, const raft_msg *m, progress *p)
{
    p->recent_active = 1;
    p->heard = r->ticks;
    if (p->state != PR_SNAPSHOT || m->index != p->snap_index) return;
    uint64_t off = m->offset <= r->snap.size ? m->offset : 0;
    if (!m->reject) {
        /* acks are cumulative; a late one changes nothing */
        if (off <= p->snap_acked) return;
        p->snap_acked = off;
        if (p->snap_next < off) snap_rewind(p, off);
    } else {
        /* A refusal of a chunk sent before the leader last went back is
         * answered already.  Otherwise it is obeyed even when it names
         * less than was acked: it may be a stale copy (the follower then
         * refuses the chunk and names its true offset), but the acks may
         * as well have come from an earlier stream of this snapshot, and
         * ignoring the follower would leave both waiting forever. */
        if (m->ctx != p->snap_round) return;
        p->snap_acked = off;
        snap_rewind(p, off);
    }
    send_snapshot(r, p);
}

/* The largest index <= index whose term is <= term (in our log). */
static uint64_t find_conflict_by_term(const raft *r, uint64_t index, uint64_t term)
{
    if (index > raft_last_index(r)) index = raft_last_index(r);
    while (index > r->offset && raft_term_at(r, index) > term)
        index--;
    return index;
}

static void handle_append_resp(raft *r, const raft_msg *m, progress *p)
{
    p->recent_active = 1;
    p->heard = r->ticks;
    if (m->reject) {
        if (p->state == PR_SNAPSHOT) return; /* stale */
        if (p->state == PR_REPLICATE) {
            if (m->index <= p->match) return; /* stale */
        } else if (m->index != p->next - 1) {
            return; /* stale */
        }
        uint64_t next = find_conflict_by_term(r, m->hint_index, m->hint_term) + 1;
        if (next <= p->match) next = p->match + 1;
        if (next > p->next) next = p->next;
        if (next == p->next && p->state == PR_PROBE && p->next > p->match + 1) next--;
        p->next = next;
        pr_become_probe(r, p);
        send_append(r, p, 1);
        return;
    }
    int was_paused = p->state == PR_PROBE && p->probe_sent;
    if (r->transferee == p->id && m->index == raft_last_index(r) && m->index > p->match)
        send_timeout_now(r, p->id);
    if (m->index > p->match) {
        p->match = m->index;
        if (p->next <= m->index) p->next = m->index + 1;
        if (p->state != PR_REPLICATE) {
            p->state = PR_REPLICATE;
            p->in_start = p->in_count = p->in_bytes = 0;
        } else {
            inflight_free_to(r, p, m->index);
        }
        /* a new commit index reaches the followers from raft_ready_get
         * (send_commit) */
        maybe_commit(r);
        while (send_append(r, p, 0)) {
        }
    } else if (was_paused) {
        p->probe_sent = 0;
        send_append(r, p, 0);
    }
}

static void handle_vote(raft *r, const raft_msg *m)
{
    int pre = m->type == RAFT_MSG_PREVOTE;
    int can = r->vote == m->from || (r->vote == RAFT_NONE && r->lead == RAFT_NONE) ||
              (pre && m->term > r->term);
    int uptodate = m->log_term > last_term(r) ||
                   (m->log_term == last_term(r) && m->index >= raft_last_index(r));
    raft_msg *resp = send_msg(r, m->from, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP);
    if (can && uptodate) {
        if (resp) resp->term = m->term;
        if (!pre) {
            r->election_elapsed = 0;
            r->vote = m->from;
        }
    } else if (resp) {
        resp->reject = 1;
    }
}

static void handle_vote_resp(raft *r, const raft_msg *m)
{
    int pre = m->type == RAFT_MSG_PREVOTE_RESP;
    if (pre != (r->role == RAFT_PRECANDIDATE)) return;
    if (r->role != RAFT_PRECANDIDATE && r->role != RAFT_CANDIDATE) return;
    if (pre && !m->reject && m->term != r->term + 1) return;
    size_t rejected;
    if (tally(r, m->from, !m->reject, &rejected)) {
        if (pre)
            campaign(r, 0, 0);
        else
            become_leader(r);
    } else if (rejected >= quorum(r)) {
        become_follower(r, r->term, RAFT_NONE);
    }
}

static void handle_heartbeat_resp(raft *r, const raft_msg *m, progress *p)
{
    p->recent_active = 1;
    p->heard = r->ticks;
    p->probe_sent = 0;
    /* chunks or their acks may be lost: with no ack over a whole
     * heartbeat interval, send the first unacknowledged chunk again (its
     * answer says where the follower is) */
    if (p->state == PR_SNAPSHOT && p->snap_index == r->snap.index) {
        if (p->snap_hb_acked == p->snap_acked && p->snap_next > p->snap_acked)
            send_chunk(r, p, p->snap_acked);
        p->snap_hb_acked = p->snap_acked;
    }
    if (m->tick > p->ack_tick) p->ack_tick = m->tick;
    /* appends or their acks may be lost: free a slot so the next append
     * goes out and, if it leaves a gap, is rejected, which starts a probe */
    if (p->state == PR_REPLICATE && inflight_full(r, p)) {
        p->in_bytes -= p->infl[p->in_start].bytes;
        p->in_start = (p->in_start + 1) % r->cfg.max_inflight_msgs;
        p->in_count--;
    }
    if (p->match < raft_last_index(r)) send_append(r, p, 1);
    if (m->ctx > p->read_acked) {
        p->read_acked = m->ctx;
        release_reads(r);
    }
}

/* Common term handling; returns 0 if the message is to be dropped. */
static int check_term(raft *r, const raft_msg *m)
{
    if (m->term > r->term) {
        if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
            /* A node that heard from a live leader within the minimum
             * election timeout ignores campaigns: this is what makes a
             * partitioned node's rejoin harmless with check-quorum. */
            if (r->cfg.check_quorum && r->lead != RAFT_NONE && !m->transfer &&
                r->election_elapsed < r->cfg.election_ticks)
                return 0;
            /* a restarted node may have acked a lease it no longer knows of */
            if (r->startup_quiet && !m->transfer) return 0;
        }
        if (m->type == RAFT_MSG_PREVOTE) return 1;
        if (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject) return 1;
        int from_leader =
            m->type == RAFT_MSG_APP || m->type == RAFT_MSG_HEARTBEAT || m->type == RAFT_MSG_SNAP;
        become_follower(r, m->term, from_leader ? m->from : RAFT_NONE);
        return 1;
    }
    if (m->term < r->term) {
        if ((r->cfg.check_quorum || r->cfg.pre_vote) &&
            (m->type == RAFT_MSG_APP || m->type == RAFT_MSG_HEARTBEAT ||
             m->type == RAFT_MSG_SNAP)) {
            /* tell a stale leader about the newer term */
            send_msg(r, m->from, RAFT_MSG_APP_RESP);
        } else if (m->type == RAFT_MSG_PREVOTE) {
            raft_msg *resp = send_msg(r, m->from, RAFT_MSG_PREVOTE_RESP);
            if (resp) resp->reject = 1;
        }
        return 0;
    }
    return 1;
}

int raft_step(raft *r, const raft_msg *m)
{
    /* Messages from outside the configuration are taken: a new leader
     * may be unknown to a node that has not seen the entry adding it. */
    if (m->to != r->id || m->from == RAFT_NONE || m->from == r->id) return RAFT_OK;
    if (!check_term(r, m)) return RAFT_OK;
    progress *p = pr_of(r, m->from);
    int replier = m->type == RAFT_MSG_APP_RESP || m->type == RAFT_MSG_HEARTBEAT_RESP ||
                  m->type == RAFT_MSG_SNAP_RESP;
    if (replier && !p) return RAFT_OK;
    int corrupt = 0;
    switch (m->type) {
    case RAFT_MSG_PREVOTE:
    case RAFT_MSG_VOTE: handle_vote(r, m); break;
    case RAFT_MSG_PREVOTE_RESP:
    case RAFT_MSG_VOTE_RESP: handle_vote_resp(r, m); break;
    case RAFT_MSG_APP:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAP:
        if (r->role == RAFT_LEADER) break; /* same term: impossible */
        if (r->role != RAFT_FOLLOWER) become_follower(r, m->term, m->from);
        r->lead = m->from;
        r->election_elapsed = 0;
        if (m->type == RAFT_MSG_APP) {
            handle_append(r, m, &corrupt);
        } else if (m->type == RAFT_MSG_SNAP) {
            handle_snap(r, m);
        } else {
            if (m->commit > r->commit && m->commit <= raft_last_index(r)) r->commit = m->commit;
            raft_msg *resp = send_msg(r, m->from, RAFT_MSG_HEARTBEAT_RESP);
            if (resp) {
                resp->ctx = m->ctx;
                resp->tick = m->tick;
            }
        }
        break;
    case RAFT_MSG_APP_RESP:
        if (r->role == RAFT_LEADER) handle_append_resp(r, m, p);
        break;
    case RAFT_MSG_HEARTBEAT_RESP:
        if (r->role == RAFT_LEADER) handle_heartbeat_resp(r, m, p);
        break;
    case RAFT_MSG_SNAP_RESP:
        if (r->role == RAFT_LEADER) handle_snap_resp(r, m, p);
        break;
    case RAFT_MSG_READ_INDEX:
        if (r->role == RAFT_LEADER) queue_read(r, m->ctx, m->from);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        /* no pre-vote: the leader asked, so the cluster is healthy
         * (campaign() ignores it on a node that is not a voter) */
        if (r->role != RAFT_LEADER) campaign(r, 0, 1);
        break;
    case RAFT_MSG_READ_INDEX_RESP:
        if (r->role != RAFT_FOLLOWER || m->from != r->lead) break;
        if (m->index > r->commit && m->log_term && raft_term_at(r, m->index) == m->log_term)
            r->commit = m->index;
        add_read_state(r, m->ctx, m->index);
        break;
    }
    return corrupt ? RAFT_ERR_CORRUPT : RAFT_OK;
}

/* ---- time ---- */

static int quorum_active(raft *r)
{
    size_t n = 0;
    FOR_PRS(r, p)
    {
        if (p->member == M_VOTER && (p->id == r->id || p->recent_active)) n++;
        p->recent_active = 0;
    }
    return n >= quorum(r);
}

void raft_tick(raft *r)
{
    r->ticks++;
    if (r->startup_quiet && r->ticks >= (uint64_t)r->cfg.election_ticks) r->startup_quiet = 0;
    r->election_elapsed++;
    if (r->role != RAFT_LEADER) {
        /* a node that is not a voter never campaigns, but its elapsed
         * time keeps counting: it must not think it heard from a leader */
        if (r->election_elapsed >= r->timeout) {
            if (is_voter(r))
                campaign(r, r->cfg.pre_vote, 0);
            else
                r->election_elapsed = r->timeout;
        }
        return;
    }
    if (r->transferee != RAFT_NONE && ++r->transfer_elapsed >= r->cfg.election_ticks)
        r->transferee = RAFT_NONE; /* the transferee did not take over: carry on */
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (r->cfg.check_quorum && !quorum_active(r)) {
            become_follower(r, r->term, RAFT_NONE);
            return;
        }
    }
    if (++r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        bcast_heartbeat(r);
    }
}

void raft_clock(raft *r, uint64_t elapsed)
{
    if (elapsed + 1 > r->ticks) r->ticks = elapsed + 1;
}

/* ---- ready / advance ---- */

/* A leader that removed itself leads until the change commits (it counts
 * the new configuration's voters, not itself), then hands over to the
 * most up-to-date voter and steps down. */
static void maybe_step_down_removed(raft *r)
{
    if (r->role != RAFT_LEADER || is_voter(r) || r->commit < last_conf_index(r)) return;
    progress *best = NULL;
    FOR_PRS(r, p)
    if (p->member == M_VOTER && (!best || p->match > best->match)) best = p;
    if (best && best->match == raft_last_index(r)) send_timeout_now(r, best->id);
    become_follower(r, r->term, RAFT_NONE);
}

/* Ask for a snapshot once enough was applied since the last one. */
static uint64_t want_compact(raft *r, uint64_t to, const raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_committed; i++)
        r->bytes_since_snap += rd->committed[i].len;
    if (r->compact_asked < r->snap.index) r->compact_asked = r->snap.index;
    int by_entries = r->cfg.snapshot_entries && to >= r->compact_asked + r->cfg.snapshot_entries;
    int by_bytes = r->cfg.snapshot_bytes && r->bytes_since_snap >= r->cfg.snapshot_bytes;
    if (to <= r->compact_asked || !(by_entries || by_bytes)) return 0;
    r->compact_asked = to;
    r->bytes_since_snap = 0;
    return to;
}

int raft_ready_get(raft *r, raft_ready *rd)
{
    memset(rd, 0, sizeof(*rd));
    maybe_step_down_removed(r);
    if (r->role == RAFT_LEADER) {
        /* Proposals since the last Ready go out as one append per peer,
         * carrying the commit index; a follower that gets none learns a
         * new commit index alone, unless the caller holds it back (its
         * next append comes soon: raft_hold_commit). */
        FOR_PRS(r, p)
        if (p->id != r->id) {
            while (send_append(r, p, 0)) {
            }
            if (!r->commit_hold) send_commit(r, p);
        }
        /* Every Ready with new reads starts a round for them at once:
         * rounds overlap, so a read waits one round trip, not the rest of
         * another round first.  (One round at a time was tried: under
         * load the loop's iterations already follow the acks, so it sent
         * as many rounds and made reads wait longer.) */
        int fresh = 0;
        for (size_t i = 0; i < r->n_pending; i++)
            if (!r->pending[i].round) {
                if (!fresh) r->read_round_sent = ++r->read_round;
                fresh = 1;
                r->pending[i].round = r->read_round_sent;
            }
        if (fresh) {
            pr_of(r, r->id)->read_acked = r->read_round_sent;
            bcast_heartbeat(r);
        }
    }
    rd->hs = (raft_hard_state){r->term, r->vote, r->commit};
    if (BUG(r, RAFT_BUG_VOTE_UNSYNCED))
        rd->hs.vote = r->term == r->prev_hs.term ? r->prev_hs.vote : RAFT_NONE;
    rd->hs_changed = memcmp(&rd->hs, &r->prev_hs, sizeof(rd->hs)) != 0;
    uint64_t last = raft_last_index(r);
    if (r->unstable_from <= last) {
        rd->entries = raft_entry_at(r, r->unstable_from);
        rd->n_entries = last - r->unstable_from + 1;
    }
    uint64_t to = r->commit < last ? r->commit : last;
    if (to > r->applied) {
        rd->committed = raft_entry_at(r, r->applied + 1);
        rd->n_committed = to - r->applied;
    }
    rd->msgs = r->msgs;
    rd->n_msgs = r->n_msgs;
    rd->reads = r->reads;
    rd->n_reads = r->n_reads;
    rd->snap_chunks = r->chunks;
    rd->n_snap_chunks = r->n_chunks;
    if (r->installed) {
        r->rd_snap = r->snap;
        rd->snapshot = &r->rd_snap;
        r->installed = 0;
    }
    rd->compact_index = want_compact(r, to > r->applied ? to : r->applied, rd);
    /* a leader's messages rest on nothing of this Ready but a term and
     * vote already durable (a node that became leader in it has a new
     * term to save first) */
    rd->send_early = r->role == RAFT_LEADER && rd->hs.term == r->prev_hs.term &&
                     rd->hs.vote == r->prev_hs.vote && !rd->snapshot && !rd->n_snap_chunks;
    r->rd_hs = rd->hs;
    r->rd_stable_to = last;
    r->rd_applied_to = to > r->applied ? to : r->applied;
    r->rd_msgs = r->msgs;
    r->rd_n_msgs = r->n_msgs;
    r->rd_reads = r->reads;
    r->rd_n_reads = r->n_reads;
    r->rd_chunks = r->chunks;
    r->rd_n_chunks = r->n_chunks;
    r->msgs = NULL;
    r->n_msgs = r->cap_msgs = 0;
    r->reads = NULL;
    r->n_reads = r->cap_reads = 0;
    r->chunks = NULL;
    r->n_chunks = r->cap_chunks = 0;
    r->rd_out = 1;
    return rd->hs_changed || rd->n_entries || rd->n_committed || rd->n_msgs || rd->n_reads ||
           rd->n_snap_chunks || rd->snapshot || rd->compact_index;
}

static void free_msgs(raft_msg *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raft_msg_free(&v[i]);
    free(v);
}

/* A leader counts its own copy toward commit only once it is durable. */
static void count_self(raft *r)
{
    if (r->role != RAFT_LEADER) return;
    progress *self = pr_of(r, r->id);
    uint64_t durable = BUG(r, RAFT_BUG_SELF_UNSYNCED) ? r->unstable_from - 1 : r->stable;
    if (self && durable > self->match) {
        self->match = durable;
        maybe_commit(r);
    }
}

void raft_advance(raft *r)
{
    if (!r->rd_out) return;
    r->rd_out = 0;
    r->prev_hs = r->rd_hs;
    if (!r->cfg.persist_async && r->rd_stable_to > r->stable) r->stable = r->rd_stable_to;
    if (r->unstable_from <= r->rd_stable_to) r->unstable_from = r->rd_stable_to + 1;
    if (r->rd_applied_to > r->applied) r->applied = r->rd_applied_to;
    free_msgs(r->rd_msgs, r->rd_n_msgs);
    free_msgs(r->rd_chunks, r->rd_n_chunks);
    free(r->rd_reads);
    r->rd_msgs = r->rd_chunks = NULL;
    r->rd_reads = NULL;
    r->rd_n_msgs = r->rd_n_reads = r->rd_n_chunks = 0;
    count_self(r);
}

void raft_persisted(raft *r, uint64_t index, uint64_t term)
{
    /* an entry written, and still the one written: by log matching, so is
     * every entry before it */
    if (index <= r->stable || index >= r->unstable_from || raft_term_at(r, index) != term) return;
    r->stable = index;
    count_self(r);
}

uint64_t raft_get_durable(const raft *r) { return r->stable; }

void raft_hold_commit(raft *r, int hold) { r->commit_hold = hold; }

/* ---- lifecycle ---- */

static int conf_from_config(const raft_config *cfg, raft_conf *c)
{
    if (cfg->n_peers > RAFT_MAX_PEERS || cfg->n_learners > RAFT_MAX_PEERS ||
        cfg->n_peers + cfg->n_learners > RAFT_MAX_PEERS)
        return -1;
    memset(c, 0, sizeof(*c));
    c->n_voters = cfg->n_peers;
    c->n_learners = cfg->n_learners;
    memcpy(c->voters, cfg->peers, cfg->n_peers * sizeof(uint64_t));
    memcpy(c->learners, cfg->learners, cfg->n_learners * sizeof(uint64_t));
    return 0;
}

raft *raft_new_from(const raft_config *cfg, const raft_snapshot_meta *snap,
                    const raft_hard_state *hs, const raft_entry *ents, size_t n)
{
    if (cfg->id == RAFT_NONE || cfg->election_ticks < 1 || cfg->heartbeat_ticks < 1 ||
        cfg->max_inflight_msgs < 1 || cfg->lease_ticks < 0 ||
        cfg->lease_ticks >= cfg->election_ticks || (cfg->lease_ticks && !cfg->check_quorum))
        return NULL;
    if (snap && !snap->index) snap = NULL;
    if (snap && (snap->conf.n_voters + snap->conf.n_learners > RAFT_MAX_PEERS ||
                 snap->conf.n_voters > RAFT_MAX_PEERS || snap->conf.n_learners > RAFT_MAX_PEERS))
        return NULL;
    raft *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->cfg = *cfg;
    r->id = cfg->id;
    r->startup_quiet = cfg->lease_ticks > 0;
    r->ticks = 1; /* a heartbeat's tick is never 0, which means "none" */
    crand_seed(&r->rng, cfg->seed);
    for (size_t i = 0; i < N_SLOTS; i++) {
        r->prs[i].infl = calloc(cfg->max_inflight_msgs, sizeof(inflight));
        if (!r->prs[i].infl) goto fail;
    }
    if (snap) {
        r->snap = *snap;
        r->base_conf = snap->conf;
        r->offset = r->applied = r->commit = r->compact_asked = snap->index;
        r->offset_term = snap->term;
    } else if (conf_from_config(cfg, &r->base_conf) != 0) {
        goto fail;
    }
    pr_init(r, &r->prs[0], r->id);
    r->prs[0].member = M_SELF;
    conf_refresh(r);
    for (size_t i = 0; i < n; i++)
        if (ents[i].index != r->offset + i + 1 || log_append(r, &ents[i]) != 0) goto fail;
    r->stable = raft_last_index(r);
    r->unstable_from = r->stable + 1;
    if (hs) {
        if (hs->commit > r->stable) goto fail;
        r->term = hs->term;
        r->vote = hs->vote;
        if (hs->commit > r->commit) r->commit = hs->commit;
        r->prev_hs = *hs;
    }
    become_follower(r, r->term, RAFT_NONE);
    return r;
fail:
    raft_free(r);
    return NULL;
}

raft *raft_new(const raft_config *cfg, const raft_hard_state *hs, const raft_entry *ents, size_t n)
{
    return raft_new_from(cfg, NULL, hs, ents, n);
}

void raft_free(raft *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->log_len; i++)
        free(r->log[i].data);
    free(r->log);
    free(r->confs);
    for (size_t i = 0; i < N_SLOTS; i++)
        free(r->prs[i].infl);
    free_msgs(r->msgs, r->n_msgs);
    free_msgs(r->rd_msgs, r->rd_n_msgs);
    free_msgs(r->chunks, r->n_chunks);
    free_msgs(r->rd_chunks, r->rd_n_chunks);
    free(r->reads);
    free(r->rd_reads);
    free(r->pending);
    free(r);
}

raft_role raft_get_role(const raft *r) { return r->role; }
uint64_t raft_get_term(const raft *r) { return r->term; }
uint64_t raft_get_leader(const raft *r) { return r->lead; }
uint64_t raft_get_id(const raft *r) { return r->id; }
uint64_t raft_get_commit(const raft *r) { return r->commit; }

uint64_t raft_get_match(const raft *r, uint64_t id)
{
    if (r->role != RAFT_LEADER) return 0;
    for (size_t i = 0; i < r->cfg.n_peers; i++)
        if (r->prs[i].id == id) return r->prs[i].match;
    return 0;
}
