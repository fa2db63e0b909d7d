"""MONITOR, in Redis 7.0's line format: every command a client runs, with
the time, the db and who ran it ("127.0.0.1:port", "lua" for a script's
commands, "unix:<path>" for the unix socket), after the command ran; a
transaction shows MULTI, its commands and EXEC; a script shows EVAL before
the commands it runs; admin commands are not shown.  Every test here holds
against Redis 7.0 too (CAIRN_TEST_SERVER=redis)."""
import os
import re
import shutil
import tempfile
import time

import pytest
import redis

from conftest import RawConn

LINE = re.compile(r'^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$')


@pytest.fixture
def own(server_factory):
    s = server_factory()
    r = s.client()
    mon = RawConn(s)
    mon.cmd("MONITOR")
    assert mon.read_line() == b"+OK"
    yield s, r, mon
    r.close()
    mon.close()


def next_line(mon):
    m = LINE.match(mon.read_line().decode())
    assert m, "not a monitor line"
    return int(m.group(1)), int(m.group(3)), m.group(4), m.group(5)


def test_line_format(own):
    _, r, mon = own
    before = time.time()
    r.set("greeting", "hello")
    secs, db, who, args = next_line(mon)
    assert before - 2 <= secs <= time.time() + 1
    assert db == 0
    assert who == r.client_info()["addr"]
    assert args == '"SET" "greeting" "hello"'


def test_quoting_and_db(own):
    _, r, mon = own
    r.select(3)
    next_line(mon)
    r.set("a b", 'c"d\n\x01')
    _, db, _, args = next_line(mon)
    assert db == 3
    assert args == r'"SET" "a b" "c\"d\n\x01"'


def test_admin_commands_hidden(own):
    _, r, mon = own
    r.config_get("maxmemory")
    r.execute_command("SLOWLOG", "LEN")
    r.ping()
    assert next_line(mon)[3] == '"PING"'


def test_transaction(own):
    _, r, mon = own
    p = r.pipeline(transaction=True)
    p.set("k", "v")
    p.get("k")
    p.execute()
    assert [next_line(mon)[3] for _ in range(4)] == \
        ['"MULTI"', '"SET" "k" "v"', '"GET" "k"', '"EXEC"']


def test_script(own):
    _, r, mon = own
    r.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", 1, "x", "1")
    _, _, who, args = next_line(mon)
    assert who == r.client_info()["addr"]
    assert args.startswith('"EVAL" "redis.call(')
    assert args.endswith('"1" "x" "1"')
    assert next_line(mon)[2:] == ("lua", '"set" "x" "1"')
    assert next_line(mon)[2:] == ("lua", '"get" "x"')


def test_monitor_sees_itself_and_reset_ends_it(own):
    _, r, mon = own
    mon.cmd("PING")
    assert mon.read_line() == b"+PONG"
    assert next_line(mon)[3] == '"PING"'
    mon.cmd("RESET")
    assert mon.read_line() == b"+RESET"
    r.set("after", "reset")
    mon.cmd("PING")
    assert mon.read_line() == b"+PONG"


def test_monitor_in_transaction_refused(own):
    _, r, _ = own
    p = r.pipeline(transaction=True)
    p.execute_command("MONITOR")
    [res] = p.execute(raise_on_error=False)
    assert isinstance(res, redis.ResponseError)
    assert str(res) == "MONITOR isn't allowed for DENY BLOCKING client"


def test_unix_socket_client(server_factory):
    d = tempfile.mkdtemp(prefix="cairn-mon-")
    try:
        path = os.path.join(d, "s.sock")
        s = server_factory("--unixsocket", path, "--unixsocketperm", "700")
        mon = RawConn(s)
        mon.cmd("MONITOR")
        assert mon.read_line() == b"+OK"
        deadline = time.time() + 5
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.02)
        u = redis.Redis(unix_socket_path=path, decode_responses=True, socket_timeout=5)
        u.execute_command("SET", "u", "1")
        _, _, who, args = next_line(mon)
        assert (who, args) == ("unix:" + path, '"SET" "u" "1"')
        u.close()
        mon.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


FUNCTIONS = """#!lua name=monlib
redis.register_function('setget', function(keys, args)
    redis.call('set', keys[1], args[1])
    return redis.call('get', keys[1])
end)
redis.register_function{function_name='peek', flags={'no-writes'},
    callback=function(keys) return redis.call('get', keys[1]) end}
"""


def test_function_call(own):
    """FCALL and FCALL_RO are shown with the caller's address before the
    commands their function runs, which are shown as `lua`."""
    _, r, mon = own
    addr = r.client_info()["addr"]
    assert next_line(mon)[3] == '"CLIENT" "INFO"'
    r.function_load(FUNCTIONS, replace=True)
    assert next_line(mon)[3].startswith('"FUNCTION" "LOAD" "REPLACE" "#!lua name=monlib')
    r.fcall("setget", 1, "fk", "fv")
    _, _, who, args = next_line(mon)
    assert (who, args) == (addr, '"FCALL" "setget" "1" "fk" "fv"')
    assert next_line(mon)[2:] == ("lua", '"set" "fk" "fv"')
    assert next_line(mon)[2:] == ("lua", '"get" "fk"')
    r.fcall_ro("peek", 1, "fk")
    _, _, who, args = next_line(mon)
    assert (who, args) == (addr, '"FCALL_RO" "peek" "1" "fk"')
    assert next_line(mon)[2:] == ("lua", '"get" "fk"')
