/* member.c -- a member of a Raft group on a libuv loop; see member.h. */
#include "member.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "../engine/cmd.h"
#include "../engine/reply.h"
#include "../log/clock.h"
#include "../repl/csession.h"

static void node_send(void *priv, uint64_t to, const char *data, size_t len)
{
    member *m = priv;
    peer_set_send(&m->peers, to, data, len);
}

static void node_send_done(void *priv)
{
    member *m = priv;
    peer_set_flush(&m->peers);
}

static void node_abort_waiting(void *priv)
{
    member *m = priv;
    net_close_waiting(m->net);
    if (m->host.abort_waiting) m->host.abort_waiting(m->host.priv);
}

static void node_resume_readers(void *priv)
{
    member *m = priv;
    net_resume_admitted(m->net);
    if (m->host.resume_readers) m->host.resume_readers(m->host.priv);
}

static void node_fatal(void *priv, const char *why)
{
    member *m = priv;
    m->host.fatal(m->host.priv, why);
}

static void node_set_peer(void *priv, uint64_t id, const char *host, int port)
{
    member *m = priv;
    peer_set_put(&m->peers, id, host, port);
}

/* The log's fsync runs on libuv's thread pool while the loop goes on;
 * the node hears of it on the loop (a stopping member only lets it close
 * what the sync used). */
static void sync_work(uv_work_t *w)
{
    member *m = w->data;
    repl_node_sync_run(m->node);
}

static void sync_after(uv_work_t *w, int status)
{
    member *m = w->data;
    repl_node_synced(m->node, m->started && status == 0);
}

static void node_sync_start(void *priv)
{
    member *m = priv;
    m->sync_req.data = m;
    int rc = uv_queue_work(m->loop, &m->sync_req, sync_work, sync_after);
    if (rc != 0) {
        char why[128];
        snprintf(why, sizeof(why), "Raft log fsync could not be queued: %s: the node stops",
                 uv_strerror(rc));
        m->host.fatal(m->host.priv, why);
    }
}

/* A fast fsync runs on the loop when nothing is ready on it (a follower
 * between two appends, a leader between two requests): the thread pool's
 * hand-off and wake-ups cost more CPU than that fsync blocks a loop with
 * nothing to do meanwhile -- and on a busy machine each wake-up waits for
 * a core.  With events waiting (clients, acknowledgements), or after a
 * slow fsync (a busy disk: the loop must not stop that long), the loop
 * goes on and the fsync goes to the pool.  libuv's epoll set is
 * level-triggered: the peek takes nothing from the loop's next poll. */
#define SYNC_INLINE_US 1000
static int node_sync_inline(void *priv, int64_t last_us)
{
    member *m = priv;
    struct epoll_event ev;
    return last_us < SYNC_INLINE_US && epoll_wait(uv_backend_fd(m->loop), &ev, 1, 0) == 0;
}

static void node_log(void *priv, int level, const char *fmt, ...)
{
    member *m = priv;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    m->host.log(m->host.priv, level, "%s", msg);
}

static void hook_flush(void *priv)
{
    member *m = priv;
    repl_node_flush(m->node);
}

static uint64_t hook_appended(void *priv)
{
    member *m = priv;
    return repl_node_appended(m->node);
}

static uint64_t hook_durable(void *priv)
{
    member *m = priv;
    return repl_node_durable(m->node);
}

static uint64_t hook_observed(void *priv)
{
    member *m = priv;
    return repl_node_observed(m->node);
}

static int hook_admit(void *priv, uint64_t *ticket)
{
    member *m = priv;
    return repl_node_admit(m->node, ticket);
}

/* An address of the group's address book: as written in raft-peers or
 * RAFT ADD-NODE, or what a host name there last resolved to. */
static int hook_group_node(void *priv, const char *ip)
{
    member *m = priv;
    const repl_node_config *book = repl_node_config_of(m->node);
    for (size_t i = 0; i < book->n_peers; i++)
        if (strcmp(book->peers[i].host, ip) == 0 ||
            resolve_names_has(&m->names, book->peers[i].host, ip))
            return 1;
    return 0;
}

static void on_self_resolved(void *priv, int status, const resolved *r)
{
    (void)status;
    (void)r;
    member *m = priv;
    m->self_lookup = NULL;
}

