/* limits.c -- the open-files limit against maxclients, as Redis 7.0's
 * adjustOpenFilesLimit(): at start-up (and when CONFIG SET raises
 * maxclients) the soft RLIMIT_NOFILE is raised to maxclients plus the
 * descriptors the server keeps for itself; when the system does not allow
 * that, maxclients is lowered to what it does allow, and the log says so
 * with Redis's lines.  Also maxmemory-clients, handed to the network layer
 * whenever it or maxmemory changes (client eviction is net's, client.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "server.h"

/* Descriptors kept for listeners, the log, persistence and children. */
#define RESERVED_FDS 32

/* Raise the limit towards maxfiles, trying 16 fewer after each refusal.
 * As Redis, the hard limit is set too (so a later CONFIG SET maxclients
 * cannot go past what start-up took).  Returns the limit in force, and
 * the errno of the last refusal in *why. */
static rlim_t raise_nofile(rlim_t maxfiles, const struct rlimit *old, int *why)
{
    *why = 0;
    for (rlim_t best = maxfiles; best > old->rlim_cur; best -= 16) {
        struct rlimit lim = {best, best};
        if (setrlimit(RLIMIT_NOFILE, &lim) == 0) return best;
        *why = errno;
        if (best < 16) break;
    }
    return old->rlim_cur;
}

int server_adjust_open_files(cairn_server *srv)
{
    int *maxclients = &srv->cfg.net.maxclients;
    rlim_t maxfiles = (rlim_t)*maxclients + RESERVED_FDS;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        server_log(srv, LL_WARNING,
                   "Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting "
                   "the max clients configuration accordingly.",
                   strerror(errno));
        *maxclients = 1024 - RESERVED_FDS;
        return 0;
    }
    rlim_t oldlimit = lim.rlim_cur;
    if (oldlimit >= maxfiles) return 0;
    int why;
    rlim_t best = raise_nofile(maxfiles, &lim, &why);
    if (best >= maxfiles) {
        server_log(srv, LL_NOTICE,
                   "Increased maximum number of open files to %llu (it was originally set to "
                   "%llu).",
                   (unsigned long long)maxfiles, (unsigned long long)oldlimit);
        return 0;
    }
    if (best <= RESERVED_FDS) {
        server_log(srv, LL_WARNING,
                   "Your current 'ulimit -n' of %llu is not enough for the server to start. "
                   "Please increase your open file limit to at least %llu. Exiting.",
                   (unsigned long long)oldlimit, (unsigned long long)maxfiles);
        return -1;
    }
    int requested = *maxclients;
    *maxclients = (int)(best - RESERVED_FDS);
    server_log(srv, LL_WARNING,
               "You requested maxclients of %d requiring at least %llu max file descriptors.",
               requested, (unsigned long long)maxfiles);
    server_log(srv, LL_WARNING,
               "Server can't set maximum open files to %llu because of OS error: %s.",
               (unsigned long long)maxfiles, strerror(why));
    server_log(srv, LL_WARNING,
               "Current maximum open files is %llu. maxclients has been reduced to %d to "
               "compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
               (unsigned long long)best, *maxclients);
    return 0;
}

const char *server_maxclients_changed(cairn_server *srv)
{
    int wanted = srv->cfg.net.maxclients;
    if (server_adjust_open_files(srv) != 0 || srv->cfg.net.maxclients != wanted) {
        snprintf(srv->limit_error, sizeof(srv->limit_error),
                 "The operating system is not able to handle the specified number of clients, "
                 "try with %d",
                 srv->cfg.net.maxclients);
        return srv->limit_error;
    }
    return NULL;
}

void server_client_limit_changed(cairn_server *srv)
{
    /* "N%" or bytes, as config.c's fixup wrote it. */
    char *end;
    long long v = strtoll(srv->cfg.maxmemory_clients, &end, 10);
    srv->cfg.net.maxmemory_clients = *end == '%' ? -v : v;
    net_client_limit_changed(&srv->net);
}
