"""Blocking XREAD and XREADGROUP: served like blocking pops, FIFO per key,
woken by XADD (also inside MULTI/EXEC, at EXEC), by XGROUP DESTROY and the
deletion of the key (Redis 7.0's errors), ended by the timeout (in ms) or
CLIENT UNBLOCK; inside MULTI they never wait.  Every test holds against
Redis 7.0 (CAIRN_TEST_SERVER=redis)."""
import time

from waiting import block, no_reply_yet

NULL_ARRAY = ("*", None)


def entries(*pairs):
    """[[id, [f, v]] ...] as a raw connection reads it."""
    return ("*", [("*", [("$", i.encode()), ("*", [("$", f.encode()), ("$", v.encode())])])
                  for i, f, v in pairs])


def served(key, *pairs):
    return ("*", [("*", [("$", key.encode()), entries(*pairs)])])


def test_xread_block_woken_by_xadd(r, raw):
    r.xadd("s", {"f": "old"}, id="1-0")
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert no_reply_yet(conn)
    r.xadd("other", {"f": "x"}, id="5-0")
    r.xadd("s", {"f": "new"}, id="2-0")
    assert conn.read_reply() == served("s", ("2-0", "f", "new"))


def test_xread_block_on_a_missing_key(r, raw):
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "nokey", "$")
    r.xadd("nokey", {"f": "v"}, id="3-0")
    assert conn.read_reply() == served("nokey", ("3-0", "f", "v"))


def test_xread_block_times_out(r, raw):
    conn = raw()
    start = time.time()
    conn.cmd("XREAD", "BLOCK", "100", "STREAMS", "s", "$")
    assert conn.read_reply() == NULL_ARRAY
    assert time.time() - start >= 0.09


def test_every_xread_waiter_is_served(r, raw):
    a = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    b = block(r, raw, "XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "0")
    r.xadd("s", {"f": "1"}, id="1-0")
    assert a.read_reply() == served("s", ("1-0", "f", "1"))
    assert b.read_reply() == served("s", ("1-0", "f", "1"))


def test_xreadgroup_waiters_are_served_in_order(r, raw):
    r.xgroup_create("s", "g", "$", mkstream=True)
    a = block(r, raw, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    b = block(r, raw, "XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    r.xadd("s", {"f": "1"}, id="1-0")
    assert a.read_reply() == served("s", ("1-0", "f", "1"))
    assert no_reply_yet(b)
    r.xadd("s", {"f": "2"}, id="2-0")
    assert b.read_reply() == served("s", ("2-0", "f", "2"))
    pending = r.xpending_range("s", "g", "-", "+", 10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [("1-0", "alice"), ("2-0", "bob")]


def test_xadd_in_multi_wakes_at_exec(r, raw):
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    p = r.pipeline(transaction=True)
    p.xadd("s", {"f": "1"}, id="1-0")
    p.xadd("s", {"f": "2"}, id="2-0")
    p.execute()
    assert conn.read_reply() == served("s", ("1-0", "f", "1"), ("2-0", "f", "2"))


def test_deleted_key_and_destroyed_group_end_group_waits(r, raw):
    r.xgroup_create("s", "g", "$", mkstream=True)
    conn = block(r, raw, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    r.delete("s")
    assert conn.read_reply() == ("-", "UNBLOCKED the stream key no longer exists")
    r.xgroup_create("s", "g", "$", mkstream=True)
    conn = block(r, raw, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    r.xgroup_destroy("s", "g")
    assert conn.read_reply() == (
        "-", "NOGROUP the consumer group this client was blocked on no longer exists")


def test_xread_waits_on_while_the_key_is_not_a_stream(r, raw):
    r.xadd("s", {"f": "1"}, id="1-0")
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    r.delete("s")
    r.lpush("s", "x")
    assert no_reply_yet(conn)
    r.delete("s")
    r.xadd("s", {"f": "2"}, id="2-0")
    assert conn.read_reply() == served("s", ("2-0", "f", "2"))


def test_no_wait_inside_multi(r, raw):
    conn = raw()
    conn.cmd("MULTI")
    conn.read_reply()
    conn.cmd("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    conn.read_reply()
    conn.cmd("EXEC")
    assert conn.read_reply() == ("*", [NULL_ARRAY])


def test_client_unblock(r, raw):
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert r.client_unblock(conn.cid) == 1
    assert conn.read_reply() == NULL_ARRAY
    conn = block(r, raw, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">") \
        if r.xgroup_create("s", "g", "$", mkstream=True) else None
    assert r.client_unblock(conn.cid, error=True) == 1
    assert conn.read_reply() == ("-", "UNBLOCKED client unblocked via CLIENT UNBLOCK")
