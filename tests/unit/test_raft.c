/* Unit tests of the Raft core (src/repl/raft.c) and the session table.
 * A tiny in-test cluster delivers messages in order with no faults; the
 * adversarial cases are cairn-sim's job (tests/sim). */
#include <stdlib.h>

#include "repl/raft.h"
#include "repl/session.h"
#include "test.h"

#define N         3 /* nodes a cluster starts with */
#define MAXN      5 /* with the ones membership tests add */
#define SNAP_SIZE 100

typedef struct cluster {
    raft *r[MAXN];
    raft_msg q[4096];
    size_t nq;
    int cut[MAXN + 1]; /* node id isolated */
    uint64_t applied[MAXN];
    size_t msgs_of_type[RAFT_MSG_TYPES];
    size_t app_entries_max;
    /* snapshots: each node's last one (a pattern made from its index), a
     * snapshot being received, and what was installed */
    uint8_t snap[MAXN][SNAP_SIZE];
    uint64_t snap_index[MAXN];
    uint8_t recv[MAXN][SNAP_SIZE];
    size_t recv_len[MAXN];
    uint64_t installed[MAXN];
    int bad_snapshot;
} cluster;

static uint64_t cfg_snap_every;
static size_t cfg_msg_bytes = 1 << 20;
static size_t cfg_snap_inflight;

static raft_config config(uint64_t id, size_t n)
{
    raft_config c = {.id = id,
                     .n_peers = n,
                     .election_ticks = 10,
                     .heartbeat_ticks = 1,
                     .pre_vote = 1,
                     .check_quorum = 1,
                     .max_inflight_msgs = 4,
                     .max_msg_bytes = cfg_msg_bytes,
                     .snapshot_entries = cfg_snap_every,
                     .snapshot_inflight = cfg_snap_inflight,
                     .seed = id * 7919};
    for (size_t i = 0; i < n; i++)
        c.peers[i] = i + 1;
    return c;
}

static void cluster_init(cluster *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < N; i++) {
        raft_config cfg = config((uint64_t)i + 1, N);
        c->r[i] = raft_new(&cfg, NULL, NULL, 0);
    }
}

static void cluster_free(cluster *c)
{
    for (int i = 0; i < MAXN; i++)
        raft_free(c->r[i]);
    for (size_t i = 0; i < c->nq; i++)
        raft_msg_free(&c->q[i]);
}

static void snap_pattern(uint8_t *buf, uint64_t index)
{
    for (size_t b = 0; b < SNAP_SIZE; b++)
        buf[b] = (uint8_t)(index * 31 + b);
}

/* Snapshot chunks: written in order; a completed one must be the
 * sender's pattern for its index. */
static void cluster_chunks(cluster *c, int i, const raft_ready *rd)
{
    for (size_t k = 0; k < rd->n_snap_chunks; k++) {
        const raft_msg *m = &rd->snap_chunks[k];
        if (m->offset == 0) c->recv_len[i] = 0;
        if (m->offset != c->recv_len[i] || m->offset + m->data_len > SNAP_SIZE) {
            c->bad_snapshot = 1;
            continue;
        }
        memcpy(c->recv[i] + m->offset, m->data, m->data_len);
        c->recv_len[i] += m->data_len;
    }
    if (!rd->snapshot) return;
    uint8_t want[SNAP_SIZE];
    snap_pattern(want, rd->snapshot->index);
    if (c->recv_len[i] != SNAP_SIZE || memcmp(want, c->recv[i], SNAP_SIZE) != 0)
        c->bad_snapshot = 1;
    memcpy(c->snap[i], c->recv[i], SNAP_SIZE);
    c->snap_index[i] = c->installed[i] = rd->snapshot->index;
    c->applied[i] = rd->snapshot->index;
}

/* Process every node's Ready (persisting is a no-op here) and queue msgs. */
static void cluster_ready(cluster *c)
{
    for (int i = 0; i < MAXN; i++) {
        raft_ready rd;
        uint64_t compact = 0;
        if (!c->r[i]) continue;
        if (raft_ready_get(c->r[i], &rd)) {
            cluster_chunks(c, i, &rd);
            for (size_t k = 0; k < rd.n_msgs && c->nq < 4096; k++) {
                raft_msg *m = &rd.msgs[k];
                c->msgs_of_type[m->type]++;
                if (m->type == RAFT_MSG_APP && m->n_entries > c->app_entries_max)
                    c->app_entries_max = m->n_entries;
                if (raft_msg_copy(&c->q[c->nq], m) != 0) continue;
                if (m->type == RAFT_MSG_SNAP && !m->data &&
                    raft_msg_set_data(&c->q[c->nq], c->snap[i] + m->offset, m->data_len) != 0) {
                    raft_msg_free(&c->q[c->nq]);
                    continue;
                }
                c->nq++;
            }
            if (rd.n_committed) c->applied[i] = rd.committed[rd.n_committed - 1].index;
            compact = rd.compact_index;
        }
        raft_advance(c->r[i]);
        if (compact) {
            snap_pattern(c->snap[i], compact);
            c->snap_index[i] = compact;
            CHECK_EQ_LL(raft_compact(c->r[i], compact, SNAP_SIZE), RAFT_OK);
        }
    }
}

static void cluster_deliver(cluster *c)
{
    size_t n = c->nq;
    raft_msg batch[4096];
    memcpy(batch, c->q, n * sizeof(raft_msg));
    c->nq = 0;
    for (size_t i = 0; i < n; i++) {
        raft_msg *m = &batch[i];
        if (!c->cut[m->from] && !c->cut[m->to] && c->r[m->to - 1]) raft_step(c->r[m->to - 1], m);
        raft_msg_free(m);
    }
}

static void cluster_run(cluster *c, int rounds)
{
    for (int k = 0; k < rounds; k++) {
        cluster_ready(c);
        cluster_deliver(c);
    }
    cluster_ready(c);
}

static int leader_of(cluster *c)
{
    int lead = -1;
    for (int i = 0; i < MAXN; i++)
        if (c->r[i] && !c->cut[i + 1] && raft_get_role(c->r[i]) == RAFT_LEADER) {
            if (lead >= 0) return -2;
            lead = i;
        }
    return lead;
}

static int elect(cluster *c)
{
    for (int t = 0; t < 100 && leader_of(c) < 0; t++) {
        for (int i = 0; i < MAXN; i++)
            if (c->r[i] && !c->cut[i + 1]) raft_tick(c->r[i]);
        cluster_run(c, 3);
    }
    return leader_of(c);
}

