/* engine.c -- engine lifecycle, command dispatch, logging, active expiry. */
#include "engine.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "acl.h"
#include "cmd.h"
#include "db.h"
#include "evict.h"
#include "latency.h"
#include "monitor.h"
#include "multi.h"
#include "pubsub.h"
#include "slowlog.h"
#include "tracking.h"

cairn_engine *engine_create(const uint8_t seed[32])
{
    /* The engine's memory starts with what creating it takes. */
    const void *thread;
    int64_t before = cm_thread_net_allocated(&thread);
    cairn_engine *e = cm_calloc(1, sizeof(*e));
    memcpy(e->hash_seed, seed, 16);
    uint64_t rng_seed;
    memcpy(&rng_seed, seed + 16, sizeof(rng_seed));
    crand_seed(&e->rng, rng_seed);
    config_init(&e->cfg);
    e->active_expire_enabled = 1;
    e->reply_resizing = 1;
    e->reply_peak_reset_ms = REPLY_PEAK_RESET_MS;
    e->originates = 1;
    e->next_session_id = 1;
    e->cmdstats = cmdstats_create();
    cmd_table_load(e);
    acl_init(e);
    e->evict = evict_create(seed + 24);
    e->mem_net = cm_thread_net_allocated(&thread) - before;
    return e;
}

/* Databases are allocated once the configuration (which may change
 * `databases`) has been read. */
static void engine_alloc_dbs(cairn_engine *e)
{
    e->ndbs = e->cfg.databases;
    e->dbs = cm_calloc((size_t)e->ndbs, sizeof(cdb));
    for (int i = 0; i < e->ndbs; i++)
        db_init(e, &e->dbs[i], i);
}

void engine_start(cairn_engine *e, int64_t now_ms)
{
    engine_mem_enter(e);
    if (!e->dbs) engine_alloc_dbs(e);
    engine_mem_leave(e);
    e->start_ms = now_ms;
    e->startup_allocated = (long long)engine_used_memory(e);
}

void engine_free(cairn_engine *e)
{
    if (!e) return;
    for (int i = 0; i < e->ndbs; i++)
        db_free(&e->dbs[i]);
    cm_free(e->dbs);
    for (int i = 0; i < e->nready; i++)
        dstr_free(e->ready[i].key);
    cm_free(e->ready);
    cm_free(e->tmo_heap);
    cm_free(e->sig_waiters);
    acl_free(e);
    cmd_table_free(e);
    cmdstats_free(e->cmdstats);
    config_free(&e->cfg);
    evict_free(e->evict);
    pubsub_free(e);
    if (e->script_free) e->script_free(e->script);
    tracking_free(e);
    slowlog_free(e->slowlog);
    latency_free(e->latency);
    monitors_free(e->monitors);
    cm_free(e);
}

void engine_set_host(cairn_engine *e, const cairn_host_ops *ops, void *priv)
{
    e->host = ops;
    e->host_priv = priv;
}

void engine_set_log_sink(cairn_engine *e, cairn_log_sink sink, void *priv)
{
    e->log_sink = sink;
    e->log_priv = priv;
}

void engine_set_clock(cairn_engine *e, int64_t (*mono_ns)(void)) { e->mono_ns = mono_ns; }

void session_init(cairn_engine *e, cairn_session *s)
{
    memset(s, 0, sizeof(*s));
    s->id = e->next_session_id++;
    s->resp = 2;
    acl_session_init(e, s);
}

void session_reset(cairn_session *s)
{
    multi_discard(s);
    dstr_free(s->name);
    s->name = NULL;
    dstr_free(s->lib_name);
    dstr_free(s->lib_ver);
    s->lib_name = s->lib_ver = NULL;
    s->db = 0;
    s->resp = 2;
    s->flags &= SESS_AUTHED | SESS_LOCAL;
}

static void log_marker(cairn_engine *e, const char *word)
{
    cslice argv[1] = {{word, strlen(word)}};
    cairn_entry entry = {e->atomic_db, e->atomic_now_ms, 0, 1, argv};
    e->log_sink(e->log_priv, &entry);
}

