/* cmdtable.c -- lookup over the command table; see cmd.h. */
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"

const cmd_def *const cmd_families[] = {
    conn_commands,   config_commands,
    server_commands, persist_commands,
    string_commands, keys_commands,
    list_commands,   hash_commands,
    coord_commands,  set_commands,
    sort_commands,   zset_commands,
    multi_commands,  NULL,
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

/* The keys counted by argv[at], listed right after it. */
static int numkeys_keys(int at, int argc, const cslice *argv, int *idx, int max)
{
    long long n;
    if (at >= argc || !str_to_ll(argv[at].ptr, argv[at].len, &n)) return -1;
    if (n <= 0 || n > argc - at - 1 || n > max) return -1;
    for (int i = 0; i < n; i++)
        idx[i] = at + 1 + i;
    return (int)n;
}

int getkeys_numkeys_at1(int argc, const cslice *argv, int *idx, int max)
{
    return numkeys_keys(1, argc, argv, idx, max);
}

int getkeys_numkeys_at2(int argc, const cslice *argv, int *idx, int max)
{
    return numkeys_keys(2, argc, argv, idx, max);
}

int getkeys_dest_numkeys(int argc, const cslice *argv, int *idx, int max)
{
    if (max < 1) return -1;
    int n = numkeys_keys(2, argc, argv, idx + 1, max - 1);
    if (n < 0) return -1;
    idx[0] = 1;
    return n + 1;
}

int cmd_get_keys(const cmd_def *cmd, int argc, const cslice *argv, int *idx, int max)
{
    if (!(cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity)) return -1;
    if (cmd->getkeys) return cmd->getkeys(argc, argv, idx, max);
    if (cmd->first_key <= 0) return 0;
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
