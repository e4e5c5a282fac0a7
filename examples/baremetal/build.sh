#!/usr/bin/env bash
# Builds the bare-metal C example: the no_std libftforest staticlib for thumbv7em-none-eabihf
# (a feature of the ffi crate: --no-default-features), then main.c + startup.c with
# arm-none-eabi-gcc, no C library. Output: examples/baremetal/build/ftf-c-firmware.elf.
# Run: qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
#        -kernel examples/baremetal/build/ftf-c-firmware.elf
set -euo pipefail
cd "$(dirname "$0")/../.."
# Size-tuned like the Rust firmware (embedded/Cargo.toml): opt-level "s", LTO, one unit.
CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build -q -p ftforest-ffi --no-default-features --target thumbv7em-none-eabihf --release
lib=target/thumbv7em-none-eabihf/release/libftforest.a
out=examples/baremetal/build
mkdir -p "$out"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
    -Os -g -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
    -ffreestanding -nostdlib -Iinclude \
    -T examples/baremetal/link.ld -Wl,--gc-sections \
    examples/baremetal/main.c examples/baremetal/startup.c "$lib" -lgcc \
    -Wl,-z,noexecstack -o "$out/ftf-c-firmware.elf"
echo "built $out/ftf-c-firmware.elf"
