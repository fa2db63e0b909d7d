/* dict.c -- chained hash table with incremental rehash (see dict.h).
 *
 * The design is Redis's dict: power-of-two tables so a bucket index is
 * hash & mask, two tables while resizing, and a rehash that moves one
 * bucket per operation so latency stays flat even for huge tables.
 *
 * Invariants while rehashing (rehash_idx != -1):
 *   - t[0] buckets below rehash_idx are empty: they were moved to t[1];
 *   - new entries always go to t[1], so t[0] only ever shrinks;
 *   - a lookup must look in both tables. */
#include "dict.h"

#include <string.h>

#include "alloc.h"
#include "siphash.h"

#define DICT_INIT_SIZE 4
/* While rehashing is paused (safe iterators) growth is put off, unless the
 * table gets this many times overloaded: chains that long cost more than
 * the rehash we are trying to avoid. */
#define DICT_FORCE_RESIZE_RATIO 5
/* A rehash step gives up after visiting this many empty buckets per bucket
 * it was asked to move, so one step stays O(1) on a sparse table. */
#define DICT_EMPTY_VISITS_PER_STEP 10

/* ---------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

static void table_reset(dict_table *t)
{
    t->buckets = NULL;
    t->size = 0;
    t->used = 0;
}

static uint64_t table_mask(const dict_table *t) { return t->size ? t->size - 1 : 0; }

static int key_equals(const dstr k, const char *key, size_t len)
{
    return dstr_len(k) == len && memcmp(k, key, len) == 0;
}

/* Free what the dict owns in an entry that is no longer linked anywhere. */
static void entry_free(dict *d, dict_entry *de)
{
    if (!(d->flags & DICT_SHARED_KEYS)) dstr_free(de->key);
    if (d->val_free && de->v.ptr) d->val_free(de->v.ptr);
    cm_free(de);
}

static void table_clear(dict *d, dict_table *t)
{
    for (uint64_t i = 0; i < t->size && t->used > 0; i++) {
        dict_entry *de = t->buckets[i];
        while (de) {
            dict_entry *next = de->next;
            entry_free(d, de);
            t->used--;
            de = next;
        }
    }
    cm_free(t->buckets);
    table_reset(t);
}

/* Smallest power of two >= n, at least DICT_INIT_SIZE. */
static uint64_t next_power(uint64_t n)
{
    uint64_t size = DICT_INIT_SIZE;
    if (n >= (UINT64_C(1) << 63)) return UINT64_C(1) << 63;
    while (size < n)
        size <<= 1;
    return size;
}

/* ---------------------------------------------------------------------------
 * Create / destroy
 * ------------------------------------------------------------------------ */

dict *dict_create(const uint8_t seed[16], dict_val_free_fn val_free, int flags)
{
    dict *d = cm_malloc(sizeof(*d));
    table_reset(&d->t[0]);
    table_reset(&d->t[1]);
    d->rehash_idx = -1;
    d->pause_rehash = 0;
    d->flags = flags;
    d->val_free = val_free;
    memcpy(d->seed, seed, sizeof(d->seed));
    return d;
}

static void clear_tables(dict *d)
{
    table_clear(d, &d->t[0]);
    table_clear(d, &d->t[1]);
    d->rehash_idx = -1;
}

void dict_release(dict *d)
{
    if (!d) return;
    clear_tables(d);
    cm_free(d);
}

uint64_t dict_hash(const dict *d, const char *key, size_t len)
{
    return siphash(key, len, d->seed);
}

/* ---------------------------------------------------------------------------
 * Resizing and incremental rehash
 * ------------------------------------------------------------------------ */

void dict_expand(dict *d, uint64_t n)
{
    /* Never while rehashing (a third table would be needed), and never
     * below the number of entries already stored. */
    if (dict_is_rehashing(d) || d->t[0].used > n) return;

    uint64_t size = next_power(n);
    if (size == d->t[0].size) return;
    if (size > SIZE_MAX / sizeof(dict_entry *)) return;

    dict_table fresh = {
        .buckets = cm_calloc((size_t)size, sizeof(dict_entry *)),
        .size = size,
        .used = 0,
    };
    if (d->t[0].size == 0) {
        /* First allocation: nothing to move. */
        d->t[0] = fresh;
        return;
    }
    d->t[1] = fresh;
    d->rehash_idx = 0;
}

void dict_shrink_if_needed(dict *d)
{
    if (dict_is_rehashing(d)) return;
    uint64_t size = d->t[0].size, used = d->t[0].used;
    if (size > DICT_INIT_SIZE && used * 8 < size) dict_expand(d, used);
}

static void expand_if_needed(dict *d)
{
    if (dict_is_rehashing(d)) return;
    dict_table *t = &d->t[0];
    if (t->size == 0) {
        dict_expand(d, DICT_INIT_SIZE);
        return;
    }
    if (t->used < t->size) return;
    if (d->pause_rehash > 0 && t->used / t->size <= DICT_FORCE_RESIZE_RATIO) return;
    dict_expand(d, t->used + 1);
}

/* Move every entry of t[0] bucket idx to t[1]. */
static void rehash_bucket(dict *d, uint64_t idx)
{
    dict_entry *de = d->t[0].buckets[idx];
    uint64_t mask = table_mask(&d->t[1]);
    while (de) {
        dict_entry *next = de->next;
        uint64_t h = dict_hash(d, de->key, dstr_len(de->key)) & mask;
        de->next = d->t[1].buckets[h];
        d->t[1].buckets[h] = de;
        d->t[0].used--;
        d->t[1].used++;
        de = next;
    }
    d->t[0].buckets[idx] = NULL;
}

