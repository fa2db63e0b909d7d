/* snapshot.c -- writing and loading snapshots; see snapshot.h for the
 * format.
 *
 * The writer streams records into a frame buffer and writes a checksummed
 * frame whenever it fills, so memory stays constant whatever the dataset.
 * It runs in a forked child for BGSAVE and BGREWRITEAOF (reading the
 * parent's memory as it was at the fork), or in the caller for SAVE.
 *
 * The loader is a pull parser over the verified stream: each call to
 * parse_one() either consumes a whole unit (a record, or one element of a
 * large collection) or asks for more bytes, so loading can stop and resume
 * anywhere and never trusts a byte whose frame has not been checked. */
#include "snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/db.h"
#include "../engine/evict.h"
#include "../script/function.h"
#include "entry.h"
#include "fileio.h"
#include "snapshot_types.h"

enum {
    OP_FUNCTION = 0xF5, /* a function library's code, as Redis's RDB_OPCODE_FUNCTION2 */
    OP_AUX = 0xFA,
    OP_KEY = 0xFD,
    OP_DB = 0xFE,
    OP_EOF = 0xFF,
};

/* Key record flags: what follows the flags byte. */
enum {
    KEYF_EXPIRE = 1, /* u64 expiry time, ms */
    KEYF_IDLE = 2,   /* varint idle seconds (an LRU policy saved it) */
    KEYF_FREQ = 4,   /* varint LFU counter (an LFU policy saved it) */
};

/* ---------------------------------------------------------------------- */
/* Little-endian and varint helpers                                        */
/* ---------------------------------------------------------------------- */

static void store_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int snapshot_sniff(const void *buf, size_t len)
{
    return len >= 8 && memcmp(buf, SNAP_MAGIC, 8) == 0;
}

/* ---------------------------------------------------------------------- */
/* Writer                                                                  */
/* ---------------------------------------------------------------------- */

struct snap_writer {
    int fd;
    unsigned char *frame; /* 8 header bytes, then up to SNAP_FRAME_MAX payload */
    size_t used;          /* payload bytes staged */
    uint64_t written;     /* file bytes written */
    uint64_t unsynced;
    size_t fsync_every;
    int err; /* errno of the first failure, or 0 */
};

static void sw_flush(snap_writer *w)
{
    if (w->err || w->used == 0) return;
    store_le32(w->frame, (uint32_t)w->used);
    store_le32(w->frame + 4, crc32c(0, w->frame + 8, w->used));
    size_t n = 8 + w->used;
    if (write_all(w->fd, w->frame, n, NULL) != 0) {
        w->err = errno;
        return;
    }
    w->written += n;
    w->unsynced += n;
    w->used = 0;
    if (w->fsync_every && w->unsynced >= w->fsync_every) {
        if (sync_fd(w->fd) != 0) w->err = errno;
        w->unsynced = 0;
    }
}

void sw_bytes(snap_writer *w, const void *p, size_t len)
{
    const unsigned char *s = p;
    while (len > 0 && !w->err) {
        size_t room = SNAP_FRAME_MAX - w->used;
        size_t n = len < room ? len : room;
        memcpy(w->frame + 8 + w->used, s, n);
        w->used += n;
        s += n;
        len -= n;
        if (w->used == SNAP_FRAME_MAX) sw_flush(w);
    }
}

void sw_u8(snap_writer *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    sw_bytes(w, &b, 1);
}

void sw_varint(snap_writer *w, uint64_t v)
{
    unsigned char buf[10];
    int n = 0;
    do {
        buf[n] = (unsigned char)(v & 0x7F);
        v >>= 7;
        if (v) buf[n] |= 0x80;
        n++;
    } while (v);
    sw_bytes(w, buf, (size_t)n);
}

void sw_u64(snap_writer *w, uint64_t v)
{
    unsigned char buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(v >> (8 * i));
    sw_bytes(w, buf, 8);
}

void sw_str(snap_writer *w, const void *p, size_t len)
{
    sw_varint(w, len);
    sw_bytes(w, p, len);
}

