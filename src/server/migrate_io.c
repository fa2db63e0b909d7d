/* migrate_io.c -- MIGRATE's connection to the target server: connect,
 * write the request, read one line per reply, each step bounded by the
 * command's timeout.  It blocks the server meanwhile, as Redis's MIGRATE
 * does; the engine decides everything else (migrate_command in
 * src/log/t_dump.c). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../ds/dstr.h"
#include "server.h"

/* Longest reply line kept: AUTH, SELECT and RESTORE answer in one short
 * line, so anything longer is cut (the rest is still read). */
#define MIGRATE_LINE_MAX 1024

static int wait_fd(int fd, short events, long long timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms > 0x7FFFFFFF ? 0x7FFFFFFF : (int)timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : -1;
}

/* A non-blocking connection in progress to host:port, or -1.  As Redis,
 * a connection refused later shows up as a failed write. */
static int connect_to(const char *host, int port, long long timeout_ms)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0 && wait_fd(fd, POLLOUT, timeout_ms) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int write_req(int fd, const char *p, size_t n, long long timeout_ms)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            if (wait_fd(fd, POLLOUT, timeout_ms) != 0) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* One line, without its CRLF, read byte by byte so that nothing of the
 * next reply is taken (the replies are a few short lines). */
static int read_line(int fd, dstr *out, long long timeout_ms)
{
    *out = dstr_with_cap(64);
    for (;;) {
        char ch;
        ssize_t r = recv(fd, &ch, 1, 0);
        if (r == 1) {
            if (ch == '\n') break;
            if (dstr_len(*out) < MIGRATE_LINE_MAX) *out = dstr_cat(*out, &ch, 1);
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno == EAGAIN) {
            if (wait_fd(fd, POLLIN, timeout_ms) != 0) return -1;
        } else {
            return -1;
        }
    }
    size_t len = dstr_len(*out);
    if (len && (*out)[len - 1] == '\r') dstr_set_len(*out, len - 1);
    return 0;
}

int server_migrate_io(void *priv, const char *host, int port, long long timeout_ms, const char *req,
                      size_t nbytes, int nlines, dstr *lines)
{
    (void)priv;
    for (int i = 0; i < nlines; i++)
        lines[i] = NULL;
    int fd = connect_to(host, port, timeout_ms);
    if (fd < 0) return MIGRATE_IO_CONNECT;
    int rc = 0;
    if (write_req(fd, req, nbytes, timeout_ms) != 0) rc = MIGRATE_IO_WRITE;
    for (int i = 0; rc == 0 && i < nlines; i++)
        if (read_line(fd, &lines[i], timeout_ms) != 0) rc = MIGRATE_IO_READ;
    close(fd);
    return rc;
}
