/* client.h -- network clients and listeners on a libuv loop.
 *
 * The network layer reads requests, runs them through engine_execute(),
 * and writes replies.  libuv only reports readiness (a uv_poll_t per
 * socket); the reads and writes are our own system calls, as few as
 * Redis makes: one recv() per readable event, and replies of all the
 * commands found in one read go out together: a client with output is
 * queued, and a prepare handle (run once per loop iteration, before the
 * loop polls) writes each queued client's whole reply chain with a single
 * send.  Only a reply the socket cannot take at once makes the loop watch
 * for writability (and re-register the socket with epoll each way). */
#ifndef CAIRN_CLIENT_H
#define CAIRN_CLIENT_H

#include <stdint.h>
#include <uv.h>

#include "../engine/engine.h"
#include "../log/clock.h"
#include "resp.h"
#include "tls.h"

typedef struct net net;

/* Client eviction's size classes, as Redis's: up to 32 KiB, 64 KiB, ...,
 * and above 4 GiB. */
#define CLIENT_MEM_BUCKET_MIN 15
#define CLIENT_MEM_BUCKET_MAX 33
#define CLIENT_MEM_BUCKETS    (1 + CLIENT_MEM_BUCKET_MAX - CLIENT_MEM_BUCKET_MIN)

enum {
    CLIENT_CLOSING = 1 << 0,     /* uv_close() called; freed in its callback */
    CLIENT_CLOSE_AFTER = 1 << 1, /* close once the pending output is written */
    CLIENT_UNIX = 1 << 2,
    CLIENT_WRITE_WAIT = 1 << 3, /* the socket is full: polled for writability */
    CLIENT_QUEUED = 1 << 4,     /* on the pending-write list */
    CLIENT_BLOCKED = 1 << 5,    /* parked by a blocking command */
    CLIENT_RESUME = 1 << 6,     /* unblocked: run its pipelined input */
    /* Its output passed its client-output-buffer-limit: closed (output
     * dropped) at the next flush, and nothing of it runs until then. */
    CLIENT_CLOSE_ASAP = 1 << 7,
    /* Its next command, parsed already, waits for CLIENT PAUSE to end. */
    CLIENT_PAUSED = 1 << 8,
    /* Failed to authenticate again: its input waits until auth_wait_until_ms. */
    CLIENT_AUTH_WAIT = 1 << 9,
};

/* client.tls_flags: OpenSSL asked for the other direction. */
enum { TLS_READ_WANTS_WRITE = 1 << 0, TLS_WRITE_WANTS_READ = 1 << 1 };

/* CLIENT PAUSE: what it holds (Redis's order: ALL holds more). */
enum { NET_PAUSE_NONE = 0, NET_PAUSE_WRITE = 1, NET_PAUSE_ALL = 2 };

/* The wait after the second failed authentication of a connection, which
 * doubles with each further failure, up to AUTH_DELAY_DOUBLINGS times
 * (50 ms ... 1.6 s). */
#define AUTH_DELAY_MS        50
#define AUTH_DELAY_DOUBLINGS 5

typedef struct client {
    uv_poll_t poll; /* readiness of fd; the socket is ours to read and close */
    int fd;
    net *net;
    cairn_session sess;
    int flags;
    dstr qbuf;
    resp_parser parser;
    cslice *argv; /* the current command, pointing into qbuf */
    int argv_cap;
    rbuf out;
    /* The most of its first reply block a write found filled since
     * rb_peak_ms (Redis's buf_peak): what net_clients_cron resizes the
     * block to. */
    size_t rb_peak;
    int64_t rb_peak_ms;
    struct client *prev, *next; /* every client */
    struct client *queue_next;  /* pending writes */
    char addr[112], laddr[112]; /* "ip:port", or "<socket path>:0" */
    int64_t ctime_ms, last_ms;  /* created, last interaction (clock_mono_ms()) */
    uint64_t tot_net_in, tot_net_out, tot_cmds;
    /* The command log offset this client's output depends on: its replies
     * leave only once the log is durable up to here (group commit). */
    uint64_t wait_off;
    /* When the output first stayed above the soft limit (0: it is not). */
    int64_t obuf_soft_since_ms;
    int64_t auth_wait_until_ms; /* CLIENT_AUTH_WAIT: clock_mono_ms() */
    /* A connection accepted on the TLS port (NULL for plain ones); while
     * OpenSSL waits for the other direction than the one asked for,
     * tls_flags say so (TLS_READ_WANTS_WRITE, TLS_WRITE_WANTS_READ). */
    tls_conn *tls;
    int tls_flags;
    int tls_events;  /* the UV_* events its poll watches */
    uint64_t ticket; /* waits for net_log_hooks.admit(), or 0 */
    /* Client eviction (maxmemory-clients), kept only while it is on: the
     * memory counted for this client in net.clients_mem, and the bucket
     * (a power-of-two size class) it is listed in while evictable, or -1. */
    size_t mem;
    size_t mem_out; /* its output's part of mem: a command that grew no
                       reply block leaves the count as it was */
    int mem_bucket;
    struct client *bucket_prev, *bucket_next;
} client;

