/* test_config.c -- the configuration tables (the engine's, and the
 * server's as a host's), the file parser and the quoting rules. */
#include <stdlib.h>
#include <string.h>

#include "ds/dstr.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "net/host_config.h"
#include "test.h"

/* The warnings the engine asked the host to log, one per line. */
static char warnings[4096];

static void note_warning(void *priv, const char *msg)
{
    (void)priv;
    size_t used = strlen(warnings);
    snprintf(warnings + used, sizeof(warnings) - used, "%s\n", msg);
}

static void *host_base(void *priv) { return priv; }

/* The server's settings, as its host ops hand them to the engine. */
static const cairn_host_ops server_ops = {
    .config_defs = host_config_defs,
    .config_count = HOST_CONFIG_COUNT,
    .config_base = host_base,
    .config_warning = note_warning,
};

/* The config functions only touch e->cfg and the host's settings, so a
 * zeroed engine with an initialised config, hosted by a zeroed server with
 * its settings initialised, is enough. */
static cairn_engine *new_engine(void)
{
    cairn_engine *e = calloc(1, sizeof(*e));
    host_config *srv = calloc(1, sizeof(*srv));
    if (!e || !srv) abort();
    config_init(&e->cfg);
    config_table_init(host_config_defs, HOST_CONFIG_COUNT, srv);
    e->host = &server_ops;
    e->host_priv = srv;
    return e;
}

static host_config *server_of(cairn_engine *e) { return e->host_priv; }

static void free_engine(cairn_engine *e)
{
    config_free(&e->cfg);
    config_table_free(host_config_defs, HOST_CONFIG_COUNT, e->host_priv);
    free(e->host_priv);
    free(e);
}

/* CHECK that parameter name currently shows as want. */
static int value_is(cairn_engine *e, const char *name, const char *want)
{
    dstr v = config_get_value(e, name);
    int ok = v && strcmp(v, want) == 0;
    if (!ok) fprintf(stderr, "  %s = '%s', expected '%s'\n", name, v ? v : "(null)", want);
    dstr_free(v);
    return ok;
}

static int load(cairn_engine *e, const char *text, dstr *err)
{
    *err = NULL;
    return config_load_string(e, text, strlen(text), err);
}

static void test_defaults(void)
{
    cairn_engine *e = new_engine();
    CHECK(value_is(e, "databases", "16"));
    CHECK(value_is(e, "port", "6379"));
    CHECK(value_is(e, "bind", "127.0.0.1"));
    CHECK(value_is(e, "tcp-backlog", "511"));
    CHECK(value_is(e, "maxclients", "10000"));
    CHECK(value_is(e, "timeout", "0"));
    CHECK(value_is(e, "tcp-keepalive", "300"));
    CHECK(value_is(e, "daemonize", "no"));
    CHECK(value_is(e, "loglevel", "notice"));
    CHECK(value_is(e, "logfile", ""));
    CHECK(value_is(e, "proto-max-bulk-len", "536870912"));
    CHECK(value_is(e, "client-query-buffer-limit", "1073741824"));
    CHECK(value_is(e, "hz", "10"));
    CHECK(value_is(e, "active-expire-effort", "1"));
    CHECK(value_is(e, "dir", "./"));
    CHECK(value_is(e, "save", "3600 1 300 100 60 10000"));
    CHECK(value_is(e, "appendonly", "no"));
    CHECK(value_is(e, "maxmemory", "0"));
    CHECK(value_is(e, "maxmemory-policy", "noeviction"));
    CHECK(value_is(e, "unixsocketperm", "0"));
    CHECK(config_get_value(e, "no-such-thing") == NULL);
    CHECK_EQ_LL(server_of(e)->loglevel, LL_NOTICE);
    CHECK_EQ_LL(e->cfg.maxmemory_policy, MAXMEMORY_NO_EVICTION);
    free_engine(e);
}

/* Without a host (embedded), the server's settings do not exist. */
static void test_no_host(void)
{
    cairn_engine *e = new_engine();
    e->host = NULL;
    CHECK(config_get_value(e, "port") == NULL);
    CHECK(value_is(e, "maxmemory", "0"));
    char buf[256];
    const char *msg = config_set(e, "logfile", "x.log", 1, buf, sizeof(buf));
    CHECK(msg && strcmp(msg, "Bad directive or wrong number of arguments") == 0);
    free_engine(e);
}

