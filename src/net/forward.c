/* forward.c -- forwarding a follower's writes to the leader; see forward.h. */
#include "forward.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/rand.h"
#include "../engine/config.h"
#include "../engine/multi.h"
#include "resolve.h"
#include "tls_link.h"

#define FWD_MAX_DEPTH 64
#define FWD_READ      16384
/* How long a write whose link broke is retried (against whichever node
 * leads) before its client gets fwd_lost; how often the forwarder looks
 * for a new leader meanwhile; how many idle sessions it keeps. */
#define FWD_RETRY_MS 10000
#define FWD_CHECK_MS 50
#define FWD_POOL_MAX 1024
/* Idle links for blocking commands kept open for the next ones. */
#define FWD_IDLE_MAX 64

static const char fwd_lost[] = "-CLUSTERDOWN The connection to the leader was lost while the "
                               "command was forwarded: it may or may not have been applied\r\n";
static const char fwd_unsent[] = "-CLUSTERDOWN No leader took the blocking command in time: it "
                                 "was not applied\r\n";

/* A session of the forwarder's own, used by one write at a time. */
typedef struct fwd_sess {
    struct fwd_sess *next; /* in the pool */
    uint64_t id, next_seq;
    int opened; /* the leader answered its CLIENT SESSION-OPEN */
} fwd_sess;

/* A forwarded write, until its client has the reply. */
typedef struct fwd_req {
    struct fwd_req *prev, *next;
    uint64_t client;
    uint64_t sid, seq;
    fwd_sess *own; /* NULL: the client's own session */
    int db, resp;
    int sends;
    long long local_reply; /* >= 0: replaces an integer reply */
    /* A transaction: the replies of its MULTI and queued commands come
     * before the one of its EXEC; part_refused: one said the node does
     * not lead (its EXECABORT may be sent again). */
    int parts, part_refused;
    uint64_t retry_until; /* 0 until its link first broke */
    struct fwd_conn *on;  /* the link it waits on; NULL: to be sent again */
    dstr cmd;
    /* A blocking command (on a link of its own, under no session): its
     * number among them, and the CLIENT UNBLOCK asked for it (1 TIMEOUT,
     * 2 ERROR; unblocking: one is on its way to the leader). */
    int block;
    uint64_t serial;
    int unblock, unblocking;
} fwd_req;

typedef struct fwd_list {
    fwd_req *first, *last;
} fwd_list;

typedef struct fwd_wait {
    fwd_req *req;        /* NULL: a reply to skip (SELECT, HELLO, AUTH, ...) */
    fwd_sess *open;      /* the reply of this session's CLIENT SESSION-OPEN */
    int part;            /* a reply within req's transaction, before its EXEC's */
    int client_id;       /* the reply of a blocking link's CLIENT ID */
    uint64_t unblock_of; /* the reply of a CLIENT UNBLOCK for this serial */
    int pinned;          /* the reply of the pinned client's command */
} fwd_wait;

typedef struct fwd_conn {
    forwarder *f;
    nstream s;
    uv_connect_t req;
    int up, closing;
    uint64_t target;
    char peer[72]; /* the target's host:port, for the log */
    dstr early;    /* written once connected */
    dstr in;       /* replies read, not yet complete */
    fwd_wait *fifo;
    size_t head, count, cap;
    int db, resp; /* what the leader's session is set to */
    int port;
    resolve_req *resolving; /* the lookup of the leader's host name */
    /* A link for one blocking command at a time: the one waiting on it,
     * its client id on the leader (-1 until known), whether a CLIENT
     * UNBLOCK was sent for it (then it is not used again: the unblock
     * could reach the leader late), the next idle link. */
    int block, unblocked;
    fwd_req *blocked;
    long long lid;
    struct fwd_conn *next_idle;
    /* A link pinned to one client from its WATCH until its EXEC, DISCARD
     * or UNWATCH (0: none), the kind (PIN_*) of its command in flight (-1:
     * none), the protocol it was sent in, the next pinned link. */
    uint64_t pin_client;
    int pin_kind, pin_resp;
    struct fwd_conn *next_pin;
} fwd_conn;

struct forwarder {
    uv_loop_t *loop;
    net *net;
    resolve_names *names; /* where the leader's name's addresses are noted */
    dstr auth;            /* NULL: none */
    fwd_leader_fn leader;
    void *leader_priv;
    fwd_waiters waiters; /* writes that are not the net's clients' */
    fwd_conn *conn;
    fwd_list reqs; /* every write not yet answered, oldest first */
    /* Blocking commands: those not yet answered, the idle links, the
     * links open (idle or not), the next serial, since when no node
     * leads (0: one does). */
    fwd_list blocks;
    fwd_conn *idle;
    int nidle, nlinks;
    int block_max; /* raft-follower-proxy-blocking-links when last read */
    uint64_t next_serial;
    uint64_t leaderless_since;
    fwd_conn *pinned; /* the links pinned to a client (from the same pool) */
    fwd_sess *pool;
    size_t pooled;
    crand rng;
    uv_timer_t timer;
    int timing;
    nstream_log_memo logged; /* the last TLS or name failure logged */
    int pick;                /* which address of the leader's name is tried next */
};

typedef struct fwd_write {
    uv_write_t req;
    dstr data;
} fwd_write;

/* ---- replies ---- */

static long line_end(const char *buf, size_t len, size_t from)
{
    const char *cr = from < len ? memchr(buf + from, '\r', len - from) : NULL;
    if (!cr || (size_t)(cr - buf) + 1 >= len) return 0;
    return cr[1] == '\n' ? (long)(cr - buf) : -1;
}

