"""MIGRATE: keys move (or are copied) to another server of the same kind
and to a redis-server 7.0, with KEYS, COPY, REPLACE, AUTH, AUTH2, a
destination db and a timeout, and Redis's replies and errors."""
import pytest
import redis

from conftest import Server
from refserver import reference  # noqa: F401  (fixture)
from test_dump import KEYS, build_values, read_value


@pytest.fixture
def target(server_factory):
    return server_factory()


def ok(reply):
    return reply in (True, b"OK", "OK")


def test_single_key_moves_with_its_ttl(r, target):
    t = target.client()
    t.flushall()
    r.set("k", "v", px=100000)
    assert ok(r.migrate(target.host, target.port, "k", 0, 5000))
    assert r.exists("k") == 0
    assert t.get("k") == "v"
    assert 90000 < t.pttl("k") <= 100000


def test_copy_replace_and_busykey(r, target):
    t = target.client()
    t.flushall()
    r.set("k", "new")
    t.set("k", "old")
    with pytest.raises(redis.ResponseError,
                       match="^Target instance replied with error: BUSYKEY Target key name "
                             "already exists.$"):
        r.migrate(target.host, target.port, "k", 0, 5000)
    assert r.get("k") == "new"
    assert ok(r.migrate(target.host, target.port, "k", 0, 5000, copy=True, replace=True))
    assert r.get("k") == "new"
    assert t.get("k") == "new"
    r.set("k", "newer")
    assert ok(r.migrate(target.host, target.port, "k", 0, 5000, replace=True))
    assert r.exists("k") == 0
    assert t.get("k") == "newer"


def test_keys_destination_db_and_nokey(r, target):
    t = target.client(db=4)
    t.flushall()
    r.set("a", 1)
    r.rpush("b", "x", "y")
    assert r.execute_command("MIGRATE", target.host, target.port, "", 4, 5000,
                             "KEYS", "a", "missing", "b") in ("OK", b"OK")
    assert r.exists("a", "b") == 0
    assert t.get("a") == "1"
    assert t.lrange("b", 0, -1) == ["x", "y"]
    assert r.execute_command("MIGRATE", target.host, target.port, "nokey", 0, 5000) in (
        "NOKEY", b"NOKEY")
    assert r.execute_command("MIGRATE", target.host, target.port, "", 0, 5000,
                             "KEYS", "x", "y") in ("NOKEY", b"NOKEY")


@pytest.fixture
def redis_with_password():
    s = Server(["--requirepass", "pw"], is_redis=True)
    yield s
    s.stop()


def test_auth_and_auth2(r, redis_with_password):
    """Against a redis-server with a password (the target's AUTH is what is
    tested here, and Cairn's own AUTH is not this file's concern)."""
    target = redis_with_password
    t = target.client(password="pw")
    r.set("k", "v")
    with pytest.raises(redis.ResponseError,
                       match="^Target instance replied with error: WRONGPASS"):
        r.migrate(target.host, target.port, "k", 0, 5000, auth="wrong")
    assert r.get("k") == "v"
    assert ok(r.migrate(target.host, target.port, "k", 0, 5000, auth="pw", copy=True))
    assert t.get("k") == "v"
    assert r.execute_command("MIGRATE", target.host, target.port, "k", 0, 5000, "REPLACE",
                             "AUTH2", "default", "pw") in ("OK", b"OK")
    assert r.exists("k") == 0


def test_errors(r, target):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError,
                       match="^When using MIGRATE KEYS option, the key argument must be set to "
                             "the empty string$"):
        r.execute_command("MIGRATE", target.host, target.port, "k", 0, 5000, "KEYS", "k")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("MIGRATE", target.host, target.port, "k", 0, 5000, "COPY", "FOO")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("MIGRATE", target.host, target.port, "k", "x", 5000)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("MIGRATE", target.host, target.port, "k", 0, "x")
    # Nothing listens on the port that the target had: an I/O error, key kept.
    port = target.port
    target.stop()
    with pytest.raises(redis.ResponseError, match="^IOERR error or timeout (writing|connecting)"):
        r.migrate("127.0.0.1", port, "k", 0, 500)
    assert r.get("k") == "v"


def test_every_type_to_redis_server(server, reference):  # noqa: F811
    a = server.client(decode_responses=False)
    b = reference.client(decode_responses=False)
    a.flushall()
    b.flushall()
    build_values(a)
    want = {k: read_value(a, k) for k in KEYS}
    assert a.execute_command("MIGRATE", reference.host, reference.port, "", 0, 10000,
                             "KEYS", *KEYS) in ("OK", b"OK")
    assert a.dbsize() == 0
    assert {k: read_value(b, k) for k in KEYS} == want
