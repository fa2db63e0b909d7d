/* fuzz_rdb.c -- Redis's RDB format (src/log/rdb.c, rdb_file.c): the DUMP
 * payloads RESTORE takes from clients, and whole dump.rdb files.
 *
 * The first byte chooses:
 *   'P'  the rest is a payload's body (type and value): the target adds
 *        the version and the CRC64 Redis puts after it, so the fuzzer
 *        gets past the checksum, and runs RESTORE with it;
 *   'Q'  the rest is a whole payload, as is, for RESTORE;
 *   'F'  the rest is an RDB file, as is, for the loader;
 *   'G'  the same with its last 8 bytes replaced by the right CRC64.
 * A payload RESTORE accepts must DUMP to a payload that restores to an
 * equal value (DEBUG DIGEST-VALUE) and pass rdb_payload_ok(); a file that
 * loads must hold a dataset that survives a snapshot round trip. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_engine.h"
#include "log/rdb.h"
#include "log/rdb_file.h"

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static dstr add_footer(const uint8_t *body, size_t len)
{
    dstr p = dstr_new(body, len);
    unsigned char ver[2] = {RDB_VERSION, 0};
    p = dstr_cat(p, ver, 2);
    unsigned char crc[8];
    put_le64(crc, rdb_crc64(0, p, dstr_len(p)));
    return dstr_cat(p, crc, 8);
}

/* Run a command; returns its reply (RESP2), which the caller frees. */
static char *run(cairn_engine *e, cairn_session *s, int argc, const cslice *argv, size_t *len)
{
    rbuf out;
    rbuf_init(&out, 2);
    engine_execute(e, s, argc, argv, 1000000000, &out);
    char *reply = rbuf_flatten(&out, len);
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
    return reply;
}

static void fuzz_restore(const char *payload, size_t len)
{
    cairn_engine *e = new_engine();
    cairn_session s;
    session_init(e, &s);
    cslice restore[] = {{"RESTORE", 7}, {"k", 1}, {"0", 1}, {payload, len}};
    size_t rlen;
    char *reply = run(e, &s, 4, restore, &rlen);
    if (rlen == 5 && memcmp(reply, "+OK\r\n", 5) == 0) {
        FUZZ_CHECK(rdb_payload_ok(payload, len));
        cslice dump[] = {{"DUMP", 4}, {"k", 1}};
        char *dumped = run(e, &s, 2, dump, &rlen);
        /* "$<len>\r\n<payload>\r\n" */
        FUZZ_CHECK(dumped[0] == '$');
        char *body = strstr(dumped, "\r\n") + 2;
        size_t blen = rlen - (size_t)(body - dumped) - 2;
        FUZZ_CHECK(rdb_payload_ok(body, blen));
        cairn_engine *copy = new_engine();
        cairn_session cs;
        session_init(copy, &cs);
        cslice again[] = {{"RESTORE", 7}, {"k", 1}, {"0", 1}, {body, blen}};
        char *r2 = run(copy, &cs, 4, again, &rlen);
        FUZZ_CHECK(rlen == 5 && memcmp(r2, "+OK\r\n", 5) == 0);
        unsigned char d1[DIGEST_LEN], d2[DIGEST_LEN];
        digest_dataset(e, d1);
        digest_dataset(copy, d2);
        FUZZ_CHECK(memcmp(d1, d2, DIGEST_LEN) == 0);
        cm_free(r2);
        session_reset(&cs);
        engine_free(copy);
        cm_free(dumped);
        check_snapshot_round_trip(e, 2000000);
    }
    cm_free(reply);
    session_reset(&s);
    engine_free(e);
}

static void ignore_warning(void *priv, const char *msg)
{
    (void)priv;
    (void)msg;
}

static void fuzz_file(const uint8_t *data, size_t len, int fix_crc)
{
    int fd = memfd_create("rdb", 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, data, len) == (ssize_t)len);
    if (fix_crc && len >= 8) {
        unsigned char crc[8];
        put_le64(crc, rdb_crc64(0, data, len - 8));
        FUZZ_CHECK(pwrite(fd, crc, 8, (off_t)(len - 8)) == 8);
    }
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    cairn_engine *e = new_engine();
    char err[512];
    rdb_loader *l = rdb_loader_new(fd, e, 1000000, ignore_warning, NULL, err, sizeof(err));
    if (l) {
        int rc;
        while ((rc = rdb_loader_step(l, 3, err, sizeof(err))) == RDB_LOAD_MORE)
            ;
        rdb_loader_free(l);
        if (rc == RDB_LOAD_DONE) check_snapshot_round_trip(e, 2000000);
    }
    engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    switch (data[0]) {
    case 'P': {
        dstr p = add_footer(rest, n);
        fuzz_restore(p, dstr_len(p));
        dstr_free(p);
        break;
    }
    case 'Q': fuzz_restore((const char *)rest, n); break;
    case 'F': fuzz_file(rest, n, 0); break;
    case 'G': fuzz_file(rest, n, 1); break;
    }
    return 0;
}