static void test_memory_units(void)
{
    unsigned long long v = 0;
    CHECK(config_parse_memory("100", &v) && v == 100);
    CHECK(config_parse_memory("100b", &v) && v == 100);
    CHECK(config_parse_memory("1k", &v) && v == 1000);
    CHECK(config_parse_memory("1kb", &v) && v == 1024);
    CHECK(config_parse_memory("1KB", &v) && v == 1024);
    CHECK(config_parse_memory("2m", &v) && v == 2000000);
    CHECK(config_parse_memory("512mb", &v) && v == 512ULL * 1024 * 1024);
    CHECK(config_parse_memory("1g", &v) && v == 1000000000ULL);
    CHECK(config_parse_memory("1Gb", &v) && v == 1024ULL * 1024 * 1024);
    CHECK(config_parse_memory("", &v) && v == 0); /* as Redis's memtoull */
    CHECK(!config_parse_memory("-1", &v));
    CHECK(!config_parse_memory("1.5gb", &v));
    CHECK(!config_parse_memory("1tb", &v));
    CHECK(!config_parse_memory(" 1", &v));
    CHECK(!config_parse_memory("+1", &v));
    CHECK(!config_parse_memory("99999999999999999gb", &v));
}

static dstr *split(const char *s, int *argc) { return config_split_args(s, strlen(s), argc); }

static void test_split_args(void)
{
    int argc;
    dstr *v = split("  set  key   value ", &argc);
    REQUIRE(v && argc == 3);
    CHECK_STR(v[0], "set");
    CHECK_STR(v[1], "key");
    CHECK_STR(v[2], "value");
    config_free_args(v, argc);

    v = split("a \"b c\" 'd e' \"\" ''", &argc);
    REQUIRE(v && argc == 5);
    CHECK_STR(v[1], "b c");
    CHECK_STR(v[2], "d e");
    CHECK_EQ_LL(dstr_len(v[3]), 0);
    CHECK_EQ_LL(dstr_len(v[4]), 0);
    config_free_args(v, argc);

    /* Escapes in double quotes; only \' in single quotes. */
    v = split("\"\\n\\r\\t\\b\\a\\\\\\\"\\x41\\x4a\\q\" 'it\\'s \\n'", &argc);
    REQUIRE(v && argc == 2);
    CHECK_STR(v[0], "\n\r\t\b\a\\\"AJq");
    CHECK_STR(v[1], "it's \\n");
    config_free_args(v, argc);

    /* \x with a NUL byte stays binary-safe. */
    v = split("\"a\\x00b\"", &argc);
    REQUIRE(v && argc == 1);
    CHECK_EQ_LL(dstr_len(v[0]), 3);
    CHECK(memcmp(v[0], "a\0b", 3) == 0);
    config_free_args(v, argc);

    /* \x without two hex digits is an ordinary escape of 'x'. */
    v = split("\"\\xZZ\"", &argc);
    REQUIRE(v && argc == 1);
    CHECK_STR(v[0], "xZZ");
    config_free_args(v, argc);

    /* A quote inside a word opens a quoted part of the same word. */
    v = split("foo\"bar baz\"", &argc);
    REQUIRE(v && argc == 1);
    CHECK_STR(v[0], "foobar baz");
    config_free_args(v, argc);

    v = split("", &argc);
    CHECK(v && argc == 0);
    config_free_args(v, argc);

    /* Unbalanced quotes, and a closing quote followed by a non-space. */
    CHECK(split("\"abc", &argc) == NULL);
    CHECK(split("'abc", &argc) == NULL);
    CHECK(split("\"abc\"def", &argc) == NULL);
    CHECK(split("'abc'def", &argc) == NULL);
    CHECK(split("\"abc\\\"", &argc) == NULL);
}

