/* db.c -- the keyspace; see db.h. */
#include "db.h"

#include <string.h>

#include "../ds/alloc.h"
#include "blocking.h"
#include "cmd.h"
#include "evict.h"
#include "latency.h"
#include "multi.h"
#include "notify.h"
#include "tracking.h"

static cslice keyspace_key(const void *elem) { return obj_key(elem); }

static const htab_type keyspace_type = {keyspace_key, obj_free_void};

void db_init(cairn_engine *e, cdb *db, int id)
{
    db->keys = htab_create(&keyspace_type, e->hash_seed);
    db->vol = NULL;
    db->nvol = db->vol_cap = 0;
    db->id = id;
    db->expire_cursor = 0;
    db->avg_ttl = 0;
}

void db_free(cdb *db)
{
    if (db->blocking) dict_release(db->blocking);
    if (db->watched) dict_release(db->watched);
    htab_release(db->keys);
    cm_free(db->vol);
}

void db_empty(cdb *db)
{
    htab_clear(db->keys);
    cm_free(db->vol);
    db->vol = NULL;
    db->nvol = db->vol_cap = 0;
    db->expire_cursor = 0;
    db->avg_ttl = 0;
}

long long db_size(const cdb *db) { return (long long)htab_size(db->keys); }

cobj *db_find(cdb *db, const cslice *key) { return htab_find(db->keys, key->ptr, key->len); }

/* ---------------------------------------------------------------------- */
/* The volatile array                                                      */
/* ---------------------------------------------------------------------- */

static void vol_add(cdb *db, cobj *o)
{
    if (db->nvol == db->vol_cap) {
        db->vol_cap = db->vol_cap ? db->vol_cap * 2 : 16;
        db->vol = cm_realloc(db->vol, sizeof(*db->vol) * db->vol_cap);
    }
    obj_set_volatile_index(o, db->nvol);
    db->vol[db->nvol++] = o;
}

/* Before o loses its expiry or leaves the db. */
static void vol_remove(cdb *db, const cobj *o)
{
    uint32_t i = obj_volatile_index(o);
    cobj *last = db->vol[--db->nvol];
    db->vol[i] = last;
    obj_set_volatile_index(last, i);
    /* Give back a mostly empty array, keeping room to grow again. */
    if (db->vol_cap > 16 && db->nvol < db->vol_cap / 4) {
        db->vol_cap /= 2;
        db->vol = cm_realloc(db->vol, sizeof(*db->vol) * db->vol_cap);
    }
}

/* Object old, which is in the db, is being replaced by n at its slot:
 * keep the volatile array in step.  n's expiry is final. */
static void vol_replace(cdb *db, const cobj *old, cobj *n)
{
    if (obj_has_expire(old) && obj_has_expire(n)) {
        uint32_t i = obj_volatile_index(old);
        obj_set_volatile_index(n, i);
        db->vol[i] = n;
    } else if (obj_has_expire(old)) {
        vol_remove(db, old);
    } else if (obj_has_expire(n)) {
        vol_add(db, n);
    }
}

/* ---------------------------------------------------------------------- */
/* Expiry times                                                            */
/* ---------------------------------------------------------------------- */

int64_t db_get_expire(cdb *db, const cslice *key)
{
    if (db->nvol == 0) return -1;
    cobj *o = db_find(db, key);
    return o ? obj_expire(o) : -1;
}

int db_key_is_expired(cdb *db, const cslice *key, int64_t now_ms)
{
    int64_t when = db_get_expire(db, key);
    return when >= 0 && when <= now_ms;
}

/* Give the object at slot the expiry time when (-1: none), reallocating
 * it when the expiry appears or goes. */
static cobj *set_expire_at(cdb *db, void **slot, int64_t when)
{
    cobj *o = *slot;
    if (obj_has_expire(o) && when >= 0) {
        obj_set_expire_time(o, when);
        return o;
    }
    if (!obj_has_expire(o) && when < 0) return o;
    if (obj_has_expire(o)) vol_remove(db, o);
    cslice key = obj_key(o);
    cobj *n = obj_set_key(o, &key, when);
    if (when >= 0) vol_add(db, n);
    *slot = n;
    return n;
}

cobj *db_set_expire(cdb *db, const cslice *key, int64_t when_ms)
{
    uint64_t h = htab_hash(db->keys, key->ptr, key->len);
    void **slot = htab_find_ref(db->keys, key->ptr, key->len, h);
    return slot ? set_expire_at(db, slot, when_ms) : NULL;
}

