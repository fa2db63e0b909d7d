/* resolve.h -- the host names of a group's nodes, resolved off the loop.
 *
 * A node's address in raft-peers or RAFT ADD-NODE may be a host name
 * (docker-compose's service names, a Kubernetes StatefulSet's
 * cairn-0.cairn).  The links that reach a node (peer.h, forward.h)
 * resolve its name again on every connect attempt, so a node that comes
 * back at another address (a restarted container) is found on the next
 * attempt.  getaddrinfo runs on libuv's thread pool, never on the loop;
 * libuv gives such lookups at most half of the pool's threads, so a slow
 * DNS server never holds back the Raft log's fsync (also on the pool).
 * A numeric address is used as written, with no lookup.
 *
 * A name can stand for several addresses ("localhost": ::1 and
 * 127.0.0.1): a link tries them in turn, one per attempt, and keeps the
 * one that answered.
 *
 * The addresses each name resolved to last are noted in a resolve_names
 * table: protected mode lets in connections from them (the group's
 * nodes, member.h). */
#ifndef CAIRN_RESOLVE_H
#define CAIRN_RESOLVE_H

#include <netinet/in.h>
#include <uv.h>

#define RESOLVE_MAX_ADDRS 4
#define RESOLVE_NAMES_MAX 16 /* RAFT_MAX_PEERS */
#define RESOLVE_HOST_MAX  64 /* repl_peer.host */

typedef struct resolved {
    int n;
    struct sockaddr_storage addr[RESOLVE_MAX_ADDRS];
} resolved;

typedef struct resolve_names {
    struct {
        char host[RESOLVE_HOST_MAX];
        int n;
        char ip[RESOLVE_MAX_ADDRS][INET6_ADDRSTRLEN];
    } e[RESOLVE_NAMES_MAX];
    int next; /* the entry a new name takes when every one is used */
} resolve_names;

/* Is host a numeric IPv4 or IPv6 address?  Then r holds it with port. */
int resolve_numeric(const char *host, int port, resolved *r);

/* cb runs on the loop with status 0 and the addresses (port set), or a
 * libuv error (UV_EAI_NONAME: the name does not resolve). */
typedef void (*resolve_cb)(void *priv, int status, const resolved *r);
typedef struct resolve_req resolve_req;

/* Resolve the name host for port; the addresses are also noted in names
 * (NULL: nowhere).  cb runs once, unless resolve_cancel() comes first.
 * Returns NULL if the loop refused the request (*rc says why). */
resolve_req *resolve_start(uv_loop_t *loop, resolve_names *names, const char *host, int port,
                           resolve_cb cb, void *priv, int *rc);
/* cb will not run; the request frees itself once the lookup ends. */
void resolve_cancel(resolve_req *req);

/* Did host last resolve to ip (textual, as net's client addresses)? */
int resolve_names_has(const resolve_names *names, const char *host, const char *ip);

#endif
