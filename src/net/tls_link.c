/* tls_link.c -- node-to-node connections over TCP or TLS; see tls_link.h.
 *
 * With TLS, bytes from the socket go into the SSL object's read BIO and
 * whatever OpenSSL has to send (handshake messages, records, alerts) is
 * taken from its write BIO and handed to uv_write.  Plain text reaches
 * the owner through its own alloc/read callbacks, as libuv would call
 * them. */
#include "tls_link.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"

#define TLS_LINK_READ (16 * 1024)

struct tls_link {
    nstream *s;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    uv_timer_t drain; /* hands over plain text held while reading was off */
    uv_connect_t creq;
    uv_connect_t *user_req; /* the owner's connect, until it is answered */
    uv_connect_cb connect_cb;
    uv_alloc_cb alloc_cb;
    uv_read_cb read_cb;
    uv_close_cb close_cb;
    int connected;   /* handshake done */
    int failed;      /* no more reads or writes */
    int reading;     /* the owner wants plain text */
    int tcp_reading; /* uv_read_start is on */
    int refs;        /* handles not yet closed (drain, tcp) */
    char err[256];
    char in[TLS_LINK_READ];
};

/* A write of ciphertext: the owner's request, answered when it is sent. */
typedef struct tls_write {
    uv_write_t req;
    uv_write_t *user; /* NULL: OpenSSL's own bytes */
    uv_write_cb cb;
    char data[];
} tls_write;

static uv_stream_t *stream_of(tls_link *t) { return (uv_stream_t *)&t->s->tcp; }

static int closing(tls_link *t) { return uv_is_closing((uv_handle_t *)&t->s->tcp); }

/* Why OpenSSL failed: a certificate that did not verify, else the first
 * error on its queue, else a closed connection. */
static void set_error(tls_link *t, int ssl_err)
{
    long v = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_error();
    if (v != X509_V_OK) {
        snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
    } else if (e) {
        const char *reason = ERR_reason_error_string(e);
        if (reason)
            snprintf(t->err, sizeof(t->err), "%s", reason);
        else
            ERR_error_string_n(e, t->err, sizeof(t->err));
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(t->err, sizeof(t->err), "the peer closed the connection");
    } else {
        snprintf(t->err, sizeof(t->err), "TLS error %d", ssl_err);
    }
    ERR_clear_error();
}

static void tcp_read_stop(tls_link *t)
{
    if (!t->tcp_reading) return;
    t->tcp_reading = 0;
    if (!closing(t)) uv_read_stop(stream_of(t));
}

static void on_sent(uv_write_t *req, int status)
{
    tls_write *w = (tls_write *)req;
    if (w->user) w->cb(w->user, status);
    cm_free(w);
}

/* Send what OpenSSL wrote to its BIO; user (with cb) is answered once it
 * is sent. */
static int send_out(tls_link *t, uv_write_t *user, uv_write_cb cb)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    if (!n && !user) return 0;
    tls_write *w = cm_malloc(sizeof(*w) + n);
    w->user = user;
    w->cb = cb;
    if (n && BIO_read(t->wbio, w->data, (int)n) != (int)n) {
        cm_free(w);
        snprintf(t->err, sizeof(t->err), "TLS output lost");
        return NSTREAM_ETLS;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, stream_of(t), &b, 1, on_sent);
    if (rc != 0) cm_free(w);
    return rc;
}

/* Answer the owner's connect (once). */
static void finish_connect(tls_link *t, int status)
{
    uv_connect_t *req = t->user_req;
    if (!req) return;
    t->user_req = NULL;
    if (status < 0) {
        t->failed = 1;
        tcp_read_stop(t);
    }
    req->handle = stream_of(t);
    t->connect_cb(req, status);
}