static long reply_at(const char *buf, size_t len, size_t off, int depth)
{
    if (off >= len) return 0;
    if (depth > FWD_MAX_DEPTH) return -1;
    long end = line_end(buf, len, off);
    if (end <= 0) return end;
    size_t next = (size_t)end + 2;
    long long n = 0;
    int neg = 0;
    char t = buf[off];
    if (strchr("$!=*~>%|", t)) {
        size_t i = off + 1;
        if (i < (size_t)end && buf[i] == '-') {
            neg = 1;
            i++;
        }
        if (i == (size_t)end) return -1;
        for (; i < (size_t)end; i++) {
            if (buf[i] < '0' || buf[i] > '9' || n > (1LL << 40)) return -1;
            n = n * 10 + (buf[i] - '0');
        }
    }
    switch (t) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(': return (long)next;
    case '$':
    case '!':
    case '=':
        if (neg) return (long)next;
        if (next + (size_t)n + 2 > len) return 0;
        return (long)(next + (size_t)n + 2);
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        if (neg) return (long)next;
        long long items = t == '%' ? 2 * n : t == '|' ? 2 * n + 1 : n;
        size_t at = next;
        for (long long k = 0; k < items; k++) {
            long r = reply_at(buf, len, at, depth + 1);
            if (r <= 0) return r;
            at = (size_t)r;
        }
        return (long)at;
    }
    default: return -1;
    }
}

long resp_reply_size(const char *buf, size_t len) { return reply_at(buf, len, 0, 0); }

/* ---- sessions and requests ---- */

static fwd_sess *sess_take(forwarder *f)
{
    fwd_sess *s = f->pool;
    if (s) {
        f->pool = s->next;
        f->pooled--;
        return s;
    }
    s = cm_calloc(1, sizeof(*s));
    do
        s->id = crand_next(&f->rng) >> 1; /* fits a RESP integer */
    while (s->id == 0);
    s->next_seq = 1;
    return s;
}

/* A session whose last write was answered goes back to the pool; one
 * whose outcome is unknown is forgotten (its next number could be taken
 * for a retry of it). */
static void sess_give(forwarder *f, fwd_sess *s, int known)
{
    if (!known || f->pooled >= FWD_POOL_MAX) {
        cm_free(s);
        return;
    }
    s->next = f->pool;
    f->pool = s;
    f->pooled++;
}

static fwd_list *req_list(forwarder *f, const fwd_req *r)
{
    return r->block ? &f->blocks : &f->reqs;
}

static void req_link(forwarder *f, fwd_req *r)
{
    fwd_list *l = req_list(f, r);
    r->prev = l->last;
    if (l->last)
        l->last->next = r;
    else
        l->first = r;
    l->last = r;
}

static void req_unlink(forwarder *f, fwd_req *r)
{
    fwd_list *l = req_list(f, r);
    if (r->prev)
        r->prev->next = r->next;
    else
        l->first = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->last = r->prev;
}

static void req_free(forwarder *f, fwd_req *r, int known)
{
    req_unlink(f, r);
    if (r->own) sess_give(f, r->own, known);
    dstr_free(r->cmd);
    cm_free(r);
}

/* Hand a reply to the client waiting for it, if it is still there. */
static void deliver(forwarder *f, uint64_t id, const char *reply, size_t len)
{
    if (f->waiters.deliver && f->waiters.deliver(f->waiters.priv, id, reply, len)) return;
    client *cl = net_find_client(f->net, id);
    if (!cl || (cl->flags & CLIENT_CLOSING) || !(cl->sess.flags & SESS_FORWARDED)) return;
    rbuf_append(&cl->out, reply, len);
    cl->sess.flags &= ~SESS_FORWARDED;
    net_client_unblocked(&cl->sess);
}

static int client_waits(forwarder *f, uint64_t id)
{
    int w = f->waiters.waits ? f->waiters.waits(f->waiters.priv, id) : -1;
    if (w >= 0) return w;
    client *cl = net_find_client(f->net, id);
    return cl && !(cl->flags & CLIENT_CLOSING) && (cl->sess.flags & SESS_FORWARDED);
}

/* An error that says the write did not run because the node it reached
 * does not lead (now): under a session it is safe to send it again. */
static int reply_retryable(const char *r, size_t len)
{
    static const char aborted[] = "-EXECABORT Transaction discarded because of: ";
    static const char *const codes[] = {"CLUSTERDOWN ", "READONLY ", "TRYAGAIN ", "LOADING "};
    if (!len || r[0] != '-') return 0;
    /* a transaction refused at EXEC for the same reasons (nothing ran) */
    size_t skip = len >= sizeof(aborted) - 1 && memcmp(r, aborted, sizeof(aborted) - 1) == 0
                      ? sizeof(aborted) - 1
                      : 1;
    r += skip;
    len -= skip;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        size_t n = strlen(codes[i]);
        if (len >= n && memcmp(r, codes[i], n) == 0) return 1;
    }
    return 0;
}

static int reply_execabort(const char *r, size_t len)
{
    return len >= 11 && memcmp(r, "-EXECABORT ", 11) == 0;
}

static int reply_nosession(const char *r, size_t len)
{
    return len >= 11 && memcmp(r, "-NOSESSION ", 11) == 0;
}

static void timer_want(forwarder *f);

/* The link r waited on is gone, or answered that it could not run r:
 * r waits to be sent again, for FWD_RETRY_MS at most. */
static void req_orphan(forwarder *f, fwd_req *r)
{
    r->on = NULL;
    if (!r->retry_until) r->retry_until = uv_now(f->loop) + FWD_RETRY_MS;
    timer_want(f);
}

static void block_answered(forwarder *f, fwd_req *r, const char *reply, size_t len);

/* The leader answered r: the reply goes to the client, unless it says r
 * can be sent again. */
