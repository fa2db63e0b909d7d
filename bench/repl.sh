#!/usr/bin/env bash
# Replication benchmark: a 3-node Cairn Raft group on loopback against
# redis-server with appendfsync always (one node, every write fsynced) and
# against redis-server with two asynchronous replicas, in the same run with
# the same client (redis-benchmark, -c CLIENTS).
#
# Reported, per workload and setup: acknowledged requests/s, server CPU per
# request summed over every server process of the setup (the three nodes;
# the master and its two replicas), and p50/p99/p99.9 latency.  Workloads:
# SET at -P 1 and -P 16, GET (linearizable) on the leader and on a
# follower, and GET on the leader against a standalone Cairn.  Then the
# targets (3-node SET >= 0.5x redis appendfsync always; GET on the leader
# >= 0.8x a standalone Cairn, both in requests/s) met or missed, and the
# failover time over KILLS leader kills (bench/repl_failover.py).  All
# nodes share this machine, so the figures are CPU-bound, not a network's.
#
# Writes Markdown to stdout and to bench/results/repl.md.
#
# Environment:
#   N        requests per -P 16 run (default 100000; -P 1 runs use N/5)
#   CLIENTS  connections (default 50)
#   KILLS    leader kills for the failover figure (default 20; 0: skip)
#   CAIRN_BIN server under test (default build-release/, else build/)
#   OUT      where the report goes (default bench/results/repl.md)
#   WORKDIR  where the data directories go, whose disk the fsyncs hit
#            (default /tmp)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
HELPER=$ROOT/bench/cpu.py
CAIRN_BIN=${CAIRN_BIN:-}
if [ -z "$CAIRN_BIN" ]; then
    CAIRN_BIN=$ROOT/build-release/cairn-server
    [ -x "$CAIRN_BIN" ] || CAIRN_BIN=$ROOT/build/cairn-server
fi
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
KILLS=${KILLS:-20}
OUT=${OUT:-$ROOT/bench/results/repl.md}
WORK=$(mktemp -d "${WORKDIR:-/tmp}/cairn-bench-repl-XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    "$PY" "$HELPER" ping "$1" 10 || exit 1
}

# On-CPU ns of the processes together: schedstat's ns, unless a thread came
# or went during the run (then it disagrees with utime+stime by more than
# their 10 ms ticks allow) and the ticks are used.
cpu_delta() { # "sched0 stat0" "sched1 stat1" nprocs -> ns
    awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        s = y[1] - x[1]; t = y[2] - x[2]; d = s - t; if (d < 0) d = -d;
        printf "%d", (d <= 2 * k * 10000000 + 0.05 * t) ? s : t }'
}

