/* embed_node.c -- a libcairn handle as a member of a Raft group; see
 * embed_node.h for the threads and the lock. */
#include "embed_node.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "../ds/alloc.h"
#include "../engine/cmd.h"
#include "../engine/evict.h"
#include "../engine/reply.h"
#include "../log/clock.h"
#include "../net/member.h"
#include "cairn.h"

/* The high bit marks the ids of the handle's forwarded writes, which are
 * no net client's (those count up from 1). */
#define FWD_HANDLE_BIT (1ULL << 63)
#define TICK_MS        20

static const char fwd_no_leader[] =
    "-CLUSTERDOWN No leader is known to forward the write to: it was not applied\r\n";

struct embed_node {
    embed_node_handle h;
    cairn_engine *engine;
    const host_config *cfg;
    int timeout_ms;
    int64_t idle_check_ms; /* when clients were last checked for `timeout` */
    uv_loop_t loop;
    net net;
    member m;
    uv_async_t wake; /* the application's threads wake the loop */
    int loop_ready;  /* the loop was initialised (and must be closed) */
    pthread_t thread;
    pthread_cond_t cond; /* broadcast after every turn of the loop */
    pthread_mutex_t cmd_lock;
    int stop;      /* cairn_close(): the thread winds down */
    int fatal;     /* the node stopped (member_host.fatal) */
    char why[256]; /* why it stopped */
    /* The last warning logged, for the error of a failed start (no log
     * handler can be set before cairn_open() returns). */
    char last_warning[256];
    /* The handle's command in wait (one at a time: cmd_lock). */
    uint64_t wait_pos; /* the position its reply waits for, 0 if none */
    int wait_lost;     /* leadership was lost before that position */
    /* A write of the handle's to forward: the loop's thread sends it as
     * fwd_req, made in the handle's command (the engine's memory) while
     * its arguments live: fwd_request() of a write (fwd_parts 0), or
     * fwd_tx_request() of a transaction of fwd_parts commands. */
    int fwd_queued;
    long long fwd_local_reply;
    dstr fwd_req;
    int fwd_parts;
    uint64_t fwd_id, fwd_seq; /* the reply awaited (0: none) */
};

/* ---- the node's callbacks (node thread, locked) ---- */

/* The node's and the network layer's log lines, to the handle's log handler. */
static void node_log(void *priv, int level, const char *fmt, ...)
{
    embed_node *n = priv;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level >= LL_WARNING) snprintf(n->last_warning, sizeof(n->last_warning), "%.200s", msg);
    if (n->h.ops->log) n->h.ops->log(n->h.priv, level, msg);
}

static void node_fatal(void *priv, const char *why)
{
    embed_node *n = priv;
    node_log(n, LL_WARNING, "%s", why);
    n->fatal = 1;
    snprintf(n->why, sizeof(n->why), "%s", why);
}

static void node_abort_waiting(void *priv)
{
    embed_node *n = priv;
    if (n->wait_pos && n->wait_pos > repl_node_durable(n->m.node)) n->wait_lost = 1;
}

static int node_waits(void *priv, uint64_t id)
{
    embed_node *n = priv;
    if (!(id & FWD_HANDLE_BIT)) return -1;
    return id == n->fwd_id && (n->h.session->flags & SESS_FORWARDED);
}

static int node_deliver(void *priv, uint64_t id, const char *reply, size_t len)
{
    embed_node *n = priv;
    if (!(id & FWD_HANDLE_BIT)) return 0;
    cairn_session *s = n->h.session;
    if (id == n->fwd_id && (s->flags & SESS_FORWARDED)) {
        engine_mem_enter(n->engine);
        rbuf_append(n->h.out, reply, len);
        engine_mem_leave(n->engine);
        s->flags &= ~SESS_FORWARDED;
        n->fwd_id = 0;
    }
    return 1;
}

/* ---- the engine's host: the handle's callbacks for its own session,
 * the network's for the node's clients ---- */

static int is_handle(const embed_node *n, const cairn_session *s) { return s == n->h.session; }

static void host_unblocked(void *priv, cairn_session *s)
{
    embed_node *n = priv;
    if (!is_handle(n, s)) net_client_unblocked(s);
}

static void host_pushed(void *priv, cairn_session *s)
{
    embed_node *n = priv;
    if (!is_handle(n, s))
        net_client_pushed(s);
    else if (n->h.ops->pushed)
        n->h.ops->pushed(n->h.priv, s);
}

