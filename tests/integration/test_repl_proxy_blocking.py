"""Blocking commands through a follower (docs/replication.md, "Writes
through a follower"): BLPOP, BLMOVE, BZPOPMIN, XREADGROUP BLOCK, ... sent
to a follower park on the leader, each on a connection of its own, so the
writes other clients forward meanwhile are not held behind them.  XREAD
BLOCK (a read) parks on the follower itself and is served as the leader's
entries apply there.

Cairn-only (Redis has no consensus replication).
"""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, wait_for
from test_py_apps import HERE, need
from test_repl_proxy_multi import read_reply

pytestmark = pytest.mark.cairn_only

LOST = "CLUSTERDOWN The connection to the leader was lost"
DEPOSED = "UNBLOCKED force unblock from blocking operation, instance state changed"


class Blocked:
    """One command run on its own connection in a thread: its reply or
    error once it returns."""

    def __init__(self, node, *args, **kw):
        self.conn = node.client(single_connection_client=True, socket_timeout=30, **kw)
        self.id = self.conn.client_id()
        self.result = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, args=args, daemon=True)
        self.thread.start()

    def run(self, *args):
        try:
            self.result = self.conn.execute_command(*args)
        except (redis.RedisError, OSError) as e:
            self.result = e
        self.done.set()

    def wait(self, timeout=20):
        assert self.done.wait(timeout), "the blocked command never returned"
        return self.result

    def close(self):
        self.conn.close()


def blocked_clients(node):
    with node.client() as c:
        return c.info("clients")["blocked_clients"]


def wait_blocked(node, n):
    wait_for(f"{n} blocked on node {node.id}", lambda: blocked_clients(node) == n)


