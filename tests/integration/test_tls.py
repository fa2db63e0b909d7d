"""TLS: the tls-* settings, client certificates, protocols, ciphers,
session caching, bad peers and certificate reload, with redis-py, redis-cli
and Python's ssl module, against certificates made by the test.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis;
Debian's build has TLS), except in tests marked cairn_only.
"""
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import TARGET, Server, free_port
from tlscerts import CA


class PKI:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-tls-")
        self.ca = CA(self.dir, "ca")
        self.other_ca = CA(self.dir, "other-ca")
        self.server = self.ca.issue("server")
        self.client = self.ca.issue("client", server=False)
        self.stranger = self.other_ca.issue("stranger", server=False)
        self.expired_server = self.ca.issue("expired-server", expired=True)
        self.expired_client = self.ca.issue("expired-client", server=False, expired=True)


@pytest.fixture(scope="module")
def pki():
    p = PKI()
    yield p
    shutil.rmtree(p.dir, ignore_errors=True)


@pytest.fixture
def tls_factory(pki):
    """Start servers with a TLS port (and the plain one) serving pki's
    server certificate."""
    started = []

    def make(*extra, cert=None):
        cert_file, key_file = cert or pki.server
        port = free_port()
        s = Server(["--tls-port", str(port), "--tls-cert-file", cert_file,
                    "--tls-key-file", key_file, "--tls-ca-cert-file", pki.ca.cert_file,
                    *extra])
        s.tls_port = port
        started.append(s)
        return s

    yield make
    for s in started:
        rc = s.stop()
        assert rc in (0, -15), f"server exited with {rc}"