static void req_answered(forwarder *f, fwd_req *r, const char *reply, size_t len)
{
    if (r->block) {
        block_answered(f, r, reply, len);
        return;
    }
    int refused = reply_retryable(reply, len) || (r->part_refused && reply_execabort(reply, len));
    if (refused && client_waits(f, r->client)) {
        req_orphan(f, r);
        return;
    }
    /* Our own session unknown to the leader (expired, or its opening lost
     * with a leader): a first attempt did not run, so a new session may
     * take it; a retry's first attempt may have run. */
    if (r->own && reply_nosession(reply, len)) {
        if (r->sends == 1 || !r->own->opened) {
            sess_give(f, r->own, 0);
            r->own = sess_take(f);
            r->seq = r->own->next_seq++;
            r->sid = r->own->id;
            r->sends = 0;
            req_orphan(f, r);
            return;
        }
        deliver(f, r->client, fwd_lost, sizeof(fwd_lost) - 1);
        req_free(f, r, 0);
        return;
    }
    char num[32];
    if (r->local_reply >= 0 && len && reply[0] == ':') {
        len = (size_t)snprintf(num, sizeof(num), ":%lld\r\n", r->local_reply);
        reply = num;
    }
    deliver(f, r->client, reply, len);
    req_free(f, r, 1);
}

/* ---- the connection ---- */

static void fifo_push(fwd_conn *c, fwd_wait w)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        fwd_wait *n = cm_malloc(cap * sizeof(*n));
        for (size_t i = 0; i < c->count; i++)
            n[i] = c->fifo[(c->head + i) % c->cap];
        cm_free(c->fifo);
        c->fifo = n;
        c->head = 0;
        c->cap = cap;
    }
    c->fifo[(c->head + c->count) % c->cap] = w;
    c->count++;
}

