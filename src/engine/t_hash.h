/* t_hash.h -- what other command families need from the hash type.
 *
 * A hash is a listpack of field,value pairs while it is small (at most
 * hash-max-listpack-entries fields, each field and value at most
 * hash-max-listpack-value bytes) and an htab of field,value pairs once it
 * outgrows that, as in Redis.  The conversion is one way. */
#ifndef CAIRN_T_HASH_H
#define CAIRN_T_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ds/htab.h"
#include "object.h"

/* A field and its value in a hashtable-encoded hash: one allocation of
 *
 *   field length, field bytes, value length, value bytes
 *
 * where a length below 255 takes one byte and a longer one a 0xFF byte and
 * 4 bytes (lengths are below 4 GB, as for a dstr).  No NULs: every reader
 * goes by lengths, as it must for listpack entries anyway.  The field
 * comes first so that the table finds the key by reading one byte. */
typedef struct hpair hpair;

#define HPAIR_LONG_LEN 0xFF

/* Read the length at p; returns the bytes that follow it. */
static inline const char *hpair_read_len(const char *p, size_t *len)
{
    unsigned char b = (unsigned char)p[0];
    if (b != HPAIR_LONG_LEN) {
        *len = b;
        return p + 1;
    }
    uint32_t l;
    memcpy(&l, p + 1, sizeof(l));
    *len = l;
    return p + 1 + sizeof(l);
}

static inline cslice hpair_field(const hpair *p)
{
    cslice f;
    f.ptr = hpair_read_len((const char *)p, &f.len);
    return f;
}

static inline cslice hpair_value(const hpair *p)
{
    cslice f = hpair_field(p), v;
    v.ptr = hpair_read_len(f.ptr + f.len, &v.len);
    return v;
}

hpair *hpair_new(const char *field, size_t flen, const char *val, size_t vlen);

/* The table type of a hashtable-encoded hash: keyed by field, owning its
 * pairs. */
extern const htab_type hash_htab_type;

/* The value of field in the hash o, for SORT's BY and GET key->field.
 * Returns 1 and sets *val and *vlen when the field exists, else 0.  buf
 * must hold NUM_STR_MAX bytes: a value stored as an integer is formatted
 * into it.  The bytes stay valid until the hash is changed. */
int hash_get_field(const cobj *o, const char *field, size_t flen, char *buf, const char **val,
                   size_t *vlen);

/* Number of fields in the hash o. */
unsigned long hash_length(const cobj *o);

/* A new hash of the npairs field, value pairs (field first), in the
 * encoding HSET would give it; NULL if a field is repeated (a value loaded
 * from outside). */
struct cmd_call;
cobj *hash_obj_from(struct cmd_call *c, const cslice *pairs, long npairs);

#endif
