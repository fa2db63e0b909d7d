"""A Raft group mixing an embedded libcairn member with cairn-server nodes
(issue 14, "Embedded nodes"; Cairn-only).

Node 1 is tests/embed/raft_node.c: a libcairn handle opened as member 1 of
the group, whose commands these tests run through cairn_command() (one JSON
request per line on its stdin).  Nodes 2 and 3 are cairn-server processes.
The embedded node also listens on its own address in the peer list, as
every node does, so the servers reach it and the tests can ask it INFO.
"""
import json
import os
import select
import signal
import subprocess
import time

import pytest
import redis

from conftest import cairn_binary
from raftgroup import SECRET, Group, Node
from test_repl_tls import PKI, pki  # noqa: F401 (a fixture)

pytestmark = pytest.mark.cairn_only

CAIRN_TIMEOUT = 9


def helper_binary():
    path = os.path.join(os.path.dirname(cairn_binary()), "raft_node")
    if not os.path.exists(path):
        pytest.skip(f"{path} not built")
    return path


def settings_of(flags):
    """cairn-server's flags (--name value ...) as cairn_options.config's
    name/value pairs: the same names."""
    assert len(flags) % 2 == 0 and all(f.startswith("--") for f in flags[::2]), flags
    return [a[2:] if i % 2 == 0 else a for i, a in enumerate(flags)]


