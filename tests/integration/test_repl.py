"""Raft replication: cairn-server nodes in a group of three on loopback.

Cairn-only (Redis has no consensus replication).  Each test starts its own
group, every node in its own temp dir, and checks what clients see: writes
acknowledged by the leader are on every node, reads on followers are
linearizable, a killed or paused leader is replaced within 2 s, and no
acknowledged write is lost.  Under faults, clients of every node also
record a history that the simulator's linearizability checker must accept
(raftgroup.History).
"""
import os
import shutil
import signal
import threading
import time

import pytest
import redis

from conftest import RawConn
from raftgroup import Group, History, Node, Writer, check_acked, dataset, followers, wait_for
from raftgroup import group  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only


def test_elects_one_leader_and_reports_roles(group):
    lead = group.leader()
    info = lead.info()
    assert info["role"] == "master"
    assert info["connected_slaves"] == 2
    assert info["raft_voters"] == 3 and info["raft_learners"] == 0
    with lead.client() as c:
        role = c.execute_command("ROLE")
        assert role[0] == "master"
        assert sorted(int(r[1]) for r in role[2]) == sorted(
            n.port for n in followers(group, lead))
    for f in followers(group, lead):
        fi = f.info()
        assert fi["role"] == "slave" and fi["raft_state"] == "follower"
        assert fi["master_port"] == lead.port and fi["master_link_status"] == "up"
        assert fi["raft_leader_id"] == lead.id
        with f.client() as c:
            role = c.execute_command("ROLE")
            assert role[0] == "slave" and int(role[2]) == lead.port


def test_writes_on_leader_are_read_on_followers_at_once(group):
    lead = group.leader()
    fs = followers(group, lead)
    fcs = [f.client() for f in fs]
    with lead.client() as c:
        for i in range(200):
            assert c.set(f"k{i}", i)
            # Linearizable reads: the acknowledged write is visible on
            # every follower immediately, without waiting.
            for fc in fcs:
                assert fc.get(f"k{i}") == str(i)
        c.rpush("list", "a", "b", "c")
        c.hset("h", mapping={"f1": 1, "f2": 2})
        c.incrbyfloat("fl", 1.5)
        c.sadd("s", "x", "y")
        c.spop("s")  # logged as its effect, so every node removes the same member
        c.set("ttl", "v", px=100000)
    for fc in fcs:
        assert fc.lrange("list", 0, -1) == ["a", "b", "c"]
        assert fc.hgetall("h") == {"f1": "1", "f2": "2"}
        assert fc.get("fl") == "1.5"
        assert 0 < fc.pttl("ttl") <= 100000
        fc.close()
    want = dataset(lead)
    for f in fs:
        assert dataset(f) == want


def test_followers_without_proxy_refuse_writes_as_a_replica():
    g = Group(3, extra_args=("--raft-follower-proxy", "no"))
    try:
        lead = g.leader()
        f = followers(g, lead)[0]
        with f.client() as c:
            with pytest.raises(redis.ResponseError) as e:
                c.set("k", "v")
            assert str(e.value) == "You can't write against a read only replica."
            c.ping()
            assert c.get("k") is None
            c.execute_command("MULTI")
            with pytest.raises(redis.ResponseError):
                c.execute_command("INCR", "n")
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("EXEC")
            assert str(e.value).startswith("Transaction discarded")
    finally:
        g.close()


def test_followers_forward_writes_to_the_leader(group):
    lead = group.leader()
    f = followers(group, lead)[0]
    with f.client() as c:
        assert c.set("k", "v") is True
        assert c.get("k") == "v"  # read-your-writes through the follower
        assert [c.incr("n") for _ in range(5)] == [1, 2, 3, 4, 5]
        assert c.rpush("l", "a", "b") == 2
        with pytest.raises(redis.ResponseError) as e:
            c.lpush("k", "x")
        assert str(e.value).startswith("WRONGTYPE")
        # The forwarded command runs in the client's db.
        c.execute_command("SELECT", 3)
        assert c.set("in3", "yes") is True
        assert c.get("in3") == "yes"
    # A RESP3 client gets RESP3 replies relayed.
    raw = RawConn(f)
    raw.cmd("HELLO", "3")
    assert raw.read_reply()[0] == "%"
    raw.cmd("HSET", "h", "a", "1")
    assert raw.read_reply() == (":", "1")
    raw.cmd("HGETALL", "h")
    assert raw.read_reply() == ("%", [(("$", b"a"), ("$", b"1"))])
    raw.cmd("INCRBYFLOAT", "fl", "0.5")
    assert raw.read_reply() == ("$", b"0.5")
    raw.sock.close()
    with lead.client() as c:
        assert c.get("k") == "v" and c.get("n") == "5"
        assert c.lrange("l", 0, -1) == ["a", "b"]
        assert c.hgetall("h") == {"a": "1"}
        c.execute_command("SELECT", 3)
        assert c.get("in3") == "yes"
    # Many clients pipelining through one follower get their own replies.
    results = {}

    def worker(w):
        with f.client() as c:
            p = c.pipeline(transaction=False)
            for i in range(50):
                p.incr(f"ctr{w}")
            results[w] = p.execute()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(results[w] == list(range(1, 51)) for w in range(8))


