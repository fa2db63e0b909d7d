/* members.c -- the node's address book; see members.h. */
#include "members.h"

#include <arpa/inet.h>
#include <string.h>

#include "../ds/util.h"

#define BOOK_MAGIC "CNAB"

int members_set(repl_node_config *cfg, const raft_conf *conf, const repl_peer *p)
{
    size_t slot = cfg->n_peers;
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].id == p->id) slot = i;
    if (slot == RAFT_MAX_PEERS) {
        /* full: the address of a node that left the group gives way */
        for (size_t i = 0; i < cfg->n_peers && slot == RAFT_MAX_PEERS; i++) {
            uint64_t id = cfg->peers[i].id;
            if (id != cfg->id && !raft_conf_has_voter(conf, id) && !raft_conf_has_learner(conf, id))
                slot = i;
        }
        if (slot == RAFT_MAX_PEERS) return -1;
    }
    cfg->peers[slot] = *p;
    if (slot == cfg->n_peers) cfg->n_peers++;
    return 0;
}

static dstr put_addr(dstr out, const repl_peer *p)
{
    unsigned char b[13];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(p->id >> (8 * i));
    for (int i = 0; i < 4; i++)
        b[8 + i] = (unsigned char)((uint32_t)p->port >> (8 * i));
    size_t hl = strlen(p->host);
    b[12] = (unsigned char)hl;
    out = dstr_cat(out, b, sizeof(b));
    return dstr_cat(out, p->host, hl);
}

/* Decode one address at data; returns its length, or 0 if malformed. */
static size_t get_addr(const uint8_t *data, size_t len, repl_peer *p)
{
    if (len < 13) return 0;
    uint64_t id = 0;
    uint32_t port = 0;
    for (int i = 7; i >= 0; i--)
        id = (id << 8) | data[i];
    for (int i = 3; i >= 0; i--)
        port = (port << 8) | data[8 + i];
    size_t hl = data[12];
    if (id == 0 || port == 0 || port > 65535 || hl == 0 || hl >= sizeof(p->host) || len < 13 + hl)
        return 0;
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->port = (int)port;
    memcpy(p->host, data + 13, hl);
    return 13 + hl;
}

dstr members_encode_entry(dstr out, const repl_peer *p)
{
    unsigned char tag = MEMBERS_TAG;
    out = dstr_cat(out, &tag, 1);
    return put_addr(out, p);
}

int members_is_entry(const uint8_t *data, size_t len) { return len && data[0] == MEMBERS_TAG; }

int members_decode_entry(const uint8_t *data, size_t len, repl_peer *out)
{
    if (!members_is_entry(data, len)) return -1;
    return get_addr(data + 1, len - 1, out) == len - 1 ? 0 : -1;
}

dstr members_encode_book(dstr out, const repl_node_config *cfg)
{
    unsigned char h[8];
    memcpy(h, BOOK_MAGIC, 4);
    for (int i = 0; i < 4; i++)
        h[4 + i] = (unsigned char)((uint32_t)cfg->n_peers >> (8 * i));
    out = dstr_cat(out, h, sizeof(h));
    for (size_t i = 0; i < cfg->n_peers; i++)
        out = put_addr(out, &cfg->peers[i]);
    return out;
}

int members_decode_book(const uint8_t *data, size_t len, repl_node_config *cfg,
                        const raft_conf *conf, size_t *used)
{
    if (len < 8 || memcmp(data, BOOK_MAGIC, 4) != 0) return -1;
    uint32_t count = 0;
    for (int i = 3; i >= 0; i--)
        count = (count << 8) | data[4 + i];
    if (count > RAFT_MAX_PEERS) return -1;
    size_t off = 8;
    for (uint32_t k = 0; k < count; k++) {
        repl_peer p;
        size_t n = get_addr(data + off, len - off, &p);
        if (!n) return -1;
        members_set(cfg, conf, &p);
        off += n;
    }
    *used = off;
    return 0;
}

int members_host_ok(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) return 1;
    if (!*host || *host == '-' || *host == '.') return 0;
    for (const char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '.' || *c == '_'))
            return 0;
    return 1;
}

int members_parse_addr(const char *s, size_t len, repl_peer *p)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':') colon = s + i;
    if (!colon) return -1;
    size_t hl = (size_t)(colon - s);
    long long port;
    if (hl == 0 || hl >= sizeof(p->host) || !str_to_ll(colon + 1, len - hl - 1, &port) ||
        port <= 0 || port > 65535)
        return -1;
    memcpy(p->host, s, hl);
    p->host[hl] = 0;
    p->port = (int)port;
    return 0;
}
