/* pubsub.c -- subscriptions and message delivery; see pubsub.h. */
#include "pubsub.h"

#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"

/* Sessions subscribed to one name, in subscription order. */
typedef struct subscribers {
    cairn_session **s;
    int n, cap;
} subscribers;

/* Server side: name -> subscribers, per kind. */
struct pubsub_state {
    dict *by_name[PS_KINDS];
};

/* Session side: the names it is subscribed to (values unused), per kind. */
struct pubsub_sess {
    dict *names[PS_KINDS];
};

static const char *const sub_word[PS_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[PS_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

static void subscribers_free(void *p)
{
    subscribers *subs = p;
    cm_free(subs->s);
    cm_free(subs);
}

static dict *server_dict(cairn_engine *e, int kind)
{
    if (!e->pubsub) e->pubsub = cm_calloc(1, sizeof(pubsub_state));
    dict **d = &e->pubsub->by_name[kind];
    if (!*d) *d = dict_create(e->hash_seed, subscribers_free, 0);
    return *d;
}

static long names_of(const cairn_session *s, int kind)
{
    const dict *d = s->sub ? s->sub->names[kind] : NULL;
    return d ? (long)dict_size(d) : 0;
}

long pubsub_session_count(const cairn_session *s, int kind) { return names_of(s, kind); }

size_t pubsub_session_mem(const cairn_session *s)
{
    if (!s->sub) return 0;
    size_t n = sizeof(*s->sub);
    for (int k = 0; k < PS_KINDS; k++) {
        const dict *d = s->sub->names[k];
        if (d)
            n += sizeof(*d) + dict_size(d) * sizeof(dict_entry) +
                 dict_buckets(d) * sizeof(dict_entry *);
    }
    return n;
}

/* The count Redis's confirmations carry: shard subscriptions are counted
 * on their own, channels and patterns together. */
static long confirm_count(const cairn_session *s, int kind)
{
    if (kind == PS_SHARD) return names_of(s, PS_SHARD);
    return names_of(s, PS_CHANNEL) + names_of(s, PS_PATTERN);
}

/* [word, name or nil, count]: a push frame under RESP3, an array under
 * RESP2. */
static void reply_confirm(rbuf *out, const char *word, const char *name, size_t len, long count)
{
    reply_push_len(out, 3);
    reply_bulk_cstr(out, word);
    if (name)
        reply_bulk(out, name, len);
    else
        reply_null(out);
    reply_int(out, count);
}

/* The session state is kept only while it holds a subscription. */
static void release_if_empty(cairn_session *s)
{
    pubsub_sess *ps = s->sub;
    if (!ps) return;
    for (int k = 0; k < PS_KINDS; k++)
        if (ps->names[k] && dict_size(ps->names[k])) return;
    for (int k = 0; k < PS_KINDS; k++)
        if (ps->names[k]) dict_release(ps->names[k]);
    cm_free(ps);
    s->sub = NULL;
}

static void server_add(cairn_engine *e, int kind, const cslice *name, cairn_session *s)
{
    dict *d = server_dict(e, kind);
    dict_entry *de = dict_find(d, name->ptr, name->len);
    if (!de) {
        de = dict_add(d, dstr_new(name->ptr, name->len), NULL);
        de->v.ptr = cm_calloc(1, sizeof(subscribers));
    }
    subscribers *subs = de->v.ptr;
    if (subs->n == subs->cap) {
        subs->cap = subs->cap ? subs->cap * 2 : 2;
        subs->s = cm_realloc(subs->s, sizeof(*subs->s) * (size_t)subs->cap);
    }
    subs->s[subs->n++] = s;
}

static void server_remove(cairn_engine *e, int kind, const char *name, size_t len, cairn_session *s)
{
    dict *d = server_dict(e, kind);
    dict_entry *de = dict_find(d, name, len);
    if (!de) return;
    subscribers *subs = de->v.ptr;
    for (int i = 0; i < subs->n; i++) {
        if (subs->s[i] != s) continue;
        /* Keep the order: it is the order messages are delivered in. */
        memmove(&subs->s[i], &subs->s[i + 1], sizeof(*subs->s) * (size_t)(subs->n - i - 1));
        subs->n--;
        break;
    }
    if (subs->n == 0) dict_delete(d, name, len);
}

void pubsub_subscribe(cmd_call *c, int kind, const cslice *name)
{
    cairn_session *s = c->s;
    if (!s->sub) s->sub = cm_calloc(1, sizeof(pubsub_sess));
    dict **mine = &s->sub->names[kind];
    if (!*mine) *mine = dict_create(c->e->hash_seed, NULL, 0);
    dstr key = dstr_new(name->ptr, name->len);
    if (dict_add(*mine, key, NULL))
        server_add(c->e, kind, name, s);
    else
        dstr_free(key);
    reply_confirm(call_push_out(c), sub_word[kind], name->ptr, name->len, confirm_count(s, kind));
}

/* Remove one subscription the session holds; with out, confirm it. */
static void drop_one(cairn_engine *e, cairn_session *s, int kind, dstr key, rbuf *out)
{
    size_t len = dstr_len(key);
    server_remove(e, kind, key, len, s);
    if (out) reply_confirm(out, unsub_word[kind], key, len, confirm_count(s, kind) - 1);
    dict_delete(s->sub->names[kind], key, len);
}

/* Unsubscribe from every name of kind; returns how many there were. */
static long drop_all(cairn_engine *e, cairn_session *s, int kind, rbuf *out)
{
    dict *mine = s->sub ? s->sub->names[kind] : NULL;
    if (!mine || dict_size(mine) == 0) return 0;
    long n = 0;
    dict_iter it;
    dict_iter_start(&it, mine);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        drop_one(e, s, kind, de->key, out);
        n++;
    }
    dict_iter_end(&it);
    return n;
}

void pubsub_unsubscribe(cmd_call *c, int kind, const cslice *name)
{
    cairn_session *s = c->s;
    rbuf *out = call_push_out(c);
    if (!name) {
        if (drop_all(c->e, s, kind, out) == 0)
            reply_confirm(out, unsub_word[kind], NULL, 0, confirm_count(s, kind));
        release_if_empty(s);
        return;
    }
    dict *mine = s->sub ? s->sub->names[kind] : NULL;
    dict_entry *de = mine ? dict_find(mine, name->ptr, name->len) : NULL;
    if (de)
        drop_one(c->e, s, kind, de->key, out);
    else
        reply_confirm(out, unsub_word[kind], name->ptr, name->len, confirm_count(s, kind));
    release_if_empty(s);
}

void pubsub_session_reset(cairn_engine *e, cairn_session *s)
{
    if (!s->sub) return;
    for (int k = 0; k < PS_KINDS; k++)
        drop_all(e, s, k, NULL);
    release_if_empty(s);
}

/* ---------------------------------------------------------------------------
 * Delivery
 * ------------------------------------------------------------------------ */

static dstr cat_bulk(dstr m, const char *p, size_t len)
{
    char hdr[NUM_STR_MAX + 4];
    hdr[0] = '$';
    size_t n = 1 + (size_t)ll_to_str(hdr + 1, sizeof(hdr) - 1, (long long)len);
    hdr[n++] = '\r';
    hdr[n++] = '\n';
    m = dstr_cat(m, hdr, n);
    m = dstr_cat(m, p, len);
    return dstr_cat(m, "\r\n", 2);
}

/* A message frame, encoded once for all its receivers as a RESP2 array;
 * RESP3 receivers get the same bytes with '>' for '*'. */
static dstr encode_message(const char *word, const cslice *pattern, const cslice *channel,
                           const cslice *message)
{
    dstr m = dstr_with_cap(32 + channel->len + message->len + (pattern ? pattern->len : 0));
    m = dstr_cat(m, pattern ? "*4\r\n" : "*3\r\n", 4);
    m = cat_bulk(m, word, strlen(word));
    if (pattern) m = cat_bulk(m, pattern->ptr, pattern->len);
    m = cat_bulk(m, channel->ptr, channel->len);
    return cat_bulk(m, message->ptr, message->len);
}

static void deliver(cairn_engine *e, cairn_session *s, const dstr m)
{
    if ((s->flags & SESS_CLOSE_ASAP) || !s->out) return;
    if (s->resp == 3) {
        rbuf_append(s->out, ">", 1);
        rbuf_append(s->out, m + 1, dstr_len(m) - 1);
    } else {
        rbuf_append(s->out, m, dstr_len(m));
    }
    if (e->host && e->host->pushed) e->host->pushed(e->host_priv, s);
}

static long long deliver_all(cairn_engine *e, const subscribers *subs, const dstr m)
{
    for (int i = 0; i < subs->n; i++)
        deliver(e, subs->s[i], m);
    return subs->n;
}

static long long publish_patterns(cairn_engine *e, const cslice *channel, const cslice *message)
{
    dict *d = e->pubsub->by_name[PS_PATTERN];
    if (!d || dict_size(d) == 0) return 0;
    long long n = 0;
    dict_iter it;
    dict_iter_start(&it, d);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        cslice pat = {de->key, dstr_len(de->key)};
        if (!glob_match(pat.ptr, pat.len, channel->ptr, channel->len, 0)) continue;
        dstr m = encode_message("pmessage", &pat, channel, message);
        n += deliver_all(e, de->v.ptr, m);
        dstr_free(m);
    }
    dict_iter_end(&it);
    return n;
}

