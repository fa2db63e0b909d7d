"""INFO commandstats, errorstats and latencystats, as Redis 7.0 fills them.

A call that ran counts in calls (and in failed_calls when it replied with
an error); one refused before it ran (wrong arity, not allowed in MULTI)
counts only in rejected_calls; an unknown command counts in neither, only
in errorstats.  Errors are counted by their code, the first word.  Every
test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Each test runs on a server of its own, so that the only counts are its own."""
import pytest
import redis

from conftest import RawConn, wait_for
from waiting import block


def fails(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def cmdstats(r):
    return r.info("commandstats")


def errorstats(r):
    """INFO errorstats as {code: count} (redis-py leaves "count=N" as is)."""
    out = {}
    for k, v in r.info("errorstats").items():
        assert k.startswith("errorstat_")
        out[k[len("errorstat_"):]] = v["count"] if isinstance(v, dict) else int(v.split("=")[1])
    return out


def test_calls_failed_and_rejected(own):
    s, r = own
    r.config_resetstat()
    for i in range(3):
        r.set("k", i)
    assert r.get("k") == "2"
    fails(r, "GET")                        # wrong arity: rejected
    fails(r, "LPUSH", "k", "x")            # WRONGTYPE while running: failed
    fails(r, "NOSUCHCOMMAND", "a")         # unknown: errorstats only
    fails(r, "CONFIG", "GET")              # a subcommand's arity
    r.config_get("maxmemory")
    st = cmdstats(r)
    assert st["cmdstat_set"]["calls"] == 3
    assert st["cmdstat_set"]["failed_calls"] == 0
    assert st["cmdstat_set"]["rejected_calls"] == 0
    assert st["cmdstat_get"]["calls"] == 1
    assert st["cmdstat_get"]["rejected_calls"] == 1
    assert st["cmdstat_get"]["failed_calls"] == 0
    assert st["cmdstat_lpush"]["calls"] == 1
    assert st["cmdstat_lpush"]["failed_calls"] == 1
    assert st["cmdstat_config|get"]["calls"] == 1
    assert st["cmdstat_config|get"]["rejected_calls"] == 1
    assert st["cmdstat_config|resetstat"]["calls"] == 1
    assert not any("nosuchcommand" in k for k in st)
    for name, v in st.items():
        assert v["usec"] >= 0
        if v["calls"]:
            assert v["usec_per_call"] == pytest.approx(v["usec"] / v["calls"], abs=1.0)

    assert errorstats(r) == {"ERR": 3, "WRONGTYPE": 1}
    stats = r.info("stats")
    assert stats["total_error_replies"] == 4
    assert stats["unexpected_error_replies"] == 0
    # resetstat, 3 SET, GET, LPUSH, CONFIG GET and the INFO commands
    # before this one: refused commands never ran.
    assert stats["total_commands_processed"] == 1 + 3 + 1 + 1 + 1 + 2


def test_resetstat_clears_everything(own):
    s, r = own
    r.set("a", 1)
    fails(r, "INCR", "a", "b")
    fails(r, "HGET", "a", "f")
    r.config_resetstat()
    assert set(cmdstats(r)) == {"cmdstat_config|resetstat"}
    assert errorstats(r) == {}
    assert r.info("stats")["total_error_replies"] == 0
    assert set(r.info("latencystats")) <= {"latency_percentiles_usec_config|resetstat",
                                           "latency_percentiles_usec_info"}


def test_transaction_counts(own):
    s, r = own
    r.config_resetstat()
    r.set("s", "str")
    c = RawConn(s)
    try:
        c.cmd("MULTI")
        assert c.read_reply() == ("+", "OK")
        c.cmd("INCR", "n")
        assert c.read_reply() == ("+", "QUEUED")
        c.cmd("LPUSH", "s", "x")
        assert c.read_reply() == ("+", "QUEUED")
        c.cmd("EXEC")
        t, items = c.read_reply()
        assert items[0] == (":", "1")
        assert items[1][0] == "-" and items[1][1].startswith("WRONGTYPE")
        st = cmdstats(r)
        # Queued commands count when EXEC runs them; an error inside EXEC
        # is the failing command's, not EXEC's.
        assert st["cmdstat_incr"]["calls"] == 1
        assert st["cmdstat_lpush"]["calls"] == 1
        assert st["cmdstat_lpush"]["failed_calls"] == 1
        assert st["cmdstat_exec"]["calls"] == 1
        assert st["cmdstat_exec"]["failed_calls"] == 0

        # A command refused while queueing is rejected, and the EXEC that
        # then aborts failed.
        c.cmd("MULTI")
        assert c.read_reply() == ("+", "OK")
        c.cmd("GET")
        assert c.read_reply()[0] == "-"
        c.cmd("EXEC")
        t, msg = c.read_reply()
        assert t == "-" and msg.startswith("EXECABORT")
        st = cmdstats(r)
        assert st["cmdstat_get"]["rejected_calls"] == 1
        assert st["cmdstat_get"]["calls"] == 0
        assert st["cmdstat_exec"]["calls"] == 2
        assert st["cmdstat_exec"]["failed_calls"] == 1
        assert errorstats(r) == {"ERR": 1, "EXECABORT": 1, "WRONGTYPE": 1}
    finally:
        c.close()


def test_script_counts(own):
    """An error a command replies inside a script counts once, as that
    command's failure; the script that passes it on failed too.  A command
    the script may not run counts as rejected."""
    s, r = own
    r.config_resetstat()
    r.set("s", "str")
    assert r.eval("redis.pcall('lpush', 's', 'x'); return 1", 0) == 1
    assert fails(r, "EVAL", "return redis.call('lpush', 's', 'x')", 0).startswith("WRONGTYPE")
    assert fails(r, "EVAL", "return redis.pcall('lpush', 's', 'x')", 0).startswith("WRONGTYPE")
    assert fails(r, "EVAL_RO", "return redis.call('set', 's', 'x')", 0).startswith(
        "Write commands are not allowed from read-only scripts.")
    assert fails(r, "EVAL", "return {err='My error'}", 0) == "My error"
    st = cmdstats(r)
    assert st["cmdstat_lpush"]["calls"] == 3
    assert st["cmdstat_lpush"]["failed_calls"] == 3
    assert st["cmdstat_eval"]["calls"] == 4
    assert st["cmdstat_eval"]["failed_calls"] == 3
    assert st["cmdstat_eval_ro"]["failed_calls"] == 1
    assert st["cmdstat_set"]["rejected_calls"] == 1
    assert errorstats(r) == {"WRONGTYPE": 3, "ERR": 1, "My": 1}  # the first word is the code
    assert r.info("stats")["total_error_replies"] == 5


def test_blocking_command_counts_once(own):
    s, r = own
    conns = []

    def raw():
        c = RawConn(s)
        conns.append(c)
        return c

    def blpop():
        return cmdstats(r).get("cmdstat_blpop", {})

    try:
        r.config_resetstat()
        # A blocking command is a call from the moment it runs, parked or
        # not; serving it, its timeout or CLIENT UNBLOCK add no call.
        waiter = block(r, raw, "BLPOP", "q", "0")
        assert blpop()["calls"] == 1
        r.rpush("q", "v")
        assert waiter.read_reply() == ("*", [("$", b"q"), ("$", b"v")])
        assert wait_for(lambda: "latency_percentiles_usec_blpop" in r.info("latencystats"))
        assert blpop()["calls"] == 1
        timed = raw()
        timed.cmd("BLPOP", "q", "0.01")
        assert timed.read_reply() == ("*", None)
        assert blpop()["calls"] == 2
        assert blpop()["failed_calls"] == 0
        unblocked = block(r, raw, "BLPOP", "q", "0")
        r.client_unblock(unblocked.cid, error=True)
        t, msg = unblocked.read_reply()
        assert t == "-" and msg.startswith("UNBLOCKED")
        assert blpop()["calls"] == 3
        assert blpop()["failed_calls"] == 1
        assert errorstats(r) == {"UNBLOCKED": 1}
    finally:
        for c in conns:
            c.close()


def test_latencystats(own):
    s, r = own
    assert r.config_get("latency-tracking") == {"latency-tracking": "yes"}
    assert r.config_get("latency-tracking-info-percentiles") == {
        "latency-tracking-info-percentiles": "50 99 99.9"}
    r.config_resetstat()
    for i in range(20):
        r.set(f"k{i}", i)
        r.get(f"k{i}")
    lat = r.info("latencystats")
    for cmd in ("set", "get"):
        p = lat[f"latency_percentiles_usec_{cmd}"]
        assert set(p) == {"p50", "p99", "p99.9"}
        assert 0 < p["p50"] <= p["p99"] <= p["p99.9"]

    r.config_set("latency-tracking-info-percentiles", "0 99.99 100")
    assert r.config_get("latency-tracking-info-percentiles") == {
        "latency-tracking-info-percentiles": "0 99.99 100"}
    p = r.info("latencystats")["latency_percentiles_usec_get"]
    assert set(p) == {"p0", "p99.99", "p100"}
    assert p["p0"] <= p["p99.99"] <= p["p100"]

    r.config_set("latency-tracking", "no")
    r.config_resetstat()
    r.get("k1")
    assert "cmdstat_get" in cmdstats(r)
    assert r.info("latencystats") == {}
    r.config_set("latency-tracking", "yes")
    r.get("k1")
    assert "latency_percentiles_usec_get" in r.info("latencystats")


def test_latency_percentiles_config_errors(own):
    s, r = own
    assert "Invalid latency-tracking-info-percentiles parameters" in fails(
        r, "CONFIG", "SET", "latency-tracking-info-percentiles", "abc")
    assert "should sit between [0.0,100.0]" in fails(
        r, "CONFIG", "SET", "latency-tracking-info-percentiles", "50 101")
    assert r.config_get("latency-tracking-info-percentiles") == {
        "latency-tracking-info-percentiles": "50 99 99.9"}
    r.config_set("latency-tracking-info-percentiles", "")
    assert r.config_get("latency-tracking-info-percentiles") == {
        "latency-tracking-info-percentiles": ""}
