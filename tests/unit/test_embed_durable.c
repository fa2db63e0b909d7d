/* The embedding API with a directory: the same durability as the server
 * (the log, snapshots, recovery, the directory lock), through cairn.h
 * only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"
#include "test.h"

static char *make_tmpdir(void)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/cairn-unit-embed-XXXXXX");
    return mkdtemp(path);
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

static cairn *open_dir(const char *dir, int sync, const char *const *config, int *rc)
{
    cairn_options o;
    cairn_options_init(&o);
    o.dir = dir;
    o.sync = sync;
    o.seed = 42;
    o.config = config;
    cairn *db;
    *rc = cairn_open(&o, &db);
    return db;
}

/* Run a command; returns its reply as a string (status, string or
 * integer), or "(nil)", "(error) ...", "(other)". */
static const char *cmd(cairn *db, char *buf, size_t size, const char *a0, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 16; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    cairn_reply *r;
    if (cairn_command(db, argc, argv, NULL, &r) != CAIRN_OK || !r) {
        snprintf(buf, size, "(fail) %s", cairn_errmsg(db));
        return buf;
    }
    switch (r->type) {
    case CAIRN_REPLY_STATUS:
    case CAIRN_REPLY_STRING: snprintf(buf, size, "%s", r->str); break;
    case CAIRN_REPLY_INTEGER: snprintf(buf, size, "%lld", r->integer); break;
    case CAIRN_REPLY_NIL: snprintf(buf, size, "(nil)"); break;
    case CAIRN_REPLY_ERROR: snprintf(buf, size, "(error) %s", r->str); break;
    default: snprintf(buf, size, "(other)"); break;
    }
    cairn_reply_free(r);
    return buf;
}

#define CMD(db, ...) cmd(db, buf, sizeof(buf), __VA_ARGS__, (char *)NULL)

static void test_writes_survive_close_and_reopen(void)
{
    char *dir = make_tmpdir();
    char buf[256];
    int sync[] = {CAIRN_SYNC_ALWAYS, CAIRN_SYNC_EVERYSEC, CAIRN_SYNC_NO, CAIRN_SYNC_DEFAULT};
    for (size_t i = 0; i < sizeof(sync) / sizeof(sync[0]); i++) {
        int rc;
        cairn *db = open_dir(dir, sync[i], NULL, &rc);
        REQUIRE(rc == CAIRN_OK);
        char n[16];
        snprintf(n, sizeof(n), "%zu", i);
        CHECK_STR(CMD(db, "SET", n, "v"), "OK");
        CMD(db, "INCR", "counter");
        cairn_close(db);
    }
    int rc;
    cairn *db = open_dir(dir, 0, NULL, &rc);
    REQUIRE(rc == CAIRN_OK);
    for (size_t i = 0; i < 4; i++) {
        char n[16];
        snprintf(n, sizeof(n), "%zu", i);
        CHECK_STR(CMD(db, "GET", n), "v");
    }
    CHECK_STR(CMD(db, "GET", "counter"), "4");
    /* INFO persistence is the handle's. */
    cairn_reply *r;
    REQUIRE(cairn_commandl(db, &r, "INFO", "persistence", (char *)NULL) == CAIRN_OK);
    CHECK(strstr(r->str, "aof_enabled:1") != NULL);
    cairn_reply_free(r);
    cairn_close(db);
    rm_rf(dir);
}

static void test_directory_is_locked(void)
{
    char *dir = make_tmpdir();
    int rc;
    cairn *a = open_dir(dir, 0, NULL, &rc);
    REQUIRE(rc == CAIRN_OK);
    cairn *b = open_dir(dir, 0, NULL, &rc);
    CHECK_EQ_LL(rc, CAIRN_BUSY);
    CHECK(strstr(cairn_errmsg(b), "in use by another process") != NULL);
    cairn_close(b);
    cairn_close(a);
    /* Released by the close. */
    b = open_dir(dir, 0, NULL, &rc);
    CHECK_EQ_LL(rc, CAIRN_OK);
    cairn_close(b);
    rm_rf(dir);
}

