"""REPLICAOF against a real redis-server master: the server under test (a
Cairn, or with CAIRN_TEST_SERVER=redis a redis-server) replicates a
redis-server master under write load and ends with the same dataset,
compared key by key (type, value, absolute expiry)."""
import random
import subprocess
import threading
import time

import pytest
import redis

from conftest import RawConn, Server, free_port
from durable import DurableServer, wait_for

DBS = 3


def master(*args):
    """A redis-server master (quick to start a sync)."""
    return Server(["--repl-diskless-sync-delay", "0"] + list(args), is_redis=True)


def info(c, section="replication"):
    return c.info(section)


def get_while_loading(c, key):
    """GET, or None while the replica loads the master's dataset (-LOADING)."""
    try:
        return c.get(key)
    except redis.BusyLoadingError:
        return None


def wait_synced(m, r, timeout=60, **master_kw):
    """Until the replica's link is up and it applied all the master sent."""
    cm, cr = m.client(**master_kw), r.client()

    def synced():
        ir, im = info(cr), info(cm)
        return (ir.get("master_link_status") == "up"
                and im.get("slave0", {}).get("state") == "online"
                and ir.get("slave_repl_offset") == im["master_repl_offset"])
    assert wait_for(synced, timeout=timeout, interval=0.05)
    cm.close()
    cr.close()


def writer(port, seed, stop, counts, flushall_at=None):
    """Random writes of every type into dbs 0..DBS-1 until stop is set."""
    rnd = random.Random(seed)
    cs = [redis.Redis(port=port, db=d, decode_responses=True) for d in range(DBS)]
    n = 0
    script = "redis.call('incr', KEYS[1]); redis.call('rpush', KEYS[2], ARGV[1]); return 1"
    while not stop.is_set():
        c = rnd.choice(cs)
        k = "k%d" % rnd.randrange(300)
        op = rnd.randrange(20)
        try:
            if flushall_at is not None and n == flushall_at:
                c.flushall()
            elif op == 0:
                c.set("s" + k, rnd.randrange(10 ** 6))
            elif op == 1:
                c.set("s" + k, "v" * rnd.randrange(1, 200), ex=rnd.choice([1, 1000]))
            elif op == 2:
                c.incrbyfloat("f" + k, 1.25)
            elif op == 3:
                c.rpush("l" + k, *[rnd.randrange(100) for _ in range(rnd.randrange(1, 5))])
            elif op == 4:
                c.lpop("l" + k)
            elif op == 5:
                c.hset("h" + k, "f%d" % rnd.randrange(20), rnd.random())
            elif op == 6:
                c.hincrbyfloat("h" + k, "n", 0.5)
            elif op == 7:
                c.sadd("t" + k, *[rnd.randrange(50) for _ in range(3)])
            elif op == 8:
                c.spop("t" + k)
            elif op == 9:
                c.zadd("z" + k, {"m%d" % rnd.randrange(30): rnd.random() * 100})
            elif op == 10:
                c.zincrby("z" + k, 2.5, "m1")
            elif op == 11:
                c.pexpire("s" + k, rnd.choice([300, 10 ** 6]))
            elif op == 12:
                p = c.pipeline(transaction=True)
                p.incr("c" + k).lpush("l" + k, "tx").hset("h" + k, "tx", n).execute()
            elif op == 13:
                c.delete("s" + k, "l" + k)
            elif op == 14:
                c.eval(script, 2, "c" + k, "l" + k, n)
            elif op == 15:
                c.zpopmin("z" + k)
            elif op == 16:
                c.append("s" + k, "x")
            elif op == 17:
                c.lmove("l" + k, "l" + k + "b", "LEFT", "RIGHT")
            elif op == 18:
                c.getex("s" + k, px=rnd.choice([200, 10 ** 6]))
            else:
                c.hdel("h" + k, "f%d" % rnd.randrange(20))
        except redis.ResponseError:
            pass  # WRONGTYPE and the like: the same on both sides
        except redis.ConnectionError:
            break  # the master went away: the test has failed already
        n += 1
    counts.append(n)
    for c in cs:
        c.close()


