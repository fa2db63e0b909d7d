/* blocking.c -- parking sessions on keys and serving them in order; see
 * blocking.h.
 *
 * Each db maps a key to the FIFO queue of sessions parked on it; after
 * each command the engine serves the keys that command made ready, so
 * only sessions whose key became ready are looked at.  Sessions with a
 * timeout are also in a binary min-heap ordered by deadline (then by
 * arrival), so finding the next timeout and expiring the due ones costs
 * O(log n), not a scan of every parked session.  A parked session holds a
 * copy of its command, which is simply run again: the handler decides
 * whether it can be served now. */
#include "blocking.h"

#include <math.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "acl.h"
#include "cmd.h"
#include "db.h"
#include "evict.h"
#include "monitor.h"
#include "multi.h"
#include "pubsub.h"
#include "tracking.h"

struct blocked_state {
    cairn_session *s;
    const cmd_def *cmd;
    int argc;
    dstr *argv;   /* the command, copied: the client's buffer moves on */
    cslice *args; /* the same as slices, to run it again without allocating */
    int db;
    int nkeys;
    dstr *keys; /* distinct keys waited on */
    int64_t timeout_ms;
    uint64_t seq;    /* arrival order: breaks ties between equal deadlines */
    size_t heap_pos; /* index in the timeout heap + 1; 0: not in it */
    int on_signal;   /* parked by block_for_signal(): in e->sig_waiters */
};

/* ---- The timeout heap -------------------------------------------------- */

static int due_before(const blocked_state *a, const blocked_state *b)
{
    return a->timeout_ms != b->timeout_ms ? a->timeout_ms < b->timeout_ms : a->seq < b->seq;
}

static void heap_place(cairn_engine *e, size_t i, blocked_state *bs)
{
    e->tmo_heap[i] = bs;
    bs->heap_pos = i + 1;
}

static void heap_up(cairn_engine *e, size_t i)
{
    blocked_state *bs = e->tmo_heap[i];
    while (i > 0 && due_before(bs, e->tmo_heap[(i - 1) / 2])) {
        heap_place(e, i, e->tmo_heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_place(e, i, bs);
}

static void heap_down(cairn_engine *e, size_t i)
{
    blocked_state *bs = e->tmo_heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= e->tmo_n) break;
        if (child + 1 < e->tmo_n && due_before(e->tmo_heap[child + 1], e->tmo_heap[child])) child++;
        if (!due_before(e->tmo_heap[child], bs)) break;
        heap_place(e, i, e->tmo_heap[child]);
        i = child;
    }
    heap_place(e, i, bs);
}

static void heap_push(cairn_engine *e, blocked_state *bs)
{
    if (e->tmo_n == e->tmo_cap) {
        e->tmo_cap = e->tmo_cap ? e->tmo_cap * 2 : 16;
        e->tmo_heap = cm_realloc(e->tmo_heap, e->tmo_cap * sizeof(*e->tmo_heap));
    }
    e->tmo_heap[e->tmo_n++] = bs;
    heap_up(e, e->tmo_n - 1);
}

static void heap_remove(cairn_engine *e, blocked_state *bs)
{
    size_t i = bs->heap_pos - 1;
    bs->heap_pos = 0;
    blocked_state *last = e->tmo_heap[--e->tmo_n];
    if (last == bs) return;
    heap_place(e, i, last);
    if (i > 0 && due_before(last, e->tmo_heap[(i - 1) / 2]))
        heap_up(e, i);
    else
        heap_down(e, i);
}

/* ---- Queues per key ---------------------------------------------------- */

typedef struct blocked_queue {
    blocked_state **items;
    size_t n, cap;
} blocked_queue;

static void queue_free(void *q)
{
    blocked_queue *bq = q;
    cm_free(bq->items);
    cm_free(bq);
}

