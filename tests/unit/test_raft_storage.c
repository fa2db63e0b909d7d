/* Unit tests of the Raft log storage (src/repl/storage.c), in temp dirs. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/fileio.h"
#include "repl/storage.h"
#include "test.h"
#include "tmpdir.h"

static char dir[64];

static void make_tmpdir(void) { tmpdir_make(dir, sizeof(dir), "rstore"); }

static void rm_dir(void) { tmpdir_remove(dir); }

static size_t count_segments(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, "log-", 4)) n++;
    closedir(d);
    return n;
}

static dstr last_segment(void)
{
    char best[300] = "";
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, "log-", 4) && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    if (d) closedir(d);
    return path_join(dir, best);
}

static raft_entry ent(uint64_t index, uint64_t term, const char *data)
{
    return (raft_entry){.term = term,
                        .index = index,
                        .type = RAFT_ENTRY_NORMAL,
                        .len = (uint32_t)strlen(data),
                        .data = (uint8_t *)data};
}

static int append_range(raft_storage *s, uint64_t from, uint64_t to, uint64_t term)
{
    for (uint64_t i = from; i <= to; i++) {
        raft_entry e = ent(i, term, "payload-of-an-entry");
        if (rstore_append(s, &e, 1) != 0) return -1;
    }
    return rstore_sync(s);
}

static raft_storage *reopen(raft_storage *s, char *err)
{
    rstore_close(s);
    raft_storage *n = NULL;
    err[0] = '\0';
    if (rstore_open(dir, 256, &n, err, 256) != 0) return NULL;
    return n;
}

static void test_roundtrip_and_segments(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    size_t n;
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 0);
    CHECK_EQ_LL(rstore_hard_state(s)->term, 0);
    CHECK_EQ_LL(append_range(s, 1, 40, 1), 0);
    raft_hard_state hs = {.term = 3, .vote = 2, .commit = 30};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    CHECK(count_segments() > 3); /* 256-byte segments rotate */
    s = reopen(s, err);
    REQUIRE(s);
    const raft_entry *e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 40);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_LL(e[i].index, i + 1);
        CHECK_EQ_LL(e[i].term, 1);
        CHECK(e[i].len == 19 && memcmp(e[i].data, "payload-of-an-entry", 19) == 0);
    }
    CHECK_EQ_LL(rstore_hard_state(s)->term, 3);
    CHECK_EQ_LL(rstore_hard_state(s)->vote, 2);
    CHECK_EQ_LL(rstore_hard_state(s)->commit, 30);
    /* a conflicting append from index 5 drops 5..40, across segments */
    size_t segs = count_segments();
    raft_entry x = ent(5, 2, "new");
    CHECK_EQ_LL(rstore_append(s, &x, 1), 0);
    CHECK_EQ_LL(rstore_sync(s), 0);
    CHECK(count_segments() < segs);
    CHECK_EQ_LL(rstore_last_index(s), 5);
    hs.commit = 5;
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    s = reopen(s, err);
    REQUIRE(s);
    e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 5);
    CHECK_EQ_LL(e[4].term, 2);
    CHECK(e[4].len == 3 && memcmp(e[4].data, "new", 3) == 0);
    /* appending past the end is refused */
    raft_entry gap = ent(9, 2, "gap");
    CHECK_EQ_LL(rstore_append(s, &gap, 1), -1);
    rstore_close(s);
    rm_dir();
}

static void test_torn_tail_is_cut(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 10, 1), 0);
    rstore_close(s);
    /* half a record at the end of the last segment */
    dstr path = last_segment();
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    off_t good = st.st_size;
    int fd = open(path, O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    unsigned char half[20] = {0xCB, 1, 9, 9, 9, 9};
    CHECK(write(fd, half, sizeof(half)) == (ssize_t)sizeof(half));
    close(fd);
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    size_t n;
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 10);
    REQUIRE(stat(path, &st) == 0);
    CHECK_EQ_LL(st.st_size, good); /* cut */
    /* a complete last record with a bad checksum is a torn write too */
    rstore_close(s);
    fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    unsigned char b;
    CHECK(pread(fd, &b, 1, good - 1) == 1);
    b ^= 0xFF;
    CHECK(pwrite(fd, &b, 1, good - 1) == 1);
    close(fd);
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 9);
    rstore_close(s);
    dstr_free(path);
    rm_dir();
}

