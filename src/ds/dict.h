/* dict.h -- a chained hash table keyed by binary strings, with
 * incremental rehash: the small maps that need a value per key (blocked
 * and watching clients per key, ZUNION's accumulator).  Keyspaces and large
 * collections use htab.h, which stores the caller's elements directly.
 *
 * Keys are dstr owned by the dict (not freed when the dict was created
 * with DICT_SHARED_KEYS: they belong to whoever put them there).  Values
 * are a union: a pointer freed with the val_free callback given at
 * creation, or a plain integer/double.
 *
 * Two tables are kept while growing or shrinking; each lookup, insert and
 * delete moves one bucket from the old table to the new (incremental
 * rehash) so no single operation pays for a whole resize; a delete that
 * leaves the table mostly empty shrinks it.  Hashes are SipHash-1-2 keyed
 * with the seed given at creation. */
#ifndef CAIRN_DICT_H
#define CAIRN_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "dstr.h"

typedef struct dict_entry {
    dstr key;
    union {
        void *ptr;
        int64_t s64;
        double d;
    } v;
    struct dict_entry *next;
} dict_entry;

typedef void (*dict_val_free_fn)(void *val);

enum {
    DICT_SHARED_KEYS = 1 << 0, /* keys are not freed by the dict */
};

typedef struct dict_table {
    dict_entry **buckets;
    uint64_t size; /* power of two, or 0 */
    uint64_t used;
} dict_table;

typedef struct dict {
    dict_table t[2];
    int64_t rehash_idx; /* -1 when not rehashing */
    int pause_rehash;   /* > 0 while safe iterators exist */
    int flags;
    dict_val_free_fn val_free;
    uint8_t seed[16];
} dict;

typedef struct dict_iter {
    dict *d;
    int table;
    int64_t index;
    dict_entry *entry, *next_entry;
} dict_iter;

dict *dict_create(const uint8_t seed[16], dict_val_free_fn val_free, int flags);
void dict_release(dict *d);

static inline uint64_t dict_size(const dict *d) { return d->t[0].used + d->t[1].used; }
static inline uint64_t dict_buckets(const dict *d) { return d->t[0].size + d->t[1].size; }
static inline int dict_is_rehashing(const dict *d) { return d->rehash_idx != -1; }

uint64_t dict_hash(const dict *d, const char *key, size_t len);

dict_entry *dict_find(dict *d, const char *key, size_t len);
/* Insert key (ownership passes to the dict) if absent and return the new
 * entry with v zeroed; if present, return NULL and set *existing (when not
 * NULL) to the entry already there -- the key passed in is then NOT taken
 * and the caller still owns it. */
dict_entry *dict_add(dict *d, dstr key, dict_entry **existing);
/* Delete key, freeing key and value.  Returns 1 if it was there. */
int dict_delete(dict *d, const char *key, size_t len);

/* Resize so that size >= n entries fit (used before bulk inserts). */
void dict_expand(dict *d, uint64_t n);
/* Shrink when the table is mostly empty (< 1/8 full); cheap to call. */
void dict_shrink_if_needed(dict *d);
/* Do up to n bucket moves of rehashing.  Returns 1 if more remain. */
int dict_rehash(dict *d, int n);

/* A safe iterator: rehashing pauses while it exists, and the current entry
 * may be deleted during iteration.  Always call dict_iter_end(). */
void dict_iter_start(dict_iter *it, dict *d);
dict_entry *dict_iter_next(dict_iter *it);
void dict_iter_end(dict_iter *it);

#endif
