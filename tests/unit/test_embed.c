/* test_embed.c -- the embedding API (include/cairn.h): reply trees of every
 * type, result codes and messages, options, independence of handles
 * (DESIGN rule 1), session state, and concurrent use of one handle. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"
#include "lib/reply_tree.h"
#include "test.h"

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static cairn *open_default(void)
{
    cairn *db = NULL;
    int rc = cairn_open(NULL, &db);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "cairn_open: %s\n", cairn_errmsg(db));
        exit(2);
    }
    return db;
}

/* Run a command of C strings; NULL if the call failed. */
#define CMD(db, ...) cmd_run((db), (const char *[]){__VA_ARGS__, NULL})

static cairn_reply *cmd_run(cairn *db, const char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    cairn_reply *r = NULL;
    int rc = cairn_command(db, argc, argv, NULL, &r);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "cairn_command(%s): %s: %s\n", argv[0], cairn_errstr(rc), cairn_errmsg(db));
        return NULL;
    }
    return r;
}

static int is_status(const cairn_reply *r, const char *s)
{
    return r && r->type == CAIRN_REPLY_STATUS && strcmp(r->str, s) == 0;
}

static int is_string(const cairn_reply *r, const char *s)
{
    return r && r->type == CAIRN_REPLY_STRING && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

static int is_int(const cairn_reply *r, long long v)
{
    return r && r->type == CAIRN_REPLY_INTEGER && r->integer == v;
}

/* Run a command and check its reply with pred, freeing it. */
#define CHECK_REPLY(pred, db, ...)                                                                 \
    do {                                                                                           \
        cairn_reply *check_r_ = CMD(db, __VA_ARGS__);                                              \
        CHECK(pred);                                                                               \
        cairn_reply_free(check_r_);                                                                \
    } while (0)
#define R check_r_

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Decode a RESP byte string with the library's decoder. */
static cairn_reply *decode(const char *resp, int *rc_out)
{
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    size_t pos = 0;
    cairn_reply *r = NULL;
    int rc = rtree_decode(resp, strlen(resp), &pos, loc, &r);
    if (rc == CAIRN_OK && pos != strlen(resp)) rc = -1; /* did not consume it all */
    freelocale(loc);
    if (rc_out) *rc_out = rc;
    return r;
}

/* ---------------------------------------------------------------------- */
/* Replies from real commands                                              */
/* ---------------------------------------------------------------------- */

static void test_reply_status_string_nil(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "k", "v");
    CHECK_REPLY(is_string(R, "v"), db, "GET", "k");
    CHECK_REPLY(R && R->type == CAIRN_REPLY_NIL && R->str == NULL, db, "GET", "nokey");
    CHECK_REPLY(is_int(R, 1), db, "EXISTS", "k");
    CHECK_REPLY(is_int(R, -2), db, "TTL", "nokey");
    /* INCRBYFLOAT replies a bulk string, as in Redis, even under RESP3. */
    CHECK_REPLY(is_string(R, "3.5"), db, "INCRBYFLOAT", "f", "3.5");
    cairn_close(db);
}

static void test_reply_error(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "s", "abc");
    cairn_reply *r = CMD(db, "INCR", "s");
    CHECK(r && r->type == CAIRN_REPLY_ERROR);
    if (r) CHECK_STR(r->str, "ERR value is not an integer or out of range");
    cairn_reply_free(r);

    r = CMD(db, "NOSUCHCMD", "a", "b");
    CHECK(r && r->type == CAIRN_REPLY_ERROR);
    if (r) CHECK_STR(r->str, "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ");
    cairn_reply_free(r);

    r = CMD(db, "GET");
    CHECK(r && r->type == CAIRN_REPLY_ERROR);
    if (r) CHECK_STR(r->str, "ERR wrong number of arguments for 'get' command");
    cairn_reply_free(r);

    /* An error reply is a successful call: errmsg stays clean. */
    CHECK_STR(cairn_errmsg(db), "not an error");
    cairn_close(db);
}

static void test_reply_array(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "MSET", "a", "1", "c", "3");
    cairn_reply *r = CMD(db, "MGET", "a", "b", "c");
    CHECK(r && r->type == CAIRN_REPLY_ARRAY && r->elements == 3);
    if (r && r->elements == 3) {
        CHECK(is_string(r->element[0], "1"));
        CHECK(r->element[1]->type == CAIRN_REPLY_NIL);
        CHECK(is_string(r->element[2], "3"));
    }
    cairn_reply_free(r);

    r = CMD(db, "KEYS", "zz*");
    CHECK(r && r->type == CAIRN_REPLY_ARRAY && r->elements == 0 && r->element == NULL);
    cairn_reply_free(r);
    cairn_close(db);
}

