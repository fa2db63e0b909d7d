"""The sorted-set commands: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE,
ZCOUNT, ZLEXCOUNT, ZRANGE (and ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
ZREVRANGEBYLEX, ZREVRANGE), ZRANGESTORE, ZRANK, ZREVRANK, the ZREMRANGEBY*
family, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZUNION, ZINTER, ZDIFF and
their STORE forms, ZINTERCARD and ZSCAN; the listpack <-> skiplist
encodings at their configured limits; score formatting in RESP2 and RESP3;
and the generic commands (TYPE, OBJECT ENCODING, COPY, RENAME, MOVE, SCAN
TYPE) on sorted sets.

Every assertion here holds against Redis 7.0 too (run the suite with
CAIRN_TEST_SERVER=redis), except the tests marked cairn_only (ZRANK and
ZREVRANK WITHSCORE, which Redis gained in 7.2)."""
import pytest
import redis

NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
SYNTAX = "syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
MINMAX_FLOAT = "min or max is not a float"
MINMAX_LEX = "min or max not valid string range item"
ENTRIES = 128
VALUE = 64


def raw(r, *args):
    """Run a command and return the reply as sent, without redis-py's
    per-command parsing and with bulk strings as bytes."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response(disable_decoding=True)
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
def zcfg(r):
    """Tests that change the thresholds put the defaults back."""
    yield r
    r.config_set("zset-max-listpack-entries", ENTRIES)
    r.config_set("zset-max-listpack-value", VALUE)


def fill(r, key, n, prefix="m", score=lambda i: i):
    """A sorted set of n members prefix0.. with the given scores."""
    for i in range(0, n, 500):
        r.zadd(key, {f"{prefix}{j}": score(j) for j in range(i, min(n, i + 500))})


@pytest.fixture
def resp3(raw):
    """A raw connection speaking RESP3."""
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    return c


def q(c, *args):
    c.cmd(*args)
    return c.read_reply()


# ---------------------------------------------------------------------------
# ZADD and ZINCRBY
# ---------------------------------------------------------------------------

def test_zadd_basic(r):
    assert raw(r, "ZADD", "z", "1", "a", "2", "b") == 2
    assert raw(r, "ZADD", "z", "3", "a", "4", "c") == 1  # a updated, c added
    assert r.zrange("z", 0, -1, withscores=True) == [("b", 2), ("a", 3), ("c", 4)]
    # The same member twice in one call: the last score wins, added once.
    assert raw(r, "ZADD", "y", "1", "x", "2", "x") == 1
    assert r.zscore("y", "x") == 2


def test_zadd_ch_counts_changes(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert raw(r, "ZADD", "z", "CH", "1", "a", "5", "b", "3", "c") == 2
    assert raw(r, "ZADD", "z", "ch", "1", "a") == 0


def test_zadd_nx_xx(r):
    r.zadd("z", {"a": 1})
    assert raw(r, "ZADD", "z", "NX", "5", "a", "2", "b") == 1
    assert r.zscore("z", "a") == 1
    assert raw(r, "ZADD", "z", "XX", "CH", "7", "a", "3", "c") == 1
    assert r.zscore("z", "a") == 7 and r.zscore("z", "c") is None
    # XX on a missing key does not create it.
    assert raw(r, "ZADD", "nokey", "XX", "1", "a") == 0
    assert r.exists("nokey") == 0
    assert raw(r, "ZADD", "nokey", "XX", "INCR", "1", "a") is None
    assert r.exists("nokey") == 0


def test_zadd_gt_lt(r):
    r.zadd("z", {"a": 5})
    assert raw(r, "ZADD", "z", "GT", "CH", "3", "a") == 0
    assert raw(r, "ZADD", "z", "GT", "CH", "7", "a") == 1
    assert raw(r, "ZADD", "z", "LT", "CH", "9", "a") == 0
    assert raw(r, "ZADD", "z", "LT", "CH", "1", "a") == 1
    assert r.zscore("z", "a") == 1
    # GT and LT only restrict updates: new members are added.
    assert raw(r, "ZADD", "z", "GT", "1", "b") == 1
    # XX combines with GT/LT.
    assert raw(r, "ZADD", "z", "XX", "GT", "CH", "10", "a", "10", "nob") == 1
    assert r.zscore("z", "nob") is None
    # Equal scores are not "greater".
    assert raw(r, "ZADD", "z", "GT", "INCR", "0", "a") is None


def test_zadd_incr(r):
    assert raw(r, "ZADD", "z", "INCR", "1.5", "a") == b"1.5"
    assert raw(r, "ZADD", "z", "INCR", "2", "a") == b"3.5"
    assert raw(r, "ZADD", "z", "NX", "INCR", "1", "a") is None
    assert raw(r, "ZADD", "z", "XX", "INCR", "1", "nob") is None
    assert raw(r, "ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert raw(r, "ZADD", "z", "LT", "INCR", "-1", "a") == b"2.5"
    assert raw(r, "ZADD", "z", "INCR", "CH", "1", "a") == b"3.5"


def test_zadd_errors(r):
    assert err(r, "ZADD", "z", "NX", "XX", "1", "a") == \
        "XX and NX options at the same time are not compatible"
    for opts in (("GT", "LT"), ("GT", "NX"), ("LT", "NX")):
        assert err(r, "ZADD", "z", *opts, "1", "a") == \
            "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "INCR", "1", "a", "2", "b") == \
        "INCR option supports a single increment-element pair"
    assert err(r, "ZADD", "z", "1", "a", "2") == SYNTAX
    assert err(r, "ZADD", "z", "NX", "1") == SYNTAX
    assert err(r, "ZADD", "z", "XX", "CH") == SYNTAX
    assert err(r, "ZADD", "z", "nan", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", "1", "a", "x", "b") == NOT_FLOAT
    assert err(r, "ZADD", "z", " 1", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", "1 ", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", "", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", "1e400", "a") == NOT_FLOAT
    for text in ("-", "--1", "1-", "-1a", "1 2"):
        assert err(r, "ZADD", "z", text, "a") == NOT_FLOAT, text
    # Nothing was applied by a failing command.
    assert r.exists("z") == 0
    assert err(r, "ZADD", "z") == "wrong number of arguments for 'zadd' command"
    assert err(r, "ZADD", "z", "1") == "wrong number of arguments for 'zadd' command"


def test_zadd_nan_result(r):
    r.zadd("z", {"a": float("inf")})
    assert err(r, "ZADD", "z", "INCR", "-inf", "a") == "resulting score is not a number (NaN)"
    assert err(r, "ZINCRBY", "z", "-inf", "a") == "resulting score is not a number (NaN)"
    assert r.zscore("z", "a") == float("inf")


def test_zadd_score_forms(r):
    r.zadd("z", {"a": 0})
    for text, want in (("+inf", "inf"), ("-inf", "-inf"), ("inf", "inf"), ("1e3", "1000"),
                       ("0x10", "16"), ("-1.5", "-1.5"), (".5", "0.5"), ("5.", "5"),
                       ("000000012345", "12345"), ("+7", "7"), ("-12", "-12"),
                       ("999999999999999", "999999999999999"),
                       ("-999999999999999", "-999999999999999"),
                       ("0000000000000000000001", "1")):
        assert raw(r, "ZADD", "z", text, "a") == 0
        assert raw(r, "ZSCORE", "z", "a") == want.encode()


def test_zincrby(r):
    assert raw(r, "ZINCRBY", "z", "2", "a") == b"2"
    assert raw(r, "ZINCRBY", "z", "-0.5", "a") == b"1.5"
    assert raw(r, "ZINCRBY", "z", "0.1", "a") == b"1.6000000000000001"
    assert err(r, "ZINCRBY", "z", "x", "a") == NOT_FLOAT
    assert err(r, "ZINCRBY", "z", "1") == "wrong number of arguments for 'zincrby' command"
    r.set("s", "x")
    assert err(r, "ZINCRBY", "s", "1", "a") == WRONGTYPE


def test_zadd_wrongtype_after_score_check(r):
    r.set("s", "x")
    assert err(r, "ZADD", "s", "1", "a") == WRONGTYPE
    # Scores are checked before the key's type.
    assert err(r, "ZADD", "s", "x", "a") == NOT_FLOAT


# ---------------------------------------------------------------------------
# Scores as replies
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("big", [False, True])
def test_score_formatting(r, zcfg, big):
    if big:
        r.config_set("zset-max-listpack-entries", 0)
    cases = [("1.1", b"1.1000000000000001"), ("3.0", b"3"), ("1e100", b"1e+100"),
             ("-1e-5", b"-1.0000000000000001e-05"), ("123456789012345678", b"1.2345678901234568e+17"),
             ("9007199254740993", b"9007199254740992"), ("inf", b"inf"), ("-inf", b"-inf"),
             ("0.5", b"0.5"), ("4503599627370495", b"4503599627370495"),
             ("4503599627370496", b"4503599627370496")]
    for i, (text, want) in enumerate(cases):
        raw(r, "ZADD", "z", text, f"m{i}")
        assert raw(r, "ZSCORE", "z", f"m{i}") == want, text
    assert enc(r, "z") == ("skiplist" if big else "listpack")
    # ZRANGE WITHSCORES formats the same way.
    got = dict(zip(*[iter(raw(r, "ZRANGE", "z", "0", "-1", "WITHSCORES"))] * 2))
    assert got[b"m0"] == b"1.1000000000000001" and got[b"m6"] == b"inf"


def test_negative_zero(r, zcfg):
    # A listpack stores integral scores as integers, so -0 becomes 0 there;
    # a skiplist keeps the sign.
    raw(r, "ZADD", "small", "-0", "a")
    assert raw(r, "ZSCORE", "small", "a") == b"0"
    assert raw(r, "ZADD", "small", "INCR", "-0", "b") == b"-0"
    r.config_set("zset-max-listpack-entries", 0)
    raw(r, "ZADD", "big", "-0", "a")
    assert raw(r, "ZSCORE", "big", "a") == b"-0"


def test_resp3_doubles(r, resp3):
    assert q(resp3, "ZADD", "z", "1.5", "a", "2", "b", "inf", "c") == (":", "3")
    assert q(resp3, "ZSCORE", "z", "a") == (",", "1.5")
    assert q(resp3, "ZSCORE", "z", "c") == (",", "inf")
    assert q(resp3, "ZSCORE", "z", "nosuch") == ("_", "")
    assert q(resp3, "ZMSCORE", "z", "b", "x") == ("*", [(",", "2"), ("_", "")])
    assert q(resp3, "ZINCRBY", "z", "1", "b") == (",", "3")
    assert q(resp3, "ZADD", "z", "INCR", "1", "b") == (",", "4")
    assert q(resp3, "ZADD", "z", "NX", "INCR", "1", "b") == ("_", "")


def test_resp3_range_pairs(r, resp3):
    q(resp3, "ZADD", "z", "1", "a", "2.5", "b")
    pairs = ("*", [("*", [("$", b"a"), (",", "1")]), ("*", [("$", b"b"), (",", "2.5")])])
    assert q(resp3, "ZRANGE", "z", "0", "-1", "WITHSCORES") == pairs
    assert q(resp3, "ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES") == pairs
    assert q(resp3, "ZRANGE", "z", "0", "-1") == ("*", [("$", b"a"), ("$", b"b")])
    assert q(resp3, "ZUNION", "1", "z", "WITHSCORES") == pairs
    assert q(resp3, "ZRANDMEMBER", "z", "5", "WITHSCORES") == \
        ("*", [("*", [("$", b"b"), (",", "2.5")]), ("*", [("$", b"a"), (",", "1")])])
    # Scores in ZSCAN stay bulk strings.
    assert q(resp3, "ZSCAN", "z", "0") == \
        ("*", [("$", b"0"), ("*", [("$", b"a"), ("$", b"1"), ("$", b"b"), ("$", b"2.5")])])


def test_resp3_pop_shapes(r, resp3):
    q(resp3, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    # Without COUNT a flat pair, with COUNT an array of pairs.
    assert q(resp3, "ZPOPMIN", "z") == ("*", [("$", b"a"), (",", "1")])
    assert q(resp3, "ZPOPMAX", "z", "1") == ("*", [("*", [("$", b"d"), (",", "4")])])
    assert q(resp3, "ZPOPMIN", "z", "0") == ("*", [])
    assert q(resp3, "BZPOPMIN", "z", "0") == ("*", [("$", b"z"), ("$", b"b"), (",", "2")])
    assert q(resp3, "ZMPOP", "1", "z", "MIN") == \
        ("*", [("$", b"z"), ("*", [("*", [("$", b"c"), (",", "3")])])])
    assert q(resp3, "ZMPOP", "1", "z", "MIN") == ("_", "")
    assert q(resp3, "ZPOPMIN", "z") == ("*", [])


# ---------------------------------------------------------------------------
# ZREM, ZCARD, ZSCORE, ZMSCORE
# ---------------------------------------------------------------------------

def test_zrem(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "x", "a") == 1
    assert r.zcard("z") == 2
    assert r.zrem("z", "b", "c", "d") == 2
    assert r.exists("z") == 0
    assert r.zrem("nokey", "a") == 0
    r.set("s", "x")
    assert err(r, "ZREM", "s", "a") == WRONGTYPE
    assert err(r, "ZREM", "z") == "wrong number of arguments for 'zrem' command"


def test_zcard_zscore_zmscore(r):
    assert r.zcard("nokey") == 0
    assert r.zscore("nokey", "a") is None
    assert raw(r, "ZMSCORE", "nokey", "a", "b") == [None, None]
    r.zadd("z", {"a": 1, "b": 2})
    assert r.zcard("z") == 2
    assert raw(r, "ZMSCORE", "z", "b", "x", "a") == [b"2", None, b"1"]
    r.set("s", "x")
    for cmd in (("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a")):
        assert err(r, *cmd) == WRONGTYPE
    assert err(r, "ZMSCORE", "z") == "wrong number of arguments for 'zmscore' command"


def test_binary_and_integer_members(r, zcfg):
    members = [b"", b"a\x00b", b"\xff\xfe", b"123", b"-7", b"007", b"9223372036854775808"]
    for big in (False, True):
        r.delete("z")
        if big:
            r.config_set("zset-max-listpack-entries", 0)
        for m in members:
            raw(r, "ZADD", "z", "1", m)
        assert enc(r, "z") == ("skiplist" if big else "listpack")
        assert raw(r, "ZRANGE", "z", "0", "-1") == sorted(members)
        for m in members:
            assert raw(r, "ZSCORE", "z", m) == b"1"
        assert raw(r, "ZRANGEBYLEX", "z", "[1", "(a") == [b"123", b"9223372036854775808"]


# ---------------------------------------------------------------------------
# ZCOUNT and ZLEXCOUNT
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [10, 300])
def test_zcount(r, n):
    fill(r, "z", n)
    assert r.zcount("z", "-inf", "+inf") == n
    assert r.zcount("z", 2, 5) == 4
    assert r.zcount("z", "(2", "(5") == 2
    assert r.zcount("z", "(2", "5") == 3
    assert r.zcount("z", 5, 2) == 0
    assert r.zcount("z", "(5", 5) == 0
    assert r.zcount("z", n, "+inf") == 0
    assert r.zcount("z", "-inf", -1) == 0
    assert r.zcount("nokey", 0, 1) == 0


def test_score_bound_parsing(r):
    r.zadd("z", {"a": 0, "b": 1, "c": 16})
    # Redis parses bounds with strtod: leading space and hex pass, "(" and
    # "" read as zero; trailing junk and NaN do not.
    assert raw(r, "ZCOUNT", "z", " 1", "+inf") == 2
    assert raw(r, "ZCOUNT", "z", "0x10", "0x10") == 1
    assert raw(r, "ZCOUNT", "z", "(", "+inf") == 2
    assert raw(r, "ZCOUNT", "z", "", "0") == 1
    assert raw(r, "ZCOUNT", "z", "-INFINITY", "1e0") == 2
    assert raw(r, "ZCOUNT", "z", "1e400", "1e500") == 0
    for lo, hi in (("1 ", "2"), ("a", "2"), ("(nan", "2"), ("nan", "2"), ("1", "((2"),
                   ("[1", "2")):
        assert err(r, "ZCOUNT", "z", lo, hi) == MINMAX_FLOAT
    # The range is checked before the key.
    r.set("s", "x")
    assert err(r, "ZCOUNT", "s", "a", "b") == MINMAX_FLOAT
    assert err(r, "ZCOUNT", "s", "1", "2") == WRONGTYPE


@pytest.mark.parametrize("n", [20, 200])
def test_zlexcount(r, n):
    r.zadd("z", {f"m{i:03d}": 0 for i in range(n)})
    assert r.zlexcount("z", "-", "+") == n
    assert r.zlexcount("z", "[m000", "[m009") == 10
    assert r.zlexcount("z", "(m000", "(m009") == 8
    assert r.zlexcount("z", "[m009", "[m000") == 0
    assert r.zlexcount("z", "+", "-") == 0
    assert r.zlexcount("z", "-", "-") == 0
    assert r.zlexcount("z", "[m005", "(m005") == 0
    assert r.zlexcount("z", "[m005", "[m005") == 1
    assert r.zlexcount("z", "(", "+") == n
    assert r.zlexcount("nokey", "-", "+") == 0
    for lo, hi in (("a", "+"), ("-", "z"), ("", "+"), ("--", "+"), ("-", "++"), ("+a", "+")):
        assert err(r, "ZLEXCOUNT", "z", lo, hi) == MINMAX_LEX


# ---------------------------------------------------------------------------
# ZRANGE and the older range commands
# ---------------------------------------------------------------------------

@pytest.fixture(params=[5, 200], ids=["listpack", "skiplist"])
def z5(request, r):
    """a..e scored 1..5 (plus filler scored 100+ for the large encoding)."""
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    if request.param > 5:
        fill(r, "z", request.param - 5, prefix="x", score=lambda i: 100 + i)
    return request.param


def test_zrange_by_rank(r, z5):
    n = z5
    assert r.zrange("z", 0, 2) == ["a", "b", "c"]
    assert r.zrange("z", 1, 1, withscores=True) == [("b", 2)]
    assert r.zrange("z", -n, -n + 1) == ["a", "b"]
    assert r.zrange("z", 3, 1) == []
    assert r.zrange("z", n, n + 10) == []
    assert r.zrange("z", -1000, 0) == ["a"]
    assert len(r.zrange("z", 0, 10 ** 6)) == n
    assert raw(r, "ZRANGE", "z", "0", "1", "REV") == ([b"e", b"d"] if n == 5 else
                                                     [f"x{n - 6}".encode(), f"x{n - 7}".encode()])
    assert raw(r, "ZREVRANGE", "z", str(n - 2), "-1", "WITHSCORES") == [b"b", b"2", b"a", b"1"]
    assert r.zrange("nokey", 0, -1) == []


def test_zrange_by_score(r, z5):
    assert raw(r, "ZRANGE", "z", "2", "4", "BYSCORE") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGE", "z", "(2", "(4", "BYSCORE", "WITHSCORES") == [b"c", b"3"]
    assert raw(r, "ZRANGE", "z", "4", "2", "BYSCORE", "REV") == [b"d", b"c", b"b"]
    assert raw(r, "ZRANGE", "z", "2", "4", "BYSCORE", "REV") == []
    assert raw(r, "ZRANGE", "z", "-inf", "5", "BYSCORE", "LIMIT", "1", "2") == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", "5", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2") == \
        [b"d", b"c"]
    # A negative count means no limit, a negative offset an empty range.
    assert raw(r, "ZRANGE", "z", "-inf", "5", "BYSCORE", "LIMIT", "3", "-1") == [b"d", b"e"]
    assert raw(r, "ZRANGE", "z", "-inf", "5", "BYSCORE", "LIMIT", "-1", "2") == []
    assert raw(r, "ZRANGE", "z", "-inf", "5", "BYSCORE", "LIMIT", "0", "0") == []
    assert raw(r, "ZRANGE", "z", "-inf", "5", "BYSCORE", "LIMIT", "100000", "5") == []
    assert raw(r, "ZRANGEBYSCORE", "z", "(1", "3", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "3", "LIMIT", "1", "1") == [b"b"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "3", "(1") == [b"c", b"b"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "5", "-inf", "WITHSCORES", "LIMIT", "0", "1") == \
        [b"e", b"5"]
    assert raw(r, "ZRANGEBYSCORE", "z", "6", "99") == []


def test_zrange_by_lex(r):
    r.zadd("z", {m: 0 for m in "abcdefg"})
    assert raw(r, "ZRANGE", "z", "[b", "(e", "BYLEX") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGE", "z", "(e", "[b", "BYLEX", "REV") == [b"d", b"c", b"b"]
    assert raw(r, "ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "2", "3") == [b"c", b"d", b"e"]
    assert raw(r, "ZRANGEBYLEX", "z", "-", "[c") == [b"a", b"b", b"c"]
    assert raw(r, "ZRANGEBYLEX", "z", "[aa", "(c") == [b"b"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "+", "(e") == [b"g", b"f"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", "2") == [b"f", b"e"]
    assert raw(r, "ZRANGEBYLEX", "z", "+", "-") == []
    assert err(r, "ZRANGEBYLEX", "z", "a", "c") == MINMAX_LEX
    assert err(r, "ZRANGE", "z", "a", "[c", "BYLEX") == MINMAX_LEX
    assert err(r, "ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"


def test_zrange_option_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZRANGE", "z", "0", "1", "LIMIT", "0", "1") == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1") == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(r, "ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX") == SYNTAX
    assert err(r, "ZRANGE", "z", "0", "1", "REV", "REV") == SYNTAX
    assert err(r, "ZRANGE", "z", "0", "1", "LIMIT", "0") == SYNTAX
    assert err(r, "ZRANGE", "z", "0", "1", "FOO") == SYNTAX
    assert err(r, "ZRANGEBYSCORE", "z", "0", "1", "BYSCORE") == SYNTAX
    assert err(r, "ZRANGEBYSCORE", "z", "0", "1", "REV") == SYNTAX
    assert err(r, "ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1") == NOT_INT
    assert err(r, "ZRANGE", "z", "a", "1") == NOT_INT
    assert err(r, "ZRANGE", "z", "0", "1.5") == NOT_INT
    assert err(r, "ZRANGE", "z", "a", "1", "BYSCORE") == MINMAX_FLOAT
    assert err(r, "ZRANGEBYSCORE", "z", "(x", "1") == MINMAX_FLOAT
    assert err(r, "ZRANGE", "z", "0") == "wrong number of arguments for 'zrange' command"
    r.set("s", "x")
    assert err(r, "ZRANGE", "s", "0", "1") == WRONGTYPE
    # Syntax is checked before the key.
    assert err(r, "ZRANGE", "s", "0", "1", "FOO") == SYNTAX


# ---------------------------------------------------------------------------
# ZRANGESTORE
# ---------------------------------------------------------------------------

def test_zrangestore(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert raw(r, "ZRANGESTORE", "d", "z", "1", "2") == 2
    assert r.zrange("d", 0, -1, withscores=True) == [("b", 2), ("c", 3)]
    assert raw(r, "ZRANGESTORE", "d", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "2") == 2
    assert r.zrange("d", 0, -1) == ["c", "d"]
    assert raw(r, "ZRANGESTORE", "d", "z", "[b", "[c", "BYLEX") == 2
    assert r.zrange("d", 0, -1, withscores=True) == [("b", 2), ("c", 3)]
    # An empty result deletes the destination.
    assert raw(r, "ZRANGESTORE", "d", "z", "10", "20") == 0
    assert r.exists("d") == 0
    r.set("d", "string")
    assert raw(r, "ZRANGESTORE", "d", "nokey", "0", "-1") == 0
    assert r.exists("d") == 0
    # The destination may be of any type, and is replaced with its TTL.
    r.set("d", "string", ex=100)
    assert raw(r, "ZRANGESTORE", "d", "z", "0", "0") == 1
    assert r.type("d") == "zset" and r.ttl("d") == -1
    # In place.
    assert raw(r, "ZRANGESTORE", "z", "z", "0", "1") == 2
    assert r.zrange("z", 0, -1) == ["a", "b"]
    assert err(r, "ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES") == SYNTAX
    r.set("s", "x")
    assert err(r, "ZRANGESTORE", "d", "s", "0", "1") == WRONGTYPE


def test_zrangestore_encoding(r, zcfg):
    fill(r, "big", 300)
    assert enc(r, "big") == "skiplist"
    assert raw(r, "ZRANGESTORE", "d", "big", "0", str(ENTRIES - 1)) == ENTRIES
    assert enc(r, "d") == "listpack"
    assert raw(r, "ZRANGESTORE", "d", "big", "0", str(ENTRIES)) == ENTRIES + 1
    assert enc(r, "d") == "skiplist"
    r.zadd("long", {"x" * (VALUE + 1): 1, "y": 2})
    assert raw(r, "ZRANGESTORE", "d", "long", "1", "1") == 1
    assert enc(r, "d") == "listpack"
    assert raw(r, "ZRANGESTORE", "d", "long", "0", "0") == 1
    assert enc(r, "d") == "skiplist"


# ---------------------------------------------------------------------------
# ZRANK and ZREVRANK
# ---------------------------------------------------------------------------

def test_zrank(r, z5):
    n = z5
    assert r.zrank("z", "a") == 0
    assert r.zrank("z", "c") == 2
    assert r.zrevrank("z", "a") == n - 1
    assert r.zrevrank("z", "e") == n - 5
    assert r.zrank("z", "nosuch") is None
    assert r.zrank("nokey", "a") is None
    r.set("s", "x")
    assert err(r, "ZRANK", "s", "a") == WRONGTYPE


@pytest.mark.cairn_only
def test_zrank_withscore(r, resp3):
    r.zadd("z", {"a": 1.5, "b": 2})
    assert raw(r, "ZRANK", "z", "b", "WITHSCORE") == [1, b"2"]
    assert raw(r, "ZREVRANK", "z", "b", "withscore") == [0, b"2"]
    assert raw(r, "ZRANK", "z", "x", "WITHSCORE") is None
    assert raw(r, "ZRANK", "nokey", "x", "WITHSCORE") is None
    assert err(r, "ZRANK", "z", "a", "FOO") == SYNTAX
    assert err(r, "ZRANK", "z", "a", "WITHSCORE", "x") == \
        "wrong number of arguments for 'zrank' command"
    assert q(resp3, "ZRANK", "z", "a", "WITHSCORE") == ("*", [(":", "0"), (",", "1.5")])
    assert q(resp3, "ZRANK", "z", "x", "WITHSCORE") == ("_", "")


# ---------------------------------------------------------------------------
# ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX
# ---------------------------------------------------------------------------

def test_zremrangebyrank(r, z5):
    n = z5
    assert r.zremrangebyrank("z", 1, 2) == 2
    assert r.zrange("z", 0, 2) == ["a", "d", "e"]
    assert r.zremrangebyrank("z", -1, -1) == 1
    assert r.zremrangebyrank("z", 5, 1) == 0
    assert r.zremrangebyrank("z", n, n + 5) == 0
    assert r.zremrangebyrank("z", -1000, 1000) == n - 3
    assert r.exists("z") == 0
    assert r.zremrangebyrank("nokey", 0, -1) == 0
    assert err(r, "ZREMRANGEBYRANK", "z", "a", "1") == NOT_INT


def test_zremrangebyscore(r, z5):
    n = z5
    assert r.zremrangebyscore("z", "(1", 3) == 2
    assert r.zrange("z", 0, 2) == ["a", "d", "e"]
    assert r.zremrangebyscore("z", 5, 1) == 0
    assert r.zremrangebyscore("z", "-inf", "+inf") == n - 2
    assert r.exists("z") == 0
    assert err(r, "ZREMRANGEBYSCORE", "z", "x", "1") == MINMAX_FLOAT


def test_zremrangebylex(r):
    r.zadd("z", {m: 0 for m in "abcde"})
    assert r.zremrangebylex("z", "(a", "[c") == 2
    assert r.zrange("z", 0, -1) == ["a", "d", "e"]
    assert r.zremrangebylex("z", "+", "-") == 0
    assert r.zremrangebylex("z", "-", "+") == 3
    assert r.exists("z") == 0
    assert err(r, "ZREMRANGEBYLEX", "z", "a", "+") == MINMAX_LEX
    r.set("s", "x")
    assert err(r, "ZREMRANGEBYLEX", "s", "-", "+") == WRONGTYPE


# ---------------------------------------------------------------------------
# ZPOPMIN, ZPOPMAX, ZMPOP
# ---------------------------------------------------------------------------

def test_zpopmin_zpopmax(r, z5):
    assert raw(r, "ZPOPMIN", "z") == [b"a", b"1"]
    assert raw(r, "ZPOPMIN", "z", "2") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZPOPMIN", "z", "0") == []
    if z5 == 5:
        assert raw(r, "ZPOPMAX", "z") == [b"e", b"5"]
        assert raw(r, "ZPOPMAX", "z", "10") == [b"d", b"4"]
        assert r.exists("z") == 0
    assert raw(r, "ZPOPMIN", "nokey") == []
    assert raw(r, "ZPOPMIN", "nokey", "3") == []


def test_zpop_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZPOPMIN", "z", "-1") == "value is out of range, must be positive"
    assert err(r, "ZPOPMAX", "z", "x") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "1", "2") == SYNTAX
    r.set("s", "x")
    assert err(r, "ZPOPMIN", "s") == WRONGTYPE
    assert err(r, "ZPOPMAX", "s", "0") == WRONGTYPE


def test_zpop_big(r):
    fill(r, "z", 300)
    assert raw(r, "ZPOPMAX", "z", "2") == [b"m299", b"299", b"m298", b"298"]
    assert raw(r, "ZPOPMIN", "z", "298")[-2:] == [b"m297", b"297"]
    assert r.exists("z") == 0


def test_zmpop(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert raw(r, "ZMPOP", "1", "z", "MIN") == [b"z", [[b"a", b"1"]]]
    assert raw(r, "ZMPOP", "2", "nokey", "z", "max", "COUNT", "10") == \
        [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    assert r.exists("z") == 0
    assert raw(r, "ZMPOP", "2", "nokey", "z", "MIN") is None


def test_zmpop_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZMPOP", "0", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "-1", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "x", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "2", "z", "MIN") == SYNTAX
    assert err(r, "ZMPOP", "1", "z", "UP") == SYNTAX
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT") == SYNTAX
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "0") == "count should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "x") == "count should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1") == SYNTAX
    assert err(r, "ZMPOP", "1", "z", "MIN", "FOO") == SYNTAX
    r.set("s", "x")
    assert err(r, "ZMPOP", "2", "nokey", "s", "MIN") == WRONGTYPE
    # The first existing key decides: a later wrong type is not looked at.
    assert raw(r, "ZMPOP", "2", "z", "s", "MIN") == [b"z", [[b"a", b"1"]]]


# ---------------------------------------------------------------------------
# ZRANDMEMBER
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [5, 300])
def test_zrandmember(r, n):
    fill(r, "z", n)
    members = {f"m{i}" for i in range(n)}
    assert r.zrandmember("z") in members
    got = r.zrandmember("z", 3)
    assert len(got) == 3 and len(set(got)) == 3 and set(got) <= members
    # Close to the size (the "drop" strategy) and far below it.
    got = r.zrandmember("z", n - 1)
    assert len(set(got)) == n - 1 and set(got) <= members
    got = r.zrandmember("z", max(1, n // 4))
    assert len(set(got)) == max(1, n // 4)
    # At least the size: the whole set, highest score first.
    assert r.zrandmember("z", n + 5) == [f"m{i}" for i in reversed(range(n))]
    got = r.zrandmember("z", -20)
    assert len(got) == 20 and set(got) <= members
    pairs = raw(r, "ZRANDMEMBER", "z", "-4", "WITHSCORES")
    assert len(pairs) == 8
    for m, s in zip(pairs[::2], pairs[1::2]):
        assert m.decode() in members and s.decode() == m.decode()[1:]
    pairs = raw(r, "ZRANDMEMBER", "z", "3", "WITHSCORES")
    assert len(pairs) == 6 and len(set(pairs[::2])) == 3
    assert raw(r, "ZRANDMEMBER", "z", "0") == []
    assert raw(r, "ZRANDMEMBER", "z", "0", "WITHSCORES") == []


def test_zrandmember_missing_and_errors(r):
    assert r.zrandmember("nokey") is None
    assert raw(r, "ZRANDMEMBER", "nokey", "5") == []
    assert raw(r, "ZRANDMEMBER", "nokey", "-5", "WITHSCORES") == []
    r.zadd("z", {"a": 1})
    assert err(r, "ZRANDMEMBER", "z", "x") == NOT_INT
    assert err(r, "ZRANDMEMBER", "z", "1", "FOO") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", "1", "WITHSCORES", "x") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES") == \
        "value is out of range"
    r.set("s", "x")
    assert err(r, "ZRANDMEMBER", "s") == WRONGTYPE
    assert err(r, "ZRANDMEMBER", "s", "1") == WRONGTYPE


# ---------------------------------------------------------------------------
# ZUNION, ZINTER, ZDIFF, the STORE forms, ZINTERCARD
# ---------------------------------------------------------------------------

@pytest.fixture
def sets(r):
    r.zadd("z1", {"a": 1, "b": 2, "c": 3})
    r.zadd("z2", {"b": 10, "c": 20, "d": 30})
    r.sadd("s", "c", "d", "e")
    r.sadd("si", "1", "2")
    r.zadd("zi", {"1": 5, "3": 7})


def test_zunion(r, sets):
    assert raw(r, "ZUNION", "2", "z1", "z2", "WITHSCORES") == \
        [b"a", b"1", b"b", b"12", b"c", b"23", b"d", b"30"]
    assert raw(r, "ZUNION", "2", "z1", "z2", "WEIGHTS", "2", "0.5", "WITHSCORES") == \
        [b"a", b"2", b"b", b"9", b"d", b"15", b"c", b"16"]
    assert raw(r, "ZUNION", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES") == \
        [b"a", b"1", b"b", b"2", b"c", b"3", b"d", b"30"]
    assert raw(r, "ZUNION", "2", "z1", "z2", "AGGREGATE", "max") == [b"a", b"b", b"c", b"d"]
    # Sets count with score 1; a missing key is an empty set.
    assert raw(r, "ZUNION", "3", "z1", "s", "nokey", "WITHSCORES") == \
        [b"a", b"1", b"d", b"1", b"e", b"1", b"b", b"2", b"c", b"4"]
    assert raw(r, "ZUNION", "2", "si", "zi", "WITHSCORES") == \
        [b"2", b"1", b"1", b"6", b"3", b"7"]
    assert raw(r, "ZUNION", "1", "nokey") == []


def test_zinter(r, sets):
    assert raw(r, "ZINTER", "2", "z1", "z2", "WITHSCORES") == [b"b", b"12", b"c", b"23"]
    assert raw(r, "ZINTER", "3", "z1", "z2", "s", "WITHSCORES") == [b"c", b"24"]
    assert raw(r, "ZINTER", "2", "z1", "z2", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX",
               "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZINTER", "2", "z1", "nokey") == []
    # The same key twice.
    assert raw(r, "ZINTER", "2", "z1", "z1", "WITHSCORES") == \
        [b"a", b"2", b"b", b"4", b"c", b"6"]
    assert raw(r, "ZINTER", "2", "si", "zi", "WITHSCORES") == [b"1", b"6"]


def test_zdiff(r, sets):
    assert raw(r, "ZDIFF", "2", "z1", "z2", "WITHSCORES") == [b"a", b"1"]
    assert raw(r, "ZDIFF", "2", "z1", "s") == [b"a", b"b"]
    assert raw(r, "ZDIFF", "2", "z1", "z1") == []
    assert raw(r, "ZDIFF", "2", "z1", "nokey") == [b"a", b"b", b"c"]
    assert raw(r, "ZDIFF", "1", "nokey") == []
    assert raw(r, "ZDIFF", "2", "s", "z2", "WITHSCORES") == [b"e", b"1"]
    assert err(r, "ZDIFF", "2", "z1", "z2", "WEIGHTS", "1", "2") == SYNTAX
    assert err(r, "ZDIFF", "2", "z1", "z2", "AGGREGATE", "SUM") == SYNTAX


def test_infinities_in_aggregation(r):
    r.zadd("p", {"a": float("inf")})
    r.zadd("n", {"a": float("-inf")})
    # inf + -inf is 0, not NaN.
    assert raw(r, "ZUNION", "2", "p", "n", "WITHSCORES") == [b"a", b"0"]
    assert raw(r, "ZINTER", "2", "p", "n", "WITHSCORES") == [b"a", b"0"]
    # 0 * inf is 0 too.
    assert raw(r, "ZUNION", "1", "p", "WEIGHTS", "0", "WITHSCORES") == [b"a", b"0"]
    assert raw(r, "ZUNION", "1", "p", "WEIGHTS", "-inf", "WITHSCORES") == [b"a", b"-inf"]


def test_store_forms(r, sets, zcfg):
    assert raw(r, "ZUNIONSTORE", "d", "2", "z1", "z2") == 4
    assert r.zrange("d", 0, -1, withscores=True) == \
        [("a", 1), ("b", 12), ("c", 23), ("d", 30)]
    assert enc(r, "d") == "listpack"
    assert raw(r, "ZINTERSTORE", "d", "2", "z1", "z2", "WEIGHTS", "1", "2") == 2
    assert r.zrange("d", 0, -1, withscores=True) == [("b", 22), ("c", 43)]
    assert raw(r, "ZDIFFSTORE", "d", "2", "z2", "z1") == 1
    assert r.zrange("d", 0, -1) == ["d"]
    # An empty result deletes the destination, whatever it held.
    r.set("d", "x")
    assert raw(r, "ZINTERSTORE", "d", "2", "z1", "nokey") == 0
    assert r.exists("d") == 0
    # The destination may be a source.
    assert raw(r, "ZUNIONSTORE", "z1", "2", "z1", "z2") == 4
    assert r.zscore("z1", "b") == 12
    assert err(r, "ZUNIONSTORE", "d", "1", "z1", "WITHSCORES") == SYNTAX


def test_store_encodings(r, zcfg):
    fill(r, "big", 300)
    fill(r, "small", 10)
    assert raw(r, "ZINTERSTORE", "d", "2", "big", "small") == 10
    assert enc(r, "d") == "listpack"
    assert raw(r, "ZUNIONSTORE", "d", "1", "big") == 300
    assert enc(r, "d") == "skiplist"
    r.zadd("long", {"x" * (VALUE + 1): 1})
    assert raw(r, "ZUNIONSTORE", "d", "2", "small", "long") == 11
    assert enc(r, "d") == "skiplist"
    r.config_set("zset-max-listpack-entries", 10)
    assert raw(r, "ZUNIONSTORE", "d", "1", "small") == 10
    assert enc(r, "d") == "listpack"
    r.config_set("zset-max-listpack-entries", 9)
    assert raw(r, "ZUNIONSTORE", "d", "1", "small") == 10
    assert enc(r, "d") == "skiplist"


def test_zintercard(r, sets):
    assert r.zintercard(2, ["z1", "z2"]) == 2
    assert raw(r, "ZINTERCARD", "3", "z1", "z2", "s") == 1
    assert raw(r, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "0") == 2
    assert raw(r, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "1") == 1
    assert raw(r, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "100") == 2
    assert raw(r, "ZINTERCARD", "2", "z1", "nokey") == 0
    assert err(r, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "-1") == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "x") == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", "2", "z1", "z2", "WITHSCORES") == SYNTAX
    assert err(r, "ZINTERCARD", "2", "z1", "z2", "WEIGHTS", "1", "1") == SYNTAX
    assert err(r, "ZINTERCARD", "0", "z1") == \
        "at least 1 input key is needed for 'zintercard' command"
    assert err(r, "ZINTERCARD", "3", "z1", "z2") == SYNTAX


def test_setop_errors(r, sets):
    assert err(r, "ZUNION", "0", "z1") == "at least 1 input key is needed for 'zunion' command"
    assert err(r, "ZINTERSTORE", "d", "0", "z1") == \
        "at least 1 input key is needed for 'zinterstore' command"
    assert err(r, "ZUNION", "-1", "z1") == "at least 1 input key is needed for 'zunion' command"
    assert err(r, "ZUNION", "x", "z1") == NOT_INT
    assert err(r, "ZUNION", "3", "z1", "z2") == SYNTAX
    assert err(r, "ZUNION", "2", "z1", "z2", "WEIGHTS", "1") == SYNTAX
    assert err(r, "ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x") == "weight value is not a float"
    assert err(r, "ZUNION", "2", "z1", "z2", "AGGREGATE", "AVG") == SYNTAX
    assert err(r, "ZUNION", "2", "z1", "z2", "AGGREGATE") == SYNTAX
    assert err(r, "ZUNION", "2", "z1", "z2", "FOO") == SYNTAX
    r.set("str", "x")
    r.rpush("list", "x")
    assert err(r, "ZUNION", "2", "z1", "str") == WRONGTYPE
    assert err(r, "ZINTER", "2", "nokey", "list") == WRONGTYPE
    assert err(r, "ZUNIONSTORE", "d", "2", "z1", "str") == WRONGTYPE
    assert err(r, "ZDIFF", "2", "z1", "str") == WRONGTYPE


# ---------------------------------------------------------------------------
# ZSCAN
# ---------------------------------------------------------------------------

def test_zscan_listpack(r):
    r.zadd("z", {"a": 1, "b": 2.5, "c": 3})
    assert raw(r, "ZSCAN", "z", "0") == [b"0", [b"a", b"1", b"b", b"2.5", b"c", b"3"]]
    assert raw(r, "ZSCAN", "z", "0", "MATCH", "[ab]", "COUNT", "1") == \
        [b"0", [b"a", b"1", b"b", b"2.5"]]
    assert raw(r, "ZSCAN", "nokey", "0") == [b"0", []]


def test_zscan_skiplist_returns_everything(r):
    fill(r, "z", 1000, score=lambda i: i / 4)
    seen, cursor, calls = {}, 0, 0
    while True:
        cursor, items = r.zscan("z", cursor, count=50)
        calls += 1
        for m, s in items:
            seen[m] = s
        if cursor == 0:
            break
    assert calls > 1
    assert seen == {f"m{i}": i / 4 for i in range(1000)}
    _, items = r.zscan("z", 0, match="m99*", count=10000)
    assert sorted(m for m, _ in items) == ["m99", "m990", "m991", "m992", "m993", "m994",
                                          "m995", "m996", "m997", "m998", "m999"]


def test_zscan_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZSCAN", "z", "x") == "invalid cursor"
    assert err(r, "ZSCAN", "z", "0", "COUNT", "0") == SYNTAX
    assert err(r, "ZSCAN", "z", "0", "COUNT", "x") == NOT_INT
    assert err(r, "ZSCAN", "z", "0", "MATCH") == SYNTAX
    assert err(r, "ZSCAN", "z", "0", "TYPE", "zset") == SYNTAX
    r.set("s", "x")
    assert err(r, "ZSCAN", "s", "0") == WRONGTYPE


# ---------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------

def test_encoding_entries_boundary(r):
    fill(r, "z", ENTRIES)
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"m0": 99})  # an update does not grow it
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"extra": 1})
    assert enc(r, "z") == "skiplist"
    # Shrinking never converts back.
    r.zremrangebyrank("z", 0, -3)
    assert r.zcard("z") == 2
    assert enc(r, "z") == "skiplist"


def test_encoding_value_boundary(r):
    r.zadd("z", {"x" * VALUE: 1})
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"y" * (VALUE + 1): 1})
    assert enc(r, "z") == "skiplist"
    # A new key whose first member is too long starts as a skiplist.
    r.zadd("y", {"y" * (VALUE + 1): 1})
    assert enc(r, "y") == "skiplist"
    # Only the first member decides at creation; a later long one converts.
    raw(r, "ZADD", "w", "1", "short", "2", "w" * (VALUE + 1))
    assert enc(r, "w") == "skiplist"
    assert r.zrange("w", 0, -1) == ["short", "w" * (VALUE + 1)]


def test_encoding_config(r, zcfg):
    assert r.config_get("zset-max-listpack-entries") == {"zset-max-listpack-entries": "128"}
    assert r.config_get("zset-max-ziplist-value") == {"zset-max-ziplist-value": "64"}
    assert set(r.config_get("zset-max-*")) == {
        "zset-max-listpack-entries", "zset-max-listpack-value",
        "zset-max-ziplist-entries", "zset-max-ziplist-value"}
    r.config_set("zset-max-ziplist-entries", 3)
    assert r.config_get("zset-max-listpack-entries") == {"zset-max-listpack-entries": "3"}
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"d": 4})
    assert enc(r, "z") == "skiplist"
    r.config_set("zset-max-listpack-entries", 0)
    r.zadd("y", {"a": 1})
    assert enc(r, "y") == "skiplist"
    r.config_set("zset-max-listpack-value", "1kb")
    assert r.config_get("zset-max-listpack-value") == {"zset-max-listpack-value": "1024"}
    assert "argument must be between 0 and 9223372036854775807 inclusive" in \
        err(r, "CONFIG", "SET", "zset-max-listpack-entries", "-1")
    assert "argument must be a memory value" in \
        err(r, "CONFIG", "SET", "zset-max-listpack-value", "-1")


@pytest.mark.parametrize("n", [10, 200])
def test_listpack_and_skiplist_agree(r, zcfg, n):
    """The same operations on both encodings give the same replies."""
    r.config_set("zset-max-listpack-entries", 1000)
    fill(r, "lp", n, score=lambda i: (i * 7) % 13)
    r.config_set("zset-max-listpack-entries", 0)
    fill(r, "sl", n, score=lambda i: (i * 7) % 13)
    assert enc(r, "lp") == "listpack" and enc(r, "sl") == "skiplist"
    queries = [("ZRANGE", "0", "-1", "WITHSCORES"), ("ZRANGE", "3", "1", "BYSCORE", "REV"),
               ("ZRANGE", "(2", "9", "BYSCORE", "LIMIT", "2", "5", "WITHSCORES"),
               ("ZCOUNT", "(3", "10"),
               ("ZRANK", "m7"), ("ZREVRANK", "m3"), ("ZSCORE", "m9"),
               ("ZRANGE", "-3", "-1", "REV", "WITHSCORES")]
    for qry in queries:
        assert raw(r, qry[0], "lp", *qry[1:]) == raw(r, qry[0], "sl", *qry[1:]), qry
    assert raw(r, "ZREMRANGEBYSCORE", "lp", "4", "6") == raw(r, "ZREMRANGEBYSCORE", "sl", "4", "6")
    assert raw(r, "ZPOPMAX", "lp", "3") == raw(r, "ZPOPMAX", "sl", "3")
    assert r.zrange("lp", 0, -1, withscores=True) == r.zrange("sl", 0, -1, withscores=True)


# ---------------------------------------------------------------------------
# Generic commands on sorted sets
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 300])
def test_generic_commands(r, n):
    fill(r, "z", n)
    encoding = enc(r, "z")
    assert r.type("z") == "zset"
    assert r.copy("z", "c") is True
    assert enc(r, "c") == encoding
    r.zadd("c", {"m0": -1})
    r.zrem("c", "m1")
    assert r.zscore("z", "m0") == 0 and r.zscore("z", "m1") == 1  # the copy is independent
    assert r.zrange("c", 0, 0) == ["m0"]
    r.rename("c", "d")
    assert r.zcard("d") == n - 1
    assert r.move("d", 1) is True
    r.execute_command("SELECT", "1")
    assert r.zcard("d") == n - 1 and enc(r, "d") == encoding
    r.flushdb()
    r.execute_command("SELECT", "0")
    r.set("s", "x")
    assert r.scan(0, _type="zset", count=1000) == (0, ["z"])
    r.expire("z", 100)
    r.zadd("z", {"new": 1})
    assert r.ttl("z") > 0  # ZADD keeps the TTL
    assert r.delete("z") == 1
    assert r.exists("z") == 0


def test_arity(r):
    for args in (("ZCARD",), ("ZSCORE", "k"), ("ZCOUNT", "k", "0"), ("ZLEXCOUNT", "k", "-"),
                 ("ZREMRANGEBYRANK", "k", "0"), ("ZRANGESTORE", "d", "k", "0"),
                 ("ZINTERCARD", "1"), ("ZUNIONSTORE", "d", "1"), ("ZSCAN", "k"),
                 ("ZRANDMEMBER",), ("ZPOPMIN",), ("BZPOPMIN", "k"), ("ZMPOP", "1", "k"),
                 ("BZMPOP", "0", "1", "k"), ("ZINCRBY", "k", "1")):
        assert err(r, *args) == f"wrong number of arguments for '{args[0].lower()}' command"


def test_command_getkeys(r):
    for args, keys in ((("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"), ["d", "a", "b"]),
                       (("ZINTER", "2", "a", "b"), ["a", "b"]),
                       (("ZINTERCARD", "1", "a", "LIMIT", "1"), ["a"]),
                       (("ZMPOP", "2", "a", "b", "MIN"), ["a", "b"]),
                       (("BZMPOP", "0", "1", "a", "MAX"), ["a"]),
                       (("BZPOPMIN", "a", "b", "0"), ["a", "b"]),
                       (("ZRANGESTORE", "d", "s", "0", "1"), ["d", "s"]),
                       (("ZADD", "k", "1", "m"), ["k"])):
        assert raw(r, "COMMAND", "GETKEYS", *args) == [k.encode() for k in keys]
    info = raw(r, "COMMAND", "INFO", "zunion", "zadd")
    assert b"movablekeys" in info[0][2] and b"movablekeys" not in info[1][2]
