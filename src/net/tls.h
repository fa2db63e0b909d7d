/* tls.h -- TLS for client connections, with OpenSSL 3.
 *
 * The network layer polls sockets for readiness and makes its own system
 * calls (client.h); a TLS connection is the same socket with an SSL object
 * on it, whose reads and writes go through OpenSSL's socket BIO.  This
 * module holds everything that knows OpenSSL: the server's context, built
 * from the tls-* settings and replaced whole when they change (a connection
 * keeps the context it started with, so certificates are reloaded without
 * disturbing anyone), and the per-connection reads, writes and handshake. */
#ifndef CAIRN_TLS_H
#define CAIRN_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "../ds/dstr.h"

/* tls-auth-clients, with Redis's numbering. */
enum { TLS_CLIENT_AUTH_NO = 0, TLS_CLIENT_AUTH_YES = 1, TLS_CLIENT_AUTH_OPTIONAL = 2 };

/* The tls-* settings (part of the server's config table). */
typedef struct tls_config {
    dstr cert_file, key_file, key_file_pass;
    dstr client_cert_file, client_key_file, client_key_file_pass;
    dstr dh_params_file, ca_cert_file, ca_cert_dir;
    dstr protocols, ciphers, ciphersuites;
    int auth_clients; /* TLS_CLIENT_AUTH_*, read at every accept */
    int prefer_server_ciphers;
    int session_caching;
    int session_cache_size;
    int session_cache_timeout;
    /* tls-replication: the connections this node opens to other nodes
     * (Raft peers, forwarded writes, a REPLICAOF master) are TLS clients
     * (tls_link.h).  tls-cluster is accepted and acts on nothing. */
    int replication, cluster;
} tls_config;

typedef struct tls_conn tls_conn;

/* Results of tls_conn_read/write besides a byte count (> 0). */
enum {
    TLS_CLOSED = 0,      /* the peer closed the connection */
    TLS_WANT_READ = -1,  /* retry once the socket is readable */
    TLS_WANT_WRITE = -2, /* retry once the socket is writable */
    TLS_ERROR = -3,      /* the connection is broken: see tls_conn_error() */
};

typedef void (*tls_log_fn)(void *priv, int level, const char *fmt, ...);

/* Build a server context and a client context (for the connections this
 * node opens to others) from cfg and, if both work, make them the ones new
 * connections get (the previous ones live on in the connections using
 * them).  *ctx and *client_ctx are SSL_CTXs, or NULL before the first
 * success.  Returns 0, or -1 with the reason logged and both unchanged. */
int tls_configure(void **ctx, void **client_ctx, const tls_config *cfg, tls_log_fn log,
                  void *log_priv);
/* Release a context made by tls_configure (NULL is fine). */
void tls_ctx_free(void *ctx);

/* A server-side connection on the accepted socket fd, verifying client
 * certificates as auth_clients says.  NULL if OpenSSL fails. */
tls_conn *tls_conn_new(void *ctx, int fd, int auth_clients);
/* Send close_notify if the connection got that far, then free it. */
void tls_conn_free(tls_conn *t);
/* Read up to len decrypted bytes (the handshake is made on the way). */
ssize_t tls_conn_read(tls_conn *t, void *buf, size_t len);
/* Write len bytes (or part of them); after TLS_WANT_*, call again with
 * the same bytes. */
ssize_t tls_conn_write(tls_conn *t, const void *buf, size_t len);
/* Decrypted or received bytes OpenSSL holds that a read would return
 * without the socket becoming readable again. */
int tls_conn_has_pending(tls_conn *t);
/* Why the last call failed with TLS_ERROR. */
const char *tls_conn_error(const tls_conn *t);

#endif
