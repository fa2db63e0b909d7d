"""The append-only log and snapshots through a real server: recovery,
truncated and corrupted files, a failing disk (MISCONF), the directory
lock, switching the log on at runtime, LOADING, INFO persistence, SAVE,
BGSAVE, LASTSAVE and save points."""
import os
import resource
import socket
import stat
import struct
import subprocess
import time

import pytest
import redis

from durable import (DurableServer, aof_dir, incr_files, manifest, wait_for, wait_no_child)

pytestmark = pytest.mark.cairn_only

AOF = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@pytest.fixture
def make(tmp_path):
    started = []

    def factory(*args, sub="data"):
        s = DurableServer(tmp_path / sub, *args)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def entries(path):
    """(offset, size) of each entry of a log file (see src/log/entry.h)."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + 10 <= len(data):
        assert data[off] == 0xCA
        (length,) = struct.unpack_from("<I", data, off + 2)
        out.append((off, 10 + length))
        off += 10 + length
    return out


# --- recovery -------------------------------------------------------------------

def test_log_layout_and_permissions(make):
    s = make(*AOF).start()
    c = s.client()
    c.set("k", "v")
    m = manifest(s.dir)
    assert [t for _, _, t in m] == ["b", "i"]
    assert m[0][0] == "appendonly.aof.1.base.rdb"
    assert m[1][0] == "appendonly.aof.1.incr.aof"
    d = aof_dir(s.dir)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for name in os.listdir(d):
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(os.path.join(s.dir, "cairn.lock")).st_mode) == 0o600


def test_restart_replays_every_type_of_write(make):
    s = make(*AOF).start()
    c = s.client()
    c.set("s", "v")
    c.incrby("n", 41)
    c.incr("n")
    c.append("s", "w")
    c.set("ttl", "x", ex=1000)
    c.select(5)
    c.set("in5", "five")
    c.delete("s")  # and back in db 0 ...
    c.select(0)
    c.set("gone", "1")
    c.delete("gone")
    s.kill9()
    s.start()
    c = s.client()
    assert c.get("s") == "vw"
    assert c.get("n") == "42"
    assert 990 < c.ttl("ttl") <= 1000
    assert c.get("gone") is None
    c.select(5)
    assert c.get("in5") == "five"


def test_transactions_replay_whole(make):
    s = make(*AOF).start()
    c = s.client()
    c.set("n", 1)
    p = c.pipeline(transaction=True)
    p.incr("n").sadd("s", *"abcdefgh").spop("s", 3).select(4).set("in4", "x")
    p.execute()
    c.select(0)
    before = (c.get("n"), sorted(c.smembers("s")))
    s.kill9()
    s.start()
    c = s.client()
    assert (c.get("n"), sorted(c.smembers("s"))) == before
    c.select(4)
    assert c.get("in4") == "x"


def test_replay_ignores_a_smaller_proto_max_bulk_len(make):
    # proto-max-bulk-len guards client input: what the node accepted is in
    # the log, and a restart with a smaller limit must load it all.
    s = make(*AOF).start()
    c = s.client()
    c.set("a", "x" * (700 << 10))
    c.append("a", "y" * (700 << 10))
    c.setrange("r", 2 << 20, "end")
    c.setbit("b", 8 * (2 << 20), 1)
    s.stop()
    s.start(extra=("--proto-max-bulk-len", "1mb"))
    c = s.client()
    assert c.strlen("a") == 1400 << 10
    assert c.getrange("a", -1, -1) == "y"
    assert c.strlen("r") == (2 << 20) + 3
    assert c.strlen("b") == (2 << 20) + 1 and c.bitcount("b") == 1
    # Clients are still held to it.
    with pytest.raises(redis.ResponseError, match="proto-max-bulk-len"):
        c.append("a", "z")


def test_an_entry_that_fails_to_apply_stops_start_up(make):
    # The same valid entry in another log: INCR of a key that there holds
    # text.  A replay that skipped it would start with different data.
    donor = make(*AOF, sub="donor").start()
    donor.client().set("k", "1")
    donor.client().incr("k")
    donor.stop()
    dincr = incr_files(donor.dir)[-1]
    off, size = entries(dincr)[-1]
    with open(dincr, "rb") as f:
        f.seek(off)
        incr_entry = f.read(size)

    s = make(*AOF).start()
    s.client().set("k", "text")
    s.client().set("after", "1")
    s.stop()
    incr = incr_files(s.dir)[-1]
    first_off, first_size = entries(incr)[0]
    with open(incr, "rb") as f:
        data = f.read()
    bad_off = first_off + first_size
    with open(incr, "wb") as f:
        f.write(data[:bad_off] + incr_entry + data[bad_off:])
    with open(incr, "rb") as f:
        before = f.read()
    s.start(wait=False)
    assert s.wait_exit(10) == 1
    out = s.read_log()
    assert "Bad entry in the append only file" in out
    assert incr in out and f"at offset {bad_off}" in out and "INCR" in out
    assert "value is not an integer" in out
    with open(incr, "rb") as f:
        assert f.read() == before


def test_second_server_on_the_same_dir_refuses(make):
    a = make(*AOF).start()
    b = DurableServer(a.dir, *AOF)
    b.start(wait=False)
    assert b.wait_exit(10) == 1
    out = b.read_log()
    assert "in use by another process" in out and str(a.proc.pid) in out
    assert a.client().ping()


def test_expired_while_down_are_dropped_and_logged(make):
    s = make(*AOF).start()
    c = s.client()
    c.set("short", "v", px=200)
    c.set("long", "v", ex=1000)
    s.kill9()
    time.sleep(0.4)
    s.start()
    c = s.client()
    # Active expiry (the cron) deletes it with the real clock ...
    assert wait_for(lambda: c.dbsize() == 1, 5)
    assert c.get("short") is None
    # ... and logs the delete, so the log agrees with memory.
    with open(incr_files(s.dir)[-1], "rb") as f:
        tail = f.read()
    assert b"DEL" in tail and b"short" in tail


def test_truncated_tail_is_cut_with_a_warning(make):
    s = make(*AOF).start()
    c = s.client()
    for i in range(10):
        c.set(f"k{i}", i)
    s.stop()
    incr = incr_files(s.dir)[-1]
    good = os.path.getsize(incr)
    with open(incr, "ab") as f:
        f.write(b"\xca\x01\x40\x00\x00\x00\x00\x00\x00\x00partial")  # an entry cut short
    s.start()
    assert "short read while loading the AOF file" in s.read_log()
    assert "loaded anyway because aof-load-truncated is enabled" in s.read_log()
    assert os.path.getsize(incr) == good
    c = s.client()
    assert [c.get(f"k{i}") for i in range(10)] == [str(i) for i in range(10)]
    c.set("after", "1")
    s.kill9()
    s.start()
    assert s.client().get("after") == "1"


def test_truncated_tail_refused_without_aof_load_truncated(make):
    s = make(*AOF).start()
    s.client().set("k", "v")
    s.stop()
    incr = incr_files(s.dir)[-1]
    with open(incr, "ab") as f:
        f.write(b"\xca\x01\x40\x00")
    size = os.path.getsize(incr)
    s.start(wait=False, extra=("--aof-load-truncated", "no"))
    assert s.wait_exit(10) == 1
    out = s.read_log()
    assert "Unexpected end of file" in out and incr in out and "cairn-check --fix" in out
    assert os.path.getsize(incr) == size  # touched nothing


def test_zero_filled_tail_is_a_torn_write(make):
    s = make(*AOF).start()
    s.client().set("k", "v")
    s.stop()
    incr = incr_files(s.dir)[-1]
    with open(incr, "ab") as f:
        f.write(b"\0" * 4096)
    s.start()
    assert s.client().get("k") == "v"


@pytest.mark.parametrize("where", ["first", "middle"])
def test_corruption_stops_start_up_and_names_the_file(make, where):
    s = make(*AOF).start()
    c = s.client()
    for i in range(5):
        c.set(f"k{i}", "value")
    s.stop()
    incr = incr_files(s.dir)[-1]
    ents = entries(incr)
    off, size = ents[0] if where == "first" else ents[2]
    with open(incr, "r+b") as f:
        f.seek(off + size - 2)  # a byte of the value
        b = f.read(1)
        f.seek(off + size - 2)
        f.write(bytes([b[0] ^ 0x20]))
    with open(incr, "rb") as f:
        before = f.read()
    s.start(wait=False)
    assert s.wait_exit(10) == 1
    out = s.read_log()
    assert "Bad file format reading the append only file" in out
    assert incr in out and f"at offset {off}" in out and "checksum mismatch" in out
    assert "cairn-check --fix" in out
    with open(incr, "rb") as f:
        assert f.read() == before


def test_corrupt_base_stops_start_up(make):
    s = make(*AOF).start()
    s.client().set("k", "v" * 100)
    s.client().bgrewriteaof()
    wait_no_child(s.client())
    s.stop()
    base = os.path.join(aof_dir(s.dir), [n for n, _, t in manifest(s.dir) if t == "b"][0])
    with open(base, "r+b") as f:
        f.seek(40)
        b = f.read(1)
        f.seek(40)
        f.write(bytes([b[0] ^ 1]))
    s.start(wait=False)
    assert s.wait_exit(10) == 1
    out = s.read_log()
    assert base in out and "checksum mismatch" in out and "cairn-check" in out


def test_manifest_naming_a_missing_file_stops_start_up(make):
    s = make(*AOF).start()
    s.stop()
    os.unlink(incr_files(s.dir)[-1])
    s.start(wait=False)
    assert s.wait_exit(10) == 1
    assert "does not exist" in s.read_log()


# --- a failing disk -------------------------------------------------------------

def test_write_failure_refuses_writes_and_recovers(make):
    s = make(*AOF).start()
    c = s.client()
    c.set("a", "1")
    # A transaction queued before the disk fails ...
    tx = socket.create_connection(("127.0.0.1", s.port))
    tx.sendall(b"MULTI\r\nSET q 1\r\n")
    assert wait_for(lambda: tx.recv(100, socket.MSG_PEEK).count(b"\r\n") >= 2, 5)
    assert tx.recv(100) == b"+OK\r\n+QUEUED\r\n"
    incr = incr_files(s.dir)[-1]
    soft, hard = resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE)
    # Files may not grow any more: the next append fails with EFBIG, as a
    # full disk fails with ENOSPC.
    resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (os.path.getsize(incr) + 3, hard))
    try:
        pending = socket.create_connection(("127.0.0.1", s.port))
        pending.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
        time.sleep(0.3)
        pending.setblocking(False)
        with pytest.raises(BlockingIOError):
            pending.recv(100)  # not acknowledged: its entry is not on disk
        other = s.client()
        assert other.get("a") == "1"  # reads are served
        with pytest.raises(redis.ResponseError) as e:
            other.set("x", "y")
        assert str(e.value).startswith("MISCONF Errors writing to the AOF file: File too large")
        with pytest.raises(redis.ResponseError):
            other.ping()  # as Redis: PING too, so monitoring notices
        # ... is aborted by EXEC, as Redis's execCommandAbort does.
        tx.sendall(b"EXEC\r\n")
        tx.settimeout(5)
        assert tx.recv(200).startswith(
            b"-EXECABORT Transaction discarded because of: MISCONF Errors writing")
        tx.close()
        assert other.info("persistence")["aof_last_write_status"] == "err"
        # (The server's log file is under the same limit: nothing to read.)
    finally:
        resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
    pending.setblocking(True)
    pending.settimeout(5)
    assert pending.recv(100) == b"+OK\r\n"
    pending.close()
    assert wait_for(lambda: other.info("persistence")["aof_last_write_status"] == "ok", 5)
    assert other.set("x", "y")
    assert "AOF write error looks solved" in s.read_log()
    s.kill9()
    s.start()
    c = s.client()
    assert (c.get("a"), c.get("b"), c.get("x"), c.get("q")) == ("1", "2", "y", None)


# --- switching the log on and off -----------------------------------------------

def test_config_set_appendonly_yes_writes_a_base_first(make):
    s = make("--save", "").start()
    c = s.client()
    c.mset({f"k{i}": i for i in range(1000)})
    assert c.config_set("appendonly", "yes")
    assert c.info("persistence")["aof_enabled"] == 1
    wait_no_child(c)
    c.set("after", "on")
    assert [t for _, _, t in manifest(s.dir)] == ["b", "i"]
    s.kill9()
    s.start(extra=("--appendonly", "yes"))
    c = s.client()
    assert c.dbsize() == 1001 and c.get("k999") == "999" and c.get("after") == "on"
    # Off again: the log stops, the files stay.
    assert c.config_set("appendonly", "no")
    c.set("unlogged", "1")
    assert c.info("persistence")["aof_enabled"] == 0


def test_appendonly_yes_while_a_bgsave_runs(make):
    """The first base waits for the BGSAVE child; the writes made while it
    waits are in that base and must not be replayed a second time."""
    s = make("--save", "").start()
    c = s.client()
    c.mset({f"k{i}": "v" * 100 for i in range(200000)})
    c.bgsave()
    assert c.config_set("appendonly", "yes")
    for _ in range(50):
        c.incr("counter")
    wait_no_child(c)
    for _ in range(50):
        c.incr("counter")
    s.kill9()
    s.start(extra=("--appendonly", "yes"))
    assert s.client().get("counter") == "100"


def test_appendonly_yes_over_an_old_log_replaces_it(make):
    """A log left by an earlier run (started since with appendonly no) is
    replaced by the new one, never replayed in front of it."""
    s = make(*AOF).start()
    s.client().set("old", "1")
    s.stop()
    s.args = ["--save", ""]
    s.start()
    c = s.client()
    assert c.get("old") is None  # not loaded: appendonly is off
    c.set("new", "2")
    assert c.config_set("appendonly", "yes")
    wait_no_child(c)
    c.incr("n")
    s.kill9()
    s.args = list(AOF)
    s.start()
    c = s.client()
    assert (c.get("old"), c.get("new"), c.get("n")) == (None, "2", "1")
    assert [t for _, _, t in manifest(s.dir)] == ["b", "i"]
    assert manifest(s.dir)[0][1] == 2  # numbering went on from the old log


def test_appendfsync_can_change_at_runtime(make):
    s = make(*AOF).start()
    c = s.client()
    for policy in ("everysec", "no", "always"):
        assert c.config_set("appendfsync", policy)
        assert c.config_get("appendfsync") == {"appendfsync": policy}
        c.set("p", policy)
    s.kill9()
    s.start()
    assert s.client().get("p") == "always"


def test_aof_config_defaults(make):
    s = make("--save", "").start()
    c = s.client()
    want = {"appendfsync": "everysec", "appendfilename": "appendonly.aof",
            "appenddirname": "appendonlydir", "dbfilename": "dump.rdb",
            "aof-load-truncated": "yes", "auto-aof-rewrite-percentage": "100",
            "auto-aof-rewrite-min-size": "67108864", "stop-writes-on-bgsave-error": "yes"}
    for k, v in want.items():
        assert c.config_get(k) == {k: v}
    with pytest.raises(redis.ResponseError, match="dbfilename can't be a path"):
        c.config_set("dbfilename", "a/b.rdb")
    with pytest.raises(redis.ResponseError, match="immutable"):
        c.config_set("appendfilename", "x.aof")


# --- rewrites -------------------------------------------------------------------

def test_bgrewriteaof_replaces_the_files(make):
    s = make(*AOF).start()
    c = s.client()
    for i in range(200):
        c.set("same", i)  # a log much longer than the data
    before = manifest(s.dir)
    assert c.bgrewriteaof() in (True, "Background append only file rewriting started")
    wait_no_child(c)
    after = manifest(s.dir)
    assert after[0][2] == "b" and after[0][1] == before[0][1] + 1
    assert [t for _, _, t in after] == ["b", "i"]
    live = {n for n, _, _ in after}
    on_disk = {n for n in os.listdir(aof_dir(s.dir))}
    assert on_disk == live | {"appendonly.aof.manifest"}
    i = c.info("persistence")
    assert i["aof_rewrites"] == 1 and i["aof_last_bgrewrite_status"] == "ok"
    s.kill9()
    s.start()
    assert s.client().get("same") == "199"


def test_writes_during_rewrites_are_kept(make):
    s = make(*AOF).start()
    c = s.client()
    c.mset({f"pre{i}": i for i in range(50000)})
    for round_ in range(5):
        c.bgrewriteaof()
        for i in range(300):
            c.set(f"r{round_}:{i}", i)
        wait_no_child(c)
    s.kill9()
    s.start()
    c = s.client()
    assert c.dbsize() == 50000 + 5 * 300
    assert c.get("r4:299") == "299" and c.get("pre49999") == "49999"


def test_automatic_rewrite_on_growth(make):
    s = make(*AOF, "--auto-aof-rewrite-min-size", "10kb",
             "--auto-aof-rewrite-percentage", "100").start()
    c = s.client()
    for i in range(2000):
        c.set("k", "x" * 20)
    assert wait_for(lambda: c.info("persistence")["aof_rewrites"] >= 1, 10)
    wait_no_child(c)
    # 2000 entries of about 45 bytes were logged; the rewrites dropped most.
    assert c.info("persistence")["aof_current_size"] < 60000
    assert manifest(s.dir)[0][1] >= 2


def test_bgsave_and_rewrite_share_one_child(make):
    s = make(*AOF).start()
    c = s.client()
    c.mset({f"k{i}": "v" * 100 for i in range(100000)})
    c.bgrewriteaof()
    try:
        r = c.bgsave()
        # Finished before we asked: fine too.
        assert r in (True, "Background saving started")
    except redis.ResponseError as e:
        assert "Another child process is active (AOF?)" in str(e)
        assert c.execute_command("BGSAVE", "SCHEDULE") == "Background saving scheduled"
    wait_no_child(c)
    assert wait_for(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0
                    and c.info("persistence")["rdb_saves"] >= 1, 10)


# --- snapshots ------------------------------------------------------------------

def test_save_and_restart_from_the_snapshot(make):
    s = make("--save", "").start()
    c = s.client()
    c.set("a", "1")
    c.set("b", "2", ex=500)
    before = c.lastsave()
    time.sleep(1.1)
    assert c.save()
    assert c.lastsave() > before
    i = c.info("persistence")
    assert i["rdb_changes_since_last_save"] == 0 and i["rdb_saves"] == 1
    assert stat.S_IMODE(os.stat(os.path.join(s.dir, "dump.rdb")).st_mode) == 0o600
    c.set("unsaved", "x")
    s.kill9()
    s.start()
    c = s.client()
    assert c.get("a") == "1" and 490 < c.ttl("b") <= 500 and c.get("unsaved") is None


def test_snapshot_keeps_idle_time_under_lru(make):
    # Redis's RDB saves each key's idle time under an LRU policy, so a
    # restart does not make every key look just used.
    s = make("--save", "", "--maxmemory-policy", "allkeys-lru").start()
    c = s.client()
    c.set("old", "1")
    c.sadd("bigold", *range(1000))  # saved element by element
    time.sleep(2.2)
    c.set("new", "2")
    assert c.save()
    s.stop()
    s.start()
    c = s.client()
    assert c.object("idletime", "old") >= 2
    assert c.object("idletime", "bigold") >= 2
    assert c.object("idletime", "new") <= 1


def test_snapshot_keeps_lfu_counters(make):
    s = make("--save", "", "--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0").start()
    c = s.client()
    c.set("hot", "1")
    c.set("cold", "2")
    p = c.pipeline(transaction=False)
    for _ in range(100):
        p.get("hot")
    p.execute()
    hot = c.object("freq", "hot")
    assert hot > 100 and c.object("freq", "cold") <= 6
    assert c.save()
    s.stop()
    s.start()
    c = s.client()
    assert c.object("freq", "hot") >= hot - 1  # at most one decay step
    assert c.object("freq", "cold") <= 6


def test_bgsave(make):
    s = make("--save", "").start()
    c = s.client()
    c.mset({f"k{i}": i for i in range(10000)})
    assert c.info("stats")["total_forks"] == 0
    assert c.bgsave() in (True, "Background saving started")
    wait_no_child(c)
    stats = c.info("stats")
    assert stats["total_forks"] == 1 and stats["latest_fork_usec"] > 0
    i = c.info("persistence")
    assert i["rdb_last_bgsave_status"] == "ok" and i["rdb_changes_since_last_save"] == 0
    assert "Background saving terminated with success" in s.read_log()
    s.kill9()
    s.start()
    assert s.client().dbsize() == 10000


def test_save_point_triggers_a_bgsave(make):
    s = make("--save", "1 3").start()
    c = s.client()
    for i in range(3):
        c.set(f"k{i}", i)
    assert wait_for(lambda: c.info("persistence")["rdb_saves"] >= 1, 5)
    assert "3 changes in 1 seconds. Saving..." in s.read_log()


def test_shutdown_saves_with_save_points(make):
    s = make().start()  # the default save points
    s.client().set("k", "v")
    s.stop()
    assert os.path.exists(os.path.join(s.dir, "dump.rdb"))
    s.start()
    assert s.client().get("k") == "v"


def test_shutdown_nosave_does_not(make):
    s = make().start()
    c = s.client()
    c.set("k", "v")
    try:
        c.shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    assert s.wait_exit() == 0
    assert not os.path.exists(os.path.join(s.dir, "dump.rdb"))


def test_failed_bgsave_refuses_writes(make):
    s = make("--save", "").start()
    c = s.client()
    c.set("k", "v")
    # A directory where the snapshot goes: the rename fails, even as root.
    blocker = os.path.join(s.dir, "dump.rdb")
    os.makedirs(os.path.join(blocker, "x"))
    with pytest.raises(redis.ResponseError):
        c.save()  # a failed SAVE is only reported to its caller
    assert c.set("k1", "v")
    c.config_set("save", "3600 1")
    c.bgsave()
    assert wait_for(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "err", 10)
    with pytest.raises(redis.ResponseError, match="^MISCONF Redis is configured to save RDB"):
        c.set("k2", "v")
    assert c.get("k") == "v"  # reads are served
    os.rmdir(os.path.join(blocker, "x"))
    os.rmdir(blocker)
    c.bgsave()
    assert wait_for(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "ok", 10)
    assert c.set("k2", "v")
    # No temporary file is left behind by the failed saves.
    assert [n for n in os.listdir(s.dir) if n.startswith("temp-")] == []


# --- LOADING and INFO -----------------------------------------------------------

def test_loading_answers_loading_and_logs_progress(make):
    s = make("--appendonly", "yes", "--save", "").start()
    subprocess.run(["redis-benchmark", "-p", str(s.port), "-t", "set", "-n", "200000",
                    "-r", "100000000", "-d", "200", "-P", "64", "-q"],
                   check=True, capture_output=True, timeout=120)
    c = s.client()
    keys = c.dbsize()
    some = c.randomkey()
    value = c.get(some)
    s.kill9()
    s.start(wait=False)
    saw_loading = saw_info = False
    reload_refused = 0
    probe = s.client(socket_timeout=5)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            probe.get(some)
            break
        except redis.BusyLoadingError as e:
            assert str(e) == "Redis is loading the dataset in memory"
            saw_loading = True
            # DEBUG runs while loading, but not a reload of its own.  The
            # bad option makes one that comes just after the load ends
            # fail at once instead of reloading everything.
            try:
                probe.execute_command("DEBUG", "RELOAD", "NO-SUCH-OPTION")
            except redis.BusyLoadingError:
                reload_refused += 1
            except redis.ResponseError as e:
                assert "only supports" in str(e)
            i = probe.info("persistence")  # INFO works while loading
            if i["loading"] == 1:
                saw_info = "loading_loaded_perc" in i and i["loading_total_bytes"] > 0
        except redis.ConnectionError:
            time.sleep(0.005)
    assert saw_loading and saw_info and reload_refused
    assert probe.get(some) == value and probe.dbsize() == keys
    assert probe.info("persistence")["loading"] == 0
    log = s.read_log()
    assert "Loading " in log and "progress is logged every second" in log
    assert "DB loaded from append only file" in log and "MB/s" in log
    # A load longer than a second logs "Loading: N% (... MB/s), K keys" lines.


def test_info_persistence_fields(make):
    s = make(*AOF).start()
    i = s.client().info("persistence")
    for field in ("loading", "async_loading", "rdb_changes_since_last_save",
                  "rdb_bgsave_in_progress", "rdb_last_save_time", "rdb_last_bgsave_status",
                  "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec", "rdb_saves",
                  "aof_enabled", "aof_rewrite_in_progress", "aof_rewrite_scheduled",
                  "aof_last_rewrite_time_sec", "aof_current_rewrite_time_sec",
                  "aof_last_bgrewrite_status", "aof_rewrites", "aof_last_write_status",
                  "aof_current_size", "aof_base_size", "aof_pending_rewrite",
                  "aof_buffer_length", "aof_pending_bio_fsync", "aof_delayed_fsync"):
        assert field in i, field
    assert i["aof_enabled"] == 1 and i["loading"] == 0


# --- snapshots of every type and encoding -----------------------------------------

def fill_every_encoding(c):
    """Keys of every type in every encoding, some with a TTL, in three
    dbs.  Returns the expected OBJECT ENCODING of each (db, key)."""
    want = {}
    for db in (0, 7, 15):
        c.select(db)
        p = f"d{db}:"
        c.set(p + "int", 123456789)
        c.set(p + "emb", "hello")
        c.set(p + "raw", "r" * 100)
        c.set(p + "bin", b"\x00\xff\r\n binary")
        c.rpush(p + "lp-list", "a", "b", 1, 2)
        c.rpush(p + "ql-list", *[f"element-{i}" * 3 for i in range(2000)])
        c.sadd(p + "intset", 1, 2, 3, -70000, 2 ** 40)
        c.sadd(p + "lp-set", "a", "b", "c", 12)
        c.sadd(p + "ht-set", *[f"member-{i}" for i in range(300)])
        c.hset(p + "lp-hash", mapping={"f1": "v1", "f2": 2, "f3": ""})
        c.hset(p + "ht-hash", mapping={f"field-{i}": f"value-{i}" for i in range(600)})
        c.zadd(p + "lp-zset", {"a": 1, "b": 2.5, "c": -3, "d": float("inf")})
        c.zadd(p + "sl-zset", {f"m{i}": i / 7 for i in range(300)} | {"low": float("-inf")})
        c.expire(p + "raw", 1000)
        c.pexpire(p + "ht-hash", 2000000)
        c.expire(p + "lp-zset", 3000)
        for k, enc in (("int", "int"), ("emb", "embstr"), ("raw", "raw"), ("bin", "embstr"),
                       ("lp-list", "listpack"), ("ql-list", "quicklist"),
                       ("intset", "intset"), ("lp-set", "listpack"), ("ht-set", "hashtable"),
                       ("lp-hash", "listpack"), ("ht-hash", "hashtable"),
                       ("lp-zset", "listpack"), ("sl-zset", "skiplist")):
            want[(db, p + k)] = enc
    c.select(0)
    return want


def dump_value(c, key):
    t = c.type(key).decode()
    if t == "string":
        return c.get(key)
    if t == "list":
        return c.lrange(key, 0, -1)
    if t == "set":
        return sorted(c.smembers(key))
    if t == "hash":
        return c.hgetall(key)
    if t == "zset":
        return c.zrange(key, 0, -1, withscores=True)
    raise AssertionError(t)


def dump_all(c, want):
    """Type, value, encoding and TTL (to 10 s) of every key; c returns
    bytes."""
    out = {}
    for (db, key), enc in want.items():
        c.select(db)
        got_enc = c.object("encoding", key).decode()
        assert got_enc == enc, (db, key, got_enc, enc)
        ttl = c.pttl(key)
        out[(db, key)] = (c.type(key), dump_value(c, key), ttl if ttl < 0 else ttl // 10000)
    c.select(0)
    return out


@pytest.mark.parametrize("how", ["save", "bgsave", "rewrite"])
def test_every_type_and_encoding_survives(make, how):
    args = ("--appendonly", "yes", "--save", "") if how == "rewrite" else ("--save", "")
    s = make(*args).start()
    c = s.client(decode_responses=False)
    want = fill_every_encoding(c)
    before = dump_all(c, want)
    if how == "save":
        assert c.save()
    elif how == "bgsave":
        c.bgsave()
        wait_no_child(c)
    else:
        c.bgrewriteaof()
        wait_no_child(c)
        # Only the base holds the data now.
        assert os.path.getsize(incr_files(s.dir)[-1]) == 0
    s.kill9()
    s.start()
    c = s.client(decode_responses=False)
    assert dump_all(c, want) == before
    assert c.dbsize() == 13


# --- cairn-check ----------------------------------------------------------------

def cairn_check(*args, stdin=""):
    from conftest import cairn_binary
    tool = os.path.join(os.path.dirname(cairn_binary()), "cairn-check")
    return subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_cairn_check_finds_and_fixes_a_damaged_log(make):
    s = make(*AOF).start()
    c = s.client()
    for i in range(6):
        c.set(f"k{i}", "value")
    s.stop()
    r = cairn_check(s.dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK (log, 6 entries" in r.stdout and "OK (snapshot" in r.stdout
    incr = incr_files(s.dir)[-1]
    off, size = entries(incr)[3]
    with open(incr, "r+b") as f:
        f.seek(off + size - 1)
        f.write(b"!")
    r = cairn_check(s.dir)
    assert r.returncode == 1
    assert f"first bad offset {off} " in r.stdout and "checksum mismatch" in r.stdout
    # --fix asks first; "n" leaves the file alone.
    r = cairn_check("--fix", s.dir, stdin="n\n")
    assert r.returncode == 1 and "Continue? [y/N]" in r.stdout and "Not fixed" in r.stdout
    assert os.path.getsize(incr) > off
    r = cairn_check("--fix", s.dir, stdin="y\n")
    assert r.returncode == 0 and f"now ends at offset {off}" in r.stdout
    assert os.path.getsize(incr) == off
    assert cairn_check(s.dir).returncode == 0
    s.start()
    c = s.client()
    assert [c.get(f"k{i}") for i in range(6)] == ["value"] * 3 + [None] * 3


def test_cairn_check_fixes_a_torn_tail_with_yes(make):
    s = make(*AOF).start()
    s.client().set("k", "v")
    s.stop()
    incr = incr_files(s.dir)[-1]
    good = os.path.getsize(incr)
    with open(incr, "ab") as f:
        f.write(b"\xca\x01\x30\x00\x00")
    r = cairn_check(incr)
    assert r.returncode == 1 and "torn write" in r.stdout
    r = cairn_check("--fix", "--yes", os.path.join(aof_dir(s.dir), "appendonly.aof.manifest"))
    assert r.returncode == 0 and os.path.getsize(incr) == good


def test_cairn_check_never_cuts_a_snapshot(make):
    s = make("--save", "").start()
    s.client().set("k", "v" * 100)
    s.client().save()
    s.stop()
    rdb = os.path.join(s.dir, "dump.rdb")
    assert cairn_check(rdb).returncode == 0
    size = os.path.getsize(rdb)
    with open(rdb, "r+b") as f:
        f.seek(size - 3)
        f.write(b"\xff")
    r = cairn_check("--fix", "--yes", s.dir)
    assert r.returncode == 1 and "restore it from a backup" in r.stdout
    assert os.path.getsize(rdb) == size
    assert cairn_check("/nonexistent/path").returncode == 2
