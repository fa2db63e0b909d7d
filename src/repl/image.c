/* image.c -- the engine's dataset as the data of a Raft snapshot; see
 * image.h. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../log/clock.h"
#include "../log/fileio.h"
#include "../log/snapshot.h"
#include "../script/function.h"
#include "../script/script.h"

#define COPY_BYTES (256u << 10)
/* fdatasync while writing, so a large image leaves no gigabytes of dirty
 * pages for the final fsync (as BGSAVE's rdb-save-incremental-fsync) */
#define AUTOSYNC_BYTES (4u << 20)

static int64_t wall_ms(void) { return clock_real_us() / 1000; }

/* The temporary image is written, then read back: open it for both. */
static int open_tmp(const char *path)
{
    int fd;
    do {
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int image_write(cairn_engine *e, int fd, char *err, size_t errlen)
{
    snap_stats stats;
    return snapshot_write(e, fd, wall_ms(), AUTOSYNC_BYTES, &stats, err, errlen);
}

void image_reset(cairn_engine *e, cairn_session *s, rbuf *out)
{
    cslice argv[1] = {{"FLUSHALL", 8}};
    cairn_entry flush = {0, 0, 0, 1, argv};
    engine_apply_entry(e, s, &flush, out);
    rbuf_reset(out);
    if (e->script) function_flush(script_get(e));
}

/* Copy the image out of the snapshot into tmp; returns its fd at offset 0. */
static int extract(raft_storage *st, uint64_t skip, const char *tmp, char *err, size_t errlen)
{
    const raft_snapshot_meta *m = rstore_snapshot(st);
    int fd = open_tmp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    unlink(tmp); /* the loader reads it through fd; nothing is left behind */
    char *buf = cm_malloc(COPY_BYTES);
    for (uint64_t off = skip; off < m->size;) {
        size_t want = m->size - off < COPY_BYTES ? (size_t)(m->size - off) : COPY_BYTES;
        if (rstore_snapshot_read(st, off, buf, want) != 0 || write_all(fd, buf, want, NULL) != 0) {
            snprintf(err, errlen, "copying the dataset out of the Raft snapshot: %s",
                     strerror(errno));
            cm_free(buf);
            close(fd);
            return -1;
        }
        off += want;
    }
    cm_free(buf);
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int image_load(cairn_engine *e, cairn_session *s, rbuf *out, raft_storage *st, uint64_t skip,
               const char *tmp, char *err, size_t errlen)
{
    int fd = extract(st, skip, tmp, err, errlen);
    if (fd < 0) return -1;
    image_reset(e, s, out);
    snap_loader *l = snap_loader_new(fd, e, wall_ms());
    int rc;
    char why[512];
    while ((rc = snap_loader_step(l, 1u << 20, why, sizeof(why))) == SNAP_MORE)
        ;
    snap_loader_free(l);
    if (rc != SNAP_DONE) {
        snprintf(err, errlen, "loading the Raft snapshot: %s", why);
        return -1;
    }
    return 0;
}
