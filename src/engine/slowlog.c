/* slowlog.c -- the slow log and the SLOWLOG command; see slowlog.h. */
#include "slowlog.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "cmd.h"

/* As Redis: at most this many arguments are kept (the last one kept says
 * how many more there were), each cut to this many bytes. */
#define SLOWLOG_MAX_ARGC   32
#define SLOWLOG_MAX_STRING 128

typedef struct slow_entry {
    long long id, time_s, us;
    int argc;
    dstr *argv;
    dstr peer, name;
} slow_entry;

/* A ring of entries, the newest at head - 1.  It grows up to
 * slowlog-max-len; a smaller setting takes effect at the next push, as in
 * Redis. */
struct slowlog {
    slow_entry *ring;
    long cap, len, head; /* head: where the next entry goes */
    long long next_id;
};

static void entry_clear(slow_entry *se)
{
    for (int i = 0; i < se->argc; i++)
        dstr_free(se->argv[i]);
    cm_free(se->argv);
    dstr_free(se->peer);
    dstr_free(se->name);
    memset(se, 0, sizeof(*se));
}

/* The i-th newest entry (0 = the newest). */
static slow_entry *nth_newest(slowlog *sl, long i)
{
    return &sl->ring[(sl->head - 1 - i + sl->cap) % sl->cap];
}

static void slowlog_reset(slowlog *sl)
{
    for (long i = 0; i < sl->len; i++)
        entry_clear(nth_newest(sl, i));
    sl->len = 0;
}

void slowlog_free(slowlog *sl)
{
    if (!sl) return;
    slowlog_reset(sl);
    cm_free(sl->ring);
    cm_free(sl);
}

/* Re-lay the ring out in a new capacity, keeping the newest entries. */
static void resize(slowlog *sl, long cap)
{
    slow_entry *ring = cm_calloc((size_t)(cap ? cap : 1), sizeof(*ring));
    long keep = sl->len < cap ? sl->len : cap;
    for (long i = sl->len - 1; i >= keep; i--)
        entry_clear(nth_newest(sl, i));
    for (long i = 0; i < keep; i++)
        ring[keep - 1 - i] = *nth_newest(sl, i);
    cm_free(sl->ring);
    sl->ring = ring;
    sl->cap = cap ? cap : 1;
    sl->len = keep;
    sl->head = keep % sl->cap;
}

static dstr copy_arg(const cslice *a)
{
    if (a->len <= SLOWLOG_MAX_STRING) return dstr_new(a->ptr, a->len);
    dstr s = dstr_new(a->ptr, SLOWLOG_MAX_STRING);
    return dstr_catfmt(s, "... (%lu more bytes)", (unsigned long)(a->len - SLOWLOG_MAX_STRING));
}

static void fill_entry(slow_entry *se, const cmd_call *c, long long id, long long us)
{
    int argc = c->argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : c->argc;
    se->argv = cm_malloc(sizeof(dstr) * (size_t)argc);
    se->argc = argc;
    for (int i = 0; i < argc; i++) {
        if (argc != c->argc && i == argc - 1)
            se->argv[i] =
                dstr_catfmt(dstr_with_cap(32), "... (%d more arguments)", c->argc - argc + 1);
        else
            se->argv[i] = copy_arg(&c->argv[i]);
    }
    se->id = id;
    se->time_s = c->now_ms / 1000;
    se->us = us;
    /* A session with no connection (a script's, an embedded caller's) is
     * "?:0", as Redis names its connection-less clients (scripts' too). */
    const char *peer = c->s->addr ? c->s->addr : "?:0";
    se->peer = dstr_new(peer, strlen(peer));
    se->name = c->s->name ? dstr_new(c->s->name, dstr_len(c->s->name)) : dstr_new("", 0);
}

