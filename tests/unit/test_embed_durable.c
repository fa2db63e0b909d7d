/* The embedding API with a directory: the same durability as the server
 * (the log, snapshots, recovery, the directory lock), through cairn.h
 * only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* A loopback port nothing listens on now (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static cairn *open_member(const char *dir, const char *peers, int *rc)
{
    cairn_options o;
    cairn_options_init(&o);
    o.dir = dir;
    o.raft_id = 1;
    o.raft_peers = peers;
    o.raft_timeout_ms = 20000;
    cairn *db;
    *rc = cairn_open(&o, &db);
    return db;
}

/* A group of one embedded member: it elects itself, acknowledges writes
 * once committed to its Raft log, and a new handle on the directory
 * recovers them from that log (not from an append-only file). */
static void test_group_of_one_member(void)
{
    char buf[256], peers[64];
    char *dir = make_tmpdir();
    CHECK(dir != NULL);
    int port = free_port();
    CHECK(port > 0);
    snprintf(peers, sizeof(peers), "1@127.0.0.1:%d", port);
    int rc;
    cairn *db = open_member(dir, peers, &rc);
    CHECK_EQ_LL(rc, CAIRN_OK);
    /* until it has elected itself, data commands are refused */
    for (int i = 0; i < 2000 && strcmp(CMD(db, "SET", "k", "v1"), "OK") != 0; i++)
        usleep(10000);
    CHECK_STR(CMD(db, "SET", "k", "v1"), "OK");
    CHECK_STR(CMD(db, "INCR", "n"), "1");
    CHECK_STR(CMD(db, "GET", "k"), "v1");
    CHECK_STR(CMD(db, "ROLE"), "(other)");
    cairn_close(db);
    struct stat st;
    CHECK(stat(dir, &st) == 0);
    char raft[128];
    snprintf(raft, sizeof(raft), "%s/raft", dir);
    CHECK(stat(raft, &st) == 0 && S_ISDIR(st.st_mode));

    db = open_member(dir, peers, &rc);
    CHECK_EQ_LL(rc, CAIRN_OK);
    for (int i = 0; i < 2000 && strcmp(CMD(db, "GET", "k"), "v1") != 0; i++)
        usleep(10000);
    CHECK_STR(CMD(db, "GET", "k"), "v1");
    CHECK_STR(CMD(db, "INCR", "n"), "2");
    cairn_close(db);
    rm_rf(dir);
}

static void test_member_options(void)
{
    cairn_options o;
    cairn *db;
    cairn_options_init(&o);
    o.raft_id = 1; /* no peers */
    CHECK_EQ_LL(cairn_open(&o, &db), CAIRN_MISUSE);
    CHECK(strstr(cairn_errmsg(db), "raft_peers") != NULL);
    cairn_close(db);
    cairn_options_init(&o);
    o.raft_id = 1;
    o.raft_peers = "1@127.0.0.1:7001"; /* no dir for the log */
    CHECK_EQ_LL(cairn_open(&o, &db), CAIRN_MISUSE);
    CHECK(strstr(cairn_errmsg(db), "dir") != NULL);
    cairn_close(db);
    char *dir = make_tmpdir();
    CHECK(dir != NULL);
    int rc;
    db = open_member(dir, "2@127.0.0.1:7001", &rc); /* id 1 is not in the list */
    CHECK_EQ_LL(rc, CAIRN_ERROR);
    CHECK(strstr(cairn_errmsg(db), "not in raft-peers") != NULL);
    cairn_close(db);
    rm_rf(dir);
}

/* Can a TCP connection be made to addr:port? */
static int can_connect(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &a.sin_addr);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

/* A member configured through `config` alone, with the server's names:
 * its id and peers, the group's name (what the Sentinel commands answer
 * for), its tick, its follower proxy, and an address to bind that is not
 * the one the peer list advertises. */
