"""CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, as Redis 7.0: a
pause holds the commands of every client (ALL) or those that write or may
replicate (WRITE), which then run once it ends, by its timeout or UNPAUSE.
Every test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Each test runs on a server of its own, so a pause holds only its clients."""
import threading
import time

import pytest
import redis


def fails(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def timed(fn):
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def test_write_pause_holds_writes_only(own):
    s, r = own
    other = s.client()
    assert r.execute_command("CLIENT", "PAUSE", 500, "WRITE") in (True, "OK")
    other.get("k")  # a read runs at once
    (_, took) = timed(lambda: other.get("k"))
    assert took < 0.3
    (res, took) = timed(lambda: other.set("k", "v"))
    assert res is True and took >= 0.3
    assert other.get("k") == "v"
    other.close()


def test_may_replicate_commands_held(own):
    s, r = own
    other = s.client()
    r.execute_command("CLIENT", "PAUSE", 400, "WRITE")
    (_, took) = timed(lambda: other.publish("ch", "m"))
    assert took >= 0.25
    r.execute_command("CLIENT", "PAUSE", 400, "WRITE")
    (_, took) = timed(lambda: other.eval("return 1", 0))
    assert took >= 0.25
    other.close()


def test_all_pause_holds_reads(own):
    s, r = own
    other = s.client()
    r.execute_command("CLIENT", "PAUSE", 400)
    (_, took) = timed(lambda: other.get("k"))
    assert took >= 0.25
    other.close()


def test_unpause_releases_held_commands(own):
    s, r = own
    other = s.client()
    r.execute_command("CLIENT", "PAUSE", 100000, "WRITE")
    done = {}

    def write():
        done["res"] = other.set("k", "v")
        done["at"] = time.monotonic()

    t = threading.Thread(target=write)
    t.start()
    time.sleep(0.3)
    assert "res" not in done and r.get("k") is None
    released = time.monotonic()
    assert r.execute_command("CLIENT", "UNPAUSE") in (True, "OK")
    t.join(5)
    assert done["res"] is True and done["at"] - released < 2
    assert r.get("k") == "v"
    other.close()


def test_pipelined_commands_keep_their_order(own):
    s, r = own
    other = s.client()
    r.execute_command("CLIENT", "PAUSE", 300, "WRITE")
    p = other.pipeline(transaction=False)
    p.get("k")
    p.set("k", "1")
    p.incr("k")
    p.get("k")
    assert p.execute() == [None, True, 2, "2"]
    other.close()


def test_errors(own):
    _, r = own
    assert fails(r, "CLIENT", "PAUSE", "abc") == "timeout is not an integer or out of range"
    assert fails(r, "CLIENT", "PAUSE", "-1") == "timeout is negative"
    assert fails(r, "CLIENT", "PAUSE", "10", "READ") == "CLIENT PAUSE mode must be WRITE or ALL"
    assert fails(r, "CLIENT", "PAUSE") == "wrong number of arguments for 'client|pause' command"


def test_held_client_listed_as_blocked_on_its_command(own):
    """CLIENT LIST shows a client held by the pause with flag b and the
    command it waits to run, and INFO counts it in blocked_clients, as
    Redis (which blocks it)."""
    s, r = own
    other = s.client()
    other.client_setname("held")
    r.execute_command("CLIENT", "PAUSE", 100000, "WRITE")
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("res", other.set("k", "v")))
    t.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            [held] = [c for c in r.client_list() if c["name"] == "held"]
            if held["cmd"] == "set" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (held["flags"], held["cmd"]) == ("b", "set")
        assert r.info("clients")["blocked_clients"] == 1
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
        t.join(10)
    assert done["res"] is True
    [after] = [c for c in r.client_list() if c["name"] == "held"]
    assert after["flags"] == "N"
    assert r.info("clients")["blocked_clients"] == 0
    other.close()


def test_no_key_expires_while_paused(own):
    """During a pause a read finds an expired key missing but deletes
    nothing (expired_keys stays); once it ends the key is deleted."""
    s, r = own
    r.set("k", "v", px=50)
    r.set("other", "v", px=50)
    expired = r.info("stats")["expired_keys"]
    r.execute_command("CLIENT", "PAUSE", 100000, "WRITE")
    try:
        time.sleep(0.3)
        assert r.get("k") is None
        assert r.exists("other") == 0
        assert r.info("stats")["expired_keys"] == expired
        assert r.dbsize() == 2
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
    assert r.get("k") is None
    assert r.get("other") is None
    assert r.info("stats")["expired_keys"] == expired + 2
    assert r.dbsize() == 0


def test_errors_and_read_only_scripts_not_held(own):
    """A pause of writes answers a wrong arity and an unknown command at
    once, and runs scripts that declare no-writes (alone or in a
    transaction); such a script may not
    PUBLISH (Redis counts it as a write)."""
    s, r = own
    r.execute_command("CLIENT", "PAUSE", 100000, "WRITE")
    try:
        (msg, took) = timed(lambda: fails(r, "SET", "k"))
        assert msg == "wrong number of arguments for 'set' command" and took < 1
        (res, took) = timed(lambda: r.eval("#!lua flags=no-writes\nreturn 7", 0))
        assert res == 7 and took < 1
        pipe = r.pipeline(transaction=True)
        pipe.eval("#!lua flags=no-writes\nreturn 8", 0)
        (res, took) = timed(pipe.execute)
        assert res == [8] and took < 1
        msg = fails(r, "EVAL_RO", "return redis.call('publish','ch','m')", 0)
        assert msg.startswith("Write commands are not allowed from read-only scripts.")
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
    assert r.eval("return redis.call('publish','ch','m')", 0) == 0
