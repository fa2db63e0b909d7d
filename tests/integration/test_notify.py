"""Keyspace notifications (notify-keyspace-events): Redis's flag letters,
__keyspace@<db>__:<key> and __keyevent@<db>__:<event> channels, and the
events each command family sends, in Redis 7.0's order.  Runs against
redis-server too (CAIRN_TEST_SERVER=redis)."""
import time

import pytest

SENTINEL = "notify-test-sentinel"


class Listener:
    """A raw connection subscribed to every keyevent channel and a
    sentinel channel: events() returns the (event, key, db) triples that
    arrived before the sentinel."""

    def __init__(self, raw, r, pattern="__keyevent@*__:*"):
        self.conn = raw()
        self.r = r
        self.conn.cmd("PSUBSCRIBE", pattern)
        self.conn.read_reply()
        self.conn.cmd("SUBSCRIBE", SENTINEL)
        self.conn.read_reply()

    def messages(self):
        self.r.publish(SENTINEL, "end")
        out = []
        while True:
            t, items = self.conn.read_reply()
            kind = items[0][1]
            if kind == b"message":
                return out
            out.append((items[2][1].decode(), items[3][1].decode()))

    def events(self):
        got = []
        for channel, msg in self.messages():
            prefix, event = channel.split("__:", 1)
            db = int(prefix.split("@")[1])
            got.append((event, msg, db))
        return got


@pytest.fixture
def notify(r):
    r.config_set("notify-keyspace-events", "KEA")
    yield r
    r.config_set("notify-keyspace-events", "")


def run(r, *cmds):
    for cmd in cmds:
        r.execute_command(*cmd)


def ev(*pairs, db=0):
    return [(e, k, db) for e, k in pairs]


def test_flags_config_round_trip(r):
    try:
        for given, shown in [("KEA", "AKE"), ("Elg", "glE"), ("Kx", "xK"),
                             ("g$lshzxetd", "A"), ("E", "E"), ("Kd", "dK"),
                             ("KEt", "tKE"), ("AKEm", "AKEm"), ("", "")]:
            r.config_set("notify-keyspace-events", given)
            assert r.config_get("notify-keyspace-events")["notify-keyspace-events"] == shown
        with pytest.raises(Exception, match="Invalid event class character. "
                                            "Use 'Ag\\$lshzxeKEtmdn'."):
            r.config_set("notify-keyspace-events", "Kq")
    finally:
        r.config_set("notify-keyspace-events", "")


def test_nothing_when_off(r, raw):
    r.config_set("notify-keyspace-events", "")
    lis = Listener(raw, r)
    run(r, ("SET", "k", "v"), ("DEL", "k"), ("LPUSH", "l", "a"))
    assert lis.events() == []


def test_keyspace_and_keyevent_channels(notify, raw):
    lis = Listener(raw, notify, "__key*@*__:*")
    notify.set("chan-key", "v")
    assert lis.messages() == [("__keyspace@0__:chan-key", "set"),
                              ("__keyevent@0__:set", "chan-key")]
    notify.config_set("notify-keyspace-events", "K$")
    notify.set("chan-key", "v")
    assert lis.messages() == [("__keyspace@0__:chan-key", "set")]
    notify.config_set("notify-keyspace-events", "E$")
    notify.set("chan-key", "v")
    notify.delete("chan-key")  # generic events are off
    assert lis.messages() == [("__keyevent@0__:set", "chan-key")]


def test_class_filter(notify, raw):
    notify.config_set("notify-keyspace-events", "El")
    lis = Listener(raw, notify)
    run(notify, ("SET", "s", "v"), ("LPUSH", "l", "a"), ("SADD", "st", "m"), ("DEL", "l"))
    assert lis.events() == ev(("lpush", "l"))


def test_string_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("SET", "k", "v"), ("SET", "k", "v", "EX", "100"), ("SETNX", "k", "x"),
        ("SETEX", "k", "100", "v"), ("MSET", "a", "1", "b", "2"), ("APPEND", "k", "x"),
        ("SETRANGE", "k", "0", "y"), ("INCR", "n"), ("INCRBY", "n", "5"), ("DECR", "n"),
        ("INCRBYFLOAT", "f", "1.5"), ("GETSET", "k", "z"), ("GETEX", "k", "EX", "100"),
        ("GETEX", "k", "PERSIST"), ("GETDEL", "k"), ("GETDEL", "k"))
    assert lis.events() == ev(
        ("set", "k"), ("set", "k"), ("expire", "k"), ("set", "k"), ("expire", "k"),
        ("set", "a"), ("set", "b"), ("append", "k"), ("setrange", "k"), ("incrby", "n"),
        ("incrby", "n"), ("incrby", "n"), ("incrbyfloat", "f"), ("set", "k"), ("expire", "k"),
        ("persist", "k"), ("del", "k"))


