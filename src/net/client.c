/* client.c -- network clients and listeners; see client.h. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../engine/acl.h"
#include "../engine/cmd.h"
#include "../engine/config.h"
#include "../engine/multi.h"
#include "../engine/pubsub.h"
#include "../engine/tracking.h"

/* Reads ask for at least this much free space in the query buffer. */
#define READ_CHUNK (16 * 1024)
/* An empty query buffer larger than this is shrunk back to READ_CHUNK. */
#define QBUF_KEEP (4 * READ_CHUNK)
/* An empty query buffer is given back after this long without input. */
#define QBUF_IDLE_MS 2000
/* net_clients_cron() looks at no fewer clients per call (Redis's
 * CLIENTS_CRON_MIN_ITERATIONS). */
#define CLIENTS_CRON_MIN 5
/* Argument vectors of more entries than this are freed after use. */
#define ARGV_KEEP 1024
/* The step by which a query buffer grows towards a large argument. */
#define QBUF_GROWTH 8
/* Reply blocks written per sendmsg (IOV_MAX is 1024; this is plenty). */
#define WRITE_IOVS 64
/* Connections accepted per readable event of a listener (as Redis), so a
 * connection storm cannot starve the clients already connected. */
#define MAX_ACCEPTS 1000

int64_t net_command_time_us(net *n)
{
    int64_t back;
    int64_t now = wall_clock_now_us(&n->wall, &back);
    if (back && n->log)
        n->log(n->log_priv, LL_WARNING,
               "The system clock went back by %lld ms: command time stays where it was until "
               "the clock catches up",
               (long long)(back / 1000));
    return now;
}

static void queue_write(client *c)
{
    if (c->flags & (CLIENT_QUEUED | CLIENT_CLOSING)) return;
    c->flags |= CLIENT_QUEUED;
    c->queue_next = c->net->queue;
    c->net->queue = c;
}

/* ---- client eviction (maxmemory-clients) ----
 *
 * While a limit is set, each client's memory is recounted (in O(1)) when
 * it may have changed: after a read, after each command, when a message
 * is pushed to it, after its output is written.  net.clients_mem is the
 * sum; evictable clients are listed by power-of-two size class, so the
 * largest are found without looking at the others.  With no limit
 * nothing is counted, and the hot path pays one test of evict_limit. */

/* The smallest limit Redis applies, so that a bad setting cannot cut off
 * every connection, the operator's too. */
#define CLIENT_EVICT_MIN (128 * 1024)

/* Raft peers' links are not clients of the data: never counted nor
 * evicted, as Redis spares its master and replica links.  A follower's
 * forwarding link asks for CLIENT NO-EVICT itself (forward.c). */
static int mem_counted(const client *c) { return !(c->sess.flags & SESS_REPL_PEER); }

static int mem_bucket_of(size_t mem)
{
    int bits = mem ? 64 - __builtin_clzll((unsigned long long)mem) : 0;
    if (bits < CLIENT_MEM_BUCKET_MIN) bits = CLIENT_MEM_BUCKET_MIN;
    if (bits > CLIENT_MEM_BUCKET_MAX) bits = CLIENT_MEM_BUCKET_MAX;
    return bits - CLIENT_MEM_BUCKET_MIN;
}

static void bucket_unlink(net *n, client *c)
{
    if (c->mem_bucket < 0) return;
    if (c->bucket_prev)
        c->bucket_prev->bucket_next = c->bucket_next;
    else
        n->mem_buckets[c->mem_bucket] = c->bucket_next;
    if (c->bucket_next) c->bucket_next->bucket_prev = c->bucket_prev;
    c->bucket_prev = c->bucket_next = NULL;
    c->mem_bucket = -1;
}

static void bucket_link(net *n, client *c, int b)
{
    c->mem_bucket = b;
    c->bucket_prev = NULL;
    c->bucket_next = n->mem_buckets[b];
    if (c->bucket_next) c->bucket_next->bucket_prev = c;
    n->mem_buckets[b] = c;
}

/* Recount c's memory and move it to its size class (none while CLIENT
 * NO-EVICT is on). */
static void mem_recount(client *c)
{
    net *n = c->net;
    if (c->flags & CLIENT_CLOSING) return;
    size_t mem = mem_counted(c) ? client_mem_usage(c) : 0;
    n->clients_mem = n->clients_mem - c->mem + mem;
    c->mem = mem;
    c->mem_out = rbuf_mem(&c->out);
    int b = mem && !(c->sess.flags & SESS_NO_EVICT) ? mem_bucket_of(mem) : -1;
    if (b == c->mem_bucket) return;
    bucket_unlink(n, c);
    if (b >= 0) bucket_link(n, c, b);
}

static void mem_forget(client *c)
{
    c->net->clients_mem -= c->mem;
    c->mem = 0;
    bucket_unlink(c->net, c);
}

/* Over the limit: disconnect clients from the largest size class down
 * until under it, as Redis's evictClients.  Not while a slow script's
 * command is in the middle of running (net_serve_busy): its client is
 * not to be closed under it. */
static void evict_clients(net *n)
{
    if (n->in_busy) return;
    int b = CLIENT_MEM_BUCKETS - 1;
    while (n->clients_mem >= n->evict_limit) {
        while (b >= 0 && !n->mem_buckets[b])
            b--;
        if (b < 0) {
            if (!n->evict_stuck)
                n->log(n->log_priv, LL_WARNING,
                       "Over client maxmemory after evicting all evictable clients");
            n->evict_stuck = 1;
            return;
        }
        client *c = n->mem_buckets[b];
        n->log(n->log_priv, LL_NOTICE,
               "Evicting client: id=%llu addr=%s laddr=%s name=%s tot-mem=%zu",
               (unsigned long long)c->sess.id, c->addr, c->laddr, c->sess.name ? c->sess.name : "",
               c->mem);
        n->engine->stats.evicted_clients++;
        client_close(c);
    }
    n->evict_stuck = 0;
}

/* Has c's output grown reply blocks since it was last counted (or is it
 * queueing a transaction)?  Between reads, nothing else of it grows: a
 * pipelined command whose reply fits the current block costs this test. */
static int mem_grew(const client *c)
{
    return rbuf_mem(&c->out) > c->mem_out || (c->sess.flags & SESS_MULTI);
}

/* c's buffers may have grown: recount it and evict if over the limit
 * (c itself, if it is among the largest). */
static void mem_check(client *c)
{
    mem_recount(c);
    if (c->net->clients_mem >= c->net->evict_limit) evict_clients(c->net);
}

void net_client_limit_changed(net *n)
{
    long long v = n->cfg->maxmemory_clients;
    unsigned long long maxmemory = n->engine->cfg.maxmemory;
    size_t limit = 0;
    if (v < 0 && maxmemory)
        limit = (size_t)((double)maxmemory * (double)-v / 100);
    else if (v > 0)
        limit = (size_t)v;
    if (limit && limit < CLIENT_EVICT_MIN) limit = CLIENT_EVICT_MIN;
    n->evict_limit = limit;
    n->evict_stuck = 0;
    /* Counted afresh either way (once per change, not per command); the
     * eviction itself waits until the running command is over: after it,
     * or at the end of the loop iteration. */
    for (client *c = n->clients; c; c = c->next) {
        if (limit)
            mem_recount(c);
        else
            mem_forget(c);
    }
}

static void client_free(client *c)
{
    tls_conn_free(c->tls);
    dstr_free(c->qbuf);
    resp_parser_free(&c->parser);
    rbuf_free(&c->out);
    session_reset(&c->sess);
    cm_free(c->argv);
    cm_free(c);
}

static void on_close(uv_handle_t *h) { client_free(h->data); }

