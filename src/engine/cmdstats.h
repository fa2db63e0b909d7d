/* cmdstats.h -- per-command and per-error statistics: INFO commandstats,
 * errorstats and latencystats, and the failed/rejected call counts.
 *
 * The command table is const; its runtime counterpart is an array of
 * cmd_stats, one per table entry (subcommands included), numbered when the
 * engine is created and found from a cmd_def by a small pointer-keyed
 * table.  Errors are counted by their code (the first word of the
 * message) as the reply builder emits them, through the err_stats the
 * engine attaches to each reply buffer it writes into.
 *
 * The engine reads no clock: durations come from the host's monotonic
 * clock (engine_set_clock), read when a command starts and ends. */
#ifndef CAIRN_CMDSTATS_H
#define CAIRN_CMDSTATS_H

#include <stdint.h>

#include "../ds/dstr.h"
#include "../ds/histogram.h"

typedef struct cairn_engine cairn_engine;
typedef struct cmd_def cmd_def;

typedef struct cmd_stats {
    const cmd_def *cmd;
    long long calls, rejected_calls, failed_calls;
    long long ns;  /* time spent in calls */
    hist *latency; /* allocated at the first call timed with latency-tracking */
} cmd_stats;

/* At most this many distinct error codes are counted (each further code
 * still counts in total_error_replies): clients choose what they send,
 * and an unbounded table would let them grow it. */
#define ERRSTATS_MAX      128
#define ERRSTATS_CODE_MAX 32

typedef struct err_stats {
    long long total; /* every error reply: total_error_replies */
    int n;
    struct err_count {
        char code[ERRSTATS_CODE_MAX + 1];
        long long count;
    } errs[ERRSTATS_MAX];
} err_stats;

typedef struct cmdstats_table cmdstats_table;

cmdstats_table *cmdstats_create(void);
void cmdstats_free(cmdstats_table *t);
/* The statistics of a command (or subcommand) of the table. */
cmd_stats *cmdstats_of(cmdstats_table *t, const cmd_def *cmd);
/* CONFIG RESETSTAT: zero every counter and histogram. */
void cmdstats_reset(cmdstats_table *t, err_stats *errs);

hist *cmdstats_new_hist(void);

/* Count an error reply whose message (without the '-') is msg. */
void errstats_add(err_stats *t, const char *msg, size_t len);

/* A run of a command that took ns nanoseconds (-1: not timed).  A
 * blocking command is one call however often it runs: new_call is set
 * only for its first run.  Its latency is recorded (when latency is set)
 * once it is served, as Redis does. */
static inline void cmdstats_record(cmd_stats *st, int64_t ns, int new_call, int failed, int latency)
{
    st->calls += new_call;
    st->failed_calls += failed;
    if (ns < 0) return;
    st->ns += ns;
    if (latency) {
        if (!st->latency) st->latency = cmdstats_new_hist();
        hist_record(st->latency, (uint64_t)ns);
    }
}

/* The lines of INFO commandstats, errorstats and latencystats. */
dstr cmdstats_info_commands(cmdstats_table *t, dstr out);
dstr cmdstats_info_errors(const err_stats *errs, dstr out);
/* pcts: the percentiles, as latency-tracking-info-percentiles holds them. */
dstr cmdstats_info_latency(cmdstats_table *t, dstr out, const char *pcts);

#endif
