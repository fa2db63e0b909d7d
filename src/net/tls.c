/* tls.c -- TLS for client connections, with OpenSSL 3; see tls.h.
 *
 * Settings, defaults and log messages follow Redis 7.0's tls.c, so that a
 * redis.conf's tls-* lines mean the same here and operators find the same
 * complaints in the log. */
#include "tls.h"

#include <errno.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../engine/config.h"

enum {
    PROTO_TLSv1 = 1 << 0,
    PROTO_TLSv1_1 = 1 << 1,
    PROTO_TLSv1_2 = 1 << 2,
    PROTO_TLSv1_3 = 1 << 3,
    PROTO_DEFAULT = PROTO_TLSv1_2 | PROTO_TLSv1_3,
};

struct tls_conn {
    SSL *ssl;
    char err[256];
};

static int is_set(const dstr s) { return s && dstr_len(s) > 0; }

/* tls-protocols: space-separated names, any case; empty for the safe
 * default.  Returns PROTO_* bits, or -1. */
static int parse_protocols(const dstr s, tls_log_fn log, void *priv)
{
    if (!is_set(s)) return PROTO_DEFAULT;
    static const struct {
        const char *name;
        int bit;
    } names[] = {{"tlsv1", PROTO_TLSv1},
                 {"tlsv1.1", PROTO_TLSv1_1},
                 {"tlsv1.2", PROTO_TLSv1_2},
                 {"tlsv1.3", PROTO_TLSv1_3}};
    int protocols = 0;
    const char *p = s, *end = s + dstr_len(s);
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        if (p == w) break;
        size_t i = 0;
        for (; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i].name) == (size_t)(p - w) &&
                strncasecmp(names[i].name, w, (size_t)(p - w)) == 0)
                break;
        if (i == sizeof(names) / sizeof(names[0])) {
            log(priv, LL_WARNING,
                "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', "
                "'TLSv1.2' and 'TLSv1.3'.");
            return -1;
        }
        protocols |= names[i].bit;
    }
    return protocols;
}

/* Hands tls-key-file-pass to OpenSSL when it opens an encrypted key. */
static int password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pass = u;
    if (!pass) return -1;
    size_t len = strlen(pass);
    if (len > (size_t)size) return -1;
    memcpy(buf, pass, len);
    return (int)len;
}

static void log_ssl_error(tls_log_fn log, void *priv, const char *what, const char *arg)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    if (arg)
        log(priv, LL_WARNING, "%s: %s: %s", what, arg, buf);
    else
        log(priv, LL_WARNING, "%s: %s", what, buf);
}

static void disable_protocols(SSL_CTX *ctx, int protocols)
{
    long opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION;
    if (!(protocols & PROTO_TLSv1)) opts |= SSL_OP_NO_TLSv1;
    if (!(protocols & PROTO_TLSv1_1)) opts |= SSL_OP_NO_TLSv1_1;
    if (!(protocols & PROTO_TLSv1_2)) opts |= SSL_OP_NO_TLSv1_2;
    if (!(protocols & PROTO_TLSv1_3)) opts |= SSL_OP_NO_TLSv1_3;
    SSL_CTX_set_options(ctx, opts);
}

/* Load tls-dh-params-file (DH parameters in PEM); without one, OpenSSL
 * picks parameters to match the certificate. */
static int load_dh_params(SSL_CTX *ctx, const tls_config *cfg, tls_log_fn log, void *priv)
{
    if (!is_set(cfg->dh_params_file)) {
        SSL_CTX_set_dh_auto(ctx, 1);
        return 0;
    }
    FILE *fp = fopen(cfg->dh_params_file, "r");
    if (!fp) {
        log(priv, LL_WARNING, "Failed to load %s: %s", cfg->dh_params_file, strerror(errno));
        return -1;
    }
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
        &pkey, "PEM", NULL, "DH", OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS, NULL, NULL);
    int ok = dctx && OSSL_DECODER_from_fp(dctx, fp);
    OSSL_DECODER_CTX_free(dctx);
    fclose(fp);
    if (!ok) {
        log(priv, LL_WARNING, "%s: failed to read DH params.", cfg->dh_params_file);
        EVP_PKEY_free(pkey);
        return -1;
    }
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, pkey) <= 0) {
        log_ssl_error(log, priv, "Failed to load DH params file", cfg->dh_params_file);
        EVP_PKEY_free(pkey);
        return -1;
    }
    return 0;
}

