/* storage.c -- segmented Raft log and atomic hard state; see storage.h. */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../log/entry.h"
#include "../log/fileio.h"

#define RECORD_MAGIC   0xCB
#define RECORD_VERSION 1
#define HS_MAGIC       "CRHS"
#define HS_LEN         32
#define HS_NAME        "hardstate"
#define SNAP_MAGIC     "CRSN"
#define SNAP_HDR       (28 + RAFT_CONF_MAX_BYTES)
#define SNAP_NAME      "snapshot"
#define SNAP_TMP       "snapshot.tmp"
#define SNAP_BG        "snapshot.bg"
#define CRC_BUF        (256u << 10)

typedef struct segment {
    uint64_t first, count;
    uint64_t *offsets; /* of each record, count of them */
    size_t cap;
    uint64_t size;
} segment;

struct raft_storage {
    dstr dir;
    size_t seg_bytes;
    segment *segs;
    size_t nsegs, cap_segs;
    int fd; /* the last segment, or -1 */
    int failed;
    int dir_dirty; /* a segment was created: fsync the directory */
    int roll;      /* the next entry starts a new segment */
    raft_hard_state hs;
    raft_entry *rec;
    size_t nrec;
    raft_snapshot_meta snap;
    int snap_fd; /* the snapshot, open for reading, or -1 */
    int tmp_fd;  /* snapshot.tmp being written, or -1 */
    raft_snapshot_meta tmp_meta;
    uint64_t tmp_written;
    uint32_t tmp_crc;
};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static dstr seg_path(const raft_storage *s, uint64_t first)
{
    char name[40];
    snprintf(name, sizeof(name), "log-%020llu.seg", (unsigned long long)first);
    return path_join(s->dir, name);
}

static uint64_t last_entry_index(const raft_storage *s)
{
    if (!s->nsegs) return 0;
    const segment *g = &s->segs[s->nsegs - 1];
    return g->first + g->count - 1;
}

uint64_t rstore_last_index(const raft_storage *s)
{
    uint64_t last = last_entry_index(s);
    return last > s->snap.index ? last : s->snap.index;
}

static int seg_push_offset(segment *g, uint64_t off)
{
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        uint64_t *n = realloc(g->offsets, cap * sizeof(*n));
        if (!n) return -1;
        g->offsets = n;
        g->cap = cap;
    }
    g->offsets[g->count++] = off;
    return 0;
}

static segment *seg_add(raft_storage *s, uint64_t first)
{
    if (s->nsegs == s->cap_segs) {
        size_t cap = s->cap_segs ? s->cap_segs * 2 : 8;
        segment *n = realloc(s->segs, cap * sizeof(*n));
        if (!n) return NULL;
        s->segs = n;
        s->cap_segs = cap;
    }
    segment *g = &s->segs[s->nsegs++];
    memset(g, 0, sizeof(*g));
    g->first = first;
    return g;
}

/* ---- hard state ---- */

int rstore_set_hard_state(raft_storage *s, const raft_hard_state *hs)
{
    if (s->failed) return -1;
    unsigned char buf[HS_LEN];
    memcpy(buf, HS_MAGIC, 4);
    put_u64(buf + 8, hs->term);
    put_u64(buf + 16, hs->vote);
    put_u64(buf + 24, hs->commit);
    put_u32(buf + 4, crc32c(0, buf + 8, HS_LEN - 8));
    if (write_file_atomic(s->dir, HS_NAME, buf, sizeof(buf)) != 0) {
        s->failed = 1;
        return -1;
    }
    s->hs = *hs;
    return 0;
}