class EmbedNode(Node):
    """A member of the group that is a libcairn handle in a process of the
    test's (raft_node), not a server.  It takes the group's TLS settings,
    and settings (server flags) and setup (commands run once it is open)
    of its own."""

    timeout_ms = 10000
    settings = ()
    setup = ()

    def start(self):
        flags = list(self.settings)
        if self.group.tls_args:
            flags += self.group.tls_args(self)
        self.log = open(self.logfile, "a")
        self.proc = subprocess.Popen(
            [helper_binary(), self.dir, str(self.id), self.peers or self.group.peers, SECRET,
             str(self.timeout_ms), *settings_of(flags)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.start_failed("(embedded) did not open")
        for cmd in self.setup:
            assert self.call(*cmd) == "OK", cmd

    def call(self, *args):
        """cairn_command() on the handle: the reply as JSON (an error reply
        is {"error": ...}, a failed call {"rc": ..., "msg": ...})."""
        self.proc.stdin.write(json.dumps([str(a) for a in args]) + "\n")
        self.proc.stdin.flush()
        # the handle bounds its own waits (timeout_ms): longer is a hang
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_ms / 1000 + 30)
        if not ready:
            raise AssertionError(f"the embedded node did not answer {args}")
        return json.loads(self.proc.stdout.readline())

    def stop(self):
        """End of input: the handle closes (its thread joined) and the
        process exits 0 -- under ASan, with no leak."""
        if not self.alive():
            self.kill()
            return self.proc.returncode if self.proc else 0
        self.proc.stdin.close()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.log = None
        return self.proc.returncode

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.proc:
            for f in (self.proc.stdin, self.proc.stdout):
                if f and not f.closed:
                    try:
                        f.close()
                    except OSError:
                        pass
        if self.log:
            self.log.close()
            self.log = None


@pytest.fixture
def mixed():
    g = Group(size=3, node_class=lambda node_id: EmbedNode if node_id == 1 else Node)
    yield g
    killed = not g.nodes[0].alive()
    codes = g.close()
    assert killed or codes[1] == 0, f"the embedded node did not close cleanly: {codes}"


def transfer_to(group, target, timeout=10.0):
    """Make target the leader (RAFT TRANSFER-LEADER, retried until it
    holds)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        lead = group.leader(timeout=timeout)
        if lead is target:
            return
        if isinstance(lead, EmbedNode):
            lead.call("RAFT", "TRANSFER-LEADER", target.id)
        else:
            with lead.client() as c:
                try:
                    c.execute_command("RAFT", "TRANSFER-LEADER", target.id)
                except Exception:
                    pass
        time.sleep(0.2)
    raise AssertionError(f"node {target.id} did not take the lead")


def server_get(node, key):
    with node.client() as c:
        return c.get(key)


def test_embedded_member_leads_and_follows(mixed):
    emb, s2, s3 = mixed.nodes
    mixed.leader(timeout=10)

    # the embedded node leads: its write is acknowledged once committed,
    # and the servers (linearizable reads) see it at once
    transfer_to(mixed, emb)
    assert emb.call("SET", "k-lead", "from-embedded-leader") == "OK"
    assert emb.call("INCR", "counter") == 1
    assert server_get(s2, "k-lead") == "from-embedded-leader"
    assert server_get(s3, "counter") == "1"
    assert emb.call("ROLE")[0] == "master"

    # a server leads: the embedded follower forwards its writes ...
    transfer_to(mixed, s2)
    assert emb.call("ROLE")[0] == "slave"
    assert emb.call("SET", "k-follow", "from-embedded-follower") == "OK"
    assert emb.call("INCR", "counter") == 2
    assert server_get(s2, "k-follow") == "from-embedded-follower"
    assert server_get(s3, "counter") == "2"
    # ... and its reads see every write acknowledged before (ReadIndex)
    with s2.client() as c:
        for i in range(100):
            c.set("k-server", f"v{i}")
            assert emb.call("GET", "k-server") == f"v{i}"
    assert emb.call("GET", "k-follow") == "from-embedded-follower"

    # the server leader dies: the group (the embedded node with the other
    # server) elects another leader and keeps serving through the handle
    s2.kill()
    deadline = time.time() + 15
    reply = None
    while time.time() < deadline:
        reply = emb.call("SET", "k-after", "after-failover")
        if reply == "OK":
            break
        time.sleep(0.1)
    assert reply == "OK", reply
    assert emb.call("INCR", "counter") == 3
    lead = mixed.leader(timeout=10)
    assert lead in (emb, s3)
    assert server_get(s3, "k-after") == "after-failover"
    assert emb.call("GET", "counter") == "3"

    digest = mixed.wait_same_digest([emb, s3])
    assert emb.call("DEBUG", "DIGEST") == digest


def test_embedded_leader_killed(mixed):
    emb, s2, s3 = mixed.nodes
    mixed.leader(timeout=10)
    transfer_to(mixed, emb)
    for i in range(50):
        assert emb.call("RPUSH", "list", i) == i + 1
    # the embedded leader dies with the process that holds it
    emb.kill()
    lead = mixed.leader(timeout=10, exclude=(emb.id,))
    assert lead in (s2, s3)
    with lead.client() as c:
        assert c.llen("list") == 50  # every acknowledged write survived
        c.rpush("list", "after")
    assert server_get(s2, "k") is None
    mixed.wait_same_digest([s2, s3])


def test_embedded_follower_forwards_transactions(mixed):
    """MULTI ... EXEC with writes on an embedded follower goes to the
    leader as one unit at EXEC, as a server follower's does (the same
    code: src/net/forward.c)."""
    emb, s2, s3 = mixed.nodes
    mixed.leader(timeout=10)
    transfer_to(mixed, s2)
    assert emb.call("MULTI") == "OK"
    for cmd in (("SET", "t", "1"), ("INCR", "tc"), ("RPUSH", "tl", "a", "b"), ("GET", "t")):
        assert emb.call(*cmd) == "QUEUED"
    assert emb.call("EXEC") == ["OK", 1, 2, "1"]
    assert server_get(s3, "t") == "1" and server_get(s3, "tc") == "1"
    # the handle is out of MULTI: a plain write and a second transaction
    assert emb.call("INCR", "tc") == 2
    assert emb.call("MULTI") == "OK"
    assert emb.call("INCRBY", "tc", 10) == "QUEUED"
    assert emb.call("EXEC") == [12]
    # a read-only transaction runs here; DISCARD drops a queued write
    assert emb.call("MULTI") == "OK"
    assert emb.call("GET", "tc") == "QUEUED"
    assert emb.call("EXEC") == ["12"]
    assert emb.call("MULTI") == "OK"
    assert emb.call("SET", "t", "dropped") == "QUEUED"
    assert emb.call("DISCARD") == "OK"
    assert server_get(s2, "t") == "1"
    # a queueing error aborts it, and WATCH cannot be honoured here
    assert emb.call("MULTI") == "OK"
    assert "wrong number of arguments" in emb.call("SET", "t")["error"]
    assert emb.call("EXEC")["error"].startswith("EXECABORT Transaction discarded because of "
                                                "previous errors")
    assert emb.call("WATCH", "t") == "OK"
    assert emb.call("MULTI") == "OK"
    assert emb.call("SET", "t", "2") == "QUEUED"
    assert "a transaction that WATCHes keys must run on the leader" in emb.call("EXEC")["error"]
    assert server_get(s2, "t") == "1"
    # the same transaction through the embedded member's own port (a
    # client of its network layer, not the handle)
    with emb.client() as c:
        p = c.pipeline()
        p.set("p", "v").incr("tc")
        assert p.execute() == [True, 13]
        # a WATCH there pins the client to the leader, as on a server
        with c.pipeline() as p:
            p.watch("t")
            assert p.get("t") == "1"
            p.multi()
            p.set("t", "3")
            assert p.execute() == [True]
    assert server_get(s2, "t") == "3"
    digest = mixed.wait_same_digest(mixed.nodes)
    assert emb.call("DEBUG", "DIGEST") == digest


def test_embedded_follower_forwards_scripts(mixed):
    """A script that may write, run by the handle of an embedded follower,
    goes to the leader as a server follower's does: EVAL, EVALSHA (as EVAL
    with the script from the handle's own cache: the leader never saw it),
    FCALL, in a transaction too; a read-only one runs here."""
    emb, s2, s3 = mixed.nodes
    mixed.leader(timeout=10)
    transfer_to(mixed, s2)
    push = "redis.call('incr', KEYS[1]) return redis.call('rpush', KEYS[2], ARGV[1])"
    assert emb.call("EVAL", push, 2, "sn", "sl", "a") == 1
    sha = emb.call("SCRIPT", "LOAD", push)
    with s2.client() as c:
        c.script_flush()
    assert emb.call("EVALSHA", sha, 2, "sn", "sl", "b") == 2
    lib = ("#!lua name=elib\nredis.register_function('bump', function(keys) "
           "return redis.call('incrby', keys[1], 10) end)")
    assert emb.call("FUNCTION", "LOAD", lib) == "elib"
    assert emb.call("FCALL", "bump", 1, "sn") == 12
    assert emb.call("MULTI") == "OK"
    assert emb.call("EVALSHA", sha, 2, "sn", "sl", "c") == "QUEUED"
    assert emb.call("EXEC") == [3]
    assert emb.call("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "sn") == "13"
    with s2.client() as c:
        assert c.info("commandstats").get("cmdstat_eval_ro") is None
        assert c.lrange("sl", 0, -1) == ["a", "b", "c"] and c.get("sn") == "13"
    digest = mixed.wait_same_digest(mixed.nodes)
    assert emb.call("DEBUG", "DIGEST") == digest


class QuickEmbedNode(EmbedNode):
    timeout_ms = 2000


def test_embedded_leader_without_majority_acknowledges_nothing():
    g = Group(size=3, node_class=lambda node_id: QuickEmbedNode if node_id == 1 else Node)
    try:
        emb, s2, s3 = g.nodes
        g.leader(timeout=10)
        transfer_to(g, emb)
        assert emb.call("SET", "a", "1") == "OK"
        # the leader is cut off from both servers: a write can't commit and
        # a read can't be confirmed, so neither is answered as a success
        for s in (s2, s3):
            s.proc.send_signal(signal.SIGSTOP)
        try:
            write = emb.call("SET", "b", "2")
            read = emb.call("GET", "a")
        finally:
            for s in (s2, s3):
                s.proc.send_signal(signal.SIGCONT)
        for reply in (write, read):
            assert isinstance(reply, dict), reply
            assert (reply.get("rc") in (CAIRN_TIMEOUT, 1) or
                    "CLUSTERDOWN" in reply.get("error", "")), reply
        # the group comes back and serves through the handle again
        deadline = time.time() + 20
        while time.time() < deadline and emb.call("SET", "c", "3") != "OK":
            time.sleep(0.1)
        assert emb.call("GET", "c") == "3"
        assert emb.call("GET", "a") == "1"
        g.wait_same_digest([emb, s2, s3])
    finally:
        codes = g.close()
    assert codes[1] == 0, f"the embedded node did not close cleanly: {codes}"


USERS = ("--user", "default", "reset", "on", ">cpw", "~*", "&*", "+@all",
         "--user", "node", "on", ">npw", "~*", "&*", "+@all")
NODE_AUTH = ("--masteruser", "node", "--masterauth", "npw")


class SecureEmbedNode(EmbedNode):
    """The embedded member of a group whose nodes require a password and
    talk over TLS only: the same settings as the servers' (their users are
    made with ACL SETUSER, `user` being a directive, not a setting; the
    handle's own session authenticates as any connection does)."""

    settings = ("--requirepass", "cpw") + NODE_AUTH
    setup = (("AUTH", "cpw"), ("ACL", "SETUSER", "node", "on", ">npw", "~*", "&*", "+@all"))


