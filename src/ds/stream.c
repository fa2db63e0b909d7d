/* stream.c -- the stream data structure; see stream.h.
 *
 * A node's listpack, as Redis lays it out:
 *
 *   master entry:  count | deleted | nfields | field_1 ... field_n | 0
 *   each entry:    flags | ms-delta | seq-delta | values...           | lp-count
 *              or  flags | ms-delta | seq-delta | n | field value ... | lp-count
 *
 * The first form (flag SAMEFIELDS) is used when the entry has the master
 * entry's fields in the same order.  lp-count is the number of elements
 * of the entry before it, so the entries can be walked backwards; the 0
 * closing the master entry stops that walk. */
#include "stream.h"

#include <string.h>

#include "alloc.h"
#include "util.h"

#define FLAG_DELETED    1
#define FLAG_SAMEFIELDS 2

/* The most a node may hold whatever stream-node-max-bytes says (Redis's
 * STREAM_LISTPACK_MAX_SIZE). */
#define NODE_MAX_SAFETY (1u << 30)
/* Our listpack header is 2 bytes longer than Redis's: node sizes are
 * compared as Redis would count them, so nodes split where Redis's do
 * (and approximate trimming removes what Redis's removes). */
#define LP_HDR_EXTRA 2

/* ---------------------------------------------------------------------- */
/* IDs                                                                      */
/* ---------------------------------------------------------------------- */

int sid_incr(sid *id)
{
    if (id->seq != UINT64_MAX) {
        id->seq++;
        return 1;
    }
    if (id->ms == UINT64_MAX) return 0;
    id->ms++;
    id->seq = 0;
    return 1;
}

int sid_decr(sid *id)
{
    if (id->seq != 0) {
        id->seq--;
        return 1;
    }
    if (id->ms == 0) return 0;
    id->ms--;
    id->seq = UINT64_MAX;
    return 1;
}

int sid_format(const sid *id, char *buf)
{
    int n = ull_to_str_raw(buf, id->ms);
    buf[n++] = '-';
    n += ull_to_str_raw(buf + n, id->seq);
    buf[n] = '\0';
    return n;
}

int sid_parse(const char *s, size_t len, uint64_t missing_seq, sid *id, int *seq_auto)
{
    if (seq_auto) *seq_auto = 0;
    const char *dash = memchr(s, '-', len);
    unsigned long long ms, seq = missing_seq;
    size_t mslen = dash ? (size_t)(dash - s) : len;
    if (!str_to_ull(s, mslen, &ms)) return 0;
    if (dash) {
        const char *q = dash + 1;
        size_t qlen = len - mslen - 1;
        if (seq_auto && qlen == 1 && q[0] == '*') {
            *seq_auto = 1;
            seq = 0;
        } else if (!str_to_ull(q, qlen, &seq)) {
            return 0;
        }
    }
    id->ms = ms;
    id->seq = seq;
    return 1;
}

/* ---------------------------------------------------------------------- */
/* sidmap                                                                   */
/* ---------------------------------------------------------------------- */

