"""DEBUG DIGEST / DIGEST-VALUE / CHANGE-REPL-ID / OBJECT / SLEEP / HELP and
LOLWUT, as Redis 7.0.  The digests of two servers differ (Redis mixes
scores and values in its own formats), so only their shape and equalities
are compared: equal data gives equal digests whatever the order it was
written in and whatever the encodings.  Every test here holds against
Redis 7.0 too (CAIRN_TEST_SERVER=redis)."""
import re
import time

import pytest
import redis

from conftest import RawConn, wait_for

HEX40 = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture
def pair(server_factory):
    a, b = server_factory(), server_factory()
    ra, rb = a.client(), b.client()
    yield ra, rb
    ra.close()
    rb.close()


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def values(r, *keys):
    return r.execute_command("DEBUG", "DIGEST-VALUE", *keys)


def fill(r, order):
    """The same dataset, written in the given order."""
    items = list(range(40))
    if order:
        items.reverse()
    for i in items:
        r.hset("h", f"f{i}", f"v{i}")
        r.sadd("s", f"m{i}")
        r.sadd("ints", i)
        r.zadd("z", {f"m{i}": i / 3})
        r.rpush("l", i)
        r.set(f"k{i}", i)
    if order:
        r.delete("l")
        r.rpush("l", *range(40))
    r.set("ttl", "x", ex=1000)
    r.select(1)
    r.set("other-db", "y")
    r.select(0)


def test_empty_dataset_is_zeros(pair):
    ra, _ = pair
    ra.flushall()
    assert digest(ra) == "0" * 40


def test_equal_data_equal_digest_whatever_order_and_encoding(pair):
    ra, rb = pair
    # b keeps everything in its big encodings from the start.
    rb.config_set("hash-max-listpack-entries", 0)
    rb.config_set("zset-max-listpack-entries", 0)
    rb.config_set("set-max-intset-entries", 0)
    rb.config_set("list-max-listpack-size", 1)
    fill(ra, 0)
    fill(rb, 1)
    assert ra.object("encoding", "h") != rb.object("encoding", "h")
    da, db = digest(ra), digest(rb)
    assert HEX40.match(da) and da != "0" * 40
    assert da == db
    keys = ["h", "s", "ints", "z", "l", "k7", "ttl", "missing"]
    assert values(ra, *keys) == values(rb, *keys)


def test_digest_follows_changes(pair):
    ra, rb = pair
    fill(ra, 0)
    fill(rb, 0)
    before = digest(ra)
    ra.hset("h", "f1", "changed")
    assert digest(ra) != before
    ra.hset("h", "f1", "v1")
    assert digest(ra) == before
    ra.zadd("z", {"m1": 42})
    assert digest(ra) != digest(rb)
    ra.zadd("z", {"m1": 1 / 3})
    assert digest(ra) == digest(rb)
    # A list is ordered.
    ra.lset("l", 0, "1")
    ra.lset("l", 1, "0")
    assert digest(ra) != digest(rb)
    ra.lset("l", 0, "0")
    ra.lset("l", 1, "1")
    # Having an expiry counts, not its time.
    ra.persist("ttl")
    assert digest(ra) != digest(rb)
    ra.expire("ttl", 5000)
    assert digest(ra) == digest(rb)
    # The db a key lives in counts.
    ra.move("k1", 3)
    assert digest(ra) != digest(rb)


def test_digest_value(pair):
    ra, _ = pair
    ra.flushall()
    ra.set("a", "1")
    ra.rpush("b", "1")
    ra.sadd("c", "1")
    [va, vb, vc, vm] = values(ra, "a", "b", "c", "missing")
    assert all(HEX40.match(v) for v in (va, vb, vc))
    assert len({va, vb, vc}) == 3  # the type counts
    assert vm == "0" * 40
    assert values(ra) == []


def test_change_repl_id_and_help(pair):
    ra, _ = pair
    assert ra.execute_command("DEBUG", "CHANGE-REPL-ID") in (True, "OK")
    lines = ra.execute_command("DEBUG", "HELP")
    for needle in ("DIGEST", "DIGEST-VALUE <key> [<key> ...]", "CHANGE-REPL-ID", "OBJECT <key>",
                   "SLEEP <seconds>"):
        assert needle in lines


def test_debug_object_and_sleep(pair):
    ra, _ = pair
    ra.set("s", "hello")
    ra.response_callbacks.pop("DEBUG OBJECT", None)
    out = ra.execute_command("DEBUG", "OBJECT", "s")
    assert re.match(r"^Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:\d+ "
                    r"lru:\d+ lru_seconds_idle:\d+", out)
    with pytest.raises(redis.ResponseError) as e:
        ra.execute_command("DEBUG", "OBJECT", "nosuch")
    assert str(e.value) == "no such key"
    start = time.monotonic()
    ra.execute_command("DEBUG", "SLEEP", "0.2")
    assert time.monotonic() - start >= 0.19


