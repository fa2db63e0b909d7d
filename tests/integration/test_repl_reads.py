"""How a Raft group serves reads: `raft-reads linearizable` (the default:
the leader confirms it still leads with a heartbeat round per batch of
reads, a follower asks the leader's commit index), `lease` (the leader
skips the round while a quorum's acknowledgement of its last heartbeat
is younger than the election timeout less `raft-clock-drift-ms`) and
`local` (every node serves what it has applied, possibly stale, as a
Redis replica does).

Cairn-only.  The modes are told apart by what a follower cut off from the
group answers, and by the clients' history: raftgroup.History fails on the
stale reads of `local` (checked here, so the checker the other
replication tests rely on is shown to catch them).
"""
import signal
import socket
import subprocess
import time

import pytest
import redis

from conftest import cairn_binary
from raftgroup import Group, History, close_checked, followers, wait_for

pytestmark = pytest.mark.cairn_only


def answer(c, key):
    try:
        return c.get(key)
    except redis.ResponseError as e:
        return str(e)


def cut_off_follower(g):
    """Writes "new" over "old" on the majority while one follower is cut
    off from every other node; returns that follower."""
    lead = g.leader(timeout=30)
    # a new leader answers CLUSTERDOWN until it applied the entries of
    # earlier terms: ask again
    wait_for("the leader to take a write", lambda: lead.client().set("k", "old"))
    g.wait_applied(g.nodes)
    lone = followers(g, lead)[0]
    g.partition([lone.id], [n.id for n in g.nodes if n.id != lone.id])
    wait_for("the majority to take a write", lambda: lead.client().set("k", "new"))
    return lone


def test_linearizable_reads_refuse_a_stale_value():
    g = Group(3, proxied=True)
    try:
        assert g.nodes[0].info()["raft_reads"] == "linearizable"
        lone = cut_off_follower(g)
        with lone.client(socket_timeout=2) as c:
            try:
                got = c.get("k")
            except (redis.ResponseError, redis.TimeoutError) as e:
                got = e
        assert got != "old", "a cut-off follower served a stale value"
        # once it knows it has no leader it says so
        with lone.client(socket_timeout=5) as c:
            wait_for("the cut-off follower to answer CLUSTERDOWN",
                     lambda: "CLUSTERDOWN" in answer(c, "k"))
    finally:
        g.partition()
        close_checked(g)


def test_a_read_sees_what_was_acknowledged_before_it_was_sent():
    """A follower relays a forwarded write's reply; the same client's next
    command, a read sent after another client's write was acknowledged,
    must see that write.  The leader's messages to the follower are
    delayed, so a read round asked too early (a follower once asked one as
    it relayed the reply, before the read existed) is answered after the
    read arrived, with an index from before the other write."""
    g = Group(3, proxied=True)
    try:
        lead = g.leader(timeout=30)
        lone = followers(g, lead)[0]
        with lead.client() as c:
            c.set("k", "old")
        g.wait_applied(g.nodes)
        # under the election timeout (500 ms at least): no election
        g.links[(lead.id, lone.id)].delay = 0.3
        with lone.client(socket_timeout=10) as c, lead.client() as other:
            for i in range(3):
                c.rpush("list", "x")  # forwarded to the leader, reply relayed
                time.sleep(0.05)  # an early round has reached the leader
                other.set("k", f"new{i}")  # the leader and the third node commit it
                assert c.get("k") == f"new{i}", "a read missed an acknowledged write"
    finally:
        close_checked(g)


def test_local_reads_serve_what_the_node_has():
    g = Group(3, proxied=True, extra_args=("--raft-reads", "local"))
    try:
        assert g.nodes[0].info()["raft_reads"] == "local"
        lone = cut_off_follower(g)
        with lone.client(socket_timeout=5) as c:
            assert c.get("k") == "old"
            # still, after it lost sight of any leader; writes are refused
            wait_for("the follower to lose its leader",
                     lambda: lone.info()["raft_leader_id"] == "0" or
                     lone.info()["raft_state"] != "follower")
            assert c.get("k") == "old"
            with pytest.raises(redis.ResponseError, match="CLUSTERDOWN"):
                c.set("k", "mine")
        g.partition()
        wait_for("the follower to catch up", lambda: lone.client().get("k") == "new")
    finally:
        g.partition()
        close_checked(g)


