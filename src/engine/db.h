/* db.h -- the keyspace: lookups with lazy expiry, writes, TTLs.
 *
 * Every function takes the cmd_call whose context (now_ms, engine, log)
 * decides expiry, so the same calls give the same result on every replica
 * and every replay. */
#ifndef CAIRN_DB_H
#define CAIRN_DB_H

#include "engine.h"

enum {
    LOOKUP_NONE = 0,
    LOOKUP_NOTOUCH = 1 << 0, /* do not update the access time */
    LOOKUP_NOSTATS = 1 << 1, /* do not count a hit or miss */
    LOOKUP_WRITE = 1 << 2,   /* about to modify: no stats */
};

enum {
    SETKEY_KEEPTTL = 1 << 0,
};

void db_init(cairn_engine *e, cdb *db, int id);
void db_free(cdb *db);

/* The value at key in db, or NULL if absent or expired (an expired key is
 * deleted and logged as a DEL on the way when the engine may originate;
 * see expired_on_lookup() in db.c for the other cases). */
cobj *db_lookup(cmd_call *c, cdb *db, const cslice *key, int flags);
static inline cobj *lookup_read(cmd_call *c, const cslice *key)
{
    return db_lookup(c, c->db, key, LOOKUP_NONE);
}
static inline cobj *lookup_write(cmd_call *c, const cslice *key)
{
    return db_lookup(c, c->db, key, LOOKUP_WRITE);
}

/* A key found once for a read-modify-write (SET): its hash in the db's
 * table, its object (NULL if absent) and the table slot holding it, so
 * that storing the new value neither hashes the key again nor looks it up
 * again.  Valid until the keyspace changes by any other way. */
typedef struct db_keyref {
    const cslice *key;
    uint64_t hash;
    void **slot;
    cobj *o;
} db_keyref;

#define DB_WUR __attribute__((warn_unused_result))

/* The functions that store an object return the object now stored, which
 * in general is not the one passed: the key (and the expiry) are embedded
 * by re-allocating it (obj_set_key()).  Use the returned pointer from then
 * on.  An object that already carries a key (obj_new_keyed_string(),
 * obj_set_key()) must carry this key, and its expiry is the key's: it is
 * stored as it is. */

/* db_lookup() that also fills *ref for db_set_ref(). */
cobj *db_lookup_ref(cmd_call *c, cdb *db, const cslice *key, int flags, db_keyref *ref);
/* db_set() of the key ref names; ref->o is the stored object afterwards. */
DB_WUR cobj *db_set_ref(cmd_call *c, cdb *db, db_keyref *ref, cobj *val, int flags);
/* What db_set_ref() does to an existing key besides storing the value,
 * for a value changed in place (obj_string_set_in_place()). */
void db_overwrote_ref(cmd_call *c, cdb *db, db_keyref *ref);

/* Add a key that does not exist; val is owned by the db afterwards. */
DB_WUR cobj *db_add(cmd_call *c, cdb *db, const cslice *key, cobj *val);
/* Set key to val, replacing any value; the TTL is dropped unless
 * SETKEY_KEEPTTL. */
DB_WUR cobj *db_set(cmd_call *c, cdb *db, const cslice *key, cobj *val, int flags);
/* db_set() without a TTL for a value the caller is done with (the result
 * of a *STORE command): val belongs to the db and is not used again. */
void db_store(cmd_call *c, cdb *db, const cslice *key, cobj *val);
/* Add a key outside any command (loading a snapshot), with expiry time
 * when (-1: none).  Returns NULL, val freed, if the key exists. */
cobj *db_add_loaded(cdb *db, const cslice *key, cobj *val, int64_t when);
/* Take key out of db without freeing its object (still keyed), or NULL. */
cobj *db_unlink(cdb *db, const cslice *key);
/* Delete key; returns 1 if it existed. */
int db_delete(cmd_call *c, cdb *db, const cslice *key);
/* The object of key without expiry checks (NULL if absent). */
cobj *db_find(cdb *db, const cslice *key);
void db_empty(cdb *db);
long long db_size(const cdb *db);
/* Keys with an expiry time. */
static inline long long db_volatile_count(const cdb *db) { return db->nvol; }

/* Absolute expiry time in ms, or -1 when the key has no TTL. */
int64_t db_get_expire(cdb *db, const cslice *key);
/* Set the expiry time of key, which must exist; returns its object,
 * which may have moved. */
cobj *db_set_expire(cdb *db, const cslice *key, int64_t when_ms);
/* Returns 1 if a TTL was removed (the key's object may have moved). */
int db_remove_expire(cdb *db, const cslice *key);
/* True if key has a TTL that has passed at now_ms (it still exists). */
int db_key_is_expired(cdb *db, const cslice *key, int64_t now_ms);

/* Delete an expired key and log it as a DEL (rule 4). */
void db_expire_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms);
/* Delete a key chosen by eviction and log it as a DEL (rule 4). */
void db_evict_key(cairn_engine *e, cdb *db, const cslice *key, int64_t now_ms);

/* Standard errors. */
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX    "ERR syntax error"
#define ERR_NOT_INT   "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_OVERFLOW  "ERR increment or decrement would overflow"

#endif
