/* object.c -- value objects; see object.h. */
#include "object.h"

#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"

static cobj *obj_alloc(int type, int encoding)
{
    cobj *o = cm_malloc(sizeof(*o));
    o->type = type;
    o->encoding = encoding;
    o->lru = 0;
    o->refcount = 1;
    o->v.ptr = NULL;
    return o;
}

/* One allocation holds the object, the dstr header and the bytes: a short
 * string costs a single malloc and sits in one cache line or two. */
static cobj *obj_new_embstr(const char *p, size_t len)
{
    cobj *o = cm_malloc(sizeof(*o) + sizeof(dstr_hdr) + len + 1);
    dstr_hdr *h = (dstr_hdr *)(o + 1);
    char *s = (char *)(h + 1);
    o->type = OBJ_STRING;
    o->encoding = ENC_EMBSTR;
    o->lru = 0;
    o->refcount = 1;
    h->len = (uint32_t)len;
    h->cap = (uint32_t)len;
    if (len) memcpy(s, p, len);
    s[len] = '\0';
    o->v.ptr = s;
    return o;
}

cobj *obj_new_raw(dstr s)
{
    cobj *o = obj_alloc(OBJ_STRING, ENC_RAW);
    o->v.ptr = s;
    return o;
}

cobj *obj_new_string(const char *p, size_t len)
{
    if (len <= EMBSTR_MAX_LEN) return obj_new_embstr(p, len);
    return obj_new_raw(dstr_new(p, len));
}

cobj *obj_new_int(long long v)
{
    cobj *o = obj_alloc(OBJ_STRING, ENC_INT);
    o->v.ll = v;
    return o;
}

cobj *obj_new_string_try_int(const char *p, size_t len)
{
    long long v;
    if (len <= 20 && str_to_ll(p, len, &v)) return obj_new_int(v);
    return obj_new_string(p, len);
}

int obj_string_set_in_place(cobj *o, const char *p, size_t len)
{
    if (o->type != OBJ_STRING || o->refcount != 1) return 0;
    long long v;
    int is_int = len <= 20 && str_to_ll(p, len, &v);
    if (o->encoding == ENC_INT) {
        if (!is_int) return 0;
        o->v.ll = v;
        return 1;
    }
    if (o->encoding != ENC_EMBSTR || is_int) return 0;
    char *s = o->v.ptr;
    dstr_hdr *h = DSTR_HDR(s);
    if (len > h->cap) return 0;
    /* The allocation keeps its size: cap stays, so a later longer value
     * up to it fits too. */
    memmove(s, p, len);
    s[len] = '\0';
    h->len = (uint32_t)len;
    return 1;
}

void obj_free(cobj *o)
{
    if (!o || --o->refcount > 0) return;
    switch (o->type) {
    case OBJ_STRING:
        if (o->encoding == ENC_RAW) dstr_free(o->v.ptr);
        break;
    case OBJ_LIST: list_obj_free(o); break;
    case OBJ_HASH: hash_obj_free(o); break;
    case OBJ_SET: set_obj_free(o); break;
    case OBJ_ZSET: zset_obj_free(o); break;
    default: break;
    }
    cm_free(o);
}

void obj_free_void(void *o) { obj_free(o); }

cobj *obj_dup(const cobj *o)
{
    switch (o->type) {
    case OBJ_STRING: break;
    case OBJ_LIST: return list_obj_dup(o);
    case OBJ_HASH: return hash_obj_dup(o);
    case OBJ_SET: return set_obj_dup(o);
    case OBJ_ZSET: return zset_obj_dup(o);
    default: break;
    }
    switch (o->encoding) {
    case ENC_INT: return obj_new_int(o->v.ll);
    case ENC_EMBSTR: return obj_new_embstr(o->v.ptr, dstr_len(o->v.ptr));
    default: return obj_new_raw(dstr_dup(o->v.ptr));
    }
}

const char *obj_str(const cobj *o, char *buf, size_t *len)
{
    if (o->encoding == ENC_INT) {
        *len = (size_t)ll_to_str(buf, NUM_STR_MAX, o->v.ll);
        return buf;
    }
    *len = dstr_len(o->v.ptr);
    return o->v.ptr;
}

size_t obj_strlen(const cobj *o)
{
    char buf[NUM_STR_MAX];
    size_t len;
    obj_str(o, buf, &len);
    return len;
}

int obj_str_equals(const cobj *o, const char *p, size_t len)
{
    char buf[NUM_STR_MAX];
    size_t olen;
    const char *op = obj_str(o, buf, &olen);
    return olen == len && memcmp(op, p, len) == 0;
}

dstr obj_str_make_raw(cobj *o)
{
    if (o->encoding == ENC_RAW) return o->v.ptr;
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    /* An EMBSTR cannot grow inside its allocation, so it becomes a
     * separate dstr; the small header stays allocated with the object. */
    o->v.ptr = dstr_new(p, len);
    o->encoding = ENC_RAW;
    return o->v.ptr;
}

const char *obj_type_name(int type)
{
    switch (type) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    case OBJ_STREAM: return "stream";
    default: return "unknown";
    }
}

const char *obj_encoding_name(int encoding)
{
    switch (encoding) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_HASHTABLE: return "hashtable";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_EMBSTR: return "embstr";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_LISTPACK: return "listpack";
    default: return "unknown";
    }
}
