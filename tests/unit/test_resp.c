/* Unit tests of the RESP request parser, including every input split at
 * every byte boundary. */
#include <stdint.h>
#include <stdlib.h>

#include "ds/alloc.h"
#include "net/resp.h"
#include "test.h"

#define MAX_ARGS 64

typedef struct parsed {
    int ncmds;
    int argc[16];
    char args[16][MAX_ARGS][64];
    int error;
} parsed;

static void collect(resp_parser *p, char *buf, size_t len, parsed *out)
{
    int r;
    while ((r = resp_parse(p, buf, len)) == RESP_COMMAND) {
        int k = out->ncmds++;
        out->argc[k] = p->argc;
        for (int i = 0; i < p->argc && i < MAX_ARGS; i++)
            snprintf(out->args[k][i], sizeof(out->args[k][i]), "%.*s", (int)p->len[i],
                     buf + p->off[i]);
        p->argc = 0;
    }
    if (r == RESP_ERROR) out->error = 1;
}

/* Feed input in two pieces split at `split`, compacting the buffer in
 * between as the server does, and collect the commands. */
static void parse_split(const char *input, size_t len, size_t split, parsed *out)
{
    resp_parser p;
    resp_parser_init(&p, 512 * 1024 * 1024LL);
    memset(out, 0, sizeof(*out));
    dstr buf = dstr_new(input, split);
    collect(&p, buf, dstr_len(buf), out);
    if (!out->error) {
        size_t left = dstr_len(buf) - p.consumed;
        memmove(buf, buf + p.consumed, left);
        dstr_set_len(buf, left);
        resp_parser_shift(&p, p.consumed);
        buf = dstr_cat(buf, input + split, len - split);
        collect(&p, buf, dstr_len(buf), out);
    }
    dstr_free(buf);
    resp_parser_free(&p);
}

static void test_every_split(void)
{
    const char *input = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"
                        "PING\r\n"
                        "*0\r\n"
                        "set \"a b\" 'c d' \"\\x41\\n\"\n"
                        "\r\n"
                        "*1\r\n$4\r\nPING\r\n"
                        "*2\r\n$0\r\n\r\n$1\r\nx\r\n";
    size_t len = strlen(input);
    for (size_t split = 0; split <= len; split++) {
        parsed out;
        parse_split(input, len, split, &out);
        REQUIRE(!out.error);
        REQUIRE(out.ncmds == 5);
        CHECK_EQ_LL(out.argc[0], 3);
        CHECK_STR(out.args[0][2], "va\r\nl");
        CHECK_EQ_LL(out.argc[1], 1);
        CHECK_STR(out.args[1][0], "PING");
        REQUIRE(out.argc[2] == 4);
        CHECK_STR(out.args[2][1], "a b");
        CHECK_STR(out.args[2][3], "A\n");
        CHECK_STR(out.args[2][2], "c d");
        CHECK_STR(out.args[2][0], "set");
        CHECK_EQ_LL(out.argc[3], 1);
        CHECK_EQ_LL(out.argc[4], 2);
        CHECK_STR(out.args[4][0], "");
        CHECK_STR(out.args[4][1], "x");
    }
}

static void test_inline_hex_escape(void)
{
    parsed out;
    const char *in = "echo \"\\x41\\n\"\r\n";
    parse_split(in, strlen(in), strlen(in), &out);
    REQUIRE(out.ncmds == 1);
    CHECK_STR(out.args[0][1], "A\n");
}

static int parse_error(const char *input, const char **err)
{
    resp_parser p;
    resp_parser_init(&p, 1000);
    dstr buf = dstr_from_cstr(input);
    int r;
    while ((r = resp_parse(&p, buf, dstr_len(buf))) == RESP_COMMAND)
        p.argc = 0;
    static char msg[128];
    snprintf(msg, sizeof(msg), "%s", r == RESP_ERROR ? p.err : "");
    *err = msg;
    dstr_free(buf);
    resp_parser_free(&p);
    return r == RESP_ERROR;
}

static void test_protocol_errors(void)
{
    const char *err;
    CHECK(parse_error("*x\r\n", &err));
    CHECK_STR(err, "Protocol error: invalid multibulk length");
    CHECK(parse_error("*1\r\n+foo\r\n", &err));
    CHECK_STR(err, "Protocol error: expected '$', got '+'");
    CHECK(parse_error("*1\r\n$-5\r\n", &err));
    CHECK_STR(err, "Protocol error: invalid bulk length");
    CHECK(parse_error("*1\r\n$1001\r\n", &err)); /* above max_bulk */
    CHECK_STR(err, "Protocol error: invalid bulk length");
    CHECK(parse_error("set \"abc\n", &err));
    CHECK_STR(err, "Protocol error: unbalanced quotes in request");
    CHECK(parse_error("set \"a\"b\n", &err));
    CHECK_STR(err, "Protocol error: unbalanced quotes in request");

    /* A header line that never ends is refused once it passes 64 KB. */
    dstr big = dstr_from_cstr("*1\r\n$");
    big = dstr_grow_zero(big, RESP_INLINE_MAX + 100);
    memset(big + 5, '1', RESP_INLINE_MAX + 95);
    resp_parser p;
    resp_parser_init(&p, 1000);
    CHECK_EQ_LL(resp_parse(&p, big, dstr_len(big)), RESP_ERROR);
    CHECK_STR(p.err, "Protocol error: too big bulk count string");
    resp_parser_free(&p);
    dstr_free(big);
}