void engine_log(cairn_engine *e, uint32_t db, int64_t now_ms, uint64_t seed, int argc,
                const cslice *argv)
{
    if (!e->log_sink || (!engine_may_originate(e) && !e->relaying)) return;
    if (e->atomic_depth && !e->atomic_logged) {
        e->atomic_logged = 1;
        log_marker(e, "MULTI");
    }
    cairn_entry entry = {db, now_ms, seed, argc, argv};
    e->log_sink(e->log_priv, &entry);
}

void engine_atomic_begin(cairn_engine *e, uint32_t db, int64_t now_ms)
{
    if (e->atomic_depth++ > 0) return;
    e->atomic_logged = 0;
    e->atomic_db = db;
    e->atomic_now_ms = now_ms;
}

void engine_atomic_end(cairn_engine *e, uint32_t db)
{
    if (--e->atomic_depth > 0 || !e->atomic_logged) return;
    e->atomic_logged = 0;
    e->atomic_db = db;
    log_marker(e, "EXEC");
}

/* Redis quotes the first arguments of an unknown command, up to about 128
 * bytes in all, in its error. */
static void reply_unknown_command(rbuf *out, int argc, const cslice *argv)
{
    char args[512];
    size_t used = 0;
    args[0] = '\0';
    for (int i = 1; i < argc && used < 128; i++) {
        int room = 128 - (int)used;
        int n =
            snprintf(args + used, sizeof(args) - used, "'%.*s' ",
                     (int)(argv[i].len < (size_t)room ? argv[i].len : (size_t)room), argv[i].ptr);
        if (n < 0) break;
        used += (size_t)n;
        if (used >= sizeof(args)) used = sizeof(args) - 1;
    }
    int nlen = argv[0].len > 128 ? 128 : (int)argv[0].len;
    reply_errorf(out, "ERR unknown command '%.*s', with args beginning with: %s", nlen, argv[0].ptr,
                 args);
}

static int arity_ok(const cmd_def *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* Find the command (or subcommand) to run, replying with Redis's error
 * when there is none or the arity is wrong.  *found (if not NULL) is set
 * to the command named even when its arity is wrong, or NULL: what Redis
 * reports as a client's last command. */
static const cmd_def *resolve_command(cairn_engine *e, int argc, const cslice *argv, rbuf *out,
                                      const cmd_def **found, cmd_stats **stats)
{
    const cmd_def *cmd = cmd_lookup_stats(e, argv[0].ptr, argv[0].len, stats);
    if (found) *found = NULL;
    if (!cmd) {
        reply_unknown_command(out, argc, argv);
        return NULL;
    }
    if (cmd->subcommands && argc >= 2) {
        const cmd_def *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (!sub) {
            char upper[64];
            ascii_case_copy(upper, sizeof(upper), cmd->name, strlen(cmd->name), 1);
            int alen = argv[1].len > 128 ? 128 : (int)argv[1].len;
            reply_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.", alen, argv[1].ptr,
                         upper);
            return NULL;
        }
        cmd = sub;
        *stats = cmdstats_of(e->cmdstats, sub);
    }
    if (found) *found = cmd;
    if (!arity_ok(cmd, argc)) {
        reply_errorf(out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return NULL;
    }
    return cmd;
}

static void call_setup(cmd_call *c, cairn_engine *e, cairn_session *s, const cmd_def *cmd,
                       cmd_stats *stats, int argc, const cslice *argv, int64_t now_us,
                       int64_t start_ns, rbuf *out)
{
    /* One initializer rather than memset() and stores: the compiler
     * writes each field once. */
    *c = (cmd_call){
        .e = e,
        .s = s,
        .cmd = cmd,
        .argc = argc,
        .argv = argv,
        .db = &e->dbs[s->db],
        .now_ms = now_us / 1000,
        .now_us = now_us,
        .seed = crand_next(&e->rng),
        .out = out,
        .stats = stats,
        .start_ns = start_ns,
    };
    e->err_seen = e->errstats.total;
    /* The seed is drawn (and logged) for every command, so a replay draws
     * the same numbers; expanding it into a PRNG state waits for the
     * first draw, which most commands never make. */
    crand_seed_lazy(&c->rng, c->seed);
}

void engine_call_init(cmd_call *c, cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                      const cslice *argv, int64_t now_us, rbuf *out)
{
    call_setup(c, e, s, cmd, cmdstats_of(e->cmdstats, cmd), argc, argv, now_us,
               e->mono_ns ? e->mono_ns() : 0, out);
}

/* A call that ran for ns nanoseconds (-1: untimed), at least cfg.watch_ns:
 * the slow log and the latency monitor see it once it is served, the
 * monitors when it first runs (not its retries), as in Redis. */
static void __attribute__((noinline)) observe_call(cmd_call *c, int64_t ns, int parked)
{
    if (ns >= 0 && !parked) {
        slowlog_push(c, ns / 1000);
        latency_sample(c->e, (c->cmd->flags & CMD_FAST) ? "fast-command" : "command",
                       c->now_ms / 1000, ns / 1000000);
    }
    if (c->e->cfg.monitoring && !c->retry && !(c->cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN)))
        monitor_feed(c);
}

