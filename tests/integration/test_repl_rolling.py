"""Leadership transfers and rolling restarts under write load
(docs/replication.md, "Rolling restarts").

Cairn-only (Redis has no consensus replication).  Clients write all the
time: redis-py's Sentinel clients (master_for, every node a sentinel) and
plain clients, one on each node (a follower forwards their writes).  The
operator moves leadership with RAFT TRANSFER-LEADER or FAILOVER.  Checked:
no write gets an error reply and none fails with a command in flight (a
plain client whose node is down finds its connection refused and goes to
another node: nothing was sent), no acknowledged write is lost or applied twice (each client pushes
1, 2, 3, ... onto a list of its own), the registers' history is
linearizable (cairn-lincheck), and every node ends with the same dataset.
"""
import datetime
import random
import threading
import time

import pytest
import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from raftgroup import History, followers, keep, wait_for
from raftgroup import group  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only


def never_sent(e):
    """An error that says the command never left the client: its node
    refused the connection, or no sentinel named a master yet."""
    return isinstance(e, MasterNotFoundError) or (
        isinstance(e, redis.ConnectionError) and "connecting to" in str(e))


class Load(History):
    """History's registers (SET key v GET / GET) and a list per client,
    through Sentinel clients and plain clients of every node, recording
    every failure instead of hiding it."""

    def __init__(self, group, sentinels=2):
        self.group = group
        self.ops = []  # History's, each with "client@node" last
        self.where = {}  # client -> "sentinel", or the node id it talks to
        self.errors = []  # (client, command, error): none allowed
        self.moved = 0  # plain clients that went to another node
        self.pushed = {}  # client -> pushes acknowledged
        self.seq = {}  # client -> values written
        self.done = threading.Event()
        kinds = ["sentinel"] * sentinels + list(range(len(group.nodes)))
        self.threads = [threading.Thread(target=self.run, args=(cid, kind), daemon=True)
                        for cid, kind in enumerate(kinds, 1)]
        for t in self.threads:
            t.start()

    def client(self, kind, cid):
        self.where[cid] = kind if kind == "sentinel" else self.group.nodes[kind].id
        if kind == "sentinel":
            s = Sentinel([(n.host, n.port) for n in self.group.nodes], socket_timeout=10)
            return s.master_for("cairn", socket_timeout=10, decode_responses=True)
        return self.group.nodes[kind].client(socket_timeout=10)

    def op(self, conn, cid, rng):
        """One operation; raises what redis-py raised."""
        key = rng.choice(self.KEYS)
        t0 = time.monotonic_ns()
        r = rng.random()
        if r < 0.4:
            self.seq[cid] += 1
            value = cid * 10**9 + self.seq[cid]
            try:
                old = conn.set(key, value, get=True)
            except redis.RedisError as e:
                if not never_sent(e):
                    self.record(cid, (key, "W", 0, value, 0, t0, "inf"))
                raise
            self.record(cid, (key, "W", 1, value, int(old or 0), t0, time.monotonic_ns()))
        elif r < 0.7:
            got = conn.get(key)
            self.record(cid, (key, "R", 1, int(got or 0), 0, t0, time.monotonic_ns()))
        else:
            n = self.pushed[cid] + 1
            length = conn.rpush(f"list{cid}", n)
            if length != n:
                self.errors.append((cid, f"RPUSH {n}", f"length {length}"))
            self.pushed[cid] = n
            # for the who file only (the history's check skips it)
            self.record(cid, (f"list{cid}", "P", 1, n, 0, t0, time.monotonic_ns()))

    def run(self, cid, kind):
        rng = random.Random(cid)
        self.seq[cid] = 0
        self.pushed[cid] = 0
        conn = self.client(kind, cid)
        while not self.done.is_set():
            try:
                self.op(conn, cid, rng)
            except (redis.RedisError, OSError) as e:
                if not never_sent(e):
                    self.errors.append((cid, kind, repr(e), time.time()))
                    return
                if kind != "sentinel":  # its node is down: the next one
                    conn.close()
                    kind = (kind + 1) % len(self.group.nodes)
                    conn = self.client(kind, cid)
                    self.moved += 1
                time.sleep(0.01)
        conn.close()

    def progressed(self, timeout=30):
        """Until every client has pushed again."""
        before = dict(self.pushed)
        wait_for("every client to write again",
                 lambda: all(self.pushed[c] > before[c] for c in before) or self.errors,
                 timeout=timeout)
        self.no_errors()

    def no_errors(self):
        if self.errors:
            # the nodes' logs, kept outside the tree for a look
            path = keep("cairn-rolling-", "".join(
                f"==== node {n.id} port {n.port}\n{n.read_log()}" for n in self.group.nodes),
                suffix=".log")
            raise AssertionError(f"{self.errors} (logs in {path})")

    def finish(self):
        self.join()
        self.no_errors()
        self.check()
        lead = self.group.leader(timeout=10)
        self.group.wait_applied(self.group.nodes, timeout=30)
        for n in self.group.nodes:
            with n.client() as c:
                for cid, count in self.pushed.items():
                    # each push exactly once, in order: none lost, none twice
                    got = c.lrange(f"list{cid}", 0, -1)
                    assert got == [str(i) for i in range(1, count + 1)], (n.id, cid, got[-3:])
        self.group.wait_same_digest(self.group.nodes)
        return lead


