#!/usr/bin/env bash
# Benchmark cairn-server against Debian's redis-server with redis-benchmark.
#
# Starts both servers on free loopback ports, runs SET and GET (each on its
# own, so the server CPU is attributed to one command) with pipelines 1 and
# 16, alternating cairn / redis for ROUNDS rounds, and measures the server's
# CPU time per request from /proc/PID/stat.  Writes a Markdown report to
# stdout and to bench/results/latest.md.  See bench/README.md.
#
# Environment:
#   N            requests per run                        (default 1000000)
#   ROUNDS       rounds of the whole set of runs         (default 3)
#   CLIENTS      redis-benchmark connections (-c)        (default 50)
#   KEYSPACE     redis-benchmark -r; keys are pre-set    (default 100000)
#   DATASIZE     value size in bytes (-d)                (default 3)
#   TESTS        comma-separated workloads               (default set,get)
#                redis-benchmark -t names (set, get, lpush, lpop, ...), or
#                lrange_K: LRANGE of the first K elements of a list of
#                LIST_LEN elements pre-filled on both servers
#   LIST_LEN     elements pre-filled for lrange_K        (default 10000)
#   RUN_TIMEOUT  seconds one redis-benchmark may take    (default max(60, N/5000))
#   CAIRN_BIN    server under test  (default build-release/cairn-server)
#   REDIS_BIN    reference server   (default redis-server from PATH)
#   BENCH_BIN    client             (default redis-benchmark from PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
HELPER="$ROOT/bench/cpu.py"