/* The links look up the other nodes' names; this node's own name is
 * looked up every second too: a node may reach another through an
 * address of this machine and come from this node's own address
 * (protected mode must know it). */
static void resolve_self(member *m)
{
    const repl_node_config *book = repl_node_config_of(m->node);
    int every = 1000 / (m->cfg->raft_tick_ms > 0 ? m->cfg->raft_tick_ms : 20);
    if (m->self_lookup) return;
    if (m->self_ticks > 0) {
        m->self_ticks--;
        return;
    }
    m->self_ticks = every;
    for (size_t i = 0; i < book->n_peers; i++) {
        const repl_peer *p = &book->peers[i];
        resolved r;
        if (p->id != book->id || resolve_numeric(p->host, p->port, &r)) continue;
        int rc;
        m->self_lookup =
            resolve_start(m->loop, &m->names, p->host, p->port, on_self_resolved, m, &rc);
    }
}

static void hook_forwarded_gone(void *priv, uint64_t id)
{
    member *m = priv;
    if (m->fwd) fwd_client_gone(m->fwd, id);
}

static void on_tick(uv_timer_t *t)
{
    member *m = t->data;
    peer_set_tick(&m->peers);
    resolve_self(m);
    repl_node_tick(m->node);
}

/* What a node's connections to the others start with when the group
 * requires a password: `AUTH [masteruser] masterauth`, as a Redis
 * replica authenticates to its master (NULL: no AUTH). */
static dstr node_auth(const host_config *cfg)
{
    if (!cfg->masterauth || !cfg->masterauth[0]) return NULL;
    int user = cfg->masteruser && cfg->masteruser[0];
    dstr out = dstr_catfmt(dstr_with_cap(64), "*%d\r\n$4\r\nAUTH\r\n", user ? 3 : 2);
    if (user) out = dstr_catfmt(out, "$%zu\r\n%s\r\n", dstr_len(cfg->masteruser), cfg->masteruser);
    return dstr_catfmt(out, "$%zu\r\n%s\r\n", dstr_len(cfg->masterauth), cfg->masterauth);
}

/* A lease lasts the election timeout less the clock drift bound, less
 * what counting in whole ticks loses: a follower that heard from the
 * leader votes for no one else for an election timeout of its own clock,
 * but its first tick may come at once (one tick), the leader's lease
 * clock is read in whole ticks (another) and the loop's timers round to
 * the millisecond (2 ms, one at each end).  So the leader's lease ends
 * before any follower's clock can let another be elected. */
static int lease_config(const host_config *cfg, int tick, repl_node_config *nc, char *err,
                        size_t errlen)
{
    nc->reads = cfg->raft_reads;
    if (cfg->raft_reads != REPL_READS_LEASE) return 0;
    if (cfg->raft_clock_drift_ms <= 0) {
        snprintf(err, errlen, "raft-reads lease needs a clock drift bound (raft-clock-drift-ms)");
        return -1;
    }
    nc->lease_ticks = nc->election_ticks - 2 - (cfg->raft_clock_drift_ms + 2 + tick - 1) / tick;
    if (nc->lease_ticks < 1) {
        snprintf(err, errlen,
                 "raft-clock-drift-ms %d leaves no lease: with an election timeout of %d ms it "
                 "must be at most %d ms",
                 cfg->raft_clock_drift_ms, nc->election_ticks * tick,
                 (nc->election_ticks - 3) * tick - 2);
        return -1;
    }
    return 0;
}

/* The node's settings from the host's: failover within a second or so
 * (an election timeout of 500 to 1000 ms, heartbeats 8 times as often). */
static int node_config(const host_config *cfg, int can_fork, repl_node_config *nc, char *err,
                       size_t errlen)
{
    memset(nc, 0, sizeof(*nc));
    nc->id = (uint64_t)cfg->raft_id;
    if (repl_parse_peers(cfg->raft_peers, nc, err, errlen) != 0) return -1;
    snprintf(nc->secret, sizeof(nc->secret), "%s", cfg->raft_secret ? cfg->raft_secret : "");
    snprintf(nc->group_name, sizeof(nc->group_name), "%s",
             cfg->raft_group_name ? cfg->raft_group_name : "cairn");
    int tick = cfg->raft_tick_ms > 0 ? cfg->raft_tick_ms : 20;
    nc->tick_ms = tick;
    nc->election_ticks = 500 / tick > 2 ? 500 / tick : 2;
    nc->heartbeat_ticks = nc->election_ticks / 8 > 0 ? nc->election_ticks / 8 : 1;
    if (lease_config(cfg, tick, nc, err, errlen) != 0) return -1;
    nc->snapshot_entries = (uint64_t)cfg->raft_snapshot_entries;
    nc->snapshot_bytes = (uint64_t)cfg->raft_snapshot_bytes;
    nc->can_fork = can_fork;
    return 0;
}

