/* server.h -- the cairn-server process: an engine, the network, timers,
 * signals and logging, glued together. */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <uv.h>

#include "../engine/engine.h"
#include "../log/persist.h"
#include "../net/client.h"
#include "../net/host_config.h"
#include "../net/member.h"
#include "../repl/node.h"

/* A rate sampled by the cron (INFO instantaneous_*), as Redis does: the
 * average of the last INST_SAMPLES per-second rates. */
#define INST_SAMPLES 16
typedef struct inst_metric {
    long long last_value;
    int64_t last_ms;
    long long samples[INST_SAMPLES];
    int idx;
} inst_metric;

enum { INST_OPS, INST_NET_IN, INST_NET_OUT, INST_COUNT };

typedef struct cairn_server {
    cairn_engine *engine;
    host_config cfg; /* its settings (src/net/host_config.h) */
    uv_loop_t loop;
    net net;
    /* The cron ticks on a timerfd rather than a libuv timer: with no timer
     * pending, the loop's epoll_wait sleeps without a timeout, so going to
     * sleep and waking up (once per request at low load) arm and cancel
     * no kernel timer. */
    uv_poll_t cron;
    int cron_fd;
    int cron_period_ms;
    uv_signal_t sigterm, sigint;
    persist *persist; /* the log, snapshots, recovery */
    uv_idle_t loader; /* loads the dataset in slices while serving -LOADING */
    dstr config_file; /* absolute path, or NULL */
    dstr executable;  /* absolute path of argv[0] */
    int64_t start_ms;
    int shutting_down;
    uv_timer_t handover; /* a leader stopping waits for its successor */
    int exit_code;       /* 1 when start-up failed */
    int loop_ready;      /* the loop was initialised (and must be closed) */
    long long cron_loops;
    int64_t stat_peak_memory;
    inst_metric inst[INST_COUNT];
    char run_id[41];        /* random hex, INFO's run_id; filled on first use */
    char config_error[256]; /* why the last CONFIG REWRITE failed */
    int include_depth;      /* of the configuration file being read */
    /* Warnings about directives that have no effect, held while the
     * configuration is read (the log file may not be known yet). */
    dstr config_warnings;
    int supervisor;          /* SUPERVISED_*: the one detected (never AUTO) */
    dstr notify_socket;      /* $NOTIFY_SOCKET under systemd */
    int notify_percent;      /* the loading progress last sent, or -1 */
    struct metrics *metrics; /* the Prometheus endpoint (metrics.c) */
    repl_node *node;         /* a member of a Raft group (raft.node), or NULL (raft.c) */
    member raft;
    struct replica *replica; /* the link to a Redis master (replica.c) */
    char limit_error[128];   /* why CONFIG SET maxclients failed (limits.c) */
} cairn_server;