static cairn_session *host_find_session(void *priv, uint64_t id)
{
    embed_node *n = priv;
    if (n->h.session->id == id) return n->h.session;
    client *c = net_find_client(&n->net, id);
    return c && !(c->flags & CLIENT_CLOSING) ? &c->sess : NULL;
}

static void host_log(void *priv, int level, const char *msg)
{
    embed_node *n = priv;
    if (n->h.ops->log) n->h.ops->log(n->h.priv, level, msg);
}

static void host_sleep_us(void *priv, long long us)
{
    embed_node *n = priv;
    if (n->h.ops->sleep_us) n->h.ops->sleep_us(n->h.priv, us);
}

static void host_info(void *priv, const char *section, dstr *out)
{
    embed_node *n = priv;
    if (!strcmp(section, "replication"))
        repl_node_info(n->m.node, out);
    else if (!strcmp(section, "clients"))
        net_info_clients(&n->net, out);
}

static int host_repl_cmd(void *priv, cmd_call *c)
{
    embed_node *n = priv;
    if (slice_is(&c->argv[0], "replicaof") || slice_is(&c->argv[0], "slaveof"))
        reply_error(c->out,
                    "ERR REPLICAOF is not allowed with Raft replication (raft-peers is set)");
    else
        member_command(&n->m, c);
    return 1;
}

/* The handle's write goes to the leader from the node's thread (it owns
 * the sockets); the application's thread waits in embed_node_settle(). */
static void queue_forward(embed_node *n, cairn_session *s)
{
    n->fwd_queued = 1;
    n->fwd_id = FWD_HANDLE_BIT | ++n->fwd_seq;
    s->flags |= SESS_FORWARDED;
}

static int host_repl_forward(void *priv, cairn_session *s, int argc, const cslice *argv,
                             long long local_reply)
{
    embed_node *n = priv;
    if (!is_handle(n, s)) return member_forward(&n->m, s, argc, argv, local_reply);
    if (!n->cfg->raft_follower_proxy || !repl_node_leader(n->m.node)) return 0;
    n->fwd_req = fwd_request(argc, argv);
    n->fwd_parts = 0;
    n->fwd_local_reply = local_reply;
    queue_forward(n, s);
    return 1;
}

/* The handle's transaction at EXEC: its commands are freed when this
 * returns, so what goes is their RESP, as the server's follower sends it
 * (n == 0: whether it would go). */
static int host_repl_forward_tx(void *priv, cairn_session *s, int ncmds, const cairn_cmdv *cmds)
{
    embed_node *n = priv;
    if (!is_handle(n, s)) return member_forward_tx(&n->m, s, ncmds, cmds);
    if (!n->cfg->raft_follower_proxy) return 0;
    if (ncmds == 0) return 1;
    if (!repl_node_leader(n->m.node)) return 0;
    n->fwd_req = fwd_tx_request(ncmds, cmds);
    n->fwd_parts = ncmds;
    queue_forward(n, s);
    return 1;
}

/* The handle's request dropped: freed in the engine's memory, where its
 * command made it. */
static void drop_req(embed_node *n)
{
    if (!n->fwd_req) return;
    engine_mem_enter(n->engine);
    dstr_free(n->fwd_req);
    engine_mem_leave(n->engine);
    n->fwd_req = NULL;
}

/* A net client's blocking write (the handle cannot block: refused). */
static int host_repl_forward_block(void *priv, cairn_session *s, int argc, const cslice *argv,
                                   rbuf *out)
{
    embed_node *n = priv;
    return !is_handle(n, s) && member_forward_block(&n->m, s, argc, argv, out);
}

/* A net client's WATCH pins it to the leader (the handle's runs here: its
 * EXEC of writes is refused, as on a Redis replica). */
static int host_repl_pin(void *priv, cairn_session *s, int argc, const cslice *argv, int kind,
                         rbuf *out)
{
    embed_node *n = priv;
    return !is_handle(n, s) && member_pin(&n->m, s, argc, argv, kind, out);
}

static int host_seq_begin(void *priv, cmd_call *c)
{
    embed_node *n = priv;
    return member_seq_begin(&n->m, c);
}

static void host_seq_done(void *priv, cmd_call *c, rbuf_mark mark)
{
    embed_node *n = priv;
    member_seq_done(&n->m, c, mark);
}

/* The handle's settings, and its refusals of cairn-server's own. */
static void *host_config_base(void *priv)
{
    embed_node *n = priv;
    return n->h.ops->config_base(n->h.priv);
}

