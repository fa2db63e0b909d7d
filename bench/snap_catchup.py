#!/usr/bin/python3
"""A new node catching up from a snapshot: two cairn-server binaries
alternated in the same run.

Each run starts a one-node group (--raft-snapshot-entries 50), fills it
with about MB megabytes (1 KiB strings, 1000 per script, each script one
log entry), waits for the snapshot to cover them, then starts a new node
and sends RAFT ADD-NODE on the leader.  Reported: the time from ADD-NODE
until the new node installed the snapshot and applied the leader's commit
index, the snapshot's size, and the leader's slowest reply to PING (sent
back to back by another thread) during the transfer.

Usage: bench/snap_catchup.py OLD_BIN NEW_BIN
Environment: MB (200), ROUNDS (3).
"""
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import raftgroup  # noqa: E402
from ab import alternate  # noqa: E402

MB = int(os.environ.get("MB", "200"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))

FILL = """
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = string.rep('x', 1000)
for i = from, to - 1 do redis.call('SET', 'key:' .. i, v .. i) end
return 1
"""


def wait(what, cond, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 -- a node busy loading: ask again
            pass
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


class Pinger(threading.Thread):
    def __init__(self, node):
        super().__init__(daemon=True)
        self.c = node.client(socket_timeout=30)
        self.worst = 0.0
        self.count = 0
        self.stop = False

    def run(self):
        while not self.stop:
            t0 = time.monotonic()
            self.c.ping()
            self.worst = max(self.worst, time.monotonic() - t0)
            self.count += 1


def run(binary):
    os.environ["CAIRN_SERVER_BIN"] = binary
    g = raftgroup.Group(1, extra_args=("--raft-snapshot-entries", "50"))
    try:
        lead = g.leader(timeout=30)
        c = lead.client(socket_timeout=120)
        sha = c.script_load(FILL)
        keys = MB * 1000
        for i in range(0, keys, 1000):
            c.evalsha(sha, 0, i, i + 1000)
        wait("the snapshot", lambda: lead.info()["raft_snapshot_bytes"] > MB * 900_000 and
             not lead.info()["raft_snapshot_in_progress"] and
             lead.info()["raft_snapshot_index"] + 50 > lead.info()["raft_commit_index"])
        size = lead.info()["raft_snapshot_bytes"]
        new = g.add_node(2, [lead])
        pinger = Pinger(lead)
        pinger.start()
        t0 = time.monotonic()
        c.execute_command("RAFT", "ADD-NODE", 2, new.addr())
        commit = lead.info()["raft_commit_index"]
        wait("the new node", lambda: new.info()["raft_snapshots_installed"] >= 1 and
             new.info()["raft_applied_index"] >= commit)
        took = time.monotonic() - t0
        pinger.stop = True
        pinger.join()
        return took, size, pinger.worst, pinger.count
    finally:
        g.close()


def one_round(rnd, name, binary):
    took, size, worst, pings = run(binary)
    print(f"round {rnd + 1} {name}: caught up in {took:.2f} s from a {size / 1e6:.0f} MB "
          f"snapshot; slowest PING on the leader {worst * 1000:.0f} ms ({pings} PINGs)",
          flush=True)
    return took, worst


def main():
    res = alternate(__doc__, ROUNDS, one_round)
    for name in res:
        print(f"{name}: median catch-up {statistics.median(t for t, _ in res[name]):.2f} s, "
              f"median slowest PING {statistics.median(w for _, w in res[name]) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
