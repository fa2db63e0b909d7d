"""The list commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE,
LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH and LMPOP, with
their edge cases and exact error strings; lists large enough to span many
quicklist nodes; the generic commands (TYPE, OBJECT ENCODING, COPY, RENAME,
MOVE, SCAN TYPE) on lists; and the list configuration parameters.

Every assertion not marked cairn_only holds against Redis 7.0 too (run the
suite with CAIRN_TEST_SERVER=redis).  The encoding tests are cairn_only:
Cairn keeps small lists as a single listpack, as Redis 7.2 does, while
Redis 7.0 reports every list as "quicklist"."""
import pytest
import redis

NOT_INT = "value is not an integer or out of range"
SYNTAX = "syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
RANK_ZERO = ("RANK can't be zero: use 1 to start from the first match, 2 from the "
             "second ... or use negative to start from the end of the list")


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
    """The message of the error reply to a command (without 'ERR ')."""
    with pytest.raises(redis.ResponseError) as e:
        raw(r, *args)
    return str(e.value)


@pytest.fixture
def small_nodes(r):
    """Restore the list parameters that a test changes."""
    yield r
    r.config_set("list-max-listpack-size", -2)


def content(r, key):
    return r.lrange(key, 0, -1)


# ---------------------------------------------------------------------------
# Pushes
# ---------------------------------------------------------------------------

def test_push_order_and_length(r):
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "x", "y") == 4
    assert content(r, "l") == ["y", "x", "a", "b"]
    assert r.llen("l") == 4
    assert r.type("l") == "list"


def test_pushx_only_on_existing(r):
    assert r.lpushx("l", "a") == 0
    assert raw(r, "RPUSHX", "l", "a", "b") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert raw(r, "LPUSHX", "l", "a", "b") == 3
    assert raw(r, "RPUSHX", "l", "y", "z") == 5
    assert content(r, "l") == ["b", "a", "m", "y", "z"]


def test_push_wrongtype_and_arity(r):
    r.set("s", "v")
    for cmd in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        assert err(r, cmd, "s", "a") == WRONGTYPE
        assert err(r, cmd, "l") == f"wrong number of arguments for '{cmd.lower()}' command"
    assert r.get("s") == "v"


def test_values_round_trip(rb):
    # Integer-looking values come back byte for byte, whatever the
    # listpack stores them as.
    vals = [b"0", b"-0", b"007", b"12", b"-12", b"1e3", b" 1", b"1 ",
            b"9223372036854775807", b"-9223372036854775808",
            b"9223372036854775808", b"-9223372036854775809", b"127", b"-128",
            b"4095", b"-4096", b"32767", b"8388607", b"2147483647", b"",
            b"a\x00b", b"\r\n", b"\xff" * 70, b"x" * 5000, b"+1", b"0x10"]
    rb.rpush("l", *vals)
    assert rb.lrange("l", 0, -1) == vals
    for i, v in enumerate(vals):
        assert rb.lindex("l", i) == v
    assert rb.lpos("l", b"-0") == 1
    assert rb.lpos("l", b"0") == 0
    assert rb.lpos("l", b"9223372036854775808") == 10


# ---------------------------------------------------------------------------
# Pops
# ---------------------------------------------------------------------------

def test_pop_single(r):
    r.rpush("l", "a", "b", "c")
    assert r.lpop("l") == "a"
    assert r.rpop("l") == "c"
    assert r.lpop("l") == "b"
    assert r.exists("l") == 0
    assert r.lpop("l") is None
    assert r.rpop("l") is None


def test_pop_with_count(r):
    r.rpush("l", *"abcdef")
    assert r.lpop("l", 2) == ["a", "b"]
    assert r.rpop("l", 2) == ["f", "e"]
    assert r.lpop("l", 0) == []
    assert r.rpop("l", 10) == ["d", "c"]
    assert r.exists("l") == 0
    # A missing key with a count is a null array.
    assert r.lpop("l", 3) is None
    assert r.lpop("l", 0) is None


