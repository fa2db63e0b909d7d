/* t_function.c -- FUNCTION and FCALL/FCALL_RO: the command family of Redis
 * 7 functions (see function.h). */
#include <stdio.h>
#include <string.h>

#include "../ds/util.h"
#include "../engine/cmd.h"
#include "../engine/monitor.h"
#include "function.h"

/* FUNCTION LOAD [REPLACE] code */
static void function_load_command(cmd_call *c)
{
    int mode = FN_CREATE;
    for (int i = 2; i < c->argc - 1; i++) {
        if (!arg_is(c, i, "replace")) {
            reply_errorf(c->out, "ERR Unknown option given: %.*s", (int)c->argv[i].len,
                         c->argv[i].ptr);
            return;
        }
        mode = FN_REPLACE;
    }
    const cslice *code = &c->argv[c->argc - 1];
    char err[1024];
    const fn_lib *lib =
        function_load(script_get(c->e), code->ptr, code->len, mode, err, sizeof(err));
    if (!lib) {
        reply_errorf(c->out, "ERR %s", err);
        return;
    }
    c->dirty++;
    reply_bulk(c->out, lib->name, dstr_len(lib->name));
}

static void function_delete_command(cmd_call *c)
{
    if (function_delete(script_get(c->e), c->argv[2].ptr, c->argv[2].len) < 0) {
        reply_error(c->out, "ERR Library not found");
        return;
    }
    c->dirty++;
    reply_ok(c->out);
}

