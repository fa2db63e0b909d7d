/* function.c -- function libraries: loading, the registry, deletion; see
 * function.h. */
#include "function.h"

#include <lauxlib.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/dict.h"
#include "../ds/splitargs.h"
#include "../ds/util.h"

/* Registry slots of the interpreter. */
#define REG_FN_LOADAPI "cairn.fn.loadapi" /* the globals a library's top level sees */
#define REG_FN_ENV     "cairn.fn.env"     /* the environment of every library */
#define REG_FN_PENDING "cairn.fn.pending" /* callbacks of the library being loaded */

/* A library's top level may run this long before FUNCTION LOAD gives up,
 * as Redis's load timeout. */
#define LOAD_TIMEOUT_NS (500LL * 1000 * 1000)

struct fn_registry {
    fn_lib **libs;
    int nlibs;
    long nfuncs;
    dict *funcs; /* lower-case name -> fn_func */
    /* The library being loaded (register_function adds to it), and when
     * its load started on the engine's clock (0: no clock). */
    fn_lib *loading;
    int64_t load_start_ns;
};

static void lib_free(fn_lib *lib)
{
    if (!lib) return;
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr_free(lib->funcs[i].name);
        dstr_free(lib->funcs[i].desc);
    }
    cm_free(lib->funcs);
    dstr_free(lib->name);
    dstr_free(lib->code);
    cm_free(lib);
}

static dstr lower_key(const char *name, size_t len)
{
    dstr k = dstr_new(name, len);
    ascii_case_copy(k, len + 1, name, len, 0);
    return k;
}

/* ---------------------------------------------------------------------- */
/* redis.register_function                                                 */
/* ---------------------------------------------------------------------- */

static int valid_name(const char *s, size_t len)
{
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z')))
            return 0;
    }
    return 1;
}

#define NAME_RULE                                                                                  \
    "Library names can only contain letters, numbers, or underscores(_) and must be at least "     \
    "one character long"

/* The flags table at idx: 0, or -1 if one is not a known flag. */
static int read_flags(lua_State *L, int idx, int *flags)
{
    *flags = 0;
    for (int i = 1;; i++) {
        lua_rawgeti(L, idx, i);
        if (lua_isnil(L, -1)) break;
        size_t len;
        const char *s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &len) : NULL;
        int f = s ? script_flag_named(s, len) : 0;
        lua_pop(L, 1);
        if (!f) return -1;
        *flags |= f;
    }
    lua_pop(L, 1);
    return 0;
}

typedef struct reg_args {
    const char *name, *desc;
    size_t name_len, desc_len;
    int callback; /* stack index of the callback, 0: none */
    int flags;
} reg_args;

/* redis.register_function{function_name=..., callback=..., flags=...,
 * description=...}: fills a, or returns Redis's error message. */
static const char *read_named_args(lua_State *L, reg_args *a)
{
    if (!lua_istable(L, 1))
        return "calling redis.register_function with a single argument is only applicable to Lua "
               "table (representing named arguments).";
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return "named argument key given to redis.register_function is not a string";
        const char *key = lua_tostring(L, -2);
        int v = lua_gettop(L);
        if (!strcasecmp(key, "function_name")) {
            if (lua_type(L, v) != LUA_TSTRING)
                return "function_name argument given to redis.register_function must be a string";
            a->name = lua_tolstring(L, v, &a->name_len);
        } else if (!strcasecmp(key, "description")) {
            if (lua_type(L, v) != LUA_TSTRING)
                return "description argument given to redis.register_function must be a string";
            a->desc = lua_tolstring(L, v, &a->desc_len);
        } else if (!strcasecmp(key, "callback")) {
            if (!lua_isfunction(L, v))
                return "callback argument given to redis.register_function must be a function";
            lua_pushvalue(L, v);
            lua_replace(L, 2); /* kept where the positional form has it */
            a->callback = 2;
        } else if (!strcasecmp(key, "flags")) {
            if (!lua_istable(L, v))
                return "flags argument to redis.register_function must be a table representing "
                       "function flags";
            if (read_flags(L, v, &a->flags) < 0) return "unknown flag given";
        } else {
            return "unknown argument given to redis.register_function";
        }
        lua_pop(L, 1);
    }
    if (!a->name) return "redis.register_function must get a function name argument";
    if (!a->callback) return "redis.register_function must get a callback argument";
    return NULL;
}