def test_each_blocking_command_parks_on_the_leader(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with lead.client() as c:
        c.xgroup_create("s", "g", id="$", mkstream=True)
    cases = [
        (("BLPOP", "l1", "l0", 0), lambda c: c.rpush("l0", "a"), ["l0", "a"]),
        (("BRPOP", "l2", 0), lambda c: c.rpush("l2", "a", "b"), ["l2", "b"]),
        (("BLMOVE", "l3", "d3", "LEFT", "RIGHT", 0), lambda c: c.rpush("l3", "x"), "x"),
        (("BRPOPLPUSH", "l4", "d4", 0), lambda c: c.rpush("l4", "y"), "y"),
        (("BLMPOP", 0, 1, "l5", "RIGHT", "COUNT", 2), lambda c: c.rpush("l5", 1, 2, 3),
         ["l5", ["3", "2"]]),
        (("BZPOPMIN", "z1", 0), lambda c: c.zadd("z1", {"m": 1, "n": 2}), ["z1", "m", 1.0]),
        (("BZPOPMAX", "z2", 0), lambda c: c.zadd("z2", {"m": 1, "n": 2}), ["z2", "n", 2.0]),
        (("BZMPOP", 0, 1, "z3", "MIN"), lambda c: c.zadd("z3", {"m": 1}), ["z3", [["m", "1"]]]),
        (("XREADGROUP", "GROUP", "g", "w", "BLOCK", 0, "STREAMS", "s", ">"),
         lambda c: c.xadd("s", {"f": "v"}, id="1-1"), [["s", [["1-1", {"f": "v"}]]]]),
    ]
    for args, push, want in cases:
        b = Blocked(fol, *args)
        try:
            wait_blocked(lead, 1)
            assert blocked_clients(fol) == 0  # parked on the leader, not here
            # the follower's other clients write meanwhile: nothing waits
            # behind the parked command
            with fol.client() as c:
                assert c.incr("writes") >= 1
                assert not b.done.is_set()
                push(c)
            got = b.wait()
            # redis-py's parsed replies are tuples where RESP has arrays
            norm = (lambda v: [norm(x) for x in v] if isinstance(v, (list, tuple)) else v)
            assert norm(got) == want, args
            assert b.conn.ping()
        finally:
            b.close()
    with lead.client() as c:
        assert c.lrange("d3", 0, -1) == ["x"] and c.lrange("d4", 0, -1) == ["y"]
        assert c.lrange("l5", 0, -1) == ["1"]
    group.wait_same_digest(group.nodes)


def test_timeouts_resp3_and_non_blocking_forms(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as c:
        start = time.monotonic()
        assert c.blpop("none", 0.2) is None
        assert c.execute_command("BZPOPMIN", "nonez", 0.2) is None
        assert time.monotonic() - start >= 0.35
        # ready at once: answered without waiting
        c.rpush("ready", "a")
        assert c.blpop("ready", 0) == ("ready", "a")
        # XREADGROUP without BLOCK is a write too
        c.xgroup_create("s", "g", id="0", mkstream=True)
        c.xadd("s", {"f": "v"}, id="1-1")
        assert c.xreadgroup("g", "w", {"s": ">"}) == [["s", [("1-1", {"f": "v"})]]]
        # errors come from the leader unchanged
        with pytest.raises(redis.ResponseError, match="timeout is negative"):
            c.blpop("x", -1)
        c.set("str", "v")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            c.blpop("str", 0)
        # a blocking command cannot be named by CLIENT SESSION, as on the leader
        sid = c.execute_command("CLIENT", "SESSION-OPEN")
        conn = c.connection_pool.get_connection("x")
        try:
            conn.send_command("CLIENT", "SESSION", sid, 1)
            assert conn.read_response() == "OK"
            conn.send_command("BLPOP", "ready", 1)
            with pytest.raises(redis.ResponseError, match="can't name a blocking command"):
                conn.read_response()
        finally:
            c.connection_pool.release(conn)
        c.rpush("r3", "v")
    with socket.create_connection(("127.0.0.1", fol.port), timeout=20) as s:
        s.sendall(b"HELLO 3\r\nBLPOP none 0.1\r\nBLPOP r3 1\r\nPING\r\n")
        assert read_reply(s, b"+PONG\r\n").endswith(
            b"_\r\n*2\r\n$2\r\nr3\r\n$1\r\nv\r\n+PONG\r\n")
    with lead.client() as c:
        assert blocked_clients(lead) == 0


def test_client_unblock_and_disconnect(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as admin:
        assert admin.client_unblock(admin.client_id()) == 0  # not blocked
        b = Blocked(fol, "BLPOP", "q", 0)
        wait_blocked(lead, 1)
        assert admin.client_unblock(b.id) == 1
        assert b.wait() is None  # TIMEOUT: as if it timed out
        b.close()
        b = Blocked(fol, "BZPOPMIN", "z", 0)
        wait_blocked(lead, 1)
        assert admin.client_unblock(b.id, error=True) == 1
        err = b.wait()
        assert isinstance(err, redis.ResponseError)
        assert str(err) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
        assert b.conn.ping()
        b.close()
        wait_blocked(lead, 0)
        # unblocked as soon as it is sent: the leader may not have parked it
        b = Blocked(fol, "BLPOP", "q", 0)
        wait_for("the command sent",
                 lambda: admin.client_list(client_id=[str(b.id)])[0]["cmd"] == "blpop")
        assert admin.client_unblock(b.id) == 1
        assert b.wait() is None
        b.close()
        # a client that leaves while blocked pops nothing
        with socket.create_connection(("127.0.0.1", fol.port), timeout=20) as s:
            s.sendall(b"BLPOP q 0\r\n")
            wait_blocked(lead, 1)
        wait_blocked(lead, 0)
        admin.rpush("q", "job")
        wait_for("the push applied", lambda: admin.lrange("q", 0, -1) == ["job"])
    assert blocked_clients(fol) == 0


def test_a_bounded_number_of_links(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as c:
        c.config_set("raft-follower-proxy-blocking-links", 2)
        held = [Blocked(fol, "BLPOP", f"q{i}", 0) for i in range(2)]
        wait_blocked(lead, 2)
        with pytest.raises(redis.ResponseError, match="max number of clients blocked through "
                                                       "this follower"):
            c.blpop("q9", 0)
        # plain writes still go
        assert c.set("k", "v") is True
        c.rpush("q0", "a")
        assert held[0].wait() == ("q0", "a")
        # its link is free again
        assert c.blpop("q1x", 0.1) is None
        c.config_set("raft-follower-proxy-blocking-links", 0)
        with pytest.raises(redis.ReadOnlyError):
            c.blpop("q9", 0)
        c.rpush("q1", "b")
        assert held[1].wait() == ("q1", "b")
        for b in held:
            b.close()


def test_leader_change_while_blocked(group):
    lead = group.leader()
    fol, other = followers(group, lead)
    # leadership moves away: the deposed leader unblocks the command
    b = Blocked(fol, "BLPOP", "q", 0)
    wait_blocked(lead, 1)
    with lead.client() as c:
        assert c.execute_command("RAFT", "TRANSFER-LEADER", other.id) == "OK"
    err = b.wait()
    assert isinstance(err, redis.ResponseError) and (DEPOSED in str(err) or LOST in str(err))
    assert b.conn.ping()
    b.close()
    wait_for("the transfer", lambda: group.leader(timeout=5).id == other.id)
    lead = other
    # the leader dies: the client gets an error, not a hang
    b = Blocked(fol, "BRPOPLPUSH", "q", "d", 0)
    wait_blocked(lead, 1)
    lead.kill()
    err = b.wait(group.failover_bound() + 10)
    assert isinstance(err, redis.ResponseError) and LOST in str(err), err
    b.close()
    lead.start()
    new = group.leader(timeout=10)
    # nothing was popped by the parked commands: a push stays until taken
    with fol.client() as c:
        c.rpush("q", "job")
        assert c.blpop("q", 5) == ("q", "job")
    group.wait_same_digest(group.nodes)
    assert new


def test_xread_block_is_served_on_the_follower(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    b = Blocked(fol, "XREAD", "BLOCK", 0, "STREAMS", "st", "$")
    wait_blocked(fol, 1)
    assert blocked_clients(lead) == 0
    with lead.client() as c:
        c.xadd("st", {"a": "1"}, id="5-1")
    assert b.wait() == [["st", [("5-1", {"a": "1"})]]]
    b.close()


def test_workers_on_every_node_take_each_job_once(group):
    """Workers on every node BLPOP one queue that the leader fills while
    leadership moves and then the leader is killed: no job is taken twice,
    and every job is taken, still queued, or answered by an error that
    says its outcome is unknown (a connection to the killed node, or the
    follower's link to it)."""
    lead = group.leader()
    jobs, third = 300, 100
    taken, unknown, refused, lock = [], [], [], threading.Lock()
    stop = threading.Event()

    def work(node):
        with node.client(socket_timeout=30) as c:
            while not stop.is_set():
                try:
                    got = c.blpop("jobs", 0.5)
                except redis.ResponseError as e:
                    with lock:
                        (unknown if LOST in str(e) else refused).append(str(e))
                    time.sleep(0.05)
                    continue
                except (redis.ConnectionError, OSError) as e:
                    with lock:
                        unknown.append(str(e))
                    return  # its node died
                if got:
                    with lock:
                        taken.append(got[1])

    threads = [threading.Thread(target=work, args=(n,), daemon=True)
               for n in group.nodes for _ in (0, 1)]
    for t in threads:
        t.start()
    try:
        with lead.client() as c:
            c.rpush("jobs", *range(third))
        wait_for("jobs taken", lambda: len(taken) >= third // 2)
        target = followers(group, lead)[0]
        with lead.client() as c:
            c.execute_command("RAFT", "TRANSFER-LEADER", target.id)
        wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)
        lead = target
        with lead.client() as c:
            c.rpush("jobs", *range(third, 2 * third))
        wait_for("jobs taken", lambda: len(taken) >= third + third // 2)
        # the leader dies with the others' workers parked on it
        lead.kill()
        lead = group.leader(timeout=10, exclude=(lead.id,))
        with lead.client() as c:
            c.rpush("jobs", *range(2 * third, jobs))
            wait_for("the queue emptied", lambda: c.llen("jobs") == 0, timeout=60)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert len(taken) == len(set(taken)), "a job was taken twice"
    assert all(DEPOSED in e or "CLUSTERDOWN" in e or "TRYAGAIN" in e for e in refused), refused
    missing = set(map(str, range(jobs))) - set(taken)
    assert len(missing) <= len(unknown), (missing, unknown)


def test_celery_worker_through_a_follower(group):
    """A Celery worker whose broker and result backend are a follower: it
    waits for tasks in BRPOP there, which parks on the leader."""
    need("celery")
    lead = group.leader()
    fol = followers(group, lead)[0]
    env = dict(os.environ, CELERY_URL=f"redis://{fol.host}:{fol.port}/0")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_tasks", "worker",
                               "-P", "solo", "-l", "WARNING", "--without-heartbeat",
                               "--without-mingle", "--without-gossip"],
                              cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    # the client in a process of its own too: celery_tasks reads its URL
    # once per process
    client = ("import celery_tasks as t\n"
              "from celery import group\n"
              "print(t.add.delay(2, 3).get(timeout=30))\n"
              "print(group(t.add.s(i, i) for i in range(4)).delay().get(timeout=30))\n")
    try:
        wait_blocked(lead, 1)  # the worker's BRPOP
        out = subprocess.run([sys.executable, "-c", client], cwd=HERE, env=env, timeout=90,
                             capture_output=True, text=True)
        assert out.stdout.split("\n")[:2] == ["5", "[0, 2, 4, 6]"], out.stderr[-2000:]
    finally:
        worker.terminate()
        worker.wait(20)
