/* htab.c -- open-addressing hash table of element pointers (see htab.h).
 *
 * A bucket is one cache line: a presence bitmap, one tag byte per slot
 * (the top byte of the element's hash), six element pointers and a link to
 * a child bucket that takes what does not fit.  The link has a slot of its
 * own so that chaining never moves an element: an element stays in the slot
 * it was put in until it is deleted or rehashed into the other table.
 * That is what makes safe iterators and the scan cursor simple.
 *
 * Invariants while rehashing (rehash_idx != -1):
 *   - t[0] buckets below rehash_idx are empty: they were moved to t[1];
 *   - new elements always go to t[1];
 *   - a lookup looks in both tables. */
#include "htab.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "siphash.h"

#define SLOTS     6
#define ALL_SLOTS ((1u << SLOTS) - 1)
/* Grow when the elements fill more than 3/4 of the slots; shrink when
 * they fill less than 1/8 (and the table is not already the smallest). */
#define FILL_MAX_NUM 3
#define FILL_MAX_DEN 4
#define FILL_MIN_DEN 8
/* A rehash step gives up after this many empty buckets, so one step stays
 * O(1) on a sparse table. */
#define EMPTY_VISITS_PER_STEP 10

struct htab_bucket {
    uint8_t presence; /* bit i: slot i holds an element */
    uint8_t tags[SLOTS];
    uint8_t unused;
    void *elems[SLOTS];
    htab_bucket *child;
};

_Static_assert(sizeof(htab_bucket) == 64, "a bucket is one cache line");

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static uint8_t hash_tag(uint64_t hash) { return (uint8_t)(hash >> 56); }

static uint64_t table_mask(const htab_table *t) { return t->nbuckets ? t->nbuckets - 1 : 0; }

static int key_equals(const htab *h, const void *elem, const char *key, size_t len)
{
    cslice k = h->type->key(elem);
    return k.len == len && memcmp(k.ptr, key, len) == 0;
}

static uint64_t elem_hash(const htab *h, const void *elem)
{
    cslice k = h->type->key(elem);
    return htab_hash(h, k.ptr, k.len);
}

/* Buckets for n elements at the maximum fill: a power of two, at least 1. */
static uint64_t buckets_for(uint64_t n)
{
    uint64_t need =
        (n * FILL_MAX_DEN + (uint64_t)SLOTS * FILL_MAX_NUM - 1) / ((uint64_t)SLOTS * FILL_MAX_NUM);
    uint64_t size = 1;
    while (size < need && size < (UINT64_C(1) << 58))
        size <<= 1;
    return size;
}

static void table_reset(htab_table *t) { memset(t, 0, sizeof(*t)); }

static void table_alloc(htab_table *t, uint64_t nbuckets)
{
    t->buckets = cm_calloc(nbuckets, sizeof(htab_bucket));
    t->nbuckets = nbuckets;
    t->used = 0;
    t->chained = 0;
}

/* Free the buckets of t and, when free_elems, every element in them. */
static void table_free(htab *h, htab_table *t, int free_elems)
{
    for (uint64_t i = 0; i < t->nbuckets; i++) {
        htab_bucket *b = &t->buckets[i];
        int home = 1;
        while (b) {
            htab_bucket *child = b->child;
            if (free_elems && h->type->elem_free)
                for (int s = 0; s < SLOTS; s++)
                    if (b->presence & (1u << s)) h->type->elem_free(b->elems[s]);
            if (!home) cm_free(b);
            home = 0;
            b = child;
        }
    }
    cm_free(t->buckets);
    table_reset(t);
}

/* Put elem in the chain of its home bucket in t: the first free slot, or
 * a new child at the end of the chain. */
static void table_insert(htab_table *t, void *elem, uint64_t hash)
{
    htab_bucket *b = &t->buckets[hash & table_mask(t)];
    while (b->presence == ALL_SLOTS) {
        if (!b->child) {
            b->child = cm_calloc(1, sizeof(htab_bucket));
            t->chained++;
        }
        b = b->child;
    }
    int s = __builtin_ctz(~(unsigned)b->presence);
    b->presence |= (uint8_t)(1u << s);
    b->tags[s] = hash_tag(hash);
    b->elems[s] = elem;
    t->used++;
}

