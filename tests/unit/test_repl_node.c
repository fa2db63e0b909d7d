/* Unit tests of a replicated node (src/repl/node.c) whose log fsync runs
 * off its loop (repl_host.sync_start): the host here holds each fsync back
 * until the test lets it run, and checks that nothing counts on an entry
 * before the fsync covering it completed -- not the leader's own copy
 * toward commit, not a follower's acknowledgement. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "tmpdir.h"

#include "engine/db.h"
#include "engine_harness.h"
#include "log/fileio.h"
#include "repl/node.h"
#include "repl/wire.h"

#define RUN(e, s, t, ...) run_words_at(e, s, t, WORDS(__VA_ARGS__))

static char dir[64];

static void make_tmpdir(void) { tmpdir_make(dir, sizeof(dir), "rnode"); }

static void rm_dir(void) { tmpdir_remove(dir); }

/* The host: messages sent are decoded and kept; fsyncs asked are counted
 * and run only by sync_now(). */
typedef struct fake_host {
    repl_node *n;
    int syncs_asked, syncs_done, fatal;
    int aborts; /* abort_waiting calls */
    raft_msg sent[64];
    int inlined_before[64]; /* inlined when each message was sent */
    size_t nsent;
    int inline_ok, inline_asked, inlined;
    uint64_t snapshot_entries; /* the node's settings */
    int can_fork;
    int64_t now_us; /* the node's monotonic clock */
} fake_host;

static void h_send(void *priv, uint64_t to, const char *data, size_t len)
{
    fake_host *h = priv;
    (void)to;
    if (h->nsent < 64 && wire_decode(data, len, &h->sent[h->nsent]) == 0)
        h->inlined_before[h->nsent++] = h->inlined;
}

static void h_nop(void *priv) { (void)priv; }

static void h_abort(void *priv)
{
    fake_host *h = priv;
    h->aborts++;
}

static void h_fatal(void *priv, const char *why)
{
    fake_host *h = priv;
    fprintf(stderr, "    node stopped: %s\n", why);
    h->fatal = 1;
}

static void h_log(void *priv, int level, const char *fmt, ...)
{
    (void)priv;
    (void)level;
    (void)fmt;
}

static void h_sync_start(void *priv)
{
    fake_host *h = priv;
    h->syncs_asked++;
}

/* The node runs the fsync itself when this says yes. */
static int h_sync_inline(void *priv, int64_t last_us)
{
    fake_host *h = priv;
    CHECK(last_us >= 0);
    h->inline_asked++;
    h->inlined += h->inline_ok;
    return h->inline_ok;
}

static int64_t h_clock(void *priv)
{
    fake_host *h = priv;
    return h->now_us;
}

static void sync_now(fake_host *h)
{
    repl_node_sync_run(h->n);
    h->syncs_done++;
    repl_node_synced(h->n, 1);
}

static void clear_sent(fake_host *h)
{
    for (size_t i = 0; i < h->nsent; i++)
        raft_msg_free(&h->sent[i]);
    h->nsent = 0;
}

/* A node; with lease, it takes lease reads (5 ticks of 20 ms). */
static repl_node *open_node_with(cairn_engine *e, fake_host *h, uint64_t id, const char *peers,
                                 int lease)
{
    repl_node_config cfg = {.id = id,
                            .election_ticks = 10,
                            .heartbeat_ticks = 1,
                            .snapshot_entries = h->snapshot_entries,
                            .can_fork = h->can_fork};
    if (lease) {
        cfg.reads = REPL_READS_LEASE;
        cfg.lease_ticks = 5;
        cfg.tick_ms = 20;
    }
    char err[256];
    snprintf(cfg.group_name, sizeof(cfg.group_name), "cairn");
    if (repl_parse_peers(peers, &cfg, err, sizeof(err)) != 0) return NULL;
    repl_host rh = {h_send, h_nop, h_abort, h_nop,        h_fatal,
                    h_log,  h,     NULL,    h_sync_start, h->inline_ok >= 0 ? h_sync_inline : NULL,
                    h_clock};
    h->n = repl_node_open(e, &cfg, dir, &rh, 42, err, sizeof(err));
    if (!h->n) fprintf(stderr, "repl_node_open: %s\n", err);
    return h->n;
}

