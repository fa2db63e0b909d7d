/* client_cmd.c -- CLIENT LIST, CLIENT INFO and CLIENT KILL: the CLIENT
 * subcommands that need the list of connections, which only the server
 * has.  The engine hands them over through cairn_host_ops.client_cmd; the
 * session-only subcommands (ID, SETNAME, REPLY, ...) stay in t_server.c. */
#include <string.h>

#include "../ds/util.h"
#include "../engine/acl.h"
#include "../engine/cmd.h"
#include "../engine/db.h"
#include "../engine/multi.h"
#include "../engine/pubsub.h"
#include "../engine/tracking.h"
#include "server.h"

/* Client types of CLIENT LIST TYPE / CLIENT KILL TYPE.  A connection is
 * a pubsub one while it has subscriptions, else a normal one: there are
 * no replicas. */
enum { TYPE_NONE = -1, TYPE_NORMAL, TYPE_REPLICA, TYPE_PUBSUB, TYPE_MASTER };

static int client_type_by_name(const cslice *s)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"normal", TYPE_NORMAL}, {"slave", TYPE_REPLICA}, {"replica", TYPE_REPLICA},
        {"pubsub", TYPE_PUBSUB}, {"master", TYPE_MASTER},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (slice_is(s, types[i].name)) return types[i].type;
    }
    return TYPE_NONE;
}

static int slice_eq_cstr(const cslice *s, const char *str)
{
    return s->len == strlen(str) && memcmp(s->ptr, str, s->len) == 0;
}

/* The output as Redis describes it: its first block is Redis's fixed
 * reply buffer (16 KiB either way): rbs its size, obl the bytes in it not
 * yet written; the blocks after it are Redis's reply list: oll their
 * number, omem the memory they take. */
typedef struct out_mem {
    size_t rbs, obl, oll, omem;
} out_mem;

static out_mem output_memory(const rbuf *b)
{
    out_mem m = {0, 0, 0, 0};
    const rbuf_block *blk = b->head;
    if (!blk) return m;
    m.rbs = rbuf_first_size(b);
    m.obl = blk->used - b->head_off;
    for (blk = blk->next; blk; blk = blk->next) {
        m.oll++;
        m.omem += sizeof(*blk) + blk->cap;
    }
    return m;
}

/* Redis's one-letter client flags, in the order Redis 7.0 writes them; N
 * when none applies. */
static void client_flags(const client *cl, char *buf, size_t size)
{
    size_t n = 0;
    if (pubsub_session_subscribed(&cl->sess)) buf[n++] = 'P';
    /* EXEC runs the queued commands still in the transaction, as Redis. */
    if (cl->sess.flags & (SESS_MULTI | SESS_IN_EXEC)) buf[n++] = 'x';
    /* Redis parks a client held by CLIENT PAUSE as a blocked one. */
    if (cl->sess.blocked || (cl->flags & CLIENT_PAUSED)) buf[n++] = 'b';
    if (tracking_session_on(&cl->sess)) buf[n++] = 't';
    if (tracking_session_broken(&cl->sess)) buf[n++] = 'R';
    if (tracking_session_bcast(&cl->sess)) buf[n++] = 'B';
    if (cl->sess.flags & SESS_DIRTY_CAS) buf[n++] = 'd';
    if ((cl->flags & CLIENT_CLOSE_AFTER) || (cl->sess.flags & SESS_CLOSE_AFTER_REPLY))
        buf[n++] = 'c';
    if (cl->flags & CLIENT_RESUME) buf[n++] = 'u';
    if (cl->flags & (CLIENT_CLOSING | CLIENT_CLOSE_ASAP)) buf[n++] = 'A';
    if (cl->flags & CLIENT_UNIX) buf[n++] = 'U';
    if (cl->sess.flags & SESS_NO_EVICT) buf[n++] = 'e';
    if (cl->sess.flags & SESS_NO_TOUCH) buf[n++] = 'T';
    if (!n) buf[n++] = 'N';
    buf[n < size ? n : size - 1] = '\0';
}

