#!/usr/bin/python3
"""Pub/sub fan-out: cairn-server against redis-server in the same run.

For each subscriber count S (1, 10, 100), S connections SUBSCRIBE to one
channel and are drained by a reader process (it only counts bytes, so it
keeps up); redis-benchmark then sends N `PUBLISH chan <payload>` over C
connections at pipeline depth P.  Measured per run:

  - delivered messages per second (N * S / wall time of the publish run,
    once every subscriber has read all it was sent),
  - server CPU per delivered message: the server's on-CPU time during the
    run (bench/cpu.py, /proc/PID/task/*/schedstat) divided by N * S.

Runs alternate cairn / redis for ROUNDS rounds; the table shows medians and
the ratio cairn/redis (target: CPU per delivered message at most 0.8x
Redis's).  Prints a Markdown table and writes bench/results/pubsub-latest.md.

Environment:
  N          publishes per run                      (default 200000)
  ROUNDS     rounds                                 (default 3)
  SUBS       subscriber counts                      (default "1 10 100")
  CLIENTS    publishing connections (-c)            (default 10)
  PIPELINE   pipeline depth (-P)                    (default 16)
  PAYLOAD    message size in bytes                  (default 32)
  CAIRN_BIN  server under test   (default build-release/cairn-server, else build/)
  REDIS_BIN  reference server    (default redis-server from PATH)
"""
import multiprocessing
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("N", "200000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SUBS = [int(x) for x in os.environ.get("SUBS", "1 10 100").split()]
CLIENTS = int(os.environ.get("CLIENTS", "10"))
PIPELINE = int(os.environ.get("PIPELINE", "16"))
PAYLOAD = int(os.environ.get("PAYLOAD", "32"))
CHANNEL = "bench-channel"


def cairn_bin():
    if os.environ.get("CAIRN_BIN"):
        return os.environ["CAIRN_BIN"]
    for d in ("build-release", "build"):
        p = os.path.join(ROOT, d, "cairn-server")
        if os.path.exists(p):
            return p
    sys.exit("no cairn-server: run make release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, tmp):
    port = free_port()
    if name == "cairn":
        args = [cairn_bin(), "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                "--save", "", "--appendonly", "no"]
    else:
        args = [os.environ.get("REDIS_BIN", "redis-server"), "--port", str(port), "--bind",
                "127.0.0.1", "--dir", tmp, "--save", "", "--appendonly", "no"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"{name} did not start")


def frame_len():
    """Bytes of one RESP2 message frame on CHANNEL with the payload."""
    def bulk(n):
        return len(f"${n}\r\n") + n + 2
    return len("*3\r\n") + bulk(7) + bulk(len(CHANNEL)) + bulk(PAYLOAD)


def reader(port, nsubs, expect_bytes, ready, done):
    """Subscribe nsubs connections, then drain them until each has read
    expect_bytes of messages (after its confirmation)."""
    sel = selectors.DefaultSelector()
    socks = []
    confirm = len(f"*3\r\n$9\r\nsubscribe\r\n${len(CHANNEL)}\r\n{CHANNEL}\r\n:1\r\n")
    for _ in range(nsubs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(cpu.resp_cmd("SUBSCRIBE", CHANNEL))
        got = 0
        while got < confirm:
            got += len(s.recv(confirm - got))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [0])
        socks.append(s)
    ready.set()
    left = nsubs
    while left:
        for key, _ in sel.select(timeout=30):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sys.exit("subscriber closed")
            key.data[0] += len(data)
            if key.data[0] >= expect_bytes:
                sel.unregister(key.fileobj)
                left -= 1
    done.set()
    for s in socks:
        s.close()


def one_run(name, nsubs):
    tmp = tempfile.mkdtemp(prefix="cairn-pubsub-bench-")
    proc, port = start(name, tmp)
    try:
        ready, done = multiprocessing.Event(), multiprocessing.Event()
        rd = multiprocessing.Process(target=reader,
                                     args=(port, nsubs, N * frame_len(), ready, done))
        rd.start()
        if not ready.wait(60):
            sys.exit("subscribers did not connect")
        cmd = ["redis-benchmark", "-p", str(port), "-n", str(N), "-c", str(CLIENTS), "-P",
               str(PIPELINE), "-q", "PUBLISH", CHANNEL, "x" * PAYLOAD]
        s0 = cpu.proc_sched_ns(proc.pid)
        t0 = time.time()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
        if not done.wait(600):
            sys.exit("subscribers did not receive everything")
        wall = time.time() - t0
        s1 = cpu.proc_sched_ns(proc.pid)
        rd.join()
        delivered = N * nsubs
        return {"msgs_per_s": delivered / wall, "ns_per_msg": (s1 - s0) / delivered}
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found (scripts/bootstrap.sh installs redis-tools)")
    res = {(n, s): [] for n in ("cairn", "redis") for s in SUBS}
    for rnd in range(1, ROUNDS + 1):
        for s in SUBS:
            for name in ("cairn", "redis"):
                r = one_run(name, s)
                res[(name, s)].append(r)
                print(f"round {rnd}/{ROUNDS} subs={s:<4} {name}: "
                      f"{r['msgs_per_s']:.0f} msg/s, {r['ns_per_msg']:.0f} ns CPU/msg",
                      file=sys.stderr)
    lines = [
        "# Pub/sub fan-out: cairn vs redis",
        "",
        f"`PUBLISH` of {PAYLOAD}-byte messages to one channel, N={N} publishes per run, "
        f"redis-benchmark -c {CLIENTS} -P {PIPELINE}, median of {ROUNDS} rounds.  CPU is "
        "the server's on-CPU time per delivered message; target: cairn/redis <= 0.8.",
        "",
        "| subscribers | cairn msg/s | redis msg/s | cairn ns CPU/msg | redis ns CPU/msg "
        "| CPU ratio | target met |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in SUBS:
        c = res[("cairn", s)]
        r = res[("redis", s)]
        cm = statistics.median(x["msgs_per_s"] for x in c)
        rm = statistics.median(x["msgs_per_s"] for x in r)
        cc = statistics.median(x["ns_per_msg"] for x in c)
        rc = statistics.median(x["ns_per_msg"] for x in r)
        ratio = cc / rc
        lines.append(f"| {s} | {cm:,.0f} | {rm:,.0f} | {cc:.0f} | {rc:.0f} | {ratio:.2f} | "
                     f"{'yes' if ratio <= 0.8 else 'no'} |")
    lines += ["", f"Command: `N={N} ROUNDS={ROUNDS} SUBS=\"{' '.join(map(str, SUBS))}\" "
              f"CLIENTS={CLIENTS} PIPELINE={PIPELINE} PAYLOAD={PAYLOAD} bench/pubsub.py`", ""]
    text = "\n".join(lines)
    print(text)
    out = os.path.join(ROOT, "bench", "results", "pubsub-latest.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
