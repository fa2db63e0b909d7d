"""WAIT numreplicas timeout on a server with no replicas, as Redis 7.0's
master without replicas: asking for none answers 0 at once; asking for one
or more waits out the timeout (milliseconds; 0: forever) and answers 0;
CLIENT UNBLOCK ends the wait (TIMEOUT: the count, ERROR: -UNBLOCKED);
inside MULTI it answers at once; scripts may not call it.  Every test here
holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).  Argument errors:
test_app_compat.py; WAIT in a Raft group: test_repl_wait.py."""
import time

import pytest
import redis

from waiting import block, no_reply_yet


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_wait_for_no_replica_answers_at_once(r):
    r.set("k", "v")
    t = time.monotonic()
    assert r.execute_command("WAIT", 0, 0) == 0
    assert r.execute_command("WAIT", -1, 0) == 0
    assert time.monotonic() - t < 1.0


def test_wait_for_a_replica_waits_out_the_timeout(r):
    r.set("k", "v")
    t = time.monotonic()
    assert r.execute_command("WAIT", 1, 300) == 0
    assert time.monotonic() - t >= 0.29


def test_wait_forever_ends_with_client_unblock(r, raw):
    conn = block(r, raw, "WAIT", "1", "0")
    assert no_reply_yet(conn, 0.3)
    assert r.info("clients")["blocked_clients"] == 1
    assert r.client_unblock(conn.cid) == 1
    assert conn.read_reply() == (":", "0")
    conn = block(r, raw, "WAIT", "2", "0")
    assert r.client_unblock(conn.cid, error=True) == 1
    t, v = conn.read_reply()
    assert t == "-" and v.startswith("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert r.info("clients")["blocked_clients"] == 0


def test_wait_in_multi_answers_at_once(r):
    p = r.pipeline(transaction=True)
    p.set("k", "v")
    p.execute_command("WAIT", 1, 0)
    t = time.monotonic()
    assert p.execute() == [True, 0]
    assert time.monotonic() - t < 1.0


def test_wait_is_not_allowed_from_scripts(r):
    assert "not allowed from script" in err(r, "EVAL", "return redis.call('wait', 1, 0)", 0)