class Load:
    """Writers running against the master in threads."""

    def __init__(self, port, writers=2, flushall_at=None):
        self.stop_ev = threading.Event()
        self.counts = []
        self.threads = [threading.Thread(target=writer, args=(port, i, self.stop_ev, self.counts,
                                                              flushall_at if i == 0 else None))
                        for i in range(writers)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)
        return sum(self.counts)


READ_BY_TYPE = {
    "string": lambda p, k: p.get(k),
    "list": lambda p, k: p.lrange(k, 0, -1),
    "hash": lambda p, k: p.hgetall(k),
    "set": lambda p, k: p.smembers(k),
    "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
}


def values(c, keys):
    """(type, value, PEXPIRETIME) of each key, in two pipelined rounds:
    one read at a time takes most of a minute for tens of thousands."""
    p = c.pipeline(transaction=False)
    for k in keys:
        p.type(k)
    types = p.execute()
    for k, t in zip(keys, types):
        READ_BY_TYPE.get(t, lambda p, k: p.echo(""))(p, k)
        p.execute_command("PEXPIRETIME", k)
    got = p.execute()
    out = []
    for i, t in enumerate(types):
        v = got[2 * i] if t in READ_BY_TYPE else None
        out.append((t, sorted(v) if t == "set" else v, got[2 * i + 1]))
    return out


def settle_expiries(m):
    """Let the master delete the keys whose time passed (each read of one
    deletes it and replicates the DEL), so both sides hold live keys only."""
    time.sleep(1.2)
    for d in range(DBS):
        c = m.client(db=d)
        p = c.pipeline(transaction=False)
        for k in c.keys("*"):
            p.exists(k)
        p.execute()
        c.close()


def compare(m, r):
    settle_expiries(m)
    wait_synced(m, r)
    total = 0
    for d in range(DBS):
        cm, cr = m.client(db=d), r.client(db=d)
        km, kr = sorted(cm.keys("*")), sorted(cr.keys("*"))
        assert km == kr, (d, set(km) ^ set(kr))
        for k, vm, vr in zip(km, values(cm, km), values(cr, kr)):
            assert vm == vr, (d, k)
        total += len(km)
        cm.close()
        cr.close()
    return total


def start_replica(*args):
    return Server(list(args))


def stop(*servers):
    """Stop servers; one that crashed (or, under the sanitizers, reported
    an error at exit) fails the test."""
    rcs = [s.stop() for s in servers]
    assert all(rc in (0, -15) for rc in rcs), rcs


def test_full_sync_then_stream_under_load():
    m = master("--repl-diskless-sync", "no")
    r = start_replica()
    try:
        cm = m.client()
        for d in range(DBS):
            c = m.client(db=d)
            c.mset({"pre%d" % i: i for i in range(2000)})
            c.close()
        load = Load(m.port, flushall_at=50)
        time.sleep(0.5)
        assert r.client().replicaof("127.0.0.1", m.port)
        time.sleep(3)
        ops = load.stop()
        assert ops > 100
        wait_synced(m, r)
        assert compare(m, r) > 0
        assert cm.info("stats")["sync_full"] == 1
    finally:
        stop(r, m)


def test_diskless_master():
    m = master("--repl-diskless-sync", "yes")
    r = start_replica()
    try:
        cm = m.client()
        p = cm.pipeline(transaction=False)
        for i in range(20000):
            p.set("key:%d" % i, "x" * (i % 100))
            if i % 3 == 0:
                p.hset("hash:%d" % (i % 500), "f%d" % i, i)
        p.execute()
        load = Load(m.port)
        r.client().replicaof("127.0.0.1", m.port)
        time.sleep(2)
        load.stop()
        assert compare(m, r) > 20000
    finally:
        stop(r, m)