static void write_aux(snap_writer *w, const char *name, const char *value)
{
    sw_u8(w, OP_AUX);
    sw_str(w, name, strlen(name));
    sw_str(w, value, strlen(value));
}

/* Function libraries are part of the dataset (function.h). */
static void write_functions(snap_writer *w, cairn_engine *e)
{
    if (!e->script) return;
    int n;
    const fn_lib *const *libs = function_libraries(e->script, &n);
    for (int i = 0; i < n; i++) {
        sw_u8(w, OP_FUNCTION);
        sw_str(w, libs[i]->code, dstr_len(libs[i]->code));
    }
}

/* What a key record says besides the key and value. */
typedef struct key_ctx {
    const cairn_engine *e;
    int64_t now_ms;
    unsigned access_flag; /* KEYF_IDLE, KEYF_FREQ or 0, per the policy */
} key_ctx;

static void write_key(snap_writer *w, const key_ctx *kc, const cobj *o)
{
    int64_t when = obj_expire(o);
    cslice key = obj_key(o);
    sw_u8(w, OP_KEY);
    sw_u8(w, (when >= 0 ? KEYF_EXPIRE : 0) | kc->access_flag);
    if (when >= 0) sw_u64(w, (uint64_t)when);
    if (kc->access_flag) sw_varint(w, evict_access_save(kc->e, o, kc->now_ms));
    sw_u8(w, o->type);
    sw_u8(w, o->encoding);
    sw_str(w, key.ptr, key.len);
    snap_write_value(w, o);
}

static long long write_db(snap_writer *w, const key_ctx *kc, cdb *db)
{
    sw_u8(w, OP_DB);
    sw_varint(w, (uint64_t)db->id);
    sw_varint(w, htab_size(db->keys));
    sw_varint(w, (uint64_t)db_volatile_count(db));
    long long n = 0;
    htab_iter it;
    cobj *o;
    htab_iter_start(&it, db->keys);
    while ((o = htab_iter_next(&it)) != NULL && !w->err) {
        write_key(w, kc, o);
        n++;
    }
    htab_iter_end(&it);
    return n;
}

static void write_header(snap_writer *w)
{
    unsigned char h[SNAP_HEADER_LEN];
    memcpy(h, SNAP_MAGIC, 8);
    store_le32(h + 8, SNAP_VERSION);
    store_le32(h + 12, crc32c(0, h, 12));
    if (write_all(w->fd, h, sizeof(h), NULL) != 0) w->err = errno;
    w->written += sizeof(h);
}

int snapshot_write(cairn_engine *e, int fd, int64_t now_ms, size_t fsync_every, snap_stats *st,
                   char *err, size_t errlen)
{
    snap_writer w = {.fd = fd, .fsync_every = fsync_every};
    w.frame = cm_malloc(8 + SNAP_FRAME_MAX);
    write_header(&w);
    char num[32];
    write_aux(&w, "cairn-ver", CAIRN_SNAPSHOT_CREATOR);
    snprintf(num, sizeof(num), "%lld", (long long)now_ms);
    write_aux(&w, "ctime-ms", num);
    write_functions(&w, e);
    int kind = evict_access_kind(e);
    key_ctx kc = {e, now_ms, kind == ACCESS_IDLE ? KEYF_IDLE : kind == ACCESS_FREQ ? KEYF_FREQ : 0};
    long long keys = 0, expires = 0;
    for (int i = 0; i < e->ndbs && !w.err; i++) {
        cdb *db = &e->dbs[i];
        if (db_size(db) == 0) continue;
        expires += db_volatile_count(db);
        keys += write_db(&w, &kc, db);
    }
    sw_u8(&w, OP_EOF);
    sw_varint(&w, (uint64_t)keys);
    sw_flush(&w);
    cm_free(w.frame);
    if (st) {
        st->keys = keys;
        st->expires = expires;
        st->bytes = w.written;
    }
    if (w.err) {
        snprintf(err, errlen, "writing the snapshot: %s", strerror(w.err));
        return -1;
    }
    return 0;
}

