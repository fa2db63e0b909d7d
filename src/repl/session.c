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

int session_check_at(session_table *t, uint64_t client, uint64_t seq, uint64_t now_ms,
                     const void **result, size_t *len)
{
    session *s = find(t, client);
    if (!s || s->last_ms + t->ttl_ms < now_ms) return SESSION_UNKNOWN;
    if (seq > s->seq) return SESSION_NEW;
    if (seq < s->seq) return SESSION_STALE;
    *result = s->result;
    *len = s->len;
    return SESSION_DUP;
}

int session_check(session_table *t, uint64_t client, uint64_t seq, const void **result, size_t *len)
{
    return session_check_at(t, client, seq, t->now_ms, result, len);
}

static session *add(session_table *t, uint64_t client)
{
    session *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (t->count == t->max) drop(t, t->oldest);
    s->client = client;
    size_t b = bucket_of(t, client);
    s->chain = t->buckets[b];
    t->buckets[b] = s;
    t->count++;
    return s;
}

int session_open(session_table *t, uint64_t client)
{
    if (find(t, client)) return 0;
    session *s = add(t, client);
    if (!s) return -1;
    s->last_ms = t->now_ms;
    list_push(t, s);
    return 0;
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
        s = add(t, client);
        if (!s) {
            free(copy);
            return -1;
        }
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

size_t session_max(const session_table *t) { return t->max; }

uint64_t session_ttl(const session_table *t) { return t->ttl_ms; }

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SESSION_HDR 32 /* client, seq, last use, result length */

size_t session_encoded_size(const session_table *t)
{
    size_t n = 16;
    for (const session *s = t->oldest; s; s = s->next)
        n += SESSION_HDR + s->len;
    return n;
}

void session_encode(const session_table *t, uint8_t *buf)
{
    put64(buf, t->now_ms);
    put64(buf + 8, t->count);
    buf += 16;
    for (const session *s = t->oldest; s; s = s->next) {
        put64(buf, s->client);
        put64(buf + 8, s->seq);
        put64(buf + 16, s->last_ms);
        put64(buf + 24, s->len);
        if (s->len) memcpy(buf + SESSION_HDR, s->result, s->len);
        buf += SESSION_HDR + s->len;
    }
}

int session_decode(session_table *t, const uint8_t *buf, size_t len)
{
    if (len < 16 || t->count) return -1;
    uint64_t now = get64(buf), n = get64(buf + 8);
    size_t off = 16;
    for (uint64_t i = 0; i < n; i++) {
        if (len - off < SESSION_HDR) return -1;
        uint64_t rlen = get64(buf + off + 24);
        if (rlen > len - off - SESSION_HDR) return -1;
        /* oldest first: recording in this order rebuilds the use order */
        t->now_ms = get64(buf + off + 16);
        if (session_record(t, get64(buf + off), get64(buf + off + 8), buf + off + SESSION_HDR,
                           (size_t)rlen) != 0)
            return -1;
        off += SESSION_HDR + (size_t)rlen;
    }
    t->now_ms = now;
    return off == len ? 0 : -1;
}