static void test_election_and_noop(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 5);
    /* the no-op of the new term is committed and applied everywhere */
    uint64_t term = raft_get_term(c.r[l]);
    CHECK_EQ_LL(raft_get_commit(c.r[l]), 1);
    CHECK_EQ_LL(raft_term_at(c.r[l], 1), term);
    CHECK_EQ_LL(raft_entry_at(c.r[l], 1)->type, RAFT_ENTRY_NOOP);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_LL(c.applied[i], 1);
        CHECK_EQ_LL(raft_get_leader(c.r[i]), l + 1);
    }
    cluster_free(&c);
}

static void test_replication_batched(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 5);
    c.app_entries_max = 0;
    uint64_t idx = 0, term;
    for (int k = 0; k < 100; k++)
        CHECK_EQ_LL(raft_propose(c.r[l], "x", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 5);
    CHECK_EQ_LL(idx, 101);
    /* the 100 proposals went out as one append per follower */
    CHECK_EQ_LL(c.app_entries_max, 100);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_LL(raft_get_commit(c.r[i]), 101);
        CHECK_EQ_LL(c.applied[i], 101);
    }
    /* followers refuse proposals */
    CHECK_EQ_LL(raft_propose(c.r[(l + 1) % N], "y", 1, &idx, &term), RAFT_ERR_NOT_LEADER);
    cluster_free(&c);
}

static uint64_t min_follower_commit(cluster *c, int l)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < N; i++)
        if (i != l && raft_get_commit(c->r[i]) < m) m = raft_get_commit(c->r[i]);
    return m;
}

/* A new commit index reaches followers that got no append with it in an
 * append of its own, which they do not acknowledge (their acks of the
 * entries said it all); while the caller holds it back, the next append
 * with entries carries it instead. */
static void test_commit_propagation(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 5);
    memset(c.msgs_of_type, 0, sizeof(c.msgs_of_type));
    uint64_t idx, term;
    CHECK_EQ_LL(raft_propose(c.r[l], "x", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 5);
    CHECK_EQ_LL(min_follower_commit(&c, l), idx);
    /* the entry and the commit index: two appends per follower, one ack */
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP], 4);
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP_RESP], 2);

    memset(c.msgs_of_type, 0, sizeof(c.msgs_of_type));
    raft_hold_commit(c.r[l], 1);
    uint64_t first;
    CHECK_EQ_LL(raft_propose(c.r[l], "y", 1, &first, &term), RAFT_OK);
    cluster_run(&c, 5);
    CHECK_EQ_LL(raft_get_commit(c.r[l]), first);
    CHECK_EQ_LL(min_follower_commit(&c, l), idx); /* held */
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP], 2);
    /* the next entry's append carries it */
    CHECK_EQ_LL(raft_propose(c.r[l], "z", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 5);
    CHECK_EQ_LL(min_follower_commit(&c, l), first);
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP], 4);
    /* released: what is due goes out alone */
    raft_hold_commit(c.r[l], 0);
    cluster_run(&c, 5);
    CHECK_EQ_LL(min_follower_commit(&c, l), idx);
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP], 6);
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_APP_RESP], 4);
    cluster_free(&c);
}

/* A read's answer names the committed index and its term: a follower
 * holding that entry learns it is committed (log matching), without
 * waiting for an append to bring the commit index. */
static void test_read_answer_commits(void)
{
    raft_config cfg = config(2, N);
    raft *f = raft_new(&cfg, NULL, NULL, 0);
    raft_entry ents[2] = {
        {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
        {.term = 1, .index = 2, .type = RAFT_ENTRY_NORMAL, .len = 1, .data = (uint8_t *)"x"}};
    raft_msg app = {
        .type = RAFT_MSG_APP, .from = 1, .to = 2, .term = 1, .n_entries = 2, .entries = ents};
    CHECK_EQ_LL(raft_step(f, &app), RAFT_OK);
    CHECK_EQ_LL(raft_get_commit(f), 0);
    raft_msg resp = {.type = RAFT_MSG_READ_INDEX_RESP,
                     .from = 1,
                     .to = 2,
                     .term = 1,
                     .ctx = 7,
                     .index = 2,
                     .log_term = 2};
    CHECK_EQ_LL(raft_step(f, &resp), RAFT_OK); /* another entry there: nothing learnt */
    CHECK_EQ_LL(raft_get_commit(f), 0);
    resp.log_term = 0; /* a node that does not say */
    CHECK_EQ_LL(raft_step(f, &resp), RAFT_OK);
    CHECK_EQ_LL(raft_get_commit(f), 0);
    resp.index = 3; /* an entry it does not hold */
    resp.log_term = 1;
    CHECK_EQ_LL(raft_step(f, &resp), RAFT_OK);
    CHECK_EQ_LL(raft_get_commit(f), 0);
    resp.index = 2;
    CHECK_EQ_LL(raft_step(f, &resp), RAFT_OK);
    CHECK_EQ_LL(raft_get_commit(f), 2);
    raft_ready rd;
    REQUIRE(raft_ready_get(f, &rd));
    CHECK_EQ_LL(rd.n_committed, 2);
    CHECK_EQ_LL(rd.n_reads, 4);
    CHECK_EQ_LL(rd.reads[3].index, 2);
    raft_advance(f);
    raft_free(f);

    /* the leader sends the term */
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 5);
    int fo = (l + 1) % N;
    CHECK_EQ_LL(raft_read_index(c.r[fo], 9), RAFT_OK);
    cluster_ready(&c);
    cluster_deliver(&c); /* the read reaches the leader */
    cluster_ready(&c);
    cluster_deliver(&c); /* its round */
    cluster_ready(&c);
    cluster_deliver(&c); /* the acks */
    cluster_ready(&c);
    int seen = 0;
    for (size_t i = 0; i < c.nq; i++)
        if (c.q[i].type == RAFT_MSG_READ_INDEX_RESP) {
            seen = 1;
            CHECK_EQ_LL(c.q[i].index, raft_get_commit(c.r[l]));
            CHECK_EQ_LL(c.q[i].log_term, raft_get_term(c.r[l]));
        }
    CHECK(seen);
    cluster_free(&c);
}

/* Figure 8: an entry of an earlier term is not committed by counting. */
static void test_commit_only_own_term(void)
{
    raft_entry old[2] = {{.term = 1, .index = 1}, {.term = 2, .index = 2}};
    raft_hard_state hs = {.term = 3};
    raft_config cfg = config(1, 3);
    cfg.pre_vote = 0;
    raft *r = raft_new(&cfg, &hs, old, 2);
    REQUIRE(r);
    raft_campaign(r);
    raft_ready rd;
    raft_ready_get(r, &rd);
    raft_advance(r);
    raft_msg grant = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 4};
    raft_step(r, &grant);
    REQUIRE(raft_get_role(r) == RAFT_LEADER);
    CHECK_EQ_LL(raft_last_index(r), 3); /* the no-op */
    raft_ready_get(r, &rd);
    raft_advance(r); /* the leader's own log is durable */
    /* follower 2 matches up to index 2, an entry of term 2: a quorum holds
     * it, but it must not commit before an entry of term 4 does */
    raft_msg ack = {.type = RAFT_MSG_APP_RESP, .from = 2, .to = 1, .term = 4, .index = 2};
    raft_step(r, &ack);
    CHECK_EQ_LL(raft_get_commit(r), 0);
    ack.index = 3;
    raft_step(r, &ack);
    CHECK_EQ_LL(raft_get_commit(r), 3);
    raft_ready_get(r, &rd);
    raft_advance(r);
    raft_free(r);
}

