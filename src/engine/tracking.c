/* tracking.c -- client-side caching; see tracking.h. */
#include "tracking.h"

#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "pubsub.h"

enum {
    TRK_BCAST = 1 << 0,
    TRK_OPTIN = 1 << 1,
    TRK_OPTOUT = 1 << 2,
    TRK_NOLOOP = 1 << 3,
    TRK_BROKEN_REDIR = 1 << 4,
};

/* CLIENT CACHING's state: set by it, it covers the next command only. */
enum { CACHING_NONE = 0, CACHING_NEXT, CACHING_JUST_SET };

/* Session ids, in no order. */
typedef struct id_list {
    uint64_t *ids;
    int n, cap;
} id_list;

/* A BCAST prefix: its sessions, and the keys under it changed since the
 * last broadcast (key -> id of the session that changed it last, 0 for
 * expiry and eviction: NOLOOP needs it). */
typedef struct bcast_prefix {
    id_list ids;
    dict *pending;
} bcast_prefix;

struct tracking_state {
    dict *table;     /* key -> id_list: sessions that read it (default mode) */
    dict *prefixes;  /* prefix -> bcast_prefix: BCAST sessions */
    dict *sessions;  /* id (8 bytes) -> cairn_session, every tracking session */
    long long items; /* (key, session) pairs in table */
    long pending;    /* prefixes with keys to broadcast */
};

struct tracking_sess {
    int flags;
    int caching;
    uint64_t redirect; /* 0: none */
    dstr *prefixes;
    int nprefixes;
    /* Invalidations for it while its own call runs (engine.exec_call),
     * sent once the reply is complete (Redis's tracking_pending_keys):
     * keys, NULL for a flush. */
    dstr *deferred;
    int ndeferred, deferred_cap;
};

static void id_list_free(void *p)
{
    id_list *l = p;
    cm_free(l->ids);
    cm_free(l);
}

static void bcast_prefix_free(void *p)
{
    bcast_prefix *bp = p;
    cm_free(bp->ids.ids);
    if (bp->pending) dict_release(bp->pending);
    cm_free(bp);
}

/* Add id unless present; returns 1 if added. */
static int id_list_add(id_list *l, uint64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] == id) return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 2;
        l->ids = cm_realloc(l->ids, sizeof(*l->ids) * (size_t)l->cap);
    }
    l->ids[l->n++] = id;
    return 1;
}

static tracking_state *state(cairn_engine *e)
{
    if (!e->tracking) {
        e->tracking = cm_calloc(1, sizeof(tracking_state));
        e->tracking->sessions = dict_create(e->hash_seed, NULL, 0);
    }
    return e->tracking;
}

static cairn_session *session_by_id(cairn_engine *e, uint64_t id)
{
    dict_entry *de = dict_find(e->tracking->sessions, (const char *)&id, sizeof(id));
    return de ? de->v.ptr : NULL;
}

/* ---------------------------------------------------------------------------
 * Sending invalidations
 * ------------------------------------------------------------------------ */

/* The payload: [key, ...], or a null for "every key" (a flush). */
static void add_payload(rbuf *out, const cslice *const *keys, int n)
{
    if (!keys) {
        reply_null(out);
        return;
    }
    reply_array_len(out, n);
    for (int i = 0; i < n; i++)
        reply_bulk(out, keys[i]->ptr, keys[i]->len);
}

/* Tell s that the n keys changed (keys NULL: every key), through its
 * redirection if it has one.  Messages it cannot receive (RESP2 without
 * a subscribed redirection) are dropped, as Redis does. */
