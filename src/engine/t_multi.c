/* t_multi.c -- MULTI, EXEC, DISCARD, WATCH, UNWATCH; see multi.h. */
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "cmd.h"
#include "db.h"
#include "multi.h"

typedef struct queued_cmd {
    const cmd_def *cmd;
    uint32_t flags; /* the command's flags for these arguments (cmd->flags_of) */
    int db;         /* the session's db when it was queued (see exec_command) */
    /* Drawn when queued; EXEC runs (and logs) the command with it, so a
     * replay that queues the logged entry runs it the same way. */
    uint64_t seed;
    int argc;
    dstr *argv;
} queued_cmd;

typedef struct watched_key {
    int db;
    /* The key was there but already expired when WATCHed: its deletion
     * is no change (Redis 7.0). */
    int expired;
    dstr key;
} watched_key;

struct multi_state {
    queued_cmd *queue;
    int nqueued, queue_cap;
    size_t queued_mem; /* allocated for the queued commands' arguments */
    watched_key *watched;
    int nwatched, watched_cap;
};

/* Sessions watching one key. */
typedef struct watchers {
    cairn_session **s;
    int n, cap;
} watchers;

static multi_state *state_of(cairn_session *s)
{
    if (!s->multi) s->multi = cm_calloc(1, sizeof(multi_state));
    return s->multi;
}

static void free_queue(multi_state *m)
{
    for (int i = 0; i < m->nqueued; i++) {
        for (int j = 0; j < m->queue[i].argc; j++)
            dstr_free(m->queue[i].argv[j]);
        cm_free(m->queue[i].argv);
    }
    m->nqueued = 0;
    m->queued_mem = 0;
}

/* The state is kept only while there is something in it. */
static void release_if_empty(cairn_session *s)
{
    multi_state *m = s->multi;
    if (!m || m->nqueued || m->nwatched || (s->flags & SESS_MULTI)) return;
    cm_free(m->queue);
    cm_free(m->watched);
    cm_free(m);
    s->multi = NULL;
}

void multi_discard(cairn_session *s)
{
    if (s->multi) free_queue(s->multi);
    s->flags &= ~(SESS_MULTI | SESS_DIRTY_EXEC | SESS_DIRTY_CAS);
    release_if_empty(s);
}

void multi_flag_error(cairn_session *s)
{
    if (s->flags & SESS_MULTI) s->flags |= SESS_DIRTY_EXEC;
    /* refused here (arity, ACL, ...): the leader's EXEC must abort too */
    if (s->flags & SESS_PIN_MULTI) s->flags |= SESS_PIN_DIRTY;
}

uint32_t multi_queued_flags(const cairn_session *s)
{
    uint32_t flags = 0;
    for (int i = 0; s->multi && i < s->multi->nqueued; i++)
        flags |= s->multi->queue[i].flags;
    return flags;
}

int multi_queued_may_write(const cairn_session *s)
{
    for (int i = 0; s->multi && i < s->multi->nqueued; i++)
        if (cmd_script_may_write(s->multi->queue[i].cmd, s->multi->queue[i].flags)) return 1;
    return 0;
}

int multi_queued_count(const cairn_session *s)
{
    if (!(s->flags & (SESS_MULTI | SESS_IN_EXEC))) return -1;
    return s->multi ? s->multi->nqueued : 0;
}

size_t multi_queued_mem(const cairn_session *s)
{
    const multi_state *m = s->multi;
    /* O(1): client eviction reads it after every command. */
    return m ? cm_usable_size(m->queue) + m->queued_mem : 0;
}

/* EXEC, DISCARD, MULTI, WATCH, QUIT and RESET act at once inside MULTI;
 * everything else waits for EXEC. */
static int runs_inside_multi(const cmd_def *cmd)
{
    static const char *const names[] = {"exec", "discard", "multi", "watch", "quit", "reset"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(cmd->name, names[i]) == 0) return 1;
    return 0;
}

