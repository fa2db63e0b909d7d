/* lua_cmsgpack.c -- MessagePack for Lua scripts: cmsgpack.pack(...),
 * unpack(s), unpack_one(s [, offset]), unpack_limit(s, limit [, offset]),
 * encoding as the lua-cmsgpack that Redis bundles does:
 *
 * - integers in the smallest integer format, other numbers as float 32 if
 *   exact, else float 64;
 * - strings as fixstr/str8/str16/str32;
 * - a table whose keys are exactly 1..n as an array, any other as a map;
 * - nil, and anything that cannot be encoded (functions, tables nested
 *   more than 16 deep), as nil. */
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "libs.h"

#define MAX_NESTING 16

/* ---------------------------------------------------------------------- */
/* Encoding, into a buffer owned by a userdata so that a Lua error (out of */
/* memory) in the middle frees it.                                         */
/* ---------------------------------------------------------------------- */

#define OBUF_META "cairn.cmsgpack.buf"

typedef struct obuf {
    lua_State *L;
    char *p;
    size_t len, cap;
} obuf;

static int obuf_gc(lua_State *L)
{
    obuf *o = lua_touserdata(L, 1);
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (o->p) f(ud, o->p, o->cap, 0);
    o->p = NULL;
    return 0;
}

static void put(obuf *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n)
            cap *= 2;
        void *ud;
        lua_Alloc f = lua_getallocf(o->L, &ud);
        char *np = f(ud, o->p, o->cap, cap);
        if (!np) luaL_error(o->L, "not enough memory");
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void put_byte(obuf *o, unsigned char c) { put(o, &c, 1); }

static void put_head(obuf *o, unsigned char tag, uint64_t v, int bytes)
{
    unsigned char b[9];
    b[0] = tag;
    for (int i = 0; i < bytes; i++)
        b[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    put(o, b, (size_t)bytes + 1);
}

static void encode_integer(obuf *o, int64_t n)
{
    if (n >= 0) {
        if (n <= 127)
            put_byte(o, (unsigned char)n);
        else if (n <= 0xff)
            put_head(o, 0xcc, (uint64_t)n, 1);
        else if (n <= 0xffff)
            put_head(o, 0xcd, (uint64_t)n, 2);
        else if (n <= 0xffffffffLL)
            put_head(o, 0xce, (uint64_t)n, 4);
        else
            put_head(o, 0xcf, (uint64_t)n, 8);
    } else {
        if (n >= -32)
            put_byte(o, (unsigned char)(int8_t)n);
        else if (n >= -128)
            put_head(o, 0xd0, (uint64_t)n, 1);
        else if (n >= -32768)
            put_head(o, 0xd1, (uint64_t)n, 2);
        else if (n >= -2147483648LL)
            put_head(o, 0xd2, (uint64_t)n, 4);
        else
            put_head(o, 0xd3, (uint64_t)n, 8);
    }
}

static void encode_number(obuf *o, lua_Number n)
{
    if (n >= -9223372036854775808.0 && n < 9223372036854775808.0 && n == (lua_Number)(int64_t)n) {
        encode_integer(o, (int64_t)n);
    } else if (n == (lua_Number)(float)n) {
        float f = (float)n;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_head(o, 0xca, bits, 4);
    } else {
        double d = n;
        uint64_t bits;
        memcpy(&bits, &d, 8);
        put_head(o, 0xcb, bits, 8);
    }
}

static void encode_string(obuf *o, const char *s, size_t len)
{
    if (len < 32)
        put_byte(o, (unsigned char)(0xa0 | len));
    else if (len <= 0xff)
        put_head(o, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_head(o, 0xda, len, 2);
    else
        put_head(o, 0xdb, len, 4);
    put(o, s, len);
}

/* Whether the table at the top has exactly the keys 1..n. */
static int table_is_array(lua_State *L, size_t *n)
{
    size_t count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_Number k = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || k <= 0 || k != floor(k)) {
            lua_pop(L, 1);
            return 0;
        }
        if ((size_t)k > max) max = (size_t)k;
        count++;
    }
    *n = count;
    return max == count;
}

