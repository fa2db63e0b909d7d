"""The latency monitor (LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR /
HELP, latency-monitor-threshold) and LATENCY HISTOGRAM (the per-command
histograms of latency-tracking), as Redis 7.0.  Every test here holds
against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Each test runs on a server of its own, so the events are only its own."""
import time

import pytest
import redis


def fails(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def pairs(flat):
    """A RESP2 map (a flat list) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


def test_off_by_default(own):
    _, r = own
    assert r.config_get("latency-monitor-threshold") == {"latency-monitor-threshold": "0"}
    r.execute_command("DEBUG", "SLEEP", "0.05")
    assert r.execute_command("LATENCY", "LATEST") == []
    assert r.execute_command("LATENCY", "HISTORY", "command") == []
    assert r.execute_command("LATENCY", "DOCTOR").startswith("I'm sorry, Dave, I can't do that.")


def test_command_event_latest_history_reset(own):
    _, r = own
    r.config_set("latency-monitor-threshold", 100)
    r.ping()
    assert r.execute_command("LATENCY", "LATEST") == []
    before = int(time.time())
    r.execute_command("DEBUG", "SLEEP", "0.2")
    [latest] = r.execute_command("LATENCY", "LATEST")
    event, ts, last, worst = latest
    assert event == "command"
    assert before - 1 <= ts <= time.time() + 1
    assert 200 <= last < 5000 and worst == last
    [(hts, hlat)] = r.execute_command("LATENCY", "HISTORY", "command")
    assert (hts, hlat) == (ts, last)
    # A second spike in the same second keeps only the worst.
    r.execute_command("DEBUG", "SLEEP", "0.11")
    hist = r.execute_command("LATENCY", "HISTORY", "command")
    assert 1 <= len(hist) <= 2 and max(h[1] for h in hist) == worst
    assert r.execute_command("LATENCY", "RESET", "nosuch") == 0
    assert r.execute_command("LATENCY", "RESET", "COMMAND", "nosuch") == 1
    assert r.execute_command("LATENCY", "LATEST") == []
    r.execute_command("DEBUG", "SLEEP", "0.11")
    assert r.execute_command("LATENCY", "RESET") == 1


def test_aof_write_and_expiry_events(server_factory):
    """The log's writes and active expiry are sampled as Redis samples
    them: aof-write, also filed under what it competed with, and
    expire-cycle with expire-del for the key that made it slow."""
    s = server_factory("--appendonly", "yes", "--appendfsync", "always")
    r = s.client(socket_timeout=60)
    r.config_set("latency-monitor-threshold", 1)
    # Writing 16 MB to the log takes milliseconds, and so does freeing a
    # set of 200,000 members when it expires.
    r.set("big", b"x" * (16 << 20))
    r.eval("for i = 1, 200000 do redis.call('sadd', KEYS[1], i) end", 1, "s")
    r.pexpire("s", 1)
    deadline = time.time() + 30
    while r.dbsize() > 1:  # DBSIZE expires nothing: active expiry must
        assert time.time() < deadline
        time.sleep(0.05)
    events = {e[0] for e in r.execute_command("LATENCY", "LATEST")}
    assert {"aof-write", "expire-cycle", "expire-del"} <= events, events
    assert events & {"aof-write-alone", "aof-write-active-child", "aof-write-pending-fsync"}
    r.close()


def test_below_threshold_not_sampled(own):
    _, r = own
    r.config_set("latency-monitor-threshold", 500)
    r.execute_command("DEBUG", "SLEEP", "0.05")
    assert r.execute_command("LATENCY", "LATEST") == []


def test_graph(own):
    _, r = own
    r.config_set("latency-monitor-threshold", 10)
    r.execute_command("DEBUG", "SLEEP", "0.05")
    g = r.execute_command("LATENCY", "GRAPH", "command")
    lines = g.split("\n")
    assert lines[0].startswith("command - high ") and "(all time high " in lines[0]
    assert lines[1] == "-" * 80
    # One sample: one column, four rows of sparkline, a blank row, and
    # its age ("0s", "1s") written downwards.
    assert lines[2:6] == [" ", " ", " ", "_"]
    assert lines[6] == " "
    assert lines[7].isdigit() and "s" in lines[8:]
    assert fails(r, "LATENCY", "GRAPH", "nosuch") == "No samples available for event 'nosuch'"


def test_doctor(own):
    _, r = own
    r.config_set("latency-monitor-threshold", 10)
    doc = r.execute_command("LATENCY", "DOCTOR")
    assert doc.startswith("Dave, no latency spike was observed during the lifetime of this "
                          "Redis instance")
    r.execute_command("DEBUG", "SLEEP", "0.05")
    doc = r.execute_command("LATENCY", "DOCTOR")
    assert doc.startswith("Dave, I have observed latency spikes in this Redis instance. "
                          "You don't mind talking about it, do you Dave?\n\n1. command: "
                          "1 latency spikes (average ")
    assert "I have a few advices for you:" in doc
    # slowlog-log-slower-than (10 ms) is not below the threshold (10 ms).
    assert "- Check your Slow Log" in doc


def test_histogram(own):
    _, r = own
    r.config_resetstat()
    for i in range(50):
        r.set("k", i)
    r.config_get("maxmemory")
    h = pairs(r.execute_command("LATENCY", "HISTOGRAM", "set", "nosuch"))
    assert list(h) == ["set"]
    st = pairs(h["set"])
    assert st["calls"] == 50
    buckets = pairs(st["histogram_usec"])
    keys, counts = list(buckets), list(buckets.values())
    assert keys == sorted(keys) and counts == sorted(counts) and counts[-1] == 50
    # The buckets are powers of two from 1024 ns, named in microseconds as
    # Redis's HdrHistogram names them.
    allowed = {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16909}
    assert set(keys) <= allowed
    # A container names its subcommands.
    h = pairs(r.execute_command("LATENCY", "HISTOGRAM", "config"))
    assert "config|get" in h and pairs(h["config|get"])["calls"] == 1
    assert "config|get" in pairs(r.execute_command("LATENCY", "HISTOGRAM", "config|get"))
    everything = pairs(r.execute_command("LATENCY", "HISTOGRAM"))
    assert "set" in everything and "config|get" in everything
    assert pairs(r.execute_command("LATENCY", "HISTOGRAM", "nosuch")) == {}


def test_errors_and_help(own):
    _, r = own
    assert fails(r, "LATENCY", "NOPE") == "unknown subcommand 'NOPE'. Try LATENCY HELP."
    assert fails(r, "LATENCY", "HISTORY") == \
        "wrong number of arguments for 'latency|history' command"
    lines = r.execute_command("LATENCY", "HELP")
    assert lines[0] == "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for sub in ("DOCTOR", "GRAPH <event>", "HISTORY <event>", "LATEST", "RESET [<event> ...]",
                "HISTOGRAM [COMMAND ...]"):
        assert sub in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]
