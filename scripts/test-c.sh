#!/usr/bin/env bash
# The C side of ftforest's test flow: header staleness, C tests (plain, AddressSanitizer,
# valgrind), the C demo and the C++ example (plain, ASan, valgrind), the C cluster tests
# against real etcd on loopback (plain, ASan, valgrind), the soname, and an install +
# pkg-config smoke test (shared and static linking, the CMake example, uninstall) into a
# temporary PREFIX.
# Works on a fresh Debian machine as root: installs valgrind/pkg-config/compilers/binutils,
# etcd and protoc (the library's cluster part builds etcd-client) if absent; cmake is optional (installed if possible, else the CMake example is skipped).
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
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
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

step "soname (ffi/build.rs) matches the Makefile's"
soname="$(make -s print-soname)"
have_soname="$(readelf -d target/release/libftforest.so | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$have_soname" != "$soname" ]; then
    echo "target/release/libftforest.so has SONAME '$have_soname', expected '$soname'" >&2
    exit 1
fi
echo "SONAME $have_soname"

step "header is up to date (pinned cbindgen)"
cargo test -q -p ftforest-ffi --test header

step "C tests (plain)"
make check-c

step "C tests, demo, C++ example under AddressSanitizer"
make asan

step "C tests, demo, C++ example under valgrind memcheck"
make valgrind

step "C cluster tests against real etcd on loopback (plain)"
make check-cluster-c

step "C cluster tests under AddressSanitizer"
make asan-cluster-c

step "C cluster tests under valgrind memcheck"
make valgrind-cluster-c

step "C demo (the main job's first half; the cluster demo runs in test.sh)"
make c-demo

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
lib="$tmp/prefix/lib"
version="$(make -s print-version)"
# The real file, the runtime (soname) link and the development link.
[ -f "$lib/libftforest.so.$version" ] && [ ! -L "$lib/libftforest.so.$version" ] \
    || { echo "libftforest.so.$version not installed as a file" >&2; exit 1; }
[ "$(readlink "$lib/$soname")" = "libftforest.so.$version" ] \
    || { echo "$soname does not link to libftforest.so.$version" >&2; exit 1; }
[ "$(readlink -f "$lib/libftforest.so")" = "$(readlink -f "$lib/libftforest.so.$version")" ] \
    || { echo "libftforest.so does not resolve to libftforest.so.$version" >&2; exit 1; }
installed_soname="$(readelf -d "$lib/libftforest.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$installed_soname" = "$soname" ] || { echo "installed SONAME '$installed_soname'" >&2; exit 1; }
echo "installed: libftforest.so.$version (SONAME $installed_soname), $soname -> libftforest.so.$version, libftforest.so -> $(readlink "$lib/libftforest.so")"
export PKG_CONFIG_PATH="$lib/pkgconfig"
pkg-config --exists ftforest
echo "pkg-config: ftforest $(pkg-config --modversion ftforest): $(pkg-config --cflags --libs ftforest)"
# Shared: exactly the documented one-liner.
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE examples/c/demo.c -o "$tmp/demo-shared" $(pkg-config --cflags --libs ftforest) -lpthread
# It needs the soname, has no rpath (to target/ or anywhere), and runs from the installed
# runtime files alone: the development link is moved away while it runs.
needed="$(readelf -d "$tmp/demo-shared" | sed -n 's/.*(NEEDED).*\[\(libftforest[^]]*\)\]/\1/p')"
[ "$needed" = "$soname" ] || { echo "demo-shared NEEDED '$needed', expected '$soname'" >&2; exit 1; }
if readelf -d "$tmp/demo-shared" | grep -Eq '\((RPATH|RUNPATH)\)'; then
    echo "demo-shared carries an rpath:" >&2
    readelf -d "$tmp/demo-shared" | grep -E '\((RPATH|RUNPATH)\)' >&2
    exit 1
fi
mv "$lib/libftforest.so" "$tmp/dev-link"
resolved="$(LD_LIBRARY_PATH="$lib" ldd "$tmp/demo-shared" | sed -n 's/.*libftforest[^ ]* => \([^ ]*\).*/\1/p')"
[ "$resolved" = "$lib/$soname" ] || { echo "libftforest resolves to '$resolved'" >&2; exit 1; }
LD_LIBRARY_PATH="$lib" "$tmp/demo-shared" >"$tmp/shared.out"
mv "$tmp/dev-link" "$lib/libftforest.so"
echo "demo-shared: NEEDED $needed, no rpath, loaded from $resolved (dev link absent)"
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
LD_LIBRARY_PATH="$lib" "$tmp/demo-cpp" >"$tmp/cpp.out"
tail -n 1 "$tmp/cpp.out"

step "CMake example (pkg_check_modules IMPORTED_TARGET) against the install"
if ! command -v cmake >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing cmake"
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y cmake; } >"$tmp/apt.log" 2>&1 \
            || echo "(apt-get failed: $(tail -n 1 "$tmp/apt.log"))"
    fi
fi
if command -v cmake >/dev/null 2>&1; then
    cmake -S examples/cmake -B "$tmp/cmake-build" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 \
        || { cat "$tmp/cmake.log" >&2; exit 1; }
    cmake --build "$tmp/cmake-build" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; exit 1; }
    if readelf -d "$tmp/cmake-build/ftforest_cmake_example" | grep -E '\((RPATH|RUNPATH)\)' | grep -q "$PWD/target"; then
        echo "the CMake example links to target/" >&2
        exit 1
    fi
    LD_LIBRARY_PATH="$lib" "$tmp/cmake-build/ftforest_cmake_example"
else
    echo "SKIP: CMake example (cmake is not installed and could not be installed)"
fi

step "uninstall leaves no file behind"
make uninstall PREFIX="$tmp/prefix" >/dev/null
left="$(find "$tmp/prefix" ! -type d)"
if [ -n "$left" ]; then
    echo "left after make uninstall:" >&2
    echo "$left" >&2
    exit 1
fi
echo "uninstall: nothing left under PREFIX"

step "C side: all green"
