#!/usr/bin/env bash
# Install libcairn into a temporary prefix and build the embedding example
# against it with pkg-config, as a user of the library would, both with the
# shared and the static library.
set -euo pipefail
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(dirname "$(find "$prefix" -name cairn.pc | head -n 1)")
export PKG_CONFIG_PATH=$pc
libdir=$(pkg-config --variable=libdir cairn)

test -f "$prefix/include/cairn.h"
test -x "$prefix/bin/cairn-server"
"$prefix/bin/cairn-server" --version >/dev/null
test -x "$prefix/bin/cairn-check"
"$prefix/bin/cairn-check" --help 2>/dev/null

cc -std=c11 -Wall -Werror examples/embed.c $(pkg-config --cflags --libs cairn) -o "$prefix/embed-shared"
LD_LIBRARY_PATH=$libdir "$prefix/embed-shared" >/dev/null

cc -std=c11 -Wall -Werror examples/embed.c -static-libgcc \
    $(pkg-config --cflags cairn) "$libdir/libcairn.a" $(pkg-config --libs-only-l --static cairn | sed 's/-lcairn//') \
    -o "$prefix/embed-static"
"$prefix/embed-static" >/dev/null
echo "install check: 2 passed, 0 failed"