static int load_hard_state(raft_storage *s, char *err, size_t errlen)
{
    dstr path = path_join(s->dir, HS_NAME);
    if (!path_exists(path)) {
        dstr_free(path);
        return 0;
    }
    dstr data;
    if (read_small_file(path, 4096, &data) != 0) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        dstr_free(path);
        return -1;
    }
    const unsigned char *p = (const unsigned char *)data;
    int ok = dstr_len(data) == HS_LEN && memcmp(p, HS_MAGIC, 4) == 0 &&
             get_u32(p + 4) == crc32c(0, p + 8, HS_LEN - 8);
    if (ok) {
        s->hs.term = get_u64(p + 8);
        s->hs.vote = get_u64(p + 16);
        s->hs.commit = get_u64(p + 24);
    } else {
        errf(err, errlen, "%s: corrupt hard state (bad length, magic or checksum)", path);
    }
    dstr_free(data);
    dstr_free(path);
    return ok ? 0 : -1;
}

/* ---- snapshots ---- */

static void snap_header(const raft_snapshot_meta *m, unsigned char *buf)
{
    memset(buf, 0, SNAP_HDR);
    memcpy(buf, SNAP_MAGIC, 4);
    put_u64(buf + 4, m->index);
    put_u64(buf + 12, m->term);
    put_u64(buf + 20, m->size);
    raft_conf_encode(&m->conf, buf + 28);
}

static int snap_parse(const unsigned char *buf, raft_snapshot_meta *m)
{
    if (memcmp(buf, SNAP_MAGIC, 4) != 0) return -1;
    memset(m, 0, sizeof(*m));
    m->index = get_u64(buf + 4);
    m->term = get_u64(buf + 12);
    m->size = get_u64(buf + 20);
    const unsigned char *c = buf + 28;
    size_t clen = 16 + 8 * (size_t)(get_u64(c) + get_u64(c + 8));
    if (get_u64(c) > RAFT_MAX_PEERS || get_u64(c + 8) > RAFT_MAX_PEERS ||
        clen > RAFT_CONF_MAX_BYTES)
        return -1;
    return raft_conf_decode(c, clen, &m->conf);
}

/* Check the snapshot file whole (header, length, checksum) and keep it
 * open for reads. */