def test_generic_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("MSET", "a", "1", "b", "2", "c", "3"))
    lis.events()
    run(notify, ("DEL", "a", "nosuch", "b"), ("EXPIRE", "c", "100"), ("PERSIST", "c"),
        ("PERSIST", "c"), ("RENAME", "c", "d"), ("COPY", "d", "e"), ("MOVE", "e", "1"),
        ("EXPIRE", "d", "-1"))
    assert lis.events() == [
        ("del", "a", 0), ("del", "b", 0), ("expire", "c", 0), ("persist", "c", 0),
        ("rename_from", "c", 0), ("rename_to", "d", 0), ("copy_to", "e", 0),
        ("move_from", "e", 0), ("move_to", "e", 1), ("del", "d", 0)]
    notify.execute_command("SELECT", "0")


def test_list_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("RPUSH", "l", "a", "b", "c", "d"), ("LPUSH", "l", "z"), ("LPOP", "l"),
        ("RPOP", "l"), ("LINSERT", "l", "BEFORE", "b", "x"), ("LSET", "l", "0", "y"),
        ("LREM", "l", "0", "x"), ("LTRIM", "l", "0", "0"), ("LMOVE", "l", "m", "LEFT", "RIGHT"),
        ("RPUSH", "m", "q"), ("RPOPLPUSH", "m", "m"), ("LPOP", "m", "5"))
    assert lis.events() == ev(
        ("rpush", "l"), ("lpush", "l"), ("lpop", "l"), ("rpop", "l"), ("linsert", "l"),
        ("lset", "l"), ("lrem", "l"), ("ltrim", "l"), ("rpush", "m"), ("lpop", "l"),
        ("del", "l"), ("rpush", "m"), ("lpush", "m"), ("rpop", "m"), ("lpop", "m"),
        ("del", "m"))


def test_hash_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("HSET", "h", "f", "v", "g", "w"), ("HSETNX", "h", "f", "x"),
        ("HSETNX", "h", "n", "x"), ("HINCRBY", "h", "i", "1"),
        ("HINCRBYFLOAT", "h", "j", "1.5"), ("HDEL", "h", "nosuch"), ("HDEL", "h", "f", "g"),
        ("HDEL", "h", "n", "i", "j"))
    assert lis.events() == ev(
        ("hset", "h"), ("hset", "h"), ("hincrby", "h"), ("hincrbyfloat", "h"),
        ("hdel", "h"), ("hdel", "h"), ("del", "h"))


def test_set_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "a"),
        ("SMOVE", "s", "t", "b"), ("SADD", "u", "c"), ("SINTERSTORE", "i", "s", "u"),
        ("SUNIONSTORE", "un", "s", "t"), ("SDIFFSTORE", "i", "s", "u"), ("SPOP", "s"),
        ("SPOP", "un", "5"))
    assert lis.events() == ev(
        ("sadd", "s"), ("srem", "s"), ("srem", "s"), ("sadd", "t"), ("sadd", "u"),
        ("sinterstore", "i"), ("sunionstore", "un"), ("del", "i"), ("spop", "s"),
        ("del", "s"), ("spop", "un"), ("del", "un"))


def test_zset_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZADD", "z", "1", "a"),
        ("ZINCRBY", "z", "1", "a"), ("ZADD", "z", "INCR", "1", "a"), ("ZREM", "z", "nosuch"),
        ("ZREM", "z", "a"), ("ZREMRANGEBYSCORE", "z", "2", "2"),
        ("ZREMRANGEBYRANK", "z", "5", "9"), ("ZUNIONSTORE", "u", "1", "z"),
        ("ZRANGESTORE", "r", "z", "0", "0"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z"),
        ("ZINTERSTORE", "u", "1", "nosuch"))
    assert lis.events() == ev(
        ("zadd", "z"), ("zincr", "z"), ("zincr", "z"), ("zrem", "z"),
        ("zremrangebyscore", "z"), ("zunionstore", "u"), ("zrangestore", "r"),
        ("zpopmin", "z"), ("zpopmax", "z"), ("del", "z"), ("del", "u"))


def test_sort_store_events(notify, raw):
    notify.rpush("src", 3, 1, 2)
    lis = Listener(raw, notify)
    run(notify, ("SORT", "src", "STORE", "dst"), ("SORT", "nosuch", "STORE", "dst"))
    assert lis.events() == ev(("sortstore", "dst"), ("del", "dst"))


def test_blocking_pop_events(notify, raw):
    lis = Listener(raw, notify)
    blocker = raw()
    blocker.cmd("BLPOP", "bl", "5")
    time.sleep(0.1)
    notify.rpush("bl", "x")
    assert blocker.read_reply()[0] == "*"
    assert lis.events() == ev(("rpush", "bl"), ("lpop", "bl"), ("del", "bl"))


