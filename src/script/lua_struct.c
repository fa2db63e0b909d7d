/* lua_struct.c -- struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]) and
 * struct.size(fmt): binary packing with the format language of the struct
 * library Redis bundles (Roberto Ierusalimschy's struct 0.2):
 *
 *   >  <      big / little endian (default: the machine's, little here)
 *   ![n]      align fields to min(n, their size) (default n: 8; start: 1)
 *   b B h H l L T   signed/unsigned char, short, long, size_t
 *   i[n] I[n] signed/unsigned integer of n bytes (default 4, at most 32)
 *   f d       float, double
 *   x         a zero byte
 *   c[n]      n bytes of a string (c0 in pack: the whole string; in
 *             unpack: as many as the integer unpacked just before says)
 *   s         a zero-terminated string
 *   ' '       ignored */
#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "libs.h"

#define MAX_INT_SIZE 32
#define MAX_ALIGN    8

typedef struct fmt_state {
    int big; /* endianness */
    int align;
} fmt_state;

static int read_num(lua_State *L, const char **fmt, int dflt)
{
    if (!isdigit((unsigned char)**fmt)) return dflt;
    int a = 0;
    do {
        int d = *(*fmt)++ - '0';
        if (a > (INT_MAX - d) / 10) luaL_error(L, "integral size overflow");
        a = a * 10 + d;
    } while (isdigit((unsigned char)**fmt));
    return a;
}

static size_t opt_size(lua_State *L, char opt, const char **fmt)
{
    switch (opt) {
    case 'B':
    case 'b': return sizeof(char);
    case 'H':
    case 'h': return sizeof(short);
    case 'L':
    case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return (size_t)read_num(L, fmt, 1);
    case 'i':
    case 'I': {
        int sz = read_num(L, fmt, sizeof(int));
        if (sz > MAX_INT_SIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, MAX_INT_SIZE);
        return (size_t)sz;
    }
    default: return 0;
    }
}

static size_t to_align(size_t len, const fmt_state *h, char opt, size_t size)
{
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)h->align) size = (size_t)h->align;
    return (size - (len & (size - 1))) & (size - 1);
}

static void control(lua_State *L, char opt, const char **fmt, fmt_state *h)
{
    switch (opt) {
    case ' ': return;
    case '>': h->big = 1; return;
    case '<': h->big = 0; return;
    case '!': {
        int a = read_num(L, fmt, MAX_ALIGN);
        if (a <= 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default: luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

static int is_integer_opt(char opt) { return strchr("bBhHlLTiI", opt) != NULL && opt; }

static void put_integer(lua_State *L, luaL_Buffer *b, int arg, int big, size_t size)
{
    lua_Number n = luaL_checknumber(L, arg);
    uint64_t v = n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
    char buf[MAX_INT_SIZE];
    for (size_t i = 0; i < size; i++) {
        buf[big ? size - 1 - i : i] = (char)(v & 0xff);
        v = i < 7 ? v >> 8 : 0;
    }
    luaL_addlstring(b, buf, size);
}

/* Floats are stored in the machine's order (little endian) and reversed
 * for big endian. */
static void put_bytes(luaL_Buffer *b, const void *p, size_t size, int big)
{
    const char *s = p;
    for (size_t i = 0; i < size; i++)
        luaL_addchar(b, big ? s[size - 1 - i] : s[i]);
}

static int st_pack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    fmt_state h = {0, 1};
    int arg = 2;
    size_t total = 0;
    lua_pushnil(L); /* keeps the arguments apart from the buffer's pieces */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (*fmt) {
        char opt = *fmt++;
        size_t size = opt_size(L, opt, &fmt);
        size_t pad = to_align(total, &h, opt, size);
        total += pad;
        while (pad-- > 0)
            luaL_addchar(&b, '\0');
        if (is_integer_opt(opt)) {
            put_integer(L, &b, arg++, h.big, size);
        } else if (opt == 'x') {
            luaL_addchar(&b, '\0');
        } else if (opt == 'f') {
            float f = (float)luaL_checknumber(L, arg++);
            put_bytes(&b, &f, sizeof(f), h.big);
        } else if (opt == 'd') {
            double d = luaL_checknumber(L, arg++);
            put_bytes(&b, &d, sizeof(d), h.big);
        } else if (opt == 'c' || opt == 's') {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) size = l;
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
        } else {
            control(L, opt, &fmt, &h);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number get_integer(const unsigned char *p, int big, int is_signed, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v = v << 8 | p[big ? i : size - 1 - i];
    if (!is_signed) return (lua_Number)v;
    if (size < 8) {
        uint64_t sign = 1ULL << (size * 8 - 1);
        if (v & sign) v |= ~((sign << 1) - 1);
    }
    return (lua_Number)(int64_t)v;
}

static int st_unpack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    lua_Integer start = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, start > 0, 3, "offset must be 1 or greater");
    size_t pos = (size_t)start - 1;
    int n = 0;
    fmt_state h = {0, 1};
    while (*fmt) {
        char opt = *fmt++;
        size_t size = opt_size(L, opt, &fmt);
        pos += to_align(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        const unsigned char *p = (const unsigned char *)data + pos;
        if (is_integer_opt(opt)) {
            lua_pushnumber(L, get_integer(p, h.big, islower((unsigned char)opt), size));
            n++;
        } else if (opt == 'x') {
            /* padding */
        } else if (opt == 'f' || opt == 'd') {
            unsigned char buf[8];
            for (size_t i = 0; i < size; i++)
                buf[i] = h.big ? p[size - 1 - i] : p[i];
            if (opt == 'f') {
                float f;
                memcpy(&f, buf, sizeof(f));
                lua_pushnumber(L, f);
            } else {
                double d;
                memcpy(&d, buf, sizeof(d));
                lua_pushnumber(L, d);
            }
            n++;
        } else if (opt == 'c') {
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)lua_tonumber(L, -1);
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, (const char *)p, size);
            n++;
        } else if (opt == 's') {
            const char *e = memchr(p, '\0', ld - pos);
            if (!e) luaL_error(L, "unfinished string in data");
            size = (size_t)(e - (const char *)p) + 1;
            lua_pushlstring(L, (const char *)p, size - 1);
            n++;
        } else {
            control(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return n + 1;
}

static int st_size(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    fmt_state h = {0, 1};
    while (*fmt) {
        char opt = *fmt++;
        size_t size = opt_size(L, opt, &fmt);
        pos += to_align(pos, &h, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "options 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "options 'c0' has no fixed size");
        if (!isalnum((unsigned char)opt)) control(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int luaopen_struct(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pack", st_pack},
        {"unpack", st_unpack},
        {"size", st_size},
        {NULL, NULL},
    };
    luaL_register(L, "struct", fns);
    return 1;
}
