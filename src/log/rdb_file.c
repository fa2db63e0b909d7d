/* rdb_file.c -- whole Redis RDB files; see rdb_file.h.
 *
 * The loader maps the file and walks it with rdb.c's reader, a slice of
 * records at a time.  The CRC64 is carried along slice by slice, so the
 * check at EOF costs nothing extra. */
#include "rdb_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../engine/db.h"
#include "../engine/evict.h"
#include "../script/function.h"
#include "fileio.h"
#include "rdb.h"

#define RDB_MAGIC     "REDIS"
#define RDB_HEAD_LEN  9
#define RDB_FLUSH_LEN (64 * 1024)

/* Module aux data opcodes (RDB_OPCODE_MODULE_AUX). */
enum {
    MOD_EOF = 0,
    MOD_SINT = 1,
    MOD_UINT = 2,
    MOD_FLOAT = 3,
    MOD_DOUBLE = 4,
    MOD_STRING = 5,
};

struct rdb_loader {
    unsigned char *map;
    size_t len;
    rdb_reader r;
    cairn_engine *e;
    cdb *db;
    int64_t now_ms;
    cmd_call call; /* the context values are built in */
    uint64_t crc;
    const unsigned char *crc_pos; /* bytes before it are in crc */
    int64_t expire;               /* of the next key: -1 none */
    int access;                   /* ACCESS_*: the next key's IDLE or FREQ */
    uint64_t access_val;
    int done;
    int merge; /* rdb_loader_merge */
    rdb_load_stats st;
    rdb_warn_fn *warn;
    void *warn_priv;
    char fn_err[256]; /* why a function library did not load */
};

int rdb_sniff(const char *head, size_t n) { return n >= 5 && memcmp(head, RDB_MAGIC, 5) == 0; }