static void test_vote_rules(void)
{
    raft_entry log[2] = {{.term = 1, .index = 1}, {.term = 2, .index = 2}};
    raft_hard_state hs = {.term = 2};
    raft_config cfg = config(1, 3);
    raft *r = raft_new(&cfg, &hs, log, 2);
    REQUIRE(r);
    raft_ready rd;
    /* a candidate whose log is behind is refused */
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 2, .to = 1, .term = 3, .log_term = 1, .index = 5};
    raft_step(r, &v);
    raft_ready_get(r, &rd);
    REQUIRE(rd.n_msgs == 1);
    CHECK(rd.msgs[0].reject);
    raft_advance(r);
    /* an up-to-date one gets the vote, and the vote is in the hard state
     * of the same Ready (persisted before the reply is sent) */
    v.term = 4;
    v.from = 3;
    v.log_term = 2;
    v.index = 2;
    raft_step(r, &v);
    raft_ready_get(r, &rd);
    REQUIRE(rd.n_msgs == 1);
    CHECK(!rd.msgs[0].reject);
    CHECK(rd.hs_changed);
    CHECK_EQ_LL(rd.hs.vote, 3);
    CHECK_EQ_LL(rd.hs.term, 4);
    raft_advance(r);
    /* no second vote in the same term */
    v.from = 2;
    raft_step(r, &v);
    raft_ready_get(r, &rd);
    REQUIRE(rd.n_msgs == 1);
    CHECK(rd.msgs[0].reject);
    raft_advance(r);
    raft_free(r);
    /* the vote survives a restart from the persisted hard state */
    hs = (raft_hard_state){.term = 4, .vote = 3};
    r = raft_new(&cfg, &hs, log, 2);
    REQUIRE(r);
    raft_step(r, &v);
    raft_ready_get(r, &rd);
    REQUIRE(rd.n_msgs == 1);
    CHECK(rd.msgs[0].reject);
    raft_advance(r);
    raft_free(r);
}

static void test_prevote_keeps_term(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    uint64_t term = raft_get_term(c.r[l]);
    int x = (l + 1) % N;
    c.cut[x + 1] = 1; /* a partitioned follower campaigns in vain */
    for (int t = 0; t < 200; t++) {
        for (int i = 0; i < N; i++)
            raft_tick(c.r[i]);
        cluster_run(&c, 2);
    }
    CHECK_EQ_LL(raft_get_term(c.r[x]), term); /* pre-vote never won */
    c.cut[x + 1] = 0;
    cluster_run(&c, 5);
    CHECK_EQ_LL(leader_of(&c), l); /* its return does not depose the leader */
    CHECK_EQ_LL(raft_get_term(c.r[l]), term);
    cluster_free(&c);
}

static void test_check_quorum(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    c.cut[l + 1] = 1;
    for (int t = 0; t < 25; t++) {
        raft_tick(c.r[l]);
        cluster_run(&c, 1);
    }
    CHECK(raft_get_role(c.r[l]) != RAFT_LEADER);
    cluster_free(&c);
}

/* A follower with a long log of a stale term is brought in line in a few
 * round trips, not one per entry. */
static void test_fast_backoff(void)
{
    raft_entry *mine = calloc(201, sizeof(raft_entry));
    raft_entry *theirs = calloc(201, sizeof(raft_entry));
    REQUIRE(mine && theirs);
    for (int i = 0; i < 201; i++) {
        mine[i] = (raft_entry){.term = i < 1 ? 1 : 3, .index = (uint64_t)i + 1};
        theirs[i] = (raft_entry){.term = i < 1 ? 1 : 2, .index = (uint64_t)i + 1};
    }
    raft_hard_state hs = {.term = 3};
    raft_config c1 = config(1, 3), c2 = config(2, 3);
    c1.pre_vote = 0;
    raft *l = raft_new(&c1, &hs, mine, 201);
    raft *f = raft_new(&c2, &hs, theirs, 201);
    REQUIRE(l && f);
    raft_campaign(l);
    raft_ready rd;
    raft_ready_get(l, &rd);
    raft_advance(l);
    raft_msg grant = {.type = RAFT_MSG_VOTE_RESP, .from = 3, .to = 1, .term = 4};
    raft_step(l, &grant);
    REQUIRE(raft_get_role(l) == RAFT_LEADER);
    int rounds = 0;
    for (; rounds < 50 && raft_term_at(f, 150) != 3; rounds++) {
        raft_ready_get(l, &rd);
        raft_msg to_f[64];
        size_t n = 0;
        for (size_t k = 0; k < rd.n_msgs && n < 64; k++)
            if (rd.msgs[k].to == 2 && raft_msg_copy(&to_f[n], &rd.msgs[k]) == 0) n++;
        raft_advance(l);
        for (size_t k = 0; k < n; k++) {
            raft_step(f, &to_f[k]);
            raft_msg_free(&to_f[k]);
        }
        raft_ready_get(f, &rd);
        raft_msg back[64];
        n = 0;
        for (size_t k = 0; k < rd.n_msgs && n < 64; k++)
            if (raft_msg_copy(&back[n], &rd.msgs[k]) == 0) n++;
        raft_advance(f);
        for (size_t k = 0; k < n; k++) {
            raft_step(l, &back[k]);
            raft_msg_free(&back[k]);
        }
    }
    CHECK_EQ_LL(raft_term_at(f, 150), 3);
    CHECK_EQ_LL(raft_last_index(f), 202);
    CHECK(rounds <= 4);
    raft_free(l);
    raft_free(f);
    free(mine);
    free(theirs);
}

/* A follower that does not answer gets at most max_inflight_msgs appends. */
static void test_flow_control(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    int x = (l + 1) % N;
    c.cut[x + 1] = 1;
    size_t to_x = 0;
    uint64_t idx, term;
    for (int k = 0; k < 50; k++) {
        raft_propose(c.r[l], "x", 1, &idx, &term);
        raft_ready rd;
        raft_ready_get(c.r[l], &rd);
        for (size_t m = 0; m < rd.n_msgs; m++)
            if (rd.msgs[m].to == (uint64_t)x + 1 && rd.msgs[m].type == RAFT_MSG_APP &&
                rd.msgs[m].n_entries)
                to_x++;
        raft_advance(c.r[l]);
    }
    CHECK_EQ_LL(to_x, 4);
    cluster_free(&c);
}

