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

static void lib_free(lua_State *L, fn_lib *lib)
{
    if (!lib) return;
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr_free(lib->funcs[i].name);
        dstr_free(lib->funcs[i].desc);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, lib->callbacks);
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

/* The function of lib named exactly name, or NULL: a library's own
 * names are told apart by case, as Redis's library dictionary does. */
static const fn_func *lib_func(const fn_lib *lib, const char *name, size_t len)
{
    for (int i = 0; i < lib->nfuncs; i++)
        if (dstr_len(lib->funcs[i].name) == len && !memcmp(lib->funcs[i].name, name, len))
            return &lib->funcs[i];
    return NULL;
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
    if (!err && lib_func(lib, a.name, a.name_len)) err = "Function already exists in the library";
    if (err) return script_raise(L, err);

    lib->funcs = cm_realloc(lib->funcs, sizeof(fn_func) * (size_t)(lib->nfuncs + 1));
    lib->funcs[lib->nfuncs++] = (fn_func){
        .lib = lib,
        .name = dstr_new(a.name, a.name_len),
        .desc = a.desc ? dstr_new(a.desc, a.desc_len) : NULL,
        .flags = a.flags,
    };
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_PENDING);
    lua_pushlstring(L, a.name, a.name_len);
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
        lib_free(se->L, r->libs[i]);
    cm_free(r->libs);
    lib_free(se->L, r->loading);
    dict_release(r->funcs);
    cm_free(r);
    se->fn = NULL;
}

/* Make the function f callable (its callback from the library's table)
 * or not (link 0). */
static void set_callback(lua_State *L, const fn_func *f, int link)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_REG_FUNCTIONS);
    lua_pushlstring(L, f->name, dstr_len(f->name));
    if (link) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->lib->callbacks);
        lua_pushlstring(L, f->name, dstr_len(f->name));
        lua_rawget(L, -2);
        lua_remove(L, -2);
    } else {
        lua_pushnil(L);
    }
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int find_lib(const struct fn_registry *r, const char *name, size_t len)
{
    for (int i = 0; i < r->nlibs; i++)
        if (dstr_len(r->libs[i]->name) == len && memcmp(r->libs[i]->name, name, len) == 0) return i;
    return -1;
}