static fwd_wait fifo_pop(fwd_conn *c)
{
    fwd_wait w = c->fifo[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    return w;
}

static void on_conn_closed(uv_handle_t *h)
{
    fwd_conn *c = h->data;
    dstr_free(c->early);
    dstr_free(c->in);
    cm_free(c->fifo);
    cm_free(c);
}

static void block_dropped(forwarder *f, fwd_conn *c, fwd_req *r);
static void pin_lost(forwarder *f, fwd_conn *c, int waiting);
static void link_forget(forwarder *f, fwd_conn *c);
static void unblock_lost(forwarder *f, uint64_t serial);

/* Drop the connection: the writes in flight on it are sent again (a
 * blocking command only if it never left). */
static void conn_drop(fwd_conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    if (c->resolving) resolve_cancel(c->resolving);
    c->resolving = NULL;
    forwarder *f = c->f;
    if (f && f->conn == c) f->conn = NULL;
    int pin_waits = 0;
    while (c->count) {
        fwd_wait w = fifo_pop(c);
        pin_waits |= w.pinned;
        if (!f) continue;
        if (w.unblock_of) unblock_lost(f, w.unblock_of);
        if (w.req && !w.part && w.req->block)
            block_dropped(f, c, w.req);
        else if (w.req && !w.part)
            req_orphan(f, w.req);
    }
    if (f && c->pin_client) pin_lost(f, c, pin_waits);
    if (f && c->block) link_forget(f, c);
    nstream_close(&c->s, on_conn_closed);
}

/* A TLS failure on the connection to the leader, in the log (once per
 * reason and minute: writes are sent again meanwhile). */
static void log_tls_failure(fwd_conn *c, const char *when)
{
    if (!c->f || !nstream_is_tls(&c->s)) return;
    net *n = c->f->net;
    if (!nstream_log_due(&c->f->logged, nstream_error(&c->s), uv_now(c->f->loop))) return;
    n->log(n->log_priv, LL_WARNING, "Forwarding to the leader (node %llu at %s): TLS %s failed: %s",
           (unsigned long long)c->target, c->peer, when, nstream_error(&c->s));
}

static void on_written(uv_write_t *req, int status)
{
    fwd_write *w = (fwd_write *)req;
    fwd_conn *c = req->handle->data;
    dstr_free(w->data);
    cm_free(w);
    if (status < 0) conn_drop(c);
}

static void conn_write(fwd_conn *c, dstr data)
{
    fwd_write *w = cm_malloc(sizeof(*w));
    w->data = data;
    uv_buf_t b = uv_buf_init(data, (unsigned)dstr_len(data));
    if (nstream_write(&w->req, &c->s, &b, 1, on_written) != 0) {
        dstr_free(data);
        cm_free(w);
        conn_drop(c);
    }
}

/* Write data now, or once the connection is up. */
static void conn_send(fwd_conn *c, dstr data)
{
    if (c->up) {
        conn_write(c, data);
    } else {
        c->early = dstr_cat(c->early, data, dstr_len(data));
        dstr_free(data);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    fwd_conn *c = h->data;
    c->in = dstr_reserve(c->in, FWD_READ);
    *buf = uv_buf_init(c->in + dstr_len(c->in), FWD_READ);
}

static void link_identified(fwd_conn *c, const char *reply, size_t len);
static void unblock_answered(forwarder *f, uint64_t serial, const char *reply, size_t len);
static void pin_answered(forwarder *f, fwd_conn *c, const char *reply, size_t len);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    fwd_conn *c = s->data;
    if (nread < 0) {
        if (nread == NSTREAM_ETLS) log_tls_failure(c, "connection");
        conn_drop(c);
        return;
    }
    dstr_set_len(c->in, dstr_len(c->in) + (size_t)nread);
    size_t off = 0;
    while (c->count && off < dstr_len(c->in) && !c->closing) {
        long n = resp_reply_size(c->in + off, dstr_len(c->in) - off);
        if (n < 0) {
            conn_drop(c);
            return;
        }
        if (n == 0) break;
        fwd_wait w = fifo_pop(c);
        const char *reply = c->in + off;
        if (w.open && reply[0] == ':') w.open->opened = 1;
        if (w.client_id) link_identified(c, reply, (size_t)n);
        if (w.unblock_of && c->f) unblock_answered(c->f, w.unblock_of, reply, (size_t)n);
        if (w.part && reply_retryable(reply, (size_t)n)) w.req->part_refused = 1;
        if (w.req && !w.part && c->f) req_answered(c->f, w.req, reply, (size_t)n);
        if (w.pinned && c->f) pin_answered(c->f, c, reply, (size_t)n);
        off += (size_t)n;
    }
    if (off && !c->closing) {
        memmove(c->in, c->in + off, dstr_len(c->in) - off);
        dstr_set_len(c->in, dstr_len(c->in) - off);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    fwd_conn *c = req->data;
    if (c->closing) return;
    if (status < 0) {
        if (status == NSTREAM_ETLS) log_tls_failure(c, "handshake");
        if (c->f) c->f->pick++; /* another address of its name, if it has several */
        conn_drop(c);
        return;
    }
    c->up = 1;
    uv_tcp_nodelay(&c->s.tcp, 1);
    nstream_read_start(&c->s, on_alloc, on_read);
    if (dstr_len(c->early)) {
        conn_write(c, c->early);
        c->early = dstr_with_cap(256);
    }
}

static int conn_connect(fwd_conn *c, const struct sockaddr *addr)
{
    return nstream_connect(&c->s, &c->req, addr, net_node_tls(c->f->net), on_connect);
}

/* The leader's name resolved (writes wait in c->early meanwhile), or did
 * not: the writes are sent again, and the name looked up again, by the
 * retry timer; the failure is logged once per reason and minute. */
static void on_resolved(void *priv, int status, const resolved *r)
{
    fwd_conn *c = priv;
    forwarder *f = c->f;
    c->resolving = NULL;
    if (status == 0 && conn_connect(c, (const struct sockaddr *)&r->addr[f->pick % r->n]) == 0)
        return;
    if (status < 0 && nstream_log_due(&f->logged, uv_strerror(status), uv_now(f->loop)))
        f->net->log(f->net->log_priv, LL_WARNING,
                    "Forwarding to the leader (node %llu at %s): can't resolve its host name: %s "
                    "(retrying)",
                    (unsigned long long)c->target, c->peer, uv_strerror(status));
    conn_drop(c);
}

static fwd_conn *conn_open(forwarder *f, uint64_t target, const char *host, int port)
{
    fwd_conn *c = cm_calloc(1, sizeof(*c));
    c->f = f;
    c->target = target;
    c->db = 0;
    c->resp = 2;
    c->port = port;
    c->early = dstr_with_cap(256);
    c->in = dstr_with_cap(FWD_READ);
    snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
    if (nstream_init(f->loop, &c->s) != 0) {
        dstr_free(c->early);
        dstr_free(c->in);
        cm_free(c);
        return NULL;
    }
    c->s.tcp.data = c;
    c->req.data = c;
    resolved r;
    int rc = 0;
    if (resolve_numeric(host, port, &r))
        rc = conn_connect(c, (const struct sockaddr *)&r.addr[0]);
    else
        c->resolving = resolve_start(f->loop, f->names, host, port, on_resolved, c, &rc);
    if (rc != 0) {
        c->f = NULL;
        conn_drop(c);
        return NULL;
    }
    if (f->auth) { /* its reply is skipped like SELECT's */
        c->early = dstr_cat(c->early, f->auth, dstr_len(f->auth));
        fifo_push(c, (fwd_wait){0});
    }
    /* A link between nodes is never evicted by the leader's
     * maxmemory-clients (its reply is skipped too). */
    static const char no_evict[] = "*3\r\n$6\r\nCLIENT\r\n$8\r\nNO-EVICT\r\n$2\r\non\r\n";
    c->early = dstr_cat(c->early, no_evict, sizeof(no_evict) - 1);
    fifo_push(c, (fwd_wait){0});
    return c;
}

/* ---- forwarding ---- */

static dstr add_command(dstr out, int argc, const cslice *argv)
{
    out = dstr_catfmt(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        out = dstr_catfmt(out, "$%zu\r\n", argv[i].len);
        out = dstr_cat(out, argv[i].ptr, argv[i].len);
        out = dstr_cat(out, "\r\n", 2);
    }
    return out;
}

static dstr add_words(dstr out, fwd_conn *c, int n, const char *const *words, fwd_sess *open)
{
    cslice argv[4];
    for (int i = 0; i < n; i++)
        argv[i] = (cslice){words[i], strlen(words[i])};
    fifo_push(c, (fwd_wait){.open = open});
    return add_command(out, n, argv);
}

/* The connection to the node that leads now (this one included: a write
 * retried after this node was elected goes to itself), opened if need
 * be; NULL while no node leads. */
static fwd_conn *conn_to_leader(forwarder *f)
{
    uint64_t id;
    char host[64];
    int port;
    if (!f->leader(f->leader_priv, &id, host, sizeof(host), &port)) return NULL;
    if (f->conn && f->conn->target != id) conn_drop(f->conn);
    if (!f->conn) f->conn = conn_open(f, id, host, port);
    return f->conn;
}

/* The SELECT and HELLO that bring c's connection on the leader to the
 * client's db and protocol, where it is not there already. */
static dstr add_db_resp(dstr out, fwd_conn *c, int db, int resp)
{
    char a[24];
    if (c->db != db) {
        snprintf(a, sizeof(a), "%d", db);
        out = add_words(out, c, 2, (const char *const[]){"SELECT", a}, NULL);
        c->db = db;
    }
    if (c->resp != resp) {
        snprintf(a, sizeof(a), "%d", resp);
        out = add_words(out, c, 2, (const char *const[]){"HELLO", a}, NULL);
        c->resp = resp;
    }
    return out;
}

/* CLIENT SESSION: the exactly-once number the next command runs under. */
static dstr add_seq(dstr out, fwd_conn *c, uint64_t sid, uint64_t seq)
{
    char a[24], b[24];
    snprintf(a, sizeof(a), "%llu", (unsigned long long)sid);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)seq);
    return add_words(out, c, 4, (const char *const[]){"CLIENT", "SESSION", a, b}, NULL);
}