static const cairn_reply *map_get(const cairn_reply *m, const char *key)
{
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if ((m->element[i]->type == CAIRN_REPLY_STRING ||
             m->element[i]->type == CAIRN_REPLY_STATUS) &&
            strcmp(m->element[i]->str, key) == 0)
            return m->element[i + 1];
    return NULL;
}

static void test_reply_map(void)
{
    cairn *db = open_default();
    /* LCS ... IDX replies a map (RESP3) of matches and len. */
    CHECK_REPLY(is_status(R, "OK"), db, "MSET", "k1", "ohmytext", "k2", "mynewtext");
    cairn_reply *r = CMD(db, "LCS", "k1", "k2", "IDX");
    CHECK(r && r->type == CAIRN_REPLY_MAP && r->elements == 4);
    if (r && r->type == CAIRN_REPLY_MAP) {
        const cairn_reply *len = map_get(r, "len");
        CHECK(is_int(len, 6));
        const cairn_reply *matches = map_get(r, "matches");
        CHECK(matches && matches->type == CAIRN_REPLY_ARRAY);
    }
    cairn_reply_free(r);

    /* CONFIG GET replies a map too. */
    r = CMD(db, "CONFIG", "GET", "databases");
    CHECK(r && r->type == CAIRN_REPLY_MAP && r->elements == 2);
    if (r && r->type == CAIRN_REPLY_MAP && r->elements == 2) CHECK(is_string(r->element[1], "16"));
    cairn_reply_free(r);

    /* HELLO 3 replies the server's description as a map. */
    r = CMD(db, "HELLO", "3");
    CHECK(r && r->type == CAIRN_REPLY_MAP);
    if (r && r->type == CAIRN_REPLY_MAP) CHECK(is_int(map_get(r, "proto"), 3));
    cairn_reply_free(r);

    /* HELLO 2 does not turn the handle into RESP2: maps stay maps. */
    r = CMD(db, "HELLO", "2");
    cairn_reply_free(r);
    r = CMD(db, "CONFIG", "GET", "databases");
    CHECK(r && r->type == CAIRN_REPLY_MAP);
    cairn_reply_free(r);
    cairn_close(db);
}

static void test_reply_large(void)
{
    /* Replies bigger than one reply block take the flatten path. */
    cairn *db = open_default();
    size_t n = 100000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "big", big);
    cairn_reply *r = CMD(db, "GET", "big");
    CHECK(r && r->type == CAIRN_REPLY_STRING && r->len == n && memcmp(r->str, big, n) == 0 &&
          r->str[n] == '\0');
    cairn_reply_free(r);

    /* An array of many elements crossing block boundaries. */
    for (int i = 0; i < 2000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key:%d", i);
        CHECK_REPLY(is_status(R, "OK"), db, "SET", k, big + i);
    }
    const char *argv[2001];
    char names[2000][16];
    argv[0] = "MGET";
    for (int i = 0; i < 2000; i++) {
        snprintf(names[i], sizeof(names[i]), "key:%d", i);
        argv[i + 1] = names[i];
    }
    int rc = cairn_command(db, 2001, argv, NULL, &r);
    CHECK_EQ_LL(rc, CAIRN_OK);
    CHECK(r && r->type == CAIRN_REPLY_ARRAY && r->elements == 2000);
    if (r && r->elements == 2000) {
        int ok = 1;
        for (int i = 0; i < 2000; i++)
            if (r->element[i]->len != n - (size_t)i || memcmp(r->element[i]->str, big + i, 16))
                ok = 0;
        CHECK(ok);
    }
    cairn_reply_free(r);
    free(big);
    cairn_close(db);
}

static void test_reply_verbatim_and_none(void)
{
    cairn *db = open_default();
    /* INFO replies verbatim text ("txt") under RESP3. */
    cairn_reply *r = CMD(db, "INFO", "server");
    CHECK(r && r->type == CAIRN_REPLY_VERB);
    if (r && r->type == CAIRN_REPLY_VERB) {
        CHECK_STR(r->vtype, "txt");
        CHECK(strncmp(r->str, "# Server", 8) == 0);
    }
    cairn_reply_free(r);

    /* CLIENT REPLY OFF/SKIP: the call succeeds with no reply at all. */
    r = (cairn_reply *)&r;
    CHECK_EQ_LL(cairn_commandl(db, &r, "CLIENT", "REPLY", "OFF", (char *)NULL), CAIRN_OK);
    CHECK(r == NULL);
    CHECK_EQ_LL(cairn_commandl(db, &r, "SET", "quiet", "1", (char *)NULL), CAIRN_OK);
    CHECK(r == NULL);
    CHECK_REPLY(is_status(R, "OK"), db, "CLIENT", "REPLY", "ON");
    CHECK_REPLY(is_string(R, "1"), db, "GET", "quiet");
    CHECK_EQ_LL(cairn_commandl(db, &r, "CLIENT", "REPLY", "SKIP", (char *)NULL), CAIRN_OK);
    CHECK(r == NULL);
    CHECK_EQ_LL(cairn_commandl(db, &r, "GET", "quiet", (char *)NULL), CAIRN_OK);
    CHECK(r == NULL);
    CHECK_REPLY(is_string(R, "1"), db, "GET", "quiet");

    /* The handle is the client: CLIENT SETNAME sticks to it. */
    CHECK_REPLY(is_status(R, "OK"), db, "CLIENT", "SETNAME", "my-app");
    CHECK_REPLY(is_string(R, "my-app"), db, "CLIENT", "GETNAME");
    cairn_close(db);
}