/* Count a run of a command in its statistics, unless it replays the log
 * (Redis does not count AOF loading either).  A blocking command counts
 * as a call when it first runs, parked or not; the runs that serve it
 * later add their time, and its latency once it is served.  A run failed
 * if it replied with an error that no call it made (EXEC's) accounted
 * for. */
static void account_call(cmd_call *c)
{
    cairn_engine *e = c->e;
    int failed = e->errstats.total > e->err_seen;
    e->err_seen = e->errstats.total;
    if (!c->stats || (c->s->flags & SESS_LOADER)) return;
    int parked = c->retry ? c->retry == RETRY_PARKED_AGAIN : c->s->blocked != NULL;
    int64_t ns = -1;
    if (e->mono_ns) {
        e->mono_last_ns = e->mono_ns();
        ns = e->mono_last_ns - c->start_ns;
    }
    cmdstats_record(c->stats, ns, !c->retry, failed, e->cfg.latency_tracking && !parked);
    if (ns >= e->cfg.watch_ns) observe_call(c, ns, parked);
}

/* A command refused before it ran (wrong arity, out of memory, -LOADING,
 * not allowed in MULTI): Redis's rejected_calls. */
static void account_rejected(cairn_engine *e, const cmd_def *cmd)
{
    cmd_stats *st = cmd ? cmdstats_of(e->cmdstats, cmd) : NULL;
    if (st) st->rejected_calls++;
    e->err_seen = e->errstats.total;
}

void engine_call_finish(cmd_call *c)
{
    cairn_engine *e = c->e;
    if (c->dirty > 0) {
        e->stats.dirty += c->dirty;
        touch_call_keys(c);
        if (e->tracking) tracking_invalidate_call(c);
        if (!c->log) engine_log(e, (uint32_t)c->db->id, c->now_ms, c->seed, c->argc, c->argv);
    }
    if (c->log) log_flush(c, c->dirty > 0); /* rare: only commands that log_as() */
    if (c->s->tracking) tracking_after_command(c);
    e->stats.commands_processed++;
    account_call(c);
}

/* What a forwarded command answers on this node instead of the leader's
 * integer: a message's receivers here (-1: the leader's reply).  A shard
 * channel is the command's key. */
static long long forward_local_reply(cairn_engine *e, const cmd_def *cmd, int argc,
                                     const cslice *argv)
{
    if (!(cmd->flags & CMD_CHANNEL_PUB) || argc < 2) return -1;
    return pubsub_receivers(e, &argv[1], cmd->first_key > 0);
}

/* Forward s's call to the leader as the host forwards a write, with the
 * arguments the command's forward_args makes (EVALSHA goes as EVAL with
 * this node's script).  Returns 1 if it went, 0 if not. */