def test_new_and_keymiss_events(notify, raw):
    notify.config_set("notify-keyspace-events", "KEA")
    lis = Listener(raw, notify)
    notify.set("plain", "v")
    assert lis.events() == ev(("set", "plain"))
    notify.config_set("notify-keyspace-events", "En$m")
    notify.set("fresh", "v")
    notify.set("fresh", "w")
    notify.get("missing")
    assert lis.events() == ev(("new", "fresh"), ("set", "fresh"), ("set", "fresh"),
                              ("keymiss", "missing"))


def test_expired_event_when_deleted(notify, raw):
    notify.config_set("notify-keyspace-events", "Ex")
    lis = Listener(raw, notify)
    notify.set("short", "v", px=50)
    notify.set("lazy", "v", px=50)
    time.sleep(0.2)
    assert notify.get("lazy") is None  # deleted on access
    deadline = time.time() + 5
    got = []
    while time.time() < deadline and len(got) < 2:
        got += lis.events()  # "short" goes by active expiry
        time.sleep(0.05)
    assert sorted(got) == [("expired", "lazy", 0), ("expired", "short", 0)]


def test_evicted_event(server_factory, raw):
    from conftest import RawConn
    srv = server_factory()
    r = srv.client()
    r.config_set("notify-keyspace-events", "Ee")
    conn = RawConn(srv)
    conn.cmd("SUBSCRIBE", "__keyevent@0__:evicted")
    conn.read_reply()
    used = r.info("memory")["used_memory"]
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory", used + 512 * 1024)
    for i in range(200):
        r.set(f"big{i}", "x" * 10000)
    t, items = conn.read_reply()
    assert items[0][1] == b"message"
    assert items[2][1].startswith(b"big")
    conn.close()


def test_bit_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("SETBIT", "b", "7", "1"), ("BITFIELD", "b", "SET", "u8", "0", "255"),
        ("BITFIELD", "b", "GET", "u8", "0"), ("BITOP", "OR", "d", "b"),
        ("BITOP", "OR", "d", "nosuch"))
    assert lis.events() == ev(("setbit", "b"), ("setbit", "b"), ("set", "d"), ("del", "d"))


def test_hyperloglog_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("PFADD", "h1", "a", "b"), ("PFADD", "h1", "a"), ("PFCOUNT", "h1"),
        ("PFMERGE", "h2", "h1"))
    assert lis.events() == ev(("pfadd", "h1"), ("pfadd", "h2"))


def test_geo_events(notify, raw):
    lis = Listener(raw, notify)
    w = raw()  # redis-py's reply callbacks for GEO* need options it was not given
    for cmd in [("GEOADD", "g", "13.361389", "38.115556", "Palermo"),
                ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),
                ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
                ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gr"),
                ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")]:
        w.cmd(*cmd)
        assert w.read_reply()[0] == ":"
    assert lis.events() == ev(("zadd", "g"), ("geosearchstore", "gs"), ("georadiusstore", "gr"),
                              ("del", "gs"))


def test_stream_events(notify, raw):
    lis = Listener(raw, notify)
    run(notify, ("XADD", "s", "1-0", "f", "v"), ("XADD", "s", "MAXLEN", "1", "2-0", "f", "v"),
        ("XDEL", "s", "2-0"), ("XDEL", "s", "2-0"), ("XSETID", "s", "5-0"),
        ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATECONSUMER", "s", "g", "c"),
        ("XGROUP", "SETID", "s", "g", "0"), ("XADD", "s", "6-0", "f", "v"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c"), ("XGROUP", "DESTROY", "s", "g"),
        ("XTRIM", "s", "MAXLEN", "0"))
    assert lis.events() == ev(
        ("xadd", "s"), ("xadd", "s"), ("xtrim", "s"), ("xdel", "s"), ("xsetid", "s"),
        ("xgroup-create", "s"), ("xgroup-createconsumer", "s"), ("xgroup-setid", "s"),
        ("xadd", "s"), ("xgroup-createconsumer", "s"), ("xgroup-delconsumer", "s"),
        ("xgroup-destroy", "s"), ("xtrim", "s"))


def test_claim_creating_a_consumer_is_an_event(notify, raw):
    # XCLAIM and XAUTOCLAIM create the consumer they name when it is new,
    # and say so as XGROUP CREATECONSUMER does; an existing one is quiet.
    notify.xgroup_create("s", "g", "$", mkstream=True)
    notify.xadd("s", {"f": "v"}, id="1-0")
    notify.xreadgroup("g", "alice", {"s": ">"})
    lis = Listener(raw, notify)
    notify.xclaim("s", "g", "mike", 0, ["1-0"])
    notify.xautoclaim("s", "g", "bob", 0, "0")
    notify.xautoclaim("s", "g", "bob", 0, "0")
    assert lis.events() == ev(("xgroup-createconsumer", "s"), ("xgroup-createconsumer", "s"))
