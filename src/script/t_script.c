/* t_script.c -- EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the command
 * family by which the engine knows the Lua host (see script.h). */
#include <stdio.h>
#include <string.h>

#include "../ds/sha1.h"
#include "../ds/util.h"
#include "../engine/cmd.h"
#include "../engine/monitor.h"
#include "script.h"

/* Parse "#!lua flags=a,b" as Redis's evalExtractShebangFlags: *flags gets
 * the SCRIPT_* flags (SCRIPT_EVAL_COMPAT without a shebang) and *skip the
 * length of the shebang line (its newline is kept, so line numbers stay
 * the user's).  Returns 0, or -1 with Redis's message in err. */
static int parse_shebang(const char *body, size_t len, int *flags, size_t *skip, char *err,
                         size_t errsize)
{
    *flags = SCRIPT_EVAL_COMPAT;
    *skip = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!') return 0;
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, errsize, "Invalid script shebang");
        return -1;
    }
    *skip = (size_t)(nl - body);
    *flags = 0;
    const char *p = body, *end = nl;
    int first = 1;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p >= end) break;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        int wlen = (int)(p - w);
        if (first) {
            if (wlen != 5 || memcmp(w, "#!lua", 5) != 0) {
                snprintf(err, errsize, "Unexpected engine in script shebang: %.*s", wlen, w);
                return -1;
            }
            first = 0;
            continue;
        }
        if (wlen < 6 || memcmp(w, "flags=", 6) != 0) {
            snprintf(err, errsize, "Unknown lua shebang option: %.*s", wlen, w);
            return -1;
        }
        for (const char *f = w + 6; f <= p && wlen > 6;) {
            const char *comma = memchr(f, ',', (size_t)(p - f));
            const char *fe = comma ? comma : p;
            int flag = script_flag_named(f, (size_t)(fe - f));
            if (!flag && fe > f) {
                snprintf(err, errsize, "Unexpected flag in script shebang: %.*s", (int)(fe - f), f);
                return -1;
            }
            *flags |= flag;
            if (!comma) break;
            f = comma + 1;
        }
    }
    return 0;
}

/* Compile body into the cache unless it is there; sha receives its
 * digest.  Replies the error and returns -1 on failure. */
static int load_script(cmd_call *c, script_engine *se, const cslice *body, char sha[41])
{
    sha1_hex(body->ptr, body->len, sha);
    if (script_flags(se, sha) >= 0) return 0;
    char err[512];
    int flags;
    size_t skip;
    if (parse_shebang(body->ptr, body->len, &flags, &skip, err, sizeof(err)) < 0 ||
        script_compile(se, sha, flags, body->ptr, body->len, skip, err, sizeof(err)) < 0) {
        reply_errorf(c->out, "ERR %s", err);
        return -1;
    }
    return 0;
}