static void encode_value(lua_State *L, obuf *o, int level);

static void encode_table(lua_State *L, obuf *o, int level)
{
    size_t n;
    if (table_is_array(L, &n)) {
        if (n <= 15)
            put_byte(o, (unsigned char)(0x90 | n));
        else if (n <= 0xffff)
            put_head(o, 0xdc, n, 2);
        else
            put_head(o, 0xdd, n, 4);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (int)i);
            encode_value(L, o, level + 1);
        }
        return;
    }
    n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        n++;
    }
    if (n <= 15)
        put_byte(o, (unsigned char)(0x80 | n));
    else if (n <= 0xffff)
        put_head(o, 0xde, n, 2);
    else
        put_head(o, 0xdf, n, 4);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        encode_value(L, o, level + 1); /* the key */
        encode_value(L, o, level + 1); /* the value */
    }
}

/* Encode and pop the value at the top of the stack. */
static void encode_value(lua_State *L, obuf *o, int level)
{
    if (!lua_checkstack(L, 4)) luaL_error(L, "stack overflow");
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        encode_string(o, s, len);
        break;
    }
    case LUA_TBOOLEAN: put_byte(o, lua_toboolean(L, -1) ? 0xc3 : 0xc2); break;
    case LUA_TNUMBER: encode_number(o, lua_tonumber(L, -1)); break;
    case LUA_TTABLE:
        if (level < MAX_NESTING) {
            encode_table(L, o, level);
            break;
        }
        put_byte(o, 0xc0);
        break;
    default: put_byte(o, 0xc0); break;
    }
    lua_pop(L, 1);
}

static int mp_pack(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    obuf *o = lua_newuserdata(L, sizeof(obuf));
    *o = (obuf){L, NULL, 0, 0};
    luaL_getmetatable(L, OBUF_META);
    lua_setmetatable(L, -2);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, i);
        encode_value(L, o, 0);
    }
    lua_pushlstring(L, o->p ? o->p : "", o->len);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Decoding                                                                */
/* ---------------------------------------------------------------------- */

typedef struct ibuf {
    const unsigned char *p;
    size_t left;
    int err; /* 1: missing bytes, 2: bad format */
} ibuf;

static uint64_t get_be(ibuf *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | in->p[i];
    in->p += bytes;
    in->left -= (size_t)bytes;
    return v;
}

static int need(ibuf *in, size_t n)
{
    if (in->left < n) {
        in->err = 1;
        return 0;
    }
    return 1;
}

static void decode_value(lua_State *L, ibuf *in);

static void decode_string(lua_State *L, ibuf *in, size_t len)
{
    if (!need(in, len)) return;
    lua_pushlstring(L, (const char *)in->p, len);
    in->p += len;
    in->left -= len;
}

static void decode_array(lua_State *L, ibuf *in, uint64_t n)
{
    lua_newtable(L);
    for (uint64_t i = 1; i <= n && !in->err; i++) {
        decode_value(L, in);
        if (in->err) return;
        lua_rawseti(L, -2, (int)i);
    }
}

static void decode_map(lua_State *L, ibuf *in, uint64_t n)
{
    lua_newtable(L);
    for (uint64_t i = 0; i < n && !in->err; i++) {
        decode_value(L, in); /* key */
        if (in->err) return;
        decode_value(L, in); /* value */
        if (in->err) return;
        if (lua_isnil(L, -2)) {
            lua_pop(L, 2); /* a nil key cannot be stored */
            continue;
        }
        lua_rawset(L, -3);
    }
}