/* The certificate and key a context presents: the server's, or for the
 * connections a node opens to others tls-client-cert-file and its key
 * when set, else the server's (as Redis). */
static int load_identity(SSL_CTX *ctx, const tls_config *cfg, int client, tls_log_fn log,
                         void *priv)
{
    int own = client && is_set(cfg->client_cert_file);
    const char *cert = own ? cfg->client_cert_file : cfg->cert_file;
    const char *key = own ? cfg->client_key_file : cfg->key_file;
    const dstr pass = own ? cfg->client_key_file_pass : cfg->key_file_pass;
    SSL_CTX_set_default_passwd_cb(ctx, password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, is_set(pass) ? pass : NULL);
    int ok = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) <= 0)
        log_ssl_error(log, priv, "Failed to load certificate", cert);
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) <= 0)
        log_ssl_error(log, priv, "Failed to load private key", key);
    else
        ok = 1;
    /* The password is needed only while the key is read; the context
     * must not keep a pointer into a setting that may change. */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return ok ? 0 : -1;
}

/* What both sides' contexts share: protocols, trusted CAs, ciphers. */
static int set_common(SSL_CTX *ctx, const tls_config *cfg, int protocols, tls_log_fn log,
                      void *priv)
{
    disable_protocols(ctx, protocols);
    /* Replies are written from a chain of blocks that may move between a
     * short write and its retry. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* A peer that hangs up without close_notify (most do) has simply
     * closed its connection. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_SINGLE_DH_USE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    const char *ca_file = is_set(cfg->ca_cert_file) ? cfg->ca_cert_file : NULL;
    const char *ca_dir = is_set(cfg->ca_cert_dir) ? cfg->ca_cert_dir : NULL;
    if ((ca_file || ca_dir) && SSL_CTX_load_verify_locations(ctx, ca_file, ca_dir) <= 0) {
        log_ssl_error(log, priv, "Failed to configure CA certificate(s) file/directory", NULL);
        return -1;
    }
    if (is_set(cfg->ciphers) && !SSL_CTX_set_cipher_list(ctx, cfg->ciphers)) {
        log(priv, LL_WARNING, "Failed to configure ciphers: %s", cfg->ciphers);
        return -1;
    }
    if (is_set(cfg->ciphersuites) && !SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites)) {
        log(priv, LL_WARNING, "Failed to configure ciphersuites: %s", cfg->ciphersuites);
        return -1;
    }
    return 0;
}

/* The server's context: certificate, key, trusted CAs, protocols,
 * ciphers, session cache.  NULL with the reason logged. */
static SSL_CTX *make_ctx(const tls_config *cfg, int protocols, tls_log_fn log, void *priv)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_ssl_error(log, priv, "Failed to create a TLS context", NULL);
        return NULL;
    }
    if (cfg->prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (load_identity(ctx, cfg, 0, log, priv) != 0 ||
        set_common(ctx, cfg, protocols, log, priv) != 0)
        goto error;
    if (cfg->session_caching) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, cfg->session_cache_size);
        SSL_CTX_set_timeout(ctx, cfg->session_cache_timeout);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"cairn", 5);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (load_dh_params(ctx, cfg, log, priv) != 0) goto error;
    ERR_clear_error();
    return ctx;

error:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/* The context of the connections this node opens to other nodes
 * (tls-replication): its client certificate, and the peer's certificate
 * verified against the CA (the chain, not the host name, as Redis).
 * NULL with the reason logged. */
