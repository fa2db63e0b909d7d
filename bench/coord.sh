#!/usr/bin/env bash
# Benchmark Cairn's coordination commands against the same logic as Lua
# scripts on redis-server, in the same run, with redis-benchmark.
#
#   cairn:  CL.THROTTLE user:__rand_int__ 15 30 60
#           LOCK.ACQUIRE lock:__rand_int__ bench 60000
#           LOCK.RELEASE lock:__rand_int__ bench
#   redis:  EVALSHA <sha> 1 <the same key and arguments>, each script loaded
#           first with SCRIPT LOAD: a GCRA in Lua (the redis-cell algorithm,
#           in microseconds since Lua numbers are doubles) and a lock with
#           the same value encoding as LOCK.* ("L:<token>:<deadline>:<owner>")
#
# Both servers run without persistence on free loopback ports and are
# stopped when the script exits.  Before measuring, a fixed sequence is run
# against both to check that the native command and the script reply the
# same.  Runs alternate cairn / redis for ROUNDS rounds; the table shows the
# median requests per second.  Prints a Markdown table and writes it to
# bench/results/coord-latest.md.
#
# Environment:
#   N          requests per run                     (default 200000)
#   ROUNDS     rounds                               (default 3)
#   CLIENTS    redis-benchmark connections (-c)     (default 50)
#   KEYSPACE   redis-benchmark -r: distinct keys    (default 100000)
#   PIPELINES  pipeline depths (-P)                 (default "1 16")
#   CAIRN_BIN  server under test  (default build-release/cairn-server)
#   REDIS_BIN  reference server   (default redis-server from PATH)
#   BENCH_BIN  client             (default redis-benchmark from PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
HELPER="$ROOT/bench/cpu.py"

N=${N:-200000}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
read -r -a PIPELINES <<<"${PIPELINES:-1 16}"
CAIRN_BIN=${CAIRN_BIN:-$ROOT/build-release/cairn-server}
REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || true)}
BENCH_BIN=${BENCH_BIN:-$(command -v redis-benchmark || true)}
CLI_BIN=$(command -v redis-cli || true)
RUN_TIMEOUT=$(( N / 2000 > 60 ? N / 2000 : 60 ))

die() { echo "coord-bench: $*" >&2; exit 1; }
log() { echo "coord-bench: $*" >&2; }

for v in N ROUNDS CLIENTS KEYSPACE; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for p in "${PIPELINES[@]}"; do
    [[ $p =~ ^[1-9][0-9]*$ ]] || die "PIPELINES must be positive integers (got '$p')"
done
[ -x "$PY" ] || die "$PY not found"
[ -x "$CAIRN_BIN" ] || die "cairn-server not found at $CAIRN_BIN (run 'make release')"
[ -x "${REDIS_BIN:-/nonexistent}" ] || die "redis-server not found (apt-get install redis-server)"
[ -x "${BENCH_BIN:-/nonexistent}" ] || die "redis-benchmark not found (apt-get install redis-tools)"
[ -x "${CLI_BIN:-/nonexistent}" ] || die "redis-cli not found (apt-get install redis-tools)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-coord-bench.XXXXXX")
declare -A PID PORT

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
    for name in "${!PID[@]}"; do
        stop_pid "${PID[$name]}"
    done
    if [ "$rc" -ne 0 ]; then
        for name in cairn redis; do
            if [ -s "$WORK/$name.log" ]; then
                log "last lines of the $name server log:"
                tail -n 15 "$WORK/$name.log" >&2
            fi
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() { # NAME BINARY ARGS...
    local name=$1 bin=$2 port pid
    shift 2
    port=$("$PY" "$HELPER" freeport)
    "$bin" --port "$port" --bind 127.0.0.1 "$@" >"$WORK/$name.log" 2>&1 &
    pid=$!
    PID[$name]=$pid
    "$PY" "$HELPER" ping "$port" 10 2>>"$WORK/$name.log" || die "$name did not answer PING"
    PORT[$name]=$port
    log "$name: pid $pid on 127.0.0.1:$port"
}

