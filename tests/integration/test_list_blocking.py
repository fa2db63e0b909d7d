"""The blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP.

Served at once when a key has elements; otherwise the client waits, FIFO
among the clients waiting on a key, until a push, LMOVE, RENAME, COPY or an
EXEC gives the key elements, the timeout (fractional seconds) passes, CLIENT
UNBLOCK ends the wait, or the client goes away.  Inside MULTI they never
wait.  Every test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Waiting clients are raw RESP connections: the command is sent, and the
reply read when the test expects it.  That a client is waiting is seen in
CLIENT LIST (its cmd= is the blocking command), from another connection."""
import time

import pytest
import redis

from waiting import block, no_reply_yet

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


# ---------------------------------------------------------------------------
# Served at once
# ---------------------------------------------------------------------------

def test_served_at_once(r):
    r.rpush("b", "1", "2", "3")
    assert r.blpop(["a", "b", "c"], 0) == ("b", "1")
    assert r.brpop(["a", "b"], 1) == ("b", "3")
    r.rpush("a", "x")
    # The first non-empty key in argument order.
    assert r.blpop(["nokey", "b", "a"], 0) == ("b", "2")
    assert r.exists("b") == 0
    assert r.brpoplpush("a", "d", 0) == "x"
    assert r.lrange("d", 0, -1) == ["x"]
    assert r.blmove("d", "e", 0, "RIGHT", "LEFT") == "x"
    assert r.exists("d") == 0
    r.rpush("m", *"abc")
    assert r.blmpop(0, 2, "nokey", "m", direction="RIGHT", count=2) == ["m", ["c", "b"]]


def test_wrongtype(r):
    r.set("s", "v")
    r.rpush("l", "a")
    assert err(r, "BLPOP", "s", "l", "0") == WRONGTYPE
    # A wrong type after the first non-empty list is never looked at.
    assert r.blpop(["l", "s"], 0) == ("l", "a")
    assert err(r, "BLMOVE", "s", "d", "LEFT", "LEFT", "0") == WRONGTYPE
    assert err(r, "BLMPOP", "0", "1", "s", "LEFT") == WRONGTYPE
    r.rpush("l", "a")
    assert err(r, "BRPOPLPUSH", "l", "s", "0") == WRONGTYPE
    assert r.lrange("l", 0, -1) == ["a"]


def test_timeout_errors(r):
    for args in (("BLPOP", "l"), ("BRPOP", "l"), ("BRPOPLPUSH", "l", "d"),
                 ("BLMOVE", "l", "d", "LEFT", "LEFT")):
        assert err(r, *args, "-1") == "timeout is negative"
        assert err(r, *args, "-0.5") == "timeout is negative"
        assert err(r, *args, "x") == "timeout is not a float or out of range"
        assert err(r, *args, "1x") == "timeout is not a float or out of range"
    assert err(r, "BLMPOP", "-1", "1", "l", "LEFT") == "timeout is negative"
    assert err(r, "BLMPOP", "x", "1", "l", "LEFT") == "timeout is not a float or out of range"
    # BLMPOP checks numkeys, the direction and COUNT before the timeout.
    assert err(r, "BLMPOP", "x", "0", "l", "LEFT") == "numkeys should be greater than 0"
    assert err(r, "BLMPOP", "x", "1", "l", "UP") == "syntax error"
    assert err(r, "BLMPOP", "x", "1", "l", "LEFT", "COUNT", "0") == \
        "count should be greater than 0"
    # BLMOVE checks its directions before the timeout.
    assert err(r, "BLMOVE", "l", "d", "UP", "LEFT", "x") == "syntax error"
    assert err(r, "BLPOP", "l") == "wrong number of arguments for 'blpop' command"


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["0.1", "0.05", ".1"])
def test_fractional_timeout(r, timeout):
    t0 = time.monotonic()
    assert r.blpop(["l"], float(timeout) if timeout[0] != "." else 0.1) is None
    assert r.execute_command("BLPOP", "l", timeout) is None
    elapsed = time.monotonic() - t0
    assert 0.09 <= elapsed < 3


