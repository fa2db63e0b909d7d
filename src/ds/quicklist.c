/* quicklist.c -- a doubly linked list of listpacks; see quicklist.h.
 *
 * The node-filling rules follow Redis's quicklist.c (7.2): the same size
 * levels, the same 8 KB safety limit for count-limited nodes, the same
 * decisions when inserting next to a full node (use the neighbour, add a
 * node, or split and merge back), so that lists take the shape they take
 * in Redis and the listpack <-> quicklist conversion happens at the same
 * sizes. */
#include "quicklist.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

/* Node size limits for fill -1 .. -5. */
static const size_t optimization_level[] = {4096, 8192, 16384, 32768, 65536};
#define OPT_LEVELS (sizeof(optimization_level) / sizeof(optimization_level[0]))

/* A node limited by entry count still stops growing at 8 KB, so a few
 * huge entries cannot make one enormous listpack. */
#define SIZE_SAFETY_LIMIT 8192

/* Bytes an entry adds to a listpack beyond its payload, at most (header
 * and backlength); overestimating only leaves a node slightly short. */
#define SIZE_ESTIMATE_OVERHEAD 8

/* Header and end marker of a listpack: what merging two of them saves. */
#define LP_OVERHEAD 7

void ql_node_limit(int fill, size_t *size, unsigned int *count)
{
    *size = SIZE_MAX;
    *count = UINT_MAX;
    if (fill >= 0) {
        /* A node holds at least one entry, whatever fill says. */
        *count = fill == 0 ? 1 : (unsigned int)fill;
    } else {
        size_t level = (size_t)(-(long)fill) - 1;
        if (level >= OPT_LEVELS) level = OPT_LEVELS - 1;
        *size = optimization_level[level];
    }
}

int ql_node_exceeds_limit(int fill, size_t new_sz, unsigned int new_count)
{
    size_t sz_limit;
    unsigned int count_limit;
    ql_node_limit(fill, &sz_limit, &count_limit);
    if (sz_limit != SIZE_MAX) return new_sz > sz_limit;
    if (new_sz > SIZE_SAFETY_LIMIT) return 1;
    return new_count > count_limit;
}

/* ---------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static ql_node *node_new(unsigned char *lp)
{
    ql_node *n = cm_malloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp;
    n->count = (unsigned int)lp_length(lp);
    return n;
}

/* A node holding the single entry s. */
static ql_node *node_new_entry(const char *s, size_t len)
{
    ql_node *n = node_new(lp_append(lp_new(len + SIZE_ESTIMATE_OVERHEAD), s, len));
    return n;
}

static void node_free(ql_node *n)
{
    lp_free(n->lp);
    cm_free(n);
}

static size_t node_sz(const ql_node *n) { return lp_bytes(n->lp); }

static int node_allow_insert(const ql_node *n, int fill, size_t len)
{
    if (!n) return 0;
    return !ql_node_exceeds_limit(fill, node_sz(n) + len + SIZE_ESTIMATE_OVERHEAD, n->count + 1);
}

static int node_allow_merge(const ql_node *a, const ql_node *b, int fill)
{
    if (!a || !b) return 0;
    return !ql_node_exceeds_limit(fill, node_sz(a) + node_sz(b) - LP_OVERHEAD, a->count + b->count);
}

/* Link n next to old (after it, or before it); old NULL means the list is
 * empty.  Counts of entries are the caller's business. */
static void link_node(quicklist *ql, ql_node *old, ql_node *n, int after)
{
    if (!old) {
        ql->head = ql->tail = n;
    } else if (after) {
        n->prev = old;
        n->next = old->next;
        if (old->next) old->next->prev = n;
        old->next = n;
        if (ql->tail == old) ql->tail = n;
    } else {
        n->next = old;
        n->prev = old->prev;
        if (old->prev) old->prev->next = n;
        old->prev = n;
        if (ql->head == old) ql->head = n;
    }
    ql->len++;
}