/* Take lib out of the registry (and free it). */
static void unlink_lib(script_engine *se, const fn_lib *lib)
{
    struct fn_registry *r = se->fn;
    int at = 0;
    while (r->libs[at] != lib)
        at++;
    for (int i = 0; i < lib->nfuncs; i++) {
        const fn_func *f = &lib->funcs[i];
        dstr key = lower_key(f->name, dstr_len(f->name));
        dict_entry *de = dict_find(r->funcs, key, dstr_len(key));
        if (de && de->v.ptr == f) dict_delete(r->funcs, key, dstr_len(key));
        set_callback(se->L, f, 0);
        dstr_free(key);
    }
    r->nfuncs -= lib->nfuncs;
    lib_free(se->L, r->libs[at]);
    memmove(r->libs + at, r->libs + at + 1, sizeof(*r->libs) * (size_t)(r->nlibs - at - 1));
    r->nlibs--;
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
    /* The engine is the first word less its "#!": "#! name=x" names none. */
    dstr line = dstr_new(code, *skip);
    size_t pos = 0, off, alen;
    const char *msg = NULL;
    dstr engine = NULL;
    int r;
    while (!msg && (r = split_next_arg(line, &pos, dstr_len(line), &off, &alen)) > 0) {
        const char *part = line + off;
        if (!engine) {
            engine = alen >= 2 ? dstr_new(part + 2, alen - 2) : dstr_new("", 0);
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
    locale_t old_locale = uselocale(c_locale());
    int failed_compile = luaL_loadbuffer(L, body, len, "@user_function");
    uselocale(old_locale);
    if (failed_compile) {
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
    locale_t old = uselocale(c_locale()); /* as script_run */
    int failed = lua_pcall(L, 0, 0, 0);
    uselocale(old);
    script_restore_hook(se);
    env_reads(L, 0);
    if (!failed) {
        lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_PENDING);
        r->loading->callbacks = luaL_ref(L, LUA_REGISTRYINDEX);
        return 0;
    }
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

/* A function of lib that a linked library not in skip (n of them) has,
 * names compared without regard to case. */
static const fn_func *conflict(struct fn_registry *r, const fn_lib *lib, fn_lib *const *skip, int n)
{
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr key = lower_key(lib->funcs[i].name, dstr_len(lib->funcs[i].name));
        dict_entry *de = dict_find(r->funcs, key, dstr_len(key));
        dstr_free(key);
        if (!de) continue;
        const fn_lib *owner = ((const fn_func *)de->v.ptr)->lib;
        int skipped = 0;
        for (int k = 0; k < n && !skipped; k++)
            skipped = skip[k] == owner;
        if (!skipped) return &lib->funcs[i];
    }
    return NULL;
}

/* The same among the n staged libraries of a FUNCTION RESTORE. */
static const fn_func *conflict_staged(const fn_lib *lib, fn_lib *const *staged, int n)
{
    for (int i = 0; i < lib->nfuncs; i++)
        for (int k = 0; k < n; k++)
            for (int j = 0; j < staged[k]->nfuncs; j++)
                if (dstr_len(staged[k]->funcs[j].name) == dstr_len(lib->funcs[i].name) &&
                    !strncasecmp(staged[k]->funcs[j].name, lib->funcs[i].name,
                                 dstr_len(lib->funcs[i].name)))
                    return &lib->funcs[i];
    return NULL;
}

/* Make lib's functions callable; the first of a name (without regard to
 * case) is what the name finds. */
static void link_lib(script_engine *se, fn_lib *lib)
{
    struct fn_registry *r = se->fn;
    for (int i = 0; i < lib->nfuncs; i++) {
        fn_func *f = &lib->funcs[i];
        set_callback(se->L, f, 1);
        dstr key = lower_key(f->name, dstr_len(f->name));
        dict_entry *de = dict_add(r->funcs, key, NULL);
        if (de)
            de->v.ptr = f; /* takes key */
        else
            dstr_free(key);
    }
    luaL_unref(se->L, LUA_REGISTRYINDEX, lib->callbacks);
    lib->callbacks = LUA_NOREF;
    r->nfuncs += lib->nfuncs;
    r->libs = cm_realloc(r->libs, sizeof(*r->libs) * (size_t)(r->nlibs + 1));
    r->libs[r->nlibs++] = lib;
}

/* Read code's metadata and run it into a new library that is not linked
 * yet.  A library of its name in have (n of them) is an error unless
 * *replaced may take it (set to the one replaced).  Returns the library,
 * or NULL with Redis's message in err. */
static fn_lib *stage(script_engine *se, const char *code, size_t len, fn_lib *const *have, int n,
                     const fn_lib **replaced, char *err, size_t errsize)
{
    struct fn_registry *r = se->fn;
    dstr name = NULL;
    size_t skip = 0;
    const char *msg = parse_metadata(code, len, &name, &skip, err, errsize);
    if (!msg && !valid_name(name, dstr_len(name))) msg = NAME_RULE;
    for (int i = 0; !msg && i < n; i++) {
        if (dstr_len(have[i]->name) != dstr_len(name) ||
            memcmp(have[i]->name, name, dstr_len(name)) != 0)
            continue;
        if (replaced) {
            *replaced = have[i];
        } else {
            snprintf(err, errsize, "Library '%s' already exists", name);
            msg = err;
        }
    }
    if (msg) {
        if (msg != err) snprintf(err, errsize, "%s", msg);
        dstr_free(name);
        return NULL;
    }
    fn_lib *lib = cm_calloc(1, sizeof(*lib));
    lib->name = name;
    lib->code = dstr_new(code, len);
    lib->callbacks = LUA_NOREF;
    r->loading = lib;
    int rc = run_library(se, code + skip, len - skip, err, errsize);
    r->loading = NULL;
    lua_pushnil(se->L);
    lua_setfield(se->L, LUA_REGISTRYINDEX, REG_FN_PENDING);
    if (rc == 0 && lib->nfuncs == 0) {
        snprintf(err, errsize, "No functions registered");
        rc = -1;
    }
    if (rc != 0) {
        lib_free(se->L, lib);
        lua_gc(se->L, LUA_GCCOLLECT, 0);
        return NULL;
    }
    return lib;
}

const fn_lib *function_load(script_engine *se, const char *code, size_t len, int mode, char *err,
                            size_t errsize)
{
    struct fn_registry *r = registry(se);
    const fn_lib *old = NULL;
    fn_lib *lib =
        stage(se, code, len, r->libs, r->nlibs, mode == FN_REPLACE ? &old : NULL, err, errsize);
    if (!lib) return NULL;
    fn_lib *skip = (fn_lib *)old;
    const fn_func *clash = conflict(r, lib, &skip, old ? 1 : 0);
    if (clash) {
        snprintf(err, errsize, "Function %s already exists", clash->name);
        lib_free(se->L, lib);
        lua_gc(se->L, LUA_GCCOLLECT, 0);
        return NULL;
    }
    if (old) unlink_lib(se, old);
    link_lib(se, lib);
    return lib;
}

/* FUNCTION RESTORE's checks against the linked libraries, as Redis's
 * libraryJoin: a library of the same name is an error unless replacing
 * (old[i] is then the one it replaces), and no function may clash with a
 * library that stays. */
static int join_check(struct fn_registry *r, fn_lib **staged, int n, int replace, fn_lib **old,
                      char *err, size_t errsize)
{
    int nold = 0;
    for (int i = 0; i < n; i++) {
        int at = find_lib(r, staged[i]->name, dstr_len(staged[i]->name));
        if (at < 0) continue;
        if (!replace) {
            snprintf(err, errsize, "Library %s already exists", staged[i]->name);
            return -1;
        }
        old[nold++] = r->libs[at];
    }
    for (int i = 0; i < n; i++) {
        const fn_func *clash = conflict(r, staged[i], old, nold);
        if (clash) {
            snprintf(err, errsize, "Function %s already exists", clash->name);
            return -1;
        }
    }
    return nold;
}

int function_restore(script_engine *se, const cslice *codes, int n, int policy, char *err,
                     size_t errsize)
{
    struct fn_registry *r = registry(se);
    fn_lib **staged = cm_calloc((size_t)n + 1, sizeof(*staged));
    fn_lib **old = cm_calloc((size_t)n + 1, sizeof(*old));
    int nstaged = 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        fn_lib *lib = stage(se, codes[i].ptr, codes[i].len, staged, nstaged, NULL, err, errsize);
        const fn_func *clash = lib ? conflict_staged(lib, staged, nstaged) : NULL;
        if (clash) {
            snprintf(err, errsize, "Function %s already exists", clash->name);
            lib_free(se->L, lib);
            lib = NULL;
        }
        if (lib)
            staged[nstaged++] = lib;
        else
            rc = -1;
    }
    int nold = 0;
    if (rc == 0 && policy != FN_RESTORE_FLUSH)
        rc = nold = join_check(r, staged, nstaged, policy == FN_RESTORE_REPLACE, old, err, errsize);
    if (rc >= 0) {
        if (policy == FN_RESTORE_FLUSH)
            while (r->nlibs)
                unlink_lib(se, r->libs[r->nlibs - 1]);
        for (int i = 0; i < nold; i++)
            unlink_lib(se, old[i]);
        for (int i = 0; i < nstaged; i++)
            link_lib(se, staged[i]);
        rc = 0;
    } else {
        for (int i = 0; i < nstaged; i++)
            lib_free(se->L, staged[i]);
    }
    cm_free(staged);
    cm_free(old);
    lua_gc(se->L, LUA_GCCOLLECT, 0);
    return rc < 0 ? -1 : 0;
}

int function_delete(script_engine *se, const char *name, size_t len)
{
    struct fn_registry *r = registry(se);
    int at = find_lib(r, name, len);
    if (at < 0) return -1;
    unlink_lib(se, r->libs[at]);
    lua_gc(se->L, LUA_GCCOLLECT, 0);
    return 0;
}

void function_flush(script_engine *se)
{
    struct fn_registry *r = registry(se);
    while (r->nlibs)
        unlink_lib(se, r->libs[r->nlibs - 1]);
    lua_gc(se->L, LUA_GCCOLLECT, 0);
}

const fn_func *function_find(script_engine *se, const char *name, size_t len)
{
    if (!se->fn) return NULL;
    dstr key = lower_key(name, len);
    dict_entry *de = dict_find(se->fn->funcs, key, dstr_len(key));
    dstr_free(key);
    if (!de) return NULL;
    const fn_func *f = de->v.ptr;
    const fn_func *exact = lib_func(f->lib, name, len);
    return exact ? exact : f;
}

const fn_lib *const *function_libraries(script_engine *se, int *n)
{
    *n = se->fn ? se->fn->nlibs : 0;
    return se->fn ? (const fn_lib *const *)se->fn->libs : NULL;
}

long function_count(script_engine *se) { return se->fn ? se->fn->nfuncs : 0; }
