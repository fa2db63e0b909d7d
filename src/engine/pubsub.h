/* pubsub.h -- publish/subscribe: channels, patterns and shard channels.
 *
 * The engine keeps, for each kind of subscription, a map from the channel
 * (or pattern) to the sessions subscribed to it, in subscription order,
 * and each subscribed session keeps the set of its own subscriptions (so
 * that unsubscribing everything, RESET and a closed connection cost what
 * the session holds, not what the server holds).
 *
 * A message for another session is written, already encoded, to that
 * session's output (s->out); then the host is told through
 * cairn_host_ops.pushed so it can write it out and enforce the output
 * buffer limits.  Publishing never waits for a subscriber: a subscriber
 * whose output grows past its limit is cut off by the host, which sets
 * SESS_CLOSE_ASAP, and nothing more is written to it. */
#ifndef CAIRN_PUBSUB_H
#define CAIRN_PUBSUB_H

#include "engine.h"

/* The three kinds of subscription. */
enum { PS_CHANNEL = 0, PS_PATTERN = 1, PS_SHARD = 2, PS_KINDS = 3 };

/* Subscribe s to `name` of `kind`, replying with Redis's confirmation
 * (["subscribe", name, count] and the like, a push frame under RESP3). */
void pubsub_subscribe(cmd_call *c, int kind, const cslice *name);
/* Unsubscribe from one name (name != NULL) or from everything of kind,
 * replying as Redis does, including the ["unsubscribe", nil, 0] of a
 * session that had nothing to unsubscribe from. */
void pubsub_unsubscribe(cmd_call *c, int kind, const cslice *name);

/* Deliver message on channel (or shard channel when shard is set) to
 * every subscription that matches, once per subscription.  Returns the
 * number of receivers. */
long long pubsub_publish(cairn_engine *e, const cslice *channel, const cslice *message, int shard);

/* How many receivers pubsub_publish() would deliver to, delivering
 * nothing. */
long long pubsub_receivers(cairn_engine *e, const cslice *channel, int shard);

/* Is there any subscriber at all?  (Keyspace notifications skip their
 * work when nobody listens.) */
int pubsub_has_subscribers(const cairn_engine *e);

/* Subscriptions of a session, of one kind (CLIENT LIST's sub=, psub=,
 * ssub=), and whether it has any (the RESP2 subscribed mode, flag P). */
long pubsub_session_count(const cairn_session *s, int kind);
static inline int pubsub_session_subscribed(const cairn_session *s) { return s->sub != NULL; }

/* Drop every subscription of s without replying (RESET, disconnect). */
void pubsub_session_reset(cairn_engine *e, cairn_session *s);

/* Server-wide counts for INFO stats: channels with subscribers, patterns
 * with subscribers, shard channels with subscribers. */
long pubsub_count(const cairn_engine *e, int kind);

/* The server's map of kind (name -> subscribers), NULL if never used;
 * for PUBSUB CHANNELS, which walks its keys. */
dict *pubsub_dict(cairn_engine *e, int kind);
/* Sessions subscribed to name of kind (PUBSUB NUMSUB). */
long pubsub_subscriber_count(cairn_engine *e, int kind, const cslice *name);

void pubsub_free(cairn_engine *e);

#endif
