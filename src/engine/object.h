/* object.h -- values stored in the keyspace.
 *
 * A cobj is a typed, encoded value.  Strings come in three encodings, as in
 * Redis: INT (a long long held in the object itself, no allocation for the
 * bytes), EMBSTR (the object and its bytes in one allocation, for strings
 * of up to 44 bytes) and RAW (a separate dstr that can grow in place). */
#ifndef CAIRN_OBJECT_H
#define CAIRN_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/dstr.h"

enum obj_type {
    OBJ_STRING = 0,
    OBJ_LIST = 1,
    OBJ_SET = 2,
    OBJ_ZSET = 3,
    OBJ_HASH = 4,
    OBJ_STREAM = 6,
};

enum obj_encoding {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_HASHTABLE = 2,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_EMBSTR = 8,
    ENC_QUICKLIST = 9,
    ENC_LISTPACK = 11,
};

/* Strings up to this length are stored EMBSTR, like Redis. */
#define EMBSTR_MAX_LEN 44

typedef struct cobj {
    unsigned type : 4;
    unsigned encoding : 4;
    unsigned lru : 24; /* last access, in seconds modulo 2^24 (OBJECT IDLETIME) */
    int32_t refcount;
    union {
        void *ptr;    /* dstr for strings, the structure for collections */
        long long ll; /* ENC_INT */
    } v;
} cobj;

cobj *obj_new_string(const char *p, size_t len);
cobj *obj_new_int(long long v);
/* A string object that takes ownership of s (encoding RAW). */
cobj *obj_new_raw(dstr s);
/* A new string object holding p, stored as INT when it reads as one. */
cobj *obj_new_string_try_int(const char *p, size_t len);
/* Make string object o hold p[0..len), encoded as obj_new_string_try_int()
 * would encode it, without allocating: possible when nothing else
 * references o and its encoding and allocation fit the value (an INT for
 * an integer, an EMBSTR at least len long for another short string).
 * Returns 1, or 0 with o unchanged when a new object is needed.  SET over
 * a value of the same shape then allocates and frees nothing. */
int obj_string_set_in_place(cobj *o, const char *p, size_t len);
void obj_free(cobj *o);
void obj_free_void(void *o); /* for dict val_free */
cobj *obj_dup(const cobj *o);

/* The structure behind a collection, freed by obj_free() and copied by
 * obj_dup() (COPY); one pair per type, next to its commands. */
void list_obj_free(cobj *o); /* t_list.c */
cobj *list_obj_dup(const cobj *o);
void hash_obj_free(cobj *o); /* t_hash.c */
cobj *hash_obj_dup(const cobj *o);
void set_obj_free(cobj *o); /* t_set.c */
cobj *set_obj_dup(const cobj *o);
void zset_obj_free(cobj *o); /* zset.c */
cobj *zset_obj_dup(const cobj *o);

/* The bytes of a string object.  INT objects are formatted into buf, which
 * must hold NUM_STR_MAX bytes. */
const char *obj_str(const cobj *o, char *buf, size_t *len);
size_t obj_strlen(const cobj *o);
/* Is string object o byte-for-byte equal to p[0..len)? */
int obj_str_equals(const cobj *o, const char *p, size_t len);
/* Make a string object RAW (unshared, growable) and return its dstr. */
dstr obj_str_make_raw(cobj *o);
/* Replace the dstr of a RAW object (after it moved during growth). */
static inline void obj_str_set_raw(cobj *o, dstr s) { o->v.ptr = s; }

const char *obj_type_name(int type);
const char *obj_encoding_name(int encoding);

#endif
