/* fileio.h -- the few careful file operations persistence is built on.
 *
 * Every function checks every system call, retries on EINTR, and reports
 * failure as -1 with errno set (never exits), so callers can turn a full
 * disk into a MISCONF error instead of a crash.  Files are created 0600
 * and directories 0700: a dataset may hold secrets. */
#ifndef CAIRN_FILEIO_H
#define CAIRN_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../ds/dstr.h"

#define FILE_MODE 0600
#define DIR_MODE  0700

/* Write all len bytes (looping over short writes).  On failure returns -1
 * with errno set and *done (if not NULL) the bytes that did get written. */
int write_all(int fd, const void *buf, size_t len, size_t *done);
/* Read up to len bytes, looping until len or end of file.  Returns the
 * count (0 at the end) or -1. */
ssize_t read_full(int fd, void *buf, size_t len);
/* fdatasync, retried on EINTR. */
int sync_fd(int fd);
/* fsync a directory, so that a rename or create in it is durable. */
int sync_dir(const char *path);
/* Create dir (one level) with DIR_MODE if it does not exist. */
int make_dir(const char *path);
/* make_dir for path and every missing parent (mkdir -p). */
int make_dir_path(const char *path);
/* Open for appending / creating with FILE_MODE and O_CLOEXEC. */
int open_append(const char *path);
int open_create_trunc(const char *path);
/* A new (or emptied) file that every write appends to, wherever the file
 * was cut since (ftruncate does not move a descriptor's offset). */
int open_append_new(const char *path);
int open_read(const char *path);
/* Does path exist (as anything)? */
int path_exists(const char *path);
/* Size of an open file, or -1. */
off_t fd_size(int fd);
/* "dir/name" as a new dstr. */
dstr path_join(const char *dir, const char *name);
/* Replace dir/name with data, atomically: write dir/name.tmp-PID, fsync
 * it, rename it over dir/name, fsync dir.  A crash leaves the old file or
 * the new one, never a mix. */
int write_file_atomic(const char *dir, const char *name, const void *data, size_t len);
/* Read a whole (small) file.  Returns 0 and *out (caller frees), or -1. */
int read_small_file(const char *path, size_t max, dstr *out);

#endif
