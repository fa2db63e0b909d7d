/* Unit tests of the engine core: the log sink (rule 4), active expiry with
 * an injected clock, and deterministic replay (rule 2). */
#include <stdio.h>
#include <string.h>

#include "ds/alloc.h"
#include "engine/cmd.h"
#include "engine/db.h"
#include "engine/engine.h"
#include "engine/reply.h"
#include "log/entry.h"
#include "test.h"

#include "engine_harness.h"

#define RUN(e, s, now, ...) run_words_at(e, s, now, WORDS(__VA_ARGS__))

static void test_writes_are_logged_reads_are_not(void)
{
    cairn_engine *e = new_engine(1);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);

    check_reply(RUN(e, &s, 1000, "SET", "k", "v"), "+OK\r\n");
    check_reply(RUN(e, &s, 1000, "GET", "k"), "$1\r\nv\r\n");
    check_reply(RUN(e, &s, 1000, "SET", "k", "v", "XX", "NX"), "-ERR syntax error\r\n");
    CHECK_EQ_LL(rec.n, 1);

    entry_view v;
    const char *why;
    REQUIRE(entry_decode(rec.log, dstr_len(rec.log), &v, &why) == ENTRY_OK);
    CHECK_EQ_LL(v.e.argc, 3);
    CHECK_EQ_LL(v.e.now_ms, 1000);
    CHECK(v.e.argv[0].len == 3 && memcmp(v.e.argv[0].ptr, "SET", 3) == 0);
    entry_view_free(&v);

    session_reset(&s);
    dstr_free(rec.log);
    engine_free(e);
}

static void test_expiry_is_logged_as_delete(void)
{
    cairn_engine *e = new_engine(2);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);

    check_reply(RUN(e, &s, 1000, "SET", "lazy", "v", "PX", "100"), "+OK\r\n");
    check_reply(RUN(e, &s, 1000, "SET", "active", "v", "PX", "100"), "+OK\r\n");
    /* Before the deadline nothing expires. */
    int more;
    CHECK_EQ_LL(engine_active_expire(e, 1099, 1000, &more), 0);
    check_reply(RUN(e, &s, 1100, "GET", "lazy"), "$-1\r\n");
    CHECK_EQ_LL(engine_active_expire(e, 1100, 1000, &more), 1);
    check_reply(RUN(e, &s, 1100, "DBSIZE"), ":0\r\n");
    CHECK_EQ_LL(e->stats.expired_keys, 2);

    /* Two SETs, then two DELs: the lazy one and the active one. */
    CHECK_EQ_LL(rec.n, 4);
    size_t off = 0;
    const char *want[] = {"SET", "SET", "DEL", "DEL"};
    for (int i = 0; i < 4; i++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec.log + off, dstr_len(rec.log) - off, &v, &why) == ENTRY_OK);
        CHECK(v.e.argv[0].len == strlen(want[i]) &&
              memcmp(v.e.argv[0].ptr, want[i], strlen(want[i])) == 0);
        off += v.size;
        entry_view_free(&v);
    }
    session_reset(&s);
    dstr_free(rec.log);
    engine_free(e);
}

/* Replaying the log of one engine into another (with different hash and
 * PRNG seeds) reproduces the same dataset: the entry carries all a
 * handler depends on. */
static void test_replay_reproduces_state(void)
{
    cairn_engine *a = new_engine(3);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);
    check_reply(RUN(a, &s, 5000, "SET", "n", "10", "EX", "100"), "+OK\r\n");
    check_reply(RUN(a, &s, 5000, "INCRBY", "n", "5"), ":15\r\n");
    check_reply(RUN(a, &s, 5000, "SELECT", "3"), "+OK\r\n");
    check_reply(RUN(a, &s, 5000, "APPEND", "s", "abc"), ":3\r\n");
    check_reply(RUN(a, &s, 6000, "EXPIRE", "s", "10"), ":1\r\n");

    cairn_engine *b = new_engine(4);
    apply_log(b, rec.log, dstr_len(rec.log));
    cairn_session t;
    session_init(b, &t);
    check_reply(RUN(b, &t, 7000, "GET", "n"), "$2\r\n15\r\n");
    check_reply(RUN(b, &t, 7000, "PTTL", "n"), ":98000\r\n");
    check_reply(RUN(b, &t, 7000, "SELECT", "3"), "+OK\r\n");
    check_reply(RUN(b, &t, 7000, "PEXPIRETIME", "s"), ":16000\r\n");

    session_reset(&s);
    session_reset(&t);
    dstr_free(rec.log);
    engine_free(a);
    engine_free(b);
}