/* Unlink and free n, with its entries. */
static void del_node(quicklist *ql, ql_node *n)
{
    if (n->prev) n->prev->next = n->next;
    if (n->next) n->next->prev = n->prev;
    if (ql->head == n) ql->head = n->next;
    if (ql->tail == n) ql->tail = n->prev;
    ql->len--;
    ql->count -= n->count;
    node_free(n);
}

/* Delete the entry at p in n.  Returns 1 if that emptied and freed n. */
static int del_at(quicklist *ql, ql_node *n, unsigned char *p)
{
    if (n->count == 1) {
        del_node(ql, n);
        return 1;
    }
    n->lp = lp_delete(n->lp, p, NULL);
    n->count--;
    ql->count--;
    return 0;
}

static unsigned char *lp_append_value(unsigned char *lp, const lp_value *v)
{
    if (!v->str) return lp_append_int(lp, v->ll);
    return lp_append(lp, (const char *)v->str, v->len);
}

/* Join b (a's successor) into a and free b.  The merged listpack is built
 * in one allocation sized for both. */
static ql_node *merge_nodes(quicklist *ql, ql_node *a, ql_node *b)
{
    unsigned char *lp = lp_new(node_sz(a) + node_sz(b));
    for (int i = 0; i < 2; i++) {
        unsigned char *src = i == 0 ? a->lp : b->lp;
        for (unsigned char *p = lp_first(src); p; p = lp_next(src, p)) {
            lp_value v;
            lp_get(p, &v);
            lp = lp_append_value(lp, &v);
        }
    }
    lp_free(a->lp);
    a->lp = lp;
    a->count += b->count;
    /* del_node subtracts b's entries from the list: they are still in it. */
    ql->count += b->count;
    del_node(ql, b);
    return a;
}

/* After a split, join center's neighbourhood back where nodes fit
 * together: the two nodes before it, the two after it, then center with
 * each side (Redis's _quicklistMergeNodes). */
static void merge_around(quicklist *ql, ql_node *center)
{
    int fill = ql->fill;
    ql_node *prev = center->prev, *next = center->next;
    ql_node *prev_prev = prev ? prev->prev : NULL;
    ql_node *next_next = next ? next->next : NULL;

    if (node_allow_merge(prev_prev, prev, fill)) merge_nodes(ql, prev_prev, prev);
    if (node_allow_merge(next, next_next, fill)) merge_nodes(ql, next, next_next);

    ql_node *target = center;
    if (node_allow_merge(center->prev, center, fill))
        target = merge_nodes(ql, center->prev, center);
    if (node_allow_merge(target, target->next, fill)) merge_nodes(ql, target, target->next);
}

/* Split n around entry off.  With after, n keeps [0, off] and the new
 * node gets the rest; otherwise n keeps [off, end) and the new node gets
 * [0, off).  The new node is returned unlinked. */
static ql_node *split_node(ql_node *n, unsigned long off, int after)
{
    unsigned long count = n->count;
    unsigned char *copy = cm_memdup(n->lp, lp_bytes(n->lp));
    if (after) {
        n->lp = lp_delete_range(n->lp, (long)off + 1, count - off - 1);
        copy = lp_delete_range(copy, 0, off + 1);
    } else {
        n->lp = lp_delete_range(n->lp, 0, off);
        copy = lp_delete_range(copy, (long)off, count - off);
    }
    n->count = (unsigned int)lp_length(n->lp);
    return node_new(copy);
}

/* ---------------------------------------------------------------------------
 * The list
 * ------------------------------------------------------------------------ */

quicklist *ql_create(int fill, int compress)
{
    quicklist *ql = cm_malloc(sizeof(*ql));
    ql->head = ql->tail = NULL;
    ql->count = 0;
    ql->len = 0;
    ql->fill = fill;
    ql->compress = compress;
    return ql;
}

void ql_free(quicklist *ql)
{
    if (!ql) return;
    ql_node *n = ql->head;
    while (n) {
        ql_node *next = n->next;
        node_free(n);
        n = next;
    }
    cm_free(ql);
}