int multi_queue_command(cmd_call *c)
{
    cairn_session *s = c->s;
    if (!(s->flags & SESS_MULTI) || runs_inside_multi(c->cmd)) return 0;
    if (c->cmd->flags & CMD_NO_MULTI) {
        reply_error(c->out, "ERR Command not allowed inside a transaction");
        s->flags |= SESS_DIRTY_EXEC;
        return 1;
    }
    multi_state *m = state_of(s);
    if (m->nqueued == m->queue_cap) {
        m->queue_cap = m->queue_cap ? m->queue_cap * 2 : 8;
        m->queue = cm_realloc(m->queue, sizeof(queued_cmd) * (size_t)m->queue_cap);
    }
    queued_cmd *q = &m->queue[m->nqueued++];
    q->cmd = c->cmd;
    q->flags =
        c->cmd->flags_of ? c->cmd->flags_of(c->e, c->argc, c->argv, c->cmd->flags) : c->cmd->flags;
    q->db = s->db;
    q->seed = c->seed;
    q->argc = c->argc;
    q->argv = cm_malloc(sizeof(dstr) * (size_t)c->argc);
    m->queued_mem += cm_usable_size(q->argv);
    for (int i = 0; i < c->argc; i++) {
        q->argv[i] = dstr_new(c->argv[i].ptr, c->argv[i].len);
        m->queued_mem += dstr_alloc_size(q->argv[i]);
    }
    reply_simple(c->out, "QUEUED");
    return 1;
}

/* ---------------------------------------------------------------------- */
/* WATCH bookkeeping                                                       */
/* ---------------------------------------------------------------------- */

static void watchers_free(void *p)
{
    watchers *w = p;
    cm_free(w->s);
    cm_free(w);
}

static void watch_key(cmd_call *c, const cslice *key)
{
    multi_state *m = state_of(c->s);
    for (int i = 0; i < m->nwatched; i++)
        if (m->watched[i].db == c->db->id && dstr_len(m->watched[i].key) == key->len &&
            memcmp(m->watched[i].key, key->ptr, key->len) == 0)
            return;
    if (m->nwatched == m->watched_cap) {
        m->watched_cap = m->watched_cap ? m->watched_cap * 2 : 4;
        m->watched = cm_realloc(m->watched, sizeof(watched_key) * (size_t)m->watched_cap);
    }
    m->watched[m->nwatched++] = (watched_key){c->db->id, db_key_is_expired(c->db, key, c->now_ms),
                                              dstr_new(key->ptr, key->len)};

    cdb *db = c->db;
    if (!db->watched) db->watched = dict_create(db->keys->seed, watchers_free, 0);
    dict_entry *de = dict_find(db->watched, key->ptr, key->len);
    if (!de) {
        de = dict_add(db->watched, dstr_new(key->ptr, key->len), NULL);
        de->v.ptr = cm_calloc(1, sizeof(watchers));
    }
    watchers *w = de->v.ptr;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->s = cm_realloc(w->s, sizeof(*w->s) * (size_t)w->cap);
    }
    w->s[w->n++] = c->s;
}

static void unwatch_all(cairn_engine *e, cairn_session *s)
{
    multi_state *m = s->multi;
    if (!m) return;
    for (int i = 0; i < m->nwatched; i++) {
        cdb *db = &e->dbs[m->watched[i].db];
        dstr key = m->watched[i].key;
        dict_entry *de = dict_find(db->watched, key, dstr_len(key));
        if (de) {
            watchers *w = de->v.ptr;
            for (int j = 0; j < w->n; j++) {
                if (w->s[j] != s) continue;
                w->s[j] = w->s[--w->n];
                break;
            }
            if (w->n == 0) dict_delete(db->watched, key, dstr_len(key));
        }
        dstr_free(key);
    }
    m->nwatched = 0;
    release_if_empty(s);
}

static watched_key *watched_by(cairn_session *s, int db, const char *key, size_t len)
{
    multi_state *m = s->multi;
    for (int i = 0; m && i < m->nwatched; i++)
        if (m->watched[i].db == db && dstr_len(m->watched[i].key) == len &&
            memcmp(m->watched[i].key, key, len) == 0)
            return &m->watched[i];
    return NULL;
}

