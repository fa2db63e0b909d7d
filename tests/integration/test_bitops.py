"""Bitmaps and bit fields: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD
and BITFIELD_RO, per command, then random sequences compared reply by
reply and byte by byte with a redis-server started by the test.

Every assertion holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).
"""
import random
import time

import pytest

from conftest import RawConn
from refserver import call, pair, reference  # noqa: F401 (a fixture)

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BAD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. "
            "Note that u64 is not supported but i64 is.")


def err(server, *args):
    """The error line of a command, exactly as sent (without the '-')."""
    c = RawConn(server)
    c.cmd(*args)
    t, msg = c.read_reply()
    c.sock.close()
    assert t == "-", (args, t, msg)
    return msg


def test_setbit_getbit(r, rb):
    assert r.setbit("b", 7, 1) == 0
    assert rb.get("b") == b"\x01"
    assert r.setbit("b", 7, 1) == 1
    assert r.setbit("b", 0, 1) == 0
    assert rb.get("b") == b"\x81"
    assert r.getbit("b", 0) == 1
    assert r.getbit("b", 1) == 0
    assert r.getbit("b", 100) == 0
    assert r.getbit("nokey", 5) == 0
    # Growth zero-pads.
    assert r.setbit("b", 23, 1) == 0
    assert rb.get("b") == b"\x81\x00\x01"
    assert r.setbit("b", 23, 0) == 1
    assert rb.get("b") == b"\x81\x00\x00"


def test_setbit_keeps_ttl(r):
    r.set("t", "x", ex=100)
    r.setbit("t", 100, 1)
    assert 0 < r.ttl("t") <= 100


def test_bits_of_an_integer_value_are_its_text(r, rb):
    r.set("n", 12)  # "12" = 0x31 0x32
    assert r.getbit("n", 2) == 1
    assert r.getbit("n", 7) == 1
    assert r.getbit("n", 15) == 0
    assert r.bitcount("n") == 6
    assert r.setbit("n", 6, 1) == 0
    assert rb.get("n") == b"32"
    assert r.object("encoding", "n") == "raw"


def test_setbit_errors(server, r):
    r.lpush("l", "x")
    assert err(server, "SETBIT", "l", 0, 1) == WRONGTYPE
    assert err(server, "GETBIT", "l", 0) == WRONGTYPE
    assert err(server, "SETBIT", "k", -1, 1) == BIT_OFFSET
    assert err(server, "SETBIT", "k", "x", 1) == BIT_OFFSET
    assert err(server, "SETBIT", "k", 4 * 1024 * 1024 * 1024, 1) == BIT_OFFSET
    assert err(server, "GETBIT", "k", 4 * 1024 * 1024 * 1024) == BIT_OFFSET
    assert err(server, "SETBIT", "k", 0, 2) == "ERR bit is not an integer or out of range"
    assert err(server, "SETBIT", "k", 0, "a") == "ERR bit is not an integer or out of range"
    assert r.exists("k") == 0


def test_bit_offset_follows_proto_max_bulk_len(server, r):
    old = r.config_get("proto-max-bulk-len")["proto-max-bulk-len"]
    try:
        r.config_set("proto-max-bulk-len", 1024 * 1024)
        assert err(server, "SETBIT", "k", 8 * 1024 * 1024, 1) == BIT_OFFSET
        assert r.setbit("k", 8 * 1024 * 1024 - 1, 1) == 0
        assert r.strlen("k") == 1024 * 1024
    finally:
        r.config_set("proto-max-bulk-len", old)


def test_bitcount(server, r, rb):
    rb.set("s", b"foobar")
    assert r.bitcount("s") == 26
    assert r.bitcount("s", 0, 0) == 4
    assert r.bitcount("s", 1, 1) == 6
    assert r.bitcount("s", -2, -1) == 7
    assert r.bitcount("s", -1, -2) == 0
    assert r.bitcount("s", 5, 100) == 4
    assert r.execute_command("BITCOUNT", "s", 5, 30, "BIT") == 17
    assert r.execute_command("BITCOUNT", "s", 0, -1, "bit") == 26
    assert r.execute_command("BITCOUNT", "s", -3, -1, "BIT") == 1
    assert r.execute_command("BITCOUNT", "s", 1, 1, "BYTE") == 6
    assert r.bitcount("missing") == 0
    assert err(server, "BITCOUNT", "s", 0) == "ERR syntax error"
    assert err(server, "BITCOUNT", "s", 0, 1, "BITS") == "ERR syntax error"
    assert err(server, "BITCOUNT", "s", "a", 1) == "ERR value is not an integer or out of range"
    r.hset("h", "f", "v")
    assert err(server, "BITCOUNT", "h") == WRONGTYPE


