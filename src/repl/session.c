/* session.c -- chained hash of sessions plus a list in order of last use,
 * so expiry and eviction look only at the oldest sessions. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

typedef struct session {
    uint64_t client, seq, last_ms;
    void *result;
    size_t len;
    struct session *chain;       /* next in the bucket */
    struct session *prev, *next; /* least recently used first */
} session;

struct session_table {
    session **buckets;
    size_t mask;
    size_t count, max;
    uint64_t ttl_ms, now_ms;
    session *oldest, *newest;
};

static size_t bucket_of(const session_table *t, uint64_t client)
{
    uint64_t h = client * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & t->mask;
}

session_table *session_table_new(size_t max_sessions, uint64_t ttl_ms)
{
    if (max_sessions == 0) return NULL;
    session_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    size_t n = 16;
    while (n < max_sessions)
        n *= 2;
    t->buckets = calloc(n, sizeof(session *));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    t->max = max_sessions;
    t->ttl_ms = ttl_ms;
    return t;
}

static void list_unlink(session_table *t, session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        t->oldest = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        t->newest = s->prev;
    s->prev = s->next = NULL;
}

static void list_push(session_table *t, session *s)
{
    s->prev = t->newest;
    s->next = NULL;
    if (t->newest)
        t->newest->next = s;
    else
        t->oldest = s;
    t->newest = s;
}

static session *find(const session_table *t, uint64_t client)
{
    for (session *s = t->buckets[bucket_of(t, client)]; s; s = s->chain)
        if (s->client == client) return s;
    return NULL;
}

static void drop(session_table *t, session *s)
{
    session **pp = &t->buckets[bucket_of(t, s->client)];
    while (*pp != s)
        pp = &(*pp)->chain;
    *pp = s->chain;
    list_unlink(t, s);
    free(s->result);
    free(s);
    t->count--;
}

void session_table_free(session_table *t)
{
    if (!t) return;
    while (t->oldest)
        drop(t, t->oldest);
    free(t->buckets);
    free(t);
}

void session_clock(session_table *t, uint64_t now_ms)
{
    if (now_ms > t->now_ms) t->now_ms = now_ms;
    while (t->oldest && t->oldest->last_ms + t->ttl_ms < t->now_ms)
        drop(t, t->oldest);
}

int session_check(session_table *t, uint64_t client, uint64_t seq, const void **result, size_t *len)
{
    session *s = find(t, client);
    if (!s || seq > s->seq) return SESSION_NEW;
    if (seq < s->seq) return SESSION_STALE;
    *result = s->result;
    *len = s->len;
    return SESSION_DUP;
}

int session_record(session_table *t, uint64_t client, uint64_t seq, const void *result, size_t len)
{
    void *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, result, len);
    }
    session *s = find(t, client);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s) {
            free(copy);
            return -1;
        }
        if (t->count == t->max) drop(t, t->oldest);
        s->client = client;
        size_t b = bucket_of(t, client);
        s->chain = t->buckets[b];
        t->buckets[b] = s;
        t->count++;
    } else {
        list_unlink(t, s);
        free(s->result);
    }
    s->seq = seq;
    s->result = copy;
    s->len = len;
    s->last_ms = t->now_ms;
    list_push(t, s);
    return 0;
}

size_t session_count(const session_table *t) { return t->count; }
