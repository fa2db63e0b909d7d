/* replica.c -- cairn-server as a replica of a Redis master (REPLICAOF
 * host port, or the replicaof directive): how a Redis user moves a live
 * dataset to Cairn, then cuts over with REPLICAOF NO ONE.
 *
 * The link goes through these states, all on the server's loop:
 *   CONNECT     waiting for the cron to (re)connect, once a second
 *   CONNECTING  resolving the master's name and connecting
 *   HANDSHAKE   PING, then AUTH (masterauth/masteruser), REPLCONF
 *               listening-port and REPLCONF capa eof capa psync2
 *               pipelined as Redis does, then PSYNC
 *   TRANSFER    a full resync: the master's RDB ("$<len>" then the bytes,
 *               or diskless "$EOF:<40-byte mark>" ... mark) goes to a
 *               temporary file
 *   LOADING     the file is loaded in slices by rdb_file.c's loader while
 *               clients get -LOADING; the socket is not read meanwhile
 *               (the master buffers what comes after)
 *   CONNECTED   the master's command stream is applied as it arrives
 *
 * Applying: the master's stream is what Redis propagates, effects with
 * absolute times (SET ... PXAT, PEXPIREAT, DELs of keys it expired,
 * scripts as their writes in MULTI/EXEC).  Each command is applied as a
 * log entry of this server (its clock, a fresh seed, the db the stream
 * SELECTed) through engine_apply_entry(), with e->relaying set so its
 * effects are logged like a client's write (DESIGN rule 4).  A replica
 * does not originate: it expires and evicts nothing itself, and reads
 * of keys past their time find nothing (as Redis replicas).
 *
 * A full resync replaces the dataset: the append-only log is switched off
 * (persist_resync_begin), the old data flushed, the RDB loaded, then the
 * log restarts from a new base of the loaded data (persist_resync_end);
 * until that base is written the old manifest stays the one on disk.
 * After a link loss the replica asks for the stream from its offset
 * (PSYNC <replid> <offset+1>); the master answers +CONTINUE or starts a
 * full resync. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/blocking.h"
#include "../engine/cmd.h"
#include "../engine/multi.h"
#include "../log/fileio.h"
#include "../log/rdb_file.h"
#include "server.h"

#define REPL_READ          (64 * 1024)
#define REPL_MARK_LEN      40
#define REPL_LOAD_SLICE    2000 /* records of the RDB loaded per loop iteration */
#define REPL_RETRY_MS      1000
#define REPL_MAX_LINE      4096 /* a handshake reply or a bulk header */
#define REPL_ERRORS_LOGGED 100

static const char msg_readonly[] = "READONLY You can't write against a read only replica.";

enum {
    RS_NONE = 0,
    RS_CONNECT,
    RS_CONNECTING,
    RS_HANDSHAKE,
    RS_TRANSFER,
    RS_LOADING,
    RS_CONNECTED,
};

/* The handshake replies awaited, in order. */
enum { HS_PING, HS_AUTH, HS_PORT, HS_CAPA, HS_PSYNC };

typedef struct repl_link {
    nstream s; /* TCP, or TLS with tls-replication */
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    struct replica *r; /* NULL once dropped */
    int port;
    int resolving; /* the name lookup owns the link until it answers */
    int tcp_open;
} repl_link;

typedef struct repl_write {
    uv_write_t req;
    dstr data;
} repl_write;

struct replica {
    cairn_server *srv;
    int state;
    dstr host;
    int port;
    repl_link *link;
    dstr in; /* bytes read from the master, not yet used */
    int hs_step;
    /* The master's replication id and the offset of the stream applied
     * (slave_repl_offset); have_data: our dataset is that (replid,
     * offset), so a reconnection may continue (PSYNC). */
    char replid[41];
    long long offset;
    int have_data;
    /* Inside the master's MULTI: the offset where it began, to go back
     * to if the link breaks before its EXEC. */
    long long multi_offset;
    /* TRANSFER. */
    int tfd;
    dstr tmpfile;
    long long bulk_total; /* -1: diskless, ends with mark */
    long long bulk_read;
    int header_done;
    char mark[REPL_MARK_LEN];
    char tail[REPL_MARK_LEN];
    size_t tail_len;
    /* LOADING. */
    rdb_loader *loader;
    uv_idle_t idle;
    /* CONNECTED: the stream, applied as the master session. */
    resp_parser parser;
    cslice *argv;
    int argv_cap;
    cairn_session sess;
    rbuf out;
    int64_t last_io_ms, last_try_ms, last_ack_ms, down_since_ms, sync_start_ms;
    long long errors;
    int shutting_down;
};

static int64_t now_ms(void) { return clock_mono_ms(); }

