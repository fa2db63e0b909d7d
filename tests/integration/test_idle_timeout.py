"""The idle `timeout`, as Redis 7.0: a connection silent for longer than
`timeout` seconds is closed, except those that wait by request: a
subscriber (RESP2 or RESP3, channel or pattern), a monitor, and a client
held by CLIENT PAUSE (Redis blocks it).  (A client parked by BLPOP is
tested in test_list_blocking.py.)  Holds against Redis 7.0 too
(CAIRN_TEST_SERVER=redis)."""
import time

from conftest import RawConn


def message(conn):
    """The next push or array reply of conn, as (type, [bulk strings])."""
    t, items = conn.read_reply()
    return t, [v for _, v in items]


def test_listeners_and_paused_clients_are_not_idle(server_factory):
    s = server_factory("--timeout", "1")
    r = s.client()
    idle, sub, psub, sub3, mon, held = (RawConn(s) for _ in range(6))
    conns = (idle, sub, psub, sub3, mon, held)
    try:
        idle.cmd("PING")
        assert idle.read_reply() == ("+", "PONG")
        sub.cmd("SUBSCRIBE", "ch")
        assert sub.read_reply()[0] == "*"
        psub.cmd("PSUBSCRIBE", "c*")
        assert psub.read_reply()[0] == "*"
        sub3.cmd("HELLO", "3")
        assert sub3.read_reply()[0] == "%"
        sub3.cmd("SUBSCRIBE", "ch")
        assert sub3.read_reply()[0] == ">"
        mon.cmd("MONITOR")
        assert mon.read_line() == b"+OK"
        r.execute_command("CLIENT", "PAUSE", 100000, "WRITE")
        held.cmd("SET", "k", "v")
        # The silent client goes (the timeout is checked once a second);
        # then give the others as long again.
        assert idle.closed_by_peer(10)
        time.sleep(2.5)
        r.execute_command("CLIENT", "UNPAUSE")
        assert held.read_reply() == ("+", "OK")
        assert r.publish("ch", "still here") == 3
        assert message(sub) == ("*", [b"message", b"ch", b"still here"])
        assert message(psub) == ("*", [b"pmessage", b"c*", b"ch", b"still here"])
        assert message(sub3) == (">", [b"message", b"ch", b"still here"])
        lines = []
        while b'"PUBLISH"' not in (lines[-1] if lines else b""):
            lines.append(mon.read_line())
        assert all(line.startswith(b"+") for line in lines)
        assert any(b'"SET" "k" "v"' in line for line in lines)
    finally:
        for c in conns:
            c.close()
        r.close()
