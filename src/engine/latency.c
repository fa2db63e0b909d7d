/* latency.c -- the latency monitor and the LATENCY command; see latency.h. */
#include "latency.h"

#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"

/* As Redis: 160 samples per event, one per second at most. */
#define LATENCY_TS_LEN 160
/* Event names are the host's and the engine's own (never a client's), so
 * a small fixed table holds them all. */
#define LATENCY_EVENTS_MAX 32
#define LATENCY_NAME_MAX   40
#define GRAPH_COLS         80
#define GRAPH_ROWS         4

typedef struct latency_series {
    char name[LATENCY_NAME_MAX];
    int idx; /* where the next sample goes */
    uint32_t max;
    struct latency_point {
        int32_t time;
        uint32_t latency;
    } samples[LATENCY_TS_LEN];
} latency_series;

struct latency_monitor {
    int n;
    latency_series *events[LATENCY_EVENTS_MAX];
};

void latency_free(latency_monitor *lm)
{
    if (!lm) return;
    for (int i = 0; i < lm->n; i++)
        cm_free(lm->events[i]);
    cm_free(lm);
}

static latency_series *find_event(const latency_monitor *lm, const char *name, size_t len)
{
    for (int i = 0; lm && i < lm->n; i++)
        if (strlen(lm->events[i]->name) == len && memcmp(lm->events[i]->name, name, len) == 0)
            return lm->events[i];
    return NULL;
}

void latency_sample(cairn_engine *e, const char *event, int64_t now_s, long long ms)
{
    long long threshold = e->cfg.latency_monitor_threshold;
    if (!latency_monitor_on(threshold) || ms < threshold) return;
    if (!e->latency) e->latency = cm_calloc(1, sizeof(latency_monitor));
    latency_monitor *lm = e->latency;
    latency_series *ts = find_event(lm, event, strlen(event));
    if (!ts) {
        if (lm->n == LATENCY_EVENTS_MAX) return;
        ts = cm_calloc(1, sizeof(*ts));
        snprintf(ts->name, sizeof(ts->name), "%s", event);
        lm->events[lm->n++] = ts;
    }
    uint32_t lat = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    if (lat > ts->max) ts->max = lat;
    /* Within one second only the worst sample is kept. */
    struct latency_point *prev = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev->time == (int32_t)now_s) {
        if (lat > prev->latency) prev->latency = lat;
        return;
    }
    ts->samples[ts->idx] = (struct latency_point){(int32_t)now_s, lat};
    ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
}

/* The samples oldest first, as (time, latency) pairs. */
static void latency_history_command(cmd_call *c)
{
    const latency_series *ts = find_event(c->e->latency, c->argv[2].ptr, c->argv[2].len);
    if (!ts) {
        reply_empty_array(c->out);
        return;
    }
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_point *p = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!p->time) continue;
        reply_array_len(c->out, 2);
        reply_int(c->out, p->time);
        reply_int(c->out, p->latency);
        n++;
    }
    reply_set_deferred_array(c->out, d, n);
}

static void latency_latest_command(cmd_call *c)
{
    const latency_monitor *lm = c->e->latency;
    int n = lm ? lm->n : 0;
    reply_array_len(c->out, n);
    for (int i = 0; i < n; i++) {
        const latency_series *ts = lm->events[i];
        const struct latency_point *last =
            &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        reply_array_len(c->out, 4);
        reply_bulk_cstr(c->out, ts->name);
        reply_int(c->out, last->time);
        reply_int(c->out, last->latency);
        reply_int(c->out, ts->max);
    }
}

/* LATENCY RESET [event ...]: the number of events forgotten. */
static void latency_reset_command(cmd_call *c)
{
    latency_monitor *lm = c->e->latency;
    long long resets = 0;
    for (int i = 0; lm && i < lm->n;) {
        int match = c->argc == 2;
        for (int j = 2; j < c->argc && !match; j++) {
            const cslice *a = &c->argv[j];
            match = strlen(lm->events[i]->name) == a->len &&
                    strncasecmp(lm->events[i]->name, a->ptr, a->len) == 0;
        }
        if (!match) {
            i++;
            continue;
        }
        cm_free(lm->events[i]);
        memmove(&lm->events[i], &lm->events[i + 1],
                sizeof(lm->events[0]) * (size_t)(lm->n - i - 1));
        lm->n--;
        resets++;
    }
    reply_int(c->out, resets);
}

