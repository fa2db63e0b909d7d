/* Unit tests of the RESP request parser, including every input split at
 * every byte boundary. */
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

int main(void)
{
    TEST(test_every_split);
    TEST(test_inline_hex_escape);
    TEST(test_protocol_errors);
    TEST(test_incomplete_is_again);
    return TEST_REPORT();
}