int snapshot_save(cairn_engine *e, const char *dir, const char *name, int64_t now_ms,
                  size_t fsync_every, snap_stats *st, char *err, size_t errlen)
{
    char tmpname[128];
    snprintf(tmpname, sizeof(tmpname), "temp-%d.rdb", (int)getpid());
    dstr tmp = path_join(dir, tmpname);
    dstr final = path_join(dir, name);
    int rc = -1;
    int fd = open_create_trunc(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "Failed opening the temp snapshot file %s for saving: %s", tmp,
                 strerror(errno));
        goto out;
    }
    if (snapshot_write(e, fd, now_ms, fsync_every, st, err, errlen) != 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (sync_fd(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "fsync of the snapshot %s failed: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, final) != 0) {
        snprintf(err, errlen, "renaming the snapshot %s to %s failed: %s", tmp, final,
                 strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (sync_dir(dir) != 0) {
        snprintf(err, errlen, "fsync of the directory %s failed: %s", dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    dstr_free(tmp);
    dstr_free(final);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Loader                                                                  */
/* ---------------------------------------------------------------------- */

#define READ_CHUNK (256 * 1024)

struct snap_loader {
    int fd;
    cairn_engine *e; /* builds the objects; its dbs receive them unless verifying */
    int verify;
    int merge; /* snap_loader_merge */
    int64_t now_ms;
    uint64_t size;       /* of the file, at open */
    uint64_t read_off;   /* file bytes read into raw */
    uint64_t frame_off;  /* file offset of raw[rpos]: the next frame */
    uint64_t last_frame; /* file offset of the newest frame in stream */
    unsigned char *raw;  /* file bytes read but not yet verified */
    size_t rpos, rlen, rcap;
    dstr stream; /* verified payload bytes not yet parsed, from spos */
    size_t spos;
    int header_done, eof_seen;
    cdb *db; /* the current db, NULL before the first DB record */
    int dbid;
    snap_partial part;        /* a collection being filled element by element */
    int part_access;          /* its key's saved access kind (ACCESS_*) */
    uint64_t part_access_val; /* and value */
    snap_stats st;
    long long eof_keys;
    uint64_t bad_off; /* where the error lerr() recorded is */
    char fn_err[512]; /* why a function library could not be loaded */
    char *err;
    size_t errlen;
};

/* Record an error about the file and return SNAP_ERROR. */
static int lerr(snap_loader *l, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lerr(snap_loader *l, uint64_t off, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->bad_off = off;
    snprintf(l->err, l->errlen, "%s at offset %llu", msg, (unsigned long long)off);
    return SNAP_ERROR;
}

snap_loader *snap_loader_new(int fd, cairn_engine *e, int64_t now_ms)
{
    snap_loader *l = cm_calloc(1, sizeof(*l));
    l->fd = fd;
    l->e = e;
    l->now_ms = now_ms;
    off_t size = fd_size(fd);
    l->size = size > 0 ? (uint64_t)size : 0;
    l->rcap = READ_CHUNK + 8 + SNAP_FRAME_MAX;
    l->raw = cm_malloc(l->rcap);
    l->stream = dstr_with_cap(2 * SNAP_FRAME_MAX);
    l->dbid = -1;
    return l;
}

void snap_loader_merge(snap_loader *l) { l->merge = 1; }

void snap_loader_free(snap_loader *l)
{
    if (!l) return;
    snap_partial_discard(&l->part);
    if (l->fd >= 0) close(l->fd);
    cm_free(l->raw);
    dstr_free(l->stream);
    cm_free(l);
}

uint64_t snap_loader_offset(const snap_loader *l) { return l->frame_off; }
uint64_t snap_loader_size(const snap_loader *l) { return l->size; }
const snap_stats *snap_loader_stats(const snap_loader *l) { return &l->st; }

/* Make at least `need` unverified bytes available in raw.  Returns 1, 0 at
 * the end of the file, or -1 on a read error. */
static int raw_fill(snap_loader *l, size_t need)
{
    while (l->rlen - l->rpos < need) {
        if (l->rpos > 0) {
            memmove(l->raw, l->raw + l->rpos, l->rlen - l->rpos);
            l->rlen -= l->rpos;
            l->rpos = 0;
        }
        size_t want = l->rcap - l->rlen;
        if (want > READ_CHUNK) want = READ_CHUNK;
        ssize_t n = read_full(l->fd, l->raw + l->rlen, want);
        if (n < 0) return -1;
        if (n == 0) return 0;
        l->rlen += (size_t)n;
        l->read_off += (uint64_t)n;
    }
    return 1;
}

static int read_header(snap_loader *l)
{
    int r = raw_fill(l, SNAP_HEADER_LEN);
    if (r < 0) return lerr(l, 0, "read error: %s", strerror(errno));
    if (r == 0) return lerr(l, 0, "file too short for a snapshot header");
    const unsigned char *h = l->raw + l->rpos;
    if (!snapshot_sniff(h, SNAP_HEADER_LEN)) return lerr(l, 0, "not a snapshot (bad magic)");
    if (crc32c(0, h, 12) != load_le32(h + 12)) return lerr(l, 12, "header checksum mismatch");
    uint32_t version = load_le32(h + 8);
    if (version != SNAP_VERSION)
        return lerr(l, 8, "unsupported snapshot version %u (this build reads %d)", version,
                    SNAP_VERSION);
    l->rpos += SNAP_HEADER_LEN;
    l->frame_off = SNAP_HEADER_LEN;
    l->header_done = 1;
    return SNAP_MORE;
}

/* Verify the next frame and append its payload to the stream.  Returns
 * the bytes consumed from the file, 0 at a clean end of file, or -1. */
static long next_frame(snap_loader *l)
{
    int r = raw_fill(l, 8);
    if (r < 0) return lerr(l, l->frame_off, "read error: %s", strerror(errno)), -1;
    if (r == 0) {
        if (l->rlen == l->rpos) return 0;
        return lerr(l, l->frame_off, "truncated frame header"), -1;
    }
    const unsigned char *h = l->raw + l->rpos;
    uint32_t len = load_le32(h), crc = load_le32(h + 4);
    if (len == 0 || len > SNAP_FRAME_MAX)
        return lerr(l, l->frame_off, "bad frame length %u", len), -1;
    r = raw_fill(l, 8 + (size_t)len);
    if (r < 0) return lerr(l, l->frame_off, "read error: %s", strerror(errno)), -1;
    if (r == 0) return lerr(l, l->frame_off, "truncated frame (file ends early)"), -1;
    h = l->raw + l->rpos;
    if (crc32c(0, h + 8, len) != crc) return lerr(l, l->frame_off, "frame checksum mismatch"), -1;
    /* Drop the parsed part of the stream before appending. */
    if (l->spos > 0) {
        size_t left = dstr_len(l->stream) - l->spos;
        memmove(l->stream, l->stream + l->spos, left);
        dstr_set_len(l->stream, left);
        l->spos = 0;
    }
    l->stream = dstr_cat(l->stream, h + 8, len);
    l->last_frame = l->frame_off;
    l->rpos += 8 + (size_t)len;
    l->frame_off += 8 + (uint64_t)len;
    return 8 + (long)len;
}

/* ---- Parsing the stream ---------------------------------------------- */

int sr_varint(snap_reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) return 0;
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) return 1;
    }
    r->bad = "bad varint";
    return 0;
}

int sr_u8(snap_reader *r, unsigned *v)
{
    if (r->p == r->end) return 0;
    *v = *r->p++;
    return 1;
}

int sr_u64(snap_reader *r, uint64_t *v)
{
    if (r->end - r->p < 8) return 0;
    *v = load_le64(r->p);
    r->p += 8;
    return 1;
}

int sr_str(snap_reader *r, const char **s, size_t *len)
{
    uint64_t n;
    if (!sr_varint(r, &n)) return 0;
    if (n > DSTR_MAX_LEN) {
        r->bad = "string too long";
        return 0;
    }
    if ((uint64_t)(r->end - r->p) < n) return 0;
    *s = (const char *)r->p;
    *len = (size_t)n;
    r->p += n;
    return 1;
}

static int parse_aux(snap_loader *l, snap_reader *r)
{
    const char *name, *value;
    size_t nlen, vlen;
    (void)l;
    return sr_str(r, &name, &nlen) && sr_str(r, &value, &vlen);
}

static int parse_function(snap_loader *l, snap_reader *r)
{
    const char *code;
    size_t len;
    if (!sr_str(r, &code, &len)) return 0;
    if (l->verify) return 1;
    if (!function_load(script_get(l->e), code, len, l->merge ? FN_REPLACE : FN_CREATE, l->fn_err,
                       sizeof(l->fn_err))) {
        r->bad = l->fn_err;
        return 0;
    }
    return 1;
}

static int parse_db(snap_loader *l, snap_reader *r)
{
    uint64_t id, nkeys, nexpires;
    if (!sr_varint(r, &id) || !sr_varint(r, &nkeys) || !sr_varint(r, &nexpires)) return 0;
    if (id > INT32_MAX) {
        r->bad = "bad db number";
        return 0;
    }
    l->dbid = (int)id;
    l->db = NULL;
    if (l->verify) return 1;
    if (id >= (uint64_t)l->e->ndbs) {
        r->bad = "db number out of range (raise `databases`)";
        return 0;
    }
    l->db = &l->e->dbs[id];
    /* Size the tables once instead of growing them key by key. */
    if (nkeys < (1u << 30)) htab_expand(l->db->keys, nkeys);
    return 1;
}

/* Add a finished value under its key. */
static int add_key(snap_loader *l, snap_reader *r, const char *key, size_t klen, cobj *o,
                   int64_t when, int access, uint64_t access_val)
{
    l->st.keys++;
    if (when >= 0) l->st.expires++;
    if (!l->db) {
        obj_free(o); /* verifying only */
        return 1;
    }
    cslice k = {key, klen};
    if (l->merge) obj_free(db_unlink(l->db, &k));
    o = db_add_loaded(l->db, &k, o, when);
    if (!o) {
        r->bad = "duplicate key";
        return 0;
    }
    o->lru = evict_access_restore(l->e, access, access_val, l->now_ms);
    return 1;
}

static int parse_key(snap_loader *l, snap_reader *r)
{
    unsigned flags, type, enc;
    uint64_t when = (uint64_t)-1, access_val = 0;
    const char *key;
    size_t klen;
    if (l->dbid < 0) {
        r->bad = "key before any db record";
        return 0;
    }
    if (!sr_u8(r, &flags)) return 0;
    if ((flags & ~(unsigned)(KEYF_EXPIRE | KEYF_IDLE | KEYF_FREQ)) ||
        (flags & (KEYF_IDLE | KEYF_FREQ)) == (KEYF_IDLE | KEYF_FREQ)) {
        r->bad = "bad key flags";
        return 0;
    }
    if ((flags & KEYF_EXPIRE) && !sr_u64(r, &when)) return 0;
    if ((flags & (KEYF_IDLE | KEYF_FREQ)) && !sr_varint(r, &access_val)) return 0;
    int access = flags & KEYF_IDLE ? ACCESS_IDLE : flags & KEYF_FREQ ? ACCESS_FREQ : ACCESS_NONE;
    if (!sr_u8(r, &type) || !sr_u8(r, &enc) || !sr_str(r, &key, &klen)) return 0;
    if ((flags & KEYF_EXPIRE) && (int64_t)when < 0) {
        r->bad = "negative expiry time";
        return 0;
    }
    cobj *o = NULL;
    int64_t expire = (flags & KEYF_EXPIRE) ? (int64_t)when : -1;
    int rc = snap_read_value(r, l->e, (int)type, (int)enc, &o, &l->part);
    if (rc <= 0) return 0;
    if (o) return add_key(l, r, key, klen, o, expire, access, access_val);
    /* A collection to be filled element by element: keep the key. */
    l->part.key = dstr_new(key, klen);
    l->part.expire = expire;
    l->part_access = access;
    l->part_access_val = access_val;
    return 1;
}

static int parse_eof(snap_loader *l, snap_reader *r)
{
    uint64_t n;
    if (!sr_varint(r, &n)) return 0;
    if ((long long)n != l->st.keys) {
        r->bad = "key count at the end does not match the keys read";
        return 0;
    }
    l->eof_keys = (long long)n;
    l->eof_seen = 1;
    return 1;
}

/* Parse one unit at r->p.  Returns 1 if one was consumed, 0 if more bytes
 * are needed (r->p is then meaningless) or r->bad is set. */
static int parse_one(snap_loader *l, snap_reader *r)
{
    if (l->part.obj) {
        int rc = snap_read_element(r, &l->part);
        if (rc <= 0) return 0;
        if (l->part.remaining == 0) {
            cobj *o = snap_partial_finish(&l->part);
            dstr key = l->part.key;
            l->part.key = NULL;
            int ok = add_key(l, r, key, dstr_len(key), o, l->part.expire, l->part_access,
                             l->part_access_val);
            dstr_free(key);
            return ok;
        }
        return 1;
    }
    unsigned op;
    if (!sr_u8(r, &op)) return 0;
    switch (op) {
    case OP_FUNCTION: return parse_function(l, r);
    case OP_AUX: return parse_aux(l, r);
    case OP_DB: return parse_db(l, r);
    case OP_KEY: return parse_key(l, r);
    case OP_EOF: return parse_eof(l, r);
    default: r->bad = "unknown record type"; return 0;
    }
}

/* Parse whatever whole units the stream holds. */
static int parse_stream(snap_loader *l)
{
    while (!l->eof_seen) {
        snap_reader r = {(const unsigned char *)l->stream + l->spos,
                         (const unsigned char *)l->stream + dstr_len(l->stream), NULL};
        const unsigned char *start = r.p;
        if (!parse_one(l, &r)) {
            if (r.bad) return lerr(l, l->last_frame, "%s (in the frame)", r.bad);
            return SNAP_MORE;
        }
        l->spos += (size_t)(r.p - start);
    }
    if (l->spos != dstr_len(l->stream))
        return lerr(l, l->last_frame, "bytes after the end record (in the frame)");
    return SNAP_DONE;
}

int snap_loader_step(snap_loader *l, size_t budget, char *err, size_t errlen)
{
    l->err = err;
    l->errlen = errlen;
    if (!l->header_done && read_header(l) == SNAP_ERROR) return SNAP_ERROR;
    size_t done = 0;
    for (;;) {
        int rc = parse_stream(l);
        if (rc == SNAP_ERROR) return rc;
        if (rc == SNAP_DONE) {
            /* Nothing may follow the frame that holds the end record. */
            int r = raw_fill(l, 1);
            if (r != 0) return lerr(l, l->frame_off, "data after the end of the snapshot");
            l->st.bytes = l->frame_off;
            return SNAP_DONE;
        }
        if (done >= budget) return SNAP_MORE;
        long n = next_frame(l);
        if (n < 0) return SNAP_ERROR;
        if (n == 0) return lerr(l, l->frame_off, "unexpected end of file (no end record)");
        done += (size_t)n;
    }
}

int snapshot_verify(int fd, uint64_t *bad_off, snap_stats *st, char *err, size_t errlen)
{
    /* Objects are built (that is the deepest check) in a scratch engine
     * and dropped at once. */
    uint8_t seed[32] = {0};
    cairn_engine *scratch = engine_create(seed);
    snap_loader *l = snap_loader_new(fd, scratch, 0);
    l->verify = 1;
    int rc;
    do {
        rc = snap_loader_step(l, 64u << 20, err, errlen);
    } while (rc == SNAP_MORE);
    *bad_off = rc == SNAP_DONE ? l->frame_off : l->bad_off;
    if (st) *st = l->st;
    l->fd = -1; /* the caller's */
    snap_loader_free(l);
    engine_free(scratch);
    return rc == SNAP_DONE ? 0 : -1;
}
