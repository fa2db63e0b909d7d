/* fuzz_snapshot.c -- the snapshot loader (src/log/snapshot.c) and its
 * verifier (snapshot_verify, what cairn-check runs).
 *
 * Frames carry checksums, so mutated files would mostly stop at the first
 * frame.  Unless its first byte is 'R' (the rest is then the whole file,
 * as is), the input is the record stream itself: the target writes a
 * valid header and cuts the records into checksummed frames of a size
 * the first byte picks, so the fuzzer reaches the record parser and every
 * value decoder.  A file that loads must hold a dataset that survives a
 * snapshot round trip, and the verifier must accept it. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_engine.h"

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static dstr frame_records(const uint8_t *data, size_t size, size_t frame)
{
    unsigned char h[SNAP_HEADER_LEN];
    memcpy(h, SNAP_MAGIC, 8);
    put_le32(h + 8, SNAP_VERSION);
    put_le32(h + 12, crc32c(0, h, 12));
    dstr file = dstr_new(h, sizeof(h));
    for (size_t off = 0; off < size; off += frame) {
        size_t n = size - off < frame ? size - off : frame;
        unsigned char fh[8];
        put_le32(fh, (uint32_t)n);
        put_le32(fh + 4, crc32c(0, data + off, n));
        file = dstr_cat(file, fh, sizeof(fh));
        file = dstr_cat(file, data + off, n);
    }
    return file;
}

static int file_fd(const dstr file)
{
    int fd = memfd_create("snapshot", 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, file, dstr_len(file)) == (ssize_t)dstr_len(file));
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    dstr file = data[0] == 'R' ? dstr_new(data + 1, size - 1)
                               : frame_records(data + 1, size - 1, 1 + data[0] % 64 * 4);
    cairn_engine *e = new_engine();
    snap_loader *l = snap_loader_new(file_fd(file), e, 1000000);
    char err[512];
    int rc;
    /* Small steps, so loading stops and resumes at many places. */
    while ((rc = snap_loader_step(l, 7, err, sizeof(err))) == SNAP_MORE)
        ;
    snap_loader_free(l);
    uint64_t bad_off;
    snap_stats st;
    int fd = file_fd(file);
    int verified = snapshot_verify(fd, &bad_off, &st, err, sizeof(err));
    close(fd);
    if (rc == SNAP_DONE) {
        FUZZ_CHECK(verified == 0);
        check_snapshot_round_trip(e, 2000000);
    }
    engine_free(e);
    dstr_free(file);
    return 0;
}
