/* fuzz_engine.h -- engines for the fuzz targets: a fixed seed, scripts
 * that cannot run forever, a recorder of the command log, and the
 * invariants checked on a dataset (its log replays to it, and a snapshot
 * of it loads back to it). */
#ifndef CAIRN_FUZZ_ENGINE_H
#define CAIRN_FUZZ_ENGINE_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "engine/config.h"
#include "engine/digest.h"
#include "engine/engine.h"
#include "engine/evict.h"
#include "fuzz.h"
#include "log/entry.h"
#include "log/snapshot.h"

typedef struct recorder {
    dstr log;
    int n;
} recorder;

static inline void record(void *priv, const cairn_entry *e)
{
    recorder *r = priv;
    r->log = entry_encode(r->log, e);
    r->n++;
}

/* Scripts stop after TICK_INSTRUCTIONS (100k) Lua instructions: a loop
 * the fuzzer writes must not hang it. */
static inline int stop_scripts(void *priv)
{
    (void)priv;
    return 1;
}

static const cairn_host_ops host = {.script_tick = stop_scripts};

/* An engine with the fuzzers' seed and host, before engine_start(): its
 * configuration may still be loaded. */
static inline cairn_engine *new_engine_unstarted(void)
{
    uint8_t seed[32];
    memset(seed, 7, sizeof(seed));
    cairn_engine *e = engine_create(seed);
    engine_set_host(e, &host, NULL);
    return e;
}

static inline cairn_engine *new_engine(void)
{
    cairn_engine *e = new_engine_unstarted();
    char err[128];
    /* A string may grow to 1 MB, not 512 MB: memory, not time, would end
     * the run otherwise (SETRANGE k 536870911 x). */
    FUZZ_CHECK(config_set(e, "proto-max-bulk-len", "1048576", 1, err, sizeof(err)) == NULL);
    engine_start(e, 0);
    return e;
}

static inline void discard_reply(cairn_engine *e, rbuf *out)
{
    engine_mem_enter(e);
    rbuf_reset(out);
    engine_mem_leave(e);
}

/* The engine's dataset written as a snapshot and loaded into a fresh
 * engine: it must load, and hold the same data. */
static inline void check_snapshot_round_trip(cairn_engine *e, int64_t now_ms)
{
    int fd = memfd_create("snapshot", 0);
    FUZZ_CHECK(fd >= 0);
    snap_stats st;
    char err[512];
    FUZZ_CHECK(snapshot_write(e, fd, now_ms, 0, &st, err, sizeof(err)) == 0);
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    cairn_engine *copy = new_engine();
    snap_loader *l = snap_loader_new(fd, copy, now_ms);
    int rc;
    while ((rc = snap_loader_step(l, 1 << 20, err, sizeof(err))) == SNAP_MORE)
        ;
    if (rc != SNAP_DONE) fprintf(stderr, "snapshot did not load: %s\n", err);
    FUZZ_CHECK(rc == SNAP_DONE);
    snap_loader_free(l);
    unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
    digest_dataset(e, want);
    digest_dataset(copy, got);
    FUZZ_CHECK(memcmp(want, got, DIGEST_LEN) == 0);
    engine_free(copy);
}

#endif
