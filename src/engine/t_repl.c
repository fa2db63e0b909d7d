/* t_repl.c -- ROLE, WAIT, REPLICAOF, RAFT and SENTINEL.
 *
 * Replication is the host's (src/repl/node.c, driven by cairn-server):
 * these entries put its commands (and FAILOVER, a leadership transfer
 * there) in the one command table and hand each
 * call to host->repl_cmd.  A host that is no replicated node (a
 * standalone server, an embedded store) declines, and the engine answers
 * as a Redis master without replicas. */
#include "blocking.h"
#include "cmd.h"

static int host_repl(cmd_call *c)
{
    const cairn_host_ops *h = c->e->host;
    return h && h->repl_cmd && h->repl_cmd(c->e->host_priv, c);
}

static void role_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_array_len(c->out, 3);
    reply_bulk_cstr(c->out, "master");
    reply_int(c->out, 0);
    reply_array_len(c->out, 0);
}

/* No replica ever acknowledges: as Redis's master without replicas, WAIT
 * for one or more waits out its timeout (0: forever), then answers 0. */
static void wait_command(cmd_call *c)
{
    if (host_repl(c)) return;
    long long num;
    int64_t deadline;
    if (!arg_ll(c, 1, &num) || !arg_timeout_ms(c, 2, &deadline)) return;
    if (num > 0 && block_for_signal(c, deadline)) return;
    reply_int(c->out, 0);
}

static void failover_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_error(c->out, "ERR FAILOVER requires connected replicas.");
}

/* REPLICAOF and SLAVEOF: only a server can connect to a master. */
static void replicaof_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_error(c->out, "ERR REPLICAOF is not supported by an embedded store");
}

static void raft_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_error(c->out, "ERR This instance has Raft replication disabled (no raft-peers)");
}

static void sentinel_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_errorf(c->out, "ERR unknown command 'sentinel', with args beginning with: '%.*s' ",
                 (int)c->argv[1].len, c->argv[1].ptr);
}

/* CLIENT SESSION and CLIENT SESSION-OPEN (src/repl/csession.h): exactly
 * once is a replicated node's; a standalone server refuses them. */
void client_session_command(cmd_call *c)
{
    if (host_repl(c)) return;
    reply_error(c->out, "ERR CLIENT SESSION needs Raft replication (raft-peers)");
}

const cmd_def repl_commands[] = {
    {.name = "role",
     .proc = role_command,
     .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_ADMIN | ACL_FAST | ACL_DANGEROUS,
     .group = "server",
     .since = "2.8.12",
     .summary = "Return the role of the instance in the context of replication",
     .complexity = "O(1)"},
    {.name = "wait",
     .proc = wait_command,
     .arity = 3,
     .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_CONNECTION,
     .group = "generic",
     .since = "3.0.0",
     .summary = "Wait for the synchronous replication of all the write commands sent in the "
                "context of the current connection",
     .complexity = "O(1)"},
    {.name = "failover",
     .proc = failover_command,
     .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server",
     .since = "6.2.0",
     .summary = "Start a coordinated failover between this server and one of its replicas",
     .complexity = "O(1)"},
    {.name = "replicaof",
     .proc = replicaof_command,
     .arity = 3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server",
     .since = "5.0.0",
     .summary = "Make the server a replica of another instance, or promote it as master",
     .complexity = "O(1)"},
    {.name = "slaveof",
     .proc = replicaof_command,
     .arity = 3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server",
     .since = "1.0.0",
     .summary = "Make the server a replica of another instance, or promote it as master",
     .complexity = "O(1)"},
    {.name = "raft",
     .proc = raft_command,
     .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server",
     .since = "7.0.0",
     .summary = "Raft replication between Cairn nodes: peer messages, membership changes and "
                "leadership transfer",
     .complexity = "O(1)"},
    {.name = "sentinel",
     .proc = sentinel_command,
     .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "sentinel",
     .since = "2.8.4",
     .summary = "The Sentinel discovery commands, answered for a Raft group (its leader is the "
                "master)",
     .complexity = "O(N) where N is the number of nodes"},
    {.name = NULL},
};
