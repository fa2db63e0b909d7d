/* fuzz_exec.c -- command execution on an in-process engine.
 *
 * The input is a script of up to 64 commands, each a command (or
 * subcommand) drawn from the whole command table (cmd_families) followed
 * by arguments taken from a vocabulary of keys, numbers and keywords or
 * from the input's raw bytes, run at a clock the input moves forward,
 * with active expiry passes in between.  After the run the engine's
 * invariants are checked: every entry it logged must apply through the
 * recovery path (engine_apply_entry) into a fresh engine, and the replica
 * must hold the same dataset (DEBUG DIGEST's signature).  ASan and UBSan
 * watch every handler meanwhile; libFuzzer reports leaks. */
#include <string.h>

#include "fuzz_engine.h"
#include "fuzz_words.h"

#define MAX_COMMANDS 64
#define MAX_ARGS     12

static void run_script(cairn_engine *e, cairn_session *s, fuzz_in *in)
{
    rbuf out;
    rbuf_init(&out, 2);
    int64_t now_ms = 1000000;
    for (int n = 0; n < MAX_COMMANDS && in->left > 0; n++) {
        uint8_t op = fuzz_u8(in);
        now_ms += op & 0x0f;
        if ((op & 0x30) == 0x30) {
            int more;
            engine_active_expire(e, now_ms, 20, &more);
        }
        s->resp = op & 0x40 ? 3 : 2;
        out.resp = s->resp;
        cslice argv[MAX_ARGS];
        int argc = next_command(in, argv, MAX_ARGS);
        engine_execute(e, s, argc, argv, now_ms * 1000, &out);
        discard_reply(e, &out);
    }
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
}

/* Apply the log into a fresh engine; every entry must apply. */
static cairn_engine *replay(const recorder *rec)
{
    cairn_engine *e = new_engine();
    cairn_session s;
    session_init(e, &s);
    s.flags |= SESS_LOADER;
    rbuf out;
    rbuf_init(&out, 2);
    size_t off = 0, len = dstr_len(rec->log);
    while (off < len) {
        entry_view v;
        const char *why;
        FUZZ_CHECK(entry_decode(rec->log + off, len - off, &v, &why) == ENTRY_OK);
        if (engine_apply_entry(e, &s, &v.e, &out) != 0) {
            size_t rlen;
            char *reply = rbuf_flatten(&out, &rlen);
            fprintf(stderr, "logged entry %.*s did not apply: %.*s\n", (int)v.e.argv[0].len,
                    v.e.argv[0].ptr, (int)rlen, reply);
            FUZZ_CHECK(!"every logged entry applies");
        }
        discard_reply(e, &out);
        off += v.size;
        entry_view_free(&v);
    }
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
    engine_session_gone(e, &s);
    session_reset(&s);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    cairn_engine *e = new_engine();
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);
    run_script(e, &s, &in);
    engine_session_gone(e, &s);
    session_reset(&s);

    unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
    digest_dataset(e, want);
    cairn_engine *r = replay(&rec);
    digest_dataset(r, got);
    FUZZ_CHECK(memcmp(want, got, DIGEST_LEN) == 0);
    check_snapshot_round_trip(e, 2000000);

    engine_free(r);
    engine_free(e);
    dstr_free(rec.log);
    return 0;
}