static void send_invalidation(cairn_engine *e, cairn_session *s, const cslice *const *keys, int n)
{
    tracking_sess *ts = s->tracking;
    cairn_session *to = s;
    if (ts->redirect) {
        to = e->host && e->host->find_session ? e->host->find_session(e->host_priv, ts->redirect)
                                              : NULL;
        if (!to) {
            ts->flags |= TRK_BROKEN_REDIR;
            if (s->resp == 3 && s->out && !(s->flags & SESS_CLOSE_ASAP)) {
                reply_push_len(s->out, 2);
                reply_bulk(s->out, "tracking-redir-broken", 21);
                reply_int(s->out, (long long)ts->redirect);
                if (e->host->pushed) e->host->pushed(e->host_priv, s);
            }
            return;
        }
    }
    if (!to->out || (to->flags & SESS_CLOSE_ASAP)) return;
    if (to->resp == 3) {
        reply_push_len(to->out, 2);
        reply_bulk(to->out, "invalidate", 10);
    } else if (to != s && pubsub_session_subscribed(to)) {
        reply_array_len(to->out, 3);
        reply_bulk(to->out, "message", 7);
        reply_bulk(to->out, "__redis__:invalidate", 20);
    } else {
        return;
    }
    add_payload(to->out, keys, n);
    if (e->host && e->host->pushed) e->host->pushed(e->host_priv, to);
}

/* Is s the session of the call running (whose reply is being built)? */
static int running(const cairn_engine *e, const cairn_session *s)
{
    return e->exec_call && e->exec_call->s == s;
}

/* An invalidation for the running session waits for the end of its
 * reply (a transaction's or a script's too): it would otherwise land in
 * the middle of it.  key NULL: a flush. */
static void defer(tracking_sess *ts, const cslice *key)
{
    if (ts->ndeferred == ts->deferred_cap) {
        ts->deferred_cap = ts->deferred_cap ? ts->deferred_cap * 2 : 4;
        ts->deferred = cm_realloc(ts->deferred, sizeof(dstr) * (size_t)ts->deferred_cap);
    }
    ts->deferred[ts->ndeferred++] = key ? dstr_new(key->ptr, key->len) : NULL;
}

/* Send s the invalidations deferred for it, in order (send 0: drop
 * them). */
static void send_deferred(cairn_engine *e, cairn_session *s, int send)
{
    tracking_sess *ts = s->tracking;
    for (int i = 0; i < ts->ndeferred; i++) {
        dstr k = ts->deferred[i];
        cslice key = {k, k ? dstr_len(k) : 0};
        const cslice *keys = &key;
        if (send) send_invalidation(e, s, k ? &keys : NULL, 1);
        dstr_free(k);
    }
    ts->ndeferred = 0;
    cm_free(ts->deferred);
    ts->deferred = NULL;
    ts->deferred_cap = 0;
}

static void send_key_invalidation(cairn_engine *e, cairn_session *s, const cslice *key)
{
    if (running(e, s))
        defer(s->tracking, key);
    else
        send_invalidation(e, s, &key, 1);
}

static int starts_with(const cslice *key, const dstr prefix)
{
    size_t n = dstr_len(prefix);
    return key->len >= n && memcmp(key->ptr, prefix, n) == 0;
}

/* Note key under every BCAST prefix it starts with; tracking_broadcast
 * sends them at the end of the event-loop iteration, as Redis does. */
static void invalidate_bcast(cairn_engine *e, const cslice *key, const cairn_session *modifier)
{
    tracking_state *st = e->tracking;
    dict *d = st->prefixes;
    if (!d || dict_size(d) == 0) return;
    dict_iter it;
    dict_iter_start(&it, d);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        if (!starts_with(key, de->key)) continue;
        bcast_prefix *bp = de->v.ptr;
        if (!bp->pending) bp->pending = dict_create(e->hash_seed, NULL, 0);
        if (!dict_size(bp->pending)) st->pending++;
        dict_entry *ke = dict_find(bp->pending, key->ptr, key->len);
        if (!ke) ke = dict_add(bp->pending, dstr_new(key->ptr, key->len), NULL);
        ke->v.s64 = modifier ? (int64_t)modifier->id : 0;
    }
    dict_iter_end(&it);
}