typedef struct net_stats {
    long long total_connections;
    long long rejected_connections;
    long long net_input_bytes, net_output_bytes;
} net_stats;

/* The command log, as the network layer sees it: before replies are
 * written, commit() makes every entry logged so far durable (one write and
 * one fsync for all clients: group commit); appended() is the log offset
 * after the last entry, durable() the offset up to which entries are
 * durable.  All NULL without a log. */
typedef struct net_log_hooks {
    void (*commit)(void *priv);
    uint64_t (*appended)(void *priv);
    uint64_t (*durable)(void *priv);
    void *priv;
    /* A replicated node (src/repl/node.h) also holds replies of commands
     * that logged nothing: after a client's commands ran, observed()
     * gives the position they depend on.  admit() says whether a client
     * may run commands now; if not, it set *ticket and the client waits
     * until net_resume_admitted().  NULL when standalone. */
    uint64_t (*observed)(void *priv);
    int (*admit)(void *priv, uint64_t *ticket);
    /* Is ip (textual) the address of a node of the group?  Protected mode
     * lets such connections in: nodes of a group must reach each other
     * whatever the password settings.  NULL when standalone. */
    int (*group_node)(void *priv, const char *ip);
    /* A client closes while its command is forwarded to the leader
     * (SESS_FORWARDED).  NULL when standalone. */
    void (*forwarded_gone)(void *priv, uint64_t id);
} net_log_hooks;

/* Called for log lines: level is one of LL_* from config.h. */
typedef void (*net_log_fn)(void *priv, int level, const char *fmt, ...);

/* A listening socket (TCP or unix), accepted from by hand. */
typedef struct net_listener {
    uv_poll_t poll;
    int fd;
    int kind; /* NET_LISTEN_* */
    net *net;
} net_listener;

/* Kinds of listeners, as bits, to close some of them. */
enum { NET_LISTEN_TCP = 1 << 0, NET_LISTEN_UNIX = 1 << 1, NET_LISTEN_TLS = 1 << 2 };

/* The settings the network layer acts on: part of its host's config
 * table (host_config.h), which owns them. */
typedef struct net_config {
    int tcp_backlog;
    int maxclients;
    int tcp_keepalive; /* seconds; 0 = off */
    /* maxmemory-clients as Redis holds it: bytes, or if negative a
     * percentage of maxmemory; 0 = off (see net_client_limit_changed). */
    long long maxmemory_clients;
    tls_config tls;
} net_config;

struct net {
    uv_loop_t *loop;
    cairn_engine *engine;
    const net_config *cfg; /* the host's (host_config.net) */
    net_listener **listeners;
    int nlisteners;
    int spare_fd;    /* a descriptor kept open to shed connections at EMFILE */
    client *clients; /* doubly-linked list of all clients */
    long nclients;
    client *queue; /* clients with output to write */
    /* The client whose command runs, and since when (a slow script's
     * elapsed time on clock_mono_us(), see net_serve_busy). */
    client *current;
    int64_t current_start_us;
    uv_prepare_t flush;
    uv_timer_t block_timer; /* fires at the earliest blocking timeout */
    uv_timer_t auth_timer;  /* ends the earliest wait after failed authentications */
    net_stats stats;
    net_log_fn log;
    void *log_priv;
    net_log_hooks hooks;
    wall_clock wall;     /* command time (net_command_time_us()) */
    char unix_path[108]; /* the unix socket listened on, "" if none */
    /* CLIENT PAUSE: NET_PAUSE_*, until pause_end_ms (clock_mono_ms()). */
    int pause_type;
    int64_t pause_end_ms;
    uv_timer_t pause_timer;
    void *tls_ctx; /* OpenSSL's context for new TLS connections, or NULL */
    /* Client eviction: the limit in bytes (0: off), the memory of the
     * clients it counts, and the evictable ones by size class, largest
     * last (bucket i holds clients of up to 2^(CLIENT_MEM_BUCKET_MIN + i)
     * bytes).  Eviction takes from the largest class down, so finding a
     * victim costs nothing however many clients there are. */
    size_t evict_limit;
    size_t clients_mem;
    client *mem_buckets[CLIENT_MEM_BUCKETS];
    int evict_stuck; /* over the limit with nothing left to evict (logged once) */
    int in_busy;     /* serving others while a slow script runs (net_serve_busy) */
    /* for the connections this node opens to others (tls-replication) */
    void *tls_client_ctx;
    /* net_drain(): set while clients finish what they sent; quiet clients
     * go after grace_at, all of them at end_at (clock_mono_ms()). */
    int draining;
    int64_t drain_grace_at, drain_end_at;
    uv_timer_t drain_timer;
    void (*drained)(void *priv);
    void *drained_priv;
    /* The replies of commands run under CLIENT REPLY OFF/SKIP go here and
     * are dropped (its block is kept for the next one). */
    rbuf muted;
    client *cron_next; /* where net_clients_cron() goes on, NULL: the first */
};

