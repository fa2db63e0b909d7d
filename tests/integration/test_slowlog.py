"""SLOWLOG and its settings, as Redis 7.0: entries of commands that ran for
at least slowlog-log-slower-than microseconds, newest first, with their
arguments truncated as Redis truncates them, the client's address and
name.  Every test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Each test runs on a server of its own, so the log holds only its commands."""
import time

import pytest
import redis


def entries(r, *args):
    conn = r.connection_pool.get_connection("SLOWLOG")
    try:
        conn.send_command("SLOWLOG", "GET", *args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def fails(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_defaults(own):
    _, r = own
    assert r.config_get("slowlog-log-slower-than") == {"slowlog-log-slower-than": "10000"}
    assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "128"}
    # A slow build may take 10 ms for a command: raise the threshold
    # before expecting an empty log.
    r.config_set("slowlog-log-slower-than", 10000000)
    r.slowlog_reset()
    assert r.slowlog_len() == 0
    assert entries(r) == []


def test_logs_only_slower_commands(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 100000)
    r.ping()
    assert r.slowlog_len() == 0
    r.client_setname("slowpoke")
    before = int(time.time())
    r.execute_command("DEBUG", "SLEEP", "0.2")
    assert r.slowlog_len() == 1
    [e] = entries(r)
    assert len(e) == 6
    eid, ts, us, argv, addr, name = e
    assert isinstance(eid, int)
    assert before - 1 <= ts <= time.time() + 1
    assert 200000 <= us < 5000000
    assert argv == ["DEBUG", "SLEEP", "0.2"]
    assert addr == r.client_info()["addr"]
    assert name == "slowpoke"


def test_threshold_zero_logs_everything_and_ids_grow(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.set("k", "v")
    r.get("k")
    got = entries(r, 3)
    # Newest first: SLOWLOG RESET itself was logged before SET.
    assert [e[3] for e in got] == [["GET", "k"], ["SET", "k", "v"], ["SLOWLOG", "RESET"]]
    assert got[0][0] == got[1][0] + 1 == got[2][0] + 2
    assert got[0][5] == ""  # no name


def test_max_len_and_count(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 0)
    r.config_set("slowlog-max-len", 10)
    for _ in range(100):
        r.ping()
    assert r.slowlog_len() == 10
    assert len(entries(r, 5)) == 5
    assert len(entries(r, -1)) == 10
    assert len(entries(r)) == 10
    assert len(entries(r, 0)) == 0
    # A smaller length takes effect with the next entry, as in Redis.
    r.config_set("slowlog-max-len", 3)
    r.ping()
    assert r.slowlog_len() == 3


def test_reset(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 0)
    r.ping()
    assert r.slowlog_len() > 0
    assert r.execute_command("SLOWLOG", "RESET") in (True, "OK")
    # SLOWLOG LEN itself ran after the reset, but its entry follows its reply.
    assert r.slowlog_len() == 1


def test_disabled_by_negative_threshold_or_zero_length(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", -1)
    r.ping()
    r.execute_command("DEBUG", "SLEEP", "0.05")
    assert r.slowlog_len() == 0
    r.config_set("slowlog-log-slower-than", 0)
    r.config_set("slowlog-max-len", 0)
    r.ping()
    assert r.slowlog_len() == 0


def test_arguments_truncated(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 0)
    r.sadd("set", *range(3, 34))
    [e] = entries(r, 1)
    assert e[3] == ["SADD", "set"] + [str(i) for i in range(3, 32)] + ["... (2 more arguments)"]
    assert len(e[3]) == 32
    r.sadd("set", "foo", "A" * 129)
    [e] = entries(r, 1)
    assert e[3] == ["SADD", "set", "foo", "A" * 128 + "... (1 more bytes)"]


def test_transaction_logs_its_commands_not_exec(own):
    _, r = own
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    p = r.pipeline(transaction=True)
    p.set("a", 1)
    p.incr("a")
    p.execute()
    names = [e[3][0].lower() for e in entries(r, -1)]
    assert "exec" not in names
    assert names[:3] == ["incrby", "set", "multi"]


def test_errors(own):
    _, r = own
    assert fails(r, "SLOWLOG", "GET", "-2") == "count should be greater than or equal to -1"
    assert fails(r, "SLOWLOG", "GET", "abc") == "count should be greater than or equal to -1"
    assert fails(r, "SLOWLOG", "GET", "1", "x") == \
        "unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."
    assert fails(r, "SLOWLOG", "NOPE") == "unknown subcommand 'NOPE'. Try SLOWLOG HELP."
    assert fails(r, "SLOWLOG", "LEN", "x") == \
        "wrong number of arguments for 'slowlog|len' command"
    assert fails(r, "CONFIG", "SET", "slowlog-log-slower-than", "-2").startswith(
        "CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than')")


def test_help(own):
    _, r = own
    lines = r.execute_command("SLOWLOG", "HELP")
    assert lines[0] == "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "GET [<count>]" in lines and "LEN" in lines and "RESET" in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_script_commands_have_no_client_address(own):
    """The commands a script or function runs are logged with the address
    Redis gives its connection-less script client, "?:0", and no name; the
    EVAL or FCALL itself with the caller's."""
    _, r = own
    r.function_load("#!lua name=sl\nredis.register_function('f', function(keys, args) "
                    "return redis.call('set', keys[1], args[1]) end)", replace=True)
    r.client_setname("caller")
    addr = r.client_info()["addr"]
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.eval("return redis.call('get', KEYS[1])", 1, "k")
    r.fcall("f", 1, "k", "v")
    got = [(e[3][0].lower(), e[4], e[5]) for e in entries(r, -1)]
    assert got[:4] == [("fcall", addr, "caller"), ("set", "?:0", ""),
                       ("eval", addr, "caller"), ("get", "?:0", "")]