/* Keys in byte order, as Redis's radix tree gives them. */
static int cmp_key(const void *a, const void *b)
{
    const dict_entry *x = *(dict_entry *const *)a, *y = *(dict_entry *const *)b;
    size_t lx = dstr_len(x->key), ly = dstr_len(y->key);
    int c = memcmp(x->key, y->key, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* One message to each session of the prefix with every key changed under
 * it (a NOLOOP session's own changes left out; nothing if that leaves no
 * key). */
static void broadcast_prefix(cairn_engine *e, bcast_prefix *bp)
{
    size_t n = dict_size(bp->pending);
    dict_entry **ents = cm_malloc(sizeof(*ents) * n);
    const cslice **keys = cm_malloc(sizeof(*keys) * n);
    cslice *slices = cm_malloc(sizeof(*slices) * n);
    size_t i = 0;
    dict_iter it;
    dict_iter_start(&it, bp->pending);
    for (dict_entry *de; (de = dict_iter_next(&it));)
        ents[i++] = de;
    dict_iter_end(&it);
    qsort(ents, n, sizeof(*ents), cmp_key);
    for (i = 0; i < n; i++)
        slices[i] = (cslice){ents[i]->key, dstr_len(ents[i]->key)};
    for (int j = 0; j < bp->ids.n; j++) {
        cairn_session *s = session_by_id(e, bp->ids.ids[j]);
        if (!s || !(s->tracking->flags & TRK_BCAST)) continue;
        int noloop = (s->tracking->flags & TRK_NOLOOP) != 0;
        int k = 0;
        for (i = 0; i < n; i++)
            if (!noloop || ents[i]->v.s64 != (int64_t)s->id) keys[k++] = &slices[i];
        if (k) send_invalidation(e, s, keys, k);
    }
    cm_free(slices);
    cm_free(keys);
    cm_free(ents);
    dict_release(bp->pending);
    bp->pending = NULL;
}

void tracking_broadcast_slow(cairn_engine *e)
{
    tracking_state *st = e->tracking;
    if (!st->pending) return;
    /* The prefixes in byte order too, as Redis sends them. */
    dict_entry **todo = cm_malloc(sizeof(*todo) * (size_t)st->pending);
    long n = 0;
    dict_iter it;
    dict_iter_start(&it, st->prefixes);
    for (dict_entry *de; (de = dict_iter_next(&it));) {
        bcast_prefix *bp = de->v.ptr;
        if (bp->pending && dict_size(bp->pending) && n < st->pending) todo[n++] = de;
    }
    dict_iter_end(&it);
    st->pending = 0;
    qsort(todo, (size_t)n, sizeof(*todo), cmp_key);
    for (long i = 0; i < n; i++)
        broadcast_prefix(e, todo[i]->v.ptr);
    cm_free(todo);
}

/* Send the invalidation of a key of the table and forget the key; a
 * NOLOOP session does not hear of its own change (self). */
static void invalidate_entry(cairn_engine *e, dict_entry *de, const cslice *key,
                             const cairn_session *self)
{
    const id_list *l = de->v.ptr;
    for (int i = 0; i < l->n; i++) {
        cairn_session *s = session_by_id(e, l->ids[i]);
        /* A session that turned tracking off (or on in BCAST mode) since
         * it read the key hears nothing, as in Redis. */
        if (!s || (s->tracking->flags & TRK_BCAST)) continue;
        if (s == self && (s->tracking->flags & TRK_NOLOOP)) continue;
        send_key_invalidation(e, s, key);
    }
    e->tracking->items -= l->n;
}

void tracking_invalidate_key_slow(cairn_engine *e, const cslice *key, const cairn_session *modifier)
{
    invalidate_bcast(e, key, modifier);
    dict *t = e->tracking->table;
    dict_entry *de = t && dict_size(t) ? dict_find(t, key->ptr, key->len) : NULL;
    if (!de) return;
    /* Whose change it is for NOLOOP: a script's writes and the expiries a
     * command causes are its client's, as Redis's current_client. */
    const cairn_session *self = modifier;
    if ((!self || (self->flags & SESS_SCRIPT)) && e->exec_call) self = e->exec_call->s;
    invalidate_entry(e, de, key, self);
    dict_delete(t, key->ptr, key->len);
}

void tracking_invalidate_call(cmd_call *c)
{
    int small[16];
    int *idx = c->argc <= 16 ? small : cm_malloc(sizeof(int) * (size_t)c->argc);
    int n = cmd_get_keys(c->cmd, c->argc, c->argv, idx, c->argc);
    for (int i = 0; i < n; i++)
        if (!call_key_unchanged(c, idx[i]))
            tracking_invalidate_key_slow(c->e, &c->argv[idx[i]], c->s);
    if (idx != small) cm_free(idx);
}

void tracking_flush(cairn_engine *e)
{
    if (!e->tracking) return;
    dict_iter it;
    dict_iter_start(&it, e->tracking->sessions);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        cairn_session *s = de->v.ptr;
        if (running(e, s))
            defer(s->tracking, NULL);
        else
            send_invalidation(e, s, NULL, 0);
    }
    dict_iter_end(&it);
    if (e->tracking->table) dict_release(e->tracking->table);
    e->tracking->table = NULL;
    e->tracking->items = 0;
}

/* ---------------------------------------------------------------------------
 * Remembering what sessions read
 * ------------------------------------------------------------------------ */

/* Keep the table within tracking-table-max-keys: evicting a key from it
 * invalidates it, so no session keeps a copy the server no longer
 * watches. */
static void enforce_max_keys(cairn_engine *e)
{
    long long max = e->cfg.tracking_table_max_keys;
    dict *t = e->tracking->table;
    while (max > 0 && (long long)dict_size(t) > max) {
        dict_iter it;
        dict_iter_start(&it, t);
        dict_entry *de = dict_iter_next(&it);
        dstr key = dstr_dup(de->key);
        cslice k = {key, dstr_len(key)};
        invalidate_entry(e, de, &k, NULL);
        dict_iter_end(&it);
        dict_delete(t, key, dstr_len(key));
        dstr_free(key);
    }
}

void tracking_table_limit(cairn_engine *e)
{
    if (e->tracking && e->tracking->table) enforce_max_keys(e);
}

static void remember_key(cairn_engine *e, const cslice *key, uint64_t id)
{
    tracking_state *st = e->tracking;
    if (!st->table) st->table = dict_create(e->hash_seed, id_list_free, 0);
    dict_entry *de = dict_find(st->table, key->ptr, key->len);
    if (!de) {
        de = dict_add(st->table, dstr_new(key->ptr, key->len), NULL);
        de->v.ptr = cm_calloc(1, sizeof(id_list));
    }
    st->items += id_list_add(de->v.ptr, id);
}

/* Does this read count?  OPTIN: only right after CLIENT CACHING YES;
 * OPTOUT: unless right after CLIENT CACHING NO. */
static int read_is_tracked(const tracking_sess *ts)
{
    if (ts->flags & TRK_BCAST) return 0;
    if (ts->flags & TRK_OPTIN) return ts->caching != CACHING_NONE;
    if (ts->flags & TRK_OPTOUT) return ts->caching == CACHING_NONE;
    return 1;
}

/* Remember the keys of c for its session. */
static void remember_keys(cmd_call *c)
{
    int small[16];
    int *idx = c->argc <= 16 ? small : cm_malloc(sizeof(int) * (size_t)c->argc);
    int n = cmd_get_keys(c->cmd, c->argc, c->argv, idx, c->argc);
    for (int i = 0; i < n; i++)
        remember_key(c->e, &c->argv[idx[i]], c->s->id);
    if (idx != small) cm_free(idx);
    if (n) enforce_max_keys(c->e);
}

void tracking_script_read(const cmd_call *read, cmd_call *caller)
{
    if ((read->cmd->flags & CMD_READONLY) && read_is_tracked(caller->s->tracking))
        remember_keys(caller);
}

void tracking_after_command(cmd_call *c)
{
    tracking_sess *ts = c->s->tracking;
    /* A script's keys are tracked only once it reads (tracking_script_read),
     * a read-only one's too, as Redis 7.0 does. */
    if ((c->cmd->flags & CMD_READONLY) && !(c->cmd->acl & ACL_SCRIPTING) && read_is_tracked(ts))
        remember_keys(c);
    if (ts->caching == CACHING_JUST_SET)
        ts->caching = CACHING_NEXT;
    else
        ts->caching = CACHING_NONE;
    if (ts->ndeferred && c == c->e->exec_call) send_deferred(c->e, c->s, 1);
}

/* ---------------------------------------------------------------------------
 * Turning tracking on and off
 * ------------------------------------------------------------------------ */

static void remove_prefixes(cairn_engine *e, cairn_session *s)
{
    tracking_sess *ts = s->tracking;
    dict *d = e->tracking->prefixes;
    for (int i = 0; i < ts->nprefixes; i++) {
        dstr p = ts->prefixes[i];
        dict_entry *de = d ? dict_find(d, p, dstr_len(p)) : NULL;
        if (de) {
            bcast_prefix *bp = de->v.ptr;
            id_list *l = &bp->ids;
            for (int j = 0; j < l->n; j++) {
                if (l->ids[j] != s->id) continue;
                l->ids[j] = l->ids[--l->n];
                break;
            }
            if (l->n == 0) {
                if (bp->pending && dict_size(bp->pending)) e->tracking->pending--;
                dict_delete(d, p, dstr_len(p));
            }
        }
        dstr_free(p);
    }
    cm_free(ts->prefixes);
    ts->prefixes = NULL;
    ts->nprefixes = 0;
}

void tracking_session_reset(cairn_engine *e, cairn_session *s)
{
    if (!s->tracking) return;
    /* Turned off in the middle of its command: what it was owed goes now. */
    if (s->tracking->ndeferred) send_deferred(e, s, running(e, s));
    remove_prefixes(e, s);
    dict_delete(e->tracking->sessions, (const char *)&s->id, sizeof(s->id));
    cm_free(s->tracking);
    s->tracking = NULL;
}

static void add_prefix(cairn_engine *e, cairn_session *s, const cslice *p)
{
    tracking_state *st = e->tracking;
    tracking_sess *ts = s->tracking;
    for (int i = 0; i < ts->nprefixes; i++)
        if (dstr_len(ts->prefixes[i]) == p->len && memcmp(ts->prefixes[i], p->ptr, p->len) == 0)
            return;
    ts->prefixes = cm_realloc(ts->prefixes, sizeof(dstr) * (size_t)(ts->nprefixes + 1));
    ts->prefixes[ts->nprefixes++] = dstr_new(p->ptr, p->len);
    if (!st->prefixes) st->prefixes = dict_create(e->hash_seed, bcast_prefix_free, 0);
    dict_entry *de = dict_find(st->prefixes, p->ptr, p->len);
    if (!de) {
        de = dict_add(st->prefixes, dstr_new(p->ptr, p->len), NULL);
        de->v.ptr = cm_calloc(1, sizeof(bcast_prefix));
    }
    bcast_prefix *bp = de->v.ptr;
    id_list_add(&bp->ids, s->id);
}

static void enable(cmd_call *c, uint64_t redirect, int flags, const cslice *prefixes, int nprefixes)
{
    cairn_session *s = c->s;
    tracking_state *st = state(c->e);
    if (!s->tracking) {
        s->tracking = cm_calloc(1, sizeof(tracking_sess));
        dict_entry *de =
            dict_add(st->sessions, dstr_new((const char *)&s->id, sizeof(s->id)), NULL);
        de->v.ptr = s;
    }
    tracking_sess *ts = s->tracking;
    ts->flags = (ts->flags & TRK_BCAST) | flags; /* a broken redirection is forgotten */
    ts->redirect = redirect;
    ts->caching = CACHING_NONE;
    if (flags & TRK_BCAST) {
        if (nprefixes == 0) {
            cslice all = {"", 0};
            add_prefix(c->e, s, &all);
        }
        for (int i = 0; i < nprefixes; i++)
            add_prefix(c->e, s, &prefixes[i]);
    }
}

/* Two prefixes overlap when one starts with the other. */
static int overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    return memcmp(a, b, n) == 0;
}