void client_close(client *c)
{
    if (c->flags & CLIENT_CLOSING) return;
    net *n = c->net;
    if (c->mem_bucket >= 0 || c->mem) mem_forget(c);
    c->flags |= CLIENT_CLOSING;
    if ((c->sess.flags & SESS_FORWARDED) && n->hooks.forwarded_gone)
        n->hooks.forwarded_gone(n->hooks.priv, c->sess.id);
    engine_session_gone(n->engine, &c->sess);
    if (n->cron_next == c) n->cron_next = c->next;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    n->nclients--;
    if (c->flags & CLIENT_QUEUED) {
        client **pp = &n->queue;
        while (*pp && *pp != c)
            pp = &(*pp)->queue_next;
        if (*pp) *pp = c->queue_next;
    }
    /* uv_close() stops the poll (the descriptor leaves epoll) at once, so
     * the socket can go now; the memory waits for the close callback. */
    /* The TLS goodbye goes now too: the descriptor's number is free for
     * reuse once it is closed. */
    tls_conn_free(c->tls);
    c->tls = NULL;
    uv_close((uv_handle_t *)&c->poll, on_close);
    close(c->fd);
}

size_t client_mem_usage(const client *c)
{
    return sizeof(*c) + dstr_cap(c->qbuf) + (size_t)c->argv_cap * sizeof(cslice) +
           rbuf_mem(&c->out) + multi_queued_mem(&c->sess) + pubsub_session_mem(&c->sess) +
           tracking_session_mem(&c->sess);
}

/* The clocks of one batch of commands (those found in one read).  The
 * wall clock is read once for the batch; a command's time is derived from
 * the monotonic reading that also starts its timer (INFO commandstats)
 * and a busy script's.  That reading is the one that ended the previous
 * command of the batch when there is one (only parsing happens between
 * them), so a pipelined command costs one clock read, not two. */
typedef struct batch_clock {
    int64_t wall_us, mono_ns;
    int64_t next_ns; /* the engine's last reading, 0: none */
} batch_clock;

/* Free the argument vectors once no parsed or partly parsed command
 * uses them; they grow again as the next command needs. */
static void shrink_argv(client *c)
{
    resp_parser *p = &c->parser;
    if (p->argc || p->multibulk || (c->flags & (CLIENT_PAUSED | CLIENT_BLOCKED))) return;
    cm_free(c->argv);
    c->argv = NULL;
    c->argv_cap = 0;
    resp_parser_free(p);
}

/* Point c->argv at the arguments of the parsed command. */
static void load_argv(client *c)
{
    resp_parser *p = &c->parser;
    if (p->argc > c->argv_cap) {
        c->argv_cap = p->argc;
        c->argv = cm_realloc(c->argv, sizeof(cslice) * (size_t)c->argv_cap);
    }
    for (int i = 0; i < p->argc; i++) {
        c->argv[i].ptr = c->qbuf + p->off[i];
        c->argv[i].len = p->len[i];
    }
}

/* After a command run under CLIENT REPLY OFF/SKIP: its reply is dropped,
 * unless it was CLIENT REPLY ON. */
static void muted_done(client *c, rbuf *muted)
{
    if (!(c->sess.flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP)))
        for (const rbuf_block *b = muted->head; b; b = b->next)
            rbuf_append(&c->out, b->data + (b == muted->head ? muted->head_off : 0),
                        b->used - (b == muted->head ? muted->head_off : 0));
    c->sess.flags &= ~SESS_REPLY_SKIP;
    rbuf_reset(muted);
}

/* Run one parsed command.  Under CLIENT REPLY OFF/SKIP its reply goes to
 * a buffer that is dropped, while what is pushed to the client (pub/sub
 * messages and confirmations, invalidations) reaches its output, as in
 * Redis. */
static void client_run(client *c, batch_clock *clk)
{
    resp_parser *p = &c->parser;
    net *n = c->net;
    load_argv(c);
    if (c->sess.flags & SESS_REPLY_SKIP_NEXT) {
        c->sess.flags &= ~SESS_REPLY_SKIP_NEXT;
        c->sess.flags |= SESS_REPLY_SKIP;
    }
    rbuf *out = &c->out, local;
    if (c->sess.flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP)) {
        /* A client served while a slow script runs cannot share n->muted
         * with the one running it. */
        out = n->in_busy ? &local : &n->muted;
        if (out == &local) rbuf_init(&local, 2);
    }
    rbuf_mark mark = rbuf_get_mark(out);
    c->out.resp = c->sess.resp;
    out->resp = c->sess.resp;
    int64_t start_ns = clk->next_ns ? clk->next_ns : clock_mono_ns();
    if (!clk->mono_ns) *clk = (batch_clock){net_command_time_us(n), start_ns, 0};
    n->current = c;
    n->current_start_us = start_ns / 1000; /* times a busy script */
    /* Derived times go through the clamp too, so the next batch's reading
     * never hands out a time before them. */
    int64_t back;
    int64_t now_us =
        wall_clock_take(&n->wall, clk->wall_us + (start_ns - clk->mono_ns) / 1000, &back);
    engine_execute_at(n->engine, &c->sess, p->argc, c->argv, now_us, start_ns, out);
    clk->next_ns = n->engine->mono_last_ns;
    n->current = NULL;
    c->out.resp = c->sess.resp; /* HELLO may have switched it */
    if (out != &c->out) {
        muted_done(c, out);
        if (out == &local) rbuf_free(&local);
    } else if (c->sess.flags & SESS_REPLY_OFF) {
        rbuf_truncate(&c->out, mark); /* CLIENT REPLY OFF itself */
    }
    c->tot_cmds++;
    if (c->sess.blocked || (c->sess.flags & SESS_FORWARDED)) c->flags |= CLIENT_BLOCKED;
    if (c->sess.flags & SESS_CLOSE_AFTER_REPLY) c->flags |= CLIENT_CLOSE_AFTER;
}

/* Has c's pending output passed the client-output-buffer-limit of its
 * class (pubsub while it has subscriptions, else normal)?  The soft limit
 * counts only once the output has stayed above it for its seconds, as
 * Redis's checkClientOutputBufferLimits. */
static int output_over_limit(client *c)
{
    /* The engine stopped a reply at the limit (reply_over_limit). */
    if (c->sess.flags & SESS_CLOSE_ASAP) return 1;
    const cairn_config *cfg = &c->net->engine->cfg;
    const obuf_limit *l = &cfg->obuf_limits[c->sess.sub ? OBUF_PUBSUB : OBUF_NORMAL];
    size_t used = c->out.bytes;
    if (l->hard && used >= l->hard) return 1;
    if (!l->soft || used < l->soft) {
        c->obuf_soft_since_ms = 0;
        return 0;
    }
    int64_t now_ms = clock_mono_ms();
    if (!c->obuf_soft_since_ms) {
        c->obuf_soft_since_ms = now_ms;
        return 0;
    }
    return now_ms - c->obuf_soft_since_ms > l->soft_seconds * 1000;
}

/* Cut c off if its output passed its limit: it is closed, its output
 * dropped, at the next flush (not now: the engine may be in the middle of
 * delivering to the list of sessions it belongs to). */
static void check_output_limit(client *c)
{
    if ((c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSING)) || !output_over_limit(c)) return;
    c->flags |= CLIENT_CLOSE_ASAP;
    c->sess.flags |= SESS_CLOSE_ASAP;
    c->net->log(c->net->log_priv, LL_WARNING,
                "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output "
                "buffer limits.",
                (unsigned long long)c->sess.id, c->addr);
    queue_write(c);
}

void net_client_pushed(cairn_session *s)
{
    client *c = s->host_client;
    check_output_limit(c);
    /* Evicted, if it must be, after the command that pushed (the engine
     * may be in the middle of a list of sessions). */
    if (c->net->evict_limit && mem_grew(c)) mem_recount(c);
    queue_write(c);
}

/* Resume the clients whose wait after a failed authentication is over,
 * and wake again for the next one. */
