#!/usr/bin/python3
"""The benchmark: cairn-server against redis-server (run by bench/run.sh).

Reads its settings from the environment (bench/run.sh sets the defaults and
bench/README.md documents them), runs the sections asked for, writes every
measurement to RESULTS_DIR/latest.json and then has bench/report.py turn
that into RESULTS_DIR/latest.md and the PNG plots.

Sections (SECTIONS, comma-separated):
  throughput  every workload of TESTS at each pipeline depth of PIPELINES,
              on both servers, alternating cairn / redis, ROUNDS rounds:
              requests/s, server CPU per request, latency percentiles
  scaling     GET at -P 1 with each connection count of CONNS
  memory      bytes per key / element above an empty server, per data set
  callgrind   instructions per request under valgrind --tool=callgrind

Every server runs as it would be monitored in production: cairn-server with
its Prometheus endpoint on (`metrics-port`), and while a server is up a
background thread scrapes it every SCRAPE seconds (1; 0 = never) the way
Prometheus and redis_exporter would: GET /metrics over a new HTTP connection
for cairn-server, INFO ALL over a new connection for redis-server (what
redis_exporter does at each scrape).  The scrapes' count and latency go to
the report.
"""

import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402  (the /proc readers and the small RESP client)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# settings

def env_int(name, default):
    v = os.environ.get(name, "")
    if v == "":
        return default
    if not re.fullmatch(r"[0-9]+", v) or int(v) <= 0:
        raise BenchError(f"{name} must be a positive integer (got {v!r})")
    return int(v)


def env_list(name, default):
    v = os.environ.get(name, "")
    return [x for x in re.split(r"[,\s]+", v if v else default) if x]


