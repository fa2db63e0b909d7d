/* db.c -- the keyspace; see db.h. */
#include "db.h"

#include <string.h>

#include "blocking.h"
#include "cmd.h"
#include "evict.h"
#include "multi.h"

void db_init(cairn_engine *e, cdb *db, int id)
{
    db->keys = dict_create(e->hash_seed, obj_free_void, 0);
    db->expires = dict_create(e->hash_seed, NULL, DICT_SHARED_KEYS);
    db->id = id;
    db->expire_cursor = 0;
    db->avg_ttl = 0;
}

void db_free(cdb *db)
{
    /* expires shares its keys with keys: release it first. */
    if (db->blocking) dict_release(db->blocking);
    if (db->watched) dict_release(db->watched);
    dict_release(db->expires);
    dict_release(db->keys);
}

void db_empty(cdb *db)
{
    dict_clear(db->expires);
    dict_clear(db->keys);
    db->expire_cursor = 0;
    db->avg_ttl = 0;
}

long long db_size(const cdb *db) { return (long long)dict_size(db->keys); }

dict_entry *db_find_entry(cdb *db, const cslice *key)
{
    return dict_find(db->keys, key->ptr, key->len);
}

int64_t db_get_expire(cdb *db, const cslice *key)
{
    if (dict_size(db->expires) == 0) return -1;
    dict_entry *de = dict_find(db->expires, key->ptr, key->len);
    return de ? de->v.s64 : -1;
}

int db_key_is_expired(cdb *db, const cslice *key, int64_t now_ms)
{
    int64_t when = db_get_expire(db, key);
    return when >= 0 && when <= now_ms;
}

/* Delete a key the engine itself decided to remove, logging it as a DEL
 * (rule 4) so that replicas and replays do the same. */
static void delete_logged(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    cslice argv[2] = {{"DEL", 3}, *key};
    engine_log(e, (uint32_t)db->id, now_ms, 0, 2, argv);
    touch_watched_key(e, db, key);
    dict_delete(db->expires, key->ptr, key->len);
    /* Unlink, then free: key may point at the bytes of this very entry. */
    dict_entry *de = dict_unlink(db->keys, key->ptr, key->len);
    if (de) dict_free_unlinked(db->keys, de);
}

void db_expire_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    delete_logged(e, db, key, now_ms);
    e->stats.expired_keys++;
}

void db_evict_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms)
{
    delete_logged(e, db, key, now_ms);
    /* Eviction is meant to free memory: give back a mostly empty table. */
    dict_shrink_if_needed(db->keys);
    dict_shrink_if_needed(db->expires);
    e->stats.evicted_keys++;
}

/* CLIENT NO-TOUCH: the session's reads leave LRU/LFU alone, except
 * TOUCH, whose whole point is to touch (Redis 7.2). */
static int client_no_touch(const cmd_call *c)
{
    return c->s && (c->s->flags & SESS_NO_TOUCH) && !(c->cmd && strcmp(c->cmd->name, "touch") == 0);
}

/* The hash of key in db's dicts.  keys and expires are created with the
 * same seed (db_init), so one hash serves both. */
static inline uint64_t key_hash(const cdb *db, const cslice *key)
{
    return dict_hash(db->keys, key->ptr, key->len);
}

/* The end of every lookup, once ref->de is known: stats and access time. */
static cobj *lookup_done(cmd_call *c, const db_keyref *ref, int flags)
{
    if (!ref->de) {
        if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) c->e->stats.keyspace_misses++;
        return NULL;
    }
    cobj *o = ref->de->v.ptr;
    if (!(flags & LOOKUP_NOTOUCH) && !client_no_touch(c)) evict_touch(c, o);
    if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) c->e->stats.keyspace_hits++;
    return o;
}

cobj *db_lookup(cmd_call *c, cdb *db, const cslice *key, int flags)
{
    db_keyref ref = {key, 0, NULL};
    /* Nothing to hash for in an empty db (a fresh server under GET). */
    if (dict_size(db->keys) == 0) return lookup_done(c, &ref, flags);
    return db_lookup_ref(c, db, key, flags, &ref);
}

