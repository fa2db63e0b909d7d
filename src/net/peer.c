/* peer.c -- outgoing connections to the other nodes; see peer.h. */
#include "peer.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../engine/config.h"

/* More than this waiting in the kernel's or our buffers: drop messages
 * until the peer catches up (Raft resends what it needs). */
#define PEER_MAX_QUEUED  (64u << 20)
#define PEER_RETRY_TICKS 10
#define PEER_KEEP_BYTES  (64u << 10) /* a link's send buffer kept between flushes */

/* LINK_RESOLVING: its host name is being looked up (no handle open). */
enum { LINK_DOWN, LINK_RESOLVING, LINK_CONNECTING, LINK_UP, LINK_CLOSING };

struct peer_link {
    peer_set *set;
    uint64_t id;
    char host[64];
    int port;
    int state;
    int idle_ticks;
    nstream s;
    uv_connect_t conn;
    dstr pending;  /* queued since the last flush */
    size_t queued; /* bytes handed to uv_write and not yet written */
    char rbuf[256];
    nstream_log_memo logged; /* the last TLS or name failure logged */
    resolve_req *resolving;  /* the lookup of host, while LINK_RESOLVING */
    int pick;                /* which of host's addresses the next attempt tries */
};

typedef struct peer_write {
    uv_write_t req;
    peer_link *link;
    dstr data;
} peer_write;

int peer_set_init(peer_set *ps, uv_loop_t *loop, net *n, resolve_names *names, const char *secret,
                  const char *auth)
{
    memset(ps, 0, sizeof(*ps));
    ps->loop = loop;
    ps->net = n;
    ps->names = names;
    ps->secret = dstr_from_cstr(secret ? secret : "");
    ps->auth = auth ? dstr_from_cstr(auth) : NULL;
    return 0;
}

int peer_set_add(peer_set *ps, uint64_t id, const char *host, int port)
{
    peer_link *l = cm_calloc(1, sizeof(*l));
    l->set = ps;
    l->id = id;
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->port = port;
    l->state = LINK_DOWN;
    l->idle_ticks = PEER_RETRY_TICKS;
    l->pending = dstr_with_cap(1024);
    ps->links = cm_realloc(ps->links, sizeof(peer_link *) * (size_t)(ps->n + 1));
    ps->links[ps->n++] = l;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    peer_link *l = h->data;
    if (l->state == LINK_CLOSING) {
        dstr_free(l->pending);
        cm_free(l);
        return;
    }
    l->state = LINK_DOWN;
    l->idle_ticks = 0;
}

static void link_down(peer_link *l)
{
    if (l->state == LINK_DOWN || uv_is_closing((uv_handle_t *)&l->s.tcp)) return;
    dstr_set_len(l->pending, 0);
    nstream_close(&l->s, on_closed);
}

/* A TLS link failed (a certificate that does not verify, a refused
 * one, a peer that does not speak TLS): say so, naming the peer and
 * OpenSSL's reason, unless that was just said. */
static void log_tls_failure(peer_link *l, const char *when)
{
    net *n = l->set->net;
    const char *why = nstream_error(&l->s);
    if (!nstream_log_due(&l->logged, why, uv_now(l->set->loop))) return;
    n->log(n->log_priv, LL_WARNING, "Raft link to node %llu at %s:%d: TLS %s failed: %s",
           (unsigned long long)l->id, l->host, l->port, when, why);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    peer_link *l = h->data;
    *buf = uv_buf_init(l->rbuf, sizeof(l->rbuf));
}

/* Replies are off: anything that comes back is an error the peer sent
 * before closing (a wrong secret); the end of the stream is what counts. */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread >= 0) return;
    peer_link *l = s->data;
    if (nread == NSTREAM_ETLS && nstream_is_tls(&l->s)) log_tls_failure(l, "connection");
    link_down(l);
}

static void on_written(uv_write_t *req, int status)
{
    peer_write *w = (peer_write *)req;
    peer_link *l = w->link;
    l->queued -= dstr_len(w->data);
    dstr_free(w->data);
    cm_free(w);
    if (status < 0 && l->state == LINK_UP) link_down(l);
}

