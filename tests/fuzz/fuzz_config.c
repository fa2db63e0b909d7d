/* fuzz_config.c -- the configuration-file parser (config_load_string:
 * line splitting, quoting, every parameter's parser and checks, `user`
 * and `rename-command` lines) and CONFIG REWRITE's text.
 *
 * A text that loads must rewrite (config_rewrite_text) to a text that
 * loads into a fresh engine and gives it the same configuration (CONFIG
 * GET * replies the same). */
#include <string.h>

#include "fuzz_engine.h"

static char *config_get_all(cairn_engine *e, size_t *len)
{
    cairn_session s;
    session_init(e, &s);
    cslice argv[] = {{"CONFIG", 6}, {"GET", 3}, {"*", 1}};
    rbuf out;
    rbuf_init(&out, 2);
    engine_execute(e, &s, 3, argv, 1000000000, &out);
    char *reply = rbuf_flatten(&out, len);
    engine_mem_enter(e);
    rbuf_free(&out);
    engine_mem_leave(e);
    session_reset(&s);
    return reply;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cairn_engine *e = new_engine_unstarted();
    dstr err = NULL;
    int loaded = config_load_string(e, (const char *)data, size, &err) == 0;
    engine_start(e, 0);
    if (loaded) {
        dstr text = config_rewrite_text(e, (const char *)data, size);
        cairn_engine *again = new_engine_unstarted();
        dstr err2 = NULL;
        if (config_load_string(again, text, dstr_len(text), &err2) != 0)
            fprintf(stderr, "the rewritten text does not load: %s\n", err2);
        FUZZ_CHECK(err2 == NULL);
        engine_start(again, 0);
        size_t len1, len2;
        char *want = config_get_all(e, &len1), *got = config_get_all(again, &len2);
        FUZZ_CHECK(len1 == len2 && memcmp(want, got, len1) == 0);
        cm_free(want);
        cm_free(got);
        engine_free(again);
        dstr_free(text);
    }
    dstr_free(err);
    engine_free(e);
    return 0;
}