static const char *read_args(lua_State *L, reg_args *a)
{
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2) return "wrong number of arguments to redis.register_function";
    if (argc == 1) {
        lua_settop(L, 2); /* room for the callback at index 2 */
        return read_named_args(L, a);
    }
    if (lua_type(L, 1) != LUA_TSTRING)
        return "first argument to redis.register_function must be a string";
    if (!lua_isfunction(L, 2))
        return "second argument to redis.register_function must be a function";
    a->name = lua_tolstring(L, 1, &a->name_len);
    a->callback = 2;
    return NULL;
}

static int lib_has(const fn_lib *lib, const char *name, size_t len)
{
    for (int i = 0; i < lib->nfuncs; i++)
        if (dstr_len(lib->funcs[i].name) == len && !strncasecmp(lib->funcs[i].name, name, len))
            return 1;
    return 0;
}

static int register_function(lua_State *L)
{
    script_engine *se = lua_touserdata(L, lua_upvalueindex(1));
    fn_lib *lib = se->fn ? se->fn->loading : NULL;
    if (!lib)
        return script_raise(L,
                            "redis.register_function can only be called on FUNCTION LOAD command");
    reg_args a = {0};
    const char *err = read_args(L, &a);
    if (!err && !valid_name(a.name, a.name_len)) err = NAME_RULE;
    if (!err && lib_has(lib, a.name, a.name_len)) err = "Function already exists in the library";
    if (err) return script_raise(L, err);

    lib->funcs = cm_realloc(lib->funcs, sizeof(fn_func) * (size_t)(lib->nfuncs + 1));
    lib->funcs[lib->nfuncs++] = (fn_func){
        .name = dstr_new(a.name, a.name_len),
        .desc = a.desc ? dstr_new(a.desc, a.desc_len) : NULL,
        .flags = a.flags,
    };
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_PENDING);
    dstr key = lower_key(a.name, a.name_len);
    lua_pushlstring(L, key, dstr_len(key));
    dstr_free(key);
    lua_pushvalue(L, a.callback);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The registry and the environments                                       */
/* ---------------------------------------------------------------------- */

static void copy_field(lua_State *L, const char *name)
{
    lua_getfield(L, -2, name); /* from the real redis table */
    lua_setfield(L, -2, name);
}

/* What a library's top level sees: `redis` with register_function, log,
 * the LOG_ levels and the version, and nothing else, every other name an
 * error, as Redis 7.0 has it. */
static void make_load_api(lua_State *L, script_engine *se)
{
    lua_getglobal(L, "redis");
    lua_newtable(L);
    lua_pushlightuserdata(L, se);
    lua_pushcclosure(L, register_function, 1);
    lua_setfield(L, -2, "register_function");
    static const char *const fields[] = {
        "log",         "LOG_DEBUG",     "LOG_VERBOSE",      "LOG_NOTICE",
        "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        copy_field(L, fields[i]);
    script_make_readonly(L, 1);
    lua_remove(L, -2);
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, "redis");
    script_make_readonly(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_LOADAPI);
}

/* The environment of every library: reads go to the load API while a
 * library loads, to the read-only globals otherwise; writes fail. */
static void make_env(lua_State *L)
{
    lua_newtable(L);
    script_make_readonly(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_ENV);
}

/* Point the environment's reads at the load API (loading) or the
 * globals. */
static void env_reads(lua_State *L, int loading)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_ENV);
    lua_getmetatable(L, -1);
    if (loading)
        lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_LOADAPI);
    else
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

static struct fn_registry *registry(script_engine *se)
{
    if (se->fn) return se->fn;
    struct fn_registry *r = cm_calloc(1, sizeof(*r));
    r->funcs = dict_create(se->e->hash_seed, NULL, 0);
    se->fn = r;
    make_load_api(se->L, se);
    make_env(se->L);
    lua_newtable(se->L);
    lua_setfield(se->L, LUA_REGISTRYINDEX, SCRIPT_REG_FUNCTIONS);
    return r;
}

void function_registry_free(script_engine *se)
{
    struct fn_registry *r = se->fn;
    if (!r) return;
    for (int i = 0; i < r->nlibs; i++)
        lib_free(r->libs[i]);
    cm_free(r->libs);
    lib_free(r->loading);
    dict_release(r->funcs);
    cm_free(r);
    se->fn = NULL;
}

