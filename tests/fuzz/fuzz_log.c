/* fuzz_log.c -- the log loader: the append-only file's reader
 * (aof_reader), the entry decoder (entry_decode) and the replay of entries
 * through the recovery path (engine_apply_entry), as persist.c's start-up
 * runs them; and the manifest parser (manifest_parse).
 *
 * The input's first byte chooses.  A manifest is parsed; one that parses
 * must print (manifest_format) to a text that parses to the same
 * manifest.  A log is built from records, each chosen by a byte: an entry
 * of a command drawn from the table (as the exec target draws them) with
 * a valid frame; a payload of raw bytes with a valid frame (the checksum
 * right, the content anything); or raw bytes (torn or corrupt frames).
 * The file is read and replayed until it ends or a bad entry stops it, as
 * start-up would stop; whatever loaded must survive a snapshot round
 * trip. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/multi.h"
#include "fuzz_engine.h"
#include "fuzz_words.h"
#include "log/aof.h"

#define MAX_RECORDS 48
#define MAX_ARGS    10

static void fuzz_manifest(const uint8_t *data, size_t size)
{
    aof_manifest m;
    manifest_init(&m);
    char err[256];
    if (manifest_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
        dstr text = manifest_format(&m);
        aof_manifest again;
        manifest_init(&again);
        FUZZ_CHECK(manifest_parse(text, dstr_len(text), &again, err, sizeof(err)) == 0);
        dstr text2 = manifest_format(&again);
        FUZZ_CHECK(dstr_len(text) == dstr_len(text2) && memcmp(text, text2, dstr_len(text)) == 0);
        dstr_free(text2);
        dstr_free(text);
        manifest_free(&again);
    }
    manifest_free(&m);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A framed entry whose payload is the next bytes of the input. */
static dstr raw_payload(dstr log, fuzz_in *in)
{
    size_t len;
    const uint8_t *p = fuzz_bytes(in, fuzz_u8(in), &len);
    unsigned char h[ENTRY_HEADER_LEN] = {ENTRY_MAGIC, ENTRY_VERSION};
    put_le32(h + 2, (uint32_t)len);
    put_le32(h + 6, crc32c(0, p, len));
    log = dstr_cat(log, h, sizeof(h));
    return dstr_cat(log, p, len);
}

static dstr build_log(fuzz_in *in)
{
    dstr log = dstr_with_cap(256);
    int64_t now_ms = 1000000;
    for (int n = 0; n < MAX_RECORDS && in->left > 0; n++) {
        uint8_t kind = fuzz_u8(in);
        if (kind < 0xd0) {
            cslice argv[MAX_ARGS];
            now_ms += kind & 7;
            cairn_entry e = {.db = kind < 0xc0 ? 0 : fuzz_u8(in) % 20,
                             .now_ms = now_ms,
                             .seed = fuzz_u8(in),
                             .argv = argv};
            e.argc = next_command(in, argv, MAX_ARGS);
            log = entry_encode(log, &e);
        } else if (kind < 0xf0) {
            log = raw_payload(log, in);
        } else {
            size_t len;
            const uint8_t *p = fuzz_bytes(in, kind & 15, &len);
            log = dstr_cat(log, p, len);
        }
    }
    return log;
}

/* Read and apply the log as start-up does, up to its end or the first
 * entry that is corrupt or does not apply. */
static void load_log(cairn_engine *e, const dstr log)
{
    int fd = memfd_create("log", 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, log, dstr_len(log)) == (ssize_t)dstr_len(log));
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    aof_reader r;
    aof_reader_init(&r, fd);
    cairn_session s;
    session_init(e, &s);
    s.flags |= SESS_LOADER;
    rbuf out;
    rbuf_init(&out, 2);
    e->loading = 1;
    for (;;) {
        entry_view v;
        const char *why = "";
        if (aof_reader_next(&r, &v, &why) != AOF_READ_OK) break;
        FUZZ_CHECK(v.size <= dstr_len(log));
        int bad = engine_apply_entry(e, &s, &v.e, &out);
        discard_reply(e, &out);
        entry_view_free(&v);
        if (bad) break;
    }
    e->loading = 0;
    /* A transaction the log left open is dropped, as cut_tail() does. */
    multi_discard(&s);
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
    engine_session_gone(e, &s);
    session_reset(&s);
    aof_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] == 'M') {
        fuzz_manifest(data + 1, size - 1);
        return 0;
    }
    fuzz_in in = {data + 1, size - 1};
    dstr log = build_log(&in);
    cairn_engine *e = new_engine();
    load_log(e, log);
    check_snapshot_round_trip(e, 2000000);
    engine_free(e);
    dstr_free(log);
    return 0;
}