/* One line of CLIENT LIST in Redis 7.0's format (without the newline).
 * The caller is described as Redis does, with the command now running. */
static dstr cat_client_info(dstr s, const cmd_call *c, const client *cl)
{
    int self = cl == c->s->host_client;
    size_t argv_mem = 0;
    if (self)
        for (int i = 0; i < c->argc; i++)
            argv_mem += c->argv[i].len;
    /* The command of the request (EXEC while it runs CLIENT INFO). */
    const char *cmd = cl->sess.last_cmd ? cl->sess.last_cmd->name : "NULL";
    int64_t now_ms = clock_mono_ms();
    long long age = (now_ms - cl->ctime_ms) / 1000;
    long long idle = (now_ms - cl->last_ms) / 1000;
    size_t qbuf = dstr_len(cl->qbuf), qfree = dstr_cap(cl->qbuf) - qbuf;
    out_mem om = output_memory(&cl->out);
    size_t multi_mem = multi_queued_mem(&cl->sess);
    char flags[16];
    client_flags(cl, flags, sizeof(flags));
    int writing = cl->out.bytes > 0;
    return dstr_catfmt(
        s,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%ld "
        "psub=%ld ssub=%ld multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=%zu rbs=%zu "
        "rbp=%zu obl=%zu oll=%zu omem=%zu tot-mem=%zu events=%s cmd=%s user=%s redir=%lld "
        "resp=%d lib-name=%s lib-ver=%s",
        (unsigned long long)cl->sess.id, cl->addr, cl->laddr, cl->fd,
        cl->sess.name ? cl->sess.name : "", age > 0 ? age : 0, idle > 0 ? idle : 0, flags,
        cl->sess.db, pubsub_session_count(&cl->sess, PS_CHANNEL),
        pubsub_session_count(&cl->sess, PS_PATTERN), pubsub_session_count(&cl->sess, PS_SHARD),
        multi_queued_count(&cl->sess), qbuf, qfree, argv_mem, multi_mem, om.rbs, cl->rb_peak,
        om.obl, om.oll, om.omem, client_mem_usage(cl) + argv_mem, writing ? "rw" : "r", cmd,
        cl->sess.user->name, tracking_session_redirect(&cl->sess), cl->sess.resp,
        cl->sess.lib_name ? cl->sess.lib_name : "", cl->sess.lib_ver ? cl->sess.lib_ver : "");
}

/* A session that is not a network connection (run by the server itself):
 * described from the session alone. */
static dstr cat_session_info(dstr s, const cmd_call *c)
{
    return dstr_catfmt(s,
                       "id=%llu addr= laddr= fd=-1 name=%s age=0 idle=0 flags=N db=%d sub=0 "
                       "psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 "
                       "rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=%s "
                       "redir=-1 resp=%d lib-name=%s lib-ver=%s",
                       (unsigned long long)c->s->id, c->s->name ? c->s->name : "", c->s->db,
                       c->cmd->name, c->s->user->name, c->s->resp,
                       c->s->lib_name ? c->s->lib_name : "", c->s->lib_ver ? c->s->lib_ver : "");
}

static int type_matches(int type, const client *cl)
{
    int mine = pubsub_session_subscribed(&cl->sess) ? TYPE_PUBSUB : TYPE_NORMAL;
    return type == TYPE_NONE || type == mine;
}

/* The oldest connection first, as Redis lists them: new ones are pushed at
 * the head of the list, so walk it backwards. */
static client *oldest_client(cairn_server *srv)
{
    client *cl = srv->net.clients;
    while (cl && cl->next)
        cl = cl->next;
    return cl;
}