int db_remove_expire(cdb *db, const cslice *key)
{
    if (db->nvol == 0) return 0;
    uint64_t h = htab_hash(db->keys, key->ptr, key->len);
    void **slot = htab_find_ref(db->keys, key->ptr, key->len, h);
    if (!slot || !obj_has_expire(*slot)) return 0;
    set_expire_at(db, slot, -1);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Deleting                                                                */
/* ---------------------------------------------------------------------- */

cobj *db_unlink(cdb *db, const cslice *key)
{
    cobj *o = htab_pop(db->keys, key->ptr, key->len);
    if (o && obj_has_expire(o)) vol_remove(db, o);
    return o;
}

/* Sessions blocked in XREADGROUP on a stream that goes away are told so
 * (Redis 7.0): wake them. */
static void stream_key_gone(cairn_engine *e, cdb *db, const cslice *key)
{
    if (!db->blocking) return;
    cobj *o = db_find(db, key);
    if (o && o->type == OBJ_STREAM) signal_key_ready(e, db, key);
}

/* key may point into the object deleted: it is unlinked, then freed. */
static int delete_key(cdb *db, const cslice *key)
{
    cobj *o = db_unlink(db, key);
    obj_free(o);
    return o != NULL;
}

/* Delete a key the engine itself decided to remove, logging it as a DEL
 * (rule 4) so that replicas and replays do the same. */
static void delete_logged(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    stream_key_gone(e, db, key);
    cslice argv[2] = {{"DEL", 3}, *key};
    engine_log(e, (uint32_t)db->id, now_ms, 0, 2, argv);
    tracking_invalidate_key(e, key, NULL);
    if (!db->watched || dict_size(db->watched) == 0) {
        delete_key(db, key);
        return;
    }
    /* Watchers are told once the key is gone (a key that was already
     * stale when WATCHed then changed nothing); key may point into the
     * object deleted, hence the copy. */
    dstr k = dstr_new(key->ptr, key->len);
    delete_key(db, key);
    cslice gone = {k, dstr_len(k)};
    touch_watched_key(e, db, &gone);
    dstr_free(k);
}

/* The events come before the deletion, which may free the key's bytes. */
void db_expire_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    notify_event(e, NOTIFY_EXPIRED, "expired", key, db->id);
    /* Freeing a big value is what makes an expiry slow: Redis samples it
     * as its own event. */
    int timed = e->mono_ns && latency_monitor_on(e->cfg.latency_monitor_threshold);
    int64_t start = timed ? e->mono_ns() : 0;
    delete_logged(e, db, key, now_ms);
    if (timed) latency_sample(e, "expire-del", now_ms / 1000, (e->mono_ns() - start) / 1000000);
    e->stats.expired_keys++;
}

void db_evict_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    notify_event(e, NOTIFY_EVICTED, "evicted", key, db->id);
    delete_logged(e, db, key, now_ms);
    /* Eviction is meant to free memory: give back a mostly empty table. */
    htab_shrink_if_needed(db->keys);
    e->stats.evicted_keys++;
}

int db_delete(cmd_call *c, cdb *db, const cslice *key)
{
    stream_key_gone(c->e, db, key);
    int deleted = delete_key(db, key);
    if (deleted) htab_shrink_if_needed(db->keys);
    return deleted;
}

/* ---------------------------------------------------------------------- */
/* Lookups                                                                 */
/* ---------------------------------------------------------------------- */

/* CLIENT NO-TOUCH: the session's reads leave LRU/LFU alone, except
 * TOUCH, whose whole point is to touch (Redis 7.2). */
static int client_no_touch(const cmd_call *c)
{
    return c->s && (c->s->flags & SESS_NO_TOUCH) && !(c->cmd && strcmp(c->cmd->name, "touch") == 0);
}

/* The end of every lookup, once ref->o is known: stats and access time. */
static cobj *lookup_done(cmd_call *c, const db_keyref *ref, int flags)
{
    cobj *o = ref->o;
    if (!o) {
        if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) {
            c->e->stats.keyspace_misses++;
            notify_key(c, NOTIFY_KEY_MISS, "keymiss", ref->key);
        }
        return NULL;
    }
    if (!(flags & LOOKUP_NOTOUCH) && !client_no_touch(c)) evict_touch(c, o);
    if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) c->e->stats.keyspace_hits++;
    return o;
}

cobj *db_lookup(cmd_call *c, cdb *db, const cslice *key, int flags)
{
    db_keyref ref = {key, 0, NULL, NULL};
    /* Nothing to hash for in an empty db (a fresh server under GET). */
    if (htab_size(db->keys) == 0) return lookup_done(c, &ref, flags);
    return db_lookup_ref(c, db, key, flags, &ref);
}

/* A lookup found key expired at c->now_ms.  The originating node deletes
 * it (logged as a DEL), unless a CLIENT PAUSE holds deletions and this is
 * a read.  An entry being applied sees it as it is: the
 * originating node's deletions are in the log, so a key an entry names was
 * live when the entry was made (and DEL of an expired key must delete it).
 * A client's read on a node that may not delete sees it missing and leaves
 * it for the DEL that will come. */
