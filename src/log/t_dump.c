/* t_dump.c -- DUMP and RESTORE: a key's value in Redis's serialization
 * (rdb.c), so values cross between Cairn and Redis.
 *
 * RESTORE is deterministic given its entry (DESIGN rule 4): the payload
 * is in its arguments, a relative TTL is resolved against the entry's
 * now_ms, and IDLETIME/FREQ only set access metadata from now_ms.  A
 * RESTORE whose TTL has already passed creates nothing and is logged as
 * the DEL of the key it replaced, if any, as Redis propagates it. */
#include <string.h>

#include "../ds/alloc.h"
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
    if (ttl && ttl <= c->now_ms) {
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

#define KS_WRITE_SLOW (ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS)

const cmd_def dump_commands[] = {
    {"dump", dump_command, 2, CMD_READONLY, ACL_KEYSPACE | ACL_READ | ACL_SLOW, 1, 1, 1, "generic",
     "2.6.0", "Return a serialized version of the value stored at the specified key.",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
     "Redis objects composing the value and M their average size. For small string values the "
     "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
     NULL},
    {"restore", restore_command, -4, CMD_WRITE | CMD_DENYOOM, KS_WRITE_SLOW, 1, 1, 1, "generic",
     "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
     "where N is the number of Redis objects composing the value and M their average size. For "
     "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
     "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
     "values into sorted sets is O(log(N)).",
     NULL},
    {NULL},
};