static void on_auth_timer(uv_timer_t *h)
{
    net *n = h->data;
    int64_t now = clock_mono_ms(), next = 0;
    for (client *c = n->clients; c; c = c->next) {
        if (!(c->flags & CLIENT_AUTH_WAIT)) continue;
        if (c->auth_wait_until_ms <= now) {
            c->flags = (c->flags & ~CLIENT_AUTH_WAIT) | CLIENT_RESUME;
            queue_write(c);
        } else if (!next || c->auth_wait_until_ms < next) {
            next = c->auth_wait_until_ms;
        }
    }
    if (next) uv_timer_start(&n->auth_timer, on_auth_timer, (uint64_t)(next - now), 0);
}

/* A command of c failed to authenticate (AUTH, HELLO AUTH): log it, and
 * from the second failure on hold the connection's next commands for a
 * delay that doubles with each failure, so that guessing passwords over
 * one connection is slow however many attempts it pipelines. */
static void auth_failed(client *c)
{
    net *n = c->net;
    uint32_t k = c->sess.auth_failures;
    n->log(n->log_priv, LL_NOTICE,
           "Failed authentication from client id=%llu addr=%s (%u on this connection)",
           (unsigned long long)c->sess.id, c->addr, k);
    if (k < 2) return;
    int64_t delay = AUTH_DELAY_MS << (k - 2 < AUTH_DELAY_DOUBLINGS ? k - 2 : AUTH_DELAY_DOUBLINGS);
    c->auth_wait_until_ms = clock_mono_ms() + delay;
    c->flags |= CLIENT_AUTH_WAIT;
    uint64_t due = uv_timer_get_due_in(&n->auth_timer);
    if (!uv_is_active((uv_handle_t *)&n->auth_timer) || due > (uint64_t)delay)
        uv_timer_start(&n->auth_timer, on_auth_timer, (uint64_t)delay, 0);
}

static int qbuf_starts(const client *c, const char *prefix, size_t len)
{
    return dstr_len(c->qbuf) >= len && memcmp(c->qbuf, prefix, len) == 0;
}

/* A Raft peer opens its connection with CLIENT REPLY OFF (after AUTH when
 * the group has a password), then RAFT MSG: it is let through before it
 * has identified itself (by its secret), or the messages that confirm
 * reads, or that name a leader to a node holding its clients until it
 * knows one, would wait for themselves.  Its first read may end before
 * its first RAFT MSG: that one is recognized too. */
static int looks_like_peer(const client *c)
{
    static const char hello[] = "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n";
    static const char msg[] = "*4\r\n$4\r\nRAFT\r\n$3\r\nMSG\r\n";
    if (c->sess.flags & SESS_REPL_PEER) return 1;
    if (qbuf_starts(c, hello, sizeof(hello) - 1) || qbuf_starts(c, msg, sizeof(msg) - 1)) return 1;
    return c->tot_cmds == 0 && memmem(c->qbuf, dstr_len(c->qbuf), hello, sizeof(hello) - 1) != NULL;
}

/* May c run its commands now (net_log_hooks.admit)?  One that may not
 * keeps its input until net_resume_admitted(). */
static int admitted(client *c)
{
    const net_log_hooks *hooks = &c->net->hooks;
    if (!c->ticket && looks_like_peer(c)) return 1;
    return hooks->admit(hooks->priv, &c->ticket);
}

/* Does a CLIENT PAUSE hold c's parsed command? */
static int held_by_pause(client *c)
{
    net *n = c->net;
    if (!n->pause_type) return 0;
    load_argv(c);
    return engine_pause_holds(n->engine, &c->sess, c->parser.argc, c->argv,
                              n->pause_type == NET_PAUSE_ALL);
}

static void on_pause_end(uv_timer_t *h) { net_unpause(h->data); }

