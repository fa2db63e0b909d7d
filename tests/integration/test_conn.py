"""Connection and database commands: PING, ECHO, QUIT, HELLO, RESET, SELECT,
SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis),
except where a test says otherwise.
"""
import time

import pytest
import redis


def error_of(client, *args):
    """The message of the error reply to args, as redis-py reports it
    (for -ERR replies without the "ERR " prefix)."""
    with pytest.raises(redis.ResponseError) as exc:
        client.execute_command(*args)
    return str(exc.value)


def as_dict(pairs):
    """A RESP3 map from RawConn.read_reply() as {name: (type, value)}."""
    return {k[1].decode(): v for k, v in pairs}


# --- PING / ECHO --------------------------------------------------------------

def test_ping(r, raw):
    assert r.ping() is True
    # redis-py turns any PING reply into a bool: look at the bytes.
    c = raw()
    c.cmd("PING", "hello world")
    assert c.read_reply() == ("$", b"hello world")
    c.cmd("PING", "")
    assert c.read_reply() == ("$", b"")


def test_ping_arity(r):
    assert error_of(r, "PING", "a", "b") == "wrong number of arguments for 'ping' command"


def test_ping_raw_replies(raw):
    c = raw()
    c.cmd("PING")
    assert c.read_reply() == ("+", "PONG")
    c.cmd("PING", "msg")
    assert c.read_reply() == ("$", b"msg")
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("PING")
    assert c.read_reply() == ("+", "PONG")
    c.cmd("PING", "msg")
    assert c.read_reply() == ("$", b"msg")


def test_echo(r, rb):
    assert r.echo("hello") == "hello"
    assert rb.echo(b"\x00\xff\r\nbin") == b"\x00\xff\r\nbin"
    assert r.echo("") == ""
    assert error_of(r, "ECHO") == "wrong number of arguments for 'echo' command"
    assert error_of(r, "ECHO", "a", "b") == "wrong number of arguments for 'echo' command"


# --- QUIT ---------------------------------------------------------------------

def test_quit_closes_after_reply(raw):
    c = raw()
    c.cmd("QUIT")
    assert c.read_reply() == ("+", "OK")
    assert c.closed_by_peer()


def test_quit_ignores_extra_arguments(raw):
    c = raw()
    c.cmd("QUIT", "now", "please")
    assert c.read_reply() == ("+", "OK")
    assert c.closed_by_peer()


def test_quit_pipelined_commands_after_it_are_not_run(raw, r):
    c = raw()
    c.send(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n"
           b"*3\r\n$3\r\nSET\r\n$7\r\nquitkey\r\n$1\r\n1\r\n")
    assert c.read_reply() == ("+", "PONG")
    assert c.read_reply() == ("+", "OK")
    assert c.closed_by_peer()
    assert r.exists("quitkey") == 0


# --- HELLO --------------------------------------------------------------------

def test_hello_resp3_map(raw, server):
    c = raw()
    c.cmd("HELLO", "3")
    t, pairs = c.read_reply()
    assert t == "%"
    assert [k[1] for k, _ in pairs] == [b"server", b"version", b"proto", b"id", b"mode",
                                         b"role", b"modules"]
    m = as_dict(pairs)
    assert m["server"] == ("$", b"redis" if server.is_redis else b"cairn")
    assert m["version"][0] == "$" and m["version"][1].startswith(b"7.0.")
    assert m["proto"] == (":", "3")
    assert m["id"][0] == ":" and int(m["id"][1]) > 0
    assert m["mode"] == ("$", b"standalone")
    assert m["role"] == ("$", b"master")
    assert m["modules"] == ("*", [])
    # The connection now speaks RESP3: a null is "_".
    c.cmd("GET", "no-such-key-hello")
    assert c.read_reply() == ("_", "")


def test_hello_resp2_array(raw):
    c = raw()
    c.cmd("HELLO", "2")
    t, items = c.read_reply()
    assert t == "*" and len(items) == 14
    assert items[4] == ("$", b"proto")
    assert items[5] == (":", "2")
    c.cmd("GET", "no-such-key-hello")
    assert c.read_reply() == ("$", None)


def test_hello_without_version_keeps_protocol(raw):
    c = raw()
    c.cmd("HELLO")
    t, items = c.read_reply()
    assert t == "*" and items[5] == (":", "2")
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("HELLO")
    t, pairs = c.read_reply()
    assert t == "%" and as_dict(pairs)["proto"] == (":", "3")
    # And back to RESP2.
    c.cmd("HELLO", "2")
    t, items = c.read_reply()
    assert t == "*" and items[5] == (":", "2")


def test_hello_ids_are_distinct(raw):
    a, b = raw(), raw()
    ids = []
    for c in (a, b):
        c.cmd("HELLO", "3")
        ids.append(as_dict(c.read_reply()[1])["id"])
    assert ids[0] != ids[1]