def test_pop_reply_shapes(r, raw):
    c = raw()
    c.cmd("RPUSH", "l", "a")
    assert c.read_reply() == (":", "1")
    c.cmd("LPOP", "nokey")
    assert c.read_reply() == ("$", None)
    c.cmd("LPOP", "nokey", "1")
    assert c.read_reply() == ("*", None)
    c.cmd("LPOP", "l", "0")
    assert c.read_reply() == ("*", [])
    c.cmd("LPOP", "l", "1")
    assert c.read_reply() == ("*", [("$", b"a")])
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("LPOP", "nokey")
    assert c.read_reply() == ("_", "")
    c.cmd("RPOP", "nokey", "2")
    assert c.read_reply() == ("_", "")
    c.cmd("LPOS", "nokey", "a")
    assert c.read_reply() == ("_", "")
    c.cmd("LMPOP", "1", "nokey", "LEFT")
    assert c.read_reply() == ("_", "")


def test_pop_errors(r):
    r.rpush("l", "a")
    assert err(r, "LPOP", "l", "-1") == "value is out of range, must be positive"
    assert err(r, "RPOP", "l", "x") == "value is out of range, must be positive"
    assert err(r, "LPOP", "l", "1", "2") == "wrong number of arguments for 'lpop' command"
    assert err(r, "RPOP", "l", "1", "2") == "wrong number of arguments for 'rpop' command"
    # The count is checked before the key.
    assert err(r, "LPOP", "nokey", "-1") == "value is out of range, must be positive"
    r.set("s", "v")
    assert err(r, "LPOP", "s") == WRONGTYPE
    assert err(r, "RPOP", "s", "0") == WRONGTYPE


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------

def test_llen(r):
    assert r.llen("l") == 0
    r.rpush("l", "a", "b")
    assert r.llen("l") == 2
    r.set("s", "v")
    assert err(r, "LLEN", "s") == WRONGTYPE


def test_lindex(r):
    r.rpush("l", "a", "b", "c")
    assert [r.lindex("l", i) for i in range(-4, 4)] == [None, "a", "b", "c", "a", "b", "c", None]
    assert r.lindex("l", 2**63 - 1) is None
    assert r.lindex("l", -2**63) is None
    assert err(r, "LINDEX", "l", "x") == NOT_INT
    assert err(r, "LINDEX", "l", "1.5") == NOT_INT
    # A missing key answers nil before the index is parsed.
    assert r.lindex("nokey", "x") is None
    r.set("s", "v")
    assert err(r, "LINDEX", "s", "0") == WRONGTYPE


def test_lrange(r):
    r.rpush("l", *"abcde")
    assert r.lrange("l", 0, -1) == list("abcde")
    assert r.lrange("l", 1, 3) == list("bcd")
    assert r.lrange("l", -2, -1) == list("de")
    assert r.lrange("l", -100, 1) == list("ab")
    assert r.lrange("l", 3, 100) == list("de")
    assert r.lrange("l", 3, 1) == []
    assert r.lrange("l", 5, 10) == []
    assert r.lrange("l", -1, -2) == []
    assert r.lrange("l", 0, 0) == ["a"]
    assert r.lrange("l", -2**63, 2**63 - 1) == list("abcde")
    assert r.lrange("nokey", 0, -1) == []
    # The indexes are parsed before the key is looked up.
    assert err(r, "LRANGE", "nokey", "x", "1") == NOT_INT
    assert err(r, "LRANGE", "l", "0", "y") == NOT_INT
    r.set("s", "v")
    assert err(r, "LRANGE", "s", "0", "-1") == WRONGTYPE
    assert err(r, "LRANGE", "s", "a", "-1") == NOT_INT


def test_lpos(r):
    r.rpush("l", *"abcabcab")
    assert r.lpos("l", "a") == 0
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "z") is None
    assert r.lpos("l", "a", rank=2) == 3
    assert r.lpos("l", "a", rank=-1) == 6
    assert r.lpos("l", "a", rank=-3) == 0
    assert r.lpos("l", "a", rank=4) is None
    assert r.lpos("l", "a", count=0) == [0, 3, 6]
    assert r.lpos("l", "a", count=2) == [0, 3]
    assert r.lpos("l", "a", count=2, rank=-1) == [6, 3]
    assert r.lpos("l", "a", count=5, rank=2) == [3, 6]
    assert r.lpos("l", "z", count=2) == []
    assert r.lpos("l", "a", maxlen=3) == 0
    assert r.lpos("l", "c", maxlen=2) is None
    assert r.lpos("l", "a", count=0, maxlen=4) == [0, 3]
    assert r.lpos("l", "b", rank=-1, maxlen=2) == 7
    assert r.lpos("l", "b", rank=-1, count=0, maxlen=4) == [7, 4]
    assert r.lpos("l", "a", rank=2**63 - 1) is None
    # -2**63 cannot be negated; Redis then finds the first match from the
    # tail, as for -1.
    assert raw(r, "LPOS", "l", "a", "RANK", str(-2**63)) == 6
    # Options may repeat; the last one wins.
    assert raw(r, "LPOS", "l", "a", "RANK", "2", "RANK", "1") == 0
    assert r.lpos("nokey", "a") is None
    assert r.lpos("nokey", "a", count=1) == []