def test_lolwut(pair):
    ra, _ = pair
    version = ra.info("server")["redis_version"]
    assert ra.execute_command("LOLWUT") == f"Redis ver. {version}\n"
    with pytest.raises(redis.ResponseError) as e:
        ra.execute_command("LOLWUT", "VERSION", "x")
    assert str(e.value) == "value is not an integer or out of range"


def test_stream_digest(pair):
    ra, rb = pair
    for r in (ra, rb):
        r.flushall()
        r.xadd("st", {"a": "1", "b": "x"}, id="1-1")
        r.xadd("st", {"c": "2"}, id="2-0")
        r.xgroup_create("st", "g", id="0")
    assert digest(ra) == digest(rb)
    assert values(ra, "st") == values(rb, "st")
    ra.xadd("st", {"c": "3"}, id="3-0")
    assert digest(ra) != digest(rb)


def test_digest_sees_where_values_are(pair):
    """Same strings, placed differently: the digest must tell each apart
    (a hash whose values are swapped between fields, a sorted set whose
    scores are, a string cut at another place, another type)."""
    ra, rb = pair
    cases = [
        (lambda r: r.hset("h", mapping={"a": "1", "b": "2"}),
         lambda r: r.hset("h", mapping={"a": "2", "b": "1"})),
        (lambda r: r.zadd("z", {"a": 1, "b": 2}), lambda r: r.zadd("z", {"a": 2, "b": 1})),
        (lambda r: r.hset("h", "ab", "c"), lambda r: r.hset("h", "a", "bc")),
        (lambda r: r.rpush("l", "ab", "c"), lambda r: r.rpush("l", "a", "bc")),
        (lambda r: r.set("ab", "c"), lambda r: r.set("a", "bc")),
        (lambda r: r.set("k", "1"), lambda r: r.rpush("k", "1")),
        (lambda r: r.sadd("k", "1"), lambda r: r.rpush("k", "1")),
        (lambda r: r.sadd("k", "x", "y"), lambda r: r.sadd("k", "x", "z")),
        (lambda r: r.set("k", "v"), lambda r: r.set("k", "v", ex=100)),
    ]
    for left, right in cases:
        for r in (ra, rb):
            r.flushall()
        left(ra)
        right(rb)
        assert digest(ra) != digest(rb)
        rb.flushall()
        left(rb)
        assert digest(ra) == digest(rb)


def test_digest_of_many_keys_whatever_order(pair):
    """A few thousand keys of every type written in opposite orders."""
    ra, rb = pair
    n = 2000
    for r, order in ((ra, range(n)), (rb, reversed(range(n)))):
        r.flushall()
        p = r.pipeline(transaction=False)
        for i in order:
            kind = i % 6
            if kind == 0:
                p.set(f"s{i}", i if i % 2 else f"v{i}")
            elif kind == 1:
                p.hset(f"h{i % 60}", f"f{i}", i)
            elif kind == 2:
                p.sadd(f"set{i % 60}", i)
            elif kind == 3:
                p.zadd(f"z{i % 60}", {f"m{i}": i / 7})
            elif kind == 4:
                p.set(f"t{i}", "x", ex=10000)
            else:
                p.rpush(f"l{i}", "a", i)
        p.execute()
    assert ra.dbsize() == rb.dbsize()
    assert digest(ra) == digest(rb)
    rb.hset("h1", "f1", "other")
    assert digest(ra) != digest(rb)


def test_debug_populate(r):
    """DEBUG POPULATE count [prefix [size]], as Redis 7.0."""
    assert r.execute_command("DEBUG", "POPULATE", 3) in (True, "OK")
    assert sorted(r.keys("*")) == ["key:0", "key:1", "key:2"]
    assert r.get("key:2") == "value:2"
    r.execute_command("DEBUG", "POPULATE", 2, "pre", 10)
    assert r.get("pre:1") == "value:1\0\0\0"
    r.execute_command("DEBUG", "POPULATE", 1, "cut", 3)
    assert r.get("cut:0") == "val"
    r.execute_command("DEBUG", "POPULATE", 1, "zero", 0)
    assert r.get("zero:0") == "value:0"
    # existing keys are left alone
    r.set("key:4", "mine")
    r.execute_command("DEBUG", "POPULATE", 6)
    assert r.get("key:4") == "mine" and r.get("key:5") == "value:5"
    assert r.dbsize() == 10
    r.execute_command("DEBUG", "POPULATE", 0)
    for bad in ([-1], ["abc"], [1, "x", -5]):
        with pytest.raises(redis.ResponseError, match="value is out of range, must be positive"):
            r.execute_command("DEBUG", "POPULATE", *bad)
    for arity in ([], [1, "a", 2, "c"]):
        with pytest.raises(redis.ResponseError, match="(?i)wrong number of arguments for 'populate'"):
            r.execute_command("DEBUG", "POPULATE", *arity)


