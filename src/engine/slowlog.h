/* slowlog.h -- the slow log (SLOWLOG): the last slowlog-max-len commands
 * that ran for at least slowlog-log-slower-than microseconds.
 *
 * The engine times every command for INFO commandstats; once a command
 * ran past the smallest threshold any observer asked for (cfg.watch_ns),
 * engine.c hands it to slowlog_push(), which keeps a bounded copy of its
 * arguments, truncated as Redis does. */
#ifndef CAIRN_SLOWLOG_H
#define CAIRN_SLOWLOG_H

#include <stdint.h>

typedef struct cairn_engine cairn_engine;
typedef struct cmd_call cmd_call;
typedef struct slowlog slowlog;

void slowlog_free(slowlog *sl);
/* Log call c, which ran for us microseconds, if that reaches the
 * threshold; trims the log to slowlog-max-len. */
void slowlog_push(cmd_call *c, long long us);

#endif
