"""HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST, per command,
then random streams compared with a redis-server started by the test: the
estimates and the raw bytes (GET) must be equal, and values copied from
one server to the other must count the same.

Every assertion holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).
"""
import random
import time

import pytest

from conftest import RawConn
from refserver import call, pair, reference  # noqa: F401 (a fixture)

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = "INVALIDOBJ Corrupted HLL object detected"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

# A fresh sparse HLL: "HYLL", sparse, cache valid at 0, one XZERO of 16384.
EMPTY_SPARSE = b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff"


def err(server, *args):
    c = RawConn(server)
    c.cmd(*args)
    t, msg = c.read_reply()
    c.sock.close()
    assert t == "-", (args, t, msg)
    return msg


def test_pfadd_pfcount(r, rb):
    assert r.pfadd("h", "a", "b", "c") == 1
    assert r.pfadd("h", "a") == 0
    assert r.pfcount("h") == 3
    assert r.pfadd("h", *[f"e{i}" for i in range(100)]) == 1
    assert r.pfcount("h") == 103
    assert r.pfcount("missing") == 0
    assert r.type("h") == "string"
    assert r.object("encoding", "h") == "raw"
    assert rb.get("h")[:5] == b"HYLL\x01"


def test_pfadd_without_elements_creates_the_key(r, rb):
    assert r.pfadd("h") == 1
    # Created, so the cache is stale (top bit of the last cache byte).
    assert rb.get("h") == EMPTY_SPARSE[:15] + b"\x80" + EMPTY_SPARSE[16:]
    assert r.pfadd("h") == 0
    assert r.pfcount("h") == 0
    # PFCOUNT stored the estimate: the cache is valid again.
    assert rb.get("h") == EMPTY_SPARSE


def test_cached_cardinality_bytes(r, rb):
    r.pfadd("h", *[f"x{i}" for i in range(300)])
    raw = rb.get("h")
    assert raw[15] & 0x80
    n = r.pfcount("h")
    raw = rb.get("h")
    assert int.from_bytes(raw[8:16], "little") == n
    # A forged valid cache is believed, as in Redis.
    rb.set("h", raw[:8] + (12345).to_bytes(8, "little") + raw[16:])
    assert r.pfcount("h") == 12345


def test_sparse_to_dense_by_size(r, rb):
    old = r.config_get("hll-sparse-max-bytes")["hll-sparse-max-bytes"]
    try:
        r.config_set("hll-sparse-max-bytes", 100)
        r.pfadd("h", *[f"y{i}" for i in range(10)])
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == "sparse"
        r.pfadd("h", *[f"y{i}" for i in range(200)])
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == "dense"
        assert len(rb.get("h")) == 16 + 12288
        assert abs(r.pfcount("h") - 200) < 10
    finally:
        r.config_set("hll-sparse-max-bytes", old)


def test_pfmerge(r, rb):
    r.pfadd("a", *[f"a{i}" for i in range(50)])
    r.pfadd("b", *[f"a{i}" for i in range(25, 100)])
    assert r.pfmerge("d", "a", "b") is True
    assert r.pfcount("d") == r.pfcount("a", "b") == 99
    # The destination is merged in too.
    r.pfadd("c", "z1", "z2")
    assert r.pfmerge("c", "a")
    assert r.pfcount("c") == 52
    assert r.pfmerge("e") and rb.get("e")[:5] == b"HYLL\x01"
    # A dense input makes the result dense.
    r.pfadd("big", *[f"b{i}" for i in range(3000)])
    assert r.execute_command("PFDEBUG", "ENCODING", "big") == "dense"
    r.pfmerge("f", "a", "big")
    assert r.execute_command("PFDEBUG", "ENCODING", "f") == "dense"


def test_pfcount_several_keys_stores_nothing(r, rb):
    r.pfadd("a", "x", "y")
    r.pfadd("b", "y", "z")
    before = rb.get("a")
    assert r.pfcount("a", "b", "missing") == 3
    assert rb.get("a") == before


def test_invalid_values(server, r, rb):
    r.set("s", "hello world, not an hll")
    assert err(server, "PFADD", "s", "a") == NOT_HLL
    assert err(server, "PFCOUNT", "s") == NOT_HLL
    assert err(server, "PFCOUNT", "s", "s") == NOT_HLL
    assert err(server, "PFMERGE", "d", "s") == NOT_HLL
    r.set("i", 12345678901234567)
    assert err(server, "PFCOUNT", "i") == NOT_HLL
    # Dense with the wrong length.
    rb.set("d", b"HYLL\x00" + bytes(11) + bytes(100))
    assert err(server, "PFCOUNT", "d") == NOT_HLL
    rb.set("e", b"HYLL\x02" + bytes(11) + b"\x7f\xff")
    assert err(server, "PFADD", "e", "x") == NOT_HLL
    r.rpush("l", "x")
    assert err(server, "PFADD", "l", "a") == WRONGTYPE
    assert err(server, "PFCOUNT", "l") == WRONGTYPE