size_t sidmap_lower(const sidmap *m, const sid *id)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sid_cmp(&m->a[m->off + mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sidmap_ent *sidmap_find(const sidmap *m, const sid *id)
{
    size_t i = sidmap_lower(m, id);
    if (i < m->n && sid_cmp(&m->a[m->off + i].id, id) == 0) return &m->a[m->off + i];
    return NULL;
}

/* Make room for one more entry at the end of the array. */
static void sidmap_room(sidmap *m)
{
    if (m->off + m->n < m->cap) return;
    if (m->off > m->cap / 2) {
        memmove(m->a, m->a + m->off, m->n * sizeof(*m->a));
        m->off = 0;
        return;
    }
    m->cap = m->cap ? m->cap * 2 : 4;
    m->a = cm_realloc(m->a, m->cap * sizeof(*m->a));
}

void sidmap_insert(sidmap *m, const sid *id, void *val)
{
    size_t i = m->n && sid_cmp(&m->a[m->off + m->n - 1].id, id) < 0 ? m->n : sidmap_lower(m, id);
    if (i == 0 && m->off > 0) {
        m->off--;
    } else {
        sidmap_room(m);
        sidmap_ent *base = m->a + m->off;
        memmove(base + i + 1, base + i, (m->n - i) * sizeof(*base));
    }
    m->a[m->off + i] = (sidmap_ent){*id, val};
    m->n++;
}

void sidmap_remove_at(sidmap *m, size_t i)
{
    if (i == 0) {
        m->off++;
    } else {
        sidmap_ent *base = m->a + m->off;
        memmove(base + i, base + i + 1, (m->n - i - 1) * sizeof(*base));
    }
    if (--m->n == 0) m->off = 0;
}

void *sidmap_remove(sidmap *m, const sid *id)
{
    size_t i = sidmap_lower(m, id);
    if (i == m->n || sid_cmp(&m->a[m->off + i].id, id) != 0) return NULL;
    void *v = m->a[m->off + i].val;
    sidmap_remove_at(m, i);
    return v;
}

void sidmap_free(sidmap *m)
{
    cm_free(m->a);
    memset(m, 0, sizeof(*m));
}

size_t sidmap_mem(const sidmap *m) { return m->a ? cm_usable_size(m->a) : 0; }

/* ---------------------------------------------------------------------- */
/* Listpack helpers                                                         */
/* ---------------------------------------------------------------------- */

/* The integer at p (entries the stream writes as integers). */
static long long lp_int(const unsigned char *p)
{
    lp_value v;
    lp_get(p, &v);
    if (!v.str) return v.ll;
    long long ll = 0;
    str_to_ll((const char *)v.str, v.len, &ll);
    return ll;
}

/* Is the entry at p an integer (not a string)? */
static int lp_is_int(const unsigned char *p, long long *out)
{
    lp_value v;
    lp_get(p, &v);
    if (v.str) return 0;
    *out = v.ll;
    return 1;
}

static unsigned char *lp_skip(unsigned char *lp, unsigned char *p, long long n)
{
    while (n-- > 0 && p)
        p = lp_next(lp, p);
    return p;
}

/* ---------------------------------------------------------------------- */
/* The stream                                                               */
/* ---------------------------------------------------------------------- */

stream *stream_new(void) { return cm_calloc(1, sizeof(stream)); }

static void consumer_free(stream_consumer *c)
{
    sidmap_free(&c->pel);
    dstr_free(c->name);
    cm_free(c);
}

static void cg_free(stream_cg *cg)
{
    for (size_t i = 0; i < sidmap_len(&cg->pel); i++)
        cm_free(sidmap_at(&cg->pel, i)->val);
    sidmap_free(&cg->pel);
    for (size_t i = 0; i < cg->nconsumers; i++)
        consumer_free(cg->consumers[i]);
    cm_free(cg->consumers);
    dstr_free(cg->name);
    cm_free(cg);
}

void stream_free(stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < sidmap_len(&s->nodes); i++)
        lp_free(sidmap_at(&s->nodes, i)->val);
    sidmap_free(&s->nodes);
    for (size_t i = 0; i < s->ngroups; i++)
        cg_free(s->groups[i]);
    cm_free(s->groups);
    cm_free(s);
}

static void cg_copy(stream *d, const stream_cg *cg)
{
    stream_cg *n =
        stream_cg_create(d, cg->name, dstr_len(cg->name), &cg->last_id, cg->entries_read);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *c = cg->consumers[i];
        stream_consumer *nc = stream_consumer_create(n, c->name, dstr_len(c->name), c->seen_time);
        for (size_t j = 0; j < sidmap_len(&c->pel); j++) {
            sidmap_ent *e = sidmap_at(&c->pel, j);
            const stream_nack *old = sidmap_find(&cg->pel, &e->id)->val;
            stream_nack *nn = stream_nack_add(n, nc, &e->id, old->delivery_time);
            nn->delivery_count = old->delivery_count;
        }
    }
}

stream *stream_dup(const stream *s)
{
    stream *d = stream_new();
    for (size_t i = 0; i < sidmap_len(&s->nodes); i++) {
        sidmap_ent *e = sidmap_at(&s->nodes, i);
        sidmap_insert(&d->nodes, &e->id, cm_memdup(e->val, lp_bytes(e->val)));
    }
    d->length = s->length;
    d->last_id = s->last_id;
    d->first_id = s->first_id;
    d->max_deleted_id = s->max_deleted_id;
    d->entries_added = s->entries_added;
    for (size_t i = 0; i < s->ngroups; i++)
        cg_copy(d, s->groups[i]);
    return d;
}

static size_t cg_mem(const stream_cg *cg)
{
    size_t n = cm_usable_size((void *)cg) + dstr_alloc_size(cg->name) + sidmap_mem(&cg->pel);
    if (sidmap_len(&cg->pel))
        n += sidmap_len(&cg->pel) * cm_usable_size(sidmap_at(&cg->pel, 0)->val);
    if (cg->consumers) n += cm_usable_size(cg->consumers);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *c = cg->consumers[i];
        n += cm_usable_size((void *)c) + dstr_alloc_size(c->name) + sidmap_mem(&c->pel);
    }
    return n;
}