static void rlog(replica *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rlog(replica *r, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    server_log(r->srv, level, "%s", msg);
}

/* ---------------------------------------------------------------------- */
/* The connection                                                          */
/* ---------------------------------------------------------------------- */

static void on_link_closed(uv_handle_t *h) { cm_free(h->data); }

static void link_close(repl_link *l)
{
    l->r = NULL;
    if (l->resolving) return; /* on_resolved frees it */
    if (l->tcp_open)
        nstream_close(&l->s, on_link_closed);
    else
        cm_free(l);
}

static void transfer_abort(replica *r)
{
    if (r->tfd >= 0) close(r->tfd);
    r->tfd = -1;
    if (r->tmpfile) unlink(r->tmpfile);
    dstr_free(r->tmpfile);
    r->tmpfile = NULL;
}

/* The master's MULTI that did not end: forgotten, and the offset goes back
 * to where it began so that a PSYNC asks for it again. */
static void stream_reset(replica *r)
{
    if (r->sess.flags & SESS_MULTI) r->offset = r->multi_offset;
    multi_session_reset(r->srv->engine, &r->sess);
    resp_parser_free(&r->parser);
    resp_parser_init(&r->parser, (long long)CONFIG_MAX_QUERY_LEN);
    dstr_set_len(r->in, 0);
}

/* The link is gone (an error, the master closed it, a timeout): try again
 * from the cron.  A load in progress goes on: the dataset it makes is the
 * master's at the offset of the resync, which a PSYNC can continue. */
static void link_lost(replica *r, const char *why)
{
    if (r->link) {
        link_close(r->link);
        r->link = NULL;
    }
    if (r->state == RS_NONE) return;
    if (why) rlog(r, LL_WARNING, "%s", why);
    if (r->state == RS_CONNECTED) {
        rlog(r, LL_NOTICE, "Connection with master lost.");
        r->down_since_ms = now_ms();
    }
    if (r->state == RS_TRANSFER) transfer_abort(r);
    if (r->state != RS_LOADING) {
        stream_reset(r);
        r->state = RS_CONNECT;
    }
    r->last_try_ms = now_ms();
}

static void on_written(uv_write_t *req, int status)
{
    repl_write *w = (repl_write *)req;
    repl_link *l = req->handle->data;
    dstr_free(w->data);
    cm_free(w);
    if (status < 0 && l->r && l->r->link == l) link_lost(l->r, "Error writing to MASTER");
}

static void link_write(replica *r, dstr data)
{
    if (!r->link) {
        dstr_free(data);
        return;
    }
    repl_write *w = cm_malloc(sizeof(*w));
    w->data = data;
    uv_buf_t b = uv_buf_init(data, (unsigned)dstr_len(data));
    if (nstream_write(&w->req, &r->link->s, &b, 1, on_written) != 0) {
        dstr_free(data);
        cm_free(w);
        link_lost(r, "Error writing to MASTER");
    }
}

static dstr add_command(dstr out, int argc, const char *const *argv)
{
    out = dstr_catfmt(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        out = dstr_catfmt(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    return out;
}

static void send_ack(replica *r)
{
    char off[32];
    snprintf(off, sizeof(off), "%lld", r->offset);
    const char *argv[] = {"REPLCONF", "ACK", off};
    link_write(r, add_command(dstr_with_cap(64), 3, argv));
    r->last_ack_ms = now_ms();
}

static void process_input(replica *r);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    repl_link *l = h->data;
    if (!l->r) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    replica *r = l->r;
    r->in = dstr_reserve(r->in, REPL_READ);
    *buf = uv_buf_init(r->in + dstr_len(r->in), REPL_READ);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    repl_link *l = s->data;
    replica *r = l->r;
    if (!r || r->link != l) return;
    if (nread < 0) {
        char why[384];
        if (nread == NSTREAM_ETLS)
            snprintf(why, sizeof(why), "Error reading from MASTER: %s", nstream_error(&l->s));
        else
            snprintf(why, sizeof(why), "%s",
                     nread == UV_EOF ? "MASTER closed the connection"
                                     : "Error reading from MASTER");
        link_lost(r, why);
        return;
    }
    if (nread == 0) return;
    dstr_set_len(r->in, dstr_len(r->in) + (size_t)nread);
    r->srv->net.stats.net_input_bytes += nread;
    r->last_io_ms = now_ms();
    process_input(r);
}

static void send_ping(replica *r)
{
    const char *argv[] = {"PING"};
    link_write(r, add_command(dstr_with_cap(32), 1, argv));
    r->hs_step = HS_PING;
}

static void on_connect(uv_connect_t *req, int status)
{
    repl_link *l = req->data;
    replica *r = l->r;
    if (!r || r->link != l) return;
    if (status < 0) {
        char why[384];
        snprintf(why, sizeof(why), "Error condition on socket for SYNC: %s%s",
                 status == NSTREAM_ETLS ? "TLS handshake failed: " : "",
                 status == NSTREAM_ETLS ? nstream_error(&l->s) : uv_strerror(status));
        link_lost(r, why);
        return;
    }
    rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync started");
    uv_tcp_nodelay(&l->s.tcp, 1);
    r->state = RS_HANDSHAKE;
    r->last_io_ms = now_ms();
    nstream_read_start(&l->s, on_alloc, on_read);
    send_ping(r);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    repl_link *l = req->data;
    replica *r = l->r;
    l->resolving = 0;
    if (!r || status < 0 || !res) {
        if (res) uv_freeaddrinfo(res);
        if (r && r->link == l) {
            char why[256];
            snprintf(why, sizeof(why), "Unable to connect to MASTER: %s",
                     status < 0 ? uv_strerror(status) : "no address");
            link_lost(r, why);
        } else {
            cm_free(l);
        }
        return;
    }
    struct sockaddr_storage addr;
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    uv_freeaddrinfo(res);
    if (addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)l->port);
    else
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)l->port);
    int rc = nstream_init(r->srv->net.loop, &l->s);
    if (rc == 0) {
        l->tcp_open = 1;
        l->s.tcp.data = l;
        l->creq.data = l;
        rc = nstream_connect(&l->s, &l->creq, (struct sockaddr *)&addr, net_node_tls(&r->srv->net),
                             on_connect);
    }
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof(why), "Unable to connect to MASTER: %s", uv_strerror(rc));
        link_lost(r, why);
    }
}

