/* t_set.h -- what other command families need from the set type.
 *
 * A set is an intset while every member is an integer and there are at
 * most set-max-intset-entries of them, a listpack of members while it is
 * small (at most set-max-listpack-entries members of at most
 * set-max-listpack-value bytes each), and an htab whose elements are the
 * members themselves (dstrs) once it outgrows both, as in Redis 7.2.
 * Conversions are one way: a set never goes back to a more compact
 * encoding. */
#ifndef CAIRN_T_SET_H
#define CAIRN_T_SET_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/htab.h"
#include "engine.h"
#include "object.h"

/* An iterator over the members of a set, in no particular order.  The set
 * must not change while the iterator is in use; always call
 * set_iter_end() (a hashtable set pauses its rehashing meanwhile). */
typedef struct set_iter {
    cobj *set;
    uint32_t pos;     /* ENC_INTSET: the next position */
    unsigned char *p; /* ENC_LISTPACK: the next entry, NULL at the end */
    htab_iter hi;     /* ENC_HASHTABLE */
} set_iter;

void set_iter_start(set_iter *it, cobj *set);
/* The next member as bytes in *p, *len; 0 when there are no more.  buf
 * must hold NUM_STR_MAX bytes: a member stored as an integer is formatted
 * into it.  The bytes stay valid until the next call. */
int set_iter_next(set_iter *it, const char **p, size_t *len, char *buf);
void set_iter_end(set_iter *it);

/* Number of members of the set o. */
unsigned long set_size(const cobj *o);
/* Is s a member of the set o? */
int set_is_member(cobj *o, const char *s, size_t len);

/* The table of a hashtable-encoded set (for the snapshot loader): an
 * empty one sized for hint members, and adding a copy of s to it.
 * set_htab_add() returns 0, adding nothing, if s is already a member. */
htab *set_htab_new(const uint8_t seed[16], uint64_t hint);
int set_htab_add(htab *h, const char *s, size_t len);

/* A new set of the n (> 0) members, in the encoding SADD would give it;
 * NULL if a member is repeated (a value loaded from outside). */
cobj *set_obj_from(cmd_call *c, const cslice *items, long n);

#endif