static void queue_push(cdb *db, const char *key, size_t len, blocked_state *bs)
{
    if (!db->blocking) db->blocking = dict_create(db->keys->seed, queue_free, 0);
    dict_entry *de = dict_find(db->blocking, key, len);
    if (!de) {
        de = dict_add(db->blocking, dstr_new(key, len), NULL);
        de->v.ptr = cm_calloc(1, sizeof(blocked_queue));
    }
    blocked_queue *q = de->v.ptr;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 4;
        q->items = cm_realloc(q->items, q->cap * sizeof(*q->items));
    }
    q->items[q->n++] = bs;
}

static void queue_remove(cdb *db, const char *key, size_t len, blocked_state *bs)
{
    dict_entry *de = dict_find(db->blocking, key, len);
    if (!de) return;
    blocked_queue *q = de->v.ptr;
    for (size_t i = 0; i < q->n; i++) {
        if (q->items[i] != bs) continue;
        memmove(q->items + i, q->items + i + 1, (q->n - i - 1) * sizeof(*q->items));
        q->n--;
        break;
    }
    if (q->n == 0) dict_delete(db->blocking, key, len);
}

static int has_key(const blocked_state *bs, const cslice *key)
{
    for (int i = 0; i < bs->nkeys; i++)
        if (dstr_len(bs->keys[i]) == key->len && memcmp(bs->keys[i], key->ptr, key->len) == 0)
            return 1;
    return 0;
}

/* Inside a transaction nothing may wait: behave as without a block. */
static int can_block(const cmd_call *c)
{
    return (c->s->flags & SESS_CAN_BLOCK) && c->s->out && !(c->s->flags & SESS_IN_EXEC);
}

/* Park the calling session with a copy of its command, on no key yet. */
static blocked_state *park(cmd_call *c, int64_t timeout_ms)
{
    cairn_engine *e = c->e;
    blocked_state *bs = cm_calloc(1, sizeof(*bs));
    bs->s = c->s;
    bs->cmd = c->cmd;
    bs->db = c->db->id;
    bs->timeout_ms = timeout_ms;
    bs->seq = e->block_seq++;
    bs->argc = c->argc;
    bs->argv = cm_malloc(sizeof(dstr) * (size_t)c->argc);
    bs->args = cm_malloc(sizeof(cslice) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) {
        bs->argv[i] = dstr_new(c->argv[i].ptr, c->argv[i].len);
        bs->args[i] = (cslice){bs->argv[i], c->argv[i].len};
    }
    if (timeout_ms) heap_push(e, bs);
    e->blocked_count++;
    c->s->blocked = bs;
    return bs;
}

int block_for_keys(cmd_call *c, const cslice *keys, int nkeys, int64_t timeout_ms)
{
    /* Run again while parked: stay parked, in the same place. */
    if (c->retry) {
        c->retry = RETRY_PARKED_AGAIN;
        return 1;
    }
    if (!can_block(c)) return 0;
    blocked_state *bs = park(c, timeout_ms);
    bs->keys = cm_malloc(sizeof(dstr) * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) {
        if (has_key(bs, &keys[i])) continue;
        bs->keys[bs->nkeys++] = dstr_new(keys[i].ptr, keys[i].len);
        queue_push(c->db, keys[i].ptr, keys[i].len, bs);
    }
    return 1;
}

int block_for_signal(cmd_call *c, int64_t timeout_ms)
{
    if (c->retry == RETRY_FINAL) return 0;
    if (c->retry) {
        c->retry = RETRY_PARKED_AGAIN;
        return 1;
    }
    if (!can_block(c)) return 0;
    cairn_engine *e = c->e;
    blocked_state *bs = park(c, timeout_ms);
    bs->on_signal = 1;
    if (e->nsig == e->sig_cap) {
        e->sig_cap = e->sig_cap ? e->sig_cap * 2 : 4;
        e->sig_waiters = cm_realloc(e->sig_waiters, e->sig_cap * sizeof(*e->sig_waiters));
    }
    e->sig_waiters[e->nsig++] = bs;
    return 1;
}

