"""Host names in raft-peers and RAFT ADD-NODE (docker-compose service
names, a Kubernetes StatefulSet's cairn-0.cairn): nodes look them up off
the loop on every connect attempt.  A group named with `localhost` elects
and forwards writes; in a network namespace with a hosts file of its own
(netns_names.py, root only), a name that does not resolve at first is
logged and retried while the rest of the group elects, the node joins once
its name resolves, a node that comes back at another address is found
there, and protected mode lets in the addresses the names resolve to.
Cairn-only."""
import os
import subprocess
import sys

import pytest
import redis

from raftgroup import Group, Node, close_checked, wait_for
from test_repl_embed import EmbedNode, transfer_to
from test_repl_netns import can_unshare

from conftest import cairn_binary, free_port

pytestmark = pytest.mark.cairn_only

HERE = os.path.dirname(os.path.abspath(__file__))


def test_group_named_with_localhost():
    g = Group(peer_host="localhost")
    try:
        lead = g.leader(timeout=15)
        follower = next(n for n in g.nodes if n is not lead)
        with follower.client() as c:
            assert c.set("k", "v")  # forwarded to the leader by name
            assert c.get("k") == "v"
        with lead.client() as c:
            assert c.info("replication")["connected_slaves"] == 2
        g.wait_same_digest(g.nodes)
    finally:
        close_checked(g)


def test_raft_add_node_by_name():
    group = Group(peer_host="localhost")
    try:
        add_node_by_name(group)
    finally:
        close_checked(group)


def add_node_by_name(group):
    lead = group.leader(timeout=15)
    n = Node(group, 4, free_port(),
             peers=",".join(f"{p.id}@localhost:{p.port}" for p in group.nodes))
    group.nodes.append(n)
    n.start()
    with lead.client() as c:
        assert c.execute_command("RAFT", "ADD-NODE", 4, f"localhost:{n.port}") == "OK"
        with pytest.raises(redis.ResponseError, match="'no such' is not an IP address or a host"):
            c.execute_command("RAFT", "ADD-NODE", 5, "no such:7005")
    wait_for("node 4 is promoted",
             lambda: lead.raft_nodes().get(4, {}).get("role") == "voter", timeout=20)
    group.wait_same_digest(group.nodes)


def test_embedded_member_with_localhost_names():
    """An embedded member (libcairn) shares the links and the forwarder."""
    g = Group(peer_host="localhost", node_class=lambda i: EmbedNode if i == 1 else Node)
    try:
        emb, s2, _ = g.nodes
        g.leader(timeout=15)
        transfer_to(g, s2)
        assert emb.call("SET", "k1", "forwarded by name") == "OK"
        transfer_to(g, emb)
        assert emb.call("SET", "k2", "led") == "OK"
        with s2.client() as c:
            assert c.mget("k1", "k2") == ["forwarded by name", "led"]
        g.wait_same_digest(g.nodes)
    finally:
        g.close()


def test_a_malformed_host_name_stops_the_server(tmp_path):
    p = subprocess.run([cairn_binary(), "--port", "0", "--dir", str(tmp_path), "--raft-id", "1",
                        "--raft-peers", "1@127.0.0.1:7001,2@no/de:7002"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "'no/de' is not an IP address or a host name" in p.stdout + p.stderr


@pytest.mark.skipif(not can_unshare(), reason="cannot create a network namespace")
def test_names_resolved_late_and_renamed_in_a_namespace():
    p = subprocess.run(["unshare", "--mount", "--net", sys.executable,
                        os.path.join(HERE, "netns_names.py"), cairn_binary()],
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    for step in ("elected without node 3", "failure logged once", "node 3 joined",
                 "renamed node found", "protected mode follows the name"):
        assert step in out, out
