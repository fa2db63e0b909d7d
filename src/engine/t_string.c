/* t_string.c -- the string command family.
 *
 * GET/SET and friends, counters (INCR...INCRBYFLOAT), range commands
 * (GETRANGE/SETRANGE/APPEND) and LCS, with Redis 7.0's semantics, reply
 * shapes and error strings.
 *
 * Values are stored compactly: anything that reads as a 64-bit integer is
 * kept ENC_INT, short strings EMBSTR, and a value is turned RAW only when a
 * command grows or edits it in place (APPEND, SETRANGE).  Expiry times are
 * absolute and computed from c->now_ms, so replaying a logged command with
 * its recorded now_ms gives the same result on every replica. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "t_string.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Reply with the bytes of a string object. */
static void reply_string_obj(cmd_call *c, const cobj *o)
{
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    reply_bulk(c->out, p, len);
}

/* The sum is formed unsigned so huge operands cannot overflow into a
 * small value.  proto-max-bulk-len guards client input: an entry applied
 * from the log was accepted by the node that made it, whatever this
 * node's setting. */
int string_exceeds_limit(const cmd_call *c, uint64_t size, uint64_t append)
{
    uint64_t total = size + append;
    uint64_t limit = c->e->applying ? DSTR_MAX_LEN : (uint64_t)c->e->cfg.proto_max_bulk_len;
    /* A dstr cannot hold more than DSTR_MAX_LEN whatever the config says. */
    if (limit > DSTR_MAX_LEN) limit = DSTR_MAX_LEN;
    return total > limit || total < size;
}