/* Rounds of every node's Ready and delivery (node skip left out; -1 for
 * none) until node f is answered read ctx: the index it was answered
 * with, 0 if it was not within rounds. */
static uint64_t read_answer(cluster *c, int f, uint64_t ctx, int skip, int rounds)
{
    uint64_t got = 0;
    for (int k = 0; k < rounds && !got; k++) {
        for (int i = 0; i < N; i++) {
            raft_ready rd;
            if (i == skip || !raft_ready_get(c->r[i], &rd)) continue;
            for (size_t j = 0; j < rd.n_reads; j++)
                if (i == f && rd.reads[j].ctx == ctx) got = rd.reads[j].index;
            for (size_t j = 0; j < rd.n_msgs; j++)
                raft_msg_copy(&c->q[c->nq++], &rd.msgs[j]);
            raft_advance(c->r[i]);
        }
        cluster_deliver(c);
    }
    return got;
}

static void test_read_index(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    uint64_t idx, term;
    raft_propose(c.r[l], "w", 1, &idx, &term);
    cluster_run(&c, 3);
    /* a leader cut off from the others confirms nothing */
    c.cut[l + 1] = 1;
    CHECK_EQ_LL(raft_read_index(c.r[l], 42), RAFT_OK);
    raft_ready rd;
    for (int k = 0; k < 5; k++) {
        raft_ready_get(c.r[l], &rd);
        CHECK_EQ_LL(rd.n_reads, 0);
        raft_advance(c.r[l]);
        cluster_deliver(&c);
    }
    c.cut[l + 1] = 0;
    /* with the followers back, one heartbeat round answers every queued read */
    raft_read_index(c.r[l], 43);
    size_t hb_before = c.msgs_of_type[RAFT_MSG_HEARTBEAT];
    uint64_t got[2] = {0, 0};
    for (int k = 0; k < 4; k++) {
        raft_ready_get(c.r[l], &rd);
        for (size_t i = 0; i < rd.n_reads; i++) {
            CHECK_EQ_LL(rd.reads[i].index, idx);
            if (rd.reads[i].ctx == 42) got[0] = 1;
            if (rd.reads[i].ctx == 43) got[1] = 1;
        }
        for (size_t m = 0; m < rd.n_msgs; m++) {
            if (rd.msgs[m].type == RAFT_MSG_HEARTBEAT) c.msgs_of_type[RAFT_MSG_HEARTBEAT]++;
            raft_msg_copy(&c.q[c.nq++], &rd.msgs[m]);
        }
        raft_advance(c.r[l]);
        cluster_deliver(&c);
        for (int i = 0; i < N; i++)
            if (i != l) {
                raft_ready frd;
                raft_ready_get(c.r[i], &frd);
                for (size_t m = 0; m < frd.n_msgs; m++)
                    raft_msg_copy(&c.q[c.nq++], &frd.msgs[m]);
                raft_advance(c.r[i]);
            }
        cluster_deliver(&c);
    }
    CHECK(got[0] && got[1]);
    CHECK_EQ_LL(c.msgs_of_type[RAFT_MSG_HEARTBEAT] - hb_before, N - 1);
    /* a follower read goes through the leader */
    int f = (l + 1) % N;
    CHECK_EQ_LL(raft_read_index(c.r[f], 7), RAFT_OK);
    CHECK_EQ_LL(read_answer(&c, f, 7, -1, 6), idx);
    cluster_free(&c);
}

/* Move every message of node i's Ready to the queue; count the
 * heartbeats and note which read contexts it answered. */
static size_t ready_reads(cluster *c, int i, uint64_t *ctx, size_t max, size_t *heartbeats)
{
    raft_ready rd;
    size_t n = 0;
    raft_ready_get(c->r[i], &rd);
    for (size_t k = 0; k < rd.n_reads && n < max; k++)
        ctx[n++] = rd.reads[k].ctx;
    for (size_t m = 0; m < rd.n_msgs; m++) {
        if (rd.msgs[m].type == RAFT_MSG_HEARTBEAT) (*heartbeats)++;
        raft_msg_copy(&c->q[c->nq++], &rd.msgs[m]);
    }
    raft_advance(c->r[i]);
    return n;
}

/* A read queued after the last round went out is confirmed only by a
 * later round: acknowledgements of the earlier one (here arriving before
 * the leader's next Ready) prove nothing about when the read came. */
static void test_read_round_after_queue(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    uint64_t ctx[8];
    size_t hb = 0;
    CHECK_EQ_LL(raft_read_index(c.r[l], 50), RAFT_OK);
    CHECK_EQ_LL(ready_reads(&c, l, ctx, 8, &hb), 0);
    CHECK_EQ_LL(hb, N - 1);
    cluster_deliver(&c);
    for (int i = 0; i < N; i++)
        if (i != l) ready_reads(&c, i, ctx, 8, &hb);
    /* 51 arrives while the acknowledgements of round 1 are on their way */
    CHECK_EQ_LL(raft_read_index(c.r[l], 51), RAFT_OK);
    cluster_deliver(&c);
    hb = 0;
    size_t got = ready_reads(&c, l, ctx, 8, &hb);
    CHECK_EQ_LL(got, 1);
    CHECK_EQ_LL(got ? ctx[0] : 0, 50);
    CHECK_EQ_LL(hb, N - 1); /* round 2, for 51 */
    cluster_deliver(&c);
    for (int i = 0; i < N; i++)
        if (i != l) ready_reads(&c, i, ctx, 8, &hb);
    cluster_deliver(&c);
    got = ready_reads(&c, l, ctx, 8, &hb);
    CHECK_EQ_LL(got, 1);
    CHECK_EQ_LL(got ? ctx[0] : 0, 51);
    cluster_free(&c);
}

/* A follower's read asked of a new leader before it has committed an
 * entry of its term waits for that commit, then for a round: it is
 * answered without the follower asking again (a failover's held commands
 * would otherwise wait for the follower's retry). */
