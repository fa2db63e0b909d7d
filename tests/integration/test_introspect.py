"""What monitoring reads about clients: INFO clients and the flags, multi=
and multi-mem= fields of CLIENT LIST / CLIENT INFO, as Redis 7.0 reports
them.  Every test here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).

Each test runs on a server of its own, so the counts it reads are only those
of its own clients."""
import pytest

from conftest import RawConn, wait_for
from waiting import block, client_id


@pytest.fixture
def own(server_factory):
    s = server_factory()
    conns = []

    def raw():
        c = RawConn(s)
        conns.append(c)
        return c

    r = s.client()
    yield s, r, raw
    r.close()
    for c in conns:
        c.close()


def client_by_id(r, cid):
    for c in r.client_list():
        if int(c["id"]) == cid:
            return c
    raise AssertionError(f"client {cid} not listed")


def test_info_clients_fields(own):
    s, r, raw = own
    info = r.info("clients")
    for field in ("connected_clients", "cluster_connections", "maxclients",
                  "client_recent_max_input_buffer", "client_recent_max_output_buffer",
                  "blocked_clients", "tracking_clients", "clients_in_timeout_table"):
        assert isinstance(info[field], int), field
    assert info["connected_clients"] == 1
    assert info["cluster_connections"] == 0
    assert info["blocked_clients"] == 0
    assert info["tracking_clients"] == 0
    assert info["clients_in_timeout_table"] == 0


def test_blocked_clients_counted_while_blocked(own):
    s, r, raw = own
    forever = block(r, raw, "BLPOP", "q1", "0")
    timed = block(r, raw, "BRPOP", "q2", "100")
    zset = block(r, raw, "BZPOPMIN", "z", "50")
    info = r.info("clients")
    assert info["blocked_clients"] == 3
    # Only clients with a timeout wait in the timeout table.
    assert info["clients_in_timeout_table"] == 2
    for conn in (forever, timed, zset):
        assert "b" in client_by_id(r, conn.cid)["flags"]
    assert client_by_id(r, r.client_id())["flags"] == "N"

    r.rpush("q1", "a")
    assert forever.read_reply() == ("*", [("$", b"q1"), ("$", b"a")])
    info = r.info("clients")
    assert info["blocked_clients"] == 2
    assert info["clients_in_timeout_table"] == 2
    assert "b" not in client_by_id(r, forever.cid)["flags"]

    r.client_unblock(timed.cid)
    assert timed.read_reply() == ("*", None)
    zset.close()
    assert wait_for(lambda: r.info("clients")["blocked_clients"] == 0)
    assert r.info("clients")["clients_in_timeout_table"] == 0


def test_flags_of_a_transaction(own):
    s, r, raw = own
    tx = raw()
    cid = client_id(tx)
    tx.cmd("MULTI")
    assert tx.read_reply() == ("+", "OK")
    tx.cmd("SET", "k", "v")
    assert tx.read_reply() == ("+", "QUEUED")
    tx.cmd("INCR", "n")
    assert tx.read_reply() == ("+", "QUEUED")
    entry = client_by_id(r, cid)
    assert entry["flags"] == "x"
    assert entry["multi"] == "2"
    assert int(entry["multi-mem"]) > 0
    tx.cmd("EXEC")
    assert tx.read_reply()[0] == "*"
    entry = client_by_id(r, cid)
    assert entry["flags"] == "N"
    assert entry["multi"] == "-1"
    assert entry["multi-mem"] == "0"


def test_dirty_cas_flag(own):
    s, r, raw = own
    w = raw()
    cid = client_id(w)
    w.cmd("WATCH", "k")
    assert w.read_reply() == ("+", "OK")
    assert client_by_id(r, cid)["flags"] == "N"
    r.set("k", "changed")
    assert client_by_id(r, cid)["flags"] == "d"
    w.cmd("MULTI")
    assert w.read_reply() == ("+", "OK")
    assert client_by_id(r, cid)["flags"] == "xd"
    w.cmd("EXEC")
    assert w.read_reply() == ("*", None)
    assert client_by_id(r, cid)["flags"] == "N"


def test_client_info_shows_own_flags(own):
    s, r, raw = own
    c = raw()
    c.cmd("MULTI")
    assert c.read_reply() == ("+", "OK")
    c.cmd("CLIENT", "INFO")
    assert c.read_reply() == ("+", "QUEUED")
    c.cmd("EXEC")
    t, items = c.read_reply()
    line = items[0][1].decode()
    fields = dict(f.split("=", 1) for f in line.split())
    # EXEC runs the queued commands still in the transaction's state.
    assert fields["flags"] == "x"
    assert fields["multi"] == "1"
    assert fields["cmd"] == "exec"
