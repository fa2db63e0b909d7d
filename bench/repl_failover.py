#!/usr/bin/python3
"""Failover time of a 3-node Cairn group: the leader is killed (SIGKILL)
KILLS times; each time, the time from the kill until a write is
acknowledged again, by a client that tries every surviving node (a
follower forwards to the leader, and holds a command while it knows no
leader: the client's timeout lets it) every 5 ms.  The killed node restarts
from its directory and catches up before the next kill.  Prints a
Markdown table row: p50 and max.  Usage: repl_failover.py [KILLS]
(CAIRN_SERVER_BIN names the server)."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import redis  # noqa: E402

from raftgroup import Group  # noqa: E402


def until_write(nodes, key):
    clients = [n.client(socket_timeout=5, socket_connect_timeout=0.5) for n in nodes]
    try:
        while True:
            for c in clients:
                try:
                    if c.set(key, "1"):
                        return time.monotonic()
                except (redis.RedisError, OSError):
                    pass
            time.sleep(0.005)
    finally:
        for c in clients:
            c.close()


def main():
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    g = Group(3)
    times = []
    try:
        for k in range(kills):
            lead = g.leader(timeout=10)
            rest = [n for n in g.nodes if n.id != lead.id]
            t0 = time.monotonic()
            lead.kill()
            times.append(until_write(rest, f"failover{k}") - t0)
            lead.start()
            g.wait_applied(g.nodes, timeout=30)
    finally:
        g.close()
    times.sort()
    print("| failover (leader SIGKILL to next acknowledged write) | kills | p50 | max |")
    print("|---|---|---|---|")
    print(f"| 3-node group, election timeout 500-1000 ms | {len(times)} | "
          f"{statistics.median(times) * 1000:.0f} ms | {times[-1] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