int member_start(member *m, uv_loop_t *loop, net *n, cairn_engine *e, const host_config *cfg,
                 const char *dir, int can_fork, const member_host *host, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->loop = loop;
    m->net = n;
    m->engine = e;
    m->cfg = cfg;
    m->host = *host;
    repl_node_config nc;
    if (node_config(cfg, can_fork, &nc, err, errlen) != 0) return -1;
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)clock_mono_us();
    repl_host rh = {
        node_send, node_send_done, node_abort_waiting, node_resume_readers, node_fatal, node_log,
        m,         node_set_peer,  node_sync_start,    node_sync_inline};
    char why[512];
    m->node = repl_node_open(e, &nc, dir, &rh, seed, why, sizeof(why));
    if (!m->node) {
        snprintf(err, errlen, "Can't open the Raft log: %s", why);
        return -1;
    }
    int rc = uv_timer_init(loop, &m->timer);
    if (rc != 0) {
        snprintf(err, errlen, "Raft timer: %s", uv_strerror(rc));
        return -1;
    }
    /* the address book as the node recovered it (its snapshot's too) */
    const repl_node_config *book = repl_node_config_of(m->node);
    m->auth = node_auth(cfg);
    peer_set_init(&m->peers, loop, m->net, &m->names, nc.secret, m->auth);
    m->started = 1;
    for (size_t i = 0; i < book->n_peers; i++)
        if (book->peers[i].id != nc.id)
            peer_set_put(&m->peers, book->peers[i].id, book->peers[i].host, book->peers[i].port);
    n->hooks = (net_log_hooks){hook_flush,    hook_appended, hook_durable,    m,
                               hook_observed, hook_admit,    hook_group_node, hook_forwarded_gone};
    m->timer.data = m;
    int tick = cfg->raft_tick_ms > 0 ? cfg->raft_tick_ms : 20;
    /* the first tick a whole tick after the node's clock began (leases
     * count from then), not after the loop last looked at the time */
    uv_update_time(loop);
    rc = uv_timer_start(&m->timer, on_tick, (uint64_t)tick, (uint64_t)tick);
    if (rc != 0) {
        snprintf(err, errlen, "Raft timer: %s", uv_strerror(rc));
        return -1;
    }
    m->host.log(m->host.priv, LL_NOTICE, "Raft node %llu%s, log in %s", (unsigned long long)nc.id,
                nc.joining ? " (not in raft-peers: joins as a learner once added)" : "", dir);
    return 0;
}

void member_command(member *m, cmd_call *c)
{
    if (!csession_command(repl_node_sessions(m->node), c)) repl_node_command(m->node, c);
}

/* fwd_leader_fn: the node that leads now, this one included. */
static int fwd_leader(void *priv, uint64_t *id, char *host, size_t hostlen, int *port)
{
    member *m = priv;
    const repl_peer *p = repl_node_leader_addr(m->node);
    if (!p) return 0;
    *id = p->id;
    snprintf(host, hostlen, "%s", p->host);
    *port = p->port;
    return 1;
}

/* The forwarder, created on the first forwarded write. */
static forwarder *member_fwd(member *m)
{
    if (m->fwd) return m->fwd;
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)clock_mono_us() ^ repl_node_config_of(m->node)->id;
    m->fwd = fwd_new(m->loop, m->net, &m->names, m->auth, fwd_leader, m, seed);
    if (m->fwd) fwd_set_waiters(m->fwd, &m->host.waiters);
    return m->fwd;
}

int member_forward_as(member *m, uint64_t reply_to, cairn_session *s, dstr req,
                      long long local_reply)
{
    if (!repl_node_leader(m->node) || !member_fwd(m)) {
        dstr_free(req);
        return 0;
    }
    return fwd_send_as(m->fwd, reply_to, s, req, local_reply) == 0;
}