cli() { # NAME ARGS...
    local name=$1
    shift
    "$CLI_BIN" -h 127.0.0.1 -p "${PORT[$name]}" "$@"
}

# ---------------------------------------------------------------------------
# The Lua equivalents.  Time comes from redis.call('TIME') (allowed since
# Redis 5 replicates scripts by their effects).

GCRA_LUA=$(cat <<'EOF'
-- CL.THROTTLE key max_burst count period [quantity], redis-cell's GCRA,
-- with times in microseconds (exact in doubles until 2255).
local burst, count, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local quantity = tonumber(ARGV[4] or '1')
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local ei = math.floor(period * 1000000 / count)
local dvt = ei * (burst + 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local ahead = 0
if tat > now then ahead = tat - now end
local increment = ei * quantity
local limited, retry, ttl = 0, -1, 0
if ahead + increment > dvt then
  limited, ttl = 1, ahead
  if increment <= dvt then retry = ahead + increment - dvt end
else
  ttl = ahead + increment
  if quantity > 0 then
    redis.call('SET', KEYS[1], string.format('%.0f', now + ttl), 'PX', math.ceil(ttl / 1000))
  end
end
local function seconds(us)
  if us < 0 then return -1 end
  local s = math.floor(us / 1000000)
  if math.floor((us % 1000000) / 1000) > 0 then s = s + 1 end
  return s
end
local remaining = 0
if dvt - ttl > 0 then remaining = math.floor((dvt - ttl) / ei) end
return {limited, burst + 1, remaining, seconds(retry), seconds(ttl)}
EOF
)

LOCK_PARSE_LUA=$(cat <<'EOF'
local function now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
-- token, deadline, owner of the lock at KEYS[1]; token 0 if absent
local function lock_state()
  local v = redis.call('GET', KEYS[1])
  if not v then return 0, 0, '' end
  local token, deadline, owner = string.match(v, '^L:(%d+):(%d+):(.*)$')
  if not token then return redis.error_reply('ERR key does not hold a lock') end
  return tonumber(token), tonumber(deadline), owner
end
EOF
)

ACQUIRE_LUA=$(cat <<EOF
-- LOCK.ACQUIRE name owner ttl-ms
$LOCK_PARSE_LUA
local now = now_ms()
local token, deadline, owner = lock_state()
local held = deadline > now
if held and owner ~= ARGV[1] then return false end
if not held then token = token + 1 end
redis.call('SET', KEYS[1], string.format('L:%d:%.0f:%s', token, now + tonumber(ARGV[2]), ARGV[1]))
return token
EOF
)

RELEASE_LUA=$(cat <<EOF
-- LOCK.RELEASE name owner
$LOCK_PARSE_LUA
local token, deadline, owner = lock_state()
if deadline <= now_ms() or owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], string.format('L:%d:0:', token))
return 1
EOF
)

# ---------------------------------------------------------------------------

start_server cairn "$CAIRN_BIN" --dir "$WORK"
start_server redis "$REDIS_BIN" --save "" --appendonly no --daemonize no --dir "$WORK"
[ "$(cli cairn COMMAND INFO CL.THROTTLE | head -n 1)" = "cl.throttle" ] \
    || die "$CAIRN_BIN has no CL.THROTTLE: rebuild it"

GCRA_SHA=$(cli redis SCRIPT LOAD "$GCRA_LUA")
ACQUIRE_SHA=$(cli redis SCRIPT LOAD "$ACQUIRE_LUA")
RELEASE_SHA=$(cli redis SCRIPT LOAD "$RELEASE_LUA")
for sha in "$GCRA_SHA" "$ACQUIRE_SHA" "$RELEASE_SHA"; do
    [[ $sha =~ ^[0-9a-f]{40}$ ]] || die "SCRIPT LOAD failed: $sha"
done

