"""MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.

Reply shapes and errors hold against Redis 7.0 too (CAIRN_TEST_SERVER=redis);
the byte counts of MEMORY USAGE are checked (Cairn only) against what
docs/memory.md says keys cost, within 10%: the documented figures are
measured with 16-byte keys and values at a million of them, which is what
these tests build."""
import time

import pytest
import redis
from conftest import RawConn, wait_for


def fails(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_usage_of_a_missing_key_is_nil(r):
    assert r.memory_usage("nosuchkey") is None
    assert r.execute_command("MEMORY", "USAGE", "nosuchkey", "SAMPLES", "0") is None


def test_usage_errors(r):
    r.set("k", "v")
    assert fails(r, "MEMORY", "USAGE", "k", "SAMPLES", "-1") == "syntax error"
    assert fails(r, "MEMORY", "USAGE", "k", "SAMPLES", "x") == \
        "value is not an integer or out of range"
    assert fails(r, "MEMORY", "USAGE", "k", "FOO") == "syntax error"
    assert fails(r, "MEMORY", "USAGE", "k", "SAMPLES") == "syntax error"
    assert "wrong number of arguments" in fails(r, "MEMORY", "USAGE")
    assert fails(r, "MEMORY", "NOPE").startswith("unknown subcommand 'NOPE'. Try MEMORY HELP.")


def test_usage_grows_with_the_value(r):
    r.set("small", "x")
    r.set("big", "x" * 10000)
    assert r.memory_usage("small") > 0
    assert r.memory_usage("big") >= 10000 > r.memory_usage("small")
    r.rpush("list", *range(1000))
    r.sadd("set", *[f"m{i}" for i in range(1000)])
    r.hset("hash", mapping={f"f{i}": i for i in range(1000)})
    r.zadd("zset", {f"m{i}": i for i in range(1000)})
    for key in ("list", "set", "hash", "zset"):
        all_ = r.memory_usage(key, samples=0)
        assert all_ > 1000 * 2, key
        # Sampling extrapolates from uniform elements: close to the full count.
        assert abs(r.memory_usage(key) - all_) <= all_ * 0.5, key


def test_other_subcommands(r):
    r.set("k", "v")
    help_ = r.execute_command("MEMORY", "HELP")
    assert help_[0].startswith("MEMORY <subcommand>")
    assert any(line.startswith("USAGE <key> [SAMPLES <count>]") for line in help_)
    assert r.execute_command("MEMORY", "DOCTOR").startswith("Hi Sam, ")
    assert isinstance(r.execute_command("MEMORY", "MALLOC-STATS"), str)
    assert r.execute_command("MEMORY", "PURGE") in (True, "OK")
    stats = r.execute_command("MEMORY", "STATS")
    names = stats[0::2]
    for name in ("peak.allocated", "total.allocated", "startup.allocated",
                 "replication.backlog", "clients.slaves", "clients.normal", "aof.buffer",
                 "lua.caches", "overhead.total", "keys.count", "keys.bytes-per-key",
                 "dataset.bytes", "dataset.percentage", "peak.percentage", "fragmentation",
                 "fragmentation.bytes", "db.0"):
        assert name in names, name
    d = dict(zip(names, stats[1::2]))
    assert d["keys.count"] == 1
    assert d["total.allocated"] <= d["peak.allocated"]
    assert names.index("db.0") < names.index("overhead.total")
    db0 = dict(zip(d["db.0"][0::2], d["db.0"][1::2]))
    assert {"overhead.hashtable.main", "overhead.hashtable.expires"} <= set(db0)


def test_doctor_on_an_empty_instance(own):
    """Redis's text, to its final newline."""
    _, r = own
    assert r.execute_command("MEMORY", "DOCTOR") == (
        "Hi Sam, this instance is empty or is using very little memory, my issues detector "
        "can't be used in these conditions. Please, leave for your mission on Earth and fill "
        "it with some data. The new Sam and I will be back to our programming as soon as I "
        "finished rebooting.\n")


def fill(server, n, cmd, key_args, prefix="key"):
    """n 16-byte names with 16-byte values, 1000 per command: RESP built
    by hand, since redis-py's encoding of millions of arguments takes
    most of a minute."""
    head = [b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in (cmd, *key_args)]
    head = b"*%d\r\n" % (len(head) + 2000) + b"".join(head)
    pair = prefix.encode() + b":%012d"
    conn = RawConn(server)
    for b in range(n // 1000):
        conn.send(head + b"".join(b"$16\r\n%s\r\n$16\r\nval:%012d\r\n" % (pair % i, i)
                                  for i in range(b * 1000, b * 1000 + 1000)))
        if b % 100 == 99 or b == n // 1000 - 1:
            for _ in range(b % 100 + 1):
                t, _ = conn.read_reply()
                assert t != "-"
    conn.close()


def near(value, doc, tol=0.10):
    return abs(value - doc) <= doc * tol


@pytest.mark.cairn_only
@pytest.mark.slow
def test_usage_matches_docs_memory(server_factory):
    """docs/memory.md: a string key costs 66 B, a hash field 66 B (16-byte
    keys, fields and values, a million of them)."""
    s = server_factory()
    r = s.client()
    if not r.info("memory")["mem_allocator"].startswith("jemalloc"):
        # The sanitizers' allocator sizes blocks exactly: the documented
        # figures are jemalloc's size classes.
        pytest.skip("docs/memory.md's figures are measured with jemalloc")
    fill(s, 1000000, "MSET", ())
    assert r.dbsize() == 1000000
    for i in (0, 123456, 999999):
        assert near(r.memory_usage(f"key:{i:012d}"), 66)
    r.flushall()
    fill(s, 1000000, "HSET", ("h",), prefix="fld")
    assert near(r.memory_usage("h", samples=0) / 1000000, 66)
    assert near(r.memory_usage("h") / 1000000, 66)
    r.close()


INFO_MEMORY_FIELDS = (
    "used_memory", "used_memory_rss", "used_memory_peak", "used_memory_overhead",
    "used_memory_startup", "used_memory_dataset", "used_memory_dataset_perc",
    "allocator_allocated", "allocator_active", "allocator_resident", "allocator_frag_ratio",
    "allocator_frag_bytes", "allocator_rss_ratio", "allocator_rss_bytes", "rss_overhead_ratio",
    "rss_overhead_bytes", "mem_fragmentation_ratio", "mem_fragmentation_bytes",
    "mem_not_counted_for_evict", "mem_replication_backlog", "mem_clients_slaves",
    "mem_clients_normal", "mem_aof_buffer", "maxmemory", "maxmemory_policy", "mem_allocator")


def test_info_memory_has_redis_fields(r):
    """The INFO memory fields redis_exporter and dashboards read."""
    info = r.info("memory")
    for name in INFO_MEMORY_FIELDS:
        assert name in info, name
    assert info["used_memory_overhead"] >= info["used_memory_startup"] > 0
    if info["mem_allocator"].startswith("jemalloc"):
        assert info["allocator_resident"] >= info["allocator_active"] >= \
            info["allocator_allocated"] > 0


def stats_of(r):
    s = r.execute_command("MEMORY", "STATS")
    return dict(zip(s[0::2], s[1::2]))


def test_client_query_buffer_counts_as_client_memory(r, raw):
    """Half a megabyte of a bulk argument still arriving is memory a
    client holds: INFO mem_clients_normal, MEMORY STATS clients.normal and
    overhead.total count it, and give it back when the client goes."""
    before = r.info("memory")["mem_clients_normal"]
    c = raw()
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n" + b"x" * 500000)
    deadline = time.time() + 10
    while r.info("memory")["mem_clients_normal"] < before + 400000:
        assert time.time() < deadline, r.info("memory")["mem_clients_normal"]
        time.sleep(0.05)
    st = stats_of(r)
    assert st["clients.normal"] >= before + 400000
    assert st["overhead.total"] >= st["startup.allocated"] + 400000
    c.close()
    deadline = time.time() + 10
    while r.info("memory")["mem_clients_normal"] >= before + 400000:
        assert time.time() < deadline
        time.sleep(0.05)


def test_allocator_figures_in_memory_stats(r):
    st = stats_of(r)
    if r.info("memory")["mem_allocator"].startswith("jemalloc"):
        # jemalloc's active pages hold partly used slabs: always more than
        # the bytes handed out.
        assert st["allocator.active"] > st["allocator.allocated"] > 0
    assert st["allocator.active"] >= st["allocator.allocated"] > 0
    assert st["allocator.resident"] >= st["allocator.active"]
    assert st["allocator-fragmentation.bytes"] == \
        st["allocator.active"] - st["allocator.allocated"]


def test_memory_of_a_command_with_many_arguments_is_given_back(own):
    """A client that sent one command of 100,000 arguments holds no more
    memory for them once it has run (CLIENT LIST tot-mem, used_memory)."""
    s, r = own
    r.set("warm", "up")
    before = r.info("memory")["used_memory"]
    r.sadd("myset", *range(100000))
    assert r.unlink("myset") == 1
    [me] = r.client_list()
    assert int(me["tot-mem"]) < 200000
    # Redis frees the set in the background
    assert wait_for(lambda: r.info("memory")["used_memory"] < before + 1000000, timeout=10)
