"""Streams: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID, XREAD (not
blocking), consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM) and XINFO, with the generic commands on a stream key.  Every
test holds against Redis 7.0 (CAIRN_TEST_SERVER=redis)."""
import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BAD_ID = "Invalid stream ID specified as stream command argument"
SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"
MAX = "18446744073709551615"


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def x(r, *args):
    return r.execute_command(*args)


@pytest.fixture
def c(r):
    r.response_callbacks.clear()  # raw replies: the shapes are what is tested
    return r


# --- XADD -------------------------------------------------------------------------

def test_xadd_ids(c):
    assert err(c, "XADD", "s", "0-0", "a", "1") == "The ID specified in XADD must be greater than 0-0"
    assert x(c, "XADD", "s", "0-*", "a", "1") == "0-1"
    assert x(c, "XADD", "s", "5", "a", "1") == "5-0"
    assert x(c, "XADD", "s", "5-*", "a", "1") == "5-1"
    assert err(c, "XADD", "s", "5-1", "a", "1") == SMALLER
    assert err(c, "XADD", "s", "4-*", "a", "1") == SMALLER
    assert x(c, "XADD", "s", "7-*", "a", "1") == "7-0"
    assert err(c, "XADD", "s", "bad", "a", "1") == BAD_ID
    assert err(c, "XADD", "s", "1-x", "a", "1") == BAD_ID
    assert err(c, "XADD", "s", "*", "a") == "wrong number of arguments for 'xadd' command"
    ms, seq = x(c, "XADD", "s", "*", "a", "1").split("-")
    assert int(ms) > 1600000000000 and seq == "0"
    assert c.xlen("s") == 5
    assert x(c, "XADD", "nomk", "NOMKSTREAM", "*", "a", "1") is None
    assert c.exists("nomk") == 0


def test_xadd_sequence_overflow_and_max_id(c):
    x(c, "XADD", "s", f"5-{MAX}", "a", "1")
    # Redis's own words for an exhausted sequence of an explicit time.
    assert err(c, "XADD", "s", "5-*", "a", "1") == "Elements are too large to be stored"
    # "*" moves to the next millisecond when the sequence is exhausted.
    x(c, "XSETID", "s", f"{MAX}-18446744073709551614")
    assert x(c, "XADD", "s", "*", "a", "1") == f"{MAX}-{MAX}"
    assert err(c, "XADD", "s", "*", "a", "1") == \
        "The stream has exhausted the last possible ID, unable to add more items"
    c.delete("t")
    x(c, "XADD", "t", f"3-{MAX}", "a", "1")
    x(c, "XSETID", "t", f"3-{MAX}")
    ms, seq = x(c, "XADD", "t", "*", "a", "1").split("-")
    assert int(ms) > 3


def test_xadd_wrongtype_and_options(c):
    c.set("str", "v")
    assert err(c, "XADD", "str", "*", "a", "1") == WRONGTYPE
    assert err(c, "XADD", "s", "MAXLEN", "-1", "*", "a", "1") == "The MAXLEN argument must be >= 0."
    assert err(c, "XADD", "s", "LIMIT", "10", "*", "a", "1") == \
        "syntax error, LIMIT cannot be used without specifying a trimming strategy"
    assert err(c, "XADD", "s", "MAXLEN", "5", "LIMIT", "10", "*", "a", "1") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert err(c, "XADD", "s", "MAXLEN", "5", "MINID", "5", "*", "a", "1") == \
        "syntax error, MAXLEN and MINID options at the same time are not compatible"
    assert err(c, "XADD", "s", "MAXLEN", "x", "*", "a", "1") == \
        "value is not an integer or out of range"
    assert c.exists("s") == 0
    for i in range(1, 11):
        x(c, "XADD", "s", "MAXLEN", "=", "3", f"{i}-0", "f", str(i))
    assert [e[0] for e in x(c, "XRANGE", "s", "-", "+")] == ["8-0", "9-0", "10-0"]
    x(c, "XADD", "s", "MINID", "10", "11-0", "f", "11")
    assert [e[0] for e in x(c, "XRANGE", "s", "-", "+")] == ["10-0", "11-0"]


