"""Configuration written for Redis: Debian's stock /etc/redis/redis.conf,
every parameter Redis 7.0 knows, and `include`.

The stock file is loaded as the redis-server package installs it, with the
paths it names (pid file, log file, data directory) moved to a temporary
directory by command-line flags, which apply after the file as in Redis.
Tests not marked cairn_only hold for redis-server too.
"""
import os
import socket
import subprocess
import time

import pytest
import redis

from conftest import TARGET, cairn_binary, free_port

STOCK_CONF = "/etc/redis/redis.conf"


class Proc:
    """A server started on a configuration file plus flags."""

    def __init__(self, tmp_path, conf, *flags, is_redis=None):
        self.is_redis = TARGET == "redis" if is_redis is None else is_redis
        self.port = free_port()
        self.dir = tmp_path
        binary = "redis-server" if self.is_redis else cairn_binary()
        self.logfile = tmp_path / "server.log"
        self.out = open(tmp_path / "stdout.log", "w")
        args = [binary, str(conf), "--port", str(self.port), "--daemonize", "no",
                "--pidfile", str(tmp_path / "server.pid"), "--logfile", str(self.logfile),
                "--dir", str(tmp_path), *flags]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)

    def wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5)
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("server did not start: " + self.output())

    def wait_exit(self):
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def output(self):
        self.out.flush()
        text = (self.dir / "stdout.log").read_text()
        if self.logfile.exists():
            text += self.logfile.read_text()
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


@pytest.fixture
def start(tmp_path):
    started = []

    def make(conf, *flags, **kw):
        p = Proc(tmp_path, conf, *flags, **kw)
        started.append(p)
        return p

    yield make
    for p in started:
        rc = p.stop()
        assert rc in (0, -15), f"server exited with {rc}"


def stock_directives():
    """The (name, value) lines of the stock file, as Redis splits them."""
    out = []
    with open(STOCK_CONF) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, value = line.partition(" ")
                out.append((name.lower(), value.strip().strip('"')))
    return out


needs_stock_conf = pytest.mark.skipif(not os.path.exists(STOCK_CONF),
                                      reason="redis-server's stock redis.conf is not installed")


@needs_stock_conf
def test_stock_redis_conf_loads(start):
    p = start(STOCK_CONF)
    c = p.wait_ready()
    try:
        assert c.ping()
        assert c.set("k", "v") and c.get("k") == "v"
        # Single-valued directives of the file show as the file sets them
        # (the flags moved port, daemonize, pidfile, logfile and dir).
        moved = {"port", "daemonize", "pidfile", "logfile", "dir"}
        for name, value in stock_directives():
            if name in moved or " " in value or name in ("save", "client-output-buffer-limit"):
                continue
            got = c.config_get(name)
            assert name in got, f"CONFIG GET {name} shows nothing"
            if value.endswith(("mb", "kb", "gb")):
                continue  # shown in bytes
            assert got[name] == value, f"{name}: {got[name]!r} != {value!r}"
        assert c.config_get("oom-score-adj-values") == {"oom-score-adj-values": "0 200 800"}
        assert c.config_get("bind") == {"bind": "127.0.0.1 -::1"}
    finally:
        c.close()


@pytest.mark.cairn_only
@needs_stock_conf
def test_stock_redis_conf_warns_once_per_ignored_directive(start):
    p = start(STOCK_CONF)
    p.wait_ready().close()
    log = p.output()
    assert "FATAL" not in log
    for name in ("lazyfree-lazy-eviction", "jemalloc-bg-thread", "replica-serve-stale-data"):
        lines = [ln for ln in log.splitlines() if f"'{name}'" in ln]
        assert len(lines) == 1, (name, lines)
        assert "accepted for compatibility" in lines[0]
    # Directives Cairn implements get no such warning.
    assert "'maxmemory-policy'" not in log and "'appendfsync'" not in log
    assert "'protected-mode'" not in log


