/* object.c -- value objects; see object.h. */
#include "object.h"

#include <string.h>

#include "../ds/alloc.h"
#include "../ds/htab.h"
#include "../ds/util.h"

/* The bytes of a key area: the length when meta cannot hold it, the key,
 * a NUL. */
static size_t key_area_size(size_t len)
{
    return (len > OBJ_KEYLEN_MAX ? sizeof(uint32_t) : 0) + len + 1;
}

static size_t emb_len(const cobj *o) { return (o->meta >> OBJ_M_EMBLEN_POS) & OBJ_M_EMB_MASK; }
static size_t emb_cap(const cobj *o) { return (o->meta >> OBJ_M_EMBCAP_POS) & OBJ_M_EMB_MASK; }

/* Where the value of an EMBSTR object starts: after everything else. */
static char *emb_bytes(const cobj *o)
{
    size_t off = obj_head_size(o) + (obj_has_expire(o) ? OBJ_EXPIRE_SIZE : 0);
    if (o->meta & OBJ_M_KEY) off += key_area_size(obj_key(o).len);
    return (char *)o + off;
}

static void emb_store(cobj *o, const char *p, size_t len)
{
    char *s = emb_bytes(o);
    if (len) memmove(s, p, len);
    s[len] = '\0';
    o->meta = (o->meta & ~(OBJ_M_EMB_MASK << OBJ_M_EMBLEN_POS)) | (uint32_t)len << OBJ_M_EMBLEN_POS;
}

/* An object of this type and encoding with its key and expiry in place,
 * and for an EMBSTR room for emb_cap bytes; the value is the caller's to
 * fill. */
static cobj *obj_build(unsigned type, unsigned encoding, const cslice *key, int64_t when,
                       size_t emb_room)
{
    size_t head = encoding == ENC_EMBSTR ? offsetof(cobj, v) : sizeof(cobj);
    size_t size = head + (when >= 0 ? OBJ_EXPIRE_SIZE : 0) + (key ? key_area_size(key->len) : 0) +
                  (encoding == ENC_EMBSTR ? emb_room + 1 : 0);
    /* Never smaller than the struct, so that a copy of one stays in
     * bounds. */
    cobj *o = cm_malloc(size < sizeof(cobj) ? sizeof(cobj) : size);
    o->type = type;
    o->encoding = encoding;
    o->lru = 0;
    o->meta = (uint32_t)emb_room << OBJ_M_EMBCAP_POS;
    char *p = (char *)o + head;
    if (when >= 0) {
        uint32_t no_index = 0;
        o->meta |= OBJ_M_EXPIRE;
        memcpy(p, &when, sizeof(when));
        memcpy(p + sizeof(when), &no_index, sizeof(no_index));
        p += OBJ_EXPIRE_SIZE;
    }
    if (key) {
        o->meta |= OBJ_M_KEY;
        if (key->len > OBJ_KEYLEN_MAX) {
            uint32_t len = (uint32_t)key->len;
            o->meta |= OBJ_M_LONGKEY;
            memcpy(p, &len, sizeof(len));
            p += sizeof(len);
        } else {
            o->meta |= (uint32_t)key->len << OBJ_M_KEYLEN_POS;
        }
        memcpy(p, key->ptr, key->len);
        p[key->len] = '\0';
    }
    return o;
}

static cobj *obj_alloc(unsigned type, unsigned encoding)
{
    cobj *o = obj_build(type, encoding, NULL, -1, 0);
    o->v.ptr = NULL;
    return o;
}

/* One allocation holds the object and the bytes: a short string costs a
 * single malloc and sits in one cache line or two. */