def test_corrupted_sparse_values(server, r, rb):
    # Stale cache, and opcodes that cover too few registers.
    short = b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x7f\x00"
    rb.set("c", short)
    assert err(server, "PFCOUNT", "c") == CORRUPT
    assert err(server, "PFCOUNT", "c", "c") == CORRUPT
    assert err(server, "PFMERGE", "d", "c") == CORRUPT
    # Opcodes that cover too many.
    rb.set("c2", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x7f\xff\x7f\xff")
    assert err(server, "PFCOUNT", "c2") == CORRUPT
    assert err(server, "PFDEBUG", "TODENSE", "c2") == CORRUPT
    # A truncated XZERO must not read past the value.
    rb.set("c3", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x7f")
    assert err(server, "PFCOUNT", "c3") == CORRUPT
    assert r.ping()


def test_pfdebug(server, r, rb):
    r.pfadd("h", "a", "b", "c")
    decoded = r.execute_command("PFDEBUG", "DECODE", "h")
    assert decoded.count("v:") == 3 and decoded.startswith(("Z:", "z:", "v:"))
    regs = r.execute_command("PFDEBUG", "GETREG", "h")
    assert len(regs) == 16384 and sum(1 for v in regs if v) == 3
    # GETREG turned it dense.
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == "dense"
    assert r.execute_command("PFDEBUG", "TODENSE", "h") == 0
    r.pfadd("g", "x")
    assert r.execute_command("PFDEBUG", "TODENSE", "g") == 1
    assert len(rb.get("g")) == 16 + 12288
    assert err(server, "PFDEBUG", "DECODE", "h") == "ERR HLL encoding is not sparse"
    assert err(server, "PFDEBUG", "GETREG", "nokey") == "ERR The specified key does not exist"
    assert err(server, "PFDEBUG", "Whatever", "h") == "ERR Unknown PFDEBUG subcommand 'Whatever'"


def test_pfselftest(r):
    assert r.execute_command("PFSELFTEST") in (True, "OK", b"OK")


def test_known_estimates(r, rb):
    # Fixed inputs: the estimates and bytes are compared with Redis by the
    # random test below; these pin a few values either way.
    r.pfadd("h", *[f"element:{i}" for i in range(1000)])
    assert abs(r.pfcount("h") - 1000) < 30
    r.pfadd("h2", *[str(i) for i in range(100000)])
    assert abs(r.pfcount("h2") - 100000) < 2000


# --------------------------------------------------------------------------
# Random streams against redis-server
# --------------------------------------------------------------------------

def test_random_pfadd_streams_match_redis(server, reference):
    a, b = pair(server, reference)
    rng = random.Random(int(time.time()))
    keys = ["h1", "h2", "h3"]
    deadline = time.time() + 3
    rounds = 0
    while time.time() < deadline:
        for k in keys:
            if rng.random() < 0.05:
                a.delete(k)
                b.delete(k)
            universe = rng.choice([50, 1000, 10 ** 6])
            elems = [rng.randrange(universe) for _ in range(rng.randint(0, 40))]
            if rng.random() < 0.3:
                elems = [rng.randbytes(rng.randint(0, 20)) for _ in elems]
            assert call(a, "PFADD", k, *elems) == call(b, "PFADD", k, *elems)
            if rng.random() < 0.5:
                assert call(a, "PFCOUNT", k) == call(b, "PFCOUNT", k)
        if rng.random() < 0.3:
            cmd = ["PFMERGE", rng.choice(keys + ["m"])] + rng.sample(keys, rng.randint(1, 3))
            assert call(a, *cmd) == call(b, *cmd)
        cmd = ["PFCOUNT"] + rng.sample(keys, rng.randint(1, 3))
        assert call(a, *cmd) == call(b, *cmd), cmd
        for k in keys + ["m"]:
            assert a.get(k) == b.get(k), k
        rounds += 1
    assert rounds >= 20


def test_large_streams_match_redis_both_ways(server, reference):
    a, b = pair(server, reference)
    rng = random.Random(int(time.time()) + 1)
    for n in (10, 300, 2000, 20000, 150000):
        elems = [rng.getrandbits(40) for _ in range(n)]
        for i in range(0, n, 5000):
            a.execute_command("PFADD", f"n{n}", *elems[i:i + 5000])
            b.execute_command("PFADD", f"n{n}", *elems[i:i + 5000])
        assert a.get(f"n{n}") == b.get(f"n{n}")
        assert a.pfcount(f"n{n}") == b.pfcount(f"n{n}")
        assert a.get(f"n{n}") == b.get(f"n{n}")
    # Values copied across count the same, in the other direction too.
    for n in (300, 150000):
        raw = b.get(f"n{n}")
        a.set("copy", raw)
        a.pfadd("copy", "one more")
        b.set("copy", raw)
        b.pfadd("copy", "one more")
        assert a.pfcount("copy") == b.pfcount("copy")
        assert a.get("copy") == b.get("copy")
    assert a.pfcount("n10", "n300", "n2000") == b.pfcount("n10", "n300", "n2000")