/* string_exceeds_limit() that replies the Redis error when it does. */
static int string_too_long(cmd_call *c, uint64_t size, uint64_t append)
{
    if (!string_exceeds_limit(c, size, append)) return 0;
    reply_error(c->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return 1;
}

/* Store val at key, keeping the key's TTL if it already exists (the value
 * changes, the key's lifetime does not: INCR, APPEND).  Returns the
 * object now stored. */
static cobj *store_keep_ttl(cmd_call *c, const cslice *key, cobj *val)
{
    return db_set(c, c->db, key, val, SETKEY_KEEPTTL);
}

cobj *string_make_raw(cmd_call *c, const cslice *key, cobj *o)
{
    if (o->encoding == ENC_RAW) return o;
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    return store_keep_ttl(c, key, obj_new_raw(dstr_new(p, len)));
}

/* Store the string p[0..len) at the key ref names (found by
 * db_lookup_ref()), with expiry time when (-1: none).  The old value is
 * changed in place when it has the room and keeps its layout (an expiry
 * neither added nor dropped); otherwise the value is built with its key as
 * one allocation.  Returns the object now stored. */
static cobj *store_string_ref(cmd_call *c, db_keyref *ref, const char *p, size_t len, int64_t when)
{
    cobj *cur = ref->o;
    if (cur && obj_has_expire(cur) == (when >= 0) && obj_string_set_in_place(cur, p, len)) {
        if (when >= 0) obj_set_expire_time(cur, when);
        db_overwrote_ref(c, c->db, ref);
        return cur;
    }
    return db_set_ref(c, c->db, ref, obj_new_keyed_string(ref->key, when, p, len), 0);
}

/* The integer held by a string object; replies ERR_NOT_INT and returns 0
 * if it does not read as one. */
static int obj_get_ll(cmd_call *c, const cobj *o, long long *out)
{
    if (o->encoding == ENC_INT) {
        *out = o->v.ll;
        return 1;
    }
    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    if (str_to_ll(p, len, out)) return 1;
    reply_error(c->out, ERR_NOT_INT);
    return 0;
}

/* ------------------------------------------------------------------ */
/* SET and its options (shared with GETEX)                              */
/* ------------------------------------------------------------------ */

enum {
    SETF_NX = 1 << 0,
    SETF_XX = 1 << 1,
    SETF_GET = 1 << 2,
    SETF_KEEPTTL = 1 << 3,
    SETF_PERSIST = 1 << 4,
    SETF_EX = 1 << 5,
    SETF_PX = 1 << 6,
    SETF_EXAT = 1 << 7,
    SETF_PXAT = 1 << 8,
    SETF_IFEQ = 1 << 9,
};
#define SETF_ANY_EXPIRE (SETF_EX | SETF_PX | SETF_EXAT | SETF_PXAT)

enum { PARSE_FOR_SET, PARSE_FOR_GETEX };

/* Parse the options from argument `first` on.  An option is refused (a
 * syntax error, as in Redis) when it conflicts with one seen earlier or
 * does not apply to the command; repeating the same expire option is
 * allowed and the last value wins.  *expire_arg is the index of the
 * expire value, or 0; *cmp_arg that of IFEQ's comparison value, or 0.
 * Returns 0, or -1 after replying. */
static int parse_set_options(cmd_call *c, int first, int mode, int *flags, int *expire_arg,
                             int *cmp_arg)
{
    static const struct {
        const char *name;
        int flag;
    } expire_opts[] = {
        {"ex", SETF_EX},
        {"px", SETF_PX},
        {"exat", SETF_EXAT},
        {"pxat", SETF_PXAT},
    };
    int is_set = mode == PARSE_FOR_SET;

    *flags = 0;
    *expire_arg = 0;
    *cmp_arg = 0;
    for (int j = first; j < c->argc; j++) {
        int has_next = j + 1 < c->argc;
        int f = *flags;

        if (arg_is(c, j, "nx") && is_set && !(f & (SETF_XX | SETF_IFEQ))) {
            *flags |= SETF_NX;
            continue;
        }
        if (arg_is(c, j, "xx") && is_set && !(f & (SETF_NX | SETF_IFEQ))) {
            *flags |= SETF_XX;
            continue;
        }
        /* IFEQ (Valkey 8.1) is a condition like NX and XX, exclusive with them. */
        if (arg_is(c, j, "ifeq") && is_set && has_next && !(f & (SETF_NX | SETF_XX))) {
            *flags |= SETF_IFEQ;
            *cmp_arg = ++j;
            continue;
        }
        if (arg_is(c, j, "get") && is_set) {
            *flags |= SETF_GET;
            continue;
        }
        if (arg_is(c, j, "keepttl") && is_set && !(f & (SETF_PERSIST | SETF_ANY_EXPIRE))) {
            *flags |= SETF_KEEPTTL;
            continue;
        }
        if (arg_is(c, j, "persist") && !is_set && !(f & (SETF_KEEPTTL | SETF_ANY_EXPIRE))) {
            *flags |= SETF_PERSIST;
            continue;
        }
        int matched = 0;
        for (size_t k = 0; k < sizeof(expire_opts) / sizeof(expire_opts[0]); k++) {
            int ef = expire_opts[k].flag;
            int conflicts = SETF_KEEPTTL | SETF_PERSIST | (SETF_ANY_EXPIRE & ~ef);
            if (arg_is(c, j, expire_opts[k].name) && has_next && !(f & conflicts)) {
                *flags |= ef;
                *expire_arg = ++j;
                matched = 1;
                break;
            }
        }
        if (!matched) return reply_syntax_error(c);
    }
    return 0;
}

/* Turn an expire argument into an absolute time in ms.  Relative units
 * (EX/PX) count from c->now_ms.  Values <= 0 and values whose conversion
 * would overflow are refused with "invalid expire time in '<cmd>'".
 * Returns 0, or -1 after replying. */
static int expire_to_abs_ms(cmd_call *c, int arg, int flags, int64_t *when)
{
    long long v;
    if (!arg_ll(c, arg, &v)) return -1;

    int seconds = (flags & (SETF_EX | SETF_EXAT)) != 0;
    int relative = (flags & (SETF_EX | SETF_PX)) != 0;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) goto invalid;
    if (seconds) v *= 1000;
    if (relative) {
        if (c->now_ms > 0 && v > LLONG_MAX - c->now_ms) goto invalid;
        v += c->now_ms;
        if (v <= 0) goto invalid;
    }
    *when = v;
    return 0;

invalid:
    reply_errorf(c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
    return -1;
}

/* GET's reply into c->out.  Returns -1 (after replying WRONGTYPE) when
 * the key holds another type, else 0. */
static int get_generic(cmd_call *c)
{
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_null(c->out);
        return 0;
    }
    if (check_type(c, o, OBJ_STRING)) return -1;
    reply_string_obj(c, o);
    return 0;
}

