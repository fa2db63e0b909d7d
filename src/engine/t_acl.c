/* t_acl.c -- AUTH and the ACL command (Redis 7.0's replies and errors).
 * Users and rules are in acl.c, the check and ACL LOG in acl_check.c. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "acl_internal.h"
#include "cmd.h"

static void auth_command(cmd_call *c)
{
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    cslice user = {"default", 7};
    const cslice *pass = &c->argv[1];
    if (c->argc == 3) {
        user = c->argv[1];
        pass = &c->argv[2];
    } else if (c->e->acl->default_user->flags & USER_NOPASS) {
        reply_error(c->out, "ERR AUTH <password> called without any password configured for the "
                            "default user. Are you sure your configuration is correct?");
        return;
    }
    if (acl_authenticate(c, &user, pass))
        reply_ok(c->out);
    else
        reply_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
}

static void acl_cat_command(cmd_call *c)
{
    const acl_state *a = c->e->acl;
    if (c->argc == 2) {
        long n = 0;
        while (acl_categories[n].name)
            n++;
        reply_array_len(c->out, n);
        for (long i = 0; i < n; i++)
            reply_bulk_cstr(c->out, acl_categories[i].name);
        return;
    }
    if (c->argc > 3) {
        reply_errorf(c->out, "ERR wrong number of arguments for 'acl|cat' command");
        return;
    }
    uint32_t cat = acl_category_by_name(c->argv[2].ptr, c->argv[2].len);
    if (!cat) {
        reply_errorf(c->out, "ERR Unknown category '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    rbuf_deferred d = reply_deferred_len(c->out);
    long n = 0;
    for (int i = 0; i < a->ncmds; i++) {
        if (!(cmd_categories(a->cmds[i]) & cat)) continue;
        reply_bulk_cstr(c->out, a->cmds[i]->name);
        n++;
    }
    reply_set_deferred_array(c->out, d, n);
}

static void acl_deluser_command(cmd_call *c)
{
    for (int i = 2; i < c->argc; i++) {
        if (c->argv[i].len == 7 && memcmp(c->argv[i].ptr, "default", 7) == 0) {
            reply_error(c->out, "ERR The 'default' user cannot be removed");
            return;
        }
    }
    long long n = 0;
    for (int i = 2; i < c->argc; i++)
        n += acl_delete_user(c->e, c->argv[i].ptr, c->argv[i].len);
    reply_int(c->out, n);
}

static const cmd_def *lookup_call(cmd_call *c, int argc, const cslice *argv)
{
    const cmd_def *cmd = cmd_lookup(c->e, argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands && argc >= 2) {
        const cmd_def *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (sub) cmd = sub;
    }
    return cmd;
}

/* ACL DRYRUN user command [arg ...] */
static void acl_dryrun_command(cmd_call *c)
{
    const acl_user *u = acl_find_user(c->e->acl, c->argv[2].ptr, c->argv[2].len);
    if (!u) {
        reply_errorf(c->out, "ERR User '%.*s' not found", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    int argc = c->argc - 3;
    const cslice *argv = c->argv + 3;
    const cmd_def *cmd = lookup_call(c, argc, argv);
    if (!cmd) {
        reply_errorf(c->out, "ERR Command '%.*s' not found", (int)argv[0].len, argv[0].ptr);
        return;
    }
    if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity) {
        reply_errorf(c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    int pos;
    int rc = acl_check_user(c->e, u, cmd, argc, argv, &pos);
    dstr msg = NULL;
    if (rc == ACL_DENIED_CMD)
        msg = dstr_catfmt(dstr_new("", 0), "This user has no permissions to run the '%s' command",
                          cmd->name);
    else if (rc != ACL_OK)
        msg = dstr_catfmt(dstr_new("", 0), "This user has no permissions to access the '%.*s' %s",
                          (int)argv[pos].len, argv[pos].ptr,
                          rc == ACL_DENIED_KEY ? "key" : "channel");
    if (msg) {
        reply_bulk(c->out, msg, dstr_len(msg));
        dstr_free(msg);
    } else {
        reply_ok(c->out);
    }
}

static void acl_genpass_command(cmd_call *c)
{
    long long bits = 256;
    const char *range_err = "ERR ACL GENPASS argument must be the number of bits for the output "
                            "password, a positive number up to 4096";
    if (c->argc == 3 && !arg_range_ll(c, 2, 1, 4096, &bits, range_err)) return;
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char buf[1025];
    long chars = (long)((bits + 3) / 4);
    for (long i = 0; i < chars; i += 16) {
        uint64_t r = crand_next(&c->rng);
        for (long j = i; j < i + 16 && j < chars; j++, r >>= 4)
            buf[j] = hex[r & 15];
    }
    reply_bulk(c->out, buf, (size_t)chars);
}

static void reply_dstr(rbuf *out, dstr s)
{
    reply_bulk(out, s, dstr_len(s));
    dstr_free(s);
}

static void reply_selector_fields(rbuf *out, const acl_state *a, const acl_selector *s)
{
    reply_bulk_cstr(out, "commands");
    reply_dstr(out, acl_describe_commands(a, s));
    reply_bulk_cstr(out, "keys");
    reply_dstr(out, acl_describe_keys(s));
    reply_bulk_cstr(out, "channels");
    reply_dstr(out, acl_describe_channels(s));
}

static void acl_getuser_command(cmd_call *c)
{
    const acl_state *a = c->e->acl;
    const acl_user *u = acl_find_user(a, c->argv[2].ptr, c->argv[2].len);
    if (!u) {
        reply_null(c->out);
        return;
    }
    reply_map_len(c->out, 6);
    reply_bulk_cstr(c->out, "flags");
    const char *flags[4];
    int nf = 0;
    flags[nf++] = (u->flags & USER_ON) ? "on" : "off";
    if (u->flags & USER_NOPASS) flags[nf++] = "nopass";
    if (u->flags & USER_SKIP_SANITIZE) flags[nf++] = "skip-sanitize-payload";
    if (u->flags & USER_SANITIZE) flags[nf++] = "sanitize-payload";
    reply_set_len(c->out, nf);
    for (int i = 0; i < nf; i++)
        reply_bulk_cstr(c->out, flags[i]);
    reply_bulk_cstr(c->out, "passwords");
    reply_array_len(c->out, u->npasswords);
    for (int i = 0; i < u->npasswords; i++)
        reply_bulk(c->out, u->passwords[i], dstr_len(u->passwords[i]));
    reply_selector_fields(c->out, a, &u->sels[0]);
    reply_bulk_cstr(c->out, "selectors");
    reply_array_len(c->out, u->nsels - 1);
    for (int i = 1; i < u->nsels; i++) {
        reply_map_len(c->out, 3);
        reply_selector_fields(c->out, a, &u->sels[i]);
    }
}

static void acl_list_command(cmd_call *c)
{
    const acl_state *a = c->e->acl;
    reply_array_len(c->out, a->nusers);
    for (int i = 0; i < a->nusers; i++)
        reply_dstr(c->out, acl_describe_user(a, a->users[i]));
}

static void acl_users_command(cmd_call *c)
{
    const acl_state *a = c->e->acl;
    reply_array_len(c->out, a->nusers);
    for (int i = 0; i < a->nusers; i++)
        reply_bulk(c->out, a->users[i]->name, dstr_len(a->users[i]->name));
}

static void acl_whoami_command(cmd_call *c)
{
    reply_bulk(c->out, c->s->user->name, dstr_len(c->s->user->name));
}

static void acl_setuser_command(cmd_call *c)
{
    const cslice *name = &c->argv[2];
    for (size_t i = 0; i < name->len; i++) {
        if (name->ptr[i] == ' ' || name->ptr[i] == '\0') {
            reply_error(c->out, "ERR Usernames can't contain spaces or null characters");
            return;
        }
    }
    char err[512];
    const char *msg =
        acl_set_user(c->e, name->ptr, name->len, c->argv + 3, c->argc - 3, err, sizeof(err));
    if (msg)
        reply_errorf(c->out, "ERR %s", msg);
    else
        reply_ok(c->out);
}

static const char *const reasons[] = {"", "command", "key", "auth", "channel"};
static const char *const contexts[] = {"toplevel", "multi", "lua"};

static void acl_log_command(cmd_call *c)
{
    acl_state *a = c->e->acl;
    long long count = 10;
    if (c->argc == 3) {
        if (arg_is(c, 2, "reset")) {
            acl_log_reset(a);
            reply_ok(c->out);
            return;
        }
        if (!arg_range_ll(c, 2, 0, LLONG_MAX, &count, NULL)) return;
    } else if (c->argc > 3) {
        reply_error(c->out,
                    "ERR unknown subcommand or wrong number of arguments for 'log'. Try ACL HELP.");
        return;
    }
    long n = count < a->nlog ? (long)count : a->nlog;
    reply_array_len(c->out, n);
    for (long i = 0; i < n; i++) {
        const acl_log_entry *en = &a->log[i];
        reply_map_len(c->out, 7);
        reply_bulk_cstr(c->out, "count");
        reply_int(c->out, en->count);
        reply_bulk_cstr(c->out, "reason");
        reply_bulk_cstr(c->out, reasons[en->reason]);
        reply_bulk_cstr(c->out, "context");
        reply_bulk_cstr(c->out, contexts[en->context]);
        reply_bulk_cstr(c->out, "object");
        reply_bulk(c->out, en->object, dstr_len(en->object));
        reply_bulk_cstr(c->out, "username");
        reply_bulk(c->out, en->username, dstr_len(en->username));
        reply_bulk_cstr(c->out, "age-seconds");
        reply_double(c->out, (double)(c->now_ms - en->ctime_ms) / 1000.0);
        reply_bulk_cstr(c->out, "client-info");
        reply_bulk(c->out, en->client_info, dstr_len(en->client_info));
    }
}

/* LOAD and SAVE read and write the aclfile: the host does the I/O. */
static void acl_file_command(cmd_call *c, int save)
{
    if (!c->e->cfg.aclfile || dstr_len(c->e->cfg.aclfile) == 0) {
        reply_error(c->out,
                    "ERR This Redis instance is not configured to use an ACL file. You may want to "
                    "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
                    "(assuming you have a Redis configuration file set) in order to store users in "
                    "the Redis configuration.");
        return;
    }
    if (!c->e->host || !c->e->host->acl_file) {
        reply_error(c->out, "ERR ACL files are not available here");
        return;
    }
    c->e->host->acl_file(c->e->host_priv, c, save);
}

static void acl_load_command(cmd_call *c) { acl_file_command(c, 0); }
static void acl_save_command(cmd_call *c) { acl_file_command(c, 1); }

static void acl_help_command(cmd_call *c)
{
    static const char *const lines[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        ("    Returns whether the user can execute the given command without executing the "
         "command."),
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

#define ACL_FLAGS  (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_ADMINF (CMD_ADMIN | ACL_FLAGS)

static const cmd_def acl_subcommands[] = {
    {"acl|cat", acl_cat_command, -2, ACL_FLAGS, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "List the ACL categories or the commands inside a category",
     "O(1) since the categories and commands are a fixed set.", NULL},
    {"acl|deluser", acl_deluser_command, -3, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Remove the specified ACL users and the associated rules",
     "O(1) amortized time considering the typical user.", NULL},
    {"acl|dryrun", acl_dryrun_command, -4, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "7.0.0",
     "Returns whether the user can execute the given command without executing the command.",
     "O(1).", NULL},
    {"acl|genpass", acl_genpass_command, -2, ACL_FLAGS, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Generate a pseudorandom secure password to use for ACL users", "O(1)", NULL},
    {"acl|getuser", acl_getuser_command, 3, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Get the rules for a specific ACL user",
     "O(N). Where N is the number of password, command and pattern rules that the user has.", NULL},
    {"acl|help", acl_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Show helpful text about the different subcommands", "O(1)", NULL},
    {"acl|list", acl_list_command, 2, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "List the current ACL rules in ACL config file format",
     "O(N). Where N is the number of "
     "configured users.",
     NULL},
    {"acl|load", acl_load_command, 2, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Reload the ACLs from the configured ACL file",
     "O(N). Where N is the number of configured "
     "users.",
     NULL},
    {"acl|log", acl_log_command, -2, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "List latest events denied because of ACLs in place",
     "O(N) with N being the number of "
     "entries shown.",
     NULL},
    {"acl|save", acl_save_command, 2, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Save the current ACL rules in the configured ACL file",
     "O(N). Where N is the number of "
     "configured users.",
     NULL},
    {"acl|setuser", acl_setuser_command, -3, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Modify or create the rules for a specific ACL user",
     "O(N). Where N is the number of rules "
     "provided.",
     NULL},
    {"acl|users", acl_users_command, 2, ACL_ADMINF, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "List the username of all the configured ACL rules",
     "O(N). Where N is the number of "
     "configured users.",
     NULL},
    {"acl|whoami", acl_whoami_command, 2, ACL_FLAGS, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "Return the name of the user associated to the current connection", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

const cmd_def acl_commands[] = {
    {"auth", auth_command, -2,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY,
     ACL_CONNECTION | ACL_FAST, 0, 0, 0, "connection", "1.0.0", "Authenticate to the server",
     "O(N) where N is the number of passwords defined for the user", NULL},
    {"acl", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "6.0.0",
     "A container for Access List "
     "Control commands",
     "Depends on subcommand.", acl_subcommands},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
