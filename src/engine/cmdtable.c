/* cmdtable.c -- lookup over the command table; see cmd.h. */
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"

typedef struct cmd_index cmd_index;

const cmd_def *const cmd_families[] = {
    conn_commands,
    config_commands,
    server_commands,
    persist_commands,
    string_commands,
    keys_commands,
    list_commands,
    hash_commands,
    coord_commands,
    set_commands,
    sort_commands,
    zset_commands,
    multi_commands,
    pubsub_commands,
    bitops_commands,
    hll_commands,
    script_commands,
    function_commands,
    geo_commands,
    memory_commands,
    slowlog_commands,
    latency_commands,
    monitor_commands,
    stream_commands,
    acl_commands,
    repl_commands,
    dump_commands,
    module_commands,
    cluster_commands,
    NULL,
};

/* Command names are at most a few dozen bytes: lower-case into a small
 * buffer, and treat anything longer as unknown. */
static int lower_name(char *buf, size_t size, const char *name, size_t len)
{
    if (len >= size) return 0;
    ascii_case_copy(buf, size, name, len, 0);
    return 1;
}

/* The command index: every top-level command by name, for the lookup
 * that each request makes.  It is an open-addressing table (linear
 * probing) over a power of two of slots, built once per engine and never
 * changed, so an unkeyed hash is safe here: no client can add names to
 * collide with.  A name is matched without copying it to a lower-case
 * buffer or comparing it byte by byte: it is loaded into three 64-bit
 * words, folded to lower case a word at a time, then hashed and compared
 * as words.  No command name is longer than CMD_NAME_MAX. */
#define CMD_NAME_MAX 24

typedef struct cmd_slot {
    uint64_t w[3];      /* the lower-case name as load_name() puts it */
    uint32_t len;       /* its length */
    const cmd_def *cmd; /* NULL: an empty slot */
    cmd_stats *stats;   /* its statistics, found once here rather than per call */
} cmd_slot;

struct cmd_index {
    long count;
    unsigned shift; /* 64 - log2(number of slots) */
    size_t mask;
    cmd_slot slots[];
};

#define ONES UINT64_C(0x0101010101010101)

/* ASCII lower case of eight bytes at once: sets the 0x20 bit of the
 * bytes in 'A'..'Z' and leaves every other byte alone, as lower_name(). */
static inline uint64_t fold_word(uint64_t w)
{
    uint64_t low7 = w & (0x7f * ONES);
    /* Bit 7 of each byte: set where low7 >= 'A', resp. where low7 > 'Z'
     * (no byte carries into the next: low7 + 0x3f <= 0xbe). */
    uint64_t ge_a = low7 + (0x80 - 'A') * ONES;
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ONES;
    uint64_t upper = ge_a & ~gt_z & ~w & (0x80 * ONES);
    return w | (upper >> 2);
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Load name (len <= CMD_NAME_MAX) into w, folded to lower case, with a
 * few whole-word loads that may overlap (the first and the last bytes of
 * the name) rather than a loop over its bytes.  Which bytes go where
 * depends only on len, so two names of the same length load the same
 * words exactly when they are equal; the length is compared too. */
static inline void load_name(const char *name, size_t len, uint64_t w[3])
{
    w[1] = w[2] = 0;
    if (len >= 9) {
        w[0] = fold_word(load64(name));
        if (len <= 16) {
            w[1] = fold_word(load64(name + len - 8));
        } else {
            w[1] = fold_word(load64(name + 8));
            w[2] = fold_word(load64(name + len - 8));
        }
    } else if (len >= 4) {
        w[0] = fold_word(load32(name) | load32(name + len - 4) << 32);
    } else if (len > 0) {
        const unsigned char *b = (const unsigned char *)name;
        w[0] = fold_word(b[0] | (uint64_t)b[len >> 1] << 8 | (uint64_t)b[len - 1] << 16);
    } else {
        w[0] = 0;
    }
}

static inline size_t slot_of(const cmd_index *idx, const uint64_t w[3], size_t len)
{
    uint64_t h = w[0] ^ ((w[1] << 21) | (w[1] >> 43)) ^ ((w[2] << 42) | (w[2] >> 22)) ^ len;
    return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> idx->shift);
}

static inline int slot_matches(const cmd_slot *slot, const uint64_t w[3], size_t len)
{
    return slot->len == len && slot->w[0] == w[0] && slot->w[1] == w[1] && slot->w[2] == w[2];
}

