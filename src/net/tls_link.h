/* tls_link.h -- the connections a node opens to other nodes, over TCP or
 * TLS (tls-replication).
 *
 * Raft peer links (peer.h), forwarded writes (forward.h) and the link to a
 * REPLICAOF master are libuv TCP streams.  An nstream is such a stream
 * and, when a TLS context is given at connect, an OpenSSL client on memory
 * BIOs between the socket and its owner: ciphertext travels through
 * libuv's own reads and writes, so the handshake and everything after it
 * are non-blocking on the loop.  The owner calls nstream_* where it called
 * uv_*, with the same callbacks (they see &s->tcp, whose data is the
 * owner's); without TLS each call is the uv_* call itself.
 *
 * With TLS, the connect callback runs once the handshake is done (the
 * peer's certificate verified against the CA), or with NSTREAM_ETLS if it
 * failed; a read callback gets NSTREAM_ETLS for a broken record or an
 * alert (a TLS 1.3 server refuses a client certificate after the client's
 * handshake is done).  nstream_error() then says why, in OpenSSL's words. */
#ifndef CAIRN_TLS_LINK_H
#define CAIRN_TLS_LINK_H

#include <stdint.h>
#include <uv.h>

typedef struct tls_link tls_link;

typedef struct nstream {
    uv_tcp_t tcp;  /* first: the handle the owner's callbacks see */
    tls_link *tls; /* NULL: plain TCP */
} nstream;

/* The status of a connect or read that failed in TLS itself. */
#define NSTREAM_ETLS UV_EPROTO

/* uv_tcp_init; the stream is plain until a TLS connect. */
int nstream_init(uv_loop_t *loop, nstream *s);
/* Connect to addr, then make a TLS handshake as a client of tls_ctx (an
 * SSL_CTX from tls_configure) unless it is NULL; cb gets req. */
int nstream_connect(nstream *s, uv_connect_t *req, const struct sockaddr *addr, void *tls_ctx,
                    uv_connect_cb cb);
int nstream_read_start(nstream *s, uv_alloc_cb alloc, uv_read_cb read);
int nstream_read_stop(nstream *s);
/* Write bufs (copied now with TLS; kept until cb without, as uv_write). */
int nstream_write(uv_write_t *req, nstream *s, const uv_buf_t bufs[], unsigned nbufs,
                  uv_write_cb cb);
/* uv_close; cb may free the memory holding s. */
void nstream_close(nstream *s, uv_close_cb cb);
/* Is it a TLS connection? */
int nstream_is_tls(const nstream *s);
/* Why the last NSTREAM_ETLS (or other failure during the handshake) came;
 * "" if none. */
const char *nstream_error(const nstream *s);

/* The last failure logged on a link that retries: the same one is logged
 * again only after NSTREAM_LOG_AGAIN_MS, so a peer that keeps refusing
 * does not fill the log. */
#define NSTREAM_LOG_AGAIN_MS 60000
typedef struct nstream_log_memo {
    char why[128];
    uint64_t at;
} nstream_log_memo;
/* Should why be logged at now_ms (uv_now)?  Remembers it if so. */
int nstream_log_due(nstream_log_memo *m, const char *why, uint64_t now_ms);

#endif