/* Hand plain text to the owner while it reads and OpenSSL has some. */
static void deliver(tls_link *t)
{
    uv_stream_t *st = stream_of(t);
    while (t->reading && !t->failed && !closing(t)) {
        uv_buf_t b = uv_buf_init(NULL, 0);
        t->alloc_cb((uv_handle_t *)st, TLS_LINK_READ, &b);
        if (!b.base || !b.len) {
            t->read_cb(st, UV_ENOBUFS, &b);
            return;
        }
        ERR_clear_error();
        int n = SSL_read(t->ssl, b.base, b.len > INT_MAX ? INT_MAX : (int)b.len);
        if (n > 0) {
            t->read_cb(st, n, &b);
            continue;
        }
        int err = SSL_get_error(t->ssl, n);
        if (err == SSL_ERROR_WANT_READ) {
            t->read_cb(st, 0, &b); /* the buffer back, unused */
            send_out(t, NULL, NULL);
            return;
        }
        ssize_t status = UV_EOF;
        if (err != SSL_ERROR_ZERO_RETURN) {
            set_error(t, err);
            send_out(t, NULL, NULL); /* the alert, if any */
            status = NSTREAM_ETLS;
        }
        t->failed = 1;
        tcp_read_stop(t);
        t->read_cb(st, status, &b);
        return;
    }
}

static void handshake(tls_link *t)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) set_error(t, err);
    /* the next flight, or the alert telling the peer why */
    int sent = send_out(t, NULL, NULL);
    if (err == SSL_ERROR_WANT_READ && sent == 0) return;
    if (err == SSL_ERROR_NONE && sent == 0) {
        t->connected = 1;
        finish_connect(t, 0);
        if (closing(t)) return;
        if (!t->reading)
            tcp_read_stop(t); /* the owner reads later: keep it in the socket */
        else
            deliver(t);
        return;
    }
    if (sent != 0 && err != SSL_ERROR_SSL)
        snprintf(t->err, sizeof(t->err), "%s", uv_strerror(sent));
    finish_connect(t, NSTREAM_ETLS);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tls_link *t = ((nstream *)h)->tls;
    *buf = uv_buf_init(t->in, sizeof(t->in));
}

static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    tls_link *t = ((nstream *)st)->tls;
    if (nread > 0) {
        if (BIO_write(t->rbio, buf->base, (int)nread) != (int)nread) {
            snprintf(t->err, sizeof(t->err), "TLS input lost");
            nread = NSTREAM_ETLS;
        } else if (!t->connected) {
            handshake(t);
            return;
        } else {
            deliver(t);
            return;
        }
    }
    if (nread == 0) return;
    tcp_read_stop(t);
    if (!t->connected) {
        snprintf(t->err, sizeof(t->err), "%s during the TLS handshake",
                 nread == UV_EOF ? "the peer closed the connection" : uv_strerror((int)nread));
        finish_connect(t, NSTREAM_ETLS);
        return;
    }
    deliver(t); /* what came before the end */
    if (t->reading && !t->failed && !closing(t)) {
        t->failed = 1;
        uv_buf_t b = uv_buf_init(NULL, 0);
        t->read_cb(st, nread, &b);
    }
}

static void on_tcp_connected(uv_connect_t *req, int status)
{
    tls_link *t = req->data;
    if (status < 0) {
        snprintf(t->err, sizeof(t->err), "%s", uv_strerror(status));
        finish_connect(t, status);
        return;
    }
    int rc = uv_read_start(stream_of(t), on_alloc, on_tcp_read);
    if (rc != 0) {
        snprintf(t->err, sizeof(t->err), "%s", uv_strerror(rc));
        finish_connect(t, rc);
        return;
    }
    t->tcp_reading = 1;
    handshake(t); /* the ClientHello */
}

static void on_drain(uv_timer_t *h) { deliver(h->data); }

int nstream_init(uv_loop_t *loop, nstream *s)
{
    s->tls = NULL;
    return uv_tcp_init(loop, &s->tcp);
}

/* The TLS side of a new connection; NULL if OpenSSL fails. */
static tls_link *link_new(nstream *s, void *ctx)
{
    tls_link *t = cm_calloc(1, sizeof(*t));
    t->s = s;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio || uv_timer_init(s->tcp.loop, &t->drain) != 0) {
        ERR_clear_error();
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        cm_free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    t->drain.data = t;
    t->creq.data = t;
    return t;
}