static void test_read_before_first_commit(void)
{
    cluster c;
    cluster_init(&c);
    int old = elect(&c);
    REQUIRE(old >= 0);
    cluster_run(&c, 3);
    c.cut[old + 1] = 1;
    int l = -1;
    for (int t = 0; t < 100 && l < 0; t++) {
        for (int i = 0; i < N; i++)
            if (i != old) raft_tick(c.r[i]);
        cluster_ready(&c);
        cluster_deliver(&c);
        for (int i = 0; i < N; i++)
            if (i != old && raft_get_role(c.r[i]) == RAFT_LEADER) l = i;
    }
    REQUIRE(l >= 0);
    uint64_t term = raft_get_term(c.r[l]);
    CHECK(raft_term_at(c.r[l], raft_get_commit(c.r[l])) != term);
    int f = 3 - old - l;
    raft_msg m = {.type = RAFT_MSG_READ_INDEX,
                  .from = (uint64_t)f + 1,
                  .to = (uint64_t)l + 1,
                  .term = term,
                  .ctx = 9};
    CHECK_EQ_LL(raft_step(c.r[l], &m), RAFT_OK);
    uint64_t index = read_answer(&c, f, 9, old, 8);
    CHECK(index > 0);
    CHECK_EQ_LL(raft_term_at(c.r[f], index), term);
    cluster_free(&c);
}

static void test_leadership_transfer(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    cluster_run(&c, 3);
    uint64_t term = raft_get_term(c.r[l]), idx, t;
    int to = (l + 2) % N;
    CHECK_EQ_LL(raft_transfer_leader(c.r[l], (uint64_t)l + 1), RAFT_ERR_INVALID);
    CHECK_EQ_LL(raft_transfer_leader(c.r[to], 1), RAFT_ERR_NOT_LEADER);
    CHECK_EQ_LL(raft_transfer_leader(c.r[l], (uint64_t)to + 1), RAFT_OK);
    /* no proposals while handing over */
    CHECK_EQ_LL(raft_propose(c.r[l], "x", 1, &idx, &t), RAFT_ERR_BUSY);
    cluster_run(&c, 6);
    CHECK_EQ_LL(leader_of(&c), to);
    CHECK_EQ_LL(raft_get_term(c.r[to]), term + 1);
    CHECK_EQ_LL(raft_propose(c.r[to], "y", 1, &idx, &t), RAFT_OK);
    cluster_run(&c, 4);
    for (int i = 0; i < N; i++)
        CHECK_EQ_LL(raft_get_commit(c.r[i]), idx);
    cluster_free(&c);
}

/* A cluster whose nodes take lease reads (lease_ticks 5 of election 10),
 * with a leader whose heartbeat both followers acknowledged; returns it. */
static int lease_cluster(cluster *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < N; i++) {
        raft_config cfg = config((uint64_t)i + 1, N);
        cfg.lease_ticks = 5;
        c->r[i] = raft_new(&cfg, NULL, NULL, 0);
        if (!c->r[i]) return -1;
    }
    int l = elect(c);
    if (l < 0) return l;
    cluster_run(c, 3);
    raft_tick(c->r[l]); /* a heartbeat, acked by both followers */
    cluster_run(c, 3);
    return l;
}

/* Is a read asked of r now answered at once (no heartbeat round)?  What
 * r asks to send meanwhile is dropped. */
static int read_at_once(raft *r, uint64_t ctx)
{
    CHECK_EQ_LL(raft_read_index(r, ctx), RAFT_OK);
    raft_ready rd;
    size_t n = raft_ready_get(r, &rd) ? rd.n_reads : 0;
    for (size_t m = 0; n && m < rd.n_msgs; m++)
        CHECK(rd.msgs[m].type != RAFT_MSG_HEARTBEAT);
    raft_advance(r);
    return n == 1;
}

/* Lease reads: answered with no heartbeat round while a quorum acked a
 * heartbeat sent within lease_ticks; a cut-off leader stops answering. */
static void test_lease_reads(void)
{
    raft_config bad = config(1, 3);
    bad.lease_ticks = 5;
    bad.check_quorum = 0;
    CHECK(raft_new(&bad, NULL, NULL, 0) == NULL);
    bad.check_quorum = 1;
    bad.lease_ticks = 10; /* not below election_ticks */
    CHECK(raft_new(&bad, NULL, NULL, 0) == NULL);

    cluster c;
    int l = lease_cluster(&c);
    REQUIRE(l >= 0);
    CHECK(read_at_once(c.r[l], 5));
    /* cut off, the lease runs out after lease_ticks and reads wait */
    c.cut[l + 1] = 1;
    for (int t = 0; t < 6; t++) {
        raft_tick(c.r[l]);
        cluster_run(&c, 1);
    }
    REQUIRE(raft_get_role(c.r[l]) == RAFT_LEADER);
    CHECK(!read_at_once(c.r[l], 6));
    cluster_free(&c);
}

/* A lease is counted in real time (raft_clock), not in the ticks the
 * caller's timer delivered: a leader whose process stalled finds on
 * resuming, before any tick, that its lease ran out -- the followers' own
 * ticks went on, and may have elected another.  A heartbeat acknowledged
 * after it renews the lease on the clock caught up; the clock never goes
 * back. */
static void test_lease_counts_real_time(void)
{
    cluster c;
    int l = lease_cluster(&c);
    REQUIRE(l >= 0);
    raft *r = c.r[l];
    raft_clock(r, 1); /* behind the ticks already counted: no change */
    CHECK(read_at_once(r, 1));
    raft_clock(r, 1000); /* a stall: time passed, no tick came */
    CHECK(!read_at_once(r, 2));
    raft_tick(r); /* a heartbeat, acked */
    cluster_run(&c, 3);
    CHECK(read_at_once(r, 3));
    raft_clock(r, 500);
    CHECK(read_at_once(r, 4));
    cluster_free(&c);
}

/* A transferee may act on TimeoutNow however late, and voters grant its
 * campaign whatever lease they acknowledged: once a leader sent it, its
 * term's reads take heartbeat rounds, even after the transfer is given up
 * and a quorum acknowledged newer heartbeats. */
static void test_lease_void_after_timeout_now(void)
{
    cluster c;
    int l = lease_cluster(&c);
    REQUIRE(l >= 0);
    raft *r = c.r[l];
    int to = (l + 1) % N;
    CHECK(read_at_once(r, 1));
    CHECK_EQ_LL(raft_transfer_leader(r, (uint64_t)to + 1), RAFT_OK);
    raft_ready rd;
    REQUIRE(raft_ready_get(r, &rd));
    int sent = 0;
    for (size_t m = 0; m < rd.n_msgs; m++)
        sent |= rd.msgs[m].type == RAFT_MSG_TIMEOUT_NOW;
    CHECK(sent);
    raft_advance(r);               /* TimeoutNow delayed: not delivered (yet) */
    for (int t = 0; t < 10; t++) { /* the transfer is given up */
        raft_tick(r);
        cluster_run(&c, 2);
    }
    REQUIRE(raft_get_role(r) == RAFT_LEADER);
    CHECK_EQ_LL(raft_propose(r, "x", 1, &(uint64_t){0}, &(uint64_t){0}), RAFT_OK);
    cluster_run(&c, 3);
    CHECK(!read_at_once(r, 2));
    cluster_free(&c);
}

