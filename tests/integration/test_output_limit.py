"""client-output-buffer-limit for normal clients: a reply a client asks to
be huge (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER with a negative count near
the 64-bit limit) stops growing at the hard limit and the client is
closed, as Redis 7.0 does, instead of the server trying to build it.
Checked against redis-server too (CAIRN_TEST_SERVER=redis)."""
import time

import pytest
import redis

HUGE = -9223372036854775807


@pytest.fixture
def limited(server_factory):
    s = server_factory()
    c = s.client()
    c.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    c.sadd("set", "a", "b", "c")
    c.hset("hash", mapping={"f1": "v1", "f2": "v2"})
    c.zadd("zset", {"m1": 1, "m2": 2})
    yield s
    c.config_set("client-output-buffer-limit", "normal 0 0 0")


@pytest.mark.parametrize("cmd", [
    ("SRANDMEMBER", "set", HUGE),
    ("HRANDFIELD", "hash", -10**15, "WITHVALUES"),  # WITHVALUES: at most half the range
    ("ZRANDMEMBER", "zset", -10**15, "WITHSCORES"),
])
def test_huge_random_reply_is_cut_at_the_limit(limited, cmd):
    victim = limited.client()
    start = time.time()
    with pytest.raises(redis.ConnectionError):
        victim.execute_command(*cmd)
    assert time.time() - start < 8
    other = limited.client()
    assert other.ping()
    assert other.scard("set") == 3
