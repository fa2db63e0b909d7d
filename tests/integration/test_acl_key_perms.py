"""ACL read and write key permissions (%R~ / %W~ patterns) per key, as
Redis 7.0 decides them from its key specs: a key needs read permission if
the command reads it (returns or uses its value: LPOP, INCR, GETDEL, the
sources of SINTERSTORE or COPY), write permission if it inserts into,
updates or deletes it, and neither for commands that only look at its
metadata (EXISTS, TYPE, STRLEN).  Cairn used the command's own flags for
every key: a write-only user could pop and read values, a read-only one
could not read a STORE command's sources.  Runs against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import pytest
import redis

# Each key's prefix names what it needs: r: read, w: write, rw: both,
# n: neither (any pattern matching the key will do).
CALLS = [
    "GET r:a", "EXISTS n:a", "TYPE n:a", "STRLEN n:a", "OBJECT ENCODING n:a", "HLEN n:h",
    "TOUCH n:a", "MEMORY USAGE n:a",
    "SET w:a v", "SET w:a v NX EX 10", "SET rw:a v GET", "SET w:a get", "GETSET rw:a v",
    "GETDEL rw:a", "GETEX rw:a", "INCR rw:n", "APPEND w:a x", "DEL w:a", "EXPIRE w:a 10",
    "LPUSH w:l x", "LPOP rw:l", "LMOVE rw:l w:l2 LEFT RIGHT", "RPOPLPUSH rw:l w:l2",
    "BLPOP rw:l 0.01", "LMPOP 2 rw:l rw:l2 LEFT",
    "SADD w:s m", "SPOP rw:s", "SMOVE rw:s w:s2 m", "SINTERSTORE w:s r:s1 r:s2",
    "SUNIONSTORE w:s r:s1", "SDIFFSTORE w:s r:s1",
    "ZADD w:z 1 m", "ZPOPMIN rw:z", "ZINCRBY rw:z 1 m", "ZRANGESTORE w:z r:z1 0 -1",
    "ZUNIONSTORE w:z 2 r:z1 r:z2", "ZINTERSTORE w:z 1 r:z1",
    "HSET w:h f v", "HINCRBY rw:h f 1", "HEXISTS n:h f",
    "COPY r:a w:b", "RENAME rw:a w:b", "MOVE rw:a 1", "SORT r:l", "SORT r:l STORE w:l3",
    "BITOP AND w:b r:b1 r:b2", "SETBIT rw:b 1 1", "BITFIELD rw:b SET u8 0 1",
    "BITFIELD r:b GET u8 0", "BITFIELD r:b OVERFLOW SAT GET u8 0 GET i4 4",
    "BITFIELD rw:b GET u8 0 INCRBY u8 0 1",
    "PFADD w:p a", "PFMERGE rw:p r:p1",
    "XADD w:x * f v", "XREADGROUP GROUP g c STREAMS r:x >", "XLEN n:x",
    "GEOSEARCHSTORE w:g r:g FROMLONLAT 0 0 BYRADIUS 1 km",
    "GEORADIUS r:g 0 0 1 km STORE w:g2",
    "EVAL 'return 1' 1 rw:k",
]


def keys_of(call):
    return [w for w in call.split() if w.split(":")[0] in ("r", "w", "rw", "n")]


def refused(c, call):
    args = [a.strip("'") for a in call.replace("'return 1'", "'return_1'").split()]
    args = ["return 1" if a == "return_1" else a for a in args]
    try:
        c.execute_command(*args)
    except redis.exceptions.NoPermissionError as e:
        assert "no permissions to access one of the keys" in str(e), e
        return True
    except redis.ResponseError:
        pass
    return False


@pytest.fixture
def acl_server(server_factory):
    """A server of its own: the users made here must not meet other tests."""
    return server_factory()


@pytest.fixture
def users(acl_server):
    server = acl_server
    admin = server.client()
    common = ["on", "nopass", "+@all"]
    admin.execute_command("ACL", "SETUSER", "reader", *common, "%R~*")
    admin.execute_command("ACL", "SETUSER", "writer", *common, "%W~*")
    # Each key gets exactly what its prefix says it needs.
    admin.execute_command("ACL", "SETUSER", "exact", *common, "%R~r:*", "%W~w:*", "~rw:*",
                          "%R~n:*")
    clients = {}
    for name in ("reader", "writer", "exact"):
        c = server.client()
        # Keep the raw replies (redis-py parses OBJECT and MEMORY replies).
        for cmd in ("OBJECT", "MEMORY USAGE", "GEORADIUS"):
            c.response_callbacks.pop(cmd, None)
        c.execute_command("AUTH", name, "x")
        clients[name] = c
    return clients


def test_each_key_needs_what_the_command_does_with_it(users):
    wrong = []
    for call in CALLS:
        prefixes = {k.split(":")[0] for k in keys_of(call)}
        expect = {
            "exact": False,
            "reader": bool(prefixes & {"w", "rw"}),
            "writer": bool(prefixes & {"r", "rw"}),
        }
        for user, c in users.items():
            if refused(c, call) != expect[user]:
                wrong.append(f"{user}: {call} {'refused' if expect[user] is False else 'allowed'}")
    assert not wrong, wrong


def test_acl_dryrun_follows_the_same_rule(acl_server, users):
    admin = acl_server.client()
    assert admin.execute_command("ACL", "DRYRUN", "writer", "SET", "a", "v") == "OK"
    assert "no permissions to access the 'a' key" in \
        admin.execute_command("ACL", "DRYRUN", "writer", "LPOP", "a")
    assert admin.execute_command("ACL", "DRYRUN", "reader", "SINTERSTORE", "d", "s") != "OK"
    assert admin.execute_command("ACL", "DRYRUN", "exact", "SINTERSTORE", "w:d", "r:s") == "OK"
    assert admin.execute_command("ACL", "DRYRUN", "reader", "EXISTS", "a") == "OK"


def test_all_keys_and_channels_may_be_granted_again(acl_server):
    c = acl_server.client()
    # Tools re-apply a user's full rule list: "~*" / "&*" (the allkeys and
    # allchannels flags) are accepted again; only a narrower pattern after
    # them is refused.  "%RW~*" is a pattern, not the flag.
    for rules in (["~*", "~*"], ["allkeys", "~*"], ["&*", "&*"], ["allchannels", "&*"],
                  ["resetkeys", "%RW~*", "~foo"], ["resetkeys", "%RW~*", "allkeys"],
                  ["resetchannels", "&foo", "&*"]):
        assert c.execute_command("ACL", "SETUSER", "again", *rules) == "OK", rules
        c.execute_command("ACL", "DELUSER", "again")
    for rules, bad in ((["allkeys", "~foo"], "~foo"), (["~*", "%R~x"], "%R~x"),
                       (["&*", "&foo"], "&foo")):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("ACL", "SETUSER", "again", *rules)
        assert str(e.value).startswith(
            f"Error in ACL SETUSER modifier '{bad}': Adding a pattern after the * pattern"), e
        c.execute_command("ACL", "DELUSER", "again")
    c.execute_command("ACL", "SETUSER", "again", "resetkeys", "%RW~*", "~foo")
    assert c.acl_getuser("again")["keys"] in ("~* ~foo", ["~*", "~foo"])
