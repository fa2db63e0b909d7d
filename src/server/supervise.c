/* supervise.c -- running under a supervisor (`supervised`), as Redis does.
 *
 * systemd (Type=notify) learns how start-up goes from datagrams sent to
 * the unix socket named by $NOTIFY_SOCKET (sd_notify(3)): STATUS= lines
 * while the dataset loads, READY=1 once it is loaded and clients are
 * served, STOPPING=1 when the server begins to shut down.  The protocol
 * is one sendto() per message, so it is written here rather than linking
 * libsystemd.  upstart (expect stop) waits for the process to stop itself
 * with SIGSTOP once it is ready. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"

/* Fill addr from $NOTIFY_SOCKET: a path, or an abstract name after '@'.
 * Returns the address length, or 0 if the value is not usable. */
static socklen_t notify_address(const char *name, struct sockaddr_un *addr)
{
    size_t len = strlen(name);
    if (len < 2 || len >= sizeof(addr->sun_path) || (name[0] != '/' && name[0] != '@')) return 0;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, name, len);
    /* An abstract name has no terminating NUL: its length is exact. */
    if (name[0] == '@') addr->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
}

void supervise_init(cairn_server *srv)
{
    int mode = srv->cfg.supervised;
    const char *notify = getenv("NOTIFY_SOCKET");
    if (mode == SUPERVISED_AUTO) {
        if (notify)
            mode = SUPERVISED_SYSTEMD;
        else if (getenv("UPSTART_JOB"))
            mode = SUPERVISED_UPSTART;
        else
            mode = SUPERVISED_NONE;
    }
    srv->supervisor = mode;
    srv->notify_percent = -1;
    if (mode == SUPERVISED_UPSTART && !getenv("UPSTART_JOB")) {
        server_log(srv, LL_WARNING, "upstart supervision requested, but UPSTART_JOB not found!");
        srv->supervisor = SUPERVISED_NONE;
    }
    if (mode != SUPERVISED_SYSTEMD) return;
    if (!notify) {
        server_log(srv, LL_WARNING,
                   "systemd supervision requested or auto-detected, but "
                   "NOTIFY_SOCKET environment variable not found!");
        srv->supervisor = SUPERVISED_NONE;
        return;
    }
    struct sockaddr_un addr;
    if (!notify_address(notify, &addr)) {
        server_log(srv, LL_WARNING, "NOTIFY_SOCKET '%s' is not a unix socket address", notify);
        srv->supervisor = SUPERVISED_NONE;
        return;
    }
    srv->notify_socket = dstr_from_cstr(notify);
    server_log(srv, LL_NOTICE,
               "Supervised by systemd. Please make sure you set appropriate values for "
               "TimeoutStartSec and TimeoutStopSec in your service unit.");
}

/* Send one sd_notify message.  A supervisor that does not listen must not
 * stop the server: failures are logged, never fatal. */
static void notify(cairn_server *srv, const char *msg)
{
    if (srv->supervisor != SUPERVISED_SYSTEMD) return;
    struct sockaddr_un addr;
    socklen_t len = notify_address(srv->notify_socket, &addr);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        server_log(srv, LL_WARNING, "Can't create a socket to notify systemd: %s", strerror(errno));
        return;
    }
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
        server_log(srv, LL_WARNING, "Can't notify systemd: %s", strerror(errno));
    close(fd);
}

void supervise_loading(cairn_server *srv, double percent)
{
    /* One message per whole percent at most: a slice takes milliseconds. */
    int whole = (int)percent; /* 0..100 */
    if (srv->supervisor != SUPERVISED_SYSTEMD || whole == srv->notify_percent) return;
    srv->notify_percent = whole;
    char msg[64];
    snprintf(msg, sizeof(msg), "STATUS=Loading the dataset: %d%%\n", whole);
    notify(srv, msg);
}

void supervise_ready(cairn_server *srv)
{
    if (srv->supervisor == SUPERVISED_UPSTART) {
        server_log(srv, LL_NOTICE, "Supervised by upstart, will stop to signal readiness.");
        /* Only once: a later restart of this process is not upstart's. */
        unsetenv("UPSTART_JOB");
        raise(SIGSTOP);
        return;
    }
    notify(srv, "STATUS=Ready to accept connections\n");
    notify(srv, "READY=1\n");
}

void supervise_stopping(cairn_server *srv) { notify(srv, "STOPPING=1\n"); }
