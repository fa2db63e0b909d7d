#!/usr/bin/python3
"""Streams: cairn-server against redis-server in the same run.

Server CPU per operation (on-CPU time of the server's threads over a run,
from /proc/PID/task/*/schedstat, divided by the operations; see README: on
these 2-core machines requests/s is set by the client) for

  XADD         XADD key * with 5 small fields, redis-benchmark -P 16
  XRANGE 10    XRANGE of 10 entries of a 10,000-entry stream, -P 16
  XREADGROUP+XACK  pairs: 16 XREADGROUP COUNT 1 pipelined, then the 16 XACKs
               of what they delivered, pipelined (redis-py)

and memory per entry: used_memory growth for MEM_N entries of 5 small
fields (fields f1..f5, values of 2-7 bytes) added by XADD *, over
MEM_N.  Targets (issue 15): CPU per op at most 0.8x Redis's, memory per
entry at most 1.0x.  Runs alternate cairn / redis for ROUNDS rounds; the
table shows medians.  Writes bench/results/stream-latest.md.

Environment: N (ops per run, 200000), PAIRS (XREADGROUP+XACK pairs per run,
50000), ROUNDS (3), MEM_N (1000000), CLIENTS (50), CAIRN_BIN
(build-release/cairn-server), REDIS_BIN (redis-server from PATH).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import proc_sched_ns  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("N", "200000"))
PAIRS = int(os.environ.get("PAIRS", "50000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
MEM_N = int(os.environ.get("MEM_N", "1000000"))
CLIENTS = int(os.environ.get("CLIENTS", "50"))
CAIRN_BIN = os.environ.get("CAIRN_BIN") or os.path.join(ROOT, "build-release", "cairn-server")
REDIS_BIN = os.environ.get("REDIS_BIN") or shutil.which("redis-server")
BENCH_BIN = shutil.which("redis-benchmark")
FIELDS = ["f1", "v1", "f2", "v22", "f3", "v333", "f4", "v4444", "f5", "v55555"]


def log(msg):
    print(f"stream-bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, workdir):
        self.name, self.port = name, free_port()
        bin_ = CAIRN_BIN if name == "cairn" else REDIS_BIN
        workdir = tempfile.mkdtemp(prefix=name + "-", dir=workdir)
        args = [bin_, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", workdir,
                "--save", "", "--appendonly", "no"]
        if name == "redis":
            args += ["--daemonize", "no"]
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=120)
        deadline = time.time() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def cpu_ns(self):
        return proc_sched_ns(self.proc.pid)

    def used_memory(self):
        return int(self.client.info("memory")["used_memory"])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def bench(server, *cmd, n=N, pipeline=16):
    argv = [BENCH_BIN, "-h", "127.0.0.1", "-p", str(server.port), "-n", str(n), "-c",
            str(CLIENTS), "-P", str(pipeline), "-q", "--csv"] + [str(a) for a in cmd]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=600)


def measured(server, fn, ops):
    before = server.cpu_ns()
    fn()
    return (server.cpu_ns() - before) / 1000 / ops


def readgroup_ack_pairs(server, pairs):
    c = server.client
    done = 0
    while done < pairs:
        p = c.pipeline(transaction=False)
        for _ in range(16):
            p.execute_command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS",
                              "bench:g", ">")
        ids = [r[0][1][0][0] for r in p.execute() if r]
        p = c.pipeline(transaction=False)
        for i in ids:
            p.execute_command("XACK", "bench:g", "g", i)
        p.execute()
        done += len(ids)


def prepare(server):
    c = server.client
    c.flushall()
    p = c.pipeline(transaction=False)
    for i in range(10000):
        p.execute_command("XADD", "bench:r", "*", *FIELDS)
    p.execute()
    bench(server, "XADD", "bench:g", "*", *FIELDS, n=PAIRS * (ROUNDS + 1))
    c.execute_command("XGROUP", "CREATE", "bench:g", "g", "0")


def memory_per_entry(workdir, name):
    s = Server(name, workdir)
    try:
        time.sleep(0.3)
        before = s.used_memory()
        bench(s, "XADD", "bench:mem", "*", *FIELDS, n=MEM_N)
        time.sleep(0.5)
        assert s.client.xlen("bench:mem") == MEM_N
        return (s.used_memory() - before) / MEM_N
    finally:
        s.stop()


def main():
    if not (os.path.exists(CAIRN_BIN) and REDIS_BIN and BENCH_BIN):
        sys.exit("stream-bench: cairn-server, redis-server or redis-benchmark is missing")
    work = tempfile.mkdtemp(prefix="cairn-stream-bench-")
    cpu = {}
    try:
        servers = {n: Server(n, work) for n in ("cairn", "redis")}
        for s in servers.values():
            prepare(s)
        for rnd in range(ROUNDS):
            for name, s in servers.items():
                runs = {
                    "XADD (5 fields)": (lambda s=s: bench(s, "XADD", "bench:x", "*", *FIELDS), N),
                    "XRANGE (10 entries)": (
                        lambda s=s: bench(s, "XRANGE", "bench:r", "-", "+", "COUNT", "10"), N),
                    "XREADGROUP+XACK pair": (lambda s=s: readgroup_ack_pairs(s, PAIRS), PAIRS),
                }
                for label, (fn, ops) in runs.items():
                    us = measured(s, fn, ops)
                    cpu.setdefault(label, {}).setdefault(name, []).append(us)
                    log(f"round {rnd + 1} {label} {name}: {us:.3f} us CPU per op")
        for s in servers.values():
            s.stop()
        mem = {name: memory_per_entry(work, name) for name in ("cairn", "redis")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["# Streams: cairn-server vs redis-server", "",
             f"N={N}, PAIRS={PAIRS}, -c {CLIENTS}, -P 16, {ROUNDS} rounds (medians); "
             f"MEM_N={MEM_N}. cairn: `{CAIRN_BIN}`.", "",
             "| workload | cairn CPU us/op | redis CPU us/op | ratio | target | met |",
             "|---|---|---|---|---|---|"]
    for label, by in cpu.items():
        c, r = statistics.median(by["cairn"]), statistics.median(by["redis"])
        lines.append(f"| {label} | {c:.3f} | {r:.3f} | {c / r:.2f} | <= 0.8 | "
                     f"{'yes' if c / r <= 0.8 else 'no'} |")
    ratio = mem["cairn"] / mem["redis"]
    lines.append(f"| memory per entry ({MEM_N} x 5 fields) | {mem['cairn']:.1f} B | "
                 f"{mem['redis']:.1f} B | {ratio:.2f} | <= 1.0 | {'yes' if ratio <= 1.0 else 'no'} |")
    lines += ["", f"Reproduce: `N={N} PAIRS={PAIRS} ROUNDS={ROUNDS} MEM_N={MEM_N} "
              f"CAIRN_BIN={CAIRN_BIN} /usr/bin/python3 bench/stream.py`"]
    out = os.path.join(ROOT, "bench", "results", "stream-latest.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
