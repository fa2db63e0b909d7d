/* dstr.h -- binary-safe dynamic strings.
 *
 * A dstr is a char * that points at the bytes of the string; a small header
 * just before it records the length and capacity.  The bytes are always
 * followed by a NUL so a dstr can be passed to C functions that expect one,
 * but the length is authoritative (a dstr may contain NUL bytes). */
#ifndef CAIRN_DSTR_H
#define CAIRN_DSTR_H

#include <stddef.h>
#include <stdint.h>

typedef char *dstr;

/* A borrowed view of bytes (an argument, a key): never owns memory. */
typedef struct cslice {
    const char *ptr;
    size_t len;
} cslice;

typedef struct dstr_hdr {
    uint32_t len;
    uint32_t cap;
} dstr_hdr;

#define DSTR_HDR(s) ((dstr_hdr *)((s) - sizeof(dstr_hdr)))

/* The longest dstr (its length is 32 bits); asking for more aborts.
 * String values are limited to proto-max-bulk-len (512 MB by default). */
#define DSTR_MAX_LEN 0xFFFFFFF0u

dstr dstr_new(const void *p, size_t len);
dstr dstr_from_cstr(const char *s);
/* An empty string with room for cap bytes. */
dstr dstr_with_cap(size_t cap);
dstr dstr_dup(const dstr s);
void dstr_free(dstr s);
/* Bytes of the allocation behind s (header, capacity and NUL, rounded up
 * by the allocator): what s costs (MEMORY USAGE). */
size_t dstr_alloc_size(const dstr s);

static inline size_t dstr_len(const dstr s) { return DSTR_HDR(s)->len; }
static inline size_t dstr_cap(const dstr s) { return DSTR_HDR(s)->cap; }

/* Make room for at least `extra` more bytes; may move the string. */
dstr dstr_reserve(dstr s, size_t extra);
/* The same, but exactly: no room beyond `extra` (a caller that knows how
 * much it will write). */
dstr dstr_reserve_exact(dstr s, size_t extra);
dstr dstr_cat(dstr s, const void *p, size_t len);
dstr dstr_cat_cstr(dstr s, const char *c);
/* Append printf-style text, numbers in the C locale whatever the process's. */
dstr dstr_catfmt(dstr s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append p quoted as Redis's sdscatrepr does: in double quotes, with \\,
 * \", \n, \r, \t, \a, \b and \xHH for other bytes outside ' '..'~'; the
 * result reads back through the config file's quoting rules. */
dstr dstr_cat_repr(dstr s, const char *p, size_t len);
/* Grow to len bytes, filling new bytes with zeros. */
dstr dstr_grow_zero(dstr s, size_t len);
/* Set the length after writing into the reserved space directly. */
void dstr_set_len(dstr s, size_t len);
/* Give back unused capacity. */
dstr dstr_shrink(dstr s);

#endif