static int host_config_refused(void *priv, const config_def *d, char *why, size_t len)
{
    embed_node *n = priv;
    return n->h.ops->config_refused(n->h.priv, d, why, len);
}

/* CONFIG SET while the node runs: the handle's own (persistence), then
 * the node's.  tls-* rebuild the TLS contexts (re-reading the files);
 * bind and the raft-* settings are read once, when the handle opens. */
static const char *host_config_changed(void *priv, const char *name)
{
    embed_node *n = priv;
    const char *why = n->h.ops->config_changed ? n->h.ops->config_changed(n->h.priv, name) : NULL;
    if (why) return why;
    if (!strcmp(name, "bind"))
        return "the addresses an embedded member listens on are set when it opens";
    if (!strncmp(name, "tls-", 4) && strcmp(name, "tls-auth-clients") != 0 &&
        n->cfg->net.tls.replication && net_tls_configure(&n->net) != 0)
        return "Unable to update TLS configuration. Check server logs.";
    return NULL;
}

static const cairn_host_ops node_host_ops = {
    .config_defs = host_config_defs,
    .config_count = HOST_CONFIG_COUNT,
    .config_base = host_config_base,
    .config_refused = host_config_refused,
    .config_changed = host_config_changed,
    .info = host_info,
    .sleep_us = host_sleep_us,
    .log = host_log,
    .unblocked = host_unblocked,
    .pushed = host_pushed,
    .find_session = host_find_session,
    .repl_cmd = host_repl_cmd,
    .repl_forward = host_repl_forward,
    .repl_forward_tx = host_repl_forward_tx,
    .repl_forward_block = host_repl_forward_block,
    .repl_pin = host_repl_pin,
    .seq_begin = host_seq_begin,
    .seq_done = host_seq_done,
};

/* ---- the node's thread ---- */

static void on_wake(uv_async_t *a) { (void)a; }

static void send_forward(embed_node *n)
{
    n->fwd_queued = 0;
    /* the forwarder's copy is this thread's, as the net clients' are */
    dstr req = dstr_new(n->fwd_req, dstr_len(n->fwd_req));
    drop_req(n);
    cairn_session *s = n->h.session;
    if (!(s->flags & SESS_FORWARDED)) { /* given up meanwhile */
        dstr_free(req);
        return;
    }
    int sent = n->fwd_parts ? member_forward_tx_as(&n->m, n->fwd_id, s, req, n->fwd_parts)
                            : member_forward_as(&n->m, n->fwd_id, s, req, n->fwd_local_reply);
    if (!sent) node_deliver(n, n->fwd_id, fwd_no_leader, sizeof(fwd_no_leader) - 1);
}

/* One turn: run what is ready without blocking, then write the replies
 * it made (the loop's own flush ran before its I/O).  Twice, so that
 * handles started by the first flush are registered with the kernel
 * before the thread sleeps. */