static void test_binary_args(void)
{
    cairn *db = open_default();
    const char *argv[] = {"SET", "k\0ey", "v\0a\0l"};
    const size_t len[] = {3, 4, 5};
    cairn_reply *r;
    CHECK_EQ_LL(cairn_command(db, 3, argv, len, &r), CAIRN_OK);
    CHECK(is_status(r, "OK"));
    cairn_reply_free(r);
    const char *get[] = {"GET", "k\0ey"};
    const size_t glen[] = {3, 4};
    CHECK_EQ_LL(cairn_command(db, 2, get, glen, &r), CAIRN_OK);
    CHECK(r && r->type == CAIRN_REPLY_STRING && r->len == 5 && memcmp(r->str, "v\0a\0l", 5) == 0);
    cairn_reply_free(r);
    /* "k" alone is another key. */
    CHECK_REPLY(R && R->type == CAIRN_REPLY_NIL, db, "GET", "k");
    cairn_close(db);
}

static void test_commandl_and_discard(void)
{
    cairn *db = open_default();
    cairn_reply *r;
    CHECK_EQ_LL(cairn_commandl(db, &r, "SET", "x", "10", (char *)NULL), CAIRN_OK);
    CHECK(is_status(r, "OK"));
    cairn_reply_free(r);
    /* out NULL: run the command, drop the reply. */
    CHECK_EQ_LL(cairn_commandl(db, NULL, "INCR", "x", (char *)NULL), CAIRN_OK);
    CHECK_EQ_LL(cairn_commandl(db, &r, "GET", "x", (char *)NULL), CAIRN_OK);
    CHECK(is_string(r, "11"));
    cairn_reply_free(r);
    cairn_close(db);
}

/* ---------------------------------------------------------------------- */
/* The decoder on hand-written RESP, one case per type                     */
/* ---------------------------------------------------------------------- */

