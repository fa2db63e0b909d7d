/* cmdtable.c -- lookup over the command table; see cmd.h. */
#include <string.h>

#include "../ds/alloc.h"
#include "cmd.h"

const cmd_def *const cmd_families[] = {
    conn_commands,   config_commands, server_commands, persist_commands,
    string_commands, keys_commands,   list_commands,   hash_commands,
    coord_commands,  set_commands,    sort_commands,   zset_commands,
    NULL,
};

/* Command names are at most a few dozen bytes: lower-case into a small
 * buffer, and treat anything longer as unknown. */
static int lower_name(char *buf, size_t size, const char *name, size_t len)
{
    if (len >= size) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        buf[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    buf[len] = '\0';
    return 1;
}

void cmd_table_load(cairn_engine *e)
{
    e->commands = dict_create(e->hash_seed, NULL, 0);
    for (int f = 0; cmd_families[f]; f++) {
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            dict_entry *de = dict_add(e->commands, dstr_from_cstr(cmd->name), NULL);
            if (de) de->v.ptr = (void *)cmd;
        }
    }
}

long cmd_count(const cairn_engine *e) { return (long)dict_size(e->commands); }

const cmd_def *cmd_lookup(cairn_engine *e, const char *name, size_t len)
{
    char buf[64];
    if (!lower_name(buf, sizeof(buf), name, len)) return NULL;
    dict_entry *de = dict_find(e->commands, buf, len);
    return de ? de->v.ptr : NULL;
}

const cmd_def *cmd_lookup_sub(const cmd_def *parent, const char *name, size_t len)
{
    char buf[64];
    if (!lower_name(buf, sizeof(buf), name, len)) return NULL;
    size_t plen = strlen(parent->name);
    for (const cmd_def *sub = parent->subcommands; sub->name; sub++) {
        /* Subcommands are named "parent|sub". */
        const char *s = sub->name + plen + 1;
        if (strlen(s) == len && memcmp(s, buf, len) == 0) return sub;
    }
    return NULL;
}

int cmd_get_keys(const cmd_def *cmd, int argc, const cslice *argv, int *idx, int max)
{
    (void)argv;
    if (cmd->first_key <= 0) return 0;
    if (!(cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity)) return -1;
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    int n = 0;
    for (int i = cmd->first_key; i <= last && i < argc; i += step) {
        if (n == max) return -1;
        idx[n++] = i;
    }
    /* A key-value list with an odd tail (MSET a 1 b) is invalid. */
    if (step > 1 && (argc - cmd->first_key) % step != 0) return -1;
    return n;
}
