/* t_pubsub.c -- SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
 * SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.
 *
 * Semantics, reply shapes and error strings are Redis 7.0's (single node:
 * a shard channel is an ordinary channel of its own namespace). */
#include "../ds/util.h"
#include "cmd.h"
#include "pubsub.h"

static void subscribe_kind(cmd_call *c, int kind)
{
    for (int i = 1; i < c->argc; i++)
        pubsub_subscribe(c, kind, &c->argv[i]);
}

static void unsubscribe_kind(cmd_call *c, int kind)
{
    if (c->argc == 1) {
        pubsub_unsubscribe(c, kind, NULL);
        return;
    }
    for (int i = 1; i < c->argc; i++)
        pubsub_unsubscribe(c, kind, &c->argv[i]);
}

static void subscribe_command(cmd_call *c) { subscribe_kind(c, PS_CHANNEL); }
static void psubscribe_command(cmd_call *c) { subscribe_kind(c, PS_PATTERN); }
static void ssubscribe_command(cmd_call *c) { subscribe_kind(c, PS_SHARD); }
static void unsubscribe_command(cmd_call *c) { unsubscribe_kind(c, PS_CHANNEL); }
static void punsubscribe_command(cmd_call *c) { unsubscribe_kind(c, PS_PATTERN); }
static void sunsubscribe_command(cmd_call *c) { unsubscribe_kind(c, PS_SHARD); }

/* In a Raft group a message is an entry of the log (the delivery is its
 * effect, DESIGN rule 4), so that every node delivers it, in log order;
 * the node keeps a replay of old entries quiet.  Not inlined: the
 * standalone path stays as short as it was. */
__attribute__((noinline)) static void publish_logged(cmd_call *c, int shard)
{
    cairn_engine *e = c->e;
    int loading = c->s->flags & SESS_LOADER;
    long long n =
        loading && e->publish_quiet ? 0 : pubsub_publish(e, &c->argv[1], &c->argv[2], shard);
    reply_int(c->out, n);
    if (!loading) engine_log(e, (uint32_t)c->db->id, c->now_ms, 0, c->argc, c->argv);
}

/* Standalone, a message is not an entry of the log: it changes no data,
 * and a replay must not send it again. */
static void publish_kind(cmd_call *c, int shard)
{
    if (c->e->log_publish) {
        publish_logged(c, shard);
        return;
    }
    reply_int(c->out, pubsub_publish(c->e, &c->argv[1], &c->argv[2], shard));
}

static void publish_command(cmd_call *c) { publish_kind(c, 0); }
static void spublish_command(cmd_call *c) { publish_kind(c, 1); }

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern] */
static void channels_of(cmd_call *c, int kind)
{
    const cslice *pat = c->argc == 3 ? &c->argv[2] : NULL;
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    dict *d = pubsub_dict(c->e, kind);
    rbuf_deferred len = reply_deferred_len(c->out);
    long n = 0;
    if (d) {
        dict_iter it;
        dict_iter_start(&it, d);
        dict_entry *de;
        while ((de = dict_iter_next(&it))) {
            size_t klen = dstr_len(de->key);
            if (pat && !glob_match(pat->ptr, pat->len, de->key, klen, 0)) continue;
            reply_bulk(c->out, de->key, klen);
            n++;
        }
        dict_iter_end(&it);
    }
    reply_set_deferred_array(c->out, len, n);
}

/* PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: channel, count pairs (a flat
 * array in RESP3 too, as Redis 7.0 replies). */
static void numsub_of(cmd_call *c, int kind)
{
    reply_array_len(c->out, (long)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        reply_bulk(c->out, c->argv[i].ptr, c->argv[i].len);
        reply_int(c->out, pubsub_subscriber_count(c->e, kind, &c->argv[i]));
    }
}

static void pubsub_channels_command(cmd_call *c) { channels_of(c, PS_CHANNEL); }
static void pubsub_shardchannels_command(cmd_call *c) { channels_of(c, PS_SHARD); }
static void pubsub_numsub_command(cmd_call *c) { numsub_of(c, PS_CHANNEL); }
static void pubsub_shardnumsub_command(cmd_call *c) { numsub_of(c, PS_SHARD); }

static void pubsub_numpat_command(cmd_call *c)
{
    reply_int(c->out, pubsub_count(c->e, PS_PATTERN));
}

static void pubsub_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        ("    Return the currently active shard level channels matching a <pattern> (default: "
         "'*')."),
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define SUB_FLAGS  (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SUBSCRIBED_OK)
#define INFO_FLAGS (CMD_PUBSUB | CMD_LOADING | CMD_STALE)
#define PUB_FLAGS  (CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MAY_REPLICATE)