static void test_corruption_is_refused(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 10, 1), 0);
    rstore_close(s);
    dstr path = last_segment();
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    unsigned char b;
    off_t at = 3 * (RSTORE_RECORD_HEADER + 19) + 30; /* inside record 4 */
    CHECK(pread(fd, &b, 1, at) == 1);
    b ^= 0x01;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
    s = NULL;
    CHECK_EQ_LL(rstore_open(dir, 1 << 20, &s, err, sizeof(err)), -1);
    CHECK(s == NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "offset 138") != NULL);
    CHECK(strstr(err, "checksum") != NULL);
    dstr_free(path);
    rm_dir();

    /* a hard state that commits past the log means synced entries are gone */
    make_tmpdir();
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 3, 1), 0);
    raft_hard_state hs = {.term = 1, .commit = 7};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    rstore_close(s);
    CHECK_EQ_LL(rstore_open(dir, 1 << 20, &s, err, sizeof(err)), -1);
    CHECK(strstr(err, "commit index 7") != NULL);
    rm_dir();
}

/* A failed write (here: the file size limit, as a full disk would) makes
 * the storage refuse everything after, and recovery sees only what was
 * synced before. */
static void test_write_failure_is_sticky(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 5, 1), 0);
    struct rlimit old, lim;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 5 * (RSTORE_RECORD_HEADER + 19) + 10;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int rc = append_range(s, 6, 10, 1);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_EQ_LL(rc, -1);
    CHECK_EQ_LL(rstore_sync(s), -1);
    raft_hard_state hs = {.term = 2};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), -1);
    raft_entry e = ent(6, 1, "x");
    CHECK_EQ_LL(rstore_append(s, &e, 1), -1);
    rstore_close(s);
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    size_t n;
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 5);
    CHECK_EQ_LL(rstore_hard_state(s)->term, 0);
    rstore_close(s);
    rm_dir();
}

static int write_snapshot(raft_storage *s, uint64_t index, uint64_t term, const char *data)
{
    raft_snapshot_meta m = {.index = index, .term = term, .size = strlen(data)};
    m.conf.n_voters = 3;
    m.conf.voters[0] = 1;
    m.conf.voters[1] = 2;
    m.conf.voters[2] = 7;
    m.conf.n_learners = 1;
    m.conf.learners[0] = 9;
    size_t half = strlen(data) / 2;
    if (rstore_snapshot_begin(s, &m) != 0 || rstore_snapshot_write(s, data, half) != 0 ||
        rstore_snapshot_write(s, data + half, strlen(data) - half) != 0)
        return -1;
    return rstore_snapshot_finish(s);
}

static int copy_file(const char *from, const char *to)
{
    dstr data;
    if (read_small_file(from, 1 << 20, &data) != 0) return -1;
    int fd = open_create_trunc(to);
    int rc = fd >= 0 && write_all(fd, data, dstr_len(data), NULL) == 0 ? 0 : -1;
    if (fd >= 0) close(fd);
    dstr_free(data);
    return rc;
}

/* A snapshot survives a restart, carries its configuration, and the log
 * behind it goes (whole segments at once; what is left is skipped). */
static void test_snapshot_roundtrip_and_cut(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 0);
    CHECK_EQ_LL(append_range(s, 1, 40, 1), 0);
    size_t segs = count_segments();
    CHECK_EQ_LL(write_snapshot(s, 25, 1, "the state machine at 25"), 0);
    CHECK(count_segments() < segs);
    CHECK_EQ_LL(rstore_last_index(s), 40);
    raft_hard_state hs = {.term = 1, .commit = 40};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    s = reopen(s, err);
    REQUIRE(s);
    const raft_snapshot_meta *m = rstore_snapshot(s);
    CHECK_EQ_LL(m->index, 25);
    CHECK_EQ_LL(m->term, 1);
    CHECK_EQ_LL(m->size, 23);
    CHECK_EQ_LL(m->conf.n_voters, 3);
    CHECK_EQ_LL(m->conf.voters[2], 7);
    CHECK_EQ_LL(m->conf.n_learners, 1);
    CHECK_EQ_LL(m->conf.learners[0], 9);
    char buf[32] = "";
    CHECK_EQ_LL(rstore_snapshot_read(s, 0, buf, 23), 0);
    CHECK(memcmp(buf, "the state machine at 25", 23) == 0);
    CHECK_EQ_LL(rstore_snapshot_read(s, 4, buf, 5), 0);
    CHECK(memcmp(buf, "state", 5) == 0);
    CHECK_EQ_LL(rstore_snapshot_read(s, 20, buf, 4), -1); /* past the end */
    size_t n;
    const raft_entry *e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 15);
    CHECK_EQ_LL(e[0].index, 26);
    /* entries covered by the snapshot cannot be rewritten */
    raft_entry x = ent(20, 2, "x");
    CHECK_EQ_LL(rstore_append(s, &x, 1), -1);
    rstore_close(s);
    rm_dir();
}