def test_info_role_and_read_only():
    m = master()
    r = start_replica()
    try:
        c = r.client()
        c.set("mine", "1")
        m.client().set("theirs", "2")
        with pytest.raises(redis.ResponseError, match="FAILOVER requires connected replicas"):
            c.execute_command("FAILOVER")
        assert c.replicaof("127.0.0.1", m.port)
        wait_synced(m, r)
        assert c.get("mine") is None and c.get("theirs") == "2"
        i = info(c)
        assert i["role"] == "slave"
        assert i["master_host"] == "127.0.0.1" and i["master_port"] == m.port
        assert i["master_link_status"] == "up"
        assert i["master_sync_in_progress"] == 0
        assert i["master_last_io_seconds_ago"] >= 0
        assert i["slave_read_only"] == 1
        assert i["master_replid"] == info(m.client())["master_replid"]
        role = c.execute_command("ROLE")
        assert role[:4] == ["slave", "127.0.0.1", m.port, "connected"]
        assert role[4] == i["slave_repl_offset"]
        with pytest.raises(redis.ResponseError) as e:
            c.set("x", "1")
        assert str(e.value) == "You can't write against a read only replica."
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("WAIT", 1, 0)
        assert "WAIT cannot be used with replica instances" in str(e.value)
        with pytest.raises(redis.ResponseError, match="FAILOVER is not valid when server is a "):
            c.execute_command("FAILOVER")
        assert c.execute_command("REPLICAOF", "127.0.0.1", m.port) == \
            "OK Already connected to specified master"
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("REPLICAOF", "127.0.0.1", "notaport")
        assert str(e.value) == "Invalid master port"
        c.config_set("replica-read-only", "no")
        assert c.set("x", "1")
        slaves = info(m.client())
        assert slaves["connected_slaves"] == 1
        assert slaves["slave0"]["port"] == r.port and slaves["slave0"]["state"] == "online"
        # SLAVEOF is the same command; NO ONE makes a master again.
        assert c.execute_command("SLAVEOF", "NO", "ONE")
        assert info(c)["role"] == "master"
        assert c.execute_command("ROLE")[0] == "master"
    finally:
        stop(r, m)


def test_partial_resync_after_link_loss():
    # A backlog that holds what is written while the link is down.
    m = master("--repl-backlog-size", "64mb")
    r = start_replica()
    try:
        cm = m.client()
        r.client().replicaof("127.0.0.1", m.port)
        wait_synced(m, r)
        load = Load(m.port)
        time.sleep(0.5)
        # The master drops the replica's link; the replica comes back and
        # continues from its offset.
        cm.client_kill_filter(_type="slave")
        time.sleep(1.5)
        load.stop()
        wait_synced(m, r)
        st = cm.info("stats")
        assert st["sync_partial_ok"] >= 1
        assert st["sync_full"] == 1
        compare(m, r)
    finally:
        stop(r, m)


def restart_redis(s, *args):
    """Stop a redis-server and start it again on its port and directory."""
    s.proc.terminate()
    s.proc.wait(10)
    argv = ["redis-server", "--port", str(s.port), "--bind", s.host, "--save", "",
            "--appendonly", "no", "--dir", s.dir, "--daemonize", "no"] + list(args)
    s.proc = subprocess.Popen(argv, stdout=s.log, stderr=subprocess.STDOUT)
    s._wait_ready()


def test_master_restart_full_resync():
    m = master()
    r = start_replica()
    try:
        cm = m.client()
        cm.mset({"a": 1, "b": 2})
        r.client().replicaof("127.0.0.1", m.port)
        wait_synced(m, r)
        cm.set("c", 3)
        assert wait_for(lambda: cm.info("persistence")["rdb_bgsave_in_progress"] == 0)
        cm.save()
        cm.close()
        restart_redis(m, "--repl-diskless-sync-delay", "0")
        cm = m.client()
        cm.set("after", "restart")
        cm.delete("a")
        load = Load(m.port)
        time.sleep(1)
        load.stop()
        wait_synced(m, r, timeout=60)
        assert r.client().get("after") == "restart"
        assert r.client().get("a") is None and r.client().get("c") == "3"
        compare(m, r)
    finally:
        stop(r, m)


