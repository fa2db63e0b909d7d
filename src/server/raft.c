/* raft.c -- cairn-server as a member of a Raft group: the node
 * (src/repl/node.h) on the server's loop, its peers (src/net/peer.h), its
 * tick timer, and the hooks through which the network layer holds replies
 * until the node says they may go. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../engine/cmd.h"
#include "../repl/csession.h"
#include "server.h"

static void node_send(void *priv, uint64_t to, const char *data, size_t len)
{
    cairn_server *srv = priv;
    peer_set_send(&srv->peers, to, data, len);
}

static void node_send_done(void *priv)
{
    cairn_server *srv = priv;
    peer_set_flush(&srv->peers);
}

static void node_abort_waiting(void *priv)
{
    cairn_server *srv = priv;
    net_close_waiting(&srv->net);
}

static void node_resume_readers(void *priv)
{
    cairn_server *srv = priv;
    net_resume_admitted(&srv->net);
}

static void node_fatal(void *priv, const char *why)
{
    cairn_server *srv = priv;
    server_log(srv, LL_WARNING, "%s", why);
    srv->exit_code = 1;
    server_shutdown(srv);
}

static void node_set_peer(void *priv, uint64_t id, const char *host, int port)
{
    cairn_server *srv = priv;
    peer_set_put(&srv->peers, id, host, port);
}

static void hook_flush(void *priv)
{
    cairn_server *srv = priv;
    repl_node_flush(srv->node);
}

static uint64_t hook_appended(void *priv)
{
    cairn_server *srv = priv;
    return repl_node_appended(srv->node);
}

static uint64_t hook_durable(void *priv)
{
    cairn_server *srv = priv;
    return repl_node_durable(srv->node);
}

static uint64_t hook_observed(void *priv)
{
    cairn_server *srv = priv;
    return repl_node_observed(srv->node);
}

static int hook_admit(void *priv, uint64_t *ticket)
{
    cairn_server *srv = priv;
    return repl_node_admit(srv->node, ticket);
}

static void on_raft_tick(uv_timer_t *t)
{
    cairn_server *srv = t->data;
    peer_set_tick(&srv->peers);
    repl_node_tick(srv->node);
}

/* What a node's connections to the others start with when the group
 * requires a password: `AUTH [masteruser] masterauth`, as a Redis
 * replica authenticates to its master (NULL: no AUTH). */
static dstr node_auth(const server_config *cfg)
{
    if (!cfg->masterauth || !cfg->masterauth[0]) return NULL;
    int user = cfg->masteruser && cfg->masteruser[0];
    dstr out = dstr_catfmt(dstr_with_cap(64), "*%d\r\n$4\r\nAUTH\r\n", user ? 3 : 2);
    if (user) out = dstr_catfmt(out, "$%zu\r\n%s\r\n", dstr_len(cfg->masteruser), cfg->masteruser);
    return dstr_catfmt(out, "$%zu\r\n%s\r\n", dstr_len(cfg->masterauth), cfg->masterauth);
}

