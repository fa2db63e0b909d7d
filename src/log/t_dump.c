/* t_dump.c -- DUMP and RESTORE: a key's value in Redis's serialization
 * (rdb.c), so values cross between Cairn and Redis.
 *
 * RESTORE is deterministic given its entry (DESIGN rule 4): the payload
 * is in its arguments, a relative TTL is resolved against the entry's
 * now_ms, and IDLETIME/FREQ only set access metadata from now_ms.  A
 * RESTORE whose TTL has already passed creates nothing and is logged as
 * the DEL of the key it replaced, if any, as Redis propagates it.
 *
 * MIGRATE sends RESTOREs to another server through the host (which owns
 * the sockets: cairn_host_ops.migrate_io) and deletes the keys the target
 * took unless COPY; those deletions are its effect, logged as one DEL. */
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/cmd.h"
#include "../engine/db.h"
#include "../engine/evict.h"
#include "../engine/notify.h"
#include "rdb.h"

#define ERR_BAD_PAYLOAD "ERR DUMP payload version or checksum are wrong"
#define ERR_BUSYKEY     "BUSYKEY Target key name already exists."

static void dump_command(cmd_call *c)
{
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_null(c->out);
        return;
    }
    dstr payload = rdb_dump_payload(o, c->e->cfg.rdbcompression);
    reply_bulk(c->out, payload, dstr_len(payload));
    dstr_free(payload);
}

typedef struct restore_opts {
    int replace, absttl;
    long long idle, freq; /* -1: not given */
} restore_opts;

/* The options after the payload, as Redis parses them: IDLETIME and FREQ
 * exclude each other.  Replies and returns 0 on an error. */
