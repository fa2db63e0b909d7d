/* script.h -- the Lua host: one Lua 5.1 interpreter per engine, in which
 * EVAL scripts (and FUNCTION libraries) run.
 *
 * A script calls into the engine like a client: redis.call() runs a
 * command through the command table as the script's own session, with
 * the time and db of the EVAL that runs it, and reads the reply back from
 * the reply builder.  The writes it makes reach the log as themselves,
 * wrapped in one atomic unit (engine_atomic_begin/end): a script is never
 * run again from the log (DESIGN rule 4).
 *
 * The interpreter is sandboxed as Redis's is: the global table and the
 * libraries are read only, and only string, table, math, cjson, bit,
 * cmsgpack, struct and the redis API are there. */
#ifndef CAIRN_SCRIPT_H
#define CAIRN_SCRIPT_H

#include <lua.h>
#include <stdint.h>

#include "../engine/engine.h"

/* What a run may do, from EVAL_RO / FCALL_RO, shebang or function flags. */
enum {
    SCRIPT_NO_WRITES = 1 << 0,
    SCRIPT_ALLOW_OOM = 1 << 1,
    SCRIPT_ALLOW_STALE = 1 << 2,
    SCRIPT_NO_CLUSTER = 1 << 3,
    SCRIPT_ALLOW_CROSS_SLOT = 1 << 4,
    SCRIPT_EVAL_COMPAT = 1 << 5, /* an EVAL script without a shebang */
};

typedef struct script_engine {
    cairn_engine *e;
    lua_State *L;
    size_t lua_mem; /* bytes the interpreter holds (INFO used_memory_lua) */
    long nscripts;  /* EVAL scripts in the cache */
    /* The session script commands run as, and where their replies go
     * before they become Lua values. */
    cairn_session sess;
    rbuf reply;
    cslice *argv; /* redis.call's arguments, reused from call to call */
    int argv_cap;
    /* math.random's state: a 48-bit LCG like Redis's rand48, seeded
     * the same at the start of every EVAL. */
    uint64_t rand48;
    /* The run in progress (caller is NULL between runs). */
    cmd_call *caller;
    int run_flags;          /* SCRIPT_* */
    int resp;               /* redis.setresp */
    int wrote;              /* a write command ran: SCRIPT KILL cannot stop it */
    int oom;                /* memory was over maxmemory when the run started */
    int kill;               /* SCRIPT KILL asked for the run to stop */
    const char *name;       /* the SHA (EVAL) or function name, for errors */
    struct fn_registry *fn; /* function libraries (function.c), created on first use */
    cmd_stats *run_stats;   /* the statistics of the run whose result is being replied */
} script_engine;

/* The registry table of function callbacks: function name -> function. */
#define SCRIPT_REG_FUNCTIONS "cairn.functions"

/* The engine's interpreter, created on first use. */
script_engine *script_get(cairn_engine *e);

/* Compile body (of length len, its first skip bytes a shebang) as the
 * EVAL script named name (its SHA), run with flags (SCRIPT_*).  On error
 * returns -1 and leaves Redis's message (without the "ERR " code) in err
 * (size errsize). */
int script_compile(script_engine *se, const char *name, int flags, const char *body, size_t len,
                   size_t skip, char *err, size_t errsize);
/* The flags of the cached script name, or -1 if there is none. */
int script_flags(script_engine *se, const char *name);
/* The source of the cached script name as it was given (a follower sends
 * it to the leader for EVALSHA), valid until the cache is flushed; 0, or
 * -1 if there is none. */
int script_body(script_engine *se, const char *name, cslice *body);
/* Forget every cached EVAL script (SCRIPT FLUSH). */
void script_flush(script_engine *se);
/* SCRIPT KILL (is_eval) or FUNCTION KILL: ask the running script or
 * function to stop.  Returns 0, or -1 with Redis's error in *err (none
 * runs, it has written, or it is of the other kind). */
int script_kill(cairn_engine *e, int is_eval, const char **err);
/* The SCRIPT_* flag named p (a shebang's or a function's flags), 0 if
 * none is; the name of a single flag. */
int script_flag_named(const char *p, size_t len);
const char *script_flag_name(int flag);
/* The checks Redis's scriptPrepareForRun makes before a run of a script
 * or function with flags (ro: EVAL_RO, FCALL_RO).  Returns the SCRIPT_*
 * flags of the run, or -1 after replying an error to c. */
int script_run_flags(cmd_call *c, int flags, int ro);
/* The command flags of a run of a script or function with flags
 * (SCRIPT_*) declared: Redis's scriptFlagsToCmdFlags.  A script without
 * a shebang keeps the command's. */
uint32_t script_cmd_flags(uint32_t cmd_flags, int flags);

/* For function.c: raise msg (code ERR unless it has one) as Redis's
 * error table; replace the table at the top of the stack by a read-only
 * proxy (strict: reading a missing name is an error, as for globals); put
 * back the hook that times runs after another one was used. */
int script_raise(lua_State *L, const char *msg);
void script_make_readonly(lua_State *L, int strict);
void script_restore_hook(script_engine *se);

/* Run the cached script (as_globals) or the function (name: its
 * name) for caller c, with KEYS (eval: as globals; else the
 * function's first argument) and ARGV, and reply to c with its result
 * converted to RESP. */
void script_run(script_engine *se, cmd_call *c, const char *name, const char *shown_name,
                int run_flags, int nkeys, const cslice *keys, int nargs, const cslice *args,
                int as_globals);

#endif
