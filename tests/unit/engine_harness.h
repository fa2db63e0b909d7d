/* engine_harness.h -- drive an engine in-process from a unit test: a fixed
 * seed, commands given as words at an injected time, replies as RESP text,
 * and a recorder of the command log that can be replayed through the
 * recovery path (engine_apply_entry).  Include after test.h. */
#ifndef CAIRN_ENGINE_HARNESS_H
#define CAIRN_ENGINE_HARNESS_H

#include <string.h>

#include "ds/alloc.h"
#include "engine/engine.h"
#include "engine/evict.h"
#include "log/entry.h"

typedef struct recorder {
    dstr log; /* every entry, encoded */
    int n;
} recorder;

static inline void record(void *priv, const cairn_entry *e)
{
    recorder *r = priv;
    r->log = entry_encode(r->log, e);
    r->n++;
}

/* An engine whose hash and PRNG seeds are all `fill` bytes. */
static inline cairn_engine *new_engine(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof(seed));
    cairn_engine *e = engine_create(seed);
    engine_start(e, 0);
    return e;
}

/* Run a command at now_ms; the reply in the session's protocol, as one
 * NUL-terminated buffer the caller frees. */
static inline char *run_argv_at(cairn_engine *e, cairn_session *s, int64_t now_ms, int argc,
                                const cslice *argv)
{
    rbuf out;
    rbuf_init(&out, s->resp);
    engine_execute(e, s, argc, argv, now_ms * 1000, &out);
    size_t len;
    char *flat = rbuf_flatten(&out, &len);
    /* The reply buffer's blocks were the engine's while it wrote them
     * (evict.h): a host frees them inside its brackets. */
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
    return flat;
}

/* The same for a NULL-terminated list of words, as many as there are. */
static inline char *run_words_at(cairn_engine *e, cairn_session *s, int64_t now_ms,
                                 const char **words)
{
    int argc = 0;
    while (words[argc])
        argc++;
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)(argc ? argc : 1));
    for (int i = 0; i < argc; i++)
        argv[i] = (cslice){words[i], strlen(words[i])};
    char *reply = run_argv_at(e, s, now_ms, argc, argv);
    cm_free(argv);
    return reply;
}

#define WORDS(...) ((const char *[]){__VA_ARGS__, NULL})

static inline void check_reply(char *got, const char *want)
{
    CHECK_STR(got, want);
    cm_free(got);
}

/* Replay an encoded log into e through the recovery path; every byte must
 * be whole entries, and every entry must apply (an entry that fails is a
 * failed check, with the reply printed). */
static inline void apply_log(cairn_engine *e, const char *log, size_t len)
{
    cairn_session s;
    session_init(e, &s);
    size_t off = 0;
    while (off < len) {
        entry_view v;
        const char *why;
        if (entry_decode(log + off, len - off, &v, &why) != ENTRY_OK) break;
        rbuf out;
        rbuf_init(&out, 2);
        if (engine_apply_entry(e, &s, &v.e, &out) != 0) {
            size_t rlen;
            char *reply = rbuf_flatten(&out, &rlen);
            fprintf(stderr, "entry at offset %zu (%.*s) did not apply: %s", off,
                    (int)v.e.argv[0].len, v.e.argv[0].ptr, reply);
            cm_free(reply);
            CHECK(!"every entry applies");
        }
        rbuf_free(&out);
        off += v.size;
        entry_view_free(&v);
    }
    CHECK_EQ_LL(off, len);
    engine_session_gone(e, &s);
    session_reset(&s);
}

#endif