@pytest.mark.parametrize("ver", ["0", "1", "4", "-3", "300"])
def test_hello_unsupported_version(raw, ver):
    c = raw()
    c.cmd("HELLO", ver)
    assert c.read_reply() == ("-", "NOPROTO unsupported protocol version")


@pytest.mark.parametrize("ver", ["abc", "3.0", "", "99999999999999999999"])
def test_hello_version_not_integer(raw, ver):
    c = raw()
    c.cmd("HELLO", ver)
    assert c.read_reply() == ("-", "ERR Protocol version is not an integer or out of range")


def test_hello_option_errors(raw):
    c = raw()
    for args, bad in [(("3", "AUTH", "default"), "AUTH"),
                      (("3", "auth"), "auth"),
                      (("3", "SETNAME"), "SETNAME"),
                      (("2", "foo"), "foo"),
                      (("3", "SETNAME", "x", "extra"), "extra")]:
        c.cmd("HELLO", *args)
        assert c.read_reply() == ("-", f"ERR Syntax error in HELLO option '{bad}'")
    # None of the failures switched the protocol.
    c.cmd("GET", "no-such-key-hello")
    assert c.read_reply() == ("$", None)


def test_hello_auth(raw):
    c = raw()
    # Without requirepass the default user has nopass: any password works.
    c.cmd("HELLO", "3", "AUTH", "default", "whatever")
    t, pairs = c.read_reply()
    assert t == "%" and as_dict(pairs)["proto"] == (":", "3")
    c.cmd("HELLO", "2", "AUTH", "nosuchuser", "pw")
    assert c.read_reply() == ("-", "WRONGPASS invalid username-password pair or user is "
                                   "disabled.")
    # The failed HELLO did not switch to RESP2.
    c.cmd("GET", "no-such-key-hello")
    assert c.read_reply() == ("_", "")


