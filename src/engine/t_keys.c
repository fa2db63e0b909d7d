/* t_keys.c -- the keyspace commands: DEL, EXISTS, TYPE, the EXPIRE family
 * and TTLs, KEYS, SCAN, RANDOMKEY, RENAME, COPY, MOVE, TOUCH and OBJECT, and
 * the database-wide SWAPDB, DBSIZE, FLUSHDB and FLUSHALL (Redis keeps them
 * all in db.c).
 *
 * Semantics, reply shapes and error strings follow Redis 7.0.  Everything a
 * handler depends on besides the keyspace and its arguments comes from the
 * call's context (c->now_ms, c->rng), so replaying a logged call gives the
 * same result on every replica (DESIGN rule 2). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "evict.h"
#include "multi.h"
#include "notify.h"
#include "scan.h"
#include "tracking.h"

#define ERR_NO_SUCH_KEY "ERR no such key"
#define ERR_SAME_OBJECT "ERR source and destination objects are the same"
#define ERR_DB_RANGE    "ERR DB index is out of range"

/* Is argument i byte-for-byte equal to argument j? */
static int args_equal(const cmd_call *c, int i, int j)
{
    return c->argv[i].len == c->argv[j].len &&
           memcmp(c->argv[i].ptr, c->argv[j].ptr, c->argv[i].len) == 0;
}

/* Parse argument i as a db index (an int, with the errors of Redis's
 * getIntFromObjectOrReply) and resolve it; replies and returns NULL on a bad
 * number or range. */
static cdb *arg_db(cmd_call *c, int i)
{
    int id;
    if (!arg_int(c, i, NULL, &id)) return NULL;
    if (id < 0 || id >= c->e->ndbs) {
        reply_error(c->out, ERR_DB_RANGE);
        return NULL;
    }
    return &c->e->dbs[id];
}

/* ---------------------------------------------------------------------- */
/* DEL, UNLINK, EXISTS, TYPE, TOUCH                                        */
/* ---------------------------------------------------------------------- */

static void del_generic(cmd_call *c)
{
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++) {
        /* A key that already expired is deleted (and logged) by the lookup,
         * but does not count as deleted by this command, as in Redis. */
        if (!db_lookup(c, c->db, &c->argv[j], LOOKUP_WRITE | LOOKUP_NOTOUCH)) continue;
        if (!db_delete(c, c->db, &c->argv[j])) continue;
        deleted++;
        notify_key(c, NOTIFY_GENERIC, "del", &c->argv[j]);
    }
    c->dirty += deleted;
    reply_int(c->out, deleted);
}

static void del_command(cmd_call *c) { del_generic(c); }

/* There is no background free thread: UNLINK is DEL. */
static void unlink_command(cmd_call *c) { del_generic(c); }

static void exists_command(cmd_call *c)
{
    long long count = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup(c, c->db, &c->argv[j], LOOKUP_NOTOUCH)) count++;
    reply_int(c->out, count);
}

static void type_command(cmd_call *c)
{
    cobj *o = db_lookup(c, c->db, &c->argv[1], LOOKUP_NOTOUCH);
    reply_simple(c->out, o ? obj_type_name(o->type) : "none");
}

static void touch_command(cmd_call *c)
{
    long long touched = 0;
    for (int j = 1; j < c->argc; j++)
        if (lookup_read(c, &c->argv[j])) touched++;
    reply_int(c->out, touched);
}

/* ---------------------------------------------------------------------- */
/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST                           */
/* ---------------------------------------------------------------------- */

enum {
    EXPIRE_NX = 1 << 0,
    EXPIRE_XX = 1 << 1,
    EXPIRE_GT = 1 << 2,
    EXPIRE_LT = 1 << 3,
};

/* Parse the NX/XX/GT/LT options from argument 3 on.  Returns 0, or -1
 * after replying with the error. */
