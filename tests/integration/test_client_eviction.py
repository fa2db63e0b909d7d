"""Client eviction (maxmemory-clients), as Redis 7.0: when the memory of all
clients (query buffers, output buffers, queued transactions, subscriptions)
reaches the limit, the largest evictable clients are disconnected until it
is under it again; CLIENT NO-EVICT exempts a connection; INFO stats counts
evicted_clients; the log says "Evicting client".

Every test passes against redis-server 7.0 too (CAIRN_TEST_SERVER=redis).
"""
import socket
import time

import pytest
import redis

from conftest import RawConn, wait_for

MB = 1024 * 1024


def evicted(r):
    return int(r.info("stats")["evicted_clients"])


def client_entry(r, name):
    for c in r.client_list():
        if c.get("name") == name:
            return c
    return None


class Conn(RawConn):
    """A raw connection with a small receive buffer, so that replies it does
    not read stay in the server's output buffer rather than in the kernel."""

    def __init__(self, server, name):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((server.host, server.port))
        self.buf = b""
        self.cmd("CLIENT", "SETNAME", name)
        assert self.read_reply() == ("+", "OK")

    def gone(self, timeout=20):
        """True once the server has closed the connection (output it had
        queued is discarded)."""
        deadline = time.time() + timeout
        self.sock.settimeout(0.2)
        while time.time() < deadline:
            try:
                if not self.sock.recv(1 << 20):
                    return True
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False


def grow_query_buffer(conn, nbytes):
    """Send the start of a SET whose value never completes: the server keeps
    what arrived in the connection's query buffer."""
    conn.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (nbytes * 2))
    try:
        conn.send(b"v" * nbytes)
    except (ConnectionResetError, BrokenPipeError):
        pass  # evicted while sending


@pytest.fixture
def limited(server_factory):
    """A server of the test's own, a control connection exempt from
    eviction, and a small evictable client."""
    s = server_factory()
    r = s.client()
    r.client_no_evict("on")
    small = s.client()
    small.client_setname("small")
    yield s, r, small
    small.close()
    r.close()


def test_config_forms(own):
    _, r = own
    assert r.config_get("maxmemory-clients") == {"maxmemory-clients": "0"}
    for given, shown in (("1mb", "1048576"), ("100k", "100000"), ("10%", "10%"),
                         ("0%", "0"), ("100%", "100%"), ("", "0"), ("50000", "50000")):
        r.config_set("maxmemory-clients", given)
        assert r.config_get("maxmemory-clients")["maxmemory-clients"] == shown, given
    for bad, why in (("101%", "percentage argument must be less or equal to 100"),
                     ("abc", "argument must be a memory or percent value"),
                     ("-5", "argument must be a memory or percent value"),
                     ("1.5mb", "argument must be a memory or percent value")):
        with pytest.raises(redis.ResponseError) as e:
            r.config_set("maxmemory-clients", bad)
        assert str(e.value) == ("CONFIG SET failed (possibly related to argument "
                                f"'maxmemory-clients') - {why}"), bad
    assert r.config_get("maxmemory-clients")["maxmemory-clients"] == "50000"


def test_query_buffer_evicted_small_client_stays(limited):
    s, r, small = limited
    r.config_set("maxmemory-clients", "1mb")
    big = Conn(s, "big")
    grow_query_buffer(big, 2 * MB)
    assert big.gone(), "the client with the large query buffer was not evicted"
    assert small.ping() is True
    assert client_entry(r, "small") is not None
    assert evicted(r) == 1
    assert wait_for(lambda: "Evicting client" in s.read_log(), 10)
    big.close()


def test_output_buffer_evicted(limited):
    s, r, small = limited
    r.set("blob", "x" * 200000)
    r.config_set("maxmemory-clients", "1mb")
    big = Conn(s, "big")
    # 40 replies of 200 kB that it never reads: far more than the kernel's
    # buffers take, the rest waits in the server.
    big.send(b"*2\r\n$3\r\nGET\r\n$4\r\nblob\r\n" * 40)
    assert big.gone(), "the client with the large output buffer was not evicted"
    assert small.ping() is True
    assert evicted(r) == 1
    big.close()


def test_no_evict_exempts(limited):
    s, r, small = limited
    r.config_set("maxmemory-clients", "1mb")
    big = Conn(s, "big")
    big.cmd("CLIENT", "NO-EVICT", "on")
    assert big.read_reply() == ("+", "OK")
    assert "e" in client_entry(r, "big")["flags"]
    grow_query_buffer(big, int(1.5 * MB))
    assert wait_for(lambda: int(client_entry(r, "big")["qbuf"]) >= int(1.5 * MB))
    # Still over the limit with the exempt client counted: every evictable
    # client goes, as in Redis; the exempt ones stay.
    assert wait_for(lambda: client_entry(r, "small") is None)
    assert client_entry(r, "big") is not None
    assert evicted(r) >= 1
    big.close()


def test_percentage_of_maxmemory(limited):
    s, r, small = limited
    r.config_set("maxmemory", "100mb")
    r.config_set("maxmemory-clients", "1%")  # about 1 MB
    big = Conn(s, "big")
    grow_query_buffer(big, 2 * MB)
    assert big.gone()
    assert small.ping() is True
    assert evicted(r) == 1
    # A percentage of no maxmemory is no limit at all.
    r.config_set("maxmemory", "0")
    big2 = Conn(s, "big2")
    grow_query_buffer(big2, 2 * MB)
    assert wait_for(lambda: int(client_entry(r, "big2")["qbuf"]) >= 2 * MB)
    assert evicted(r) == 1
    big.close()
    big2.close()


def test_config_set_lowers_limit_and_evicts(limited):
    s, r, small = limited
    big = Conn(s, "big")
    grow_query_buffer(big, 600000)
    assert wait_for(lambda: int(client_entry(r, "big")["qbuf"]) >= 600000)
    r.config_set("maxmemory-clients", "10mb")
    assert small.ping() is True
    assert evicted(r) == 0
    r.config_set("maxmemory-clients", "256kb")
    assert big.gone()
    assert wait_for(lambda: client_entry(r, "big") is None)
    assert small.ping() is True
    assert evicted(r) == 1
    big.close()


def test_subscriber_with_backlog_evicted(limited):
    s, r, small = limited
    r.config_set("maxmemory-clients", "1mb")
    sub = Conn(s, "sub")
    sub.cmd("SUBSCRIBE", "news")
    assert sub.read_reply()[1][0] == ("$", b"subscribe")
    msg = "m" * 20000
    # Up to 8 MB of messages it never reads (more than the kernel's socket
    # buffers hold): below the pubsub output limit (32 MB hard, 8 MB soft for
    # 60 s), so only maxmemory-clients can cut it off.
    for _ in range(400):
        small.publish("news", msg)
        if client_entry(r, "sub") is None:
            break
    assert sub.gone()
    assert small.ping() is True
    assert evicted(r) == 1
    sub.close()