void slowlog_push(cmd_call *c, long long us)
{
    cairn_engine *e = c->e;
    long long max = e->cfg.slowlog_max_len;
    if (e->cfg.slowlog_log_slower_than < 0 || us < e->cfg.slowlog_log_slower_than) return;
    if (c->cmd->flags & CMD_SKIP_SLOWLOG) return;
    if (!e->slowlog) e->slowlog = cm_calloc(1, sizeof(slowlog));
    slowlog *sl = e->slowlog;
    if (max == 0) { /* as Redis: logged, then trimmed to nothing */
        slowlog_reset(sl);
        return;
    }
    if (sl->cap != max && (sl->len == sl->cap || max < sl->cap)) {
        /* Grow by doubling up to the setting; shrink to it at once. */
        long cap = sl->cap ? sl->cap * 2 : 16;
        if (cap > max || max < sl->cap) cap = (long)max;
        resize(sl, cap);
    }
    slow_entry *se = &sl->ring[sl->head];
    if (sl->len == sl->cap)
        entry_clear(se); /* the oldest goes */
    else
        sl->len++;
    fill_entry(se, c, sl->next_id++, us);
    sl->head = (sl->head + 1) % sl->cap;
}

static long slowlog_len(const cairn_engine *e) { return e->slowlog ? e->slowlog->len : 0; }

/* SLOWLOG GET [count]: the newest entries first; -1 means all. */
static void slowlog_get_command(cmd_call *c)
{
    long long count = 10;
    if (c->argc > 3) {
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "SLOWLOG HELP.",
                     c->argv[1].len > 128 ? 128 : (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    if (c->argc == 3 && !arg_range_ll(c, 2, -1, LLONG_MAX, &count,
                                      "ERR count should be greater than or equal to -1"))
        return;
    long len = slowlog_len(c->e);
    if (count == -1 || count > len) count = len;
    reply_array_len(c->out, (long)count);
    for (long i = 0; i < count; i++) {
        const slow_entry *se = nth_newest(c->e->slowlog, i);
        reply_array_len(c->out, 6);
        reply_int(c->out, se->id);
        reply_int(c->out, se->time_s);
        reply_int(c->out, se->us);
        reply_array_len(c->out, se->argc);
        for (int j = 0; j < se->argc; j++)
            reply_bulk(c->out, se->argv[j], dstr_len(se->argv[j]));
        reply_bulk(c->out, se->peer, dstr_len(se->peer));
        reply_bulk(c->out, se->name, dstr_len(se->name));
    }
}

static void slowlog_len_command(cmd_call *c) { reply_int(c->out, slowlog_len(c->e)); }

static void slowlog_reset_command(cmd_call *c)
{
    if (c->e->slowlog) slowlog_reset(c->e->slowlog);
    reply_ok(c->out);
}

static void slowlog_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define SLOWLOG_FLAGS (CMD_ADMIN | CMD_LOADING | CMD_STALE)
#define SLOWLOG_ACL   (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static const cmd_def slowlog_subcommands[] = {
    {"slowlog|get", slowlog_get_command, -2, SLOWLOG_FLAGS, SLOWLOG_ACL, 0, 0, 0, "server",
     "2.2.12", "Get the slow log's entries", "O(N) where N is the number of entries returned",
     NULL},
    {"slowlog|help", slowlog_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "server",
     "6.2.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {"slowlog|len", slowlog_len_command, 2, SLOWLOG_FLAGS, SLOWLOG_ACL, 0, 0, 0, "server", "2.2.12",
     "Get the slow log's length", "O(1)", NULL},
    {"slowlog|reset", slowlog_reset_command, 2, SLOWLOG_FLAGS, SLOWLOG_ACL, 0, 0, 0, "server",
     "2.2.12", "Clear all entries from the slow log",
     "O(N) where N is the number of entries in the slowlog", NULL},
    {0},
};

const cmd_def slowlog_commands[] = {
    {"slowlog", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "2.2.12",
     "A container for slow log commands", "Depends on subcommand.", slowlog_subcommands},
    {0},
};
