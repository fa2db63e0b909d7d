/* script.c -- the Lua interpreter, its sandbox, the redis API and the
 * conversions between Lua values and replies; see script.h. */
#include "script.h"

#include <lauxlib.h>
#include <lua-bitop.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/sha1.h"
#include "../ds/util.h"
#include "../engine/acl.h"
#include "../engine/cmd.h"
#include "../engine/evict.h"
#include "../engine/tracking.h"
#include "function.h"
#include "libs.h"

/* Registry slots of the interpreter. */
#define REG_SCRIPTS   "cairn.scripts"   /* name -> compiled function */
#define REG_FLAGS     "cairn.flags"     /* name -> its SCRIPT_* flags */
#define REG_BODIES    "cairn.bodies"    /* name -> its source, shebang included */
#define REG_ERRH      "cairn.errh"      /* the error handler of every run */
#define REG_GLOBALS   "cairn.globals"   /* the real global table */
#define REG_PROTECTED "cairn.protected" /* read-only proxies (weak keys) */

/* Nested tables deeper than this in a script's reply are refused, as
 * Redis refuses them when the Lua stack cannot grow. */
#define MAX_REPLY_DEPTH 200

static script_engine *engine_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* ---------------------------------------------------------------------- */
/* Memory: every byte Lua holds is counted (INFO used_memory_lua).        */
/* ---------------------------------------------------------------------- */

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    script_engine *se = ud;
    if (nsize == 0) {
        if (ptr) {
            se->lua_mem -= osize;
            cm_free(ptr);
        }
        return NULL;
    }
    void *p = cm_realloc(ptr, nsize);
    se->lua_mem += nsize - (ptr ? osize : 0);
    return p;
}

/* ---------------------------------------------------------------------- */
/* math.random: Redis's rand48, seeded identically for every EVAL so a    */
/* script's random numbers never depend on what ran before.               */
/* ---------------------------------------------------------------------- */

#define RAND48_MASK ((1ULL << 48) - 1)

static void rand48_seed(script_engine *se, int32_t seed)
{
    se->rand48 = ((uint64_t)(uint32_t)seed << 16 | 0x330E) & RAND48_MASK;
}

static int32_t rand48_next(script_engine *se)
{
    se->rand48 = (se->rand48 * 0x5DEECE66DULL + 0xB) & RAND48_MASK;
    return (int32_t)(se->rand48 >> 17);
}