def dataset(r):
    """Every type, a TTL and a second db: what a save must keep."""
    fill(r, 0)
    r.xadd("st", {"a": "1"}, id="1-1")
    r.xadd("st", {"b": "2"}, id="2-0")
    r.xgroup_create("st", "g", id="0")
    r.xreadgroup("g", "alice", {"st": ">"}, count=1)
    r.xadd("trimmed", {"f": "v"}, maxlen=1)
    r.xadd("trimmed", {"f": "w"}, maxlen=1)


def test_debug_reload_keeps_the_dataset(own):
    _, r = own
    dataset(r)
    before = digest(r)
    assert r.execute_command("DEBUG", "RELOAD") in (True, "OK")
    assert digest(r) == before
    assert 900 < r.ttl("ttl") <= 1000
    assert r.xpending("st", "g")["pending"] == 1
    # NOSAVE loads the file as the last save left it.
    r.set("after-save", 1)
    r.delete("k1")
    assert r.execute_command("DEBUG", "RELOAD", "NOSAVE") in (True, "OK")
    assert digest(r) == before
    assert r.exists("after-save") == 0
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("DEBUG", "RELOAD", "FOO")
    assert str(e.value) == "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."


def test_debug_loadaof_replays_the_log(own):
    _, r = own
    assert r.config_set("appendonly", "yes")
    assert wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0 and
                    r.info("persistence")["aof_rewrite_scheduled"] == 0)
    dataset(r)
    r.delete("k2")
    r.xtrim("st", maxlen=1, approximate=False)
    before = digest(r)
    assert r.execute_command("DEBUG", "LOADAOF") in (True, "OK")
    assert digest(r) == before
    assert r.xlen("st") == 1 and r.xinfo_stream("st")["entries-added"] == 2


def test_debug_quicklist_packed_threshold(r):
    for size in ("1b", "100", "2kb", "0"):
        assert r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", size) in (True, "OK")
    for bad in ("5gb", "abc", "-1"):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", bad)
        assert str(e.value) == "argument must be a memory value bigger than 1 and smaller than 4gb"
    # Lists of elements past a low threshold behave as any list.
    r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b")
    try:
        r.rpush("l", "a" * 500, "b", "c" * 500)
        r.linsert("l", "AFTER", "b", "d" * 500)
        r.lset("l", 0, "e")
        assert r.lrange("l", 0, -1) == ["e", "b", "d" * 500, "c" * 500]
        assert r.lpos("l", "d" * 500) == 2
    finally:
        r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")


PROTOCOL_RESP3 = {
    "string": b"$11\r\nHello World\r\n",
    "integer": b":12345\r\n",
    "double": b",3.141\r\n",
    "bignum": b"(1234567999999999999999999999999999999\r\n",
    "null": b"_\r\n",
    "array": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "set": b"~3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
    "attrib": (b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
               b"$39\r\nSome real reply following the attribute\r\n"),
    "push": (b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
             b"$40\r\nSome real reply following the push reply\r\n"),
    "verbatim": b"=29\r\ntxt:This is a verbatim\nstring\r\n",
    "true": b"#t\r\n",
    "false": b"#f\r\n",
}

PROTOCOL_RESP2 = {
    "double": b"$5\r\n3.141\r\n",
    "bignum": b"$37\r\n1234567999999999999999999999999999999\r\n",
    "null": b"$-1\r\n",
    "set": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
    "attrib": b"$39\r\nSome real reply following the attribute\r\n",
    "push": b"-ERR RESP2 is not supported by this command\r\n",
    "verbatim": b"$25\r\nThis is a verbatim\nstring\r\n",
    "true": b":1\r\n",
    "false": b":0\r\n",
}