void net_pause(net *n, int type, int64_t end_ms)
{
    if (type > n->pause_type) n->pause_type = type;
    n->engine->expire_paused = 1;
    if (end_ms > n->pause_end_ms) n->pause_end_ms = end_ms;
    int64_t wait = n->pause_end_ms - clock_mono_ms();
    uv_timer_start(&n->pause_timer, on_pause_end, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* The held clients run their commands as unblocked ones do, from the
 * flush of this loop iteration. */
void net_unpause(net *n)
{
    n->pause_type = NET_PAUSE_NONE;
    n->pause_end_ms = 0;
    n->engine->expire_paused = 0;
    uv_timer_stop(&n->pause_timer);
    for (client *c = n->clients; c; c = c->next) {
        if (!(c->flags & CLIENT_PAUSED)) continue;
        c->flags |= CLIENT_RESUME;
        queue_write(c);
    }
}

/* The parser's question (resp.h): may c send only small commands yet? */
static int client_unauthed(void *priv)
{
    client *c = priv;
    return acl_auth_required(c->net->engine, &c->sess);
}

static void process_input(client *c)
{
    resp_parser *p = &c->parser;
    cairn_engine *e = c->net->engine;
    resp_parser_set_limits(p, e->cfg.proto_max_bulk_len, acl_auth_required(e, &c->sess));
    /* A command that logged something answers only once that is durable;
     * one that did not (a read) need not wait for others.  The log offset
     * only grows and nothing but this client's commands (and what they
     * cause) runs until the loop ends, so comparing it once for the whole
     * batch gives the wait of its last logging command, as comparing
     * around each command would. */
    const net_log_hooks *hooks = &c->net->hooks;
    /* Only input that has arrived takes a place in a read round: a client
     * resumed with nothing to run (a relayed reply) would otherwise take
     * one now, answered before its next command is even sent, and that
     * command could then miss a write acknowledged meanwhile. */
    if (hooks->admit && dstr_len(c->qbuf) && !admitted(c)) return;
    uint64_t log_before = hooks->appended ? hooks->appended(hooks->priv) : 0;
    int observed = 0;
    batch_clock clk = {0, 0, 0};
    while (!(c->flags & (CLIENT_CLOSING | CLIENT_CLOSE_AFTER | CLIENT_BLOCKED | CLIENT_CLOSE_ASAP |
                         CLIENT_AUTH_WAIT))) {
        /* A command held by CLIENT PAUSE is parsed already: its bytes
         * stay in the buffer (consumed is left at its start) until it runs. */
        size_t start = p->consumed;
        int held = c->flags & CLIENT_PAUSED;
        int r = held ? RESP_COMMAND : resp_parse(p, c->qbuf, dstr_len(c->qbuf));
        if (r == RESP_AGAIN) break;
        if (r == RESP_COMMAND && held_by_pause(c)) {
            c->flags |= CLIENT_PAUSED;
            p->consumed = start;
            break;
        }
        if (held) {
            c->flags &= ~CLIENT_PAUSED;
            p->consumed = p->pos;
        }
        if (r == RESP_ERROR) {
            char msg[128];
            snprintf(msg, sizeof(msg), "ERR %s", p->err);
            reply_error(&c->out, msg);
            c->net->log(c->net->log_priv, LL_VERBOSE,
                        "Protocol error (%s) from client: id=%llu addr=%s", p->err,
                        (unsigned long long)c->sess.id, c->addr);
            c->flags |= CLIENT_CLOSE_AFTER;
            break;
        }
        uint32_t failures = c->sess.auth_failures;
        client_run(c, &clk);
        p->argc = 0;
        if (c->sess.auth_failures > failures) auth_failed(c);
        if (c->sess.flags & SESS_CLOSE_ASAP) check_output_limit(c);
        if (c->net->evict_limit && mem_grew(c)) mem_check(c);
        /* Admin commands (RAFT, CONFIG, ...) read nothing a replicated
         * node must confirm before answering. */
        if (hooks->observed && !(c->sess.last_cmd && (c->sess.last_cmd->flags & CMD_ADMIN)))
            observed = 1;
    }
    /* Replies to a client that does not read pile up here: once a batch,
     * see whether they passed its limit. */
    check_output_limit(c);
    if (observed) {
        c->wait_off = hooks->observed(hooks->priv);
    } else if (hooks->appended) {
        uint64_t log_after = hooks->appended(hooks->priv);
        if (log_after != log_before) c->wait_off = log_after;
    }
    /* Drop the commands already run.  A partial command stays where it
     * is, so a large argument arriving over many reads is moved at most
     * once (after the read that completed the previous command). */
    if (p->consumed > 0) {
        size_t left = dstr_len(c->qbuf) - p->consumed;
        memmove(c->qbuf, c->qbuf + p->consumed, left);
        dstr_set_len(c->qbuf, left);
        resp_parser_shift(p, p->consumed);
    }
    /* Give back the room a big argument needed once it has been used, or
     * a client that sent one large value would hold its size forever. */
    if (dstr_len(c->qbuf) == 0 && dstr_cap(c->qbuf) > QBUF_KEEP) {
        dstr_free(c->qbuf);
        c->qbuf = dstr_with_cap(READ_CHUNK);
    }
    /* The same for the argument vectors a command of many arguments grew
     * (100,000 arguments hold 3 MB), once no command is held in them. */
    if (c->argv_cap > ARGV_KEEP) shrink_argv(c);
    if (c->net->evict_limit) mem_check(c);
    if (c->out.bytes || (c->flags & (CLIENT_CLOSE_AFTER | CLIENT_CLOSE_ASAP))) queue_write(c);
}

/* Make room in the query buffer for the next read: READ_CHUNK, or all a
 * large argument still needs, so it arrives in as few reads as possible.
 * But the buffer grows only as bytes arrive: a client that declares a
 * huge length and sends nothing makes the server reserve nothing, and
 * what any client makes it reserve is bounded by what it sent (at most
 * 2 * QBUF_GROWTH times).  It grows once nearly full, at least doubling;
 * for a large argument, through sizes that are the whole argument divided
 * by powers of QBUF_GROWTH, so the copies (and page faults of fresh
 * memory) of that growth add up to about 1/(QBUF_GROWTH-1) of it. */
static void make_read_room(client *c, size_t len)
{
    if (dstr_cap(c->qbuf) - len >= READ_CHUNK) return;
    size_t need = resp_parser_bulk_need(&c->parser, len);
    /* A buffer given back while idle (net_clients_cron) starts over. */
    size_t floor = !dstr_cap(c->qbuf) ? READ_CHUNK : len < READ_CHUNK ? 2 * READ_CHUNK : 2 * len;
    size_t cap = floor;
    if (need > READ_CHUNK) {
        cap = len + need;
        while (cap / QBUF_GROWTH >= floor)
            cap /= QBUF_GROWTH;
    }
    /* A buffer past client-query-buffer-limit (at most half of this) is
     * cut off before it can grow further. */
    if (cap > DSTR_MAX_LEN) cap = DSTR_MAX_LEN;
    if (cap > dstr_cap(c->qbuf)) c->qbuf = dstr_reserve_exact(c->qbuf, cap - len);
}

/* nread bytes arrived at the end of the query buffer: count them, judge
 * the buffer and run what it holds. */
static void input_arrived(client *c, size_t len, ssize_t nread)
{
    dstr_set_len(c->qbuf, len + (size_t)nread);
    c->net->stats.net_input_bytes += nread;
    c->tot_net_in += (uint64_t)nread;
    c->last_ms = clock_mono_ms();
    /* As Redis, judge the buffer before running what it holds: a command
     * larger than the limit never runs (nor reaches the log). */
    if ((long long)dstr_len(c->qbuf) > c->net->engine->cfg.client_query_buffer_limit) {
        c->net->log(c->net->log_priv, LL_WARNING,
                    "Closing client that reached max query buffer length: id=%llu addr=%s",
                    (unsigned long long)c->sess.id, c->addr);
        client_close(c);
        return;
    }
    /* A growing query buffer counts towards maxmemory-clients at once. */
    if (c->net->evict_limit) {
        mem_check(c);
        if (c->flags & CLIENT_CLOSING) return;
    }
    process_input(c);
}

static void log_closed(client *c)
{
    c->net->log(c->net->log_priv, LL_VERBOSE, "Client closed connection id=%llu addr=%s",
                (unsigned long long)c->sess.id, c->addr);
}

/* One recv() per readable event, as Redis, into the free end of the query
 * buffer.  Level-triggered polling brings us back if more is waiting. */
static void read_input(client *c)
{
    size_t len = dstr_len(c->qbuf);
    make_read_room(c, len);
    ssize_t nread = recv(c->fd, c->qbuf + len, dstr_cap(c->qbuf) - len, 0);
    if (nread < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (nread <= 0) {
        if (nread < 0)
            c->net->log(c->net->log_priv, LL_VERBOSE, "Reading from client: %s", strerror(errno));
        else
            log_closed(c);
        client_close(c);
        return;
    }
    input_arrived(c, len, nread);
}

static void tls_update_poll(client *c);

/* A TLS connection failed, in the handshake (a plain-text client, an
 * untrusted certificate) or later: log why and close it. */
static void tls_failed(client *c)
{
    c->net->log(c->net->log_priv, LL_VERBOSE, "Error on TLS connection: %s (addr=%s laddr=%s)",
                tls_conn_error(c->tls), c->addr, c->laddr);
    client_close(c);
}

/* The TLS side of read_input: decrypt a record.  Bytes OpenSSL has taken
 * from the socket but not handed out would not wake the poll, so they are
 * read now too, as far as the query buffer limit allows; what is still in
 * the socket waits for the poll, as with plain connections (reading on
 * until OpenSSL wants more would cost a failed read() per event). */
static void read_input_tls(client *c)
{
    size_t len = dstr_len(c->qbuf), got = 0;
    ssize_t r = 1;
    c->tls_flags &= ~TLS_READ_WANTS_WRITE;
    make_read_room(c, len);
    while ((long long)(len + got) <= c->net->engine->cfg.client_query_buffer_limit) {
        if (dstr_cap(c->qbuf) == len + got) make_read_room(c, len + got);
        r = tls_conn_read(c->tls, c->qbuf + len + got, dstr_cap(c->qbuf) - len - got);
        if (r <= 0) break;
        got += (size_t)r;
        dstr_set_len(c->qbuf, len + got);         /* make_read_room grows from here */
        if (!tls_conn_has_pending(c->tls)) break; /* the rest waits in the socket */
    }
    if (r == TLS_CLOSED) {
        log_closed(c);
        client_close(c);
        return;
    }
    if (r == TLS_ERROR) {
        tls_failed(c);
        return;
    }
    if (r == TLS_WANT_WRITE) c->tls_flags |= TLS_READ_WANTS_WRITE;
    tls_update_poll(c);
    if (got) input_arrived(c, len, (ssize_t)got);
}

/* Describe up to WRITE_IOVS blocks of the reply chain as buffers. */
static int fill_iovs(client *c, struct iovec *iov, size_t *total)
{
    int n = 0;
    *total = 0;
    for (rbuf_block *b = c->out.head; b && n < WRITE_IOVS; b = b->next) {
        size_t skip = b == c->out.head ? c->out.head_off : 0;
        if (b->used <= skip) continue;
        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->used - skip;
        *total += b->used - skip;
        n++;
    }
    return n;
}

/* Does c's output depend on log entries that are not durable yet? */
static int must_wait(const client *c)
{
    const net_log_hooks *hooks = &c->net->hooks;
    return hooks->durable && c->wait_off > hooks->durable(hooks->priv);
}

static void on_client_io(uv_poll_t *h, int status, int events);
static void on_tls_io(uv_poll_t *h, int status, int events);

/* Watch the socket for writability too, or stop (uv_poll_start replaces
 * the events watched). */
static void watch_writable(client *c, int on)
{
    if (!on == !(c->flags & CLIENT_WRITE_WAIT)) return;
    c->flags ^= CLIENT_WRITE_WAIT;
    if (c->tls)
        tls_update_poll(c);
    else
        uv_poll_start(&c->poll, on ? UV_READABLE | UV_WRITABLE : UV_READABLE, on_client_io);
}

/* A TLS connection is watched for writability while its output waits for
 * the socket to drain (unless OpenSSL said its write needs to read first)
 * or its read needs to write (a handshake message the socket did not
 * take). */
static void tls_update_poll(client *c)
{
    if (c->flags & CLIENT_CLOSING) return;
    int out_wait = (c->flags & CLIENT_WRITE_WAIT) && !(c->tls_flags & TLS_WRITE_WANTS_READ);
    int ev = UV_READABLE;
    if (out_wait || (c->tls_flags & TLS_READ_WANTS_WRITE)) ev |= UV_WRITABLE;
    if (ev == c->tls_events) return;
    c->tls_events = ev;
    uv_poll_start(&c->poll, ev, on_tls_io);
}

/* Send as much of c's output as the socket takes now: send() for the
 * usual single block, sendmsg() for a chain (neither goes through the VFS
 * layer, as write() and writev() do).  Returns 1 once everything is
 * written, 0 if the socket is full, -1 if the client was closed. */
static int send_output_tls(client *c);

static void note_peak(client *c)
{
    if (c->out.head && c->out.head->used > c->rb_peak) c->rb_peak = c->out.head->used;
}

static int send_output(client *c)
{
    note_peak(c);
    if (c->tls) return send_output_tls(c);
    while (c->out.bytes) {
        struct iovec iov[WRITE_IOVS];
        size_t total;
        int n = fill_iovs(c, iov, &total);
        ssize_t w;
        if (n == 1) {
            w = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
        } else {
            struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (w < 0) {
            client_close(c);
            return -1;
        }
        rbuf_consume(&c->out, (size_t)w);
        c->net->stats.net_output_bytes += w;
        c->tot_net_out += (uint64_t)w;
        if ((size_t)w < total) return 0;
    }
    return 1;
}

/* The TLS side of send_output: one SSL_write per block (a record or
 * more each); after a short one, the rest waits for the socket. */
static int send_output_tls(client *c)
{
    c->tls_flags &= ~TLS_WRITE_WANTS_READ;
    while (c->out.bytes) {
        rbuf_block *b = c->out.head;
        size_t off = c->out.head_off;
        if (b->used <= off) {
            rbuf_consume(&c->out, 0);
            continue;
        }
        ssize_t w = tls_conn_write(c->tls, b->data + off, b->used - off);
        if (w == TLS_WANT_READ || w == TLS_WANT_WRITE) {
            if (w == TLS_WANT_READ) c->tls_flags |= TLS_WRITE_WANTS_READ;
            return 0;
        }
        if (w <= 0) {
            tls_failed(c);
            return -1;
        }
        rbuf_consume(&c->out, (size_t)w);
        c->net->stats.net_output_bytes += w;
        c->tot_net_out += (uint64_t)w;
    }
    return 1;
}

/* ---- draining (net_drain()) ---- */

/* A connection of the group's own (Raft messages): it stays while the
 * node drains. */
static int node_link(const client *c) { return c->sess.flags & SESS_REPL_PEER; }

/* The node drains and nothing of c's is under way but the replies in its
 * output: no input, no command held, parked or forwarded, no reply
 * waiting for a commit. */
static int answered(const client *c)
{
    return c->net->draining && !node_link(c) &&
           !(c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED | CLIENT_RESUME | CLIENT_AUTH_WAIT)) &&
           !c->ticket && !dstr_len(c->qbuf) && !must_wait(c);
}

/* c's last reply is written: it goes. */
static int drained(const client *c) { return answered(c) && !c->out.bytes; }

/* c's last replies are about to be written: corked, they and the FIN of
 * the close that follows leave in one segment, so the client never reads
 * its reply without finding the connection closed, and never sends its
 * next command into a socket about to close (redis-py checks a pooled
 * connection before each command and reconnects).  Not possible on a unix
 * socket: there the close merely follows the reply. */
static void cork_last_reply(client *c)
{
    if (!c->out.bytes || !answered(c) || (c->flags & CLIENT_UNIX)) return;
    int on = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) != 0)
        c->net->log(c->net->log_priv, LL_VERBOSE, "TCP_CORK: %s", strerror(errno));
}

/* Write what the socket takes; watch for writability while the rest
 * waits.  While it waits, new replies just queue up behind. */
static void flush_client(client *c)
{
    if (c->flags & (CLIENT_WRITE_WAIT | CLIENT_CLOSING)) return;
    if (c->net->draining) cork_last_reply(c);
    uint64_t before = c->tot_net_out;
    int r = send_output(c);
    if (r == 0) watch_writable(c, 1);
    /* Drained, a client goes with a reply written now; not on a flush
     * that wrote nothing (its next command may be in the socket already:
     * the drain timer reads it first). */
    if (r == 1 && ((c->flags & CLIENT_CLOSE_AFTER) || (c->tot_net_out != before && drained(c))))
        client_close(c);
    if (c->net->evict_limit && rbuf_mem(&c->out) != c->mem_out) mem_recount(c);
}

/* The socket drained.  Replies added since it filled may depend on log
 * entries not yet committed: those wait for the next commit in
 * on_flush(). */
static void client_writable(client *c)
{
    if (must_wait(c)) {
        watch_writable(c, 0);
        queue_write(c);
        return;
    }
    if (c->net->draining) cork_last_reply(c);
    int r = send_output(c);
    if (c->net->evict_limit && rbuf_mem(&c->out) != c->mem_out) mem_recount(c);
    if (r != 1) return;
    watch_writable(c, 0);
    if ((c->flags & CLIENT_CLOSE_AFTER) || drained(c)) client_close(c);
}

static void on_client_io(uv_poll_t *h, int status, int events)
{
    client *c = h->data;
    if (c->flags & CLIENT_CLOSE_ASAP) return; /* closed at the next flush */
    if (status < 0) {
        client_close(c);
        return;
    }
    if (events & UV_WRITABLE) client_writable(c);
    if (c->flags & CLIENT_CLOSING) return;
    /* A hang-up alone (no UV_READABLE) also ends in recv(): it reports
     * the end or the error. */
    if ((events & UV_READABLE) || !(events & UV_WRITABLE)) read_input(c);
}

/* TLS connections: a read may wait for writability and a write for
 * readability, so either event retries both (each stops at once if it
 * has nothing to do). */
static void on_tls_io(uv_poll_t *h, int status, int events)
{
    (void)events;
    client *c = h->data;
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    if (status < 0) {
        client_close(c);
        return;
    }
    if (c->flags & CLIENT_WRITE_WAIT) client_writable(c);
    if (c->flags & CLIENT_CLOSING) return;
    read_input_tls(c);
}

void net_client_unblocked(cairn_session *s)
{
    client *c = s->host_client;
    const net_log_hooks *hooks = &c->net->hooks;
    /* Its reply was produced by a write (the pop it was served with) that
     * was logged just before: it waits for that entry like any write. */
    if (hooks->appended) c->wait_off = hooks->appended(hooks->priv);
    c->flags &= ~CLIENT_BLOCKED;
    c->flags |= CLIENT_RESUME;
    /* engine_disconnect_blocked: the error, then nothing more */
    if (s->flags & SESS_CLOSE_AFTER_REPLY) c->flags |= CLIENT_CLOSE_AFTER;
    c->last_ms = clock_mono_ms(); /* its wait ended: not idle since */
    queue_write(c);
}

static void on_block_timeout(uv_timer_t *h)
{
    net *n = h->data;
    /* Deadlines are command time: the engine set them from now_ms. */
    engine_block_timeouts(n->engine, net_command_time_us(n) / 1000);
}

/* Wake the loop when the earliest parked session times out. */
static void arm_block_timer(net *n)
{
    int64_t deadline = engine_next_block_timeout(n->engine);
    if (!deadline) {
        uv_timer_stop(&n->block_timer);
        return;
    }
    int64_t wait = deadline - net_command_time_us(n) / 1000;
    uv_timer_start(&n->block_timer, on_block_timeout, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* Clients unblocked since the last iteration run the input they had
 * pipelined after the blocking command.  That may unblock others in turn,
 * so go on until none is left to resume. */
static void run_resumed(net *n)
{
    int again = 1;
    while (again) {
        again = 0;
        for (client *c = n->queue; c; c = c->queue_next) {
            if (!(c->flags & CLIENT_RESUME)) continue;
            c->flags &= ~CLIENT_RESUME;
            process_input(c); /* may change the queue: start over */
            again = 1;
            break;
        }
    }
}

void net_resume_admitted(net *n)
{
    const net_log_hooks *hooks = &n->hooks;
    for (client *c = n->clients; c; c = c->next) {
        if (!c->ticket || (c->flags & (CLIENT_CLOSING | CLIENT_BLOCKED))) continue;
        uint64_t t = c->ticket;
        if (!hooks->admit(hooks->priv, &t)) continue;
        c->flags |= CLIENT_RESUME;
        queue_write(c);
    }
}

void net_close_waiting(net *n)
{
    client *next;
    for (client *c = n->clients; c; c = next) {
        next = c->next;
        if (!(c->flags & CLIENT_CLOSING) && must_wait(c)) client_close(c);
    }
}

static int has_resumed(const net *n)
{
    for (const client *c = n->queue; c; c = c->queue_next)
        if (c->flags & CLIENT_RESUME) return 1;
    return 0;
}

/* Once per loop iteration, before polling: resume unblocked clients, make
 * the log durable (group commit: one write and one fsync for everything
 * every client logged), then write every client's output -- so no reply
 * ever leaves before its log entry is durable.  A client whose entries
 * could not be made durable (a failing disk) keeps its output queued. */
static void on_flush(uv_prepare_t *h) { net_flush(h->data); }

void net_flush(net *n)
{
    run_resumed(n);
    if (n->hooks.commit) n->hooks.commit(n->hooks.priv);
    /* A replicated node may have let waiting clients in (admit) while it
     * committed: run them now rather than after the next wake-up. */
    if (n->hooks.admit && has_resumed(n)) {
        run_resumed(n);
        n->hooks.commit(n->hooks.priv);
    }
    /* What this iteration's commands changed under BCAST prefixes goes
     * out with their replies. */
    tracking_broadcast(n->engine);
    /* Messages pushed outside commands (timers, broadcasts) and limit
     * changes are evicted for here. */
    if (n->evict_limit && n->clients_mem >= n->evict_limit) evict_clients(n);
    client *held = NULL;
    while (n->queue) {
        client *c = n->queue;
        n->queue = c->queue_next;
        if (must_wait(c)) {
            c->queue_next = held;
            held = c;
            continue;
        }
        c->flags &= ~CLIENT_QUEUED;
        if (c->flags & CLIENT_CLOSE_ASAP)
            client_close(c);
        else
            flush_client(c);
    }
    n->queue = held;
    if (n->engine->blocked_count)
        arm_block_timer(n);
    else if (uv_is_active((uv_handle_t *)&n->block_timer))
        uv_timer_stop(&n->block_timer);
}

/* Format a socket address as "ip:port" into buf. */
static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port;
    if (ss->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)ss, ip, sizeof(ip));
        port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    } else {
        uv_ip4_name((const struct sockaddr_in *)ss, ip, sizeof(ip));
        port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    snprintf(buf, size, "%s:%d", ip, port);
}

/* Is the peer on this machine (a loopback address, IPv4-mapped or not)?
 * enable-debug-command local and protected mode ask. */
static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family != AF_INET6) return 0;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Is c's peer a node of this node's group?  c->addr is "ip:port"; an
 * IPv4 address reached through an IPv6 socket reads as ::ffff:a.b.c.d. */