int server_raft_start(cairn_server *srv)
{
    const server_config *cfg = &srv->cfg;
    if (!cfg->raft_peers || !cfg->raft_peers[0]) return 0;
    repl_node_config nc = {.id = (uint64_t)cfg->raft_id};
    char err[512];
    if (cfg->raft_id <= 0) {
        server_log(srv, LL_WARNING, "raft-peers is set but raft-id is not");
        return -1;
    }
    if (repl_parse_peers(cfg->raft_peers, &nc, err, sizeof(err)) != 0) {
        server_log(srv, LL_WARNING, "%s", err);
        return -1;
    }
    snprintf(nc.secret, sizeof(nc.secret), "%s", cfg->raft_secret ? cfg->raft_secret : "");
    snprintf(nc.group_name, sizeof(nc.group_name), "%s",
             cfg->raft_group_name ? cfg->raft_group_name : "cairn");
    /* Failover within a second or so: an election timeout of 25 to 50
     * ticks, heartbeats every 3. */
    nc.election_ticks = 500 / cfg->raft_tick_ms > 2 ? 500 / cfg->raft_tick_ms : 2;
    nc.heartbeat_ticks = nc.election_ticks / 8 > 0 ? nc.election_ticks / 8 : 1;
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) seed = (uint64_t)srv->start_ms;
    repl_host host = {node_send,
                      node_send_done,
                      node_abort_waiting,
                      node_resume_readers,
                      node_fatal,
                      server_log_cb,
                      srv,
                      node_set_peer};
    nc.snapshot_entries = (uint64_t)cfg->raft_snapshot_entries;
    nc.snapshot_bytes = (uint64_t)cfg->raft_snapshot_bytes;
    /* The Raft log is the command log: no append-only file, no snapshot
     * loaded beside it. */
    persist_skip_load(srv->persist);
    srv->node = repl_node_open(srv->engine, &nc, "raft", &host, seed, err, sizeof(err));
    if (!srv->node) {
        server_log(srv, LL_WARNING, "Can't open the Raft log: %s", err);
        return -1;
    }
    /* the address book as the node recovered it (its snapshot's too) */
    const repl_node_config *book = repl_node_config_of(srv->node);
    dstr auth = node_auth(cfg);
    peer_set_init(&srv->peers, &srv->loop, nc.secret, auth);
    dstr_free(auth);
    for (size_t i = 0; i < book->n_peers; i++)
        if (book->peers[i].id != nc.id)
            peer_set_put(&srv->peers, book->peers[i].id, book->peers[i].host, book->peers[i].port);
    srv->net.hooks =
        (net_log_hooks){hook_flush, hook_appended, hook_durable, srv, hook_observed, hook_admit};
    int rc = uv_timer_init(&srv->loop, &srv->raft_timer);
    if (rc == 0) {
        srv->raft_timer.data = srv;
        rc = uv_timer_start(&srv->raft_timer, on_raft_tick, (uint64_t)cfg->raft_tick_ms,
                            (uint64_t)cfg->raft_tick_ms);
    }
    if (rc != 0) {
        server_log(srv, LL_WARNING, "Raft timer: %s", uv_strerror(rc));
        return -1;
    }
    server_log(srv, LL_NOTICE, "Raft node %d%s, log in %s/raft", cfg->raft_id,
               nc.joining ? " (not in raft-peers: joins as a learner once added)" : "",
               srv->engine->cfg.dir);
    return 0;
}

static int server_raft_cmd(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    if (!csession_command(repl_node_sessions(srv->node), c)) repl_node_command(srv->node, c);
    return 1;
}

int server_repl_cmd(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    /* REPLICAOF is the Redis replica's, which refuses it beside Raft. */
    if (!strcmp(c->cmd->name, "replicaof") || !strcmp(c->cmd->name, "slaveof"))
        return replica_command(srv, c);
    return server_raft_cmd(priv, c) || replica_command(srv, c);
}

int server_seq_begin(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    if (srv->node) return csession_begin(repl_node_sessions(srv->node), c);
    c->s->flags &= ~SESS_SEQ;
    return 0;
}

void server_seq_done(void *priv, cmd_call *c, rbuf_mark mark)
{
    cairn_server *srv = priv;
    if (srv->node) csession_done(repl_node_sessions(srv->node), c, mark);
}

static int fwd_leader(void *priv, uint64_t *id, char *host, size_t hostlen, int *port)
{
    cairn_server *srv = priv;
    const repl_peer *p = srv->node ? repl_node_leader_addr(srv->node) : NULL;
    if (!p) return 0;
    *id = p->id;
    snprintf(host, hostlen, "%s", p->host);
    *port = p->port;
    return 1;
}

int server_raft_forward(void *priv, cairn_session *s, int argc, const cslice *argv)
{
    cairn_server *srv = priv;
    if (!srv->node || !srv->cfg.raft_follower_proxy || !repl_node_leader(srv->node)) return 0;
    if (!srv->fwd) {
        uint64_t seed;
        if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
            seed = (uint64_t)srv->start_ms ^ (uint64_t)srv->cfg.raft_id;
        dstr auth = node_auth(&srv->cfg);
        srv->fwd = fwd_new(&srv->loop, &srv->net, auth, fwd_leader, srv, seed);
        dstr_free(auth);
        if (!srv->fwd) return 0;
    }
    return fwd_send(srv->fwd, s, argc, argv) == 0;
}

void server_raft_stop(cairn_server *srv)
{
    if (!srv->node) return;
    if (srv->fwd) fwd_close(srv->fwd);
    srv->fwd = NULL;
    if (!uv_is_closing((uv_handle_t *)&srv->raft_timer))
        uv_close((uv_handle_t *)&srv->raft_timer, NULL);
    peer_set_close(&srv->peers);
}