def test_pfcount_on_a_follower_changes_nothing(group):
    """PFCOUNT stores its estimate back into the value, a change: a
    follower computes it and leaves its copy as the leader's (before, its
    DEBUG DIGEST then differed from the others')."""
    lead = group.leader()
    with lead.client() as c:
        c.pfadd("h", "a", "b", "c")
    group.wait_applied(group.nodes)
    for f in followers(group, lead):
        with f.client() as c:
            assert c.pfcount("h") == 3
    group.wait_same_digest(group.nodes, timeout=5)
    with lead.client() as c:
        assert c.pfcount("h") == 3
    group.wait_same_digest(group.nodes)


def test_expiry_is_decided_by_the_leader(group):
    lead = group.leader()
    with lead.client() as c:
        c.set("gone", "v", px=50)
        c.set("stays", "v")
    time.sleep(0.3)
    # Followers never delete on their own, but treat an expired key as
    # missing; the leader's deletion reaches them as an entry.
    for n in group.nodes:
        with n.client() as c:
            assert c.get("gone") is None
            assert c.get("stays") == "v"
    deadline = time.time() + 5
    while time.time() < deadline:
        sizes = []
        for n in group.nodes:
            with n.client() as c:
                sizes.append(c.dbsize())
        if sizes == [1, 1, 1]:
            break
        time.sleep(0.1)
    assert sizes == [1, 1, 1]


def test_leader_killed_under_load_loses_no_acknowledged_write(group):
    bound = group.failover_bound()
    w = Writer(group, seconds=6)
    h = History(group, seconds=6)
    time.sleep(1.0)
    old = group.leader()
    before = len(w.acked)
    old.kill()
    t0 = time.time()
    new = group.leader(timeout=2 * bound, exclude=(old.id,))
    failover = time.time() - t0
    assert new.id != old.id
    assert failover < bound, f"failover took {failover:.2f}s"
    w.join()
    h.join()
    assert len(w.acked) > before, "no write was acknowledged after the failover"
    check_acked(group, w.acked)
    h.check()
    # The killed node restarts from its directory and catches up.
    old.start()
    group.wait_applied(group.nodes)
    want = dataset(new)
    for n in group.nodes:
        assert dataset(n) == want, f"node {n.id} differs"
    group.wait_same_digest(group.nodes)


def test_leader_killed_repeatedly(group):
    w = Writer(group, seconds=8)
    h = History(group, seconds=8)
    for _ in range(3):
        time.sleep(0.7)
        lead = group.leader()
        lead.kill()
        group.leader(timeout=5, exclude=(lead.id,))
        lead.start()
    w.join()
    h.join()
    check_acked(group, w.acked)
    h.check()
    group.wait_applied(group.nodes)
    want = dataset(group.leader())
    for n in group.nodes:
        assert dataset(n) == want, f"node {n.id} differs"
    group.wait_same_digest(group.nodes)


def test_paused_leader_is_replaced_and_rejoins(group):
    bound = group.failover_bound()
    old = group.leader()
    with old.client() as c:
        c.set("before", "1")
    h = History(group, seconds=30)
    time.sleep(0.3)
    old.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        new = group.leader(timeout=2 * bound, exclude=(old.id,))
        assert time.time() - t0 < bound
        with new.client() as c:
            assert c.set("during", "2")
    finally:
        old.proc.send_signal(signal.SIGCONT)
    # The old leader steps down, learns the new term and catches up.  A
    # command it ran as leader just before hearing of the new term waits on
    # an epoch that will never commit: that connection is closed (never a
    # success), so ask again.
    deadline = time.time() + 5
    info = {}
    while time.time() < deadline:
        try:
            info = old.info()
        except redis.ConnectionError:
            continue
        if info["raft_state"] == "follower" and info["raft_leader_id"] == new.id:
            break
        time.sleep(0.05)
    assert info.get("raft_state") == "follower"
    with old.client() as c:
        assert c.get("during") == "2" and c.get("before") == "1"
    time.sleep(0.5)
    h.check()


