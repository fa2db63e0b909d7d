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

uint32_t cmd_spec_flags(const cmd_def *cmd, int rest)
{
    if (!(cmd->key_spec & KF_SET)) {
        if (cmd->flags & CMD_WRITE) return KF_RW | KF_UPDATE;
        return (cmd->flags & CMD_READONLY) ? KF_RO | KF_ACCESS : KF_RO;
    }
    return (rest ? cmd->key_spec >> KF_BITS : cmd->key_spec) & KF_ALL;
}

uint32_t cmd_key_flags(const cmd_def *cmd, int i, int argc, const cslice *argv)
{
    uint32_t flags = cmd_spec_flags(cmd, i > 0);
    return cmd->key_flags_of ? cmd->key_flags_of(i, argc, argv, flags) : flags;
}

rbuf *call_push_out(cmd_call *c)
{
    const cairn_session *s = c->s;
    if ((s->flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP)) && s->out) return s->out;
    return c->out;
}

int reply_over_limit(cmd_call *c)
{
    const obuf_limit *l = &c->e->cfg.obuf_limits[c->s->sub ? OBUF_PUBSUB : OBUF_NORMAL];
    if (!l->hard || c->out->bytes < l->hard) return 0;
    c->s->flags |= SESS_CLOSE_ASAP;
    return 1;
}

/* One logged entry's arguments, copied into a single allocation: the
 * slices, then the bytes they point to. */
typedef struct log_pack {
    struct log_pack *next;
    struct log_pack *last; /* meaningful in the first pack: the list's tail */
    int argc;
    cslice argv[];
} log_pack;

static log_pack *pack_new(int argc, const cslice *argv)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argv[i].len;
    log_pack *p = cm_malloc(sizeof(*p) + sizeof(cslice) * (size_t)argc + bytes);
    char *w = (char *)(p->argv + argc);
    for (int i = 0; i < argc; i++) {
        if (argv[i].len) memcpy(w, argv[i].ptr, argv[i].len);
        p->argv[i] = (cslice){w, argv[i].len};
        w += argv[i].len;
    }
    p->argc = argc;
    p->next = NULL;
    p->last = p;
    return p;
}

void log_flush(cmd_call *c, int write)
{
    log_pack *p = c->log;
    int atomic = write && p->next;
    if (atomic) engine_atomic_begin(c->e, (uint32_t)c->db->id, c->now_ms);
    while (p) {
        log_pack *next = p->next;
        if (write) engine_log(c->e, (uint32_t)c->db->id, c->now_ms, c->seed, p->argc, p->argv);
        cm_free(p);
        p = next;
    }
    if (atomic) engine_atomic_end(c->e, (uint32_t)c->db->id);
    c->log = NULL;
}

void log_as(cmd_call *c, int argc, const cslice *argv)
{
    if (c->log) log_flush(c, 0);
    c->log = pack_new(argc, argv);
}

void log_as_replacing(cmd_call *c, int i, const char *s, size_t len)
{
    if (c->log) log_flush(c, 0);
    log_pack *p = cm_malloc(sizeof(*p) + sizeof(cslice) * (size_t)c->argc + len);
    memcpy(p->argv, c->argv, sizeof(cslice) * (size_t)c->argc);
    char *w = (char *)(p->argv + c->argc);
    memcpy(w, s, len);
    p->argv[i] = (cslice){w, len};
    p->argc = c->argc;
    p->next = NULL;
    p->last = p;
    c->log = p;
}

void log_add(cmd_call *c, int argc, const cslice *argv)
{
    if (!c->log) {
        log_as(c, argc, argv);
        return;
    }
    log_pack *p = pack_new(argc, argv);
    c->log->last->next = p;
    c->log->last = p;
}