def test_masterauth_and_masteruser():
    m = master("--requirepass", "secret")
    r = start_replica("--masterauth", "wrong")
    try:
        cm = m.client(password="secret")
        cm.set("k", "v")
        c = r.client()
        c.replicaof("127.0.0.1", m.port)
        time.sleep(1.5)
        assert info(c)["master_link_status"] == "down"
        c.config_set("masterauth", "secret")
        wait_synced(m, r, password="secret")
        assert c.get("k") == "v"
        c.replicaof("no", "one")
        # An ACL user with just what a replica needs.
        cm.acl_setuser("repl", enabled=True, passwords=["+replpw"],
                       commands=["+psync", "+replconf", "+ping"])
        c.flushall()
        c.config_set("masteruser", "repl")
        c.config_set("masterauth", "replpw")
        cm.set("k2", "v2")
        c.replicaof("127.0.0.1", m.port)
        assert wait_for(lambda: get_while_loading(c, "k2") == "v2", timeout=30)
    finally:
        stop(r, m)


def test_cut_over_with_replicaof_no_one():
    m = master()
    r = start_replica()
    try:
        cm = m.client()
        load = Load(m.port)
        c = r.client()
        c.replicaof("127.0.0.1", m.port)
        time.sleep(1.5)
        load.stop()
        n = compare(m, r)
        assert c.replicaof("NO", "ONE")
        assert info(c)["role"] == "master"
        assert c.set("written", "after cut-over")
        cm.set("late", "1")
        time.sleep(0.5)
        assert c.get("late") is None
        total = sum(c.dbsize() for c in [r.client(db=d) for d in range(DBS)])
        assert total == n + 1
    finally:
        stop(r, m)


def test_replicaof_directive():
    m = master()
    try:
        m.client().set("from", "config")
        r = start_replica("--replicaof", "127.0.0.1", str(m.port))
        try:
            c = r.client()
            wait_synced(m, r)
            assert c.get("from") == "config"
            assert c.config_get("replicaof") == {"replicaof": "127.0.0.1 %d" % m.port}
            c.replicaof("no", "one")
            assert c.config_get("replicaof") == {"replicaof": ""}
        finally:
            stop(r)
    finally:
        stop(m)


@pytest.mark.cairn_only
def test_replicaof_refused_with_raft():
    s = Server(["--raft-id", "1", "--raft-peers", "1@127.0.0.1:%d" % free_port()])
    try:
        with pytest.raises(redis.ResponseError) as e:
            s.client().replicaof("127.0.0.1", 6379)
        assert "Raft" in str(e.value)
    finally:
        stop(s)


@pytest.mark.cairn_only
def test_replicated_writes_are_logged(tmp_path):
    """The stream is logged like client writes: a replica with the
    append-only log, cut over and restarted, has the master's data."""
    m = master()
    d = DurableServer(tmp_path / "replica", "--appendonly", "yes")
    try:
        cm = m.client()
        cm.mset({"x%d" % i: i for i in range(100)})
        d.start()
        c = d.client()
        c.replicaof("127.0.0.1", m.port)
        assert wait_for(lambda: info(c)["master_link_status"] == "up", timeout=30)
        load = Load(m.port)
        time.sleep(1.5)
        load.stop()
        n = compare(m, _Addr(d))
        c.replicaof("no", "one")
        c.close()
        assert d.stop() in (0, -15)
        d.start()
        c = d.client()
        assert sum(d.client(db=i).dbsize() for i in range(DBS)) == n
        for db in range(DBS):
            a, b = m.client(db=db), d.client(db=db)
            keys = a.keys("*")
            for k, va, vb in zip(keys, values(a, keys), values(b, keys)):
                assert va == vb, (db, k)
    finally:
        assert d.stop() in (0, -15, None)
        stop(m)


class _Addr:
    """A DurableServer seen as compare() sees a Server."""

    def __init__(self, d):
        self.d = d

    def client(self, **kw):
        return self.d.client(**kw)


LIB = ("#!lua name=lib\n"
       "redis.register_function('bump', function(keys) return redis.call('incrby', keys[1], 10) end)\n"
       "redis.register_function{function_name='peek', flags={'no-writes'},\n"
       "  callback=function(keys) return redis.call('get', keys[1]) end}")