def test_lpos_errors(r):
    r.rpush("l", "a")
    assert err(r, "LPOS", "l", "a", "RANK", "0") == RANK_ZERO
    assert err(r, "LPOS", "l", "a", "RANK", "x") == NOT_INT
    assert err(r, "LPOS", "l", "a", "COUNT", "-1") == "COUNT can't be negative"
    assert err(r, "LPOS", "l", "a", "COUNT", "x") == "COUNT can't be negative"
    assert err(r, "LPOS", "l", "a", "MAXLEN", "-1") == "MAXLEN can't be negative"
    assert err(r, "LPOS", "l", "a", "MAXLEN", "x") == "MAXLEN can't be negative"
    assert err(r, "LPOS", "l", "a", "RANK") == SYNTAX
    assert err(r, "LPOS", "l", "a", "FOO", "1") == SYNTAX
    # Options are checked before the key.
    assert err(r, "LPOS", "nokey", "a", "RANK", "0") == RANK_ZERO
    r.set("s", "v")
    assert err(r, "LPOS", "s", "a") == WRONGTYPE


# ---------------------------------------------------------------------------
# Edits
# ---------------------------------------------------------------------------

def test_lset(r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 0, "x") is True
    assert r.lset("l", -1, "z") is True
    assert r.lset("l", 1, "y" * 1000) is True
    assert content(r, "l") == ["x", "y" * 1000, "z"]
    assert err(r, "LSET", "l", "3", "v") == "index out of range"
    assert err(r, "LSET", "l", "-4", "v") == "index out of range"
    assert err(r, "LSET", "l", "x", "v") == NOT_INT
    assert err(r, "LSET", "nokey", "0", "v") == "no such key"
    # A missing key is reported before a bad index.
    assert err(r, "LSET", "nokey", "x", "v") == "no such key"
    r.set("s", "v")
    assert err(r, "LSET", "s", "0", "v") == WRONGTYPE


def test_linsert(r):
    r.rpush("l", "a", "b", "c")
    assert r.linsert("l", "BEFORE", "b", "x") == 4
    assert r.linsert("l", "after", "c", "y") == 5
    assert r.linsert("l", "before", "a", "w") == 6
    assert content(r, "l") == ["w", "a", "x", "b", "c", "y"]
    assert r.linsert("l", "BEFORE", "zz", "v") == -1
    assert r.linsert("nokey", "BEFORE", "a", "v") == 0
    assert r.exists("nokey") == 0
    # Only the first occurrence of the pivot counts.
    r.rpush("d", "p", "p")
    assert r.linsert("d", "AFTER", "p", "q") == 3
    assert content(r, "d") == ["p", "q", "p"]
    # The position word is checked first.
    assert err(r, "LINSERT", "nokey", "middle", "a", "b") == SYNTAX
    r.set("s", "v")
    assert err(r, "LINSERT", "s", "BEFORE", "a", "b") == WRONGTYPE
    assert err(r, "LINSERT", "s", "x", "a", "b") == SYNTAX


def test_lrem(r):
    r.rpush("l", *"abacadaa")
    assert r.lrem("l", 2, "a") == 2
    assert content(r, "l") == list("bcadaa")
    assert r.lrem("l", -2, "a") == 2
    assert content(r, "l") == list("bcad")
    assert r.lrem("l", 0, "z") == 0
    assert r.lrem("l", 0, "a") == 1
    assert content(r, "l") == list("bcd")
    assert r.lrem("nokey", 0, "a") == 0
    r.rpush("e", "x", "x")
    assert r.lrem("e", 0, "x") == 2
    assert r.exists("e") == 0
    # A huge count removes every match; -2**63 does as well in Redis.
    r.rpush("e", "x", "y", "x")
    assert raw(r, "LREM", "e", str(-2**63), "x") == 2
    assert content(r, "e") == ["y"]
    assert err(r, "LREM", "l", "x", "a") == NOT_INT
    assert err(r, "LREM", "nokey", "x", "a") == NOT_INT
    r.set("s", "v")
    assert err(r, "LREM", "s", "0", "a") == WRONGTYPE


