"""CONFIG GET/SET/RESETSTAT/REWRITE/HELP and the configuration file.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis),
except in tests marked cairn_only.
"""
import os
import socket
import subprocess
import time

import pytest
import redis

from conftest import TARGET, cairn_binary, free_port

# Parameters the tests change on the shared server; restored after each test.
MUTABLE = ["timeout", "tcp-keepalive", "hz", "loglevel", "maxmemory", "maxmemory-policy",
           "save", "proto-max-bulk-len", "client-query-buffer-limit", "active-expire-effort",
           "maxclients"]


@pytest.fixture
def c(r):
    """The r client, with the mutable parameters put back afterwards."""
    saved = r.config_get("*")
    yield r
    for name in MUTABLE:
        if r.config_get(name).get(name) != saved[name]:
            r.config_set(name, saved[name])


def config_get(client, *patterns):
    return client.execute_command("CONFIG GET", *patterns)


def error_of(client, *args):
    """The message of the error reply to args, as redis-py reports it
    (for -ERR replies without the "ERR " prefix)."""
    with pytest.raises(redis.ResponseError) as exc:
        client.execute_command(*args)
    return str(exc.value)


def set_failed(name, why):
    return f"CONFIG SET failed (possibly related to argument '{name}') - {why}"


# --- CONFIG GET ---------------------------------------------------------------

def test_get_single(c, server):
    assert config_get(c, "port") == {"port": str(server.port)}
    assert config_get(c, "bind") == {"bind": "127.0.0.1"}
    assert config_get(c, "dir") == {"dir": server.dir}


def test_get_defaults(c):
    want = {
        "databases": "16",
        "tcp-backlog": "511",
        "timeout": "0",
        "tcp-keepalive": "300",
        "daemonize": "no",
        "loglevel": "notice",
        "proto-max-bulk-len": "536870912",
        "client-query-buffer-limit": "1073741824",
        "hz": "10",
        "active-expire-effort": "1",
        "appendonly": "no",
        "maxmemory": "0",
        "maxmemory-policy": "noeviction",
        "unixsocket": "",
        "unixsocketperm": "0",
        "logfile": "",
    }
    assert config_get(c, *want) == want


def test_get_unknown_is_empty(c):
    assert config_get(c, "no-such-parameter") == {}
    assert config_get(c, "no-such-*") == {}


def test_get_patterns(c):
    got = config_get(c, "*max*")
    for name in ("maxclients", "maxmemory", "maxmemory-policy", "proto-max-bulk-len"):
        assert name in got
    assert all("max" in name for name in got)
    assert set(config_get(c, "p?rt")) == {"port"}
    assert set(config_get(c, "tcp-*")) == {"tcp-backlog", "tcp-keepalive"}
    assert set(config_get(c, "[pq]ort")) == {"port"}
    # Patterns are case-insensitive.
    assert set(config_get(c, "TCP-*")) == {"tcp-backlog", "tcp-keepalive"}


def test_get_star_lists_everything(c):
    everything = config_get(c, "*")
    for name in ("databases", "port", "bind", "unixsocket", "unixsocketperm", "tcp-backlog",
                 "maxclients", "timeout", "tcp-keepalive", "daemonize", "pidfile", "loglevel",
                 "logfile", "proto-max-bulk-len", "client-query-buffer-limit", "hz",
                 "active-expire-effort", "dir", "save", "appendonly", "maxmemory",
                 "maxmemory-policy"):
        assert name in everything


def test_get_several_patterns_no_duplicates(c, raw):
    got = config_get(c, "timeout", "hz", "timeout", "h?", "tcp-keepalive")
    assert got == {"timeout": "0", "hz": "10", "tcp-keepalive": "300"}
    # On the wire each parameter appears once.
    conn = raw()
    conn.cmd("CONFIG", "GET", "timeout", "TIMEOUT", "time*", "hz")
    t, items = conn.read_reply()
    assert t == "*" and len(items) == 4
    names = sorted(items[i][1].lower() for i in range(0, 4, 2))
    assert names == [b"hz", b"timeout"]


def test_get_exact_name_echoes_its_case(raw):
    conn = raw()
    conn.cmd("CONFIG", "GET", "TimeOut")
    assert conn.read_reply() == ("*", [("$", b"TimeOut"), ("$", b"0")])


