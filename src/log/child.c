/* child.c -- forked children writing the dataset; see child.h. */
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../engine/latency.h"
#include "clock.h"

static void close_fds(void)
{
    /* Listening sockets in particular: a child that outlived a killed
     * parent must not keep the port from being bound again. */
    if (close_range(3, ~0U, 0) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
            close((int)fd);
    }
}

pid_t child_fork(cairn_engine *e)
{
    int64_t start = clock_mono_us();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
        close_fds();
        return 0;
    }
    e->stats.latest_fork_usec = clock_mono_us() - start;
    latency_sample(e, "fork", clock_real_us() / 1000000, e->stats.latest_fork_usec / 1000);
    e->stats.total_forks++;
    return pid;
}

int child_poll(pid_t pid, int *ok, int *sig)
{
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return 0;
    *ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    *sig = r > 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return 1;
}

void child_stop(pid_t pid)
{
    kill(pid, SIGUSR1);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}
