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
 * the load is over.  Library and function names are matched without
 * regard to case, as Redis's dictionaries match them. */
#ifndef CAIRN_FUNCTION_H
#define CAIRN_FUNCTION_H

#include <stddef.h>

#include "../ds/dstr.h"
#include "script.h"

typedef struct fn_func {
    dstr name;
    dstr desc; /* NULL: none given */
    int flags; /* SCRIPT_* */
} fn_func;

typedef struct fn_lib {
    dstr name;
    dstr code;
    int nfuncs;
    fn_func *funcs;
} fn_lib;

enum { FN_CREATE = 0, FN_REPLACE = 1 };

/* Load a library from its code (with its "#!lua name=..." line).
 * FN_REPLACE replaces a library of the same name.  Returns the library,
 * or NULL with Redis's message (without "ERR ") in err. */
const fn_lib *function_load(script_engine *se, const char *code, size_t len, int mode, char *err,
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
