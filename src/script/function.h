/* function.h -- Redis 7 functions: libraries of Lua functions loaded with
 * FUNCTION LOAD and called with FCALL.
 *
 * Unlike EVAL's cache, libraries are part of the dataset: a FUNCTION
 * LOAD, DELETE, FLUSH or RESTORE is a write that reaches the log as
 * itself (loading a library's code gives the same functions wherever it
 * runs: its top level may call only redis.register_function and
 * redis.log), snapshots carry every library's code, and FLUSHALL leaves
 * them alone, as in Redis.
 *
 * A library's code runs once, at load, in an environment of its own whose
 * `redis` offers only register_function and log; the functions it
 * registers keep that environment, in which `redis` is the full API once
 * the load is over.  Library names are matched exactly; function names
 * are unique across libraries without regard to case, as in Redis, but
 * one library may register names that differ only in case (FCALL then
 * takes the exact name, or else the first of them registered). */
#ifndef CAIRN_FUNCTION_H
#define CAIRN_FUNCTION_H

#include <stddef.h>

#include "../ds/dstr.h"
#include "script.h"

struct fn_lib;

typedef struct fn_func {
    struct fn_lib *lib; /* the library that registered it */
    dstr name;
    dstr desc; /* NULL: none given */
    int flags; /* SCRIPT_* */
} fn_func;

typedef struct fn_lib {
    dstr name;
    dstr code;
    int nfuncs;
    fn_func *funcs;
    int callbacks; /* registry ref of name -> callback until linked */
} fn_lib;

enum { FN_CREATE = 0, FN_REPLACE = 1 };
/* FUNCTION RESTORE's policies. */
enum { FN_RESTORE_APPEND = 0, FN_RESTORE_REPLACE = 1, FN_RESTORE_FLUSH = 2 };

/* Load a library from its code (with its "#!lua name=..." line).
 * FN_REPLACE replaces a library of the same name.  Returns the library,
 * or NULL with Redis's message (without "ERR ") in err. */
const fn_lib *function_load(script_engine *se, const char *code, size_t len, int mode, char *err,
                            size_t errsize);
/* Add the n libraries whose codes are given (FUNCTION RESTORE) under
 * policy (FN_RESTORE_*): all of them or, on any error, none.  Returns 0,
 * or -1 with Redis's message (without "ERR ") in err. */
int function_restore(script_engine *se, const cslice *codes, int n, int policy, char *err,
                     size_t errsize);
/* Delete the library named name; -1 if there is none. */
int function_delete(script_engine *se, const char *name, size_t len);
/* Delete every library. */
void function_flush(script_engine *se);
/* The function named name, or NULL. */
const fn_func *function_find(script_engine *se, const char *name, size_t len);
/* The libraries, in the order they were loaded: n of them at *libs. */
const fn_lib *const *function_libraries(script_engine *se, int *n);
long function_count(script_engine *se);

/* Free the registry with the interpreter (script.c). */
void function_registry_free(script_engine *se);

#endif