static int parse_expire_flags(cmd_call *c, int *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "nx")) {
            *flags |= EXPIRE_NX;
        } else if (arg_is(c, j, "xx")) {
            *flags |= EXPIRE_XX;
        } else if (arg_is(c, j, "gt")) {
            *flags |= EXPIRE_GT;
        } else if (arg_is(c, j, "lt")) {
            *flags |= EXPIRE_LT;
        } else {
            reply_errorf(c->out, "ERR Unsupported option %.*s", (int)c->argv[j].len,
                         c->argv[j].ptr);
            return -1;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c->out, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Does the condition in flags allow replacing the expiry `current` (-1:
 * none, i.e. infinite) with `when`? */
static int expire_condition_holds(int flags, int64_t current, long long when)
{
    if ((flags & EXPIRE_NX) && current != -1) return 0;
    if ((flags & EXPIRE_XX) && current == -1) return 0;
    /* No TTL counts as an infinite one: nothing is greater than it, and
     * anything is less. */
    if ((flags & EXPIRE_GT) && (current == -1 || when <= current)) return 0;
    if ((flags & EXPIRE_LT) && current != -1 && when >= current) return 0;
    return 1;
}

/* The common part of the four EXPIRE commands.  basetime is added to the
 * argument (now_ms for the relative forms, 0 for the absolute ones);
 * in_seconds says the argument is in seconds. */
static void expire_generic(cmd_call *c, long long basetime, int in_seconds)
{
    const cslice *key = &c->argv[1];
    int flags;
    long long when;

    if (parse_expire_flags(c, &flags) < 0) return;
    if (!arg_ll(c, 2, &when)) return;

    /* Negative times are allowed (they delete the key), but an overflow of
     * the unit conversion or of the addition is an error. */
    if (in_seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto overflow;
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) goto overflow;
    when += basetime;

    cobj *o = lookup_write(c, key);
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    if (flags && !expire_condition_holds(flags, obj_expire(o), when)) {
        reply_int(c->out, 0);
        return;
    }

    if (when <= c->now_ms && !c->e->applying) {
        /* A time already past deletes the key, logged as the DEL it is.
         * Applying, the entry's time is not the originating node's (a
         * Redis master's stream): as Redis's replicas and AOF loading,
         * set it and leave the delete to the node that originates. */
        cslice del[2] = {{"DEL", 3}, *key};
        db_delete(c, c->db, key);
        log_as(c, 2, del);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    } else {
        db_set_expire(c->db, key, when);
        notify_key(c, NOTIFY_GENERIC, "expire", key);
    }
    c->dirty++;
    reply_int(c->out, 1);
    return;

overflow:
    reply_errorf(c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
}

static void expire_command(cmd_call *c) { expire_generic(c, c->now_ms, 1); }
static void pexpire_command(cmd_call *c) { expire_generic(c, c->now_ms, 0); }
static void expireat_command(cmd_call *c) { expire_generic(c, 0, 1); }
static void pexpireat_command(cmd_call *c) { expire_generic(c, 0, 0); }

static void persist_command(cmd_call *c)
{
    if (lookup_write(c, &c->argv[1]) && db_remove_expire(c->db, &c->argv[1])) {
        c->dirty++;
        notify_key(c, NOTIFY_GENERIC, "persist", &c->argv[1]);
        reply_int(c->out, 1);
    } else {
        reply_int(c->out, 0);
    }
}

/* ---------------------------------------------------------------------- */
/* TTL, PTTL, EXPIRETIME, PEXPIRETIME                                      */
/* ---------------------------------------------------------------------- */

/* -2 when the key does not exist, -1 when it has no TTL; otherwise the
 * remaining time (or the absolute time when `absolute`), in ms or s. */
static void ttl_generic(cmd_call *c, int in_ms, int absolute)
{
    cobj *o = db_lookup(c, c->db, &c->argv[1], LOOKUP_NOTOUCH);
    if (!o) {
        reply_int(c->out, -2);
        return;
    }
    int64_t expire = obj_expire(o);
    if (expire == -1) {
        reply_int(c->out, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - c->now_ms;
    if (ttl < 0) ttl = 0;
    /* Seconds are rounded to the nearest, as Redis does. */
    reply_int(c->out, in_ms ? ttl : (ttl + 500) / 1000);
}

static void ttl_command(cmd_call *c) { ttl_generic(c, 0, 0); }
static void pttl_command(cmd_call *c) { ttl_generic(c, 1, 0); }
static void expiretime_command(cmd_call *c) { ttl_generic(c, 0, 1); }
static void pexpiretime_command(cmd_call *c) { ttl_generic(c, 1, 1); }

/* ---------------------------------------------------------------------- */
/* KEYS, SCAN, RANDOMKEY                                                   */
/* ---------------------------------------------------------------------- */

static void keys_command(cmd_call *c)
{
    const cslice *pat = &c->argv[1];
    int allkeys = pat->len == 1 && pat->ptr[0] == '*';
    rbuf_deferred len = reply_deferred_len(c->out);
    long n = 0;
    htab_iter it;
    cobj *o;

    htab_iter_start(&it, c->db->keys);
    while ((o = htab_iter_next(&it)) != NULL) {
        cslice key = obj_key(o);
        if (!allkeys && !glob_match(pat->ptr, pat->len, key.ptr, key.len, 0)) continue;
        /* Expired keys are skipped, not deleted: KEYS only reads. */
        int64_t when = obj_expire(o);
        if (when >= 0 && when <= c->now_ms) continue;
        reply_bulk(c->out, key.ptr, key.len);
        n++;
    }
    htab_iter_end(&it);
    reply_set_deferred_array(c->out, len, n);
}

/* Should key be left out of the reply?  Looking it up deletes it if it
 * expired (and logs the delete), as Redis's SCAN does. */
static int scan_filter_out(cmd_call *c, const scan_opts *o, const cslice *key)
{
    if (!scan_matches(o, key->ptr, key->len)) return 1;
    cobj *val = db_lookup(c, c->db, key, LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    if (!val) return 1;
    if (o->type) {
        const char *name = obj_type_name(val->type);
        if (strlen(name) != o->type->len || strncasecmp(name, o->type->ptr, o->type->len) != 0)
            return 1;
    }
    return 0;
}

static void scan_command(cmd_call *c)
{
    uint64_t cursor;
    scan_opts o;
    if (scan_parse_cursor(c, &c->argv[1], &cursor) < 0) return;
    if (scan_parse_opts(c, 2, &o, 1) < 0) return;

    scan_batch b = {0};
    cursor = scan_htab(c->db->keys, cursor, o.count, 1, &b);
    scan_reply_cursor(c, cursor);
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        /* Filtering may delete this key if it expired; the other entries
         * of the batch stay valid. */
        cslice key = obj_key(b.e[i]);
        if (scan_filter_out(c, &o, &key)) continue;
        reply_bulk(c->out, key.ptr, key.len);
        n++;
    }
    reply_set_deferred_array(c->out, d, n);
    scan_batch_free(&b);
}

/* How many expired keys RANDOMKEY deletes before it gives up looking for a
 * live one, so a db full of stale keys cannot make one call slow. */
#define RANDOMKEY_MAX_EXPIRED 100

static void randomkey_command(cmd_call *c)
{
    for (int expired = 0;; expired++) {
        cobj *o = htab_random(c->db->keys, &c->rng);
        if (!o) {
            reply_null(c->out);
            return;
        }
        cslice key = obj_key(o);
        int64_t when = obj_expire(o);
        if (when < 0 || when > c->now_ms || expired == RANDOMKEY_MAX_EXPIRED) {
            reply_bulk(c->out, key.ptr, key.len);
            return;
        }
        /* Delete the stale key (logged as a DEL) and draw again. */
        dstr copy = dstr_new(key.ptr, key.len);
        cslice k = {copy, key.len};
        db_lookup(c, c->db, &k, LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
        dstr_free(copy);
    }
}

/* ---------------------------------------------------------------------- */
/* RENAME, RENAMENX, COPY, MOVE                                            */
/* ---------------------------------------------------------------------- */

/* Move the value of src (which exists in sdb) to dst in ddb, which must not
 * exist, with its TTL.  The value itself moves (no copy): its object is
 * taken out of sdb and re-keyed. */
static void move_key(cmd_call *c, cdb *sdb, const cslice *src, cdb *ddb, const cslice *dst)
{
    /* Sessions in XREADGROUP on a stream are told it left (Redis 7.0). */
    cobj *o = db_find(sdb, src);
    if (o->type == OBJ_STREAM) signal_key_ready(c->e, sdb, src);
    o = db_unlink(sdb, src);
    unsigned lru = o->lru;
    o = db_add(c, ddb, dst, obj_set_key(o, dst, obj_expire(o)));
    o->lru = lru; /* a rename is not an access */
}

static void rename_generic(cmd_call *c, int nx)
{
    const cslice *src = &c->argv[1], *dst = &c->argv[2];
    cobj *o = lookup_write(c, src);
    if (!o) {
        reply_error(c->out, ERR_NO_SUCH_KEY);
        return;
    }
    if (args_equal(c, 1, 2)) {
        if (nx)
            reply_int(c->out, 0);
        else
            reply_ok(c->out);
        return;
    }
    if (lookup_write(c, dst)) {
        if (nx) {
            reply_int(c->out, 0);
            return;
        }
        db_delete(c, c->db, dst);
    }
    notify_key(c, NOTIFY_GENERIC, "rename_from", src);
    move_key(c, c->db, src, c->db, dst);
    notify_key(c, NOTIFY_GENERIC, "rename_to", dst);
    c->dirty++;
    if (nx)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

static void rename_command(cmd_call *c) { rename_generic(c, 0); }
static void renamenx_command(cmd_call *c) { rename_generic(c, 1); }

static void copy_command(cmd_call *c)
{
    cdb *dst_db = c->db;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "replace")) {
            replace = 1;
        } else if (arg_is(c, j, "db") && j + 1 < c->argc) {
            if (!(dst_db = arg_db(c, ++j))) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    const cslice *src = &c->argv[1], *dst = &c->argv[2];
    if (dst_db == c->db && args_equal(c, 1, 2)) {
        reply_error(c->out, ERR_SAME_OBJECT);
        return;
    }
    cobj *o = lookup_read(c, src);
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    int64_t expire = obj_expire(o);
    if (db_lookup(c, dst_db, dst, LOOKUP_WRITE)) {
        if (!replace) {
            reply_int(c->out, 0);
            return;
        }
        db_delete(c, dst_db, dst);
    }
    o = db_add(c, dst_db, dst, obj_set_key(obj_dup(o), dst, expire));
    /* The engine touches the keys of a write in the session's db only. */
    if (dst_db != c->db) touch_watched_key(c->e, dst_db, dst);
    tracking_invalidate_key(c->e, dst, c->s);
    notify_event(c->e, NOTIFY_GENERIC, "copy_to", dst, dst_db->id);
    c->dirty++;
    reply_int(c->out, 1);
}

static void move_command(cmd_call *c)
{
    cdb *dst_db = arg_db(c, 2);
    if (!dst_db) return;
    if (dst_db == c->db) {
        reply_error(c->out, ERR_SAME_OBJECT);
        return;
    }
    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    if (!o || db_lookup(c, dst_db, key, LOOKUP_WRITE)) {
        reply_int(c->out, 0);
        return;
    }
    notify_key(c, NOTIFY_GENERIC, "move_from", key);
    move_key(c, c->db, key, dst_db, key);
    notify_event(c->e, NOTIFY_GENERIC, "move_to", key, dst_db->id);
    touch_watched_key(c->e, dst_db, key);
    c->dirty++;
    reply_int(c->out, 1);
}

/* ---------------------------------------------------------------------- */
/* OBJECT                                                                  */
/* ---------------------------------------------------------------------- */

/* The value at argument 2 without touching it, or NULL after a null reply. */
static cobj *object_lookup(cmd_call *c)
{
    cobj *o = db_lookup(c, c->db, &c->argv[2], LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    if (!o) reply_null(c->out);
    return o;
}

static void object_encoding_command(cmd_call *c)
{
    cobj *o = object_lookup(c);
    if (o) reply_bulk_cstr(c->out, obj_encoding_name(o->encoding));
}

static void object_refcount_command(cmd_call *c)
{
    cobj *o = object_lookup(c);
    if (o) reply_int(c->out, 1); /* nothing shares objects */
}

/* The lru field holds either an LRU clock or an LFU counter (evict.h),
 * so each of IDLETIME and FREQ is only meaningful under some policies. */
static void object_idletime_command(cmd_call *c)
{
    cobj *o = object_lookup(c);
    if (!o) return;
    if (evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) {
        reply_error(c->out, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                            "Please note that when switching between policies at runtime LRU "
                            "and LFU data will take some time to adjust.");
        return;
    }
    reply_int(c->out, (long long)(lru_idle_ms(o->lru, c->now_ms) / 1000));
}

static void object_freq_command(cmd_call *c)
{
    cobj *o = object_lookup(c);
    if (!o) return;
    if (!evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) {
        reply_error(c->out, "ERR An LFU maxmemory policy is not selected, access frequency not "
                            "tracked. Please note that when switching between policies at "
                            "runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    /* Decayed as of now: the field itself changes only on access. */
    reply_int(c->out, lfu_decayed_counter(o->lru, c->now_ms, c->e->cfg.lfu_decay_time));
}

static void object_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* ---------------------------------------------------------------------- */
/* SWAPDB, DBSIZE, FLUSHDB, FLUSHALL                                       */
/* ---------------------------------------------------------------------- */

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
        signal_db_streams(c->e, a);
        signal_db_streams(c->e, b);
        touch_watched_swap(a, b, c->now_ms);
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
    touch_watched_db(c->e, c->db, c->now_ms);
    tracking_flush(c->e);
    signal_db_streams(c->e, c->db);
    db_empty(c->db);
    /* Logged even when the db was already empty, as Redis propagates it. */
    c->dirty += removed > 0 ? removed : 1;
    reply_ok(c->out);
}

static void flushall_command(cmd_call *c)
{
    if (!flush_args_ok(c)) return;
    long long removed = 0;
    touch_watched_db(c->e, NULL, c->now_ms);
    tracking_flush(c->e);
    for (int i = 0; i < c->e->ndbs; i++) {
        removed += db_size(&c->e->dbs[i]);
        signal_db_streams(c->e, &c->e->dbs[i]);
        db_empty(&c->e->dbs[i]);
    }
    c->dirty += removed + 1;
    reply_ok(c->out);
}

/* ---------------------------------------------------------------------- */
/* The table                                                               */
/* ---------------------------------------------------------------------- */

#define KS_READ_FAST  (ACL_KEYSPACE | ACL_READ | ACL_FAST)
#define KS_WRITE_FAST (ACL_KEYSPACE | ACL_WRITE | ACL_FAST)
#define KS_WRITE_SLOW (ACL_KEYSPACE | ACL_WRITE | ACL_SLOW)
#define KS_READ_SLOW  (ACL_KEYSPACE | ACL_READ | ACL_SLOW)

static const cmd_def object_subcommands[] = {
    {"object|encoding", object_encoding_command, 3, CMD_READONLY, KS_READ_SLOW, 2, 2, 1, "generic",
     "2.2.3", "Inspect the internal encoding of a Redis object", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"object|freq", object_freq_command, 3, CMD_READONLY, KS_READ_SLOW, 2, 2, 1, "generic", "4.0.0",
     "Get the logarithmic access frequency counter of a Redis object", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"object|help", object_help_command, 2, CMD_LOADING | CMD_STALE, ACL_KEYSPACE | ACL_SLOW, 0, 0,
     0, "generic", "6.2.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {"object|idletime", object_idletime_command, 3, CMD_READONLY, KS_READ_SLOW, 2, 2, 1, "generic",
     "2.2.3", "Get the time since a Redis object was last accessed", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"object|refcount", object_refcount_command, 3, CMD_READONLY, KS_READ_SLOW, 2, 2, 1, "generic",
     "2.2.3", "Get the number of references to the value of the key", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {0},
};

const cmd_def keys_commands[] = {
    {"del", del_command, -2, CMD_WRITE, KS_WRITE_SLOW, 1, -1, 1, "generic", "1.0.0", "Delete a key",
     "O(N) where N is the number of keys that will be removed. When a key to remove holds a "
     "value other than a string, the individual complexity for this key is O(M) where M is the "
     "number of elements in the list, set, sorted set or hash. Removing a single key that holds "
     "a string value is O(1).",
     NULL, .key_spec = KEY_FLAGS(KF_RM | KF_DELETE)},
    {"unlink", unlink_command, -2, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, -1, 1, "generic",
     "4.0.0",
     "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
     "blocking.",
     "O(1) for each key removed regardless of its size. Then the command does O(N) work in a "
     "different thread in order to reclaim memory, where N is the number of allocations the "
     "deleted objects where composed of.",
     NULL, .key_spec = KEY_FLAGS(KF_RM | KF_DELETE)},
    {"exists", exists_command, -2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, -1, 1, "generic",
     "1.0.0", "Determine if a key exists", "O(N) where N is the number of keys to check.", NULL,
     NULL, NULL, KEY_FLAGS(KF_RO)},
    {"type", type_command, 2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, 1, 1, "generic", "1.0.0",
     "Determine the type stored at key", "O(1)", NULL, NULL, NULL, KEY_FLAGS(KF_RO)},
    {"touch", touch_command, -2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, -1, 1, "generic",
     "3.2.1",
     "Alters the last access time of a key(s). Returns the number of existing keys specified.",
     "O(N) where N is the number of keys that will be touched.", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"expire", expire_command, -3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic", "1.0.0",
     "Set a key's time to live in seconds", "O(1)", NULL, .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"pexpire", pexpire_command, -3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic",
     "2.6.0", "Set a key's time to live in milliseconds", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"expireat", expireat_command, -3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic",
     "1.2.0", "Set the expiration for a key as a UNIX timestamp", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"pexpireat", pexpireat_command, -3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic",
     "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"persist", persist_command, 2, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic",
     "2.2.0", "Remove the expiration from a key", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"ttl", ttl_command, 2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, 1, 1, "generic", "1.0.0",
     "Get the time to live for a key in seconds", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"pttl", pttl_command, 2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, 1, 1, "generic", "2.6.0",
     "Get the time to live for a key in milliseconds", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"expiretime", expiretime_command, 2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, 1, 1, "generic",
     "7.0.0", "Get the expiration Unix timestamp for a key", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"pexpiretime", pexpiretime_command, 2, CMD_READONLY | CMD_FAST, KS_READ_FAST, 1, 1, 1,
     "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", "O(1)",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"keys", keys_command, 2, CMD_READONLY, KS_READ_SLOW | ACL_DANGEROUS, 0, 0, 0, "generic",
     "1.0.0", "Find all keys matching the given pattern",
     "O(N) with N being the number of keys in the database, under the assumption that the key "
     "names in the database and the given pattern have limited length.",
     NULL},
    {"scan", scan_command, -2, CMD_READONLY, KS_READ_SLOW, 0, 0, 0, "generic", "2.8.0",
     "Incrementally iterate the keys space",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
     "the cursor to return back to 0. N is the number of elements inside the collection.",
     NULL},
    {"randomkey", randomkey_command, 1, CMD_READONLY, KS_READ_SLOW, 0, 0, 0, "generic", "1.0.0",
     "Return a random key from the keyspace", "O(1)", NULL},
    {"rename", rename_command, 3, CMD_WRITE, KS_WRITE_SLOW, 1, 2, 1, "generic", "1.0.0",
     "Rename a key", "O(1)", NULL, NULL, NULL,
     KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_OW | KF_UPDATE)},
    {"renamenx", renamenx_command, 3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 2, 1, "generic",
     "1.0.0", "Rename a key, only if the new key does not exist", "O(1)", NULL, NULL, NULL,
     KEY_SPEC(KF_RW | KF_ACCESS | KF_DELETE, KF_OW | KF_INSERT)},
    {"copy", copy_command, -3, CMD_WRITE | CMD_DENYOOM, KS_WRITE_SLOW, 1, 2, 1, "generic", "6.2.0",
     "Copy a key",
     "O(N) worst case for collections, where N is the number of nested items. O(1) for string "
     "values.",
     NULL, NULL, NULL, KEY_SPEC(KF_RO | KF_ACCESS, KF_OW | KF_UPDATE)},
    {"move", move_command, 3, CMD_WRITE | CMD_FAST, KS_WRITE_FAST, 1, 1, 1, "generic", "1.0.0",
     "Move a key to another database", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"object", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "generic", "2.2.3",
     "A container for object introspection commands", "Depends on subcommand.", object_subcommands},
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
    {0},
};