static void expired_on_lookup(cmd_call *c, cdb *db, const cslice *key, int flags, cobj **o,
                              void ***slot)
{
    if (engine_may_originate(c->e) && (!c->e->expire_paused || (flags & LOOKUP_WRITE))) {
        db_expire_key(c->e, db, key, c->now_ms);
        *o = NULL;
        *slot = NULL;
    } else if (!c->e->applying && !(flags & LOOKUP_WRITE)) {
        *o = NULL;
    }
}

cobj *db_lookup_ref(cmd_call *c, cdb *db, const cslice *key, int flags, db_keyref *ref)
{
    uint64_t h = htab_hash(db->keys, key->ptr, key->len);
    void **slot = htab_find_ref(db->keys, key->ptr, key->len, h);
    cobj *o = slot ? *slot : NULL;
    if (o && obj_has_expire(o) && obj_expire(o) <= c->now_ms)
        expired_on_lookup(c, db, key, flags, &o, &slot);
    ref->key = key;
    ref->hash = h;
    ref->slot = slot;
    ref->o = o;
    return lookup_done(c, ref, flags);
}

/* ---------------------------------------------------------------------- */
/* Storing                                                                 */
/* ---------------------------------------------------------------------- */

/* db_add() of the key ref names, hashed already; ref->o is set to the
 * stored object (its slot is not known: ref->slot is NULL). */
static cobj *add_hashed(cmd_call *c, cdb *db, db_keyref *ref, cobj *val)
{
    const cslice *key = ref->key;
    if (!(val->meta & OBJ_M_KEY)) val = obj_set_key(val, key, -1);
    val->lru = evict_initial_lru(c->e, c->now_ms);
    htab_add_new_hashed(db->keys, val, ref->hash);
    if (obj_has_expire(val)) vol_add(db, val);
    ref->slot = NULL;
    ref->o = val;
    notify_event(c->e, NOTIFY_NEW, "new", key, db->id);
    /* Blocked sessions wait on keys that do not exist (an emptied list or
     * zset is deleted), so a new key is the moment they may be served. */
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET || val->type == OBJ_STREAM)
        signal_key_ready(c->e, db, key);
    return val;
}

cobj *db_add(cmd_call *c, cdb *db, const cslice *key, cobj *val)
{
    db_keyref ref = {key, htab_hash(db->keys, key->ptr, key->len), NULL, NULL};
    return add_hashed(c, db, &ref, val);
}

cobj *db_add_loaded(cdb *db, const cslice *key, cobj *val, int64_t when)
{
    val = obj_set_key(val, key, when);
    if (!htab_add(db->keys, val, NULL)) {
        obj_free(val);
        return NULL;
    }
    if (when >= 0) vol_add(db, val);
    return val;
}

cobj *db_set(cmd_call *c, cdb *db, const cslice *key, cobj *val, int flags)
{
    uint64_t h = htab_hash(db->keys, key->ptr, key->len);
    void **slot = htab_find_ref(db->keys, key->ptr, key->len, h);
    db_keyref ref = {key, h, slot, slot ? *slot : NULL};
    return db_set_ref(c, db, &ref, val, flags);
}

void db_store(cmd_call *c, cdb *db, const cslice *key, cobj *val)
{
    cobj *stored = db_set(c, db, key, val, 0);
    (void)stored;
}

cobj *db_set_ref(cmd_call *c, cdb *db, db_keyref *ref, cobj *val, int flags)
{
    cobj *old = ref->o;
    if (!old) return add_hashed(c, db, ref, val);
    if (!(val->meta & OBJ_M_KEY))
        val = obj_set_key(val, ref->key, (flags & SETKEY_KEEPTTL) ? obj_expire(old) : -1);
    /* Under LFU the new value inherits the old one's counter, as in
     * Redis (db_overwrote_ref() refreshes an LRU clock). */
    val->lru = old->lru;
    if (old->type == OBJ_STREAM) signal_key_ready(c->e, db, ref->key);
    vol_replace(db, old, val);
    if (!ref->slot) ref->slot = htab_find_ref(db->keys, ref->key->ptr, ref->key->len, ref->hash);
    *ref->slot = val;
    ref->o = val;
    obj_free(old);
    db_overwrote_ref(c, db, ref);
    return val;
}

void db_overwrote_ref(cmd_call *c, cdb *db, db_keyref *ref)
{
    cobj *val = ref->o;
    /* An overwrite is an access: under LFU the new value keeps the
     * counter it inherited. */
    if (!evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) val->lru = engine_lru_clock(c->now_ms);
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET) signal_key_ready(c->e, db, ref->key);
}