static void turn(embed_node *n)
{
    for (int pass = 0; pass < 2; pass++) {
        uv_run(&n->loop, UV_RUN_NOWAIT);
        if (n->fwd_queued) send_forward(n);
        net_flush(&n->net);
    }
    if (n->h.cron) n->h.cron(n->h.priv);
    /* `timeout`: idle clients closed, checked about once a second as a
     * server's cron does at its default hz. */
    int64_t now_ms = clock_mono_ms();
    if (now_ms - n->idle_check_ms >= 1000) {
        n->idle_check_ms = now_ms;
        net_close_idle(&n->net, now_ms, n->cfg->timeout);
    }
    pthread_cond_broadcast(&n->cond);
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void *node_main(void *arg)
{
    embed_node *n = arg;
    pthread_mutex_lock(n->h.lock);
    while (!n->stop) {
        turn(n);
        int timeout = uv_backend_timeout(&n->loop);
        /* A handle started after the loop last polled waits for the tick
         * at most. */
        if (timeout < 0 || timeout > TICK_MS) timeout = TICK_MS;
        pthread_mutex_unlock(n->h.lock);
        struct pollfd p = {uv_backend_fd(&n->loop), POLLIN, 0};
        if (timeout) poll(&p, 1, timeout);
        pthread_mutex_lock(n->h.lock);
    }
    member_stop(&n->m);
    net_shutdown(&n->net);
    uv_walk(&n->loop, close_handle, NULL);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(n->h.lock);
    return NULL;
}

/* ---- the application's side (locked) ---- */

static void wake(embed_node *n) { uv_async_send(&n->wake); }

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait for the next turn of the loop; 0, or -1 once past the deadline or
 * when the node stopped. */
static int wait_turn(embed_node *n, const struct timespec *deadline)
{
    if (n->fatal || n->stop) return -1;
    return pthread_cond_timedwait(&n->cond, n->h.lock, deadline) == ETIMEDOUT ? -1 : 0;
}

static int stopped(embed_node *n, char *err, size_t errlen)
{
    snprintf(err, errlen, "the Raft node stopped: %s", n->why[0] ? n->why : "the handle closes");
    return CAIRN_ERROR;
}

void embed_node_begin(embed_node *n) { pthread_mutex_lock(&n->cmd_lock); }

void embed_node_end(embed_node *n) { pthread_mutex_unlock(&n->cmd_lock); }

int embed_node_admit(embed_node *n, char *err, size_t errlen)
{
    uint64_t ticket = 0;
    struct timespec deadline;
    deadline_in(&deadline, n->timeout_ms);
    while (!repl_node_admit(n->m.node, &ticket)) {
        wake(n);
        if (wait_turn(n, &deadline) != 0) {
            if (n->fatal) return stopped(n, err, errlen);
            snprintf(err, errlen,
                     "timed out after %d ms waiting for the leader to confirm a read "
                     "(no leader reachable?)",
                     n->timeout_ms);
            return CAIRN_TIMEOUT;
        }
    }
    return CAIRN_OK;
}

static int settle_forward(embed_node *n, const struct timespec *deadline, char *err, size_t errlen)
{
    cairn_session *s = n->h.session;
    wake(n);
    while (s->flags & SESS_FORWARDED) {
        if (wait_turn(n, deadline) == 0) continue;
        /* A reply that comes later is dropped (its id is no longer
         * awaited). */
        s->flags &= ~SESS_FORWARDED;
        n->fwd_id = 0;
        n->fwd_queued = 0;
        drop_req(n);
        if (n->fatal) return stopped(n, err, errlen);
        snprintf(err, errlen,
                 "timed out after %d ms waiting for the leader's reply to a forwarded write: it "
                 "may or may not have been applied",
                 n->timeout_ms);
        return CAIRN_TIMEOUT;
    }
    return CAIRN_OK;
}

int embed_node_settle(embed_node *n, char *err, size_t errlen)
{
    struct timespec deadline;
    deadline_in(&deadline, n->timeout_ms);
    if (n->h.session->flags & SESS_FORWARDED) return settle_forward(n, &deadline, err, errlen);
    /* As a connection's reply waits (net_log_hooks): until every entry it
     * may have observed is committed, or its reads are confirmed. */
    n->wait_pos = repl_node_observed(n->m.node);
    n->wait_lost = 0;
    wake(n);
    int rc = CAIRN_OK;
    while (repl_node_durable(n->m.node) < n->wait_pos && !n->wait_lost) {
        if (wait_turn(n, &deadline) == 0) continue;
        if (n->fatal) {
            rc = stopped(n, err, errlen);
        } else {
            snprintf(err, errlen,
                     "timed out after %d ms waiting for the group to commit: the write may or "
                     "may not be applied",
                     n->timeout_ms);
            rc = CAIRN_TIMEOUT;
        }
        break;
    }
    if (rc == CAIRN_OK && n->wait_lost) {
        snprintf(err, errlen,
                 "leadership was lost before the command's writes committed: they may or may "
                 "not be applied");
        rc = CAIRN_ERROR;
    }
    n->wait_pos = 0;
    return rc;
}

/* ---- open and close ---- */

/* This node's own entry in the peer list: the port it listens on. */
static int own_address(const host_config *cfg, repl_peer *self, char *err, size_t errlen)
{
    repl_node_config nc = {.id = (uint64_t)cfg->raft_id};
    if (repl_parse_peers(cfg->raft_peers, &nc, err, errlen) != 0) return -1;
    for (size_t i = 0; i < nc.n_peers; i++)
        if (nc.peers[i].id == nc.id) {
            *self = nc.peers[i];
            return 0;
        }
    snprintf(err, errlen, "raft-id %d is not in raft-peers: it names the port to listen on",
             cfg->raft_id);
    return -1;
}

/* Listen on the port of this node's entry in the peer list, on the
 * addresses of bind, or that entry's host if bind is empty -- every
 * address if the host is a name (as a server with no bind; protected
 * mode, passwords and TLS guard it the same way).  With
 * tls-replication the other nodes connect with TLS, so the port is a TLS
 * one. */
static int node_listen(embed_node *n, char *err, size_t errlen)
{
    repl_peer self;
    if (own_address(n->cfg, &self, err, errlen) != 0) return -1;
    resolved numeric;
    const char *bind = n->cfg->bind && n->cfg->bind[0]                   ? n->cfg->bind
                       : resolve_numeric(self.host, self.port, &numeric) ? self.host
                                                                         : "0.0.0.0 -::";
    int tls = n->cfg->net.tls.replication;
    if (tls && net_tls_configure(&n->net) != 0) {
        snprintf(err, errlen, "TLS (tls-replication yes): %s", n->last_warning);
        return -1;
    }
    int rc = tls ? net_listen_tls(&n->net, bind, self.port)
                 : net_listen(&n->net, bind, self.port, NULL, 0);
    if (rc != 0) {
        snprintf(err, errlen, "can't listen on %s port %d: %s", bind, self.port, uv_strerror(rc));
        return -1;
    }
    return 0;
}

static int start_loop(embed_node *n, const embed_node_config *cfg, char *err, size_t errlen)
{
    int rc = uv_loop_init(&n->loop);
    if (rc != 0) {
        snprintf(err, errlen, "event loop: %s", uv_strerror(rc));
        return -1;
    }
    n->loop_ready = 1;
    rc = net_init(&n->net, &n->loop, n->engine, &n->cfg->net, node_log, n);
    if (rc == 0) rc = uv_async_init(&n->loop, &n->wake, on_wake);
    if (rc != 0) {
        snprintf(err, errlen, "event loop: %s", uv_strerror(rc));
        return -1;
    }
    if (node_listen(n, err, errlen) != 0) return -1;
    member_host mh = {.fatal = node_fatal,
                      .log = node_log,
                      .abort_waiting = node_abort_waiting,
                      .priv = n,
                      .waiters = {node_waits, node_deliver, n}};
    /* A library does not fork its host: snapshots are written on the
     * node's thread. */
    return member_start(&n->m, &n->loop, &n->net, n->engine, n->cfg, cfg->dir, 0, &mh, err, errlen);
}

/* Close what start_loop opened (no thread runs the loop). */
static void close_loop(embed_node *n)
{
    if (!n->loop_ready) return;
    member_stop(&n->m);
    if (n->net.loop) net_shutdown(&n->net);
    uv_walk(&n->loop, close_handle, NULL);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
    member_free(&n->m);
}

static int init_sync(embed_node *n)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) rc = pthread_cond_init(&n->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) return -1;
    if (pthread_mutex_init(&n->cmd_lock, NULL) != 0) {
        pthread_cond_destroy(&n->cond);
        return -1;
    }
    return 0;
}