/* IFEQ: may SET go on?  Only if the key holds a string equal to cmp.
 * Otherwise reply as Valkey does -- WRONGTYPE for another type, else a
 * null, unless GET already replied -- and return 0. */
static int ifeq_passes(cmd_call *c, const cobj *cur, const cslice *cmp, int flags)
{
    if (cur && check_type(c, cur, OBJ_STRING)) return 0;
    if (cur && obj_str_equals(cur, cmp->ptr, cmp->len)) return 1;
    if (!(flags & SETF_GET)) reply_null(c->out);
    return 0;
}

/* The body of SET, SETNX, SETEX and PSETEX.  expire_arg is 0 or the index
 * of the expire value, cmp_arg 0 or that of IFEQ's value; the reply on
 * success is +OK (or the old value with GET), and on an NX/XX/IFEQ miss a
 * null -- SETNX passes its own replies. */
typedef enum { SET_REPLY_OK, SET_REPLY_INT } set_reply;

static void set_generic(cmd_call *c, int flags, int val_arg, int expire_arg, int cmp_arg,
                        set_reply how)
{
    const cslice *key = &c->argv[1];
    const cslice *val = &c->argv[val_arg];
    int64_t when = 0;

    if (expire_arg && expire_to_abs_ms(c, expire_arg, flags, &when) < 0) return;
    if ((flags & SETF_GET) && get_generic(c) < 0) return;

    /* Look the key up even without NX/XX: an expired key is deleted (and
     * logged) first, as Redis does.  ref keeps what the lookup found, so
     * the store below neither hashes nor finds the key again. */
    db_keyref ref;
    cobj *cur = db_lookup_ref(c, c->db, key, LOOKUP_WRITE, &ref);
    int found = cur != NULL;
    /* With GET, a value of another type was refused above. */
    if (cmp_arg && !ifeq_passes(c, cur, &c->argv[cmp_arg], flags)) return;
    if (((flags & SETF_NX) && found) || ((flags & SETF_XX) && !found)) {
        if (flags & SETF_GET) return; /* already replied with the old value */
        if (how == SET_REPLY_INT)
            reply_int(c->out, 0);
        else
            reply_null(c->out);
        return;
    }

    if (!expire_arg) when = (flags & SETF_KEEPTTL) && cur ? obj_expire(cur) : -1;
    store_string_ref(c, &ref, val->ptr, val->len, when);
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "set", key);
    if (expire_arg) notify_key(c, NOTIFY_GENERIC, "expire", key);

    if (flags & SETF_GET) return;
    if (how == SET_REPLY_INT)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

/* GET key */
static void get_command(cmd_call *c) { get_generic(c); }

/* SET key value [NX|XX|IFEQ cmp] [GET] [EX s|PX ms|EXAT ts|PXAT ts-ms|KEEPTTL] */
static void set_command(cmd_call *c)
{
    int flags, expire_arg, cmp_arg;
    if (parse_set_options(c, 3, PARSE_FOR_SET, &flags, &expire_arg, &cmp_arg) < 0) return;
    set_generic(c, flags, 2, expire_arg, cmp_arg, SET_REPLY_OK);
}

/* SETNX key value */
static void setnx_command(cmd_call *c) { set_generic(c, SETF_NX, 2, 0, 0, SET_REPLY_INT); }

/* SETEX key seconds value */
static void setex_command(cmd_call *c) { set_generic(c, SETF_EX, 3, 2, 0, SET_REPLY_OK); }

/* PSETEX key milliseconds value */
static void psetex_command(cmd_call *c) { set_generic(c, SETF_PX, 3, 2, 0, SET_REPLY_OK); }

/* GETSET key value: the TTL is dropped, as with a plain SET. */
static void getset_command(cmd_call *c)
{
    if (get_generic(c) < 0) return;
    db_keyref ref;
    db_lookup_ref(c, c->db, &c->argv[1], LOOKUP_WRITE, &ref);
    store_string_ref(c, &ref, c->argv[2].ptr, c->argv[2].len, -1);
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "set", &c->argv[1]);
}

