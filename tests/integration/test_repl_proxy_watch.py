"""Optimistic transactions through a follower (docs/replication.md,
"Writes through a follower"): a client that WATCHes on a follower is pinned
to a connection of its own to the leader until its EXEC, DISCARD or
UNWATCH, so WATCH, the reads it makes to compute the transaction, MULTI,
the queued commands and EXEC all run on the leader, whose WATCH decides.
If leadership moves meanwhile, EXEC answers null (aborted) or an error that
says the outcome is unknown: never a success that did not happen, never a
write applied twice.

Cairn-only (Redis has no consensus replication).
"""
import os
import socket
import subprocess
import threading
import time

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import followers, wait_for
from test_py_apps import HERE, need  # noqa: F401 (HERE: rq_jobs on sys.path)
from test_repl_proxy_multi import raw, read_reply

pytestmark = pytest.mark.cairn_only

LOST = "CLUSTERDOWN The connection to the leader was lost"


def test_watch_multi_exec_on_a_follower(group):
    lead = group.leader()
    fol, other = followers(group, lead)
    with fol.client(single_connection_client=True) as r, lead.client() as w, \
            other.client() as o:
        c = r.connection
        raw(c, "SET", "k", "1")
        # untouched: the transaction runs, on the leader
        assert raw(c, "WATCH", "k") == "OK"
        assert raw(c, "GET", "k") == "1"
        assert raw(c, "MULTI") == "OK"
        assert raw(c, "SET", "k", "2") == "QUEUED"
        assert raw(c, "INCR", "n") == "QUEUED"
        assert raw(c, "EXEC") == ["OK", 1]
        assert w.get("k") == "2"
        # modified between WATCH and EXEC through the leader, then through
        # the other follower: aborted, nothing applied
        for writer in (w, o):
            raw(c, "WATCH", "k")
            assert raw(c, "GET", "k") == "2"
            writer.set("k", "2")  # same value: still a modification
            raw(c, "MULTI")
            raw(c, "SET", "k", "lost")
            assert raw(c, "EXEC") is None
            assert w.get("k") == "2"
        # UNWATCH and DISCARD end it too: the next transaction is plain
        raw(c, "WATCH", "k")
        assert raw(c, "UNWATCH") == "OK"
        w.set("k", "3")
        raw(c, "MULTI")
        raw(c, "SET", "k", "4")
        assert raw(c, "EXEC") == ["OK"]
        raw(c, "WATCH", "k")
        raw(c, "MULTI")
        raw(c, "SET", "k", "gone")
        assert raw(c, "DISCARD") == "OK"
        assert w.get("k") == "4"
        # an error while queueing aborts it, as Redis does
        raw(c, "WATCH", "k")
        raw(c, "MULTI")
        with pytest.raises(redis.ResponseError):
            raw(c, "SET", "k")
        with pytest.raises(redis.ResponseError, match="Transaction discarded"):
            raw(c, "EXEC")
        # so does a command that would act on this connection
        raw(c, "WATCH", "k")
        raw(c, "MULTI")
        with pytest.raises(redis.ResponseError, match="can't run in a transaction"):
            raw(c, "SELECT", "1")
        with pytest.raises(redis.ResponseError, match="Transaction discarded"):
            raw(c, "EXEC")
        assert w.get("k") == "4"
        # RESET inside it drops it (the leader's side with it)
        raw(c, "WATCH", "k")
        raw(c, "MULTI")
        raw(c, "SET", "k", "reset")
        assert raw(c, "RESET") == "RESET"
        with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
            raw(c, "EXEC")
        assert w.get("k") == "4"
        assert raw(c, "PING") == "PONG"
    group.wait_same_digest(group.nodes)


def test_redis_py_transaction_in_a_selected_db(group):
    """redis-py's transaction(): WATCH, GET, MULTI, SET, EXEC, retried on
    WatchError, in a SELECTed db."""
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client(db=3) as c, lead.client(db=3) as w:
        conflicts = []

        def incr(pipe):
            v = int(pipe.get("ctr") or 0)
            if not conflicts:
                conflicts.append(1)
                w.incr("ctr", 10)  # makes the first attempt fail
            pipe.multi()
            pipe.set("ctr", v + 1)
            pipe.hset("h", "f", v + 1)
            pipe.hgetall("h")

        assert c.transaction(incr, "ctr") == [True, 1, {"f": "11"}]
        assert len(conflicts) == 1
        assert w.get("ctr") == "11"
        with lead.client() as w0:
            assert w0.get("ctr") is None  # db 3, not 0
    group.wait_same_digest(group.nodes)


