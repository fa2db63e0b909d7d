"""A Raft group of cairn-server processes on loopback, for the replication
tests: each node on its own free port and in its own temp dir, started with
the same --raft-peers list, killed, paused and restarted from its directory.
"""
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import cairn_binary, free_port

SECRET = "group-secret"


class Node:
    def __init__(self, group, node_id, port, peers=None):
        self.group = group
        self.peers = peers  # None: the group's list
        self.id = node_id
        self.host = "127.0.0.1"
        self.port = port
        self.dir = tempfile.mkdtemp(prefix=f"cairn-raft{node_id}-")
        self.logfile = os.path.join(self.dir, "server.log")
        self.proc = None
        self.log = None

    def start(self):
        if self.group.tls_args:  # the TLS port only (node links too)
            ports = ["--port", "0", "--tls-port", str(self.port)] + self.group.tls_args(self)
        else:
            ports = ["--port", str(self.port)]
        args = [cairn_binary(), *ports, "--bind", self.host,
                "--dir", self.dir, "--raft-id", str(self.id),
                "--raft-peers", self.peers or self.group.peers, "--raft-secret", SECRET,
                "--enable-debug-command", "yes"]
        args += list(self.group.extra_args)
        self.log = open(self.logfile, "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.start_failed("exited")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.start_failed("did not listen")

    def start_failed(self, what):
        """Raise for a start that failed, leaving no process behind: nobody
        stops a node whose start raised."""
        self.kill()
        raise RuntimeError(f"node {self.id} {what}: {self.read_log()}")

    def read_log(self):
        with open(self.logfile) as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 10)
        for k, v in self.group.client_kw.items():
            kw.setdefault(k, v)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def info(self):
        with self.client(socket_timeout=2) as c:
            return c.info("replication")

    def addr(self):
        return f"{self.host}:{self.port}"

    def raft_nodes(self):
        """RAFT NODES as {id: {field: value}}."""
        with self.client(socket_timeout=2) as c:
            rows = c.execute_command("RAFT", "NODES")
        out = {}
        for row in rows:
            d = dict(zip(row[::2], row[1::2])) if isinstance(row, list) else row
            out[int(d["id"])] = d
        return out

    def digest(self):
        with self.client(socket_timeout=5) as c:
            return c.execute_command("DEBUG", "DIGEST")

    def wipe(self):
        """Delete the node's directory (it must be down): a lost disk."""
        assert not self.alive()
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        """SIGTERM; returns the exit status (a crash is not 0)."""
        if not self.alive():
            self.kill()
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.log = None
        return self.proc.returncode


class Link:
    """A fault-injecting TCP proxy on one directed link between two nodes
    (node traffic is one-way: a node sends its messages over its own
    connection to each peer).  While cut, its connections are closed and
    new ones are closed as soon as they are accepted.  delay (seconds)
    holds every byte that long: what was sent apart arrives apart."""

    def __init__(self, target_port):
        self.target = target_port
        self.cut = False
        self.delay = 0.0
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.closed:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            if self.cut:
                a.close()
                continue
            try:
                b = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                a.close()
                continue
            # the 2 s bound is for connecting only: a link whose node sends
            # nothing for 2 s (messages go one way) is not broken
            b.settimeout(None)
            with self.lock:
                self.conns += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    def pump(self, src, dst):
        """Bytes from src go to dst through a queue, each chunk sent delay
        seconds after it arrived (a reader alone would merge the chunks
        that arrive while it waits)."""
        chunks = queue.Queue()
        threading.Thread(target=self.deliver, args=(chunks, dst), daemon=True).start()
        try:
            while True:
                data = src.recv(65536)
                if not data or self.cut:
                    break
                chunks.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        chunks.put(None)
        try:
            src.close()
        except OSError:
            pass

    def deliver(self, chunks, dst):
        try:
            while (item := chunks.get()) is not None:
                due, data = item
                time.sleep(max(0.0, due - time.monotonic()))
                if self.cut:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.close()
        except OSError:
            pass

    def set_cut(self, cut):
        self.cut = cut
        if cut:
            with self.lock:
                conns, self.conns = self.conns, []
            for s in conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.set_cut(True)
        self.sock.close()


