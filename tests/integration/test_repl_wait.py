"""WAIT in a Raft group: the number of replicas holding the client's last
write, never more than the truth.

Cairn-only (Redis has no consensus replication).  A leader's replies leave
only once what the client did is committed, so WAIT answers at once with
what it can prove: the replicas whose log reaches the client's last write,
and at least a quorum less the leader.
"""
import signal

import pytest

from conftest import wait_for
from raftgroup import followers
from raftgroup import group  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only


def test_wait_reports_every_replica_once_they_hold_the_write(group):
    lead = group.leader(timeout=10)
    with lead.client() as c:
        assert c.set("k", "v")
        assert c.execute_command("WAIT", 2, 1000) >= 1
        assert wait_for(lambda: c.execute_command("WAIT", 2, 1000) == 2)
        with pytest.raises(Exception, match="timeout is negative"):
            c.execute_command("WAIT", 1, -1)


def test_wait_does_not_count_a_paused_replica(group):
    """A follower paused (SIGSTOP) while holding every entry so far does not
    hold the next write: WAIT pipelined right after that write, before it
    was even proposed, counts only the quorum the reply waited for."""
    lead = group.leader(timeout=10)
    fast, paused = followers(group, lead)
    with lead.client() as c:
        assert c.set("before", "1")
        last = lead.info()["raft_last_index"]
        assert wait_for(lambda: int(lead.raft_nodes()[paused.id]["match"]) >= last)
        paused.proc.send_signal(signal.SIGSTOP)
        try:
            pipe = c.pipeline(transaction=False)
            pipe.set("k", "v")
            pipe.execute_command("WAIT", 2, 0)
            assert pipe.execute() == [True, 1]
            assert c.execute_command("WAIT", 2, 0) == 1
        finally:
            paused.proc.send_signal(signal.SIGCONT)
        assert wait_for(lambda: c.execute_command("WAIT", 2, 0) == 2)