def test_local_reads_are_not_linearizable():
    """The history check of the other tests catches stale reads: under
    `local`, clients of every node see them within seconds."""
    g = Group(3, extra_args=("--raft-reads", "local"))
    try:
        for _ in range(5):
            # each history starts from missing registers (its values are
            # those of the one before) and runs its whole time
            with g.leader(timeout=30).client() as c:
                c.delete(*History.KEYS)
            g.wait_applied(g.nodes)
            h = History(g, seconds=3)
            time.sleep(3)
            try:
                h.check()
            except AssertionError as e:
                assert "NOT linearizable" in str(e), e
                return
        pytest.fail("5 histories of local reads were all linearizable")
    finally:
        close_checked(g)


def test_lease_reads_stay_linearizable_through_a_failover():
    g = Group(3, extra_args=("--raft-reads", "lease", "--raft-clock-drift-ms", "100"))
    try:
        assert g.nodes[0].info()["raft_reads"] == "lease"
        h = History(g, seconds=5)
        time.sleep(1.5)
        lead = g.leader(timeout=30)
        lead.kill()
        g.leader(timeout=30, exclude=(lead.id,))
        lead.start()
        h.check()
    finally:
        close_checked(g)


def resp_get(key):
    return b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)


def test_lease_is_counted_in_real_time_across_a_stall():
    """A leader stopped (SIGSTOP) while it held a lease, cut off while the
    others elect a new leader that takes a write, then resumed with a read
    already waiting on its socket: its timer skipped the ticks it missed
    and its loop reads the socket before it runs its timers, but the lease
    is checked against the monotonic clock, so the read is not answered
    with the value the new leader overwrote (the client is closed once the
    old leader finds it cannot confirm it leads)."""
    g = Group(3, proxied=True,
              extra_args=("--raft-reads", "lease", "--raft-clock-drift-ms", "100"))
    stopped = None
    try:
        lead = g.leader(timeout=30)
        wait_for("the leader to take a write", lambda: lead.client().set("k", "old"))
        g.wait_applied(g.nodes)
        with socket.create_connection((lead.host, lead.port), timeout=10) as s:
            s.sendall(resp_get(b"k"))
            assert s.recv(64) == b"$3\r\nold\r\n"
            lead.proc.send_signal(signal.SIGSTOP)
            stopped = lead
            others = [n for n in g.nodes if n.id != lead.id]
            g.partition([lead.id], [n.id for n in others])
            new = g.leader(timeout=30, exclude=(lead.id,))
            wait_for("the new leader to take a write", lambda: new.client().set("k", "new"))
            s.sendall(resp_get(b"k"))
            lead.proc.send_signal(signal.SIGCONT)
            stopped = None
            try:
                got = s.recv(64)
            except ConnectionResetError:
                got = b""
        assert got != b"$3\r\nold\r\n", "the resumed leader served a read on an expired lease"
        assert got == b"" or got.startswith(b"-"), got
    finally:
        if stopped:
            stopped.proc.send_signal(signal.SIGCONT)
        g.partition()
        close_checked(g)


@pytest.mark.parametrize("args,why", [
    (["--raft-reads", "lease"], "raft-reads lease needs a clock drift bound"),
    (["--raft-reads", "lease", "--raft-clock-drift-ms", "500"], "leaves no lease"),
    (["--raft-reads", "stale"], "raft-reads"),
])
def test_bad_read_settings_stop_the_server(tmp_path, args, why):
    p = subprocess.run([cairn_binary(), "--port", "0", "--dir", str(tmp_path), "--raft-id", "1",
                        "--raft-peers", "1@127.0.0.1:1"] + args,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert why in p.stdout + p.stderr, p.stdout + p.stderr