def context(ca=None, cert=None, verify=True):
    """A client-side context trusting ca and presenting cert (a pair)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


def connect(s, ctx, session=None):
    sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
    try:
        return ctx.wrap_socket(sock, server_hostname="localhost", session=session)
    except Exception:
        sock.close()
        raise


def ping(conn):
    """PING over conn; the reply line, or b"" if the server closed it."""
    conn.sendall(b"PING\r\n")
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = conn.recv(100)
        if not chunk:
            break
        data += chunk
    return data


def refused(s, ctx):
    """Does the server turn this client away?  With TLS 1.3 a client
    learns that its certificate was refused only when it next reads."""
    try:
        conn = connect(s, ctx)
    except (ssl.SSLError, OSError):
        return True
    try:
        return ping(conn) != b"+PONG\r\n"
    except (ssl.SSLError, OSError):
        return True
    finally:
        conn.close()


def tls_client(s, pki, **kw):
    kw.setdefault("ssl_certfile", pki.client[0])
    kw.setdefault("ssl_keyfile", pki.client[1])
    return redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True,
                       ssl_ca_certs=pki.ca.cert_file, socket_timeout=10,
                       decode_responses=True, **kw)


def close(t):
    """Really close a redis-py client (close() may leave its socket to the
    garbage collector)."""
    t.connection_pool.disconnect()


def healthy(s, pki):
    """Both ports answer, and once the test's TLS connections are closed
    none is left on the server (refused ones included)."""
    t = tls_client(s, pki)
    assert t.ping()
    close(t)
    plain = s.client()
    assert plain.ping()
    laddr = f"127.0.0.1:{s.tls_port}"
    deadline = time.time() + 5
    while time.time() < deadline:
        left = [c for c in plain.client_list() if c["laddr"] == laddr]
        if not left:
            break
        time.sleep(0.02)
    assert left == []
    close(plain)


def peer_cn(conn):
    for rdn in conn.getpeercert()["subject"]:
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


# --- both ports, real clients ----------------------------------------------

def test_redis_py_over_tls_and_plain_at_once(tls_factory, pki):
    s = tls_factory()
    t, plain = tls_client(s, pki), s.client()
    assert t.set("k", "over tls")
    assert plain.get("k") == "over tls"
    plain.set("k2", "plain")
    assert t.get("k2") == "plain"
    # A value larger than a TLS record and than a socket buffer, both ways.
    big = "x" * (3 << 20)
    t.set("big", big)
    assert t.get("big") == big
    assert t.strlen("big") == len(big)
    # A deep pipeline: many commands per record, many records per read.
    p = t.pipeline(transaction=False)
    for i in range(5000):
        p.rpush("l", i)
    p.lrange("l", 0, -1)
    res = p.execute()
    assert res[4999] == 5000 and res[-1] == [str(i) for i in range(5000)]
    close(t)
    close(plain)
    healthy(s, pki)


def test_redis_cli_tls(tls_factory, pki):
    s = tls_factory()
    base = ["redis-cli", "--tls", "--cacert", pki.ca.cert_file, "--cert", pki.client[0],
            "--key", pki.client[1], "-h", "127.0.0.1", "-p", str(s.tls_port)]
    out = subprocess.run(base + ["SET", "cli", "yes"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "OK", out
    out = subprocess.run(base + ["GET", "cli"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "yes"
    # Without a client certificate the default (tls-auth-clients yes) refuses.
    out = subprocess.run(base[:5] + base[9:] + ["PING"], capture_output=True, text=True,
                         timeout=10)
    assert "PONG" not in out.stdout
    healthy(s, pki)


# --- client certificates ---------------------------------------------------

def test_client_certificate_required_by_default(tls_factory, pki):
    s = tls_factory()
    assert s.client().config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
    assert not refused(s, context(pki.ca.cert_file, pki.client))
    assert refused(s, context(pki.ca.cert_file))
    assert refused(s, context(pki.ca.cert_file, pki.stranger))
    assert refused(s, context(pki.ca.cert_file, pki.expired_client))
    healthy(s, pki)


def test_client_certificate_optional(tls_factory, pki):
    s = tls_factory("--tls-auth-clients", "optional")
    assert not refused(s, context(pki.ca.cert_file))
    assert not refused(s, context(pki.ca.cert_file, pki.client))
    # Optional, but one that is shown must be valid.
    assert refused(s, context(pki.ca.cert_file, pki.stranger))
    assert refused(s, context(pki.ca.cert_file, pki.expired_client))
    healthy(s, pki)


def test_client_certificate_not_asked(tls_factory, pki):
    s = tls_factory("--tls-auth-clients", "no")
    assert not refused(s, context(pki.ca.cert_file))
    # Not verified at all: even one from an unknown CA goes through.
    assert not refused(s, context(pki.ca.cert_file, pki.stranger))
    # CONFIG SET applies to the next connections.
    s.client().config_set("tls-auth-clients", "yes")
    assert refused(s, context(pki.ca.cert_file))
    healthy(s, pki)


# --- the server's certificate ----------------------------------------------

def test_wrong_ca(tls_factory, pki):
    s = tls_factory()
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(s, context(pki.other_ca.cert_file, pki.client))
    healthy(s, pki)


def test_expired_server_certificate(tls_factory, pki):
    s = tls_factory(cert=pki.expired_server)
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        connect(s, context(pki.ca.cert_file, pki.client))
    # A client that does not verify still talks (the server serves it).
    conn = connect(s, context(verify=False, cert=pki.client))
    assert ping(conn) == b"+PONG\r\n"
    conn.close()


# --- hostile or confused peers ---------------------------------------------

def test_plain_text_client_on_tls_port(tls_factory, pki):
    s = tls_factory()
    for payload in (b"PING\r\n", b"*1\r\n$4\r\nPING\r\n", b"GET / HTTP/1.1\r\n\r\n"):
        sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        sock.sendall(payload)
        data = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        sock.close()
        assert b"PONG" not in data
    # One that connects and goes silent mid-handshake, and one that sends
    # half a ClientHello and hangs up, do not disturb the others.
    silent = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
    half = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
    half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    half.close()
    t = tls_client(s, pki)
    assert t.ping()
    close(t)
    silent.close()
    healthy(s, pki)


def test_tls_client_on_plain_port(tls_factory, pki):
    s = tls_factory()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    with pytest.raises((ssl.SSLError, OSError)):
        context(pki.ca.cert_file, pki.client).wrap_socket(sock, server_hostname="localhost")
    sock.close()
    healthy(s, pki)


# --- settings ----------------------------------------------------------------

def test_config_get_defaults(server):
    c = server.client()
    want = {"tls-port": "0", "tls-cert-file": "", "tls-key-file": "", "tls-key-file-pass": "",
            "tls-ca-cert-file": "", "tls-ca-cert-dir": "", "tls-auth-clients": "yes",
            "tls-protocols": "", "tls-ciphers": "", "tls-ciphersuites": "",
            "tls-prefer-server-ciphers": "no", "tls-session-caching": "yes",
            "tls-session-cache-size": "20480", "tls-session-cache-timeout": "300",
            "tls-replication": "no", "tls-cluster": "no", "tls-dh-params-file": "",
            "tls-client-cert-file": "", "tls-client-key-file": "",
            "tls-client-key-file-pass": ""}
    got = c.config_get("tls-*")
    assert {k: got.get(k) for k in want} == want


def test_protocols(tls_factory, pki):
    s = tls_factory("--tls-protocols", "TLSv1.2")
    conn = connect(s, context(pki.ca.cert_file, pki.client))
    assert conn.version() == "TLSv1.2"
    assert ping(conn) == b"+PONG\r\n"
    conn.close()
    only13 = context(pki.ca.cert_file, pki.client)
    only13.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(ssl.SSLError):
        connect(s, only13)
    s.client().config_set("tls-protocols", "TLSv1.3")
    conn = connect(s, context(pki.ca.cert_file, pki.client))
    assert conn.version() == "TLSv1.3"
    conn.close()
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        s.client().config_set("tls-protocols", "SSLv3")
    assert s.client().config_get("tls-protocols") == {"tls-protocols": "TLSv1.3"}
    healthy(s, pki)


def test_ciphers_and_server_preference(tls_factory, pki):
    a, b = "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"
    s = tls_factory("--tls-protocols", "TLSv1.2", "--tls-ciphers", f"{a}:{b}")
    client = context(pki.ca.cert_file, pki.client)
    client.set_ciphers(f"{b}:{a}")
    conn = connect(s, client)
    assert conn.cipher()[0] == b  # the client's preference by default
    conn.close()
    s.client().config_set("tls-prefer-server-ciphers", "yes")
    conn = connect(s, client)
    assert conn.cipher()[0] == a
    conn.close()
    # A cipher the server does not allow.
    other = context(pki.ca.cert_file, pki.client)
    other.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
    with pytest.raises(ssl.SSLError):
        connect(s, other)
    healthy(s, pki)


def test_ciphersuites(tls_factory, pki):
    s = tls_factory("--tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
    conn = connect(s, context(pki.ca.cert_file, pki.client))
    assert conn.cipher()[0] == "TLS_CHACHA20_POLY1305_SHA256"
    conn.close()


def resumed(s, pki):
    """Does a TLS 1.2 client without tickets resume its session (which
    needs the server's session cache)?"""
    ctx = context(pki.ca.cert_file, pki.client)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET
    first = connect(s, ctx)
    assert ping(first) == b"+PONG\r\n"
    sess = first.session
    first.close()
    second = connect(s, ctx, session=sess)
    assert ping(second) == b"+PONG\r\n"
    reused = second.session_reused
    second.close()
    return reused


@pytest.mark.cairn_only
def test_session_caching(tls_factory, pki):
    """Cairn says goodbye (close_notify) when a connection ends, which
    keeps its session in the cache; redis-server 7.0 frees connections
    without it, and OpenSSL then drops their sessions, so no session-ID
    resumption works there whatever tls-session-caching says."""
    s = tls_factory()
    assert resumed(s, pki)
    s.client().config_set("tls-session-caching", "no")
    assert not resumed(s, pki)


def test_encrypted_key(tls_factory, pki):
    cert = pki.ca.issue("locked", password="sesame")
    s = tls_factory("--tls-key-file-pass", "sesame", cert=cert)
    t = tls_client(s, pki)
    assert t.ping()
    close(t)
    with pytest.raises(RuntimeError):
        tls_factory("--tls-key-file-pass", "wrong", cert=cert)


def test_start_fails_without_certificate_or_ca(pki):
    with pytest.raises(RuntimeError):
        Server(["--tls-port", str(free_port()), "--tls-cert-file", pki.server[0]])
    with pytest.raises(RuntimeError):
        Server(["--tls-port", str(free_port()), "--tls-cert-file", pki.server[0],
                "--tls-key-file", pki.server[1]])
    with pytest.raises(RuntimeError):
        Server(["--tls-port", str(free_port()), "--tls-cert-file", pki.server[0],
                "--tls-key-file", "/nonexistent/key"])


def test_tls_port_by_config_set(pki, server_factory):
    s = server_factory()
    c = s.client()
    c.config_set("tls-cert-file", pki.server[0])  # not in use yet: accepted as is
    port = free_port()
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        c.config_set("tls-port", port)  # no key, no CA
    assert c.config_get("tls-port") == {"tls-port": "0"}
    c.config_set("tls-key-file", pki.server[1], "tls-ca-cert-file", pki.ca.cert_file)
    c.config_set("tls-port", port)
    s.tls_port = port
    conn = connect(s, context(pki.ca.cert_file, pki.client))
    assert ping(conn) == b"+PONG\r\n"
    conn.close()
    c.config_set("tls-port", 0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert c.ping()


# --- certificate reload --------------------------------------------------------

def test_certificate_reload(tls_factory, pki):
    s = tls_factory(cert=pki.ca.issue("first"))
    before = connect(s, context(pki.ca.cert_file, pki.client))
    assert peer_cn(before) == "first"
    kept = tls_client(s, pki)
    kept.set("k", "v")
    second = pki.ca.issue("second")
    c = s.client()
    assert c.config_set("tls-cert-file", second[0], "tls-key-file", second[1])
    after = connect(s, context(pki.ca.cert_file, pki.client))
    assert peer_cn(after) == "second"
    # Connections made before carry on with their session.
    assert ping(before) == b"+PONG\r\n"
    assert kept.get("k") == "v"
    # A certificate that cannot be loaded changes nothing.
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("tls-cert-file", "/nonexistent/cert.pem")
    assert str(e.value) == ("CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
                            "Unable to update TLS configuration. Check server logs.")
    assert c.config_get("tls-cert-file") == {"tls-cert-file": second[0]}
    mismatched = pki.ca.issue("third")
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        c.config_set("tls-cert-file", mismatched[0])  # does not match the key
    again = connect(s, context(pki.ca.cert_file, pki.client))
    assert peer_cn(again) == "second"
    for conn in (before, after, again):
        conn.close()
    close(kept)
    healthy(s, pki)


@pytest.mark.cairn_only
def test_certificate_reload_same_path(tls_factory, pki):
    """Files renewed in place are re-read by CONFIG SET of the same path
    (Redis 7.0 ignores a CONFIG SET that does not change the value)."""
    s = tls_factory(cert=pki.ca.issue("old", filename="live"))
    conn = connect(s, context(pki.ca.cert_file, pki.client))
    assert peer_cn(conn) == "old"
    live = pki.ca.issue("renewed", filename="live")
    s.client().config_set("tls-cert-file", live[0], "tls-key-file", live[1])
    fresh = connect(s, context(pki.ca.cert_file, pki.client))
    assert peer_cn(fresh) == "renewed"
    assert ping(conn) == b"+PONG\r\n"
    conn.close()
    fresh.close()


def test_node_to_node_settings_accepted(tls_factory, pki):
    s = tls_factory("--tls-replication", "yes", "--tls-cluster", "yes")
    got = s.client().config_get("tls-replication")
    assert got == {"tls-replication": "yes"}
    assert s.client().config_get("tls-cluster") == {"tls-cluster": "yes"}
    assert s.client().config_set("tls-replication", "no")