/* How long ago t was, as the graph labels it: 12s, 5m, 3h, 2d. */
static void age_label(char *buf, size_t size, int64_t now_s, int64_t t)
{
    long long ago = now_s - t;
    if (ago < 60)
        snprintf(buf, size, "%llds", ago);
    else if (ago < 3600)
        snprintf(buf, size, "%lldm", ago / 60);
    else if (ago < 86400)
        snprintf(buf, size, "%lldh", ago / 3600);
    else
        snprintf(buf, size, "%lldd", ago / 86400);
}

/* Columns of a sparkline GRAPH_ROWS high, each row showing three levels
 * ("_-`") and the area under the curve filled with '|'; then each
 * column's label written downwards. */
static dstr render_graph(dstr g, const uint32_t *v, char (*labels)[24], int n, uint32_t min,
                         uint32_t max)
{
    static const char levels[] = "_-`";
    const int per_row = 3, steps = per_row * GRAPH_ROWS;
    double range = max > min ? (double)(max - min) : 1;
    for (int row = 0; row < GRAPH_ROWS; row++) {
        char line[LATENCY_TS_LEN + 1];
        for (int j = 0; j < n; j++) {
            int step = (int)((double)(v[j] - min) * steps / range);
            if (step >= steps) step = steps - 1;
            int k = step - (GRAPH_ROWS - row - 1) * per_row;
            line[j] = k >= per_row ? '|' : k >= 0 ? levels[k] : ' ';
        }
        g = dstr_cat(g, line, (size_t)n);
        g = dstr_cat(g, "\n", 1);
    }
    /* A blank row, then the labels, as Redis's sparklines. */
    char blank[LATENCY_TS_LEN];
    memset(blank, ' ', sizeof(blank));
    g = dstr_cat(g, blank, (size_t)n);
    g = dstr_cat(g, "\n", 1);
    for (int row = 0;; row++) {
        char line[LATENCY_TS_LEN + 1];
        int any = 0;
        for (int j = 0; j < n; j++) {
            int has = (int)strlen(labels[j]) > row;
            line[j] = has ? labels[j][row] : ' ';
            any |= has;
        }
        if (!any) break;
        g = dstr_cat(g, line, (size_t)n);
        g = dstr_cat(g, "\n", 1);
    }
    return g;
}

static void latency_graph_command(cmd_call *c)
{
    const latency_series *ts = find_event(c->e->latency, c->argv[2].ptr, c->argv[2].len);
    if (!ts) {
        reply_errorf(c->out, "ERR No samples available for event '%.*s'",
                     c->argv[2].len > 128 ? 128 : (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    uint32_t v[LATENCY_TS_LEN], min = 0, max = 0;
    char labels[LATENCY_TS_LEN][24];
    int n = 0;
    int64_t now_s = c->now_ms / 1000;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_point *p = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!p->time) continue;
        if (!n || p->latency < min) min = p->latency;
        if (!n || p->latency > max) max = p->latency;
        age_label(labels[n], sizeof(labels[n]), now_s, p->time);
        v[n++] = p->latency;
    }
    dstr g =
        dstr_catfmt(dstr_with_cap(1024), "%s - high %lu ms, low %lu ms (all time high %lu ms)\n",
                    ts->name, (unsigned long)max, (unsigned long)min, (unsigned long)ts->max);
    char dashes[GRAPH_COLS];
    memset(dashes, '-', sizeof(dashes));
    g = dstr_cat(g, dashes, sizeof(dashes));
    g = dstr_cat(g, "\n", 1);
    /* At most GRAPH_COLS columns a block, blocks one under the other. */
    for (int off = 0; off < n; off += GRAPH_COLS) {
        int len = n - off < GRAPH_COLS ? n - off : GRAPH_COLS;
        if (off) g = dstr_cat(g, "\n", 1);
        g = render_graph(g, v + off, labels + off, len, min, max);
    }
    reply_verbatim(c->out, g, dstr_len(g), "txt");
    dstr_free(g);
}

typedef struct event_stats {
    long samples;
    unsigned long avg, mad;
    long long period;
} event_stats;

static event_stats analyze(const latency_series *ts, int64_t now_s)
{
    event_stats st = {0, 0, 0, 0};
    uint64_t sum = 0;
    int64_t oldest = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_point *p = &ts->samples[j];
        if (!p->time) continue;
        st.samples++;
        sum += p->latency;
        if (!oldest || p->time < oldest) oldest = p->time;
    }
    if (!st.samples) return st;
    st.avg = (unsigned long)(sum / (uint64_t)st.samples);
    st.period = now_s - oldest > 0 ? now_s - oldest : 1;
    uint64_t dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_point *p = &ts->samples[j];
        if (!p->time) continue;
        dev += p->latency > st.avg ? p->latency - st.avg : st.avg - p->latency;
    }
    st.mad = (unsigned long)(dev / (uint64_t)st.samples);
    return st;
}