# The command lines, as "native" and "script" forms of each workload.
declare -A NATIVE SCRIPT
WORKLOADS=(throttle acquire release)
NATIVE[throttle]="CL.THROTTLE user:__rand_int__ 15 30 60"
SCRIPT[throttle]="EVALSHA $GCRA_SHA 1 user:__rand_int__ 15 30 60"
NATIVE[acquire]="LOCK.ACQUIRE lock:__rand_int__ bench 60000"
SCRIPT[acquire]="EVALSHA $ACQUIRE_SHA 1 lock:__rand_int__ bench 60000"
NATIVE[release]="LOCK.RELEASE lock:__rand_int__ bench"
SCRIPT[release]="EVALSHA $RELEASE_SHA 1 lock:__rand_int__ bench"

# Same replies from both, on a fixed sequence (times chosen so a run of a
# few ms cannot change them).
check() { # WORKLOAD KEY EXPECTED
    local wl=$1 key=$2 want=$3 got_c got_r native script
    native=${NATIVE[$wl]//__rand_int__/$key}
    script=${SCRIPT[$wl]//__rand_int__/$key}
    # shellcheck disable=SC2086
    got_c=$(cli cairn $native | tr '\n' ' ')
    # shellcheck disable=SC2086
    got_r=$(cli redis $script | tr '\n' ' ')
    [ "$got_c" = "$want" ] || die "cairn: $native replied '$got_c', expected '$want'"
    [ "$got_r" = "$want" ] || die "redis: $script replied '$got_r', expected '$want'"
}
check throttle check "0 16 15 -1 2 "
check throttle check "0 16 14 -1 4 "
check acquire check "1 "
check release check "1 "
check release check "0 "
check acquire check "2 "
cli cairn FLUSHALL >/dev/null
cli redis FLUSHALL >/dev/null
log "cairn and the Lua scripts agree on the check sequence"

rps() { # NAME WORKLOAD PIPELINE -> requests per second
    local name=$1 wl=$2 p=$3 line
    local -a cmd
    if [ "$name" = cairn ]; then
        read -r -a cmd <<<"${NATIVE[$wl]}"
    else
        read -r -a cmd <<<"${SCRIPT[$wl]}"
    fi
    line=$(timeout "$RUN_TIMEOUT" "$BENCH_BIN" -h 127.0.0.1 -p "${PORT[$name]}" -n "$N" \
        -c "$CLIENTS" -P "$p" -r "$KEYSPACE" --csv "${cmd[@]}" | tail -n 1) \
        || die "redis-benchmark against $name ($wl, P$p) failed"
    # "test","rps",...: the second field.
    echo "$line" | awk -F'","' '{ print $2 }'
}

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
    for wl in "${WORKLOADS[@]}"; do
        for p in "${PIPELINES[@]}"; do
            for name in cairn redis; do
                r=$(rps "$name" "$wl" "$p")
                RESULTS[$name,$wl,$p]+="$r "
                log "round $round: $name $wl P$p: $r rps"
            done
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }'; }

OUT="$ROOT/bench/results/coord-latest.md"
mkdir -p "$(dirname "$OUT")"
{
    echo "| workload | -P | cairn native (rps) | redis EVALSHA (rps) | cairn / redis |"
    echo "|---|---:|---:|---:|---:|"
    for wl in "${WORKLOADS[@]}"; do
        for p in "${PIPELINES[@]}"; do
            c=$(echo "${RESULTS[cairn,$wl,$p]}" | median)
            r=$(echo "${RESULTS[redis,$wl,$p]}" | median)
            ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { printf "%.2f", (r > 0 ? c / r : 0) }')
            echo "| \`${NATIVE[$wl]}\` | $p | $c | $r | ${ratio}x |"
        done
    done
    echo
    echo "N=$N per run, $CLIENTS clients, $KEYSPACE keys, median of $ROUNDS rounds;"
    echo "cairn: \`$(basename "$CAIRN_BIN")\` ($("$CAIRN_BIN" --version 2>/dev/null | head -n 1 || true)),"
    echo "redis: $("$REDIS_BIN" --version | head -n 1); $(nproc) CPUs, $(uname -m)."
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
