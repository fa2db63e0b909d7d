"""Raft replication: snapshots, log compaction and membership changes.

Cairn-only (Redis has no consensus replication).  Groups of three and five
cairn-server nodes on loopback take snapshots every few entries, so a node
that falls behind, or joins, catches up from a snapshot sent in chunks
while the group keeps serving; nodes are added (learners promoted once
caught up) and removed (the leader too) under write load.  Every check
ends with every node's DEBUG DIGEST equal.
"""
import time

import pytest
import redis

from raftgroup import Group, Writer, check_acked, close_checked, dataset, wait_for

pytestmark = pytest.mark.cairn_only

# A snapshot every 20 Raft entries: every test compacts many times.
SNAP = ("--raft-snapshot-entries", "20")


@pytest.fixture
def group():
    g = Group(3, extra_args=SNAP)
    yield g
    close_checked(g)


def fill(node, n, prefix="k"):
    """n writes of several types, one entry each."""
    with node.client() as c:
        for i in range(n):
            kind = i % 4
            if kind == 0:
                c.set(f"{prefix}{i}", i)
            elif kind == 1:
                c.rpush(f"{prefix}list", i)
            elif kind == 2:
                c.hset(f"{prefix}hash", f"f{i}", i)
            else:
                c.zadd(f"{prefix}zset", {f"m{i}": i})


def voters(node):
    return {i for i, d in node.raft_nodes().items() if d["role"] == "voter"}


def add_node(g, node_id, timeout=30.0):
    """Start node_id as a joining node, add it on the leader, and wait
    until it is a voter."""
    members = [n for n in g.nodes if n.alive() and n.id in voters(g.leader())]
    new = g.add_node(node_id, members)
    # until it is added it knows no leader: leave it out of the agreement
    lead = g.leader(timeout=10, exclude=(node_id,))
    wait_for("RAFT ADD-NODE",
             lambda: g.leader(timeout=5, exclude=(node_id,)).client().execute_command(
                 "RAFT", "ADD-NODE", node_id, new.addr()) == "OK")
    wait_for(f"node {node_id} to be promoted",
             lambda: node_id in voters(g.leader(timeout=5)), timeout)
    return new, lead


def remove_node(g, node_id):
    wait_for(f"RAFT REMOVE-NODE {node_id}",
             lambda: g.leader(timeout=5).client().execute_command(
                 "RAFT", "REMOVE-NODE", node_id) == "OK")
    wait_for(f"node {node_id} to leave",
             lambda: node_id not in g.leader(timeout=5, exclude=(node_id,)).raft_nodes())
    g.node(node_id).kill()


def test_snapshots_compact_the_log_and_a_restart_loads_them(group):
    lead = group.leader()
    # Five rounds of 40 entries, each waited for until every node has taken
    # a snapshot: a node under load coalesces the snapshots it is asked for
    # while one is being written, so 200 writes at once may make only a few.
    for r in range(5):
        taken = {n.id: n.info()["raft_snapshots_taken"] for n in group.nodes}
        fill(lead, 40, prefix=f"k{r}-")
        wait_for(f"a snapshot on every node (round {r})",
                 lambda: all(n.info()["raft_snapshots_taken"] > taken[n.id]
                             for n in group.nodes))
    with lead.client() as c:
        c.function_load("#!lua name=snaplib\n"
                        "redis.register_function('one', function() return 1 end)")
        c.set("after", "snapshot")
    group.wait_applied(group.nodes)

    def compacted(n):
        # the log in memory is what follows the last snapshot
        info = n.info()
        return info["raft_snapshot_index"] >= info["raft_last_index"] - 40

    for n in group.nodes:
        wait_for(f"node {n.id} to compact its log", lambda: compacted(n))
    want = group.wait_same_digest(group.nodes)
    data = dataset(lead)
    for n in group.nodes:
        n.kill()
    for n in group.nodes:
        n.start()
    group.leader(timeout=10)
    assert group.wait_same_digest(group.nodes) == want
    for n in group.nodes:
        assert dataset(n) == data
        with n.client() as c:
            assert c.fcall("one", 0) == 1
        assert n.info()["raft_applied_index"] >= 200


def test_lagging_follower_catches_up_by_snapshot_under_load(group):
    lead = group.leader()
    lag = next(n for n in group.nodes if n.id != lead.id)
    lag.kill()
    w = Writer(group, seconds=60)  # stopped by w.join()
    # the live nodes compact past everything the stopped one holds
    wait_for("compaction", lambda: lead.info()["raft_snapshots_taken"] >= 3)
    lag.start()
    wait_for("a snapshot installed",
             lambda: lag.info()["raft_snapshots_installed"] >= 1)
    w.join()
    assert w.acked
    check_acked(group, w.acked)