/* What a change of a watched key does to a watcher, as Redis 7.0: a key
 * that was stale when WATCHed and is now gone, or stale still, changed
 * nothing; a key that was absent and is now stale is remembered as
 * stale; anything else fails the EXEC.  now_db is where the key lives
 * after the change (NULL: nowhere, a flush). */
static void touch_watcher(cairn_session *s, cdb *db, const cslice *key, cdb *now_db, int existed,
                          int64_t now_ms)
{
    watched_key *wk = watched_by(s, db->id, key->ptr, key->len);
    int exists = now_db && db_find(now_db, key);
    if (wk && wk->expired) {
        if (!exists) {
            wk->expired = 0;
            return;
        }
        if (db_key_is_expired(now_db, key, now_ms)) return;
    } else if (wk && !existed && exists && db_key_is_expired(now_db, key, now_ms)) {
        wk->expired = 1;
        return;
    }
    s->flags |= SESS_DIRTY_CAS;
}

void touch_watched_key(cairn_engine *e, cdb *db, const cslice *key)
{
    (void)e;
    if (!db->watched || dict_size(db->watched) == 0) return;
    dict_entry *de = dict_find(db->watched, key->ptr, key->len);
    if (!de) return;
    watchers *w = de->v.ptr;
    for (int i = 0; i < w->n; i++) {
        watched_key *wk = watched_by(w->s[i], db->id, key->ptr, key->len);
        /* A stale key deleted: no change. */
        if (wk && wk->expired && !db_find(db, key)) {
            wk->expired = 0;
            continue;
        }
        w->s[i]->flags |= SESS_DIRTY_CAS;
    }
}

void touch_call_keys(cmd_call *c)
{
    if (!c->db->watched || dict_size(c->db->watched) == 0) return;
    int small[16];
    int *idx = c->argc <= 16 ? small : cm_malloc(sizeof(int) * (size_t)c->argc);
    int n = cmd_get_keys(c->cmd, c->argc, c->argv, idx, c->argc);
    for (int i = 0; i < n; i++)
        if (!call_key_unchanged(c, idx[i])) touch_watched_key(c->e, c->db, &c->argv[idx[i]]);
    if (idx != small) cm_free(idx);
}

/* db's contents are about to be replaced by now_db's (NULL: emptied). */
static void touch_replaced_db(cdb *db, cdb *now_db, int64_t now_ms)
{
    if (!db->watched || dict_size(db->watched) == 0) return;
    dict_iter it;
    dict_iter_start(&it, db->watched);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        cslice key = {de->key, dstr_len(de->key)};
        int existed = db_find(db, &key) != NULL;
        /* Only keys there before or after changed. */
        if (!existed && !(now_db && db_find(now_db, &key))) continue;
        watchers *w = de->v.ptr;
        for (int i = 0; i < w->n; i++)
            touch_watcher(w->s[i], db, &key, now_db, existed, now_ms);
    }
    dict_iter_end(&it);
}

void touch_watched_db(cairn_engine *e, cdb *db, int64_t now_ms)
{
    if (db) {
        touch_replaced_db(db, NULL, now_ms);
        return;
    }
    for (int i = 0; i < e->ndbs; i++)
        touch_replaced_db(&e->dbs[i], NULL, now_ms);
}

void touch_watched_swap(cdb *a, cdb *b, int64_t now_ms)
{
    touch_replaced_db(a, b, now_ms);
    touch_replaced_db(b, a, now_ms);
}

/* A key alive when WATCHed that has expired since fails the EXEC, even if
 * nothing deleted it yet. */
static int watched_key_expired(cmd_call *c)
{
    multi_state *m = c->s->multi;
    for (int i = 0; m && i < m->nwatched; i++) {
        cslice key = {m->watched[i].key, dstr_len(m->watched[i].key)};
        if (!m->watched[i].expired &&
            db_key_is_expired(&c->e->dbs[m->watched[i].db], &key, c->now_ms))
            return 1;
    }
    return 0;
}

