"""CLUSTER, READONLY, READWRITE and ASKING on a server that is not part of
a Redis Cluster: the replies of a Redis 7.0 with cluster-enabled no, which
cluster clients and tools read to tell a standalone server (they were
unknown commands).  Runs against redis-server too."""
import pytest
import redis

DISABLED = "This instance has cluster support disabled"


@pytest.mark.parametrize("args", [
    ["CLUSTER", "INFO"], ["CLUSTER", "SLOTS"], ["CLUSTER", "SHARDS"], ["CLUSTER", "NODES"],
    ["CLUSTER", "MYID"], ["CLUSTER", "KEYSLOT", "k"], ["CLUSTER", "HELP"],
    ["CLUSTER", "COUNTKEYSINSLOT", "1"], ["CLUSTER", "GETKEYSINSLOT", "1", "2"],
    ["CLUSTER", "ADDSLOTS", "1", "2"], ["CLUSTER", "MEET", "127.0.0.1", "1"],
    ["CLUSTER", "RESET"], ["CLUSTER", "failover", "force"], ["READONLY"], ["READWRITE"],
    ["ASKING"],
])
def test_cluster_support_disabled(r, args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    assert str(e.value) == DISABLED


def test_cluster_arity_and_unknown_subcommands(r):
    for args, err in [
        (["CLUSTER"], "wrong number of arguments for 'cluster' command"),
        (["CLUSTER", "INFO", "x"], "wrong number of arguments for 'cluster|info' command"),
        (["CLUSTER", "KEYSLOT"], "wrong number of arguments for 'cluster|keyslot' command"),
        (["CLUSTER", "SETSLOT", "1"], "wrong number of arguments for 'cluster|setslot' command"),
        (["CLUSTER", "NOSUCH"], "unknown subcommand 'NOSUCH'. Try CLUSTER HELP."),
        (["READONLY", "x"], "wrong number of arguments for 'readonly' command"),
    ]:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*args)
        assert str(e.value) == err, args


def plain(reply):
    """A RawConn reply as plain values (redis-py's COMMAND parser expects
    top-level commands only)."""
    kind, value = reply
    if kind == "*":
        return [plain(v) for v in value]
    if kind == ":":
        return int(value)
    return value.decode() if isinstance(value, bytes) else value


def test_cluster_command_info(raw):
    c = raw()
    c.cmd("COMMAND", "INFO", "cluster", "readonly", "asking")
    cluster, readonly, asking = plain(c.read_reply())
    assert cluster[:3] == ["cluster", -2, []]
    subs = {s[0]: s for s in cluster[9]}
    assert len(subs) == 27
    assert subs["cluster|info"][1:3] == [2, ["stale"]]
    assert subs["cluster|setslot"][1] == -4 and "admin" in subs["cluster|setslot"][2]
    assert readonly[:3] == ["readonly", 1, ["loading", "stale", "fast"]]
    assert asking[:3] == ["asking", 1, ["fast"]]
    c.cmd("COMMAND", "DOCS", "readwrite")
    name, docs = plain(c.read_reply())
    assert name == "readwrite" and dict(zip(docs[::2], docs[1::2]))["group"] == "cluster"