def test_debug_protocol(server):
    """DEBUG PROTOCOL: one reply of each RESP type, byte for byte, in both
    protocols (client libraries test their parsers with it)."""
    def exchange(c, t):
        c.cmd("DEBUG", "PROTOCOL", t)
        c.cmd("PING")  # marks the end of the reply
        while not c.buf.endswith(b"+PONG\r\n"):
            c._fill()
        out, c.buf = c.buf[:-len(b"+PONG\r\n")], b""
        return out

    c = RawConn(server)
    for t, want in PROTOCOL_RESP2.items():
        assert exchange(c, t) == want, t
    assert exchange(c, "string") == PROTOCOL_RESP3["string"]
    c.cmd("HELLO", "3")
    c.read_reply()
    for t, want in PROTOCOL_RESP3.items():
        assert exchange(c, t) == want, t
    assert exchange(c, "nope") == (
        b"-ERR Wrong protocol type name. Please use one of the following: "
        b"string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n")


def test_debug_set_disable_deny_scripts(r):
    body = "return redis.call('debug', 'protocol', 'string')"
    with pytest.raises(redis.ResponseError, match="not allowed from script"):
        r.eval(body, 0)
    assert r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
    try:
        assert r.eval(body, 0) == "Hello World"
        m = r.eval("redis.setresp(3); return redis.call('debug', 'protocol', 'map')", 0)
        assert dict(zip(m[::2], m[1::2])) == {0: 0, 1: 1, 2: 0}
    finally:
        r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
    with pytest.raises(redis.ResponseError, match="not allowed from script"):
        r.eval(body, 0)


def test_debug_pause_cron_stops_active_expiry(own):
    _, r = own
    assert r.execute_command("DEBUG", "PAUSE-CRON", "1")
    try:
        r.set("pc", "v", px=20)
        time.sleep(0.5)
        assert r.dbsize() == 1  # nothing deletes it while the cron is paused
    finally:
        r.execute_command("DEBUG", "PAUSE-CRON", "0")
    assert wait_for(lambda: r.dbsize() == 0, timeout=10)


def test_debug_protocol_push_with_replies_off(server):
    # A push is not a reply: CLIENT REPLY OFF drops only the reply after it.
    c = RawConn(server)
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("CLIENT", "REPLY", "OFF")
    c.cmd("DEBUG", "PROTOCOL", "push")
    c.cmd("CLIENT", "REPLY", "ON")
    assert c.read_reply() == (">", [("$", b"server-cpu-usage"), (":", "42")])
    assert c.read_reply() == ("+", "OK")


def reply_buffer(r, name):
    """rbs and rbp of the client named name, from CLIENT LIST."""
    line = next(c for c in r.client_list() if c["name"] == name)
    return int(line["rbs"]), int(line["rbp"])


def test_debug_replybuffer(server_factory):
    """DEBUG REPLYBUFFER (Redis 7.0's unit/replybufsize): an idle client's
    reply buffer shrinks to about 1 KiB once its peak resets, a client
    fetching a 32 KiB value grows it back to a 16 KiB one while the peak
    never resets, and RESIZING 0 stops both."""
    s = server_factory()
    r, tc = s.client(), s.client()
    try:
        assert r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100") == "OK"
        tc.client_setname("test_client")
        assert wait_for(lambda: 1024 <= reply_buffer(r, "test_client")[0] < 2046, timeout=10)
        r.set("bigval", "x" * 32768)
        assert r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never") == "OK"

        def grown():
            tc.get("bigval")
            return 16384 <= reply_buffer(r, "test_client")[0] < 32768
        assert wait_for(grown, timeout=10)
        tc.get("bigval")
        assert reply_buffer(r, "test_client")[1] > 2046  # a reply filled it
        # no resizing: an idle client keeps what it has
        assert r.execute_command("DEBUG", "REPLYBUFFER", "RESIZING", "0") == "OK"
        assert r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100") == "OK"
        time.sleep(0.5)
        assert reply_buffer(r, "test_client")[0] >= 16384
        assert r.execute_command("DEBUG", "REPLYBUFFER", "RESIZING", "1") == "OK"
        assert wait_for(lambda: reply_buffer(r, "test_client")[0] < 2046, timeout=10)
        assert tc.get("bigval") == "x" * 32768
        assert r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset") == "OK"
        with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
            r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "soon")
        with pytest.raises(redis.ResponseError, match="^unknown subcommand or wrong number of "
                           "arguments for 'REPLYBUFFER'. Try DEBUG HELP.$"):
            r.execute_command("DEBUG", "REPLYBUFFER", "PEAK", "1")
        with pytest.raises(redis.ResponseError, match="^unknown subcommand"):
            r.execute_command("DEBUG", "REPLYBUFFER", "RESIZING")
        assert any(line.startswith("REPLYBUFFER RESIZING")
                   for line in r.execute_command("DEBUG", "HELP"))
    finally:
        r.close()
        tc.close()
