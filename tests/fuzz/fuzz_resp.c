/* fuzz_resp.c -- the request parser (src/net/resp.c).
 *
 * The input's first byte seeds how the rest is cut into reads, and its
 * high bit makes the client one that has yet to authenticate (smaller
 * limits); the rest is what a client sends.  It is parsed twice: all at once, and read by read
 * with the buffer compacted between reads as the connection does.  Both
 * must see the same commands and stop at the same error, every argument
 * must lie inside the bytes received, and the parser's state must stay
 * consistent (consumed <= pos <= length). */
#include <string.h>

#include "ds/alloc.h"
#include "ds/dstr.h"
#include "fuzz.h"
#include "net/resp.h"

/* What a parse saw: each command as its arguments' lengths and bytes, and
 * the error it ended with. */
typedef struct transcript {
    dstr text;
    int failed;
    char err[64]; /* a copy: the parser's message may live in the parser */
} transcript;

static void record_error(transcript *t, const resp_parser *p)
{
    t->failed = 1;
    snprintf(t->err, sizeof(t->err), "%s", p->err);
}

static void record_command(transcript *t, const resp_parser *p, const char *buf, size_t len)
{
    FUZZ_CHECK(p->argc > 0);
    FUZZ_CHECK(p->consumed <= p->pos && p->pos <= len);
    char num[32];
    int n = snprintf(num, sizeof(num), "*%d", p->argc);
    t->text = dstr_cat(t->text, num, (size_t)n);
    for (int i = 0; i < p->argc; i++) {
        FUZZ_CHECK(p->off[i] <= p->pos && p->len[i] <= p->pos - p->off[i]);
        n = snprintf(num, sizeof(num), "$%zu:", p->len[i]);
        t->text = dstr_cat(t->text, num, (size_t)n);
        t->text = dstr_cat(t->text, buf + p->off[i], p->len[i]);
    }
}

static int always(void *priv)
{
    (void)priv;
    return 1;
}

/* A parser for a client that has authenticated, or (unauthed) one that
 * has yet to: smaller commands only. */
static void parser_init(resp_parser *p, int unauthed)
{
    resp_parser_init(p, 512 * 1024 * 1024);
    if (unauthed) {
        p->unauthed = always;
        resp_parser_set_limits(p, p->max_bulk, 1);
    }
}

/* The whole input in one buffer. */
static void parse_at_once(const uint8_t *data, size_t size, int unauthed, transcript *t)
{
    dstr buf = dstr_new((const char *)data, size);
    resp_parser p;
    parser_init(&p, unauthed);
    int r;
    while ((r = resp_parse(&p, buf, size)) == RESP_COMMAND) {
        record_command(t, &p, buf, size);
        p.argc = 0;
    }
    if (r == RESP_ERROR) record_error(t, &p);
    FUZZ_CHECK(p.consumed <= p.pos && p.pos <= size);
    resp_parser_free(&p);
    dstr_free(buf);
}

/* The same bytes in reads of 1 to 64 bytes, the parser resuming after
 * each, and the parsed commands dropped from the front of the buffer. */
static void parse_in_reads(const uint8_t *data, size_t size, uint32_t seed, transcript *t)
{
    dstr buf = dstr_with_cap(64);
    resp_parser p;
    parser_init(&p, seed & 0x80);
    size_t fed = 0;
    while (fed < size && !t->failed) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if (n > size - fed) n = size - fed;
        buf = dstr_cat(buf, (const char *)data + fed, n);
        fed += n;
        size_t len = dstr_len(buf);
        int r;
        while ((r = resp_parse(&p, buf, len)) == RESP_COMMAND) {
            record_command(t, &p, buf, len);
            p.argc = 0;
        }
        if (r == RESP_ERROR) {
            record_error(t, &p);
            break;
        }
        FUZZ_CHECK(p.consumed <= p.pos && p.pos <= len);
        /* What the parser says it still needs is what the bulk lacks. */
        size_t need = resp_parser_bulk_need(&p, len);
        FUZZ_CHECK(need == 0 || (p.bulk >= 0 && need <= (size_t)p.bulk + 2));
        if (p.consumed > 0) {
            memmove(buf, buf + p.consumed, len - p.consumed);
            dstr_set_len(buf, len - p.consumed);
            resp_parser_shift(&p, p.consumed);
        }
    }
    resp_parser_free(&p);
    dstr_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Past RESP_INLINE_MAX bytes an unfinished line is an error in reads
     * but not when its newline is already there: keep below it. */
    if (size < 1 || size > RESP_INLINE_MAX) return 0;
    uint32_t seed = data[0];
    data++;
    size--;
    transcript whole = {.text = dstr_with_cap(0)}, reads = {.text = dstr_with_cap(0)};
    parse_at_once(data, size, seed & 0x80, &whole);
    parse_in_reads(data, size, seed, &reads);
    FUZZ_CHECK(dstr_len(whole.text) == dstr_len(reads.text));
    FUZZ_CHECK(memcmp(whole.text, reads.text, dstr_len(whole.text)) == 0);
    FUZZ_CHECK(whole.failed == reads.failed);
    FUZZ_CHECK(strcmp(whole.err, reads.err) == 0);
    dstr_free(whole.text);
    dstr_free(reads.text);
    return 0;
}