@pytest.mark.cairn_only
def test_every_redis_parameter_is_known(start, tmp_path):
    """Each parameter redis-server lists in CONFIG GET * is one Cairn
    shows and lets CONFIG SET to Redis's default, where Redis does."""
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref = Proc(ref_dir, empty, "--save", "", is_redis=True)
    try:
        rc = ref.wait_ready()
        defaults = rc.config_get("*")
        rc.close()
    finally:
        ref.stop()
    p = start(empty, "--save", "")
    c = p.wait_ready()
    try:
        shown = c.config_get("*")
        missing = sorted(set(defaults) - set(shown))
        assert missing == []
        # Setting each to Redis's default: what the listener, the data
        # directory and the files depend on is left alone.
        skip = {"port", "bind", "dir", "unixsocket", "pidfile", "logfile", "save", "appendonly"}
        refused = []
        for name, value in sorted(defaults.items()):
            if name in skip:
                continue
            try:
                c.config_set(name, value)
            except redis.ResponseError as e:
                # Redis refuses immutable and (dbfilename) protected ones too.
                if "immutable" not in str(e) and "protected" not in str(e):
                    refused.append((name, value, str(e)))
        assert refused == []
    finally:
        c.close()


def test_include(start, tmp_path):
    confd = tmp_path / "conf.d"
    confd.mkdir()
    (confd / "a.conf").write_text("maxmemory-policy allkeys-lru\n")
    (confd / "b.conf").write_text("maxmemory 3mb\n")
    (tmp_path / "extra.conf").write_text("timeout 42\nhz 20\n")
    main = tmp_path / "main.conf"
    main.write_text(f"hz 15\ninclude {tmp_path / 'extra.conf'}\n"
                    f"include {confd}/*.conf\n"
                    f"include {tmp_path}/empty.d/*.conf\n"
                    "tcp-keepalive 11\n")
    c = start(main).wait_ready()
    try:
        got = c.config_get("*")
        assert got["timeout"] == "42"
        assert got["hz"] == "20"  # the included line came after the file's own
        assert got["maxmemory-policy"] == "allkeys-lru"
        assert got["maxmemory"] == str(3 * 1024 * 1024)
        assert got["tcp-keepalive"] == "11"
    finally:
        c.close()


def test_include_missing_file_is_fatal(start, tmp_path):
    main = tmp_path / "main.conf"
    missing = tmp_path / "missing.conf"
    main.write_text(f"include {missing}\n")
    p = Proc(tmp_path, main)
    try:
        assert p.wait_exit() not in (0, None)
        assert f"can't open config file '{missing}'" in p.output()
    finally:
        p.stop()


def test_include_error_names_the_included_line(start, tmp_path):
    (tmp_path / "bad.conf").write_text("hz 10\nnosuchdirective 1\n")
    main = tmp_path / "main.conf"
    main.write_text(f"include {tmp_path / 'bad.conf'}\n")
    p = Proc(tmp_path, main)
    try:
        assert p.wait_exit() not in (0, None)
        out = p.output()
        assert "at line 2" in out and ">>> 'nosuchdirective 1'" in out
        assert "Bad directive or wrong number of arguments" in out
    finally:
        p.stop()


@pytest.mark.cairn_only
def test_include_loop_is_refused(tmp_path):
    main = tmp_path / "main.conf"
    main.write_text(f"include {main}\n")
    p = Proc(tmp_path, main)
    try:
        assert p.wait_exit() not in (0, None)
        assert "nested more than" in p.output()
    finally:
        p.stop()


def test_config_set_of_an_ignored_parameter(start, tmp_path):
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    c = start(empty, "--save", "").wait_ready()
    try:
        assert c.config_set("lazyfree-lazy-user-del", "yes")
        assert c.config_get("lazyfree-lazy-user-del") == {"lazyfree-lazy-user-del": "yes"}
        assert c.config_set("slave-read-only", "no")
        assert c.config_get("replica-read-only") == {"replica-read-only": "no"}
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("lazyfree-lazy-user-del", "maybe")
        assert "argument must be 'yes' or 'no'" in str(e.value)
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("io-threads", "4")
        assert "can't set immutable config" in str(e.value)
    finally:
        c.close()