static void function_flush_command(cmd_call *c)
{
    if (c->argc > 3) {
        int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "FUNCTION HELP.",
                     len, c->argv[1].ptr);
        return;
    }
    if (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async")) {
        reply_error(c->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    function_flush(script_get(c->e));
    c->dirty++;
    reply_ok(c->out);
}

static void reply_function(rbuf *out, const fn_func *f)
{
    reply_map_len(out, 3);
    reply_bulk_cstr(out, "name");
    reply_bulk(out, f->name, dstr_len(f->name));
    reply_bulk_cstr(out, "description");
    if (f->desc)
        reply_bulk(out, f->desc, dstr_len(f->desc));
    else
        reply_null(out);
    reply_bulk_cstr(out, "flags");
    int n = 0;
    for (int bit = 1; bit <= SCRIPT_ALLOW_CROSS_SLOT; bit <<= 1)
        n += (f->flags & bit) != 0;
    reply_set_len(out, n);
    for (int bit = 1; bit <= SCRIPT_ALLOW_CROSS_SLOT; bit <<= 1)
        if (f->flags & bit) reply_bulk_cstr(out, script_flag_name(bit));
}

static void reply_library(rbuf *out, const fn_lib *lib, int with_code)
{
    reply_map_len(out, with_code ? 4 : 3);
    reply_bulk_cstr(out, "library_name");
    reply_bulk(out, lib->name, dstr_len(lib->name));
    reply_bulk_cstr(out, "engine");
    reply_bulk_cstr(out, "LUA");
    reply_bulk_cstr(out, "functions");
    reply_array_len(out, lib->nfuncs);
    for (int i = 0; i < lib->nfuncs; i++)
        reply_function(out, &lib->funcs[i]);
    if (with_code) {
        reply_bulk_cstr(out, "library_code");
        reply_bulk(out, lib->code, dstr_len(lib->code));
    }
}

/* FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] */
static void function_list_command(cmd_call *c)
{
    int with_code = 0;
    const cslice *pattern = NULL;
    for (int i = 2; i < c->argc; i++) {
        if (!with_code && arg_is(c, i, "withcode")) {
            with_code = 1;
        } else if (!pattern && arg_is(c, i, "libraryname")) {
            if (i == c->argc - 1) {
                reply_error(c->out, "ERR library name argument was not given");
                return;
            }
            pattern = &c->argv[++i];
        } else {
            reply_errorf(c->out, "ERR Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].ptr);
            return;
        }
    }
    int n;
    const fn_lib *const *libs = function_libraries(script_get(c->e), &n);
    int shown = 0;
    for (int i = 0; i < n; i++)
        shown += !pattern ||
                 glob_match(pattern->ptr, pattern->len, libs[i]->name, dstr_len(libs[i]->name), 1);
    reply_array_len(c->out, shown);
    for (int i = 0; i < n; i++)
        if (!pattern ||
            glob_match(pattern->ptr, pattern->len, libs[i]->name, dstr_len(libs[i]->name), 1))
            reply_library(c->out, libs[i], with_code);
}

/* FUNCTION STATS: the running function (nil when none) and the engines. */
static void function_stats_command(cmd_call *c)
{
    cairn_engine *e = c->e;
    script_engine *se = script_get(e);
    reply_map_len(c->out, 2);
    reply_bulk_cstr(c->out, "running_script");
    const cmd_call *run = se->caller;
    if (!run || !e->busy_function) {
        reply_null(c->out);
    } else {
        reply_map_len(c->out, 3);
        reply_bulk_cstr(c->out, "name");
        reply_bulk_cstr(c->out, se->name);
        reply_bulk_cstr(c->out, "command");
        reply_array_len(c->out, run->argc);
        for (int i = 0; i < run->argc; i++)
            reply_bulk(c->out, run->argv[i].ptr, run->argv[i].len);
        reply_bulk_cstr(c->out, "duration_ms");
        int64_t ns = e->mono_ns && run->start_ns ? e->mono_ns() - run->start_ns : 0;
        reply_int(c->out, ns / 1000000);
    }
    int nlibs;
    function_libraries(se, &nlibs);
    reply_bulk_cstr(c->out, "engines");
    reply_map_len(c->out, 1);
    reply_bulk_cstr(c->out, "LUA");
    reply_map_len(c->out, 2);
    reply_bulk_cstr(c->out, "libraries_count");
    reply_int(c->out, nlibs);
    reply_bulk_cstr(c->out, "functions_count");
    reply_int(c->out, function_count(se));
}

static void function_kill_command(cmd_call *c)
{
    const char *err;
    if (script_kill(c->e, 0, &err) < 0)
        reply_error(c->out, err);
    else
        reply_ok(c->out);
}

static void function_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* FCALL / FCALL_RO function numkeys key... arg... */
static void fcall_generic(cmd_call *c, int ro)
{
    /* Fed here (FCALL is flagged skip-monitor) so that monitors see the
     * call before the commands its function runs, as in Redis. */
    if (c->e->cfg.monitoring) monitor_feed(c);
    script_engine *se = script_get(c->e);
    const fn_func *f = function_find(se, c->argv[1].ptr, c->argv[1].len);
    if (!f) {
        reply_error(c->out, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &numkeys)) {
        reply_error(c->out, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > c->argc - 3) {
        reply_error(c->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(c->out, "ERR Number of keys can't be negative");
        return;
    }
    int flags = script_run_flags(c, f->flags, ro);
    if (flags < 0) return;
    int nk = (int)numkeys;
    script_run(se, c, f->name, f->name, flags, nk, c->argv + 3, c->argc - 3 - nk, c->argv + 3 + nk,
               0);
}

/* A function's flags decide its command flags (Redis's
 * fcallGetCommandFlags). */
static uint32_t fcall_flags(cairn_engine *e, int argc, const cslice *argv, uint32_t cmd_flags)
{
    const fn_func *f = argc >= 2 ? function_find(script_get(e), argv[1].ptr, argv[1].len) : NULL;
    return f ? script_cmd_flags(cmd_flags, f->flags) : cmd_flags;
}

static void fcall_command(cmd_call *c) { fcall_generic(c, 0); }
static void fcall_ro_command(cmd_call *c) { fcall_generic(c, 1); }

#define FN_ACL (ACL_SLOW | ACL_SCRIPTING)

static const cmd_def function_subcommands[] = {
    {.name = "function|delete",
     .proc = function_delete_command,
     .arity = 3,
     .flags = CMD_NOSCRIPT | CMD_WRITE,
     .acl = FN_ACL | ACL_WRITE,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Delete a function by name",
     .complexity = "O(1)"},
    {.name = "function|dump",
     .proc = function_dump_command,
     .arity = 2,
     .flags = CMD_NOSCRIPT,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Dump all functions into a serialized binary payload",
     .complexity = "O(N) where N is the number of functions"},
    {.name = "function|flush",
     .proc = function_flush_command,
     .arity = -2,
     .flags = CMD_NOSCRIPT | CMD_WRITE,
     .acl = FN_ACL | ACL_WRITE,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Deleting all functions",
     .complexity = "O(N) where N is the number of functions deleted"},
    {.name = "function|help",
     .proc = function_help_command,
     .arity = 2,
     .flags = CMD_LOADING | CMD_STALE,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Show helpful text about the different subcommands",
     .complexity = "O(1)"},
    {.name = "function|kill",
     .proc = function_kill_command,
     .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Kill the function currently in execution.",
     .complexity = "O(1)"},
    {.name = "function|list",
     .proc = function_list_command,
     .arity = -2,
     .flags = CMD_NOSCRIPT,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "List information about all the functions",
     .complexity = "O(N) where N is the number of functions"},
    {.name = "function|load",
     .proc = function_load_command,
     .arity = -3,
     .flags = CMD_NOSCRIPT | CMD_WRITE | CMD_DENYOOM,
     .acl = FN_ACL | ACL_WRITE,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Create a function with the given arguments (name, code, description)",
     .complexity = "O(1) (considering compilation time is redundant)"},
    {.name = "function|restore",
     .proc = function_restore_command,
     .arity = -3,
     .flags = CMD_NOSCRIPT | CMD_WRITE | CMD_DENYOOM,
     .acl = FN_ACL | ACL_WRITE,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Restore all the functions on the given payload",
     .complexity = "O(N) where N is the number of functions on the payload"},
    {.name = "function|stats",
     .proc = function_stats_command,
     .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Return information about the function currently running (name, description, "
                "duration)",
     .complexity = "O(1)"},
    {0},
};

#define FCALL_FLAGS (CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_STALE)

const cmd_def function_commands[] = {
    {.name = "fcall",
     .key_spec = KEY_FLAGS(KF_RW | KF_ACCESS | KF_UPDATE),
     .proc = fcall_command,
     .arity = -3,
     .flags = FCALL_FLAGS | CMD_MAY_REPLICATE,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Invoke a function",
     .complexity = "Depends on the function that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = fcall_flags},
    {.name = "fcall_ro",
     .proc = fcall_ro_command,
     .arity = -3,
     .flags = FCALL_FLAGS | CMD_READONLY,
     .acl = FN_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Invoke a read-only function",
     .complexity = "Depends on the function that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = fcall_flags,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {.name = "function",
     .arity = -2,
     .acl = ACL_SLOW,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "A container for function commands",
     .complexity = "Depends on subcommand.",
     .subcommands = function_subcommands},
    {0},
};
