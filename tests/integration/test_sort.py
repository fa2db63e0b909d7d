"""SORT and SORT_RO over lists, sets and sorted sets: BY (string keys, hash
fields, nosort), LIMIT, GET (#, keys, hash fields), ASC/DESC, ALPHA and
STORE, with Redis 7.0's ordering, clamping, replies and error strings.

Every assertion here holds against Redis 7.0 too (run the suite with
CAIRN_TEST_SERVER=redis)."""
import random

import pytest
import redis

SYNTAX = "syntax error"
NOT_INT = "value is not an integer or out of range"
NOT_DOUBLE = "One or more scores can't be converted into double"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


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


def sort(r, *args):
    return raw(r, "SORT", *args)


# ---------------------------------------------------------------------------
# Ordering
# ---------------------------------------------------------------------------


def test_numeric_list(r):
    r.rpush("l", 3, 10, -2, "1.5", 0, "-7.25", 100)
    assert sort(r, "l") == ["-7.25", "-2", "0", "1.5", "3", "10", "100"]
    assert sort(r, "l", "DESC") == ["100", "10", "3", "1.5", "0", "-2", "-7.25"]
    assert sort(r, "l", "asc") == sort(r, "l")
    # The last of ASC/DESC wins.
    assert sort(r, "l", "DESC", "ASC") == sort(r, "l")
    # The list itself is untouched.
    assert r.lrange("l", 0, -1) == ["3", "10", "-2", "1.5", "0", "-7.25", "100"]


def test_numeric_ties_compare_the_elements(r):
    # Equal scores are ordered by the elements' bytes, reversed by DESC.
    r.rpush("l", "1.0", "1", "01", "2", "1e0", "0.5")
    assert sort(r, "l") == ["0.5", "01", "1", "1.0", "1e0", "2"]
    assert sort(r, "l", "DESC") == ["2", "1e0", "1.0", "1", "01", "0.5"]


def test_numeric_forms_strtod_accepts(r):
    # Weights are parsed with strtod: spaces before, exponents, hex, inf;
    # the empty string reads as 0.
    r.rpush("l", "1e3", " 5", "0x10", "inf", "-inf", "", "-0")
    assert sort(r, "l") == ["-inf", "", "-0", " 5", "0x10", "1e3", "inf"]


@pytest.mark.parametrize("bad", ["abc", "1x", "nan", "1e400", "5 ", "--1"])
def test_numeric_conversion_error(r, bad):
    r.rpush("l", 1, bad, 2)
    assert err(r, "SORT", "l") == NOT_DOUBLE
    assert err(r, "SORT_RO", "l") == NOT_DOUBLE
    # No STORE happens on error.
    r.set("dst", "keep")
    assert err(r, "SORT", "l", "STORE", "dst") == NOT_DOUBLE
    assert r.get("dst") == "keep"
    # ALPHA never converts.
    assert len(sort(r, "l", "ALPHA")) == 3


def test_alpha(r):
    r.rpush("l", "banana", "apple", "10", "9", "Cherry", "", "apple2")
    assert sort(r, "l", "ALPHA") == ["", "10", "9", "Cherry", "apple", "apple2", "banana"]
    assert sort(r, "l", "ALPHA", "DESC") == ["banana", "apple2", "apple", "Cherry", "9", "10", ""]
    assert sort(r, "l", "alpha", "desc", "limit", 1, 2) == ["apple2", "apple"]


def test_list_with_duplicates(r):
    r.rpush("l", 3, 1, 3, 2, 1)
    assert sort(r, "l") == ["1", "1", "2", "3", "3"]
    assert sort(r, "l", "ALPHA", "DESC") == ["3", "3", "2", "1", "1"]


def test_missing_key(r):
    assert sort(r, "nokey") == []
    assert sort(r, "nokey", "ALPHA", "LIMIT", 0, 10, "GET", "#") == []
    assert raw(r, "SORT_RO", "nokey") == []


