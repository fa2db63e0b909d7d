"""Streams survive a restart, from the append-only log (entries replayed:
XADD's generated IDs, XREADGROUP's logged claims and group positions) and
from a snapshot, with consumer groups, pending lists, delivery times and
counts, and consumers' seen times intact."""
import pytest

from durable import DurableServer

AOF = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@pytest.fixture
def make(tmp_path):
    started = []

    def factory(*args):
        s = DurableServer(tmp_path / "data", *args)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def state(c):
    """Everything observable of the streams that does not depend on the
    clock of the reader (XINFO FULL shows absolute times)."""
    out = {}
    for k in sorted(c.keys("*")):
        full = c.execute_command("XINFO", "STREAM", k, "FULL", "COUNT", "0")
        info = dict(zip(full[::2], full[1::2]))
        # How the entries are split into nodes is not part of the state.
        info.pop("radix-tree-keys")
        info.pop("radix-tree-nodes")
        out[k] = info
    return out


def workload(c):
    c.response_callbacks.clear()
    for i in range(300):
        c.execute_command("XADD", "s", "MAXLEN", "~", "250", "*", "n", str(i), "k", "v" * (i % 7))
    for i in range(0, 40, 3):
        c.execute_command("XDEL", "s", c.execute_command("XRANGE", "s", "-", "+")[i][0])
    c.execute_command("XGROUP", "CREATE", "s", "g1", "0")
    c.execute_command("XGROUP", "CREATE", "s", "g2", "$")
    c.execute_command("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "20", "STREAMS", "s", ">")
    c.execute_command("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "30", "STREAMS", "s", ">")
    c.execute_command("XREADGROUP", "GROUP", "g1", "carol", "NOACK", "COUNT", "5",
                      "STREAMS", "s", ">")
    c.execute_command("XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "s", "0")
    first = c.execute_command("XRANGE", "s", "-", "+", "COUNT", "60")
    c.execute_command("XACK", "s", "g1", first[0][0], first[1][0])
    c.execute_command("XCLAIM", "s", "g1", "dave", "0", first[25][0], "RETRYCOUNT", "9")
    c.execute_command("XDEL", "s", first[30][0])
    c.execute_command("XAUTOCLAIM", "s", "g1", "erin", "0", "0", "COUNT", "10")
    c.execute_command("XADD", "s", "*", "late", "1")
    c.execute_command("XREADGROUP", "GROUP", "g2", "zed", "STREAMS", "s", ">")
    c.execute_command("XGROUP", "CREATECONSUMER", "s", "g2", "idle")
    c.execute_command("XADD", "t", "1-1", "a", "b")
    c.execute_command("XSETID", "t", "5-0", "ENTRIESADDED", "7", "MAXDELETEDID", "2-0")
    c.execute_command("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")


@pytest.mark.cairn_only
def test_restart_from_the_log(make):
    s = make(*AOF).start()
    c = s.client()
    workload(c)
    before = state(c)
    assert before["s"]["groups"][0][before["s"]["groups"][0].index("pel-count") + 1] > 0
    s.stop()
    s.start()
    assert state(s.client()) == before


@pytest.mark.cairn_only
def test_restart_from_a_snapshot(make):
    s = make("--save", "").start()
    c = s.client()
    workload(c)
    before = state(c)
    assert c.save()
    s.kill9()
    s.start()
    assert state(s.client()) == before