def test_hello_setname(raw):
    c = raw()
    c.cmd("HELLO", "3", "SETNAME", "conn-name")
    assert c.read_reply()[0] == "%"
    c.cmd("CLIENT", "GETNAME")
    assert c.read_reply() == ("$", b"conn-name")
    c.cmd("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "other")
    assert c.read_reply()[0] == "%"
    c.cmd("CLIENT", "GETNAME")
    assert c.read_reply() == ("$", b"other")
    # An empty name clears it.
    c.cmd("HELLO", "3", "SETNAME", "")
    assert c.read_reply()[0] == "%"
    c.cmd("CLIENT", "GETNAME")
    assert c.read_reply() == ("_", "")


def test_hello_setname_invalid(raw):
    c = raw()
    c.cmd("HELLO", "3", "SETNAME", "a b")
    assert c.read_reply() == ("-", "ERR Client names cannot contain spaces, newlines or "
                                   "special characters.")
    # Nothing changed: still RESP2.
    c.cmd("GET", "no-such-key-hello")
    assert c.read_reply() == ("$", None)


# --- RESET --------------------------------------------------------------------

def test_reset(raw, r):
    r.execute_command("SELECT", 3)
    r.set("in-db3", "v")
    r.execute_command("SELECT", 0)
    c = raw()
    c.cmd("HELLO", "3", "SETNAME", "before-reset")
    c.read_reply()
    c.cmd("SELECT", "3")
    assert c.read_reply() == ("+", "OK")
    c.cmd("RESET")
    assert c.read_reply() == ("+", "RESET")
    # Back to RESP2, db 0, no name.
    c.cmd("GET", "in-db3")
    assert c.read_reply() == ("$", None)
    c.cmd("CLIENT", "GETNAME")
    assert c.read_reply() == ("$", None)
    c.cmd("HELLO")
    t, items = c.read_reply()
    assert t == "*" and items[5] == (":", "2")


def test_reset_arity(r):
    assert error_of(r, "RESET", "x") == "wrong number of arguments for 'reset' command"


# --- SELECT -------------------------------------------------------------------

def test_select_isolates_databases(r):
    r.set("k", "db0")
    assert r.execute_command("SELECT", 1) is True
    assert r.get("k") is None
    r.set("k", "db1")
    assert r.execute_command("SELECT", 15) is True
    assert r.get("k") is None
    assert r.execute_command("SELECT", 0) is True
    assert r.get("k") == "db0"
    r.execute_command("SELECT", 1)
    assert r.get("k") == "db1"
    r.execute_command("SELECT", 0)


@pytest.mark.parametrize("arg", ["16", "-1", "2147483647", "-2147483648"])
def test_select_out_of_range(r, arg):
    assert error_of(r, "SELECT", arg) == "DB index is out of range"


@pytest.mark.parametrize("arg", ["abc", "1.0", "+1", " 1", "01", "", "99999999999999999999"])
def test_select_not_integer(r, arg):
    assert error_of(r, "SELECT", arg) == "value is not an integer or out of range"


def test_select_beyond_int(r):
    assert error_of(r, "SELECT", "99999999999") == \
        "value is out of range, value must between -2147483648 and 2147483647"


def test_select_arity(r):
    assert error_of(r, "SELECT") == "wrong number of arguments for 'select' command"
    assert error_of(r, "SELECT", 1, 2) == "wrong number of arguments for 'select' command"


# --- SWAPDB -------------------------------------------------------------------

def test_swapdb(r):
    r.set("a", "in0")
    r.set("withttl", "x", ex=1000)
    r.execute_command("SELECT", 1)
    r.set("b", "in1")
    assert r.swapdb(0, 1) is True
    # This connection is still on db 1, which now holds db 0's keys.
    assert r.get("a") == "in0"
    assert r.get("b") is None
    assert 990 <= r.ttl("withttl") <= 1000
    assert r.dbsize() == 2
    r.execute_command("SELECT", 0)
    assert r.get("b") == "in1"
    assert r.get("a") is None
    assert r.dbsize() == 1


def test_swapdb_seen_by_other_connections(server, r):
    other = server.client()
    try:
        other.execute_command("SELECT", 5)
        r.set("mine", "1")
        r.swapdb(0, 5)
        assert other.get("mine") == "1"
        assert r.get("mine") is None
    finally:
        other.close()


def test_swapdb_same_db(r):
    r.set("k", "v")
    assert r.swapdb(3, 3) is True
    assert r.swapdb(0, 0) is True
    assert r.get("k") == "v"


def test_swapdb_errors(r):
    assert error_of(r, "SWAPDB", "a", "1") == "invalid first DB index"
    assert error_of(r, "SWAPDB", "1", "b") == "invalid second DB index"
    assert error_of(r, "SWAPDB", "a", "b") == "invalid first DB index"
    assert error_of(r, "SWAPDB", "99999999999", "0") == "invalid first DB index"
    assert error_of(r, "SWAPDB", "0", "16") == "DB index is out of range"
    assert error_of(r, "SWAPDB", "-1", "0") == "DB index is out of range"
    assert error_of(r, "SWAPDB", "0") == "wrong number of arguments for 'swapdb' command"


# --- DBSIZE / FLUSHDB / FLUSHALL ----------------------------------------------

def test_dbsize(r):
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.dbsize() == 3
    r.delete("a")
    assert r.dbsize() == 2
    r.execute_command("SELECT", 2)
    assert r.dbsize() == 0
    r.execute_command("SELECT", 0)
    assert error_of(r, "DBSIZE", "x") == "wrong number of arguments for 'dbsize' command"


def test_flushdb_only_current_db(r):
    r.set("a", 1)
    r.execute_command("SELECT", 1)
    r.set("b", 1)
    assert r.flushdb() is True
    assert r.dbsize() == 0
    r.execute_command("SELECT", 0)
    assert r.get("a") == "1"


@pytest.mark.parametrize("mode", ["SYNC", "ASYNC", "sync", "async"])
def test_flush_modes(r, mode):
    r.set("a", 1)
    assert r.execute_command("FLUSHDB", mode) is True
    assert r.dbsize() == 0
    r.set("a", 1)
    assert r.execute_command("FLUSHALL", mode) is True
    assert r.dbsize() == 0


def test_flush_syntax_errors(r):
    r.set("a", 1)
    for cmd in ("FLUSHDB", "FLUSHALL"):
        assert error_of(r, cmd, "foo") == "syntax error"
        assert error_of(r, cmd, "SYNC", "ASYNC") == "syntax error"
        assert error_of(r, cmd, "ASYNC", "ASYNC") == "syntax error"
    assert r.get("a") == "1"


def test_flushall_all_dbs(r):
    for db in (0, 1, 15):
        r.execute_command("SELECT", db)
        r.set("k", db)
        r.set("t", db, px=100000)
    r.execute_command("SELECT", 0)
    assert r.flushall() is True
    for db in (0, 1, 15):
        r.execute_command("SELECT", db)
        assert r.dbsize() == 0
        assert r.get("k") is None
    r.execute_command("SELECT", 0)


def test_flushdb_empty_db(r):
    assert r.flushdb() is True
    assert r.flushall() is True


# --- TIME ---------------------------------------------------------------------

def test_time(r, raw):
    before = time.time()
    secs, usecs = r.time()
    after = time.time()
    assert 0 <= usecs < 1000000
    t = secs + usecs / 1e6
    assert before - 1 <= t <= after + 1
    c = raw()
    c.cmd("TIME")
    t, items = c.read_reply()
    assert t == "*" and len(items) == 2
    assert all(kind == "$" and v.isdigit() for kind, v in items)
    assert error_of(r, "TIME", "x") == "wrong number of arguments for 'time' command"


def test_time_advances(r):
    a = r.time()
    time.sleep(0.02)
    b = r.time()
    assert b > a
