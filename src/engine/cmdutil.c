/* cmdutil.c -- small helpers shared by command handlers; see cmd.h. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"

int slice_is(const cslice *s, const char *kw)
{
    size_t n = strlen(kw);
    return s->len == n && strncasecmp(s->ptr, kw, n) == 0;
}

int arg_ll(cmd_call *c, int i, long long *out)
{
    if (str_to_ll(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(c->out, ERR_NOT_INT);
    return 0;
}

int arg_range_ll(cmd_call *c, int i, long long min, long long max, long long *v, const char *msg)
{
    if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, v)) {
        reply_error(c->out, msg ? msg : ERR_NOT_INT);
        return 0;
    }
    if (*v < min || *v > max) {
        if (msg)
            reply_error(c->out, msg);
        else
            reply_errorf(c->out, "ERR value is out of range, value must between %lld and %lld", min,
                         max);
        return 0;
    }
    return 1;
}

int arg_int(cmd_call *c, int i, const char *msg, int *out)
{
    long long v;
    if (!arg_range_ll(c, i, INT_MIN, INT_MAX, &v, msg)) return 0;
    *out = (int)v;
    return 1;
}

void arg_cstr(const cmd_call *c, int i, char *buf, size_t size)
{
    size_t n = c->argv[i].len < size - 1 ? c->argv[i].len : size - 1;
    memcpy(buf, c->argv[i].ptr, n);
    buf[n] = '\0';
}

int reply_syntax_error(cmd_call *c)
{
    reply_error(c->out, ERR_SYNTAX);
    return -1;
}

int check_type(cmd_call *c, const cobj *o, int type)
{
    if (o->type == type) return 0;
    reply_error(c->out, ERR_WRONGTYPE);
    return 1;
}

void reply_help(cmd_call *c, const char *const *lines, size_t n)
{
    char cmd[64];
    ascii_case_copy(cmd, sizeof(cmd), c->argv[0].ptr, c->argv[0].len, 1);
    char head[160];
    snprintf(head, sizeof(head),
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    reply_array_len(c->out, (long)n + 3);
    reply_simple(c->out, head);
    for (size_t i = 0; i < n; i++)
        reply_simple(c->out, lines[i]);
    reply_simple(c->out, "HELP");
    reply_simple(c->out, "    Prints this help.");
}

int reply_over_limit(cmd_call *c)
{
    const obuf_limit *l = &c->e->cfg.obuf_limits[c->s->sub ? OBUF_PUBSUB : OBUF_NORMAL];
    if (!l->hard || c->out->bytes < l->hard) return 0;
    c->s->flags |= SESS_CLOSE_ASAP;
    return 1;
}

void log_as(cmd_call *c, int argc, const cslice *argv)
{
    for (int i = 0; i < c->log_argc; i++)
        dstr_free(c->log_argv[i]);
    c->log_argv = cm_realloc(c->log_argv, sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++)
        c->log_argv[i] = dstr_new(argv[i].ptr, argv[i].len);
    c->log_argc = argc;
}

struct log_more {
    int n, cap;
    int *argc;
    dstr **argv;
};

void log_add(cmd_call *c, int argc, const cslice *argv)
{
    if (c->log_argc == 0) {
        log_as(c, argc, argv);
        return;
    }
    if (!c->log_more) c->log_more = cm_calloc(1, sizeof(*c->log_more));
    struct log_more *m = c->log_more;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->argc = cm_realloc(m->argc, sizeof(*m->argc) * (size_t)m->cap);
        m->argv = cm_realloc(m->argv, sizeof(*m->argv) * (size_t)m->cap);
    }
    dstr *copy = cm_malloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++)
        copy[i] = dstr_new(argv[i].ptr, argv[i].len);
    m->argc[m->n] = argc;
    m->argv[m->n++] = copy;
}

void log_more_flush(cmd_call *c, int log)
{
    struct log_more *m = c->log_more;
    for (int i = 0; i < m->n; i++) {
        if (log) {
            cslice *argv = cm_malloc(sizeof(cslice) * (size_t)m->argc[i]);
            for (int j = 0; j < m->argc[i]; j++)
                argv[j] = (cslice){m->argv[i][j], dstr_len(m->argv[i][j])};
            engine_log(c->e, (uint32_t)c->db->id, c->now_ms, c->seed, m->argc[i], argv);
            cm_free(argv);
        }
        for (int j = 0; j < m->argc[i]; j++)
            dstr_free(m->argv[i][j]);
        cm_free(m->argv[i]);
    }
    cm_free(m->argc);
    cm_free(m->argv);
    cm_free(m);
    c->log_more = NULL;
}