static void sig_remove(cairn_engine *e, blocked_state *bs)
{
    for (size_t i = 0; i < e->nsig; i++) {
        if (e->sig_waiters[i] != bs) continue;
        memmove(e->sig_waiters + i, e->sig_waiters + i + 1, (e->nsig - i - 1) * sizeof(bs));
        e->nsig--;
        return;
    }
}

/* Forget a parked session: off its keys' queues and the timeout heap. */
static void unpark(cairn_engine *e, blocked_state *bs)
{
    cdb *db = &e->dbs[bs->db];
    for (int i = 0; i < bs->nkeys; i++) {
        queue_remove(db, bs->keys[i], dstr_len(bs->keys[i]), bs);
        dstr_free(bs->keys[i]);
    }
    if (bs->heap_pos) heap_remove(e, bs);
    if (bs->on_signal) sig_remove(e, bs);
    e->blocked_count--;
    for (int i = 0; i < bs->argc; i++)
        dstr_free(bs->argv[i]);
    cm_free(bs->argv);
    cm_free(bs->args);
    cm_free(bs->keys);
    bs->s->blocked = NULL;
    cm_free(bs);
}

/* The session's wait is over and its reply written: tell the host. */
static void release(cairn_engine *e, blocked_state *bs)
{
    cairn_session *s = bs->s;
    unpark(e, bs);
    if (e->host && e->host->unblocked) e->host->unblocked(e->host_priv, s);
}

/* Serve (key, db) after the command that runs now, once. */
static void push_ready(cairn_engine *e, int db, const cslice *key)
{
    for (int i = 0; i < e->nready; i++)
        if (e->ready[i].db == db && (db < 0 || (dstr_len(e->ready[i].key) == key->len &&
                                                memcmp(e->ready[i].key, key->ptr, key->len) == 0)))
            return;
    if (e->nready == e->ready_cap) {
        e->ready_cap = e->ready_cap ? e->ready_cap * 2 : 4;
        e->ready = cm_realloc(e->ready, sizeof(*e->ready) * (size_t)e->ready_cap);
    }
    e->ready[e->nready].db = db;
    e->ready[e->nready].key = key ? dstr_new(key->ptr, key->len) : NULL;
    e->nready++;
}

void signal_key_ready(cairn_engine *e, cdb *db, const cslice *key)
{
    if (!db->blocking || !dict_find(db->blocking, key->ptr, key->len)) return;
    push_ready(e, db->id, key);
}

/* The sessions of block_for_signal() go through the ready list (as db -1)
 * so that a command's end checks nothing more than it did. */
void signal_waiters(cairn_engine *e)
{
    if (e->nsig) push_ready(e, -1, NULL);
}

void signal_db_ready(cairn_engine *e, cdb *db)
{
    if (!db->blocking) return;
    dict_iter it;
    dict_iter_start(&it, db->blocking);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        cslice key = {de->key, dstr_len(de->key)};
        if (db_find(db, &key)) signal_key_ready(e, db, &key);
    }
    dict_iter_end(&it);
}

void signal_db_streams(cairn_engine *e, cdb *db)
{
    if (!db->blocking) return;
    dict_iter it;
    dict_iter_start(&it, db->blocking);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        cslice key = {de->key, dstr_len(de->key)};
        cobj *o = db_find(db, &key);
        if (o && o->type == OBJ_STREAM) signal_key_ready(e, db, &key);
    }
    dict_iter_end(&it);
}

int arg_timeout(cmd_call *c, int i, int64_t *timeout_ms)
{
    long double secs;
    if (!str_to_ldouble(c->argv[i].ptr, c->argv[i].len, &secs) || !isfinite(secs)) {
        reply_error(c->out, "ERR timeout is not a float or out of range");
        return 0;
    }
    if (secs < 0) {
        reply_error(c->out, "ERR timeout is negative");
        return 0;
    }
    long double ms = secs * 1000;
    if (ms > (long double)(INT64_MAX / 2)) {
        reply_error(c->out, "ERR timeout is out of range");
        return 0;
    }
    /* Round up so a tiny positive timeout never means "forever". */
    int64_t rel = (int64_t)ceill(ms);
    *timeout_ms = rel > 0 ? c->now_ms + rel : 0;
    return 1;
}