void multi_session_reset(cairn_engine *e, cairn_session *s)
{
    if (s->flags & SESS_PINNED) {
        /* the leader's side goes with the session's connection there */
        s->flags &= ~(SESS_PINNED | SESS_PIN_MULTI | SESS_PIN_DIRTY);
        if (e->host && e->host->repl_pin)
            e->host->repl_pin(e->host_priv, s, 0, NULL, PIN_DROP, NULL);
    }
    unwatch_all(e, s);
    multi_discard(s);
}

/* ---------------------------------------------------------------------- */
/* A follower's EXEC                                                       */
/* ---------------------------------------------------------------------- */

/* A queued command that would act on the leader's forwarding connection
 * (SELECT, CLIENT, HELLO, ...) instead of the client's own; PING and ECHO
 * only answer. */
static int acts_on_connection(const cmd_def *cmd)
{
    return (cmd->acl & ACL_CONNECTION) && strcmp(cmd->name, "ping") != 0 &&
           strcmp(cmd->name, "echo") != 0;
}

static const cmd_def *connection_command(const multi_state *m)
{
    for (int i = 0; m && i < m->nqueued; i++)
        if (acts_on_connection(m->queue[i].cmd)) return m->queue[i].cmd;
    return NULL;
}

static int abort_exec(cairn_engine *e, cairn_session *s, rbuf *out, const char *why)
{
    reply_errorf(out, "EXECABORT Transaction discarded because of: %s", why);
    multi_session_reset(e, s);
    return 1;
}

int multi_exec_forward(cairn_engine *e, cairn_session *s, rbuf *out)
{
    const cairn_host_ops *h = e->host;
    multi_state *m = s->multi;
    if (s->flags & SESS_DIRTY_EXEC) {
        reply_error(out, "EXECABORT Transaction discarded because of previous errors.");
        multi_session_reset(e, s);
        return 1;
    }
    /* a WATCH that was pinned to a leader that is gone */
    if (s->flags & SESS_DIRTY_CAS) {
        reply_null_array(out);
        multi_session_reset(e, s);
        return 1;
    }
    /* The leader cannot see what this node's WATCH saw: a transaction
     * that WATCHed runs on the leader only, where it can be honoured. */
    if (m && m->nwatched)
        return abort_exec(e, s, out,
                          "READONLY You can't write against a read only replica: a transaction "
                          "that WATCHes keys must run on the leader.");
    const cmd_def *conn = connection_command(m);
    if (conn) {
        char why[128];
        snprintf(why, sizeof(why),
                 "ERR '%s' can't run in a transaction forwarded to the leader: run it on the "
                 "leader",
                 conn->name);
        return abort_exec(e, s, out, why);
    }
    int n = m ? m->nqueued : 0;
    cairn_cmdv *cmds = cm_malloc(sizeof(*cmds) * (size_t)(n ? n : 1));
    size_t nargs = 0;
    for (int i = 0; i < n; i++)
        nargs += (size_t)m->queue[i].argc;
    cslice *args = cm_malloc(sizeof(*args) * (nargs ? nargs : 1));
    cslice *at = args;
    for (int i = 0; i < n; i++) {
        const queued_cmd *q = &m->queue[i];
        cmds[i] = (cairn_cmdv){q->argc, at};
        for (int j = 0; j < q->argc; j++)
            at[j] = (cslice){q->argv[j], dstr_len(q->argv[j])};
        if (q->cmd->forward_args) q->cmd->forward_args(e, at);
        at += q->argc;
    }
    int sent = h && h->repl_forward_tx && h->repl_forward_tx(e->host_priv, s, n, cmds);
    cm_free(args);
    cm_free(cmds);
    if (sent) multi_session_reset(e, s);
    return sent;
}

/* ---------------------------------------------------------------------- */
/* Commands                                                                */
/* ---------------------------------------------------------------------- */

static void multi_command(cmd_call *c)
{
    if (c->s->flags & SESS_MULTI) {
        reply_error(c->out, "ERR MULTI calls can not be nested");
        return;
    }
    c->s->flags |= SESS_MULTI;
    reply_ok(c->out);
}

