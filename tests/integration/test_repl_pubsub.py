"""PUBLISH in a Raft group (docs/replication.md, "Pub/sub in a group").

Cairn-only (Redis has no consensus replication).  A message published on
any node is an entry of the log: subscribers on every node receive it,
once, in log order, whether it was published by a client of the leader,
by one of a follower (forwarded), inside MULTI or by a script.  The reply
is the number of receivers on the node the publisher is connected to.  A
node that replays its log after a restart does not deliver old messages
again.
"""
import time

import pytest

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import Group, close_checked, followers, wait_for

pytestmark = pytest.mark.cairn_only


class Listener:
    """A subscriber on one node."""

    def __init__(self, node, channels=(), patterns=(), shard=()):
        self.client = node.client(socket_timeout=10)
        self.ps = self.client.pubsub(ignore_subscribe_messages=True)
        if channels:
            self.ps.subscribe(*channels)
        if patterns:
            self.ps.psubscribe(*patterns)
        if shard:
            self.ps.execute_command("SSUBSCRIBE", *shard)
        self.want = len(channels) + len(patterns) + len(shard)
        self.seen = 0
        # wait for the confirmations: the subscriptions are in place
        deadline = time.time() + 10
        while self.seen < self.want:
            assert time.time() < deadline, "no subscription confirmation"
            m = self.ps.parse_response(block=False, timeout=0.5)
            if m and m[0] in ("subscribe", "psubscribe", "ssubscribe"):
                self.seen += 1

    def next(self, timeout):
        """The next message as a tuple (raw: this redis-py may not know
        smessage), or None."""
        m = self.ps.parse_response(block=False, timeout=timeout)
        return tuple(m) if m else None

    def messages(self, n, timeout=10.0):
        """The next n messages: (kind, channel, data) or, for a pattern,
        (kind, pattern, channel, data)."""
        out = []
        deadline = time.time() + timeout
        while len(out) < n and time.time() < deadline:
            m = self.next(0.2)
            if m:
                out.append(m)
        return out

    def nothing(self, seconds=0.5):
        return self.next(seconds) is None

    def close(self):
        self.ps.close()
        self.client.close()


def test_messages_reach_every_node_in_log_order(group):
    lead = group.leader()
    f1, f2 = followers(group, lead)
    subs = [Listener(n, channels=["news"]) for n in group.nodes]
    pat = Listener(f1, patterns=["ne*"])
    try:
        with lead.client() as cl, f1.client() as c1, f2.client() as c2:
            # the reply counts the receivers on the publisher's node
            assert cl.publish("news", "m1") == 1
            assert c1.publish("news", "m2") == 2  # forwarded; f1 has two
            p = cl.pipeline(transaction=True)
            p.set("k", "v")
            p.publish("news", "m3")
            assert p.execute() == [True, 1]
            assert cl.eval("redis.call('set', 'k', 'w'); "
                           "return redis.call('publish', 'news', 'm4')", 0) == 1
            assert c2.publish("news", "m5") == 1
            assert c2.publish("nobody", "m6") == 0
        want = [("message", "news", f"m{i}") for i in range(1, 6)]
        for s in subs:
            assert s.messages(5) == want
            assert s.nothing()
        assert pat.messages(5) == [("pmessage", "ne*", "news", f"m{i}") for i in range(1, 6)]
        assert pat.nothing()
    finally:
        for s in subs + [pat]:
            s.close()
    group.wait_same_digest(group.nodes)


def test_shard_messages_reach_every_node(group):
    lead = group.leader()
    f1 = followers(group, lead)[0]
    subs = [Listener(n, shard=["orders"]) for n in group.nodes]
    try:
        with f1.client() as c:
            assert c.execute_command("SPUBLISH", "orders", "o1") == 1
        with lead.client() as c:
            assert c.execute_command("SPUBLISH", "orders", "o2") == 1
        for s in subs:
            assert s.messages(2) == [("smessage", "orders", "o1"), ("smessage", "orders", "o2")]
            assert s.nothing()
    finally:
        for s in subs:
            s.close()


def test_a_restart_does_not_deliver_old_messages_again(group):
    lead = group.leader()
    with lead.client() as c:
        for i in range(5):
            c.publish("news", f"old{i}")
    group.wait_applied(group.nodes)
    for n in group.nodes:
        n.stop()
    subs = []
    try:
        # subscribed before the nodes elect a leader and apply their logs
        for n in group.nodes:
            n.start()
            subs.append(Listener(n, channels=["news"]))
        lead = group.leader(timeout=10)
        group.wait_applied(group.nodes)
        f = followers(group, lead)[0]
        with f.client() as c:
            wait_for("a publish", lambda: c.publish("news", "new") == 1)
        for s in subs:
            assert s.messages(1) == [("message", "news", "new")]
            assert s.nothing()
    finally:
        for s in subs:
            s.close()


def test_a_restart_fires_no_old_keyspace_notification():
    """Keyspace notifications are the effects of applying an entry, as a
    message is: a node replaying its log after a restart fires none for
    entries it applied before, only for new ones."""
    g = Group(3, extra_args=("--notify-keyspace-events", "KEA"))
    subs = []
    try:
        with g.leader().client() as c:
            for i in range(5):
                c.set(f"old{i}", i)
            c.lpush("oldlist", "a")
        g.wait_applied(g.nodes)
        for n in g.nodes:
            n.stop()
        # subscribed before the nodes elect a leader and apply their logs
        for n in g.nodes:
            n.start()
            subs.append(Listener(n, patterns=["__key*__:*"]))
        lead = g.leader(timeout=10)
        g.wait_applied(g.nodes)
        with followers(g, lead)[0].client() as c:
            wait_for("a write", lambda: c.set("new", 1))
        g.wait_applied(g.nodes)
        want = [("pmessage", "__key*__:*", "__keyspace@0__:new", "set"),
                ("pmessage", "__key*__:*", "__keyevent@0__:set", "new")]
        for s in subs:
            assert s.messages(2) == want
            assert s.nothing()
    finally:
        for s in subs:
            s.close()
        close_checked(g)