/* Set or clear (fn NULL) the callback of the function named key. */
static void set_callback(lua_State *L, const char *key, size_t len, int from_pending)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_REG_FUNCTIONS);
    lua_pushlstring(L, key, len);
    if (from_pending) {
        lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_PENDING);
        lua_pushlstring(L, key, len);
        lua_rawget(L, -2);
        lua_remove(L, -2);
    } else {
        lua_pushnil(L);
    }
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static void unlink_lib(script_engine *se, int at)
{
    struct fn_registry *r = se->fn;
    fn_lib *lib = r->libs[at];
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr key = lower_key(lib->funcs[i].name, dstr_len(lib->funcs[i].name));
        dict_delete(r->funcs, key, dstr_len(key));
        set_callback(se->L, key, dstr_len(key), 0);
        dstr_free(key);
    }
    r->nfuncs -= lib->nfuncs;
    lib_free(lib);
    memmove(r->libs + at, r->libs + at + 1, sizeof(*r->libs) * (size_t)(r->nlibs - at - 1));
    r->nlibs--;
}

static int find_lib(const struct fn_registry *r, const char *name, size_t len)
{
    for (int i = 0; i < r->nlibs; i++)
        if (dstr_len(r->libs[i]->name) == len && memcmp(r->libs[i]->name, name, len) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */
/* ---------------------------------------------------------------------- */

/* "#!<engine> name=<library>" as Redis's functionExtractLibMetaData:
 * *name gets the library's name and *skip the length of the line (its
 * newline kept, so line numbers stay the user's). */
static const char *parse_metadata(const char *code, size_t len, dstr *name, size_t *skip, char *err,
                                  size_t errsize)
{
    if (len < 2 || code[0] != '#' || code[1] != '!') return "Missing library metadata";
    const char *nl = memchr(code, '\n', len);
    if (!nl) return "Invalid library metadata";
    *skip = (size_t)(nl - code);
    dstr line = dstr_new(code + 2, *skip - 2);
    size_t pos = 0, off, alen;
    const char *msg = NULL;
    dstr engine = NULL;
    int r;
    while (!msg && (r = split_next_arg(line, &pos, dstr_len(line), &off, &alen)) > 0) {
        const char *part = line + off;
        if (!engine) {
            engine = dstr_new(part, alen);
        } else if (alen < 5 || strncasecmp(part, "name=", 5) != 0) {
            snprintf(err, errsize, "Invalid metadata value given: %.*s", (int)alen, part);
            msg = err;
        } else if (*name) {
            msg = "Invalid metadata value, name argument was given multiple times";
        } else {
            *name = dstr_new(part + 5, alen - 5);
        }
    }
    if (!msg && (r < 0 || !engine)) msg = "Invalid library metadata";
    if (!msg && !*name) msg = "Library name was not given";
    if (!msg && strcasecmp(engine, "lua") != 0) {
        snprintf(err, errsize, "Engine '%s' not found", engine);
        msg = err;
    }
    dstr_free(engine);
    dstr_free(line);
    return msg;
}

/* Stop a library's top level that runs too long. */
static void load_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    void *ud;
    lua_getallocf(L, &ud);
    script_engine *se = ud;
    cairn_engine *e = se->e;
    if (!se->fn || !se->fn->loading || !e->mono_ns || !se->fn->load_start_ns) return;
    if (e->mono_ns() - se->fn->load_start_ns > LOAD_TIMEOUT_NS)
        script_raise(L, "FUNCTION LOAD timeout");
}

/* Run the library's code so that it registers its functions into
 * r->loading.  Returns 0, or -1 with Redis's message in err. */
static int run_library(script_engine *se, const char *body, size_t len, char *err, size_t errsize)
{
    lua_State *L = se->L;
    struct fn_registry *r = se->fn;
    if (luaL_loadbuffer(L, body, len, "@user_function")) {
        snprintf(err, errsize, "Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_ENV);
    lua_setfenv(L, -2);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_PENDING);
    env_reads(L, 1);
    r->load_start_ns = se->e->mono_ns ? se->e->mono_ns() : 0;
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int failed = lua_pcall(L, 0, 0, 0);
    script_restore_hook(se);
    env_reads(L, 0);
    if (!failed) return 0;
    const char *msg = NULL;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "err");
        msg = lua_tostring(L, -1);
        snprintf(err, errsize, "Error registering functions: %s", msg ? msg : "unknown error");
        lua_pop(L, 1);
    } else {
        msg = lua_tostring(L, -1);
        snprintf(err, errsize, "Error registering functions: ERR %s", msg ? msg : "unknown error");
    }
    lua_pop(L, 1);
    return -1;
}

