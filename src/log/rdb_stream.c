/* rdb_stream.c -- a stream in Redis's RDB serialization: written as
 * Redis 7.0 writes RDB_TYPE_STREAM_LISTPACKS_2, read in that form and in
 * RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6, without 7.0's counters).
 *
 *   <nodes: len> (<master ID: 16-byte string> <listpack: string>)...
 *   <length: len> <last ID: len len>
 *   [_2: <first ID: len len> <max deleted ID: len len> <entries added: len>]
 *   <groups: len> (<name: string> <last ID: len len> [_2: <entries read: len>]
 *       <PEL: len> (<ID: 16 bytes> <delivery time: 8 bytes> <count: len>)...
 *       <consumers: len> (<name: string> <seen time: 8 bytes>
 *           <PEL: len> (<ID: 16 bytes>)...)...)...
 *
 * Raw IDs are big-endian (ms, then seq), as Redis keys its radix trees;
 * times are little-endian milliseconds.  Nodes are Redis's listpacks with
 * the same entries (Cairn's nodes have Redis's layout), so they cross with
 * their header rewritten.  Everything read is checked before it is used:
 * node structure and ID order, the stream's length and last ID against its
 * entries, groups, consumers and pending IDs in the order Redis writes them
 * (its radix-tree order, which also rules out repeats), and every pending
 * entry owned by exactly one consumer. */
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/listpack.h"
#include "../ds/stream.h"
#include "rdb.h"

#define RAW_ID 16

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

static void raw_id(const sid *id, unsigned char *b)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
}

static dstr put_raw_id(dstr out, const sid *id)
{
    unsigned char b[RAW_ID];
    raw_id(id, b);
    return dstr_cat(out, b, RAW_ID);
}

static dstr put_ms(dstr out, int64_t t)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)t >> (8 * i));
    return dstr_cat(out, b, 8);
}

static dstr put_id(dstr out, const sid *id)
{
    out = rdb_write_len(out, id->ms);
    return rdb_write_len(out, id->seq);
}

static dstr write_group(dstr out, const stream_cg *cg, int compress)
{
    out = rdb_write_string(out, cg->name, dstr_len(cg->name), compress);
    out = put_id(out, &cg->last_id);
    /* An unknown count (-1) goes as Redis writes it: as 2^64-1. */
    out = rdb_write_len(out, (uint64_t)cg->entries_read);
    out = rdb_write_len(out, sidmap_len(&cg->pel));
    for (size_t i = 0; i < sidmap_len(&cg->pel); i++) {
        const sidmap_ent *e = sidmap_at(&cg->pel, i);
        const stream_nack *n = e->val;
        out = put_raw_id(out, &e->id);
        out = put_ms(out, n->delivery_time);
        out = rdb_write_len(out, n->delivery_count);
    }
    out = rdb_write_len(out, cg->nconsumers);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *c = cg->consumers[i];
        out = rdb_write_string(out, c->name, dstr_len(c->name), compress);
        out = put_ms(out, c->seen_time);
        out = rdb_write_len(out, sidmap_len(&c->pel));
        for (size_t j = 0; j < sidmap_len(&c->pel); j++)
            out = put_raw_id(out, &sidmap_at(&c->pel, j)->id);
    }
    return out;
}

dstr rdb_write_stream(dstr out, const stream *s, int compress)
{
    out = rdb_write_len(out, stream_node_count(s));
    for (size_t i = 0; i < stream_node_count(s); i++) {
        sid master;
        unsigned char *lp = stream_node_lp(s, i, &master), key[RAW_ID];
        raw_id(&master, key);
        out = rdb_write_string(out, (const char *)key, RAW_ID, compress);
        out = rdb_write_listpack(out, lp, compress);
    }
    out = rdb_write_len(out, s->length);
    out = put_id(out, &s->last_id);
    out = put_id(out, &s->first_id);
    out = put_id(out, &s->max_deleted_id);
    out = rdb_write_len(out, s->entries_added);
    out = rdb_write_len(out, s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++)
        out = write_group(out, s->groups[g], compress);
    return out;
}

/* ---------------------------------------------------------------------- */
/* Reading                                                                 */
/* ---------------------------------------------------------------------- */

static int fail(rdb_reader *r, const char *why)
{
    r->err = why;
    return 0;
}

static sid id_from_raw(const unsigned char *b)
{
    sid id = {0, 0};
    for (int i = 0; i < 8; i++) {
        id.ms = id.ms << 8 | b[i];
        id.seq = id.seq << 8 | b[8 + i];
    }
    return id;
}

static int read_raw_id(rdb_reader *r, sid *id)
{
    const unsigned char *b;
    if (!rdb_read_bytes(r, RAW_ID, &b)) return 0;
    *id = id_from_raw(b);
    return 1;
}

static int read_ms(rdb_reader *r, int64_t *t)
{
    const unsigned char *b;
    if (!rdb_read_bytes(r, 8, &b)) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    *t = (int64_t)v;
    return 1;
}

static int read_id(rdb_reader *r, sid *id)
{
    return rdb_read_len(r, &id->ms, NULL) && rdb_read_len(r, &id->seq, NULL);
}

static int read_node(rdb_reader *r, stream *s, dstr *scratch)
{
    cslice key, blob;
    if (!rdb_read_string(r, &key, scratch)) return 0;
    if (key.len != RAW_ID) return fail(r, "stream node key is not an ID");
    sid master = id_from_raw((const unsigned char *)key.ptr);
    if (!rdb_read_string(r, &blob, scratch)) return 0;
    unsigned char *lp = rdb_listpack_from(r, blob);
    if (!lp) return 0;
    if (!stream_load_node(s, &master, lp)) {
        lp_free(lp);
        return fail(r, "malformed stream node");
    }
    return 1;
}

