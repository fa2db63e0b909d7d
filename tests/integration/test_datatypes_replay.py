"""The bitmap, HyperLogLog and geo writes are logged as entries that replay
to the same bytes (DESIGN rule 4): after a restart from the append-only log
every key reads back exactly as before, PFCOUNT's cached estimate included."""
import random

import pytest

from durable import DurableServer

AOF = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@pytest.fixture
def server_on_log(tmp_path):
    s = DurableServer(tmp_path / "data", *AOF)
    yield s
    s.stop()


def snapshot(c):
    out = {}
    for k in sorted(c.keys("*")):
        if c.type(k) == b"zset":
            out[k] = c.zrange(k, 0, -1, withscores=True)
        else:
            out[k] = c.get(k)
    return out


@pytest.mark.cairn_only
def test_writes_replay_to_the_same_values(server_on_log):
    s = server_on_log.start()
    c = s.client(decode_responses=False)
    c.response_callbacks.pop("GEORADIUS", None)  # its parser wants method arguments
    rng = random.Random(3)
    for i in range(200):
        c.setbit("bits", rng.randrange(5000), rng.randrange(2))
    c.execute_command("BITFIELD", "bf", "SET", "i8", "#3", 100, "INCRBY", "u5", 7, 40,
                      "OVERFLOW", "FAIL", "INCRBY", "i8", "#3", 100)
    c.set("n", 123)
    c.setbit("n", 3, 1)
    c.bitop("XOR", "x", "bits", "n")
    c.pfadd("h1", *[f"a{i}" for i in range(100)])
    c.pfadd("h2", *[f"b{i}" for i in range(5000)])
    c.pfcount("h1")  # stores the estimate in the value
    c.pfmerge("h3", "h1", "h2")
    c.execute_command("PFDEBUG", "TODENSE", "h1")
    args = []
    for i in range(300):
        args += [f"{rng.uniform(-10, 10):.6f}", f"{rng.uniform(-10, 10):.6f}", f"p{i}"]
    c.execute_command("GEOADD", "g", *args)
    c.execute_command("GEOSEARCHSTORE", "near", "g", "FROMLONLAT", 0, 0, "BYRADIUS", 500, "km",
                      "STOREDIST")
    c.execute_command("GEORADIUS", "g", 1, 1, 300, "km", "STORE", "near2")
    before = snapshot(c)
    assert len(before) == 10
    s.stop()
    s.start()
    assert snapshot(s.client(decode_responses=False)) == before