static void test_decode_scalars(void)
{
    int rc;
    cairn_reply *r;

    r = decode("+OK\r\n", &rc);
    CHECK(rc == CAIRN_OK && is_status(r, "OK") && r->len == 2);
    cairn_reply_free(r);

    r = decode("-WRONGTYPE Operation\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_ERROR);
    if (r) CHECK_STR(r->str, "WRONGTYPE Operation");
    cairn_reply_free(r);

    r = decode("!9\r\nERR oops!\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_ERROR && r->len == 9);
    cairn_reply_free(r);

    r = decode(":-9223372036854775808\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_INTEGER &&
          r->integer == (-9223372036854775807LL - 1));
    cairn_reply_free(r);

    r = decode("$5\r\nhe\r\nl\r\n", &rc); /* CRLF inside a bulk is data */
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_STRING && r->len == 5 &&
          memcmp(r->str, "he\r\nl", 5) == 0);
    cairn_reply_free(r);

    r = decode("$0\r\n\r\n", &rc);
    CHECK(rc == CAIRN_OK && is_string(r, ""));
    cairn_reply_free(r);

    r = decode("$-1\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_NIL);
    cairn_reply_free(r);

    r = decode("*-1\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_NIL && r->elements == 0);
    cairn_reply_free(r);

    r = decode("_\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_NIL);
    cairn_reply_free(r);

    r = decode(",3.25\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_DOUBLE && r->dval == 3.25);
    if (r) CHECK_STR(r->str, "3.25");
    cairn_reply_free(r);

    r = decode(",-inf\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_DOUBLE && r->dval < -1e308);
    cairn_reply_free(r);

    r = decode("#t\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_BOOL && r->integer == 1);
    cairn_reply_free(r);
    r = decode("#f\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_BOOL && r->integer == 0);
    cairn_reply_free(r);

    r = decode("(3492890328409238509324850943850943825024385\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_BIGNUM);
    if (r) CHECK_STR(r->str, "3492890328409238509324850943850943825024385");
    cairn_reply_free(r);

    r = decode("=15\r\ntxt:Some string\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_VERB && r->len == 11);
    if (r) {
        CHECK_STR(r->str, "Some string");
        CHECK_STR(r->vtype, "txt");
    }
    cairn_reply_free(r);
}

static void test_decode_aggregates(void)
{
    int rc;
    cairn_reply *r;

    r = decode("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n_\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_ARRAY && r->elements == 3);
    if (rc == CAIRN_OK && r->elements == 3) {
        CHECK(is_int(r->element[0], 1));
        CHECK(r->element[1]->type == CAIRN_REPLY_ARRAY && r->element[1]->elements == 2);
        CHECK(is_status(r->element[1]->element[0], "a"));
        CHECK(is_string(r->element[1]->element[1], "b"));
        CHECK(r->element[2]->type == CAIRN_REPLY_NIL);
    }
    cairn_reply_free(r);

    r = decode("%2\r\n+first\r\n:1\r\n+second\r\n#t\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_MAP && r->elements == 4);
    if (rc == CAIRN_OK && r->elements == 4) {
        CHECK(is_int(map_get(r, "first"), 1));
        CHECK(map_get(r, "second")->type == CAIRN_REPLY_BOOL);
    }
    cairn_reply_free(r);

    r = decode("~2\r\n$1\r\nx\r\n$1\r\ny\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_SET && r->elements == 2);
    cairn_reply_free(r);

    r = decode(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_PUSH && r->elements == 3);
    cairn_reply_free(r);

    r = decode("*0\r\n", &rc);
    CHECK(rc == CAIRN_OK && r->type == CAIRN_REPLY_ARRAY && r->elements == 0);
    cairn_reply_free(r);

    /* An attribute is dropped; the reply after it is what counts. */
    r = decode("|1\r\n+ttl\r\n:3600\r\n:42\r\n", &rc);
    CHECK(rc == CAIRN_OK && is_int(r, 42));
    cairn_reply_free(r);
}

static void test_decode_malformed(void)
{
    static const char *const bad[] = {
        "",
        "+OK",
        "+OK\r",
        "$5\r\nabc\r\n",
        "$3\r\nabcde\r\n",
        "*2\r\n:1\r\n",
        ":12x\r\n",
        "#x\r\n",
        ",abc\r\n",
        "?\r\n",
        "=3\r\ntxt\r\n",
        "*999999999\r\n:1\r\n",
        "%-1\r\n",
        "_x\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        cairn_reply *r = decode(bad[i], &rc);
        if (rc == CAIRN_OK) fprintf(stderr, "accepted malformed input #%zu\n", i);
        CHECK(rc != CAIRN_OK);
        CHECK(r == NULL);
    }
    /* Nesting beyond the limit is refused, not recursed into. */
    char deep[4 * 300 + 8];
    size_t off = 0;
    for (int i = 0; i < 300; i++)
        off += (size_t)sprintf(deep + off, "*1\r\n");
    sprintf(deep + off, ":1\r\n");
    int rc;
    CHECK(decode(deep, &rc) == NULL && rc == CAIRN_INTERNAL);
}

/* ---------------------------------------------------------------------- */
/* Result codes, messages, options                                         */
/* ---------------------------------------------------------------------- */

static void test_errstr(void)
{
    CHECK_STR(cairn_errstr(CAIRN_OK), "not an error");
    CHECK_STR(cairn_errstr(CAIRN_NOMEM), "out of memory");
    CHECK_STR(cairn_errstr(12345), "unknown error");
    CHECK_STR(cairn_errstr(-1), "unknown error");
    const int codes[] = {CAIRN_OK,   CAIRN_ERROR,   CAIRN_NOMEM,  CAIRN_MISUSE,  CAIRN_IOERR,
                         CAIRN_BUSY, CAIRN_CORRUPT, CAIRN_NOTSUP, CAIRN_INTERNAL};
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK(cairn_errstr(codes[i]) != NULL);
        CHECK(strcmp(cairn_errstr(codes[i]), "unknown error") != 0);
        for (size_t j = i + 1; j < n; j++)
            CHECK(strcmp(cairn_errstr(codes[i]), cairn_errstr(codes[j])) != 0);
    }
    CHECK_STR(cairn_libversion(), CAIRN_VERSION);
    CHECK_EQ_LL(cairn_libversion_number(), CAIRN_VERSION_NUMBER);
    CHECK_STR(cairn_errmsg(NULL), "out of memory");
}

static void test_misuse(void)
{
    cairn *db = open_default();
    cairn_reply *r = (cairn_reply *)&r; /* must be reset to NULL */
    CHECK_EQ_LL(cairn_command(db, 0, NULL, NULL, &r), CAIRN_MISUSE);
    CHECK(r == NULL);
    CHECK(strstr(cairn_errmsg(db), "argc") != NULL);
    const char *argv[] = {"GET", NULL};
    CHECK_EQ_LL(cairn_command(db, 2, argv, NULL, &r), CAIRN_MISUSE);
    CHECK(strstr(cairn_errmsg(db), "argv[1]") != NULL);
    /* The next successful call clears the message. */
    CHECK_EQ_LL(cairn_commandl(db, &r, "PING", (char *)NULL), CAIRN_OK);
    cairn_reply_free(r);
    CHECK_STR(cairn_errmsg(db), "not an error");
    CHECK_EQ_LL(cairn_command(NULL, 1, argv, NULL, &r), CAIRN_MISUSE);
    CHECK_EQ_LL(cairn_open(NULL, NULL), CAIRN_MISUSE);
    cairn_close(NULL);
    cairn_close(db);
}

static void test_open_options(void)
{
    cairn_options opts;
    cairn *db;

    /* A directory that cannot be created fails the open with a clear
     * message, and the failed handle still reports it and must be closed
     * (persistence itself is tested in test_embed_durable.c). */
    cairn_options_init(&opts);
    opts.dir = "/proc/cairn-no-such-dir/x";
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_IOERR);
    CHECK(db != NULL);
    CHECK(strstr(cairn_errmsg(db), "cairn_options.dir") != NULL);
    cairn_reply *r;
    CHECK_EQ_LL(cairn_commandl(db, &r, "PING", (char *)NULL), CAIRN_MISUSE);
    CHECK(strstr(cairn_errmsg(db), "cairn_options.dir") != NULL);
    cairn_close(db);

    cairn_options_init(&opts);
    opts.reserved_int[3] = 1;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_MISUSE);
    cairn_close(db);

    cairn_options_init(&opts);
    opts.databases = -3;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_MISUSE);
    cairn_close(db);

    /* databases bounds SELECT. */
    cairn_options_init(&opts);
    opts.databases = 2;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_OK);
    CHECK_REPLY(is_status(R, "OK"), db, "SELECT", "1");
    CHECK_REPLY(R && R->type == CAIRN_REPLY_ERROR &&
                    strcmp(R->str, "ERR DB index is out of range") == 0,
                db, "SELECT", "2");
    cairn_close(db);

    /* Extra configuration pairs. */
    const char *const good[] = {"hz", "20", NULL};
    cairn_options_init(&opts);
    opts.config = good;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_OK);
    r = CMD(db, "CONFIG", "GET", "hz");
    CHECK(r && r->type == CAIRN_REPLY_MAP && r->elements == 2 && is_string(r->element[1], "20"));
    cairn_reply_free(r);
    cairn_close(db);

    const char *const bad[] = {"no-such-parameter", "1", NULL};
    opts.config = bad;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_ERROR);
    CHECK(strstr(cairn_errmsg(db), "no-such-parameter") != NULL);
    cairn_close(db);

    const char *const odd[] = {"hz", NULL};
    opts.config = odd;
    CHECK_EQ_LL(cairn_open(&opts, &db), CAIRN_MISUSE);
    cairn_close(db);
}

/* ---------------------------------------------------------------------- */
/* Handles, sessions, threads                                              */
/* ---------------------------------------------------------------------- */

static void test_two_handles_independent(void)
{
    cairn *a = open_default(), *b = open_default();
    CHECK_REPLY(is_status(R, "OK"), a, "SET", "shared-name", "in-a");
    CHECK_REPLY(R && R->type == CAIRN_REPLY_NIL, b, "GET", "shared-name");
    CHECK_REPLY(is_status(R, "OK"), b, "SET", "shared-name", "in-b");
    CHECK_REPLY(is_string(R, "in-a"), a, "GET", "shared-name");
    CHECK_REPLY(is_status(R, "OK"), a, "SELECT", "3");
    CHECK_REPLY(is_string(R, "in-b"), b, "GET", "shared-name"); /* b still in db 0 */
    CHECK_REPLY(is_int(R, 0), a, "DBSIZE");
    CHECK_REPLY(is_int(R, 1), b, "DBSIZE");
    cairn_close(a);
    /* b outlives a. */
    CHECK_REPLY(is_string(R, "in-b"), b, "GET", "shared-name");
    cairn_close(b);
}

/* INFO's used_memory of a handle, or -1. */
static long long used_memory(cairn *db)
{
    cairn_reply *r = CMD(db, "INFO", "memory");
    long long used = -1;
    const char *at = r && r->str ? strstr(r->str, "used_memory:") : NULL;
    if (at) used = atoll(at + strlen("used_memory:"));
    cairn_reply_free(r);
    return used;
}

/* n string values of size bytes each, keys prefix:0 .. prefix:n-1. */
static int fill(cairn *db, const char *prefix, int n, size_t size)
{
    char *value = malloc(size);
    if (!value) return -1;
    memset(value, 'v', size);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s:%d", prefix, i);
        const char *argv[] = {"SET", key, value};
        size_t lens[] = {3, strlen(key), size};
        cairn_reply *r = NULL;
        if (cairn_command(db, 3, argv, lens, &r) != CAIRN_OK || !r || r->type == CAIRN_REPLY_ERROR)
            failed++;
        cairn_reply_free(r);
    }
    free(value);
    return failed;
}

/* Each handle counts its own memory (DESIGN rules 1 and 6): 8 MB written
 * into one shows in its used_memory and not in the other's, and comes
 * back out of it when flushed. */
static void test_memory_per_handle(void)
{
    cairn *a = open_default(), *b = open_default();
    long long a0 = used_memory(a), b0 = used_memory(b);
    CHECK(a0 > 0 && b0 > 0);
    CHECK_EQ_LL(fill(a, "big", 2048, 4096), 0);
    long long a1 = used_memory(a), b1 = used_memory(b);
    CHECK(a1 - a0 >= 8LL << 20);
    CHECK(llabs(b1 - b0) < 256 << 10);
    CHECK_REPLY(is_status(R, "OK"), a, "FLUSHALL");
    CHECK(llabs(used_memory(a) - a0) < 1 << 20);
    CHECK(llabs(used_memory(b) - b0) < 256 << 10);
    cairn_close(a);
    cairn_close(b);
}

/* maxmemory is per handle: one handle evicting at its limit leaves
 * another with room to write. */
static void test_maxmemory_per_handle(void)
{
    cairn *a = open_default(), *b = open_default();
    CHECK_REPLY(is_status(R, "OK"), a, "CONFIG", "SET", "maxmemory", "4mb");
    CHECK_REPLY(is_status(R, "OK"), a, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    CHECK_REPLY(is_status(R, "OK"), b, "CONFIG", "SET", "maxmemory", "4mb");
    CHECK_EQ_LL(fill(a, "a", 4096, 4096), 0); /* 16 MB through a 4 MB store */
    CHECK(used_memory(a) <= 5LL << 20);
    cairn_reply *r = CMD(a, "DBSIZE");
    CHECK(r && r->type == CAIRN_REPLY_INTEGER && r->integer > 100 && r->integer < 1024);
    cairn_reply_free(r);
    /* b (noeviction) takes 2 MB of its own without an OOM error. */
    CHECK_EQ_LL(fill(b, "b", 512, 4096), 0);
    CHECK_REPLY(is_int(R, 512), b, "DBSIZE");
    cairn_close(a);
    cairn_close(b);
}

static void test_seed_reproducible(void)
{
    /* The same seed and the same commands give the same random choices. */
    cairn_options opts;
    cairn_options_init(&opts);
    opts.seed = 12345;
    cairn *a, *b;
    CHECK_EQ_LL(cairn_open(&opts, &a), CAIRN_OK);
    CHECK_EQ_LL(cairn_open(&opts, &b), CAIRN_OK);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        cairn_reply_free(CMD(a, "SET", k, "v"));
        cairn_reply_free(CMD(b, "SET", k, "v"));
    }
    int same = 1;
    for (int i = 0; i < 20; i++) {
        cairn_reply *ra = CMD(a, "RANDOMKEY"), *rb = CMD(b, "RANDOMKEY");
        if (!ra || !rb || ra->type != CAIRN_REPLY_STRING || rb->type != CAIRN_REPLY_STRING ||
            strcmp(ra->str, rb->str) != 0)
            same = 0;
        cairn_reply_free(ra);
        cairn_reply_free(rb);
    }
    CHECK(same);
    cairn_close(a);
    cairn_close(b);
}

static void test_select_persists(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "SELECT", "1");
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "where", "one");
    CHECK_REPLY(is_string(R, "one"), db, "GET", "where");
    CHECK_REPLY(is_status(R, "OK"), db, "SELECT", "0");
    CHECK_REPLY(R && R->type == CAIRN_REPLY_NIL, db, "GET", "where");
    CHECK_REPLY(is_status(R, "OK"), db, "SELECT", "1");
    CHECK_REPLY(is_string(R, "one"), db, "GET", "where");
    /* QUIT does not close an embedded handle. */
    CHECK_REPLY(is_status(R, "OK"), db, "QUIT");
    CHECK_REPLY(is_string(R, "one"), db, "GET", "where");
    cairn_close(db);
}

#define INCR_THREADS    4
#define INCR_PER_THREAD 10000

typedef struct incr_arg {
    cairn *db;
    int failures;
} incr_arg;

static void *incr_worker(void *p)
{
    incr_arg *a = p;
    for (int i = 0; i < INCR_PER_THREAD; i++) {
        cairn_reply *r;
        if (cairn_commandl(a->db, &r, "INCR", "counter", (char *)NULL) != CAIRN_OK ||
            r->type != CAIRN_REPLY_INTEGER)
            a->failures++;
        cairn_reply_free(r);
    }
    return NULL;
}

static void test_threads_share_handle(void)
{
    cairn *db = open_default();
    pthread_t th[INCR_THREADS];
    incr_arg args[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++) {
        args[i].db = db;
        args[i].failures = 0;
        REQUIRE(pthread_create(&th[i], NULL, incr_worker, &args[i]) == 0);
    }
    for (int i = 0; i < INCR_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_LL(args[i].failures, 0);
    }
    CHECK_REPLY(is_string(R, "40000"), db, "GET", "counter");
    cairn_close(db);
}

typedef struct errmsg_arg {
    cairn *db;
    int saw_clean;
} errmsg_arg;

static void *errmsg_worker(void *p)
{
    errmsg_arg *a = p;
    /* This thread made no failing call: it sees no error even though the
     * main thread's last call on the same handle failed. */
    a->saw_clean = strcmp(cairn_errmsg(a->db), "not an error") == 0;
    return NULL;
}

static void test_errmsg_per_thread(void)
{
    cairn *db = open_default();
    CHECK_EQ_LL(cairn_command(db, 0, NULL, NULL, NULL), CAIRN_MISUSE);
    errmsg_arg a = {db, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, errmsg_worker, &a) == 0);
    pthread_join(th, NULL);
    CHECK(a.saw_clean);
    CHECK(strcmp(cairn_errmsg(db), "not an error") != 0);
    cairn_close(db);
}

static void test_expiry(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "soon", "x", "PX", "30");
    CHECK_REPLY(is_string(R, "x"), db, "GET", "soon");
    sleep_ms(60);
    CHECK_REPLY(R && R->type == CAIRN_REPLY_NIL, db, "GET", "soon");

    /* Keys nobody reads are removed by the background step that rides on
     * later commands. */
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "tmp%d", i);
        cairn_reply_free(CMD(db, "SET", k, "v", "PX", "10"));
    }
    CHECK_REPLY(is_int(R, 50), db, "DBSIZE");
    long long left = -1;
    for (int i = 0; i < 30 && left != 0; i++) {
        sleep_ms(110);
        cairn_reply *r = CMD(db, "DBSIZE");
        left = r && r->type == CAIRN_REPLY_INTEGER ? r->integer : -1;
        cairn_reply_free(r);
    }
    CHECK_EQ_LL(left, 0);
    cairn_close(db);
}