static void test_load_file_text(void)
{
    cairn_engine *e = new_engine();
    dstr err;
    const char *text = "# a comment\n"
                       "\n"
                       "   port 7000   \r\n"
                       "PORT 7001\n"
                       "databases 4\n"
                       "bind 10.0.0.1 \"::1\"\n"
                       "maxmemory 1gb\n"
                       "proto-max-bulk-len 2mb\n"
                       "loglevel WARNING\n"
                       "daemonize yes\n"
                       "logfile \"/tmp/my log\"\n"
                       "unixsocketperm 700\n"
                       "hz 1000\n"
                       "maxmemory-policy allkeys-lru\n"
                       "\t# indented comment\n";
    CHECK_EQ_LL(load(e, text, &err), 0);
    CHECK(err == NULL);
    CHECK_EQ_LL(server_of(e)->port, 7001);
    CHECK_EQ_LL(e->cfg.databases, 4);
    CHECK(value_is(e, "bind", "10.0.0.1 ::1"));
    CHECK_EQ_LL(e->cfg.maxmemory, 1024LL * 1024 * 1024);
    CHECK_EQ_LL(e->cfg.proto_max_bulk_len, 2 * 1024 * 1024);
    CHECK_EQ_LL(server_of(e)->loglevel, LL_WARNING);
    CHECK_EQ_LL(server_of(e)->daemonize, 1);
    CHECK_STR(server_of(e)->logfile, "/tmp/my log");
    CHECK_EQ_LL(server_of(e)->unixsocketperm, 0700);
    CHECK(value_is(e, "unixsocketperm", "700"));
    CHECK_EQ_LL(e->cfg.hz, 500); /* capped, like Redis */
    CHECK_EQ_LL(e->cfg.maxmemory_policy, MAXMEMORY_ALLKEYS_LRU);
    free_engine(e);
}

static void test_bind_forms(void)
{
    cairn_engine *e = new_engine();
    dstr err;
    /* One quoted argument is split again, so --bind "a b" works. */
    CHECK_EQ_LL(load(e, "bind \"1.2.3.4 5.6.7.8\"\n", &err), 0);
    CHECK(value_is(e, "bind", "1.2.3.4 5.6.7.8"));
    CHECK_EQ_LL(load(e, "bind \"\"\n", &err), 0);
    CHECK(value_is(e, "bind", ""));
    CHECK_EQ_LL(load(e, "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", &err), -1);
    CHECK(err && strstr(err, "Too many bind addresses specified."));
    dstr_free(err);
    free_engine(e);
}

static void test_save_lines(void)
{
    cairn_engine *e = new_engine();
    dstr err;
    /* The first save line replaces the default, later ones add. */
    CHECK_EQ_LL(load(e, "save 900 1\nsave 300 10\nsave \"60 10000\"\n", &err), 0);
    CHECK(value_is(e, "save", "900 1 300 10 60 10000"));
    free_engine(e);

    e = new_engine();
    CHECK_EQ_LL(load(e, "save \"\"\n", &err), 0);
    CHECK(value_is(e, "save", ""));
    CHECK_EQ_LL(load(e, "save 0 1\n", &err), -1);
    CHECK(err && strstr(err, "Invalid save parameters"));
    dstr_free(err);
    CHECK_EQ_LL(load(e, "save 10\n", &err), -1);
    dstr_free(err);
    free_engine(e);

    /* A command-line value goes through the same rules. */
    e = new_engine();
    char buf[256];
    CHECK(config_set(e, "save", "100 5", 1, buf, sizeof(buf)) == NULL);
    CHECK(value_is(e, "save", "100 5"));
    CHECK(config_set(e, "save", "", 1, buf, sizeof(buf)) == NULL);
    CHECK(value_is(e, "save", ""));
    free_engine(e);
}