cobj *db_lookup_ref(cmd_call *c, cdb *db, const cslice *key, int flags, db_keyref *ref)
{
    uint64_t h = key_hash(db, key);
    dict_entry *de = dict_find_hashed(db->keys, key->ptr, key->len, h);
    if (de && dict_size(db->expires)) {
        dict_entry *ex = dict_find_hashed(db->expires, key->ptr, key->len, h);
        if (ex && ex->v.s64 >= 0 && ex->v.s64 <= c->now_ms) { /* db_key_is_expired() */
            db_expire_key(c->e, db, key, c->now_ms);
            de = NULL;
        }
    }
    ref->key = key;
    ref->hash = h;
    ref->de = de;
    return lookup_done(c, ref, flags);
}

static void add_hashed(cmd_call *c, cdb *db, db_keyref *ref, cobj *val);

void db_add(cmd_call *c, cdb *db, const cslice *key, cobj *val)
{
    db_keyref ref = {key, key_hash(db, key), NULL};
    add_hashed(c, db, &ref, val);
}

/* db_add() of the key ref names, hashed already; ref->de is set to the
 * new entry. */
static void add_hashed(cmd_call *c, cdb *db, db_keyref *ref, cobj *val)
{
    const cslice *key = ref->key;
    val->lru = evict_initial_lru(c->e, c->now_ms);
    dict_entry *de = dict_add_hashed(db->keys, dstr_new(key->ptr, key->len), ref->hash, NULL);
    de->v.ptr = val;
    ref->de = de;
    /* Blocked sessions wait on keys that do not exist (an emptied list or
     * zset is deleted), so a new key is the moment they may be served. */
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET) signal_key_ready(c->e, db, key);
}

void db_replace_value(cdb *db, dict_entry *de, cobj *val)
{
    (void)db;
    cobj *old = de->v.ptr;
    val->lru = old->lru;
    de->v.ptr = val;
    obj_free(old);
}

void db_set(cmd_call *c, cdb *db, const cslice *key, cobj *val, int flags)
{
    uint64_t h = key_hash(db, key);
    db_keyref ref = {key, h, dict_find_hashed(db->keys, key->ptr, key->len, h)};
    db_set_ref(c, db, &ref, val, flags);
}

void db_set_ref(cmd_call *c, cdb *db, db_keyref *ref, cobj *val, int flags)
{
    dict_entry *de = ref->de;
    if (!de) {
        add_hashed(c, db, ref, val);
        return;
    }
    db_replace_value(db, de, val);
    db_overwrote_ref(c, db, ref, flags);
}

void db_overwrote_ref(cmd_call *c, cdb *db, db_keyref *ref, int flags)
{
    const cslice *key = ref->key;
    cobj *val = ref->de->v.ptr;
    /* An overwrite is an access: under LFU the new value inherits the
     * old one's counter (db_replace_value copied it), as in Redis. */
    if (!evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) val->lru = engine_lru_clock(c->now_ms);
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET) signal_key_ready(c->e, db, key);
    if (!(flags & SETKEY_KEEPTTL) && dict_size(db->expires))
        dict_delete_hashed(db->expires, key->ptr, key->len, ref->hash);
}

int db_delete(cmd_call *c, cdb *db, const cslice *key)
{
    (void)c;
    dict_delete(db->expires, key->ptr, key->len);
    int deleted = dict_delete(db->keys, key->ptr, key->len);
    if (deleted) dict_shrink_if_needed(db->keys);
    return deleted;
}

void db_set_expire(cdb *db, const cslice *key, int64_t when_ms)
{
    uint64_t h = key_hash(db, key);
    db_keyref ref = {key, h, dict_find_hashed(db->keys, key->ptr, key->len, h)};
    if (ref.de) db_set_expire_ref(db, &ref, when_ms);
}

void db_set_expire_ref(cdb *db, const db_keyref *ref, int64_t when_ms)
{
    dict_entry *existing;
    dict_entry *de = dict_add_hashed(db->expires, ref->de->key, ref->hash, &existing);
    if (!de) de = existing;
    de->v.s64 = when_ms;
}

int db_remove_expire(cdb *db, const cslice *key)
{
    return dict_delete(db->expires, key->ptr, key->len);
}