/* A function of lib that another library than `except` (-1: none) has. */
static const fn_func *conflict(struct fn_registry *r, const fn_lib *lib, int except)
{
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr key = lower_key(lib->funcs[i].name, dstr_len(lib->funcs[i].name));
        dict_entry *de = dict_find(r->funcs, key, dstr_len(key));
        dstr_free(key);
        if (!de) continue;
        if (except >= 0 &&
            lib_has(r->libs[except], lib->funcs[i].name, dstr_len(lib->funcs[i].name)))
            continue;
        return &lib->funcs[i];
    }
    return NULL;
}

static void link_lib(script_engine *se, fn_lib *lib)
{
    struct fn_registry *r = se->fn;
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr key = lower_key(lib->funcs[i].name, dstr_len(lib->funcs[i].name));
        set_callback(se->L, key, dstr_len(key), 1);
        dict_add(r->funcs, key, NULL)->v.ptr = &lib->funcs[i]; /* takes key */
    }
    r->nfuncs += lib->nfuncs;
    r->libs = cm_realloc(r->libs, sizeof(*r->libs) * (size_t)(r->nlibs + 1));
    r->libs[r->nlibs++] = lib;
}

const fn_lib *function_load(script_engine *se, const char *code, size_t len, int mode, char *err,
                            size_t errsize)
{
    struct fn_registry *r = registry(se);
    dstr name = NULL;
    size_t skip = 0;
    const char *msg = parse_metadata(code, len, &name, &skip, err, errsize);
    if (!msg && !valid_name(name, dstr_len(name))) msg = NAME_RULE;
    int old = msg ? -1 : find_lib(r, name, dstr_len(name));
    if (!msg && old >= 0 && mode != FN_REPLACE) {
        snprintf(err, errsize, "Library '%s' already exists", name);
        msg = err;
    }
    if (msg) {
        if (msg != err) snprintf(err, errsize, "%s", msg);
        dstr_free(name);
        return NULL;
    }

    fn_lib *lib = cm_calloc(1, sizeof(*lib));
    lib->name = name;
    lib->code = dstr_new(code, len);
    r->loading = lib;
    int rc = run_library(se, code + skip, len - skip, err, errsize);
    r->loading = NULL;
    const fn_func *clash = rc == 0 ? conflict(r, lib, old) : NULL;
    if (rc == 0 && lib->nfuncs == 0) {
        snprintf(err, errsize, "No functions registered");
        rc = -1;
    } else if (clash) {
        snprintf(err, errsize, "Function %s already exists", clash->name);
        rc = -1;
    }
    if (rc == 0 && old >= 0) unlink_lib(se, old);
    if (rc == 0) link_lib(se, lib);
    lua_pushnil(se->L);
    lua_setfield(se->L, LUA_REGISTRYINDEX, REG_FN_PENDING);
    if (rc != 0) {
        lib_free(lib);
        lua_gc(se->L, LUA_GCCOLLECT, 0);
        return NULL;
    }
    return lib;
}

int function_delete(script_engine *se, const char *name, size_t len)
{
    struct fn_registry *r = registry(se);
    int at = find_lib(r, name, len);
    if (at < 0) return -1;
    unlink_lib(se, at);
    lua_gc(se->L, LUA_GCCOLLECT, 0);
    return 0;
}

void function_flush(script_engine *se)
{
    struct fn_registry *r = registry(se);
    while (r->nlibs)
        unlink_lib(se, r->nlibs - 1);
    lua_gc(se->L, LUA_GCCOLLECT, 0);
}

const fn_func *function_find(script_engine *se, const char *name, size_t len)
{
    if (!se->fn) return NULL;
    dstr key = lower_key(name, len);
    dict_entry *de = dict_find(se->fn->funcs, key, dstr_len(key));
    dstr_free(key);
    return de ? de->v.ptr : NULL;
}

const fn_lib *const *function_libraries(script_engine *se, int *n)
{
    *n = se->fn ? se->fn->nlibs : 0;
    return se->fn ? (const fn_lib *const *)se->fn->libs : NULL;
}

long function_count(script_engine *se) { return se->fn ? se->fn->nfuncs : 0; }