/* Send r on c: the session's number, then the write itself. */
static void req_send(fwd_conn *c, fwd_req *r)
{
    dstr out = add_db_resp(dstr_with_cap(64 + dstr_len(r->cmd)), c, r->db, r->resp);
    if (r->own && !r->own->opened) {
        char a[24];
        snprintf(a, sizeof(a), "%llu", (unsigned long long)r->sid);
        out = add_words(out, c, 3, (const char *const[]){"CLIENT", "SESSION-OPEN", a}, r->own);
    }
    /* a blocking command is never sent twice once it may have run: it
     * needs no session (nor could the leader take one for it) */
    if (!r->block) out = add_seq(out, c, r->sid, r->seq);
    /* a transaction's commands back to back in one write: nothing of
     * another client's comes between them on the leader's connection */
    out = dstr_cat(out, r->cmd, dstr_len(r->cmd));
    for (int i = 0; i < r->parts; i++)
        fifo_push(c, (fwd_wait){.req = r, .part = 1});
    fifo_push(c, (fwd_wait){.req = r});
    r->part_refused = 0;
    r->on = c;
    r->sends++;
    if (r->block) c->blocked = r;
    conn_send(c, out);
}

/* Give up on the writes that waited too long to be sent again (their
 * clients learn the outcome is unknown) or whose clients left, then send
 * the others to the node that leads now. */
static void retry(forwarder *f)
{
    uint64_t now = uv_now(f->loop);
    fwd_req *r = f->reqs.first;
    while (r) {
        fwd_req *next = r->next;
        if (!r->on && !client_waits(f, r->client)) {
            req_free(f, r, 0);
        } else if (!r->on && now >= r->retry_until) {
            deliver(f, r->client, fwd_lost, sizeof(fwd_lost) - 1);
            req_free(f, r, 0);
        }
        r = next;
    }
    if (!f->reqs.first) return;
    /* A leader elected while this link still looks fine (the old one
     * paused): its writes go to the new one. */
    fwd_conn *c = conn_to_leader(f);
    if (!c) return;
    for (r = f->reqs.first; r; r = r->next)
        if (!r->on) req_send(c, r);
}

static void block_tick(forwarder *f);
static void pin_tick(forwarder *f);

static void on_timer(uv_timer_t *t)
{
    forwarder *f = t->data;
    retry(f);
    block_tick(f);
    pin_tick(f);
    if (!f->reqs.first && !f->blocks.first && !f->pinned) {
        uv_timer_stop(&f->timer);
        f->timing = 0;
    }
}

static void timer_want(forwarder *f)
{
    if (f->timing) return;
    f->timing = uv_timer_start(&f->timer, on_timer, FWD_CHECK_MS, FWD_CHECK_MS) == 0;
}

forwarder *fwd_new(uv_loop_t *loop, net *n, resolve_names *names, const char *auth,
                   fwd_leader_fn leader, void *priv, uint64_t seed)
{
    forwarder *f = cm_calloc(1, sizeof(*f));
    if (uv_timer_init(loop, &f->timer) != 0) {
        cm_free(f);
        return NULL;
    }
    f->timer.data = f;
    f->loop = loop;
    f->net = n;
    f->names = names;
    f->auth = auth ? dstr_from_cstr(auth) : NULL;
    f->leader = leader;
    f->leader_priv = priv;
    crand_seed(&f->rng, seed);
    return f;
}

static void on_timer_closed(uv_handle_t *h) { cm_free(h->data); }

void fwd_close(forwarder *f)
{
    if (f->conn) {
        fwd_conn *c = f->conn;
        c->f = NULL;
        f->conn = NULL;
        conn_drop(c);
    }
    for (fwd_req *r = f->blocks.first; r; r = r->next)
        if (r->on) r->on->f = NULL;
    for (fwd_req *r = f->blocks.first; r; r = r->next)
        if (r->on) conn_drop(r->on);
    while (f->idle) {
        fwd_conn *c = f->idle;
        f->idle = c->next_idle;
        c->f = NULL;
        conn_drop(c);
    }
    while (f->pinned) {
        fwd_conn *c = f->pinned;
        f->pinned = c->next_pin;
        c->f = NULL;
        conn_drop(c);
    }
    while (f->reqs.first)
        req_free(f, f->reqs.first, 0);
    while (f->blocks.first)
        req_free(f, f->blocks.first, 0);
    while (f->pool) {
        fwd_sess *s = f->pool;
        f->pool = s->next;
        cm_free(s);
    }
    dstr_free(f->auth);
    uv_close((uv_handle_t *)&f->timer, on_timer_closed);
}

void fwd_set_waiters(forwarder *f, const fwd_waiters *w) { f->waiters = *w; }

int fwd_send(forwarder *f, cairn_session *s, int argc, const cslice *argv, long long local_reply)
{
    s->flags |= SESS_FORWARDED;
    if (fwd_send_as(f, s->id, s, fwd_request(argc, argv), local_reply) == 0) return 0;
    s->flags &= ~SESS_FORWARDED;
    return -1;
}

/* Queue the request cmd (the RESP of one command, or of a transaction
 * with parts replies before its EXEC's) of s for reply_to, and send it. */
static int send_req(forwarder *f, uint64_t reply_to, cairn_session *s, dstr cmd, int parts,
                    long long local_reply)
{
    fwd_conn *c = conn_to_leader(f);
    if (!c) {
        dstr_free(cmd);
        return -1;
    }
    fwd_req *r = cm_calloc(1, sizeof(*r));
    r->client = reply_to;
    r->db = s->db;
    r->resp = s->resp;
    r->local_reply = local_reply;
    r->parts = parts;
    if (s->flags & SESS_SEQ) {
        /* the client's own exactly-once session goes with its write */
        r->sid = s->seq_sid;
        r->seq = s->seq_no;
        s->flags &= ~SESS_SEQ;
    } else {
        r->own = sess_take(f);
        r->sid = r->own->id;
        r->seq = r->own->next_seq++;
    }
    r->cmd = cmd;
    req_link(f, r);
    req_send(c, r);
    timer_want(f);
    return 0;
}

dstr fwd_request(int argc, const cslice *argv)
{
    return add_command(dstr_with_cap(64), argc, argv);
}