static int from_group_node(const client *c)
{
    const net_log_hooks *h = &c->net->hooks;
    if (!h->group_node || (c->flags & CLIENT_UNIX)) return 0;
    char ip[INET6_ADDRSTRLEN];
    const char *colon = strrchr(c->addr, ':');
    size_t len = colon ? (size_t)(colon - c->addr) : 0;
    if (len == 0 || len >= sizeof(ip)) return 0;
    memcpy(ip, c->addr, len);
    ip[len] = '\0';
    const char *v4 = strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip;
    return h->group_node(h->priv, v4);
}

static void describe_addr(client *c)
{
    if (c->flags & CLIENT_UNIX) c->sess.flags |= SESS_LOCAL;
    if (c->flags & CLIENT_UNIX) {
        /* As Redis names them: the socket's path, port 0. */
        snprintf(c->addr, sizeof(c->addr), "%s:0", c->net->unix_path);
        snprintf(c->laddr, sizeof(c->laddr), "%s:0", c->net->unix_path);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
        format_addr(&ss, c->addr, sizeof(c->addr));
        if (is_loopback(&ss)) c->sess.flags |= SESS_LOCAL;
    }
    len = sizeof(ss);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, c->laddr, sizeof(c->laddr));
}

static client *client_new(net *n, int fd, int kind)
{
    client *c = cm_calloc(1, sizeof(*c));
    c->net = n;
    c->fd = fd;
    c->flags = kind == NET_LISTEN_UNIX ? CLIENT_UNIX : 0;
    session_init(n->engine, &c->sess);
    c->sess.host_client = c;
    c->sess.out = &c->out;
    c->sess.flags |= SESS_CAN_BLOCK | (kind == NET_LISTEN_UNIX ? SESS_UNIX : 0);
    c->sess.addr = c->addr;
    c->qbuf = dstr_with_cap(READ_CHUNK);
    resp_parser_init(&c->parser, n->engine->cfg.proto_max_bulk_len);
    c->parser.unauthed = client_unauthed;
    c->parser.unauthed_priv = c;
    rbuf_init(&c->out, 2);
    c->ctime_ms = c->last_ms = c->rb_peak_ms = clock_mono_ms();
    c->poll.data = c;
    c->mem_bucket = -1;
    return c;
}