# ---------------------------------------------------------------------------
# LIMIT
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset,count,want", [
    (0, 3, ["0", "1", "2"]),
    (2, 3, ["2", "3", "4"]),
    (8, 5, ["8", "9"]),
    (9, 1, ["9"]),
    (10, 1, []),
    (100, 5, []),
    (0, 0, []),
    (3, 0, []),
    (-5, 2, ["0", "1"]),
    (2, -1, ["2", "3", "4", "5", "6", "7", "8", "9"]),
    (-1, -1, [str(i) for i in range(10)]),
    (1, 9223372036854775807, [str(i) for i in range(1, 10)]),
    (9223372036854775807, 1, []),
    (-9223372036854775808, 2, ["0", "1"]),
])
def test_limit(r, offset, count, want):
    r.rpush("l", *[9, 3, 0, 5, 1, 7, 2, 8, 4, 6])
    assert sort(r, "l", "LIMIT", offset, count) == want
    assert sort(r, "l", "LIMIT", offset, count, "DESC") == \
        [str(9 - int(x)) for x in want]


def test_limit_errors(r):
    r.rpush("l", 1, 2)
    assert err(r, "SORT", "l", "LIMIT", "x", 1) == NOT_INT
    assert err(r, "SORT", "l", "LIMIT", 0, "1.5") == NOT_INT
    assert err(r, "SORT", "l", "LIMIT", 0, "9223372036854775808") == NOT_INT
    assert err(r, "SORT", "l", "LIMIT", 0) == SYNTAX
    assert err(r, "SORT", "l", "LIMIT") == SYNTAX


# ---------------------------------------------------------------------------
# BY
# ---------------------------------------------------------------------------


def test_by_string_keys(r):
    r.rpush("l", "a", "b", "c", "d")
    r.mset({"w_a": 30, "w_b": 10, "w_c": 20})  # w_d is missing: weight 0
    assert sort(r, "l", "BY", "w_*") == ["d", "b", "c", "a"]
    assert sort(r, "l", "BY", "w_*", "DESC") == ["a", "c", "b", "d"]
    assert sort(r, "l", "BY", "w_*", "LIMIT", 1, 2) == ["b", "c"]
    # The '*' may be anywhere; only the first one is replaced.
    r.mset({"x_a_y": 3, "x_b_y": 2, "x_c_y": 1, "x_d_y": 4})
    assert sort(r, "l", "BY", "x_*_y") == ["c", "b", "a", "d"]
    r.mset({"a*": 1, "b*": 0, "c*": 3, "d*": 2})
    assert sort(r, "l", "BY", "**") == ["b", "a", "d", "c"]


def test_by_ties_and_missing_compare_the_elements(r):
    r.rpush("l", "c", "a", "d", "b")
    r.mset({"w_a": 1, "w_b": 1})
    assert sort(r, "l", "BY", "w_*") == ["c", "d", "a", "b"]
    assert sort(r, "l", "BY", "w_*", "DESC") == ["b", "a", "d", "c"]


def test_by_weight_not_a_number(r):
    r.rpush("l", "a", "b")
    r.mset({"w_a": 1, "w_b": "heavy"})
    assert err(r, "SORT", "l", "BY", "w_*") == NOT_DOUBLE
    # The element itself is never converted when BY is given.
    r.delete("l")
    r.rpush("l", "x", "y")
    r.mset({"w_x": 2, "w_y": 1})
    assert sort(r, "l", "BY", "w_*") == ["y", "x"]


def test_by_alpha(r):
    r.rpush("l", 1, 2, 3, 4)
    r.mset({"n_1": "delta", "n_2": "alpha", "n_3": "charlie"})  # n_4 missing: first
    assert sort(r, "l", "BY", "n_*", "ALPHA") == ["4", "2", "3", "1"]
    assert sort(r, "l", "BY", "n_*", "ALPHA", "DESC") == ["1", "3", "2", "4"]


