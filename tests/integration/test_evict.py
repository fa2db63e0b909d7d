"""maxmemory and eviction (cache mode) through a real server.

Each test starts its own server, sets maxmemory a few MB above what the
empty server uses, fills past it with 1 KB values and checks which keys
survive under each maxmemory-policy, that used_memory stays near the limit,
and the OOM refusals.  LRU and LFU are sampled approximations in Redis and
in Cairn alike, so survivors are compared with a tolerance.  The same tests
run against redis-server with CAIRN_TEST_SERVER=redis.
"""
import os
import struct
import time

import pytest
import redis

from conftest import RawConn
from durable import DurableServer, aof_dir

OOM = "OOM command not allowed when used memory > 'maxmemory'."
VALUE = "v" * 1000
ROOM = 3 * 1024 * 1024  # maxmemory above the empty server's usage
BATCH = 100  # a pipeline's worth; its query buffer counts as used memory


@pytest.fixture
def srv(server_factory):
    return server_factory()


@pytest.fixture
def c(srv):
    cl = srv.client()
    yield cl
    cl.close()


def used(c):
    return int(c.info("memory")["used_memory"])


def evicted(c):
    return int(c.info("stats")["evicted_keys"])


def set_limit(c, policy, room=ROOM):
    c.config_set("maxmemory-policy", policy)
    limit = used(c) + room
    c.config_set("maxmemory", limit)
    return limit


def fill(c, prefix, n, start=0, ex=None):
    """SET prefix<i> for i in [start, start+n); returns the replies."""
    out = []
    for b in range(start, start + n, BATCH):
        p = c.pipeline(transaction=False)
        for i in range(b, min(b + BATCH, start + n)):
            p.set(f"{prefix}{i}", VALUE, ex=ex)
        out += p.execute(raise_on_error=False)
    return out


def surviving(c, names):
    p = c.pipeline(transaction=False)
    for k in names:
        p.exists(k)
    return sum(p.execute())


def assert_near_limit(c, limit):
    """used_memory within a few percent of maxmemory: evicted down to it,
    not far below it."""
    u = used(c)
    assert limit * 0.85 <= u <= limit * 1.03, (u, limit)


# --- configuration and introspection --------------------------------------------

def test_eviction_parameters_and_defaults(c):
    got = c.config_get("maxmemory*")
    assert got["maxmemory"] == "0"
    assert got["maxmemory-policy"] == "noeviction"
    assert got["maxmemory-samples"] == "5"
    assert got["maxmemory-eviction-tenacity"] == "10"
    lfu = c.config_get("lfu-*")
    assert lfu == {"lfu-log-factor": "10", "lfu-decay-time": "1"}
    with pytest.raises(redis.ResponseError, match="argument must be between 1 and 2147483647"):
        c.config_set("maxmemory-samples", 0)
    with pytest.raises(redis.ResponseError, match="argument must be between 0 and 100"):
        c.config_set("maxmemory-eviction-tenacity", 101)
    for policy in ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                   "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"):
        c.config_set("maxmemory-policy", policy)
        assert c.config_get("maxmemory-policy")["maxmemory-policy"] == policy


def test_info_reports_maxmemory_and_evictions(c):
    c.config_set("maxmemory", "10mb")
    c.config_set("maxmemory-policy", "allkeys-lru")
    m = c.info("memory")
    assert m["maxmemory"] == 10 * 1024 * 1024
    assert m["maxmemory_human"] == "10.00M"
    assert m["maxmemory_policy"] == "allkeys-lru"
    assert c.info("stats")["evicted_keys"] == 0


def test_object_freq_and_idletime_follow_the_policy(c):
    c.set("k", "v")
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        c.object("freq", "k")
    assert c.object("idletime", "k") <= 1
    c.config_set("maxmemory-policy", "allkeys-lfu")
    c.config_set("lfu-decay-time", 0)  # no decay should a minute end mid-test
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
        c.object("idletime", "k")
    c.set("f", "v")
    assert c.object("freq", "f") == 5  # a new key starts above 0
    c.get("f")
    assert c.object("freq", "f") == 6  # the first accesses always count
    for _ in range(200):
        c.get("f")
    assert 8 <= c.object("freq", "f") <= 16  # then logarithmically (about 11)
    c.config_set("maxmemory-policy", "allkeys-lru")
    c.get("f")
    time.sleep(2.1)
    assert c.object("idletime", "f") >= 2
    c.get("f")
    assert c.object("idletime", "f") == 0


