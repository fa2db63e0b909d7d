#!/usr/bin/python3
"""Helper for bench/run.sh (Python standard library only).

Subcommands:
  freeport              print a TCP port that is free on 127.0.0.1
  ping PORT TIMEOUT     wait until a server on 127.0.0.1:PORT answers PING
  populate PORT KEYS SIZE
                        SET key:000000000000 .. key:<KEYS-1> (the names
                        redis-benchmark -r KEYS generates) to SIZE bytes of 'x'
  populate-list PORT KEY LEN SIZE
                        replace KEY by a list of LEN elements of SIZE bytes
  run --pid PID --server NAME --workload W --round R --requests N
      --timeout S --out FILE -- redis-benchmark ...
                        run one redis-benchmark (bounded by S seconds),
                        measuring the server's CPU time from /proc/PID/stat
                        (utime+stime) before and after, and append one JSON
                        record to FILE
  report FILE           print the Markdown summary of the records in FILE
"""

import csv
import io
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# /proc readers

def proc_cpu_ticks(pid):
    """utime+stime (fields 14 and 15 of /proc/PID/stat), in clock ticks.

    Covers every thread of the process, including exited ones."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # Field 2 (comm) is parenthesised and may contain spaces: split after it.
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3, so field 14 is rest[11] and field 15 is rest[12].
    return int(rest[11]) + int(rest[12])


def proc_sched_ns(pid):
    """Sum of the on-CPU time in ns (first field of schedstat) over the
    process's live threads: a finer-grained cross-check of the tick count."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


# --------------------------------------------------------------------------
# tiny RESP client

def resp_cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, body = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        raise ValueError(f"unexpected reply {line[:60]!r}")

    def close(self):
        self.s.close()


# --------------------------------------------------------------------------
# subcommands