def test_bitcount_large(r, rb):
    data = bytes(random.Random(1).getrandbits(8) for _ in range(100003))
    rb.set("big", data)
    ones = sum(bin(b).count("1") for b in data)
    assert r.bitcount("big") == ones
    assert r.bitcount("big", 3, -5) == sum(bin(b).count("1") for b in data[3:-4])
    assert r.execute_command("BITCOUNT", "big", 13, 800001, "BIT") == \
        sum(int(bit) for bit in "".join(f"{b:08b}" for b in data)[13:800002])


def test_bitpos(server, r, rb):
    rb.set("s", b"\xff\xf0\x00")
    assert r.bitpos("s", 0) == 12
    rb.set("s", b"\x00\xff\xf0")
    assert r.bitpos("s", 1, 0) == 8
    assert r.bitpos("s", 1, 2) == 16
    rb.set("s", b"\x00\x00\x00")
    assert r.bitpos("s", 1) == -1
    # All ones: past the end without an end, -1 with one.
    rb.set("s", b"\xff\xff\xff")
    assert r.bitpos("s", 0) == 24
    assert r.bitpos("s", 0, 1) == 24
    assert r.bitpos("s", 0, 0, -1) == -1
    assert r.bitpos("missing", 0) == 0
    assert r.bitpos("missing", 1) == -1
    rb.set("s", b"\x00\xff\x0f")
    assert r.execute_command("BITPOS", "s", 1, 7, 15, "BIT") == 8
    assert r.execute_command("BITPOS", "s", 0, 8, 15, "BIT") == -1
    assert r.execute_command("BITPOS", "s", 0, 8, -1, "BIT") == 16
    assert r.execute_command("BITPOS", "s", 1, 17, -2, "BIT") == 20
    assert r.execute_command("BITPOS", "s", 1, 2, 1) == -1
    rb.set("e", b"")
    assert r.bitpos("e", 0) == -1
    assert err(server, "BITPOS", "s", 2) == "ERR The bit argument must be 1 or 0."
    assert err(server, "BITPOS", "s", 1, 0, 1, "bits") == "ERR syntax error"
    assert err(server, "BITPOS", "s", 1, 0, 1, "bit", "x") == "ERR syntax error"


def test_bitop(server, r, rb):
    rb.set("a", b"\x0f\xf0\xaa")
    rb.set("b", b"\xff\x00")
    assert r.bitop("AND", "d", "a", "b") == 3
    assert rb.get("d") == b"\x0f\x00\x00"
    assert r.bitop("OR", "d", "a", "b") == 3
    assert rb.get("d") == b"\xff\xf0\xaa"
    assert r.bitop("XOR", "d", "a", "b", "missing") == 3
    assert rb.get("d") == b"\xf0\xf0\xaa"
    assert r.bitop("NOT", "d", "a") == 3
    assert rb.get("d") == b"\xf0\x0f\x55"
    # The destination may be a source.
    assert r.bitop("NOT", "a", "a") == 3
    assert rb.get("a") == b"\xf0\x0f\x55"
    # An empty result deletes the destination (and its TTL goes with it).
    r.expire("d", 100)
    assert r.bitop("AND", "d", "missing", "missing2") == 0
    assert r.exists("d") == 0
    r.set("t", "x", ex=100)
    r.bitop("OR", "t", "a")
    assert r.ttl("t") == -1
    assert err(server, "BITOP", "NOT", "d", "a", "b") == \
        "ERR BITOP NOT must be called with a single source key."
    assert err(server, "BITOP", "NAND", "d", "a") == "ERR syntax error"
    r.sadd("set", "x")
    assert err(server, "BITOP", "OR", "d", "a", "set") == WRONGTYPE


def test_bitop_long_operands(r, rb):
    rng = random.Random(2)
    a = bytes(rng.getrandbits(8) for _ in range(1001))
    b = bytes(rng.getrandbits(8) for _ in range(777))
    rb.set("a", a)
    rb.set("b", b)
    pad = b + bytes(len(a) - len(b))
    r.bitop("AND", "x", "a", "b")
    assert rb.get("x") == bytes(p & q for p, q in zip(a, pad))
    r.bitop("XOR", "x", "b", "a")
    assert rb.get("x") == bytes(p ^ q for p, q in zip(a, pad))


