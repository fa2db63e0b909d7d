/* notify.c -- keyspace notifications; see notify.h. */
#include "notify.h"

#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "pubsub.h"

static const struct {
    char letter;
    int flag;
} classes[] = {
    {'g', NOTIFY_GENERIC},  {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST},     {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},     {'z', NOTIFY_ZSET},   {'x', NOTIFY_EXPIRED},  {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},   {'d', NOTIFY_MODULE}, {'K', NOTIFY_KEYSPACE}, {'E', NOTIFY_KEYEVENT},
    {'m', NOTIFY_KEY_MISS}, {'n', NOTIFY_NEW},
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

int notify_flags_parse(const char *s, size_t len)
{
    int flags = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 'A') {
            flags |= NOTIFY_ALL;
            continue;
        }
        size_t j = 0;
        while (j < NCLASSES && classes[j].letter != s[i])
            j++;
        if (j == NCLASSES) return -1;
        flags |= classes[j].flag;
    }
    return flags;
}

void notify_flags_format(int flags, char *buf)
{
    size_t n = 0;
    int all = (flags & NOTIFY_ALL) == NOTIFY_ALL;
    if (all) buf[n++] = 'A';
    for (size_t j = 0; j < NCLASSES; j++) {
        if (all && (classes[j].flag & NOTIFY_ALL)) continue;
        if (flags & classes[j].flag) buf[n++] = classes[j].letter;
    }
    buf[n] = '\0';
}

/* "__keyspace@<db>__:" or "__keyevent@<db>__:" followed by tail. */
static size_t channel_name(char *buf, size_t size, const char *kind, int dbid, const char *tail,
                           size_t tlen)
{
    size_t n = strlen(kind);
    memcpy(buf, kind, n);
    n += (size_t)ll_to_str(buf + n, size - n, dbid);
    memcpy(buf + n, "__:", 3);
    n += 3;
    memcpy(buf + n, tail, tlen);
    return n + tlen;
}

void notify_publish(cairn_engine *e, int type, const char *event, const cslice *key, int dbid)
{
    (void)type;
    int flags = e->cfg.notify_keyspace_events;
    /* A Raft node replaying entries whose events went out before (a
     * restart, a rebuild) sends them again no more than their messages. */
    if (!pubsub_has_subscribers(e) || (e->applying && e->publish_quiet)) return;
    size_t elen = strlen(event);
    cslice ev = {event, elen};
    char small[256];
    if (flags & NOTIFY_KEYSPACE) {
        size_t need = 32 + key->len;
        char *buf = need <= sizeof(small) ? small : cm_malloc(need);
        cslice ch = {buf, channel_name(buf, need, "__keyspace@", dbid, key->ptr, key->len)};
        pubsub_publish(e, &ch, &ev, 0);
        if (buf != small) cm_free(buf);
    }
    if (flags & NOTIFY_KEYEVENT) {
        size_t need = 32 + elen;
        char *buf = need <= sizeof(small) ? small : cm_malloc(need);
        cslice ch = {buf, channel_name(buf, need, "__keyevent@", dbid, event, elen)};
        pubsub_publish(e, &ch, key, 0);
        if (buf != small) cm_free(buf);
    }
}