# One redis-benchmark run against PORT while the server processes PIDS...
# are measured: "rps p50 p99 p99.9 cpu_us_per_request".  p50 and p99 come
# from redis-benchmark's summary, p99.9 from its "Latency by percentile
# distribution" as the first percentile listed at or above 99.9 (99.902%
# with HdrHistogram's halving steps: an upper bound).
run() {
    local port=$1 test=$2 pipe=$3 n=$4
    shift 4
    local c0 c1 figures
    c0=$("$PY" "$HELPER" cputime "$@")
    figures=$(redis-benchmark -p "$port" -t "$test" -n "$n" -c "$CLIENTS" -P "$pipe" -r 100000 \
        --precision 3 2>/dev/null | tr '\r' '\n' | awk '
        /throughput summary:/ { rps = $3 }
        /avg +min +p50 +p95 +p99 +max/ { getline; p50 = $3; p99 = $5 }
        /^ *[0-9.]+% <= [0-9.]+ milliseconds/ && p999 == "" {
            pct = $1; sub(/%/, "", pct); if (pct + 0 >= 99.9) p999 = $3 }
        END { if (rps == "" || p999 == "") exit 1; printf "%d %s %s %s", rps, p50, p99, p999 }')
    c1=$("$PY" "$HELPER" cputime "$@")
    echo "$figures $(awk -v ns="$(cpu_delta "$c0" "$c1" $#)" -v n="$n" \
        'BEGIN { printf "%.1f", ns / 1000 / n }')"
}

# Table cells of one run's figures.
rate() { set -- $1; echo "$1 req/s, $5 µs"; }
lat() { set -- $1; echo "$2 / $3 / $4"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "met" : "missed" }'; }

P=(); for i in 1 2 3; do P+=("$("$PY" "$HELPER" freeport)"); done
PEERS="1@127.0.0.1:${P[0]},2@127.0.0.1:${P[1]},3@127.0.0.1:${P[2]}"
GROUP=()
for i in 1 2 3; do
    mkdir -p "$WORK/c$i"
    "$CAIRN_BIN" --port "${P[$((i - 1))]}" --dir "$WORK/c$i" --raft-id "$i" --raft-peers "$PEERS" \
        --logfile "$WORK/c$i.log" &
    PIDS+=($!)
    GROUP+=($!)
done
for p in "${P[@]}"; do wait_port "$p"; done
LEADER=""
for _ in $(seq 100); do
    for p in "${P[@]}"; do
        if redis-cli -p "$p" info replication | grep -q '^raft_state:leader'; then LEADER=$p; fi
    done
    [ -n "$LEADER" ] && break
    sleep 0.1
done
[ -n "$LEADER" ] || { echo "repl.sh: no leader elected" >&2; exit 1; }
FOLLOWER=${P[0]}
[ "$FOLLOWER" = "$LEADER" ] && FOLLOWER=${P[1]}

RA=$("$PY" "$HELPER" freeport)
mkdir -p "$WORK/ra"
redis-server --port "$RA" --dir "$WORK/ra" --save "" --appendonly yes --appendfsync always \
    --daemonize no >/dev/null &
PIDS+=($!)
ALWAYS=($!)
RM=$("$PY" "$HELPER" freeport); R1=$("$PY" "$HELPER" freeport); R2=$("$PY" "$HELPER" freeport)
for p in $RM $R1 $R2; do mkdir -p "$WORK/r$p"; done
redis-server --port "$RM" --dir "$WORK/r$RM" --save "" --appendonly no --daemonize no >/dev/null &
PIDS+=($!)
REPLICATED=($!)
for p in $R1 $R2; do
    redis-server --port "$p" --dir "$WORK/r$p" --save "" --appendonly no --replicaof 127.0.0.1 "$RM" \
        --daemonize no >/dev/null &
    PIDS+=($!)
    REPLICATED+=($!)
done
CS=$("$PY" "$HELPER" freeport)
mkdir -p "$WORK/cs"
"$CAIRN_BIN" --port "$CS" --dir "$WORK/cs" --save "" --logfile "$WORK/cs.log" &
PIDS+=($!)
STANDALONE=($!)
for p in $RA $RM $R1 $R2 $CS; do wait_port "$p"; done
for p in $R1 $R2; do # both replicas in sync before anything is measured
    for _ in $(seq 200); do
        redis-cli -p "$p" info replication | grep -q '^master_link_status:up' && break
        sleep 0.05
    done
done

declare -A F # figures by "workload setup"
for pipe in 1 16; do
    n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
    F[set$pipe c]=$(run "$LEADER" set "$pipe" "$n" "${GROUP[@]}")
    F[set$pipe a]=$(run "$RA" set "$pipe" "$n" "${ALWAYS[@]}")
    F[set$pipe r]=$(run "$RM" set "$pipe" "$n" "${REPLICATED[@]}")
done
for pipe in 1 16; do
    n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
    F[getl$pipe c]=$(run "$LEADER" get "$pipe" "$n" "${GROUP[@]}")
    F[getf$pipe c]=$(run "$FOLLOWER" get "$pipe" "$n" "${GROUP[@]}")
    F[getl$pipe a]=$(run "$RA" get "$pipe" "$n" "${ALWAYS[@]}")
    F[getl$pipe r]=$(run "$RM" get "$pipe" "$n" "${REPLICATED[@]}")
    F[getf$pipe r]=$(run "$R1" get "$pipe" "$n" "${REPLICATED[@]}")
done
run "$CS" set 16 "$N" "${STANDALONE[@]}" >/dev/null # the same keys as the group holds
for pipe in 1 16; do
    n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
    F[lead$pipe]=$(run "$LEADER" get "$pipe" "$n" "${GROUP[@]}")
    F[alone$pipe]=$(run "$CS" get "$pipe" "$n" "${STANDALONE[@]}")
done

ROWS=("set1:SET -P 1" "set16:SET -P 16" "getl1:GET -P 1 on the leader (redis: the master)"
    "getf1:GET -P 1 on a follower (redis: a replica)" "getl16:GET -P 16 on the leader (redis: the master)"
    "getf16:GET -P 16 on a follower (redis: a replica)")
# One table row per workload of ROWS: the Cairn group, redis appendfsync
# always (- where not run) and redis with replicas, each cell by $1 (rate
# or lat).
rows() {
    local row k a
    for row in "${ROWS[@]}"; do
        k=${row%%:*}
        a=-; [ -n "${F[$k a]:-}" ] && a=$("$1" "${F[$k a]}")
        echo "| ${row#*:} | $("$1" "${F[$k c]}") | $a | $("$1" "${F[$k r]}") |"
    done
}
{
    echo "# 3-node group on loopback (N=$N, -c $CLIENTS, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "$("$CAIRN_BIN" --version | head -1) (commit $(git -C "$ROOT" rev-parse --short HEAD))," \
        "$(redis-server --version | cut -d' ' -f1-3), $(nproc) cores, load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg) when the runs ended."
    echo "Each cell is one run of \`redis-benchmark -c $CLIENTS -r 100000\` (N requests at -P 16," \
        "N/5 at -P 1)."
    echo
    echo "## Throughput and server CPU per request"
    echo
    echo "Acknowledged requests/s, and the on-CPU time of every server process of the setup"
    echo "(the three Cairn nodes; redis's master and its two replicas) over the run divided by"
    echo "its requests."
    echo
    echo "| workload | Cairn 3-node Raft | redis appendfsync always | redis + 2 async replicas |"
    echo "|---|---|---|---|"
    rows rate
    echo
    echo "## Latency (ms): p50 / p99 / p99.9"
    echo
    echo "| workload | Cairn 3-node Raft | redis appendfsync always | redis + 2 async replicas |"
    echo "|---|---|---|---|"
    rows lat
    echo
    echo "## GET on the leader vs a standalone Cairn"
    echo
    echo "Run back to back after the tables above; CPU per GET: the three nodes' against the"
    echo "standalone server's."
    echo
    echo "| workload | leader | standalone | req/s ratio | CPU ratio | latency leader | latency standalone |"
    echo "|---|---|---|---|---|---|---|"
    for pipe in 1 16; do
        set -- ${F[lead$pipe]}; l_rps=$1 l_cpu=$5
        set -- ${F[alone$pipe]}; s_rps=$1 s_cpu=$5
        echo "| GET -P $pipe | $(rate "${F[lead$pipe]}") | $(rate "${F[alone$pipe]}") |" \
            "$(ratio "$l_rps" "$s_rps")x | $(ratio "$l_cpu" "$s_cpu")x |" \
            "$(lat "${F[lead$pipe]}") | $(lat "${F[alone$pipe]}") |"
    done
    echo
    echo "## Targets"
    echo
    echo "| target | ratio | |"
    echo "|---|---|---|"
    for pipe in 1 16; do
        set -- ${F[set$pipe c]}; c_rps=$1
        set -- ${F[set$pipe a]}; a_rps=$1
        r=$(ratio "$c_rps" "$a_rps")
        echo "| SET -P $pipe: 3-node req/s >= 0.5x redis appendfsync always | ${r}x | $(verdict "$r" 0.5) |"
    done
    for pipe in 1 16; do
        set -- ${F[lead$pipe]}; l_rps=$1
        set -- ${F[alone$pipe]}; s_rps=$1
        r=$(ratio "$l_rps" "$s_rps")
        echo "| GET -P $pipe: leader req/s >= 0.8x a standalone Cairn | ${r}x | $(verdict "$r" 0.8) |"
    done
    if [ "$KILLS" -gt 0 ]; then
        echo
        echo "## Failover"
        echo
        CAIRN_SERVER_BIN=$CAIRN_BIN "$PY" "$ROOT/bench/repl_failover.py" "$KILLS"
    fi
} | tee "$OUT"