static int math_random(lua_State *L)
{
    script_engine *se = engine_of(L);
    lua_Number r = (lua_Number)(rand48_next(se) % INT32_MAX) / (lua_Number)INT32_MAX;
    switch (lua_gettop(L)) {
    case 0: lua_pushnumber(L, r); break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default: return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int math_randomseed(lua_State *L)
{
    rand48_seed(engine_of(L), (int32_t)luaL_checkint(L, 1));
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Errors as Redis's scripts see them: a table {err = "CODE message"}.    */
/* ---------------------------------------------------------------------- */

/* Push {err = ...} built from msg as Redis's luaPushErrorBuff: "-CODE
 * text" keeps its code, a message without a leading '-' gets "ERR". */
static void push_error_len(lua_State *L, const char *msg, size_t len)
{
    const char *code = "ERR";
    size_t code_len = 3;
    if (len && msg[0] == '-') {
        const char *sp = memchr(msg, ' ', len);
        if (sp) {
            code = msg + 1;
            code_len = (size_t)(sp - msg - 1);
            len -= (size_t)(sp + 1 - msg);
            msg = sp + 1;
        } else {
            msg++;
            len--;
        }
    }
    while (len && (msg[len - 1] == '\r' || msg[len - 1] == '\n'))
        len--;
    lua_newtable(L);
    lua_pushliteral(L, "err");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, code_len);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg, len);
    luaL_pushresult(&b);
    lua_rawset(L, -3);
}

static void push_error(lua_State *L, const char *msg) { push_error_len(L, msg, strlen(msg)); }

/* Raise msg (a plain message gets code ERR) as an error table. */
static int raise_error(lua_State *L, const char *msg)
{
    push_error(L, msg);
    return lua_error(L);
}

int script_raise(lua_State *L, const char *msg) { return raise_error(L, msg); }

/* ---------------------------------------------------------------------- */
/* Replies -> Lua values                                                   */
/* ---------------------------------------------------------------------- */

typedef struct parser {
    const char *p, *end;
} parser;

/* The text of the line starting at the parser's position (after the type
 * byte), and advance past its CRLF. */
static const char *parse_line(parser *ps, size_t *len)
{
    const char *start = ps->p + 1;
    const char *cr = memchr(start, '\r', (size_t)(ps->end - start));
    if (!cr) cr = ps->end;
    *len = (size_t)(cr - start);
    ps->p = cr + 2 <= ps->end ? cr + 2 : ps->end;
    return start;
}

static long long line_ll(const char *s, size_t len)
{
    long long v = 0;
    if (!str_to_ll(s, len, &v)) return -1;
    return v;
}

static void parse_reply(lua_State *L, parser *ps);

/* A table {name = inner} whose inner table is filled by the caller. */
static void push_typed_table(lua_State *L, const char *name)
{
    lua_newtable(L);
    lua_pushstring(L, name);
    lua_newtable(L);
}

static void parse_aggregate(lua_State *L, parser *ps, char type, long long n)
{
    if (!lua_checkstack(L, 6)) luaL_error(L, "reached lua stack limit");
    if (type == '*') {
        lua_createtable(L, n > 0 && n < 1024 ? (int)n : 0, 0);
        for (long long i = 0; i < n; i++) {
            parse_reply(L, ps);
            lua_rawseti(L, -2, (int)i + 1);
        }
        return;
    }
    push_typed_table(L, type == '%' ? "map" : "set");
    for (long long i = 0; i < n; i++) {
        parse_reply(L, ps);
        if (type == '%')
            parse_reply(L, ps);
        else
            lua_pushboolean(L, 1);
        lua_rawset(L, -3);
    }
    lua_rawset(L, -3);
}

/* Convert one RESP2/RESP3 value, as Redis's redisProtocolToLuaType. */
static void parse_reply(lua_State *L, parser *ps)
{
    if (ps->p >= ps->end) {
        lua_pushnil(L);
        return;
    }
    char type = *ps->p;
    size_t len;
    const char *s = parse_line(ps, &len);
    switch (type) {
    case '+':
        lua_newtable(L);
        lua_pushliteral(L, "ok");
        lua_pushlstring(L, s, len);
        lua_rawset(L, -3);
        break;
    case '-':
        push_error_len(L, s - 1, len + 1); /* from the leading '-' */
        lua_pushliteral(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        break;
    case ':': lua_pushnumber(L, (lua_Number)line_ll(s, len)); break;
    case '$':
    case '=': {
        long long n = line_ll(s, len);
        if (n < 0) {
            lua_pushboolean(L, 0);
            break;
        }
        const char *body = ps->p;
        ps->p += n + 2;
        if (type == '$') {
            lua_pushlstring(L, body, (size_t)n);
        } else { /* verbatim: "txt:" then the text */
            push_typed_table(L, "verbatim_string");
            lua_pushliteral(L, "format");
            lua_pushlstring(L, body, n >= 3 ? 3 : (size_t)n);
            lua_rawset(L, -3);
            lua_pushliteral(L, "string");
            lua_pushlstring(L, body + (n >= 4 ? 4 : n), n >= 4 ? (size_t)n - 4 : 0);
            lua_rawset(L, -3);
            lua_rawset(L, -3);
        }
        break;
    }
    case '*':
    case '%':
    case '~': {
        long long n = line_ll(s, len);
        if (n < 0) {
            lua_pushboolean(L, 0);
            break;
        }
        parse_aggregate(L, ps, type, n);
        break;
    }
    case '_': lua_pushnil(L); break;
    case '#': lua_pushboolean(L, len && s[0] == 't'); break;
    case ',': {
        double d = 0;
        char buf[64];
        size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (!str_to_double(buf, n, &d)) d = strcmp(buf, "nan") == 0 ? NAN : 0;
        lua_newtable(L);
        lua_pushliteral(L, "double");
        lua_pushnumber(L, d);
        lua_rawset(L, -3);
        break;
    }
    case '(':
        lua_newtable(L);
        lua_pushliteral(L, "big_number");
        lua_pushlstring(L, s, len);
        lua_rawset(L, -3);
        break;
    case '|': { /* attributes are skipped: the value follows */
        long long n = line_ll(s, len);
        for (long long i = 0; i < 2 * n; i++) {
            parse_reply(L, ps);
            lua_pop(L, 1);
        }
        parse_reply(L, ps);
        break;
    }
    default: lua_pushnil(L); break;
    }
}

/* ---------------------------------------------------------------------- */
/* Lua values -> replies                                                   */
/* ---------------------------------------------------------------------- */

/* Replace CR and LF by spaces (status and error lines). */
static const char *one_line(lua_State *L, int idx, size_t *len)
{
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    const char *s = lua_tolstring(L, idx, len);
    if (!memchr(s, '\r', *len) && !memchr(s, '\n', *len)) return s;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < *len; i++)
        luaL_addchar(&b, s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]);
    luaL_pushresult(&b);
    lua_replace(L, idx);
    return lua_tolstring(L, idx, len);
}

/* The string field `name` of the table at the top, pushed (nil if it is
 * not of type t, which is then left on the stack as nil). */
static int field_of_type(lua_State *L, const char *name, int t)
{
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == t) return 1;
    lua_pop(L, 1);
    return 0;
}

static void to_reply(script_engine *se, lua_State *L, rbuf *out, int depth);

/* Reply msg, the error of the table at idx.  An error a command replied
 * inside the script (ignore_error_stats_update) was counted then: it is
 * not counted again, but the run still failed, as in Redis. */
static void reply_script_error(script_engine *se, lua_State *L, int idx, rbuf *out, const char *msg)
{
    lua_getfield(L, idx, "ignore_error_stats_update");
    int counted = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!counted) {
        reply_error(out, msg);
        return;
    }
    err_stats *stats = out->err_stats;
    out->err_stats = NULL;
    reply_error(out, msg);
    out->err_stats = stats;
    if (se->run_stats) se->run_stats->failed_calls++;
}

/* {verbatim_string = {format = "txt", string = ...}} at the top: reply
 * with it and return 1, or 0 if either field is not a string (the table
 * is then read as the other kinds are, as in Redis). */