static int parse_restore_opts(cmd_call *c, restore_opts *o)
{
    *o = (restore_opts){0, 0, -1, -1};
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(c, j, "replace")) {
            o->replace = 1;
        } else if (arg_is(c, j, "absttl")) {
            o->absttl = 1;
        } else if (arg_is(c, j, "idletime") && more >= 1 && o->freq == -1) {
            if (!arg_ll(c, ++j, &o->idle)) return 0;
            if (o->idle < 0) {
                reply_error(c->out, "ERR Invalid IDLETIME value, must be >= 0");
                return 0;
            }
        } else if (arg_is(c, j, "freq") && more >= 1 && o->idle == -1) {
            if (!arg_ll(c, ++j, &o->freq)) return 0;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(c->out, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return 0;
            }
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* The value of a checked payload, or NULL when it does not decode. */
static cobj *decode_payload(cmd_call *c, const cslice *payload)
{
    rdb_reader r = {(const unsigned char *)payload->ptr,
                    (const unsigned char *)payload->ptr + payload->len - 10, NULL};
    unsigned type;
    if (!rdb_read_u8(&r, &type) || !rdb_is_object_type((int)type)) return NULL;
    return rdb_read_object(&r, c, (int)type);
}

/* IDLETIME and FREQ as Redis's objectSetLRUOrLFU: FREQ counts under an
 * LFU policy, IDLETIME under any other; the one that does not apply is
 * ignored. */
static void set_access(cmd_call *c, cobj *o, const restore_opts *opt)
{
    if (evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) {
        if (opt->freq >= 0) o->lru = (lfu_minutes(c->now_ms) << 8) | (unsigned)opt->freq;
    } else if (opt->idle >= 0) {
        unsigned long long idle = (unsigned long long)opt->idle;
        if (idle > 0xFFFFFF) idle = 0xFFFFFF;
        o->lru = (engine_lru_clock(c->now_ms) - (unsigned)idle) & 0xFFFFFF;
    }
}

static void restore_command(cmd_call *c)
{
    restore_opts opt;
    if (!parse_restore_opts(c, &opt)) return;
    const cslice *key = &c->argv[1];
    if (!opt.replace && lookup_write(c, key)) {
        reply_error(c->out, ERR_BUSYKEY);
        return;
    }
    long long ttl;
    if (!arg_ll(c, 2, &ttl)) return;
    if (ttl < 0) {
        reply_error(c->out, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const cslice *payload = &c->argv[3];
    if (!rdb_payload_ok(payload->ptr, payload->len)) {
        reply_error(c->out, ERR_BAD_PAYLOAD);
        return;
    }
    cobj *o = decode_payload(c, payload);
    if (!o) {
        reply_error(c->out, "ERR Bad data format");
        return;
    }
    int deleted = opt.replace && lookup_write(c, key) && db_delete(c, c->db, key);
    if (ttl && !opt.absttl) ttl = ttl > INT64_MAX - c->now_ms ? INT64_MAX : ttl + c->now_ms;
    if (ttl && ttl <= c->now_ms && !c->e->applying) {
        /* Expired on arrival: nothing is created. */
        obj_free(o);
        if (deleted) {
            cslice del[2] = {{"DEL", 3}, *key};
            log_as(c, 2, del);
            notify_key(c, NOTIFY_GENERIC, "del", key);
            c->dirty++;
        }
        reply_ok(c->out);
        return;
    }
    o = db_add(c, c->db, key, obj_set_key(o, key, ttl ? ttl : -1));
    set_access(c, o, &opt);
    notify_key(c, NOTIFY_GENERIC, "restore", key);
    c->dirty++;
    reply_ok(c->out);
}

/* ---- MIGRATE ---------------------------------------------------------- */

typedef struct migrate_opts {
    int copy, replace;
    const cslice *user, *pass; /* AUTH / AUTH2 */
    int first_key, nkeys;
} migrate_opts;

static int parse_migrate_opts(cmd_call *c, migrate_opts *o)
{
    *o = (migrate_opts){0, 0, NULL, NULL, 3, 1};
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(c, j, "copy")) {
            o->copy = 1;
        } else if (arg_is(c, j, "replace")) {
            o->replace = 1;
        } else if (arg_is(c, j, "auth") && more >= 1) {
            o->user = NULL;
            o->pass = &c->argv[++j];
        } else if (arg_is(c, j, "auth2") && more >= 2) {
            o->user = &c->argv[++j];
            o->pass = &c->argv[++j];
        } else if (arg_is(c, j, "keys")) {
            if (c->argv[3].len != 0) {
                reply_error(c->out, "ERR When using MIGRATE KEYS option, the key argument must be "
                                    "set to the empty string");
                return 0;
            }
            o->first_key = j + 1;
            o->nkeys = c->argc - j - 1;
            break;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

static dstr resp_cmd(dstr out, int argc, const cslice *argv)
{
    out = dstr_catfmt(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        out = dstr_catfmt(out, "$%zu\r\n", argv[i].len);
        out = dstr_cat(out, argv[i].ptr, argv[i].len);
        out = dstr_cat(out, "\r\n", 2);
    }
    return out;
}

/* The request: AUTH, SELECT, then one RESTORE per key (with what is left
 * of its TTL).  Returns how many reply lines to expect. */
static int migrate_request(cmd_call *c, const migrate_opts *o, const cslice *db, cobj **objs,
                           const cslice *keys, int n, dstr *req)
{
    int lines = 0;
    if (o->pass) {
        cslice a[3] = {{"AUTH", 4}};
        int argc = 1;
        if (o->user) a[argc++] = *o->user;
        a[argc++] = *o->pass;
        *req = resp_cmd(*req, argc, a);
        lines++;
    }
    cslice sel[2] = {{"SELECT", 6}, *db};
    *req = resp_cmd(*req, 2, sel);
    lines++;
    for (int i = 0; i < n; i++) {
        long long ttl = 0;
        if (obj_has_expire(objs[i])) {
            ttl = obj_expire(objs[i]) - c->now_ms;
            if (ttl < 1) ttl = 1;
        }
        char num[32];
        int nlen = snprintf(num, sizeof(num), "%lld", ttl);
        dstr payload = rdb_dump_payload(objs[i], c->e->cfg.rdbcompression);
        cslice a[5] = {{"RESTORE", 7},
                       keys[i],
                       {num, (size_t)nlen},
                       {payload, dstr_len(payload)},
                       {"REPLACE", 7}};
        *req = resp_cmd(*req, o->replace ? 5 : 4, a);
        dstr_free(payload);
        lines++;
    }
    return lines;
}

/* Delete the keys the target took (all but COPY), logged as one DEL. */
static void migrate_delete(cmd_call *c, const cslice *keys, const int *taken, int n)
{
    cslice *del = cm_malloc(sizeof(cslice) * (size_t)(n + 1));
    int ndel = 0;
    del[ndel++] = (cslice){"DEL", 3};
    for (int i = 0; i < n; i++) {
        if (!taken[i] || !db_delete(c, c->db, &keys[i])) continue;
        notify_key(c, NOTIFY_GENERIC, "del", &keys[i]);
        del[ndel++] = keys[i];
        c->dirty++;
    }
    if (ndel > 1) log_as(c, ndel, del);
    cm_free(del);
}

/* Reply lines: errors from AUTH/SELECT or a RESTORE fail the command (the
 * first one is reported); keys whose RESTORE succeeded are taken. */
static void migrate_replies(cmd_call *c, const migrate_opts *o, dstr *lines, int nlines,
                            const cslice *keys, int n)
{
    int *taken = cm_calloc((size_t)n + 1, sizeof(int));
    const char *err = NULL;
    int first = nlines - n;
    for (int i = 0; i < nlines; i++) {
        if (lines[i][0] == '-') {
            if (!err) err = lines[i] + 1;
            if (i < first) break; /* AUTH or SELECT failed: nothing was restored */
        } else if (i >= first) {
            taken[i - first] = 1;
        }
    }
    if (!o->copy) migrate_delete(c, keys, taken, n);
    cm_free(taken);
    if (err)
        reply_errorf(c->out, "ERR Target instance replied with error: %s", err);
    else
        reply_ok(c->out);
}

static void migrate_command(cmd_call *c)
{
    migrate_opts o;
    if (!parse_migrate_opts(c, &o)) return;
    long long dbid, timeout, port;
    if (!arg_ll(c, 5, &timeout) || !arg_ll(c, 4, &dbid)) return;
    if (timeout <= 0) timeout = 1000;
    cobj **objs = cm_malloc(sizeof(cobj *) * (size_t)(o.nkeys + 1));
    cslice *keys = cm_malloc(sizeof(cslice) * (size_t)(o.nkeys + 1));
    int n = 0;
    for (int i = 0; i < o.nkeys; i++) {
        cobj *v = lookup_read(c, &c->argv[o.first_key + i]);
        if (!v) continue;
        objs[n] = v;
        keys[n++] = c->argv[o.first_key + i];
    }
    if (n == 0) {
        reply_simple(c->out, "NOKEY");
    } else if (!c->e->host || !c->e->host->migrate_io) {
        reply_error(c->out, "ERR MIGRATE needs a server: this host opens no connections");
    } else if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &port) || port < 0 || port > 65535) {
        reply_error(c->out, "IOERR error or timeout connecting to the client");
    } else {
        dstr req = dstr_with_cap(256);
        int nlines = migrate_request(c, &o, &c->argv[4], objs, keys, n, &req);
        dstr *lines = cm_calloc((size_t)nlines, sizeof(dstr));
        char host[256];
        arg_cstr(c, 1, host, sizeof(host));
        int rc = c->e->host->migrate_io(c->e->host_priv, host, (int)port, timeout, req,
                                        dstr_len(req), nlines, lines);
        if (rc == MIGRATE_IO_CONNECT)
            reply_error(c->out, "IOERR error or timeout connecting to the client");
        else if (rc)
            reply_errorf(c->out, "IOERR error or timeout %s to target instance",
                         rc == MIGRATE_IO_WRITE ? "writing" : "reading");
        else
            migrate_replies(c, &o, lines, nlines, keys, n);
        for (int i = 0; i < nlines; i++)
            dstr_free(lines[i]);
        cm_free(lines);
        dstr_free(req);
    }
    cm_free(objs);
    cm_free(keys);
}

/* MIGRATE's keys: argv[3], or those after KEYS (AUTH's password and
 * AUTH2's user and password are skipped: they could read "KEYS"). */
static int migrate_getkeys(int argc, const cslice *argv, int *idx, int max)
{
    int first = 3, n = 1;
    for (int i = 6; i < argc; i++) {
        if (slice_is(&argv[i], "auth")) {
            i++;
        } else if (slice_is(&argv[i], "auth2")) {
            i += 2;
        } else if (slice_is(&argv[i], "keys")) {
            first = i + 1;
            n = argc - first;
            break;
        }
    }
    if (first == 3 && argv[3].len == 0) n = 0;
    int k = 0;
    for (int i = 0; i < n && k < max; i++)
        idx[k++] = first + i;
    return k;
}

#define KS_WRITE_SLOW (ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS)

const cmd_def dump_commands[] = {
    {"dump", dump_command, 2, CMD_READONLY, ACL_KEYSPACE | ACL_READ | ACL_SLOW, 1, 1, 1, "generic",
     "2.6.0", "Return a serialized version of the value stored at the specified key.",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
     "Redis objects composing the value and M their average size. For small string values the "
     "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"restore", restore_command, -4, CMD_WRITE | CMD_DENYOOM, KS_WRITE_SLOW, 1, 1, 1, "generic",
     "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
     "where N is the number of Redis objects composing the value and M their average size. For "
     "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
     "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
     "values into sorted sets is O(log(N)).",
     NULL, .key_spec = KEY_FLAGS(KF_OW | KF_UPDATE)},
    {"migrate", migrate_command, -6, CMD_WRITE, KS_WRITE_SLOW, 3, 3, 1, "generic", "2.6.0",
     "Atomically transfer a key from a Redis instance to another one.",
     "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the "
     "target instance. See the pages of these commands for time complexity. Also an O(N) data "
     "transfer between the two instances is performed.",
     NULL, migrate_getkeys, NULL,
     KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_RW | KF_ACCESS | KF_DELETE | KF_INCOMPLETE)},
    {NULL},
};