@pytest.mark.cairn_only  # CLIENT NO-TOUCH is Redis 7.2
def test_client_no_touch_leaves_idle_time(c):
    c.set("k", "v")
    time.sleep(1.1)
    c.execute_command("CLIENT", "NO-TOUCH", "ON")
    c.get("k")
    assert c.object("idletime", "k") >= 1
    c.touch("k")  # TOUCH touches regardless
    assert c.object("idletime", "k") == 0


# --- noeviction ---------------------------------------------------------------

def test_noeviction_refuses_writes_but_serves_reads_and_deletes(c):
    set_limit(c, "noeviction", room=1024 * 1024)
    replies = fill(c, "k", 3000)
    errors = [r for r in replies if isinstance(r, Exception)]
    assert errors and all(str(e) == OOM for e in errors)
    stored = len(replies) - len(errors)
    assert 500 < stored < 1500
    assert c.dbsize() == stored
    assert evicted(c) == 0
    with pytest.raises(redis.ResponseError) as exc:
        c.set("one-more", VALUE)
    assert str(exc.value) == OOM
    with pytest.raises(redis.ResponseError):
        c.lpush("list", "x")
    assert c.get("k0") == VALUE
    assert c.exists("k1") == 1
    # Deleting frees memory, and writes work again.
    assert c.delete(*[f"k{i}" for i in range(200)]) == 200
    assert c.set("one-more", VALUE)


def test_oom_inside_transactions(srv, c):
    conn = RawConn(srv)
    try:
        # Queued while there was room; by EXEC there is none.
        conn.cmd("MULTI")
        conn.cmd("SET", "x", "y")
        assert [conn.read_reply(), conn.read_reply()] == [("+", "OK"), ("+", "QUEUED")]
        set_limit(c, "noeviction", room=0)
        c.config_set("maxmemory", 1)
        conn.cmd("EXEC")
        assert conn.read_reply() == ("-", "EXECABORT Transaction discarded because of: " + OOM)
        # While out of memory, MULTI queues nothing: queuing takes memory.
        conn.cmd("MULTI")
        conn.cmd("GET", "x")
        conn.cmd("EXEC")
        assert conn.read_reply() == ("+", "OK")
        assert conn.read_reply() == ("-", OOM)
        assert conn.read_reply() == ("-", "EXECABORT Transaction discarded because of previous "
                                          "errors.")
        conn.cmd("MULTI")
        conn.cmd("DISCARD")
        assert [conn.read_reply(), conn.read_reply()] == [("+", "OK"), ("+", "OK")]
        conn.cmd("GET", "x")
        assert conn.read_reply() == ("$", None)
    finally:
        conn.close()


# --- which keys survive ------------------------------------------------------------

def test_allkeys_lru_keeps_a_hot_working_set(c):
    limit = set_limit(c, "allkeys-lru")
    hot = [f"hot{i}" for i in range(100)]
    for k in hot:
        c.set(k, VALUE)
    # Four rounds, each in a new second of the LRU clock (whose resolution
    # is one second): touch the hot set, then write a batch of cold keys.
    for rnd in range(4):
        time.sleep(1.05)
        p = c.pipeline(transaction=False)
        for k in hot:
            p.get(k)
        p.execute()
        fill(c, f"cold{rnd}:", 1000)
    assert evicted(c) > 500
    assert surviving(c, hot) >= 95
    # The oldest went first: rounds 0 and 1 paid for the space (about 840
    # and 480 of 1000 evicted, in Redis and Cairn alike), the newer two not.
    left = [surviving(c, [f"cold{r}:{i}" for i in range(1000)]) for r in range(4)]
    assert left[0] <= 300 and left[0] < left[1] <= 750
    assert left[2] >= 950 and left[3] >= 950
    assert_near_limit(c, limit)


def test_allkeys_lfu_keeps_frequently_used_keys(c):
    c.config_set("lfu-decay-time", 0)  # no decay should a minute end mid-test
    limit = set_limit(c, "allkeys-lfu")
    hot = [f"hot{i}" for i in range(100)]
    for k in hot:
        c.set(k, VALUE)
    p = c.pipeline(transaction=False)
    for _ in range(20):
        for k in hot:
            p.get(k)
    p.execute()
    fill(c, "cold", 5000)
    assert evicted(c) > 1000
    assert surviving(c, hot) >= 98
    assert_near_limit(c, limit)