/* A transaction reaches the log as MULTI, its writes (each with its own
 * db), EXEC; replaying that gives the same data, and a log cut before the
 * EXEC entry applies none of it. */
static void test_transaction_log_is_all_or_nothing(void)
{
    cairn_engine *a = new_engine(5);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);
    check_reply(RUN(a, &s, 1000, "MULTI"), "+OK\r\n");
    check_reply(RUN(a, &s, 1000, "SET", "x", "0"), "+QUEUED\r\n");
    check_reply(RUN(a, &s, 1000, "SELECT", "2"), "+QUEUED\r\n");
    check_reply(RUN(a, &s, 1000, "SET", "y", "2"), "+QUEUED\r\n");
    check_reply(RUN(a, &s, 1000, "EXEC"), "*3\r\n+OK\r\n+OK\r\n+OK\r\n");
    CHECK_EQ_LL(rec.n, 4);

    /* The entries in order, with the db each write happened in. */
    const char *want[] = {"MULTI", "SET", "SET", "EXEC"};
    const int want_db[] = {0, 0, 2, 2};
    size_t off = 0, before_exec = 0;
    for (int i = 0; i < 4; i++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec.log + off, dstr_len(rec.log) - off, &v, &why) == ENTRY_OK);
        CHECK(v.e.argv[0].len == strlen(want[i]) &&
              memcmp(v.e.argv[0].ptr, want[i], strlen(want[i])) == 0);
        CHECK_EQ_LL(v.e.db, want_db[i]);
        if (i == 3) before_exec = off;
        off += v.size;
        entry_view_free(&v);
    }

    cairn_engine *b = new_engine(6);
    apply_log(b, rec.log, dstr_len(rec.log));
    cairn_session t;
    session_init(b, &t);
    check_reply(RUN(b, &t, 2000, "GET", "x"), "$1\r\n0\r\n");
    check_reply(RUN(b, &t, 2000, "SELECT", "2"), "+OK\r\n");
    check_reply(RUN(b, &t, 2000, "GET", "y"), "$1\r\n2\r\n");

    cairn_engine *cut = new_engine(7);
    apply_log(cut, rec.log, before_exec);
    cairn_session u;
    session_init(cut, &u);
    check_reply(RUN(cut, &u, 2000, "DBSIZE"), ":0\r\n");

    session_reset(&s);
    session_reset(&t);
    session_reset(&u);
    dstr_free(rec.log);
    engine_free(a);
    engine_free(b);
    engine_free(cut);
}

/* Does entry i of a recorded log have exactly the words want? */
static int entry_is(const recorder *rec, int i, const char **want)
{
    size_t off = 0;
    entry_view v;
    const char *why;
    for (int n = 0;; n++) {
        if (entry_decode(rec->log + off, dstr_len(rec->log) - off, &v, &why) != ENTRY_OK) return 0;
        if (n == i) break;
        off += v.size;
        entry_view_free(&v);
    }
    int argc = 0, same = 1;
    for (; want[argc]; argc++)
        same = same && argc < v.e.argc && v.e.argv[argc].len == strlen(want[argc]) &&
               memcmp(v.e.argv[argc].ptr, want[argc], v.e.argv[argc].len) == 0;
    same = same && argc == v.e.argc;
    entry_view_free(&v);
    return same;
}