static void write_out(peer_link *l, dstr data)
{
    peer_write *w = cm_malloc(sizeof(*w));
    w->link = l;
    w->data = data;
    uv_buf_t b = uv_buf_init(data, (unsigned)dstr_len(data));
    l->queued += dstr_len(data);
    if (nstream_write(&w->req, &l->s, &b, 1, on_written) != 0) {
        l->queued -= dstr_len(data);
        dstr_free(data);
        cm_free(w);
        link_down(l);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    peer_link *l = req->data;
    if (l->state != LINK_CONNECTING) return;
    if (status < 0) {
        if (status == NSTREAM_ETLS) log_tls_failure(l, "handshake");
        l->pick++;          /* another address of its name, if it has several */
        l->state = LINK_UP; /* so that link_down closes the handle */
        link_down(l);
        return;
    }
    l->state = LINK_UP;
    uv_tcp_nodelay(&l->s.tcp, 1);
    nstream_read_start(&l->s, on_alloc, on_read);
    dstr hello = l->set->auth ? dstr_dup(l->set->auth) : dstr_with_cap(64);
    write_out(l, dstr_cat_cstr(hello, "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n"));
}

static void connect_to(peer_link *l, const struct sockaddr *addr)
{
    if (nstream_init(l->set->loop, &l->s) != 0) {
        l->state = LINK_DOWN;
        return;
    }
    l->s.tcp.data = l;
    l->conn.data = l;
    l->state = LINK_CONNECTING;
    if (nstream_connect(&l->s, &l->conn, addr, net_node_tls(l->set->net), on_connect) != 0) {
        l->state = LINK_UP;
        link_down(l);
    }
}

/* A name that does not resolve (yet: a container not started, a DNS
 * record not published) is logged, once per reason and minute, and
 * looked up again on the next attempt. */
static void on_resolved(void *priv, int status, const resolved *r)
{
    peer_link *l = priv;
    l->resolving = NULL;
    if (status == 0) {
        connect_to(l, (const struct sockaddr *)&r->addr[l->pick % r->n]);
        return;
    }
    l->state = LINK_DOWN;
    net *n = l->set->net;
    if (nstream_log_due(&l->logged, uv_strerror(status), uv_now(l->set->loop)))
        n->log(n->log_priv, LL_WARNING,
               "Raft link to node %llu at %s:%d: can't resolve '%s': %s (retrying)",
               (unsigned long long)l->id, l->host, l->port, l->host, uv_strerror(status));
}

/* The name is looked up again on every attempt: a node that came back
 * elsewhere is found at its new address. */
static void link_connect(peer_link *l)
{
    resolved r;
    if (resolve_numeric(l->host, l->port, &r)) {
        connect_to(l, (const struct sockaddr *)&r.addr[0]);
        return;
    }
    int rc;
    l->state = LINK_RESOLVING;
    l->resolving =
        resolve_start(l->set->loop, l->set->names, l->host, l->port, on_resolved, l, &rc);
    if (!l->resolving) l->state = LINK_DOWN;
}

/* Stop a lookup under way (the link is moved or closed). */
static void stop_resolving(peer_link *l)
{
    if (l->state != LINK_RESOLVING) return;
    resolve_cancel(l->resolving);
    l->resolving = NULL;
    l->state = LINK_DOWN;
}

static peer_link *link_of(peer_set *ps, uint64_t id)
{
    for (int i = 0; i < ps->n; i++)
        if (ps->links[i]->id == id) return ps->links[i];
    return NULL;
}

void peer_set_put(peer_set *ps, uint64_t id, const char *host, int port)
{
    peer_link *l = link_of(ps, id);
    if (!l) {
        peer_set_add(ps, id, host, port);
        return;
    }
    if (l->port == port && strcmp(l->host, host) == 0) return;
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->port = port;
    l->pick = 0;
    stop_resolving(l);
    if (l->state == LINK_UP || l->state == LINK_CONNECTING) {
        if (l->state == LINK_CONNECTING) l->state = LINK_UP; /* so that link_down closes it */
        link_down(l);
    }
}

void peer_set_send(peer_set *ps, uint64_t id, const char *data, size_t len)
{
    peer_link *l = link_of(ps, id);
    if (!l || l->state != LINK_UP || l->queued + dstr_len(l->pending) > PEER_MAX_QUEUED) return;
    size_t sl = dstr_len(ps->secret);
    l->pending = dstr_catfmt(l->pending, "*4\r\n$4\r\nRAFT\r\n$3\r\nMSG\r\n$%zu\r\n", sl);
    l->pending = dstr_cat(l->pending, ps->secret, sl);
    l->pending = dstr_catfmt(l->pending, "\r\n$%zu\r\n", len);
    l->pending = dstr_cat(l->pending, data, len);
    l->pending = dstr_cat(l->pending, "\r\n", 2);
}

/* Write what the kernel takes now, and hand libuv only the rest: most
 * flushes (a heartbeat, its acknowledgement) then cost one write() and
 * no request, allocation or epoll change.  A TLS link encrypts through
 * nstream_write. */
static void flush_link(peer_link *l)
{
    size_t len = dstr_len(l->pending), done = 0;
    if (!l->queued && !nstream_is_tls(&l->s)) {
        uv_buf_t b = uv_buf_init(l->pending, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&l->s.tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            link_down(l);
            return;
        }
        if (n > 0) done = (size_t)n;
    }
    if (!done) { /* libuv takes the whole buffer */
        write_out(l, l->pending);
        l->pending = dstr_with_cap(1024);
        return;
    }
    if (done < len) write_out(l, dstr_new(l->pending + done, len - done));
    dstr_set_len(l->pending, 0);
    /* a large append grew it: give the memory back */
    if (dstr_cap(l->pending) > PEER_KEEP_BYTES) {
        dstr_free(l->pending);
        l->pending = dstr_with_cap(1024);
    }
}

void peer_set_flush(peer_set *ps)
{
    for (int i = 0; i < ps->n; i++) {
        peer_link *l = ps->links[i];
        if (l->state == LINK_UP && dstr_len(l->pending)) flush_link(l);
    }
}

void peer_set_tick(peer_set *ps)
{
    for (int i = 0; i < ps->n; i++) {
        peer_link *l = ps->links[i];
        if (l->state == LINK_DOWN && ++l->idle_ticks >= PEER_RETRY_TICKS) {
            l->idle_ticks = 0;
            link_connect(l);
        }
    }
}

void peer_set_close(peer_set *ps)
{
    for (int i = 0; i < ps->n; i++) {
        peer_link *l = ps->links[i];
        stop_resolving(l);
        int open = l->state != LINK_DOWN && !uv_is_closing((uv_handle_t *)&l->s.tcp);
        int closing = l->state != LINK_DOWN;
        l->state = LINK_CLOSING;
        if (open) {
            nstream_close(&l->s, on_closed);
        } else if (!closing) {
            dstr_free(l->pending);
            cm_free(l);
        }
    }
    cm_free(ps->links);
    ps->links = NULL;
    ps->n = 0;
    dstr_free(ps->secret);
    ps->secret = NULL;
    dstr_free(ps->auth);
    ps->auth = NULL;
}
