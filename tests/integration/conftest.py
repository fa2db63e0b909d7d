"""Fixtures for integration tests: real servers on free loopback ports.

The suite runs against cairn-server by default.  With CAIRN_TEST_SERVER=redis
it runs against Debian's redis-server instead, to prove that what a test
asserts is what Redis does; tests of Cairn-only features are marked
`cairn_only` and skipped there.
"""
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CAIRN_TEST_SERVER", "cairn")


def cairn_binary():
    path = os.environ.get("CAIRN_SERVER_BIN", os.path.join(ROOT, "build", "cairn-server"))
    if not os.path.exists(path):
        pytest.exit(f"cairn-server not found at {path}: build first", returncode=2)
    return path


def _port_slice():
    """This process's ports: below the kernel's ephemeral range, a slice
    for each pytest-xdist worker.  Client sockets (the nodes' links among
    them) take their ports from the ephemeral range, and one could take a
    port free_port() handed out before its server bound it: "address
    already in use" under load.  None where that range leaves no room."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    low = 10000
    size = (ephemeral - low) // max(count, 1)
    if size < 1000:
        return None
    first = low + (int(worker) if worker.isdigit() else 0) % max(count, 1) * size
    return first, first + size


_PORTS = _port_slice()
_handed = set()


def free_port():
    """A loopback port nothing listens on, never handed out twice."""
    ports = _PORTS
    for _ in range(1000 if ports else 0):
        port = random.randrange(*ports)
        if port in _handed:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=20, step=0.02):
    """Poll cond until it is true or timeout seconds pass; its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# Every server started, so that the session stops those a test left
# running (a failed assertion before its stop()) and removes their folders.
_servers = []


class Server:
    """A server process on 127.0.0.1:port, stopped by stop()."""

    def __init__(self, extra_args=(), is_redis=None):
        self.is_redis = (TARGET == "redis") if is_redis is None else is_redis
        self.host = "127.0.0.1"
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cairn-test-")
        self.logfile = os.path.join(self.dir, "server.log")
        if self.is_redis:
            args = ["redis-server", "--port", str(self.port), "--bind", self.host,
                    "--save", "", "--appendonly", "no", "--dir", self.dir,
                    "--enable-debug-command", "yes", "--daemonize", "no"]
        else:
            # DEBUG and CONFIG SET dir are refused by default, as in Redis 7:
            # the suite uses them.
            args = [cairn_binary(), "--port", str(self.port), "--bind", self.host,
                    "--dir", self.dir, "--enable-debug-command", "yes",
                    "--enable-protected-configs", "yes"]
        args += list(extra_args)
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        _servers.append(self)
        try:
            self._wait_ready()
        except Exception:
            # Nobody will stop a server that failed to start: leave nothing
            # behind (its log is in the exception).
            self.stop()
            raise

    def _wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.read_log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("server did not start listening: " + self.read_log())

    def read_log(self):
        with open(self.logfile) as f:
            return f.read()

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        rc = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


@pytest.fixture(scope="session", autouse=True)
def _stop_left_servers():
    yield
    for s in _servers:
        s.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "cairn_only: a Cairn feature that Redis lacks")
    config.addinivalue_line("markers", "slow: a longer test")


def pytest_collection_modifyitems(config, items):
    if TARGET != "redis":
        return
    skip = pytest.mark.skip(reason="Cairn-only feature")
    for item in items:
        if "cairn_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    rc = s.stop()
    # A server that crashed (or, under the sanitizers, reported an error)
    # fails the run even if every reply looked right.
    assert rc in (0, -15), f"server exited with {rc}"


@pytest.fixture
def server_factory():
    """Start dedicated servers (for tests that kill or reconfigure them)."""
    started = []

    def make(*extra_args):
        s = Server(extra_args)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def own(server_factory):
    """A server of the test's own (for state a shared server would mix up:
    statistics, the slow log, pauses) and a client of it."""
    s = server_factory()
    r = s.client()
    yield s, r
    r.close()


@pytest.fixture
def r(server):
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def rb(server):
    c = server.client(decode_responses=False)
    c.flushall()
    yield c
    c.close()


class RawConn:
    """A raw socket speaking RESP, for protocol-level tests (RESP3, errors)."""

    def __init__(self, server):
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.send(out)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_reply(self):
        """Decode one reply; aggregate types come back as (type, items)."""
        line = self.read_line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-", b":", b",", b"(", b"#", b"_"):
            return (t.decode(), rest.decode())
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return ("$", None)
            data = self.read_exact(n + 2)[:-2]
            return (t.decode(), data)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return (t.decode(), None)
            return (t.decode(), [self.read_reply() for _ in range(n)])
        if t == b"%":
            n = int(rest)
            return ("%", [(self.read_reply(), self.read_reply()) for _ in range(n)])
        raise ValueError(f"unexpected reply line {line!r}")

    def closed_by_peer(self, timeout=2.0):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(server):
    conns = []

    def make():
        c = RawConn(server)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()