def test_timeout_replies_are_null_arrays(r, raw):
    c = raw()
    for args in (("BLPOP", "a", "b"), ("BRPOP", "a"), ("BRPOPLPUSH", "a", "b"),
                 ("BLMOVE", "a", "b", "LEFT", "RIGHT")):
        c.cmd(*args, "0.01")
        assert c.read_reply() == ("*", None)
    c.cmd("BLMPOP", "0.01", "1", "a", "LEFT")
    assert c.read_reply() == ("*", None)
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("BLPOP", "a", "0.01")
    assert c.read_reply() == ("_", "")
    assert r.exists("a", "b") == 0


# ---------------------------------------------------------------------------
# Served after waiting
# ---------------------------------------------------------------------------

def test_served_by_push_from_another_client(r, raw):
    c = block(r, raw, "BRPOP", "k", "0")
    assert no_reply_yet(c)
    assert r.lpush("k", "x", "y") == 2
    assert c.read_reply() == ("*", [("$", b"k"), ("$", b"x")])
    assert r.lrange("k", 0, -1) == ["y"]


def test_fifo_among_three_clients(r, raw):
    c1 = block(r, raw, "BLPOP", "k", "0")
    c2 = block(r, raw, "BLPOP", "k", "0")
    c3 = block(r, raw, "BLPOP", "other", "k", "0")
    r.rpush("k", "a")
    assert c1.read_reply() == ("*", [("$", b"k"), ("$", b"a")])
    assert no_reply_yet(c2) and no_reply_yet(c3)
    assert r.exists("k") == 0
    # One push of two elements serves the next two in order.
    r.rpush("k", "b", "c")
    assert c2.read_reply() == ("*", [("$", b"k"), ("$", b"b")])
    assert c3.read_reply() == ("*", [("$", b"k"), ("$", b"c")])
    assert r.exists("k") == 0


def test_waiting_on_several_keys(r, raw):
    c = block(r, raw, "BLPOP", "a", "b", "c", "0")
    r.rpush("b", "x")
    assert c.read_reply() == ("*", [("$", b"b"), ("$", b"x")])
    c2 = block(r, raw, "BLMPOP", "0", "3", "a", "b", "c", "RIGHT", "COUNT", "2")
    r.rpush("c", "1", "2", "3")
    assert c2.read_reply() == ("*", [("$", b"c"), ("*", [("$", b"3"), ("$", b"2")])])
    assert r.lrange("c", 0, -1) == ["1"]


def test_served_by_rename_copy_and_lmove(r, raw):
    r.rpush("src", "1", "2", "3")
    c = block(r, raw, "BLPOP", "k", "0")
    r.rename("src", "k")
    assert c.read_reply() == ("*", [("$", b"k"), ("$", b"1")])
    c = block(r, raw, "BLPOP", "k2", "0")
    r.copy("k", "k2")
    assert c.read_reply() == ("*", [("$", b"k2"), ("$", b"2")])
    assert r.lrange("k", 0, -1) == ["2", "3"]
    c = block(r, raw, "BRPOP", "k3", "0")
    assert r.lmove("k", "k3", "LEFT", "RIGHT") == "2"
    assert c.read_reply() == ("*", [("$", b"k3"), ("$", b"2")])
    assert r.exists("k3") == 0
    c = block(r, raw, "BLPOP", "k4", "0")
    assert r.rpoplpush("k", "k4") == "3"
    assert c.read_reply() == ("*", [("$", b"k4"), ("$", b"3")])
    assert r.exists("k", "k4") == 0


def test_served_at_exec(r, raw):
    c = block(r, raw, "BLPOP", "k", "0")
    p = r.pipeline(transaction=True)
    p.rpush("k", "a", "b")
    p.lpop("k")
    p.execute()
    # The wait ends after EXEC, with what the transaction left.
    assert c.read_reply() == ("*", [("$", b"k"), ("$", b"b")])
    assert r.exists("k") == 0


