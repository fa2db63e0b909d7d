"""Run by test_repl_names.py inside a mount and network namespace of its
own (`unshare --mount --net`): node names come from a hosts file the
script bind-mounts on /etc/hosts (with `hosts: files` only, so no lookup
leaves the machine), rewritten as the nodes move.  The group listens on
10.77.0.x, starts as the docs say (no password, protected mode on).
Prints one line per check; exits non-zero on the first that fails."""
import os
import socket
import subprocess
import sys
import tempfile
import time

import redis

from netns_util import sh, wait

BIN = sys.argv[1]
PORT = 7001
ADDR = {1: "10.77.0.1", 2: "10.77.0.2", 3: "10.77.0.3"}
MOVED = "10.77.0.5"     # node 2's address after it moves
OUTSIDER = "10.77.0.9"  # no node's
PEERS = ",".join(f"{i}@cairn-{i}:{PORT}" for i in ADDR)

def write_hosts(path, names):
    """Rewritten in place: the bind mount follows the file's inode."""
    with open(path, "w") as f:
        f.write("127.0.0.1 localhost\n")
        for i, a in names.items():
            f.write(f"{a} cairn-{i}\n")


def ping_from(src, node_addr):
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((node_addr, PORT))
    s.sendall(b"PING\r\n")
    got = s.recv(100)
    s.close()
    return got


def main():
    top = tempfile.mkdtemp(prefix="cairn-names-")
    hosts = os.path.join(top, "hosts")
    nss = os.path.join(top, "nsswitch.conf")
    with open(nss, "w") as f:
        f.write("hosts: files\n")
    write_hosts(hosts, {1: ADDR[1], 2: ADDR[2]})  # cairn-3 unknown at first
    sh("mount", "--bind", hosts, "/etc/hosts")
    sh("mount", "--bind", nss, "/etc/nsswitch.conf")
    sh("ip", "link", "set", "lo", "up")
    for a in list(ADDR.values()) + [MOVED, OUTSIDER]:
        sh("ip", "addr", "add", f"{a}/32", "dev", "lo")
    procs, logs = {}, {}

    def start(i, addr):
        d = os.path.join(top, str(i))
        logs[i] = os.path.join(top, f"log{i}")
        procs[i] = subprocess.Popen(
            [BIN, "--port", str(PORT), "--bind", addr, "--dir", d, "--raft-id", str(i),
             "--raft-peers", PEERS], stdout=open(logs[i], "a"), stderr=subprocess.STDOUT)

    def client(addr):
        return redis.Redis(host=addr, port=PORT, decode_responses=True, socket_timeout=5)

    def leader_of(addrs):
        for a in addrs:
            if client(a).info("replication")["raft_state"] == "leader":
                return client(a)
        return None

    try:
        for i in ADDR:
            start(i, ADDR[i])
        wait("nodes 1 and 2 elect a leader",
             lambda: leader_of([ADDR[1], ADDR[2]]) is not None)
        print("elected without node 3")
        # a new leader answers CLUSTERDOWN until it applied earlier terms
        wait("a write on the leader", lambda: leader_of([ADDR[1], ADDR[2]]).set("k", "v1"))
        lead = leader_of([ADDR[1], ADDR[2]])
        time.sleep(1.5)  # a dozen attempts to reach cairn-3
        with open(logs[1]) as f1, open(logs[2]) as f2:
            text = f1.read() + f2.read()
        n = text.count("can't resolve 'cairn-3'")
        if n != 2:  # once per node: rate limited, not once per attempt
            raise SystemExit(f"FAIL: {n} resolution failures logged:\n{text}")
        print("failure logged once")
        write_hosts(hosts, {1: ADDR[1], 2: ADDR[2], 3: ADDR[3]})
        wait("node 3 applies the group's writes",
             lambda: client(ADDR[3]).info("replication")["raft_applied_index"]
             >= lead.info("replication")["raft_commit_index"] > 0)
        print("node 3 joined")
        # node 2 comes back at another address under the same name
        if ping_from(MOVED, ADDR[1]).startswith(b"+PONG"):
            raise SystemExit("FAIL: the address was let in before it was a node's")
        procs[2].terminate()
        procs[2].wait(30)
        write_hosts(hosts, {1: ADDR[1], 2: MOVED, 3: ADDR[3]})
        start(2, MOVED)
        wait("a write on a leader among nodes 1 and 3",
             lambda: leader_of([ADDR[1], ADDR[3]]).set("k", "v2"))
        lead = leader_of([ADDR[1], ADDR[3]])
        wait("node 2 applies writes at its new address",
             lambda: client(MOVED).info("replication")["raft_applied_index"]
             >= lead.info("replication")["raft_commit_index"])
        if client(MOVED).get("k") != "v2":
            raise SystemExit("FAIL: node 2 did not get the write")
        print("renamed node found")
        # each node learns it at its own next lookup of cairn-2 (a loaded
        # machine may space them out): from then on, only it
        for a in (ADDR[1], ADDR[3]):
            wait(f"the new address is let in by {a}",
                 lambda: ping_from(MOVED, a).startswith(b"+PONG"))
        got = ping_from(OUTSIDER, ADDR[1])
        if not got.startswith(b"-DENIED"):
            raise SystemExit(f"FAIL: an outsider got {got!r}")
        got = ping_from(ADDR[2], ADDR[3])
        if not got.startswith(b"-DENIED"):
            raise SystemExit(f"FAIL: node 2's old address got {got!r}")
        print("protected mode follows the name")
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(30)
        subprocess.run(["rm", "-rf", top])


if __name__ == "__main__":
    main()