/* Set up n on loop, acting on the settings at cfg (read as they change). */
int net_init(net *n, uv_loop_t *loop, cairn_engine *e, const net_config *cfg, net_log_fn log,
             void *log_priv);
/* Listen on every address of `bind` (space-separated) at port, and on the
 * unix socket if set.  Returns 0, or a libuv error with a message logged. */
int net_listen(net *n, const char *bind, int port, const char *unixsocket, int unixperm);
/* Listen for TLS connections on every address of `bind` at port. */
int net_listen_tls(net *n, const char *bind, int port);
/* Close the listeners of the kinds in `kinds` (NET_LISTEN_* bits). */
void net_close_listeners(net *n, int kinds);
/* (Re)build the TLS context from n->cfg.tls for connections accepted from
 * now on.  Returns 0, or -1 with the reason logged. */
int net_tls_configure(net *n);
/* The TLS context the connections this node opens to other nodes use,
 * read when each one opens: NULL for plain TCP (tls-replication no). */
void *net_node_tls(const net *n);
/* While a slow script runs (from inside its command): read and run what
 * the other clients sent (the engine answers -BUSY to all but allow-busy
 * commands) and write their replies, without waiting; accept new
 * connections too. */
void net_serve_busy(net *n);
/* What the loop does once per iteration before it polls (a prepare
 * handle): run resumed clients, commit the log, write the replies that
 * may go.  A host that runs the loop without blocking in it (libcairn's
 * embedded node) calls it again after the loop's I/O callbacks. */
void net_flush(net *n);
/* Close every client and the flush handle (the loop then winds down). */
void net_shutdown(net *n);
/* A graceful stop (a replicated node's SHUTDOWN or SIGTERM): stop
 * listening, close clients parked in blocking commands, and let the others
 * finish what they sent -- forwarded writes and replies waiting for their
 * entries' commit included.  Each client is closed as soon as its last
 * reply is written (a client that sends one command at a time then finds
 * the connection closed before it sends the next, and reconnects), a quiet
 * one after grace_ms (it may be about to send one more), every one after
 * max_ms.  Connections from the group's nodes stay.  done(priv) is called
 * (from the loop) once no client is left. */
void net_drain(net *n, int grace_ms, int max_ms, void (*done)(void *priv), void *priv);
void client_close(client *c);
/* Bytes a connection holds: its structure, query buffer, reply buffers
 * and queued MULTI commands (CLIENT LIST tot-mem without argv-mem, INFO
 * mem_clients_normal). */
size_t client_mem_usage(const client *c);
/* maxmemory-clients (n->cfg.maxmemory_clients) or maxmemory changed, or
 * the server starts: work out the limit as Redis does (a percentage of a
 * maxmemory of 0 is no limit; a limit below 128 KiB counts as 128 KiB),
 * start or stop keeping count, and evict at once if over it. */
void net_client_limit_changed(net *n);
/* Close clients idle for longer than timeout_s (0: never) at now_ms of
 * clock_mono_ms(); clients that wait by request (blocked, paused,
 * subscribers, monitors) are not idle. */
void net_close_idle(net *n, int64_t now_ms, int timeout_s);
/* Periodic upkeep of the clients, called hz times a second: a share of
 * them each time (all of them about once a second, at least a few per
 * call), as Redis's clientsCron; today it gives back the query buffers of
 * idle clients. */
void net_clients_cron(net *n, int64_t now_ms, int hz);
/* The engine ended a parked session's wait (cairn_host_ops.unblocked). */
void net_client_unblocked(cairn_session *s);
/* The engine wrote a message to a session's output outside its own
 * command (cairn_host_ops.pushed): queue the write, or cut the client off
 * if its output passed its limit. */
void net_client_pushed(cairn_session *s);
/* Run the input of clients that admit() now lets through. */
void net_resume_admitted(net *n);
/* Close every client whose output waits for a log position that will
 * never be durable (a replicated node lost leadership): no reply. */
void net_close_waiting(net *n);
/* CLIENT PAUSE: hold the commands a pause of `type` holds (writes, or
 * all) until end_ms of clock_mono_ms().  A pause already on keeps the
 * longer end and the stronger type, as Redis. */
void net_pause(net *n, int type, int64_t end_ms);
/* CLIENT UNPAUSE, or the pause's end: the held commands run. */
void net_unpause(net *n);
/* INFO clients: the connections, their largest buffers, and the engine's
 * blocked and tracking clients. */
void net_info_clients(net *n, dstr *out);
/* Look a client up by id (CLIENT KILL ID, CLIENT UNBLOCK). */
client *net_find_client(net *n, uint64_t id);

/* The time of a command now (unix us): the wall clock, which never goes
 * back (clock.h); a step back is logged as a warning. */
int64_t net_command_time_us(net *n);

#endif