/* INCRBYFLOAT reaches the log as the SET ... KEEPTTL of its result (as
 * Redis propagates it), so a replay never redoes the long double
 * arithmetic, whose precision differs between machines; the replay keeps
 * the value and the TTL. */
static void test_incrbyfloat_logged_as_set(void)
{
    cairn_engine *a = new_engine(8);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);
    check_reply(RUN(a, &s, 1000, "SET", "f", "10.5", "PX", "5000"), "+OK\r\n");
    check_reply(RUN(a, &s, 1000, "INCRBYFLOAT", "f", "0.1"), "$4\r\n10.6\r\n");
    check_reply(RUN(a, &s, 1000, "INCRBYFLOAT", "new", "3.0e3"), "$4\r\n3000\r\n");
    check_reply(RUN(a, &s, 1000, "INCRBYFLOAT", "f", "x"), "-ERR value is not a valid float\r\n");
    CHECK_EQ_LL(rec.n, 3);
    CHECK(entry_is(&rec, 1, WORDS("SET", "f", "10.6", "KEEPTTL")));
    CHECK(entry_is(&rec, 2, WORDS("SET", "new", "3000", "KEEPTTL")));

    cairn_engine *b = new_engine(9);
    apply_log(b, rec.log, dstr_len(rec.log));
    cairn_session t;
    session_init(b, &t);
    check_reply(RUN(b, &t, 2000, "GET", "f"), "$4\r\n10.6\r\n");
    check_reply(RUN(b, &t, 2000, "PTTL", "f"), ":4000\r\n");
    check_reply(RUN(b, &t, 2000, "GET", "new"), "$4\r\n3000\r\n");

    session_reset(&s);
    session_reset(&t);
    dstr_free(rec.log);
    engine_free(a);
    engine_free(b);
}

/* Apply one entry of words at now_ms to e as session s; returns what
 * engine_apply_entry() returns and the reply in *reply (freed by caller). */
static int apply_words(cairn_engine *e, cairn_session *s, int64_t now_ms, const char **words,
                       char **reply)
{
    cslice argv[8];
    int argc = 0;
    for (; words[argc]; argc++)
        argv[argc] = (cslice){words[argc], strlen(words[argc])};
    cairn_entry entry = {0, now_ms, 42, argc, argv};
    rbuf out;
    rbuf_init(&out, 2);
    int rc = engine_apply_entry(e, s, &entry, &out);
    size_t len;
    *reply = rbuf_flatten(&out, &len);
    rbuf_free(&out);
    return rc;
}

static cobj *find_key(cairn_engine *e, const char *key)
{
    return db_find(&e->dbs[0], &(cslice){key, strlen(key)});
}

/* Applying entries originates nothing (DESIGN rule 4): with a log sink
 * attached, the replay emits no entry; it deletes only what the log
 * deletes, so a key whose TTL passed stays (and is written to) until a
 * DEL entry comes, which deletes it. */
static void test_applying_originates_nothing(void)
{
    cairn_engine *a = new_engine(10);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(a, record, &rec);
    cairn_session s;
    session_init(a, &s);
    check_reply(RUN(a, &s, 1000, "SET", "lazy", "v", "PX", "100"), "+OK\r\n");
    check_reply(RUN(a, &s, 1000, "SET", "stays", "v", "PX", "100"), "+OK\r\n");
    check_reply(RUN(a, &s, 2000, "GET", "lazy"), "$-1\r\n"); /* logged as DEL */
    check_reply(RUN(a, &s, 3000, "SET", "later", "1"), "+OK\r\n");
    CHECK_EQ_LL(rec.n, 4);

    cairn_engine *b = new_engine(11);
    recorder brec = {dstr_with_cap(0), 0};
    engine_set_log_sink(b, record, &brec);
    apply_log(b, rec.log, dstr_len(rec.log));
    CHECK(find_key(b, "lazy") == NULL);
    CHECK(find_key(b, "stays") != NULL);
    CHECK(find_key(b, "later") != NULL);
    cairn_session t;
    session_init(b, &t);
    char *reply;
    CHECK_EQ_LL(apply_words(b, &t, 4000, WORDS("APPEND", "stays", "w"), &reply), 0);
    check_reply(reply, ":2\r\n");
    CHECK_EQ_LL(apply_words(b, &t, 4000, WORDS("DEL", "stays"), &reply), 0);
    check_reply(reply, ":1\r\n");
    CHECK(find_key(b, "stays") == NULL);
    CHECK_EQ_LL(b->stats.expired_keys, 0);
    CHECK_EQ_LL(brec.n, 0);
    CHECK_EQ_LL(b->applying, 0);

    session_reset(&s);
    session_reset(&t);
    dstr_free(rec.log);
    dstr_free(brec.log);
    engine_free(a);
    engine_free(b);
}

