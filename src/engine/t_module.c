/* t_module.c -- MODULE: Cairn loads no modules, and says so as Redis does
 * when none are loaded.
 *
 * Clients and tools ask MODULE LIST on connect to find out which modules
 * (search, JSON, ...) a server offers; an unknown-command error there
 * breaks them where an empty list is the truth.  LOAD, LOADEX and UNLOAD
 * answer as Redis 7.0 does for a module that cannot be loaded or is not
 * loaded, behind the same enable-module-command protection. */
#include <string.h>

#include "../ds/dstr.h"
#include "cmd.h"
#include "config.h"
#include "reply.h"

static void module_list_command(cmd_call *c) { reply_array_len(c->out, 0); }

/* enable-module-command is accepted for compatibility (config_compat.c);
 * its value still decides which error the caller sees. */
static int module_command_allowed(cmd_call *c)
{
    dstr v = config_get_value(c->e, "enable-module-command");
    int setting = PROTECTED_NO;
    if (v) {
        if (dstr_len(v) == 3 && memcmp(v, "yes", 3) == 0) setting = PROTECTED_YES;
        if (dstr_len(v) == 5 && memcmp(v, "local", 5) == 0) setting = PROTECTED_LOCAL;
        dstr_free(v);
    }
    if (protected_allowed(setting, c->s)) return 1;
    reply_error(c->out, "ERR MODULE command not allowed. If the enable-module-command option is "
                        "set to \"local\", you can run it from a local connection, otherwise you "
                        "need to set this option in the configuration file, and then restart the "
                        "server.");
    return 0;
}

static void module_load_command(cmd_call *c)
{
    if (module_command_allowed(c))
        reply_error(c->out, "ERR Error loading the extension. Please check the server logs.");
}

static void module_unload_command(cmd_call *c)
{
    if (module_command_allowed(c))
        reply_error(c->out, "ERR Error unloading module: no such module with that name");
}

static void module_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and "
        "optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define MODULE_ACL (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static const cmd_def module_subcommands[] = {
    {"module|help", module_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "server",
     "5.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {"module|list", module_list_command, 2, CMD_ADMIN | CMD_NOSCRIPT, MODULE_ACL, 0, 0, 0, "server",
     "4.0.0", "List all modules loaded by the server",
     "O(N) where N is the number of loaded modules.", NULL},
    {"module|load", module_load_command, -3, CMD_ADMIN | CMD_NOSCRIPT, MODULE_ACL, 0, 0, 0,
     "server", "4.0.0", "Load a module", "O(1)", NULL},
    {"module|loadex", module_load_command, -3, CMD_ADMIN | CMD_NOSCRIPT, MODULE_ACL, 0, 0, 0,
     "server", "7.0.0", "Load a module with extended parameters", "O(1)", NULL},
    {"module|unload", module_unload_command, 3, CMD_ADMIN | CMD_NOSCRIPT, MODULE_ACL, 0, 0, 0,
     "server", "4.0.0", "Unload a module", "O(1)", NULL},
    {0},
};

const cmd_def module_commands[] = {
    {"module", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "4.0.0", "A container for module commands",
     "Depends on subcommand.", module_subcommands},
    {0},
};
