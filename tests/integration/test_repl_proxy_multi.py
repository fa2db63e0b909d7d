"""Transactions through a follower (docs/replication.md, "Writes through a
follower"): MULTI ... EXEC that writes is queued on the follower and sent
to the leader as one unit at EXEC, under one exactly-once session number.

Cairn-only (Redis has no consensus replication).
"""
import socket
import threading
import time

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, wait_for

pytestmark = pytest.mark.cairn_only


def test_pipeline_through_a_follower(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as c:
        p = c.pipeline()  # transaction=True: MULTI ... EXEC
        p.set("a", "1").incr("ctr").rpush("l", "x", "y").get("a").lrange("l", 0, -1)
        assert p.execute() == [True, 1, 2, "1", ["x", "y"]]
        # a second one on the same connection, and a plain write after it
        p = c.pipeline()
        p.incr("ctr").incrby("ctr", 10)
        assert p.execute() == [2, 12]
        assert c.set("b", "2") is True
        # a read-only transaction runs here (after its read round)
        p = c.pipeline()
        p.get("a").get("ctr")
        assert p.execute() == ["1", "12"]
    with lead.client() as c:
        assert c.mget("a", "ctr", "b") == ["1", "12", "2"]
        assert c.lrange("l", 0, -1) == ["x", "y"]


def read_reply(sock, want):
    buf = b""
    deadline = time.monotonic() + 20
    while want not in buf and time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def test_resp3_transaction_through_a_follower(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with socket.create_connection(("127.0.0.1", fol.port), timeout=20) as s:
        s.sendall(b"HELLO 3\r\nPING\r\n")
        assert b"proto\r\n:3\r\n" in read_reply(s, b"+PONG\r\n")
        s.sendall(b"MULTI\r\nHSET h f v\r\nHGETALL h\r\nEXEC\r\n")
        want = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
        assert read_reply(s, want) == want


def raw(conn, *args):
    """One command's reply, not converted by redis-py's callbacks."""
    conn.send_command(*args)
    return conn.read_response()


def test_queueing_error_aborts_and_discard(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as c:
        conn = c.connection_pool.get_connection("MULTI")
        try:
            assert raw(conn, "MULTI") == "OK"
            assert raw(conn, "SET", "k1", "v") == "QUEUED"
            with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
                raw(conn, "SET", "k2")
            with pytest.raises(redis.exceptions.ExecAbortError, match="previous errors"):
                raw(conn, "EXEC")
            assert raw(conn, "MULTI") == "OK"
            assert raw(conn, "SET", "k3", "v") == "QUEUED"
            assert raw(conn, "DISCARD") == "OK"
            # the connection is out of MULTI: a write goes through at once
            assert raw(conn, "SET", "k4", "v") == "OK"
        finally:
            c.connection_pool.release(conn)
    with lead.client() as c:
        assert c.exists("k1", "k2", "k3") == 0
        assert c.get("k4") == "v"


def test_transactions_through_a_leader_kill_apply_once(group):
    """Clients of a follower run MULTI INCR n INCR n EXEC while the leader
    is killed: each answered transaction's two replies are consecutive (it
    ran as a unit) and no transaction is applied twice."""
    lead = group.leader()
    fol = followers(group, lead)[0]
    replies, errors, stop = [], [], threading.Event()
    lock = threading.Lock()

    def run():
        with fol.client(socket_timeout=30) as c:
            while not stop.is_set():
                p = c.pipeline()
                p.incr("n").incr("n")
                try:
                    r = p.execute()
                except (redis.RedisError, OSError) as e:
                    with lock:
                        errors.append(repr(e))
                    time.sleep(0.01)
                    continue
                with lock:
                    replies.append(r)

    def answered():
        with lock:
            return len(replies)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for("transactions", lambda: answered() >= 30, timeout=30)
        lead.kill()
        start = answered()
        wait_for("transactions after the kill", lambda: answered() >= start + 30, timeout=30)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    lead.start()
    refused = ("CLUSTERDOWN The cluster is down", "TRYAGAIN Leadership is being transferred")
    assert [e for e in errors if not any(r in e for r in refused)] == []
    assert all(b == a + 1 for a, b in replies)
    values = sorted(v for r in replies for v in r)
    # every increment once: 1..2N with none missing and none twice
    assert values == list(range(1, 2 * len(replies) + 1))
    new_lead = group.leader(timeout=10)
    with new_lead.client() as c:
        assert int(c.get("n")) == 2 * len(replies)