def test_embedded_member_over_tls_with_node_auth(pki):
    """Node links require `AUTH node npw` and TLS with the group's CA, on
    the servers and on the embedded member alike: the member's links (Raft
    and forwarded writes) present its client certificate and authenticate
    as the servers' do, and its port is a TLS port that the servers'
    links and the test's clients reach."""
    args = {}

    def node_args(node):
        if node.id not in args:
            args[node.id] = pki.node_args(f"node{node.id}")
        return args[node.id]

    g = Group(3, extra_args=USERS + NODE_AUTH, tls_args=node_args,
              client_kw=dict(pki.client_kw(), password="cpw"),
              node_class=lambda node_id: SecureEmbedNode if node_id == 1 else Node)
    try:
        emb, s2, s3 = g.nodes
        g.leader(timeout=15)
        # the embedded node leads: its writes commit over its TLS links
        transfer_to(g, emb, timeout=20)
        assert emb.call("SET", "k-lead", "embedded") == "OK"
        assert emb.call("INCR", "counter") == 1
        assert server_get(s2, "k-lead") == "embedded"
        # a server leads: the embedded follower forwards over TLS
        transfer_to(g, s2, timeout=20)
        assert emb.call("INCR", "counter") == 2
        assert emb.call("SET", "k-follow", "forwarded") == "OK"
        assert server_get(s3, "k-follow") == "forwarded"
        assert server_get(s3, "counter") == "2"
        # the embedded node's port takes TLS clients with the password
        with emb.client() as c:
            assert c.get("counter") == "2"
            # its INFO has the clients section of a server's
            clients = c.info("clients")
            assert clients["connected_clients"] >= 1 and clients["maxclients"] == 10000
        with emb.client(password=None) as c:
            with pytest.raises(redis.AuthenticationError):
                c.get("counter")
        digest = g.wait_same_digest(g.nodes)
        assert emb.call("DEBUG", "DIGEST") == digest
        for n in g.nodes:
            log = n.read_log()
            assert "certificate verify failed" not in log and "NOAUTH" not in log, log[-2000:]
    finally:
        codes = g.close()
    assert codes[1] == 0, f"the embedded node did not close cleanly: {codes}"