/* A crash between the rename of a snapshot and the cut of the log, or in
 * the middle of writing one: recovery finishes the cut, and a snapshot
 * whose last entry the log holds with another term replaces the whole
 * log (those entries conflict with it). */
static void test_snapshot_crash_points(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256], other[64];
    snprintf(other, sizeof(other), "%s", dir);
    raft_storage *s;
    /* a snapshot made in another directory, at 12 term 1 */
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 12, 1), 0);
    CHECK_EQ_LL(write_snapshot(s, 12, 1, "state"), 0);
    rstore_close(s);
    dstr snap = path_join(other, "snapshot");
    dstr saved = dstr_from_cstr("/tmp/cairn-unit-rstore-snap-XXXXXX");
    int tfd = mkstemp(saved);
    REQUIRE(tfd >= 0);
    close(tfd);
    CHECK_EQ_LL(copy_file(snap, saved), 0);
    rm_dir();
    dstr_free(snap);

    /* a log 1..20 of term 1 plus that snapshot file, as left by a crash
     * after the rename; plus a half-written snapshot.tmp */
    make_tmpdir();
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 20, 1), 0);
    rstore_close(s);
    snap = path_join(dir, "snapshot");
    CHECK_EQ_LL(copy_file(saved, snap), 0);
    dstr tmp = path_join(dir, "snapshot.tmp");
    CHECK_EQ_LL(copy_file(saved, tmp), 0);
    s = NULL;
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK(!path_exists(tmp));
    size_t n;
    const raft_entry *e = rstore_entries(s, &n);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 12);
    CHECK_EQ_LL(n, 8);
    CHECK_EQ_LL(e[0].index, 13);
    rstore_close(s);
    rm_dir();

    /* the same with a log of term 2 at index 12: all of it goes */
    make_tmpdir();
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 20, 2), 0);
    rstore_close(s);
    dstr_free(snap);
    snap = path_join(dir, "snapshot");
    CHECK_EQ_LL(copy_file(saved, snap), 0);
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 0);
    CHECK_EQ_LL(count_segments(), 0);
    CHECK_EQ_LL(rstore_last_index(s), 12);
    raft_entry x = ent(13, 3, "after");
    CHECK_EQ_LL(rstore_append(s, &x, 1), 0);
    CHECK_EQ_LL(rstore_sync(s), 0);
    s = reopen(s, err);
    REQUIRE(s);
    e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 1);
    CHECK_EQ_LL(e[0].index, 13);
    rstore_close(s);

    /* a damaged snapshot is corruption, named */
    int fd = open(snap, O_WRONLY);
    REQUIRE(fd >= 0);
    CHECK_EQ_LL(pwrite(fd, "X", 1, 302), 1);
    close(fd);
    s = NULL;
    CHECK_EQ_LL(rstore_open(dir, 256, &s, err, sizeof(err)), -1);
    CHECK(strstr(err, "snapshot") && strstr(err, "checksum"));
    rm_dir();
    unlink(saved);
    dstr_free(saved);
    dstr_free(snap);
    dstr_free(tmp);
}

/* A snapshot of the node's own, as a child writes it (create, data, seal)
 * and the node adopts it. */
static int own_snapshot(raft_storage *s, uint64_t index, uint64_t term, const char *data,
                        uint64_t adopt_term)
{
    raft_snapshot_meta m = {.index = index, .term = term};
    m.conf.n_voters = 1;
    m.conf.voters[0] = 1;
    int fd = rstore_bg_create(s);
    if (fd < 0) return -9;
    int ok = write_all(fd, data, strlen(data), NULL) == 0 && rstore_bg_seal(s, fd, &m) == 0;
    close(fd);
    if (!ok) return -9;
    raft_snapshot_meta want = {.index = index, .term = adopt_term};
    return rstore_bg_adopt(s, &want);
}

/* The node's own snapshots never meet one being received: a stream that
 * an own snapshot interrupts resumes where it was; an own snapshot older
 * than the received one, or not the one expected, is dropped and the
 * current one kept; an unfinished one is deleted on recovery. */
