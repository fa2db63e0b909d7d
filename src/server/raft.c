/* raft.c -- cairn-server as a member of a Raft group: the server's
 * settings handed to the member (src/net/member.h, shared with libcairn's
 * embedded nodes) on the server's loop, and the engine's replication
 * callbacks. */
#include <string.h>

#include "../engine/cmd.h"
#include "server.h"

static void member_fatal(void *priv, const char *why)
{
    cairn_server *srv = priv;
    server_log(srv, LL_WARNING, "%s", why);
    srv->exit_code = 1;
    server_shutdown(srv, SHUTDOWN_NOW);
}

int server_raft_start(cairn_server *srv)
{
    const host_config *cfg = &srv->cfg;
    if (!cfg->raft_peers || !cfg->raft_peers[0]) return 0;
    if (cfg->raft_id <= 0) {
        server_log(srv, LL_WARNING, "raft-peers is set but raft-id is not");
        return -1;
    }
    member_host host = {.fatal = member_fatal, .log = server_log_cb, .priv = srv};
    /* The Raft log is the command log: no append-only file, no snapshot
     * loaded beside it. */
    persist_skip_load(srv->persist);
    char err[512];
    /* the server runs in its data directory; it may fork for snapshots */
    if (member_start(&srv->raft, &srv->loop, &srv->net, srv->engine, cfg, "raft", 1, &host, err,
                     sizeof(err)) != 0) {
        server_log(srv, LL_WARNING, "%s", err);
        return -1;
    }
    srv->node = srv->raft.node;
    return 0;
}

static int server_raft_cmd(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    member_command(&srv->raft, c);
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
    if (srv->node) return member_seq_begin(&srv->raft, c);
    c->s->flags &= ~SESS_SEQ;
    return 0;
}

void server_seq_done(void *priv, cmd_call *c, rbuf_mark mark)
{
    cairn_server *srv = priv;
    if (srv->node) member_seq_done(&srv->raft, c, mark);
}

int server_raft_forward(void *priv, cairn_session *s, int argc, const cslice *argv,
                        long long local_reply)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    return member_forward(&srv->raft, s, argc, argv, local_reply);
}

int server_raft_forward_tx(void *priv, cairn_session *s, int n, const cairn_cmdv *cmds)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    return member_forward_tx(&srv->raft, s, n, cmds);
}

int server_raft_forward_block(void *priv, cairn_session *s, int argc, const cslice *argv, rbuf *out)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    return member_forward_block(&srv->raft, s, argc, argv, out);
}

int server_raft_pin(void *priv, cairn_session *s, int argc, const cslice *argv, int kind, rbuf *out)
{
    cairn_server *srv = priv;
    if (!srv->node) return 0;
    return member_pin(&srv->raft, s, argc, argv, kind, out);
}

int server_raft_unblock(cairn_server *srv, uint64_t client, int with_error)
{
    return srv->node && member_unblock(&srv->raft, client, with_error);
}

void server_raft_stop(cairn_server *srv) { member_stop(&srv->raft); }

int server_raft_step_down(cairn_server *srv) { return srv->node && repl_node_step_down(srv->node); }

int server_raft_handing_over(cairn_server *srv)
{
    return srv->node && repl_node_handing_over(srv->node);
}
