"""The server as a process: configuration file and flags, signals and
SHUTDOWN, unix sockets, client limits and timeouts, and the stock Redis
tools (redis-cli, redis-benchmark) driving it.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis),
except in tests marked cairn_only.
"""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import TARGET, RawConn, cairn_binary, free_port


def binary():
    return "redis-server" if TARGET == "redis" else cairn_binary()


class Proc:
    """A server process started with exactly the given arguments (a config
    file, flags, "-" for stdin), in its own directory."""

    def __init__(self, args=(), config=None, stdin_text=None, port=None):
        self.dir = tempfile.mkdtemp(prefix="cairn-proc-")
        self.port = port
        argv = [binary()]
        if config is not None:
            self.config_path = os.path.join(self.dir, "server.conf")
            with open(self.config_path, "w") as f:
                f.write(config)
            argv.append(self.config_path)
        argv += list(args)
        self.logfile = os.path.join(self.dir, "out.log")
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if stdin_text is not None
                                     else subprocess.DEVNULL)
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text.encode())
            self.proc.stdin.close()

    def output(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def wait_tcp(self, port=None, timeout=10):
        port = port or self.port
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("not listening: " + self.output())

    def wait_unix(self, path, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}: {self.output()}")
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(0.2)
                s.connect(path)
                s.close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("not listening on unix socket: " + self.output())

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, **kw)

    def wait_exit(self, timeout=5):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def launch():
    started = []

    def make(*args, **kw):
        p = Proc(args, **kw)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def base_config(port):
    # Options both servers understand; `save ""` keeps Redis from writing
    # a snapshot at exit.
    return f'bind 127.0.0.1\nport {port}\nsave ""\nappendonly no\n'


def raw_to(port):
    class _S:
        host = "127.0.0.1"

    s = _S()
    s.port = port
    return RawConn(s)


# --- configuration file and flags ---------------------------------------------

def test_config_file_is_honoured(launch):
    port = free_port()
    p = launch(config=(
        "# a Redis-style configuration file\n"
        "bind 127.0.0.1\n"
        f"port {port}\n"
        "loglevel verbose\n"
        'timeout "7"\n'
        "save \"\"\n"
        "appendonly no\n"
        "maxmemory 10mb\n"
        "maxmemory-policy 'allkeys-lru'\n"
        "tcp-keepalive 60\n"), port=port)
    p.wait_tcp()
    c = p.client()
    assert c.config_get("port") == {"port": str(port)}
    assert c.config_get("loglevel") == {"loglevel": "verbose"}
    assert c.config_get("timeout") == {"timeout": "7"}
    assert c.config_get("maxmemory") == {"maxmemory": str(10 * 1024 * 1024)}
    assert c.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert c.config_get("tcp-keepalive") == {"tcp-keepalive": "60"}
    assert c.config_get("save") == {"save": ""}
    c.close()
    # loglevel verbose is in effect: connections are logged.
    deadline = time.time() + 3
    while "Accepted" not in p.output() and time.time() < deadline:
        time.sleep(0.05)
    assert "Accepted" in p.output()


def test_flags_override_the_file(launch):
    port = free_port()
    p = launch("--timeout", "9", "--loglevel", "warning", "--save", "100", "1",
               config=base_config(port) + "timeout 7\nloglevel verbose\n", port=port)
    p.wait_tcp()
    c = p.client()
    assert c.config_get("timeout") == {"timeout": "9"}
    assert c.config_get("loglevel") == {"loglevel": "warning"}
    assert c.config_get("save") == {"save": "100 1"}
    assert c.config_get("port") == {"port": str(port)}


def test_flags_without_a_file(launch):
    port = free_port()
    p = launch("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--databases", "4",
               port=port)
    p.wait_tcp()
    c = p.client()
    assert c.config_get("databases") == {"databases": "4"}
    with pytest.raises(redis.ResponseError):
        c.execute_command("SELECT", "4")


def test_config_from_stdin(launch):
    """"-" reads configuration from stdin after the file, before flags."""
    port = free_port()
    p = launch("-", "--timeout", "9", stdin_text=base_config(port) + "timeout 5\nhz 20\n",
               port=port)
    p.wait_tcp()
    c = p.client()
    assert c.config_get("timeout") == {"timeout": "9"}
    assert c.config_get("hz") == {"hz": "20"}
    c.close()

    port2 = free_port()
    p2 = launch("--hz", "30", "-", config=base_config(port2) + "timeout 5\nhz 20\n",
                stdin_text="timeout 6\nhz 25\n", port=port2)
    p2.wait_tcp()
    c = p2.client()
    assert c.config_get("timeout") == {"timeout": "6"}
    assert c.config_get("hz") == {"hz": "30"}


