"""Raft replication under network partitions.

Cairn-only.  Five nodes reach each other only through fault-injecting TCP
proxies (raftgroup.Link, one per directed link), which the test cuts while
a writer keeps writing to whichever node leads: the leader cut off alone, a
2/3 split with the leader on the small side, a one-way cut.  No
acknowledged write may be lost, the cut-off side must refuse rather than
serve stale data, and once healed every node's DEBUG DIGEST is the same.  Clients of every node
record a history that must be linearizable (raftgroup.History).
Timeouts are generous: on a loaded machine a node may miss heartbeats for
seconds, so leadership may move more often than the cuts alone would make
it; safety must hold regardless.
"""
import time

import pytest
import redis

from raftgroup import Group, History, Writer, check_acked, wait_for

pytestmark = pytest.mark.cairn_only


def test_partitions_lose_no_acknowledged_write():
    g = Group(5, proxied=True)
    try:
        cut = set()
        # stopped by w.join(); 90 s is only an upper bound
        w = Writer(g, seconds=90, exclude=cut)
        h = History(g, seconds=90)
        time.sleep(1.0)
        # 1. the leader alone: the four others elect another; the old one
        # steps down (check-quorum) and answers -CLUSTERDOWN, not stale data
        old = g.leader(timeout=30)
        rest = [n.id for n in g.nodes if n.id != old.id]
        cut.add(old.id)
        g.partition([old.id], rest)
        new = g.leader(timeout=30, exclude=(old.id,))
        assert new.id != old.id
        wait_for("the cut-off leader to step down",
                 lambda: old.info()["raft_state"] != "leader")
        with old.client(socket_timeout=5) as c:
            with pytest.raises(redis.ResponseError, match="CLUSTERDOWN"):
                c.get("w1")
        acked = len(w.acked)
        wait_for("writes on the majority", lambda: len(w.acked) > acked + 20)
        g.partition()
        cut.clear()
        # 2. a 2/3 split with the leader on the small side
        lead = g.leader(timeout=30)
        others = [n.id for n in g.nodes if n.id != lead.id]
        small, big = [lead.id, others[0]], others[1:]
        cut.update(small)
        g.partition(small, big)
        new = g.leader(timeout=30, exclude=small)
        assert new.id in big
        acked = len(w.acked)
        wait_for("writes on the majority", lambda: len(w.acked) > acked + 20)
        g.partition()
        cut.clear()
        # 3. one way: the leader cannot reach one follower, which still
        # reaches everyone (pre-vote keeps it from deposing a live leader)
        lead = g.leader(timeout=30)
        victim = next(n.id for n in g.nodes if n.id != lead.id)
        g.links[(lead.id, victim)].set_cut(True)
        time.sleep(1.5)
        g.partition()
        w.join()
        h.join()
        assert w.acked
        check_acked(g, w.acked)
        h.check()
    finally:
        codes = g.close()
    assert all(rc in (0, -15, -9) for rc in codes.values()), codes
