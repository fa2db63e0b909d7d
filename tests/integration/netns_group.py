"""Run by test_repl_netns.py inside a network namespace of its own
(`unshare --net`): a group of three whose nodes listen on 10.77.0.1-3,
addresses that are not loopback ones, started exactly as the docs say
(no password, protected mode on, no --raft-secret).  Prints one line per
check; exits non-zero on the first that fails."""
import os
import socket
import subprocess
import sys
import tempfile

import redis

from netns_util import sh, wait

BIN = sys.argv[1]
ADDRS = [f"10.77.0.{i}" for i in (1, 2, 3)]
OUTSIDER = "10.77.0.9"  # an address of this machine that no node has
PORT = 7001


def main():
    sh("ip", "link", "set", "lo", "up")
    for a in ADDRS + [OUTSIDER]:
        sh("ip", "addr", "add", f"{a}/32", "dev", "lo")
    peers = ",".join(f"{i + 1}@{a}:{PORT}" for i, a in enumerate(ADDRS))
    top = tempfile.mkdtemp(prefix="cairn-netns-")
    procs = []
    try:
        for i, a in enumerate(ADDRS):
            d = os.path.join(top, str(i + 1))
            log = open(os.path.join(top, f"log{i + 1}"), "w")
            procs.append(subprocess.Popen(
                [BIN, "--port", str(PORT), "--bind", a, "--dir", d, "--raft-id", str(i + 1),
                 "--raft-peers", peers], stdout=log, stderr=subprocess.STDOUT))
        clients = [redis.Redis(host=a, port=PORT, decode_responses=True, socket_timeout=5)
                   for a in ADDRS]
        wait("a leader is elected",
             lambda: sum(c.info("replication")["raft_state"] == "leader" for c in clients) == 1)
        print("elected")
        lead = next(c for c in clients if c.info("replication")["raft_state"] == "leader")
        follower = next(c for c in clients if c is not lead)
        assert follower.set("k", "v"), "a write through a follower"
        wait("every node holds the write", lambda: all(c.get("k") == "v" for c in clients))
        print("forwarded")
        # protected mode still refuses an address that is no node's
        s = socket.socket()
        s.settimeout(5)
        s.bind((OUTSIDER, 0))
        s.connect((ADDRS[0], PORT))
        s.sendall(b"PING\r\n")
        got = s.recv(100)
        s.close()
        if not got.startswith(b"-DENIED"):
            raise SystemExit(f"FAIL: an outsider got {got!r}")
        print("outsider denied")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        subprocess.run(["rm", "-rf", top])


if __name__ == "__main__":
    main()