int nstream_connect(nstream *s, uv_connect_t *req, const struct sockaddr *addr, void *tls_ctx,
                    uv_connect_cb cb)
{
    if (!tls_ctx) return uv_tcp_connect(req, &s->tcp, addr, cb);
    tls_link *t = link_new(s, tls_ctx);
    if (!t) return UV_ENOMEM;
    s->tls = t;
    t->user_req = req;
    t->connect_cb = cb;
    return uv_tcp_connect(&t->creq, &s->tcp, addr, on_tcp_connected);
}

int nstream_read_start(nstream *s, uv_alloc_cb alloc, uv_read_cb read)
{
    if (!s->tls) return uv_read_start((uv_stream_t *)&s->tcp, alloc, read);
    tls_link *t = s->tls;
    t->alloc_cb = alloc;
    t->read_cb = read;
    if (t->reading || !t->connected || t->failed) {
        t->reading = 1;
        return 0;
    }
    t->reading = 1;
    /* what OpenSSL holds would wait for the socket: hand it over from
     * the loop (not from inside the owner's call) */
    if (SSL_pending(t->ssl) || BIO_ctrl_pending(t->rbio)) uv_timer_start(&t->drain, on_drain, 0, 0);
    if (t->tcp_reading) return 0;
    int rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_tcp_read);
    if (rc == 0) t->tcp_reading = 1;
    return rc;
}

int nstream_read_stop(nstream *s)
{
    if (!s->tls) return uv_read_stop((uv_stream_t *)&s->tcp);
    tls_link *t = s->tls;
    t->reading = 0;
    uv_timer_stop(&t->drain);
    if (t->connected) tcp_read_stop(t); /* a handshake goes on */
    return 0;
}

int nstream_write(uv_write_t *req, nstream *s, const uv_buf_t bufs[], unsigned nbufs,
                  uv_write_cb cb)
{
    if (!s->tls) return uv_write(req, (uv_stream_t *)&s->tcp, bufs, nbufs, cb);
    tls_link *t = s->tls;
    if (!t->connected || t->failed) return UV_ENOTCONN;
    for (unsigned i = 0; i < nbufs; i++) {
        /* a memory BIO never blocks, but partial writes (one record at a
         * time) are on in the context */
        size_t off = 0;
        while (off < bufs[i].len) {
            size_t left = bufs[i].len - off;
            ERR_clear_error();
            int n = SSL_write(t->ssl, bufs[i].base + off, left > INT_MAX ? INT_MAX : (int)left);
            if (n <= 0) {
                set_error(t, SSL_get_error(t->ssl, n));
                return NSTREAM_ETLS;
            }
            off += (size_t)n;
        }
    }
    req->handle = (uv_stream_t *)&s->tcp;
    return send_out(t, req, cb);
}

static void link_unref(tls_link *t)
{
    if (--t->refs > 0) return;
    SSL_free(t->ssl);
    cm_free(t);
}

static void on_drain_closed(uv_handle_t *h) { link_unref(h->data); }

static void on_tcp_closed(uv_handle_t *h)
{
    tls_link *t = ((nstream *)h)->tls;
    if (t->close_cb) t->close_cb(h); /* may free the nstream */
    link_unref(t);
}

void nstream_close(nstream *s, uv_close_cb cb)
{
    tls_link *t = s->tls;
    if (!t) {
        uv_close((uv_handle_t *)&s->tcp, cb);
        return;
    }
    /* each handle's close releases one reference, in whichever order
     * libuv runs them */
    t->close_cb = cb;
    t->refs = 2;
    uv_close((uv_handle_t *)&t->drain, on_drain_closed);
    uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
}

int nstream_is_tls(const nstream *s) { return s->tls != NULL; }

const char *nstream_error(const nstream *s) { return s->tls ? s->tls->err : ""; }

int nstream_log_due(nstream_log_memo *m, const char *why, uint64_t now_ms)
{
    if (strncmp(m->why, why, sizeof(m->why) - 1) == 0 && m->at &&
        now_ms - m->at < NSTREAM_LOG_AGAIN_MS)
        return 0;
    snprintf(m->why, sizeof(m->why), "%s", why);
    m->at = now_ms ? now_ms : 1;
    return 1;
}