#define PROTECTED_MODE_ERROR                                                                       \
    "DENIED Redis is running in protected mode because protected mode is enabled and no password " \
    "is set for the default user. In this mode connections are only accepted from the loopback "   \
    "interface. If you want to connect from external computers to Redis you may adopt one of the " \
    "following solutions: 1) Just disable protected mode sending the command 'CONFIG SET "         \
    "protected-mode no' from the loopback interface by connecting to Redis from the same host "    \
    "the "                                                                                         \
    "server is running, however MAKE SURE Redis is not publicly accessible from internet if you "  \
    "do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just "      \
    "disable the protected mode by editing the Redis configuration file, and setting the "         \
    "protected mode option to 'no', and then restarting the server. 3) If you started the server " \
    "manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "  \
    "authentication password for the default user. NOTE: You only need to do one of the above "    \
    "things in order for the server to start accepting connections from the outside."

/* As Redis's anetKeepAlive: probes after `idle` seconds of silence, then
 * every idle/3 seconds, and give up after three unanswered. */
static void set_keepalive(int fd, int idle)
{
    int on = 1, intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void client_accepted(net *n, int fd, int kind)
{
    client *c = client_new(n, fd, kind);
    int rc = uv_poll_init(n->loop, &c->poll, fd);
    if (rc != 0) {
        n->log(n->log_priv, LL_WARNING, "Accepting client connection: %s", uv_strerror(rc));
        close(fd);
        client_free(c);
        return;
    }
    if (kind == NET_LISTEN_TLS &&
        !(c->tls = tls_conn_new(n->tls_ctx, fd, n->cfg->tls.auth_clients))) {
        n->log(n->log_priv, LL_WARNING, "Accepting client connection: OpenSSL could not set it up");
        uv_close((uv_handle_t *)&c->poll, on_close);
        close(fd);
        return;
    }
    if (kind != NET_LISTEN_UNIX) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        if (n->cfg->tcp_keepalive > 0) set_keepalive(fd, n->cfg->tcp_keepalive);
    }
    describe_addr(c);
    c->next = n->clients;
    if (n->clients) n->clients->prev = c;
    n->clients = c;
    n->nclients++;
    n->stats.total_connections++;
    if (n->evict_limit) mem_recount(c);
    /* A TLS connection is polled from the start, even to be refused:
     * the refusal can only be read once the handshake is made. */
    if (c->tls) tls_update_poll(c);
    if (n->nclients > n->cfg->maxclients) {
        n->stats.rejected_connections++;
        reply_error(&c->out, "ERR max number of clients reached");
        c->flags |= CLIENT_CLOSE_AFTER;
        queue_write(c);
        return;
    }
    /* Protected mode (Redis 7.0): while the default user needs no
     * password, only connections from this machine (or, in a group, from
     * its other nodes) are served. */
    if (n->engine->cfg.protected_mode && !(c->sess.flags & SESS_LOCAL) &&
        !acl_default_user_protected(n->engine) && !from_group_node(c)) {
        n->stats.rejected_connections++;
        reply_error(&c->out, PROTECTED_MODE_ERROR);
        c->flags |= CLIENT_CLOSE_AFTER;
        queue_write(c);
        return;
    }
    n->log(n->log_priv, LL_VERBOSE, "Accepted %s", c->addr);
    if (!c->tls) uv_poll_start(&c->poll, UV_READABLE, on_client_io);
}