size_t stream_mem(const stream *s, long long samples)
{
    size_t n = cm_usable_size((void *)s) + sidmap_mem(&s->nodes);
    size_t nodes = sidmap_len(&s->nodes), seen = 0, sum = 0;
    for (; seen < nodes && (samples == 0 || (long long)seen < samples); seen++)
        sum += cm_usable_size(sidmap_at(&s->nodes, seen)->val);
    if (seen) n += (size_t)((double)sum / (double)seen * (double)nodes);
    if (s->groups) n += cm_usable_size(s->groups);
    for (size_t i = 0; i < s->ngroups; i++)
        n += cg_mem(s->groups[i]);
    return n;
}

int stream_next_id(const stream *s, uint64_t now_ms, sid *out)
{
    if (now_ms > s->last_id.ms) {
        *out = (sid){now_ms, 0};
        return 1;
    }
    *out = s->last_id;
    return sid_incr(out);
}

/* Can the tail node take an entry of `payload` bytes of fields and values? */
static int node_has_room(unsigned char *lp, size_t payload, const stream_limits *lim)
{
    size_t max = lim->max_bytes;
    if (max == 0 || max > NODE_MAX_SAFETY) max = NODE_MAX_SAFETY;
    if (lp_bytes(lp) - LP_HDR_EXTRA + payload >= max) return 0;
    if (lim->max_entries) {
        unsigned char *p = lp_first(lp);
        long long count = lp_int(p) + lp_int(lp_next(lp, p));
        if (count >= lim->max_entries) return 0;
    }
    return 1;
}

/* The elements appended per field of an entry: lp_append_many() takes
 * them in chunks, so any number of fields works. */
#define APPEND_BATCH 32

/* Append the strings fv[first], fv[first + step], ... (n of them). */
static unsigned char *append_strings(unsigned char *lp, const cslice *fv, long first, long step,
                                     long n)
{
    lp_item items[APPEND_BATCH];
    long k = 0;
    for (long i = 0; i < n; i++) {
        const cslice *a = &fv[first + i * step];
        items[k++] = (lp_item){a->ptr, a->len, 0};
        if (k == APPEND_BATCH) {
            lp = lp_append_many(lp, items, (size_t)k);
            k = 0;
        }
    }
    return k ? lp_append_many(lp, items, (size_t)k) : lp;
}

static unsigned char *new_node(const cslice *fv, long nfields)
{
    lp_item head[3] = {{NULL, 0, 1}, {NULL, 0, 0}, {NULL, 0, nfields}};
    unsigned char *lp = lp_append_many(lp_new(0), head, 3);
    lp = append_strings(lp, fv, 0, 2, nfields);
    lp_item zero = {NULL, 0, 0};
    return lp_append_many(lp, &zero, 1);
}

/* Count one more entry in the master entry of lp; returns whether the
 * fields fv are the master entry's. */
static unsigned char *count_entry(unsigned char *lp, const cslice *fv, long nfields, int *same)
{
    unsigned char *p = lp_first(lp);
    lp = lp_replace_int(lp, &p, lp_int(p) + 1);
    p = lp_next(lp, lp_next(lp, p));
    long long mcount = lp_int(p);
    *same = 0;
    if (mcount != nfields) return lp;
    for (long i = 0; i < nfields; i++) {
        p = lp_next(lp, p);
        if (!lp_equals(p, fv[2 * i].ptr, fv[2 * i].len)) return lp;
    }
    *same = 1;
    return lp;
}

/* Append the entry id to the node lp whose master ID is master: its flags,
 * ID deltas, fields (unless the master entry's) and values, and the count
 * of those elements, growing the node once rather than per element. */
static unsigned char *append_entry(unsigned char *lp, const sid *master, const sid *id,
                                   const cslice *fv, long nfields, int same)
{
    lp_item head[4] = {{NULL, 0, same ? FLAG_SAMEFIELDS : 0},
                       {NULL, 0, (long long)(id->ms - master->ms)},
                       {NULL, 0, (long long)(id->seq - master->seq)},
                       {NULL, 0, nfields}};
    lp_item tail = {NULL, 0, 3 + nfields + (same ? 0 : nfields + 1)};
    if (same && nfields + 4 <= APPEND_BATCH) {
        /* The usual entry: one append. */
        lp_item items[APPEND_BATCH];
        memcpy(items, head, 3 * sizeof(*items));
        for (long i = 0; i < nfields; i++)
            items[3 + i] = (lp_item){fv[2 * i + 1].ptr, fv[2 * i + 1].len, 0};
        items[3 + nfields] = tail;
        return lp_append_many(lp, items, (size_t)nfields + 4);
    }
    lp = lp_append_many(lp, head, same ? 3 : 4);
    if (same)
        lp = append_strings(lp, fv, 1, 2, nfields); /* the values */
    else
        lp = append_strings(lp, fv, 0, 1, 2 * nfields); /* fields and values */
    return lp_append_many(lp, &tail, 1);
}

