#!/usr/bin/python3
"""Helpers of the benchmark scripts (Python standard library only): the
/proc readers and the small RESP client that bench/bench.py imports, and
these subcommands (bench/coord.sh uses freeport and ping):

  freeport              print a TCP port that is free on 127.0.0.1
  ping PORT TIMEOUT     wait until a server on 127.0.0.1:PORT answers PING
  populate PORT KEYS SIZE
                        SET key:000000000000 .. key:<KEYS-1> (the names
                        redis-benchmark -r KEYS generates) to SIZE bytes of 'x'
  populate-list PORT KEY LEN SIZE
                        replace KEY by a list of LEN elements of SIZE bytes
  cputime PID...        print the on-CPU time of the processes together, in
                        ns, twice: from schedstat (live threads) and from
                        utime+stime (ticks, exited threads too)
"""

import os
import socket
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


def cmd_cputime(args):
    sched = ticks = 0
    for pid in args:
        ns = proc_sched_ns(pid)
        sched += ns or 0
        ticks += proc_cpu_ticks(pid)
    print(sched, ticks * 1000000000 // CLK_TCK)
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sub, args = sys.argv[1], sys.argv[2:]
    fn = {"freeport": cmd_freeport, "ping": cmd_ping, "populate": cmd_populate,
          "populate-list": cmd_populate_list, "cputime": cmd_cputime}.get(sub)
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())