int fwd_send_as(forwarder *f, uint64_t reply_to, cairn_session *s, dstr req, long long local_reply)
{
    return send_req(f, reply_to, s, req, 0, local_reply);
}

dstr fwd_tx_request(int n, const cairn_cmdv *cmds)
{
    static const cslice multi = {"MULTI", 5}, exec = {"EXEC", 4};
    dstr cmd = add_command(dstr_with_cap(256), 1, &multi);
    for (int i = 0; i < n; i++)
        cmd = add_command(cmd, cmds[i].argc, cmds[i].argv);
    return add_command(cmd, 1, &exec);
}

int fwd_send_tx_as(forwarder *f, uint64_t reply_to, cairn_session *s, dstr tx, int n)
{
    return send_req(f, reply_to, s, tx, n + 1, -1);
}

int fwd_send_tx(forwarder *f, cairn_session *s, int n, const cairn_cmdv *cmds)
{
    s->flags |= SESS_FORWARDED;
    if (fwd_send_tx_as(f, s->id, s, fwd_tx_request(n, cmds), n) == 0) return 0;
    s->flags &= ~SESS_FORWARDED;
    return -1;
}

/* ---- blocking commands ----
 *
 * A blocking command parks on the leader: on the shared connection it
 * would hold every write pipelined behind it, so each goes on a link of
 * its own (opened with AUTH, CLIENT NO-EVICT and CLIENT ID, kept idle for
 * the next one), at most block_max of them.  It carries no session: once
 * it may have reached the leader it is never sent again (a pop is never
 * made twice); a link that breaks meanwhile, or a leader change, answers
 * fwd_lost.  CLIENT UNBLOCK goes to the leader for the link's client id,
 * over the shared connection, until the leader says it unblocked it or
 * the command's reply comes. */

static void pin_unlink(forwarder *f, fwd_conn *c);

static void link_forget(forwarder *f, fwd_conn *c)
{
    pin_unlink(f, c);
    for (fwd_conn **p = &f->idle; *p; p = &(*p)->next_idle)
        if (*p == c) {
            *p = c->next_idle;
            f->nidle--;
            break;
        }
    f->nlinks--;
}

/* An idle link to the node that leads, or a new one (1), or none: 0
 * while no node leads, -1 with block_max links busy. */
static int link_take(forwarder *f, fwd_conn **out)
{
    uint64_t id;
    char host[64];
    int port;
    *out = NULL;
    if (!f->leader(f->leader_priv, &id, host, sizeof(host), &port)) return 0;
    while (f->idle) {
        fwd_conn *c = f->idle;
        f->idle = c->next_idle;
        f->nidle--;
        c->next_idle = NULL;
        if (c->target == id) {
            *out = c;
            return 1;
        }
        conn_drop(c);
    }
    if (f->nlinks >= f->block_max) return -1;
    fwd_conn *c = conn_open(f, id, host, port);
    if (!c) return 0;
    c->block = 1;
    c->lid = -1;
    f->nlinks++;
    static const char client_id[] = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";
    c->early = dstr_cat(c->early, client_id, sizeof(client_id) - 1);
    fifo_push(c, (fwd_wait){.client_id = 1});
    *out = c;
    return 1;
}

/* The link's command was answered: it waits for the next one, unless a
 * CLIENT UNBLOCK sent for this one could still reach the leader. */
static void link_release(forwarder *f, fwd_conn *c)
{
    c->blocked = NULL;
    if (c->closing) return;
    if (c->unblocked || f->nidle >= FWD_IDLE_MAX || f->nlinks > f->block_max) {
        conn_drop(c);
        return;
    }
    c->next_idle = f->idle;
    f->idle = c;
    f->nidle++;
}

static fwd_req *block_of_client(forwarder *f, uint64_t client)
{
    for (fwd_req *r = f->blocks.first; r; r = r->next)
        if (r->client == client) return r;
    return NULL;
}

static fwd_req *block_of_serial(forwarder *f, uint64_t serial)
{
    for (fwd_req *r = f->blocks.first; r; r = r->next)
        if (r->serial == serial) return r;
    return NULL;
}

/* fwd_lost from a node between: a follower that passed the command on
 * (it led when this node last heard) lost its own link to the leader. */
static int reply_is_lost(const char *r, size_t len)
{
    return len == sizeof(fwd_lost) - 1 && memcmp(r, fwd_lost, len) == 0;
}

static void block_answered(forwarder *f, fwd_req *r, const char *reply, size_t len)
{
    fwd_conn *c = r->on;
    r->on = NULL;
    if (reply_retryable(reply, len) && !reply_is_lost(reply, len) && client_waits(f, r->client)) {
        /* nothing ran (the node reached does not lead): sent again; one
         * that may have run (it may have been parked on the leader
         * through the node reached) is never sent twice */
        c->blocked = NULL;
        conn_drop(c);
        req_orphan(f, r);
        return;
    }
    deliver(f, r->client, reply, len);
    req_free(f, r, 1);
    link_release(f, c);
}

/* r's link broke: sent again if the command never left, else its client
 * learns the outcome is unknown. */
static void block_dropped(forwarder *f, fwd_conn *c, fwd_req *r)
{
    r->on = NULL;
    c->blocked = NULL;
    if (!c->up) {
        req_orphan(f, r);
        return;
    }
    deliver(f, r->client, fwd_lost, sizeof(fwd_lost) - 1);
    req_free(f, r, 0);
}

/* The reply to a CLIENT UNBLOCK when the command is on no leader: what
 * the leader would have answered. */
static void unblock_here(forwarder *f, fwd_req *r)
{
    static const char err[] = "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    if (r->unblock == 2)
        deliver(f, r->client, err, sizeof(err) - 1);
    else if (r->resp == 3)
        deliver(f, r->client, "_\r\n", 3);
    else
        deliver(f, r->client, "*-1\r\n", 5);
    req_free(f, r, 1);
}