def test_bad_config_line_fails_startup(launch):
    port = free_port()
    p = launch(config=base_config(port) + "nosuchdirective 1\n", port=port)
    assert p.wait_exit() not in (0, None)
    out = p.output()
    assert "FATAL CONFIG FILE ERROR" in out
    assert "nosuchdirective" in out


@pytest.mark.cairn_only
def test_missing_data_directory_is_created(launch):
    """Redis stops on a missing `dir`; Cairn creates it (a new node's first
    start), but still stops on one it cannot create."""
    port = free_port()
    p = launch("--port", str(port), "--bind", "127.0.0.1", "--dir", "data/node-1", port=port)
    p.wait_tcp()
    assert p.client().set("k", "v")
    assert os.path.isdir(os.path.join(p.dir, "data", "node-1"))
    assert "Created the data directory 'data/node-1'" in p.output()
    port = free_port()
    with open(os.path.join(p.dir, "file"), "w"):
        pass
    q = launch("--port", str(port), "--dir", os.path.join(p.dir, "file", "sub"), port=port)
    assert q.wait_exit() not in (0, None)
    assert "Can't chdir to" in q.output()
    # an existing relative directory is entered once (each Proc runs in a
    # temp dir of its own: this one's is a sibling of p's)
    os.mkdir(os.path.join(p.dir, "data", "node-2"))
    rel = os.path.join("..", os.path.basename(p.dir), "data", "node-2")
    port = free_port()
    r = launch("--port", str(port), "--bind", "127.0.0.1", "--dir", rel, port=port)
    r.wait_tcp()
    assert r.client().ping()
    assert "Created the data directory" not in r.output()


@pytest.mark.cairn_only
def test_bad_config_line_message(launch):
    port = free_port()
    p = launch(config=base_config(port) + "timeout abc\n", port=port)
    assert p.wait_exit() not in (0, None)
    out = p.output()
    assert "at line 5" in out
    assert ">>> 'timeout abc'" in out
    assert "argument couldn't be parsed into an integer" in out


def test_bad_flag_fails_startup(launch):
    port = free_port()
    p = launch("--port", str(port), "--nosuchflag", "1")
    assert p.wait_exit() not in (0, None)
    assert "nosuchflag" in p.output()
    p = launch("--port", "notaport")
    assert p.wait_exit() not in (0, None)


@pytest.mark.cairn_only
def test_bad_flag_message(launch):
    p = launch("--port", "70000")
    assert p.wait_exit() not in (0, None)
    out = p.output()
    assert "FATAL CONFIG" in out
    assert "port" in out and "must be between 0 and 65535" in out


def test_missing_config_file_fails_startup(launch, tmp_path):
    p = launch(str(tmp_path / "no-such.conf"))
    assert p.wait_exit() not in (0, None)
    assert "no-such.conf" in p.output()


def test_port_in_use_fails_startup(launch):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = launch(config=base_config(port), port=port)
        assert p.wait_exit() not in (0, None)
        assert "Could not create server TCP listening socket" in p.output()


def test_version_flag(launch):
    for flag in ("--version", "-v"):
        out = subprocess.run([binary(), flag], capture_output=True, text=True, timeout=5)
        assert out.returncode == 0
        assert re.search(r"server v=\d+\.\d+\.\d+ ", out.stdout), out.stdout


@pytest.mark.cairn_only
def test_version_text():
    out = subprocess.run([cairn_binary(), "--version"], capture_output=True, text=True, timeout=5)
    assert out.returncode == 0
    assert re.match(r"Cairn server v=\d+\.\d+\.\d+ allocator=\S+\n$", out.stdout), out.stdout


# --- logging and files --------------------------------------------------------

def test_logfile_and_pidfile(launch, tmp_path):
    port = free_port()
    logfile = str(tmp_path / "server.log")
    pidfile = str(tmp_path / "server.pid")
    p = launch(config=base_config(port) + f'logfile "{logfile}"\npidfile "{pidfile}"\n',
               port=port)
    p.wait_tcp()
    # The file is written after the listeners open (as Redis does), and
    # may be seen empty for a moment: read_pidfile() waits for the number.
    assert read_pidfile(pidfile) == p.proc.pid
    # The server logs that it is ready just after it starts listening and
    # writes the pidfile: give a loaded machine a moment.
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(logfile) as f:
            if "Ready to accept connections" in f.read():
                break
        time.sleep(0.02)
    with open(logfile) as f:
        assert "Ready to accept connections" in f.read()
    p.proc.send_signal(signal.SIGTERM)
    assert p.wait_exit() == 0
    assert not os.path.exists(pidfile)
    with open(logfile) as f:
        assert "bye bye" in f.read()