/* A push message {kind, [pattern,] channel, data}. */
static int is_message(const cairn_reply *m, const char *kind, const char *pattern,
                      const char *channel, const char *data)
{
    size_t n = pattern ? 4 : 3, i = 1;
    if (!m || m->type != CAIRN_REPLY_PUSH || m->elements != n) return 0;
    if (!is_string(m->element[0], kind)) return 0;
    if (pattern && !is_string(m->element[i++], pattern)) return 0;
    return is_string(m->element[i], channel) && is_string(m->element[i + 1], data);
}

static void test_pubsub_poll(void)
{
    cairn *db = open_default();
    cairn_reply *m = (cairn_reply *)1;
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && m == NULL);
    cairn_reply *r = CMD(db, "SUBSCRIBE", "news", "sport");
    CHECK(r && r->type == CAIRN_REPLY_ARRAY && r->elements == 2 &&
          r->element[0]->type == CAIRN_REPLY_PUSH && is_int(r->element[1]->element[2], 2));
    cairn_reply_free(r);
    CHECK_REPLY(R && R->type == CAIRN_REPLY_PUSH && is_int(R->element[2], 3), db, "PSUBSCRIBE",
                "n*");
    /* Every command works while subscribed. */
    CHECK_REPLY(is_status(R, "OK"), db, "SET", "k", "v");
    CHECK_REPLY(is_int(R, 2), db, "PUBLISH", "news", "one");
    CHECK_REPLY(is_int(R, 1), db, "PUBLISH", "sport", "two");
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && is_message(m, "message", NULL, "news", "one"));
    cairn_reply_free(m);
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && is_message(m, "pmessage", "n*", "news", "one"));
    cairn_reply_free(m);
    CHECK_REPLY(is_int(R, 2), db, "PUBLISH", "news", "three");
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && is_message(m, "message", NULL, "sport", "two"));
    cairn_reply_free(m);
    CHECK(cairn_next_message(db, &m) == CAIRN_OK &&
          is_message(m, "message", NULL, "news", "three"));
    cairn_reply_free(m);
    CHECK(cairn_next_message(db, &m) == CAIRN_OK &&
          is_message(m, "pmessage", "n*", "news", "three"));
    cairn_reply_free(m);
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && m == NULL);
    /* Queued messages left at close are freed with the handle. */
    CHECK_REPLY(is_int(R, 2), db, "PUBLISH", "news", "left");
    cairn_close(db);
}

