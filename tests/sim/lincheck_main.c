/* lincheck_main.c -- cairn-lincheck: the simulator's linearizability
 * checker (lincheck.c) over a history recorded by real clients.
 *
 * The integration tests record what their clients did against a group of
 * real cairn-server processes and pipe it here, so a live group is held
 * to the same standard as the simulated one.  One operation per line:
 *
 *     <key> W <known> <value> <old> <call> <ret>   SET key value GET
 *     <key> R 1 <value> 0 <call> <ret>             GET key
 *
 * Values are unsigned integers (0: the key does not exist); call and ret
 * are the client's monotonic clock before sending and after the reply.  A
 * write whose outcome is unknown (an error, a broken connection) has
 * known 0 and ret "inf": it may have happened at any time after its call.
 * Each key is a register of its own, checked from the value 0; every
 * write writes a value no other write of that key writes.
 *
 * Reads the file named by its argument, else standard input.  Prints one
 * line per key and exits 0 if every key's history is
 * linearizable, 1 if one is not, 2 on bad input or when the search gave
 * up (too many overlapping operations to decide). */
#include "lincheck.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY   64
#define MAX_STEPS 200000000ull

typedef struct rec {
    char key[MAX_KEY];
    lin_op op;
} rec;

typedef struct history {
    rec *v;
    size_t n, cap;
} history;

static int parse_u64(const char *s, uint64_t *out)
{
    if (strcmp(s, "inf") == 0) {
        *out = LIN_INF;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

/* One line into r; -1 if it is not an operation. */
static int parse_line(char *line, rec *r)
{
    char *f[7];
    int n = 0;
    for (char *tok = strtok(line, " \t\n"); tok && n < 7; tok = strtok(NULL, " \t\n"))
        f[n++] = tok;
    if (n != 7 || strlen(f[0]) >= MAX_KEY) return -1;
    if (strcmp(f[1], "W") != 0 && strcmp(f[1], "R") != 0) return -1;
    memset(r, 0, sizeof(*r));
    strcpy(r->key, f[0]);
    r->op.kind = f[1][0] == 'W' ? LIN_WRITE : LIN_READ;
    uint64_t known;
    if (parse_u64(f[2], &known) || parse_u64(f[3], &r->op.value) || parse_u64(f[4], &r->op.old) ||
        parse_u64(f[5], &r->op.call) || parse_u64(f[6], &r->op.ret))
        return -1;
    r->op.known = known != 0;
    if (r->op.call == LIN_INF || r->op.ret < r->op.call) return -1;
    if (r->op.kind == LIN_READ && r->op.ret == LIN_INF) return -1;
    return 0;
}

static int read_history(FILE *in, history *h)
{
    char line[512];
    size_t lineno = 0;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        if (line[0] == '\n' || line[0] == '#') continue;
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 1024;
            rec *v = realloc(h->v, cap * sizeof(rec));
            if (!v) {
                fprintf(stderr, "cairn-lincheck: out of memory\n");
                return -1;
            }
            h->v = v;
            h->cap = cap;
        }
        if (parse_line(line, &h->v[h->n]) != 0) {
            fprintf(stderr, "cairn-lincheck: line %zu is not an operation\n", lineno);
            return -1;
        }
        h->n++;
    }
    if (ferror(in)) {
        fprintf(stderr, "cairn-lincheck: read error: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const rec *)a)->key, ((const rec *)b)->key);
}

/* Did an operation of v[0..n) see value: read it, or overwrite it? */
static int observed(const rec *v, size_t n, uint64_t value)
{
    for (size_t i = 0; i < n; i++) {
        const lin_op *op = &v[i].op;
        if (op->kind == LIN_READ ? op->value == value : op->known && op->old == value) return 1;
    }
    return 0;
}

/* Checks h->v[from..to), one key's operations; returns lin_check's code.
 * A write of unknown outcome whose value nobody saw is left out: it can
 * always be placed after every other operation, so it changes nothing,
 * and each one kept doubles what the search may have to explore. */
static int check_key(const history *h, size_t from, size_t to)
{
    lin_op *ops = malloc((to - from) * sizeof(lin_op));
    if (!ops) return LIN_NOMEM;
    size_t kept = 0;
    for (size_t i = from; i < to; i++) {
        const lin_op *op = &h->v[i].op;
        if (op->kind == LIN_READ || op->known || observed(&h->v[from], to - from, op->value))
            ops[kept++] = *op;
    }
    int rc = lin_check(ops, kept, 0, MAX_STEPS);
    free(ops);
    return rc;
}

int main(int argc, char **argv)
{
    FILE *in = stdin;
    if (argc > 1 && !(in = fopen(argv[1], "r"))) {
        fprintf(stderr, "cairn-lincheck: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    history h = {0};
    int bad = read_history(in, &h);
    if (in != stdin) fclose(in);
    if (bad) {
        free(h.v);
        return 2;
    }
    qsort(h.v, h.n, sizeof(rec), by_key);
    int status = 0;
    for (size_t from = 0, to; from < h.n; from = to) {
        for (to = from + 1; to < h.n && strcmp(h.v[to].key, h.v[from].key) == 0; to++)
            ;
        int rc = check_key(&h, from, to);
        const char *what = rc == LIN_OK          ? "linearizable"
                           : rc == LIN_VIOLATION ? "NOT linearizable"
                           : rc == LIN_GAVE_UP   ? "undecided (search gave up)"
                                                 : "out of memory";
        printf("%s: %zu operations, %s\n", h.v[from].key, to - from, what);
        if (rc == LIN_VIOLATION)
            status = 1;
        else if (rc != LIN_OK && status == 0)
            status = 2;
    }
    free(h.v);
    return status;
}
