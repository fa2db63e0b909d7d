/* object.h -- values stored in the keyspace.
 *
 * A cobj is a typed, encoded value.  Strings come in three encodings, as in
 * Redis: INT (a long long held in the object itself, no allocation for the
 * bytes), EMBSTR (the object and its bytes in one allocation, for strings
 * of up to 44 bytes) and RAW (a separate dstr that can grow in place).
 *
 * An object stored in the keyspace also carries its key, and its expiry
 * time when it has one, in the same allocation, so that a key costs one
 * allocation plus its slot in the db's table.  The layout:
 *
 *   header     type, encoding, lru; meta (flags and small lengths)
 *   v          the pointer or integer; absent in an EMBSTR object
 *   expiry     int64 ms and the object's index in its db's volatile array
 *              (OBJ_M_EXPIRE)
 *   key        the bytes and a NUL, preceded by a uint32 length when too
 *              long for meta (OBJ_M_KEY, OBJ_M_LONGKEY)
 *   value      of an EMBSTR: room for emb_cap bytes and a NUL
 *
 * Nothing shares objects, so a keyed object can be reallocated (a key or
 * an expiry added, a value re-embedded): whoever stores one uses the
 * pointer the store returns from then on. */
#ifndef CAIRN_OBJECT_H
#define CAIRN_OBJECT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    ENC_STREAM = 10,
    ENC_LISTPACK = 11,
};

/* Strings up to this length are stored EMBSTR, like Redis. */
#define EMBSTR_MAX_LEN 44

/* meta: flags in the low bits, then the length and capacity of an EMBSTR
 * value, then the key's length unless OBJ_M_LONGKEY. */
#define OBJ_M_EXPIRE     0x1u /* an expiry time follows v */
#define OBJ_M_KEY        0x2u /* a key follows */
#define OBJ_M_LONGKEY    0x4u /* the key's length is stored before its bytes */
#define OBJ_M_EMBLEN_POS 4
#define OBJ_M_EMBCAP_POS 10
#define OBJ_M_KEYLEN_POS 16
#define OBJ_M_EMB_MASK   0x3Fu
#define OBJ_KEYLEN_MAX   0xFFFFu /* longer keys are OBJ_M_LONGKEY */
#define OBJ_EXPIRE_SIZE  12      /* int64 expiry and uint32 volatile index */

typedef struct cobj {
    unsigned type : 4;
    unsigned encoding : 4;
    unsigned lru : 24; /* last access, in seconds modulo 2^24 (OBJECT IDLETIME) */
    uint32_t meta;     /* OBJ_M_* */
    union {
        void *ptr;    /* dstr for RAW strings, the structure for collections */
        long long ll; /* ENC_INT */
    } v;
} cobj;

/* Where the optional parts start: v is absent from an EMBSTR object. */
static inline size_t obj_head_size(const cobj *o)
{
    return o->encoding == ENC_EMBSTR ? offsetof(cobj, v) : sizeof(cobj);
}

static inline int obj_has_expire(const cobj *o) { return (o->meta & OBJ_M_EXPIRE) != 0; }

/* The absolute expiry time in ms, or -1 when o has none. */
static inline int64_t obj_expire(const cobj *o)
{
    if (!obj_has_expire(o)) return -1;
    int64_t when;
    memcpy(&when, (const char *)o + obj_head_size(o), sizeof(when));
    return when;
}

/* Change the expiry time of an object that has one. */
static inline void obj_set_expire_time(cobj *o, int64_t when)
{
    memcpy((char *)o + obj_head_size(o), &when, sizeof(when));
}

/* The index of an object with an expiry in its db's volatile array. */
static inline uint32_t obj_volatile_index(const cobj *o)
{
    uint32_t i;
    memcpy(&i, (const char *)o + obj_head_size(o) + sizeof(int64_t), sizeof(i));
    return i;
}

static inline void obj_set_volatile_index(cobj *o, uint32_t i)
{
    memcpy((char *)o + obj_head_size(o) + sizeof(int64_t), &i, sizeof(i));
}