/* Redis writes names in its radix trees' order: bytes, a prefix first. */
static int name_after(const dstr prev, const cslice *name)
{
    size_t plen = dstr_len(prev);
    int c = memcmp(prev, name->ptr, plen < name->len ? plen : name->len);
    return c < 0 || (c == 0 && plen < name->len);
}

/* The group's pending entries, without their consumers yet. */
static int read_group_pel(rdb_reader *r, stream_cg *cg)
{
    uint64_t n;
    if (!rdb_read_count(r, &n)) return 0;
    for (uint64_t i = 0; i < n; i++) {
        sid id;
        int64_t when;
        uint64_t count;
        if (!read_raw_id(r, &id) || !read_ms(r, &when) || !rdb_read_len(r, &count, NULL)) return 0;
        size_t len = sidmap_len(&cg->pel);
        if (len && sid_cmp(&sidmap_at(&cg->pel, len - 1)->id, &id) >= 0)
            return fail(r, "stream pending entries repeated or unordered");
        stream_nack *nack = cm_malloc(sizeof(*nack));
        *nack = (stream_nack){when, count, NULL};
        sidmap_insert(&cg->pel, &id, nack);
    }
    return 1;
}

/* A consumer's pending IDs: each one of the group's, owned by no other. */
static int read_consumer_pel(rdb_reader *r, stream_cg *cg, stream_consumer *c, uint64_t *owned)
{
    uint64_t n;
    if (!rdb_read_count(r, &n)) return 0;
    for (uint64_t i = 0; i < n; i++) {
        sid id;
        if (!read_raw_id(r, &id)) return 0;
        sidmap_ent *e = sidmap_find(&cg->pel, &id);
        stream_nack *nack = e ? e->val : NULL;
        if (!nack || nack->consumer) return fail(r, "stream consumer entry not pending once");
        size_t len = sidmap_len(&c->pel);
        if (len && sid_cmp(&sidmap_at(&c->pel, len - 1)->id, &id) >= 0)
            return fail(r, "stream consumer entries unordered");
        nack->consumer = c;
        sidmap_insert(&c->pel, &id, nack);
        (*owned)++;
    }
    return 1;
}

static int read_consumers(rdb_reader *r, stream_cg *cg, dstr *scratch)
{
    uint64_t n, owned = 0;
    if (!rdb_read_count(r, &n)) return 0;
    for (uint64_t i = 0; i < n; i++) {
        cslice name;
        int64_t seen;
        if (!rdb_read_string(r, &name, scratch)) return 0;
        if (cg->nconsumers && !name_after(cg->consumers[cg->nconsumers - 1]->name, &name))
            return fail(r, "stream consumers repeated or unordered");
        /* The name is copied before the scratch buffer is used again. */
        stream_consumer *c = stream_consumer_create(cg, name.ptr, name.len, 0);
        if (!read_ms(r, &seen)) return 0;
        c->seen_time = seen;
        if (!read_consumer_pel(r, cg, c, &owned)) return 0;
    }
    if (owned != sidmap_len(&cg->pel)) return fail(r, "stream pending entry without a consumer");
    return 1;
}

static int read_group(rdb_reader *r, stream *s, int v2, dstr *scratch)
{
    cslice name;
    sid last;
    uint64_t read;
    if (!rdb_read_string(r, &name, scratch)) return 0;
    if (s->ngroups && !name_after(s->groups[s->ngroups - 1]->name, &name))
        return fail(r, "stream groups repeated or unordered");
    stream_cg *cg = stream_cg_create(s, name.ptr, name.len, &SID_MIN, SCG_INVALID_ENTRIES_READ);
    if (!read_id(r, &last)) return 0;
    cg->last_id = last;
    if (v2) {
        if (!rdb_read_len(r, &read, NULL)) return 0;
        cg->entries_read = (long long)read;
    } else {
        cg->entries_read = stream_estimate_distance(s, &last);
    }
    return read_group_pel(r, cg) && read_consumers(r, cg, scratch);
}

/* The counters after the nodes. */
static int read_meta(rdb_reader *r, stream *s, int v2)
{
    uint64_t length;
    sid first;
    if (!rdb_read_len(r, &length, NULL) || !read_id(r, &s->last_id)) return 0;
    if (v2) {
        /* The first ID is recomputed from the entries below. */
        if (!read_id(r, &first) || !read_id(r, &s->max_deleted_id) ||
            !rdb_read_len(r, &s->entries_added, NULL))
            return 0;
    } else {
        s->entries_added = length;
    }
    if (!stream_load_finish(s, length)) return fail(r, "stream length or last ID inconsistent");
    return 1;
}

static int read_body(rdb_reader *r, stream *s, int v2)
{
    uint64_t nodes, groups;
    dstr scratch = NULL;
    int ok = rdb_read_count(r, &nodes);
    for (uint64_t i = 0; ok && i < nodes; i++)
        ok = read_node(r, s, &scratch);
    ok = ok && read_meta(r, s, v2) && rdb_read_count(r, &groups);
    for (uint64_t i = 0; ok && i < groups; i++)
        ok = read_group(r, s, v2, &scratch);
    dstr_free(scratch);
    return ok;
}

cobj *rdb_read_stream(rdb_reader *r, int v2)
{
    stream *s = stream_new();
    if (!read_body(r, s, v2)) {
        stream_free(s);
        return NULL;
    }
    return stream_obj_wrap(s);
}
