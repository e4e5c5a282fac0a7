//! Puts the board's memory map on the linker's search path: `memory.x` for cortex-m-rt's
//! `link.x` (mps2-an386 for thumbv7em, micro:bit for thumbv6m), `virt.ld` for RISC-V.
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rustc-check-cfg=cfg(ftf_board, values(\"an386\", \"microbit\", \"virt\"))");
    let (board, src, dst) = if target.starts_with("thumbv7em") {
        ("an386", "link/mps2-an386.x", "memory.x")
    } else if target.starts_with("thumbv6m") {
        ("microbit", "link/microbit.x", "memory.x")
    } else if target.starts_with("riscv32") {
        ("virt", "link/virt.ld", "virt.ld")
    } else {
        return;
    };
    println!("cargo:rustc-cfg=ftf_board=\"{board}\"");
    println!("cargo:rustc-env=TARGET_SUITE={target}");
    fs::copy(src, out.join(dst)).expect("copy linker script");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
}
