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

const cmd_def persist_commands[] = {
    {"save", persist_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI, PERSIST_ACL, 0, 0, 0,
     "server", "1.0.0", "Synchronously save the dataset to disk",
     "O(N) where N is the total number of keys in all databases", NULL},
    {"bgsave", persist_command, -1, CMD_ADMIN | CMD_NOSCRIPT, PERSIST_ACL, 0, 0, 0, "server",
     "1.0.0", "Asynchronously save the dataset to disk", "O(1)", NULL},
    {"bgrewriteaof", persist_command, 1, CMD_ADMIN | CMD_NOSCRIPT, PERSIST_ACL, 0, 0, 0, "server",
     "1.0.0", "Asynchronously rewrite the append-only file", "O(1)", NULL},
    {"lastsave", persist_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST,
     ACL_ADMIN | ACL_FAST | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "Get the UNIX time stamp of the last successful save to disk", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