static void test_load_errors(void)
{
    cairn_engine *e = new_engine();
    dstr err;

    CHECK_EQ_LL(load(e, "port 1\nnosuchthing 1\n", &err), -1);
    REQUIRE(err != NULL);
    CHECK(strstr(err, "at line 2") != NULL);
    CHECK(strstr(err, ">>> 'nosuchthing 1'") != NULL);
    CHECK(strstr(err, "Bad directive or wrong number of arguments") != NULL);
    dstr_free(err);

    CHECK_EQ_LL(load(e, "port 1 2\n", &err), -1);
    CHECK(err && strstr(err, "wrong number of arguments"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "port \"1\n", &err), -1);
    CHECK(err && strstr(err, "Unbalanced quotes in configuration line"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "port 70000\n", &err), -1);
    CHECK(err && strstr(err, "argument must be between 0 and 65535 inclusive"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "port 12abc\n", &err), -1);
    CHECK(err && strstr(err, "argument couldn't be parsed into an integer"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "maxmemory 12tb\n", &err), -1);
    CHECK(err && strstr(err, "argument must be a memory value"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "daemonize maybe\n", &err), -1);
    CHECK(err && strstr(err, "argument must be 'yes' or 'no'"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "loglevel loud\n", &err), -1);
    CHECK(err && strstr(err, "argument(s) must be one of the following: debug, verbose, "
                             "notice, warning"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "unixsocketperm 800\n", &err), -1);
    CHECK(err && strstr(err, "argument couldn't be parsed as an octal number"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "unixsocketperm 1777\n", &err), -1);
    CHECK(err && strstr(err, "argument must be between 0 and 777 inclusive"));
    dstr_free(err);

    CHECK_EQ_LL(load(e, "active-expire-effort 0\n", &err), -1);
    CHECK(err && strstr(err, "argument must be between 1 and 10 inclusive"));
    dstr_free(err);

    /* Nothing after the failing line was applied, earlier lines were. */
    CHECK_EQ_LL(server_of(e)->port, 1);
    free_engine(e);
}

static void test_config_set_api(void)
{
    cairn_engine *e = new_engine();
    char buf[256];
    CHECK(config_set(e, "port", "7777", 0, buf, sizeof(buf)) == NULL);
    CHECK_EQ_LL(server_of(e)->port, 7777);
    const char *msg = config_set(e, "databases", "3", 0, buf, sizeof(buf));
    CHECK(msg && strcmp(msg, "can't set immutable config") == 0);
    CHECK(config_set(e, "databases", "3", 1, buf, sizeof(buf)) == NULL);
    CHECK_EQ_LL(e->cfg.databases, 3);
    msg = config_set(e, "nope", "3", 1, buf, sizeof(buf));
    CHECK(msg && strcmp(msg, "Bad directive or wrong number of arguments") == 0);
    /* CONFIG SET splits multi-argument values on single spaces. */
    CHECK(config_set(e, "bind", "a  b", 0, buf, sizeof(buf)) == NULL);
    CHECK(value_is(e, "bind", "a  b"));
    CHECK(config_set(e, "maxclients", "4294967295", 0, buf, sizeof(buf)) == NULL);
    CHECK_EQ_LL(server_of(e)->net.maxclients, 2147483647);
    msg = config_set(e, "maxclients", "0", 0, buf, sizeof(buf));
    CHECK(msg && strcmp(msg, "argument must be between 1 and 4294967295 inclusive") == 0);
    msg = config_set(e, "proto-max-bulk-len", "1", 0, buf, sizeof(buf));
    CHECK(msg &&
          strcmp(msg, "argument must be between 1048576 and 9223372036854775807 inclusive") == 0);
    CHECK(config_set(e, "hz", "0", 0, buf, sizeof(buf)) == NULL);
    CHECK_EQ_LL(e->cfg.hz, 1);
    msg = config_set(e, "hz", "-1", 0, buf, sizeof(buf));
    CHECK(msg && strcmp(msg, "argument must be between 0 and 2147483647 inclusive") == 0);
    free_engine(e);
}

/* CONFIG REWRITE's text: comments kept, values in place, aliases renamed,
 * lines of a parameter beyond its value dropped, unknown lines commented
 * out, new values appended once under the signature. */
static void test_rewrite_text(void)
{
    cairn_engine *e = new_engine();
    char buf[256];
    CHECK(config_set(e, "port", "7000", 1, buf, sizeof(buf)) == NULL);
    CHECK(config_set(e, "hz", "20", 1, buf, sizeof(buf)) == NULL);
    CHECK(config_set(e, "maxmemory", "3gb", 1, buf, sizeof(buf)) == NULL);
    CHECK(config_set(e, "logfile", "a \"b\".log", 1, buf, sizeof(buf)) == NULL);
    CHECK(config_set(e, "bind", "", 1, buf, sizeof(buf)) == NULL);
    const char *old = "# head\n"
                      "  port 6379  \n"
                      "\n"
                      "\n"
                      "hash-max-ziplist-entries 100\n"
                      "port 6380\n"
                      "nosuch thing\n"
                      "\n";
    dstr out = config_rewrite_text(e, old, strlen(old));
    CHECK_STR(out, "# head\n"
                   "port 7000\n"
                   "\n"
                   "hash-max-listpack-entries 512\n"
                   "\n"
                   "# ??? nosuch thing\n"
                   "\n"
                   "# Generated by CONFIG REWRITE\n"
                   "hz 20\n"
                   "dir \"./\"\n"
                   "save 3600 1\n"
                   "save 300 100\n"
                   "save 60 10000\n"
                   "maxmemory 3gb\n"
                   "bind \"\"\n"
                   "logfile \"a \\\"b\\\".log\"\n");
    /* Rewriting the result again changes nothing. */
    dstr again = config_rewrite_text(e, out, dstr_len(out));
    CHECK_STR(again, out);
    dstr_free(again);
    dstr_free(out);
    free_engine(e);
}