def test_node_without_quorum_answers_clusterdown(group):
    lead = group.leader()
    with lead.client() as c:
        c.set("k", "v")
    survivor = followers(group, lead)[0]
    for n in group.nodes:
        if n.id != survivor.id:
            n.kill()
    deadline = time.time() + 5
    err = None
    while time.time() < deadline:
        try:
            with survivor.client(socket_timeout=3) as c:
                c.get("k")
        except redis.ResponseError as e:
            err = str(e)
            break
        time.sleep(0.1)
    assert err == "CLUSTERDOWN The cluster is down"


def test_restart_of_whole_group_keeps_the_data(group):
    lead = group.leader()
    with lead.client() as c:
        for i in range(100):
            c.rpush("l", i)
        c.set("x", "y")
    for n in group.nodes:
        n.kill()
    for n in group.nodes:
        n.start()
    lead = group.leader(timeout=10)
    group.wait_applied(group.nodes)
    for n in group.nodes:
        with n.client() as c:
            assert c.lrange("l", 0, -1) == [str(i) for i in range(100)]
            assert c.get("x") == "y"
    group.wait_same_digest(group.nodes)
    assert os.path.isdir(os.path.join(lead.dir, "raft"))


def test_a_dead_follower_is_reported_down(group):
    """The leader reports only the replicas it hears from, as Redis
    reports its connected replicas: a dead follower leaves connected_slaves
    and ROLE, and Sentinel clients see it s_down and send it no reads."""
    from redis.sentinel import Sentinel
    lead = group.leader()
    dead, live = followers(group, lead)
    s = Sentinel([(lead.host, lead.port)], socket_timeout=2)
    assert sorted(s.discover_slaves("cairn")) == sorted([(dead.host, dead.port),
                                                        (live.host, live.port)])
    dead.kill()
    wait_for("the leader to count one replica", lambda: lead.info()["connected_slaves"] == 1)
    info = lead.info()
    assert info["slave0"]["port"] == live.port and "slave1" not in info
    with lead.client() as c:
        assert [int(r[1]) for r in c.execute_command("ROLE")[2]] == [live.port]
        flags = {int(r["port"]): r["flags"]
                 for r in c.sentinel_slaves("cairn")}
    assert flags == {live.port: "slave", dead.port: "slave,s_down,disconnected"}
    assert s.discover_slaves("cairn") == [(live.host, live.port)]
    dead.start()
    wait_for("the restarted follower to be counted", lambda: lead.info()["connected_slaves"] == 2)


def test_debug_populate_is_replicated(group):
    """DEBUG POPULATE writes: the leader logs it, every node applies it; a
    follower refuses it as a write."""
    lead = group.leader()
    with lead.client() as c:
        c.set("key:3", "mine")
        assert c.execute_command("DEBUG", "POPULATE", 1000, "key", 16)
        assert c.dbsize() == 1000 and c.get("key:3") == "mine"
    f = followers(group, lead)[0]
    with f.client() as c:
        with pytest.raises(redis.ReadOnlyError):
            c.execute_command("DEBUG", "POPULATE", 10, "other")
    group.wait_same_digest(group.nodes)
    with f.client() as c:
        assert c.get("key:999") == "value:999" + "\0" * 7 and c.dbsize() == 1000