def test_get_resp3_map(raw):
    conn = raw()
    conn.cmd("HELLO", "3")
    conn.read_reply()
    conn.cmd("CONFIG", "GET", "tcp-keepalive")
    assert conn.read_reply() == ("%", [(("$", b"tcp-keepalive"), ("$", b"300"))])
    conn.cmd("CONFIG", "GET", "nothing-matches-this")
    assert conn.read_reply() == ("%", [])


def test_get_arity(c):
    assert error_of(c, "CONFIG", "GET") == \
        "wrong number of arguments for 'config|get' command"


# --- CONFIG SET ---------------------------------------------------------------

def test_set_and_get(c):
    assert c.config_set("timeout", "100") is True
    assert config_get(c, "timeout") == {"timeout": "100"}
    assert c.config_set("tcp-keepalive", 60) is True
    assert config_get(c, "tcp-keepalive") == {"tcp-keepalive": "60"}
    assert c.config_set("active-expire-effort", 10) is True
    assert config_get(c, "active-expire-effort") == {"active-expire-effort": "10"}


def test_set_name_is_case_insensitive(c):
    assert c.execute_command("CONFIG", "SET", "TIMEOUT", "7") == "OK"
    assert config_get(c, "timeout") == {"timeout": "7"}


def test_set_several_at_once(c):
    assert c.execute_command("CONFIG", "SET", "timeout", "5", "tcp-keepalive", "61",
                             "loglevel", "verbose") == "OK"
    assert config_get(c, "timeout", "tcp-keepalive", "loglevel") == \
        {"timeout": "5", "tcp-keepalive": "61", "loglevel": "verbose"}


def test_set_is_all_or_nothing(c):
    assert error_of(c, "CONFIG", "SET", "timeout", "5", "hz", "abc") == \
        set_failed("hz", "argument couldn't be parsed into an integer")
    assert error_of(c, "CONFIG", "SET", "timeout", "5", "loglevel", "loud", "hz", "20") == \
        set_failed("loglevel", "argument(s) must be one of the following: debug, verbose, "
                               "notice, warning")
    assert config_get(c, "timeout", "hz", "loglevel") == \
        {"timeout": "0", "hz": "10", "loglevel": "notice"}


def test_set_unknown(c):
    assert error_of(c, "CONFIG", "SET", "foo", "bar") == \
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    assert error_of(c, "CONFIG", "SET", "timeout", "5", "foo", "1") == \
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    assert config_get(c, "timeout") == {"timeout": "0"}


def test_set_first_error_wins(c):
    assert error_of(c, "CONFIG", "SET", "foo", "1", "databases", "3") == \
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    assert error_of(c, "CONFIG", "SET", "databases", "3", "foo", "1") == \
        set_failed("databases", "can't set immutable config")


@pytest.mark.parametrize("name,value", [
    ("databases", "3"), ("daemonize", "yes"), ("tcp-backlog", "100"), ("logfile", "x.log"),
    ("pidfile", "x.pid"), ("unixsocket", "/tmp/x.sock"), ("unixsocketperm", "700")])
def test_set_immutable(c, name, value):
    before = config_get(c, name)
    assert error_of(c, "CONFIG", "SET", name, value) == \
        set_failed(name, "can't set immutable config")
    assert config_get(c, name) == before


def test_set_duplicate(c):
    assert error_of(c, "CONFIG", "SET", "hz", "10", "hz", "11") == \
        set_failed("hz", "duplicate parameter")
    assert error_of(c, "CONFIG", "SET", "hz", "12", "HZ", "11") == \
        set_failed("HZ", "duplicate parameter")
    assert config_get(c, "hz") == {"hz": "10"}


def test_set_arity_and_syntax(c):
    assert error_of(c, "CONFIG", "SET", "hz") == \
        "wrong number of arguments for 'config|set' command"
    assert error_of(c, "CONFIG", "SET") == \
        "wrong number of arguments for 'config|set' command"
    assert error_of(c, "CONFIG", "SET", "hz", "20", "timeout") == "syntax error"
    assert config_get(c, "hz") == {"hz": "10"}


