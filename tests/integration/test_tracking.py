"""Client-side caching: CLIENT TRACKING (default, BCAST, OPTIN, OPTOUT,
NOLOOP, REDIRECT), CLIENT CACHING, GETREDIR, TRACKINGINFO, and the
invalidations sent on writes, expiry, eviction and flushes, as RESP3 push
frames or __redis__:invalidate messages.  Runs against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import time

import pytest

from conftest import RawConn


def resp3(raw):
    c = raw()
    c.cmd("HELLO", "3")
    assert c.read_reply()[0] == "%"
    return c


def ok(conn, *args):
    conn.cmd(*args)
    reply = conn.read_reply()
    assert reply == ("+", "OK"), reply
    return reply


def call(conn, *args):
    conn.cmd(*args)
    return conn.read_reply()


def client_id(conn):
    return int(call(conn, "CLIENT", "ID")[1])


def invalidated(conn, skip_nulls=False):
    """Ping, and return the keys of every invalidation that arrived before
    the PONG (None for a flush); with skip_nulls, null replies of commands
    sent before are passed over."""
    conn.cmd("PING")
    keys = []
    while True:
        t, v = conn.read_reply()
        if t == ">" and v[0] == ("$", b"invalidate"):
            keys.append(None if v[1][1] is None or v[1][0] == "_" else
                        [k[1].decode() for k in v[1][1]])
        elif t == "*" and len(v) == 3 and v[0] == ("$", b"message"):
            assert v[1] == ("$", b"__redis__:invalidate")
            keys.append(None if v[2][1] is None else [k[1].decode() for k in v[2][1]])
        elif (t, v) in (("+", "PONG"), ("*", [("$", b"pong"), ("$", b"")])):
            return keys
        elif skip_nulls and t == "_":
            continue
        else:
            raise AssertionError(f"unexpected {t} {v}")


def flat(batches):
    return sorted(k for b in batches for k in (b or []))


def test_default_mode_resp3(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    call(c, "GET", "t1")
    call(c, "MGET", "t2", "t3")
    r.set("t1", "v")
    r.mset({"t2": "a", "unread": "b"})
    assert flat(invalidated(c)) == ["t1", "t2"]
    # Forgotten once invalidated: no second message until read again.
    r.set("t1", "w")
    assert invalidated(c) == []
    call(c, "GET", "t1")
    r.delete("t1")
    assert invalidated(c) == [["t1"]]


def test_redirect_resp2(r, raw):
    sub = raw()
    sid = client_id(sub)
    call(sub, "SUBSCRIBE", "__redis__:invalidate")
    a = raw()
    ok(a, "CLIENT", "TRACKING", "ON", "REDIRECT", sid)
    assert call(a, "CLIENT", "GETREDIR") == (":", str(sid))
    call(a, "GET", "rk")
    r.set("rk", "v")
    assert invalidated(sub) == [["rk"]]
    call(a, "GET", "rk")
    r.flushall()
    assert invalidated(sub) == [None]


def test_keys_of_a_script_that_reads_are_tracked(r, raw):
    """A script that reads has its declared keys tracked for the client
    that ran it (Redis 7.0 remembers the caller's keys); one that only
    writes has none tracked."""
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    assert call(c, "EVAL", "return redis.call('set', KEYS[1], 'w')", 1, "sw")[0] == "+"
    r.set("sw", "x")
    assert invalidated(c) == []
    body = "redis.call('set', KEYS[2], 'w'); return redis.call('get', KEYS[1])"
    assert call(c, "EVAL", body, 2, "sr", "sw")[0] in ("_", "$")
    r.set("sr", "v")
    r.set("sw", "v")
    assert flat(invalidated(c)) == ["sr", "sw"]


def test_getredir_and_trackinginfo(r, raw):
    a = raw()
    assert call(a, "CLIENT", "GETREDIR") == (":", "-1")
    assert call(a, "CLIENT", "TRACKINGINFO") == ("*", [
        ("$", b"flags"), ("*", [("$", b"off")]), ("$", b"redirect"), (":", "-1"),
        ("$", b"prefixes"), ("*", [])])
    b = raw()
    bid = client_id(b)
    ok(a, "CLIENT", "TRACKING", "ON", "REDIRECT", bid, "OPTIN", "NOLOOP")
    assert call(a, "CLIENT", "GETREDIR") == (":", str(bid))
    t, info = call(a, "CLIENT", "TRACKINGINFO")
    flags = sorted(f[1] for f in info[1][1])
    assert flags == [b"noloop", b"on", b"optin"]
    assert info[3] == (":", str(bid))
    ok(a, "CLIENT", "CACHING", "YES")
    t, info = call(a, "CLIENT", "TRACKINGINFO")
    assert b"caching-yes" in [f[1] for f in info[1][1]]
    ok(a, "CLIENT", "TRACKING", "OFF")
    assert call(a, "CLIENT", "GETREDIR") == (":", "-1")
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "PREFIX", "q:")
    assert call(c, "CLIENT", "GETREDIR") == (":", "0")
    t, info = call(c, "CLIENT", "TRACKINGINFO")
    assert t == "%"
    d = dict((k[1], v) for k, v in info)
    assert d[b"flags"][0] == "~" and sorted(f[1] for f in d[b"flags"][1]) == [b"bcast", b"on"]
    assert sorted(p[1] for p in d[b"prefixes"][1]) == [b"p:", b"q:"]


def test_bcast_prefixes(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    r.mset({"user:1": "a", "obj:2": "b", "zz": "c"})
    r.set("user:3", "d")
    assert flat(invalidated(c)) == ["obj:2", "user:1", "user:3"]
    # Without PREFIX: every key.
    d = resp3(raw)
    ok(d, "CLIENT", "TRACKING", "ON", "BCAST")
    r.set("anything", "x")
    assert flat(invalidated(d)) == ["anything"]


def test_optin(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "OPTIN")
    call(c, "GET", "o1")
    ok(c, "CLIENT", "CACHING", "YES")
    call(c, "GET", "o2")
    call(c, "GET", "o3")  # CACHING YES covered one command only
    r.mset({"o1": "1", "o2": "2", "o3": "3"})
    assert flat(invalidated(c)) == ["o2"]


def test_optout(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "OPTOUT")
    ok(c, "CLIENT", "CACHING", "NO")
    call(c, "GET", "x1")
    call(c, "GET", "x2")
    r.mset({"x1": "1", "x2": "2"})
    assert flat(invalidated(c)) == ["x2"]


def test_noloop(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "NOLOOP")
    call(c, "GET", "nl")
    ok(c, "SET", "nl", "1")
    assert invalidated(c) == []
    call(c, "GET", "nl")
    r.set("nl", "2")
    assert invalidated(c) == [["nl"]]
    # Without NOLOOP the writer hears of its own write.
    d = resp3(raw)
    ok(d, "CLIENT", "TRACKING", "ON")
    call(d, "GET", "own")
    d.cmd("SET", "own", "1")
    got = [d.read_reply(), d.read_reply()]
    assert ("+", "OK") in got
    assert (">", [("$", b"invalidate"), ("*", [("$", b"own")])]) in got


def test_flush_invalidates_everything_resp3(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    call(c, "GET", "f1")
    r.flushdb()
    assert invalidated(c) == [None]
    # The table was emptied: a later write of f1 says nothing.
    r.set("f1", "v")
    assert invalidated(c) == []


def test_expiry_invalidates(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    r.set("soon", "v", px=100)
    call(c, "GET", "soon")
    deadline = time.time() + 5
    got = []
    while not got and time.time() < deadline:
        time.sleep(0.1)
        got = invalidated(c)  # active expiry deletes it
    assert got == [["soon"]]


def test_eviction_invalidates(server_factory):
    srv = server_factory()
    r = srv.client()
    c = RawConn(srv)
    c.cmd("HELLO", "3")
    c.read_reply()
    ok(c, "CLIENT", "TRACKING", "ON")
    for i in range(50):
        r.set(f"ev{i}", "x" * 1000)
        call(c, "GET", f"ev{i}")
    used = r.info("memory")["used_memory"]
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory", used + 256 * 1024)
    for i in range(400):
        r.set(f"big{i}", "y" * 2000)
    assert r.dbsize() < 450
    gone = [f"ev{i}" for i in range(50) if not r.exists(f"ev{i}")]
    assert gone
    got = flat(invalidated(c))
    assert set(gone) <= set(got)
    c.close()


def test_table_max_keys_invalidates_what_it_drops(r, raw):
    old = r.config_get("tracking-table-max-keys")["tracking-table-max-keys"]
    try:
        r.config_set("tracking-table-max-keys", 2)
        c = resp3(raw)
        ok(c, "CLIENT", "TRACKING", "ON")
        # Replies and invalidations interleave: read them together.
        for i in range(6):
            c.cmd("GET", f"mk{i}")
        deadline = time.time() + 5
        got = []
        while time.time() < deadline and len(flat(got)) < 4:
            got += invalidated(c, skip_nulls=True)
            time.sleep(0.05)
        assert len(flat(got)) >= 4
        assert r.info("stats")["tracking_total_keys"] <= 2
    finally:
        r.config_set("tracking-table-max-keys", old)


def test_errors(raw):
    c = raw()
    cases = [
        (("CLIENT", "TRACKING", "ON", "PREFIX", "a"),
         "ERR PREFIX option requires BCAST mode to be enabled"),
        (("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"),
         "ERR OPTIN and OPTOUT are not compatible with BCAST"),
        (("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
         "ERR You can't specify both OPTIN mode and OPTOUT mode"),
        (("CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
         "ERR The client ID you want redirect to does not exist"),
        (("CLIENT", "TRACKING", "MAYBE"), "ERR syntax error"),
        (("CLIENT", "TRACKING", "ON", "NOSUCH"), "ERR syntax error"),
        (("CLIENT", "CACHING", "YES"),
         "ERR CLIENT CACHING can be called only when the client is in tracking mode with "
         "OPTIN or OPTOUT mode enabled"),
        (("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"),
         "ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single "
         "client must not overlap."),
    ]
    for args, err in cases:
        assert call(c, *args) == ("-", err), args
    ok(c, "CLIENT", "TRACKING", "ON", "OPTIN")
    assert call(c, "CLIENT", "CACHING", "NO") == (
        "-", "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    assert call(c, "CLIENT", "TRACKING", "ON", "OPTOUT") == (
        "-", "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
        "client, and then re-enabling it with a different mode.")
    assert call(c, "CLIENT", "TRACKING", "ON", "BCAST") == (
        "-", "ERR You can't switch BCAST mode on/off before disabling tracking for this "
        "client, and then re-enabling it with a different mode.")
    ok(c, "CLIENT", "TRACKING", "OFF")
    ok(c, "CLIENT", "TRACKING", "ON", "OPTOUT")
    assert call(c, "CLIENT", "CACHING", "YES") == (
        "-", "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")


def entry(r, cid):
    return next(c for c in r.client_list() if int(c["id"]) == cid)


def test_client_list_and_info(r, raw):
    base = r.info("clients")["tracking_clients"]
    a = raw()
    aid = client_id(a)
    assert "t" not in entry(r, aid)["flags"]
    assert entry(r, aid)["redir"] == "-1"
    b = raw()
    bid = client_id(b)
    ok(a, "CLIENT", "TRACKING", "ON", "REDIRECT", bid)
    e = entry(r, aid)
    assert "t" in e["flags"] and "B" not in e["flags"] and e["redir"] == str(bid)
    call(a, "GET", "info-key")
    assert r.info("clients")["tracking_clients"] == base + 1
    assert r.info("stats")["tracking_total_keys"] >= 1
    c = resp3(raw)
    cid = client_id(c)
    ok(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "z")
    e = entry(r, cid)
    assert "t" in e["flags"] and "B" in e["flags"] and e["redir"] == "0"
    assert r.info("stats")["tracking_total_prefixes"] >= 1
    # RESET turns tracking off; a closed connection is forgotten.
    assert call(c, "RESET") == ("+", "RESET")
    assert "t" not in entry(r, cid)["flags"]
    a.close()
    deadline = time.time() + 5
    while r.info("clients")["tracking_clients"] != base and time.time() < deadline:
        time.sleep(0.02)
    assert r.info("clients")["tracking_clients"] == base


def test_bcast_batches_an_iteration_per_prefix(r, raw):
    """BCAST invalidations are gathered while commands run and sent once per
    event-loop iteration, as Redis does: each prefix's sessions get one
    message with every key changed under it, in byte order, prefixes in
    byte order too."""
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    r.mset({"user:2": "a", "zz": "b", "user:1": "c", "obj:9": "d", "user:3": "e"})
    assert invalidated(c) == [["obj:9"], ["user:1", "user:2", "user:3"]]
    # A pipeline read at once: the same key twice is sent once.
    w = raw()
    w.send(b"SET user:5 a\r\nSET user:4 b\r\nDEL user:5\r\nSET other c\r\n")
    assert [w.read_reply() for _ in range(4)] == [("+", "OK"), ("+", "OK"), (":", "1"),
                                                  ("+", "OK")]
    assert invalidated(c) == [["user:4", "user:5"]]


def test_bcast_noloop_leaves_out_own_changes(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "n:", "NOLOOP")
    ok(c, "MSET", "n:1", "a", "n:2", "b")
    assert invalidated(c) == []
    r.set("n:3", "c")
    assert invalidated(c) == [["n:3"]]


def test_smove_invalidates_only_what_it_changed(r, raw):
    # SMOVE of a member the destination already has changes only the source.
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    r.sadd("src", "a", "b")
    r.sadd("dst", "a")
    call(c, "SMEMBERS", "src")
    call(c, "SMEMBERS", "dst")
    assert r.smove("src", "dst", "a") == 1
    assert invalidated(c) == [["src"]]
    call(c, "SMEMBERS", "src")
    assert r.smove("src", "dst", "b") == 1
    assert flat(invalidated(c)) == ["dst", "src"]


# ---------------------------------------------------------------------------
# Invalidations for the client whose command caused them come after its
# reply (Redis 7.0 defers them to the end of the command), never inside it.
# ---------------------------------------------------------------------------

def push(*keys):
    return (">", [("$", b"invalidate"),
                  ("_", "") if keys == (None,) else ("*", [("$", k.encode()) for k in keys])])


def test_own_write_is_invalidated_after_the_reply(raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    call(c, "HSET", "oh", "f", "1")
    call(c, "HGET", "oh", "f")
    c.cmd("HDEL", "oh", "f")
    assert c.read_reply() == (":", "1")
    assert c.read_reply() == push("oh")


def test_lazy_expiry_during_a_read_is_invalidated_after_it(r, raw):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        c = resp3(raw)
        ok(c, "CLIENT", "TRACKING", "ON")
        # Set and read in one transaction: ly{t} is tracked before it expires.
        ok(c, "MULTI")
        for cmd in (("MSET", "lx{t}", "1", "ly{t}", "2"), ("PEXPIRE", "ly{t}", "100"),
                    ("GET", "ly{t}")):
            c.cmd(*cmd)
            assert c.read_reply() == ("+", "QUEUED")
        c.cmd("EXEC")
        assert c.read_reply() == ("*", [("+", "OK"), (":", "1"), ("$", b"2")])
        time.sleep(0.15)
        c.cmd("MGET", "lx{t}", "ly{t}")
        assert c.read_reply() == ("*", [("$", b"1"), ("_", "")])
        assert c.read_reply() == push("ly{t}")
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_transaction_reply_is_not_interleaved(raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    ok(c, "MSET", "ta{t}", "1", "tb{t}", "2")
    call(c, "GET", "ta{t}")
    ok(c, "MULTI")
    for cmd in (("INCR", "ta{t}"), ("GET", "tb{t}")):
        c.cmd(*cmd)
        assert c.read_reply() == ("+", "QUEUED")
    c.cmd("EXEC")
    assert c.read_reply() == ("*", [(":", "2"), ("$", b"2")])
    assert c.read_reply() == push("ta{t}")
    # A flush inside a transaction: the null invalidation follows EXEC's reply.
    call(c, "GET", "ta{t}")
    ok(c, "MULTI")
    c.cmd("FLUSHDB")
    assert c.read_reply() == ("+", "QUEUED")
    c.cmd("EXEC")
    assert c.read_reply() == ("*", [("+", "OK")])
    assert c.read_reply() == push(None)


def test_script_write_is_invalidated_after_the_reply_and_noloop_holds(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    ok(c, "SET", "sk", "1")
    call(c, "GET", "sk")
    c.cmd("EVAL", "return redis.call('set', KEYS[1], '2')", "1", "sk")
    assert c.read_reply() == ("+", "OK")
    assert c.read_reply() == push("sk")
    # NOLOOP: a script's writes are its caller's own.
    n = resp3(raw)
    ok(n, "CLIENT", "TRACKING", "ON", "NOLOOP")
    call(n, "GET", "sk")
    n.cmd("EVAL", "return redis.call('set', KEYS[1], '3')", "1", "sk")
    assert n.read_reply() == ("+", "OK")
    assert invalidated(n) == []
    call(n, "GET", "sk")
    r.set("sk", "4")
    assert invalidated(n) == [["sk"]]


def test_read_only_script_tracks_only_if_it_reads(r, raw):
    c = resp3(raw)
    ok(c, "CLIENT", "TRACKING", "ON")
    call(c, "EVAL_RO", "redis.call('ping')", "1", "ro1")
    r.set("ro1", "1")
    assert invalidated(c) == []
    call(c, "EVAL_RO", "redis.call('get', KEYS[1])", "1", "ro1")
    r.set("ro1", "2")
    assert invalidated(c) == [["ro1"]]


def test_lowering_the_table_limit_invalidates_at_once(r, raw):
    old = r.config_get("tracking-table-max-keys")["tracking-table-max-keys"]
    sub = raw()
    sid = client_id(sub)
    sub.cmd("SUBSCRIBE", "__redis__:invalidate")
    sub.read_reply()
    t = raw()
    ok(t, "CLIENT", "TRACKING", "ON", "REDIRECT", sid)
    call(t, "MGET", "lim1{t}", "lim2{t}")
    try:
        r.config_set("tracking-table-max-keys", 1)
        # No further command of the tracking client is needed.
        _, v = sub.read_reply()
        assert v[0] == ("$", b"message") and v[1] == ("$", b"__redis__:invalidate")
        assert [k[1] for k in v[2][1]] in ([b"lim1{t}"], [b"lim2{t}"])
    finally:
        r.config_set("tracking-table-max-keys", old)