long long pubsub_publish(cairn_engine *e, const cslice *channel, const cslice *message, int shard)
{
    if (!e->pubsub) return 0;
    long long n = 0;
    dict *d = e->pubsub->by_name[shard ? PS_SHARD : PS_CHANNEL];
    dict_entry *de = d && dict_size(d) ? dict_find(d, channel->ptr, channel->len) : NULL;
    if (de) {
        dstr m = encode_message(shard ? "smessage" : "message", NULL, channel, message);
        n += deliver_all(e, de->v.ptr, m);
        dstr_free(m);
    }
    if (!shard) n += publish_patterns(e, channel, message);
    return n;
}

long long pubsub_receivers(cairn_engine *e, const cslice *channel, int shard)
{
    long long n = pubsub_subscriber_count(e, shard ? PS_SHARD : PS_CHANNEL, channel);
    dict *d = shard ? NULL : pubsub_dict(e, PS_PATTERN);
    if (!d || dict_size(d) == 0) return n;
    dict_iter it;
    dict_iter_start(&it, d);
    dict_entry *de;
    while ((de = dict_iter_next(&it)))
        if (glob_match(de->key, dstr_len(de->key), channel->ptr, channel->len, 0))
            n += ((const subscribers *)de->v.ptr)->n;
    dict_iter_end(&it);
    return n;
}

int pubsub_has_subscribers(const cairn_engine *e)
{
    if (!e->pubsub) return 0;
    for (int k = 0; k < PS_KINDS; k++)
        if (e->pubsub->by_name[k] && dict_size(e->pubsub->by_name[k])) return 1;
    return 0;
}

long pubsub_count(const cairn_engine *e, int kind)
{
    const dict *d = e->pubsub ? e->pubsub->by_name[kind] : NULL;
    return d ? (long)dict_size(d) : 0;
}

dict *pubsub_dict(cairn_engine *e, int kind) { return e->pubsub ? e->pubsub->by_name[kind] : NULL; }

long pubsub_subscriber_count(cairn_engine *e, int kind, const cslice *name)
{
    dict *d = pubsub_dict(e, kind);
    dict_entry *de = d && dict_size(d) ? dict_find(d, name->ptr, name->len) : NULL;
    return de ? ((const subscribers *)de->v.ptr)->n : 0;
}

void pubsub_free(cairn_engine *e)
{
    if (!e->pubsub) return;
    for (int k = 0; k < PS_KINDS; k++)
        if (e->pubsub->by_name[k]) dict_release(e->pubsub->by_name[k]);
    cm_free(e->pubsub);
    e->pubsub = NULL;
}