static void unblock_send(forwarder *f, fwd_req *r)
{
    if (!r->on) {
        unblock_here(f, r);
        return;
    }
    if (r->unblocking || r->on->lid < 0) return; /* sent once its id is known */
    /* to another leader the link is dropped anyway */
    fwd_conn *c = conn_to_leader(f);
    if (!c || c->target != r->on->target) return;
    char id[24];
    snprintf(id, sizeof(id), "%lld", r->on->lid);
    const char *how = r->unblock == 2 ? "ERROR" : "TIMEOUT";
    cslice argv[4] = {{"CLIENT", 6}, {"UNBLOCK", 7}, {id, strlen(id)}, {how, strlen(how)}};
    fifo_push(c, (fwd_wait){.unblock_of = r->serial});
    conn_send(c, add_command(dstr_with_cap(64), 4, argv));
    r->unblocking = 1;
    r->on->unblocked = 1;
}

static void link_identified(fwd_conn *c, const char *reply, size_t len)
{
    long long id = 0;
    if (len < 4 || reply[0] != ':') return;
    for (size_t i = 1; i < len - 2 && reply[i] >= '0' && reply[i] <= '9'; i++)
        id = id * 10 + (reply[i] - '0');
    c->lid = id;
    if (c->f && c->blocked && c->blocked->unblock) unblock_send(c->f, c->blocked);
}

static void unblock_answered(forwarder *f, uint64_t serial, const char *reply, size_t len)
{
    fwd_req *r = block_of_serial(f, serial);
    if (!r) return;
    r->unblocking = 0;
    /* :0 -- not parked yet, or already served: asked again at the next
     * tick, until its reply comes */
    if (len > 1 && reply[0] == ':' && reply[1] == '0') return;
    if (reply[0] == '-') {
        net *n = f->net;
        n->log(n->log_priv, LL_WARNING,
               "CLIENT UNBLOCK of a blocking command forwarded to the "
               "leader failed: %.*s",
               (int)(len > 2 ? len - 3 : 0), reply + 1);
    }
    r->unblock = 0;
}

static void unblock_lost(forwarder *f, uint64_t serial)
{
    fwd_req *r = block_of_serial(f, serial);
    if (r) r->unblocking = 0;
}

/* Who leads, as a tick of blocking or pinned links sees it. */
typedef struct {
    int leads; /* a node leads: id */
    uint64_t id;
    int gone; /* none has for FWD_RETRY_MS */
} tick_view;

static tick_view tick_leader(forwarder *f, uint64_t now)
{
    tick_view v = {0};
    char host[64];
    int port;
    v.leads = f->leader(f->leader_priv, &v.id, host, sizeof(host), &port);
    if (v.leads)
        f->leaderless_since = 0;
    else if (!f->leaderless_since)
        f->leaderless_since = now;
    v.gone = !v.leads && now - f->leaderless_since >= FWD_RETRY_MS;
    return v;
}

/* A link held to a node that no longer leads, or while none has for
 * FWD_RETRY_MS, is dropped: its client gets an error, never a hang. */
static int tick_drops(const tick_view *v, const fwd_conn *c)
{
    return (v->leads && c->target != v->id) || v->gone;
}

/* Every tick while blocking commands are forwarded: those on a link to a
 * node that no longer leads (or with no leader for FWD_RETRY_MS) are
 * dropped -- the client gets an error, never a hang --, those not sent
 * yet go, and CLIENT UNBLOCKs are asked again. */
static void block_tick(forwarder *f)
{
    if (!f->blocks.first) return;
    uint64_t now = uv_now(f->loop);
    tick_view v = tick_leader(f, now);
    fwd_req *next;
    for (fwd_req *r = f->blocks.first; r; r = next) {
        next = r->next;
        fwd_conn *c;
        if (r->on && tick_drops(&v, r->on)) {
            conn_drop(r->on);
        } else if (r->unblock) {
            unblock_send(f, r);
        } else if (r->on) {
            continue;
        } else if (!client_waits(f, r->client)) {
            req_free(f, r, 0);
        } else if (now >= r->retry_until) {
            deliver(f, r->client, fwd_unsent, sizeof(fwd_unsent) - 1);
            req_free(f, r, 0);
        } else if (link_take(f, &c) > 0) {
            req_send(c, r);
        }
    }
}

int fwd_send_block(forwarder *f, cairn_session *s, int argc, const cslice *argv, int max)
{
    fwd_conn *c;
    f->block_max = max;
    int rc = link_take(f, &c);
    if (rc <= 0) return rc - 1;
    fwd_req *r = cm_calloc(1, sizeof(*r));
    r->client = s->id;
    r->db = s->db;
    r->resp = s->resp;
    r->local_reply = -1;
    r->block = 1;
    r->serial = ++f->next_serial;
    r->cmd = add_command(dstr_with_cap(64), argc, argv);
    req_link(f, r);
    s->flags |= SESS_FORWARDED;
    req_send(c, r);
    timer_want(f);
    return 0;
}

int fwd_unblock(forwarder *f, uint64_t client, int with_error)
{
    fwd_req *r = block_of_client(f, client);
    if (!r || !client_waits(f, client)) return 0;
    r->unblock = with_error ? 2 : 1;
    unblock_send(f, r);
    return 1;
}

void fwd_client_gone(forwarder *f, uint64_t client)
{
    fwd_unpin(f, client);
    fwd_req *r = block_of_client(f, client);
    if (!r) return;
    /* closing the link unparks the command on the leader */
    if (r->on)
        conn_drop(r->on);
    else
        req_free(f, r, 0);
}