static int forward_call(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                        const cslice *argv)
{
    const cairn_host_ops *h = e->host;
    long long local = forward_local_reply(e, cmd, argc, argv);
    if (!cmd->forward_args) return h->repl_forward(e->host_priv, s, argc, argv, local);
    cslice *fwd = cm_malloc(sizeof(*fwd) * (size_t)argc);
    memcpy(fwd, argv, sizeof(*fwd) * (size_t)argc);
    int sent = cmd->forward_args(e, fwd) && h->repl_forward(e->host_priv, s, argc, fwd, local);
    cm_free(fwd);
    return sent;
}

/* A follower forwards a plain write to the leader, a transaction that
 * writes as a whole at EXEC (its writes queue here), and a blocking write
 * on a connection of its own (it would hold the shared one).  Returns
 * what refused_by_role returns once it did (0: queue the call here, in
 * MULTI), or -1 if it could not. */
static int forward_write(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int exec, int argc,
                         const cslice *argv, rbuf *out)
{
    const cairn_host_ops *h = e->host;
    if (!h) return -1;
    if (s->flags & SESS_MULTI) {
        if (h->repl_forward_tx && h->repl_forward_tx(e->host_priv, s, 0, NULL) &&
            (!exec || multi_exec_forward(e, s, out)))
            return exec;
    } else if (cmd->flags & CMD_BLOCKING) {
        if (h->repl_forward_block && h->repl_forward_block(e->host_priv, s, argc, argv, out))
            return 1;
    } else if (h->repl_forward && forward_call(e, s, cmd, argc, argv)) {
        return 1;
    }
    return -1;
}

/* A replicated node refuses writes as a follower and data commands with
 * no leader (engine.h); EXEC counts as what it queued, a script as what
 * it declares. */
static int refused_by_role(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                           const cslice *argv, rbuf *out)
{
    /* a WATCH here pins the session to the leader (multi.h) */
    if (!(s->flags & SESS_MULTI) && e->repl_refuse_write &&
        multi_pin_command(e, s, cmd, argc, argv, out))
        return 1;
    int exec = (s->flags & SESS_MULTI) && strcmp(cmd->name, "exec") == 0;
    uint32_t flags = exec            ? cmd->flags | multi_queued_flags(s)
                     : cmd->flags_of ? cmd->flags_of(e, argc, argv, cmd->flags)
                                     : cmd->flags;
    /* In a group a message is an entry of the log, delivered on every node:
     * the leader publishes it, like a write. */
    if ((flags & CMD_CHANNEL_PUB) && e->log_publish) flags |= CMD_WRITE;
    /* A script that may write goes to the leader if this node forwards
     * writes; else it runs here and its writes are refused (script.c), as
     * on a Redis replica, which runs it. */
    if (e->repl_refuse_write && !(flags & CMD_WRITE) &&
        (exec ? multi_queued_may_write(s) : cmd_script_may_write(cmd, flags))) {
        int done = forward_write(e, s, cmd, exec, argc, argv, out);
        return done < 0 ? 0 : done;
    }
    const char *why = (flags & CMD_WRITE)      ? e->repl_refuse_write
                      : (flags & CMD_READONLY) ? e->repl_refuse_read
                                               : NULL;
    if (!why) return 0;
    if ((flags & CMD_WRITE) && why == e->repl_refuse_write) {
        int done = forward_write(e, s, cmd, exec, argc, argv, out);
        if (done >= 0) return done;
    }
    if (exec) {
        reply_errorf(out, "EXECABORT Transaction discarded because of: %s", why);
        multi_session_reset(e, s);
    } else {
        reply_error(out, why);
    }
    return 1;
}

/* Commands the host's state refuses: everything but CMD_LOADING commands
 * while the dataset loads, and writes (and PING, as Redis does, so that
 * monitoring notices) while the log cannot be written.  Replies with the
 * error and returns 1 when cmd may not run now. */