def test_bitfield(server, r, rb):
    assert r.execute_command("BITFIELD", "f", "SET", "i8", 0, 100, "GET", "i8", 0) == [0, 100]
    assert r.execute_command("BITFIELD", "f", "INCRBY", "i8", 0, 100) == [-56]
    assert r.execute_command("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", 0, -100,
                             "INCRBY", "i8", 0, -100) == [-128, -128]
    assert r.execute_command("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", 0, -1) == [None]
    assert r.execute_command("BITFIELD", "f", "GET", "u8", 0) == [128]
    # '#' offsets count in fields of the type's width.
    assert r.execute_command("BITFIELD", "g", "SET", "u4", "#1", 15, "SET", "u4", "#0", 3) == [0, 0]
    assert rb.get("g") == b"\x3f"
    assert r.execute_command("BITFIELD", "g", "GET", "u2", 0, "GET", "i3", 5, "GET", "u4", 100) \
        == [0, -1, 0]
    # Unsigned overflow.
    assert r.execute_command("BITFIELD", "u", "SET", "u8", 0, 255, "INCRBY", "u8", 0, 10,
                             "OVERFLOW", "SAT", "INCRBY", "u8", 0, 1000,
                             "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 1) == [0, 9, 255, None]
    assert r.execute_command("BITFIELD", "u", "OVERFLOW", "SAT", "SET", "u8", 0, -5,
                             "OVERFLOW", "WRAP", "SET", "u8", 0, -5, "GET", "u8", 0) \
        == [255, 255, 251]
    # 64-bit signed fields.
    assert r.execute_command("BITFIELD", "w", "SET", "i64", 3, 9223372036854775807,
                             "INCRBY", "i64", 3, 1) == [0, -9223372036854775808]
    assert r.execute_command("BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY", "i64", 3, -1,
                             "INCRBY", "i64", 3, -9223372036854775808) \
        == [-9223372036854775808, -9223372036854775808]
    # Reads only: a missing key is not created.
    assert r.execute_command("BITFIELD", "none", "GET", "u8", 0) == [0]
    assert r.exists("none") == 0
    assert r.execute_command("BITFIELD", "none") == []
    assert r.execute_command("BITFIELD_RO", "g", "GET", "u8", 0) == [0x3f]


def test_bitfield_errors(server, r):
    assert err(server, "BITFIELD", "f", "GET", "u64", 0) == BAD_TYPE
    assert err(server, "BITFIELD", "f", "GET", "i65", 0) == BAD_TYPE
    assert err(server, "BITFIELD", "f", "GET", "i0", 0) == BAD_TYPE
    assert err(server, "BITFIELD", "f", "GET", "x8", 0) == BAD_TYPE
    assert err(server, "BITFIELD", "f", "GET", "u8", -1) == BIT_OFFSET
    assert err(server, "BITFIELD", "f", "GET", "u8", "#-1") == BIT_OFFSET
    assert err(server, "BITFIELD", "f", "SET", "u8", 0) == "ERR syntax error"
    assert err(server, "BITFIELD", "f", "SET", "u8", 0, "x") == \
        "ERR value is not an integer or out of range"
    assert err(server, "BITFIELD", "f", "OVERFLOW", "MAYBE") == "ERR Invalid OVERFLOW type specified"
    assert err(server, "BITFIELD", "f", "FOO") == "ERR syntax error"
    assert err(server, "BITFIELD_RO", "f", "SET", "u8", 0, 1) == \
        "ERR BITFIELD_RO only supports the GET subcommand"
    assert err(server, "BITFIELD_RO", "f", "INCRBY", "u8", 0, 1) == \
        "ERR BITFIELD_RO only supports the GET subcommand"
    r.rpush("l", "x")
    assert err(server, "BITFIELD", "l", "GET", "u8", 0) == WRONGTYPE
    assert err(server, "BITFIELD", "l", "SET", "u8", 0, 1) == WRONGTYPE
    assert r.exists("f") == 0


def test_command_flags(r):
    info = r.execute_command("COMMAND", "INFO", "setbit", "bitfield", "bitfield_ro", "bitop")
    flags = {name: set(row["flags"]) for name, row in info.items()}
    assert {"write", "denyoom"} <= flags["setbit"]
    assert {"write", "denyoom"} <= flags["bitfield"]
    assert {"readonly", "fast"} <= flags["bitfield_ro"]
    assert {"write", "denyoom"} <= flags["bitop"]


# --------------------------------------------------------------------------
# Random sequences against redis-server
# --------------------------------------------------------------------------

def random_bit_command(rng, keys):
    k = rng.choice(keys)
    off_max = rng.choice([16, 200, 3000])
    roll = rng.random()
    if roll < 0.25:
        return ["SETBIT", k, rng.randrange(off_max), rng.randrange(2)]
    if roll < 0.35:
        return ["GETBIT", k, rng.randrange(off_max)]
    if roll < 0.45:
        args = ["BITCOUNT", k]
        if rng.random() < 0.8:
            args += [rng.randint(-40, 40), rng.randint(-40, 40)]
            if rng.random() < 0.6:
                args.append(rng.choice(["BIT", "BYTE"]))
        return args
    if roll < 0.55:
        args = ["BITPOS", k, rng.randrange(2)]
        if rng.random() < 0.8:
            args.append(rng.randint(-40, 40))
            if rng.random() < 0.6:
                args.append(rng.randint(-40, 40))
                if rng.random() < 0.6:
                    args.append(rng.choice(["BIT", "BYTE"]))
        return args
    if roll < 0.65:
        op = rng.choice(["AND", "OR", "XOR", "NOT"])
        srcs = [rng.choice(keys)] if op == "NOT" else rng.sample(keys, rng.randint(1, 3))
        return ["BITOP", op, rng.choice(keys)] + srcs
    if roll < 0.7:
        return ["SET", k, rng.choice(["12345", "-7", "abc", "\xff" * rng.randint(0, 12)])]
    args = [rng.choice(["BITFIELD", "BITFIELD", "BITFIELD_RO"]), k]
    for _ in range(rng.randint(1, 4)):
        sub = rng.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
        if sub == "OVERFLOW":
            args += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
            continue
        sign = rng.choice("iu")
        bits = rng.randint(1, 64 if sign == "i" else 63)
        off = rng.randrange(off_max)
        off = f"#{off // bits}" if rng.random() < 0.2 else off
        args += [sub, f"{sign}{bits}", off]
        if sub != "GET":
            big = 1 << rng.choice([3, 8, 20, 40, 63])
            args.append(rng.randint(-big, big - 1))
    return args


def test_random_bit_sequences_match_redis(server, reference):
    a, b = pair(server, reference)
    seed = int(time.time())
    rng = random.Random(seed)
    keys = ["k1", "k2", "k3", "k4"]
    # Bounded by count and by time: a loaded machine runs fewer rounds.
    deadline = time.time() + 3
    for _ in range(30):
        for _ in range(100):
            cmd = random_bit_command(rng, keys)
            assert call(a, *cmd) == call(b, *cmd), (seed, cmd)
        for k in keys:
            assert a.get(k) == b.get(k), (seed, k)
        if time.time() > deadline:
            break


def test_result_type_and_encoding(r):
    r.setbit("b", 3, 1)
    assert r.type("b") == "string"
    assert r.object("encoding", "b") == "raw"
    r.bitop("NOT", "n", "b")
    assert r.type("n") == "string"


def test_bitfield_sat_set_far_below_min_saturates_as_redis(r):
    """Redis decides a signed SET's overflow with wrapped limits: a value
    far below a wide field's minimum saturates to the maximum."""
    assert r.execute_command("BITFIELD", "q", "OVERFLOW", "SAT",
                             "SET", "i63", 0, -9113214801278706877, "GET", "i63", 0,
                             "SET", "i8", 100, -9223372036854775808, "GET", "i8", 100,
                             "SET", "i8", 200, -200, "GET", "i8", 200) == \
        [0, 4611686018427387903, 0, 127, 0, -128]


def test_bit_writes_that_change_nothing_are_not_changes(r):
    """SETBIT/BITFIELD count as a change (rdb_changes_since_last_save, the
    log) only when a bit differs or the string was created or grew."""
    def dirty():
        return r.info("persistence")["rdb_changes_since_last_save"]

    d = dirty()
    r.setbit("a", 0, 0)
    r.bitfield("b").set("i5", 0, 0).execute()
    assert dirty() == d + 2  # created
    r.setbit("a", 0, 0)
    r.bitfield("b").set("i5", 0, 0).execute()
    r.bitfield("b").incrby("i5", 0, 0).execute()
    assert dirty() == d + 2  # same bits again
    r.setbit("a", 0, 1)
    r.bitfield("b").set("i5", 0, 1).set("i5", 5, 1).execute()
    assert dirty() == d + 5  # one per changed field
    assert r.bitfield("b").overflow("fail").incrby("u2", 0, 9).execute() == [None]
    assert dirty() == d + 5  # a failed write changes nothing
    r.setbit("a", 90, 0)
    r.bitfield("b").set("i5", 90, 0).execute()
    assert dirty() == d + 7  # grown only