/* GETDEL key */
static void getdel_command(cmd_call *c)
{
    if (get_generic(c) < 0) return;
    if (db_delete(c, c->db, &c->argv[1])) {
        c->dirty++;
        notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ts-ms|PERSIST] */
static void getex_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    int flags, expire_arg, cmp_arg;
    if (parse_set_options(c, 2, PARSE_FOR_GETEX, &flags, &expire_arg, &cmp_arg) < 0) return;

    cobj *o = lookup_read(c, key);
    if (!o) {
        reply_null(c->out);
        return;
    }
    if (check_type(c, o, OBJ_STRING)) return;

    int64_t when = 0;
    if (expire_arg && expire_to_abs_ms(c, expire_arg, flags, &when) < 0) return;

    /* Reply before the value can be freed by a delete below. */
    reply_string_obj(c, o);

    if ((flags & (SETF_EXAT | SETF_PXAT)) && when <= c->now_ms && !c->e->applying) {
        /* An absolute time already past: the key expires right now (but
         * not while applying: see EXPIRE). */
        cslice del[2] = {{"DEL", 3}, *key};
        notify_key(c, NOTIFY_GENERIC, "del", key);
        db_delete(c, c->db, key);
        log_as(c, 2, del);
        c->dirty++;
    } else if (expire_arg) {
        db_set_expire(c->db, key, when);
        c->dirty++;
        notify_key(c, NOTIFY_GENERIC, "expire", key);
    } else if (flags & SETF_PERSIST) {
        if (db_remove_expire(c->db, key)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "persist", key);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Multiple keys                                                        */
/* ------------------------------------------------------------------ */

/* MGET key [key ...]: a missing key or one of another type gives null. */
static void mget_command(cmd_call *c)
{
    reply_array_len(c->out, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        cobj *o = lookup_read(c, &c->argv[j]);
        if (!o || o->type != OBJ_STRING)
            reply_null(c->out);
        else
            reply_string_obj(c, o);
    }
}

static void mset_generic(cmd_call *c, int nx)
{
    if (c->argc % 2 == 0) {
        reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    /* MSETNX sets nothing if any key exists. */
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (lookup_write(c, &c->argv[j])) {
                reply_int(c->out, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        const cslice *val = &c->argv[j + 1];
        /* Expired keys must go (and be logged) before being replaced. */
        db_keyref ref;
        db_lookup_ref(c, c->db, &c->argv[j], LOOKUP_WRITE, &ref);
        store_string_ref(c, &ref, val->ptr, val->len, -1);
        notify_key(c, NOTIFY_STRING, "set", &c->argv[j]);
    }
    c->dirty += (c->argc - 1) / 2;
    if (nx)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

/* MSET key value [key value ...] */
static void mset_command(cmd_call *c) { mset_generic(c, 0); }

/* MSETNX key value [key value ...] */
static void msetnx_command(cmd_call *c) { mset_generic(c, 1); }

/* ------------------------------------------------------------------ */
/* Lengths and ranges                                                   */
/* ------------------------------------------------------------------ */

/* APPEND key value */
static void append_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    const cslice *val = &c->argv[2];
    cobj *o = lookup_write(c, key);
    size_t total;

    if (!o) {
        /* A new key is stored compactly, like SET would. */
        o = db_add(c, c->db, key, obj_new_keyed_string(key, -1, val->ptr, val->len));
        total = val->len;
    } else {
        if (check_type(c, o, OBJ_STRING)) return;
        if (string_too_long(c, obj_strlen(o), val->len)) return;
        o = string_make_raw(c, key, o);
        dstr s = dstr_cat(o->v.ptr, val->ptr, val->len);
        obj_str_set_raw(o, s);
        total = dstr_len(s);
    }
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "append", key);
    reply_int(c->out, (long long)total);
}

/* STRLEN key */
static void strlen_command(cmd_call *c)
{
    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_int(c->out, 0);
        return;
    }
    if (check_type(c, o, OBJ_STRING)) return;
    reply_int(c->out, (long long)obj_strlen(o));
}

/* GETRANGE key start end (and SUBSTR, its old name).  Indexes are
 * inclusive; negative ones count from the end.  As in Redis 7.0, a
 * negative end beyond the start of the string clamps to 0, so
 * GETRANGE "Hello" 0 -100 is "H". */
static void getrange_command(cmd_call *c)
{
    long long start, end;
    if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)) return;

    cobj *o = lookup_read(c, &c->argv[1]);
    if (!o) {
        reply_bulk(c->out, "", 0);
        return;
    }
    if (check_type(c, o, OBJ_STRING)) return;

    char buf[NUM_STR_MAX];
    size_t len;
    const char *p = obj_str(o, buf, &len);
    long long slen = (long long)len;

    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c->out, "", 0);
        return;
    }
    if (start < 0) start += slen;
    if (end < 0) end += slen;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= slen) end = slen - 1;
    if (slen == 0 || start > end) {
        reply_bulk(c->out, "", 0);
        return;
    }
    reply_bulk(c->out, p + start, (size_t)(end - start + 1));
}

