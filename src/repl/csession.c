/* csession.c -- CLIENT SESSION on a replicated node; see csession.h. */
#include "csession.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/cmd.h"

/* A recorded reply too long to keep answers a retry with this. */
static const char reply_dropped[] = "-ERR this write was applied; its reply was too long to keep "
                                    "for a retry\r\n";

int csession_reset(session_table **t)
{
    session_table_free(*t);
    *t = session_table_new(CSESSION_MAX, CSESSION_TTL_MS);
    return *t ? 0 : -1;
}

dstr csession_encode(dstr out, const session_table *t)
{
    size_t len = session_encoded_size(t);
    uint8_t hdr[8];
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)((uint64_t)len >> (8 * i));
    out = dstr_cat(out, (const char *)hdr, 8);
    size_t at = dstr_len(out);
    out = dstr_reserve(out, len);
    session_encode(t, (uint8_t *)out + at);
    dstr_set_len(out, at + len);
    return out;
}

int csession_load(session_table **t, raft_storage *st, uint64_t off, uint64_t *used, char *err,
                  size_t errlen)
{
    uint8_t hdr[8];
    uint64_t len = 0;
    const raft_snapshot_meta *m = rstore_snapshot(st);
    if (m->size - off < 8 || rstore_snapshot_read(st, off, hdr, 8) != 0) goto bad;
    for (int i = 7; i >= 0; i--)
        len = (len << 8) | hdr[i];
    if (len > m->size - off - 8) goto bad;
    uint8_t *buf = cm_malloc(len ? (size_t)len : 1);
    int rc = rstore_snapshot_read(st, off + 8, buf, (size_t)len);
    if (rc == 0) rc = csession_reset(t);
    if (rc == 0) rc = session_decode(*t, buf, (size_t)len);
    cm_free(buf);
    if (rc != 0) goto bad;
    *used = 8 + len;
    return 0;
bad:
    snprintf(err, errlen, "the snapshot at %llu has no readable client session table",
             (unsigned long long)m->index);
    return -1;
}

static int arg_u64(const cmd_call *c, int i, uint64_t *out)
{
    unsigned long long v;
    if (!str_to_ull(c->argv[i].ptr, c->argv[i].len, &v) || v == 0) return 0;
    *out = v;
    return 1;
}

static void log_entry(cmd_call *c, int argc, const cslice *argv)
{
    engine_log(c->e, (uint32_t)c->db->id, c->now_ms, 0, argc, argv);
}

static void session_open_command(session_table *t, cmd_call *c)
{
    uint64_t id = 0;
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 3 && !arg_u64(c, 2, &id)) {
        reply_error(c->out, "ERR session id must be a positive integer");
        return;
    }
    if (c->argc == 2) {
        crand_seed_lazy(&c->rng, c->seed);
        do
            id = crand_next(&c->rng) >> 1; /* fits a RESP integer */
        while (id == 0);
    }
    session_clock(t, (uint64_t)c->now_ms);
    if (session_open(t, id) != 0) {
        reply_error(c->out, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    /* The entry records the id the leader chose (DESIGN rule 4). */
    char num[24];
    int len = snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
    cslice argv[3] = {{"RAFT", 4}, {"SESSION-OPEN", 12}, {num, (size_t)len}};
    log_entry(c, 3, argv);
    reply_int(c->out, (long long)id);
}

static void session_set_command(cmd_call *c)
{
    uint64_t id, seq;
    if (c->argc != 4) {
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for 'session'. Try "
                     "CLIENT HELP.");
        return;
    }
    if (!arg_u64(c, 2, &id) || !arg_u64(c, 3, &seq)) {
        reply_error(c->out, "ERR session id and sequence number must be positive integers");
        return;
    }
    c->s->seq_sid = id;
    c->s->seq_no = seq;
    c->s->flags |= SESS_SEQ;
    reply_ok(c->out);
}

/* RAFT SESSION-OPEN id / RAFT SESSION-RECORD id seq reply, applied from
 * the log: the leader's decisions, replayed on every node. */