@pytest.mark.parametrize("name,value,why", [
    ("hz", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("hz", "1.5", "argument couldn't be parsed into an integer"),
    ("timeout", "+5", "argument couldn't be parsed into an integer"),
    ("timeout", " 5", "argument couldn't be parsed into an integer"),
    ("timeout", "", "argument couldn't be parsed into an integer"),
    ("timeout", "99999999999", "argument must be between 0 and 2147483647 inclusive"),
    ("tcp-keepalive", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("active-expire-effort", "0", "argument must be between 1 and 10 inclusive"),
    ("active-expire-effort", "11", "argument must be between 1 and 10 inclusive"),
    ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
    ("port", "65536", "argument must be between 0 and 65535 inclusive"),
    ("proto-max-bulk-len", "1", "argument must be between 1048576 and 9223372036854775807 "
                                "inclusive"),
    ("client-query-buffer-limit", "1000", "argument must be between 1048576 and "
                                          "9223372036854775807 inclusive"),
    ("maxmemory", "1.5gb", "argument must be a memory value"),
    ("maxmemory", "-1", "argument must be a memory value"),
    ("maxmemory", "10tb", "argument must be a memory value"),
    ("maxmemory", " 1", "argument must be a memory value"),
    ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
    ("appendonly", "1", "argument must be 'yes' or 'no'"),
    ("loglevel", "loud", "argument(s) must be one of the following: debug, verbose, notice, "
                         "warning"),
    ("maxmemory-policy", "lru", "argument(s) must be one of the following: volatile-lru, "
                                "volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, "
                                "allkeys-lfu, allkeys-random, noeviction"),
    ("save", "100", "Invalid save parameters"),
    ("save", "0 10", "Invalid save parameters"),
    ("save", "100 -1", "Invalid save parameters"),
    ("save", "100 x", "Invalid save parameters"),
])
def test_set_invalid_values(c, name, value, why):
    before = config_get(c, name)
    assert error_of(c, "CONFIG", "SET", name, value) == set_failed(name, why)
    assert config_get(c, name) == before


@pytest.mark.parametrize("value,shown", [
    ("1gb", "1073741824"), ("1GB", "1073741824"), ("1g", "1000000000"), ("512mb", "536870912"),
    ("2m", "2000000"), ("100k", "100000"), ("1kb", "1024"), ("123", "123"), ("7b", "7"),
    ("", "0"), ("0", "0")])
def test_set_memory_units(c, value, shown):
    assert c.config_set("maxmemory", value) is True
    assert config_get(c, "maxmemory") == {"maxmemory": shown}
    c.config_set("maxmemory", "0")


def test_set_memory_units_other_params(c):
    c.config_set("proto-max-bulk-len", "64mb")
    assert config_get(c, "proto-max-bulk-len") == {"proto-max-bulk-len": "67108864"}
    c.config_set("client-query-buffer-limit", "2gb")
    assert config_get(c, "client-query-buffer-limit") == \
        {"client-query-buffer-limit": "2147483648"}


def test_set_hz_is_capped(c):
    c.config_set("hz", 1000)
    assert config_get(c, "hz") == {"hz": "500"}
    c.config_set("hz", 0)
    assert config_get(c, "hz") == {"hz": "1"}
    c.config_set("hz", 100)
    assert config_get(c, "hz") == {"hz": "100"}


def test_set_enums_case_insensitive(c):
    c.config_set("loglevel", "WARNING")
    assert config_get(c, "loglevel") == {"loglevel": "warning"}
    c.config_set("loglevel", "Debug")
    assert config_get(c, "loglevel") == {"loglevel": "debug"}
    c.config_set("maxmemory-policy", "ALLKEYS-LRU")
    assert config_get(c, "maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    c.config_set("maxmemory-policy", "volatile-ttl")
    assert config_get(c, "maxmemory-policy") == {"maxmemory-policy": "volatile-ttl"}


def test_set_bool_case_insensitive(c):
    # appendonly stays "no" so that Redis starts no rewrite.
    assert c.config_set("appendonly", "NO") is True
    assert config_get(c, "appendonly") == {"appendonly": "no"}


def test_set_save(c):
    c.config_set("save", "100 10")
    assert config_get(c, "save") == {"save": "100 10"}
    c.config_set("save", "900 1 300 10 60 10000")
    assert config_get(c, "save") == {"save": "900 1 300 10 60 10000"}
    c.config_set("save", "")
    assert config_get(c, "save") == {"save": ""}


def test_set_maxclients(c):
    c.config_set("maxclients", 500)
    assert config_get(c, "maxclients") == {"maxclients": "500"}


def test_set_timeout_closes_idle_clients(server_factory):
    # A dedicated server: every idle client of it is closed, the one that
    # set the timeout included.
    s = server_factory()
    idle = s.client()
    try:
        assert idle.ping()
        s.client().config_set("timeout", 1)
        sock = idle.connection_pool.get_connection("PING")._sock
        sock.settimeout(5)
        # Redis checks idle clients from its cron, so allow a few seconds.
        start = time.time()
        data = sock.recv(1)
        assert data == b""
        assert time.time() - start < 5
    finally:
        idle.close()


def test_set_port_moves_listener(server_factory):
    s = server_factory()
    client = s.client()
    new_port = free_port()
    assert client.config_set("port", new_port) is True
    moved = redis.Redis(host=s.host, port=new_port, decode_responses=True, socket_timeout=5)
    try:
        assert moved.ping() is True
        assert config_get(moved, "port") == {"port": str(new_port)}
    finally:
        moved.close()
        client.close()
    s.port = new_port  # so that the fixture's checks use the right port


def test_set_port_in_use_fails_and_keeps_old(server_factory):
    s = server_factory()
    client = s.client()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        assert error_of(client, "CONFIG", "SET", "port", busy, "timeout", "9") == \
            set_failed("port", "Unable to listen on this port. Check server logs.")
        assert config_get(client, "port", "timeout") == {"port": str(s.port), "timeout": "0"}
        # Still serving on the old port.
        fresh = s.client()
        assert fresh.ping() is True
        fresh.close()
    finally:
        blocker.close()
        client.close()


@pytest.mark.cairn_only
def test_set_dir(c, server, tmp_path):
    # Redis 7 refuses this (dir is a protected config); Cairn allows it.
    try:
        assert c.config_set("dir", str(tmp_path)) is True
        assert config_get(c, "dir") == {"dir": str(tmp_path)}
        assert error_of(c, "CONFIG", "SET", "dir", str(tmp_path / "missing")) == \
            set_failed("dir", "No such file or directory")
        assert config_get(c, "dir") == {"dir": str(tmp_path)}
    finally:
        c.config_set("dir", server.dir)


# --- RESETSTAT / REWRITE / HELP / unknown -------------------------------------

def test_resetstat(c):
    for _ in range(20):
        c.ping()
    assert c.config_resetstat() is True
    stats = c.info("stats")
    assert stats["total_commands_processed"] <= 2
    assert c.execute_command("CONFIG", "RESETSTAT") == "OK"
    assert error_of(c, "CONFIG", "RESETSTAT", "x") == \
        "wrong number of arguments for 'config|resetstat' command"


def test_rewrite_without_file(c):
    assert error_of(c, "CONFIG", "REWRITE") == "The server is running without a config file"


def test_help(c):
    lines = c.execute_command("CONFIG", "HELP")
    assert lines == [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ]


def test_help_is_status_lines(raw):
    conn = raw()
    conn.cmd("CONFIG", "HELP")
    t, items = conn.read_reply()
    assert t == "*" and items[0][0] == "+" and items[-1] == ("+", "    Prints this help.")


def test_unknown_subcommand(c):
    assert error_of(c, "CONFIG", "FOO") == "unknown subcommand 'FOO'. Try CONFIG HELP."
    assert error_of(c, "CONFIG", "foo", "bar") == "unknown subcommand 'foo'. Try CONFIG HELP."
    assert error_of(c, "CONFIG") == "wrong number of arguments for 'config' command"


# --- The configuration file ---------------------------------------------------

class ConfServer:
    """A server started as `binary <file>`, the file first as both require."""

    def __init__(self, tmp_path, text):
        self.port = free_port()
        self.conf = tmp_path / "test.conf"
        self.conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {tmp_path}\n" + text)
        self._start()

    @classmethod
    def from_file(cls, conf, port):
        """A server started again on an existing file that sets port."""
        s = cls.__new__(cls)
        s.conf, s.port = conf, port
        s._start()
        return s

    def _start(self):
        binary = "redis-server" if TARGET == "redis" else cairn_binary()
        self.logfile = self.conf.parent / "out.log"
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen([binary, str(self.conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
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
        self.log.flush()
        return self.logfile.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def conf_server(tmp_path):
    started = []

    def make(text):
        s = ConfServer(tmp_path, text)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def test_config_file(conf_server):
    s = conf_server(
        "# a comment\n"
        "\n"
        "   timeout 123   \n"
        "tcp-keepalive \"77\"\n"
        "maxmemory 2mb\n"
        "proto-max-bulk-len 2gb\n"
        "client-query-buffer-limit 64MB\n"
        "LOGLEVEL WARNING\n"
        "save 900 1\n"
        "save \"300 10\"\n"
        "maxmemory-policy 'allkeys-lru'\n"
        "databases 4\n"
        "active-expire-effort 3\n"
        "\t# an indented comment\n"
        "appendonly no\n")
    client = s.wait_ready()
    try:
        assert config_get(client, "timeout", "tcp-keepalive", "maxmemory", "proto-max-bulk-len",
                          "client-query-buffer-limit", "loglevel", "save", "maxmemory-policy",
                          "databases", "active-expire-effort", "appendonly") == {
            "timeout": "123",
            "tcp-keepalive": "77",
            "maxmemory": "2097152",
            "proto-max-bulk-len": "2147483648",
            "client-query-buffer-limit": "67108864",
            "loglevel": "warning",
            "save": "900 1 300 10",
            "maxmemory-policy": "allkeys-lru",
            "databases": "4",
            "active-expire-effort": "3",
            "appendonly": "no",
        }
        assert client.execute_command("SELECT", 3) is True
        assert error_of(client, "SELECT", 4) == "DB index is out of range"
    finally:
        client.close()


def test_config_file_save_empty(conf_server):
    s = conf_server("save \"\"\n")
    client = s.wait_ready()
    try:
        assert config_get(client, "save") == {"save": ""}
    finally:
        client.close()


def test_config_file_bind_quoted(conf_server):
    s = conf_server("bind \"127.0.0.1\"\n")
    client = s.wait_ready()
    try:
        assert config_get(client, "bind") == {"bind": "127.0.0.1"}
    finally:
        client.close()


@pytest.mark.parametrize("line,why", [
    ("nosuchdirective 1", "Bad directive or wrong number of arguments"),
    ("timeout 1 2", "wrong number of arguments"),
    ("timeout \"1", "Unbalanced quotes in configuration line"),
    ("timeout 'x'y", "Unbalanced quotes in configuration line"),
    ("timeout abc", "argument couldn't be parsed into an integer"),
    ("port 70000", "argument must be between 0 and 65535 inclusive"),
    ("maxmemory 1.5gb", "argument must be a memory value"),
    ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, "
                      "warning"),
    ("save 0 1", "Invalid save parameters"),
])
def test_config_file_errors(conf_server, line, why):
    s = conf_server("# line 4\n" + line + "\n")
    assert s.wait_exit() not in (0, None)
    out = s.output()
    assert "FATAL CONFIG FILE ERROR" in out
    assert "Reading the configuration file, at line 5" in out
    assert f">>> '{line}'" in out
    assert why in out


def test_config_file_missing(tmp_path):
    binary = "redis-server" if TARGET == "redis" else cairn_binary()
    missing = os.path.join(str(tmp_path), "missing.conf")
    proc = subprocess.run([binary, missing], capture_output=True, text=True, timeout=10)
    assert proc.returncode != 0
    assert f"Fatal error, can't open config file '{missing}'" in proc.stdout + proc.stderr


# --- CONFIG REWRITE -----------------------------------------------------------

SIGNATURE = "# Generated by CONFIG REWRITE"


def conf_lines(s):
    return s.conf.read_text().split("\n")


def config_after_restart(s, *names):
    """Stop s, start a server again on its file, and CONFIG GET names."""
    s.stop()
    s2 = ConfServer.from_file(s.conf, s.port)
    try:
        with s2.wait_ready() as client:
            return config_get(client, *names)
    finally:
        s2.stop()


def test_rewrite_updates_in_place_and_appends(conf_server):
    s = conf_server(
        "# a comment\n"
        "   # an indented comment\n"
        "maxmemory 1mb\n"
        "hash-max-ziplist-entries 100\n"
        "save 900 1\n"
        "save 300 10\n"
        "appendonly no\n")
    before = conf_lines(s)
    client = s.wait_ready()
    try:
        assert client.config_set("maxmemory", "2mb") is True
        assert client.config_set("hz", "20") is True
        assert client.config_set("maxmemory-policy", "allkeys-lru") is True
        assert client.config_set("save", "100 2 50 3 10 1") is True
        assert client.config_rewrite() == "OK"
        lines = conf_lines(s)
        # The head of the file, its comments and unchanged values stay where
        # they were; changed values are rewritten in their own line; an
        # alias becomes the parameter's name.
        assert lines[:2] == before[:2]  # port, bind
        assert lines[2] == f'dir "{s.conf.parent}"'  # strings are written quoted
        assert lines[3] == "# a comment"
        assert lines[4] == "# an indented comment"
        assert lines[5] == "maxmemory 2mb"
        assert lines[6] == "hash-max-listpack-entries 100"
        assert lines[7:9] == ["save 100 2", "save 50 3"]
        assert lines[9] == "appendonly no"
        # What had no line is appended once, after the signature.
        assert lines.count(SIGNATURE) == 1
        tail = lines[lines.index(SIGNATURE) + 1:]
        for line in ("hz 20", "maxmemory-policy allkeys-lru", "save 10 1"):
            assert line in tail
        # Defaults that had no line are not written.
        assert not any(line.startswith("timeout") for line in lines)

        # A second rewrite reuses the appended lines and the signature, and
        # keeps a line it does not know as a comment.
        with open(s.conf, "a") as f:
            f.write("no-such-directive 1\n")
        assert client.config_set("hz", "30") is True
        assert client.config_rewrite() == "OK"
        lines = conf_lines(s)
        assert lines.count(SIGNATURE) == 1
        assert "hz 30" in lines and "hz 20" not in lines
        assert "# ??? no-such-directive 1" in lines
    finally:
        client.close()
    # The rewritten file starts a server with the values it was written with.
    assert config_after_restart(s, "maxmemory", "hz", "maxmemory-policy", "save",
                                "hash-max-listpack-entries") == {
        "maxmemory": "2097152", "hz": "30", "maxmemory-policy": "allkeys-lru",
        "save": "100 2 50 3 10 1", "hash-max-listpack-entries": "100"}


def test_rewrite_quotes_strings(conf_server):
    # (Redis refuses CONFIG SET dbfilename: it is set in the file.)
    s = conf_server("dbfilename 'we ird\"\tname.rdb'\nappendonly no\n")
    client = s.wait_ready()
    try:
        assert client.config_rewrite() == "OK"
        assert 'dbfilename "we ird\\"\\tname.rdb"' in conf_lines(s)
    finally:
        client.close()
    assert config_after_restart(s, "dbfilename") == {"dbfilename": 'we ird"\tname.rdb'}


def test_rewrite_replaces_the_file_atomically(conf_server):
    s = conf_server("appendonly no\n")
    client = s.wait_ready()
    try:
        assert client.config_set("hz", "25") is True
        assert client.config_rewrite() == "OK"
        assert "hz 25" in conf_lines(s)
        # Written beside the file and renamed over it: nothing else is left.
        assert sorted(p.name for p in s.conf.parent.iterdir()
                      if p.name.startswith("test.conf")) == ["test.conf"]

        # A rename that cannot happen leaves the old file (here a directory
        # in its place) and no temporary file, and says why.
        s.conf.unlink()
        s.conf.mkdir()
        assert error_of(client, "CONFIG", "REWRITE") == \
            "Rewriting config file: Is a directory"
        assert sorted(p.name for p in s.conf.parent.iterdir()
                      if p.name.startswith("test.conf")) == ["test.conf"]
        assert s.conf.is_dir()
    finally:
        client.close()


@pytest.mark.cairn_only
def test_rewrite_keeps_the_file_mode(conf_server):
    # Redis writes 0644 less the umask; Cairn keeps the mode the file had.
    s = conf_server("appendonly no\n")
    os.chmod(s.conf, 0o640)
    client = s.wait_ready()
    try:
        assert client.config_set("hz", "25") is True
        assert client.config_rewrite() == "OK"
        assert os.stat(s.conf).st_mode & 0o777 == 0o640
    finally:
        client.close()
