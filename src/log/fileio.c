/* fileio.c -- careful file operations; see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len, size_t *done)
{
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (done) *done = len - left;
            return -1;
        }
        if (n == 0) {
            /* write() returning 0 for a regular file means no space. */
            errno = ENOSPC;
            if (done) *done = len - left;
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (done) *done = len;
    return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int sync_fd(int fd)
{
    int rc;
    do {
        rc = fdatasync(fd);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc;
    do {
        rc = fsync(fd);
    } while (rc != 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int make_dir(const char *path)
{
    if (mkdir(path, DIR_MODE) == 0) return 0;
    if (errno != EEXIST) return -1;
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int make_dir_path(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf)) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int rc = make_dir(buf);
        *p = '/';
        if (rc != 0) return -1;
    }
    return make_dir(buf);
}

static int open_retry(const char *path, int flags)
{
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, FILE_MODE);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int open_append(const char *path) { return open_retry(path, O_WRONLY | O_APPEND | O_CREAT); }

int open_create_trunc(const char *path) { return open_retry(path, O_WRONLY | O_CREAT | O_TRUNC); }

int open_append_new(const char *path)
{
    return open_retry(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC);
}

int open_read(const char *path) { return open_retry(path, O_RDONLY); }

int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

off_t fd_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return st.st_size;
}

dstr path_join(const char *dir, const char *name)
{
    dstr p = dstr_from_cstr(dir);
    if (dstr_len(p) && p[dstr_len(p) - 1] != '/') p = dstr_cat(p, "/", 1);
    return dstr_cat_cstr(p, name);
}

int write_file_atomic(const char *dir, const char *name, const void *data, size_t len)
{
    char tmpname[256];
    snprintf(tmpname, sizeof(tmpname), "%s.tmp-%d", name, (int)getpid());
    dstr tmp = path_join(dir, tmpname);
    dstr final = path_join(dir, name);
    int rc = -1, saved = 0;
    int fd = open_create_trunc(tmp);
    if (fd < 0) goto out;
    if (write_all(fd, data, len, NULL) != 0 || sync_fd(fd) != 0) {
        saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, final) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        goto out;
    }
    rc = sync_dir(dir);
out:
    saved = errno;
    dstr_free(tmp);
    dstr_free(final);
    errno = saved;
    return rc;
}

int read_small_file(const char *path, size_t max, dstr *out)
{
    int fd = open_read(path);
    if (fd < 0) return -1;
    dstr s = dstr_with_cap(4096);
    char chunk[4096];
    for (;;) {
        ssize_t n = read_full(fd, chunk, sizeof(chunk));
        if (n < 0 || dstr_len(s) + (size_t)n > max) {
            int saved = n < 0 ? errno : EFBIG;
            close(fd);
            dstr_free(s);
            errno = saved;
            return -1;
        }
        if (n == 0) break;
        s = dstr_cat(s, chunk, (size_t)n);
    }
    close(fd);
    *out = s;
    return 0;
}
