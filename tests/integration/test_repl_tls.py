"""TLS between nodes (tls-replication yes): a Raft group whose nodes listen
on a TLS port only and reach each other over TLS with client certificates,
a node whose certificate another CA signed kept out, and REPLICAOF of a
redis-server master over its TLS port.  Certificates are made by the test
(tlscerts.py).

The group tests are Cairn-only (Redis has no consensus replication); the
REPLICAOF test passes against redis-server as the replica too
(CAIRN_TEST_SERVER=redis)."""
import shutil
import tempfile
import time

import pytest

from conftest import Server, free_port
from raftgroup import Group, close_checked, wait_for
from test_replicaof import master, wait_synced
from tlscerts import CA


class PKI:
    """One CA for the group; each node gets a server certificate (for its
    tls-port) and a client one (tls-client-cert-file, for the links it
    opens: a server-only certificate would be refused as a client's)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-tlsrepl-")
        self.ca = CA(self.dir, "ca")
        self.other_ca = CA(self.dir, "other-ca")
        self.client = self.ca.issue("test-client", server=False)
        # the test's clients talk to the stranger too
        self.both = f"{self.dir}/both-cas.crt"
        with open(self.both, "w") as out:
            for ca in (self.ca, self.other_ca):
                with open(ca.cert_file) as f:
                    out.write(f.read())

    def node_args(self, name, ca=None, password=None):
        """password: the client key is encrypted (tls-client-key-file-pass)."""
        ca = ca or self.ca
        cert, key = ca.issue(f"{name}-server", filename=f"{name}-server")
        ccert, ckey = ca.issue(f"{name}-client", server=False, filename=f"{name}-client",
                               password=password)
        args = ["--tls-cert-file", cert, "--tls-key-file", key,
                "--tls-client-cert-file", ccert, "--tls-client-key-file", ckey,
                "--tls-ca-cert-file", self.ca.cert_file, "--tls-auth-clients", "yes",
                "--tls-replication", "yes"]
        if password:
            args += ["--tls-client-key-file-pass", password]
        return args

    def client_kw(self):
        return {"ssl": True, "ssl_ca_certs": self.both,
                "ssl_certfile": self.client[0], "ssl_keyfile": self.client[1]}


@pytest.fixture
def pki(monkeypatch):
    p = PKI()
    # redis-py makes a new default context per connection, which reads the
    # system's CA store (a quarter of a second each): point it at ours
    monkeypatch.setenv("SSL_CERT_FILE", p.both)
    monkeypatch.setenv("SSL_CERT_DIR", p.dir)
    yield p
    shutil.rmtree(p.dir, ignore_errors=True)


def tls_group(pki, foreign=()):
    """Three nodes on TLS ports only; those in foreign have certificates
    from another CA (they still trust the group's)."""
    args = {}

    def node_args(node):
        if node.id not in args:
            ca = pki.other_ca if node.id in foreign else pki.ca
            args[node.id] = pki.node_args(f"node{node.id}", ca,
                                          password="sesame" if node.id == 2 else None)
        return args[node.id]

    return Group(3, tls_args=node_args, client_kw=pki.client_kw())


@pytest.mark.cairn_only
def test_group_over_tls_only(pki):
    g = tls_group(pki)
    try:
        n1 = g.nodes[0]
        with n1.client() as c:
            assert c.config_get("port") == {"port": "0"}
            assert c.config_get("tls-replication") == {"tls-replication": "yes"}
        lead = g.leader(timeout=15)
        with lead.client() as c:
            for i in range(50):
                c.set(f"k{i}", i)
        g.wait_applied(g.nodes)
        follower = next(n for n in g.nodes if n.id != lead.id)
        with follower.client() as c:
            assert c.get("k49") == "49"
            # forwarded to the leader over a TLS connection
            assert c.incr("counter") == 1
            assert c.set("from-follower", "yes")
        with lead.client() as c:
            assert c.get("counter") == "1"
            assert c.get("from-follower") == "yes"
        g.wait_same_digest(g.nodes)

        lead.kill()
        new = g.leader(timeout=15, exclude=(lead.id,))
        assert new.id != lead.id
        with new.client() as c:
            assert c.incr("counter") == 2
            c.set("after-failover", "1")
        lead.start()  # rejoins over TLS from its directory
        g.wait_applied(g.nodes, timeout=30)
        with lead.client() as c:
            assert c.get("after-failover") == "1"
        g.wait_same_digest(g.nodes)
        for n in g.nodes:
            assert "certificate verify failed" not in n.read_log()
    finally:
        close_checked(g)


def members_agree(lead, members):
    """Every member applied the leader's commit index and has its dataset."""
    commit = lead.info()["raft_commit_index"]
    if any(n.info()["raft_applied_index"] < commit for n in members):
        return False
    return len({n.digest() for n in members}) == 1


@pytest.mark.cairn_only
def test_node_of_another_ca_cannot_join(pki):
    g = tls_group(pki, foreign=(3,))
    try:
        stranger = g.node(3)
        members = [g.node(1), g.node(2)]
        lead = g.leader(timeout=15, exclude=(3,))
        assert lead.id in (1, 2)
        with lead.client() as c:
            for i in range(20):
                c.set(f"k{i}", i)  # acknowledged by a majority: 1 and 2
        wait_for("the members to agree", lambda: members_agree(lead, members))
        other = next(n for n in members if n.id != lead.id)
        with other.client() as c:
            assert c.get("k19") == "19"

        # the members refuse the stranger's certificate, and it theirs
        name = f"Raft link to node 3 at {stranger.addr()}: TLS handshake failed: " \
               "certificate verify failed: unable to get local issuer certificate"
        wait_for("the refusal in the log", lambda: name in lead.read_log(), timeout=10)
        wait_for("the stranger's failure in its log",
                 lambda: f"Raft link to node {lead.id} at {lead.addr()}: TLS" in
                 stranger.read_log(), timeout=10)
        # logged once per reason and minute, not at every retry
        assert lead.read_log().count(name) == 1
        # nothing reached it
        info = stranger.info()
        assert info["raft_leader_id"] not in (1, 2)
        assert info["raft_applied_index"] < lead.info()["raft_commit_index"]
        assert stranger.digest() != lead.digest()
    finally:
        close_checked(g)


def test_replicaof_tls_master(pki):
    """The replica reaches the master's TLS port once tls-replication is
    on (CONFIG SET: it applies to the next connection)."""
    tls_port = free_port()
    cert, key = pki.ca.issue("master", filename="master")
    m = master("--tls-port", str(tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
               "--tls-ca-cert-file", pki.ca.cert_file, "--tls-auth-clients", "yes")
    # its tls-cert-file serves as its client certificate too
    rcert, rkey = pki.ca.issue("replica", filename="replica", client_too=True)
    r = Server(["--tls-cert-file", rcert, "--tls-key-file", rkey,
                "--tls-ca-cert-file", pki.ca.cert_file])
    try:
        cm, cr = m.client(), r.client()
        for i in range(200):
            cm.set(f"k{i}", i)
        cm.rpush("list", *range(100))
        cr.replicaof("127.0.0.1", tls_port)
        # in plain text the TLS port never gets as far as a sync
        time.sleep(1.5)
        assert cr.info("replication")["master_link_status"] == "down"
        assert cr.dbsize() == 0
        cr.config_set("tls-replication", "yes")
        wait_synced(m, r, timeout=30)
        cm.set("after", "sync")
        cm.incr("k1")
        wait_synced(m, r, timeout=30)
        assert cr.get("after") == "sync" and cr.get("k1") == "2"
        assert cr.lrange("list", 0, -1) == [str(i) for i in range(100)]
        assert cr.dbsize() == cm.dbsize() == 202
        assert cr.get("k199") == "199"
        # the master sees its replica on the TLS port
        links = [c for c in cm.client_list() if "S" in c["flags"]]
        assert [c["laddr"] for c in links] == [f"127.0.0.1:{tls_port}"]
        cm.close()
        cr.close()
    finally:
        r.stop()
        m.stop()


@pytest.mark.cairn_only
def test_replicaof_master_of_another_ca_logged(pki):
    tls_port = free_port()
    cert, key = pki.other_ca.issue("master", filename="master")
    m = master("--tls-port", str(tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
               "--tls-ca-cert-file", pki.other_ca.cert_file, "--tls-auth-clients", "no")
    rcert, rkey = pki.ca.issue("replica", filename="replica", client_too=True)
    r = Server(["--tls-cert-file", rcert, "--tls-key-file", rkey,
                "--tls-ca-cert-file", pki.ca.cert_file, "--tls-replication", "yes"])
    try:
        with r.client() as cr:
            cr.replicaof("127.0.0.1", tls_port)
            # (Redis sends its CA with its certificate: a chain ending in
            # a self-signed certificate not trusted here)
            why = "Error condition on socket for SYNC: TLS handshake failed: " \
                  "certificate verify failed: self-signed certificate in certificate chain"
            deadline = time.time() + 10
            while why not in r.read_log() and time.time() < deadline:
                time.sleep(0.05)
            assert why in r.read_log(), r.read_log()
            assert cr.info("replication")["master_link_status"] == "down"
    finally:
        r.stop()
        m.stop()

