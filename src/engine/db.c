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
    e->stats.evicted_keys++;
}

/* CLIENT NO-TOUCH: the session's reads leave LRU/LFU alone, except
 * TOUCH, whose whole point is to touch (Redis 7.2). */
static int client_no_touch(const cmd_call *c)
{
    return c->s && (c->s->flags & SESS_NO_TOUCH) && !(c->cmd && strcmp(c->cmd->name, "touch") == 0);
}

cobj *db_lookup(cmd_call *c, cdb *db, const cslice *key, int flags)
{
    dict_entry *de = dict_find(db->keys, key->ptr, key->len);
    if (de && db_key_is_expired(db, key, c->now_ms)) {
        db_expire_key(c->e, db, key, c->now_ms);
        de = NULL;
    }
    if (!de) {
        if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) c->e->stats.keyspace_misses++;
        return NULL;
    }
    cobj *o = de->v.ptr;
    if (!(flags & LOOKUP_NOTOUCH) && !client_no_touch(c)) evict_touch(c, o);
    if (!(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE))) c->e->stats.keyspace_hits++;
    return o;
}

void db_add(cmd_call *c, cdb *db, const cslice *key, cobj *val)
{
    val->lru = evict_initial_lru(c->e, c->now_ms);
    dict_entry *de = dict_add(db->keys, dstr_new(key->ptr, key->len), NULL);
    de->v.ptr = val;
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
    dict_entry *de = dict_find(db->keys, key->ptr, key->len);
    if (!de) {
        db_add(c, db, key, val);
        return;
    }
    db_replace_value(db, de, val);
    /* An overwrite is an access: under LFU the new value inherits the
     * old one's counter (db_replace_value copied it), as in Redis. */
    if (!evict_policy_is_lfu(c->e->cfg.maxmemory_policy)) val->lru = engine_lru_clock(c->now_ms);
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET) signal_key_ready(c->e, db, key);
    if (!(flags & SETKEY_KEEPTTL)) dict_delete(db->expires, key->ptr, key->len);
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
    dict_entry *kde = dict_find(db->keys, key->ptr, key->len);
    if (!kde) return;
    dict_entry *existing;
    dict_entry *de = dict_add(db->expires, kde->key, &existing);
    if (!de) de = existing;
    de->v.s64 = when_ms;
}

int db_remove_expire(cdb *db, const cslice *key)
{
    return dict_delete(db->expires, key->ptr, key->len);
}
