/* embed.c -- a tour of the embedding API: open a store, run a few
 * commands, print and check the replies, close.
 *
 * Build against an installed libcairn with
 *     cc embed.c $(pkg-config --cflags --libs cairn) -o embed
 * Exits 0 when every reply is what Redis would answer, 1 otherwise (CTest
 * runs it as the embed_example test). */
#include <stdio.h>
#include <string.h>

#include "cairn.h"

static int failures;

/* Print a reply the way redis-cli does (roughly). */
static void print_reply(const cairn_reply *r, int indent)
{
    switch (r->type) {
    case CAIRN_REPLY_STATUS: printf("%s\n", r->str); break;
    case CAIRN_REPLY_ERROR: printf("(error) %s\n", r->str); break;
    case CAIRN_REPLY_INTEGER: printf("(integer) %lld\n", r->integer); break;
    case CAIRN_REPLY_NIL: printf("(nil)\n"); break;
    case CAIRN_REPLY_STRING:
    case CAIRN_REPLY_VERB: printf("\"%.*s\"\n", (int)r->len, r->str); break;
    case CAIRN_REPLY_DOUBLE: printf("(double) %s\n", r->str); break;
    case CAIRN_REPLY_BOOL: printf("(%s)\n", r->integer ? "true" : "false"); break;
    case CAIRN_REPLY_BIGNUM: printf("(big number) %s\n", r->str); break;
    case CAIRN_REPLY_ARRAY:
    case CAIRN_REPLY_SET:
    case CAIRN_REPLY_PUSH:
    case CAIRN_REPLY_MAP:
        if (r->elements == 0) {
            printf("(empty)\n");
            break;
        }
        printf("\n");
        for (size_t i = 0; i < r->elements; i++) {
            printf("%*s%zu) ", indent + 2, "", i + 1);
            print_reply(r->element[i], indent + 2);
        }
        break;
    default: printf("(type %d)\n", r->type); break;
    }
}

/* Run a command given as NUL-terminated strings, print it and its reply,
 * and return the reply (NULL if the call itself failed). */
static cairn_reply *run(cairn *db, int argc, const char *const *argv)
{
    printf(">");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    cairn_reply *r;
    int rc = cairn_command(db, argc, argv, NULL, &r);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "cairn_command: %s (%s)\n", cairn_errstr(rc), cairn_errmsg(db));
        failures++;
        return NULL;
    }
    print_reply(r, 0);
    return r;
}

#define RUN(...)                                                                                   \
    run(db, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                   \
        (const char *const[]){__VA_ARGS__})

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "MISMATCH: %s\n", what);
        failures++;
    }
}

static void expect_status(cairn_reply *r, const char *s)
{
    expect(r && r->type == CAIRN_REPLY_STATUS && strcmp(r->str, s) == 0, s);
    cairn_reply_free(r);
}

static void expect_string(cairn_reply *r, const char *s)
{
    expect(r && r->type == CAIRN_REPLY_STRING && r->len == strlen(s) &&
               memcmp(r->str, s, r->len) == 0,
           s);
    cairn_reply_free(r);
}

static void expect_int(cairn_reply *r, long long v, const char *what)
{
    expect(r && r->type == CAIRN_REPLY_INTEGER && r->integer == v, what);
    cairn_reply_free(r);
}

int main(void)
{
    printf("libcairn %s\n", cairn_libversion());

    cairn_options opts;
    cairn_options_init(&opts);
    opts.databases = 4;

    cairn *db;
    int rc = cairn_open(&opts, &db);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "cairn_open: %s\n", cairn_errmsg(db));
        cairn_close(db);
        return 1;
    }

    expect_status(RUN("SET", "greeting", "hello"), "OK");
    expect_string(RUN("GET", "greeting"), "hello");

    cairn_reply *r = RUN("GET", "missing");
    expect(r && r->type == CAIRN_REPLY_NIL, "GET of a missing key is nil");
    cairn_reply_free(r);

    expect_int(RUN("INCR", "counter"), 1, "INCR from nothing is 1");
    expect_int(RUN("INCR", "counter"), 2, "INCR again is 2");
    expect_int(RUN("INCRBY", "counter", "40"), 42, "INCRBY 40 gives 42");

    expect_int(RUN("TTL", "counter"), -1, "TTL without expiry is -1");
    expect_int(RUN("EXPIRE", "counter", "100"), 1, "EXPIRE on an existing key is 1");
    r = RUN("TTL", "counter");
    expect(r && r->type == CAIRN_REPLY_INTEGER && r->integer > 95 && r->integer <= 100,
           "TTL after EXPIRE 100 is close to 100");
    cairn_reply_free(r);
    expect_int(RUN("TTL", "missing"), -2, "TTL of a missing key is -2");

    /* A command error is a normal reply, not a failed call. */
    r = RUN("INCR", "greeting");
    expect(r && r->type == CAIRN_REPLY_ERROR &&
               strcmp(r->str, "ERR value is not an integer or out of range") == 0,
           "INCR of a non-number is Redis's error");
    cairn_reply_free(r);

    /* Binary-safe arguments: pass lengths explicitly. */
    const char *argv[] = {"SET", "bin", "a\0b"};
    const size_t argvlen[] = {3, 3, 3};
    rc = cairn_command(db, 3, argv, argvlen, &r);
    expect(rc == CAIRN_OK && r && r->type == CAIRN_REPLY_STATUS, "SET with a NUL byte");
    cairn_reply_free(r);
    rc = cairn_commandl(db, &r, "STRLEN", "bin", (char *)NULL);
    expect(rc == CAIRN_OK && r && r->type == CAIRN_REPLY_INTEGER && r->integer == 3,
           "STRLEN counts the NUL byte");
    cairn_reply_free(r);

    cairn_close(db);

    if (failures) {
        fprintf(stderr, "%d mismatches\n", failures);
        return 1;
    }
    printf("all replies as expected\n");
    return 0;
}