int arg_timeout_ms(cmd_call *c, int i, int64_t *timeout_ms)
{
    long long ms;
    if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, &ms)) {
        reply_error(c->out, "ERR timeout is not an integer or out of range");
        return 0;
    }
    if (ms < 0) {
        reply_error(c->out, "ERR timeout is negative");
        return 0;
    }
    if (ms > INT64_MAX / 2 - c->now_ms) {
        reply_error(c->out, "ERR timeout is out of range");
        return 0;
    }
    *timeout_ms = ms > 0 ? c->now_ms + ms : 0;
    return 1;
}

/* Run a parked command again.  Returns 1 if it was served (it did not
 * park itself again). */
static int retry_parked(cairn_engine *e, blocked_state *bs, int64_t now_us)
{
    cmd_call c;
    engine_call_init(&c, e, bs->s, bs->cmd, bs->argc, bs->args, now_us, bs->s->out);
    c.retry = RETRY_RUNNING;
    bs->cmd->proc(&c);
    int served = c.retry != RETRY_PARKED_AGAIN;
    engine_call_finish(&c);
    return served;
}

/* Serve the sessions parked on one ready key, oldest first, until none
 * can be served.  The key may be gone (each served pop may empty it, and
 * a deleted stream is news to XREADGROUP): the handlers decide. */
static void serve_key(cairn_engine *e, int dbid, const dstr key, int64_t now_us)
{
    cdb *db = &e->dbs[dbid];
    cslice serving = {key, dstr_len(key)};
    e->serving_key = &serving;
    for (;;) {
        dict_entry *de = db->blocking ? dict_find(db->blocking, key, dstr_len(key)) : NULL;
        if (!de) break;
        blocked_queue *q = de->v.ptr;
        size_t i = 0;
        while (i < q->n && !retry_parked(e, q->items[i], now_us))
            i++;
        if (i == q->n) break; /* nobody could be served */
        release(e, q->items[i]);
    }
    e->serving_key = NULL;
}

/* Run the sessions of block_for_signal() again, oldest first; those
 * served leave the list (running one never unparks another). */
static void serve_signalled(cairn_engine *e, int64_t now_us)
{
    size_t i = 0;
    while (i < e->nsig) {
        blocked_state *bs = e->sig_waiters[i];
        if (retry_parked(e, bs, now_us))
            release(e, bs);
        else
            i++;
    }
}

void engine_serve_ready(cairn_engine *e, int64_t now_us)
{
    /* Serving may make more keys ready (BLMOVE pushes): loop until none. */
    while (e->nready > 0) {
        struct ready_key rk = e->ready[0];
        memmove(e->ready, e->ready + 1, sizeof(*e->ready) * (size_t)(e->nready - 1));
        e->nready--;
        if (rk.db < 0)
            serve_signalled(e, now_us);
        else
            serve_key(e, rk.db, rk.key, now_us);
        dstr_free(rk.key);
    }
}

/* A session of block_for_signal() whose wait ends without an error: its
 * command runs once more, to reply (from the host's timer: in the
 * engine's memory brackets, as engine_execute). */
static void run_final(cairn_engine *e, blocked_state *bs, int64_t now_us)
{
    engine_mem_enter(e);
    cmd_call c;
    engine_call_init(&c, e, bs->s, bs->cmd, bs->argc, bs->args, now_us, bs->s->out);
    c.retry = RETRY_FINAL;
    bs->cmd->proc(&c);
    engine_call_finish(&c);
    release(e, bs);
    engine_mem_leave(e);
}

/* A wait that ended without the command being served (a timeout, CLIENT
 * UNBLOCK): the call was counted when it parked; an error ending it makes
 * it a failed one, as in Redis. */