static repl_node *open_node(cairn_engine *e, fake_host *h, uint64_t id, const char *peers)
{
    return open_node_with(e, h, id, peers, 0);
}

/* Node id in a fresh directory, on an engine of its own, its host set to
 * inline_ok: node 1 is a lone voter, made leader; node 2 a follower in a
 * group of three.  NULL (and nothing left) if it does not open. */
static cairn_engine *node_up(fake_host *h, uint64_t id, int inline_ok)
{
    make_tmpdir();
    cairn_engine *e = new_engine((uint8_t)id);
    *h = (fake_host){.inline_ok = inline_ok};
    if (!open_node(e, h, id,
                   id == 1 ? "1@127.0.0.1:1" : "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3")) {
        engine_free(e);
        rm_dir();
        return NULL;
    }
    if (id == 1) {
        raft_campaign(repl_node_raft(h->n));
        repl_node_flush(h->n);
    }
    return e;
}

/* Undoes node_up (and the session s, if not NULL). */
static void node_down(cairn_engine *e, fake_host *h, cairn_session *s)
{
    if (s) {
        engine_session_gone(e, s);
        session_reset(s);
    }
    clear_sent(h);
    repl_node_free(h->n);
    engine_free(e);
    rm_dir();
}

/* A lone voter: its own durable copy is the whole majority, so nothing
 * commits -- and no reply is released -- before its fsync completes; one
 * fsync at a time, the writes made meanwhile wait for the next. */