static void test_incomplete_is_again(void)
{
    resp_parser p;
    resp_parser_init(&p, 1000);
    char buf[] = "*2\r\n$3\r\nGET\r\n$10\r\nabc";
    CHECK_EQ_LL(resp_parse(&p, buf, strlen(buf)), RESP_AGAIN);
    /* The parser knows how much of the bulk is still missing. */
    CHECK_EQ_LL(resp_parser_bulk_need(&p, strlen(buf)), 9);
    resp_parser_free(&p);
}

/* What parsing a stream gave: every command (its arguments joined with
 * their lengths) and the error, if any. */
typedef struct transcript {
    dstr text;
    int error;
} transcript;

/* Parse input handed over `step` bytes at a time, compacting the buffer
 * between reads as the server does.  Fed whole, commands take the parser's
 * one-pass path; fed a byte at a time, the resumable one. */
static transcript parse_stepwise(const char *input, size_t len, size_t step)
{
    transcript t = {dstr_with_cap(0), 0};
    resp_parser p;
    resp_parser_init(&p, 1000);
    dstr buf = dstr_with_cap(0);
    for (size_t fed = 0; fed < len && !t.error;) {
        size_t n = len - fed < step ? len - fed : step;
        buf = dstr_cat(buf, input + fed, n);
        fed += n;
        int r;
        while ((r = resp_parse(&p, buf, dstr_len(buf))) == RESP_COMMAND) {
            t.text = dstr_catfmt(t.text, "%d:", p.argc);
            for (int i = 0; i < p.argc; i++) {
                t.text = dstr_catfmt(t.text, "%zu=", p.len[i]);
                t.text = dstr_cat(t.text, buf + p.off[i], p.len[i]);
            }
            t.text = dstr_cat(t.text, "\n", 1);
            p.argc = 0;
        }
        if (r == RESP_ERROR) {
            t.text = dstr_catfmt(t.text, "error: %s\n", p.err);
            t.error = 1;
            break;
        }
        size_t left = dstr_len(buf) - p.consumed;
        memmove(buf, buf + p.consumed, left);
        dstr_set_len(buf, left);
        resp_parser_shift(&p, p.consumed);
    }
    dstr_free(buf);
    resp_parser_free(&p);
    return t;
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The one-pass path must give what the resumable path gives -- the same
 * commands, the same errors -- on valid streams and on streams with a
 * byte changed, inserted or removed anywhere, headers with leading zeros,
 * signs, 18 and 19 digits, lengths above proto-max-bulk-len. */
static void test_fast_path_matches_resumable(void)
{
    static const char *const headers[] = {
        "$0\r\n",
        "$00\r\n",
        "$01\r\n",
        "$-1\r\n",
        "$+1\r\n",
        "$ 1\r\n",
        "$1000\r\n",
        "$1001\r\n",
        "$123456789012345678\r\n",
        "$1234567890123456789\r\n",
        "*0\r\n",
        "*-1\r\n",
        "*01\r\n",
        "*1\r\n$3\r\nGET\r\n",
        "$3\rxGET\r\n",
    };
    static const char noise[] = "0123456789-+$*\r\n x";
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 3000; round++) {
        dstr in = dstr_with_cap(0);
        int ncmds = 1 + (int)(next_rand(&x) % 4);
        for (int k = 0; k < ncmds; k++) {
            int argc = 1 + (int)(next_rand(&x) % 4);
            in = dstr_catfmt(in, "*%d\r\n", argc);
            for (int i = 0; i < argc; i++) {
                if (next_rand(&x) % 8 == 0) {
                    const char *h = headers[next_rand(&x) % (sizeof(headers) / sizeof(*headers))];
                    in = dstr_cat(in, h, strlen(h));
                    continue;
                }
                int alen = (int)(next_rand(&x) % 14);
                in = dstr_catfmt(in, "$%d\r\n", alen);
                for (int j = 0; j < alen; j++)
                    in = dstr_cat(in, &noise[next_rand(&x) % (sizeof(noise) - 1)], 1);
                in = dstr_cat(in, "\r\n", 2);
            }
        }
        /* Damage most streams in one place. */
        size_t len = dstr_len(in);
        size_t at = (size_t)(next_rand(&x) % len);
        char ch = noise[next_rand(&x) % (sizeof(noise) - 1)];
        switch (next_rand(&x) % 4) {
        case 0: in[at] = ch; break;
        case 1:
            memmove(in + at, in + at + 1, len - at - 1);
            dstr_set_len(in, len - 1);
            break;
        case 2:
            in = dstr_cat(in, " ", 1);
            memmove(in + at + 1, in + at, len - at);
            in[at] = ch;
            break;
        default: break;
        }
        transcript whole = parse_stepwise(in, dstr_len(in), dstr_len(in));
        transcript bytewise = parse_stepwise(in, dstr_len(in), 1);
        if (strcmp(whole.text, bytewise.text) != 0)
            fprintf(stderr, "input: %s\nwhole:\n%s\nbytewise:\n%s\n", in, whole.text,
                    bytewise.text);
        REQUIRE(strcmp(whole.text, bytewise.text) == 0);
        CHECK_EQ_LL(whole.error, bytewise.error);
        dstr_free(whole.text);
        dstr_free(bytewise.text);
        dstr_free(in);
    }
}

int main(void)
{
    TEST(test_fast_path_matches_resumable);
    TEST(test_every_split);
    TEST(test_inline_hex_escape);
    TEST(test_protocol_errors);
    TEST(test_incomplete_is_again);
    return TEST_REPORT();
}
