"""The docs against the server: docs/commands.md is generated from the
command table and must match what COMMAND and COMMAND DOCS report now; the
group of three of docs/replication.md runs under the template unit as
documented."""
import importlib.util
import os
import re
import subprocess

import pytest
import redis

from conftest import ROOT, cairn_binary, free_port, wait_for
from test_supervised import Notify


@pytest.mark.cairn_only
def test_command_docs_are_current(server):
    spec = importlib.util.spec_from_file_location(
        "gen_command_docs", os.path.join(ROOT, "scripts", "gen_command_docs.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    client = server.client()
    client.response_callbacks.pop("COMMAND", None)
    with open(os.path.join(ROOT, "docs", "commands.md")) as f:
        committed = f.read()
    assert gen.render(client) == committed, \
        "docs/commands.md is stale: run scripts/gen_command_docs.py"


# ---- docs/replication.md, "Running a group under systemd" ----

def group_section():
    with open(os.path.join(ROOT, "docs", "replication.md")) as f:
        text = f.read()
    start = text.index("## Running a group under systemd")
    return text[start:text.index("\n## ", start + 1)]


def doc_node_config(n, ports, tmp):
    """Node n's configuration file exactly as the documented shell writes it
    on machine 10.0.0.n, moved to loopback ports and to tmp."""
    heredoc = re.search(r"<<EOF\n(.*?\n)EOF\n", group_section(), re.S).group(1)
    conf = heredoc.replace("$N", str(n))
    for k, port in enumerate(ports, 1):
        conf = conf.replace(f"10.0.0.{k}:700{k}", f"127.0.0.1:{port}")
    conf = conf.replace(f"port 700{n}\n", f"port {ports[n - 1]}\n")
    conf = conf.replace(f"bind 10.0.0.{n}\n", "bind 127.0.0.1\n")
    conf = conf.replace("/var/lib/cairn", str(tmp / "lib")).replace("/var/log/cairn",
                                                                   str(tmp / "log"))
    assert "10.0.0." not in conf and "/var/" not in conf, conf
    return conf


def template_argv(n, conf_path):
    """The template unit's ExecStart for instance n, with the built binary
    and conf_path standing in for the installed ones."""
    unit = os.path.join(ROOT, "dist", "cairn-server@.service")
    with open(unit) as f:
        line = next(ln for ln in f if ln.startswith("ExecStart="))
    argv = line[len("ExecStart="):].replace("%i", str(n)).split()
    assert argv[0] == "/usr/local/bin/cairn-server"
    assert argv[1] == f"/etc/cairn/node-{n}.conf"
    return [cairn_binary(), conf_path, *argv[2:]]


class DocNode:
    """A node started as systemd would start cairn-server@n: the template's
    command line, the documented configuration, a notification socket, and
    its state and log directories made first (StateDirectory=,
    LogsDirectory=)."""

    def __init__(self, n, ports, tmp):
        self.n, self.port = n, ports[n - 1]
        self.conf = str(tmp / f"node-{n}.conf")
        with open(self.conf, "w") as f:
            f.write(doc_node_config(n, ports, tmp))
        os.makedirs(tmp / "lib" / f"node-{n}", exist_ok=True)
        os.makedirs(tmp / "log", exist_ok=True)
        self.proc = None

    def start(self):
        self.notify = Notify()
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.env)
        self.proc = subprocess.Popen(template_argv(self.n, self.conf), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.notify.wait_for("READY=1", timeout=20)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.notify.wait_for("STOPPING=1", timeout=20)
            assert self.proc.wait(20) == 0
        self.notify.close()

    def client(self):
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=10)

    def info(self):
        with self.client() as c:
            return c.info("replication")


def leader_of(nodes):
    for node in nodes:
        try:
            if node.info()["raft_state"] == "leader":
                return node
        except redis.RedisError:
            pass
    return None


def healthy(nodes):
    """The documented signs of a healthy group of three."""
    infos = [n.info() for n in nodes]
    leads = [i for i in infos if i["raft_state"] == "leader"]
    if len(leads) != 1:
        return False
    lead = leads[0]
    follows = [i for i in infos if i is not lead]
    return (lead["role"] == "master" and lead["connected_slaves"] == 2
            and all(i["raft_state"] == "follower" and i["master_link_status"] == "up"
                    and i["raft_leader_id"] == lead["raft_id"] for i in follows)
            and all(i["raft_term"] == lead["raft_term"] and i["raft_voters"] == 3
                    for i in infos)
            and all(i["raft_applied_index"] == lead["raft_commit_index"] for i in follows))


@pytest.mark.cairn_only
def test_group_under_systemd_as_documented(tmp_path):
    """The three documented node files, run by the template unit's command
    line: each node notifies READY=1 on its own (no start order: node 1 is
    ready, answering -CLUSTERDOWN, before the others start), the group
    checks out as documented, and a rolling restart (a follower restarted,
    then leadership transferred to it) keeps the data."""
    ports = [free_port() for _ in range(3)]
    nodes = [DocNode(n, ports, tmp_path) for n in (1, 2, 3)]
    try:
        nodes[0].start()
        with nodes[0].client() as c, pytest.raises(redis.ResponseError, match="CLUSTERDOWN"):
            c.get("k")
        for node in nodes[1:]:
            node.start()
        assert wait_for(lambda: healthy(nodes)), [n.info() for n in nodes]
        lead = leader_of(nodes)
        with lead.client() as c:
            role = c.execute_command("ROLE")
            members = c.execute_command("RAFT", "NODES")
        assert role[0] == "master" and len(role[2]) == 2
        assert sorted(int(dict(zip(m[::2], m[1::2]))["id"]) for m in members) == [1, 2, 3]
        follower = next(n for n in nodes if n is not lead)
        with follower.client() as c:
            assert c.set("k", "v")
        # rolling restart: the follower, then leadership to it
        follower.stop()
        follower.start()
        assert wait_for(lambda: healthy(nodes))
        with lead.client() as c:
            assert c.execute_command("RAFT", "TRANSFER-LEADER", str(follower.n)) == "OK"
        assert wait_for(lambda: leader_of(nodes) is follower and healthy(nodes))
        for node in nodes:
            with node.client() as c:
                assert c.get("k") == "v"
    finally:
        for node in nodes:
            if node.proc:
                if node.proc.poll() is None:
                    node.proc.kill()
                    node.proc.wait()
                node.notify.close()
