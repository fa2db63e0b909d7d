"""MULTI, EXEC, DISCARD, WATCH and UNWATCH, checked against Redis's replies."""
import time

import pytest
import redis


def raw_tx(raw, *cmds):
    """Send MULTI, the commands and EXEC on a raw connection; return the
    replies to all of them."""
    c = raw()
    c.cmd("MULTI")
    for cmd in cmds:
        c.cmd(*cmd)
    c.cmd("EXEC")
    return [c.read_reply() for _ in range(len(cmds) + 2)]


def test_exec_runs_queued_commands_in_order(raw, r):
    replies = raw_tx(raw, ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"))
    assert replies[0] == ("+", "OK")
    assert replies[1:4] == [("+", "QUEUED")] * 3
    assert replies[4] == ("*", [("+", "OK"), (":", "2"), ("$", b"2")])


def test_runtime_error_does_not_abort_the_rest(raw, r):
    r.set("s", "x")
    replies = raw_tx(raw, ("INCR", "s"), ("SET", "b", "1"))
    assert replies[-1] == ("*", [("-", "ERR value is not an integer or out of range"),
                                 ("+", "OK")])
    assert r.get("b") == "1"


def test_unknown_command_aborts_the_transaction(raw, r):
    replies = raw_tx(raw, ("SET", "a", "1"), ("NOSUCHCMD",), ("GET", "a", "extra"))
    assert replies[2][0] == "-" and replies[2][1].startswith("ERR unknown command 'NOSUCHCMD'")
    assert replies[3] == ("-", "ERR wrong number of arguments for 'get' command")
    assert replies[4] == ("-", "EXECABORT Transaction discarded because of previous errors.")
    assert r.exists("a") == 0


def test_discard_and_misuse_errors(raw, r):
    c = raw()
    for cmd, want in [(("EXEC",), ("-", "ERR EXEC without MULTI")),
                      (("DISCARD",), ("-", "ERR DISCARD without MULTI")),
                      (("MULTI",), ("+", "OK")),
                      (("MULTI",), ("-", "ERR MULTI calls can not be nested")),
                      (("WATCH", "k"), ("-", "ERR WATCH inside MULTI is not allowed")),
                      (("SET", "a", "1"), ("+", "QUEUED")),
                      (("DISCARD",), ("+", "OK")),
                      (("GET", "a"), ("$", None))]:
        c.cmd(*cmd)
        assert c.read_reply() == want, cmd


def test_watch_fails_exec_when_key_changes(server, r):
    other = server.client()
    r.set("w", "1")
    with r.pipeline() as p:
        p.watch("w")
        other.set("w", "2")
        p.multi()
        p.set("w", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("w") == "2"


def test_watch_succeeds_when_untouched_and_unwatch_forgets(server, r):
    other = server.client()
    with r.pipeline() as p:
        p.watch("w")
        p.multi()
        p.set("w", "mine")
        assert p.execute() == [True]
    with r.pipeline() as p:
        p.watch("w")
        p.unwatch()
        other.set("w", "theirs")
        p.multi()
        p.set("w", "again")
        assert p.execute() == [True]


@pytest.mark.parametrize("touch", [
    lambda o: o.flushall(),
    lambda o: o.flushdb(),
    lambda o: o.delete("w"),
    lambda o: o.expire("w", 100),
    lambda o: o.rename("w", "w2"),
    lambda o: o.swapdb(0, 1),
])
def test_writes_that_touch_a_watched_key(server, r, touch):
    other = server.client()
    r.set("w", "1")
    with r.pipeline() as p:
        p.watch("w")
        touch(other)
        p.multi()
        p.get("w")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_move_into_a_watched_key_of_another_db(server, r):
    other = server.client()
    watcher = server.client(db=1)
    r.set("m", "1")
    with watcher.pipeline() as p:
        p.watch("m")
        other.move("m", 1)
        p.multi()
        p.get("m")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_blocking_command_inside_multi_does_not_block(raw, r):
    start = time.time()
    replies = raw_tx(raw, ("BLPOP", "empty", "0"), ("SET", "after", "1"))
    assert time.time() - start < 2
    assert replies[-1] == ("*", [("*", None), ("+", "OK")])


def test_exec_serves_blocked_clients_at_the_end(server, raw, r):
    waiter = raw()
    waiter.cmd("BLPOP", "q", "5")
    time.sleep(0.1)
    replies = raw_tx(raw, ("RPUSH", "q", "a"), ("RPUSH", "q", "b"))
    assert replies[-1] == ("*", [(":", "1"), (":", "2")])
    assert waiter.read_reply() == ("*", [("$", b"q"), ("$", b"a")])
    assert r.lrange("q", 0, -1) == ["b"]


def test_reset_discards_the_transaction(raw, r):
    c = raw()
    c.cmd("MULTI")
    c.cmd("SET", "x", "1")
    c.cmd("RESET")
    c.cmd("EXEC")
    assert [c.read_reply() for _ in range(4)] == [
        ("+", "OK"), ("+", "QUEUED"), ("+", "RESET"), ("-", "ERR EXEC without MULTI")]
    assert r.exists("x") == 0


def test_select_inside_multi(raw, r, server):
    replies = raw_tx(raw, ("SELECT", "2"), ("SET", "k", "in2"))
    assert replies[-1] == ("*", [("+", "OK"), ("+", "OK")])
    assert server.client(db=2).get("k") == "in2"
    assert r.exists("k") == 0


def test_exec_during_a_busy_script_aborts_the_transaction(server_factory):
    # EXEC refused with BUSY discards the transaction (EXECABORT) and the
    # client is out of MULTI, as Redis's execCommandAbort.
    import threading

    from conftest import RawConn
    s = server_factory("--busy-reply-threshold", "50")
    runner, other = s.client(), s.client()
    other.set("xx", 1)
    tx = RawConn(s)
    tx.cmd("MULTI")
    tx.cmd("INCR", "xx")
    assert [tx.read_reply(), tx.read_reply()] == [("+", "OK"), ("+", "QUEUED")]
    t = threading.Thread(target=lambda: pytest.raises(redis.ResponseError, runner.eval,
                                                      "while true do end", 0))
    t.start()
    deadline = time.time() + 10
    while True:
        tx.cmd("PING", "probe")
        reply = tx.read_reply()
        if reply[0] == "-":
            break
        assert time.time() < deadline, "the script never got busy"
        time.sleep(0.02)
    tx.cmd("EXEC")
    t_, msg = tx.read_reply()
    assert t_ == "-" and msg.startswith(
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script."), msg
    other.execute_command("SCRIPT", "KILL")
    t.join(10)
    assert not t.is_alive()
    tx.cmd("PING", "after")
    assert tx.read_reply() == ("$", b"after")  # not queued: out of MULTI
    assert other.get("xx") == "1"
    tx.close()


def test_unwatch_forgets_a_key_already_touched(raw):
    # UNWATCH after the watched key changed: the next transaction runs.
    c = raw()
    for cmd, want in [(("SET", "x", 30), ("+", "OK")), (("WATCH", "x"), ("+", "OK")),
                      (("SET", "x", 40), ("+", "OK")), (("UNWATCH",), ("+", "OK")),
                      (("MULTI",), ("+", "OK")), (("PING",), ("+", "QUEUED")),
                      (("EXEC",), ("*", [("+", "PONG")]))]:
        c.cmd(*cmd)
        assert c.read_reply() == want, cmd


def tx_ping(c):
    """MULTI, PING, EXEC on c: EXEC's reply."""
    for cmd in (("MULTI",), ("PING",), ("EXEC",)):
        c.cmd(*cmd)
    c.read_reply()
    c.read_reply()
    return c.read_reply()


def stale(c, key, db=None):
    """key set with a 1 ms TTL that has passed (active expiry is off)."""
    if db is not None:
        c.cmd("SELECT", db)
        c.read_reply()
    c.cmd("SET", key, "v", "PX", 1)
    c.read_reply()
    time.sleep(0.01)


@pytest.fixture
def noexpire(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    yield
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_watched_stale_keys_deleted_change_nothing(raw, noexpire):
    # Redis 7.0: a key already expired when WATCHed that is then deleted
    # (DEL, FLUSHDB, SWAPDB with nothing or another stale key) is no change.
    c = raw()
    for change in (("DEL", "x"), ("FLUSHDB",)):
        stale(c, "x")
        c.cmd("WATCH", "x")
        c.read_reply()
        c.cmd(*change)
        c.read_reply()
        assert tx_ping(c) == ("*", [("+", "PONG")]), change
    for setup in ((1,), (0, 1), (1, 0)):  # stale in db 1 / db 0 only / both
        c.cmd("FLUSHALL")
        c.read_reply()
        for db in setup:
            stale(c, "x", db)
        c.cmd("SELECT", 1)
        c.read_reply()
        c.cmd("WATCH", "x")
        c.read_reply()
        c.cmd("SWAPDB", 0, 1)
        c.read_reply()
        assert tx_ping(c) == ("*", [("+", "PONG")]), setup
    # A stale watched key written again does fail the EXEC.
    stale(c, "y")
    c.cmd("WATCH", "y")
    c.read_reply()
    c.cmd("SET", "y", "new")
    c.read_reply()
    assert tx_ping(c) == ("*", None)


def test_watched_key_that_expires_fails_exec(raw, noexpire):
    # Alive when WATCHed, expired at EXEC (nothing deleted it yet): fails.
    c = raw()
    c.cmd("SET", "k", "1", "PX", 50)
    c.read_reply()
    c.cmd("WATCH", "k")
    c.read_reply()
    time.sleep(0.1)
    assert tx_ping(c) == ("*", None)
