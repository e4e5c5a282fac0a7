#!/usr/bin/env bash
# The C side of ftforest's test flow: header staleness, C tests (plain, AddressSanitizer,
# valgrind), the C demo and the C++ example (plain, ASan, valgrind), and an install +
# pkg-config smoke test (shared and static linking) into a temporary PREFIX.
# Works on a fresh Debian machine as root: installs valgrind/pkg-config/compilers if absent.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "need root to install: ${missing[*]}" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

step "library (release)"
make lib

step "header is up to date (pinned cbindgen)"
cargo test -q -p ftforest-ffi --test header

step "C tests (plain)"
make check-c

step "C tests, demo, C++ example under AddressSanitizer"
make asan

step "C tests, demo, C++ example under valgrind memcheck"
make valgrind

step "C demo (the main job)"
make demo

step "C++ example"
make cpp-demo

step "Libs.private matches rustc's native-static-libs"
want="$(make -s print-native-static-libs)"
have="$(make -s print-libs-private)"
if [ "$want" != "$have" ]; then
    echo "ftforest.pc Libs.private is '$have' but rustc says '$want': update LIBS_PRIVATE in the Makefile" >&2
    exit 1
fi
echo "$have"
make lib >/dev/null

step "install + pkg-config smoke test"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
make install PREFIX="$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
pkg-config --exists ftforest
echo "pkg-config: ftforest $(pkg-config --modversion ftforest): $(pkg-config --cflags --libs ftforest)"
# Shared: exactly the documented one-liner.
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE examples/c/demo.c -o "$tmp/demo-shared" $(pkg-config --cflags --libs ftforest) -lpthread
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/demo-shared" >"$tmp/shared.out"
tail -n 1 "$tmp/shared.out"
# Static: libftforest.a plus Libs.private (rustc's native-static-libs).
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE examples/c/demo.c -o "$tmp/demo-static" $(pkg-config --cflags ftforest) \
    -L"$tmp/prefix/lib" -Wl,-Bstatic -lftforest -Wl,-Bdynamic \
    $(pkg-config --static --libs-only-l ftforest | sed 's/-lftforest//')
if ldd "$tmp/demo-static" | grep -q libftforest; then
    echo "static link still depends on libftforest.so" >&2
    exit 1
fi
"$tmp/demo-static" >"$tmp/static.out"
tail -n 1 "$tmp/static.out"
# C++ wrapper from the installed headers.
# shellcheck disable=SC2046
c++ -std=c++17 examples/cpp/demo.cpp -o "$tmp/demo-cpp" $(pkg-config --cflags --libs ftforest) -lpthread
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/demo-cpp" >"$tmp/cpp.out"
tail -n 1 "$tmp/cpp.out"

step "C side: all green"