void server_log(cairn_server *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for modules that log through a (void *priv) callback with the
 * server as priv (persistence, the replication node). */
void server_log_cb(void *priv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The open-files limit against maxclients (limits.c), as Redis: at
 * start-up raise RLIMIT_NOFILE for maxclients, or lower maxclients to what
 * the system allows (logged); -1 if too few descriptors to start at all.
 * On CONFIG SET maxclients, an error when the system cannot take it. */
int server_adjust_open_files(cairn_server *srv);
const char *server_maxclients_changed(cairn_server *srv);
/* maxmemory-clients or maxmemory changed (or the server starts): hand the
 * setting to the network layer, which evicts clients over it. */
void server_client_limit_changed(cairn_server *srv);
/* Begin an orderly shutdown: stop accepting, close clients, stop the loop.
 * A group's leader first hands over, unless flags has SHUTDOWN_NOW. */
void server_shutdown(cairn_server *srv, int flags);

/* Read a redis.conf-style file and apply it (config_file.c).  Returns 0,
 * or -1 with the message Redis prints in *err (the caller frees it). */
int server_load_config_file(cairn_engine *e, const char *path, dstr *err);
/* Read a whole file into *out, or write one atomically (a temporary file
 * beside it, fsync, rename, fsync of the directory).  Return 0, or -1
 * with errno set. */
int server_read_file(const char *path, dstr *out);
int server_overwrite_file(const char *path, const char *text, size_t len);
/* Users at start-up: those of the configuration file's `user` lines, or
 * of the aclfile (acl_host.c).  Returns 0, or -1 with the error logged. */
int server_acl_startup(cairn_server *srv);
/* cairn_host_ops.acl_file and drop_user_sessions (acl_host.c), and
 * client_info (client_cmd.c). */
void server_acl_file(void *priv, cmd_call *c, int save);
void server_drop_user_sessions(void *priv, const struct acl_user *user);
dstr server_client_info(void *priv, const cmd_call *c);
/* `include` in a configuration file (cairn_host_ops.config_include). */
int server_config_include(void *priv, const char *path, dstr *err);
/* CONFIG REWRITE (cairn_host_ops.config_rewrite). */
const char *server_config_rewrite(void *priv);

/* The supervisor (supervise.c): detect it from `supervised` and the
 * environment, then tell it of the loading progress, readiness (loaded and
 * accepting) and the beginning of a shutdown. */
void supervise_init(cairn_server *srv);
void supervise_loading(cairn_server *srv, double percent);
void supervise_ready(cairn_server *srv);
void supervise_stopping(cairn_server *srv);

/* The Prometheus endpoint (metrics.c): created before the loop runs,
 * (re)started on metrics-port and metrics-bind, idle connections closed
 * from the cron, closed at shutdown and freed once the loop has closed. */
int metrics_init(cairn_server *srv);
const char *metrics_listen(cairn_server *srv);
void metrics_cron(cairn_server *srv, int64_t now_ms);
void metrics_shutdown(cairn_server *srv);
void metrics_free(cairn_server *srv);

/* Host operations implemented by the server (main.c, client_cmd.c,
 * info.c): see cairn_host_ops in engine.h. */
void server_client_cmd(void *priv, cmd_call *c);
/* cairn_host_ops.migrate_io: a blocking exchange with another server
 * (migrate_io.c), as Redis's MIGRATE blocks. */
int server_migrate_io(void *priv, const char *host, int port, long long timeout_ms, const char *req,
                      size_t nbytes, int nlines, dstr *lines);
void server_info(void *priv, const char *section, dstr *out);
/* Raft replication (raft.c): start the node when raft-peers is set
 * (after the data directory is open), the host's RAFT/ROLE/WAIT, and
 * shutting it down.  raft_start returns 0, or -1 with the reason logged. */
int server_raft_start(cairn_server *srv);
/* cairn_host_ops.repl_cmd: Raft's commands, or a Redis replica's. */
int server_repl_cmd(void *priv, cmd_call *c);
int server_raft_forward(void *priv, cairn_session *s, int argc, const cslice *argv,
                        long long local_reply);
/* cairn_host_ops.repl_forward_tx. */
int server_raft_forward_tx(void *priv, cairn_session *s, int n, const cairn_cmdv *cmds);
/* cairn_host_ops.repl_pin. */
int server_raft_pin(void *priv, cairn_session *s, int argc, const cslice *argv, int kind,
                    rbuf *out);
/* cairn_host_ops.repl_forward_block. */
int server_raft_forward_block(void *priv, cairn_session *s, int argc, const cslice *argv,
                              rbuf *out);
/* CLIENT UNBLOCK of a client blocked in a command forwarded to the
 * leader: 1 if it was. */
int server_raft_unblock(cairn_server *srv, uint64_t client, int with_error);
int server_seq_begin(void *priv, cmd_call *c);
void server_seq_done(void *priv, cmd_call *c, rbuf_mark mark);
void server_raft_stop(cairn_server *srv);
/* repl_node_step_down() and repl_node_handing_over() of a member; 0 when
 * standalone. */
int server_raft_step_down(cairn_server *srv);
int server_raft_handing_over(cairn_server *srv);
/* A replica of a Redis master (replica.c): set up before the loop runs
 * (connecting at once if replicaof is set), REPLICAOF/SLAVEOF and, while a
 * replica, ROLE and WAIT (returns 0 for what it does not answer), INFO
 * replication, the cron's once-a-second work, replica-read-only changes,
 * stopping (REPLICAOF NO ONE), closing at shutdown and freeing. */
typedef struct replica replica;
int replica_init(cairn_server *srv, char *err, size_t errlen);
int replica_command(cairn_server *srv, cmd_call *c);
void replica_info(cairn_server *srv, dstr *out);
void replica_cron(cairn_server *srv);
const char *replica_config_changed(cairn_server *srv, const char *name);
void replica_stop(cairn_server *srv);
void replica_shutdown(cairn_server *srv);
void replica_free(cairn_server *srv);
/* Sample the instantaneous rates; called from the cron. */
void server_track_metrics(cairn_server *srv, int64_t now_ms);

#endif