def test_script_writes_refused_on_a_replica():
    """A read-only replica runs a script that may write (EVAL without a
    shebang) and refuses its writes with Redis's error, so its dataset
    stays its master's; a script that declares writes (a shebang without
    no-writes, a function without it) is refused before it runs."""
    m = master()
    r = start_replica()
    try:
        cm, c = m.client(), r.client()
        cm.set("k", "v")
        cm.function_load(LIB)
        assert c.replicaof("127.0.0.1", m.port)
        wait_synced(m, r)
        ro = "You can't write against a read only replica."
        with pytest.raises(redis.exceptions.ReadOnlyError) as e:
            c.eval("return redis.call('set', KEYS[1], 'x')", 1, "k")
        assert str(e.value).startswith(ro + " script: ")
        with pytest.raises(redis.exceptions.ReadOnlyError) as e:
            c.eval("return redis.pcall('set', KEYS[1], 'x')", 1, "k")
        assert str(e.value) == ro
        assert c.eval("redis.pcall('del', KEYS[1]) return redis.call('get', KEYS[1])", 1,
                      "k") == "v"
        for run in (lambda: c.eval("#!lua\nreturn redis.call('set', KEYS[1], 'x')", 1, "k"),
                    lambda: c.fcall("bump", 1, "k")):
            with pytest.raises(redis.exceptions.ReadOnlyError) as e:
                run()
            assert str(e.value) == ro
        assert c.fcall("peek", 1, "k") == "v"
        assert c.eval_ro("return redis.call('get', KEYS[1])", 1, "k") == "v"
        p = c.pipeline()
        p.eval("return redis.call('set', KEYS[1], 'x')", 1, "k").get("k")
        with pytest.raises(redis.exceptions.ReadOnlyError):
            p.execute()
        assert c.get("k") == "v"
        assert compare(m, r) == 1
    finally:
        stop(r, m)


UNBLOCKED = b"-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"


def test_replicaof_disconnects_blocked_clients():
    """A master turned replica tells every client blocked in it (a pop, a
    stream read, WAIT) and closes it, pipelined commands unrun (Redis's
    disconnectAllBlockedClients); REPLICAOF NO ONE, or of the master it
    already follows, leaves them waiting, while REPLICAOF of another
    master disconnects them again."""
    m, other = master(), master()
    r = start_replica()
    conns = []
    try:
        def blocked(*cmds):
            conn = RawConn(r)
            for cmd in cmds:
                conn.cmd(*cmd)
            conns.append(conn)
            return conn

        def wait_blocked(n):
            with r.client() as c:
                assert wait_for(lambda: c.info("clients")["blocked_clients"] == n), n

        pop = blocked(("BLPOP", "l", "0"), ("SET", "after", "1"))
        read = blocked(("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
        wait = blocked(("SET", "k", "v"), ("WAIT", "1", "0"))
        assert wait.read_reply() == ("+", "OK")
        wait_blocked(3)
        c = r.client()
        assert c.replicaof("no", "one")
        assert c.replicaof("127.0.0.1", m.port)
        for conn in (pop, read, wait):
            assert conn.read_line() == UNBLOCKED
            assert conn.closed_by_peer() and conn.buf == b""
        wait_blocked(0)
        wait_synced(m, r)
        assert c.get("after") is None
        assert c.get("k") is None  # the master's dataset
        # a replica's blocked reader: REPLICAOF of its master or NO ONE
        # leave it be, another master ends it
        read = blocked(("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
        wait_blocked(1)
        assert c.execute_command("REPLICAOF", "127.0.0.1", m.port) == \
            "OK Already connected to specified master"
        time.sleep(0.2)
        wait_blocked(1)
        assert c.replicaof("127.0.0.1", other.port)
        assert read.read_line() == UNBLOCKED
        assert read.closed_by_peer()
        read = blocked(("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
        wait_blocked(1)
        assert c.replicaof("no", "one")
        time.sleep(0.2)
        wait_blocked(1)
        c.xadd("s", {"f": "v"})
        assert read.read_reply()[0] == "*"
        c.close()
    finally:
        for conn in conns:
            conn.sock.close()
        stop(r, m, other)