/* CLIENT LIST [TYPE type] | [ID id ...] */
static void client_list(cairn_server *srv, cmd_call *c)
{
    int type = TYPE_NONE;
    dstr s = dstr_with_cap(512);
    if (c->argc == 4 && arg_is(c, 2, "type")) {
        type = client_type_by_name(&c->argv[3]);
        if (type == TYPE_NONE) {
            int len = c->argv[3].len > 128 ? 128 : (int)c->argv[3].len;
            reply_errorf(c->out, "ERR Unknown client type '%.*s'", len, c->argv[3].ptr);
            dstr_free(s);
            return;
        }
    } else if (c->argc > 3 && arg_is(c, 2, "id")) {
        for (int i = 3; i < c->argc; i++) {
            long long id;
            if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, &id)) {
                reply_error(c->out, "ERR Invalid client ID");
                dstr_free(s);
                return;
            }
            client *cl = id > 0 ? net_find_client(&srv->net, (uint64_t)id) : NULL;
            if (!cl || (cl->flags & CLIENT_CLOSING)) continue;
            s = cat_client_info(s, c, cl);
            s = dstr_cat(s, "\n", 1);
        }
        reply_verbatim(c->out, s, dstr_len(s), "txt");
        dstr_free(s);
        return;
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        dstr_free(s);
        return;
    }
    for (client *cl = oldest_client(srv); cl; cl = cl->prev) {
        if (!type_matches(type, cl)) continue;
        s = cat_client_info(s, c, cl);
        s = dstr_cat(s, "\n", 1);
    }
    reply_verbatim(c->out, s, dstr_len(s), "txt");
    dstr_free(s);
}

static void client_info(cmd_call *c)
{
    const client *cl = c->s->host_client;
    dstr s =
        cl ? cat_client_info(dstr_with_cap(512), c, cl) : cat_session_info(dstr_with_cap(512), c);
    s = dstr_cat(s, "\n", 1);
    reply_verbatim(c->out, s, dstr_len(s), "txt");
    dstr_free(s);
}

dstr server_client_info(void *priv, const cmd_call *c)
{
    (void)priv;
    const client *cl = c->s->host_client;
    return cl ? cat_client_info(dstr_with_cap(512), c, cl)
              : cat_session_info(dstr_with_cap(512), c);
}

typedef struct kill_filter {
    const cslice *addr, *laddr;
    const struct acl_user *user;
    int type;
    unsigned long long id;
    int skipme;
} kill_filter;

/* Parse CLIENT KILL's option/value pairs; replies and returns -1 on
 * error. */
static int parse_kill_filter(cmd_call *c, kill_filter *f)
{
    for (int i = 2; i < c->argc; i += 2) {
        int more = c->argc > i + 1;
        const cslice *val = more ? &c->argv[i + 1] : NULL;
        if (more && arg_is(c, i, "id")) {
            long long id;
            if (!str_to_ll(val->ptr, val->len, &id) || id < 1) {
                reply_error(c->out, "ERR client-id should be greater than 0");
                return -1;
            }
            f->id = (unsigned long long)id;
        } else if (more && arg_is(c, i, "type")) {
            f->type = client_type_by_name(val);
            if (f->type == TYPE_NONE) {
                int len = val->len > 128 ? 128 : (int)val->len;
                reply_errorf(c->out, "ERR Unknown client type '%.*s'", len, val->ptr);
                return -1;
            }
        } else if (more && arg_is(c, i, "addr")) {
            f->addr = val;
        } else if (more && arg_is(c, i, "laddr")) {
            f->laddr = val;
        } else if (more && arg_is(c, i, "user")) {
            f->user = acl_find_user_slice(c->e, val);
            if (!f->user) {
                int len = val->len > 128 ? 128 : (int)val->len;
                reply_errorf(c->out, "ERR No such user '%.*s'", len, val->ptr);
                return -1;
            }
        } else if (more && arg_is(c, i, "skipme")) {
            if (slice_is(val, "yes"))
                f->skipme = 1;
            else if (slice_is(val, "no"))
                f->skipme = 0;
            else
                return reply_syntax_error(c);
        } else {
            return reply_syntax_error(c);
        }
    }
    return 0;
}