/* What the doctor may advise, by the events seen. */
enum {
    ADV_SLOWLOG_ENABLE = 1 << 0,
    ADV_SLOWLOG_TUNE = 1 << 1,
    ADV_SLOWLOG_INSPECT = 1 << 2,
    ADV_LARGE_OBJECTS = 1 << 3,
    ADV_SCHEDULER = 1 << 4,
    ADV_RELAX_FSYNC = 1 << 5,
    ADV_DISK = 1 << 6,
    ADV_HZ = 1 << 7,
    ADV_MASS_EVICTION = 1 << 8,
};

static int event_advice(const cairn_config *cfg, const char *event)
{
    int adv = 0;
    if (!strcmp(event, "command")) {
        if (cfg->slowlog_log_slower_than < 0)
            adv |= ADV_SLOWLOG_ENABLE;
        else if (cfg->slowlog_log_slower_than / 1000 > cfg->latency_monitor_threshold)
            adv |= ADV_SLOWLOG_TUNE;
        adv |= ADV_SLOWLOG_INSPECT | ADV_LARGE_OBJECTS;
    } else if (!strcmp(event, "fast-command")) {
        adv |= ADV_SCHEDULER;
    } else if (!strcmp(event, "aof-fsync-always")) {
        if (cfg->appendfsync == AOF_FSYNC_ALWAYS) adv |= ADV_RELAX_FSYNC;
    } else if (!strncmp(event, "aof-", 4)) {
        adv |= ADV_DISK;
    } else if (!strcmp(event, "expire-cycle")) {
        if (cfg->hz < 100) adv |= ADV_HZ;
        adv |= ADV_LARGE_OBJECTS;
    } else if (!strcmp(event, "eviction-cycle")) {
        adv |= ADV_MASS_EVICTION;
    }
    return adv;
}