QUICK = os.environ.get("QUICK", "0") not in ("", "0")
ROUNDS = env_int("ROUNDS", 3)
N = env_int("N", 60000 if QUICK else 500000)          # requests per -P 16 run
N_P1 = env_int("N_P1", max(1, N // 5))                  # requests per -P 1 run
CLIENTS = env_int("CLIENTS", 50)
KEYSPACE = env_int("KEYSPACE", 100000)
BIG_KEYSPACE = env_int("BIG_KEYSPACE", 1000000)
DATASIZE = env_int("DATASIZE", 3)
BIGSIZE = env_int("BIGSIZE", 1024)
LIST_LEN = env_int("LIST_LEN", 10000)
PIPELINES = [int(p) for p in env_list("PIPELINES", "1 16")]
CONNS = [int(c) for c in env_list("CONNS", "1 50 500 5000")]
SCALE_N = env_int("SCALE_N", N_P1)
MIX_KEYSPACE = env_int("MIX_KEYSPACE", BIG_KEYSPACE)
MIX_THETA = float(os.environ.get("MIX_THETA") or 0.99)
MIX_GET = float(os.environ.get("MIX_GET") or 0.9)
MEM_N = env_int("MEM_N", 100000 if QUICK else 1000000)
MEM_SMALL = env_int("MEM_SMALL", 10000 if QUICK else 100000)
MEM_FIELDS = env_int("MEM_FIELDS", 10)
MEM_VALUE = env_int("MEM_VALUE", 16)
MEM_TTL = env_int("MEM_TTL", 1000000)
CG_N = env_int("CG_N", 5000 if QUICK else 40000)
CG_KEYSPACE = env_int("CG_KEYSPACE", 10000)
CG_TESTS = env_list("CG_TESTS", "set,get")
CG_PIPELINES = [int(p) for p in env_list("CG_PIPELINES", "16" if QUICK else "16 1")]
RUN_TIMEOUT = env_int("RUN_TIMEOUT", 120)
IDLE_SLEEPS = (0.5, 2.0) if QUICK else (0.5, 3.5)
try:
    SCRAPE = float(os.environ.get("SCRAPE") or 1.0)  # seconds between scrapes, 0 = off
except ValueError:
    SCRAPE = -1.0
if not 0 <= SCRAPE <= 3600:
    raise SystemExit("bench: SCRAPE must be a number of seconds from 0 to 3600")
SCRAPE_MAX_S = env_int("SCRAPE_MAX_S", 7200)         # a scraper stops after this anyway
SECTIONS = env_list("SECTIONS", "throughput,scaling,memory,callgrind")
ALL_TESTS = ("set,get,set_1k,get_1k,incr,lpush,lpop,sadd,hset,zadd,mset,"
             "lrange_100,set_r1m,get_r1m,mix_zipf,"
             "setbit,bitcount_1m,pfadd,pfcount_3,geoadd,geosearch")
# The bitmap, HyperLogLog and geo workloads, and the data they read.
BITMAP_BYTES = 1024 * 1024
HLL_ELEMENTS = 10000      # in each of the three HyperLogLogs PFCOUNT reads
GEO_POINTS = 100000       # around the GEOSEARCH centre
DATATYPE_TESTS = {"setbit", "bitcount_1m", "pfadd", "pfcount_3", "geoadd", "geosearch"}
TESTS = env_list("TESTS", ALL_TESTS)
RESULTS_DIR = os.environ.get("RESULTS_DIR") or os.path.join(
    ROOT, "bench", "results", "quick" if QUICK else "")
RESULTS_DIR = os.path.abspath(RESULTS_DIR)

CAIRN_BIN = os.environ.get("CAIRN_BIN") or os.path.join(ROOT, "build-release", "cairn-server")
REDIS_BIN = os.environ.get("REDIS_BIN") or shutil.which("redis-server") or ""
BENCH_BIN = os.environ.get("BENCH_BIN") or shutil.which("redis-benchmark") or ""
DRIVER = os.environ.get("DRIVER_BIN") or os.path.join(ROOT, "build-bench", "cairn-load")
VALGRIND = shutil.which("valgrind") or ""
SERVERS = ("cairn", "redis")


# --------------------------------------------------------------------------
# workloads

class Workload:
    """One benchmark: a redis-benchmark invocation (or the driver's mix)."""

    def __init__(self, name, label, rb=None, cmd=None, keyspace=None, nscale=1.0,
                 per="request", note=""):
        self.name, self.label = name, label
        self.rb = rb                  # redis-benchmark -t name
        self.cmd = cmd                # or a custom command (list of args)
        self.keyspace = keyspace or KEYSPACE
        self.nscale = nscale          # requests relative to N / N_P1
        self.per = per
        self.note = note
        self.driver = name == "mix_zipf"

    def requests(self, pipeline):
        base = N if pipeline > 1 else N_P1
        return max(1000, int(base * self.nscale))

    def argv(self, port, pipeline, n, clients=None):
        clients = clients or CLIENTS
        if self.driver:
            return [DRIVER, "mix", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
                    "-n", str(n), "-P", str(pipeline), "-r", str(MIX_KEYSPACE),
                    "-d", str(DATASIZE), "-g", str(MIX_GET), "-s", str(MIX_THETA)]
        a = [BENCH_BIN, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-c", str(clients),
             "-P", str(pipeline), "-r", str(self.keyspace), "-d", str(DATASIZE),
             "--precision", "3"]
        if self.cmd:
            a += self.cmd
        else:
            a += ["-t", self.rb]
        return a


def make_workload(name):
    big = "x" * BIGSIZE
    table = {
        "set": Workload("set", "SET", rb="set"),
        "get": Workload("get", "GET", rb="get"),
        "set_1k": Workload("set_1k", f"SET {BIGSIZE}B",
                           cmd=["SET", "big:__rand_int__", big], nscale=0.5),
        "get_1k": Workload("get_1k", f"GET {BIGSIZE}B", cmd=["GET", "big:__rand_int__"],
                           nscale=0.5),
        "incr": Workload("incr", "INCR", rb="incr"),
        "lpush": Workload("lpush", "LPUSH", rb="lpush"),
        "lpop": Workload("lpop", "LPOP", rb="lpop"),
        "sadd": Workload("sadd", "SADD", rb="sadd"),
        "hset": Workload("hset", "HSET", rb="hset"),
        "zadd": Workload("zadd", "ZADD", rb="zadd"),
        "mset": Workload("mset", "MSET (10 keys)", rb="mset", nscale=0.25, per="MSET"),
        "set_r1m": Workload("set_r1m", "SET r1M", rb="set", keyspace=BIG_KEYSPACE),
        "get_r1m": Workload("get_r1m", "GET r1M", rb="get", keyspace=BIG_KEYSPACE),
        "mix_zipf": Workload("mix_zipf", f"GET/SET {round(MIX_GET * 100)}/"
                             f"{round(100 - MIX_GET * 100)} zipf", nscale=1.0),
        # redis-benchmark pads __rand_int__ with zeros, which no bit offset
        # may have: the randomness is in the key (10,000 bitmaps of 1 KB).
        "setbit": Workload("setbit", "SETBIT",
                           cmd=["SETBIT", "bench:bits:__rand_int__", "8191", "1"],
                           keyspace=10000),
        "bitcount_1m": Workload("bitcount_1m", "BITCOUNT 1 MB",
                                cmd=["BITCOUNT", "bench:bitmap"], nscale=0.02),
        "pfadd": Workload("pfadd", "PFADD (10 elements)",
                          cmd=["PFADD", "bench:hll"] + ["e:__rand_int__"] * 10, nscale=0.5,
                          keyspace=10000000),
        "pfcount_3": Workload("pfcount_3", "PFCOUNT (3 keys)",
                              cmd=["PFCOUNT", "bench:hll:1", "bench:hll:2", "bench:hll:3"],
                              nscale=0.05),
        "geoadd": Workload("geoadd", "GEOADD",
                           cmd=["GEOADD", "bench:geoadd", "13.__rand_int__", "38.__rand_int__",
                                "m:__rand_int__"]),
        "geosearch": Workload("geosearch", f"GEOSEARCH BYRADIUS ({GEO_POINTS // 1000}k points)",
                              cmd=["GEOSEARCH", "bench:geo", "FROMLONLAT", "13.5", "38.5",
                                   "BYRADIUS", "2", "km", "ASC"], nscale=0.1),
    }
    if name in table:
        return table[name]
    m = re.fullmatch(r"lrange_([1-9][0-9]*)", name)
    if m:
        k = int(m.group(1))
        return Workload(name, f"LRANGE_{k}", cmd=["LRANGE", "bench:list", "0", str(k - 1)],
                        nscale=min(1.0, 10.0 / k))
    if re.fullmatch(r"[a-z]+", name):   # any other redis-benchmark -t test
        return Workload(name, name.upper(), rb=name)
    raise BenchError(f"unknown workload {name!r} in TESTS")


# --------------------------------------------------------------------------
# processes

LIVE = {}          # pid -> Popen, for cleanup


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def kill_tree(p, grace=10.0):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()


def stop_all():
    for p in list(LIVE.values()):
        kill_tree(p, grace=5.0)
    LIVE.clear()


def read_loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Server:
    """cairn-server or redis-server on a free loopback port, with the same
    flags: no persistence, bound to 127.0.0.1, in a scratch directory."""

    def __init__(self, name, workdir, callgrind_out=None):
        self.name = name
        self.bin = CAIRN_BIN if name == "cairn" else REDIS_BIN
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.callgrind_out = callgrind_out
        self.proc = None
        self.port = None
        self.metrics_port = None
        self.scraper = None

    def flags(self, port, metrics_port):
        f = ["--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.workdir]
        if metrics_port:
            f += ["--metrics-port", str(metrics_port), "--metrics-bind", "127.0.0.1"]
        return f

    def start(self):
        for attempt in range(5):
            port = free_port()
            # The Prometheus endpoint is on whether or not anything scrapes it.
            self.metrics_port = free_port() if self.name == "cairn" else None
            cmd = [self.bin] + self.flags(port, self.metrics_port)
            if self.callgrind_out:
                cmd = [VALGRIND, "--tool=callgrind", "--dump-instr=no", "--collect-jumps=no",
                       f"--callgrind-out-file={self.callgrind_out}"] + cmd
            self.logf = open(os.path.join(self.workdir, "server.log"), "ab")
            p = subprocess.Popen(cmd, cwd=self.workdir, stdout=self.logf,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            LIVE[p.pid] = p
            if wait_ping(port, 60.0 if self.callgrind_out else 10.0, p):
                self.proc, self.port, self.cmd = p, port, cmd
                self.started = time.monotonic()
                self.scraper = Scraper(self) if SCRAPE > 0 else None
                if self.scraper:
                    self.scraper.start()
                return self
            kill_tree(p)
            LIVE.pop(p.pid, None)
            log(f"{self.name} did not start on port {port} (attempt {attempt + 1}); "
                f"log tail: {self.log_tail()}")
        raise BenchError(f"could not start {self.name}")

    def log_tail(self):
        try:
            with open(os.path.join(self.workdir, "server.log"), "rb") as f:
                return f.read()[-600:].decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        """The server's pid (under valgrind, valgrind is the server)."""
        return self.proc.pid

    def stop(self, grace=10.0):
        if self.proc is None:
            return
        if self.scraper:
            SCRAPES.append(self.scraper.finish())
            self.scraper = None
        kill_tree(self.proc, grace)
        LIVE.pop(self.proc.pid, None)
        self.logf.close()
        self.proc = None

    def command(self, *args, timeout=60.0):
        c = cpu.Conn(self.port, timeout=timeout)
        try:
            c.s.sendall(cpu.resp_cmd(*args))
            return c.reply()
        finally:
            c.close()

    def info_field(self, section, field):
        text = self.command("INFO", section).decode()
        m = re.search(rf"^{field}:(\S+)", text, re.M)
        return m.group(1) if m else None

    def used_memory(self):
        return int(self.info_field("memory", "used_memory"))

    def rss(self):
        with open(f"/proc/{self.pid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return None

    def cmdline(self):
        return " ".join(shquote(a) for a in self.cmd)


SCRAPES = []       # summaries of the scrapers of the servers stopped so far


class Scraper(threading.Thread):
    """Scrapes one server every SCRAPE seconds while it runs, as a
    monitoring system would: a new connection per scrape (Prometheus opens
    one per scrape for an endpoint that closes it, redis_exporter connects
    to Redis per scrape), GET /metrics of cairn-server's endpoint, INFO ALL
    of redis-server.  Bounded: it stops when the server is stopped, after
    SCRAPE_MAX_S seconds, and waits at most 10 s (Prometheus's default
    scrape timeout) for one scrape."""

    TIMEOUT = 10.0

    def __init__(self, server):
        super().__init__(daemon=True, name=f"scrape-{server.name}")
        self.server_name = server.name
        self.port = server.metrics_port or server.port
        self.http = server.metrics_port is not None
        self.what = "GET /metrics" if self.http else "INFO ALL"
        self.halt = threading.Event()
        self.lat_ms, self.sizes = [], []
        self.errors, self.first_error = 0, None
        self.t0 = time.monotonic()

    def run(self):
        k = 0
        while not self.halt.is_set() and time.monotonic() - self.t0 < SCRAPE_MAX_S:
            w0 = time.monotonic()
            try:
                size = self.scrape_http() if self.http else self.scrape_info()
                self.lat_ms.append((time.monotonic() - w0) * 1e3)
                self.sizes.append(size)
            except (OSError, ValueError) as e:
                self.errors += 1
                self.first_error = self.first_error or f"{type(e).__name__}: {e}"
            # A fixed rate, as Prometheus keeps; a scrape that overran its
            # slot is followed at once by the next (never two at a time).
            k += 1
            self.halt.wait(max(0.0, self.t0 + k * SCRAPE - time.monotonic()))

    def scrape_http(self):
        import socket
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n")
            chunks = []
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        data = b"".join(chunks)
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 ") or b"\nredis_up 1\n" not in body:
            raise ValueError(f"bad response: {data[:120]!r}")
        return len(body)

    def scrape_info(self):
        c = cpu.Conn(self.port, timeout=self.TIMEOUT)
        try:
            c.s.sendall(cpu.resp_cmd("INFO", "ALL"))
            r = c.reply()
        finally:
            c.close()
        if not isinstance(r, bytes) or not r.startswith(b"# Server"):
            raise ValueError(f"bad reply: {r!r:.120}")
        return len(r)

    def finish(self):
        self.halt.set()
        self.join(self.TIMEOUT + 5)
        wall = time.monotonic() - self.t0
        lat = sorted(self.lat_ms)
        return {"kind": "scrape", "server": self.server_name, "what": self.what,
                "interval_s": SCRAPE, "seconds": round(wall, 1),
                "scrapes": len(lat), "errors": self.errors, "first_error": self.first_error,
                "p50_ms": med(lat), "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                if lat else None, "max_ms": lat[-1] if lat else None,
                "bytes": med(self.sizes), "ok": self.errors == 0}


def shquote(a):
    if a == "":
        return "''"
    if len(a) > 60 and set(a) == {"x"}:
        return f"$(printf 'x%.0s' {{1..{len(a)}}})"
    if re.fullmatch(r"[A-Za-z0-9_./:=,+-]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def free_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ping(port, limit, proc):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            c = cpu.Conn(port, timeout=2.0)
            c.s.sendall(cpu.resp_cmd("PING"))
            r = c.reply()
            c.close()
            if r == b"+PONG":
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return False


def run_client(cmd, timeout):
    """Run a client to completion in its own process group; returns
    (rc, stdout, stderr, timed_out, client_cpu_s)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    LIVE[p.pid] = p
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    except BaseException:
        kill_tree(p, grace=1.0)
        raise
    finally:
        LIVE.pop(p.pid, None)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return (p.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
            timed_out, client_cpu)


def fill(server, *args, timeout=600):
    cmd = [DRIVER, "fill", "-h", "127.0.0.1", "-p", str(server.port)] + [str(a) for a in args]
    rc, out, err, to, _ = run_client(cmd, timeout)
    if rc != 0 or to:
        raise BenchError(f"fill of {server.name} failed ({' '.join(cmd)}): {err[-500:]}")


def prepare_datatypes(server):
    """The same data on both servers (a fixed seed): the bitmap BITCOUNT
    reads, the HyperLogLogs PFCOUNT merges, the points GEOSEARCH scans
    (spread over about 110 x 90 km around its centre)."""
    rng = random.Random(5)
    server.command("SET", "bench:bitmap", rng.randbytes(BITMAP_BYTES))
    for k in (1, 2, 3):
        elems = [f"h{k}:{i}" for i in range(HLL_ELEMENTS)]
        for i in range(0, len(elems), 1000):
            server.command("PFADD", f"bench:hll:{k}", *elems[i:i + 1000])
    batch = []
    for i in range(GEO_POINTS):
        batch += [f"{13 + rng.random():.6f}", f"{38 + rng.random():.6f}", f"p{i}"]
        if len(batch) >= 3000 or i == GEO_POINTS - 1:
            server.command("GEOADD", "bench:geo", *batch)
            batch = []


# --------------------------------------------------------------------------
# redis-benchmark output

def parse_rb(text):
    """Figures of redis-benchmark 7's default (non --csv) output with
    --precision 3: the summary (rps, avg, p50, p95, p99, max) and, from
    'Latency by percentile distribution', p99.9 taken as the latency at the
    first listed percentile >= 99.9 (99.902% with HdrHistogram's halving
    steps), an upper bound of the true p99.9."""
    text = text.replace("\r", "\n")
    m = re.search(r"throughput summary:\s*([\d.]+) requests per second", text)
    s = re.search(r"avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                  r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
    if not m or not s:
        return None
    rec = {"rps": float(m.group(1)), "avg_ms": float(s.group(1)),
           "p50_ms": float(s.group(3)), "p95_ms": float(s.group(4)),
           "p99_ms": float(s.group(5)), "max_ms": float(s.group(6))}
    p999 = None
    for pm in re.finditer(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds", text, re.M):
        if float(pm.group(1)) >= 99.9:
            p999 = float(pm.group(2))
            break
    rec["p999_ms"] = p999 if p999 is not None else rec["max_ms"]
    return rec


def parse_driver(text):
    try:
        rec = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if rec.get("errors"):
        return None
    return rec


# --------------------------------------------------------------------------
# measured runs

def measured_run(server, wl, pipeline, n, clients, rnd, section):
    cmd = wl.argv(server.port, pipeline, n, clients)
    t0 = cpu.proc_cpu_ticks(server.pid())
    s0 = cpu.proc_sched_ns(server.pid())
    w0 = time.monotonic()
    rc, out, err, timed_out, client_cpu = run_client(cmd, RUN_TIMEOUT)
    wall = time.monotonic() - w0
    t1 = cpu.proc_cpu_ticks(server.pid())
    s1 = cpu.proc_sched_ns(server.pid())
    # utime+stime of /proc/PID/stat is the kernel's sum_exec_runtime of the
    # process's threads, split between user and system and shown in 10 ms
    # ticks; schedstat shows the same counter per thread in ns.  Use the ns
    # figure unless a thread came or went (then the two disagree by more than
    # the tick resolution) and fall back to the ticks.
    rec_cpu = (t1 - t0) / cpu.CLK_TCK * 1e6 / n
    if s0 is not None and s1 is not None:
        sched_cpu = (s1 - s0) / 1e3 / n
        if abs(sched_cpu - rec_cpu) * n <= 2 * 1e6 / cpu.CLK_TCK + 0.05 * rec_cpu * n:
            rec_cpu = sched_cpu
    parsed = None if timed_out else (parse_driver(out) if wl.driver else parse_rb(out))
    ok = parsed is not None and rc == 0 and server.alive()
    rec = {
        "kind": "run", "section": section, "workload": wl.name, "label": wl.label,
        "pipeline": pipeline, "clients": clients, "server": server.name, "round": rnd,
        "requests": n, "per": wl.per, "wall_s": round(wall, 4),
        "server_cpu_s": (t1 - t0) / cpu.CLK_TCK,
        "stat_us_per_req": (t1 - t0) / cpu.CLK_TCK * 1e6 / n,
        "sched_us_per_req": None if s0 is None or s1 is None else (s1 - s0) / 1e3 / n,
        "server_us_per_req": rec_cpu,
        "client_cpu_s": round(client_cpu, 4), "ok": ok,
        "loadavg": read_loadavg(),
    }
    if parsed:
        rec.update({k: parsed[k] for k in ("rps", "avg_ms", "p50_ms", "p95_ms", "p99_ms",
                                            "p999_ms", "max_ms") if k in parsed})
    if not ok:
        why = "timed out" if timed_out else f"exit {rc}"
        if not server.alive():
            why += f"; {server.name} has exited: {server.log_tail()}"
        log(f"run failed ({why}): {' '.join(cmd)[:200]}\n{err[-1500:]}{out[-500:]}")
        rec["error"] = why
    return rec


def med(v):
    return statistics.median(v) if v else None


def f3(x):
    return "-" if x is None else f"{x:.3f}"


def fmt_cpu(rec):
    if not rec["ok"]:
        return "FAILED"
    return (f"{rec.get('rps', 0):.0f} rps, {rec['server_us_per_req']:.3f} µs CPU/req, "
            f"p99 {rec.get('p99_ms', 0):.3f} ms")


# --------------------------------------------------------------------------
# sections

class Bench:
    def __init__(self):
        self.records = []
        self.commands = {}      # label -> example command line
        self.server_cmds = {}
        self.phases = []
        self.notes = []
        self.work = tempfile.mkdtemp(prefix="cairn-bench.")

    def save(self, meta):
        os.makedirs(RESULTS_DIR, exist_ok=True)
        path = os.path.join(RESULTS_DIR, "latest.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"meta": meta, "records": self.records}, f, indent=1)
        os.replace(path + ".tmp", path)
        return path

    def phase(self, name, fn):
        log(f"== {name} (load average {read_loadavg()})")
        t0 = time.monotonic()
        la0 = read_loadavg()
        try:
            fn()
        finally:
            for sc in SCRAPES:
                sc["phase"] = name
                self.records.append(sc)
                if sc["scrapes"] or sc["errors"]:
                    log(f"{name}: {sc['server']} scraped ({sc['what']}) {sc['scrapes']} times "
                        f"in {sc['seconds']} s, {sc['errors']} errors, median "
                        f"{f3(sc['p50_ms'])} ms, max {f3(sc['max_ms'])} ms")
            SCRAPES.clear()
            self.phases.append({"phase": name, "seconds": round(time.monotonic() - t0, 1),
                                "loadavg_start": la0, "loadavg_end": read_loadavg()})

    # -- throughput and scaling ------------------------------------------

    def prepare(self, servers, workloads):
        names = {w.name for w in workloads}
        for s in servers.values():
            log(f"{s.name}: pre-setting {BIG_KEYSPACE} keys key:* of {DATASIZE} bytes")
            fill(s, "-t", "string", "-n", max(BIG_KEYSPACE, KEYSPACE, MIX_KEYSPACE),
                 "-d", DATASIZE, "-k", "key:")
            if names & {"get_1k", "set_1k"}:
                log(f"{s.name}: pre-setting {KEYSPACE} keys big:* of {BIGSIZE} bytes")
                fill(s, "-t", "string", "-n", KEYSPACE, "-d", BIGSIZE, "-k", "big:")
            if any(n.startswith("lrange_") for n in names):
                s.command("DEL", "bench:list")
                fill(s, "-t", "list", "-n", LIST_LEN, "-d", DATASIZE, "-k", "bench:list")
        if names & DATATYPE_TESTS:
            for s in servers.values():
                log(f"{s.name}: a {BITMAP_BYTES} byte bitmap, 3 HyperLogLogs of "
                    f"{HLL_ELEMENTS} elements, {GEO_POINTS} points")
                prepare_datatypes(s)
        # An unmeasured warm-up, so the first measured run does not pay for
        # page faults and caches warming.
        for s in servers.values():
            for t in ("set", "get"):
                w = Workload(t, t, rb=t)
                rc, out, err, to, _ = run_client(
                    w.argv(s.port, 16, min(N, 200000)), RUN_TIMEOUT)
                if rc != 0 or to:
                    raise BenchError(f"warm-up against {s.name} failed: {err[-500:]}")

    def throughput(self):
        workloads = [make_workload(t) for t in TESTS]
        servers = {n: Server(n, self.work).start() for n in SERVERS}
        try:
            for s in servers.values():
                self.server_cmds[s.name] = s.cmdline()
                log(f"{s.name}: pid {s.pid()} on 127.0.0.1:{s.port}")
            self.prepare(servers, workloads)
            for rnd in range(1, ROUNDS + 1):
                for pl in PIPELINES:
                    for wl in workloads:
                        n = wl.requests(pl)
                        for s in servers.values():
                            if not s.alive():
                                raise BenchError(f"{s.name} has exited: {s.log_tail()}")
                            rec = measured_run(s, wl, pl, n, CLIENTS, rnd, "throughput")
                            self.records.append(rec)
                            key = f"{wl.label} P{pl}"
                            self.commands.setdefault(
                                key, " ".join(shquote(a) for a in
                                              wl.argv(s.port, pl, n, CLIENTS)))
                            log(f"round {rnd}/{ROUNDS} {key:<22} {s.name}: {fmt_cpu(rec)}")
        finally:
            for s in servers.values():
                s.stop()

    def scaling(self):
        wl = Workload("get", "GET", rb="get")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        conns = []
        for c in CONNS:
            # The client and each server need one descriptor per connection
            # plus a few dozen of their own.
            if c + 64 > soft:
                cap = max(1, soft - 64)
                self.notes.append(
                    f"Connection scaling: {c} clients need more than the open-file limit of "
                    f"{soft} (hard limit {hard}) allows; measured {cap} instead.")
                c = cap
            conns.append(c)
        servers = {n: Server(n, self.work).start() for n in SERVERS}
        try:
            for s in servers.values():
                fill(s, "-t", "string", "-n", KEYSPACE, "-d", DATASIZE, "-k", "key:")
            for rnd in range(1, ROUNDS + 1):
                for c in conns:
                    # One connection is bound by round trips: fewer requests.
                    n = SCALE_N if c > 1 else max(1000, SCALE_N // 4)
                    n = max(n, c * 4)
                    for s in servers.values():
                        rec = measured_run(s, wl, 1, n, c, rnd, "scaling")
                        self.records.append(rec)
                        self.commands.setdefault(
                            f"scaling c={c}",
                            " ".join(shquote(a) for a in wl.argv(s.port, 1, n, c)))
                        log(f"round {rnd}/{ROUNDS} GET P1 c={c:<5} {s.name}: {fmt_cpu(rec)}")
        finally:
            for s in servers.values():
                s.stop()

    # -- memory --------------------------------------------------------------

    def memory(self):
        v = MEM_VALUE
        sets = [
            ("string", f"{MEM_N} string keys (16-byte key, {v}-byte value)", MEM_N, "key",
             ["-t", "string", "-n", MEM_N, "-d", v, "-k", "key:"], ("DBSIZE",),
             "key:000000000000"),
            ("string_ttl", f"{MEM_N} string keys with a TTL", MEM_N, "key",
             ["-t", "string", "-n", MEM_N, "-d", v, "-e", MEM_TTL, "-k", "key:"], ("DBSIZE",),
             "key:000000000000"),
            ("hash", f"one hash of {MEM_N} fields (16-byte field, {v}-byte value)", MEM_N,
             "field", ["-t", "hash", "-n", MEM_N, "-d", v, "-k", "bench:hash"],
             ("HLEN", "bench:hash"), "bench:hash"),
            ("set", f"one set of {MEM_N} members (16 bytes)", MEM_N, "member",
             ["-t", "set", "-n", MEM_N, "-k", "bench:set"], ("SCARD", "bench:set"),
             "bench:set"),
            ("zset", f"one sorted set of {MEM_N} members (16 bytes)", MEM_N, "member",
             ["-t", "zset", "-n", MEM_N, "-k", "bench:zset"], ("ZCARD", "bench:zset"),
             "bench:zset"),
            ("list", f"one list of {MEM_N} elements ({v} bytes)", MEM_N, "element",
             ["-t", "list", "-n", MEM_N, "-d", v, "-k", "bench:list"],
             ("LLEN", "bench:list"), "bench:list"),
            ("smallhash", f"{MEM_SMALL} hashes of {MEM_FIELDS} fields ({v}-byte values)",
             MEM_SMALL, "hash", ["-t", "smallhash", "-n", MEM_SMALL, "-d", v, "-f", MEM_FIELDS,
                                 "-k", "h:"], ("DBSIZE",), "h:00000000"),
        ]
        for name, desc, count, unit, args, check, sample in sets:
            for sname in SERVERS:
                s = Server(sname, self.work).start()
                try:
                    self.server_cmds.setdefault(s.name, s.cmdline())
                    time.sleep(0.3)
                    u0, r0 = s.used_memory(), s.rss()
                    fill(s, *args)
                    u1 = settle(s)
                    r1 = s.rss()
                    got = s.command(*check)
                    got = int(got[1:]) if isinstance(got, bytes) and got[:1] == b":" else None
                    enc = s.command("OBJECT", "ENCODING", sample)
                    enc = enc.decode(errors="replace") if isinstance(enc, bytes) else None
                    rec = {"kind": "memory", "dataset": name, "desc": desc, "server": sname,
                           "count": count, "unit": unit, "used_before": u0, "used_after": u1,
                           "rss_before": r0, "rss_after": r1,
                           "used_per_unit": (u1 - u0) / count, "rss_per_unit": (r1 - r0) / count,
                           "encoding": enc, "check": got, "ok": got == count,
                           "fill": "cairn-load fill " + " ".join(str(a) for a in args)}
                    if name == "smallhash":
                        rec["used_per_field"] = (u1 - u0) / (count * MEM_FIELDS)
                        rec["rss_per_field"] = (r1 - r0) / (count * MEM_FIELDS)
                    self.records.append(rec)
                    log(f"memory {name:<10} {sname}: {rec['used_per_unit']:.1f} B/{unit} "
                        f"(used_memory), {rec['rss_per_unit']:.1f} B/{unit} (RSS), "
                        f"encoding {enc}{'' if rec['ok'] else f', COUNT {got} != {count}'}")
                finally:
                    s.stop()

    # -- callgrind -------------------------------------------------------------

    def callgrind(self):
        if not VALGRIND:
            self.notes.append("valgrind is not installed: no instruction counts.")
            return
        cgdir = os.path.join(self.work, "callgrind")
        os.makedirs(cgdir, exist_ok=True)
        idle = {}
        for sname in SERVERS:
            # Instructions a server spends idle per second (its timers):
            # subtracted for the extra wall time a 2N run takes.
            tot = []
            for secs in IDLE_SLEEPS:
                out = os.path.join(cgdir, f"{sname}-idle-{secs}.out")
                s = Server(sname, self.work, callgrind_out=out).start()
                time.sleep(secs)
                s.stop(grace=60)
                tot.append(cg_total(out))
            idle[sname] = (tot[1] - tot[0]) / (IDLE_SLEEPS[1] - IDLE_SLEEPS[0])
            log(f"callgrind {sname}: {idle[sname] / 1e6:.2f} M instructions per idle second")
        for pl in CG_PIPELINES:
            for t in CG_TESTS:
                wl = make_workload(t)
                if wl.driver or wl.cmd:
                    self.notes.append(f"callgrind: {t} is not a redis-benchmark -t test; skipped")
                    continue
                for sname in SERVERS:
                    res = {}
                    for n in (CG_N, 2 * CG_N):
                        out = os.path.join(cgdir, f"{sname}-{t}-P{pl}-{n}.out")
                        s = Server(sname, self.work, callgrind_out=out).start()
                        try:
                            fill(s, "-t", "string", "-n", CG_KEYSPACE, "-d", DATASIZE, "-k", "key:")
                            cmd = [BENCH_BIN, "-h", "127.0.0.1", "-p", str(s.port), "-n", str(n),
                                   "-c", str(CLIENTS), "-P", str(pl), "-r", str(CG_KEYSPACE),
                                   "-d", str(DATASIZE), "-t", wl.rb, "-q"]
                            w0 = time.monotonic()
                            rc, o, err, to, _ = run_client(cmd, max(RUN_TIMEOUT, 600))
                            wall = time.monotonic() - w0
                            if rc != 0 or to:
                                raise BenchError(f"callgrind run failed: {' '.join(cmd)}: {err}")
                            self.commands.setdefault(
                                f"callgrind {wl.label} P{pl}",
                                " ".join(shquote(a) for a in s.cmd) + "\n" +
                                " ".join(shquote(a) for a in cmd))
                        finally:
                            s.stop(grace=120)
                        res[n] = (cg_total(out), wall, out)
                    (i1, w1, o1), (i2, w2, o2) = res[CG_N], res[2 * CG_N]
                    corr = idle[sname] * max(0.0, w2 - w1)
                    rec = {"kind": "callgrind", "workload": t, "label": wl.label,
                           "pipeline": pl, "server": sname, "n": CG_N,
                           "instr_n": i1, "instr_2n": i2, "wall_n": round(w1, 2),
                           "wall_2n": round(w2, 2), "idle_per_s": idle[sname],
                           "idle_correction": corr,
                           "per_req_raw": (i2 - i1) / CG_N,
                           "per_req": (i2 - i1 - corr) / CG_N,
                           "top": cg_top_diff(o1, o2, CG_N), "ok": True}
                    self.records.append(rec)
                    log(f"callgrind {wl.label} P{pl} {sname}: {rec['per_req']:.0f} instructions/req "
                        f"(raw {rec['per_req_raw']:.0f}, idle correction "
                        f"{corr / CG_N:.0f})")


def settle(server, limit=8.0):
    """used_memory once it stops moving (incremental rehashing, lazy frees)."""
    deadline = time.monotonic() + limit
    last = server.used_memory()
    time.sleep(0.5)
    while time.monotonic() < deadline:
        cur = server.used_memory()
        if cur == last:
            return cur
        last = cur
        time.sleep(0.5)
    return last


def cg_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise BenchError(f"no totals in {path}")


def cg_functions(path):
    """Self instructions per function, from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                         capture_output=True, text=True, timeout=300).stdout
    fns = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2)
        fn = name.split(":", 1)[1] if ":" in name else name
        obj = os.path.basename(m.group(3) or "")
        fns[(fn, obj)] = fns.get((fn, obj), 0) + int(m.group(1).replace(",", ""))
    return fns


def cg_top_diff(a, b, n, top=25):
    """The functions that cost most per request: (self Ir in the 2N run -
    self Ir in the N run) / N."""
    try:
        fa, fb = cg_functions(a), cg_functions(b)
    except (OSError, subprocess.SubprocessError):
        return []
    d = [(k, (fb.get(k, 0) - fa.get(k, 0)) / n) for k in fb]
    d.sort(key=lambda x: -x[1])
    return [{"function": k[0], "object": k[1], "per_req": round(v, 1)} for k, v in d[:top]
            if v > 0]


# --------------------------------------------------------------------------

def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    rev = out(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"]) or "no commit"
    if out(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]):
        rev += " (with uncommitted changes)"
    return {
        "nproc": os.cpu_count(), "cpu": model, "memory": mem,
        "kernel": " ".join(platform.uname()[i] for i in (0, 2, 4)),
        "redis_server": out([REDIS_BIN, "--version"]),
        "redis_benchmark": out([BENCH_BIN, "--version"]),
        "valgrind": out([VALGRIND, "--version"]) if VALGRIND else "not installed",
        "cairn_bin": CAIRN_BIN, "cairn_git": rev,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for path, what in ((CAIRN_BIN, "cairn-server (make release)"),
                       (REDIS_BIN, "redis-server (apt-get install redis-server)"),
                       (BENCH_BIN, "redis-benchmark (apt-get install redis-tools)"),
                       (DRIVER, "cairn-load (make -C bench/driver)")):
        if not path or not os.access(path, os.X_OK):
            raise BenchError(f"{what} not found at {path!r}")
    for s in SECTIONS:
        if s not in ("throughput", "scaling", "memory", "callgrind"):
            raise BenchError(f"unknown section {s!r} in SECTIONS")
    for t in TESTS:
        make_workload(t)
    # Connections: as many descriptors as the hard limit allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    b = Bench()
    t_start = time.time()
    meta = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                           time.gmtime(t_start)),
            "loadavg_start": read_loadavg(), "quick": QUICK,
            "config": {k: globals()[k] for k in (
                "ROUNDS", "N", "N_P1", "CLIENTS", "KEYSPACE", "BIG_KEYSPACE", "DATASIZE",
                "BIGSIZE", "LIST_LEN", "PIPELINES", "CONNS", "SCALE_N", "MIX_KEYSPACE",
                "MIX_THETA", "MIX_GET", "MEM_N", "MEM_SMALL", "MEM_FIELDS", "MEM_VALUE",
                "MEM_TTL", "CG_N", "CG_KEYSPACE", "CG_TESTS", "CG_PIPELINES", "RUN_TIMEOUT",
                "SCRAPE", "SECTIONS", "TESTS")}}
    rc = 0
    try:
        for sec in ("throughput", "scaling", "memory", "callgrind"):
            if sec in SECTIONS:
                b.phase(sec, getattr(b, sec))
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    except BenchError as e:
        log(str(e))
        rc = 1
    finally:
        stop_all()
        shutil.rmtree(b.work, ignore_errors=True)
    meta.update({"seconds": round(time.time() - t_start, 1), "loadavg_end": read_loadavg(),
                 "phases": b.phases, "notes": b.notes, "commands": b.commands,
                 "server_cmds": b.server_cmds, "results_dir": RESULTS_DIR,
                 "complete": rc == 0})
    if rc == 130:
        return rc
    path = b.save(meta)
    log(f"raw results in {os.path.relpath(path, ROOT)}")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "report.py"), path])
    if r.returncode != 0:
        rc = rc or 1
    if any(not x.get("ok", True) for x in b.records):
        log("some runs failed (see the report)")
        rc = rc or 1
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log(str(e))
        sys.exit(1)
