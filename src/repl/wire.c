/* wire.c -- raft_msg on the wire; see wire.h. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define WIRE_VERSION 1

static dstr put_u64(dstr out, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return dstr_cat(out, b, 8);
}

static dstr put_u32(dstr out, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return dstr_cat(out, b, 4);
}

dstr wire_encode(dstr out, const raft_msg *m)
{
    /* the last byte holds flags: a node that knows only transfer (bit 0)
     * ignores commit_only and acknowledges as it always did */
    unsigned char head[4] = {WIRE_VERSION, m->type, m->reject,
                             (unsigned char)(m->transfer | m->commit_only << 1)};
    out = dstr_cat(out, head, sizeof(head));
    const uint64_t f[10] = {m->from,   m->to,         m->term,      m->log_term, m->index,
                            m->commit, m->hint_index, m->hint_term, m->ctx,      m->tick};
    for (int i = 0; i < 10; i++)
        out = put_u64(out, f[i]);
    out = put_u32(out, (uint32_t)m->n_entries);
    for (size_t i = 0; i < m->n_entries; i++) {
        const raft_entry *e = &m->entries[i];
        out = put_u64(out, e->term);
        out = put_u64(out, e->index);
        out = dstr_cat(out, &e->type, 1);
        out = put_u32(out, e->len);
        if (e->len) out = dstr_cat(out, e->data, e->len);
    }
    /* SNAP and SNAP_RESP: the chunk, and the snapshot's configuration */
    out = put_u64(out, m->offset);
    out = put_u64(out, m->size);
    unsigned char flags[2] = {m->done, m->conf != NULL};
    out = dstr_cat(out, flags, 2);
    out = put_u32(out, m->data_len);
    if (m->data_len) out = dstr_cat(out, m->data, m->data_len);
    if (m->conf) {
        const raft_conf *c = m->conf;
        out = put_u32(out, (uint32_t)c->n_voters);
        for (size_t i = 0; i < c->n_voters; i++)
            out = put_u64(out, c->voters[i]);
        out = put_u32(out, (uint32_t)c->n_learners);
        for (size_t i = 0; i < c->n_learners; i++)
            out = put_u64(out, c->learners[i]);
    }
    return out;
}

typedef struct reader {
    const unsigned char *p;
    size_t left;
    int bad;
} reader;

static uint64_t get_n(reader *r, int n)
{
    if (r->bad || r->left < (size_t)n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    r->left -= (size_t)n;
    return v;
}

static int get_ids(reader *r, uint64_t *ids, size_t *n)
{
    uint64_t count = get_n(r, 4);
    if (r->bad || count > RAFT_MAX_PEERS) return -1;
    for (uint64_t i = 0; i < count; i++)
        ids[i] = get_n(r, 8);
    *n = (size_t)count;
    return r->bad ? -1 : 0;
}

/* The part after the entries (wire.h). */
static int decode_snap(reader *r, raft_msg *m)
{
    m->offset = get_n(r, 8);
    m->size = get_n(r, 8);
    m->done = (uint8_t)get_n(r, 1);
    int has_conf = (int)get_n(r, 1);
    m->data_len = (uint32_t)get_n(r, 4);
    if (r->bad || m->data_len > r->left) return -1;
    if (m->data_len) {
        m->data = malloc(m->data_len);
        if (!m->data) return -1;
        memcpy(m->data, r->p, m->data_len);
        r->p += m->data_len;
        r->left -= m->data_len;
    }
    if (has_conf) {
        m->conf = calloc(1, sizeof(raft_conf));
        if (!m->conf || get_ids(r, m->conf->voters, &m->conf->n_voters) != 0 ||
            get_ids(r, m->conf->learners, &m->conf->n_learners) != 0)
            return -1;
    }
    return 0;
}

int wire_decode(const char *buf, size_t len, raft_msg *m)
{
    memset(m, 0, sizeof(*m));
    reader r = {(const unsigned char *)buf, len, 0};
    if (get_n(&r, 1) != WIRE_VERSION) return -1;
    m->type = (uint8_t)get_n(&r, 1);
    m->reject = (uint8_t)get_n(&r, 1);
    uint8_t flags = (uint8_t)get_n(&r, 1);
    m->transfer = flags & 1;
    m->commit_only = (flags >> 1) & 1;
    uint64_t *f[10] = {&m->from,   &m->to,         &m->term,      &m->log_term, &m->index,
                       &m->commit, &m->hint_index, &m->hint_term, &m->ctx,      &m->tick};
    for (int i = 0; i < 10; i++)
        *f[i] = get_n(&r, 8);
    uint64_t n = get_n(&r, 4);
    /* Each entry takes at least 21 bytes: a count the buffer cannot hold
     * is refused before anything is allocated for it. */
    if (r.bad || m->type >= RAFT_MSG_TYPES || n > r.left / 21) return -1;
    if (n) {
        m->entries = calloc((size_t)n, sizeof(raft_entry));
        if (!m->entries) return -1;
    }
    for (size_t i = 0; i < n; i++) {
        raft_entry *e = &m->entries[i];
        e->term = get_n(&r, 8);
        e->index = get_n(&r, 8);
        e->type = (uint8_t)get_n(&r, 1);
        e->len = (uint32_t)get_n(&r, 4);
        m->n_entries = i + 1;
        if (r.bad || e->len > r.left) {
            raft_msg_free(m);
            return -1;
        }
        if (e->len) {
            e->data = malloc(e->len);
            if (!e->data) {
                raft_msg_free(m);
                return -1;
            }
            memcpy(e->data, r.p, e->len);
            r.p += e->len;
            r.left -= e->len;
        }
    }
    if (decode_snap(&r, m) != 0 || r.left) {
        raft_msg_free(m);
        return -1;
    }
    return 0;
}