/* Out of descriptors: accept and drop what is waiting, with the spare
 * descriptor given up for the purpose (as libuv does), rather than have
 * the level-triggered listener spin on a backlog it cannot take. */
static void shed_connections(net *n, int lfd)
{
    if (n->spare_fd < 0) return;
    close(n->spare_fd);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) break;
        close(fd);
    }
    n->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    (void)events;
    net_listener *l = h->data;
    net *n = l->net;
    if (status < 0) {
        n->log(n->log_priv, LL_WARNING, "Accepting client connection: %s", uv_strerror(status));
        return;
    }
    for (int i = 0; i < MAX_ACCEPTS; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            client_accepted(n, fd, l->kind);
            continue;
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        n->log(n->log_priv, LL_WARNING, "Accepting client connection: %s", strerror(err));
        if (err == EMFILE || err == ENFILE) shed_connections(n, l->fd);
        return;
    }
}

int net_init(net *n, uv_loop_t *loop, cairn_engine *e, const net_config *cfg, net_log_fn log,
             void *log_priv)
{
    memset(n, 0, sizeof(*n));
    n->cfg = cfg;
    n->loop = loop;
    n->engine = e;
    n->log = log;
    n->log_priv = log_priv;
    n->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = uv_prepare_init(loop, &n->flush);
    if (rc == 0) rc = uv_timer_init(loop, &n->block_timer);
    if (rc == 0) rc = uv_timer_init(loop, &n->pause_timer);
    if (rc == 0) rc = uv_timer_init(loop, &n->auth_timer);
    if (rc == 0) rc = uv_timer_init(loop, &n->drain_timer);
    if (rc) return rc;
    n->drain_timer.data = n;
    n->flush.data = n;
    n->block_timer.data = n;
    n->pause_timer.data = n;
    n->auth_timer.data = n;
    rbuf_init(&n->muted, 2);
    return uv_prepare_start(&n->flush, on_flush);
}

static void free_listener(uv_handle_t *h) { cm_free(h->data); }

/* Listen on fd (bound already) and poll it for connections.  Returns 0 or
 * a libuv error; fd is closed on error. */
static int add_listener(net *n, int fd, int kind, int backlog)
{
    if (listen(fd, backlog) != 0) {
        int rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    net_listener *l = cm_calloc(1, sizeof(*l));
    l->fd = fd;
    l->kind = kind;
    l->net = n;
    l->poll.data = l;
    int rc = uv_poll_init(n->loop, &l->poll, fd);
    if (rc != 0) {
        close(fd);
        cm_free(l);
        return rc;
    }
    uv_poll_start(&l->poll, UV_READABLE, on_accept);
    n->listeners = cm_realloc(n->listeners, sizeof(*n->listeners) * (size_t)(n->nlisteners + 1));
    n->listeners[n->nlisteners++] = l;
    return 0;
}

static int listen_tcp(net *n, const char *addr, int port, int kind, int backlog)
{
    struct sockaddr_storage ss;
    int v6 = strchr(addr, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
    if (rc) return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return uv_translate_sys_error(errno);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    return add_listener(n, fd, kind, backlog);
}

static int listen_unix(net *n, const char *path, int perm)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) return UV_ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return uv_translate_sys_error(errno);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        (perm && chmod(path, (mode_t)perm) != 0)) {
        int rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    return add_listener(n, fd, NET_LISTEN_UNIX, 511);
}