/* A node that does not originate (a follower) never deletes on its own:
 * a read of an expired key finds nothing but leaves the key, active
 * expiry and eviction do nothing, and nothing is logged.  Once it
 * originates, the same read deletes the key and logs the DEL. */
static void test_non_originating_node_reads_expired_keys_as_missing(void)
{
    cairn_engine *e = new_engine(12);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);
    check_reply(RUN(e, &s, 1000, "SET", "k", "v", "PX", "100"), "+OK\r\n");
    check_reply(RUN(e, &s, 1000, "SET", "other", "v", "PX", "100"), "+OK\r\n");
    CHECK_EQ_LL(rec.n, 2);

    e->originates = 0;
    check_reply(RUN(e, &s, 2000, "GET", "k"), "$-1\r\n");
    check_reply(RUN(e, &s, 2000, "EXISTS", "k", "other"), ":0\r\n");
    CHECK(find_key(e, "k") != NULL);
    int more;
    CHECK_EQ_LL(engine_active_expire(e, 2000, 1000, &more), 0);
    CHECK(find_key(e, "other") != NULL);
    check_reply(RUN(e, &s, 2000, "CONFIG", "SET", "maxmemory", "1"), "+OK\r\n");
    CHECK(find_key(e, "other") != NULL);
    check_reply(RUN(e, &s, 2000, "CONFIG", "SET", "maxmemory", "0"), "+OK\r\n");
    CHECK_EQ_LL(e->stats.expired_keys + e->stats.evicted_keys, 0);
    CHECK_EQ_LL(rec.n, 2);

    e->originates = 1;
    check_reply(RUN(e, &s, 2000, "GET", "k"), "$-1\r\n");
    CHECK(find_key(e, "k") == NULL);
    CHECK_EQ_LL(e->stats.expired_keys, 1);
    CHECK_EQ_LL(rec.n, 3);

    session_reset(&s);
    dstr_free(rec.log);
    engine_free(e);
}

/* An entry that does not apply -- it replies with an error -- is
 * reported as such, never counted as applied; so is one that a limit
 * guarding client input would refuse live (proto-max-bulk-len), which
 * applies. */