def test_by_hash_field(r):
    r.rpush("l", "u1", "u2", "u3", "u4")
    r.hset("h_u1", mapping={"age": 40, "name": "zed"})
    r.hset("h_u2", mapping={"age": 20, "name": "amy"})
    r.hset("h_u3", mapping={"age": 30, "name": "kim"})
    r.hset("h_u4", mapping={"name": "bob"})  # no age: 0
    assert sort(r, "l", "BY", "h_*->age") == ["u4", "u2", "u3", "u1"]
    assert sort(r, "l", "BY", "h_*->name", "ALPHA") == ["u2", "u4", "u3", "u1"]
    # Not numbers: an error without ALPHA.
    assert err(r, "SORT", "l", "BY", "h_*->name") == NOT_DOUBLE
    # A hash field of a key that is not a hash, or a missing field: 0.
    r.set("h_u2", "string")
    assert sort(r, "l", "BY", "h_*->age") == ["u2", "u4", "u3", "u1"]


def test_by_large_hash(r):
    # A hash past the listpack limits (a dict) reads the same.
    r.rpush("l", "a", "b", "c")
    for k, age in (("a", 3), ("b", 1), ("c", 2)):
        r.hset(f"h_{k}", mapping={f"f{i}": "x" * 10 for i in range(600)})
        r.hset(f"h_{k}", "age", age)
    assert sort(r, "l", "BY", "h_*->age") == ["b", "c", "a"]


def test_by_arrow_without_field_is_a_key(r):
    # "->" at the end is not a hash dereference: the key is "w_a->".
    r.rpush("l", "a", "b")
    r.mset({"w_a->": 2, "w_b->": 1})
    assert sort(r, "l", "BY", "w_*->") == ["b", "a"]
    # An arrow before the '*' is part of the key too.
    r.mset({"p->a": 1, "p->b": 2})
    assert sort(r, "l", "BY", "p->*", "DESC") == ["b", "a"]


def test_by_key_of_wrong_type_counts_as_missing(r):
    r.rpush("l", "a", "b", "c")
    r.rpush("w_a", 100)  # a list: ignored
    r.set("w_b", 5)
    r.set("w_c", 1)
    assert sort(r, "l", "BY", "w_*") == ["a", "c", "b"]