/* Redis's checkPrefixCollisionsOrReply: the new prefixes may not overlap
 * the session's existing ones nor each other. */
static int prefixes_collide(cmd_call *c, const cslice *p, int n)
{
    const tracking_sess *ts = c->s->tracking;
    for (int i = 0; i < n; i++) {
        for (int j = 0; ts && j < ts->nprefixes; j++) {
            dstr q = ts->prefixes[j];
            if (!overlaps(p[i].ptr, p[i].len, q, dstr_len(q))) continue;
            reply_errorf(c->out,
                         "ERR Prefix '%.*s' overlaps with an existing prefix '%s'. Prefixes for "
                         "a single client must not overlap.",
                         (int)p[i].len, p[i].ptr, q);
            return 1;
        }
        for (int j = i + 1; j < n; j++) {
            if (!overlaps(p[i].ptr, p[i].len, p[j].ptr, p[j].len)) continue;
            reply_errorf(c->out,
                         "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
                         "Prefixes for a single client must not overlap.",
                         (int)p[i].len, p[i].ptr, (int)p[j].len, p[j].ptr);
            return 1;
        }
    }
    return 0;
}

/* Redis's checks of CLIENT TRACKING ON, in its order. */
static int options_refused(cmd_call *c, int flags, int nprefixes)
{
    const tracking_sess *ts = c->s->tracking;
    const char *err = NULL;
    if (!(flags & TRK_BCAST) && nprefixes)
        err = "ERR PREFIX option requires BCAST mode to be enabled";
    else if (ts && !(ts->flags & TRK_BCAST) != !(flags & TRK_BCAST))
        err = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
              "and then re-enabling it with a different mode.";
    else if ((flags & TRK_BCAST) && (flags & (TRK_OPTIN | TRK_OPTOUT)))
        err = "ERR OPTIN and OPTOUT are not compatible with BCAST";
    else if ((flags & TRK_OPTIN) && (flags & TRK_OPTOUT))
        err = "ERR You can't specify both OPTIN mode and OPTOUT mode";
    else if (ts && (((flags & TRK_OPTIN) && (ts->flags & TRK_OPTOUT)) ||
                    ((flags & TRK_OPTOUT) && (ts->flags & TRK_OPTIN))))
        err = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
              "and then re-enabling it with a different mode.";
    if (err) reply_error(c->out, err);
    return err != NULL;
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP] */
void client_tracking_command(cmd_call *c)
{
    int on;
    if (arg_is(c, 2, "on"))
        on = 1;
    else if (arg_is(c, 2, "off"))
        on = 0;
    else {
        reply_syntax_error(c);
        return;
    }
    int flags = 0, nprefixes = 0;
    long long redirect = 0;
    cslice small[8];
    cslice *prefixes = c->argc <= 8 ? small : cm_malloc(sizeof(cslice) * (size_t)c->argc);
    for (int j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (more && arg_is(c, j, "redirect")) {
            j++;
            if (redirect) {
                reply_error(c->out, "ERR A client can only redirect to a single other client");
                goto done;
            }
            if (!arg_ll(c, j, &redirect)) goto done;
            cairn_session *to = redirect > 0 && c->e->host && c->e->host->find_session
                                    ? c->e->host->find_session(c->e->host_priv, (uint64_t)redirect)
                                    : NULL;
            if (!to) {
                reply_error(c->out, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
        } else if (arg_is(c, j, "bcast")) {
            flags |= TRK_BCAST;
        } else if (arg_is(c, j, "optin")) {
            flags |= TRK_OPTIN;
        } else if (arg_is(c, j, "optout")) {
            flags |= TRK_OPTOUT;
        } else if (arg_is(c, j, "noloop")) {
            flags |= TRK_NOLOOP;
        } else if (more && arg_is(c, j, "prefix")) {
            prefixes[nprefixes++] = c->argv[++j];
        } else {
            reply_syntax_error(c);
            goto done;
        }
    }
    if (on) {
        if (options_refused(c, flags, nprefixes)) goto done;
        if ((flags & TRK_BCAST) && prefixes_collide(c, prefixes, nprefixes)) goto done;
        enable(c, (uint64_t)redirect, flags, prefixes, nprefixes);
    } else {
        tracking_session_reset(c->e, c->s);
    }
    reply_ok(c->out);
done:
    if (prefixes != small) cm_free(prefixes);
}

/* CLIENT CACHING YES|NO */
void client_caching_command(cmd_call *c)
{
    tracking_sess *ts = c->s->tracking;
    if (!ts || !(ts->flags & (TRK_OPTIN | TRK_OPTOUT))) {
        reply_error(c->out, "ERR CLIENT CACHING can be called only when the client is in tracking "
                            "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(c, 2, "yes")) {
        if (!(ts->flags & TRK_OPTIN)) {
            reply_error(c->out,
                        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN "
                        "mode.");
            return;
        }
    } else if (arg_is(c, 2, "no")) {
        if (!(ts->flags & TRK_OPTOUT)) {
            reply_error(c->out,
                        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT "
                        "mode.");
            return;
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    /* tracking_after_command() of this very command keeps it for the next. */
    ts->caching = CACHING_JUST_SET;
    reply_ok(c->out);
}

long long tracking_session_redirect(const cairn_session *s)
{
    return s->tracking ? (long long)s->tracking->redirect : -1;
}

size_t tracking_session_mem(const cairn_session *s)
{
    const tracking_sess *ts = s->tracking;
    if (!ts) return 0;
    return sizeof(*ts) + (size_t)ts->nprefixes * (sizeof(dstr) + sizeof(dstr *));
}

void client_getredir_command(cmd_call *c) { reply_int(c->out, tracking_session_redirect(c->s)); }

/* CLIENT TRACKINGINFO: flags, redirect, prefixes. */
void client_trackinginfo_command(cmd_call *c)
{
    const tracking_sess *ts = c->s->tracking;
    static const struct {
        int flag;
        const char *name;
    } names[] = {
        {TRK_BCAST, "bcast"}, {TRK_OPTIN, "optin"}, {TRK_OPTOUT, "optout"}, {TRK_NOLOOP, "noloop"}};
    const char *flags[8];
    int n = 0;
    if (!ts) {
        flags[n++] = "off";
    } else {
        flags[n++] = "on";
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (ts->flags & names[i].flag) flags[n++] = names[i].name;
        if (ts->caching != CACHING_NONE)
            flags[n++] = (ts->flags & TRK_OPTIN) ? "caching-yes" : "caching-no";
        if (ts->flags & TRK_BROKEN_REDIR) flags[n++] = "broken_redirect";
    }
    reply_map_len(c->out, 3);
    reply_bulk_cstr(c->out, "flags");
    reply_set_len(c->out, n);
    for (int i = 0; i < n; i++)
        reply_bulk_cstr(c->out, flags[i]);
    reply_bulk_cstr(c->out, "redirect");
    reply_int(c->out, tracking_session_redirect(c->s));
    reply_bulk_cstr(c->out, "prefixes");
    reply_array_len(c->out, ts ? ts->nprefixes : 0);
    for (int i = 0; ts && i < ts->nprefixes; i++)
        reply_bulk(c->out, ts->prefixes[i], dstr_len(ts->prefixes[i]));
}

int tracking_session_on(const cairn_session *s) { return s->tracking != NULL; }
int tracking_session_bcast(const cairn_session *s)
{
    return s->tracking && (s->tracking->flags & TRK_BCAST);
}
int tracking_session_broken(const cairn_session *s)
{
    return s->tracking && (s->tracking->flags & TRK_BROKEN_REDIR);
}

long tracking_clients(const cairn_engine *e)
{
    return e->tracking ? (long)dict_size(e->tracking->sessions) : 0;
}

long long tracking_total_keys(const cairn_engine *e)
{
    return e->tracking && e->tracking->table ? (long long)dict_size(e->tracking->table) : 0;
}

long long tracking_total_items(const cairn_engine *e)
{
    return e->tracking ? e->tracking->items : 0;
}

long tracking_total_prefixes(const cairn_engine *e)
{
    return e->tracking && e->tracking->prefixes ? (long)dict_size(e->tracking->prefixes) : 0;
}

void tracking_free(cairn_engine *e)
{
    tracking_state *st = e->tracking;
    if (!st) return;
    if (st->table) dict_release(st->table);
    if (st->prefixes) dict_release(st->prefixes);
    dict_release(st->sessions);
    cm_free(st);
    e->tracking = NULL;
}
