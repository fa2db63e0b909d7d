#!/usr/bin/env bash
# Redis 7.0's own Tcl test suite against cairn-server, in the suite's
# external-server mode: one unit at a time, each on a fresh server in a
# temporary directory, tests tagged needs:repl left out (they attach as a
# replica with SYNC).  Units and tests the external mode cannot run are
# skipped by the suite itself (external:skip).  Prints one line per unit.
#
# Usage: scripts/redis-suite.sh [unit ...]     e.g. unit/type/list unit/expire
#        (default: every unit/*.tcl and unit/type/*.tcl)
# Env:   CAIRN_BIN     server under test (default build/cairn-server)
#        REDIS_SRC     a Redis 7.0 source tree (default: Debian's source
#                      package, downloaded once into $CACHE)
#        UNIT_TIMEOUT  seconds per unit (default 300)
#        OUTDIR        where each unit's log goes (default a temp dir)
#        ARGS          more runtest arguments (e.g. "--only /BLPOP.*")
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN_BIN=${CAIRN_BIN:-$ROOT/build/cairn-server}
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
OUTDIR=${OUTDIR:-$(mktemp -d /tmp/redis-suite.XXXXXX)}
ARGS=${ARGS:-}

# Debian's redis source package, fetched without touching the system's
# apt sources (a deb-src list of our own for this one command).
fetch_redis_source() {
    local dir=$CACHE/redis-src list
    mkdir -p "$dir" || return 1
    list=$(mktemp) || return 1
    printf 'deb-src http://deb.debian.org/debian bookworm main\n' >"$list"
    (cd "$dir" &&
        apt-get -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
            -o Dir::State::Lists="$dir/lists" update >/dev/null &&
        apt-get -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
            -o Dir::State::Lists="$dir/lists" source --download-only redis >/dev/null &&
        tar xzf redis_*.orig.tar.gz) || { rm -f "$list"; return 1; }
    rm -f "$list"
    REDIS_SRC=$(ls -d "$dir"/redis-7.* | head -1)
}

if [ -z "${REDIS_SRC:-}" ]; then
    REDIS_SRC=$(ls -d "$CACHE"/redis-src/redis-7.* 2>/dev/null | head -1)
    if [ -z "$REDIS_SRC" ]; then
        mkdir -p "$CACHE/redis-src/lists/partial"
        echo "fetching Debian's redis source into $CACHE/redis-src" >&2
        fetch_redis_source || { echo "cannot fetch the redis source" >&2; exit 1; }
    fi
fi
[ -x "$CAIRN_BIN" ] || { echo "no server at $CAIRN_BIN (make build)" >&2; exit 1; }
command -v tclsh >/dev/null || { echo "tclsh missing (apt-get install tcl)" >&2; exit 1; }

# The suite's helpers call src/redis-cli and friends.
for tool in redis-cli redis-benchmark redis-server; do
    [ -e "$REDIS_SRC/src/$tool" ] || ln -s "$(command -v $tool)" "$REDIS_SRC/src/$tool"
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_unit() {
    local u=$1 dir port spid log rc
    dir=$(mktemp -d /tmp/redis-suite-srv.XXXXXX)
    port=$(free_port)
    (cd "$dir" && exec "$CAIRN_BIN" --port "$port" --dir "$dir" --save "" \
        --appendonly no --enable-debug-command yes --enable-protected-configs yes \
        >"$dir/server.log" 2>&1) &
    spid=$!
    for _ in $(seq 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    log=$OUTDIR/$(echo "$u" | tr / _).log
    # The harness's own port is sometimes taken between its probe and its
    # bind (other servers on the machine): another base port then.  It
    # also probes base port + 10000, so the base stays below 55500.
    for _ in 1 2 3; do
        # shellcheck disable=SC2086
        (cd "$REDIS_SRC" && timeout "$UNIT_TIMEOUT" ./runtest --host 127.0.0.1 --port "$port" \
            --single "$u" --clients 1 --tags -needs:repl --timeout 60 \
            --baseport $((20000 + RANDOM % 350 * 100)) --portcount 100 $ARGS) >"$log" 2>&1
        rc=$?
        grep -Eq "^(couldn't open socket: address already in use|Can't find a non busy port)" \
            "$log" || break
    done
    # A server left inside a script that never ends (a unit that stopped
    # before its SCRIPT KILL) does not stop on SIGTERM.
    kill "$spid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    printf '%-26s ok %4d  err %3d  exception %d  rc %d\n' "$u" \
        "$(grep -c '^\[ok\]' "$log")" "$(grep -c '^\[err\]' "$log")" \
        "$(grep -c '^\[exception\]' "$log")" "$rc"
    rm -rf "$dir"
}

mkdir -p "$OUTDIR"
if [ $# -eq 0 ]; then
    set -- $(cd "$REDIS_SRC/tests" && ls unit/*.tcl unit/type/*.tcl | sed 's/\.tcl$//')
fi
for u in "$@"; do run_unit "$u"; done
echo "logs: $OUTDIR"