def test_by_nosort_list(r):
    r.rpush("l", 3, 1, 2, "x", 5)
    assert sort(r, "l", "BY", "nosort") == ["3", "1", "2", "x", "5"]
    assert sort(r, "l", "BY", "nosort", "DESC") == ["5", "x", "2", "1", "3"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", 1, 2) == ["1", "2"]
    assert sort(r, "l", "BY", "nosort", "DESC", "LIMIT", 1, 2) == ["x", "2"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", 4, 10) == ["5"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", 5, 10) == []
    # Any pattern without '*' means nosort; ALPHA is then irrelevant.
    assert sort(r, "l", "BY", "constant", "ALPHA") == ["3", "1", "2", "x", "5"]
    assert sort(r, "l", "BY", "nosort", "STORE", "dst") == 5
    assert r.lrange("dst", 0, -1) == ["3", "1", "2", "x", "5"]


def test_by_nosort_then_pattern_still_nosort(r):
    # Redis sets "don't sort" on a BY without '*' and a later BY does not
    # clear it (the later pattern is then unused).
    r.rpush("l", "b", "c", "a")
    r.mset({"w_a": 1, "w_b": 2, "w_c": 3})
    assert sort(r, "l", "BY", "nosort", "BY", "w_*") == ["b", "c", "a"]
    assert sort(r, "l", "BY", "w_*", "BY", "nosort") == ["b", "c", "a"]
    assert sort(r, "l", "BY", "w_*", "DESC") == ["c", "b", "a"]


@pytest.mark.cairn_only
def test_alpha_by_ties_are_deterministic(r):
    # Redis leaves equal ALPHA weights to qsort; Cairn orders them by the
    # elements so that SORT ... STORE replays the same on every replica.
    members = [f"m{i:03d}" for i in range(200)]
    r.sadd("s", *members)
    r.mset({f"w_{m}": "same" for m in members[:100]})
    want = members[100:] + members[:100]  # missing weights first
    assert sort(r, "s", "BY", "w_*", "ALPHA") == want
    assert sort(r, "s", "BY", "w_*", "ALPHA", "DESC") == want[::-1]
    assert sort(r, "s", "BY", "w_*", "ALPHA", "STORE", "dst") == 200
    assert r.lrange("dst", 0, -1) == want


def test_by_nosort_zset(r):
    r.zadd("z", {"a": 3, "b": 1, "c": 2, "d": 10, "e": -1})
    assert sort(r, "z", "BY", "nosort") == ["e", "b", "c", "a", "d"]
    assert sort(r, "z", "BY", "nosort", "DESC") == ["d", "a", "c", "b", "e"]
    assert sort(r, "z", "BY", "nosort", "LIMIT", 1, 3) == ["b", "c", "a"]
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", 1, 3) == ["a", "c", "b"]
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", 4, 3) == ["e"]
    assert sort(r, "z", "BY", "nosort", "LIMIT", 5, 3) == []
    assert raw(r, "SORT_RO", "z", "BY", "nosort", "DESC") == ["d", "a", "c", "b", "e"]


def test_by_nosort_large_zset(r):
    members = {f"m{i}": (i * 7919) % 1000 for i in range(300)}
    r.zadd("z", members)
    want = [m for m, _ in sorted(members.items(), key=lambda kv: (kv[1], kv[0]))]
    assert sort(r, "z", "BY", "nosort") == want
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", 10, 20) == want[::-1][10:30]


def test_by_nosort_set(r):
    r.sadd("s", "c", "a", "b")
    # The set's own order, whatever it is: all members, LIMIT applies.
    got = sort(r, "s", "BY", "nosort")
    assert sorted(got) == ["a", "b", "c"]
    assert len(sort(r, "s", "BY", "nosort", "LIMIT", 0, 2)) == 2
    # With STORE a set is sorted ALPHA anyway, and DESC applies.
    assert sort(r, "s", "BY", "nosort", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == ["a", "b", "c"]
    assert sort(r, "s", "BY", "nosort", "DESC", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == ["c", "b", "a"]
    assert sort(r, "s", "BY", "nosort", "DESC", "LIMIT", 1, 5, "STORE", "dst") == 2
    assert r.lrange("dst", 0, -1) == ["b", "a"]


# ---------------------------------------------------------------------------
# GET
# ---------------------------------------------------------------------------


def test_get(r):
    r.rpush("l", 2, 1, 3)
    r.mset({"name_1": "one", "name_2": "two"})  # name_3 missing
    r.hset("obj_1", "color", "red")
    r.hset("obj_3", "color", "blue")
    assert sort(r, "l", "GET", "name_*") == ["one", "two", None]
    assert sort(r, "l", "GET", "#") == ["1", "2", "3"]
    assert sort(r, "l", "GET", "#", "GET", "name_*", "GET", "obj_*->color") == \
        ["1", "one", "red", "2", "two", None, "3", None, "blue"]
    assert sort(r, "l", "DESC", "LIMIT", 0, 2, "GET", "name_*", "GET", "#") == \
        [None, "3", "two", "2"]
    # A pattern without '*' names nothing.
    assert sort(r, "l", "GET", "name") == [None, None, None]
    # A key of the wrong type: nil; a hash field of a string key: nil.
    r.rpush("name_3", "x")
    r.set("obj_2", "str")
    assert sort(r, "l", "GET", "name_*", "GET", "obj_*->color") == \
        ["one", "red", "two", None, None, "blue"]


def test_get_integer_values(r):
    # Values stored as integers come back as their text.
    r.rpush("l", "a", "b")
    r.set("v_a", 12345)
    r.hset("h_b", "f", -98765)
    assert sort(r, "l", "ALPHA", "GET", "v_*", "GET", "h_*->f") == ["12345", None, None, "-98765"]


def test_get_with_by(r):
    r.rpush("l", "x", "y", "z")
    r.mset({"w_x": 3, "w_y": 1, "w_z": 2, "d_x": "X", "d_y": "Y", "d_z": "Z"})
    assert sort(r, "l", "BY", "w_*", "GET", "d_*") == ["Y", "Z", "X"]
    assert sort(r, "l", "BY", "nosort", "GET", "d_*", "GET", "#") == \
        ["X", "x", "Y", "y", "Z", "z"]


def test_get_binary(rb):
    rb.rpush("l", b"k\x00a", b"k\xffb")
    rb.set(b"v_k\x00a", b"\x00\x01")
    rb.set(b"v_k\xffb", b"\xfe")
    assert raw(rb, "SORT", "l", "ALPHA", "GET", "v_*", "GET", "#") == \
        [b"\x00\x01", b"k\x00a", b"\xfe", b"k\xffb"]


# ---------------------------------------------------------------------------
# STORE
# ---------------------------------------------------------------------------


def test_store(r):
    r.rpush("l", 3, 1, 2)
    assert sort(r, "l", "STORE", "dst") == 3
    assert r.type("dst") == "list"
    assert r.lrange("dst", 0, -1) == ["1", "2", "3"]
    # Replaces any value and its TTL.
    r.set("dst", "string")
    r.expire("dst", 100)
    assert sort(r, "l", "DESC", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == ["3", "2", "1"]
    assert r.ttl("dst") == -1
    # Onto itself.
    assert sort(r, "l", "STORE", "l") == 3
    assert r.lrange("l", 0, -1) == ["1", "2", "3"]


def test_store_with_get_and_limit(r):
    r.rpush("l", 1, 2, 3)
    r.mset({"n_1": "a", "n_3": "c"})
    assert sort(r, "l", "GET", "n_*", "GET", "#", "STORE", "dst") == 6
    # A missing value is stored as an empty string.
    assert r.lrange("dst", 0, -1) == ["a", "1", "", "2", "c", "3"]
    assert sort(r, "l", "LIMIT", 1, 1, "GET", "#", "GET", "n_*", "STORE", "dst") == 2
    assert r.lrange("dst", 0, -1) == ["2", ""]


def test_store_empty_deletes(r):
    r.rpush("dst", "old")
    assert sort(r, "nokey", "STORE", "dst") == 0
    assert r.exists("dst") == 0
    r.rpush("l", 1, 2)
    r.set("dst", "old")
    assert sort(r, "l", "LIMIT", 5, 1, "STORE", "dst") == 0
    assert r.exists("dst") == 0
    assert sort(r, "l", "LIMIT", 0, 0, "STORE", "dst") == 0
    assert sort(r, "nokey", "STORE", "dst") == 0


def test_store_big(r):
    rnd = random.Random(5)
    vals = [rnd.randint(-10**6, 10**6) for _ in range(2000)]
    r.rpush("l", *vals)
    assert sort(r, "l", "STORE", "dst") == 2000
    assert r.lrange("dst", 0, -1) == [str(v) for v in sorted(vals, key=lambda v: (v, str(v)))]
    assert r.llen("dst") == 2000


def test_store_in_multi(r):
    r.rpush("l", 2, 1)
    p = r.pipeline(transaction=True)
    p.execute_command("SORT", "l", "STORE", "dst")
    p.lrange("dst", 0, -1)
    assert p.execute() == [2, ["1", "2"]]


def test_sort_ro(r):
    r.rpush("l", 2, 3, 1)
    r.mset({"w_1": 3, "w_2": 2, "w_3": 1, "n_1": "one"})
    assert raw(r, "SORT_RO", "l") == ["1", "2", "3"]
    assert raw(r, "SORT_RO", "l", "BY", "w_*", "GET", "n_*", "GET", "#", "LIMIT", 0, 2) == \
        [None, "3", None, "2"]
    assert raw(r, "SORT_RO", "l", "ALPHA", "DESC") == ["3", "2", "1"]
    assert err(r, "SORT_RO", "l", "STORE", "dst") == SYNTAX
    assert r.exists("dst") == 0


# ---------------------------------------------------------------------------
# Types and errors
# ---------------------------------------------------------------------------


def test_sets(r):
    r.sadd("si", 5, -3, 100, 0)  # an intset
    assert sort(r, "si") == ["-3", "0", "5", "100"]
    assert sort(r, "si", "DESC", "LIMIT", 0, 2) == ["100", "5"]
    assert sort(r, "si", "ALPHA") == ["-3", "0", "100", "5"]
    r.sadd("ss", "pear", "fig", "apple")  # a small set of strings
    assert sort(r, "ss", "ALPHA") == ["apple", "fig", "pear"]
    assert err(r, "SORT", "ss") == NOT_DOUBLE
    members = [f"m{i:04d}" for i in range(700)]  # a hashtable
    r.sadd("sh", *members)
    assert sort(r, "sh", "ALPHA") == members
    assert sort(r, "sh", "ALPHA", "DESC", "LIMIT", 0, 3) == members[::-1][:3]
    nums = list(range(0, 3000, 3))  # a large intset / hashtable of numbers
    r.sadd("sn", *nums)
    assert sort(r, "sn", "DESC") == [str(n) for n in nums[::-1]]


def test_zsets(r):
    r.zadd("z", {"10": 1, "2": 2, "33": 3, "-1": 4})
    # SORT sorts the members, not by score.
    assert sort(r, "z") == ["-1", "2", "10", "33"]
    assert sort(r, "z", "ALPHA") == ["-1", "10", "2", "33"]
    r.mset({"w_10": 4, "w_2": 3, "w_33": 2, "w_-1": 1})
    assert sort(r, "z", "BY", "w_*", "DESC") == ["10", "2", "33", "-1"]
    r.zadd("zs", {"b": 1, "a": 2})
    assert err(r, "SORT", "zs") == NOT_DOUBLE
    assert sort(r, "zs", "ALPHA", "STORE", "dst") == 2
    assert r.lrange("dst", 0, -1) == ["a", "b"]


def test_zset_encoding_after_sort(r):
    # Redis 7.0 converts a listpack sorted set to a skiplist when it sorts it.
    r.zadd("z", {"a": 1, "b": 2})
    assert r.object("encoding", "z") == "listpack"
    sort(r, "z", "ALPHA")
    assert r.object("encoding", "z") == "skiplist"
    assert r.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]


def test_wrongtype(r):
    r.set("str", "x")
    r.hset("h", "f", "v")
    assert err(r, "SORT", "str") == WRONGTYPE
    assert err(r, "SORT", "h") == WRONGTYPE
    assert err(r, "SORT_RO", "h", "ALPHA") == WRONGTYPE
    assert err(r, "SORT", "str", "STORE", "dst") == WRONGTYPE
    # Syntax errors are found first.
    assert err(r, "SORT", "str", "BOGUS") == SYNTAX
    assert err(r, "SORT", "str", "LIMIT", "a", "b") == NOT_INT


def test_syntax_errors(r):
    r.rpush("l", 1)
    for args in (("BOGUS",), ("BY",), ("GET",), ("STORE",), ("LIMIT", 1),
                 ("ALPHA", "LIMIT"), ("ASC", "DESCENDING"), ("GET", "#", "x")):
        assert err(r, "SORT", "l", *args) == SYNTAX, args
    assert err(r, "SORT") == "wrong number of arguments for 'sort' command"
    assert err(r, "SORT_RO") == "wrong number of arguments for 'sort_ro' command"


def test_expired_weight_key(r):
    import time
    r.rpush("l", "a", "b")
    r.set("w_a", 5)
    r.set("w_b", 10, px=1)
    time.sleep(0.05)
    assert sort(r, "l", "BY", "w_*") == ["b", "a"]
    assert r.exists("w_b") == 0


def test_command_info(r):
    info = r.execute_command("COMMAND", "INFO", "sort", "sort_ro")
    if isinstance(info, dict):
        sort_info, ro_info = info["sort"], info["sort_ro"]
    else:
        sort_info, ro_info = info
    assert sort_info["arity"] == -2
    assert ro_info["arity"] == -2
    assert "write" in sort_info["flags"]
    assert "readonly" in ro_info["flags"]


# ---------------------------------------------------------------------------
# Against a model
# ---------------------------------------------------------------------------


def model_sort(elems, weights, desc, alpha, by, limit):
    """Redis's SORT on distinct-enough data: numeric weights or ALPHA."""
    def key(e):
        if by:
            w = weights.get(e)
            if alpha:
                return (0, "") if w is None else (1, w)
            return (0.0 if w is None else float(w), e)
        return (float(e), e) if not alpha else e
    out = sorted(elems, key=key, reverse=desc)
    if limit:
        off, cnt = limit
        off = max(off, 0)
        out = out[off:] if cnt < 0 else out[off:off + cnt]
    return out


def test_random_model(r):
    seed = 20240611
    rnd = random.Random(seed)
    for it in range(150):
        r.flushall()
        n = rnd.randint(0, 60)
        numeric = rnd.random() < 0.6
        if numeric:
            elems = [str(rnd.choice([rnd.randint(-50, 50), rnd.randint(-10**12, 10**12)]))
                     for _ in range(n)]
        else:
            elems = ["".join(rnd.choice("abcXYZ019") for _ in range(rnd.randint(1, 6)))
                     for _ in range(n)]
        kind = rnd.choice(["list", "set", "zset"])
        if kind == "list":
            if elems:
                r.rpush("k", *elems)
        elif kind == "set":
            elems = list(dict.fromkeys(elems))
            if elems:
                r.sadd("k", *elems)
        else:
            elems = list(dict.fromkeys(elems))
            if elems:
                r.zadd("k", {e: rnd.randint(0, 5) for e in elems})
        args = []
        desc = rnd.random() < 0.5
        alpha = not numeric or rnd.random() < 0.3
        by = rnd.random() < 0.4
        weights = {}
        if by:
            uniq = list(dict.fromkeys(elems))
            if alpha:
                # Distinct ALPHA weights: Redis leaves ties to qsort.
                ws = rnd.sample(range(10**6), len(uniq))
                weights = {e: f"w{w:07d}" for e, w in zip(uniq, ws) if rnd.random() < 0.9}
                missing = [e for e in uniq if e not in weights]
                for e in missing[1:]:
                    weights[e] = f"w{rnd.randint(0, 10**6):07d}x{e}"
            else:
                weights = {e: str(rnd.randint(-5, 5)) for e in uniq if rnd.random() < 0.8}
            if weights:
                r.mset({f"w:{e}": w for e, w in weights.items()})
            args += ["BY", "w:*"]
        limit = None
        if rnd.random() < 0.5:
            limit = (rnd.randint(-3, n + 3), rnd.randint(-2, n + 3))
            args += ["LIMIT", *limit]
        if desc:
            args.append("DESC")
        if alpha:
            args.append("ALPHA")
        want = model_sort(elems, weights, desc, alpha, by, limit)
        got = sort(r, "k", *args)
        assert got == want, f"seed {seed} iteration {it}: SORT k {args}"
        if rnd.random() < 0.3:
            assert sort(r, "k", *args, "STORE", "dst") == len(want)
            assert r.lrange("dst", 0, -1) == want, f"seed {seed} iteration {it}"
