/* Unit tests of the log layer: the manifest, the snapshot format, the
 * append-only log's reader, and recovery through persist.c -- including
 * a log and a snapshot cut at every byte offset and with flipped bytes,
 * each of which must load a prefix of what was written or be refused
 * cleanly, never crash or load garbage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "engine/config.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/t_set.h"
#include "log/aof.h"
#include "log/fileio.h"
#include "log/persist.h"
#include "log/snapshot.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static cairn_engine *new_engine(void)
{
    uint8_t seed[32];
    memset(seed, 7, sizeof(seed));
    cairn_engine *e = engine_create(seed);
    engine_start(e, 0);
    return e;
}

static void run(cairn_engine *e, cairn_session *s, const char **words)
{
    cslice argv[16];
    int argc = 0;
    for (; words[argc]; argc++)
        argv[argc] = (cslice){words[argc], strlen(words[argc])};
    rbuf out;
    rbuf_init(&out, 2);
    engine_execute(e, s, argc, argv, 1000000 * 1000LL, &out);
    rbuf_free(&out);
}

#define RUN(e, s, ...) run(e, s, (const char *[]){__VA_ARGS__, NULL})

static long long keys_in(cairn_engine *e)
{
    long long n = 0;
    for (int i = 0; i < e->ndbs; i++)
        n += db_size(&e->dbs[i]);
    return n;
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/cairn-unit-aof-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? cm_strdup(d) : NULL;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            dstr p = path_join(path, de->d_name);
            rm_rf(p);
            dstr_free(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void quiet_log(void *priv, int level, const char *fmt, ...)
{
    (void)priv;
    (void)level;
    (void)fmt;
}

static dstr read_all(const char *path)
{
    dstr s = NULL;
    if (read_small_file(path, 1u << 26, &s) != 0) return dstr_new("", 0);
    return s;
}

static void write_bytes(const char *path, const char *p, size_t len)
{
    int fd = open_create_trunc(path);
    if (fd < 0) return;
    (void)write_all(fd, p, len, NULL);
    close(fd);
}

/* Load the data directory dir into a fresh engine with appendonly as
 * given.  Returns PERSIST_DONE or PERSIST_ERROR; *out gets the engine. */
static int load_dir(const char *dir, int appendonly, cairn_engine **out, char *err, size_t len)
{
    cairn_engine *e = new_engine();
    char cerr[128];
    config_set(e, "appendonly", appendonly ? "yes" : "no", 1, cerr, sizeof(cerr));
    config_set(e, "save", "", 1, cerr, sizeof(cerr));
    persist_host host = {.log = quiet_log, .can_fork = 0};
    persist *p = persist_new(e, &host);
    int rc = persist_open(p, dir, err, len) == 0 ? PERSIST_MORE : PERSIST_ERROR;
    while (rc == PERSIST_MORE)
        rc = persist_load_step(p, 1000000, err, len);
    persist_free(p);
    *out = e;
    return rc;
}

/* ---- CRC-32C ----------------------------------------------------------- */