class Group:
    def __init__(self, size=3, extra_args=(), proxied=False, client_kw=None, node_class=None,
                 tls_args=None, peer_host="127.0.0.1"):
        """proxied: every node reaches every other through its own Link
        (group.links[(from_id, to_id)]), so tests can partition them.
        client_kw: what every client of the tests passes (a password).
        node_class(id): the class of node id (an embedded member), Node if
        not given.
        tls_args: node -> its tls-* arguments; the nodes then listen on a
        TLS port only (client_kw has the clients' ssl settings).
        peer_host: how --raft-peers names the nodes' host (a host name
        that resolves to 127.0.0.1, where they listen)."""
        self.extra_args = extra_args
        self.tls_args = tls_args
        self.client_kw = dict(client_kw or {})
        ports = [free_port() for _ in range(size)]
        self.peers = ",".join(f"{i + 1}@{peer_host}:{p}" for i, p in enumerate(ports))
        self.nodes = [(node_class(i + 1) if node_class else Node)(self, i + 1, p)
                      for i, p in enumerate(ports)]
        self.links = {}
        if proxied:
            for a in self.nodes:
                for b in self.nodes:
                    if a is not b:
                        self.links[(a.id, b.id)] = Link(b.port)
                a.peers = ",".join(
                    f"{b.id}@127.0.0.1:{b.port if b is a else self.links[(a.id, b.id)].port}"
                    for b in self.nodes)
        try:
            for n in self.nodes:
                n.start()
        except BaseException:
            # the caller gets no group to close: stop the nodes already
            # started (and the links) before raising
            self.close()
            raise

    def partition(self, *sides):
        """Cut every link between nodes of different sides (lists of ids);
        no argument heals everything."""
        side = {i: k for k, ids in enumerate(sides) for i in ids}
        for (a, b), link in self.links.items():
            link.set_cut(a in side and b in side and side[a] != side[b])

    def failover_bound(self):
        """A bound that catches a failover that hangs, not a target: the
        2 s target is measured by bench/repl.sh (20 kills, p50 and max) on
        a quiet machine, while tests share theirs.  A sanitizer build (not
        on jemalloc) runs several times slower."""
        with self.nodes[0].client() as c:
            fast = c.info("memory")["mem_allocator"].startswith("jemalloc")
        return 5.0 if fast else 10.0

    def node(self, node_id):
        return next(n for n in self.nodes if n.id == node_id)

    def add_node(self, node_id, peers):
        """A new node (started, not yet a member) that joins the group whose
        members are peers (nodes): it is not in its own --raft-peers list,
        so it waits as a learner for RAFT ADD-NODE."""
        n = Node(self, node_id, free_port(),
                 peers=",".join(f"{p.id}@{p.addr()}" for p in peers))
        self.nodes.append(n)
        n.start()
        return n

    def wait_same_digest(self, nodes, timeout=20.0):
        """Until every node in nodes applied the leader's commit index and
        reports the same DEBUG DIGEST; returns it."""
        deadline = time.time() + timeout
        seen = None
        while time.time() < deadline:
            try:
                self.wait_applied(nodes, timeout=max(0.1, deadline - time.time()))
                seen = {n.id: n.digest() for n in nodes}
                if len(set(seen.values())) == 1:
                    return next(iter(seen.values()))
            except (redis.RedisError, OSError, AssertionError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"digests differ: {seen}")

    def leader(self, timeout=5.0, exclude=()):
        """The node that every live node agrees leads, once one does."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            views = {}
            for n in self.nodes:
                if not n.alive() or n.id in exclude:
                    continue
                try:
                    views[n.id] = n.info()
                except (redis.RedisError, OSError):
                    continue
            leaders = [i for i, v in views.items() if v.get("raft_state") == "leader"]
            if len(leaders) == 1:
                lead = leaders[0]
                term = views[lead]["raft_term"]
                if all(v.get("raft_leader_id") == lead and v.get("raft_term") == term
                       for v in views.values()):
                    return self.node(lead)
            time.sleep(0.02)
        raise AssertionError(f"no leader within {timeout}s")

    def wait_applied(self, nodes, timeout=10.0):
        """Until every node in nodes applied the leader's commit index."""
        deadline = time.time() + timeout
        seen = {}
        while time.time() < deadline:
            try:
                lead = self.leader(timeout=timeout)
                commit = lead.info()["raft_commit_index"]
                seen = {"leader": lead.id, "commit": commit}
                seen.update({n.id: n.info()["raft_applied_index"] for n in nodes})
                if all(n.info()["raft_applied_index"] >= commit for n in nodes):
                    return
            except (redis.RedisError, OSError, AssertionError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"nodes did not catch up: {seen}")

    def close(self):
        for link in self.links.values():
            link.close()
        codes = {}
        self.bad_logs = {}  # the end of the log of each node that did not stop cleanly
        for n in self.nodes:
            codes[n.id] = n.stop()
            if codes[n.id] not in (0, -15, -9) and os.path.exists(n.logfile):
                self.bad_logs[n.id] = n.read_log()[-3000:]
            shutil.rmtree(n.dir, ignore_errors=True)
        return codes