static SSL_CTX *make_client_ctx(const tls_config *cfg, int protocols, tls_log_fn log, void *priv)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        log_ssl_error(log, priv, "Failed to create a TLS context", NULL);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (load_identity(ctx, cfg, 1, log, priv) != 0 ||
        set_common(ctx, cfg, protocols, log, priv) != 0) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    ERR_clear_error();
    return ctx;
}

int tls_configure(void **ctx, void **client_ctx, const tls_config *cfg, tls_log_fn log,
                  void *log_priv)
{
    if (!is_set(cfg->cert_file)) {
        log(log_priv, LL_WARNING, "No tls-cert-file configured!");
        return -1;
    }
    if (!is_set(cfg->key_file)) {
        log(log_priv, LL_WARNING, "No tls-key-file configured!");
        return -1;
    }
    if ((cfg->auth_clients != TLS_CLIENT_AUTH_NO || cfg->cluster || cfg->replication) &&
        !is_set(cfg->ca_cert_file) && !is_set(cfg->ca_cert_dir)) {
        log(log_priv, LL_WARNING,
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!");
        return -1;
    }
    int protocols = parse_protocols(cfg->protocols, log, log_priv);
    if (protocols < 0) return -1;
    SSL_CTX *made = make_ctx(cfg, protocols, log, log_priv);
    if (!made) return -1;
    SSL_CTX *client = make_client_ctx(cfg, protocols, log, log_priv);
    if (!client) {
        SSL_CTX_free(made);
        return -1;
    }
    /* Reference counted: connections made with the old contexts keep
     * them until they close. */
    SSL_CTX_free(*ctx);
    *ctx = made;
    SSL_CTX_free(*client_ctx);
    *client_ctx = client;
    return 0;
}

void tls_ctx_free(void *ctx) { SSL_CTX_free(ctx); }

tls_conn *tls_conn_new(void *ctx, int fd, int auth_clients)
{
    tls_conn *t = cm_calloc(1, sizeof(*t));
    t->ssl = SSL_new(ctx);
    if (!t->ssl || !SSL_set_fd(t->ssl, fd)) {
        ERR_clear_error();
        SSL_free(t->ssl);
        cm_free(t);
        return NULL;
    }
    int mode = SSL_VERIFY_NONE;
    if (auth_clients == TLS_CLIENT_AUTH_YES)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (auth_clients == TLS_CLIENT_AUTH_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    SSL_set_verify(t->ssl, mode, NULL);
    SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_free(tls_conn *t)
{
    if (!t) return;
    /* close_notify, best effort: the socket is non-blocking and closes
     * next, so there is no waiting for the peer's. */
    if (SSL_is_init_finished(t->ssl)) SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    cm_free(t);
}

/* Turn the result of an SSL_read/SSL_write into a TLS_* code. */
static ssize_t io_result(tls_conn *t, int ret)
{
    if (ret > 0) return ret;
    int err = SSL_get_error(t->ssl, ret);
    switch (err) {
    case SSL_ERROR_WANT_READ: return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return TLS_WANT_READ;
        if (ERR_peek_error() == 0 && errno == 0) return TLS_CLOSED;
        snprintf(t->err, sizeof(t->err), "%s", errno ? strerror(errno) : "unexpected EOF");
        break;
    default: {
        unsigned long e = ERR_get_error();
        if (e)
            ERR_error_string_n(e, t->err, sizeof(t->err));
        else
            snprintf(t->err, sizeof(t->err), "TLS error %d", err);
    }
    }
    ERR_clear_error();
    return TLS_ERROR;
}

ssize_t tls_conn_read(tls_conn *t, void *buf, size_t len)
{
    errno = 0;
    int n = len > INT32_MAX ? INT32_MAX : (int)len;
    return io_result(t, SSL_read(t->ssl, buf, n));
}

ssize_t tls_conn_write(tls_conn *t, const void *buf, size_t len)
{
    errno = 0;
    int n = len > INT32_MAX ? INT32_MAX : (int)len;
    return io_result(t, SSL_write(t->ssl, buf, n));
}

int tls_conn_has_pending(tls_conn *t) { return SSL_has_pending(t->ssl); }

const char *tls_conn_error(const tls_conn *t) { return t->err; }