static void session_apply(session_table *t, cmd_call *c)
{
    uint64_t id, seq;
    session_clock(t, (uint64_t)c->now_ms);
    int open = arg_is(c, 1, "session-open");
    if ((open ? c->argc != 3 : c->argc != 5) || !arg_u64(c, 2, &id) ||
        (!open && !arg_u64(c, 3, &seq))) {
        reply_error(c->out, "ERR malformed session entry");
        return;
    }
    int rc =
        open ? session_open(t, id) : session_record(t, id, seq, c->argv[4].ptr, c->argv[4].len);
    if (rc != 0)
        reply_error(c->out, "ERR out of memory applying a session entry");
    else
        reply_ok(c->out);
}

int csession_command(session_table *t, cmd_call *c)
{
    if (c->argc < 2) return 0;
    if (slice_is(&c->argv[0], "client")) {
        if (arg_is(c, 1, "session-open"))
            session_open_command(t, c);
        else
            session_set_command(c);
        return 1;
    }
    if (!slice_is(&c->argv[0], "raft") ||
        !(arg_is(c, 1, "session-open") || arg_is(c, 1, "session-record")))
        return 0;
    if (!(c->s->flags & SESS_LOADER)) return 0; /* log entries only */
    session_apply(t, c);
    return 1;
}

int csession_begin(session_table *t, cmd_call *c)
{
    cairn_session *s = c->s;
    const void *res;
    size_t len;
    if (c->cmd->flags & CMD_BLOCKING) {
        s->flags &= ~SESS_SEQ;
        reply_error(c->out, CSESSION_NO_BLOCKING);
        return 1;
    }
    switch (session_check_at(t, s->seq_sid, s->seq_no, (uint64_t)c->now_ms, &res, &len)) {
    case SESSION_NEW: return 0;
    case SESSION_DUP:
        /* Its first run's reply; the host holds it, like any reply, until
         * what it observed (that run's entry) is committed. */
        s->flags &= ~SESS_SEQ;
        rbuf_append(c->out, res, len);
        return 1;
    case SESSION_STALE:
        s->flags &= ~SESS_SEQ;
        reply_error(c->out, "ERR CLIENT SESSION sequence number is older than the session's "
                            "last write");
        return 1;
    default:
        s->flags &= ~SESS_SEQ;
        reply_error(c->out, "NOSESSION No such client session (expired, evicted or never "
                            "opened): an earlier attempt of this write may have been applied");
        return 1;
    }
}

/* Copy the len bytes of out from mark on into buf. */
static void reply_since(const rbuf *out, rbuf_mark mark, char *buf, size_t len)
{
    const rbuf_block *b = mark.block ? mark.block : out->head;
    size_t off = mark.block ? mark.used : 0, at = 0;
    for (; b && at < len; b = b->next, off = 0) {
        size_t n = b->used - off;
        memcpy(buf + at, b->data + off, n);
        at += n;
    }
}

void csession_done(session_table *t, cmd_call *c, rbuf_mark mark)
{
    cairn_session *s = c->s;
    s->flags &= ~SESS_SEQ;
    size_t len = c->out->bytes - mark.bytes;
    char *copy = NULL;
    const char *reply = reply_dropped;
    if (len > CSESSION_MAX_REPLY) {
        len = sizeof(reply_dropped) - 1;
    } else {
        copy = cm_malloc(len ? len : 1);
        reply_since(c->out, mark, copy, len);
        reply = copy;
    }
    session_clock(t, (uint64_t)c->now_ms);
    if (session_record(t, s->seq_sid, s->seq_no, reply, len) == 0) {
        char id[24], seq[24];
        int il = snprintf(id, sizeof(id), "%llu", (unsigned long long)s->seq_sid);
        int sl = snprintf(seq, sizeof(seq), "%llu", (unsigned long long)s->seq_no);
        cslice argv[5] = {
            {"RAFT", 4}, {"SESSION-RECORD", 14}, {id, (size_t)il}, {seq, (size_t)sl}, {reply, len}};
        log_entry(c, 5, argv);
    }
    cm_free(copy);
}