static void test_entry_that_fails_to_apply_is_reported(void)
{
    cairn_engine *e = new_engine(13);
    cairn_session s;
    session_init(e, &s);
    char *reply;
    CHECK_EQ_LL(apply_words(e, &s, 1000, WORDS("SET", "k", "text"), &reply), 0);
    check_reply(reply, "+OK\r\n");
    CHECK_EQ_LL(apply_words(e, &s, 1000, WORDS("INCR", "k"), &reply), -1);
    check_reply(reply, "-ERR value is not an integer or out of range\r\n");
    CHECK_EQ_LL(apply_words(e, &s, 1000, WORDS("NOSUCH", "k"), &reply), -1);
    cm_free(reply);

    cairn_session c;
    session_init(e, &c);
    check_reply(RUN(e, &c, 1000, "CONFIG", "SET", "proto-max-bulk-len", "1mb"), "+OK\r\n");
    check_reply(RUN(e, &c, 1000, "SETRANGE", "big", "2000000", "x"),
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    CHECK_EQ_LL(apply_words(e, &s, 1000, WORDS("SETRANGE", "big", "2000000", "x"), &reply), 0);
    check_reply(reply, ":2000001\r\n");
    CHECK_EQ_LL(apply_words(e, &s, 1000, WORDS("APPEND", "big", "y"), &reply), 0);
    check_reply(reply, ":2000002\r\n");
    check_reply(RUN(e, &c, 1000, "APPEND", "big", "z"),
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");

    session_reset(&s);
    session_reset(&c);
    engine_free(e);
}

/* The command index finds every command of the table by its name in any
 * case, and nothing else: not a prefix, not a name with a byte added
 * (even a NUL, which the index pads names with), not a non-letter byte
 * that folding could confuse with a letter. */
static void test_command_lookup(void)
{
    cairn_engine *e = new_engine(4);
    long n = 0;
    for (int f = 0; cmd_families[f]; f++) {
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            char name[64], upper[64], mixed[64];
            size_t len = strlen(cmd->name);
            REQUIRE(len + 2 < sizeof(name));
            memcpy(name, cmd->name, len + 1);
            for (size_t i = 0; i <= len; i++) {
                char ch = name[i];
                upper[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
                mixed[i] = i % 2 ? upper[i] : ch;
            }
            const cmd_def *want = cmd_lookup(e, name, len);
            CHECK(want != NULL && strcmp(want->name, cmd->name) == 0);
            CHECK(cmd_lookup(e, upper, len) == want);
            CHECK(cmd_lookup(e, mixed, len) == want);
            CHECK(cmd_lookup(e, name, len - 1) == NULL || len == 1 ||
                  strlen(cmd_lookup(e, name, len - 1)->name) == len - 1);
            name[len] = '\0';
            CHECK(cmd_lookup(e, name, len + 1) == NULL);
            name[len] = 'x';
            const cmd_def *longer = cmd_lookup(e, name, len + 1);
            CHECK(longer == NULL || strlen(longer->name) == len + 1);
            n++;
        }
    }
    CHECK(n >= cmd_count(e));
    CHECK(cmd_lookup(e, "", 0) == NULL);
    CHECK(cmd_lookup(e, "GET", 3) != NULL);
    CHECK(cmd_lookup(e, "gEt", 3) == cmd_lookup(e, "get", 3));
    /* '@' and '[' sit just outside 'A'..'Z'; '`' and '{' outside 'a'..'z'. */
    CHECK(cmd_lookup(e, "g@t", 3) == NULL);
    CHECK(cmd_lookup(e, "g[t", 3) == NULL);
    CHECK(cmd_lookup(e, "g`t", 3) == NULL);
    CHECK(cmd_lookup(e,
                     "\xc7"
                     "ET",
                     3) == NULL); /* 'G' | 0x80 */
    CHECK(cmd_lookup(e, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 38) == NULL);
    engine_free(e);
}

/* An SPOP of many members is logged as SREMs of at most LOG_BATCH
 * members in one MULTI ... EXEC, not as one entry that grows with the
 * count, and replays to the same set. */
static void test_large_spop_logged_in_batches(void)
{
    cairn_engine *e = new_engine(7);
    recorder rec = {dstr_with_cap(0), 0};
    engine_set_log_sink(e, record, &rec);
    cairn_session s;
    session_init(e, &s);
    const int members = 3000, popped = 2500;
    const char **words = cm_malloc(sizeof(char *) * (size_t)(members + 3));
    char(*names)[16] = cm_malloc(16 * (size_t)members);
    words[0] = "SADD";
    words[1] = "set";
    for (int i = 0; i < members; i++) {
        snprintf(names[i], 16, "m%d", i);
        words[2 + i] = names[i];
    }
    words[members + 2] = NULL;
    cm_free(run_words_at(e, &s, 1000, words));
    size_t before = dstr_len(rec.log);
    char *r = RUN(e, &s, 1000, "SPOP", "set", "2500");
    CHECK(r[0] == '*' || r[0] == '~');
    cm_free(r);

    /* MULTI, SREMs of 1024 + 1024 + 452 members, EXEC. */
    const long want_args[] = {1, 2 + 1024, 2 + 1024, 2 + popped - 2048, 1};
    size_t off = before;
    for (int i = 0; i < 5; i++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(rec.log + off, dstr_len(rec.log) - off, &v, &why) == ENTRY_OK);
        CHECK_EQ_LL(v.e.argc, want_args[i]);
        const char *name = i == 0 ? "MULTI" : i == 4 ? "EXEC" : "SREM";
        CHECK(v.e.argv[0].len == strlen(name) && memcmp(v.e.argv[0].ptr, name, strlen(name)) == 0);
        off += v.size;
        entry_view_free(&v);
    }
    CHECK_EQ_LL(off, dstr_len(rec.log));

    cairn_engine *b = new_engine(8);
    apply_log(b, rec.log, dstr_len(rec.log));
    cairn_session sb;
    session_init(b, &sb);
    check_reply(RUN(b, &sb, 2000, "SCARD", "set"), ":500\r\n");
    for (int i = 0; i < members; i += 97) {
        char *x = RUN(e, &s, 2000, "SISMEMBER", "set", names[i]);
        char *y = RUN(b, &sb, 2000, "SISMEMBER", "set", names[i]);
        CHECK_STR(x, y);
        cm_free(x);
        cm_free(y);
    }
    session_reset(&sb);
    engine_free(b);
    cm_free(words);
    cm_free(names);
    session_reset(&s);
    dstr_free(rec.log);
    engine_free(e);
}

/* A reply chain's memory (client eviction reads it after every command) is
 * kept as blocks come and go: it covers what is buffered, falls back once
 * the output is written, and is zero once the chain is freed, whatever
 * blocks it held (deferred lengths, large replies, the spare). */
static void test_reply_chain_memory_is_kept(void)
{
    rbuf b;
    rbuf_init(&b, 2);
    CHECK_EQ_LL(rbuf_mem(&b), 0);
    static char big[100000];
    memset(big, 'x', sizeof(big));
    rbuf_deferred d = reply_deferred_len(&b);
    for (int i = 0; i < 40; i++)
        reply_bulk(&b, big, 1000);
    reply_set_deferred_array(&b, d, 40);
    reply_bulk(&b, big, sizeof(big));
    rbuf_mark m = rbuf_get_mark(&b);
    reply_bulk(&b, big, sizeof(big));
    size_t full = rbuf_mem(&b);
    CHECK(full >= b.bytes);
    rbuf_truncate(&b, m);
    CHECK(rbuf_mem(&b) < full);
    CHECK(rbuf_mem(&b) >= b.bytes);
    rbuf_consume(&b, b.bytes);
    CHECK(rbuf_mem(&b) < 3 * 16384 + sizeof(big));
    reply_deferred_len(&b);
    rbuf_reset(&b);
    CHECK(rbuf_mem(&b) <= 2 * 16384); /* the kept block and the spare */
    reply_bulk(&b, big, 10);
    rbuf_free(&b);
    CHECK_EQ_LL(rbuf_mem(&b), 0);
}

int main(void)
{
    TEST(test_command_lookup);
    TEST(test_reply_chain_memory_is_kept);
    TEST(test_writes_are_logged_reads_are_not);
    TEST(test_expiry_is_logged_as_delete);
    TEST(test_replay_reproduces_state);
    TEST(test_transaction_log_is_all_or_nothing);
    TEST(test_incrbyfloat_logged_as_set);
    TEST(test_applying_originates_nothing);
    TEST(test_non_originating_node_reads_expired_keys_as_missing);
    TEST(test_entry_that_fails_to_apply_is_reported);
    TEST(test_large_spop_logged_in_batches);
    return TEST_REPORT();
}
