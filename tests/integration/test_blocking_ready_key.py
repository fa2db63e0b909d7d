"""A client blocked on several keys is served from the key that became
ready, as Redis 7.0 serves the keys in the order writes made them ready:
pushes to its second key and then its first in one transaction (or one
script) give it the second key's element, and the first key keeps its
own.  Runs against redis-server too."""
import pytest

from conftest import wait_for


def blocked(server, r, *args):
    """A client parked in args, and the connection it waits on."""
    c = server.client(socket_timeout=10)
    before = r.info("clients")["blocked_clients"]
    conn = c.connection_pool.get_connection(args[0])
    conn.send_command(*args)
    assert wait_for(lambda: r.info("clients")["blocked_clients"] == before + 1)
    return c, conn


def served(c, conn):
    try:
        return conn.read_response()
    finally:
        c.connection_pool.release(conn)
        c.close()


@pytest.mark.parametrize("cmd, expect", [
    (["BLPOP", "q1", "q2", "0"], ["q2", "from-q2"]),
    (["BRPOP", "q1", "q2", "0"], ["q2", "from-q2"]),
    (["BLMPOP", "0", "2", "q1", "q2", "LEFT", "COUNT", "5"], ["q2", ["from-q2"]]),
])
def test_list_pop_served_from_ready_key(server, r, cmd, expect):
    c, conn = blocked(server, r, *cmd)
    with r.pipeline(transaction=True) as p:
        p.rpush("q2", "from-q2")
        p.rpush("q1", "from-q1")
        p.execute()
    assert served(c, conn) == expect
    assert r.lrange("q1", 0, -1) == ["from-q1"] and not r.exists("q2")


def test_zset_pop_served_from_ready_key(server, r):
    c, conn = blocked(server, r, "BZPOPMIN", "z1", "z2", "0")
    r.eval("redis.call('zadd', KEYS[2], 2, 'b') redis.call('zadd', KEYS[1], 1, 'a')", 2, "z1", "z2")
    assert served(c, conn) == ["z2", "b", "2"]
    assert r.zrange("z1", 0, -1) == ["a"]


def test_each_ready_key_serves_its_waiters_in_order(server, r):
    """Two clients on (q1, q2): the first is served by q2, readied first;
    the second then by q1."""
    first = blocked(server, r, "BLPOP", "q1", "q2", "0")
    second = blocked(server, r, "BLPOP", "q1", "q2", "0")
    r.eval("redis.call('rpush', KEYS[2], 'x') redis.call('rpush', KEYS[1], 'y')", 2, "q1", "q2")
    assert served(*first) == ["q2", "x"]
    assert served(*second) == ["q1", "y"]
    assert not r.exists("q1", "q2")
