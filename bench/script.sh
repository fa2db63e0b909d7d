#!/usr/bin/env bash
# Benchmark EVALSHA of a token bucket (three redis.call: TIME, HMGET, HSET),
# and FCALL of the same bucket loaded as a function library, on
# cairn-server and redis-server in the same run, with redis-benchmark:
# server CPU per call (utime + stime of the server process over the run,
# from /proc, divided by the calls), the figure to compare (see README:
# requests/s is set by the client on these 2-core machines).
#
# Both servers run without persistence on free loopback ports and are
# stopped when the script exits.  Before measuring, both are checked to
# reply the same to the same calls.  Runs alternate cairn / redis for
# ROUNDS rounds; the table shows medians.  Prints a Markdown table and
# writes it to bench/results/script-latest.md.
#
# Environment:
#   N          calls per run                        (default 200000)
#   ROUNDS     rounds                               (default 3)
#   CLIENTS    redis-benchmark connections (-c)     (default 50)
#   KEYSPACE   redis-benchmark -r: distinct buckets (default 10000)
#   PIPELINES  pipeline depths (-P)                 (default "16")
#   CAIRN_BIN  server under test  (default build-release/cairn-server)
#   REDIS_BIN  reference server   (default redis-server from PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
HELPER="$ROOT/bench/cpu.py"
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-10000}
read -r -a PIPELINES <<<"${PIPELINES:-16}"
CAIRN_BIN=${CAIRN_BIN:-$ROOT/build-release/cairn-server}
REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || true)}
BENCH_BIN=$(command -v redis-benchmark || true)
CLI_BIN=$(command -v redis-cli || true)
RUN_TIMEOUT=$(( N / 2000 > 60 ? N / 2000 : 60 ))

die() { echo "script-bench: $*" >&2; exit 1; }
log() { echo "script-bench: $*" >&2; }

[ -x "$CAIRN_BIN" ] || die "cairn-server not found at $CAIRN_BIN (run 'make release')"
[ -x "${REDIS_BIN:-/nonexistent}" ] || die "redis-server not found"
[ -x "${BENCH_BIN:-/nonexistent}" ] || die "redis-benchmark not found"
[ -x "${CLI_BIN:-/nonexistent}" ] || die "redis-cli not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-script-bench.XXXXXX")
declare -A PID PORT
cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do
        kill -TERM "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() { # NAME BINARY ARGS...
    local name=$1 bin=$2 port
    shift 2
    port=$("$PY" "$HELPER" freeport)
    "$bin" --port "$port" --bind 127.0.0.1 "$@" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    "$PY" "$HELPER" ping "$port" 10 || die "$name did not answer PING"
    PORT[$name]=$port
}

cli() { local name=$1; shift; "$CLI_BIN" -h 127.0.0.1 -p "${PORT[$name]}" "$@"; }

# A token bucket: ARGV = capacity, tokens per second.  Three redis.call.
BUCKET_LUA=$(cat <<'EOF2'
local cap, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]) or cap, tonumber(b[2]) or now
tokens = math.min(cap, tokens + (now - ts) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens, allowed = tokens - 1, 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
return allowed
EOF2
)

cpu_ticks() { # PID -> utime + stime
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# The same bucket as a Redis 7 function.
FUNCTION_LUA="#!lua name=bench
redis.register_function('bucket', function(KEYS, ARGV)
$BUCKET_LUA
end)"

start_server cairn "$CAIRN_BIN" --dir "$WORK"
start_server redis "$REDIS_BIN" --save "" --appendonly no --daemonize no --dir "$WORK"
declare -A SHA
for name in cairn redis; do
    SHA[$name]=$(cli "$name" SCRIPT LOAD "$BUCKET_LUA")
done
[ "${SHA[cairn]}" = "${SHA[redis]}" ] || die "the two servers disagree on the SHA1"
SHA1=${SHA[cairn]}
for name in cairn redis; do
    [ "$(cli "$name" FUNCTION LOAD REPLACE "$FUNCTION_LUA")" = bench ] ||
        die "$name did not load the function library"
    for call in "EVALSHA $SHA1" "FCALL bucket"; do
        got=$(for _ in 1 2 3; do cli "$name" $call 1 check 2 0.001; done | tr '\n' ' ')
        [ "$got" = "1 1 0 " ] || die "$name replied '$got' to three $call on a bucket of 2"
        cli "$name" FLUSHALL >/dev/null
    done
done
log "both servers agree on the check sequence"

HZ=$(getconf CLK_TCK)
declare -A CPU RPS
KINDS=(EVALSHA FCALL)
declare -A CALL=([EVALSHA]="EVALSHA $SHA1" [FCALL]="FCALL bucket")
for round in $(seq "$ROUNDS"); do
    for kind in "${KINDS[@]}"; do
        for p in "${PIPELINES[@]}"; do
            for name in cairn redis; do
                before=$(cpu_ticks "${PID[$name]}")
                # shellcheck disable=SC2086 # the call is words on purpose
                line=$(timeout "$RUN_TIMEOUT" "$BENCH_BIN" -h 127.0.0.1 -p "${PORT[$name]}" \
                    -n "$N" -c "$CLIENTS" -P "$p" -r "$KEYSPACE" --csv \
                    ${CALL[$kind]} 1 bucket:__rand_int__ 100 10 | tail -n 1) \
                    || die "redis-benchmark against $name failed"
                after=$(cpu_ticks "${PID[$name]}")
                us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$N" \
                    'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
                CPU[$kind,$name,$p]+="$us "
                RPS[$kind,$name,$p]+="$(echo "$line" | awk -F'","' '{ print $2 }') "
                log "round $round $kind P$p $name: $us us CPU per call"
            done
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
out="$ROOT/bench/results/script-latest.md"
mkdir -p "$(dirname "$out")"
{
    echo "# Token bucket (3 redis.call) by EVALSHA and by FCALL: cairn-server vs redis-server"
    echo
    echo "N=$N per run, $ROUNDS rounds, -c $CLIENTS, -r $KEYSPACE; medians. Target: cairn CPU per call <= 0.8x redis."
    echo
    echo "| call | -P | cairn CPU us/call | redis CPU us/call | ratio | cairn req/s | redis req/s |"
    echo "|---|---|---|---|---|---|---|"
    for kind in "${KINDS[@]}"; do
        for p in "${PIPELINES[@]}"; do
            c=$(echo "${CPU[$kind,cairn,$p]}" | median)
            r=$(echo "${CPU[$kind,redis,$p]}" | median)
            ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { printf "%.2f", c / r }')
            echo "| $kind | $p | $c | $r | $ratio | $(echo "${RPS[$kind,cairn,$p]}" | median) |" \
                "$(echo "${RPS[$kind,redis,$p]}" | median) |"
        done
    done
    echo
    echo "Reproduce: \`N=$N ROUNDS=$ROUNDS PIPELINES=\"${PIPELINES[*]}\" ./bench/script.sh\`"
} | tee "$out"