static dstr doctor_advice(dstr r, const cairn_config *cfg, int adv)
{
    unsigned long long slower = (unsigned long long)cfg->latency_monitor_threshold * 1000;
    if (adv & ADV_SLOWLOG_ENABLE)
        r = dstr_catfmt(r,
                        "- There are latency issues with potentially slow commands you are using. "
                        "Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
                        "slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not "
                        "able to log slow commands execution for you.\n",
                        slower);
    if (adv & ADV_SLOWLOG_TUNE)
        r = dstr_catfmt(r,
                        "- Your current Slow Log configuration only logs events that are slower "
                        "than your configured latency monitor threshold. Please use 'CONFIG SET "
                        "slowlog-log-slower-than %llu'.\n",
                        slower);
    if (adv & ADV_SLOWLOG_INSPECT)
        r = dstr_cat_cstr(r, "- Check your Slow Log to understand what are the commands you are "
                             "running which are too slow to execute. Please check "
                             "https://redis.io/commands/slowlog for more information.\n");
    if (adv & ADV_SCHEDULER)
        r = dstr_cat_cstr(r, "- The system is slow to execute code paths not containing system "
                             "calls: it does not give the server CPU time for long periods. Lower "
                             "the system load, or give the server a machine of its own.\n");
    if (adv & ADV_DISK)
        r = dstr_cat_cstr(r, "- Writing the append-only file was slow: use a local disk (an SSD "
                             "if you can) and keep other disk-intensive processes off it.\n");
    if (adv & ADV_RELAX_FSYNC)
        r = dstr_cat_cstr(r, "- Your fsync policy is set to 'always'. It is very hard to get good "
                             "performances with such a setup, if possible try to relax the fsync "
                             "policy to 'onesec'.\n");
    if (adv & ADV_HZ)
        r = dstr_cat_cstr(r, "- In order to make the Redis keys expiring process more incremental, "
                             "try to set the 'hz' configuration parameter to 100 using 'CONFIG SET "
                             "hz 100'.\n");
    if (adv & ADV_LARGE_OBJECTS)
        r = dstr_cat_cstr(r, "- Deleting, expiring or evicting (because of maxmemory policy) large "
                             "objects is a blocking operation. If you have very large objects that "
                             "are often deleted, expired, or evicted, try to fragment those "
                             "objects into multiple smaller objects.\n");
    if (adv & ADV_MASS_EVICTION)
        r = dstr_cat_cstr(r, "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or "
                             "allocation of large objects, may create sudden memory pressure "
                             "forcing the server to block trying to evict keys.\n");
    return r;
}

static dstr doctor_report(const cairn_engine *e, int64_t now_s)
{
    const latency_monitor *lm = e->latency;
    int n = lm ? lm->n : 0;
    dstr r = dstr_with_cap(1024);
    if (!n && !latency_monitor_on(e->cfg.latency_monitor_threshold))
        return dstr_cat_cstr(
            r, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
               "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
               "order to enable it. If we weren't in a deep space mission I'd suggest to take a "
               "look at https://redis.io/topics/latency-monitor.\n");
    if (!n)
        return dstr_cat_cstr(r, "Dave, no latency spike was observed during the lifetime of this "
                                "Redis instance, not in the slightest bit. I honestly think you "
                                "ought to sit down calmly, take a stress pill, and think things "
                                "over.\n");
    r = dstr_cat_cstr(r, "Dave, I have observed latency spikes in this Redis instance. You don't "
                         "mind talking about it, do you Dave?\n\n");
    int adv = 0;
    for (int i = 0; i < n; i++) {
        const latency_series *ts = lm->events[i];
        event_stats st = analyze(ts, now_s);
        r = dstr_catfmt(r,
                        "%d. %s: %ld latency spikes (average %lums, mean deviation %lums, period "
                        "%.2f sec). Worst all time event %lums.\n",
                        i + 1, ts->name, st.samples, st.avg, st.mad,
                        st.samples ? (double)st.period / (double)st.samples : 0,
                        (unsigned long)ts->max);
        adv |= event_advice(&e->cfg, ts->name);
    }
    if (!adv)
        return dstr_cat_cstr(r, "\nWhile there are latency events logged, I'm not able to suggest "
                                "any easy fix. Please use the Redis community to get some help, "
                                "providing this report in your help request.\n");
    r = dstr_cat_cstr(r, "\nI have a few advices for you:\n\n");
    return doctor_advice(r, &e->cfg, adv);
}

static void latency_doctor_command(cmd_call *c)
{
    dstr r = doctor_report(c->e, c->now_ms / 1000);
    reply_verbatim(c->out, r, dstr_len(r), "txt");
    dstr_free(r);
}

/* The key of a histogram step as Redis's HdrHistogram (2 significant
 * digits) reports it: the highest value equivalent to v, in µs. */
static long long step_usec(uint64_t v)
{
    int mag = 63 - __builtin_clzll(v | 255) - 7;
    return (long long)((v + (1ull << mag) - 1) / 1000);
}

/* A command's latency histogram: its calls, and for each power of two
 * from 1024 ns the number of calls that took at most that long (only the
 * steps that added calls). */
