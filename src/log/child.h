/* child.h -- forked children that write the dataset while their parent
 * keeps serving: BGSAVE, BGREWRITEAOF (persist.c) and a Raft node's
 * snapshot (src/repl/node.c).  The child reads the parent's memory as it
 * was at the fork (the kernel copies pages the parent changes later), so
 * what it writes is one instant of the dataset, whatever the parent does
 * meanwhile. */
#ifndef CAIRN_CHILD_H
#define CAIRN_CHILD_H

#include <sys/types.h>

#include "../engine/engine.h"

/* fork().  In the child (0 returned): it dies with its parent (a snapshot
 * nobody waits for must not be renamed over newer files later), holds no
 * descriptor of the parent's and has the default signal handling.  In the
 * parent: the fork's duration goes to e's stats (INFO latest_fork_usec,
 * total_forks, LATENCY's "fork" event).  -1 with errno on failure. */
pid_t child_fork(cairn_engine *e);

/* Without blocking: 0 while pid runs; 1 once it ended, with *ok set if it
 * exited with status 0 and *sig to the signal that killed it (or 0). */
int child_poll(pid_t pid, int *ok, int *sig);

/* Stop pid (SIGUSR1) and wait for it. */
void child_stop(pid_t pid);

#endif