static void test_pubsub_queue_bounded(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "CONFIG", "SET", "client-output-buffer-limit",
                "pubsub 64kb 0 0");
    cairn_reply_free(CMD(db, "SUBSCRIBE", "c"));
    char data[1024];
    memset(data, 'x', sizeof(data) - 1);
    data[sizeof(data) - 1] = '\0';
    for (int i = 0; i < 1000; i++)
        cairn_reply_free(CMD(db, "PUBLISH", "c", data));
    size_t n = 0;
    cairn_reply *m;
    while (cairn_next_message(db, &m) == CAIRN_OK && m) {
        n++;
        cairn_reply_free(m);
    }
    /* About 64 KB of 1 KB messages: the rest were dropped. */
    CHECK(n >= 60 && n <= 70);
    /* Once drained, messages flow again. */
    cairn_reply_free(CMD(db, "PUBLISH", "c", "again"));
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && is_message(m, "message", NULL, "c", "again"));
    cairn_reply_free(m);
    cairn_close(db);
}

/* A reply built past the normal output limit (SRANDMEMBER with a huge
 * negative count) stops at the limit; the handle returns an error instead
 * of a truncated reply, and keeps working. */
static void test_reply_over_output_limit(void)
{
    cairn *db = open_default();
    CHECK_REPLY(is_status(R, "OK"), db, "CONFIG", "SET", "client-output-buffer-limit",
                "normal 1mb 0 0");
    CHECK_REPLY(is_int(R, 3), db, "SADD", "s", "a", "b", "c");
    const char *argv[] = {"SRANDMEMBER", "s", "-9223372036854775807"};
    cairn_reply *r = NULL;
    CHECK(cairn_command(db, 3, argv, NULL, &r) == CAIRN_ERROR && r == NULL);
    CHECK(strstr(cairn_errmsg(db), "client-output-buffer-limit") != NULL);
    CHECK_REPLY(is_int(R, 3), db, "SCARD", "s");
    cairn_close(db);
}