# --- stopping -----------------------------------------------------------------

@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_signal_shutdown(launch, sig, name):
    port = free_port()
    p = launch(config=base_config(port), port=port)
    p.wait_tcp()
    conn = raw_to(port)
    conn.cmd("SET", "k", "v")
    assert conn.read_reply() == ("+", "OK")
    t0 = time.time()
    p.proc.send_signal(sig)
    assert p.wait_exit(5) == 0
    assert time.time() - t0 < 5
    out = p.output()
    assert f"Received {name} scheduling shutdown" in out
    assert "bye bye" in out
    # Connected clients are disconnected, not left hanging.
    assert conn.closed_by_peer(2)
    conn.close()


def test_sigterm_with_a_stalled_reader(launch):
    """A client that stops reading (its replies pile up in the server) does
    not keep the server from exiting."""
    port = free_port()
    p = launch(config=base_config(port), port=port)
    p.wait_tcp()
    c = p.client()
    c.set("big", "b" * 1_000_000)
    stalled = raw_to(port)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.send(b"GET big\r\n" * 50)  # 50 MB of replies, never read
    time.sleep(0.5)
    assert c.ping()
    p.proc.send_signal(signal.SIGTERM)
    assert p.wait_exit(5) == 0
    assert "bye bye" in p.output()
    stalled.close()


def test_shutdown_nosave(launch):
    port = free_port()
    p = launch(config=base_config(port), port=port)
    p.wait_tcp()
    other = raw_to(port)
    other.cmd("PING")
    assert other.read_reply() == ("+", "PONG")
    c = raw_to(port)
    c.cmd("SHUTDOWN", "NOSAVE")
    # No reply: the connection just closes as the server exits.
    assert c.closed_by_peer(5)
    assert c.buf == b""
    assert p.wait_exit(5) == 0
    assert "bye bye" in p.output()
    assert other.closed_by_peer(2)
    other.close()
    c.close()


def test_shutdown_via_redis_py(launch):
    port = free_port()
    p = launch(config=base_config(port), port=port)
    p.wait_tcp()
    c = p.client()
    c.shutdown(nosave=True)
    assert p.wait_exit(5) == 0
    with pytest.raises(redis.ConnectionError):
        p.client(socket_connect_timeout=1).ping()


# --- unix socket --------------------------------------------------------------

@pytest.fixture
def sockdir():
    # A short path: unix socket paths are limited to about 100 bytes.
    d = tempfile.mkdtemp(prefix="cairn-sock-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_unixsocket(launch, sockdir):
    port = free_port()
    path = os.path.join(sockdir, "cairn.sock")
    p = launch("--unixsocket", path, "--unixsocketperm", "700",
               config=base_config(port), port=port)
    p.wait_tcp()
    p.wait_unix(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    u = redis.Redis(unix_socket_path=path, decode_responses=True, socket_timeout=5)
    assert u.ping() is True
    assert u.set("via", "unix") is True
    # The same data over TCP.
    assert p.client().get("via") == "unix"
    assert u.config_get("unixsocket") == {"unixsocket": path}
    u.close()
    p.proc.send_signal(signal.SIGTERM)
    assert p.wait_exit() == 0
    assert not os.path.exists(path)


def test_unixsocket_only(launch, sockdir):
    path = os.path.join(sockdir, "s.sock")
    p = launch("--port", "0", "--unixsocket", path, "--save", "")
    p.wait_unix(path)
    u = redis.Redis(unix_socket_path=path, decode_responses=True, socket_timeout=5)
    assert u.ping() is True
    assert u.config_get("port") == {"port": "0"}
    pipe = u.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"k{i}", i)
    assert all(pipe.execute())
    assert u.dbsize() == 1000
    u.close()


# --- client limits ------------------------------------------------------------

def wait_for_clients(conn, n, timeout=5):
    """Wait until the server counts n clients (conn among them)."""
    deadline = time.time() + timeout
    while True:
        conn.cmd("CLIENT", "LIST")
        t, listing = conn.read_reply()
        count = len(listing.strip().split(b"\n"))
        if count == n or time.time() > deadline:
            return count
        time.sleep(0.05)


def test_maxclients(launch):
    port = free_port()
    p = launch("--maxclients", "2", config=base_config(port), port=port)
    p.wait_tcp()
    a = raw_to(port)
    # wait_tcp's probe connection must be gone before the count matters.
    assert wait_for_clients(a, 1) == 1
    b = raw_to(port)
    b.cmd("PING")
    assert b.read_reply() == ("+", "PONG")
    third = raw_to(port)
    assert third.read_reply() == ("-", "ERR max number of clients reached")
    assert third.closed_by_peer(2)
    # Freeing a slot lets a new client in.
    b.close()
    assert wait_for_clients(a, 1) == 1
    fourth = raw_to(port)
    fourth.cmd("PING")
    assert fourth.read_reply() == ("+", "PONG")
    fourth.cmd("INFO", "stats")
    _, info = fourth.read_reply()
    assert b"rejected_connections:1\r\n" in info
    for conn in (a, third, fourth):
        conn.close()


def test_idle_timeout(launch):
    port = free_port()
    p = launch("--timeout", "1", config=base_config(port), port=port)
    p.wait_tcp()
    idle, busy = raw_to(port), raw_to(port)
    for conn in (idle, busy):
        conn.cmd("PING")
        assert conn.read_reply() == ("+", "PONG")
    t0 = time.time()
    # The busy client keeps talking for 2.5 s and must stay connected.
    while time.time() - t0 < 2.5:
        busy.cmd("PING")
        assert busy.read_reply() == ("+", "PONG")
        time.sleep(0.2)
    assert idle.closed_by_peer(1.5)
    assert time.time() - t0 < 4.5
    busy.cmd("PING")
    assert busy.read_reply() == ("+", "PONG")
    idle.close()
    busy.close()


# --- redis-cli and redis-benchmark --------------------------------------------

def cli(port, *args, input=None):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                         capture_output=True, timeout=10, input=input)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def test_redis_cli(server, r):
    p = server.port
    assert cli(p, "set", "a", "b") == "OK\n"
    assert cli(p, "get", "a") == "b\n"
    assert cli(p, "--no-raw", "incr", "n") == "(integer) 1\n"
    assert cli(p, "--no-raw", "get", "missing") == "(nil)\n"
    assert cli(p, "--no-raw", "mget", "a", "missing") == '1) "b"\n2) (nil)\n'
    assert cli(p, "--no-raw", "incr", "a") == \
        "(error) ERR value is not an integer or out of range\n"
    assert cli(p, "ping") == "PONG\n"
    assert "redis_version:" in cli(p, "info", "server")
    # Commands on stdin, one per line.
    assert cli(p, input=b"set c d\nget c\n") == "OK\nd\n"
    # RESP3 through redis-cli.
    assert cli(p, "-3", "--no-raw", "get", "missing") == "(nil)\n"