/* ---- optimistic transactions: clients pinned to the leader ----
 *
 * A follower's client that WATCHes takes a link of the blocking commands'
 * pool (the same cap) and keeps it until EXEC, DISCARD or UNWATCH: its
 * commands go there one at a time (the client waits for each reply) and
 * the replies come back unchanged, so the leader's WATCH, MULTI and EXEC
 * decide.  Nothing on it is ever sent twice.  If the link breaks or
 * another node is elected, the leader's side is gone: the command in
 * flight gets fwd_lost (an EXEC never sent: a null reply, aborted), and the
 * client goes on here as one whose watched key was modified
 * (multi_pin_lost), so its EXEC fails.  An EXEC refused because the node
 * reached no longer leads ran nothing: it answers null too, and the client
 * retries its transaction as after any conflict. */

static const char pin_aborted[] =
    "-EXECABORT Transaction discarded because of previous errors.\r\n";

static fwd_conn *pin_of(forwarder *f, uint64_t client)
{
    for (fwd_conn *c = f->pinned; c; c = c->next_pin)
        if (c->pin_client == client) return c;
    return NULL;
}

static void pin_unlink(forwarder *f, fwd_conn *c)
{
    if (!c->pin_client) return;
    for (fwd_conn **p = &f->pinned; *p; p = &(*p)->next_pin)
        if (*p == c) {
            *p = c->next_pin;
            break;
        }
    c->pin_client = 0;
    c->next_pin = NULL;
}

static cairn_session *pin_session(forwarder *f, uint64_t id)
{
    client *cl = net_find_client(f->net, id);
    return cl && !(cl->flags & CLIENT_CLOSING) ? &cl->sess : NULL;
}

static void deliver_null(forwarder *f, uint64_t client, int resp)
{
    if (resp == 3)
        deliver(f, client, "_\r\n", 3);
    else
        deliver(f, client, "*-1\r\n", 5);
}

/* The pin ended: the link goes back to the pool, once what the leader
 * keeps for it is dropped (!clean: the ending command failed). */
static void pin_release(forwarder *f, fwd_conn *c, int clean)
{
    static const char tidy[] = "*1\r\n$7\r\nDISCARD\r\n*1\r\n$7\r\nUNWATCH\r\n";
    pin_unlink(f, c);
    if (!clean) {
        fifo_push(c, (fwd_wait){0});
        fifo_push(c, (fwd_wait){0});
        conn_send(c, dstr_new(tidy, sizeof(tidy) - 1));
    }
    link_release(f, c);
}

static void pin_answered(forwarder *f, fwd_conn *c, const char *reply, size_t len)
{
    int kind = c->pin_kind;
    uint64_t id = c->pin_client;
    c->pin_kind = -1;
    if (!id) return;
    cairn_session *s = pin_session(f, id);
    if (s) multi_pin_answered(s, kind, reply, len);
    /* released first: the client may WATCH again as soon as it has it */
    if (kind >= PIN_END) pin_release(f, c, reply[0] != '-' || reply_execabort(reply, len));
    if (kind == PIN_ABORT)
        deliver(f, id, pin_aborted, sizeof(pin_aborted) - 1);
    else if (kind == PIN_CAS || (kind == PIN_EXEC && reply_retryable(reply, len)))
        deliver_null(f, id, c->pin_resp);
    else
        deliver(f, id, reply, len);
}

/* c's link is gone (waiting: with the client's command in flight). */
static void pin_lost(forwarder *f, fwd_conn *c, int waiting)
{
    uint64_t id = c->pin_client;
    int kind = waiting ? c->pin_kind : -1;
    pin_unlink(f, c);
    cairn_session *s = pin_session(f, id);
    if (!s) return;
    multi_pin_lost(s, kind);
    if (!waiting) return;
    /* an EXEC that never left, or a DISCARD sent for one, ran nothing */
    if (kind == PIN_ABORT)
        deliver(f, id, pin_aborted, sizeof(pin_aborted) - 1);
    else if (kind == PIN_CAS || (kind == PIN_EXEC && !c->up))
        deliver_null(f, id, c->pin_resp);
    else
        deliver(f, id, fwd_lost, sizeof(fwd_lost) - 1);
}

/* Every tick while clients are pinned: a link to a node that no longer
 * leads (or with no leader for FWD_RETRY_MS) is dropped. */
static void pin_tick(forwarder *f)
{
    if (!f->pinned) return;
    tick_view v = tick_leader(f, uv_now(f->loop));
    fwd_conn *next;
    for (fwd_conn *c = f->pinned; c; c = next) {
        next = c->next_pin;
        if (tick_drops(&v, c)) conn_drop(c);
    }
}

int fwd_pin_send(forwarder *f, cairn_session *s, int argc, const cslice *argv, int kind, int max)
{
    fwd_conn *c = pin_of(f, s->id);
    uint64_t id;
    char host[64];
    int port;
    /* another node leads since (the tick has not seen it yet) */
    if (c && f->leader(f->leader_priv, &id, host, sizeof(host), &port) && c->target != id) {
        conn_drop(c);
        return -3;
    }
    if (!c) {
        if (kind != PIN_WATCH || (s->flags & SESS_PINNED)) return -3;
        f->block_max = max;
        int rc = link_take(f, &c);
        if (rc <= 0) return rc - 1;
        c->pin_client = s->id;
        c->next_pin = f->pinned;
        f->pinned = c;
        s->flags |= SESS_PINNED;
    }
    dstr out = add_db_resp(dstr_with_cap(64), c, s->db, s->resp);
    if (s->flags & SESS_SEQ) { /* the client's exactly-once session, as it named it */
        out = add_seq(out, c, s->seq_sid, s->seq_no);
        s->flags &= ~SESS_SEQ;
    }
    out = add_command(out, argc, argv);
    fifo_push(c, (fwd_wait){.pinned = 1});
    c->pin_kind = kind;
    c->pin_resp = s->resp;
    s->flags |= SESS_FORWARDED;
    conn_send(c, out);
    timer_want(f);
    return 0;
}

void fwd_unpin(forwarder *f, uint64_t client)
{
    fwd_conn *c = pin_of(f, client);
    if (!c) return;
    /* closing the link drops its WATCH and MULTI on the leader */
    pin_unlink(f, c);
    conn_drop(c);
}