/* The key of a keyed object (OBJ_M_KEY). */
static inline cslice obj_key(const cobj *o)
{
    const char *p = (const char *)o + obj_head_size(o) + (obj_has_expire(o) ? OBJ_EXPIRE_SIZE : 0);
    if (o->meta & OBJ_M_LONGKEY) {
        uint32_t len;
        memcpy(&len, p, sizeof(len));
        return (cslice){p + sizeof(len), len};
    }
    return (cslice){p, o->meta >> OBJ_M_KEYLEN_POS};
}

/* Object o with key (NULL: none) and expiry time when (-1: none) embedded,
 * the same value otherwise: a new allocation, and o is freed (not its
 * value).  key may point into o. */
cobj *obj_set_key(cobj *o, const cslice *key, int64_t when);
/* A new string object already carrying key and expiry when (-1: none),
 * encoded as obj_new_string_try_int() would: one allocation for SET. */
cobj *obj_new_keyed_string(const cslice *key, int64_t when, const char *p, size_t len);

cobj *obj_new_string(const char *p, size_t len);
cobj *obj_new_int(long long v);
/* A string object that takes ownership of s (encoding RAW). */
cobj *obj_new_raw(dstr s);
/* A new string object holding p, stored as INT when it reads as one. */
cobj *obj_new_string_try_int(const char *p, size_t len);
/* Make string object o hold p[0..len), encoded as obj_new_string_try_int()
 * would encode it, without allocating: possible when its encoding and
 * allocation fit the value (an INT for an integer, an EMBSTR with room for
 * len bytes for another short string).
 * Returns 1, or 0 with o unchanged when a new object is needed.  SET over
 * a value of the same shape then allocates and frees nothing. */
int obj_string_set_in_place(cobj *o, const char *p, size_t len);
void obj_free(cobj *o);
void obj_free_void(void *o); /* for dict val_free */
/* A copy of the value, without key or expiry. */
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
void stream_obj_free(cobj *o); /* t_stream.c */
/* A stream object holding s (taken over). */
struct stream;
cobj *stream_obj_wrap(struct stream *s);
cobj *stream_obj_dup(const cobj *o);

/* What an object costs in bytes (MEMORY USAGE): its allocation (with its
 * key and expiry) and those of its value, as the allocator sized them.  A
 * collection with more than `samples` elements (0: no limit) is measured
 * on its first `samples` elements, extrapolated to all of them, as Redis
 * does. */
size_t obj_mem_usage(cobj *o, long long samples);
/* The allocations behind a collection's value; one per type, next to its
 * code (the object itself not included). */
size_t list_obj_mem(cobj *o, long long samples);   /* t_list.c */
size_t hash_obj_mem(cobj *o, long long samples);   /* t_hash.c */
size_t set_obj_mem(cobj *o, long long samples);    /* t_set.c */
size_t zset_obj_mem(cobj *o, long long samples);   /* zset.c */
size_t stream_obj_mem(cobj *o, long long samples); /* t_stream.c */
/* The elements of a hash table that owns them, sized by elem_mem and
 * sampled as obj_mem_usage() says, plus the table itself. */
struct htab;
size_t obj_htab_mem(struct htab *h, long long samples, size_t (*elem_mem)(void *elem));

/* The bytes of a string object.  INT objects are formatted into buf, which
 * must hold NUM_STR_MAX bytes. */
const char *obj_str(const cobj *o, char *buf, size_t *len);
size_t obj_strlen(const cobj *o);
/* Is string object o byte-for-byte equal to p[0..len)? */
int obj_str_equals(const cobj *o, const char *p, size_t len);
/* Replace the dstr of a RAW object (after it moved during growth). */
static inline void obj_str_set_raw(cobj *o, dstr s) { o->v.ptr = s; }

const char *obj_type_name(int type);
const char *obj_encoding_name(int encoding);

#endif
