#!/usr/bin/python3
"""DEBUG DIGEST: two cairn-server binaries alternated in the same run.

Each run starts a server, fills it with N keys of mixed types by Lua
scripts (per 10 keys: 4 strings of 16 bytes or integers, a hash of 5
fields, a set of 5 members, a sorted set of 5 members, a list of 5
elements, a string with a TTL, a hash of 200 fields in its big encoding),
then times DEBUG DIGEST REPS times (wall clock and the server's CPU) and
checks both binaries' digests have the expected shape.  With CALLGRIND=1
the server runs under valgrind --tool=callgrind collecting only inside
digest_dataset, and the instructions per key are printed instead (use a
smaller N there, e.g. 20000).

Usage: bench/digest.py OLD_BIN NEW_BIN
Environment: N (200000), ROUNDS (3), REPS (3), CALLGRIND (0), STRINGS (0: 1
fills with N strings key:I = value:I instead, as Redis's DEBUG POPULATE).
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
from ab import alternate  # noqa: E402
from cpu import proc_cpu_ticks, CLK_TCK  # noqa: E402

N = int(os.environ.get("N", "200000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
REPS = int(os.environ.get("REPS", "3"))
CALLGRIND = os.environ.get("CALLGRIND", "0") == "1"
STRINGS = os.environ.get("STRINGS", "0") == "1"

FILL = """
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = from, to - 1 do
  local k, m = 'k' .. i, i % 10
  if m < 4 then
    if i % 2 == 0 then redis.call('SET', k, i)
    else redis.call('SET', k, 'value-' .. string.format('%010d', i)) end
  elseif m == 4 then
    redis.call('HSET', k, 'f1', i, 'f2', 'b', 'f3', 'cc', 'f4', 'ddd', 'f5', i + 1)
  elseif m == 5 then
    redis.call('SADD', k, 'a', 'b', i, 'd', 'e')
  elseif m == 6 then
    redis.call('ZADD', k, 1, 'a', 2.5, 'b', i, 'c', 4, 'd', 5, 'e')
  elseif m == 7 then
    redis.call('RPUSH', k, 'a', 'b', i, 'd', 'e')
  elseif m == 8 then
    redis.call('SET', k, 'v' .. i, 'EX', 100000)
  else
    for j = 1, 200, 20 do
      local a = {}
      for f = j, j + 19 do a[#a + 1] = 'field' .. f; a[#a + 1] = 'v' .. (f * i) end
      redis.call('HSET', k, unpack(a))
    end
  end
end
return 1
"""

STRING_FILL = """
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
  redis.call('SET', 'key:' .. i, 'value:' .. i)
end
return 1
"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(binary, workdir):
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
    out = None
    if CALLGRIND:
        out = os.path.join(workdir, "callgrind.out")
        args = ["valgrind", "--tool=callgrind", "--toggle-collect=digest_dataset",
                f"--callgrind-out-file={out}"] + args
    log = open(os.path.join(workdir, "log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=600, decode_responses=True)
    for _ in range(600):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    sha = r.script_load(STRING_FILL if STRINGS else FILL)
    for i in range(0, N, 5000):
        r.evalsha(sha, 0, i, min(N, i + 5000))
    assert r.dbsize() == N
    walls, cpus, digests = [], [], set()
    for _ in range(REPS):
        c0, t0 = proc_cpu_ticks(proc.pid), time.monotonic()
        digests.add(r.execute_command("DEBUG", "DIGEST"))
        walls.append(time.monotonic() - t0)
        cpus.append((proc_cpu_ticks(proc.pid) - c0) / CLK_TCK)
    assert len(digests) == 1
    r.shutdown(nosave=True)
    proc.wait(timeout=60)
    log.close()
    ir = None
    if CALLGRIND:
        with open(out) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    ir = int(line.split()[1]) / REPS
    return statistics.median(walls), statistics.median(cpus), ir


def one_round(rnd, name, binary):
    workdir = tempfile.mkdtemp(prefix="digest-bench-")
    try:
        wall, cpu, ir = run(binary, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    extra = f", {ir / N:,.0f} instructions per key" if ir else ""
    print(f"round {rnd + 1} {name}: DEBUG DIGEST of {N} keys {wall * 1000:.0f} ms wall, "
          f"{cpu * 1000:.0f} ms server CPU{extra}", flush=True)
    return wall, cpu, ir


def main():
    res = alternate(__doc__, ROUNDS, one_round)
    for name in res:
        walls = [w for w, _, _ in res[name]]
        print(f"{name}: median {statistics.median(walls) * 1000:.0f} ms wall over {ROUNDS} rounds")


if __name__ == "__main__":
    main()