static int version_of(const unsigned char *p)
{
    int v = 0;
    for (int i = 5; i < RDB_HEAD_LEN; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

rdb_loader *rdb_loader_new(int fd, cairn_engine *e, int64_t now_ms, rdb_warn_fn *warn,
                           void *warn_priv, char *err, size_t errlen)
{
    off_t size = fd_size(fd);
    if (size < RDB_HEAD_LEN) {
        snprintf(err, errlen, size < 0 ? "can't read the file: %s" : "file too short%.0s",
                 strerror(errno));
        close(fd);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "can't map the file: %s", strerror(errno));
        return NULL;
    }
    int version = version_of(map);
    if (!rdb_sniff(map, (size_t)size) || version < 1 || version > RDB_VERSION) {
        snprintf(err, errlen, "Can't handle RDB format version %.4s", (const char *)map + 5);
        munmap(map, (size_t)size);
        return NULL;
    }
    madvise(map, (size_t)size, MADV_SEQUENTIAL);
    rdb_loader *l = cm_calloc(1, sizeof(*l));
    l->map = map;
    l->len = (size_t)size;
    l->r = (rdb_reader){l->map + RDB_HEAD_LEN, l->map + l->len, NULL};
    l->e = e;
    l->db = &e->dbs[0];
    l->now_ms = now_ms;
    l->call.e = e;
    l->call.db = l->db;
    l->call.now_ms = now_ms;
    crand_seed(&l->call.rng, (uint64_t)now_ms);
    l->crc_pos = l->map;
    l->expire = -1;
    l->st.version = version;
    l->warn = warn;
    l->warn_priv = warn_priv;
    return l;
}

void rdb_loader_free(rdb_loader *l)
{
    if (!l) return;
    munmap(l->map, l->len);
    cm_free(l);
}

uint64_t rdb_loader_offset(const rdb_loader *l) { return (uint64_t)(l->r.p - l->map); }

const rdb_load_stats *rdb_loader_stats(const rdb_loader *l) { return &l->st; }

static void warnf(rdb_loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warnf(rdb_loader *l, const char *fmt, ...)
{
    if (!l->warn) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->warn(l->warn_priv, msg);
}

static int bad(rdb_loader *l, const char *why)
{
    l->r.err = why;
    return 0;
}

/* A module's name from its 64-bit id: 9 characters of 6 bits, then a
 * 10-bit encoding version. */
static void module_name(uint64_t id, char name[10])
{
    static const char cset[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int j = 0; j < 9; j++)
        name[j] = cset[(id >> (64 - 6 * (j + 1))) & 63];
    name[9] = '\0';
}

/* Module aux data Cairn has no module for: walk its typed values to the
 * end, as redis-server does for a module it does not find. */
static int skip_module_aux(rdb_loader *l)
{
    uint64_t id, when_op, when, op, v;
    const unsigned char *b;
    if (!rdb_read_len(&l->r, &id, NULL) || !rdb_read_len(&l->r, &when_op, NULL) ||
        !rdb_read_len(&l->r, &when, NULL))
        return 0;
    if (when_op != MOD_UINT) return bad(l, "bad module aux header");
    for (;;) {
        if (!rdb_read_len(&l->r, &op, NULL)) return 0;
        int ok;
        switch (op) {
        case MOD_EOF: {
            char name[10];
            module_name(id, name);
            warnf(l, "Skipping the aux data of module %s: Cairn has no such module", name);
            l->st.module_aux_skipped++;
            return 1;
        }
        case MOD_SINT:
        case MOD_UINT: ok = rdb_read_len(&l->r, &v, NULL); break;
        case MOD_FLOAT: ok = rdb_read_bytes(&l->r, 4, &b); break;
        case MOD_DOUBLE: ok = rdb_read_bytes(&l->r, 8, &b); break;
        case MOD_STRING: ok = rdb_skip_string(&l->r); break;
        default: return bad(l, "unknown module aux opcode");
        }
        if (!ok) return 0;
    }
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int read_aux(rdb_loader *l)
{
    cslice k, v;
    dstr ks = NULL, vs = NULL;
    int ok = rdb_read_string(&l->r, &k, &ks) && rdb_read_string(&l->r, &v, &vs);
    if (ok && k.len == 9 && memcmp(k.ptr, "redis-ver", 9) == 0)
        warnf(l, "Loading RDB produced by version %.*s", (int)(v.len > 32 ? 32 : v.len), v.ptr);
    dstr_free(ks);
    dstr_free(vs);
    return ok;
}

void rdb_loader_merge(rdb_loader *l) { l->merge = 1; }

static int select_db(rdb_loader *l)
{
    uint64_t id;
    if (!rdb_read_len(&l->r, &id, NULL)) return 0;
    if (id >= (uint64_t)l->e->ndbs) return bad(l, "a database index out of range (databases)");
    l->db = &l->e->dbs[id];
    l->call.db = l->db;
    return 1;
}

static int resize_db(rdb_loader *l)
{
    uint64_t keys, expires;
    if (!rdb_read_len(&l->r, &keys, NULL) || !rdb_read_len(&l->r, &expires, NULL)) return 0;
    /* Only a hint: a file cannot make us allocate more than it could hold. */
    if (keys <= l->len / 2) htab_expand(l->db->keys, keys);
    return 1;
}

static int read_key(rdb_loader *l, int type)
{
    if (!rdb_is_object_type(type)) return bad(l, "unknown value type");
    cslice k;
    dstr ks = NULL;
    /* A compressed key that fails to decompress has its buffer already. */
    if (!rdb_read_string(&l->r, &k, &ks)) {
        dstr_free(ks);
        return 0;
    }
    cobj *o = rdb_read_object(&l->r, &l->call, type);
    int ok = o != NULL;
    if (ok) {
        if (l->merge) obj_free(db_unlink(l->db, &k));
        o = db_add_loaded(l->db, &k, o, l->expire);
        if (!o) {
            ok = bad(l, "duplicate key");
        } else {
            o->lru = evict_access_restore(l->e, l->access, l->access_val, l->now_ms);
            l->st.keys++;
            if (l->expire >= 0) l->st.expires++;
        }
    }
    dstr_free(ks);
    l->expire = -1;
    l->access = ACCESS_NONE;
    return ok;
}

/* A function library's code, loaded as FUNCTION LOAD would. */
static int read_function(rdb_loader *l)
{
    cslice code;
    dstr scratch = NULL;
    int ok = rdb_read_string(&l->r, &code, &scratch);
    if (ok && !function_load(script_get(l->e), code.ptr, code.len,
                             l->merge ? FN_REPLACE : FN_CREATE, l->fn_err, sizeof(l->fn_err)))
        ok = bad(l, l->fn_err);
    if (ok) l->st.functions++;
    dstr_free(scratch);
    return ok;
}

/* EOF: the checksum of everything before it, when the file has one. */
static int read_eof(rdb_loader *l)
{
    l->done = 1;
    if (l->st.version < 5) return 1;
    l->crc = rdb_crc64(l->crc, l->crc_pos, (size_t)(l->r.p - l->crc_pos));
    l->crc_pos = l->r.p;
    const unsigned char *b;
    if (!rdb_read_bytes(&l->r, 8, &b)) return 0;
    uint64_t want = le(b, 8);
    if (want != 0 && want != l->crc) return bad(l, "wrong RDB checksum");
    return 1;
}

static int read_record(rdb_loader *l)
{
    unsigned t;
    const unsigned char *b;
    uint64_t v;
    if (!rdb_read_u8(&l->r, &t)) return 0;
    switch (t) {
    case RDB_OPCODE_EXPIRETIME_MS:
        if (!rdb_read_bytes(&l->r, 8, &b)) return 0;
        l->expire = (int64_t)le(b, 8);
        return 1;
    case RDB_OPCODE_EXPIRETIME:
        if (!rdb_read_bytes(&l->r, 4, &b)) return 0;
        l->expire = (int64_t)le(b, 4) * 1000;
        return 1;
    case RDB_OPCODE_IDLE:
        if (!rdb_read_len(&l->r, &v, NULL)) return 0;
        l->access = ACCESS_IDLE;
        l->access_val = v;
        return 1;
    case RDB_OPCODE_FREQ:
        if (!rdb_read_bytes(&l->r, 1, &b)) return 0;
        l->access = ACCESS_FREQ;
        l->access_val = b[0];
        return 1;
    case RDB_OPCODE_SELECTDB: return select_db(l);
    case RDB_OPCODE_RESIZEDB: return resize_db(l);
    case RDB_OPCODE_AUX: return read_aux(l);
    case RDB_OPCODE_MODULE_AUX: return skip_module_aux(l);
    case RDB_OPCODE_FUNCTION2: return read_function(l);
    case RDB_OPCODE_FUNCTION: return bad(l, "functions in a pre-release format");
    case RDB_OPCODE_EOF: return read_eof(l);
    default: return read_key(l, (int)t);
    }
}

int rdb_loader_step(rdb_loader *l, long records, char *why, size_t whylen)
{
    for (long n = 0; n < records && !l->done; n++) {
        const unsigned char *at = l->r.p;
        if (!read_record(l)) {
            snprintf(why, whylen, "%s at offset %llu", l->r.err ? l->r.err : "bad data",
                     (unsigned long long)(at - l->map));
            return RDB_LOAD_ERROR;
        }
    }
    if (!l->done) {
        l->crc = rdb_crc64(l->crc, l->crc_pos, (size_t)(l->r.p - l->crc_pos));
        l->crc_pos = l->r.p;
        return RDB_LOAD_MORE;
    }
    return RDB_LOAD_DONE;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

typedef struct rdb_out {
    int fd;
    dstr buf;
    uint64_t crc;
    int failed;
} rdb_out;

static void out_flush(rdb_out *w)
{
    size_t n = dstr_len(w->buf);
    if (!n || w->failed) return;
    w->crc = rdb_crc64(w->crc, w->buf, n);
    if (write_all(w->fd, w->buf, n, NULL) != 0) w->failed = 1;
    dstr_set_len(w->buf, 0);
}

static void out_aux(rdb_out *w, const char *k, const char *v)
{
    unsigned char op = RDB_OPCODE_AUX;
    w->buf = dstr_cat(w->buf, &op, 1);
    w->buf = rdb_write_string(w->buf, k, strlen(k), 0);
    w->buf = rdb_write_string(w->buf, v, strlen(v), 0);
}

static void out_le(rdb_out *w, uint64_t v, int n)
{
    unsigned char b[8];
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w->buf = dstr_cat(w->buf, b, (size_t)n);
}

static void out_key(rdb_out *w, cairn_engine *e, cobj *o, int access, int64_t now_ms)
{
    unsigned char op;
    if (obj_has_expire(o)) {
        op = RDB_OPCODE_EXPIRETIME_MS;
        w->buf = dstr_cat(w->buf, &op, 1);
        out_le(w, (uint64_t)obj_expire(o), 8);
    }
    if (access == ACCESS_IDLE) {
        op = RDB_OPCODE_IDLE;
        w->buf = dstr_cat(w->buf, &op, 1);
        w->buf = rdb_write_len(w->buf, evict_access_save(e, o, now_ms));
    } else if (access == ACCESS_FREQ) {
        op = RDB_OPCODE_FREQ;
        w->buf = dstr_cat(w->buf, &op, 1);
        out_le(w, evict_access_save(e, o, now_ms), 1);
    }
    /* The type comes first, then the key, then the value. */
    dstr val = rdb_write_object(dstr_with_cap(64), o, e->cfg.rdbcompression);
    cslice k = obj_key(o);
    w->buf = dstr_cat(w->buf, val, 1);
    w->buf = rdb_write_string(w->buf, k.ptr, k.len, e->cfg.rdbcompression);
    w->buf = dstr_cat(w->buf, val + 1, dstr_len(val) - 1);
    dstr_free(val);
    if (dstr_len(w->buf) >= RDB_FLUSH_LEN) out_flush(w);
}

/* Function libraries, as Redis writes them: their code, before the keys. */
static void out_functions(rdb_out *w, cairn_engine *e)
{
    if (!e->script) return;
    int n;
    const fn_lib *const *libs = function_libraries(e->script, &n);
    for (int i = 0; i < n; i++) {
        unsigned char op = RDB_OPCODE_FUNCTION2;
        w->buf = dstr_cat(w->buf, &op, 1);
        w->buf = rdb_write_string(w->buf, libs[i]->code, dstr_len(libs[i]->code), 0);
    }
}

int rdb_write_file(cairn_engine *e, int fd, int64_t now_ms)
{
    rdb_out w = {fd, dstr_with_cap(RDB_FLUSH_LEN * 2), 0, 0};
    char num[32];
    w.buf = dstr_catfmt(w.buf, "REDIS%04d", RDB_VERSION);
    out_aux(&w, "redis-ver", REDIS_COMPAT_VERSION);
    out_aux(&w, "redis-bits", sizeof(void *) == 8 ? "64" : "32");
    snprintf(num, sizeof(num), "%lld", (long long)(now_ms / 1000));
    out_aux(&w, "ctime", num);
    out_aux(&w, "aof-base", "0");
    out_functions(&w, e);
    int access = evict_access_kind(e);
    for (int i = 0; i < e->ndbs && !w.failed; i++) {
        cdb *db = &e->dbs[i];
        if (db_size(db) == 0) continue;
        unsigned char op = RDB_OPCODE_SELECTDB;
        w.buf = dstr_cat(w.buf, &op, 1);
        w.buf = rdb_write_len(w.buf, (uint64_t)i);
        op = RDB_OPCODE_RESIZEDB;
        w.buf = dstr_cat(w.buf, &op, 1);
        w.buf = rdb_write_len(w.buf, (uint64_t)db_size(db));
        w.buf = rdb_write_len(w.buf, (uint64_t)db_volatile_count(db));
        htab_iter it;
        cobj *o;
        htab_iter_start(&it, db->keys);
        while ((o = htab_iter_next(&it)) != NULL && !w.failed)
            out_key(&w, e, o, access, now_ms);
        htab_iter_end(&it);
    }
    unsigned char eof = RDB_OPCODE_EOF;
    w.buf = dstr_cat(w.buf, &eof, 1);
    out_flush(&w);
    out_le(&w, w.crc, 8);
    if (!w.failed && write_all(fd, w.buf, dstr_len(w.buf), NULL) != 0) w.failed = 1;
    int saved = errno;
    dstr_free(w.buf);
    errno = saved;
    return w.failed ? -1 : 0;
}

int rdb_save(cairn_engine *e, const char *dir, const char *name, int64_t now_ms, char *err,
             size_t errlen)
{
    char tmpname[128];
    snprintf(tmpname, sizeof(tmpname), "temp-%d.rdb", (int)getpid());
    dstr tmp = path_join(dir, tmpname), final = path_join(dir, name);
    int rc = -1;
    int fd = open_create_trunc(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "Failed opening the RDB file %s for saving: %s", tmp,
                 strerror(errno));
        goto out;
    }
    if (rdb_write_file(e, fd, now_ms) != 0 || sync_fd(fd) != 0) {
        snprintf(err, errlen, "writing the RDB file %s failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, final) != 0 || sync_dir(dir) != 0) {
        snprintf(err, errlen, "saving the RDB file %s failed: %s", final, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    dstr_free(tmp);
    dstr_free(final);
    return rc;
}
