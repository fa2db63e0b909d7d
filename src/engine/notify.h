/* notify.h -- keyspace notifications (notify-keyspace-events).
 *
 * A command that changes a key calls notify_key() with the event's class
 * and Redis's event name; the engine then publishes the event on
 * __keyspace@<db>__:<key> (message: the event) and/or
 * __keyevent@<db>__:<event> (message: the key), as the configured flags
 * say.  With notifications off the call is one test of a flags word. */
#ifndef CAIRN_NOTIFY_H
#define CAIRN_NOTIFY_H

#include "engine.h"

/* Event classes, with Redis's values and flag letters. */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC = 1 << 2,   /* g */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x */
    NOTIFY_EVICTED = 1 << 9,   /* e */
    NOTIFY_STREAM = 1 << 10,   /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m */
    NOTIFY_MODULE = 1 << 13,   /* d */
    NOTIFY_NEW = 1 << 14,      /* n */
    /* A: every class but key misses and new keys. */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                 NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};

/* Publish event `event` of class type for key in db dbid. */
void notify_publish(cairn_engine *e, int type, const char *event, const cslice *key, int dbid);

static inline void notify_event(cairn_engine *e, int type, const char *event, const cslice *key,
                                int dbid)
{
    if (e->cfg.notify_keyspace_events & type) notify_publish(e, type, event, key, dbid);
}

/* An event of the running command on a key of its db. */
static inline void notify_key(cmd_call *c, int type, const char *event, const cslice *key)
{
    notify_event(c->e, type, event, key, c->db->id);
}

/* Parse flag letters ("KEA", "Elg"); -1 if a letter is not a class. */
int notify_flags_parse(const char *s, size_t len);
/* The flags as CONFIG GET shows them: "A" for all the classes A covers,
 * else their letters, then K, E, m, n.  buf holds at least 20 bytes. */
void notify_flags_format(int flags, char *buf);

#endif