/* SETRANGE key offset value: pads with zero bytes up to offset. */
static void setrange_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    const cslice *val = &c->argv[3];
    long long offset;

    if (!arg_ll(c, 2, &offset)) return;
    if (offset < 0) {
        reply_error(c->out, "ERR offset is out of range");
        return;
    }

    cobj *o = lookup_write(c, key);
    if (!o) {
        /* Writing nothing creates nothing. */
        if (val->len == 0) {
            reply_int(c->out, 0);
            return;
        }
        if (string_too_long(c, (uint64_t)offset, val->len)) return;
        size_t total = (size_t)offset + val->len;
        dstr s = dstr_grow_zero(dstr_with_cap(total), total);
        memcpy(s + offset, val->ptr, val->len);
        o = db_add(c, c->db, key, obj_new_raw(s));
        c->dirty++;
        notify_key(c, NOTIFY_STRING, "setrange", key);
        reply_int(c->out, (long long)total);
        return;
    }

    if (check_type(c, o, OBJ_STRING)) return;
    if (val->len == 0) {
        reply_int(c->out, (long long)obj_strlen(o));
        return;
    }
    if (string_too_long(c, (uint64_t)offset, val->len)) return;

    o = string_make_raw(c, key, o);
    dstr s = dstr_grow_zero(o->v.ptr, (size_t)offset + val->len);
    memcpy(s + offset, val->ptr, val->len);
    obj_str_set_raw(o, s);
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "setrange", key);
    reply_int(c->out, (long long)dstr_len(s));
}

/* ------------------------------------------------------------------ */
/* Counters                                                             */
/* ------------------------------------------------------------------ */

static void incr_generic(cmd_call *c, long long incr)
{
    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    long long value = 0;

    if (o) {
        if (check_type(c, o, OBJ_STRING)) return;
        if (!obj_get_ll(c, o, &value)) return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(c->out, ERR_OVERFLOW);
        return;
    }
    value += incr;

    if (o && o->encoding == ENC_INT) {
        o->v.ll = value; /* no allocation for the common counter case */
    } else {
        store_keep_ttl(c, key, obj_new_int(value));
    }
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "incrby", key);
    reply_int(c->out, value);
}

/* INCR key */
static void incr_command(cmd_call *c) { incr_generic(c, 1); }

/* DECR key */
static void decr_command(cmd_call *c) { incr_generic(c, -1); }

/* INCRBY key increment */
static void incrby_command(cmd_call *c)
{
    long long incr;
    if (!arg_ll(c, 2, &incr)) return;
    incr_generic(c, incr);
}