static int kill_matches(const kill_filter *f, const client *cl, const client *self)
{
    if (cl->flags & CLIENT_CLOSING) return 0;
    if (f->addr && !slice_eq_cstr(f->addr, cl->addr)) return 0;
    if (f->laddr && !slice_eq_cstr(f->laddr, cl->laddr)) return 0;
    if (!type_matches(f->type, cl)) return 0;
    if (f->id && cl->sess.id != f->id) return 0;
    if (f->user && cl->sess.user != f->user) return 0;
    if (cl == self && f->skipme) return 0;
    return 1;
}

/* CLIENT KILL <ip:port>  |  CLIENT KILL <option> <value> [...]
 * The old form answers +OK or an error, the new one the number killed.
 * The caller itself is closed only after its reply is written. */
static void client_kill(cairn_server *srv, cmd_call *c)
{
    kill_filter f = {.type = TYPE_NONE, .skipme = 1};
    int old_form = c->argc == 3;
    if (old_form) {
        f.addr = &c->argv[2];
        f.skipme = 0; /* the old form may kill the caller */
    } else if (parse_kill_filter(c, &f) != 0) {
        return;
    }
    client *self = c->s->host_client;
    long long killed = 0;
    for (client *cl = srv->net.clients, *next; cl; cl = next) {
        next = cl->next;
        if (!kill_matches(&f, cl, self)) continue;
        if (cl == self)
            cl->flags |= CLIENT_CLOSE_AFTER;
        else
            client_close(cl);
        killed++;
    }
    if (!old_form)
        reply_int(c->out, killed);
    else if (killed)
        reply_ok(c->out);
    else
        reply_error(c->out, "ERR No such client");
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR] */
static void client_unblock(cairn_server *srv, cmd_call *c)
{
    long long id;
    if (!arg_ll(c, 2, &id)) return;
    int with_error = 0;
    if (c->argc == 4) {
        if (arg_is(c, 3, "error")) {
            with_error = 1;
        } else if (!arg_is(c, 3, "timeout")) {
            reply_error(c->out, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (c->argc > 4) {
        reply_syntax_error(c);
        return;
    }
    client *target = net_find_client(&srv->net, (uint64_t)id);
    reply_int(c->out, target && (engine_unblock(srv->engine, &target->sess, with_error) ||
                                 server_raft_unblock(srv, (uint64_t)id, with_error)));
}

/* CLIENT PAUSE timeout [WRITE|ALL]: timeout in milliseconds. */
static void client_pause(cairn_server *srv, cmd_call *c)
{
    long long ms;
    if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &ms)) {
        reply_error(c->out, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(c->out, "ERR timeout is negative");
        return;
    }
    int type = NET_PAUSE_ALL;
    if (c->argc == 4 && arg_is(c, 3, "write")) {
        type = NET_PAUSE_WRITE;
    } else if (c->argc == 4 && !arg_is(c, 3, "all")) {
        reply_error(c->out, "ERR CLIENT PAUSE mode must be WRITE or ALL");
        return;
    } else if (c->argc > 4) {
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT "
                     "HELP.",
                     (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    int64_t now = clock_mono_ms();
    net_pause(&srv->net, type, ms > INT64_MAX - now ? INT64_MAX : now + ms);
    reply_ok(c->out);
}

void server_client_cmd(void *priv, cmd_call *c)
{
    cairn_server *srv = priv;
    const char *name = c->cmd->name;
    if (!strcmp(name, "client|list"))
        client_list(srv, c);
    else if (!strcmp(name, "client|info"))
        client_info(c);
    else if (!strcmp(name, "client|kill"))
        client_kill(srv, c);
    else if (!strcmp(name, "client|unblock"))
        client_unblock(srv, c);
    else if (!strcmp(name, "client|pause"))
        client_pause(srv, c);
    else if (!strcmp(name, "client|unpause")) {
        net_unpause(&srv->net);
        reply_ok(c->out);
    } else
        reply_errorf(c->out, "ERR unknown subcommand '%s'. Try CLIENT HELP.", name);
}
