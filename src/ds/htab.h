/* htab.h -- an open-addressing hash table of element pointers.
 *
 * Where dict.h stores a separately allocated entry (key, value, next) per
 * element, an htab stores only a pointer to the caller's element, and finds
 * the element's key through a callback: a keyspace object that carries its
 * own key, a set member, a hash field with its value, a sorted-set node.
 * One allocation per element instead of three, and about 9-17 bytes of
 * table per element instead of 8-16 plus a 32-byte entry.
 *
 * The layout follows Valkey 8's: buckets of one cache line holding six
 * element pointers, a presence bit per slot and one byte of each element's
 * hash (a tag) so most non-matching slots are skipped without touching the
 * element, and a link to a child bucket that takes what a full bucket
 * cannot.  Elements never move inside a table: an insert takes a free slot
 * of the home bucket's chain and a delete clears a presence bit.
 *
 * Growing and shrinking are incremental as in dict.h: two tables while
 * rehashing, each operation moves one bucket (with its chain).  The scan
 * cursor is the same reverse-binary cursor over bucket indexes, so SCAN's
 * guarantee holds: an element present for the whole scan is returned at
 * least once.  Hashes are SipHash-1-2 keyed with the seed given at
 * creation; tables created with the same seed hash a key the same way, so
 * one htab_hash() serves lookups in several of them. */
#ifndef CAIRN_HTAB_H
#define CAIRN_HTAB_H

#include <stddef.h>
#include <stdint.h>

#include "dstr.h"
#include "rand.h"

typedef struct htab_type {
    /* The key of element e.  Required. */
    cslice (*key)(const void *elem);
    /* Frees an element the table owns (htab_delete, htab_clear,
     * htab_release).  NULL: elements are not freed by the table. */
    void (*elem_free)(void *elem);
} htab_type;

typedef struct htab_bucket htab_bucket;

typedef struct htab_table {
    htab_bucket *buckets;
    uint64_t nbuckets; /* power of two, or 0 */
    uint64_t used;     /* elements */
    uint64_t chained;  /* child buckets allocated */
} htab_table;

typedef struct htab {
    const htab_type *type;
    htab_table t[2];
    int64_t rehash_idx; /* -1 when not rehashing */
    int pause_rehash;   /* > 0 while safe iterators or a scan callback run */
    uint8_t seed[16];
} htab;

typedef struct htab_iter {
    htab *h;
    int table;
    uint64_t index;
    htab_bucket *bucket; /* the bucket (or child) being walked */
    int slot;            /* next slot to look at in it */
} htab_iter;

htab *htab_create(const htab_type *type, const uint8_t seed[16]);
/* Free the table and every element (through type->elem_free). */
void htab_release(htab *h);
/* Remove (and free) every element; the table stays usable. */
void htab_clear(htab *h);

static inline uint64_t htab_size(const htab *h) { return h->t[0].used + h->t[1].used; }
static inline int htab_is_rehashing(const htab *h) { return h->rehash_idx != -1; }
/* Bytes of table (buckets and chains), elements not included. */
size_t htab_mem_usage(const htab *h);

uint64_t htab_hash(const htab *h, const char *key, size_t len);

/* The element whose key is key[0..len), or NULL. */
void *htab_find(htab *h, const char *key, size_t len);
void *htab_find_hashed(htab *h, const char *key, size_t len, uint64_t hash);
/* The slot that holds the element, so that the caller can replace it by
 * another element with the same key (one that was reallocated): write the
 * new pointer through it.  NULL if absent.  Valid until the table changes
 * by any other call. */
void **htab_find_ref(htab *h, const char *key, size_t len, uint64_t hash);

/* Add elem if no element has its key: returns 1.  Otherwise returns 0,
 * leaves the table unchanged and sets *existing (when not NULL) to the
 * element already there. */
int htab_add(htab *h, void *elem, void **existing);
/* Add elem whose key the caller knows is absent (it just looked), with the
 * key's hash already computed: no second lookup. */
void htab_add_new_hashed(htab *h, void *elem, uint64_t hash);

/* Remove the element with this key and return it, not freed; NULL if
 * absent. */
void *htab_pop(htab *h, const char *key, size_t len);
void *htab_pop_hashed(htab *h, const char *key, size_t len, uint64_t hash);
/* Remove the element with this key and free it.  Returns 1 if present. */
int htab_delete(htab *h, const char *key, size_t len);

/* Make room for n elements at once (before bulk inserts). */
void htab_expand(htab *h, uint64_t n);
/* Shrink when mostly empty; cheap to call after deletes. */
void htab_shrink_if_needed(htab *h);
/* Do up to n bucket moves of rehashing.  Returns 1 if more remain. */
int htab_rehash(htab *h, int n);

/* A random element (NULL if empty), chosen with r, each about equally
 * likely whatever the chain it is in. */
void *htab_random(htab *h, crand *r);
/* Up to count elements from random spots (may repeat, may return fewer):
 * for active expiry and eviction.  Returns how many. */
unsigned htab_sample(htab *h, void **out, unsigned count, crand *r);

typedef void (*htab_scan_fn)(void *priv, void *elem);
/* Visit one bucket index (with its chain, in both tables) and return the
 * next cursor; 0 when the scan is complete.  fn must not change the
 * table. */
uint64_t htab_scan(htab *h, uint64_t cursor, htab_scan_fn fn, void *priv);

/* A safe iterator: rehashing pauses while it exists; the element just
 * returned may be deleted (htab_pop/htab_delete) and elements may be
 * added (they may or may not be returned).  Always call htab_iter_end(). */
void htab_iter_start(htab_iter *it, htab *h);
void *htab_iter_next(htab_iter *it);
void htab_iter_end(htab_iter *it);

#endif
