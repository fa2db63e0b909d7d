/* listpack.h -- a compact sequence of string/integer entries in one
 * allocation (the encoding of small lists, hashes, sets and sorted sets).
 *
 * A listpack is a byte blob: a header with the total size and the entry
 * count, then the entries, each encoding its own length both at its start
 * and its end so it can be walked in both directions, then an end marker.
 * Strings that read as integers (str_to_ll) are stored as integers in as
 * few bytes as they need.  Functions that change a listpack may move it
 * and return the new address, like realloc.  Positions (`unsigned char *p`)
 * point at an entry inside the blob and are invalidated by any change
 * except where a function returns the updated position. */
#ifndef CAIRN_LISTPACK_H
#define CAIRN_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

/* An entry's value: a string (str, len) or, when str is NULL, an integer. */
typedef struct lp_value {
    const unsigned char *str;
    size_t len;
    long long ll;
} lp_value;

/* The bytes of an entry's value as a string: strings are returned as they
 * are; integers are formatted into buf (at least 21 bytes). */
const char *lp_value_str(const lp_value *v, char *buf, size_t *len);

enum { LP_BEFORE = 0, LP_AFTER = 1 };

unsigned char *lp_new(size_t capacity);
void lp_free(unsigned char *lp);
size_t lp_bytes(const unsigned char *lp);
/* Number of entries. */
unsigned long lp_length(const unsigned char *lp);

unsigned char *lp_first(unsigned char *lp);                  /* NULL if empty */
unsigned char *lp_last(unsigned char *lp);                   /* NULL if empty */
unsigned char *lp_next(unsigned char *lp, unsigned char *p); /* NULL past the end */
unsigned char *lp_prev(unsigned char *lp, unsigned char *p); /* NULL before the start */
/* The entry at index (negative: from the end), or NULL out of range. */
unsigned char *lp_seek(unsigned char *lp, long index);
void lp_get(const unsigned char *p, lp_value *v);
/* Does the entry at p equal the string s? */
int lp_equals(const unsigned char *p, const char *s, size_t len);

unsigned char *lp_append(unsigned char *lp, const char *s, size_t len);
unsigned char *lp_prepend(unsigned char *lp, const char *s, size_t len);
unsigned char *lp_append_int(unsigned char *lp, long long v);
/* An element for lp_append_many(): the string (str, len), or the integer
 * ll when str is NULL. */
typedef struct lp_item {
    const char *str;
    size_t len;
    long long ll;
} lp_item;
/* Append n elements at once: one size check and at most one reallocation
 * (none while the allocation has room), instead of one per element.  The
 * strings must not point into lp. */
unsigned char *lp_append_many(unsigned char *lp, const lp_item *items, size_t n);
/* Replace the entry at *p with the integer v, in place when its encoding
 * has the old entry's size; *p is updated to the new entry. */
unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v);
/* Insert s before or after the entry at p; *newp (if not NULL) is set to
 * the inserted entry. */
unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where, const char *s, size_t len,
                         unsigned char **newp);
/* Replace the entry at *p with s; *p is updated to the new entry. */
unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const char *s, size_t len);
/* Delete the entry at p; *next (if not NULL) is set to the entry that
 * followed it (NULL if it was the last). */
unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **next);
/* Delete count entries from index on (negative index: from the end). */
unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long count);
/* Find the first entry equal to s from p on, comparing one entry then
 * skipping `skip` entries (skip 1 walks the fields of a field/value
 * listpack).  NULL if none. */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
                       unsigned skip);
/* Check the structure of a listpack of `bytes` bytes read from outside
 * (a snapshot): 1 if every entry is well formed. */
int lp_validate(const unsigned char *lp, size_t bytes);
/* The same check without trusting the header's entry count: the number
 * of entries, or -1 if the listpack is malformed. */
long lp_validate_entries(const unsigned char *lp, size_t bytes);

#endif