N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
DATASIZE=${DATASIZE:-3}
RUN_TIMEOUT=${RUN_TIMEOUT:-$(( N / 5000 > 60 ? N / 5000 : 60 ))}
CAIRN_BIN=${CAIRN_BIN:-$ROOT/build-release/cairn-server}
REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || true)}
BENCH_BIN=${BENCH_BIN:-$(command -v redis-benchmark || true)}
LIST_LEN=${LIST_LEN:-10000}
PIPELINES=(1 16)
TESTS_SPEC=${TESTS:-set,get}
[[ $TESTS_SPEC =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] \
    || { echo "bench: TESTS must be comma-separated test names (got '$TESTS_SPEC')" >&2; exit 1; }
IFS=, read -r -a TESTS <<<"$TESTS_SPEC"
for t in "${TESTS[@]}"; do
    if [[ $t == lrange_* && ! ${t#lrange_} =~ ^[1-9][0-9]*$ ]]; then
        echo "bench: $t: lrange_K needs a positive K" >&2
        exit 1
    fi
done

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for v in N ROUNDS CLIENTS KEYSPACE DATASIZE RUN_TIMEOUT LIST_LEN; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || (( ${!v} == 0 )); then
        die "$v must be a positive integer (got '${!v}')"
    fi
done
[ -x "$PY" ] || die "$PY not found"
[ -x "$CAIRN_BIN" ] || die "cairn-server not found at $CAIRN_BIN (run 'make release')"
[ -x "${REDIS_BIN:-/nonexistent}" ] || die "redis-server not found (apt-get install redis-server)"
[ -x "${BENCH_BIN:-/nonexistent}" ] || die "redis-benchmark not found (apt-get install redis-tools)"
CAIRN_BIN=$(cd "$(dirname "$CAIRN_BIN")" && pwd)/$(basename "$CAIRN_BIN")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench.XXXXXX")
declare -A PID PORT CMDLINE
RUNNER=

stop_pid() {
    local pid=$1 _
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    if [ -n "$RUNNER" ]; then
        kill -TERM "$RUNNER" 2>/dev/null || true
        wait "$RUNNER" 2>/dev/null || true
    fi
    for name in "${!PID[@]}"; do
        stop_pid "${PID[$name]}"
    done
    if [ "$rc" -ne 0 ]; then
        for name in cairn redis; do
            if [ -s "$WORK/$name/server.log" ]; then
                log "last lines of the $name server log:"
                tail -n 15 "$WORK/$name/server.log" >&2
            fi
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# server_args NAME PORT: the command line of server NAME on PORT.
server_args() {
    local bin
    case $1 in
        cairn) bin=$CAIRN_BIN ;;
        redis) bin=$REDIS_BIN ;;
    esac
    if [ "$(basename "$bin")" = redis-server ]; then
        # (Also used when CAIRN_BIN points at redis-server, to try the script.)
        printf '%s\0' "$bin" --port "$2" --bind 127.0.0.1 --save "" --appendonly no --daemonize no
    else
        printf '%s\0' "$bin" --port "$2" --bind 127.0.0.1
    fi
}

# start_server NAME: start it on a free loopback port, wait for PING.
start_server() {
    local name=$1 attempt port pid taken
    local -a cmd
    mkdir -p "$WORK/$name"
    for attempt in 1 2 3 4 5; do
        port=$("$PY" "$HELPER" freeport)
        taken=0
        for p in "${PORT[@]}"; do [ "$p" = "$port" ] && taken=1; done
        [ "$taken" = 1 ] && continue
        mapfile -d '' -t cmd < <(server_args "$name" "$port")
        (cd "$WORK/$name" && exec "${cmd[@]}") >"$WORK/$name/server.log" 2>&1 &
        pid=$!
        if "$PY" "$HELPER" ping "$port" 10 2>>"$WORK/$name/server.log" \
                && kill -0 "$pid" 2>/dev/null; then
            PID[$name]=$pid
            PORT[$name]=$port
            CMDLINE[$name]=$(printf '%q ' "${cmd[@]}" | sed 's/ $//')
            log "$name: pid $pid on 127.0.0.1:$port"
            return 0
        fi
        if kill -0 "$pid" 2>/dev/null; then
            stop_pid "$pid"
            die "$name started but did not answer PING on port $port"
        fi
        wait "$pid" 2>/dev/null || true
        log "$name failed to start on port $port (attempt $attempt), retrying"
    done
    die "could not start $name"
}

start_server cairn
start_server redis

# Pre-set every key redis-benchmark -r KEYSPACE can name, so GET runs
# measure hits whatever N is.
for name in cairn redis; do
    log "$name: setting $KEYSPACE keys"
    timeout 300 "$PY" "$HELPER" populate "${PORT[$name]}" "$KEYSPACE" "$DATASIZE" \
        || die "could not pre-populate $name"
done

# LRANGE workloads read a list filled once beforehand (redis-benchmark's own
# lrange tests would push N elements in the same run, mixing LPUSH into the
# CPU measured for LRANGE).
LIST_KEY=bench:list
if [[ ",$TESTS_SPEC," == *,lrange_* ]]; then
    for name in cairn redis; do
        log "$name: filling $LIST_KEY with $LIST_LEN elements"
        timeout 300 "$PY" "$HELPER" populate-list "${PORT[$name]}" "$LIST_KEY" "$LIST_LEN" \
            "$DATASIZE" || die "could not fill $LIST_KEY on $name"
    done
fi

bench_cmd() { # NAME TEST PIPELINE: sets BCMD
    BCMD=("$BENCH_BIN" -h 127.0.0.1 -p "${PORT[$1]}" -n "$N" -c "$CLIENTS"
          -P "$3" -r "$KEYSPACE" -d "$DATASIZE" --csv)
    case $2 in
        lrange_*) BCMD+=(LRANGE "$LIST_KEY" 0 $(( ${2#lrange_} - 1 ))) ;;
        *) BCMD+=(-t "$2") ;;
    esac
}

# One short unmeasured pass per server, so the first measured run does not
# pay for connection set-up, page faults and caches warming.
WARMUP=$(( N / 10 < 20000 ? N / 10 : 20000 ))
if (( WARMUP > 0 )); then
    for name in cairn redis; do
        log "$name: warm-up ($WARMUP SET + $WARMUP GET)"
        timeout "$RUN_TIMEOUT" "$BENCH_BIN" -h 127.0.0.1 -p "${PORT[$name]}" -t set,get \
            -n "$WARMUP" -c "$CLIENTS" -r "$KEYSPACE" -d "$DATASIZE" --csv >/dev/null \
            || die "warm-up against $name failed"
    done
fi

RAW="$WORK/runs.jsonl"
: >"$RAW"
failed=0
for round in $(seq "$ROUNDS"); do
    for pl in "${PIPELINES[@]}"; do
        for t in "${TESTS[@]}"; do
            w="${t^^} P$pl"
            for name in cairn redis; do
                kill -0 "${PID[$name]}" 2>/dev/null || die "$name (pid ${PID[$name]}) has exited"
                log "round $round/$ROUNDS: $w on $name"
                bench_cmd "$name" "$t" "$pl"
                # In the background and waited for, so that a signal to this
                # script is handled at once (cleanup stops the helper, which
                # stops its redis-benchmark).
                "$PY" "$HELPER" run --pid "${PID[$name]}" --server "$name" --workload "$w" \
                    --round "$round" --requests "$N" --timeout "$RUN_TIMEOUT" --out "$RAW" \
                    -- "${BCMD[@]}" &
                RUNNER=$!
                wait "$RUNNER" || failed=1
                RUNNER=
            done
        done
    done
done

# ---------------------------------------------------------------------------
# Report

git_rev=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo "no commit")
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    git_rev="$git_rev (with uncommitted changes)"
fi
model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

report() {
    echo "# Cairn benchmark: cairn-server vs redis-server"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); N=$N requests per run, ROUNDS=$ROUNDS, CLIENTS=$CLIENTS," \
         "keyspace $KEYSPACE keys (all pre-set), values of $DATASIZE bytes."
    echo "Figures are medians over the rounds; CPU is the server's utime+stime" \
         "(/proc/PID/stat, $(getconf CLK_TCK) ticks/s) during the run divided by N," \
         "with the spread over rounds (min–max). Lower CPU/req is better."
    echo
    "$PY" "$HELPER" report "$RAW" || true
    echo
    echo "## Machine"
    echo
    echo "- nproc: $(nproc)"
    echo "- CPU: ${model:-unknown}"
    echo "- kernel: $(uname -srm)"
    echo "- redis-server: $("$REDIS_BIN" --version)"
    echo "- redis-benchmark: $("$BENCH_BIN" --version)"
    echo "- cairn: git $git_rev"
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "${CMDLINE[cairn]}"
    echo "${CMDLINE[redis]}"
    for pl in "${PIPELINES[@]}"; do
        for t in "${TESTS[@]}"; do
            bench_cmd cairn "$t" "$pl"
            echo "$(printf '%q ' "${BCMD[@]}" | sed 's/ $//')    # and -p ${PORT[redis]} for redis"
        done
    done
    echo '```'
    echo
    echo "Before the rounds each server gets its $KEYSPACE keys set (bench/cpu.py populate)" \
         "and an unmeasured warm-up of $WARMUP SET + $WARMUP GET. Run order per round:" \
         "$(for pl in "${PIPELINES[@]}"; do for t in "${TESTS[@]}"; do printf '%s P%s, ' "${t^^}" "$pl"; done; done)each on cairn then redis." \
         "Each redis-benchmark run is limited to ${RUN_TIMEOUT}s."
}

mkdir -p "$ROOT/bench/results"
report >"$ROOT/bench/results/latest.md.tmp"
mv "$ROOT/bench/results/latest.md.tmp" "$ROOT/bench/results/latest.md"
cat "$ROOT/bench/results/latest.md"
log "report written to bench/results/latest.md"
if [ "$failed" -ne 0 ]; then
    log "some runs failed (see the table)"
    exit 1
fi
