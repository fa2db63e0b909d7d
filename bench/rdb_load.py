#!/usr/bin/python3
"""Loading a Redis dump.rdb: cairn-server against redis-server.

redis-server writes an RDB of KEYS keys (DEBUG POPULATE, VALUE-byte
values, plus a few thousand hashes, lists, sets and sorted sets), then each
server is started on a copy of it, ROUNDS times: the time from the start of
the process until it answers PING (loading done) and its peak RSS (VmHWM)
are recorded, and the median is reported.  Writes
bench/results/rdb_load.md.

    KEYS=1000000 ROUNDS=3 ./bench/rdb_load.py [path/to/cairn-server]
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
KEYS = int(os.environ.get("KEYS", "1000000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
VALUE = int(os.environ.get("VALUE", "32"))
CAIRN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-release", "cairn-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port, proc, timeout=300):
    c = redis.Redis(port=port, socket_timeout=5)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c.ping()
            return c
        except (redis.ConnectionError, redis.BusyLoadingError):
            time.sleep(0.002)
    raise RuntimeError("server did not finish loading")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_rdb(work):
    d = os.path.join(work, "src")
    os.mkdir(d)
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--dir", d, "--save", "",
                          "--enable-debug-command", "yes"], stdout=subprocess.DEVNULL)
    try:
        c = wait_up(port, p)
        c.execute_command("DEBUG", "POPULATE", KEYS - 4000, "key", VALUE)
        pipe = c.pipeline(transaction=False)
        for i in range(1000):
            pipe.hset(f"h:{i}", mapping={f"f{j}": j for j in range(20)})
            pipe.rpush(f"l:{i}", *range(20))
            pipe.sadd(f"s:{i}", *[f"m{j}" for j in range(20)])
            pipe.zadd(f"z:{i}", {f"m{j}": j for j in range(20)})
        pipe.execute()
        assert c.dbsize() == KEYS
        c.save()
    finally:
        p.terminate()
        p.wait()
    return os.path.join(d, "dump.rdb")


def load_once(argv, rdb, work, name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    shutil.copy(rdb, os.path.join(d, "dump.rdb"))
    port = free_port()
    start = time.monotonic()
    p = subprocess.Popen(argv + ["--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                                 "--save", ""], stdout=subprocess.DEVNULL)
    try:
        c = wait_up(port, p)
        secs = time.monotonic() - start
        assert c.dbsize() == KEYS, c.dbsize()
        return secs, peak_rss_mb(p.pid)
    finally:
        p.terminate()
        p.wait()


def main():
    work = tempfile.mkdtemp(prefix="rdb-load-bench-")
    try:
        rdb = make_rdb(work)
        size_mb = os.path.getsize(rdb) / 1048576
        servers = {"redis-server": ["redis-server"], "cairn-server": [CAIRN]}
        rows = {}
        for name, argv in servers.items():
            runs = [load_once(argv, rdb, work, name) for _ in range(ROUNDS)]
            rows[name] = (statistics.median(r[0] for r in runs),
                          statistics.median(r[1] for r in runs), runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = [f"# Loading a {KEYS}-key dump.rdb written by redis-server\n",
           f"File: {size_mb:.1f} MB ({KEYS - 4000} strings of {VALUE} bytes from DEBUG "
           f"POPULATE, 1000 each of 20-field hashes, lists, sets and sorted sets). Median of "
           f"{ROUNDS} starts: process start until PING answers (loading done), and peak RSS "
           f"(VmHWM).\n",
           "| server | seconds | peak RSS MB | runs (s, MB) |", "|---|---|---|---|"]
    for name, (secs, rss, runs) in rows.items():
        detail = ", ".join(f"{s:.2f}/{m:.0f}" for s, m in runs)
        out.append(f"| {name} | {secs:.2f} | {rss:.0f} | {detail} |")
    ratio = rows["cairn-server"][0] / rows["redis-server"][0]
    out.append(f"\ncairn-server / redis-server time: {ratio:.2f}x\n")
    out.append(f"Command: `KEYS={KEYS} ROUNDS={ROUNDS} ./bench/rdb_load.py {CAIRN}`\n")
    text = "\n".join(out)
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "rdb_load.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
