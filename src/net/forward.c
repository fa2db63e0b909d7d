/* forward.c -- forwarding a follower's writes to the leader; see forward.h. */
#include "forward.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"

#define FWD_MAX_DEPTH 64
#define FWD_READ      16384

static const char fwd_lost[] = "-CLUSTERDOWN The connection to the leader was lost while the "
                               "command was forwarded: it may or may not have been applied\r\n";

typedef struct fwd_wait {
    uint64_t client; /* 0: a reply to skip (SELECT, HELLO) */
} fwd_wait;

typedef struct fwd_conn {
    forwarder *f;
    uv_tcp_t tcp;
    uv_connect_t req;
    int up, closing;
    dstr early; /* written once connected */
    dstr in;    /* replies read, not yet complete */
    fwd_wait *fifo;
    size_t head, count, cap;
    int db, resp; /* what the leader's session is set to */
} fwd_conn;

struct forwarder {
    uv_loop_t *loop;
    net *net;
    fwd_deliver_fn other; /* replies for ids that are not the net's clients */
    void *other_priv;
    dstr auth; /* NULL: none */
    fwd_conn *conn;
    uint64_t target;
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

/* ---- the connection ---- */

static void fifo_push(fwd_conn *c, uint64_t client)
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
    c->fifo[(c->head + c->count) % c->cap].client = client;
    c->count++;
}

static uint64_t fifo_pop(fwd_conn *c)
{
    uint64_t id = c->fifo[c->head].client;
    c->head = (c->head + 1) % c->cap;
    c->count--;
    return id;
}

/* Hand a reply to the client waiting for it, if it is still there. */
static void deliver(forwarder *f, uint64_t id, const char *reply, size_t len)
{
    if (f->other && f->other(f->other_priv, id, reply, len)) return;
    client *cl = net_find_client(f->net, id);
    if (!cl || (cl->flags & CLIENT_CLOSING) || !(cl->sess.flags & SESS_FORWARDED)) return;
    rbuf_append(&cl->out, reply, len);
    cl->sess.flags &= ~SESS_FORWARDED;
    net_client_unblocked(&cl->sess);
}

static void on_conn_closed(uv_handle_t *h)
{
    fwd_conn *c = h->data;
    dstr_free(c->early);
    dstr_free(c->in);
    cm_free(c->fifo);
    cm_free(c);
}

/* Drop the connection: whatever is in flight gets an error. */
static void conn_drop(fwd_conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    forwarder *f = c->f;
    if (f && f->conn == c) f->conn = NULL;
    while (c->count) {
        uint64_t id = fifo_pop(c);
        if (id && f) deliver(f, id, fwd_lost, sizeof(fwd_lost) - 1);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
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
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        dstr_free(data);
        cm_free(w);
        conn_drop(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    fwd_conn *c = h->data;
    c->in = dstr_reserve(c->in, FWD_READ);
    *buf = uv_buf_init(c->in + dstr_len(c->in), FWD_READ);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    fwd_conn *c = s->data;
    if (nread < 0) {
        conn_drop(c);
        return;
    }
    dstr_set_len(c->in, dstr_len(c->in) + (size_t)nread);
    size_t off = 0;
    while (c->count && off < dstr_len(c->in)) {
        long n = resp_reply_size(c->in + off, dstr_len(c->in) - off);
        if (n < 0) {
            conn_drop(c);
            return;
        }
        if (n == 0) break;
        uint64_t id = fifo_pop(c);
        if (id && c->f) deliver(c->f, id, c->in + off, (size_t)n);
        off += (size_t)n;
    }
    if (off) {
        memmove(c->in, c->in + off, dstr_len(c->in) - off);
        dstr_set_len(c->in, dstr_len(c->in) - off);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    fwd_conn *c = req->data;
    if (c->closing) return;
    if (status < 0) {
        conn_drop(c);
        return;
    }
    c->up = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (dstr_len(c->early)) {
        conn_write(c, c->early);
        c->early = dstr_with_cap(256);
    }
}

static fwd_conn *conn_open(forwarder *f, const char *host, int port)
{
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
        return NULL;
    fwd_conn *c = cm_calloc(1, sizeof(*c));
    c->f = f;
    c->db = 0;
    c->resp = 2;
    c->early = dstr_with_cap(256);
    c->in = dstr_with_cap(FWD_READ);
    if (uv_tcp_init(f->loop, &c->tcp) != 0) {
        dstr_free(c->early);
        dstr_free(c->in);
        cm_free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->req.data = c;
    if (uv_tcp_connect(&c->req, &c->tcp, (struct sockaddr *)&addr, on_connect) != 0) {
        conn_drop(c);
        return NULL;
    }
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

static dstr add_words(dstr out, fwd_conn *c, const char *a, const char *b)
{
    cslice argv[2] = {{a, strlen(a)}, {b, strlen(b)}};
    fifo_push(c, 0);
    return add_command(out, 2, argv);
}

forwarder *fwd_new(uv_loop_t *loop, net *n, const char *auth, fwd_deliver_fn other, void *priv)
{
    forwarder *f = cm_calloc(1, sizeof(*f));
    f->loop = loop;
    f->net = n;
    f->other = other;
    f->other_priv = priv;
    f->auth = auth ? dstr_from_cstr(auth) : NULL;
    return f;
}

void fwd_close(forwarder *f)
{
    if (f->conn) {
        fwd_conn *c = f->conn;
        c->f = NULL;
        f->conn = NULL;
        conn_drop(c);
    }
    dstr_free(f->auth);
    cm_free(f);
}

int fwd_send_as(forwarder *f, uint64_t id, const char *host, int port, uint64_t reply_to,
                cairn_session *s, int argc, const cslice *argv)
{
    if (f->conn && f->target != id) conn_drop(f->conn);
    if (!f->conn) {
        f->conn = conn_open(f, host, port);
        if (!f->conn) return -1;
        f->target = id;
        if (f->auth) { /* its reply is skipped like SELECT's */
            f->conn->early = dstr_cat(f->conn->early, f->auth, dstr_len(f->auth));
            fifo_push(f->conn, 0);
        }
    }
    fwd_conn *c = f->conn;
    dstr out = dstr_with_cap(256);
    char num[16];
    if (c->db != s->db) {
        snprintf(num, sizeof(num), "%d", s->db);
        out = add_words(out, c, "SELECT", num);
        c->db = s->db;
    }
    if (c->resp != s->resp) {
        snprintf(num, sizeof(num), "%d", s->resp);
        out = add_words(out, c, "HELLO", num);
        c->resp = s->resp;
    }
    if (s->flags & SESS_SEQ) {
        /* the client's own exactly-once session goes with its write */
        char sid[24], seq[24];
        snprintf(sid, sizeof(sid), "%llu", (unsigned long long)s->seq_sid);
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)s->seq_no);
        cslice words[4] = {{"CLIENT", 6}, {"SESSION", 7}, {sid, strlen(sid)}, {seq, strlen(seq)}};
        fifo_push(c, 0);
        out = add_command(out, 4, words);
        s->flags &= ~SESS_SEQ;
    }
    out = add_command(out, argc, argv);
    fifo_push(c, reply_to);
    if (c->up) {
        conn_write(c, out);
    } else {
        c->early = dstr_cat(c->early, out, dstr_len(out));
        dstr_free(out);
    }
    return 0;
}

int fwd_send(forwarder *f, uint64_t id, const char *host, int port, cairn_session *s, int argc,
             const cslice *argv)
{
    if (fwd_send_as(f, id, host, port, s->id, s, argc, argv) != 0) return -1;
    s->flags |= SESS_FORWARDED;
    return 0;
}
