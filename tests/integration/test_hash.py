"""The hash commands: HSET, HSETNX, HGET, HMGET, HMSET, HDEL, HLEN, HSTRLEN,
HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and
HSCAN; the listpack -> hashtable conversion at its configured limits; and
the generic commands (TYPE, OBJECT ENCODING, COPY, RENAME, MOVE, SCAN TYPE)
on hashes.

Every assertion here holds against Redis 7.0 too (run the suite with
CAIRN_TEST_SERVER=redis): replies and error strings are Redis's."""
import pytest
import redis

NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
SYNTAX = "syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
DEFAULT_ENTRIES = 512  # Redis 7.0's built-in default (its sample redis.conf says 128)
DEFAULT_VALUE = 64


def raw(r, *args):
    """Run a command and return the reply as sent, without redis-py's
    per-command parsing."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def err(r, *args):
    """The message of the error reply to a command (without the '-')."""
    with pytest.raises(redis.ResponseError) as e:
        raw(r, *args)
    return str(e.value)


def enc(r, key):
    return r.object("encoding", key)


@pytest.fixture
def hcfg(r):
    """Tests that change the thresholds put the defaults back."""
    yield r
    r.config_set("hash-max-listpack-entries", DEFAULT_ENTRIES)
    r.config_set("hash-max-listpack-value", DEFAULT_VALUE)


def big_hash(r, key, n, prefix="f"):
    """A hash of n fields, set in batches."""
    fields = {f"{prefix}{i}": f"v{i}" for i in range(n)}
    items = list(fields.items())
    for i in range(0, n, 200):
        r.hset(key, mapping=dict(items[i:i + 200]))
    return fields


@pytest.fixture
def resp3(raw):
    """A raw connection switched to RESP3."""
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    return c


# ------------------------------------------------------------ HSET & co.


def test_hset_counts_new_fields(r):
    assert r.hset("h", "a", "1") == 1
    assert r.hset("h", "a", "2") == 0
    assert raw(r, "HSET", "h", "a", "3", "b", "4", "c", "5") == 2
    assert r.hgetall("h") == {"a": "3", "b": "4", "c": "5"}


def test_hset_same_field_twice_in_one_call(r):
    assert raw(r, "HSET", "h", "a", "1", "a", "2") == 1
    assert r.hget("h", "a") == "2"
    assert r.hlen("h") == 1


def test_hset_arity(r):
    assert err(r, "HSET", "h", "a") == "wrong number of arguments for 'hset' command"
    assert err(r, "HSET", "h", "a", "1", "b") == "wrong number of arguments for 'hset' command"
    assert err(r, "HMSET", "h", "a") == "wrong number of arguments for 'hmset' command"
    assert err(r, "HMSET", "h", "a", "1", "b") == "wrong number of arguments for 'hmset' command"
    assert r.exists("h") == 0


def test_hmset_replies_ok(r):
    assert raw(r, "HMSET", "h", "a", "1", "b", "2") == "OK"
    assert r.hmget("h", "a", "b", "c") == ["1", "2", None]


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == "1"
    assert r.hsetnx("h", "b", "2") == 1
    assert r.hgetall("h") == {"a": "1", "b": "2"}


def test_binary_fields_and_values(rb):
    field, value = b"f\x00\xff\r\n", b"v\x00\x01\r\n\xfe"
    assert rb.hset("h", field, value) == 1
    assert rb.hget("h", field) == value
    assert rb.hget("h", b"f") is None
    assert rb.hgetall("h") == {field: value}


def test_empty_field_and_value(r):
    assert r.hset("h", "", "") == 1
    assert r.hget("h", "") == ""
    assert r.hexists("h", "") == 1
    assert r.hstrlen("h", "") == 0
    assert r.hlen("h") == 1


def test_integer_looking_values_round_trip(r):
    # The listpack stores these as integers; they must come back verbatim,
    # and values that only look like integers must not be normalised.
    vals = ["0", "-1", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "007", "+1", "1.0", " 1", "-0", "12345678901234567890"]
    for i, v in enumerate(vals):
        r.hset("h", f"f{i}", v)
    for i, v in enumerate(vals):
        assert r.hget("h", f"f{i}") == v
        assert r.hstrlen("h", f"f{i}") == len(v)
    r.hset("h", "100", "x")
    assert r.hget("h", "100") == "x"
    assert r.hexists("h", "0100") == 0


def test_hget_hmget_missing(r):
    assert r.hget("nokey", "a") is None
    assert r.hmget("nokey", "a", "b") == [None, None]
    r.hset("h", "a", "1")
    assert r.hget("h", "b") is None
    assert r.hmget("h", "b", "a", "b") == [None, "1", None]


def test_hdel(r):
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert r.hdel("h", "a", "x", "a") == 1
    assert r.hdel("h", "x") == 0
    assert r.hgetall("h") == {"b": "2", "c": "3"}
    assert r.hdel("nokey", "a") == 0


def test_hdel_last_field_deletes_key(r):
    r.hset("h", mapping={"a": 1, "b": 2})
    assert r.hdel("h", "a", "b", "c") == 2
    assert r.exists("h") == 0
    assert r.type("h") == "none"


def test_hdel_last_field_deletes_key_hashtable(r):
    r.hset("h", "a", "x" * 100)
    assert enc(r, "h") == "hashtable"
    assert r.hdel("h", "a") == 1
    assert r.exists("h") == 0


def test_hlen_hstrlen_hexists(r):
    assert r.hlen("nokey") == 0
    assert r.hstrlen("nokey", "a") == 0
    assert r.hexists("nokey", "a") == 0
    r.hset("h", mapping={"a": "hello", "n": -12345})
    assert r.hlen("h") == 2
    assert r.hstrlen("h", "a") == 5
    assert r.hstrlen("h", "n") == 6
    assert r.hstrlen("h", "x") == 0
    assert r.hexists("h", "a") == 1
    assert r.hexists("h", "x") == 0


# ------------------------------------------------------ whole-hash replies


def test_hkeys_hvals_hgetall(r):
    assert r.hkeys("nokey") == []
    assert r.hvals("nokey") == []
    assert r.hgetall("nokey") == {}
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    # A listpack keeps insertion order.
    assert r.hkeys("h") == ["a", "b", "c"]
    assert r.hvals("h") == ["1", "2", "3"]
    assert raw(r, "HGETALL", "h") == ["a", "1", "b", "2", "c", "3"]


def test_whole_hash_replies_hashtable(r):
    fields = big_hash(r, "h", 600)
    assert enc(r, "h") == "hashtable"
    keys = r.hkeys("h")
    assert sorted(keys) == sorted(fields)
    assert r.hvals("h") == [fields[k] for k in keys]  # same order
    assert r.hgetall("h") == fields


def test_hgetall_resp3_is_a_map(resp3):
    resp3.cmd("HSET", "h3", "a", "1", "b", "2")
    assert resp3.read_reply() == (":", "2")
    resp3.cmd("HGETALL", "h3")
    assert resp3.read_reply() == ("%", [(("$", b"a"), ("$", b"1")), (("$", b"b"), ("$", b"2"))])
    resp3.cmd("HGETALL", "nokey")
    assert resp3.read_reply() == ("%", [])
    resp3.cmd("HKEYS", "h3")
    assert resp3.read_reply() == ("*", [("$", b"a"), ("$", b"b")])
    resp3.cmd("HVALS", "nokey")
    assert resp3.read_reply() == ("*", [])
    resp3.cmd("HGET", "nokey", "a")
    assert resp3.read_reply() == ("_", "")
    resp3.cmd("DEL", "h3")
    resp3.read_reply()


# ----------------------------------------------------------------- HINCRBY


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    assert r.hget("h", "n") == "-2"
    assert r.hincrby("h", "m", 0) == 0
    assert r.hget("h", "m") == "0"


def test_hincrby_errors(r):
    assert err(r, "HINCRBY", "nokey", "f", "x") == NOT_INT
    assert err(r, "HINCRBY", "nokey", "f", "1.5") == NOT_INT
    assert r.exists("nokey") == 0
    r.hset("h", mapping={"s": "abc", "f": "1.5", "sp": " 1", "big": "9223372036854775808"})
    for f in ("s", "f", "sp", "big"):
        assert err(r, "HINCRBY", "h", f, "1") == "hash value is not an integer"
    r.hset("h", "max", "9223372036854775807")
    assert err(r, "HINCRBY", "h", "max", "1") == "increment or decrement would overflow"
    r.hset("h", "min", "-9223372036854775808")
    assert err(r, "HINCRBY", "h", "min", "-1") == "increment or decrement would overflow"
    assert r.hincrby("h", "min", 9223372036854775807) == -1
    assert r.hget("h", "max") == "9223372036854775807"


def test_hincrby_on_hashtable(r):
    r.hset("h", "long", "x" * 100)
    assert r.hincrby("h", "n", 10) == 10
    assert r.hincrby("h", "n", 10) == 20
    assert enc(r, "h") == "hashtable"


# ------------------------------------------------------------ HINCRBYFLOAT


def test_hincrbyfloat(r):
    assert raw(r, "HINCRBYFLOAT", "h", "x", "10.5") == "10.5"
    assert raw(r, "HINCRBYFLOAT", "h", "x", "0.1") == "10.6"
    assert r.hget("h", "x") == "10.6"
    assert raw(r, "HINCRBYFLOAT", "h", "y", "5.0e3") == "5000"
    assert raw(r, "HINCRBYFLOAT", "h", "y", "-5000") == "0"
    r.hset("h", "i", 7)
    assert raw(r, "HINCRBYFLOAT", "h", "i", "0.25") == "7.25"
    assert raw(r, "HINCRBYFLOAT", "h", "z", "-0.0") == "0"
    assert raw(r, "HINCRBYFLOAT", "h", "e", "1e-5") == "0.00001"


def test_hincrbyfloat_errors(r):
    assert err(r, "HINCRBYFLOAT", "nokey", "f", "abc") == NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "nokey", "f", "") == NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "nokey", "f", "nan") == NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "nokey", "f", "inf") == "value is NaN or Infinity"
    assert err(r, "HINCRBYFLOAT", "nokey", "f", "-inf") == "value is NaN or Infinity"
    assert r.exists("nokey") == 0
    r.hset("h", mapping={"s": "abc", "sp": "1 "})
    assert err(r, "HINCRBYFLOAT", "h", "s", "1") == "hash value is not a float"
    assert err(r, "HINCRBYFLOAT", "h", "sp", "1") == "hash value is not a float"
    r.hset("h", "huge", "1e4932")
    assert err(r, "HINCRBYFLOAT", "h", "huge", "1e4932") == \
        "increment would produce NaN or Infinity"
    assert r.hget("h", "huge") == "1e4932"


def test_hincrbyfloat_long_result_converts(r):
    # 1e400 printed in full is 401 digits: longer than any listpack value.
    res = raw(r, "HINCRBYFLOAT", "h", "f", "1e400")
    assert res.startswith("1000000000000") and len(res) == 401
    assert enc(r, "h") == "hashtable"
    assert r.hget("h", "f") == res


# -------------------------------------------------------------- HRANDFIELD


def test_hrandfield_single(r):
    assert r.hrandfield("nokey") is None
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    for _ in range(20):
        assert r.hrandfield("h") in ("a", "b", "c")


@pytest.mark.parametrize("n", [5, 50, 1000])
def test_hrandfield_positive_count_distinct(r, n):
    fields = big_hash(r, "h", n)
    assert enc(r, "h") == ("listpack" if n <= DEFAULT_ENTRIES else "hashtable")
    for count in (1, 2, n // 4 or 1, n // 3 + 1, n - 1, n, n + 1, 10 * n):
        got = r.hrandfield("h", count)
        assert len(got) == min(count, n)
        assert len(set(got)) == len(got)
        assert set(got) <= set(fields)


@pytest.mark.parametrize("n", [5, 1000])
def test_hrandfield_negative_count(r, n):
    fields = big_hash(r, "h", n)
    got = r.hrandfield("h", -3 * n)
    assert len(got) == 3 * n
    assert set(got) <= set(fields)
    assert len(set(got)) < len(got)  # 3n draws from n must repeat
    assert r.hrandfield("h", -1) and len(r.hrandfield("h", -1)) == 1


@pytest.mark.parametrize("n", [5, 1000])
def test_hrandfield_withvalues(r, n):
    fields = big_hash(r, "h", n)
    for count in (1, 3, n // 2, n, n + 5, -7, -2 * n):
        flat = raw(r, "HRANDFIELD", "h", str(count), "WITHVALUES")
        assert len(flat) == 2 * (abs(count) if count < 0 else min(count, n))
        pairs = list(zip(flat[0::2], flat[1::2]))
        for f, v in pairs:
            assert fields[f] == v
        if count > 0:
            assert len({f for f, _ in pairs}) == len(pairs)


def test_hrandfield_covers_every_field(r):
    # Every field can be picked, by every sampling strategy.
    r.hset("h", mapping={f"f{i}": i for i in range(10)})
    seen = set()
    for _ in range(200):
        seen.update(r.hrandfield("h", 3))
    assert len(seen) == 10
    big_hash(r, "big", 600)
    seen = set()
    for _ in range(100):
        seen.update(r.hrandfield("big", 50))   # few picks from many
        seen.update(r.hrandfield("big", 300))  # a good part of the hash
    assert len(seen) == 600


def chi_square(picks, universe):
    expected = len(picks) / len(universe)
    return sum((picks.count(x) - expected) ** 2 / expected for x in universe)


def test_hrandfield_uniform_in_a_hashtable(r):
    # Every field equally likely however the table's buckets are filled
    # (the Tcl suite's chi-square check: 9 degrees of freedom, 40 is a
    # 1 in 100000 chance for a fair pick).
    fields = {f"f{i}": i for i in range(9)}
    fields["long" * 20] = 9  # past hash-max-listpack-value: a hashtable
    r.hset("h", mapping=fields)
    assert enc(r, "h") == "hashtable"
    assert chi_square(r.hrandfield("h", -10000), list(fields)) < 40
    p = r.pipeline(transaction=False)
    for _ in range(2000):
        p.hrandfield("h")
    assert chi_square(p.execute(), list(fields)) < 40


def test_hrandfield_zero_and_missing(r):
    assert r.hrandfield("nokey", 5) == []
    assert raw(r, "HRANDFIELD", "nokey", "-5", "WITHVALUES") == []
    r.hset("h", "a", "1")
    assert r.hrandfield("h", 0) == []
    assert raw(r, "HRANDFIELD", "h", "0", "WITHVALUES") == []


def test_hrandfield_errors(r):
    r.hset("h", "a", "1")
    assert err(r, "HRANDFIELD", "h", "x") == NOT_INT
    assert err(r, "HRANDFIELD", "h", "1", "WITHVALUE") == SYNTAX
    assert err(r, "HRANDFIELD", "h", "1", "WITHVALUES", "x") == SYNTAX
    assert err(r, "HRANDFIELD", "h", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and " \
        "9223372036854775807"
    assert err(r, "HRANDFIELD", "h", "9223372036854775807", "WITHVALUES") == \
        "value is out of range"
    assert err(r, "HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES") == \
        "value is out of range"
    # Arguments are checked before the key.
    assert err(r, "HRANDFIELD", "nokey", "1", "x") == SYNTAX


def test_hrandfield_resp3_pairs(resp3):
    resp3.cmd("HSET", "hr3", "a", "1")
    resp3.read_reply()
    resp3.cmd("HRANDFIELD", "hr3", "-2", "WITHVALUES")
    assert resp3.read_reply() == ("*", [("*", [("$", b"a"), ("$", b"1")])] * 2)
    resp3.cmd("HRANDFIELD", "hr3", "5", "WITHVALUES")
    assert resp3.read_reply() == ("*", [("*", [("$", b"a"), ("$", b"1")])])
    resp3.cmd("HRANDFIELD", "hr3", "1")
    assert resp3.read_reply() == ("*", [("$", b"a")])
    resp3.cmd("HRANDFIELD", "nokey")
    assert resp3.read_reply() == ("_", "")
    resp3.cmd("DEL", "hr3")
    resp3.read_reply()


# ------------------------------------------------------------------- HSCAN


def full_hscan(r, key, **kw):
    cursor, seen = 0, {}
    calls = 0
    while True:
        cursor, part = r.hscan(key, cursor, **kw)
        seen.update(part)
        calls += 1
        if cursor == 0:
            return seen, calls


def test_hscan_listpack_whole(r):
    r.hset("h", mapping={"a": 1, "b": 2, "ab": 3})
    assert raw(r, "HSCAN", "h", "0") == ["0", ["a", "1", "b", "2", "ab", "3"]]
    assert raw(r, "HSCAN", "h", "0", "COUNT", "1") == ["0", ["a", "1", "b", "2", "ab", "3"]]
    assert raw(r, "HSCAN", "h", "0", "MATCH", "a*") == ["0", ["a", "1", "ab", "3"]]
    assert raw(r, "HSCAN", "h", "0", "MATCH", "zz*") == ["0", []]


def test_hscan_hashtable(r):
    fields = big_hash(r, "h", 1000)
    seen, calls = full_hscan(r, "h")
    assert seen == fields
    assert calls > 1
    seen, _ = full_hscan(r, "h", match="f1*", count=100)
    assert seen == {k: v for k, v in fields.items() if k.startswith("f1")}
    cursor, part = r.hscan("h", 0, count=1000000)
    assert cursor == 0 and part == fields


def test_hscan_missing_and_errors(r):
    assert raw(r, "HSCAN", "nokey", "0") == ["0", []]
    # Options are only looked at for an existing hash, as in Redis.
    assert raw(r, "HSCAN", "nokey", "0", "COUNT", "0") == ["0", []]
    assert err(r, "HSCAN", "nokey", "x") == "invalid cursor"
    r.hset("h", "a", "1")
    assert err(r, "HSCAN", "h", "x") == "invalid cursor"
    assert err(r, "HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "COUNT", "x") == NOT_INT
    assert err(r, "HSCAN", "h", "0", "TYPE", "string") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "MATCH") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "FOO", "bar") == SYNTAX


# ------------------------------------------------------------ WRONGTYPE


@pytest.mark.parametrize("args", [
    ("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"),
    ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HDEL", "s", "a"), ("HLEN", "s"),
    ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a"), ("HKEYS", "s"), ("HVALS", "s"),
    ("HGETALL", "s"), ("HINCRBY", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "1"),
    ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"), ("HRANDFIELD", "s", "-2", "WITHVALUES"),
    ("HSCAN", "s", "0"),
])
def test_wrongtype(r, args):
    r.set("s", "x")
    assert err(r, *args) == WRONGTYPE
    assert r.get("s") == "x"


def test_string_commands_on_a_hash(r):
    r.hset("h", "a", "1")
    assert err(r, "GET", "h") == WRONGTYPE
    assert err(r, "INCR", "h") == WRONGTYPE
    assert err(r, "APPEND", "h", "x") == WRONGTYPE


# ------------------------------------------------------------- encodings


def test_encoding_entries_boundary_default(r):
    big_hash(r, "h", DEFAULT_ENTRIES)
    assert enc(r, "h") == "listpack"
    r.hset("h", "f0", "updated")  # an update does not grow it
    assert enc(r, "h") == "listpack"
    r.hset("h", "one-more", "x")
    assert enc(r, "h") == "hashtable"
    assert r.hlen("h") == DEFAULT_ENTRIES + 1


def test_encoding_value_boundary(r):
    r.hset("h", "f", "x" * 64)
    r.hset("h", "x" * 64, "v")
    assert enc(r, "h") == "listpack"
    r.hset("h", "g", "x" * 65)
    assert enc(r, "h") == "hashtable"
    assert r.hget("h", "g") == "x" * 65
    assert r.hget("h", "f") == "x" * 64
    r.hset("h2", "x" * 65, "v")
    assert enc(r, "h2") == "hashtable"
    r.hsetnx("h3", "f", "y" * 65)
    assert enc(r, "h3") == "hashtable"
    r.hincrby("h4", "z" * 65, 1)
    assert enc(r, "h4") == "hashtable"
    raw(r, "HINCRBYFLOAT", "h5", "z" * 65, "1.5")
    assert enc(r, "h5") == "hashtable"


def test_encoding_conversion_is_one_way(r):
    big_hash(r, "h", DEFAULT_ENTRIES + 1)
    assert enc(r, "h") == "hashtable"
    for i in range(DEFAULT_ENTRIES - 1):
        r.hdel("h", f"f{i}")
    assert r.hlen("h") == 2
    assert enc(r, "h") == "hashtable"
    r.hset("v", "f", "x" * 100)
    r.hset("v", "f", "short")
    assert enc(r, "v") == "hashtable"


def test_encoding_entries_boundary_config(hcfg):
    r = hcfg
    r.config_set("hash-max-listpack-entries", 128)
    big_hash(r, "h", 128)
    assert enc(r, "h") == "listpack"
    r.hset("h", "x", "y")
    assert enc(r, "h") == "hashtable"
    # One HSET adding past the limit converts too.
    raw(r, "HSET", "g", *[x for i in range(129) for x in (f"f{i}", "v")])
    assert enc(r, "g") == "hashtable"
    assert r.hlen("g") == 129


def test_encoding_value_boundary_config(hcfg):
    r = hcfg
    r.config_set("hash-max-listpack-value", 10)
    r.hset("h", "f", "x" * 10)
    assert enc(r, "h") == "listpack"
    r.hset("h", "g", "x" * 11)
    assert enc(r, "h") == "hashtable"
    # A hash converted under one limit stays converted under another.
    r.config_set("hash-max-listpack-value", 64)
    assert enc(r, "h") == "hashtable"


def test_encoding_zero_limits(hcfg):
    r = hcfg
    r.config_set("hash-max-listpack-entries", 0)
    r.hset("h", "a", "1")
    assert enc(r, "h") == "hashtable"
    r.config_set("hash-max-listpack-entries", 512, "hash-max-listpack-value", 0)
    r.hset("g", "", "")
    assert enc(r, "g") == "listpack"
    r.hset("g", "a", "")
    assert enc(r, "g") == "hashtable"


def test_config_aliases(hcfg):
    r = hcfg
    assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "512"}
    assert r.config_get("hash-max-ziplist-entries") == {"hash-max-ziplist-entries": "512"}
    assert r.config_get("hash-max-ziplist-value") == {"hash-max-ziplist-value": "64"}
    assert r.config_get("hash-max-*") == {
        "hash-max-listpack-entries": "512", "hash-max-ziplist-entries": "512",
        "hash-max-listpack-value": "64", "hash-max-ziplist-value": "64"}
    assert r.config_set("hash-max-ziplist-entries", 7)
    assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "7"}
    assert r.config_set("hash-max-ziplist-value", "1kb")
    assert r.config_get("hash-max-listpack-value") == {"hash-max-listpack-value": "1024"}
    r.hset("h", mapping={f"f{i}": "v" for i in range(7)})
    assert enc(r, "h") == "listpack"
    r.hset("h", "f7", "v")
    assert enc(r, "h") == "hashtable"


def test_config_errors(hcfg):
    r = hcfg
    assert err(r, "CONFIG", "SET", "hash-max-listpack-entries", "-1") == (
        "CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - "
        "argument must be between 0 and 9223372036854775807 inclusive")
    assert err(r, "CONFIG", "SET", "hash-max-listpack-entries", "1k") == (
        "CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - "
        "argument couldn't be parsed into an integer")
    assert err(r, "CONFIG", "SET", "hash-max-ziplist-value", "-1") == (
        "CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - "
        "argument must be a memory value")
    assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "512"}


# --------------------------------------------- generic commands on hashes


@pytest.mark.parametrize("n", [3, DEFAULT_ENTRIES + 10])
def test_type_and_scan_type(r, n, ):
    big_hash(r, "h", n)
    r.set("s", "x")
    assert r.type("h") == "hash"
    keys = set()
    cursor = 0
    while True:
        cursor, part = r.scan(cursor, _type="hash")
        keys.update(part)
        if cursor == 0:
            break
    assert keys == {"h"}


@pytest.mark.parametrize("n", [3, DEFAULT_ENTRIES + 10])
def test_copy_is_independent(r, n):
    fields = big_hash(r, "h", n)
    encoding = enc(r, "h")
    assert r.copy("h", "h2") == 1
    assert enc(r, "h2") == encoding
    assert r.hgetall("h2") == fields
    r.hset("h2", "f0", "changed")
    r.hdel("h2", "f1")
    assert r.hgetall("h") == fields
    assert r.copy("h", "h2") == 0
    assert r.copy("h", "h2", replace=True) == 1
    assert r.hgetall("h2") == fields
    assert r.copy("h", "h", destination_db=1) == 1
    r.execute_command("SELECT", 1)
    try:
        assert r.hgetall("h") == fields
        r.delete("h")
    finally:
        r.execute_command("SELECT", 0)


@pytest.mark.parametrize("n", [3, DEFAULT_ENTRIES + 10])
def test_rename_and_move(r, n):
    fields = big_hash(r, "h", n)
    r.expire("h", 1000)
    assert r.rename("h", "g")
    assert r.hgetall("g") == fields
    assert 0 < r.ttl("g") <= 1000
    assert r.exists("h") == 0
    assert r.move("g", 1) == 1
    assert r.exists("g") == 0
    r.execute_command("SELECT", 1)
    try:
        assert r.hgetall("g") == fields
        assert r.type("g") == "hash"
        r.delete("g")
    finally:
        r.execute_command("SELECT", 0)


def test_del_and_expire(r):
    big_hash(r, "h", DEFAULT_ENTRIES + 10)
    r.hset("s", "a", "1")
    assert r.delete("h", "s") == 2
    r.hset("h", "a", "1")
    r.pexpire("h", 1)
    import time
    time.sleep(0.02)
    assert r.hget("h", "a") is None
    assert r.hset("h", "b", "2") == 1
    assert r.hgetall("h") == {"b": "2"}
    assert r.ttl("h") == -1


def test_command_info(r):
    r.response_callbacks.pop("COMMAND", None)
    expect = {
        "hset": (-4, {"write", "denyoom", "fast"}), "hsetnx": (4, {"write", "denyoom", "fast"}),
        "hget": (3, {"readonly", "fast"}), "hmget": (-3, {"readonly", "fast"}),
        "hmset": (-4, {"write", "denyoom", "fast"}), "hdel": (-3, {"write", "fast"}),
        "hlen": (2, {"readonly", "fast"}), "hstrlen": (3, {"readonly", "fast"}),
        "hexists": (3, {"readonly", "fast"}), "hkeys": (2, {"readonly"}),
        "hvals": (2, {"readonly"}), "hgetall": (2, {"readonly"}),
        "hincrby": (4, {"write", "denyoom", "fast"}),
        "hincrbyfloat": (4, {"write", "denyoom", "fast"}),
        "hrandfield": (-2, {"readonly"}), "hscan": (-3, {"readonly"}),
    }
    for name, (arity, flags) in expect.items():
        info = r.execute_command("COMMAND", "INFO", name)[0]
        assert info[0] == name
        assert info[1] == arity
        assert set(info[2]) == flags
        assert info[3:6] == [1, 1, 1]
        assert "@hash" in info[6]
