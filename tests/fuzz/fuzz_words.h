/* fuzz_words.h -- the words the command fuzzers build commands from:
 * every command and subcommand of the table (cmd_families), and a
 * vocabulary of keys, numbers and keywords that makes arguments meet. */
#ifndef CAIRN_FUZZ_WORDS_H
#define CAIRN_FUZZ_WORDS_H

#include <string.h>

#include "engine/cmd.h"
#include "fuzz.h"

/* A command as words: the command, and its subcommand if it has one. */
typedef struct cmd_name {
    char name[48];
    char sub[48];
} cmd_name;

static cmd_name *names; /* loaded on first use */
static int nnames;

static const char *const vocabulary[] = {
    "k0",
    "k1",
    "k2",
    "{t}a",
    "{t}b",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "10",
    "100",
    "-100",
    "1.5",
    "0.1",
    "+inf",
    "-inf",
    "inf",
    "nan",
    "2147483647",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "",
    "*",
    "?",
    "[a-z]",
    "a",
    "b",
    "c",
    "field",
    "member",
    "value",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "PERSIST",
    "GET",
    "WITHSCORES",
    "WITHSCORE",
    "LIMIT",
    "COUNT",
    "MATCH",
    "TYPE",
    "BYSCORE",
    "BYLEX",
    "REV",
    "(1",
    "[a",
    "-",
    "+",
    "$",
    ">",
    "0-0",
    "0-1",
    "1-1",
    "MAXLEN",
    "MINID",
    "~",
    "=",
    "NOMKSTREAM",
    "STREAMS",
    "GROUP",
    "g",
    "consumer",
    "MKSTREAM",
    "ID",
    "JUSTID",
    "IDLE",
    "FORCE",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "RANK",
    "MAXLEN",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "WEIGHTS",
    "STORE",
    "BY",
    "ASC",
    "DESC",
    "ALPHA",
    "REPLACE",
    "COPY",
    "DB",
    "ABSTTL",
    "FREQ",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "BIT",
    "BYTE",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "u8",
    "i16",
    "#1",
    "SET",
    "INCRBY",
    "WITHCOORD",
    "WITHDIST",
    "WITHHASH",
    "FROMMEMBER",
    "FROMLONLAT",
    "BYRADIUS",
    "BYBOX",
    "m",
    "km",
    "STORE",
    "STOREDIST",
    "ANY",
    "13.361389",
    "38.115556",
    "RESET",
    "ON",
    "OFF",
    "maxmemory",
    "maxmemory-policy",
    "allkeys-lru",
    "volatile-ttl",
    "allkeys-lfu",
    "1mb",
    "lazyfree-lazy-user-del",
    "yes",
    "no",
    "return 1",
    "return redis.call('set',KEYS[1],ARGV[1])",
    "return redis.call('incr',KEYS[1])",
    "redis.call('spop',KEYS[1])",
    ("#!lua name=lib\nredis.register_function('f', function(k, a) return redis.call('lpush', "
     "k[1], a[1]) end)"),
    "f",
    "lib",
    "FLUSH",
    "ASYNC",
    "SYNC",
    "LOAD",
    "DUMP",
    "ENCODING",
    "OBJECT",
    "user",
    ">pw",
    "+@all",
    "~*",
    "allkeys",
    "nopass",
    "on",
};

/* Every command and subcommand of the table, once. */
static inline void load_names(void)
{
    int cap = 512;
    names = calloc((size_t)cap, sizeof(*names));
    FUZZ_CHECK(names);
    for (int f = 0; cmd_families[f]; f++)
        for (const cmd_def *d = cmd_families[f]; d->name; d++) {
            const cmd_def *sub = d->subcommands;
            for (int i = 0; sub ? sub[i].name != NULL : i == 0; i++) {
                if (nnames == cap) {
                    names = realloc(names, sizeof(*names) * (size_t)(cap *= 2));
                    FUZZ_CHECK(names);
                }
                cmd_name *n = &names[nnames++];
                memset(n, 0, sizeof(*n));
                snprintf(n->name, sizeof(n->name), "%s", d->name);
                if (sub) {
                    const char *bar = strchr(sub[i].name, '|');
                    snprintf(n->sub, sizeof(n->sub), "%s", bar ? bar + 1 : sub[i].name);
                }
            }
        }
}

/* One argument: a word of the vocabulary, or up to 31 bytes of input. */
static inline cslice next_arg(fuzz_in *in)
{
    uint8_t pick = fuzz_u8(in);
    size_t nwords = sizeof(vocabulary) / sizeof(vocabulary[0]);
    if (pick < 200) {
        const char *w = vocabulary[(pick * 256u + fuzz_u8(in)) % nwords];
        return (cslice){w, strlen(w)};
    }
    size_t len;
    const uint8_t *p = fuzz_bytes(in, pick & 31, &len);
    return (cslice){(const char *)p, len};
}

/* A command of the table with up to max - 2 arguments after its name (and
 * subcommand).  Returns argc. */
static inline int next_command(fuzz_in *in, cslice *argv, int max)
{
    if (!names) load_names();
    const cmd_name *cn = &names[fuzz_u16(in) % nnames];
    int argc = 0;
    argv[argc++] = (cslice){cn->name, strlen(cn->name)};
    if (cn->sub[0]) argv[argc++] = (cslice){cn->sub, strlen(cn->sub)};
    int extra = fuzz_u8(in) % (max - argc + 1);
    for (int i = 0; i < extra; i++)
        argv[argc++] = next_arg(in);
    return argc;
}

#endif