/* Bit by bit, straight from the definition (reflected 0x82F63B78). */
static uint32_t crc32c_ref(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* The hardware path (when the CPU has one) and the table agree with the
 * definition at every length and alignment, and chain across calls. */
static void test_crc32c(void)
{
    CHECK_EQ_LL(crc32c(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += 7)
            CHECK_EQ_LL(crc32c(0, buf + off, len), crc32c_ref(buf + off, len));
    CHECK_EQ_LL(crc32c(crc32c(0, buf, 100), buf + 100, 200), crc32c_ref(buf, 300));
}

/* ---- manifest ----------------------------------------------------------- */

static void test_manifest_round_trip(void)
{
    const char *text = "file appendonly.aof.3.base.rdb seq 3 type b\n"
                       "file appendonly.aof.2.incr.aof seq 2 type h\n"
                       "file appendonly.aof.5.incr.aof seq 5 type i\n"
                       "file appendonly.aof.6.incr.aof seq 6 type i\n";
    aof_manifest m;
    char err[256];
    REQUIRE(manifest_parse(text, strlen(text), &m, err, sizeof(err)) == 0);
    CHECK_STR(m.base.name, "appendonly.aof.3.base.rdb");
    CHECK_EQ_LL(m.nincr, 2);
    CHECK_EQ_LL(m.nhist, 1);
    CHECK_EQ_LL(m.incr_seq, 6);
    CHECK_EQ_LL(m.base_seq, 3);
    dstr back = manifest_format(&m);
    CHECK_STR(back, text);
    dstr_free(back);
    manifest_free(&m);
}

static void test_manifest_rejects_bad_input(void)
{
    const char *bad[] = {
        "",                                           /* no files */
        "file ../etc/passwd seq 1 type b\n",          /* a path */
        "file a seq 1 type b\nfile b seq 2 type b\n", /* two bases */
        "file a seq 2 type i\nfile b seq 1 type i\n", /* out of order */
        "file a seq x type i\n",                      /* bad number */
        "file a seq 1 type z\n",                      /* bad type */
        "file a seq 1\n",                             /* missing type */
        "file a seq -1 type i\n",                     /* bad number */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aof_manifest m;
        char err[256];
        CHECK(manifest_parse(bad[i], strlen(bad[i]), &m, err, sizeof(err)) == -1);
    }
}

/* ---- snapshots ---------------------------------------------------------- */

/* An engine with strings of every encoding, TTLs, in several dbs. */
static cairn_engine *sample_engine(void)
{
    cairn_engine *e = new_engine();
    cairn_session s;
    session_init(e, &s);
    RUN(e, &s, "SET", "int", "12345");
    RUN(e, &s, "SET", "neg", "-9223372036854775808");
    RUN(e, &s, "SET", "emb", "short string");
    RUN(e, &s, "SET", "raw", "a string that is longer than forty-four bytes, so raw");
    RUN(e, &s, "SET", "empty", "");
    RUN(e, &s, "SET", "ttl", "v", "PX", "5000000");
    RUN(e, &s, "SELECT", "3");
    RUN(e, &s, "SET", "in3", "three");
    RUN(e, &s, "SELECT", "15");
    RUN(e, &s, "SET", "in15", "fifteen", "EX", "100");
    char big[100000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    RUN(e, &s, "SET", "big", big); /* spans frames */
    session_reset(&s);
    return e;
}

static dstr snapshot_of(cairn_engine *e, const char *path, long long nkeys)
{
    char err[256];
    int fd = open_create_trunc(path);
    snap_stats st;
    CHECK(snapshot_write(e, fd, 0, 0, &st, err, sizeof(err)) == 0);
    close(fd);
    CHECK_EQ_LL(st.keys, nkeys);
    return read_all(path);
}

static int load_snapshot(const char *path, cairn_engine **out, char *err, size_t len)
{
    cairn_engine *e = new_engine();
    snap_loader *l = snap_loader_new(open_read(path), e, 0);
    int rc;
    do {
        rc = snap_loader_step(l, 4096, err, len);
    } while (rc == SNAP_MORE);
    snap_loader_free(l);
    *out = e;
    return rc;
}

static void check_string(cairn_engine *e, int db, const char *key, const char *want, int enc)
{
    cslice k = {key, strlen(key)};
    cobj *o = db_find(&e->dbs[db], &k);
    REQUIRE(o);
    char buf[32];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    CHECK(len == strlen(want) && memcmp(p, want, len) == 0);
    CHECK_EQ_LL(o->encoding, enc);
}

static void test_snapshot_round_trip(void)
{
    char *dir = make_tmpdir();
    dstr path = path_join(dir, "snap");
    cairn_engine *a = sample_engine();
    dstr bytes = snapshot_of(a, path, 9);
    cairn_engine *b;
    char err[256];
    REQUIRE(load_snapshot(path, &b, err, sizeof(err)) == SNAP_DONE);
    CHECK_EQ_LL(keys_in(b), 9);
    check_string(b, 0, "int", "12345", ENC_INT);
    check_string(b, 0, "neg", "-9223372036854775808", ENC_INT);
    check_string(b, 0, "emb", "short string", ENC_EMBSTR);
    check_string(b, 0, "raw", "a string that is longer than forty-four bytes, so raw", ENC_RAW);
    check_string(b, 0, "empty", "", ENC_EMBSTR);
    check_string(b, 3, "in3", "three", ENC_EMBSTR);
    cslice ttl = {"ttl", 3}, in15 = {"in15", 4};
    CHECK_EQ_LL(db_get_expire(&b->dbs[0], &ttl), 1000000LL + 5000000);
    CHECK_EQ_LL(db_get_expire(&b->dbs[15], &in15), 1000000LL + 100000);
    cslice bigk = {"big", 3};
    cobj *big = db_find(&b->dbs[15], &bigk);
    CHECK(big && obj_strlen(big) == 99999);

    /* verify agrees */
    uint64_t bad;
    snap_stats st;
    int fd = open_read(path);
    CHECK(snapshot_verify(fd, &bad, &st, err, sizeof(err)) == 0);
    close(fd);
    CHECK_EQ_LL(st.keys, 9);
    CHECK_EQ_LL(bad, dstr_len(bytes));

    engine_free(a);
    engine_free(b);
    dstr_free(bytes);
    dstr_free(path);
    rm_rf(dir);
    cm_free(dir);
}

/* Every proper prefix of a snapshot is refused; so is every single
 * flipped byte (header, frame header, payload: the checksums). */
static void test_snapshot_damage_is_refused(void)
{
    char *dir = make_tmpdir();
    dstr path = path_join(dir, "snap"), cut = path_join(dir, "cut");
    cairn_engine *a = new_engine();
    cairn_session s;
    session_init(a, &s);
    RUN(a, &s, "SET", "k1", "v1");
    RUN(a, &s, "SET", "k2", "12", "EX", "10");
    RUN(a, &s, "SELECT", "2");
    RUN(a, &s, "SET", "k3", "a longer value, more than forty-four bytes long......");
    session_reset(&s);
    dstr bytes = snapshot_of(a, path, 3);
    size_t n = dstr_len(bytes);
    for (size_t len = 0; len < n; len++) {
        write_bytes(cut, bytes, len);
        cairn_engine *b;
        char err[256];
        REQUIRE(load_snapshot(cut, &b, err, sizeof(err)) == SNAP_ERROR);
        engine_free(b);
    }
    for (size_t i = 0; i < n; i++) {
        bytes[i] ^= 0x04;
        write_bytes(cut, bytes, n);
        bytes[i] ^= 0x04;
        cairn_engine *b;
        char err[256];
        REQUIRE(load_snapshot(cut, &b, err, sizeof(err)) == SNAP_ERROR);
        engine_free(b);
    }
    /* Trailing bytes after a whole snapshot are refused too. */
    dstr longer = dstr_cat(dstr_dup(bytes), "x", 1);
    write_bytes(cut, longer, dstr_len(longer));
    cairn_engine *b;
    char err[256];
    CHECK(load_snapshot(cut, &b, err, sizeof(err)) == SNAP_ERROR);
    engine_free(b);
    dstr_free(longer);
    engine_free(a);
    dstr_free(bytes);
    dstr_free(path);
    dstr_free(cut);
    rm_rf(dir);
    cm_free(dir);
}

/* ---- crafted snapshots: sound checksums, unsound contents ---------------- */

static void put32(dstr *s, uint32_t v)
{
    char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (char)(v >> (8 * i));
    *s = dstr_cat(*s, b, 4);
}

static void put_str(dstr *s, const void *p, size_t len)
{
    char n = (char)len; /* len < 128: a one-byte varint */
    *s = dstr_cat(*s, &n, 1);
    *s = dstr_cat(*s, p, len);
}

/* A well-framed snapshot whose stream is `stream`. */
static dstr frame_snapshot(const char *stream, size_t len)
{
    dstr s = dstr_new(SNAP_MAGIC, 8);
    put32(&s, SNAP_VERSION);
    put32(&s, crc32c(0, s, 12));
    put32(&s, (uint32_t)len);
    put32(&s, crc32c(0, stream, len));
    return dstr_cat(s, stream, len);
}

/* A stream: db 0, then one key record of (type, enc) with value bytes,
 * then EOF with nkeys. */
static dstr one_key_stream(int type, int enc, const char *key, const void *val, size_t vlen,
                           int eof_keys)
{
    dstr s = dstr_new("\xFE\x00\x01\x00", 4);
    char h[4] = {(char)0xFD, 0, (char)type, (char)enc};
    s = dstr_cat(s, h, 4);
    put_str(&s, key, strlen(key));
    s = dstr_cat(s, val, vlen);
    char eof[2] = {(char)0xFF, (char)eof_keys};
    return dstr_cat(s, eof, 2);
}

/* A listpack built with the real encoder, as a str value. */
static dstr lp_value_of(const char **items, int n)
{
    unsigned char *lp = lp_new(0);
    for (int i = 0; i < n; i++)
        lp = lp_append(lp, items[i], strlen(items[i]));
    dstr v = dstr_new("", 0);
    put_str(&v, lp, lp_bytes(lp));
    lp_free(lp);
    return v;
}

static int crafted_loads(dstr stream, const char *dir, char *err, size_t errlen)
{
    dstr file = frame_snapshot(stream, dstr_len(stream));
    dstr path = path_join(dir, "crafted");
    write_bytes(path, file, dstr_len(file));
    cairn_engine *e;
    int rc = load_snapshot(path, &e, err, errlen);
    engine_free(e);
    dstr_free(file);
    dstr_free(path);
    dstr_free(stream);
    return rc == SNAP_DONE;
}

static void test_crafted_snapshots(void)
{
    char *dir = make_tmpdir();
    char err[256];
    /* The control: a sound hash listpack loads. */
    dstr v = lp_value_of((const char *[]){"f", "v", "g", "w"}, 4);
    CHECK(crafted_loads(one_key_stream(OBJ_HASH, ENC_LISTPACK, "h", v, dstr_len(v), 1), dir, err,
                        sizeof(err)));
    /* The same key count mismatching EOF. */
    CHECK(!crafted_loads(one_key_stream(OBJ_HASH, ENC_LISTPACK, "h", v, dstr_len(v), 2), dir, err,
                         sizeof(err)));
    CHECK(strstr(err, "key count") != NULL);
    dstr_free(v);
    /* An odd number of entries in a hash. */
    v = lp_value_of((const char *[]){"f", "v", "g"}, 3);
    CHECK(!crafted_loads(one_key_stream(OBJ_HASH, ENC_LISTPACK, "h", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    /* A repeated field. */
    v = lp_value_of((const char *[]){"f", "v", "f", "w"}, 4);
    CHECK(!crafted_loads(one_key_stream(OBJ_HASH, ENC_LISTPACK, "h", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    /* A repeated set member, a repeated integer member. */
    v = lp_value_of((const char *[]){"a", "b", "a"}, 3);
    CHECK(!crafted_loads(one_key_stream(OBJ_SET, ENC_LISTPACK, "s", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    v = lp_value_of((const char *[]){"12", "b", "12"}, 3);
    CHECK(!crafted_loads(one_key_stream(OBJ_SET, ENC_LISTPACK, "s", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    /* Sorted set listpacks: out of order, a bad score, then a sound one. */
    v = lp_value_of((const char *[]){"a", "2", "b", "1"}, 4);
    CHECK(!crafted_loads(one_key_stream(OBJ_ZSET, ENC_LISTPACK, "z", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    v = lp_value_of((const char *[]){"a", "nan", "b", "1"}, 4);
    CHECK(!crafted_loads(one_key_stream(OBJ_ZSET, ENC_LISTPACK, "z", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    dstr_free(v);
    v = lp_value_of((const char *[]){"a", "1", "b", "1", "c", "2.5"}, 6);
    CHECK(crafted_loads(one_key_stream(OBJ_ZSET, ENC_LISTPACK, "z", v, dstr_len(v), 1), dir, err,
                        sizeof(err)));
    dstr_free(v);
    /* A listpack blob that lies about its size. */
    v = lp_value_of((const char *[]){"x", "y"}, 2);
    v[1] ^= 1;
    CHECK(!crafted_loads(one_key_stream(OBJ_LIST, ENC_LISTPACK, "l", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    CHECK(strstr(err, "malformed listpack") != NULL);
    dstr_free(v);
    /* An intset out of order. */
    char is[8 + 4] = {2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0};
    dstr iv = dstr_new("", 0);
    put_str(&iv, is, sizeof(is));
    CHECK(!crafted_loads(one_key_stream(OBJ_SET, ENC_INTSET, "i", iv, dstr_len(iv), 1), dir, err,
                         sizeof(err)));
    dstr_free(iv);
    /* An unknown type, an unknown encoding. */
    CHECK(!crafted_loads(one_key_stream(9, 0, "k", "\x01v", 2, 1), dir, err, sizeof(err)));
    CHECK(!crafted_loads(one_key_stream(OBJ_STRING, ENC_QUICKLIST, "k", "\x01v", 2, 1), dir, err,
                         sizeof(err)));
    /* A key before any db record, a duplicate key. */
    dstr s = dstr_new("\xFD\x00\x00\x00\x01k\x01v\xFF\x01", 10);
    CHECK(!crafted_loads(s, dir, err, sizeof(err)));
    s = dstr_new("\xFE\x00\x02\x00\xFD\x00\x00\x00\x01k\x01v\xFD\x00\x00\x00\x01k\x01w\xFF\x02",
                 22);
    CHECK(!crafted_loads(s, dir, err, sizeof(err)));
    CHECK(strstr(err, "duplicate key") != NULL);
    rm_rf(dir);
    cm_free(dir);
}

/* A hashtable set as the snapshot stores it: the member count, then each
 * member (an htab of member dstrs once loaded). */
static dstr members_value(const char **items, int n)
{
    char count = (char)n; /* n < 128: a one-byte varint */
    dstr v = dstr_new(&count, 1);
    for (int i = 0; i < n; i++)
        put_str(&v, items[i], strlen(items[i]));
    return v;
}

static void test_crafted_hashtable_sets(void)
{
    char *dir = make_tmpdir();
    char err[256];
    /* A sound one loads as a hashtable with its members. */
    dstr v = members_value((const char *[]){"a", "", "12"}, 3);
    dstr stream = one_key_stream(OBJ_SET, ENC_HASHTABLE, "s", v, dstr_len(v), 1);
    dstr file = frame_snapshot(stream, dstr_len(stream));
    dstr path = path_join(dir, "crafted");
    write_bytes(path, file, dstr_len(file));
    cairn_engine *e;
    REQUIRE(load_snapshot(path, &e, err, sizeof(err)) == SNAP_DONE);
    cobj *set = db_find(&e->dbs[0], &(cslice){"s", 1});
    REQUIRE(set && set->type == OBJ_SET && set->encoding == ENC_HASHTABLE);
    CHECK_EQ_LL(set_size(set), 3);
    CHECK(set_is_member(set, "a", 1) && set_is_member(set, "", 0) && set_is_member(set, "12", 2));
    CHECK(!set_is_member(set, "b", 1));
    engine_free(e);
    dstr_free(path);
    dstr_free(file);
    dstr_free(stream);
    dstr_free(v);
    /* A repeated member, an empty set. */
    v = members_value((const char *[]){"a", "b", "a"}, 3);
    CHECK(!crafted_loads(one_key_stream(OBJ_SET, ENC_HASHTABLE, "s", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    CHECK(strstr(err, "repeated set member") != NULL);
    dstr_free(v);
    v = members_value(NULL, 0);
    CHECK(!crafted_loads(one_key_stream(OBJ_SET, ENC_HASHTABLE, "s", v, dstr_len(v), 1), dir, err,
                         sizeof(err)));
    CHECK(strstr(err, "empty set") != NULL);
    dstr_free(v);
    rm_rf(dir);
    cm_free(dir);
}

/* ---- recovery ------------------------------------------------------------ */

/* Write a log: a server-like run with the embedded (no fork) host. */
static void write_log(const char *dir, int nkeys)
{
    cairn_engine *e = new_engine();
    char cerr[128], err[256];
    config_set(e, "appendonly", "yes", 1, cerr, sizeof(cerr));
    config_set(e, "appendfsync", "always", 1, cerr, sizeof(cerr));
    config_set(e, "save", "", 1, cerr, sizeof(cerr));
    persist_host host = {.log = quiet_log, .can_fork = 0};
    persist *p = persist_new(e, &host);
    REQUIRE(persist_open(p, dir, err, sizeof(err)) == 0);
    while (persist_load_step(p, 1000000, err, sizeof(err)) == PERSIST_MORE) {
    }
    cairn_session s;
    session_init(e, &s);
    for (int i = 0; i < nkeys; i++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "value-%d", i);
        RUN(e, &s, "SET", key, val);
        CHECK(persist_commit(p) == 0);
    }
    session_reset(&s);
    persist_free(p);
    engine_free(e);
}

static void test_log_round_trip(void)
{
    char *dir = make_tmpdir();
    write_log(dir, 50);
    cairn_engine *e;
    char err[512];
    CHECK(load_dir(dir, 1, &e, err, sizeof(err)) == PERSIST_DONE);
    CHECK_EQ_LL(keys_in(e), 50);
    check_string(e, 0, "key:49", "value-49", ENC_EMBSTR);
    engine_free(e);
    rm_rf(dir);
    cm_free(dir);
}

/* Cut the incremental file at every offset: each cut loads exactly the
 * whole entries before it (the torn one is cut off, as aof-load-truncated
 * allows), or, with aof-load-truncated no, a cut inside an entry is
 * refused. */
static void test_log_cut_at_every_offset(void)
{
    char *dir = make_tmpdir();
    write_log(dir, 12);
    dstr adir = path_join(dir, "appendonlydir");
    dstr incr = path_join(adir, "appendonly.aof.1.incr.aof");
    dstr bytes = read_all(incr);
    size_t n = dstr_len(bytes);
    REQUIRE(n > 100);
    /* Entry boundaries. */
    size_t ends[64];
    int nends = 0;
    for (size_t off = 0; off < n;) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(bytes + off, n - off, &v, &why) == ENTRY_OK);
        off += v.size;
        ends[nends++] = off;
        entry_view_free(&v);
    }
    for (size_t len = 0; len <= n; len++) {
        write_bytes(incr, bytes, len);
        int whole = 0;
        while (whole < nends && ends[whole] <= len)
            whole++;
        cairn_engine *e;
        char err[512];
        int rc = load_dir(dir, 1, &e, err, sizeof(err));
        REQUIRE(rc == PERSIST_DONE);
        CHECK_EQ_LL(keys_in(e), whole);
        engine_free(e);
        /* The torn entry was cut off the file. */
        struct stat st;
        CHECK(stat(incr, &st) == 0 && (size_t)st.st_size == (whole ? ends[whole - 1] : 0));
    }
    dstr_free(incr);
    dstr_free(adir);
    dstr_free(bytes);
    rm_rf(dir);
    cm_free(dir);
}

/* Flip each byte of the log in turn: the entry it hits fails its checksum
 * (or header check), so start-up is refused and the file left as it was. */
static void test_log_flipped_bytes_are_refused(void)
{
    char *dir = make_tmpdir();
    write_log(dir, 6);
    dstr adir = path_join(dir, "appendonlydir");
    dstr incr = path_join(adir, "appendonly.aof.1.incr.aof");
    dstr bytes = read_all(incr);
    size_t n = dstr_len(bytes);
    for (size_t i = 0; i < n; i++) {
        bytes[i] ^= 0x40;
        write_bytes(incr, bytes, n);
        cairn_engine *e;
        char err[512];
        int rc = load_dir(dir, 1, &e, err, sizeof(err));
        engine_free(e);
        /* A flip in the length field of the last entry can make it look
         * longer than the file: that reads as a torn tail.  Everything
         * else is refused. */
        if (rc == PERSIST_DONE) {
            write_bytes(incr, bytes, n);
        } else {
            CHECK(strstr(err, "appendonly.aof.1.incr.aof") != NULL);
            CHECK(strstr(err, "cairn-check") != NULL);
            dstr now = read_all(incr);
            CHECK(dstr_len(now) == n && memcmp(now, bytes, n) == 0);
            dstr_free(now);
        }
        bytes[i] ^= 0x40;
    }
    dstr_free(incr);
    dstr_free(adir);
    dstr_free(bytes);
    rm_rf(dir);
    cm_free(dir);
}

/* A transaction is logged as MULTI, its writes, EXEC: a log cut anywhere
 * inside it replays none of it, and the cut-off MULTI is removed from the
 * file so that later entries cannot land inside it. */
static void test_transaction_cut_at_every_offset(void)
{
    char *dir = make_tmpdir();
    cairn_engine *e = new_engine();
    char cerr[128], err[512];
    config_set(e, "appendonly", "yes", 1, cerr, sizeof(cerr));
    config_set(e, "save", "", 1, cerr, sizeof(cerr));
    persist_host host = {.log = quiet_log, .can_fork = 0};
    persist *p = persist_new(e, &host);
    REQUIRE(persist_open(p, dir, err, sizeof(err)) == 0);
    while (persist_load_step(p, 1000000, err, sizeof(err)) == PERSIST_MORE) {
    }
    cairn_session s;
    session_init(e, &s);
    RUN(e, &s, "SET", "a", "1");
    RUN(e, &s, "MULTI");
    RUN(e, &s, "SET", "b", "2");
    RUN(e, &s, "INCR", "a");
    RUN(e, &s, "EXEC");
    RUN(e, &s, "SET", "c", "3");
    CHECK(persist_commit(p) == 0);
    engine_session_gone(e, &s);
    session_reset(&s);
    persist_free(p);
    engine_free(e);

    dstr adir = path_join(dir, "appendonlydir");
    dstr incr = path_join(adir, "appendonly.aof.1.incr.aof");
    dstr bytes = read_all(incr);
    size_t n = dstr_len(bytes);
    /* The transaction spans entries 1 (MULTI) to 4 (EXEC). */
    size_t ends[8];
    int nends = 0;
    for (size_t off = 0; off < n && nends < 8;) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(bytes + off, n - off, &v, &why) == ENTRY_OK);
        off += v.size;
        ends[nends++] = off;
        entry_view_free(&v);
    }
    REQUIRE(nends == 6);
    for (size_t len = 0; len <= n; len++) {
        write_bytes(incr, bytes, len);
        cairn_engine *l;
        REQUIRE(load_dir(dir, 1, &l, err, sizeof(err)) == PERSIST_DONE);
        cslice a = {"a", 1}, b = {"b", 1}, c = {"c", 1};
        cobj *da = db_find(&l->dbs[0], &a);
        int has_b = db_find(&l->dbs[0], &b) != NULL;
        int has_c = db_find(&l->dbs[0], &c) != NULL;
        /* All of the transaction or none of it. */
        if (has_b) {
            REQUIRE(da && da->encoding == ENC_INT);
            CHECK_EQ_LL(da->v.ll, 2);
        } else if (da) {
            CHECK_EQ_LL(da->v.ll, 1);
            CHECK(!has_c);
        }
        engine_free(l);
        /* Whatever was kept of a cut inside the transaction now ends
         * before it: appending and loading again sees the new entry. */
        if (len <= ends[0] || len >= ends[4]) continue;
        struct stat st;
        CHECK(stat(incr, &st) == 0 && (size_t)st.st_size == ends[0]);
        cairn_engine *w = new_engine();
        config_set(w, "appendonly", "yes", 1, cerr, sizeof(cerr));
        config_set(w, "save", "", 1, cerr, sizeof(cerr));
        persist *q = persist_new(w, &host);
        REQUIRE(persist_open(q, dir, err, sizeof(err)) == 0);
        while (persist_load_step(q, 1000000, err, sizeof(err)) == PERSIST_MORE) {
        }
        session_init(w, &s);
        RUN(w, &s, "SET", "later", "x");
        CHECK(persist_commit(q) == 0);
        session_reset(&s);
        persist_free(q);
        engine_free(w);
        REQUIRE(load_dir(dir, 1, &l, err, sizeof(err)) == PERSIST_DONE);
        cslice later = {"later", 5};
        CHECK(db_find(&l->dbs[0], &later) != NULL);
        CHECK(l->dbs[0].id == 0);
        engine_free(l);
    }
    dstr_free(incr);
    dstr_free(adir);
    dstr_free(bytes);
    rm_rf(dir);
    cm_free(dir);
}

/* The writer's offsets: what a reply may wait for under each policy, and
 * the everysec thread catching up within about a second. */
static void test_writer_offsets(void)
{
    char *dir = make_tmpdir();
    dstr path = path_join(dir, "log");
    cslice argv[3] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    cairn_entry e = {0, 1000, 7, 3, argv};
    int policies[] = {AOF_FSYNC_NO, AOF_FSYNC_ALWAYS, AOF_FSYNC_EVERYSEC};
    for (int i = 0; i < 3; i++) {
        aof_writer w;
        REQUIRE(aof_writer_init(&w, policies[i]) == 0);
        int fd = open_append(path);
        REQUIRE(fd >= 0);
        aof_writer_switch(&w, fd, fd_size(fd));
        aof_writer_append(&w, &e);
        aof_writer_append(&w, &e);
        CHECK(w.appended > 0 && w.written == 0);
        CHECK(aof_writer_durable(&w) < w.appended);
        CHECK(aof_writer_commit(&w) == 0);
        CHECK_EQ_LL(w.written, w.appended);
        CHECK_EQ_LL(aof_writer_durable(&w), w.appended); /* a reply may go */
        if (policies[i] == AOF_FSYNC_ALWAYS) CHECK_EQ_LL(w.synced, w.written);
        if (policies[i] == AOF_FSYNC_EVERYSEC) {
            int synced = 0;
            for (int t = 0; t < 300 && !synced; t++) {
                usleep(10000);
                pthread_mutex_lock(&w.mu);
                synced = w.bg_synced == w.written;
                pthread_mutex_unlock(&w.mu);
            }
            CHECK(synced);
        }
        aof_writer_destroy(&w);
    }
    /* All six entries are in the file, whole. */
    dstr bytes = read_all(path);
    size_t off = 0;
    int n = 0;
    while (off < dstr_len(bytes)) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(bytes + off, dstr_len(bytes) - off, &v, &why) == ENTRY_OK);
        off += v.size;
        n++;
        entry_view_free(&v);
    }
    CHECK_EQ_LL(n, 6);
    dstr_free(bytes);
    dstr_free(path);
    rm_rf(dir);
    cm_free(dir);
}

static void test_lock_is_exclusive(void)
{
    char *dir = make_tmpdir();
    cairn_engine *a = new_engine(), *b = new_engine();
    char cerr[128], err[512];
    config_set(a, "appendonly", "yes", 1, cerr, sizeof(cerr));
    config_set(b, "appendonly", "yes", 1, cerr, sizeof(cerr));
    persist_host host = {.log = quiet_log, .can_fork = 0};
    persist *pa = persist_new(a, &host), *pb = persist_new(b, &host);
    CHECK(persist_open(pa, dir, err, sizeof(err)) == 0);
    CHECK(persist_open(pb, dir, err, sizeof(err)) == PERSIST_EBUSY);
    CHECK(strstr(err, "in use by another process") != NULL);
    persist_free(pb);
    persist_free(pa);
    engine_free(a);
    engine_free(b);
    rm_rf(dir);
    cm_free(dir);
}

int main(void)
{
    TEST(test_crc32c);
    TEST(test_manifest_round_trip);
    TEST(test_manifest_rejects_bad_input);
    TEST(test_snapshot_round_trip);
    TEST(test_snapshot_damage_is_refused);
    TEST(test_crafted_snapshots);
    TEST(test_crafted_hashtable_sets);
    TEST(test_log_round_trip);
    TEST(test_log_cut_at_every_offset);
    TEST(test_log_flipped_bytes_are_refused);
    TEST(test_transaction_cut_at_every_offset);
    TEST(test_writer_offsets);
    TEST(test_lock_is_exclusive);
    return TEST_REPORT();
}