def cmd_freeport(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def cmd_ping(args):
    port, limit = int(args[0]), float(args[1])
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        try:
            c = Conn(port, timeout=1.0)
            c.s.sendall(resp_cmd("PING"))
            r = c.reply()
            c.close()
            if r == b"+PONG":
                return 0
            last = r
        except OSError as e:
            last = e
        time.sleep(0.05)
    print(f"no PONG from 127.0.0.1:{port} within {limit}s ({last!r})",
          file=sys.stderr)
    return 1


def cmd_populate(args):
    port, keys, size = int(args[0]), int(args[1]), int(args[2])
    value = b"x" * size
    c = Conn(port, timeout=30.0)
    batch = 10000
    for start in range(0, keys, batch):
        end = min(keys, start + batch)
        c.s.sendall(b"".join(resp_cmd("SET", b"key:%012d" % i, value)
                             for i in range(start, end)))
        for _ in range(start, end):
            r = c.reply()
            if r != b"+OK":
                print(f"populate: SET answered {r!r}", file=sys.stderr)
                return 1
    # Check one key round-trips, so GET runs measure hits.
    c.s.sendall(resp_cmd("GET", b"key:%012d" % (keys - 1)))
    r = c.reply()
    c.close()
    if r != value:
        print(f"populate: GET answered {r!r}, wanted {value!r}", file=sys.stderr)
        return 1
    return 0


def cmd_populate_list(args):
    port, key, length, size = int(args[0]), args[1], int(args[2]), int(args[3])
    value = b"x" * size
    c = Conn(port, timeout=30.0)
    c.s.sendall(resp_cmd("DEL", key))
    c.reply()
    batch = 1000
    for start in range(0, length, batch):
        n = min(length, start + batch) - start
        c.s.sendall(resp_cmd("RPUSH", key, *([value] * n)))
        r = c.reply()
        if r != b":%d" % (start + n):
            print(f"populate-list: RPUSH answered {r!r}", file=sys.stderr)
            return 1
    c.close()
    return 0


def parse_csv(text):
    """redis-benchmark 7 --csv: header line then one row per test."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if len(rows) < 2 or rows[0][:2] != ["test", "rps"]:
        return None
    head = rows[0]
    rec = dict(zip(head, rows[-1]))
    return {
        "test": rec["test"],
        "rps": float(rec["rps"]),
        "avg_ms": float(rec["avg_latency_ms"]),
        "p50_ms": float(rec["p50_latency_ms"]),
        "p95_ms": float(rec["p95_latency_ms"]),
        "p99_ms": float(rec["p99_latency_ms"]),
        "max_ms": float(rec["max_latency_ms"]),
    }


def cmd_run(args):
    opts = {}
    i = 0
    while i < len(args) and args[i] != "--":
        opts[args[i].lstrip("-")] = args[i + 1]
        i += 2
    cmd = args[i + 1:]
    pid = int(opts["pid"])
    requests = int(opts["requests"])
    timeout = float(opts["timeout"])

    t0 = proc_cpu_ticks(pid)
    s0 = proc_sched_ns(pid)
    w0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)

    def on_signal(signum, _frame):
        # run.sh is stopping: take the client down with us.
        try:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    wall = time.monotonic() - w0
    t1 = proc_cpu_ticks(pid)
    s1 = proc_sched_ns(pid)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)

    rec = {
        "server": opts["server"], "workload": opts["workload"],
        "round": int(opts["round"]), "requests": requests,
        "wall_s": round(wall, 4), "rc": p.returncode, "timed_out": timed_out,
        "server_cpu_ticks": t1 - t0, "clk_tck": CLK_TCK,
        "server_cpu_s": (t1 - t0) / CLK_TCK,
        "server_us_per_req": (t1 - t0) / CLK_TCK * 1e6 / requests,
        "server_sched_us_per_req": (None if s0 is None or s1 is None
                                    else (s1 - s0) / 1e3 / requests),
        # This process runs exactly one child, so its children's rusage
        # is the benchmark client's CPU.
        "client_cpu_s": round(ru.ru_utime + ru.ru_stime, 4),
        "command": " ".join(cmd),
    }
    parsed = None if timed_out else parse_csv(out.decode(errors="replace"))
    ok = parsed is not None and p.returncode == 0
    if parsed:
        rec.update(parsed)
    rec["ok"] = ok
    with open(opts["out"], "a") as f:
        f.write(json.dumps(rec) + "\n")
    if not ok:
        why = "timed out" if timed_out else f"exit {p.returncode}"
        sys.stderr.write(f"run failed ({why}): {' '.join(cmd)}\n"
                         f"{err.decode(errors='replace')[-2000:]}\n")
        return 1
    return 0


def fmt(x, nd):
    return "n/a" if x is None else f"{x:.{nd}f}"


def med(vals):
    return statistics.median(vals) if vals else None


def cmd_report(args):
    recs = [json.loads(l) for l in open(args[0]) if l.strip()]
    by = {}
    for r in recs:
        by.setdefault((r["workload"], r["server"]), []).append(r)

    def good(w, s):
        return [r for r in by.get((w, s), []) if r["ok"]]

    # The workloads in the order they were run (run.sh's TESTS).
    workloads = list(dict.fromkeys(r["workload"] for r in recs))
    out = []
    out.append("| workload | cairn rps | redis rps | cairn p50 / p99 ms "
               "| redis p50 / p99 ms | cairn µs CPU/req (min–max) "
               "| redis µs CPU/req (min–max) | CPU ratio cairn/redis |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for w in workloads:
        row = [w]
        c, r = good(w, "cairn"), good(w, "redis")
        row.append(fmt(med([x["rps"] for x in c]), 0))
        row.append(fmt(med([x["rps"] for x in r]), 0))
        for xs in (c, r):
            row.append(f"{fmt(med([x['p50_ms'] for x in xs]), 3)} / "
                       f"{fmt(med([x['p99_ms'] for x in xs]), 3)}")
        cpu = {}
        for name, xs in (("cairn", c), ("redis", r)):
            v = [x["server_us_per_req"] for x in xs]
            cpu[name] = med(v)
            if v:
                row.append(f"{fmt(med(v), 3)} ({fmt(min(v), 3)}–{fmt(max(v), 3)})")
            else:
                row.append("n/a")
        if cpu["cairn"] is not None and cpu["redis"]:
            row.append(f"{cpu['cairn'] / cpu['redis']:.2f}")
        else:
            row.append("n/a")
        nfail = sum(1 for x in by.get((w, "cairn"), []) + by.get((w, "redis"), [])
                    if not x["ok"])
        if nfail:
            row[0] += f" ({nfail} failed run{'s' if nfail > 1 else ''})"
        out.append("| " + " | ".join(row) + " |")

    out.append("")
    out.append("Every run, in the order run (CPU from /proc/PID/stat ticks; "
               "`sched` is the same from per-thread schedstat in ns, as a "
               "cross-check of the tick resolution; client CPU is "
               "redis-benchmark's own utime+stime):")
    out.append("")
    out.append("| round | workload | server | rps | p50 ms | p99 ms | wall s "
               "| server CPU s | µs CPU/req | sched µs/req | client CPU s | ok |")
    out.append("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for x in recs:
        out.append("| " + " | ".join([
            str(x["round"]), x["workload"], x["server"],
            fmt(x.get("rps"), 0), fmt(x.get("p50_ms"), 3), fmt(x.get("p99_ms"), 3),
            fmt(x["wall_s"], 2), fmt(x["server_cpu_s"], 2),
            fmt(x["server_us_per_req"], 3), fmt(x["server_sched_us_per_req"], 3),
            fmt(x["client_cpu_s"], 2), "yes" if x["ok"] else "**no**",
        ]) + " |")
    print("\n".join(out))
    return 0 if all(x["ok"] for x in recs) else 1


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sub, args = sys.argv[1], sys.argv[2:]
    fn = {"freeport": cmd_freeport, "ping": cmd_ping, "populate": cmd_populate,
          "populate-list": cmd_populate_list, "run": cmd_run,
          "report": cmd_report}.get(sub)
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())
