"""The follower proxy's own exactly-once sessions (docs/replication.md,
"Writes through a follower").

Cairn-only (Redis has no consensus replication).  Clients connected to a
follower write through it while the leader is killed (SIGKILL) and while
it is paused (SIGSTOP): the follower sends the writes that were in flight
again, under the same session and number, to the new leader, so every
client gets its real reply, and every increment is applied exactly once.
"""
import signal
import threading
import time

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, wait_for

pytestmark = pytest.mark.cairn_only


class Incrementer:
    """Clients of one node INCR one counter until stopped, recording each
    reply (the counter's value after that increment) and each error."""

    def __init__(self, node, clients=4):
        self.node = node
        self.replies = []
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.go = threading.Event()
        self.go.set()
        self.busy = 0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def run(self):
        with self.node.client(socket_timeout=30) as c:
            while not self.stop.is_set():
                if not self.go.wait(0.1):
                    continue
                with self.lock:
                    self.busy += 1
                try:
                    v = c.incr("n")
                except (redis.RedisError, OSError) as e:
                    with self.lock:
                        self.errors.append(repr(e))
                        self.busy -= 1
                    time.sleep(0.01)
                    continue
                with self.lock:
                    self.replies.append(v)
                    self.busy -= 1

    def pause(self):
        """No write in flight until resume()."""
        self.go.clear()
        wait_for("the writes in flight", lambda: self.busy == 0)

    def resume(self):
        self.go.set()

    def count(self):
        with self.lock:
            return len(self.replies)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def lead_elsewhere(group, avoid):
    """Make a node other than avoid lead (avoid's clients then forward)."""
    lead = group.leader(timeout=10)
    if lead.id == avoid.id:
        target = next(n for n in group.nodes if n.id != avoid.id and n.alive())
        with lead.client() as c:
            c.execute_command("RAFT", "TRANSFER-LEADER", target.id)
        wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)
        lead = target
    return lead


def wait_progress(inc, more):
    start = inc.count()
    wait_for("writes through the follower", lambda: inc.count() >= start + more, timeout=30)


def test_writes_through_a_follower_survive_leader_faults(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    inc = Incrementer(fol)
    try:
        wait_progress(inc, 50)
        # the leader dies with forwarded writes in flight
        lead.kill()
        wait_progress(inc, 50)
        lead.start()
        # If the follower was elected, leadership moves away from it with no
        # write in flight (a leader that loses leadership closes the
        # connections of its own writes in flight: not the proxy's case).
        inc.pause()
        lead = lead_elsewhere(group, fol)
        inc.resume()
        # the leader pauses: the others elect a new one meanwhile
        wait_progress(inc, 50)
        lead.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for("a new leader", lambda: group.leader(timeout=5, exclude=(lead.id,)))
            wait_progress(inc, 50)
        finally:
            lead.proc.send_signal(signal.SIGCONT)
        wait_progress(inc, 50)
    finally:
        inc.join()
    # Refused while no node led, or while the follower itself led and
    # handed leadership over (not run: what any client of a group sees
    # then) is fine; an outcome left unknown is not.
    refused = ("CLUSTERDOWN The cluster is down", "TRYAGAIN Leadership is being transferred")
    assert [e for e in inc.errors if not any(r in e for r in refused)] == []
    # each reply is the counter after one increment: exactly 1..N, none
    # missing (an increment applied twice would leave a value no client saw)
    assert sorted(inc.replies) == list(range(1, len(inc.replies) + 1))
    digest = group.wait_same_digest(group.nodes)
    assert digest != "0" * 40
    for n in group.nodes:
        with n.client() as c:
            wait_for("the counter", lambda c=c: int(c.get("n")) == len(inc.replies))