void stream_append(stream *s, const sid *id, const cslice *fv, long nfields,
                   const stream_limits *lim)
{
    size_t payload = 0;
    for (long i = 0; i < 2 * nfields; i++)
        payload += fv[i].len;
    size_t nn = sidmap_len(&s->nodes);
    sidmap_ent *tail = nn ? sidmap_at(&s->nodes, nn - 1) : NULL;
    unsigned char *lp;
    sid master;
    int same;
    if (tail && node_has_room(tail->val, payload, lim)) {
        master = tail->id;
        size_t before = lp_bytes(tail->val);
        lp = count_entry(tail->val, fv, nfields, &same);
        if (lp_bytes(lp) != before) s->gen++; /* the count grew a byte: entries moved */
    } else {
        master = *id;
        lp = new_node(fv, nfields);
        same = 1;
        sidmap_insert(&s->nodes, id, NULL);
        tail = sidmap_at(&s->nodes, sidmap_len(&s->nodes) - 1);
    }
    tail->val = append_entry(lp, &master, id, fv, nfields, same);
    if (s->length++ == 0) s->first_id = *id;
    s->last_id = *id;
    s->entries_added++;
}

/* ---------------------------------------------------------------------- */
/* Iterating                                                                */
/* ---------------------------------------------------------------------- */

/* Index of the last node whose master ID is <= id, or -1. */
static long node_at_or_before(const stream *s, const sid *id)
{
    size_t i = sidmap_lower(&s->nodes, id);
    if (i < sidmap_len(&s->nodes) && sid_cmp(&sidmap_at(&s->nodes, i)->id, id) == 0) return (long)i;
    return (long)i - 1;
}

void stream_iter_start(stream_iter *it, const stream *s, const sid *start, const sid *end, int rev)
{
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->start = start ? *start : SID_MIN;
    it->end = end ? *end : SID_MAX;
    it->rev = rev;
    size_t n = sidmap_len(&s->nodes);
    long first;
    if (!rev)
        first = node_at_or_before(s, &it->start);
    else
        first = node_at_or_before(s, &it->end);
    if (!rev && first < 0) first = 0;
    if (n == 0 || first < 0 || sid_cmp(&it->start, &it->end) > 0) {
        it->done = 1;
        return;
    }
    it->node = (size_t)first;
}

/* Enter the next node; 0 when there is none. */
static int iter_load(stream_iter *it)
{
    if (it->done) return 0;
    sidmap_ent *e = sidmap_at(&it->s->nodes, it->node);
    if (!it->rev) {
        if (++it->node == sidmap_len(&it->s->nodes)) it->done = 1;
    } else {
        if (it->node == 0)
            it->done = 1;
        else
            it->node--;
    }
    it->master = e->id;
    it->lp = e->val;
    unsigned char *p = lp_next(it->lp, lp_next(it->lp, lp_first(it->lp)));
    it->mcount = (long)lp_int(p);
    it->mf = lp_next(it->lp, p);
    it->p = lp_skip(it->lp, it->mf, it->mcount); /* the master entry's 0 */
    it->flag = NULL;
    return 1;
}

/* The flags of the entry after (or before) the current one in the node,
 * or NULL at the node's end. */
static unsigned char *iter_step(stream_iter *it)
{
    unsigned char *lp = it->lp;
    if (!it->rev) {
        unsigned char *p = it->p;
        if (it->flag) {
            long long left = it->eflags & FLAG_SAMEFIELDS ? it->left : 2 * it->left;
            p = lp_skip(lp, p, left); /* now at lp-count */
        }
        return lp_next(lp, p);
    }
    unsigned char *p = it->flag ? lp_prev(lp, it->flag) : lp_last(lp);
    long long back = lp_int(p);
    if (back == 0) return NULL; /* the master entry */
    while (back-- > 0)
        p = lp_prev(lp, p);
    return p;
}