def test_failover_hands_leadership_over(group):
    """Redis's FAILOVER as a leadership transfer: to the most up-to-date
    replica, or to the one named; refused on a follower."""
    lead = group.leader()
    a, b = followers(group, lead)
    with a.client() as c:
        with pytest.raises(redis.ResponseError, match="not valid when server is a replica"):
            c.execute_command("FAILOVER")
    with lead.client() as c:
        for args, why in (([
            "TO", "127.0.0.1", "1"], "target HOST and PORT is not a replica"),
                          (["ABORT"], "No failover in progress"),
                          (["FORCE"], "requires both a timeout and target"),
                          (["TIMEOUT", "0"], "timeout must be greater than 0"),
                          (["BOGUS"], "syntax error")):
            with pytest.raises(redis.ResponseError, match=why):
                c.execute_command("FAILOVER", *args)
        c.set("k", "v")
        assert c.execute_command("FAILOVER", "TO", b.host, b.port) == "OK"
    assert group.leader(timeout=10, exclude=(lead.id,)).id == b.id
    wait_for("the old leader to follow", lambda: lead.info()["role"] == "slave")
    with b.client() as c:
        assert c.execute_command("FAILOVER") == "OK"
    new = group.leader(timeout=10, exclude=(b.id,))
    assert new.id in (lead.id, a.id)
    with new.client() as c:
        assert c.get("k") == "v"
        assert new.info()["master_failover_state"] == "no-failover"


def test_wait_counts_replicas(group):
    lead = group.leader()
    with lead.client() as c:
        c.set("k", "v")
        assert c.execute_command("WAIT", 2, 1000) >= 1


def test_sentinel_clients_find_and_follow_the_leader(group):
    from redis.sentinel import Sentinel
    lead = group.leader()
    sentinels = [(n.host, n.port) for n in group.nodes]
    s = Sentinel(sentinels, socket_timeout=2)
    assert s.discover_master("cairn") == (lead.host, lead.port)
    assert sorted(s.discover_slaves("cairn")) == sorted(
        (f.host, f.port) for f in followers(group, lead))
    with group.nodes[0].client() as c:
        assert c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cairn") == [
            lead.host, str(lead.port)]
        assert c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "other") is None
        assert len(c.execute_command("SENTINEL", "SENTINELS", "cairn")) == 2
        assert len(c.execute_command("SENTINEL", "MYID")) == 40
    master = s.master_for("cairn", socket_timeout=2, decode_responses=True)
    assert master.set("via-sentinel", "1")
    # A client subscribed on a surviving node hears of the failover.
    watcher = followers(group, lead)[0]
    with watcher.client() as wc:
        ps = wc.pubsub()
        ps.subscribe("+switch-master")
        assert ps.get_message(timeout=2)["type"] == "subscribe"
        lead.kill()
        new = group.leader(timeout=5, exclude=(lead.id,))
        msg = None
        deadline = time.time() + 5
        while msg is None and time.time() < deadline:
            msg = ps.get_message(timeout=1)
        assert msg is not None
        assert msg["data"] == f"cairn {lead.host} {lead.port} {new.host} {new.port}"
        ps.close()
    assert s.discover_master("cairn") == (new.host, new.port)
    deadline = time.time() + 5
    while True:
        try:
            assert master.get("via-sentinel") == "1"
            break
        except redis.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_transfer_leader_under_load_loses_no_write(group):
    old = group.leader()
    target = followers(group, old)[0]
    w = Writer(group, seconds=3)
    h = History(group, seconds=3)
    time.sleep(0.5)
    with old.client() as c:
        assert c.execute_command("RAFT", "TRANSFER-LEADER", target.id) == "OK"
        with pytest.raises(redis.ResponseError):
            c.execute_command("RAFT", "TRANSFER-LEADER", 99)
    # the transfer goes on after the OK: until then every node still agrees
    # on the old leader
    wait_for("the target to lead", lambda: group.leader(timeout=3).id == target.id, 5)
    w.join()
    h.join()
    check_acked(group, w.acked)
    h.check()
    with followers(group, target)[0].client() as c:
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("RAFT", "TRANSFER-LEADER", old.id)
        assert "not the leader" in str(e.value)


def test_group_that_fails_to_start_leaves_no_node_running():
    """A node that cannot start (here the last: a --raft-peers list that
    does not parse) makes Group() raise after it started the others: those
    must be stopped and their folders removed, as nobody gets a group to
    close."""
    made = []

    class Recorded(Node):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(self)

    class Broken(Recorded):
        def start(self):
            self.peers = "not-a-peer-list"
            super().start()

    try:
        with pytest.raises(RuntimeError, match="node 3 exited"):
            Group(3, node_class=lambda i: Broken if i == 3 else Recorded)
        assert [n.id for n in made] == [1, 2, 3]
        assert [n.alive() for n in made] == [False] * 3
        assert not any(os.path.exists(n.dir) for n in made)
    finally:  # what a failure left behind
        for n in made:
            n.kill()
            shutil.rmtree(n.dir, ignore_errors=True)
