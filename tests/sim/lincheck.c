/* lincheck.c -- see lincheck.h. */
#include "lincheck.h"

#include <stdlib.h>
#include <string.h>

typedef struct ev {
    size_t op;
    int is_call;
    uint64_t t;
    struct ev *prev, *next, *match;
} ev;

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = *(ev *const *)a, *y = *(ev *const *)b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    /* at equal times calls come first: the operations overlap */
    if (x->is_call != y->is_call) return x->is_call ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

/* The memo: an open-addressing set of (bitset, value) configurations. */
typedef struct memo {
    size_t words;
    uint64_t *keys; /* cap * (words + 1) */
    uint8_t *used;
    size_t cap, count;
} memo;

static uint64_t memo_hash(const uint64_t *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static int memo_grow(memo *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024, kw = m->words + 1;
    uint64_t *keys = malloc(cap * kw * sizeof(uint64_t));
    uint8_t *used = calloc(cap, 1);
    if (!keys || !used) {
        free(keys);
        free(used);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i]) continue;
        const uint64_t *k = &m->keys[i * kw];
        size_t j = memo_hash(k, kw) & (cap - 1);
        while (used[j])
            j = (j + 1) & (cap - 1);
        used[j] = 1;
        memcpy(&keys[j * kw], k, kw * sizeof(uint64_t));
    }
    free(m->keys);
    free(m->used);
    m->keys = keys;
    m->used = used;
    m->cap = cap;
    return 0;
}

/* Insert k; returns 1 if it was new, 0 if seen, -1 on no memory. */
static int memo_add(memo *m, const uint64_t *k)
{
    size_t kw = m->words + 1;
    if ((m->count + 1) * 2 > m->cap && memo_grow(m) != 0) return -1;
    size_t j = memo_hash(k, kw) & (m->cap - 1);
    while (m->used[j]) {
        if (memcmp(&m->keys[j * kw], k, kw * sizeof(uint64_t)) == 0) return 0;
        j = (j + 1) & (m->cap - 1);
    }
    m->used[j] = 1;
    memcpy(&m->keys[j * kw], k, kw * sizeof(uint64_t));
    m->count++;
    return 1;
}

static int model_step(const lin_op *op, uint64_t state, uint64_t *next)
{
    if (op->kind == LIN_READ) {
        *next = state;
        return op->value == state;
    }
    *next = op->value;
    return !op->known || op->old == state;
}

static void lift(ev *e)
{
    e->prev->next = e->next;
    if (e->next) e->next->prev = e->prev;
    ev *m = e->match;
    m->prev->next = m->next;
    if (m->next) m->next->prev = m->prev;
}

static void unlift(ev *e)
{
    ev *m = e->match;
    m->prev->next = m;
    if (m->next) m->next->prev = m;
    e->prev->next = e;
    if (e->next) e->next->prev = e;
}

typedef struct frame {
    ev *e;
    uint64_t state;
} frame;

int lin_check(const lin_op *ops, size_t n, uint64_t init, uint64_t max_steps)
{
    if (n == 0) return LIN_OK;
    int rc = LIN_NOMEM;
    ev *evs = calloc(2 * n + 1, sizeof(ev));
    ev **order = calloc(2 * n, sizeof(ev *));
    memo m = {.words = (n + 63) / 64};
    uint64_t *key = calloc(m.words + 1, sizeof(uint64_t));
    frame *stack = calloc(n, sizeof(frame));
    if (!evs || !order || !key || !stack) goto out;
    for (size_t i = 0; i < n; i++) {
        evs[2 * i] = (ev){.op = i, .is_call = 1, .t = ops[i].call, .match = &evs[2 * i + 1]};
        evs[2 * i + 1] = (ev){.op = i, .is_call = 0, .t = ops[i].ret};
        order[2 * i] = &evs[2 * i];
        order[2 * i + 1] = &evs[2 * i + 1];
    }
    qsort(order, 2 * n, sizeof(ev *), cmp_ev);
    ev *head = &evs[2 * n];
    ev *prev = head;
    for (size_t i = 0; i < 2 * n; i++) {
        prev->next = order[i];
        order[i]->prev = prev;
        prev = order[i];
    }
    prev->next = NULL;

    uint64_t state = init, steps = 0;
    size_t depth = 0;
    uint64_t *bits = key; /* key = bits followed by the value */
    ev *e = head->next;
    while (head->next) {
        if (++steps > max_steps) {
            rc = LIN_GAVE_UP;
            goto out;
        }
        if (e->is_call) {
            uint64_t next;
            if (model_step(&ops[e->op], state, &next)) {
                bits[e->op / 64] |= 1ull << (e->op % 64);
                key[m.words] = next;
                int fresh = memo_add(&m, key);
                if (fresh < 0) goto out;
                if (fresh) {
                    stack[depth++] = (frame){e, state};
                    state = next;
                    lift(e);
                    e = head->next;
                    continue;
                }
                bits[e->op / 64] &= ~(1ull << (e->op % 64));
            }
            e = e->next;
        } else {
            /* a return reached with its call not linearized: backtrack */
            if (depth == 0) {
                rc = LIN_VIOLATION;
                goto out;
            }
            frame f = stack[--depth];
            state = f.state;
            bits[f.e->op / 64] &= ~(1ull << (f.e->op % 64));
            unlift(f.e);
            e = f.e->next;
        }
    }
    rc = LIN_OK;
out:
    free(evs);
    free(order);
    free(key);
    free(stack);
    free(m.keys);
    free(m.used);
    return rc;
}
