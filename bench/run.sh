#!/usr/bin/env bash
# Benchmark cairn-server against Debian's redis-server (see bench/README.md).
#
#   make bench                     everything: bootstrap, release build, full run
#   QUICK=1 ./bench/run.sh         the same in 2-3 minutes (smaller counts)
#   SECTIONS=memory ./bench/run.sh one section
#
# Builds the load driver (bench/driver, on hiredis) into build-bench/, raises
# the open-file limit for the connection-scaling runs, and hands over to
# bench/bench.py, which starts both servers with the same flags on free
# loopback ports (no persistence), runs the workloads alternating cairn /
# redis for ROUNDS rounds, measures memory and instructions per request, and
# writes latest.md, runs.md, callgrind.md, latest.json and PNG plots to
# bench/results/ (bench/results/quick/ with QUICK=1).
#
# Environment (defaults of the full run; QUICK=1 lowers the ones marked *):
#   QUICK         1: a quick run                               (0)
#   SECTIONS      throughput,scaling,memory,callgrind          (all)
#   TESTS         workloads of the throughput section, comma-separated:
#                 set,get,set_1k,get_1k,incr,lpush,lpop,sadd,hset,zadd,mset,
#                 lrange_100,set_r1m,get_r1m,mix_zipf,setbit,
#                 bitcount_1m,pfadd,pfcount_3,geoadd,geosearch (all of these;
#                 also lrange_K and any other redis-benchmark -t name)
#   PIPELINES     pipeline depths of the throughput section    ("1 16")
#   ROUNDS        rounds (A B per workload in each)            (3)
#   N             requests per -P 16 run                       (500000, *60000)
#   N_P1          requests per -P 1 run                        (N/5)
#   CLIENTS       connections                                  (50)
#   KEYSPACE      -r of most workloads                         (100000)
#   BIG_KEYSPACE  -r of SET/GET r1M; keys pre-set              (1000000)
#   DATASIZE      value bytes (-d)                             (3)
#   BIGSIZE       value bytes of SET/GET 1KB                   (1024)
#   LIST_LEN      elements of the list LRANGE reads            (10000)
#   MIX_KEYSPACE, MIX_THETA, MIX_GET   the zipfian mix         (1000000, 0.99, 0.9)
#   CONNS         connection counts of the scaling section     ("1 50 500 5000")
#   SCALE_N       requests per scaling run                     (N_P1)
#   MEM_N         keys / elements per memory data set          (1000000, *100000)
#   MEM_SMALL     small hashes                                 (100000, *10000)
#   MEM_FIELDS, MEM_VALUE, MEM_TTL   small-hash fields, value bytes, TTL s
#   CG_N          requests of the shorter callgrind run        (50000, *10000)
#   CG_TESTS, CG_PIPELINES  callgrind workloads and depths     (set,get; "16 1")
#   RUN_TIMEOUT   seconds one client run may take              (120)
#   SCRAPE        seconds between two scrapes of each running server, 0 = none
#                 (1): cairn-server runs with its Prometheus endpoint on
#                 (--metrics-port) and is scraped with GET /metrics,
#                 redis-server with INFO ALL (as redis_exporter does)
#   RESULTS_DIR   where the report goes                        (bench/results)
#   CAIRN_BIN     server under test   (build-release/cairn-server)
#   REDIS_BIN     reference server    (redis-server from PATH)
#   BENCH_BIN     client              (redis-benchmark from PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3

die() { echo "bench: $*" >&2; exit 1; }

# Debian's packages the benchmark needs (redis-server, redis-tools,
# libhiredis-dev, valgrind, python3-matplotlib): installs only what is missing.
"$ROOT/scripts/bootstrap.sh" bench >&2 || die "scripts/bootstrap.sh bench failed"
[ -x "$PY" ] || die "$PY not found"
"$PY" -c 'import matplotlib' 2>/dev/null \
    || echo "bench: python3-matplotlib is missing: no plots" >&2
[ -f /usr/include/hiredis/hiredis.h ] || die "libhiredis-dev is missing"

# The load driver: a bench-only build, outside the main CMake build.
make -s -C "$ROOT/bench/driver" OUT="$ROOT/build-bench" >&2 \
    || die "could not build bench/driver"

# 5,000 connections need as many descriptors in the client and in each
# server: raise the soft limit to the hard one (bench.py reports it, and
# measures fewer connections if even that is too low).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec "$PY" "$ROOT/bench/bench.py"