/* DECRBY key decrement */
static void decrby_command(cmd_call *c)
{
    long long decr;
    if (!arg_ll(c, 2, &decr)) return;
    /* -LLONG_MIN does not exist. */
    if (decr == LLONG_MIN) {
        reply_error(c->out, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -decr);
}

/* INCRBYFLOAT key increment.  The result is stored as the same text that
 * is replied ("10.5", "5000"), never in exponent form, and logged as the
 * SET ... KEEPTTL that stores it (as Redis propagates it): replay never
 * redoes long double arithmetic, whose width differs between machines. */
static void incrbyfloat_command(cmd_call *c)
{
    const cslice *key = &c->argv[1];
    cobj *o = lookup_write(c, key);
    long double value = 0, incr;

    if (o) {
        if (check_type(c, o, OBJ_STRING)) return;
        if (o->encoding == ENC_INT) {
            value = (long double)o->v.ll;
        } else {
            char num[NUM_STR_MAX];
            size_t slen;
            const char *p = obj_str(o, num, &slen);
            if (!str_to_ldouble(p, slen, &value)) {
                reply_error(c->out, ERR_NOT_FLOAT);
                return;
            }
        }
    }
    if (!str_to_ldouble(c->argv[2].ptr, c->argv[2].len, &incr)) {
        reply_error(c->out, ERR_NOT_FLOAT);
        return;
    }

    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c->out, "ERR increment would produce NaN or Infinity");
        return;
    }

    char buf[LDOUBLE_STR_MAX];
    int len = ldouble_to_str(buf, sizeof(buf), value);
    store_keep_ttl(c, key, obj_new_string(buf, (size_t)len));
    c->dirty++;
    notify_key(c, NOTIFY_STRING, "incrbyfloat", key);
    reply_bulk(c->out, buf, (size_t)len);
    const cslice set[4] = {{"SET", 3}, *key, {buf, (size_t)len}, {"KEEPTTL", 7}};
    log_as(c, 4, set);
}

/* ------------------------------------------------------------------ */
/* LCS                                                                  */
/* ------------------------------------------------------------------ */

typedef struct lcs_range {
    uint32_t a_start, a_end, b_start, b_end;
} lcs_range;

typedef struct lcs_opts {
    int want_len, want_idx, with_match_len;
    long long min_match_len;
} lcs_opts;

static int parse_lcs_options(cmd_call *c, lcs_opts *op)
{
    memset(op, 0, sizeof(*op));
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "idx")) {
            op->want_idx = 1;
        } else if (arg_is(c, j, "len")) {
            op->want_len = 1;
        } else if (arg_is(c, j, "withmatchlen")) {
            op->with_match_len = 1;
        } else if (arg_is(c, j, "minmatchlen") && j + 1 < c->argc) {
            if (!arg_ll(c, j + 1, &op->min_match_len)) return -1;
            if (op->min_match_len < 0) op->min_match_len = 0;
            j++;
        } else {
            return reply_syntax_error(c);
        }
    }
    if (op->want_idx && op->want_len) {
        reply_error(c->out, "ERR If you want both the length and indexes, please just use IDX.");
        return -1;
    }
    return 0;
}

/* The bytes of a string object for LCS: a missing key reads as the empty
 * string. */
static const char *lcs_operand(const cobj *o, char *buf, size_t *len)
{
    if (!o) {
        *len = 0;
        return "";
    }
    return obj_str(o, buf, len);
}

/* Reply the IDX form: a map of "matches" (ranges, last match first, as
 * Redis walks the table backwards) and "len". */
