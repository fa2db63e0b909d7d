#!/usr/bin/env bash
# Install what Cairn needs to build, test and benchmark, from Debian's
# packages.  Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang clang-format
    libuv1-dev libjemalloc-dev libclang-rt-14-dev libssl-dev openssl
    liblua5.1-0-dev lua-cjson-dev lua-bitop-dev liblzf-dev
    python3-pytest python3-pytest-xdist python3-redis python3-cryptography
    redis-server redis-tools locales
    # Python libraries built on Redis, run in their real flows by
    # tests/integration/test_py_apps.py.
    python3-rq python3-celery python3-kombu python3-limits python3-django
    python3-django-redis python3-cachelib
    prometheus
    nodejs
)
# npm, for the Node.js clients of the tests (tests/integration/node), unless
# the nodejs package at hand bundles it.
command -v npm >/dev/null 2>&1 || packages+=(npm)
# The benchmark's extras (bench/run.sh asks for them: scripts/bootstrap.sh bench):
# hiredis for its load driver, valgrind for instruction counts, matplotlib
# for the plots.
if [ "${1:-}" = bench ]; then
    packages+=(libhiredis-dev python3-matplotlib valgrind)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian's redis-server package starts a system instance on port 6379;
    # the tests and benchmarks start their own on free ports, so stop it to
    # leave 6379 for cairn-server.
    if command -v service >/dev/null 2>&1; then $SUDO service redis-server stop >/dev/null 2>&1 || true; fi
    # Likewise Debian's prometheus (installed for promtool and the scrape
    # test of the metrics endpoint, which starts its own).
    if command -v service >/dev/null 2>&1; then $SUDO service prometheus stop >/dev/null 2>&1 || true; fi
fi

# A comma-decimal locale: the unit tests check that numbers are parsed and
# printed the same whatever LC_NUMERIC an embedding application sets.
if ! locale -a 2>/dev/null | grep -qix 'de_DE.utf-\?8'; then
    echo "bootstrap: generating the de_DE.UTF-8 locale"
    $SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi
