"""Follower reads across a leadership transfer.

Cairn-only (Redis has no consensus replication).  A follower serves a
client only after a read round of the leader; when the leader changes, the
rounds in flight are dropped and the waiting clients are let through to
meet the new role.  A client let through while there was no leader, which
finds a leader again before it runs, must ask a new round, not wait for the
dropped one.
"""
import socket
import time

import pytest

from raftgroup import followers
from raftgroup import group  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only

INFO = b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"


def test_follower_reads_answered_across_transfers(group):
    """Reads sent to the third node just as the other two swap leadership
    (at several offsets into the transfer) are all answered.  Before the
    fix about every other transfer left one of them unanswered until
    another client happened to ask a new round."""
    for _ in range(6):
        lead = group.leader(timeout=10)
        target, bystander = followers(group, lead)
        socks = []
        try:
            with lead.client() as c:
                assert c.execute_command("RAFT", "TRANSFER-LEADER", str(target.id)) == "OK"
            for _ in range(8):
                s = socket.create_connection((bystander.host, bystander.port), timeout=5)
                socks.append(s)
                s.sendall(INFO)
                time.sleep(0.005)
            for s in socks:
                s.settimeout(5)
                assert s.recv(65536).startswith(b"$"), "a follower read was never answered"
        finally:
            for s in socks:
                s.close()
        assert group.leader(timeout=10).id == target.id