/* Listen on every address of `bind` at port. */
static int listen_addrs(net *n, const char *bind, int port, int kind)
{
    int backlog = n->cfg->tcp_backlog;
    char addrs[1024];
    snprintf(addrs, sizeof(addrs), "%s", bind);
    char *save = NULL;
    for (char *a = strtok_r(addrs, " ", &save); a && port; a = strtok_r(NULL, " ", &save)) {
        /* A leading '-' marks an optional address (Redis's "-::1"). */
        int optional = a[0] == '-';
        if (optional) a++;
        int rc = listen_tcp(n, a, port, kind, backlog);
        if (rc && optional) {
            n->log(n->log_priv, LL_WARNING, "Could not listen on %s:%d (optional): %s", a, port,
                   uv_strerror(rc));
            continue;
        }
        if (rc) {
            n->log(n->log_priv, LL_WARNING,
                   "Could not create server TCP listening socket %s:%d: %s", a, port,
                   uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int net_listen(net *n, const char *bind, int port, const char *unixsocket, int unixperm)
{
    int rc = listen_addrs(n, bind, port, NET_LISTEN_TCP);
    if (rc) return rc;
    if (unixsocket && *unixsocket) {
        snprintf(n->unix_path, sizeof(n->unix_path), "%s", unixsocket);
        int rc = listen_unix(n, unixsocket, unixperm);
        if (rc) {
            n->log(n->log_priv, LL_WARNING, "Failed opening Unix socket %s: %s", unixsocket,
                   uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int net_listen_tls(net *n, const char *bind, int port)
{
    return listen_addrs(n, bind, port, NET_LISTEN_TLS);
}

void net_close_listeners(net *n, int kinds)
{
    /* Closed at once, as for clients: a new listener may want the port. */
    int kept = 0;
    for (int i = 0; i < n->nlisteners; i++) {
        net_listener *l = n->listeners[i];
        if (!(l->kind & kinds)) {
            n->listeners[kept++] = l;
            continue;
        }
        uv_close((uv_handle_t *)&l->poll, free_listener);
        close(l->fd);
    }
    n->nlisteners = kept;
    if (kept) return;
    cm_free(n->listeners);
    n->listeners = NULL;
}

static void tls_log(void *priv, int level, const char *fmt, ...)
{
    net *n = priv;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n->log(n->log_priv, level, "%s", msg);
}

int net_tls_configure(net *n)
{
    return tls_configure(&n->tls_ctx, &n->tls_client_ctx, &n->cfg->tls, tls_log, n);
}

void *net_node_tls(const net *n) { return n->cfg->tls.replication ? n->tls_client_ctx : NULL; }

static void on_drain_tick(uv_timer_t *h)
{
    net *n = h->data;
    int64_t now = clock_mono_ms();
    long left = 0;
    client *next;
    for (client *c = n->clients; c; c = next) {
        next = c->next;
        if ((c->flags & CLIENT_CLOSING) || node_link(c)) continue;
        /* a quiet client's next command may have arrived: it is read
         * first (and the client closed after its reply) */
        int unread = 0;
        if (ioctl(c->fd, FIONREAD, &unread) != 0) unread = 0;
        if (now >= n->drain_end_at || (now >= n->drain_grace_at && drained(c) && !unread))
            client_close(c);
        else
            left++;
    }
    if (left) return;
    uv_timer_stop(h);
    n->draining = 0;
    n->drained(n->drained_priv);
}

void net_drain(net *n, int grace_ms, int max_ms, void (*done)(void *priv), void *priv)
{
    net_close_listeners(n, NET_LISTEN_TCP | NET_LISTEN_UNIX | NET_LISTEN_TLS);
    int64_t now = clock_mono_ms();
    n->draining = 1;
    n->drain_grace_at = now + grace_ms;
    n->drain_end_at = now + max_ms;
    n->drained = done;
    n->drained_priv = priv;
    client *next;
    for (client *c = n->clients; c; c = next) {
        next = c->next;
        /* a BLPOP and the like (here, or forwarded to park on the leader)
         * would wait past any bound: closed, as Redis closes them */
        int fwd_block = (c->sess.flags & SESS_FORWARDED) && c->sess.last_cmd &&
                        (c->sess.last_cmd->flags & CMD_BLOCKING);
        if ((c->sess.blocked || fwd_block) && !(c->flags & CLIENT_CLOSING)) client_close(c);
    }
    uv_timer_start(&n->drain_timer, on_drain_tick, 10, 10);
}

void net_shutdown(net *n)
{
    net_close_listeners(n, NET_LISTEN_TCP | NET_LISTEN_UNIX | NET_LISTEN_TLS);
    if (n->hooks.commit) n->hooks.commit(n->hooks.priv);
    while (n->clients) {
        client *c = n->clients;
        if (!must_wait(c)) flush_client(c);
        client_close(c);
    }
    uv_close((uv_handle_t *)&n->flush, NULL);
    uv_close((uv_handle_t *)&n->block_timer, NULL);
    uv_close((uv_handle_t *)&n->auth_timer, NULL);
    uv_close((uv_handle_t *)&n->pause_timer, NULL);
    uv_close((uv_handle_t *)&n->drain_timer, NULL);
    tls_ctx_free(n->tls_ctx);
    n->tls_ctx = NULL;
    tls_ctx_free(n->tls_client_ctx);
    n->tls_client_ctx = NULL;
    if (n->spare_fd >= 0) close(n->spare_fd);
    n->spare_fd = -1;
    rbuf_free(&n->muted);
}

/* Clients that wait by request are never idle, as in Redis: one parked by
 * BLPOP and friends (it has its own timeout) or held by CLIENT PAUSE, a
 * subscriber and a monitor (they only listen). */
static int exempt_from_idle(const client *c)
{
    return (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED)) || (c->sess.flags & SESS_MONITOR) ||
           pubsub_session_subscribed(&c->sess);
}

void net_close_idle(net *n, int64_t now_ms, int timeout_s)
{
    if (timeout_s <= 0) return;
    client *c = n->clients;
    while (c) {
        client *next = c->next;
        if (!exempt_from_idle(c) && now_ms - c->last_ms > (int64_t)timeout_s * 1000) {
            n->log(n->log_priv, LL_VERBOSE, "Closing idle client");
            client_close(c);
        }
        c = next;
    }
}

/* An empty query buffer of a client idle for more than QBUF_IDLE_MS is
 * given back (Redis's clientsCronResizeQueryBuffer): many idle connections
 * hold no reading room.  A parsed command still waiting (CLIENT PAUSE)
 * keeps its bytes there. */
static void shrink_idle_qbuf(client *c, int64_t now_ms)
{
    if (!dstr_cap(c->qbuf) || dstr_len(c->qbuf) || now_ms - c->last_ms <= QBUF_IDLE_MS) return;
    if (c->flags & (CLIENT_CLOSING | CLIENT_PAUSED)) return;
    dstr_free(c->qbuf);
    c->qbuf = dstr_with_cap(0);
    if (c->net->evict_limit) mem_recount(c);
}

/* Redis's clientsCronResizeOutputBuffer: the first reply block follows
 * what the client's replies used (rbuf_resize_for), so an idle connection
 * keeps 1 KiB, not a standard block; the peak starts over every
 * reply_peak_reset_ms. */
static void resize_reply_block(client *c, int64_t now_ms)
{
    cairn_engine *e = c->net->engine;
    if (!e->reply_resizing || (c->flags & CLIENT_CLOSING)) return;
    int resized = rbuf_resize_for(&c->out, c->rb_peak);
    if (e->reply_peak_reset_ms >= 0 && now_ms - c->rb_peak_ms >= e->reply_peak_reset_ms) {
        c->rb_peak = c->out.head ? c->out.head->used : 0;
        c->rb_peak_ms = now_ms;
    }
    if (resized && c->net->evict_limit) mem_recount(c);
}

void net_clients_cron(net *n, int64_t now_ms, int hz)
{
    long left = n->nclients / (hz > 0 ? hz : 1);
    if (left < CLIENTS_CRON_MIN) left = CLIENTS_CRON_MIN;
    if (left > n->nclients) left = n->nclients;
    while (left-- > 0) {
        client *c = n->cron_next ? n->cron_next : n->clients;
        n->cron_next = c->next;
        shrink_idle_qbuf(c, now_ms);
        resize_reply_block(c, now_ms);
    }
}

client *net_find_client(net *n, uint64_t id)
{
    for (client *c = n->clients; c; c = c->next)
        if (c->sess.id == id) return c;
    return NULL;
}

void net_serve_busy(net *n)
{
    client *running = n->current;
    int64_t since = n->current_start_us;
    int in_busy = n->in_busy;
    n->in_busy = 1;
    for (int i = 0; i < n->nlisteners; i++)
        on_accept(&n->listeners[i]->poll, 0, UV_READABLE);
    for (client *c = n->clients, *next; c; c = next) {
        next = c->next; /* c may be closed (it stays allocated until the loop runs) */
        if (c == running || (c->flags & (CLIENT_CLOSING | CLIENT_BLOCKED))) continue;
        n->current = c;
        if (c->tls)
            read_input_tls(c);
        else
            read_input(c);
        n->current = running;
        n->current_start_us = since;
        if (!(c->flags & CLIENT_CLOSING) && c->out.bytes && !must_wait(c)) send_output(c);
    }
    n->current = running;
    n->in_busy = in_busy;
}

void net_info_clients(net *n, dstr *out)
{
    size_t max_in = 0, max_out = 0;
    /* A client whose command a CLIENT PAUSE holds counts as blocked, as in
     * Redis (and CLIENT LIST flags it b). */
    long paused = 0;
    for (client *c = n->clients; c; c = c->next) {
        if (dstr_len(c->qbuf) > max_in) max_in = dstr_len(c->qbuf);
        if (c->out.bytes > max_out) max_out = c->out.bytes;
        if (c->flags & CLIENT_PAUSED) paused++;
    }
    *out = dstr_catfmt(*out,
                       "connected_clients:%ld\r\n"
                       "cluster_connections:0\r\n"
                       "maxclients:%d\r\n"
                       "client_recent_max_input_buffer:%zu\r\n"
                       "client_recent_max_output_buffer:%zu\r\n"
                       "blocked_clients:%ld\r\n"
                       "tracking_clients:%ld\r\n"
                       "clients_in_timeout_table:%ld\r\n",
                       n->nclients, n->cfg->maxclients, max_in, max_out,
                       n->engine->blocked_count + paused, tracking_clients(n->engine),
                       engine_blocked_with_timeout(n->engine));
}