def test_raft_nodes_and_membership_errors(group):
    lead = group.leader()
    follower = next(n for n in group.nodes if n.id != lead.id)
    rows = lead.raft_nodes()
    assert sorted(rows) == [1, 2, 3]
    assert all(r["role"] == "voter" for r in rows.values())
    assert rows[lead.id]["leader"] == 1 and rows[lead.id]["myself"] == 1
    assert rows[follower.id]["addr"] == follower.addr()
    info = lead.info()
    assert info["raft_voters"] == 3 and info["raft_learners"] == 0
    with follower.client() as c:
        with pytest.raises(redis.ResponseError, match="not the leader"):
            c.execute_command("RAFT", "ADD-NODE", 9, "127.0.0.1:1")
        assert sorted(follower.raft_nodes()) == [1, 2, 3]
    with lead.client() as c:
        with pytest.raises(redis.ResponseError, match="already a member"):
            c.execute_command("RAFT", "ADD-NODE", follower.id, "127.0.0.1:1")
        with pytest.raises(redis.ResponseError, match="not a member"):
            c.execute_command("RAFT", "REMOVE-NODE", 9)
        with pytest.raises(redis.ResponseError, match="invalid node id or address"):
            c.execute_command("RAFT", "ADD-NODE", 9, "nowhere")
        with pytest.raises(redis.ResponseError, match="'node 9' is not an IP address or a host"):
            c.execute_command("RAFT", "ADD-NODE", 9, "node 9:7009")
        with pytest.raises(redis.ResponseError, match="syntax"):
            c.execute_command("RAFT", "REMOVE-NODE")
    # a learner that never answers stays a learner
    with lead.client() as c:
        assert c.execute_command("RAFT", "ADD-NODE", 9, "127.0.0.1:1") == "OK"
    wait_for("the learner", lambda: lead.info()["raft_learners"] == 1)
    time.sleep(0.5)
    assert lead.raft_nodes()[9]["role"] == "learner"
    with lead.client() as c:
        assert c.execute_command("RAFT", "REMOVE-NODE", 9) == "OK"
    wait_for("the learner to go", lambda: lead.info()["raft_learners"] == 0)


def test_wiped_node_is_removed_and_re_added(group):
    lead = group.leader()
    fill(lead, 120)
    gone = next(n for n in group.nodes if n.id != lead.id)
    gone.kill()
    gone.wipe()
    remove_node(group, gone.id)
    w = Writer(group, seconds=60)  # stopped by w.join()
    fill(group.leader(), 60, prefix="during")
    members = [n for n in group.nodes if n.alive()]
    gone.peers = ",".join(f"{p.id}@{p.addr()}" for p in members)
    gone.start()
    with group.leader(exclude=(gone.id,)).client() as c:
        assert c.execute_command("RAFT", "ADD-NODE", gone.id, gone.addr()) == "OK"
    wait_for("promotion", lambda: gone.id in voters(group.leader()))
    w.join()
    assert gone.info()["raft_snapshots_installed"] >= 1
    check_acked(group, w.acked, group.nodes)
    # it restarts from its new directory and rejoins
    gone.kill()
    gone.start()
    check_acked(group, w.acked, group.nodes)


def test_five_nodes_membership_changes_under_load():
    g = Group(5, extra_args=SNAP)
    try:
        w = Writer(g, seconds=60)  # stopped by w.join()
        time.sleep(0.5)
        lead = g.leader()
        # a follower leaves, a new node joins and is promoted
        out = next(n for n in g.nodes if n.id != lead.id)
        remove_node(g, out.id)
        add_node(g, 6)
        # the leader removes itself: another takes over
        lead = g.leader()
        remove_node(g, lead.id)
        new = g.leader(timeout=10, exclude=(lead.id,))
        assert new.id != lead.id
        # writes go on under the new leader (a loaded machine may have let
        # only a few through while the changes ran)
        done = len(w.acked)
        wait_for("writes after the changes", lambda: len(w.acked) > max(50, done + 10), 30)
        w.join()
        assert w.acked and len(w.acked) > 50
        members = [n for n in g.nodes if n.alive()]
        assert sorted(n.id for n in members) == sorted(voters(new))
        assert len(members) == 4
        info = new.info()
        assert info["raft_voters"] == 4 and info["raft_learners"] == 0
        check_acked(g, w.acked, members)
    finally:
        close_checked(g)