static int refused_by_host_state(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                                 const cslice *argv, rbuf *out)
{
    if (s->flags & SESS_LOADER) return 0;
    if (e->busy && !(cmd->flags & CMD_ALLOW_BUSY)) {
        /* A refused EXEC discards the transaction, as Redis's
         * execCommandAbort: the client is out of MULTI either way. */
        int exec = strcmp(cmd->name, "exec") == 0 && (s->flags & SESS_MULTI);
        reply_errorf(out,
                     "%sBUSY Redis is busy running a script. You can only call %s or SHUTDOWN "
                     "NOSAVE.",
                     exec ? "EXECABORT Transaction discarded because of: " : "",
                     e->busy_function ? "FUNCTION KILL" : "SCRIPT KILL");
        if (exec) multi_session_reset(e, s);
        return 1;
    }
    if (e->loading && !(cmd->flags & CMD_LOADING)) {
        reply_error(out, "LOADING Redis is loading the dataset in memory");
        return 1;
    }
    if ((e->repl_refuse_write || e->repl_refuse_read) &&
        refused_by_role(e, s, cmd, argc, argv, out))
        return 1;
    if (e->write_error) {
        /* EXEC is a write when what it runs is (Redis's mstate flags);
         * refused, it aborts the transaction as Redis's execCommandAbort. */
        int exec = strcmp(cmd->name, "exec") == 0 && (s->flags & SESS_MULTI);
        uint32_t flags = cmd->flags | (exec ? multi_queued_flags(s) : 0);
        if (!(flags & CMD_WRITE) && strcmp(cmd->name, "ping") != 0) return 0;
        if (exec) {
            reply_errorf(out, "EXECABORT Transaction discarded because of: %s", e->write_error);
            multi_session_reset(e, s);
        } else {
            reply_error(out, e->write_error);
        }
        return 1;
    }
    return 0;
}

/* A RESP2 connection with subscriptions can only (un)subscribe, PING,
 * QUIT and RESET: anything else would interleave its reply with messages.
 * Replies with Redis's error and returns 1 when cmd may not run. */
static int refused_while_subscribed(const cairn_session *s, const cmd_def *cmd, rbuf *out)
{
    if (s->resp != 2 || (cmd->flags & CMD_SUBSCRIBED_OK)) return 0;
    /* A refused EXEC says so as an aborted transaction, as Redis's
     * rejectCommand does for every refusal of EXEC. */
    reply_errorf(out,
                 "%sCan't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context",
                 strcmp(cmd->name, "exec") == 0 ? "EXECABORT Transaction discarded because of: "
                                                : "ERR ",
                 cmd->name);
    return 1;
}

int engine_pause_holds(cairn_engine *e, cairn_session *s, int argc, const cslice *argv, int all)
{
    const cmd_def *cmd = cmd_lookup(e, argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands && argc >= 2) cmd = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    /* An unknown command or a wrong arity is answered at once, as Redis
     * checks them before the pause. */
    if (!cmd || !arity_ok(cmd, argc)) return 0;
    if (!all) {
        /* A script declares whether it writes (Redis's getCommandFlags). */
        uint32_t flags = cmd->flags_of ? cmd->flags_of(e, argc, argv, cmd->flags) : cmd->flags;
        if (strcmp(cmd->name, "exec") == 0 && (s->flags & SESS_MULTI))
            flags |= multi_queued_flags(s);
        if (!(flags & (CMD_WRITE | CMD_MAY_REPLICATE))) return 0;
    }
    /* Held, it is the client's command already (CLIENT LIST's cmd=), as
     * Redis looks the command up before it pauses the client. */
    s->last_cmd = cmd;
    return 1;
}

/* CLIENT SESSION named this write: the host dedups it (engine.h).
 * Returns 1 if it answered, else whether to call seq_done in *done. */