static void discard_command(cmd_call *c)
{
    if (!(c->s->flags & SESS_MULTI)) {
        reply_error(c->out, "ERR DISCARD without MULTI");
        return;
    }
    unwatch_all(c->e, c->s);
    multi_discard(c->s);
    reply_ok(c->out);
}

/* Run one queued command as part of EXEC.  Until a queued SELECT has run,
 * each command runs in the db it was queued in: live, that is the
 * session's db anyway; on replay of the log, whose entries carry their db
 * but never a SELECT, it puts each write back where it happened. */
static void run_queued(cmd_call *c, queued_cmd *q, int *selected)
{
    cairn_session *s = c->s;
    if (!*selected) s->db = q->db;
    int db_before = s->db;
    cslice *argv = cm_malloc(sizeof(cslice) * (size_t)q->argc);
    for (int i = 0; i < q->argc; i++)
        argv[i] = (cslice){q->argv[i], dstr_len(q->argv[i])};
    cmd_call sub;
    engine_call_init(&sub, c->e, s, q->cmd, q->argc, argv, c->now_us, c->out);
    sub.seed = q->seed;
    crand_seed(&sub.rng, q->seed);
    q->cmd->proc(&sub);
    engine_call_finish(&sub);
    if (s->db != db_before) *selected = 1;
    cm_free(argv);
}

