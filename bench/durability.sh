#!/usr/bin/env bash
# Durability benchmark: cairn-server against redis-server, same run, same
# client (redis-benchmark), same settings.
#
#   1. SET throughput and server CPU per request with the append-only log
#      on, for appendfsync always / everysec / no, with -c 50 and pipelines
#      -P 1 and -P 16.  Servers alternate run by run; the median of ROUNDS
#      rounds is reported.
#   2. The time to load KEYS keys at start-up, from a snapshot (dump.rdb)
#      and from the log (a base plus the incremental file of every SET),
#      measured from exec() until the server answers PING without -LOADING.
#
# Writes a Markdown report to stdout and to bench/results/durability.md.
#
# Environment:
#   N         requests per throughput run          (default 200000)
#   ROUNDS    rounds of the throughput runs        (default 3)
#   CLIENTS   redis-benchmark connections          (default 50)
#   KEYS      keys for the load-time test          (default 1000000)
#   POLICIES  appendfsync values                   (default "always everysec no")
#   CAIRN_BIN server under test (default build-release/cairn-server, else build/)
#   REDIS_BIN reference server  (default redis-server from PATH)
#   BENCH_BIN client            (default redis-benchmark from PATH)
#   WORKDIR   where the data directories go (default a temp dir; its disk
#             is what is measured with appendfsync always)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN_BIN=${CAIRN_BIN:-}
if [ -z "$CAIRN_BIN" ]; then
    for b in "$ROOT/build-release/cairn-server" "$ROOT/build/cairn-server"; do
        if [ -x "$b" ]; then CAIRN_BIN=$b; break; fi
    done
fi
REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || true)}
BENCH_BIN=${BENCH_BIN:-$(command -v redis-benchmark || true)}
[ -x "${CAIRN_BIN:-/nonexistent}" ] || { echo "durability: build cairn-server first (make release)" >&2; exit 1; }
[ -x "${REDIS_BIN:-/nonexistent}" ] || { echo "durability: redis-server not found" >&2; exit 1; }
[ -x "${BENCH_BIN:-/nonexistent}" ] || { echo "durability: redis-benchmark not found" >&2; exit 1; }

export CAIRN_BIN REDIS_BIN BENCH_BIN ROOT
exec /usr/bin/python3 - "$@" <<'PYEOF'
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

N = int(os.environ.get("N", 200000))
ROUNDS = int(os.environ.get("ROUNDS", 3))
CLIENTS = int(os.environ.get("CLIENTS", 50))
KEYS = int(os.environ.get("KEYS", 1000000))
POLICIES = os.environ.get("POLICIES", "always everysec no").split()
CAIRN, REDIS, BENCH = os.environ["CAIRN_BIN"], os.environ["REDIS_BIN"], os.environ["BENCH_BIN"]
ROOT = os.environ["ROOT"]
WORK = tempfile.mkdtemp(prefix="cairn-dur-", dir=os.environ.get("WORKDIR"))
TICK = os.sysconf("SC_CLK_TCK")
live = []


