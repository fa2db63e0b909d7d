/* cmdstats.c -- see cmdstats.h. */
#include "cmdstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"

/* Every table entry's statistics, in table order, and an open-addressing
 * index from the entry's address to its statistics.  Built once; the
 * table never changes, so the index does not either. */
struct cmdstats_table {
    long n;
    cmd_stats *stats;
    unsigned shift; /* 64 - log2(slots) */
    size_t mask;
    uint32_t *slots; /* index + 1 into stats; 0 = empty */
};

static inline size_t ptr_slot(const cmdstats_table *t, const cmd_def *cmd)
{
    return (size_t)(((uint64_t)(uintptr_t)cmd * UINT64_C(0x9E3779B97F4A7C15)) >> t->shift);
}

static void index_entry(cmdstats_table *t, const cmd_def *cmd)
{
    t->stats[t->n].cmd = cmd;
    size_t i = ptr_slot(t, cmd);
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = (uint32_t)++t->n;
}

cmdstats_table *cmdstats_create(void)
{
    long n = 0;
    for (int f = 0; cmd_families[f]; f++)
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            n++;
            for (const cmd_def *s = cmd->subcommands; s && s->name; s++)
                n++;
        }
    cmdstats_table *t = cm_calloc(1, sizeof(*t));
    size_t size = 16;
    unsigned bits = 4;
    while (size < (size_t)n * 2) {
        size *= 2;
        bits++;
    }
    t->shift = 64 - bits;
    t->mask = size - 1;
    t->slots = cm_calloc(size, sizeof(*t->slots));
    t->stats = cm_calloc((size_t)n, sizeof(*t->stats));
    for (int f = 0; cmd_families[f]; f++)
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            index_entry(t, cmd);
            for (const cmd_def *s = cmd->subcommands; s && s->name; s++)
                index_entry(t, s);
        }
    return t;
}

void cmdstats_free(cmdstats_table *t)
{
    if (!t) return;
    for (long i = 0; i < t->n; i++)
        cm_free(t->stats[i].latency);
    cm_free(t->stats);
    cm_free(t->slots);
    cm_free(t);
}

cmd_stats *cmdstats_of(cmdstats_table *t, const cmd_def *cmd)
{
    for (size_t i = ptr_slot(t, cmd); t->slots[i]; i = (i + 1) & t->mask) {
        cmd_stats *st = &t->stats[t->slots[i] - 1];
        if (st->cmd == cmd) return st;
    }
    return NULL; /* not an entry of the table */
}

void cmdstats_reset(cmdstats_table *t, err_stats *errs)
{
    for (long i = 0; i < t->n; i++) {
        cmd_stats *st = &t->stats[i];
        cm_free(st->latency);
        *st = (cmd_stats){.cmd = st->cmd};
    }
    memset(errs, 0, sizeof(*errs));
}

void errstats_add(err_stats *t, const char *msg, size_t len)
{
    t->total++;
    /* The code is the first word, looked for in the first 32 bytes as
     * Redis does; without one the error counts as ERR. */
    const char *sp = memchr(msg, ' ', len < ERRSTATS_CODE_MAX ? len : ERRSTATS_CODE_MAX);
    size_t clen = sp ? (size_t)(sp - msg) : 3;
    const char *code = sp && clen ? msg : "ERR";
    if (!clen) clen = 3;
    for (int i = 0; i < t->n; i++) {
        if (strlen(t->errs[i].code) == clen && memcmp(t->errs[i].code, code, clen) == 0) {
            t->errs[i].count++;
            return;
        }
    }
    if (t->n == ERRSTATS_MAX) return;
    memcpy(t->errs[t->n].code, code, clen);
    t->errs[t->n].code[clen] = '\0';
    t->errs[t->n].count = 1;
    t->n++;
}

hist *cmdstats_new_hist(void) { return cm_calloc(1, sizeof(hist)); }

/* v (>= 0) with `decimals` digits after the point, without the C
 * locale's help (an embedding application may set any locale). */
static void fmt_fixed(char *buf, size_t size, double v, int decimals)
{
    long long scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    long long x = (long long)(v * (double)scale + 0.5);
    snprintf(buf, size, "%lld.%0*lld", x / scale, decimals, x % scale);
}

/* A percentile as Redis names it: "%f" with the trailing zeros (and
 * point) trimmed: 50, 99, 99.9. */
static void fmt_percentile(char *buf, size_t size, double p)
{
    fmt_fixed(buf, size, p, 6);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *end = buf + strlen(buf);
    while (end > dot + 1 && end[-1] == '0')
        *--end = '\0';
    if (end == dot + 1) *dot = '\0';
}

dstr cmdstats_info_commands(cmdstats_table *t, dstr out)
{
    for (long i = 0; i < t->n; i++) {
        const cmd_stats *st = &t->stats[i];
        if (!st->calls && !st->failed_calls && !st->rejected_calls) continue;
        char per_call[32];
        fmt_fixed(per_call, sizeof(per_call),
                  st->calls ? (double)st->ns / 1000.0 / (double)st->calls : 0, 2);
        out = dstr_catfmt(out,
                          "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%s,rejected_calls=%lld,"
                          "failed_calls=%lld\r\n",
                          st->cmd->name, st->calls, st->ns / 1000, per_call, st->rejected_calls,
                          st->failed_calls);
    }
    return out;
}

static int code_cmp(const void *a, const void *b)
{
    return strcmp(((const struct err_count *)a)->code, ((const struct err_count *)b)->code);
}

dstr cmdstats_info_errors(const err_stats *errs, dstr out)
{
    /* In the order of their codes, as Redis lists them from its rax. */
    struct err_count sorted[ERRSTATS_MAX];
    memcpy(sorted, errs->errs, sizeof(sorted[0]) * (size_t)errs->n);
    qsort(sorted, (size_t)errs->n, sizeof(sorted[0]), code_cmp);
    for (int i = 0; i < errs->n; i++)
        out = dstr_catfmt(out, "errorstat_%s:count=%lld\r\n", sorted[i].code, sorted[i].count);
    return out;
}

dstr cmdstats_info_latency(cmdstats_table *t, dstr out, const char *pcts_str)
{
    /* The setting was checked when set: numbers in 0..100, one space
     * apart. */
    double pcts[LATENCY_PCTS_MAX];
    int npcts = 0;
    for (const char *p = pcts_str; *p && npcts < LATENCY_PCTS_MAX;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (str_to_double(p, len, &pcts[npcts])) npcts++;
        p += len + (end ? 1 : 0);
    }
    for (long i = 0; i < t->n; i++) {
        const cmd_stats *st = &t->stats[i];
        if (!st->latency) continue;
        out = dstr_catfmt(out, "latency_percentiles_usec_%s:", st->cmd->name);
        for (int j = 0; j < npcts; j++) {
            char name[40], value[40];
            fmt_percentile(name, sizeof(name), pcts[j]);
            fmt_fixed(value, sizeof(value), (double)hist_percentile(st->latency, pcts[j]) / 1000.0,
                      3);
            out = dstr_catfmt(out, "%sp%s=%s", j ? "," : "", name, value);
        }
        out = dstr_cat(out, "\r\n", 2);
    }
    return out;
}
