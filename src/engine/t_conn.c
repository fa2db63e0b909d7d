/* t_conn.c -- connection commands (PING, ECHO, QUIT, HELLO, RESET, SELECT)
 * and the database-wide ones (SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME).
 *
 * Semantics, reply shapes and error strings are Redis 7.0's. */
#include <limits.h>
#include <string.h>

#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "engine.h"
#include "multi.h"
#include "pubsub.h"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Parse argument i as an int the way Redis's getIntFromObjectOrReply does.
 * msg, if given, replaces every error; otherwise the errors are Redis's
 * "not an integer" and "out of range" ones.  Returns 1 on success. */
static int arg_int(cmd_call *c, int i, const char *msg, int *out)
{
    long long v;
    if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, &v)) {
        reply_error(c->out, msg ? msg : ERR_NOT_INT);
        return 0;
    }
    if (v < INT_MIN || v > INT_MAX) {
        if (msg)
            reply_error(c->out, msg);
        else
            reply_errorf(c->out, "ERR value is out of range, value must between %d and %d", INT_MIN,
                         INT_MAX);
        return 0;
    }
    *out = (int)v;
    return 1;
}

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

    const cslice *user = NULL, *name = NULL;
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "auth") && more >= 2) {
            user = &c->argv[j + 1];
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

    /* There are no users or passwords yet: everyone is Redis's "default"
     * user with nopass, which accepts any password, and no other user
     * exists. */
    if (user && !(user->len == 7 && memcmp(user->ptr, "default", 7) == 0)) {
        reply_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
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
    select_db(c, 0);
    set_resp(c, 2);
    dstr_free(c->s->name);
    c->s->name = NULL;
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
 * Databases
 * ------------------------------------------------------------------------ */

static void swapdb_command(cmd_call *c)
{
    int id1, id2;
    if (!arg_int(c, 1, "ERR invalid first DB index", &id1)) return;
    if (!arg_int(c, 2, "ERR invalid second DB index", &id2)) return;
    if (id1 < 0 || id1 >= c->e->ndbs || id2 < 0 || id2 >= c->e->ndbs) {
        reply_error(c->out, "ERR DB index is out of range");
        return;
    }
    if (id1 != id2) {
        /* Swap the contents; each cdb keeps its id, so sessions that
         * selected a db see the other's data, as in Redis.  Watched keys
         * that exist on either side before or after change; sessions
         * parked on a key that now exists may be served. */
        cdb *a = &c->e->dbs[id1], *b = &c->e->dbs[id2];
        touch_watched_db(c->e, a);
        touch_watched_db(c->e, b);
        cdb tmp = *a;
        a->keys = b->keys;
        a->vol = b->vol;
        a->nvol = b->nvol;
        a->vol_cap = b->vol_cap;
        a->expire_cursor = b->expire_cursor;
        a->avg_ttl = b->avg_ttl;
        b->keys = tmp.keys;
        b->vol = tmp.vol;
        b->nvol = tmp.nvol;
        b->vol_cap = tmp.vol_cap;
        b->expire_cursor = tmp.expire_cursor;
        b->avg_ttl = tmp.avg_ttl;
        touch_watched_db(c->e, a);
        touch_watched_db(c->e, b);
        signal_db_ready(c->e, a);
        signal_db_ready(c->e, b);
    }
    c->dirty++;
    reply_ok(c->out);
}

static void dbsize_command(cmd_call *c) { reply_int(c->out, db_size(c->db)); }

/* The optional SYNC|ASYNC of FLUSHDB and FLUSHALL.  Both flush at once:
 * the engine has no background thread to free memory in.  Returns 0 after
 * replying with a syntax error. */
static int flush_args_ok(cmd_call *c)
{
    if (c->argc == 1) return 1;
    if (c->argc == 2 && (arg_is(c, 1, "sync") || arg_is(c, 1, "async"))) return 1;
    reply_syntax_error(c);
    return 0;
}

static void flushdb_command(cmd_call *c)
{
    if (!flush_args_ok(c)) return;
    long long removed = db_size(c->db);
    touch_watched_db(c->e, c->db);
    db_empty(c->db);
    /* Logged even when the db was already empty, as Redis propagates it. */
    c->dirty += removed > 0 ? removed : 1;
    reply_ok(c->out);
}

static void flushall_command(cmd_call *c)
{
    if (!flush_args_ok(c)) return;
    long long removed = 0;
    touch_watched_db(c->e, NULL);
    for (int i = 0; i < c->e->ndbs; i++) {
        removed += db_size(&c->e->dbs[i]);
        db_empty(&c->e->dbs[i]);
    }
    c->dirty += removed + 1;
    reply_ok(c->out);
}

static void time_command(cmd_call *c)
{
    int64_t us = c->now_us ? c->now_us : c->now_ms * 1000;
    reply_array_len(c->out, 2);
    reply_bulk_ll(c->out, us / 1000000);
    reply_bulk_ll(c->out, us % 1000000);
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
    {"swapdb", swapdb_command, 3, CMD_WRITE | CMD_FAST,
     ACL_KEYSPACE | ACL_WRITE | ACL_FAST | ACL_DANGEROUS, 0, 0, 0, "server", "4.0.0",
     "Swaps two Redis databases",
     "O(N) where N is the count of clients watching or blocking on keys from both databases.",
     NULL},
    {"dbsize", dbsize_command, 1, CMD_READONLY | CMD_FAST, ACL_KEYSPACE | ACL_READ | ACL_FAST, 0, 0,
     0, "server", "1.0.0", "Return the number of keys in the selected database", "O(1)", NULL},
    {"flushdb", flushdb_command, -1, CMD_WRITE, ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS,
     0, 0, 0, "server", "1.0.0", "Remove all keys from the current database",
     "O(N) where N is the number of keys in the selected database", NULL},
    {"flushall", flushall_command, -1, CMD_WRITE,
     ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "Remove all keys from all databases",
     "O(N) where N is the total number of keys in all databases", NULL},
    {"time", time_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST, ACL_FAST, 0, 0, 0, "server",
     "2.6.0", "Return the current server time", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
