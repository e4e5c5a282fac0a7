#!/usr/bin/env bash
# The whole ftforest test suite, runnable on a fresh Debian machine with rustup.
# Installs what it needs (rustup targets, nightly with miri, Debian packages), then runs:
# fmt, clippy, docs, the no_std target builds, the MSRV check, the loom models, miri,
# the C library's tests (header staleness, C tests plain/ASan/valgrind, examples, install),
# the firmware images under QEMU with the footprint gates (scripts/test-embedded.sh), and the
# cluster crate's real-etcd scenarios (etcd-server, etcd-client, protobuf-compiler from apt).
#
# Environment knobs:
#   FTF_SKIP_MIRI=1          skip the miri stage (it is the slowest)
#   LOOM_MAX_PREEMPTIONS=N   loom preemption bound (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean run gains nothing from incremental compilation, which wrote 2.5 GB of target/ (CI
# machines have died in the linker with the disk full: keep target/ small).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

start=$(date +%s)
stage_start=$start
# Each stage header also says how long the previous stage took (the budget is ~25 min).
stage() {
  local now; now=$(date +%s)
  printf '\n=== %s === (previous stage %d s, total %d s, disk free %s)\n' "$*" \
    $((now - stage_start)) $((now - start)) "$(df -h --output=avail . | tail -n1 | tr -d ' ')"
  stage_start=$now
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

main() {

stage "install toolchain pieces"
TARGETS="thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# shellcheck disable=SC2086
rustup target add $TARGETS
if [ "${FTF_SKIP_MIRI:-0}" != 1 ]; then
  # Reuse the machine's nightly when there is one (no surprise update); install it otherwise.
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup component add --toolchain nightly miri rust-src
  else
    rustup toolchain install nightly --profile minimal --component miri,rust-src
  fi
  cargo +nightly miri setup
fi

stage "install etcd and protoc (ftforest-cluster: protoc to build etcd-client, etcd for the scenarios)"
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# The real-etcd scenario tests fail instead of skipping when etcd is missing.
export FTF_REQUIRE_ETCD=1

stage "fmt"
cargo fmt --all -- --check

stage "clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
# libftforest's cluster part (feature `cluster`: the ftf_cluster_* C ABI on ftforest-cluster).
cargo clippy -p ftforest-ffi --features cluster --all-targets -- -D warnings

stage "rustdoc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p ftforest-core -p ftforest-ffi -p ftforest-cluster \
  --features ftforest-ffi/cluster

stage "no_std target builds"
cargo build -p ftforest-core --no-default-features --target thumbv7em-none-eabihf
cargo build -p ftforest-core --no-default-features --features phi-accrual --target thumbv7em-none-eabihf
cargo build -p ftforest-core --no-default-features --features critical-section --target thumbv6m-none-eabi
cargo build -p ftforest-core --no-default-features --features critical-section --target riscv32imc-unknown-none-elf

stage "MSRV: the workspace's rust-version (1.88) builds the core and the C library"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
rustup toolchain install "$msrv" --profile minimal
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check -p ftforest-core -p ftforest-ffi
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check -p ftforest-core --no-default-features

stage "loom models (release, LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3})"
RUSTFLAGS="--cfg ftforest_loom" CARGO_TARGET_DIR=target/loom \
  LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}" \
  cargo test --release -p ftforest-loom-tests

if [ "${FTF_SKIP_MIRI:-0}" != 1 ]; then
  stage "miri (core and ffi: the C ABI's pointers, the tracker's waits, the atomics' orderings)"
  # What miri interprets: everything that reaches `unsafe` (the ffi crate's pointers, handles
  # and caller storage; the core's futex-style wait in wait.rs, its Monitor threads) or that
  # races atomics across threads (the core's unit tests: tracker, health cells, table, lock,
  # queue). Not interpreted: core/tests/coord_* except coord_e2e and coord_monitor. They
  # drive the coordinator, safe code, from one thread on a manual clock, so miri would check
  # nothing there that coord_e2e does not already reach (heapless, portable-atomic), for
  # ~6 min of interpretation (coord_sim alone 130 s); they run natively below.
  # Two processes side by side (miri interprets one test at a time per process): the core's
  # unit tests in front, the rest in the background. Cargo's build lock serialises the builds.
  miri() { MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test "$@"; }
  miri_bg_log=$(mktemp)
  (
    miri -p ftforest-ffi
    # The bare-metal libftforest's caller-storage constructors (pointer carving, placement).
    miri -p ftforest-ffi --no-default-features --lib bare
    miri -p ftforest-core --test tracker --test tracker_prop --test idle_wake --test queue_reuse \
      --test monitor_members --test monitor_external --test coord_monitor --test coord_e2e
  ) >"$miri_bg_log" 2>&1 &
  miri_bg=$!
  miri_lib_rc=0
  miri -p ftforest-core --lib || miri_lib_rc=$?
  miri_bg_rc=0
  wait "$miri_bg" || miri_bg_rc=$?
  echo "--- miri: ffi and the core's integration tests (ran beside the core's unit tests) ---"
  cat "$miri_bg_log"
  rm -f "$miri_bg_log"
  if [ "$miri_lib_rc" -ne 0 ] || [ "$miri_bg_rc" -ne 0 ]; then
    echo "miri failed: core unit tests exit $miri_lib_rc, ffi and core integration tests exit $miri_bg_rc"
    exit 1
  fi
fi

stage "C library: header, C tests (plain, ASan, valgrind), examples, install"
bash scripts/test-c.sh

stage "embedded: firmware under QEMU (Cortex-M4F, Cortex-M0, RISC-V), footprint gates"
bash scripts/test-embedded.sh

stage "workspace tests (the cluster's real-etcd scenarios and the cluster C ABI's included)"
# One build of the test binaries: ffi with its feature `cluster` (the ftf_cluster_* C ABI:
# arguments, and real etcd on loopback) runs every ffi test too. Without `cluster`, ffi is
# checked by clippy above and interpreted by miri.
cargo test --workspace --features ftforest-ffi/cluster
# The core without its default features `fence` and `histograms` (as in the firmware images and
# the bare-metal C library): what they gate is refused or reported empty, never faked.
cargo test -p ftforest-core --no-default-features --features std,phi-accrual --lib

stage "cluster demo (the main job's second half: etcd + four ftf-node processes, kill -9)"
bash scripts/cluster-demo.sh
stage "done"
}

main 2>&1 | tee "$log"

# One closing line for the whole run: Rust tests (cargo's "test result:" lines, miri runs
# included) plus the C/C++ test harnesses' "N passed, N failed" lines.
passed=$(grep -Eo '(ok|FAILED)\. [0-9]+ passed|^[0-9]+ passed, [0-9]+ failed' "$log" \
  | grep -Eo '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
echo
echo "test.sh: all stages passed in $(( $(date +%s) - start )) s"
echo "total: ${passed} passed, 0 failed"
