/* main.c -- cairn-server: configuration, logging, timers, signals. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../engine/config.h"
#include "../engine/evict.h"
#include "../engine/latency.h"
#include "../log/fileio.h"
#include "cairn.h"
#include "server.h"

/* A message as it is, without a length limit (a script's redis.log). */
static void server_log_raw(cairn_server *srv, int level, const char *msg)
{
    const host_config *cfg = &srv->cfg;
    if (level < cfg->loglevel) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));

    /* Redis's format, so operators' log tooling keeps working. */
    static const char marks[] = ".-*#";
    FILE *fp = cfg->logfile && cfg->logfile[0] ? fopen(cfg->logfile, "a") : stdout;
    if (!fp) return;
    fprintf(fp, "%d:M %s %c %s\n", (int)getpid(), when, marks[level], msg);
    fflush(fp);
    if (fp != stdout) fclose(fp);
}

void server_log(cairn_server *srv, int level, const char *fmt, ...)
{
    if (level < srv->cfg.loglevel) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    server_log_raw(srv, level, msg);
}

static void host_script_log(void *priv, int level, const char *msg)
{
    server_log_raw(priv, level, msg);
}

static void net_log(void *priv, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    server_log(priv, level, "%s", msg);
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* A member of a group lets its clients finish what they sent (forwarded
 * writes included) before it stops: a quiet client gets this long to send
 * one more command, and the whole drain at most DRAIN_MAX_MS. */
#define DRAIN_GRACE_MS 100
#define DRAIN_MAX_MS   3000
/* how often a leader stopping checks whether its hand-over is over */
#define HANDOVER_CHECK_MS 5

static void finish_shutdown(void *priv)
{
    cairn_server *srv = priv;
    if (uv_is_active((uv_handle_t *)&srv->loader)) uv_idle_stop(&srv->loader);
    uv_close((uv_handle_t *)&srv->loader, NULL);
    net_shutdown(&srv->net);
    replica_shutdown(srv);
    server_raft_stop(srv);
    uv_close((uv_handle_t *)&srv->cron, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->handover, NULL);
}

static void drain(cairn_server *srv)
{
    server_log(srv, LL_NOTICE, "Letting clients finish the commands they sent...");
    net_drain(&srv->net, DRAIN_GRACE_MS, DRAIN_MAX_MS, finish_shutdown, srv);
}

static void on_handover_check(uv_timer_t *t)
{
    cairn_server *srv = t->data;
    if (server_raft_handing_over(srv)) return;
    uv_timer_stop(t);
    drain(srv);
}

void server_shutdown(cairn_server *srv, int flags)
{
    if (srv->shutting_down) return;
    srv->shutting_down = 1;
    server_log(srv, LL_WARNING, "User requested shutdown...");
    supervise_stopping(srv);
    metrics_shutdown(srv);
    /* Standalone (as Redis) or failing: the clients' connections close
     * now. */
    if (!srv->cfg.raft_peers || !srv->cfg.raft_peers[0] || srv->exit_code) {
        finish_shutdown(srv);
        return;
    }
    /* A leader hands over first (as a Redis master waits for its replicas
     * unless SHUTDOWN NOW): the commands it holds meanwhile then go to
     * the new leader, and the group does not wait out an election. */
    if (!(flags & SHUTDOWN_NOW) && server_raft_step_down(srv) &&
        uv_timer_start(&srv->handover, on_handover_check, HANDOVER_CHECK_MS, HANDOVER_CHECK_MS) ==
            0)
        return;
    drain(srv);
}

static void on_signal(uv_signal_t *h, int signum)
{
    cairn_server *srv = h->data;
    server_log(srv, LL_WARNING, "Received %s scheduling shutdown...",
               signum == SIGINT ? "SIGINT" : "SIGTERM");
    /* As Redis: if the final save fails, stay up rather than lose data. */
    if (persist_shutdown(srv->persist, 0) != 0) {
        server_log(srv, LL_WARNING,
                   "%s received but errors trying to shut down the server, "
                   "check the logs for more information",
                   signum == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
    server_shutdown(srv, 0);
}

/* Active expiry gets at most a quarter of each cron period (as Redis's
 * slow cycle), in chunks so the clock is checked between them. */
static void cron_expire(cairn_server *srv)
{
    cairn_engine *e = srv->engine;
    /* As Redis: no key expires while writes are paused. */
    if (srv->net.pause_type) return;
    int64_t start = clock_mono_us();
    int64_t now_ms = net_command_time_us(&srv->net) / 1000;
    int64_t budget_us = 250000 / e->cfg.hz;
    long effort = 200 * e->cfg.active_expire_effort;
    int more;
    do {
        engine_active_expire(e, now_ms, effort, &more);
    } while (more && clock_mono_us() - start < budget_us);
    if (latency_monitor_on(e->cfg.latency_monitor_threshold))
        latency_sample(e, "expire-cycle", now_ms / 1000, (clock_mono_us() - start) / 1000);
}

/* Tick every 1000/hz ms; called again when CONFIG SET changes hz. */
static int arm_cron(cairn_server *srv)
{
    int period = 1000 / srv->engine->cfg.hz;
    struct timespec ts = {period / 1000, (long)(period % 1000) * 1000000};
    struct itimerspec its = {ts, ts};
    if (timerfd_settime(srv->cron_fd, 0, &its, NULL) != 0) return -1;
    srv->cron_period_ms = period;
    return 0;
}

static void on_cron(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    cairn_server *srv = h->data;
    cairn_engine *e = srv->engine;
    uint64_t ticks;
    if (read(srv->cron_fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks)) return;
    if (e->cron_paused) return;
    int64_t now_ms = clock_mono_ms(); /* for intervals: idle clients, rates */
    /* While loading, the replay decides what exists at which time: real
     * time expiry starts once the whole dataset is in. */
    if (!e->loading) cron_expire(srv);
    engine_rehash_step(e);
    persist_cron(srv->persist);
    net_close_idle(&srv->net, now_ms, srv->cfg.timeout);
    net_clients_cron(&srv->net, now_ms, e->cfg.hz);
    metrics_cron(srv, now_ms);
    size_t used = cm_used_memory();
    if ((int64_t)used > srv->stat_peak_memory) srv->stat_peak_memory = (int64_t)used;
    server_track_metrics(srv, now_ms);
    replica_cron(srv);
    srv->cron_loops++;
    if (srv->cron_period_ms != 1000 / e->cfg.hz && arm_cron(srv) != 0)
        server_log(srv, LL_WARNING, "Can't change the cron period: %s", strerror(errno));
}

static void host_shutdown(void *priv, cmd_call *c, int flags)
{
    cairn_server *srv = priv;
    /* A slow script is in the middle of its writes: only NOSAVE, which
     * does not save them, may stop the server (as Redis). */
    if (srv->engine->busy && !(flags & SHUTDOWN_NOSAVE)) {
        reply_errorf(c->out,
                     "BUSY Redis is busy running a script. You can only call %s or SHUTDOWN "
                     "NOSAVE.",
                     srv->engine->busy_function ? "FUNCTION KILL" : "SCRIPT KILL");
        return;
    }
    if (persist_shutdown(srv->persist, flags) != 0) {
        reply_error(c->out, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    server_shutdown(srv, flags);
}

static void host_persist_cmd(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    persist_command(srv->persist, c);
}

static void host_persist_info(void *priv, dstr *out)
{
    cairn_server *srv = priv;
    persist_info(srv->persist, out);
}

/* CONFIG SET dir: the server lives in its data directory (as Redis), so
 * relative paths in the configuration keep meaning the same thing. */
static const char *change_dir(cairn_server *srv, const char *dir)
{
    char old[PATH_MAX], now[PATH_MAX];
    if (!getcwd(old, sizeof(old))) return strerror(errno);
    if (chdir(dir) != 0) return strerror(errno);
    const char *why =
        getcwd(now, sizeof(now)) ? persist_set_dir(srv->persist, now) : strerror(errno);
    if (why && chdir(old) != 0)
        server_log(srv, LL_WARNING, "Can't go back to %s: %s", old, strerror(errno));
    return why;
}

static void host_sleep_us(void *priv, long long us)
{
    (void)priv;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Is TLS in use, so that its settings must make a working context? */
static int tls_wanted(const cairn_server *srv)
{
    const tls_config *t = &srv->cfg.net.tls;
    return srv->cfg.tls_port || t->replication || t->cluster;
}

/* Listen on the TLS port (if any) again, after tls-port or bind changed. */
static const char *relisten_tls(cairn_server *srv)
{
    net_close_listeners(&srv->net, NET_LISTEN_TLS);
    if (!srv->cfg.tls_port) return NULL;
    if (!srv->net.tls_ctx && net_tls_configure(&srv->net) != 0)
        return "Unable to update TLS configuration. Check server logs.";
    if (net_listen_tls(&srv->net, srv->cfg.bind, srv->cfg.tls_port) != 0)
        return "Unable to listen on this port. Check server logs.";
    return NULL;
}

/* A tls-* setting changed: rebuild the context (re-reading the files)
 * if TLS is in use; tls-auth-clients is read at every accept. */
static const char *tls_setting_changed(cairn_server *srv, const char *name)
{
    if (strcmp(name, "tls-port") == 0) return relisten_tls(srv);
    if (strcmp(name, "tls-auth-clients") == 0 || !tls_wanted(srv)) return NULL;
    if (net_tls_configure(&srv->net) != 0)
        return "Unable to update TLS configuration. Check server logs.";
    return NULL;
}

static const char *host_config_changed(void *priv, const char *name)
{
    cairn_server *srv = priv;
    if (strcmp(name, "port") == 0 || strcmp(name, "bind") == 0) {
        net_close_listeners(&srv->net, NET_LISTEN_TCP);
        if (net_listen(&srv->net, srv->cfg.bind, srv->cfg.port, NULL, 0) != 0)
            return "Unable to listen on this port. Check server logs.";
        return strcmp(name, "bind") == 0 ? relisten_tls(srv) : NULL;
    }
    if (strncmp(name, "tls-", 4) == 0) return tls_setting_changed(srv, name);
    if (strcmp(name, "dir") == 0) return change_dir(srv, srv->engine->cfg.dir);
    if (strcmp(name, "maxclients") == 0) return server_maxclients_changed(srv);
    if (strcmp(name, "maxmemory-clients") == 0 || strcmp(name, "maxmemory") == 0) {
        server_client_limit_changed(srv);
        return NULL;
    }
    if (strcmp(name, "metrics-port") == 0 || strcmp(name, "metrics-bind") == 0)
        return metrics_listen(srv);
    if (strcmp(name, "replica-read-only") == 0) return replica_config_changed(srv, name);
    return persist_config_changed(srv->persist, name);
}

static void host_unblocked(void *priv, cairn_session *s)
{
    (void)priv;
    net_client_unblocked(s);
}

static void host_pushed(void *priv, cairn_session *s)
{
    (void)priv;
    net_client_pushed(s);
}

static cairn_session *host_find_session(void *priv, uint64_t id)
{
    cairn_server *srv = priv;
    client *c = net_find_client(&srv->net, id);
    return c && !(c->flags & CLIENT_CLOSING) ? &c->sess : NULL;
}

/* A script is running: past busy-reply-threshold, serve the others. */
static int host_script_tick(void *priv)
{
    cairn_server *srv = priv;
    cairn_engine *e = srv->engine;
    long long limit = e->cfg.busy_reply_threshold;
    if (srv->shutting_down) return 1;
    if (limit <= 0 || (clock_mono_us() - srv->net.current_start_us) / 1000 < limit) return 0;
    if (!e->busy) {
        e->busy = 1;
        server_log(srv, LL_WARNING,
                   "Slow script detected: still in execution after %lld milliseconds. You can "
                   "try killing the script using the %s command.",
                   (long long)((clock_mono_us() - srv->net.current_start_us) / 1000),
                   e->busy_function ? "FUNCTION KILL" : "SCRIPT KILL");
    }
    net_serve_busy(&srv->net);
    return srv->shutting_down;
}

static void host_config_warning(void *priv, const char *msg)
{
    cairn_server *srv = priv;
    if (srv->config_warnings)
        srv->config_warnings = dstr_catfmt(srv->config_warnings, "%s\n", msg);
    else
        server_log(srv, LL_WARNING, "%s", msg);
}

/* Log the warnings held while the configuration was read, now that the
 * log file is known. */
static void log_config_warnings(cairn_server *srv)
{
    dstr held = srv->config_warnings;
    srv->config_warnings = NULL;
    for (char *line = held, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        server_log(srv, LL_WARNING, "%s", line);
    }
    dstr_free(held);
}

/* The table's struct is the server's settings (host_config.h). */
static void *host_config_base(void *priv)
{
    cairn_server *srv = priv;
    return &srv->cfg;
}

static const cairn_host_ops server_host_ops = {
    .client_cmd = server_client_cmd,
    .info = server_info,
    .shutdown = host_shutdown,
    .sleep_us = host_sleep_us,
    .config_defs = host_config_defs,
    .config_count = HOST_CONFIG_COUNT,
    .config_base = host_config_base,
    .config_changed = host_config_changed,
    .config_rewrite = server_config_rewrite,
    .config_warning = host_config_warning,
    .log = host_script_log,
    .config_include = server_config_include,
    .unblocked = host_unblocked,
    .pushed = host_pushed,
    .find_session = host_find_session,
    .persist_cmd = host_persist_cmd,
    .persist_info = host_persist_info,
    .script_tick = host_script_tick,
    .migrate_io = server_migrate_io,
    .drop_user_sessions = server_drop_user_sessions,
    .client_info = server_client_info,
    .acl_file = server_acl_file,
    .repl_cmd = server_repl_cmd,
    .repl_forward = server_raft_forward,
    .repl_forward_tx = server_raft_forward_tx,
    .repl_forward_block = server_raft_forward_block,
    .repl_pin = server_raft_pin,
    .seq_begin = server_seq_begin,
    .seq_done = server_seq_done,
};

static void usage(void)
{
    fprintf(stderr, "Usage: ./cairn-server [/path/to/cairn.conf] [options] [-]\n"
                    "       ./cairn-server -v or --version\n"
                    "       ./cairn-server -h or --help\n\n"
                    "Examples:\n"
                    "       ./cairn-server (run the server with default config)\n"
                    "       ./cairn-server /etc/cairn/6379.conf\n"
                    "       ./cairn-server --port 7777\n"
                    "       ./cairn-server /etc/mycairn.conf --loglevel verbose\n");
}

/* Apply the config file, then stdin (with "-"), then `--name value
 * [value...]` flags, as Redis does: flags override the file. */
static int load_config(cairn_server *srv, int argc, char **argv)
{
    cairn_engine *e = srv->engine;
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        dstr err = NULL;
        char path[PATH_MAX];
        if (server_load_config_file(e, argv[i], &err) != 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (cairn %s) ***\n%s\n", CAIRN_VERSION,
                    err ? err : "");
            dstr_free(err);
            return -1;
        }
        if (realpath(argv[i], path)) srv->config_file = dstr_from_cstr(path);
        i++;
    }
    /* "-" as the first or the last argument reads more configuration from
     * stdin, applied after the file and before the flags (as Redis). */
    int end = argc, from_stdin = 0;
    if (i == 1 && argc > 1 && strcmp(argv[1], "-") == 0) {
        from_stdin = 1;
        i = 2;
    } else if (argc > i && strcmp(argv[argc - 1], "-") == 0) {
        from_stdin = 1;
        end = argc - 1;
    }
    if (from_stdin) {
        dstr text = dstr_new("", 0), err = NULL;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
            text = dstr_cat(text, chunk, n);
        int rc = config_load_string(e, text, dstr_len(text), &err);
        dstr_free(text);
        if (rc != 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (cairn %s) ***\n%s\n", CAIRN_VERSION,
                    err ? err : "");
            dstr_free(err);
            return -1;
        }
    }
    while (i < end) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
            fprintf(stderr, "Unexpected argument '%s'\n", argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        dstr value = dstr_with_cap(64);
        /* Directives that are not parameters (user, rename-command) are
         * applied as a line of the file with each argument quoted. */
        int directive = strcasecmp(name, "user") == 0 || strcasecmp(name, "rename-command") == 0;
        dstr line = dstr_cat_cstr(dstr_new("", 0), name);
        int j = i + 1;
        for (; j < end && strncmp(argv[j], "--", 2) != 0; j++) {
            if (j > i + 1) value = dstr_cat(value, " ", 1);
            value = dstr_cat_cstr(value, argv[j]);
            line = dstr_cat_repr(dstr_cat(line, " ", 1), argv[j], strlen(argv[j]));
        }
        char err[256];
        const char *msg = NULL;
        if (directive) {
            dstr why = NULL;
            if (config_load_string(e, line, dstr_len(line), &why) != 0) {
                snprintf(err, sizeof(err), "%s", why);
                msg = err;
            }
            dstr_free(why);
        } else {
            msg = config_set(e, name, value, 1, err, sizeof(err));
        }
        dstr_free(value);
        dstr_free(line);
        if (msg) {
            fprintf(stderr, "\n*** FATAL CONFIG ERROR ***\n'%s': %s\n", name, msg);
            return -1;
        }
        i = j;
    }
    return 0;
}

static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) exit(0);
    if (setsid() < 0) return -1;
    /* Let go of the caller's terminal or pipes, as Redis does: whoever
     * started us may be waiting for them to close. */
    int fd = open("/dev/null", O_RDWR);
    if (fd != -1) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
    return 0;
}

static void write_pidfile(cairn_server *srv)
{
    const char *path = srv->cfg.pidfile;
    if (!path || !path[0]) return;
    FILE *fp = fopen(path, "w");
    if (!fp) {
        server_log(srv, LL_WARNING, "Failed to write PID file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(fp, "%d\n", (int)getpid());
    fclose(fp);
}

void server_log_cb(void *priv, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    server_log(priv, level, "%s", msg);
}

static void hook_commit(void *priv)
{
    cairn_server *srv = priv;
    persist_commit(srv->persist);
}

static uint64_t hook_appended(void *priv)
{
    cairn_server *srv = priv;
    return persist_appended(srv->persist);
}

static uint64_t hook_durable(void *priv)
{
    cairn_server *srv = priv;
    return persist_durable(srv->persist);
}

/* Load the dataset a slice at a time from an idle handle, so the loop
 * keeps answering (-LOADING, INFO) in between.  A failure stops start-up:
 * the message names the file, the offset and the repair tool. */
static void on_load_slice(uv_idle_t *h)
{
    cairn_server *srv = h->data;
    char err[1024];
    if (persist_is_loading(srv->persist))
        supervise_loading(srv, persist_load_percent(srv->persist));
    int rc = persist_load_step(srv->persist, 20000, err, sizeof(err));
    if (rc == PERSIST_MORE) return;
    uv_idle_stop(h);
    if (rc == PERSIST_ERROR) {
        server_log(srv, LL_WARNING, "%s", err);
        srv->exit_code = 1;
        server_shutdown(srv, SHUTDOWN_NOW);
        return;
    }
    supervise_ready(srv);
}

/* Go to the data directory and open it: take its lock, find the files to
 * load.  Returns 0, or -1 with the reason logged. */
static int open_data_dir(cairn_server *srv)
{
    cairn_config *cfg = &srv->engine->cfg;
    char cwd[PATH_MAX], err[1024];
    /* Redis stops on a missing directory; a new node's empty directory
     * (a first start, a replaced machine) is created instead. */
    int rc = chdir(cfg->dir);
    if (rc != 0 && errno == ENOENT && make_dir_path(cfg->dir) == 0) {
        server_log(srv, LL_NOTICE, "Created the data directory '%s'", cfg->dir);
        rc = chdir(cfg->dir);
    }
    if (rc != 0 || !getcwd(cwd, sizeof(cwd))) {
        server_log(srv, LL_WARNING, "Can't chdir to '%s': %s", cfg->dir, strerror(errno));
        return -1;
    }
    persist_host host = {.log = server_log_cb, .priv = srv, .can_fork = 1};
    srv->persist = persist_new(srv->engine, &host);
    if (persist_open(srv->persist, cwd, err, sizeof(err)) != 0) {
        server_log(srv, LL_WARNING, "Fatal error opening the data directory: %s", err);
        return -1;
    }
    srv->net.hooks = (net_log_hooks){hook_commit, hook_appended, hook_durable, srv};
    return 0;
}

static int server_start(cairn_server *srv)
{
    cairn_engine *e = srv->engine;
    int rc = uv_loop_init(&srv->loop);
    srv->loop_ready = rc == 0;
    if (rc == 0) rc = net_init(&srv->net, &srv->loop, e, &srv->cfg.net, net_log, srv);
    if (rc == 0) server_client_limit_changed(srv);
    srv->cron_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (rc == 0 && (srv->cron_fd < 0 || arm_cron(srv) != 0)) rc = uv_translate_sys_error(errno);
    if (rc == 0) rc = uv_poll_init(&srv->loop, &srv->cron, srv->cron_fd);
    if (rc == 0) rc = uv_signal_init(&srv->loop, &srv->sigterm);
    if (rc == 0) rc = uv_signal_init(&srv->loop, &srv->sigint);
    if (rc == 0) rc = uv_idle_init(&srv->loop, &srv->loader);
    if (rc == 0) rc = uv_timer_init(&srv->loop, &srv->handover);
    if (rc) {
        server_log(srv, LL_WARNING, "Event loop setup failed: %s", uv_strerror(rc));
        return -1;
    }
    srv->cron.data = srv->sigterm.data = srv->sigint.data = srv->loader.data = srv;
    srv->handover.data = srv;
    if (srv->cfg.raft_peers && srv->cfg.raft_peers[0]) {
        /* The Raft log is the command log: no append-only file beside it,
         * and no snapshot of the dataset taken behind its back. */
        e->cfg.appendonly = 0;
        dstr_free(e->cfg.save);
        e->cfg.save = dstr_from_cstr("");
    }
    if (open_data_dir(srv) != 0 || server_raft_start(srv) != 0) return -1;
    char err[512];
    if (replica_init(srv, err, sizeof(err)) != 0) {
        server_log(srv, LL_WARNING, "%s", err);
        return -1;
    }
    /* Before the data port: whoever sees the server listen can scrape it. */
    if (metrics_init(srv) != 0 || metrics_listen(srv) != NULL) return -1;
    if (tls_wanted(srv) && net_tls_configure(&srv->net) != 0) {
        server_log(srv, LL_WARNING, "Failed to configure TLS. Check logs for more info.");
        return -1;
    }
    /* The TLS port first: whoever waits for the plain port to answer
     * (a supervisor, a test) then finds both. */
    if (srv->cfg.tls_port && net_listen_tls(&srv->net, srv->cfg.bind, srv->cfg.tls_port)) return -1;
    if (net_listen(&srv->net, srv->cfg.bind, srv->cfg.port, srv->cfg.unixsocket,
                   srv->cfg.unixsocketperm))
        return -1;
    uv_idle_start(&srv->loader, on_load_slice);
    uv_poll_start(&srv->cron, UV_READABLE, on_cron);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("Cairn server v=%s allocator=%s\n", CAIRN_VERSION, cm_allocator_name());
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Past a file size limit, let write() fail with EFBIG (a MISCONF
     * error, recoverable) rather than be killed. */
    signal(SIGXFSZ, SIG_IGN);

    uint8_t seed[32];
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        fprintf(stderr, "getrandom failed: %s\n", strerror(errno));
        return 1;
    }
    cairn_server *srv = cm_calloc(1, sizeof(*srv));
    srv->engine = engine_create(seed);
    /* The server's process holds one engine: the process's memory is its. */
    engine_mem_own_process(srv->engine);
    char exe[PATH_MAX];
    if (realpath(argv[0], exe)) srv->executable = dstr_from_cstr(exe);
    /* The engine's configuration covers the server's settings once it
     * knows the host. */
    config_table_init(host_config_defs, HOST_CONFIG_COUNT, &srv->cfg);
    engine_set_host(srv->engine, &server_host_ops, srv);
    srv->config_warnings = dstr_new("", 0);
    if (load_config(srv, argc, argv) != 0 || server_acl_startup(srv) != 0) return 1;
    if (srv->cfg.daemonize && daemonize() != 0) {
        fprintf(stderr, "daemonize failed: %s\n", strerror(errno));
        return 1;
    }
    srv->start_ms = net_command_time_us(&srv->net) / 1000;
    engine_start(srv->engine, srv->start_ms);
    engine_set_host(srv->engine, &server_host_ops, srv);
    engine_set_clock(srv->engine, clock_mono_ns);

    server_log(srv, LL_NOTICE, "Cairn version=%s, bits=%d, pid=%d, just started", CAIRN_VERSION,
               (int)(sizeof(long) * 8), (int)getpid());
    if (!srv->config_file)
        server_log(srv, LL_WARNING, "No config file specified, using the default config.");
    log_config_warnings(srv);
    supervise_init(srv);
    int started = server_adjust_open_files(srv) == 0 && server_start(srv) == 0;
    if (started) {
        write_pidfile(srv);
        server_log(srv, LL_NOTICE, "Ready to accept connections tcp on %s port %d", srv->cfg.bind,
                   srv->cfg.port);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    } else {
        srv->exit_code = 1;
        server_raft_stop(srv); /* its peer links and forwarder, if it started */
    }
    /* Also after a failed start: close what was opened, free everything. */
    if (srv->loop_ready) {
        uv_walk(&srv->loop, on_walk_close, NULL);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&srv->loop) != 0)
            server_log(srv, LL_WARNING, "Event loop did not close cleanly");
    }
    if (started && srv->cfg.pidfile && srv->cfg.pidfile[0]) unlink(srv->cfg.pidfile);
    if (started && srv->cfg.unixsocket && srv->cfg.unixsocket[0]) unlink(srv->cfg.unixsocket);
    if (srv->cron_fd >= 0) close(srv->cron_fd);
    member_free(&srv->raft);
    replica_free(srv);
    if (srv->persist) persist_free(srv->persist);
    metrics_free(srv);
    server_log(srv, LL_WARNING, "Cairn is now ready to exit, bye bye...");
    int exit_code = srv->exit_code;
    engine_free(srv->engine);
    config_table_free(host_config_defs, HOST_CONFIG_COUNT, &srv->cfg);
    dstr_free(srv->config_file);
    dstr_free(srv->executable);
    dstr_free(srv->notify_socket);
    cm_free(srv);
    return exit_code;
}