quicklist *ql_dup(const quicklist *ql)
{
    quicklist *copy = ql_create(ql->fill, ql->compress);
    for (const ql_node *n = ql->head; n; n = n->next)
        ql_append_listpack(copy, cm_memdup(n->lp, lp_bytes(n->lp)));
    return copy;
}

void ql_push(quicklist *ql, int where, const char *s, size_t len)
{
    ql_node *end = where == QL_HEAD ? ql->head : ql->tail;
    if (node_allow_insert(end, ql->fill, len)) {
        end->lp = where == QL_HEAD ? lp_prepend(end->lp, s, len) : lp_append(end->lp, s, len);
        end->count++;
    } else {
        link_node(ql, end, node_new_entry(s, len), where == QL_TAIL);
    }
    ql->count++;
}

void ql_append_listpack(quicklist *ql, unsigned char *lp)
{
    ql_node *n = node_new(lp);
    link_node(ql, ql->tail, n, 1);
    ql->count += n->count;
}

unsigned char *ql_release_to_listpack(quicklist *ql)
{
    unsigned char *lp = ql->head->lp;
    cm_free(ql->head);
    cm_free(ql);
    return lp;
}

/* ---------------------------------------------------------------------------
 * Iteration and editing in place
 * ------------------------------------------------------------------------ */

/* Find the node holding index (0 <= idx < count), walking from the nearer
 * end; *off is the entry's index inside the node. */
static ql_node *find_node(const quicklist *ql, unsigned long idx, unsigned long *off)
{
    ql_node *n;
    unsigned long seen = 0;
    if (idx < ql->count / 2) {
        for (n = ql->head; seen + n->count <= idx; n = n->next)
            seen += n->count;
        *off = idx - seen;
    } else {
        unsigned long from_tail = ql->count - 1 - idx;
        for (n = ql->tail; seen + n->count <= from_tail; n = n->prev)
            seen += n->count;
        *off = n->count - 1 - (from_tail - seen);
    }
    return n;
}

/* Turn an index that may be negative into one from the head; 0 if out of
 * range. */
static int normalize_index(const quicklist *ql, long index, unsigned long *idx)
{
    if (index < 0) {
        unsigned long back = (unsigned long)(-(index + 1)) + 1;
        if (back > ql->count) return 0;
        *idx = ql->count - back;
    } else {
        if ((unsigned long)index >= ql->count) return 0;
        *idx = (unsigned long)index;
    }
    return 1;
}

int ql_iter_init(ql_iter *it, quicklist *ql, long index, int dir)
{
    it->ql = ql;
    it->dir = dir;
    it->p = NULL;
    it->node = NULL;
    it->offset = 0;
    unsigned long idx, off;
    if (!normalize_index(ql, index, &idx)) return 0;
    it->node = find_node(ql, idx, &off);
    /* Walking backward, offsets count from the node's end, so deleting
     * the current entry leaves the offset of the next one unchanged. */
    it->offset = dir == QL_FORWARD ? (long)off : (long)off - (long)it->node->count;
    return 1;
}

int ql_next(ql_iter *it, ql_entry *e)
{
    int fwd = it->dir == QL_FORWARD;
    while (it->node) {
        unsigned char *lp = it->node->lp;
        if (!it->p) {
            it->p = lp_seek(lp, it->offset);
        } else {
            it->p = fwd ? lp_next(lp, it->p) : lp_prev(lp, it->p);
            it->offset += fwd ? 1 : -1;
        }
        if (it->p) {
            e->node = it->node;
            e->p = it->p;
            e->offset = it->offset;
            lp_get(e->p, &e->v);
            return 1;
        }
        it->node = fwd ? it->node->next : it->node->prev;
        it->offset = fwd ? 0 : -1;
    }
    return 0;
}

void ql_del_entry(ql_iter *it, ql_entry *e)
{
    ql_node *prev = e->node->prev, *next = e->node->next;
    int fwd = it->dir == QL_FORWARD;
    int gone = del_at(it->ql, e->node, e->p);
    /* The next entry is found again by offset: forward it took the deleted
     * entry's index, backward its offset from the end did not change. */
    it->p = NULL;
    if (gone) {
        it->node = fwd ? next : prev;
        it->offset = fwd ? 0 : -1;
    }
}

