/* monitor.c -- MONITOR; see monitor.h. */
#include "monitor.h"

#include <string.h>

#include "../ds/alloc.h"
#include "cmd.h"

struct monitors {
    cairn_session **s;
    int n, cap;
};

void monitors_free(monitors *m)
{
    if (!m) return;
    cm_free(m->s);
    cm_free(m);
}

static void set_monitoring(cairn_engine *e, int on)
{
    e->cfg.monitoring = on;
    config_watch_fixup(&e->cfg);
}

void monitor_remove(cairn_engine *e, cairn_session *s)
{
    if (!(s->flags & SESS_MONITOR)) return;
    s->flags &= ~SESS_MONITOR;
    monitors *m = e->monitors;
    for (int i = 0; i < m->n; i++) {
        if (m->s[i] != s) continue;
        memmove(&m->s[i], &m->s[i + 1], sizeof(m->s[0]) * (size_t)(m->n - i - 1));
        m->n--;
        break;
    }
    if (!m->n) set_monitoring(e, 0);
}

/* Who ran the command, as Redis names it in the brackets. */
static dstr cat_origin(dstr line, const cairn_session *s)
{
    const char *addr = s->addr ? s->addr : "";
    if (s->flags & SESS_SCRIPT) return dstr_cat(line, "lua", 3);
    if (s->flags & SESS_UNIX) {
        /* The address of a unix socket client is "<path>:0". */
        size_t len = strlen(addr);
        if (len >= 2 && !strcmp(addr + len - 2, ":0")) len -= 2;
        line = dstr_cat(line, "unix:", 5);
        return dstr_cat(line, addr, len);
    }
    return dstr_cat(line, addr, strlen(addr));
}

void monitor_feed(cmd_call *c)
{
    cairn_engine *e = c->e;
    monitors *m = e->monitors;
    if (!m || !m->n) return;
    int64_t us = c->now_us ? c->now_us : c->now_ms * 1000;
    dstr line = dstr_catfmt(dstr_with_cap(128), "+%lld.%06lld [%d ", (long long)(us / 1000000),
                            (long long)(us % 1000000), c->db->id);
    line = cat_origin(line, c->s);
    line = dstr_cat(line, "] ", 2);
    for (int i = 0; i < c->argc; i++) {
        if (i) line = dstr_cat(line, " ", 1);
        line = dstr_cat_repr(line, c->argv[i].ptr, c->argv[i].len);
    }
    line = dstr_cat(line, "\r\n", 2);
    for (int i = 0; i < m->n; i++) {
        cairn_session *s = m->s[i];
        if ((s->flags & SESS_CLOSE_ASAP) || !s->out) continue;
        rbuf_append(s->out, line, dstr_len(line));
        if (e->host && e->host->pushed) e->host->pushed(e->host_priv, s);
    }
    dstr_free(line);
}

static void monitor_command(cmd_call *c)
{
    cairn_session *s = c->s;
    /* A monitor's replies come unasked: a session that must get exactly
     * one reply per command (in a transaction) or has no connection
     * cannot monitor. */
    if ((s->flags & (SESS_MULTI | SESS_IN_EXEC)) || !s->out || !(s->flags & SESS_CAN_BLOCK)) {
        reply_error(c->out, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (s->flags & SESS_MONITOR) return; /* as Redis: no reply */
    cairn_engine *e = c->e;
    if (!e->monitors) e->monitors = cm_calloc(1, sizeof(monitors));
    monitors *m = e->monitors;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->s = cm_realloc(m->s, sizeof(m->s[0]) * (size_t)m->cap);
    }
    m->s[m->n++] = s;
    s->flags |= SESS_MONITOR;
    set_monitoring(e, 1);
    reply_ok(c->out);
}

const cmd_def monitor_commands[] = {
    {"monitor", monitor_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
     ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "Listen for all requests received by the server in real time", "O(1)", NULL},
    {0},
};
