/* latency.h -- the latency monitor (LATENCY): for each kind of event that
 * took at least latency-monitor-threshold milliseconds (a command, an
 * fsync, an expire cycle, ...), the worst latency of each of the last 160
 * seconds in which one happened, and the worst ever.
 *
 * Commands are sampled by engine.c from the duration it already measures;
 * the host samples what it times itself (the log's writes and fsyncs, the
 * expire cycle) through latency_sample(), with its own wall clock: the
 * engine reads no clock. */
#ifndef CAIRN_LATENCY_H
#define CAIRN_LATENCY_H

#include <stdint.h>

typedef struct cairn_engine cairn_engine;
typedef struct latency_monitor latency_monitor;

/* Record that `event` took ms milliseconds at unix time now_s, if the
 * monitor is on (latency-monitor-threshold > 0) and ms reaches it. */
void latency_sample(cairn_engine *e, const char *event, int64_t now_s, long long ms);
/* Is the monitor on?  Lets a caller skip reading a clock. */
static inline int latency_monitor_on(long long threshold_ms) { return threshold_ms > 0; }
void latency_free(latency_monitor *lm);

#endif