int ql_index(quicklist *ql, long index, ql_entry *e)
{
    ql_iter it;
    if (!ql_iter_init(&it, ql, index, QL_FORWARD)) return 0;
    return ql_next(&it, e);
}

static unsigned long entry_offset(const ql_entry *e)
{
    return e->offset >= 0 ? (unsigned long)e->offset
                          : (unsigned long)(e->offset + (long)e->node->count);
}

void ql_replace_entry(ql_iter *it, ql_entry *e, const char *s, size_t len)
{
    quicklist *ql = it->ql;
    ql_node *n = e->node;
    unsigned long off = entry_offset(e);
    n->lp = lp_replace(n->lp, &e->p, s, len);
    it->node = NULL;
    if (n->count == 1 || !ql_node_exceeds_limit(ql->fill, node_sz(n), n->count)) return;

    /* The bigger value overfills the node: give it a node of its own
     * between the entries before and after it, then merge what fits. */
    if (off + 1 < n->count) link_node(ql, n, split_node(n, off, 1), 1);
    ql_node *mid = n;
    if (n->count > 1) {
        mid = split_node(n, n->count - 2, 1);
        link_node(ql, n, mid, 1);
    }
    merge_around(ql, mid);
}

void ql_insert(ql_iter *it, ql_entry *e, int where, const char *s, size_t len)
{
    quicklist *ql = it->ql;
    int fill = ql->fill, after = where == LP_AFTER;
    ql_node *n = e->node;
    unsigned long off = entry_offset(e);
    int full = !node_allow_insert(n, fill, len);
    int at_tail = after && off == n->count - 1;
    int at_head = !after && off == 0;
    int avail_next = at_tail && node_allow_insert(n->next, fill, len);
    int avail_prev = at_head && node_allow_insert(n->prev, fill, len);

    it->node = NULL;
    if (!full) {
        n->lp = lp_insert(n->lp, e->p, where, s, len, NULL);
        n->count++;
    } else if (avail_next) {
        /* Full, but the entry goes first in the next node, which has room. */
        n->next->lp = lp_prepend(n->next->lp, s, len);
        n->next->count++;
    } else if (avail_prev) {
        n->prev->lp = lp_append(n->prev->lp, s, len);
        n->prev->count++;
    } else if (at_tail || at_head) {
        link_node(ql, n, node_new_entry(s, len), after);
    } else {
        /* In the middle of a full node: split it there, put the entry at
         * the cut, and merge the pieces back where they fit. */
        ql_node *part = split_node(n, off, after);
        part->lp = after ? lp_prepend(part->lp, s, len) : lp_append(part->lp, s, len);
        part->count++;
        link_node(ql, n, part, after);
        merge_around(ql, n);
    }
    ql->count++;
}

unsigned long ql_del_range(quicklist *ql, long index, unsigned long count)
{
    unsigned long idx, off;
    if (count == 0 || !normalize_index(ql, index, &idx)) return 0;
    if (count > ql->count - idx) count = ql->count - idx;

    unsigned long left = count;
    ql_node *n = find_node(ql, idx, &off);
    while (left) {
        ql_node *next = n->next;
        unsigned long del = n->count - off;
        if (del > left) del = left;
        if (del == n->count) {
            del_node(ql, n);
        } else {
            n->lp = lp_delete_range(n->lp, (long)off, del);
            n->count -= (unsigned int)del;
            ql->count -= del;
        }
        left -= del;
        n = next;
        off = 0;
    }
    return count;
}

int ql_check(const quicklist *ql)
{
    unsigned long count = 0, len = 0;
    const ql_node *prev = NULL;
    for (const ql_node *n = ql->head; n; n = n->next) {
        if (n->prev != prev) return 0;
        if (n->count == 0 || n->count != lp_length(n->lp)) return 0;
        count += n->count;
        len++;
        prev = n;
    }
    if (ql->tail != prev) return 0;
    return count == ql->count && len == ql->len;
}