static int seq_gate(cmd_call *c, int *done)
{
    const cairn_host_ops *h = c->e->host;
    cairn_session *s = c->s;
    uint32_t flags = c->cmd->flags;
    int exec = (s->flags & SESS_MULTI) && strcmp(c->cmd->name, "exec") == 0;
    if (exec) flags |= multi_queued_flags(s);
    /* Reads, and what a transaction queues, leave it for the next write. */
    if (!(flags & (CMD_WRITE | CMD_MAY_REPLICATE)) || ((s->flags & SESS_MULTI) && !exec)) return 0;
    if (!h || !h->seq_begin) {
        s->flags &= ~SESS_SEQ;
        return 0;
    }
    if (h->seq_begin(c->e->host_priv, c)) {
        /* an EXEC answered without running drops its transaction */
        if (exec) multi_session_reset(c->e, s);
        return 1;
    }
    *done = 1;
    return 0;
}

void engine_execute(cairn_engine *e, cairn_session *s, int argc, const cslice *argv, int64_t now_us,
                    rbuf *out)
{
    engine_execute_at(e, s, argc, argv, now_us, e->mono_ns ? e->mono_ns() : 0, out);
}

void engine_execute_at(cairn_engine *e, cairn_session *s, int argc, const cslice *argv,
                       int64_t now_us, int64_t start_ns, rbuf *out)
{
    engine_mem_enter(e);
    out->err_stats = &e->errstats;
    e->mono_last_ns = 0;
    uint64_t errors_before = out->errors;
    cmd_stats *stats;
    const cmd_def *cmd = resolve_command(e, argc, argv, out, &s->last_cmd, &stats);
    if (cmd && (cmd->flags & CMD_PROTECTED) && !protected_allowed(e->cfg.enable_debug_command, s)) {
        reply_error(out, "ERR DEBUG command not allowed. If the enable-debug-command option is set "
                         "to \"local\", you can run it from a local connection, otherwise you need "
                         "to set this option in the configuration file, and then restart the "
                         "server.");
        cmd = NULL;
    }
    /* Users with every permission skip the check (the fast path). */
    if (cmd && !acl_session_fast(s) && acl_refuse_call(e, s, cmd, argc, argv, now_us / 1000, out))
        cmd = NULL;
    if (cmd && s->sub && refused_while_subscribed(s, cmd, out)) cmd = NULL;
    /* WATCHed on a follower: it runs on the leader until EXEC */
    if (cmd && (s->flags & SESS_PINNED) && multi_pin_command(e, s, cmd, argc, argv, out)) {
        engine_mem_leave(e);
        return;
    }
    if (cmd && refused_by_host_state(e, s, cmd, argc, argv, out)) cmd = NULL;
    /* maxmemory: evict before the command, or refuse it if it may grow
     * memory that cannot be freed. */
    if (cmd && e->cfg.maxmemory && evict_refuse_command(e, s, cmd, argc, argv, now_us / 1000, out))
        cmd = NULL;
    if (!cmd) {
        /* CLIENT SESSION names the next write: a refused one (-TRYAGAIN
         * while leadership moves, -LOADING, ...) takes its number along,
         * or the connection's next write would be recorded under it and a
         * retry of the refused one would get that write's reply. */
        if (!(s->flags & SESS_MULTI)) s->flags &= ~SESS_SEQ;
        multi_flag_error(s);
        account_rejected(e, s->last_cmd);
    } else {
        cmd_call c;
        call_setup(&c, e, s, cmd, stats, argc, argv, now_us, start_ns, out);
        int seq_done = 0;
        if ((s->flags & SESS_SEQ) && seq_gate(&c, &seq_done)) {
            /* answered by the host: a duplicate runs nothing */
        } else if (!multi_queue_command(&c)) {
            rbuf_mark mark = rbuf_get_mark(out);
            /* Saved: a slow script serves other clients' commands. */
            cmd_call *outer = e->exec_call;
            e->exec_call = &c;
            cmd->proc(&c);
            engine_call_finish(&c);
            e->exec_call = outer;
            if (seq_done) e->host->seq_done(e->host_priv, &c, mark);
        } else if (out->errors != errors_before) {
            account_rejected(e, cmd);
        }
        if (e->nready) engine_serve_ready(e, now_us);
    }
    engine_mem_leave(e);
}