static void test_rewrite_and_snapshots_in_the_foreground(void)
{
    char *dir = make_tmpdir();
    char buf[256];
    int rc;
    cairn *db = open_dir(dir, CAIRN_SYNC_ALWAYS, NULL, &rc);
    REQUIRE(rc == CAIRN_OK);
    for (int i = 0; i < 100; i++)
        CMD(db, "SET", "k", "v");
    CMD(db, "RPUSH", "list", "a", "b", "c");
    CMD(db, "HSET", "hash", "f", "v");
    CHECK_STR(CMD(db, "BGREWRITEAOF"), "Background append only file rewriting started");
    CHECK_STR(CMD(db, "SET", "after", "1"), "OK");
    CHECK_STR(CMD(db, "SAVE"), "OK");
    CHECK_STR(CMD(db, "BGSAVE"), "Background saving started");
    cairn_close(db);
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.2.base.rdb", dir);
    CHECK(stat(path, &st) == 0);
    db = open_dir(dir, 0, NULL, &rc);
    REQUIRE(rc == CAIRN_OK);
    CHECK_STR(CMD(db, "GET", "after"), "1");
    CHECK_STR(CMD(db, "LINDEX", "list", "2"), "c");
    CHECK_STR(CMD(db, "HGET", "hash", "f"), "v");
    cairn_close(db);
    rm_rf(dir);
}

static void test_snapshot_only(void)
{
    char *dir = make_tmpdir();
    char buf[256];
    int rc;
    const char *const cfg[] = {"appendonly", "no", "save", "3600 1", NULL};
    cairn *db = open_dir(dir, 0, cfg, &rc);
    REQUIRE(rc == CAIRN_OK);
    CHECK_STR(CMD(db, "SET", "k", "v"), "OK");
    cairn_close(db); /* a save point is configured: the close saves */
    char path[256];
    snprintf(path, sizeof(path), "%s/appendonlydir", dir);
    CHECK(access(path, F_OK) != 0);
    db = open_dir(dir, 0, cfg, &rc);
    REQUIRE(rc == CAIRN_OK);
    CHECK_STR(CMD(db, "GET", "k"), "v");
    cairn_close(db);
    rm_rf(dir);
}

static void test_damage_is_reported(void)
{
    char *dir = make_tmpdir();
    char buf[256];
    int rc;
    cairn *db = open_dir(dir, CAIRN_SYNC_ALWAYS, NULL, &rc);
    REQUIRE(rc == CAIRN_OK);
    CMD(db, "SET", "a", "1");
    CMD(db, "SET", "b", "2");
    cairn_close(db);
    char path[256];
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.1.incr.aof", dir);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, 20, SEEK_SET);
    fputc('#', f);
    fclose(f);
    db = open_dir(dir, 0, NULL, &rc);
    CHECK_EQ_LL(rc, CAIRN_CORRUPT);
    CHECK(strstr(cairn_errmsg(db), "appendonly.aof.1.incr.aof") != NULL);
    CHECK(strstr(cairn_errmsg(db), "cairn-check") != NULL);
    cairn_close(db);
    rm_rf(dir);
}

static void test_bad_sync_option(void)
{
    int rc;
    cairn *db = open_dir("/tmp", 9, NULL, &rc);
    CHECK_EQ_LL(rc, CAIRN_MISUSE);
    cairn_close(db);
}

int main(void)
{
    TEST(test_writes_survive_close_and_reopen);
    TEST(test_directory_is_locked);
    TEST(test_rewrite_and_snapshots_in_the_foreground);
    TEST(test_snapshot_only);
    TEST(test_damage_is_reported);
    TEST(test_bad_sync_option);
    return TEST_REPORT();
}
