/* quicklist.h -- a doubly linked list of listpack nodes: the encoding of
 * large lists.
 *
 * Each node holds a listpack of up to `fill` worth of entries, with
 * Redis's meaning of fill (list-max-listpack-size): a positive fill is a
 * maximum number of entries per node (and a node never grows past 8 KB
 * unless it holds a single entry); a negative fill -1..-5 is a maximum
 * node size of 4, 8, 16, 32 or 64 KB.  Pushes fill the end node until it
 * is full and then start a new one; inserting into a full node splits it
 * and merges what it can with the neighbours, so nodes stay dense.
 *
 * list-compress-depth is stored (`compress`) so that it can be reported,
 * but nodes are never compressed.
 *
 * Positions: an index is 0-based from the head, or negative from the tail
 * (-1 is the last entry), as in LINDEX.  An entry handed out by the
 * iterator points into its node's listpack and is valid until the list
 * changes, except through the functions that say otherwise. */
#ifndef CAIRN_QUICKLIST_H
#define CAIRN_QUICKLIST_H

#include <stddef.h>

#include "listpack.h"

enum { QL_HEAD = 0, QL_TAIL = 1 };        /* the ends of the list */
enum { QL_FORWARD = 0, QL_BACKWARD = 1 }; /* head to tail, tail to head */

typedef struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *lp;
    unsigned int count; /* entries in lp */
} ql_node;

typedef struct quicklist {
    ql_node *head, *tail;
    unsigned long count; /* entries in all nodes */
    unsigned long len;   /* nodes */
    int fill;
    int compress; /* list-compress-depth: stored, not acted on */
} quicklist;

/* One entry: where it is and its value. */
typedef struct ql_entry {
    ql_node *node;
    unsigned char *p; /* the entry inside node->lp */
    long offset;      /* its index in the node: >= 0 forward, < 0 backward */
    lp_value v;
} ql_entry;

typedef struct ql_iter {
    quicklist *ql;
    ql_node *node;    /* the node being walked, NULL at the end */
    unsigned char *p; /* the entry returned last; NULL: seek to offset */
    long offset;
    int dir;
} ql_iter;

quicklist *ql_create(int fill, int compress);
void ql_free(quicklist *ql);
quicklist *ql_dup(const quicklist *ql);

static inline unsigned long ql_count(const quicklist *ql) { return ql->count; }

/* Add an entry at the head or the tail. */
void ql_push(quicklist *ql, int where, const char *s, size_t len);
/* Take ownership of a non-empty listpack and link it as the new tail node
 * (a list changing from the listpack to the quicklist encoding). */
void ql_append_listpack(quicklist *ql, unsigned char *lp);
/* Free a quicklist of exactly one node and return the node's listpack
 * (the way back to the listpack encoding). */
unsigned char *ql_release_to_listpack(quicklist *ql);

/* Start an iterator at index (negative: from the tail) walking in
 * direction dir.  Returns 0 when the index is out of range (the iterator
 * then yields nothing). */
int ql_iter_init(ql_iter *it, quicklist *ql, long index, int dir);
/* The next entry, or 0 at the end. */
int ql_next(ql_iter *it, ql_entry *e);
/* Delete e, the entry the iterator returned last; the iterator then goes
 * on with the entry after it. */
void ql_del_entry(ql_iter *it, ql_entry *e);
/* Replace the value of e, the entry the iterator returned last.  The
 * iterator must not be used afterwards. */
void ql_replace_entry(ql_iter *it, ql_entry *e, const char *s, size_t len);
/* Insert s before or after e (LP_BEFORE / LP_AFTER, in head-to-tail
 * order).  The iterator must not be used afterwards. */
void ql_insert(ql_iter *it, ql_entry *e, int where, const char *s, size_t len);

/* The entry at index, or 0 if out of range. */
int ql_index(quicklist *ql, long index, ql_entry *e);
/* Delete count entries from index on (negative index: from the tail).
 * Returns the number deleted. */
unsigned long ql_del_range(quicklist *ql, long index, unsigned long count);

/* The node limits that fill stands for: a byte size or an entry count,
 * the other being unlimited (SIZE_MAX / UINT_MAX). */
void ql_node_limit(int fill, size_t *size, unsigned int *count);
/* Would a node of new_sz bytes and new_count entries be too big? */
int ql_node_exceeds_limit(int fill, size_t new_sz, unsigned int new_count);

/* Check every invariant (counts, links, sizes); for tests.  Returns 1 if
 * the list is consistent. */
int ql_check(const quicklist *ql);

#endif