static const cmd_def pubsub_subcommands[] = {
    {"pubsub|channels", pubsub_channels_command, -2, INFO_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0, 0,
     "pubsub", "2.8.0", "List active channels",
     "O(N) where N is the number of active channels, and assuming constant time pattern matching "
     "(relatively short channels and patterns)",
     NULL},
    {"pubsub|numpat", pubsub_numpat_command, 2, INFO_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0, 0,
     "pubsub", "2.8.0", "Get the count of unique patterns pattern subscriptions", "O(1)", NULL},
    {"pubsub|numsub", pubsub_numsub_command, -2, INFO_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0, 0,
     "pubsub", "2.8.0", "Get the count of subscribers for channels",
     "O(N) for the NUMSUB subcommand, where N is the number of requested channels", NULL},
    {"pubsub|shardchannels", pubsub_shardchannels_command, -2, INFO_FLAGS, ACL_PUBSUB | ACL_SLOW, 0,
     0, 0, "pubsub", "7.0.0", "List active shard channels",
     "O(N) where N is the number of active shard channels, and assuming constant time pattern "
     "matching (relatively short shard channels).",
     NULL},
    {"pubsub|shardnumsub", pubsub_shardnumsub_command, -2, INFO_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0,
     0, "pubsub", "7.0.0", "Get the count of subscribers for shard channels",
     "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
     NULL},
    {"pubsub|help", pubsub_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SLOW, 0, 0, 0, "pubsub",
     "6.2.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

const cmd_def pubsub_commands[] = {
    {"subscribe", subscribe_command, -2, SUB_FLAGS | CMD_CHANNEL_SUB, ACL_PUBSUB | ACL_SLOW, 0, 0,
     0, "pubsub", "2.0.0", "Listen for messages published to the given channels",
     "O(N) where N is the number of channels to subscribe to.", NULL},
    {"psubscribe", psubscribe_command, -2, SUB_FLAGS | CMD_CHANNEL_PATTERNS, ACL_PUBSUB | ACL_SLOW,
     0, 0, 0, "pubsub", "2.0.0",
     "Listen for messages published to channels matching the given patterns",
     "O(N) where N is the number of patterns the client is already subscribed to.", NULL},
    {"ssubscribe", ssubscribe_command, -2, SUB_FLAGS | CMD_CHANNEL_SUB, ACL_PUBSUB | ACL_SLOW, 1,
     -1, 1, "pubsub", "7.0.0", "Listen for messages published to the given shard channels",
     "O(N) where N is the number of shard channels to subscribe to.", NULL,
     .key_spec = KEY_FLAGS(KF_NOT_KEY)},
    {"unsubscribe", unsubscribe_command, -1, SUB_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0, 0, "pubsub",
     "2.0.0", "Stop listening for messages posted to the given channels",
     "O(N) where N is the number of clients already subscribed to a channel.", NULL},
    {"punsubscribe", punsubscribe_command, -1, SUB_FLAGS, ACL_PUBSUB | ACL_SLOW, 0, 0, 0, "pubsub",
     "2.0.0", "Stop listening for messages posted to channels matching the given patterns",
     "O(N+M) where N is the number of patterns the client is already subscribed and M is the "
     "number of total patterns subscribed in the system (by any client).",
     NULL},
    {"sunsubscribe", sunsubscribe_command, -1, SUB_FLAGS, ACL_PUBSUB | ACL_SLOW, 1, -1, 1, "pubsub",
     "7.0.0", "Stop listening for messages posted to the given shard channels",
     "O(N) where N is the number of clients already subscribed to a shard channel.", NULL,
     .key_spec = KEY_FLAGS(KF_NOT_KEY)},
    {"publish", publish_command, 3, PUB_FLAGS | CMD_CHANNEL_PUB, ACL_PUBSUB | ACL_FAST, 0, 0, 0,
     "pubsub", "2.0.0", "Post a message to a channel",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the "
     "total number of subscribed patterns (by any client).",
     NULL},
    {"spublish", spublish_command, 3, PUB_FLAGS | CMD_CHANNEL_PUB, ACL_PUBSUB | ACL_FAST, 1, 1, 1,
     "pubsub", "7.0.0", "Post a message to a shard channel",
     "O(N) where N is the number of clients subscribed to the receiving shard channel.", NULL,
     .key_spec = KEY_FLAGS(KF_NOT_KEY)},
    {"pubsub", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "pubsub", "2.8.0",
     "A container for Pub/Sub commands", "Depends on subcommand.", pubsub_subcommands},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