int stream_iter_next(stream_iter *it, sid *id, long *nfields)
{
    for (;;) {
        if (!it->lp && !iter_load(it)) return 0;
        unsigned char *e = iter_step(it);
        if (!e) {
            it->lp = NULL;
            continue;
        }
        unsigned char *p = e;
        int flags = (int)lp_int(p);
        p = lp_next(it->lp, p);
        sid cur = it->master;
        cur.ms += (uint64_t)lp_int(p);
        p = lp_next(it->lp, p);
        cur.seq += (uint64_t)lp_int(p);
        p = lp_next(it->lp, p);
        long n = it->mcount;
        if (!(flags & FLAG_SAMEFIELDS)) {
            n = (long)lp_int(p);
            p = lp_next(it->lp, p);
        }
        it->flag = e;
        it->eflags = flags;
        it->p = p;
        it->left = n;
        it->mfp = it->mf;
        if (!it->rev) {
            if (sid_cmp(&cur, &it->start) < 0 || (flags & FLAG_DELETED)) continue;
            if (sid_cmp(&cur, &it->end) > 0) break;
        } else {
            if (sid_cmp(&cur, &it->end) > 0 || (flags & FLAG_DELETED)) continue;
            if (sid_cmp(&cur, &it->start) < 0) break;
        }
        *id = cur;
        *nfields = n;
        return 1;
    }
    it->done = 1;
    it->lp = NULL;
    return 0;
}

void stream_iter_field(stream_iter *it, lp_value *field, lp_value *value)
{
    if (it->eflags & FLAG_SAMEFIELDS) {
        lp_get(it->mfp, field);
        it->mfp = lp_next(it->lp, it->mfp);
    } else {
        lp_get(it->p, field);
        it->p = lp_next(it->lp, it->p);
    }
    lp_get(it->p, value);
    it->p = lp_next(it->lp, it->p);
    it->left--;
}

void stream_iter_resume(stream_iter *it, const stream *s, const sid *start, const stream_pos *pos)
{
    stream_iter_start(it, s, start, NULL, 0);
    if (it->done || !pos->valid || pos->gen != s->gen || sid_cmp(&pos->next, start) != 0) return;
    sidmap_ent *e = sidmap_find(&s->nodes, &pos->master);
    if (!e || pos->off >= lp_bytes(e->val)) return;
    it->node = (size_t)(e - sidmap_at(&s->nodes, 0));
    iter_load(it);
    /* iter_step() goes on from the element before the next entry. */
    it->p = lp_prev(it->lp, it->lp + pos->off);
}

void stream_iter_save(const stream_iter *it, const sid *id, stream_pos *pos)
{
    pos->valid = 0;
    if (it->rev || !it->lp || !it->flag) return;
    long long left = it->eflags & FLAG_SAMEFIELDS ? it->left : 2 * it->left;
    unsigned char *p = lp_skip(it->lp, it->p, left); /* the entry's lp-count */
    unsigned char *next = lp_next(it->lp, p);
    pos->next = *id;
    if (!sid_incr(&pos->next)) return;
    pos->master = it->master;
    pos->gen = it->s->gen;
    pos->off = next ? (size_t)(next - it->lp) : lp_bytes(it->lp) - 1;
    pos->valid = 1;
}