int embed_node_open(cairn_engine *e, const embed_node_config *cfg, const embed_node_handle *h,
                    embed_node **out, char *err, size_t errlen)
{
    *out = NULL;
    embed_node *n = cm_calloc(1, sizeof(*n));
    n->h = *h;
    n->engine = e;
    n->cfg = cfg->cfg;
    n->timeout_ms = cfg->timeout_ms;
    if (init_sync(n) != 0) {
        snprintf(err, errlen, "could not create the node's mutex and condition variable");
        cm_free(n);
        return -1;
    }
    engine_set_host(e, &node_host_ops, n);
    int rc = start_loop(n, cfg, err, errlen);
    if (rc == 0 && pthread_create(&n->thread, NULL, node_main, n) != 0) {
        snprintf(err, errlen, "could not start the node's thread: %s", strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        engine_set_host(e, h->ops, h->priv);
        close_loop(n);
        pthread_mutex_destroy(&n->cmd_lock);
        pthread_cond_destroy(&n->cond);
        cm_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

void embed_node_close(embed_node *n)
{
    if (!n) return;
    pthread_mutex_lock(n->h.lock);
    n->stop = 1;
    wake(n);
    pthread_mutex_unlock(n->h.lock);
    pthread_join(n->thread, NULL);
    if (uv_loop_close(&n->loop) != 0)
        node_log(n, LL_WARNING, "the node's loop did not close cleanly");
    member_free(&n->m);
    engine_set_host(n->engine, n->h.ops, n->h.priv);
    pthread_mutex_destroy(&n->cmd_lock);
    pthread_cond_destroy(&n->cond);
    cm_free(n);
}