/* When t[0] is empty the new table takes its place. */
static int rehash_finish_if_done(dict *d)
{
    if (d->t[0].used != 0) return 0;
    cm_free(d->t[0].buckets);
    d->t[0] = d->t[1];
    table_reset(&d->t[1]);
    d->rehash_idx = -1;
    return 1;
}

/* The unconditional worker behind dict_rehash() and rehash_step(). */
static int rehash_moves(dict *d, int n)
{
    if (!dict_is_rehashing(d)) return 0;
    uint64_t empty_visits = (uint64_t)(n > 0 ? n : 0) * DICT_EMPTY_VISITS_PER_STEP;

    while (n-- > 0 && d->t[0].used != 0) {
        /* used != 0 guarantees a non-empty bucket at or after rehash_idx. */
        while (d->t[0].buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        rehash_bucket(d, (uint64_t)d->rehash_idx);
        d->rehash_idx++;
    }
    return !rehash_finish_if_done(d);
}

int dict_rehash(dict *d, int n)
{
    /* A safe iterator relies on entries staying where they are. */
    if (d->pause_rehash > 0) return dict_is_rehashing(d);
    return rehash_moves(d, n);
}

/* The bit of rehashing every lookup and update pays for. */
static void rehash_step(dict *d)
{
    if (d->pause_rehash == 0 && dict_is_rehashing(d)) rehash_moves(d, 1);
}

/* ---------------------------------------------------------------------------
 * Lookup, insert, delete
 * ------------------------------------------------------------------------ */

/* The link (bucket head or a `next` field) that points at key, or NULL if
 * key is absent.  Returning the link lets unlink work on singly linked
 * chains.  *table_out receives the table the key was found in. */
static dict_entry **find_link(dict *d, uint64_t h, const char *key, size_t len, int *table_out)
{
    for (int t = 0; t <= 1; t++) {
        dict_table *tab = &d->t[t];
        if (tab->size != 0) {
            dict_entry **link = &tab->buckets[h & table_mask(tab)];
            for (; *link; link = &(*link)->next) {
                if (key_equals((*link)->key, key, len)) {
                    if (table_out) *table_out = t;
                    return link;
                }
            }
        }
        if (!dict_is_rehashing(d)) break;
    }
    return NULL;
}

dict_entry *dict_find(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    dict_entry **link = find_link(d, dict_hash(d, key, len), key, len, NULL);
    return link ? *link : NULL;
}

dict_entry *dict_add(dict *d, dstr key, dict_entry **existing)
{
    rehash_step(d);
    size_t len = dstr_len(key);
    uint64_t h = dict_hash(d, key, len);

    dict_entry **link = find_link(d, h, key, len, NULL);
    if (link) {
        if (existing) *existing = *link;
        return NULL;
    }
    expand_if_needed(d);

    /* While rehashing, new entries go to the new table so the old one
     * only drains. */
    dict_table *t = &d->t[dict_is_rehashing(d) ? 1 : 0];
    dict_entry *de = cm_malloc(sizeof(*de));
    de->key = key;
    memset(&de->v, 0, sizeof(de->v));
    uint64_t idx = h & table_mask(t);
    de->next = t->buckets[idx];
    t->buckets[idx] = de;
    t->used++;
    return de;
}

int dict_delete(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0) return 0;
    rehash_step(d);
    int table = 0;
    dict_entry **link = find_link(d, dict_hash(d, key, len), key, len, &table);
    if (!link) return 0;
    dict_entry *de = *link;
    *link = de->next;
    d->t[table].used--;
    entry_free(d, de);
    if (d->pause_rehash == 0) dict_shrink_if_needed(d);
    return 1;
}

/* ---------------------------------------------------------------------------
 * Safe iterator
 * ------------------------------------------------------------------------ */

void dict_iter_start(dict_iter *it, dict *d)
{
    it->d = d;
    it->table = 0;
    it->index = -1;
    it->entry = NULL;
    it->next_entry = NULL;
    d->pause_rehash++;
}

/* Advance to the next bucket head (possibly NULL); 0 when none are left. */
static int iter_next_bucket(dict_iter *it)
{
    dict *d = it->d;
    it->index++;
    if ((uint64_t)it->index >= d->t[it->table].size) {
        /* t[1] is only visited while it exists, i.e. while rehashing. */
        if (it->table == 1 || !dict_is_rehashing(d)) return 0;
        it->table = 1;
        it->index = 0;
    }
    it->entry = d->t[it->table].buckets[it->index];
    return 1;
}

dict_entry *dict_iter_next(dict_iter *it)
{
    if (!it->d) return NULL;
    for (;;) {
        if (it->entry) {
            it->entry = it->next_entry;
        } else if (!iter_next_bucket(it)) {
            return NULL;
        }
        if (it->entry) {
            /* Remember the successor now: the caller may delete entry. */
            it->next_entry = it->entry->next;
            return it->entry;
        }
    }
}

void dict_iter_end(dict_iter *it)
{
    if (!it->d) return;
    it->d->pause_rehash--;
    it->d = NULL;
}
