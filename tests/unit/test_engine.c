/* Unit tests of the engine core: the log sink (rule 4), active expiry with
 * an injected clock, and deterministic replay (rule 2). */
#include "ds/alloc.h"
#include "engine/cmd.h"
#include "engine/db.h"
#include "engine/engine.h"
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

int main(void)
{
    TEST(test_command_lookup);
    TEST(test_writes_are_logged_reads_are_not);
    TEST(test_expiry_is_logged_as_delete);
    TEST(test_replay_reproduces_state);
    TEST(test_transaction_log_is_all_or_nothing);
    TEST(test_incrbyfloat_logged_as_set);
    return TEST_REPORT();
}