static void test_member_configured_like_a_server(void)
{
    char buf[256], peers[64];
    char *dir = make_tmpdir();
    REQUIRE(dir != NULL);
    int port = free_port();
    REQUIRE(port > 0);
    snprintf(peers, sizeof(peers), "1@127.0.0.2:%d", port);
    const char *config[] = {"raft-id",
                            "1",
                            "raft-peers",
                            peers,
                            "raft-group-name",
                            "orders",
                            "raft-tick-ms",
                            "10",
                            "bind",
                            "127.0.0.3",
                            "raft-follower-proxy",
                            "no",
                            NULL};
    cairn_options o;
    cairn_options_init(&o);
    o.dir = dir;
    o.config = config;
    o.raft_timeout_ms = 20000;
    cairn *db;
    int rc = cairn_open(&o, &db);
    CHECK_EQ_LL(rc, CAIRN_OK);
    if (rc != CAIRN_OK) fprintf(stderr, "  %s\n", cairn_errmsg(db));
    for (int i = 0; rc == CAIRN_OK && i < 2000 && strcmp(CMD(db, "SET", "k", "v"), "OK"); i++)
        usleep(10000);
    CHECK_STR(CMD(db, "SET", "k", "v"), "OK");
    CHECK_STR(CMD(db, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cairn"), "(nil)");
    cairn_reply *r;
    REQUIRE(cairn_commandl(db, &r, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "orders", (char *)NULL) ==
            CAIRN_OK);
    CHECK(r->type == CAIRN_REPLY_ARRAY && r->elements == 2 &&
          !strcmp(r->element[0]->str, "127.0.0.2"));
    cairn_reply_free(r);
    REQUIRE(cairn_commandl(db, &r, "CONFIG", "GET", "raft-*", (char *)NULL) == CAIRN_OK);
    int tick = 0, proxy = 0;
    for (size_t i = 0; r->type == CAIRN_REPLY_MAP && i + 1 < r->elements; i += 2) {
        tick |=
            !strcmp(r->element[i]->str, "raft-tick-ms") && !strcmp(r->element[i + 1]->str, "10");
        proxy |= !strcmp(r->element[i]->str, "raft-follower-proxy") &&
                 !strcmp(r->element[i + 1]->str, "no");
    }
    CHECK(tick && proxy);
    cairn_reply_free(r);
    /* it listens where bind says, not on the advertised address */
    CHECK(can_connect("127.0.0.3", port));
    CHECK(!can_connect("127.0.0.2", port));
    cairn_close(db);
    rm_rf(dir);
}

/* Settings of the cairn-server process are refused by name, from the
 * options and from CONFIG SET, and CONFIG GET does not show them; the
 * settings a member shares with a server are there on every handle. */
static void test_server_only_settings_refused(void)
{
    static const char *const refused[][2] = {
        {"port", "7001"},          {"daemonize", "yes"},
        {"logfile", "/tmp/x.log"}, {"loglevel", "debug"},
        {"supervised", "systemd"}, {"tls-port", "7002"},
        {"unixsocket", "/tmp/s"},  {"replicaof", "127.0.0.1 6379"},
        {"metrics-port", "9121"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *config[] = {refused[i][0], refused[i][1], NULL};
        cairn_options o;
        cairn_options_init(&o);
        o.config = config;
        cairn *db;
        CHECK_EQ_LL(cairn_open(&o, &db), CAIRN_ERROR);
        char want[64];
        snprintf(want, sizeof(want), "'%s' is a cairn-server setting", refused[i][0]);
        CHECK(strstr(cairn_errmsg(db), want) != NULL);
        if (!strstr(cairn_errmsg(db), want)) fprintf(stderr, "  %s\n", cairn_errmsg(db));
        cairn_close(db);
    }
    const char *config[] = {"raft-tick-ms", "10", "masterauth", "pw", NULL};
    cairn_options o;
    cairn_options_init(&o);
    o.config = config;
    cairn *db;
    REQUIRE(cairn_open(&o, &db) == CAIRN_OK);
    char buf[256];
    CHECK(strstr(CMD(db, "CONFIG", "SET", "port", "7001"), "'port' is a cairn-server setting"));
    CHECK_STR(CMD(db, "CONFIG", "SET", "tls-replication", "yes"), "OK");
    cairn_reply *r;
    REQUIRE(cairn_commandl(db, &r, "CONFIG", "GET", "port", (char *)NULL) == CAIRN_OK);
    CHECK(r->type == CAIRN_REPLY_MAP && r->elements == 0);
    cairn_reply_free(r);
    REQUIRE(cairn_commandl(db, &r, "CONFIG", "GET", "*port*", (char *)NULL) == CAIRN_OK);
    for (size_t i = 0; r->type == CAIRN_REPLY_MAP && i < r->elements; i += 2)
        CHECK(strcmp(r->element[i]->str, "port") && strcmp(r->element[i]->str, "tls-port"));
    cairn_reply_free(r);
    REQUIRE(cairn_commandl(db, &r, "CONFIG", "GET", "raft-tick-ms", (char *)NULL) == CAIRN_OK);
    CHECK(r->type == CAIRN_REPLY_MAP && r->elements == 2 && !strcmp(r->element[1]->str, "10"));
    cairn_reply_free(r);
    cairn_close(db);
}

/* A member whose TLS settings cannot be used does not open, and says
 * why (no log handler can be set before cairn_open() returns). */
static void test_member_tls_settings_checked(void)
{
    char peers[64];
    char *dir = make_tmpdir();
    REQUIRE(dir != NULL);
    snprintf(peers, sizeof(peers), "1@127.0.0.1:%d", free_port());
    const char *config[] = {"raft-id",
                            "1",
                            "raft-peers",
                            peers,
                            "tls-replication",
                            "yes",
                            "tls-cert-file",
                            "/nonexistent/node.crt",
                            "tls-key-file",
                            "/nonexistent/node.key",
                            NULL};
    cairn_options o;
    cairn_options_init(&o);
    o.dir = dir;
    o.config = config;
    cairn *db;
    CHECK_EQ_LL(cairn_open(&o, &db), CAIRN_ERROR);
    CHECK(strstr(cairn_errmsg(db), "TLS") != NULL);
    CHECK(strstr(cairn_errmsg(db), "tls-ca-cert-file") != NULL);
    cairn_close(db);
    rm_rf(dir);
}

int main(void)
{
    TEST(test_writes_survive_close_and_reopen);
    TEST(test_directory_is_locked);
    TEST(test_rewrite_and_snapshots_in_the_foreground);
    TEST(test_snapshot_only);
    TEST(test_damage_is_reported);
    TEST(test_bad_sync_option);
    TEST(test_group_of_one_member);
    TEST(test_member_options);
    TEST(test_member_configured_like_a_server);
    TEST(test_server_only_settings_refused);
    TEST(test_member_tls_settings_checked);
    return TEST_REPORT();
}