def test_resp3_replies_relayed(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    with socket.create_connection(("127.0.0.1", fol.port), timeout=20) as s, \
            lead.client() as w:
        s.sendall(b"HELLO 3\r\nPING\r\n")
        assert b"proto\r\n:3\r\n" in read_reply(s, b"+PONG\r\n")
        s.sendall(b"WATCH h\r\nHGETALL h\r\nMULTI\r\nHSET h f v\r\nHGETALL h\r\nEXEC\r\n")
        want = (b"+OK\r\n%0\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n"
                b"*2\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
        assert read_reply(s, want) == want
        s.sendall(b"WATCH h\r\nPING\r\n")
        assert read_reply(s, b"+PONG\r\n") == b"+OK\r\n+PONG\r\n"
        w.hset("h", "g", "w")
        s.sendall(b"MULTI\r\nHDEL h f\r\nEXEC\r\n")
        want = b"+OK\r\n+QUEUED\r\n_\r\n"
        assert read_reply(s, want) == want
        assert w.hgetall("h") == {"f": "v", "g": "w"}


def test_bounded_links_and_disconnect(group):
    """A pinned client holds one of raft-follower-proxy-blocking-links;
    past the cap WATCH is refused; closing the client frees its link."""
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client() as admin:
        admin.config_set("raft-follower-proxy-blocking-links", 1)
        a = fol.client(single_connection_client=True)
        b = fol.client(single_connection_client=True)
        assert a.execute_command("WATCH", "x") in (True, "OK")
        with pytest.raises(redis.ResponseError, match="max number of clients"):
            b.execute_command("WATCH", "x")
        a.connection.disconnect()
        wait_for("the link freed", lambda: b.execute_command("WATCH", "x") in (True, "OK"))
        b.execute_command("MULTI")
        b.execute_command("SET", "x", "b")
        assert b.execute_command("EXEC") == ["OK"]
        b.close()
        # with no links, WATCH runs here as on a Redis replica: its
        # transaction of writes is refused
        admin.config_set("raft-follower-proxy-blocking-links", 0)
        c = fol.client(single_connection_client=True)
        c.execute_command("WATCH", "x")
        c.execute_command("MULTI")
        c.execute_command("SET", "x", "c")
        with pytest.raises(redis.ResponseError, match="Transaction discarded"):
            c.execute_command("EXEC")
        c.close()
        admin.config_set("raft-follower-proxy-blocking-links", 1000)
    with lead.client() as w:
        assert w.get("x") == "b"


def test_rq_worker_and_enqueuer_through_a_follower(group):
    """RQ finishes a job with WATCH ... MULTI ... EXEC (its dependents):
    worker and enqueuer both use a follower."""
    need("rq")
    from rq import Queue, SimpleWorker
    import rq_jobs

    lead = group.leader()
    fol = followers(group, lead)[0]
    conn = redis.Redis(host=fol.host, port=fol.port, socket_timeout=10)
    q = Queue("default", connection=conn)
    first = q.enqueue(rq_jobs.add, 2, 3)
    dependent = q.enqueue(rq_jobs.add, 10, 20, depends_on=first)
    many = [q.enqueue(rq_jobs.add, i, i) for i in range(3)]
    SimpleWorker([q], connection=conn).work(burst=True)
    for job in (first, dependent, *many):
        assert job.get_status(refresh=True) == "finished", job.latest_result()
    assert first.return_value() == 5 and dependent.return_value() == 30
    assert [j.return_value() for j in many] == [0, 2, 4]
    conn.close()
    group.wait_same_digest(group.nodes)


def test_leader_transfer_while_pinned(group):
    """Leadership moves while clients are pinned: EXEC answers null
    (aborted) or an error saying the outcome is unknown, never a success
    that did not happen; counters incremented by WATCH transactions on
    every node end at the number of successful EXECs (plus at most the
    unknown ones)."""
    lead = group.leader()
    fol, other = followers(group, lead)
    # one pinned in MULTI across the transfer
    c = fol.client(single_connection_client=True)
    c.execute_command("WATCH", "t")
    c.execute_command("MULTI")
    c.execute_command("SET", "t", "x")
    with lead.client() as w:
        assert w.execute_command("RAFT", "TRANSFER-LEADER", other.id) in (True, "OK")
    wait_for("the transfer", lambda: group.leader(timeout=5).id == other.id)
    try:
        got = c.execute_command("EXEC")
        assert got is None
        applied = False
    except redis.ResponseError as e:
        assert LOST in str(e), e
        applied = None
    with other.client() as w:
        if applied is False:
            assert w.get("t") is None
    c.close()

    # counters under transfers
    stop = threading.Event()
    ok, unknown, lock = [0], [0], threading.Lock()

    def work(node):
        with node.client(socket_timeout=20) as r:
            while not stop.is_set():
                try:
                    with r.pipeline() as p:
                        p.watch("ctr")
                        v = int(p.get("ctr") or 0)
                        p.multi()
                        p.set("ctr", v + 1)
                        p.execute()
                    with lock:
                        ok[0] += 1
                except redis.WatchError:
                    pass
                except redis.ResponseError as e:
                    if LOST in str(e):
                        with lock:
                            unknown[0] += 1
                    elif not any(s in str(e) for s in ("CLUSTERDOWN", "TRYAGAIN", "READONLY")):
                        raise
                    time.sleep(0.02)
                except (redis.ConnectionError, OSError):
                    time.sleep(0.02)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in group.nodes]
    for t in threads:
        t.start()
    try:
        for _ in range(2):
            base = ok[0]
            wait_for("some transactions", lambda: ok[0] >= base + 10)
            lead = group.leader(timeout=5)
            target = followers(group, lead)[0]
            with lead.client() as w:
                w.execute_command("RAFT", "TRANSFER-LEADER", target.id)
            wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)
        base = ok[0]
        wait_for("transactions after the transfers", lambda: ok[0] >= base + 10)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    with group.leader().client() as w:
        final = int(w.get("ctr"))
    assert ok[0] <= final <= ok[0] + unknown[0], (final, ok[0], unknown[0])
    group.wait_same_digest(group.nodes)