def transfer(group, lead, target, how):
    with lead.client() as c:
        if how == "failover":
            assert c.execute_command("FAILOVER", "TO", target.host, target.port) == "OK"
        else:
            assert c.execute_command("RAFT", "TRANSFER-LEADER", target.id) == "OK"
    wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)


def test_transfers_under_load_fail_no_write(group):
    """The leader holds new commands while it hands over and runs them as
    a follower afterwards: no -TRYAGAIN, no closed connection."""
    group.wait_applied(group.nodes)
    load = Load(group)
    try:
        load.progressed()
        for how in ("transfer", "failover", "transfer"):
            lead = group.leader(timeout=10)
            transfer(group, lead, followers(group, lead)[0], how)
            load.progressed()
    finally:
        load.done.set()
    load.finish()
    assert load.moved == 0


def test_rolling_restart_under_load_fails_no_write(group):
    """Each node in turn: leadership moved away if it leads, SIGTERM, start
    again from its directory, caught up.  A node being stopped serves what
    its clients sent (forwarded writes included) and closes each connection
    after its last reply: redis-py then reconnects at the next command, the
    Sentinel clients to the leader, the plain ones to another node."""
    group.wait_applied(group.nodes)
    load = Load(group)
    restarted = []
    try:
        load.progressed()
        hows = iter(("transfer", "failover", "transfer"))
        while len(restarted) < len(group.nodes):
            lead = group.leader(timeout=10)
            n = lead if lead not in restarted else next(
                m for m in group.nodes if m not in restarted)
            if n is lead:
                target = next((m for m in followers(group, n) if m not in restarted),
                              followers(group, n)[0])
                transfer(group, n, target, next(hows))
            assert n.stop() == 0
            n.start()
            restarted.append(n)
            group.wait_applied(group.nodes, timeout=30)
            load.progressed()
    finally:
        load.done.set()
    load.finish()
    assert load.moved >= 1  # a plain client's node was down


def logged_at(node, text):
    """When node's log last says text (its timestamp, as datetime)."""
    lines = [ln for ln in node.read_log().splitlines() if text in ln]
    assert lines, f"node {node.id} never logged {text!r}"
    stamp = " ".join(lines[-1].split()[1:5])  # 07 Dec 2026 14:14:58.790
    return datetime.datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f")


def test_leader_stopped_hands_over_first(group):
    """A leader stopped with no transfer first (SIGTERM, as systemctl does)
    hands over itself: its successor leads before the process exits, so
    the group waits out no election, and no client's write fails."""
    group.wait_applied(group.nodes)
    load = Load(group)
    try:
        load.progressed()
        lead = group.leader(timeout=10)
        assert lead.stop() == 0
        new = group.leader(timeout=10, exclude=(lead.id,))
        # by the logs' clock: the new leader took over before the old one
        # exited (an election would begin 500 ms after it at the earliest)
        took_over = logged_at(new, f"Raft: node {new.id} (")
        assert took_over <= logged_at(lead, "ready to exit")
        lead.start()
        group.wait_applied(group.nodes, timeout=30)
        load.progressed()
    finally:
        load.done.set()
    load.finish()


def test_shutdown_now_skips_the_hand_over(group):
    """SHUTDOWN NOW (as Redis's: no waiting for replicas) stops a leader at
    once; the others elect one after their election timeout."""
    lead = group.leader(timeout=10)
    with lead.client() as c:
        c.shutdown(now=True)  # redis-py takes the closed connection as success
    lead.proc.wait(10)
    assert "handing leadership" not in lead.read_log()
    assert group.leader(timeout=10, exclude=(lead.id,)) is not lead