/* Find key in t: the bucket and slot holding it, or NULL. */
static inline htab_bucket *table_find(const htab *h, const htab_table *t, const char *key,
                                      size_t len, uint64_t hash, int *slot, htab_bucket **parent)
{
    if (t->nbuckets == 0) return NULL;
    uint8_t tag = hash_tag(hash);
    htab_bucket *prev = NULL;
    for (htab_bucket *b = &t->buckets[hash & table_mask(t)]; b; prev = b, b = b->child) {
        for (unsigned bits = b->presence; bits; bits &= bits - 1) {
            int s = __builtin_ctz(bits);
            if (b->tags[s] == tag && key_equals(h, b->elems[s], key, len)) {
                *slot = s;
                if (parent) *parent = prev;
                return b;
            }
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Resizing and rehashing
 * ------------------------------------------------------------------------ */

static void start_resize(htab *h, uint64_t nbuckets)
{
    if (htab_is_rehashing(h) || nbuckets == h->t[0].nbuckets) return;
    if (h->t[0].nbuckets == 0) {
        table_alloc(&h->t[0], nbuckets);
        return;
    }
    table_alloc(&h->t[1], nbuckets);
    h->rehash_idx = 0;
}

/* The rehash is over: the new table becomes t[0]. */
static void finish_rehash(htab *h)
{
    table_free(h, &h->t[0], 0);
    h->t[0] = h->t[1];
    table_reset(&h->t[1]);
    h->rehash_idx = -1;
}

/* Move the chain of bucket idx of t[0] into t[1]. */
static void rehash_bucket(htab *h, uint64_t idx)
{
    htab_table *from = &h->t[0];
    htab_bucket *b = &from->buckets[idx];
    int home = 1;
    while (b) {
        htab_bucket *child = b->child;
        for (unsigned bits = b->presence; bits; bits &= bits - 1) {
            void *elem = b->elems[__builtin_ctz(bits)];
            table_insert(&h->t[1], elem, elem_hash(h, elem));
            from->used--;
        }
        if (home) {
            b->presence = 0;
            b->child = NULL;
        } else {
            cm_free(b);
            from->chained--;
        }
        home = 0;
        b = child;
    }
}

int htab_rehash(htab *h, int n)
{
    if (!htab_is_rehashing(h)) return 0;
    int empty_visits = n * EMPTY_VISITS_PER_STEP;
    htab_table *from = &h->t[0];
    while (n-- > 0 && from->used > 0) {
        while (from->buckets[h->rehash_idx].presence == 0 &&
               from->buckets[h->rehash_idx].child == NULL) {
            h->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        rehash_bucket(h, (uint64_t)h->rehash_idx);
        h->rehash_idx++;
    }
    if (from->used == 0) {
        finish_rehash(h);
        return 0;
    }
    return 1;
}

static void rehash_step(htab *h)
{
    if (h->pause_rehash == 0 && htab_is_rehashing(h)) htab_rehash(h, 1);
}

static void grow_if_needed(htab *h)
{
    if (htab_is_rehashing(h)) return;
    const htab_table *t = &h->t[0];
    uint64_t slots = t->nbuckets * SLOTS;
    if (t->nbuckets == 0 || (t->used + 1) * FILL_MAX_DEN > slots * FILL_MAX_NUM)
        start_resize(h, buckets_for(t->used + 1));
}

void htab_expand(htab *h, uint64_t n)
{
    uint64_t nbuckets = buckets_for(n);
    if (nbuckets > h->t[0].nbuckets) start_resize(h, nbuckets);
}

void htab_shrink_if_needed(htab *h)
{
    if (htab_is_rehashing(h) || h->pause_rehash > 0) return;
    const htab_table *t = &h->t[0];
    if (t->nbuckets > 1 && t->used * FILL_MIN_DEN < t->nbuckets * SLOTS)
        start_resize(h, buckets_for(t->used));
}

/* ---------------------------------------------------------------------------
 * Create / destroy
 * ------------------------------------------------------------------------ */

htab *htab_create(const htab_type *type, const uint8_t seed[16])
{
    htab *h = cm_calloc(1, sizeof(*h));
    h->type = type;
    h->rehash_idx = -1;
    memcpy(h->seed, seed, sizeof(h->seed));
    return h;
}

void htab_clear(htab *h)
{
    table_free(h, &h->t[0], 1);
    table_free(h, &h->t[1], 1);
    h->rehash_idx = -1;
}

void htab_release(htab *h)
{
    if (!h) return;
    htab_clear(h);
    cm_free(h);
}

size_t htab_mem_usage(const htab *h)
{
    uint64_t buckets = 0;
    for (int i = 0; i < 2; i++)
        buckets += h->t[i].nbuckets + h->t[i].chained;
    return sizeof(*h) + buckets * sizeof(htab_bucket);
}

uint64_t htab_hash(const htab *h, const char *key, size_t len)
{
    return siphash(key, len, h->seed);
}

/* ---------------------------------------------------------------------------
 * Lookup, insert, delete
 * ------------------------------------------------------------------------ */

/* find_any() while rehashing: a key whose t[0] bucket was already moved
 * is only in t[1]. */
static htab_bucket *find_rehashing(htab *h, const char *key, size_t len, uint64_t hash, int *slot,
                                   int *table, htab_bucket **parent)
{
    for (int i = (hash & table_mask(&h->t[0])) < (uint64_t)h->rehash_idx; i < 2; i++) {
        htab_bucket *b = table_find(h, &h->t[i], key, len, hash, slot, parent);
        if (b) {
            *table = i;
            return b;
        }
    }
    return NULL;
}

/* The bucket and slot of key in either table, or NULL.  *table says which
 * table; *parent the bucket whose child it is (NULL for a home bucket).
 * This and find_ref() are always inlined, and the rehashing case kept out
 * of line: a lookup is the hot path of every user of the table, and as
 * one flat function it costs about 75 instructions instead of 150 (an
 * HGET costs what it did with dict.c). */
static inline __attribute__((always_inline)) htab_bucket *find_any(htab *h, const char *key,
                                                                   size_t len, uint64_t hash,
                                                                   int *slot, int *table,
                                                                   htab_bucket **parent)
{
    if (htab_size(h) == 0) return NULL;
    rehash_step(h);
    if (htab_is_rehashing(h)) return find_rehashing(h, key, len, hash, slot, table, parent);
    *table = 0;
    return table_find(h, &h->t[0], key, len, hash, slot, parent);
}

static inline __attribute__((always_inline)) void **find_ref(htab *h, const char *key, size_t len,
                                                             uint64_t hash)
{
    int slot, table;
    htab_bucket *b = find_any(h, key, len, hash, &slot, &table, NULL);
    return b ? &b->elems[slot] : NULL;
}

void *htab_find_hashed(htab *h, const char *key, size_t len, uint64_t hash)
{
    void **ref = find_ref(h, key, len, hash);
    return ref ? *ref : NULL;
}

void *htab_find(htab *h, const char *key, size_t len)
{
    void **ref = find_ref(h, key, len, htab_hash(h, key, len));
    return ref ? *ref : NULL;
}

void **htab_find_ref(htab *h, const char *key, size_t len, uint64_t hash)
{
    return find_ref(h, key, len, hash);
}

void htab_add_new_hashed(htab *h, void *elem, uint64_t hash)
{
    grow_if_needed(h);
    rehash_step(h);
    table_insert(&h->t[htab_is_rehashing(h) ? 1 : 0], elem, hash);
}

int htab_add(htab *h, void *elem, void **existing)
{
    cslice k = h->type->key(elem);
    uint64_t hash = htab_hash(h, k.ptr, k.len);
    void *found = htab_find_hashed(h, k.ptr, k.len, hash);
    if (found) {
        if (existing) *existing = found;
        return 0;
    }
    htab_add_new_hashed(h, elem, hash);
    return 1;
}

/* Clear slot s of bucket b in table t; free b if it is an emptied child at
 * the end of its chain (never while iterators may stand on it). */
static void remove_slot(htab *h, htab_table *t, htab_bucket *b, int s, htab_bucket *parent)
{
    b->presence &= (uint8_t) ~(1u << s);
    t->used--;
    if (parent && b->presence == 0 && b->child == NULL && h->pause_rehash == 0) {
        parent->child = NULL;
        cm_free(b);
        t->chained--;
    }
}

void *htab_pop_hashed(htab *h, const char *key, size_t len, uint64_t hash)
{
    int slot, table;
    htab_bucket *parent;
    htab_bucket *b = find_any(h, key, len, hash, &slot, &table, &parent);
    if (!b) return NULL;
    void *elem = b->elems[slot];
    remove_slot(h, &h->t[table], b, slot, parent);
    htab_shrink_if_needed(h);
    return elem;
}

void *htab_pop(htab *h, const char *key, size_t len)
{
    return htab_pop_hashed(h, key, len, htab_hash(h, key, len));
}

int htab_delete(htab *h, const char *key, size_t len)
{
    void *elem = htab_pop(h, key, len);
    if (!elem) return 0;
    if (h->type->elem_free) h->type->elem_free(elem);
    return 1;
}

/* ---------------------------------------------------------------------------
 * Random elements
 * ------------------------------------------------------------------------ */

/* Bucket number i counting t[0]'s unmoved buckets first, then t[1]'s. */
static htab_bucket *bucket_at(htab *h, uint64_t i)
{
    uint64_t n0 = h->t[0].nbuckets;
    return i < n0 ? &h->t[0].buckets[i] : &h->t[1].buckets[i - n0];
}

static unsigned chain_collect(htab_bucket *b, void **out, unsigned max)
{
    unsigned n = 0;
    for (; b && n < max; b = b->child)
        for (unsigned bits = b->presence; bits && n < max; bits &= bits - 1)
            out[n++] = b->elems[__builtin_ctz(bits)];
    return n;
}

/* Elements a random pick chooses among (Redis's GETFAIR_NUM_ENTRIES). */
#define FAIR_SAMPLE 15

/* A bucket drawn at random, then an element of its chain: an element
 * sharing its chain with few others is picked more often. */
static void *random_by_bucket(htab *h, crand *r)
{
    uint64_t first = htab_is_rehashing(h) ? (uint64_t)h->rehash_idx : 0;
    uint64_t total = h->t[0].nbuckets + h->t[1].nbuckets;
    /* Draw buckets until one is not empty; every bucket is at least 1/8
     * full on average, so this ends quickly.  Then draw within its chain
     * (at most 64 elements of a very long chain are considered). */
    for (;;) {
        uint64_t i = first + crand_below(r, total - first);
        void *elems[64];
        unsigned n = chain_collect(bucket_at(h, i), elems, 64);
        if (n) return elems[crand_below(r, n)];
    }
}

/* Picking among the elements of a run of buckets evens out how full each
 * bucket is (a table of up to FAIR_SAMPLE elements is picked from
 * uniformly), as Redis's dictGetFairRandomKey does. */
void *htab_random(htab *h, crand *r)
{
    if (htab_size(h) == 0) return NULL;
    void *sample[FAIR_SAMPLE];
    unsigned n = htab_sample(h, sample, FAIR_SAMPLE, r);
    return n ? sample[crand_below(r, n)] : random_by_bucket(h, r);
}

unsigned htab_sample(htab *h, void **out, unsigned count, crand *r)
{
    uint64_t size = htab_size(h);
    if (size == 0 || count == 0) return 0;
    if (count > size) count = (unsigned)size;
    rehash_step(h);
    uint64_t first = htab_is_rehashing(h) ? (uint64_t)h->rehash_idx : 0;
    uint64_t total = h->t[0].nbuckets + h->t[1].nbuckets;
    uint64_t i = first + crand_below(r, total - first);
    uint64_t visits = (uint64_t)count * 10;
    unsigned n = 0;
    while (n < count && visits-- > 0) {
        n += chain_collect(bucket_at(h, i), out + n, count - n);
        if (++i == total) i = first;
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * Scan
 * ------------------------------------------------------------------------ */

/* The cursor is a bucket index whose bits are incremented from the most
 * significant end ("reverse binary").  With table size 2^n, the buckets
 * visited after bucket b are exactly those that in a table of 2^m buckets
 * (m > n) would be expansions of buckets not yet visited, and vice versa
 * when shrinking, so a resize between calls never makes the scan skip a
 * bucket it has not yet covered (it may return some elements twice). */
static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & UINT64_C(0x5555555555555555)) | ((v & UINT64_C(0x5555555555555555)) << 1);
    v = ((v >> 2) & UINT64_C(0x3333333333333333)) | ((v & UINT64_C(0x3333333333333333)) << 2);
    v = ((v >> 4) & UINT64_C(0x0F0F0F0F0F0F0F0F)) | ((v & UINT64_C(0x0F0F0F0F0F0F0F0F)) << 4);
    v = ((v >> 8) & UINT64_C(0x00FF00FF00FF00FF)) | ((v & UINT64_C(0x00FF00FF00FF00FF)) << 8);
    v = ((v >> 16) & UINT64_C(0x0000FFFF0000FFFF)) | ((v & UINT64_C(0x0000FFFF0000FFFF)) << 16);
    return (v >> 32) | (v << 32);
}

/* Increment the cursor's bits covered by mask, starting from the top. */
static uint64_t cursor_next(uint64_t v, uint64_t mask)
{
    v |= ~mask; /* so the carry runs straight through the unmasked bits */
    v = rev64(v);
    v++;
    return rev64(v);
}

static void scan_chain(htab_bucket *b, htab_scan_fn fn, void *priv)
{
    for (; b; b = b->child)
        for (unsigned bits = b->presence; bits; bits &= bits - 1)
            fn(priv, b->elems[__builtin_ctz(bits)]);
}

uint64_t htab_scan(htab *h, uint64_t cursor, htab_scan_fn fn, void *priv)
{
    if (htab_size(h) == 0) return 0;
    h->pause_rehash++;
    if (!htab_is_rehashing(h)) {
        const htab_table *t = &h->t[0];
        uint64_t m = table_mask(t);
        scan_chain(&t->buckets[cursor & m], fn, priv);
        cursor = cursor_next(cursor, m);
    } else {
        const htab_table *small = &h->t[0], *large = &h->t[1];
        if (small->nbuckets > large->nbuckets) {
            small = &h->t[1];
            large = &h->t[0];
        }
        uint64_t m0 = table_mask(small), m1 = table_mask(large);
        scan_chain(&small->buckets[cursor & m0], fn, priv);
        /* Then every bucket of the larger table that expands it. */
        do {
            scan_chain(&large->buckets[cursor & m1], fn, priv);
            cursor = cursor_next(cursor, m1);
        } while (cursor & (m0 ^ m1));
    }
    h->pause_rehash--;
    return cursor;
}

/* ---------------------------------------------------------------------------
 * Safe iterator
 * ------------------------------------------------------------------------ */

void htab_iter_start(htab_iter *it, htab *h)
{
    it->h = h;
    it->table = 0;
    it->index = 0;
    it->bucket = NULL;
    it->slot = 0;
    h->pause_rehash++;
}

void *htab_iter_next(htab_iter *it)
{
    htab *h = it->h;
    for (;;) {
        if (it->bucket) {
            /* The lowest occupied slot from it->slot on is the next. */
            unsigned bits = it->bucket->presence & (ALL_SLOTS << it->slot);
            if (bits) {
                int s = __builtin_ctz(bits);
                it->slot = s + 1;
                return it->bucket->elems[s];
            }
            it->bucket = it->bucket->child;
            it->slot = 0;
            continue;
        }
        htab_table *t = &h->t[it->table];
        if (it->index >= t->nbuckets) {
            if (it->table == 1 || !htab_is_rehashing(h)) return NULL;
            it->table = 1;
            it->index = 0;
            continue;
        }
        it->bucket = &t->buckets[it->index++];
        it->slot = 0;
    }
}

void htab_iter_end(htab_iter *it)
{
    assert(it->h->pause_rehash > 0);
    it->h->pause_rehash--;
}