static void reply_cdf(rbuf *out, const hist *h)
{
    reply_map_len(out, 2);
    reply_bulk_cstr(out, "calls");
    reply_int(out, (long long)h->total);
    reply_bulk_cstr(out, "histogram_usec");
    rbuf_deferred d = reply_deferred_len(out);
    long n = 0;
    uint64_t cum = 0, prev = 0;
    unsigned b = 0;
    for (uint64_t v = 1024; cum < h->total; v *= 2) {
        unsigned last = hist_bucket(v);
        for (; b <= last && b < HIST_BUCKETS; b++)
            cum += h->counts[b];
        if (b >= HIST_BUCKETS) cum = h->total; /* everything up to 1 s */
        if (cum > prev) {
            reply_int(out, step_usec(v));
            reply_int(out, (long long)cum);
            n++;
        }
        prev = cum;
    }
    reply_set_deferred_map(out, d, n);
}

static int reply_cmd_cdf(cmd_call *c, const cmd_def *cmd)
{
    const cmd_stats *st = cmdstats_of(c->e->cmdstats, cmd);
    if (!st || !st->latency) return 0;
    reply_bulk_cstr(c->out, cmd->name);
    reply_cdf(c->out, st->latency);
    return 1;
}

/* A command and its subcommands, those that have a histogram. */
static long reply_cmd_family_cdf(cmd_call *c, const cmd_def *cmd)
{
    long n = reply_cmd_cdf(c, cmd);
    for (const cmd_def *s = cmd->subcommands; s && s->name; s++)
        n += reply_cmd_cdf(c, s);
    return n;
}

/* LATENCY HISTOGRAM [command ...]: "config|get" names a subcommand. */
static void latency_histogram_command(cmd_call *c)
{
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    if (c->argc == 2) {
        for (int f = 0; cmd_families[f]; f++)
            for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++)
                n += reply_cmd_family_cdf(c, cmd);
    }
    for (int i = 2; i < c->argc; i++) {
        const cslice *a = &c->argv[i];
        const char *bar = memchr(a->ptr, '|', a->len);
        const cmd_def *cmd = cmd_lookup(c->e, a->ptr, bar ? (size_t)(bar - a->ptr) : a->len);
        if (cmd && bar) {
            const char *sub = bar + 1;
            cmd = cmd_lookup_sub(cmd, sub, a->len - (size_t)(sub - a->ptr));
        }
        if (cmd) n += reply_cmd_family_cdf(c, cmd);
    }
    reply_set_deferred_map(c->out, d, n);
}

static void latency_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        ("    Return a cumulative distribution of latencies in the format of a histogram for the "
         "specified command names."),
        "    If no commands are specified then all histograms are replied.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define LATENCY_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define LATENCY_ACL   (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static const cmd_def latency_subcommands[] = {
    {"latency|doctor", latency_doctor_command, 2, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0, "server",
     "2.8.13", "Return a human readable latency analysis report.", "O(1)", NULL},
    {"latency|graph", latency_graph_command, 3, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0, "server",
     "2.8.13", "Return a latency graph for the event.", "O(1)", NULL},
    {"latency|help", latency_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "server",
     "2.8.13", "Show helpful text about the different subcommands.", "O(1)", NULL},
    {"latency|histogram", latency_histogram_command, -2, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0,
     "server", "7.0.0",
     "Return the cumulative distribution of latencies of a subset of commands "
     "or all.",
     "O(N) where N is the number of commands with latency information being retrieved.", NULL},
    {"latency|history", latency_history_command, 3, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0, "server",
     "2.8.13", "Return timestamp-latency samples for the event.", "O(1)", NULL},
    {"latency|latest", latency_latest_command, 2, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0, "server",
     "2.8.13", "Return the latest latency samples for all events.", "O(1)", NULL},
    {"latency|reset", latency_reset_command, -2, LATENCY_FLAGS, LATENCY_ACL, 0, 0, 0, "server",
     "2.8.13", "Reset latency data for one or more events.", "O(1)", NULL},
    {0},
};

const cmd_def latency_commands[] = {
    {"latency", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "2.8.13",
     "A container for latency diagnostics commands", "Depends on subcommand.", latency_subcommands},
    {0},
};