def test_redis_cli_pipe_mass_insertion(server, r):
    n = 10000
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nmass:%d\r\n$1\r\nx\r\n" % (len(str(i)) + 5, i)
                    for i in range(n))
    out = cli(server.port, "--pipe", input=data)
    assert f"errors: 0, replies: {n}" in out
    assert r.dbsize() == n


def test_redis_benchmark(server_factory):
    s = server_factory()
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port),
                          "-t", "set,get,incr", "-n", "2000", "-q"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in re.split(r"[\r\n]", out.stdout) if "requests per second" in ln]
    assert sorted(ln.split(":")[0] for ln in lines) == ["GET", "INCR", "SET"], out.stdout
    c = s.client()
    assert c.dbsize() > 0
    assert int(c.get("counter:__rand_int__")) == 2000
    c.close()


# --- daemonize ----------------------------------------------------------------

def read_pidfile(path, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def test_daemonize(tmp_path):
    port = free_port()
    pidfile = str(tmp_path / "d.pid")
    logfile = str(tmp_path / "d.log")
    conf = tmp_path / "d.conf"
    conf.write_text(base_config(port) + f'daemonize yes\npidfile "{pidfile}"\n'
                    f'logfile "{logfile}"\ndir "{tmp_path}"\n')
    pid = None
    try:
        # The launching process returns at once, and the daemon lets go of
        # its stdout/stderr (a caller capturing them would hang otherwise).
        out = subprocess.run([binary(), str(conf)], capture_output=True, timeout=5)
        assert out.returncode == 0, out
        pid = read_pidfile(pidfile)
        assert pid
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        deadline = time.time() + 5
        while True:
            try:
                assert c.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        c.shutdown(nosave=True)
        deadline = time.time() + 5
        while os.path.exists(pidfile) and time.time() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(pidfile)
        # The pid file goes before the last log line (as in Redis): wait
        # for that line rather than read the log at once.
        deadline = time.time() + 10
        while True:
            with open(logfile) as f:
                log = f.read()
            if "bye bye" in log or time.time() > deadline:
                break
            time.sleep(0.05)
        assert "bye bye" in log
    finally:
        # Stop a daemon left running by a failure (and only that process).
        pid = pid or read_pidfile(pidfile, timeout=0.5)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(conf).encode() in f.read():
                    os.kill(pid, signal.SIGKILL)
        except (OSError, TypeError):
            pass
