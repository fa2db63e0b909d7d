/* t_conn.c -- connection commands: PING, ECHO, QUIT, HELLO, RESET and
 * SELECT.
 *
 * Semantics, reply shapes and error strings are Redis 7.0's. */
#include <string.h>

#include "../ds/util.h"
#include "acl.h"
#include "cmd.h"
#include "db.h"
#include "engine.h"
#include "monitor.h"
#include "multi.h"
#include "pubsub.h"
#include "tracking.h"

static void select_db(cmd_call *c, int id)
{
    c->s->db = id;
    c->db = &c->e->dbs[id];
}

static void set_resp(cmd_call *c, int resp)
{
    c->s->resp = resp;
    /* The reply to this very command is already in the new protocol. */
    c->out->resp = resp;
}

/* ---------------------------------------------------------------------------
 * Connection
 * ------------------------------------------------------------------------ */

static void ping_command(cmd_call *c)
{
    /* Arity is -1 so that the error names PING, as Redis's does. */
    if (c->argc > 2) {
        reply_error(c->out, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (pubsub_session_subscribed(c->s) && c->s->resp == 2) {
        /* A subscribed RESP2 client reads every reply as a message frame:
         * PING answers in that shape, as Redis does. */
        reply_array_len(c->out, 2);
        reply_bulk(c->out, "pong", 4);
        if (c->argc == 1)
            reply_bulk(c->out, "", 0);
        else
            reply_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
        return;
    }
    if (c->argc == 1)
        reply_simple(c->out, "PONG");
    else
        reply_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
}

static void echo_command(cmd_call *c) { reply_bulk(c->out, c->argv[1].ptr, c->argv[1].len); }

static void quit_command(cmd_call *c)
{
    c->s->flags |= SESS_CLOSE_AFTER_REPLY;
    reply_ok(c->out);
}

/* Client names are printed space-separated by CLIENT LIST, so only
 * printable characters other than space are allowed, as in Redis. */
static int set_client_name(cmd_call *c, const cslice *name)
{
    for (size_t i = 0; i < name->len; i++) {
        unsigned char ch = (unsigned char)name->ptr[i];
        if (ch < '!' || ch > '~') {
            reply_error(c->out,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
            return 0;
        }
    }
    dstr_free(c->s->name);
    c->s->name = name->len ? dstr_new(name->ptr, name->len) : NULL;
    return 1;
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void hello_command(cmd_call *c)
{
    long long ver = 0;
    int j = 1;
    if (c->argc >= 2) {
        if (!str_to_ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            reply_error(c->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c->out, "NOPROTO unsupported protocol version");
            return;
        }
        j = 2;
    }

    const cslice *user = NULL, *pass = NULL, *name = NULL;
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "auth") && more >= 2) {
            user = &c->argv[j + 1];
            pass = &c->argv[j + 2];
            j += 2;
        } else if (arg_is(c, j, "setname") && more >= 1) {
            name = &c->argv[j + 1];
            j++;
        } else {
            reply_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'", (int)c->argv[j].len,
                         c->argv[j].ptr);
            return;
        }
    }

    if (user && !acl_authenticate(c, user, pass)) {
        reply_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (!user && acl_auth_required(c->e, c->s)) {
        reply_error(c->out, "NOAUTH HELLO must be called with the client already authenticated, "
                            "otherwise the HELLO AUTH <user> <pass> option can be used to "
                            "authenticate the client and select the RESP protocol version at the "
                            "same time");
        return;
    }
    if (name && !set_client_name(c, name)) return;
    if (ver) set_resp(c, (int)ver);

    /* "server" is "cairn" -- this is not Redis and INFO says so too -- but
     * "version" is the Redis version whose behaviour Cairn implements,
     * because that is what clients read it for. */
    reply_map_len(c->out, 7);
    reply_bulk_cstr(c->out, "server");
    reply_bulk_cstr(c->out, "cairn");
    reply_bulk_cstr(c->out, "version");
    reply_bulk_cstr(c->out, REDIS_COMPAT_VERSION);
    reply_bulk_cstr(c->out, "proto");
    reply_int(c->out, c->s->resp);
    reply_bulk_cstr(c->out, "id");
    reply_int(c->out, (long long)c->s->id);
    reply_bulk_cstr(c->out, "mode");
    reply_bulk_cstr(c->out, "standalone");
    reply_bulk_cstr(c->out, "role");
    reply_bulk_cstr(c->out, "master");
    reply_bulk_cstr(c->out, "modules");
    reply_empty_array(c->out);
}

/* RESET: back to the state of a new connection, without transaction,
 * watched keys or subscriptions. */
static void reset_command(cmd_call *c)
{
    multi_session_reset(c->e, c->s);
    pubsub_session_reset(c->e, c->s);
    tracking_session_reset(c->e, c->s);
    monitor_remove(c->e, c->s);
    select_db(c, 0);
    set_resp(c, 2);
    dstr_free(c->s->name);
    c->s->name = NULL;
    acl_session_init(c->e, c->s); /* back to the default user, as a new connection */
    /* SESS_REPLY_SKIP belongs to this very command and stays, as in Redis. */
    c->s->flags &= ~(SESS_REPLY_OFF | SESS_REPLY_SKIP_NEXT | SESS_NO_EVICT | SESS_NO_TOUCH);
    reply_simple(c->out, "RESET");
}

static void select_command(cmd_call *c)
{
    int id;
    if (!arg_int(c, 1, NULL, &id)) return;
    if (id < 0 || id >= c->e->ndbs) {
        reply_error(c->out, "ERR DB index is out of range");
        return;
    }
    select_db(c, id);
    reply_ok(c->out);
}

/* ---------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

#define CONN_ACL (ACL_FAST | ACL_CONNECTION)
#define HANDSHAKE_FLAGS                                                                            \
    (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY)

const cmd_def conn_commands[] = {
    {"ping", ping_command, -1, CMD_FAST | CMD_SUBSCRIBED_OK, CONN_ACL, 0, 0, 0, "connection",
     "1.0.0", "Ping the server", "O(1)", NULL},
    {"echo", echo_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST, CONN_ACL, 0, 0, 0, "connection",
     "1.0.0", "Echo the given string", "O(1)", NULL},
    {"quit", quit_command, -1, HANDSHAKE_FLAGS | CMD_SUBSCRIBED_OK, CONN_ACL, 0, 0, 0, "connection",
     "1.0.0", "Close the connection", "O(1)", NULL},
    {"hello", hello_command, -1, HANDSHAKE_FLAGS, CONN_ACL, 0, 0, 0, "connection", "6.0.0",
     "Handshake with Redis", "O(1)", NULL},
    {"reset", reset_command, 1, HANDSHAKE_FLAGS | CMD_SUBSCRIBED_OK, CONN_ACL, 0, 0, 0,
     "connection", "6.2.0", "Reset the connection", "O(1)", NULL},
    {"select", select_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST, CONN_ACL, 0, 0, 0,
     "connection", "1.0.0", "Change the selected database for the current connection", "O(1)",
     NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