static cobj *obj_new_embstr(const char *p, size_t len)
{
    cobj *o = obj_build(OBJ_STRING, ENC_EMBSTR, NULL, -1, len);
    emb_store(o, p, len);
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

cobj *obj_new_keyed_string(const cslice *key, int64_t when, const char *p, size_t len)
{
    long long v;
    cobj *o;
    if (len <= 20 && str_to_ll(p, len, &v)) {
        o = obj_build(OBJ_STRING, ENC_INT, key, when, 0);
        o->v.ll = v;
    } else if (len <= EMBSTR_MAX_LEN) {
        o = obj_build(OBJ_STRING, ENC_EMBSTR, key, when, len);
        emb_store(o, p, len);
    } else {
        o = obj_build(OBJ_STRING, ENC_RAW, key, when, 0);
        o->v.ptr = dstr_new(p, len);
    }
    return o;
}

cobj *obj_new_string_try_int(const char *p, size_t len)
{
    return obj_new_keyed_string(NULL, -1, p, len);
}

cobj *obj_set_key(cobj *o, const cslice *key, int64_t when)
{
    int emb = o->encoding == ENC_EMBSTR;
    cobj *n = obj_build(o->type, o->encoding, key, when, emb ? emb_len(o) : 0);
    n->lru = o->lru;
    if (emb)
        emb_store(n, emb_bytes(o), emb_len(o));
    else
        n->v = o->v;
    if (when >= 0 && obj_has_expire(o)) obj_set_volatile_index(n, obj_volatile_index(o));
    cm_free(o);
    return n;
}

int obj_string_set_in_place(cobj *o, const char *p, size_t len)
{
    if (o->type != OBJ_STRING) return 0;
    long long v;
    int is_int = len <= 20 && str_to_ll(p, len, &v);
    if (o->encoding == ENC_INT) {
        if (!is_int) return 0;
        o->v.ll = v;
        return 1;
    }
    /* The allocation keeps its size: the capacity stays, so a later
     * longer value up to it fits too. */
    if (o->encoding != ENC_EMBSTR || is_int || len > emb_cap(o)) return 0;
    emb_store(o, p, len);
    return 1;
}

void obj_free(cobj *o)
{
    if (!o) return;
    switch (o->type) {
    case OBJ_STRING:
        if (o->encoding == ENC_RAW) dstr_free(o->v.ptr);
        break;
    case OBJ_LIST: list_obj_free(o); break;
    case OBJ_HASH: hash_obj_free(o); break;
    case OBJ_SET: set_obj_free(o); break;
    case OBJ_ZSET: zset_obj_free(o); break;
    case OBJ_STREAM: stream_obj_free(o); break;
    default: break;
    }
    cm_free(o);
}

void obj_free_void(void *o) { obj_free(o); }

size_t obj_mem_usage(cobj *o, long long samples)
{
    size_t n = cm_usable_size(o);
    switch (o->type) {
    case OBJ_STRING: return n + (o->encoding == ENC_RAW ? dstr_alloc_size(o->v.ptr) : 0);
    case OBJ_LIST: return n + list_obj_mem(o, samples);
    case OBJ_HASH: return n + hash_obj_mem(o, samples);
    case OBJ_SET: return n + set_obj_mem(o, samples);
    case OBJ_ZSET: return n + zset_obj_mem(o, samples);
    case OBJ_STREAM: return n + stream_obj_mem(o, samples);
    default: return n;
    }
}

size_t obj_htab_mem(htab *h, long long samples, size_t (*elem_mem)(void *elem))
{
    uint64_t size = htab_size(h);
    size_t sum = 0;
    long long seen = 0;
    htab_iter it;
    htab_iter_start(&it, h);
    void *elem;
    while ((samples == 0 || seen < samples) && (elem = htab_iter_next(&it)) != NULL) {
        sum += elem_mem(elem);
        seen++;
    }
    htab_iter_end(&it);
    size_t elems = seen ? (size_t)((double)sum / (double)seen * (double)size) : 0;
    return htab_mem_usage(h) + elems;
}

cobj *obj_dup(const cobj *o)
{
    switch (o->type) {
    case OBJ_STRING: break;
    case OBJ_LIST: return list_obj_dup(o);
    case OBJ_HASH: return hash_obj_dup(o);
    case OBJ_SET: return set_obj_dup(o);
    case OBJ_ZSET: return zset_obj_dup(o);
    case OBJ_STREAM: return stream_obj_dup(o);
    default: break;
    }
    switch (o->encoding) {
    case ENC_INT: return obj_new_int(o->v.ll);
    case ENC_EMBSTR: return obj_new_embstr(emb_bytes(o), emb_len(o));
    default: return obj_new_raw(dstr_dup(o->v.ptr));
    }
}

const char *obj_str(const cobj *o, char *buf, size_t *len)
{
    if (o->encoding == ENC_INT) {
        *len = (size_t)ll_to_str(buf, NUM_STR_MAX, o->v.ll);
        return buf;
    }
    if (o->encoding == ENC_EMBSTR) {
        *len = emb_len(o);
        return emb_bytes(o);
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
    case ENC_STREAM: return "stream";
    case ENC_LISTPACK: return "listpack";
    default: return "unknown";
    }
}
