"""Blocked XREADGROUP and XREAD when their stream goes away or is replaced
by something else (Redis 7.0): a group read is told at once, with
`-UNBLOCKED the stream key no longer exists` when no stream is left under
the key and `-NOGROUP ...` when a stream without its group took its place;
a plain XREAD waits on for a stream to come back, or is served by the
stream that took its place.  Every way a key can go
is covered: DEL, UNLINK, FLUSHDB, FLUSHALL, RENAME, MOVE, SWAPDB, an
overwrite by SET, COPY and RESTORE, and an expiry.  A script may not
wait: XREAD and XREADGROUP with BLOCK are refused there."""
import pytest
import redis

from waiting import block, no_reply_yet

UNBLOCKED = ("-", "UNBLOCKED the stream key no longer exists")
NOGROUP = ("-", "NOGROUP the consumer group this client was blocked on no longer exists")


def list_payload(r):
    r.rpush("tmp", "x")
    p = r.dump("tmp")
    r.delete("tmp")
    return p


ACTIONS = {
    "del": lambda r: r.delete("s"),
    "unlink": lambda r: r.unlink("s"),
    "flushdb": lambda r: r.flushdb(),
    "flushall": lambda r: r.flushall(),
    "rename-away": lambda r: r.rename("s", "s2"),
    "rename-stream-onto": lambda r: (r.xadd("t", {"f": 1}, id="9-0"), r.rename("t", "s")),
    "move": lambda r: r.move("s", 1),
    "swapdb": lambda r: r.swapdb(0, 1),
    "set": lambda r: r.set("s", "x"),
    "copy-stream-onto": lambda r: (r.xadd("t", {"f": 1}, id="9-0"), r.copy("t", "s", replace=True)),
    "restore-list-onto": lambda r: r.restore("s", 0, list_payload(r), replace=True),
    "expire": lambda r: r.pexpireat("s", 1),
}

GROUP_WANT = {
    "rename-stream-onto": NOGROUP,
    "copy-stream-onto": NOGROUP,
}


@pytest.fixture
def clean(r):
    for db in (1, 0):
        r.execute_command("SELECT", db)
        r.flushdb()
    yield r
    r.execute_command("SELECT", 1)
    r.flushdb()
    r.execute_command("SELECT", 0)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_group_wait_ends_when_the_stream_goes(clean, raw, action):
    r = clean
    r.xgroup_create("s", "g", "$", mkstream=True)
    conn = block(r, raw, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    ACTIONS[action](r)
    assert conn.read_reply() == GROUP_WANT.get(action, UNBLOCKED)
    conn.cmd("PING")
    assert conn.read_reply() == ("+", "PONG")


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_plain_wait_goes_on_when_the_stream_goes(clean, raw, action):
    r = clean
    r.xadd("s", {"f": 1}, id="1-0")
    conn = block(r, raw, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    ACTIONS[action](r)
    if action in GROUP_WANT:
        # A stream took its place, with an entry past the one waited after.
        want = b"9-0"
    else:
        assert no_reply_yet(conn)
        r.delete("s")
        r.xadd("s", {"f": 2}, id="20-0")
        want = b"20-0"
    t, v = conn.read_reply()
    assert t == "*" and v[0][1][0] == ("$", b"s")
    assert v[0][1][1][1][0][1][0] == ("$", want)


@pytest.mark.parametrize("cmd", ["'XREAD','BLOCK',0,'STREAMS','s','$'",
                                 "'xreadgroup','GROUP','g','c','BLOCK',10,'STREAMS','s','>'"])
def test_no_script_may_wait(clean, cmd):
    r = clean
    r.xgroup_create("s", "g", "$", mkstream=True)
    name = cmd.split(",")[0].strip("'")
    msg = f"{name} command is not allowed with BLOCK option from scripts"
    with pytest.raises(redis.ResponseError, match=f"^{msg} script: "):
        r.eval(f"return redis.call({cmd})", 0)
    assert r.eval(f"return redis.pcall({cmd})['err']", 0) == "ERR " + msg