def dataset(node):
    """Every key of db 0 with its type and value (pipelined: on a follower
    every batch waits for one read round)."""
    with node.client() as c:
        keys = sorted(c.scan_iter(count=1000))
        p = c.pipeline(transaction=False)
        for k in keys:
            p.type(k)
        types = p.execute()
        p = c.pipeline(transaction=False)
        for k, t in zip(keys, types):
            if t == "string":
                p.get(k)
            elif t == "list":
                p.lrange(k, 0, -1)
            elif t == "hash":
                p.hgetall(k)
            elif t == "set":
                p.smembers(k)
            elif t == "zset":
                p.zrange(k, 0, -1, withscores=True)
            else:
                p.type(k)
        values = p.execute()
    out = {}
    for k, t, v in zip(keys, types, values):
        if isinstance(v, dict):
            v = sorted(v.items())
        elif isinstance(v, set):
            v = sorted(v)
        out[k] = (t, v)
    return out


class Writer:
    """Writes unique keys to whichever node leads, for a bounded time,
    recording every acknowledged write."""

    def __init__(self, group, seconds, exclude=()):
        """exclude: ids left out when looking for the leader (a set the
        test may change while the writer runs, e.g. a cut-off node)."""
        self.group = group
        self.exclude = exclude
        self.acked = {}
        self.errors = 0
        self.stop_at = time.time() + seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        i = 0
        conn = None
        try:
            while time.time() < self.stop_at and not self.done.is_set():
                if conn is None:
                    try:
                        conn = self.group.leader(timeout=3, exclude=tuple(self.exclude)).client(
                            socket_timeout=1)
                    except AssertionError:
                        continue
                i += 1
                try:
                    if conn.set(f"w{i}", i):
                        self.acked[f"w{i}"] = str(i)
                except (redis.RedisError, OSError):
                    self.errors += 1
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def join(self):
        self.done.set()
        self.thread.join(30)


