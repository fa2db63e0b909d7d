"""Redis RDB files: a dump.rdb written by redis-server (every type and
encoding, streams with consumer groups, several databases, expiries,
compressed strings, a function library) loads at start-up and compares key
by key; cairn-check --rdb reads it; damaged files are refused; and with
rdb-format redis, SAVE and BGSAVE write a dump.rdb that redis-server
loads."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, TARGET, Server, cairn_binary, free_port
from test_dump import build_streams, crc64, stream_state

# Small thresholds make redis-server write every encoding it has.
SMALL = ["--list-max-listpack-size", "4", "--hash-max-listpack-entries", "4",
         "--zset-max-listpack-entries", "4", "--set-max-intset-entries", "4"]


def populate(c):
    c.set("s:int", 42)
    c.set("s:emb", "hello")
    c.set("s:lzf", "0123456789" * 300)
    c.set("s:ttl", "x", ex=3600)
    c.rpush("l:short", "a", "b", 3)
    c.rpush("l:long", *[f"item-{i}" for i in range(200)])
    c.hset("h:small", mapping={"a": 1, "b": "two"})
    c.hset("h:big", mapping={f"f{i}": "v" * i for i in range(50)})
    c.sadd("set:int", 1, 2, 3)
    c.sadd("set:bigint", *range(100))
    c.sadd("set:str", *[f"m{i}" for i in range(20)])
    c.zadd("z:small", {"a": 1.5, "b": -2})
    c.zadd("z:big", {f"m{i}": i / 3 for i in range(100)})
    c.pexpire("z:big", 7200 * 1000)
    build_streams(c)
    c.select(3)
    c.set("in3", "three")
    c.hset("h3", "f", "v")
    c.select(0)


def snapshot(c):
    """Every key of dbs 0..15 with its type, value and whether it has a TTL."""
    out = {}
    for db in range(16):
        c.select(db)
        for key in c.keys("*"):
            t = c.type(key)
            if t == b"string":
                v = c.get(key)
            elif t == b"list":
                v = c.lrange(key, 0, -1)
            elif t == b"set":
                v = sorted(c.smembers(key))
            elif t == b"hash":
                v = sorted(c.hgetall(key).items())
            elif t == b"stream":
                v = (c.xrange(key), stream_state(c, key))
            else:
                v = c.zrange(key, 0, -1, withscores=True)
            out[(db, key)] = (t, v, c.pttl(key) > 0)
    c.select(0)
    return out


def redis_dump(tmp_path, extra=(), prepare=None):
    """Run redis-server, fill it, SAVE, and return (path of dump.rdb, the
    expected snapshot)."""
    ref = Server(list(extra), is_redis=True)
    try:
        c = ref.client(decode_responses=False)
        populate(c)
        if prepare:
            prepare(c)
        want = snapshot(c)
        c.save()
        path = tmp_path / "dump.rdb"
        shutil.copy(os.path.join(ref.dir, "dump.rdb"), path)
    finally:
        ref.stop()
    return path, want


def start_on(tmp_path, rdb, *extra):
    d = tmp_path / "srv"
    d.mkdir(exist_ok=True)
    shutil.copy(rdb, d / "dump.rdb")
    return Server(["--dir", str(d), "--dbfilename", "dump.rdb"] + list(extra))


@pytest.mark.parametrize("thresholds", [SMALL, []], ids=["small", "default"])
def test_loads_a_redis_dump_key_by_key(tmp_path, thresholds):
    rdb, want = redis_dump(tmp_path, thresholds)
    s = start_on(tmp_path, rdb)
    try:
        c = s.client(decode_responses=False)
        wait_loaded(c)
        assert snapshot(c) == want
        assert 3500 * 1000 < c.pttl("s:ttl") <= 3600 * 1000
    finally:
        s.stop()


def check(*args):
    exe = os.path.join(os.path.dirname(os.environ.get(
        "CAIRN_SERVER_BIN", os.path.join(ROOT, "build", "cairn-server"))), "cairn-check")
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=60)


@pytest.mark.cairn_only
def test_cairn_check_reads_a_redis_dump(tmp_path):
    rdb, want = redis_dump(tmp_path, SMALL)
    r = check("--rdb", str(rdb))
    assert r.returncode == 0, r.stdout + r.stderr
    n0 = sum(1 for (db, _) in want if db == 0)
    assert f"db0: keys={n0},expires=2" in r.stdout
    assert "db3: keys=2,expires=0" in r.stdout
    assert "version 10" in r.stdout


LIB = "#!lua name=mylib\nredis.register_function('f', function() return 7 end)"


def test_function_libraries_load(tmp_path):
    rdb, want = redis_dump(tmp_path, (), lambda c: c.function_load(LIB))
    s = start_on(tmp_path, rdb)
    try:
        c = s.client(decode_responses=False)
        wait_loaded(c)
        assert snapshot(c) == want
        assert c.fcall("f", 0) == 7
    finally:
        s.stop()


@pytest.mark.cairn_only
def test_module_aux_data_is_skipped_with_a_warning(tmp_path):
    """A module aux section (made by hand: no module is loaded here) is
    skipped with a warning naming the module; the keys after it load."""
    import struct
    rdb, want = redis_dump(tmp_path)
    data = rdb.read_bytes()[:-9]  # without EOF and CRC
    # RDB_OPCODE_MODULE_AUX, module id "testmodul" version 1 (9 chars of 6
    # bits, then 10 bits), when opcode UINT, when 2, one UINT value, EOF.
    cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    mid = 0
    for ch in "testmodul":
        mid = (mid << 6) | cset.index(ch)
    mid = (mid << 10) | 1
    aux = bytes([247, 0x81]) + struct.pack(">Q", mid) + bytes([2, 2, 2, 5, 0])
    body = data + aux + b"\xff"
    body += struct.pack("<Q", crc64(body))
    s = start_on(tmp_path, _write(tmp_path / "mod.rdb", body))
    try:
        c = s.client(decode_responses=False)
        wait_loaded(c)
        assert snapshot(c) == want
        assert "Skipping the aux data of module testmodul" in s.read_log()
        assert "Loading RDB produced by version 7.0" in s.read_log()
    finally:
        s.stop()


def _write(path, body):
    path.write_bytes(body)
    return path


def wait_loaded(c):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            c.ping()
            return
        except Exception:
            time.sleep(0.05)


@pytest.mark.cairn_only
def test_damaged_and_truncated_dumps_are_refused(tmp_path):
    rdb, _ = redis_dump(tmp_path, SMALL)
    data = rdb.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "no-eof": data[:-9],
        "flipped": data[:200] + bytes([data[200] ^ 0x40]) + data[201:],
        "bad-crc": data[:-1] + bytes([data[-1] ^ 1]),
        "newer": b"REDIS0011" + data[9:],
    }
    for name, body in cases.items():
        bad = tmp_path / f"{name}.rdb"
        bad.write_bytes(body)
        r = check("--rdb", str(bad))
        assert r.returncode == 1, (name, r.stdout)
        d = tmp_path / f"srv-{name}"
        d.mkdir()
        shutil.copy(bad, d / "dump.rdb")
        # The server listens while it loads, then stops on the damage.
        proc = subprocess.run([cairn_binary(), "--port", str(free_port()), "--bind", "127.0.0.1",
                               "--dir", str(d)], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0, name
        assert "Failed loading the Redis RDB" in proc.stdout + proc.stderr, name


@pytest.mark.cairn_only
@pytest.mark.parametrize("how", ["save", "bgsave"])
def test_rdb_format_redis_is_loaded_by_redis_server(tmp_path, how):
    s = Server(["--rdb-format", "redis"] + SMALL, is_redis=False)
    try:
        c = s.client(decode_responses=False)
        populate(c)
        c.object("encoding", "s:int")
        want = snapshot(c)
        if how == "save":
            c.save()
        else:
            c.bgsave()
            deadline = time.time() + 30
            while c.info("persistence")["rdb_bgsave_in_progress"] and time.time() < deadline:
                time.sleep(0.05)
        path = tmp_path / "dump.rdb"
        shutil.copy(os.path.join(s.dir, "dump.rdb"), path)
    finally:
        s.stop()
    d = tmp_path / "redis"
    d.mkdir()
    shutil.copy(path, d / "dump.rdb")
    ref = Server(["--dir", str(d), "--dbfilename", "dump.rdb"], is_redis=True)
    try:
        assert snapshot(ref.client(decode_responses=False)) == want
    finally:
        ref.stop()


@pytest.mark.skipif(TARGET == "redis", reason="loads with Cairn's own loader")
@pytest.mark.cairn_only
def test_round_trip_through_both_servers(tmp_path):
    """redis-server's dump loads in Cairn, Cairn saves it back in Redis's
    format, and redis-server loads that: the same keys at the end."""
    rdb, want = redis_dump(tmp_path, SMALL, lambda c: c.function_load(LIB))
    s = start_on(tmp_path, rdb, "--rdb-format", "redis")
    try:
        c = s.client(decode_responses=False)
        wait_loaded(c)
        c.save()
        back = tmp_path / "back.rdb"
        shutil.copy(tmp_path / "srv" / "dump.rdb", back)
    finally:
        s.stop()
    d = tmp_path / "redis2"
    d.mkdir()
    shutil.copy(back, d / "dump.rdb")
    ref = Server(["--dir", str(d)], is_redis=True)
    try:
        assert snapshot(ref.client(decode_responses=False)) == want
        assert ref.client().fcall("f", 0) == 7
    finally:
        ref.stop()
