"""Blocking commands on a leader that loses leadership (docs/replication.md,
"Leadership lost").

Cairn-only (Redis has no consensus replication).  A client parked in a
blocking write (BLPOP) on a leader that hands leadership over gets Redis's
error for a master turned replica and keeps its connection; the entries the
node then applies as a follower must not serve it (a pop on that node
alone would make its dataset differ from the others').
"""
import threading

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, wait_for

pytestmark = pytest.mark.cairn_only


def test_a_parked_pop_is_unblocked_when_leadership_moves(group):
    old = group.leader()
    target = followers(group, old)[0]
    cl = old.client(single_connection_client=True, socket_timeout=20)
    result = {}

    def pop():
        try:
            result["r"] = cl.blpop("q", 15)
        except redis.RedisError as e:
            result["r"] = e

    t = threading.Thread(target=pop, daemon=True)
    t.start()
    with old.client() as c:
        wait_for("the pop parked", lambda: c.info("clients")["blocked_clients"] == 1)
        assert c.execute_command("RAFT", "TRANSFER-LEADER", target.id) == "OK"
    wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)
    with target.client() as c:
        c.rpush("q", "a", "b")
    t.join(20)
    assert isinstance(result["r"], redis.ResponseError), result
    assert str(result["r"]) == ("UNBLOCKED force unblock from blocking operation, "
                                "instance state changed (master -> replica?)")
    assert cl.ping()  # the connection stays
    cl.close()
    group.wait_applied(group.nodes)
    for n in group.nodes:
        with n.client() as c:
            assert c.lrange("q", 0, -1) == ["a", "b"], n.id
    group.wait_same_digest(group.nodes)