def test_xadd_approximate_trim_removes_whole_nodes(c):
    for i in range(1, 251):
        x(c, "XADD", "s", f"{i}-0", "f", "v")
    # Nodes of 100 entries: trimming to about 120 can only drop the first.
    x(c, "XADD", "s", "MAXLEN", "~", "120", "251-0", "f", "v")
    assert c.xlen("s") == 151
    assert x(c, "XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "99") == 0
    assert x(c, "XTRIM", "s", "MAXLEN", "~", "10") == 100
    assert x(c, "XTRIM", "s", "MINID", "~", "240") == 0
    assert x(c, "XTRIM", "s", "MINID", "240") == 39
    assert x(c, "XRANGE", "s", "-", "+", "COUNT", "1")[0][0] == "240-0"


# --- XRANGE / XREVRANGE / XLEN / XDEL ---------------------------------------------

def test_xrange(c):
    for i in range(1, 6):
        x(c, "XADD", "s", f"{i}-1", "f", str(i), "g", "x")
    x(c, "XADD", "s", "5-2", "other", "y")
    assert x(c, "XRANGE", "s", "2", "3") == [["2-1", ["f", "2", "g", "x"]],
                                             ["3-1", ["f", "3", "g", "x"]]]
    assert [e[0] for e in x(c, "XRANGE", "s", "(2-1", "(5-1")] == ["3-1", "4-1"]
    assert [e[0] for e in x(c, "XREVRANGE", "s", "+", "-", "COUNT", "2")] == ["5-2", "5-1"]
    assert [e[0] for e in x(c, "XREVRANGE", "s", "(5-2", "4")] == ["5-1", "4-1"]
    assert x(c, "XRANGE", "s", "5-2", "5-2") == [["5-2", ["other", "y"]]]
    assert x(c, "XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert x(c, "XRANGE", "nokey", "-", "+") == []
    assert x(c, "XRANGE", "s", "3", "2") == []
    assert err(c, "XRANGE", "s", "(-", "+") == BAD_ID
    assert err(c, "XRANGE", "s", f"({MAX}-{MAX}", "+") == "invalid start ID for the interval"
    assert err(c, "XRANGE", "s", "-", "(0-0") == "invalid end ID for the interval"
    assert err(c, "XRANGE", "s", "-", "+", "COUNT") == "syntax error"
    assert err(c, "XRANGE", "s", "-", "+", "LIMIT", "1") == "syntax error"
    assert c.xlen("s") == 6 and c.xlen("nokey") == 0
    c.set("str", "v")
    assert err(c, "XRANGE", "str", "-", "+") == WRONGTYPE
    assert err(c, "XLEN", "str") == WRONGTYPE


def test_xdel(c):
    for i in range(1, 6):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    assert err(c, "XDEL", "s", "1-0", "zz") == BAD_ID
    assert c.xlen("s") == 5
    assert x(c, "XDEL", "s", "1-0", "3-0", "3-0", "9-0") == 2
    assert [e[0] for e in x(c, "XRANGE", "s", "-", "+")] == ["2-0", "4-0", "5-0"]
    assert [e[0] for e in x(c, "XREVRANGE", "s", "+", "-")] == ["5-0", "4-0", "2-0"]
    assert x(c, "XDEL", "nokey", "1-0") == 0
    x(c, "XDEL", "s", "2-0", "4-0", "5-0")
    # An emptied stream stays, with its last ID.
    assert c.exists("s") == 1 and c.xlen("s") == 0
    assert err(c, "XADD", "s", "5-0", "f", "v") == SMALLER


def test_xtrim(c):
    assert x(c, "XTRIM", "nokey", "MAXLEN", "0") == 0
    for i in range(1, 11):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    assert err(c, "XTRIM", "s", "FOO", "1") == "syntax error"
    assert err(c, "XTRIM", "s", "MAXLEN", "1", "LIMIT", "1") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert x(c, "XTRIM", "s", "MAXLEN", "7") == 3
    assert x(c, "XTRIM", "s", "MINID", "=", "6") == 2
    assert x(c, "XTRIM", "s", "MINID", "6") == 0
    assert [e[0] for e in x(c, "XRANGE", "s", "-", "+")] == ["6-0", "7-0", "8-0", "9-0", "10-0"]


def test_xsetid(c):
    assert err(c, "XSETID", "nokey", "1-1") == "no such key"
    x(c, "XADD", "s", "5-0", "f", "v")
    assert err(c, "XSETID", "s", "4-0") == \
        "The ID specified in XSETID is smaller than the target stream top item"
    assert err(c, "XSETID", "s", "6-0", "ENTRIESADDED", "0") == \
        "The entries_added specified in XSETID is smaller than the target stream length"
    assert err(c, "XSETID", "s", "6-0", "ENTRIESADDED", "5", "MAXDELETEDID", "7-0") == \
        "The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    assert err(c, "XSETID", "s", "6-0", "FOO") == "syntax error"
    assert x(c, "XSETID", "s", "9-0", "ENTRIESADDED", "5", "MAXDELETEDID", "3-0") == "OK"
    info = dict(zip(*[iter(x(c, "XINFO", "STREAM", "s"))] * 2))
    assert info["last-generated-id"] == "9-0"
    assert info["entries-added"] == 5 and info["max-deleted-entry-id"] == "3-0"
    assert err(c, "XADD", "s", "8-0", "f", "v") == SMALLER
    assert x(c, "XADD", "s", "9-*", "f", "v") == "9-1"


def test_xsetid_checks_arguments_before_the_key(c):
    # A bad argument is reported even when the key is missing or not a stream.
    assert err(c, "XSETID", "nokey", "1-1", "0") == "syntax error"
    assert err(c, "XSETID", "nokey", "1-1", "0-0") == "syntax error"
    assert err(c, "XSETID", "nokey", "1-1", "ENTRIESADDED", "-1", "MAXDELETEDID", "0-0") == \
        "entries_added must be positive"
    assert err(c, "XSETID", "nokey", "1-1", "MAXDELETEDID", "2-0") == \
        "The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    c.set("str", "v")
    assert err(c, "XSETID", "str", "1-1", "FOO") == "syntax error"
    assert err(c, "XSETID", "str", "1-1").startswith("WRONGTYPE")
    assert err(c, "XSETID", "nokey", "1-1", "ENTRIESADDED", "1") == "no such key"


# --- generic commands ---------------------------------------------------------------

def test_generic_commands_on_a_stream(c):
    x(c, "XADD", "s", "1-0", "f", "v")
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    assert c.type("s") == "stream"
    assert x(c, "OBJECT", "ENCODING", "s") == "stream"
    assert x(c, "SCAN", "0", "TYPE", "stream")[1] == ["s"]
    assert c.copy("s", "s2") == 1
    x(c, "XADD", "s", "2-0", "f", "w")
    assert c.xlen("s2") == 1
    assert x(c, "XINFO", "GROUPS", "s2")[0][1] == "g"
    c.rename("s2", "s3")
    assert x(c, "XRANGE", "s3", "-", "+") == [["1-0", ["f", "v"]]]
    assert c.memory_usage("s") > 0
    assert err(c, "SORT", "s") == WRONGTYPE
    c.pexpire("s3", 50)
    assert c.pttl("s3") > 0
    assert c.delete("s", "s3") >= 1


# --- XREAD (no blocking) ----------------------------------------------------------

def test_xread(c):
    x(c, "XADD", "a", "1-0", "f", "1")
    x(c, "XADD", "a", "2-0", "f", "2")
    x(c, "XADD", "b", "3-0", "f", "3")
    assert x(c, "XREAD", "STREAMS", "a", "b", "0", "0") == [
        ["a", [["1-0", ["f", "1"]], ["2-0", ["f", "2"]]]], ["b", [["3-0", ["f", "3"]]]]]
    assert x(c, "XREAD", "COUNT", "1", "STREAMS", "a", "b", "1-0", "3-0") == \
        [["a", [["2-0", ["f", "2"]]]]]
    assert x(c, "XREAD", "STREAMS", "a", "$") is None
    assert x(c, "XREAD", "STREAMS", "nokey", "0") is None
    assert err(c, "XREAD", "STREAMS", "a", "b", "0") == \
        "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
    assert err(c, "XREAD", "STREAMS", "a", ">") == \
        "The > ID can be specified only when calling XREADGROUP using the GROUP <group> " \
        "<consumer> option."
    assert err(c, "XREAD", "GROUP", "g", "c", "STREAMS", "a", "0") == \
        "The GROUP option is only supported by XREADGROUP. You called XREAD instead."
    assert err(c, "XREAD", "NOACK", "STREAMS", "a", "0") == \
        "The NOACK option is only supported by XREADGROUP. You called XREAD instead."
    assert err(c, "XREAD", "COUNT", "1", "a", "0") == "syntax error"
    assert err(c, "XREAD", "BLOCK", "x", "STREAMS", "a", "0") == \
        "timeout is not an integer or out of range"
    assert err(c, "XREAD", "BLOCK", "-1", "STREAMS", "a", "0") == "timeout is negative"
    c.set("str", "v")
    assert err(c, "XREAD", "STREAMS", "str", "0") == WRONGTYPE


def test_xread_and_xinfo_resp3(r, raw):
    x(r, "XADD", "a", "1-0", "f", "1")
    conn = raw()
    conn.cmd("HELLO", "3")
    conn.read_reply()
    conn.cmd("XREAD", "STREAMS", "a", "0")
    assert conn.read_reply() == ("%", [(("$", b"a"), ("*", [("*", [
        ("$", b"1-0"), ("*", [("$", b"f"), ("$", b"1")])])]))])
    conn.cmd("XREAD", "STREAMS", "a", "$")
    assert conn.read_reply() == ("_", "")
    conn.cmd("XINFO", "STREAM", "a")
    t, items = conn.read_reply()
    assert t == "%" and items[0] == (("$", b"length"), (":", "1"))


# --- Consumer groups ------------------------------------------------------------------

def test_xgroup(c):
    assert err(c, "XGROUP", "CREATE", "s", "g", "$").startswith(
        "The XGROUP subcommand requires the key to exist.")
    assert x(c, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == "OK"
    assert err(c, "XGROUP", "CREATE", "s", "g", "$") == "BUSYGROUP Consumer Group name already exists"
    assert err(c, "XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-5") == \
        "value for ENTRIESREAD must be positive or -1"
    assert err(c, "XGROUP", "CREATE", "s", "g2", "0", "FOO") == \
        "unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."
    assert err(c, "XGROUP", "SETID", "s", "nog", "0") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(c, "XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD") == \
        "unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP."
    assert err(c, "XGROUP", "FOO", "s", "g").startswith("unknown subcommand 'FOO'")
    assert x(c, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 1
    assert x(c, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 0
    assert x(c, "XGROUP", "DELCONSUMER", "s", "g", "bob") == 0
    assert x(c, "XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
    assert x(c, "XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "3") == "OK"
    assert x(c, "XGROUP", "DESTROY", "s", "g") == 1
    assert x(c, "XGROUP", "DESTROY", "s", "g") == 0
    assert len(x(c, "XGROUP", "HELP")) > 5
    c.set("str", "v")
    assert err(c, "XGROUP", "CREATE", "str", "g", "0") == WRONGTYPE


def test_xreadgroup_and_xack(c):
    for i in range(1, 5):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    assert err(c, "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">") == \
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    assert err(c, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$").startswith(
        "The $ ID is meaningless in the context of XREADGROUP")
    assert err(c, "XREADGROUP", "COUNT", "1", "STREAMS", "s", ">", "x", "y") == \
        "Missing GROUP option for XREADGROUP"
    got = x(c, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    assert got == [["s", [["1-0", ["f", "1"]], ["2-0", ["f", "2"]]]]]
    got = x(c, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    assert [e[0] for e in got[0][1]] == ["3-0", "4-0"]
    assert x(c, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">") is None
    # History: the consumer's own pending entries.
    assert [e[0] for e in x(c, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0")[0][1]] \
        == ["1-0", "2-0"]
    x(c, "XDEL", "s", "2-0")
    assert x(c, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0") == \
        [["s", [["1-0", ["f", "1"]], ["2-0", None]]]]
    summary = x(c, "XPENDING", "s", "g")
    assert summary == [4, "1-0", "4-0", [["alice", "2"], ["bob", "2"]]]
    assert err(c, "XACK", "s", "g", "1-0", "bad") == BAD_ID
    assert x(c, "XACK", "s", "g", "1-0", "2-0", "9-0") == 2
    assert x(c, "XACK", "s", "nog", "3-0") == 0
    assert x(c, "XACK", "nokey", "g", "3-0") == 0
    assert x(c, "XPENDING", "s", "g")[0] == 2
    # NOACK: delivered, not pending.
    x(c, "XADD", "s", "5-0", "f", "5")
    x(c, "XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "s", ">")
    assert x(c, "XPENDING", "s", "g")[0] == 2
    assert x(c, "XGROUP", "DELCONSUMER", "s", "g", "bob") == 2
    assert x(c, "XPENDING", "s", "g") == [0, None, None, None]


def test_xreadgroup_one_by_one_across_changes(c):
    """XREADGROUP ">" COUNT 1 after each change to the stream delivers the
    entry XRANGE shows next: deletions, trims, appends that grow a node's
    entry count past one byte (more than 127 entries per node), new nodes
    and the group moved back (Cairn resumes where the last read stopped)."""
    import random
    rnd = random.Random(15)
    old = x(c, "CONFIG", "GET", "stream-node-max-entries")[1]
    x(c, "CONFIG", "SET", "stream-node-max-entries", "300")
    try:
        for i in range(100):
            x(c, "XADD", "s", "*", "f", str(i))
        x(c, "XGROUP", "CREATE", "s", "g", "0")
        last = "0-0"
        for step in range(500):
            op = rnd.randrange(10)
            ahead = x(c, "XRANGE", "s", "(" + last, "+", "COUNT", "5")
            if op == 0 and ahead:
                x(c, "XDEL", "s", *[e[0] for e in ahead[: rnd.randrange(1, 6)]])
            elif op == 1 and ahead:
                x(c, "XTRIM", "s", "MINID", ahead[0][0])
            elif op == 2:
                for _ in range(rnd.randrange(1, 60)):
                    x(c, "XADD", "s", "*", "f", "v")
            elif op == 3 and last != "0-0":
                back = x(c, "XREVRANGE", "s", last, "-", "COUNT", "3")
                last = back[-1][0] if back else "0-0"
                x(c, "XGROUP", "SETID", "s", "g", last)
            want = x(c, "XRANGE", "s", "(" + last, "+", "COUNT", "1")
            got = x(c, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
            if not want:
                assert got is None
                continue
            assert got == [["s", want]], step
            last = want[0][0]
    finally:
        x(c, "CONFIG", "SET", "stream-node-max-entries", old)


def test_xpending_extended(c):
    for i in range(1, 6):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    x(c, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
    x(c, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    rows = x(c, "XPENDING", "s", "g", "-", "+", "10")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("1-0", "alice", 1), ("2-0", "alice", 1), ("3-0", "alice", 1), ("4-0", "bob", 1),
        ("5-0", "bob", 1)]
    assert all(0 <= r[2] < 5000 for r in rows)
    assert [r[0] for r in x(c, "XPENDING", "s", "g", "(1-0", "4", "2")] == ["2-0", "3-0"]
    assert [r[0] for r in x(c, "XPENDING", "s", "g", "-", "+", "10", "bob")] == ["4-0", "5-0"]
    assert x(c, "XPENDING", "s", "g", "-", "+", "10", "nobody") == []
    assert x(c, "XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10") == []
    assert err(c, "XPENDING", "s", "g", "-", "+") == "syntax error"
    assert err(c, "XPENDING", "s", "g", "IDLE", "1", "-", "+") == "syntax error"
    assert err(c, "XPENDING", "s", "nog") == "NOGROUP No such key 's' or consumer group 'nog'"


def test_xclaim(c):
    for i in range(1, 5):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    x(c, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    assert err(c, "XCLAIM", "s", "nog", "bob", "0", "1-0") == \
        "NOGROUP No such key 's' or consumer group 'nog'"
    assert err(c, "XCLAIM", "s", "g", "bob", "x", "1-0") == \
        "Invalid min-idle-time argument for XCLAIM"
    assert err(c, "XCLAIM", "s", "g", "bob", "0", "1-0", "FOO") == "Unrecognized XCLAIM option 'FOO'"
    # Not idle long enough: nothing moves.
    assert x(c, "XCLAIM", "s", "g", "bob", "3600000", "1-0") == []
    assert x(c, "XCLAIM", "s", "g", "bob", "0", "1-0", "2-0") == \
        [["1-0", ["f", "1"]], ["2-0", ["f", "2"]]]
    assert x(c, "XCLAIM", "s", "g", "bob", "0", "3-0", "JUSTID", "RETRYCOUNT", "7",
             "IDLE", "5000") == ["3-0"]
    rows = {r[0]: r for r in x(c, "XPENDING", "s", "g", "-", "+", "10")}
    assert rows["1-0"][1] == "bob" and rows["1-0"][3] == 2
    assert rows["3-0"][3] == 7 and rows["3-0"][2] >= 5000
    assert rows["4-0"][1] == "alice"
    # A deleted entry leaves the pending list when claimed (7.0).
    x(c, "XDEL", "s", "4-0")
    assert x(c, "XCLAIM", "s", "g", "bob", "0", "4-0") == []
    assert x(c, "XPENDING", "s", "g")[0] == 3
    # FORCE creates a pending entry for an entry never delivered.
    x(c, "XADD", "s", "5-0", "f", "5")
    assert x(c, "XCLAIM", "s", "g", "carol", "0", "5-0", "JUSTID") == []
    assert x(c, "XCLAIM", "s", "g", "carol", "0", "5-0", "FORCE", "JUSTID", "LASTID", "5-0") == \
        ["5-0"]
    info = x(c, "XINFO", "GROUPS", "s")[0]
    assert info[info.index("last-delivered-id") + 1] == "5-0"


def test_xautoclaim(c):
    for i in range(1, 8):
        x(c, "XADD", "s", f"{i}-0", "f", str(i))
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    x(c, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    assert err(c, "XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0") == "COUNT must be > 0"
    assert err(c, "XAUTOCLAIM", "s", "g", "bob", "x", "0") == \
        "Invalid min-idle-time argument for XAUTOCLAIM"
    assert err(c, "XAUTOCLAIM", "s", "nog", "bob", "0", "0") == \
        "NOGROUP No such key 's' or consumer group 'nog'"
    x(c, "XDEL", "s", "2-0")
    got = x(c, "XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "3")
    assert got == ["4-0", [["1-0", ["f", "1"]], ["3-0", ["f", "3"]]], ["2-0"]]
    got = x(c, "XAUTOCLAIM", "s", "g", "bob", "0", "4-0", "JUSTID")
    assert got == ["0-0", ["4-0", "5-0", "6-0", "7-0"], []]
    assert x(c, "XAUTOCLAIM", "s", "g", "bob", "3600000", "0") == ["0-0", [], []]
    assert x(c, "XPENDING", "s", "g") == [6, "1-0", "7-0", [["bob", "6"]]]


def test_redelivery_after_a_consumer_dies(c):
    """A consumer reads and dies; another finds its entries pending and
    takes them over (XPENDING, XAUTOCLAIM), then acknowledges them."""
    for i in range(1, 4):
        x(c, "XADD", "jobs", f"{i}-0", "job", str(i))
    x(c, "XGROUP", "CREATE", "jobs", "workers", "0")
    x(c, "XREADGROUP", "GROUP", "workers", "w1", "STREAMS", "jobs", ">")
    assert x(c, "XPENDING", "jobs", "workers")[3] == [["w1", "3"]]
    _, claimed, _ = x(c, "XAUTOCLAIM", "jobs", "workers", "w2", "0", "0")
    assert [e[0] for e in claimed] == ["1-0", "2-0", "3-0"]
    rows = x(c, "XPENDING", "jobs", "workers", "-", "+", "10", "w2")
    assert [(r[0], r[3]) for r in rows] == [("1-0", 2), ("2-0", 2), ("3-0", 2)]
    assert x(c, "XACK", "jobs", "workers", "1-0", "2-0", "3-0") == 3
    assert x(c, "XPENDING", "jobs", "workers")[0] == 0


# --- XINFO ------------------------------------------------------------------------------

def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def test_xinfo(c):
    assert err(c, "XINFO", "STREAM", "nokey") == "no such key"
    for i in range(1, 4):
        x(c, "XADD", "s", f"1-{i}", "a", str(i))
    x(c, "XGROUP", "CREATE", "s", "g", "0")
    x(c, "XGROUP", "CREATE", "s", "g0", "$")
    x(c, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    x(c, "XDEL", "s", "1-1")
    info = pairs(x(c, "XINFO", "STREAM", "s"))
    assert info["length"] == 2 and info["radix-tree-keys"] == 1
    assert info["last-generated-id"] == "1-3" and info["max-deleted-entry-id"] == "1-1"
    assert info["entries-added"] == 3 and info["recorded-first-entry-id"] == "1-2"
    assert info["groups"] == 2
    assert info["first-entry"] == ["1-2", ["a", "2"]]
    assert info["last-entry"] == ["1-3", ["a", "3"]]
    groups = [pairs(g) for g in x(c, "XINFO", "GROUPS", "s")]
    assert [g["name"] for g in groups] == ["g", "g0"]
    assert groups[0]["consumers"] == 1 and groups[0]["pending"] == 2
    assert groups[0]["last-delivered-id"] == "1-2"
    assert groups[0]["entries-read"] == 2 and groups[0]["lag"] == 1
    assert groups[1]["entries-read"] is None and groups[1]["lag"] == 0
    cons = [pairs(k) for k in x(c, "XINFO", "CONSUMERS", "s", "g")]
    assert cons[0]["name"] == "alice" and cons[0]["pending"] == 2 and cons[0]["idle"] >= 0
    assert err(c, "XINFO", "CONSUMERS", "s", "nog") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    full = pairs(x(c, "XINFO", "STREAM", "s", "FULL"))
    assert full["entries"] == [["1-2", ["a", "2"]], ["1-3", ["a", "3"]]]
    g = pairs(full["groups"][0])
    assert g["pel-count"] == 2 and [p[0] for p in g["pending"]] == ["1-1", "1-2"]
    assert g["pending"][0][1] == "alice" and g["pending"][0][3] == 1
    k = pairs(g["consumers"][0])
    assert k["name"] == "alice" and k["pel-count"] == 2 and len(k["pending"][0]) == 3
    short = pairs(x(c, "XINFO", "STREAM", "s", "FULL", "COUNT", "1"))
    assert len(short["entries"]) == 1
    x(c, "XADD", "e", "MAXLEN", "0", "*", "a", "1")
    e = pairs(x(c, "XINFO", "STREAM", "e"))
    assert e["length"] == 0 and e["first-entry"] is None and e["last-entry"] is None
    assert err(c, "XINFO", "FOO").startswith("unknown subcommand 'FOO'")