@pytest.mark.parametrize("start,stop", [
    (0, -1), (1, -2), (2, 2), (-3, -1), (0, 0), (-100, 100), (3, 1), (10, 20),
    (-1, -100), (0, -7), (5, 6), (6, 6), (-2**63, 2**63 - 1),
])
def test_ltrim(r, start, stop):
    items = list("abcdef")
    r.rpush("l", *items)
    assert r.ltrim("l", start, stop) is True
    # LRANGE over the same range gives what LTRIM keeps.
    r.rpush("m", *items)
    assert content(r, "l") == r.lrange("m", start, stop)
    if not content(r, "l"):
        assert r.exists("l") == 0


def test_ltrim_errors(r):
    assert r.ltrim("nokey", 0, 1) is True
    assert err(r, "LTRIM", "nokey", "x", "1") == NOT_INT
    r.set("s", "v")
    assert err(r, "LTRIM", "s", "0", "1") == WRONGTYPE


# ---------------------------------------------------------------------------
# LMOVE, RPOPLPUSH, LMPOP
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("src_end,dst_end", [
    ("LEFT", "LEFT"), ("LEFT", "RIGHT"), ("RIGHT", "LEFT"), ("RIGHT", "RIGHT")])
def test_lmove_directions(r, src_end, dst_end):
    r.rpush("s", "a", "b", "c")
    r.rpush("d", "x", "y")
    v = r.lmove("s", "d", src_end, dst_end)
    assert v == ("a" if src_end == "LEFT" else "c")
    want_d = [v, "x", "y"] if dst_end == "LEFT" else ["x", "y", v]
    assert content(r, "d") == want_d
    assert content(r, "s") == [e for e in "abc" if e != v]


def test_lmove_edges(r):
    assert r.lmove("nokey", "d") is None
    assert r.exists("d") == 0
    r.rpush("s", "a", "b", "c")
    # Same key: a rotation.
    assert r.lmove("s", "s", "LEFT", "RIGHT") == "a"
    assert content(r, "s") == ["b", "c", "a"]
    assert r.rpoplpush("s", "s") == "a"
    assert content(r, "s") == ["a", "b", "c"]
    # A single element moved onto itself stays.
    r.rpush("one", "x")
    assert r.lmove("one", "one", "RIGHT", "LEFT") == "x"
    assert content(r, "one") == ["x"]
    # Moving the last element deletes the source and creates the target.
    r.rpush("last", "z")
    assert r.rpoplpush("last", "new") == "z"
    assert r.exists("last") == 0
    assert content(r, "new") == ["z"]
    # A wrong-type destination leaves the source alone.
    r.set("str", "v")
    assert err(r, "LMOVE", "s", "str", "LEFT", "LEFT") == WRONGTYPE
    assert err(r, "RPOPLPUSH", "s", "str") == WRONGTYPE
    assert content(r, "s") == ["a", "b", "c"]
    assert err(r, "LMOVE", "str", "s", "LEFT", "LEFT") == WRONGTYPE
    # A missing source wins over a wrong-type destination.
    assert r.lmove("nokey", "str") is None
    assert err(r, "LMOVE", "s", "d", "UP", "LEFT") == SYNTAX
    assert err(r, "LMOVE", "s", "d", "LEFT", "DOWN") == SYNTAX
    assert err(r, "LMOVE", "nokey", "d", "LEFT", "DOWN") == SYNTAX


def test_lmpop(r):
    r.rpush("b", *"abcde")
    r.rpush("c", "z")
    assert r.lmpop(2, "a", "b", direction="LEFT") == ["b", ["a"]]
    assert r.lmpop(3, "a", "b", "c", direction="RIGHT", count=2) == ["b", ["e", "d"]]
    assert r.lmpop(1, "b", direction="LEFT", count=10) == ["b", ["b", "c"]]
    assert r.exists("b") == 0
    assert r.lmpop(2, "b", "c", direction="left") == ["c", ["z"]]
    assert r.lmpop(2, "b", "c", direction="LEFT") is None
    # A wrong type before the first non-empty list is an error, after it
    # is never looked at.
    r.set("s", "v")
    r.rpush("l", "x", "y")
    assert err(r, "LMPOP", "2", "s", "l", "LEFT") == WRONGTYPE
    assert r.lmpop(2, "l", "s", direction="LEFT") == ["l", ["x"]]
    assert err(r, "LMPOP", "2", "nokey", "s", "LEFT") == WRONGTYPE