static void test_sessions(void)
{
    session_table *t = session_table_new(2, 100);
    REQUIRE(t);
    const void *res;
    size_t len;
    session_clock(t, 10);
    /* explicit: a write under a session never opened is refused */
    CHECK_EQ_LL(session_check(t, 1, 1, &res, &len), SESSION_UNKNOWN);
    CHECK_EQ_LL(session_open(t, 1), 0);
    CHECK_EQ_LL(session_check(t, 1, 1, &res, &len), SESSION_NEW);
    CHECK_EQ_LL(session_record(t, 1, 1, "one", 3), 0);
    CHECK_EQ_LL(session_check(t, 1, 1, &res, &len), SESSION_DUP);
    CHECK(len == 3 && memcmp(res, "one", 3) == 0);
    /* opening it again changes nothing */
    CHECK_EQ_LL(session_open(t, 1), 0);
    CHECK_EQ_LL(session_check(t, 1, 1, &res, &len), SESSION_DUP);
    CHECK_EQ_LL(session_check(t, 1, 2, &res, &len), SESSION_NEW);
    CHECK_EQ_LL(session_record(t, 1, 2, "two", 3), 0);
    CHECK_EQ_LL(session_check(t, 1, 1, &res, &len), SESSION_STALE);
    /* a full table forgets the least recently used session */
    session_clock(t, 20);
    CHECK_EQ_LL(session_open(t, 2), 0);
    CHECK_EQ_LL(session_record(t, 2, 1, "b", 1), 0);
    session_clock(t, 30);
    CHECK_EQ_LL(session_record(t, 1, 3, "c", 1), 0);
    CHECK_EQ_LL(session_open(t, 3), 0);
    CHECK_EQ_LL(session_count(t), 2);
    CHECK_EQ_LL(session_check(t, 2, 1, &res, &len), SESSION_UNKNOWN);
    /* the leader's look ahead in log time expires nothing */
    CHECK_EQ_LL(session_check_at(t, 1, 4, 131, &res, &len), SESSION_UNKNOWN);
    CHECK_EQ_LL(session_check_at(t, 1, 4, 130, &res, &len), SESSION_NEW);
    CHECK_EQ_LL(session_count(t), 2);
    /* log time, not a clock, expires sessions; earlier times are ignored */
    session_clock(t, 5);
    CHECK_EQ_LL(session_count(t), 2);
    session_clock(t, 131);
    CHECK_EQ_LL(session_count(t), 0);
    CHECK_EQ_LL(session_check(t, 1, 4, &res, &len), SESSION_UNKNOWN);
    session_table_free(t);
}

/* A follower cut off while the leader compacts catches up through a
 * snapshot sent in chunks, while the group keeps committing. */
static void test_snapshot_install(void)
{
    cfg_snap_every = 10;
    cfg_msg_bytes = 16;
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    int f = (l + 1) % N;
    c.cut[f + 1] = 1;
    uint64_t idx, term;
    for (int k = 0; k < 40; k++) {
        CHECK_EQ_LL(raft_propose(c.r[l], "abcdefgh", 8, &idx, &term), RAFT_OK);
        cluster_run(&c, 2);
    }
    uint64_t snap = raft_get_snapshot(c.r[l])->index;
    CHECK(snap >= 30);
    CHECK(raft_entry_at(c.r[l], snap) == NULL);
    CHECK(raft_entry_at(c.r[l], snap + 1) != NULL || raft_last_index(c.r[l]) == snap);
    CHECK_EQ_LL(raft_term_at(c.r[l], snap), term);
    c.cut[f + 1] = 0;
    /* proposals keep committing while the snapshot is on its way */
    uint64_t before = raft_get_commit(c.r[l]);
    for (int t = 0; t < 30; t++) {
        CHECK_EQ_LL(raft_propose(c.r[l], "ijklmnop", 8, &idx, &term), RAFT_OK);
        raft_tick(c.r[l]);
        cluster_run(&c, 1);
    }
    CHECK(raft_get_commit(c.r[l]) >= before + 25);
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < N; i++)
            raft_tick(c.r[i]);
        cluster_run(&c, 3);
    }
    CHECK(!c.bad_snapshot);
    CHECK(c.installed[f] >= snap);
    CHECK(c.msgs_of_type[RAFT_MSG_SNAP] >= SNAP_SIZE / 16);
    CHECK_EQ_LL(raft_get_commit(c.r[f]), raft_get_commit(c.r[l]));
    CHECK_EQ_LL(raft_last_index(c.r[f]), raft_last_index(c.r[l]));
    CHECK_EQ_LL(c.applied[f], raft_get_commit(c.r[l]));
    CHECK(raft_get_snapshot(c.r[f])->index >= snap);
    CHECK_EQ_LL(raft_get_role(c.r[l]), RAFT_LEADER);
    cluster_free(&c);
    cfg_snap_every = 0;
    cfg_msg_bytes = 1 << 20;
}

/* Move the queued snapshot chunks for node `to` out of the queue. */
static size_t take_chunks(cluster *c, int to, raft_msg *out, size_t max)
{
    size_t n = 0, keep = 0;
    for (size_t i = 0; i < c->nq; i++) {
        if (c->q[i].type == RAFT_MSG_SNAP && c->q[i].to == (uint64_t)to + 1 && n < max)
            out[n++] = c->q[i];
        else
            c->q[keep++] = c->q[i];
    }
    c->nq = keep;
    return n;
}

/* Chunks go out a window at a time; the follower writes them in order
 * whatever order, and how many times, they arrive (a chunk after a gap is
 * refused with the offset held, a duplicate acknowledged with it), and
 * the leader, told, resends what is missing. */