static void start_connect(replica *r)
{
    repl_link *l = cm_calloc(1, sizeof(*l));
    l->r = r;
    l->port = r->port;
    l->gai.data = l;
    l->resolving = 1;
    r->link = l;
    r->state = RS_CONNECTING;
    r->last_try_ms = r->last_io_ms = now_ms();
    rlog(r, LL_NOTICE, "Connecting to MASTER %s:%d", r->host, r->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(r->srv->net.loop, &l->gai, on_resolved, r->host, NULL, &hints);
    if (rc != 0) {
        r->link = NULL;
        cm_free(l);
        r->state = RS_CONNECT;
        rlog(r, LL_WARNING, "Unable to connect to MASTER: %s", uv_strerror(rc));
    }
}

/* ---------------------------------------------------------------------- */
/* Handshake                                                               */
/* ---------------------------------------------------------------------- */

/* The next "...\r\n" line of the input, without its CRLF, taken out of
 * it into line (NUL-terminated).  0 if incomplete, -1 if too long. */
static int take_line(replica *r, char *line, size_t size)
{
    char *nl = memchr(r->in, '\n', dstr_len(r->in));
    if (!nl) return dstr_len(r->in) > REPL_MAX_LINE ? -1 : 0;
    size_t n = (size_t)(nl - r->in), keep = n;
    if (keep && r->in[keep - 1] == '\r') keep--;
    if (keep >= size) return -1;
    memcpy(line, r->in, keep);
    line[keep] = '\0';
    memmove(r->in, nl + 1, dstr_len(r->in) - n - 1);
    dstr_set_len(r->in, dstr_len(r->in) - n - 1);
    return 1;
}

static void send_handshake(replica *r)
{
    const host_config *cfg = &r->srv->cfg;
    dstr out = dstr_with_cap(256);
    if (cfg->masterauth && cfg->masterauth[0]) {
        /* AUTH [masteruser] masterauth */
        int user = cfg->masteruser && cfg->masteruser[0];
        const char *argv[] = {"AUTH", user ? cfg->masteruser : cfg->masterauth, cfg->masterauth};
        out = add_command(out, user ? 3 : 2, argv);
        r->hs_step = HS_AUTH;
    } else {
        r->hs_step = HS_PORT;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->port);
    const char *lp[] = {"REPLCONF", "listening-port", port};
    out = add_command(out, 3, lp);
    const char *capa[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    out = add_command(out, 5, capa);
    link_write(r, out);
}

/* After the REPLCONFs' replies: PSYNC may not be pipelined behind
 * commands whose replies are not out yet (the master refuses it). */
static void send_psync(replica *r)
{
    char off[32];
    snprintf(off, sizeof(off), "%lld", r->offset + 1);
    const char *psync[] = {"PSYNC", r->have_data ? r->replid : "?", r->have_data ? off : "-1"};
    if (r->have_data)
        rlog(r, LL_NOTICE, "Trying a partial resynchronization (request %s:%s).", r->replid, off);
    else
        rlog(r, LL_NOTICE, "Partial resynchronization not possible (no cached master)");
    link_write(r, add_command(dstr_with_cap(128), 3, psync));
}

static int begin_transfer(replica *r, const char *line)
{
    char id[64];
    long long off;
    if (sscanf(line, "+FULLRESYNC %63s %lld", id, &off) != 2 || strlen(id) != 40) {
        rlog(r, LL_WARNING, "Master replied with wrong +FULLRESYNC syntax.");
        return -1;
    }
    memcpy(r->replid, id, 41);
    r->offset = off;
    r->have_data = 0;
    rlog(r, LL_NOTICE, "Full resync from master: %s:%lld", id, off);
    char name[64];
    snprintf(name, sizeof(name), "temp-%lld.%d.rdb", (long long)time(NULL), (int)getpid());
    r->tmpfile = dstr_from_cstr(name);
    r->tfd = open_create_trunc(name);
    if (r->tfd < 0) {
        rlog(r, LL_WARNING,
             "Opening the temp file needed for MASTER <-> REPLICA synchronization: %s",
             strerror(errno));
        return -1;
    }
    r->state = RS_TRANSFER;
    r->header_done = 0;
    r->bulk_read = 0;
    r->tail_len = 0;
    r->sync_start_ms = now_ms();
    return 0;
}

static int psync_reply(replica *r, const char *line)
{
    if (!strncmp(line, "+FULLRESYNC", 11)) return begin_transfer(r, line);
    if (!strncmp(line, "+CONTINUE", 9)) {
        const char *id = line + 9;
        while (*id == ' ')
            id++;
        if (strlen(id) == 40 && strcmp(id, r->replid) != 0) {
            rlog(r, LL_NOTICE, "Master replication ID changed to %s", id);
            memcpy(r->replid, id, 41);
        }
        rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        r->state = RS_CONNECTED;
        r->down_since_ms = 0;
        return 0;
    }
    if (!strncmp(line, "-NOMASTERLINK", 13) || !strncmp(line, "-LOADING", 8)) {
        rlog(r, LL_NOTICE, "Master is currently unable to PSYNC but should be in the future: %s",
             line);
        return -1;
    }
    rlog(r, LL_WARNING, "Unexpected reply to PSYNC from master: %s", line);
    return -1;
}

/* One reply of the handshake.  Returns 0, or -1 to drop the link. */
static int handshake_reply(replica *r, const char *line)
{
    switch (r->hs_step) {
    case HS_PING:
        /* A master that wants AUTH says so to PING: that is fine. */
        if (line[0] == '-' && strncmp(line, "-NOAUTH", 7) && strncmp(line, "-NOPERM", 7) &&
            strncmp(line, "-ERR operation not permitted", 28)) {
            rlog(r, LL_WARNING, "Error reply to PING from master: '%s'", line);
            return -1;
        }
        rlog(r, LL_NOTICE, "Master replied to PING, replication can continue...");
        send_handshake(r);
        return 0;
    case HS_AUTH:
        if (line[0] == '-') {
            rlog(r, LL_WARNING, "Unable to AUTH to MASTER: %s", line);
            return -1;
        }
        r->hs_step = HS_PORT;
        return 0;
    case HS_PORT:
        if (line[0] == '-')
            rlog(r, LL_NOTICE,
                 "(Non critical) Master does not understand REPLCONF listening-port: %s", line);
        r->hs_step = HS_CAPA;
        return 0;
    case HS_CAPA:
        if (line[0] == '-')
            rlog(r, LL_NOTICE, "(Non critical) Master does not understand REPLCONF capa: %s", line);
        r->hs_step = HS_PSYNC;
        send_psync(r);
        return 0;
    default: return psync_reply(r, line);
    }
}

/* ---------------------------------------------------------------------- */
/* Transfer                                                                */
/* ---------------------------------------------------------------------- */

/* "$<len>" or "$EOF:<mark>", after the newlines a master sends while it
 * prepares the RDB.  1 once read, 0 if more is needed, -1 on error. */
static int transfer_header(replica *r)
{
    size_t skip = 0;
    while (skip < dstr_len(r->in) && r->in[skip] == '\n')
        skip++;
    if (skip) {
        memmove(r->in, r->in + skip, dstr_len(r->in) - skip);
        dstr_set_len(r->in, dstr_len(r->in) - skip);
    }
    char line[128];
    int rc = take_line(r, line, sizeof(line));
    if (rc <= 0) return rc;
    if (line[0] == '-') {
        rlog(r, LL_WARNING, "MASTER aborted replication with an error: %s", line);
        return -1;
    }
    if (line[0] != '$') {
        rlog(r, LL_WARNING,
             "Bad protocol from MASTER, the first byte is not '$' (we received '%s')", line);
        return -1;
    }
    if (!strncmp(line, "$EOF:", 5) && strlen(line) == 5 + REPL_MARK_LEN) {
        memcpy(r->mark, line + 5, REPL_MARK_LEN);
        r->bulk_total = -1;
        rlog(r, LL_NOTICE,
             "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
    } else {
        char *end;
        r->bulk_total = strtoll(line + 1, &end, 10);
        if (*end || r->bulk_total < 0) {
            rlog(r, LL_WARNING, "Bad bulk length from MASTER: %s", line);
            return -1;
        }
        rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync: receiving %lld bytes from master to disk",
             r->bulk_total);
    }
    r->header_done = 1;
    return 1;
}

/* Remember the last REPL_MARK_LEN bytes received (the diskless end mark). */
static void keep_tail(replica *r, const char *p, size_t n)
{
    if (n >= REPL_MARK_LEN) {
        memcpy(r->tail, p + n - REPL_MARK_LEN, REPL_MARK_LEN);
        r->tail_len = REPL_MARK_LEN;
        return;
    }
    size_t keep = r->tail_len + n > REPL_MARK_LEN ? REPL_MARK_LEN - n : r->tail_len;
    memmove(r->tail, r->tail + r->tail_len - keep, keep);
    memcpy(r->tail + keep, p, n);
    r->tail_len = keep + n;
}

static void start_loading(replica *r);

/* Payload bytes to the file.  Returns 1 once the RDB is complete, 0 if
 * more is needed, -1 on error. */
static int transfer_body(replica *r)
{
    size_t n = dstr_len(r->in);
    if (r->bulk_total >= 0 && (long long)n > r->bulk_total - r->bulk_read)
        n = (size_t)(r->bulk_total - r->bulk_read);
    if (n && write_all(r->tfd, r->in, n, NULL) != 0) {
        rlog(r, LL_WARNING,
             "Write error or short write writing to the DB dump file needed for MASTER <-> "
             "REPLICA synchronization: %s",
             strerror(errno));
        return -1;
    }
    if (r->bulk_total < 0) keep_tail(r, r->in, n);
    r->bulk_read += (long long)n;
    memmove(r->in, r->in + n, dstr_len(r->in) - n);
    dstr_set_len(r->in, dstr_len(r->in) - n);
    if (r->bulk_total >= 0) return r->bulk_read == r->bulk_total;
    if (r->tail_len < REPL_MARK_LEN || memcmp(r->tail, r->mark, REPL_MARK_LEN) != 0) return 0;
    /* The mark is not part of the RDB. */
    if (ftruncate(r->tfd, (off_t)(r->bulk_read - REPL_MARK_LEN)) != 0) {
        rlog(r, LL_WARNING, "Can't truncate the RDB received: %s", strerror(errno));
        return -1;
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */
/* ---------------------------------------------------------------------- */

static void apply_words(replica *r, int argc, const char *const *words)
{
    cslice argv[4];
    for (int i = 0; i < argc; i++)
        argv[i] = (cslice){words[i], strlen(words[i])};
    cairn_engine *e = r->srv->engine;
    cairn_entry ent = {0, net_command_time_us(&r->srv->net) / 1000, 0, argc, argv};
    if (engine_apply_entry(e, &r->sess, &ent, &r->out) != 0)
        rlog(r, LL_WARNING, "Flushing the old data before loading the master's failed");
    rbuf_reset(&r->out);
}

static void load_failed(replica *r, const char *why)
{
    rlog(r, LL_WARNING, "Failed trying to load the MASTER synchronization DB from disk: %s", why);
    rdb_loader_free(r->loader);
    r->loader = NULL;
    uv_idle_stop(&r->idle);
    /* What was loaded is not the master's data: drop it and sync again. */
    const char *flush[] = {"FLUSHALL"};
    apply_words(r, 1, flush);
    r->srv->engine->loading = 0;
    persist_resync_end(r->srv->persist);
    transfer_abort(r);
    r->have_data = 0;
    r->state = RS_CONNECT;
    link_lost(r, NULL);
}

/* The dataset is the master's at r->offset: keep the file as the
 * snapshot (as Redis keeps it as its dbfilename), restart the log from
 * it, and go on with the stream. */
static void load_done(replica *r)
{
    cairn_server *srv = r->srv;
    const rdb_load_stats *st = rdb_loader_stats(r->loader);
    rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync: Finished with success (%lld keys in %.3f s)",
         st->keys, (double)(now_ms() - r->sync_start_ms) / 1000);
    rdb_loader_free(r->loader);
    r->loader = NULL;
    uv_idle_stop(&r->idle);
    srv->engine->loading = 0;
    srv->engine->stats.dirty = 0;
    if (rename(r->tmpfile, srv->engine->cfg.dbfilename) != 0) {
        rlog(r, LL_WARNING, "Failed trying to rename the temp DB into %s: %s",
             srv->engine->cfg.dbfilename, strerror(errno));
        unlink(r->tmpfile);
    }
    dstr_free(r->tmpfile);
    r->tmpfile = NULL;
    const char *why = persist_resync_end(srv->persist);
    if (why) rlog(r, LL_WARNING, "Restarting the append only file after the sync failed: %s", why);
    r->have_data = 1;
    r->down_since_ms = 0;
    if (!r->link) { /* lost while loading: what followed the RDB comes again */
        stream_reset(r);
        r->state = RS_CONNECT;
        return;
    }
    r->state = RS_CONNECTED;
    send_ack(r);
    nstream_read_start(&r->link->s, on_alloc, on_read);
    process_input(r);
}

static void on_load_slice(uv_idle_t *h)
{
    replica *r = h->data;
    char why[512];
    int rc = rdb_loader_step(r->loader, REPL_LOAD_SLICE, why, sizeof(why));
    if (rc == RDB_LOAD_ERROR)
        load_failed(r, why);
    else if (rc == RDB_LOAD_DONE)
        load_done(r);
}

static void rdb_warn(void *priv, const char *msg) { rlog(priv, LL_NOTICE, "%s", msg); }

/* The RDB is in the temporary file: replace the dataset with it. */
static void start_loading(replica *r)
{
    cairn_server *srv = r->srv;
    if (sync_fd(r->tfd) != 0 || close(r->tfd) != 0)
        rlog(r, LL_WARNING, "Failed trying to sync the temp DB to disk: %s", strerror(errno));
    r->tfd = -1;
    rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync: Flushing old data");
    persist_resync_begin(srv->persist);
    const char *flushall[] = {"FLUSHALL"}, *fflush[] = {"FUNCTION", "FLUSH"};
    apply_words(r, 1, flushall);
    apply_words(r, 2, fflush);
    rlog(r, LL_NOTICE, "MASTER <-> REPLICA sync: Loading DB in memory");
    char err[512];
    int fd = open_read(r->tmpfile);
    r->loader = fd < 0 ? NULL
                       : rdb_loader_new(fd, srv->engine, net_command_time_us(&srv->net) / 1000,
                                        rdb_warn, r, err, sizeof(err));
    if (fd < 0) snprintf(err, sizeof(err), "%s", strerror(errno));
    if (r->link) nstream_read_stop(&r->link->s);
    r->state = RS_LOADING;
    if (!r->loader) {
        srv->engine->loading = 1;
        load_failed(r, err);
        return;
    }
    srv->engine->loading = 1;
    uv_idle_start(&r->idle, on_load_slice);
}

/* ---------------------------------------------------------------------- */
/* The command stream                                                      */
/* ---------------------------------------------------------------------- */

static void apply_stream_command(replica *r, int argc, const cslice *argv)
{
    cairn_engine *e = r->srv->engine;
    if (slice_is(&argv[0], "replconf")) {
        /* The master asks where we are (WAIT, failover): answer at once. */
        if (argc >= 2 && slice_is(&argv[1], "getack")) send_ack(r);
        return;
    }
    if (slice_is(&argv[0], "multi") && !(r->sess.flags & SESS_MULTI)) r->multi_offset = r->offset;
    cairn_entry ent = {(uint32_t)r->sess.db, net_command_time_us(&r->srv->net) / 1000,
                       crand_next(&e->rng), argc, argv};
    e->relaying = 1;
    int rc = engine_apply_entry(e, &r->sess, &ent, &r->out);
    e->relaying = 0;
    if (rc != 0 && r->errors++ < REPL_ERRORS_LOGGED) {
        char why[256];
        rbuf_first_error(&r->out, why, sizeof(why));
        rlog(r, LL_WARNING,
             "== CRITICAL == This replica got an error applying a command from its master: '%s' "
             "after processing the command '%.*s'",
             why, (int)(argv[0].len > 64 ? 64 : argv[0].len), argv[0].ptr);
    }
    rbuf_reset(&r->out);
}

/* Apply every complete command of the input.  The offset moves by the
 * bytes of each command (and of the blank lines between), after it ran:
 * a REPLCONF GETACK reports the offset before itself, as Redis does. */
static int process_stream(replica *r)
{
    resp_parser *p = &r->parser;
    size_t last = p->consumed;
    for (;;) {
        int rc = resp_parse(p, r->in, dstr_len(r->in));
        if (rc == RESP_ERROR) {
            rlog(r, LL_WARNING, "Protocol error from MASTER: %s", p->err);
            return -1;
        }
        if (rc == RESP_AGAIN) break;
        if (p->argc > r->argv_cap) {
            r->argv_cap = p->argc * 2;
            r->argv = cm_realloc(r->argv, sizeof(cslice) * (size_t)r->argv_cap);
        }
        for (int i = 0; i < p->argc; i++)
            r->argv[i] = (cslice){r->in + p->off[i], p->len[i]};
        apply_stream_command(r, p->argc, r->argv);
        r->offset += (long long)(p->consumed - last);
        last = p->consumed;
    }
    r->offset += (long long)(p->consumed - last);
    if (p->consumed) {
        size_t left = dstr_len(r->in) - p->consumed;
        memmove(r->in, r->in + p->consumed, left);
        dstr_set_len(r->in, left);
        resp_parser_shift(p, p->consumed);
    }
    /* Make the writes durable as the log's policy asks. */
    const net_log_hooks *h = &r->srv->net.hooks;
    if (h->commit) h->commit(h->priv);
    return 0;
}

static void process_input(replica *r)
{
    while (r->link && dstr_len(r->in)) {
        int rc = 0;
        if (r->state == RS_HANDSHAKE) {
            char line[REPL_MAX_LINE];
            rc = take_line(r, line, sizeof(line));
            if (rc < 0) rlog(r, LL_WARNING, "Reply from MASTER too long in the handshake");
            if (rc > 0) rc = handshake_reply(r, line) == 0 ? 1 : -1;
        } else if (r->state == RS_TRANSFER && !r->header_done) {
            rc = transfer_header(r);
            if (rc > 0 && r->bulk_total == 0) {
                start_loading(r);
                return;
            }
        } else if (r->state == RS_TRANSFER) {
            rc = transfer_body(r);
            if (rc > 0) {
                start_loading(r);
                return;
            }
        } else if (r->state == RS_CONNECTED) {
            if (process_stream(r) != 0)
                rc = -1;
            else
                return;
        } else {
            return;
        }
        if (rc < 0) {
            link_lost(r, NULL);
            return;
        }
        if (rc == 0) return;
    }
}

/* ---------------------------------------------------------------------- */
/* Becoming a replica, and a master again                                  */
/* ---------------------------------------------------------------------- */

static void set_replicaof(cairn_server *srv, const char *host, int port)
{
    dstr v = host ? dstr_catfmt(dstr_with_cap(64), "%s %d", host, port) : dstr_from_cstr("");
    dstr_free(srv->cfg.replicaof);
    srv->cfg.replicaof = v;
}

static void update_engine(replica *r)
{
    cairn_engine *e = r->srv->engine;
    int replica = r->state != RS_NONE;
    e->originates = !replica;
    e->repl_refuse_write = replica && r->srv->cfg.replica_read_only ? msg_readonly : NULL;
}

static void become_replica(replica *r, const char *host, int port)
{
    if (r->state != RS_NONE) replica_stop(r->srv);
    dstr_free(r->host);
    r->host = dstr_from_cstr(host);
    r->port = port;
    r->state = RS_CONNECT;
    r->have_data = 0;
    r->replid[0] = '\0';
    r->offset = 0;
    r->errors = 0;
    r->down_since_ms = now_ms();
    set_replicaof(r->srv, host, port);
    update_engine(r);
    /* what its clients wait for may never come now (a pop, WAIT's
     * replicas): Redis tells them and closes them */
    engine_disconnect_blocked(r->srv->engine);
    if (!r->srv->engine->loading) start_connect(r);
}

void replica_stop(cairn_server *srv)
{
    replica *r = srv->replica;
    if (!r || r->state == RS_NONE) return;
    if (r->state == RS_LOADING) {
        rdb_loader_free(r->loader);
        r->loader = NULL;
        uv_idle_stop(&r->idle);
        srv->engine->loading = 0;
        persist_resync_end(srv->persist);
    }
    if (r->state == RS_TRANSFER || r->state == RS_LOADING) transfer_abort(r);
    if (r->link) link_close(r->link);
    r->link = NULL;
    stream_reset(r);
    r->state = RS_NONE;
    set_replicaof(srv, NULL, 0);
    update_engine(r);
}

int replica_init(cairn_server *srv, char *err, size_t errlen)
{
    replica *r = cm_calloc(1, sizeof(*r));
    r->srv = srv;
    r->tfd = -1;
    r->in = dstr_with_cap(REPL_READ);
    resp_parser_init(&r->parser, (long long)CONFIG_MAX_QUERY_LEN);
    session_init(srv->engine, &r->sess);
    r->sess.flags |= SESS_LOADER;
    rbuf_init(&r->out, 2);
    srv->replica = r;
    int rc = uv_idle_init(&srv->loop, &r->idle);
    if (rc != 0) {
        snprintf(err, errlen, "replication loader: %s", uv_strerror(rc));
        return -1;
    }
    r->idle.data = r;
    const char *v = srv->cfg.replicaof;
    if (!v || !v[0] || !strcasecmp(v, "no one")) return 0;
    if (srv->cfg.raft_peers && srv->cfg.raft_peers[0]) {
        snprintf(err, errlen, "replicaof cannot be used with Raft replication (raft-peers is set)");
        return -1;
    }
    const char *sp = strrchr(v, ' ');
    dstr host = dstr_new(v, (size_t)(sp - v));
    become_replica(r, host, atoi(sp + 1));
    dstr_free(host);
    return 0;
}

void replica_free(cairn_server *srv)
{
    replica *r = srv->replica;
    if (!r) return;
    rdb_loader_free(r->loader);
    transfer_abort(r);
    dstr_free(r->host);
    dstr_free(r->in);
    resp_parser_free(&r->parser);
    cm_free(r->argv);
    multi_session_reset(srv->engine, &r->sess);
    session_reset(&r->sess);
    rbuf_free(&r->out);
    cm_free(r);
    srv->replica = NULL;
}

void replica_shutdown(cairn_server *srv)
{
    replica *r = srv->replica;
    if (!r) return;
    if (r->link) link_close(r->link);
    r->link = NULL;
    if (r->state == RS_LOADING) srv->engine->loading = 0;
    if (!uv_is_closing((uv_handle_t *)&r->idle)) uv_close((uv_handle_t *)&r->idle, NULL);
}

/* Once a second: reconnect, send the ACK, notice a silent master. */
void replica_cron(cairn_server *srv)
{
    replica *r = srv->replica;
    if (!r || r->state == RS_NONE || srv->shutting_down) return;
    int64_t now = now_ms(), timeout = (int64_t)srv->cfg.repl_timeout * 1000;
    if (r->state == RS_CONNECT) {
        if (!srv->engine->loading && now - r->last_try_ms >= REPL_RETRY_MS) start_connect(r);
        return;
    }
    if (r->state == RS_LOADING) return;
    if (now - r->last_io_ms > timeout) {
        link_lost(r, r->state == RS_CONNECTED ? "MASTER timeout: no data nor PING received..."
                                              : "Timeout connecting to the MASTER...");
        return;
    }
    if (r->state == RS_CONNECTED && now - r->last_ack_ms >= 1000) send_ack(r);
}

/* ---------------------------------------------------------------------- */
/* Commands and INFO                                                       */
/* ---------------------------------------------------------------------- */

static const char *role_state(const replica *r)
{
    switch (r->state) {
    case RS_CONNECT: return "connect";
    case RS_CONNECTING: return "connecting";
    case RS_HANDSHAKE: return "handshake";
    case RS_TRANSFER:
    case RS_LOADING: return "sync";
    case RS_CONNECTED: return "connected";
    default: return "unknown";
    }
}

static void replicaof_command(replica *r, cmd_call *c)
{
    cairn_server *srv = r->srv;
    if (srv->node) {
        reply_error(c->out,
                    "ERR REPLICAOF is not allowed with Raft replication (raft-peers is set)");
        return;
    }
    const char *from = c->s->addr ? c->s->addr : "?";
    if (arg_is(c, 1, "no") && arg_is(c, 2, "one")) {
        if (r->state != RS_NONE) {
            replica_stop(srv);
            rlog(r, LL_NOTICE, "MASTER MODE enabled (user request from '%s')", from);
        }
        reply_ok(c->out);
        return;
    }
    long long port;
    if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &port) || port < 0 || port > 65535) {
        reply_error(c->out, "ERR Invalid master port");
        return;
    }
    dstr host = dstr_new(c->argv[1].ptr, c->argv[1].len);
    if (r->state != RS_NONE && !strcasecmp(host, r->host) && r->port == (int)port) {
        rlog(r, LL_NOTICE,
             "REPLICAOF would result into synchronization with the master we are "
             "already connected with. No operation performed.");
        reply_simple(c->out, "OK Already connected to specified master");
        dstr_free(host);
        return;
    }
    rlog(r, LL_NOTICE, "REPLICAOF %s:%d enabled (user request from '%s')", host, (int)port, from);
    become_replica(r, host, (int)port);
    dstr_free(host);
    reply_ok(c->out);
}

int replica_command(cairn_server *srv, cmd_call *c)
{
    replica *r = srv->replica;
    const char *name = c->cmd->name;
    if (!strcmp(name, "replicaof") || !strcmp(name, "slaveof")) {
        replicaof_command(r, c);
        return 1;
    }
    if (!r || r->state == RS_NONE) return 0;
    if (!strcmp(name, "role")) {
        reply_array_len(c->out, 5);
        reply_bulk_cstr(c->out, "slave");
        reply_bulk_cstr(c->out, r->host);
        reply_int(c->out, r->port);
        reply_bulk_cstr(c->out, role_state(r));
        reply_int(c->out, r->state == RS_CONNECTED ? r->offset : -1);
        return 1;
    }
    if (!strcmp(name, "failover")) {
        reply_error(c->out, "ERR FAILOVER is not valid when server is a replica.");
        return 1;
    }
    if (!strcmp(name, "wait")) {
        reply_error(c->out, "ERR WAIT cannot be used with replica instances. Please also note that "
                            "since Redis 4.0 if a replica is configured to be writable (which is "
                            "not the default) writes to replicas are just local and are not "
                            "propagated.");
        return 1;
    }
    return 0;
}

static void info_sync(const replica *r, dstr *out, int64_t now)
{
    long long total = r->bulk_total, read = r->bulk_read;
    if (r->state == RS_LOADING) total = read; /* received: loading it */
    *out = dstr_catfmt(*out,
                       "master_sync_total_bytes:%lld\r\n"
                       "master_sync_read_bytes:%lld\r\n"
                       "master_sync_left_bytes:%lld\r\n"
                       "master_sync_perc:%.2f\r\n"
                       "master_sync_last_io_seconds_ago:%d\r\n",
                       total, read, total >= 0 ? total - read : -1,
                       total > 0 ? 100.0 * (double)read / (double)total : 0.0,
                       (int)((now - r->last_io_ms) / 1000));
}

void replica_info(cairn_server *srv, dstr *out)
{
    replica *r = srv->replica;
    if (!r || r->state == RS_NONE) return;
    int64_t now = now_ms();
    int up = r->state == RS_CONNECTED;
    int syncing = r->state == RS_TRANSFER || r->state == RS_LOADING;
    *out =
        dstr_catfmt(*out,
                    "role:slave\r\n"
                    "master_host:%s\r\n"
                    "master_port:%d\r\n"
                    "master_link_status:%s\r\n"
                    "master_last_io_seconds_ago:%d\r\n"
                    "master_sync_in_progress:%d\r\n"
                    "slave_read_repl_offset:%lld\r\n"
                    "slave_repl_offset:%lld\r\n",
                    r->host, r->port, up ? "up" : "down",
                    up ? (int)((now - r->last_io_ms) / 1000) : -1, syncing, r->offset, r->offset);
    if (syncing) info_sync(r, out, now);
    if (!up)
        *out = dstr_catfmt(*out, "master_link_down_since_seconds:%lld\r\n",
                           r->down_since_ms ? (long long)(now - r->down_since_ms) / 1000 : -1LL);
    *out = dstr_catfmt(*out,
                       "slave_priority:100\r\n"
                       "slave_read_only:%d\r\n"
                       "replica_announced:1\r\n"
                       "connected_slaves:0\r\n"
                       "master_failover_state:no-failover\r\n"
                       "master_replid:%s\r\n"
                       "master_replid2:0000000000000000000000000000000000000000\r\n"
                       "master_repl_offset:%lld\r\n"
                       "second_repl_offset:-1\r\n"
                       "repl_backlog_active:0\r\n"
                       "repl_backlog_size:1048576\r\n"
                       "repl_backlog_first_byte_offset:0\r\n"
                       "repl_backlog_histlen:0\r\n",
                       srv->cfg.replica_read_only,
                       r->replid[0] ? r->replid : "0000000000000000000000000000000000000000",
                       r->offset);
}

const char *replica_config_changed(cairn_server *srv, const char *name)
{
    if (srv->replica && !strcmp(name, "replica-read-only")) update_engine(srv->replica);
    return NULL;
}