def test_lmpop_errors(r):
    r.rpush("l", "a")
    assert err(r, "LMPOP", "0", "l", "LEFT") == "numkeys should be greater than 0"
    assert err(r, "LMPOP", "-1", "l", "LEFT") == "numkeys should be greater than 0"
    assert err(r, "LMPOP", "x", "l", "LEFT") == "numkeys should be greater than 0"
    assert err(r, "LMPOP", "2", "l", "LEFT") == SYNTAX
    assert err(r, "LMPOP", str(2**63 - 1), "l", "LEFT") == SYNTAX
    assert err(r, "LMPOP", "1", "l", "MIDDLE") == SYNTAX
    assert err(r, "LMPOP", "1", "l", "LEFT", "COUNT") == SYNTAX
    assert err(r, "LMPOP", "1", "l", "LEFT", "COUNT", "0") == "count should be greater than 0"
    assert err(r, "LMPOP", "1", "l", "LEFT", "COUNT", "x") == "count should be greater than 0"
    assert err(r, "LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1") == SYNTAX
    assert err(r, "LMPOP", "1", "l", "LEFT", "FOO") == SYNTAX
    assert err(r, "LMPOP", "1") == "wrong number of arguments for 'lmpop' command"
    assert r.llen("l") == 1


def test_lmpop_resp3_shape(r, raw):
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("RPUSH", "l", "a", "b")
    c.read_reply()
    c.cmd("LMPOP", "1", "l", "LEFT", "COUNT", "5")
    assert c.read_reply() == ("*", [("$", b"l"), ("*", [("$", b"a"), ("$", b"b")])])


# ---------------------------------------------------------------------------
# Large lists: many quicklist nodes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fill", [1, 2, 3, 8, -1, -2])
def test_large_list_operations(small_nodes, fill):
    r = small_nodes
    r.config_set("list-max-listpack-size", fill)
    model = [f"v{i}" for i in range(300)]
    r.rpush("l", *model[150:])
    r.lpush("l", *reversed(model[:150]))
    assert content(r, "l") == model
    assert r.lindex("l", 123) == model[123]
    assert r.lindex("l", -77) == model[-77]
    assert r.lrange("l", 97, 211) == model[97:212]
    # Inserts in the middle of full nodes.
    for i, pivot in enumerate(["v10", "v150", "v151", "v299", "v0"]):
        where = "BEFORE" if i % 2 else "AFTER"
        r.linsert("l", where, pivot, f"n{i}")
        j = model.index(pivot)
        model.insert(j if where == "BEFORE" else j + 1, f"n{i}")
    assert content(r, "l") == model
    r.lset("l", 200, "w" * 3000)
    model[200] = "w" * 3000
    r.lset("l", 201, "s")
    model[201] = "s"
    assert content(r, "l") == model
    assert r.lrem("l", 0, "s") == 1
    model.remove("s")
    r.ltrim("l", 5, -6)
    model = model[5:-5]
    assert content(r, "l") == model
    assert r.lpop("l", 40) == model[:40]
    assert r.rpop("l", 40) == model[-40:][::-1]
    model = model[40:-40]
    assert content(r, "l") == model
    assert r.lpos("l", "v200") == model.index("v200")


def test_big_values(r):
    big = "x" * 100000
    r.rpush("l", big, "small", big)
    assert r.lindex("l", 0) == big
    assert r.lrange("l", 1, 1) == ["small"]
    assert r.lpos("l", big, rank=2) == 2
    assert r.lset("l", 1, big)
    assert r.llen("l") == 3
    assert r.lrem("l", 0, big) == 3
    assert r.exists("l") == 0


# ---------------------------------------------------------------------------
# Generic commands on lists
# ---------------------------------------------------------------------------