static void exec_command(cmd_call *c)
{
    cairn_session *s = c->s;
    if (!(s->flags & SESS_MULTI)) {
        reply_error(c->out, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c)) s->flags |= SESS_DIRTY_CAS;
    if (s->flags & (SESS_DIRTY_EXEC | SESS_DIRTY_CAS)) {
        if (s->flags & SESS_DIRTY_EXEC)
            reply_error(c->out, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(c->out);
        multi_session_reset(c->e, s);
        return;
    }
    /* Watches have done their job; keys the transaction itself modifies
     * must not fail it. */
    unwatch_all(c->e, s);
    multi_state *m = s->multi;
    int n = m ? m->nqueued : 0;
    s->flags = (s->flags & ~SESS_MULTI) | SESS_IN_EXEC;
    reply_array_len(c->out, n);
    int selected = 0;
    /* Logged as MULTI, the writes, EXEC: a replay applies all or none. */
    engine_atomic_begin(c->e, (uint32_t)s->db, c->now_ms);
    for (int i = 0; i < n; i++)
        run_queued(c, &m->queue[i], &selected);
    engine_atomic_end(c->e, (uint32_t)s->db);
    s->flags &= ~SESS_IN_EXEC;
    multi_discard(s);
}

static void watch_command(cmd_call *c)
{
    if (c->s->flags & SESS_MULTI) {
        reply_error(c->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_key(c, &c->argv[i]);
    reply_ok(c->out);
}

static void unwatch_command(cmd_call *c)
{
    unwatch_all(c->e, c->s);
    /* A watched key touched before UNWATCH no longer fails EXEC. */
    c->s->flags &= ~SESS_DIRTY_CAS;
    reply_ok(c->out);
}

/* ---------------------------------------------------------------------- */
/* A follower's WATCH: the session pinned to the leader                     */
/* ---------------------------------------------------------------------- */

/* Commands of a pinned session that act on this node's connection (its
 * db, protocol, user, name, subscriptions) rather than the leader's. */
static int runs_here_when_pinned(const cmd_def *cmd)
{
    return acts_on_connection(cmd) ||
           ((cmd->acl & ACL_PUBSUB) && (cmd->flags & CMD_SUBSCRIBED_OK)) ||
           strcmp(cmd->name, "monitor") == 0;
}

static int pin_kind(const cairn_session *s, const cmd_def *cmd)
{
    int in_multi = s->flags & SESS_PIN_MULTI;
    if (cmd->proc == watch_command) return PIN_WATCH;
    if (cmd->proc == multi_command) return PIN_MULTI;
    if (cmd->proc == exec_command && in_multi)
        return (s->flags & SESS_PIN_DIRTY)   ? PIN_ABORT
               : (s->flags & SESS_DIRTY_CAS) ? PIN_CAS
                                             : PIN_EXEC;
    /* outside MULTI both are errors that leave the watch; inside it
     * UNWATCH is queued */
    if ((cmd->proc == discard_command && in_multi) || (cmd->proc == unwatch_command && !in_multi))
        return PIN_END;
    return PIN_CMD;
}

int multi_pin_command(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                      const cslice *argv, rbuf *out)
{
    static const cslice discard = {"DISCARD", 7};
    const cairn_host_ops *h = e->host;
    int pinned = s->flags & SESS_PINNED;
    if (!pinned && cmd->proc != watch_command) return 0;
    if (pinned && runs_here_when_pinned(cmd)) {
        /* QUIT and RESET act at once inside MULTI too (RESET drops the pin) */
        if (!(s->flags & SESS_PIN_MULTI) || runs_inside_multi(cmd)) return 0;
        reply_errorf(out,
                     "ERR '%s' can't run in a transaction forwarded to the leader: run it on the "
                     "leader",
                     cmd->name);
        s->flags |= SESS_PIN_DIRTY;
        return 1;
    }
    int kind = pin_kind(s, cmd);
    /* an EXEC that must fail discards the leader's transaction instead */
    if (kind == PIN_ABORT || kind == PIN_CAS) {
        argc = 1;
        argv = &discard;
    }
    /* EVALSHA goes with this node's script, as when forwarded */
    cslice *fwd = NULL;
    if (cmd->forward_args) {
        fwd = cm_malloc(sizeof(*fwd) * (size_t)argc);
        memcpy(fwd, argv, sizeof(*fwd) * (size_t)argc);
        if (cmd->forward_args(e, fwd)) argv = fwd;
    }
    int took = h && h->repl_pin && h->repl_pin(e->host_priv, s, argc, argv, kind, out);
    cm_free(fwd);
    if (took) return 1;
    /* its pin is gone: EXEC fails here */
    if (pinned) multi_pin_lost(s, -1);
    return 0;
}

void multi_pin_answered(cairn_session *s, int kind, const char *reply, size_t len)
{
    if (kind == PIN_MULTI && len >= 3 && memcmp(reply, "+OK", 3) == 0)
        s->flags |= SESS_PIN_MULTI;
    else if (kind >= PIN_END) /* EXEC, DISCARD and UNWATCH forget a touched watch */
        s->flags &= ~(SESS_PINNED | SESS_PIN_MULTI | SESS_PIN_DIRTY | SESS_DIRTY_CAS);
}

void multi_pin_lost(cairn_session *s, int kind)
{
    int ended = kind >= PIN_END && kind != PIN_DROP;
    int in_multi = (s->flags & SESS_PIN_MULTI) || kind == PIN_MULTI;
    s->flags &= ~(SESS_PINNED | SESS_PIN_MULTI | SESS_PIN_DIRTY);
    if (ended) return;
    s->flags |= SESS_DIRTY_CAS | (in_multi ? SESS_MULTI : 0);
}

#define TX_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define TX_ACL   (ACL_FAST | ACL_TRANSACTION)

const cmd_def multi_commands[] = {
    {"multi", multi_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, TX_ACL, 0, 0, 0,
     "transactions", "1.2.0", "Mark the start of a transaction block", "O(1)", NULL},
    {"exec", exec_command, 1, TX_FLAGS | CMD_SKIP_SLOWLOG, ACL_SLOW | ACL_TRANSACTION, 0, 0, 0,
     "transactions", "1.2.0", "Execute all commands issued after MULTI",
     "Depends on commands in the transaction", NULL},
    {"discard", discard_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, TX_ACL, 0, 0, 0,
     "transactions", "2.0.0", "Discard all commands issued after MULTI",
     "O(N), when N is the number of queued commands", NULL},
    {"watch", watch_command, -2, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, TX_ACL, 1, -1, 1,
     "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block",
     "O(1) for every key.", NULL},
    {"unwatch", unwatch_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, TX_ACL, 0, 0, 0,
     "transactions", "2.2.0", "Forget about all watched keys", "O(1)", NULL},
    {0},
};
