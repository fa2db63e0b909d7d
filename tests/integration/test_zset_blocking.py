"""The blocking sorted-set pops: BZPOPMIN, BZPOPMAX and BZMPOP.

Served at once when a key has members; otherwise the client waits, FIFO
among the clients waiting on a key, until a write gives the key members
(ZADD, ZINCRBY, ZUNIONSTORE, ZRANGESTORE, RENAME, COPY, or at the end of a
MULTI/EXEC), the timeout (fractional seconds) passes, CLIENT UNBLOCK ends
the wait, or the client goes away.  Inside MULTI they never wait.  Every
test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

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


def popped(key, member, score):
    """The reply of a served BZPOPMIN/BZPOPMAX, as a raw connection reads it."""
    return ("*", [("$", key.encode()), ("$", member.encode()), ("$", score.encode())])


def mpopped(key, *pairs):
    """The reply of a served BZMPOP."""
    return ("*", [("$", key.encode()),
                  ("*", [("*", [("$", m.encode()), ("$", s.encode())]) for m, s in pairs])])


NULL_ARRAY = ("*", None)


# ---------------------------------------------------------------------------
# Served at once
# ---------------------------------------------------------------------------

def test_served_at_once(r):
    r.zadd("b", {"x": 1, "y": 2, "z": 3})
    assert r.bzpopmin(["a", "b", "c"], 0) == ("b", "x", 1)
    assert r.bzpopmax(["a", "b"], 1) == ("b", "z", 3)
    r.zadd("a", {"w": 5})
    # The first non-empty key in argument order.
    assert r.bzpopmin(["nokey", "b", "a"], 0) == ("b", "y", 2)
    assert r.exists("b") == 0
    r.zadd("m", {"p": 1, "q": 2, "s": 3})
    assert r.execute_command("BZMPOP", "0", "2", "nokey", "m", "MAX", "COUNT", "2") == \
        ["m", [["s", "3"], ["q", "2"]]]
    assert r.execute_command("BZMPOP", "0", "1", "m", "MIN") == ["m", [["p", "1"]]]
    assert r.exists("m") == 0


def test_wrongtype(r):
    r.set("s", "v")
    r.zadd("z", {"a": 1})
    assert err(r, "BZPOPMIN", "s", "z", "0") == WRONGTYPE
    assert err(r, "BZPOPMAX", "nokey", "s", "0") == WRONGTYPE
    # A wrong type after the first non-empty sorted set is never looked at.
    assert r.bzpopmin(["z", "s"], 0) == ("z", "a", 1)
    assert err(r, "BZMPOP", "0", "2", "nokey", "s", "MIN") == WRONGTYPE


def test_argument_errors(r):
    for cmd in ("BZPOPMIN", "BZPOPMAX"):
        assert err(r, cmd, "z", "-1") == "timeout is negative"
        assert err(r, cmd, "z", "-0.5") == "timeout is negative"
        assert err(r, cmd, "z", "x") == "timeout is not a float or out of range"
        assert err(r, cmd, "z", "1x") == "timeout is not a float or out of range"
        assert err(r, cmd, "z") == f"wrong number of arguments for '{cmd.lower()}' command"
    assert err(r, "BZMPOP", "-1", "1", "z", "MIN") == "timeout is negative"
    assert err(r, "BZMPOP", "x", "1", "z", "MIN") == "timeout is not a float or out of range"
    # BZMPOP checks numkeys, MIN|MAX and COUNT before the timeout.
    assert err(r, "BZMPOP", "x", "0", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "BZMPOP", "x", "1", "z", "UP") == "syntax error"
    assert err(r, "BZMPOP", "x", "2", "z", "MIN") == "syntax error"
    assert err(r, "BZMPOP", "x", "1", "z", "MIN", "COUNT", "0") == \
        "count should be greater than 0"
    assert err(r, "BZMPOP", "0", "1", "z", "MIN", "COUNT", "1", "X") == "syntax error"
    assert err(r, "BZMPOP", "0", "1", "z") == "wrong number of arguments for 'bzmpop' command"


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["0.2", "0.05", ".1"])
def test_fractional_timeout(r, timeout):
    start = time.time()
    assert r.bzpopmin(["nokey"], float(timeout)) is None
    elapsed = time.time() - start
    assert float(timeout) - 0.01 <= elapsed < float(timeout) + 1.0


def test_timeout_replies_are_null_arrays(r, raw):
    c = raw()
    c.cmd("BZPOPMIN", "nokey", "0.05")
    assert c.read_reply() == NULL_ARRAY
    c.cmd("BZPOPMAX", "a", "b", "0.05")
    assert c.read_reply() == NULL_ARRAY
    c.cmd("BZMPOP", "0.05", "1", "nokey", "MIN")
    assert c.read_reply() == NULL_ARRAY
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("BZPOPMIN", "nokey", "0.05")
    assert c.read_reply() == ("_", "")
    c.cmd("BZMPOP", "0.05", "1", "nokey", "MAX")
    assert c.read_reply() == ("_", "")


# ---------------------------------------------------------------------------
# Served after waiting
# ---------------------------------------------------------------------------

def test_served_by_zadd_from_another_client(r, raw):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    assert no_reply_yet(c)
    r.zadd("k", {"b": 2, "a": 1, "c": 3})
    assert c.read_reply() == popped("k", "a", "1")
    assert r.zrange("k", 0, -1) == ["b", "c"]
    c = block(r, raw, "BZPOPMAX", "k2", "0")
    r.zadd("k2", {"b": 2.5, "a": 1})
    assert c.read_reply() == popped("k2", "b", "2.5")


def test_bzmpop_served_after_waiting(r, raw):
    c = block(r, raw, "BZMPOP", "0", "2", "k1", "k2", "MIN", "COUNT", "2")
    r.zadd("k2", {"a": 1, "b": 2, "c": 3})
    assert c.read_reply() == mpopped("k2", ("a", "1"), ("b", "2"))
    assert r.zrange("k2", 0, -1) == ["c"]
    c = block(r, raw, "BZMPOP", "0", "1", "k3", "MAX", "COUNT", "10")
    r.zadd("k3", {"x": 1, "y": 2})
    assert c.read_reply() == mpopped("k3", ("y", "2"), ("x", "1"))
    assert r.exists("k3") == 0


def test_fifo_among_three_clients(r, raw):
    waiters = [block(r, raw, "BZPOPMIN", "k", "0") for _ in range(3)]
    r.zadd("k", {"a": 1, "b": 2})
    assert waiters[0].read_reply() == popped("k", "a", "1")
    assert waiters[1].read_reply() == popped("k", "b", "2")
    assert no_reply_yet(waiters[2])
    r.zadd("k", {"c": 3})
    assert waiters[2].read_reply() == popped("k", "c", "3")
    assert r.exists("k") == 0


def test_waiting_on_several_keys(r, raw):
    c = block(r, raw, "BZPOPMAX", "k1", "k2", "k3", "0")
    r.zadd("k3", {"z": 1})
    assert c.read_reply() == popped("k3", "z", "1")
    # The same key named twice is served once.
    c = block(r, raw, "BZPOPMIN", "k1", "k1", "0")
    r.zadd("k1", {"a": 1, "b": 2})
    assert c.read_reply() == popped("k1", "a", "1")
    assert r.zcard("k1") == 1


def test_served_by_other_writes(r, raw):
    r.zadd("src", {"a": 1, "b": 2})
    for cmd in (("ZINCRBY", "k", "5", "m"), ("ZUNIONSTORE", "k", "1", "src"),
                ("ZRANGESTORE", "k", "src", "0", "0"), ("COPY", "src", "k"),
                ("ZADD", "k", "INCR", "7", "m")):
        c = block(r, raw, "BZPOPMIN", "k", "0")
        r.execute_command(*cmd)
        t, items = c.read_reply()
        assert t == "*" and items[0] == ("$", b"k"), cmd
        r.delete("k")
    c = block(r, raw, "BZPOPMAX", "k", "0")
    r.rename("src", "k")
    assert c.read_reply() == popped("k", "b", "2")


def test_served_at_exec(r, raw):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    p = r.pipeline(transaction=True)
    p.zadd("k", {"a": 1, "b": 2})
    p.zrem("k", "a")
    p.execute()
    # Served once the transaction is over, with what is there then.
    assert c.read_reply() == popped("k", "b", "2")
    assert r.exists("k") == 0


def test_next_waiter_keeps_waiting_when_emptied(r, raw):
    a = block(r, raw, "BZMPOP", "0", "1", "k", "MIN", "COUNT", "5")
    b = block(r, raw, "BZPOPMIN", "k", "0")
    r.zadd("k", {"x": 1, "y": 2})
    assert a.read_reply() == mpopped("k", ("x", "1"), ("y", "2"))
    assert no_reply_yet(b)
    r.zadd("k", {"z": 3})
    assert b.read_reply() == popped("k", "z", "3")


def test_key_of_another_type_keeps_waiting(r, raw):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    r.set("k", "string")
    assert no_reply_yet(c)
    r.delete("k")
    r.rpush("k", "x")
    assert no_reply_yet(c)
    r.delete("k")
    r.zadd("k", {"a": 1})
    assert c.read_reply() == popped("k", "a", "1")


def test_commands_after_a_blocked_one_wait_for_it(r, raw):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    c.cmd("PING")
    assert no_reply_yet(c)
    r.zadd("k", {"a": 1})
    assert c.read_reply() == popped("k", "a", "1")
    assert c.read_reply() == ("+", "PONG")


def test_no_waiting_inside_multi(r, raw):
    c = raw()
    c.cmd("MULTI")
    assert c.read_reply() == ("+", "OK")
    c.cmd("BZPOPMIN", "nokey", "0")
    assert c.read_reply() == ("+", "QUEUED")
    c.cmd("BZMPOP", "0", "1", "nokey", "MAX")
    assert c.read_reply() == ("+", "QUEUED")
    c.cmd("EXEC")
    assert c.read_reply() == ("*", [NULL_ARRAY, NULL_ARRAY])


def test_multi_with_data_pops(r):
    r.zadd("k", {"a": 1, "b": 2})
    p = r.pipeline(transaction=True)
    p.bzpopmax("k", 0)
    p.bzpopmax("k", 0)
    p.bzpopmax("k", 0)
    assert p.execute() == [("k", "b", 2), ("k", "a", 1), None]


def test_disconnect_while_blocked(r, raw, server):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    c.close()
    deadline = time.time() + 5
    while time.time() < deadline and any(x["cmd"] == "bzpopmin" for x in r.client_list()):
        time.sleep(0.01)
    # Nobody is served: the member stays.
    r.zadd("k", {"a": 1})
    assert r.zrange("k", 0, -1) == ["a"]
    # A waiter behind the one that left is still served.
    d = block(r, raw, "BZPOPMAX", "k2", "0")
    e = block(r, raw, "BZPOPMAX", "k2", "0")
    d.close()
    time.sleep(0.05)
    r.zadd("k2", {"x": 1})
    assert e.read_reply() == popped("k2", "x", "1")
    assert server.alive()


def test_client_unblock(r, raw):
    c = block(r, raw, "BZPOPMIN", "k", "0")
    assert r.client_unblock(c.cid) == 1
    assert c.read_reply() == NULL_ARRAY
    c = block(r, raw, "BZMPOP", "0", "1", "k", "MIN")
    assert r.client_unblock(c.cid, error=True) == 1
    t, msg = c.read_reply()
    assert t == "-" and msg == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert r.client_unblock(c.cid) == 0


def test_timeout_while_others_served(r, raw):
    short = block(r, raw, "BZPOPMIN", "k", "0.2")
    long = block(r, raw, "BZPOPMIN", "k", "0")
    assert short.read_reply() == NULL_ARRAY
    r.zadd("k", {"a": 1})
    assert long.read_reply() == popped("k", "a", "1")