static void reply_lcs_idx(cmd_call *c, const lcs_opts *op, const lcs_range *r, long n,
                          uint32_t lcs_len)
{
    reply_map_len(c->out, 2);
    reply_bulk_cstr(c->out, "matches");
    reply_array_len(c->out, n);
    for (long k = 0; k < n; k++) {
        reply_array_len(c->out, 2 + op->with_match_len);
        reply_array_len(c->out, 2);
        reply_int(c->out, r[k].a_start);
        reply_int(c->out, r[k].a_end);
        reply_array_len(c->out, 2);
        reply_int(c->out, r[k].b_start);
        reply_int(c->out, r[k].b_end);
        if (op->with_match_len) reply_int(c->out, r[k].a_end - r[k].a_start + 1);
    }
    reply_bulk_cstr(c->out, "len");
    reply_int(c->out, lcs_len);
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
 *
 * The classic dynamic-programming table T[i][j] = LCS length of a[0..i)
 * and b[0..j), then a walk back from the corner that collects the common
 * subsequence and its contiguous matching ranges.  On a mismatch the walk
 * moves along a only when that keeps a strictly longer LCS, so ties step
 * along b -- this decides which of several equally long answers is given,
 * and matches Redis. */
static void lcs_command(cmd_call *c)
{
    char abuf[NUM_STR_MAX], bbuf[NUM_STR_MAX];
    const char *a, *b;
    size_t alen_sz, blen_sz;
    lcs_opts op;

    cobj *oa = lookup_read(c, &c->argv[1]);
    cobj *ob = lookup_read(c, &c->argv[2]);
    if ((oa && oa->type != OBJ_STRING) || (ob && ob->type != OBJ_STRING)) {
        reply_error(c->out, "ERR The specified keys must contain string values");
        return;
    }
    a = lcs_operand(oa, abuf, &alen_sz);
    b = lcs_operand(ob, bbuf, &blen_sz);
    if (parse_lcs_options(c, &op) < 0) return;
    if (alen_sz >= UINT32_MAX - 1 || blen_sz >= UINT32_MAX - 1) {
        reply_error(c->out, "ERR String too long for LCS");
        return;
    }

    uint32_t alen = (uint32_t)alen_sz, blen = (uint32_t)blen_sz;
    uint64_t cells = (uint64_t)(alen + 1) * (blen + 1);
    uint64_t bytes = cells * sizeof(uint32_t);
    /* The table is transient but can be huge: bound it like Redis does. */
    if (bytes / sizeof(uint32_t) != cells || bytes > (uint64_t)c->e->cfg.proto_max_bulk_len) {
        reply_error(c->out,
                    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = cm_malloc((size_t)bytes);
#define T(i, j) t[(size_t)(i) * (blen + 1) + (j)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                T(i, j) = 0;
            else if (a[i - 1] == b[j - 1])
                T(i, j) = T(i - 1, j - 1) + 1;
            else
                T(i, j) = T(i - 1, j) > T(i, j - 1) ? T(i - 1, j) : T(i, j - 1);
        }
    }
    uint32_t lcs_len = T(alen, blen);

    if (op.want_len) {
        cm_free(t);
        reply_int(c->out, lcs_len);
        return;
    }

    char *seq = cm_malloc(lcs_len + 1);
    lcs_range *ranges = NULL;
    lcs_range cur = {0, 0, 0, 0};
    long nranges = 0, cap = 0;
    int in_range = 0;
    uint32_t i = alen, j = blen, k = lcs_len;

    while (i > 0 && j > 0) {
        int close_range = 0;
        if (a[i - 1] == b[j - 1]) {
            seq[--k] = a[i - 1];
            if (in_range) {
                /* Consecutive matches extend the current range backwards. */
                cur.a_start--;
                cur.b_start--;
            } else {
                cur = (lcs_range){i - 1, i - 1, j - 1, j - 1};
                in_range = 1;
            }
            i--;
            j--;
            close_range = (i == 0 || j == 0);
        } else {
            close_range = in_range;
            if (T(i - 1, j) > T(i, j - 1))
                i--;
            else
                j--;
        }
        if (close_range && in_range) {
            in_range = 0;
            uint32_t mlen = cur.a_end - cur.a_start + 1;
            if (op.want_idx && mlen >= (unsigned long long)op.min_match_len) {
                if (nranges == cap) {
                    cap = cap ? cap * 2 : 16;
                    ranges = cm_realloc(ranges, (size_t)cap * sizeof(*ranges));
                }
                ranges[nranges++] = cur;
            }
        }
    }
#undef T
    cm_free(t);

    if (op.want_idx)
        reply_lcs_idx(c, &op, ranges, nranges, lcs_len);
    else
        reply_bulk(c->out, seq, lcs_len);
    cm_free(ranges);
    cm_free(seq);
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

#define CX_GETRANGE                                                                                \
    "O(N) where N is the length of the returned string. The complexity is ultimately "             \
    "determined by the returned length, but because creating a substring from an existing "        \
    "string is very cheap, it can be considered O(1) for small strings."

/* A GET argument after the key and value reads the key (its spec's
 * flags); else the key is only overwritten. */
static uint32_t set_key_flags(int i, int argc, const cslice *argv, uint32_t flags)
{
    (void)i;
    for (int j = 3; j < argc; j++)
        if (slice_is(&argv[j], "get")) return flags & ~(uint32_t)KF_VARIABLE;
    return KF_OW | KF_UPDATE;
}

const cmd_def string_commands[] = {
    {"get", get_command, 2, CMD_READONLY | CMD_FAST, ACL_READ | ACL_STRING | ACL_FAST, 1, 1, 1,
     "string", "1.0.0", "Get the value of a key", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"set", set_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1, 1, 1,
     "string", "1.0.0", "Set the string value of a key", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE | KF_VARIABLE), .key_flags_of = set_key_flags},
    {"setnx", setnx_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "1.0.0",
     "Set the value of a key, only if the key does not exist", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_OW | KF_INSERT)},
    {"setex", setex_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1, 1, 1,
     "string", "2.0.0", "Set the value and expiration of a key", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_OW | KF_UPDATE)},
    {"psetex", psetex_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1, 1,
     1, "string", "2.6.0", "Set the value and expiration in milliseconds of a key", "O(1)", NULL,
     .key_spec = KEY_FLAGS(KF_OW | KF_UPDATE)},
    {"getset", getset_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "1.0.0",
     "Set the string value of a key and return its old value", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"getdel", getdel_command, 2, CMD_WRITE | CMD_FAST, ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1,
     "string", "6.2.0", "Get the value of a key and delete the key", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_DELETE)},
    {"getex", getex_command, -2, CMD_WRITE | CMD_FAST, ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1,
     "string", "6.2.0", "Get the value of a key and optionally set its expiration", "O(1)", NULL,
     NULL, NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"mget", mget_command, -2, CMD_READONLY | CMD_FAST, ACL_READ | ACL_STRING | ACL_FAST, 1, -1, 1,
     "string", "1.0.0", "Get the values of all the given keys",
     "O(N) where N is the number of keys to retrieve.", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"mset", mset_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1, -1, 2,
     "string", "1.0.1", "Set multiple keys to multiple values",
     "O(N) where N is the number of keys to set.", NULL, .key_spec = KEY_FLAGS(KF_OW | KF_UPDATE)},
    {"msetnx", msetnx_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1,
     -1, 2, "string", "1.0.1",
     "Set multiple keys to multiple values, only if none of the keys exist",
     "O(N) where N is the number of keys to set.", NULL, .key_spec = KEY_FLAGS(KF_OW | KF_INSERT)},
    {"append", append_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "2.0.0", "Append a value to a key",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and "
     "the already present value is of any size, since the dynamic string library used by "
     "Redis will double the free space available on every reallocation.",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_INSERT)},
    {"strlen", strlen_command, 2, CMD_READONLY | CMD_FAST, ACL_READ | ACL_STRING | ACL_FAST, 1, 1,
     1, "string", "2.2.0", "Get the length of the value stored in a key", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RO)},
    {"getrange", getrange_command, 4, CMD_READONLY, ACL_READ | ACL_STRING | ACL_SLOW, 1, 1, 1,
     "string", "2.4.0", "Get a substring of the string stored at a key", CX_GETRANGE, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"substr", getrange_command, 4, CMD_READONLY, ACL_READ | ACL_STRING | ACL_SLOW, 1, 1, 1,
     "string", "1.0.0", "Get a substring of the string stored at a key", CX_GETRANGE, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"setrange", setrange_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_STRING | ACL_SLOW, 1,
     1, 1, "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset",
     "O(1), not counting the time taken to copy the new string in place. Usually, this "
     "string is very small so the amortized complexity is O(1). Otherwise, complexity is "
     "O(M) with M being the length of the value argument.",
     NULL, .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"incr", incr_command, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_WRITE | ACL_STRING | ACL_FAST,
     1, 1, 1, "string", "1.0.0", "Increment the integer value of a key by one", "O(1)", NULL, NULL,
     NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"decr", decr_command, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_WRITE | ACL_STRING | ACL_FAST,
     1, 1, 1, "string", "1.0.0", "Decrement the integer value of a key by one", "O(1)", NULL, NULL,
     NULL, KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"incrby", incrby_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "1.0.0",
     "Increment the integer value of a key by the given amount", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"decrby", decrby_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "1.0.0",
     "Decrement the integer value of a key by the given number", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"incrbyfloat", incrbyfloat_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     ACL_WRITE | ACL_STRING | ACL_FAST, 1, 1, 1, "string", "2.6.0",
     "Increment the float value of a key by the given amount", "O(1)", NULL, NULL, NULL,
     KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE)},
    {"lcs", lcs_command, -3, CMD_READONLY, ACL_READ | ACL_STRING | ACL_SLOW, 1, 2, 1, "string",
     "7.0.0", "Find longest common substring",
     "O(N*M) where N and M are the lengths of s1 and s2, respectively", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