def test_node_redis_client_flow_through_a_follower(group):
    """node-redis v4's client flow (node_apps/apps.js: WATCH in an isolated
    connection, aborted by a concurrent write with a WatchError, then run)
    against a follower."""
    from nodejs import npm_install
    from test_node_apps import HERE as NODE_APPS

    modules = npm_install(NODE_APPS, "node-apps", "CAIRN_NODE_APPS", ["--ignore-scripts"])
    fol = followers(group, group.leader())[0]
    env = dict(os.environ, NODE_PATH=modules)
    p = subprocess.run(["node", os.path.join(NODE_APPS, "apps.js"), str(fol.port), "node-redis"],
                       cwd=NODE_APPS, env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "node-redis ok" in out, out[-3000:]
    group.wait_same_digest(group.nodes)


def test_leader_killed_while_pinned(group):
    """The leader dies while a follower's client is pinned inside MULTI:
    its EXEC answers null (aborted), nothing of it is applied, and the
    client's next transaction runs on the new leader."""
    lead = group.leader()
    fol = followers(group, lead)[0]
    with fol.client(single_connection_client=True) as r, \
            fol.client(single_connection_client=True) as r2:
        c, c2 = r.connection, r2.connection
        raw(c, "SET", "kk", "0")
        raw(c, "WATCH", "kk")
        raw(c, "MULTI")
        assert raw(c, "SET", "kk", "lost") == "QUEUED"
        raw(c2, "WATCH", "kk")  # pinned, not in MULTI yet
        lead.kill()
        assert raw(c, "INCR", "kk") == "QUEUED"  # queued here now
        assert raw(c, "EXEC") is None
        new = group.leader(timeout=10, exclude=(lead.id,))
        wait_for("the follower to know the new leader",
                 lambda: r.info("replication")["raft_leader_id"] == new.id)
        assert raw(c, "WATCH", "kk") == "OK"
        assert raw(c, "MULTI") == "OK"
        assert raw(c, "INCR", "kk") == "QUEUED"
        assert raw(c, "EXEC") == [1]
        # the other's lost watch still fails its EXEC, even after a new
        # WATCH (as a touched watched key does in Redis); then it is clear
        assert raw(c2, "WATCH", "other") == "OK"
        raw(c2, "MULTI")
        raw(c2, "SET", "kk", "lost")
        assert raw(c2, "EXEC") is None
        raw(c2, "WATCH", "kk")
        raw(c2, "MULTI")
        raw(c2, "INCR", "kk")
        assert raw(c2, "EXEC") == [2]
    with new.client() as w:
        assert w.get("kk") == "2"
    lead.start()
    group.wait_same_digest(group.nodes)