static void test_own_snapshot_beside_a_received_one(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256], buf[32] = "";
    raft_storage *s;
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 40, 1), 0);
    raft_snapshot_meta recv = {.index = 30, .term = 1, .size = 12};
    recv.conf.n_voters = 1;
    recv.conf.voters[0] = 1;
    CHECK_EQ_LL(rstore_snapshot_begin(s, &recv), 0);
    CHECK_EQ_LL(rstore_snapshot_write(s, "received", 8), 0);
    CHECK_EQ_LL(own_snapshot(s, 20, 1, "own at 20", 1), RSTORE_BG_ADOPTED);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 20);
    CHECK_EQ_LL(rstore_snapshot(s)->size, 9);
    CHECK_EQ_LL(rstore_snapshot_read(s, 0, buf, 9), 0);
    CHECK(memcmp(buf, "own at 20", 9) == 0);
    CHECK_EQ_LL(rstore_snapshot_write(s, " 30!", 4), 0);
    CHECK_EQ_LL(rstore_snapshot_finish(s), 0);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 30);
    CHECK_EQ_LL(rstore_snapshot_read(s, 0, buf, 12), 0);
    CHECK(memcmp(buf, "received 30!", 12) == 0);
    dstr bg = path_join(dir, "snapshot.bg");
    CHECK_EQ_LL(own_snapshot(s, 25, 1, "own at 25", 1), RSTORE_BG_STALE);
    CHECK(!path_exists(bg));
    CHECK_EQ_LL(own_snapshot(s, 35, 1, "own at 35", 2), RSTORE_BG_BAD);
    CHECK(!path_exists(bg));
    CHECK_EQ_LL(rstore_snapshot(s)->index, 30);
    /* a child killed before it sealed its file */
    int fd = rstore_bg_create(s);
    REQUIRE(fd >= 0);
    CHECK_EQ_LL(write_all(fd, "partial", 7, NULL), 0);
    close(fd);
    raft_hard_state hs = {.term = 1, .commit = 40};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    s = reopen(s, err);
    REQUIRE(s);
    CHECK(!path_exists(bg));
    CHECK_EQ_LL(rstore_snapshot(s)->index, 30);
    CHECK_EQ_LL(own_snapshot(s, 38, 1, "own at 38", 1), RSTORE_BG_ADOPTED);
    s = reopen(s, err);
    REQUIRE(s);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 38);
    CHECK_EQ_LL(rstore_snapshot_read(s, 0, buf, 9), 0);
    CHECK(memcmp(buf, "own at 38", 9) == 0);
    size_t n;
    const raft_entry *e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 2);
    CHECK_EQ_LL(e[0].index, 39);
    rstore_close(s);
    dstr_free(bg);
    rm_dir();
}

/* A roll starts a new segment with the next entry, so a snapshot after it
 * covers whole segments: the log on disk shrinks to what follows. */
static void test_roll_lets_a_snapshot_cut_everything_before(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    rstore_roll(s); /* nothing stored yet: nothing to roll */
    CHECK_EQ_LL(append_range(s, 1, 30, 1), 0);
    CHECK_EQ_LL(count_segments(), 1);
    rstore_roll(s);
    CHECK_EQ_LL(count_segments(), 1);
    CHECK_EQ_LL(append_range(s, 31, 40, 1), 0);
    CHECK_EQ_LL(count_segments(), 2);
    CHECK_EQ_LL(append_range(s, 41, 45, 1), 0);
    CHECK_EQ_LL(count_segments(), 2);
    /* a snapshot at 30 covers the first segment whole */
    CHECK_EQ_LL(write_snapshot(s, 30, 1, "at 30"), 0);
    CHECK_EQ_LL(count_segments(), 1);
    raft_hard_state hs = {.term = 1, .commit = 45};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    CHECK_EQ_LL(rstore_sync(s), 0);
    s = reopen(s, err);
    REQUIRE(s);
    size_t n;
    const raft_entry *e = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 15);
    CHECK_EQ_LL(e[0].index, 31);
    rstore_close(s);
    rm_dir();
}

/* A new leader cuts entries this node wrote in a segment it created
 * (the first one, or one after a roll) and the node writes the leader's
 * in their place: they must land where the cut left the file.  (A
 * segment opened without O_APPEND kept writing at its old end past a
 * hole, so the stored entries were not where the storage said: its own
 * snapshot then found another term at its index, dropped every segment,
 * and the next append was refused -- the node stopped itself; a restart
 * called the hole corruption.) */