static void test_leader_counts_itself_once_durable(void)
{
    fake_host h;
    cairn_engine *e = node_up(&h, 1, -1);
    REQUIRE(e);
    raft *r = repl_node_raft(h.n);
    CHECK_EQ_LL(raft_get_role(r), RAFT_LEADER);
    CHECK_EQ_LL(h.syncs_asked, 1);
    CHECK_EQ_LL(raft_last_index(r), 1); /* its no-op */
    CHECK_EQ_LL(raft_get_commit(r), 0);
    sync_now(&h);
    CHECK_EQ_LL(raft_get_commit(r), 1);

    cairn_session s;
    session_init(e, &s);
    uint64_t epoch = repl_node_appended(h.n);
    check_reply(RUN(e, &s, 1000, "SET", "a", "1"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_last_index(r), 2);
    CHECK_EQ_LL(h.syncs_asked, 2);
    for (int i = 0; i < 3 * 10; i++) { /* ticks and iterations change nothing */
        repl_node_tick(h.n);
        repl_node_flush(h.n);
    }
    CHECK_EQ_LL(raft_get_commit(r), 1);
    CHECK(repl_node_durable(h.n) < epoch);

    /* executed while the fsync runs: the batch waits for it (its epoch
     * stays open, later commands join it), then goes as one entry
     * covered by the next fsync */
    uint64_t epoch2 = repl_node_appended(h.n);
    check_reply(RUN(e, &s, 1001, "SET", "b", "2"), "+OK\r\n");
    repl_node_flush(h.n);
    check_reply(RUN(e, &s, 1002, "SET", "c", "3"), "+OK\r\n");
    repl_node_flush(h.n);
    check_reply(RUN(e, &s, 1003, "GET", "c"), "$1\r\n3\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(repl_node_appended(h.n), epoch2);
    CHECK_EQ_LL(raft_last_index(r), 2);
    CHECK_EQ_LL(h.syncs_asked, 2);
    sync_now(&h);
    CHECK_EQ_LL(raft_get_commit(r), 2);
    CHECK(repl_node_durable(h.n) >= epoch);
    CHECK(repl_node_durable(h.n) < epoch2);
    CHECK_EQ_LL(raft_last_index(r), 3); /* b and c, one entry */
    CHECK_EQ_LL(h.syncs_asked, 3);
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_get_commit(r), 2);
    CHECK(repl_node_durable(h.n) < epoch2);
    sync_now(&h);
    CHECK_EQ_LL(raft_get_commit(r), 3);
    CHECK(repl_node_durable(h.n) >= epoch2);

    /* a batch past the bound goes without waiting for the fsync */
    char *big = malloc((300 << 10) + 1);
    REQUIRE(big);
    memset(big, 'x', 300 << 10);
    big[300 << 10] = 0;
    check_reply(RUN(e, &s, 1004, "SET", "d", "1"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_last_index(r), 4);
    check_reply(RUN(e, &s, 1005, "SET", "e", big), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_last_index(r), 5);
    CHECK_EQ_LL(h.syncs_asked, 4);
    sync_now(&h);
    sync_now(&h);
    CHECK_EQ_LL(raft_get_commit(r), 5);
    free(big);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, &s);
}

static void append_from_leader(fake_host *h, uint64_t term, uint64_t prev, uint64_t prev_term,
                               uint64_t first, uint64_t count, uint64_t commit)
{
    raft_entry ents[16];
    REQUIRE(count <= 16);
    for (uint64_t i = 0; i < count; i++)
        ents[i] = (raft_entry){.term = term, .index = first + i, .type = RAFT_ENTRY_NOOP};
    raft_msg m = {.type = RAFT_MSG_APP,
                  .from = 1,
                  .to = 2,
                  .term = term,
                  .log_term = prev_term,
                  .index = prev,
                  .commit = commit,
                  .n_entries = count,
                  .entries = ents};
    dstr buf = wire_encode(dstr_with_cap(256), &m);
    CHECK_EQ_LL(repl_node_receive(h->n, buf, dstr_len(buf)), 0);
    dstr_free(buf);
    repl_node_flush(h->n);
}

/* The acknowledgements sent so far: the highest index acknowledged in
 * term (0 if none). */
static uint64_t acked(const fake_host *h, uint64_t term)
{
    uint64_t best = 0;
    for (size_t i = 0; i < h->nsent; i++)
        if (h->sent[i].type == RAFT_MSG_APP_RESP && !h->sent[i].reject && h->sent[i].term == term &&
            h->sent[i].index > best)
            best = h->sent[i].index;
    return best;
}

/* A follower acknowledges entries only once the fsync covering them
 * completed -- and never entries its log dropped before that. */
static void test_follower_acks_once_durable(void)
{
    fake_host h;
    cairn_engine *e = node_up(&h, 2, -1);
    REQUIRE(e);
    append_from_leader(&h, 1, 0, 0, 1, 3, 0);
    CHECK_EQ_LL(raft_last_index(repl_node_raft(h.n)), 3);
    CHECK_EQ_LL(h.syncs_asked, 1);
    CHECK_EQ_LL(acked(&h, 1), 0);
    sync_now(&h);
    CHECK_EQ_LL(acked(&h, 1), 3);
    clear_sent(&h);

    /* entries 4..5 written, their fsync held; then a new leader's append
     * cuts them: their acknowledgement must never go, even once the fsync
     * that began before the cut completes */
    append_from_leader(&h, 1, 3, 1, 4, 2, 0);
    CHECK_EQ_LL(h.syncs_asked, 2);
    append_from_leader(&h, 2, 3, 1, 4, 1, 0);
    CHECK_EQ_LL(raft_last_index(repl_node_raft(h.n)), 4);
    CHECK_EQ_LL(h.syncs_asked, 2);
    sync_now(&h);
    CHECK_EQ_LL(acked(&h, 1), 0);
    CHECK_EQ_LL(acked(&h, 2), 0); /* its own write is not covered yet */
    CHECK_EQ_LL(h.syncs_asked, 3);
    sync_now(&h);
    CHECK_EQ_LL(acked(&h, 1), 0);
    CHECK_EQ_LL(acked(&h, 2), 4);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, NULL);
}

/* When the host lets it (its loop is idle, fsyncs are fast), the fsync
 * runs in the node's own call: what it covers counts at once -- and only
 * then; otherwise it goes to the host's thread as before. */