typedef struct seen {
    cairn *db;
    int n;
    char last[64];
} seen;

static void on_message(void *priv, const cairn_reply *msg)
{
    seen *s = priv;
    s->n++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)msg->element[2]->len, msg->element[2]->str);
    /* The handle is unlocked: the handler may run commands on it. */
    if (s->n == 1) cairn_reply_free(CMD(s->db, "PUBLISH", "h", "nested"));
}

static void test_pubsub_handler(void)
{
    cairn *db = open_default();
    seen s = {db, 0, ""};
    CHECK(cairn_set_message_handler(db, on_message, &s) == CAIRN_OK);
    cairn_reply_free(CMD(db, "SUBSCRIBE", "h"));
    CHECK_REPLY(is_int(R, 1), db, "PUBLISH", "h", "first");
    CHECK_EQ_LL(s.n, 2);
    CHECK_STR(s.last, "nested");
    cairn_reply *m = (cairn_reply *)1;
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && m == NULL);
    CHECK(cairn_set_message_handler(db, NULL, NULL) == CAIRN_OK);
    CHECK_REPLY(is_int(R, 1), db, "PUBLISH", "h", "polled");
    CHECK_EQ_LL(s.n, 2);
    CHECK(cairn_next_message(db, &m) == CAIRN_OK && is_message(m, "message", NULL, "h", "polled"));
    cairn_reply_free(m);
    CHECK(cairn_set_message_handler(NULL, NULL, NULL) == CAIRN_MISUSE);
    CHECK(cairn_next_message(db, NULL) == CAIRN_MISUSE);
    cairn_close(db);
}

int main(void)
{
    TEST(test_reply_status_string_nil);
    TEST(test_reply_error);
    TEST(test_reply_array);
    TEST(test_reply_map);
    TEST(test_reply_large);
    TEST(test_reply_verbatim_and_none);
    TEST(test_binary_args);
    TEST(test_commandl_and_discard);
    TEST(test_decode_scalars);
    TEST(test_decode_aggregates);
    TEST(test_decode_malformed);
    TEST(test_errstr);
    TEST(test_misuse);
    TEST(test_open_options);
    TEST(test_two_handles_independent);
    TEST(test_memory_per_handle);
    TEST(test_maxmemory_per_handle);
    TEST(test_seed_reproducible);
    TEST(test_select_persists);
    TEST(test_threads_share_handle);
    TEST(test_errmsg_per_thread);
    TEST(test_expiry);
    TEST(test_pubsub_poll);
    TEST(test_pubsub_queue_bounded);
    TEST(test_pubsub_handler);
    TEST(test_reply_over_output_limit);
    return TEST_REPORT();
}