static void test_cut_in_a_new_segment_then_snapshot(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 1 << 20, &s, err, sizeof(err)) == 0);
    CHECK_EQ_LL(append_range(s, 1, 20, 1), 0);  /* leader of term 1 */
    CHECK_EQ_LL(append_range(s, 12, 22, 2), 0); /* term 2's leader cuts 12..20 */
    CHECK_EQ_LL(count_segments(), 1);
    CHECK_EQ_LL(own_snapshot(s, 15, 2, "own at 15", 2), RSTORE_BG_ADOPTED);
    CHECK_EQ_LL(count_segments(), 1); /* the log after 15 stays */
    raft_entry e = ent(23, 2, "after the snapshot");
    CHECK_EQ_LL(rstore_append(s, &e, 1), 0);
    CHECK_EQ_LL(rstore_sync(s), 0);
    CHECK_EQ_LL(rstore_last_index(s), 23);
    raft_hard_state hs = {.term = 2, .commit = 23};
    CHECK_EQ_LL(rstore_set_hard_state(s, &hs), 0);
    s = reopen(s, err);
    if (!s) fprintf(stderr, "    reopen: %s\n", err);
    REQUIRE(s);
    size_t n;
    const raft_entry *r = rstore_entries(s, &n);
    CHECK_EQ_LL(n, 8);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_LL(r[i].index, 16 + i);
        CHECK_EQ_LL(r[i].term, 2);
    }
    CHECK(n == 8 && r[7].len == 18 && memcmp(r[7].data, "after the snapshot", 18) == 0);
    /* an own snapshot the log contradicts (term 1 at 20) is a failure
     * that keeps every entry, never a cut of the whole log */
    CHECK_EQ_LL(own_snapshot(s, 20, 1, "own at 20", 1), RSTORE_BG_FAILED);
    CHECK_EQ_LL(count_segments(), 1);
    CHECK_EQ_LL(rstore_snapshot(s)->index, 15);
    s = reopen(s, err);
    REQUIRE(s);
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 8);
    rstore_close(s);
    rm_dir();
}

/* An fsync on another thread: it works on its own descriptor, so the
 * segment may be closed and replaced meanwhile (a new segment makes the
 * job sync the directory too); a failed one is sticky. */
static void test_sync_job(void)
{
    make_tmpdir();
    REQUIRE(dir[0]);
    char err[256];
    raft_storage *s;
    REQUIRE(rstore_open(dir, 256, &s, err, sizeof(err)) == 0);
    raft_entry e = ent(1, 1, "payload-of-an-entry");
    CHECK_EQ_LL(rstore_append(s, &e, 1), 0);
    rstore_sync_job job;
    CHECK_EQ_LL(rstore_sync_begin(s, &job), 0);
    CHECK(job.fd >= 0);
    CHECK(job.dir != NULL); /* the first segment was just created */
    /* appends go on while it runs, into new segments too */
    CHECK_EQ_LL(append_range(s, 2, 30, 1), 0);
    rstore_sync_run(&job);
    CHECK_EQ_LL(job.err, 0);
    CHECK_EQ_LL(rstore_sync_end(s, &job), 0);
    CHECK_EQ_LL(job.fd, -1);
    e = ent(31, 1, "x");
    CHECK_EQ_LL(rstore_append(s, &e, 1), 0);
    CHECK_EQ_LL(rstore_sync_begin(s, &job), 0);
    close(job.fd); /* the fsync will fail (EBADF) */
    rstore_sync_run(&job);
    CHECK(job.err != 0);
    job.fd = -1;
    CHECK_EQ_LL(rstore_sync_end(s, &job), -1);
    CHECK_EQ_LL(rstore_append(s, &e, 1), -1);
    CHECK_EQ_LL(rstore_sync_begin(s, &job), -1);
    CHECK_EQ_LL(rstore_sync(s), -1);
    s = reopen(s, err);
    REQUIRE(s);
    size_t n;
    rstore_entries(s, &n);
    CHECK_EQ_LL(n, 31);
    rstore_close(s);
    rm_dir();
}

int main(void)
{
    TEST(test_roundtrip_and_segments);
    TEST(test_torn_tail_is_cut);
    TEST(test_corruption_is_refused);
    TEST(test_write_failure_is_sticky);
    TEST(test_snapshot_roundtrip_and_cut);
    TEST(test_snapshot_crash_points);
    TEST(test_own_snapshot_beside_a_received_one);
    TEST(test_roll_lets_a_snapshot_cut_everything_before);
    TEST(test_sync_job);
    TEST(test_cut_in_a_new_segment_then_snapshot);
    return TEST_REPORT();
}