static void eval_generic(cmd_call *c, int by_sha, int ro)
{
    /* Fed here (EVAL is flagged skip-monitor) so that monitors see the
     * script before the commands it runs, as in Redis. */
    if (c->e->cfg.monitoring) monitor_feed(c);
    long long numkeys;
    if (!arg_ll(c, 2, &numkeys)) return;
    if (numkeys > c->argc - 3) {
        reply_error(c->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(c->out, "ERR Number of keys can't be negative");
        return;
    }
    script_engine *se = script_get(c->e);
    char sha[41];
    if (by_sha) {
        const cslice *a = &c->argv[1];
        if (a->len != 40) {
            reply_error(c->out, "NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        for (int i = 0; i < 40; i++)
            sha[i] = (char)(a->ptr[i] >= 'A' && a->ptr[i] <= 'Z' ? a->ptr[i] + 32 : a->ptr[i]);
        sha[40] = '\0';
    } else if (load_script(c, se, &c->argv[1], sha) < 0) {
        return;
    }
    int flags = script_flags(se, sha);
    if (flags < 0) {
        reply_error(c->out, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    flags = script_run_flags(c, flags, ro);
    if (flags < 0) return;
    int nk = (int)numkeys;
    script_run(se, c, sha, sha, flags, nk, c->argv + 3, c->argc - 3 - nk, c->argv + 3 + nk, 1);
}

/* The flags a run of the script would have (Redis's evalGetCommandFlags):
 * a script with a shebang declares them.  A script not known yet is read
 * for its shebang; a digest not known keeps the command's. */
static uint32_t eval_flags_of(cairn_engine *e, int argc, const cslice *argv, uint32_t cmd_flags,
                              int by_sha)
{
    if (argc < 2 || (by_sha && argv[1].len != 40)) return cmd_flags;
    char sha[41];
    if (by_sha) {
        ascii_case_copy(sha, sizeof(sha), argv[1].ptr, 40, 0);
    } else {
        sha1_hex(argv[1].ptr, argv[1].len, sha);
    }
    int flags = script_flags(script_get(e), sha);
    if (flags < 0) {
        char err[256];
        size_t skip;
        if (by_sha || parse_shebang(argv[1].ptr, argv[1].len, &flags, &skip, err, sizeof(err)) < 0)
            return cmd_flags;
    }
    return script_cmd_flags(cmd_flags, flags);
}

static uint32_t eval_flags(cairn_engine *e, int argc, const cslice *argv, uint32_t flags)
{
    return eval_flags_of(e, argc, argv, flags, 0);
}

static uint32_t evalsha_flags(cairn_engine *e, int argc, const cslice *argv, uint32_t flags)
{
    return eval_flags_of(e, argc, argv, flags, 1);
}

/* A follower sends EVALSHA to the leader as EVAL with the script's source
 * from its own cache: the leader (now or after a change) may never have
 * seen it, as SCRIPT LOAD is this node's.  A digest unknown here is not
 * rewritten (the call then answers NOSCRIPT here, as Redis). */
static int forward_by_body(cairn_engine *e, cslice *argv, int ro)
{
    char sha[41];
    if (argv[1].len != 40) return 0;
    ascii_case_copy(sha, sizeof(sha), argv[1].ptr, 40, 0);
    if (script_body(script_get(e), sha, &argv[1]) < 0) return 0;
    argv[0] = ro ? (cslice){"EVAL_RO", 7} : (cslice){"EVAL", 4};
    return 1;
}

static int evalsha_forward(cairn_engine *e, cslice *argv) { return forward_by_body(e, argv, 0); }
static int evalsha_ro_forward(cairn_engine *e, cslice *argv) { return forward_by_body(e, argv, 1); }

static void eval_command(cmd_call *c) { eval_generic(c, 0, 0); }
static void evalsha_command(cmd_call *c) { eval_generic(c, 1, 0); }
static void eval_ro_command(cmd_call *c) { eval_generic(c, 0, 1); }
static void evalsha_ro_command(cmd_call *c) { eval_generic(c, 1, 1); }

static void script_load_command(cmd_call *c)
{
    char sha[41];
    if (load_script(c, script_get(c->e), &c->argv[2], sha) < 0) return;
    reply_bulk(c->out, sha, 40);
}

static void script_exists_command(cmd_call *c)
{
    script_engine *se = script_get(c->e);
    reply_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const cslice *a = &c->argv[i];
        char sha[41];
        int found = 0;
        if (a->len == 40) {
            for (int k = 0; k < 40; k++)
                sha[k] = (char)(a->ptr[k] >= 'A' && a->ptr[k] <= 'Z' ? a->ptr[k] + 32 : a->ptr[k]);
            sha[40] = '\0';
            found = script_flags(se, sha) >= 0;
        }
        reply_int(c->out, found);
    }
}

static void script_flush_command(cmd_call *c)
{
    if (c->argc > 3 || (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async"))) {
        reply_error(c->out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    if (c->e->script) script_flush(c->e->script);
    reply_ok(c->out);
}

static void script_kill_command(cmd_call *c)
{
    const char *err;
    if (script_kill(c->e, 1, &err) < 0)
        reply_error(c->out, err);
    else
        reply_ok(c->out);
}

static void script_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define EVAL_FLAGS (CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_STALE)
#define EVAL_ACL   (ACL_SLOW | ACL_SCRIPTING)

static const cmd_def script_subcommands[] = {
    {.name = "script|exists",
     .proc = script_exists_command,
     .arity = -3,
     .flags = CMD_NOSCRIPT,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Check existence of scripts in the script cache.",
     .complexity = "O(N) with N being the number of scripts to check (so checking a single "
                   "script is an O(1) operation)."},
    {.name = "script|flush",
     .proc = script_flush_command,
     .arity = -2,
     .flags = CMD_NOSCRIPT,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Remove all the scripts from the script cache.",
     .complexity = "O(N) with N being the number of scripts in cache"},
    {.name = "script|help",
     .proc = script_help_command,
     .arity = 2,
     .flags = CMD_LOADING | CMD_STALE,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "5.0.0",
     .summary = "Show helpful text about the different subcommands",
     .complexity = "O(1)"},
    {.name = "script|kill",
     .proc = script_kill_command,
     .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Kill the script currently in execution.",
     .complexity = "O(1)"},
    {.name = "script|load",
     .proc = script_load_command,
     .arity = 3,
     .flags = CMD_NOSCRIPT | CMD_STALE,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Load the specified Lua script into the script cache.",
     .complexity = "O(N) with N being the length in bytes of the script body."},
    {0},
};

const cmd_def script_commands[] = {
    {.name = "eval",
     .key_acl = KEY_ACL(KA_RW, KA_RW),
     .proc = eval_command,
     .arity = -3,
     .flags = EVAL_FLAGS | CMD_MAY_REPLICATE,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Execute a Lua script server side",
     .complexity = "Depends on the script that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = eval_flags},
    {.name = "evalsha",
     .key_acl = KEY_ACL(KA_RW, KA_RW),
     .proc = evalsha_command,
     .arity = -3,
     .flags = EVAL_FLAGS | CMD_MAY_REPLICATE,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "Execute a Lua script server side",
     .complexity = "Depends on the script that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = evalsha_flags,
     .forward_args = evalsha_forward},
    {.name = "eval_ro",
     .proc = eval_ro_command,
     .arity = -3,
     .flags = EVAL_FLAGS | CMD_READONLY,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Execute a read-only Lua script server side",
     .complexity = "Depends on the script that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = eval_flags},
    {.name = "evalsha_ro",
     .proc = evalsha_ro_command,
     .arity = -3,
     .flags = EVAL_FLAGS | CMD_READONLY,
     .acl = EVAL_ACL,
     .group = "scripting",
     .since = "7.0.0",
     .summary = "Execute a read-only Lua script server side",
     .complexity = "Depends on the script that is executed.",
     .getkeys = getkeys_numkeys_at2,
     .flags_of = evalsha_flags,
     .forward_args = evalsha_ro_forward},
    {.name = "script",
     .arity = -2,
     .acl = ACL_SLOW,
     .group = "scripting",
     .since = "2.6.0",
     .summary = "A container for Lua scripts management commands",
     .complexity = "Depends on subcommand.",
     .subcommands = script_subcommands},
    {0},
};