void cmd_table_load(cairn_engine *e)
{
    long n = 0;
    for (int f = 0; cmd_families[f]; f++)
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++)
            n++;
    /* At most half full, so probe sequences stay short. */
    size_t size = 16;
    unsigned bits = 4;
    while (size < (size_t)n * 2) {
        size *= 2;
        bits++;
    }
    cmd_index *idx = cm_calloc(1, sizeof(*idx) + size * sizeof(cmd_slot));
    idx->shift = 64 - bits;
    idx->mask = size - 1;
    for (int f = 0; cmd_families[f]; f++) {
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            size_t len = strlen(cmd->name);
            if (len > CMD_NAME_MAX) abort(); /* raise CMD_NAME_MAX */
            uint64_t w[3];
            load_name(cmd->name, len, w);
            size_t i = slot_of(idx, w, len);
            int dup = 0;
            for (; idx->slots[i].cmd; i = (i + 1) & idx->mask)
                if (slot_matches(&idx->slots[i], w, len)) dup = 1;
            if (dup) continue; /* the first definition of a name wins */
            idx->slots[i] =
                (cmd_slot){{w[0], w[1], w[2]}, (uint32_t)len, cmd, cmdstats_of(e->cmdstats, cmd)};
            idx->count++;
        }
    }
    e->commands = idx;
}

/* Linear probing's deletion: empty slot i, then move back every entry of
 * the cluster after it whose home slot is not between the hole and the
 * entry, so that every lookup still finds its entry. */
static void remove_slot(cmd_index *idx, size_t i)
{
    idx->slots[i].cmd = NULL;
    for (size_t j = (i + 1) & idx->mask; idx->slots[j].cmd; j = (j + 1) & idx->mask) {
        size_t k = slot_of(idx, idx->slots[j].w, idx->slots[j].len);
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        idx->slots[i] = idx->slots[j];
        idx->slots[j].cmd = NULL;
        i = j;
    }
    idx->count--;
}

const char *cmd_rename(cairn_engine *e, const char *from, size_t flen, const char *to, size_t tlen)
{
    cmd_index *idx = e->commands;
    if (flen > CMD_NAME_MAX) return "No such command in rename-command";
    uint64_t w[3];
    load_name(from, flen, w);
    size_t i = slot_of(idx, w, flen);
    while (idx->slots[i].cmd && !slot_matches(&idx->slots[i], w, flen))
        i = (i + 1) & idx->mask;
    const cmd_def *cmd = idx->slots[i].cmd;
    if (!cmd) return "No such command in rename-command";
    if (tlen > CMD_NAME_MAX) return "New command name is too long";
    if (tlen && cmd_lookup(e, to, tlen)) return "Target command name already exists";
    remove_slot(idx, i);
    if (tlen == 0) return NULL; /* renamed to "": gone */
    load_name(to, tlen, w);
    for (i = slot_of(idx, w, tlen); idx->slots[i].cmd; i = (i + 1) & idx->mask) {
    }
    idx->slots[i] = (cmd_slot){{w[0], w[1], w[2]}, (uint32_t)tlen, cmd};
    idx->count++;
    return NULL;
}

void cmd_table_free(cairn_engine *e)
{
    cm_free(e->commands);
    e->commands = NULL;
}

uint32_t cmd_categories(const cmd_def *cmd)
{
    uint32_t acl = cmd->acl;
    if (cmd->flags & CMD_WRITE) acl |= ACL_WRITE;
    if ((cmd->flags & CMD_READONLY) && !(acl & ACL_SCRIPTING)) acl |= ACL_READ;
    if (cmd->flags & CMD_ADMIN) acl |= ACL_ADMIN | ACL_DANGEROUS;
    if (cmd->flags & CMD_PUBSUB) acl |= ACL_PUBSUB;
    if (cmd->flags & CMD_FAST) acl |= ACL_FAST;
    if (cmd->flags & CMD_BLOCKING) acl |= ACL_BLOCKING;
    if (!(acl & ACL_FAST)) acl |= ACL_SLOW;
    return acl;
}

long cmd_count(const cairn_engine *e) { return e->commands->count; }

const cmd_def *cmd_lookup_stats(cairn_engine *e, const char *name, size_t len, cmd_stats **stats)
{
    if (len > CMD_NAME_MAX) return NULL;
    const cmd_index *idx = e->commands;
    uint64_t w[3];
    load_name(name, len, w);
    for (size_t i = slot_of(idx, w, len); idx->slots[i].cmd; i = (i + 1) & idx->mask) {
        if (slot_matches(&idx->slots[i], w, len)) {
            *stats = idx->slots[i].stats;
            return idx->slots[i].cmd;
        }
    }
    return NULL;
}

const cmd_def *cmd_lookup(cairn_engine *e, const char *name, size_t len)
{
    cmd_stats *stats;
    return cmd_lookup_stats(e, name, len, &stats);
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