int member_forward(member *m, cairn_session *s, int argc, const cslice *argv, long long local_reply)
{
    /* the connection waits for the reply as a parked client does */
    if (!m->cfg->raft_follower_proxy || !(s->flags & SESS_CAN_BLOCK) ||
        !repl_node_leader(m->node) || !member_fwd(m))
        return 0;
    return fwd_send(m->fwd, s, argc, argv, local_reply) == 0;
}

int member_forward_block(member *m, cairn_session *s, int argc, const cslice *argv, rbuf *out)
{
    int max = m->cfg->raft_proxy_blocking_links;
    if (!m->cfg->raft_follower_proxy || max <= 0 || !(s->flags & SESS_CAN_BLOCK) ||
        !repl_node_leader(m->node) || !member_fwd(m))
        return 0;
    if (s->flags & SESS_SEQ) { /* as the leader would answer it */
        s->flags &= ~SESS_SEQ;
        reply_error(out, CSESSION_NO_BLOCKING);
        return 1;
    }
    int rc = fwd_send_block(m->fwd, s, argc, argv, max);
    if (rc == -2)
        reply_errorf(out,
                     "ERR max number of clients blocked through this follower reached "
                     "(raft-follower-proxy-blocking-links %d): run blocking commands on the leader",
                     max);
    return rc == 0 || rc == -2;
}

int member_pin(member *m, cairn_session *s, int argc, const cslice *argv, int kind, rbuf *out)
{
    if (kind == PIN_DROP) {
        if (m->fwd) fwd_unpin(m->fwd, s->id);
        return 1;
    }
    int max = m->cfg->raft_proxy_blocking_links;
    int pinned = s->flags & SESS_PINNED;
    /* a WATCH that cannot go runs here, as on a Redis replica (its EXEC
     * of writes is then refused) */
    if (!pinned && (!m->cfg->raft_follower_proxy || max <= 0 || !(s->flags & SESS_CAN_BLOCK)))
        return 0;
    if (!member_fwd(m)) return 0;
    int rc = fwd_pin_send(m->fwd, s, argc, argv, kind, max);
    if (rc == -1)
        reply_error(out, "CLUSTERDOWN No leader to run WATCH on: try again");
    else if (rc == -2)
        reply_errorf(out,
                     "ERR max number of clients blocked or watching keys through this follower "
                     "reached (raft-follower-proxy-blocking-links %d): run WATCH on the leader",
                     max);
    return rc != -3;
}

int member_unblock(member *m, uint64_t client, int with_error)
{
    return m->fwd && fwd_unblock(m->fwd, client, with_error);
}

int member_forward_tx(member *m, cairn_session *s, int n, const cairn_cmdv *cmds)
{
    if (!m->cfg->raft_follower_proxy || !(s->flags & SESS_CAN_BLOCK)) return 0;
    if (n == 0) return 1;
    if (!repl_node_leader(m->node) || !member_fwd(m)) return 0;
    return fwd_send_tx(m->fwd, s, n, cmds) == 0;
}

int member_forward_tx_as(member *m, uint64_t reply_to, cairn_session *s, dstr tx, int n)
{
    if (!repl_node_leader(m->node) || !member_fwd(m)) {
        dstr_free(tx);
        return 0;
    }
    return fwd_send_tx_as(m->fwd, reply_to, s, tx, n) == 0;
}

int member_seq_begin(member *m, cmd_call *c)
{
    return csession_begin(repl_node_sessions(m->node), c);
}

void member_seq_done(member *m, cmd_call *c, rbuf_mark mark)
{
    csession_done(repl_node_sessions(m->node), c, mark);
}

void member_stop(member *m)
{
    if (m->fwd) fwd_close(m->fwd);
    m->fwd = NULL;
    if (!m->started) return;
    m->started = 0;
    if (!uv_is_closing((uv_handle_t *)&m->timer)) uv_close((uv_handle_t *)&m->timer, NULL);
    if (m->self_lookup) resolve_cancel(m->self_lookup);
    m->self_lookup = NULL;
    peer_set_close(&m->peers);
}

void member_free(member *m)
{
    repl_node_free(m->node);
    m->node = NULL;
    dstr_free(m->auth);
    m->auth = NULL;
}