static void test_fsync_inline_when_the_host_lets_it(void)
{
    fake_host h;
    cairn_engine *e = node_up(&h, 1, 1);
    REQUIRE(e);
    raft *r = repl_node_raft(h.n);
    CHECK_EQ_LL(raft_get_role(r), RAFT_LEADER);
    CHECK_EQ_LL(raft_get_commit(r), 1);
    CHECK_EQ_LL(h.syncs_asked, 0);

    cairn_session s;
    session_init(e, &s);
    uint64_t epoch = repl_node_appended(h.n);
    check_reply(RUN(e, &s, 1000, "SET", "a", "1"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_get_commit(r), 2);
    CHECK(repl_node_durable(h.n) >= epoch);

    /* the host says no: its thread; a batch meanwhile waits, and the
     * fsync after it may run inline again */
    h.inline_ok = 0;
    check_reply(RUN(e, &s, 1001, "SET", "b", "2"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(h.syncs_asked, 1);
    CHECK_EQ_LL(raft_get_commit(r), 2);
    h.inline_ok = 1;
    int asked = h.inline_asked;
    check_reply(RUN(e, &s, 1002, "SET", "c", "3"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(h.inline_asked, asked); /* one fsync at a time */
    CHECK_EQ_LL(raft_last_index(r), 3);
    sync_now(&h);
    CHECK_EQ_LL(raft_last_index(r), 4);
    CHECK_EQ_LL(raft_get_commit(r), 4);
    CHECK_EQ_LL(h.syncs_asked, 1);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, &s);

    /* a follower acknowledges in the call that received the append, once
     * the fsync ran -- never before */
    e = node_up(&h, 2, 1);
    REQUIRE(e);
    append_from_leader(&h, 1, 0, 0, 1, 3, 0);
    CHECK_EQ_LL(h.syncs_asked, 0);
    CHECK_EQ_LL(acked(&h, 1), 3);
    for (size_t i = 0; i < h.nsent; i++)
        if (h.sent[i].type == RAFT_MSG_APP_RESP) CHECK(h.inlined_before[i] > 0);
    clear_sent(&h);
    h.inline_ok = 0;
    append_from_leader(&h, 1, 3, 1, 4, 1, 0);
    CHECK_EQ_LL(h.syncs_asked, 1);
    CHECK_EQ_LL(acked(&h, 1), 0);
    sync_now(&h);
    CHECK_EQ_LL(acked(&h, 1), 4);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, NULL);
}

/* A message from node from to the node. */
static void deliver(fake_host *h, uint64_t from, raft_msg m)
{
    m.from = from;
    m.to = repl_node_config_of(h->n)->id;
    dstr buf = wire_encode(dstr_with_cap(256), &m);
    CHECK_EQ_LL(repl_node_receive(h->n, buf, dstr_len(buf)), 0);
    dstr_free(buf);
}

/* A follower that wrote entries a new leader then cut, in a segment it
 * created, takes its own snapshot past the cut and goes on appending:
 * nothing of that is a storage failure.  (The leader's entries landed
 * past a hole in the segment, the snapshot found another term at its
 * index in the storage, dropped the whole log, and the next append was
 * refused: "Raft log storage failed", the node stopped.) */
static void test_snapshot_after_a_cut_keeps_the_node_up(void)
{
    make_tmpdir();
    cairn_engine *e = new_engine(2);
    fake_host h = {.inline_ok = 1, .snapshot_entries = 8};
    REQUIRE(open_node(e, &h, 2, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"));
    raft *r = repl_node_raft(h.n);
    append_from_leader(&h, 1, 0, 0, 1, 10, 3); /* 4..10 never commit */
    append_from_leader(&h, 2, 3, 1, 4, 8, 8);  /* term 2's leader cuts them */
    CHECK_EQ_LL(raft_last_index(r), 11);
    CHECK_EQ_LL(raft_get_commit(r), 8);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 8); /* taken in the node's call */
    append_from_leader(&h, 2, 11, 2, 12, 2, 8);
    CHECK_EQ_LL(h.fatal, 0);
    CHECK_EQ_LL(raft_last_index(r), 13);
    CHECK_EQ_LL(acked(&h, 2), 13);
    clear_sent(&h);
    repl_node_free(h.n);
    engine_free(e);

    /* and it restarts from its directory with all of it */
    e = new_engine(2);
    h = (fake_host){.inline_ok = 1, .snapshot_entries = 8};
    REQUIRE(open_node(e, &h, 2, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"));
    r = repl_node_raft(h.n);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 8);
    CHECK_EQ_LL(raft_last_index(r), 13);
    CHECK_EQ_LL(raft_term_at(r, 13), 2);
    node_down(e, &h, NULL);
}

/* The node's own snapshot (its child's) ends in the tick after a message
 * that completed a newer snapshot from the leader, before the flush that
 * writes that one: the core already stands on the leader's, so the own
 * one goes.  (It was adopted, and the core refused to compact behind it:
 * the node stopped itself.) */
static void test_own_snapshot_after_a_received_one_in_the_core(void)
{
    make_tmpdir();
    cairn_engine *e = new_engine(2);
    fake_host h = {.inline_ok = 1, .snapshot_entries = 8, .can_fork = 1};
    REQUIRE(open_node(e, &h, 2, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"));
    raft *r = repl_node_raft(h.n);
    append_from_leader(&h, 1, 0, 0, 1, 8, 8); /* a child writes the snapshot at 8 */
    siginfo_t si;
    REQUIRE(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0); /* ended, not reaped */
    CHECK_EQ_LL(si.si_status, 0);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 0);
    /* the leader's snapshot at 20: this node's state will do as its data */
    dstr bg = path_join(dir, "snapshot.bg"), file;
    REQUIRE(read_small_file(bg, 1 << 20, &file) == 0);
    size_t hdr = 28 + RAFT_CONF_MAX_BYTES;
    REQUIRE(dstr_len(file) > hdr + 4);
    raft_conf conf = {.n_voters = 3, .voters = {1, 2, 3}};
    raft_msg m = {.type = RAFT_MSG_SNAP,
                  .term = 1,
                  .index = 20,
                  .log_term = 1,
                  .size = dstr_len(file) - hdr - 4,
                  .done = 1,
                  .conf = &conf,
                  .data_len = (uint32_t)(dstr_len(file) - hdr - 4),
                  .data = (uint8_t *)file + hdr};
    deliver(&h, 1, m);
    repl_node_tick(h.n); /* the child is reaped here */
    CHECK_EQ_LL(h.fatal, 0);
    CHECK(!path_exists(bg));
    repl_node_flush(h.n);
    CHECK_EQ_LL(h.fatal, 0);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 20);
    CHECK_EQ_LL(raft_last_index(r), 20);
    CHECK_EQ_LL(acked(&h, 1), 20);
    dstr_free(file);
    dstr_free(bg);
    node_down(e, &h, NULL);
}

/* The data of a snapshot a follower (id 2) takes of an empty dataset. */
static dstr empty_snapshot_data(void)
{
    make_tmpdir();
    cairn_engine *e = new_engine(2);
    fake_host h = {.inline_ok = 1, .snapshot_entries = 4};
    dstr file = NULL, path = path_join(dir, "snapshot");
    if (open_node(e, &h, 2, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3")) {
        append_from_leader(&h, 1, 0, 0, 1, 4, 4);
        if (read_small_file(path, 1 << 20, &file) == 0) {
            size_t hdr = 28 + RAFT_CONF_MAX_BYTES;
            memmove(file, file + hdr, dstr_len(file) - hdr - 4);
            dstr_set_len(file, dstr_len(file) - hdr - 4);
        }
        clear_sent(&h);
        repl_node_free(h.n);
    }
    dstr_free(path);
    engine_free(e);
    rm_dir();
    return file;
}

/* A leader with an executed write not committed yet hears of a newer
 * term by a snapshot from the new leader: the core takes the snapshot at
 * once, the storage with the next Ready.  The dataset is about to be that
 * snapshot: nothing to rebuild from the log (the core no longer holds the
 * entries a rebuild would replay: the node stopped itself). */
static void test_deposed_by_a_snapshot(void)
{
    dstr data = empty_snapshot_data();
    REQUIRE(data);
    make_tmpdir();
    cairn_engine *e = new_engine(2);
    fake_host h = {.inline_ok = 1};
    REQUIRE(open_node(e, &h, 2, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"));
    raft *r = repl_node_raft(h.n);
    raft_campaign(r);
    repl_node_flush(h.n);
    deliver(&h, 1, (raft_msg){.type = RAFT_MSG_PREVOTE_RESP, .term = 1});
    repl_node_flush(h.n);
    deliver(&h, 1, (raft_msg){.type = RAFT_MSG_VOTE_RESP, .term = 1});
    repl_node_flush(h.n);
    REQUIRE(raft_get_role(r) == RAFT_LEADER);
    deliver(&h, 1, (raft_msg){.type = RAFT_MSG_APP_RESP, .term = 1, .index = 1}); /* its no-op */
    repl_node_flush(h.n);
    cairn_session s;
    session_init(e, &s);
    check_reply(RUN(e, &s, 1000, "SET", "a", "1"), "+OK\r\n");
    repl_node_flush(h.n);
    deliver(&h, 1, (raft_msg){.type = RAFT_MSG_APP_RESP, .term = 1, .index = 2});
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_get_commit(r), 2);
    check_reply(RUN(e, &s, 1001, "SET", "b", "2"), "+OK\r\n");
    repl_node_flush(h.n);
    CHECK_EQ_LL(raft_last_index(r), 3);
    raft_conf conf = {.n_voters = 3, .voters = {1, 2, 3}};
    deliver(&h, 1,
            (raft_msg){.type = RAFT_MSG_SNAP,
                       .term = 2,
                       .index = 5,
                       .log_term = 2,
                       .size = dstr_len(data),
                       .done = 1,
                       .conf = &conf,
                       .data_len = (uint32_t)dstr_len(data),
                       .data = (uint8_t *)data});
    repl_node_flush(h.n);
    CHECK_EQ_LL(h.fatal, 0);
    CHECK_EQ_LL(raft_get_role(r), RAFT_FOLLOWER);
    CHECK_EQ_LL(raft_get_snapshot(r)->index, 5);
    CHECK_EQ_LL(acked(&h, 2), 5);
    CHECK_EQ_LL(db_size(&e->dbs[0]), 0); /* the snapshot's dataset */
    node_down(e, &h, &s);
    dstr_free(data);
}

/* Node 1 hears m (from node 2, in term 1) and ends its loop iteration. */
static void hear(fake_host *h, raft_msg m)
{
    m.term = 1;
    deliver(h, 2, m);
    repl_node_flush(h->n);
}

/* The last message of type sent so far (NULL if none). */
static const raft_msg *last_sent(const fake_host *h, int type)
{
    const raft_msg *m = NULL;
    for (size_t i = 0; i < h->nsent; i++)
        if (h->sent[i].type == type) m = &h->sent[i];
    return m;
}

/* Node 1 ticks: its heartbeat goes out and node 2 acknowledges it. */
static void heartbeat_acked(fake_host *h)
{
    clear_sent(h);
    repl_node_tick(h->n);
    repl_node_flush(h->n);
    const raft_msg *hb = last_sent(h, RAFT_MSG_HEARTBEAT);
    REQUIRE(hb);
    hear(h, (raft_msg){.type = RAFT_MSG_HEARTBEAT_RESP, .ctx = hb->ctx, .tick = hb->tick});
}

/* h's node: node 1 of a group of three (with lease: taking lease reads),
 * elected with node 2's votes, its no-op committed.  0 if it is not. */
static int leader_of_three(cairn_engine *e, fake_host *h, int lease)
{
    if (!open_node_with(e, h, 1, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3", lease)) return 0;
    raft *r = repl_node_raft(h->n);
    raft_campaign(r);
    repl_node_flush(h->n);
    hear(h, (raft_msg){.type = RAFT_MSG_PREVOTE_RESP});
    hear(h, (raft_msg){.type = RAFT_MSG_VOTE_RESP});
    if (raft_get_role(r) != RAFT_LEADER) return 0;
    while (h->syncs_done < h->syncs_asked)
        sync_now(h);
    hear(h, (raft_msg){.type = RAFT_MSG_APP_RESP, .index = 1});
    return raft_get_commit(r) == 1;
}

/* Lease reads are checked against the monotonic clock: a leader whose
 * process stalled (its timer skipped the ticks it missed, and its loop
 * reads sockets before it runs timers) confirms no read on its lease --
 * its own clients' or a follower's -- until a heartbeat round says it
 * still leads. */
static void test_lease_reads_count_real_time(void)
{
    make_tmpdir();
    cairn_engine *e = new_engine(1);
    fake_host h = {.inline_ok = -1, .now_us = 5000000};
    REQUIRE(leader_of_three(e, &h, 1));

    heartbeat_acked(&h);
    h.now_us += 20000;
    uint64_t epoch = repl_node_observed(h.n); /* a read ran */
    repl_node_flush(h.n);
    CHECK(repl_node_durable(h.n) >= epoch); /* on the lease */

    /* stopped for a second: 50 ticks of real time, none delivered */
    h.now_us += 1000000;
    clear_sent(&h);
    epoch = repl_node_observed(h.n);
    repl_node_flush(h.n);
    CHECK(repl_node_durable(h.n) < epoch);
    hear(&h, (raft_msg){.type = RAFT_MSG_READ_INDEX, .ctx = 77});
    CHECK(last_sent(&h, RAFT_MSG_READ_INDEX_RESP) == NULL);
    /* a heartbeat round confirms both, and renews the lease */
    heartbeat_acked(&h);
    CHECK(repl_node_durable(h.n) >= epoch);
    const raft_msg *ans = last_sent(&h, RAFT_MSG_READ_INDEX_RESP);
    CHECK(ans && ans->ctx == 77);
    clear_sent(&h);
    hear(&h, (raft_msg){.type = RAFT_MSG_READ_INDEX, .ctx = 78});
    ans = last_sent(&h, RAFT_MSG_READ_INDEX_RESP);
    CHECK(ans && ans->ctx == 78);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, NULL);
}

/* A leader that hears of a newer term serves nothing more as leader,
 * though it becomes a follower only as its loop iteration ends: a command
 * arriving meanwhile waits (as a follower's does), and a read it already
 * ran is not answered (its client is dropped).  (Such a read was released
 * unconfirmed: a leader resumed after a stall served a value older than
 * what the new leader had acknowledged.) */
static void test_deposed_leader_serves_no_read(void)
{
    make_tmpdir();
    cairn_engine *e = new_engine(1);
    fake_host h = {.inline_ok = -1};
    REQUIRE(leader_of_three(e, &h, 0));
    raft *r = repl_node_raft(h.n);

    uint64_t ticket = 0;
    CHECK_EQ_LL(repl_node_admit(h.n, &ticket), 1);
    repl_node_observed(h.n); /* a read ran */
    deliver(&h, 3, (raft_msg){.type = RAFT_MSG_HEARTBEAT, .term = 2});
    CHECK_EQ_LL(repl_node_admit(h.n, &ticket), 0);
    CHECK(ticket != 0);
    int aborts = h.aborts;
    repl_node_flush(h.n);
    CHECK(h.aborts > aborts);
    CHECK_EQ_LL(raft_get_role(r), RAFT_FOLLOWER);
    CHECK_EQ_LL(h.fatal, 0);
    node_down(e, &h, NULL);
}

int main(void)
{
    TEST(test_leader_counts_itself_once_durable);
    TEST(test_follower_acks_once_durable);
    TEST(test_fsync_inline_when_the_host_lets_it);
    TEST(test_snapshot_after_a_cut_keeps_the_node_up);
    TEST(test_own_snapshot_after_a_received_one_in_the_core);
    TEST(test_deposed_by_a_snapshot);
    TEST(test_lease_reads_count_real_time);
    TEST(test_deposed_leader_serves_no_read);
    return TEST_REPORT();
}