def test_blmove_served_after_waiting(r, raw):
    c = block(r, raw, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
    r.rpush("dst", "old")
    assert no_reply_yet(c)
    r.rpush("src", "a", "b")
    assert c.read_reply() == ("$", b"b")
    assert r.lrange("dst", 0, -1) == ["b", "old"]
    assert r.lrange("src", 0, -1) == ["a"]
    c = block(r, raw, "BRPOPLPUSH", "s2", "d2", "0")
    r.rpush("s2", "x")
    assert c.read_reply() == ("$", b"x")
    assert r.exists("s2") == 0
    assert r.lrange("d2", 0, -1) == ["x"]


def test_blmove_chain_serves_next_waiter(r, raw):
    # A served BLMOVE pushes into its destination, which serves a client
    # waiting there.
    c1 = block(r, raw, "BLMOVE", "a", "b", "LEFT", "LEFT", "0")
    c2 = block(r, raw, "BLPOP", "b", "0")
    r.rpush("a", "x")
    assert c1.read_reply() == ("$", b"x")
    assert c2.read_reply() == ("*", [("$", b"b"), ("$", b"x")])
    assert r.exists("a", "b") == 0


def test_blmove_rotation_on_same_key(r, raw):
    c = block(r, raw, "BLMOVE", "k", "k", "LEFT", "RIGHT", "0")
    r.rpush("k", "a")
    assert c.read_reply() == ("$", b"a")
    assert r.lrange("k", 0, -1) == ["a"]


def test_blmove_wrongtype_destination_after_waiting(r, raw):
    c = block(r, raw, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    r.set("dst", "string")
    r.rpush("src", "a")
    t, msg = c.read_reply()
    assert t == "-" and msg == WRONGTYPE
    assert r.lrange("src", 0, -1) == ["a"]
    assert r.get("dst") == "string"


def test_key_of_another_type_keeps_waiting(r, raw):
    c = block(r, raw, "BLPOP", "k", "0")
    r.set("k", "v")
    r.delete("k")
    r.zadd("k", {"m": 1})
    assert no_reply_yet(c)
    r.delete("k")
    r.rpush("k", "x")
    assert c.read_reply() == ("*", [("$", b"k"), ("$", b"x")])


def test_next_waiter_keeps_waiting_when_emptied(r, raw):
    c1 = block(r, raw, "BLPOP", "k", "0")
    c2 = block(r, raw, "BLPOP", "k", "0.3")
    r.rpush("k", "a")
    assert c1.read_reply() == ("*", [("$", b"k"), ("$", b"a")])
    # c2 stays parked and then times out.
    assert c2.read_reply() == ("*", None)


def test_commands_after_a_blocked_one_wait_for_it(r, raw):
    c = raw()
    c.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")
    time.sleep(0.1)
    assert no_reply_yet(c)
    r.rpush("k", "v")
    assert c.read_reply() == ("*", [("$", b"k"), ("$", b"v")])
    assert c.read_reply() == ("+", "PONG")


# ---------------------------------------------------------------------------
# MULTI, disconnects, CLIENT UNBLOCK
# ---------------------------------------------------------------------------

def test_no_waiting_inside_multi(r, raw):
    c = raw()
    for args in (("MULTI",), ("BLPOP", "k", "0"), ("BRPOP", "k", "0"),
                 ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "k", "d", "0"),
                 ("BLMPOP", "0", "1", "k", "LEFT"), ("EXEC",)):
        c.cmd(*args)
    assert c.read_reply() == ("+", "OK")
    for _ in range(5):
        assert c.read_reply() == ("+", "QUEUED")
    # BLMOVE and BRPOPLPUSH answer a null bulk, the others a null array.
    assert c.read_reply() == ("*", [("*", None), ("*", None), ("$", None), ("$", None),
                                    ("*", None)])


def test_multi_with_data_pops(r):
    r.rpush("k", "a", "b")
    p = r.pipeline(transaction=True)
    p.blpop(["k"], 0)
    p.brpoplpush("k", "d", 0)
    assert p.execute() == [("k", "a"), "b"]


def test_disconnect_while_blocked(r, raw, server):
    c = block(r, raw, "BLPOP", "k", "0")
    c2 = block(r, raw, "BLPOP", "k", "0")
    c.close()
    # The server notices the closed connection; the push then goes to c2.
    deadline = time.time() + 5
    while any(int(x["id"]) == c.cid for x in r.client_list()) and time.time() < deadline:
        time.sleep(0.01)
    r.rpush("k", "a", "b")
    assert c2.read_reply() == ("*", [("$", b"k"), ("$", b"a")])
    assert r.lrange("k", 0, -1) == ["b"]
    # Nobody left waiting: the next push just stays.
    c3 = block(r, raw, "BLPOP", "j", "0")
    c3.close()
    time.sleep(0.05)
    assert r.rpush("j", "x") == 1
    assert r.lrange("j", 0, -1) == ["x"]
    assert server.alive()


def test_client_unblock(r, raw):
    c = block(r, raw, "BLPOP", "k", "0")
    assert r.client_unblock(c.cid) == 1
    assert c.read_reply() == ("*", None)
    c.cmd("PING")
    assert c.read_reply() == ("+", "PONG")
    c = block(r, raw, "BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    assert r.client_unblock(c.cid, error=True) == 1
    assert c.read_reply() == ("-", "UNBLOCKED client unblocked via CLIENT UNBLOCK")
    # Unblocked clients no longer wait on the key.
    r.rpush("k", "x")
    assert r.lrange("k", 0, -1) == ["x"]
    # A client that is not waiting.
    assert r.client_unblock(c.cid) == 0
    assert r.client_unblock(999999) == 0
    assert err(r, "CLIENT", "UNBLOCK", str(c.cid), "MAYBE") == \
        "CLIENT UNBLOCK reason should be TIMEOUT or ERROR"


def test_unblocked_client_keeps_fifo_of_others(r, raw):
    c1 = block(r, raw, "BLPOP", "k", "0")
    c2 = block(r, raw, "BLPOP", "k", "0")
    r.client_unblock(c1.cid)
    assert c1.read_reply() == ("*", None)
    r.rpush("k", "a")
    assert c2.read_reply() == ("*", [("$", b"k"), ("$", b"a")])


# ---------------------------------------------------------------------------
# The log records the pops that happened (DESIGN rule 4)
# ---------------------------------------------------------------------------

@pytest.mark.cairn_only
def test_served_pops_replay_after_restart(tmp_path):
    """A blocking pop is logged as the non-blocking pop it performed, so a
    restart replays the log to the same lists without blocking."""
    from conftest import RawConn
    from durable import DurableServer

    s = DurableServer(tmp_path / "data", "--appendonly", "yes", "--appendfsync", "always",
                      "--save", "").start()
    s.host = "127.0.0.1"
    conns = []
    try:
        r = s.client()

        def raw():
            c = RawConn(s)
            conns.append(c)
            return c

        c1 = block(r, raw, "BLPOP", "a", "b", "0")
        c2 = block(r, raw, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        c3 = block(r, raw, "BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "2")
        c4 = block(r, raw, "BRPOPLPUSH", "q", "out", "0")
        r.rpush("b", "1", "2", "3")
        r.rpush("src", "x", "y")
        r.lpush("m", "1", "2", "3")
        r.rpush("q", "z")
        assert c1.read_reply() == ("*", [("$", b"b"), ("$", b"1")])
        assert c2.read_reply() == ("$", b"x")
        assert c3.read_reply() == ("*", [("$", b"m"), ("*", [("$", b"1"), ("$", b"2")])])
        assert c4.read_reply() == ("$", b"z")
        # Served at once.
        assert r.blpop(["b"], 0) == ("b", "2")
        assert r.blmpop(0, 1, "b", direction="LEFT", count=5) == ["b", ["3"]]
        keys = ["a", "b", "src", "dst", "m", "q", "out"]
        before = {k: r.lrange(k, 0, -1) for k in keys}
        assert before == {"a": [], "b": [], "src": ["y"], "dst": ["x"], "m": ["3"],
                          "q": [], "out": ["z"]}
        r.close()
        s.kill9()
        s.start()
        r = s.client()
        assert {k: r.lrange(k, 0, -1) for k in keys} == before
        r.close()
    finally:
        for c in conns:
            c.close()
        s.stop()


# ---------------------------------------------------------------------------
# The idle timeout
# ---------------------------------------------------------------------------

def test_idle_timeout_spares_blocked_clients(server_factory):
    """A client waiting in BLPOP is not idle: `timeout 1` closes a silent
    client, but one blocked for 3 seconds gets its nil reply, as in Redis."""
    from conftest import RawConn

    s = server_factory("--timeout", "1")
    idle, waiter = RawConn(s), RawConn(s)
    try:
        idle.cmd("PING")
        assert idle.read_reply() == ("+", "PONG")
        start = time.time()
        waiter.cmd("BLPOP", "nokey", "3")
        assert waiter.read_reply() == ("*", None)
        assert time.time() - start >= 2.9
        # The timeout was in force all along: the silent client is gone.
        idle.sock.settimeout(3)
        assert idle.sock.recv(1) == b""
    finally:
        idle.close()
        waiter.close()
