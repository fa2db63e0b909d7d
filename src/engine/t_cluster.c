/* t_cluster.c -- CLUSTER, READONLY, READWRITE and ASKING as a Redis 7.0
 * server answers them with cluster-enabled no, which Cairn is.
 *
 * Cluster clients and tools send these to find out whether a server is
 * part of a Redis Cluster (redis-py's RedisCluster asks CLUSTER SLOTS,
 * others CLUSTER INFO or READONLY); they tell "cluster support disabled"
 * apart from other errors, and an unknown-command error is not it.  The
 * subcommands are all in the table so that arity and unknown subcommands
 * are refused as Redis refuses them, before the cluster check. */
#include "cmd.h"
#include "reply.h"

static void cluster_disabled(cmd_call *c)
{
    reply_error(c->out, "ERR This instance has cluster support disabled");
}

#define ADMIN     (CMD_ADMIN | CMD_STALE)
#define ADMIN_ACL (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)
#define SUB(name, arity, flags, acl, since, summary, complexity)                                   \
    {                                                                                              \
        "cluster|" name, cluster_disabled, arity, flags, acl, 0, 0, 0, "cluster", since, summary,  \
            complexity, NULL                                                                       \
    }

static const cmd_def cluster_subcommands[] = {
    SUB("addslots", -3, ADMIN, ADMIN_ACL, "3.0.0", "Assign new hash slots to receiving node",
        "O(N) where N is the total number of hash slot arguments"),
    SUB("addslotsrange", -4, ADMIN, ADMIN_ACL, "7.0.0", "Assign new hash slots to receiving node",
        "O(N) where N is the total number of the slots between the start slot and end slot "
        "arguments."),
    SUB("bumpepoch", 2, ADMIN, ADMIN_ACL, "3.0.0", "Advance the cluster config epoch", "O(1)"),
    SUB("count-failure-reports", 3, ADMIN, ADMIN_ACL, "3.0.0",
        "Return the number of failure reports active for a given node",
        "O(N) where N is the number of failure reports"),
    SUB("countkeysinslot", 3, CMD_STALE, ACL_SLOW, "3.0.0",
        "Return the number of local keys in the specified hash slot", "O(1)"),
    SUB("delslots", -3, ADMIN, ADMIN_ACL, "3.0.0", "Set hash slots as unbound in receiving node",
        "O(N) where N is the total number of hash slot arguments"),
    SUB("delslotsrange", -4, ADMIN, ADMIN_ACL, "7.0.0",
        "Set hash slots as unbound in receiving node",
        "O(N) where N is the total number of the slots between the start slot and end slot "
        "arguments."),
    SUB("failover", -2, ADMIN, ADMIN_ACL, "3.0.0",
        "Forces a replica to perform a manual failover of its master.", "O(1)"),
    SUB("flushslots", 2, ADMIN, ADMIN_ACL, "3.0.0", "Delete a node's own slots information",
        "O(1)"),
    SUB("forget", 3, ADMIN, ADMIN_ACL, "3.0.0", "Remove a node from the nodes table", "O(1)"),
    SUB("getkeysinslot", 4, CMD_STALE, ACL_SLOW, "3.0.0",
        "Return local key names in the specified hash slot",
        "O(log(N)) where N is the number of requested keys"),
    SUB("help", 2, CMD_LOADING | CMD_STALE, ACL_SLOW, "5.0.0",
        "Show helpful text about the different subcommands", "O(1)"),
    SUB("info", 2, CMD_STALE, ACL_SLOW, "3.0.0", "Provides info about Redis Cluster node state",
        "O(1)"),
    SUB("keyslot", 3, CMD_STALE, ACL_SLOW, "3.0.0", "Returns the hash slot of the specified key",
        "O(N) where N is the number of bytes in the key"),
    SUB("links", 2, CMD_STALE, ACL_SLOW, "7.0.0",
        "Returns a list of all TCP links to and from peer nodes in cluster",
        "O(N) where N is the total number of Cluster nodes"),
    SUB("meet", -4, ADMIN, ADMIN_ACL, "3.0.0",
        "Force a node cluster to handshake with another node", "O(1)"),
    SUB("myid", 2, CMD_STALE, ACL_SLOW, "3.0.0", "Return the node id", "O(1)"),
    SUB("nodes", 2, CMD_STALE, ACL_SLOW, "3.0.0", "Get Cluster config for the node",
        "O(N) where N is the total number of Cluster nodes"),
    SUB("replicas", 3, ADMIN, ADMIN_ACL, "5.0.0", "List replica nodes of the specified master node",
        "O(1)"),
    SUB("replicate", 3, ADMIN, ADMIN_ACL, "3.0.0",
        "Reconfigure a node as a replica of the specified master node", "O(1)"),
    SUB("reset", -2, ADMIN | CMD_NOSCRIPT, ADMIN_ACL, "3.0.0", "Reset a Redis Cluster node",
        "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a "
        "side effect."),
    SUB("saveconfig", 2, ADMIN, ADMIN_ACL, "3.0.0", "Forces the node to save cluster state on disk",
        "O(1)"),
    SUB("set-config-epoch", 3, ADMIN, ADMIN_ACL, "3.0.0",
        "Set the configuration epoch in a new node", "O(1)"),
    SUB("setslot", -4, ADMIN, ADMIN_ACL, "3.0.0", "Bind a hash slot to a specific node", "O(1)"),
    SUB("shards", 2, CMD_STALE, ACL_SLOW, "7.0.0", "Get array of cluster slots to node mappings",
        "O(N) where N is the total number of cluster nodes"),
    SUB("slaves", 3, ADMIN, ADMIN_ACL, "3.0.0", "List replica nodes of the specified master node",
        "O(1)"),
    SUB("slots", 2, CMD_STALE, ACL_SLOW, "3.0.0", "Get array of Cluster slot to node mappings",
        "O(N) where N is the total number of Cluster nodes"),
    {0},
};

#define CONN_ACL (ACL_FAST | ACL_CONNECTION)

const cmd_def cluster_commands[] = {
    {"cluster", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "cluster", "3.0.0",
     "A container for cluster commands", "Depends on subcommand.", cluster_subcommands},
    {"readonly", cluster_disabled, 1, CMD_LOADING | CMD_STALE | CMD_FAST, CONN_ACL, 0, 0, 0,
     "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", "O(1)",
     NULL},
    {"readwrite", cluster_disabled, 1, CMD_LOADING | CMD_STALE | CMD_FAST, CONN_ACL, 0, 0, 0,
     "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", "O(1)",
     NULL},
    {"asking", cluster_disabled, 1, CMD_FAST, CONN_ACL, 0, 0, 0, "cluster", "3.0.0",
     "Sent by cluster clients after an -ASK redirect", "O(1)", NULL},
    {0},
};
