#!/usr/bin/env bash
# ftforest-core on emulated microcontrollers (issue 10), run by scripts/test.sh.
#
# Installs what it needs (QEMU for Arm and RISC-V, the Arm GNU toolchain for sizes and the C
# firmware, the rustup targets), then: fmt + clippy of the firmware workspace (embedded/),
# builds every image for thumbv7em-none-eabihf (QEMU mps2-an386, Cortex-M4F),
# thumbv6m-none-eabi (microbit, Cortex-M0) and riscv32imc-unknown-none-elf (virt), runs the
# on-target test suite on each board (each prints "N passed, M failed" and exits non-zero on a
# failure; QEMU runs under `timeout` because a hang inside the interrupt handler cannot be
# caught by the firmware's own tick watchdog), the bare-metal libftforest (no_std staticlib)
# with the C firmware in examples/baremetal, then the footprint report and its gates.
#
# Environment: FTF_EMBEDDED_REPORT=FILE also writes the footprint/cycles report to FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== embedded: %s\n' "$*"; }

TARGETS="thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf"
missing=()
command -v qemu-system-arm >/dev/null 2>&1 || missing+=(qemu-system-arm)
command -v qemu-system-riscv32 >/dev/null 2>&1 || missing+=(qemu-system-misc)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || missing+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v arm-none-eabi-size >/dev/null 2>&1 || missing+=(binutils-arm-none-eabi)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]}"
    apt-get update
    # --no-install-recommends: the recommended firmware packages of qemu-system-misc do not
    # co-install on every Debian image, and none of them is needed here.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# shellcheck disable=SC2086
rustup target add $TARGETS >/dev/null

EMB=embedded
# Panic locations are strings in .rodata: build with paths relative to the repository so the
# footprint does not depend on where the clone lives (CI's /check/... was 8 bytes longer).
REPO=$(pwd)
remap() { echo "target.$1.rustflags=[\"--remap-path-prefix=$REPO/=\"]"; }
cd "$EMB"

step "fmt"
cargo fmt -p ftforest-firmware -- --check

for t in $TARGETS; do
    step "clippy --target $t (-D warnings)"
    cargo clippy --release --target "$t" --bins --config "$(remap "$t")" -- -D warnings
done

for t in $TARGETS; do
    step "build --target $t"
    cargo build --release --target "$t" --bins --config "$(remap "$t")"
done

# (SYS_WRITE0 semihosting output goes to QEMU's stderr: merged into stdout.)
qemu() {
    local t=$1 elf=$2
    case $t in
    thumbv7em-none-eabihf)
        timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial null \
            -semihosting-config enable=on,target=native -icount shift=0,sleep=off -kernel "$elf" 2>&1 ;;
    thumbv6m-none-eabi)
        timeout 120 qemu-system-arm -M microbit -nographic -monitor none -serial null \
            -semihosting-config enable=on,target=native -icount shift=0,sleep=off -kernel "$elf" ;;
    riscv32imc-unknown-none-elf)
        timeout 120 qemu-system-riscv32 -M virt -bios none -nographic -monitor none \
            -serial stdio -icount shift=0,sleep=off -kernel "$elf" ;;
    esac
}

report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
for t in $TARGETS; do
    step "on-target tests: $t"
    out=$(mktemp)
    if qemu "$t" "target/$t/release/ftf-tests" | tee "$out"; then :; else
        echo "firmware $t: QEMU exited non-zero (failed check, fault or timeout)"
        status=1
    fi
    grep -q '^[0-9]* passed, 0 failed$' "$out" || status=1
    { echo "$t:"; grep -E '^(cycles|max stack)' "$out" | sed 's/^/  /'; } >>"$report"
    for img in fp-tracker fp-lockq fp-coord; do
        # A probe that fails (fault, panic) or hangs (timeout: exit 124) is named here with
        # its output, not only counted.
        rc=0
        qemu "$t" "target/$t/release/$img" >"$out" 2>&1 || rc=$?
        sed "s/^/  /" "$out" >>"$report"
        if [ "$rc" != 0 ]; then
            [ "$rc" = 124 ] && why="timed out (hang)" || why="exited with code $rc"
            echo "footprint image $img on $t: QEMU $why; its output:"
            sed "s/^/  | /" "$out"
            status=1
        fi
    done
    # The stack guard: ftf-overflow recurses until the stack runs out; the board must fault
    # and report it (non-zero exit, "stack overflow"), not corrupt the statics or hang.
    rc=0
    qemu "$t" "target/$t/release/ftf-overflow" >"$out" 2>&1 || rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q 'stack overflow' "$out"; then
        echo "stack guard $t: $(grep -m1 'stack overflow' "$out")"
    else
        echo "stack guard $t: overflow NOT caught (QEMU exit $rc); its output:"
        head -c 4000 "$out" | sed "s/^/  | /"
        status=1
    fi
    rm -f "$out"
done
[ "$status" = 0 ] || { echo "embedded: on-target tests failed"; exit 1; }

cd ..
step "libftforest bare-metal staticlib: clippy, then the C firmware (examples/baremetal) on mps2-an386"
cargo clippy -p ftforest-ffi --no-default-features --target thumbv7em-none-eabihf -- -D warnings
# The bare build's constructors, on the host (the std test harness; Miri runs them in test.sh).
cargo test -p ftforest-ffi --no-default-features --lib
bash examples/baremetal/build.sh
cout=$(mktemp)
if qemu thumbv7em-none-eabihf examples/baremetal/build/ftf-c-firmware.elf | tee "$cout"; then :; else
    echo "C firmware: QEMU exited non-zero"; status=1
fi
grep -q '^[0-9]* passed, 0 failed$' "$cout" || status=1
{
    echo "C firmware (examples/baremetal, libftforest no_std, arm-none-eabi-gcc -Os, thumbv7em):"
    grep '^storage bytes' "$cout" | sed 's/^/  /'
    arm-none-eabi-size examples/baremetal/build/ftf-c-firmware.elf | sed 's/^/  /'
} >>"$report"
rm -f "$cout"
[ "$status" = 0 ] || { echo "embedded: C firmware failed"; exit 1; }
cd "$EMB"

step "footprint (opt-level \"s\", LTO; gates on thumbv7em-none-eabihf)"
python3 footprint.py target --gate | tee -a "$report"
echo
echo "stack depth (painted) and instruction counts:"
grep -vE '^(gate |\||[0-9]+ passed)' "$report" | grep -v '^$' || true
if [ -n "${FTF_EMBEDDED_REPORT:-}" ]; then cp "$report" "$FTF_EMBEDDED_REPORT"; fi
