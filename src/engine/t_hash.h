/* t_hash.h -- what other command families need from the hash type.
 *
 * A hash is a listpack of field,value pairs while it is small (at most
 * hash-max-listpack-entries fields, each field and value at most
 * hash-max-listpack-value bytes) and a dict of field -> dstr value once
 * it outgrows that, as in Redis.  The conversion is one way. */
#ifndef CAIRN_T_HASH_H
#define CAIRN_T_HASH_H

#include <stddef.h>

#include "object.h"

/* The value of field in the hash o, for SORT's BY and GET key->field.
 * Returns 1 and sets *val and *vlen when the field exists, else 0.  buf
 * must hold NUM_STR_MAX bytes: a value stored as an integer is formatted
 * into it.  The bytes stay valid until the hash is changed. */
int hash_get_field(const cobj *o, const char *field, size_t flen, char *buf, const char **val,
                   size_t *vlen);

/* Number of fields in the hash o. */
unsigned long hash_length(const cobj *o);

#endif
