"""Coordination primitives with real clients: CL.THROTTLE against a Python
model of redis-cell's algorithm, the other limiters, SET IFEQ and DELIFEQ,
and locks with fencing tokens under contention.

All Cairn-only (Redis 7 has none of these).  The server's clock is real, so
the CL.THROTTLE sequence uses emission intervals of whole seconds and runs a
little behind its plan: a reply in seconds does not change with a lag of
under a second, and the model can then be driven with the planned
timestamps.  Waits are bounded: no test takes more than a few seconds.

The restart test kills the server with SIGKILL and starts it again from
its command log, then from a rewritten base; the engine-level replay of the
same property is in tests/unit/test_coord.c
(test_replay_keeps_tokens_and_limits).
"""
import threading
import time

import pytest
import redis

from durable import DurableServer, wait_no_child

pytestmark = pytest.mark.cairn_only

NS_PER_MS = 10**6
NS_PER_SEC = 10**9


class CellModel:
    """redis-cell's GCRA, in integer nanoseconds: a TAT per key that expires
    when it is reached, emission interval period/count, tolerance
    interval * (max_burst + 1), remaining from whole microseconds."""

    def __init__(self):
        self.tat = {}

    def throttle(self, key, now_ms, max_burst, count, period_s, quantity=1):
        now = now_ms * NS_PER_MS
        ei = period_s * NS_PER_SEC // count
        dvt = ei * (max_burst + 1)
        tat = self.tat.get(key)
        ahead = max(tat - now, 0) if tat is not None else 0
        increment = ei * quantity
        if ahead + increment > dvt:
            limited = 1
            retry = ahead + increment - dvt if increment <= dvt else -1
            ttl = ahead
        else:
            limited, retry, ttl = 0, -1, ahead + increment
            if quantity > 0:
                self.tat[key] = now + ttl
        nxt = dvt - ttl
        remaining = (nxt // 1000) // (ei // 1000) if nxt > 0 else 0
        return [limited, max_burst + 1, remaining, self.seconds(retry), self.seconds(ttl)]

    @staticmethod
    def seconds(ns):
        """redis-cell's rounding: whole seconds, plus one if a whole
        millisecond is left over."""
        if ns < 0:
            return -1
        return ns // NS_PER_SEC + (1 if (ns % NS_PER_SEC) // NS_PER_MS > 0 else 0)


# (planned offset in s, key, max_burst, count, period, quantity): emission
# intervals of 1s, 2s and 360s; bursts, refusals, peeks, a request larger
# than the limit, one that overflows, and refills as time passes.
SEQUENCE = [
    (0, "a", 4, 1, 2, 1), (0, "a", 4, 1, 2, 1), (0, "a", 4, 1, 2, 2), (0, "a", 4, 1, 2, 1),
    (0, "a", 4, 1, 2, 1), (0, "a", 4, 1, 2, 0), (0, "a", 4, 1, 2, 6),
    (0, "b", 2, 3, 3, 1), (0, "b", 2, 3, 3, 3), (0, "b", 2, 3, 3, 1), (0, "b", 2, 3, 3, 0),
    (0, "c", 0, 1, 1, 1), (0, "c", 0, 1, 1, 1),
    (0, "d", 9, 10, 3600, 4), (0, "d", 9, 10, 3600, 7), (0, "d", 9, 10, 3600, 6),
    (0, "e", 4, 1, 2, 9223372036854775807),
    (1, "a", 4, 1, 2, 1), (1, "a", 4, 1, 2, 0), (1, "b", 2, 3, 3, 1), (1, "c", 0, 1, 1, 1),
    (1, "c", 0, 1, 1, 1), (1, "d", 9, 10, 3600, 0),
    (2, "a", 4, 1, 2, 1), (2, "a", 4, 1, 2, 1), (2, "b", 2, 3, 3, 2), (2, "b", 2, 3, 3, 1),
    (2, "c", 0, 1, 1, 0), (2, "d", 9, 10, 3600, 1),
]


def test_throttle_readme_example(r):
    assert r.execute_command("CL.THROTTLE", "user123", 15, 30, 60) == [0, 16, 15, -1, 2]
    assert r.execute_command("CL.THROTTLE", "user123", 15, 30, 60) == [0, 16, 14, -1, 4]
    assert r.type("user123") == "string"
    assert 3000 < r.pttl("user123") <= 4000


def test_throttle_sequence_matches_redis_cell_model(r):
    """Each request is sent at its planned offset plus the largest lag seen
    so far, so the server's lag behind the plan never decreases; while it
    stays under a second, the replies (whole seconds of whole-second
    intervals) are those of the plan."""
    model = CellModel()
    r.ping()  # connected before the clock starts
    start = time.monotonic()
    lag = 0.0
    for offset, key, burst, count, period, quantity in SEQUENCE:
        delay = start + offset + lag - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        got = r.execute_command("CL.THROTTLE", key, burst, count, period, quantity)
        lag = max(lag, time.monotonic() - start - offset)
        want = model.throttle(key, offset * 1000, burst, count, period, quantity)
        assert got == want, (offset, key, burst, count, period, quantity)
    assert lag < 0.9, "the run lagged too much: its replies prove nothing"


def test_throttle_errors(r):
    cases = [
        (("k", -1, 1, 1), "invalid max_burst: must be zero or positive"),
        (("k", 1, 0, 1), "invalid count: must be positive"),
        (("k", 1, 1, 0), "invalid period: must be positive"),
        (("k", 1, 1, 1, -1), "invalid quantity: must be zero or positive"),
        (("k", "x", 1, 1), "value is not an integer or out of range"),
        (("k", 1, 1, 9223372036854775807), "limiter parameters are too large"),
        (("k", 1, 2000000000, 1), "rate is too high: the emission interval would be under 1ns"),
        (("k", 1, 1), "wrong number of arguments for 'cl.throttle' command"),
        (("k", 1, 1, 1, 1, 1), "wrong number of arguments for 'cl.throttle' command"),
    ]
    for args, msg in cases:
        with pytest.raises(redis.ResponseError, match="^" + msg.replace("(", r"\(")):
            r.execute_command("CL.THROTTLE", *args)
    r.set("s", "not a TAT")
    with pytest.raises(redis.ResponseError, match="^key does not hold a CL.THROTTLE state$"):
        r.execute_command("CL.THROTTLE", "s", 1, 1, 1)
    assert r.get("s") == "not a TAT"


def test_limiter_keys_are_ordinary_keys(r):
    r.execute_command("CL.THROTTLE", "t", 1, 1, 10)
    r.execute_command("CL.WINDOW", "w", 5, 60)
    r.execute_command("CL.LEAKY", "q", 5, 1, 10)
    r.execute_command("CL.THROTTLE", "peek", 1, 1, 10, 0)
    assert sorted(r.scan_iter()) == ["q", "t", "w"]
    for key in ("t", "w", "q"):
        assert r.type(key) == "string"
        assert r.pttl(key) > 0
    assert r.get("w").startswith("W:")
    assert r.get("q").startswith("Q:")


def test_window_and_leaky_replies(r):
    # Large windows and periods: replies in seconds that no lag changes.
    # Windows are aligned to multiples of their length, so the times left
    # depend on where in the current window the test runs.
    window = 3600
    first = r.execute_command("CL.WINDOW", "w", 2, window)
    assert first[:4] == [0, 2, 1, -1] and 0 < first[4] <= 2 * window
    assert r.execute_command("CL.WINDOW", "w", 2, window)[:3] == [0, 2, 0]
    refused = r.execute_command("CL.WINDOW", "w", 2, window)
    # One more request fits once the weight of this window's two drops
    # to one: half-way through the next window.
    assert refused[:3] == [1, 2, 0] and window // 2 < refused[3] <= 3 * window // 2
    assert r.execute_command("CL.WINDOW", "w", 2, window, 3)[3] == -1

    assert r.execute_command("CL.LEAKY", "q", 2, 1, 100) == [0, 2, 1, 0, 100]
    assert r.execute_command("CL.LEAKY", "q", 2, 1, 100) == [0, 2, 0, 100, 200]
    assert r.execute_command("CL.LEAKY", "q", 2, 1, 100) == [1, 2, 0, 100, 200]
    assert r.execute_command("CL.LEAKY", "q", 2, 1, 100, 3) == [1, 2, 0, -1, 200]
    ms = r.execute_command("CL.PLEAKY", "pq", 2, 1, 100000)
    assert ms == [0, 2, 1, 0, 100000]
    ms = r.execute_command("CL.PLEAKY", "pq", 2, 1, 100000)
    assert ms[:3] == [0, 2, 0] and 99000 < ms[3] <= 100000 and 199000 < ms[4] <= 200000


def test_set_ifeq(r):
    r.response_callbacks.pop("SET", None)  # the raw replies, not True/False
    r.set("k", "v1")
    assert r.execute_command("SET", "k", "v2", "IFEQ", "v1") == "OK"
    assert r.execute_command("SET", "k", "v3", "IFEQ", "v1") is None
    assert r.get("k") == "v2"
    assert r.execute_command("SET", "k", "v3", "IFEQ", "v2", "GET", "EX", 100) == "v2"
    assert r.get("k") == "v3" and 0 < r.ttl("k") <= 100
    assert r.execute_command("SET", "k", "v4", "IFEQ", "nope", "GET") == "v3"
    assert r.get("k") == "v3"
    assert r.execute_command("SET", "k", "v4", "IFEQ", "v3", "KEEPTTL") == "OK"
    assert 0 < r.ttl("k") <= 100
    assert r.execute_command("SET", "missing", "x", "IFEQ", "x") is None
    assert r.execute_command("SET", "missing", "x", "IFEQ", "x", "GET") is None
    assert r.exists("missing") == 0
    for opts in (("IFEQ", "a", "NX"), ("IFEQ", "a", "XX"), ("NX", "IFEQ", "a"), ("IFEQ",)):
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            r.execute_command("SET", "k", "x", *opts)


def test_wrong_type(r):
    r.hset("h", "f", "v")
    for extra in ((), ("GET",)):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.execute_command("SET", "h", "x", "IFEQ", "v", *extra)
    for cmd in (("DELIFEQ", "h", "v"), ("CL.THROTTLE", "h", 1, 1, 1), ("CL.WINDOW", "h", 1, 1),
                ("CL.LEAKY", "h", 1, 1, 1), ("LOCK.ACQUIRE", "h", "a", 10), ("LOCK.INFO", "h"),
                ("FENCE.CHECK", "h", 1)):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.execute_command(*cmd)
    assert r.type("h") == "hash"


def test_delifeq(r):
    assert r.execute_command("DELIFEQ", "k", "v") == 0
    r.set("k", "v")
    assert r.execute_command("DELIFEQ", "k", "w") == 0
    assert r.execute_command("DELIFEQ", "k", "v") == 1
    assert r.exists("k") == 0
    r.set("n", 42)
    assert r.execute_command("DELIFEQ", "n", "42") == 1


def test_lock_lifecycle_and_resp3_info(r, raw):
    assert r.execute_command("LOCK.INFO", "L") is None
    assert r.execute_command("LOCK.ACQUIRE", "L", "a", 10000) == 1
    assert r.execute_command("LOCK.ACQUIRE", "L", "b", 10000) is None
    info = r.execute_command("LOCK.INFO", "L")
    assert info[:4] == ["owner", "a", "token", 1] and info[4] == "pttl"
    assert 9000 < info[5] <= 10000
    assert r.type("L") == "string" and r.ttl("L") == -1
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("LOCK.INFO", "L")
    kind, pairs = c.read_reply()
    assert kind == "%" and pairs[0] == (("$", b"owner"), ("$", b"a"))
    assert r.execute_command("LOCK.RELEASE", "L", "a", 1) == 1
    assert r.execute_command("LOCK.INFO", "L") == ["owner", None, "token", 1, "pttl", -1]
    assert r.execute_command("LOCK.ACQUIRE", "L", "b", 10000) == 2


def test_lock_expiry_hands_over(r):
    assert r.execute_command("LOCK.ACQUIRE", "L", "a", 300) == 1
    assert r.execute_command("FENCE.SET", "fence", 1, "data", "from a") == "OK"
    assert r.execute_command("LOCK.ACQUIRE", "L", "b", 5000) is None
    time.sleep(0.4)
    # a's lease lapsed: b gets the lock and the next token, and a -- waking
    # up late -- can neither extend nor release, and its writes are fenced.
    assert r.execute_command("LOCK.ACQUIRE", "L", "b", 5000) == 2
    assert r.execute_command("LOCK.EXTEND", "L", "a", 300) == 0
    assert r.execute_command("LOCK.RELEASE", "L", "a") == 0
    assert r.execute_command("FENCE.SET", "fence", 2, "data", "from b") == "OK"
    assert r.execute_command("FENCE.SET", "fence", 1, "data", "stale a") is None
    assert r.execute_command("FENCE.CHECK", "fence", 1) == 0
    assert r.get("data") == "from b"
    assert r.execute_command("LOCK.INFO", "L")[:4] == ["owner", "b", "token", 2]


def test_fifty_clients_contend_for_one_lock(server):
    """50 threads acquire, write under the fence and release one lock for
    about 3s: never two holders, tokens strictly increasing, no write
    refused to the holder."""
    stop_at = time.monotonic() + 3.0
    guard = threading.Lock()
    state = {"holder": None, "last": 0, "grants": 0, "errors": []}

    def worker(i):
        c = server.client()
        owner = f"worker-{i}"
        try:
            while time.monotonic() < stop_at:
                token = c.execute_command("LOCK.ACQUIRE", "the-lock", owner, 5000)
                if token is None:
                    time.sleep(0.001)
                    continue
                with guard:
                    if state["holder"] is not None:
                        state["errors"].append(f"{owner} got {token} while {state['holder']} held it")
                    if token <= state["last"]:
                        state["errors"].append(f"token {token} after {state['last']}")
                    state["holder"], state["last"] = owner, token
                    state["grants"] += 1
                if c.execute_command("FENCE.SET", "the-fence", token, "the-data", owner) != "OK":
                    state["errors"].append(f"fenced write of {owner} refused")
                with guard:
                    state["holder"] = None
                if c.execute_command("LOCK.RELEASE", "the-lock", owner, token) != 1:
                    state["errors"].append(f"{owner} could not release {token}")
        except Exception as exc:  # noqa: BLE001 -- reported below
            state["errors"].append(repr(exc))
        finally:
            c.close()

    server.client().delete("the-lock", "the-fence", "the-data")
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    assert state["errors"] == []
    assert state["grants"] > 50
    c = server.client()
    info = c.execute_command("LOCK.INFO", "the-lock")
    assert info == ["owner", None, "token", state["last"], "pttl", -1]
    assert int(c.get("the-fence")) == state["last"]
    assert c.execute_command("FENCE.SET", "the-fence", state["last"] - 1, "the-data", "x") is None


def test_tokens_and_limits_survive_restarts(tmp_path):
    """Lock tokens, fences and limiter states come back from the log (and
    from a rewritten base): the next token is larger than every token given
    before the crash, a stale token is still refused."""
    s = DurableServer(tmp_path / "data", "--appendonly", "yes", "--appendfsync", "always",
                      "--save", "")
    try:
        c = s.start().client()
        assert c.execute_command("LOCK.ACQUIRE", "L", "a", 60000) == 1
        assert c.execute_command("LOCK.RELEASE", "L", "a", 1) == 1
        assert c.execute_command("LOCK.ACQUIRE", "L", "b", 60000) == 2
        assert c.execute_command("FENCE.SET", "f", 2, "d", "by b") == "OK"
        assert c.execute_command("CL.THROTTLE", "t", 1, 1, 3600) == [0, 2, 1, -1, 3600]

        for restart in ("from the log", "from a rewritten base"):
            if restart == "from a rewritten base":
                c.execute_command("BGREWRITEAOF")
                wait_no_child(c)
            s.kill9()
            c = s.start().client()
            info = c.execute_command("LOCK.INFO", "L")
            assert info[:4] == ["owner", "b", "token", 2] and 0 < info[5] <= 60000, restart
            assert c.execute_command("LOCK.ACQUIRE", "L", "a", 60000) is None, restart
            assert c.execute_command("FENCE.SET", "f", 1, "d", "stale") is None, restart
            assert c.get("d") == "by b"
            assert c.execute_command("CL.THROTTLE", "t", 1, 1, 3600, 0)[:3] == [0, 2, 1]

        got = c.execute_command("CL.THROTTLE", "t", 1, 1, 3600)
        assert got[:4] == [0, 2, 0, -1] and 7100 < got[4] <= 7200
        assert c.execute_command("LOCK.RELEASE", "L", "b", 2) == 1
        assert c.execute_command("LOCK.ACQUIRE", "L", "a", 60000) == 3
        s.kill9()
        c = s.start().client()
        assert c.execute_command("LOCK.INFO", "L")[:4] == ["owner", "a", "token", 3]
        assert c.execute_command("CL.THROTTLE", "t", 1, 1, 3600)[0] == 1
    finally:
        s.stop()
