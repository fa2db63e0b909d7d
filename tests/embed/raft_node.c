/* raft_node.c -- an embedded member of a Raft group for the integration
 * tests (tests/integration/test_repl_embed.py).
 *
 *     raft_node DIR ID PEERS SECRET [TIMEOUT_MS [NAME VALUE]...]
 *
 * opens a libcairn handle as member ID of the group PEERS (raft-peers
 * syntax), with the settings NAME VALUE (cairn_options.config: the names
 * of cairn-server's configuration), prints "ready", then runs commands through cairn_command(): one
 * JSON array of strings per line on stdin, one JSON value per line on
 * stdout (strings, integers, null, arrays; an error reply as
 * {"error": text}; a failed call as {"rc": code, "msg": text}).  It closes
 * the handle and exits 0 at the end of stdin. */
#include <cairn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64
#define MAX_LINE 65536

static void put_string(const char *s, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void put_reply(const cairn_reply *r)
{
    switch (r->type) {
    case CAIRN_REPLY_STRING:
    case CAIRN_REPLY_STATUS:
    case CAIRN_REPLY_DOUBLE:
    case CAIRN_REPLY_BIGNUM:
    case CAIRN_REPLY_VERB: put_string(r->str, r->len); break;
    case CAIRN_REPLY_INTEGER:
    case CAIRN_REPLY_BOOL: printf("%lld", r->integer); break;
    case CAIRN_REPLY_NIL: printf("null"); break;
    case CAIRN_REPLY_ERROR:
        printf("{\"error\": ");
        put_string(r->str, r->len);
        putchar('}');
        break;
    default:
        putchar('[');
        for (size_t i = 0; i < r->elements; i++) {
            if (i) putchar(',');
            put_reply(r->element[i]);
        }
        putchar(']');
    }
}

/* Parse a JSON array of plain strings (the tests send no escapes but \",
 * \\ and \n) into argv, in place.  Returns argc, or -1. */
static int parse_line(char *line, char **argv, size_t *lens)
{
    char *p = strchr(line, '[');
    int argc = 0;
    if (!p) return -1;
    for (p++; *p && *p != ']'; p++) {
        if (*p != '"') continue;
        if (argc == MAX_ARGS) return -1;
        char *out = ++p;
        argv[argc] = out;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) {
                *out++ = p[1] == 'n' ? '\n' : p[1];
                p += 2;
                continue;
            }
            *out++ = *p++;
        }
        if (!*p) return -1;
        lens[argc] = (size_t)(out - argv[argc]);
        argc++;
    }
    return argc;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (argc > 6 && argc % 2 != 0)) {
        fprintf(stderr, "usage: %s DIR ID PEERS SECRET [TIMEOUT_MS [NAME VALUE]...]\n", argv[0]);
        return 2;
    }
    static const char *config[MAX_ARGS + 3] = {"enable-debug-command", "yes"};
    for (int i = 6, k = 2; i + 1 < argc && k + 2 < MAX_ARGS; i += 2, k += 2) {
        config[k] = argv[i];
        config[k + 1] = argv[i + 1];
    }
    cairn_options opts;
    cairn_options_init(&opts);
    opts.dir = argv[1];
    opts.raft_id = atoi(argv[2]);
    opts.raft_peers = argv[3];
    opts.raft_secret = argv[4];
    opts.raft_timeout_ms = argc >= 6 ? atoi(argv[5]) : 10000;
    opts.config = config;
    cairn *db;
    int rc = cairn_open(&opts, &db);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "cairn_open: %s: %s\n", cairn_errstr(rc), cairn_errmsg(db));
        cairn_close(db);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    static char line[MAX_LINE];
    char *args[MAX_ARGS];
    size_t lens[MAX_ARGS];
    while (fgets(line, sizeof(line), stdin)) {
        int n = parse_line(line, args, lens);
        if (n < 1) {
            printf("{\"rc\": -1, \"msg\": \"bad request\"}\n");
            fflush(stdout);
            continue;
        }
        cairn_reply *r;
        rc = cairn_command(db, n, (const char *const *)args, lens, &r);
        if (rc != CAIRN_OK) {
            printf("{\"rc\": %d, \"msg\": ", rc);
            const char *msg = cairn_errmsg(db);
            put_string(msg, strlen(msg));
            printf("}\n");
        } else {
            if (r)
                put_reply(r);
            else
                printf("null");
            putchar('\n');
            cairn_reply_free(r);
        }
        fflush(stdout);
    }
    cairn_close(db);
    return 0;
}