class History:
    """Clients that read and write a few registers through every node
    (followers forward the writes and serve linearizable reads) for a
    bounded time, recording when each operation was called and answered.
    check() runs the simulator's linearizability checker (cairn-lincheck)
    over what they saw: a stale read, a lost write or a write applied twice
    on any node fails it.

    A write is SET key value GET, so its reply says what it overwrote; every
    value is written once.  A write that failed may or may not have been
    applied: its outcome is recorded as unknown.  A failed read tells
    nothing and is left out.  Each operation also records which client
    made it and through which node (a read is served by that node), kept
    beside a history that fails the check."""

    KEYS = ("lin0", "lin1", "lin2")

    def __init__(self, group, seconds, clients=3):
        self.group = group
        self.ops = []  # list.append is atomic: one list for every client
        self.where = {}  # client -> the id of the node it talks to
        self.stop_at = time.time() + seconds
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(c,), daemon=True)
                        for c in range(1, clients + 1)]
        for t in self.threads:
            t.start()

    def connect(self, cid, turn):
        nodes = [n for n in self.group.nodes if n.alive()]
        if not nodes:
            return None
        node = nodes[turn % len(nodes)]
        self.where[cid] = node.id
        return node.client(socket_timeout=2)

    def record(self, cid, op):
        """op, and which client and node it went through (one append: the
        clients' threads share the list)."""
        self.ops.append(op + (f"{cid}@{self.where[cid]}",))

    def run(self, cid):
        rng = random.Random(cid)
        conn, turn, seq = None, cid, 0
        while time.time() < self.stop_at and not self.done.is_set():
            if conn is None:
                turn += 1
                conn = self.connect(cid, turn)
                if conn is None:
                    time.sleep(0.05)
                    continue
            key = rng.choice(self.KEYS)
            t0 = time.monotonic_ns()
            try:
                if rng.random() < 0.5:
                    seq += 1
                    value = cid * 10**9 + seq
                    try:
                        old = conn.set(key, value, get=True)
                        self.record(cid, (key, "W", 1, value, int(old or 0), t0,
                                          time.monotonic_ns()))
                    except (redis.RedisError, OSError):
                        self.record(cid, (key, "W", 0, value, 0, t0, "inf"))
                        raise
                else:
                    got = conn.get(key)
                    self.record(cid, (key, "R", 1, int(got or 0), 0, t0, time.monotonic_ns()))
            except (redis.RedisError, OSError):
                conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    def join(self):
        self.done.set()
        for t in self.threads:
            t.join(30)

    def check(self):
        """Stops the clients and asserts the history is linearizable."""
        self.join()
        writes = sum(1 for op in self.ops if op[1] == "W" and op[2])
        reads = sum(1 for op in self.ops if op[1] == "R")
        assert writes and reads, f"{writes} writes and {reads} reads answered"
        # (a subclass may record other operations, "P", for the who file)
        text = "".join(" ".join(map(str, op[:-1])) + "\n" for op in self.ops if op[1] in "RW")
        tool = os.path.join(os.path.dirname(cairn_binary()), "cairn-lincheck")
        p = subprocess.run([tool], input=text, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            # kept outside the tree for a look with cairn-lincheck FILE, and
            # again with client@node on each line
            path, who = keep("cairn-history-", text), keep(
                "cairn-history-who-", "".join(" ".join(map(str, op)) + "\n" for op in self.ops))
            raise AssertionError(f"history of {len(self.ops)} operations (in {path}; with "
                                 f"client@node on each line: {who}):\n{p.stdout}{p.stderr}")


def keep(prefix, text, suffix=".txt"):
    """text in a new file outside the tree; returns its path."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def check_acked(group, acked, nodes=None):
    """Every acknowledged write is on every live node (or every node of
    nodes), and their datasets are the same (DEBUG DIGEST)."""
    lead = group.leader(timeout=30)
    nodes = nodes or [n for n in group.nodes if n.alive()]
    group.wait_applied(nodes, timeout=30)
    for n in nodes:
        # a node that just lost sight of the leader (a loaded machine)
        # refuses reads for a moment: ask again
        deadline = time.time() + 30
        while True:
            try:
                data = dataset(n)
                break
            except redis.ResponseError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        missing = [k for k, v in acked.items() if data.get(k) != ("string", v)]
        assert not missing, f"node {n.id} lost {len(missing)} acknowledged writes: {missing[:5]}"
    group.wait_same_digest(nodes)
    return lead


def close_checked(g):
    """Stop every node of g.  A node that crashed (or, under the
    sanitizers, reported an error) fails the test even if every reply
    looked right."""
    codes = g.close()
    assert all(rc in (0, -15, -9) for rc in codes.values()), (codes, g.bad_logs)


@pytest.fixture
def group():
    """A group of three, checked when the test ends (import it to use it)."""
    g = Group(3)
    yield g
    close_checked(g)


def followers(g, lead):
    return [n for n in g.nodes if n.id != lead.id and n.alive()]


def wait_for(what, cond, timeout=30.0):
    """Until cond() holds; errors while the group settles count as not yet."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except (redis.RedisError, OSError, AssertionError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
