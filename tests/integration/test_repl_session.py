"""Exactly-once writes in a Raft group: CLIENT SESSION-OPEN and CLIENT
SESSION (docs/replication.md).

Cairn-only (Redis has no consensus replication).  A write retried under the
same session and sequence number is applied once and answers what its first
run answered, on the leader, through a follower, and after the leader died
holding it (an ambiguous failure: the client never learnt the outcome).
"""
import signal
import time

import pytest
import redis

from conftest import RawConn
from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, Group, wait_for

pytestmark = pytest.mark.cairn_only


def session_write(c, sid, seq, *cmd):
    """One write under (sid, seq), pipelined with its CLIENT SESSION."""
    p = c.pipeline(transaction=False)
    p.execute_command("CLIENT", "SESSION", sid, seq)
    p.execute_command(*cmd)
    ok, reply = p.execute(raise_on_error=False)
    assert ok == "OK"
    return reply


def test_retry_is_answered_from_the_session(group):
    lead = group.leader()
    with lead.client() as c:
        sid = c.execute_command("CLIENT", "SESSION-OPEN")
        assert sid > 0
        assert session_write(c, sid, 1, "INCR", "n") == 1
        # the same write again: not run, answered as the first time
        assert session_write(c, sid, 1, "INCR", "n") == 1
        assert c.get("n") == "1"
        assert session_write(c, sid, 2, "INCR", "n") == 2
        assert session_write(c, sid, 2, "INCR", "n") == 2
        # reads in between leave the number for the next write
        c.execute_command("CLIENT", "SESSION", sid, 3)
        assert c.get("n") == "2"
        assert c.incr("n") == 3
        assert session_write(c, sid, 3, "INCR", "n") == 3
        assert c.get("n") == "3"
        # an error is an answer too
        c.set("s", "x")
        err = session_write(c, sid, 4, "INCR", "s")
        assert isinstance(err, redis.ResponseError)
        assert session_write(c, sid, 4, "INCR", "s").args == err.args
        # an older number, and a session never opened, are refused
        stale = session_write(c, sid, 1, "INCR", "n")
        assert isinstance(stale, redis.ResponseError) and "older" in str(stale)
        gone = session_write(c, sid + 1, 1, "INCR", "n")
        assert isinstance(gone, redis.ResponseError) and str(gone).startswith("NOSESSION ")
        assert c.get("n") == "3"
        # a chosen id; opening it again changes nothing
        assert c.execute_command("CLIENT", "SESSION-OPEN", 77) == 77
        assert session_write(c, 77, 1, "SET", "k", "v") is True
        assert c.execute_command("CLIENT", "SESSION-OPEN", 77) == 77
        # (the first run's +OK, not APPEND's length)
        assert session_write(c, 77, 1, "APPEND", "k", "w") == "OK"
        assert c.get("k") == "v"


def test_sessions_are_replicated_and_forwarded(group):
    lead = group.leader()
    f1, f2 = followers(group, lead)
    with f1.client() as c1, f2.client() as c2, lead.client() as cl:
        # opened through a follower (forwarded to the leader)
        sid = c1.execute_command("CLIENT", "SESSION-OPEN")
        assert session_write(c1, sid, 1, "RPUSH", "l", "a") == 1
        # the retry reaches another follower, then the leader: applied once
        assert session_write(c2, sid, 1, "RPUSH", "l", "a") == 1
        assert session_write(cl, sid, 1, "RPUSH", "l", "a") == 1
        assert cl.lrange("l", 0, -1) == ["a"]
        assert c2.lrange("l", 0, -1) == ["a"]


def test_sessions_survive_a_restart_of_the_group(group):
    lead = group.leader()
    with lead.client() as c:
        sid = c.execute_command("CLIENT", "SESSION-OPEN")
        assert session_write(c, sid, 1, "INCRBY", "n", 5) == 5
    for n in group.nodes:
        n.stop()
    for n in group.nodes:
        n.start()
    lead = group.leader(timeout=10)
    with lead.client() as c:
        assert session_write(c, sid, 1, "INCRBY", "n", 5) == 5
        assert c.get("n") == "5"


def test_retry_after_the_leader_died_mid_write_applies_once(group):
    """The leader runs a write and sends its entry, then dies before it
    could answer: the client sees a broken connection and cannot know
    whether the write happened.  The entry did reach the followers, so the
    new leader has it; the retry under the same session is answered from
    the session table and the counter moves once."""
    lead = group.leader()
    others = followers(group, lead)
    with lead.client() as c:
        sid = c.execute_command("CLIENT", "SESSION-OPEN")
        assert session_write(c, sid, 1, "INCR", "n") == 1
    group.wait_applied(others)
    # Followers stopped: the leader's appends wait in their sockets, and
    # nothing can commit, so the write cannot be answered.
    for f in others:
        f.proc.send_signal(signal.SIGSTOP)
    try:
        conn = RawConn(lead)
        conn.cmd("CLIENT", "SESSION", sid, 2)
        conn.cmd("INCR", "n")
        # Time for the leader to run it and send its entry (into the
        # followers' socket buffers).  Stepping down meanwhile (check
        # quorum) changes nothing: the entry is already on its way.
        time.sleep(1.0)
        lead.kill()
        with pytest.raises(OSError):  # ConnectionError: no reply ever came
            conn.read_reply()
            conn.read_reply()
    finally:
        for f in others:
            f.proc.send_signal(signal.SIGCONT)
    new = group.leader(timeout=10, exclude=(lead.id,))
    with new.client() as c:
        # the write took effect (its entry reached the followers) ...
        assert c.get("n") == "2"
        # ... and its retry does not take effect again
        assert session_write(c, sid, 2, "INCR", "n") == 2
        assert c.get("n") == "2"
        assert session_write(c, sid, 3, "INCR", "n") == 3


def test_sessions_are_kept_in_snapshots():
    """With snapshots every 20 entries, the session entries leave the log:
    the table must travel in the snapshot, to a restarted group and to a
    follower that catches up by installing the leader's snapshot."""
    g = Group(3, extra_args=("--raft-snapshot-entries", "20"))
    try:
        lead = g.leader()
        lag = next(n for n in g.nodes if n.id != lead.id)
        lag.kill()
        with lead.client() as c:
            sid = c.execute_command("CLIENT", "SESSION-OPEN")
            assert session_write(c, sid, 1, "INCR", "n") == 1
            for i in range(200):
                c.set(f"k{i}", i)
        assert lead.info()["raft_snapshot_index"] > 10
        lag.start()
        deadline = time.time() + 20
        while lag.info()["raft_snapshots_installed"] < 1:
            assert time.time() < deadline, "no snapshot installed"
            time.sleep(0.05)
        g.wait_applied(g.nodes)
        # the follower that only has the snapshot leads now
        with lead.client() as c:
            c.execute_command("RAFT", "TRANSFER-LEADER", lag.id)
        # (the transfer goes on after the OK)
        wait_for("the transfer", lambda: g.leader(timeout=10).id == lag.id, 10)
        with lag.client() as c:
            assert session_write(c, sid, 1, "INCR", "n") == 1
            assert c.get("n") == "1"
        for n in g.nodes:
            n.kill()
        for n in g.nodes:
            n.start()
        lead = g.leader(timeout=10)
        with lead.client() as c:
            assert session_write(c, sid, 1, "INCR", "n") == 1
            assert session_write(c, sid, 2, "INCR", "n") == 2
    finally:
        codes = g.close()
    assert all(rc in (0, -15, -9) for rc in codes.values()), codes
