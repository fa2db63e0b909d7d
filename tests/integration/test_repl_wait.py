"""WAIT in a Raft group, as Redis's WAIT: the leader parks the client
until numreplicas replicas hold its last write or the timeout passes (0:
forever), then answers how many do, never more than the truth.

Cairn-only (Redis has no consensus replication).  A leader's replies leave
only once what the client did is committed, so at least a quorum less the
leader always hold it; a replica counts once its log reaches the client's
last write.  The parked client is run again as replicas acknowledge; a
leader that loses leadership unblocks it with -UNBLOCKED; inside MULTI
WAIT answers at once.  WAIT on a standalone server: test_wait.py.
"""
import contextlib
import signal
import threading
import time

import pytest
import redis

from conftest import wait_for
from raftgroup import Group, close_checked, followers
from raftgroup import group  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only


def synced(lead, node):
    """Until node's log holds every entry the leader has."""
    last = lead.info()["raft_last_index"]
    assert wait_for(lambda: int(lead.raft_nodes()[node.id]["match"]) >= last)


@contextlib.contextmanager
def stopped(lead, c, node):
    """node SIGSTOPped once it holds a first write of c's (to the leader
    lead), for the block; it runs on after it."""
    assert c.set("before", "1")
    synced(lead, node)
    node.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.proc.send_signal(signal.SIGCONT)


def wait_in_thread(c, *args):
    """WAIT args on c in a thread: the thread, and a list that gets its
    reply or error."""
    got = []

    def run():
        try:
            got.append(c.execute_command("WAIT", *args))
        except redis.RedisError as e:
            got.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t, got


def test_wait_blocks_until_every_replica_holds_the_write(group):
    lead = group.leader(timeout=10)
    with lead.client() as c:
        for i in range(20):
            assert c.set(f"k{i}", "v")
            assert c.execute_command("WAIT", 2, 0) == 2
        with pytest.raises(redis.ResponseError, match="timeout is negative"):
            c.execute_command("WAIT", 1, -1)
        with pytest.raises(redis.ResponseError, match="timeout is not an integer"):
            c.execute_command("WAIT", 1, "x")


def test_a_stopped_follower_makes_wait_wait_out_its_timeout():
    """Four nodes, three replicas, one stopped: WAIT 3 waits out its
    timeout and answers 2; WAIT 2 answers 2 at once."""
    g = Group(size=4)
    try:
        lead = g.leader(timeout=15)
        with lead.client() as c:
            with stopped(lead, c, followers(g, lead)[0]):
                assert c.set("k", "v")
                t = time.monotonic()
                assert c.execute_command("WAIT", 3, 700) == 2
                assert time.monotonic() - t >= 0.65
                t = time.monotonic()
                assert c.execute_command("WAIT", 2, 0) == 2
                assert time.monotonic() - t < 5.0
            # forever: until the stopped one catches up
            assert c.execute_command("WAIT", 3, 0) == 3
    finally:
        close_checked(g)


def test_wait_is_woken_when_a_replica_catches_up(group):
    lead = group.leader(timeout=10)
    _, paused = followers(group, lead)
    with lead.client() as c:
        with stopped(lead, c, paused):
            assert c.set("k", "v")
            t, got = wait_in_thread(c, 2, 0)
            time.sleep(0.5)
            assert not got, got  # still waiting for the paused replica
            with lead.client() as other:
                assert other.info("clients")["blocked_clients"] == 1
        t.join(15)
        assert got == [2]


def test_wait_in_multi_answers_at_once(group):
    lead = group.leader(timeout=10)
    _, paused = followers(group, lead)
    with lead.client() as c, stopped(lead, c, paused):
        p = c.pipeline(transaction=True)
        p.set("k", "v")
        p.execute_command("WAIT", 2, 0)
        assert p.execute() == [True, 1]


def test_wait_is_unblocked_when_leadership_moves(group):
    lead = group.leader(timeout=10)
    live, paused = followers(group, lead)
    with lead.client() as c, lead.client() as admin:
        with stopped(lead, c, paused):
            assert c.set("k", "v")
            t, got = wait_in_thread(c, 2, 0)
            assert wait_for(lambda: admin.info("clients")["blocked_clients"] == 1)
            admin.execute_command("RAFT", "TRANSFER-LEADER", live.id)
            t.join(15)
        assert len(got) == 1 and isinstance(got[0], redis.ResponseError), got
        assert str(got[0]).startswith("UNBLOCKED force unblock"), got
