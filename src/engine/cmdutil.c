/* cmdutil.c -- small helpers shared by command handlers; see cmd.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    arg_cstr(c, 0, cmd, sizeof(cmd));
    for (char *p = cmd; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
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