static int load_snapshot(raft_storage *s, char *err, size_t errlen)
{
    dstr tmp = path_join(s->dir, SNAP_TMP), path = path_join(s->dir, SNAP_NAME),
         bg = path_join(s->dir, SNAP_BG);
    int rc = -1;
    if ((path_exists(tmp) && unlink(tmp) != 0) || (path_exists(bg) && unlink(bg) != 0)) {
        errf(err, errlen, "%s: %s", path_exists(tmp) ? tmp : bg, strerror(errno));
        goto out;
    }
    if (!path_exists(path)) {
        rc = 0;
        goto out;
    }
    s->snap_fd = open_read(path);
    unsigned char hdr[SNAP_HDR], buf[65536];
    if (s->snap_fd < 0 || read_full(s->snap_fd, hdr, SNAP_HDR) != SNAP_HDR) {
        errf(err, errlen, "%s: %s", path, s->snap_fd < 0 ? strerror(errno) : "header cut short");
        goto out;
    }
    raft_snapshot_meta m;
    off_t size = fd_size(s->snap_fd);
    if (snap_parse(hdr, &m) != 0 || size < 0 || (uint64_t)size != SNAP_HDR + m.size + 4 ||
        m.index == 0) {
        errf(err, errlen, "%s: corrupt snapshot (bad magic, configuration or length)", path);
        goto out;
    }
    uint32_t crc = crc32c(0, hdr + 4, SNAP_HDR - 4);
    for (uint64_t left = m.size; left;) {
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        if (read_full(s->snap_fd, buf, n) != (ssize_t)n) {
            errf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        crc = crc32c(crc, buf, n);
        left -= n;
    }
    if (read_full(s->snap_fd, buf, 4) != 4 || get_u32(buf) != crc) {
        errf(err, errlen, "%s: corrupt snapshot (checksum mismatch)", path);
        goto out;
    }
    s->snap = m;
    rc = 0;
out:
    dstr_free(tmp);
    dstr_free(path);
    dstr_free(bg);
    return rc;
}

const raft_snapshot_meta *rstore_snapshot(const raft_storage *s) { return &s->snap; }

int rstore_snapshot_read(raft_storage *s, uint64_t offset, void *buf, size_t len)
{
    if (s->snap_fd < 0 || offset > s->snap.size || len > s->snap.size - offset) {
        errno = EINVAL;
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n =
            pread(s->snap_fd, (char *)buf + done, len - done, (off_t)(SNAP_HDR + offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

static int fail(raft_storage *s);
static int stored_term(raft_storage *s, uint64_t index, uint64_t *term);

int rstore_snapshot_begin(raft_storage *s, const raft_snapshot_meta *m)
{
    if (s->failed) return -1;
    if (s->tmp_fd >= 0) close(s->tmp_fd);
    dstr tmp = path_join(s->dir, SNAP_TMP);
    s->tmp_fd = open_create_trunc(tmp);
    dstr_free(tmp);
    if (s->tmp_fd < 0) return fail(s);
    unsigned char hdr[SNAP_HDR];
    snap_header(m, hdr);
    if (write_all(s->tmp_fd, hdr, sizeof(hdr), NULL) != 0) return fail(s);
    s->tmp_meta = *m;
    s->tmp_written = 0;
    s->tmp_crc = crc32c(0, hdr + 4, SNAP_HDR - 4);
    return 0;
}

int rstore_snapshot_write(raft_storage *s, const void *data, size_t len)
{
    if (s->failed || s->tmp_fd < 0) return -1;
    if (len > s->tmp_meta.size - s->tmp_written) {
        errno = EINVAL;
        return -1;
    }
    if (write_all(s->tmp_fd, data, len, NULL) != 0) return fail(s);
    s->tmp_crc = crc32c(s->tmp_crc, data, len);
    s->tmp_written += len;
    return 0;
}

static int cut_log_behind_snapshot(raft_storage *s);

int rstore_snapshot_finish(raft_storage *s)
{
    if (s->failed || s->tmp_fd < 0) return -1;
    if (s->tmp_written != s->tmp_meta.size) {
        errno = EINVAL;
        return -1;
    }
    unsigned char crc[4];
    put_u32(crc, s->tmp_crc);
    int rc = write_all(s->tmp_fd, crc, 4, NULL) == 0 && sync_fd(s->tmp_fd) == 0 ? 0 : -1;
    close(s->tmp_fd);
    s->tmp_fd = -1;
    if (rc != 0) return fail(s);
    dstr tmp = path_join(s->dir, SNAP_TMP), path = path_join(s->dir, SNAP_NAME);
    rc = rename(tmp, path) == 0 && sync_dir(s->dir) == 0 ? 0 : -1;
    int fd = rc == 0 ? open_read(path) : -1;
    dstr_free(tmp);
    dstr_free(path);
    if (fd < 0) return fail(s);
    if (s->snap_fd >= 0) close(s->snap_fd);
    s->snap_fd = fd;
    s->snap = s->tmp_meta;
    return cut_log_behind_snapshot(s);
}

/* ---- snapshots written by a child process ---- */

int rstore_bg_create(const raft_storage *s)
{
    dstr path = path_join(s->dir, SNAP_BG);
    int fd = open_create_trunc(path);
    dstr_free(path);
    unsigned char hdr[SNAP_HDR];
    memset(hdr, 0, sizeof(hdr));
    if (fd >= 0 && write_all(fd, hdr, sizeof(hdr), NULL) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The checksum of the file's bytes from 4 to end, read back from it. */
static int crc_of_file(const raft_storage *s, uint64_t end, uint32_t *out)
{
    dstr path = path_join(s->dir, SNAP_BG);
    int fd = open_read(path);
    dstr_free(path);
    unsigned char *buf = fd >= 0 ? malloc(CRC_BUF) : NULL;
    int rc = buf ? 0 : -1;
    uint32_t crc = 0;
    for (uint64_t off = 4; rc == 0 && off < end;) {
        size_t want = end - off < CRC_BUF ? (size_t)(end - off) : CRC_BUF;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            rc = -1;
            break;
        }
        crc = crc32c(crc, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    if (fd >= 0) close(fd);
    *out = crc;
    return rc;
}

static int pwrite_whole(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t n;
    do {
        n = pwrite(fd, buf, len, off);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 && (size_t)n != len) errno = EIO;
    return n >= 0 && (size_t)n == len ? 0 : -1;
}

int rstore_bg_seal(const raft_storage *s, int fd, raft_snapshot_meta *m)
{
    off_t end = fd_size(fd);
    if (end < (off_t)SNAP_HDR) {
        if (end >= 0) errno = EIO;
        return -1;
    }
    m->size = (uint64_t)end - SNAP_HDR;
    unsigned char hdr[SNAP_HDR], crc[4];
    snap_header(m, hdr);
    uint32_t sum;
    if (pwrite_whole(fd, hdr, sizeof(hdr), 0) != 0 || crc_of_file(s, (uint64_t)end, &sum) != 0)
        return -1;
    put_u32(crc, sum);
    if (pwrite_whole(fd, crc, sizeof(crc), end) != 0) return -1;
    return sync_fd(fd);
}

void rstore_bg_discard(const raft_storage *s)
{
    dstr path = path_join(s->dir, SNAP_BG);
    unlink(path);
    dstr_free(path);
}

/* Open the child's file and check that it is the snapshot m (the child
 * checksummed it as it sealed it).  Returns its fd, or -1. */
static int open_bg(const char *path, raft_snapshot_meta *m)
{
    int fd = open_read(path);
    unsigned char hdr[SNAP_HDR];
    raft_snapshot_meta got;
    off_t size = fd >= 0 ? fd_size(fd) : -1;
    if (fd < 0 || read_full(fd, hdr, SNAP_HDR) != SNAP_HDR || snap_parse(hdr, &got) != 0 ||
        got.index != m->index || got.term != m->term || size < 0 ||
        (uint64_t)size != SNAP_HDR + got.size + 4) {
        if (fd >= 0) close(fd);
        errno = EIO;
        return -1;
    }
    m->size = got.size;
    return fd;
}

/* The node's own snapshot stands for entries it applied, so the log holds
 * its last one, of its term: anything else is a log that lost or changed
 * what it acknowledged, and cutting behind the snapshot would drop every
 * entry.  Returns 0, or -1 with errno set. */
static int log_holds(raft_storage *s, const raft_snapshot_meta *m)
{
    uint64_t term;
    if (stored_term(s, m->index, &term) != 0) return -1;
    if (term == m->term) return 0;
    errno = EIO;
    return -1;
}

int rstore_bg_adopt(raft_storage *s, raft_snapshot_meta *m)
{
    if (s->failed) return RSTORE_BG_FAILED;
    dstr bg = path_join(s->dir, SNAP_BG), path = path_join(s->dir, SNAP_NAME);
    int rc = RSTORE_BG_BAD, fd = -1;
    if (m->index <= s->snap.index) {
        rc = RSTORE_BG_STALE;
    } else if ((fd = open_bg(bg, m)) < 0) {
        rc = RSTORE_BG_BAD;
    } else if (log_holds(s, m) != 0) {
        fail(s);
        rc = RSTORE_BG_FAILED;
    } else if (rename(bg, path) == 0) {
        /* from here the file is the node's snapshot: a failure is sticky */
        if (sync_dir(s->dir) != 0) {
            close(fd);
            fail(s);
            rc = RSTORE_BG_FAILED;
        } else {
            if (s->snap_fd >= 0) close(s->snap_fd);
            s->snap_fd = fd;
            s->snap = *m;
            rc = cut_log_behind_snapshot(s) == 0 ? RSTORE_BG_ADOPTED : RSTORE_BG_FAILED;
        }
        fd = -1;
    }
    int err = errno;
    if (fd >= 0) close(fd);
    if (rc != RSTORE_BG_ADOPTED) unlink(bg);
    dstr_free(bg);
    dstr_free(path);
    errno = err;
    return rc;
}

/* The term of stored entry index into *term (0 if the log does not hold
 * it).  Returns 0, or -1 if it could not be read (errno set). */
static int stored_term(raft_storage *s, uint64_t index, uint64_t *term)
{
    *term = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        segment *g = &s->segs[i];
        if (index < g->first || index >= g->first + g->count) continue;
        dstr path = seg_path(s, g->first);
        int fd = open_read(path);
        dstr_free(path);
        if (fd < 0) return -1;
        unsigned char hdr[RSTORE_RECORD_HEADER];
        ssize_t n = pread(fd, hdr, sizeof(hdr), (off_t)g->offsets[index - g->first]);
        int err = errno;
        close(fd);
        if (n != (ssize_t)sizeof(hdr) || hdr[0] != RECORD_MAGIC || get_u64(hdr + 19) != index) {
            errno = n < 0 ? err : EIO;
            return -1;
        }
        *term = get_u64(hdr + 11);
        return 0;
    }
    return 0;
}

static int unlink_segment(raft_storage *s, size_t i)
{
    dstr path = seg_path(s, s->segs[i].first);
    int rc = unlink(path);
    dstr_free(path);
    free(s->segs[i].offsets);
    memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof(*s->segs));
    s->nsegs--;
    return rc;
}

/* Entries up to the snapshot's index are not needed: segments holding
 * only those go.  If the stored entry at the index is missing or of
 * another term, every stored entry conflicts with the snapshot: all go.
 * An entry that cannot be read is a failure, not a conflict. */
static int cut_log_behind_snapshot(raft_storage *s)
{
    uint64_t x = s->snap.index, term;
    if (!s->nsegs || s->segs[0].first > x) return 0;
    if (stored_term(s, x, &term) != 0) return fail(s);
    int all = last_entry_index(s) < x || term != s->snap.term;
    int unlinked = 0;
    if (all && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    while (s->nsegs && (all || (s->nsegs > 1 && s->segs[1].first <= x + 1))) {
        if (unlink_segment(s, 0) != 0) return fail(s);
        unlinked = 1;
    }
    if (unlinked && sync_dir(s->dir) != 0) return fail(s);
    return 0;
}

/* ---- recovery ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First indexes of the segments in the directory, sorted. */
static int list_segments(raft_storage *s, uint64_t **out, size_t *n, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        errf(err, errlen, "%s: %s", s->dir, strerror(errno));
        return -1;
    }
    uint64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long first;
        char tail[8];
        if (sscanf(de->d_name, "log-%20llu.se%1s", &first, tail) != 2 || strlen(de->d_name) != 28 ||
            strcmp(de->d_name + 24, ".seg") != 0)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof(*nv));
            if (!nv) {
                free(v);
                closedir(d);
                errf(err, errlen, "out of memory");
                return -1;
            }
            v = nv;
        }
        v[cnt++] = first;
    }
    closedir(d);
    if (cnt) qsort(v, cnt, sizeof(*v), cmp_u64);
    *out = v;
    *n = cnt;
    return 0;
}

static int keep_entry(raft_storage *s, uint8_t type, uint64_t term, uint64_t index,
                      const unsigned char *data, uint32_t len)
{
    if (s->nrec % 256 == 0) {
        raft_entry *n = realloc(s->rec, (s->nrec + 256) * sizeof(*n));
        if (!n) return -1;
        s->rec = n;
    }
    raft_entry *e = &s->rec[s->nrec];
    *e = (raft_entry){.term = term, .index = index, .type = type, .len = len};
    if (len) {
        e->data = malloc(len);
        if (!e->data) return -1;
        memcpy(e->data, data, len);
    }
    s->nrec++;
    return 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Read one segment.  Returns 0, or -1 with err set. */
static int load_segment(raft_storage *s, uint64_t first, int last, uint64_t *expect, char *err,
                        size_t errlen)
{
    dstr path = seg_path(s, first);
    dstr data;
    int rc = -1;
    if (read_small_file(path, UINT32_MAX - 1, &data) != 0) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        dstr_free(path);
        return -1;
    }
    const unsigned char *p = (const unsigned char *)data;
    size_t len = dstr_len(data), off = 0;
    if (*expect && first != *expect) {
        errf(err, errlen, "%s: starts at index %llu, expected %llu (a segment is missing)", path,
             (unsigned long long)first, (unsigned long long)*expect);
        goto out;
    }
    segment *g = seg_add(s, first);
    if (!g) goto oom;
    while (off < len) {
        const unsigned char *r = p + off;
        size_t left = len - off;
        const char *why = NULL;
        uint32_t dlen = left >= RSTORE_RECORD_HEADER ? get_u32(r + 7) : 0;
        size_t end = off + RSTORE_RECORD_HEADER + (size_t)dlen;
        int cut = left < RSTORE_RECORD_HEADER || end > len;
        if (cut)
            why = "record cut short";
        else if (r[0] != RECORD_MAGIC || r[1] != RECORD_VERSION)
            why = "bad record magic or version";
        else if (get_u32(r + 2) != crc32c(0, r + 6, RSTORE_RECORD_HEADER - 6 + dlen))
            why = "checksum mismatch";
        if (why) {
            /* a torn write: the unsynced tail of the last segment */
            int torn = last && (cut || end == len || all_zero(r, left));
            if (!torn) {
                errf(err, errlen, "%s: offset %zu: %s", path, off, why);
                goto out;
            }
            int fd = open_append(path);
            if (fd < 0 || ftruncate(fd, (off_t)off) != 0 || sync_fd(fd) != 0) {
                errf(err, errlen, "%s: cutting the torn tail at offset %zu: %s", path, off,
                     strerror(errno));
                if (fd >= 0) close(fd);
                goto out;
            }
            close(fd);
            break;
        }
        uint64_t index = get_u64(r + 19);
        if (index != first + g->count) {
            errf(err, errlen, "%s: offset %zu: index %llu where %llu was expected", path, off,
                 (unsigned long long)index, (unsigned long long)(first + g->count));
            goto out;
        }
        if (seg_push_offset(g, off) != 0 ||
            keep_entry(s, r[6], get_u64(r + 11), index, r + RSTORE_RECORD_HEADER, dlen) != 0)
            goto oom;
        off = end;
    }
    g->size = off;
    *expect = first + g->count;
    rc = 0;
    goto out;
oom:
    errf(err, errlen, "%s: out of memory", path);
out:
    dstr_free(data);
    dstr_free(path);
    return rc;
}

static void drop_recovered_upto(raft_storage *s, uint64_t index);

int rstore_open(const char *dir, size_t segment_bytes, raft_storage **out, char *err, size_t errlen)
{
    raft_storage *s = calloc(1, sizeof(*s));
    if (!s) {
        errf(err, errlen, "out of memory");
        return -1;
    }
    s->dir = dstr_from_cstr(dir);
    s->seg_bytes = segment_bytes ? segment_bytes : 64u << 20;
    s->fd = s->snap_fd = s->tmp_fd = -1;
    uint64_t *firsts = NULL;
    size_t n = 0;
    if (make_dir(dir) != 0) {
        errf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (load_hard_state(s, err, errlen) != 0 || load_snapshot(s, err, errlen) != 0 ||
        list_segments(s, &firsts, &n, err, errlen) != 0)
        goto fail;
    uint64_t expect = 0;
    for (size_t i = 0; i < n; i++)
        if (load_segment(s, firsts[i], i + 1 == n, &expect, err, errlen) != 0) goto fail;
    if (cut_log_behind_snapshot(s) != 0) {
        errf(err, errlen, "%s: cutting the log behind the snapshot: %s", dir, strerror(errno));
        goto fail;
    }
    drop_recovered_upto(s, s->snap.index);
    if (s->nrec && s->rec[0].index != s->snap.index + 1) {
        errf(err, errlen, "%s: the log starts at index %llu, not %llu (after the snapshot)", dir,
             (unsigned long long)s->rec[0].index, (unsigned long long)s->snap.index + 1);
        goto fail;
    }
    if (s->hs.commit > rstore_last_index(s)) {
        errf(err, errlen,
             "%s: hard state commit index %llu is past the log's last index %llu (synced "
             "entries are missing)",
             dir, (unsigned long long)s->hs.commit, (unsigned long long)rstore_last_index(s));
        goto fail;
    }
    if (s->nsegs) {
        dstr path = seg_path(s, s->segs[s->nsegs - 1].first);
        s->fd = open_append(path);
        if (s->fd < 0) errf(err, errlen, "%s: %s", path, strerror(errno));
        dstr_free(path);
        if (s->fd < 0) goto fail;
    }
    free(firsts);
    *out = s;
    return 0;
fail:
    free(firsts);
    rstore_close(s);
    return -1;
}

const raft_hard_state *rstore_hard_state(const raft_storage *s) { return &s->hs; }

const raft_entry *rstore_entries(const raft_storage *s, size_t *n)
{
    *n = s->nrec;
    return s->rec;
}

/* Recovered entries up to index are in the snapshot (and all of them if
 * the log was cut whole). */
static void drop_recovered_upto(raft_storage *s, uint64_t index)
{
    size_t k = 0;
    while (k < s->nrec && (s->rec[k].index <= index || !s->nsegs))
        free(s->rec[k++].data);
    if (k) memmove(s->rec, s->rec + k, (s->nrec - k) * sizeof(*s->rec));
    s->nrec -= k;
}

void rstore_release_recovered(raft_storage *s)
{
    for (size_t i = 0; i < s->nrec; i++)
        free(s->rec[i].data);
    free(s->rec);
    s->rec = NULL;
    s->nrec = 0;
}

void rstore_close(raft_storage *s)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (s->snap_fd >= 0) close(s->snap_fd);
    if (s->tmp_fd >= 0) close(s->tmp_fd);
    for (size_t i = 0; i < s->nsegs; i++)
        free(s->segs[i].offsets);
    free(s->segs);
    rstore_release_recovered(s);
    dstr_free(s->dir);
    free(s);
}

/* ---- writing ---- */

static int fail(raft_storage *s)
{
    s->failed = 1;
    return -1;
}

/* Drop every entry from index on: later segments are unlinked (and the
 * directory synced at once, so they cannot come back after a crash and
 * leave a gap), the segment holding index is cut. */
static int truncate_from(raft_storage *s, uint64_t index)
{
    int unlinked = 0;
    while (s->nsegs && s->segs[s->nsegs - 1].first >= index) {
        segment *g = &s->segs[s->nsegs - 1];
        dstr path = seg_path(s, g->first);
        int rc = unlink(path);
        dstr_free(path);
        if (rc != 0) return fail(s);
        if (s->fd >= 0) close(s->fd);
        s->fd = -1;
        free(g->offsets);
        s->nsegs--;
        unlinked = 1;
    }
    if (unlinked && sync_dir(s->dir) != 0) return fail(s);
    if (!s->nsegs) return 0;
    segment *g = &s->segs[s->nsegs - 1];
    if (s->fd < 0) {
        dstr path = seg_path(s, g->first);
        s->fd = open_append(path);
        dstr_free(path);
        if (s->fd < 0) return fail(s);
    }
    if (index < g->first + g->count) {
        uint64_t off = g->offsets[index - g->first];
        if (ftruncate(s->fd, (off_t)off) != 0 || sync_fd(s->fd) != 0) return fail(s);
        g->count = index - g->first;
        g->size = off;
    }
    return 0;
}

static int new_segment(raft_storage *s, uint64_t first)
{
    if (s->fd >= 0) {
        /* a full segment is synced once, here, and never written again */
        if (sync_fd(s->fd) != 0) return fail(s);
        close(s->fd);
        s->fd = -1;
    }
    /* O_APPEND: truncate_from may cut this segment, and the entries that
     * replace the cut ones must follow what is left, not the old end */
    dstr path = seg_path(s, first);
    s->fd = open_append_new(path);
    dstr_free(path);
    if (s->fd < 0 || !seg_add(s, first)) return fail(s);
    s->dir_dirty = 1;
    return 0;
}

int rstore_append(raft_storage *s, const raft_entry *ents, size_t n)
{
    if (s->failed) return -1;
    if (!n) return 0;
    if (ents[0].index <= s->snap.index || ents[0].index > rstore_last_index(s) + 1) {
        errno = EINVAL;
        return -1;
    }
    rstore_release_recovered(s);
    if (ents[0].index <= rstore_last_index(s) && truncate_from(s, ents[0].index) != 0) return -1;
    unsigned char hdr[RSTORE_RECORD_HEADER];
    for (size_t i = 0; i < n; i++) {
        const raft_entry *e = &ents[i];
        segment *g = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
        if (!g || g->size >= s->seg_bytes || s->roll) {
            if (new_segment(s, e->index) != 0) return -1;
            g = &s->segs[s->nsegs - 1];
            s->roll = 0;
        }
        hdr[0] = RECORD_MAGIC;
        hdr[1] = RECORD_VERSION;
        hdr[6] = e->type;
        put_u32(hdr + 7, e->len);
        put_u64(hdr + 11, e->term);
        put_u64(hdr + 19, e->index);
        /* the checksum covers header fields and data, written as one */
        dstr rec = dstr_with_cap(sizeof(hdr) + e->len);
        rec = dstr_cat(rec, hdr, sizeof(hdr));
        if (e->len) rec = dstr_cat(rec, e->data, e->len);
        unsigned char *r = (unsigned char *)rec;
        put_u32(r + 2, crc32c(0, r + 6, dstr_len(rec) - 6));
        int rc = write_all(s->fd, rec, dstr_len(rec), NULL);
        size_t len = dstr_len(rec);
        dstr_free(rec);
        if (rc != 0 || seg_push_offset(g, g->size) != 0) return fail(s);
        g->size += len;
    }
    return 0;
}

void rstore_roll(raft_storage *s) { s->roll = s->nsegs && s->segs[s->nsegs - 1].count; }

int rstore_sync(raft_storage *s)
{
    if (s->failed) return -1;
    if (s->fd >= 0 && sync_fd(s->fd) != 0) return fail(s);
    if (s->dir_dirty) {
        if (sync_dir(s->dir) != 0) return fail(s);
        s->dir_dirty = 0;
    }
    return 0;
}

int rstore_sync_begin(raft_storage *s, rstore_sync_job *job)
{
    *job = (rstore_sync_job){-1, NULL, 0};
    if (s->failed) return -1;
    if (s->fd >= 0 && (job->fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0)) < 0) return fail(s);
    if (s->dir_dirty) {
        job->dir = s->dir;
        s->dir_dirty = 0;
    }
    return 0;
}

void rstore_sync_run(rstore_sync_job *job)
{
    if ((job->fd >= 0 && sync_fd(job->fd) != 0) || (job->dir && sync_dir(job->dir) != 0))
        job->err = errno ? errno : EIO;
}

int rstore_sync_end(raft_storage *s, rstore_sync_job *job)
{
    if (job->fd >= 0) close(job->fd);
    job->fd = -1;
    if (job->err) {
        errno = job->err;
        return fail(s);
    }
    return s->failed ? -1 : 0;
}
