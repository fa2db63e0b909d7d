#!/usr/bin/env bash
# Replication benchmark: a 3-node Cairn Raft group on loopback against
# redis-server with appendfsync always (one node, every write fsynced) and
# against redis-server with two asynchronous replicas, in the same run with
# the same client (redis-benchmark, -c CLIENTS).
#
# Reported: SET at -P 1 and -P 16 (acknowledged writes/s and p50/p99 from
# redis-benchmark), GET on the leader and on a follower (linearizable) and
# on a standalone Cairn (the target: leader >= 0.8x standalone), and the
# failover time over KILLS leader kills (bench/repl_failover.py).  All
# nodes share this machine, so the figures are CPU-bound, not a network's.
#
# Writes a Markdown table to stdout and to bench/results/repl.md.
#
# Environment:
#   N        requests per run (default 100000; -P 1 runs use N/5)
#   CLIENTS  connections (default 50)
#   KILLS    leader kills for the failover figure (default 20; 0: skip)
#   CAIRN_BIN server under test (default build-release/, else build/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN_BIN=${CAIRN_BIN:-}
if [ -z "$CAIRN_BIN" ]; then
    CAIRN_BIN=$ROOT/build-release/cairn-server
    [ -x "$CAIRN_BIN" ] || CAIRN_BIN=$ROOT/build/cairn-server
fi
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
KILLS=${KILLS:-20}
WORK=$(mktemp -d /tmp/cairn-bench-repl-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "port $1 did not answer" >&2
    exit 1
}

# One redis-benchmark run: "rps p50 p99" (p99 from the latency histogram).
run() {
    local port=$1 test=$2 pipe=$3 n=$4
    redis-benchmark -p "$port" -t "$test" -n "$n" -c "$CLIENTS" -P "$pipe" -r 100000 --csv 2>/dev/null |
        awk -F'"' 'NR==2 {printf "%d %s %s", $4, $10, $14}'
}

P=(); for i in 1 2 3; do P+=("$(free_port)"); done
PEERS="1@127.0.0.1:${P[0]},2@127.0.0.1:${P[1]},3@127.0.0.1:${P[2]}"
for i in 1 2 3; do
    mkdir -p "$WORK/c$i"
    "$CAIRN_BIN" --port "${P[$((i - 1))]}" --dir "$WORK/c$i" --raft-id "$i" --raft-peers "$PEERS" \
        --logfile "$WORK/c$i.log" &
    PIDS+=($!)
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
FOLLOWER=${P[0]}
[ "$FOLLOWER" = "$LEADER" ] && FOLLOWER=${P[1]}

RA=$(free_port)
mkdir -p "$WORK/ra"
redis-server --port "$RA" --dir "$WORK/ra" --save "" --appendonly yes --appendfsync always \
    --daemonize no >/dev/null &
PIDS+=($!)
RM=$(free_port); R1=$(free_port); R2=$(free_port)
for p in $RM $R1 $R2; do mkdir -p "$WORK/r$p"; done
redis-server --port "$RM" --dir "$WORK/r$RM" --save "" --appendonly no --daemonize no >/dev/null &
PIDS+=($!)
for p in $R1 $R2; do
    redis-server --port "$p" --dir "$WORK/r$p" --save "" --appendonly no --replicaof 127.0.0.1 "$RM" \
        --daemonize no >/dev/null &
    PIDS+=($!)
done
CS=$(free_port)
mkdir -p "$WORK/cs"
"$CAIRN_BIN" --port "$CS" --dir "$WORK/cs" --save "" --logfile "$WORK/cs.log" &
PIDS+=($!)
for p in $RA $RM $R1 $R2 $CS; do wait_port "$p"; done

OUT=$ROOT/bench/results/repl.md
{
    echo "# 3-node group on loopback (N=$N, -c $CLIENTS, $(date -u +%Y-%m-%d))"
    echo
    echo "| workload | Cairn 3-node Raft | redis appendfsync always | redis + 2 async replicas |"
    echo "|---|---|---|---|"
    for pipe in 1 16; do
        n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
        c=$(run "$LEADER" set "$pipe" "$n")
        a=$(run "$RA" set "$pipe" "$n")
        r=$(run "$RM" set "$pipe" "$n")
        fmt() { set -- $1; echo "$1 req/s (p50 $2 ms, p99 $3 ms)"; }
        echo "| SET -P $pipe | $(fmt "$c") | $(fmt "$a") | $(fmt "$r") |"
    done
    for pipe in 1 16; do
        n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
        l=$(run "$LEADER" get "$pipe" "$n")
        f=$(run "$FOLLOWER" get "$pipe" "$n")
        r=$(run "$RM" get "$pipe" "$n")
        fmt() { set -- $1; echo "$1 req/s (p50 $2 ms, p99 $3 ms)"; }
        echo "| GET -P $pipe (Cairn: leader / follower) | $(fmt "$l") / $(fmt "$f") | | $(fmt "$r") |"
    done
    echo
    echo "| GET on the leader vs a standalone Cairn | leader | standalone | ratio |"
    echo "|---|---|---|---|"
    run "$CS" set 16 "$N" >/dev/null # the same keys as the group holds
    for pipe in 1 16; do
        n=$N; [ "$pipe" = 1 ] && n=$((N / 5))
        l=$(run "$LEADER" get "$pipe" "$n")
        s=$(run "$CS" get "$pipe" "$n")
        ratio=$(awk -v a="${l%% *}" -v b="${s%% *}" 'BEGIN { printf "%.2fx", a / b }')
        echo "| GET -P $pipe | ${l%% *} req/s | ${s%% *} req/s | $ratio |"
    done
    if [ "$KILLS" -gt 0 ]; then
        echo
        CAIRN_SERVER_BIN=$CAIRN_BIN /usr/bin/python3 "$ROOT/bench/repl_failover.py" "$KILLS"
    fi
} | tee "$OUT"