def test_generic_commands(r):
    r.rpush("l", "a", "b")
    assert r.type("l") == "list"
    assert r.object("encoding", "l") in ("listpack", "quicklist")
    assert r.copy("l", "c") == 1
    r.rpush("c", "x")
    assert content(r, "l") == ["a", "b"]
    assert content(r, "c") == ["a", "b", "x"]
    assert r.rename("c", "d") is True
    assert content(r, "d") == ["a", "b", "x"]
    assert r.move("d", 1) == 1
    r.execute_command("SELECT", 1)
    assert content(r, "d") == ["a", "b", "x"]
    r.execute_command("SELECT", 0)
    r.set("s", "v")
    cursor, keys = r.scan(0, _type="list", count=100)
    assert cursor == 0 and keys == ["l"]
    assert r.delete("l") == 1
    assert r.exists("l") == 0


def test_copy_of_large_list(small_nodes):
    r = small_nodes
    r.config_set("list-max-listpack-size", 4)
    r.rpush("l", *range(50))
    assert r.copy("l", "c") == 1
    r.lset("c", 10, "changed")
    assert r.lindex("l", 10) == "10"
    assert r.lindex("c", 10) == "changed"
    assert r.llen("c") == 50


def test_config_parameters(small_nodes):
    r = small_nodes
    assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": "-2"}
    assert r.config_get("list-max-ziplist-size") == {"list-max-ziplist-size": "-2"}
    assert r.config_get("list-compress-depth") == {"list-compress-depth": "0"}
    r.config_set("list-max-ziplist-size", 7)
    assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": "7"}
    r.config_set("list-max-listpack-size", -10)
    assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": "-10"}
    r.config_set("list-max-listpack-size", 0)
    r.rpush("l", "a", "b", "c")
    assert content(r, "l") == ["a", "b", "c"]
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("list-compress-depth", -1)
    assert "argument must be between 0 and 2147483647 inclusive" in str(e.value)
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("list-max-listpack-size", "x")
    assert "argument couldn't be parsed into an integer" in str(e.value)
    r.config_set("list-compress-depth", 0)


# ---------------------------------------------------------------------------
# Encodings (Redis 7.2's rules; Redis 7.0 always says "quicklist")
# ---------------------------------------------------------------------------

@pytest.mark.cairn_only
def test_encoding_by_count(small_nodes):
    r = small_nodes
    r.config_set("list-max-listpack-size", 4)
    r.rpush("l", "a", "b", "c", "d")
    assert r.object("encoding", "l") == "listpack"
    r.rpush("l", "e")
    assert r.object("encoding", "l") == "quicklist"
    # Back only at one node of at most half the limit.
    r.rpop("l")
    r.rpop("l")
    assert r.object("encoding", "l") == "quicklist"
    r.rpop("l")
    assert r.object("encoding", "l") == "listpack"
    assert content(r, "l") == ["a", "b"]


@pytest.mark.cairn_only
def test_encoding_by_size(r):
    r.rpush("l", "x" * 4000)
    r.rpush("l", "x" * 4000)
    assert r.object("encoding", "l") == "listpack"
    r.rpush("l", "x" * 200)
    assert r.object("encoding", "l") == "quicklist"
    r.rpop("l")
    assert r.object("encoding", "l") == "quicklist"  # one node, but > 4 KB
    r.rpop("l")
    assert r.object("encoding", "l") == "listpack"
    # One huge value makes a quicklist at once.
    r.rpush("big", "y" * 9000)
    assert r.object("encoding", "big") == "quicklist"


@pytest.mark.cairn_only
def test_encoding_after_each_command(small_nodes):
    r = small_nodes
    r.config_set("list-max-listpack-size", 4)
    r.rpush("l", "a", "b")
    r.linsert("l", "AFTER", "b", "c")
    r.linsert("l", "AFTER", "c", "d")
    assert r.object("encoding", "l") == "listpack"
    r.linsert("l", "AFTER", "d", "e")
    assert r.object("encoding", "l") == "quicklist"
    r.ltrim("l", 0, 1)
    assert r.object("encoding", "l") == "listpack"
    r.rpush("l", "c", "d", "e")
    r.lrem("l", 0, "e")
    assert r.object("encoding", "l") == "quicklist"
    r.lrem("l", 0, "d")
    r.lrem("l", 0, "c")
    assert r.object("encoding", "l") == "listpack"
    # LMOVE converts the destination as it grows.
    r.rpush("d", 1, 2, 3, 4)
    r.lmove("l", "d", "LEFT", "LEFT")
    assert r.object("encoding", "d") == "quicklist"
    # A copy keeps the encoding.
    r.copy("d", "d2")
    assert r.object("encoding", "d2") == "quicklist"
    r.copy("l", "l2")
    assert r.object("encoding", "l2") == "listpack"
