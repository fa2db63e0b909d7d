#!/usr/bin/python3
"""Replication lag of a Cairn replica of a redis-server master, beside a
redis-server replica of the same master in the same run.

A redis-server master gets `redis-benchmark -t set` load for SECONDS; a
cairn-server and a redis-server replicate it (REPLICAOF).  Every 100 ms
the master's master_repl_offset and each replica's slave_repl_offset are
read: the difference is the replica's lag in bytes of the stream.  When the
load stops, the time each replica takes to reach the master's final offset
is its catch-up time.  Writes bench/results/replicaof_lag.md.

    SECONDS=10 CLIENTS=50 PIPELINE=16 ./bench/replicaof_lag.py [path/to/cairn-server]
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = float(os.environ.get("SECONDS", "10"))
CLIENTS = int(os.environ.get("CLIENTS", "50"))
PIPELINE = int(os.environ.get("PIPELINE", "16"))
VALUE = int(os.environ.get("VALUE", "64"))
KEYSPACE = int(os.environ.get("KEYSPACE", "1000000"))
CAIRN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cairn-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port, work, name):
    d = os.path.join(work, name)
    os.makedirs(d)
    log = open(os.path.join(d, "log"), "w")
    p = subprocess.Popen(argv + ["--port", str(port), "--bind", "127.0.0.1", "--dir", d],
                         stdout=log, stderr=subprocess.STDOUT)
    c = redis.Redis(port=port, socket_timeout=10, decode_responses=True)
    for _ in range(500):
        try:
            c.ping()
            return p, c
        except redis.ConnectionError:
            time.sleep(0.01)
    raise RuntimeError(f"{name} did not start")


def replica_offset(r):
    return r.info("replication").get("slave_repl_offset", 0)


def offsets(m, replicas):
    mo = m.info("replication")["master_repl_offset"]
    return mo, [replica_offset(r) for r in replicas]


def lags(m, replicas):
    """Each replica's lag: its offset read first, then the master's, so a
    lag is never negative (it includes the time of one INFO call)."""
    out = []
    for r in replicas:
        ro = replica_offset(r)
        out.append(m.info("replication")["master_repl_offset"] - ro)
    return out


def wait_synced(m, replicas, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        mo, ro = offsets(m, replicas)
        if all(r.info("replication").get("master_link_status") == "up" for r in replicas) and \
                all(o == mo for o in ro):
            return
        time.sleep(0.05)
    raise RuntimeError("replicas did not sync")


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else 0


def main():
    work = tempfile.mkdtemp(prefix="cairn-bench-repl-")
    procs = []
    try:
        mp = free_port()
        p, m = start(["redis-server", "--save", "", "--appendonly", "no",
                      "--repl-diskless-sync-delay", "0", "--repl-backlog-size", "256mb"],
                     mp, work, "master")
        procs.append(p)
        p, cr = start([CAIRN, "--save", ""], free_port(), work, "cairn")
        procs.append(p)
        p, rr = start(["redis-server", "--save", "", "--appendonly", "no"], free_port(), work,
                      "redis")
        procs.append(p)
        replicas = [cr, rr]
        for r in replicas:
            r.replicaof("127.0.0.1", mp)
        m.set("warm", "up")
        wait_synced(m, replicas)
        start0 = offsets(m, replicas)[0]
        bench = subprocess.Popen(
            ["redis-benchmark", "-p", str(mp), "-t", "set", "-n", "1000000000", "-c", str(CLIENTS),
             "-P", str(PIPELINE), "-d", str(VALUE), "-r", str(KEYSPACE), "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []  # (t, [replica lags in bytes])
        t0 = time.time()
        while time.time() - t0 < SECONDS:
            samples.append((time.time() - t0, lags(m, replicas)))
            time.sleep(0.1)
        bench.terminate()
        bench.wait()
        final = m.info("replication")["master_repl_offset"]
        stop_t = time.time()
        caught = [None, None]
        while time.time() - stop_t < 120 and None in caught:
            for i, r in enumerate(replicas):
                if caught[i] is None and replica_offset(r) >= final:
                    caught[i] = time.time() - stop_t
            time.sleep(0.001)
        streamed = final - start0
        cmds = m.info("commandstats")["cmdstat_set"]["calls"]
        names = ["cairn-server", "redis-server"]
        lines = [
            "# Replication lag: replicas of a redis-server master under SET load",
            "",
            f"`redis-benchmark -t set -c {CLIENTS} -P {PIPELINE} -d {VALUE} -r {KEYSPACE}` on the "
            f"master for {SECONDS:.0f} s; {streamed / 1e6:.1f} MB of replication stream "
            f"({streamed / 1e6 / SECONDS:.1f} MB/s, {cmds / SECONDS:,.0f} SETs/s "
            "on the master). Lag = master_repl_offset - slave_repl_offset (the replica's "
            "read first), sampled every 100 ms; catch-up = time from the end of the load until the replica's offset "
            "reaches the master's final offset.",
            "",
            "| replica | lag p50 (KB) | lag p99 (KB) | lag max (KB) | lag in the last second (KB) "
            "| catch-up (ms) |",
            "|---|---|---|---|---|---|",
        ]
        for i, name in enumerate(names):
            lag = [lg[i] / 1024 for _, lg in samples]
            last = [lg[i] / 1024 for t, lg in samples if t >= SECONDS - 1]
            c = caught[i]
            lines.append(f"| {name} | {percentile(lag, 50):.0f} | {percentile(lag, 99):.0f} | "
                         f"{max(lag):.0f} | {statistics.mean(last) if last else 0:.0f} | "
                         f"{c * 1000:.0f} |" if c is not None else
                         f"| {name} | {percentile(lag, 50):.0f} | {percentile(lag, 99):.0f} | "
                         f"{max(lag):.0f} | {statistics.mean(last) if last else 0:.0f} | "
                         "did not catch up in 120 s |")
        # Both replicas hold what the master holds.
        sizes = [r.dbsize() for r in [m] + replicas]
        lines += ["", f"Keys at the end: master {sizes[0]}, cairn {sizes[1]}, redis {sizes[2]}.",
                  ""]
        text = "\n".join(lines)
        print(text)
        out = os.path.join(ROOT, "bench", "results", "replicaof_lag.md")
        with open(out, "w") as f:
            f.write(text)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