/* Redis's directives Cairn does not act on load with one warning each,
 * keep Redis's types and bounds, and show in CONFIG GET. */
static void test_compat_directives(void)
{
    cairn_engine *e = new_engine();
    dstr err;
    warnings[0] = '\0';
    CHECK_EQ_LL(load(e,
                     "activerehashing no\n"
                     "oom-score-adj-values 0 100 900\n"
                     "slave-serve-stale-data no\n"
                     "list-max-ziplist-entries 512\n"
                     "mymodule.threads 4\n"
                     "replica-announce-ip 10.1.2.3\n",
                     &err),
                0);
    CHECK(err == NULL);
    CHECK(value_is(e, "activerehashing", "no"));
    CHECK(value_is(e, "oom-score-adj-values", "0 100 900"));
    CHECK(value_is(e, "replica-serve-stale-data", "no"));
    CHECK(value_is(e, "tls-port", "0"));
    CHECK(strstr(warnings, "Config 'activerehashing' is accepted") != NULL);
    CHECK(strstr(warnings, "Config 'replica-serve-stale-data' is accepted") != NULL);
    CHECK(strstr(warnings, "Directive 'list-max-ziplist-entries' is accepted") != NULL);
    CHECK(strstr(warnings, "Directive 'mymodule.threads' is accepted") != NULL);
    /* One line per directive. */
    int lines = 0;
    for (const char *p = warnings; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    CHECK_EQ_LL(lines, 6);

    CHECK_EQ_LL(load(e, "activerehashing maybe\n", &err), -1);
    CHECK(err && strstr(err, "argument must be 'yes' or 'no'"));
    dstr_free(err);
    CHECK_EQ_LL(load(e, "tls-port 70000\n", &err), -1);
    CHECK(err && strstr(err, "argument must be between 0 and 65535 inclusive"));
    dstr_free(err);
    CHECK_EQ_LL(load(e, "oom-score-adj-values 0 100\n", &err), -1);
    CHECK(err != NULL);
    dstr_free(err);
    CHECK_EQ_LL(load(e, "repl-diskless-load sometimes\n", &err), -1);
    CHECK(err && strstr(err, "argument(s) must be one of the following: disabled, on-empty-db, "
                             "swapdb"));
    dstr_free(err);
    CHECK_EQ_LL(load(e, "mymodule.threads\n", &err), -1);
    CHECK(err && strstr(err, "Module config specified without value"));
    dstr_free(err);
    /* No host to read files: include is refused rather than skipped. */
    CHECK_EQ_LL(load(e, "include /nonexistent.conf\n", &err), -1);
    CHECK(err != NULL);
    dstr_free(err);
    free_engine(e);
}

/* A compat entry whose parameter Cairn now implements must go: the real
 * one shadows it, and it would only mislead. */
static void test_compat_not_shadowed(void)
{
    cairn_engine *e = new_engine();
    const char *name = config_compat_shadowed(e);
    if (name) fprintf(stderr, "  '%s' is implemented now: delete it from config_compat.c\n", name);
    CHECK(name == NULL);
    free_engine(e);
}

int main(void)
{
    TEST(test_defaults);
    TEST(test_no_host);
    TEST(test_memory_units);
    TEST(test_split_args);
    TEST(test_load_file_text);
    TEST(test_bind_forms);
    TEST(test_save_lines);
    TEST(test_load_errors);
    TEST(test_config_set_api);
    TEST(test_rewrite_text);
    TEST(test_compat_directives);
    TEST(test_compat_not_shadowed);
    return TEST_REPORT();
}