static int apply_entry(cairn_engine *e, cairn_session *s, const cairn_entry *entry, rbuf *out)
{
    cmd_stats *stats;
    const cmd_def *cmd = resolve_command(e, entry->argc, entry->argv, out, NULL, &stats);
    if (!cmd || entry->db >= (uint32_t)e->ndbs) {
        if (cmd) reply_error(out, "ERR DB index is out of range");
        return -1;
    }
    s->flags |= SESS_LOADER;
    s->db = (int)entry->db;
    uint64_t errors_before = out->errors;
    cmd_call c;
    /* Not timed: replay is not counted in the statistics. */
    call_setup(&c, e, s, cmd, stats, entry->argc, entry->argv, (int64_t)entry->now_ms * 1000, 0,
               out);
    /* The seed the original run drew, not the next one of this engine. */
    c.seed = entry->seed;
    crand_seed_lazy(&c.rng, c.seed);
    e->applying++;
    /* Inside a logged MULTI ... EXEC the writes queue as they did live;
     * the EXEC entry runs them. */
    if (!multi_queue_command(&c)) {
        cmd->proc(&c);
        engine_call_finish(&c);
    }
    e->applying--;
    if (e->nready) engine_serve_ready(e, c.now_us);
    return out->errors == errors_before ? 0 : -1;
}

int engine_apply_entry(cairn_engine *e, cairn_session *s, const cairn_entry *entry, rbuf *out)
{
    engine_mem_enter(e);
    int rc = apply_entry(e, s, entry, out);
    engine_mem_leave(e);
    return rc;
}

/* Sample keys with a TTL in one db by walking its volatile array from
 * where the last step stopped, so successive calls cover every key in
 * turn.  A deleted key's slot receives the array's last object, which is
 * looked at next.  Returns how many keys were examined; *expired counts
 * those deleted, *wrapped is set when the walk reached the end. */
static long expire_db_step(cairn_engine *e, cdb *db, int64_t now_ms, long *expired, int *wrapped)
{
    long seen = 0;
    long long ttl_sum = 0, ttl_n = 0;
    while (seen < 20 && db->expire_cursor < db->nvol) {
        cobj *o = db->vol[db->expire_cursor];
        int64_t when = obj_expire(o);
        seen++;
        if (when <= now_ms) {
            cslice key = obj_key(o);
            db_expire_key(e, db, &key, now_ms);
            (*expired)++;
        } else {
            ttl_sum += when - now_ms;
            ttl_n++;
            db->expire_cursor++;
        }
    }
    *wrapped = db->expire_cursor >= db->nvol;
    if (*wrapped) db->expire_cursor = 0;
    if (ttl_n) {
        long long avg = ttl_sum / ttl_n;
        db->avg_ttl = db->avg_ttl ? (db->avg_ttl / 50) * 49 + avg / 50 : avg;
    }
    return seen;
}

long long engine_active_expire(cairn_engine *e, int64_t now_ms, long effort, int *keep_going)
{
    long long total = 0;
    *keep_going = 0;
    if (!e->active_expire_enabled || !engine_may_originate(e)) return 0;
    for (int i = 0; i < e->ndbs && effort > 0; i++) {
        cdb *db = &e->dbs[i];
        if (db->nvol == 0) {
            /* Redis resets the estimate once no key has a TTL. */
            db->avg_ttl = 0;
            continue;
        }
        /* Keep sampling this db while more than 10% of what we see has
         * expired: a high ratio means many keys are waiting. */
        for (;;) {
            long expired = 0;
            int wrapped;
            long seen = expire_db_step(e, db, now_ms, &expired, &wrapped);
            effort -= seen ? seen : 1;
            total += expired;
            int busy = seen > 0 && expired * 10 > seen;
            if (!busy || wrapped) break;
            if (effort <= 0) {
                *keep_going = 1;
                break;
            }
        }
    }
    return total;
}

void engine_rehash_step(cairn_engine *e)
{
    for (int i = 0; i < e->ndbs; i++) {
        cdb *db = &e->dbs[i];
        if (htab_is_rehashing(db->keys)) htab_rehash(db->keys, 100);
    }
}