static int verbatim_to_reply(lua_State *L, rbuf *out)
{
    lua_getfield(L, -1, "format");
    lua_getfield(L, -2, "string");
    int ok = lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING;
    if (ok) {
        size_t flen, len;
        const char *f = lua_tolstring(L, -2, &flen);
        const char *str = lua_tolstring(L, -1, &len);
        char fmt[3] = {' ', ' ', ' '}; /* RESP3 formats are 3 bytes */
        memcpy(fmt, f, flen < 3 ? flen : 3);
        reply_verbatim(out, str, len, fmt);
    }
    lua_pop(L, 2);
    return ok;
}

static void table_to_reply(script_engine *se, lua_State *L, rbuf *out, int depth)
{
    size_t len;
    if (field_of_type(L, "err", LUA_TSTRING)) {
        reply_script_error(se, L, -2, out, lua_tostring(L, -1)); /* which makes it one line */
        lua_pop(L, 1);
        return;
    }
    if (field_of_type(L, "ok", LUA_TSTRING)) {
        const char *msg = one_line(L, -1, &len);
        dstr m = dstr_new(msg, len);
        reply_simple(out, m);
        dstr_free(m);
        lua_pop(L, 1);
        return;
    }
    if (field_of_type(L, "double", LUA_TNUMBER)) {
        reply_double(out, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    if (field_of_type(L, "big_number", LUA_TSTRING)) {
        const char *digits = one_line(L, -1, &len);
        reply_bignum(out, digits, len);
        lua_pop(L, 1);
        return;
    }
    if (field_of_type(L, "verbatim_string", LUA_TTABLE)) {
        int done = verbatim_to_reply(L, out);
        lua_pop(L, 1);
        if (done) return;
    }
    int is_map = field_of_type(L, "map", LUA_TTABLE);
    if (is_map || field_of_type(L, "set", LUA_TTABLE)) {
        rbuf_deferred d = reply_deferred_len(out);
        long n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            /* table, key, value */
            if (is_map) {
                lua_pushvalue(L, -2);
                to_reply(se, L, out, depth + 1); /* the key */
                to_reply(se, L, out, depth + 1); /* the value */
            } else {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                to_reply(se, L, out, depth + 1);
            }
            n++;
        }
        if (is_map)
            reply_set_deferred_map(out, d, n);
        else
            reply_set_deferred_set(out, d, n);
        lua_pop(L, 1);
        return;
    }
    /* An array: elements 1, 2, ... up to the first nil. */
    rbuf_deferred d = reply_deferred_len(out);
    long n = 0;
    for (;;) {
        lua_rawgeti(L, -1, (int)n + 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        to_reply(se, L, out, depth + 1);
        n++;
    }
    reply_set_deferred_array(out, d, n);
}

/* Reply with the value at the top of the stack and pop it, as Redis's
 * luaReplyToRedisReply. */
static void to_reply(script_engine *se, lua_State *L, rbuf *out, int depth)
{
    if (depth > MAX_REPLY_DEPTH || !lua_checkstack(L, 4)) {
        reply_error(out, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        reply_bulk(out, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        if (se->resp == 2) {
            if (lua_toboolean(L, -1))
                reply_int(out, 1);
            else
                reply_null(out);
        } else {
            reply_bool(out, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER: reply_int(out, (long long)lua_tonumber(L, -1)); break;
    case LUA_TTABLE: table_to_reply(se, L, out, depth); break;
    default: reply_null(out); break;
    }
    lua_pop(L, 1);
}

/* ---------------------------------------------------------------------- */
/* redis.call / redis.pcall                                                */
/* ---------------------------------------------------------------------- */

/* The arguments of redis.call as slices into the Lua strings on the
 * stack; numbers are formatted with "%.17g" in place, as Redis 7.0 does.
 * Returns 0, or -1 with an error table pushed. */
static int collect_args(script_engine *se, lua_State *L, int argc)
{
    if (argc == 0) {
        push_error(L, "Please specify at least one argument for this redis lib call");
        return -1;
    }
    if (argc > se->argv_cap) {
        se->argv_cap = argc < 16 ? 16 : argc;
        se->argv = cm_realloc(se->argv, sizeof(cslice) * (size_t)se->argv_cap);
    }
    for (int i = 1; i <= argc; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TNUMBER) {
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "%.17g", (double)lua_tonumber(L, i));
            lua_pushlstring(L, buf, (size_t)n);
            lua_replace(L, i);
        } else if (t != LUA_TSTRING) {
            push_error(L, "Lua redis lib command arguments must be strings or integers");
            return -1;
        }
        size_t len;
        const char *p = lua_tolstring(L, i, &len);
        se->argv[i - 1] = (cslice){p, len};
    }
    return 0;
}

/* The checks Redis's scriptCall makes before running cmd.  Returns an
 * error message, or NULL. */
static const char *refuse_command(script_engine *se, const cmd_def *cmd, int argc)
{
    if (!cmd) return "Unknown Redis command called from script";
    if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity)
        return "Wrong number of args calling Redis command from script";
    if ((cmd->flags & CMD_NOSCRIPT) && !se->e->script_deny_disabled)
        return "This Redis command is not allowed from script";
    /* As the user of the client that runs the script. */
    const char *denied = acl_script_refusal(se->caller, cmd, argc, se->argv);
    if (denied) return denied;
    /* A command that may replicate (PUBLISH) counts as a write for a
     * read-only script, so that one runs even during CLIENT PAUSE WRITE. */
    if ((cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) && (se->run_flags & SCRIPT_NO_WRITES))
        return "Write commands are not allowed from read-only scripts.";
    /* A follower's or replica's dataset changes by its leader's or
     * master's stream only: a script's write here is refused as Redis's
     * replica refuses it (a script that stream carries is not). */
    if ((cmd->flags & CMD_WRITE) && se->e->repl_refuse_write && !se->e->applying)
        return se->e->repl_refuse_write;
    if ((cmd->flags & CMD_WRITE) && se->e->write_error) return se->e->write_error;
    /* Memory over the limit when the script started refuses what may grow
     * it, unless the script allows it or has already written (it cannot
     * be stopped half way then), as Redis's scriptVerifyOOM. */
    if ((cmd->flags & CMD_DENYOOM) && se->oom && !se->wrote && !(se->run_flags & SCRIPT_ALLOW_OOM))
        return "OOM command not allowed when used memory > 'maxmemory'.";
    return NULL;
}

static const cmd_def *lookup(cairn_engine *e, int argc, const cslice *argv)
{
    const cmd_def *cmd = cmd_lookup(e, argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands) {
        if (argc < 2) return cmd; /* the arity check refuses it */
        cmd = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    }
    return cmd;
}

/* Run the command and push its reply as a Lua value.  Returns 1 if the
 * reply is an error. */
static int run_command(script_engine *se, lua_State *L, const cmd_def *cmd, int argc)
{
    cairn_engine *e = se->e;
    cmd_call *caller = se->caller;
    rbuf *rb = &se->reply;
    rbuf_reset(rb);
    rb->resp = se->resp;
    /* The command's errors count in INFO errorstats and its failed calls,
     * as Redis counts them; the script's own error reply then does not
     * count them again (ignore_error_stats_update). */
    rb->err_stats = &e->errstats;
    se->sess.resp = se->resp;
    cmd_call sub;
    engine_call_init(&sub, e, &se->sess, cmd, argc, se->argv, caller->now_us, rb);
    if (cmd->flags & CMD_WRITE) se->wrote = 1;
    cmd->proc(&sub);
    engine_call_finish(&sub);
    if (caller->s->tracking) tracking_script_read(&sub, caller);

    size_t len = 0;
    char *flat = NULL;
    const char *p = "";
    if (rb->head && rb->head == rb->tail) {
        p = rb->head->data + rb->head_off;
        len = rb->bytes;
    } else if (rb->head) {
        flat = rbuf_flatten(rb, &len);
        p = flat;
    }
    int is_error = len > 0 && p[0] == '-';
    /* The parser allocates only through Lua: a copy guards against the
     * flattened buffer leaking if Lua raises out of it. */
    if (flat) {
        lua_pushlstring(L, flat, len);
        cm_free(flat);
        p = lua_tostring(L, -1);
    }
    parser ps = {p, p + len};
    parse_reply(L, &ps);
    if (flat) lua_remove(L, -2);
    rbuf_reset(rb);
    return is_error;
}

/* A command the script may not run counts as an error reply and, when
 * it exists, as a rejected call of it, as Redis's scriptCall counts it.
 * Returns whether msg starts with its own error code. */
static int count_refusal(cairn_engine *e, const cmd_def *cmd, const char *msg)
{
    /* Counted under its code: ERR unless the message starts with one
     * (an upper-case word, as the write error's MISCONF). */
    size_t word = strcspn(msg, " ");
    int has_code = word > 0;
    for (size_t i = 0; i < word; i++)
        if (msg[i] < 'A' || msg[i] > 'Z') has_code = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s%s", has_code ? "" : "ERR ", msg);
    errstats_add(&e->errstats, buf, strlen(buf));
    e->err_seen = e->errstats.total;
    cmd_stats *st = cmd ? cmdstats_of(e->cmdstats, cmd) : NULL;
    if (st) st->rejected_calls++;
    return has_code;
}

static int redis_call_generic(lua_State *L, int raise)
{
    script_engine *se = engine_of(L);
    if (!se->caller)
        return raise_error(L, "redis.call/pcall can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (collect_args(se, L, argc) < 0) return raise ? lua_error(L) : 1;
    const cmd_def *cmd = lookup(se->e, argc, se->argv);
    const char *refused = refuse_command(se, cmd, argc);
    int is_error;
    if (refused) {
        int own_code = count_refusal(se->e, cmd, refused);
        if (own_code) {
            lua_pushliteral(L, "-");
            lua_pushstring(L, refused);
            lua_concat(L, 2);
            push_error(L, lua_tostring(L, -1));
            lua_remove(L, -2);
        } else {
            push_error(L, refused);
        }
        lua_pushliteral(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        is_error = 1;
    } else {
        is_error = run_command(se, L, cmd, argc);
    }
    if (is_error && raise) return lua_error(L);
    return 1;
}

static int redis_call(lua_State *L) { return redis_call_generic(L, 1); }
static int redis_pcall(lua_State *L) { return redis_call_generic(L, 0); }

/* redis.acl_check_cmd(cmd, args...): whether the script's user may run
 * the command with these arguments, without running it. */
static int redis_acl_check_cmd(lua_State *L)
{
    script_engine *se = engine_of(L);
    if (!se->caller)
        return raise_error(L, "redis.acl_check_cmd can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (collect_args(se, L, argc) < 0) return lua_error(L);
    const cmd_def *cmd = lookup(se->e, argc, se->argv);
    if (!cmd) return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
    lua_pushboolean(L, acl_script_permits(se->caller, cmd, argc, se->argv));
    return 1;
}

/* ---------------------------------------------------------------------- */
/* The rest of the redis API                                               */
/* ---------------------------------------------------------------------- */

static int redis_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return raise_error(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[41];
    sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

/* Wrong arguments make error_reply and status_reply return an error
 * rather than raise one, as in Redis. */
static int redis_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error(L, "wrong number or type of arguments");
        return 1;
    }
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (len && s[0] == '-') {
        push_error_len(L, s, len);
    } else {
        lua_pushliteral(L, "-");
        lua_pushvalue(L, 1);
        lua_concat(L, 2);
        s = lua_tolstring(L, -1, &len);
        push_error_len(L, s, len);
    }
    return 1;
}

static int redis_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushliteral(L, "ok");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

static int redis_setresp(lua_State *L)
{
    script_engine *se = engine_of(L);
    if (lua_gettop(L) != 1) return raise_error(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, -1);
    if (resp != 2 && resp != 3) return raise_error(L, "RESP version must be 2 or 3.");
    se->resp = resp;
    return 0;
}

enum {
    LOG_DEBUG_ = LL_DEBUG,
    LOG_VERBOSE_ = LL_VERBOSE,
    LOG_NOTICE_ = LL_NOTICE,
    LOG_WARNING_ = LL_WARNING
};

/* redis.log(level, ...): the arguments that are strings or numbers,
 * joined by spaces, to the host's log (which filters by its verbosity). */
static int redis_log(lua_State *L)
{
    script_engine *se = engine_of(L);
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return raise_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LOG_DEBUG_ || level > LOG_WARNING_) return raise_error(L, "Invalid debug level.");
    const cairn_host_ops *host = se->e->host;
    if (!host || !host->log) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (!s) continue;
        if (i != 2) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, len);
    }
    luaL_pushresult(&b);
    host->log(se->e->host_priv, level, lua_tostring(L, -1));
    return 0;
}

enum { REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_ALL = 3 };

/* Effects are what is always logged; the flags are checked and kept for
 * nothing, as scripts written for Redis call it. */
static int redis_set_repl(lua_State *L)
{
    script_engine *se = engine_of(L);
    if (!se->caller)
        return raise_error(L, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error(L, "redis.set_repl() requires one argument.");
    int flags = (int)lua_tonumber(L, -1);
    if ((flags & ~REPL_ALL) != 0)
        return raise_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL "
                              "or REPL_NONE.");
    return 0;
}

static int redis_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int redis_breakpoint(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static int redis_debug(lua_State *L)
{
    (void)L;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Slow scripts                                                            */
/* ---------------------------------------------------------------------- */

/* Lua instructions between two looks at the clock (the host's). */
#define TICK_INSTRUCTIONS 100000

/* Every TICK_INSTRUCTIONS: let the host serve the other clients once the
 * script is slow, and stop it if SCRIPT KILL (or a shutdown) asked.  A
 * killed script is stopped again at every line, so pcall cannot keep it
 * alive. */
static void tick_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    void *ud;
    lua_getallocf(L, &ud);
    script_engine *se = ud;
    cairn_engine *e = se->e;
    if (!se->caller) return;
    if (!se->kill && e->host && e->host->script_tick && e->host->script_tick(e->host_priv))
        se->kill = 1;
    if (!se->kill) return;
    lua_sethook(L, tick_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
    raise_error(L, "Script killed by user with SCRIPT KILL...");
}

int script_kill(cairn_engine *e, int is_eval, const char **err)
{
    script_engine *se = e->script;
    if (!se || !se->caller) {
        *err = "NOTBUSY No scripts in execution right now.";
        return -1;
    }
    if (is_eval == e->busy_function) {
        *err = is_eval ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                         "SHUTDOWN NOSAVE."
                       : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                         "SHUTDOWN NOSAVE.";
        return -1;
    }
    if (se->wrote) {
        *err = "UNKILLABLE Sorry the script already executed write commands against the "
               "dataset. You can either wait the script termination or kill the server in a "
               "hard way using the SHUTDOWN NOSAVE command.";
        return -1;
    }
    se->kill = 1;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The sandbox                                                             */
/* ---------------------------------------------------------------------- */

static int readonly_newindex(lua_State *L)
{
    return luaL_error(L, "Attempt to modify a readonly table");
}

static int nonexistent_global(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

/* Whether the table at idx is a read-only proxy. */
static int is_protected(lua_State *L, int idx)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    int p = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return p;
}

/* The error Redis's patched Lua raises from inside rawset/setmetatable
 * on a read-only table: without a position. */
static int readonly_error(lua_State *L)
{
    lua_pushliteral(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

/* loadstring and load refuse binary chunks (string.dump's output): Lua
 * 5.1 does not verify bytecode, and crafted bytecode escapes the sandbox.
 * Like a chunk that fails to compile, they return nil and a message. */
static int refuse_binary(lua_State *L, const char *s, size_t len)
{
    if (!len || s[0] != LUA_SIGNATURE[0]) return 0;
    lua_pushnil(L);
    lua_pushliteral(L, "attempt to load a binary chunk");
    return 2;
}

static int sandbox_loadstring(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    if (refuse_binary(L, s, len)) return 2;
    int failed = luaL_loadbuffer(L, s, len, name);
    if (!failed) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* load(reader [, name]): the pieces are gathered first so the check sees
 * the chunk's first byte whatever the reader returns. */
static int sandbox_load(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    lua_settop(L, 2);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        if (lua_objlen(L, -1) == 0) {
            lua_pop(L, 1);
            break;
        }
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (refuse_binary(L, s, len)) return 2;
    if (!luaL_loadbuffer(L, s, len, name)) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* rawset and setmetatable refuse the read-only tables. */
static int sandbox_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_protected(L, 1)) return readonly_error(L);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int sandbox_setmetatable(lua_State *L)
{
    if (lua_istable(L, 1) && is_protected(L, 1)) return readonly_error(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replace the table at the top by an empty proxy that reads through to
 * it (falling back to `missing` if not nil) and refuses writes. */
static void make_readonly(lua_State *L, lua_CFunction missing)
{
    int real = lua_gettop(L);
    if (missing) {
        lua_newtable(L);
        lua_pushcfunction(L, missing);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, real);
    }
    lua_newtable(L); /* the proxy */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    /* getmetatable() shows the one behind the strict globals (as Redis
     * shows _G's), read only; no metatable for the others. */
    if (missing) {
        lua_getmetatable(L, real);
        make_readonly(L, NULL);
    } else {
        lua_pushboolean(L, 0);
    }
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, real);
}

void script_make_readonly(lua_State *L, int strict)
{
    make_readonly(L, strict ? nonexistent_global : NULL);
}

void script_restore_hook(script_engine *se)
{
    lua_sethook(se->L, tick_hook, LUA_MASKCOUNT, TICK_INSTRUCTIONS);
}

/* Open a library; those that only return their table (cjson) get a
 * global of their name too. */
static void load_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (name[0] && lua_istable(L, -1))
        lua_setglobal(L, name);
    else
        lua_pop(L, 1);
}

static void set_fn(lua_State *L, script_engine *se, const char *name, lua_CFunction f)
{
    lua_pushlightuserdata(L, se);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

static void register_redis_api(lua_State *L, script_engine *se)
{
    lua_newtable(L);
    set_fn(L, se, "call", redis_call);
    set_fn(L, se, "pcall", redis_pcall);
    set_fn(L, se, "acl_check_cmd", redis_acl_check_cmd);
    set_fn(L, se, "log", redis_log);
    set_fn(L, se, "setresp", redis_setresp);
    set_fn(L, se, "sha1hex", redis_sha1hex);
    set_fn(L, se, "error_reply", redis_error_reply);
    set_fn(L, se, "status_reply", redis_status_reply);
    set_fn(L, se, "set_repl", redis_set_repl);
    set_fn(L, se, "replicate_commands", redis_replicate_commands);
    set_fn(L, se, "breakpoint", redis_breakpoint);
    set_fn(L, se, "debug", redis_debug);
    static const struct {
        const char *name;
        int v;
    } consts[] = {
        {"LOG_DEBUG", LOG_DEBUG_},     {"LOG_VERBOSE", LOG_VERBOSE_}, {"LOG_NOTICE", LOG_NOTICE_},
        {"LOG_WARNING", LOG_WARNING_}, {"REPL_NONE", REPL_NONE},      {"REPL_AOF", REPL_AOF},
        {"REPL_SLAVE", REPL_SLAVE},    {"REPL_REPLICA", REPL_SLAVE},  {"REPL_ALL", REPL_ALL},
    };
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        lua_pushnumber(L, consts[i].v);
        lua_setfield(L, -2, consts[i].name);
    }
    lua_pushstring(L, REDIS_COMPAT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    int major = 0, minor = 0, patch = 0;
    sscanf(REDIS_COMPAT_VERSION, "%d.%d.%d", &major, &minor, &patch);
    lua_pushnumber(L, (major << 16) | (minor << 8) | patch);
    lua_setfield(L, -2, "REDIS_VERSION_NUM");
    lua_setglobal(L, "redis");
}

/* The error handler of every run, as Redis's __redis__err__handler: it
 * turns any error into {err=..., source=..., line=...} naming where the
 * script was. */
static const char errh_src[] =
    "local dbg = ...\n"
    "return function(err)\n"
    "  local i = dbg.getinfo(2, 'nSl')\n"
    "  if i and i.what == 'C' then i = dbg.getinfo(3, 'nSl') end\n"
    "  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end\n"
    "  if i then err['source'] = i.source; err['line'] = i.currentline end\n"
    "  return err\n"
    "end\n";

static const char *const removed_globals[] = {"loadfile", "dofile",  "print",    "debug",
                                              "setfenv",  "getfenv", "newproxy", NULL};
static const char *const readonly_libs[] = {"string",   "table",  "math",  "cjson",     "bit",
                                            "cmsgpack", "struct", "redis", "coroutine", NULL};

static void new_cache(lua_State *L);

static lua_State *new_state(script_engine *se)
{
    lua_State *L = lua_newstate(lua_alloc, se);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    new_cache(L);

    load_lib(L, "", luaopen_base);
    load_lib(L, LUA_TABLIBNAME, luaopen_table);
    load_lib(L, LUA_STRLIBNAME, luaopen_string);
    load_lib(L, LUA_MATHLIBNAME, luaopen_math);
    load_lib(L, LUA_DBLIBNAME, luaopen_debug);
    load_lib(L, "cjson", luaopen_cjson);
    load_lib(L, "bit", luaopen_bit);
    load_lib(L, "cmsgpack", luaopen_cmsgpack);
    load_lib(L, "struct", luaopen_struct);
    register_redis_api(L, se);

    lua_getglobal(L, "math");
    set_fn(L, se, "random", math_random);
    set_fn(L, se, "randomseed", math_randomseed);
    lua_pop(L, 1);
    lua_pushcfunction(L, sandbox_rawset);
    lua_setglobal(L, "rawset");
    lua_pushcfunction(L, sandbox_loadstring);
    lua_setglobal(L, "loadstring");
    lua_pushcfunction(L, sandbox_load);
    lua_setglobal(L, "load");

    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, sandbox_setmetatable, 1);
    lua_setglobal(L, "setmetatable");

    if (luaL_loadbuffer(L, errh_src, sizeof(errh_src) - 1, "@error_handler") == 0) {
        lua_getglobal(L, "debug");
        lua_call(L, 1, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, REG_ERRH);
    } else {
        lua_pop(L, 1);
    }
    for (int i = 0; removed_globals[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed_globals[i]);
    }
    /* The libraries, then the globals, become read only.  The strings'
     * metatable reads through the read-only string table too. */
    for (int i = 0; readonly_libs[i]; i++) {
        lua_getglobal(L, readonly_libs[i]);
        make_readonly(L, NULL);
        lua_setglobal(L, readonly_libs[i]);
    }
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getglobal(L, "string");
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1); /* what getmetatable("") shows: a read-only view */
    make_readonly(L, NULL);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    make_readonly(L, nonexistent_global);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_GLOBALSINDEX, "_G");
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_sethook(L, tick_hook, LUA_MASKCOUNT, TICK_INSTRUCTIONS);
    return L;
}

/* ---------------------------------------------------------------------- */
/* Flags of scripts and functions                                          */
/* ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    int flag;
} script_flags_table[] = {
    {"no-writes", SCRIPT_NO_WRITES},
    {"allow-oom", SCRIPT_ALLOW_OOM},
    {"allow-stale", SCRIPT_ALLOW_STALE},
    {"no-cluster", SCRIPT_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_ALLOW_CROSS_SLOT},
};

#define NFLAGS (sizeof(script_flags_table) / sizeof(script_flags_table[0]))

int script_flag_named(const char *p, size_t len)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (strlen(script_flags_table[i].name) == len &&
            memcmp(script_flags_table[i].name, p, len) == 0)
            return script_flags_table[i].flag;
    return 0;
}

const char *script_flag_name(int flag)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (script_flags_table[i].flag == flag) return script_flags_table[i].name;
    return NULL;
}

uint32_t script_cmd_flags(uint32_t cmd_flags, int flags)
{
    if (flags & SCRIPT_EVAL_COMPAT) return cmd_flags;
    cmd_flags &= ~(uint32_t)(CMD_STALE | CMD_DENYOOM | CMD_WRITE | CMD_MAY_REPLICATE);
    /* no-writes implies allow-oom */
    if (!(flags & (SCRIPT_ALLOW_OOM | SCRIPT_NO_WRITES))) cmd_flags |= CMD_DENYOOM;
    if (!(flags & SCRIPT_NO_WRITES)) cmd_flags |= CMD_WRITE;
    if (flags & SCRIPT_ALLOW_STALE) cmd_flags |= CMD_STALE;
    return cmd_flags;
}

int script_run_flags(cmd_call *c, int flags, int ro)
{
    if (!(flags & SCRIPT_EVAL_COMPAT) && !(flags & SCRIPT_NO_WRITES)) {
        if (c->e->write_error) {
            reply_error(c->out, c->e->write_error);
            return -1;
        }
        if (ro) {
            reply_error(c->out, "ERR Can not execute a script with write flag using *_ro command.");
            return -1;
        }
    }
    if (ro) flags |= SCRIPT_NO_WRITES;
    return flags;
}

/* ---------------------------------------------------------------------- */
/* The interpreter's life                                                  */
/* ---------------------------------------------------------------------- */

static void script_free(void *p)
{
    script_engine *se = p;
    if (!se) return;
    function_registry_free(se);
    if (se->L) lua_close(se->L);
    rbuf_free(&se->reply);
    cm_free(se->argv);
    cm_free(se);
}

script_engine *script_get(cairn_engine *e)
{
    if (e->script) return e->script;
    script_engine *se = cm_calloc(1, sizeof(*se));
    se->e = e;
    session_init(e, &se->sess);
    se->sess.flags = SESS_SCRIPT;
    rbuf_init(&se->reply, 2);
    se->resp = 2;
    /* cjson notes the decimal point of the locale it is opened in. */
    locale_t old = uselocale(c_locale());
    se->L = new_state(se);
    uselocale(old);
    e->script = se;
    e->script_free = script_free;
    return se;
}

/* The cached scripts: name -> function, and name -> flags. */
static void new_cache(lua_State *L)
{
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FLAGS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_BODIES);
}

void script_flush(script_engine *se)
{
    new_cache(se->L);
    se->nscripts = 0;
    lua_gc(se->L, LUA_GCCOLLECT, 0);
}

int script_compile(script_engine *se, const char *name, int flags, const char *body, size_t len,
                   size_t skip, char *err, size_t errsize)
{
    lua_State *L = se->L;
    locale_t old = uselocale(c_locale());
    int failed = luaL_loadbuffer(L, body + skip, len - skip, "@user_script");
    uselocale(old);
    if (failed) {
        snprintf(err, errsize, "Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
    lua_pushstring(L, name);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FLAGS);
    lua_pushstring(L, name);
    lua_pushnumber(L, flags);
    lua_rawset(L, -3);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_pushstring(L, name);
    lua_pushlstring(L, body, len);
    lua_rawset(L, -3);
    lua_pop(L, 4);
    se->nscripts++;
    return 0;
}

int script_flags(script_engine *se, const char *name)
{
    lua_State *L = se->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FLAGS);
    lua_getfield(L, -1, name);
    int flags = lua_isnumber(L, -1) ? (int)lua_tonumber(L, -1) : -1;
    lua_pop(L, 2);
    return flags;
}

int script_body(script_engine *se, const char *name, cslice *body)
{
    lua_State *L = se->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_getfield(L, -1, name);
    /* The string stays referenced by the registry's table, so its bytes
     * live until the cache is flushed. */
    int found = lua_isstring(L, -1);
    if (found) body->ptr = lua_tolstring(L, -1, &body->len);
    lua_pop(L, 2);
    return found ? 0 : -1;
}

static void push_slices(lua_State *L, int n, const cslice *v)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

/* The error of a failed run, in Redis 7.0's words: "<err> script: <name>,
 * on <source>:<line>." */
static void reply_run_error(script_engine *se, lua_State *L, rbuf *out)
{
    if (!lua_istable(L, -1)) {
        const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
        reply_errorf(out, "ERR Error running script %s, %.100s", se->name, msg);
        return;
    }
    lua_getfield(L, -1, "err");
    lua_getfield(L, -2, "source");
    lua_getfield(L, -3, "line");
    const char *msg = lua_tostring(L, -3);
    const char *source = lua_tostring(L, -2);
    const char *line = lua_tostring(L, -1);
    dstr m = dstr_from_cstr(msg ? msg : "");
    if (source && line) m = dstr_catfmt(m, " script: %s, on %s:%s.", se->name, source, line);
    reply_script_error(se, L, -4, out, m);
    dstr_free(m);
    lua_pop(L, 3);
}

void script_run(script_engine *se, cmd_call *c, const char *name, const char *shown_name,
                int run_flags, int nkeys, const cslice *keys, int nargs, const cslice *args,
                int as_globals)
{
    lua_State *L = se->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_ERRH);
    lua_getfield(L, LUA_REGISTRYINDEX, as_globals ? REG_SCRIPTS : SCRIPT_REG_FUNCTIONS);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    int nparams = 0;
    if (as_globals) {
        lua_getfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);
        push_slices(L, nkeys, keys);
        lua_setfield(L, -2, "KEYS");
        push_slices(L, nargs, args);
        lua_setfield(L, -2, "ARGV");
        lua_pop(L, 1);
    } else {
        push_slices(L, nkeys, keys);
        push_slices(L, nargs, args);
        nparams = 2;
    }
    /* A new seed for every run, from the call's context: math.random
     * differs between runs, as in Redis 7.0, yet a run is a function of its
     * context (its effects are what is logged). */
    rand48_seed(se, (int32_t)crand_next(&c->rng));
    se->caller = c;
    se->run_flags = run_flags;
    se->resp = 2;
    se->wrote = 0;
    cairn_engine *e = se->e;
    se->oom = e->cfg.maxmemory && engine_may_originate(e) && !(c->s->flags & SESS_LOADER) &&
              evict_used_memory(e, c->now_ms) > e->cfg.maxmemory;
    se->name = shown_name;
    se->sess.db = c->s->db;
    se->e->busy_function = !as_globals;
    engine_atomic_begin(se->e, (uint32_t)c->s->db, c->now_ms);
    /* Lua formats and parses numbers with the C library, whatever locale
     * an embedding application set (DESIGN rule 2). */
    locale_t old = uselocale(c_locale());
    int err = lua_pcall(L, nparams, 1, -(nparams + 2));
    uselocale(old);
    engine_atomic_end(se->e, (uint32_t)c->s->db);
    se->caller = NULL;
    se->e->busy = 0;
    if (se->kill) {
        se->kill = 0;
        lua_sethook(L, tick_hook, LUA_MASKCOUNT, TICK_INSTRUCTIONS);
    }
    se->run_stats = c->stats;
    if (err)
        reply_run_error(se, L, c->out);
    else
        to_reply(se, L, c->out, 0);
    se->run_stats = NULL;
    if (err) lua_pop(L, 1);
    lua_pop(L, 1); /* the error handler */
}