/* Sizes of the fixed-size formats 0xc4..0xdf after their tag. */
static void decode_value(lua_State *L, ibuf *in)
{
    if (!lua_checkstack(L, 4)) luaL_error(L, "stack overflow");
    if (!need(in, 1)) return;
    unsigned char c = *in->p++;
    in->left--;
    if (c <= 0x7f) {
        lua_pushnumber(L, c);
        return;
    }
    if (c >= 0xe0) {
        lua_pushnumber(L, (int8_t)c);
        return;
    }
    if ((c & 0xe0) == 0xa0) return decode_string(L, in, c & 0x1f);
    if ((c & 0xf0) == 0x90) return decode_array(L, in, c & 0x0f);
    if ((c & 0xf0) == 0x80) return decode_map(L, in, c & 0x0f);
    static const signed char sizes[32] = {
        /* c0 */ 0, -1, 0, 0, 1,  2,  4,  -1, -1, -1, 4, 8, 1, 2, 4, 8,
        /* d0 */ 1, 2,  4, 8, -1, -1, -1, -1, -1, 1,  2, 4, 2, 4, 2, 4,
    };
    int sz = sizes[c - 0xc0];
    if (sz < 0) {
        in->err = 2;
        return;
    }
    if (!need(in, (size_t)sz)) return;
    uint64_t v = get_be(in, sz);
    switch (c) {
    case 0xc0: lua_pushnil(L); break;
    case 0xc2:
    case 0xc3: lua_pushboolean(L, c == 0xc3); break;
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd9:
    case 0xda:
    case 0xdb: decode_string(L, in, v); break;
    case 0xca: {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, 4);
        lua_pushnumber(L, f);
        break;
    }
    case 0xcb: {
        double d;
        memcpy(&d, &v, 8);
        lua_pushnumber(L, d);
        break;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: lua_pushnumber(L, (lua_Number)v); break;
    case 0xd0: lua_pushnumber(L, (int8_t)v); break;
    case 0xd1: lua_pushnumber(L, (int16_t)v); break;
    case 0xd2: lua_pushnumber(L, (int32_t)v); break;
    case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)v); break;
    case 0xdc:
    case 0xdd: decode_array(L, in, v); break;
    case 0xde:
    case 0xdf: decode_map(L, in, v); break;
    }
}

/* Decode up to limit (0: all) objects of the string argument 1 from
 * byte offset; pushes them and returns how many, with the offset of what
 * follows (-1 at the end) in *next. */
static int decode_many(lua_State *L, int limit, size_t offset, long long *next)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    ibuf in = {(const unsigned char *)s + offset, len - offset, 0};
    int n = 0;
    while (in.left > 0 && (limit == 0 || n < limit)) {
        decode_value(L, &in);
        if (in.err == 1) return luaL_error(L, "Missing bytes in input.");
        if (in.err == 2) return luaL_error(L, "Bad data format in input.");
        n++;
    }
    *next = in.left > 0 ? (long long)(len - in.left) : -1;
    return n;
}

static int mp_unpack(lua_State *L)
{
    long long next;
    lua_settop(L, 1);
    return decode_many(L, 0, 0, &next);
}

static int unpack_limited(lua_State *L, int limit, int offset_arg)
{
    long long next;
    int offset = luaL_optint(L, offset_arg, 0);
    if (offset < 0) return luaL_error(L, "Offset can not be negative");
    lua_settop(L, 1);
    lua_pushnil(L); /* the slot of the next offset */
    int n = decode_many(L, limit, (size_t)offset, &next);
    lua_pushnumber(L, (lua_Number)next);
    lua_replace(L, 2);
    return n + 1;
}

static int mp_unpack_one(lua_State *L) { return unpack_limited(L, 1, 2); }

static int mp_unpack_limit(lua_State *L)
{
    int limit = luaL_checkint(L, 2);
    if (limit < 0) return luaL_error(L, "Limit can not be negative");
    lua_remove(L, 2); /* offset becomes argument 2 */
    return unpack_limited(L, limit, 2);
}

int luaopen_cmsgpack(lua_State *L)
{
    luaL_newmetatable(L, OBUF_META);
    lua_pushcfunction(L, obuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"pack", mp_pack},
        {"unpack", mp_unpack},
        {"unpack_one", mp_unpack_one},
        {"unpack_limit", mp_unpack_limit},
        {NULL, NULL},
    };
    luaL_register(L, "cmsgpack", fns);
    lua_pushliteral(L, "lua-cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "0.4.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