static void test_snapshot_window(void)
{
    cfg_snap_every = 10;
    cfg_msg_bytes = 16; /* 7 chunks of the 100-byte snapshot */
    cfg_snap_inflight = 3;
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    int f = (l + 1) % N;
    c.cut[f + 1] = 1;
    uint64_t idx, term;
    for (int k = 0; k < 40; k++) {
        CHECK_EQ_LL(raft_propose(c.r[l], "abcdefgh", 8, &idx, &term), RAFT_OK);
        cluster_run(&c, 2);
    }
    REQUIRE(raft_get_snapshot(c.r[l])->index >= 30);
    c.cut[f + 1] = 0;
    /* The window the leader sent while the follower was away is lost: a
     * heartbeat with no ack resends its first chunk, the follower takes
     * it, refuses the next one, and the leader resends from there a whole
     * window at once. */
    raft_msg w[16];
    size_t n = 0;
    int started = 0;
    for (int t = 0; t < 20 && n < 3; t++) {
        if (!started) raft_tick(c.r[l]); /* heartbeats until a chunk moves */
        cluster_ready(&c);
        n = take_chunks(&c, f, w, 16);
        started |= n > 0;
        if (n < 3) {
            for (size_t k = 0; k < n; k++)
                c.q[c.nq++] = w[k];
        }
        cluster_deliver(&c);
    }
    REQUIRE(n == 3);
    uint64_t at = w[0].offset;
    CHECK(at > 0 && at < SNAP_SIZE - 48);
    CHECK_EQ_LL(w[1].offset, at + 16);
    CHECK_EQ_LL(w[2].offset, at + 32);
    size_t sent = c.msgs_of_type[RAFT_MSG_SNAP];
    /* delivered last first, the first twice, then the third again */
    int order[] = {2, 1, 0, 0, 2};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        raft_step(c.r[f], &w[order[k]]);
    for (size_t k = 0; k < n; k++)
        raft_msg_free(&w[k]);
    raft_ready rd;
    REQUIRE(raft_ready_get(c.r[f], &rd));
    CHECK_EQ_LL(rd.n_snap_chunks, 1); /* only the first was in order */
    size_t acks = 0, rejects = 0;
    for (size_t k = 0; k < rd.n_msgs; k++) {
        if (rd.msgs[k].type != RAFT_MSG_SNAP_RESP) continue;
        if (rd.msgs[k].reject) {
            /* the first two refused at `at`, the last after it */
            CHECK_EQ_LL(rd.msgs[k].offset, rejects < 2 ? at : at + 16);
            rejects++;
        } else {
            acks++;
            CHECK_EQ_LL(rd.msgs[k].offset, at + 16);
        }
    }
    CHECK_EQ_LL(acks, 2);    /* the first, and its duplicate */
    CHECK_EQ_LL(rejects, 3); /* two before it, the third after it */
    /* the cluster's normal delivery finishes the transfer */
    cluster_chunks(&c, f, &rd);
    for (size_t k = 0; k < rd.n_msgs && c.nq < 4096; k++)
        if (raft_msg_copy(&c.q[c.nq], &rd.msgs[k]) == 0) c.nq++;
    raft_advance(c.r[f]);
    cluster_run(&c, 20);
    CHECK(!c.bad_snapshot);
    CHECK(c.installed[f] >= 30);
    /* no storm of resends: the window once more (the first refusal makes
     * the leader go back), then the chunks after it */
    CHECK(c.msgs_of_type[RAFT_MSG_SNAP] - sent <= 3 + (SNAP_SIZE - at) / 16);
    CHECK_EQ_LL(raft_last_index(c.r[f]), raft_last_index(c.r[l]));
    cluster_free(&c);
    cfg_snap_every = 0;
    cfg_msg_bytes = 1 << 20;
    cfg_snap_inflight = 0;
}

/* Restart from a snapshot plus the log after it. */
static void test_restart_from_snapshot(void)
{
    raft_config cfg = config(1, 3);
    raft_snapshot_meta m = {.index = 10, .term = 2, .size = 5};
    m.conf.n_voters = 3;
    for (int i = 0; i < 3; i++)
        m.conf.voters[i] = (uint64_t)i + 1;
    raft_entry ents[2] = {{.term = 2, .index = 11}, {.term = 3, .index = 12}};
    raft_hard_state hs = {.term = 3, .vote = 1, .commit = 12};
    raft *r = raft_new_from(&cfg, &m, &hs, ents, 2);
    REQUIRE(r);
    CHECK_EQ_LL(raft_last_index(r), 12);
    CHECK_EQ_LL(raft_term_at(r, 10), 2);
    CHECK(raft_entry_at(r, 10) == NULL);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 10);
    raft_ready rd;
    raft_ready_get(r, &rd);
    /* only entries after the snapshot are applied */
    CHECK_EQ_LL(rd.n_committed, 2);
    CHECK_EQ_LL(rd.committed[0].index, 11);
    CHECK(rd.snapshot == NULL);
    raft_advance(r);
    /* compacting below the snapshot, or past what was applied, is refused */
    CHECK_EQ_LL(raft_compact(r, 9, 1), RAFT_ERR_INVALID);
    CHECK_EQ_LL(raft_compact(r, 13, 1), RAFT_ERR_INVALID);
    CHECK_EQ_LL(raft_compact(r, 12, 7), RAFT_OK);
    CHECK_EQ_LL(raft_term_at(r, 12), 3);
    CHECK_EQ_LL(raft_get_snapshot(r)->size, 7);
    raft_free(r);
    /* entries that do not follow the snapshot are refused */
    ents[0].index = 12;
    CHECK(raft_new_from(&cfg, &m, &hs, ents, 1) == NULL);
}

static void tick_all(cluster *c, int rounds)
{
    for (int t = 0; t < rounds; t++) {
        for (int i = 0; i < MAXN; i++)
            if (c->r[i] && !c->cut[i + 1]) raft_tick(c->r[i]);
        cluster_run(c, 3);
    }
}

/* Start node id as a learner joining the initial configuration. */
static void start_joiner(cluster *c, uint64_t id)
{
    raft_config cfg = config(id, N);
    cfg.n_learners = 1;
    cfg.learners[0] = id;
    c->r[id - 1] = raft_new(&cfg, NULL, NULL, 0);
}

static int conf_committed(cluster *c, int l, uint64_t index)
{
    cluster_run(c, 6);
    return raft_get_commit(c->r[l]) >= index;
}

/* A learner catches up without counting for commit or elections, then
 * becomes a voter and counts. */