def test_allkeys_random_evicts_from_everything(c):
    limit = set_limit(c, "allkeys-random")
    fill(c, "k", 5000)
    n = evicted(c)
    assert n > 1000
    assert c.dbsize() == 5000 - n
    early = surviving(c, [f"k{i}" for i in range(1000)])
    late = surviving(c, [f"k{i}" for i in range(4000, 5000)])
    assert 20 < early < late  # older keys faced more draws
    assert_near_limit(c, limit)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_never_evict_keys_without_ttl(c, policy):
    limit = set_limit(c, policy)
    fill(c, "keep", 500)
    fill(c, "tmp", 5000, ex=1000)
    assert evicted(c) > 1000
    assert surviving(c, [f"keep{i}" for i in range(500)]) == 500
    assert_near_limit(c, limit)


def test_volatile_ttl_evicts_the_nearest_expiry_first(c):
    limit = set_limit(c, "volatile-ttl")
    for b in range(0, 2000, BATCH):
        p = c.pipeline(transaction=False)
        for i in range(b, b + BATCH):
            p.set(f"short{i}", VALUE, ex=1000 + i)
            p.set(f"long{i}", VALUE, ex=100000 + i)
        p.execute()
    assert evicted(c) > 800
    assert surviving(c, [f"long{i}" for i in range(2000)]) >= 1900
    assert surviving(c, [f"short{i}" for i in range(2000)]) <= 1000
    assert_near_limit(c, limit)


def test_volatile_policy_with_nothing_volatile_refuses_writes(c):
    set_limit(c, "volatile-lru", room=1024 * 1024)
    replies = fill(c, "k", 3000)
    errors = [r for r in replies if isinstance(r, Exception)]
    assert errors and all(str(e) == OOM for e in errors)
    assert evicted(c) == 0
    # A key with a TTL is a candidate (EXPIRE does not grow memory).
    c.expire("k0", 1000)
    c.config_set("maxmemory", used(c) - 1000)
    deadline = time.time() + 2
    while c.exists("k0") and time.time() < deadline:
        time.sleep(0.01)
    assert c.exists("k0") == 0
    assert evicted(c) == 1


def test_config_set_lower_maxmemory_evicts_at_once(c):
    fill(c, "k", 3000)
    before = used(c)
    c.config_set("maxmemory-policy", "allkeys-random")
    limit = before - 1024 * 1024
    c.config_set("maxmemory", limit)
    # Redis evicts from a timer right after the CONFIG SET; Cairn within it.
    deadline = time.time() + 2
    while used(c) > limit and time.time() < deadline:
        time.sleep(0.01)
    n = evicted(c)
    assert n > 500
    assert c.dbsize() == 3000 - n
    assert_near_limit(c, limit)


def test_every_db_is_a_candidate(srv, c):
    limit = set_limit(c, "allkeys-lru")
    one = srv.client(db=1)
    fill(one, "one", 2000)
    time.sleep(1.05)  # db 1's keys are now the least recently used
    fill(c, "zero", 2000)
    assert evicted(c) > 1000
    assert c.dbsize() >= 1900
    assert one.dbsize() <= 1000
    one.close()
    assert_near_limit(c, limit)


# --- the command log ---------------------------------------------------------------

def log_entries(data_dir):
    """Every entry of the incremental logs as (db, argv) (src/log/entry.h)."""
    def varint(buf, off):
        v = shift = 0
        while True:
            b = buf[off]
            off += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v, off

    out = []
    d = aof_dir(data_dir)
    for name in sorted(os.listdir(d)):
        if not name.endswith(".incr.aof"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        off = 0
        while off + 10 <= len(data):
            (length,) = struct.unpack_from("<I", data, off + 2)
            p = off + 10
            db, p = varint(data, p)
            p += 16  # now_ms, seed
            argc, p = varint(data, p)
            argv = []
            for _ in range(argc):
                n, p = varint(data, p)
                argv.append(data[p:p + n])
                p += n
            out.append((db, argv))
            off += 10 + length
    return out


@pytest.mark.cairn_only
def test_evictions_are_logged_as_deletes_and_replayed(tmp_path):
    s = DurableServer(tmp_path / "data", "--appendonly", "yes", "--appendfsync", "always",
                      "--save", "").start()
    try:
        c = s.client()
        set_limit(c, "allkeys-random", room=1024 * 1024)
        fill(c, "k", 2000)
        n = evicted(c)
        assert n > 500
        survivors = set(c.keys("*"))
        dels = [argv[1].decode() for _, argv in log_entries(s.dir) if argv[0] == b"DEL"]
        assert len(dels) == n
        assert not survivors & set(dels)
        # Replaying the log gives the same keys (no limit this time, so
        # only the logged DELs can have removed any).
        s.kill9()
        s.start(extra=("--maxmemory", "0"))
        c = s.client()
        assert set(c.keys("*")) == survivors
        assert evicted(c) == 0
    finally:
        s.stop()
