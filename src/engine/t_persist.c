/* t_persist.c -- SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE.
 *
 * The engine does no I/O: writing snapshots, forking children and keeping
 * the append-only log are the host's (src/log/persist.c, driven by the
 * server or the embedding API).  These entries put the commands in the one
 * command table, so COMMAND, the docs and the dispatch checks see them,
 * and hand each call to host->persist_cmd, which replies. */
#include "cmd.h"

static void persist_command(cmd_call *c)
{
    const cairn_host_ops *h = c->e->host;
    if (h && h->persist_cmd) {
        h->persist_cmd(c->e->host_priv, c);
        return;
    }
    reply_error(c->out, "ERR persistence is not enabled: open the store with a directory");
}

#define PERSIST_ACL (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

/* Designated initializers: the table stays valid as cmd_def grows. */
const cmd_def persist_commands[] = {
    {.name = "save",
     .proc = persist_command,
     .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI,
     .acl = PERSIST_ACL,
     .group = "server",
     .since = "1.0.0",
     .summary = "Synchronously save the dataset to disk",
     .complexity = "O(N) where N is the total number of keys in all databases"},
    {.name = "bgsave",
     .proc = persist_command,
     .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT,
     .acl = PERSIST_ACL,
     .group = "server",
     .since = "1.0.0",
     .summary = "Asynchronously save the dataset to disk",
     .complexity = "O(1)"},
    {.name = "bgrewriteaof",
     .proc = persist_command,
     .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT,
     .acl = PERSIST_ACL,
     .group = "server",
     .since = "1.0.0",
     .summary = "Asynchronously rewrite the append-only file",
     .complexity = "O(1)"},
    {.name = "lastsave",
     .proc = persist_command,
     .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_ADMIN | ACL_FAST | ACL_DANGEROUS,
     .group = "server",
     .since = "1.0.0",
     .summary = "Get the UNIX time stamp of the last successful save to disk",
     .complexity = "O(1)"},
    {.name = NULL},
};