static void test_learner_then_voter(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    uint64_t idx, term;
    for (int k = 0; k < 5; k++)
        CHECK_EQ_LL(raft_propose(c.r[l], "a", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 4);
    start_joiner(&c, 4);
    REQUIRE(c.r[3]);
    CHECK_EQ_LL(raft_change_conf(c.r[l], RAFT_CONF_ADD_LEARNER, 4, &idx, &term), RAFT_OK);
    /* one change at a time */
    CHECK_EQ_LL(raft_change_conf(c.r[l], RAFT_CONF_ADD_VOTER, 4, &idx, &term), RAFT_ERR_BUSY);
    CHECK(conf_committed(&c, l, idx));
    CHECK_EQ_LL(raft_get_commit(c.r[3]), raft_get_commit(c.r[l]));
    CHECK_EQ_LL(raft_peer_match(c.r[l], 4), raft_last_index(c.r[l]));
    raft_conf conf;
    raft_get_conf(c.r[3], &conf);
    CHECK(raft_conf_has_learner(&conf, 4) && !raft_conf_has_voter(&conf, 4));
    /* the learner never campaigns */
    c.cut[4] = 1;
    uint64_t t4 = raft_get_term(c.r[3]);
    for (int t = 0; t < 60; t++)
        raft_tick(c.r[3]);
    cluster_run(&c, 2);
    CHECK_EQ_LL(raft_get_term(c.r[3]), t4);
    CHECK_EQ_LL(raft_get_role(c.r[3]), RAFT_FOLLOWER);
    c.cut[4] = 0;
    /* leader plus learner are 2 of 4 nodes, but not a majority of voters */
    int f1 = (l + 1) % N, f2 = (l + 2) % N;
    c.cut[f1 + 1] = c.cut[f2 + 1] = 1;
    uint64_t before = raft_get_commit(c.r[l]);
    CHECK_EQ_LL(raft_propose(c.r[l], "b", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 6);
    CHECK_EQ_LL(raft_get_commit(c.r[l]), before);
    CHECK_EQ_LL(raft_peer_match(c.r[l], 4), idx);
    c.cut[f1 + 1] = c.cut[f2 + 1] = 0;
    tick_all(&c, 3);
    l = leader_of(&c);
    REQUIRE(l >= 0);
    for (int t = 0; t < 20 && raft_change_conf(c.r[l], RAFT_CONF_ADD_VOTER, 4, &idx, &term); t++)
        tick_all(&c, 1);
    CHECK(conf_committed(&c, l, idx));
    raft_get_conf(c.r[l], &conf);
    CHECK_EQ_LL(conf.n_voters, 4);
    CHECK(raft_conf_has_voter(&conf, 4));
    /* now 3 of 4 are needed: with two voters cut off nothing commits */
    int other = l == 0 ? 1 : 0;
    c.cut[other + 1] = c.cut[4] = 1;
    before = raft_get_commit(c.r[l]);
    CHECK_EQ_LL(raft_propose(c.r[l], "c", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 6);
    CHECK_EQ_LL(raft_get_commit(c.r[l]), before);
    c.cut[4] = 0;
    tick_all(&c, 3); /* a heartbeat resumes replication to it */
    CHECK(raft_get_commit(c.r[l]) >= idx);
    cluster_free(&c);
}

/* The leader removes itself: it leads until the change commits, then
 * steps down, hands over, and never campaigns again. */
static void test_remove_leader(void)
{
    cluster c;
    cluster_init(&c);
    int l = elect(&c);
    REQUIRE(l >= 0);
    uint64_t idx, term, id = (uint64_t)l + 1;
    CHECK_EQ_LL(raft_change_conf(c.r[l], RAFT_CONF_ADD_LEARNER, id, &idx, &term),
                RAFT_ERR_INVALID); /* already a voter */
    CHECK_EQ_LL(raft_change_conf(c.r[l], RAFT_CONF_REMOVE, id, &idx, &term), RAFT_OK);
    CHECK_EQ_LL(raft_get_role(c.r[l]), RAFT_LEADER); /* until it commits */
    cluster_run(&c, 8);
    CHECK(raft_get_role(c.r[l]) != RAFT_LEADER);
    tick_all(&c, 5);
    int nl = leader_of(&c);
    REQUIRE(nl >= 0);
    CHECK(nl != l);
    raft_conf conf;
    raft_get_conf(c.r[nl], &conf);
    CHECK_EQ_LL(conf.n_voters, 2);
    CHECK(!raft_conf_has_voter(&conf, id));
    /* the group goes on without it */
    uint64_t before = raft_get_commit(c.r[nl]);
    CHECK_EQ_LL(raft_propose(c.r[nl], "d", 1, &idx, &term), RAFT_OK);
    cluster_run(&c, 6);
    CHECK(raft_get_commit(c.r[nl]) > before);
    /* the removed node never campaigns, even cut off */
    c.cut[id] = 1;
    uint64_t t0 = raft_get_term(c.r[l]);
    for (int t = 0; t < 60; t++)
        raft_tick(c.r[l]);
    CHECK_EQ_LL(raft_get_term(c.r[l]), t0);
    /* the last voter cannot be removed */
    CHECK_EQ_LL(raft_change_conf(c.r[nl], RAFT_CONF_REMOVE, 9, &idx, &term), RAFT_ERR_INVALID);
    cluster_free(&c);
}

/* A new leader proposes no change before an entry of its term commits. */
static void test_conf_change_waits_for_term(void)
{
    cluster c;
    cluster_init(&c);
    raft_campaign(c.r[0]);
    for (int k = 0; k < 8 && raft_get_role(c.r[0]) != RAFT_LEADER; k++) {
        cluster_ready(&c);
        cluster_deliver(&c);
    }
    REQUIRE(raft_get_role(c.r[0]) == RAFT_LEADER);
    uint64_t idx, term;
    CHECK(raft_get_commit(c.r[0]) < raft_last_index(c.r[0])); /* the no-op is not committed */
    CHECK_EQ_LL(raft_change_conf(c.r[0], RAFT_CONF_REMOVE, 3, &idx, &term), RAFT_ERR_BUSY);
    cluster_run(&c, 4);
    CHECK_EQ_LL(raft_change_conf(c.r[0], RAFT_CONF_REMOVE, 3, &idx, &term), RAFT_OK);
    CHECK_EQ_LL(raft_change_conf(c.r[1], RAFT_CONF_REMOVE, 2, &idx, &term), RAFT_ERR_NOT_LEADER);
    /* the encoding of a configuration round-trips and rejects junk */
    raft_conf a = {.n_voters = 2, .voters = {5, 7}, .n_learners = 1, .learners = {9}}, b;
    uint8_t buf[RAFT_CONF_MAX_BYTES];
    size_t n = raft_conf_encode(&a, buf);
    CHECK_EQ_LL(n, 16 + 3 * 8);
    CHECK_EQ_LL(raft_conf_decode(buf, n, &b), 0);
    CHECK(b.n_voters == 2 && b.voters[1] == 7 && b.n_learners == 1 && b.learners[0] == 9);
    CHECK_EQ_LL(raft_conf_decode(buf, n - 1, &b), -1);
    cluster_free(&c);
}

int main(void)
{
    TEST(test_election_and_noop);
    TEST(test_replication_batched);
    TEST(test_commit_propagation);
    TEST(test_read_answer_commits);
    TEST(test_commit_only_own_term);
    TEST(test_vote_rules);
    TEST(test_prevote_keeps_term);
    TEST(test_check_quorum);
    TEST(test_fast_backoff);
    TEST(test_flow_control);
    TEST(test_read_index);
    TEST(test_read_round_after_queue);
    TEST(test_read_before_first_commit);
    TEST(test_leadership_transfer);
    TEST(test_lease_reads);
    TEST(test_lease_counts_real_time);
    TEST(test_lease_void_after_timeout_now);
    TEST(test_sessions);
    TEST(test_snapshot_install);
    TEST(test_snapshot_window);
    TEST(test_restart_from_snapshot);
    TEST(test_learner_then_voter);
    TEST(test_remove_leader);
    TEST(test_conf_change_waits_for_term);
    return TEST_REPORT();
}