def log(msg):
    print(f"durability: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def command(port, *args, timeout=600):
    """One command over a raw socket; returns the reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode()


class Server:
    def __init__(self, kind, datadir, args):
        self.kind, self.dir, self.args = kind, datadir, list(args)
        os.makedirs(datadir, exist_ok=True)

    def start(self):
        self.port = free_port()
        binary = CAIRN if self.kind == "cairn" else REDIS
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                *self.args]
        if self.kind == "redis":
            argv += ["--daemonize", "no"]
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.t0 = time.time()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        live.append(self)
        return self.wait_ready()

    def wait_ready(self, limit=900):
        """Seconds from exec() until PING answers PONG (not -LOADING)."""
        deadline = time.time() + limit
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: see {self.dir}/server.log")
            try:
                if command(self.port, "PING", timeout=5) == "+PONG":
                    return time.time() - self.t0
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError(f"{self.kind} did not become ready")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(600)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        live.remove(self)


def bench_set(srv, pipeline):
    before = cpu_seconds(srv.proc.pid)
    out = subprocess.run([BENCH, "-p", str(srv.port), "-t", "set", "-n", str(N),
                          "-c", str(CLIENTS), "-P", str(pipeline), "-r", "100000",
                          "-d", "3", "-q", "--csv"],
                         capture_output=True, text=True, timeout=max(600, N // 500))
    cpu = cpu_seconds(srv.proc.pid) - before
    rps = None
    for line in out.stdout.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if parts and parts[0] == "SET":
            rps = float(parts[1])
    if rps is None:
        raise RuntimeError("no result from redis-benchmark: " + out.stdout + out.stderr)
    return rps, cpu / N * 1e6


def throughput():
    results = {}
    for policy in POLICIES:
        for pipeline in (1, 16):
            for rnd in range(ROUNDS):
                for kind in ("cairn", "redis") if rnd % 2 == 0 else ("redis", "cairn"):
                    d = os.path.join(WORK, f"tp-{kind}-{policy}-{pipeline}-{rnd}")
                    srv = Server(kind, d, ["--appendonly", "yes", "--appendfsync", policy,
                                           "--save", ""])
                    srv.start()
                    try:
                        rps, us = bench_set(srv, pipeline)
                    finally:
                        srv.stop()
                        shutil.rmtree(d, ignore_errors=True)
                    results.setdefault((policy, pipeline, kind), []).append((rps, us))
                    log(f"SET appendfsync={policy} -P {pipeline} {kind}: {rps:,.0f} req/s, "
                        f"{us:.2f} us CPU/request")
    return results


def side_by_side():
    """appendfsync always, -P 1: fsync latency on a shared machine drifts
    from one run to the next, so also run both servers at the same time,
    each with its own client: both see the same disk."""
    rows = []
    for rnd in range(ROUNDS):
        srvs = []
        for kind in ("cairn", "redis"):
            d = os.path.join(WORK, f"sbs-{kind}-{rnd}")
            srvs.append(Server(kind, d, ["--appendonly", "yes", "--appendfsync", "always",
                                         "--save", ""]))
            srvs[-1].start()
        procs = [subprocess.Popen([BENCH, "-p", str(s.port), "-t", "set", "-n", str(N // 2),
                                   "-c", str(CLIENTS), "-P", "1", "-r", "100000", "-d", "3",
                                   "-q", "--csv"], stdout=subprocess.PIPE, text=True)
                 for s in srvs]
        got = []
        for pr in procs:
            out, _ = pr.communicate(timeout=max(600, N // 500))
            got.append(next(float(l.split(",")[1].strip('"')) for l in out.splitlines()
                            if l.startswith('"SET"')))
        for s in srvs:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)
        log(f"side by side, always -P 1: cairn {got[0]:,.0f} req/s, redis {got[1]:,.0f} req/s")
        rows.append(got)
    return rows


def fill(port, n):
    """SET key:0 .. key:n-1 to 16-byte values with a pipe."""
    cli = shutil.which("redis-cli")
    p = subprocess.Popen([cli, "-p", str(port), "--pipe"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    value = b"v" * 16
    batch = []
    for i in range(n):
        k = b"key:%d" % i
        batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, value))
        if len(batch) == 10000:
            p.stdin.write(b"".join(batch))
            batch = []
    p.stdin.write(b"".join(batch))
    p.stdin.close()
    p.wait()


def load_times():
    out = {}
    for kind in ("cairn", "redis"):
        d = os.path.join(WORK, f"load-{kind}")
        # The log: every SET in the incremental file.
        srv = Server(kind, d, ["--appendonly", "yes", "--appendfsync", "no", "--save", "",
                               "--auto-aof-rewrite-percentage", "0"])
        srv.start()
        fill(srv.port, KEYS)
        keys = int(command(srv.port, "DBSIZE")[1:])
        command(srv.port, "SAVE")  # the snapshot, for the second case
        srv.stop()
        srv = Server(kind, d, ["--appendonly", "yes", "--save", "",
                               "--auto-aof-rewrite-percentage", "0"])
        t_log = srv.start()
        assert int(command(srv.port, "DBSIZE")[1:]) == keys
        srv.stop()
        srv = Server(kind, d, ["--appendonly", "no", "--save", ""])
        t_snap = srv.start()
        assert int(command(srv.port, "DBSIZE")[1:]) == keys
        srv.stop()
        size_log = sum(os.path.getsize(os.path.join(d, "appendonlydir", f))
                       for f in os.listdir(os.path.join(d, "appendonlydir")))
        size_snap = os.path.getsize(os.path.join(d, "dump.rdb"))
        out[kind] = (keys, t_snap, size_snap, t_log, size_log)
        log(f"load {kind}: {keys} keys, snapshot {t_snap:.2f}s ({size_snap/1e6:.1f} MB), "
            f"log {t_log:.2f}s ({size_log/1e6:.1f} MB)")
        shutil.rmtree(d, ignore_errors=True)
    return out


def report(tp, lt, sbs):
    lines = ["# Durability benchmark: cairn-server vs redis-server", ""]
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    lines += [f"- SET, -c {CLIENTS}, -r 100000, -d 3, {N} requests per run, median of "
              f"{ROUNDS} rounds (servers alternate); the data directories are on "
              f"{WORK}'s filesystem",
              f"- cairn: `{CAIRN}`; redis: `{REDIS}` "
              f"({subprocess.run([REDIS, '--version'], capture_output=True, text=True).stdout.split()[2]})",
              f"- {os.cpu_count()} CPUs, load average at the end {' '.join(load)}", "",
              "| appendfsync | -P | cairn req/s | redis req/s | cairn/redis | cairn us CPU/req | redis us CPU/req |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for policy in POLICIES:
        for pipeline in (1, 16):
            c = tp[(policy, pipeline, "cairn")]
            r = tp[(policy, pipeline, "redis")]
            crps = statistics.median(x[0] for x in c)
            rrps = statistics.median(x[0] for x in r)
            cus = statistics.median(x[1] for x in c)
            rus = statistics.median(x[1] for x in r)
            lines.append(f"| {policy} | {pipeline} | {crps:,.0f} | {rrps:,.0f} | "
                         f"{crps / rrps:.2f} | {cus:.2f} | {rus:.2f} |")
    if sbs:
        c = statistics.median(r[0] for r in sbs)
        r = statistics.median(r[1] for r in sbs)
        lines += ["", "Both servers at the same time (same disk, same moment), appendfsync "
                  f"always, -P 1, median of {len(sbs)}: cairn {c:,.0f} req/s, redis "
                  f"{r:,.0f} req/s (cairn/redis {c / r:.2f})."]
    if lt:
        lines += ["", f"Start-up load time of {KEYS:,} SETs (exec to first PONG):", "",
                  "| server | keys | from snapshot | snapshot size | from log | log size |",
                  "|---|---:|---:|---:|---:|---:|"]
        for kind, (keys, ts, ss, tl, sl) in lt.items():
            lines.append(f"| {kind} | {keys:,} | {ts:.2f} s | {ss / 1e6:.1f} MB | "
                         f"{tl:.2f} s | {sl / 1e6:.1f} MB |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "durability.md"), "w") as f:
        f.write(text)


def cleanup(*_):
    for s in list(live):
        if s.proc.poll() is None:
            s.proc.kill()
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(1)


signal.signal(signal.SIGINT, cleanup)
signal.signal(signal.SIGTERM, cleanup)
try:
    tp = throughput()
    sbs = side_by_side() if "always" in POLICIES else []
    lt = load_times() if KEYS > 0 else {}
    report(tp, lt, sbs)
finally:
    for s in list(live):
        if s.proc.poll() is None:
            s.proc.kill()
    shutil.rmtree(WORK, ignore_errors=True)
PYEOF