int stream_edge_id(const stream *s, int last, sid *out)
{
    stream_iter it;
    stream_iter_start(&it, s, NULL, NULL, last);
    long n;
    if (stream_iter_next(&it, out, &n)) return 1;
    *out = SID_MIN;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Deleting and trimming                                                    */
/* ---------------------------------------------------------------------- */

/* Flag the entry at `flag` of node i deleted; frees the node when it was
 * its last live entry. */
static void node_delete_entry(stream *s, size_t i, unsigned char *flag)
{
    sidmap_ent *e = sidmap_at(&s->nodes, i);
    unsigned char *lp = e->val, *p = lp_first(lp);
    long long live = lp_int(p);
    s->length--;
    s->gen++; /* the counts may change size, or the node go */
    if (live == 1) {
        lp_free(lp);
        sidmap_remove_at(&s->nodes, i);
        return;
    }
    lp = lp_replace_int(lp, &flag, lp_int(flag) | FLAG_DELETED);
    p = lp_first(lp);
    lp = lp_replace_int(lp, &p, live - 1);
    p = lp_next(lp, p);
    lp = lp_replace_int(lp, &p, lp_int(p) + 1);
    e->val = lp;
}

static void refresh_first_id(stream *s)
{
    if (s->length == 0)
        s->first_id = SID_MIN;
    else
        stream_edge_id(s, 0, &s->first_id);
}

int stream_delete(stream *s, const sid *id)
{
    long i = node_at_or_before(s, id);
    if (i < 0) return 0;
    stream_iter it;
    stream_iter_start(&it, s, id, id, 0);
    sid found;
    long n;
    if (!stream_iter_next(&it, &found, &n)) return 0;
    /* The entry is in node i: the iterator started there. */
    node_delete_entry(s, (size_t)i, it.flag);
    if (sid_cmp(id, &s->max_deleted_id) > 0) s->max_deleted_id = *id;
    if (s->length == 0 || sid_cmp(id, &s->first_id) == 0) refresh_first_id(s);
    return 1;
}

/* The ID of the last entry (deleted or not) of a node. */
static sid node_last_id(unsigned char *lp, const sid *master)
{
    unsigned char *p = lp_last(lp);
    long long back = lp_int(p);
    while (back-- > 0)
        p = lp_prev(lp, p);
    sid id = *master;
    p = lp_next(lp, p);
    id.ms += (uint64_t)lp_int(p);
    id.seq += (uint64_t)lp_int(lp_next(lp, p));
    return id;
}

/* Flag the entries of the head node deleted while the trim asks for it;
 * returns how many. */
static long long trim_in_node(stream *s, const stream_trim *t)
{
    sidmap_ent *e = sidmap_at(&s->nodes, 0);
    stream_iter it;
    stream_iter_start(&it, s, NULL, NULL, 0);
    iter_load(&it);
    unsigned char *lp = e->val;
    long long removed = 0;
    for (unsigned char *flag = iter_step(&it); flag; flag = iter_step(&it)) {
        unsigned char *p = lp_next(lp, flag);
        sid cur = e->id;
        cur.ms += (uint64_t)lp_int(p);
        p = lp_next(lp, p);
        cur.seq += (uint64_t)lp_int(p);
        int stop = t->strategy == TRIM_MAXLEN ? s->length <= (uint64_t)t->maxlen
                                              : sid_cmp(&cur, &t->minid) >= 0;
        if (stop) break;
        long long fl = lp_int(flag);
        /* Position the iterator past this entry's fields to step on. */
        p = lp_next(lp, p);
        long long nf = it.mcount;
        if (!(fl & FLAG_SAMEFIELDS)) {
            nf = lp_int(p);
            p = lp_next(lp, p);
        }
        if (!(fl & FLAG_DELETED)) {
            size_t foff = (size_t)(flag - lp), poff = (size_t)(p - lp);
            lp = lp_replace_int(lp, &flag, fl | FLAG_DELETED);
            /* The flags only gain a bit that fits their one-byte encoding. */
            p = lp + poff;
            flag = lp + foff;
            it.lp = lp;
            removed++;
            s->length--;
        }
        it.flag = flag;
        it.eflags = (int)fl;
        it.p = p;
        it.left = (long)nf;
    }
    unsigned char *p = lp_first(lp);
    long long live = lp_int(p);
    lp = lp_replace_int(lp, &p, live - removed);
    p = lp_next(lp, p);
    lp = lp_replace_int(lp, &p, lp_int(p) + removed);
    e->val = lp;
    return removed;
}

long long stream_trim_run(stream *s, const stream_trim *t)
{
    if (t->strategy == TRIM_NONE) return 0;
    long long deleted = 0;
    while (sidmap_len(&s->nodes)) {
        if (t->strategy == TRIM_MAXLEN && s->length <= (uint64_t)t->maxlen) break;
        sidmap_ent *e = sidmap_at(&s->nodes, 0);
        long long entries = lp_int(lp_first(e->val));
        if (t->limit && deleted + entries > t->limit) break;
        int whole;
        if (t->strategy == TRIM_MAXLEN) {
            whole = s->length - (uint64_t)entries >= (uint64_t)t->maxlen;
        } else {
            sid last = node_last_id(e->val, &e->id);
            whole = sid_cmp(&last, &t->minid) < 0;
        }
        if (whole) {
            lp_free(e->val);
            sidmap_remove_at(&s->nodes, 0);
            s->length -= (uint64_t)entries;
            deleted += entries;
            continue;
        }
        if (t->approx) break;
        deleted += trim_in_node(s, t);
        break;
    }
    if (deleted) {
        refresh_first_id(s);
        s->gen++;
    }
    return deleted;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                  */
/* ---------------------------------------------------------------------- */

/* Check one entry at *pp of a node with mcount master fields; on success
 * *pp is past it and *id, *deleted are set. */
static int check_entry(unsigned char *lp, unsigned char **pp, const sid *master, long long mcount,
                       sid *id, int *deleted)
{
    unsigned char *p = *pp;
    long long v[3], nf;
    for (int i = 0; i < 3; i++) {
        if (!p || !lp_is_int(p, &v[i])) return 0;
        p = lp_next(lp, p);
    }
    if (v[0] & ~(long long)(FLAG_DELETED | FLAG_SAMEFIELDS)) return 0;
    long long elems = 3;
    if (v[0] & FLAG_SAMEFIELDS) {
        nf = mcount;
    } else {
        if (!p || !lp_is_int(p, &nf) || nf < 0) return 0;
        p = lp_next(lp, p);
        elems += 1 + nf;
    }
    elems += nf;
    for (long long i = 0; i < (v[0] & FLAG_SAMEFIELDS ? nf : 2 * nf); i++) {
        if (!p) return 0;
        p = lp_next(lp, p);
    }
    long long lpc;
    if (!p || !lp_is_int(p, &lpc) || lpc != elems) return 0;
    *pp = lp_next(lp, p);
    id->ms = master->ms + (uint64_t)v[1];
    id->seq = master->seq + (uint64_t)v[2];
    *deleted = (v[0] & FLAG_DELETED) != 0;
    return 1;
}

int stream_load_node(stream *s, const sid *master, unsigned char *lp)
{
    size_t n = sidmap_len(&s->nodes);
    if (n) {
        /* Every entry of the previous node, deleted or not, comes first. */
        sidmap_ent *prev = sidmap_at(&s->nodes, n - 1);
        sid prev_last = node_last_id(prev->val, &prev->id);
        if (sid_cmp(&prev_last, master) >= 0) return 0;
    }
    long long live, dead, mcount, zero;
    unsigned char *p = lp_first(lp);
    if (!p || !lp_is_int(p, &live) || !(p = lp_next(lp, p)) || !lp_is_int(p, &dead) ||
        !(p = lp_next(lp, p)) || !lp_is_int(p, &mcount) || live <= 0 || dead < 0 || mcount < 0)
        return 0;
    p = lp_skip(lp, lp_next(lp, p), mcount);
    if (!p || !lp_is_int(p, &zero) || zero != 0) return 0;
    p = lp_next(lp, p);
    long long seen_live = 0, seen_dead = 0;
    sid prev = *master;
    int first = 1;
    while (p) {
        sid id;
        int deleted;
        if (!check_entry(lp, &p, master, mcount, &id, &deleted)) return 0;
        if (first ? sid_cmp(&id, master) != 0 : sid_cmp(&id, &prev) <= 0) return 0;
        first = 0;
        prev = id;
        if (deleted)
            seen_dead++;
        else
            seen_live++;
    }
    if (seen_live != live || seen_dead != dead) return 0;
    sidmap_insert(&s->nodes, master, lp);
    s->length += (uint64_t)live;
    return 1;
}

int stream_load_finish(stream *s, uint64_t length)
{
    size_t n = sidmap_len(&s->nodes);
    if (s->length != length) return 0;
    if (n) {
        sidmap_ent *tail = sidmap_at(&s->nodes, n - 1);
        sid last = node_last_id(tail->val, &tail->id);
        if (sid_cmp(&last, &s->last_id) > 0) return 0;
    }
    refresh_first_id(s);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Consumer groups                                                          */
/* ---------------------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of the first name >= (name, len) in a sorted array of objects
 * whose first member is their dstr name. */
static size_t name_lower(void *const *arr, size_t n, const char *name, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        dstr m = *(dstr *)arr[mid];
        if (name_cmp(m, dstr_len(m), name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void *name_find(void *const *arr, size_t n, const char *name, size_t len)
{
    size_t i = name_lower(arr, n, name, len);
    if (i < n) {
        dstr m = *(dstr *)arr[i];
        if (dstr_len(m) == len && memcmp(m, name, len) == 0) return arr[i];
    }
    return NULL;
}

static void name_insert(void ***arr, size_t *n, void *obj, const char *name, size_t len)
{
    size_t i = name_lower(*arr, *n, name, len);
    *arr = cm_realloc(*arr, (*n + 1) * sizeof(void *));
    memmove(*arr + i + 1, *arr + i, (*n - i) * sizeof(void *));
    (*arr)[i] = obj;
    (*n)++;
}

static void name_remove(void **arr, size_t *n, void *obj)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] != obj) continue;
        memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof(void *));
        (*n)--;
        return;
    }
}

stream_cg *stream_cg_find(const stream *s, const char *name, size_t len)
{
    return name_find((void *const *)s->groups, s->ngroups, name, len);
}

stream_cg *stream_cg_create(stream *s, const char *name, size_t len, const sid *last_id,
                            long long entries_read)
{
    if (stream_cg_find(s, name, len)) return NULL;
    stream_cg *cg = cm_calloc(1, sizeof(*cg));
    cg->name = dstr_new(name, len);
    cg->last_id = *last_id;
    cg->entries_read = entries_read;
    name_insert((void ***)&s->groups, &s->ngroups, cg, name, len);
    return cg;
}

void stream_cg_destroy(stream *s, stream_cg *cg)
{
    name_remove((void **)s->groups, &s->ngroups, cg);
    cg_free(cg);
}

stream_consumer *stream_consumer_find(const stream_cg *cg, const char *name, size_t len)
{
    return name_find((void *const *)cg->consumers, cg->nconsumers, name, len);
}

stream_consumer *stream_consumer_create(stream_cg *cg, const char *name, size_t len, int64_t now_ms)
{
    stream_consumer *c = cm_calloc(1, sizeof(*c));
    c->name = dstr_new(name, len);
    c->seen_time = now_ms;
    name_insert((void ***)&cg->consumers, &cg->nconsumers, c, name, len);
    return c;
}

uint64_t stream_consumer_delete(stream_cg *cg, stream_consumer *c)
{
    uint64_t n = sidmap_len(&c->pel);
    for (size_t i = 0; i < n; i++)
        cm_free(sidmap_remove(&cg->pel, &sidmap_at(&c->pel, i)->id));
    name_remove((void **)cg->consumers, &cg->nconsumers, c);
    consumer_free(c);
    return n;
}

stream_nack *stream_nack_add(stream_cg *cg, stream_consumer *c, const sid *id, int64_t now_ms)
{
    stream_nack *n = cm_malloc(sizeof(*n));
    n->delivery_time = now_ms;
    n->delivery_count = 1;
    n->consumer = c;
    sidmap_insert(&cg->pel, id, n);
    sidmap_insert(&c->pel, id, n);
    return n;
}

void stream_nack_move(stream_cg *cg, const sid *id, stream_nack *n, stream_consumer *to)
{
    (void)cg;
    if (n->consumer == to) return;
    if (n->consumer) sidmap_remove(&n->consumer->pel, id);
    n->consumer = to;
    sidmap_insert(&to->pel, id, n);
}

int stream_nack_ack(stream_cg *cg, const sid *id)
{
    stream_nack *n = sidmap_remove(&cg->pel, id);
    if (!n) return 0;
    if (n->consumer) sidmap_remove(&n->consumer->pel, id);
    cm_free(n);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* entries_read and lag, as Redis 7.0 keeps them                            */
/* ---------------------------------------------------------------------- */

int stream_range_has_tombstones(const stream *s, const sid *start, const sid *end)
{
    if (s->length == 0 || sid_is_zero(&s->max_deleted_id)) return 0;
    if (sid_cmp(&s->first_id, &s->max_deleted_id) > 0) return 0;
    sid a = start ? *start : SID_MIN, b = end ? *end : SID_MAX;
    return sid_cmp(&a, &s->max_deleted_id) <= 0 && sid_cmp(&s->max_deleted_id, &b) <= 0;
}

long long stream_estimate_distance(const stream *s, const sid *id)
{
    if (!s->entries_added) return 0;
    if (!s->length && sid_cmp(id, &s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = sid_cmp(id, &s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return SCG_INVALID_ENTRIES_READ;
    int cmp_first = sid_cmp(id, &s->first_id);
    if (sid_is_zero(&s->max_deleted_id) || sid_cmp(&s->max_deleted_id, &s->first_id) < 0) {
        if (cmp_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return SCG_INVALID_ENTRIES_READ;
}

long long stream_cg_lag(const stream *s, const stream_cg *cg)
{
    if (!s->entries_added) return 0;
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ &&
        !stream_range_has_tombstones(s, &cg->last_id, NULL))
        return (long long)s->entries_added - cg->entries_read;
    long long read = stream_estimate_distance(s, &cg->last_id);
    if (read == SCG_INVALID_ENTRIES_READ) return -1;
    return (long long)s->entries_added - read;
}

void stream_cg_delivered(const stream *s, stream_cg *cg, const sid *id)
{
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ && !stream_range_has_tombstones(s, id, NULL))
        cg->entries_read++;
    else if (s->entries_added)
        cg->entries_read = stream_estimate_distance(s, id);
    cg->last_id = *id;
}