static void count_call(cairn_engine *e, const blocked_state *bs, int failed)
{
    cmd_stats *st = cmdstats_of(e->cmdstats, bs->cmd);
    if (st) cmdstats_record(st, -1, 0, failed, 0);
    e->err_seen = e->errstats.total;
}

void engine_block_timeouts(cairn_engine *e, int64_t now_ms)
{
    /* Releasing takes the session off the heap. */
    while (e->tmo_n && e->tmo_heap[0]->timeout_ms <= now_ms) {
        blocked_state *bs = e->tmo_heap[0];
        if (bs->on_signal) {
            run_final(e, bs, now_ms * 1000);
            continue;
        }
        reply_null_array(bs->s->out);
        count_call(e, bs, 0);
        release(e, bs);
    }
}

int64_t engine_next_block_timeout(const cairn_engine *e)
{
    return e->tmo_n ? e->tmo_heap[0]->timeout_ms : 0;
}

long engine_blocked_with_timeout(const cairn_engine *e) { return (long)e->tmo_n; }

int engine_unblock(cairn_engine *e, cairn_session *s, int with_error)
{
    if (!s->blocked) return 0;
    if (!with_error && s->blocked->on_signal) {
        /* due at once: the timeout path runs it to reply */
        blocked_state *bs = s->blocked;
        if (bs->heap_pos) heap_remove(e, bs);
        bs->timeout_ms = 1;
        heap_push(e, bs);
        return 1;
    }
    if (with_error)
        reply_error(s->out, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        reply_null_array(s->out);
    count_call(e, s->blocked, with_error);
    release(e, s->blocked);
    return 1;
}

/* Every session of block_for_signal() and every one parked on keys (all,
 * or only those in a write) gets the error for a master turned replica;
 * close: and its connection closes after it. */
static void unblock_role_changed(cairn_engine *e, int all, int close)
{
    if (!e->blocked_count) return;
    /* The sessions first: releasing one changes the queues. */
    cairn_session **ss = cm_malloc((size_t)e->blocked_count * sizeof(*ss));
    long n = 0;
    for (size_t i = 0; i < e->nsig; i++)
        ss[n++] = e->sig_waiters[i]->s;
    for (int d = 0; d < e->ndbs; d++) {
        if (!e->dbs[d].blocking) continue;
        dict_iter it;
        dict_iter_start(&it, e->dbs[d].blocking);
        dict_entry *de;
        while ((de = dict_iter_next(&it))) {
            blocked_queue *q = de->v.ptr;
            for (size_t i = 0; i < q->n; i++) {
                blocked_state *bs = q->items[i];
                /* listed once: under its first key */
                if ((all || (bs->cmd->flags & CMD_WRITE)) &&
                    dstr_len(bs->keys[0]) == dstr_len(de->key) &&
                    memcmp(bs->keys[0], de->key, dstr_len(de->key)) == 0)
                    ss[n++] = bs->s;
            }
        }
        dict_iter_end(&it);
    }
    for (long i = 0; i < n; i++) {
        reply_error(ss[i]->out, UNBLOCKED_ROLE_CHANGED);
        if (close) ss[i]->flags |= SESS_CLOSE_AFTER_REPLY;
        count_call(e, ss[i]->blocked, 1);
        release(e, ss[i]->blocked);
    }
    cm_free(ss);
}

void engine_unblock_writers(cairn_engine *e) { unblock_role_changed(e, 0, 0); }

void engine_disconnect_blocked(cairn_engine *e) { unblock_role_changed(e, 1, 1); }

void engine_session_gone(cairn_engine *e, cairn_session *s)
{
    if (s->blocked) unpark(e, s->blocked);
    multi_session_reset(e, s);
    pubsub_session_reset(e, s);
    tracking_session_reset(e, s);
    acl_session_gone(e, s);
    monitor_remove(e, s);
}
