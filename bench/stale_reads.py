#!/usr/bin/python3
"""How often a follower's linearizable read misses a write acknowledged
before it was sent, in the shape CI caught (the reader's previous command
was its own write, forwarded by that follower).  A 3-node group: one
client SETs k to 1, 2, 3, ... on the leader; four clients, two on each
follower, do RPUSH (forwarded) then GET k, over and over; a GET that
returns less than the value last acknowledged when it was sent is stale.
Prints the counts and exits 1 if any GET was stale.  A probe to run
before a change to how followers learn the commit index or serve reads
lands (ASan builds show it most: their clients wait longer on the
GIL).  Usage: stale_reads.py [SECONDS] (20; CAIRN_SERVER_BIN names the
server)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from raftgroup import Group, close_checked, followers  # noqa: E402


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    g = Group(3)
    acked = [0]  # the writer's last acknowledged value
    counts = {"gets": 0, "stale": 0}
    lock = threading.Lock()
    try:
        lead = g.leader(timeout=30)
        with lead.client() as c:
            c.set("k", 0)
        g.wait_applied(g.nodes)
        stop = time.time() + seconds

        def writer():
            with lead.client() as c:
                while time.time() < stop:
                    c.set("k", acked[0] + 1)
                    acked[0] += 1

        def reader(node, n):
            with node.client() as c:
                while time.time() < stop:
                    c.rpush(f"list{n}", 1)
                    before = acked[0]
                    got = int(c.get("k"))
                    with lock:
                        counts["gets"] += 1
                        counts["stale"] += got < before

        threads = [threading.Thread(target=writer)]
        threads += [threading.Thread(target=reader, args=(f, n))
                    for n, f in enumerate(followers(g, lead) * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        close_checked(g)
    print(f"{counts['gets']} GETs on followers, {counts['stale']} stale; "
          f"{acked[0]} writes on the leader")
    return 1 if counts["stale"] else 0


if __name__ == "__main__":
    sys.exit(main())
