"""Raft replication: a node writes its snapshot in the background.

Cairn-only (Redis has no consensus replication).  A group of three holds a
dataset large enough that writing it takes a noticeable time; every node
snapshots every few entries.  While a snapshot is written the leader keeps
answering (PING and linearizable GET stay fast); a node killed with
SIGKILL in the middle of one restarts from its previous snapshot and the
log; a snapshot that cannot be written is logged and tried again, the
previous one kept.  Every check ends with every node's DEBUG DIGEST equal.
"""
import os
import re
import signal
import threading
import time

import pytest
import redis

from raftgroup import Group, close_checked, wait_for

pytestmark = pytest.mark.cairn_only

# A snapshot every 50 entries: each SET below is one entry.
SNAP_EVERY = 50
# 100,000 keys: writing a snapshot of them takes a while.  (DEBUG DIGEST
# of that many stops a node for seconds on a loaded machine: the test that
# compares digests uses fewer, larger values.)
KEYS = 100_000
VALUE = "v" * 64
SMALL_KEYS = 10_000
SMALL_VALUE = "v" * 512
BATCH = 1000


@pytest.fixture
def group():
    g = Group(3, extra_args=("--raft-snapshot-entries", str(SNAP_EVERY)))
    yield g
    close_checked(g)


def populate(group, keys=KEYS, value=VALUE, conns=4):
    """keys string keys in MSETs of BATCH, pipelined from a few connections
    at once (one Raft entry holds what the leader read in one loop
    iteration: the more it reads, the fewer entries and fsyncs).  On
    whichever node leads: a loaded machine may see an election."""

    def part(first, last):
        start = first
        while start < last:
            try:
                with group.leader(timeout=10).client(socket_timeout=60) as c:
                    while start < last:
                        end = min(last, start + 10 * BATCH)
                        p = c.pipeline(transaction=False)
                        for s in range(start, end, BATCH):
                            p.mset({f"key:{i}": value for i in range(s, min(end, s + BATCH))})
                        p.execute()
                        start = end
            except (redis.ConnectionError, redis.ResponseError):
                time.sleep(0.1)

    step = -(-keys // conns)
    threads = [threading.Thread(target=part, args=(i, min(keys, i + step)))
               for i in range(0, keys, step)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with group.leader(timeout=10).client() as c:
        assert c.dbsize() == keys


def snap_info(node):
    return node.info()


def idle(node):
    """No snapshot of node's running (the field is absent before it had
    background snapshots: then none can be running between commands)."""
    return snap_info(node).get("raft_snapshot_in_progress", 0) == 0


def trigger(node, n=SNAP_EVERY + 5, prefix="t"):
    """n single writes: one Raft entry each, so every node's core asks for
    a snapshot."""
    with node.client() as c:
        for i in range(n):
            c.set(f"{prefix}{i}", i)


class Prober:
    """PING and GET on one node, one at a time, recording the slowest."""

    def __init__(self, node):
        self.client = node.client(socket_timeout=30)
        self.worst = 0.0
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for op in (self.client.ping, lambda: self.client.get("key:7")):
                t = time.monotonic()
                op()
                self.worst = max(self.worst, time.monotonic() - t)
                self.count += 1

    def finish(self):
        self.stop.set()
        self.thread.join(60)
        self.client.close()
        return self.worst


def settled(group, keys, value):
    populate(group, keys, value)
    lead = group.leader()
    group.wait_applied(group.nodes, timeout=60)
    wait_for("snapshots of the population to end", lambda: all(idle(n) for n in group.nodes),
             timeout=60)
    return lead


def test_leader_keeps_answering_while_it_snapshots(group):
    lead = settled(group, KEYS, VALUE)
    taken = snap_info(lead)["raft_snapshots_taken"]
    probe = Prober(lead)
    try:
        time.sleep(0.2)  # the prober's connection is warm
        trigger(lead)
        wait_for("the leader's snapshot", lambda: snap_info(lead)["raft_snapshots_taken"] > taken,
                 timeout=60)
        time.sleep(0.2)
    finally:
        worst = probe.finish()
    info = snap_info(lead)
    assert probe.count > 10
    assert info["raft_snapshot_bytes"] > 5 << 20, info
    with lead.client() as c:
        assert c.dbsize() == KEYS + SNAP_EVERY + 5
    # Written in the event loop, a snapshot of this dataset stopped the
    # node for 0.6 to 0.9 s on this machine under load (all nodes snapshot
    # at once, so a GET's read round waited as long): no reply may wait
    # 0.3 s, or three quarters of what writing the snapshot took (a
    # slower or loaded machine, a sanitizer build: a snapshot written in
    # the loop holds a reply for all of it).  In the background the
    # slowest reply is a fork and a read round away (156 ms was seen once
    # at load 10, so the bound is not lower).
    bound = max(0.3, info.get("raft_snapshot_last_ms", 0) * 0.75 / 1000)
    assert worst < bound, f"a reply took {worst * 1000:.0f} ms during the snapshot ({info})"


def stop_child(node, timeout):
    """Stops (SIGSTOP) node's first child process -- its snapshot writer --
    as soon as it appears; returns its pid, or None after timeout s."""
    pid = node.proc.pid
    children = f"/proc/{pid}/task/{pid}/children"
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(children) as f:
            found = f.read().split()
        if found:
            try:
                os.kill(int(found[0]), signal.SIGSTOP)
                return int(found[0])
            except ProcessLookupError:
                pass  # it ended already: wait for the next one
        time.sleep(0.0005)
    return None


def exited(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_node_killed_mid_snapshot_restarts_from_the_previous_one(group):
    lead = settled(group, SMALL_KEYS, SMALL_VALUE)
    victim = next(n for n in group.nodes if n is not lead)
    trigger(lead, prefix="first")  # a snapshot of the whole dataset to restart from
    wait_for("a first snapshot", lambda: snap_info(victim)["raft_snapshot_index"] > 0, timeout=60)
    wait_for("snapshots to end", lambda: idle(victim), timeout=60)
    before = snap_info(victim)["raft_snapshot_index"]
    assert before > 0
    part = os.path.join(victim.dir, "raft", "snapshot.bg")
    writes = threading.Thread(target=trigger, args=(lead,))
    writes.start()
    try:
        # the snapshot child, stopped as it appears: the kill then finds
        # the snapshot unfinished however fast the machine writes it
        child = stop_child(victim, timeout=30)
    finally:
        victim.kill()
        if child:  # stopped maybe before it could learn of its parent's death
            os.kill(child, signal.SIGCONT)
        writes.join(60)
    assert child, "no snapshot child on the follower"
    wait_for("the snapshot child to exit", lambda: exited(child))
    # the child dies with its parent: the unfinished file stops growing
    size = os.path.getsize(part) if os.path.exists(part) else 0
    time.sleep(0.3)
    assert (os.path.getsize(part) if os.path.exists(part) else 0) == size
    trigger(lead, 10, prefix="after")
    victim.start()
    # it recovered from the previous snapshot (as its log says: its INFO
    # answers once it has heard from the leader, who may have sent a newer
    # snapshot by then)
    recovered = re.findall(r"recovered the snapshot at (\d+) ", victim.read_log())
    assert recovered and int(recovered[-1]) == before, recovered
    group.leader(timeout=10)
    group.wait_applied([victim], timeout=60)
    with victim.client() as c:
        assert c.dbsize() == SMALL_KEYS + 2 * (SNAP_EVERY + 5) + 10
        assert c.get("after9") == "9"
    # it snapshots again; then every node holds the same data
    taken = snap_info(victim)["raft_snapshots_taken"]
    trigger(lead, prefix="again")
    wait_for("a new snapshot", lambda: snap_info(victim)["raft_snapshots_taken"] > taken,
             timeout=60)
    group.wait_same_digest(group.nodes, timeout=60)


def test_failed_snapshot_is_retried_and_the_previous_one_kept(group):
    lead = group.leader()
    trigger(lead)
    wait_for("a first snapshot", lambda: snap_info(lead)["raft_snapshots_taken"] >= 1)
    wait_for("it to end", lambda: idle(lead))
    first = snap_info(lead)["raft_snapshot_index"]
    # a directory where the snapshot file goes: the next one cannot be made
    blocker = os.path.join(lead.dir, "raft", "snapshot.bg")
    os.mkdir(blocker)
    try:
        trigger(lead, prefix="u")
        wait_for("a failed snapshot", lambda: snap_info(lead)["raft_snapshots_failed"] >= 1)
        info = snap_info(lead)
        assert info["raft_snapshot_index"] == first, info
        with lead.client() as c:
            assert c.set("still", "serving")
            assert c.get("still") == "serving"
        assert "Raft: the snapshot at" in lead.read_log()
    finally:
        os.rmdir(blocker)
    wait_for("the snapshot tried again",
             lambda: snap_info(lead)["raft_snapshot_index"] > first, timeout=30)
    group.wait_same_digest(group.nodes)
